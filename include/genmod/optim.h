/*
 * genmod/optim.h — optimizers, global-norm gradient clipping, learning-rate
 * schedules and an exponential moving average (EMA) of the weights.
 *
 * What this is: loops over a gm_params' flat value / gradient buffers.
 *   - Optimizers (SGD, Adam, AdamW, Adagrad, RMSprop) follow torch.optim's
 *     single-tensor update rules exactly (same formulas, same order, scalar
 *     hyper-parameter math in double, element math in float32). Their state
 *     (moments) lives in flat float buffers of params->total floats with the
 *     params' layout, allocated once by gm_optim_new; a step allocates nothing.
 *   - Only trainable entries are read or written; buffers (trainable=0) are
 *     never touched by an optimizer or by clipping.
 *   - Schedules are pure functions lr(step) (no hidden state), so resuming a
 *     run only needs the step count.
 * What this is not: parameter groups (one lr / config for all parameters),
 * AMSGrad, sparse gradients, or the training-state file (which uses the state
 * accessors below).
 */
#ifndef GENMOD_OPTIM_H
#define GENMOD_OPTIM_H

#include "genmod/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ optimizers */

typedef enum gm_optim_type {
    GM_OPTIM_SGD = 0,
    GM_OPTIM_ADAM = 1,
    GM_OPTIM_ADAMW = 2,
    GM_OPTIM_ADAGRAD = 3,
    GM_OPTIM_RMSPROP = 4
} gm_optim_type;

/* Hyper-parameters (torch.optim names). Fields an optimizer does not use are
 * ignored. Doubles so that scalar math (bias corrections...) matches torch. */
typedef struct gm_optim_config {
    gm_optim_type type;
    double lr;           /* base learning rate (schedules start from it; gm_optim_step takes the lr to use) */
    double weight_decay; /* SGD/Adam/Adagrad/RMSprop: L2, g += wd * p; AdamW: decoupled, p *= 1 - lr * wd */
    double momentum;     /* SGD, RMSprop; 0 = none */
    double dampening;    /* SGD: buf = momentum * buf + (1 - dampening) * g */
    int nesterov;        /* SGD: needs momentum > 0 and dampening == 0 */
    double beta1, beta2; /* Adam/AdamW */
    double eps;          /* Adam/AdamW/Adagrad/RMSprop: added after the square root */
    double alpha;        /* RMSprop smoothing constant */
    int centered;        /* RMSprop: normalise by the variance estimate */
    double initial_accumulator_value; /* Adagrad */
    double lr_decay;     /* Adagrad: lr / (1 + (step - 1) * lr_decay) */
} gm_optim_config;

/* torch.optim's defaults for `type` (SGD lr 1e-3; Adam lr 1e-3, betas
 * (0.9, 0.999), eps 1e-8; AdamW the same with weight_decay 1e-2; Adagrad
 * lr 1e-2, eps 1e-10; RMSprop lr 1e-2, alpha 0.99, eps 1e-8; the rest 0). */
gm_optim_config gm_optim_defaults(gm_optim_type type);

/* "sgd", "adam", "adamw", "adagrad", "rmsprop" ("?" for an unknown value). */
const char *gm_optim_type_name(gm_optim_type type);

/* Parses a name as above (case-sensitive). GM_ERR_ARG naming it if unknown. */
gm_status gm_optim_type_parse(const char *name, gm_optim_type *type);

/* Validates ranges as torch does (lr, eps, weight_decay, momentum >= 0;
 * betas in [0, 1); alpha >= 0; nesterov needs momentum > 0 and dampening 0...).
 * GM_OK, or GM_ERR_ARG naming the field. */
gm_status gm_optim_config_check(const gm_optim_config *cfg);

typedef struct gm_optim gm_optim;

/* Creates an optimizer for `params` (must be finalized; its layout must not
 * change afterwards). Allocates the state buffers (zeroed; Adagrad's sum set
 * to initial_accumulator_value) and sets the step count to 0. Returns NULL on
 * a bad config or allocation failure (message in gm_last_error()). */
gm_optim *gm_optim_new(const gm_optim_config *cfg, const gm_params *params);

/* Frees the optimizer and its state (NULL is fine). */
void gm_optim_free(gm_optim *opt);

/* One update of every trainable parameter from params->grad with learning
 * rate `lr` (usually gm_schedule_lr(&s, gm_optim_get_step(opt))); increments
 * the step count first, as torch does (bias corrections use the new count).
 * SGD's momentum buffer is set to the gradient on the first step (step count
 * 0 -> 1). No allocation; OpenMP-parallel for large parameter sets. Returns
 * GM_ERR_ARG for a params set of another layout or a negative / non-finite lr;
 * the parameters are unchanged then. */
gm_status gm_optim_step(gm_optim *opt, gm_params *params, double lr);

/* The config the optimizer was created with. */
const gm_optim_config *gm_optim_get_config(const gm_optim *opt);

/* Number of state arrays (SGD: 1 with momentum else 0; Adam/AdamW: 2;
 * Adagrad: 1; RMSprop: 1 + centered + (momentum > 0)). */
int gm_optim_state_count(const gm_optim *opt);

/* Name of state array i (torch's: "momentum_buffer", "exp_avg", "exp_avg_sq",
 * "sum", "square_avg", "grad_avg"); NULL if i is out of range. */
const char *gm_optim_state_name(const gm_optim *opt, int i);

/* State array i (params->total floats, same layout as params->data), writable
 * so a training-state loader can fill it; NULL if i is out of range. */
float *gm_optim_state_data(gm_optim *opt, int i);

/* Length in floats of state array i (params->total); 0 if out of range. */
int64_t gm_optim_state_len(const gm_optim *opt, int i);

/* Steps taken so far. */
int64_t gm_optim_get_step(const gm_optim *opt);

/* Sets the step count (after loading the state arrays). GM_ERR_ARG if < 0. */
gm_status gm_optim_set_step(gm_optim *opt, int64_t step);

/* Back to the freshly created state (moments reset, step 0). */
void gm_optim_reset(gm_optim *opt);

/* ------------------------------------------------------------------ clipping */

/* Global L2 norm of all trainable gradients, accumulated in double in a fixed
 * order (the result does not depend on the thread count). NAN if params is
 * not finalized (message set). */
double gm_grad_norm(const gm_params *params);

/* As torch.nn.utils.clip_grad_norm_: computes the global norm N above and, if
 * max_norm > 0 and max_norm / (N + 1e-6) < 1, multiplies every trainable
 * gradient by that factor (rounded to float). Returns N (the pre-clip norm).
 * A non-finite N is returned with the gradients left untouched (the caller
 * should skip the step). max_norm <= 0 means: only compute the norm. */
double gm_clip_grad_norm(gm_params *params, double max_norm);

/* ------------------------------------------------------------------ schedules */

typedef enum gm_sched_type {
    GM_SCHED_CONSTANT = 0,
    GM_SCHED_STEP = 1,   /* torch StepLR */
    GM_SCHED_COSINE = 2  /* torch CosineAnnealingLR (closed form) */
} gm_sched_type;

/* A learning-rate schedule: an optional linear warmup of warmup_steps (W)
 * steps followed by the main schedule at t = step - W:
 *   step < W:  base_lr * (warmup_start + (1 - warmup_start) * step / W)
 *              (torch LinearLR(start_factor=warmup_start, total_iters=W) in a
 *              SequentialLR with milestones=[W])
 *   CONSTANT:  base_lr
 *   STEP:      base_lr * gamma ^ floor(t / step_size)
 *   COSINE:    min_lr + (base_lr - min_lr) * (1 + cos(pi * t / (total_steps - W))) / 2,
 *              held at min_lr once t >= total_steps - W
 * `step` counts optimizer steps already taken (0 for the first step). */
typedef struct gm_schedule {
    gm_sched_type type;
    double base_lr;
    int64_t warmup_steps;  /* W >= 0; 0 = no warmup */
    double warmup_start;   /* in [0, 1]: lr factor at step 0 of the warmup */
    int64_t step_size;     /* STEP: > 0 */
    double gamma;          /* STEP: > 0 */
    int64_t total_steps;   /* COSINE: total steps including warmup, > W */
    double min_lr;         /* COSINE: >= 0 */
} gm_schedule;

/* A constant schedule at lr with no warmup (fill other fields after). */
gm_schedule gm_schedule_constant(double lr);

/* "constant", "step", "cosine" ("?" otherwise) and the inverse parse
 * (GM_ERR_ARG naming an unknown name). */
const char *gm_sched_type_name(gm_sched_type type);
gm_status gm_sched_type_parse(const char *name, gm_sched_type *type);

/* Validates the fields used by s->type. GM_OK or GM_ERR_ARG naming the field. */
gm_status gm_schedule_check(const gm_schedule *s);

/* Learning rate for optimizer step `step` (>= 0; negative counts as 0).
 * Pure function of (s, step). Assumes gm_schedule_check(s) == GM_OK. */
double gm_schedule_lr(const gm_schedule *s, int64_t step);

/* ------------------------------------------------------------------ EMA */

/* Shadow copy of all parameter values, updated after optimizer steps:
 *   n += 1; d = warmup ? min(decay, (1 + n) / (10 + n)) : decay;
 *   shadow -= (1 - d) * (shadow - value)   for trainable entries,
 *   shadow  = value                         for buffers (trainable=0).
 * gm_ema_apply swaps the shadow into params->data for evaluation and
 * gm_ema_restore swaps the training values back (no extra memory). */
typedef struct gm_ema gm_ema;

/* Creates an EMA of `params` (finalized) with shadow = current values, n = 0.
 * decay in [0, 1]. NULL on bad arguments or allocation failure. */
gm_ema *gm_ema_new(const gm_params *params, double decay, int warmup);

/* Frees it (NULL is fine). */
void gm_ema_free(gm_ema *ema);

/* The decay used by update number n (n >= 1, counting from 1). */
double gm_ema_decay_at(double decay, int warmup, int64_t n);

/* One EMA update from params->data (see above). GM_ERR_ARG if params has
 * another layout or the EMA is currently applied. */
gm_status gm_ema_update(gm_ema *ema, const gm_params *params);

/* Swaps the shadow values into params->data. GM_ERR_ARG if already applied
 * or another layout. */
gm_status gm_ema_apply(gm_ema *ema, gm_params *params);

/* Swaps the training values back after gm_ema_apply. GM_ERR_ARG if not applied. */
gm_status gm_ema_restore(gm_ema *ema, gm_params *params);

/* 1 while applied, else 0. */
int gm_ema_is_applied(const gm_ema *ema);

/* Shadow values (params->total floats, params' layout), writable for a state
 * loader. While applied it holds the training values: save/load only when not
 * applied. */
float *gm_ema_shadow(gm_ema *ema);
int64_t gm_ema_len(const gm_ema *ema);

/* Updates done so far (n) and its setter for resume (GM_ERR_ARG if < 0). */
int64_t gm_ema_get_step(const gm_ema *ema);
gm_status gm_ema_set_step(gm_ema *ema, int64_t n);

/* Shadow = current params->data, n = 0. GM_ERR_ARG if applied or another layout. */
gm_status gm_ema_reset(gm_ema *ema, const gm_params *params);

/* Its decay and warmup flag. */
double gm_ema_get_decay(const gm_ema *ema);
int gm_ema_get_warmup(const gm_ema *ema);

#ifdef __cplusplus
}
#endif
#endif
