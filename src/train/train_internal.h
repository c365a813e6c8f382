/*
 * train_internal.h — the trainer's private state, shared by trainer.c (the
 * loop) and train_state.c (fresh start, --resume state file, metrics file).
 */
#ifndef GENMOD_TRAIN_INTERNAL_H
#define GENMOD_TRAIN_INTERNAL_H
#include <stdio.h>
#include "genmod/optim.h"
#include "genmod/train.h"

typedef struct gm_train_opts {
    gm_optim_config ocfg;
    gm_schedule sched;
    int64_t epochs, batch, patience, log_every, max_steps, eval_batch, nan_at;
    double clip, ema;
    uint64_t seed;
} gm_train_opts;

typedef struct gm_trainer {
    gm_model *m;
    const gm_dataset *train, *valid;
    const gm_train_io *io;
    gm_train_opts o;
    gm_loader loader;
    int loader_ok, dynamic_binarize;
    gm_optim *opt;
    gm_ema *ema;
    gm_ctx *ctx;
    gm_rng rng_model;            /* stream for the model's own randomness (dropout, noise) */
    float *xb;                   /* (batch, D) current minibatch */
    FILE *metrics;               /* RUN/metrics.jsonl, appended */
    char path_best[1024], path_last[1024], path_state[1024];
    int64_t step, best_epoch, bad_epochs, epoch_loss_n, items_since_start;
    double best, epoch_loss_sum, last_loss, lr, grad_norm, t_start, t_epoch;
    double rate, rate_t;         /* progress: smoothed items/s, time of its last update */
    int64_t rate_items;          /* items_since_start at rate_t */
    int have_ckpt, stopped_early, interrupted;
} gm_trainer;

gm_status gm_trainer_init(gm_trainer *t, gm_model *m, const gm_dataset *train, const gm_dataset *valid,
                          const gm_train_io *io);
gm_status gm_trainer_alloc(gm_trainer *t);     /* optimizer, EMA, ctx, batch buffer */
gm_status gm_trainer_fresh(gm_trainer *t);     /* config.json, new metrics.jsonl */
gm_status gm_trainer_load_state(gm_trainer *t); /* RUN/state.gmts -> params, optimizer, RNG, loader... */
gm_status gm_trainer_save_state(gm_trainer *t);
void gm_trainer_free(gm_trainer *t);
void gm_metrics_printf(gm_trainer *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#endif
