/*
 * cli_data.c — the CLI's data plumbing: a dataset given by registered name
 * (binarized-mnist, fashion-mnist, two-moons, ...) or by file path (.amat,
 * .amat.gz, .npy, .csv, MNIST idx), and sample output as a PNG grid or CSV.
 */
#include "cli.h"
#include "genmod/datasets.h"
#include "genmod/png.h"
#include "io/io_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_has_suffix(const char *s, const char *suffix) {
    if (!s || !suffix) return 0;
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int cli_is_file(const char *dataset) {
    return strchr(dataset, '/') || cli_has_suffix(dataset, ".amat") || cli_has_suffix(dataset, ".amat.gz") ||
           cli_has_suffix(dataset, ".npy") || cli_has_suffix(dataset, ".csv") || strstr(dataset, "idx3-ubyte");
}

int cli_load_data(const char *cmd, const char *dataset, const char *split, gm_dataset *out) {
    memset(out, 0, sizeof *out);
    gm_status st;
    if (cli_is_file(dataset)) {
        gm_read_opts ro = {0};
        if (cli_has_suffix(dataset, ".amat") || cli_has_suffix(dataset, ".amat.gz")) st = gm_read_amat(dataset, &ro, out);
        else if (cli_has_suffix(dataset, ".npy")) st = gm_dataset_from_npy(dataset, NULL, &ro, out);
        else if (cli_has_suffix(dataset, ".csv")) st = gm_read_csv(dataset, &ro, out);
        else if (strstr(dataset, "idx3-ubyte")) st = gm_read_idx_images(dataset, &ro, out);
        else return cli_fail(cmd, "%s: unknown file type (expected .amat, .amat.gz, .npy, .csv or an idx3-ubyte file)", dataset);
        if (st != GM_OK) return cli_fail_lib(cmd);
        (void)split;
        return 0;
    }
    if (!gm_dataset_find(dataset)) {
        char names[1024] = "";
        for (int i = 0; i < gm_dataset_count(); i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, gm_dataset_at(i)->name, sizeof names - strlen(names) - 1);
        }
        return cli_fail(cmd, "--dataset: unknown dataset \"%s\" (known: %s; or give a file path)", dataset, names);
    }
    gm_data_opts o = {0};
    o.seed = 1;
    st = gm_dataset_load(dataset, split, &o, out);
    if (st != GM_OK) return cli_fail_lib(cmd);
    return 0;
}

static int write_csv(const char *cmd, const char *path, const float *x, int64_t n, int64_t d) {
    gm_atomic_file a;
    if (gm_atomic_open(&a, path) != GM_OK) return cli_fail_lib(cmd);
    char buf[64];
    gm_status st = GM_OK;
    for (int64_t i = 0; i < n && st == GM_OK; i++)
        for (int64_t j = 0; j < d && st == GM_OK; j++) {
            int k = snprintf(buf, sizeof buf, "%.9g%c", x[i * d + j], j + 1 == d ? '\n' : ',');
            st = gm_atomic_write(&a, buf, (size_t)k);
        }
    if (st != GM_OK) {
        gm_atomic_abort(&a);
        return cli_fail_lib(cmd);
    }
    if (gm_atomic_commit(&a) != GM_OK) return cli_fail_lib(cmd);
    return 0;
}

int cli_write_samples(const char *cmd, const char *path, const float *x, int64_t n, const gm_model *m,
                      const gm_png_grid_opts *grid) {
    if (cli_has_suffix(path, ".csv")) return write_csv(cmd, path, x, n, m->dim);
    if (!cli_has_suffix(path, ".png")) return cli_fail(cmd, "--out: %s: expected a .png or .csv file name", path);
    if (m->h <= 0 || m->w <= 0 || (int64_t)m->c * m->h * m->w != m->dim)
        return cli_fail(cmd, "--out: %s: the model's data (%lld values per row) are not images; write .csv instead", path,
                        (long long)m->dim);
    gm_png_grid_opts o = gm_png_grid_defaults();
    o.scale = 2;
    if (grid) o = *grid;
    if (gm_png_write_grid(path, x, n, m->c, m->h, m->w, &o) != GM_OK) return cli_fail_lib(cmd);
    return 0;
}
