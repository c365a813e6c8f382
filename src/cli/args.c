/*
 * args.c — command-line flag parsing and error printing for `genmod`.
 * Flags are `--name VALUE` or `--name=VALUE` (validated against the
 * gm_hparam specs: numeric, in range) and boolean `--name`; `-h`/`--help`
 * anywhere asks for help. Unknown flags, missing values and bad values end in
 * one line "genmod CMD: ..." and exit status 2.
 */
#include "cli.h"
#include <math.h>
#include "genmod/json.h"
#include "genmod/system.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "genmod %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_fail_lib(const char *cmd) {
    const char *e = gm_last_error();
    return cli_fail(cmd, "%s", e && *e ? e : "unknown error");
}

static const gm_hparam *find_spec(const cli_spec *s, const char *name) {
    for (int t = 0; t < 3 && s->tables[t]; t++)
        for (int i = 0; i < s->counts[t]; i++)
            if (!strcmp(s->tables[t][i].name, name)) return &s->tables[t][i];
    return NULL;
}

static const cli_bool *find_bool(const cli_spec *s, const char *name) {
    for (const cli_bool *b = s->bools; b && b->name; b++)
        if (!strcmp(b->name, name)) return b;
    return NULL;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, int first, cli_args *out) {
    memset(out, 0, sizeof *out);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            out->help = 1;
            return 0;
        }
    }
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            for (i++; i < argc; i++) {
                if (out->npos >= spec->max_pos || out->npos >= CLI_MAX_POS)
                    return cli_fail(spec->cmd, "unexpected argument \"%s\" (see genmod %s --help)", argv[i], spec->cmd), 2;
                out->pos[out->npos++] = argv[i];
            }
            break;
        }
        if (a[0] != '-' || a[1] == 0) {
            if (out->npos >= spec->max_pos || out->npos >= CLI_MAX_POS)
                return cli_fail(spec->cmd, "unexpected argument \"%s\" (see genmod %s --help)", a, spec->cmd), 2;
            out->pos[out->npos++] = a;
            continue;
        }
        /* "-x" is accepted for single-letter flags (e.g. -n 64) */
        int dash = a[1] == '-' ? 2 : 1;
        if (dash == 1 && a[2] != 0) return cli_fail(spec->cmd, "unknown flag %s (see genmod %s --help)", a, spec->cmd), 2;
        char name[64];
        const char *eq = strchr(a + dash, '=');
        size_t len = eq ? (size_t)(eq - a - dash) : strlen(a + dash);
        if (len == 0 || len >= sizeof name)
            return cli_fail(spec->cmd, "unknown flag %s (see genmod %s --help)", a, spec->cmd), 2;
        memcpy(name, a + dash, len);
        name[len] = 0;
        const cli_bool *b = find_bool(spec, name);
        if (b) {
            if (eq) return cli_fail(spec->cmd, "--%s takes no value", name), 2;
            *b->value = 1;
            continue;
        }
        const gm_hparam *h = find_spec(spec, name);
        if (!h) return cli_fail(spec->cmd, "unknown flag --%s (see genmod %s --help)", name, spec->cmd), 2;
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc) return cli_fail(spec->cmd, "--%s: missing value", name), 2;
            val = argv[++i];
        }
        if (gm_hparam_set(&out->cfg, h, val) != GM_OK) return cli_fail_lib(spec->cmd), 2;
    }
    if (out->npos < spec->min_pos)
        return cli_fail(spec->cmd, "missing argument (see genmod %s --help)", spec->cmd), 2;
    return 0;
}

void cli_print_hparams(FILE *f, const gm_hparam *specs, int n) {
    for (int i = 0; i < n; i++) {
        const gm_hparam *h = &specs[i];
        char flag[80];
        snprintf(flag, sizeof flag, "--%s %s", h->name, h->type == 'i' ? "N" : h->type == 'f' ? "X" : "S");
        fprintf(f, "  %-24s %s (default %s)\n", flag, h->help, h->def && *h->def ? h->def : "none");
    }
}

int cli_setup_threads(const char *cmd, const gm_config *cfg, int quiet) {
    int n = (int)gm_config_int(cfg, "threads", 0);
    if (gm_set_threads(n) != GM_OK) return cli_fail_lib(cmd);
    if (!quiet) {
        char info[512];
        gm_system_info(info, sizeof info);
        fprintf(stderr, "genmod %s | %s\n", GENMOD_VERSION, info);
    }
    return 0;
}

int cli_config_from_json_file(const char *cmd, const char *path, gm_config *cfg) {
    gm_json_doc *doc = NULL;
    if (gm_json_parse_file(path, &doc) != GM_OK) return cli_fail_lib(cmd);
    const gm_json *root = gm_json_root(doc);
    int rc = 0;
    if (gm_json_typeof(root) != GM_JSON_OBJECT) {
        rc = cli_fail(cmd, "%s: expected a JSON object of settings", path);
    } else {
        for (int64_t i = 0; i < gm_json_len(root) && !rc; i++) {
            const gm_json *mem = gm_json_at(root, i);
            size_t kl = 0, vl = 0;
            const char *k = gm_json_key(mem, &kl);
            const char *v = gm_json_str(mem, &vl);
            if (!k || !v) {
                rc = cli_fail(cmd, "%s: every setting must be a string", path);
                break;
            }
            char kb[64], vb[256];
            if (kl >= sizeof kb || vl >= sizeof vb) {
                rc = cli_fail(cmd, "%s: setting too long", path);
                break;
            }
            memcpy(kb, k, kl);
            kb[kl] = 0;
            memcpy(vb, v, vl);
            vb[vl] = 0;
            if (gm_config_set(cfg, kb, vb) != GM_OK) rc = cli_fail_lib(cmd);
        }
    }
    gm_json_free(doc);
    return rc;
}

/* bits/dim of an NLL in nats of 8-bit data dequantized to [0,1]^D. */
static double bits_per_dim(double nll, int64_t D) { return (nll / (double)D + log(256.0)) / log(2.0); }

void cli_json_nll(FILE *f, const char *kind, gm_model *m, const char *data, int64_t n, double nll, double se) {
    gm_json_writer w;
    gm_jw_init(&w);
    gm_jw_begin_object(&w);
    if (kind) gm_jw_kv_string(&w, "kind", kind);
    gm_jw_kv_string(&w, "model", m->def->name);
    gm_jw_kv_string(&w, "data", data);
    gm_jw_kv_int(&w, "n", n);
    gm_jw_kv_number(&w, "nll", nll);
    gm_jw_kv_number(&w, "nll_stderr", se);
    gm_jw_kv_string(&w, "logp", gm_logp_kind_name(m->def->logp_kind));
    if (m->def->n_masks) gm_jw_kv_int(&w, "masks", m->def->n_masks(m));
    int draws = m->def->dequant_draws ? m->def->dequant_draws(m) : 0;
    if (draws > 0) {
        gm_jw_kv_number(&w, "bpd", bits_per_dim(nll, m->dim));
        gm_jw_kv_number(&w, "bpd_stderr", se / ((double)m->dim * log(2.0)));
        gm_jw_kv_int(&w, "draws", draws);
    }
    gm_jw_end_object(&w);
    char *out = NULL;
    size_t len = 0;
    if (gm_jw_finish(&w, &out, &len) == GM_OK) fprintf(f, "%s\n", out);
    else fprintf(stderr, "genmod: could not write a JSON record: %s\n", gm_last_error());
    free(out);
}

void cli_print_nll(FILE *f, const char *label, gm_model *m, const char *data, int64_t n, double nll, double se,
                   const char *tail) {
    fprintf(f, "%s NLL %.4f ± %.4f nats", label, nll, se);
    int draws = m->def->dequant_draws ? m->def->dequant_draws(m) : 0;
    if (draws > 0) fprintf(f, " = %.4f ± %.4f bits/dim", bits_per_dim(nll, m->dim), se / ((double)m->dim * log(2.0)));
    if (data) fprintf(f, " (%lld examples of %s, %s log-likelihood", (long long)n, data, gm_logp_kind_name(m->def->logp_kind));
    else fprintf(f, " (%lld examples, %s log-likelihood, model %s", (long long)n, gm_logp_kind_name(m->def->logp_kind), m->def->name);
    if (m->def->n_masks) {
        int k = m->def->n_masks(m);
        fprintf(f, ", %d mask%s averaged", k, k == 1 ? "" : "s");
    }
    if (draws > 0) fprintf(f, ", %d dequantization draw%s per image", draws, draws == 1 ? "" : "s");
    fprintf(f, "%s)\n", tail ? tail : "");
}
