/*
 * read_amat.c — Larochelle's .amat text matrices (binarized MNIST).
 *
 * Format: one row per line, numbers separated by spaces or tabs, '\n' or
 * "\r\n" line ends. Two passes over the bytes: the first counts rows and
 * checks that every row has as many values as the first, the second parses
 * them (fast path for the single characters 0 and 1). Not here: labels (amat
 * files have none) or any guessing of the file type.
 */
#include "data/data_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_sp(uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; }

/* End of the line starting at p (position of '\n' or len). */
static size_t line_end(const uint8_t *p, size_t len, size_t i) {
    const void *nl = memchr(p + i, '\n', len - i);
    return nl ? (size_t)((const uint8_t *)nl - p) : len;
}

static int64_t count_tokens(const uint8_t *p, size_t a, size_t b) {
    int64_t k = 0;
    size_t i = a;
    while (i < b) {
        while (i < b && is_sp(p[i])) i++;
        if (i >= b) break;
        k++;
        while (i < b && !is_sp(p[i])) i++;
    }
    return k;
}

/* 1 if only whitespace / newlines remain from i. */
static int rest_blank(const uint8_t *p, size_t len, size_t i) {
    for (; i < len; i++)
        if (!is_sp(p[i]) && p[i] != '\n') return 0;
    return 1;
}

gm_status gm_data_parse_amat(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                             gm_dataset *out) {
    memset(out, 0, sizeof *out);
    int binary = opts && opts->binary;
    /* pass 1: rows and columns */
    int64_t rows = 0, d = 0, line = 0;
    for (size_t i = 0; i < len;) {
        size_t e = line_end(p, len, i);
        line++;
        int64_t k = count_tokens(p, i, e);
        if (k == 0) {
            if (rest_blank(p, len, i)) break;
            return gm_error(GM_ERR_FORMAT, "%s: line %lld is empty (blank lines are only allowed at the end)", name,
                            (long long)line);
        }
        if (rows == 0) d = k;
        else if (k != d)
            return gm_error(GM_ERR_FORMAT, "%s: line %lld has %lld values, expected %lld", name, (long long)line,
                            (long long)k, (long long)d);
        rows++;
        i = e + 1;
    }
    if (rows == 0) return gm_error(GM_ERR_FORMAT, "%s: no data rows", name);
    gm_status st = gm_dataset_alloc(out, rows, d, 0);
    if (st != GM_OK) return st;
    gm_data_set_name(out, name);
    /* pass 2: values */
    float *x = out->x;
    line = 0;
    int64_t r = 0;
    for (size_t i = 0; i < len && r < rows;) {
        size_t e = line_end(p, len, i);
        line++;
        int64_t j = 0;
        size_t q = i;
        while (q < e) {
            while (q < e && is_sp(p[q])) q++;
            if (q >= e) break;
            size_t t0 = q;
            while (q < e && !is_sp(p[q])) q++;
            double v;
            if (q - t0 == 1 && (p[t0] == '0' || p[t0] == '1')) v = p[t0] - '0';
            else if (!gm_data_parse_number((const char *)p + t0, (const char *)p + q, &v)) {
                int n = (int)(q - t0 > 32 ? 32 : q - t0);
                gm_dataset_free(out);
                return gm_error(GM_ERR_FORMAT, "%s: line %lld value %lld: '%.*s%s' is not a number", name,
                                (long long)line, (long long)(j + 1), n, (const char *)p + t0,
                                q - t0 > 32 ? "..." : "");
            } else if (!isfinite(v)) {
                gm_dataset_free(out);
                return gm_error(GM_ERR_FORMAT, "%s: line %lld value %lld is %g; values must be finite", name,
                                (long long)line, (long long)(j + 1), v);
            } else if (binary && v != 0.0 && v != 1.0) {
                gm_dataset_free(out);
                return gm_error(GM_ERR_FORMAT, "%s: line %lld value %lld is %g, expected 0 or 1", name,
                                (long long)line, (long long)(j + 1), v);
            } else if (fabs(v) > 3.4028234663852886e38) {
                gm_dataset_free(out);
                return gm_error(GM_ERR_FORMAT, "%s: line %lld value %lld (%g) does not fit in float32", name,
                                (long long)line, (long long)(j + 1), v);
            }
            x[r * d + j] = (float)v;
            j++;
        }
        if (j > 0) r++;
        i = e + 1;
    }
    return GM_OK;
}

gm_status gm_read_amat_mem(const void *buf, size_t len, const char *name, const gm_read_opts *opts, gm_dataset *out) {
    return gm_data_read_mem_with(gm_data_parse_amat, buf, len, name, gm_data_max_bytes(opts), opts, out);
}

gm_status gm_read_amat(const char *path, const gm_read_opts *opts, gm_dataset *out) {
    return gm_data_read_file_with(gm_data_parse_amat, path, gm_data_max_bytes(opts), opts, out);
}
