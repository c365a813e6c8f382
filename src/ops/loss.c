/*
 * loss.c — losses and log-densities: forward and backward side by side.
 *
 * No reduction: every op is elementwise (broadcasting its operands, NumPy
 * rules, see ops/broadcast.h) or per example (cross-entropy); reduce with
 * gm_sum / gm_mean. Each op is one fused node with its own backward, written
 * in the numerically stable form:
 *   bce(l, t)          = max(l,0) - l*t + log1p(exp(-|l|))        d/dl = σ(l) - t
 *   bernoulli(x; l)    = -bce(l, x)                                d/dl = x - σ(l)
 *   mse(a, b)          = (a-b)^2
 *   gaussian(x; m, ls) = -z²/2 - ls - log(2π)/2, z = (x-m)/e^ls
 *   logistic(x; m, ls) = -|z| - ls - 2 log1p(e^-|z|), z = (x-m)/e^ls
 *                        (= -z - ls - 2 softplus(-z); the density is even in z)
 *   cross_entropy(l, t) = logsumexp(l) - l[t] (max-shifted)
 * Targets of bce / bernoulli are constants (no gradient). The fast backend
 * threads the flat loops above a size threshold; gradients of broadcast
 * operands are summed serially in a fixed order (deterministic).
 * What this is not: reductions, class weights, label smoothing, ignore_index.
 */
#include "core/op_internal.h"
#include "ops/broadcast.h"
#include "kernels/vmath.h"
#include <math.h>

#define HALF_LOG_2PI 0.91893853320467274178f

static inline float sigmoidf_(float x) {
    return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

/* ==== the fused elementwise family (2 or 3 broadcast operands) ==== */

/* Saved for backward: each operand expanded to the output shape (contiguous). */
typedef struct {
    const float *v[3];
    int ndim;
    int64_t shape[GM_MAX_DIMS];
} ew_saved;

/* Forward value of one element. */
static inline float ew_fwd(gm_op op, float a, float b, float c) {
    switch (op) {
    case GM_OP_BCE_LOGITS: /* a = logit, b = target */
        return fmaxf(a, 0.0f) - a * b + log1pf(expf(-fabsf(a)));
    case GM_OP_BERNOULLI_LOGP: /* a = x, b = logit */
        return -(fmaxf(b, 0.0f) - b * a + log1pf(expf(-fabsf(b))));
    case GM_OP_MSE: { float d = a - b; return d * d; }
    case GM_OP_GAUSSIAN_LOGP: { /* a = x, b = mean, c = log_std */
        float z = (a - b) * expf(-c);
        return -0.5f * z * z - c - HALF_LOG_2PI;
    }
    case GM_OP_LOGISTIC_LOGP: { /* a = x, b = loc, c = log_scale */
        float az = fabsf((a - b) * expf(-c));
        return -az - c - 2.0f * log1pf(expf(-az));
    }
    default: return NAN;
    }
}

/* Partial derivatives of one element w.r.t. its operands (d[k] for operand k). */
static inline void ew_bwd(gm_op op, float a, float b, float c, float *d) {
    switch (op) {
    case GM_OP_BCE_LOGITS: d[0] = sigmoidf_(a) - b; d[1] = 0.0f; break;
    case GM_OP_BERNOULLI_LOGP: d[0] = 0.0f; d[1] = a - sigmoidf_(b); break;
    case GM_OP_MSE: d[0] = 2.0f * (a - b); d[1] = -d[0]; break;
    case GM_OP_GAUSSIAN_LOGP: {
        float is = expf(-c), z = (a - b) * is;
        d[0] = -z * is; d[1] = z * is; d[2] = z * z - 1.0f;
        break;
    }
    case GM_OP_LOGISTIC_LOGP: {
        /* d/dz (-z - 2 softplus(-z)) = -tanh(z/2); dz/dx = 1/s, dz/dloc = -1/s, dz/dls = -z */
        float is = expf(-c), z = (a - b) * is, t = -tanhf(0.5f * z);
        d[0] = t * is; d[1] = -t * is; d[2] = -t * z - 1.0f;
        break;
    }
    default: d[0] = d[1] = d[2] = NAN;
    }
}

/* Chunk of the FAST Bernoulli/BCE paths (a stack buffer of σ in the backward). */
#define EW_CHUNK 1024

/* The FAST backend's vectorised path for the two Bernoulli-logit losses. */
static int bern_fast(const gm_ctx *ctx, gm_op op) {
    return gm_get_backend(ctx) == GM_BACKEND_FAST && (op == GM_OP_BCE_LOGITS || op == GM_OP_BERNOULLI_LOGP);
}

static void ew_backward(gm_ctx *ctx, gm_node *n) {
    const ew_saved *s = (const ew_saved *)n->saved;
    gm_op op = n->op;
    int nin = n->n_in;
    const float *gy = n->out->grad;
    int64_t N = n->out->numel;
    float *g[3] = {0};
    float *full[3] = {0}; /* per-element gradient of operand k when it is broadcast */
    int any = 0;
    for (int k = 0; k < nin; k++) {
        g[k] = gm_grad_buf(ctx, n->in[k]);
        if (!g[k]) continue;
        any = 1;
        if (!gm_bcast_is_full(n->in[k], s->ndim, s->shape)) {
            full[k] = gm_arena_alloc(ctx, (size_t)N * sizeof(float));
            if (!full[k]) return;
        }
    }
    if (!any) return;
    const float *a = s->v[0], *b = s->v[1], *c = nin > 2 ? s->v[2] : NULL;
    if (bern_fast(ctx, op)) {
        /* FAST: d/dlogit = σ(l) - t (bce) or t - σ(l) (bernoulli), vectorised σ;
         * the target/data operand gets no gradient */
        int li = op == GM_OP_BCE_LOGITS ? 0 : 1;
        const float *l = s->v[li], *t = s->v[1 - li];
        float *gl = full[li] ? full[li] : g[li];
        if (gl) {
            int acc = !full[li];
            int64_t nch = (N + EW_CHUNK - 1) / EW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, N * 16)) if (N > 32768)
            for (int64_t ch = 0; ch < nch; ch++) {
                int64_t i0 = ch * EW_CHUNK, i1 = i0 + EW_CHUNK < N ? i0 + EW_CHUNK : N;
                float sg[EW_CHUNK];
                gm_vsigmoid(l + i0, sg, i1 - i0);
                float sign = li == 0 ? 1.0f : -1.0f;
                for (int64_t i = i0; i < i1; i++) {
                    float d = sign * (sg[i - i0] - t[i]);
                    if (acc) gl[i] += gy[i] * d;
                    else gl[i] = gy[i] * d;
                }
            }
        }
        if (full[li]) gm_bcast_accum(g[li], n->in[li], s->ndim, s->shape, full[li]);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, N * 16)) if (N > 32768)
    for (int64_t i = 0; i < N; i++) {
        float d[3];
        ew_bwd(op, a[i], b[i], c ? c[i] : 0.0f, d);
        for (int k = 0; k < nin; k++) {
            if (full[k]) full[k][i] = gy[i] * d[k];
            else if (g[k]) g[k][i] += gy[i] * d[k];
        }
    }
    for (int k = 0; k < nin; k++)
        if (full[k]) gm_bcast_accum(g[k], n->in[k], s->ndim, s->shape, full[k]);
}

/* Common body: broadcasts the nin operands, computes, records. */
static gm_tensor *ew_op(gm_ctx *ctx, gm_op op, int nin, gm_tensor *t0, gm_tensor *t1, gm_tensor *t2) {
    if (!gm_op_begin(ctx, op, nin, t0, t1, t2)) return NULL;
    gm_tensor *ts[3] = {t0, t1, t2};
    ew_saved sv;
    if (!gm_bcast_shape(ctx, gm_op_name(op), nin, ts, &sv.ndim, sv.shape)) return NULL;
    for (int k = 0; k < 3; k++) sv.v[k] = NULL;
    for (int k = 0; k < nin; k++)
        if (!(sv.v[k] = gm_bcast_expand(ctx, ts[k], sv.ndim, sv.shape))) return NULL;
    gm_tensor *out = gm_op_out(ctx, sv.ndim, sv.shape);
    if (!out) return NULL;
    const float *a = sv.v[0], *b = sv.v[1], *c = sv.v[2];
    float *y = out->data;
    int64_t N = out->numel;
    if (bern_fast(ctx, op)) {
        /* FAST: vectorised softplus of the logits, then the linear term */
        const float *l = op == GM_OP_BCE_LOGITS ? a : b, *t = op == GM_OP_BCE_LOGITS ? b : a;
        int64_t nch = (N + EW_CHUNK - 1) / EW_CHUNK;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, N * 16)) if (N > 32768)
        for (int64_t ch = 0; ch < nch; ch++) {
            int64_t i0 = ch * EW_CHUNK, i1 = i0 + EW_CHUNK < N ? i0 + EW_CHUNK : N;
            gm_vsoftplus(l + i0, y + i0, i1 - i0);
            if (op == GM_OP_BCE_LOGITS)
                for (int64_t i = i0; i < i1; i++) y[i] = y[i] - l[i] * t[i];
            else
                for (int64_t i = i0; i < i1; i++) y[i] = t[i] * l[i] - y[i];
        }
    } else {
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, N * 16)) if (N > 32768)
        for (int64_t i = 0; i < N; i++) y[i] = ew_fwd(op, a[i], b[i], c ? c[i] : 0.0f);
    }
    gm_node *node = gm_op_record(ctx, op, ew_backward, out, nin, t0, t1, t2);
    if (node) {
        ew_saved *s = gm_arena_alloc(ctx, sizeof *s);
        if (!s) return NULL;
        *s = sv;
        node->saved = s;
    }
    return gm_op_end(ctx, op, out);
}

/* Elementwise binary cross-entropy from logits, stable form
 * max(l,0) - l*t + log1p(exp(-|l|)); target broadcasts with logits and gets no
 * gradient. Returns the broadcast shape, or NULL (GM_ERR_SHAPE). */
gm_tensor *gm_bce_with_logits(gm_ctx *ctx, gm_tensor *logits, gm_tensor *target) {
    return ew_op(ctx, GM_OP_BCE_LOGITS, 2, logits, target, NULL);
}

/* Elementwise (a-b)^2, broadcasting; both differentiable. */
gm_tensor *gm_mse(gm_ctx *ctx, gm_tensor *a, gm_tensor *b) {
    return ew_op(ctx, GM_OP_MSE, 2, a, b, NULL);
}

/* Elementwise log N(x; mean, exp(log_std)^2), all three broadcasting and differentiable. */
gm_tensor *gm_gaussian_log_prob(gm_ctx *ctx, gm_tensor *x, gm_tensor *mean, gm_tensor *log_std) {
    return ew_op(ctx, GM_OP_GAUSSIAN_LOGP, 3, x, mean, log_std);
}

/* Elementwise log Logistic(x; loc, exp(log_scale)), stable for any |z|; all
 * three broadcasting and differentiable. */
gm_tensor *gm_logistic_log_prob(gm_ctx *ctx, gm_tensor *x, gm_tensor *loc, gm_tensor *log_scale) {
    return ew_op(ctx, GM_OP_LOGISTIC_LOGP, 3, x, loc, log_scale);
}

/* Elementwise x*log σ(l) + (1-x)*log σ(-l) = -bce(l, x); x constant, broadcasting. */
gm_tensor *gm_bernoulli_log_prob(gm_ctx *ctx, gm_tensor *x, gm_tensor *logits) {
    return ew_op(ctx, GM_OP_BERNOULLI_LOGP, 2, x, logits, NULL);
}

/* ==== cross-entropy ==== */

typedef struct {
    const float *logits; /* (N, C) contiguous */
    const int64_t *targets; /* (N) arena copy */
    float *lse; /* (N) logsumexp of each row */
} ce_saved;

static void cross_entropy_backward(gm_ctx *ctx, gm_node *n) {
    float *gl = gm_grad_buf(ctx, n->in[0]);
    if (!gl) return;
    const ce_saved *s = (const ce_saved *)n->saved;
    int64_t N = n->i[0], C = n->i[1];
    const float *gy = n->out->grad; // (N)
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, N * C * 8)) if (N * C > 32768)
    for (int64_t r = 0; r < N; r++) {
        const float *lr = s->logits + r * C;
        float *gr = gl + r * C;
        for (int64_t j = 0; j < C; j++) gr[j] += gy[r] * expf(lr[j] - s->lse[r]);
        gr[s->targets[r]] -= gy[r];
    }
}

/* Per-example cross-entropy: logits (N, C), targets (N) ints in [0, C) ->
 * (N) = logsumexp(logits[i]) - logits[i, targets[i]]. Targets are copied (the
 * caller's array need not outlive the call). Errors: logits not 2-d or C == 0
 * (GM_ERR_SHAPE), NULL targets or a target out of range (GM_ERR_ARG, naming the index). */
gm_tensor *gm_cross_entropy(gm_ctx *ctx, gm_tensor *logits, const int64_t *targets) {
    if (!gm_op_begin(ctx, GM_OP_CROSS_ENTROPY, 1, logits)) return NULL;
    char b[64];
    if (logits->ndim != 2 || logits->shape[1] < 1)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "cross_entropy: logits %s must be (N, C) with C >= 1",
                           gm_shape_str(logits, b, sizeof b));
    int64_t N = logits->shape[0], C = logits->shape[1];
    if (!targets && N > 0) return gm_ctx_fail(ctx, GM_ERR_ARG, "cross_entropy: NULL targets");
    for (int64_t r = 0; r < N; r++)
        if (targets[r] < 0 || targets[r] >= C)
            return gm_ctx_fail(ctx, GM_ERR_ARG, "cross_entropy: targets[%lld] = %lld out of range [0, %lld)", (long long)r,
                               (long long)targets[r], (long long)C);
    const float *ld = gm_contig(ctx, logits);
    gm_tensor *out = ld ? gm_op_out(ctx, 1, &N) : NULL;
    float *lse = out ? gm_arena_alloc(ctx, (size_t)N * sizeof(float)) : NULL;
    int64_t *tg = lse ? gm_arena_alloc(ctx, (size_t)N * sizeof(int64_t)) : NULL;
    if (!tg) return NULL;
    for (int64_t r = 0; r < N; r++) tg[r] = targets[r];
    float *y = out->data;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, N * C * 8)) if (N * C > 32768)
    for (int64_t r = 0; r < N; r++) {
        const float *lr = ld + r * C;
        float m = lr[0];
        for (int64_t j = 1; j < C; j++) m = fmaxf(m, lr[j]);
        double s = 0.0;
        for (int64_t j = 0; j < C; j++) s += exp((double)(lr[j] - m));
        float ls = (float)log(s);
        lse[r] = m + ls;
        y[r] = (m - lr[tg[r]]) + ls; /* no cancellation when the target is the max */
    }
    gm_node *node = gm_op_record(ctx, GM_OP_CROSS_ENTROPY, cross_entropy_backward, out, 1, logits);
    if (node) {
        ce_saved *s = gm_arena_alloc(ctx, sizeof *s);
        if (!s) return NULL;
        s->logits = ld; s->targets = tg; s->lse = lse;
        node->saved = s;
        node->i[0] = N; node->i[1] = C;
    }
    return gm_op_end(ctx, GM_OP_CROSS_ENTROPY, out);
}
