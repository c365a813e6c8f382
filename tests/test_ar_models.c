/*
 * test_ar_models.c — the autoregressive binary models fvsbn, nade and made:
 *   - exact normalisation: Σ over all 2^D states of p(x) = 1 within 1e-5
 *     (D = 10), with random weights and after training steps, for every
 *     model, one MADE mask and K-mask ensembles;
 *   - the autoregressive property: logit_i does not depend on x_j unless j
 *     comes before i (autodiff gradient for fvsbn/made, exact flips for all);
 *   - sampling: 10^5 samples on D = 4 against the model's own probabilities
 *     (chi-square, fixed seed), also conditional on observed dimensions;
 *   - the fast samplers equal the naive D-forward-pass sampler on the same
 *     uniforms; NADE's O(DH) log p equals a naive O(D²H) loop in double;
 *   - golden log p and gradients from PyTorch (tests/golden/gen_ar.py).
 */
#include "genmod/model.h"
#include "genmod/ops.h"
#include "genmod/optim.h"
#include "genmod/safetensors.h"
#include "models/ar_common.h"
#include "testutil.h"
#include "golden.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *label, *model, *kv[4][2];
} model_spec;

/* configurations exercised by every property test */
static const model_spec SPECS[] = {
    {"fvsbn natural", "fvsbn", {{"order", "natural"}}},
    {"fvsbn random", "fvsbn", {{"order", "random"}}},
    {"nade H=5 random", "nade", {{"hidden", "5"}, {"order", "random"}}},
    {"nade H=37 natural", "nade", {{"hidden", "37"}, {"order", "natural"}}},
    {"made 1x8", "made", {{"hidden", "8"}}},
    {"made 2x(9,7) direct random", "made", {{"hidden", "9,7"}, {"direct", "1"}, {"order", "random"}}},
    {"made 3x(6,6,6) K=4 random", "made", {{"hidden", "6,6,6"}, {"masks", "4"}, {"order", "random"}}},
    {"made 1x12 K=3 natural", "made", {{"hidden", "12"}, {"masks", "3"}}},
};
#define N_SPECS ((int)(sizeof SPECS / sizeof SPECS[0]))

static gm_model *make(const model_spec *s, int64_t D, uint64_t seed) {
    gm_config cfg = {0};
    for (int i = 0; i < 4 && s->kv[i][0]; i++) gm_config_set(&cfg, s->kv[i][0], s->kv[i][1]);
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_INIT);
    gm_model *m = NULL;
    gm_status st = gm_model_create(gm_model_find(s->model), &cfg, D, 0, 0, 0, &r, &m);
    CHECK(st == GM_OK && m, "create %s: %s", s->label, gm_last_error());
    return m;
}

/* Trainable parameters ~ N(0, std); buffers (orderings, degrees) untouched. */
static void randomize(gm_model *m, uint64_t seed, float std) {
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_NOISE);
    for (int i = 0; i < m->params.count; i++)
        if (m->params.entries[i].trainable)
            gm_rng_fill_normal(&r, gm_params_get(&m->params, i)->data, m->params.entries[i].numel, 0.0f, std);
}

static float *all_states(int D) { // (2^D, D), row i = bits of i
    int64_t N = (int64_t)1 << D;
    float *x = malloc((size_t)(N * D) * sizeof *x);
    for (int64_t i = 0; i < N; i++)
        for (int d = 0; d < D; d++) x[i * D + d] = (float)((i >> d) & 1);
    return x;
}

static float *random_binary(int64_t B, int64_t D, uint64_t seed) { // (B, D)
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_DATA);
    float *x = malloc((size_t)(B * D) * sizeof *x);
    for (int64_t i = 0; i < B * D; i++) x[i] = (float)gm_rng_bernoulli(&r, 0.2 + 0.6 * (double)(i % D) / (double)D);
    return x;
}

static double sum_prob(gm_model *m, gm_ctx *ctx, const float *X, int64_t N, double *lp) {
    CHECK(m->def->log_prob(m, ctx, X, N, lp) == GM_OK, "log_prob: %s", gm_last_error());
    double s = 0;
    for (int64_t i = 0; i < N; i++) s += exp(lp[i]);
    return s;
}

/* ------------------------------------------------------------ normalisation */
static void test_normalisation(gm_ctx *ctx) {
    const int D = 10;
    int64_t N = (int64_t)1 << D;
    float *X = all_states(D);
    double *lp = malloc((size_t)N * sizeof *lp);
    float *data = random_binary(64, D, 5);
    for (int s = 0; s < N_SPECS; s++) {
        gm_model *m = make(&SPECS[s], D, 10 + (uint64_t)s);
        if (!m) continue;
        randomize(m, 20 + (uint64_t)s, 0.8f);
        double z = sum_prob(m, ctx, X, N, lp);
        CHECK_CLOSE(z, 1.0, 1e-5, 0, SPECS[s].label);
        /* every mask set on its own is normalised too */
        const gm_ar_ops *ar = gm_ar_ops_of(m);
        for (int k = 0; k < ar->n_sets(m); k++) {
            CHECK(gm_ar_log_prob_set(m, ctx, k, X, N, lp) == GM_OK, "log_prob_set");
            double zk = 0;
            for (int64_t i = 0; i < N; i++) zk += exp(lp[i]);
            CHECK(fabs(zk - 1.0) <= 1e-5, "%s: set %d sums to %.8f", SPECS[s].label, k, zk);
        }
        /* training steps (Adam, lr 0.05; MADE draws its mask set from rng) */
        gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
        oc.lr = 0.05f;
        gm_optim *opt = gm_optim_new(&oc, &m->params);
        gm_rng rng;
        gm_rng_seed(&rng, 3, GM_STREAM_DROPOUT);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++) {
            gm_ctx_reset(ctx);
            gm_params_zero_grad(&m->params);
            int64_t shape[2] = {64, D};
            gm_tensor *loss = m->def->loss(m, ctx, gm_wrap(ctx, 2, shape, data), &rng);
            CHECK(loss != NULL, "%s loss: %s", SPECS[s].label, gm_ctx_error(ctx));
            if (!loss) break;
            CHECK(gm_backward(ctx, loss) == GM_OK, "backward");
            gm_optim_step(opt, &m->params, oc.lr);
            if (step == 0) first = loss->data[0];
            last = loss->data[0];
        }
        CHECK(last < first, "%s: training lowers the loss (%.4f -> %.4f)", SPECS[s].label, first, last);
        z = sum_prob(m, ctx, X, N, lp);
        CHECK(fabs(z - 1.0) <= 1e-5, "%s after training: Σp = %.8f", SPECS[s].label, z);
        gm_optim_free(opt);
        gm_model_free(m);
    }
    free(data);
    free(lp);
    free(X);
}

/* -------------------------------------------------- autoregressive property */
static void test_ar_property(gm_ctx *ctx) {
    const int D = 9, B = 3;
    float *x = random_binary(B, D, 8);
    float *l0 = malloc(sizeof(float) * B * D), *l1 = malloc(sizeof(float) * B * D);
    int64_t order[9], pos[9];
    for (int s = 0; s < N_SPECS; s++) {
        gm_model *m = make(&SPECS[s], D, 30 + (uint64_t)s);
        if (!m) continue;
        randomize(m, 40 + (uint64_t)s, 0.8f);
        const gm_ar_ops *ar = gm_ar_ops_of(m);
        int bad_flip = 0, bad_grad = 0, nonzero_grad = 0;
        for (int k = 0; k < ar->n_sets(m); k++) {
            CHECK(ar->order(m, k, order) == GM_OK, "order");
            for (int p = 0; p < D; p++) pos[order[p]] = p;
            /* flips: flipping x_j leaves every logit at or before pos(j) bit-identical */
            CHECK(gm_ar_logits(m, ctx, k, x, B, l0) == GM_OK, "logits");
            for (int j = 0; j < D; j++) {
                for (int r = 0; r < B; r++) x[r * D + j] = 1.0f - x[r * D + j];
                CHECK(gm_ar_logits(m, ctx, k, x, B, l1) == GM_OK, "logits");
                for (int r = 0; r < B; r++) x[r * D + j] = 1.0f - x[r * D + j];
                for (int r = 0; r < B; r++)
                    for (int i = 0; i < D; i++)
                        if (pos[i] <= pos[j] && l0[r * D + i] != l1[r * D + i]) bad_flip++;
            }
            /* autodiff: d logit_i / d x (x a leaf), one backward per output i */
            if (strcmp(SPECS[s].model, "nade") == 0) continue; /* the NADE op takes no gradient in x */
            for (int i = 0; i < D; i++) {
                gm_ctx_reset(ctx);
                int64_t shape[2] = {B, D};
                gm_tensor *xt = gm_from_data(ctx, 2, shape, x);
                gm_requires_grad(xt);
                gm_tensor *lg = ar->logits_t(m, ctx, k, xt);
                float seed[27] = {0};
                for (int r = 0; r < B; r++) seed[r * D + i] = 1.0f;
                CHECK(lg && gm_backward_with(ctx, lg, seed) == GM_OK, "backward: %s", gm_ctx_error(ctx));
                if (!lg || !xt->grad) { bad_grad++; continue; }
                for (int r = 0; r < B; r++)
                    for (int j = 0; j < D; j++) {
                        float g = xt->grad[r * D + j];
                        if (pos[j] >= pos[i] && g != 0.0f) bad_grad++;
                        if (pos[j] < pos[i] && g != 0.0f) nonzero_grad++;
                    }
            }
        }
        CHECK(bad_flip == 0, "%s: %d logits changed when a later-or-same x_j flipped", SPECS[s].label, bad_flip);
        CHECK(bad_grad == 0, "%s: %d nonzero d logit_i / d x_j with j not before i", SPECS[s].label, bad_grad);
        if (strcmp(SPECS[s].model, "nade") != 0)
            CHECK(nonzero_grad > 0, "%s: some earlier inputs do influence the logits", SPECS[s].label);
        gm_model_free(m);
    }
    free(x); free(l0); free(l1);
}

/* ---------------------------------------------------------------- sampling */
/* Pearson chi-square of counts (16 cells) against probabilities p; returns X². */
static double chisq(const int64_t *cnt, const double *p, int cells, int64_t n) {
    double x2 = 0;
    for (int c = 0; c < cells; c++) {
        double e = p[c] * (double)n;
        x2 += (cnt[c] - e) * (cnt[c] - e) / e;
    }
    return x2;
}

static void test_sampling(gm_ctx *ctx) {
    const int D = 4, N = 100000;
    float *X = all_states(D);
    double lp[16], p[16];
    float *s = malloc(sizeof(float) * (size_t)N * D);
    /* X² thresholds: 15 dof at p = 0.001 is 37.70; 3 dof (conditional) 16.27 */
    for (int sp = 0; sp < N_SPECS; sp++) {
        gm_model *m = make(&SPECS[sp], D, 50 + (uint64_t)sp);
        if (!m) continue;
        randomize(m, 60 + (uint64_t)sp, 1.0f);
        CHECK(m->def->log_prob(m, ctx, X, 16, lp) == GM_OK, "log_prob");
        for (int c = 0; c < 16; c++) p[c] = exp(lp[c]);
        gm_rng rng;
        gm_rng_seed(&rng, 7, GM_STREAM_SAMPLE);
        CHECK(m->def->sample(m, ctx, &rng, N, s) == GM_OK, "sample: %s", gm_last_error());
        int64_t cnt[16] = {0};
        for (int i = 0; i < N; i++) {
            int c = 0;
            for (int d = 0; d < D; d++) c |= (s[i * D + d] != 0.0f) << d;
            cnt[c]++;
        }
        double x2 = chisq(cnt, p, 16, N);
        CHECK(x2 < 37.70, "%s: sampling chi-square %.2f (15 dof, p=0.001 threshold 37.70)", SPECS[sp].label, x2);
        /* conditional: observe the dimensions at the first two positions of
         * set 0's ordering, sample the rest, compare with p(x)/p(x_obs) */
        int64_t order[4];
        gm_ar_ops_of(m)->order(m, 0, order);
        unsigned char obs_mask[4] = {0};
        obs_mask[order[0]] = obs_mask[order[1]] = 1;
        float *obs = malloc(sizeof(float) * (size_t)N * D);
        for (int i = 0; i < N; i++)
            for (int d = 0; d < D; d++) obs[i * D + d] = d == order[0] ? 1.0f : 0.0f; /* x_o0 = 1, x_o1 = 0 */
        gm_status st = m->def->sample_cond(m, ctx, &rng, N, obs, obs_mask, s);
        /* sets whose ordering does not start with the same two dims are skipped;
         * the rows then come from the usable sets, weighted by p_k(x_obs) */
        CHECK(st == GM_OK, "%s: sample_cond: %s", SPECS[sp].label, gm_last_error());
        int64_t ccnt[16] = {0};
        int kept = 1;
        for (int i = 0; i < N; i++) {
            kept &= s[i * D + order[0]] == 1.0f && s[i * D + order[1]] == 0.0f;
            int c = 0;
            for (int d = 0; d < D; d++) c |= (s[i * D + d] != 0.0f) << d;
            ccnt[c]++;
        }
        CHECK(kept, "%s: observed values are kept", SPECS[sp].label);
        /* p(x_rest | x_obs) under the mixture of the usable sets */
        const gm_ar_ops *ar = gm_ar_ops_of(m);
        double pc[16] = {0}, zc = 0;
        for (int k = 0; k < ar->n_sets(m); k++) {
            int64_t ok[4];
            ar->order(m, k, ok);
            unsigned char om[4] = {0};
            om[order[0]] = om[order[1]] = 1;
            if (gm_ar_observed_prefix(ok, D, om) < 0) continue;
            double lpk[16];
            gm_ar_log_prob_set(m, ctx, k, X, 16, lpk);
            for (int c = 0; c < 16; c++)
                if (((c >> order[0]) & 1) == 1 && ((c >> order[1]) & 1) == 0) { pc[c] += exp(lpk[c]); zc += exp(lpk[c]); }
        }
        int64_t cc[4];
        double pp[4];
        int nc = 0;
        for (int c = 0; c < 16; c++)
            if (pc[c] > 0) { pp[nc] = pc[c] / zc; cc[nc] = ccnt[c]; nc++; }
        CHECK(nc == 4, "four completions");
        if (nc == 4) {
            double x2c = chisq(cc, pp, 4, N);
            CHECK(x2c < 16.27, "%s: conditional chi-square %.2f (3 dof, threshold 16.27)", SPECS[sp].label, x2c);
        }
        free(obs);
        gm_model_free(m);
    }
    free(s);
    free(X);
}

/* The fast samplers against the naive D-pass sampler, same uniforms. */
static void test_fast_equals_naive(gm_ctx *ctx) {
    const int D = 12, n = 40;
    for (int sp = 0; sp < N_SPECS; sp++) {
        gm_model *m = make(&SPECS[sp], D, 70 + (uint64_t)sp);
        if (!m) continue;
        randomize(m, 80 + (uint64_t)sp, 1.0f);
        const gm_ar_ops *ar = gm_ar_ops_of(m);
        float *U = malloc(sizeof(float) * n * D), *a = malloc(sizeof(float) * n * D), *b = malloc(sizeof(float) * n * D);
        gm_rng r;
        gm_rng_seed(&r, 9, GM_STREAM_SAMPLE);
        for (int k = 0; k < ar->n_sets(m); k++)
            for (int nobs = 0; nobs <= 5; nobs += 5) {
                gm_rng_fill_uniform(&r, U, n * D, 0.0f, 1.0f);
                float *xo = random_binary(n, D, 11 + (uint64_t)k);
                memcpy(a, xo, sizeof(float) * n * D);
                memcpy(b, xo, sizeof(float) * n * D);
                CHECK(ar->sample_u(m, k, U, n, nobs, a) == GM_OK, "sample_u");
                CHECK(gm_ar_sample_naive(m, ctx, k, U, n, nobs, b) == GM_OK, "naive");
                int diff = 0, kept = 1;
                int64_t order[12];
                ar->order(m, k, order);
                for (int i = 0; i < n * D; i++) diff += a[i] != b[i];
                for (int i = 0; i < n; i++)
                    for (int p = 0; p < nobs; p++) kept &= a[i * D + order[p]] == xo[i * D + order[p]];
                CHECK(diff == 0, "%s set %d n_obs %d: fast and naive samplers differ in %d of %d values",
                      SPECS[sp].label, k, nobs, diff, n * D);
                CHECK(kept, "%s: observed prefix kept", SPECS[sp].label);
                free(xo);
            }
        free(U); free(a); free(b);
        gm_model_free(m);
    }
}

/* NADE log p in O(DH) (the op) against a naive O(D²H) double loop that
 * recomputes every hidden pre-activation from scratch. */
static void test_nade_naive(gm_ctx *ctx) {
    const int D = 20, H = 13, B = 6;
    model_spec s = {"nade", "nade", {{"hidden", "13"}, {"order", "random"}}};
    gm_model *m = make(&s, D, 90);
    if (!m) return;
    randomize(m, 91, 0.7f);
    float *x = random_binary(B, D, 92);
    double lp[6];
    CHECK(m->def->log_prob(m, ctx, x, B, lp) == GM_OK, "log_prob");
    const float *W = gm_params_find(&m->params, "W")->data, *c = gm_params_find(&m->params, "c")->data;
    const float *V = gm_params_find(&m->params, "V")->data, *bb = gm_params_find(&m->params, "b")->data;
    int64_t order[20];
    gm_ar_ops_of(m)->order(m, 0, order);
    double worst = 0;
    for (int r = 0; r < B; r++) {
        double ref = 0;
        for (int k = 0; k < D; k++) {
            int64_t d = order[k];
            double logit = bb[d];
            for (int j = 0; j < H; j++) {
                double a = c[j];
                for (int q = 0; q < k; q++) a += (double)W[order[q] * H + j] * x[r * D + order[q]];
                logit += V[d * H + j] / (1.0 + exp(-a));
            }
            ref += x[r * D + d] * logit - (logit > 0 ? logit + log1p(exp(-logit)) : log1p(exp(logit)));
        }
        worst = fmax(worst, fabs(lp[r] - ref));
    }
    CHECK(worst < 1e-4, "NADE O(DH) log p vs naive O(D²H): max |diff| %.3g (tol 1e-4)", worst);
    free(x);
    gm_model_free(m);
}

/* Golden log p and gradients from PyTorch (tests/golden/gen_ar.py, float64
 * reference): parameters and buffers are loaded by name from the file. */
static void test_golden(gm_ctx *ctx) {
    gm_golden *g = gm_golden_open(gm_test_src_path("tests/golden/ar_models.safetensors"));
    CHECK(g != NULL, "open ar_models.safetensors: %s", gm_last_error());
    if (!g) return;
    struct { const char *prefix; model_spec spec; int set, K; } cases[] = {
        {"fvsbn.", {"fvsbn", "fvsbn", {{"order", "natural"}}}, 0, 1},
        {"nade.", {"nade", "nade", {{"hidden", "4"}}}, 0, 1},
        {"made1.", {"made1", "made", {{"hidden", "6"}, {"direct", "1"}}}, 0, 1},
        {"made2.", {"made2", "made", {{"hidden", "6,5"}, {"masks", "3"}}}, 1, 3},
    };
    const int D = 7, B = 5;
    for (int c = 0; c < 4; c++) {
        gm_model *m = make(&cases[c].spec, D, 1);
        if (!m) continue;
        char name[128];
        int loaded = 1;
        for (int i = 0; i < m->params.count; i++) {
            snprintf(name, sizeof name, "%s%s", cases[c].prefix, m->params.entries[i].name);
            loaded &= gm_golden_read(g, name, gm_params_get(&m->params, i)->data, m->params.entries[i].numel);
        }
        CHECK(loaded, "%s: every parameter and buffer is in the golden file", cases[c].prefix);
        float x[35], want[15];
        double lp[5];
        snprintf(name, sizeof name, "%sx", cases[c].prefix);
        CHECK(gm_golden_read(g, name, x, B * D), "%s", name);
        snprintf(name, sizeof name, "%slogp", cases[c].prefix);
        CHECK(gm_golden_read(g, name, want, B), "%s", name);
        CHECK(m->def->log_prob(m, ctx, x, B, lp) == GM_OK, "log_prob");
        float got[15];
        for (int i = 0; i < B; i++) got[i] = (float)lp[i];
        CHECK_ARRAYS(cases[c].prefix, got, want, B, 1e-5, 1e-5);
        if (cases[c].K > 1) { /* every mask set on its own */
            snprintf(name, sizeof name, "%slogp_k", cases[c].prefix);
            CHECK(gm_golden_read(g, name, want, cases[c].K * B), "%s", name);
            for (int k = 0; k < cases[c].K; k++) {
                gm_ar_log_prob_set(m, ctx, k, x, B, lp);
                for (int i = 0; i < B; i++) got[k * B + i] = (float)lp[i];
            }
            CHECK_ARRAYS("per mask set log p", got, want, cases[c].K * B, 1e-5, 1e-5);
        }
        /* gradients of -mean log p (mask set `set`) */
        gm_ctx_reset(ctx);
        gm_params_zero_grad(&m->params);
        int64_t shape[2] = {B, D};
        gm_tensor *xt = gm_from_data(ctx, 2, shape, x);
        gm_tensor *lg = gm_ar_ops_of(m)->logits_t(m, ctx, cases[c].set, xt);
        gm_tensor *loss = gm_neg(ctx, gm_mean(ctx, gm_sum(ctx, gm_bernoulli_log_prob(ctx, xt, lg), 1, 0), GM_ALL_AXES, 0));
        CHECK(loss && gm_backward(ctx, loss) == GM_OK, "backward: %s", gm_ctx_error(ctx));
        for (int i = 0; i < m->params.count && loss; i++) {
            if (!m->params.entries[i].trainable) continue;
            int64_t n = m->params.entries[i].numel;
            float *want_g = malloc(sizeof(float) * (size_t)n);
            snprintf(name, sizeof name, "%sgrad.%s", cases[c].prefix, m->params.entries[i].name);
            CHECK(gm_golden_read(g, name, want_g, n), "%s", name);
            CHECK_ARRAYS(name, gm_params_get(&m->params, i)->grad, want_g, n, 1e-5, 1e-4);
            free(want_g);
        }
        gm_model_free(m);
    }
    gm_golden_close(g);
}

/* Orderings and degrees are buffers that come from files: bad values are
 * errors from log_prob / sample, never crashes. */
static void test_bad_buffers(gm_ctx *ctx) {
    const int D = 6;
    float x[6] = {1, 0, 1, 1, 0, 0}, out[6];
    double lp;
    const char *models[3] = {"fvsbn", "nade", "made"};
    for (int i = 0; i < 3; i++) {
        model_spec s = {models[i], models[i], {{"hidden", "5"}}};
        gm_model *m = make(&s, D, 3);
        if (!m) continue;
        const char *buf = i < 2 ? "order" : "degrees.in";
        float *o = gm_params_find(&m->params, buf)->data;
        o[2] = o[3]; /* a repeated entry: not a permutation */
        CHECK(m->def->log_prob(m, ctx, x, 1, &lp) != GM_OK && strstr(gm_last_error(), "permutation"),
              "%s: duplicate in %s: %s", models[i], buf, gm_last_error());
        gm_rng r;
        gm_rng_seed(&r, 1, GM_STREAM_SAMPLE);
        CHECK(m->def->sample(m, ctx, &r, 1, out) != GM_OK, "%s: sampling with a bad %s fails", models[i], buf);
        o[2] = 1e9f;
        CHECK(m->def->log_prob(m, ctx, x, 1, &lp) != GM_OK, "%s: out-of-range %s entry", models[i], buf);
        gm_model_free(m);
    }
    model_spec s = {"made", "made", {{"hidden", "5"}}};
    gm_model *m = make(&s, D, 3);
    if (m) {
        gm_params_find(&m->params, "degrees.0")->data[0] = (float)D; /* hidden degrees must be <= D-2 */
        CHECK(m->def->log_prob(m, ctx, x, 1, &lp) != GM_OK && strstr(gm_last_error(), "degrees.0"),
              "made: hidden degree out of range: %s", gm_last_error());
        gm_model_free(m);
    }
}

/* MADE runs a set with another ordering in position order when its hidden
 * units are sorted by degree (gathered inputs, first-layer columns, output
 * rows). Reversing every hidden layer's units is a symmetry of the model that
 * leaves the degrees unsorted, so the same function then runs on the plain
 * path: log p and the parameter gradients must agree. */
static void test_made_position_order(gm_ctx *ctx) {
    const int64_t D = 10, B = 32;
    model_spec s = {"made 2x(7,6) direct K=3 random", "made",
                    {{"hidden", "7,6"}, {"direct", "1"}, {"masks", "3"}, {"order", "random"}}};
    gm_model *ma = make(&s, D, 41), *mb = make(&s, D, 41);
    if (!ma || !mb) return;
    randomize(ma, 42, 0.7f);
    randomize(mb, 42, 0.7f);
    const int64_t H[3] = {D, 7, 6};
    char name[64];
    for (int l = 1; l <= 2; l++) { /* reverse the units of hidden layer l in mb */
        snprintf(name, sizeof name, "layers.%d.weight", l - 1);
        float *w = gm_params_find(&mb->params, name)->data;
        snprintf(name, sizeof name, "layers.%d.bias", l - 1);
        float *bias = gm_params_find(&mb->params, name)->data;
        snprintf(name, sizeof name, l == 2 ? "out.weight" : "layers.%d.weight", l);
        float *wn = gm_params_find(&mb->params, name)->data; /* (next, H_l): columns */
        int64_t next = l == 2 ? D : H[l + 1];
        snprintf(name, sizeof name, "degrees.%d", l - 1);
        float *dg = gm_params_find(&mb->params, name)->data; /* (K, H_l) */
        for (int64_t u = 0; u < H[l] / 2; u++) {
            int64_t v = H[l] - 1 - u;
            for (int64_t j = 0; j < H[l - 1]; j++) { float t = w[u * H[l - 1] + j]; w[u * H[l - 1] + j] = w[v * H[l - 1] + j]; w[v * H[l - 1] + j] = t; }
            float t = bias[u]; bias[u] = bias[v]; bias[v] = t;
            for (int64_t i = 0; i < next; i++) { t = wn[i * H[l] + u]; wn[i * H[l] + u] = wn[i * H[l] + v]; wn[i * H[l] + v] = t; }
            for (int k = 0; k < 3; k++) { t = dg[k * H[l] + u]; dg[k * H[l] + u] = dg[k * H[l] + v]; dg[k * H[l] + v] = t; }
        }
    }
    float *x = random_binary(B, D, 43);
    double lpa[32], lpb[32];
    CHECK(ma->def->log_prob(ma, ctx, x, B, lpa) == GM_OK && mb->def->log_prob(mb, ctx, x, B, lpb) == GM_OK,
          "log_prob: %s", gm_last_error());
    double worst = 0;
    for (int64_t i = 0; i < B; i++) worst = fmax(worst, fabs(lpa[i] - lpb[i]));
    CHECK(worst < 1e-5, "position-order path vs plain path: log p differs by %g", worst);
    /* one training loss each (same rng: same mask set), then the gradients */
    gm_model *ms[2] = {ma, mb};
    for (int k = 0; k < 2; k++) {
        gm_ctx_reset(ctx);
        gm_params_zero_grad(&ms[k]->params);
        gm_rng r;
        gm_rng_seed(&r, 44, GM_STREAM_DROPOUT);
        gm_tensor *xt = gm_new2(ctx, B, D);
        memcpy(xt->data, x, sizeof(float) * (size_t)(B * D));
        gm_tensor *loss = ms[k]->def->loss(ms[k], ctx, xt, &r);
        CHECK(loss && gm_backward(ctx, loss) == GM_OK, "loss/backward: %s", gm_ctx_error(ctx));
    }
    static const char *same[3] = {"direct.weight", "out.bias", "layers.0.weight"};
    for (int t = 0; t < 3; t++) {
        const gm_tensor *ta = gm_params_find(&ma->params, same[t]), *tb = gm_params_find(&mb->params, same[t]);
        const float *ga = ta ? ta->grad : NULL, *gb = tb ? tb->grad : NULL;
        int64_t n = ta ? ta->numel : 0, cols = D;
        double err = 0;
        for (int64_t i = 0; ga && gb && i < n; i++) {
            int64_t j = t == 2 ? (H[1] - 1 - i / cols) * cols + i % cols : i; /* layer-0 rows reversed in mb */
            err = fmax(err, fabs(ga[i] - gb[j]));
        }
        CHECK(ga && gb && err < 1e-5, "position-order path vs plain path: gradient of %s differs by %g", same[t], err);
    }
    free(x);
    gm_model_free(ma);
    gm_model_free(mb);
}

int main(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    test_normalisation(ctx);
    test_ar_property(ctx);
    test_sampling(ctx);
    test_fast_equals_naive(ctx);
    test_nade_naive(ctx);
    test_golden(ctx);
    test_made_position_order(ctx);
    test_bad_buffers(ctx);
    gm_ctx_free(ctx);
    TEST_MAIN_END();
}
