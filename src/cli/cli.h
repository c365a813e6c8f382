/*
 * cli.h — shared pieces of the `genmod` command-line tool: flag parsing into a
 * gm_config, one-line errors, dataset loading by name or file, start-up info.
 * What this is not: library code. Only src/cli/ may print to stdout/stderr on
 * its own or decide the process exit status.
 */
#ifndef GENMOD_CLI_H
#define GENMOD_CLI_H
#include <stdio.h>
#include "genmod/data.h"
#include "genmod/model.h"

#define CLI_MAX_POS 8

/* A boolean flag (no value). */
typedef struct cli_bool {
    const char *name;  /* without the dashes */
    int *value;
    const char *help;
} cli_bool;

typedef struct cli_spec {
    const char *cmd;                 /* "train" */
    const gm_hparam *tables[3];      /* valued flags, NULL-terminated list of tables */
    int counts[3];
    const cli_bool *bools;           /* NULL-terminated by name */
    int min_pos, max_pos;            /* positional arguments */
} cli_spec;

typedef struct cli_args {
    gm_config cfg;                   /* values of valued flags given on the command line */
    const char *pos[CLI_MAX_POS];
    int npos;
    int help;
} cli_args;

/* Parses argv[first..argc) against spec. On error prints one line
 * "genmod CMD: ..." and returns 2. Returns 0 on success. */
int cli_parse(const cli_spec *spec, int argc, char **argv, int first, cli_args *out);

/* Prints "genmod CMD: <message>" on stderr; returns 1 (for `return cli_fail(...)`). */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints "genmod CMD: " + gm_last_error(); returns 1. */
int cli_fail_lib(const char *cmd);

/* Prints the flags of a table as help lines. */
void cli_print_hparams(FILE *f, const gm_hparam *specs, int n);

/* Loads split `split` of `dataset` (a registered name, or a path to a .amat[.gz],
 * .npy, .csv or idx file: a file has a single split, so any split but "train"
 * of a file is an empty dataset with out->n = 0 unless allow_file_split). */
int cli_load_data(const char *cmd, const char *dataset, const char *split, gm_dataset *out);
/* 1 if `dataset` names a file rather than a registered dataset. */
int cli_is_file(const char *dataset);
/* 1 if s ends with suffix. */
int cli_has_suffix(const char *s, const char *suffix);

/* Sets threads (--threads value or GENMOD_THREADS) and prints the start-up line on stderr unless quiet. */
int cli_setup_threads(const char *cmd, const gm_config *cfg, int quiet);

/* Fills cfg from a flat JSON object of strings (RUN/config.json). */
int cli_config_from_json_file(const char *cmd, const char *path, gm_config *cfg);

/* Writes n rows of samples as PNG grid (image geometry) or CSV (otherwise),
 * chosen by the extension of path. grid may be NULL (columns automatic,
 * padding 2, upscale 2). */
struct gm_png_grid_opts;
int cli_write_samples(const char *cmd, const char *path, const float *x, int64_t n, const gm_model *m,
                      const struct gm_png_grid_opts *grid);

/* Writes one JSON line {"kind":KIND,"model":..,"data":..,"n":..,"nll":..,"nll_stderr":..,"logp":..}
 * (kind omitted when NULL) to f, with every string escaped; plus "masks" for
 * mask ensembles and "bpd", "bpd_stderr", "draws" for dequantized 8-bit data. */
void cli_json_nll(FILE *f, const char *kind, struct gm_model *m, const char *data, int64_t n, double nll, double se);

/* The human-readable NLL line shared by train and eval:
 * "<label> NLL 12.3456 ± 0.1234 nats[ = 3.4567 ± 0.0001 bits/dim] (<n> examples of <data>, exact log-likelihood[, ...]<tail>)";
 * data NULL: "(<n> examples, exact log-likelihood, model <name>[, ...])". */
void cli_print_nll(FILE *f, const char *label, struct gm_model *m, const char *data, int64_t n, double nll, double se,
                   const char *tail);

/* Writes the 3-panel density plot of a 2-D model: density heat map, data
 * (may be NULL), samples (n rows). *mass (may be NULL) gets the plotted
 * probability mass. Returns 0 or 1 after printing the error. */
int cli_plot2d(const char *cmd, const char *path, struct gm_model *m, const gm_dataset *data, const float *samples, int64_t n,
               double *mass);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_models(int argc, char **argv);
#endif
