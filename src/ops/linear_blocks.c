/*
 * linear_blocks.c — masked linear layer over row-prefix blocks (see
 * linear_internal.h): the three GEMMs of gm_linear_masked cut into
 * independent pieces that skip the all-zero part of a staircase mask.
 *
 * Each piece is one gm_sgemm on strided sub-matrices, run inside an OpenMP
 * loop (OpenBLAS then runs each call single-threaded). A piece's result does
 * not depend on which thread computes it, so the numbers are the same at any
 * thread count. The pieces are visited from the last (the widest, for a
 * staircase) to the first, so dynamic scheduling balances them.
 *
 * Not here: the dense path (linear.c), which the op takes when the blocks
 * would save less than a fifth of the work.
 */
#include "linear_internal.h"
#include "kernels/gemm.h"
#include <string.h>

/* 1 + the last non-zero column of the row m (in), 0 if none */
static int64_t row_end(const float *restrict m, int64_t in) {
    int64_t len = in;
    while (len >= 16) { /* whole zero groups of 16 from the end, then single zeros */
        int any = 0;
        for (int j = 0; j < 16; j++) any |= m[len - 16 + j] != 0.0f;
        if (any) break;
        len -= 16;
    }
    while (len > 0 && m[len - 1] == 0.0f) len--;
    return len;
}

void gm_mask_row_lengths(const float *mask, int64_t out, int64_t in, int32_t *row_len) {
    for (int64_t o = 0; o < out; o++) row_len[o] = (int32_t)row_end(mask + o * in, in);
}

double gm_mlin_prefix(int nt, int64_t out, int64_t in, const float *w, const float *mask, float *wm,
                      int32_t *row_len, int32_t *ones_len, int known) {
    (void)nt;
    /* interleaved chunks of rows: a staircase's rows grow, so contiguous halves would be unequal */
#pragma omp parallel for schedule(static, 8) num_threads(nt)
    for (int64_t o = 0; o < out; o++) {
        const float *restrict wr = w + o * in;
        float *restrict dst = wm + o * in;
        int64_t len = known ? row_len[o] : row_end(mask + o * in, in), ones = 0;
        memset(dst + len, 0, (size_t)(in - len) * sizeof(float));
        row_len[o] = (int32_t)len;
        if (!mask) { /* the staircase itself: ones up to len */
            memcpy(dst, wr, (size_t)len * sizeof(float));
            ones_len[o] = (int32_t)len;
            continue;
        }
        const float *restrict mr = mask + o * in;
        for (int64_t c = 0; c < len; c++) dst[c] = wr[c] * mr[c];
        while (ones + 16 <= len) { /* the leading run of ones, 16 at a time, then singly */
            int all = 1;
            for (int j = 0; j < 16; j++) all &= mr[ones + j] == 1.0f;
            if (!all) break;
            ones += 16;
        }
        while (ones < len && mr[ones] == 1.0f) ones++;
        ones_len[o] = (int32_t)ones;
    }
    double done = 0.0;
    for (int64_t b0 = 0; b0 < out; b0 += GM_MLIN_RB) {
        int64_t nb = out - b0 < GM_MLIN_RB ? out - b0 : GM_MLIN_RB, kb = 0;
        for (int64_t o = b0; o < b0 + nb; o++) kb = row_len[o] > kb ? row_len[o] : kb;
        done += (double)nb * (double)kb;
    }
    return out * in > 0 ? done / ((double)out * (double)in) : 1.0;
}

/* Largest row_len in rows [b0, b0 + nb). */
static int64_t block_k(const int32_t *row_len, int64_t b0, int64_t nb) {
    int64_t kb = 0;
    for (int64_t o = b0; o < b0 + nb; o++) kb = row_len[o] > kb ? row_len[o] : kb;
    return kb;
}

void gm_mlin_forward_blocks(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *x,
                            const float *wm, const int32_t *row_len, float *y) {
    int64_t nblk = (out + GM_MLIN_RB - 1) / GM_MLIN_RB;
    (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t i = 0; i < nblk; i++) {
        int64_t b0 = (nblk - 1 - i) * GM_MLIN_RB, nb = out - b0 < GM_MLIN_RB ? out - b0 : GM_MLIN_RB;
        int64_t kb = block_k(row_len, b0, nb);
        if (kb > 0) {
            /* y[:, b0:b0+nb] (rows, nb) = x[:, 0:kb] (rows, kb) @ wm[b0:b0+nb, 0:kb]^T */
            gm_sgemm(be, 0, 1, rows, nb, kb, 1.0f, x, in, wm + b0 * in, in, 0.0f, y + b0, out);
        } else {
            for (int64_t r = 0; r < rows; r++) memset(y + r * out + b0, 0, (size_t)nb * sizeof(float));
        }
    }
}

void gm_mlin_dx_blocks(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *gy,
                       const float *wm, const int32_t *row_len, float *gx) {
    int64_t nchunk = (in + GM_MLIN_CB - 1) / GM_MLIN_CB;
    (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t i = 0; i < nchunk; i++) {
        int64_t c0 = i * GM_MLIN_CB, nc = in - c0 < GM_MLIN_CB ? in - c0 : GM_MLIN_CB;
        /* rows of wm with a non-zero in columns >= c0: the range [lo, hi) that holds them all */
        int64_t lo = 0, hi = out;
        while (lo < out && row_len[lo] <= c0) lo++;
        while (hi > lo && row_len[hi - 1] <= c0) hi--;
        if (hi > lo) /* gx[:, c0:c0+nc] (rows, nc) += gy[:, lo:hi] (rows, hi-lo) @ wm[lo:hi, c0:c0+nc] */
            gm_sgemm(be, 0, 0, rows, nc, hi - lo, 1.0f, gy + lo, out, wm + lo * in + c0, in, 1.0f, gx + c0, in);
    }
}

void gm_mlin_dw_blocks(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *gy,
                       const float *x, const float *mask, const int32_t *row_len, const int32_t *ones_len,
                       float *tmp, float *gw) {
    int64_t nblk = (out + GM_MLIN_RB - 1) / GM_MLIN_RB;
    (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t i = 0; i < nblk; i++) {
        int64_t b0 = (nblk - 1 - i) * GM_MLIN_RB, nb = out - b0 < GM_MLIN_RB ? out - b0 : GM_MLIN_RB;
        int64_t kb = block_k(row_len, b0, nb), k1 = kb;
        for (int64_t o = b0; o < b0 + nb; o++) k1 = ones_len[o] < k1 ? ones_len[o] : k1;
        /* columns [0, k1) are unmasked in every row of the block:
         * gw[b0:b0+nb, 0:k1] += gy[:, b0:b0+nb]^T @ x[:, 0:k1] */
        if (k1 > 0) gm_sgemm(be, 1, 0, nb, k1, rows, 1.0f, gy + b0, out, x, in, 1.0f, gw + b0 * in, in);
        if (kb == k1) continue;
        /* the rest through tmp, masked: tmp[b0:b0+nb, k1:kb] = gy[:, b0:b0+nb]^T @ x[:, k1:kb] */
        gm_sgemm(be, 1, 0, nb, kb - k1, rows, 1.0f, gy + b0, out, x + k1, in, 0.0f, tmp + b0 * in + k1, in);
        for (int64_t o = b0; o < b0 + nb; o++) {
            const float *restrict t = tmp + o * in;
            float *restrict g = gw + o * in;
            if (!mask) { /* a staircase: ones up to row_len */
                for (int64_t c = k1; c < row_len[o]; c++) g[c] += t[c];
                continue;
            }
            const float *restrict m = mask + o * in;
            for (int64_t c = k1; c < row_len[o]; c++) g[c] += t[c] * m[c];
        }
    }
}

/* ---- sorted staircases without a masked weight copy ---- */

/* Copies w[o, c0:c1) into dst for each row o in [r0, r1), zero from row_len[o]
 * on (dst rows have stride ld). The ragged edge of a staircase block. */
static void ragged_copy(const float *w, int64_t in, const int32_t *row_len, int64_t r0, int64_t r1, int64_t c0,
                        int64_t c1, float *dst, int64_t ld) {
    for (int64_t o = r0; o < r1; o++) {
        int64_t end = row_len[o] < c1 ? (row_len[o] > c0 ? row_len[o] : c0) : c1;
        float *d = dst + (o - r0) * ld;
        memcpy(d, w + o * in + c0, (size_t)(end - c0) * sizeof(float));
        memset(d + (end - c0), 0, (size_t)(c1 - end) * sizeof(float));
    }
}

void gm_mlin_forward_stair(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *x,
                           const float *w, const int32_t *row_len, float *scratch, float *y) {
    int64_t nblk = (out + GM_MLIN_RB - 1) / GM_MLIN_RB;
    (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t i = 0; i < nblk; i++) {
        int64_t b0 = (nblk - 1 - i) * GM_MLIN_RB, nb = out - b0 < GM_MLIN_RB ? out - b0 : GM_MLIN_RB;
        int64_t kb = block_k(row_len, b0, nb), k1 = kb;
        for (int64_t o = b0; o < b0 + nb; o++) k1 = row_len[o] < k1 ? row_len[o] : k1;
        /* y[:, b0:b0+nb] = x[:, 0:k1] @ w[b0:b0+nb, 0:k1]^T: every row of the block is whole there */
        if (k1 > 0) gm_sgemm(be, 0, 1, rows, nb, k1, 1.0f, x, in, w + b0 * in, in, 0.0f, y + b0, out);
        else
            for (int64_t r = 0; r < rows; r++) memset(y + r * out + b0, 0, (size_t)nb * sizeof(float));
        if (kb == k1) continue;
        /* += x[:, k1:kb] @ R^T, R (nb, kb-k1) the block's ragged edge, zero-padded, at scratch[b0:, k1:] */
        float *R = scratch + b0 * in + k1;
        ragged_copy(w, in, row_len, b0, b0 + nb, k1, kb, R, in);
        gm_sgemm(be, 0, 1, rows, nb, kb - k1, 1.0f, x + k1, in, R, in, 1.0f, y + b0, out);
    }
}

int gm_mlin_sorted(const int32_t *row_len, int64_t out) {
    for (int64_t o = 1; o < out; o++)
        if (row_len[o] < row_len[o - 1]) return 0;
    return 1;
}

void gm_mlin_dx_stair(gm_backend be, int nt, int64_t rows, int64_t in, int64_t out, const float *gy,
                      const float *w, const int32_t *row_len, float *scratch, float *gx) {
    int64_t nchunk = (in + GM_MLIN_CB - 1) / GM_MLIN_CB;
    (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t i = 0; i < nchunk; i++) {
        int64_t c0 = i * GM_MLIN_CB, nc = in - c0 < GM_MLIN_CB ? in - c0 : GM_MLIN_CB;
        /* rows sorted by length: [lo, lo2) end inside the chunk, [lo2, out) cover it */
        int64_t lo = 0, lo2;
        while (lo < out && row_len[lo] <= c0) lo++;
        for (lo2 = lo; lo2 < out && row_len[lo2] < c0 + nc;) lo2++;
        /* gx[:, c0:c0+nc] += gy[:, lo2:out] @ w[lo2:out, c0:c0+nc] */
        if (out > lo2) gm_sgemm(be, 0, 0, rows, nc, out - lo2, 1.0f, gy + lo2, out, w + lo2 * in + c0, in, 1.0f, gx + c0, in);
        if (lo2 > lo) { /* += gy[:, lo:lo2] @ R, R the ragged rows zero-padded, at scratch[lo:, c0:] */
            float *R = scratch + lo * in + c0;
            ragged_copy(w, in, row_len, lo, lo2, c0, c0 + nc, R, in);
            gm_sgemm(be, 0, 0, rows, nc, lo2 - lo, 1.0f, gy + lo, out, R, in, 1.0f, gx + c0, in);
        }
    }
}
