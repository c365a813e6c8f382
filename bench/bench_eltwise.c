/*
 * bench_eltwise.c — an elementwise op chain, forward + backward, over 2^22
 * floats: y = sigmoid(tanh(x) * 1.7 + 0.3) through gm_tanh, gm_scale,
 * gm_add_scalar, gm_sigmoid, then gm_backward_with(y, ones) into x's gradient.
 *
 * Rate: "effective" GB/s over a nominal byte count of 80 bytes per element,
 * the traffic of an unfused framework doing this chain (per op: forward reads
 * its input and writes its output, 8 B; backward reads the output gradient and
 * one saved tensor and writes the input gradient, 12 B; 4 ops). The same count
 * is used for the PyTorch run (torch_engine.py), so the rates compare times.
 * "c_fused_vmath" (same process, interleaved) computes y and dx in one pass
 * over cache-sized blocks with the vectorised kernels of src/kernels/vmath.h:
 * a lower bound for this chain on this machine (fused, vectorised, 12 B/elem).
 * Usage: bench_eltwise [n]   (default 4194304)
 */
#include <math.h>
#include "genmod/ops.h"
#include "bench_common.h"
#include "kernels/vmath.h"

typedef struct elt_case {
    int64_t n;
    gm_ctx *ctx;
    float *x, *ones;     /* (n) */
    float *y, *gx;       /* (n) fused-loop outputs */
    int failed;
} elt_case;

static void genmod_step(void *arg) {
    elt_case *c = arg;
    gm_ctx *ctx = c->ctx;
    gm_ctx_reset(ctx);
    int64_t shape[1] = {c->n};
    gm_tensor *x = gm_wrap(ctx, 1, shape, c->x);
    if (x) gm_requires_grad(x);
    gm_tensor *y = gm_sigmoid(ctx, gm_add_scalar(ctx, gm_scale(ctx, gm_tanh(ctx, x), 1.7f), 0.3f));
    if (gm_backward_with(ctx, y, c->ones) != GM_OK) c->failed = 1;
}

static void fused_step(void *arg) {
    elt_case *c = arg;
    int64_t n = c->n, nb = (n + 1023) / 1024;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        int64_t lo = b * 1024, len = n - lo < 1024 ? n - lo : 1024;
        float t[1024];
        const float *restrict seed = c->ones + lo;
        float *restrict y = c->y + lo, *restrict gx = c->gx + lo;
        gm_vtanh(c->x + lo, t, len);
        for (int64_t i = 0; i < len; i++) y[i] = t[i] * 1.7f + 0.3f;
        gm_vsigmoid(y, y, len);
        for (int64_t i = 0; i < len; i++) gx[i] = seed[i] * (y[i] * (1.0f - y[i])) * 1.7f * (1.0f - t[i] * t[i]);
    }
}

int main(int argc, char **argv) {
    elt_case c;
    memset(&c, 0, sizeof c);
    c.n = argc > 1 ? atoll(argv[1]) : (1ll << 22);
    if (c.n <= 0 || c.n > (1ll << 28)) {
        fprintf(stderr, "bench_eltwise: bad size %s\n", argv[1]);
        return 2;
    }
    c.ctx = gm_ctx_new(0);
    if (!c.ctx) {
        fprintf(stderr, "bench_eltwise: %s\n", gm_last_error());
        return 1;
    }
    size_t bytes = (size_t)c.n * sizeof(float);
    c.x = bench_xmalloc(bytes); c.ones = bench_xmalloc(bytes); c.y = bench_xmalloc(bytes); c.gx = bench_xmalloc(bytes);
    bench_fill(c.x, (long)c.n, 7);
    for (int64_t i = 0; i < c.n; i++) c.ones[i] = 1.0f;

    /* same numbers? (one step of each) */
    genmod_step(&c);
    fused_step(&c);
    double err = 0.0;
    gm_tensor *xt = NULL;
    {
        gm_ctx_reset(c.ctx);
        int64_t shape[1] = {c.n};
        xt = gm_wrap(c.ctx, 1, shape, c.x);
        gm_requires_grad(xt);
        gm_tensor *y = gm_sigmoid(c.ctx, gm_add_scalar(c.ctx, gm_scale(c.ctx, gm_tanh(c.ctx, xt), 1.7f), 0.3f));
        if (gm_backward_with(c.ctx, y, c.ones) != GM_OK) c.failed = 1;
        else
            for (int64_t i = 0; i < c.n; i++) {
                double d = fabs((double)y->data[i] - c.y[i]) + fabs((double)xt->grad[i] - c.gx[i]);
                if (d > err || isnan(d)) err = isnan(d) ? INFINITY : d;
            }
    }

    int reps = bench_reps();
    double min_s = bench_min_rep_s();
    bench_variant v[2] = {{.impl = "genmod", .fn = genmod_step, .arg = &c},
                          {.impl = "c_fused_vmath", .fn = fused_step, .arg = &c}};
    bench_calibrate(&v[0], 3, min_s);
    bench_calibrate(&v[1], 3, min_s);
    size_t mallocs_warm = gm_arena_mallocs(c.ctx);
    bench_interleave(v, 2, reps);
    size_t mallocs_end = gm_arena_mallocs(c.ctx);
    char shape_s[64];
    snprintf(shape_s, sizeof shape_s, "n=%lld", (long long)c.n);
    double nominal = 80.0 * (double)c.n;
    for (int k = 0; k < 2; k++) {
        double med = bench_median(v[k].samples, v[k].nsamples);
        bench_json_begin(stdout, "eltwise_chain_fwd_bwd", shape_s, &v[k], nominal, "gbps");
        fprintf(stdout, ",\"chain\":\"sigmoid(tanh(x)*1.7+0.3)\",\"nominal_bytes\":%.0f,\"ns_per_elem\":%.4f,"
                        "\"check_max_abs_err\":%.3g",
                nominal, med * 1e9 / (double)c.n, err);
        if (k == 0)
            fprintf(stdout, ",\"arena_mallocs_warm\":%zu,\"arena_mallocs_end\":%zu,\"failed\":%d", mallocs_warm,
                    mallocs_end, c.failed);
        bench_json_end(stdout);
    }
    int bad = c.failed || err > 1e-5 || mallocs_end != mallocs_warm;
    if (c.failed) fprintf(stderr, "bench_eltwise: a genmod step failed: %s\n", gm_ctx_error(c.ctx));
    if (err > 1e-5) fprintf(stderr, "bench_eltwise: genmod and the fused loop differ (max abs err %.3g)\n", err);
    if (mallocs_end != mallocs_warm)
        fprintf(stderr, "bench_eltwise: arena malloc count grew after warm-up (%zu -> %zu)\n", mallocs_warm, mallocs_end);
    gm_ctx_free(c.ctx);
    free(c.x); free(c.ones); free(c.y); free(c.gx);
    return bad;
}
