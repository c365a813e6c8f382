/*
 * cmd_codec.c — `genmod encode CKPT` (x -> z) and `genmod decode CKPT`
 * (z -> x) for invertible models (the flows). encode writes the latents of
 * the first --n rows of a dataset as CSV (one row per example, D columns);
 * decode reads such a CSV and writes the images (PNG grid) or rows (CSV).
 * --interpolate K decodes K points on the straight line between each pair
 * of consecutive latent rows (1-2, 3-4, ...), one grid row per pair.
 */
#include "cli.h"
#include "genmod/png.h"
#include <stdlib.h>
#include <string.h>

static const gm_hparam encode_hparams[] = {
    {"dataset", 's', "", 0, 0, "dataset name or file (default: the one the checkpoint was trained on)"},
    {"split", 's', "test", 0, 0, "split of a named dataset"},
    {"n", 'i', "16", 1, 1e7, "rows to encode (the first n of the split)"},
    {"out", 's', "z.csv", 0, 0, "output CSV: one latent row per example"},
    {"threads", 'i', "0", 0, 1024, "threads (0 = $GENMOD_THREADS or all cores)"},
};
static const gm_hparam decode_hparams[] = {
    {"in", 's', "z.csv", 0, 0, "CSV of latent rows (as written by genmod encode)"},
    {"out", 's', "decoded.png", 0, 0, "output: .png grid (image models) or .csv"},
    {"interpolate", 'i', "0", 0, 1000, "K > 1: decode K points between each pair of consecutive rows"},
    {"scale", 'i', "2", 1, 32, "PNG grid: integer upscale factor"},
    {"threads", 'i', "0", 0, 1024, "threads (0 = $GENMOD_THREADS or all cores)"},
};
#define N_ENC ((int)(sizeof encode_hparams / sizeof encode_hparams[0]))
#define N_DEC ((int)(sizeof decode_hparams / sizeof decode_hparams[0]))

/* Loads the checkpoint and checks it is invertible. */
static int load_invertible(const char *cmd, const char *path, gm_model **m) {
    if (gm_model_load(path, m, NULL) != GM_OK) return cli_fail_lib(cmd);
    if (!(*m)->def->encode || !(*m)->def->decode) {
        int rc = cli_fail(cmd, "%s: model '%s' is not invertible (encode/decode need a flow)", path, (*m)->def->name);
        gm_model_free(*m);
        *m = NULL;
        return rc;
    }
    return 0;
}

int cmd_encode(int argc, char **argv) {
    cli_spec spec = {"encode", {encode_hparams}, {N_ENC}, NULL, 1, 1};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod encode CHECKPOINT [flags]\nWrites z = f(x) of the first --n rows of a dataset as CSV "
               "(8-bit images use the cell midpoint, no noise).\n\n");
        cli_print_hparams(stdout, encode_hparams, N_ENC);
        return 0;
    }
    if ((rc = cli_setup_threads("encode", &a.cfg, 1))) return rc;
    gm_model *m = NULL;
    if ((rc = load_invertible("encode", a.pos[0], &m))) return rc;
    const char *ds = gm_config_get(&a.cfg, "dataset");
    if (!ds || !*ds) ds = gm_config_get(&m->config, "dataset");
    gm_dataset d = {0};
    const char *split = gm_config_get(&a.cfg, "split");
    if (!ds || !*ds) rc = cli_fail("encode", "%s: the checkpoint does not name its dataset; give --dataset", a.pos[0]);
    else rc = cli_load_data("encode", ds, cli_is_file(ds) ? NULL : split ? split : "test", &d);
    int64_t n = gm_config_int(&a.cfg, "n", 16);
    float *z = NULL;
    gm_ctx *ctx = gm_ctx_new(0);
    if (!rc && d.d != m->dim)
        rc = cli_fail("encode", "%s: rows have %lld values but the checkpoint %s expects %lld", d.name, (long long)d.d, a.pos[0],
                      (long long)m->dim);
    if (!rc) {
        if (n > d.n) n = d.n;
        z = malloc((size_t)(n * m->dim) * sizeof(float)); // (n, D)
        if (!z || !ctx) rc = cli_fail("encode", "out of memory");
        else if (gm_model_check_data(m, d.x, n, d.name) != GM_OK || m->def->encode(m, ctx, d.x, n, z) != GM_OK)
            rc = cli_fail_lib("encode");
        else {
            gm_model csv = *m;
            csv.c = csv.h = csv.w = 0; /* latents are written as CSV rows */
            rc = cli_write_samples("encode", gm_config_get(&a.cfg, "out"), z, n, &csv, NULL);
        }
    }
    free(z);
    gm_ctx_free(ctx);
    gm_dataset_free(&d);
    gm_model_free(m);
    return rc;
}

int cmd_decode(int argc, char **argv) {
    cli_spec spec = {"decode", {decode_hparams}, {N_DEC}, NULL, 1, 1};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod decode CHECKPOINT --in Z.csv [flags]\nWrites x = f^{-1}(z) for every latent row "
               "(PNG grid for image models, else CSV).\n\n");
        cli_print_hparams(stdout, decode_hparams, N_DEC);
        return 0;
    }
    if ((rc = cli_setup_threads("decode", &a.cfg, 1))) return rc;
    gm_model *m = NULL;
    if ((rc = load_invertible("decode", a.pos[0], &m))) return rc;
    gm_dataset zs = {0};
    gm_read_opts ro = {.csv_header = -1};
    const char *in = gm_config_get(&a.cfg, "in");
    int64_t K = gm_config_int(&a.cfg, "interpolate", 0), n = 0;
    float *z = NULL, *x = NULL;
    gm_ctx *ctx = gm_ctx_new(0);
    if (gm_read_csv(in, &ro, &zs) != GM_OK) rc = cli_fail_lib("decode");
    else if (zs.d != m->dim)
        rc = cli_fail("decode", "%s: rows have %lld values but the checkpoint %s has %lld dimensions", in, (long long)zs.d,
                      a.pos[0], (long long)m->dim);
    else if (K == 1 || (K > 1 && zs.n < 2)) rc = cli_fail("decode", "--interpolate: needs K >= 2 and at least 2 latent rows");
    if (!rc) {
        int64_t pairs = zs.n / 2;
        n = K > 1 ? pairs * K : zs.n;
        z = malloc((size_t)(n * m->dim) * sizeof(float)); // (n, D)
        x = malloc((size_t)(n * m->dim) * sizeof(float)); // (n, D)
        if (!z || !x || !ctx) rc = cli_fail("decode", "out of memory");
    }
    if (!rc) {
        if (K > 1)
            for (int64_t p = 0; p < zs.n / 2; p++)
                for (int64_t k = 0; k < K; k++) {
                    double t = (double)k / (double)(K - 1);
                    const float *z0 = zs.x + 2 * p * m->dim, *z1 = z0 + m->dim;
                    for (int64_t j = 0; j < m->dim; j++)
                        z[(p * K + k) * m->dim + j] = (float)((1 - t) * z0[j] + t * z1[j]);
                }
        else memcpy(z, zs.x, (size_t)(n * m->dim) * sizeof(float));
        gm_png_grid_opts grid = gm_png_grid_defaults();
        grid.scale = (int)gm_config_int(&a.cfg, "scale", 2);
        if (K > 1) grid.cols = (int)K;
        if (m->def->decode(m, ctx, z, n, x) != GM_OK) rc = cli_fail_lib("decode");
        else rc = cli_write_samples("decode", gm_config_get(&a.cfg, "out"), x, n, m, &grid);
    }
    free(z), free(x);
    gm_ctx_free(ctx);
    gm_dataset_free(&zs);
    gm_model_free(m);
    return rc;
}
