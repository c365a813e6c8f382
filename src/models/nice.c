/*
 * nice.c — the `nice` model (Dinh, Krueger & Bengio 2014): additive
 * coupling layers with alternating even/odd partitions of the flattened
 * data, each coupling function a ReLU MLP, then a diagonal scaling layer;
 * logistic base density; 8-bit data in [0,1] with uniform dequantization.
 * The paper's MNIST model is the default: 4 couplings, 5 hidden layers of
 * 1000 units each. Exact log-likelihood (volume-preserving couplings, the
 * scaling layer carries the whole log-det).
 * What this is not: the flow layers (src/flows/) or the shared model
 * plumbing (flow_common.c).
 */
#include "models/flow_common.h"

static const gm_hparam nice_hparams[] = {
    {"couplings", 'i', "4", 1, 64, "additive coupling layers"},
    {"hidden", 'i', "1000", 1, 65536, "units per hidden layer of each coupling MLP"},
    {"depth", 'i', "5", 1, 64, "hidden layers per coupling MLP"},
    FLOW_COMMON_HPARAMS("logistic", "uniform"),
};

static gm_status nice_declare(gm_model *m) {
    gm_status st = flow_model_begin(m, 0);
    if (st != GM_OK) return st;
    flow_model *fm = m->impl;
    int K = (int)gm_config_int(&m->config, "couplings", 4), H = (int)gm_config_int(&m->config, "hidden", 1000);
    int L = (int)gm_config_int(&m->config, "depth", 5);
    for (int k = 0; k < K && st == GM_OK; k++)
        st = gm_flow_add_coupling(&fm->flow, 0, GM_MASK_ALTERNATE, k % 2, GM_NET_MLP, H, L);
    return st == GM_OK ? gm_flow_add_scale(&fm->flow) : st;
}

const gm_model_def gm_model_def_nice = {
    .name = "nice",
    .summary = "NICE: additive coupling flow with MLP couplings and a scaling layer (exact log p)",
    .hparams = nice_hparams,
    .n_hparams = (int)(sizeof nice_hparams / sizeof nice_hparams[0]),
    .declare = nice_declare,
    FLOW_COMMON_DEF,
};
