/*
 * test_ops_loss.c — src/ops/loss.c: BCE, MSE, cross-entropy and the Gaussian,
 * logistic and Bernoulli log-densities (no reduction).
 *
 * Harness cases (tests/util/opcheck.h): PyTorch golden output and gradients
 * (tests/golden/gen_ops_loss.py), fast vs reference backend, finite
 * differences in double; broadcasting patterns and "_extreme" cases with
 * logits / x scaled by 50 (stability). Direct tests: closed-form values at
 * huge arguments, strided operands, a large input (threaded fast path) vs the
 * reference backend, and bad input (shapes, out-of-range targets).
 */
#include "genmod/rng.h"
#include "opcheck.h"
#include "testutil.h"
#include <string.h>

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}
#define CONST(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 0}
#define BIG 50.0f

/* cross-entropy targets, same as gen_ops_loss.py */
static const int64_t ce_t[4] = {1, 0, 4, 2};
static const int64_t ce_t_ext[3] = {0, 3, 1};

static gm_tensor *b_bce(gm_ctx *c, gm_tensor **x, const void *a) { return gm_bce_with_logits(c, x[0], x[1]); }
static gm_tensor *b_bce_ext(gm_ctx *c, gm_tensor **x, const void *a) { return gm_bce_with_logits(c, gm_scale(c, x[0], BIG), x[1]); }
static gm_tensor *b_mse(gm_ctx *c, gm_tensor **x, const void *a) { return gm_mse(c, x[0], x[1]); }
static gm_tensor *b_ce(gm_ctx *c, gm_tensor **x, const void *a) { return gm_cross_entropy(c, x[0], (const int64_t *)a); }
static gm_tensor *b_ce_ext(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_cross_entropy(c, gm_scale(c, x[0], BIG), (const int64_t *)a);
}
static gm_tensor *b_gauss(gm_ctx *c, gm_tensor **x, const void *a) { return gm_gaussian_log_prob(c, x[0], x[1], x[2]); }
static gm_tensor *b_logistic(gm_ctx *c, gm_tensor **x, const void *a) { return gm_logistic_log_prob(c, x[0], x[1], x[2]); }
static gm_tensor *b_logistic_ext(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_logistic_log_prob(c, gm_scale(c, x[0], BIG), x[1], x[2]);
}
static gm_tensor *b_bern(gm_ctx *c, gm_tensor **x, const void *a) { return gm_bernoulli_log_prob(c, x[0], x[1]); }
static gm_tensor *b_bern_ext(gm_ctx *c, gm_tensor **x, const void *a) { return gm_bernoulli_log_prob(c, x[0], gm_scale(c, x[1], BIG)); }

/* extreme cases: scaled inputs, so a small FD step (1e-4 * 50 in logit space) */
static const gm_opcase cases[] = {
    {"bce", 2, {IN(GM_DOM_ANY, 2, 3, 5), CONST(GM_DOM_UNIT, 2, 3, 5)}, b_bce, NULL, 0, 0, 0, 0, 0},
    {"bce_binary", 2, {IN(GM_DOM_ANY, 2, 4, 4), CONST(GM_DOM_BINARY, 2, 4, 4)}, b_bce, NULL, 0, 0, 0, 0, 0},
    {"bce_bcast", 2, {IN(GM_DOM_ANY, 2, 3, 5), CONST(GM_DOM_UNIT, 1, 5)}, b_bce, NULL, 0, 0, 0, 0, 0},
    {"bce_extreme", 2, {IN(GM_DOM_ANY, 2, 2, 6), CONST(GM_DOM_BINARY, 2, 2, 6)}, b_bce_ext, NULL, 1e-4, 0, 1e-4, 0, 0},
    {"mse", 2, {IN(GM_DOM_ANY, 2, 3, 5), IN(GM_DOM_ANY, 2, 3, 5)}, b_mse, NULL, 0, 0, 0, 0, 0},
    {"mse_bcast", 2, {IN(GM_DOM_ANY, 3, 2, 1, 4), IN(GM_DOM_ANY, 2, 3, 4)}, b_mse, NULL, 0, 0, 0, 0, 0},
    {"ce", 1, {IN(GM_DOM_ANY, 2, 4, 5)}, b_ce, ce_t, 0, 0, 0, 0, 0},
    {"ce_extreme", 1, {IN(GM_DOM_ANY, 2, 3, 4)}, b_ce_ext, ce_t_ext, 1e-4, 0, 1e-4, 0, 0},
    {"gauss", 3, {IN(GM_DOM_ANY, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 4)}, b_gauss, NULL, 0, 0, 0, 0, 0},
    {"gauss_bcast", 3, {IN(GM_DOM_ANY, 3, 2, 3, 4), IN(GM_DOM_ANY, 1, 4), IN(GM_DOM_ANY, 2, 3, 1)}, b_gauss, NULL, 0, 0, 0, 0, 0},
    {"gauss_bcast_x", 3, {IN(GM_DOM_ANY, 1, 4), IN(GM_DOM_ANY, 2, 2, 4), IN(GM_DOM_ANY, 1, 1)}, b_gauss, NULL, 0, 0, 0, 0, 0},
    {"logistic", 3, {IN(GM_DOM_ANY, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 4)}, b_logistic, NULL, 0, 0, 0, 0, 0},
    {"logistic_bcast", 3, {IN(GM_DOM_ANY, 3, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 1), IN(GM_DOM_ANY, 1, 4)}, b_logistic, NULL, 0, 0, 0, 0, 0},
    {"logistic_extreme", 3, {IN(GM_DOM_ANY, 2, 2, 5), IN(GM_DOM_ANY, 2, 2, 5), IN(GM_DOM_ANY, 1, 5)}, b_logistic_ext, NULL, 1e-3, 0, 1e-4, 0, 0},
    {"bern", 2, {CONST(GM_DOM_BINARY, 2, 3, 5), IN(GM_DOM_ANY, 2, 3, 5)}, b_bern, NULL, 0, 0, 0, 0, 0},
    {"bern_bcast", 2, {CONST(GM_DOM_BINARY, 2, 2, 3), IN(GM_DOM_ANY, 1, 3)}, b_bern, NULL, 0, 0, 0, 0, 0},
    {"bern_extreme", 2, {CONST(GM_DOM_BINARY, 2, 2, 6), IN(GM_DOM_ANY, 2, 2, 6)}, b_bern_ext, NULL, 1e-4, 0, 1e-4, 0, 0},
};

static gm_tensor *vec(gm_ctx *ctx, int n, const float *v) {
    int64_t s = n;
    gm_tensor *t = gm_from_data(ctx, 1, &s, v);
    gm_requires_grad(t);
    return t;
}

/* ---- closed-form values at huge arguments: finite, exact to float precision ---- */
static void test_huge_args(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_debug_finite(ctx, 1); /* any NaN/Inf fails the op */
    const float l[4] = {-200.0f, -60.0f, 60.0f, 200.0f}, t[4] = {1, 1, 0, 1}, zero[4] = {0};
    gm_tensor *L = vec(ctx, 4, l), *T = gm_from_data(ctx, 1, (int64_t[]){4}, t);
    gm_tensor *y = gm_bce_with_logits(ctx, L, T);
    CHECK(y != NULL, "bce huge: %s", gm_ctx_error(ctx));
    const float want_bce[4] = {200.0f, 60.0f, 60.0f, 0.0f};
    if (y) CHECK_ARRAYS("bce at |l| >= 60", y->data, want_bce, 4, 1e-6, 1e-6);
    if (y && gm_backward_with(ctx, y, NULL) == GM_OK) {
        const float want_g[4] = {-1.0f, -1.0f, 1.0f, 0.0f}; /* σ(l) - t */
        CHECK_ARRAYS("bce grad at |l| >= 60", L->grad, want_g, 4, 1e-6, 0);
    }
    gm_ctx_reset(ctx);
    /* logistic at z = ±1000: -|z| - 0 - 2 log1p(e^-|z|) = -1000 */
    const float xs[2] = {1000.0f, -1000.0f};
    gm_tensor *X = vec(ctx, 2, xs), *M = vec(ctx, 2, zero), *S = vec(ctx, 2, zero);
    y = gm_logistic_log_prob(ctx, X, M, S);
    CHECK(y != NULL, "logistic huge: %s", gm_ctx_error(ctx));
    const float want_lg[2] = {-1000.0f, -1000.0f};
    if (y) CHECK_ARRAYS("logistic at |z| = 1000", y->data, want_lg, 2, 1e-6, 1e-6);
    if (y && gm_backward_with(ctx, y, NULL) == GM_OK) {
        const float want_gx[2] = {-1.0f, 1.0f}, want_gs[2] = {999.0f, 999.0f}; /* -tanh(z/2), z tanh(z/2) - 1 */
        CHECK_ARRAYS("logistic dx at |z| = 1000", X->grad, want_gx, 2, 1e-6, 0);
        CHECK_ARRAYS("logistic dlog_scale at |z| = 1000", S->grad, want_gs, 2, 1e-6, 1e-6);
    }
    gm_ctx_reset(ctx);
    /* cross-entropy with a 1e4 logit gap */
    const float lg[6] = {1e4f, 0.0f, -1e4f, 0.0f, 0.0f, 0.0f};
    int64_t sh[2] = {2, 3}, tg[2] = {1, 2};
    gm_tensor *Lc = gm_from_data(ctx, 2, sh, lg);
    gm_requires_grad(Lc);
    y = gm_cross_entropy(ctx, Lc, tg);
    CHECK(y != NULL, "ce huge: %s", gm_ctx_error(ctx));
    if (y) {
        CHECK_CLOSE(y->data[0], 1e4, 0, 1e-6, "ce row 0");
        CHECK_CLOSE(y->data[1], log(3.0), 1e-6, 1e-6, "ce row 1");
    }
    gm_ctx_free(ctx);
}

/* ---- strided operands (transposed views) match contiguous copies ---- */
static int run_gauss(int strided, float *out, float *gx, float *gm_) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *base = gm_new2(ctx, 3, 4), *mean = gm_new2(ctx, 4, 3), *ls = gm_new1(ctx, 3);
    gm_rng r;
    gm_rng_seed(&r, 11, 2);
    gm_rng_fill_normal(&r, base->data, 12, 0.0f, 1.0f);
    gm_rng_fill_normal(&r, mean->data, 12, 0.0f, 1.0f);
    gm_rng_fill_normal(&r, ls->data, 3, 0.0f, 0.5f);
    gm_tensor *x = gm_new2(ctx, 4, 3); /* x = base^T */
    if (strided) { x->data = base->data; x->stride[0] = 1; x->stride[1] = 4; }
    else
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++) x->data[i * 3 + j] = base->data[j * 4 + i];
    gm_requires_grad(x);
    gm_requires_grad(mean);
    gm_tensor *y = gm_gaussian_log_prob(ctx, x, mean, ls);
    float seed[12];
    for (int i = 0; i < 12; i++) seed[i] = 0.25f * (float)(i % 5) - 0.4f;
    int ok = y && gm_backward_with(ctx, y, seed) == GM_OK;
    CHECK(ok, "strided gauss: %s", gm_ctx_error(ctx));
    if (ok) {
        memcpy(out, y->data, sizeof(float) * 12);
        memcpy(gx, x->grad, sizeof(float) * 12);
        memcpy(gm_, mean->grad, sizeof(float) * 12);
    }
    gm_ctx_free(ctx);
    return ok;
}

static void test_strided(void) {
    float y1[12], x1[12], m1[12], y0[12], x0[12], m0[12];
    if (!run_gauss(1, y1, x1, m1) || !run_gauss(0, y0, x0, m0)) return;
    CHECK_ARRAYS("gauss strided x: output", y1, y0, 12, 0, 0);
    CHECK_ARRAYS("gauss strided x: grad x", x1, x0, 12, 0, 0);
    CHECK_ARRAYS("gauss strided x: grad mean", m1, m0, 12, 0, 0);
}

/* ---- a large input (threaded on the fast backend) gives the reference result ---- */
static void run_big(gm_backend be, float *out, float *gx, float *gm_, float *gs, float *gce) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_backend(ctx, be);
    gm_tensor *x = gm_new2(ctx, 256, 160), *m = gm_new1(ctx, 160), *s = gm_new2(ctx, 256, 1);
    gm_rng r;
    gm_rng_seed(&r, 5, 1);
    gm_rng_fill_normal(&r, x->data, x->numel, 0.0f, 1.0f);
    gm_rng_fill_normal(&r, m->data, m->numel, 0.0f, 1.0f);
    gm_rng_fill_normal(&r, s->data, s->numel, 0.0f, 0.3f);
    gm_requires_grad(x);
    gm_requires_grad(m);
    gm_requires_grad(s);
    int64_t *tg = gm_arena_alloc(ctx, 256 * sizeof(int64_t));
    for (int i = 0; i < 256; i++) tg[i] = (i * 37) % 160;
    gm_tensor *y = gm_logistic_log_prob(ctx, x, m, s);
    gm_tensor *ce = gm_cross_entropy(ctx, x, tg);
    CHECK(y && ce, "big: %s", gm_ctx_error(ctx));
    if (y && ce) {
        memcpy(out, y->data, sizeof(float) * 40960);
        gm_backward_with(ctx, y, NULL);
        memcpy(gs, s->grad, sizeof(float) * 256);
        memcpy(gm_, m->grad, sizeof(float) * 160);
        memcpy(gx, x->grad, sizeof(float) * 40960);
        gm_backward_with(ctx, ce, NULL); /* re-runs the logistic node too: compare totals */
        memcpy(gce, x->grad, sizeof(float) * 40960);
    }
    gm_ctx_free(ctx);
}

static void test_big(void) {
    float *buf = calloc(2 * (3 * 40960 + 256 + 160), sizeof(float));
    if (!buf) return;
    float *p = buf, *o[2], *gx[2], *gm_[2], *gs[2], *gce[2];
    for (int b = 0; b < 2; b++) {
        o[b] = p; p += 40960; gx[b] = p; p += 40960; gce[b] = p; p += 40960; gm_[b] = p; p += 160; gs[b] = p; p += 256;
        run_big(b ? GM_BACKEND_FAST : GM_BACKEND_REF, o[b], gx[b], gm_[b], gs[b], gce[b]);
    }
    CHECK_ARRAYS("big logistic: fast vs ref output", o[1], o[0], 40960, 0, 0);
    CHECK_ARRAYS("big logistic: fast vs ref grad x", gx[1], gx[0], 40960, 0, 0);
    CHECK_ARRAYS("big logistic: fast vs ref grad loc (broadcast)", gm_[1], gm_[0], 160, 0, 0);
    CHECK_ARRAYS("big logistic: fast vs ref grad log_scale (broadcast)", gs[1], gs[0], 256, 0, 0);
    CHECK_ARRAYS("big cross-entropy: fast vs ref grad", gce[1], gce[0], 40960, 0, 0);
    free(buf);
}

/* ---- bad input ---- */
#define EXPECT_FAIL(ctx, expr, st, frag) do { \
    gm_ctx_reset(ctx); \
    gm_tensor *r_ = (expr); \
    CHECK(r_ == NULL && gm_ctx_status(ctx) == (st) && strstr(gm_ctx_error(ctx), (frag)) != NULL, \
          "%s: expected status %d with '%s', got %d '%s'", #expr, (int)(st), (frag), (int)gm_ctx_status(ctx), gm_ctx_error(ctx)); \
} while (0)

static void test_bad_input(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    const int64_t bad_hi[3] = {0, 5, 1}, bad_neg[3] = {0, 1, -1}, ok_t[3] = {0, 1, 2};
    EXPECT_FAIL(ctx, gm_bce_with_logits(ctx, gm_new2(ctx, 3, 4), gm_new2(ctx, 4, 3)), GM_ERR_SHAPE, "broadcast");
    EXPECT_FAIL(ctx, gm_mse(ctx, gm_new2(ctx, 3, 4), gm_new1(ctx, 3)), GM_ERR_SHAPE, "mse");
    EXPECT_FAIL(ctx, gm_gaussian_log_prob(ctx, gm_new2(ctx, 3, 4), gm_new1(ctx, 4), gm_new2(ctx, 2, 4)), GM_ERR_SHAPE, "(2, 4)");
    EXPECT_FAIL(ctx, gm_logistic_log_prob(ctx, gm_new1(ctx, 4), gm_new1(ctx, 5), gm_new1(ctx, 1)), GM_ERR_SHAPE, "logistic");
    EXPECT_FAIL(ctx, gm_bernoulli_log_prob(ctx, gm_new1(ctx, 4), NULL), GM_ERR_ARG, "NULL");
    EXPECT_FAIL(ctx, gm_cross_entropy(ctx, gm_new2(ctx, 3, 5), bad_hi), GM_ERR_ARG, "targets[1] = 5");
    EXPECT_FAIL(ctx, gm_cross_entropy(ctx, gm_new2(ctx, 3, 5), bad_neg), GM_ERR_ARG, "targets[2] = -1");
    EXPECT_FAIL(ctx, gm_cross_entropy(ctx, gm_new2(ctx, 3, 5), NULL), GM_ERR_ARG, "NULL targets");
    EXPECT_FAIL(ctx, gm_cross_entropy(ctx, gm_new1(ctx, 5), ok_t), GM_ERR_SHAPE, "(N, C)");
    EXPECT_FAIL(ctx, gm_cross_entropy(ctx, gm_new3(ctx, 3, 5, 1), ok_t), GM_ERR_SHAPE, "(N, C)");
    gm_ctx_free(ctx);
}

int main(void) {
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_loss.safetensors");
    test_huge_args();
    test_strided();
    test_big();
    test_bad_input();
    TEST_MAIN_END();
}
