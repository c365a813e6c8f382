/*
 * test_ops_binary.c — src/ops/binary.c: broadcasting add, sub, mul, div.
 *
 * Harness cases (tests/util/opcheck.h): PyTorch golden output and gradients
 * (tests/golden/gen_ops_binary.py), fast vs reference backend, finite
 * differences in double: same shapes, scalars (0-d and (1,)), row vectors,
 * general broadcasts up to 4-D, a tensor used twice, strided views as
 * operands. Direct tests: large inputs that take the threaded fast paths vs
 * the reference (atol 1e-4, rtol 1e-4) and bitwise determinism across runs
 * and thread counts; bad shapes; a constant operand gets no gradient.
 */
#include "genmod/rng.h"
#include "opcheck.h"
#include "testutil.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}
#define IN0(dom) {0, {0}, dom, 1}

static gm_tensor *b_add(gm_ctx *c, gm_tensor **x, const void *a) { return gm_add(c, x[0], x[1]); }
static gm_tensor *b_sub(gm_ctx *c, gm_tensor **x, const void *a) { return gm_sub(c, x[0], x[1]); }
static gm_tensor *b_mul(gm_ctx *c, gm_tensor **x, const void *a) { return gm_mul(c, x[0], x[1]); }
static gm_tensor *b_div(gm_ctx *c, gm_tensor **x, const void *a) { return gm_div(c, x[0], x[1]); }
static gm_tensor *b_mul_self(gm_ctx *c, gm_tensor **x, const void *a) { return gm_mul(c, x[0], x[0]); }
static gm_tensor *b_div_self_row(gm_ctx *c, gm_tensor **x, const void *a) { return gm_div(c, x[0], gm_slice(c, x[0], 0, 0, 1)); }
static gm_tensor *b_add_tview(gm_ctx *c, gm_tensor **x, const void *a) { return gm_add(c, gm_transpose(c, x[0], 0, 1), x[1]); }
static gm_tensor *b_mul_tview(gm_ctx *c, gm_tensor **x, const void *a) { return gm_mul(c, gm_transpose(c, x[0], 0, 1), x[1]); }
static gm_tensor *b_div_slice(gm_ctx *c, gm_tensor **x, const void *a) { return gm_div(c, gm_slice(c, x[0], 1, 1, 6), x[1]); }
static gm_tensor *b_sub_perm(gm_ctx *c, gm_tensor **x, const void *a) {
    static const int perm[3] = {1, 0, 2};
    return gm_sub(c, gm_permute(c, x[0], perm), x[1]);
}
static gm_tensor *b_mul_two_views(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_mul(c, gm_transpose(c, x[0], 0, 1), gm_slice(c, x[1], 1, 1, 5));
}

#define C2(name, fn, a, b) {name, 2, {a, b}, fn, NULL, 0, 0, 0, 0, 0}

static const gm_opcase cases[] = {
    C2("add_same", b_add, IN(GM_DOM_ANY, 2, 3, 5), IN(GM_DOM_ANY, 2, 3, 5)),
    C2("sub_same", b_sub, IN(GM_DOM_ANY, 2, 3, 5), IN(GM_DOM_ANY, 2, 3, 5)),
    C2("mul_same", b_mul, IN(GM_DOM_ANY, 2, 3, 5), IN(GM_DOM_ANY, 2, 3, 5)),
    C2("div_same", b_div, IN(GM_DOM_ANY, 2, 3, 5), IN(GM_DOM_POS, 2, 3, 5)),
    C2("add_row", b_add, IN(GM_DOM_ANY, 2, 4, 5), IN(GM_DOM_ANY, 1, 5)),
    C2("sub_row_rev", b_sub, IN(GM_DOM_ANY, 1, 5), IN(GM_DOM_ANY, 2, 4, 5)),
    C2("mul_row", b_mul, IN(GM_DOM_ANY, 2, 4, 5), IN(GM_DOM_ANY, 2, 1, 5)),
    C2("div_row", b_div, IN(GM_DOM_ANY, 2, 4, 5), IN(GM_DOM_POS, 1, 5)),
    C2("add_row3", b_add, IN(GM_DOM_ANY, 3, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 4)),
    C2("add_scalar0d", b_add, IN(GM_DOM_ANY, 2, 3, 5), IN0(GM_DOM_ANY)),
    C2("sub_scalar0d", b_sub, IN(GM_DOM_ANY, 2, 3, 5), IN0(GM_DOM_ANY)),
    C2("mul_scalar1", b_mul, IN(GM_DOM_ANY, 1, 1), IN(GM_DOM_ANY, 2, 3, 5)),
    C2("div_scalar_num", b_div, IN0(GM_DOM_ANY), IN(GM_DOM_POS, 2, 3, 5)),
    C2("div_scalar_den", b_div, IN(GM_DOM_ANY, 2, 3, 5), IN0(GM_DOM_POS)),
    C2("add_bcast3", b_add, IN(GM_DOM_ANY, 3, 2, 1, 4), IN(GM_DOM_ANY, 2, 3, 1)),
    C2("mul_bcast4", b_mul, IN(GM_DOM_ANY, 4, 2, 3, 1, 4), IN(GM_DOM_ANY, 3, 3, 5, 1)),
    C2("sub_outer", b_sub, IN(GM_DOM_ANY, 2, 4, 1), IN(GM_DOM_ANY, 2, 1, 5)),
    C2("div_bcast", b_div, IN(GM_DOM_ANY, 3, 2, 3, 4), IN(GM_DOM_POS, 2, 3, 1)),
    C2("add_chan", b_add, IN(GM_DOM_ANY, 4, 2, 3, 2, 2), IN(GM_DOM_ANY, 4, 1, 3, 1, 1)),
    {"mul_self", 1, {IN(GM_DOM_ANY, 2, 3, 4)}, b_mul_self, NULL, 0, 0, 0, 0, 0},
    {"div_self_row", 1, {IN(GM_DOM_POS, 2, 3, 4)}, b_div_self_row, NULL, 0, 0, 0, 0, 0},
    C2("add_tview", b_add_tview, IN(GM_DOM_ANY, 2, 5, 3), IN(GM_DOM_ANY, 2, 3, 5)),
    C2("mul_tview_row", b_mul_tview, IN(GM_DOM_ANY, 2, 5, 4), IN(GM_DOM_ANY, 1, 5)),
    C2("div_slice", b_div_slice, IN(GM_DOM_ANY, 2, 3, 7), IN(GM_DOM_POS, 2, 3, 5)),
    C2("sub_perm_bcast", b_sub_perm, IN(GM_DOM_ANY, 3, 3, 2, 4), IN(GM_DOM_ANY, 1, 4)),
    C2("mul_two_views", b_mul_two_views, IN(GM_DOM_ANY, 2, 4, 3), IN(GM_DOM_ANY, 2, 3, 6)),
};

/* ---- large inputs: threaded fast paths vs reference, determinism ---- */

typedef struct {
    const char *name;
    gm_opcase_fn build;
    int na, nb;
    int64_t sa[GM_MAX_DIMS], sb[GM_MAX_DIMS];
} big_case;

typedef struct { float *out, *ga, *gb; int64_t n, na, nb; } big_result;

/* Forward + backward (seed r = normal(seed 3)) of one big case on backend be. */
static int big_run(const big_case *bc, gm_backend be, big_result *res) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_backend(ctx, be);
    gm_rng rng;
    gm_rng_seed(&rng, 11, 1);
    gm_tensor *in[2];
    in[0] = gm_tensor_new(ctx, bc->na, bc->sa);
    in[1] = gm_tensor_new(ctx, bc->nb, bc->sb);
    gm_rng_fill_normal(&rng, in[0]->data, in[0]->numel, 0.0f, 1.0f);
    gm_rng_fill_uniform(&rng, in[1]->data, in[1]->numel, 0.5f, 2.0f); /* safe denominators */
    gm_requires_grad(in[0]);
    gm_requires_grad(in[1]);
    gm_tensor *y = bc->build(ctx, in, NULL);
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
        res->n = y->numel; res->na = in[0]->numel; res->nb = in[1]->numel;
        res->out = malloc(sizeof(float) * (size_t)res->n);
        res->ga = malloc(sizeof(float) * (size_t)res->na);
        res->gb = malloc(sizeof(float) * (size_t)res->nb);
        gm_copy_to(y, res->out);
        memcpy(res->ga, in[0]->grad, sizeof(float) * (size_t)res->na);
        memcpy(res->gb, in[1]->grad, sizeof(float) * (size_t)res->nb);
    }
    gm_ctx_free(ctx);
    return ok;
}

static void big_free(big_result *r) { free(r->out); free(r->ga); free(r->gb); }

static int same_bits(const float *a, const float *b, int64_t n) { return memcmp(a, b, sizeof(float) * (size_t)n) == 0; }

static void test_big(void) {
    static const big_case bcs[] = {
        {"big_add_same", b_add, 2, 2, {300, 256}, {300, 256}},
        {"big_div_same", b_div, 2, 2, {300, 256}, {300, 256}},
        {"big_mul_row", b_mul, 2, 1, {400, 200}, {200}},
        {"big_div_row_rev", b_div, 1, 2, {200}, {400, 200}},
        {"big_sub_scalar", b_sub, 2, 0, {300, 256}, {0}},
        {"big_mul_scalar_first", b_mul, 1, 2, {1}, {300, 256}},
        {"big_add_chan", b_add, 4, 4, {8, 16, 24, 24}, {1, 16, 1, 1}},
        {"big_div_bcast", b_div, 3, 2, {64, 1, 600}, {8, 600}},
        {"big_mul_tview", b_mul_tview, 2, 1, {300, 256}, {300}},
    };
    for (size_t i = 0; i < sizeof bcs / sizeof bcs[0]; i++) {
        const big_case *bc = &bcs[i];
        big_result ref = {0}, fast = {0}, again = {0}, one = {0};
        if (!big_run(bc, GM_BACKEND_REF, &ref) || !big_run(bc, GM_BACKEND_FAST, &fast) || !big_run(bc, GM_BACKEND_FAST, &again))
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s: fast vs ref output", bc->name);
        CHECK_ARRAYS(what, fast.out, ref.out, ref.n, 1e-5, 1e-5);
        snprintf(what, sizeof what, "%s: fast vs ref grad a", bc->name);
        CHECK_ARRAYS(what, fast.ga, ref.ga, ref.na, 1e-4, 1e-4);
        snprintf(what, sizeof what, "%s: fast vs ref grad b", bc->name);
        CHECK_ARRAYS(what, fast.gb, ref.gb, ref.nb, 1e-4, 1e-4);
        CHECK(same_bits(fast.out, again.out, ref.n) && same_bits(fast.ga, again.ga, ref.na) && same_bits(fast.gb, again.gb, ref.nb),
              "%s: fast backend not bitwise repeatable", bc->name);
#ifdef _OPENMP
        int nt = omp_get_max_threads();
        omp_set_num_threads(1);
        int ok1 = big_run(bc, GM_BACKEND_FAST, &one);
        omp_set_num_threads(nt);
        if (ok1)
            CHECK(same_bits(fast.out, one.out, ref.n) && same_bits(fast.ga, one.ga, ref.na) && same_bits(fast.gb, one.gb, ref.nb),
                  "%s: fast result depends on the thread count (%d vs 1)", bc->name, nt);
        big_free(&one);
#endif
        big_free(&ref); big_free(&fast); big_free(&again);
    }
}

/* ---- bad input and gradient bookkeeping ---- */

static void test_bad_shapes(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *a = gm_zeros(ctx, 2, (int64_t[]){2, 3}), *b = gm_zeros(ctx, 2, (int64_t[]){4, 3});
    CHECK(gm_add(ctx, a, b) == NULL, "(2,3)+(4,3) must fail");
    CHECK(gm_ctx_status(ctx) == GM_ERR_SHAPE, "status %d", gm_ctx_status(ctx));
    const char *m = gm_ctx_error(ctx);
    CHECK(strstr(m, "add") && strstr(m, "(2, 3)") && strstr(m, "(4, 3)"), "message names op and both shapes: %s", m);
    gm_ctx_reset(ctx);
    gm_tensor *c = gm_zeros(ctx, 3, (int64_t[]){2, 3, 4}), *d = gm_zeros(ctx, 2, (int64_t[]){3, 3});
    CHECK(gm_div(ctx, c, d) == NULL && gm_ctx_status(ctx) == GM_ERR_SHAPE, "(2,3,4)/(3,3) must fail: %s", gm_ctx_error(ctx));
    gm_ctx_reset(ctx);
    CHECK(gm_mul(ctx, NULL, c) == NULL && gm_ctx_status(ctx) == GM_ERR_ARG, "NULL input: %s", gm_ctx_error(ctx));
    gm_ctx_free(ctx);
}

static void test_constant_operand(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *a = gm_from_data(ctx, 2, (int64_t[]){2, 2}, (const float[]){1, 2, 3, 4});
    gm_tensor *b = gm_from_data(ctx, 1, (int64_t[]){2}, (const float[]){10, 20});
    gm_requires_grad(a);
    gm_tensor *y = gm_mul(ctx, a, b); /* only a needs a gradient */
    CHECK(y && gm_backward_with(ctx, y, NULL) == GM_OK, "mul backward: %s", gm_ctx_error(ctx));
    CHECK(b->grad == NULL, "constant operand got a gradient buffer");
    const float want[4] = {10, 20, 10, 20};
    if (a->grad) CHECK_ARRAYS("d(a*b)/da", a->grad, want, 4, 0, 0);
    /* no grad anywhere: no tape node */
    gm_ctx_reset(ctx);
    gm_tensor *p = gm_from_data(ctx, 1, (int64_t[]){2}, (const float[]){1, 2});
    gm_tensor *q = gm_add(ctx, p, p);
    CHECK(q && !q->requires_grad && gm_tape_len(ctx) == 0, "constant add records nothing");
    /* debug mode catches 1/0 */
    gm_set_debug_finite(ctx, 1);
    gm_tensor *z = gm_zeros(ctx, 1, (int64_t[]){2});
    CHECK(gm_div(ctx, p, z) == NULL && gm_ctx_status(ctx) == GM_ERR_NONFINITE, "1/0 in debug mode: %s", gm_ctx_error(ctx));
    gm_ctx_free(ctx);
}

int main(void) {
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_binary.safetensors");
    test_big();
    test_bad_shapes();
    test_constant_operand();
    TEST_MAIN_END();
}
