/*
 * main.c — `genmod`, the command-line tool: dispatches to one file per
 * subcommand. Exit status: 0 success, 1 failure (one line on stderr naming the
 * file or argument and the problem), 2 bad usage.
 */
#include "cli.h"
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "genmod %s — deep generative models in C\n\n"
               "usage: genmod <command> [flags]   (genmod <command> --help for its flags)\n\n"
               "  train    train a model on a dataset; reports test NLL and writes a sample grid\n"
               "  eval     mean NLL (nats per example) of a checkpoint on a dataset split\n"
               "  sample   draw samples from a checkpoint into a PNG grid or CSV\n"
               "  encode   x -> z of an invertible model (flows), as CSV\n"
               "  decode   z -> x of an invertible model, as a PNG grid or CSV (--interpolate K)\n"
               "  info     validate a checkpoint or training state and list its contents\n"
               "  data     list datasets, show the search path, download a dataset\n"
               "  models   list the models\n",
            GENMOD_VERSION);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "-h") || !strcmp(c, "--help") || !strcmp(c, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        printf("genmod %s\n", GENMOD_VERSION);
        return 0;
    }
    if (!strcmp(c, "train")) return cmd_train(argc, argv);
    if (!strcmp(c, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(c, "sample")) return cmd_sample(argc, argv);
    if (!strcmp(c, "encode")) return cmd_encode(argc, argv);
    if (!strcmp(c, "decode")) return cmd_decode(argc, argv);
    if (!strcmp(c, "info")) return cmd_info(argc, argv);
    if (!strcmp(c, "data")) return cmd_data(argc, argv);
    if (!strcmp(c, "models")) return cmd_models(argc, argv);
    fprintf(stderr, "genmod: unknown command \"%s\" (see genmod --help)\n", c);
    return 2;
}
