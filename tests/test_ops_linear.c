/*
 * test_ops_linear.c — the masked linear layer's row-prefix block path
 * (src/ops/linear_blocks.c) against a double-precision reference computed
 * here: forward, dX, dW (masked) and bias gradient, on both backends, for
 * staircase masks (sorted, unsorted, empty rows, block and chunk edges not
 * multiples of 64), a strided input, a dense random mask (the dense path) and
 * an all-zero mask; the same numbers at 1 and 2 threads. The op's PyTorch
 * golden and finite-difference checks are harness cases in test_ops_unary.c.
 */
#include "testutil.h"
#include "genmod/ops.h"
#include "genmod/system.h"
#include <stdlib.h>
#include <string.h>

static float frand(unsigned *s) { *s = *s * 1664525u + 1013904223u; return (float)((*s >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f; }

enum { M_STAIR, M_STAIR_BUMPY, M_UNSORTED, M_RANDOM, M_ZERO };

/* mask (out, in) of the given kind */
static void make_mask(float *m, int64_t out, int64_t in, int kind, unsigned seed) {
    for (int64_t o = 0; o < out; o++) {
        int64_t len = 0;
        if (kind == M_STAIR) len = (o * in) / out;                                   /* row 0 empty */
        if (kind == M_STAIR_BUMPY) len = (o * in) / out + (o % 7 == 3 ? in / 5 : 0);
        if (kind == M_UNSORTED) { unsigned s = seed + (unsigned)o * 7919u; len = (int64_t)((frand(&s) + 1.0f) * 0.5f * (float)in); }
        if (len > in) len = in;
        for (int64_t c = 0; c < in; c++) {
            unsigned s = seed + (unsigned)(o * in + c);
            float u = frand(&s);
            m[o * in + c] = kind == M_RANDOM ? (u > 0.0f) : (c < len && (kind != M_UNSORTED || u > -0.6f));
        }
    }
}

typedef struct { int64_t rows, in, out; int kind, strided, by_len; } lcase; /* by_len: mask NULL + row lengths */

/* Runs one case on ctx; y, gx, gw, gb written to res (caller frees). */
static int run_case(const lcase *c, gm_backend be, float **res) {
    gm_ctx *ctx = gm_ctx_new(0);
    gm_set_backend(ctx, be);
    unsigned s = 1234u + (unsigned)c->kind;
    gm_tensor *x = c->strided ? gm_new2(ctx, c->in, c->rows) : gm_new2(ctx, c->rows, c->in);
    gm_tensor *w = gm_new2(ctx, c->out, c->in), *b = gm_new1(ctx, c->out), *r = gm_new2(ctx, c->rows, c->out);
    for (int64_t i = 0; i < x->numel; i++) x->data[i] = frand(&s);
    for (int64_t i = 0; i < w->numel; i++) w->data[i] = frand(&s);
    for (int64_t i = 0; i < b->numel; i++) b->data[i] = frand(&s);
    for (int64_t i = 0; i < r->numel; i++) r->data[i] = frand(&s);
    float *mask = malloc(sizeof(float) * (size_t)(c->out * c->in));
    make_mask(mask, c->out, c->in, c->kind, 77u);
    gm_requires_grad(x); gm_requires_grad(w); gm_requires_grad(b);
    gm_tensor *xin = c->strided ? gm_transpose(ctx, x, 0, 1) : x;
    int32_t *len = malloc(sizeof(int32_t) * (size_t)c->out);
    gm_mask_row_lengths(mask, c->out, c->in, len);
    gm_tensor *y = c->by_len ? gm_linear_masked_rows(ctx, xin, w, NULL, len, b) : gm_linear_masked(ctx, xin, w, mask, b);
    int ok = y && gm_backward(ctx, gm_sum(ctx, gm_mul(ctx, y, r), GM_ALL_AXES, 0)) == GM_OK;
    CHECK(ok, "case rows %lld in %lld out %lld kind %d: %s", (long long)c->rows, (long long)c->in,
          (long long)c->out, c->kind, gm_ctx_error(ctx));
    if (ok) {
        const float *src[4] = {y->data, x->grad, w->grad, b->grad};
        int64_t n[4] = {y->numel, x->numel, w->numel, b->numel};
        for (int k = 0; k < 4; k++) {
            res[k] = malloc(sizeof(float) * (size_t)n[k]);
            memcpy(res[k], src[k], sizeof(float) * (size_t)n[k]);
        }
        /* double reference, with x read as (rows, in) through its layout */
        int64_t R = c->rows, I = c->in, O = c->out;
#define XV(rr, ii) (c->strided ? x->data[(ii) * R + (rr)] : x->data[(rr) * I + (ii)])
        float *ry = malloc(sizeof(float) * (size_t)(R * O)), *rgx = calloc((size_t)(R * I), sizeof(float));
        float *rgw = malloc(sizeof(float) * (size_t)(O * I)), *rgb = malloc(sizeof(float) * (size_t)O);
        for (int64_t rr = 0; rr < R; rr++)
            for (int64_t o = 0; o < O; o++) {
                double acc = b->data[o];
                for (int64_t i = 0; i < I; i++) acc += (double)XV(rr, i) * w->data[o * I + i] * mask[o * I + i];
                ry[rr * O + o] = (float)acc;
            }
        for (int64_t i = 0; i < I; i++)
            for (int64_t rr = 0; rr < R; rr++) {
                double acc = 0;
                for (int64_t o = 0; o < O; o++) acc += (double)r->data[rr * O + o] * w->data[o * I + i] * mask[o * I + i];
                rgx[c->strided ? i * R + rr : rr * I + i] = (float)acc;
            }
        for (int64_t o = 0; o < O; o++) {
            double gbo = 0;
            for (int64_t rr = 0; rr < R; rr++) gbo += r->data[rr * O + o];
            rgb[o] = (float)gbo;
            for (int64_t i = 0; i < I; i++) {
                double acc = 0;
                for (int64_t rr = 0; rr < R; rr++) acc += (double)r->data[rr * O + o] * XV(rr, i);
                rgw[o * I + i] = (float)(acc * mask[o * I + i]);
            }
        }
#undef XV
        char what[96];
        const float *want[4] = {ry, rgx, rgw, rgb};
        static const char *names[4] = {"y", "grad x", "grad w", "grad bias"};
        for (int k = 0; k < 4; k++) {
            snprintf(what, sizeof what, "%s, %s, rows %lld in %lld out %lld mask kind %d%s%s", names[k],
                     be == GM_BACKEND_FAST ? "fast" : "ref", (long long)R, (long long)I, (long long)O, c->kind,
                     c->strided ? " strided" : "", c->by_len ? " by row length" : "");
            CHECK_ARRAYS(what, res[k], want[k], n[k], 1e-6 * (double)(I > R ? I : R) + 1e-5, 1e-4);
        }
        free(ry); free(rgx); free(rgw); free(rgb);
    }
    free(mask);
    free(len);
    gm_ctx_free(ctx);
    return ok;
}

int main(void) {
    static const lcase cs[] = {
        {5, 70, 80, M_STAIR, 0, 0},     {100, 784, 500, M_STAIR, 0, 0}, {100, 500, 784, M_STAIR, 0, 0},
        {33, 300, 200, M_STAIR_BUMPY, 0, 0}, {7, 129, 65, M_STAIR, 1, 0}, {9, 200, 150, M_UNSORTED, 0, 0},
        {4, 64, 64, M_STAIR, 0, 0},     {6, 90, 70, M_RANDOM, 0, 0},    {3, 50, 130, M_ZERO, 0, 0},
        {1, 1, 1, M_ZERO, 0, 0},        {2, 1, 3, M_STAIR, 0, 0},
        /* mask NULL, the staircase given by its row lengths: sorted (read from w, ragged edges copied) ... */
        {100, 784, 500, M_STAIR, 0, 1}, {100, 500, 784, M_STAIR, 0, 1}, {7, 129, 65, M_STAIR, 1, 1},
        {5, 70, 80, M_STAIR, 0, 1},  {3, 64, 200, M_STAIR, 0, 1}, {3, 50, 130, M_ZERO, 0, 1},
        /* ... and unsorted (the masked copy) */
        {33, 300, 200, M_STAIR_BUMPY, 0, 1},
    };
    int ncase = (int)(sizeof cs / sizeof cs[0]);
    for (int k = 0; k < ncase; k++)
        for (int be = 0; be < 2; be++) {
            if (be == 1 && cs[k].rows * cs[k].in * cs[k].out > 2000000) continue; /* the reference backend's triple loop */
            float *res[4] = {0};
            run_case(&cs[k], be ? GM_BACKEND_REF : GM_BACKEND_FAST, res);
            for (int i = 0; i < 4; i++) free(res[i]);
        }
    /* gm_linear_masked_rows with the lengths given == gm_linear_masked scanning for them; bad lengths */
    {
        gm_ctx *ctx = gm_ctx_new(0);
        unsigned s = 99u;
        int64_t R = 7, I = 150, O = 130;
        gm_tensor *x = gm_new2(ctx, R, I), *w = gm_new2(ctx, O, I);
        for (int64_t i = 0; i < x->numel; i++) x->data[i] = frand(&s);
        for (int64_t i = 0; i < w->numel; i++) w->data[i] = frand(&s);
        float *mask = malloc(sizeof(float) * (size_t)(O * I));
        int32_t *len = malloc(sizeof(int32_t) * (size_t)O);
        make_mask(mask, O, I, M_STAIR_BUMPY, 5u);
        gm_mask_row_lengths(mask, O, I, len);
        CHECK(len[0] == 0 && len[1] == I / O + 0 && len[3] == (3 * I) / O + I / 5, "row lengths %d %d %d", len[0], len[1], len[3]);
        gm_tensor *a = gm_linear_masked(ctx, x, w, mask, NULL), *b = gm_linear_masked_rows(ctx, x, w, mask, len, NULL);
        CHECK(a && b && memcmp(a->data, b->data, sizeof(float) * (size_t)(R * O)) == 0, "rows variant differs: %s",
              gm_ctx_error(ctx));
        /* mask NULL: the staircase of len; same numbers (forward and gradients) as that mask written out */
        float *stair = malloc(sizeof(float) * (size_t)(O * I));
        for (int64_t o = 0; o < O; o++)
            for (int64_t c = 0; c < I; c++) stair[o * I + c] = c < len[o] ? 1.0f : 0.0f;
        gm_tensor *gx[2], *gw[2], *ys[2];
        for (int k = 0; k < 2; k++) {
            gx[k] = gm_new2(ctx, R, I); gw[k] = gm_new2(ctx, O, I);
            memcpy(gx[k]->data, x->data, sizeof(float) * (size_t)(R * I));
            memcpy(gw[k]->data, w->data, sizeof(float) * (size_t)(O * I));
            gm_requires_grad(gx[k]); gm_requires_grad(gw[k]);
            ys[k] = k ? gm_linear_masked_rows(ctx, gx[k], gw[k], NULL, len, NULL) : gm_linear_masked(ctx, gx[k], gw[k], stair, NULL);
            CHECK(ys[k] && gm_backward(ctx, gm_sum(ctx, gm_mul(ctx, ys[k], ys[k]), GM_ALL_AXES, 0)) == GM_OK,
                  "staircase run %d: %s", k, gm_ctx_error(ctx));
        }
        if (ys[0] && ys[1]) { /* the written-out mask may take the dense path (this one saves < 20 %): rounding only */
            CHECK_ARRAYS("NULL-mask staircase: y", ys[1]->data, ys[0]->data, R * O, 1e-5, 1e-5);
            CHECK_ARRAYS("NULL-mask staircase: grad x", gx[1]->grad, gx[0]->grad, R * I, 1e-5, 1e-5);
            CHECK_ARRAYS("NULL-mask staircase: grad w", gw[1]->grad, gw[0]->grad, O * I, 1e-5, 1e-5);
        }
        free(stair);
        CHECK(gm_linear_masked_rows(ctx, x, w, NULL, NULL, NULL) == NULL && strstr(gm_ctx_error(ctx), "NULL mask"),
              "NULL mask and NULL row_len accepted: %s", gm_ctx_error(ctx));
        gm_ctx_free(ctx);
        ctx = gm_ctx_new(0);
        x = gm_new2(ctx, R, I); w = gm_new2(ctx, O, I);
        len[5] = (int32_t)I + 1;
        CHECK(gm_linear_masked_rows(ctx, x, w, mask, len, NULL) == NULL && strstr(gm_ctx_error(ctx), "row_len[5]"),
              "row_len out of range accepted: %s", gm_ctx_error(ctx));
        free(mask);
        free(len);
        gm_ctx_free(ctx);
    }
    /* the same numbers at 1 and 2 threads (each block is one GEMM on one thread) */
    int saved = gm_get_threads();
    static const int tcase[] = {1, 2, 3, 11, 12};
    for (int t_i = 0; t_i < 5; t_i++) {
        int k = tcase[t_i];
        float *res[2][4] = {{0}};
        for (int t = 0; t < 2; t++) { gm_set_threads(t + 1); run_case(&cs[k], GM_BACKEND_FAST, res[t]); }
        int64_t n[4] = {cs[k].rows * cs[k].out, cs[k].rows * cs[k].in, cs[k].out * cs[k].in, cs[k].out};
        for (int i = 0; i < 4; i++) {
            if (res[0][i] && res[1][i])
                CHECK(memcmp(res[0][i], res[1][i], sizeof(float) * (size_t)n[i]) == 0,
                      "case %d result %d differs between 1 and 2 threads", k, i);
            free(res[0][i]);
            free(res[1][i]);
        }
    }
    gm_set_threads(saved);
    TEST_MAIN_END();
}
