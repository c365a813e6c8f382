/*
 * st_read.c — safetensors reader (validation, lookup, dtype conversion); see
 * genmod/safetensors.h. The writer is st_write.c.
 *
 * The whole file is held in one buffer; the header is parsed with the JSON
 * parser into a tree that stays alive for the names and metadata strings.
 * Entries are kept sorted by data offset (to check that they tile the data
 * buffer) plus an index sorted by name for gm_st_find.
 */
#include "genmod/safetensors.h"
#include "genmod/json.h"
#include "io/io_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gm_st_reader {
    uint8_t *buf;             /* the whole file */
    size_t len;
    const uint8_t *data;      /* data buffer (after the header) */
    uint64_t data_len;
    gm_json_doc *doc;         /* header tree: owns names and metadata strings */
    gm_st_info *entries;      /* (n) by offset */
    const gm_st_info **by_name; /* (n) by name */
    int64_t n;
    const char **mkey, **mval; /* (nmeta) document order */
    int64_t nmeta;
    char name[256];
};

static const struct { const char *name; size_t size; } k_dtypes[] = {
    [GM_ST_BOOL] = {"BOOL", 1}, [GM_ST_U8] = {"U8", 1},     [GM_ST_I8] = {"I8", 1},
    [GM_ST_F8_E5M2] = {"F8_E5M2", 1}, [GM_ST_F8_E4M3] = {"F8_E4M3", 1},
    [GM_ST_I16] = {"I16", 2}, [GM_ST_U16] = {"U16", 2},   [GM_ST_F16] = {"F16", 2}, [GM_ST_BF16] = {"BF16", 2},
    [GM_ST_I32] = {"I32", 4}, [GM_ST_U32] = {"U32", 4},   [GM_ST_F32] = {"F32", 4},
    [GM_ST_F64] = {"F64", 8}, [GM_ST_I64] = {"I64", 8},   [GM_ST_U64] = {"U64", 8},
};
#define N_DTYPES ((int)(sizeof k_dtypes / sizeof k_dtypes[0]))

const char *gm_st_dtype_name(gm_st_dtype dt) { return (int)dt >= 0 && (int)dt < N_DTYPES ? k_dtypes[dt].name : "?"; }

size_t gm_st_dtype_size(gm_st_dtype dt) { return (int)dt >= 0 && (int)dt < N_DTYPES ? k_dtypes[dt].size : 0; }

int gm_st_dtype_parse(const char *name, gm_st_dtype *dt) {
    if (!name) return 0;
    for (int i = 0; i < N_DTYPES; i++)
        if (strcmp(name, k_dtypes[i].name) == 0) {
            *dt = (gm_st_dtype)i;
            return 1;
        }
    return 0;
}

void gm_st_close(gm_st_reader *r) {
    if (!r) return;
    free(r->buf);
    gm_json_free(r->doc);
    free(r->entries);
    free(r->by_name);
    free(r->mkey);
    free(r->mval);
    free(r);
}

static int cmp_offset(const void *a, const void *b) {
    const gm_st_info *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    uint64_t ex = x->offset + x->nbytes, ey = y->offset + y->nbytes;
    return (ex > ey) - (ex < ey);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const gm_st_info *const *)a)->name, (*(const gm_st_info *const *)b)->name);
}

/* Reads a JSON array of non-negative integer literals (at most maxn). */
static gm_status int_array(const gm_st_reader *r, const char *tname, const char *field, const gm_json *v, int maxn,
                           int exact, int64_t *out, int *count) {
    if (gm_json_typeof(v) != GM_JSON_ARRAY)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': '%s' must be an array of integers", r->name, tname, field);
    int64_t n = gm_json_len(v);
    if (exact >= 0 && n != exact)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': '%s' must have %d entries, has %lld", r->name, tname, field,
                        exact, (long long)n);
    if (n > maxn)
        return gm_error(GM_ERR_UNSUPPORTED, "%s: tensor '%s': %lld dims (at most %d supported)", r->name, tname,
                        (long long)n, maxn);
    for (int64_t i = 0; i < n; i++) {
        int64_t x;
        if (!gm_json_is_int(gm_json_at(v, i), &x) || x < 0)
            return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': '%s'[%lld] is not a non-negative integer", r->name, tname,
                            field, (long long)i);
        out[i] = x;
    }
    *count = (int)n;
    return GM_OK;
}

static gm_status parse_entry(gm_st_reader *r, const char *tname, size_t tlen, const gm_json *v, gm_st_info *e) {
    if (tlen != strlen(tname)) return gm_error(GM_ERR_FORMAT, "%s: a tensor name contains a NUL character", r->name);
    if (gm_json_typeof(v) != GM_JSON_OBJECT)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': entry must be an object", r->name, tname);
    for (int64_t i = 0; i < gm_json_len(v); i++) {
        const char *k = gm_json_key(gm_json_at(v, i), NULL);
        if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
            return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': unknown field '%s'", r->name, tname, k);
    }
    memset(e, 0, sizeof *e);
    e->name = tname;
    const char *ds = gm_json_str(gm_json_get(v, "dtype"), NULL);
    if (!ds) return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': missing string field 'dtype'", r->name, tname);
    if (!gm_st_dtype_parse(ds, &e->dtype))
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%.32s'", r->name, tname, ds);
    const gm_json *sh = gm_json_get(v, "shape"), *of = gm_json_get(v, "data_offsets");
    if (!sh) return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': missing field 'shape'", r->name, tname);
    if (!of) return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': missing field 'data_offsets'", r->name, tname);
    gm_status st = int_array(r, tname, "shape", sh, GM_ST_MAX_DIMS, -1, e->shape, &e->ndim);
    if (st != GM_OK) return st;
    uint64_t numel = 1, isz = gm_st_dtype_size(e->dtype);
    for (int d = 0; d < e->ndim; d++) {
        uint64_t s = (uint64_t)e->shape[d];
        if (s != 0 && numel > (uint64_t)INT64_MAX / s)
            return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': shape overflows (element count > 2^63)", r->name, tname);
        numel *= s;
    }
    for (int d = e->ndim; d < GM_ST_MAX_DIMS; d++) e->shape[d] = 1;
    if (numel > UINT64_MAX / isz)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': byte size overflows", r->name, tname);
    e->numel = (int64_t)numel;
    int64_t off[2];
    int two;
    st = int_array(r, tname, "data_offsets", of, 2, 2, off, &two);
    if (st != GM_OK) return st;
    if (off[1] < off[0])
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin", r->name,
                        tname, (long long)off[0], (long long)off[1]);
    if ((uint64_t)off[1] > r->data_len)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] go past the data buffer (%llu bytes)",
                        r->name, tname, (long long)off[0], (long long)off[1], (unsigned long long)r->data_len);
    if ((uint64_t)(off[1] - off[0]) != numel * isz)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] span %lld bytes, shape and dtype %s need %llu",
                        r->name, tname, (long long)off[0], (long long)off[1], (long long)(off[1] - off[0]), ds,
                        (unsigned long long)(numel * isz));
    e->offset = (uint64_t)off[0];
    e->nbytes = numel * isz;
    e->data = r->data + e->offset;
    return GM_OK;
}

static gm_status parse_metadata(gm_st_reader *r, const gm_json *m) {
    if (gm_json_typeof(m) == GM_JSON_NULL) return GM_OK;
    if (gm_json_typeof(m) != GM_JSON_OBJECT)
        return gm_error(GM_ERR_FORMAT, "%s: '__metadata__' must be an object of strings", r->name);
    int64_t n = gm_json_len(m);
    r->mkey = malloc((size_t)(n ? n : 1) * sizeof *r->mkey);
    r->mval = malloc((size_t)(n ? n : 1) * sizeof *r->mval);
    if (!r->mkey || !r->mval) return gm_error(GM_ERR_NOMEM, "%s: out of memory", r->name);
    for (int64_t i = 0; i < n; i++) {
        const gm_json *kv = gm_json_at(m, i);
        size_t kl, vl;
        const char *k = gm_json_key(kv, &kl), *v = gm_json_str(kv, &vl);
        if (!v) return gm_error(GM_ERR_FORMAT, "%s: metadata '%s' must be a string", r->name, k);
        if (kl != strlen(k) || vl != strlen(v))
            return gm_error(GM_ERR_FORMAT, "%s: metadata '%s' contains a NUL character", r->name, k);
        r->mkey[i] = k;
        r->mval[i] = v;
    }
    r->nmeta = n;
    return GM_OK;
}

/* Validates r->buf (already owned by r). */
static gm_status parse_file(gm_st_reader *r) {
    if (r->len < 8)
        return gm_error(GM_ERR_FORMAT, "%s: truncated: %zu bytes, the 8-byte header length is missing", r->name, r->len);
    uint64_t hlen = gm_load_le64(r->buf);
    if (hlen > r->len - 8)
        return gm_error(GM_ERR_FORMAT, "%s: header length %llu exceeds the %zu bytes after it (truncated or not a safetensors file)",
                        r->name, (unsigned long long)hlen, r->len - 8);
    if (hlen > GM_ST_MAX_HEADER)
        return gm_error(GM_ERR_FORMAT, "%s: header length %llu exceeds the 100 MB limit", r->name, (unsigned long long)hlen);
    if (hlen < 2 || r->buf[8] != '{')
        return gm_error(GM_ERR_FORMAT, "%s: header does not start with '{'", r->name);
    r->data = r->buf + 8 + hlen;
    r->data_len = (uint64_t)(r->len - 8 - hlen);
    int64_t max_nodes = (int64_t)(hlen / 4) + 64;
    if (max_nodes > GM_JSON_DEFAULT_MAX_NODES) max_nodes = GM_JSON_DEFAULT_MAX_NODES;
    char jname[300];
    snprintf(jname, sizeof jname, "%s: header", r->name);
    gm_status st = gm_json_parse((const char *)r->buf + 8, (size_t)hlen, jname, max_nodes, &r->doc);
    if (st != GM_OK) return st;
    const gm_json *root = gm_json_root(r->doc);
    if (gm_json_typeof(root) != GM_JSON_OBJECT) return gm_error(GM_ERR_FORMAT, "%s: header is not a JSON object", r->name);
    int64_t nm = gm_json_len(root);
    r->entries = malloc((size_t)(nm ? nm : 1) * sizeof *r->entries);
    r->by_name = malloc((size_t)(nm ? nm : 1) * sizeof *r->by_name);
    if (!r->entries || !r->by_name) return gm_error(GM_ERR_NOMEM, "%s: out of memory", r->name);
    for (int64_t i = 0; i < nm; i++) {
        const gm_json *m = gm_json_at(root, i);
        size_t kl;
        const char *k = gm_json_key(m, &kl);
        if (strcmp(k, "__metadata__") == 0 && kl == 12) {
            st = parse_metadata(r, m);
        } else {
            st = parse_entry(r, k, kl, m, &r->entries[r->n]);
            if (st == GM_OK) r->n++;
        }
        if (st != GM_OK) return st;
    }
    qsort(r->entries, (size_t)r->n, sizeof *r->entries, cmp_offset);
    uint64_t expect = 0;
    for (int64_t i = 0; i < r->n; i++) {
        const gm_st_info *e = &r->entries[i];
        if (e->offset < expect)
            return gm_error(GM_ERR_FORMAT, "%s: tensor '%s' (bytes %llu..%llu) overlaps tensor '%s'", r->name, e->name,
                            (unsigned long long)e->offset, (unsigned long long)(e->offset + e->nbytes),
                            r->entries[i - 1].name);
        if (e->offset > expect)
            return gm_error(GM_ERR_FORMAT, "%s: gap in the data buffer: bytes %llu..%llu before tensor '%s' belong to no tensor",
                            r->name, (unsigned long long)expect, (unsigned long long)e->offset, e->name);
        expect = e->offset + e->nbytes;
    }
    if (expect != r->data_len)
        return gm_error(GM_ERR_FORMAT, "%s: %llu trailing bytes after the last tensor (data buffer %llu bytes)", r->name,
                        (unsigned long long)(r->data_len - expect), (unsigned long long)r->data_len);
    for (int64_t i = 0; i < r->n; i++) r->by_name[i] = &r->entries[i];
    qsort(r->by_name, (size_t)r->n, sizeof *r->by_name, cmp_name);
    return GM_OK;
}

/* Takes ownership of buf (malloc'd, len bytes). */
static gm_status open_owned(uint8_t *buf, size_t len, const char *name, gm_st_reader **out) {
    gm_st_reader *r = calloc(1, sizeof *r);
    if (!r) {
        free(buf);
        return gm_error(GM_ERR_NOMEM, "%s: out of memory", name);
    }
    r->buf = buf;
    r->len = len;
    snprintf(r->name, sizeof r->name, "%s", name);
    gm_status st = parse_file(r);
    if (st != GM_OK) {
        gm_st_close(r);
        return st;
    }
    *out = r;
    return GM_OK;
}

gm_status gm_st_open(const char *path, gm_st_reader **out) {
    if (!out) return gm_error(GM_ERR_ARG, "gm_st_open: NULL output");
    *out = NULL;
    if (!path) return gm_error(GM_ERR_ARG, "gm_st_open: NULL path");
    uint8_t *buf;
    size_t len;
    gm_status st = gm_io_read_file(path, SIZE_MAX - 1, &buf, &len);
    if (st != GM_OK) return st;
    return open_owned(buf, len, path, out);
}

gm_status gm_st_open_mem(const void *data, size_t len, const char *name, gm_st_reader **out) {
    if (!out) return gm_error(GM_ERR_ARG, "gm_st_open_mem: NULL output");
    *out = NULL;
    if (!name) name = "<memory>";
    if (!data && len) return gm_error(GM_ERR_ARG, "%s: NULL data", name);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return gm_error(GM_ERR_NOMEM, "%s: cannot allocate %zu bytes", name, len);
    if (len) memcpy(buf, data, len);
    return open_owned(buf, len, name, out);
}

int64_t gm_st_count(const gm_st_reader *r) { return r ? r->n : 0; }

const gm_st_info *gm_st_entry(const gm_st_reader *r, int64_t i) {
    return r && i >= 0 && i < r->n ? &r->entries[i] : NULL;
}

const gm_st_info *gm_st_find(const gm_st_reader *r, const char *name) {
    if (!r || !name || r->n == 0) return NULL;
    gm_st_info probe;
    probe.name = name;
    const gm_st_info *pp = &probe;
    const gm_st_info **hit = bsearch(&pp, r->by_name, (size_t)r->n, sizeof *r->by_name, cmp_name);
    return hit ? *hit : NULL;
}

const char *gm_st_name(const gm_st_reader *r) { return r ? r->name : ""; }

const char *gm_st_metadata(const gm_st_reader *r, const char *key) {
    if (!r || !key) return NULL;
    for (int64_t i = 0; i < r->nmeta; i++)
        if (strcmp(r->mkey[i], key) == 0) return r->mval[i];
    return NULL;
}

int64_t gm_st_metadata_count(const gm_st_reader *r) { return r ? r->nmeta : 0; }
const char *gm_st_metadata_key(const gm_st_reader *r, int64_t i) { return r && i >= 0 && i < r->nmeta ? r->mkey[i] : NULL; }
const char *gm_st_metadata_value(const gm_st_reader *r, int64_t i) { return r && i >= 0 && i < r->nmeta ? r->mval[i] : NULL; }

/* ---- conversions ---- */

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                          /* zero / subnormal */
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), (int)exp - 25);
    return sign ? -v : v;
}

static float e4m3_to_float(uint8_t b) { /* float8_e4m3fn: bias 7, no inf, S.1111.111 = NaN */
    int sign = b >> 7, exp = (b >> 3) & 0xF, man = b & 7;
    float v;
    if (exp == 15 && man == 7) return NAN;
    if (exp == 0) v = ldexpf((float)man, -9);
    else v = ldexpf((float)(man | 8), exp - 10);
    return sign ? -v : v;
}

static void convert_f32(const gm_st_info *e, float *dst) {
    const uint8_t *p = e->data;
    for (int64_t i = 0; i < e->numel; i++) {
        float v;
        switch (e->dtype) {
        case GM_ST_BOOL: v = p[i] != 0; break;
        case GM_ST_U8: v = p[i]; break;
        case GM_ST_I8: v = (int8_t)p[i]; break;
        case GM_ST_F8_E5M2: v = half_to_float((uint16_t)(p[i] << 8)); break;
        case GM_ST_F8_E4M3: v = e4m3_to_float(p[i]); break;
        case GM_ST_I16: { int16_t x; memcpy(&x, p + 2 * i, 2); v = x; break; }
        case GM_ST_U16: { uint16_t x; memcpy(&x, p + 2 * i, 2); v = x; break; }
        case GM_ST_F16: { uint16_t x; memcpy(&x, p + 2 * i, 2); v = half_to_float(x); break; }
        case GM_ST_BF16: { uint16_t x; memcpy(&x, p + 2 * i, 2); uint32_t u = (uint32_t)x << 16; memcpy(&v, &u, 4); break; }
        case GM_ST_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); v = (float)x; break; }
        case GM_ST_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); v = (float)x; break; }
        case GM_ST_F32: memcpy(&v, p + 4 * i, 4); break;
        case GM_ST_F64: { double x; memcpy(&x, p + 8 * i, 8); v = (float)x; break; }
        case GM_ST_I64: { int64_t x; memcpy(&x, p + 8 * i, 8); v = (float)x; break; }
        case GM_ST_U64: { uint64_t x; memcpy(&x, p + 8 * i, 8); v = (float)x; break; }
        default: v = 0; break;
        }
        dst[i] = v;
    }
}

static void shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < n) snprintf(buf + k, n - k, ")");
}

static gm_status lookup(const gm_st_reader *r, const char *name, const gm_st_info **e) {
    if (!r || !name) return gm_error(GM_ERR_ARG, "safetensors read: NULL reader or name");
    *e = gm_st_find(r, name);
    if (!*e) return gm_error(GM_ERR_NOTFOUND, "%s: no tensor named '%s'", r->name, name);
    return GM_OK;
}

gm_status gm_st_read_f32(const gm_st_reader *r, const char *name, int ndim, const int64_t *shape, float *dst) {
    const gm_st_info *e;
    gm_status st = lookup(r, name, &e);
    if (st != GM_OK) return st;
    if (!dst || (ndim > 0 && !shape) || ndim < 0) return gm_error(GM_ERR_ARG, "%s: tensor '%s': NULL buffer or bad shape", r->name, name);
    int same = ndim == e->ndim;
    for (int d = 0; same && d < ndim; d++) same = shape[d] == e->shape[d];
    if (!same) {
        char a[200], b[200];
        shape_str(e->ndim, e->shape, a, sizeof a);
        shape_str(ndim, shape, b, sizeof b);
        return gm_error(GM_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", r->name, name, a, b);
    }
    convert_f32(e, dst);
    return GM_OK;
}

/* Tensor `name` with exactly n elements, to be copied into dst. */
static gm_status lookup_n(const gm_st_reader *r, const char *name, int64_t n, const void *dst, const gm_st_info **out) {
    gm_status st = lookup(r, name, out);
    if (st != GM_OK) return st;
    if (!dst && n) return gm_error(GM_ERR_ARG, "%s: tensor '%s': NULL buffer", r->name, name);
    if ((*out)->numel != n)
        return gm_error(GM_ERR_SHAPE, "%s: tensor '%s' has %lld elements, expected %lld", r->name, name,
                        (long long)(*out)->numel, (long long)n);
    return GM_OK;
}

gm_status gm_st_read_f32_n(const gm_st_reader *r, const char *name, int64_t n, float *dst) {
    const gm_st_info *e;
    gm_status st = lookup_n(r, name, n, dst, &e);
    if (st != GM_OK) return st;
    convert_f32(e, dst);
    return GM_OK;
}

gm_status gm_st_read_i64_n(const gm_st_reader *r, const char *name, int64_t n, int64_t *dst) {
    const gm_st_info *e;
    gm_status st = lookup_n(r, name, n, dst, &e);
    if (st != GM_OK) return st;
    if (e->dtype == GM_ST_F8_E5M2 || e->dtype == GM_ST_F8_E4M3 || e->dtype == GM_ST_F16 || e->dtype == GM_ST_BF16 ||
        e->dtype == GM_ST_F32 || e->dtype == GM_ST_F64)
        return gm_error(GM_ERR_FORMAT, "%s: tensor '%s' has dtype %s, an integer dtype is needed", r->name, name,
                        gm_st_dtype_name(e->dtype));
    const uint8_t *p = e->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = 0;
        switch (e->dtype) {
        case GM_ST_BOOL: v = p[i] != 0; break;
        case GM_ST_U8: v = p[i]; break;
        case GM_ST_I8: v = (int8_t)p[i]; break;
        case GM_ST_I16: { int16_t x; memcpy(&x, p + 2 * i, 2); v = x; break; }
        case GM_ST_U16: { uint16_t x; memcpy(&x, p + 2 * i, 2); v = x; break; }
        case GM_ST_I32: { int32_t x; memcpy(&x, p + 4 * i, 4); v = x; break; }
        case GM_ST_U32: { uint32_t x; memcpy(&x, p + 4 * i, 4); v = x; break; }
        case GM_ST_I64: memcpy(&v, p + 8 * i, 8); break;
        case GM_ST_U64: {
            uint64_t x;
            memcpy(&x, p + 8 * i, 8);
            if (x > (uint64_t)INT64_MAX)
                return gm_error(GM_ERR_FORMAT, "%s: tensor '%s'[%lld] = %llu does not fit int64", r->name, name,
                                (long long)i, (unsigned long long)x);
            v = (int64_t)x;
            break;
        }
        default: break;
        }
        dst[i] = v;
    }
    return GM_OK;
}
