/*
 * cmd_eval.c — `genmod eval CKPT`: mean NLL (nats per example) with its
 * standard error on a dataset split, labelled exact / bound / estimate, and
 * optionally log p(x) of every row to a file.
 */
#include "cli.h"
#include "genmod/train.h"
#include "io/io_internal.h"
#include <stdlib.h>
#include <string.h>

static const gm_hparam eval_hparams[] = {
    {"dataset", 's', "", 0, 0, "dataset name or file (default: the one the checkpoint was trained on)"},
    {"split", 's', "test", 0, 0, "split of a named dataset, e.g. test or valid[0:1000]; train, valid or test for a checkpoint trained on files"},
    {"batch", 'i', "1000", 1, 1e6, "rows per evaluation chunk"},
    {"per-example", 's', "", 0, 0, "write log p(x) of every row (one per line, in order) to this file"},
    {"threads", 'i', "0", 0, 1024, "threads (0 = $GENMOD_THREADS or all cores)"},
    {"draws", 'i', "0", 0, 4096, "dequantization noise draws per image for flows on 8-bit data (0 = the checkpoint's setting)"},
};
#define N_EVAL ((int)(sizeof eval_hparams / sizeof eval_hparams[0]))

static int write_per_example(const char *path, const double *lp, int64_t n) {
    gm_atomic_file a;
    if (gm_atomic_open(&a, path) != GM_OK) return cli_fail_lib("eval");
    char buf[64];
    gm_status st = GM_OK;
    for (int64_t i = 0; i < n && st == GM_OK; i++) {
        int k = snprintf(buf, sizeof buf, "%.9g\n", lp[i]);
        st = gm_atomic_write(&a, buf, (size_t)k);
    }
    if (st != GM_OK) {
        gm_atomic_abort(&a);
        return cli_fail_lib("eval");
    }
    return gm_atomic_commit(&a) != GM_OK ? cli_fail_lib("eval") : 0;
}

int cmd_eval(int argc, char **argv) {
    int json = 0, verbose = 0;
    cli_bool bools[] = {{"json", &json, ""}, {"verbose", &verbose, ""}, {NULL, NULL, NULL}};
    cli_spec spec = {"eval", {eval_hparams}, {N_EVAL}, bools, 1, 1};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod eval CHECKPOINT [flags]\n"
               "Prints the mean negative log-likelihood in nats per example with its standard error.\n\n");
        cli_print_hparams(stdout, eval_hparams, N_EVAL);
        printf("  --json                   print one JSON object instead of text\n"
               "  --verbose                print threads, BLAS and ISA first\n");
        return 0;
    }
    if ((rc = cli_setup_threads("eval", &a.cfg, !verbose || json))) return rc;
    gm_model *m = NULL;
    if (gm_model_load(a.pos[0], &m, NULL) != GM_OK) return cli_fail_lib("eval");
    int64_t draws = gm_config_int(&a.cfg, "draws", 0);
    if (draws > 0) {
        if (!m->def->dequant_draws || m->def->dequant_draws(m) == 0) {
            rc = cli_fail("eval", "--draws: model '%s' in %s does not dequantize its data", m->def->name, a.pos[0]);
            gm_model_free(m);
            return rc;
        }
        gm_config_set(&m->config, "draws", gm_config_get(&a.cfg, "draws"));
    }
    const char *ds = gm_config_get(&a.cfg, "dataset");
    const char *split = gm_config_get(&a.cfg, "split");
    if (ds && *ds && split && cli_is_file(ds)) {
        gm_model_free(m);
        return cli_fail("eval", "--split: %s is a file, which has a single split; give the file to evaluate with --dataset", ds);
    }
    if (!ds || !*ds) {
        ds = gm_config_get(&m->config, "dataset");
        if (ds && *ds && cli_is_file(ds)) {
            /* trained on files: the split names the file given at training time */
            const char *sp = split ? split : "test";
            const char *key = !strcmp(sp, "train") ? "dataset" : !strcmp(sp, "valid") ? "valid-data" : !strcmp(sp, "test") ? "test-data" : NULL;
            if (!key) {
                gm_model_free(m);
                return cli_fail("eval", "--split: expected train, valid or test for %s (trained on files), got \"%s\"", a.pos[0], sp);
            }
            ds = gm_config_get(&m->config, key);
            if (!ds || !*ds) {
                rc = cli_fail("eval", "%s: trained on file %s without --%s; give the %s file with --dataset", a.pos[0],
                              gm_config_get(&m->config, "dataset"), key, sp);
                gm_model_free(m);
                return rc;
            }
            split = NULL;
        }
    }
    if (!ds || !*ds) {
        gm_model_free(m);
        return cli_fail("eval", "%s: the checkpoint does not name its dataset; give --dataset", a.pos[0]);
    }
    gm_dataset d;
    if ((rc = cli_load_data("eval", ds, split ? split : "test", &d))) {
        gm_model_free(m);
        return rc;
    }
    double *lp = NULL, nll = 0, se = 0;
    const char *pe = gm_config_get(&a.cfg, "per-example");
    if (d.d != m->dim) {
        rc = cli_fail("eval", "%s: rows have %lld values but the checkpoint %s expects %lld", d.name, (long long)d.d, a.pos[0],
                      (long long)m->dim);
    } else if (gm_prepare_data(m->def, &m->config, &d, NULL) != GM_OK) {
        rc = cli_fail_lib("eval");
    } else if (pe && *pe && !(lp = malloc((size_t)d.n * sizeof *lp))) {
        rc = cli_fail("eval", "out of memory");
    } else if (gm_evaluate_nll(m, &d, gm_config_int(&a.cfg, "batch", 1000), &nll, &se, lp) != GM_OK) {
        rc = cli_fail_lib("eval");
    } else {
        if (json) cli_json_nll(stdout, NULL, m, d.name, d.n, nll, se);
        else cli_print_nll(stdout, d.name, m, NULL, d.n, nll, se, NULL);
        if (pe && *pe) rc = write_per_example(pe, lp, d.n);
    }
    free(lp);
    gm_dataset_free(&d);
    gm_model_free(m);
    return rc;
}
