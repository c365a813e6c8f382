/*
 * test_flows.c — the flow layers and flow models.
 *
 * For every layer kind (vector and image variants, each inside a one- or
 * two-layer flow with perturbed random parameters):
 *   - inverse(forward(x)) == x within 1e-4;
 *   - the layer's log|det J| per example equals log|det| of the central
 *     finite-difference Jacobian, accumulated and factorised in double;
 *   - the gradient of L = Σ ½ z² − log|det| matches central finite
 *     differences for sampled parameter entries (batch-norm in training mode,
 *     so the gradient through the batch statistics is checked too).
 * Models: flow2d's density integrates to 1 on a grid after training; nice
 * and realnvp round-trip real Fashion-MNIST images exactly; a singular 1x1
 * convolution is refused at validation; bad data and geometry are refused.
 * Golden log p against PyTorch: tests/test_flows_golden.c.
 */
#include "flows/flow.h"
#include "genmod/datasets.h"
#include "genmod/model.h"
#include "genmod/ops.h"
#include "kernels/linalg.h"
#include "testutil.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 4-point central stencil: f'(x) ≈ Σ_s ST_W[s] f(x + ST_O[s] h) / 12h, error O(h^4) */
static const double ST_W[4] = {-1, 8, -8, 1}, ST_O[4] = {2, 1, -1, -2};

typedef struct lcase {
    const char *name;
    int image, c, h, w; /* vector: c = D */
    int kind;           /* what to build, see build() */
    int train_bn;       /* gradient check in training mode */
} lcase;

enum { K_ADD_ALT, K_AFF_ALT, K_AFF_HALF, K_SCALE, K_ACTNORM, K_INV, K_INVLU, K_PERM_REV, K_PERM_RAND, K_BN, K_CHECKER_AFF,
       K_CHECKER_ADD, K_CHANNEL_AFF, K_SQUEEZE_SPLIT, K_IMG_INV, K_IMG_ACTNORM, K_IMG_BN, K_SPLINE };

static gm_status build(gm_flow *f, gm_params *p, const lcase *c) {
    gm_status st = gm_flow_begin(f, p, (int64_t)c->c * c->h * c->w, c->image, c->c, c->h, c->w);
    if (st != GM_OK) return st;
    switch (c->kind) {
    case K_ADD_ALT: return gm_flow_add_coupling(f, 0, GM_MASK_ALTERNATE, 1, GM_NET_MLP, 8, 2);
    case K_AFF_ALT: return gm_flow_add_coupling(f, 1, GM_MASK_ALTERNATE, 0, GM_NET_MLP, 8, 2);
    case K_AFF_HALF: return gm_flow_add_coupling(f, 1, GM_MASK_HALF, 1, GM_NET_MLP, 8, 1);
    case K_SCALE: return gm_flow_add_scale(f);
    case K_ACTNORM:
    case K_IMG_ACTNORM: return gm_flow_add_actnorm(f);
    case K_INV:
    case K_IMG_INV: return gm_flow_add_inv1x1(f, 0);
    case K_INVLU: return gm_flow_add_inv1x1(f, 1);
    case K_PERM_REV: return gm_flow_add_permute(f, 1);
    case K_PERM_RAND: return gm_flow_add_permute(f, 0);
    case K_BN:
    case K_IMG_BN: return gm_flow_add_batchnorm(f);
    case K_SPLINE: /* values beyond ±2 go through the identity tails */
        f->spline_bins = 5, f->spline_bound = 2.0f;
        if ((st = gm_flow_add_coupling(f, GM_COUPLING_SPLINE, GM_MASK_ALTERNATE, 0, GM_NET_MLP, 8, 1)) != GM_OK) return st;
        return gm_flow_add_coupling(f, GM_COUPLING_SPLINE, GM_MASK_ALTERNATE, 1, GM_NET_MLP, 8, 1);
    case K_CHECKER_AFF: return gm_flow_add_coupling(f, 1, GM_MASK_CHECKER, 1, GM_NET_RESNET, 4, 1);
    case K_CHECKER_ADD: return gm_flow_add_coupling(f, 0, GM_MASK_CHECKER, 0, GM_NET_RESNET, 4, 1);
    case K_CHANNEL_AFF: return gm_flow_add_coupling(f, 1, GM_MASK_CHANNEL, 1, GM_NET_RESNET, 4, 1);
    case K_SQUEEZE_SPLIT:
        if ((st = gm_flow_add_squeeze(f)) != GM_OK) return st;
        if ((st = gm_flow_add_coupling(f, 1, GM_MASK_CHANNEL, 0, GM_NET_RESNET, 4, 0)) != GM_OK) return st;
        if ((st = gm_flow_add_split(f)) != GM_OK) return st;
        return gm_flow_add_coupling(f, 1, GM_MASK_CHECKER, 0, GM_NET_RESNET, 4, 0);
    }
    return GM_ERR_ARG;
}

/* Perturbs every trainable parameter so no layer is the identity. */
static void perturb(gm_params *p, gm_rng *r, float scale) {
    for (int i = 0; i < p->count; i++) {
        if (!p->entries[i].trainable) continue;
        gm_tensor *t = gm_params_get(p, i);
        for (int64_t k = 0; k < t->numel; k++) t->data[k] += scale * (float)gm_rng_normal(r);
    }
}

/* z (B, D) and logdet (B) as doubles; returns 0 on failure. */
static int fwd(gm_flow *f, gm_ctx *ctx, const float *x, int64_t B, double *z, double *ld) {
    gm_ctx_reset(ctx);
    gm_tensor *l, *zt = gm_flow_forward(f, ctx, gm_from_data(ctx, 2, (int64_t[]){B, f->dim}, x), &l);
    if (!zt || !l) return 0;
    for (int64_t i = 0; i < B * f->dim; i++) z[i] = zt->data[i];
    for (int64_t b = 0; b < B; b++) ld[b] = l->data[b];
    return 1;
}

static void check_layer(const lcase *c) {
    gm_params p;
    gm_params_init(&p);
    gm_flow f;
    gm_rng r;
    gm_rng_seed(&r, 42, 7);
    CHECK(build(&f, &p, c) == GM_OK, "%s: build: %s", c->name, gm_last_error());
    CHECK(gm_params_finalize(&p) == GM_OK, "%s: finalize", c->name);
    CHECK(gm_flow_init_params(&f, &r) == GM_OK, "%s: init", c->name);
    perturb(&p, &r, 0.3f);
    if (c->kind == K_BN || c->kind == K_IMG_BN) { /* non-trivial running statistics */
        for (int i = 0; i < p.count; i++)
            if (strstr(p.entries[i].name, "running_var"))
                for (int64_t k = 0; k < gm_params_get(&p, i)->numel; k++) gm_params_get(&p, i)->data[k] = 0.5f + 0.4f * k;
            else if (strstr(p.entries[i].name, "running_mean"))
                for (int64_t k = 0; k < gm_params_get(&p, i)->numel; k++) gm_params_get(&p, i)->data[k] = 0.3f - 0.2f * k;
    }
    int64_t B = 2, D = f.dim;
    float *x = malloc((size_t)(B * D) * sizeof(float));
    double *z = malloc((size_t)(B * D) * sizeof(double)), *ld = malloc((size_t)B * sizeof(double));
    double *zp = malloc((size_t)(B * D) * sizeof(double));
    double *ldt = malloc((size_t)B * sizeof(double)), *J = malloc((size_t)(D * D) * sizeof(double));
    int *piv = malloc((size_t)D * sizeof(int));
    for (int64_t i = 0; i < B * D; i++) x[i] = (float)gm_rng_normal(&r);
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_training(ctx, 0);
    gm_set_grad_enabled(ctx, 0);
    /* round trip */
    CHECK(fwd(&f, ctx, x, B, z, ld), "%s: forward: %s", c->name, gm_ctx_error(ctx));
    float *zf = gm_arena_alloc(ctx, (size_t)(B * D) * sizeof(float));
    for (int64_t i = 0; i < B * D; i++) zf[i] = (float)z[i];
    gm_tensor *xr = gm_flow_inverse(&f, ctx, gm_wrap(ctx, 2, (int64_t[]){B, D}, zf));
    CHECK(xr != NULL, "%s: inverse: %s", c->name, gm_ctx_error(ctx));
    if (xr) CHECK_ARRAYS(c->name, xr->data, x, B * D, 1e-4, 1e-4);
    /* log|det| vs the finite-difference Jacobian of each example */
    const double h = 1e-2;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t j = 0; j < D; j++) {
            float x0 = x[b * D + j];
            /* column j of J by the 4-point stencil */
            for (int64_t i = 0; i < D; i++) J[i * D + j] = 0;
            for (int s = 0; s < 4; s++) {
                x[b * D + j] = (float)(x0 + ST_O[s] * h);
                fwd(&f, ctx, x, B, zp, ldt);
                for (int64_t i = 0; i < D; i++) J[i * D + j] += ST_W[s] * zp[b * D + i] / (12 * h);
            }
            x[b * D + j] = x0;
        }
        double fd = gm_lu_factor(J, (int)D, piv);
        CHECK_CLOSE(ld[b], fd, 2e-3, 2e-3, c->name);
    }
    /* gradient of L = Σ ½ z² − Σ log|det| against finite differences */
    gm_set_training(ctx, c->train_bn);
    gm_set_grad_enabled(ctx, 1);
    gm_ctx_reset(ctx);
    gm_params_zero_grad(&p);
    gm_tensor *l, *zt = gm_flow_forward(&f, ctx, gm_from_data(ctx, 2, (int64_t[]){B, D}, x), &l);
    int has_trainable = 0;
    for (int i = 0; i < p.count; i++) has_trainable |= p.entries[i].trainable;
    gm_tensor *L = !has_trainable ? NULL : gm_sub(ctx, gm_scale(ctx, gm_sum(ctx, gm_mul(ctx, zt, zt), GM_ALL_AXES, 0), 0.5f),
                          gm_sum(ctx, l, GM_ALL_AXES, 0));
    CHECK(!has_trainable || (L && gm_backward(ctx, L) == GM_OK), "%s: backward: %s", c->name, gm_ctx_error(ctx));
    /* running statistics must not drift during the finite differences */
    float *saved = malloc((size_t)p.total * sizeof(float));
    memcpy(saved, p.data, (size_t)p.total * sizeof(float));
    int checked = 0;
    for (int i = 0; i < p.count && L; i++) {
        if (!p.entries[i].trainable) continue;
        gm_tensor *t = gm_params_get(&p, i);
        for (int64_t k = 0; k < t->numel; k += 1 + t->numel / 5) {
            /* 4-point stencil at eps = 1e-3, and again at 1e-4 when the first
             * straddles a ReLU kink of the conditioner (then float noise
             * limits the agreement to ~1e-2) */
            float v0 = t->data[k];
            double g = p.grad[t->data - p.data + k], fdg = 0;
            int ok = 0;
            for (int e = 0; e < 2 && !ok; e++) {
                double eps = e ? 1e-4 : 1e-3, tol = e ? 2e-2 : 3e-3;
                fdg = 0;
                for (int s = 0; s < 4; s++) {
                    memcpy(p.data, saved, (size_t)p.total * sizeof(float));
                    t->data[k] = (float)(v0 + ST_O[s] * eps);
                    gm_ctx_reset(ctx);
                    gm_set_grad_enabled(ctx, 0);
                    gm_tensor *l2, *z2 = gm_flow_forward(&f, ctx, gm_from_data(ctx, 2, (int64_t[]){B, D}, x), &l2);
                    double Lv = 0;
                    for (int64_t q = 0; q < B * D; q++) Lv += 0.5 * (double)z2->data[q] * z2->data[q];
                    for (int64_t q = 0; q < B; q++) Lv -= l2->data[q];
                    fdg += ST_W[s] * Lv / (12 * eps);
                }
                ok = fabs(g - fdg) <= tol * (1 + fabs(fdg));
            }
            memcpy(p.data, saved, (size_t)p.total * sizeof(float));
            CHECK(ok, "%s: d L / d %s[%lld] = %.6g, finite differences %.6g", c->name, p.entries[i].name, (long long)k, g, fdg);
            checked++;
        }
    }
    CHECK(checked > 0 || c->kind == K_PERM_REV || c->kind == K_PERM_RAND, "%s: no parameter checked", c->name);
    gm_ctx_free(ctx);
    gm_flow_free(&f);
    gm_params_free(&p);
    free(saved), free(x), free(z), free(ld), free(zp), free(ldt), free(J), free(piv);
}

static const lcase cases[] = {
    {"additive coupling, alternate mask", 0, 5, 1, 1, K_ADD_ALT, 0},
    {"affine coupling, alternate mask", 0, 5, 1, 1, K_AFF_ALT, 0},
    {"affine coupling, half mask", 0, 6, 1, 1, K_AFF_HALF, 0},
    {"NICE scaling", 0, 4, 1, 1, K_SCALE, 0},
    {"actnorm (vector)", 0, 4, 1, 1, K_ACTNORM, 0},
    {"inv1x1 plain (vector)", 0, 4, 1, 1, K_INV, 0},
    {"inv1x1 LU (vector)", 0, 5, 1, 1, K_INVLU, 0},
    {"permute reverse", 0, 5, 1, 1, K_PERM_REV, 0},
    {"permute random", 0, 5, 1, 1, K_PERM_RAND, 0},
    {"batchnorm eval (vector)", 0, 3, 1, 1, K_BN, 0},
    {"batchnorm train (vector)", 0, 3, 1, 1, K_BN, 1},
    {"checkerboard affine coupling", 1, 2, 4, 4, K_CHECKER_AFF, 0},
    {"checkerboard additive coupling", 1, 1, 4, 4, K_CHECKER_ADD, 0},
    {"channel affine coupling", 1, 4, 3, 3, K_CHANNEL_AFF, 0},
    {"squeeze + channel coupling + split + checkerboard", 1, 2, 4, 4, K_SQUEEZE_SPLIT, 0},
    {"inv1x1 plain (image)", 1, 3, 3, 3, K_IMG_INV, 0},
    {"actnorm (image)", 1, 3, 3, 3, K_IMG_ACTNORM, 0},
    {"batchnorm train (image)", 1, 2, 3, 3, K_IMG_BN, 1},
    {"rational-quadratic spline couplings", 0, 5, 1, 1, K_SPLINE, 0},
};

/* ---- model-level checks ---- */

static gm_model *make_model(const char *name, const char *const *kv, int64_t dim, int c, int h, int w, uint64_t seed) {
    gm_config cfg = {0};
    for (int i = 0; kv && kv[i]; i += 2) gm_config_set(&cfg, kv[i], kv[i + 1]);
    gm_rng r;
    gm_rng_seed(&r, seed, 1);
    gm_model *m = NULL;
    gm_status st = gm_model_create(gm_model_find(name), &cfg, dim, c, h, w, &r, &m);
    CHECK(st == GM_OK, "create %s: %s", name, gm_last_error());
    return m;
}

/* flow2d trained briefly on 8gaussians: ∫ p over [-7,7]^2 == 1 within 1e-2. */
static void test_flow2d_integrates(void) {
    static const char *kv[] = {"layers", "6", "hidden", "32", "actnorm", "1", "mix", "lu", NULL};
    gm_model *m = make_model("flow2d", kv, 2, 0, 0, 0, 3);
    if (!m) return;
    gm_rng r;
    gm_rng_seed(&r, 5, 0);
    float xb[2 * 128];
    gm_ctx *ctx = gm_ctx_new(0);
    gm_toy2d_sample(GM_TOY_8GAUSSIANS, &r, 128, xb, NULL);
    CHECK(m->def->init_data(m, xb, 128, &r) == GM_OK, "flow2d init_data: %s", gm_last_error());
    /* a few hundred plain SGD steps */
    for (int step = 0; step < 300; step++) {
        gm_toy2d_sample(GM_TOY_8GAUSSIANS, &r, 128, xb, NULL);
        gm_ctx_reset(ctx);
        gm_params_zero_grad(&m->params);
        gm_tensor *loss = m->def->loss(m, ctx, gm_wrap(ctx, 2, (int64_t[]){128, 2}, xb), &r);
        if (!loss || gm_backward(ctx, loss) != GM_OK) {
            CHECK(0, "flow2d step %d: %s", step, gm_ctx_error(ctx));
            break;
        }
        /* plain SGD; buffers (LU perm/signs) have zero gradient slots, so they stay fixed */
        for (int64_t k = 0; k < m->params.total; k++) m->params.data[k] -= 0.01f * m->params.grad[k];
    }
    const int N = 400;
    const double lo = -7, hi = 7, dx = (hi - lo) / N;
    float *grid = malloc((size_t)N * 2 * sizeof(float));
    double *lp = malloc((size_t)N * sizeof(double)), mass = 0;
    gm_set_training(ctx, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) grid[2 * j] = (float)(lo + (i + 0.5) * dx), grid[2 * j + 1] = (float)(lo + (j + 0.5) * dx);
        gm_ctx_reset(ctx);
        CHECK(m->def->log_prob(m, ctx, grid, N, lp) == GM_OK, "flow2d log_prob: %s", gm_last_error());
        for (int j = 0; j < N; j++) mass += exp(lp[j]) * dx * dx;
    }
    CHECK_CLOSE(mass, 1.0, 1e-2, 0, "flow2d: integral of p over [-7,7]^2");
    free(grid), free(lp);
    gm_ctx_free(ctx);
    gm_model_free(m);
}

/* nice and realnvp: x -> z -> x is exact on real Fashion-MNIST images. */
static void test_image_round_trip(void) {
    gm_dataset d;
    gm_status st = gm_dataset_load("fashion-mnist", "test[0:16]", NULL, &d);
    CHECK(st == GM_OK, "fashion-mnist test images (apt-get install dataset-fashion-mnist): %s", gm_last_error());
    if (st != GM_OK) return;
    static const char *nice_kv[] = {"hidden", "64", "depth", "2", NULL};
    static const char *rnvp_kv[] = {"features", "8", "blocks", "1", "inv1x1", "lu", "batchnorm", "1", NULL};
    const char *names[2] = {"nice", "realnvp"};
    const char *const *kvs[2] = {nice_kv, rnvp_kv};
    for (int k = 0; k < 2; k++) {
        gm_model *m = make_model(names[k], kvs[k], d.d, d.c, d.h, d.w, 11);
        if (!m) continue;
        gm_rng r;
        gm_rng_seed(&r, 9, 0);
        CHECK(m->def->init_data(m, d.x, d.n, &r) == GM_OK, "%s init_data: %s", names[k], gm_last_error());
        perturb(&m->params, &r, 0.02f);
        gm_ctx *ctx = gm_ctx_new(0);
        float *z = malloc((size_t)(d.n * d.d) * sizeof(float)), *x2 = malloc((size_t)(d.n * d.d) * sizeof(float));
        CHECK(m->def->encode(m, ctx, d.x, d.n, z) == GM_OK, "%s encode: %s", names[k], gm_last_error());
        CHECK(m->def->decode(m, ctx, z, d.n, x2) == GM_OK, "%s decode: %s", names[k], gm_last_error());
        CHECK_ARRAYS(names[k], x2, d.x, d.n * d.d, 0, 0); /* exact: 8-bit levels */
        double lp[16];
        CHECK(m->def->log_prob(m, ctx, d.x, d.n, lp) == GM_OK && isfinite(lp[0]), "%s log_prob: %s", names[k], gm_last_error());
        /* out-of-range data is refused with the row and column */
        d.x[5] = 1.5f;
        CHECK(gm_model_check_data(m, d.x, d.n, "t") == GM_ERR_ARG && strstr(gm_last_error(), "column 5"),
              "%s: value 1.5 accepted (%s)", names[k], gm_last_error());
        d.x[5] = 0.0f;
        free(z), free(x2);
        gm_ctx_free(ctx);
        gm_model_free(m);
    }
    gm_dataset_free(&d);
}

/* A singular or non-finite 1x1 convolution is refused; odd sizes too. */
static void test_bad_params(void) {
    static const char *kv[] = {"features", "4", "blocks", "0", "inv1x1", "plain", "scales", "2", NULL};
    gm_model *m = make_model("realnvp", kv, 16, 1, 4, 4, 2);
    if (!m) return;
    CHECK(m->def->validate(m) == GM_OK, "fresh realnvp invalid: %s", gm_last_error());
    gm_tensor *w = gm_params_find(&m->params, "layer12.weight");
    for (int i = 0; w == NULL && i < m->params.count; i++)
        if (strstr(m->params.entries[i].name, ".weight") && m->params.entries[i].ndim == 2) w = gm_params_get(&m->params, i);
    CHECK(w != NULL, "no 1x1 convolution weight found");
    if (w) {
        int64_t n = w->shape[0];
        for (int64_t j = 0; j < n; j++) w->data[n + j] = w->data[j]; /* two equal rows */
        CHECK(m->def->validate(m) == GM_ERR_FORMAT && strstr(gm_last_error(), "singular"),
              "singular 1x1 conv not detected: %s", gm_last_error());
    }
    gm_model_free(m);
    gm_config cfg = {0};
    gm_config_set(&cfg, "scales", "3");
    gm_model *bad = NULL;
    CHECK(gm_model_create(gm_model_find("realnvp"), &cfg, 3 * 10 * 10, 3, 10, 10, NULL, &bad) == GM_ERR_ARG &&
              strstr(gm_last_error(), "divisible by 4"),
          "10x10 image with 3 scales accepted: %s", gm_last_error());
    gm_model_free(bad);
}

int main(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_layer(&cases[i]);
    test_flow2d_integrates();
    test_image_round_trip();
    test_bad_params();
    TEST_MAIN_END();
}
