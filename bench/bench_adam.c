/*
 * bench_adam.c — one Adam step (gm_optim_step, torch defaults) over 2^20
 * parameters, interleaved with a bandwidth ceiling in the same process.
 *
 * Bytes per step: read p, g, m, v + write p, m, v = 7 * 4 bytes per parameter
 * (GB/s below are that count divided by the median time).
 * "stream7_ceiling" is a plain OpenMP loop with the same 4 reads and 3 writes
 * and trivial arithmetic (p += a*g; m += g; v += g*g): what the memory system
 * gives a perfectly memory-bound step on this machine, for context.
 * Usage: bench_adam [n_params]   (default 1048576)
 */
#include "genmod/optim.h"
#include "bench_common.h"

typedef struct adam_case {
    int64_t n;
    gm_params params;
    gm_optim *opt;
    float *p, *g, *m, *v; /* ceiling arrays */
    int failed;
} adam_case;

static void genmod_step(void *arg) {
    adam_case *c = arg;
    if (gm_optim_step(c->opt, &c->params, 1e-3) != GM_OK) c->failed = 1;
}

static void ceiling_step(void *arg) {
    adam_case *c = arg;
    float *restrict p = c->p, *restrict m = c->m, *restrict v = c->v;
    const float *restrict g = c->g;
    int64_t n = c->n;
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        p[i] += 1e-7f * gi;
        m[i] += 1e-7f * gi;
        v[i] += 1e-7f * gi * gi;
    }
}

int main(int argc, char **argv) {
    adam_case c;
    memset(&c, 0, sizeof c);
    c.n = argc > 1 ? atoll(argv[1]) : (1ll << 20);
    if (c.n <= 0 || c.n > (1ll << 30)) {
        fprintf(stderr, "bench_adam: bad parameter count %s\n", argv[1]);
        return 2;
    }
    gm_params_init(&c.params);
    int64_t shape[1] = {c.n};
    if (gm_params_add(&c.params, "w", 1, shape, 1) != 0 || gm_params_finalize(&c.params) != GM_OK) {
        fprintf(stderr, "bench_adam: %s\n", gm_last_error());
        return 1;
    }
    bench_fill(c.params.data, (long)c.n, 3);
    bench_fill(c.params.grad, (long)c.n, 4);
    gm_optim_config cfg = gm_optim_defaults(GM_OPTIM_ADAM);
    c.opt = gm_optim_new(&cfg, &c.params);
    if (!c.opt) {
        fprintf(stderr, "bench_adam: %s\n", gm_last_error());
        return 1;
    }
    size_t bytes = (size_t)c.n * sizeof(float);
    c.p = bench_xmalloc(bytes); c.g = bench_xmalloc(bytes); c.m = bench_xmalloc(bytes); c.v = bench_xmalloc(bytes);
    bench_fill(c.p, (long)c.n, 5); bench_fill(c.g, (long)c.n, 6);
    memset(c.m, 0, bytes); memset(c.v, 0, bytes);

    int reps = bench_reps();
    double min_s = bench_min_rep_s();
    bench_variant v[2] = {{.impl = "genmod", .fn = genmod_step, .arg = &c},
                          {.impl = "stream7_ceiling", .fn = ceiling_step, .arg = &c}};
    bench_calibrate(&v[0], 5, min_s);
    bench_calibrate(&v[1], 5, min_s);
    bench_interleave(v, 2, reps);
    char shape_s[64];
    snprintf(shape_s, sizeof shape_s, "n=%lld", (long long)c.n);
    double moved = 28.0 * (double)c.n;
    double med_g = bench_median(v[0].samples, v[0].nsamples), med_c = bench_median(v[1].samples, v[1].nsamples);
    for (int k = 0; k < 2; k++) {
        bench_json_begin(stdout, "adam_step", shape_s, &v[k], moved, "gbps");
        fprintf(stdout, ",\"bytes_per_step\":%.0f", moved);
        if (k == 0) fprintf(stdout, ",\"ratio_vs_ceiling\":%.4f,\"failed\":%d", med_g > 0 ? med_c / med_g : 0.0, c.failed);
        bench_json_end(stdout);
    }
    if (c.failed) fprintf(stderr, "bench_adam: a step failed: %s\n", gm_last_error());
    gm_optim_free(c.opt);
    gm_params_free(&c.params);
    free(c.p); free(c.g); free(c.m); free(c.v);
    return c.failed;
}
