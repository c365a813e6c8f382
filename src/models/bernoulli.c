/*
 * bernoulli.c — the `bernoulli` model: independent Bernoulli variables, one
 * per data dimension, p(x) = Π_d σ(l_d)^x_d (1 - σ(l_d))^(1 - x_d).
 *
 * Parameters: "logits" (D). It is the simplest baseline for binary data and
 * the sanity check of the trainer/evaluator plumbing: its maximum-likelihood
 * solution is the (smoothed) marginal of each pixel, which init_data sets
 * directly. log p(x) is exact, computed in double without the tape.
 * What this is not: a model with any dependence between dimensions.
 */
#include "models/models_internal.h"
#include "genmod/ops.h"
#include <math.h>
#include <stdlib.h>

/* log σ(l) in double, stable for any l. */
static double log_sigmoid_d(double l) { return l >= 0 ? -log1p(exp(-l)) : l - log1p(exp(l)); }

static double sigmoid_d(double l) {
    if (l >= 0) return 1.0 / (1.0 + exp(-l));
    double e = exp(l);
    return e / (1.0 + e);
}

static gm_status bern_declare(gm_model *m) {
    int64_t shape[1] = {m->dim};
    return gm_params_add(&m->params, "logits", 1, shape, 1) < 0 ? GM_ERR_ARG : GM_OK;
}

/* logits = 0 (p = 1/2 everywhere). */
static gm_status bern_init(gm_model *m, gm_rng *rng) {
    gm_params_init_const(&m->params, 0, 0.0f);
    return GM_OK;
}

/* logits = logit((count_d + 1) / (n + 2)), the Laplace-smoothed marginal. */
static gm_status bern_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng) {
    if (n < 0 || (n > 0 && !x)) return gm_error(GM_ERR_ARG, "bernoulli init_data: no data");
    int64_t D = m->dim;
    float *logits = gm_params_get(&m->params, 0)->data; // (D)
    double *cnt = calloc((size_t)D, sizeof *cnt);       // (D)
    if (!cnt) return gm_error(GM_ERR_NOMEM, "bernoulli init_data: out of memory");
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D; d++) cnt[d] += x[i * D + d];
    for (int64_t d = 0; d < D; d++) {
        double p = (cnt[d] + 1.0) / ((double)n + 2.0);
        logits[d] = (float)log(p / (1.0 - p));
    }
    free(cnt);
    return GM_OK;
}

/* Mean over the batch of -Σ_d log Bern(x_d; σ(l_d)). x (B, D). */
static gm_tensor *bern_loss(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng) {
    if (!x) return NULL;
    if (x->ndim != 2 || x->shape[1] != m->dim || x->shape[0] < 1) {
        char s[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "bernoulli: batch has shape %s, expected (B, %lld)",
                           gm_shape_str(x, s, sizeof s), (long long)m->dim);
    }
    gm_tensor *logits = gm_params_get(&m->params, 0);              // (D)
    gm_tensor *lp = gm_bernoulli_log_prob(ctx, x, logits);         // (B, D)
    gm_tensor *total = gm_sum(ctx, lp, GM_ALL_AXES, 0);            // ()
    return gm_scale(ctx, total, (float)(-1.0 / (double)x->shape[0]));
}

/* Exact log p(x) per row in double; does not use ctx. x (B, D), out (B). */
static gm_status bern_log_prob(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out) {
    if (B < 0 || (B > 0 && (!x || !out))) return gm_error(GM_ERR_ARG, "bernoulli log_prob: NULL data or output");
    int64_t D = m->dim;
    const float *logits = gm_params_get(&m->params, 0)->data; // (D)
    for (int64_t i = 0; i < B; i++) {
        const float *row = x + i * D; // (D)
        double s = 0.0;
        for (int64_t d = 0; d < D; d++) {
            double l = logits[d], v = row[d];
            s += v * log_sigmoid_d(l) + (1.0 - v) * log_sigmoid_d(-l);
        }
        out[i] = s;
    }
    return GM_OK;
}

/* x_d ~ Bern(σ(l_d)), n rows into out (n, D). */
static gm_status bern_sample(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out) {
    if (!rng || n < 0 || (n > 0 && !out)) return gm_error(GM_ERR_ARG, "bernoulli sample: NULL rng or output");
    int64_t D = m->dim;
    const float *logits = gm_params_get(&m->params, 0)->data; // (D)
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D; d++) out[i * D + d] = (float)gm_rng_bernoulli(rng, sigmoid_d(logits[d]));
    return GM_OK;
}

static void bern_destroy(gm_model *m) { m->impl = NULL; }

const gm_model_def gm_model_def_bernoulli = {
    .name = "bernoulli",
    .summary = "independent Bernoulli per dimension (baseline for binary data)",
    .hparams = NULL,
    .n_hparams = 0,
    .logp_kind = GM_LOGP_EXACT,
    .binary_data = 1,
    .declare = bern_declare,
    .init = bern_init,
    .loss = bern_loss,
    .log_prob = bern_log_prob,
    .sample = bern_sample,
    .destroy = bern_destroy,
    .init_data = bern_init_data,
};
