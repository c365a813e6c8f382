/*
 * test_ops_conv.c — src/ops/conv.c and src/ops/pool.c: harness cases (PyTorch
 * golden values from tests/golden/gen_ops_conv.py, fast vs reference backend,
 * finite-difference gradients), plus: adjointness of conv2d / conv_transpose2d,
 * strided (non-contiguous) inputs, a larger multi-chunk im2col case fast vs
 * ref, pooling edge semantics (ties, -inf padding, count_include_pad) and bad input.
 */
#include "opcheck.h"
#include "testutil.h"
#include "genmod/system.h"
#include <stdlib.h>
#include <string.h>

#define IN(nd, ...) {nd, {__VA_ARGS__}, GM_DOM_ANY, 1}
#define CP(sh, sw, ph, pw, dh, dw, oh, ow) {sh, sw, ph, pw, dh, dw, oh, ow}

typedef struct { int k, s, p; } pool_arg;

static gm_tensor *b_conv(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_conv2d(c, x[0], x[1], x[2], *(const gm_conv_params *)a);
}
static gm_tensor *b_conv_nobias(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_conv2d(c, x[0], x[1], NULL, *(const gm_conv_params *)a);
}
static gm_tensor *b_convt(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_conv_transpose2d(c, x[0], x[1], x[2], *(const gm_conv_params *)a);
}
static gm_tensor *b_convt_nobias(gm_ctx *c, gm_tensor **x, const void *a) {
    return gm_conv_transpose2d(c, x[0], x[1], NULL, *(const gm_conv_params *)a);
}
typedef struct { gm_conv_params p; int relu, bias, res; } fused_arg;
/* inputs: x, w, then bias if f->bias, then res if f->res */
static gm_tensor *b_fused(gm_ctx *c, gm_tensor **x, const void *a) {
    const fused_arg *f = a;
    return gm_conv2d_fused(c, x[0], x[1], f->bias ? x[2] : NULL, f->res ? x[2 + f->bias] : NULL, f->p, f->relu);
}
static gm_tensor *b_avg(gm_ctx *c, gm_tensor **x, const void *a) {
    const pool_arg *p = a;
    return gm_avg_pool2d(c, x[0], p->k, p->s, p->p);
}
static gm_tensor *b_max(gm_ctx *c, gm_tensor **x, const void *a) {
    const pool_arg *p = a;
    return gm_max_pool2d(c, x[0], p->k, p->s, p->p);
}

static const gm_conv_params p_plain = CP(1, 1, 0, 0, 1, 1, 0, 0);
static const gm_conv_params p_s2 = CP(2, 2, 0, 0, 1, 1, 0, 0);
static const gm_conv_params p_pad1 = CP(1, 1, 1, 1, 1, 1, 0, 0);
static const gm_conv_params p_dil2 = CP(1, 1, 0, 0, 2, 2, 0, 0);
static const gm_conv_params p_s2p1 = CP(2, 2, 1, 1, 1, 1, 0, 0);
static const gm_conv_params p_nonsq = CP(1, 2, 0, 1, 2, 1, 0, 0);
static const gm_conv_params p_t_s2p1op1 = CP(2, 2, 1, 1, 1, 1, 1, 1);
static const gm_conv_params p_t_nonsq = CP(2, 1, 0, 1, 1, 2, 1, 0);
static const gm_conv_params p_t_opdil = CP(1, 1, 0, 0, 2, 2, 1, 1);
static const pool_arg k2s2 = {2, 2, 0}, k3s1p1 = {3, 1, 1}, k3s2p1 = {3, 2, 1};
/* fused: direct path (stride 1) with ReLU and residual; im2col path (stride 2); residual only */
static const fused_arg f_relu_res = {CP(1, 1, 1, 1, 1, 1, 0, 0), 1, 1, 1};
static const fused_arg f_relu_s2 = {CP(2, 2, 1, 1, 1, 1, 0, 0), 1, 1, 1};
static const fused_arg f_res_nobias = {CP(1, 1, 1, 1, 1, 1, 0, 0), 0, 0, 1};
#define INA(nd, ...) {nd, {__VA_ARGS__}, GM_DOM_AWAY0, 1}

#define MAXPOOL_EPS 2.5e-4 /* the generator checks every window's top-2 gap exceeds 4x this step */

static const gm_opcase cases[] = {
    {"conv_plain", 3, {IN(4, 2, 3, 5, 5), IN(4, 4, 3, 3, 3), IN(1, 4)}, b_conv, &p_plain, 0, 0, 0, 0, 0},
    {"conv_stride2", 3, {IN(4, 2, 3, 7, 7), IN(4, 4, 3, 3, 3), IN(1, 4)}, b_conv, &p_s2, 0, 0, 0, 0, 0},
    {"conv_pad1", 3, {IN(4, 2, 3, 5, 5), IN(4, 4, 3, 3, 3), IN(1, 4)}, b_conv, &p_pad1, 0, 0, 0, 0, 0},
    {"conv_dil2", 3, {IN(4, 2, 3, 7, 7), IN(4, 4, 3, 3, 3), IN(1, 4)}, b_conv, &p_dil2, 0, 0, 0, 0, 0},
    {"conv_nobias", 2, {IN(4, 2, 3, 6, 6), IN(4, 4, 3, 3, 3)}, b_conv_nobias, &p_s2p1, 0, 0, 0, 0, 0},
    {"conv_nonsquare", 3, {IN(4, 2, 3, 7, 6), IN(4, 4, 3, 3, 2), IN(1, 4)}, b_conv, &p_nonsq, 0, 0, 0, 0, 0},
    {"conv_1x1", 3, {IN(4, 2, 3, 4, 4), IN(4, 4, 3, 1, 1), IN(1, 4)}, b_conv, &p_plain, 0, 0, 0, 0, 0},
    {"convt_plain", 3, {IN(4, 2, 3, 4, 4), IN(4, 3, 4, 3, 3), IN(1, 4)}, b_convt, &p_plain, 0, 0, 0, 0, 0},
    {"convt_s2p1op1", 3, {IN(4, 2, 3, 4, 4), IN(4, 3, 4, 3, 3), IN(1, 4)}, b_convt, &p_t_s2p1op1, 0, 0, 0, 0, 0},
    {"convt_dil2", 3, {IN(4, 2, 3, 4, 4), IN(4, 3, 4, 3, 3), IN(1, 4)}, b_convt, &p_dil2, 0, 0, 0, 0, 0},
    {"convt_nonsquare", 2, {IN(4, 2, 3, 3, 4), IN(4, 3, 2, 2, 3)}, b_convt_nobias, &p_t_nonsq, 0, 0, 0, 0, 0},
    {"convt_outpad_dil", 3, {IN(4, 1, 2, 4, 4), IN(4, 2, 3, 3, 3), IN(1, 3)}, b_convt, &p_t_opdil, 0, 0, 0, 0, 0},
    {"avg_k2s2", 1, {IN(4, 2, 3, 6, 6)}, b_avg, &k2s2, 0, 0, 0, 0, 0},
    {"avg_k3s1p1", 1, {IN(4, 2, 3, 5, 5)}, b_avg, &k3s1p1, 0, 0, 0, 0, 0},
    {"avg_k3s2p1", 1, {IN(4, 2, 3, 7, 7)}, b_avg, &k3s2p1, 0, 0, 0, 0, 0},
    {"max_k2s2", 1, {IN(4, 2, 3, 6, 6)}, b_max, &k2s2, MAXPOOL_EPS, 0, 0, 0, 0},
    {"max_k3s1p1", 1, {IN(4, 2, 3, 5, 5)}, b_max, &k3s1p1, MAXPOOL_EPS, 0, 0, 0, 0},
    {"max_k3s2p1", 1, {IN(4, 2, 3, 7, 7)}, b_max, &k3s2p1, MAXPOOL_EPS, 0, 0, 0, 0},
    {"fused_relu_res", 4, {INA(4, 2, 3, 5, 5), IN(4, 4, 3, 3, 3), IN(1, 4), IN(4, 2, 4, 5, 5)}, b_fused, &f_relu_res, 0, 0, 0, 0, 0},
    {"fused_relu_s2", 4, {INA(4, 2, 3, 6, 6), IN(4, 4, 3, 3, 3), IN(1, 4), IN(4, 2, 4, 3, 3)}, b_fused, &f_relu_s2, 0, 0, 0, 0, 0},
    {"fused_res_nobias", 3, {IN(4, 2, 3, 5, 5), IN(4, 4, 3, 3, 3), IN(4, 2, 4, 5, 5)}, b_fused, &f_res_nobias, 0, 0, 0, 0, 0},
};

/* Deterministic pseudo-random fill in [-1, 1). */
static void fill(float *p, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

static gm_tensor *rand4(gm_ctx *ctx, int64_t a, int64_t b, int64_t c, int64_t d, uint32_t seed) {
    gm_tensor *t = gm_new4(ctx, a, b, c, d);
    if (t) fill(t->data, t->numel, seed);
    return t;
}

static double dot(const gm_tensor *a, const gm_tensor *b) {
    double s = 0.0;
    for (int64_t i = 0; i < a->numel; i++) s += (double)a->data[i] * (double)b->data[i];
    return s;
}

/* <conv2d(x), z> == <x, conv_transpose2d(z)> with the same weight, both backends;
 * the transposed conv's output padding is chosen to restore x's size. */
static void test_adjoint(void) {
    static const gm_conv_params ps[] = {CP(1, 1, 0, 0, 1, 1, 0, 0), CP(2, 2, 1, 1, 1, 1, 0, 0), CP(2, 3, 2, 0, 2, 1, 0, 0),
                                        CP(3, 1, 1, 2, 1, 3, 0, 0)};
    const int64_t H = 9, W = 8, kh = 3, kw = 2;
    for (int be = 0; be < 2; be++)
        for (int k = 0; k < (int)(sizeof ps / sizeof ps[0]); k++) {
            gm_ctx *ctx = gm_ctx_new(0);
            gm_set_backend(ctx, be ? GM_BACKEND_REF : GM_BACKEND_FAST);
            gm_conv_params pt = ps[k];
            pt.out_pad_h = (int)((H + 2 * pt.pad_h - pt.dil_h * (kh - 1) - 1) % pt.stride_h);
            pt.out_pad_w = (int)((W + 2 * pt.pad_w - pt.dil_w * (kw - 1) - 1) % pt.stride_w);
            gm_tensor *x = rand4(ctx, 3, 5, H, W, 1), *w = rand4(ctx, 6, 5, kh, kw, 2);
            gm_tensor *y = gm_conv2d(ctx, x, w, NULL, ps[k]);
            CHECK(y != NULL, "adjoint case %d: conv2d failed: %s", k, gm_ctx_error(ctx));
            if (!y) { gm_ctx_free(ctx); continue; }
            gm_tensor *z = rand4(ctx, y->shape[0], y->shape[1], y->shape[2], y->shape[3], 3);
            gm_tensor *xt = gm_conv_transpose2d(ctx, z, w, NULL, pt);
            CHECK(xt != NULL && gm_same_shape(xt, x), "adjoint case %d: conv_transpose2d shape: %s", k, gm_ctx_error(ctx));
            if (xt && gm_same_shape(xt, x)) {
                double a = dot(y, z), b = dot(x, xt);
                CHECK_CLOSE(a, b, 1e-4, 1e-5, be ? "adjoint <conv x, z> = <x, convT z> (ref)" : "adjoint <conv x, z> = <x, convT z> (fast)");
            }
            gm_ctx_free(ctx);
        }
}

/* Runs conv2d (kind 0), conv_transpose2d (1) or conv2d_fused with ReLU and a
 * residual (2, stride 1 only) with x of shape xs and w of shape ws on both
 * backends; compares output and all gradients (atol atol, rtol 1e-4). */
static void compare_backends(const char *label, int kind, const int64_t xs[4], const int64_t ws[4],
                             gm_conv_params p, double atol) {
    int transposed = kind == 1;
    float *res[2][5] = {{0}};
    int64_t nres[5] = {0};
    int nt = kind == 2 ? 5 : 4;
    for (int be = 0; be < 2; be++) {
        gm_ctx *ctx = gm_ctx_new(0);
        gm_set_backend(ctx, be ? GM_BACKEND_REF : GM_BACKEND_FAST);
        gm_tensor *x = gm_tensor_new(ctx, 4, xs), *w = gm_tensor_new(ctx, 4, ws);
        gm_tensor *bias = gm_new1(ctx, ws[transposed ? 1 : 0]);
        fill(x->data, x->numel, 11);
        fill(w->data, w->numel, 12);
        fill(bias->data, bias->numel, 13);
        gm_requires_grad(x); gm_requires_grad(w); gm_requires_grad(bias);
        gm_tensor *r = NULL, *y;
        if (kind == 2) {
            int64_t rs[4] = {xs[0], ws[0], xs[2] + 2 * p.pad_h - ws[2] + 1, xs[3] + 2 * p.pad_w - ws[3] + 1};
            r = gm_tensor_new(ctx, 4, rs);
            fill(r->data, r->numel, 15);
            gm_requires_grad(r);
            y = gm_conv2d_fused(ctx, x, w, bias, r, p, 1);
        } else {
            y = transposed ? gm_conv_transpose2d(ctx, x, w, bias, p) : gm_conv2d(ctx, x, w, bias, p);
        }
        CHECK(y != NULL, "%s: %s", label, gm_ctx_error(ctx));
        if (!y) { gm_ctx_free(ctx); break; }
        float *seed = malloc(sizeof(float) * (size_t)y->numel);
        fill(seed, y->numel, 14);
        CHECK(gm_backward_with(ctx, y, seed) == GM_OK, "%s backward: %s", label, gm_ctx_error(ctx));
        free(seed);
        const gm_tensor *ts[5] = {y, x, w, bias, r};
        for (int k = 0; k < nt; k++) {
            const float *src = k == 0 ? ts[k]->data : ts[k]->grad;
            nres[k] = ts[k]->numel;
            res[be][k] = malloc(sizeof(float) * (size_t)nres[k]);
            memcpy(res[be][k], src, sizeof(float) * (size_t)nres[k]);
        }
        gm_ctx_free(ctx);
    }
    static const char *what[5] = {"output", "grad x", "grad w", "grad bias", "grad residual"};
    for (int k = 0; k < nt; k++) {
        char name[160];
        snprintf(name, sizeof name, "%s: %s", label, what[k]);
        if (res[0][k] && res[1][k]) CHECK_ARRAYS(name, res[0][k], res[1][k], nres[k], atol, 1e-4);
        free(res[0][k]);
        free(res[1][k]);
    }
}

/* A size that needs several im2col chunks and threads (conv2d goes to the
 * direct kernels, the strided convT to im2col):
 * conv2d: x (15,32,24,24), w (8,32,3,3) -> (15,8,24,24); convT: x (15,8,24,24),
 * w (8,32,3,3), stride 2 -> (15,32,48,48). Either way the col buffer would hold
 * 288*576 floats per image: 12 images per chunk, so two chunks (12 + 3). */
static void big_case(int transposed) {
    const int64_t B = 15, C = 32, H = 24, O = 8;
    gm_conv_params p = transposed ? (gm_conv_params)CP(2, 2, 1, 1, 1, 1, 1, 1) : (gm_conv_params)CP(1, 1, 1, 1, 1, 1, 0, 0);
    int64_t xs[4] = {B, transposed ? O : C, H, H};
    int64_t ws[4] = {O, C, 3, 3};
    /* sums of up to ~B*H*W = 8640 terms of O(1): fast (float) vs ref (double) */
    compare_backends(transposed ? "big convT" : "big conv2d", transposed, xs, ws, p, 1e-3);
}

/* The direct stride-1 kernels (conv_direct.c) against the reference over the
 * shapes their tiling has to get right: output channels 1..5 and 16 (full and
 * partial 4-channel tiles), position counts that end on 8, 16 or 24, kernels
 * 1x1 to 5x5 incl. non-square, every padding 0..k-1, one image and several,
 * conv2d, conv_transpose2d and conv2d_fused (ReLU + residual); plus the
 * realnvp conditioner sizes. The same shapes then go through im2col + GEMM
 * (GENMOD_CONV_IM2COL=1), which FAST no longer uses for them by default. The
 * fill has values near 0 where the fused ReLU kinks, identical on both
 * backends, so outputs and gradients still agree. */
static void test_direct_sweep(void) {
    static const struct { int64_t B, C, S, H, W, kh, kw, ph, pw; } cs[] = {
        {1, 1, 1, 1, 1, 1, 1, 0, 0},   {2, 3, 2, 5, 7, 3, 3, 1, 1},  {3, 2, 5, 6, 4, 3, 3, 0, 2},
        {1, 4, 3, 9, 9, 3, 3, 2, 0},   {2, 5, 4, 7, 7, 1, 1, 0, 0},  {2, 3, 16, 8, 11, 2, 3, 1, 2},
        {1, 6, 1, 10, 9, 5, 5, 4, 4},  {2, 2, 6, 4, 13, 1, 4, 0, 3}, {3, 16, 16, 14, 14, 3, 3, 1, 1},
        {2, 1, 16, 28, 28, 3, 3, 1, 1}, {2, 16, 2, 28, 28, 3, 3, 1, 1}, {4, 16, 8, 7, 7, 3, 3, 1, 1},
    };
    static const char *kinds[3] = {"conv2d", "convT", "fused"};
    for (int path = 0; path < 2; path++) /* the direct kernels, then im2col + GEMM on the same shapes */
    for (int k = 0; k < (int)(sizeof cs / sizeof cs[0]); k++)
        for (int tr = 0; tr < 3; tr++) {
            char label[96];
            setenv("GENMOD_CONV_IM2COL", path ? "1" : "0", 1);
            snprintf(label, sizeof label, "%s %s case %d", path ? "im2col" : "direct", kinds[tr], k);
            gm_conv_params p = CP(1, 1, (int)cs[k].ph, (int)cs[k].pw, 1, 1, 0, 0);
            int64_t xs[4] = {cs[k].B, tr == 1 ? cs[k].S : cs[k].C, cs[k].H, cs[k].W};
            int64_t ws[4] = {cs[k].S, cs[k].C, cs[k].kh, cs[k].kw};  /* convT: x has S channels, output C */
            compare_backends(label, tr, xs, ws, p, 1e-3);
        }
    unsetenv("GENMOD_CONV_IM2COL");
}

/* The direct kernels give bit-identical outputs and gradients with 1 and 2
 * threads (images are independent; weight-gradient partials are kept per fixed
 * group of images, not per thread). A realnvp-sized fused layer, B = 13. */
static void test_direct_thread_count(void) {
    int saved = gm_get_threads();
    float *res[2][5] = {{0}};
    int64_t nres[5] = {0};
    for (int run = 0; run < 2; run++) {
        gm_set_threads(run + 1);
        gm_ctx *ctx = gm_ctx_new(0);
        gm_tensor *x = rand4(ctx, 13, 16, 14, 14, 21), *w = rand4(ctx, 16, 16, 3, 3, 22);
        gm_tensor *r = rand4(ctx, 13, 16, 14, 14, 23), *b = gm_new1(ctx, 16);
        fill(b->data, 16, 24);
        gm_requires_grad(x); gm_requires_grad(w); gm_requires_grad(r); gm_requires_grad(b);
        gm_tensor *y = gm_conv2d_fused(ctx, x, w, b, r, (gm_conv_params)CP(1, 1, 1, 1, 1, 1, 0, 0), 1);
        CHECK(y && gm_backward(ctx, gm_sum(ctx, gm_mul(ctx, y, y), GM_ALL_AXES, 0)) == GM_OK, "thread count case: %s",
              gm_ctx_error(ctx));
        const gm_tensor *ts[5] = {y, x, w, b, r};
        for (int k = 0; y && k < 5; k++) {
            nres[k] = ts[k]->numel;
            res[run][k] = malloc(sizeof(float) * (size_t)nres[k]);
            memcpy(res[run][k], k ? ts[k]->grad : ts[k]->data, sizeof(float) * (size_t)nres[k]);
        }
        gm_ctx_free(ctx);
    }
    static const char *what[5] = {"output", "grad x", "grad w", "grad bias", "grad residual"};
    for (int k = 0; k < 5; k++) {
        if (res[0][k] && res[1][k])
            CHECK(memcmp(res[0][k], res[1][k], sizeof(float) * (size_t)nres[k]) == 0,
                  "direct conv %s differs between 1 and 2 threads", what[k]);
        free(res[0][k]);
        free(res[1][k]);
    }
    gm_set_threads(saved);
}

/* Strided (transposed-view) inputs give the same results as contiguous copies. */
static void test_strided(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_tensor *xc = rand4(ctx, 2, 3, 6, 5, 21), *wc = rand4(ctx, 4, 3, 2, 3, 22);
    gm_tensor *xt = gm_transpose(ctx, gm_contiguous(ctx, gm_transpose(ctx, xc, 2, 3)), 2, 3);  // same values, strided
    gm_tensor *wt = gm_transpose(ctx, gm_contiguous(ctx, gm_transpose(ctx, wc, 0, 1)), 0, 1);
    CHECK(xt && wt && !gm_is_contiguous(xt) && !gm_is_contiguous(wt), "strided views: %s", gm_ctx_error(ctx));
    gm_tensor *a = gm_conv2d(ctx, xc, wc, NULL, (gm_conv_params)CP(1, 2, 1, 0, 1, 1, 0, 0));
    gm_tensor *b = gm_conv2d(ctx, xt, wt, NULL, (gm_conv_params)CP(1, 2, 1, 0, 1, 1, 0, 0));
    CHECK(a && b && gm_same_shape(a, b), "strided conv2d: %s", gm_ctx_error(ctx));
    if (a && b) CHECK_ARRAYS("conv2d strided vs contiguous", b->data, a->data, a->numel, 0, 0);
    gm_tensor *pa = gm_max_pool2d(ctx, xc, 3, 1, 1), *pb = gm_max_pool2d(ctx, xt, 3, 1, 1);
    gm_tensor *qa = gm_avg_pool2d(ctx, xc, 2, 2, 1), *qb = gm_avg_pool2d(ctx, xt, 2, 2, 1);
    CHECK(pa && pb && qa && qb, "strided pools: %s", gm_ctx_error(ctx));
    if (pa && pb) CHECK_ARRAYS("max_pool2d strided vs contiguous", pb->data, pa->data, pa->numel, 0, 0);
    if (qa && qb) CHECK_ARRAYS("avg_pool2d strided vs contiguous", qb->data, qa->data, qa->numel, 0, 0);
    gm_ctx_free(ctx);
}

/* Ties go to the first element in scan order; padding is -inf for max and counted for avg. */
static void test_pool_semantics(void) {
    for (int be = 0; be < 2; be++) {
        gm_ctx *ctx = gm_ctx_new(0);
        gm_set_backend(ctx, be ? GM_BACKEND_REF : GM_BACKEND_FAST);
        const char *bn = be ? "ref" : "fast";
        gm_tensor *x = gm_new4(ctx, 1, 1, 4, 4);
        gm_fill(x, 1.0f);
        gm_requires_grad(x);
        gm_tensor *y = gm_max_pool2d(ctx, x, 2, 2, 0);
        CHECK(y && gm_backward_with(ctx, y, (const float[]){1, 2, 3, 4}) == GM_OK, "max tie: %s", gm_ctx_error(ctx));
        const float want_tie[16] = {1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
        if (y) CHECK_ARRAYS(bn, x->grad, want_tie, 16, 0, 0);
        /* k3 s1 p1 on a constant plane: every window's first in-bounds element */
        gm_ctx_reset(ctx);
        x = gm_new4(ctx, 1, 1, 3, 3);
        gm_fill(x, -5.0f);
        gm_requires_grad(x);
        y = gm_max_pool2d(ctx, x, 3, 1, 1);
        float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
        CHECK(y && gm_backward_with(ctx, y, ones) == GM_OK, "max pad: %s", gm_ctx_error(ctx));
        const float want_pad[9] = {4, 2, 0, 2, 1, 0, 0, 0, 0};  // windows start at (oh-1, ow-1), clipped
        const float minus5[9] = {-5, -5, -5, -5, -5, -5, -5, -5, -5};
        if (y) {
            CHECK_ARRAYS("max_pool2d pads with -inf (all outputs -5)", y->data, minus5, 9, 0, 0);
            CHECK_ARRAYS("max_pool2d ties with padding: first in-bounds element", x->grad, want_pad, 9, 0, 0);
        }
        /* avg count_include_pad: ones, k3 s1 p1 -> corners 4/9, edges 6/9, centre 1 */
        gm_ctx_reset(ctx);
        x = gm_new4(ctx, 1, 1, 3, 3);
        gm_fill(x, 1.0f);
        y = gm_avg_pool2d(ctx, x, 3, 1, 1);
        const float want_avg[9] = {4 / 9.f, 6 / 9.f, 4 / 9.f, 6 / 9.f, 1, 6 / 9.f, 4 / 9.f, 6 / 9.f, 4 / 9.f};
        CHECK(y != NULL, "avg: %s", gm_ctx_error(ctx));
        if (y) CHECK_ARRAYS("avg_pool2d counts padding", y->data, want_avg, 9, 1e-7, 1e-6);
        gm_ctx_free(ctx);
    }
}

#define EXPECT_FAIL(ctx, expr, st, frag) do { \
    gm_ctx_reset(ctx); \
    gm_tensor *r_ = (expr); \
    CHECK(r_ == NULL && gm_ctx_status(ctx) == (st) && strstr(gm_ctx_error(ctx), (frag)) != NULL, \
          "%s: expected status %d with '%s', got %d '%s'", #expr, (int)(st), (frag), (int)gm_ctx_status(ctx), gm_ctx_error(ctx)); \
} while (0)

static void test_bad_input(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    const gm_conv_params ok = CP(1, 1, 0, 0, 1, 1, 0, 0);
#define X4 gm_new4(ctx, 2, 3, 5, 5)
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 2, 3, 3), NULL, ok), GM_ERR_SHAPE, "(2, 3, 5, 5) has 3 channels");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, gm_new3(ctx, 3, 5, 5), gm_new4(ctx, 4, 3, 3, 3), NULL, ok), GM_ERR_SHAPE, "(B,C,H,W)");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new2(ctx, 4, 27), NULL, ok), GM_ERR_SHAPE, "conv2d");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, gm_new4(ctx, 1, 1, 2, 2), gm_new4(ctx, 1, 1, 3, 3), NULL, ok), GM_ERR_SHAPE, "larger than input");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, (gm_conv_params)CP(1, 1, 0, 0, 3, 1, 0, 0)), GM_ERR_SHAPE, "larger");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), gm_new1(ctx, 3), ok), GM_ERR_SHAPE, "bias");
    /* conv2d_fused: the residual must have the output's shape (2, 4, 3, 3); the rest as conv2d */
    EXPECT_FAIL(ctx, gm_conv2d_fused(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, gm_new4(ctx, 2, 4, 5, 5), ok, 1), GM_ERR_SHAPE,
                "residual (2, 4, 5, 5) must have the output's shape (2, 4, 3, 3)");
    EXPECT_FAIL(ctx, gm_conv2d_fused(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, gm_new3(ctx, 4, 3, 3), ok, 0), GM_ERR_SHAPE,
                "conv2d_fused: residual");
    EXPECT_FAIL(ctx, gm_conv2d_fused(ctx, X4, gm_new4(ctx, 4, 2, 3, 3), NULL, NULL, ok, 1), GM_ERR_SHAPE, "conv2d_fused: input");
    EXPECT_FAIL(ctx, gm_conv2d_fused(ctx, NULL, gm_new4(ctx, 4, 3, 3, 3), NULL, NULL, ok, 1), GM_ERR_ARG, "conv2d_fused");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, (gm_conv_params)CP(0, 1, 0, 0, 1, 1, 0, 0)), GM_ERR_ARG, "stride");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, (gm_conv_params)CP(1, -2, 0, 0, 1, 1, 0, 0)), GM_ERR_ARG, "stride");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, (gm_conv_params)CP(1, 1, 0, 0, 1, 0, 0, 0)), GM_ERR_ARG, "dilation");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, (gm_conv_params)CP(1, 1, -1, 0, 1, 1, 0, 0)), GM_ERR_ARG, "padding");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, (gm_conv_params)CP(2, 2, 0, 0, 1, 1, 1, 0)), GM_ERR_ARG, "output padding");
    EXPECT_FAIL(ctx, gm_conv2d(ctx, NULL, gm_new4(ctx, 4, 3, 3, 3), NULL, ok), GM_ERR_ARG, "conv2d");
    /* transposed: w (C_in, O, kh, kw) */
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, X4, gm_new4(ctx, 4, 3, 3, 3), NULL, ok), GM_ERR_SHAPE, "has 3 channels");
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, X4, gm_new4(ctx, 3, 4, 3, 3), gm_new1(ctx, 3), ok), GM_ERR_SHAPE, "bias");
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, X4, gm_new4(ctx, 3, 4, 3, 3), NULL, (gm_conv_params)CP(2, 2, 0, 0, 1, 1, 2, 0)), GM_ERR_ARG, "output padding");
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, X4, gm_new4(ctx, 3, 4, 3, 3), NULL, (gm_conv_params)CP(1, 1, 0, 0, 1, 1, 1, 0)), GM_ERR_ARG, "output padding");
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, X4, gm_new4(ctx, 3, 4, 3, 3), NULL, (gm_conv_params)CP(2, 2, 0, 0, 1, 1, -1, 0)), GM_ERR_ARG, "output padding");
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, gm_new4(ctx, 1, 1, 1, 1), gm_new4(ctx, 1, 1, 1, 1), NULL, (gm_conv_params)CP(1, 1, 1, 1, 1, 1, 0, 0)),
                GM_ERR_SHAPE, "empty output");
    EXPECT_FAIL(ctx, gm_conv_transpose2d(ctx, X4, gm_new4(ctx, 3, 4, 3, 3), NULL, (gm_conv_params)CP(1, 1, 0, 0, 0, 1, 0, 0)), GM_ERR_ARG, "dilation");
    /* pooling */
    EXPECT_FAIL(ctx, gm_max_pool2d(ctx, X4, 0, 1, 0), GM_ERR_ARG, "kernel");
    EXPECT_FAIL(ctx, gm_avg_pool2d(ctx, X4, 2, 0, 0), GM_ERR_ARG, "stride");
    EXPECT_FAIL(ctx, gm_max_pool2d(ctx, X4, 3, 1, 2), GM_ERR_ARG, "padding");
    EXPECT_FAIL(ctx, gm_avg_pool2d(ctx, X4, 2, 1, -1), GM_ERR_ARG, "padding");
    EXPECT_FAIL(ctx, gm_max_pool2d(ctx, X4, 8, 1, 1), GM_ERR_SHAPE, "larger than input (2, 3, 5, 5)");
    EXPECT_FAIL(ctx, gm_avg_pool2d(ctx, gm_new2(ctx, 5, 5), 2, 2, 0), GM_ERR_SHAPE, "(B,C,H,W)");
    EXPECT_FAIL(ctx, gm_max_pool2d(ctx, NULL, 2, 2, 0), GM_ERR_ARG, "max_pool2d");
#undef X4
    gm_ctx_free(ctx);
}

int main(void) {
    gm_opcheck_run(cases, (int)(sizeof cases / sizeof cases[0]), "tests/golden/ops_conv.safetensors");
    test_adjoint();
    big_case(0);
    big_case(1);
    test_direct_sweep();
    test_direct_thread_count();
    test_strided();
    test_pool_semantics();
    test_bad_input();
    TEST_MAIN_END();
}
