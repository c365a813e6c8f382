/*
 * read_idx.c — MNIST / Fashion-MNIST idx files (LeCun's format).
 *
 * Header: 2 zero bytes, a type byte (0x08 = uint8, the only one accepted),
 * the number of dims, then each dim as a big-endian uint32; then the data,
 * row-major. Images are magic 0x00000803 (N, H, W), labels 0x00000801 (N).
 * The data must be exactly the size the dims give: fewer bytes is a truncated
 * file, more is trailing data; both are errors. Not here: other idx element
 * types (int8/int16/float...), which MNIST-style datasets do not use.
 */
#include "data/data_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid idx file is never larger than this (header + GM_IDX_MAX_ELEMS bytes), so
 * a gzip bomb stops here rather than at the general cap. */
static size_t idx_cap(const gm_read_opts *opts) {
    size_t cap = 16 + (size_t)GM_IDX_MAX_ELEMS, m = gm_data_max_bytes(opts);
    return m < cap ? m : cap;
}

static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static const char *idx_kind(uint32_t magic) {
    switch (magic) {
    case 0x00000801: return "idx uint8 1-D labels";
    case 0x00000803: return "idx uint8 3-D images";
    default: return "not an idx uint8 file";
    }
}

/* Checks the header against `want_magic` and the byte count; fills dims[]
 * and the data offset. ndim = want_magic & 0xff. */
static gm_status idx_header(const uint8_t *p, size_t len, const char *name, uint32_t want_magic, int64_t *dims,
                            size_t *data_off) {
    int ndim = (int)(want_magic & 0xff);
    if (len < 4)
        return gm_error(GM_ERR_FORMAT, "%s: too short for an idx header (%zu bytes)", name, len);
    uint32_t magic = be32(p);
    if (magic != want_magic) {
        return gm_error(GM_ERR_FORMAT, "%s: wrong magic 0x%08x (%s), expected 0x%08x (%s)", name, magic,
                        idx_kind(magic), want_magic, idx_kind(want_magic));
    }
    size_t hdr = 4 + 4 * (size_t)ndim;
    if (len < hdr)
        return gm_error(GM_ERR_FORMAT, "%s: truncated idx header (%zu bytes, need %zu)", name, len, hdr);
    int64_t total = 1;
    for (int i = 0; i < ndim; i++) {
        dims[i] = be32(p + 4 + 4 * i);
        if (dims[i] == 0) return gm_error(GM_ERR_FORMAT, "%s: idx dim %d is 0", name, i);
        if (dims[i] > GM_IDX_MAX_ELEMS || total > GM_IDX_MAX_ELEMS / dims[i])
            return gm_error(GM_ERR_FORMAT, "%s: idx dims are too large (more than %lld elements)", name,
                            (long long)GM_IDX_MAX_ELEMS);
        total *= dims[i];
    }
    size_t have = len - hdr;
    char shape[96];
    if (ndim == 3)
        snprintf(shape, sizeof shape, "%lldx%lldx%lld", (long long)dims[0], (long long)dims[1], (long long)dims[2]);
    else
        snprintf(shape, sizeof shape, "%lld", (long long)dims[0]);
    if (have < (size_t)total)
        return gm_error(GM_ERR_FORMAT, "%s: truncated: header says %s = %lld bytes of data, file has %zu", name, shape,
                        (long long)total, have);
    if (have > (size_t)total)
        return gm_error(GM_ERR_FORMAT, "%s: %zu bytes of trailing data after the %s = %lld bytes the header gives",
                        name, have - (size_t)total, shape, (long long)total);
    *data_off = hdr;
    return GM_OK;
}

gm_status gm_data_parse_idx_images(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                                   gm_dataset *out) {
    memset(out, 0, sizeof *out);
    int64_t dims[3];
    size_t off;
    gm_status st = idx_header(p, len, name, 0x00000803, dims, &off);
    if (st != GM_OK) return st;
    if (dims[1] > 65535 || dims[2] > 65535)
        return gm_error(GM_ERR_FORMAT, "%s: image size %lldx%lld is too large", name, (long long)dims[1],
                        (long long)dims[2]);
    st = gm_dataset_alloc(out, dims[0], dims[1] * dims[2], 0);
    if (st != GM_OK) return st;
    int raw = opts && opts->raw;
    const uint8_t *src = p + off;
    int64_t total = dims[0] * dims[1] * dims[2];
    float scale = raw ? 1.0f : 1.0f / 255.0f;
    for (int64_t i = 0; i < total; i++) out->x[i] = (float)src[i] * scale;
    out->c = 1;
    out->h = (int)dims[1];
    out->w = (int)dims[2];
    gm_data_set_name(out, name);
    return GM_OK;
}

gm_status gm_data_parse_idx_labels(const uint8_t *p, size_t len, const char *name, int64_t **labels, int64_t *n) {
    *labels = NULL;
    *n = 0;
    int64_t dims[1] = {0};
    size_t off;
    gm_status st = idx_header(p, len, name, 0x00000801, dims, &off);
    if (st != GM_OK) return st;
    int64_t *y = malloc((size_t)dims[0] * sizeof *y);
    if (!y) return gm_error(GM_ERR_NOMEM, "%s: out of memory for %lld labels", name, (long long)dims[0]);
    for (int64_t i = 0; i < dims[0]; i++) y[i] = p[off + (size_t)i];
    *labels = y;
    *n = dims[0];
    return GM_OK;
}

gm_status gm_read_idx_images_mem(const void *buf, size_t len, const char *name, const gm_read_opts *opts,
                                 gm_dataset *out) {
    return gm_data_read_mem_with(gm_data_parse_idx_images, buf, len, name, idx_cap(opts), opts, out);
}

gm_status gm_read_idx_labels_mem(const void *buf, size_t len, const char *name, int64_t **labels, int64_t *n) {
    const uint8_t *p;
    size_t m;
    int owned;
    *labels = NULL;
    *n = 0;
    gm_status st = gm_data_unpack_mem(buf, len, name, idx_cap(NULL), &p, &m, &owned);
    if (st != GM_OK) return st;
    st = gm_data_parse_idx_labels(p, m, name, labels, n);
    if (owned) free((void *)p);
    return st;
}

gm_status gm_read_idx_images(const char *path, const gm_read_opts *opts, gm_dataset *out) {
    return gm_data_read_file_with(gm_data_parse_idx_images, path, idx_cap(opts), opts, out);
}

gm_status gm_read_idx_labels(const char *path, int64_t **labels, int64_t *n) {
    uint8_t *p;
    size_t m;
    *labels = NULL;
    *n = 0;
    gm_status st = gm_data_load_file(path, idx_cap(NULL), &p, &m);
    if (st != GM_OK) return st;
    st = gm_data_parse_idx_labels(p, m, gm_data_basename(path), labels, n);
    free(p);
    return st;
}

gm_status gm_read_mnist(const char *images_path, const char *labels_path, const gm_read_opts *opts,
                        gm_dataset *out) {
    gm_status st = gm_read_idx_images(images_path, opts, out);
    if (st != GM_OK || !labels_path) return st;
    int64_t *y, n;
    st = gm_read_idx_labels(labels_path, &y, &n);
    if (st != GM_OK) { gm_dataset_free(out); return st; }
    if (n != out->n) {
        free(y);
        int64_t ni = out->n;
        gm_dataset_free(out);
        return gm_error(GM_ERR_FORMAT, "%s: %lld labels but %s has %lld images", gm_data_basename(labels_path),
                        (long long)n, gm_data_basename(images_path), (long long)ni);
    }
    out->y = y;
    return GM_OK;
}
