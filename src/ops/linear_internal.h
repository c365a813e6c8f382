/*
 * linear_internal.h — the row-prefix block path of the masked linear layer
 * (linear_blocks.c), shared with linear.c. Not public API.
 *
 * A mask (out, in) whose row o is zero from column row_len[o] on is
 * "row-prefix" shaped. Rows are taken in blocks of GM_MLIN_RB; block b only
 * multiplies over the columns [0, K_b), K_b the largest row_len in the block.
 * mask NULL everywhere below: the staircase itself (row o is 1 on
 * [0, row_len[o]) and 0 after).
 * A MADE whose hidden units are sorted by degree, in the natural input order,
 * has a staircase in every layer, so about half of each GEMM is skipped. Any
 * mask is handled correctly; the speed-up depends on the staircase.
 */
#ifndef GENMOD_LINEAR_INTERNAL_H
#define GENMOD_LINEAR_INTERNAL_H
#include "core/op_internal.h"

/* 32 to 128 measured the same on the MADE benchmarks (bench_ar, 2 threads) */
enum { GM_MLIN_RB = 64, GM_MLIN_CB = 64 }; /* rows per block (forward, dW); columns per dX chunk */

/* Writes wm (out, in) = w ∘ mask over each row's prefix and 0 after it;
 * row_len (out) is found by scanning the mask unless `known`; ones_len (out)
 * gets the length of each row's leading run of ones. Returns the fraction of
 * the dense multiply-adds the block path performs (1.0 = no saving). */
double gm_mlin_prefix(int nt, int64_t out, int64_t in, const float *w, const float *mask, float *wm,
                      int32_t *row_len, int32_t *ones_len, int known);

/* y (rows, out) = x (rows, in) @ wm^T, row blocks of wm over their prefixes. */
void gm_mlin_forward_blocks(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *x,
                            const float *wm, const int32_t *row_len, float *y);

/* gx (rows, in) += gy (rows, out) @ wm, column chunks of gx each taking the
 * contiguous range of wm rows that reach it. */
void gm_mlin_dx_blocks(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *gy,
                       const float *wm, const int32_t *row_len, float *gx);

/* gw (out, in) += (gy^T @ x) ∘ mask over each row's prefix: the columns
 * where a whole block's mask is 1 straight into gw, the rest through tmp
 * (out, in) scratch and the mask. */
void gm_mlin_dw_blocks(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *gy,
                       const float *x, const float *mask, const int32_t *row_len, const int32_t *ones_len,
                       float *tmp, float *gw);
/* 1 if row_len (out) never decreases. */
int gm_mlin_sorted(const int32_t *row_len, int64_t out);

/* The staircase (mask NULL) with sorted row_len, read from w itself: each
 * block / chunk multiplies its whole rows straight from w and only its ragged
 * edge from a zero-padded copy in scratch (out, in; only the edges are
 * written). y = x @ w_stair^T; gx += gy @ w_stair. */
void gm_mlin_forward_stair(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *x,
                           const float *w, const int32_t *row_len, float *scratch, float *y);
void gm_mlin_dx_stair(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *gy,
                      const float *w, const int32_t *row_len, float *scratch, float *gx);
#endif
