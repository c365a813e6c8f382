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
 * im2col + GEMM, where the unfolding is amortised over many output channels). */
int gm_conv_direct_ok(const conv_geom *g);

/* The three primitives of conv.c for a geometry gm_conv_direct_ok accepts;
 * same contracts (accumulate into the output, deterministic for a fixed
 * thread count). On arena exhaustion the context's sticky error is set and
 * the output is left partly updated (the op then fails). */
void gm_conv_direct_fwd(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, float *small);
/* small = bias[s] (0 without bias) + conv(big): the forward without a separate fill. */
void gm_conv_direct_fwd_bias(gm_ctx *ctx, const conv_geom *g, const float *big, const float *w, const float *bias,
                             float *small);
void gm_conv_direct_adj(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big);
/* big = adj(small): the adjoint written, not accumulated (for a fresh gradient buffer). */
void gm_conv_direct_adj_set(gm_ctx *ctx, const conv_geom *g, const float *small, const float *w, float *big);
void gm_conv_direct_wgrad(gm_ctx *ctx, const conv_geom *g, const float *small, const float *big, float *gw);

#endif
