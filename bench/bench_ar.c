/*
 * bench_ar.c — autoregressive binary models (src/models/{made,nade}.c) built
 * through gm_model_create: one training step (loss, backward, Adam lr 1e-3,
 * exactly what the trainer's step does minus its finiteness checks) and
 * drawing 100 samples; compared in bench/run_ar.sh with bench/torch_ar.py.
 *
 *   made_train_step   MADE 784-500-784, one mask, natural order     (B=100)
 *   made2_train_step  MADE 784-500-500-784                          (B=100)
 *   nade_train_step   NADE H=500 (the gm_nade_logits op)            (B=100)
 *   made_sample       100 samples, MADE 784-500-784 (incremental, one pass)
 *   nade_sample       100 samples, NADE H=500 (incremental)
 * Data: Bernoulli(0.5) pixels from a fixed counter hash (no sparsity that
 * the x_d = 0 shortcuts could exploit beyond what torch sees).
 * "gflops" counts the nominal flops named in bench/torch_ar.py's header:
 *   MADE train 6·B·Σ(in·out) over the masked layers; NADE train 3 × 4·B·D·H;
 *   MADE sample 2·n·Σ(in·out) (one pass); NADE sample 4·n·D·H.
 * "pct_peak" relates gflops to the machine's fp32 peak (PEAK_GFLOPS, docs/BENCH.md).
 * Usage: bench_ar [made|made2|nade|made_sample|nade_sample]...  (default: all)
 */
#include <math.h>
#include <stdint.h>
#include "genmod/model.h"
#include "genmod/optim.h"
#include "genmod/ops.h"
#include "bench_common.h"

#define D_ 784
#define B_ 100
#define NS 100
#ifndef PEAK_GFLOPS
#define PEAK_GFLOPS 157.0
#endif

static inline uint32_t hash32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

typedef struct {
    gm_model *m;
    gm_ctx *ctx;
    gm_optim *opt;
    gm_rng rng;
    float *x;   // (B, D) batch, or (NS, D) samples
    int failed;
} ar_case;

static void train_step(void *arg) {
    ar_case *c = arg;
    gm_ctx_reset(c->ctx);
    int64_t shape[2] = {B_, D_};
    gm_tensor *loss = c->m->def->loss(c->m, c->ctx, gm_wrap(c->ctx, 2, shape, c->x), &c->rng);
    if (!loss) { c->failed = 1; return; }
    gm_params_zero_grad(&c->m->params);
    if (gm_backward(c->ctx, loss) != GM_OK) c->failed = 1;
    if (gm_optim_step(c->opt, &c->m->params, 1e-3f) != GM_OK) c->failed = 1;
}

static void sample_step(void *arg) {
    ar_case *c = arg;
    gm_ctx_reset(c->ctx);
    if (c->m->def->sample(c->m, c->ctx, &c->rng, NS, c->x) != GM_OK) c->failed = 1;
}

static void setup(ar_case *c, const char *model, const char *hidden, int train) {
    gm_config cfg = {0};
    gm_config_set(&cfg, "hidden", hidden);
    gm_rng r;
    gm_rng_seed(&r, 1, GM_STREAM_INIT);
    if (gm_model_create(gm_model_find(model), &cfg, D_, 1, 28, 28, &r, &c->m) != GM_OK) {
        fprintf(stderr, "bench_ar: %s\n", gm_last_error());
        exit(1);
    }
    c->ctx = gm_ctx_new(0);
    gm_rng_seed(&c->rng, 2, GM_STREAM_DROPOUT);
    c->x = bench_xmalloc(sizeof(float) * B_ * D_);
    for (int i = 0; i < B_ * D_; i++) c->x[i] = (hash32((uint32_t)i) >> 8) < (1u << 23) ? 1.0f : 0.0f;
    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    oc.lr = 1e-3f;
    c->opt = train ? gm_optim_new(&oc, &c->m->params) : NULL;
    c->failed = 0;
}

static void teardown(ar_case *c) {
    if (c->opt) gm_optim_free(c->opt);
    gm_ctx_free(c->ctx);
    gm_model_free(c->m);
    free(c->x);
}

static void run(const char *bench, const char *model, const char *hidden, int train, double flops) {
    ar_case c;
    setup(&c, model, hidden, train);
    bench_variant v = {.impl = "genmod", .fn = train ? train_step : sample_step, .arg = &c};
    bench_calibrate(&v, 2, bench_min_rep_s());
    size_t m0 = gm_arena_mallocs(c.ctx);
    bench_interleave(&v, 1, bench_reps());
    char shape[96];
    snprintf(shape, sizeof shape, "D=%d,H=%s,%s=%d", D_, hidden, train ? "B" : "n", train ? B_ : NS);
    bench_json_begin(stdout, bench, shape, &v, flops, "gflops");
    double med = bench_median(v.samples, v.nsamples);
    printf(",\"pct_peak\":%.2f,\"peak_gflops\":%.0f,\"arena_mallocs_growth\":%zu,\"failed\":%d",
           med > 0 ? 100.0 * flops / med / 1e9 / PEAK_GFLOPS : 0.0, PEAK_GFLOPS, gm_arena_mallocs(c.ctx) - m0,
           c.failed);
    bench_json_end(stdout);
    teardown(&c);
}

static int want(int argc, char **argv, const char *name) {
    if (argc < 2) return 1;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name)) return 1;
    return 0;
}

int main(int argc, char **argv) {
    double B = B_, D = D_, H = 500;
    if (want(argc, argv, "made")) run("made_train_step", "made", "500", 1, 6 * B * (2 * D * H));
    if (want(argc, argv, "made2")) run("made2_train_step", "made", "500,500", 1, 6 * B * (2 * D * H + H * H));
    if (want(argc, argv, "nade")) run("nade_train_step", "nade", "500", 1, 3 * 4 * B * D * H);
    if (want(argc, argv, "made_sample")) run("made_sample", "made", "500", 0, 2 * NS * (2 * D * H));
    if (want(argc, argv, "nade_sample")) run("nade_sample", "nade", "500", 0, 4 * NS * D * H);
    return 0;
}
