/*
 * bench_flows.c — training throughput of the flow models (src/models/{flow2d,
 * realnvp}.c) built through gm_model_create: one full training step
 * (gm_ctx_reset, loss, zero-grad, backward, Adam lr 1e-3 — the trainer's step
 * minus its finiteness checks, clipping and EMA); compared in
 * bench/run_flows.sh with bench/torch_flows.py (the same models in PyTorch).
 *
 *   affine784  flow2d on D=784 vectors: 8 affine couplings, alternating
 *              even/odd masks, MLP 392 -> 1024 -> 1024 -> 784 (= 2*392: raw s
 *              and t), s = scale * tanh(raw), Gaussian base       (B=100)
 *              --layers 8 --hidden 1024 --depth 2 --coupling affine
 *   flow2d     flow2d on 2-D data, MLP 1 -> 256 -> 256 -> 2     (B=1024)
 *              --layers 8 --hidden 256 --depth 2 --coupling affine
 *   realnvp    realnvp on 1x28x28 images                          (B=64)
 *              --features 16 --blocks 1 --inv1x1 lu --actnorm 1 --scales 3
 *              (uniform dequantization + logit(0.05 + 0.9 y), as trained)
 * Data: fixed counter-hash values: N(0,1) (Box-Muller) for the vector cases,
 * k/255 with k uniform in 0..255 for realnvp (so dequantization applies).
 * Parameters: the model's own init (seed 1), its data-dependent init
 * (ActNorm) on the benchmark batch, then every trainable value plus
 * 0.02*u, u uniform in [-1, 1) from a counter hash — so the zero-initialised
 * last conditioner layers are not zero and the correctness check of
 * torch_flows.py exercises every layer. Timing does not depend on it.
 *
 * "gflops" counts nominal flops: 6 x the forward multiply-adds of the
 * matmuls / convolutions (2 flops per MAC, x3 for the forward GEMM and the
 * two backward GEMMs), per step:
 *   MLP conditioner layer (in -> out)          B * in * out
 *   3x3 conv conditioner layer at H x W         B * H * W * 9 * in * out
 *   invertible 1x1 conv over C channels at HxW  B * H * W * C * C
 * summed over every layer of the flow (walked from the built model, so the
 * count is exactly the model's). Elementwise work (tanh, exp, masks, ActNorm,
 * the prior, dequantization) is not counted. torch_flows.py uses the same
 * formula on its own copy of the architecture; the JSON lines carry
 * nominal_flops so the two can be compared. Closed forms:
 *   affine784  6 * 100 * 8 * (392*1024 + 1024*1024 + 1024*784)  = 10.81 GFLOP
 *   flow2d     6 * 1024 * 8 * (1*256 + 256*256 + 256*2)          =  3.26 GFLOP
 *   realnvp    (sum over the 16 couplings and 13 LU 1x1 convs)     =  7.87 GFLOP
 * "pct_peak" relates gflops to the 2-core fp32 peak of the development
 * machine (157 GFLOP/s: AMD EPYC Zen 3, AVX2+FMA, docs/BENCH.md);
 * "pct_peak_480" to the 480 GFLOP/s AVX-512 figure of the engine notes.
 *
 * Usage: bench_flows [--dump DIR] [affine784|flow2d|realnvp]...  (default: all)
 *   --dump DIR  no timing: per case writes DIR/<case>.safetensors with every
 *               parameter and buffer (the genmod names), the batch "x", the
 *               loss and "grad/<name>" of one backward, for torch_flows.py's
 *               correctness check and its initial weights. The check model
 *               of realnvp uses --dequantize none (no noise, so the loss is
 *               deterministic) with the same parameters as the timed model.
 * Threads: GM_BENCH_THREADS (default 2) through gm_set_threads.
 */
#include <math.h>
#include <stdint.h>
#include "genmod/model.h"
#include "genmod/optim.h"
#include "genmod/ops.h"
#include "genmod/safetensors.h"
#include "genmod/system.h"
#include "models/flow_common.h"
#include "bench_common.h"

#ifndef PEAK_GFLOPS
#define PEAK_GFLOPS 157.0
#endif
#define PEAK_GFLOPS_AVX512 480.0

typedef struct flow_case_def {
    const char *name, *model;
    const char *cfg[8][2]; /* key, value; NULL-terminated */
    int64_t D;
    int c, h, w; /* 0 for vector data */
    int B;
    int images;  /* 1: k/255 pixels, else N(0,1) */
} flow_case_def;

static const flow_case_def k_cases[] = {
    {"affine784", "flow2d",
     {{"layers", "8"}, {"hidden", "1024"}, {"depth", "2"}, {"coupling", "affine"}, {NULL, NULL}},
     784, 0, 0, 0, 100, 0},
    {"flow2d", "flow2d",
     {{"layers", "8"}, {"hidden", "256"}, {"depth", "2"}, {"coupling", "affine"}, {NULL, NULL}},
     2, 0, 0, 0, 1024, 0},
    {"realnvp", "realnvp",
     {{"features", "16"}, {"blocks", "1"}, {"inv1x1", "lu"}, {"actnorm", "1"}, {"scales", "3"}, {NULL, NULL}},
     784, 1, 28, 28, 64, 1},
};
#define N_CASES ((int)(sizeof k_cases / sizeof k_cases[0]))

static inline uint32_t hash32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352du;
    x ^= x >> 15; x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

/* uniform in [0, 1) from a counter */
static inline double hash_u(uint32_t i, uint32_t salt) {
    return (double)(hash32(i * 2654435761u ^ hash32(salt)) >> 8) / 16777216.0;
}

static void fill_data(const flow_case_def *cd, float *x) {
    int64_t n = (int64_t)cd->B * cd->D;
    for (int64_t i = 0; i < n; i++) {
        if (cd->images) {
            x[i] = (float)(hash32((uint32_t)i ^ 0x9e3779b9u) >> 24) / 255.0f;
        } else {
            double u1 = hash_u((uint32_t)i, 11), u2 = hash_u((uint32_t)i, 12);
            x[i] = (float)(sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2));
        }
    }
}

/* Every trainable value += 0.02 * u, u in [-1, 1) (see the header). */
static void perturb(gm_params *p) {
    for (int e = 0; e < p->count; e++) {
        const gm_param_entry *pe = &p->entries[e];
        if (!pe->trainable) continue;
        for (int64_t i = 0; i < pe->numel; i++)
            p->data[pe->offset + i] += (float)(0.02 * (2.0 * hash_u((uint32_t)(pe->offset + i), 77) - 1.0));
    }
}

/* Forward multiply-adds of the matmuls / convs of one example (header). */
static double flow_macs_per_example(const gm_model *m) {
    const gm_flow *f = &((const flow_model *)m->impl)->flow;
    double macs = 0;
    for (int k = 0; k < f->n; k++) {
        const gm_flow_layer *l = &f->layers[k];
        double hw = (double)l->h * l->w;
        if (l->kind == GM_FLOW_COUPLING) {
            const gm_flow_net *nt = &l->net;
            int conv = nt->kind == GM_NET_RESNET;
            for (int i = 0; i < nt->n_layers; i++) {
                double in = i == 0 ? nt->n_in : nt->hidden, out = i == nt->n_layers - 1 ? nt->n_out : nt->hidden;
                macs += conv ? hw * 9.0 * in * out : in * out;
            }
        } else if (l->kind == GM_FLOW_INV1X1 || l->kind == GM_FLOW_INV1X1_LU) {
            macs += hw * (double)l->c * l->c;
        }
    }
    return macs;
}

typedef struct flow_case {
    const flow_case_def *cd;
    gm_model *m;
    gm_ctx *ctx;
    gm_optim *opt;
    gm_rng rng;
    float *x; // (B, D)
    float last_loss;
    int failed;
} flow_case;

static gm_model *make_model(const flow_case_def *cd, int check) {
    gm_config cfg = {0};
    for (int i = 0; cd->cfg[i][0]; i++) gm_config_set(&cfg, cd->cfg[i][0], cd->cfg[i][1]);
    if (check && !strcmp(cd->model, "realnvp")) gm_config_set(&cfg, "dequantize", "none");
    gm_rng r;
    gm_rng_seed(&r, 1, GM_STREAM_INIT);
    gm_model *m = NULL;
    if (gm_model_create(gm_model_find(cd->model), &cfg, cd->D, cd->c, cd->h, cd->w, &r, &m) != GM_OK) {
        fprintf(stderr, "bench_flows: %s: %s\n", cd->name, gm_last_error());
        exit(1);
    }
    return m;
}

static void setup(flow_case *c, const flow_case_def *cd) {
    memset(c, 0, sizeof *c);
    c->cd = cd;
    c->m = make_model(cd, 0);
    c->x = bench_xmalloc(sizeof(float) * (size_t)cd->B * (size_t)cd->D);
    fill_data(cd, c->x);
    gm_rng ri;
    gm_rng_seed(&ri, 1, GM_STREAM_INIT_DATA);
    if (c->m->def->init_data && c->m->def->init_data(c->m, c->x, cd->B, &ri) != GM_OK) {
        fprintf(stderr, "bench_flows: %s init_data: %s\n", cd->name, gm_last_error());
        exit(1);
    }
    perturb(&c->m->params);
    c->ctx = gm_ctx_new(0);
    gm_rng_seed(&c->rng, 2, GM_STREAM_NOISE);
    gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
    oc.lr = 1e-3f;
    c->opt = gm_optim_new(&oc, &c->m->params);
    if (!c->ctx || !c->opt) {
        fprintf(stderr, "bench_flows: %s: %s\n", cd->name, gm_last_error());
        exit(1);
    }
}

static void teardown(flow_case *c) {
    gm_optim_free(c->opt);
    gm_ctx_free(c->ctx);
    gm_model_free(c->m);
    free(c->x);
}

static void train_step(void *arg) {
    flow_case *c = arg;
    gm_ctx_reset(c->ctx);
    int64_t shape[2] = {c->cd->B, c->cd->D};
    gm_tensor *loss = c->m->def->loss(c->m, c->ctx, gm_wrap(c->ctx, 2, shape, c->x), &c->rng);
    if (!loss || gm_ctx_status(c->ctx) != GM_OK) {
        if (!c->failed) fprintf(stderr, "bench_flows: %s loss: %s\n", c->cd->name, gm_ctx_error(c->ctx));
        c->failed = 1;
        return;
    }
    c->last_loss = loss->data[0];
    gm_params_zero_grad(&c->m->params);
    if (gm_backward(c->ctx, loss) != GM_OK) c->failed = 1;
    if (gm_optim_step(c->opt, &c->m->params, 1e-3f) != GM_OK) c->failed = 1;
}

static void shape_str(const flow_case_def *cd, char *buf, size_t n) {
    size_t o = (size_t)snprintf(buf, n, "D=%lld,B=%d", (long long)cd->D, cd->B);
    for (int i = 0; cd->cfg[i][0] && o < n; i++) o += (size_t)snprintf(buf + o, n - o, ",%s=%s", cd->cfg[i][0], cd->cfg[i][1]);
}

static void run(const flow_case_def *cd) {
    flow_case c;
    setup(&c, cd);
    double flops = 6.0 * cd->B * flow_macs_per_example(c.m);
    bench_variant v = {.impl = "genmod", .fn = train_step, .arg = &c};
    train_step(&c);
    float loss_first = c.last_loss;
    bench_calibrate(&v, 2, bench_min_rep_s());
    size_t m0 = gm_arena_mallocs(c.ctx);
    bench_interleave(&v, 1, bench_reps());
    char bench[64], shape[256];
    snprintf(bench, sizeof bench, "flow_%s_train_step", cd->name);
    shape_str(cd, shape, sizeof shape);
    bench_json_begin(stdout, bench, shape, &v, flops, "gflops");
    double med = bench_median(v.samples, v.nsamples);
    double gf = med > 0 ? flops / med / 1e9 : 0.0;
    int bad = c.failed || !isfinite(c.last_loss);
    printf(",\"case\":\"%s\",\"model\":\"%s\",\"batch\":%d,\"ms_per_step\":%.4f,\"items_per_s\":%.2f,"
           "\"nominal_flops\":%.6g,\"pct_peak\":%.2f,\"peak_gflops\":%.0f,\"pct_peak_480\":%.2f,"
           "\"trainable_params\":%lld,\"loss_first\":%.7g,\"loss_last\":%.7g,\"arena_mallocs_growth\":%zu,"
           "\"arena_capacity\":%zu,\"failed\":%d",
           cd->name, cd->model, cd->B, 1e3 * med, med > 0 ? cd->B / med : 0.0, flops, 100.0 * gf / PEAK_GFLOPS,
           PEAK_GFLOPS, 100.0 * gf / PEAK_GFLOPS_AVX512, (long long)gm_params_count_trainable(&c.m->params),
           (double)loss_first, (double)c.last_loss, gm_arena_mallocs(c.ctx) - m0, gm_arena_capacity(c.ctx), bad);
    bench_json_end(stdout);
    teardown(&c);
}

/* --dump: parameters, data, loss and gradients of one step for torch_flows.py. */
static void dump(const flow_case_def *cd, const char *dir) {
    flow_case c;
    setup(&c, cd); /* the timed model: its parameters are what the check uses */
    gm_model *m = make_model(cd, 1);
    if (m->params.total != c.m->params.total) {
        fprintf(stderr, "bench_flows: %s: check model has a different parameter layout\n", cd->name);
        exit(1);
    }
    memcpy(m->params.data, c.m->params.data, sizeof(float) * (size_t)m->params.total);
    gm_ctx *ctx = gm_ctx_new(0);
    gm_rng r;
    gm_rng_seed(&r, 2, GM_STREAM_NOISE);
    int64_t shape[2] = {cd->B, cd->D};
    gm_tensor *loss = m->def->loss(m, ctx, gm_wrap(ctx, 2, shape, c.x), &r);
    gm_params_zero_grad(&m->params);
    if (!loss || gm_backward(ctx, loss) != GM_OK) {
        fprintf(stderr, "bench_flows: %s dump: %s\n", cd->name, gm_ctx_error(ctx));
        exit(1);
    }
    gm_st_writer *w = gm_st_writer_new();
    gm_status st = w ? GM_OK : GM_ERR_NOMEM;
    char nm[GM_PARAM_NAME_MAX + 16], val[512], path[1024];
    for (int e = 0; e < m->params.count && st == GM_OK; e++) {
        const gm_param_entry *pe = &m->params.entries[e];
        st = gm_st_writer_add_f32(w, pe->name, pe->ndim, pe->shape, m->params.data + pe->offset);
        if (st == GM_OK && pe->trainable) {
            snprintf(nm, sizeof nm, "grad/%s", pe->name);
            st = gm_st_writer_add_f32(w, nm, pe->ndim, pe->shape, m->params.grad + pe->offset);
        }
    }
    if (st == GM_OK) st = gm_st_writer_add_f32(w, "x", 2, shape, c.x);
    snprintf(val, sizeof val, "%.9g", (double)loss->data[0]);
    if (st == GM_OK) st = gm_st_writer_set_metadata(w, "loss", val);
    if (st == GM_OK) st = gm_st_writer_set_metadata(w, "model", cd->model);
    for (int i = 0; cd->cfg[i][0] && st == GM_OK; i++) st = gm_st_writer_set_metadata(w, cd->cfg[i][0], cd->cfg[i][1]);
    snprintf(val, sizeof val, "%.9g", 6.0 * cd->B * flow_macs_per_example(m));
    if (st == GM_OK) st = gm_st_writer_set_metadata(w, "nominal_flops", val);
    snprintf(val, sizeof val, "%lld", (long long)gm_params_count_trainable(&m->params));
    if (st == GM_OK) st = gm_st_writer_set_metadata(w, "trainable_params", val);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, cd->name);
    if (st == GM_OK) st = gm_st_writer_save(w, path);
    if (st != GM_OK) {
        fprintf(stderr, "bench_flows: %s dump: %s\n", cd->name, gm_last_error());
        exit(1);
    }
    printf("{\"bench\":\"flow_dump\",\"case\":\"%s\",\"path\":", cd->name);
    bench_json_str(stdout, path);
    printf(",\"loss\":%.9g,\"check_dequantize\":\"%s\"}\n", (double)loss->data[0],
           gm_config_get(&m->config, "dequantize"));
    gm_st_writer_free(w);
    gm_ctx_free(ctx);
    gm_model_free(m);
    teardown(&c);
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int want[N_CASES] = {0}, any = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dump") && i + 1 < argc) {
            dir = argv[++i];
            continue;
        }
        int found = 0;
        for (int k = 0; k < N_CASES; k++)
            if (!strcmp(argv[i], k_cases[k].name)) want[k] = found = any = 1;
        if (!found) {
            fprintf(stderr, "usage: bench_flows [--dump DIR] [affine784|flow2d|realnvp]...\n");
            return 2;
        }
    }
    if (gm_set_threads(atoi(bench_env_or("GM_BENCH_THREADS", "2"))) != GM_OK) {
        fprintf(stderr, "bench_flows: %s\n", gm_last_error());
        return 1;
    }
    for (int k = 0; k < N_CASES; k++) {
        if (any && !want[k]) continue;
        if (dir) dump(&k_cases[k], dir);
        else run(&k_cases[k]);
    }
    return 0;
}
