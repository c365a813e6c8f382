/*
 * fvsbn.c — the `fvsbn` model: a fully visible sigmoid belief network, one
 * logistic regression per dimension on the dimensions before it:
 *   p(x_d = 1 | x_<d) = σ(bias_d + Σ_j weight[d,j]·[pos(j) < pos(d)]·x_j)
 * i.e. one masked linear layer (B,D)x(D,D) (the mask is strictly "earlier in
 * the ordering"), trained by backprop on the exact log-likelihood.
 *
 * Parameters: "weight" (D, D) (row d: the regression of dimension d; entries
 * the mask removes stay at 0 and get no gradient), "bias" (D); buffer
 * "order" (D): the ordering (order[k] = dimension at position k).
 * Sampling is incremental: after drawing x_d, every later logit gets
 * weight[:,d]·x_d, so a sample costs O(D²), not D forward passes.
 * What this is not: a model with hidden units (see nade, made).
 */
#include "models/ar_common.h"
#include "models/models_internal.h"
#include "genmod/ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P_W = 0, P_B = 1, P_ORDER = 2 };

static const gm_hparam fvsbn_hparams[] = {
    {"order", 's', "natural", 0, 0, "ordering: natural, reverse, random (seeded) or a file of D indices"},
};

typedef struct {
    int64_t *order;   // (D) as last read from the buffer
    int64_t *pos;     // (D) inverse of order
    float *mask;      // (D, D) mask[d*D + j] = pos(j) < pos(d)
    int valid;        // order (and pos, mask) match the buffer
} fvsbn_impl;

static gm_status fvsbn_declare(gm_model *m) {
    int64_t D = m->dim;
    if (D > 46340) return gm_error(GM_ERR_ARG, "fvsbn: %lld dimensions need a %lld² weight matrix, too large", (long long)D, (long long)D);
    int64_t ws[2] = {D, D}, bs[1] = {D};
    if (gm_params_add(&m->params, "weight", 2, ws, 1) != P_W) return GM_ERR_ARG;
    if (gm_params_add(&m->params, "bias", 1, bs, 1) != P_B) return GM_ERR_ARG;
    if (gm_params_add(&m->params, "order", 1, bs, 0) != P_ORDER) return GM_ERR_ARG;
    fvsbn_impl *im = calloc(1, sizeof *im);
    if (im) {
        im->order = malloc((size_t)D * sizeof *im->order);
        im->pos = malloc((size_t)D * sizeof *im->pos);
        im->mask = malloc((size_t)(D * D) * sizeof *im->mask);
    }
    m->impl = im;
    if (!im || !im->order || !im->pos || !im->mask) return gm_error(GM_ERR_NOMEM, "fvsbn: out of memory");
    return GM_OK;
}

static void fvsbn_destroy(gm_model *m) {
    fvsbn_impl *im = m->impl;
    if (im) { free(im->order); free(im->pos); free(im->mask); free(im); }
    m->impl = NULL;
}

/* Reads the order buffer; rebuilds the mask when it changed. */
static gm_status fvsbn_refresh(gm_model *m) {
    fvsbn_impl *im = m->impl;
    int64_t D = m->dim;
    int reread = 0;
    gm_status st = gm_ar_order_refresh(gm_params_get(&m->params, P_ORDER)->data, D, im->order, &im->valid, &reread,
                                       "fvsbn: buffer \"order\"");
    if (st != GM_OK || !reread) return st;
    for (int64_t k = 0; k < D; k++) im->pos[im->order[k]] = k;
    for (int64_t d = 0; d < D; d++)
        for (int64_t j = 0; j < D; j++) im->mask[d * D + j] = im->pos[j] < im->pos[d] ? 1.0f : 0.0f;
    return GM_OK;
}

/* weight 0 (the model starts independent), bias 0, order from --order. */
static gm_status fvsbn_init(gm_model *m, gm_rng *rng) {
    gm_params_init_const(&m->params, P_W, 0.0f);
    gm_params_init_const(&m->params, P_B, 0.0f);
    gm_status st = gm_ar_order_to_buffer(gm_config_get(&m->config, "order"), m->dim, rng,
                                         gm_params_get(&m->params, P_ORDER)->data);
    return st == GM_OK ? fvsbn_refresh(m) : st;
}

/* bias = logit of the smoothed training mean. */
static gm_status fvsbn_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng) {
    (void)rng;
    gm_ar_bias_from_data(gm_params_get(&m->params, P_B)->data, x, n, m->dim);
    return GM_OK;
}

static gm_tensor *fvsbn_logits_t(gm_model *m, gm_ctx *ctx, gm_tensor *x) {
    fvsbn_impl *im = m->impl;
    return gm_linear_masked(ctx, x, gm_params_get(&m->params, P_W), im->mask, gm_params_get(&m->params, P_B));
}


/* The ar_ops logits_t: set k's logits graph for x (B, D). */
static gm_tensor *fvsbn_logits_set(gm_model *m, gm_ctx *ctx, int k, gm_tensor *x) {
    (void)k;
    if (!x) return NULL;
    if (x->ndim != 2 || x->shape[1] != m->dim)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "fvsbn: batch must be (B, %lld)", (long long)m->dim);
    gm_status st = fvsbn_refresh(m);
    if (st != GM_OK) return gm_ctx_fail(ctx, st, "%s", gm_last_error());
    return fvsbn_logits_t(m, ctx, x);
}

static int fvsbn_n_sets(gm_model *m) { (void)m; return 1; }

static gm_status fvsbn_order(gm_model *m, int k, int64_t *order) {
    (void)k;
    gm_status st = fvsbn_refresh(m);
    if (st == GM_OK) memcpy(order, ((fvsbn_impl *)m->impl)->order, (size_t)m->dim * sizeof *order);
    return st;
}


/* Incremental: logits start at bias and take weight[:,d]·x_d once x_d is known. */
static gm_status fvsbn_sample_u(gm_model *m, int k, const float *U, int64_t n, int64_t n_obs, float *x) {
    (void)k;
    gm_status st = fvsbn_refresh(m);
    if (st != GM_OK) return st;
    fvsbn_impl *im = m->impl;
    int64_t D = m->dim;
    const float *W = gm_params_get(&m->params, P_W)->data, *b = gm_params_get(&m->params, P_B)->data;
    double *lg = malloc((size_t)D * sizeof *lg); // (D) by position
    if (!lg) return gm_error(GM_ERR_NOMEM, "fvsbn sample: out of memory");
    for (int64_t i = 0; i < n; i++) {
        float *xi = x + i * D;
        for (int64_t p = 0; p < D; p++) lg[p] = b[im->order[p]];
        for (int64_t p = 0; p < D; p++) {
            int64_t d = im->order[p];
            if (p >= n_obs) xi[d] = gm_ar_draw(U[i * D + p], lg[p]);
            if (xi[d] != 0.0f)
                for (int64_t q = p + 1; q < D; q++) lg[q] += (double)W[im->order[q] * D + d] * xi[d];
        }
    }
    free(lg);
    return GM_OK;
}

static const gm_ar_ops fvsbn_ar = {fvsbn_n_sets, fvsbn_order, fvsbn_logits_set, fvsbn_sample_u};

const gm_model_def gm_model_def_fvsbn = {
    .name = "fvsbn",
    .summary = "fully visible sigmoid belief net (logistic regression per dimension), exact log-likelihood",
    .hparams = fvsbn_hparams,
    .n_hparams = (int)(sizeof fvsbn_hparams / sizeof fvsbn_hparams[0]),
    .logp_kind = GM_LOGP_EXACT,
    .binary_data = 1,
    .declare = fvsbn_declare,
    .init = fvsbn_init,
    .loss = gm_ar_loss,
    .log_prob = gm_ar_log_prob,
    .sample = gm_ar_sample,
    .destroy = fvsbn_destroy,
    .init_data = fvsbn_init_data,
    .sample_cond = gm_ar_sample_cond,
    .family_ops = &fvsbn_ar,
};
