/*
 * genmod/tensor.h — float32 tensors, the step context (arena + tape), autodiff.
 *
 * What this is: the data structure every op consumes and produces, and the
 * define-by-run reverse-mode autodiff around it.
 *   - A gm_tensor is a float32 view: data pointer, up to 4 dims, element strides.
 *     Views (reshape of contiguous data, transpose, slice) share data.
 *   - A gm_ctx owns a bump arena for everything created during one training /
 *     evaluation step (tensor headers, activations, gradients, tape nodes).
 *     gm_ctx_reset() rewinds it; after the first few steps it stops growing and
 *     the steady-state step performs no malloc.
 *   - With gradients enabled, every op whose output depends on a tensor that
 *     requires grad appends a node to the tape. gm_backward() walks the tape in
 *     reverse; each op's backward accumulates (+=) into its inputs' gradients.
 *   - Errors are sticky: an op that fails (shape mismatch, arena exhausted...)
 *     returns NULL and records the first message in the context; ops given a
 *     NULL input return NULL. Check once at the end of a chain with
 *     gm_ctx_status().
 * What this is not: a lazy graph compiler; ops compute immediately.
 */
#ifndef GENMOD_TENSOR_H
#define GENMOD_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include "genmod/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GM_MAX_DIMS 4
#define GM_MAX_INPUTS 4

struct gm_node;

typedef struct gm_tensor {
    float *data;                    /* first element (a view may point inside another buffer) */
    float *grad;                    /* gradient, contiguous, same shape; NULL until needed */
    int64_t shape[GM_MAX_DIMS];     /* unused trailing dims are 1 */
    int64_t stride[GM_MAX_DIMS];    /* in elements */
    int64_t numel;
    int ndim;                       /* 0 (scalar) .. 4 */
    int requires_grad;
    int is_param;                   /* leaf whose grad lives in a gm_params flat buffer */
    struct gm_node *node;           /* op that produced it (NULL for leaves / no-grad) */
    const char *name;               /* optional, for debugging and checkpoints */
} gm_tensor;

/* Which kernels ops use. FAST is the default (BLAS, OpenMP, SIMD); REF is the
 * plain single-threaded reference every fast kernel is tested against. A future
 * CUDA backend adds a value here and plugs into the same op test harness. */
typedef enum gm_backend { GM_BACKEND_FAST = 0, GM_BACKEND_REF = 1 } gm_backend;

typedef struct gm_ctx gm_ctx;

/* Creates a context whose arena starts at `initial_bytes` (0 = 16 MiB) and
 * grows as needed. Returns NULL on allocation failure. */
gm_ctx *gm_ctx_new(size_t initial_bytes);
void gm_ctx_free(gm_ctx *ctx);

/* Starts a new step: forgets the tape, rewinds the arena (coalescing grown
 * chunks into one so later steps do not allocate), clears the sticky error. */
void gm_ctx_reset(gm_ctx *ctx);

/* Gradient recording on/off; returns the previous value. Off = no tape. */
int gm_set_grad_enabled(gm_ctx *ctx, int enabled);
int gm_grad_enabled(const gm_ctx *ctx);

/* Training flag read by dropout and batch-norm (1 = train). */
void gm_set_training(gm_ctx *ctx, int training);
int gm_training(const gm_ctx *ctx);

void gm_set_backend(gm_ctx *ctx, gm_backend b);
gm_backend gm_get_backend(const gm_ctx *ctx);

/* Debug mode: every op checks its output for NaN/Inf; the first offender is
 * recorded (gm_ctx_first_nonfinite) and the op fails with GM_ERR_NONFINITE. */
void gm_set_debug_finite(gm_ctx *ctx, int on);
const char *gm_ctx_first_nonfinite(const gm_ctx *ctx);

/* Sticky error: GM_OK or the first failure since the last reset. Its message
 * is in gm_ctx_error() (and gm_last_error() of the failing thread). */
gm_status gm_ctx_status(const gm_ctx *ctx);
const char *gm_ctx_error(const gm_ctx *ctx);
/* Records a failure in ctx (first one wins) and returns NULL for convenience. */
gm_tensor *gm_ctx_fail(gm_ctx *ctx, gm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Prefixes a failed context's message with "<prefix>: " (printf-style), e.g.
 * to name the layer an op failed in. No-op when ctx has not failed. */
void gm_ctx_annotate(gm_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Arena allocation: 64-byte aligned, valid until the next reset. NULL (and a
 * sticky error) on failure. gm_arena_calloc zero-fills. */
void *gm_arena_alloc(gm_ctx *ctx, size_t bytes);
void *gm_arena_calloc(gm_ctx *ctx, size_t bytes);
/* Bytes currently reserved by the arena (all chunks), and number of malloc
 * calls made by the arena since creation: tests use it to prove steady state. */
size_t gm_arena_capacity(const gm_ctx *ctx);
size_t gm_arena_mallocs(const gm_ctx *ctx);

/* ---- construction (all arena-allocated, valid until reset) ---- */

/* New contiguous tensor of the given shape; data uninitialised / zeroed. */
gm_tensor *gm_tensor_new(gm_ctx *ctx, int ndim, const int64_t *shape);
gm_tensor *gm_zeros(gm_ctx *ctx, int ndim, const int64_t *shape);
/* Convenience: gm_new2(ctx, rows, cols), 1-d, 3-d, 4-d. */
gm_tensor *gm_new1(gm_ctx *ctx, int64_t n0);
gm_tensor *gm_new2(gm_ctx *ctx, int64_t n0, int64_t n1);
gm_tensor *gm_new3(gm_ctx *ctx, int64_t n0, int64_t n1, int64_t n2);
gm_tensor *gm_new4(gm_ctx *ctx, int64_t n0, int64_t n1, int64_t n2, int64_t n3);
gm_tensor *gm_scalar(gm_ctx *ctx, float v);
/* Copies `n` floats into a new tensor of the given shape. */
gm_tensor *gm_from_data(gm_ctx *ctx, int ndim, const int64_t *shape, const float *src);
/* Wraps external memory (not copied, not owned) as a contiguous tensor. */
gm_tensor *gm_wrap(gm_ctx *ctx, int ndim, const int64_t *shape, float *data);
/* Fills every element with v. */
void gm_fill(gm_tensor *t, float v);

/* ---- inspection ---- */
int gm_is_contiguous(const gm_tensor *t);
int gm_same_shape(const gm_tensor *a, const gm_tensor *b);
/* Element at a multi-index (uses strides). */
float gm_get(const gm_tensor *t, const int64_t *idx);
/* Copies t's elements (any strides) into dst in row-major order. */
void gm_copy_to(const gm_tensor *t, float *dst);
/* "(2, 3, 4)" into buf; returns buf. */
const char *gm_shape_str(const gm_tensor *t, char *buf, size_t n);

/* ---- autodiff ---- */

/* Marks a leaf as requiring gradient (its grad is arena-allocated on demand). */
void gm_requires_grad(gm_tensor *t);
/* Runs reverse mode from `loss` (must have numel 1; seeded with 1) or, with
 * gm_backward_with, from an arbitrary output seeded by `seed` (same shape).
 * Accumulates into the grads of leaves and parameters. Each call first drops
 * the gradients an earlier pass left on intermediate (op-output) tensors, so
 * backward on a second loss of the same graph adds only that loss's gradient
 * (as torch with retain_graph). Returns the sticky status. */
gm_status gm_backward(gm_ctx *ctx, gm_tensor *loss);
gm_status gm_backward_with(gm_ctx *ctx, gm_tensor *out, const float *seed);
/* Returns t's grad buffer, allocating a zeroed one in the arena if needed
 * (NULL if t does not require grad or allocation fails). */
float *gm_grad_buf(gm_ctx *ctx, gm_tensor *t);
/* Number of nodes currently on the tape. */
int gm_tape_len(const gm_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
