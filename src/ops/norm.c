/*
 * norm.c — dropout, layer norm and batch norm: forward and backward side by side.
 *
 * Statistics (means, variances, the sums of the backward closed forms) are
 * accumulated in double, in a fixed order, so the reference and fast backends
 * agree and results do not depend on the thread count. The fast backend
 * threads over rows (layer norm) or channels (batch norm) above a size
 * threshold; the reference backend runs the same loops on one thread.
 * What this is not: group/instance/RMS norm, or a fused dropout+op kernel.
 */
#include "core/op_internal.h"
#include "genmod/rng.h"
#include "ops/broadcast.h"
#include <math.h>

/* ==== dropout ==== */

static void dropout_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const unsigned char *keep = (const unsigned char *)n->saved; // (numel) 1 = kept
    const float *gy = n->out->grad;
    float scale = n->f[0];
    int64_t N = n->out->numel;
    for (int64_t i = 0; i < N; i++)
        if (keep[i]) gx[i] += gy[i] * scale;
}

/* Inverted dropout: in training mode each element is zeroed with probability
 * p (drawn from `rng`, one uniform per element in row-major order, so a seed
 * fixes the mask) and kept ones are scaled by 1/(1-p). In eval mode, or with
 * p == 0, returns x itself (no node, no RNG draw). p outside [0,1) is
 * GM_ERR_ARG (checked in both modes); a NULL rng in training mode too. */
gm_tensor *gm_dropout(gm_ctx *ctx, gm_tensor *x, float p, struct gm_rng *rng) {
    if (!gm_op_begin(ctx, GM_OP_DROPOUT, 1, x)) return NULL;
    if (!(p >= 0.0f && p < 1.0f))
        return gm_ctx_fail(ctx, GM_ERR_ARG, "dropout: p must be in [0, 1), got %g", (double)p);
    if (!gm_training(ctx) || p == 0.0f) return x;
    if (!rng) return gm_ctx_fail(ctx, GM_ERR_ARG, "dropout: NULL rng in training mode");
    const float *xd = gm_contig(ctx, x);
    gm_tensor *out = xd ? gm_op_out(ctx, x->ndim, x->shape) : NULL;
    unsigned char *keep = out ? gm_arena_alloc(ctx, (size_t)x->numel) : NULL;
    if (!keep) return NULL;
    float scale = 1.0f / (1.0f - p), *yd = out->data;
    for (int64_t i = 0; i < x->numel; i++) {
        keep[i] = gm_rng_uniform(rng) >= p;
        yd[i] = keep[i] ? xd[i] * scale : 0.0f;
    }
    gm_node *node = gm_op_record(ctx, GM_OP_DROPOUT, dropout_backward, out, 1, x);
    if (node) { node->f[0] = scale; node->saved = keep; }
    return gm_op_end(ctx, GM_OP_DROPOUT, out);
}

/* ==== shared by layer norm and batch norm ==== */

typedef struct {
    const float *x;      /* contiguous input */
    const float *gamma;  /* contiguous (D or C) or NULL */
    float *mean, *rstd;  /* per row (layer norm) or per channel (batch norm) */
} norm_saved;

/* Checks an optional per-feature parameter (gamma/beta) has n elements; returns
 * its contiguous data (NULL if absent); sets *bad on a size mismatch. */
static const float *param_data(gm_ctx *ctx, gm_tensor *t, int64_t n, const char *op, const char *what, int *bad) {
    if (!t) return NULL;
    if (t->numel != n) {
        char b[64];
        gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: %s has shape %s, expected %lld elements", op, what,
                    gm_shape_str(t, b, sizeof b), (long long)n);
        *bad = 1;
        return NULL;
    }
    const float *d = gm_contig(ctx, t);
    if (!d) *bad = 1;
    return d;
}

/* ==== layer norm ==== */

static void layer_norm_backward(gm_ctx *ctx, gm_node *n) {
    const norm_saved *s = (const norm_saved *)n->saved;
    int64_t rows = n->i[0], D = n->i[1];
    const float *gy = n->out->grad; // (rows, D)
    float *gx = gm_grad_buf(ctx, n->in[0]), *gg = gm_grad_buf(ctx, n->in[1]), *gb = gm_grad_buf(ctx, n->in[2]);
    const float *x = s->x, *gamma = s->gamma, *mean = s->mean, *rstd = s->rstd;
    if (gx) {
        /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma */
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, rows * D * 6)) if (rows * D > 32768)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * D, *gr = gy + r * D;
            double sg = 0.0, sgx = 0.0;
            for (int64_t j = 0; j < D; j++) {
                double g = (double)gr[j] * (gamma ? gamma[j] : 1.0f);
                sg += g;
                sgx += g * (double)((xr[j] - mean[r]) * rstd[r]);
            }
            float mg = (float)(sg / (double)D), mgx = (float)(sgx / (double)D);
            float *gxr = gx + r * D;
            for (int64_t j = 0; j < D; j++) {
                float xh = (xr[j] - mean[r]) * rstd[r];
                float g = gr[j] * (gamma ? gamma[j] : 1.0f);
                gxr[j] += rstd[r] * (g - mg - xh * mgx);
            }
        }
    }
    if (gg || gb) {
        /* per column j, sum over rows in row order (columns split among threads) */
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, rows * D * 3)) if (rows * D > 32768)
        for (int64_t j = 0; j < D; j++) {
            double sgx = 0.0, sg = 0.0;
            for (int64_t r = 0; r < rows; r++) {
                float g = gy[r * D + j];
                sg += g;
                sgx += (double)g * (double)((x[r * D + j] - mean[r]) * rstd[r]);
            }
            if (gg) gg[j] += (float)sgx;
            if (gb) gb[j] += (float)sg;
        }
    }
}

/* Normalises x over its last dim D: (x - mean) / sqrt(var + eps) with the
 * biased variance, then * gamma + beta (each (D) or NULL). Output has x's
 * shape. Errors: gamma/beta of the wrong size (GM_ERR_SHAPE), a 0-d input or
 * empty last dim (GM_ERR_SHAPE), eps negative or not finite (GM_ERR_ARG). */
gm_tensor *gm_layer_norm(gm_ctx *ctx, gm_tensor *x, gm_tensor *gamma, gm_tensor *beta, float eps) {
    if (!gm_op_begin(ctx, GM_OP_LAYER_NORM, 1, x)) return NULL;
    char b[64];
    if (x->ndim < 1 || x->shape[x->ndim - 1] < 1)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "layer_norm: input %s has no last dim to normalise", gm_shape_str(x, b, sizeof b));
    if (!(eps >= 0.0f && isfinite(eps))) return gm_ctx_fail(ctx, GM_ERR_ARG, "layer_norm: eps must be >= 0, got %g", (double)eps);
    int64_t D = x->shape[x->ndim - 1], rows = x->numel / D;
    int bad = 0;
    const float *gd = param_data(ctx, gamma, D, "layer_norm", "gamma", &bad);
    const float *bd = bad ? NULL : param_data(ctx, beta, D, "layer_norm", "beta", &bad);
    if (bad) return NULL;
    const float *xd = gm_contig(ctx, x);
    gm_tensor *out = xd ? gm_op_out(ctx, x->ndim, x->shape) : NULL;
    float *stats = out ? gm_arena_alloc(ctx, (size_t)(2 * rows) * sizeof(float)) : NULL; // mean (rows), rstd (rows)
    if (!stats) return NULL;
    float *mean = stats, *rstd = stats + rows, *yd = out->data;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, rows * D * 6)) if (rows * D > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = xd + r * D;
        double s = 0.0, v = 0.0;
        for (int64_t j = 0; j < D; j++) s += xr[j];
        double m = s / (double)D;
        for (int64_t j = 0; j < D; j++) v += ((double)xr[j] - m) * ((double)xr[j] - m);
        mean[r] = (float)m;
        rstd[r] = (float)(1.0 / sqrt(v / (double)D + (double)eps));
        float *yr = yd + r * D;
        for (int64_t j = 0; j < D; j++) {
            float xh = (xr[j] - mean[r]) * rstd[r];
            yr[j] = xh * (gd ? gd[j] : 1.0f) + (bd ? bd[j] : 0.0f);
        }
    }
    gm_node *node = gm_op_record(ctx, GM_OP_LAYER_NORM, layer_norm_backward, out, 3, x, gamma, beta);
    if (node) {
        norm_saved *s = gm_arena_alloc(ctx, sizeof *s);
        if (!s) return NULL;
        s->x = xd; s->gamma = gd; s->mean = mean; s->rstd = rstd;
        node->saved = s;
        node->i[0] = rows; node->i[1] = D;
        node->f[0] = eps;
    }
    return gm_op_end(ctx, GM_OP_LAYER_NORM, out);
}

/* ==== batch norm ==== */

/* Element (b, c, k) of x viewed as (B, C, S) is at (b*C + c)*S + k. */
static void batch_norm_backward(gm_ctx *ctx, gm_node *n) {
    const norm_saved *s = (const norm_saved *)n->saved;
    int64_t B = n->i[0], C = n->i[1], S = n->i[2], training = n->i[3], M = B * S;
    const float *gy = n->out->grad; // (B, C, S)
    float *gx = gm_grad_buf(ctx, n->in[0]), *gg = gm_grad_buf(ctx, n->in[1]), *gb = gm_grad_buf(ctx, n->in[2]);
    const float *x = s->x, *gamma = s->gamma, *mean = s->mean, *rstd = s->rstd;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, B * C * S * 6)) if (B * C * S > 32768)
    for (int64_t c = 0; c < C; c++) {
        double sg = 0.0, sgx = 0.0; // Σ dy, Σ dy * xhat over the channel
        for (int64_t b = 0; b < B; b++) {
            const float *xr = x + (b * C + c) * S, *gr = gy + (b * C + c) * S;
            for (int64_t k = 0; k < S; k++) {
                sg += gr[k];
                sgx += (double)gr[k] * (double)((xr[k] - mean[c]) * rstd[c]);
            }
        }
        if (gg) gg[c] += (float)sgx;
        if (gb) gb[c] += (float)sg;
        if (!gx) continue;
        float ga = (gamma ? gamma[c] : 1.0f) * rstd[c];
        /* training: dx = gamma*rstd*(dy - mean(dy) - xhat*mean(dy*xhat)); eval: dx = gamma*rstd*dy */
        float mg = training ? (float)(sg / (double)M) : 0.0f, mgx = training ? (float)(sgx / (double)M) : 0.0f;
        for (int64_t b = 0; b < B; b++) {
            const float *xr = x + (b * C + c) * S, *gr = gy + (b * C + c) * S;
            float *gxr = gx + (b * C + c) * S;
            for (int64_t k = 0; k < S; k++) {
                float xh = (xr[k] - mean[c]) * rstd[c];
                gxr[k] += ga * (gr[k] - mg - xh * mgx);
            }
        }
    }
}

/* Batch norm over x (B, C) or (B, C, H, W) (any (B, C, ...) up to 4-D), with
 * statistics per channel C. Training mode (gm_training): normalises with the
 * batch mean and biased variance and, if running_mean/running_var (C floats,
 * both or neither) are given, updates them in place as torch does:
 * running = (1-momentum)*running + momentum*batch, with the unbiased variance.
 * Needs more than one value per channel. Eval mode: normalises with the
 * running statistics (required) and is an affine map of x. Then * gamma + beta
 * (each (C) or NULL). Output has x's shape. Errors: GM_ERR_SHAPE for bad
 * shapes, GM_ERR_ARG for missing running stats in eval, eps < 0, momentum
 * outside [0, 1] or running_var + eps <= 0. */
gm_tensor *gm_batch_norm(gm_ctx *ctx, gm_tensor *x, gm_tensor *gamma, gm_tensor *beta,
                         float *running_mean, float *running_var, float momentum, float eps) {
    if (!gm_op_begin(ctx, GM_OP_BATCH_NORM, 1, x)) return NULL;
    char b[64];
    if (x->ndim < 2 || x->shape[1] < 1)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "batch_norm: input %s must be (B, C) or (B, C, H, W)", gm_shape_str(x, b, sizeof b));
    if (!(eps >= 0.0f && isfinite(eps))) return gm_ctx_fail(ctx, GM_ERR_ARG, "batch_norm: eps must be >= 0, got %g", (double)eps);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return gm_ctx_fail(ctx, GM_ERR_ARG, "batch_norm: momentum must be in [0, 1], got %g", (double)momentum);
    if (!running_mean != !running_var)
        return gm_ctx_fail(ctx, GM_ERR_ARG, "batch_norm: running_mean and running_var must be both given or both NULL");
    int training = gm_training(ctx);
    if (!training && !running_mean)
        return gm_ctx_fail(ctx, GM_ERR_ARG, "batch_norm: eval mode needs running_mean and running_var");
    int64_t B = x->shape[0], C = x->shape[1], S = C > 0 && B > 0 ? x->numel / (B * C) : 0, M = B * S;
    if (training && M < 2)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "batch_norm: input %s has %lld value(s) per channel; training needs more than 1",
                           gm_shape_str(x, b, sizeof b), (long long)M);
    int bad = 0;
    const float *gd = param_data(ctx, gamma, C, "batch_norm", "gamma", &bad);
    const float *bd = bad ? NULL : param_data(ctx, beta, C, "batch_norm", "beta", &bad);
    if (bad) return NULL;
    if (!training)
        for (int64_t c = 0; c < C; c++)
            if (!(running_var[c] + eps > 0.0f) || !isfinite(running_mean[c]))
                return gm_ctx_fail(ctx, GM_ERR_ARG, "batch_norm: running stats of channel %lld are invalid (mean %g, var %g)",
                                   (long long)c, (double)running_mean[c], (double)running_var[c]);
    const float *xd = gm_contig(ctx, x);
    gm_tensor *out = xd ? gm_op_out(ctx, x->ndim, x->shape) : NULL;
    float *stats = out ? gm_arena_alloc(ctx, (size_t)(2 * C) * sizeof(float)) : NULL; // mean (C), rstd (C)
    if (!stats) return NULL;
    float *mean = stats, *rstd = stats + C, *yd = out->data;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, B * C * S * 6)) if (B * C * S > 32768)
    for (int64_t c = 0; c < C; c++) {
        if (training) {
            double sum = 0.0, v = 0.0;
            for (int64_t bi = 0; bi < B; bi++)
                for (int64_t k = 0; k < S; k++) sum += xd[(bi * C + c) * S + k];
            double m = sum / (double)M;
            for (int64_t bi = 0; bi < B; bi++)
                for (int64_t k = 0; k < S; k++) {
                    double d = (double)xd[(bi * C + c) * S + k] - m;
                    v += d * d;
                }
            mean[c] = (float)m;
            rstd[c] = (float)(1.0 / sqrt(v / (double)M + (double)eps));
            if (running_mean) {
                running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * m);
                running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * (v / (double)(M - 1)));
            }
        } else {
            mean[c] = running_mean[c];
            rstd[c] = (float)(1.0 / sqrt((double)running_var[c] + (double)eps));
        }
        float ga = gd ? gd[c] : 1.0f, be = bd ? bd[c] : 0.0f;
        for (int64_t bi = 0; bi < B; bi++) {
            const float *xr = xd + (bi * C + c) * S;
            float *yr = yd + (bi * C + c) * S;
            for (int64_t k = 0; k < S; k++) yr[k] = (xr[k] - mean[c]) * rstd[c] * ga + be;
        }
    }
    gm_node *node = gm_op_record(ctx, GM_OP_BATCH_NORM, batch_norm_backward, out, 3, x, gamma, beta);
    if (node) {
        norm_saved *s = gm_arena_alloc(ctx, sizeof *s);
        if (!s) return NULL;
        s->x = xd; s->gamma = gd; s->mean = mean; s->rstd = rstd;
        node->saved = s;
        node->i[0] = B; node->i[1] = C; node->i[2] = S; node->i[3] = training;
        node->f[0] = eps; node->f[1] = momentum;
    }
    return gm_op_end(ctx, GM_OP_BATCH_NORM, out);
}
