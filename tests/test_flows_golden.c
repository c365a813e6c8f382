/*
 * test_flows_golden.c — the flow models nice, realnvp and flow2d against a
 * float64 PyTorch re-implementation (tests/golden/gen_flows.py, which also
 * checks its layers against normflows and nflows; see its docstring).
 *
 * Six configurations (flow2d D = 2, 5, 3 with affine / additive couplings,
 * ActNorm, LU / random-permutation / plain 1x1 mixing and batch norm; nice
 * D = 16; realnvp on 1x8x8 and 2x4x4 images with ActNorm, plain / LU 1x1
 * convolutions, batch norm and logit preprocessing, alpha = 0.05), all with
 * dequantize none and random (non-identity) parameters. Each model is made
 * with gm_model_create from the CLI's config keys, every parameter and buffer
 * is loaded by name with an exact shape check (a missing, extra or mis-shaped
 * tensor fails), and then, in eval mode (batch norm uses its running
 * statistics):
 *   - def->log_prob vs golden log p, |diff| <= 1e-3 + 1e-4 |log p|, for the
 *     batch and for rows one at a time;
 *   - def->encode vs golden z, |diff| <= 1e-3 + 1e-4 |z|;
 *   - decode(encode(x)) == x and decode(golden z) == x within 1e-4;
 *   - for flow2d_d2, nice_d16 and realnvp_1x8x8 (two of them with batch norm),
 *     the parameter gradients of the model's own loss, def->loss on a context
 *     with gm_set_training(ctx, 0) (so batch norm uses the running statistics
 *     as constants, like the golden): -grad vs d mean log p / d param, within
 *     1e-4 + 2e-3 |g| (the loss itself within 1e-4 relative of -mean log p),
 *     and the running statistics unchanged by that eval-mode loss.
 * Float32 through up to 39 layers against float64: every tolerance is 30x
 * or more the worst error observed (printed per case: log p 1.2e-4 abs on
 * |log p| ~ 60-240, z 7e-6, round trip 1.3e-6, gradients 3% of their bound).
 */
#include "genmod/model.h"
#include "genmod/ops.h"
#include "genmod/safetensors.h"
#include "testutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B 8
#define LOGP_ATOL 1e-3
#define LOGP_RTOL 1e-4
#define RT_TOL 1e-4
#define GRAD_ATOL 1e-4
#define GRAD_RTOL 2e-3

typedef struct gcase {
    const char *name, *model;
    const char *kv[10][2];
    int64_t dim;
    int c, h, w;
    int grad;
} gcase;

/* as in gen_flows.py make_cases() */
static const gcase CASES[] = {
    {"flow2d_d2", "flow2d",
     {{"layers", "3"}, {"hidden", "8"}, {"depth", "2"}, {"coupling", "affine"}, {"actnorm", "1"}, {"mix", "lu"},
      {"batchnorm", "1"}, {"prior", "gaussian"}, {"dequantize", "none"}},
     2, 0, 0, 0, 1},
    {"flow2d_d5", "flow2d",
     {{"layers", "4"}, {"hidden", "6"}, {"depth", "1"}, {"coupling", "additive"}, {"mix", "random"},
      {"prior", "logistic"}, {"dequantize", "none"}},
     5, 0, 0, 0, 0},
    {"flow2d_d3", "flow2d",
     {{"layers", "2"}, {"hidden", "5"}, {"depth", "2"}, {"coupling", "affine"}, {"mix", "inv1x1"},
      {"prior", "gaussian"}, {"dequantize", "none"}},
     3, 0, 0, 0, 0},
    {"nice_d16", "nice",
     {{"couplings", "4"}, {"hidden", "12"}, {"depth", "2"}, {"prior", "logistic"}, {"dequantize", "none"}},
     16, 0, 0, 0, 1},
    {"realnvp_1x8x8", "realnvp",
     {{"scales", "2"}, {"features", "4"}, {"blocks", "1"}, {"actnorm", "1"}, {"inv1x1", "plain"}, {"batchnorm", "1"},
      {"alpha", "0.05"}, {"dequantize", "none"}},
     64, 1, 8, 8, 1},
    {"realnvp_2x4x4", "realnvp",
     {{"scales", "2"}, {"features", "3"}, {"blocks", "0"}, {"actnorm", "0"}, {"inv1x1", "lu"}, {"alpha", "0.05"},
      {"dequantize", "none"}},
     32, 2, 4, 4, 0},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

/* Worst |got - want| and worst |got - want| / (atol + rtol |want|) (<= 1 passes). */
static void errs(const float *got, const float *want, int64_t n, double atol, double rtol, double *abs_err,
                 double *ratio) {
    *abs_err = 0, *ratio = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d == d)) d = INFINITY;
        double r = d / (atol + rtol * fabs((double)want[i]));
        if (d > *abs_err) *abs_err = d;
        if (r > *ratio) *ratio = r;
    }
}

static float *read_key(const gm_st_reader *r, const char *cname, const char *key, int64_t n) {
    char name[160];
    snprintf(name, sizeof name, "%s/%s", cname, key);
    float *v = malloc(sizeof(float) * (size_t)n);
    if (gm_st_read_f32_n(r, name, n, v) != GM_OK) {
        CHECK(0, "golden %s (%lld values): %s", name, (long long)n, gm_last_error());
        free(v);
        return NULL;
    }
    return v;
}

/* Loads every parameter and buffer of m from "<case>/<name>" (exact shape);
 * fails on a missing or mis-shaped tensor and on golden parameters the model
 * does not have. */
static int load_params(const gm_st_reader *r, const gcase *gc, gm_model *m) {
    int ok = 1;
    char name[160];
    for (int i = 0; i < m->params.count; i++) {
        gm_tensor *t = gm_params_get(&m->params, i);
        snprintf(name, sizeof name, "%s/%s", gc->name, m->params.entries[i].name);
        const gm_st_info *in = gm_st_find(r, name);
        if (!in) {
            CHECK(0, "%s: parameter %s is not in the golden file", gc->name, name);
            ok = 0;
            continue;
        }
        int same = in->ndim == t->ndim;
        for (int d = 0; same && d < t->ndim; d++) same = in->shape[d] == t->shape[d];
        if (!same) {
            char s[64];
            CHECK(0, "%s: %s has %d dims in the golden file, the model's is %s", gc->name, name, in->ndim,
                  gm_shape_str(t, s, sizeof s));
            ok = 0;
            continue;
        }
        gm_status st = gm_st_read_f32(r, name, t->ndim, t->shape, t->data);
        if (st != GM_OK) CHECK(0, "%s: read %s: %s", gc->name, name, gm_last_error());
        ok &= st == GM_OK;
    }
    /* the other direction: every golden parameter exists in the model */
    size_t pl = strlen(gc->name);
    int extra = 0;
    for (int64_t k = 0; k < gm_st_count(r); k++) {
        const char *nm = gm_st_entry(r, k)->name;
        if (strncmp(nm, gc->name, pl) || nm[pl] != '/') continue;
        const char *p = nm + pl + 1;
        if (!strcmp(p, "x") || !strcmp(p, "logp") || !strcmp(p, "z") || !strncmp(p, "grad/", 5)) {
            if (!strncmp(p, "grad/", 5) && gm_params_index(&m->params, p + 5) < 0) extra++;
            continue;
        }
        if (gm_params_index(&m->params, p) < 0) {
            CHECK(0, "%s: golden tensor %s is not a parameter of the model", gc->name, nm);
            extra++;
        }
    }
    CHECK(extra == 0, "%s: %d golden tensors have no parameter in the model", gc->name, extra);
    return ok && !extra;
}

static void run_case(const gm_st_reader *r, const gcase *gc, gm_ctx *ctx) {
    gm_config cfg = {0};
    for (int i = 0; i < 10 && gc->kv[i][0]; i++) gm_config_set(&cfg, gc->kv[i][0], gc->kv[i][1]);
    gm_rng rng;
    gm_rng_seed(&rng, 1, GM_STREAM_INIT);
    gm_model *m = NULL;
    gm_status st = gm_model_create(gm_model_find(gc->model), &cfg, gc->dim, gc->c, gc->h, gc->w, &rng, &m);
    CHECK(st == GM_OK && m, "%s: create: %s", gc->name, gm_last_error());
    if (!m) return;
    const int64_t D = gc->dim;
    float *x = NULL, *want_lp = NULL, *want_z = NULL, *got = NULL, *z = NULL, *xr = NULL;
    double lp[B];
    double e_lp = 0, e_z = 0, e_rt = 0, e_g = 0, r_g = 0;
    if (!load_params(r, gc, m)) goto done;
    CHECK(m->def->validate(m) == GM_OK, "%s: golden parameters validate: %s", gc->name, gm_last_error());
    x = read_key(r, gc->name, "x", B * D);
    want_lp = read_key(r, gc->name, "logp", B);
    want_z = read_key(r, gc->name, "z", B * D);
    if (!x || !want_lp || !want_z) goto done;
    got = malloc(sizeof(float) * (size_t)(B * D));
    z = malloc(sizeof(float) * (size_t)(B * D));
    xr = malloc(sizeof(float) * (size_t)(B * D));
    char what[160];
    double ratio;

    /* log p, eval mode */
    gm_set_training(ctx, 0);
    st = m->def->log_prob(m, ctx, x, B, lp);
    CHECK(st == GM_OK, "%s: log_prob: %s", gc->name, gm_last_error());
    for (int i = 0; i < B; i++) got[i] = (float)lp[i];
    snprintf(what, sizeof what, "%s: log p vs PyTorch", gc->name);
    CHECK_ARRAYS(what, got, want_lp, B, LOGP_ATOL, LOGP_RTOL);
    errs(got, want_lp, B, LOGP_ATOL, LOGP_RTOL, &e_lp, &ratio);
    /* one row at a time: eval mode has no batch dependence */
    for (int i = 0; i < B; i++) {
        double l1;
        CHECK(m->def->log_prob(m, ctx, x + i * D, 1, &l1) == GM_OK, "%s: log_prob row %d", gc->name, i);
        got[i] = (float)l1;
    }
    snprintf(what, sizeof what, "%s: log p one row at a time vs PyTorch", gc->name);
    CHECK_ARRAYS(what, got, want_lp, B, LOGP_ATOL, LOGP_RTOL);

    /* z = encode(x) */
    st = m->def->encode(m, ctx, x, B, z);
    CHECK(st == GM_OK, "%s: encode: %s", gc->name, gm_last_error());
    snprintf(what, sizeof what, "%s: encode(x) vs PyTorch z", gc->name);
    CHECK_ARRAYS(what, z, want_z, B * D, LOGP_ATOL, LOGP_RTOL);
    errs(z, want_z, B * D, LOGP_ATOL, LOGP_RTOL, &e_z, &ratio);

    /* decode(encode(x)) == x, decode(golden z) == x */
    st = m->def->decode(m, ctx, z, B, xr);
    CHECK(st == GM_OK, "%s: decode: %s", gc->name, gm_last_error());
    snprintf(what, sizeof what, "%s: decode(encode(x)) == x", gc->name);
    CHECK_ARRAYS(what, xr, x, B * D, RT_TOL, 0);
    errs(xr, x, B * D, RT_TOL, 0, &e_rt, &ratio);
    st = m->def->decode(m, ctx, want_z, B, xr);
    CHECK(st == GM_OK, "%s: decode golden z: %s", gc->name, gm_last_error());
    snprintf(what, sizeof what, "%s: decode(PyTorch z) == x", gc->name);
    CHECK_ARRAYS(what, xr, x, B * D, RT_TOL, 0);

    /* gradients of the model's loss, evaluated in eval mode */
    if (gc->grad) {
        float *keep = malloc(sizeof(float) * (size_t)m->params.total);
        memcpy(keep, m->params.data, sizeof(float) * (size_t)m->params.total);
        gm_ctx_reset(ctx);
        gm_set_training(ctx, 0);
        gm_params_zero_grad(&m->params);
        gm_tensor *xt = gm_from_data(ctx, 2, (int64_t[]){B, D}, x);
        gm_tensor *loss = m->def->loss(m, ctx, xt, NULL);
        CHECK(loss && gm_backward(ctx, loss) == GM_OK, "%s: eval-mode loss + backward: %s", gc->name, gm_ctx_error(ctx));
        if (loss) {
            double mean = 0;
            for (int i = 0; i < B; i++) mean += want_lp[i] / B;
            CHECK_CLOSE(loss->data[0], -mean, 1e-4 * fabs(mean), 0, "eval-mode loss == -mean golden log p");
        }
        CHECK(!memcmp(keep, m->params.data, sizeof(float) * (size_t)m->params.total),
              "%s: an eval-mode loss leaves every parameter and buffer (running statistics) unchanged", gc->name);
        free(keep);
        int n_checked = 0;
        for (int i = 0; i < m->params.count && loss; i++) {
            if (!m->params.entries[i].trainable) continue;
            int64_t n = m->params.entries[i].numel;
            char key[128];
            snprintf(key, sizeof key, "grad/%s", m->params.entries[i].name);
            float *want_g = read_key(r, gc->name, key, n);
            if (!want_g) continue;
            const float *g = gm_params_get(&m->params, i)->grad;
            float *neg = malloc(sizeof(float) * (size_t)n);
            for (int64_t k = 0; k < n; k++) neg[k] = -g[k]; /* loss = -mean log p */
            snprintf(what, sizeof what, "%s: d mean log p / d %s vs PyTorch", gc->name, m->params.entries[i].name);
            CHECK_ARRAYS(what, neg, want_g, n, GRAD_ATOL, GRAD_RTOL);
            double ea, er;
            errs(neg, want_g, n, GRAD_ATOL, GRAD_RTOL, &ea, &er);
            e_g = ea > e_g ? ea : e_g;
            r_g = er > r_g ? er : r_g;
            n_checked++;
            free(neg), free(want_g);
        }
        CHECK(n_checked > 0, "%s: gradients checked", gc->name);
    }
    printf("  %-14s log p max |diff| %.2g, z %.2g, round trip %.2g", gc->name, e_lp, e_z, e_rt);
    if (gc->grad) printf(", grad %.2g (%.2g of the tolerance)", e_g, r_g);
    printf("\n");
done:
    free(x), free(want_lp), free(want_z), free(got), free(z), free(xr);
    gm_model_free(m);
}

int main(void) {
    gm_st_reader *r = NULL;
    gm_status st = gm_st_open(gm_test_src_path("tests/golden/flows.safetensors"), &r);
    CHECK(st == GM_OK, "open flows.safetensors: %s", gm_last_error());
    if (st != GM_OK) TEST_MAIN_END();
    gm_ctx *ctx = gm_ctx_new(0);
    for (int c = 0; c < N_CASES; c++) run_case(r, &CASES[c], ctx);
    gm_ctx_free(ctx);
    gm_st_close(r);
    TEST_MAIN_END();
}
