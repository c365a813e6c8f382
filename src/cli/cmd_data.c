/*
 * cmd_data.c — `genmod data list | path NAME | fetch NAME | entropy NAME`: what datasets
 * exist, where genmod looks for them, and downloading them from the canonical
 * source (curl or wget as a child process) into the first search-path
 * directory, each file verified by SHA-256 before it is moved into place.
 * Offline, it says which file to put where.
 */
#include "cli.h"
#include "genmod/datasets.h"
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int mkdirs(const char *path) { /* mkdir -p of the directory part of path */
    char buf[1200];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return cli_fail("data", "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    return 0;
}

static int run_downloader(const char *url, const char *out) {
    char *curl[] = {"curl", "-fsL", "--retry", "2", "--connect-timeout", "20", "-o", (char *)out, (char *)url, NULL};
    char *wget[] = {"wget", "-q", "-T", "20", "-O", (char *)out, (char *)url, NULL};
    char **cmds[] = {curl, wget};
    for (int i = 0; i < 2; i++) {
        pid_t pid;
        if (posix_spawnp(&pid, cmds[i][0], NULL, NULL, cmds[i], environ) != 0) continue;
        int status = 0;
        if (waitpid(pid, &status, 0) < 0) continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) continue;
        return 1;
    }
    return 1;
}

static int fetch(const char *name) {
    const gm_fetch_file *files = NULL;
    int n = 0;
    if (gm_dataset_fetch_list(name, &files, &n) != GM_OK) return cli_fail_lib("data");
    char dir[1024];
    if (gm_data_fetch_dir(NULL, dir, sizeof dir) != GM_OK) return cli_fail_lib("data");
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char target[1200], tmp[1300];
        snprintf(target, sizeof target, "%s/%s", dir, files[i].relpath);
        if (access(target, R_OK) == 0 && gm_verify_sha256(target, files[i].sha256) == GM_OK) {
            fprintf(stderr, "%s: present and verified\n", target);
            continue;
        }
        if (mkdirs(target)) return 1;
        snprintf(tmp, sizeof tmp, "%s.part", target);
        fprintf(stderr, "downloading %s\n", files[i].url);
        if (run_downloader(files[i].url, tmp)) {
            remove(tmp);
            char list[1024] = "";
            for (int j = i; j < n; j++) {
                const char *base = strrchr(files[j].relpath, '/');
                strncat(list, j > i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, base ? base + 1 : files[j].relpath, sizeof list - strlen(list) - 1);
            }
            return cli_fail("data", "could not download %s (offline, or no curl/wget); put %s into %s/%.*s/ by hand (see docs/DATA.md)",
                            files[i].url, list, dir, (int)strcspn(files[i].relpath, "/"), files[i].relpath);
        }
        if (gm_verify_sha256(tmp, files[i].sha256) != GM_OK) {
            remove(tmp);
            cli_fail_lib("data");
            failed = 1;
            continue;
        }
        if (rename(tmp, target) != 0) return cli_fail("data", "%s: cannot rename into place: %s", target, strerror(errno));
        fprintf(stderr, "%s: verified\n", target);
    }
    return failed;
}

/* `data entropy NAME`: the reference numbers a 2-D model's test NLL is read
 * against: the exact differential entropy, the mean -log p_true over the test
 * split (the optimum on that sample), and a KDE of 10^6 generator draws. */
static int entropy(const char *name) {
    const gm_dataset_info *info = gm_dataset_find(name);
    int t = gm_toy2d_from_name(name);
    if (!info || t < 0) return cli_fail("data", "entropy: \"%s\" is not a synthetic 2-D dataset (see genmod data list)", name);
    gm_dataset va, te;
    if (cli_load_data("data", info->name, "valid", &va)) return 1;
    if (cli_load_data("data", info->name, "test", &te)) {
        gm_dataset_free(&va);
        return 1;
    }
    double h;
    if (gm_toy2d_entropy((gm_toy2d)t, &h) == GM_OK) printf("%s: differential entropy %.5f nats (exact / quadrature)\n", info->name, h);
    else printf("%s: no closed-form density\n", info->name);
    double *lp = malloc((size_t)te.n * sizeof(double));
    if (lp && gm_toy2d_has_logpdf((gm_toy2d)t) && gm_toy2d_logpdf((gm_toy2d)t, te.x, te.n, lp) == GM_OK) {
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < te.n; i++) s -= lp[i], s2 += lp[i] * lp[i];
        double mu = s / te.n, se = sqrt(fmax(0, (s2 - te.n * mu * mu) / (te.n - 1)) / te.n);
        printf("%s: true density on the %lld test points: NLL %.4f ± %.4f nats\n", info->name, (long long)te.n, mu, se);
    }
    free(lp);
    const int64_t nref = 1000000;
    float *ref = malloc((size_t)nref * 2 * sizeof(float)); // (nref, 2)
    gm_rng r;
    gm_rng_seed(&r, 0x6B6465ull, 77); /* "kde": independent of the train/valid/test streams */
    int rc = 0;
    double bw, nll, se;
    if (!ref) rc = cli_fail("data", "out of memory");
    else if (gm_toy2d_sample((gm_toy2d)t, &r, nref, ref, NULL) != GM_OK ||
             gm_kde2d_nll(ref, nref, va.x, va.n, te.x, te.n, &bw, &nll, &se) != GM_OK)
        rc = cli_fail_lib("data");
    else
        printf("%s: KDE of 10^6 samples (bandwidth %.3g chosen on valid): test NLL %.4f ± %.4f nats\n", info->name, bw, nll, se);
    free(ref);
    gm_dataset_free(&va);
    gm_dataset_free(&te);
    return rc;
}

int cmd_data(int argc, char **argv) {
    cli_spec spec = {"data", {NULL}, {0}, NULL, 1, 2};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod data list | path [NAME] | fetch NAME\n"
               "  list         datasets genmod knows, with sizes and where they come from\n"
               "  path [NAME]  the search path ($GENMOD_DATA, colon-separated; default ~/.cache/genmod);\n"
               "               with NAME: checks that the dataset loads and prints its splits\n"
               "  fetch NAME   downloads NAME into the first search-path directory and verifies SHA-256\n"
               "  entropy NAME 2-D synthetic sets: exact entropy, true-density test NLL and a 10^6-sample KDE reference\n");
        return 0;
    }
    const char *sub = a.pos[0];
    if (!strcmp(sub, "list")) {
        for (int i = 0; i < gm_dataset_count(); i++) {
            const gm_dataset_info *d = gm_dataset_at(i);
            printf("%-16s %-6s d=%-4lld %s\n                 %s\n", d->name, d->synthetic ? "synth" : "files", (long long)d->d,
                   d->description, d->how_to_get);
        }
        return 0;
    }
    if (!strcmp(sub, "path")) {
        char buf[2048];
        if (gm_data_search_path(NULL, buf, sizeof buf) != GM_OK) return cli_fail_lib("data");
        printf("search path: %s\n", buf);
        if (a.npos < 2) return 0;
        const gm_dataset_info *info = gm_dataset_find(a.pos[1]);
        if (!info) return cli_fail("data", "unknown dataset \"%s\" (see genmod data list)", a.pos[1]);
        gm_dataset ds;
        if (cli_load_data("data", info->name, "test", &ds)) return 1;
        printf("%s: found (%lld test rows of %lld values)\n", info->name, (long long)ds.n, (long long)ds.d);
        gm_dataset_free(&ds);
        return 0;
    }
    if (!strcmp(sub, "fetch")) {
        if (a.npos < 2) return cli_fail("data", "fetch: which dataset? (see genmod data list)");
        if (!gm_dataset_find(a.pos[1])) return cli_fail("data", "unknown dataset \"%s\" (see genmod data list)", a.pos[1]);
        return fetch(a.pos[1]);
    }
    if (!strcmp(sub, "entropy")) {
        if (a.npos < 2) return cli_fail("data", "entropy: which dataset? (e.g. two-moons)");
        return entropy(a.pos[1]);
    }
    return cli_fail("data", "unknown subcommand \"%s\" (expected list, path, fetch or entropy)", sub);
}
