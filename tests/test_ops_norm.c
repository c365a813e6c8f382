/*
 * test_ops_norm.c — src/ops/norm.c: dropout, layer norm, batch norm.
 *
 * Harness cases (tests/util/opcheck.h): PyTorch golden output and gradients
 * (tests/golden/gen_ops_norm.py), fast vs reference backend, finite
 * differences in double. Dropout has no golden (torch's RNG differs): its
 * build seeds a local gm_rng identically on every call, so finite differences
 * see one fixed mask. Direct tests: dropout statistics, eval identity and
 * errors; batch-norm running statistics vs PyTorch; strided inputs; large
 * inputs (threaded fast path) vs the reference backend; bad input.
 */
#include "genmod/rng.h"
#include "golden.h"
#include "opcheck.h"
#include "testutil.h"
#include <string.h>

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}
#define EPS 1e-5f
#define MOMENTUM 0.3f

/* initial running statistics, same formulas as gen_ops_norm.py */
static void running_init(float *rm, float *rv, int64_t c) {
    for (int64_t k = 0; k < c; k++) {
        rm[k] = (float)(0.1 * (double)k - 0.2);
        rv[k] = (float)(0.5 + 0.25 * (double)k);
    }
}

static gm_tensor *b_dropout(gm_ctx *c, gm_tensor **x, const void *a) {
    gm_rng r;
    gm_rng_seed(&r, 42, GM_STREAM_DROPOUT); /* same mask on every call */
    return gm_dropout(c, x[0], *(const float *)a, &r);
}
static const float p03 = 0.3f, p05 = 0.5f;

static gm_tensor *b_ln(gm_ctx *c, gm_tensor **x, const void *a) { return gm_layer_norm(c, x[0], x[1], x[2], EPS); }
static gm_tensor *b_ln_noaff(gm_ctx *c, gm_tensor **x, const void *a) { return gm_layer_norm(c, x[0], NULL, NULL, EPS); }
static gm_tensor *b_ln_gamma(gm_ctx *c, gm_tensor **x, const void *a) { return gm_layer_norm(c, x[0], x[1], NULL, 1e-3f); }

/* batch norm in training mode with fresh running buffers (the harness calls this many times) */
static gm_tensor *bn_train(gm_ctx *c, gm_tensor *x, gm_tensor *g, gm_tensor *b) {
    int64_t C = x->shape[1];
    float *rm = gm_arena_alloc(c, (size_t)C * sizeof(float)), *rv = gm_arena_alloc(c, (size_t)C * sizeof(float));
    if (!rm || !rv) return NULL;
    running_init(rm, rv, C);
    gm_set_training(c, 1);
    return gm_batch_norm(c, x, g, b, rm, rv, MOMENTUM, EPS);
}
static gm_tensor *b_bn_train(gm_ctx *c, gm_tensor **x, const void *a) { return bn_train(c, x[0], x[1], x[2]); }
static gm_tensor *b_bn_train_noaff(gm_ctx *c, gm_tensor **x, const void *a) { return bn_train(c, x[0], NULL, NULL); }
static gm_tensor *b_bn_eval(gm_ctx *c, gm_tensor **x, const void *a) {
    float rm[8], rv[8];
    running_init(rm, rv, x[0]->shape[1]);
    gm_set_training(c, 0);
    return gm_batch_norm(c, x[0], x[1], x[2], rm, rv, MOMENTUM, EPS);
}

static const gm_opcase cases[] = {
    {"dropout", 1, {IN(GM_DOM_ANY, 2, 4, 8)}, b_dropout, &p03, 0, 0, 0, 0, 1},
    {"dropout_4d", 1, {IN(GM_DOM_ANY, 4, 2, 3, 2, 4)}, b_dropout, &p05, 0, 0, 0, 0, 1},
    {"ln_2d", 3, {IN(GM_DOM_ANY, 2, 4, 6), IN(GM_DOM_ANY, 1, 6), IN(GM_DOM_ANY, 1, 6)}, b_ln, NULL, 0, 0, 0, 0, 0},
    {"ln_3d_noaffine", 1, {IN(GM_DOM_ANY, 3, 2, 3, 5)}, b_ln_noaff, NULL, 0, 0, 0, 0, 0},
    {"ln_gamma_only", 2, {IN(GM_DOM_ANY, 2, 3, 8), IN(GM_DOM_ANY, 1, 8)}, b_ln_gamma, NULL, 0, 0, 0, 0, 0},
    {"bn_train_2d", 3, {IN(GM_DOM_ANY, 2, 6, 4), IN(GM_DOM_ANY, 1, 4), IN(GM_DOM_ANY, 1, 4)}, b_bn_train, NULL, 0, 0, 0, 0, 0},
    {"bn_train_4d", 3, {IN(GM_DOM_ANY, 4, 3, 2, 3, 3), IN(GM_DOM_ANY, 1, 2), IN(GM_DOM_ANY, 1, 2)}, b_bn_train, NULL, 0, 0, 0, 0, 0},
    {"bn_train_noaffine", 1, {IN(GM_DOM_ANY, 4, 4, 3, 2, 2)}, b_bn_train_noaff, NULL, 0, 0, 0, 0, 0},
    {"bn_eval_2d", 3, {IN(GM_DOM_ANY, 2, 5, 4), IN(GM_DOM_ANY, 1, 4), IN(GM_DOM_ANY, 1, 4)}, b_bn_eval, NULL, 0, 0, 0, 0, 0},
    {"bn_eval_4d", 3, {IN(GM_DOM_ANY, 4, 2, 3, 2, 2), IN(GM_DOM_ANY, 1, 3), IN(GM_DOM_ANY, 1, 3)}, b_bn_eval, NULL, 0, 0, 0, 0, 0},
};

/* ---- dropout: statistics, determinism, eval identity, errors ---- */
static void test_dropout(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    const int64_t R = 100, Cn = 100; /* 10,000 elements */
    const float p = 0.25f;
    gm_tensor *x = gm_new2(ctx, R, Cn);
    gm_fill(x, 1.0f);
    gm_requires_grad(x);
    gm_rng r1, r2;
    gm_rng_seed(&r1, 7, GM_STREAM_DROPOUT);
    gm_rng_seed(&r2, 7, GM_STREAM_DROPOUT);
    gm_tensor *y = gm_dropout(ctx, x, p, &r1), *y2 = gm_dropout(ctx, x, p, &r2);
    CHECK(y && y2 && y != x, "dropout in training returns a new tensor: %s", gm_ctx_error(ctx));
    if (!y || !y2) { gm_ctx_free(ctx); return; }
    int64_t kept = 0, odd = 0;
    double sum = 0.0;
    for (int64_t i = 0; i < y->numel; i++) {
        float v = y->data[i];
        if (v != 0.0f) kept++;
        if (v != 0.0f && v != 1.0f / (1.0f - p)) odd++;
        sum += v;
    }
    /* binomial std of the kept fraction: sqrt(.75*.25/1e4) = 0.0043; allow ~4.6 sigma */
    CHECK_CLOSE((double)kept / (double)y->numel, 1.0 - p, 0.02, 0, "dropout kept fraction");
    CHECK_CLOSE(sum / (double)y->numel, 1.0, 0.03, 0, "dropout preserves the mean");
    CHECK(odd == 0, "dropout: %lld values neither 0 nor 1/(1-p)", (long long)odd);
    CHECK(memcmp(y->data, y2->data, sizeof(float) * (size_t)y->numel) == 0, "dropout: same seed gives the same mask");
    /* backward uses the saved mask: with seed 1, grad = y (x = 1) */
    CHECK(gm_backward_with(ctx, y, NULL) == GM_OK, "dropout backward: %s", gm_ctx_error(ctx));
    CHECK_ARRAYS("dropout grad = mask / (1-p)", x->grad, y->data, x->numel, 0, 0);
    /* eval mode: identity (x itself, no tape node) */
    gm_ctx_reset(ctx);
    gm_tensor *xe = gm_new2(ctx, 3, 4);
    for (int i = 0; i < 12; i++) xe->data[i] = (float)i - 5.5f;
    gm_requires_grad(xe);
    gm_set_training(ctx, 0);
    gm_rng r3;
    gm_rng_seed(&r3, 1, GM_STREAM_DROPOUT);
    gm_rng before = r3;
    gm_tensor *ye = gm_dropout(ctx, xe, 0.5f, &r3);
    CHECK(ye == xe, "dropout in eval mode returns its input");
    CHECK(gm_tape_len(ctx) == 0, "dropout in eval mode records no node");
    CHECK(memcmp(&before, &r3, sizeof r3) == 0, "dropout in eval mode draws nothing from the rng");
    CHECK(gm_dropout(ctx, xe, 0.5f, NULL) == xe, "eval dropout needs no rng");
    /* errors: p outside [0,1) (both modes), NULL rng in training */
    const float badp[] = {1.0f, -0.1f, 1.5f, NAN};
    for (int mode = 0; mode < 2; mode++)
        for (int k = 0; k < 4; k++) {
            gm_ctx_reset(ctx);
            gm_set_training(ctx, mode);
            gm_tensor *t = gm_new1(ctx, 4);
            gm_fill(t, 1.0f);
            CHECK(gm_dropout(ctx, t, badp[k], &r3) == NULL && gm_ctx_status(ctx) == GM_ERR_ARG &&
                      strstr(gm_ctx_error(ctx), "dropout") != NULL,
                  "dropout p=%g mode %d must fail with GM_ERR_ARG, got '%s'", (double)badp[k], mode, gm_ctx_error(ctx));
        }
    gm_ctx_reset(ctx);
    gm_set_training(ctx, 1);
    gm_tensor *t = gm_new1(ctx, 4);
    gm_fill(t, 1.0f);
    CHECK(gm_dropout(ctx, t, 0.5f, NULL) == NULL && gm_ctx_status(ctx) == GM_ERR_ARG, "dropout: NULL rng in training fails");
    gm_ctx_free(ctx);
}

/* ---- batch norm: running statistics after one training call vs PyTorch ---- */
static void test_running_stats(void) {
    gm_golden *g = gm_golden_open(gm_test_src_path("tests/golden/ops_norm.safetensors"));
    CHECK(g != NULL, "open ops_norm.safetensors: %s", gm_last_error());
    if (!g) return;
    static const struct { const char *name; int ndim; int64_t shape[4]; int affine; } bn[] = {
        {"bn_train_2d", 2, {6, 4}, 1}, {"bn_train_4d", 4, {3, 2, 3, 3}, 1}, {"bn_train_noaffine", 4, {4, 3, 2, 2}, 0}};
    for (int k = 0; k < 3; k++) {
        gm_ctx *ctx = gm_ctx_new(0);
        gm_tensor *x = gm_tensor_new(ctx, bn[k].ndim, bn[k].shape);
        int64_t C = bn[k].shape[1];
        gm_tensor *gam = gm_new1(ctx, C), *bet = gm_new1(ctx, C);
        char key[96];
        snprintf(key, sizeof key, "%s.in0", bn[k].name);
        int ok = gm_golden_read(g, key, x->data, x->numel);
        if (bn[k].affine) {
            snprintf(key, sizeof key, "%s.in1", bn[k].name);
            ok &= gm_golden_read(g, key, gam->data, C);
            snprintf(key, sizeof key, "%s.in2", bn[k].name);
            ok &= gm_golden_read(g, key, bet->data, C);
        }
        float rm[8], rv[8], want_m[8], want_v[8];
        snprintf(key, sizeof key, "%s.rm", bn[k].name);
        ok &= gm_golden_read(g, key, want_m, C);
        snprintf(key, sizeof key, "%s.rv", bn[k].name);
        ok &= gm_golden_read(g, key, want_v, C);
        CHECK(ok, "%s: golden running stats missing", bn[k].name);
        running_init(rm, rv, C);
        gm_set_grad_enabled(ctx, 0); /* running stats update without grad too */
        gm_tensor *y = gm_batch_norm(ctx, x, bn[k].affine ? gam : NULL, bn[k].affine ? bet : NULL, rm, rv, MOMENTUM, EPS);
        CHECK(y != NULL, "%s: %s", bn[k].name, gm_ctx_error(ctx));
        snprintf(key, sizeof key, "%s: running_mean vs PyTorch", bn[k].name);
        CHECK_ARRAYS(key, rm, want_m, C, 1e-6, 1e-5);
        snprintf(key, sizeof key, "%s: running_var vs PyTorch", bn[k].name);
        CHECK_ARRAYS(key, rv, want_v, C, 1e-6, 1e-5);
        /* eval mode leaves them alone */
        float rm2[8], rv2[8];
        memcpy(rm2, rm, sizeof rm2);
        memcpy(rv2, rv, sizeof rv2);
        gm_set_training(ctx, 0);
        CHECK(gm_batch_norm(ctx, x, NULL, NULL, rm, rv, MOMENTUM, EPS) != NULL, "%s eval", bn[k].name);
        CHECK(memcmp(rm, rm2, sizeof(float) * (size_t)C) == 0 && memcmp(rv, rv2, sizeof(float) * (size_t)C) == 0,
              "%s: eval mode must not change running stats", bn[k].name);
        gm_ctx_free(ctx);
    }
    gm_golden_close(g);
}

/* A transposed view header of a contiguous (r, c) tensor: shape (c, r), strides (1, c). */
static gm_tensor *transposed_leaf(gm_ctx *ctx, gm_tensor *t) {
    gm_tensor *v = gm_new2(ctx, t->shape[1], t->shape[0]);
    v->data = t->data;
    v->stride[0] = 1;
    v->stride[1] = t->shape[1];
    gm_requires_grad(v);
    return v;
}

/* ---- strided (non-contiguous) inputs give the same values and grads as contiguous ones ---- */
/* Runs op 0 (layer norm) or 1 (batch norm, training) on a (6, 5) input, as a
 * transposed view of (5, 6) data or as a contiguous copy; output and grad for a fixed seed. */
static int run_strided(int op, int strided, float *out, float *grad) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *base = gm_new2(ctx, 5, 6);
    gm_rng r;
    gm_rng_seed(&r, 3, 9);
    gm_rng_fill_normal(&r, base->data, base->numel, 0.5f, 2.0f);
    gm_tensor *x = transposed_leaf(ctx, base);
    CHECK(!gm_is_contiguous(x), "view is strided");
    if (!strided) {
        gm_tensor *c = gm_new2(ctx, 6, 5);
        gm_copy_to(x, c->data);
        gm_requires_grad(c);
        x = c;
    }
    gm_tensor *y = op == 0 ? gm_layer_norm(ctx, x, NULL, NULL, EPS) : bn_train(ctx, x, NULL, NULL);
    float seed[30];
    for (int i = 0; i < 30; i++) seed[i] = (float)((i * 7) % 11) - 5.0f;
    int ok = y && gm_backward_with(ctx, y, seed) == GM_OK;
    CHECK(ok, "strided op %d: %s", op, gm_ctx_error(ctx));
    if (ok) {
        memcpy(out, y->data, sizeof(float) * 30);
        memcpy(grad, x->grad, sizeof(float) * 30);
    }
    gm_ctx_free(ctx);
    return ok;
}

static void test_strided(void) {
    for (int op = 0; op < 2; op++) {
        float yv[30], gv[30], yc[30], gc[30];
        if (!run_strided(op, 1, yv, gv) || !run_strided(op, 0, yc, gc)) continue;
        CHECK_ARRAYS(op ? "batch_norm strided output" : "layer_norm strided output", yv, yc, 30, 1e-6, 1e-6);
        CHECK_ARRAYS(op ? "batch_norm strided grad" : "layer_norm strided grad", gv, gc, 30, 1e-6, 1e-6);
    }
}

/* ---- large inputs (threaded on the fast backend) give exactly the reference result ---- */
#define BIG_N 65536
static void run_big(gm_backend be, int op, float *out, float *gx, float *gg, float *gb) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_backend(ctx, be);
    gm_tensor *x = op == 0 ? gm_new2(ctx, 512, 128) : gm_new4(ctx, 64, 16, 8, 8);
    int64_t D = op == 0 ? 128 : 16;
    gm_tensor *g = gm_new1(ctx, D), *b = gm_new1(ctx, D);
    gm_rng r;
    gm_rng_seed(&r, 8, 8);
    gm_rng_fill_normal(&r, x->data, BIG_N, 1.0f, 3.0f);
    gm_rng_fill_normal(&r, g->data, D, 1.0f, 0.2f);
    gm_rng_fill_normal(&r, b->data, D, 0.0f, 0.2f);
    float *seed = gm_arena_alloc(ctx, BIG_N * sizeof(float));
    gm_rng_fill_normal(&r, seed, BIG_N, 0.0f, 1.0f);
    gm_requires_grad(x);
    gm_requires_grad(g);
    gm_requires_grad(b);
    gm_tensor *y = op == 0 ? gm_layer_norm(ctx, x, g, b, EPS) : bn_train(ctx, x, g, b);
    int ok = y && gm_backward_with(ctx, y, seed) == GM_OK;
    CHECK(ok, "big %d: %s", op, gm_ctx_error(ctx));
    if (ok) {
        memcpy(out, y->data, BIG_N * sizeof(float));
        memcpy(gx, x->grad, BIG_N * sizeof(float));
        memcpy(gg, g->grad, (size_t)D * sizeof(float));
        memcpy(gb, b->grad, (size_t)D * sizeof(float));
    }
    gm_ctx_free(ctx);
}

static void test_big(void) {
    float *buf = calloc(2 * (2 * BIG_N + 2 * 128), sizeof(float));
    if (!buf) return;
    for (int op = 0; op < 2; op++) {
        float *o[2], *gx[2], *gg[2], *gb[2], *p = buf;
        for (int k = 0; k < 2; k++) {
            o[k] = p; p += BIG_N; gx[k] = p; p += BIG_N; gg[k] = p; p += 128; gb[k] = p; p += 128;
            run_big(k ? GM_BACKEND_FAST : GM_BACKEND_REF, op, o[k], gx[k], gg[k], gb[k]);
        }
        const char *nm = op ? "big batch_norm" : "big layer_norm";
        char what[96];
        snprintf(what, sizeof what, "%s: fast vs ref output", nm);
        CHECK_ARRAYS(what, o[1], o[0], BIG_N, 0, 0);
        snprintf(what, sizeof what, "%s: fast vs ref grad x", nm);
        CHECK_ARRAYS(what, gx[1], gx[0], BIG_N, 0, 0);
        snprintf(what, sizeof what, "%s: fast vs ref grad gamma", nm);
        CHECK_ARRAYS(what, gg[1], gg[0], op ? 16 : 128, 0, 0);
        snprintf(what, sizeof what, "%s: fast vs ref grad beta", nm);
        CHECK_ARRAYS(what, gb[1], gb[0], op ? 16 : 128, 0, 0);
    }
    free(buf);
}

/* ---- bad input: NULL with a sensible status and message, no crash ---- */
#define EXPECT_FAIL(ctx, expr, st, frag) do { \
    gm_ctx_reset(ctx); \
    gm_tensor *r_ = (expr); \
    CHECK(r_ == NULL && gm_ctx_status(ctx) == (st) && strstr(gm_ctx_error(ctx), (frag)) != NULL, \
          "%s: expected status %d with '%s', got %d '%s'", #expr, (int)(st), (frag), (int)gm_ctx_status(ctx), gm_ctx_error(ctx)); \
} while (0)

static void test_bad_input(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    float rm[4] = {0}, rv[4] = {1, 1, 1, 1}, rvneg[4] = {1, -2, 1, 1};
    int64_t s0 = 0;
    EXPECT_FAIL(ctx, gm_layer_norm(ctx, gm_new2(ctx, 3, 4), gm_new1(ctx, 5), NULL, EPS), GM_ERR_SHAPE, "gamma");
    EXPECT_FAIL(ctx, gm_layer_norm(ctx, gm_new2(ctx, 3, 4), NULL, gm_new1(ctx, 3), EPS), GM_ERR_SHAPE, "beta");
    EXPECT_FAIL(ctx, gm_layer_norm(ctx, gm_scalar(ctx, 1.0f), NULL, NULL, EPS), GM_ERR_SHAPE, "layer_norm");
    EXPECT_FAIL(ctx, gm_layer_norm(ctx, gm_tensor_new(ctx, 1, &s0), NULL, NULL, EPS), GM_ERR_SHAPE, "layer_norm");
    EXPECT_FAIL(ctx, gm_layer_norm(ctx, gm_new2(ctx, 3, 4), NULL, NULL, -1.0f), GM_ERR_ARG, "eps");
    EXPECT_FAIL(ctx, gm_layer_norm(ctx, NULL, NULL, NULL, EPS), GM_ERR_ARG, "layer_norm");
    gm_set_training(ctx, 1);
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new1(ctx, 4), NULL, NULL, rm, rv, 0.1f, EPS), GM_ERR_SHAPE, "batch_norm");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), gm_new1(ctx, 3), NULL, rm, rv, 0.1f, EPS), GM_ERR_SHAPE, "gamma");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), NULL, gm_new1(ctx, 5), rm, rv, 0.1f, EPS), GM_ERR_SHAPE, "beta");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 1, 4), NULL, NULL, rm, rv, 0.1f, EPS), GM_ERR_SHAPE, "more than 1");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), NULL, NULL, rm, NULL, 0.1f, EPS), GM_ERR_ARG, "both");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), NULL, NULL, rm, rv, 1.5f, EPS), GM_ERR_ARG, "momentum");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), NULL, NULL, rm, rv, 0.1f, NAN), GM_ERR_ARG, "eps");
    gm_set_training(ctx, 0);
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), NULL, NULL, NULL, NULL, 0.1f, EPS), GM_ERR_ARG, "running");
    EXPECT_FAIL(ctx, gm_batch_norm(ctx, gm_new2(ctx, 3, 4), NULL, NULL, rm, rvneg, 0.1f, EPS), GM_ERR_ARG, "channel 1");
    /* training without running buffers is fine; eval with a single example is fine */
    gm_ctx_reset(ctx);
    gm_set_training(ctx, 1);
    gm_tensor *x = gm_new2(ctx, 3, 4);
    gm_fill(x, 2.0f);
    x->data[5] = 4.0f;
    CHECK(gm_batch_norm(ctx, x, NULL, NULL, NULL, NULL, 0.1f, EPS) != NULL, "batch_norm train without running stats: %s", gm_ctx_error(ctx));
    gm_set_training(ctx, 0);
    gm_tensor *x1 = gm_new2(ctx, 1, 4);
    gm_fill(x1, 0.5f);
    CHECK(gm_batch_norm(ctx, x1, NULL, NULL, rm, rv, 0.1f, EPS) != NULL, "batch_norm eval with B=1: %s", gm_ctx_error(ctx));
    gm_ctx_free(ctx);
}

int main(void) {
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_norm.safetensors");
    test_dropout();
    test_running_stats();
    test_strided();
    test_big();
    test_bad_input();
    TEST_MAIN_END();
}
