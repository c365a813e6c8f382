/*
 * binary.c — broadcasting elementwise add, sub, mul, div: forward and backward.
 *
 * Shapes follow NumPy rules (right-aligned, size-1 dims stretch, up to 4-D;
 * see broadcast.h). Operands may be strided views: they are read through
 * their strides, never copied. Output is contiguous.
 *
 * Kernels. REF: one plain 4-deep strided loop for forward, and for backward
 * one serial loop in output order accumulating (+=) into each input's
 * gradient. FAST: everything runs as "rows" through op-specialised loops
 * (the op switch sits outside the loop, so they vectorise): same-shape
 * contiguous and scalar operands as one flat row split into fixed chunks,
 * row vectors ((R, D) with (D)) per row, anything else per output row of
 * the last dim; OpenMP above a size threshold. The FAST backward computes
 * each input's gradient in one fused pass (no temporaries) and sums over
 * broadcast dims in an order that does not depend on the thread count:
 * direct for unbroadcast inputs, fixed-size blocks for scalars, column
 * chunks for row vectors, one reduction per gradient element otherwise.
 * What this is not: fused multi-operand broadcasting (see loss.c).
 */
#include "ops/broadcast.h"
#include <math.h>
#include <string.h>

#define CHUNK 16384        /* flat rows are split into chunks of this many elements */
#define SCALAR_BLOCK 4096  /* fixed block of a scalar's gradient sum (thread-count independent) */

/* ---- operand descriptors ---- */

/* An operand as the output loop sees it: data, strides aligned to the output's
 * 4-padded shape (0 on broadcast dims) and which fast pattern it fits. */
typedef struct {
    const float *p;
    int64_t st[GM_MAX_DIMS];
    int full;    /* contiguous, same shape as the output: read p[k] */
    int scalar;  /* one element: read p[0] */
    int64_t row; /* > 0: contiguous trailing block of the output, read p[k % row] */
} bop;

/* Output geometry: 4-padded shape and element count. */
typedef struct {
    int nd;
    int64_t s4[GM_MAX_DIMS];
    int64_t n;
} bgeom;

static void geom_of(const gm_tensor *out, bgeom *g) {
    g->nd = out->ndim;
    gm_bcast_pad4(out->ndim, out->shape, g->s4);
    g->n = out->numel;
}

/* Fills o for tensor t read at the output geometry g. */
static void bop_of(bop *o, const gm_tensor *t, const bgeom *g) {
    o->p = t->data;
    gm_bcast_strides(t, 0, o->st);
    o->full = gm_bcast_is_full(t, g->nd, g->s4 + (GM_MAX_DIMS - g->nd));
    o->scalar = t->numel == 1;
    o->row = 0;
    if (!o->full && !o->scalar && gm_is_contiguous(t)) {
        int64_t t4[GM_MAX_DIMS];
        gm_bcast_pad4(t->ndim, t->shape, t4);
        int p = GM_MAX_DIMS;
        while (p > 0 && t4[p - 1] == g->s4[p - 1]) p--;
        int ok = 1;
        for (int d = 0; d < p; d++) ok &= t4[d] == 1;
        if (ok && t->numel > 0) o->row = t->numel;
    }
}

/* out = a (op) b */
static inline float bf(gm_op op, float a, float b) {
    switch (op) {
    case GM_OP_ADD: return a + b;
    case GM_OP_SUB: return a - b;
    case GM_OP_MUL: return a * b;
    default: return a / b;
    }
}

/* d out / d a (which = 0) or d out / d b (which = 1) at operand values a, b. */
static inline float bd(gm_op op, int which, float a, float b) {
    switch (op) {
    case GM_OP_ADD: return 1.0f;
    case GM_OP_SUB: return which ? -1.0f : 1.0f;
    case GM_OP_MUL: return which ? a : b;
    default: return which ? -a / (b * b) : 1.0f / b;
    }
}

/* ---- op-specialised row loops (FAST) ----
 * A row of n elements where a = x[j] if xv else x[0] and b = y[j] if yv
 * else y[0]. STMT is the per-element statement using a, b, j. */
#define ROW_LOOPS(STMT)                                                                                      \
    do {                                                                                                     \
        if (xv && yv) for (int64_t j = 0; j < n; j++) { float a = x[j], b = y[j]; (void)a; (void)b; STMT; } \
        else if (xv) { float b = y[0]; (void)b; for (int64_t j = 0; j < n; j++) { float a = x[j]; (void)a; STMT; } } \
        else if (yv) { float a = x[0]; (void)a; for (int64_t j = 0; j < n; j++) { float b = y[j]; (void)b; STMT; } } \
        else { float a = x[0], b = y[0]; (void)a; (void)b; for (int64_t j = 0; j < n; j++) { STMT; } }      \
    } while (0)

/* o[j] = a (op) b, j < n */
static void row_fwd(gm_op op, const float *x, int xv, const float *y, int yv, float *o, int64_t n) {
    switch (op) {
    case GM_OP_ADD: ROW_LOOPS(o[j] = a + b); break;
    case GM_OP_SUB: ROW_LOOPS(o[j] = a - b); break;
    case GM_OP_MUL: ROW_LOOPS(o[j] = a * b); break;
    default: ROW_LOOPS(o[j] = a / b); break;
    }
}

/* g[j] += gy[j] * d out / d operand `which`, j < n (same arithmetic as REF) */
static void row_bwd(gm_op op, int which, const float *x, int xv, const float *y, int yv, const float *gy, float *g,
                    int64_t n) {
    if (op == GM_OP_ADD || (op == GM_OP_SUB && !which)) ROW_LOOPS(g[j] += gy[j]);
    else if (op == GM_OP_SUB) ROW_LOOPS(g[j] += gy[j] * -1.0f);
    else if (op == GM_OP_MUL && !which) ROW_LOOPS(g[j] += gy[j] * b);
    else if (op == GM_OP_MUL) ROW_LOOPS(g[j] += gy[j] * a);
    else if (!which) ROW_LOOPS(g[j] += gy[j] * (1.0f / b));
    else ROW_LOOPS(g[j] += gy[j] * (-a / (b * b)));
}

/* Output row r (of the last dim) start offsets of x and y. */
static inline void row_ptrs(const bgeom *g, const bop *x, const bop *y, int64_t r, const float **xp, const float **yp) {
    const int64_t *s = g->s4;
    int64_t i2 = r % s[2], i1 = (r / s[2]) % s[1], i0 = r / (s[2] * s[1]);
    *xp = x->p + i0 * x->st[0] + i1 * x->st[1] + i2 * x->st[2];
    *yp = y->p + i0 * y->st[0] + i1 * y->st[1] + i2 * y->st[2];
}

/* ---- forward ---- */

/* REF: plain strided loop over every output element. */
static void fwd_ref(gm_op op, const bop *x, const bop *y, const bgeom *g, float *out) {
    int64_t rows = g->s4[0] * g->s4[1] * g->s4[2], D = g->s4[3];
    for (int64_t r = 0; r < rows; r++) {
        const float *xp, *yp;
        row_ptrs(g, x, y, r, &xp, &yp);
        for (int64_t j = 0; j < D; j++) out[r * D + j] = bf(op, xp[j * x->st[3]], yp[j * y->st[3]]);
    }
}

static void fwd_fast(gm_op op, const bop *x, const bop *y, const bgeom *g, float *out) {
    int64_t N = g->n;
    int nt = gm_par_threads(N);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    if ((x->full || x->scalar) && (y->full || y->scalar)) { /* one flat row */
        int64_t nc = (N + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t c = 0; c < nc; c++) {
            int64_t k0 = c * CHUNK, len = k0 + CHUNK < N ? CHUNK : N - k0;
            row_fwd(op, x->p + (x->full ? k0 : 0), x->full, y->p + (y->full ? k0 : 0), y->full, out + k0, len);
        }
    } else if ((x->full && y->row) || (x->row && y->full)) { /* (R, D) with (D) */
        int64_t D = x->row ? x->row : y->row, R = N / D;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t r = 0; r < R; r++)
            row_fwd(op, x->row ? x->p : x->p + r * D, 1, y->row ? y->p : y->p + r * D, 1, out + r * D, D);
    } else { /* general: rows of the last dim, each row specialised when its strides allow */
        int64_t rows = g->s4[0] * g->s4[1] * g->s4[2], D = g->s4[3];
        int64_t sx = x->st[3], sy = y->st[3];
        int simple = (sx == 0 || sx == 1) && (sy == 0 || sy == 1);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t r = 0; r < rows; r++) {
            const float *xp, *yp;
            row_ptrs(g, x, y, r, &xp, &yp);
            if (simple) row_fwd(op, xp, (int)sx, yp, (int)sy, out + r * D, D);
            else
                for (int64_t j = 0; j < D; j++) out[r * D + j] = bf(op, xp[j * sx], yp[j * sy]);
        }
    }
}

/* ---- backward ---- */

/* REF: one serial pass in output order, accumulating straight into the grads. */
static void backward_ref(gm_op op, const gm_tensor *a, const gm_tensor *b, const bgeom *g, const float *gy, float *ga,
                         float *gb) {
    int64_t sa[GM_MAX_DIMS], sb[GM_MAX_DIMS], ca[GM_MAX_DIMS], cb[GM_MAX_DIMS];
    gm_bcast_strides(a, 0, sa); gm_bcast_strides(b, 0, sb);
    gm_bcast_strides(a, 1, ca); gm_bcast_strides(b, 1, cb);
    const int64_t *s = g->s4;
    int64_t k = 0;
    for (int64_t i0 = 0; i0 < s[0]; i0++)
        for (int64_t i1 = 0; i1 < s[1]; i1++)
            for (int64_t i2 = 0; i2 < s[2]; i2++)
                for (int64_t i3 = 0; i3 < s[3]; i3++, k++) {
                    float av = a->data[i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3]];
                    float bv = b->data[i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3]];
                    if (ga) ga[i0 * ca[0] + i1 * ca[1] + i2 * ca[2] + i3 * ca[3]] += gy[k] * bd(op, 0, av, bv);
                    if (gb) gb[i0 * cb[0] + i1 * cb[1] + i2 * cb[2] + i3 * cb[3]] += gy[k] * bd(op, 1, av, bv);
                }
}

/* FAST gradient of operand `which` (tensor t, gradient g), fused, no temporaries:
 *  - t not broadcast: one term per gradient element, same arithmetic as REF;
 *    flat chunks / rows / general rows in parallel;
 *  - t a scalar, the other operand full: fixed-size blocks summed (double) in
 *    parallel, then combined in block order;
 *  - t a row vector (D), the other operand full (R, D): threads own column
 *    chunks and add their rows in order;
 *  - otherwise: one task per gradient element sums its broadcast block in
 *    output order.
 * All orders are fixed, so results do not depend on the thread count. */
static void backward_fast(gm_ctx *ctx, gm_op op, int which, const gm_tensor *t, float *g, const bop *oa, const bop *ob,
                          const bgeom *bg, const float *gy) {
    int64_t N = bg->n;
    int nt = gm_par_threads(N);
    (void)nt; /* read only by OpenMP pragmas in some builds */
    const bop *ot = which ? ob : oa, *oo = which ? oa : ob; /* this operand, the other one */
    const float *ap = oa->p, *bp = ob->p;
    if (t->numel == N && (oa->full || oa->scalar) && (ob->full || ob->scalar)) {
        int64_t nc = (N + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t c = 0; c < nc; c++) {
            int64_t k0 = c * CHUNK, len = k0 + CHUNK < N ? CHUNK : N - k0;
            row_bwd(op, which, ap + (oa->full ? k0 : 0), oa->full, bp + (ob->full ? k0 : 0), ob->full, gy + k0, g + k0, len);
        }
    } else if (ot->scalar && oo->full) {
        int64_t nb = (N + SCALAR_BLOCK - 1) / SCALAR_BLOCK;
        double *part = gm_arena_alloc(ctx, (size_t)nb * sizeof(double));
        if (!part) return;
        float c = ot->p[0];
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t bl = 0; bl < nb; bl++) {
            int64_t k1 = (bl + 1) * SCALAR_BLOCK < N ? (bl + 1) * SCALAR_BLOCK : N;
            double s = 0.0;
            for (int64_t k = bl * SCALAR_BLOCK; k < k1; k++) s += gy[k] * (which ? bd(op, 1, ap[k], c) : bd(op, 0, c, bp[k]));
            part[bl] = s;
        }
        double s = 0.0;
        for (int64_t bl = 0; bl < nb; bl++) s += part[bl];
        g[0] += (float)s;
    } else if ((ot->row && oo->full) || (t->numel == N && ot->full && oo->row)) {
        int64_t D = ot->row ? ot->row : oo->row, R = N / D;
        if (!ot->row) { /* t full, the other a row vector: rows in parallel */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
            for (int64_t r = 0; r < R; r++)
                row_bwd(op, which, oa->row ? ap : ap + r * D, 1, ob->row ? bp : bp + r * D, 1, gy + r * D, g + r * D, D);
        } else { /* reduce into the row vector: one column chunk per thread, rows in order
                  * (each g[j] sums rows 0..R-1 in order whatever the chunking) */
            int64_t CH = ((D + nt - 1) / nt + 15) / 16 * 16, nch = (D + CH - 1) / CH;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && nch > 1)
            for (int64_t c = 0; c < nch; c++) {
                int64_t j0 = c * CH, len = j0 + CH < D ? CH : D - j0;
                for (int64_t r = 0; r < R; r++)
                    row_bwd(op, which, ap + (oa->row ? 0 : r * D) + j0, 1, bp + (ob->row ? 0 : r * D) + j0, 1,
                            gy + r * D + j0, g + j0, len);
            }
        }
    } else if (t->numel == N) { /* unbroadcast target, strided operands: rows in parallel */
        int64_t rows = bg->s4[0] * bg->s4[1] * bg->s4[2], D = bg->s4[3];
        int64_t sx = oa->st[3], sy = ob->st[3];
        int simple = (sx == 0 || sx == 1) && (sy == 0 || sy == 1);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t r = 0; r < rows; r++) {
            const float *xp, *yp;
            row_ptrs(bg, oa, ob, r, &xp, &yp);
            if (simple) row_bwd(op, which, xp, (int)sx, yp, (int)sy, gy + r * D, g + r * D, D);
            else
                for (int64_t j = 0; j < D; j++) g[r * D + j] += gy[r * D + j] * bd(op, which, xp[j * sx], yp[j * sy]);
        }
    } else { /* general: one task per gradient element, its broadcast block in output order */
        int64_t t4[GM_MAX_DIMS], ct[GM_MAX_DIMS], so[GM_MAX_DIMS], ext[GM_MAX_DIMS];
        const int64_t *s4 = bg->s4, *sa = oa->st, *sb = ob->st;
        gm_bcast_pad4(t->ndim, t->shape, t4);
        int64_t s = 1, q = 1;
        for (int d = GM_MAX_DIMS - 1; d >= 0; d--) {
            so[d] = s; s *= s4[d];
            ct[d] = q; q *= t4[d];
            ext[d] = t4[d] == 1 ? s4[d] : 1;
        }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t e = 0; e < t->numel; e++) {
            int64_t i0[GM_MAX_DIMS];
            for (int d = 0; d < GM_MAX_DIMS; d++) i0[d] = (e / ct[d]) % t4[d];
            float acc = 0.0f;
            for (int64_t x0 = i0[0]; x0 < i0[0] + ext[0]; x0++)
                for (int64_t x1 = i0[1]; x1 < i0[1] + ext[1]; x1++)
                    for (int64_t x2 = i0[2]; x2 < i0[2] + ext[2]; x2++)
                        for (int64_t x3 = i0[3]; x3 < i0[3] + ext[3]; x3++) {
                            float av = ap[x0 * sa[0] + x1 * sa[1] + x2 * sa[2] + x3 * sa[3]];
                            float bv = bp[x0 * sb[0] + x1 * sb[1] + x2 * sb[2] + x3 * sb[3]];
                            acc += gy[x0 * so[0] + x1 * so[1] + x2 * so[2] + x3 * so[3]] * bd(op, which, av, bv);
                        }
            g[e] += acc;
        }
    }
}

static void binary_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    float *ga = gm_grad_buf(ctx, a), *gb = gm_grad_buf(ctx, b);
    if ((!ga && !gb) || y->numel == 0) return;
    bgeom g;
    geom_of(y, &g);
    if (gm_get_backend(ctx) == GM_BACKEND_REF) {
        backward_ref(n->op, a, b, &g, y->grad, ga, gb);
        return;
    }
    bop oa, ob;
    bop_of(&oa, a, &g);
    bop_of(&ob, b, &g);
    if (ga) backward_fast(ctx, n->op, 0, a, ga, &oa, &ob, &g, y->grad);
    if (gb) backward_fast(ctx, n->op, 1, b, gb, &oa, &ob, &g, y->grad);
}

static gm_tensor *binary(gm_ctx *ctx, gm_op op, gm_tensor *a, gm_tensor *b) {
    if (!gm_op_begin(ctx, op, 2, a, b)) return NULL;
    gm_tensor *ts[2] = {a, b};
    int nd;
    int64_t shape[GM_MAX_DIMS];
    if (!gm_bcast_shape(ctx, gm_op_name(op), 2, ts, &nd, shape)) return NULL;
    gm_tensor *out = gm_op_out(ctx, nd, shape);
    if (!out) return NULL;
    if (out->numel > 0) {
        bgeom g;
        geom_of(out, &g);
        bop oa, ob;
        bop_of(&oa, a, &g);
        bop_of(&ob, b, &g);
        if (gm_get_backend(ctx) == GM_BACKEND_FAST) fwd_fast(op, &oa, &ob, &g, out->data);
        else fwd_ref(op, &oa, &ob, &g, out->data);
    }
    gm_op_record(ctx, op, binary_backward, out, 2, a, b);
    return gm_op_end(ctx, op, out);
}

/* out = a + b, broadcasting. NULL on incompatible shapes (GM_ERR_SHAPE naming both). */
gm_tensor *gm_add(gm_ctx *ctx, gm_tensor *a, gm_tensor *b) { return binary(ctx, GM_OP_ADD, a, b); }
/* out = a - b, broadcasting. */
gm_tensor *gm_sub(gm_ctx *ctx, gm_tensor *a, gm_tensor *b) { return binary(ctx, GM_OP_SUB, a, b); }
/* out = a * b, broadcasting. */
gm_tensor *gm_mul(gm_ctx *ctx, gm_tensor *a, gm_tensor *b) { return binary(ctx, GM_OP_MUL, a, b); }
/* out = a / b, broadcasting (IEEE: division by zero gives ±inf/NaN, caught by debug mode). */
gm_tensor *gm_div(gm_ctx *ctx, gm_tensor *a, gm_tensor *b) { return binary(ctx, GM_OP_DIV, a, b); }
