/*
 * flow_ops.c — the ops normalizing flows need beyond the general ones:
 * squeeze2d / unsqueeze2d (space-to-depth by 2 and back, for multi-scale
 * flows) and slogdet (log|det W| with gradient W^{-T}, for invertible 1x1
 * convolutions). Forward and backward side by side.
 *
 * squeeze2d is Glow's layout: x.view(B,C,H/2,2,W/2,2).permute(0,1,3,5,2,4)
 * .reshape(B,4C,H/2,W/2). It is a pure permutation of elements, so its
 * backward is the inverse permutation (unsqueeze2d) of the output gradient,
 * and each output element is written by exactly one thread.
 * slogdet factorises in double (partial pivoting), which is exact enough for
 * the C <= a few hundred channels a 1x1 convolution has; it is the same on
 * REF and FAST.
 * What this is not: the flow layers themselves (src/flows/).
 */
#include "core/op_internal.h"
#include "kernels/linalg.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- squeeze2d / unsqueeze2d ---- */

/* Moves elements between the (B,C,H,W) "big" layout and the (B,4C,H/2,W/2)
 * "small" one: to_small = 1 is squeeze, 0 unsqueeze. acc: += instead of =. */
static void squeeze_copy(const float *src, float *dst, int64_t B, int64_t C, int64_t H, int64_t W, int to_small,
                         int acc, int nt) {
    int64_t h2 = H / 2, w2 = W / 2, planes = B * C;
    (void)nt; /* read only by OpenMP pragmas in some builds */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t p = 0; p < planes; p++) {
        const int64_t big0 = p * H * W, small0 = p * 4 * h2 * w2; /* plane p of big = 4 planes of small */
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                int64_t sub = (y & 1) * 2 + (x & 1);
                int64_t bi = big0 + y * W + x, si = small0 + sub * h2 * w2 + (y >> 1) * w2 + (x >> 1);
                int64_t from = to_small ? bi : si, to = to_small ? si : bi;
                if (acc) dst[to] += src[from];
                else dst[to] = src[from];
            }
    }
}

static void squeeze_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const gm_tensor *x = n->in[0];
    int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int nt = gm_op_threads(ctx, x->numel);
    if (n->op == GM_OP_SQUEEZE2D) squeeze_copy(n->out->grad, gx, B, C, H, W, 0, 1, nt);
    else squeeze_copy(n->out->grad, gx, B, n->out->shape[1], n->out->shape[2], n->out->shape[3], 1, 1, nt);
}

static gm_tensor *squeeze_op(gm_ctx *ctx, gm_tensor *x, gm_op op) {
    const char *nm = gm_op_name(op);
    if (!gm_op_begin(ctx, op, 1, x)) return NULL;
    char s[64];
    if (x->ndim != 4)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: expected (B, C, H, W), got %s", nm, gm_shape_str(x, s, sizeof s));
    int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t shape[4];
    if (op == GM_OP_SQUEEZE2D) {
        if (H % 2 || W % 2)
            return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: height and width must be even to squeeze, got %s", nm,
                               gm_shape_str(x, s, sizeof s));
        shape[0] = B, shape[1] = 4 * C, shape[2] = H / 2, shape[3] = W / 2;
    } else {
        if (C % 4)
            return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: channels must be a multiple of 4, got %s", nm,
                               gm_shape_str(x, s, sizeof s));
        shape[0] = B, shape[1] = C / 4, shape[2] = 2 * H, shape[3] = 2 * W;
    }
    gm_tensor *out = gm_op_out(ctx, 4, shape);
    if (!out) return NULL;
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    int nt = gm_op_threads(ctx, x->numel);
    if (op == GM_OP_SQUEEZE2D) squeeze_copy(xd, out->data, B, C, H, W, 1, 0, nt);
    else squeeze_copy(xd, out->data, B, shape[1], shape[2], shape[3], 0, 0, nt);
    gm_op_record(ctx, op, squeeze_backward, out, 1, x);
    return gm_op_end(ctx, op, out);
}

gm_tensor *gm_squeeze2d(gm_ctx *ctx, gm_tensor *x) { return squeeze_op(ctx, x, GM_OP_SQUEEZE2D); }
gm_tensor *gm_unsqueeze2d(gm_ctx *ctx, gm_tensor *x) { return squeeze_op(ctx, x, GM_OP_UNSQUEEZE2D); }

/* ---- slogdet ---- */

#define SLOGDET_MAX 512

/* node: saved = W^{-T} as float (n,n), computed in the forward. */
static void slogdet_backward(gm_ctx *ctx, gm_node *n) {
    float *gw = gm_grad_buf(ctx, n->in[0]);
    if (!gw) return;
    const float *wit = n->saved;
    float g = n->out->grad[0];
    for (int64_t k = 0; k < n->in[0]->numel; k++) gw[k] += g * wit[k];
}

gm_tensor *gm_slogdet(gm_ctx *ctx, gm_tensor *w) {
    if (!gm_op_begin(ctx, GM_OP_SLOGDET, 1, w)) return NULL;
    char s[64];
    if (w->ndim != 2 || w->shape[0] != w->shape[1] || w->shape[0] < 1 || w->shape[0] > SLOGDET_MAX)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "slogdet: expected a square (n, n) matrix with 1 <= n <= %d, got %s",
                           SLOGDET_MAX, gm_shape_str(w, s, sizeof s));
    int n = (int)w->shape[0];
    const float *wd = gm_contig(ctx, w);
    double *a = gm_arena_alloc(ctx, (size_t)(2 * n * n + n) * sizeof(double)); // (n,n) LU, (n,n) inverse, (n) column
    int *piv = gm_arena_alloc(ctx, (size_t)n * sizeof(int));                    // (n)
    gm_tensor *out = gm_op_out(ctx, 0, NULL);
    if (!wd || !a || !piv || !out) return NULL;
    for (int i = 0; i < n * n; i++) {
        if (!isfinite(wd[i]))
            return gm_ctx_fail(ctx, GM_ERR_NONFINITE, "slogdet: entry (%d, %d) of the matrix is %g", i / n, i % n, (double)wd[i]);
        a[i] = wd[i];
    }
    double ld = gm_lu_factor(a, n, piv);
    if (!isfinite(ld))
        return gm_ctx_fail(ctx, GM_ERR_NONFINITE, "slogdet: the %dx%d matrix is %s (log|det| = %g)", n, n,
                           ld != ld ? "not finite" : "singular", ld);
    out->data[0] = (float)ld;
    gm_node *node = gm_op_record(ctx, GM_OP_SLOGDET, slogdet_backward, out, 1, w);
    if (node) {
        float *wit = gm_arena_alloc(ctx, (size_t)n * n * sizeof(float)); // (n,n) W^{-T}
        if (!wit) return NULL;
        double *inv = a + n * n, *col = inv + n * n;
        gm_lu_inverse(a, piv, n, inv, col);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) wit[i * n + j] = (float)inv[j * n + i];
        node->saved = wit;
    }
    return gm_op_end(ctx, GM_OP_SLOGDET, out);
}
