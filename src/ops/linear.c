/*
 * linear.c — matmul, linear and masked linear. All three GEMMs of a layer
 * (forward, dX, dW) go through gm_sgemm (BLAS on the fast backend), using
 * transpose flags instead of materialised transposes; bias add is fused into
 * one pass over the output rows. A masked layer whose mask rows end early
 * (a MADE staircase) takes the block path of linear_blocks.c.
 */
#include "core/op_internal.h"
#include "linear_internal.h"
#include "kernels/gemm.h"
#include <string.h>

/* A 2-d operand as GEMM sees it: pointer, leading dimension, transposed? */
typedef struct { const float *p; int64_t ld; int trans; } gemm_operand;

/* Describes matrix `t` (last two dims, rows r cols c) starting at data `base`.
 * Returns 0 if its strides are not GEMM-compatible (caller copies). */
static int as_operand(const gm_tensor *t, gemm_operand *o) {
    int d0 = t->ndim - 2, d1 = t->ndim - 1;
    int64_t r = t->shape[d0], c = t->shape[d1];
    o->p = t->data;
    if (t->stride[d1] == 1 && t->stride[d0] >= c) { o->ld = t->stride[d0] > 0 ? t->stride[d0] : 1; o->trans = 0; return 1; }
    if (t->stride[d0] == 1 && t->stride[d1] >= r && r > 1) { o->ld = t->stride[d1]; o->trans = 1; return 1; }
    return 0;
}

static void matmul_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *a = n->in[0], *b = n->in[1], *c = n->out;
    int64_t batch = n->i[0], M = n->i[1], K = n->i[2], N = n->i[3];
    /* contiguous copies (if the forward made them) replace the strided inputs */
    const float *ad = n->saved ? (const float *)n->saved : a->data;
    const float *bd = n->cptr ? (const float *)n->cptr : b->data;
    int64_t sa = n->saved ? M * K : (a->ndim == 3 ? a->stride[0] : 0);
    int64_t sb = n->cptr ? K * N : (b->ndim == 3 ? b->stride[0] : 0);
    int ta = (int)n->i[4], tb = (int)n->i[5];
    int64_t lda = n->i[6], ldb = n->i[7];
    float *ga = gm_grad_buf(ctx, a), *gb = gm_grad_buf(ctx, b);
    gm_backend be = gm_get_backend(ctx);
    for (int64_t s = 0; s < batch; s++) {
        const float *gc = c->grad + s * M * N;
        const float *as = ad + s * sa, *bs = bd + s * sb;
        /* dA (M,K) += dC (M,N) @ B^T */
        if (ga) gm_sgemm(be, 0, !tb, M, K, N, 1.0f, gc, N, bs, ldb, 1.0f, ga + s * M * K, K);
        /* dB (K,N) += A^T @ dC */
        if (gb) gm_sgemm(be, !ta, 0, K, N, M, 1.0f, as, lda, gc, N, 1.0f, gb + s * K * N, N);
    }
}

gm_tensor *gm_matmul(gm_ctx *ctx, gm_tensor *a, gm_tensor *b) {
    if (!gm_op_begin(ctx, GM_OP_MATMUL, 2, a, b)) return NULL;
    char sa[64], sb[64];
    if (!((a->ndim == 2 && b->ndim == 2) || (a->ndim == 3 && b->ndim == 3 && a->shape[0] == b->shape[0])) ||
        a->shape[a->ndim - 1] != b->shape[b->ndim - 2])
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "matmul: shapes %s and %s do not fit (M,K)@(K,N) or (B,M,K)@(B,K,N)",
                           gm_shape_str(a, sa, sizeof sa), gm_shape_str(b, sb, sizeof sb));
    int64_t batch = a->ndim == 3 ? a->shape[0] : 1;
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1], N = b->shape[b->ndim - 1];
    gemm_operand oa, ob;
    float *acopy = NULL, *bcopy = NULL;
    if (!as_operand(a, &oa)) {
        acopy = gm_arena_alloc(ctx, (size_t)a->numel * sizeof(float));
        if (!acopy) return NULL;
        gm_copy_to(a, acopy);
        oa.p = acopy; oa.ld = K; oa.trans = 0;
    }
    if (!as_operand(b, &ob)) {
        bcopy = gm_arena_alloc(ctx, (size_t)b->numel * sizeof(float));
        if (!bcopy) return NULL;
        gm_copy_to(b, bcopy);
        ob.p = bcopy; ob.ld = N; ob.trans = 0;
    }
    int64_t shape[3] = {batch, M, N};
    gm_tensor *out = a->ndim == 3 ? gm_op_out(ctx, 3, shape) : gm_op_out(ctx, 2, shape + 1);
    if (!out) return NULL;
    for (int64_t s = 0; s < batch; s++) {
        const float *as = acopy ? acopy + s * M * K : oa.p + s * (a->ndim == 3 ? a->stride[0] : 0);
        const float *bs = bcopy ? bcopy + s * K * N : ob.p + s * (b->ndim == 3 ? b->stride[0] : 0);
        gm_sgemm(gm_get_backend(ctx), oa.trans, ob.trans, M, N, K, 1.0f, as, oa.ld, bs, ob.ld, 0.0f, out->data + s * M * N, N);
    }
    gm_node *node = gm_op_record(ctx, GM_OP_MATMUL, matmul_backward, out, 2, a, b);
    if (node) {
        node->i[0] = batch; node->i[1] = M; node->i[2] = K; node->i[3] = N;
        node->i[4] = oa.trans; node->i[5] = ob.trans; node->i[6] = oa.ld; node->i[7] = ob.ld;
        node->saved = acopy; node->cptr = bcopy;
    }
    return gm_op_end(ctx, GM_OP_MATMUL, out);
}

/* ---- linear / masked linear ---- */

static void linear_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2], *y = n->out;
    int64_t rows = n->i[0], in = n->i[1], outf = n->i[2];
    /* saved blob: [masked weight (out*in) if masked, not a sorted staircase][copy of x (rows*in) if x was
     * strided][row_len (out), ones_len (out) if masked] */
    const float *mask = (const float *)n->cptr, *blob = (const float *)n->saved;
    int64_t wsz = n->i[4];
    int masked = n->op == GM_OP_LINEAR_MASKED; /* mask NULL there: the staircase that row_len describes */
    int blocks = (int)n->i[5];                 /* 0 dense, 1 blocks over wd, 2 sorted staircase read from w */
    const float *wd = masked && blocks != 2 ? blob : w->data;
    const float *xd = n->i[3] ? blob + wsz : x->data;
    const int32_t *row_len = masked ? (const int32_t *)(blob + wsz + (n->i[3] ? rows * in : 0)) : NULL;
    const int32_t *ones_len = row_len ? row_len + outf : NULL;
    gm_backend be = gm_get_backend(ctx);
    int nt = gm_op_threads(ctx, rows * in * outf);
    const float *gy = y->grad;
    float *gx = gm_grad_buf(ctx, x);
    if (gx && blocks == 2) {
        gm_arena_mark mark = gm_arena_get_mark(ctx);
        float *scratch = gm_arena_alloc(ctx, (size_t)(outf * in) * sizeof(float));
        if (!scratch) return;
        gm_mlin_dx_stair(be, nt, rows, in, outf, gy, wd, row_len, scratch, gx);
        gm_arena_release(ctx, mark);
    } else if (gx) {
        if (blocks) gm_mlin_dx_blocks(be, nt, rows, in, outf, gy, wd, row_len, gx);
        else gm_sgemm(be, 0, 0, rows, in, outf, 1.0f, gy, outf, wd, in, 1.0f, gx, in);   /* dX += dY @ W */
    }
    float *gw = gm_grad_buf(ctx, w);
    if (gw) {
        if (!masked) {
            gm_sgemm(be, 1, 0, outf, in, rows, 1.0f, gy, outf, xd, in, 1.0f, gw, in);     /* dW += dY^T @ X */
        } else {
            gm_arena_mark mark = gm_arena_get_mark(ctx);
            float *tmp = gm_arena_alloc(ctx, (size_t)(outf * in) * sizeof(float));
            if (!tmp) return;
            if (blocks) {
                gm_mlin_dw_blocks(be, nt, rows, in, outf, gy, xd, mask, row_len, ones_len, tmp, gw);
            } else {
                gm_sgemm(be, 1, 0, outf, in, rows, 1.0f, gy, outf, xd, in, 0.0f, tmp, in);
                int64_t NW = outf * in;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(NW)) if (NW > 32768)
                for (int64_t k = 0; k < NW; k++) gw[k] += tmp[k] * mask[k];
            }
            gm_arena_release(ctx, mark);
        }
    }
    float *gb = gm_grad_buf(ctx, bias);
    if (gb) { /* column chunks over the threads, rows in order within each: the same sums at any thread count */
        int64_t nch = (outf + 63) / 64;
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, rows * outf))
        for (int64_t ch = 0; ch < nch; ch++) {
            int64_t j0 = ch * 64, j1 = j0 + 64 < outf ? j0 + 64 : outf;
            for (int64_t r = 0; r < rows; r++) { /* restrict: gradient rows and gb never overlap, so j vectorises */
                const float *restrict g = gy + r * outf;
                float *restrict b = gb;
                for (int64_t j = j0; j < j1; j++) b[j] += g[j];
            }
        }
    }
}

static gm_tensor *linear_impl(gm_ctx *ctx, gm_op op, gm_tensor *x, gm_tensor *w, const float *mask,
                              const int32_t *known_len, gm_tensor *bias) {
    if (!gm_op_begin(ctx, op, 2, x, w)) return NULL;
    char sx[64], sw[64];
    if (w->ndim != 2 || x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: input %s does not fit weight %s (out, in)", gm_op_name(op),
                           gm_shape_str(x, sx, sizeof sx), gm_shape_str(w, sw, sizeof sw));
    int64_t in = w->shape[1], outf = w->shape[0], rows = x->numel / (in ? in : 1);
    if (bias && (bias->numel != outf || !gm_is_contiguous(bias)))
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: bias has %lld elements, expected %lld", gm_op_name(op),
                           (long long)bias->numel, (long long)outf);
    if (!gm_is_contiguous(w)) return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: weight must be contiguous", gm_op_name(op));
    int masked = op == GM_OP_LINEAR_MASKED;
    if (masked && !mask && !known_len) return gm_ctx_fail(ctx, GM_ERR_ARG, "linear_masked: NULL mask");
    for (int64_t o = 0; known_len && o < outf; o++)
        if (known_len[o] < 0 || known_len[o] > in)
            return gm_ctx_fail(ctx, GM_ERR_ARG, "linear_masked: row_len[%lld] = %d is not in 0..%lld", (long long)o,
                               (int)known_len[o], (long long)in);
    /* saved layout: [masked weight (out*in) unless a sorted staircase] [x copy (rows*in) if x strided]
     * [row_len, ones_len (out int32 each) if masked] */
    const float *xd = x->data;
    int x_copied = !gm_is_contiguous(x);
    float *saved = NULL;
    int stair = masked && !mask && gm_mlin_sorted(known_len, outf); /* read straight from w, no masked copy */
    size_t wsz = masked && !stair ? (size_t)(outf * in) : 0, xsz = x_copied ? (size_t)x->numel : 0;
    if (wsz || x_copied || masked) {
        saved = gm_arena_alloc(ctx, (wsz + xsz + (masked ? 2 * (size_t)outf : 0)) * sizeof(float));
        if (!saved) return NULL;
    }
    if (x_copied) { gm_copy_to(x, saved + wsz); xd = saved + wsz; }
    const float *wd = w->data;
    int32_t *row_len = NULL;
    int blocks = 0;
    int nt = gm_op_threads(ctx, rows * in * outf);
    if (masked) { /* masked weight, and the block path where the mask's row prefixes save a fifth or more
                   * (always for a staircase given by row_len alone: the dense path needs a mask) */
        row_len = (int32_t *)(saved + wsz + xsz);
        if (known_len) memcpy(row_len, known_len, (size_t)outf * sizeof *row_len);
        if (stair) {
            memcpy(row_len + outf, row_len, (size_t)outf * sizeof *row_len); /* ones up to row_len */
            blocks = 2;
        } else {
            double frac = gm_mlin_prefix(gm_op_threads(ctx, outf * in), outf, in, w->data, mask, saved, row_len,
                                         row_len + outf, known_len != NULL);
            blocks = !mask || frac < 0.8;
            wd = saved;
        }
    }
    int64_t shape[GM_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
    shape[x->ndim - 1] = outf;
    gm_tensor *y = gm_op_out(ctx, x->ndim, shape);
    if (!y) return NULL;
    if (blocks == 2) {
        gm_arena_mark mark = gm_arena_get_mark(ctx);
        float *scratch = gm_arena_alloc(ctx, (size_t)(outf * in) * sizeof(float));
        if (!scratch) return NULL;
        gm_mlin_forward_stair(gm_get_backend(ctx), nt, rows, in, outf, xd, wd, row_len, scratch, y->data);
        gm_arena_release(ctx, mark);
    } else if (blocks) gm_mlin_forward_blocks(gm_get_backend(ctx), nt, rows, in, outf, xd, wd, row_len, y->data);
    else gm_sgemm(gm_get_backend(ctx), 0, 1, rows, outf, in, 1.0f, xd, in, wd, in, 0.0f, y->data, outf);
    if (bias) {
#pragma omp parallel for schedule(static) num_threads(gm_op_threads(ctx, rows * outf))
        for (int64_t r = 0; r < rows; r++) { /* restrict: y is a fresh output, so the j loop vectorises */
            const float *restrict bd = bias->data;
            float *restrict yr = y->data + r * outf;
            for (int64_t j = 0; j < outf; j++) yr[j] += bd[j];
        }
    }
    gm_node *node = gm_op_record(ctx, op, linear_backward, y, 3, x, w, bias);
    if (node) {
        node->i[0] = rows; node->i[1] = in; node->i[2] = outf; node->i[3] = x_copied; node->i[4] = (int64_t)wsz;
        node->i[5] = blocks;
        node->cptr = mask;
        node->saved = saved;
    }
    return gm_op_end(ctx, op, y);
}

gm_tensor *gm_linear(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias) {
    return linear_impl(ctx, GM_OP_LINEAR, x, w, NULL, NULL, bias);
}

gm_tensor *gm_linear_masked(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, const float *mask, gm_tensor *bias) {
    return linear_impl(ctx, GM_OP_LINEAR_MASKED, x, w, mask, NULL, bias);
}

gm_tensor *gm_linear_masked_rows(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, const float *mask,
                                 const int32_t *row_len, gm_tensor *bias) {
    return linear_impl(ctx, GM_OP_LINEAR_MASKED, x, w, mask, row_len, bias);
}
