/*
 * flow.h — normalizing-flow layers and a flow built from them (internal to
 * the library; the models nice, realnvp and flow2d are built on it).
 *
 * A gm_flow is a list of invertible layers over data of geometry (C, H, W)
 * (vector data: C = D, H = W = 1, tensors stay (B, D)). Every layer has its
 * forward x -> y with log|det ∂y/∂x| per example and its inverse in one
 * place (flow_layers.c); forward is built from differentiable ops, so the
 * training gradient comes from the tape. Layers:
 *   coupling   additive (NICE), affine (RealNVP: s = scale ⊙ tanh(raw)) or
 *              rational-quadratic spline (NSF; vector data, flow_spline.c),
 *              over an alternating, half, checkerboard or channel mask, with
 *              an MLP or a convolutional residual conditioner (flow_nets.c)
 *   scale      NICE's diagonal scaling y = x ⊙ exp(s)
 *   actnorm    Glow's y = (x + b) ⊙ exp(s) per channel, data-initialised
 *   inv1x1     invertible 1x1 convolution, plain W or LU-parametrised
 *   permute    fixed reverse or seeded random permutation of channels/dims
 *   batchnorm  batch statistics in training, running statistics in eval
 *   squeeze    space-to-depth by 2 (C,H,W) -> (4C,H/2,W/2)
 *   split      multi-scale factor-out: the first half of the channels leave
 *              the flow and become part of z
 * z is the concatenation, in order, of every factored-out part (flattened)
 * and the final activations (flattened): (B, D) again.
 * Parameter names: "layer<k>.<name>" in the model's gm_params.
 * What this is not: a model (prior, dequantization, logit preprocessing and
 * bits/dim live in src/models/flow_common.c).
 */
#ifndef GENMOD_FLOW_H
#define GENMOD_FLOW_H

#include "genmod/ops.h"
#include "genmod/params.h"
#include "genmod/rng.h"

typedef enum gm_flow_kind {
    GM_FLOW_COUPLING = 0, GM_FLOW_SCALE, GM_FLOW_ACTNORM, GM_FLOW_INV1X1, GM_FLOW_INV1X1_LU, GM_FLOW_PERMUTE,
    GM_FLOW_BATCHNORM, GM_FLOW_SQUEEZE, GM_FLOW_SPLIT
} gm_flow_kind;

typedef enum gm_flow_mask {
    GM_MASK_ALTERNATE = 0, /* vector: dims d with (d + parity) even condition, the others are transformed */
    GM_MASK_HALF,          /* vector: first half conditions (parity 0) or second half (parity 1) */
    GM_MASK_CHECKER,       /* image: pixels with (y + x + parity) even condition */
    GM_MASK_CHANNEL        /* image: first half of the channels conditions (parity 0) or second (1) */
} gm_flow_mask;

typedef enum gm_coupling_kind {
    GM_COUPLING_ADDITIVE = 0, /* y_b = x_b + t(x_a) */
    GM_COUPLING_AFFINE = 1,   /* y_b = x_b ⊙ exp(s(x_a)) + t(x_a) */
    GM_COUPLING_SPLINE = 2    /* y_b = RQS(x_b; θ(x_a)), vector data only (flow_spline.c) */
} gm_coupling_kind;

typedef enum gm_flow_net_kind { GM_NET_MLP = 0, GM_NET_RESNET = 1 } gm_flow_net_kind;

/* A conditioner network: MLP (n_in -> depth x hidden ReLU -> n_out) or a
 * convolutional residual net (3x3 conv n_in -> hidden, depth residual blocks
 * of two 3x3 convs, ReLU, 3x3 conv -> n_out). The last layer starts at zero,
 * so every coupling starts as the identity. */
typedef struct gm_flow_net {
    gm_flow_net_kind kind;
    int n_in, n_out, hidden, depth;
    int p0, n_layers; /* parameters p0 .. p0 + 2*n_layers - 1: weight, bias pairs */
} gm_flow_net;

typedef struct gm_flow_layer {
    gm_flow_kind kind;
    int c, h, w;           /* geometry of this layer's input */
    int affine;            /* coupling: a gm_coupling_kind */
    int bins;              /* spline coupling: bins K */
    float bound;           /* spline coupling: the spline acts on [-bound, bound] */
    gm_flow_mask mask;
    int parity;
    gm_flow_net net;       /* coupling conditioner */
    int p[5];              /* parameter indices, meaning by kind (see flow_layers.c) */
    int64_t *idx_a, *idx_b, *inv; /* vector coupling: (na), (nb), (D); permute: idx_a = perm, inv = its inverse */
    int na, nb;
    float *checker;        /* (2, H*W): conditioning mask, then its complement */
    int64_t z_off, z_len;  /* split: where the factored-out part sits in z */
} gm_flow_layer;

typedef struct gm_flow {
    gm_params *params;     /* borrowed: the model's */
    int image;             /* 1: activations are (B, C, H, W) */
    int c0, h0, w0;        /* input geometry */
    int c, h, w;           /* geometry after the layers added so far */
    int64_t dim;           /* C*H*W */
    int64_t z_used;        /* entries of z taken by split layers so far */
    int n, cap;
    gm_flow_layer *layers;
    float bn_momentum, bn_eps;
    int spline_bins;       /* K for spline couplings added next (default 8) */
    float spline_bound;    /* their interval [-bound, bound] (default 5) */
    int init_mode;         /* 1 while gm_flow_init_data runs */
} gm_flow;

/* Starts an empty flow over data of `dim` values; image = 1 with c*h*w == dim
 * for (B,C,H,W) activations, else vector (B, D). */
gm_status gm_flow_begin(gm_flow *f, gm_params *params, int64_t dim, int image, int c, int h, int w);
void gm_flow_free(gm_flow *f);

/* Layer builders: each declares its parameters in f->params (before
 * finalize) and returns GM_ERR_ARG with the reason when the layer does not
 * fit the current geometry (odd size for squeeze, one channel for a channel
 * mask, ...). */
/* `affine` is a gm_coupling_kind. */
gm_status gm_flow_add_coupling(gm_flow *f, int affine, gm_flow_mask mask, int parity, gm_flow_net_kind net, int hidden,
                               int depth);
gm_status gm_flow_add_scale(gm_flow *f);
gm_status gm_flow_add_actnorm(gm_flow *f);
gm_status gm_flow_add_inv1x1(gm_flow *f, int lu);
gm_status gm_flow_add_permute(gm_flow *f, int reverse);
gm_status gm_flow_add_batchnorm(gm_flow *f);
gm_status gm_flow_add_squeeze(gm_flow *f);
gm_status gm_flow_add_split(gm_flow *f);

/* Initialises every parameter after gm_params_finalize (random orthogonal
 * 1x1 convolutions, seeded permutations, zero last conditioner layers). */
gm_status gm_flow_init_params(gm_flow *f, gm_rng *rng);
/* Data-dependent initialisation (ActNorm): runs x (n, D) through the flow
 * and sets each ActNorm so its output has zero mean and unit variance per
 * channel. */
gm_status gm_flow_init_data(gm_flow *f, gm_ctx *ctx, const float *x, int64_t n);

/* z = f(x) for x (B, D); *logdet (B) receives log|det ∂z/∂x| per example.
 * Differentiable when gradients are on. In training mode batch-norm layers
 * use batch statistics and update their running statistics. NULL on error
 * (sticky context error naming the layer). */
gm_tensor *gm_flow_forward(gm_flow *f, gm_ctx *ctx, gm_tensor *x, gm_tensor **logdet);
/* x = f^{-1}(z) for z (B, D) (eval-mode statistics). NULL on error. */
gm_tensor *gm_flow_inverse(gm_flow *f, gm_ctx *ctx, gm_tensor *z);

/* Checks the parameters for what would make the flow non-invertible or
 * produce NaN: non-finite values, singular 1x1 convolutions, non-positive
 * running variances. GM_ERR_FORMAT naming the layer and parameter. */
gm_status gm_flow_validate(gm_flow *f);

/* Number of layers of each kind, as "4 coupling, 1 scale" into buf. */
void gm_flow_describe(const gm_flow *f, char *buf, size_t n);

#endif
