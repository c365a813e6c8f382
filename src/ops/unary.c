/*
 * unary.c — elementwise unary ops: forward and backward side by side.
 *
 * Each op is a pair of scalar functions: f(x) and f'(x) given (x, y=f(x)),
 * dispatched by one loop for forward and one for backward. Inputs of any
 * strides are read through gm_contiguous's copy when not contiguous.
 */
#include "core/op_internal.h"
#include <math.h>
#include "kernels/vmath.h"

typedef struct { float a; } uparam;

/* forward f(x) */
static inline __attribute__((always_inline)) float ufwd(gm_op op, float x, uparam p) {
    switch (op) {
    case GM_OP_NEG: return -x;
    case GM_OP_EXP: return expf(x);
    case GM_OP_LOG: return logf(x);
    case GM_OP_SQRT: return sqrtf(x);
    case GM_OP_POW: return powf(x, p.a);
    case GM_OP_ABS: return fabsf(x);
    case GM_OP_TANH: return tanhf(x);
    case GM_OP_SIGMOID: return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
    case GM_OP_LOG_SIGMOID: return fminf(x, 0.0f) - log1pf(expf(-fabsf(x)));
    case GM_OP_RELU: return x > 0 ? x : 0.0f;
    case GM_OP_LEAKY_RELU: return x > 0 ? x : p.a * x;
    case GM_OP_ELU: return x > 0 ? x : p.a * expm1f(x);
    case GM_OP_SOFTPLUS: return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
    case GM_OP_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case GM_OP_SILU: return x / (1.0f + expf(-x));
    case GM_OP_SCALE: return p.a * x;
    case GM_OP_ADD_SCALAR: return x + p.a;
    default: return NAN;
    }
}

/* derivative df/dx given x and y = f(x) */
static inline __attribute__((always_inline)) float ubwd(gm_op op, float x, float y, uparam p) {
    switch (op) {
    case GM_OP_NEG: return -1.0f;
    case GM_OP_EXP: return y;
    case GM_OP_LOG: return 1.0f / x;
    case GM_OP_SQRT: return 0.5f / y;
    case GM_OP_POW: return p.a == 0.0f ? 0.0f : p.a * powf(x, p.a - 1.0f);
    case GM_OP_ABS: return x > 0 ? 1.0f : (x < 0 ? -1.0f : 0.0f);
    case GM_OP_TANH: return 1.0f - y * y;
    case GM_OP_SIGMOID: return y * (1.0f - y);
    case GM_OP_LOG_SIGMOID: /* σ(-x), computed directly (1 - exp(y) cancels to 0 for large x) */
        return x >= 0 ? expf(-x) / (1.0f + expf(-x)) : 1.0f / (1.0f + expf(x));
    case GM_OP_RELU: return x > 0 ? 1.0f : 0.0f;
    case GM_OP_LEAKY_RELU: return x > 0 ? 1.0f : p.a;
    case GM_OP_ELU: return x > 0 ? 1.0f : y + p.a;
    case GM_OP_SOFTPLUS: return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
    case GM_OP_GELU: return 0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x);
    case GM_OP_SILU: { float s = 1.0f / (1.0f + expf(-x)); return s * (1.0f + x * (1.0f - s)); }
    case GM_OP_SCALE: return p.a;
    case GM_OP_ADD_SCALAR: return 1.0f;
    default: return NAN;
    }
}

/* Every op of this file: loops are generated per op (the switch on the op
 * outside the element loop) so that the compiler vectorises each of them. */
#define UNARY_OPS(X) X(GM_OP_NEG) X(GM_OP_EXP) X(GM_OP_LOG) X(GM_OP_SQRT) X(GM_OP_POW) X(GM_OP_ABS) \
    X(GM_OP_TANH) X(GM_OP_SIGMOID) X(GM_OP_LOG_SIGMOID) X(GM_OP_RELU) X(GM_OP_LEAKY_RELU) X(GM_OP_ELU) \
    X(GM_OP_SOFTPLUS) X(GM_OP_GELU) X(GM_OP_SILU) X(GM_OP_SCALE) X(GM_OP_ADD_SCALAR)
#define UNARY_BLOCK 4096 /* elements per work item of the threaded loops */
/* [lo, hi): block b of the N elements */
#define BLOCK_RANGE(b) int64_t lo = (b) * UNARY_BLOCK, hi = N - lo < UNARY_BLOCK ? N : lo + UNARY_BLOCK
#define UNARY_PAR_BLOCKS _Pragma("omp parallel for schedule(static) num_threads(gm_par_threads(N * 8)) if (N > 32768)")

static void unary_backward(gm_ctx *ctx, gm_node *n) {
    gm_tensor *x = n->in[0];
    if (!x->requires_grad) return;
    int fresh; /* a gradient buffer not allocated yet is written (=), not zero-filled then accumulated (+=) */
    float *gx = gm_grad_buf_uninit(ctx, x, &fresh);
    if (!gx) return;
    const gm_tensor *y = n->out;
    const float *xd = n->saved ? (const float *)n->saved : x->data; /* contiguous copy if x was strided */
    const float *yd = y->data, *gy = y->grad;
    uparam p = {n->f[0]};
    gm_op op = n->op;
    int64_t N = y->numel;
    int64_t nb = (N + UNARY_BLOCK - 1) / UNARY_BLOCK;
    /* restrict-qualified locals per block: through the OpenMP-shared pointers
     * every store would force reloads and the loop would stay scalar */
#define BWD_CASE(OPC) case OPC: { \
        UNARY_PAR_BLOCKS for (int64_t b = 0; b < nb; b++) { \
            float *restrict g = gx; \
            const float *restrict dy = gy, *restrict u = xd, *restrict v = yd; \
            BLOCK_RANGE(b); \
            if (fresh) for (int64_t i = lo; i < hi; i++) g[i] = dy[i] * ubwd(OPC, u[i], v[i], p); \
            else for (int64_t i = lo; i < hi; i++) g[i] += dy[i] * ubwd(OPC, u[i], v[i], p); \
        } } break;
    if (op == GM_OP_RELU) { /* a select, not a multiply by 0/1: gcc keeps the latter a branch */
        UNARY_PAR_BLOCKS for (int64_t b = 0; b < nb; b++) {
            float *restrict g = gx;
            const float *restrict dy = gy, *restrict u = xd;
            BLOCK_RANGE(b);
            if (fresh)
                for (int64_t i = lo; i < hi; i++) { float d = dy[i]; g[i] = u[i] > 0.0f ? d : 0.0f; }
            else
                for (int64_t i = lo; i < hi; i++) { float d = dy[i]; g[i] += u[i] > 0.0f ? d : 0.0f; }
        }
        return;
    }
    switch (op) { UNARY_OPS(BWD_CASE) default: break; }
#undef BWD_CASE
}

static gm_tensor *unary(gm_ctx *ctx, gm_op op, gm_tensor *x, float a) {
    if (!gm_op_begin(ctx, op, 1, x)) return NULL;
    const float *xd = x->data;
    float *copy = NULL;
    if (!gm_is_contiguous(x)) {
        copy = gm_arena_alloc(ctx, (size_t)x->numel * sizeof(float));
        if (!copy) return NULL;
        gm_copy_to(x, copy);
        xd = copy;
    }
    gm_tensor *out = gm_op_out(ctx, x->ndim, x->shape);
    if (!out) return NULL;
    uparam p = {a};
    float *yd = out->data;
    int64_t N = out->numel;
    int64_t nb = (N + UNARY_BLOCK - 1) / UNARY_BLOCK;
    if (gm_get_backend(ctx) == GM_BACKEND_FAST && (op == GM_OP_EXP || op == GM_OP_TANH || op == GM_OP_SIGMOID)) {
        /* vectorised kernels (kernels/vmath.h) over the blocks, split across threads */
        UNARY_PAR_BLOCKS for (int64_t b = 0; b < nb; b++) {
            BLOCK_RANGE(b);
            if (op == GM_OP_EXP) gm_vexp(xd + lo, yd + lo, hi - lo);
            else if (op == GM_OP_TANH) gm_vtanh(xd + lo, yd + lo, hi - lo);
            else gm_vsigmoid(xd + lo, yd + lo, hi - lo);
        }
    } else {
#define FWD_CASE(OPC) case OPC: { \
        UNARY_PAR_BLOCKS for (int64_t b = 0; b < nb; b++) { \
            float *restrict o = yd; \
            const float *restrict u = xd; \
            BLOCK_RANGE(b); \
            for (int64_t i = lo; i < hi; i++) o[i] = ufwd(OPC, u[i], p); \
        } } break;
        switch (op) { UNARY_OPS(FWD_CASE) default: break; }
#undef FWD_CASE
    }
    gm_node *node = gm_op_record(ctx, op, unary_backward, out, 1, x);
    if (node) { node->f[0] = a; node->saved = copy; }
    return gm_op_end(ctx, op, out);
}

gm_tensor *gm_neg(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_NEG, x, 0); }
gm_tensor *gm_exp(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_EXP, x, 0); }
gm_tensor *gm_log(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_LOG, x, 0); }
gm_tensor *gm_sqrt(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_SQRT, x, 0); }
gm_tensor *gm_pow(gm_ctx *ctx, gm_tensor *x, float p) { return unary(ctx, GM_OP_POW, x, p); }
gm_tensor *gm_abs(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_ABS, x, 0); }
gm_tensor *gm_tanh(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_TANH, x, 0); }
gm_tensor *gm_sigmoid(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_SIGMOID, x, 0); }
gm_tensor *gm_log_sigmoid(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_LOG_SIGMOID, x, 0); }
gm_tensor *gm_relu(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_RELU, x, 0); }
gm_tensor *gm_leaky_relu(gm_ctx *ctx, gm_tensor *x, float slope) { return unary(ctx, GM_OP_LEAKY_RELU, x, slope); }
gm_tensor *gm_elu(gm_ctx *ctx, gm_tensor *x, float alpha) { return unary(ctx, GM_OP_ELU, x, alpha); }
gm_tensor *gm_softplus(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_SOFTPLUS, x, 0); }
gm_tensor *gm_gelu(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_GELU, x, 0); }
gm_tensor *gm_silu(gm_ctx *ctx, gm_tensor *x) { return unary(ctx, GM_OP_SILU, x, 0); }
gm_tensor *gm_scale(gm_ctx *ctx, gm_tensor *x, float a) { return unary(ctx, GM_OP_SCALE, x, a); }
gm_tensor *gm_add_scalar(gm_ctx *ctx, gm_tensor *x, float c) { return unary(ctx, GM_OP_ADD_SCALAR, x, c); }
