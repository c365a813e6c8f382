/*
 * st_write.c — safetensors writer; see genmod/safetensors.h.
 *
 * Tensors are collected (copied or referenced), then gm_st_writer_save()
 * builds the header with the JSON writer, lays the data out by decreasing
 * item size (stable, like Python's safetensors, so each tensor is aligned to
 * its item size), and streams header + data into an atomically replaced file.
 */
#include "genmod/safetensors.h"
#include "genmod/json.h"
#include "io/io_internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    gm_st_dtype dtype;
    int ndim;
    int64_t shape[GM_ST_MAX_DIMS];
    uint64_t nbytes;
    const uint8_t *data; /* == own when copied */
    uint8_t *own;
} wentry;

struct gm_st_writer {
    wentry *e;
    int64_t n, cap;
    char **mkey, **mval;
    int64_t nmeta, capmeta;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* 1 if s is valid UTF-8 (what the JSON writer will accept). */
static int valid_utf8(const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0, n = strlen(s); i < n;) {
        int k = gm_utf8_seq_len(u + i, n - i);
        if (!k) return 0;
        i += (size_t)k;
    }
    return 1;
}

gm_st_writer *gm_st_writer_new(void) {
    gm_st_writer *w = calloc(1, sizeof *w);
    if (!w) gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    return w;
}

void gm_st_writer_free(gm_st_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].own);
    }
    for (int64_t i = 0; i < w->nmeta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->e);
    free(w->mkey);
    free(w->mval);
    free(w);
}

gm_status gm_st_writer_add(gm_st_writer *w, const char *name, gm_st_dtype dtype, int ndim, const int64_t *shape,
                           const void *data, int flags) {
    if (!w || !name) return gm_error(GM_ERR_ARG, "safetensors writer: NULL writer or name");
    if (!*name || strcmp(name, "__metadata__") == 0 || !valid_utf8(name))
        return gm_error(GM_ERR_ARG, "safetensors writer: invalid tensor name '%s' (empty, reserved or not UTF-8)", name);
    size_t isz = gm_st_dtype_size(dtype);
    if (!isz) return gm_error(GM_ERR_ARG, "safetensors writer: tensor '%s': invalid dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > GM_ST_MAX_DIMS || (ndim > 0 && !shape))
        return gm_error(GM_ERR_ARG, "safetensors writer: tensor '%s': ndim %d outside [0, %d]", name, ndim, GM_ST_MAX_DIMS);
    uint64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return gm_error(GM_ERR_ARG, "safetensors writer: tensor '%s': negative dim", name);
        uint64_t s = (uint64_t)shape[d];
        if (s && numel > (uint64_t)INT64_MAX / s / isz)
            return gm_error(GM_ERR_ARG, "safetensors writer: tensor '%s': size overflows", name);
        numel *= s;
    }
    uint64_t nbytes = numel * isz;
    if (!data && nbytes) return gm_error(GM_ERR_ARG, "safetensors writer: tensor '%s': NULL data", name);
    if (nbytes > (uint64_t)SIZE_MAX) return gm_error(GM_ERR_ARG, "safetensors writer: tensor '%s': too large", name);
    for (int64_t i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0)
            return gm_error(GM_ERR_ARG, "safetensors writer: duplicate tensor name '%s'", name);
    if (w->n == w->cap) {
        int64_t nc = w->cap ? w->cap * 2 : 16;
        wentry *q = realloc(w->e, (size_t)nc * sizeof *q);
        if (!q) return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
        w->e = q;
        w->cap = nc;
    }
    wentry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->name = dup_str(name);
    if (!e->name) return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    e->dtype = dtype;
    e->ndim = ndim;
    for (int d = 0; d < ndim; d++) e->shape[d] = shape[d];
    e->nbytes = nbytes;
    if ((flags & GM_ST_COPY) && nbytes) {
        e->own = malloc((size_t)nbytes);
        if (!e->own) {
            free(e->name);
            return gm_error(GM_ERR_NOMEM, "safetensors writer: tensor '%s': cannot copy %llu bytes", name,
                            (unsigned long long)nbytes);
        }
        memcpy(e->own, data, (size_t)nbytes);
        e->data = e->own;
    } else {
        e->data = data;
    }
    w->n++;
    return GM_OK;
}

gm_status gm_st_writer_add_f32(gm_st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data) {
    return gm_st_writer_add(w, name, GM_ST_F32, ndim, shape, data, GM_ST_COPY);
}

gm_status gm_st_writer_add_i64(gm_st_writer *w, const char *name, int ndim, const int64_t *shape, const int64_t *data) {
    return gm_st_writer_add(w, name, GM_ST_I64, ndim, shape, data, GM_ST_COPY);
}

gm_status gm_st_writer_add_u8(gm_st_writer *w, const char *name, int ndim, const int64_t *shape, const uint8_t *data) {
    return gm_st_writer_add(w, name, GM_ST_U8, ndim, shape, data, GM_ST_COPY);
}

gm_status gm_st_writer_set_metadata(gm_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return gm_error(GM_ERR_ARG, "safetensors writer: NULL metadata key or value");
    if (!valid_utf8(key) || !valid_utf8(value))
        return gm_error(GM_ERR_ARG, "safetensors writer: metadata '%s': not valid UTF-8", key);
    char *v = dup_str(value);
    if (!v) return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    for (int64_t i = 0; i < w->nmeta; i++)
        if (strcmp(w->mkey[i], key) == 0) {
            free(w->mval[i]);
            w->mval[i] = v;
            return GM_OK;
        }
    if (w->nmeta == w->capmeta) {
        int64_t nc = w->capmeta ? w->capmeta * 2 : 8;
        char **a = realloc(w->mkey, (size_t)nc * sizeof *a);
        if (a) w->mkey = a;
        char **b = a ? realloc(w->mval, (size_t)nc * sizeof *b) : NULL;
        if (b) w->mval = b;
        if (!a || !b) {
            free(v);
            return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
        }
        w->capmeta = nc;
    }
    char *k = dup_str(key);
    if (!k) {
        free(v);
        return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->mkey[w->nmeta] = k;
    w->mval[w->nmeta] = v;
    w->nmeta++;
    return GM_OK;
}

/* The file layout: header text (padded) and the data order. */
typedef struct {
    char *header;     /* padded with spaces to hlen bytes */
    size_t hlen;
    int64_t *order;   /* (n) entry indices in data order */
} plan;

typedef struct { size_t isz; int64_t idx; } layout_key;

static int cmp_layout(const void *a, const void *b) {
    const layout_key *x = a, *y = b;
    if (x->isz != y->isz) return x->isz > y->isz ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx); /* index tie-break: stable */
}

static void plan_free(plan *p) {
    free(p->header);
    free(p->order);
}

static gm_status plan_file(const gm_st_writer *w, plan *p) {
    memset(p, 0, sizeof *p);
    p->order = malloc((size_t)(w->n ? w->n : 1) * sizeof *p->order);
    uint64_t *begin = malloc((size_t)(w->n ? w->n : 1) * sizeof *begin);
    if (!p->order || !begin) {
        free(begin);
        plan_free(p);
        return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    }
    layout_key *keys = malloc((size_t)(w->n ? w->n : 1) * sizeof *keys);
    if (!keys) {
        free(begin);
        plan_free(p);
        return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    }
    for (int64_t i = 0; i < w->n; i++) {
        keys[i].isz = gm_st_dtype_size(w->e[i].dtype);
        keys[i].idx = i;
    }
    qsort(keys, (size_t)w->n, sizeof *keys, cmp_layout);
    for (int64_t i = 0; i < w->n; i++) p->order[i] = keys[i].idx;
    free(keys);
    uint64_t off = 0;
    for (int64_t k = 0; k < w->n; k++) {
        begin[p->order[k]] = off;
        off += w->e[p->order[k]].nbytes;
    }
    gm_json_writer jw;
    gm_jw_init(&jw);
    gm_jw_begin_object(&jw);
    if (w->nmeta) {
        gm_jw_key(&jw, "__metadata__");
        gm_jw_begin_object(&jw);
        for (int64_t i = 0; i < w->nmeta; i++) gm_jw_kv_string(&jw, w->mkey[i], w->mval[i]);
        gm_jw_end_object(&jw);
    }
    for (int64_t i = 0; i < w->n; i++) {
        const wentry *e = &w->e[i];
        gm_jw_key(&jw, e->name);
        gm_jw_begin_object(&jw);
        gm_jw_kv_string(&jw, "dtype", gm_st_dtype_name(e->dtype));
        gm_jw_key(&jw, "shape");
        gm_jw_begin_array(&jw);
        for (int d = 0; d < e->ndim; d++) gm_jw_int(&jw, e->shape[d]);
        gm_jw_end_array(&jw);
        gm_jw_key(&jw, "data_offsets");
        gm_jw_begin_array(&jw);
        gm_jw_int(&jw, (int64_t)begin[i]);
        gm_jw_int(&jw, (int64_t)(begin[i] + e->nbytes));
        gm_jw_end_array(&jw);
        gm_jw_end_object(&jw);
    }
    gm_jw_end_object(&jw);
    free(begin);
    char *text;
    size_t tlen;
    gm_status st = gm_jw_finish(&jw, &text, &tlen);
    if (st != GM_OK) {
        plan_free(p);
        return st;
    }
    size_t hlen = (tlen + 7) / 8 * 8;
    char *h = realloc(text, hlen + 1);
    if (!h) {
        free(text);
        plan_free(p);
        return gm_error(GM_ERR_NOMEM, "safetensors writer: out of memory");
    }
    memset(h + tlen, ' ', hlen - tlen);
    h[hlen] = '\0';
    p->header = h;
    p->hlen = hlen;
    return GM_OK;
}

gm_status gm_st_writer_save(const gm_st_writer *w, const char *path) {
    if (!w || !path) return gm_error(GM_ERR_ARG, "safetensors writer: NULL writer or path");
    plan p;
    gm_status st = plan_file(w, &p);
    if (st != GM_OK) return st;
    gm_atomic_file af;
    st = gm_atomic_open(&af, path);
    if (st != GM_OK) {
        plan_free(&p);
        return st;
    }
    uint8_t len8[8];
    gm_store_le64(len8, (uint64_t)p.hlen);
    gm_atomic_write(&af, len8, 8);
    gm_atomic_write(&af, p.header, p.hlen);
    for (int64_t k = 0; k < w->n; k++) {
        const wentry *e = &w->e[p.order[k]];
        gm_atomic_write(&af, e->data, (size_t)e->nbytes);
    }
    plan_free(&p);
    return gm_atomic_commit(&af);
}

gm_status gm_st_writer_to_mem(const gm_st_writer *w, uint8_t **buf, size_t *len) {
    if (!w || !buf || !len) return gm_error(GM_ERR_ARG, "safetensors writer: NULL argument");
    *buf = NULL;
    *len = 0;
    plan p;
    gm_status st = plan_file(w, &p);
    if (st != GM_OK) return st;
    uint64_t total = 8 + (uint64_t)p.hlen;
    for (int64_t i = 0; i < w->n; i++) total += w->e[i].nbytes;
    uint8_t *b = total < (uint64_t)SIZE_MAX ? malloc((size_t)total) : NULL;
    if (!b) {
        plan_free(&p);
        return gm_error(GM_ERR_NOMEM, "safetensors writer: cannot allocate %llu bytes", (unsigned long long)total);
    }
    gm_store_le64(b, (uint64_t)p.hlen);
    memcpy(b + 8, p.header, p.hlen);
    size_t off = 8 + p.hlen;
    for (int64_t k = 0; k < w->n; k++) {
        const wentry *e = &w->e[p.order[k]];
        if (e->nbytes) memcpy(b + off, e->data, (size_t)e->nbytes);
        off += (size_t)e->nbytes;
    }
    plan_free(&p);
    *buf = b;
    *len = (size_t)total;
    return GM_OK;
}
