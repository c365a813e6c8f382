/*
 * flow2d.c — the `flow2d` model: a coupling flow of MLPs for 2-D and other
 * low-dimensional continuous (tabular) data. Each layer is an affine
 * (RealNVP), additive (NICE) or rational-quadratic spline (NSF) coupling
 * over alternating dimensions,
 * optionally preceded by ActNorm and a fixed or learned (1x1 / LU) mixing of
 * the dimensions; standard Gaussian base density; exact log p in nats.
 * What this is not: an image model (realnvp).
 */
#include "models/flow_common.h"
#include <string.h>

static const gm_hparam flow2d_hparams[] = {
    {"layers", 'i', "8", 1, 256, "coupling layers"},
    {"hidden", 'i', "128", 1, 65536, "units per hidden layer of each coupling MLP"},
    {"depth", 'i', "2", 1, 64, "hidden layers per coupling MLP"},
    {"coupling", 's', "affine", 0, 0, "affine (RealNVP), additive (NICE) or spline (rational-quadratic, NSF)"},
    {"bins", 'i', "8", 2, 256, "spline couplings: bins per spline"},
    {"bound", 'f', "5", 1e-3, 1e6, "spline couplings: the splines act on [-bound, bound], identity outside"},
    {"actnorm", 'i', "0", 0, 1, "ActNorm before each coupling"},
    {"mix", 's', "none", 0, 0, "mixing before each coupling: none, reverse, random (fixed permutations), inv1x1 or lu"},
    {"batchnorm", 'i', "0", 0, 1, "batch-norm flow layer after each coupling"},
    FLOW_COMMON_HPARAMS("gaussian", "none"),
};

static gm_status flow2d_declare(gm_model *m) {
    gm_status st = flow_model_begin(m, 0);
    if (st != GM_OK) return st;
    gm_flow *f = &((flow_model *)m->impl)->flow;
    int K = (int)gm_config_int(&m->config, "layers", 8), H = (int)gm_config_int(&m->config, "hidden", 128);
    int L = (int)gm_config_int(&m->config, "depth", 2), an = (int)gm_config_int(&m->config, "actnorm", 0);
    int bn = (int)gm_config_int(&m->config, "batchnorm", 0);
    const char *cp = gm_config_get(&m->config, "coupling"), *mix = gm_config_get(&m->config, "mix");
    if (!cp || (strcmp(cp, "affine") && strcmp(cp, "additive") && strcmp(cp, "spline")))
        return gm_error(GM_ERR_ARG, "--coupling: expected affine, additive or spline, got \"%s\"", cp ? cp : "");
    int kind = !strcmp(cp, "spline") ? GM_COUPLING_SPLINE : !strcmp(cp, "affine") ? GM_COUPLING_AFFINE : GM_COUPLING_ADDITIVE;
    f->spline_bins = (int)gm_config_int(&m->config, "bins", 8);
    f->spline_bound = (float)gm_config_float(&m->config, "bound", 5.0);
    static const char *mixes[] = {"none", "reverse", "random", "inv1x1", "lu"};
    int mi = -1;
    for (int i = 0; i < 5; i++)
        if (mix && !strcmp(mix, mixes[i])) mi = i;
    if (mi < 0) return gm_error(GM_ERR_ARG, "--mix: expected none, reverse, random, inv1x1 or lu, got \"%s\"", mix ? mix : "");
    for (int k = 0; k < K && st == GM_OK; k++) {
        if (an) st = gm_flow_add_actnorm(f);
        if (st == GM_OK && mi == 1) st = gm_flow_add_permute(f, 1);
        if (st == GM_OK && mi == 2) st = gm_flow_add_permute(f, 0);
        if (st == GM_OK && mi >= 3) st = gm_flow_add_inv1x1(f, mi == 4);
        /* with a mixing layer the mask can stay; without one it alternates */
        if (st == GM_OK) st = gm_flow_add_coupling(f, kind, GM_MASK_ALTERNATE, mi ? 0 : k % 2, GM_NET_MLP, H, L);
        if (st == GM_OK && bn) st = gm_flow_add_batchnorm(f);
    }
    return st;
}

const gm_model_def gm_model_def_flow2d = {
    .name = "flow2d",
    .summary = "coupling flow of MLPs for 2-D / tabular continuous data (exact log p)",
    .hparams = flow2d_hparams,
    .n_hparams = (int)(sizeof flow2d_hparams / sizeof flow2d_hparams[0]),
    .declare = flow2d_declare,
    FLOW_COMMON_DEF,
};
