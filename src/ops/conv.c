/*
 * conv.c — 2-d convolution and transposed convolution (NCHW), forward and backward.
 *
 * Both ops are built from three primitives relating a "big" image (Cb, Hb, Wb)
 * and a "small" image (Cs, Hs, Ws) through a kernel w (Cs, Cb, kh, kw) with
 * stride, padding and dilation (ih = oh*sh - ph + i*dh, iw likewise):
 *   fwd:   small[b,s,oh,ow] += Σ_{c,i,j} w[s,c,i,j] · big[b,c,ih,iw]
 *   adj:   big += fwdᵀ(small)            (the adjoint of fwd in its image)
 *   wgrad: w   += Σ_{b,oh,ow} small[b,s,oh,ow] · big[b,c,ih,iw]
 * conv2d:           big = x, small = y:  forward = fwd,  dX = adj(dY),  dW = wgrad(dY, x)
 * conv_transpose2d: big = y, small = x:  forward = adj,  dX = fwd(dY),  dW = wgrad(x, dY)
 * (the weight layouts (O,C,kh,kw) and torch's (C_in,O,kh,kw) are both (Cs,Cb,kh,kw)).
 *
 * REF backend: direct loops with double accumulation, single-threaded.
 * FAST backend: stride-1 narrow layers go to the direct kernels of
 * conv_direct.c (gm_conv_direct_ok says which); the rest to im2col / col2im
 * + gm_sgemm over chunks of images (one GEMM per chunk; col buffer from the
 * arena, about 8 MB at most unless one image needs more), OpenMP over
 * rows/planes for the copies; every output element is written by one thread
 * in a fixed order, so results are deterministic.
 * conv2d_fused = residual + conv2d(relu(x)) in one op: on the direct path the
 * ReLU is applied while padding, the residual added while storing, and the
 * ReLU's gradient mask applied while storing dX; elsewhere it is composed
 * from the same primitives with a ReLU'd copy of x.
 * Not here: groups / depthwise, 1-d or 3-d conv, NHWC, pooling (pool.c).
 */
#include "conv_internal.h"
#include "kernels/gemm.h"
#include <string.h>

#define COL_CAP_FLOATS ((int64_t)1 << 21) /* col buffer budget per op call (8 MB) */
#define PAR_MIN 32768                    /* elements below which copies stay single-threaded */

/* What backward needs: geometry and contiguous input/weight data. */
typedef struct conv_saved {
    conv_geom g;
    const float *xd, *wd;
    const float *xpad;  /* direct path: x's zero-padded planes from the forward, or NULL */
    const float *xmask; /* conv2d_fused with relu_in: x before the ReLU (its gradient's mask), else NULL */
} conv_saved;

/* ---- reference kernels (direct loops, double accumulation) ---- */

static void fwd_ref(const conv_geom *g, const float *big, const float *w, float *small) {
    int64_t Nb = g->Hb * g->Wb, Ns = g->Hs * g->Ws, K = g->kh * g->kw;
    for (int64_t b = 0; b < g->B; b++)
        for (int64_t s = 0; s < g->Cs; s++)
            for (int64_t oh = 0; oh < g->Hs; oh++)
                for (int64_t ow = 0; ow < g->Ws; ow++) {
                    double acc = 0.0;
                    for (int64_t c = 0; c < g->Cb; c++) {
                        const float *bp = big + (b * g->Cb + c) * Nb;  // (Hb, Wb)
                        const float *wp = w + (s * g->Cb + c) * K;     // (kh, kw)
                        for (int64_t i = 0; i < g->kh; i++) {
                            int64_t ih = oh * g->sh - g->ph + i * g->dh;
                            if (ih < 0 || ih >= g->Hb) continue;
                            for (int64_t j = 0; j < g->kw; j++) {
                                int64_t iw = ow * g->sw - g->pw + j * g->dw;
                                if (iw < 0 || iw >= g->Wb) continue;
                                acc += (double)wp[i * g->kw + j] * (double)bp[ih * g->Wb + iw];
                            }
                        }
                    }
                    small[(b * g->Cs + s) * Ns + oh * g->Ws + ow] += (float)acc;
                }
}

/* Output index o along one axis that reads input position t - i*d, if any. */
static inline int64_t src_index(int64_t t, int64_t pad, int64_t i, int64_t dil, int64_t stride, int64_t n) {
    int64_t u = t + pad - i * dil;
    if (u < 0 || u % stride) return -1;
    u /= stride;
    return u < n ? u : -1;
}

static void adj_ref(const conv_geom *g, const float *small, const float *w, float *big) {
    int64_t Nb = g->Hb * g->Wb, Ns = g->Hs * g->Ws, K = g->kh * g->kw;
    for (int64_t b = 0; b < g->B; b++)
        for (int64_t c = 0; c < g->Cb; c++)
            for (int64_t ih = 0; ih < g->Hb; ih++)
                for (int64_t iw = 0; iw < g->Wb; iw++) {
                    double acc = 0.0;
                    for (int64_t s = 0; s < g->Cs; s++) {
                        const float *sp = small + (b * g->Cs + s) * Ns;  // (Hs, Ws)
                        const float *wp = w + (s * g->Cb + c) * K;       // (kh, kw)
                        for (int64_t i = 0; i < g->kh; i++) {
                            int64_t oh = src_index(ih, g->ph, i, g->dh, g->sh, g->Hs);
                            if (oh < 0) continue;
                            for (int64_t j = 0; j < g->kw; j++) {
                                int64_t ow = src_index(iw, g->pw, j, g->dw, g->sw, g->Ws);
                                if (ow < 0) continue;
                                acc += (double)wp[i * g->kw + j] * (double)sp[oh * g->Ws + ow];
                            }
                        }
                    }
                    big[(b * g->Cb + c) * Nb + ih * g->Wb + iw] += (float)acc;
                }
}

static void wgrad_ref(const conv_geom *g, const float *small, const float *big, float *gw) {
    int64_t Nb = g->Hb * g->Wb, Ns = g->Hs * g->Ws, K = g->kh * g->kw;
    for (int64_t s = 0; s < g->Cs; s++)
        for (int64_t c = 0; c < g->Cb; c++)
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j = 0; j < g->kw; j++) {
                    double acc = 0.0;
                    for (int64_t b = 0; b < g->B; b++) {
                        const float *sp = small + (b * g->Cs + s) * Ns, *bp = big + (b * g->Cb + c) * Nb;
                        for (int64_t oh = 0; oh < g->Hs; oh++) {
                            int64_t ih = oh * g->sh - g->ph + i * g->dh;
                            if (ih < 0 || ih >= g->Hb) continue;
                            for (int64_t ow = 0; ow < g->Ws; ow++) {
                                int64_t iw = ow * g->sw - g->pw + j * g->dw;
                                if (iw < 0 || iw >= g->Wb) continue;
                                acc += (double)sp[oh * g->Ws + ow] * (double)bp[ih * g->Wb + iw];
                            }
                        }
                    }
                    gw[(s * g->Cb + c) * K + i * g->kw + j] += (float)acc;
                }
}

/* ---- fast kernels: im2col / col2im + GEMM ---- */

/* Range [*lo, *hi) of output positions o in [0, n_out) with 0 <= o*stride + off < n_in. */
static void valid_range(int64_t off, int64_t stride, int64_t n_in, int64_t n_out, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t h = (n_in - 1 - off) < 0 ? 0 : (n_in - 1 - off) / stride + 1;
    if (l > n_out) l = n_out;
    if (h > n_out) h = n_out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* col (Cb*kh*kw, nb*Hs*Ws): row (c,i,j), column (image bb, oh, ow) = big[b0+bb, c, ih, iw] or 0. */
static void im2col(const conv_geom *g, const float *big, int64_t b0, int64_t nb, float *col) {
    int64_t K = g->kh * g->kw, rows = g->Cb * K, Ns = g->Hs * g->Ws, Nb = g->Hb * g->Wb, ld = nb * Ns;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(rows * ld)) if (rows * ld > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t c = r / K, i = (r % K) / g->kw, j = r % g->kw;
        int64_t off = j * g->dw - g->pw, lo, hi;
        valid_range(off, g->sw, g->Wb, g->Ws, &lo, &hi);
        for (int64_t bb = 0; bb < nb; bb++) {
            const float *src = big + ((b0 + bb) * g->Cb + c) * Nb;  // (Hb, Wb)
            float *dst = col + r * ld + bb * Ns;                     // (Hs, Ws)
            for (int64_t oh = 0; oh < g->Hs; oh++) {
                int64_t ih = oh * g->sh - g->ph + i * g->dh;
                float *d = dst + oh * g->Ws;
                if (ih < 0 || ih >= g->Hb) { memset(d, 0, sizeof(float) * (size_t)g->Ws); continue; }
                const float *srow = src + ih * g->Wb;
                for (int64_t ow = 0; ow < lo; ow++) d[ow] = 0.0f;
                if (g->sw == 1) /* one contiguous run: memcpy beats an element loop on short rows */
                    memcpy(d + lo, srow + lo + off, sizeof(float) * (size_t)(hi - lo));
                else
                    for (int64_t ow = lo; ow < hi; ow++) d[ow] = srow[ow * g->sw + off];
                for (int64_t ow = hi; ow < g->Ws; ow++) d[ow] = 0.0f;
            }
        }
    }
}

/* big[b0+bb] += col2im(col): the adjoint of im2col; one thread per (image, channel) plane. */
static void col2im_add(const conv_geom *g, const float *col, int64_t b0, int64_t nb, float *big) {
    int64_t K = g->kh * g->kw, Ns = g->Hs * g->Ws, Nb = g->Hb * g->Wb, ld = nb * Ns, planes = nb * g->Cb;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(planes * K * Ns)) if (planes * K * Ns > PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        int64_t bb = p / g->Cb, c = p % g->Cb;
        float *dst = big + ((b0 + bb) * g->Cb + c) * Nb;  // (Hb, Wb)
        for (int64_t i = 0; i < g->kh; i++)
            for (int64_t j = 0; j < g->kw; j++) {
                const float *src = col + (c * K + i * g->kw + j) * ld + bb * Ns;  // (Hs, Ws)
                int64_t off = j * g->dw - g->pw, lo, hi;
                valid_range(off, g->sw, g->Wb, g->Ws, &lo, &hi);
                for (int64_t oh = 0; oh < g->Hs; oh++) {
                    int64_t ih = oh * g->sh - g->ph + i * g->dh;
                    if (ih < 0 || ih >= g->Hb) continue;
                    float *drow = dst + ih * g->Wb;
                    const float *s = src + oh * g->Ws;
                    if (g->sw == 1) {
                        float *restrict dr = drow + off;
                        const float *restrict sr = s;
                        for (int64_t ow = lo; ow < hi; ow++) dr[ow] += sr[ow];
                    } else {
                        for (int64_t ow = lo; ow < hi; ow++) drow[ow * g->sw + off] += s[ow];
                    }
                }
            }
    }
}

/* G (Cs, nb*Ns) <- small images [b0, b0+nb) (B, Cs, Ns); or the reverse with +=. */
static void gather_small(const conv_geom *g, const float *small, int64_t b0, int64_t nb, float *G) {
    int64_t Ns = g->Hs * g->Ws, rows = g->Cs * nb;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(rows * Ns)) if (rows * Ns > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t s = r / nb, bb = r % nb;
        memcpy(G + s * nb * Ns + bb * Ns, small + ((b0 + bb) * g->Cs + s) * Ns, sizeof(float) * (size_t)Ns);
    }
}

static void scatter_small_add(const conv_geom *g, const float *G, int64_t b0, int64_t nb, float *small) {
    int64_t Ns = g->Hs * g->Ws, rows = g->Cs * nb;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(rows * Ns)) if (rows * Ns > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t s = r / nb, bb = r % nb;
        const float *src = G + s * nb * Ns + bb * Ns;
        float *dst = small + ((b0 + bb) * g->Cs + s) * Ns;
        for (int64_t n = 0; n < Ns; n++) dst[n] += src[n];
    }
}

/* Images per chunk so that one col buffer stays under COL_CAP_FLOATS (at least 1). */
static int64_t chunk_images(const conv_geom *g) {
    int64_t per = g->Cb * g->kh * g->kw * g->Hs * g->Ws;
    int64_t nb = per > 0 ? COL_CAP_FLOATS / per : g->B;
    if (nb < 1) nb = 1;
    if (nb > g->B) nb = g->B;
    return nb;
}

/* Arena buffers for one chunk: col (CKK, nb*Ns) and, if nb > 1, G (Cs, nb*Ns). */
static int chunk_buffers(gm_ctx *ctx, const conv_geom *g, int64_t nb, float **col, float **G) {
    int64_t Ns = g->Hs * g->Ws, CKK = g->Cb * g->kh * g->kw;
    *col = gm_arena_alloc(ctx, sizeof(float) * (size_t)(CKK * nb * Ns));
    *G = nb > 1 ? gm_arena_alloc(ctx, sizeof(float) * (size_t)(g->Cs * nb * Ns)) : NULL;
    return *col != NULL && (nb == 1 || *G != NULL);
}

/* small += W (Cs, CKK) · im2col(big) per chunk. */
static void fwd_fast(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, float *small) {
    gm_arena_mark mark = gm_arena_get_mark(ctx); /* the column buffers are scratch */
    int64_t Ns = g->Hs * g->Ws, CKK = g->Cb * g->kh * g->kw, nb = chunk_images(g);
    float *col, *T;
    if (g->B == 0 || !chunk_buffers(ctx, g, nb, &col, &T)) { gm_arena_release(ctx, mark); return; }
    for (int64_t b0 = 0; b0 < g->B; b0 += nb) {
        int64_t n = g->B - b0 < nb ? g->B - b0 : nb, ld = n * Ns;
        im2col(g, big, b0, n, col);
        if (n == 1) {
            gm_sgemm(GM_BACKEND_FAST, 0, 0, g->Cs, Ns, CKK, 1.0f, w, CKK, col, Ns, 1.0f, small + b0 * g->Cs * Ns, Ns);
        } else {
            gm_sgemm(GM_BACKEND_FAST, 0, 0, g->Cs, ld, CKK, 1.0f, w, CKK, col, ld, 0.0f, T, ld);  // (Cs, n*Ns)
            scatter_small_add(g, T, b0, n, small);
        }
    }
    gm_arena_release(ctx, mark);
}

/* big += col2im(Wᵀ (CKK, Cs) · small) per chunk. */
static void adj_fast(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big) {
    gm_arena_mark mark = gm_arena_get_mark(ctx); /* the column buffers are scratch */
    int64_t Ns = g->Hs * g->Ws, CKK = g->Cb * g->kh * g->kw, nb = chunk_images(g);
    float *colg, *G;
    if (g->B == 0 || !chunk_buffers(ctx, g, nb, &colg, &G)) { gm_arena_release(ctx, mark); return; }
    for (int64_t b0 = 0; b0 < g->B; b0 += nb) {
        int64_t n = g->B - b0 < nb ? g->B - b0 : nb, ld = n * Ns;
        const float *Gp = small + b0 * g->Cs * Ns;
        if (n > 1) { gather_small(g, small, b0, n, G); Gp = G; }
        gm_sgemm(GM_BACKEND_FAST, 1, 0, CKK, ld, g->Cs, 1.0f, w, CKK, Gp, ld, 0.0f, colg, ld);  // (CKK, n*Ns)
        col2im_add(g, colg, b0, n, big);
    }
    gm_arena_release(ctx, mark);
}

/* gw (Cs, CKK) += small (Cs, nb*Ns) · im2col(big)ᵀ per chunk. */
static void wgrad_fast(gm_ctx *ctx, const conv_geom *g, const float *small, const float *big, float *gw) {
    gm_arena_mark mark = gm_arena_get_mark(ctx); /* the column buffers are scratch */
    int64_t Ns = g->Hs * g->Ws, CKK = g->Cb * g->kh * g->kw, nb = chunk_images(g);
    float *col, *G;
    if (g->B == 0 || !chunk_buffers(ctx, g, nb, &col, &G)) { gm_arena_release(ctx, mark); return; }
    for (int64_t b0 = 0; b0 < g->B; b0 += nb) {
        int64_t n = g->B - b0 < nb ? g->B - b0 : nb, ld = n * Ns;
        const float *Gp = small + b0 * g->Cs * Ns;
        if (n > 1) { gather_small(g, small, b0, n, G); Gp = G; }
        im2col(g, big, b0, n, col);
        gm_sgemm(GM_BACKEND_FAST, 0, 1, g->Cs, CKK, ld, 1.0f, Gp, ld, col, ld, 1.0f, gw, CKK);
    }
    gm_arena_release(ctx, mark);
}

/* ---- backend dispatch and shared pieces ---- */

/* The FAST backend on a geometry the direct kernels take. */
static int use_direct(gm_ctx *ctx, const conv_geom *g) {
    return gm_get_backend(ctx) != GM_BACKEND_REF && gm_conv_direct_ok(g);
}

static void prim_fwd(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, float *small) {
    if (gm_get_backend(ctx) == GM_BACKEND_REF) fwd_ref(g, big, w, small);
    else if (gm_conv_direct_ok(g)) gm_conv_direct_fwd(ctx, g, big, w, small);
    else fwd_fast(ctx, g, big, w, small);
}

static void prim_adj(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big) {
    if (gm_get_backend(ctx) == GM_BACKEND_REF) adj_ref(g, small, w, big);
    else if (gm_conv_direct_ok(g)) gm_conv_direct_adj(ctx, g, small, w, big);
    else adj_fast(ctx, g, small, w, big);
}

static void prim_wgrad(gm_ctx *ctx, const conv_geom *g, const float *small, const float *big, float *gw) {
    if (gm_get_backend(ctx) == GM_BACKEND_REF) wgrad_ref(g, small, big, gw);
    else if (gm_conv_direct_ok(g)) gm_conv_direct_wgrad(ctx, g, small, big, NULL, gw);
    else wgrad_fast(ctx, g, small, big, gw);
}

/* out (B, C, N) = bias[c] (or 0 without bias). */
static void fill_bias(float *out, const float *bias, int64_t B, int64_t C, int64_t N) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            float v = bias ? bias[c] : 0.0f;
            float *o = out + (b * C + c) * N;
            for (int64_t n = 0; n < N; n++) o[n] = v;
        }
}

/* gb[c] += Σ_{b,n} gy[b,c,n]; one channel per thread, fixed order: each plane
 * is summed in 8 float lanes (a vectorisable loop), the lanes and planes in double. */
static void bias_grad(const float *gy, int64_t B, int64_t C, int64_t N, float *gb) {
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(B * C * N)) if (B * C * N > PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double acc = 0.0;
        for (int64_t b = 0; b < B; b++) {
            const float *restrict p = gy + (b * C + c) * N;
            float lane[8] = {0};
            int64_t n8 = N & ~(int64_t)7;
            for (int64_t n = 0; n < n8; n += 8)
                for (int k = 0; k < 8; k++) lane[k] += p[n + k];
            for (int64_t n = n8; n < N; n++) lane[n - n8] += p[n];
            for (int k = 0; k < 8; k++) acc += lane[k];
        }
        gb[c] += (float)acc;
    }
}

/* Always 0: lets checks write `return fail0(gm_ctx_fail(...));`. */
static int fail0(const gm_tensor *unused) { (void)unused; return 0; }

/* Checks stride/dilation > 0, padding >= 0 and output padding; 0 (sticky error) if bad. */
static int check_params(gm_ctx *ctx, const char *op, const gm_conv_params *p, int transposed) {
    if (p->stride_h < 1 || p->stride_w < 1)
        return fail0(gm_ctx_fail(ctx, GM_ERR_ARG, "%s: stride (%d, %d) must be positive", op, p->stride_h, p->stride_w));
    if (p->dil_h < 1 || p->dil_w < 1)
        return fail0(gm_ctx_fail(ctx, GM_ERR_ARG, "%s: dilation (%d, %d) must be positive", op, p->dil_h, p->dil_w));
    if (p->pad_h < 0 || p->pad_w < 0)
        return fail0(gm_ctx_fail(ctx, GM_ERR_ARG, "%s: padding (%d, %d) must be >= 0", op, p->pad_h, p->pad_w));
    if (!transposed && (p->out_pad_h || p->out_pad_w))
        return fail0(gm_ctx_fail(ctx, GM_ERR_ARG, "%s: output padding (%d, %d) is for conv_transpose2d only", op,
                            p->out_pad_h, p->out_pad_w));
    if (transposed && (p->out_pad_h < 0 || p->out_pad_w < 0 ||
                       (p->out_pad_h >= p->stride_h && p->out_pad_h >= p->dil_h) ||
                       (p->out_pad_w >= p->stride_w && p->out_pad_w >= p->dil_w)))
        return fail0(gm_ctx_fail(ctx, GM_ERR_ARG,
                            "%s: output padding (%d, %d) must be >= 0 and smaller than stride (%d, %d) or dilation (%d, %d)",
                            op, p->out_pad_h, p->out_pad_w, p->stride_h, p->stride_w, p->dil_h, p->dil_w));
    return 1;
}

/* Checks x (B,C,H,W), w 4-d with w->shape[wc] == C and kh, kw, other dim >= 1,
 * bias (w->shape[1-wc]) or NULL. 0 (sticky error) if bad. */
static int check_shapes(gm_ctx *ctx, const char *op, const gm_tensor *x, const gm_tensor *w, const gm_tensor *bias,
                        int wc) {
    char sx[64], sw[64], sb[64];
    gm_shape_str(x, sx, sizeof sx);
    gm_shape_str(w, sw, sizeof sw);
    if (x->ndim != 4 || w->ndim != 4)
        return fail0(gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: input %s must be (B,C,H,W) and weight %s 4-d", op, sx, sw));
    if (x->shape[1] != w->shape[wc])
        return fail0(gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: input %s has %lld channels but weight %s expects %lld", op, sx,
                            (long long)x->shape[1], sw, (long long)w->shape[wc]));
    if (x->shape[1] < 1 || x->shape[2] < 1 || x->shape[3] < 1 || w->numel < 1)
        return fail0(gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: empty input %s or weight %s", op, sx, sw));
    if (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[1 - wc]))
        return fail0(gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: bias %s must be (%lld) for weight %s", op,
                            gm_shape_str(bias, sb, sizeof sb), (long long)w->shape[1 - wc], sw));
    return 1;
}

/* ---- conv2d and conv2d_fused ---- */

/* y = x > 0 ? x : 0 into the arena (the input of a fused conv off the direct path). */
static float *relu_copy(gm_ctx *ctx, const float *x, int64_t n) {
    float *r = gm_arena_alloc(ctx, sizeof(float) * (size_t)n);
    if (!r) return NULL;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(n)) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) r[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return r;
}

static void conv2d_backward(gm_ctx *ctx, gm_node *n) {
    const conv_saved *s = n->saved;
    const conv_geom *g = &s->g;
    const float *gy = n->out->grad;  // (B, O, Ho, Wo) = small
    gm_tensor *x = n->in[0], *res = n->in[3];
    int fresh;
    if (x->requires_grad && use_direct(ctx, g)) {
        /* a gradient buffer not allocated yet is written, not zero-filled then accumulated */
        float *gx = gm_grad_buf_uninit(ctx, x, &fresh);
        if (!gx) return;
        gm_conv_direct_adj_ex(ctx, g, gy, s->wd, fresh, s->xmask, gx);
    } else if (x->requires_grad) {
        float *gx = gm_grad_buf(ctx, x);
        if (!gx) return;
        if (!s->xmask) {
            prim_adj(ctx, g, gy, s->wd, gx);
        } else { /* through the ReLU: adj into a scratch buffer, then masked */
            gm_arena_mark mark = gm_arena_get_mark(ctx);
            float *t = gm_arena_calloc(ctx, sizeof(float) * (size_t)x->numel);
            if (!t) return;
            prim_adj(ctx, g, gy, s->wd, t);
            const float *m = s->xmask;
            int64_t nx = x->numel;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(nx)) if (nx > PAR_MIN)
            for (int64_t i = 0; i < nx; i++) gx[i] += m[i] > 0.0f ? t[i] : 0.0f;
            gm_arena_release(ctx, mark);
        }
    }
    float *gw = gm_grad_buf(ctx, n->in[1]), *gb = gm_grad_buf(ctx, n->in[2]);
    if (gw && s->xpad) gm_conv_direct_wgrad(ctx, g, gy, s->xd, s->xpad, gw);
    else if (gw) prim_wgrad(ctx, g, gy, s->xd, gw);
    if (gb) bias_grad(gy, g->B, g->Cs, g->Hs * g->Ws, gb);
    float *gr = gm_grad_buf_uninit(ctx, res, &fresh);  /* the residual's gradient is gy itself */
    if (gr) {
        int64_t nr = res->numel;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(nr)) if (nr > PAR_MIN)
        for (int64_t i = 0; i < nr; i++) gr[i] = fresh ? gy[i] : gr[i] + gy[i];
    }
}

/* conv2d (op GM_OP_CONV2D, relu_in 0, res NULL) or conv2d_fused. */
static gm_tensor *conv2d_impl(gm_ctx *ctx, gm_op opc, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_tensor *res,
                              gm_conv_params p, int relu_in) {
    const char *op = gm_op_name(opc);
    if (!gm_op_begin(ctx, opc, 2, x, w)) return NULL;
    if (!check_params(ctx, op, &p, 0) || !check_shapes(ctx, op, x, w, bias, 1)) return NULL;
    conv_geom g = {x->shape[0], x->shape[1], x->shape[2], x->shape[3], w->shape[0], 0, 0, w->shape[2], w->shape[3],
                   p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w};
    int64_t eh = g.Hb + 2 * g.ph - g.dh * (g.kh - 1), ew = g.Wb + 2 * g.pw - g.dw * (g.kw - 1);  // effective extent
    if (eh < 1 || ew < 1) {
        char sx[64], sw[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: kernel of weight %s (dilation %d, %d) is larger than input %s padded by (%d, %d)",
                           op, gm_shape_str(w, sw, sizeof sw), p.dil_h, p.dil_w, gm_shape_str(x, sx, sizeof sx), p.pad_h, p.pad_w);
    }
    g.Hs = (eh - 1) / g.sh + 1;
    g.Ws = (ew - 1) / g.sw + 1;
    int64_t shape[4] = {g.B, g.Cs, g.Hs, g.Ws};
    if (res && (res->ndim != 4 || res->shape[0] != g.B || res->shape[1] != g.Cs || res->shape[2] != g.Hs ||
                res->shape[3] != g.Ws)) {
        char sr[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: residual %s must have the output's shape (%lld, %lld, %lld, %lld)", op,
                           gm_shape_str(res, sr, sizeof sr), (long long)g.B, (long long)g.Cs, (long long)g.Hs,
                           (long long)g.Ws);
    }
    const float *xd = gm_contig(ctx, x), *wd = gm_contig(ctx, w);
    const float *bd = bias ? gm_contig(ctx, bias) : NULL, *rd = res ? gm_contig(ctx, res) : NULL;
    if (!xd || !wd || (bias && !bd) || (res && !rd)) return NULL;
    gm_tensor *y = gm_op_out(ctx, 4, shape);
    if (!y) return NULL;
    float *keep = NULL;
    const float *xconv = xd;  /* what is convolved: x or relu(x) */
    if (use_direct(ctx, &g)) {
        if (gm_grad_enabled(ctx) && w->requires_grad) { /* the weight gradient reuses the padded input */
            keep = gm_arena_alloc(ctx, sizeof(float) * (size_t)gm_conv_direct_padded_floats(&g));
            if (!keep) return NULL;
        }
        gm_conv_direct_fwd_ex(ctx, &g, xd, wd, 1, bd, rd, relu_in, keep, y->data);  /* y = res + (bias + conv) */
    } else {
        if (relu_in && !(xconv = relu_copy(ctx, xd, x->numel))) return NULL;
        fill_bias(y->data, bd, g.B, g.Cs, g.Hs * g.Ws);
        prim_fwd(ctx, &g, xconv, wd, y->data);
        if (rd) {
            float *yd = y->data;
            for (int64_t i = 0; i < y->numel; i++) yd[i] = rd[i] + yd[i];
        }
    }
    if (gm_ctx_status(ctx) != GM_OK) return NULL;
    gm_node *n = gm_op_record(ctx, opc, conv2d_backward, y, 4, x, w, bias, res);
    if (n) {
        conv_saved *s = gm_arena_alloc(ctx, sizeof *s);
        if (!s) return NULL;
        s->g = g; s->xd = xconv; s->wd = wd; s->xpad = keep; s->xmask = relu_in ? xd : NULL;
        n->saved = s;
    }
    return gm_op_end(ctx, opc, y);
}

/* 2-d convolution (cross-correlation, as torch): x (B,C,H,W), w (O,C,kh,kw),
 * bias (O) or NULL -> (B,O,Ho,Wo), Ho = (H + 2*pad - dil*(kh-1) - 1)/stride + 1.
 * Returns NULL (sticky GM_ERR_SHAPE / GM_ERR_ARG) on bad shapes or parameters. */
gm_tensor *gm_conv2d(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_conv_params p) {
    return conv2d_impl(ctx, GM_OP_CONV2D, x, w, bias, NULL, p, 0);
}

/* res + conv2d(relu_in ? relu(x) : x, w, bias), fused; res (the output's shape) or NULL. */
gm_tensor *gm_conv2d_fused(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_tensor *res,
                           gm_conv_params p, int relu_in) {
    return conv2d_impl(ctx, GM_OP_CONV2D_FUSED, x, w, bias, res, p, relu_in != 0);
}

/* ---- conv_transpose2d: the adjoint of conv2d ---- */

static void conv_transpose2d_backward(gm_ctx *ctx, gm_node *n) {
    const conv_saved *s = n->saved;
    const conv_geom *g = &s->g;
    const float *gy = n->out->grad;  // (B, O, Ho, Wo) = big
    float *gx = gm_grad_buf(ctx, n->in[0]), *gw = gm_grad_buf(ctx, n->in[1]), *gb = gm_grad_buf(ctx, n->in[2]);
    if (gx) prim_fwd(ctx, g, gy, s->wd, gx);
    if (gw) prim_wgrad(ctx, g, s->xd, gy, gw);
    if (gb) bias_grad(gy, g->B, g->Cb, g->Hb * g->Wb, gb);
}

/* Transposed conv (the adjoint of gm_conv2d with the same weight): x (B,C,H,W),
 * w (C,O,kh,kw), bias (O) or NULL -> (B,O,Ho,Wo) with
 * Ho = (H-1)*stride - 2*pad + dil*(kh-1) + out_pad + 1; out_pad must be smaller
 * than stride or dilation (as torch). NULL (sticky error) on bad input. */
gm_tensor *gm_conv_transpose2d(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_conv_params p) {
    const char *op = "conv_transpose2d";
    if (!gm_op_begin(ctx, GM_OP_CONV_TRANSPOSE2D, 2, x, w)) return NULL;
    if (!check_params(ctx, op, &p, 1) || !check_shapes(ctx, op, x, w, bias, 0)) return NULL;
    conv_geom g = {x->shape[0], w->shape[1], 0, 0, x->shape[1], x->shape[2], x->shape[3], w->shape[2], w->shape[3],
                   p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.dil_h, p.dil_w};
    g.Hb = (g.Hs - 1) * g.sh - 2 * g.ph + g.dh * (g.kh - 1) + p.out_pad_h + 1;
    g.Wb = (g.Ws - 1) * g.sw - 2 * g.pw + g.dw * (g.kw - 1) + p.out_pad_w + 1;
    if (g.Hb < 1 || g.Wb < 1) {
        char sx[64], sw[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: input %s with weight %s, stride (%d, %d), padding (%d, %d) gives an empty output (%lld, %lld)",
                           op, gm_shape_str(x, sx, sizeof sx), gm_shape_str(w, sw, sizeof sw), p.stride_h, p.stride_w,
                           p.pad_h, p.pad_w, (long long)g.Hb, (long long)g.Wb);
    }
    const float *xd = gm_contig(ctx, x), *wd = gm_contig(ctx, w);
    const float *bd = bias ? gm_contig(ctx, bias) : NULL;
    if (!xd || !wd || (bias && !bd)) return NULL;
    int64_t shape[4] = {g.B, g.Cb, g.Hb, g.Wb};
    gm_tensor *y = gm_op_out(ctx, 4, shape);
    if (!y) return NULL;
    fill_bias(y->data, bd, g.B, g.Cb, g.Hb * g.Wb);
    prim_adj(ctx, &g, xd, wd, y->data);
    if (gm_ctx_status(ctx) != GM_OK) return NULL;
    gm_node *n = gm_op_record(ctx, GM_OP_CONV_TRANSPOSE2D, conv_transpose2d_backward, y, 3, x, w, bias);
    if (n) {
        conv_saved *s = gm_arena_alloc(ctx, sizeof *s);
        if (!s) return NULL;
        s->g = g; s->xd = xd; s->wd = wd; s->xpad = NULL; s->xmask = NULL;
        n->saved = s;
    }
    return gm_op_end(ctx, GM_OP_CONV_TRANSPOSE2D, y);
}
