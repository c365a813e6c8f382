/*
 * shape.c — shape and indexing ops: reshape, transpose, permute, slice,
 * concat, contiguous, index_select, gather, embedding. Forward and backward
 * side by side.
 *
 * Views. transpose, permute, slice, and reshape of a contiguous tensor return
 * a view: a new header sharing x's data with other strides / offset. Its
 * gradient is its own contiguous buffer (gm_grad_buf); the view's backward
 * adds it into x's contiguous gradient at the positions the view maps to
 * (a scatter through "gradient strides"). Views are injective, so that
 * scatter may run in parallel without ordering issues.
 * Index ops (index_select, gather, embedding) may repeat indices: their
 * backward is parallel only over slices that touch disjoint gradient
 * elements and sums duplicates in index order, so it is deterministic.
 * What this is not: a general strided-copy engine (gm_copy_to does that).
 */
#include "core/op_internal.h"
#include <stdio.h>
#include <string.h>

/* "(2, -1, 3)" for a raw shape array. */
static const char *shape_txt(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < ndim && k < n; d++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < n) snprintf(buf + k, n - k, ")");
    return buf;
}

/* Contiguous strides of a shape (trailing unused dims: 0). */
static void cstrides(int ndim, const int64_t *shape, int64_t *cs) {
    int64_t s = 1;
    for (int d = GM_MAX_DIMS - 1; d >= 0; d--) {
        if (d >= ndim) { cs[d] = 0; continue; }
        cs[d] = s;
        s *= shape[d];
    }
}

/* Backward of reshape (both forms) and contiguous: same row-major order. */
static void flat_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const float *gy = n->out->grad;
    int64_t N = n->out->numel;
    int nt = gm_op_threads(ctx, N);
    (void)nt; /* read only by OpenMP pragmas in some builds */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t k = 0; k < N; k++) gx[k] += gy[k];
}

/* Copy of x (any strides) as a new contiguous tensor of the given shape, with
 * flat backward. */
static gm_tensor *copy_op(gm_ctx *ctx, gm_op op, gm_tensor *x, int ndim, const int64_t *shape) {
    gm_tensor *out = gm_op_out(ctx, ndim, shape);
    if (!out) return NULL;
    gm_copy_to(x, out->data);
    gm_op_record(ctx, op, flat_backward, out, 1, x);
    return gm_op_end(ctx, op, out);
}

/* ---- reshape / contiguous ---- */

/* New shape for x's elements. A view (shares data) when x is contiguous,
 * else a contiguous copy. One dim may be -1 (inferred). NULL (GM_ERR_SHAPE)
 * when the element counts differ or the shape is malformed. */
gm_tensor *gm_reshape(gm_ctx *ctx, gm_tensor *x, int ndim, const int64_t *shape) {
    if (!gm_op_begin(ctx, GM_OP_RESHAPE, 1, x)) return NULL;
    if (ndim < 0 || ndim > GM_MAX_DIMS)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "reshape: %d dimensions requested (0..%d allowed)", ndim, GM_MAX_DIMS);
    if (ndim > 0 && !shape) return gm_ctx_fail(ctx, GM_ERR_ARG, "reshape: NULL shape");
    char bx[64], bs[96];
    int64_t s[GM_MAX_DIMS], known = 1;
    int infer = -1;
    for (int d = 0; d < ndim; d++) {
        s[d] = shape[d];
        if (s[d] == -1 && infer < 0) { infer = d; continue; }
        if (s[d] < 0)
            return gm_ctx_fail(ctx, GM_ERR_SHAPE, "reshape: bad target shape %s (sizes >= 0, at most one -1)",
                               shape_txt(ndim, shape, bs, sizeof bs));
        if (s[d] > 0 && known > INT64_MAX / s[d]) return gm_ctx_fail(ctx, GM_ERR_SHAPE, "reshape: target shape overflows");
        known *= s[d];
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known != 0)
            return gm_ctx_fail(ctx, GM_ERR_SHAPE, "reshape: cannot infer -1 reshaping %s (%lld elements) into %s",
                               gm_shape_str(x, bx, sizeof bx), (long long)x->numel, shape_txt(ndim, shape, bs, sizeof bs));
        s[infer] = x->numel / known;
        known = x->numel;
    }
    if (known != x->numel)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "reshape: cannot reshape %s (%lld elements) into %s",
                           gm_shape_str(x, bx, sizeof bx), (long long)x->numel, shape_txt(ndim, shape, bs, sizeof bs));
    if (!gm_is_contiguous(x)) return copy_op(ctx, GM_OP_RESHAPE, x, ndim, s);
    gm_tensor *out = gm_view_header(ctx, x);
    if (!out) return NULL;
    out->ndim = ndim;
    for (int d = 0; d < GM_MAX_DIMS; d++) out->shape[d] = d < ndim ? s[d] : 1;
    gm_set_contiguous_strides(out);
    gm_op_record(ctx, GM_OP_RESHAPE, flat_backward, out, 1, x);
    return gm_op_end(ctx, GM_OP_RESHAPE, out);
}

/* x itself when already contiguous (no new node), else a contiguous copy
 * whose backward adds into x's gradient. */
gm_tensor *gm_contiguous(gm_ctx *ctx, gm_tensor *x) {
    if (!gm_op_begin(ctx, GM_OP_CONTIGUOUS, 1, x)) return NULL;
    if (gm_is_contiguous(x)) return x;
    return copy_op(ctx, GM_OP_CONTIGUOUS, x, x->ndim, x->shape);
}

/* ---- strided views: permute, transpose, slice ---- */

/* Backward of a view: gx[i[4] + Σ idx_d * i[d]] += gy (row-major over out).
 * node->i[0..3] = gradient strides, i[4] = gradient offset. */
static void view_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const gm_tensor *y = n->out;
    const int64_t *gs = n->i, *s = y->shape;
    const float *gy = y->grad;
    int nt = gm_op_threads(ctx, y->numel);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    gx += n->i[4];
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t a = 0; a < s[0]; a++) {
        int64_t k = a * s[1] * s[2] * s[3];
        for (int64_t b = 0; b < s[1]; b++)
            for (int64_t c = 0; c < s[2]; c++)
                for (int64_t d = 0; d < s[3]; d++) gx[a * gs[0] + b * gs[1] + c * gs[2] + d * gs[3]] += gy[k++];
    }
}

static gm_tensor *permute_impl(gm_ctx *ctx, gm_op op, gm_tensor *x, const int *perm) {
    gm_tensor *out = gm_view_header(ctx, x);
    if (!out) return NULL;
    int64_t cs[GM_MAX_DIMS], gs[GM_MAX_DIMS] = {0, 0, 0, 0};
    cstrides(x->ndim, x->shape, cs);
    for (int d = 0; d < GM_MAX_DIMS; d++) {
        int p = d < x->ndim ? perm[d] : d;
        out->shape[d] = d < x->ndim ? x->shape[p] : 1;
        out->stride[d] = d < x->ndim ? x->stride[p] : 1;
        gs[d] = d < x->ndim ? cs[p] : 0;
    }
    gm_node *node = gm_op_record(ctx, op, view_backward, out, 1, x);
    if (node) { memcpy(node->i, gs, sizeof gs); node->i[4] = 0; }
    return gm_op_end(ctx, op, out);
}

/* View with dims d0 and d1 swapped (negative dims count from the end). */
gm_tensor *gm_transpose(gm_ctx *ctx, gm_tensor *x, int d0, int d1) {
    if (!gm_op_begin(ctx, GM_OP_TRANSPOSE, 1, x)) return NULL;
    int a = gm_axis(ctx, x, d0, "transpose"), b = a < 0 ? -1 : gm_axis(ctx, x, d1, "transpose");
    if (b < 0) return NULL;
    int perm[GM_MAX_DIMS] = {0, 1, 2, 3};
    perm[a] = b;
    perm[b] = a;
    return permute_impl(ctx, GM_OP_TRANSPOSE, x, perm);
}

/* View with out dim d = x dim perm[d]; perm must be a permutation of 0..ndim-1. */
gm_tensor *gm_permute(gm_ctx *ctx, gm_tensor *x, const int *perm) {
    if (!gm_op_begin(ctx, GM_OP_PERMUTE, 1, x)) return NULL;
    if (!perm && x->ndim > 0) return gm_ctx_fail(ctx, GM_ERR_ARG, "permute: NULL perm");
    int seen[GM_MAX_DIMS] = {0};
    for (int d = 0; d < x->ndim; d++) {
        if (perm[d] < 0 || perm[d] >= x->ndim || seen[perm[d]]++)
            return gm_ctx_fail(ctx, GM_ERR_ARG, "permute: perm[%d] = %d: not a permutation of 0..%d", d, perm[d], x->ndim - 1);
    }
    return permute_impl(ctx, GM_OP_PERMUTE, x, perm);
}

/* View of [start, end) along axis. Negative start/end count from the end of
 * the axis (-1 = last); after that 0 <= start <= end <= size is required
 * (no clamping: out of range is GM_ERR_ARG). An empty slice is allowed. */
gm_tensor *gm_slice(gm_ctx *ctx, gm_tensor *x, int axis, int64_t start, int64_t end) {
    if (!gm_op_begin(ctx, GM_OP_SLICE, 1, x)) return NULL;
    int a = gm_axis(ctx, x, axis, "slice");
    if (a < 0) return NULL;
    int64_t size = x->shape[a], s0 = start < 0 ? start + size : start, s1 = end < 0 ? end + size : end;
    if (s0 < 0 || s1 > size || s0 > s1)
        return gm_ctx_fail(ctx, GM_ERR_ARG, "slice: [%lld, %lld) out of range for axis %d of size %lld", (long long)start,
                           (long long)end, axis, (long long)size);
    gm_tensor *out = gm_view_header(ctx, x);
    if (!out) return NULL;
    if (s1 > s0) out->data = x->data + s0 * x->stride[a]; /* an empty slice keeps x's pointer */
    out->shape[a] = s1 - s0;
    out->numel = 1;
    for (int d = 0; d < x->ndim; d++) out->numel *= out->shape[d];
    gm_node *node = gm_op_record(ctx, GM_OP_SLICE, view_backward, out, 1, x);
    if (node) {
        cstrides(x->ndim, x->shape, node->i);
        node->i[4] = s0 * node->i[a];
    }
    return gm_op_end(ctx, GM_OP_SLICE, out);
}

/* ---- concat ---- */

static void concat_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *const *xs = n->saved;
    int64_t nx = n->i[0], outer = n->i[2], inner = n->i[3], row = n->out->numel / (outer ? outer : 1);
    const float *gy = n->out->grad;
    int64_t off = 0;
    for (int64_t k = 0; k < nx; k++) {
        int64_t len = xs[k]->shape[n->i[1]] * inner;
        float *gx = gm_grad_buf(ctx, xs[k]);
        if (gx) {
            int nt = gm_op_threads(ctx, outer * len);
            (void)nt; /* read only by OpenMP pragmas in some builds */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
            for (int64_t o = 0; o < outer; o++)
                for (int64_t j = 0; j < len; j++) gx[o * len + j] += gy[o * row + off + j];
        }
        off += len;
    }
}

/* Concatenation of xs[0..n) along axis (negative allowed); all inputs have the
 * same ndim and the same sizes except along axis. Any number of inputs:
 * the tape node lists up to GM_MAX_INPUTS of them, node->saved all of them. */
gm_tensor *gm_concat(gm_ctx *ctx, int n, gm_tensor *const *xs, int axis) {
    if (!gm_op_begin(ctx, GM_OP_CONCAT, 0)) return NULL;
    if (n < 1 || !xs) return gm_ctx_fail(ctx, GM_ERR_ARG, "concat: need at least one input, got %d", n);
    for (int k = 0; k < n; k++)
        if (!xs[k]) return gm_ctx_fail(ctx, GM_ERR_ARG, "concat: input %d is NULL", k);
    int a = gm_axis(ctx, xs[0], axis, "concat");
    if (a < 0) return NULL;
    int64_t shape[GM_MAX_DIMS], total = 0;
    memcpy(shape, xs[0]->shape, sizeof shape);
    for (int k = 0; k < n; k++) {
        int ok = xs[k]->ndim == xs[0]->ndim;
        for (int d = 0; ok && d < xs[0]->ndim; d++) ok = d == a || xs[k]->shape[d] == shape[d];
        if (!ok) {
            char b0[64], bk[64];
            return gm_ctx_fail(ctx, GM_ERR_SHAPE, "concat: input %d has shape %s, which does not match input 0 %s except along axis %d",
                               k, gm_shape_str(xs[k], bk, sizeof bk), gm_shape_str(xs[0], b0, sizeof b0), axis);
        }
        total += xs[k]->shape[a];
    }
    shape[a] = total;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < a; d++) outer *= shape[d];
    for (int d = a + 1; d < xs[0]->ndim; d++) inner *= shape[d];
    gm_tensor *out = gm_op_out(ctx, xs[0]->ndim, shape);
    if (!out) return NULL;
    int64_t row = total * inner, off = 0;
    for (int k = 0; k < n; k++) {
        int64_t len = xs[k]->shape[a] * inner;
        const float *xd = gm_contig(ctx, xs[k]);
        if (!xd) return NULL;
        for (int64_t o = 0; o < outer && len > 0; o++) memcpy(out->data + o * row + off, xd + o * len, (size_t)len * sizeof(float));
        off += len;
    }
    /* node->in: all inputs when they fit, else the first ones requiring grad */
    gm_tensor *sel[GM_MAX_INPUTS] = {0};
    int m = 0;
    for (int k = 0; k < n && m < GM_MAX_INPUTS; k++)
        if (n <= GM_MAX_INPUTS || xs[k]->requires_grad) sel[m++] = xs[k];
    gm_node *node = gm_op_record(ctx, GM_OP_CONCAT, concat_backward, out, GM_MAX_INPUTS, sel[0], sel[1], sel[2], sel[3]);
    if (node) {
        gm_tensor **list = gm_arena_alloc(ctx, (size_t)n * sizeof *list);
        if (!list) return NULL;
        memcpy(list, xs, (size_t)n * sizeof *list);
        node->saved = list;
        node->n_in = m;
        node->i[0] = n; node->i[1] = a; node->i[2] = outer; node->i[3] = inner;
    }
    return gm_op_end(ctx, GM_OP_CONCAT, out);
}

/* ---- index_select / embedding ---- */

/* node: saved = idx copy (n), i[0] = outer, i[1] = size along axis, i[2] = inner, i[3] = n */
static void index_backward(gm_ctx *ctx, gm_node *n) {
    float *gx = gm_grad_buf(ctx, n->in[0]);
    if (!gx) return;
    const int64_t *idx = n->saved;
    int64_t outer = n->i[0], size = n->i[1], inner = n->i[2], cnt = n->i[3];
    const float *gy = n->out->grad; /* (outer, cnt, inner) */
    /* tasks = (outer slice, column chunk): disjoint gradient elements; ids summed in order */
    int64_t CH = 256, nch = (inner + CH - 1) / CH, tasks = outer * nch;
    int nt = gm_op_threads(ctx, outer * cnt * inner);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    if (inner == 1) { /* the last axis: one scatter-add per outer row, ids in order */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t o = 0; o < outer; o++) {
            float *g = gx + o * size;
            const float *s = gy + o * cnt;
            for (int64_t j = 0; j < cnt; j++) g[idx[j]] += s[j];
        }
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nch, c0 = (t % nch) * CH, c1 = c0 + CH < inner ? c0 + CH : inner;
        for (int64_t j = 0; j < cnt; j++) {
            float *g = gx + (o * size + idx[j]) * inner;
            const float *s = gy + (o * cnt + j) * inner;
            for (int64_t c = c0; c < c1; c++) g[c] += s[c];
        }
    }
}

static gm_tensor *index_impl(gm_ctx *ctx, gm_op op, gm_tensor *x, int a, const int64_t *idx, int64_t n) {
    const char *what = op == GM_OP_EMBEDDING ? "embedding" : "index_select";
    if (n < 0 || (n > 0 && !idx)) return gm_ctx_fail(ctx, GM_ERR_ARG, "%s: bad index list (n = %lld)", what, (long long)n);
    int64_t size = x->shape[a];
    int64_t *copy = gm_arena_alloc(ctx, (size_t)(n ? n : 1) * sizeof(int64_t));
    if (!copy) return NULL;
    for (int64_t j = 0; j < n; j++) {
        if (idx[j] < 0 || idx[j] >= size) {
            if (op == GM_OP_EMBEDDING)
                return gm_ctx_fail(ctx, GM_ERR_ARG, "embedding: id %lld at position %lld out of range for vocab size %lld",
                                   (long long)idx[j], (long long)j, (long long)size);
            return gm_ctx_fail(ctx, GM_ERR_ARG, "index_select: index %lld at position %lld out of range for axis %d of size %lld",
                               (long long)idx[j], (long long)j, a, (long long)size);
        }
        copy[j] = idx[j];
    }
    int64_t shape[GM_MAX_DIMS], outer = 1, inner = 1;
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = n;
    for (int d = 0; d < a; d++) outer *= shape[d];
    for (int d = a + 1; d < x->ndim; d++) inner *= shape[d];
    const float *xd = gm_contig(ctx, x);
    gm_tensor *out = xd ? gm_op_out(ctx, x->ndim, shape) : NULL;
    if (!out) return NULL;
    int nt = gm_op_threads(ctx, outer * n * inner);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    if (inner == 1) { /* the last axis: a gather per outer row */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t o = 0; o < outer; o++) {
            const float *src = xd + o * size;
            float *dst = out->data + o * n;
            for (int64_t j = 0; j < n; j++) dst[j] = src[copy[j]];
        }
    } else {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t r = 0; r < outer * n; r++) {
            int64_t o = r / n, j = r % n;
            if (inner > 0) memcpy(out->data + r * inner, xd + (o * size + copy[j]) * inner, (size_t)inner * sizeof(float));
        }
    }
    gm_node *node = gm_op_record(ctx, op, index_backward, out, 1, x);
    if (node) { node->saved = copy; node->i[0] = outer; node->i[1] = size; node->i[2] = inner; node->i[3] = n; }
    return gm_op_end(ctx, op, out);
}

/* x.index_select(axis, idx[0..n)): out has x's shape with size n along axis.
 * Indices must lie in [0, size) (GM_ERR_ARG naming the index otherwise);
 * repeats are allowed (their gradients add up). idx is copied. */
gm_tensor *gm_index_select(gm_ctx *ctx, gm_tensor *x, int axis, const int64_t *idx, int64_t n) {
    if (!gm_op_begin(ctx, GM_OP_INDEX_SELECT, 1, x)) return NULL;
    int a = gm_axis(ctx, x, axis, "index_select");
    return a < 0 ? NULL : index_impl(ctx, GM_OP_INDEX_SELECT, x, a, idx, n);
}

/* Rows ids[0..n) of weight (V, D) -> (n, D). An id outside [0, V) is
 * GM_ERR_ARG naming the id and the vocab size. ids are copied. */
gm_tensor *gm_embedding(gm_ctx *ctx, gm_tensor *weight, const int64_t *ids, int64_t n) {
    if (!gm_op_begin(ctx, GM_OP_EMBEDDING, 1, weight)) return NULL;
    char b[64];
    if (weight->ndim != 2)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "embedding: weight must be (V, D), got %s", gm_shape_str(weight, b, sizeof b));
    return index_impl(ctx, GM_OP_EMBEDDING, weight, 0, ids, n);
}

/* ---- gather ---- */

/* node: saved = index copy (out's shape), i[0] = axis */
static void gather_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *x = n->in[0], *y = n->out;
    float *gx = gm_grad_buf(ctx, x);
    if (!gx) return;
    int ax = (int)n->i[0];
    const int64_t *index = n->saved, *s = y->shape;
    int64_t cs[GM_MAX_DIMS];
    cstrides(x->ndim, x->shape, cs);
    const float *gy = y->grad;
    /* different i0 touch disjoint gradient elements unless the gather axis is 0 */
    int nt = ax == 0 ? 1 : gm_op_threads(ctx, y->numel);
    (void)nt; /* read only by OpenMP pragmas in some builds */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i0 = 0; i0 < s[0]; i0++) {
        int64_t k = i0 * s[1] * s[2] * s[3];
        for (int64_t i1 = 0; i1 < s[1]; i1++)
            for (int64_t i2 = 0; i2 < s[2]; i2++)
                for (int64_t i3 = 0; i3 < s[3]; i3++, k++) {
                    int64_t id[GM_MAX_DIMS] = {i0, i1, i2, i3};
                    id[ax] = index[k];
                    gx[id[0] * cs[0] + id[1] * cs[1] + id[2] * cs[2] + id[3] * cs[3]] += gy[k];
                }
    }
}

/* torch.gather: out has index_shape (x's ndim; index_shape[d] <= x's size for
 * d != axis) and out[i] = x[i with i[axis] = index[i]] (index row-major over
 * index_shape, values in [0, x.shape[axis])). index is copied. */
gm_tensor *gm_gather(gm_ctx *ctx, gm_tensor *x, int axis, const int64_t *index, const int64_t *index_shape) {
    if (!gm_op_begin(ctx, GM_OP_GATHER, 1, x)) return NULL;
    int a = gm_axis(ctx, x, axis, "gather");
    if (a < 0) return NULL;
    if (!index_shape) return gm_ctx_fail(ctx, GM_ERR_ARG, "gather: NULL index_shape");
    char bx[64], bi[96];
    int64_t n = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (index_shape[d] < 0 || (d != a && index_shape[d] > x->shape[d]))
            return gm_ctx_fail(ctx, GM_ERR_SHAPE, "gather: index shape %s does not fit input %s along axis %d",
                               shape_txt(x->ndim, index_shape, bi, sizeof bi), gm_shape_str(x, bx, sizeof bx), axis);
        n *= index_shape[d];
    }
    if (n > 0 && !index) return gm_ctx_fail(ctx, GM_ERR_ARG, "gather: NULL index");
    int64_t *copy = gm_arena_alloc(ctx, (size_t)(n ? n : 1) * sizeof(int64_t));
    gm_tensor *out = copy ? gm_op_out(ctx, x->ndim, index_shape) : NULL;
    if (!out) return NULL;
    for (int64_t k = 0; k < n; k++) {
        if (index[k] < 0 || index[k] >= x->shape[a])
            return gm_ctx_fail(ctx, GM_ERR_ARG, "gather: index %lld at position %lld out of range for axis %d of size %lld",
                               (long long)index[k], (long long)k, axis, (long long)x->shape[a]);
        copy[k] = index[k];
    }
    const int64_t *s = out->shape, *st = x->stride;
    int64_t k = 0;
    for (int64_t i0 = 0; i0 < s[0]; i0++)
        for (int64_t i1 = 0; i1 < s[1]; i1++)
            for (int64_t i2 = 0; i2 < s[2]; i2++)
                for (int64_t i3 = 0; i3 < s[3]; i3++, k++) {
                    int64_t id[GM_MAX_DIMS] = {i0, i1, i2, i3};
                    id[a] = copy[k];
                    out->data[k] = x->data[id[0] * st[0] + id[1] * st[1] + id[2] * st[2] + id[3] * st[3]];
                }
    gm_node *node = gm_op_record(ctx, GM_OP_GATHER, gather_backward, out, 1, x);
    if (node) { node->saved = copy; node->i[0] = a; }
    return gm_op_end(ctx, GM_OP_GATHER, out);
}
