/*
 * test_ops_shape.c — src/ops/shape.c: reshape, transpose, permute, slice,
 * concat, contiguous, index_select, gather, embedding; and views flowing
 * through other ops (tanh, exp, mul, sum, softmax, matmul, linear).
 *
 * Harness cases (tests/util/opcheck.h): PyTorch golden output and gradients
 * (tests/golden/gen_ops_shape.py), fast vs reference backend, finite
 * differences in double. Direct tests: which ops return views (shared data,
 * strides, offsets), large inputs on the threaded paths vs the reference
 * (exact: these ops only move and add numbers), and bad input (numel
 * mismatch, bad perm / axes / bounds, out-of-range indices and ids).
 */
#include "genmod/rng.h"
#include "opcheck.h"
#include "testutil.h"
#include <string.h>

#define IN(dom, nd, ...) {nd, {__VA_ARGS__}, dom, 1}

/* index lists, as in gen_ops_shape.py */
static const int64_t IDX0[4] = {4, 0, 2, 0}, IDX1[3] = {1, 1, 4}, IDX3D[5] = {3, 0, 3, 1, 2};
static const int64_t G1[6] = {3, 0, 1, 1, 2, 3}, G1S[2] = {3, 2};
static const int64_t G0[18] = {0, 1, 2, 3, 3, 0, 1, 0, 2, 2, 2, 2, 0, 3, 1, 3, 1, 0}, G0S[2] = {6, 3};
static const int64_t G2[12] = {0, 3, 3, 1, 2, 0, 2, 2, 1, 3, 0, 0}, G2S[3] = {2, 2, 3};
static const int64_t IDS[5] = {5, 0, 2, 5, 1};

static gm_tensor *b_reshape_view(gm_ctx *c, gm_tensor **x, const void *a) { return gm_reshape(c, x[0], 3, (int64_t[]){2, -1, 2}); }
static gm_tensor *b_reshape_copy(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_reshape(c, gm_transpose(c, x[0], 0, 1), 1, (int64_t[]){12});
}
static gm_tensor *b_reshape_4d(gm_ctx *c, gm_tensor **x, const void *a) { return gm_reshape(c, x[0], 4, (int64_t[]){2, 2, 3, 2}); }
static gm_tensor *b_reshape_0d(gm_ctx *c, gm_tensor **x, const void *a) { return gm_reshape(c, x[0], 0, NULL); }
static gm_tensor *b_t2(gm_ctx *c, gm_tensor **x, const void *a) { return gm_transpose(c, x[0], 0, 1); }
static gm_tensor *b_t3(gm_ctx *c, gm_tensor **x, const void *a) { return gm_transpose(c, x[0], 0, 2); }
static gm_tensor *b_tneg(gm_ctx *c, gm_tensor **x, const void *a) { return gm_transpose(c, x[0], -1, -2); }
static gm_tensor *b_perm4(gm_ctx *c, gm_tensor **x, const void *a) { return gm_permute(c, x[0], (const int[]){2, 0, 3, 1}); }
static gm_tensor *b_slice_ax1(gm_ctx *c, gm_tensor **x, const void *a) { return gm_slice(c, x[0], 1, 1, 4); }
static gm_tensor *b_slice_neg(gm_ctx *c, gm_tensor **x, const void *a) { return gm_slice(c, x[0], 0, -3, -1); }
static gm_tensor *b_slice_last(gm_ctx *c, gm_tensor **x, const void *a) { return gm_slice(c, x[0], -1, 2, 5); }
static gm_tensor *b_slice_of_perm(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_slice(c, gm_permute(c, x[0], (const int[]){2, 0, 1}), 0, 1, 3);
}
static gm_tensor *b_slice_of_slice(gm_ctx *c, gm_tensor **x, const void *a) {
    gm_tensor *s = gm_slice(c, gm_slice(c, x[0], 0, 1, 5), 1, 1, 5);
    return gm_slice(c, gm_slice(c, s, 0, 1, 3), 1, 0, 3);
}
static gm_tensor *b_perm_of_slice(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_permute(c, gm_slice(c, x[0], 1, 1, 3), (const int[]){2, 0, 1});
}
static gm_tensor *b_concat_ax1(gm_ctx *c, gm_tensor **x, const void *a) { return gm_concat(c, 3, x, 1); }
static gm_tensor *b_concat_ax0(gm_ctx *c, gm_tensor **x, const void *a) { return gm_concat(c, 2, x, 0); }
static gm_tensor *b_concat_mid(gm_ctx *c, gm_tensor **x, const void *a) { return gm_concat(c, 2, x, -2); }
static gm_tensor *b_concat_views(gm_ctx *c, gm_tensor **x, const void *a) {
    gm_tensor *v[2] = {gm_transpose(c, x[0], 0, 1), x[1]};
    return gm_concat(c, 2, v, 1);
}
static gm_tensor *b_concat_many(gm_ctx *c, gm_tensor **x, const void *a) {
    gm_tensor *v[5] = {x[0], x[1], gm_slice(c, x[2], 1, 0, 2), gm_slice(c, x[2], 1, 2, 6), x[0]};
    return gm_concat(c, 5, v, 1);
}
static gm_tensor *b_contig_t(gm_ctx *c, gm_tensor **x, const void *a) { return gm_contiguous(c, gm_transpose(c, x[0], 0, 1)); }
static gm_tensor *b_is0(gm_ctx *c, gm_tensor **x, const void *a) { return gm_index_select(c, x[0], 0, IDX0, 4); }
static gm_tensor *b_is1(gm_ctx *c, gm_tensor **x, const void *a) { return gm_index_select(c, x[0], 1, IDX1, 3); }
static gm_tensor *b_is3d(gm_ctx *c, gm_tensor **x, const void *a) { return gm_index_select(c, x[0], 1, IDX3D, 5); }
static gm_tensor *b_is_view(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_index_select(c, gm_transpose(c, x[0], 0, 1), -1, IDX0, 4);
}
static gm_tensor *b_g1(gm_ctx *c, gm_tensor **x, const void *a) { return gm_gather(c, x[0], 1, G1, G1S); }
static gm_tensor *b_g0(gm_ctx *c, gm_tensor **x, const void *a) { return gm_gather(c, x[0], 0, G0, G0S); }
static gm_tensor *b_g3d(gm_ctx *c, gm_tensor **x, const void *a) { return gm_gather(c, x[0], -1, G2, G2S); }
static gm_tensor *b_g_view(gm_ctx *c, gm_tensor **x, const void *a) { return gm_gather(c, gm_transpose(c, x[0], 0, 1), 1, G1, G1S); }
static gm_tensor *b_emb(gm_ctx *c, gm_tensor **x, const void *a) { return gm_embedding(c, x[0], IDS, 5); }
/* views through the rest of the system */
static gm_tensor *b_tanh_t(gm_ctx *c, gm_tensor **x, const void *a) { return gm_tanh(c, gm_transpose(c, x[0], 0, 1)); }
static gm_tensor *b_exp_slice(gm_ctx *c, gm_tensor **x, const void *a) { return gm_exp(c, gm_slice(c, x[0], 1, 1, 4)); }
static gm_tensor *b_mm_perm(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_matmul(c, gm_permute(c, x[0], (const int[]){1, 0, 2}), x[1]);
}
static gm_tensor *b_mm_slice(gm_ctx *c, gm_tensor **x, const void *a) { return gm_matmul(c, gm_slice(c, x[0], 1, 1, 4), x[1]); }
static gm_tensor *b_mm_tt(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_matmul(c, gm_transpose(c, x[0], 0, 1), gm_transpose(c, x[1], 0, 1));
}
static gm_tensor *b_linear_t(gm_ctx *c, gm_tensor **x, const void *a) { return gm_linear(c, gm_transpose(c, x[0], 0, 1), x[1], x[2]); }
static gm_tensor *b_view_chain(gm_ctx *c, gm_tensor **x, const void *a) {
    gm_tensor *t = gm_transpose(c, gm_reshape(c, x[0], 2, (int64_t[]){3, 4}), 0, 1);
    return gm_sum(c, gm_tanh(c, gm_slice(c, t, 0, 1, 3)), -1, 0);
}
static gm_tensor *b_mul_sum_views(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_sum(c, gm_mul(c, gm_permute(c, x[0], (const int[]){0, 2, 1}), x[1]), 1, 0);
}
static gm_tensor *b_reshape_t_softmax(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_softmax(c, gm_reshape(c, gm_transpose(c, x[0], 0, 1), 2, (int64_t[]){2, 6}), -1);
}

#define C1(name, fn, in) {name, 1, {in}, fn, NULL, 0, 0, 0, 0, 0}
#define X(nd, ...) {nd, {__VA_ARGS__}, GM_DOM_ANY, 1}

static const gm_opcase cases[] = {
    C1("reshape_view", b_reshape_view, X(2, 3, 4)),
    C1("reshape_copy", b_reshape_copy, X(2, 3, 4)),
    C1("reshape_4d", b_reshape_4d, X(3, 2, 3, 4)),
    C1("reshape_0d", b_reshape_0d, X(2, 1, 1)),
    C1("transpose_2d", b_t2, X(2, 3, 4)),
    C1("transpose_3d", b_t3, X(3, 2, 3, 4)),
    C1("transpose_neg", b_tneg, X(3, 2, 3, 4)),
    C1("permute_4d", b_perm4, X(4, 2, 3, 4, 2)),
    C1("slice_ax1", b_slice_ax1, X(2, 3, 6)),
    C1("slice_neg", b_slice_neg, X(2, 4, 5)),
    C1("slice_last_3d", b_slice_last, X(3, 2, 3, 5)),
    C1("slice_of_perm", b_slice_of_perm, X(3, 2, 3, 4)),
    C1("slice_of_slice", b_slice_of_slice, X(2, 5, 6)),
    C1("perm_of_slice", b_perm_of_slice, X(3, 3, 4, 5)),
    {"concat_ax1", 3, {X(2, 2, 3), X(2, 2, 1), X(2, 2, 4)}, b_concat_ax1, NULL, 0, 0, 0, 0, 0},
    {"concat_ax0", 2, {X(2, 2, 3), X(2, 3, 3)}, b_concat_ax0, NULL, 0, 0, 0, 0, 0},
    {"concat_mid", 2, {X(3, 2, 1, 3), X(3, 2, 2, 3)}, b_concat_mid, NULL, 0, 0, 0, 0, 0},
    {"concat_views", 2, {X(2, 3, 2), X(2, 2, 4)}, b_concat_views, NULL, 0, 0, 0, 0, 0},
    {"concat_many", 3, {X(2, 2, 2), X(2, 2, 3), X(2, 2, 6)}, b_concat_many, NULL, 0, 0, 0, 0, 0},
    C1("contiguous_t", b_contig_t, X(2, 3, 4)),
    C1("index_select_ax0", b_is0, X(2, 5, 3)),
    C1("index_select_ax1", b_is1, X(2, 3, 5)),
    C1("index_select_3d", b_is3d, X(3, 2, 4, 3)),
    C1("index_select_view", b_is_view, X(2, 5, 3)),
    C1("gather_ax1", b_g1, X(2, 3, 4)),
    C1("gather_ax0", b_g0, X(2, 4, 3)),
    C1("gather_3d", b_g3d, X(3, 2, 3, 4)),
    C1("gather_view", b_g_view, X(2, 4, 3)),
    C1("embedding", b_emb, X(2, 6, 4)),
    C1("tanh_t", b_tanh_t, X(2, 3, 4)),
    C1("exp_slice", b_exp_slice, X(2, 4, 5)),
    {"matmul_perm", 2, {X(3, 3, 2, 4), X(3, 2, 4, 5)}, b_mm_perm, NULL, 0, 0, 0, 0, 0},
    {"matmul_slice", 2, {X(2, 4, 6), X(2, 3, 2)}, b_mm_slice, NULL, 0, 0, 0, 0, 0},
    {"matmul_tt", 2, {X(2, 5, 3), X(2, 4, 5)}, b_mm_tt, NULL, 0, 0, 0, 0, 0},
    {"linear_t", 3, {X(2, 5, 2), X(2, 3, 5), X(1, 3)}, b_linear_t, NULL, 0, 0, 0, 0, 0},
    C1("view_chain", b_view_chain, X(1, 12)),
    {"mul_sum_views", 2, {X(3, 2, 3, 4), X(2, 4, 3)}, b_mul_sum_views, NULL, 0, 0, 0, 0, 0},
    C1("reshape_of_t_then_softmax", b_reshape_t_softmax, X(2, 4, 3)),
};

/* ---- which ops are views ---- */

static void test_views(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *x = gm_new3(ctx, 2, 3, 4);
    for (int i = 0; i < 24; i++) x->data[i] = (float)i;
    gm_tensor *t = gm_transpose(ctx, x, 0, 2);
    CHECK(t && t->data == x->data && t->shape[0] == 4 && t->shape[2] == 2 && t->stride[0] == 1 && t->stride[2] == 12,
          "transpose is a strided view");
    CHECK(t && !gm_is_contiguous(t), "transposed view is not contiguous");
    gm_tensor *s = gm_slice(ctx, x, 1, 1, 3);
    CHECK(s && s->data == x->data + 4 && s->shape[1] == 2 && s->numel == 16 && s->stride[1] == 4, "slice is an offset view");
    if (s) CHECK_CLOSE(gm_get(s, (int64_t[]){1, 1, 3}), 12 + 8 + 3, 0, 0, "slice element");
    gm_tensor *r = gm_reshape(ctx, x, 2, (int64_t[]){6, -1});
    CHECK(r && r->data == x->data && r->shape[1] == 4 && gm_is_contiguous(r), "reshape of contiguous is a view");
    gm_tensor *rc = gm_reshape(ctx, t, 1, (int64_t[]){24});
    CHECK(rc && rc->data != x->data && gm_is_contiguous(rc), "reshape of a transposed view copies");
    if (rc) CHECK(rc->data[1] == 12.0f && rc->data[2] == 4.0f, "copy in the view's row-major order");
    CHECK(gm_contiguous(ctx, x) == x, "contiguous of contiguous returns x");
    gm_tensor *c = gm_contiguous(ctx, t);
    CHECK(c && c != t && gm_is_contiguous(c) && gm_same_shape(c, t), "contiguous of a view copies");
    /* slice along the first axis stays contiguous and can be reshaped as a view */
    gm_tensor *s0 = gm_slice(ctx, x, 0, 1, 2);
    CHECK(s0 && gm_is_contiguous(s0), "slice along axis 0 is contiguous");
    gm_tensor *r0 = gm_reshape(ctx, s0, 1, (int64_t[]){-1});
    CHECK(r0 && r0->data == x->data + 12 && r0->numel == 12, "reshape of a contiguous slice is a view");
    /* empty slice */
    gm_tensor *e = gm_slice(ctx, x, 2, 4, 4);
    CHECK(e && e->numel == 0 && e->shape[2] == 0, "empty slice at the end");
    /* gradients of a view of a view reach the base tensor */
    gm_ctx_reset(ctx);
    x = gm_new2(ctx, 3, 4);
    gm_fill(x, 1.0f);
    gm_requires_grad(x);
    gm_tensor *v = gm_slice(ctx, gm_transpose(ctx, x, 0, 1), 0, 1, 3); /* (2, 3): x[:, 1:3]^T */
    gm_tensor *loss = gm_sum(ctx, v, GM_ALL_AXES, 0);
    CHECK(loss && gm_backward(ctx, loss) == GM_OK, "backward through views: %s", gm_ctx_error(ctx));
    const float want[12] = {0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0};
    if (x->grad) CHECK_ARRAYS("grad of sum(x[:,1:3]^T)", x->grad, want, 12, 0, 0);
    gm_ctx_free(ctx);
}

/* ---- large inputs: threaded paths vs reference (exact) ---- */

/* x (32, 64, 40), w (500, 64); index lists with repeats */
static gm_tensor *big_build(gm_ctx *c, gm_tensor *x, gm_tensor *w, int k) {
    static int64_t ids[3000], ii[300], gi[32 * 64 * 40];
    for (int i = 0; i < 3000; i++) ids[i] = (i * 7919) % 500;
    for (int i = 0; i < 300; i++) ii[i] = (i * 13) % 64;
    for (int i = 0; i < 32 * 64 * 40; i++) gi[i] = (i * 31) % 64;
    switch (k) {
    case 0: return gm_permute(c, x, (const int[]){2, 0, 1});
    case 1: return gm_slice(c, x, 1, 3, 57);
    case 2: return gm_reshape(c, gm_transpose(c, x, 0, 1), 2, (int64_t[]){-1, 40});
    case 3: { gm_tensor *v[3] = {x, gm_slice(c, x, 2, 0, 10), x}; return gm_concat(c, 3, v, 2); }
    case 4: return gm_embedding(c, w, ids, 3000);
    case 5: return gm_index_select(c, x, 1, ii, 300);
    default: return gm_gather(c, x, 1, gi, (int64_t[]){32, 64, 40});
    }
}

static void test_big(void) {
    static const char *names[] = {"permute", "slice", "reshape_copy", "concat", "embedding", "index_select", "gather"};
    for (int k = 0; k < 7; k++) {
        float *res[2][3] = {{0}};
        int64_t n[3] = {0};
        for (int b = 0; b < 2; b++) {
            gm_ctx *ctx = gm_ctx_new(0);
            gm_set_backend(ctx, b == 0 ? GM_BACKEND_REF : GM_BACKEND_FAST);
            gm_rng rng;
            gm_rng_seed(&rng, 5, 5);
            gm_tensor *x = gm_new3(ctx, 32, 64, 40), *w = gm_new2(ctx, 500, 64);
            gm_rng_fill_normal(&rng, x->data, x->numel, 0, 1);
            gm_rng_fill_normal(&rng, w->data, w->numel, 0, 1);
            gm_requires_grad(x);
            gm_requires_grad(w);
            gm_tensor *y = big_build(ctx, x, w, k);
            int ok = y != NULL;
            if (ok) {
                float *r = malloc(sizeof(float) * (size_t)y->numel);
                gm_rng_fill_normal(&rng, r, y->numel, 0, 1);
                ok = gm_backward_with(ctx, y, r) == GM_OK;
                free(r);
            }
            CHECK(ok, "big %s: %s", names[k], gm_ctx_error(ctx));
            if (ok) {
                n[0] = y->numel; n[1] = x->numel; n[2] = w->numel;
                res[b][0] = malloc(sizeof(float) * (size_t)n[0]);
                gm_copy_to(y, res[b][0]);
                gm_tensor *src[2] = {x, w};
                for (int j = 0; j < 2; j++) {
                    res[b][1 + j] = calloc((size_t)n[1 + j], sizeof(float));
                    if (src[j]->grad) memcpy(res[b][1 + j], src[j]->grad, sizeof(float) * (size_t)n[1 + j]);
                }
            }
            gm_ctx_free(ctx);
        }
        if (res[0][0] && res[1][0])
            for (int j = 0; j < 3; j++)
                CHECK(!memcmp(res[0][j], res[1][j], sizeof(float) * (size_t)n[j]), "big %s: fast differs from ref (%s)", names[k],
                      j == 0 ? "output" : "grad");
        for (int b = 0; b < 2; b++)
            for (int j = 0; j < 3; j++) free(res[b][j]);
    }
}

/* ---- bad input ---- */

#define EXPECT_FAIL(expr, st, needle)                                                                              \
    do {                                                                                                           \
        gm_ctx_reset(ctx);                                                                                         \
        x = gm_zeros(ctx, 2, (int64_t[]){2, 3});                                                                   \
        CHECK((expr) == NULL, "%s must fail", #expr);                                                              \
        CHECK(gm_ctx_status(ctx) == (st), "%s: status %s, message %s", #expr, gm_status_name(gm_ctx_status(ctx)),  \
              gm_ctx_error(ctx));                                                                                  \
        CHECK(strstr(gm_ctx_error(ctx), needle) != NULL, "%s: message '%s' lacks '%s'", #expr, gm_ctx_error(ctx), \
              needle);                                                                                             \
    } while (0)

static void test_bad_input(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *x = NULL;
    EXPECT_FAIL(gm_reshape(ctx, x, 2, (int64_t[]){4, 2}), GM_ERR_SHAPE, "(2, 3)");
    EXPECT_FAIL(gm_reshape(ctx, x, 2, (int64_t[]){-1, -1}), GM_ERR_SHAPE, "reshape");
    EXPECT_FAIL(gm_reshape(ctx, x, 2, (int64_t[]){-1, 4}), GM_ERR_SHAPE, "-1");
    EXPECT_FAIL(gm_reshape(ctx, x, 5, (int64_t[]){1, 1, 1, 2, 3}), GM_ERR_SHAPE, "reshape");
    EXPECT_FAIL(gm_transpose(ctx, x, 0, 2), GM_ERR_ARG, "transpose");
    EXPECT_FAIL(gm_permute(ctx, x, (const int[]){0, 0}), GM_ERR_ARG, "permutation");
    EXPECT_FAIL(gm_permute(ctx, x, (const int[]){0, 2}), GM_ERR_ARG, "permute");
    EXPECT_FAIL(gm_slice(ctx, x, 1, 1, 4), GM_ERR_ARG, "out of range");
    EXPECT_FAIL(gm_slice(ctx, x, 1, 2, 1), GM_ERR_ARG, "slice");
    EXPECT_FAIL(gm_slice(ctx, x, 0, -3, 1), GM_ERR_ARG, "slice");
    EXPECT_FAIL(gm_slice(ctx, x, 2, 0, 1), GM_ERR_ARG, "axis");
    EXPECT_FAIL(gm_concat(ctx, 2, ((gm_tensor *[]){x, gm_zeros(ctx, 2, (int64_t[]){3, 3})}), 1), GM_ERR_SHAPE, "concat");
    EXPECT_FAIL(gm_concat(ctx, 2, ((gm_tensor *[]){x, gm_zeros(ctx, 1, (int64_t[]){3})}), 0), GM_ERR_SHAPE, "input 1");
    EXPECT_FAIL(gm_concat(ctx, 0, ((gm_tensor *[]){x}), 0), GM_ERR_ARG, "at least one");
    EXPECT_FAIL(gm_concat(ctx, 2, ((gm_tensor *[]){x, NULL}), 0), GM_ERR_ARG, "NULL");
    EXPECT_FAIL(gm_index_select(ctx, x, 1, (const int64_t[]){0, 3}, 2), GM_ERR_ARG, "index 3");
    EXPECT_FAIL(gm_index_select(ctx, x, 0, (const int64_t[]){-1}, 1), GM_ERR_ARG, "index -1");
    EXPECT_FAIL(gm_gather(ctx, x, 1, (const int64_t[]){0, 1, 3, 0}, (const int64_t[]){2, 2}), GM_ERR_ARG, "index 3");
    EXPECT_FAIL(gm_gather(ctx, x, 1, (const int64_t[]){0, 0, 0, 0, 0, 0}, (const int64_t[]){3, 2}), GM_ERR_SHAPE, "gather");
    EXPECT_FAIL(gm_embedding(ctx, x, (const int64_t[]){1, 2}, 2), GM_ERR_ARG, "id 2");
    EXPECT_FAIL(gm_embedding(ctx, x, (const int64_t[]){1, 2}, 2), GM_ERR_ARG, "vocab size 2");
    EXPECT_FAIL(gm_embedding(ctx, gm_zeros(ctx, 1, (int64_t[]){4}), (const int64_t[]){0}, 1), GM_ERR_SHAPE, "(V, D)");
    EXPECT_FAIL(gm_contiguous(ctx, NULL), GM_ERR_ARG, "NULL");
    gm_ctx_free(ctx);
}

int main(void) {
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_shape.safetensors");
    test_views();
    test_big();
    test_bad_input();
    TEST_MAIN_END();
}
