/*
 * registry.c — the table of model definitions and the generic model
 * lifecycle: find, create (config defaults + validation, parameter
 * declaration, initialisation), free, and the data check every model's input
 * goes through. Model-specific code lives in src/models/<name>.c.
 * What this is not: checkpoints (checkpoint.c) or the training loop.
 */
#include "models/models_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Registry order is the order `genmod models` lists them in. */
static const gm_model_def *const g_defs[] = {
    &gm_model_def_bernoulli,
    &gm_model_def_mob,
    &gm_model_def_fvsbn,
    &gm_model_def_nade,
    &gm_model_def_made,
    &gm_model_def_nice,
    &gm_model_def_realnvp,
    &gm_model_def_flow2d,
};
#define N_DEFS ((int)(sizeof g_defs / sizeof g_defs[0]))

/* Definition named `name`, or NULL (message lists the known names). */
const gm_model_def *gm_model_find(const char *name) {
    if (name)
        for (int i = 0; i < N_DEFS; i++)
            if (strcmp(g_defs[i]->name, name) == 0) return g_defs[i];
    char known[256] = "";
    for (int i = 0; i < N_DEFS; i++) {
        size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%s%s", i ? ", " : "", g_defs[i]->name);
    }
    gm_error(GM_ERR_NOTFOUND, "model '%.60s' is unknown (known: %s)", name ? name : "(null)", known);
    return NULL;
}

/* Number of registered models. */
int gm_model_count(void) { return N_DEFS; }

/* Model i in registry order, NULL if out of range. */
const gm_model_def *gm_model_at(int i) { return (i >= 0 && i < N_DEFS) ? g_defs[i] : NULL; }

/* Frees a model and everything it owns (NULL is fine). */
void gm_model_free(gm_model *m) {
    if (!m) return;
    if (m->def && m->def->destroy) m->def->destroy(m);
    gm_params_free(&m->params);
    free(m);
}

/* See model.h. Geometry: dim >= 1; c, h, w either all 0 (not an image) or all
 * > 0 with c*h*w == dim. Every model hparam is (re)validated through
 * gm_hparam_set; other config keys (the trainer's) are kept untouched. */
gm_status gm_model_create(const gm_model_def *def, const gm_config *config, int64_t dim, int c, int h, int w,
                          gm_rng *rng, gm_model **out) {
    if (!out) return gm_error(GM_ERR_ARG, "model: NULL output pointer");
    *out = NULL;
    if (!def || !def->declare || !def->loss || !def->log_prob || !def->sample)
        return gm_error(GM_ERR_ARG, "model: incomplete model definition");
    if (dim < 1 || dim > ((int64_t)1 << 31))
        return gm_error(GM_ERR_ARG, "model '%s': data dimension %lld out of range [1, 2^31]", def->name, (long long)dim);
    int none = c == 0 && h == 0 && w == 0, all = c > 0 && h > 0 && w > 0;
    if (!none && !(all && (int64_t)c * h * w == dim))
        return gm_error(GM_ERR_ARG, "model '%s': image geometry %dx%dx%d does not match data dimension %lld", def->name,
                        c, h, w, (long long)dim);
    if (config && (config->n < 0 || config->n > GM_CONFIG_MAX))
        return gm_error(GM_ERR_ARG, "model '%s': corrupt config (%d entries)", def->name, config->n);
    gm_model *m = calloc(1, sizeof *m);
    if (!m) return gm_error(GM_ERR_NOMEM, "model '%s': out of memory", def->name);
    m->def = def;
    m->dim = dim;
    m->c = c; m->h = h; m->w = w;
    gm_params_init(&m->params);
    if (config) m->config = *config;
    gm_status st = gm_hparams_defaults(&m->config, def->hparams, def->n_hparams);
    for (int i = 0; st == GM_OK && i < def->n_hparams; i++) {
        const char *v = gm_config_get(&m->config, def->hparams[i].name);
        if (v) {
            char copy[sizeof m->config.kv[0].val];
            snprintf(copy, sizeof copy, "%s", v); /* gm_hparam_set may rewrite the slot v points into */
            st = gm_hparam_set(&m->config, &def->hparams[i], copy);
        }
    }
    if (st == GM_OK) st = def->declare(m);
    if (st == GM_OK) st = gm_params_finalize(&m->params);
    if (st == GM_OK && rng && def->init) st = def->init(m, rng);
    if (st != GM_OK) {
        gm_model_free(m);
        return st;
    }
    *out = m;
    return GM_OK;
}

/* Rejects NaN/Inf for every model and non-0/1 values for binary models,
 * naming the first bad value's (0-based) row and column. */
gm_status gm_model_check_data(const gm_model *m, const float *x, int64_t B, const char *what) {
    if (!what) what = "data";
    if (!m) return gm_error(GM_ERR_ARG, "%s: NULL model", what);
    if (B < 0 || (B > 0 && !x)) return gm_error(GM_ERR_ARG, "%s: no data (%lld rows)", what, (long long)B);
    int64_t D = m->dim;
    int binary = m->def->binary_data;
    for (int64_t r = 0; r < B; r++) {
        const float *row = x + r * D; // (D)
        for (int64_t j = 0; j < D; j++) {
            float v = row[j];
            if (!isfinite(v))
                return gm_error(GM_ERR_ARG, "%s: row %lld column %lld has value %g; data must be finite", what,
                                (long long)r, (long long)j, (double)v);
            if (binary && v != 0.0f && v != 1.0f)
                return gm_error(GM_ERR_ARG, "%s: row %lld column %lld has value %g; model '%s' needs binary data (0/1)",
                                what, (long long)r, (long long)j, (double)v, m->def->name);
        }
    }
    return m->def->check_data ? m->def->check_data((gm_model *)m, x, B, what) : GM_OK;
}

const char *gm_logp_kind_name(gm_logp_kind k) {
    return k == GM_LOGP_EXACT ? "exact" : k == GM_LOGP_BOUND ? "bound" : "estimate";
}
