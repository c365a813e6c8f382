/*
 * genmod/ops.h — every differentiable op.
 *
 * Each op computes immediately into an arena tensor and, if gradients are on
 * and an input requires grad, records a tape node whose backward accumulates
 * (+=) into the inputs' gradients. Forward and backward of an op live next to
 * each other in one src/ops/<family>.c file. Ops return NULL on error (sticky
 * context error, see tensor.h) and return NULL when given a NULL input.
 *
 * Conventions: shapes are row-major; "axis" may be negative (counted from the
 * end). Integer indices (targets, ids) are plain int64 arrays, never tensors,
 * and are not differentiable. Loss/density ops are elementwise or per-example
 * (no reduction): reduce with gm_sum / gm_mean.
 */
#ifndef GENMOD_OPS_H
#define GENMOD_OPS_H

#include "genmod/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One enum of ops with explicit values; names in gm_op_name(). */
typedef enum gm_op {
    GM_OP_NONE = 0,
    /* elementwise unary (src/ops/unary.c) */
    GM_OP_NEG = 1, GM_OP_EXP = 2, GM_OP_LOG = 3, GM_OP_SQRT = 4, GM_OP_POW = 5,
    GM_OP_ABS = 6, GM_OP_TANH = 7, GM_OP_SIGMOID = 8, GM_OP_RELU = 9,
    GM_OP_LEAKY_RELU = 10, GM_OP_ELU = 11, GM_OP_SOFTPLUS = 12, GM_OP_GELU = 13,
    GM_OP_SILU = 14, GM_OP_SCALE = 15, GM_OP_ADD_SCALAR = 16, GM_OP_LOG_SIGMOID = 17,
    /* broadcasting binary (src/ops/binary.c) */
    GM_OP_ADD = 20, GM_OP_SUB = 21, GM_OP_MUL = 22, GM_OP_DIV = 23,
    /* reductions (src/ops/reduce.c) */
    GM_OP_SUM = 30, GM_OP_MEAN = 31, GM_OP_MAX = 32, GM_OP_LOGSUMEXP = 33,
    GM_OP_LOG_SOFTMAX = 34, GM_OP_SOFTMAX = 35,
    /* shape and indexing (src/ops/shape.c) */
    GM_OP_RESHAPE = 40, GM_OP_TRANSPOSE = 41, GM_OP_PERMUTE = 42, GM_OP_SLICE = 43,
    GM_OP_CONCAT = 44, GM_OP_CONTIGUOUS = 45, GM_OP_INDEX_SELECT = 46,
    GM_OP_GATHER = 47, GM_OP_EMBEDDING = 48,
    /* linear algebra (src/ops/linear.c) */
    GM_OP_MATMUL = 50, GM_OP_LINEAR = 51, GM_OP_LINEAR_MASKED = 52,
    /* normalisation, dropout (src/ops/norm.c) */
    GM_OP_DROPOUT = 60, GM_OP_LAYER_NORM = 61, GM_OP_BATCH_NORM = 62,
    /* convolution and pooling (src/ops/conv.c, src/ops/pool.c) */
    GM_OP_CONV2D = 70, GM_OP_CONV_TRANSPOSE2D = 71, GM_OP_AVG_POOL2D = 72,
    GM_OP_MAX_POOL2D = 73, GM_OP_CONV2D_FUSED = 74,
    /* losses and log-densities (src/ops/loss.c) */
    GM_OP_BCE_LOGITS = 80, GM_OP_MSE = 81, GM_OP_CROSS_ENTROPY = 82,
    GM_OP_GAUSSIAN_LOGP = 83, GM_OP_LOGISTIC_LOGP = 84, GM_OP_BERNOULLI_LOGP = 85,
    /* autoregressive layers (src/ops/nade.c) */
    GM_OP_NADE = 86,
    /* flow layers (src/ops/flow_ops.c) */
    GM_OP_SQUEEZE2D = 87, GM_OP_UNSQUEEZE2D = 88, GM_OP_SLOGDET = 89,
    GM_OP_COUNT = 100
} gm_op;

/* Name of an op ("tanh", "conv2d", ...); "?" if unknown. */
const char *gm_op_name(gm_op op);

#define GM_ALL_AXES 127 /* reduce over every axis */

/* ---- elementwise unary: out has x's shape ---- */
gm_tensor *gm_neg(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_exp(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_log(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_sqrt(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_pow(gm_ctx *ctx, gm_tensor *x, float p);           /* x^p */
gm_tensor *gm_abs(gm_ctx *ctx, gm_tensor *x);                    /* grad 0 at 0 */
gm_tensor *gm_tanh(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_sigmoid(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_log_sigmoid(gm_ctx *ctx, gm_tensor *x);            /* stable */
gm_tensor *gm_relu(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_leaky_relu(gm_ctx *ctx, gm_tensor *x, float slope);
gm_tensor *gm_elu(gm_ctx *ctx, gm_tensor *x, float alpha);
gm_tensor *gm_softplus(gm_ctx *ctx, gm_tensor *x);               /* log(1+e^x), stable */
gm_tensor *gm_gelu(gm_ctx *ctx, gm_tensor *x);                   /* exact erf form */
gm_tensor *gm_silu(gm_ctx *ctx, gm_tensor *x);
gm_tensor *gm_scale(gm_ctx *ctx, gm_tensor *x, float a);         /* a*x */
gm_tensor *gm_add_scalar(gm_ctx *ctx, gm_tensor *x, float c);    /* x+c */

/* ---- broadcasting binary (NumPy rules, right-aligned, up to 4-D) ---- */
gm_tensor *gm_add(gm_ctx *ctx, gm_tensor *a, gm_tensor *b);
gm_tensor *gm_sub(gm_ctx *ctx, gm_tensor *a, gm_tensor *b);
gm_tensor *gm_mul(gm_ctx *ctx, gm_tensor *a, gm_tensor *b);
gm_tensor *gm_div(gm_ctx *ctx, gm_tensor *a, gm_tensor *b);

/* ---- reductions over one axis (or GM_ALL_AXES); keepdim keeps it as size 1 ---- */
gm_tensor *gm_sum(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim);
gm_tensor *gm_mean(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim);
gm_tensor *gm_max(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim);  /* grad to first argmax */
gm_tensor *gm_logsumexp(gm_ctx *ctx, gm_tensor *x, int axis, int keepdim);
gm_tensor *gm_log_softmax(gm_ctx *ctx, gm_tensor *x, int axis);
gm_tensor *gm_softmax(gm_ctx *ctx, gm_tensor *x, int axis);

/* ---- shape ---- */
/* View when x is contiguous, else a copy. One dim may be -1 (inferred). */
gm_tensor *gm_reshape(gm_ctx *ctx, gm_tensor *x, int ndim, const int64_t *shape);
gm_tensor *gm_transpose(gm_ctx *ctx, gm_tensor *x, int d0, int d1);   /* view */
gm_tensor *gm_permute(gm_ctx *ctx, gm_tensor *x, const int *perm);    /* view */
gm_tensor *gm_slice(gm_ctx *ctx, gm_tensor *x, int axis, int64_t start, int64_t end); /* view, [start,end) */
gm_tensor *gm_concat(gm_ctx *ctx, int n, gm_tensor *const *xs, int axis);
gm_tensor *gm_contiguous(gm_ctx *ctx, gm_tensor *x);  /* x itself if already contiguous */
/* out = x.index_select(axis, idx[0..n)) */
gm_tensor *gm_index_select(gm_ctx *ctx, gm_tensor *x, int axis, const int64_t *idx, int64_t n);
/* torch.gather: out has the shape of `index_shape` (same ndim as x), out[..i..] = x[..index[..i..]..] along axis */
gm_tensor *gm_gather(gm_ctx *ctx, gm_tensor *x, int axis, const int64_t *index, const int64_t *index_shape);
/* weight (V, D), ids (n) -> (n, D); ids out of range is an error */
gm_tensor *gm_embedding(gm_ctx *ctx, gm_tensor *weight, const int64_t *ids, int64_t n);

/* ---- linear algebra ---- */
/* (M,K)@(K,N) -> (M,N), or batched (B,M,K)@(B,K,N) -> (B,M,N). Transposed views are used without copies. */
gm_tensor *gm_matmul(gm_ctx *ctx, gm_tensor *a, gm_tensor *b);
/* x (B,in), W (out,in), bias (out) or NULL -> x W^T + bias, (B,out). */
gm_tensor *gm_linear(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias);
/* As gm_linear with weight W ⊙ mask; mask (out,in) constant (0/1). Gradient of W is masked. */
gm_tensor *gm_linear_masked(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, const float *mask, gm_tensor *bias);
/* gm_linear_masked for a caller that knows where each mask row ends: row o of
 * mask is 0 from column row_len[o] on (0 <= row_len[o] <= in; checked; NULL:
 * found by scanning the mask, as gm_linear_masked does). mask NULL (with
 * row_len): the staircase mask that is 1 on [0, row_len[o]) and 0 after,
 * never read. Rows are taken in blocks that only multiply over their prefix,
 * so a staircase (a MADE with hidden units sorted by degree) skips its zero
 * half. Same results as gm_linear_masked up to float rounding; row_len is
 * read during the call only. */
gm_tensor *gm_linear_masked_rows(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, const float *mask,
                                 const int32_t *row_len, gm_tensor *bias);
/* row_len[o] = 1 + the last column of mask row o that is non-zero (0 if none). */
void gm_mask_row_lengths(const float *mask, int64_t out, int64_t in, int32_t *row_len);

/* ---- dropout and normalisation ---- */
struct gm_rng;
/* Inverted dropout with drop probability p in [0,1) when gm_training(ctx); identity otherwise. */
gm_tensor *gm_dropout(gm_ctx *ctx, gm_tensor *x, float p, struct gm_rng *rng);
/* Normalise over the last dim; gamma, beta (D) or NULL. */
gm_tensor *gm_layer_norm(gm_ctx *ctx, gm_tensor *x, gm_tensor *gamma, gm_tensor *beta, float eps);
/* x (B,C) or (B,C,H,W); statistics per channel C. Training: batch statistics (biased
 * variance for normalising), running_* updated with momentum (unbiased variance, as
 * torch). Eval: running statistics. gamma/beta (C) or NULL; running_* may be NULL in training. */
gm_tensor *gm_batch_norm(gm_ctx *ctx, gm_tensor *x, gm_tensor *gamma, gm_tensor *beta,
                         float *running_mean, float *running_var, float momentum, float eps);

/* ---- convolution and pooling (NCHW) ---- */
typedef struct gm_conv_params {
    int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int out_pad_h, out_pad_w; /* transposed conv only */
} gm_conv_params;
/* x (B,C,H,W), w (O,C,kh,kw), bias (O) or NULL -> (B,O,Ho,Wo) */
gm_tensor *gm_conv2d(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_conv_params p);
/* res + conv2d(relu_in ? relu(x) : x, w, bias) as one op (the ReLU applied
 * while the input is read, the residual added while the output is written:
 * one pass over the activations instead of three); res has the output's shape
 * or is NULL. Gradients flow to x (through the ReLU), w, bias and res. */
gm_tensor *gm_conv2d_fused(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_tensor *res,
                           gm_conv_params p, int relu_in);
/* x (B,C,H,W), w (C,O,kh,kw) (torch layout), bias (O) or NULL -> (B,O,Ho,Wo),
 * Ho = (H-1)*stride - 2*pad + dil*(kh-1) + out_pad + 1 */
gm_tensor *gm_conv_transpose2d(gm_ctx *ctx, gm_tensor *x, gm_tensor *w, gm_tensor *bias, gm_conv_params p);
/* Average pooling counts padded zeros (torch count_include_pad=True). */
gm_tensor *gm_avg_pool2d(gm_ctx *ctx, gm_tensor *x, int k, int stride, int pad);
gm_tensor *gm_max_pool2d(gm_ctx *ctx, gm_tensor *x, int k, int stride, int pad);

/* ---- losses and log-densities (elementwise or per-example, no reduction) ---- */
/* max(l,0) - l*t + log1p(exp(-|l|)); target constant (no grad). */
gm_tensor *gm_bce_with_logits(gm_ctx *ctx, gm_tensor *logits, gm_tensor *target);
/* (a-b)^2, both differentiable, broadcasting as gm_sub. */
gm_tensor *gm_mse(gm_ctx *ctx, gm_tensor *a, gm_tensor *b);
/* logits (N,C), targets (N) in [0,C) -> (N) = -log softmax(logits)[target] */
gm_tensor *gm_cross_entropy(gm_ctx *ctx, gm_tensor *logits, const int64_t *targets);
/* log N(x; mean, exp(log_std)^2); all three differentiable, broadcasting. */
gm_tensor *gm_gaussian_log_prob(gm_ctx *ctx, gm_tensor *x, gm_tensor *mean, gm_tensor *log_std);
/* log Logistic(x; loc, exp(log_scale)); all three differentiable, broadcasting. */
gm_tensor *gm_logistic_log_prob(gm_ctx *ctx, gm_tensor *x, gm_tensor *loc, gm_tensor *log_scale);
/* x*log σ(l) + (1-x)*log σ(-l) = -bce(l, x); x constant. */
gm_tensor *gm_bernoulli_log_prob(gm_ctx *ctx, gm_tensor *x, gm_tensor *logits);

/* ---- autoregressive layers ---- */
/* NADE conditionals in O(B·D·H) time and O(B·H) extra memory: for each row,
 * a = c; for k in 0..D-1: d = order[k]; out[d] = b[d] + V[d]·σ(a); a += W[d]·x[d].
 * x (B,D) constant (no gradient), W (D,H), c (H), V (D,H), b (D); order a
 * permutation of 0..D-1 (checked). Returns the logits (B,D), column d being
 * the logit of p(x_d = 1 | x before d in the order). The backward
 * recomputes the hidden states in blocks instead of storing (D,B,H). */
gm_tensor *gm_nade_logits(gm_ctx *ctx, gm_tensor *x, gm_tensor *W, gm_tensor *c, gm_tensor *V, gm_tensor *b,
                          const int64_t *order);

/* ---- flow layers ---- */
/* Space-to-depth by 2 (Glow's squeeze2d): x (B,C,H,W), H and W even ->
 * (B,4C,H/2,W/2) with out[b, 4c + 2i + j, y, x] = in[b, c, 2y + i, 2x + j]. */
gm_tensor *gm_squeeze2d(gm_ctx *ctx, gm_tensor *x);
/* Its exact inverse: (B,4C,H,W) -> (B,C,2H,2W). */
gm_tensor *gm_unsqueeze2d(gm_ctx *ctx, gm_tensor *x);
/* log|det W| of a square matrix W (n,n), n <= 512, as a scalar tensor
 * (LU with partial pivoting in double). Gradient: W^{-T}. A singular or
 * non-finite W is an error (GM_ERR_NONFINITE naming the op), never a silent -inf. */
gm_tensor *gm_slogdet(gm_ctx *ctx, gm_tensor *w);

#ifdef __cplusplus
}
#endif
#endif
