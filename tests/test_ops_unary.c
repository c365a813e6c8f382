/*
 * test_ops_unary.c — harness cases for src/ops/unary.c and src/ops/linear.c:
 * PyTorch golden values (tests/golden/gen_ops_unary.py), fast vs reference
 * backend, and finite-difference gradients in double.
 */
#include "opcheck.h"
#include "testutil.h"
#include <math.h>

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}

static gm_tensor *b_neg(gm_ctx *c, gm_tensor **x, const void *a) { return gm_neg(c, x[0]); }
static gm_tensor *b_exp(gm_ctx *c, gm_tensor **x, const void *a) { return gm_exp(c, x[0]); }
static gm_tensor *b_log(gm_ctx *c, gm_tensor **x, const void *a) { return gm_log(c, x[0]); }
static gm_tensor *b_sqrt(gm_ctx *c, gm_tensor **x, const void *a) { return gm_sqrt(c, x[0]); }
static gm_tensor *b_pow(gm_ctx *c, gm_tensor **x, const void *a) { return gm_pow(c, x[0], 2.5f); }
static gm_tensor *b_abs(gm_ctx *c, gm_tensor **x, const void *a) { return gm_abs(c, x[0]); }
static gm_tensor *b_tanh(gm_ctx *c, gm_tensor **x, const void *a) { return gm_tanh(c, x[0]); }
static gm_tensor *b_sigmoid(gm_ctx *c, gm_tensor **x, const void *a) { return gm_sigmoid(c, x[0]); }
static gm_tensor *b_logsig(gm_ctx *c, gm_tensor **x, const void *a) { return gm_log_sigmoid(c, x[0]); }
static gm_tensor *b_relu(gm_ctx *c, gm_tensor **x, const void *a) { return gm_relu(c, x[0]); }
static gm_tensor *b_leaky(gm_ctx *c, gm_tensor **x, const void *a) { return gm_leaky_relu(c, x[0], 0.2f); }
static gm_tensor *b_elu(gm_ctx *c, gm_tensor **x, const void *a) { return gm_elu(c, x[0], 1.3f); }
static gm_tensor *b_softplus(gm_ctx *c, gm_tensor **x, const void *a) { return gm_softplus(c, x[0]); }
static gm_tensor *b_gelu(gm_ctx *c, gm_tensor **x, const void *a) { return gm_gelu(c, x[0]); }
static gm_tensor *b_silu(gm_ctx *c, gm_tensor **x, const void *a) { return gm_silu(c, x[0]); }
static gm_tensor *b_scale(gm_ctx *c, gm_tensor **x, const void *a) { return gm_scale(c, x[0], -1.7f); }
static gm_tensor *b_adds(gm_ctx *c, gm_tensor **x, const void *a) { return gm_add_scalar(c, x[0], 0.3f); }
static gm_tensor *b_softplus_big(gm_ctx *c, gm_tensor **x, const void *a) { return gm_softplus(c, gm_scale(c, x[0], 30.0f)); }
static gm_tensor *b_matmul(gm_ctx *c, gm_tensor **x, const void *a) { return gm_matmul(c, x[0], x[1]); }
static gm_tensor *b_matmul_at(gm_ctx *c, gm_tensor **x, const void *a) { return gm_matmul(c, gm_transpose(c, x[0], 0, 1), x[1]); }
static gm_tensor *b_linear(gm_ctx *c, gm_tensor **x, const void *a) { return gm_linear(c, x[0], x[1], x[2]); }
static gm_tensor *b_linear_nobias(gm_ctx *c, gm_tensor **x, const void *a) { return gm_linear(c, x[0], x[1], NULL); }
static float g_mask[35];
static gm_tensor *b_linear_masked(gm_ctx *c, gm_tensor **x, const void *a) { return gm_linear_masked(c, x[0], x[1], g_mask, x[2]); }
/* staircase (80, 70): row o is 1 on columns [0, stair_len(o)) (gen_ops_unary.py builds the same),
 * given by its row lengths alone (mask NULL) */
static int32_t g_stair_len[80];
static int32_t stair_len(int o) { int L = o * 70 / 80 + (o % 7 == 3 ? 15 : 0); return L < 70 ? L : 70; }
static gm_tensor *b_linear_stair(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_linear_masked_rows(c, x[0], x[1], NULL, g_stair_len, x[2]);
}

#define U(name, fn, dom) {name, 1, {IN(dom, 2, 3, 5)}, fn, NULL, 0, 0, 0, 0, 0}

static const gm_opcase cases[] = {
    U("neg", b_neg, GM_DOM_ANY), U("exp", b_exp, GM_DOM_ANY), U("log", b_log, GM_DOM_POS),
    U("sqrt", b_sqrt, GM_DOM_POS), U("pow", b_pow, GM_DOM_POS), U("abs", b_abs, GM_DOM_AWAY0),
    U("tanh", b_tanh, GM_DOM_ANY), U("sigmoid", b_sigmoid, GM_DOM_ANY), U("log_sigmoid", b_logsig, GM_DOM_ANY),
    U("relu", b_relu, GM_DOM_AWAY0), U("leaky_relu", b_leaky, GM_DOM_AWAY0), U("elu", b_elu, GM_DOM_AWAY0),
    U("softplus", b_softplus, GM_DOM_ANY), U("gelu", b_gelu, GM_DOM_ANY), U("silu", b_silu, GM_DOM_ANY),
    U("scale", b_scale, GM_DOM_ANY), U("add_scalar", b_adds, GM_DOM_ANY),
    {"softplus_big", 1, {IN(GM_DOM_ANY, 2, 2, 4)}, b_softplus_big, NULL, 1e-4, 0, 1e-4, 0, 0},
    {"matmul", 2, {IN(GM_DOM_ANY, 2, 4, 3), IN(GM_DOM_ANY, 2, 3, 5)}, b_matmul, NULL, 0, 0, 0, 0, 0},
    {"matmul_batched", 2, {IN(GM_DOM_ANY, 3, 2, 4, 3), IN(GM_DOM_ANY, 3, 2, 3, 5)}, b_matmul, NULL, 0, 0, 0, 0, 0},
    {"matmul_at", 2, {IN(GM_DOM_ANY, 2, 3, 4), IN(GM_DOM_ANY, 2, 3, 5)}, b_matmul_at, NULL, 0, 0, 0, 0, 0},
    {"linear", 3, {IN(GM_DOM_ANY, 2, 6, 7), IN(GM_DOM_ANY, 2, 5, 7), IN(GM_DOM_ANY, 1, 5)}, b_linear, NULL, 0, 0, 0, 0, 0},
    {"linear_nobias", 2, {IN(GM_DOM_ANY, 3, 2, 3, 7), IN(GM_DOM_ANY, 2, 5, 7)}, b_linear_nobias, NULL, 0, 0, 0, 0, 0},
    {"linear_masked", 3, {IN(GM_DOM_ANY, 2, 6, 7), IN(GM_DOM_ANY, 2, 5, 7), IN(GM_DOM_ANY, 1, 5)}, b_linear_masked, NULL, 0, 0, 0, 0, 0},
    {"linear_masked_stair", 3, {IN(GM_DOM_ANY, 2, 5, 70), IN(GM_DOM_ANY, 2, 80, 70), IN(GM_DOM_ANY, 1, 80)}, b_linear_stair, NULL, 0, 0, 0, 0, 0},
};

/* log_sigmoid'(x) = σ(-x) keeps its relative accuracy for large x (it used to
 * be computed as 1 - exp(log σ(x)), which is exactly 0 from x ≈ 17 on). */
static void test_log_sigmoid_tail(void) {
    const float xs[4] = {20.0f, 40.0f, -30.0f, 0.0f};
    for (int be = 0; be < 2; be++) {
        gm_ctx *ctx = gm_ctx_new(0);
        gm_set_backend(ctx, be ? GM_BACKEND_REF : GM_BACKEND_FAST);
        int64_t n = 4;
        gm_tensor *x = gm_from_data(ctx, 1, &n, xs);
        gm_requires_grad(x);
        gm_tensor *y = gm_log_sigmoid(ctx, x);
        CHECK(y && gm_backward_with(ctx, y, NULL) == GM_OK, "log_sigmoid backward: %s", gm_ctx_error(ctx));
        if (y)
            for (int i = 0; i < 4; i++) {
                double want = 1.0 / (1.0 + exp((double)xs[i]));
                CHECK_CLOSE(x->grad[i], want, 0, 1e-5, "log_sigmoid grad at large |x|");
            }
        gm_ctx_free(ctx);
    }
}

int main(void) {
    test_log_sigmoid_tail();
    for (int i = 0; i < 35; i++) g_mask[i] = (i % 3 != 0) ? 1.0f : 0.0f;
    for (int o = 0; o < 80; o++) g_stair_len[o] = stair_len(o);
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_unary.safetensors");
    TEST_MAIN_END();
}
