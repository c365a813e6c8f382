/*
 * bench_conv.c — one 3x3 convolution (stride 1, padding 1, bias), forward +
 * backward (dX, dW, db) through gm_conv2d, on the direct kernels
 * (src/ops/conv_direct.c) and on im2col + GEMM (GENMOD_CONV_IM2COL=1 for that
 * variant), interleaved in one process; decides where gm_conv_direct_ok's
 * channel limits belong. Also checks once that both paths agree.
 * Flops per step: 3 * 2*B*S*C*9*H*W (nominal; the direct path also computes
 * two dropped columns per row).
 * Usage: bench_conv [B C S H]...   (default: the shapes of docs/BENCH.md)
 */
#include <math.h>
#include "genmod/ops.h"
#include "genmod/params.h"
#include "bench_common.h"

typedef struct conv_case {
    int64_t B, C, S, H;
    int im2col;          /* the variant's path */
    gm_ctx *ctx;
    gm_params params;
    gm_tensor *w, *b;    /* views into params */
    float *x, *seed;     /* (B, C, H, H), (B, S, H, H) */
    int failed;
} conv_case;

static void set_path(int im2col) { setenv("GENMOD_CONV_IM2COL", im2col ? "1" : "0", 1); }

static gm_tensor *step(conv_case *c) {
    gm_ctx *ctx = c->ctx;
    gm_ctx_reset(ctx);
    set_path(c->im2col);
    int64_t xs[4] = {c->B, c->C, c->H, c->H};
    gm_tensor *x = gm_wrap(ctx, 4, xs, c->x);
    if (x) gm_requires_grad(x);
    gm_conv_params p = {1, 1, 1, 1, 1, 1, 0, 0};
    gm_tensor *y = gm_conv2d(ctx, x, c->w, c->b, p);
    if (gm_backward_with(ctx, y, c->seed) != GM_OK) c->failed = 1;
    return x;
}

static void run_step(void *arg) { (void)step(arg); }

static int setup(conv_case *c, int64_t B, int64_t C, int64_t S, int64_t H) {
    memset(c, 0, sizeof *c);
    c->B = B; c->C = C; c->S = S; c->H = H;
    c->ctx = gm_ctx_new(0);
    if (!c->ctx) return 0;
    gm_params_init(&c->params);
    int64_t ws[4] = {S, C, 3, 3}, bs[1] = {S};
    if (gm_params_add(&c->params, "w", 4, ws, 1) != 0 || gm_params_add(&c->params, "b", 1, bs, 1) != 1 ||
        gm_params_finalize(&c->params) != GM_OK)
        return 0;
    c->w = gm_params_get(&c->params, 0);
    c->b = gm_params_get(&c->params, 1);
    bench_fill(c->params.data, (long)c->params.total, 1);
    c->x = bench_xmalloc((size_t)(B * C * H * H) * sizeof(float));
    c->seed = bench_xmalloc((size_t)(B * S * H * H) * sizeof(float));
    bench_fill(c->x, (long)(B * C * H * H), 2);
    bench_fill(c->seed, (long)(B * S * H * H), 3);
    return 1;
}

/* Worst relative difference of dX and dW between the two paths. */
static double check(conv_case *c) {
    float *g[2][2];
    int64_t nx = c->B * c->C * c->H * c->H, nw = c->S * c->C * 9;
    for (int v = 0; v < 2; v++) {
        gm_params_zero_grad(&c->params);
        c->im2col = v;
        gm_tensor *x = step(c);
        g[v][0] = bench_xmalloc(sizeof(float) * (size_t)nx);
        g[v][1] = bench_xmalloc(sizeof(float) * (size_t)nw);
        memcpy(g[v][0], x->grad, sizeof(float) * (size_t)nx);
        memcpy(g[v][1], c->w->grad, sizeof(float) * (size_t)nw);
    }
    double worst = 0.0;
    for (int k = 0; k < 2; k++) {
        int64_t n = k ? nw : nx;
        for (int64_t i = 0; i < n; i++) {
            double d = fabs((double)g[0][k][i] - (double)g[1][k][i]) / (1.0 + fabs((double)g[1][k][i]));
            if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
        }
        free(g[0][k]);
        free(g[1][k]);
    }
    return worst;
}

int main(int argc, char **argv) {
    static const int64_t dflt[][4] = {{64, 16, 16, 28}, {64, 1, 16, 28}, {64, 16, 2, 28}, {64, 32, 32, 28},
                                      {64, 64, 64, 14}, {64, 128, 64, 14}, {64, 128, 128, 14}, {64, 256, 256, 7}};
    int ncase = argc > 1 ? (argc - 1) / 4 : (int)(sizeof dflt / sizeof dflt[0]);
    int reps = bench_reps();
    double min_s = bench_min_rep_s();
    int bad = 0;
    for (int k = 0; k < ncase; k++) {
        int64_t sh[4];
        for (int j = 0; j < 4; j++) sh[j] = argc > 1 ? atoll(argv[1 + 4 * k + j]) : dflt[k][j];
        conv_case c[2];
        if (!setup(&c[0], sh[0], sh[1], sh[2], sh[3]) || !setup(&c[1], sh[0], sh[1], sh[2], sh[3])) {
            fprintf(stderr, "bench_conv: setup failed\n");
            return 1;
        }
        double err = check(&c[0]);  /* leaves c[0] on im2col */
        c[0].im2col = 0;
        c[1].im2col = 1;
        bench_variant v[2] = {{"direct", run_step, &c[0], 0, {0}, 0}, {"im2col", run_step, &c[1], 0, {0}, 0}};
        bench_calibrate(&v[0], 3, min_s);
        bench_calibrate(&v[1], 3, min_s);
        bench_interleave(v, 2, reps);
        char shape[96];
        snprintf(shape, sizeof shape, "B=%lld,C=%lld,S=%lld,H=W=%lld,k=3", (long long)sh[0], (long long)sh[1],
                 (long long)sh[2], (long long)sh[3]);
        double flops = 3.0 * 2.0 * (double)(sh[0] * sh[1] * sh[2] * 9 * sh[3] * sh[3]);
        for (int j = 0; j < 2; j++) {
            bench_json_begin(stdout, "conv3x3_fwd_bwd", shape, &v[j], flops, "gflops");
            fprintf(stdout, ",\"max_rel_diff_paths\":%.3g,\"failed\":%d", err, c[j].failed);
            bench_json_end(stdout);
            bad |= c[j].failed || !(err < 1e-3);
        }
        for (int j = 0; j < 2; j++) {
            gm_ctx_free(c[j].ctx);
            gm_params_free(&c[j].params);
            free(c[j].x);
            free(c[j].seed);
        }
    }
    return bad;
}
