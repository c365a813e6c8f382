/*
 * cmd_train.c — `genmod train`: resolve the configuration (flags, or the run's
 * config.json with --resume), load and prepare the data splits, create the
 * model, run the trainer, then evaluate the best checkpoint on the test split
 * and write a sample grid into the run directory.
 */
#include "cli.h"
#include "genmod/datasets.h"
#include "genmod/system.h"
#include "genmod/train.h"
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
static const gm_hparam train_cli_hparams[] = {
    {"model", 's', "mob", 0, 0, "model to train (genmod models)"},
    {"run", 's', "", 0, 0, "run directory (default runs/MODEL-DATASET)"},
    {"threads", 'i', "0", 0, 1024, "threads for loops and GEMMs (0 = $GENMOD_THREADS or all cores)"},
    {"max-steps", 'i', "0", 0, 1e15, "stop after this many steps in total, saving the state for --resume (0 = off)"},
    {"samples", 'i', "64", 0, 10000, "samples drawn into RUN/samples.png (.csv for non-image data) at the end (0 = none)"},
    {"train-split", 's', "train", 0, 0, "split of a named dataset used for training, e.g. train or train[0:1000]"},
    {"valid-split", 's', "valid", 0, 0, "split of a named dataset used for early stopping and model selection"},
    {"test-split", 's', "test", 0, 0, "split of a named dataset evaluated once at the end"},
    {"valid-data", 's', "", 0, 0, "validation file when --dataset is a file"},
    {"test-data", 's', "", 0, 0, "test file when --dataset is a file"},
};
/* clang-format on */
#define N_CLI_HP ((int)(sizeof train_cli_hparams / sizeof train_cli_hparams[0]))

/* keys that may differ from the saved run when resuming */
static const char *resume_changeable[] = {"epochs", "max-steps", "log-every", "patience", "eval-batch", "threads",
                                          "samples", "run", NULL};

/* First Ctrl-C: stop after the current step and save the state; a second one
 * (e.g. during a long validation) kills the process as usual. */
static void on_sigint(int sig) {
    gm_train_request_stop();
    signal(sig, SIG_DFL);
}

static void usage(const gm_model_def *def) {
    printf("usage: genmod train [--model NAME] [--dataset NAME|FILE] [--run DIR] [flags]\n"
           "Trains a model, keeps the checkpoint with the best validation NLL, then reports the\n"
           "test NLL (nats per example) and writes RUN/samples.png. Ctrl-C stops cleanly and saves\n"
           "the training state; continue with --resume.\n\nrun flags:\n");
    cli_print_hparams(stdout, train_cli_hparams, N_CLI_HP);
    printf("  --resume                 continue the run in --run from its state.gmts\n"
           "  --debug                  check every op for NaN/Inf (names the first bad op; slower)\n"
           "  --quiet                  no progress output\n\ntrainer flags:\n");
    cli_print_hparams(stdout, gm_train_hparams, gm_train_n_hparams);
    if (def) {
        printf("\nflags of model '%s':\n", def->name);
        cli_print_hparams(stdout, def->hparams, def->n_hparams);
    } else {
        printf("\nmodel flags: see genmod train --model NAME --help\n");
    }
}

/* value of --NAME in argv (before parsing), or NULL */
static const char *peek_flag(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) || strncmp(a + 2, name, n)) continue;
        if (a[2 + n] == '=') return a + 3 + n;
        if (a[2 + n] == 0 && i + 1 < argc) return argv[i + 1];
    }
    return NULL;
}

static int has_split(const char *dataset, const char *split) {
    const gm_dataset_info *info = gm_dataset_find(dataset);
    if (!info) return 0;
    char base[32];
    size_t k = strcspn(split, "[");
    if (k >= sizeof base) return 0;
    memcpy(base, split, k);
    base[k] = 0;
    const char *s = info->splits;
    size_t bl = strlen(base);
    while (s && *s) {
        size_t l = strcspn(s, ",");
        if (l == bl && !strncmp(s, base, l)) return 1;
        s += l + (s[l] == ',');
    }
    return 0;
}

/* Loads the split named by config key `key` (or the file for file datasets). */
static int load_split(const gm_config *cfg, const char *which, gm_dataset *out, int *present) {
    const char *ds = gm_config_get(cfg, "dataset");
    *present = 0;
    memset(out, 0, sizeof *out);
    if (cli_is_file(ds)) {
        const char *file = !strcmp(which, "train") ? ds : gm_config_get(cfg, !strcmp(which, "valid") ? "valid-data" : "test-data");
        if (!file || !*file) return 0;
        *present = 1;
        return cli_load_data("train", file, "train", out);
    }
    char key[32];
    snprintf(key, sizeof key, "%s-split", which);
    const char *split = gm_config_get(cfg, key);
    if (strcmp(which, "train") && !has_split(ds, split)) return 0;
    *present = 1;
    return cli_load_data("train", ds, split, out);
}

static int resolve_config(int argc, char **argv, gm_config *cfg, const gm_model_def **def, int *resume, int *debug,
                          int *quiet) {
    const char *mname = peek_flag(argc, argv, "model");
    const char *run = peek_flag(argc, argv, "run");
    int want_resume = 0;
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--resume")) want_resume = 1;
    gm_config saved = {0};
    if (want_resume) {
        if (!run) return cli_fail("train", "--resume needs --run DIR (the run to continue)");
        char path[1100];
        snprintf(path, sizeof path, "%s/config.json", run);
        if (cli_config_from_json_file("train", path, &saved)) return 1;
        const char *sm = gm_config_get(&saved, "model");
        if (mname && sm && strcmp(mname, sm)) return cli_fail("train", "--model: the run in %s trained '%s', not '%s'", run, sm, mname);
        mname = sm;
    }
    if (!mname) mname = "mob";
    *def = gm_model_find(mname);
    if (!*def) {
        char names[512] = "";
        for (int i = 0; i < gm_model_count(); i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, gm_model_at(i)->name, sizeof names - strlen(names) - 1);
        }
        return cli_fail("train", "--model: unknown model \"%s\" (known: %s)", mname, names);
    }
    cli_bool bools[] = {{"resume", resume, ""}, {"debug", debug, ""}, {"quiet", quiet, ""}, {NULL, NULL, NULL}};
    cli_spec spec = {"train", {train_cli_hparams, gm_train_hparams, (*def)->hparams}, {N_CLI_HP, gm_train_n_hparams, (*def)->n_hparams}, bools, 0, 0};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        usage(peek_flag(argc, argv, "model") ? *def : NULL);
        return -1;
    }
    if (*resume) {
        for (int i = 0; i < a.cfg.n; i++) {
            const char *k = a.cfg.kv[i].key, *v = a.cfg.kv[i].val, *old = gm_config_get(&saved, k);
            int ok = 0;
            for (const char **c = resume_changeable; *c; c++) ok |= !strcmp(*c, k);
            if (!ok && (!old || strcmp(old, v)))
                return cli_fail("train", "--%s: cannot change when resuming (the run uses %s)", k, old ? old : "the default");
            if (gm_config_set(&saved, k, v) != GM_OK) return cli_fail_lib("train");
        }
        *cfg = saved;
    } else {
        *cfg = a.cfg;
    }
    if (gm_config_set(cfg, "model", (*def)->name) != GM_OK) return cli_fail_lib("train");
    if (gm_hparams_defaults(cfg, train_cli_hparams, N_CLI_HP) != GM_OK ||
        gm_hparams_defaults(cfg, gm_train_hparams, gm_train_n_hparams) != GM_OK)
        return cli_fail_lib("train");
    /* flags that do not apply to this kind of dataset are errors, not silently ignored */
    static const char *const file_only[] = {"valid-data", "test-data", NULL};
    static const char *const named_only[] = {"train-split", "valid-split", "test-split", NULL};
    int file = cli_is_file(gm_config_get(cfg, "dataset"));
    for (const char *const *k = file ? named_only : file_only; *k; k++)
        if (gm_config_get(&a.cfg, *k))
            return cli_fail("train", "--%s: only for %s; --dataset %s is %s", *k, file ? "a named dataset" : "a file dataset",
                            gm_config_get(cfg, "dataset"),
                            file ? "a file (give the other splits with --valid-data / --test-data)" : "a named dataset");
    if (!*gm_config_get(cfg, "run")) {
        char dir[300];
        const char *ds = gm_config_get(cfg, "dataset");
        const char *slash = strrchr(ds, '/');
        snprintf(dir, sizeof dir, "runs/%s-%.*s", (*def)->name, (int)strcspn(slash ? slash + 1 : ds, "."), slash ? slash + 1 : ds);
        if (gm_config_set(cfg, "run", dir) != GM_OK) return cli_fail("train", "--run: %s", gm_last_error());
    }
    return 0;
}

static int finish(const gm_config *cfg, const gm_config *inv, const gm_dataset *test, int quiet) {
    const char *run = gm_config_get(inv, "run");
    char path[1100];
    snprintf(path, sizeof path, "%s/best.safetensors", run);
    gm_model *best = NULL;
    if (gm_model_load(path, &best, NULL) != GM_OK) return cli_fail_lib("train");
    int rc = 0;
    if (test) {
        double nll = 0, se = 0;
        if (gm_evaluate_nll(best, test, gm_config_int(cfg, "eval-batch", 1000), &nll, &se, NULL) != GM_OK) {
            rc = cli_fail_lib("train");
        } else {
            char tail[1200];
            snprintf(tail, sizeof tail, ", checkpoint %s", path);
            cli_print_nll(stdout, "test", best, test->name, test->n, nll, se, tail);
            snprintf(path, sizeof path, "%s/metrics.jsonl", run);
            FILE *f = fopen(path, "a");
            if (f) {
                cli_json_nll(f, "test", best, test->name, test->n, nll, se);
                fclose(f);
            }
        }
    }
    int64_t ns = gm_config_int(inv, "samples", 64);
    if (!rc && ns > 0 && best->def->sample) {
        float *x = malloc((size_t)(ns * best->dim) * sizeof(float)); // (ns, D)
        gm_ctx *ctx = gm_ctx_new(0);
        gm_rng rng;
        gm_rng_seed(&rng, (uint64_t)gm_config_int(cfg, "seed", 1), GM_STREAM_SAMPLE);
        if (!x || !ctx) rc = cli_fail("train", "out of memory for %lld samples", (long long)ns);
        else if (best->def->sample(best, ctx, &rng, ns, x) != GM_OK) rc = cli_fail_lib("train");
        else {
            snprintf(path, sizeof path, "%s/samples.%s", run, best->h > 0 ? "png" : "csv");
            rc = cli_write_samples("train", path, x, ns, best, NULL);
            if (!rc && !quiet) fprintf(stderr, "wrote %lld samples to %s\n", (long long)ns, path);
        }
        free(x);
        gm_ctx_free(ctx);
    }
    if (!rc && best->dim == 2 && best->h == 0 && best->def->sample) { /* 2-D: density | data | samples */
        const int64_t np = 20000;
        float *x = malloc((size_t)(np * 2) * sizeof(float)); // (np, 2)
        gm_ctx *ctx = gm_ctx_new(0);
        gm_rng rng;
        gm_rng_seed(&rng, (uint64_t)gm_config_int(cfg, "seed", 1), GM_STREAM_SAMPLE);
        if (!x || !ctx) rc = cli_fail("train", "out of memory for the density plot");
        else if (best->def->sample(best, ctx, &rng, np, x) != GM_OK) rc = cli_fail_lib("train");
        else {
            snprintf(path, sizeof path, "%s/density.png", run);
            if (!(rc = cli_plot2d("train", path, best, test, x, np, NULL)) && !quiet)
                fprintf(stderr, "wrote the density plot to %s\n", path);
        }
        free(x);
        gm_ctx_free(ctx);
    }
    gm_model_free(best);
    return rc;
}

/* Keys that describe this invocation, not the model or its training: kept out
 * of the model's config (and so out of checkpoints and config.json). */
static const char *invocation_keys[] = {"run", "threads", "max-steps", "samples", NULL};

static void split_invocation(gm_config *cfg, gm_config *inv) {
    gm_config keep = {0};
    memset(inv, 0, sizeof *inv);
    for (int i = 0; i < cfg->n; i++) {
        int is_inv = 0;
        for (const char **k = invocation_keys; *k; k++) is_inv |= !strcmp(*k, cfg->kv[i].key);
        gm_config_set(is_inv ? inv : &keep, cfg->kv[i].key, cfg->kv[i].val);
    }
    *cfg = keep;
}

int cmd_train(int argc, char **argv) {
    gm_config cfg = {0};
    const gm_model_def *def = NULL;
    int resume = 0, debug = 0, quiet = 0;
    int rc = resolve_config(argc, argv, &cfg, &def, &resume, &debug, &quiet);
    if (rc) return rc < 0 ? 0 : rc;
    gm_config inv;
    split_invocation(&cfg, &inv);
    if ((rc = cli_setup_threads("train", &inv, 1))) return rc;
    gm_dataset tr, va, te;
    int has_tr, has_va, has_te;
    if ((rc = load_split(&cfg, "train", &tr, &has_tr))) return rc;
    if ((rc = load_split(&cfg, "valid", &va, &has_va)) || (rc = load_split(&cfg, "test", &te, &has_te))) {
        gm_dataset_free(&tr);
        return rc;
    }
    int dynamic = 0;
    gm_model *m = NULL;
    gm_rng rng;
    gm_rng_seed(&rng, (uint64_t)gm_config_int(&cfg, "seed", 1), GM_STREAM_INIT);
    /* --binarize auto is resolved here and stored resolved in the checkpoint:
     * "fixed" when a binary model gets grey-level training data, else "none",
     * so `genmod eval` later rejects grey data fed to a model trained on
     * binary data instead of binarizing it silently. */
    const char *bmode = gm_config_get(&cfg, "binarize");
    if (!resume && (!bmode || !strcmp(bmode, "auto"))) {
        int grey = 0;
        for (int64_t i = 0; i < tr.n * tr.d && !grey; i++) grey = tr.x[i] != 0.0f && tr.x[i] != 1.0f;
        gm_config_set(&cfg, "binarize", def->binary_data && grey ? "fixed" : "none");
    }
    if (gm_prepare_data(def, &cfg, &tr, &dynamic) != GM_OK || (has_va && gm_prepare_data(def, &cfg, &va, NULL) != GM_OK) ||
        (has_te && gm_prepare_data(def, &cfg, &te, NULL) != GM_OK))
        rc = cli_fail_lib("train");
    if (!rc && ((has_va && va.d != tr.d) || (has_te && te.d != tr.d)))
        rc = cli_fail("train", "%s: rows have %lld values but the training data have %lld", has_va && va.d != tr.d ? va.name : te.name,
                      (long long)(has_va && va.d != tr.d ? va.d : te.d), (long long)tr.d);
    if (!rc && gm_model_create(def, &cfg, tr.d, tr.c, tr.h, tr.w, &rng, &m) != GM_OK) rc = cli_fail_lib("train");
    if (!rc && !dynamic && gm_model_check_data(m, tr.x, tr.n, tr.name) != GM_OK) rc = cli_fail_lib("train");
    if (!rc && !resume && gm_config_int(&cfg, "init-data", 1) && def->init_data) {
        gm_rng r2;
        gm_rng_seed(&r2, (uint64_t)gm_config_int(&cfg, "seed", 1), GM_STREAM_INIT_DATA);
        if (def->init_data(m, tr.x, tr.n, &r2) != GM_OK) rc = cli_fail_lib("train");
    }
    if (!rc) {
        if (!quiet) {
            char info[512];
            gm_system_info(info, sizeof info);
            fprintf(stderr, "genmod %s | %s\n", GENMOD_VERSION, info);
        }
        if (!quiet)
            fprintf(stderr, "training %s (%lld parameters) on %s: %lld train / %lld valid / %lld test rows of %lld values -> %s\n",
                    def->name, (long long)gm_params_count_trainable(&m->params), gm_config_get(&cfg, "dataset"), (long long)tr.n,
                    has_va ? (long long)va.n : 0LL, has_te ? (long long)te.n : 0LL, (long long)tr.d, gm_config_get(&inv, "run"));
        gm_train_io io = {.run_dir = gm_config_get(&inv, "run"), .log = quiet ? NULL : stderr, .tty = !quiet && isatty(2),
                          .resume = resume, .debug_finite = debug, .max_steps = gm_config_int(&inv, "max-steps", 0)};
        gm_train_result res;
        signal(SIGINT, on_sigint);
        if (gm_train(m, &tr, has_va ? &va : NULL, &io, &res) != GM_OK) rc = cli_fail_lib("train");
        signal(SIGINT, SIG_DFL);
        if (!rc && !quiet && has_va)
            fprintf(stderr, "trained %lld steps, %lld epochs in %.1fs; best valid NLL %.4f at epoch %lld%s\n", (long long)res.steps,
                    (long long)res.epochs, res.train_seconds, res.best_valid_nll, (long long)res.best_epoch,
                    res.stopped_early ? " (early stop)" : "");
        else if (!rc && !quiet)
            fprintf(stderr, "trained %lld steps, %lld epochs in %.1fs; no validation data (best = last)\n", (long long)res.steps,
                    (long long)res.epochs, res.train_seconds);
        if (!rc && !res.interrupted) rc = finish(&m->config, &inv, has_te ? &te : NULL, quiet);
    }
    gm_model_free(m);
    gm_dataset_free(&tr);
    if (has_va) gm_dataset_free(&va);
    if (has_te) gm_dataset_free(&te);
    return rc;
}
