/*
 * ema.c — exponential moving average of the parameter values in a shadow
 * flat buffer (params' layout), with the optional warmup decay
 * min(decay, (1 + n) / (10 + n)), and apply / restore by swapping buffers.
 * Not here: saving the shadow (the training-state file does, through
 * gm_ema_shadow).
 */
#include "optim/optim_internal.h"
#include "core/op_internal.h"
#include <stdlib.h>
#include <string.h>

struct gm_ema {
    double decay;
    int warmup;
    int applied;
    int64_t n;        /* updates done */
    int64_t total;    /* params->total at creation */
    int count;        /* params->count at creation */
    float *shadow;    /* (total) */
};

gm_ema *gm_ema_new(const gm_params *params, double decay, int warmup) {
    if (!params || !params->finalized || !params->data) {
        gm_error(GM_ERR_ARG, "ema: params must be finalized");
        return NULL;
    }
    if (!(decay >= 0 && decay <= 1)) {
        gm_error(GM_ERR_ARG, "ema decay: must be in [0, 1], got %g", decay);
        return NULL;
    }
    gm_ema *e = calloc(1, sizeof *e);
    size_t bytes = ((size_t)(params->total > 0 ? params->total : 1) * sizeof(float) + 63) & ~(size_t)63;
    if (e) e->shadow = aligned_alloc(64, bytes);
    if (!e || !e->shadow) {
        free(e);
        gm_error(GM_ERR_NOMEM, "ema: cannot allocate %lld floats", (long long)params->total);
        return NULL;
    }
    e->decay = decay;
    e->warmup = warmup ? 1 : 0;
    e->total = params->total;
    e->count = params->count;
    memcpy(e->shadow, params->data, (size_t)params->total * sizeof(float));
    return e;
}

void gm_ema_free(gm_ema *ema) {
    if (!ema) return;
    free(ema->shadow);
    free(ema);
}

double gm_ema_decay_at(double decay, int warmup, int64_t n) {
    if (!warmup) return decay;
    double w = (1.0 + (double)n) / (10.0 + (double)n);
    return w < decay ? w : decay;
}

static gm_status check(const gm_ema *ema, const gm_params *params, const char *what, int want_applied) {
    if (!ema) return gm_error(GM_ERR_ARG, "ema %s: NULL", what);
    if (!params || !params->finalized || !params->data || params->total != ema->total || params->count != ema->count)
        return gm_error(GM_ERR_ARG, "ema %s: params are not the finalized set the EMA was created for", what);
    if (ema->applied != want_applied)
        return gm_error(GM_ERR_ARG, "ema %s: the EMA is %s", what, ema->applied ? "applied (restore first)" : "not applied");
    return GM_OK;
}

gm_status gm_ema_update(gm_ema *ema, const gm_params *params) {
    gm_status st = check(ema, params, "update", 0);
    if (st != GM_OK) return st;
    ema->n++;
    const float omd = (float)(1.0 - gm_ema_decay_at(ema->decay, ema->warmup, ema->n));
    float *sh = ema->shadow;
    const float *x = params->data;
    int e = 0;
    gm_span s;
    while (gm_optim_next_span(params, &e, &s)) {
        int64_t n = s.hi - s.lo;
        int nt = gm_par_threads(n * 2);
        (void)nt;
#pragma omp parallel for simd schedule(static) num_threads(nt) if (parallel : nt > 1)
        for (int64_t i = s.lo; i < s.hi; i++) sh[i] -= omd * (sh[i] - x[i]);
    }
    for (int i = 0; i < params->count; i++) {
        const gm_param_entry *pe = &params->entries[i];
        if (!pe->trainable) memcpy(sh + pe->offset, x + pe->offset, (size_t)pe->numel * sizeof(float));
    }
    return GM_OK;
}

/* exchanges shadow and params->data */
static void swap_all(gm_ema *ema, gm_params *params) {
    float *a = ema->shadow, *b = params->data;
    int64_t n = ema->total;
    int nt = gm_par_threads(n);
    (void)nt;
#pragma omp parallel for simd schedule(static) num_threads(nt) if (parallel : nt > 1)
    for (int64_t i = 0; i < n; i++) {
        float t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

gm_status gm_ema_apply(gm_ema *ema, gm_params *params) {
    gm_status st = check(ema, params, "apply", 0);
    if (st != GM_OK) return st;
    swap_all(ema, params);
    ema->applied = 1;
    return GM_OK;
}

gm_status gm_ema_restore(gm_ema *ema, gm_params *params) {
    gm_status st = check(ema, params, "restore", 1);
    if (st != GM_OK) return st;
    swap_all(ema, params);
    ema->applied = 0;
    return GM_OK;
}

gm_status gm_ema_reset(gm_ema *ema, const gm_params *params) {
    gm_status st = check(ema, params, "reset", 0);
    if (st != GM_OK) return st;
    memcpy(ema->shadow, params->data, (size_t)ema->total * sizeof(float));
    ema->n = 0;
    return GM_OK;
}

int gm_ema_is_applied(const gm_ema *ema) { return ema->applied; }
float *gm_ema_shadow(gm_ema *ema) { return ema->shadow; }
int64_t gm_ema_len(const gm_ema *ema) { return ema->total; }
int64_t gm_ema_get_step(const gm_ema *ema) { return ema->n; }
double gm_ema_get_decay(const gm_ema *ema) { return ema->decay; }
int gm_ema_get_warmup(const gm_ema *ema) { return ema->warmup; }

gm_status gm_ema_set_step(gm_ema *ema, int64_t n) {
    if (n < 0) return gm_error(GM_ERR_ARG, "ema step: must be >= 0, got %lld", (long long)n);
    ema->n = n;
    return GM_OK;
}
