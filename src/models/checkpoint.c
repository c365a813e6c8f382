/*
 * checkpoint.c — gm_model_save / gm_model_load: a model's parameters plus
 * everything needed to rebuild it (model type, resolved config, data
 * geometry) in one safetensors file; see genmod/model.h and
 * docs/CHECKPOINTS.md ("Model tensors").
 *
 * The loader trusts nothing in the file: the metadata is validated key by
 * key, the model is rebuilt from the registry, and every parameter must be
 * present with exactly the shape the rebuilt model declares; an unexpected
 * extra tensor is an error, not silently ignored. Every error names the file.
 * What this is not: the training state (optimizer moments, RNG: trainstate.h).
 */
#include "models/models_internal.h"
#include "genmod/json.h"
#include "genmod/safetensors.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GENMOD_VERSION
#define GENMOD_VERSION "unknown"
#endif

#define CKPT_FORMAT "genmod-checkpoint"
#define CKPT_VERSION 1

/* Metadata keys this file owns; everything else is the caller's `extra`. */
static const char *const k_reserved[] = {"format", "format_version", "genmod_version", "model_type",
                                         "config", "dim", "c", "h", "w"};
#define N_RESERVED ((int)(sizeof k_reserved / sizeof k_reserved[0]))

static int is_reserved(const char *key) {
    for (int i = 0; i < N_RESERVED; i++)
        if (strcmp(key, k_reserved[i]) == 0) return 1;
    return 0;
}

/* Re-emits the current message prefixed with the path (unless it already starts with it). */
static gm_status with_path(gm_status st, const char *path) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", gm_last_error());
    if (strncmp(msg, path, strlen(path)) == 0) return st;
    return gm_error(st, "%s: %s", path, msg);
}

/* "(7, 10)" for a parameter entry. */
static const char *entry_shape(const gm_param_entry *e, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < e->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)e->shape[d]);
    if (k < n) snprintf(buf + k, n - k, ")");
    return buf;
}

/* See model.h. Tensors are referenced (not copied) until the write. */
gm_status gm_model_save(const gm_model *m, const char *path, const gm_config *extra) {
    if (!m || !path || !path[0]) return gm_error(GM_ERR_ARG, "checkpoint: NULL model or empty path");
    if (!m->params.finalized) return gm_error(GM_ERR_ARG, "%s: model parameters are not finalized", path);
    if (extra)
        for (int i = 0; i < extra->n && i < GM_CONFIG_MAX; i++)
            if (is_reserved(extra->kv[i].key))
                return gm_error(GM_ERR_ARG, "%s: extra metadata key '%s' is reserved for the checkpoint format", path,
                                extra->kv[i].key);
    /* worst case: every byte escaped as \u00XX, plus quotes, colon, comma */
    size_t cap = (size_t)GM_CONFIG_MAX * (sizeof m->config.kv[0].key + sizeof m->config.kv[0].val) * 6 + 64;
    char *cfg = malloc(cap);
    gm_st_writer *w = gm_st_writer_new();
    if (!cfg || !w) {
        free(cfg);
        gm_st_writer_free(w);
        return gm_error(GM_ERR_NOMEM, "%s: out of memory", path);
    }
    gm_status st = gm_config_to_json(&m->config, cfg, cap);
    for (int i = 0; st == GM_OK && i < m->params.count; i++) {
        const gm_param_entry *e = &m->params.entries[i];
        st = gm_st_writer_add(w, e->name, GM_ST_F32, e->ndim, e->shape, m->params.data + e->offset, 0);
    }
    char num[4][32];
    snprintf(num[0], sizeof num[0], "%lld", (long long)m->dim);
    snprintf(num[1], sizeof num[1], "%d", m->c);
    snprintf(num[2], sizeof num[2], "%d", m->h);
    snprintf(num[3], sizeof num[3], "%d", m->w);
    const char *kv[][2] = {{"format", CKPT_FORMAT}, {"format_version", "1"}, {"genmod_version", GENMOD_VERSION},
                           {"model_type", m->def->name}, {"config", cfg}, {"dim", num[0]}, {"c", num[1]},
                           {"h", num[2]}, {"w", num[3]}};
    for (int i = 0; st == GM_OK && i < (int)(sizeof kv / sizeof kv[0]); i++)
        st = gm_st_writer_set_metadata(w, kv[i][0], kv[i][1]);
    for (int i = 0; extra && st == GM_OK && i < extra->n && i < GM_CONFIG_MAX; i++)
        st = gm_st_writer_set_metadata(w, extra->kv[i].key, extra->kv[i].val);
    if (st != GM_OK) st = with_path(st, path);
    else st = gm_st_writer_save(w, path); /* atomic; its messages name the path */
    gm_st_writer_free(w);
    free(cfg);
    return st;
}

/* Metadata `key` as a decimal integer in [lo, hi] (digits only). */
static gm_status meta_int(const gm_st_reader *r, const char *path, const char *key, int64_t lo, int64_t hi,
                          int64_t *out) {
    const char *s = gm_st_metadata(r, key);
    if (!s) return gm_error(GM_ERR_FORMAT, "%s: checkpoint metadata has no '%s'", path, key);
    int64_t v = 0;
    int ok = s[0] != '\0' && strlen(s) <= 18;
    for (const char *p = s; ok && *p; p++) {
        if (*p < '0' || *p > '9') ok = 0;
        else v = v * 10 + (*p - '0');
    }
    if (!ok || v < lo || v > hi)
        return gm_error(GM_ERR_FORMAT, "%s: checkpoint metadata '%s' = \"%.40s\" is not an integer in [%lld, %lld]", path,
                        key, s, (long long)lo, (long long)hi);
    *out = v;
    return GM_OK;
}

/* The "config" metadata: a flat JSON object of strings, into cfg. */
static gm_status parse_config(const gm_st_reader *r, const char *path, gm_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    const char *text = gm_st_metadata(r, "config");
    if (!text) return gm_error(GM_ERR_FORMAT, "%s: checkpoint metadata has no 'config'", path);
    char name[512];
    snprintf(name, sizeof name, "%s: metadata 'config'", path);
    gm_json_doc *doc = NULL;
    gm_status st = gm_json_parse(text, strlen(text), name, 4096, &doc);
    if (st != GM_OK) return st == GM_ERR_NOMEM ? st : GM_ERR_FORMAT; /* message names the file and offset */
    const gm_json *root = gm_json_root(doc);
    if (gm_json_typeof(root) != GM_JSON_OBJECT) {
        gm_json_free(doc);
        return gm_error(GM_ERR_FORMAT, "%s: metadata 'config' is not a JSON object", path);
    }
    int64_t n = gm_json_len(root);
    for (int64_t i = 0; i < n && st == GM_OK; i++) {
        const gm_json *v = gm_json_at(root, i);
        size_t kl = 0, vl = 0;
        const char *key = gm_json_key(v, &kl), *val = gm_json_str(v, &vl);
        if (!val) st = gm_error(GM_ERR_FORMAT, "%s: metadata 'config': value of '%.60s' is not a string", path, key);
        else if (strlen(key) != kl || strlen(val) != vl)
            st = gm_error(GM_ERR_FORMAT, "%s: metadata 'config': '%.60s' contains a NUL character", path, key);
        else if (gm_config_set(cfg, key, val) != GM_OK) st = with_path(GM_ERR_FORMAT, path);
    }
    gm_json_free(doc);
    return st;
}

/* Checks the header and rebuilds the model (parameters not read yet). */
static gm_status rebuild(const gm_st_reader *r, const char *path, gm_model **out) {
    const char *fmt = gm_st_metadata(r, "format");
    if (!fmt) return gm_error(GM_ERR_FORMAT, "%s: not a genmod checkpoint (no format metadata)", path);
    if (strcmp(fmt, CKPT_FORMAT) != 0)
        return gm_error(GM_ERR_FORMAT, "%s: not a genmod checkpoint (format is \"%.60s\")", path, fmt);
    int64_t ver = 0;
    gm_status st = meta_int(r, path, "format_version", 1, INT64_MAX, &ver);
    if (st != GM_OK) return st;
    if (ver != CKPT_VERSION)
        return gm_error(GM_ERR_UNSUPPORTED, "%s: checkpoint format_version %lld is newer than this genmod reads (%d)",
                        path, (long long)ver, CKPT_VERSION);
    const char *type = gm_st_metadata(r, "model_type");
    if (!type) return gm_error(GM_ERR_FORMAT, "%s: checkpoint metadata has no 'model_type'", path);
    const gm_model_def *def = gm_model_find(type);
    if (!def) {
        char known[256] = "";
        for (int i = 0; i < gm_model_count(); i++) {
            size_t l = strlen(known);
            snprintf(known + l, sizeof known - l, "%s%s", i ? ", " : "", gm_model_at(i)->name);
        }
        return gm_error(GM_ERR_UNSUPPORTED, "%s: unknown model_type \"%.60s\" (this genmod has: %s)", path, type, known);
    }
    gm_config cfg;
    if ((st = parse_config(r, path, &cfg)) != GM_OK) return st;
    int64_t dim, c, h, w;
    if ((st = meta_int(r, path, "dim", 1, (int64_t)1 << 31, &dim)) != GM_OK) return st;
    if ((st = meta_int(r, path, "c", 0, 1 << 20, &c)) != GM_OK) return st;
    if ((st = meta_int(r, path, "h", 0, 1 << 20, &h)) != GM_OK) return st;
    if ((st = meta_int(r, path, "w", 0, 1 << 20, &w)) != GM_OK) return st;
    st = gm_model_create(def, &cfg, dim, (int)c, (int)h, (int)w, NULL, out);
    return st == GM_OK ? st : with_path(st, path);
}

/* Reads every parameter (exact shape, float dtype, finite values) and
 * rejects tensors the model does not have. */
static gm_status read_params(const gm_st_reader *r, const char *path, gm_model *m) {
    gm_params *p = &m->params;
    for (int64_t i = 0; i < gm_st_count(r); i++) {
        const gm_st_info *e = gm_st_entry(r, i);
        if (gm_params_index(p, e->name) < 0)
            return gm_error(GM_ERR_FORMAT, "%s: unexpected tensor '%.60s' (model '%s' has no such parameter)", path,
                            e->name, m->def->name);
    }
    for (int i = 0; i < p->count; i++) {
        const gm_param_entry *e = &p->entries[i];
        const gm_st_info *info = gm_st_find(r, e->name);
        char want[96];
        if (!info)
            return gm_error(GM_ERR_FORMAT, "%s: tensor '%s' %s is missing (model '%s' needs it)", path, e->name,
                            entry_shape(e, want, sizeof want), m->def->name);
        if (info->dtype != GM_ST_F32 && info->dtype != GM_ST_F64 && info->dtype != GM_ST_F16 && info->dtype != GM_ST_BF16)
            return gm_error(GM_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected a float type (F32)", path, e->name,
                            gm_st_dtype_name(info->dtype));
        float *dst = p->data + e->offset; // (numel)
        gm_status st = gm_st_read_f32(r, e->name, e->ndim, e->shape, dst); /* GM_ERR_SHAPE names file, tensor, both shapes */
        if (st != GM_OK) return with_path(st, path);
        for (int64_t k = 0; k < e->numel; k++)
            if (!isfinite(dst[k]))
                return gm_error(GM_ERR_NONFINITE, "%s: tensor '%s' element %lld is %g", path, e->name, (long long)k,
                                (double)dst[k]);
    }
    return GM_OK;
}

/* Metadata keys not owned by the format, into extra. */
static gm_status copy_extra(const gm_st_reader *r, const char *path, gm_config *extra) {
    memset(extra, 0, sizeof *extra);
    for (int64_t i = 0; i < gm_st_metadata_count(r); i++) {
        const char *k = gm_st_metadata_key(r, i), *v = gm_st_metadata_value(r, i);
        if (is_reserved(k)) continue;
        if (gm_config_set(extra, k, v) != GM_OK) return with_path(GM_ERR_FORMAT, path);
    }
    return GM_OK;
}

/* See model.h. On any error *out is NULL and `extra` may be partly filled. */
gm_status gm_model_load(const char *path, gm_model **out, gm_config *extra) {
    if (!out) return gm_error(GM_ERR_ARG, "checkpoint: NULL output pointer");
    *out = NULL;
    if (!path || !path[0]) return gm_error(GM_ERR_ARG, "checkpoint: empty path");
    gm_st_reader *r = NULL;
    gm_status st = gm_st_open(path, &r);
    if (st != GM_OK) return with_path(st, path);
    gm_model *m = NULL;
    st = rebuild(r, path, &m);
    if (st == GM_OK) st = read_params(r, path, m);
    if (st == GM_OK && m->def->validate && (st = m->def->validate(m)) != GM_OK) st = with_path(st, path);
    if (st == GM_OK && extra) st = copy_extra(r, path, extra);
    gm_st_close(r);
    if (st != GM_OK) {
        gm_model_free(m);
        return st;
    }
    *out = m;
    return GM_OK;
}
