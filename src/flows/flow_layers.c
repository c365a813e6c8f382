/*
 * flow_layers.c — forward (with log|det J|) and inverse of every flow layer,
 * and the whole-flow passes gm_flow_forward / gm_flow_inverse.
 *
 * Forward passes are compositions of differentiable ops, so their gradients
 * come from the tape (and each op has its own finite-difference test); the
 * inverse passes use the same ops with gradients off. Per layer (x -> y):
 *   coupling  y_b = x_b ⊙ exp(s) + t (affine; s = scale ⊙ tanh(raw)) or
 *             y_b = x_b + t (additive), (s, t) = net(x_a); log|det| = Σ s
 *   scale     y = x ⊙ exp(s); Σ s
 *   actnorm   y = (x + b) ⊙ exp(s); H·W·Σ s
 *   inv1x1    y = W x per pixel; H·W·log|det W|. LU: W = P (L + I)(U + diag(sign ⊙ exp(log_s))); H·W·Σ log_s
 *   permute   y = x[perm]; 0
 *   batchnorm y = (x − μ)/sqrt(σ² + eps) ⊙ exp(log γ) + β; H·W·Σ (log γ − ½ log(σ² + eps)),
 *             μ, σ² of the batch in training mode (and the running averages
 *             updated), the running averages otherwise
 *   squeeze / split: 0 (volume preserving re-arrangements)
 * What this is not: building or initialising a flow (flow_build.c).
 */
#include "flows/flow_internal.h"
#include "kernels/linalg.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define P(l, i) gm_params_get(f->params, (l)->p[i])

/* Σ over every non-batch axis: (B, ...) -> (B). */
static gm_tensor *rowsum(gm_ctx *ctx, gm_tensor *t) {
    if (!t) return NULL;
    int64_t s[2] = {t->shape[0], -1};
    return gm_sum(ctx, gm_reshape(ctx, t, 2, s), 1, 0);
}

static void add_ld(gm_ctx *ctx, gm_tensor **ld, gm_tensor *t) { *ld = *ld ? gm_add(ctx, *ld, t) : t; }

/* Per-channel statistic of x: mean over every axis but the channel one ->
 * (1, C) for vectors or (1, C, 1, 1) for images. */
static gm_tensor *chan_mean(gm_ctx *ctx, const gm_flow *f, gm_tensor *x) {
    if (!f->image) return gm_mean(ctx, x, 0, 1);
    return gm_mean(ctx, gm_mean(ctx, gm_mean(ctx, x, 3, 1), 2, 1), 0, 1);
}

/* A constant (no-grad) tensor over a parameter's values with the given shape. */
static gm_tensor *const_view(gm_ctx *ctx, gm_tensor *p, int ndim, const int64_t *shape) {
    return gm_wrap(ctx, ndim, shape, p->data);
}

/* ---- coupling ---- */

/* (s, t) for a coupling from the conditioning part xa; s is NULL for additive. */
static void coupling_st(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx, gm_tensor *xa, gm_tensor *mc, gm_tensor **s,
                        gm_tensor **t) {
    gm_tensor *o = gm_flow_net_forward(f->params, &l->net, ctx, xa);
    *s = NULL;
    if (!o) {
        *t = NULL;
        return;
    }
    int nt = l->affine == GM_COUPLING_AFFINE ? l->net.n_out / 2 : l->net.n_out;
    if (l->affine == GM_COUPLING_AFFINE) {
        *s = gm_mul(ctx, gm_tanh(ctx, gm_slice(ctx, o, 1, 0, nt)), P(l, 0));
        *t = gm_slice(ctx, o, 1, nt, 2 * nt);
    } else {
        *t = o;
    }
    if (mc) { /* checkerboard: only the complement pixels change */
        if (*s) *s = gm_mul(ctx, *s, mc);
        *t = gm_mul(ctx, *t, mc);
    }
}

/* y = x ⊙ exp(s) + t (s NULL: x + t) and its inverse; the forward adds Σ s to *ld. */
static gm_tensor *apply_st(gm_ctx *ctx, gm_tensor *x, gm_tensor *s, gm_tensor *t, gm_tensor **ld, int inverse) {
    if (inverse) return s ? gm_mul(ctx, gm_sub(ctx, x, t), gm_exp(ctx, gm_neg(ctx, s))) : gm_sub(ctx, x, t);
    if (!s) return gm_add(ctx, x, t);
    add_ld(ctx, ld, rowsum(ctx, s));
    return gm_add(ctx, gm_mul(ctx, x, gm_exp(ctx, s)), t);
}

static gm_tensor *coupling(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx, gm_tensor *x, gm_tensor **ld, int inverse) {
    gm_tensor *s, *t;
    if (!f->image) {
        gm_tensor *xa = gm_index_select(ctx, x, 1, l->idx_a, l->na); // (B, na)
        gm_tensor *xb = gm_index_select(ctx, x, 1, l->idx_b, l->nb); // (B, nb)
        gm_tensor *yb;
        if (l->affine == GM_COUPLING_SPLINE) {
            gm_tensor *lds = NULL, *o = gm_flow_net_forward(f->params, &l->net, ctx, xa);
            yb = gm_flow_rqs(ctx, xb, o, l->bins, l->bound, inverse, inverse ? NULL : &lds);
            if (lds) add_ld(ctx, ld, lds);
        } else {
            coupling_st(f, l, ctx, xa, NULL, &s, &t);
            yb = apply_st(ctx, xb, s, t, ld, inverse);
        }
        gm_tensor *parts[2] = {xa, yb};
        return gm_index_select(ctx, gm_concat(ctx, 2, parts, 1), 1, l->inv, l->c); // (B, D)
    }
    if (l->mask == GM_MASK_CHECKER) {
        int64_t ms[4] = {1, 1, l->h, l->w};
        gm_tensor *m = gm_wrap(ctx, 4, ms, l->checker);
        gm_tensor *mc = gm_wrap(ctx, 4, ms, l->checker + (int64_t)l->h * l->w);
        coupling_st(f, l, ctx, gm_mul(ctx, x, m), mc, &s, &t); /* x ⊙ m is unchanged by the layer */
        return apply_st(ctx, x, s, t, ld, inverse);
    }
    /* channel mask */
    int c2 = l->c / 2, a0 = l->parity ? c2 : 0, b0 = l->parity ? 0 : c2;
    gm_tensor *xa = gm_slice(ctx, x, 1, a0, a0 + c2), *xb = gm_slice(ctx, x, 1, b0, b0 + c2);
    coupling_st(f, l, ctx, xa, NULL, &s, &t);
    gm_tensor *yb = apply_st(ctx, xb, s, t, ld, inverse);
    gm_tensor *parts[2] = {l->parity ? yb : xa, l->parity ? xa : yb};
    return gm_concat(ctx, 2, parts, 1);
}

/* ---- actnorm ---- */

static gm_tensor *actnorm(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx, gm_tensor *x, gm_tensor **ld, int inverse) {
    gm_tensor *b = P(l, 0), *s = P(l, 1);
    if (f->init_mode && !inverse && x) { /* data-dependent init: zero mean, unit variance per channel */
        gm_tensor *mu = chan_mean(ctx, f, x);
        gm_tensor *d = gm_sub(ctx, x, mu);
        gm_tensor *var = chan_mean(ctx, f, gm_mul(ctx, d, d));
        if (!var) return NULL;
        for (int c = 0; c < l->c; c++) {
            b->data[c] = -mu->data[c];
            s->data[c] = (float)-log(sqrt((double)var->data[c]) + 1e-6);
        }
    }
    double hw = (double)l->h * l->w;
    if (!inverse) {
        add_ld(ctx, ld, gm_scale(ctx, gm_sum(ctx, s, GM_ALL_AXES, 0), (float)hw));
        return gm_mul(ctx, gm_add(ctx, x, b), gm_exp(ctx, s));
    }
    return gm_sub(ctx, gm_mul(ctx, x, gm_exp(ctx, gm_neg(ctx, s))), b);
}

/* ---- invertible 1x1 convolution ---- */

/* W (C, C) from the layer's parameters, differentiable. */
static gm_tensor *inv1x1_weight(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx) {
    if (l->kind == GM_FLOW_INV1X1) return P(l, 0);
    int n = l->c;
    int64_t cc[2] = {n, n};
    gm_tensor *lm = gm_tensor_new(ctx, 2, cc), *um = gm_tensor_new(ctx, 2, cc), *eye = gm_tensor_new(ctx, 2, cc);
    if (!lm || !um || !eye) return NULL;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            lm->data[i * n + j] = j < i, um->data[i * n + j] = j > i, eye->data[i * n + j] = i == j;
        }
    gm_tensor *L = gm_add(ctx, gm_mul(ctx, P(l, 0), lm), eye);
    gm_tensor *d = gm_mul(ctx, const_view(ctx, P(l, 4), 1, (int64_t[]){n}), gm_exp(ctx, P(l, 2))); // (C)
    gm_tensor *U = gm_add(ctx, gm_mul(ctx, P(l, 1), um), gm_mul(ctx, eye, d));
    return gm_matmul(ctx, const_view(ctx, P(l, 3), 2, cc), gm_matmul(ctx, L, U));
}

/* Applies a (C, C) matrix per pixel / per row. */
static gm_tensor *apply_1x1(gm_flow *f, gm_ctx *ctx, gm_tensor *x, gm_tensor *w) {
    if (!f->image) return gm_linear(ctx, x, w, NULL);
    int64_t s4[4] = {w->shape[0], w->shape[1], 1, 1};
    gm_conv_params cp = {.stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1};
    return gm_conv2d(ctx, x, gm_reshape(ctx, w, 4, s4), NULL, cp);
}

static gm_tensor *inv1x1(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx, gm_tensor *x, gm_tensor **ld, int inverse, int k) {
    gm_tensor *w = inv1x1_weight(f, l, ctx);
    if (!w) return NULL;
    double hw = (double)l->h * l->w;
    if (!inverse) {
        gm_tensor *lw = l->kind == GM_FLOW_INV1X1 ? gm_slogdet(ctx, w) : gm_sum(ctx, P(l, 2), GM_ALL_AXES, 0);
        add_ld(ctx, ld, gm_scale(ctx, lw, (float)hw));
        return apply_1x1(f, ctx, x, w);
    }
    int n = l->c;
    double *a = gm_arena_alloc(ctx, (size_t)(2 * n * n + n) * sizeof(double)); // LU (n,n), inverse (n,n), column (n)
    int *piv = gm_arena_alloc(ctx, (size_t)n * sizeof(int));
    gm_tensor *wi = gm_tensor_new(ctx, 2, (int64_t[]){n, n});
    if (!a || !piv || !wi) return NULL;
    gm_copy_to(w, wi->data);
    for (int i = 0; i < n * n; i++) a[i] = wi->data[i];
    if (!isfinite(gm_lu_factor(a, n, piv)))
        return gm_ctx_fail(ctx, GM_ERR_NONFINITE, "flow layer %d: the 1x1 convolution weight is singular", k);
    gm_lu_inverse(a, piv, n, a + n * n, a + 2 * n * n);
    for (int i = 0; i < n * n; i++) wi->data[i] = (float)a[n * n + i];
    return apply_1x1(f, ctx, x, wi);
}

/* ---- permutation ---- */

static gm_tensor *permute(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx, gm_tensor *x, int inverse, int k) {
    int n = l->c;
    int64_t *idx = gm_arena_alloc(ctx, (size_t)n * sizeof(int64_t)); // (C)
    if (!idx) return NULL;
    if (!gm_flow_perm_from_floats(P(l, 0)->data, n, inverse, idx))
        return gm_ctx_fail(ctx, GM_ERR_FORMAT, "flow layer %d: perm is not a permutation", k);
    return gm_index_select(ctx, x, 1, idx, n);
}

/* ---- batch norm ---- */

static gm_tensor *batchnorm(gm_flow *f, gm_flow_layer *l, gm_ctx *ctx, gm_tensor *x, gm_tensor **ld, int inverse) {
    gm_tensor *lg = P(l, 0), *beta = P(l, 1), *rm = P(l, 2), *rv = P(l, 3);
    int64_t cs[4] = {1, l->c, 1, 1};
    int nd = f->image ? 4 : 2;
    gm_tensor *mu, *var;
    int batch_stats = !inverse && (gm_training(ctx) || f->init_mode);
    if (batch_stats) {
        mu = chan_mean(ctx, f, x);
        gm_tensor *d = gm_sub(ctx, x, mu);
        var = chan_mean(ctx, f, gm_mul(ctx, d, d));
        if (!var) return NULL;
        if (gm_training(ctx) && !f->init_mode) {
            double cnt = (double)x->numel / l->c, unb = cnt > 1 ? cnt / (cnt - 1) : 1.0, m = f->bn_momentum;
            for (int c = 0; c < l->c; c++) {
                rm->data[c] = (float)((1 - m) * rm->data[c] + m * mu->data[c]);
                rv->data[c] = (float)((1 - m) * rv->data[c] + m * var->data[c] * unb);
            }
        }
    } else {
        mu = const_view(ctx, rm, nd, cs);
        var = const_view(ctx, rv, nd, cs);
    }
    gm_tensor *ve = gm_add_scalar(ctx, var, f->bn_eps);
    if (!inverse) {
        double hw = (double)l->h * l->w;
        gm_tensor *lds = gm_sub(ctx, gm_sum(ctx, lg, GM_ALL_AXES, 0),
                                gm_scale(ctx, gm_sum(ctx, gm_log(ctx, ve), GM_ALL_AXES, 0), 0.5f));
        add_ld(ctx, ld, gm_scale(ctx, lds, (float)hw));
        gm_tensor *xn = gm_mul(ctx, gm_sub(ctx, x, mu), gm_pow(ctx, ve, -0.5f));
        return gm_add(ctx, gm_mul(ctx, xn, gm_exp(ctx, lg)), beta);
    }
    gm_tensor *xn = gm_mul(ctx, gm_sub(ctx, x, beta), gm_exp(ctx, gm_neg(ctx, lg)));
    return gm_add(ctx, gm_mul(ctx, xn, gm_sqrt(ctx, ve)), mu);
}

/* ---- one layer ---- */

static gm_tensor *layer(gm_flow *f, int k, gm_ctx *ctx, gm_tensor *x, gm_tensor **ld, int inverse) {
    gm_flow_layer *l = &f->layers[k];
    switch (l->kind) {
    case GM_FLOW_COUPLING: return coupling(f, l, ctx, x, ld, inverse);
    case GM_FLOW_SCALE: {
        gm_tensor *s = P(l, 0);
        if (inverse) return gm_mul(ctx, x, gm_exp(ctx, gm_neg(ctx, s)));
        add_ld(ctx, ld, gm_sum(ctx, s, GM_ALL_AXES, 0));
        return gm_mul(ctx, x, gm_exp(ctx, s));
    }
    case GM_FLOW_ACTNORM: return actnorm(f, l, ctx, x, ld, inverse);
    case GM_FLOW_INV1X1:
    case GM_FLOW_INV1X1_LU: return inv1x1(f, l, ctx, x, ld, inverse, k);
    case GM_FLOW_PERMUTE: return permute(f, l, ctx, x, inverse, k);
    case GM_FLOW_BATCHNORM: return batchnorm(f, l, ctx, x, ld, inverse);
    case GM_FLOW_SQUEEZE: return inverse ? gm_unsqueeze2d(ctx, x) : gm_squeeze2d(ctx, x);
    default: return x; /* split is handled by the callers */
    }
}

static const char *kind_name(gm_flow_kind k) {
    static const char *n[] = {"coupling", "scale", "actnorm", "inv1x1", "inv1x1-lu", "permute", "batchnorm",
                              "squeeze", "split"};
    return (unsigned)k < 9 ? n[k] : "?";
}

/* Names the layer in a failed context's message. */
static gm_tensor *layer_failed(gm_ctx *ctx, int k, gm_flow_kind kind, const char *dir) {
    if (gm_ctx_status(ctx) == GM_OK) return gm_ctx_fail(ctx, GM_ERR_ARG, "flow layer %d (%s) %s failed", k, kind_name(kind), dir);
    gm_ctx_annotate(ctx, "flow layer %d (%s) %s", k, kind_name(kind), dir);
    return NULL;
}

gm_tensor *gm_flow_forward(gm_flow *f, gm_ctx *ctx, gm_tensor *x, gm_tensor **logdet) {
    if (!f || !ctx || !x || !logdet) return NULL;
    *logdet = NULL;
    int64_t B = x->shape[0];
    if (x->ndim != 2 || x->shape[1] != f->dim) {
        char s[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "flow: input has shape %s, expected (B, %lld)", gm_shape_str(x, s, sizeof s),
                           (long long)f->dim);
    }
    gm_tensor *h = x, *ld = NULL;
    if (f->image) h = gm_reshape(ctx, x, 4, (int64_t[]){B, f->c0, f->h0, f->w0});
    gm_tensor *parts[64];
    int np = 0;
    for (int k = 0; k < f->n && h; k++) {
        gm_flow_layer *l = &f->layers[k];
        if (l->kind == GM_FLOW_SPLIT) {
            if (np == 63) return gm_ctx_fail(ctx, GM_ERR_ARG, "flow: too many factor-out layers");
            int64_t s2[2] = {B, -1};
            parts[np++] = gm_reshape(ctx, gm_slice(ctx, h, 1, 0, l->c / 2), 2, s2);
            h = gm_slice(ctx, h, 1, l->c / 2, l->c);
            continue;
        }
        h = layer(f, k, ctx, h, &ld, 0);
        if (!h || gm_ctx_status(ctx) != GM_OK) return layer_failed(ctx, k, l->kind, "forward");
    }
    if (!h) return NULL;
    int64_t s2[2] = {B, -1};
    parts[np++] = gm_reshape(ctx, h, 2, s2);
    gm_tensor *z = np == 1 ? parts[0] : gm_concat(ctx, np, parts, 1);
    /* logdet (B): layers with a per-example-constant log-det add scalars */
    gm_tensor *zero = gm_zeros(ctx, 1, &B);
    *logdet = ld ? gm_add(ctx, zero, ld) : zero;
    return z;
}

gm_tensor *gm_flow_inverse(gm_flow *f, gm_ctx *ctx, gm_tensor *z) {
    if (!f || !ctx || !z) return NULL;
    if (z->ndim != 2 || z->shape[1] != f->dim) {
        char s[64];
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "flow: latent has shape %s, expected (B, %lld)", gm_shape_str(z, s, sizeof s),
                           (long long)f->dim);
    }
    int64_t B = z->shape[0];
    gm_tensor *h = gm_slice(ctx, z, 1, f->z_used, f->dim);
    if (f->image) h = gm_reshape(ctx, h, 4, (int64_t[]){B, f->c, f->h, f->w});
    for (int k = f->n - 1; k >= 0 && h; k--) {
        gm_flow_layer *l = &f->layers[k];
        if (l->kind == GM_FLOW_SPLIT) {
            gm_tensor *part = gm_reshape(ctx, gm_slice(ctx, z, 1, l->z_off, l->z_off + l->z_len), 4,
                                         (int64_t[]){B, l->c / 2, l->h, l->w});
            gm_tensor *both[2] = {part, h};
            h = gm_concat(ctx, 2, both, 1);
            continue;
        }
        h = layer(f, k, ctx, h, NULL, 1);
        if (!h || gm_ctx_status(ctx) != GM_OK) return layer_failed(ctx, k, l->kind, "inverse");
    }
    if (!h) return NULL;
    return gm_reshape(ctx, h, 2, (int64_t[]){B, f->dim});
}

gm_status gm_flow_init_data(gm_flow *f, gm_ctx *ctx, const float *x, int64_t n) {
    if (!f || !ctx || !x || n < 1) return gm_error(GM_ERR_ARG, "flow init_data: no data");
    gm_ctx_reset(ctx);
    int was = gm_set_grad_enabled(ctx, 0);
    f->init_mode = 1;
    gm_tensor *ld, *xt = gm_from_data(ctx, 2, (int64_t[]){n, f->dim}, x);
    gm_tensor *z = gm_flow_forward(f, ctx, xt, &ld);
    f->init_mode = 0;
    gm_set_grad_enabled(ctx, was);
    gm_status st = gm_ctx_status(ctx);
    if (!z || st != GM_OK) return gm_error(st ? st : GM_ERR_ARG, "flow init_data: %s", gm_ctx_error(ctx));
    return GM_OK;
}
