/*
 * nade.c — the NADE conditional logits as one op, forward and backward
 * together, in O(B·D·H) time and without a (D, B, H) temporary.
 *
 * Forward, per row (x constant):
 *   a_0 = c;  for k = 0..D-1:  d = order[k];  h_k = σ(a_k);
 *             out[d] = b[d] + V[d]·h_k;      a_{k+1} = a_k + W[d]·x[d]
 * Backward, with g = dL/dout and S_k = Σ_{k' > k} da_{k'}:
 *   db[d] += Σ_rows g[d];  dV[d] += Σ_rows g[d]·h_k;
 *   da_k = g[d]·V[d]⊙h_k⊙(1-h_k);  dW[d] += Σ_rows x[d]·S_k;  dc += Σ_rows S_{-1}
 * (a_{k+1} depends on W[d] for d = order[k], and every later a on a_{k+1}).
 *
 * Two kernels, tested against each other (tests/test_nade.c):
 *   REF   plain loops, one row at a time; the backward stores every h_k of
 *         the row (D·H floats) and walks back.
 *   FAST  forward: tiles of rows share each W[d]/V[d] row while it is in
 *         L1, vectorised sigmoid and dot, OpenMP over row tiles. Backward:
 *         OpenMP over chunks of hidden units (every term above is separable
 *         in the hidden unit except db); each chunk sweeps forward once
 *         storing a every NADE_BLOCK positions, then walks the blocks
 *         backwards, recomputing the block's h from its checkpoint. Extra
 *         memory per thread: (D/NADE_BLOCK + NADE_BLOCK + 2)·B·NADE_HCHUNK floats.
 * Both are deterministic (fixed loop orders; the thread split only decides
 * which thread computes a hidden unit, not how it is summed).
 * What this is not: a gradient for x (the data), or NADE variants with
 * other hidden activations or several hidden layers.
 */
#include "core/op_internal.h"
#include "kernels/vmath.h"
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define NADE_ROW_TILE 8   /* rows sharing a W/V row in the FAST forward */
#define NADE_BLOCK 32     /* positions per recompute block in the FAST backward */
#define NADE_HCHUNK 16    /* hidden units per backward work item (one 64-byte line) */

static inline float sigmoidf_(float v) {
    return v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
}

/* ---- REF ---- */

static void nade_fwd_ref(int64_t B, int64_t D, int64_t H, const float *x, const float *W, const float *c,
                         const float *V, const float *b, const int64_t *order, float *a, float *out) {
    for (int64_t r = 0; r < B; r++) {
        memcpy(a, c, (size_t)H * sizeof *a); // (H)
        for (int64_t k = 0; k < D; k++) {
            int64_t d = order[k];
            float s = b[d];
            for (int64_t j = 0; j < H; j++) s += V[d * H + j] * sigmoidf_(a[j]);
            out[r * D + d] = s;
            float xv = x[r * D + d];
            for (int64_t j = 0; j < H; j++) a[j] += W[d * H + j] * xv;
        }
    }
}

/* hs (D, H) scratch holding one row's h_k; S (H) the running Σ da. */
static void nade_bwd_ref(int64_t B, int64_t D, int64_t H, const float *x, const float *W, const float *c,
                         const float *V, const int64_t *order, const float *g, float *hs, float *S,
                         float *gW, float *gc, float *gV, float *gb) {
    for (int64_t r = 0; r < B; r++) {
        float *a = S; /* forward pass of the row into hs, using S as the running a */
        memcpy(a, c, (size_t)H * sizeof *a);
        for (int64_t k = 0; k < D; k++) {
            int64_t d = order[k];
            for (int64_t j = 0; j < H; j++) hs[k * H + j] = sigmoidf_(a[j]);
            for (int64_t j = 0; j < H; j++) a[j] += W[d * H + j] * x[r * D + d];
        }
        memset(S, 0, (size_t)H * sizeof *S);
        for (int64_t k = D - 1; k >= 0; k--) {
            int64_t d = order[k];
            float gd = g[r * D + d], xv = x[r * D + d];
            if (gW)
                for (int64_t j = 0; j < H; j++) gW[d * H + j] += xv * S[j];
            if (gb) gb[d] += gd;
            for (int64_t j = 0; j < H; j++) {
                float h = hs[k * H + j];
                if (gV) gV[d * H + j] += gd * h;
                S[j] += gd * V[d * H + j] * h * (1.0f - h);
            }
        }
        if (gc)
            for (int64_t j = 0; j < H; j++) gc[j] += S[j];
    }
}

/* ---- FAST ---- */

/* Rows [r0, r1) (at most NADE_ROW_TILE); a, h scratch (NADE_ROW_TILE, H). */
static void nade_fwd_tile(int64_t r0, int64_t r1, int64_t D, int64_t H, const float *x, const float *W,
                          const float *c, const float *V, const float *b, const int64_t *order, float *a, float *h,
                          float *out) {
    int64_t R = r1 - r0;
    for (int64_t r = 0; r < R; r++) memcpy(a + r * H, c, (size_t)H * sizeof *a);
    for (int64_t k = 0; k < D; k++) {
        int64_t d = order[k];
        const float *Wd = W + d * H, *Vd = V + d * H;
        gm_vsigmoid(a, h, R * H);
        for (int64_t r = 0; r < R; r++) {
            out[(r0 + r) * D + d] = b[d] + gm_vdot(Vd, h + r * H, H);
            float xv = x[(r0 + r) * D + d];
            if (xv != 0.0f) gm_vaxpy(xv, Wd, a + r * H, H);
        }
    }
}

/* One chunk of hidden units [j0, j0+w) for all B rows. Scratch: ck
 * (nblk, B, w) checkpoints of a, hb (NADE_BLOCK, B, w), a and S (B, w). */
static void nade_bwd_chunk(int64_t j0, const int64_t w, int64_t B, int64_t D, int64_t H, const float *x, const float *W,
               const float *c, const float *V, const int64_t *order, const float *g, float *ck, float *hb, float *a,
               float *S, float *gW, float *gc, float *gV) {
    int64_t Bw = B * w;
    for (int64_t r = 0; r < B; r++) memcpy(a + r * w, c + j0, (size_t)w * sizeof *a);
    for (int64_t k = 0; k < D; k++) {
        if (k % NADE_BLOCK == 0) memcpy(ck + (k / NADE_BLOCK) * Bw, a, (size_t)Bw * sizeof *a);
        int64_t d = order[k];
        const float *Wd = W + d * H + j0;
        for (int64_t r = 0; r < B; r++) {
            float xv = x[r * D + d];
            if (xv != 0.0f)
                for (int64_t j = 0; j < w; j++) a[r * w + j] += Wd[j] * xv;
        }
    }
    memset(S, 0, (size_t)Bw * sizeof *S);
    int64_t nblk = (D + NADE_BLOCK - 1) / NADE_BLOCK;
    for (int64_t blk = nblk - 1; blk >= 0; blk--) {
        int64_t k0 = blk * NADE_BLOCK, k1 = k0 + NADE_BLOCK < D ? k0 + NADE_BLOCK : D;
        memcpy(a, ck + blk * Bw, (size_t)Bw * sizeof *a);
        for (int64_t k = k0; k < k1; k++) { /* h of the block, (k - k0, B, w) */
            int64_t d = order[k];
            gm_vsigmoid(a, hb + (k - k0) * Bw, Bw);
            const float *Wd = W + d * H + j0;
            for (int64_t r = 0; r < B; r++) {
                float xv = x[r * D + d];
                if (xv != 0.0f)
                    for (int64_t j = 0; j < w; j++) a[r * w + j] += Wd[j] * xv;
            }
        }
        for (int64_t k = k1 - 1; k >= k0; k--) {
            int64_t d = order[k];
            const float *hk = hb + (k - k0) * Bw, *Vd = V + d * H + j0;
            float gw[NADE_HCHUNK] = {0}, gv[NADE_HCHUNK] = {0};
            for (int64_t r = 0; r < B; r++) {
                float gd = g[r * D + d], xv = x[r * D + d];
                float *Sr = S + r * w;
                const float *hr = hk + r * w;
                for (int64_t j = 0; j < w; j++) {
                    gw[j] += xv * Sr[j];
                    gv[j] += gd * hr[j];
                    Sr[j] += gd * Vd[j] * hr[j] * (1.0f - hr[j]);
                }
            }
            if (gW)
                for (int64_t j = 0; j < w; j++) gW[d * H + j0 + j] += gw[j];
            if (gV)
                for (int64_t j = 0; j < w; j++) gV[d * H + j0 + j] += gv[j];
        }
    }
    if (gc)
        for (int64_t j = 0; j < w; j++) {
            float s = 0;
            for (int64_t r = 0; r < B; r++) s += S[r * w + j];
            gc[j0 + j] += s;
        }
}

/* The full-chunk kernel (w = NADE_HCHUNK = 16) written with GCC/Clang
 * vector extensions (two 8-float vectors per row), so it vectorises whatever
 * the optimiser's alias analysis concludes; same arithmetic, same order as
 * nade_bwd_chunk. The last, partial chunk uses nade_bwd_chunk. */
typedef float v8f __attribute__((vector_size(32)));
static inline v8f ld8(const float *p) { v8f v; memcpy(&v, p, sizeof v); return v; }
static inline void st8(float *p, v8f v) { memcpy(p, &v, sizeof v); }

static void nade_bwd_chunk_full(int64_t j0, int64_t B, int64_t D, int64_t H, const float *x, const float *W,
                                const float *c, const float *V, const int64_t *order, const float *g, float *ck,
                                float *hb, float *a, float *S, float *gW, float *gc, float *gV) {
    enum { w = NADE_HCHUNK };
    int64_t Bw = B * w;
    for (int64_t r = 0; r < B; r++) memcpy(a + r * w, c + j0, sizeof(float) * w);
    for (int64_t k = 0; k < D; k++) {
        if (k % NADE_BLOCK == 0) memcpy(ck + (k / NADE_BLOCK) * Bw, a, (size_t)Bw * sizeof *a);
        int64_t d = order[k];
        v8f W0 = ld8(W + d * H + j0), W1 = ld8(W + d * H + j0 + 8);
        for (int64_t r = 0; r < B; r++) {
            float xv = x[r * D + d];
            if (xv != 0.0f) {
                st8(a + r * w, ld8(a + r * w) + W0 * xv);
                st8(a + r * w + 8, ld8(a + r * w + 8) + W1 * xv);
            }
        }
    }
    memset(S, 0, (size_t)Bw * sizeof *S);
    int64_t nblk = (D + NADE_BLOCK - 1) / NADE_BLOCK;
    const v8f one = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int64_t blk = nblk - 1; blk >= 0; blk--) {
        int64_t k0 = blk * NADE_BLOCK, k1 = k0 + NADE_BLOCK < D ? k0 + NADE_BLOCK : D;
        memcpy(a, ck + blk * Bw, (size_t)Bw * sizeof *a);
        for (int64_t k = k0; k < k1; k++) {
            int64_t d = order[k];
            gm_vsigmoid(a, hb + (k - k0) * Bw, Bw);
            v8f W0 = ld8(W + d * H + j0), W1 = ld8(W + d * H + j0 + 8);
            for (int64_t r = 0; r < B; r++) {
                float xv = x[r * D + d];
                if (xv != 0.0f) {
                    st8(a + r * w, ld8(a + r * w) + W0 * xv);
                    st8(a + r * w + 8, ld8(a + r * w + 8) + W1 * xv);
                }
            }
        }
        for (int64_t k = k1 - 1; k >= k0; k--) {
            int64_t d = order[k];
            const float *hk = hb + (k - k0) * Bw;
            v8f V0 = ld8(V + d * H + j0), V1 = ld8(V + d * H + j0 + 8);
            v8f gw0 = {0}, gw1 = {0}, gv0 = {0}, gv1 = {0};
            for (int64_t r = 0; r < B; r++) {
                float gd = g[r * D + d], xv = x[r * D + d];
                float *Sr = S + r * w;
                v8f S0 = ld8(Sr), S1 = ld8(Sr + 8), h0 = ld8(hk + r * w), h1 = ld8(hk + r * w + 8);
                gw0 += xv * S0;
                gw1 += xv * S1;
                gv0 += gd * h0;
                gv1 += gd * h1;
                st8(Sr, S0 + gd * V0 * h0 * (one - h0));
                st8(Sr + 8, S1 + gd * V1 * h1 * (one - h1));
            }
            if (gW) {
                st8(gW + d * H + j0, ld8(gW + d * H + j0) + gw0);
                st8(gW + d * H + j0 + 8, ld8(gW + d * H + j0 + 8) + gw1);
            }
            if (gV) {
                st8(gV + d * H + j0, ld8(gV + d * H + j0) + gv0);
                st8(gV + d * H + j0 + 8, ld8(gV + d * H + j0 + 8) + gv1);
            }
        }
    }
    if (gc)
        for (int64_t j = 0; j < w; j++) {
            float s = 0;
            for (int64_t r = 0; r < B; r++) s += S[r * w + j];
            gc[j0 + j] += s;
        }
}

static void nade_bwd_chunk_tail(int64_t j0, int64_t w, int64_t B, int64_t D, int64_t H, const float *x,
                                const float *W, const float *c, const float *V, const int64_t *order, const float *g,
                                float *ck, float *hb, float *a, float *S, float *gW, float *gc, float *gV) {
    nade_bwd_chunk(j0, w, B, D, H, x, W, c, V, order, g, ck, hb, a, S, gW, gc, gV);
}

static void nade_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *W = n->in[0], *c = n->in[1], *V = n->in[2], *b = n->in[3];
    int64_t B = n->i[0], D = n->i[1], H = n->i[2];
    const float *x = n->cptr;
    const int64_t *order = n->saved;
    const float *g = n->out->grad; // (B, D)
    float *gW = gm_grad_buf(ctx, W), *gc = gm_grad_buf(ctx, c), *gV = gm_grad_buf(ctx, V), *gb = gm_grad_buf(ctx, b);
    if (gm_get_backend(ctx) == GM_BACKEND_REF) {
        float *hs = gm_arena_alloc(ctx, (size_t)(D * H + H) * sizeof(float)); // (D, H) + (H)
        if (!hs) return;
        nade_bwd_ref(B, D, H, x, W->data, c->data, V->data, order, g, hs, hs + D * H, gW, gc, gV, gb);
        return;
    }
    if (gb)
        for (int64_t r = 0; r < B; r++)
            for (int64_t d = 0; d < D; d++) gb[d] += g[r * D + d];
    if (!gW && !gc && !gV) return;
    int64_t nblk = (D + NADE_BLOCK - 1) / NADE_BLOCK, nchunk = (H + NADE_HCHUNK - 1) / NADE_HCHUNK;
    int64_t per = (nblk + NADE_BLOCK + 2) * B * NADE_HCHUNK; /* floats per thread */
    int nt = gm_op_threads(ctx, B * D * H);
    if (nt > nchunk) nt = (int)nchunk;
    float *scratch = gm_arena_alloc(ctx, (size_t)(per * nt) * sizeof(float));
    if (!scratch) return;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t ch = 0; ch < nchunk; ch++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        float *ck = scratch + tid * per, *hb = ck + nblk * B * NADE_HCHUNK, *a = hb + NADE_BLOCK * B * NADE_HCHUNK;
        float *S = a + B * NADE_HCHUNK;
        int64_t j0 = ch * NADE_HCHUNK, w = H - j0 < NADE_HCHUNK ? H - j0 : NADE_HCHUNK;
        if (w == NADE_HCHUNK)
            nade_bwd_chunk_full(j0, B, D, H, x, W->data, c->data, V->data, order, g, ck, hb, a, S, gW, gc, gV);
        else
            nade_bwd_chunk_tail(j0, w, B, D, H, x, W->data, c->data, V->data, order, g, ck, hb, a, S, gW, gc, gV);
    }
}

static int shape_is(const gm_tensor *t, int nd, int64_t s0, int64_t s1) {
    return t->ndim == nd && t->shape[0] == s0 && (nd == 1 || t->shape[1] == s1);
}

gm_tensor *gm_nade_logits(gm_ctx *ctx, gm_tensor *x, gm_tensor *W, gm_tensor *c, gm_tensor *V, gm_tensor *b,
                          const int64_t *order) {
    if (!gm_op_begin(ctx, GM_OP_NADE, 5, x, W, c, V, b)) return NULL;
    if (!order) return gm_ctx_fail(ctx, GM_ERR_ARG, "nade_logits: NULL order");
    if (x->ndim != 2 || W->ndim != 2) return gm_ctx_fail(ctx, GM_ERR_SHAPE, "nade_logits: x and W must be 2-D");
    int64_t B = x->shape[0], D = x->shape[1], H = W->shape[1];
    if (!shape_is(W, 2, D, H) || !shape_is(c, 1, H, 0) || !shape_is(V, 2, D, H) || !shape_is(b, 1, D, 0))
        return gm_ctx_fail(ctx, GM_ERR_SHAPE,
                           "nade_logits: expected x (B,D), W (D,H), c (H), V (D,H), b (D) with D=%lld, H=%lld",
                           (long long)D, (long long)H);
    if (!gm_is_contiguous(W) || !gm_is_contiguous(c) || !gm_is_contiguous(V) || !gm_is_contiguous(b))
        return gm_ctx_fail(ctx, GM_ERR_ARG, "nade_logits: parameters must be contiguous");
    if (x->requires_grad) return gm_ctx_fail(ctx, GM_ERR_ARG, "nade_logits: x is data and takes no gradient");
    int64_t *ord = gm_arena_alloc(ctx, (size_t)(D > 0 ? D : 1) * (sizeof(int64_t) + 1));
    if (!ord) return NULL;
    unsigned char *seen = (unsigned char *)(ord + D);
    if (D > 0) memset(seen, 0, (size_t)D);
    for (int64_t k = 0; k < D; k++) {
        if (order[k] < 0 || order[k] >= D || seen[order[k]])
            return gm_ctx_fail(ctx, GM_ERR_ARG, "nade_logits: order is not a permutation of 0..%lld (entry %lld)",
                               (long long)D - 1, (long long)k);
        seen[order[k]] = 1;
        ord[k] = order[k];
    }
    const float *xd = gm_contig(ctx, x);
    if (!xd) return NULL;
    int64_t oshape[2] = {B, D};
    gm_tensor *out = gm_op_out(ctx, 2, oshape);
    if (!out) return NULL;
    if (gm_get_backend(ctx) == GM_BACKEND_REF) {
        float *a = gm_arena_alloc(ctx, (size_t)(H > 0 ? H : 1) * sizeof(float)); // (H)
        if (!a) return NULL;
        nade_fwd_ref(B, D, H, xd, W->data, c->data, V->data, b->data, ord, a, out->data);
    } else {
        int64_t ntile = (B + NADE_ROW_TILE - 1) / NADE_ROW_TILE;
        int nt = gm_op_threads(ctx, B * D * H);
        if (nt > ntile) nt = (int)ntile;
        if (nt < 1) nt = 1;
        size_t per = (size_t)(2 * NADE_ROW_TILE * (H > 0 ? H : 1));
        float *scratch = gm_arena_alloc(ctx, per * (size_t)nt * sizeof(float)); // nt × (a, h) (TILE, H)
        if (!scratch) return NULL;
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t t = 0; t < ntile; t++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            float *a = scratch + (size_t)tid * per, *h = a + NADE_ROW_TILE * H;
            int64_t r0 = t * NADE_ROW_TILE, r1 = r0 + NADE_ROW_TILE < B ? r0 + NADE_ROW_TILE : B;
            nade_fwd_tile(r0, r1, D, H, xd, W->data, c->data, V->data, b->data, ord, a, h, out->data);
        }
    }
    gm_node *n = gm_op_record(ctx, GM_OP_NADE, nade_backward, out, 4, W, c, V, b);
    if (n) {
        n->i[0] = B; n->i[1] = D; n->i[2] = H;
        n->cptr = xd;
        n->saved = ord;
    }
    return gm_op_end(ctx, GM_OP_NADE, out);
}
