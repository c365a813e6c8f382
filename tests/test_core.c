/*
 * test_core.c — context, arena, tape and params basics.
 */
#include "genmod/ops.h"
#include "genmod/params.h"
#include "testutil.h"
#include <string.h>

static void test_arena_steady_state(void) {
    gm_ctx *ctx = gm_ctx_new(1024);
    size_t m0 = 0;
    for (int step = 0; step < 6; step++) {
        gm_ctx_reset(ctx);
        if (step == 3) m0 = gm_arena_mallocs(ctx);
        for (int k = 0; k < 50; k++) {
            gm_tensor *t = gm_new2(ctx, 64, 64);
            CHECK(t != NULL, "alloc %d", k);
        }
    }
    CHECK(gm_arena_mallocs(ctx) == m0, "arena kept allocating after warm-up: %zu -> %zu", m0, gm_arena_mallocs(ctx));
    gm_ctx_free(ctx);
}

static void test_sticky_error(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *a = gm_new2(ctx, 2, 3), *b = gm_new2(ctx, 4, 5);
    gm_fill(a, 1.0f); gm_fill(b, 1.0f);
    gm_tensor *c = gm_matmul(ctx, a, b);
    CHECK(c == NULL, "shape mismatch must fail");
    CHECK(gm_ctx_status(ctx) == GM_ERR_SHAPE, "status %d", gm_ctx_status(ctx));
    CHECK(strstr(gm_ctx_error(ctx), "matmul") != NULL, "message names the op: %s", gm_ctx_error(ctx));
    CHECK(gm_tanh(ctx, c) == NULL, "NULL propagates");
    gm_ctx_reset(ctx);
    CHECK(gm_ctx_status(ctx) == GM_OK, "reset clears");
    gm_ctx_free(ctx);
}

static void test_params_and_backward(void) {
    gm_params p;
    gm_params_init(&p);
    int64_t ws[2] = {3, 4}, bs[1] = {3};
    int iw = gm_params_add(&p, "w", 2, ws, 1), ib = gm_params_add(&p, "b", 1, bs, 1);
    CHECK(gm_params_add(&p, "w", 1, bs, 1) < 0, "duplicate name rejected");
    CHECK(gm_params_finalize(&p) == GM_OK, "finalize");
    gm_rng r; gm_rng_seed(&r, 1, GM_STREAM_INIT);
    gm_params_init_uniform(&p, iw, &r, 0.5f);
    gm_params_init_const(&p, ib, 0.25f);
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *x = gm_new2(ctx, 2, 4);
    for (int i = 0; i < 8; i++) x->data[i] = (float)i * 0.1f;
    /* loss = sum(x W^T + b) -> dW[j,k] = sum_i x[i,k], db[j] = 2 */
    gm_tensor *y = gm_linear(ctx, x, gm_params_get(&p, iw), gm_params_get(&p, ib));
    gm_tensor *loss = gm_sum(ctx, y, GM_ALL_AXES, 0);
    if (loss) {
        CHECK(gm_backward(ctx, loss) == GM_OK, "backward: %s", gm_ctx_error(ctx));
        for (int j = 0; j < 3; j++) {
            CHECK_CLOSE(p.grad[p.entries[ib].offset + j], 2.0, 1e-6, 0, "db");
            for (int k = 0; k < 4; k++)
                CHECK_CLOSE(gm_params_get(&p, iw)->grad[j * 4 + k], x->data[k] + x->data[4 + k], 1e-6, 1e-6, "dW");
        }
    } else {
        CHECK(0, "gm_sum missing or failed: %s", gm_ctx_error(ctx));
    }
    /* no-grad mode records nothing */
    gm_ctx_reset(ctx);
    gm_set_grad_enabled(ctx, 0);
    gm_tensor *y2 = gm_linear(ctx, x, gm_params_get(&p, iw), NULL);
    CHECK(y2 && !y2->requires_grad && gm_tape_len(ctx) == 0, "no-grad mode records nothing");
    gm_ctx_free(ctx);
    gm_params_free(&p);
}

/* Two losses sharing an intermediate, backward on each in turn: the second
 * pass must add only its own loss's gradient to the leaf (it used to re-run
 * the first loss's nodes with their stale gradients: x.grad 12 instead of 6). */
static void test_backward_twice(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    int64_t n = 3;
    const float xv[3] = {0.5f, -1.0f, 2.0f};
    gm_tensor *x = gm_from_data(ctx, 1, &n, xv);
    gm_requires_grad(x);
    gm_tensor *h = gm_scale(ctx, x, 3.0f);
    gm_tensor *l1 = gm_sum(ctx, h, GM_ALL_AXES, 0), *l2 = gm_sum(ctx, gm_mul(ctx, h, h), GM_ALL_AXES, 0);
    CHECK(l1 && l2, "graph: %s", gm_ctx_error(ctx));
    if (l1 && l2) {
        CHECK(gm_backward(ctx, l1) == GM_OK, "backward l1: %s", gm_ctx_error(ctx));
        for (int i = 0; i < 3; i++) CHECK_CLOSE(x->grad[i], 3.0, 1e-6, 0, "dl1/dx");
        CHECK(gm_backward(ctx, l2) == GM_OK, "backward l2: %s", gm_ctx_error(ctx));
        /* dl2/dx = 2 h * 3 = 18 x; accumulated on top of dl1/dx = 3 */
        for (int i = 0; i < 3; i++) CHECK_CLOSE(x->grad[i], 3.0 + 18.0 * xv[i], 1e-5, 1e-6, "dl1/dx + dl2/dx");
        CHECK(gm_backward(ctx, l1) == GM_OK, "backward l1 again: %s", gm_ctx_error(ctx));
        for (int i = 0; i < 3; i++) CHECK_CLOSE(x->grad[i], 6.0 + 18.0 * xv[i], 1e-5, 1e-6, "2 dl1/dx + dl2/dx");
    }
    gm_ctx_free(ctx);
}

int main(void) {
    test_backward_twice();
    test_arena_steady_state();
    test_sticky_error();
    test_params_and_backward();
    TEST_MAIN_END();
}
