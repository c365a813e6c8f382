/*
 * nade.c — the `nade` model (Larochelle & Murray 2011): one sigmoid hidden
 * layer shared by all conditionals through the running pre-activation
 *   a_0 = c,  a_{k+1} = a_k + W[d_k]·x_{d_k},  h_k = σ(a_k),
 *   p(x_{d_k} = 1 | x before it) = σ(b[d_k] + V[d_k]·h_k),  d_k = order[k],
 * so log p(x) and a sample each cost O(D·H). Training uses the gm_nade_logits
 * op (src/ops/nade.c), whose backward is O(D·H) per row and never holds a
 * (D, B, H) tensor.
 *
 * Parameters: "W" (D, H) input weights (row d for dimension d), "c" (H),
 * "V" (D, H) output weights, "b" (D); buffer "order" (D).
 * Hyper-parameters: hidden (H), order.
 * What this is not: DeepNADE / order-agnostic NADE, or real-valued RNADE.
 */
#include "models/ar_common.h"
#include "models/models_internal.h"
#include "kernels/vmath.h"
#include "genmod/ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P_W = 0, P_C = 1, P_V = 2, P_B = 3, P_ORDER = 4 };

static const gm_hparam nade_hparams[] = {
    {"hidden", 'i', "500", 1, 1000000, "hidden units H"},
    {"order", 's', "natural", 0, 0, "ordering: natural, reverse, random (seeded) or a file of D indices"},
};

typedef struct {
    int64_t *order; // (D) read from the buffer
    int valid;
} nade_impl;

static int64_t nade_H(gm_model *m) { return m->params.entries[P_W].shape[1]; }

static gm_status nade_declare(gm_model *m) {
    int64_t D = m->dim, H = gm_config_int(&m->config, "hidden", 500);
    if (H * D > ((int64_t)1 << 32)) return gm_error(GM_ERR_ARG, "--hidden: %lld x %lld weights are too many", (long long)H, (long long)D);
    int64_t ws[2] = {D, H}, hs[1] = {H}, ds[1] = {D};
    if (gm_params_add(&m->params, "W", 2, ws, 1) != P_W || gm_params_add(&m->params, "c", 1, hs, 1) != P_C ||
        gm_params_add(&m->params, "V", 2, ws, 1) != P_V || gm_params_add(&m->params, "b", 1, ds, 1) != P_B ||
        gm_params_add(&m->params, "order", 1, ds, 0) != P_ORDER)
        return GM_ERR_ARG;
    nade_impl *im = calloc(1, sizeof *im);
    if (im) im->order = malloc((size_t)D * sizeof *im->order);
    m->impl = im;
    if (!im || !im->order) return gm_error(GM_ERR_NOMEM, "nade: out of memory");
    return GM_OK;
}

static void nade_destroy(gm_model *m) {
    nade_impl *im = m->impl;
    if (im) { free(im->order); free(im); }
    m->impl = NULL;
}

static gm_status nade_refresh(gm_model *m) {
    nade_impl *im = m->impl;
    return gm_ar_order_refresh(gm_params_get(&m->params, P_ORDER)->data, m->dim, im->order, &im->valid, NULL,
                               "nade: buffer \"order\"");
}

/* W, V ~ U(±1/√fan_in) (fan_in D for W, H for V), c = b = 0; order from --order. */
static gm_status nade_init(gm_model *m, gm_rng *rng) {
    int64_t D = m->dim, H = nade_H(m);
    gm_params_init_uniform(&m->params, P_W, rng, (float)(1.0 / sqrt((double)D)));
    gm_params_init_uniform(&m->params, P_V, rng, (float)(1.0 / sqrt((double)H)));
    gm_params_init_const(&m->params, P_C, 0.0f);
    gm_params_init_const(&m->params, P_B, 0.0f);
    gm_status st = gm_ar_order_to_buffer(gm_config_get(&m->config, "order"), D, rng,
                                         gm_params_get(&m->params, P_ORDER)->data);
    return st == GM_OK ? nade_refresh(m) : st;
}

/* b = logit of the smoothed training mean. */
static gm_status nade_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng) {
    (void)rng;
    gm_ar_bias_from_data(gm_params_get(&m->params, P_B)->data, x, n, m->dim);
    return GM_OK;
}

static gm_tensor *nade_logits_t(gm_model *m, gm_ctx *ctx, gm_tensor *x) {
    nade_impl *im = m->impl;
    gm_params *P = &m->params;
    return gm_nade_logits(ctx, x, gm_params_get(P, P_W), gm_params_get(P, P_C), gm_params_get(P, P_V),
                          gm_params_get(P, P_B), im->order);
}


/* The ar_ops logits_t: set k's logits graph for x (B, D). */
static gm_tensor *nade_logits_set(gm_model *m, gm_ctx *ctx, int k, gm_tensor *x) {
    (void)k;
    if (!x) return NULL;
    if (x->ndim != 2 || x->shape[1] != m->dim)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "nade: batch must be (B, %lld)", (long long)m->dim);
    gm_status st = nade_refresh(m);
    if (st != GM_OK) return gm_ctx_fail(ctx, st, "%s", gm_last_error());
    return nade_logits_t(m, ctx, x);
}

static int nade_n_sets(gm_model *m) { (void)m; return 1; }

static gm_status nade_order(gm_model *m, int k, int64_t *order) {
    (void)k;
    gm_status st = nade_refresh(m);
    if (st == GM_OK) memcpy(order, ((nade_impl *)m->impl)->order, (size_t)m->dim * sizeof *order);
    return st;
}


/* Incremental sampler: the forward recurrence with x_d drawn as it goes;
 * rows in tiles of 8 so a W/V row is read once per tile; OpenMP over tiles. */
#define NADE_SAMPLE_TILE 8
static gm_status nade_sample_u(gm_model *m, int k, const float *U, int64_t n, int64_t n_obs, float *x) {
    (void)k;
    gm_status st = nade_refresh(m);
    if (st != GM_OK) return st;
    const int64_t *order = ((nade_impl *)m->impl)->order;
    int64_t D = m->dim, H = nade_H(m);
    gm_params *P = &m->params;
    const float *W = gm_params_get(P, P_W)->data, *c = gm_params_get(P, P_C)->data;
    const float *V = gm_params_get(P, P_V)->data, *b = gm_params_get(P, P_B)->data;
    int64_t ntile = (n + NADE_SAMPLE_TILE - 1) / NADE_SAMPLE_TILE;
    float *scratch = malloc((size_t)(ntile > 0 ? ntile : 1) * 2 * NADE_SAMPLE_TILE * (size_t)H * sizeof *scratch);
    if (!scratch) return gm_error(GM_ERR_NOMEM, "nade sample: out of memory");
#pragma omp parallel for schedule(static) if (n * D * H > 1000000)
    for (int64_t t = 0; t < ntile; t++) {
        float *a = scratch + t * 2 * NADE_SAMPLE_TILE * H, *h = a + NADE_SAMPLE_TILE * H; // (TILE, H) each
        int64_t r0 = t * NADE_SAMPLE_TILE, R = n - r0 < NADE_SAMPLE_TILE ? n - r0 : NADE_SAMPLE_TILE;
        for (int64_t r = 0; r < R; r++) memcpy(a + r * H, c, (size_t)H * sizeof *a);
        for (int64_t p = 0; p < D; p++) {
            int64_t d = order[p];
            if (p >= n_obs) gm_vsigmoid(a, h, R * H);
            for (int64_t r = 0; r < R; r++) {
                float *xr = x + (r0 + r) * D;
                if (p >= n_obs) xr[d] = gm_ar_draw(U[(r0 + r) * D + p], b[d] + gm_vdot(V + d * H, h + r * H, H));
                if (xr[d] != 0.0f)
                    for (int64_t j = 0; j < H; j++) a[r * H + j] += W[d * H + j] * xr[d];
            }
        }
    }
    free(scratch);
    return GM_OK;
}

static const gm_ar_ops nade_ar = {nade_n_sets, nade_order, nade_logits_set, nade_sample_u};

const gm_model_def gm_model_def_nade = {
    .name = "nade",
    .summary = "NADE: neural autoregressive density estimator (one sigmoid layer), exact log-likelihood, O(DH)",
    .hparams = nade_hparams,
    .n_hparams = (int)(sizeof nade_hparams / sizeof nade_hparams[0]),
    .logp_kind = GM_LOGP_EXACT,
    .binary_data = 1,
    .declare = nade_declare,
    .init = nade_init,
    .loss = gm_ar_loss,
    .log_prob = gm_ar_log_prob,
    .sample = gm_ar_sample,
    .destroy = nade_destroy,
    .init_data = nade_init_data,
    .sample_cond = gm_ar_sample_cond,
    .family_ops = &nade_ar,
};
