/*
 * optim.c — optimizer configs, lifecycle, state accessors and the step driver
 * (per-step scalars in double as torch computes them, then the update kernels
 * of update.c over the trainable runs, OpenMP-parallel by blocks).
 * Not here: the element formulas (update.c), clipping, schedules, EMA.
 */
#include "optim/optim_internal.h"
#include "core/op_internal.h"
#include <stdlib.h>
#include <string.h>

#define GM_OPT_MAX_STATE 3

struct gm_optim {
    gm_optim_config cfg;
    int64_t total;       /* params->total at creation */
    int count;           /* params->count at creation */
    int64_t step;
    int nstate;
    const char *names[GM_OPT_MAX_STATE];
    float *state[GM_OPT_MAX_STATE]; /* (total) each */
};

static const char *const type_names[] = {"sgd", "adam", "adamw", "adagrad", "rmsprop"};

gm_optim_config gm_optim_defaults(gm_optim_type type) {
    gm_optim_config c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.lr = 1e-3;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.alpha = 0.99;
    switch (type) {
    case GM_OPTIM_ADAMW: c.weight_decay = 1e-2; break;
    case GM_OPTIM_ADAGRAD: c.lr = 1e-2; c.eps = 1e-10; break;
    case GM_OPTIM_RMSPROP: c.lr = 1e-2; break;
    default: break;
    }
    return c;
}

const char *gm_optim_type_name(gm_optim_type type) {
    return ((unsigned)type < sizeof type_names / sizeof *type_names) ? type_names[type] : "?";
}

gm_status gm_optim_type_parse(const char *name, gm_optim_type *type) {
    for (int i = 0; name && i < (int)(sizeof type_names / sizeof *type_names); i++)
        if (strcmp(name, type_names[i]) == 0) { *type = (gm_optim_type)i; return GM_OK; }
    return gm_error(GM_ERR_ARG, "optimizer: unknown name '%s' (sgd, adam, adamw, adagrad, rmsprop)", name ? name : "(null)");
}

#define NEED(cond, ...) do { if (!(cond)) return gm_error(GM_ERR_ARG, __VA_ARGS__); } while (0)

gm_status gm_optim_config_check(const gm_optim_config *c) {
    NEED(c, "optimizer: NULL config");
    NEED((unsigned)c->type <= GM_OPTIM_RMSPROP, "optimizer: unknown type %d", (int)c->type);
    const char *n = gm_optim_type_name(c->type);
    NEED(isfinite(c->lr) && c->lr >= 0, "%s lr: must be >= 0, got %g", n, c->lr);
    NEED(isfinite(c->weight_decay) && c->weight_decay >= 0, "%s weight_decay: must be >= 0, got %g", n, c->weight_decay);
    switch (c->type) {
    case GM_OPTIM_SGD:
        NEED(isfinite(c->momentum) && c->momentum >= 0, "sgd momentum: must be >= 0, got %g", c->momentum);
        NEED(isfinite(c->dampening), "sgd dampening: must be finite");
        NEED(!c->nesterov || (c->momentum > 0 && c->dampening == 0),
             "sgd nesterov: needs momentum > 0 and dampening 0 (got %g, %g)", c->momentum, c->dampening);
        break;
    case GM_OPTIM_ADAM:
    case GM_OPTIM_ADAMW:
        NEED(c->beta1 >= 0 && c->beta1 < 1, "%s beta1: must be in [0, 1), got %g", n, c->beta1);
        NEED(c->beta2 >= 0 && c->beta2 < 1, "%s beta2: must be in [0, 1), got %g", n, c->beta2);
        NEED(isfinite(c->eps) && c->eps >= 0, "%s eps: must be >= 0, got %g", n, c->eps);
        break;
    case GM_OPTIM_ADAGRAD:
        NEED(isfinite(c->eps) && c->eps >= 0, "adagrad eps: must be >= 0, got %g", c->eps);
        NEED(isfinite(c->lr_decay) && c->lr_decay >= 0, "adagrad lr_decay: must be >= 0, got %g", c->lr_decay);
        NEED(isfinite(c->initial_accumulator_value) && c->initial_accumulator_value >= 0,
             "adagrad initial_accumulator_value: must be >= 0, got %g", c->initial_accumulator_value);
        break;
    case GM_OPTIM_RMSPROP:
        NEED(isfinite(c->eps) && c->eps >= 0, "rmsprop eps: must be >= 0, got %g", c->eps);
        NEED(isfinite(c->alpha) && c->alpha >= 0 && c->alpha <= 1, "rmsprop alpha: must be in [0, 1], got %g", c->alpha);
        NEED(isfinite(c->momentum) && c->momentum >= 0, "rmsprop momentum: must be >= 0, got %g", c->momentum);
        break;
    }
    return GM_OK;
}

int gm_optim_next_span(const gm_params *p, int *entry, gm_span *s) {
    int i = *entry;
    while (i < p->count && !p->entries[i].trainable) i++;
    if (i >= p->count) { *entry = i; return 0; }
    s->lo = p->entries[i].offset;
    s->hi = s->lo + p->entries[i].numel;
    for (i++; i < p->count && p->entries[i].trainable && p->entries[i].offset == s->hi; i++)
        s->hi = p->entries[i].offset + p->entries[i].numel;
    *entry = i;
    return 1;
}

int gm_optim_same_layout(const gm_params *p, int64_t total, int count) {
    return p && p->finalized && p->data && p->grad && p->total == total && p->count == count;
}

static int add_state(gm_optim *o, const char *name, float init) {
    size_t bytes = ((size_t)(o->total > 0 ? o->total : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *s = aligned_alloc(64, bytes);
    if (!s) return 0;
    for (int64_t i = 0; i < o->total; i++) s[i] = init;
    o->names[o->nstate] = name;
    o->state[o->nstate++] = s;
    return 1;
}

/* initial value of state array i */
static float state_init(const gm_optim *o, int i) {
    return (o->cfg.type == GM_OPTIM_ADAGRAD && i == 0) ? (float)o->cfg.initial_accumulator_value : 0.0f;
}

gm_optim *gm_optim_new(const gm_optim_config *cfg, const gm_params *params) {
    if (gm_optim_config_check(cfg) != GM_OK) return NULL;
    if (!params || !params->finalized) { gm_error(GM_ERR_ARG, "optimizer: params must be finalized"); return NULL; }
    gm_optim *o = calloc(1, sizeof *o);
    if (!o) { gm_error(GM_ERR_NOMEM, "optimizer: out of memory"); return NULL; }
    o->cfg = *cfg;
    o->total = params->total;
    o->count = params->count;
    int ok = 1;
    switch (cfg->type) {
    case GM_OPTIM_SGD: if (cfg->momentum != 0) ok = add_state(o, "momentum_buffer", 0.0f); break;
    case GM_OPTIM_ADAM:
    case GM_OPTIM_ADAMW: ok = add_state(o, "exp_avg", 0.0f) && add_state(o, "exp_avg_sq", 0.0f); break;
    case GM_OPTIM_ADAGRAD: ok = add_state(o, "sum", (float)cfg->initial_accumulator_value); break;
    case GM_OPTIM_RMSPROP:
        ok = add_state(o, "square_avg", 0.0f);
        if (ok && cfg->centered) ok = add_state(o, "grad_avg", 0.0f);
        if (ok && cfg->momentum > 0) ok = add_state(o, "momentum_buffer", 0.0f);
        break;
    }
    if (!ok) {
        gm_optim_free(o);
        gm_error(GM_ERR_NOMEM, "optimizer: cannot allocate state for %lld floats", (long long)params->total);
        return NULL;
    }
    return o;
}

void gm_optim_free(gm_optim *opt) {
    if (!opt) return;
    for (int i = 0; i < opt->nstate; i++) free(opt->state[i]);
    free(opt);
}

void gm_optim_reset(gm_optim *opt) {
    for (int i = 0; i < opt->nstate; i++) {
        float v = state_init(opt, i);
        for (int64_t k = 0; k < opt->total; k++) opt->state[i][k] = v;
    }
    opt->step = 0;
}

/* The state array named `name`, or NULL. */
static float *state_by_name(gm_optim *o, const char *name) {
    for (int i = 0; i < o->nstate; i++) if (strcmp(o->names[i], name) == 0) return o->state[i];
    return NULL;
}

/* Fills the per-step kernel arguments (scalars in double, rounded to float where torch rounds). */
static void prepare(gm_optim *o, gm_params *p, double lr, gm_opt_kargs *a) {
    const gm_optim_config *c = &o->cfg;
    double t = (double)o->step; /* already incremented */
    memset(a, 0, sizeof *a);
    a->p = p->data;
    a->g = p->grad;
    a->wd = (float)c->weight_decay;
    a->neg_lr = (float)-lr;
    switch (c->type) {
    case GM_OPTIM_SGD:
        a->kind = GM_OPTK_SGD;
        a->s0 = state_by_name(o, "momentum_buffer");
        a->mom = (float)c->momentum;
        a->one_minus_damp = (float)(1.0 - c->dampening);
        a->nesterov = c->nesterov;
        a->first = o->step == 1;
        break;
    case GM_OPTIM_ADAM:
    case GM_OPTIM_ADAMW: {
        a->kind = GM_OPTK_ADAM;
        a->s0 = o->state[0];
        a->s1 = o->state[1];
        if (c->type == GM_OPTIM_ADAMW) {
            a->decoupled = 1;
            a->decay_mul = (float)(1.0 - lr * c->weight_decay);
            a->wd = 0.0f;
        }
        a->w = (float)(1.0 - c->beta1);
        a->b2 = (float)c->beta2;
        a->one_minus_b2 = (float)(1.0 - c->beta2);
        double bc1 = 1.0 - pow(c->beta1, t), bc2 = 1.0 - pow(c->beta2, t);
        a->neg_lr = (float)-(lr / bc1);
        a->bc2_sqrt = (float)sqrt(bc2);
        a->eps = (float)c->eps;
        break;
    }
    case GM_OPTIM_ADAGRAD:
        a->kind = GM_OPTK_ADAGRAD;
        a->s0 = o->state[0];
        a->neg_lr = (float)-(lr / (1.0 + (t - 1.0) * c->lr_decay));
        a->eps = (float)c->eps;
        break;
    case GM_OPTIM_RMSPROP: {
        a->kind = GM_OPTK_RMSPROP;
        a->s0 = state_by_name(o, "square_avg");
        a->s1 = state_by_name(o, "grad_avg");
        a->s2 = state_by_name(o, "momentum_buffer");
        a->alpha = (float)c->alpha;
        a->one_minus_alpha = (float)(1.0 - c->alpha);
        a->w = (float)(1.0 - c->alpha);
        a->mom = (float)c->momentum;
        a->eps = (float)c->eps;
        break;
    }
    }
}

gm_status gm_optim_step(gm_optim *opt, gm_params *params, double lr) {
    if (!opt) return gm_error(GM_ERR_ARG, "optimizer: NULL");
    if (!gm_optim_same_layout(params, opt->total, opt->count))
        return gm_error(GM_ERR_ARG, "%s step: params are not the finalized set the optimizer was created for",
                        gm_optim_type_name(opt->cfg.type));
    if (!isfinite(lr) || lr < 0)
        return gm_error(GM_ERR_ARG, "%s step: lr must be finite and >= 0, got %g", gm_optim_type_name(opt->cfg.type), lr);
    opt->step++;
    gm_opt_kargs a;
    prepare(opt, params, lr, &a);
    int e = 0;
    gm_span s;
    while (gm_optim_next_span(params, &e, &s)) {
        int64_t n = s.hi - s.lo, nb = (n + GM_OPT_BLOCK - 1) / GM_OPT_BLOCK;
        int nt = gm_par_threads(n * 4);
        (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t b = 0; b < nb; b++) {
            int64_t lo = s.lo + b * GM_OPT_BLOCK, hi = lo + GM_OPT_BLOCK < s.hi ? lo + GM_OPT_BLOCK : s.hi;
            gm_optim_update_range(&a, lo, hi);
        }
    }
    return GM_OK;
}

const gm_optim_config *gm_optim_get_config(const gm_optim *opt) { return &opt->cfg; }
int gm_optim_state_count(const gm_optim *opt) { return opt->nstate; }

const char *gm_optim_state_name(const gm_optim *opt, int i) {
    return (i >= 0 && i < opt->nstate) ? opt->names[i] : NULL;
}

float *gm_optim_state_data(gm_optim *opt, int i) { return (i >= 0 && i < opt->nstate) ? opt->state[i] : NULL; }
int64_t gm_optim_state_len(const gm_optim *opt, int i) { return (i >= 0 && i < opt->nstate) ? opt->total : 0; }
int64_t gm_optim_get_step(const gm_optim *opt) { return opt->step; }

gm_status gm_optim_set_step(gm_optim *opt, int64_t step) {
    if (step < 0) return gm_error(GM_ERR_ARG, "optimizer step: must be >= 0, got %lld", (long long)step);
    opt->step = step;
    return GM_OK;
}
