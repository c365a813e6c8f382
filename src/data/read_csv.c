/*
 * read_csv.c — comma-separated numbers, with an optional header row and an
 * optional integer label column.
 *
 * Rules: fields are separated by ',', may be padded with spaces/tabs and may
 * be wrapped in double quotes (no embedded commas or escaped quotes); line
 * ends are '\n' or "\r\n"; blank lines are allowed only at the end. The first
 * row is a header when opts->csv_header is 1, or (auto) when any of its fields
 * is not a number. Every row must have the same number of columns; every value
 * must be a finite number. Not here: other delimiters, missing-value handling.
 */
#include "data/data_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { const uint8_t *p; size_t a, b; } span;

static size_t eol(const uint8_t *p, size_t len, size_t i) {
    const void *nl = memchr(p + i, '\n', len - i);
    return nl ? (size_t)((const uint8_t *)nl - p) : len;
}

static int blank(const uint8_t *p, size_t a, size_t b) {
    for (size_t i = a; i < b; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

/* Trims spaces/tabs/CR and one pair of surrounding double quotes. */
static void trim(const uint8_t *p, size_t *a, size_t *b) {
    while (*a < *b && (p[*a] == ' ' || p[*a] == '\t')) (*a)++;
    while (*b > *a && (p[*b - 1] == ' ' || p[*b - 1] == '\t' || p[*b - 1] == '\r')) (*b)--;
    if (*b - *a >= 2 && p[*a] == '"' && p[*b - 1] == '"') { (*a)++; (*b)--; }
}

/* 1 if only whitespace and newlines remain from i. */
static int rest_blank(const uint8_t *p, size_t len, size_t i) {
    for (; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n') return 0;
    return 1;
}

static int64_t count_fields(const uint8_t *p, size_t a, size_t b) {
    int64_t k = 1;
    for (size_t i = a; i < b; i++) k += p[i] == ',';
    return k;
}

/* 1 if every field of the line [a, b) is a number. */
static int all_numeric(const uint8_t *p, size_t a, size_t b) {
    size_t s = a;
    for (size_t i = a; i <= b; i++) {
        if (i == b || p[i] == ',') {
            size_t fa = s, fb = i;
            trim(p, &fa, &fb);
            double v;
            if (!gm_data_parse_number((const char *)p + fa, (const char *)p + fb, &v)) return 0;
            s = i + 1;
        }
    }
    return 1;
}

static gm_status bad_value(const char *name, int64_t line, int64_t col, const uint8_t *p, size_t fa, size_t fb,
                           const char *why) {
    int n = (int)(fb - fa > 32 ? 32 : fb - fa);
    return gm_error(GM_ERR_FORMAT, "%s: line %lld column %lld: '%.*s%s' %s", name, (long long)line, (long long)col, n,
                    (const char *)p + fa, fb - fa > 32 ? "..." : "", why);
}

gm_status gm_data_parse_csv(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                            gm_dataset *out) {
    memset(out, 0, sizeof *out);
    int hdr_opt = opts ? opts->csv_header : 0;
    int64_t label_col = opts ? opts->csv_label_col : 0;
    int binary = opts && opts->binary;
    /* pass 1: header, rows, columns */
    int64_t rows = 0, cols = 0, line = 0, first_data_line = 0;
    int has_header = 0;
    size_t data_start = 0;
    for (size_t i = 0; i < len;) {
        size_t e = eol(p, len, i);
        line++;
        if (blank(p, i, e)) {
            if (rest_blank(p, len, e)) break;
            return gm_error(GM_ERR_FORMAT, "%s: line %lld is empty (blank lines are only allowed at the end)", name,
                            (long long)line);
        }
        int64_t k = count_fields(p, i, e);
        if (cols == 0) {
            cols = k;
            has_header = hdr_opt == 1 || (hdr_opt == 0 && !all_numeric(p, i, e));
            if (has_header) { data_start = e + 1; i = e + 1; continue; }
        } else if (k != cols) {
            return gm_error(GM_ERR_FORMAT, "%s: line %lld has %lld columns, expected %lld", name, (long long)line,
                            (long long)k, (long long)cols);
        }
        if (rows == 0) first_data_line = line;
        rows++;
        i = e + 1;
    }
    if (rows == 0) return gm_error(GM_ERR_FORMAT, "%s: no data rows", name);
    if (label_col < 0 || label_col > cols)
        return gm_error(GM_ERR_ARG, "%s: label column %lld is outside 1..%lld", name, (long long)label_col,
                        (long long)cols);
    int64_t d = cols - (label_col > 0);
    if (d < 1) return gm_error(GM_ERR_FORMAT, "%s: no value columns besides the label column", name);
    gm_status st = gm_dataset_alloc(out, rows, d, label_col > 0);
    if (st != GM_OK) return st;
    gm_data_set_name(out, name);
    /* pass 2: values */
    line = first_data_line - 1;
    int64_t r = 0;
    for (size_t i = data_start; i < len && r < rows;) {
        size_t e = eol(p, len, i);
        line++;
        if (blank(p, i, e)) { i = e + 1; continue; }
        int64_t col = 0, j = 0;
        size_t s = i;
        for (size_t q = i; q <= e; q++) {
            if (q != e && p[q] != ',') continue;
            size_t fa = s, fb = q;
            s = q + 1;
            col++;
            trim(p, &fa, &fb);
            double v;
            if (fa == fb) {
                st = gm_error(GM_ERR_FORMAT, "%s: line %lld column %lld is empty", name, (long long)line,
                              (long long)col);
            } else if (!gm_data_parse_number((const char *)p + fa, (const char *)p + fb, &v)) {
                st = bad_value(name, line, col, p, fa, fb, "is not a number");
            } else if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) {
                st = bad_value(name, line, col, p, fa, fb, "is not finite in float32; values must be finite");
            } else if (col == label_col) {
                if (v != floor(v) || fabs(v) > 9007199254740992.0) /* 2^53 */
                    st = bad_value(name, line, col, p, fa, fb, "is not an integer label");
                else
                    out->y[r] = (int64_t)v;
            } else if (binary && v != 0.0 && v != 1.0) {
                st = bad_value(name, line, col, p, fa, fb, "is not 0 or 1");
            } else {
                out->x[r * d + j++] = (float)v;
            }
            if (st != GM_OK) { gm_dataset_free(out); return st; }
        }
        r++;
        i = e + 1;
    }
    return GM_OK;
}

gm_status gm_read_csv_mem(const void *buf, size_t len, const char *name, const gm_read_opts *opts, gm_dataset *out) {
    return gm_data_read_mem_with(gm_data_parse_csv, buf, len, name, gm_data_max_bytes(opts), opts, out);
}

gm_status gm_read_csv(const char *path, const gm_read_opts *opts, gm_dataset *out) {
    return gm_data_read_file_with(gm_data_parse_csv, path, gm_data_max_bytes(opts), opts, out);
}
