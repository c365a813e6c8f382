/*
 * trainer.c — the shared training loop (see include/genmod/train.h).
 *
 * One step: reset the arena -> model loss on a minibatch -> finite check ->
 * zero-grad + backward -> gradient finite check -> global-norm clipping ->
 * optimizer step at the scheduled learning rate -> EMA. After each epoch:
 * validation NLL (with EMA weights when enabled), best/last checkpoints,
 * training state, one metrics line. State files are written atomically, so an
 * interrupted or failed run always leaves the last good checkpoint in place.
 * What this is not: the CLI (src/cli/cmd_train.c parses flags and loads data).
 */
#include "train_internal.h"
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* clang-format off */
const gm_hparam gm_train_hparams[] = {
    {"dataset", 's', "binarized-mnist", 0, 0, "dataset name (genmod data list) or a file: .amat[.gz], .npy, .csv, idx"},
    {"epochs", 'i', "20", 1, 1e6, "maximum number of passes over the training split"},
    {"batch", 'i', "100", 1, 1e6, "minibatch size"},
    {"optim", 's', "adam", 0, 0, "sgd, adam, adamw, adagrad or rmsprop"},
    {"lr", 'f', "1e-3", 0, 10, "base learning rate"},
    {"momentum", 'f', "0", 0, 0.9999, "sgd/rmsprop momentum"},
    {"nesterov", 'i', "0", 0, 1, "sgd: Nesterov momentum (1) or not (0)"},
    {"beta1", 'f', "0.9", 0, 0.99999, "adam/adamw first-moment decay"},
    {"beta2", 'f', "0.999", 0, 0.9999999, "adam/adamw second-moment decay"},
    {"weight-decay", 'f', "0", 0, 10, "L2 penalty (decoupled for adamw)"},
    {"schedule", 's', "constant", 0, 0, "constant, step or cosine"},
    {"warmup", 'i', "0", 0, 1e9, "linear warmup steps"},
    {"lr-step", 'i', "10000", 1, 1e12, "step schedule: steps between decays"},
    {"lr-gamma", 'f', "0.1", 1e-9, 1, "step schedule: decay factor"},
    {"min-lr", 'f', "0", 0, 10, "cosine schedule: final learning rate"},
    {"clip", 'f', "0", 0, 1e12, "global gradient-norm clipping threshold (0 = off)"},
    {"ema", 'f', "0", 0, 0.999999, "EMA decay of the weights used for validation and checkpoints (0 = off)"},
    {"patience", 'i', "5", 0, 1e6, "early stopping: epochs without validation improvement (0 = never stop)"},
    {"seed", 'i', "1", 0, 9007199254740992.0, "seed of initialisation, data order, binarization and sampling"},
    {"log-every", 'i', "100", 1, 1e12, "steps between plain log lines / metrics records"},
    {"binarize", 's', "auto", 0, 0, "none, auto (when the model needs binary data), fixed or dynamic"},
    {"binarize-seed", 'i', "0", 0, 9007199254740992.0, "seed of the fixed binarization of grey-level data"},
    {"eval-batch", 'i', "1000", 1, 1e6, "rows per evaluation chunk"},
    {"init-data", 'i', "1", 0, 1, "data-dependent initialisation where the model has one"},
    {"debug-nan-at", 'i', "0", 0, 1e15, "debugging aid: poison the input batch of this step with NaN"},
};
/* clang-format on */
const int gm_train_n_hparams = (int)(sizeof gm_train_hparams / sizeof gm_train_hparams[0]);

static volatile sig_atomic_t g_stop_requested = 0;
void gm_train_request_stop(void) { g_stop_requested = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* mkdir -p: creates dir and any missing parents. */
static gm_status make_dir(const char *dir) {
    char buf[1024];
    if (!*dir) return gm_error(GM_ERR_ARG, "--run: empty directory name");
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return gm_error(GM_ERR_ARG, "--run: path too long");
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return gm_error(GM_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = c;
        if (!c) break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return gm_error(GM_ERR_IO, "%s: exists and is not a directory", dir);
    return GM_OK;
}

/* Builds optimizer config, schedule and the other numeric options. */
static gm_status read_options(const gm_config *c, gm_train_opts *o, int64_t batches_per_epoch) {
    memset(o, 0, sizeof *o);
    gm_optim_type ot;
    if (gm_optim_type_parse(gm_config_get(c, "optim"), &ot) != GM_OK)
        return gm_error(GM_ERR_ARG, "--optim: expected sgd, adam, adamw, adagrad or rmsprop, got \"%s\"",
                        gm_config_get(c, "optim"));
    o->ocfg = gm_optim_defaults(ot);
    o->ocfg.lr = gm_config_float(c, "lr", 1e-3);
    o->ocfg.weight_decay = gm_config_float(c, "weight-decay", 0);
    if (ot == GM_OPTIM_SGD || ot == GM_OPTIM_RMSPROP) o->ocfg.momentum = gm_config_float(c, "momentum", 0);
    if (ot == GM_OPTIM_SGD) o->ocfg.nesterov = (int)gm_config_int(c, "nesterov", 0);
    if (ot == GM_OPTIM_ADAM || ot == GM_OPTIM_ADAMW) {
        o->ocfg.beta1 = gm_config_float(c, "beta1", 0.9);
        o->ocfg.beta2 = gm_config_float(c, "beta2", 0.999);
    }
    if (gm_optim_config_check(&o->ocfg) != GM_OK) return gm_error(GM_ERR_ARG, "optimizer: %s", gm_last_error());
    o->epochs = gm_config_int(c, "epochs", 20);
    o->batch = gm_config_int(c, "batch", 100);
    o->clip = gm_config_float(c, "clip", 0);
    o->ema = gm_config_float(c, "ema", 0);
    o->patience = gm_config_int(c, "patience", 5);
    o->seed = (uint64_t)gm_config_int(c, "seed", 1);
    o->log_every = gm_config_int(c, "log-every", 100);
    o->eval_batch = gm_config_int(c, "eval-batch", 1000);
    o->nan_at = gm_config_int(c, "debug-nan-at", 0);
    gm_schedule *s = &o->sched;
    memset(s, 0, sizeof *s);
    if (gm_sched_type_parse(gm_config_get(c, "schedule"), &s->type) != GM_OK)
        return gm_error(GM_ERR_ARG, "--schedule: expected constant, step or cosine, got \"%s\"",
                        gm_config_get(c, "schedule"));
    s->base_lr = o->ocfg.lr;
    s->warmup_steps = gm_config_int(c, "warmup", 0);
    s->warmup_start = 0;
    s->step_size = gm_config_int(c, "lr-step", 10000);
    s->gamma = gm_config_float(c, "lr-gamma", 0.1);
    s->total_steps = o->epochs * batches_per_epoch;
    if (s->total_steps <= s->warmup_steps) s->total_steps = s->warmup_steps + 1;
    s->min_lr = gm_config_float(c, "min-lr", 0);
    if (gm_schedule_check(s) != GM_OK) return gm_error(GM_ERR_ARG, "schedule: %s", gm_last_error());
    return GM_OK;
}

static void progress(gm_trainer *t, int64_t batches) {
    double loss = t->last_loss;
    FILE *f = t->io->log;
    if (!f) return;
    /* items/s over the recent past (smoothed over the updates, which come at
     * least 0.5 s apart), so the ETA recovers after a slow stretch such as a
     * validation pass or a paused process; the first estimate is the mean. */
    double tn = now_s();
    if (t->rate_t <= 0) {
        t->rate_t = t->t_start;
        t->rate_items = 0;
    }
    if (tn - t->rate_t >= 0.5) {
        double r = (double)(t->items_since_start - t->rate_items) / (tn - t->rate_t);
        t->rate = t->rate > 0 ? 0.7 * t->rate + 0.3 * r : r;
        t->rate_t = tn;
        t->rate_items = t->items_since_start;
    }
    double ips = t->rate > 0 ? t->rate : (tn > t->t_start ? (double)t->items_since_start / (tn - t->t_start) : 0);
    int64_t total = t->o.epochs * batches, done = t->step;
    double eta = ips > 0 ? (double)(total - done) * (double)t->o.batch / ips : 0;
    int64_t in_epoch = t->loader.st.pos / (t->o.batch > 0 ? t->o.batch : 1);
    if (t->io->tty) {
        int w = 24, fill = batches > 0 ? (int)(w * in_epoch / batches) : 0;
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        fprintf(f, "\repoch %lld/%lld [%s] step %lld loss %.4f %.0f items/s ETA %.0fs   ",
                (long long)t->loader.st.epoch + 1, (long long)t->o.epochs, bar, (long long)t->step, loss, ips, eta);
        fflush(f);
    } else if (t->step % t->o.log_every == 0) {
        fprintf(f, "epoch %lld/%lld step %lld loss %.4f lr %.3g %.0f items/s ETA %.0fs\n",
                (long long)t->loader.st.epoch + 1, (long long)t->o.epochs, (long long)t->step, loss, t->lr, ips, eta);
        fflush(f);
    }
}

/* The NaN/Inf stop: message naming the step (and op in debug mode). */
static gm_status nonfinite_stop(gm_trainer *t, const char *what) {
    const char *op = gm_ctx_first_nonfinite(t->ctx);
    const char *kept = t->have_ckpt ? "; kept the last good checkpoint " : "; no checkpoint written yet";
    const char *kept_path = t->have_ckpt ? t->path_last : "";
    if (op && *op)
        return gm_error(GM_ERR_NONFINITE, "training stopped at step %lld (epoch %lld): %s; first non-finite op: %s%s%s",
                        (long long)t->step + 1, (long long)t->loader.st.epoch + 1, what, op, kept, kept_path);
    return gm_error(GM_ERR_NONFINITE, "training stopped at step %lld (epoch %lld): %s%s%s%s", (long long)t->step + 1,
                    (long long)t->loader.st.epoch + 1, what, t->io->debug_finite ? "" : " (rerun with --debug to name the op)",
                    kept, kept_path);
}

/* One optimisation step on rows xb (n, D). */
static gm_status train_step(gm_trainer *t, int64_t n) {
    gm_model *m = t->m;
    gm_ctx_reset(t->ctx);
    if (t->o.nan_at && t->step + 1 == t->o.nan_at) t->xb[0] = NAN;
    int64_t shape[2] = {n, m->dim};
    gm_tensor *x = gm_wrap(t->ctx, 2, shape, t->xb);
    gm_tensor *loss = x ? m->def->loss(m, t->ctx, x, &t->rng_model) : NULL;
    gm_status st = gm_ctx_status(t->ctx);
    if (st == GM_ERR_NONFINITE) { /* the context message may name the layer (e.g. a flow's) */
        char what[600];
        snprintf(what, sizeof what, "non-finite value in the forward pass (%s)",
                 gm_ctx_error(t->ctx) ? gm_ctx_error(t->ctx) : "?");
        return nonfinite_stop(t, what);
    }
    if (st != GM_OK || !loss) return gm_error(st ? st : GM_ERR_ARG, "step %lld: %s", (long long)t->step + 1,
                                              gm_ctx_error(t->ctx) ? gm_ctx_error(t->ctx) : "loss failed");
    double lv = loss->data[0];
    if (!isfinite(lv)) return nonfinite_stop(t, lv != lv ? "loss is NaN" : "loss is Inf");
    gm_params_zero_grad(&m->params);
    st = gm_backward(t->ctx, loss);
    if (st == GM_ERR_NONFINITE) return nonfinite_stop(t, "non-finite value in the backward pass");
    if (st != GM_OK) return gm_error(st, "step %lld: backward: %s", (long long)t->step + 1, gm_ctx_error(t->ctx));
    /* one pass for the norm; only a non-finite norm pays for the scan that
     * names the parameter (the norm is accumulated in double, so finite
     * gradients cannot overflow it) */
    t->grad_norm = gm_grad_norm(&m->params);
    int bad = -1;
    if (!isfinite(t->grad_norm) && !gm_params_grad_finite(&m->params, &bad)) {
        char what[200];
        snprintf(what, sizeof what, "gradient of parameter '%s' is not finite",
                 bad >= 0 ? m->params.entries[bad].name : "?");
        return nonfinite_stop(t, what);
    }
    if (t->o.clip > 0) t->grad_norm = gm_clip_grad_norm(&m->params, t->o.clip);
    t->lr = gm_schedule_lr(&t->o.sched, t->step);
    st = gm_optim_step(t->opt, &m->params, t->lr);
    if (st != GM_OK) return st;
    if (t->ema && (st = gm_ema_update(t->ema, &m->params)) != GM_OK) return st;
    t->step++;
    t->items_since_start += n;
    t->epoch_loss_sum += lv * (double)n;
    t->epoch_loss_n += n;
    t->last_loss = lv;
    return GM_OK;
}

/* A number for JSON: non-finite values (no validation data yet) become null. */
static void json_num(char *buf, size_t cap, double v) {
    if (isfinite(v)) snprintf(buf, cap, "%.6f", v);
    else snprintf(buf, cap, "null");
}

/* End of an epoch: validate, checkpoint, early-stopping bookkeeping. */
static gm_status end_epoch(gm_trainer *t, int *stop) {
    gm_model *m = t->m;
    int64_t epoch = t->loader.st.epoch; /* already advanced: 1-based number of the finished epoch */
    double vnll = NAN, vse = 0;
    gm_status st = GM_OK;
    if (t->ema && (st = gm_ema_apply(t->ema, &m->params)) != GM_OK) return st;
    if (t->valid) st = gm_evaluate_nll(m, t->valid, t->o.eval_batch, &vnll, &vse, NULL);
    int improved = st == GM_OK && (!t->valid || vnll < t->best);
    char buf[64];
    gm_config extra = {0};
    snprintf(buf, sizeof buf, "%lld", (long long)epoch);
    gm_config_set(&extra, "epoch", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)t->step);
    gm_config_set(&extra, "step", buf);
    snprintf(buf, sizeof buf, "%.6f", vnll);
    gm_config_set(&extra, "valid_nll", buf);
    if (st == GM_OK) st = gm_model_save(m, t->path_last, &extra);
    if (st == GM_OK && improved) {
        t->best = t->valid ? vnll : t->best;
        t->best_epoch = epoch;
        t->bad_epochs = 0;
        st = gm_model_save(m, t->path_best, &extra);
    } else if (st == GM_OK) {
        t->bad_epochs++;
    }
    if (t->ema) {
        gm_status st2 = gm_ema_restore(t->ema, &m->params);
        if (st == GM_OK) st = st2;
    }
    if (st != GM_OK) return st;
    t->have_ckpt = 1;
    double tl = t->epoch_loss_n ? t->epoch_loss_sum / (double)t->epoch_loss_n : NAN;
    double secs = now_s() - t->t_epoch;
    char jv[32], jse[32], jbest[32];
    json_num(jv, sizeof jv, vnll);
    json_num(jse, sizeof jse, t->valid ? vse : NAN);
    json_num(jbest, sizeof jbest, t->best);
    gm_metrics_printf(t, "{\"kind\":\"epoch\",\"epoch\":%lld,\"step\":%lld,\"train_loss\":%.6f,\"valid_nll\":%s,"
                         "\"valid_nll_stderr\":%s,\"best_valid_nll\":%s,\"best_epoch\":%lld,\"lr\":%.6g,\"seconds\":%.3f}",
                      (long long)epoch, (long long)t->step, tl, jv, jse, jbest, (long long)t->best_epoch, t->lr, secs);
    if (t->io->log) {
        if (t->io->tty) fputc('\n', t->io->log);
        if (t->valid)
            fprintf(t->io->log, "epoch %lld done: train loss %.4f, valid NLL %.4f ± %.4f nats%s (%.1fs)\n",
                    (long long)epoch, tl, vnll, vse, improved ? " (best)" : "", secs);
        else
            fprintf(t->io->log, "epoch %lld done: train loss %.4f, no validation data (%.1fs)\n", (long long)epoch, tl,
                    secs);
        fflush(t->io->log);
    }
    t->epoch_loss_sum = 0;
    t->epoch_loss_n = 0;
    t->t_epoch = now_s();
    if (t->o.patience > 0 && t->valid && t->bad_epochs >= t->o.patience) {
        t->stopped_early = 1;
        *stop = 1;
    }
    if (epoch >= t->o.epochs) *stop = 1;
    return gm_trainer_save_state(t);
}

gm_status gm_train(gm_model *m, const gm_dataset *train, const gm_dataset *valid, const gm_train_io *io,
                   gm_train_result *res) {
    if (!m || !train || !io || !io->run_dir) return gm_error(GM_ERR_ARG, "train: missing model, data or run directory");
    if (train->n < 1) return gm_error(GM_ERR_ARG, "%s: no training rows", train->name);
    if (train->d != m->dim)
        return gm_error(GM_ERR_SHAPE, "%s: rows have %lld values but the model expects %lld", train->name,
                        (long long)train->d, (long long)m->dim);
    gm_status st = GM_OK;
    if (valid && valid->n > 0) { /* fail now rather than after the first epoch */
        if (valid->d != m->dim)
            return gm_error(GM_ERR_SHAPE, "%s: rows have %lld values but the model expects %lld", valid->name,
                            (long long)valid->d, (long long)m->dim);
        if ((st = gm_model_check_data(m, valid->x, valid->n, valid->name)) != GM_OK) return st;
    }
    if ((st = gm_hparams_defaults(&m->config, gm_train_hparams, gm_train_n_hparams)) != GM_OK) return st;
    if ((st = make_dir(io->run_dir)) != GM_OK) return st;
    gm_trainer t;
    if ((st = gm_trainer_init(&t, m, train, valid, io)) != GM_OK) return st;
    if ((st = read_options(&m->config, &t.o, 1)) == GM_OK) {
        t.o.max_steps = io->max_steps;
        gm_loader_opts lo = {.shuffle = 1, .drop_last = 0, .binarize = t.dynamic_binarize, .seed = t.o.seed};
        st = gm_loader_init(&t.loader, train, t.o.batch, &lo);
        if (st == GM_OK) t.loader_ok = 1;
    }
    if (st == GM_OK) st = read_options(&m->config, &t.o, gm_loader_batches_per_epoch(&t.loader));
    t.o.max_steps = io->max_steps;
    if (st == GM_OK) st = gm_trainer_alloc(&t);
    if (st == GM_OK) st = io->resume ? gm_trainer_load_state(&t) : gm_trainer_fresh(&t);
    int64_t bpe = t.loader_ok ? gm_loader_batches_per_epoch(&t.loader) : 1;
    t.t_start = t.t_epoch = now_s();
    g_stop_requested = 0;
    /* a resumed run that had already stopped early (its final evaluation was
     * then interrupted) stays stopped unless --patience was raised */
    if (st == GM_OK && io->resume && t.o.patience > 0 && t.valid && t.bad_epochs >= t.o.patience) t.stopped_early = 1;
    int stop = st != GM_OK || t.stopped_early || t.loader.st.epoch >= t.o.epochs;
    if (!stop && t.o.max_steps && t.step >= t.o.max_steps) { /* --resume with a --max-steps already reached */
        t.interrupted = stop = 1;
        if (io->log)
            fprintf(io->log, "already at step %lld (--max-steps %lld); continue with --resume and a larger --max-steps\n",
                    (long long)t.step, (long long)t.o.max_steps);
    }
    while (!stop) {
        int64_t n = gm_loader_next(&t.loader, t.xb, NULL);
        if (n == 0) {
            if ((st = end_epoch(&t, &stop)) != GM_OK) break;
            continue;
        }
        if ((st = train_step(&t, n)) != GM_OK) break;
        progress(&t, bpe);
        if (t.step % t.o.log_every == 0)
            gm_metrics_printf(&t, "{\"kind\":\"train\",\"step\":%lld,\"epoch\":%lld,\"loss\":%.6f,\"lr\":%.6g,"
                                  "\"grad_norm\":%.6g,\"items_per_s\":%.1f}",
                              (long long)t.step, (long long)t.loader.st.epoch + 1, t.last_loss, t.lr, t.grad_norm,
                              (double)t.items_since_start / (now_s() - t.t_start + 1e-9));
        if ((t.o.max_steps && t.step >= t.o.max_steps) || g_stop_requested) {
            t.interrupted = 1;
            if (io->log) {
                if (io->tty) fputc('\n', io->log);
                fprintf(io->log, "stopping at step %lld (%s); continue with --resume\n", (long long)t.step,
                        g_stop_requested ? "interrupted" : "--max-steps reached");
            }
            st = gm_trainer_save_state(&t);
            break;
        }
    }
    if (res) {
        memset(res, 0, sizeof *res);
        res->steps = t.step;
        res->epochs = t.loader_ok ? t.loader.st.epoch : 0;
        res->best_valid_nll = t.best;
        res->best_epoch = t.best_epoch;
        res->train_seconds = now_s() - t.t_start;
        res->stopped_early = t.stopped_early;
        res->interrupted = t.interrupted;
    }
    gm_trainer_free(&t);
    return st;
}
