/*
 * flow_build.c — building a flow: the layer builders (parameter
 * declarations, geometry bookkeeping), parameter initialisation and the
 * validation of loaded parameters.
 *
 * Parameters per layer kind (all named "layer<k>.<name>"):
 *   coupling   net params (flow_nets.c); affine: "scale" (nb) or (C',1,1), init 1
 *   scale      "log_scale" (D) or (C,H,W), init 0
 *   actnorm    "bias", "log_scale" (D) or (C,1,1), init 0 then data-initialised
 *   inv1x1     "weight" (C,C), random orthogonal
 *   inv1x1 LU  "lower", "upper" (C,C), "log_s" (C); buffers "perm" (C,C), "sign_s" (C)
 *   permute    buffer "perm" (C): the permutation as exact float indices
 *   batchnorm  "log_gamma", "beta" (C); buffers "running_mean", "running_var" (C)
 * l->p[] holds these indices in the order listed.
 * What this is not: the forward / inverse passes (flow_layers.c).
 */
#include "flows/flow_internal.h"
#include "kernels/linalg.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gm_status gm_flow_begin(gm_flow *f, gm_params *params, int64_t dim, int image, int c, int h, int w) {
    memset(f, 0, sizeof *f);
    if (!params || dim < 1) return gm_error(GM_ERR_ARG, "flow: no parameters or empty data");
    if (image && (c < 1 || h < 1 || w < 1 || (int64_t)c * h * w != dim))
        return gm_error(GM_ERR_ARG, "flow: image geometry %dx%dx%d does not match %lld values", c, h, w, (long long)dim);
    if (!image && dim > 1 << 24) return gm_error(GM_ERR_ARG, "flow: %lld dimensions is too many", (long long)dim);
    f->params = params;
    f->image = image;
    f->dim = dim;
    f->c0 = f->c = image ? c : (int)dim;
    f->h0 = f->h = image ? h : 1;
    f->w0 = f->w = image ? w : 1;
    f->bn_momentum = 0.05f;
    f->bn_eps = 1e-4f;
    f->spline_bins = 8;
    f->spline_bound = 5.0f;
    return GM_OK;
}

void gm_flow_free(gm_flow *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->layers[i].idx_a);
        free(f->layers[i].idx_b);
        free(f->layers[i].inv);
        free(f->layers[i].checker);
    }
    free(f->layers);
    f->layers = NULL;
    f->n = f->cap = 0;
}

static gm_flow_layer *push(gm_flow *f, gm_flow_kind kind) {
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 16;
        gm_flow_layer *nl = realloc(f->layers, (size_t)cap * sizeof *nl);
        if (!nl) {
            gm_error(GM_ERR_NOMEM, "flow: out of memory");
            return NULL;
        }
        f->layers = nl, f->cap = cap;
    }
    gm_flow_layer *l = &f->layers[f->n++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->c = f->c, l->h = f->h, l->w = f->w;
    for (int i = 0; i < 5; i++) l->p[i] = -1;
    return l;
}

/* Declares "layer<k>.<name>"; returns its index or -1. */
static int addp(gm_flow *f, const char *name, int ndim, const int64_t *shape, int trainable) {
    char nm[GM_PARAM_NAME_MAX];
    snprintf(nm, sizeof nm, "layer%d.%s", f->n - 1, name);
    return gm_params_add(f->params, nm, ndim, shape, trainable);
}

/* Shape of a per-channel parameter: (C) for vectors, (C,1,1) for images. */
static int chan_shape(const gm_flow *f, int c, int64_t *shape) {
    shape[0] = c, shape[1] = 1, shape[2] = 1;
    return f->image ? 3 : 1;
}

gm_status gm_flow_add_coupling(gm_flow *f, int affine, gm_flow_mask mask, int parity, gm_flow_net_kind net, int hidden,
                               int depth) {
    int k = f->n;
    if (hidden < 1 || depth < 0) return gm_error(GM_ERR_ARG, "flow layer %d: coupling needs hidden >= 1, depth >= 0", k);
    int vec_mask = mask == GM_MASK_ALTERNATE || mask == GM_MASK_HALF;
    if (f->image == vec_mask)
        return gm_error(GM_ERR_ARG, "flow layer %d: %s mask on %s data", k, vec_mask ? "a vector" : "an image",
                        f->image ? "image" : "vector");
    if (f->image != (net == GM_NET_RESNET))
        return gm_error(GM_ERR_ARG, "flow layer %d: %s conditioner on %s data", k, net == GM_NET_RESNET ? "a conv" : "an MLP",
                        f->image ? "image" : "vector");
    if (!f->image && f->c < 2) return gm_error(GM_ERR_ARG, "flow layer %d: coupling needs at least 2 dimensions", k);
    if (affine == GM_COUPLING_SPLINE && (f->image || f->spline_bins < 2 || !(f->spline_bound > 0)))
        return gm_error(GM_ERR_ARG, "flow layer %d: spline couplings need vector data, >= 2 bins and a bound > 0", k);
    if (mask == GM_MASK_CHANNEL && (f->c < 2 || f->c % 2))
        return gm_error(GM_ERR_ARG, "flow layer %d: a channel mask needs an even number of channels, have %d", k, f->c);
    if (mask == GM_MASK_CHECKER && f->h * f->w < 2)
        return gm_error(GM_ERR_ARG, "flow layer %d: a checkerboard mask needs at least 2 pixels", k);
    gm_flow_layer *l = push(f, GM_FLOW_COUPLING);
    if (!l) return GM_ERR_NOMEM;
    l->affine = affine == GM_COUPLING_SPLINE ? GM_COUPLING_SPLINE : affine ? GM_COUPLING_AFFINE : GM_COUPLING_ADDITIVE;
    l->mask = mask, l->parity = parity & 1;
    l->bins = f->spline_bins, l->bound = f->spline_bound;
    int n_cond, n_tr; /* conditioning and transformed sizes (channels for images) */
    if (!f->image) {
        int D = f->c;
        l->idx_a = malloc((size_t)D * sizeof(int64_t));
        l->idx_b = malloc((size_t)D * sizeof(int64_t));
        l->inv = malloc((size_t)D * sizeof(int64_t));
        if (!l->idx_a || !l->idx_b || !l->inv) return gm_error(GM_ERR_NOMEM, "flow: out of memory");
        for (int d = 0; d < D; d++) {
            int cond = mask == GM_MASK_ALTERNATE ? (d + l->parity) % 2 == 0 : ((d < D / 2) == (l->parity == 0));
            if (cond) l->idx_a[l->na++] = d;
            else l->idx_b[l->nb++] = d;
        }
        for (int i = 0; i < l->na; i++) l->inv[l->idx_a[i]] = i;
        for (int j = 0; j < l->nb; j++) l->inv[l->idx_b[j]] = l->na + j;
        n_cond = l->na, n_tr = l->nb;
    } else if (mask == GM_MASK_CHECKER) {
        int64_t HW = (int64_t)f->h * f->w;
        l->checker = malloc((size_t)(2 * HW) * sizeof(float)); // (2, H*W)
        if (!l->checker) return gm_error(GM_ERR_NOMEM, "flow: out of memory");
        for (int y = 0; y < f->h; y++)
            for (int x = 0; x < f->w; x++) {
                float m = (y + x + l->parity) % 2 == 0 ? 1.0f : 0.0f;
                l->checker[y * f->w + x] = m;
                l->checker[HW + y * f->w + x] = 1.0f - m;
            }
        n_cond = f->c, n_tr = f->c;
    } else {
        n_cond = n_tr = f->c / 2;
    }
    l->net.kind = net, l->net.hidden = hidden, l->net.depth = depth;
    l->net.n_in = n_cond;
    l->net.n_out = l->affine == GM_COUPLING_SPLINE ? (3 * l->bins - 1) * n_tr : (l->affine ? 2 : 1) * n_tr;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "layer%d.net", k);
    gm_status st = gm_flow_net_declare(f->params, &l->net, prefix);
    if (st != GM_OK) return st;
    if (l->affine == GM_COUPLING_AFFINE) {
        int64_t s[3];
        if ((l->p[0] = addp(f, "scale", chan_shape(f, n_tr, s), s, 1)) < 0) return GM_ERR_ARG;
    }
    return GM_OK;
}

gm_status gm_flow_add_scale(gm_flow *f) {
    gm_flow_layer *l = push(f, GM_FLOW_SCALE);
    if (!l) return GM_ERR_NOMEM;
    int64_t s[3] = {f->c, f->h, f->w};
    return (l->p[0] = addp(f, "log_scale", f->image ? 3 : 1, s, 1)) < 0 ? GM_ERR_ARG : GM_OK;
}

gm_status gm_flow_add_actnorm(gm_flow *f) {
    gm_flow_layer *l = push(f, GM_FLOW_ACTNORM);
    if (!l) return GM_ERR_NOMEM;
    int64_t s[3];
    int nd = chan_shape(f, f->c, s);
    if ((l->p[0] = addp(f, "bias", nd, s, 1)) < 0 || (l->p[1] = addp(f, "log_scale", nd, s, 1)) < 0) return GM_ERR_ARG;
    return GM_OK;
}

#define INV1X1_MAX 512

gm_status gm_flow_add_inv1x1(gm_flow *f, int lu) {
    if (f->c > INV1X1_MAX)
        return gm_error(GM_ERR_ARG, "flow layer %d: an invertible 1x1 convolution over %d channels is too large (max %d)",
                        f->n, f->c, INV1X1_MAX);
    gm_flow_layer *l = push(f, lu ? GM_FLOW_INV1X1_LU : GM_FLOW_INV1X1);
    if (!l) return GM_ERR_NOMEM;
    int64_t cc[2] = {f->c, f->c}, c1[1] = {f->c};
    if (!lu) return (l->p[0] = addp(f, "weight", 2, cc, 1)) < 0 ? GM_ERR_ARG : GM_OK;
    if ((l->p[0] = addp(f, "lower", 2, cc, 1)) < 0 || (l->p[1] = addp(f, "upper", 2, cc, 1)) < 0 ||
        (l->p[2] = addp(f, "log_s", 1, c1, 1)) < 0 || (l->p[3] = addp(f, "perm", 2, cc, 0)) < 0 ||
        (l->p[4] = addp(f, "sign_s", 1, c1, 0)) < 0)
        return GM_ERR_ARG;
    return GM_OK;
}

gm_status gm_flow_add_permute(gm_flow *f, int reverse) {
    gm_flow_layer *l = push(f, GM_FLOW_PERMUTE);
    if (!l) return GM_ERR_NOMEM;
    l->parity = reverse ? 1 : 0;
    int64_t c1[1] = {f->c};
    return (l->p[0] = addp(f, "perm", 1, c1, 0)) < 0 ? GM_ERR_ARG : GM_OK;
}

gm_status gm_flow_add_batchnorm(gm_flow *f) {
    gm_flow_layer *l = push(f, GM_FLOW_BATCHNORM);
    if (!l) return GM_ERR_NOMEM;
    int64_t s[3];
    int nd = chan_shape(f, f->c, s);
    if ((l->p[0] = addp(f, "log_gamma", nd, s, 1)) < 0 || (l->p[1] = addp(f, "beta", nd, s, 1)) < 0 ||
        (l->p[2] = addp(f, "running_mean", nd, s, 0)) < 0 || (l->p[3] = addp(f, "running_var", nd, s, 0)) < 0)
        return GM_ERR_ARG;
    return GM_OK;
}

gm_status gm_flow_add_squeeze(gm_flow *f) {
    if (!f->image) return gm_error(GM_ERR_ARG, "flow layer %d: squeeze needs image data", f->n);
    if (f->h % 2 || f->w % 2)
        return gm_error(GM_ERR_ARG, "flow layer %d: cannot squeeze a %dx%d image: height and width must be even", f->n,
                        f->h, f->w);
    if (!push(f, GM_FLOW_SQUEEZE)) return GM_ERR_NOMEM;
    f->c *= 4, f->h /= 2, f->w /= 2;
    return GM_OK;
}

gm_status gm_flow_add_split(gm_flow *f) {
    if (!f->image || f->c < 2 || f->c % 2)
        return gm_error(GM_ERR_ARG, "flow layer %d: factor-out needs image data with an even number of channels", f->n);
    gm_flow_layer *l = push(f, GM_FLOW_SPLIT);
    if (!l) return GM_ERR_NOMEM;
    l->z_off = f->z_used;
    l->z_len = (int64_t)(f->c / 2) * f->h * f->w;
    f->z_used += l->z_len;
    f->c /= 2;
    return GM_OK;
}

/* ---- initialisation ---- */

/* q (n,n) random orthogonal: Gram-Schmidt on Gaussian rows, in double. */
static void random_orthogonal(gm_rng *rng, int n, double *q) {
    for (int i = 0; i < n * n; i++) q[i] = gm_rng_normal(rng);
    for (int i = 0; i < n; i++) {
        for (int pass = 0; pass < 2; pass++) /* re-orthogonalise once for accuracy */
            for (int j = 0; j < i; j++) {
                double d = 0;
                for (int k = 0; k < n; k++) d += q[i * n + k] * q[j * n + k];
                for (int k = 0; k < n; k++) q[i * n + k] -= d * q[j * n + k];
            }
        double nr = 0;
        for (int k = 0; k < n; k++) nr += q[i * n + k] * q[i * n + k];
        nr = sqrt(nr);
        for (int k = 0; k < n; k++) q[i * n + k] /= nr;
    }
}

static gm_status init_inv1x1(gm_flow *f, gm_flow_layer *l, gm_rng *rng) {
    int n = l->c;
    double *q = malloc((size_t)n * n * sizeof(double) * 2); // (n,n) orthogonal, (n,n) permutation
    int *piv = malloc((size_t)n * sizeof(int));             // (n)
    if (!q || !piv) {
        free(q), free(piv);
        return gm_error(GM_ERR_NOMEM, "flow: out of memory");
    }
    random_orthogonal(rng, n, q);
    if (l->kind == GM_FLOW_INV1X1) {
        float *w = gm_params_get(f->params, l->p[0])->data;
        for (int i = 0; i < n * n; i++) w[i] = (float)q[i];
    } else {
        /* P A = L U  =>  A = P^T L U; "perm" stores P^T */
        gm_lu_factor(q, n, piv);
        double *pm = q + n * n;
        for (int i = 0; i < n * n; i++) pm[i] = (i / n == i % n);
        for (int k = 0; k < n; k++)
            if (piv[k] != k)
                for (int j = 0; j < n; j++) {
                    double t = pm[k * n + j];
                    pm[k * n + j] = pm[piv[k] * n + j];
                    pm[piv[k] * n + j] = t;
                }
        float *lo = gm_params_get(f->params, l->p[0])->data, *up = gm_params_get(f->params, l->p[1])->data;
        float *ls = gm_params_get(f->params, l->p[2])->data, *pt = gm_params_get(f->params, l->p[3])->data;
        float *sg = gm_params_get(f->params, l->p[4])->data;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                lo[i * n + j] = j < i ? (float)q[i * n + j] : 0.0f;
                up[i * n + j] = j > i ? (float)q[i * n + j] : 0.0f;
                pt[i * n + j] = (float)pm[j * n + i];
            }
        for (int i = 0; i < n; i++) {
            double d = q[i * n + i];
            sg[i] = d < 0 ? -1.0f : 1.0f;
            ls[i] = (float)log(fabs(d));
        }
    }
    free(q), free(piv);
    return GM_OK;
}

gm_status gm_flow_init_params(gm_flow *f, gm_rng *rng) {
    if (!f || !rng) return gm_error(GM_ERR_ARG, "flow init: NULL argument");
    for (int k = 0; k < f->n; k++) {
        gm_flow_layer *l = &f->layers[k];
        gm_status st = GM_OK;
        switch (l->kind) {
        case GM_FLOW_COUPLING:
            gm_flow_net_init(f->params, &l->net, rng);
            if (l->affine == GM_COUPLING_AFFINE) gm_params_init_const(f->params, l->p[0], 1.0f);
            break;
        case GM_FLOW_SCALE: gm_params_init_const(f->params, l->p[0], 0.0f); break;
        case GM_FLOW_ACTNORM:
            gm_params_init_const(f->params, l->p[0], 0.0f);
            gm_params_init_const(f->params, l->p[1], 0.0f);
            break;
        case GM_FLOW_INV1X1:
        case GM_FLOW_INV1X1_LU: st = init_inv1x1(f, l, rng); break;
        case GM_FLOW_PERMUTE: {
            int64_t *perm = malloc((size_t)l->c * sizeof *perm);
            if (!perm) return gm_error(GM_ERR_NOMEM, "flow: out of memory");
            if (l->parity)
                for (int i = 0; i < l->c; i++) perm[i] = l->c - 1 - i;
            else gm_rng_permutation(rng, perm, l->c);
            float *pd = gm_params_get(f->params, l->p[0])->data;
            for (int i = 0; i < l->c; i++) pd[i] = (float)perm[i];
            free(perm);
            break;
        }
        case GM_FLOW_BATCHNORM:
            gm_params_init_const(f->params, l->p[0], 0.0f);
            gm_params_init_const(f->params, l->p[1], 0.0f);
            gm_params_init_const(f->params, l->p[2], 0.0f);
            gm_params_init_const(f->params, l->p[3], 1.0f);
            break;
        default: break;
        }
        if (st != GM_OK) return st;
    }
    return GM_OK;
}

/* ---- validation of loaded parameters ---- */

static gm_status finite_param(gm_flow *f, int idx) {
    gm_tensor *t = gm_params_get(f->params, idx);
    for (int64_t i = 0; i < t->numel; i++)
        if (!isfinite(t->data[i]))
            return gm_error(GM_ERR_FORMAT, "parameter %s: element %lld is %g", f->params->entries[idx].name,
                            (long long)i, t->data[i]);
    return GM_OK;
}

int gm_flow_perm_from_floats(const float *v, int n, int inverse, int64_t *idx) {
    for (int i = 0; i < n; i++) idx[i] = -1;
    for (int i = 0; i < n; i++) { /* the inverse first: it doubles as the "seen" marks */
        float x = v[i];
        if (!(x >= 0 && x < n) || x != floorf(x) || idx[(int)x] >= 0) return 0;
        idx[(int)x] = i;
    }
    if (!inverse)
        for (int i = 0; i < n; i++) idx[i] = (int64_t)v[i];
    return 1;
}

gm_status gm_flow_validate(gm_flow *f) {
    for (int i = 0; i < f->params->count; i++) {
        gm_status st = finite_param(f, i);
        if (st != GM_OK) return st;
    }
    for (int k = 0; k < f->n; k++) {
        gm_flow_layer *l = &f->layers[k];
        int n = l->c;
        if (l->kind == GM_FLOW_INV1X1) {
            const float *w = gm_params_get(f->params, l->p[0])->data;
            double *a = malloc((size_t)n * n * sizeof(double));
            int *piv = malloc((size_t)n * sizeof(int));
            if (!a || !piv) {
                free(a), free(piv);
                return gm_error(GM_ERR_NOMEM, "flow: out of memory");
            }
            for (int i = 0; i < n * n; i++) a[i] = w[i];
            double ld = gm_lu_factor(a, n, piv), minp = INFINITY, maxp = 0;
            for (int i = 0; i < n && isfinite(ld); i++) {
                double p = fabs(a[i * n + i]);
                minp = p < minp ? p : minp, maxp = p > maxp ? p : maxp;
            }
            free(a), free(piv);
            /* float32 cannot invert a matrix whose pivots span more than ~1e6 */
            if (!isfinite(ld) || minp < 1e-6 * maxp)
                return gm_error(GM_ERR_FORMAT,
                                "layer %d (invertible 1x1 convolution): weight is singular or numerically not "
                                "invertible (log|det| = %g)",
                                k, ld);
        } else if (l->kind == GM_FLOW_INV1X1_LU) {
            const float *pt = gm_params_get(f->params, l->p[3])->data, *sg = gm_params_get(f->params, l->p[4])->data;
            for (int i = 0; i < n; i++) {
                int ones = 0;
                for (int j = 0; j < n; j++) {
                    float v = pt[i * n + j];
                    if (v != 0.0f && v != 1.0f) ones = -99;
                    ones += v == 1.0f;
                }
                if (ones != 1 || (sg[i] != 1.0f && sg[i] != -1.0f))
                    return gm_error(GM_ERR_FORMAT, "layer %d (LU 1x1 convolution): perm is not a permutation matrix or "
                                    "sign_s is not +-1 (row %d)", k, i);
            }
        } else if (l->kind == GM_FLOW_PERMUTE) {
            int64_t *idx = malloc((size_t)n * sizeof *idx);
            int ok = idx && gm_flow_perm_from_floats(gm_params_get(f->params, l->p[0])->data, n, 0, idx);
            free(idx);
            if (!ok) return gm_error(GM_ERR_FORMAT, "layer %d (permutation): perm is not a permutation of 0..%d", k, n - 1);
        } else if (l->kind == GM_FLOW_BATCHNORM) {
            gm_tensor *rv = gm_params_get(f->params, l->p[3]);
            for (int64_t i = 0; i < rv->numel; i++)
                if (!(rv->data[i] > 0))
                    return gm_error(GM_ERR_FORMAT, "layer %d (batch norm): running_var[%lld] = %g is not positive", k,
                                    (long long)i, rv->data[i]);
        }
    }
    return GM_OK;
}

void gm_flow_describe(const gm_flow *f, char *buf, size_t n) {
    static const char *names[] = {"coupling", "scale", "actnorm", "inv1x1", "inv1x1-lu", "permute", "batchnorm",
                                  "squeeze", "split"};
    int cnt[9] = {0};
    for (int k = 0; k < f->n; k++) cnt[f->layers[k].kind]++;
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < 9 && o < n; i++)
        if (cnt[i]) o += (size_t)snprintf(buf + o, n - o, "%s%d %s", o ? ", " : "", cnt[i], names[i]);
}
