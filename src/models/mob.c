/*
 * mob.c — the `mob` model: a mixture of K products of Bernoullis,
 *   p(x) = Σ_k π_k Π_d σ(L_kd)^x_d (1 - σ(L_kd))^(1 - x_d),  π = softmax(mix).
 * With log Bern(x; σ(l)) = x·l − softplus(l):
 *   log p(x) = logsumexp_k [ log_softmax(mix)_k + x·L_kᵀ − Σ_d softplus(L_kd) ]
 * which is one GEMM (B,D)x(D,K) plus a (K) normaliser, built from the
 * autodiff ops so training is plain backprop (no EM).
 *
 * Parameters: "logits" (K, D), "mix_logits" (K). Hyper-parameter:
 * "components" (K). log p(x) is exact (up to float32 rounding of the graph).
 * What this is not: EM training, or a model for non-binary data.
 */
#include "models/models_internal.h"
#include "genmod/ops.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { P_LOGITS = 0, P_MIX = 1 }; /* parameter indices, in declaration order */

static const gm_hparam mob_hparams[] = {
    {"components", 'i', "500", 1, 100000, "number of mixture components K"},
};

static double sigmoid_d(double l) {
    if (l >= 0) return 1.0 / (1.0 + exp(-l));
    double e = exp(l);
    return e / (1.0 + e);
}

static gm_status mob_declare(gm_model *m) {
    int64_t K = gm_config_int(&m->config, "components", 500);
    if (K * m->dim > ((int64_t)1 << 34))
        return gm_error(GM_ERR_ARG, "--components: %lld components x %lld dimensions is too many parameters",
                        (long long)K, (long long)m->dim);
    int64_t ls[2] = {K, m->dim}, ms[1] = {K};
    if (gm_params_add(&m->params, "logits", 2, ls, 1) != P_LOGITS) return GM_ERR_ARG;
    if (gm_params_add(&m->params, "mix_logits", 1, ms, 1) != P_MIX) return GM_ERR_ARG;
    return GM_OK;
}

/* logits ~ U(-0.1, 0.1) (breaks the symmetry between components), mix 0. */
static gm_status mob_init(gm_model *m, gm_rng *rng) {
    gm_params_init_uniform(&m->params, P_LOGITS, rng, 0.1f);
    gm_params_init_const(&m->params, P_MIX, 0.0f);
    return GM_OK;
}

/* Each component starts at a random training row, smoothed towards the data
 * mean: p_kd = (x_id + m_d) / 2 with m_d = (count_d + 1) / (n + 2), so
 * p in (0, 1) strictly; mix_logits 0. Rows drawn with rng (seeded runs
 * reproduce). */
static gm_status mob_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng) {
    if (n < 1 || !x || !rng) return gm_error(GM_ERR_ARG, "mob init_data: needs at least one training row and an rng");
    int64_t D = m->dim, K = m->params.entries[P_LOGITS].shape[0];
    double *mean = calloc((size_t)D, sizeof *mean); // (D)
    if (!mean) return gm_error(GM_ERR_NOMEM, "mob init_data: out of memory");
    for (int64_t i = 0; i < n; i++)
        for (int64_t d = 0; d < D; d++) mean[d] += x[i * D + d];
    for (int64_t d = 0; d < D; d++) mean[d] = (mean[d] + 1.0) / ((double)n + 2.0);
    float *L = gm_params_get(&m->params, P_LOGITS)->data; // (K, D)
    for (int64_t k = 0; k < K; k++) {
        const float *row = x + gm_rng_randint(rng, n) * D; // (D)
        for (int64_t d = 0; d < D; d++) {
            double v = row[d] < 0 ? 0.0 : row[d] > 1 ? 1.0 : row[d];
            double p = 0.5 * (v + mean[d]);
            L[k * D + d] = (float)log(p / (1.0 - p));
        }
    }
    gm_params_init_const(&m->params, P_MIX, 0.0f);
    free(mean);
    return GM_OK;
}

/* log p(x) per row as a (B) tensor on ctx's tape. x (B, D). */
static gm_tensor *mob_logp(gm_model *m, gm_ctx *ctx, gm_tensor *x) {
    gm_tensor *L = gm_params_get(&m->params, P_LOGITS);  // (K, D)
    gm_tensor *mix = gm_params_get(&m->params, P_MIX);   // (K)
    gm_tensor *xl = gm_linear(ctx, x, L, NULL);           // (B, K) = x @ Lᵀ
    gm_tensor *norm = gm_sum(ctx, gm_softplus(ctx, L), 1, 0); // (K) Σ_d softplus(L_kd)
    gm_tensor *lw = gm_log_softmax(ctx, mix, 0);          // (K)
    gm_tensor *t = gm_add(ctx, xl, gm_sub(ctx, lw, norm)); // (B, K)
    return gm_logsumexp(ctx, t, 1, 0);                    // (B)
}

static int batch_ok(gm_model *m, gm_ctx *ctx, gm_tensor *x) {
    if (x->ndim == 2 && x->shape[1] == m->dim && x->shape[0] >= 1) return 1;
    char s[64];
    gm_ctx_fail(ctx, GM_ERR_SHAPE, "mob: batch has shape %s, expected (B, %lld)", gm_shape_str(x, s, sizeof s),
                (long long)m->dim);
    return 0;
}

/* Mean negative log-likelihood of the batch x (B, D): a scalar. */
static gm_tensor *mob_loss(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng) {
    if (!x || !batch_ok(m, ctx, x)) return NULL;
    return gm_neg(ctx, gm_mean(ctx, mob_logp(m, ctx, x), GM_ALL_AXES, 0));
}

/* log p(x) (B) without gradients, GM_MODEL_LOGP_CHUNK rows at a time.
 * Resets ctx before every chunk: tensors the caller holds in ctx are
 * invalid afterwards. The grad-enabled flag is restored. */
static gm_status mob_log_prob(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out) {
    if (!ctx || B < 0 || (B > 0 && (!x || !out))) return gm_error(GM_ERR_ARG, "mob log_prob: NULL ctx, data or output");
    int64_t D = m->dim;
    int prev = gm_set_grad_enabled(ctx, 0);
    gm_status st = GM_OK;
    for (int64_t s = 0; s < B && st == GM_OK; s += GM_MODEL_LOGP_CHUNK) {
        int64_t b = B - s < GM_MODEL_LOGP_CHUNK ? B - s : GM_MODEL_LOGP_CHUNK;
        gm_ctx_reset(ctx);
        int64_t shape[2] = {b, D};
        gm_tensor *lp = mob_logp(m, ctx, gm_from_data(ctx, 2, shape, x + s * D)); // (b)
        if (!lp) {
            st = gm_ctx_status(ctx) != GM_OK ? gm_ctx_status(ctx) : GM_ERR_NOMEM;
            gm_error(st, "mob log_prob: %s", gm_ctx_error(ctx));
            break;
        }
        for (int64_t i = 0; i < b; i++) out[s + i] = lp->data[i];
    }
    gm_set_grad_enabled(ctx, prev);
    return st;
}

/* k ~ Categorical(softmax(mix)), then x_d ~ Bern(σ(L_kd)); out (n, D). */
static gm_status mob_sample(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out) {
    if (!rng || n < 0 || (n > 0 && !out)) return gm_error(GM_ERR_ARG, "mob sample: NULL rng or output");
    int64_t D = m->dim, K = m->params.entries[P_LOGITS].shape[0];
    const float *L = gm_params_get(&m->params, P_LOGITS)->data; // (K, D)
    const float *mix = gm_params_get(&m->params, P_MIX)->data;  // (K)
    float *w = malloc((size_t)K * sizeof *w);                   // (K) unnormalised π
    if (!w) return gm_error(GM_ERR_NOMEM, "mob sample: out of memory");
    float mx = mix[0];
    for (int64_t k = 1; k < K; k++) mx = mix[k] > mx ? mix[k] : mx;
    for (int64_t k = 0; k < K; k++) w[k] = (float)exp((double)mix[k] - mx);
    gm_status st = GM_OK;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = gm_rng_categorical(rng, w, K);
        if (k < 0) {
            st = gm_error(GM_ERR_NONFINITE, "mob sample: mixture weights are not finite");
            break;
        }
        for (int64_t d = 0; d < D; d++) out[i * D + d] = (float)gm_rng_bernoulli(rng, sigmoid_d(L[k * D + d]));
    }
    free(w);
    return st;
}

static void mob_destroy(gm_model *m) { m->impl = NULL; }

const gm_model_def gm_model_def_mob = {
    .name = "mob",
    .summary = "mixture of Bernoulli products (K components), exact log-likelihood",
    .hparams = mob_hparams,
    .n_hparams = (int)(sizeof mob_hparams / sizeof mob_hparams[0]),
    .logp_kind = GM_LOGP_EXACT,
    .binary_data = 1,
    .declare = mob_declare,
    .init = mob_init,
    .loss = mob_loss,
    .log_prob = mob_log_prob,
    .sample = mob_sample,
    .destroy = mob_destroy,
    .init_data = mob_init_data,
};
