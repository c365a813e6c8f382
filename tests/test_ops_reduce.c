/*
 * test_ops_reduce.c — src/ops/reduce.c: sum, mean, max, logsumexp,
 * log_softmax, softmax.
 *
 * Harness cases (tests/util/opcheck.h): PyTorch golden output and gradients
 * (tests/golden/gen_ops_reduce.py), fast vs reference backend, finite
 * differences in double: each axis form (first, middle, last, negative,
 * GM_ALL_AXES, keepdim), large-magnitude inputs, and reductions of strided
 * views. max cases add a constant offset grid so the argmax is unique.
 * Direct tests: output shapes, edge values (empty axis, -inf/inf lanes),
 * bad axes, and large inputs on the threaded fast path vs the reference
 * (atol 1e-5, rtol 1e-4) with bitwise determinism across thread counts.
 */
#include "genmod/rng.h"
#include "opcheck.h"
#include "testutil.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}
#define ALL GM_ALL_AXES

/* reduction selector passed as the case arg */
typedef struct { int op, axis, keepdim; } rsel;
enum { R_SUM, R_MEAN, R_MAX, R_LSE, R_LOGSM, R_SM };

static gm_tensor *reduce(gm_ctx *c, gm_tensor *x, const rsel *s) {
    switch (s->op) {
    case R_SUM: return gm_sum(c, x, s->axis, s->keepdim);
    case R_MEAN: return gm_mean(c, x, s->axis, s->keepdim);
    case R_MAX: return gm_max(c, x, s->axis, s->keepdim);
    case R_LSE: return gm_logsumexp(c, x, s->axis, s->keepdim);
    case R_LOGSM: return gm_log_softmax(c, x, s->axis);
    default: return gm_softmax(c, x, s->axis);
    }
}

static gm_tensor *b_red(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, x[0], a); }
static gm_tensor *b_red_scaled50(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, gm_scale(c, x[0], 50.0f), a); }
static gm_tensor *b_red_scaled40(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, gm_scale(c, x[0], 40.0f), a); }

/* Constant offset grids of gen_ops_reduce.py (10 * f(index)). */
static gm_tensor *offsets(gm_ctx *c, const gm_tensor *like, int kind) {
    gm_tensor *t = gm_tensor_new(c, like->ndim, like->shape);
    if (!t) return NULL;
    int64_t k = 0;
    for (int64_t a = 0; a < t->shape[0]; a++)
        for (int64_t b = 0; b < t->shape[1]; b++)
            for (int64_t d = 0; d < t->shape[2]; d++, k++) {
                int64_t v = 0;
                if (kind == 0) v = (3 * a + 2 * b) % 5;             /* (4,5), max over axis 1 */
                if (kind == 1) v = (2 * a + 3 * b) % 5;             /* (5,3), max over axis 0 */
                if (kind == 2) v = ((a * 4 + b) * 7) % 12;          /* (3,4), max over all */
                if (kind == 3) v = (2 * b + a + d) % 5;             /* (2,5,3), max over axis 1 */
                t->data[k] = 10.0f * (float)v;
            }
    return t;
}
static gm_tensor *b_max_off0(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, gm_add(c, x[0], offsets(c, x[0], 0)), a); }
static gm_tensor *b_max_off1(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, gm_add(c, x[0], offsets(c, x[0], 1)), a); }
static gm_tensor *b_max_off2(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, gm_add(c, x[0], offsets(c, x[0], 2)), a); }
static gm_tensor *b_max_off3(gm_ctx *c, gm_tensor **x, const void *a) { return reduce(c, gm_add(c, x[0], offsets(c, x[0], 3)), a); }

/* views */
static gm_tensor *b_sum_slice(gm_ctx *c, gm_tensor **x, const void *a) { return gm_sum(c, gm_slice(c, x[0], 1, 1, 5), 0, 0); }
static gm_tensor *b_mean_t(gm_ctx *c, gm_tensor **x, const void *a) { return gm_mean(c, gm_transpose(c, x[0], 0, 1), -1, 0); }
static gm_tensor *b_max_t(gm_ctx *c, gm_tensor **x, const void *a) {
    gm_tensor *t = gm_transpose(c, x[0], 0, 1);
    return t ? gm_max(c, gm_add(c, t, offsets(c, t, 0)), 1, 0) : NULL;
}
static gm_tensor *b_lse_slice_all(gm_ctx *c, gm_tensor **x, const void *a) { return gm_logsumexp(c, gm_slice(c, x[0], 0, 1, 3), ALL, 0); }
static gm_tensor *b_sm_perm(gm_ctx *c, gm_tensor **x, const void *a) {
    static const int perm[3] = {2, 0, 1};
    return gm_softmax(c, gm_permute(c, x[0], perm), -1);
}
static gm_tensor *b_lsm_slice(gm_ctx *c, gm_tensor **x, const void *a) { return gm_log_softmax(c, gm_slice(c, x[0], 1, 2, 6), -1); }

#define R(name, fn, sel, in) {name, 1, {in}, fn, &(const rsel)sel, 0, 0, 0, 0, 0}
#define S(op, axis, keep) {op, axis, keep}

static const gm_opcase cases[] = {
    R("sum_ax0", b_red, S(R_SUM, 0, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("sum_last_keep", b_red, S(R_SUM, -1, 1), IN(GM_DOM_ANY, 2, 3, 5)),
    R("sum_all", b_red, S(R_SUM, ALL, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("sum_all_keep", b_red, S(R_SUM, ALL, 1), IN(GM_DOM_ANY, 3, 2, 3, 4)),
    R("sum_mid", b_red, S(R_SUM, 1, 0), IN(GM_DOM_ANY, 3, 2, 3, 4)),
    R("sum_4d_ax2", b_red, S(R_SUM, 2, 0), IN(GM_DOM_ANY, 4, 2, 2, 3, 2)),
    R("sum_1d", b_red, S(R_SUM, 0, 0), IN(GM_DOM_ANY, 1, 7)),
    R("mean_ax1", b_red, S(R_MEAN, 1, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("mean_all", b_red, S(R_MEAN, ALL, 0), IN(GM_DOM_ANY, 3, 2, 3, 4)),
    R("mean_ax0_keep", b_red, S(R_MEAN, 0, 1), IN(GM_DOM_ANY, 2, 4, 3)),
    R("max_ax1", b_max_off0, S(R_MAX, 1, 0), IN(GM_DOM_ANY, 2, 4, 5)),
    R("max_ax0_keep", b_max_off1, S(R_MAX, 0, 1), IN(GM_DOM_ANY, 2, 5, 3)),
    R("max_all", b_max_off2, S(R_MAX, ALL, 0), IN(GM_DOM_ANY, 2, 3, 4)),
    R("max_mid", b_max_off3, S(R_MAX, -2, 0), IN(GM_DOM_ANY, 3, 2, 5, 3)),
    R("logsumexp_ax1", b_red, S(R_LSE, 1, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("logsumexp_ax0_keep", b_red, S(R_LSE, 0, 1), IN(GM_DOM_ANY, 2, 4, 3)),
    R("logsumexp_all", b_red, S(R_LSE, ALL, 0), IN(GM_DOM_ANY, 3, 2, 3, 4)),
    R("logsumexp_mid", b_red, S(R_LSE, 1, 0), IN(GM_DOM_ANY, 3, 2, 4, 3)),
    /* output ~50-100: float resolution of L limits the FD step to >= 3e-3 */
    {"logsumexp_big", 1, {IN(GM_DOM_ANY, 2, 3, 5)}, b_red_scaled50, &(const rsel)S(R_LSE, -1, 0), 3e-3, 0, 1e-4, 0, 0},
    R("log_softmax_last", b_red, S(R_LOGSM, -1, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("log_softmax_ax0", b_red, S(R_LOGSM, 0, 0), IN(GM_DOM_ANY, 2, 4, 3)),
    R("log_softmax_mid", b_red, S(R_LOGSM, 1, 0), IN(GM_DOM_ANY, 3, 2, 4, 3)),
    {"log_softmax_big", 1, {IN(GM_DOM_ANY, 2, 3, 5)}, b_red_scaled50, &(const rsel)S(R_LOGSM, -1, 0), 1e-4, 0, 1e-4, 0, 0},
    R("softmax_last", b_red, S(R_SM, -1, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("softmax_mid", b_red, S(R_SM, 1, 0), IN(GM_DOM_ANY, 3, 2, 4, 3)),
    R("softmax_all", b_red, S(R_SM, ALL, 0), IN(GM_DOM_ANY, 2, 2, 3)),
    {"softmax_big", 1, {IN(GM_DOM_ANY, 2, 3, 5)}, b_red_scaled40, &(const rsel)S(R_SM, -1, 0), 1e-4, 0, 1e-4, 0, 0},
    R("sum_slice", b_sum_slice, S(0, 0, 0), IN(GM_DOM_ANY, 2, 4, 6)),
    R("mean_transposed", b_mean_t, S(0, 0, 0), IN(GM_DOM_ANY, 2, 3, 5)),
    R("max_transposed", b_max_t, S(0, 0, 0), IN(GM_DOM_ANY, 2, 5, 4)),
    R("logsumexp_slice_all", b_lse_slice_all, S(0, 0, 0), IN(GM_DOM_ANY, 2, 4, 5)),
    R("softmax_permuted", b_sm_perm, S(0, 0, 0), IN(GM_DOM_ANY, 3, 2, 3, 4)),
    R("log_softmax_slice", b_lsm_slice, S(0, 0, 0), IN(GM_DOM_ANY, 2, 3, 6)),
};

/* ---- shapes, edge values, bad input ---- */

static void test_shapes_and_edges(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *x = gm_zeros(ctx, 3, (int64_t[]){2, 3, 4});
    gm_fill(x, 0.5f);
    gm_tensor *s = gm_sum(ctx, x, ALL, 0);
    CHECK(s && s->ndim == 0 && s->numel == 1, "sum all -> 0-d");
    if (s) CHECK_CLOSE(s->data[0], 12.0, 0, 0, "sum all value");
    s = gm_sum(ctx, x, ALL, 1);
    CHECK(s && s->ndim == 3 && s->shape[0] == 1 && s->shape[1] == 1 && s->shape[2] == 1, "sum all keepdim -> (1,1,1)");
    s = gm_mean(ctx, x, -2, 1);
    CHECK(s && s->ndim == 3 && s->shape[0] == 2 && s->shape[1] == 1 && s->shape[2] == 4, "mean axis -2 keepdim -> (2,1,4)");
    s = gm_max(ctx, x, 2, 0);
    CHECK(s && s->ndim == 2 && s->shape[0] == 2 && s->shape[1] == 3, "max axis 2 -> (2,3)");
    gm_tensor *sm = gm_log_softmax(ctx, x, 1);
    CHECK(sm && gm_same_shape(sm, x), "log_softmax keeps the shape");
    if (sm) CHECK_CLOSE(sm->data[0], -log(3.0), 1e-6, 0, "log_softmax of equal values");
    /* ties: gradient goes to the first argmax only */
    gm_tensor *t = gm_from_data(ctx, 1, (int64_t[]){4}, (const float[]){1, 3, 3, 2});
    gm_requires_grad(t);
    gm_tensor *m = gm_max(ctx, t, 0, 0);
    CHECK(m && gm_backward(ctx, m) == GM_OK, "max backward: %s", gm_ctx_error(ctx));
    const float gwant[4] = {0, 1, 0, 0};
    if (t->grad) CHECK_ARRAYS("max tie -> first argmax", t->grad, gwant, 4, 0, 0);
    /* logsumexp lanes of -inf / +inf and huge values */
    gm_tensor *e = gm_from_data(ctx, 2, (int64_t[]){3, 2}, (const float[]){-INFINITY, -INFINITY, INFINITY, 1, 1000, 1000});
    gm_tensor *l = gm_logsumexp(ctx, e, 1, 0);
    CHECK(l != NULL, "logsumexp: %s", gm_ctx_error(ctx));
    if (l) {
        CHECK(isinf(l->data[0]) && l->data[0] < 0, "all -inf lane -> -inf, got %g", l->data[0]);
        CHECK(isinf(l->data[1]) && l->data[1] > 0, "lane with +inf -> inf, got %g", l->data[1]);
        CHECK_CLOSE(l->data[2], 1000.0 + log(2.0), 1e-3, 0, "logsumexp(1000, 1000)");
    }
    gm_tensor *nanx = gm_from_data(ctx, 1, (int64_t[]){3}, (const float[]){1, NAN, 2});
    gm_tensor *mx = gm_max(ctx, nanx, 0, 0);
    CHECK(mx && isnan(mx->data[0]), "max with NaN -> NaN");
    /* empty axis: sum 0, mean NaN (as torch), max is an error */
    gm_tensor *z = gm_zeros(ctx, 2, (int64_t[]){3, 0});
    gm_tensor *zs = gm_sum(ctx, z, 1, 0), *zm = gm_mean(ctx, z, 1, 0);
    CHECK(zs && zs->numel == 3 && zs->data[0] == 0.0f, "sum over an empty axis is 0");
    CHECK(zm && isnan(zm->data[0]), "mean over an empty axis is NaN");
    CHECK(gm_max(ctx, z, 1, 0) == NULL && gm_ctx_status(ctx) == GM_ERR_SHAPE, "max over an empty axis: %s", gm_ctx_error(ctx));
    gm_ctx_reset(ctx);
    x = gm_zeros(ctx, 2, (int64_t[]){2, 3});
    CHECK(gm_sum(ctx, x, 2, 0) == NULL && gm_ctx_status(ctx) == GM_ERR_ARG, "axis 2 of a 2-d tensor");
    CHECK(strstr(gm_ctx_error(ctx), "sum") && strstr(gm_ctx_error(ctx), "axis"), "message: %s", gm_ctx_error(ctx));
    gm_ctx_reset(ctx);
    x = gm_zeros(ctx, 2, (int64_t[]){2, 3});
    CHECK(gm_softmax(ctx, x, -3) == NULL && gm_ctx_status(ctx) == GM_ERR_ARG, "axis -3 of a 2-d tensor");
    gm_ctx_reset(ctx);
    CHECK(gm_logsumexp(ctx, NULL, 0, 0) == NULL && gm_ctx_status(ctx) == GM_ERR_ARG, "NULL input");
    gm_ctx_free(ctx);
}

/* ---- large inputs: threaded fast paths vs reference, determinism ---- */

typedef struct { const char *name; rsel sel; int nd; int64_t shape[GM_MAX_DIMS]; } big_case;
typedef struct { float *out, *g; int64_t n, nx; } big_result;

static int big_run(const big_case *bc, gm_backend be, big_result *res) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_backend(ctx, be);
    gm_rng rng;
    gm_rng_seed(&rng, 21, 2);
    gm_tensor *x = gm_tensor_new(ctx, bc->nd, bc->shape);
    gm_rng_fill_normal(&rng, x->data, x->numel, 0.0f, 2.0f);
    gm_requires_grad(x);
    gm_tensor *y = reduce(ctx, x, &bc->sel);
    int ok = y != NULL;
    if (ok) {
        float *r = malloc(sizeof(float) * (size_t)y->numel);
        gm_rng_seed(&rng, 3, 3);
        gm_rng_fill_normal(&rng, r, y->numel, 0.0f, 1.0f);
        ok = gm_backward_with(ctx, y, r) == GM_OK;
        free(r);
    }
    CHECK(ok, "%s: %s", bc->name, gm_ctx_error(ctx));
    if (ok) {
        res->n = y->numel; res->nx = x->numel;
        res->out = malloc(sizeof(float) * (size_t)res->n);
        res->g = malloc(sizeof(float) * (size_t)res->nx);
        gm_copy_to(y, res->out);
        memcpy(res->g, x->grad, sizeof(float) * (size_t)res->nx);
    }
    gm_ctx_free(ctx);
    return ok;
}

static void big_free(big_result *r) { free(r->out); free(r->g); }
static int same(const big_result *a, const big_result *b) {
    return !memcmp(a->out, b->out, sizeof(float) * (size_t)a->n) && !memcmp(a->g, b->g, sizeof(float) * (size_t)a->nx);
}

static void test_big(void) {
    static const big_case bcs[] = {
        {"big_sum_all", S(R_SUM, ALL, 0), 2, {400, 250}},
        {"big_mean_all_keep", S(R_MEAN, ALL, 1), 3, {10, 100, 100}},
        {"big_sum_ax0", S(R_SUM, 0, 0), 2, {300, 200}},
        {"big_sum_last", S(R_SUM, -1, 0), 2, {200, 300}},
        {"big_mean_mid", S(R_MEAN, 1, 1), 3, {20, 100, 30}},
        {"big_max_last", S(R_MAX, -1, 0), 2, {300, 200}},
        {"big_max_ax0", S(R_MAX, 0, 0), 2, {300, 200}},
        {"big_lse_last", S(R_LSE, -1, 0), 2, {300, 200}},
        {"big_lse_all", S(R_LSE, ALL, 0), 2, {300, 200}},
        {"big_log_softmax_last", S(R_LOGSM, -1, 0), 2, {300, 200}},
        {"big_softmax_ax0", S(R_SM, 0, 0), 2, {200, 300}},
        {"big_softmax_last", S(R_SM, 1, 0), 2, {100, 1000}},
    };
    for (size_t i = 0; i < sizeof bcs / sizeof bcs[0]; i++) {
        const big_case *bc = &bcs[i];
        big_result ref = {0}, fast = {0}, again = {0}, one = {0};
        if (!big_run(bc, GM_BACKEND_REF, &ref) || !big_run(bc, GM_BACKEND_FAST, &fast) || !big_run(bc, GM_BACKEND_FAST, &again))
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s: fast vs ref output", bc->name);
        CHECK_ARRAYS(what, fast.out, ref.out, ref.n, 1e-5, 1e-4);
        snprintf(what, sizeof what, "%s: fast vs ref grad", bc->name);
        CHECK_ARRAYS(what, fast.g, ref.g, ref.nx, 1e-5, 1e-4);
        CHECK(same(&fast, &again), "%s: fast backend not bitwise repeatable", bc->name);
#ifdef _OPENMP
        int nt = omp_get_max_threads();
        omp_set_num_threads(1);
        int ok1 = big_run(bc, GM_BACKEND_FAST, &one);
        omp_set_num_threads(nt);
        if (ok1) CHECK(same(&fast, &one), "%s: fast result depends on the thread count (%d vs 1)", bc->name, nt);
        big_free(&one);
#endif
        big_free(&ref); big_free(&fast); big_free(&again);
    }
}

int main(void) {
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_reduce.safetensors");
    test_shapes_and_edges();
    test_big();
    TEST_MAIN_END();
}
