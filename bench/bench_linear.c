/*
 * bench_linear.c — one linear layer, forward + backward, through the genmod
 * op API versus the same three raw cblas_sgemm calls, interleaved in one
 * process (bench/README.md).
 *
 * genmod step: gm_ctx_reset; x = gm_wrap (requires grad); y = gm_linear(x, W, b);
 * gm_backward_with(y, ones): forward GEMM + bias add, dX GEMM (into a zeroed
 * arena buffer), dW GEMM (accumulated into the flat parameter gradient) and the
 * db column sums, plus the seed and gradient-buffer zeroing.
 * raw step: Y = X W^T (NoTrans, Trans, beta 0); dX = G W (NoTrans, NoTrans,
 * beta 0); dW += G^T X (Trans, NoTrans, beta 1): the same transposes and
 * shapes as linear.c, and nothing else.
 * Flops per step: 3 * 2*B*in*out. Also checks once that both compute the same
 * numbers, and records gm_arena_mallocs after warm-up and at the end (the
 * steady-state step must not malloc).
 * Usage: bench_linear [B in out]...   (default: the three shapes of docs/BENCH.md)
 */
#include <math.h>
#include <cblas.h>
#include "genmod/ops.h"
#include "genmod/params.h"
#include "bench_common.h"

typedef struct lin_case {
    int64_t B, in, out;
    gm_ctx *ctx;
    gm_params params;
    gm_tensor *w, *b;   /* views into params */
    float *x;           /* (B, in) input data */
    float *ones;        /* (B, out) seed = dL/dy for L = sum(y) */
    float *ry, *rgx, *rgw; /* raw: (B, out), (B, in), (out, in) */
    int failed;
} lin_case;

static void genmod_step(void *arg) {
    lin_case *c = arg;
    gm_ctx *ctx = c->ctx;
    gm_ctx_reset(ctx);
    int64_t xs[2] = {c->B, c->in};
    gm_tensor *x = gm_wrap(ctx, 2, xs, c->x);
    if (x) gm_requires_grad(x);
    gm_tensor *y = gm_linear(ctx, x, c->w, c->b);
    if (gm_backward_with(ctx, y, c->ones) != GM_OK) c->failed = 1;
}

static void raw_step(void *arg) {
    lin_case *c = arg;
    int B = (int)c->B, in = (int)c->in, out = (int)c->out;
    const float *W = c->params.data + 0; /* W first (out, in) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0f, c->x, in, W, in, 0.0f, c->ry, out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1.0f, c->ones, out, W, in, 0.0f, c->rgx, in);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, c->ones, out, c->x, in, 1.0f, c->rgw, in);
}

static double max_rel_err(const float *a, const float *b, int64_t n) {
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / (1.0 + fabs((double)b[i]));
        if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

static int setup(lin_case *c, int64_t B, int64_t in, int64_t out) {
    memset(c, 0, sizeof *c);
    c->B = B; c->in = in; c->out = out;
    c->ctx = gm_ctx_new(0);
    if (!c->ctx) return 0;
    gm_params_init(&c->params);
    int64_t ws[2] = {out, in}, bs[1] = {out};
    if (gm_params_add(&c->params, "w", 2, ws, 1) != 0 || gm_params_add(&c->params, "b", 1, bs, 1) != 1 ||
        gm_params_finalize(&c->params) != GM_OK)
        return 0;
    c->w = gm_params_get(&c->params, 0);
    c->b = gm_params_get(&c->params, 1);
    bench_fill(c->params.data, (long)c->params.total, 1);
    c->x = bench_xmalloc((size_t)(B * in) * sizeof(float));
    c->ones = bench_xmalloc((size_t)(B * out) * sizeof(float));
    c->ry = bench_xmalloc((size_t)(B * out) * sizeof(float));
    c->rgx = bench_xmalloc((size_t)(B * in) * sizeof(float));
    c->rgw = bench_xmalloc((size_t)(out * in) * sizeof(float));
    bench_fill(c->x, (long)(B * in), 2);
    for (int64_t i = 0; i < B * out; i++) c->ones[i] = 1.0f;
    memset(c->rgw, 0, (size_t)(out * in) * sizeof(float));
    return 1;
}

/* One fresh step of each; compares y - b, dX, dW and db = B. Returns the worst relative error. */
static double check(lin_case *c) {
    gm_params_zero_grad(&c->params);
    memset(c->rgw, 0, (size_t)(c->out * c->in) * sizeof(float));
    gm_ctx_reset(c->ctx);
    int64_t xs[2] = {c->B, c->in};
    gm_tensor *x = gm_wrap(c->ctx, 2, xs, c->x);
    gm_requires_grad(x);
    gm_tensor *y = gm_linear(c->ctx, x, c->w, c->b);
    if (gm_backward_with(c->ctx, y, c->ones) != GM_OK) {
        fprintf(stderr, "bench_linear: %s\n", gm_ctx_error(c->ctx));
        return INFINITY;
    }
    raw_step(c);
    for (int64_t r = 0; r < c->B; r++)
        for (int64_t j = 0; j < c->out; j++) c->ry[r * c->out + j] += c->b->data[j];
    double e = max_rel_err(y->data, c->ry, c->B * c->out);
    double e2 = max_rel_err(x->grad, c->rgx, c->B * c->in);
    double e3 = max_rel_err(c->w->grad, c->rgw, c->out * c->in);
    if (e2 > e) e = e2;
    if (e3 > e) e = e3;
    for (int64_t j = 0; j < c->out; j++) {
        double d = fabs((double)c->b->grad[j] - (double)c->B) / (double)c->B;
        if (d > e) e = d;
    }
    return e;
}

static void teardown(lin_case *c) {
    gm_ctx_free(c->ctx);
    gm_params_free(&c->params);
    free(c->x); free(c->ones); free(c->ry); free(c->rgx); free(c->rgw);
}

static int run_case(int64_t B, int64_t in, int64_t out) {
    lin_case c;
    if (!setup(&c, B, in, out)) {
        fprintf(stderr, "bench_linear: setup failed: %s\n", gm_last_error());
        return 1;
    }
    double err = check(&c);
    int reps = bench_reps();
    double min_s = bench_min_rep_s();
    bench_variant v[2] = {{.impl = "genmod", .fn = genmod_step, .arg = &c},
                          {.impl = "raw_sgemm", .fn = raw_step, .arg = &c}};
    bench_calibrate(&v[0], 5, min_s);
    bench_calibrate(&v[1], 5, min_s);
    size_t mallocs_warm = gm_arena_mallocs(c.ctx);
    bench_interleave(v, 2, reps);
    size_t mallocs_end = gm_arena_mallocs(c.ctx);
    if (c.failed) fprintf(stderr, "bench_linear: a genmod step failed: %s\n", gm_ctx_error(c.ctx));
    char shape[96];
    snprintf(shape, sizeof shape, "B=%lld,in=%lld,out=%lld", (long long)B, (long long)in, (long long)out);
    double flops = 6.0 * (double)B * (double)in * (double)out;
    double med_g = bench_median(v[0].samples, v[0].nsamples), med_r = bench_median(v[1].samples, v[1].nsamples);
    for (int k = 0; k < 2; k++) {
        bench_json_begin(stdout, "linear_fwd_bwd", shape, &v[k], flops, "gflops");
        fprintf(stdout, ",\"check_max_rel_err\":%.3g", err);
        if (k == 0)
            fprintf(stdout, ",\"ratio_vs_raw\":%.4f,\"arena_mallocs_warm\":%zu,\"arena_mallocs_end\":%zu,"
                            "\"arena_capacity\":%zu,\"failed\":%d",
                    med_g > 0 ? med_r / med_g : 0.0, mallocs_warm, mallocs_end, gm_arena_capacity(c.ctx), c.failed);
        bench_json_end(stdout);
    }
    int bad = c.failed || err > 1e-3 || mallocs_end != mallocs_warm;
    if (err > 1e-3) fprintf(stderr, "bench_linear: genmod and raw results differ (max rel err %.3g)\n", err);
    if (mallocs_end != mallocs_warm)
        fprintf(stderr, "bench_linear: arena malloc count grew after warm-up (%zu -> %zu)\n", mallocs_warm, mallocs_end);
    teardown(&c);
    return bad;
}

int main(int argc, char **argv) {
    int64_t dflt[3][3] = {{100, 784, 500}, {100, 500, 784}, {256, 1024, 1024}};
    int bad = 0;
    if (argc > 1) {
        if ((argc - 1) % 3 != 0) {
            fprintf(stderr, "usage: bench_linear [B in out]...\n");
            return 2;
        }
        for (int a = 1; a + 2 < argc; a += 3) {
            int64_t B = atoll(argv[a]), in = atoll(argv[a + 1]), out = atoll(argv[a + 2]);
            if (B <= 0 || in <= 0 || out <= 0 || B * in > (1ll << 28) || in * out > (1ll << 28) || B * out > (1ll << 28)) {
                fprintf(stderr, "bench_linear: bad shape %s %s %s\n", argv[a], argv[a + 1], argv[a + 2]);
                return 2;
            }
            bad |= run_case(B, in, out);
        }
    } else {
        for (int k = 0; k < 3; k++) bad |= run_case(dflt[k][0], dflt[k][1], dflt[k][2]);
    }
    return bad;
}
