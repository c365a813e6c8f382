/*
 * test_ops_nade.c — the gm_nade_logits op through the op harness (REF vs
 * FAST, finite differences in double) at sizes that cover the FAST
 * kernels' edges: row tiles (8) with a partial tile, recompute blocks (32
 * positions) with a partial block, hidden chunks (16) with a partial chunk.
 * PyTorch values for NADE are checked at the model level (test_ar_models.c,
 * tests/golden/gen_ar.py), so the op cases carry no golden entries. Also:
 * bad orders and shapes are errors, and the loss-level gradient of a larger
 * NADE matches between backends.
 */
#include "genmod/rng.h"
#include "opcheck.h"
#include "testutil.h"
#include <string.h>

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}

typedef struct {
    int64_t B, D;
    float x[11 * 40];
    int64_t order[40];
} nade_arg;

static nade_arg A1, A2, A3;

static void fill_arg(nade_arg *a, int64_t B, int64_t D, uint64_t seed, int reverse) {
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_DATA);
    a->B = B;
    a->D = D;
    for (int64_t i = 0; i < B * D; i++) a->x[i] = (float)gm_rng_bernoulli(&r, 0.5);
    if (reverse)
        for (int64_t k = 0; k < D; k++) a->order[k] = D - 1 - k;
    else
        gm_rng_permutation(&r, a->order, D);
}

static gm_tensor *b_nade(gm_ctx *c, gm_tensor **in, const void *arg) {
    const nade_arg *a = arg;
    int64_t s[2] = {a->B, a->D};
    return gm_nade_logits(c, gm_from_data(c, 2, s, a->x), in[0], in[1], in[2], in[3], a->order);
}

/* inputs: W (D,H), c (H), V (D,H), b (D) */
static const gm_opcase cases[] = {
    {"nade_small", 4, {IN(GM_DOM_ANY, 2, 5, 3), IN(GM_DOM_ANY, 1, 3), IN(GM_DOM_ANY, 2, 5, 3), IN(GM_DOM_ANY, 1, 5)},
     b_nade, &A1, 0, 0, 0, 0, 1},
    {"nade_edges", 4, {IN(GM_DOM_ANY, 2, 40, 19), IN(GM_DOM_ANY, 1, 19), IN(GM_DOM_ANY, 2, 40, 19), IN(GM_DOM_ANY, 1, 40)},
     b_nade, &A2, 0, 0, 0, 64, 1},
    {"nade_chunk16", 4, {IN(GM_DOM_ANY, 2, 33, 32), IN(GM_DOM_ANY, 1, 32), IN(GM_DOM_ANY, 2, 33, 32), IN(GM_DOM_ANY, 1, 33)},
     b_nade, &A3, 0, 0, 0, 48, 1},
};

static void test_bad_input(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *x = gm_zeros(ctx, 2, (int64_t[]){2, 3});
    gm_tensor *W = gm_zeros(ctx, 2, (int64_t[]){3, 4}), *c = gm_zeros(ctx, 1, (int64_t[]){4});
    gm_tensor *V = gm_zeros(ctx, 2, (int64_t[]){3, 4}), *b = gm_zeros(ctx, 1, (int64_t[]){3});
    int64_t dup[3] = {0, 0, 2}, oob[3] = {0, 1, 3}, ok[3] = {2, 0, 1};
    CHECK(gm_nade_logits(ctx, x, W, c, V, b, dup) == NULL && strstr(gm_ctx_error(ctx), "not a permutation"),
          "duplicate in order: %s", gm_ctx_error(ctx));
    gm_ctx_reset(ctx);
    x = gm_zeros(ctx, 2, (int64_t[]){2, 3});
    W = gm_zeros(ctx, 2, (int64_t[]){3, 4}); c = gm_zeros(ctx, 1, (int64_t[]){4});
    V = gm_zeros(ctx, 2, (int64_t[]){3, 4}); b = gm_zeros(ctx, 1, (int64_t[]){3});
    CHECK(gm_nade_logits(ctx, x, W, c, V, b, oob) == NULL, "order entry out of range");
    gm_ctx_reset(ctx);
    x = gm_zeros(ctx, 2, (int64_t[]){2, 3});
    W = gm_zeros(ctx, 2, (int64_t[]){3, 4}); c = gm_zeros(ctx, 1, (int64_t[]){5});
    V = gm_zeros(ctx, 2, (int64_t[]){3, 4}); b = gm_zeros(ctx, 1, (int64_t[]){3});
    CHECK(gm_nade_logits(ctx, x, W, c, V, b, ok) == NULL && strstr(gm_ctx_error(ctx), "expected x (B,D)"),
          "c of the wrong size: %s", gm_ctx_error(ctx));
    gm_ctx_reset(ctx);
    x = gm_zeros(ctx, 2, (int64_t[]){2, 3});
    W = gm_zeros(ctx, 2, (int64_t[]){3, 4}); c = gm_zeros(ctx, 1, (int64_t[]){4});
    V = gm_zeros(ctx, 2, (int64_t[]){3, 4}); b = gm_zeros(ctx, 1, (int64_t[]){3});
    gm_tensor *out = gm_nade_logits(ctx, x, W, c, V, b, ok);
    CHECK(out && out->shape[0] == 2 && out->shape[1] == 3, "valid call");
    if (out) CHECK(out->data[0] == 0.0f, "all-zero parameters give logit 0");
    gm_ctx_free(ctx);
}

/* B=100, D=96, H=70 (several tiles, blocks, chunks): FAST gradient vs REF. */
static void test_big(void) {
    enum { B = 100, D = 96, H = 70 };
    static float x[B * D], p[2][D * H * 2 + H + D], g[2][D * H * 2 + H + D];
    int64_t order[D];
    gm_rng r;
    gm_rng_seed(&r, 4, GM_STREAM_DATA);
    for (int i = 0; i < B * D; i++) x[i] = (float)gm_rng_bernoulli(&r, 0.3);
    gm_rng_permutation(&r, order, D);
    gm_rng_fill_normal(&r, p[0], D * H * 2 + H + D, 0.0f, 0.5f);
    memcpy(p[1], p[0], sizeof p[0]);
    float lsum[2] = {0};
    for (int be = 0; be < 2; be++) {
        gm_ctx *ctx = gm_ctx_new(0);
        gm_set_backend(ctx, be == 0 ? GM_BACKEND_REF : GM_BACKEND_FAST);
        int64_t sx[2] = {B, D}, sw[2] = {D, H}, sh[1] = {H}, sd[1] = {D};
        gm_tensor *W = gm_wrap(ctx, 2, sw, p[be]), *V = gm_wrap(ctx, 2, sw, p[be] + D * H);
        gm_tensor *c = gm_wrap(ctx, 1, sh, p[be] + 2 * D * H), *b = gm_wrap(ctx, 1, sd, p[be] + 2 * D * H + H);
        gm_requires_grad(W); gm_requires_grad(V); gm_requires_grad(c); gm_requires_grad(b);
        gm_tensor *lg = gm_nade_logits(ctx, gm_from_data(ctx, 2, sx, x), W, c, V, b, order);
        gm_tensor *loss = gm_sum(ctx, gm_bernoulli_log_prob(ctx, gm_from_data(ctx, 2, sx, x), lg), GM_ALL_AXES, 0);
        CHECK(loss && gm_backward(ctx, loss) == GM_OK, "big backward: %s", gm_ctx_error(ctx));
        if (!loss) { gm_ctx_free(ctx); return; }
        lsum[be] = loss->data[0];
        memcpy(g[be], W->grad, sizeof(float) * D * H);
        memcpy(g[be] + D * H, V->grad, sizeof(float) * D * H);
        memcpy(g[be] + 2 * D * H, c->grad, sizeof(float) * H);
        memcpy(g[be] + 2 * D * H + H, b->grad, sizeof(float) * D);
        gm_ctx_free(ctx);
    }
    CHECK_CLOSE(lsum[1], lsum[0], 0, 1e-5, "big: FAST log p sum vs REF");
    CHECK_ARRAYS("big: FAST gradients vs REF", g[1], g[0], D * H * 2 + H + D, 1e-4, 1e-3);
}

int main(void) {
    fill_arg(&A1, 3, 5, 1, 0);
    fill_arg(&A2, 11, 40, 2, 0);
    fill_arg(&A3, 9, 33, 3, 1);
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), NULL);
    test_bad_input();
    test_big();
    TEST_MAIN_END();
}
