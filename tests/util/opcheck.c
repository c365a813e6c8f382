/*
 * opcheck.c — the op test harness; see opcheck.h.
 */
#include "opcheck.h"
#include "genmod/rng.h"
#include "golden.h"
#include "testutil.h"
#include <stdio.h>
#include <string.h>

static const gm_backend k_backends[] = {GM_BACKEND_REF, GM_BACKEND_FAST};
#define N_BACKENDS ((int)(sizeof k_backends / sizeof k_backends[0]))

typedef struct {
    float *in[GM_MAX_INPUTS];   /* input values (numel each) */
    int64_t in_n[GM_MAX_INPUTS];
    float *r;                   /* output seed */
    int64_t out_n;
} case_data;

static int64_t numel_of(const gm_opcase_input *ci) {
    int64_t n = 1;
    for (int d = 0; d < ci->ndim; d++) n *= ci->shape[d];
    return n;
}

static void gen_input(gm_rng *rng, const gm_opcase_input *ci, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        switch (ci->dom) {
        case GM_DOM_ANY: x[i] = (float)gm_rng_normal(rng); break;
        case GM_DOM_POS: x[i] = 0.5f + 1.5f * gm_rng_uniform(rng); break;
        case GM_DOM_UNIT: x[i] = 0.05f + 0.9f * gm_rng_uniform(rng); break;
        case GM_DOM_AWAY0: x[i] = (gm_rng_uniform(rng) < 0.5f ? -1.0f : 1.0f) * (0.2f + 1.8f * gm_rng_uniform(rng)); break;
        case GM_DOM_BINARY: x[i] = gm_rng_uniform(rng) < 0.5f ? 1.0f : 0.0f; break;
        }
    }
}

/* Evaluates the op once: returns the output (contiguous copy in `out`, numel
 * in *out_n) and, if grads != NULL, the input gradients for seed r. */
static int evaluate(const gm_opcase *c, const case_data *cd, gm_backend be, int with_grad, float *out, int64_t out_cap,
                    int64_t *out_n, float **grads, char *err, size_t errn) {
    gm_ctx *ctx = gm_ctx_new(1 << 20);
    if (!ctx) { snprintf(err, errn, "no memory"); return 0; }
    gm_set_backend(ctx, be);
    gm_set_grad_enabled(ctx, with_grad);
    gm_tensor *in[GM_MAX_INPUTS] = {0};
    for (int k = 0; k < c->n_in; k++) {
        in[k] = gm_from_data(ctx, c->in[k].ndim, c->in[k].shape, cd->in[k]);
        if (in[k] && c->in[k].grad && with_grad) gm_requires_grad(in[k]);
    }
    gm_tensor *y = c->build(ctx, in, c->arg);
    int ok = 0;
    if (!y) {
        snprintf(err, errn, "op failed: %s", gm_ctx_error(ctx));
    } else if (out_cap >= 0 && y->numel > out_cap) {
        snprintf(err, errn, "output has %lld elements, expected %lld", (long long)y->numel, (long long)out_cap);
    } else {
        *out_n = y->numel;
        if (out) gm_copy_to(y, out);
        ok = 1;
        if (with_grad && grads) {
            if (!y->requires_grad) {
                snprintf(err, errn, "output does not require grad");
                ok = 0;
            } else if (gm_backward_with(ctx, y, cd->r) != GM_OK) {
                snprintf(err, errn, "backward failed: %s", gm_ctx_error(ctx));
                ok = 0;
            } else {
                for (int k = 0; k < c->n_in; k++) {
                    if (!grads[k]) continue;
                    if (in[k]->grad) memcpy(grads[k], in[k]->grad, sizeof(float) * (size_t)in[k]->numel);
                    else memset(grads[k], 0, sizeof(float) * (size_t)in[k]->numel);
                }
            }
        }
    }
    gm_ctx_free(ctx);
    return ok;
}

/* L = Σ r·out in double, with input k element i set to v. */
static double loss_at(const gm_opcase *c, case_data *cd, int k, int64_t i, double v, float *scratch, int *ok) {
    float keep = cd->in[k][i];
    cd->in[k][i] = (float)v;
    int64_t n = 0;
    char err[256];
    *ok = evaluate(c, cd, GM_BACKEND_REF, 0, scratch, cd->out_n, &n, NULL, err, sizeof err);
    cd->in[k][i] = keep;
    double L = 0.0;
    for (int64_t j = 0; j < n; j++) L += (double)cd->r[j] * (double)scratch[j];
    return L;
}

static int run_case(const gm_opcase *c, gm_golden *g) {
    int failed_before = gm_test_failed;
    case_data cd;
    memset(&cd, 0, sizeof cd);
    char key[160], what[256], err[512];
    int have_golden = 0;
    /* inputs */
    for (int k = 0; k < c->n_in; k++) {
        cd.in_n[k] = numel_of(&c->in[k]);
        cd.in[k] = malloc(sizeof(float) * (size_t)(cd.in_n[k] ? cd.in_n[k] : 1));
        snprintf(key, sizeof key, "%s.in%d", c->name, k);
        if (g && gm_golden_read(g, key, cd.in[k], cd.in_n[k])) have_golden++;
        else {
            gm_rng rng;
            gm_rng_seed(&rng, 1234 + (uint64_t)k, (uint64_t)strlen(c->name));
            gen_input(&rng, &c->in[k], cd.in[k], cd.in_n[k]);
        }
    }
    have_golden = (have_golden == c->n_in) && c->n_in > 0;
    if (!c->no_golden) CHECK(have_golden, "%s: no golden inputs in the golden file (regenerate it)", c->name);
    /* reference forward to learn the output size */
    int64_t out_n = 0;
    if (!evaluate(c, &cd, GM_BACKEND_REF, 0, NULL, -1, &out_n, NULL, err, sizeof err)) {
        CHECK(0, "%s: %s", c->name, err);
        goto done;
    }
    cd.out_n = out_n;
    cd.r = malloc(sizeof(float) * (size_t)(out_n ? out_n : 1));
    snprintf(key, sizeof key, "%s.r", c->name);
    if (!(have_golden && gm_golden_read(g, key, cd.r, out_n))) {
        gm_rng rng;
        gm_rng_seed(&rng, 99, 7);
        for (int64_t j = 0; j < out_n; j++) cd.r[j] = (float)gm_rng_normal(&rng);
    }
    float *outs[N_BACKENDS], *grads[N_BACKENDS][GM_MAX_INPUTS];
    memset(grads, 0, sizeof grads);
    for (int b = 0; b < N_BACKENDS; b++) {
        outs[b] = malloc(sizeof(float) * (size_t)(out_n ? out_n : 1));
        for (int k = 0; k < c->n_in; k++)
            if (c->in[k].grad) grads[b][k] = malloc(sizeof(float) * (size_t)(cd.in_n[k] ? cd.in_n[k] : 1));
        int64_t n = 0;
        int has_grad = 0;
        for (int k = 0; k < c->n_in; k++) has_grad |= c->in[k].grad;
        int ok = evaluate(c, &cd, k_backends[b], has_grad, outs[b], out_n, &n, grads[b], err, sizeof err);
        CHECK(ok, "%s [%s]: %s", c->name, b == 0 ? "ref" : "fast", err);
        if (!ok) goto free_bufs;
    }
    /* fast vs reference */
    for (int b = 1; b < N_BACKENDS; b++) {
        snprintf(what, sizeof what, "%s: fast vs ref output", c->name);
        CHECK_ARRAYS(what, outs[b], outs[0], out_n, 1e-5, 1e-4);
        for (int k = 0; k < c->n_in; k++)
            if (grads[0][k]) {
                snprintf(what, sizeof what, "%s: fast vs ref grad of input %d", c->name, k);
                CHECK_ARRAYS(what, grads[b][k], grads[0][k], cd.in_n[k], 1e-5, 1e-4);
            }
    }
    /* golden */
    if (have_golden) {
        double gt = c->golden_tol > 0 ? c->golden_tol : 1e-5;
        float *want = malloc(sizeof(float) * (size_t)(out_n ? out_n : 1));
        snprintf(key, sizeof key, "%s.out", c->name);
        if (gm_golden_read(g, key, want, out_n)) {
            snprintf(what, sizeof what, "%s: output vs PyTorch", c->name);
            CHECK_ARRAYS(what, outs[0], want, out_n, gt, 1e-4);
        } else CHECK(0, "%s: golden output missing or of wrong size (%lld elements here)", c->name, (long long)out_n);
        free(want);
        for (int k = 0; k < c->n_in; k++) {
            if (!grads[0][k]) continue;
            float *gw = malloc(sizeof(float) * (size_t)(cd.in_n[k] ? cd.in_n[k] : 1));
            snprintf(key, sizeof key, "%s.g%d", c->name, k);
            if (gm_golden_read(g, key, gw, cd.in_n[k])) {
                snprintf(what, sizeof what, "%s: grad of input %d vs PyTorch", c->name, k);
                CHECK_ARRAYS(what, grads[0][k], gw, cd.in_n[k], gt, 1e-4);
            } else CHECK(0, "%s: golden grad %d missing", c->name, k);
            free(gw);
        }
    }
    /* finite differences (reference backend, double accumulation, 4-point stencil) */
    {
        double h0 = c->fd_eps > 0 ? c->fd_eps : 1e-2, tol = c->fd_tol > 0 ? c->fd_tol : 2e-3;
        int fdmax = c->fd_max > 0 ? c->fd_max : 48;
        float *scratch = malloc(sizeof(float) * (size_t)(out_n ? out_n : 1));
        gm_rng pick;
        gm_rng_seed(&pick, 5, 5);
        for (int k = 0; k < c->n_in; k++) {
            if (!grads[0][k]) continue;
            int64_t n = cd.in_n[k];
            int count = n < fdmax ? (int)n : fdmax;
            double worst = 0.0;
            int64_t worst_i = -1;
            double worst_num = 0, worst_ana = 0;
            for (int t = 0; t < count; t++) {
                int64_t i = n <= fdmax ? t : gm_rng_randint(&pick, n);
                double x = cd.in[k][i], h = h0 * (fabs(x) > 1.0 ? fabs(x) : 1.0);
                int ok1, ok2, ok3, ok4;
                double f1 = loss_at(c, &cd, k, i, x + h, scratch, &ok1), f2 = loss_at(c, &cd, k, i, x - h, scratch, &ok2);
                double f3 = loss_at(c, &cd, k, i, x + 2 * h, scratch, &ok3), f4 = loss_at(c, &cd, k, i, x - 2 * h, scratch, &ok4);
                if (!(ok1 && ok2 && ok3 && ok4)) { CHECK(0, "%s: op failed during finite differences", c->name); break; }
                double num = (8.0 * (f1 - f2) - (f3 - f4)) / (12.0 * h);
                double ana = grads[0][k][i];
                double e = fabs(num - ana) / (1.0 + fabs(num));
                if (e > worst) { worst = e; worst_i = i; worst_num = num; worst_ana = ana; }
            }
            CHECK(worst <= tol, "%s: input %d element %lld: analytic grad %.8g vs finite difference %.8g (rel err %.3g > %.3g)",
                  c->name, k, (long long)worst_i, worst_ana, worst_num, worst, tol);
        }
        free(scratch);
    }
free_bufs:
    for (int b = 0; b < N_BACKENDS; b++) {
        free(outs[b]);
        for (int k = 0; k < c->n_in; k++) free(grads[b][k]);
    }
done:
    for (int k = 0; k < c->n_in; k++) free(cd.in[k]);
    free(cd.r);
    int bad = gm_test_failed - failed_before;
    printf("  %-32s %s\n", c->name, bad ? "FAIL" : "ok");
    return bad;
}

int gm_opcheck_run(const gm_opcase *cases, int n, const char *golden_rel) {
    gm_golden *g = NULL;
    if (golden_rel) {
        g = gm_golden_open(gm_test_src_path(golden_rel));
        CHECK(g != NULL, "cannot open golden file %s: %s", golden_rel, gm_last_error());
    }
    int bad = 0;
    for (int i = 0; i < n; i++) bad += run_case(&cases[i], g);
    gm_golden_close(g);
    return bad;
}
