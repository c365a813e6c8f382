/*
 * train_state.c — the trainer's files: a fresh run's config.json and
 * metrics.jsonl, and the training-state file RUN/state.gmts that makes
 * `--resume` continue with exactly the numbers an uninterrupted run produces:
 * parameters, optimizer moments and step, EMA shadow, RNG stream, data-loader
 * position (epoch, rows done, seed), best validation NLL and early-stopping
 * counters, and the running epoch-loss sums (doubles stored as hex floats).
 * What this is not: the loop (trainer.c) or the checkpoint format (models).
 */
#include "io/io_internal.h"
#include "genmod/trainstate.h"
#include "train_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

gm_status gm_trainer_init(gm_trainer *t, gm_model *m, const gm_dataset *train, const gm_dataset *valid,
                          const gm_train_io *io) {
    memset(t, 0, sizeof *t);
    t->m = m;
    t->train = train;
    t->valid = valid && valid->n > 0 ? valid : NULL;
    t->io = io;
    t->best = INFINITY;
    const char *mode = gm_config_get(&m->config, "binarize");
    t->dynamic_binarize = mode && !strcmp(mode, "dynamic") && m->def->binary_data;
    int k1 = snprintf(t->path_best, sizeof t->path_best, "%s/best.safetensors", io->run_dir);
    int k2 = snprintf(t->path_last, sizeof t->path_last, "%s/last.safetensors", io->run_dir);
    int k3 = snprintf(t->path_state, sizeof t->path_state, "%s/state.gmts", io->run_dir);
    if (k1 >= (int)sizeof t->path_best || k2 >= (int)sizeof t->path_last || k3 >= (int)sizeof t->path_state)
        return gm_error(GM_ERR_ARG, "--run: directory name too long");
    return GM_OK;
}

gm_status gm_trainer_alloc(gm_trainer *t) {
    gm_model *m = t->m;
    t->opt = gm_optim_new(&t->o.ocfg, &m->params);
    if (!t->opt) return gm_error(GM_ERR_ARG, "optimizer: %s", gm_last_error());
    if (t->o.ema > 0) {
        t->ema = gm_ema_new(&m->params, t->o.ema, 0);
        if (!t->ema) return gm_error(GM_ERR_NOMEM, "ema: %s", gm_last_error());
    }
    t->ctx = gm_ctx_new(0);
    int64_t rows = t->o.batch < t->train->n ? t->o.batch : t->train->n; /* the loader never returns more */
    t->xb = malloc((size_t)(rows * m->dim) * sizeof(float)); // (rows, D)
    if (!t->ctx || !t->xb) return gm_error(GM_ERR_NOMEM, "trainer: out of memory for batch %lld x %lld",
                                           (long long)t->o.batch, (long long)m->dim);
    gm_set_training(t->ctx, 1);
    gm_set_debug_finite(t->ctx, t->io->debug_finite);
    gm_rng_seed(&t->rng_model, t->o.seed, GM_STREAM_DROPOUT); /* dropout / noise inside the loss */
    return GM_OK;
}

static gm_status write_text_atomic(const char *path, const char *text) {
    gm_atomic_file a;
    gm_status st = gm_atomic_open(&a, path);
    if (st != GM_OK) return st;
    st = gm_atomic_write(&a, text, strlen(text));
    if (st != GM_OK) {
        gm_atomic_abort(&a);
        return st;
    }
    return gm_atomic_commit(&a);
}

static gm_status open_metrics(gm_trainer *t, const char *mode) {
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.jsonl", t->io->run_dir);
    t->metrics = fopen(path, mode);
    if (!t->metrics) return gm_error(GM_ERR_IO, "%s: cannot open for writing", path);
    return GM_OK;
}

gm_status gm_trainer_fresh(gm_trainer *t) {
    char json[16384], path[1100];
    gm_status st = gm_config_to_json(&t->m->config, json, sizeof json - 1);
    if (st != GM_OK) return st;
    strcat(json, "\n");
    snprintf(path, sizeof path, "%s/config.json", t->io->run_dir);
    if ((st = write_text_atomic(path, json)) != GM_OK) return st;
    /* a fresh run must not inherit an older run's state */
    remove(t->path_state);
    return open_metrics(t, "w");
}

void gm_metrics_printf(gm_trainer *t, const char *fmt, ...) {
    if (!t->metrics) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->metrics, fmt, ap);
    va_end(ap);
    fputc('\n', t->metrics);
    fflush(t->metrics);
}

static gm_status put_double(gm_ts_writer *w, const char *key, double v) {
    char buf[64];
    snprintf(buf, sizeof buf, "%a", v);
    return gm_ts_put_string(w, key, buf);
}

gm_status gm_trainer_save_state(gm_trainer *t) {
    gm_model *m = t->m;
    gm_ts_writer *w = gm_ts_writer_new();
    if (!w) return gm_error(GM_ERR_NOMEM, "%s: out of memory", t->path_state);
    char cfg[16384];
    gm_loader_state ls = gm_loader_get_state(&t->loader);
    gm_status st = gm_config_to_json(&m->config, cfg, sizeof cfg);
    if (st == GM_OK) st = gm_ts_put_string(w, "model_type", m->def->name);
    if (st == GM_OK) st = gm_ts_put_string(w, "config", cfg);
    if (st == GM_OK) st = gm_ts_put_floats(w, "params", m->params.data, m->params.total);
    if (st == GM_OK) st = gm_ts_put_optim(w, t->opt);
    if (st == GM_OK) st = gm_ts_put_rng(w, "model", &t->rng_model);
    if (st == GM_OK) st = gm_ts_put_int64(w, "step", t->step);
    if (st == GM_OK) st = gm_ts_put_int64(w, "epoch", ls.epoch);
    if (st == GM_OK) st = gm_ts_put_int64(w, "data_position", ls.pos);
    if (st == GM_OK) st = gm_ts_put_int64(w, "data_seed", (int64_t)ls.seed);
    if (st == GM_OK) st = gm_ts_put_int64(w, "best_epoch", t->best_epoch);
    if (st == GM_OK) st = gm_ts_put_int64(w, "bad_epochs", t->bad_epochs);
    if (st == GM_OK) st = gm_ts_put_int64(w, "epoch_loss_n", t->epoch_loss_n);
    if (st == GM_OK) st = gm_ts_put_int64(w, "have_checkpoint", t->have_ckpt);
    if (st == GM_OK) st = put_double(w, "best_valid_nll", t->best);
    if (st == GM_OK) st = put_double(w, "epoch_loss_sum", t->epoch_loss_sum);
    if (st == GM_OK && t->ema) {
        st = gm_ts_put_floats(w, "ema.shadow", gm_ema_shadow(t->ema), gm_ema_len(t->ema));
        if (st == GM_OK) st = gm_ts_put_int64(w, "ema.step", gm_ema_get_step(t->ema));
    }
    if (st == GM_OK) st = gm_ts_save(w, t->path_state);
    gm_ts_writer_free(w);
    return st;
}

static gm_status get_double(const gm_ts_reader *r, const char *path, const char *key, double *v) {
    const char *s = NULL;
    gm_status st = gm_ts_get_string(r, key, &s);
    if (st != GM_OK) return st;
    char *end = NULL;
    *v = strtod(s, &end);
    if (end == s || *end) return gm_error(GM_ERR_FORMAT, "%s: %s is not a number", path, key);
    return GM_OK;
}

gm_status gm_trainer_load_state(gm_trainer *t) {
    gm_model *m = t->m;
    const char *path = t->path_state;
    gm_ts_reader *r = NULL;
    gm_status st = gm_ts_open(path, &r);
    if (st != GM_OK) return st;
    const char *type = NULL;
    int64_t step = 0, epoch = 0, pos = 0, seed = 0, be = 0, bad = 0, eln = 0, hc = 0;
    double best = 0, els = 0;
    st = gm_ts_get_string(r, "model_type", &type);
    if (st == GM_OK && strcmp(type, m->def->name))
        st = gm_error(GM_ERR_ARG, "%s: state is for model '%s', not '%s'", path, type, m->def->name);
    if (st == GM_OK && gm_ts_floats_len(r, "params") != m->params.total)
        st = gm_error(GM_ERR_SHAPE, "%s: holds %lld parameter values, the model has %lld", path,
                      (long long)gm_ts_floats_len(r, "params"), (long long)m->params.total);
    if (st == GM_OK) st = gm_ts_get_int64(r, "step", &step);
    if (st == GM_OK) st = gm_ts_get_int64(r, "epoch", &epoch);
    if (st == GM_OK) st = gm_ts_get_int64(r, "data_position", &pos);
    if (st == GM_OK) st = gm_ts_get_int64(r, "data_seed", &seed);
    if (st == GM_OK) st = gm_ts_get_int64(r, "best_epoch", &be);
    if (st == GM_OK) st = gm_ts_get_int64(r, "bad_epochs", &bad);
    if (st == GM_OK) st = gm_ts_get_int64(r, "epoch_loss_n", &eln);
    if (st == GM_OK) st = gm_ts_get_int64(r, "have_checkpoint", &hc);
    if (st == GM_OK) st = get_double(r, path, "best_valid_nll", &best);
    if (st == GM_OK) st = get_double(r, path, "epoch_loss_sum", &els);
    if (st == GM_OK && (step < 0 || epoch < 0 || pos < 0 || bad < 0 || eln < 0))
        st = gm_error(GM_ERR_FORMAT, "%s: negative counters", path);
    if (st == GM_OK && t->ema && gm_ts_floats_len(r, "ema.shadow") != gm_ema_len(t->ema))
        st = gm_error(GM_ERR_FORMAT, "%s: no EMA state of the right size (was the run started with --ema?)", path);
    /* everything validated: now mutate */
    if (st == GM_OK) st = gm_ts_get_floats(r, "params", m->params.data, m->params.total);
    if (st == GM_OK) st = gm_ts_get_optim(r, t->opt);
    if (st == GM_OK) st = gm_ts_get_rng(r, "model", &t->rng_model);
    if (st == GM_OK) {
        gm_loader_state ls = {.epoch = epoch, .pos = pos, .seed = (uint64_t)seed};
        st = gm_loader_set_state(&t->loader, ls);
        if (st != GM_OK) st = gm_error(st, "%s: data position does not fit the training data: %s", path, gm_last_error());
    }
    if (st == GM_OK && t->ema) {
        int64_t es = 0;
        st = gm_ts_get_floats(r, "ema.shadow", gm_ema_shadow(t->ema), gm_ema_len(t->ema));
        if (st == GM_OK) st = gm_ts_get_int64(r, "ema.step", &es);
        if (st == GM_OK) st = gm_ema_set_step(t->ema, es);
    }
    gm_ts_close(r);
    if (st != GM_OK) return st;
    t->step = step;
    t->lr = step > 0 ? gm_schedule_lr(&t->o.sched, step - 1) : 0; /* the lr of the last step, for metrics */
    t->best_epoch = be;
    t->bad_epochs = bad;
    t->epoch_loss_n = eln;
    t->epoch_loss_sum = els;
    t->best = best;
    t->have_ckpt = (int)hc;
    if (t->io->log)
        fprintf(t->io->log, "resuming %s at step %lld (epoch %lld, row %lld)\n", path, (long long)step,
                (long long)epoch + 1, (long long)pos);
    return open_metrics(t, "a");
}

void gm_trainer_free(gm_trainer *t) {
    if (t->metrics) fclose(t->metrics);
    if (t->loader_ok) gm_loader_free(&t->loader);
    gm_optim_free(t->opt);
    gm_ema_free(t->ema);
    gm_ctx_free(t->ctx);
    free(t->xb);
    memset(t, 0, sizeof *t);
}
