/*
 * broadcast.h — private helpers for ops that broadcast their operands
 * (NumPy rules: shapes right-aligned, a dim of size 1 stretches), up to 4-D.
 *
 * The pattern used by the fused loss / log-density ops of loss.c:
 *   1. gm_bcast_shape() computes the output shape of n operands (or fails);
 *   2. gm_bcast_expand() gives each operand as a contiguous buffer of the
 *      output's shape (the operand's own data when it already is one, else an
 *      arena copy; strided views are read through their strides);
 *   3. the kernel is then one flat elementwise loop over the output;
 *   4. backward computes per-output-element gradients and folds them into an
 *      operand's gradient with gm_bcast_accum() (+=, summing over the
 *      broadcast dims in a fixed order, so results are deterministic).
 * (gm_contig(), an operand's elements as a contiguous buffer, is in core/op_internal.h.)
 * What this is not: a public API (static inline, included by the op files under src/ops only).
 */
#ifndef GENMOD_OPS_BROADCAST_H
#define GENMOD_OPS_BROADCAST_H

#include "core/op_internal.h"
#include <stdio.h>

/* Output shape of broadcasting ts[0..n) together into (*ndim, shape). Returns
 * false (sticky GM_ERR_SHAPE naming `opname` and the shapes) if they do not fit. */
static inline bool gm_bcast_shape(gm_ctx *ctx, const char *opname, int n, gm_tensor *const *ts, int *ndim,
                                  int64_t *shape) {
    int nd = 0;
    for (int k = 0; k < n; k++)
        if (ts[k]->ndim > nd) nd = ts[k]->ndim;
    for (int d = 0; d < GM_MAX_DIMS; d++) shape[d] = 1;
    for (int d = 0; d < nd; d++) {
        int64_t s = 1;
        for (int k = 0; k < n; k++) {
            int dk = d - (nd - ts[k]->ndim); /* operand dim aligned with output dim d */
            if (dk < 0) continue;
            int64_t sk = ts[k]->shape[dk];
            if (sk == 1) continue;
            if (s != 1 && s != sk) {
                char msg[256];
                size_t len = 0;
                for (int j = 0; j < n && len < sizeof msg; j++) {
                    char b[64];
                    len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", j ? " and " : "",
                                            gm_shape_str(ts[j], b, sizeof b));
                }
                gm_ctx_fail(ctx, GM_ERR_SHAPE, "%s: shapes %s do not broadcast (dim %d)", opname, msg, d);
                return false;
            }
            s = sk;
        }
        shape[d] = s;
    }
    *ndim = nd;
    return true;
}

/* Strides (in elements) to read t at an index of the right-aligned 4-padded
 * output shape: 0 on broadcast and padding dims. `contig` = use t's
 * contiguous strides (for its gradient buffer) instead of its view strides. */
static inline void gm_bcast_strides(const gm_tensor *t, int contig, int64_t *st) {
    int64_t cs = 1;
    for (int d = 0; d < GM_MAX_DIMS; d++) st[d] = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1) st[GM_MAX_DIMS - t->ndim + d] = contig ? cs : t->stride[d];
        cs *= t->shape[d];
    }
}

/* Right-aligns an ndim shape into 4 dims (leading 1s). */
static inline void gm_bcast_pad4(int ndim, const int64_t *shape, int64_t *s4) {
    for (int d = 0; d < GM_MAX_DIMS; d++) s4[d] = 1;
    for (int d = 0; d < ndim; d++) s4[GM_MAX_DIMS - ndim + d] = shape[d];
}

/* True if t is contiguous and has exactly the output's numel and shape (right-aligned). */
static inline bool gm_bcast_is_full(const gm_tensor *t, int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    if (t->numel != n || !gm_is_contiguous(t)) return false;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] != shape[ndim - t->ndim + d]) return false;
    return true;
}

/* t as a contiguous buffer of the output shape: t->data if it already is one,
 * else an arena copy (broadcast dims repeated). NULL on arena failure. */
static inline const float *gm_bcast_expand(gm_ctx *ctx, const gm_tensor *t, int ndim, const int64_t *shape) {
    if (gm_bcast_is_full(t, ndim, shape)) return t->data;
    int64_t s4[GM_MAX_DIMS], st[GM_MAX_DIMS];
    gm_bcast_pad4(ndim, shape, s4);
    gm_bcast_strides(t, 0, st);
    float *buf = gm_arena_alloc(ctx, (size_t)(s4[0] * s4[1] * s4[2] * s4[3]) * sizeof(float));
    if (!buf) return NULL;
    int64_t k = 0;
    for (int64_t a = 0; a < s4[0]; a++)
        for (int64_t b = 0; b < s4[1]; b++)
            for (int64_t c = 0; c < s4[2]; c++)
                for (int64_t d = 0; d < s4[3]; d++) buf[k++] = t->data[a * st[0] + b * st[1] + c * st[2] + d * st[3]];
    return buf;
}

/* g (t's contiguous gradient buffer) += gfull (output shape) summed over the
 * dims where t is broadcast. Serial, fixed order. */
static inline void gm_bcast_accum(float *g, const gm_tensor *t, int ndim, const int64_t *shape, const float *gfull) {
    int64_t s4[GM_MAX_DIMS], st[GM_MAX_DIMS];
    gm_bcast_pad4(ndim, shape, s4);
    gm_bcast_strides(t, 1, st);
    int64_t k = 0;
    for (int64_t a = 0; a < s4[0]; a++)
        for (int64_t b = 0; b < s4[1]; b++)
            for (int64_t c = 0; c < s4[2]; c++)
                for (int64_t d = 0; d < s4[3]; d++) g[a * st[0] + b * st[1] + c * st[2] + d * st[3]] += gfull[k++];
}

#endif
