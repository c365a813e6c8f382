/*
 * pool.c — 2-d average and max pooling (NCHW, square kernel k, stride, padding),
 * forward and backward.
 *
 * Semantics follow torch's defaults (ceil_mode=False): Ho = (H + 2*pad - k)/stride + 1,
 * pad <= k/2. Average pooling counts padded zeros (count_include_pad=True: every
 * window divides by k*k). Max pooling pads with -inf; the gradient goes to the
 * argmax, the first maximum in row-major scan order on ties (a NaN wins, as in torch).
 * One kernel serves both backends: planes (b, c) are independent, so the FAST
 * backend only runs them on several OpenMP threads; each plane is computed in
 * the same order either way, so results are identical.
 * Not here: ceil_mode, count_include_pad=False, non-square kernels, adaptive pooling.
 */
#include "core/op_internal.h"
#include <math.h>

#define PAR_MIN 32768 /* elementary operations below which pooling stays single-threaded */

typedef struct pool_geom {
    int64_t planes, H, W, Ho, Wo, k, s, p;
    int64_t work; /* planes*Ho*Wo*k*k: threaded (FAST) only above PAR_MIN */
} pool_geom;

/* Validates x (B,C,H,W), k, stride, pad; fills g. Returns 0 (sticky error) if bad. */
static int pool_setup(gm_ctx *ctx, const char *op, const gm_tensor *x, int k, int stride, int pad, pool_geom *g) {
    char sx[64];
    gm_shape_str(x, sx, sizeof sx);
    if (x->ndim != 4) { gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: input %s must be (B,C,H,W)", op, sx); return 0; }
    if (k < 1 || stride < 1) {
        gm_ctx_fail(ctx, GM_ERR_ARG, "%s: kernel %d and stride %d must be positive", op, k, stride);
        return 0;
    }
    if (pad < 0 || pad > k / 2) {
        gm_ctx_fail(ctx, GM_ERR_ARG, "%s: padding %d must be in [0, kernel/2 = %d]", op, pad, k / 2);
        return 0;
    }
    int64_t eh = x->shape[2] + 2 * (int64_t)pad - k, ew = x->shape[3] + 2 * (int64_t)pad - k;
    if (eh < 0 || ew < 0) {
        gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: kernel %d is larger than input %s padded by %d", op, k, sx, pad);
        return 0;
    }
    g->planes = x->shape[0] * x->shape[1];
    g->H = x->shape[2];
    g->W = x->shape[3];
    g->Ho = eh / stride + 1;
    g->Wo = ew / stride + 1;
    g->k = k;
    g->s = stride;
    g->p = pad;
    g->work = g->planes * g->Ho * g->Wo * g->k * g->k;
    return 1;
}

/* ---- average pooling ---- */

static void avg_pool_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const pool_geom *g = n->saved;
    const float *gy = n->out->grad;  // (B, C, Ho, Wo)
    float inv = 1.0f / (float)(g->k * g->k);
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, g->work)) if (g->work > PAR_MIN)
    for (int64_t pl = 0; pl < g->planes; pl++) {
        float *gxp = gx + pl * g->H * g->W;            // (H, W)
        const float *gyp = gy + pl * g->Ho * g->Wo;    // (Ho, Wo)
        for (int64_t oh = 0; oh < g->Ho; oh++)
            for (int64_t ow = 0; ow < g->Wo; ow++) {
                float v = gyp[oh * g->Wo + ow] * inv;
                for (int64_t i = 0; i < g->k; i++) {
                    int64_t ih = oh * g->s - g->p + i;
                    if (ih < 0 || ih >= g->H) continue;
                    for (int64_t j = 0; j < g->k; j++) {
                        int64_t iw = ow * g->s - g->p + j;
                        if (iw >= 0 && iw < g->W) gxp[ih * g->W + iw] += v;
                    }
                }
            }
    }
}

/* Average pooling with count_include_pad=True: x (B,C,H,W) -> (B,C,Ho,Wo),
 * each output the sum of its window's in-bounds values divided by k*k.
 * Requires k, stride >= 1 and 0 <= pad <= k/2 (GM_ERR_ARG), a window that fits
 * the padded input (GM_ERR_SHAPE). Returns NULL on error. */
gm_tensor *gm_avg_pool2d(gm_ctx *ctx, gm_tensor *x, int k, int stride, int pad) {
    if (!gm_op_begin(ctx, GM_OP_AVG_POOL2D, 1, x)) return NULL;
    pool_geom g;
    if (!pool_setup(ctx, "avg_pool2d", x, k, stride, pad, &g)) return NULL;
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    int64_t shape[4] = {x->shape[0], x->shape[1], g.Ho, g.Wo};
    gm_tensor *out = gm_op_out(ctx, 4, shape);
    if (!out) return NULL;
    float *yd = out->data;
    double inv = 1.0 / (double)(g.k * g.k);
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, g.work)) if (g.work > PAR_MIN)
    for (int64_t pl = 0; pl < g.planes; pl++) {
        const float *xp = xd + pl * g.H * g.W;  // (H, W)
        float *yp = yd + pl * g.Ho * g.Wo;      // (Ho, Wo)
        for (int64_t oh = 0; oh < g.Ho; oh++)
            for (int64_t ow = 0; ow < g.Wo; ow++) {
                double acc = 0.0;
                for (int64_t i = 0; i < g.k; i++) {
                    int64_t ih = oh * g.s - g.p + i;
                    if (ih < 0 || ih >= g.H) continue;
                    for (int64_t j = 0; j < g.k; j++) {
                        int64_t iw = ow * g.s - g.p + j;
                        if (iw >= 0 && iw < g.W) acc += xp[ih * g.W + iw];
                    }
                }
                yp[oh * g.Wo + ow] = (float)(acc * inv);
            }
    }
    gm_node *n = gm_op_record(ctx, GM_OP_AVG_POOL2D, avg_pool_backward, out, 1, x);
    if (n) {
        pool_geom *sg = gm_arena_alloc(ctx, sizeof *sg);
        if (!sg) return NULL;
        *sg = g;
        n->saved = sg;
    }
    return gm_op_end(ctx, GM_OP_AVG_POOL2D, out);
}

/* ---- max pooling ---- */

/* Saved for backward: geometry and argmax (flat index in the plane) per output. */
typedef struct max_saved {
    pool_geom g;
    int64_t *arg;  // (B, C, Ho, Wo)
} max_saved;

static void max_pool_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const max_saved *ms = n->saved;
    const pool_geom *g = &ms->g;
    const float *gy = n->out->grad;
    int64_t No = g->Ho * g->Wo;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, g->work)) if (g->work > PAR_MIN)
    for (int64_t pl = 0; pl < g->planes; pl++) {
        float *gxp = gx + pl * g->H * g->W;
        const float *gyp = gy + pl * No;
        const int64_t *ap = ms->arg + pl * No;
        for (int64_t o = 0; o < No; o++) gxp[ap[o]] += gyp[o];
    }
}

/* Max pooling with -inf padding: x (B,C,H,W) -> (B,C,Ho,Wo); the gradient of
 * each output goes to its window's first maximum in row-major order. Same
 * argument rules and errors as gm_avg_pool2d. Returns NULL on error. */
gm_tensor *gm_max_pool2d(gm_ctx *ctx, gm_tensor *x, int k, int stride, int pad) {
    if (!gm_op_begin(ctx, GM_OP_MAX_POOL2D, 1, x)) return NULL;
    pool_geom g;
    if (!pool_setup(ctx, "max_pool2d", x, k, stride, pad, &g)) return NULL;
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    int64_t shape[4] = {x->shape[0], x->shape[1], g.Ho, g.Wo};
    gm_tensor *out = gm_op_out(ctx, 4, shape);
    if (!out) return NULL;
    int want_arg = gm_grad_enabled(ctx) && x->requires_grad;
    int64_t *arg = NULL;
    if (want_arg) {
        arg = gm_arena_alloc(ctx, sizeof(int64_t) * (size_t)(out->numel ? out->numel : 1));
        if (!arg) return NULL;
    }
    float *yd = out->data;
    int64_t No = g.Ho * g.Wo;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, g.work)) if (g.work > PAR_MIN)
    for (int64_t pl = 0; pl < g.planes; pl++) {
        const float *xp = xd + pl * g.H * g.W;  // (H, W)
        for (int64_t oh = 0; oh < g.Ho; oh++)
            for (int64_t ow = 0; ow < g.Wo; ow++) {
                float m = -INFINITY;
                int64_t best = -1;
                for (int64_t i = 0; i < g.k; i++) {
                    int64_t ih = oh * g.s - g.p + i;
                    if (ih < 0 || ih >= g.H) continue;
                    for (int64_t j = 0; j < g.k; j++) {
                        int64_t iw = ow * g.s - g.p + j;
                        if (iw < 0 || iw >= g.W) continue;
                        float v = xp[ih * g.W + iw];
                        if (best < 0 || v > m || (isnan(v) && !isnan(m))) { m = v; best = ih * g.W + iw; }
                    }
                }
                /* pad <= k/2 guarantees at least one in-bounds element per window */
                yd[pl * No + oh * g.Wo + ow] = m;
                if (arg) arg[pl * No + oh * g.Wo + ow] = best;
            }
    }
    gm_node *n = gm_op_record(ctx, GM_OP_MAX_POOL2D, max_pool_backward, out, 1, x);
    if (n) {
        max_saved *ms = gm_arena_alloc(ctx, sizeof *ms);
        if (!ms) return NULL;
        ms->g = g;
        ms->arg = arg;
        n->saved = ms;
    }
    return gm_op_end(ctx, GM_OP_MAX_POOL2D, out);
}
