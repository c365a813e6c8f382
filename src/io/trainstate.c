/*
 * trainstate.c — the training-state file: a safetensors file with named
 * float arrays, byte blobs, rng states and string / int64 metadata; see
 * genmod/trainstate.h. Not the model checkpoint.
 */
#include "genmod/trainstate.h"
#include "genmod/json.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef GENMOD_VERSION
#define GENMOD_VERSION "unknown"
#endif

struct gm_ts_writer {
    gm_st_writer *st;
};

struct gm_ts_reader {
    gm_st_reader *st;
};

/* ------------------------------------------------------------------ writing */

gm_ts_writer *gm_ts_writer_new(void) {
    gm_ts_writer *w = calloc(1, sizeof *w);
    if (w) w->st = gm_st_writer_new();
    if (!w || !w->st) {
        free(w);
        gm_error(GM_ERR_NOMEM, "training state: out of memory");
        return NULL;
    }
    return w;
}

void gm_ts_writer_free(gm_ts_writer *w) {
    if (!w) return;
    gm_st_writer_free(w->st);
    free(w);
}

gm_status gm_ts_put_floats(gm_ts_writer *w, const char *name, const float *x, int64_t n) {
    if (!w || n < 0) return gm_error(GM_ERR_ARG, "training state: '%s': NULL writer or negative length", name ? name : "(null)");
    return gm_st_writer_add_f32(w->st, name, 1, &n, x);
}

gm_status gm_ts_put_bytes(gm_ts_writer *w, const char *name, const void *p, size_t n) {
    if (!w || n > (size_t)INT64_MAX) return gm_error(GM_ERR_ARG, "training state: '%s': NULL writer or bad length", name ? name : "(null)");
    int64_t len = (int64_t)n;
    return gm_st_writer_add_u8(w->st, name, 1, &len, p);
}

static int reserved(const char *key) {
    return strcmp(key, "format") == 0 || strcmp(key, "format_version") == 0 || strcmp(key, "genmod_version") == 0;
}

gm_status gm_ts_put_string(gm_ts_writer *w, const char *key, const char *s) {
    if (!w || !key || !s) return gm_error(GM_ERR_ARG, "training state: NULL writer, key or value");
    if (reserved(key)) return gm_error(GM_ERR_ARG, "training state: metadata key '%s' is reserved", key);
    return gm_st_writer_set_metadata(w->st, key, s);
}

gm_status gm_ts_put_int64(gm_ts_writer *w, const char *key, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return gm_ts_put_string(w, key, buf);
}

static gm_status rng_name(const char *stream, char *buf, size_t n) {
    if (!stream || !*stream || strlen(stream) + 5 > n)
        return gm_error(GM_ERR_ARG, "training state: rng stream name empty or too long");
    snprintf(buf, n, "rng.%s", stream);
    return GM_OK;
}

gm_status gm_ts_put_rng(gm_ts_writer *w, const char *stream, const gm_rng *r) {
    char name[256];
    gm_status st = rng_name(stream, name, sizeof name);
    if (st != GM_OK) return st;
    if (!w || !r) return gm_error(GM_ERR_ARG, "training state: NULL writer or rng");
    int64_t v[6], six = 6;
    for (int i = 0; i < 4; i++) memcpy(&v[i], &r->s[i], 8);
    memcpy(&v[4], &r->spare_normal, 8);
    v[5] = r->has_spare ? 1 : 0;
    return gm_st_writer_add_i64(w->st, name, 1, &six, v);
}

gm_status gm_ts_put_optim(gm_ts_writer *w, const gm_optim *opt) {
    if (!w || !opt) return gm_error(GM_ERR_ARG, "training state: NULL writer or optimizer");
    const gm_optim_config *c = gm_optim_get_config(opt);
    gm_optim *mopt = (gm_optim *)opt; /* gm_optim_state_data takes a non-const pointer; we only read */
    for (int i = 0; i < gm_optim_state_count(opt); i++) {
        char name[128];
        snprintf(name, sizeof name, "opt.%s", gm_optim_state_name(opt, i));
        gm_status st = gm_ts_put_floats(w, name, gm_optim_state_data(mopt, i), gm_optim_state_len(opt, i));
        if (st != GM_OK) return st;
    }
    gm_json_writer jw;
    gm_jw_init(&jw);
    gm_jw_begin_object(&jw);
    gm_jw_kv_string(&jw, "type", gm_optim_type_name(c->type));
    gm_jw_kv_number(&jw, "lr", c->lr);
    gm_jw_kv_number(&jw, "weight_decay", c->weight_decay);
    gm_jw_kv_number(&jw, "momentum", c->momentum);
    gm_jw_kv_number(&jw, "dampening", c->dampening);
    gm_jw_kv_bool(&jw, "nesterov", c->nesterov);
    gm_jw_kv_number(&jw, "beta1", c->beta1);
    gm_jw_kv_number(&jw, "beta2", c->beta2);
    gm_jw_kv_number(&jw, "eps", c->eps);
    gm_jw_kv_number(&jw, "alpha", c->alpha);
    gm_jw_kv_bool(&jw, "centered", c->centered);
    gm_jw_kv_number(&jw, "initial_accumulator_value", c->initial_accumulator_value);
    gm_jw_kv_number(&jw, "lr_decay", c->lr_decay);
    gm_jw_end_object(&jw);
    char *json;
    gm_status st = gm_jw_finish(&jw, &json, NULL);
    if (st != GM_OK) return st;
    st = gm_ts_put_string(w, "optimizer", gm_optim_type_name(c->type));
    if (st == GM_OK) st = gm_ts_put_string(w, "optimizer_config", json);
    if (st == GM_OK) st = gm_ts_put_int64(w, "optimizer_step", gm_optim_get_step(opt));
    free(json);
    return st;
}

gm_status gm_ts_save(const gm_ts_writer *w, const char *path) {
    if (!w || !path) return gm_error(GM_ERR_ARG, "training state: NULL writer or path");
    char ver[16];
    snprintf(ver, sizeof ver, "%d", GM_TS_FORMAT_VERSION);
    gm_status st = gm_st_writer_set_metadata(w->st, "format", GM_TS_FORMAT);
    if (st == GM_OK) st = gm_st_writer_set_metadata(w->st, "format_version", ver);
    if (st == GM_OK) st = gm_st_writer_set_metadata(w->st, "genmod_version", GENMOD_VERSION);
    if (st != GM_OK) return st;
    return gm_st_writer_save(w->st, path);
}

/* ------------------------------------------------------------------ reading */

/* Strict decimal int64: optional '-', 1..19 digits, nothing else. */
static int parse_i64(const char *s, int64_t *out) {
    int neg = *s == '-';
    const char *p = s + neg;
    if (!*p) return 0;
    uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return 0;
        unsigned d = (unsigned)(*p - '0');
        if (acc > (lim - d) / 10) return 0;
        acc = acc * 10 + d;
    }
    *out = neg ? (acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    return 1;
}

static gm_status validate(gm_st_reader *st, gm_ts_reader **out) {
    const char *name = gm_st_name(st);
    const char *fmt = gm_st_metadata(st, "format"), *ver = gm_st_metadata(st, "format_version");
    int64_t v = 0;
    gm_status rc = GM_OK;
    if (!fmt || strcmp(fmt, GM_TS_FORMAT) != 0)
        rc = gm_error(GM_ERR_FORMAT, "%s: not a genmod training-state file (metadata format is '%s')", name,
                      fmt ? fmt : "missing");
    else if (!ver || !parse_i64(ver, &v) || v < 1)
        rc = gm_error(GM_ERR_FORMAT, "%s: training state: bad format_version '%s'", name, ver ? ver : "missing");
    else if (v > GM_TS_FORMAT_VERSION)
        rc = gm_error(GM_ERR_UNSUPPORTED, "%s: training state format_version %lld is newer than this genmod reads (%d)",
                      name, (long long)v, GM_TS_FORMAT_VERSION);
    gm_ts_reader *r = rc == GM_OK ? calloc(1, sizeof *r) : NULL;
    if (rc == GM_OK && !r) rc = gm_error(GM_ERR_NOMEM, "%s: out of memory", name);
    if (rc != GM_OK) {
        gm_st_close(st);
        return rc;
    }
    r->st = st;
    *out = r;
    return GM_OK;
}

gm_status gm_ts_open(const char *path, gm_ts_reader **out) {
    if (!out) return gm_error(GM_ERR_ARG, "gm_ts_open: NULL output");
    *out = NULL;
    gm_st_reader *st;
    gm_status rc = gm_st_open(path, &st);
    return rc == GM_OK ? validate(st, out) : rc;
}

gm_status gm_ts_open_mem(const void *data, size_t len, const char *name, gm_ts_reader **out) {
    if (!out) return gm_error(GM_ERR_ARG, "gm_ts_open_mem: NULL output");
    *out = NULL;
    gm_st_reader *st;
    gm_status rc = gm_st_open_mem(data, len, name, &st);
    return rc == GM_OK ? validate(st, out) : rc;
}

void gm_ts_close(gm_ts_reader *r) {
    if (!r) return;
    gm_st_close(r->st);
    free(r);
}

const gm_st_reader *gm_ts_tensors(const gm_ts_reader *r) { return r ? r->st : NULL; }

/* Tensor `name` of exactly dtype dt and n elements. */
static gm_status typed(const gm_ts_reader *r, const char *name, gm_st_dtype dt, int64_t n, const gm_st_info **e) {
    if (!r || !name) return gm_error(GM_ERR_ARG, "training state: NULL reader or name");
    *e = gm_st_find(r->st, name);
    const char *fn = gm_st_name(r->st);
    if (!*e) return gm_error(GM_ERR_NOTFOUND, "%s: training state has no '%s'", fn, name);
    if ((*e)->dtype != dt)
        return gm_error(GM_ERR_FORMAT, "%s: training state '%s' is %s, expected %s", fn, name,
                        gm_st_dtype_name((*e)->dtype), gm_st_dtype_name(dt));
    if ((*e)->numel != n)
        return gm_error(GM_ERR_SHAPE, "%s: training state '%s' has %lld elements, expected %lld", fn, name,
                        (long long)(*e)->numel, (long long)n);
    return GM_OK;
}

int64_t gm_ts_floats_len(const gm_ts_reader *r, const char *name) {
    const gm_st_info *e = r ? gm_st_find(r->st, name) : NULL;
    return e && e->dtype == GM_ST_F32 ? e->numel : -1;
}

gm_status gm_ts_get_floats(const gm_ts_reader *r, const char *name, float *dst, int64_t n) {
    const gm_st_info *e = NULL;
    gm_status st = typed(r, name, GM_ST_F32, n, &e);
    if (st == GM_OK && n > 0) memcpy(dst, e->data, (size_t)e->nbytes);
    return st;
}

gm_status gm_ts_get_bytes(const gm_ts_reader *r, const char *name, void *dst, size_t n) {
    if (n > (size_t)INT64_MAX) return gm_error(GM_ERR_ARG, "training state: '%s': bad length", name ? name : "(null)");
    const gm_st_info *e = NULL;
    gm_status st = typed(r, name, GM_ST_U8, (int64_t)n, &e);
    if (st == GM_OK && n > 0) memcpy(dst, e->data, n);
    return st;
}

gm_status gm_ts_get_string(const gm_ts_reader *r, const char *key, const char **s) {
    if (!r || !key || !s) return gm_error(GM_ERR_ARG, "training state: NULL reader, key or output");
    const char *v = gm_st_metadata(r->st, key);
    if (!v) return gm_error(GM_ERR_NOTFOUND, "%s: training state has no metadata '%s'", gm_st_name(r->st), key);
    *s = v;
    return GM_OK;
}

gm_status gm_ts_get_int64(const gm_ts_reader *r, const char *key, int64_t *v) {
    const char *s = NULL;
    gm_status st = gm_ts_get_string(r, key, &s);
    if (st != GM_OK) return st;
    if (!v) return gm_error(GM_ERR_ARG, "training state: NULL output");
    if (!parse_i64(s, v))
        return gm_error(GM_ERR_FORMAT, "%s: training state metadata '%s' = '%.40s' is not an int64", gm_st_name(r->st),
                        key, s);
    return GM_OK;
}

gm_status gm_ts_get_rng(const gm_ts_reader *r, const char *stream, gm_rng *out) {
    char name[256];
    gm_status st = rng_name(stream, name, sizeof name);
    if (st != GM_OK) return st;
    const gm_st_info *e = NULL;
    st = typed(r, name, GM_ST_I64, 6, &e);
    if (st != GM_OK) return st;
    int64_t v[6];
    memcpy(v, e->data, sizeof v);
    if ((v[0] | v[1] | v[2] | v[3]) == 0 || (v[5] != 0 && v[5] != 1))
        return gm_error(GM_ERR_FORMAT, "%s: training state '%s' is not a valid rng state", gm_st_name(r->st), name);
    gm_rng g;
    memset(&g, 0, sizeof g);
    for (int i = 0; i < 4; i++) memcpy(&g.s[i], &v[i], 8);
    memcpy(&g.spare_normal, &v[4], 8);
    g.has_spare = (int)v[5];
    *out = g;
    return GM_OK;
}

gm_status gm_ts_get_optim(const gm_ts_reader *r, gm_optim *opt) {
    if (!r || !opt) return gm_error(GM_ERR_ARG, "training state: NULL reader or optimizer");
    const char *fn = gm_st_name(r->st), *name = NULL, *want = gm_optim_type_name(gm_optim_get_config(opt)->type);
    gm_status st = gm_ts_get_string(r, "optimizer", &name);
    if (st != GM_OK) return st;
    if (strcmp(name, want) != 0)
        return gm_error(GM_ERR_ARG, "%s: training state is for optimizer '%s', this run uses '%s'", fn, name, want);
    int64_t step;
    st = gm_ts_get_int64(r, "optimizer_step", &step);
    if (st != GM_OK) return st;
    if (step < 0) return gm_error(GM_ERR_FORMAT, "%s: training state optimizer_step %lld < 0", fn, (long long)step);
    int ns = gm_optim_state_count(opt);
    for (int pass = 0; pass < 2; pass++) /* check everything, then copy: opt unchanged on failure */
        for (int i = 0; i < ns; i++) {
            char tn[128];
            snprintf(tn, sizeof tn, "opt.%s", gm_optim_state_name(opt, i));
            const gm_st_info *e = NULL;
            st = typed(r, tn, GM_ST_F32, gm_optim_state_len(opt, i), &e);
            if (st != GM_OK) return st;
            if (pass == 1 && e->nbytes) memcpy(gm_optim_state_data(opt, i), e->data, (size_t)e->nbytes);
        }
    return gm_optim_set_step(opt, step);
}

gm_status gm_ts_get_optim_config(const gm_ts_reader *r, gm_optim_config *cfg) {
    if (!r || !cfg) return gm_error(GM_ERR_ARG, "training state: NULL reader or config");
    const char *fn = gm_st_name(r->st), *json = NULL, *tname = NULL;
    gm_status st = gm_ts_get_string(r, "optimizer_config", &json);
    if (st != GM_OK) return st;
    char jname[300];
    snprintf(jname, sizeof jname, "%s: optimizer_config", fn);
    gm_json_doc *doc;
    st = gm_json_parse(json, strlen(json), jname, 1024, &doc);
    if (st != GM_OK) return st;
    const gm_json *o = gm_json_root(doc);
    gm_optim_type type;
    st = gm_json_get_string(o, "type", &tname);
    if (st == GM_OK) st = gm_optim_type_parse(tname, &type);
    if (st != GM_OK) {
        gm_json_free(doc);
        return st == GM_ERR_NOTFOUND || st == GM_ERR_ARG ? gm_error(GM_ERR_FORMAT, "%s: bad optimizer 'type'", jname) : st;
    }
    gm_optim_config c = gm_optim_defaults(type);
    struct { const char *k; double *v; } nums[] = {
        {"lr", &c.lr}, {"weight_decay", &c.weight_decay}, {"momentum", &c.momentum}, {"dampening", &c.dampening},
        {"beta1", &c.beta1}, {"beta2", &c.beta2}, {"eps", &c.eps}, {"alpha", &c.alpha},
        {"initial_accumulator_value", &c.initial_accumulator_value}, {"lr_decay", &c.lr_decay}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0] && st == GM_OK; i++) {
        st = gm_json_get_number(o, nums[i].k, -1e300, 1e300, nums[i].v);
        if (st == GM_ERR_NOTFOUND) st = GM_OK;
    }
    if (st == GM_OK) st = gm_json_get_bool(o, "nesterov", &c.nesterov);
    if (st == GM_ERR_NOTFOUND) st = GM_OK;
    if (st == GM_OK) st = gm_json_get_bool(o, "centered", &c.centered);
    if (st == GM_ERR_NOTFOUND) st = GM_OK;
    gm_json_free(doc);
    if (st != GM_OK) return st;
    *cfg = c;
    return GM_OK;
}
