/*
 * realnvp.c — the `realnvp` model (Dinh, Sohl-Dickstein & Bengio 2016) for
 * images, with Glow's ActNorm and invertible 1x1 convolution as options.
 *
 * Multi-scale architecture, per scale s < scales - 1:
 *   3 x [step, affine coupling, checkerboard mask (alternating)]
 *   squeeze (C,H,W) -> (4C,H/2,W/2)
 *   3 x [step, affine coupling, channel mask (alternating)]
 *   factor out half of the channels
 * and at the last scale 4 x [step, affine checkerboard coupling]. "step" is
 * ActNorm (--actnorm 1) and, with --inv1x1 plain|lu and at least 2
 * channels, an invertible 1x1 convolution (Glow's flow step). Couplings use
 * a convolutional residual net (--features wide, --blocks residual blocks)
 * and s = scale ⊙ tanh(raw). An optional batch-norm flow layer follows each
 * coupling (--batchnorm 1), as in the paper. Data: 8-bit images in [0,1],
 * uniform dequantization, then logit(alpha + (1 - 2 alpha) y) with its
 * log-det (alpha = 0.05 as in the paper); Gaussian base density.
 * What this is not: Glow's learned split priors or conditional models.
 */
#include "models/flow_common.h"
#include <string.h>

static const gm_hparam realnvp_hparams[] = {
    {"scales", 'i', "3", 1, 8, "scales of the multi-scale architecture (each but the last squeezes and factors out)"},
    {"features", 'i', "64", 1, 4096, "channels of the coupling networks"},
    {"blocks", 'i', "2", 0, 64, "residual blocks per coupling network"},
    {"actnorm", 'i', "1", 0, 1, "ActNorm before each coupling"},
    {"inv1x1", 's', "none", 0, 0, "invertible 1x1 convolution before each coupling: none, plain or lu"},
    {"batchnorm", 'i', "0", 0, 1, "batch-norm flow layer after each coupling"},
    {"alpha", 'f', "0.05", 0, 0.49, "logit preprocessing: y -> logit(alpha + (1 - 2 alpha) y); 0 = off"},
    FLOW_COMMON_HPARAMS("gaussian", "uniform"),
};

/* One flow step: [actnorm] [1x1 conv] coupling [batchnorm]. */
static gm_status step(gm_model *m, gm_flow *f, gm_flow_mask mask, int parity) {
    int an = (int)gm_config_int(&m->config, "actnorm", 1), bn = (int)gm_config_int(&m->config, "batchnorm", 0);
    int F = (int)gm_config_int(&m->config, "features", 64), nb = (int)gm_config_int(&m->config, "blocks", 2);
    const char *inv = gm_config_get(&m->config, "inv1x1");
    gm_status st = GM_OK;
    if (an) st = gm_flow_add_actnorm(f);
    if (st == GM_OK && strcmp(inv, "none") && f->c >= 2) st = gm_flow_add_inv1x1(f, !strcmp(inv, "lu"));
    if (st == GM_OK) st = gm_flow_add_coupling(f, 1, mask, parity, GM_NET_RESNET, F, nb);
    if (st == GM_OK && bn) st = gm_flow_add_batchnorm(f);
    return st;
}

static gm_status realnvp_declare(gm_model *m) {
    gm_status st = flow_model_begin(m, 1);
    if (st != GM_OK) return st;
    gm_flow *f = &((flow_model *)m->impl)->flow;
    const char *inv = gm_config_get(&m->config, "inv1x1");
    if (!inv || (strcmp(inv, "none") && strcmp(inv, "plain") && strcmp(inv, "lu")))
        return gm_error(GM_ERR_ARG, "--inv1x1: expected none, plain or lu, got \"%s\"", inv ? inv : "");
    int S = (int)gm_config_int(&m->config, "scales", 3);
    int div = 1 << (S - 1);
    if (m->h % div || m->w % div)
        return gm_error(GM_ERR_ARG, "--scales %d: a %dx%d image cannot be squeezed %d times (height and width must be "
                        "divisible by %d)", S, m->h, m->w, S - 1, div);
    for (int s = 0; s < S && st == GM_OK; s++) {
        int last = s == S - 1;
        for (int j = 0; j < (last ? 4 : 3) && st == GM_OK; j++) st = step(m, f, GM_MASK_CHECKER, j % 2);
        if (last || st != GM_OK) break;
        st = gm_flow_add_squeeze(f);
        for (int j = 0; j < 3 && st == GM_OK; j++) st = step(m, f, GM_MASK_CHANNEL, j % 2);
        if (st == GM_OK) st = gm_flow_add_split(f);
    }
    return st;
}

const gm_model_def gm_model_def_realnvp = {
    .name = "realnvp",
    .summary = "RealNVP: multi-scale affine coupling flow with conv nets, optional ActNorm / 1x1 conv (exact log p)",
    .hparams = realnvp_hparams,
    .n_hparams = (int)(sizeof realnvp_hparams / sizeof realnvp_hparams[0]),
    .declare = realnvp_declare,
    FLOW_COMMON_DEF,
};
