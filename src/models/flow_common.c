/*
 * flow_common.c — the model side of every normalizing flow: base density,
 * dequantization, logit preprocessing, and the gm_model_def callbacks that
 * nice, realnvp and flow2d share.
 *
 * Densities. For 8-bit images scaled to [0,1] (dequantize = uniform) the
 * model is a density on y = (k + u) / 256 ∈ [0,1)^D, k = round(255 x),
 * u ~ U[0,1)^D; log p(x) reported by log_prob is log p(y) averaged over
 * `draws` noise draws, in nats, so bits/dim = (-log p / D + ln 256) / ln 2
 * (a lower bound on the discrete log-likelihood in expectation). With
 * alpha > 0, y is first mapped to logit(alpha + (1 - 2 alpha) y) and that
 * map's log-det is included, so the density is still on [0,1]^D. The
 * evaluation noise is a fixed function of the row's values and the draw
 * index (not of batch position or run), so eval results are reproducible.
 * Training noise comes from the trainer's model RNG stream.
 * What this is not: the flow layers (src/flows/) or a model's architecture
 * (nice.c, realnvp.c, flow2d.c).
 */
#include "models/flow_common.h"
#include "core/op_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LN_2PI 1.8378770664093453

gm_status flow_model_begin(gm_model *m, int image) {
    flow_model *fm = calloc(1, sizeof *fm);
    if (!fm) return gm_error(GM_ERR_NOMEM, "%s: out of memory", m->def->name);
    m->impl = fm;
    const char *prior = gm_config_get(&m->config, "prior"), *deq = gm_config_get(&m->config, "dequantize");
    if (!prior || (strcmp(prior, "gaussian") && strcmp(prior, "logistic")))
        return gm_error(GM_ERR_ARG, "--prior: expected gaussian or logistic, got \"%s\"", prior ? prior : "");
    if (!deq || (strcmp(deq, "uniform") && strcmp(deq, "none")))
        return gm_error(GM_ERR_ARG, "--dequantize: expected uniform or none, got \"%s\"", deq ? deq : "");
    fm->prior = strcmp(prior, "logistic") ? FLOW_PRIOR_GAUSSIAN : FLOW_PRIOR_LOGISTIC;
    fm->dequant = !strcmp(deq, "uniform");
    fm->alpha = gm_config_float(&m->config, "alpha", 0.0);
    fm->unit = fm->dequant || fm->alpha > 0;
    if (image && m->c < 1) return gm_error(GM_ERR_ARG, "%s needs image data (C, H, W); the data has no geometry", m->def->name);
    return gm_flow_begin(&fm->flow, &m->params, m->dim, image, m->c, m->h, m->w);
}

void flow_destroy(gm_model *m) {
    flow_model *fm = m->impl;
    if (fm) gm_flow_free(&fm->flow);
    free(fm);
    m->impl = NULL;
}

/* FNV-1a over a row's bytes: the evaluation noise depends on the row only. */
static uint64_t row_hash(const float *x, int64_t D) {
    const unsigned char *b = (const unsigned char *)x;
    uint64_t h = 0xcbf29ce484222325ull;
    for (int64_t i = 0; i < D * (int64_t)sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* y (B, D) and ld (B) from x (B, D). Noise: from rng when given (drawn first,
 * in row-major order, into a scratch buffer), else from the row hash and
 * `draw` (draw < 0: the cell midpoint u = 1/2). Rows are then processed in
 * parallel; every value is computed as in a serial pass. */
static gm_status preprocess(const flow_model *fm, const float *x, int64_t B, int64_t D, gm_rng *rng, int draw,
                            float *y, double *ld) {
    double a = fm->alpha, la = a > 0 ? log1p(-2 * a) : 0;
    if (fm->unit)
        for (int64_t i = 0; i < B * D; i++)
            if (!(x[i] >= 0.0f && x[i] <= 1.0f))
                return gm_error(GM_ERR_ARG, "row %lld column %lld has value %g; this flow needs data in [0, 1]",
                                (long long)(i / D), (long long)(i % D), (double)x[i]);
    double *noise = NULL;  // (B, D)
    if (fm->dequant && rng) {
        noise = malloc(sizeof(double) * (size_t)(B * D));
        if (!noise) return gm_error(GM_ERR_NOMEM, "flow: out of memory for %lld noise values", (long long)(B * D));
        for (int64_t i = 0; i < B * D; i++) noise[i] = gm_rng_uniform_d(rng);
    }
    int nt = gm_par_threads(B * D * 16);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < B; r++) {
        const float *xr = x + r * D; // (D)
        float *yr = y + r * D;       // (D)
        gm_rng hr;
        if (fm->dequant && !noise && draw >= 0) gm_rng_seed(&hr, row_hash(xr, D), (uint64_t)draw);
        double l = 0;
        for (int64_t j = 0; j < D; j++) {
            double v = xr[j];
            if (fm->dequant) {
                double u = noise ? noise[r * D + j] : draw >= 0 ? gm_rng_uniform_d(&hr) : 0.5;
                v = (nearbyint(v * 255.0) + u) / 256.0;
            }
            if (a > 0) {
                double s = a + (1 - 2 * a) * v, ls = log(s), l1 = log1p(-s);
                l += la - ls - l1;  /* log-derivative of logit(s), with s's scale (1 - 2a) */
                v = ls - l1;        /* logit(s) */
            }
            yr[j] = (float)v;
        }
        ld[r] = l;
    }
    free(noise);
    return GM_OK;
}

/* Inverse of the preprocessing, in place: back to [0, 1]; 8-bit data are
 * quantized to k / 255 when `quantize`. */
static void postprocess(const flow_model *fm, float *y, int64_t n, int quantize) {
    double a = fm->alpha;
    for (int64_t i = 0; i < n; i++) {
        double v = y[i];
        if (a > 0) v = (1.0 / (1.0 + exp(-v)) - a) / (1 - 2 * a);
        if (fm->unit) v = v < 0 ? 0 : v > 1 ? 1 : v;
        if (quantize && fm->dequant) {
            double k = floor(v * 256.0);
            v = (float)(k > 255 ? 255 : k) * (1.0f / 255.0f); /* as the image readers scale */
        }
        y[i] = (float)v;
    }
}

/* log p_Z(z) summed over dimensions: (B, D) -> (B). */
static gm_tensor *prior_logp(const flow_model *fm, gm_ctx *ctx, gm_tensor *z) {
    int64_t D = z->shape[1];
    if (fm->prior == FLOW_PRIOR_GAUSSIAN)
        return gm_add_scalar(ctx, gm_scale(ctx, gm_sum(ctx, gm_mul(ctx, z, z), 1, 0), -0.5f), (float)(-0.5 * LN_2PI * D));
    gm_tensor *sp = gm_add(ctx, gm_softplus(ctx, z), gm_softplus(ctx, gm_neg(ctx, z)));
    return gm_neg(ctx, gm_sum(ctx, sp, 1, 0));
}

/* log p(y) (B) = prior(f(y)) + log|det| + the preprocessing's log-det. */
static gm_tensor *logp_tensor(gm_model *m, gm_ctx *ctx, float *y, const double *ld_pre, int64_t B) {
    flow_model *fm = m->impl;
    gm_tensor *yt = gm_wrap(ctx, 2, (int64_t[]){B, m->dim}, y), *ld = NULL;
    gm_tensor *z = gm_flow_forward(&fm->flow, ctx, yt, &ld);
    gm_tensor *pre = gm_tensor_new(ctx, 1, &B);
    if (!z || !pre) return NULL;
    for (int64_t r = 0; r < B; r++) pre->data[r] = (float)ld_pre[r];
    return gm_add(ctx, gm_add(ctx, prior_logp(fm, ctx, z), ld), pre);
}

gm_tensor *flow_loss(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng) {
    if (!x) return NULL;
    if (x->ndim != 2 || x->shape[1] != m->dim || !gm_is_contiguous(x)) {
        char s[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: batch has shape %s, expected (B, %lld)", m->def->name,
                           gm_shape_str(x, s, sizeof s), (long long)m->dim);
    }
    int64_t B = x->shape[0];
    float *y = gm_arena_alloc(ctx, (size_t)(B * m->dim) * sizeof(float)); // (B, D)
    double *ld = gm_arena_alloc(ctx, (size_t)B * sizeof(double));        // (B)
    if (!y || !ld) return NULL;
    if (preprocess(m->impl, x->data, B, m->dim, rng, 0, y, ld) != GM_OK)
        return gm_ctx_fail(ctx, GM_ERR_ARG, "%s: %s", m->def->name, gm_last_error());
    gm_tensor *lp = logp_tensor(m, ctx, y, ld, B);
    return gm_scale(ctx, gm_sum(ctx, lp, GM_ALL_AXES, 0), (float)(-1.0 / (double)B));
}

#define CHUNK GM_MODEL_LOGP_CHUNK /* rows per no-grad graph (bounds the arena) */

/* Evaluation mode for the no-gradient passes (eval statistics: batch-norm
 * running averages are used and never updated); eval_end restores. */
typedef struct eval_scope { int grad, training; } eval_scope;
static eval_scope eval_begin(gm_ctx *ctx) {
    eval_scope e = {gm_set_grad_enabled(ctx, 0), gm_training(ctx)};
    gm_set_training(ctx, 0);
    return e;
}
static void eval_end(gm_ctx *ctx, eval_scope e) {
    gm_set_training(ctx, e.training);
    gm_set_grad_enabled(ctx, e.grad);
}

gm_status flow_log_prob(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out) {
    if (B < 0 || (B > 0 && (!x || !out))) return gm_error(GM_ERR_ARG, "%s log_prob: NULL data or output", m->def->name);
    flow_model *fm = m->impl;
    int draws = fm->dequant ? (int)gm_config_int(&m->config, "draws", 1) : 1;
    if (draws < 1) draws = 1;
    eval_scope ev = eval_begin(ctx);
    gm_status st = GM_OK;
    for (int64_t i = 0; i < B && st == GM_OK; i += CHUNK) {
        int64_t b = B - i < CHUNK ? B - i : CHUNK;
        for (int64_t r = 0; r < b; r++) out[i + r] = 0;
        for (int k = 0; k < draws && st == GM_OK; k++) {
            gm_ctx_reset(ctx);
            float *y = gm_arena_alloc(ctx, (size_t)(b * m->dim) * sizeof(float)); // (b, D)
            double *ld = gm_arena_alloc(ctx, (size_t)b * sizeof(double));        // (b)
            if (!y || !ld) {
                st = gm_error(GM_ERR_NOMEM, "%s log_prob: out of memory", m->def->name);
                break;
            }
            if ((st = preprocess(fm, x + i * m->dim, b, m->dim, NULL, k, y, ld)) != GM_OK) break;
            gm_tensor *lp = logp_tensor(m, ctx, y, ld, b);
            if (!lp || gm_ctx_status(ctx) != GM_OK) {
                st = gm_error(gm_ctx_status(ctx) ? gm_ctx_status(ctx) : GM_ERR_ARG, "%s log_prob: %s", m->def->name,
                              gm_ctx_error(ctx));
                break;
            }
            for (int64_t r = 0; r < b; r++) out[i + r] += (double)lp->data[r] / draws;
        }
    }
    eval_end(ctx, ev);
    return st;
}

gm_status flow_sample_temp(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, double T, float *out) {
    if (!rng || n < 0 || (n > 0 && !out)) return gm_error(GM_ERR_ARG, "%s sample: NULL rng or output", m->def->name);
    if (!(T > 0) || !isfinite(T)) return gm_error(GM_ERR_ARG, "--temperature: must be > 0, got %g", T);
    flow_model *fm = m->impl;
    eval_scope ev = eval_begin(ctx);
    gm_status st = GM_OK;
    for (int64_t i = 0; i < n && st == GM_OK; i += CHUNK) {
        int64_t b = n - i < CHUNK ? n - i : CHUNK;
        gm_ctx_reset(ctx);
        gm_tensor *z = gm_tensor_new(ctx, 2, (int64_t[]){b, m->dim});
        if (!z) break;
        for (int64_t k = 0; k < z->numel; k++) {
            double v;
            if (fm->prior == FLOW_PRIOR_GAUSSIAN) v = gm_rng_normal(rng);
            else {
                double u = gm_rng_uniform_d(rng);
                u = u < 1e-12 ? 1e-12 : u;
                v = log(u) - log1p(-u);
            }
            z->data[k] = (float)(T * v);
        }
        gm_tensor *x = gm_flow_inverse(&fm->flow, ctx, z);
        if (!x || gm_ctx_status(ctx) != GM_OK) break;
        gm_copy_to(x, out + i * m->dim);
        for (int64_t k = 0; k < b * m->dim; k++)
            if (!isfinite(out[i * m->dim + k])) {
                st = gm_error(GM_ERR_NONFINITE, "%s sample: the inverse flow produced %g (row %lld); the checkpoint's "
                              "parameters are broken or the temperature is too high", m->def->name,
                              (double)out[i * m->dim + k], (long long)(i + k / m->dim));
                break;
            }
        postprocess(fm, out + i * m->dim, b * m->dim, 0);
    }
    if (st == GM_OK && gm_ctx_status(ctx) != GM_OK)
        st = gm_error(gm_ctx_status(ctx), "%s sample: %s", m->def->name, gm_ctx_error(ctx));
    eval_end(ctx, ev);
    return st;
}

gm_status flow_sample(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out) {
    return flow_sample_temp(m, ctx, rng, n, 1.0, out);
}

gm_status flow_encode(gm_model *m, gm_ctx *ctx, const float *x, int64_t n, float *z) {
    if (n < 0 || (n > 0 && (!x || !z))) return gm_error(GM_ERR_ARG, "%s encode: NULL data or output", m->def->name);
    flow_model *fm = m->impl;
    eval_scope ev = eval_begin(ctx);
    gm_status st = GM_OK;
    for (int64_t i = 0; i < n && st == GM_OK; i += CHUNK) {
        int64_t b = n - i < CHUNK ? n - i : CHUNK;
        gm_ctx_reset(ctx);
        float *y = gm_arena_alloc(ctx, (size_t)(b * m->dim) * sizeof(float)); // (b, D)
        double *ld = gm_arena_alloc(ctx, (size_t)b * sizeof(double));        // (b)
        if (!y || !ld) break;
        if ((st = preprocess(fm, x + i * m->dim, b, m->dim, NULL, -1, y, ld)) != GM_OK) break;
        gm_tensor *ldt, *zt = gm_flow_forward(&fm->flow, ctx, gm_wrap(ctx, 2, (int64_t[]){b, m->dim}, y), &ldt);
        if (!zt) break;
        gm_copy_to(zt, z + i * m->dim);
    }
    if (st == GM_OK && gm_ctx_status(ctx) != GM_OK)
        st = gm_error(gm_ctx_status(ctx), "%s encode: %s", m->def->name, gm_ctx_error(ctx));
    eval_end(ctx, ev);
    return st;
}

gm_status flow_decode(gm_model *m, gm_ctx *ctx, const float *z, int64_t n, float *x) {
    if (n < 0 || (n > 0 && (!x || !z))) return gm_error(GM_ERR_ARG, "%s decode: NULL data or output", m->def->name);
    flow_model *fm = m->impl;
    eval_scope ev = eval_begin(ctx);
    for (int64_t i = 0; i < n; i += CHUNK) {
        int64_t b = n - i < CHUNK ? n - i : CHUNK;
        gm_ctx_reset(ctx);
        gm_tensor *zt = gm_from_data(ctx, 2, (int64_t[]){b, m->dim}, z + i * m->dim);
        gm_tensor *xt = gm_flow_inverse(&fm->flow, ctx, zt);
        if (!xt) break;
        gm_copy_to(xt, x + i * m->dim);
        postprocess(fm, x + i * m->dim, b * m->dim, 1);
    }
    gm_status st = gm_ctx_status(ctx);
    if (st != GM_OK) st = gm_error(st, "%s decode: %s", m->def->name, gm_ctx_error(ctx));
    eval_end(ctx, ev);
    return st;
}

gm_status flow_init(gm_model *m, gm_rng *rng) {
    flow_model *fm = m->impl;
    return gm_flow_init_params(&fm->flow, rng);
}

gm_status flow_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng) {
    flow_model *fm = m->impl;
    if (n > 256) n = 256; /* enough for per-channel statistics; bounds the arena of image flows */
    if (n < 2) return GM_OK;
    float *y = malloc((size_t)(n * m->dim) * sizeof(float)); // (n, D)
    double *ld = malloc((size_t)n * sizeof(double));        // (n)
    gm_ctx *ctx = gm_ctx_new(0);
    gm_status st = !y || !ld || !ctx ? gm_error(GM_ERR_NOMEM, "%s init_data: out of memory", m->def->name) : GM_OK;
    if (st == GM_OK) st = preprocess(fm, x, n, m->dim, NULL, 0, y, ld);
    if (st == GM_OK) st = gm_flow_init_data(&fm->flow, ctx, y, n);
    gm_ctx_free(ctx);
    free(y), free(ld);
    return st;
}

gm_status flow_validate(gm_model *m) { return gm_flow_validate(&((flow_model *)m->impl)->flow); }

gm_status flow_check_data(gm_model *m, const float *x, int64_t B, const char *what) {
    flow_model *fm = m->impl;
    if (!fm->unit) return GM_OK;
    for (int64_t i = 0; i < B * m->dim; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f))
            return gm_error(GM_ERR_ARG, "%s: row %lld column %lld has value %g; model '%s' needs data scaled to [0, 1]",
                            what, (long long)(i / m->dim), (long long)(i % m->dim), (double)x[i], m->def->name);
    return GM_OK;
}

int flow_dequant_draws(gm_model *m) {
    flow_model *fm = m->impl;
    return fm->dequant ? (int)gm_config_int(&m->config, "draws", 1) : 0;
}
