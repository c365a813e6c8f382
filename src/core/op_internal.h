/*
 * op_internal.h — what an op implementation needs (not public API).
 *
 * Writing an op (see docs/ARCHITECTURE.md, "Adding an op"):
 *   gm_tensor *gm_foo(gm_ctx *ctx, gm_tensor *x) {
 *       if (!gm_op_begin(ctx, GM_OP_FOO, 1, x)) return NULL;      // NULL inputs, sticky error
 *       gm_tensor *out = gm_op_out(ctx, x->ndim, x->shape);        // arena output
 *       if (!out) return NULL;
 *       ... forward ...
 *       gm_node *n = gm_op_record(ctx, GM_OP_FOO, foo_backward, out, 1, x);
 *       if (n) { n->f[0] = ...; }                                  // params saved for backward
 *       return gm_op_end(ctx, GM_OP_FOO, out);                      // debug finiteness check
 *   }
 *   static void foo_backward(gm_ctx *ctx, gm_node *n) {
 *       float *gx = gm_grad_buf(ctx, n->in[0]);                     // NULL: input needs no grad
 *       if (gx) for (...) gx[i] += n->out->grad[i] * ...;           // accumulate with +=
 *   }
 * Output tensors are contiguous unless the op is a view. Backward receives
 * n->out->grad contiguous with out's shape (views included).
 */
#ifndef GENMOD_OP_INTERNAL_H
#define GENMOD_OP_INTERNAL_H

#include "genmod/ops.h"
#include <stdbool.h>

typedef struct gm_node gm_node;
typedef void (*gm_backward_fn)(gm_ctx *ctx, gm_node *n);

struct gm_node {
    gm_op op;
    gm_backward_fn backward;
    gm_tensor *out;
    gm_tensor *in[GM_MAX_INPUTS];
    int n_in;
    float f[4];        /* small float params (slope, eps, p, ...) */
    int64_t i[8];      /* small int params (axis, stride, ...) */
    void *saved;       /* arena blob for anything larger (masks, argmax, stats) */
    const void *cptr;  /* borrowed constant (targets, mask) valid until backward */
};

/* Returns false (and makes the op return NULL) if ctx already failed or any
 * of the n inputs is NULL. */
bool gm_op_begin(gm_ctx *ctx, gm_op op, int n, ...);
/* Contiguous arena output tensor. requires_grad is set later by gm_op_record. */
gm_tensor *gm_op_out(gm_ctx *ctx, int ndim, const int64_t *shape);
/* Records a node if grad is enabled and any input requires grad; sets
 * out->requires_grad and out->node. Returns the node (to fill params) or NULL
 * when nothing is recorded (no error). Inputs may be NULL for optional ones. */
gm_node *gm_op_record(gm_ctx *ctx, gm_op op, gm_backward_fn bw, gm_tensor *out, int n, ...);
/* Debug finiteness check; returns out or NULL. */
gm_tensor *gm_op_end(gm_ctx *ctx, gm_op op, gm_tensor *out);
/* Returns a view header (copy of x's header, no node, no grad). */
gm_tensor *gm_view_header(gm_ctx *ctx, const gm_tensor *x);
/* Normalises a possibly negative axis; -1 on error (sticky error set). */
int gm_axis(gm_ctx *ctx, const gm_tensor *x, int axis, const char *opname);
/* Sets contiguous strides and numel from shape. */
void gm_set_contiguous_strides(gm_tensor *t);
/* Scratch space: everything allocated from the arena after gm_arena_mark is
 * given back by gm_arena_release, so a kernel's temporary buffers (im2col
 * columns, ...) are reused by the next call instead of growing the step's
 * arena (and staying cache-cold). Only for buffers that are dead at release:
 * no tensor, node or gradient may be allocated in between. */
typedef struct gm_arena_mark { void *chunk; size_t used; } gm_arena_mark;
gm_arena_mark gm_arena_get_mark(gm_ctx *ctx);
void gm_arena_release(gm_ctx *ctx, gm_arena_mark m);

/* Like gm_grad_buf, but a buffer allocated now is left uninitialised and
 * *fresh is set to 1 (0 when t already had one): the backward then writes
 * (=) instead of zero-filling and accumulating (+=). NULL if t needs no
 * gradient or on allocation failure (sticky error). */
float *gm_grad_buf_uninit(gm_ctx *ctx, gm_tensor *t, int *fresh);

/* Number of OpenMP threads to use for a loop of `work` elementary operations
 * (1 below the threshold where threading pays off on small machines). */
int gm_par_threads(int64_t work);

/* Threads for an op loop of `work` elementary operations on ctx's backend:
 * gm_par_threads(work) on FAST, 1 on REF (plain single-threaded loops).
 * static inline, so files that call it only from omp pragmas still build
 * without OpenMP (no unused-function error). */
static inline int gm_op_threads(const gm_ctx *ctx, int64_t work) {
    return gm_get_backend(ctx) == GM_BACKEND_FAST ? gm_par_threads(work) : 1;
}

/* t's elements as a contiguous row-major buffer: t->data when t is
 * contiguous, else an arena copy read through t's strides (at least one
 * float, so an empty tensor also gets a valid pointer). NULL on arena failure
 * (sticky error set). */
static inline const float *gm_contig(gm_ctx *ctx, const gm_tensor *t) {
    if (gm_is_contiguous(t)) return t->data;
    float *buf = gm_arena_alloc(ctx, (size_t)(t->numel > 0 ? t->numel : 1) * sizeof(float));
    if (buf) gm_copy_to(t, buf);
    return buf;
}

#endif
