/*
 * cmd_models.c — `genmod models`: the registered models, what their
 * log-likelihood is (exact / bound / estimate) and their flags.
 */
#include "cli.h"

int cmd_models(int argc, char **argv) {
    int verbose = 0;
    cli_bool bools[] = {{"verbose", &verbose, ""}, {NULL, NULL, NULL}};
    cli_spec spec = {"models", {NULL}, {0}, bools, 0, 0};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod models [--verbose]\nLists the models `genmod train --model NAME` accepts (--verbose: with flags).\n");
        return 0;
    }
    for (int i = 0; i < gm_model_count(); i++) {
        const gm_model_def *d = gm_model_at(i);
        printf("%-12s %s [log p: %s%s]\n", d->name, d->summary, gm_logp_kind_name(d->logp_kind),
               d->binary_data ? "; binary data" : "");
        if (verbose) cli_print_hparams(stdout, d->hparams, d->n_hparams);
    }
    return 0;
}
