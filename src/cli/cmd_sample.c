/*
 * cmd_sample.c — `genmod sample CKPT`: draws seeded samples from a checkpoint
 * (which carries its model type and config) into a PNG grid or a CSV file.
 * With --observe, completes data rows instead (inpainting): the observed
 * dimensions are kept and the rest drawn from p(x_rest | x_obs); the grid
 * shows, per example, the original, the observed part (missing = grey) and
 * --completions completions.
 */
#include "cli.h"
#include "genmod/png.h"
#include "genmod/train.h"
#include <errno.h>
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
    {"observe", 's', "", 0, 0, "inpaint: observed dims: top-half, bottom-half, left-half, right-half, first-half, or a file of D 0/1 values"},
    {"from", 's', "", 0, 0, "inpaint: dataset or file whose first --n rows are completed (default: the checkpoint's dataset)"},
    {"split", 's', "test", 0, 0, "inpaint: split of a named dataset"},
    {"completions", 'i', "4", 1, 1000, "inpaint: completions per example"},
    {"temperature", 'f', "1", -1e9, 1e9, "flows: scale of the base noise (> 0; < 1 gives smoother, more typical samples)"},
};
#define N_SAMPLE ((int)(sizeof sample_hparams / sizeof sample_hparams[0]))

/* The observed-dimension mask (D) from --observe. */
static int observe_mask(const char *spec, const gm_model *m, unsigned char *mask) {
    int64_t D = m->dim, H = m->h, W = m->w, C = m->c > 0 ? m->c : 1;
    int image = H > 0 && W > 0 && C * H * W == D;
    const char *img[] = {"top-half", "bottom-half", "left-half", "right-half"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(spec, img[k])) {
            if (!image) return cli_fail("sample", "--observe %s: the checkpoint's data are not images (use first-half or a file)", spec);
            for (int64_t i = 0; i < D; i++) {
                int64_t y = (i / W) % H, x = i % W;
                mask[i] = k == 0 ? y < H / 2 : k == 1 ? y >= H / 2 : k == 2 ? x < W / 2 : x >= W / 2;
            }
            return 0;
        }
    if (!strcmp(spec, "first-half")) {
        for (int64_t i = 0; i < D; i++) mask[i] = i < D / 2;
        return 0;
    }
    FILE *f = fopen(spec, "r");
    if (!f) return cli_fail("sample", "--observe %s: not top-half/bottom-half/left-half/right-half/first-half, and cannot open it as a mask file: %s", spec, strerror(errno));
    int64_t n = 0;
    int v, rc = 0, got;
    while ((got = fscanf(f, " %d", &v)) == 1) {
        if (v != 0 && v != 1) { rc = cli_fail("sample", "--observe %s: value %lld is %d; a mask holds 0 or 1", spec, (long long)n, v); break; }
        if (n < D) mask[n] = (unsigned char)v;
        n++;
    }
    if (!rc && got != EOF) rc = cli_fail("sample", "--observe %s: entry %lld is not an integer", spec, (long long)n);
    fclose(f);
    if (!rc && n != D)
        rc = cli_fail("sample", "--observe %s: the mask has %lld values, the checkpoint's data have %lld dimensions", spec, (long long)n, (long long)D);
    return rc;
}

/* Inpainting: rows (n, D) of `from` completed `S` times each into a grid of
 * n rows × (S + 2) images. */
static int inpaint(const cli_args *a, gm_model *m, int64_t n, gm_rng *rng, gm_png_grid_opts *grid) {
    int64_t D = m->dim, S = gm_config_int(&a->cfg, "completions", 4);
    if (!m->def->sample_cond) return cli_fail("sample", "--observe: model '%s' cannot sample conditionally", m->def->name);
    unsigned char *mask = malloc((size_t)D);
    if (!mask) return cli_fail("sample", "out of memory");
    int rc = observe_mask(gm_config_get(&a->cfg, "observe"), m, mask);
    if (rc) { free(mask); return rc; }
    const char *ds = gm_config_get(&a->cfg, "from");
    if (!ds || !*ds) ds = gm_config_get(&m->config, "dataset");
    if (!ds || !*ds) { free(mask); return cli_fail("sample", "--observe: give the rows to complete with --from"); }
    gm_dataset d;
    if ((rc = cli_load_data("sample", ds, cli_is_file(ds) ? NULL : gm_config_get(&a->cfg, "split"), &d))) { free(mask); return rc; }
    if (d.d != D) rc = cli_fail("sample", "%s: rows have %lld values but the checkpoint expects %lld", d.name, (long long)d.d, (long long)D);
    else if (d.n < n) rc = cli_fail("sample", "%s: %lld rows, fewer than --n %lld", d.name, (long long)d.n, (long long)n);
    else if (gm_prepare_data(m->def, &m->config, &d, NULL) != GM_OK || gm_model_check_data(m, d.x, n, d.name) != GM_OK)
        rc = cli_fail_lib("sample");
    float *obs = rc ? NULL : malloc((size_t)(n * S * D) * sizeof(float));        // (n·S, D)
    float *done = rc ? NULL : malloc((size_t)(n * S * D) * sizeof(float));       // (n·S, D)
    float *grid_x = rc ? NULL : malloc((size_t)(n * (S + 2) * D) * sizeof(float)); // (n·(S+2), D)
    gm_ctx *ctx = rc ? NULL : gm_ctx_new(0);
    if (!rc && (!obs || !done || !grid_x || !ctx)) rc = cli_fail("sample", "out of memory");
    if (!rc) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t s = 0; s < S; s++) memcpy(obs + (i * S + s) * D, d.x + i * D, (size_t)D * sizeof(float));
        if (m->def->sample_cond(m, ctx, rng, n * S, obs, mask, done) != GM_OK) rc = cli_fail_lib("sample");
    }
    if (!rc) {
        for (int64_t i = 0; i < n; i++) {
            float *row = grid_x + i * (S + 2) * D;
            memcpy(row, d.x + i * D, (size_t)D * sizeof(float));
            for (int64_t j = 0; j < D; j++) row[D + j] = mask[j] ? d.x[i * D + j] : 0.5f;
            memcpy(row + 2 * D, done + i * S * D, (size_t)(S * D) * sizeof(float));
        }
        grid->cols = (int)(S + 2);
        rc = cli_write_samples("sample", gm_config_get(&a->cfg, "out"), grid_x, n * (S + 2), m, grid);
    }
    free(obs); free(done); free(grid_x); free(mask);
    gm_ctx_free(ctx);
    gm_dataset_free(&d);
    return rc;
}

/* 2-D models: density | data | samples in one PNG. Data: --from (default
 * the checkpoint's dataset), split --split. */
static int plot_2d(const cli_args *a, gm_model *m, const float *x, int64_t n) {
    const char *from = gm_config_get(&a->cfg, "from");
    if (!from || !*from) from = gm_config_get(&m->config, "dataset");
    gm_dataset d = {0};
    int have = 0, rc = 0;
    if (from && *from) {
        if ((rc = cli_load_data("sample", from, cli_is_file(from) ? NULL : gm_config_get(&a->cfg, "split"), &d))) return rc;
        have = 1;
    }
    double mass = 0;
    rc = cli_plot2d("sample", gm_config_get(&a->cfg, "out"), m, have ? &d : NULL, x, n, &mass);
    if (!rc) fprintf(stderr, "wrote the density (mass %.4f inside the plot), %lld data points and %lld samples to %s\n", mass,
                     have ? (long long)d.n : 0LL, (long long)n, gm_config_get(&a->cfg, "out"));
    gm_dataset_free(&d);
    return rc;
}

int cmd_sample(int argc, char **argv) {
    int verbose = 0;
    cli_bool bools[] = {{"verbose", &verbose, ""}, {NULL, NULL, NULL}};
    cli_spec spec = {"sample", {sample_hparams}, {N_SAMPLE}, bools, 1, 1};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod sample CHECKPOINT [flags]\nDraws samples; the same seed gives the same samples.\n"
               "With --observe, completes the first --n rows of a dataset (default 8) instead: the grid shows per row\n"
               "the original, the observed part (missing dims grey) and --completions draws from p(rest | observed).\n\n");
        cli_print_hparams(stdout, sample_hparams, N_SAMPLE);
        printf("  --verbose                print threads, BLAS and ISA first\n");
        return 0;
    }
    if ((rc = cli_setup_threads("sample", &a.cfg, !verbose))) return rc;
    const char *obs_spec = gm_config_get(&a.cfg, "observe");
    int observing = obs_spec && *obs_spec;
    int user_n = gm_config_get(&a.cfg, "n") != NULL;
    if (observing && !user_n) gm_config_set(&a.cfg, "n", "8");
    if (gm_hparams_defaults(&a.cfg, sample_hparams, N_SAMPLE) != GM_OK) return cli_fail_lib("sample");
    double T = gm_config_float(&a.cfg, "temperature", 1.0);
    if (!(T > 0)) return cli_fail("sample", "--temperature: must be > 0, got %s", gm_config_get(&a.cfg, "temperature"));
    gm_model *m = NULL;
    if (gm_model_load(a.pos[0], &m, NULL) != GM_OK) return cli_fail_lib("sample");
    int plot = m->dim == 2 && m->h == 0 && cli_has_suffix(gm_config_get(&a.cfg, "out"), ".png");
    if (plot && !user_n) gm_config_set(&a.cfg, "n", "20000");
    int64_t n = gm_config_int(&a.cfg, "n", 64);
    if (T != 1.0 && !m->def->sample_temp) {
        rc = cli_fail("sample", "--temperature: model '%s' has no base noise to scale", m->def->name);
        gm_model_free(m);
        return rc;
    }
    gm_png_grid_opts grid = gm_png_grid_defaults();
    grid.cols = (int)gm_config_int(&a.cfg, "cols", 0);
    grid.pad = (int)gm_config_int(&a.cfg, "pad", 2);
    grid.scale = (int)gm_config_int(&a.cfg, "scale", 2);
    const char *out = gm_config_get(&a.cfg, "out");
    float *x = malloc((size_t)(n * m->dim) * sizeof(float)); // (n, D)
    gm_ctx *ctx = gm_ctx_new(0);
    gm_rng rng;
    gm_rng_seed(&rng, (uint64_t)gm_config_int(&a.cfg, "seed", 1), GM_STREAM_SAMPLE);
    if (observing) rc = inpaint(&a, m, n, &rng, &grid);
    else if (!m->def->sample) rc = cli_fail("sample", "model '%s' cannot sample", m->def->name);
    else if (!x || !ctx) rc = cli_fail("sample", "out of memory for %lld samples", (long long)n);
    else if ((m->def->sample_temp ? m->def->sample_temp(m, ctx, &rng, n, T, x) : m->def->sample(m, ctx, &rng, n, x)) != GM_OK)
        rc = cli_fail_lib("sample");
    else if (plot) rc = plot_2d(&a, m, x, n);
    else if (!(rc = cli_write_samples("sample", out, x, n, m, &grid)) && verbose)
        fprintf(stderr, "wrote %lld samples to %s\n", (long long)n, out);
    free(x);
    gm_ctx_free(ctx);
    gm_model_free(m);
    return rc;
}
