/*
 * conv_direct.c — direct stride-1 convolution kernels (AVX2+FMA) for the
 * narrow layers of flow conditioners and small conv nets, where im2col + GEMM
 * spends most of its time unfolding columns and packing thin matrices.
 *
 * The "flattened padded plane" trick: each input plane is copied once into a
 * zero-padded buffer with row stride Wp; then every kernel tap (i, j) is the
 * constant offset i*Wp + j, and output position q = oh*Wp + ow (ow < Wo; the
 * kw-1 columns past Wo are computed and dropped) is
 *     y[s, q] = Σ_{c, i, j} w[s, c, i, j] · xp[c, q + i*Wp + j].
 * Register tile: 4 output channels x 24 positions (12 accumulators), weights
 * broadcast, inputs loaded unaligned. The adjoint is the same loop on the
 * zero-padded output gradient with the kernel flipped and transposed; the
 * weight gradient is Σ_q dy[s, q] · xp[c, q + i*Wp + j] with a tile of
 * 4 output channels x 3 taps of one kernel row.
 *
 * Threads take images as they come (each output image is computed the same
 * way whichever thread does it); weight-gradient partials are kept per fixed
 * group of images and per SIMD lane and summed in a fixed order at the end,
 * so no result depends on the thread count. conv.c keeps the im2col path
 * (and the double-precision reference) for everything this file refuses.
 * Not here: strides, dilation, groups, NHWC, non-AVX2 builds.
 */
#include "conv_internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define SBLK 4   /* output channels per register tile */
#define QBLK 24  /* positions per register tile (3 vectors) */
#define MAXK 49  /* kernel taps (7x7) */

static int64_t round8(int64_t n) { return (n + 7) & ~(int64_t)7; }

/* Geometry of one direct pass: input (C, H, W) padded by (ph, pw) into planes of
 * Ppl floats with row stride Wp; output (S, Ho, Wo) computed on Q positions. */
typedef struct dgeom {
    int64_t C, H, W, ph, pw, kh, kw, S;
    int64_t Wp, Ho, Wo, Q, Ppl;
} dgeom;

static dgeom make_dgeom(int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t kh, int64_t kw, int64_t S) {
    dgeom d = {C, H, W, ph, pw, kh, kw, S, 0, 0, 0, 0, 0};
    d.Wp = W + 2 * pw;
    d.Ho = H + 2 * ph - kh + 1;
    d.Wo = d.Wp - kw + 1;
    d.Q = round8(d.Ho * d.Wp);
    d.Ppl = round8(d.Q + (kh - 1) * d.Wp + kw - 1);  /* the furthest tap read stays inside */
    return d;
}

/* xp (C, Ppl) <- src (C, H, W) (or relu(src)) with ph zero rows above and
 * below, pw zero columns left and right, zeros after the last padded row. */
static void pad_planes(const dgeom *d, const float *src, int relu, float *xp) {
    for (int64_t c = 0; c < d->C; c++) {
        const float *s = src + c * d->H * d->W;  // (H, W)
        float *p = xp + c * d->Ppl;               // (Ppl)
        memset(p, 0, sizeof(float) * (size_t)(d->ph * d->Wp));
        for (int64_t r = 0; r < d->H; r++) {
            float *restrict row = p + (r + d->ph) * d->Wp;
            const float *restrict sr = s + r * d->W;
            for (int64_t k = 0; k < d->pw; k++) row[k] = row[d->pw + d->W + k] = 0.0f;
            if (relu)
                for (int64_t k = 0; k < d->W; k++) row[d->pw + k] = sr[k] > 0.0f ? sr[k] : 0.0f;
            else
                memcpy(row + d->pw, sr, sizeof(float) * (size_t)d->W);
        }
        memset(p + (d->ph + d->H) * d->Wp, 0, sizeof(float) * (size_t)(d->Ppl - (d->ph + d->H) * d->Wp));
    }
}

/* y[s0.., q0..] = Σ_c Σ_t wp[c][t][s] · xp[c][q0 + off[t] + ..] for SB channels, QV vectors. */
static inline __attribute__((always_inline)) void fwd_tile(const int SB, const int QV, const float *xq, int64_t Ppl,
                                                           int64_t C, int K, const int64_t *off, const float *wp,
                                                           float *yq, int64_t Q) {
    __m256 acc[SBLK][3];
#pragma GCC unroll 4
    for (int s = 0; s < SB; s++)
#pragma GCC unroll 3
        for (int v = 0; v < QV; v++) acc[s][v] = _mm256_setzero_ps();
    for (int64_t c = 0; c < C; c++) {
        const float *xc = xq + c * Ppl;
        for (int t = 0; t < K; t++) {
            const float *xt = xc + off[t];
            __m256 xv[3];
#pragma GCC unroll 3
            for (int v = 0; v < QV; v++) xv[v] = _mm256_loadu_ps(xt + 8 * v);
#pragma GCC unroll 4
            for (int s = 0; s < SB; s++) {
                __m256 ws = _mm256_broadcast_ss(wp + s);
#pragma GCC unroll 3
                for (int v = 0; v < QV; v++) acc[s][v] = _mm256_fmadd_ps(ws, xv[v], acc[s][v]);
            }
            wp += SB;
        }
    }
#pragma GCC unroll 4
    for (int s = 0; s < SB; s++)
#pragma GCC unroll 3
        for (int v = 0; v < QV; v++) _mm256_storeu_ps(yq + s * Q + 8 * v, acc[s][v]);
}

#define FWD_TILE_FN(SB, QV)                                                                                      \
    static void fwd_tile_##SB##_##QV(const float *xq, int64_t Ppl, int64_t C, int K, const int64_t *off,     \
                                     const float *wp, float *yq, int64_t Q) {                                 \
        fwd_tile(SB, QV, xq, Ppl, C, K, off, wp, yq, Q);                                                       \
    }
FWD_TILE_FN(1, 1) FWD_TILE_FN(1, 2) FWD_TILE_FN(1, 3)
FWD_TILE_FN(2, 1) FWD_TILE_FN(2, 2) FWD_TILE_FN(2, 3)
FWD_TILE_FN(3, 1) FWD_TILE_FN(3, 2) FWD_TILE_FN(3, 3)
FWD_TILE_FN(4, 1) FWD_TILE_FN(4, 2) FWD_TILE_FN(4, 3)

typedef void (*fwd_tile_fn)(const float *, int64_t, int64_t, int, const int64_t *, const float *, float *, int64_t);
static const fwd_tile_fn fwd_tiles[SBLK][3] = {
    {fwd_tile_1_1, fwd_tile_1_2, fwd_tile_1_3}, {fwd_tile_2_1, fwd_tile_2_2, fwd_tile_2_3},
    {fwd_tile_3_1, fwd_tile_3_2, fwd_tile_3_3}, {fwd_tile_4_1, fwd_tile_4_2, fwd_tile_4_3}};

/* Tap offsets i*Wp + j in row-major kernel order. */
static void tap_offsets(const dgeom *d, int64_t *off) {
    for (int64_t i = 0; i < d->kh; i++)
        for (int64_t j = 0; j < d->kw; j++) off[i * d->kw + j] = i * d->Wp + j;
}

/* wp: w (S, C, K) re-laid per block of SBLK output channels as (C, K, SB);
 * flip != 0 reads w as (C', S', K) = (S, C, K) transposed with the taps reversed
 * (the adjoint's kernel). */
static void pack_weights(const float *w, int64_t S, int64_t C, int64_t K, int flip, float *wp) {
    for (int64_t s0 = 0; s0 < S; s0 += SBLK) {
        int64_t sb = S - s0 < SBLK ? S - s0 : SBLK;
        float *blk = wp + s0 * C * K;
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < K; t++)
                for (int64_t s = 0; s < sb; s++)
                    blk[(c * K + t) * sb + s] = flip ? w[((c * S) + s0 + s) * K + (K - 1 - t)]
                                                     : w[((s0 + s) * C + c) * K + t];
    }
}

/* y (S, Q) = direct conv of the padded planes xp (C, Ppl) with packed weights wp. */
static void direct_planes(const dgeom *d, const float *xp, const float *wp, const int64_t *off, float *y) {
    int K = (int)(d->kh * d->kw);
    for (int64_t s0 = 0; s0 < d->S; s0 += SBLK) {
        int sb = (int)(d->S - s0 < SBLK ? d->S - s0 : SBLK);
        const float *wblk = wp + s0 * d->C * K;
        float *ys = y + s0 * d->Q;
        int64_t q0 = 0;
        for (; q0 + QBLK <= d->Q; q0 += QBLK) fwd_tiles[sb - 1][2](xp + q0, d->Ppl, d->C, K, off, wblk, ys + q0, d->Q);
        if (q0 < d->Q) {
            int qv = (int)((d->Q - q0) / 8);  /* 1 or 2: Q is a multiple of 8 */
            fwd_tiles[sb - 1][qv - 1](xp + q0, d->Ppl, d->C, K, off, wblk, ys + q0, d->Q);
        }
    }
}

/* What a pass does around the convolution itself (all optional). */
typedef struct dpass_opts {
    const float *init;  /* (S): out = init[s] + y (+ res) instead of out += y */
    const float *res;   /* (B, S, Ho, Wo), with init: out = res + (init[s] + y) */
    const float *mask;  /* (B, S, Ho, Wo): y counts only where mask > 0 (a ReLU's gradient) */
    int relu_in;        /* convolve relu(in) */
    float *keep;        /* (B, C, Ppl): receives the padded planes */
} dpass_opts;

/* out (S, Ho, Wo) (+)= y (S, Q) on the valid columns, as o says (res and mask
 * already offset to this image). */
static void add_valid(const dgeom *d, const float *y, const dpass_opts *o, const float *res, const float *mask,
                      float *out) {
    for (int64_t s = 0; s < d->S; s++)
        for (int64_t r = 0; r < d->Ho; r++) {
            int64_t at = (s * d->Ho + r) * d->Wo;
            float *restrict ov = out + at;
            const float *restrict yr = y + s * d->Q + r * d->Wp;
            if (mask) {
                const float *restrict m = mask + at;
                if (o->init)
                    for (int64_t k = 0; k < d->Wo; k++) { float v = yr[k]; ov[k] = m[k] > 0.0f ? v : 0.0f; }
                else
                    for (int64_t k = 0; k < d->Wo; k++) { float v = yr[k]; ov[k] += m[k] > 0.0f ? v : 0.0f; }
            } else if (o->init) {
                float b0 = o->init[s];
                if (res) {
                    const float *restrict rr = res + at;
                    for (int64_t k = 0; k < d->Wo; k++) ov[k] = rr[k] + (b0 + yr[k]);
                } else {
                    for (int64_t k = 0; k < d->Wo; k++) ov[k] = b0 + yr[k];
                }
            } else {
                for (int64_t k = 0; k < d->Wo; k++) ov[k] += yr[k];
            }
        }
}

/* Threads for a pass over B images of `per_image` multiply-adds. */
static int pass_threads(int64_t B, int64_t per_image) {
    int nt = gm_par_threads(B * per_image);
    if (nt > B) nt = (int)B;
    return nt < 1 ? 1 : nt;
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* out (B, S, Ho, Wo) (+)= conv of in (B, C, H, W) padded by (ph, pw) with the
 * packed weights, as o says; per-thread scratch from the arena. */
static void direct_pass(gm_ctx *ctx, const dgeom *d, int64_t B, const float *in, const float *wp, const dpass_opts *o,
                        float *out) {
    int64_t off[MAXK];
    tap_offsets(d, off);
    int nt = pass_threads(B, d->S * d->C * d->kh * d->kw * d->Q);
    int64_t per_thread = d->C * d->Ppl + d->S * d->Q, per_out = d->S * d->Ho * d->Wo;
    float *scratch = gm_arena_alloc(ctx, sizeof(float) * (size_t)(per_thread * nt));
    if (!scratch) return;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *xs = scratch + per_thread * thread_id();  // (C, Ppl)
        float *y = xs + d->C * d->Ppl;                    // (S, Q)
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < B; b++) {
            float *xp = o->keep ? o->keep + b * d->C * d->Ppl : xs;
            pad_planes(d, in + b * d->C * d->H * d->W, o->relu_in, xp);
            direct_planes(d, xp, wp, off, y);
            add_valid(d, y, o, o->res ? o->res + b * per_out : NULL, o->mask ? o->mask + b * per_out : NULL,
                      out + b * per_out);
        }
    }
}

int gm_conv_direct_ok(const conv_geom *g) {
    const char *off = getenv("GENMOD_CONV_IM2COL"); /* benchmarking knob: 1 = always im2col + GEMM */
    if (off && *off && *off != '0') return 0;
    return g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->kh <= 7 && g->kw <= 7 && g->ph < g->kh &&
           g->pw < g->kw && g->Cs <= 64 && g->Cb <= 256;
}

void gm_conv_direct_fwd_ex(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, int overwrite,
                           const float *bias, const float *res, int relu_in, float *keep, float *small) {
    gm_arena_mark mark = gm_arena_get_mark(ctx);
    dgeom d = make_dgeom(g->Cb, g->Hb, g->Wb, g->ph, g->pw, g->kh, g->kw, g->Cs);
    float *wp = gm_arena_alloc(ctx, sizeof(float) * (size_t)(g->Cs * g->Cb * g->kh * g->kw + g->Cs));
    if (wp) {
        dpass_opts o = {NULL, NULL, NULL, relu_in, keep};
        if (overwrite) {
            float *init = wp + g->Cs * g->Cb * g->kh * g->kw;  // (Cs)
            for (int64_t s = 0; s < g->Cs; s++) init[s] = bias ? bias[s] : 0.0f;
            o.init = init;
            o.res = res;
        }
        pack_weights(w, g->Cs, g->Cb, g->kh * g->kw, 0, wp);
        direct_pass(ctx, &d, g->B, big, wp, &o, small);
    }
    gm_arena_release(ctx, mark);
}

void gm_conv_direct_fwd(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, float *small) {
    gm_conv_direct_fwd_ex(ctx, g, big, w, 0, NULL, NULL, 0, NULL, small);
}

int64_t gm_conv_direct_padded_floats(const conv_geom *g) {
    dgeom d = make_dgeom(g->Cb, g->Hb, g->Wb, g->ph, g->pw, g->kh, g->kw, g->Cs);
    return g->B * d.C * d.Ppl;
}

/* The adjoint: big (+)= conv of small padded by (kh-1-ph, kw-1-pw) with the
 * kernel transposed (Cb, Cs) and flipped; its output has exactly Hb x Wb. */
void gm_conv_direct_adj_ex(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, int overwrite,
                           const float *mask, float *big) {
    gm_arena_mark mark = gm_arena_get_mark(ctx);
    dgeom d = make_dgeom(g->Cs, g->Hs, g->Ws, g->kh - 1 - g->ph, g->kw - 1 - g->pw, g->kh, g->kw, g->Cb);
    float *wp = gm_arena_alloc(ctx, sizeof(float) * (size_t)(g->Cs * g->Cb * g->kh * g->kw + g->Cb));
    if (wp) {
        float *zeros = wp + g->Cs * g->Cb * g->kh * g->kw;  // (Cb)
        memset(zeros, 0, sizeof(float) * (size_t)g->Cb);
        dpass_opts o = {overwrite ? zeros : NULL, NULL, mask, 0, NULL};
        pack_weights(w, g->Cb, g->Cs, g->kh * g->kw, 1, wp);
        direct_pass(ctx, &d, g->B, small, wp, &o, big);
    }
    gm_arena_release(ctx, mark);
}

void gm_conv_direct_adj(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big) {
    gm_conv_direct_adj_ex(ctx, g, small, w, 0, NULL, big);
}

/* acc[s][j] += Σ_q sq[s][q] · xr[q + j] over all Q positions; SB channels, JB taps. */
static inline __attribute__((always_inline)) void wgrad_tile(const int SB, const int JB, const float *sq, int64_t Q,
                                                             const float *xr, float *gv /* (SB, JB, 8) */) {
    __m256 acc[SBLK][3];
#pragma GCC unroll 4
    for (int s = 0; s < SB; s++)
#pragma GCC unroll 3
        for (int j = 0; j < JB; j++) acc[s][j] = _mm256_setzero_ps();
    for (int64_t q = 0; q < Q; q += 8) {
        __m256 xv[3];
#pragma GCC unroll 3
        for (int j = 0; j < JB; j++) xv[j] = _mm256_loadu_ps(xr + q + j);
#pragma GCC unroll 4
        for (int s = 0; s < SB; s++) {
            __m256 sv = _mm256_loadu_ps(sq + s * Q + q);
#pragma GCC unroll 3
            for (int j = 0; j < JB; j++) acc[s][j] = _mm256_fmadd_ps(sv, xv[j], acc[s][j]);
        }
    }
#pragma GCC unroll 4
    for (int s = 0; s < SB; s++)
#pragma GCC unroll 3
        for (int j = 0; j < JB; j++) {
            float *p = gv + (s * JB + j) * 8;
            _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), acc[s][j]));
        }
}

#define WG_TILE_FN(SB, JB)                                                                                \
    static void wg_tile_##SB##_##JB(const float *sq, int64_t Q, const float *xr, float *gv) {           \
        wgrad_tile(SB, JB, sq, Q, xr, gv);                                                                \
    }
WG_TILE_FN(1, 1) WG_TILE_FN(1, 2) WG_TILE_FN(1, 3)
WG_TILE_FN(2, 1) WG_TILE_FN(2, 2) WG_TILE_FN(2, 3)
WG_TILE_FN(3, 1) WG_TILE_FN(3, 2) WG_TILE_FN(3, 3)
WG_TILE_FN(4, 1) WG_TILE_FN(4, 2) WG_TILE_FN(4, 3)

typedef void (*wg_tile_fn)(const float *, int64_t, const float *, float *);
static const wg_tile_fn wg_tiles[SBLK][3] = {
    {wg_tile_1_1, wg_tile_1_2, wg_tile_1_3}, {wg_tile_2_1, wg_tile_2_2, wg_tile_2_3},
    {wg_tile_3_1, wg_tile_3_2, wg_tile_3_3}, {wg_tile_4_1, wg_tile_4_2, wg_tile_4_3}};

/* sq (S, Q) <- small (S, Ho, Wo) at q = oh*Wp + ow, zeros elsewhere. */
static void spread_small(const dgeom *d, const float *small, float *sq) {
    for (int64_t s = 0; s < d->S; s++) {
        float *p = sq + s * d->Q;
        for (int64_t r = 0; r < d->Ho; r++) {
            memcpy(p + r * d->Wp, small + (s * d->Ho + r) * d->Wo, sizeof(float) * (size_t)d->Wo);
            for (int64_t k = d->Wo; k < d->Wp; k++) p[r * d->Wp + k] = 0.0f;
        }
        memset(p + d->Ho * d->Wp, 0, sizeof(float) * (size_t)(d->Q - d->Ho * d->Wp));
    }
}

/* Offset, in weights, of the weight-gradient tile block (s0, c, i, j0): the
 * blocks of sb output channels x jb taps are laid out in (s0, c, i, j0)
 * order, each as (sb, jb); kernel rows are split into blocks of 3 taps. */
static int64_t wg_block(int64_t C, int64_t kh, int64_t kw, int64_t s0, int64_t sb, int64_t c, int64_t i,
                        int64_t j0) {
    return (s0 * C + c * sb) * kh * kw + (i * kw + j0) * sb;
}

/* gv (S, C, kh, kw-blocks: SB x JB x 8 lanes) += the weight gradient of one image. */
static void wgrad_image(const dgeom *d, const float *sq, const float *xp, float *gv) {
    for (int64_t s0 = 0; s0 < d->S; s0 += SBLK) {
        int sb = (int)(d->S - s0 < SBLK ? d->S - s0 : SBLK);
        for (int64_t c = 0; c < d->C; c++)
            for (int64_t i = 0; i < d->kh; i++)
                for (int64_t j0 = 0; j0 < d->kw; j0 += 3) {
                    int jb = (int)(d->kw - j0 < 3 ? d->kw - j0 : 3);
                    float *blk = gv + wg_block(d->C, d->kh, d->kw, s0, sb, c, i, j0) * 8;  // (sb, jb, 8)
                    wg_tiles[sb - 1][jb - 1](sq + s0 * d->Q, d->Q, xp + c * d->Ppl + i * d->Wp + j0, blk);
                }
    }
}

/* gw[s, c, i, j] += Σ_b Σ_q dy[b, s, q] · xp[b, c, q + i*Wp + j].
 * The images are cut into WG_GROUPS fixed groups, each with its own vector
 * partials, taken by whichever thread is free; the partials are then summed in
 * group and lane order, so the result does not depend on the thread count. */
#define WG_GROUPS 8
void gm_conv_direct_wgrad(gm_ctx *ctx, const conv_geom *g, const float *small, const float *big, const float *padded,
                          float *gw) {
    gm_arena_mark mark = gm_arena_get_mark(ctx);
    dgeom d = make_dgeom(g->Cb, g->Hb, g->Wb, g->ph, g->pw, g->kh, g->kw, g->Cs);
    int64_t K = g->kh * g->kw, nw = g->Cs * g->Cb * K;
    int64_t ng = g->B < WG_GROUPS ? g->B : WG_GROUPS;
    int nt = pass_threads(ng, (g->B / ng) * nw * d.Q);
    int64_t per_thread = (padded ? 0 : d.C * d.Ppl) + d.S * d.Q;
    float *gv = gm_arena_alloc(ctx, sizeof(float) * (size_t)(ng * nw * 8));  // (groups, S, C, K, 8) tile-block order
    float *scratch = gm_arena_alloc(ctx, sizeof(float) * (size_t)(per_thread * nt));
    if (!gv || !scratch) { gm_arena_release(ctx, mark); return; }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float *xp = scratch + per_thread * thread_id();  // (C, Ppl), unless padded is given
        float *sq = xp + (padded ? 0 : d.C * d.Ppl);      // (S, Q)
#pragma omp for schedule(dynamic, 1)
        for (int64_t grp = 0; grp < ng; grp++) {
            float *gvg = gv + grp * nw * 8;
            memset(gvg, 0, sizeof(float) * (size_t)(nw * 8));
            for (int64_t b = grp * g->B / ng; b < (grp + 1) * g->B / ng; b++) {
                const float *xb = xp;
                if (padded) xb = padded + b * d.C * d.Ppl;
                else pad_planes(&d, big + b * d.C * d.H * d.W, 0, xp);
                spread_small(&d, small + b * d.S * d.Ho * d.Wo, sq);
                wgrad_image(&d, sq, xb, gvg);
            }
        }
    }
    /* gw += Σ over groups (8-lane vectors, group order) then lanes (double),
     * one weight per iteration; then undo the tile-block layout */
    float *sum = gm_arena_alloc(ctx, sizeof(float) * (size_t)nw);  // (nw) in tile-block order
    if (!sum) { gm_arena_release(ctx, mark); return; }
    int nr = gm_par_threads(nw * ng * 8);
    (void)nr;
#pragma omp parallel for schedule(static) num_threads(nr) if (nr > 1)
    for (int64_t e = 0; e < nw; e++) {
        float acc8[8];
        memcpy(acc8, gv + e * 8, sizeof acc8);
        for (int64_t grp = 1; grp < ng; grp++) {
            const float *v = gv + grp * nw * 8 + e * 8;
            for (int l = 0; l < 8; l++) acc8[l] += v[l];
        }
        double acc = 0.0;
        for (int l = 0; l < 8; l++) acc += acc8[l];
        sum[e] = (float)acc;
    }
    for (int64_t s0 = 0; s0 < g->Cs; s0 += SBLK) {
        int64_t sb = g->Cs - s0 < SBLK ? g->Cs - s0 : SBLK;
        for (int64_t c = 0; c < g->Cb; c++)
            for (int64_t i = 0; i < g->kh; i++)
                for (int64_t j0 = 0; j0 < g->kw; j0 += 3) {
                    int64_t jb = g->kw - j0 < 3 ? g->kw - j0 : 3;
                    int64_t base = wg_block(g->Cb, g->kh, g->kw, s0, sb, c, i, j0);
                    for (int64_t s = 0; s < sb; s++)
                        for (int64_t j = 0; j < jb; j++)
                            gw[((s0 + s) * g->Cb + c) * K + i * g->kw + j0 + j] += sum[base + s * jb + j];
                }
    }
    gm_arena_release(ctx, mark);
}

#else /* no AVX2+FMA: conv.c uses im2col + GEMM everywhere */

int gm_conv_direct_ok(const conv_geom *g) { (void)g; return 0; }
int64_t gm_conv_direct_padded_floats(const conv_geom *g) { (void)g; return 0; }
void gm_conv_direct_fwd(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, float *small) {
    (void)ctx; (void)g; (void)big; (void)w; (void)small;
}
void gm_conv_direct_fwd_ex(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, int overwrite,
                           const float *bias, const float *res, int relu_in, float *keep, float *small) {
    (void)ctx; (void)g; (void)big; (void)w; (void)overwrite; (void)bias; (void)res; (void)relu_in; (void)keep;
    (void)small;
}
void gm_conv_direct_adj(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big) {
    (void)ctx; (void)g; (void)small; (void)w; (void)big;
}
void gm_conv_direct_adj_ex(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, int overwrite,
                           const float *mask, float *big) {
    (void)ctx; (void)g; (void)small; (void)w; (void)overwrite; (void)mask; (void)big;
}
void gm_conv_direct_wgrad(gm_ctx *ctx, const conv_geom *g, const float *small, const float *big, const float *padded,
                          float *gw) {
    (void)ctx; (void)g; (void)small; (void)big; (void)padded; (void)gw;
}

#endif
