/*
 * test_models.c — the model layer: config / hparam validation, registry and
 * data checks, the `bernoulli` and `mob` models (exact normalisation, loss vs
 * log_prob, gradients against a double-precision reference, sampling
 * statistics, init_data) and checkpoint save / load (round trip and hostile
 * files). All data is generated here; tolerances are stated at each check.
 */
#include "genmod/model.h"
#include "genmod/ops.h"
#include "genmod/optim.h"
#include "genmod/safetensors.h"
#include "testutil.h"
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static gm_model *make_model(const char *name, int K, int64_t D, uint64_t seed) {
    gm_config cfg = {0};
    char k[16];
    snprintf(k, sizeof k, "%d", K);
    if (K > 0) gm_config_set(&cfg, "components", k);
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_INIT);
    gm_model *m = NULL;
    gm_status st = gm_model_create(gm_model_find(name), &cfg, D, 0, 0, 0, &r, &m);
    CHECK(st == GM_OK && m, "create %s: %s", name, gm_last_error());
    return m;
}

/* Every parameter ~ N(0, std) (the alignment gaps of the flat buffer stay 0). */
static void randomize(gm_model *m, uint64_t seed, float std) {
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_NOISE);
    for (int i = 0; i < m->params.count; i++)
        gm_rng_fill_normal(&r, gm_params_get(&m->params, i)->data, m->params.entries[i].numel, 0.0f, std);
}

/* All 2^D binary vectors, row i = bits of i. (2^D, D) */
static float *all_states(int D) {
    int64_t N = (int64_t)1 << D;
    float *x = malloc((size_t)(N * D) * sizeof *x);
    for (int64_t i = 0; i < N; i++)
        for (int d = 0; d < D; d++) x[i * D + d] = (float)((i >> d) & 1);
    return x;
}

static float *random_binary(int64_t B, int64_t D, uint64_t seed) {
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_DATA);
    float *x = malloc((size_t)(B * D) * sizeof *x); // (B, D)
    for (int64_t i = 0; i < B * D; i++) x[i] = (float)gm_rng_bernoulli(&r, 0.2 + 0.6 * (double)(i % D) / (double)D);
    return x;
}

static double sum_prob(gm_model *m, gm_ctx *ctx, const float *X, int64_t N) {
    double *lp = malloc((size_t)N * sizeof *lp);
    gm_status st = m->def->log_prob(m, ctx, X, N, lp);
    CHECK(st == GM_OK, "log_prob: %s", gm_last_error());
    double s = 0;
    for (int64_t i = 0; i < N; i++) s += exp(lp[i]);
    free(lp);
    return s;
}

/* One training step: loss value (float) after backward + Adam. */
static double train_step(gm_model *m, gm_ctx *ctx, gm_optim *opt, float *x, int64_t B) {
    gm_ctx_reset(ctx);
    gm_params_zero_grad(&m->params);
    int64_t shape[2] = {B, m->dim};
    gm_tensor *loss = m->def->loss(m, ctx, gm_wrap(ctx, 2, shape, x), NULL);
    CHECK(loss != NULL, "loss: %s", gm_ctx_error(ctx));
    if (!loss) return NAN;
    CHECK(gm_backward(ctx, loss) == GM_OK, "backward: %s", gm_ctx_error(ctx));
    CHECK(gm_optim_step(opt, &m->params, gm_optim_get_config(opt)->lr) == GM_OK, "adam step");
    return loss->data[0];
}

static double softplus_d(double l) { return l > 0 ? l + log1p(exp(-l)) : log1p(exp(l)); }

/* Reference mob log p(x) in double. L (K, D), mix (K), x (D). */
static double ref_mob_logp(const double *L, const double *mix, int K, int D, const float *x) {
    double mmax = mix[0], mz = 0, best = -INFINITY, t[64];
    for (int k = 1; k < K; k++) mmax = mix[k] > mmax ? mix[k] : mmax;
    for (int k = 0; k < K; k++) mz += exp(mix[k] - mmax);
    for (int k = 0; k < K; k++) {
        double s = mix[k] - mmax - log(mz);
        for (int d = 0; d < D; d++) s += x[d] * L[k * D + d] - softplus_d(L[k * D + d]);
        t[k] = s;
        best = s > best ? s : best;
    }
    double z = 0;
    for (int k = 0; k < K; k++) z += exp(t[k] - best);
    return best + log(z);
}

static double ref_mob_nll(const double *L, const double *mix, int K, int D, const float *X, int B) {
    double s = 0;
    for (int i = 0; i < B; i++) s -= ref_mob_logp(L, mix, K, D, X + (int64_t)i * D);
    return s / B;
}

/* ---------------------------------------------------------------- config */

static void test_hparam_set(void) {
    gm_config c = {0};
    const gm_hparam ki = {"components", 'i', "500", 1, 100000, "K"};
    const gm_hparam kf = {"lr", 'f', "1e-3", 0, 10, "lr"};
    const gm_hparam ks = {"name", 's', "x", 0, 0, "s"};
    CHECK(gm_hparam_set(&c, &ki, "abc") == GM_ERR_ARG, "int 'abc'");
    CHECK(strcmp(gm_last_error(), "--components: expected an integer in [1, 100000], got \"abc\"") == 0, "msg: %s",
          gm_last_error());
    const char *bad_i[] = {"1.5", "0", "100001", "-3", "12x", "", " 5", "1e3", "99999999999999999999"};
    for (int i = 0; i < (int)(sizeof bad_i / sizeof *bad_i); i++)
        CHECK(gm_hparam_set(&c, &ki, bad_i[i]) == GM_ERR_ARG, "int '%s' must be rejected", bad_i[i]);
    CHECK(c.n == 0, "rejected values are not stored (n=%d)", c.n);
    CHECK(gm_hparam_set(&c, &ki, "42") == GM_OK && gm_config_int(&c, "components", 0) == 42, "int 42");
    CHECK(gm_hparam_set(&c, &ki, "+7") == GM_OK && strcmp(gm_config_get(&c, "components"), "7") == 0,
          "ints stored canonically");
    CHECK(gm_hparam_set(&c, &ki, "100000") == GM_OK && gm_hparam_set(&c, &ki, "1") == GM_OK, "range inclusive");
    const char *bad_f[] = {"nan", "NaN", "inf", "-inf", "-1", "10.5", "1e999", "0.1abc", "", "abc"};
    for (int i = 0; i < (int)(sizeof bad_f / sizeof *bad_f); i++)
        CHECK(gm_hparam_set(&c, &kf, bad_f[i]) == GM_ERR_ARG, "float '%s' must be rejected", bad_f[i]);
    CHECK(strstr(gm_last_error(), "--lr: expected a number in [0, 10]") != NULL, "msg: %s", gm_last_error());
    CHECK(gm_hparam_set(&c, &kf, "2.5e-3") == GM_OK, "float 2.5e-3");
    CHECK_CLOSE(gm_config_float(&c, "lr", 0), 2.5e-3, 0, 1e-15, "float read back");
    CHECK(gm_hparam_set(&c, &kf, "0") == GM_OK && gm_hparam_set(&c, &kf, "10") == GM_OK, "float range inclusive");
    char s216[217], s215[216];
    memset(s216, 'a', 216); s216[216] = 0;
    memset(s215, 'b', 215); s215[215] = 0;
    CHECK(gm_hparam_set(&c, &ks, s216) == GM_ERR_ARG, "216-char string rejected");
    CHECK(gm_hparam_set(&c, &ks, s215) == GM_OK && strlen(gm_config_get(&c, "name")) == 215, "215-char string kept");
    /* defaults fill only missing keys */
    gm_config d = {0};
    gm_config_set(&d, "lr", "0.5");
    const gm_hparam specs[2] = {ki, kf};
    CHECK(gm_hparams_defaults(&d, specs, 2) == GM_OK, "defaults");
    CHECK(strcmp(gm_config_get(&d, "components"), "500") == 0 && strcmp(gm_config_get(&d, "lr"), "0.5") == 0,
          "defaults do not overwrite");
    CHECK(gm_config_int(&d, "missing", -9) == -9 && gm_config_float(&d, "missing", 2.5) == 2.5, "typed defaults");
    /* set / replace / full / json */
    gm_config e = {0};
    CHECK(gm_config_set(&e, "k", "v1") == GM_OK && gm_config_set(&e, "k", "v\"2") == GM_OK && e.n == 1, "replace");
    char js[64];
    CHECK(gm_config_to_json(&e, js, sizeof js) == GM_OK && strcmp(js, "{\"k\":\"v\\\"2\"}") == 0, "json: %s", js);
    CHECK(gm_config_to_json(&e, js, 5) == GM_ERR_ARG, "json buffer too small");
    char key[40];
    memset(key, 'k', 39); key[39] = 0;
    CHECK(gm_config_set(&e, key, "x") == GM_OK, "39-char key");
    key[38] = 0;
    for (int i = 0; e.n < GM_CONFIG_MAX; i++) {
        snprintf(key, sizeof key, "key%d", i);
        gm_config_set(&e, key, "1");
    }
    CHECK(gm_config_set(&e, "one-too-many", "1") == GM_ERR_ARG, "full config");
}

static void test_registry_and_create(void) {
    CHECK(gm_model_count() == 8, "eight models");
    CHECK(gm_model_at(0) && strcmp(gm_model_at(0)->name, "bernoulli") == 0, "order 0");
    CHECK(gm_model_at(1) && strcmp(gm_model_at(1)->name, "mob") == 0, "order 1");
    CHECK(gm_model_at(4) && strcmp(gm_model_at(4)->name, "made") == 0, "order 4");
    CHECK(gm_model_at(7) && strcmp(gm_model_at(7)->name, "flow2d") == 0, "order 7");
    CHECK(gm_model_at(8) == NULL && gm_model_at(-1) == NULL, "out of range");
    CHECK(gm_model_find("mob") == gm_model_at(1) && gm_model_find("nope") == NULL, "find");
    const gm_model_def *mob = gm_model_find("mob");
    gm_model *m = NULL;
    gm_config cfg = {0};
    gm_config_set(&cfg, "components", "abc");
    CHECK(gm_model_create(mob, &cfg, 5, 0, 0, 0, NULL, &m) == GM_ERR_ARG && m == NULL, "bad components");
    CHECK(strstr(gm_last_error(), "--components") != NULL, "msg: %s", gm_last_error());
    CHECK(gm_model_create(mob, NULL, 0, 0, 0, 0, NULL, &m) == GM_ERR_ARG, "dim 0");
    CHECK(gm_model_create(mob, NULL, 6, 1, 2, 4, NULL, &m) == GM_ERR_ARG, "geometry mismatch");
    gm_config_set(&cfg, "components", "3");
    gm_config_set(&cfg, "lr", "0.01"); /* a trainer key: allowed, kept */
    CHECK(gm_model_create(mob, &cfg, 6, 1, 2, 3, NULL, &m) == GM_OK, "create: %s", gm_last_error());
    if (m) {
        CHECK(m->params.count == 2 && m->params.entries[0].shape[0] == 3 && m->params.entries[0].shape[1] == 6 &&
                  m->params.entries[1].shape[0] == 3, "mob params (3, 6), (3)");
        CHECK(strcmp(gm_config_get(&m->config, "lr"), "0.01") == 0, "foreign key kept");
        gm_model_free(m);
    }
    m = NULL;
    CHECK(gm_model_create(mob, NULL, 4, 0, 0, 0, NULL, &m) == GM_OK && m, "defaults");
    if (m) CHECK(gm_config_int(&m->config, "components", 0) == 500 && m->params.entries[0].shape[0] == 500, "K=500");
    gm_model_free(m);
}

static void test_check_data(void) {
    gm_model *m = make_model("mob", 2, 4, 1);
    if (!m) return;
    float x[12] = {0, 1, 1, 0, 1, 1, 0.5f, 0, 0, 0, 0, 1};
    CHECK(gm_model_check_data(m, x, 3, "train.amat") == GM_ERR_ARG, "0.5 rejected");
    CHECK(strcmp(gm_last_error(), "train.amat: row 1 column 2 has value 0.5; model 'mob' needs binary data (0/1)") == 0,
          "msg: %s", gm_last_error());
    x[6] = 1;
    CHECK(gm_model_check_data(m, x, 3, "train.amat") == GM_OK, "binary ok");
    x[8] = NAN;
    CHECK(gm_model_check_data(m, x, 3, "valid") == GM_ERR_ARG, "NaN rejected");
    CHECK(strstr(gm_last_error(), "valid: row 2 column 0 has value nan") != NULL, "msg: %s", gm_last_error());
    gm_model_free(m);
}

/* ---------------------------------------------------------------- models */

/* Σ_x exp(log p(x)) over all 1024 states of D = 10: 1 within 1e-5, with
 * random parameters and after 20 Adam steps on random binary data. */
static void test_normalisation(gm_ctx *ctx) {
    const int D = 10;
    float *X = all_states(D);
    float *data = random_binary(64, D, 7);
    const char *names[2] = {"bernoulli", "mob"};
    for (int t = 0; t < 2; t++) {
        gm_model *m = make_model(names[t], t ? 7 : 0, D, 3);
        if (!m) continue;
        randomize(m, 11 + t, 1.5f);
        CHECK_CLOSE(sum_prob(m, ctx, X, 1024), 1.0, 1e-5, 0, names[t]);
        gm_optim_config oc = gm_optim_defaults(GM_OPTIM_ADAM);
        oc.lr = 0.05;
        gm_optim *opt = gm_optim_new(&oc, &m->params);
        double first = train_step(m, ctx, opt, data, 64), last = first;
        for (int s = 1; s < 20; s++) last = train_step(m, ctx, opt, data, 64);
        CHECK(last < first - 0.1, "%s: 20 Adam steps lower the loss (%g -> %g)", names[t], first, last);
        CHECK_CLOSE(sum_prob(m, ctx, X, 1024), 1.0, 1e-5, 0, names[t]);
        gm_optim_free(opt);
        gm_model_free(m);
    }
    free(X);
    free(data);
}

/* mob: loss == mean(-log_prob) (1e-5 rel), both == a double reference
 * (1e-5 rel), and d loss / d param == central differences of the double
 * reference (h = 1e-5) within 2e-5 + 2e-3 rel. */
static void test_mob_grad(gm_ctx *ctx) {
    const int K = 5, D = 8, B = 40;
    gm_model *m = make_model("mob", K, D, 5);
    if (!m) return;
    randomize(m, 21, 1.0f);
    float *x = random_binary(B, D, 9);
    float *Lf = gm_params_find(&m->params, "logits")->data, *Mf = gm_params_find(&m->params, "mix_logits")->data;
    double L[5 * 8], mix[5];
    for (int i = 0; i < K * D; i++) L[i] = Lf[i];
    for (int k = 0; k < K; k++) mix[k] = Mf[k];
    double ref = ref_mob_nll(L, mix, K, D, x, B);
    double lp[40], mlp = 0;
    CHECK(m->def->log_prob(m, ctx, x, B, lp) == GM_OK, "log_prob");
    for (int i = 0; i < B; i++) mlp -= lp[i] / B;
    gm_ctx_reset(ctx);
    gm_params_zero_grad(&m->params);
    int64_t shape[2] = {B, D};
    gm_tensor *loss = m->def->loss(m, ctx, gm_wrap(ctx, 2, shape, x), NULL);
    CHECK(loss && loss->numel == 1, "loss: %s", gm_ctx_error(ctx));
    if (!loss) { free(x); gm_model_free(m); return; }
    CHECK_CLOSE(loss->data[0], mlp, 0, 1e-5, "loss == mean(-log_prob)");
    CHECK_CLOSE(mlp, ref, 0, 1e-5, "log_prob vs double reference");
    CHECK(gm_backward(ctx, loss) == GM_OK, "backward");
    const float *gL = gm_params_find(&m->params, "logits")->grad, *gM = gm_params_find(&m->params, "mix_logits")->grad;
    const double h = 1e-5;
    const int idx[6] = {0, 7, 13, 22, 31, 39};
    for (int j = 0; j < 6; j++) {
        double o = L[idx[j]];
        L[idx[j]] = o + h; double fp = ref_mob_nll(L, mix, K, D, x, B);
        L[idx[j]] = o - h; double fm = ref_mob_nll(L, mix, K, D, x, B);
        L[idx[j]] = o;
        CHECK_CLOSE(gL[idx[j]], (fp - fm) / (2 * h), 2e-5, 2e-3, "d loss / d logits");
    }
    for (int k = 0; k < K; k++) {
        double o = mix[k];
        mix[k] = o + h; double fp = ref_mob_nll(L, mix, K, D, x, B);
        mix[k] = o - h; double fm = ref_mob_nll(L, mix, K, D, x, B);
        mix[k] = o;
        CHECK_CLOSE(gM[k], (fp - fm) / (2 * h), 2e-5, 2e-3, "d loss / d mix_logits");
    }
    /* log_prob in chunks (B = 2500 > GM_MODEL_LOGP_CHUNK) matches the reference; grad flag restored */
    float *big = random_binary(2500, D, 13);
    double *blp = malloc(2500 * sizeof *blp);
    gm_set_grad_enabled(ctx, 1);
    CHECK(m->def->log_prob(m, ctx, big, 2500, blp) == GM_OK, "chunked log_prob");
    CHECK(gm_grad_enabled(ctx) == 1, "grad flag restored");
    for (int i = 0; i < 2500; i += 499)
        CHECK_CLOSE(blp[i], ref_mob_logp(L, mix, K, D, big + (int64_t)i * D), 0, 1e-5, "chunked row");
    CHECK_CLOSE(blp[2499], ref_mob_logp(L, mix, K, D, big + (int64_t)2499 * D), 0, 1e-5, "last row");
    free(blp);
    free(big);
    free(x);
    gm_model_free(m);
}

/* mob with K = 1 is bernoulli with the same logits: log_prob and loss 1e-5 rel. */
static void test_mob_k1(gm_ctx *ctx) {
    const int D = 12, B = 100;
    gm_model *b = make_model("bernoulli", 0, D, 1), *m = make_model("mob", 1, D, 1);
    if (!b || !m) { gm_model_free(b); gm_model_free(m); return; }
    randomize(b, 31, 2.0f);
    memcpy(gm_params_find(&m->params, "logits")->data, b->params.data, D * sizeof(float));
    gm_params_find(&m->params, "mix_logits")->data[0] = 3.7f; /* irrelevant for K = 1 */
    float *x = random_binary(B, D, 17);
    double lb[100], lm[100];
    CHECK(b->def->log_prob(b, ctx, x, B, lb) == GM_OK && m->def->log_prob(m, ctx, x, B, lm) == GM_OK, "log_probs");
    int bad = 0;
    for (int i = 0; i < B; i++) bad += !(fabs(lb[i] - lm[i]) <= 1e-5 * fabs(lb[i]));
    CHECK(bad == 0, "%d rows differ by more than 1e-5 rel (row 0: %g vs %g)", bad, lb[0], lm[0]);
    int64_t shape[2] = {B, D};
    gm_ctx_reset(ctx);
    gm_tensor *l1 = b->def->loss(b, ctx, gm_wrap(ctx, 2, shape, x), NULL);
    gm_tensor *l2 = m->def->loss(m, ctx, gm_wrap(ctx, 2, shape, x), NULL);
    CHECK(l1 && l2, "losses");
    if (l1 && l2) CHECK_CLOSE(l2->data[0], l1->data[0], 0, 1e-5, "mob K=1 loss == bernoulli loss");
    /* bernoulli's loss is the mean NLL too */
    double mean = 0;
    for (int i = 0; i < B; i++) mean -= lb[i] / B;
    if (l1) CHECK_CLOSE(l1->data[0], mean, 0, 1e-5, "bernoulli loss == mean(-log_prob)");
    free(x);
    gm_model_free(b);
    gm_model_free(m);
}

/* Chi-square of n samples' state counts against exp(log_prob), D = 3. */
static double chi_square(gm_model *m, gm_ctx *ctx, const float *s, int64_t n) {
    float *X = all_states(3);
    double lp[8], cnt[8] = {0}, chi = 0;
    m->def->log_prob(m, ctx, X, 8, lp);
    for (int64_t i = 0; i < n; i++) {
        int st = 0;
        for (int d = 0; d < 3; d++) st |= (s[i * 3 + d] == 1.0f) << d;
        cnt[st]++;
    }
    for (int k = 0; k < 8; k++) chi += (cnt[k] - n * exp(lp[k])) * (cnt[k] - n * exp(lp[k])) / (n * exp(lp[k]));
    free(X);
    return chi;
}

/* D = 3, mob K = 2 with fixed parameters, 2e5 samples at seed 42: chi-square
 * over the 8 states (7 dof) below 24.32 (the 0.999 quantile); all values 0/1;
 * the same seed gives identical samples. Bernoulli the same. */
static void test_sampling(gm_ctx *ctx) {
    const int64_t n = 200000;
    gm_model *m = make_model("mob", 2, 3, 1), *b = make_model("bernoulli", 0, 3, 1);
    if (!m || !b) { gm_model_free(m); gm_model_free(b); return; }
    const float L[6] = {2.0f, -1.0f, 0.5f, -1.5f, 1.0f, -0.3f}, mix[2] = {0.3f, -0.2f}, bl[3] = {0.8f, -1.2f, 0.1f};
    memcpy(gm_params_find(&m->params, "logits")->data, L, sizeof L);
    memcpy(gm_params_find(&m->params, "mix_logits")->data, mix, sizeof mix);
    memcpy(b->params.data, bl, sizeof bl);
    float *s1 = malloc((size_t)n * 3 * sizeof *s1), *s2 = malloc((size_t)n * 3 * sizeof *s2);
    gm_rng r;
    gm_rng_seed(&r, 42, GM_STREAM_SAMPLE);
    CHECK(m->def->sample(m, ctx, &r, n, s1) == GM_OK, "sample");
    int binary = 1;
    for (int64_t i = 0; i < n * 3; i++) binary &= s1[i] == 0.0f || s1[i] == 1.0f;
    CHECK(binary, "samples are 0/1");
    double chi = chi_square(m, ctx, s1, n);
    CHECK(chi < 24.32, "mob chi-square %g >= 24.32 (7 dof, p = 0.001)", chi);
    gm_rng_seed(&r, 42, GM_STREAM_SAMPLE);
    CHECK(m->def->sample(m, ctx, &r, n, s2) == GM_OK && memcmp(s1, s2, (size_t)n * 3 * sizeof *s1) == 0,
          "same seed, same samples");
    gm_rng_seed(&r, 42, GM_STREAM_SAMPLE);
    CHECK(b->def->sample(b, ctx, &r, n, s1) == GM_OK, "bernoulli sample");
    chi = chi_square(b, ctx, s1, n);
    CHECK(chi < 24.32, "bernoulli chi-square %g >= 24.32 (7 dof, p = 0.001)", chi);
    free(s1);
    free(s2);
    gm_model_free(m);
    gm_model_free(b);
}

/* bernoulli.init_data = logit of the smoothed marginal (1e-6); each mob
 * component starts at a data row (sign pattern of its logits), seeded. */
static void test_init_data(void) {
    const int D = 6, n = 30;
    float *x = random_binary(n, D, 23);
    gm_model *b = make_model("bernoulli", 0, D, 1);
    gm_rng r;
    gm_rng_seed(&r, 5, GM_STREAM_INIT);
    if (b && b->def->init_data(b, x, n, &r) == GM_OK)
        for (int d = 0; d < D; d++) {
            double c = 0;
            for (int i = 0; i < n; i++) c += x[i * D + d];
            double p = (c + 1) / (n + 2);
            CHECK_CLOSE(b->params.data[d], log(p / (1 - p)), 1e-6, 1e-6, "bernoulli init_data");
        }
    gm_model *m1 = make_model("mob", 9, D, 1), *m2 = make_model("mob", 9, D, 1);
    if (m1 && m2) {
        gm_rng_seed(&r, 5, GM_STREAM_INIT);
        CHECK(m1->def->init_data(m1, x, n, &r) == GM_OK, "mob init_data");
        gm_rng_seed(&r, 5, GM_STREAM_INIT);
        m2->def->init_data(m2, x, n, &r);
        CHECK(memcmp(m1->params.data, m2->params.data, (size_t)m1->params.total * sizeof(float)) == 0, "seeded");
        const float *L = m1->params.data;
        int matched = 0;
        for (int k = 0; k < 9; k++)
            for (int i = 0; i < n; i++) {
                int same = 1;
                for (int d = 0; d < D; d++) same &= (L[k * D + d] > 0) == (x[i * D + d] == 1.0f);
                if (same) { matched++; break; }
            }
        CHECK(matched == 9, "%d of 9 components start at a data row", matched);
        CHECK(gm_params_find(&m1->params, "mix_logits")->data[0] == 0.0f, "mix 0");
    }
    free(x);
    gm_model_free(b);
    gm_model_free(m1);
    gm_model_free(m2);
}

/* ---------------------------------------------------------------- checkpoints */

/* Rewrites checkpoint `src` into `dst` with metadata key set to val (NULL:
 * drop all metadata) and tensor changes: mode 1 transposes "logits",
 * 2 adds a tensor "extra", 3 drops "mix_logits", 4 puts a NaN in "logits". */
static void rewrite(const char *src, const char *dst, const char *key, const char *val, int mode) {
    gm_st_reader *r = NULL;
    if (gm_st_open(src, &r) != GM_OK) { CHECK(0, "open %s", src); return; }
    gm_st_writer *w = gm_st_writer_new();
    for (int64_t i = 0; key && i < gm_st_metadata_count(r); i++)
        gm_st_writer_set_metadata(w, gm_st_metadata_key(r, i), gm_st_metadata_value(r, i));
    if (key && val) gm_st_writer_set_metadata(w, key, val);
    for (int64_t i = 0; i < gm_st_count(r); i++) {
        const gm_st_info *e = gm_st_entry(r, i);
        float buf[256];
        gm_st_read_f32_n(r, e->name, e->numel, buf);
        int64_t shape[2] = {e->shape[0], e->shape[1]};
        if (strcmp(e->name, "logits") == 0 && mode == 1) { shape[0] = e->shape[1]; shape[1] = e->shape[0]; }
        if (strcmp(e->name, "logits") == 0 && mode == 4) buf[3] = NAN;
        if (strcmp(e->name, "mix_logits") == 0 && mode == 3) continue;
        gm_st_writer_add_f32(w, e->name, e->ndim, shape, buf);
    }
    int64_t one = 1;
    float z = 0;
    if (mode == 2) gm_st_writer_add_f32(w, "extra", 1, &one, &z);
    CHECK(gm_st_writer_save(w, dst) == GM_OK, "rewrite %s", dst);
    gm_st_writer_free(w);
    gm_st_close(r);
}

static void expect_load_fail(const char *path, gm_status want, const char *part) {
    gm_model *m = (gm_model *)1;
    gm_status st = gm_model_load(path, &m, NULL);
    CHECK(st == want && m == NULL, "%s: status %d (want %d): %s", path, st, want, gm_last_error());
    CHECK(strstr(gm_last_error(), path) != NULL, "message names the file: %s", gm_last_error());
    CHECK(!part || strstr(gm_last_error(), part) != NULL, "message has '%s': %s", part, gm_last_error());
}

static void test_checkpoint(gm_ctx *ctx) {
    const char *dir = gm_test_tmpdir();
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/mob.safetensors", dir);
    gm_config cfg = {0};
    gm_config_set(&cfg, "components", "5");
    gm_config_set(&cfg, "lr", "0.001");
    gm_rng r;
    gm_rng_seed(&r, 1, GM_STREAM_INIT);
    gm_model *m = NULL;
    CHECK(gm_model_create(gm_model_find("mob"), &cfg, 6, 1, 2, 3, &r, &m) == GM_OK, "create");
    if (!m) return;
    randomize(m, 41, 1.0f);
    gm_config extra = {0}, got = {0};
    gm_config_set(&extra, "step", "100");
    gm_config_set(&extra, "valid_nll", "12.5");
    CHECK(gm_model_save(m, path, &extra) == GM_OK, "save: %s", gm_last_error());
    gm_model *m2 = NULL;
    CHECK(gm_model_load(path, &m2, &got) == GM_OK && m2, "load: %s", gm_last_error());
    if (m2) {
        CHECK(m2->def == m->def && m2->dim == 6 && m2->c == 1 && m2->h == 2 && m2->w == 3, "type and geometry");
        CHECK(m2->params.total == m->params.total &&
                  memcmp(m2->params.data, m->params.data, (size_t)m->params.total * sizeof(float)) == 0,
              "identical parameters");
        CHECK(m2->config.n == m->config.n, "config size %d vs %d", m2->config.n, m->config.n);
        for (int i = 0; i < m->config.n; i++)
            CHECK(gm_config_get(&m2->config, m->config.kv[i].key) &&
                      strcmp(gm_config_get(&m2->config, m->config.kv[i].key), m->config.kv[i].val) == 0,
                  "config %s", m->config.kv[i].key);
        CHECK(got.n == 2 && strcmp(gm_config_get(&got, "step"), "100") == 0 &&
                  strcmp(gm_config_get(&got, "valid_nll"), "12.5") == 0, "extra metadata (n=%d)", got.n);
        float *X = all_states(6);
        double a[64], b[64];
        m->def->log_prob(m, ctx, X, 64, a);
        m2->def->log_prob(m2, ctx, X, 64, b);
        CHECK(memcmp(a, b, sizeof a) == 0, "identical log_prob");
        free(X);
        gm_model_free(m2);
    }
    gm_config_set(&extra, "format", "x");
    CHECK(gm_model_save(m, path, &extra) == GM_ERR_ARG, "reserved extra key rejected");
    /* truncated file */
    FILE *f = fopen(path, "rb");
    unsigned char buf[8192];
    size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    snprintf(bad, sizeof bad, "%s/truncated.safetensors", dir);
    f = fopen(bad, "wb");
    if (f) { fwrite(buf, 1, len - 20, f); fclose(f); }
    expect_load_fail(bad, GM_ERR_FORMAT, NULL);
    snprintf(bad, sizeof bad, "%s/shape.safetensors", dir);
    rewrite(path, bad, "step", "1", 1);
    expect_load_fail(bad, GM_ERR_SHAPE, "'logits' has shape (6, 5), expected (5, 6)");
    snprintf(bad, sizeof bad, "%s/type.safetensors", dir);
    rewrite(path, bad, "model_type", "nade-ultra", 0);
    expect_load_fail(bad, GM_ERR_UNSUPPORTED, "nade-ultra");
    snprintf(bad, sizeof bad, "%s/nometa.safetensors", dir);
    rewrite(path, bad, NULL, NULL, 0);
    expect_load_fail(bad, GM_ERR_FORMAT, "not a genmod checkpoint (no format metadata)");
    snprintf(bad, sizeof bad, "%s/extra.safetensors", dir);
    rewrite(path, bad, "step", "1", 2);
    expect_load_fail(bad, GM_ERR_FORMAT, "unexpected tensor 'extra'");
    snprintf(bad, sizeof bad, "%s/missing.safetensors", dir);
    rewrite(path, bad, "step", "1", 3);
    expect_load_fail(bad, GM_ERR_FORMAT, "'mix_logits' (5) is missing");
    snprintf(bad, sizeof bad, "%s/nan.safetensors", dir);
    rewrite(path, bad, "step", "1", 4);
    expect_load_fail(bad, GM_ERR_NONFINITE, "'logits' element 3");
    snprintf(bad, sizeof bad, "%s/version.safetensors", dir);
    rewrite(path, bad, "format_version", "2", 0);
    expect_load_fail(bad, GM_ERR_UNSUPPORTED, "format_version 2");
    snprintf(bad, sizeof bad, "%s/config.safetensors", dir);
    rewrite(path, bad, "config", "{\"components\":\"abc\"}", 0);
    expect_load_fail(bad, GM_ERR_ARG, "--components");
    snprintf(bad, sizeof bad, "%s/config2.safetensors", dir);
    rewrite(path, bad, "config", "{\"components\":5}", 0);
    expect_load_fail(bad, GM_ERR_FORMAT, "not a string");
    snprintf(bad, sizeof bad, "%s/dim.safetensors", dir);
    rewrite(path, bad, "dim", "-6", 0);
    expect_load_fail(bad, GM_ERR_FORMAT, "'dim'");
    snprintf(bad, sizeof bad, "%s/does-not-exist.safetensors", dir);
    expect_load_fail(bad, GM_ERR_NOTFOUND, NULL);
    gm_model_free(m);
    /* clean up the temporary directory */
    const char *files[] = {"mob", "truncated", "shape", "type", "nometa", "extra", "missing", "nan", "version",
                           "config", "config2", "dim"};
    for (int i = 0; i < (int)(sizeof files / sizeof *files); i++) {
        snprintf(bad, sizeof bad, "%s/%s.safetensors", dir, files[i]);
        CHECK(remove(bad) == 0, "remove %s", bad);
    }
    CHECK(rmdir(dir) == 0, "rmdir %s (left-over files?)", dir);
}

int main(void) {
    gm_ctx *ctx = gm_ctx_new(0);
    test_hparam_set();
    test_registry_and_create();
    test_check_data();
    test_normalisation(ctx);
    test_mob_grad(ctx);
    test_mob_k1(ctx);
    test_sampling(ctx);
    test_init_data();
    test_checkpoint(ctx);
    gm_ctx_free(ctx);
    TEST_MAIN_END();
}
