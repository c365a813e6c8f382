/*
 * genmod/train.h — the trainer and the evaluator.
 *
 * What this is: the loop every model shares. gm_train() runs epochs over a
 * shuffled minibatch loader: loss -> backward -> finite check -> gradient
 * clipping -> optimizer step at the scheduled learning rate -> EMA; after each
 * epoch it evaluates the validation NLL, keeps the best checkpoint (early
 * stopping with a patience), writes the last checkpoint and a training-state
 * file so `--resume` continues bit-for-bit, and appends metrics to
 * RUN/metrics.jsonl. Its options are plain config keys (gm_train_hparams), so
 * the run's resolved config is one gm_config saved in the checkpoint.
 * What this is not: a model; it only calls the gm_model_def vtable.
 *
 * Run directory layout (created if missing):
 *   config.json        resolved model + trainer configuration
 *   metrics.jsonl      one JSON object per log line / epoch
 *   best.safetensors   parameters with the best validation NLL so far
 *   last.safetensors   parameters at the end of the last finished epoch
 *   state.gmts         training state (optimizer moments, RNG, data position, EMA)
 */
#ifndef GENMOD_TRAIN_H
#define GENMOD_TRAIN_H
#include <stdio.h>
#include "genmod/data.h"
#include "genmod/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Trainer options, as hyper-parameter specs (--epochs, --lr, ...). */
extern const gm_hparam gm_train_hparams[];
extern const int gm_train_n_hparams;

typedef struct gm_train_io {
    const char *run_dir;  /* required */
    FILE *log;            /* progress and log lines (NULL = silent) */
    int tty;              /* 1: redraw one progress line with \r; 0: plain lines every log-every steps */
    int resume;           /* 1: continue from run_dir/state.gmts */
    int debug_finite;     /* 1: every op checks its output for NaN/Inf (names the first bad op) */
    int64_t max_steps;    /* > 0: stop after this many steps in total, saving state for resume */
} gm_train_io;

typedef struct gm_train_result {
    int64_t steps, epochs;
    double best_valid_nll;   /* nats per example (NAN if no validation data) */
    int64_t best_epoch;      /* 1-based */
    double train_seconds;
    int stopped_early;
    int interrupted;         /* 1: stopped by max-steps or a signal before the last epoch */
} gm_train_result;

/* Trains m (created and initialised by the caller; on --resume its parameters
 * are replaced by the saved state) on `train`, validating on `valid` (may be
 * NULL). Options are read from m->config (gm_train_hparams keys; defaults
 * applied). Returns GM_OK, or an error: GM_ERR_NONFINITE names the step (and
 * in debug mode the first op) where the loss or a gradient was NaN/Inf; the
 * checkpoints written before are left untouched. */
gm_status gm_train(gm_model *m, const gm_dataset *train, const gm_dataset *valid, const gm_train_io *io,
                   gm_train_result *res);

/* Requests the running gm_train to stop after the current step and save its
 * state (async-signal-safe: only sets a flag). */
void gm_train_request_stop(void);

/* Mean and standard error of -log p(x) (nats) over the rows of ds, evaluated
 * in chunks of `batch` rows without gradients. per_example (ds->n, may be
 * NULL) receives log p(x) of every row. */
gm_status gm_evaluate_nll(gm_model *m, const gm_dataset *ds, int64_t batch, double *mean, double *stderr_,
                          double *per_example);

/* Applies the binarization the config asks for (key "binarize": none, fixed,
 * dynamic, auto; "binarize-seed") to a split: fixed Bernoulli draws, the same
 * for every run with the same binarize-seed. No-op for data that is already
 * binary, for "none", and for "auto" when the model does not need binary data.
 * With "dynamic" and dynamic != NULL the data are left as they are and
 * *dynamic is set to 1 (the loader resamples training rows every epoch). */
gm_status gm_prepare_data(const gm_model_def *def, const gm_config *cfg, gm_dataset *ds, int *dynamic);

#ifdef __cplusplus
}
#endif
#endif
