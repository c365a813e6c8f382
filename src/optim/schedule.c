/*
 * schedule.c — learning-rate schedules as pure functions of the step:
 * constant, step (StepLR), cosine (CosineAnnealingLR closed form), each with
 * an optional linear warmup (LinearLR in a SequentialLR). Formulas are in
 * genmod/optim.h and were checked against torch.optim.lr_scheduler by
 * tests/golden/gen_optim.py.
 * Not here: schedules that depend on metrics (ReduceLROnPlateau).
 */
#include "genmod/optim.h"
#include <math.h>
#include <string.h>

#define SCHED_PI 3.14159265358979323846

static const char *const sched_names[] = {"constant", "step", "cosine"};

gm_schedule gm_schedule_constant(double lr) {
    gm_schedule s;
    memset(&s, 0, sizeof s);
    s.type = GM_SCHED_CONSTANT;
    s.base_lr = lr;
    s.step_size = 1;
    s.gamma = 1.0;
    return s;
}

const char *gm_sched_type_name(gm_sched_type type) {
    return ((unsigned)type < sizeof sched_names / sizeof *sched_names) ? sched_names[type] : "?";
}

gm_status gm_sched_type_parse(const char *name, gm_sched_type *type) {
    for (int i = 0; name && i < (int)(sizeof sched_names / sizeof *sched_names); i++)
        if (strcmp(name, sched_names[i]) == 0) { *type = (gm_sched_type)i; return GM_OK; }
    return gm_error(GM_ERR_ARG, "schedule: unknown name '%s' (constant, step, cosine)", name ? name : "(null)");
}

gm_status gm_schedule_check(const gm_schedule *s) {
    if (!s) return gm_error(GM_ERR_ARG, "schedule: NULL");
    if ((unsigned)s->type > GM_SCHED_COSINE) return gm_error(GM_ERR_ARG, "schedule: unknown type %d", (int)s->type);
    if (!isfinite(s->base_lr) || s->base_lr < 0)
        return gm_error(GM_ERR_ARG, "schedule lr: must be >= 0, got %g", s->base_lr);
    if (s->warmup_steps < 0)
        return gm_error(GM_ERR_ARG, "schedule warmup_steps: must be >= 0, got %lld", (long long)s->warmup_steps);
    if (s->warmup_steps > 0 && !(s->warmup_start >= 0 && s->warmup_start <= 1))
        return gm_error(GM_ERR_ARG, "schedule warmup_start: must be in [0, 1], got %g", s->warmup_start);
    if (s->type == GM_SCHED_STEP) {
        if (s->step_size <= 0)
            return gm_error(GM_ERR_ARG, "schedule step_size: must be > 0, got %lld", (long long)s->step_size);
        if (!isfinite(s->gamma) || s->gamma <= 0)
            return gm_error(GM_ERR_ARG, "schedule gamma: must be > 0, got %g", s->gamma);
    }
    if (s->type == GM_SCHED_COSINE) {
        if (s->total_steps <= s->warmup_steps)
            return gm_error(GM_ERR_ARG, "schedule total_steps: must exceed warmup_steps (%lld), got %lld",
                            (long long)s->warmup_steps, (long long)s->total_steps);
        if (!isfinite(s->min_lr) || s->min_lr < 0)
            return gm_error(GM_ERR_ARG, "schedule min_lr: must be >= 0, got %g", s->min_lr);
    }
    return GM_OK;
}

double gm_schedule_lr(const gm_schedule *s, int64_t step) {
    if (step < 0) step = 0;
    int64_t W = s->warmup_steps > 0 ? s->warmup_steps : 0;
    if (step < W) return s->base_lr * (s->warmup_start + (1.0 - s->warmup_start) * (double)step / (double)W);
    int64_t t = step - W;
    switch (s->type) {
    case GM_SCHED_STEP:
        return s->step_size > 0 ? s->base_lr * pow(s->gamma, (double)(t / s->step_size)) : s->base_lr;
    case GM_SCHED_COSINE: {
        int64_t T = s->total_steps - W;
        if (T <= 0 || t >= T) return s->min_lr;
        return s->min_lr + (s->base_lr - s->min_lr) * (1.0 + cos(SCHED_PI * (double)t / (double)T)) / 2.0;
    }
    default:
        return s->base_lr;
    }
}
