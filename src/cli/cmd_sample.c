/*
 * cmd_sample.c — `genmod sample CKPT`: draws seeded samples from a checkpoint
 * (which carries its model type and config) into a PNG grid or a CSV file.
 */
#include "cli.h"
#include "genmod/png.h"
#include <stdlib.h>
#include <string.h>

static const gm_hparam sample_hparams[] = {
    {"n", 'i', "64", 1, 1e6, "number of samples"},
    {"seed", 'i', "1", 0, 9007199254740992.0, "sampling seed"},
    {"out", 's', "samples.png", 0, 0, "output file: .png grid (image models) or .csv"},
    {"cols", 'i', "0", 0, 10000, "PNG grid: images per row (0 = a square grid)"},
    {"pad", 'i', "2", 0, 64, "PNG grid: padding between images, in output pixels"},
    {"scale", 'i', "2", 1, 32, "PNG grid: integer upscale factor"},
    {"threads", 'i', "0", 0, 1024, "threads (0 = $GENMOD_THREADS or all cores)"},
};
#define N_SAMPLE ((int)(sizeof sample_hparams / sizeof sample_hparams[0]))

int cmd_sample(int argc, char **argv) {
    int verbose = 0;
    cli_bool bools[] = {{"verbose", &verbose, ""}, {NULL, NULL, NULL}};
    cli_spec spec = {"sample", {sample_hparams}, {N_SAMPLE}, bools, 1, 1};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod sample CHECKPOINT [flags]\nDraws samples; the same seed gives the same samples.\n\n");
        cli_print_hparams(stdout, sample_hparams, N_SAMPLE);
        printf("  --verbose                print threads, BLAS and ISA first\n");
        return 0;
    }
    if ((rc = cli_setup_threads("sample", &a.cfg, !verbose))) return rc;
    if (gm_hparams_defaults(&a.cfg, sample_hparams, N_SAMPLE) != GM_OK) return cli_fail_lib("sample");
    gm_model *m = NULL;
    if (gm_model_load(a.pos[0], &m, NULL) != GM_OK) return cli_fail_lib("sample");
    int64_t n = gm_config_int(&a.cfg, "n", 64);
    gm_png_grid_opts grid = gm_png_grid_defaults();
    grid.cols = (int)gm_config_int(&a.cfg, "cols", 0);
    grid.pad = (int)gm_config_int(&a.cfg, "pad", 2);
    grid.scale = (int)gm_config_int(&a.cfg, "scale", 2);
    const char *out = gm_config_get(&a.cfg, "out");
    float *x = malloc((size_t)(n * m->dim) * sizeof(float)); // (n, D)
    gm_ctx *ctx = gm_ctx_new(0);
    gm_rng rng;
    gm_rng_seed(&rng, (uint64_t)gm_config_int(&a.cfg, "seed", 1), GM_STREAM_SAMPLE);
    if (!m->def->sample) rc = cli_fail("sample", "model '%s' cannot sample", m->def->name);
    else if (!x || !ctx) rc = cli_fail("sample", "out of memory for %lld samples", (long long)n);
    else if (m->def->sample(m, ctx, &rng, n, x) != GM_OK) rc = cli_fail_lib("sample");
    else if (!(rc = cli_write_samples("sample", out, x, n, m, &grid)) && verbose)
        fprintf(stderr, "wrote %lld samples to %s\n", (long long)n, out);
    free(x);
    gm_ctx_free(ctx);
    gm_model_free(m);
    return rc;
}
