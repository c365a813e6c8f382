/*
 * evaluate.c — mean test NLL with its standard error, and the data
 * preparation (binarization) shared by training, `genmod eval` and the demo.
 * What this is not: the training loop (trainer.c).
 */
#include "genmod/train.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

gm_status gm_evaluate_nll(gm_model *m, const gm_dataset *ds, int64_t batch, double *mean, double *stderr_,
                          double *per_example) {
    if (!m || !ds || batch < 1) return gm_error(GM_ERR_ARG, "evaluate: bad arguments");
    if (ds->d != m->dim)
        return gm_error(GM_ERR_SHAPE, "%s: rows have %lld values but the model was trained on %lld", ds->name,
                        (long long)ds->d, (long long)m->dim);
    if (ds->n < 1) return gm_error(GM_ERR_ARG, "%s: no rows to evaluate", ds->name);
    gm_status st = gm_model_check_data(m, ds->x, ds->n, ds->name);
    if (st != GM_OK) return st;
    gm_ctx *ctx = gm_ctx_new(0);
    double *lp = malloc((size_t)batch * sizeof *lp); // (batch)
    if (!ctx || !lp) {
        gm_ctx_free(ctx);
        free(lp);
        return gm_error(GM_ERR_NOMEM, "evaluate: out of memory");
    }
    gm_set_training(ctx, 0);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < ds->n && st == GM_OK; i += batch) {
        int64_t b = ds->n - i < batch ? ds->n - i : batch;
        gm_ctx_reset(ctx);
        st = m->def->log_prob(m, ctx, ds->x + i * ds->d, b, lp);
        for (int64_t j = 0; j < b && st == GM_OK; j++) {
            if (!isfinite(lp[j])) {
                st = gm_error(GM_ERR_NONFINITE, "%s: log p of row %lld is %g", ds->name, (long long)(i + j), lp[j]);
                break;
            }
            s += -lp[j];
            s2 += lp[j] * lp[j];
            if (per_example) per_example[i + j] = lp[j];
        }
    }
    gm_ctx_free(ctx);
    free(lp);
    if (st != GM_OK) return st;
    double n = (double)ds->n, mu = s / n;
    double var = n > 1 ? (s2 - n * mu * mu) / (n - 1) : 0;
    if (mean) *mean = mu;
    if (stderr_) *stderr_ = var > 0 ? sqrt(var / n) : 0;
    return GM_OK;
}

static int is_binary(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (x[i] != 0.0f && x[i] != 1.0f) return 0;
    return 1;
}

gm_status gm_prepare_data(const gm_model_def *def, const gm_config *cfg, gm_dataset *ds, int *dynamic) {
    const char *mode = gm_config_get(cfg, "binarize");
    if (!mode) mode = "auto";
    if (dynamic) *dynamic = 0;
    if (strcmp(mode, "none") && strcmp(mode, "auto") && strcmp(mode, "fixed") && strcmp(mode, "dynamic"))
        return gm_error(GM_ERR_ARG, "--binarize: expected none, auto, fixed or dynamic, got \"%s\"", mode);
    if (!strcmp(mode, "none")) return GM_OK;
    if (is_binary(ds->x, ds->n * ds->d)) return GM_OK;
    if (!strcmp(mode, "auto") && !def->binary_data) return GM_OK;
    uint64_t seed = (uint64_t)gm_config_int(cfg, "binarize-seed", 0);
    for (int64_t r = 0; r < ds->n; r++) {
        float *row = ds->x + r * ds->d;
        for (int64_t j = 0; j < ds->d; j++)
            if (!(row[j] >= 0.0f && row[j] <= 1.0f))
                return gm_error(GM_ERR_ARG, "%s: row %lld column %lld has value %g; binarization needs values in [0, 1]",
                                ds->name, (long long)r, (long long)j, row[j]);
    }
    if (dynamic && !strcmp(mode, "dynamic")) {
        *dynamic = 1; /* the loader resamples every epoch from the grey levels */
        return GM_OK;
    }
    /* fixed: epoch -1 is reserved for the fixed draw, independent of the
     * training seed; the split name decorrelates train and test rows. */
    for (const char *p = ds->name; *p; p++) seed = (seed ^ (uint8_t)*p) * 0x100000001b3ull;
    for (int64_t r = 0; r < ds->n; r++) gm_binarize_row(ds->x + r * ds->d, ds->d, seed, -1, r);
    return GM_OK;
}
