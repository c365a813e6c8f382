/*
 * autodiff.c — tape recording and the reverse pass.
 *
 * Define-by-run: gm_op_record appends a node when gradients are enabled and an
 * input requires grad. gm_backward seeds the output gradient and calls each
 * node's backward in reverse creation order; a node whose output received no
 * gradient is skipped. Gradient buffers of non-parameter tensors are zeroed
 * arena memory allocated on first use.
 */
#include "ctx_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const g_op_names[GM_OP_COUNT] = {
    [GM_OP_NONE] = "none",
    [GM_OP_NEG] = "neg", [GM_OP_EXP] = "exp", [GM_OP_LOG] = "log", [GM_OP_SQRT] = "sqrt",
    [GM_OP_POW] = "pow", [GM_OP_ABS] = "abs", [GM_OP_TANH] = "tanh", [GM_OP_SIGMOID] = "sigmoid",
    [GM_OP_RELU] = "relu", [GM_OP_LEAKY_RELU] = "leaky_relu", [GM_OP_ELU] = "elu",
    [GM_OP_SOFTPLUS] = "softplus", [GM_OP_GELU] = "gelu", [GM_OP_SILU] = "silu",
    [GM_OP_SCALE] = "scale", [GM_OP_ADD_SCALAR] = "add_scalar", [GM_OP_LOG_SIGMOID] = "log_sigmoid",
    [GM_OP_ADD] = "add", [GM_OP_SUB] = "sub", [GM_OP_MUL] = "mul", [GM_OP_DIV] = "div",
    [GM_OP_SUM] = "sum", [GM_OP_MEAN] = "mean", [GM_OP_MAX] = "max", [GM_OP_LOGSUMEXP] = "logsumexp",
    [GM_OP_LOG_SOFTMAX] = "log_softmax", [GM_OP_SOFTMAX] = "softmax",
    [GM_OP_RESHAPE] = "reshape", [GM_OP_TRANSPOSE] = "transpose", [GM_OP_PERMUTE] = "permute",
    [GM_OP_SLICE] = "slice", [GM_OP_CONCAT] = "concat", [GM_OP_CONTIGUOUS] = "contiguous",
    [GM_OP_INDEX_SELECT] = "index_select", [GM_OP_GATHER] = "gather", [GM_OP_EMBEDDING] = "embedding",
    [GM_OP_MATMUL] = "matmul", [GM_OP_LINEAR] = "linear", [GM_OP_LINEAR_MASKED] = "linear_masked",
    [GM_OP_DROPOUT] = "dropout", [GM_OP_LAYER_NORM] = "layer_norm", [GM_OP_BATCH_NORM] = "batch_norm",
    [GM_OP_CONV2D] = "conv2d", [GM_OP_CONV_TRANSPOSE2D] = "conv_transpose2d",
    [GM_OP_AVG_POOL2D] = "avg_pool2d", [GM_OP_MAX_POOL2D] = "max_pool2d", [GM_OP_CONV2D_FUSED] = "conv2d_fused",
    [GM_OP_BCE_LOGITS] = "bce_with_logits", [GM_OP_MSE] = "mse", [GM_OP_CROSS_ENTROPY] = "cross_entropy",
    [GM_OP_GAUSSIAN_LOGP] = "gaussian_log_prob", [GM_OP_LOGISTIC_LOGP] = "logistic_log_prob",
    [GM_OP_BERNOULLI_LOGP] = "bernoulli_log_prob",
    [GM_OP_NADE] = "nade_logits",
    [GM_OP_SQUEEZE2D] = "squeeze2d", [GM_OP_UNSQUEEZE2D] = "unsqueeze2d", [GM_OP_SLOGDET] = "slogdet",
};

const char *gm_op_name(gm_op op) {
    if ((int)op < 0 || op >= GM_OP_COUNT || !g_op_names[op]) return "?";
    return g_op_names[op];
}

bool gm_op_begin(gm_ctx *ctx, gm_op op, int n, ...) {
    if (ctx->status != GM_OK) return false;
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (int k = 0; k < n; k++)
        if (!va_arg(ap, gm_tensor *)) ok = false;
    va_end(ap);
    if (!ok) gm_ctx_fail(ctx, GM_ERR_ARG, "%s: NULL input tensor", gm_op_name(op));
    return ok;
}

gm_tensor *gm_op_out(gm_ctx *ctx, int ndim, const int64_t *shape) { return gm_tensor_new(ctx, ndim, shape); }

gm_node *gm_op_record(gm_ctx *ctx, gm_op op, gm_backward_fn bw, gm_tensor *out, int n, ...) {
    if (!ctx->grad_enabled || !out) return NULL;
    gm_tensor *in[GM_MAX_INPUTS] = {0};
    int any = 0;
    va_list ap;
    va_start(ap, n);
    for (int k = 0; k < n && k < GM_MAX_INPUTS; k++) {
        in[k] = va_arg(ap, gm_tensor *);
        if (in[k] && in[k]->requires_grad) any = 1;
    }
    va_end(ap);
    if (!any) return NULL;
    if (ctx->tape_len == ctx->tape_cap) {
        int cap = ctx->tape_cap * 2;
        gm_node **t = realloc(ctx->tape, sizeof(gm_node *) * (size_t)cap);
        if (!t) { gm_ctx_fail(ctx, GM_ERR_NOMEM, "tape: out of memory"); return NULL; }
        ctx->tape = t;
        ctx->tape_cap = cap;
        ctx->n_mallocs++;
    }
    gm_node *node = gm_arena_calloc(ctx, sizeof *node);
    if (!node) return NULL;
    node->op = op;
    node->backward = bw;
    node->out = out;
    node->n_in = n;
    for (int k = 0; k < n && k < GM_MAX_INPUTS; k++) node->in[k] = in[k];
    out->requires_grad = 1;
    out->node = node;
    ctx->tape[ctx->tape_len++] = node;
    return node;
}

gm_tensor *gm_op_end(gm_ctx *ctx, gm_op op, gm_tensor *out) {
    if (!out) return NULL;
    if (ctx->debug_finite) {
        for (int64_t a = 0; a < out->shape[0]; a++)
            for (int64_t b = 0; b < out->shape[1]; b++)
                for (int64_t c = 0; c < out->shape[2]; c++)
                    for (int64_t d = 0; d < out->shape[3]; d++) {
                        float v = out->data[a * out->stride[0] + b * out->stride[1] + c * out->stride[2] + d * out->stride[3]];
                        if (!isfinite(v)) {
                            if (!ctx->first_nonfinite[0])
                                snprintf(ctx->first_nonfinite, sizeof ctx->first_nonfinite, "%s", gm_op_name(op));
                            return gm_ctx_fail(ctx, GM_ERR_NONFINITE, "%s: non-finite output (%g) at tape node %d",
                                               gm_op_name(op), (double)v, ctx->tape_len);
                        }
                    }
    }
    return out;
}

gm_tensor *gm_view_header(gm_ctx *ctx, const gm_tensor *x) {
    gm_tensor *t = gm_arena_alloc(ctx, sizeof *t);
    if (!t) return NULL;
    *t = *x;
    t->grad = NULL;
    t->node = NULL;
    t->requires_grad = 0;
    t->is_param = 0;
    t->name = NULL;
    return t;
}

int gm_axis(gm_ctx *ctx, const gm_tensor *x, int axis, const char *opname) {
    int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim) {
        gm_ctx_fail(ctx, GM_ERR_ARG, "%s: axis %d out of range for a %d-d tensor", opname, axis, x->ndim);
        return -1;
    }
    return a;
}

int gm_par_threads(int64_t work) {
#ifdef _OPENMP
    if (work < 32768) return 1;
    return omp_get_max_threads();
#else
    (void)work;
    return 1;
#endif
}

void gm_requires_grad(gm_tensor *t) { t->requires_grad = 1; }

float *gm_grad_buf(gm_ctx *ctx, gm_tensor *t) {
    if (!t || !t->requires_grad) return NULL;
    if (!t->grad) t->grad = gm_arena_calloc(ctx, (size_t)t->numel * sizeof(float));
    return t->grad;
}

float *gm_grad_buf_uninit(gm_ctx *ctx, gm_tensor *t, int *fresh) {
    *fresh = 0;
    if (!t || !t->requires_grad) return NULL;
    if (!t->grad) {
        t->grad = gm_arena_alloc(ctx, (size_t)(t->numel > 0 ? t->numel : 1) * sizeof(float));
        *fresh = t->grad != NULL;
    }
    return t->grad;
}

int gm_tape_len(const gm_ctx *ctx) { return ctx->tape_len; }

static gm_status run_backward(gm_ctx *ctx) {
    for (int k = ctx->tape_len - 1; k >= 0; k--) {
        gm_node *n = ctx->tape[k];
        if (!n->out->grad) continue; /* no gradient reached this node */
        n->backward(ctx, n);
        if (ctx->status != GM_OK) return ctx->status;
    }
    return ctx->status;
}

gm_status gm_backward_with(gm_ctx *ctx, gm_tensor *out, const float *seed) {
    if (ctx->status != GM_OK) return ctx->status;
    if (!out) { gm_ctx_fail(ctx, GM_ERR_ARG, "backward: NULL output"); return ctx->status; }
    if (!out->requires_grad) {
        gm_ctx_fail(ctx, GM_ERR_ARG, "backward: output does not depend on any tensor requiring grad");
        return ctx->status;
    }
    /* A new pass starts from fresh intermediate gradients: what an earlier
     * backward left in node outputs must not flow again into the leaves
     * (torch frees non-leaf grads; here they are dropped and re-allocated on
     * demand). Leaf and parameter gradients keep accumulating. */
    for (int k = 0; k < ctx->tape_len; k++) ctx->tape[k]->out->grad = NULL;
    float *g = gm_grad_buf(ctx, out);
    if (!g) return ctx->status;
    for (int64_t i = 0; i < out->numel; i++) g[i] += seed ? seed[i] : 1.0f;
    return run_backward(ctx);
}

gm_status gm_backward(gm_ctx *ctx, gm_tensor *loss) {
    if (ctx->status != GM_OK) return ctx->status;
    if (loss && loss->numel != 1) {
        char b[64];
        gm_ctx_fail(ctx, GM_ERR_SHAPE, "backward: loss must have one element, got shape %s", gm_shape_str(loss, b, sizeof b));
        return ctx->status;
    }
    return gm_backward_with(ctx, loss, NULL);
}
