/*
 * conv_internal.h — what conv.c shares with conv_direct.c: the geometry of one
 * convolution and the direct (no im2col) stride-1 kernels. Not public API.
 */
#ifndef GM_CONV_INTERNAL_H
#define GM_CONV_INTERNAL_H

#include "core/op_internal.h"

/* big (B, Cb, Hb, Wb) and small (B, Cs, Hs, Ws) related by a kernel w (Cs, Cb, kh, kw):
 * ih = oh*sh - ph + i*dh, iw = ow*sw - pw + j*dw (see the header of conv.c). */
typedef struct conv_geom {
    int64_t B, Cb, Hb, Wb;   /* big image */
    int64_t Cs, Hs, Ws;      /* small image */
    int64_t kh, kw;
    int64_t sh, sw, ph, pw, dh, dw;
} conv_geom;

/* 1 if the direct kernels below handle g: an AVX2+FMA build, stride 1,
 * dilation 1, kernel at most 7x7, padding smaller than the kernel in each
 * direction, at most 64 output and 256 input channels (wider layers go to
 * im2col + GEMM, where the unfolding is amortised over many output channels);
 * 0 whenever the environment variable GENMOD_CONV_IM2COL is set to a value
 * other than 0 (a knob for benchmarks and A/B checks, read on every call). */
int gm_conv_direct_ok(const conv_geom *g);

/* The three primitives of conv.c for a geometry gm_conv_direct_ok accepts;
 * same contracts (accumulate into the output, deterministic, and independent
 * of the thread count). On arena exhaustion the context's sticky error is set
 * and the output is left partly updated (the op then fails). */
void gm_conv_direct_fwd(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, float *small);
void gm_conv_direct_adj(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big);
/* gw += weight gradient; padded: the planes kept by gm_conv_direct_fwd_ex for
 * this big (then big is not read), or NULL. */
void gm_conv_direct_wgrad(gm_ctx *ctx, const conv_geom *g, const float *small, const float *big, const float *padded,
                          float *gw);

/* Fused forms. fwd_ex: small += conv(x), or with overwrite
 * small = res + (bias + conv(x)) (bias, res may be NULL), where x = big or
 * relu(big) (relu_in); keep (gm_conv_direct_padded_floats(g) floats) or NULL
 * receives the zero-padded x planes for gm_conv_direct_wgrad.
 * adj_ex: big (+)= adj(small), only where mask (big's shape) > 0 if mask is
 * given (the gradient through a ReLU); overwrite writes instead of adding. */
int64_t gm_conv_direct_padded_floats(const conv_geom *g);
void gm_conv_direct_fwd_ex(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, int overwrite,
                           const float *bias, const float *res, int relu_in, float *keep, float *small);
void gm_conv_direct_adj_ex(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, int overwrite,
                           const float *mask, float *big);

#endif
