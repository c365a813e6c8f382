/*
 * read_npy.c — NumPy .npy arrays (format 1.0 / 2.0 / 3.0) and splits built
 * from them.
 *
 * Layout: "\x93NUMPY", major, minor, header length (uint16 LE for 1.0,
 * uint32 LE for 2.0 / 3.0), the header (a Python dict literal padded with
 * spaces and ending in '\n'), then the raw data. The header is parsed
 * strictly: exactly the keys 'descr' (a string), 'fortran_order' (True /
 * False) and 'shape' (a tuple of non-negative ints; a 1-tuple needs its
 * trailing comma), each once, in any order. Not here: structured dtypes,
 * big-endian data, Fortran order, object arrays, .npz archives, pickles.
 */
#include "data/data_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_ROW ((int64_t)1 << 31) /* values per row (D) of a dataset */

typedef struct { const uint8_t *p; size_t i, n; const char *name; } hparse;

static void skip_ws(hparse *h) {
    while (h->i < h->n && (h->p[h->i] == ' ' || h->p[h->i] == '\t' || h->p[h->i] == '\n' || h->p[h->i] == '\r')) h->i++;
}

static int peek(hparse *h) { return h->i < h->n ? h->p[h->i] : -1; }

static gm_status herr(hparse *h, const char *what) {
    return gm_error(GM_ERR_FORMAT, "%s: .npy header: %s at offset %zu", h->name, what, h->i);
}

/* 'text' or "text", no escapes; copied into out (cap bytes). */
static gm_status parse_str(hparse *h, char *out, size_t cap) {
    int q = peek(h);
    if (q != '\'' && q != '"') return herr(h, "expected a quoted string");
    h->i++;
    size_t k = 0;
    while (h->i < h->n && h->p[h->i] != q) {
        uint8_t c = h->p[h->i];
        if (c == '\\' || c < 0x20 || c > 0x7e) return herr(h, "unsupported character in string");
        if (k + 1 >= cap) return herr(h, "string too long");
        out[k++] = (char)c;
        h->i++;
    }
    if (h->i >= h->n) return herr(h, "unterminated string");
    h->i++;
    out[k] = '\0';
    return GM_OK;
}

static int match_word(hparse *h, const char *w) {
    size_t n = strlen(w);
    if (h->n - h->i < n || memcmp(h->p + h->i, w, n) != 0) return 0;
    h->i += n;
    return 1;
}

/* (d0, d1, ...) with 0..4 dims. */
static gm_status parse_shape(hparse *h, int *ndim, int64_t *shape) {
    if (peek(h) != '(') return herr(h, "'shape' must be a tuple");
    h->i++;
    int nd = 0, trailing_comma = 0;
    skip_ws(h);
    while (peek(h) != ')') {
        if (peek(h) < '0' || peek(h) > '9') return herr(h, "expected a non-negative integer in 'shape'");
        int64_t v = 0;
        int digits = 0;
        while (peek(h) >= '0' && peek(h) <= '9') {
            if (++digits > 15) return herr(h, "dimension too large in 'shape'");
            v = v * 10 + (h->p[h->i] - '0');
            h->i++;
        }
        if (peek(h) == 'L') h->i++; /* Python 2 long literal */
        if (nd >= 4) return gm_error(GM_ERR_FORMAT, "%s: .npy shape has more than 4 dims (not supported)", h->name);
        shape[nd++] = v;
        skip_ws(h);
        trailing_comma = 0;
        if (peek(h) == ',') { h->i++; trailing_comma = 1; skip_ws(h); }
        else if (peek(h) != ')') return herr(h, "expected ',' or ')' in 'shape'");
    }
    if (nd == 1 && !trailing_comma) return herr(h, "'shape' (n) is not a tuple; a 1-tuple is written (n,)");
    h->i++;
    *ndim = nd;
    return GM_OK;
}

typedef struct { char descr[32]; int fortran; int ndim; int64_t shape[4]; } npy_header;

static gm_status parse_header(hparse *h, npy_header *hd) {
    int seen_descr = 0, seen_fo = 0, seen_shape = 0;
    skip_ws(h);
    if (peek(h) != '{') return herr(h, "expected '{'");
    h->i++;
    for (;;) {
        skip_ws(h);
        if (peek(h) == '}') { h->i++; break; }
        char key[32];
        gm_status st = parse_str(h, key, sizeof key);
        if (st != GM_OK) return st;
        skip_ws(h);
        if (peek(h) != ':') return herr(h, "expected ':'");
        h->i++;
        skip_ws(h);
        if (!strcmp(key, "descr")) {
            if (seen_descr++) return herr(h, "duplicate key 'descr'");
            if (peek(h) != '\'' && peek(h) != '"')
                return herr(h, "'descr' must be a string (structured dtypes are not supported)");
            if ((st = parse_str(h, hd->descr, sizeof hd->descr)) != GM_OK) return st;
        } else if (!strcmp(key, "fortran_order")) {
            if (seen_fo++) return herr(h, "duplicate key 'fortran_order'");
            if (match_word(h, "True")) hd->fortran = 1;
            else if (match_word(h, "False")) hd->fortran = 0;
            else return herr(h, "'fortran_order' must be True or False");
        } else if (!strcmp(key, "shape")) {
            if (seen_shape++) return herr(h, "duplicate key 'shape'");
            if ((st = parse_shape(h, &hd->ndim, hd->shape)) != GM_OK) return st;
        } else {
            char msg[80];
            snprintf(msg, sizeof msg, "unknown key '%s'", key);
            return herr(h, msg);
        }
        skip_ws(h);
        if (peek(h) == ',') { h->i++; continue; }
        if (peek(h) == '}') { h->i++; break; }
        return herr(h, "expected ',' or '}'");
    }
    if (!seen_descr || !seen_fo || !seen_shape)
        return gm_error(GM_ERR_FORMAT, "%s: .npy header: missing key '%s'", h->name,
                        !seen_descr ? "descr" : !seen_fo ? "fortran_order" : "shape");
    /* only padding may follow, and the header ends with '\n' */
    for (size_t i = h->i; i < h->n; i++)
        if (h->p[i] != ' ' && h->p[i] != '\n' && h->p[i] != '\t' && h->p[i] != '\r') {
            h->i = i;
            return herr(h, "unexpected text after the dict");
        }
    if (h->n == 0 || h->p[h->n - 1] != '\n')
        return gm_error(GM_ERR_FORMAT, "%s: .npy header does not end with a newline", h->name);
    return GM_OK;
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--) v = (v << 8) | p[k];
    return v;
}

gm_status gm_data_parse_npy(const uint8_t *p, size_t len, const char *name, gm_npy *out) {
    memset(out, 0, sizeof *out);
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (len < 10 || memcmp(p, magic, 6) != 0)
        return gm_error(GM_ERR_FORMAT, "%s: not a .npy file (bad magic)", name);
    int major = p[6], minor = p[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return gm_error(GM_ERR_FORMAT, "%s: unsupported .npy version %d.%d (1.0, 2.0, 3.0 are)", name, major, minor);
    size_t pre = major == 1 ? 10 : 12;
    if (len < pre) return gm_error(GM_ERR_FORMAT, "%s: truncated .npy preamble", name);
    uint64_t hlen = le(p + 8, major == 1 ? 2 : 4);
    if (hlen > len - pre)
        return gm_error(GM_ERR_FORMAT, "%s: truncated: header length %llu but only %zu bytes follow", name,
                        (unsigned long long)hlen, len - pre);
    hparse h = {p + pre, 0, (size_t)hlen, name};
    npy_header hd;
    memset(&hd, 0, sizeof hd);
    gm_status st = parse_header(&h, &hd);
    if (st != GM_OK) return st;
    if (hd.fortran) return gm_error(GM_ERR_FORMAT, "%s: fortran_order True is not supported (C order only)", name);
    int itemsize;
    if (!strcmp(hd.descr, "<f4")) { out->dtype = GM_NPY_F4; itemsize = 4; }
    else if (!strcmp(hd.descr, "<f8")) { out->dtype = GM_NPY_F8; itemsize = 8; }
    else if (!strcmp(hd.descr, "|u1") || !strcmp(hd.descr, "<u1")) { out->dtype = GM_NPY_U1; itemsize = 1; }
    else if (!strcmp(hd.descr, "<i8")) { out->dtype = GM_NPY_I8; itemsize = 8; }
    else
        return gm_error(GM_ERR_FORMAT, "%s: dtype '%s' is not supported (supported: <f4 <f8 |u1 <i8)", name, hd.descr);
    int64_t numel = 1;
    char shp[128];
    size_t sl = 0;
    shp[sl++] = '(';
    shp[sl] = 0;
    for (int k = 0; k < hd.ndim; k++) {
        int64_t v = hd.shape[k];
        if (v != 0 && numel > (INT64_MAX / 8) / v)
            return gm_error(GM_ERR_FORMAT, "%s: .npy shape is too large", name);
        numel *= v;
        sl += (size_t)snprintf(shp + sl, sizeof shp - sl, "%s%lld", k ? ", " : "", (long long)v);
    }
    snprintf(shp + sl, sizeof shp - sl, hd.ndim == 1 ? ",)" : ")");
    size_t off = pre + (size_t)hlen, have = len - off;
    uint64_t need = (uint64_t)numel * (uint64_t)itemsize;
    if (have != need)
        return gm_error(GM_ERR_FORMAT, "%s: data is %zu bytes, but shape %s of %s needs %llu (%s)", name, have, shp,
                        hd.descr, (unsigned long long)need, have < need ? "truncated" : "trailing data");
    out->ndim = hd.ndim;
    for (int k = 0; k < 4; k++) out->shape[k] = k < hd.ndim ? hd.shape[k] : 1;
    out->numel = numel;
    size_t cnt = numel > 0 ? (size_t)numel : 1;
    out->f = malloc(cnt * sizeof(float));
    if (out->dtype == GM_NPY_U1 || out->dtype == GM_NPY_I8) out->i = malloc(cnt * sizeof(int64_t));
    if (!out->f || ((out->dtype == GM_NPY_U1 || out->dtype == GM_NPY_I8) && !out->i)) {
        gm_npy_free(out);
        return gm_error(GM_ERR_NOMEM, "%s: out of memory for %lld elements", name, (long long)numel);
    }
    const uint8_t *d = p + off;
    for (int64_t k = 0; k < numel; k++) {
        switch (out->dtype) {
        case GM_NPY_F4: { uint32_t u = (uint32_t)le(d + 4 * k, 4); float f; memcpy(&f, &u, 4); out->f[k] = f; break; }
        case GM_NPY_F8: { uint64_t u = le(d + 8 * k, 8); double f; memcpy(&f, &u, 8); out->f[k] = (float)f; break; }
        case GM_NPY_U1: out->f[k] = d[k]; out->i[k] = d[k]; break;
        case GM_NPY_I8: { int64_t v = (int64_t)le(d + 8 * k, 8); out->i[k] = v; out->f[k] = (float)v; break; }
        }
    }
    return GM_OK;
}

void gm_npy_free(gm_npy *a) {
    if (!a) return;
    free(a->f);
    free(a->i);
    memset(a, 0, sizeof *a);
}

gm_status gm_read_npy_mem(const void *buf, size_t len, const char *name, gm_npy *out) {
    const uint8_t *p;
    size_t n;
    int owned;
    memset(out, 0, sizeof *out);
    gm_status st = gm_data_unpack_mem(buf, len, name, GM_DATA_MAX_BYTES, &p, &n, &owned);
    if (st != GM_OK) return st;
    st = gm_data_parse_npy(p, n, name, out);
    if (owned) free((void *)p);
    return st;
}

gm_status gm_read_npy(const char *path, gm_npy *out) {
    uint8_t *p;
    size_t n;
    memset(out, 0, sizeof *out);
    gm_status st = gm_data_load_file(path, GM_DATA_MAX_BYTES, &p, &n);
    if (st != GM_OK) return st;
    st = gm_data_parse_npy(p, n, gm_data_basename(path), out);
    free(p);
    return st;
}

gm_status gm_dataset_from_npy(const char *x_path, const char *y_path, const gm_read_opts *opts, gm_dataset *out) {
    memset(out, 0, sizeof *out);
    const char *xb = gm_data_basename(x_path);
    gm_npy a;
    gm_status st = gm_read_npy(x_path, &a);
    if (st != GM_OK) return st;
    if (a.ndim < 1) { gm_npy_free(&a); return gm_error(GM_ERR_FORMAT, "%s: a 0-D array is not a dataset", xb); }
    /* d = product of the trailing dims, checked: with n = 0 they are not
     * bounded by the data size (numel is 0 whatever they are) */
    int64_t n = a.shape[0], d = 1;
    for (int k = 1; k < a.ndim && d > 0; k++) {
        if (a.shape[k] > 0 && d > NPY_MAX_ROW / a.shape[k]) {
            gm_npy_free(&a);
            return gm_error(GM_ERR_FORMAT, "%s: rows of more than %lld values are not supported", xb,
                            (long long)NPY_MAX_ROW);
        }
        d *= a.shape[k];
    }
    if (d < 1) { gm_npy_free(&a); return gm_error(GM_ERR_FORMAT, "%s: rows have no values", xb); }
    if (a.ndim >= 3 && (a.shape[a.ndim - 1] > 65535 || a.shape[a.ndim - 2] > 65535 || a.shape[1] > 65535)) {
        gm_npy_free(&a);
        return gm_error(GM_ERR_FORMAT, "%s: image dims too large", xb);
    }
    if (a.dtype == GM_NPY_U1 && !(opts && opts->raw))
        for (int64_t k = 0; k < a.numel; k++) a.f[k] *= 1.0f / 255.0f;
    out->n = n;
    out->d = d;
    out->x = a.f;
    a.f = NULL;
    if (a.ndim == 3) { out->c = 1; out->h = (int)a.shape[1]; out->w = (int)a.shape[2]; }
    if (a.ndim == 4) { out->c = (int)a.shape[1]; out->h = (int)a.shape[2]; out->w = (int)a.shape[3]; }
    gm_npy_free(&a);
    gm_data_set_name(out, xb);
    if (!y_path) return GM_OK;
    gm_npy b;
    if ((st = gm_read_npy(y_path, &b)) != GM_OK) { gm_dataset_free(out); return st; }
    const char *yb = gm_data_basename(y_path);
    if (!b.i || b.ndim != 1 || b.shape[0] != n) {
        st = gm_error(GM_ERR_FORMAT, "%s: labels must be a 1-D integer array (|u1 or <i8) of length %lld", yb,
                      (long long)n);
        gm_npy_free(&b);
        gm_dataset_free(out);
        return st;
    }
    out->y = b.i;
    b.i = NULL;
    gm_npy_free(&b);
    return GM_OK;
}
