/*
 * reduce.c — reductions over one axis or all axes: sum, mean, max,
 * logsumexp, and the axis-wise log_softmax and softmax. Forward and backward
 * side by side.
 *
 * Geometry: the (contiguous, copied if strided) input is seen as
 * (outer, n, inner) with n the reduced extent (GM_ALL_AXES: outer = inner = 1,
 * n = numel); each (outer, inner) pair is one independent "lane".
 * Sums accumulate in double, in increasing index order. REF runs the plain
 * loops single-threaded with double-precision exp; FAST uses float expf
 * (one per element for softmax; still summing in double), 8 interleaved
 * partial sums along contiguous lanes, splits lanes (or column chunks of
 * them) among OpenMP threads, and splits a huge single lane into fixed-size
 * blocks combined in order, so results never depend on the thread count.
 * What this is not: multi-axis reductions (chain calls or reshape first).
 */
#include "core/op_internal.h"
#include <math.h>
#include <string.h>

#define SUM_BLOCK 16384 /* fixed block of a long lane summed by one thread (FAST) */

typedef struct {
    int64_t outer, n, inner;
    int ondim;
    int64_t oshape[GM_MAX_DIMS];
} rgeom;

/* Normalises axis (or GM_ALL_AXES) and fills g; false with a sticky error. */
static bool rgeom_make(gm_ctx *ctx, const gm_tensor *x, int axis, int keepdim, const char *opname, rgeom *g) {
    memset(g, 0, sizeof *g);
    if (axis == GM_ALL_AXES) {
        g->outer = g->inner = 1;
        g->n = x->numel;
        g->ondim = keepdim ? x->ndim : 0;
        for (int d = 0; d < GM_MAX_DIMS; d++) g->oshape[d] = 1;
        return true;
    }
    int a = gm_axis(ctx, x, axis, opname);
    if (a < 0) return false;
    g->outer = g->inner = 1;
    for (int d = 0; d < a; d++) g->outer *= x->shape[d];
    for (int d = a + 1; d < x->ndim; d++) g->inner *= x->shape[d];
    g->n = x->shape[a];
    int k = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d != a) g->oshape[k++] = x->shape[d];
        else if (keepdim) g->oshape[k++] = 1;
    }
    g->ondim = k;
    return true;
}

/* ---- sum / mean ---- */

/* Σ_k x[k*inner] in double, increasing k. */
static double lane_sum(const float *x, int64_t n, int64_t inner) {
    double s = 0.0;
    for (int64_t k = 0; k < n; k++) s += x[k * inner];
    return s;
}

/* Σ x[0..n) in double with 8 interleaved partial sums (vectorisable, fixed order). */
static double lane_sum8(const float *x, int64_t n) {
    double acc[8] = {0};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[k + j];
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < n; k++) s += x[k];
    return s;
}

static void sum_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    int64_t outer = n->i[0], len = n->i[1], inner = n->i[2];
    float scale = n->f[0];
    const float *gy = n->out->grad; /* (outer, inner) */
    int nt = gm_op_threads(ctx, outer * len * inner);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    if (outer == 1) { /* e.g. all axes: split the reduced axis (rows of inner) */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < inner; i++) gx[k * inner + i] += scale * gy[i];
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < len; k++) {
            float *g = gx + (o * len + k) * inner;
            const float *s = gy + o * inner;
            for (int64_t i = 0; i < inner; i++) g[i] += scale * s[i];
        }
}

static gm_tensor *sum_impl(gm_ctx *ctx, gm_op op, gm_tensor *x, int axis, int keepdim) {
    if (!gm_op_begin(ctx, op, 1, x)) return NULL;
    rgeom g;
    if (!rgeom_make(ctx, x, axis, keepdim, gm_op_name(op), &g)) return NULL;
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    gm_tensor *out = gm_op_out(ctx, g.ondim, g.oshape);
    if (!out) return NULL;
    float *y = out->data; /* (outer, inner) */
    double div = op == GM_OP_MEAN ? (double)g.n : 1.0;
    int64_t lanes = g.outer * g.inner;
    int nt = gm_op_threads(ctx, x->numel);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    int fast = gm_get_backend(ctx) == GM_BACKEND_FAST;
    if (fast && lanes == 1 && g.n > 2 * SUM_BLOCK) { /* one long lane: fixed blocks, combined in order */
        int64_t nb = (g.n + SUM_BLOCK - 1) / SUM_BLOCK;
        double *part = gm_arena_alloc(ctx, (size_t)nb * sizeof(double));
        if (!part) return NULL;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t b = 0; b < nb; b++) {
            int64_t k0 = b * SUM_BLOCK, k1 = k0 + SUM_BLOCK < g.n ? k0 + SUM_BLOCK : g.n;
            part[b] = lane_sum8(xd + k0, k1 - k0);
        }
        double s = 0.0;
        for (int64_t b = 0; b < nb; b++) s += part[b];
        y[0] = (float)(s / div);
    } else if (g.inner == 1) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && g.outer > 1)
        for (int64_t o = 0; o < g.outer; o++)
            y[o] = (float)((fast ? lane_sum8(xd + o * g.n, g.n) : lane_sum(xd + o * g.n, g.n, 1)) / div);
    } else { /* reduce a middle/leading axis: accumulate rows of inner (contiguous reads);
              * tasks = (outer index, column chunk); each lane still sums k = 0..n-1 in order */
        double *acc = gm_arena_alloc(ctx, (size_t)lanes * sizeof(double));
        if (!acc) return NULL;
        int64_t inner = g.inner, len = g.n;
        int64_t CH = g.outer >= nt ? inner : ((inner + nt - 1) / nt + 15) / 16 * 16;
        int64_t nch = (inner + CH - 1) / CH;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t t = 0; t < g.outer * nch; t++) {
            int64_t o = t / nch, i0 = (t % nch) * CH, i1 = i0 + CH < inner ? i0 + CH : inner;
            double *a = acc + o * inner;
            for (int64_t i = i0; i < i1; i++) a[i] = 0.0;
            for (int64_t k = 0; k < len; k++) {
                const float *r = xd + (o * len + k) * inner;
                for (int64_t i = i0; i < i1; i++) a[i] += r[i];
            }
            for (int64_t i = i0; i < i1; i++) y[o * inner + i] = (float)(a[i] / div);
        }
    }
    gm_node *node = gm_op_record(ctx, op, sum_backward, out, 1, x);
    if (node) {
        node->i[0] = g.outer; node->i[1] = g.n; node->i[2] = g.inner;
        node->f[0] = (float)(1.0 / div);
    }
    return gm_op_end(ctx, op, out);
}

/* Sum over `axis` (negative counts from the end) or GM_ALL_AXES. keepdim keeps
 * the reduced axis as size 1 (all axes: shape of ones, same ndim; else 0-d).
 * Returns NULL on a bad axis (GM_ERR_ARG). */
gm_tensor *gm_sum(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim) { return sum_impl(ctx, GM_OP_SUM, x, axis, keepdim); }
/* Mean over `axis` or GM_ALL_AXES (sum / count; an empty axis gives NaN, as torch). */
gm_tensor *gm_mean(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim) { return sum_impl(ctx, GM_OP_MEAN, x, axis, keepdim); }

/* ---- max ---- */

static void max_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    int64_t outer = n->i[0], len = n->i[1], inner = n->i[2];
    const int64_t *arg = n->saved; /* (outer, inner) index along the axis */
    const float *gy = n->out->grad;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) gx[(o * len + arg[o * inner + i]) * inner + i] += gy[o * inner + i];
}

/* Max over `axis` or GM_ALL_AXES; the gradient goes to the first argmax; a
 * NaN in a lane makes the result NaN. NULL on a bad or empty axis. */
gm_tensor *gm_max(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim) {
    if (!gm_op_begin(ctx, GM_OP_MAX, 1, x)) return NULL;
    rgeom g;
    if (!rgeom_make(ctx, x, axis, keepdim, "max", &g)) return NULL;
    if (g.n == 0) {
        char b[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "max: cannot reduce an empty axis of shape %s", gm_shape_str(x, b, sizeof b));
    }
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    gm_tensor *out = gm_op_out(ctx, g.ondim, g.oshape);
    int64_t lanes = g.outer * g.inner;
    int64_t *arg = gm_arena_alloc(ctx, (size_t)(lanes ? lanes : 1) * sizeof(int64_t));
    if (!out || !arg) return NULL;
    int nt = gm_op_threads(ctx, x->numel);
    (void)nt; /* read only by OpenMP pragmas in some builds */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t l = 0; l < lanes; l++) {
        int64_t o = l / g.inner, i = l % g.inner;
        const float *p = xd + o * g.n * g.inner + i;
        int64_t best = 0;
        for (int64_t k = 0; k < g.n; k++) {
            float v = p[k * g.inner];
            if (isnan(v)) { best = k; break; }
            if (v > p[best * g.inner]) best = k;
        }
        arg[l] = best;
        out->data[l] = p[best * g.inner];
    }
    gm_node *node = gm_op_record(ctx, GM_OP_MAX, max_backward, out, 1, x);
    if (node) { node->i[0] = g.outer; node->i[1] = g.n; node->i[2] = g.inner; node->saved = arg; }
    return gm_op_end(ctx, GM_OP_MAX, out);
}

/* ---- logsumexp, log_softmax, softmax ---- */

/* max_k p[k*inner] (-inf for an empty lane; NaNs are skipped: they reach
 * the result through the exp sum). Branch-free, so it vectorises. */
static float lane_max(const float *p, int64_t n, int64_t inner) {
    float m = -INFINITY;
    for (int64_t k = 0; k < n; k++) {
        float v = p[k * inner];
        m = v > m ? v : m;
    }
    return m;
}

/* log Σ_k exp(p[k*inner]) with max subtraction. `fast`: float expf. */
static float lane_lse(const float *p, int64_t n, int64_t inner, int fast) {
    float m = lane_max(p, n, inner);
    if (m == -INFINITY) { /* empty or all -inf -> -inf, unless a NaN hides there */
        for (int64_t k = 0; k < n; k++)
            if (isnan(p[k * inner])) return NAN;
        return m;
    }
    if (m == INFINITY) return m;
    double s = 0.0;
    if (fast)
        for (int64_t k = 0; k < n; k++) s += expf(p[k * inner] - m);
    else
        for (int64_t k = 0; k < n; k++) s += exp((double)p[k * inner] - (double)m);
    return (float)((double)m + log(s));
}

/* Forward kinds sharing the lane loop. */
enum { LSE_OUT = 0, LOG_SOFTMAX_OUT = 1, SOFTMAX_OUT = 2 };

static void lse_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    int64_t outer = n->i[0], len = n->i[1], inner = n->i[2], lanes = outer * inner;
    int kind = (int)n->i[3];
    const float *xd = n->cptr; /* x's elements, contiguous */
    const float *y = n->out->data, *gy = n->out->grad;
    int fast = gm_get_backend(ctx) == GM_BACKEND_FAST;
    int nt = gm_op_threads(ctx, outer * len * inner * 4);
    (void)nt; /* read only by OpenMP pragmas in some builds */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t l = 0; l < lanes; l++) {
        int64_t base = (l / inner) * len * inner + l % inner;
        float *g = gx + base;
        if (kind == LSE_OUT) { /* d lse / dx_k = exp(x_k - lse) */
            const float *p = xd + base;
            float lse = y[l], gyl = gy[l];
            for (int64_t k = 0; k < len; k++)
                g[k * inner] += gyl * (fast ? expf(p[k * inner] - lse) : (float)exp((double)p[k * inner] - lse));
            continue;
        }
        const float *yl = y + base, *gl = gy + base;
        double s = 0.0;
        if (kind == LOG_SOFTMAX_OUT) { /* gx = gy - softmax * Σ gy */
            for (int64_t k = 0; k < len; k++) s += gl[k * inner];
            for (int64_t k = 0; k < len; k++) {
                float sm = fast ? expf(yl[k * inner]) : (float)exp((double)yl[k * inner]);
                g[k * inner] += gl[k * inner] - (float)(sm * s);
            }
        } else { /* gx = y * (gy - Σ gy y) */
            for (int64_t k = 0; k < len; k++) s += (double)gl[k * inner] * yl[k * inner];
            for (int64_t k = 0; k < len; k++) g[k * inner] += yl[k * inner] * (float)(gl[k * inner] - s);
        }
    }
}

static gm_tensor *lse_impl(gm_ctx *ctx, gm_op op, int kind, gm_tensor *x, int axis, int keepdim) {
    if (!gm_op_begin(ctx, op, 1, x)) return NULL;
    rgeom g;
    if (!rgeom_make(ctx, x, axis, keepdim, gm_op_name(op), &g)) return NULL;
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    gm_tensor *out = kind == LSE_OUT ? gm_op_out(ctx, g.ondim, g.oshape) : gm_op_out(ctx, x->ndim, x->shape);
    if (!out) return NULL;
    int fast = gm_get_backend(ctx) == GM_BACKEND_FAST;
    int64_t lanes = g.outer * g.inner, inner = g.inner, len = g.n;
    int nt = gm_op_threads(ctx, x->numel * 4);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    float *y = out->data;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t l = 0; l < lanes; l++) {
        int64_t base = (l / inner) * len * inner + l % inner;
        const float *p = xd + base;
        if (kind == SOFTMAX_OUT && fast) { /* one expf per element: exp(x - max) / Σ */
            float *q = y + base;
            float m = lane_max(p, len, inner);
            if (isfinite(m)) {
                double s = 0.0;
                for (int64_t k = 0; k < len; k++) {
                    float e = expf(p[k * inner] - m);
                    q[k * inner] = e;
                    s += e;
                }
                float inv = (float)(1.0 / s);
                for (int64_t k = 0; k < len; k++) q[k * inner] *= inv;
                continue;
            }
        }
        float lse = lane_lse(p, len, inner, fast);
        if (kind == LSE_OUT) { y[l] = lse; continue; }
        float *q = y + base;
        for (int64_t k = 0; k < len; k++) {
            float d = p[k * inner] - lse;
            q[k * inner] = kind == LOG_SOFTMAX_OUT ? d : (fast ? expf(d) : (float)exp((double)p[k * inner] - lse));
        }
    }
    gm_node *node = gm_op_record(ctx, op, lse_backward, out, 1, x);
    if (node) {
        node->i[0] = g.outer; node->i[1] = g.n; node->i[2] = g.inner; node->i[3] = kind;
        node->cptr = xd; /* x contiguous (its data or an arena copy): logsumexp backward reads x */
    }
    return gm_op_end(ctx, op, out);
}

/* log Σ exp(x) over `axis` or GM_ALL_AXES, computed with the max subtracted
 * (an all -inf lane gives -inf). Gradient: softmax along the axis. */
gm_tensor *gm_logsumexp(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim) {
    return lse_impl(ctx, GM_OP_LOGSUMEXP, LSE_OUT, x, axis, keepdim);
}
/* x - logsumexp(x) along `axis` (or GM_ALL_AXES); output has x's shape. */
gm_tensor *gm_log_softmax(gm_ctx *ctx, gm_tensor *x, int axis) {
    return lse_impl(ctx, GM_OP_LOG_SOFTMAX, LOG_SOFTMAX_OUT, x, axis, 1);
}
/* exp(x - logsumexp(x)) along `axis` (or GM_ALL_AXES); output has x's shape. */
gm_tensor *gm_softmax(gm_ctx *ctx, gm_tensor *x, int axis) {
    return lse_impl(ctx, GM_OP_SOFTMAX, SOFTMAX_OUT, x, axis, 1);
}
