/*
 * json_write.c — the JSON writer of genmod/json.h: compact text in a growing
 * buffer, commas and escapes handled here so callers cannot produce invalid
 * JSON. Not a pretty-printer.
 */
#include "genmod/json.h"
#include "io/io_internal.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wfail(gm_json_writer *w, gm_status st, const char *what) {
    if (w->st == GM_OK) w->st = gm_error(st, "JSON writer: %s", what);
}

static void put(gm_json_writer *w, const char *s, size_t n) {
    if (w->st != GM_OK) return;
    if (w->len + n + 1 > w->cap) {
        size_t nc = w->cap ? w->cap : 256;
        while (nc < w->len + n + 1) {
            if (nc > SIZE_MAX / 2) { wfail(w, GM_ERR_NOMEM, "output too large"); return; }
            nc *= 2;
        }
        char *b = realloc(w->buf, nc);
        if (!b) { wfail(w, GM_ERR_NOMEM, "out of memory"); return; }
        w->buf = b;
        w->cap = nc;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

void gm_jw_init(gm_json_writer *w) {
    memset(w, 0, sizeof *w);
    w->st = GM_OK;
}

/* Bookkeeping before any value: separators and misuse checks. */
static int begin_value(gm_json_writer *w) {
    if (w->st != GM_OK) return 0;
    if (w->done) { wfail(w, GM_ERR_ARG, "a second top-level value"); return 0; }
    if (w->depth > 0 && w->is_obj[w->depth]) {
        if (!w->want_value) { wfail(w, GM_ERR_ARG, "a value inside an object needs a key first"); return 0; }
        w->want_value = 0;
    } else if (w->depth > 0) {
        if (w->nonempty[w->depth]) put(w, ",", 1);
        w->nonempty[w->depth] = 1;
    }
    return 1;
}

static void end_scalar(gm_json_writer *w) {
    if (w->depth == 0) w->done = 1;
}

static void open_container(gm_json_writer *w, int is_obj) {
    if (!begin_value(w)) return;
    if (w->depth >= GM_JSON_MAX_DEPTH) { wfail(w, GM_ERR_ARG, "nesting deeper than 64 levels"); return; }
    w->depth++;
    w->is_obj[w->depth] = (unsigned char)is_obj;
    w->nonempty[w->depth] = 0;
    put(w, is_obj ? "{" : "[", 1);
}

static void close_container(gm_json_writer *w, int is_obj) {
    if (w->st != GM_OK) return;
    if (w->depth == 0 || w->is_obj[w->depth] != is_obj || w->want_value) {
        wfail(w, GM_ERR_ARG, is_obj ? "end_object without a matching open object" : "end_array without a matching open array");
        return;
    }
    w->depth--;
    put(w, is_obj ? "}" : "]", 1);
    end_scalar(w);
}

void gm_jw_begin_object(gm_json_writer *w) { open_container(w, 1); }
void gm_jw_end_object(gm_json_writer *w) { close_container(w, 1); }
void gm_jw_begin_array(gm_json_writer *w) { open_container(w, 0); }
void gm_jw_end_array(gm_json_writer *w) { close_container(w, 0); }

static void put_escaped(gm_json_writer *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    put(w, "\"", 1);
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n && w->st == GM_OK;) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char ubuf[8];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) { snprintf(ubuf, sizeof ubuf, "\\u%04x", c); esc = ubuf; }
        if (esc) {
            put(w, s + run, i - run);
            put(w, esc, strlen(esc));
            i++;
            run = i;
            continue;
        }
        int k = gm_utf8_seq_len(u + i, n - i);
        if (!k) { wfail(w, GM_ERR_ARG, "string is not valid UTF-8"); return; }
        i += (size_t)k;
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void gm_jw_key(gm_json_writer *w, const char *key) {
    if (w->st != GM_OK) return;
    if (!key) { wfail(w, GM_ERR_ARG, "NULL key"); return; }
    if (w->depth == 0 || !w->is_obj[w->depth] || w->want_value) {
        wfail(w, GM_ERR_ARG, "a key outside an object or where a value is due");
        return;
    }
    if (w->nonempty[w->depth]) put(w, ",", 1);
    w->nonempty[w->depth] = 1;
    put_escaped(w, key, strlen(key));
    put(w, ":", 1);
    w->want_value = 1;
}

void gm_jw_string_n(gm_json_writer *w, const char *s, size_t n) {
    if (!s && n) { wfail(w, GM_ERR_ARG, "NULL string"); return; }
    if (!begin_value(w)) return;
    put_escaped(w, s ? s : "", n);
    end_scalar(w);
}

void gm_jw_string(gm_json_writer *w, const char *s) {
    if (!s) { wfail(w, GM_ERR_ARG, "NULL string"); return; }
    gm_jw_string_n(w, s, strlen(s));
}

void gm_jw_number(gm_json_writer *w, double v) {
    if (!isfinite(v)) { wfail(w, GM_ERR_ARG, "NaN or Inf cannot be written as JSON"); return; }
    if (!begin_value(w)) return;
    char buf[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", v); /* -0.0 prints "-0", valid JSON that reads back as -0.0 */
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    put(w, buf, strlen(buf));
    end_scalar(w);
}

void gm_jw_int(gm_json_writer *w, int64_t v) {
    if (!begin_value(w)) return;
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    put(w, buf, strlen(buf));
    end_scalar(w);
}

void gm_jw_bool(gm_json_writer *w, int b) {
    if (!begin_value(w)) return;
    put(w, b ? "true" : "false", b ? 4 : 5);
    end_scalar(w);
}

void gm_jw_null(gm_json_writer *w) {
    if (!begin_value(w)) return;
    put(w, "null", 4);
    end_scalar(w);
}

void gm_jw_kv_string(gm_json_writer *w, const char *key, const char *s) { gm_jw_key(w, key); gm_jw_string(w, s); }
void gm_jw_kv_number(gm_json_writer *w, const char *key, double v) { gm_jw_key(w, key); gm_jw_number(w, v); }
void gm_jw_kv_int(gm_json_writer *w, const char *key, int64_t v) { gm_jw_key(w, key); gm_jw_int(w, v); }
void gm_jw_kv_bool(gm_json_writer *w, const char *key, int b) { gm_jw_key(w, key); gm_jw_bool(w, b); }

gm_status gm_jw_finish(gm_json_writer *w, char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    if (w->st == GM_OK && !w->done) wfail(w, GM_ERR_ARG, "the value is incomplete (open object/array or nothing written)");
    if (w->st == GM_OK && !w->buf) put(w, "", 0);
    gm_status st = w->st;
    if (st != GM_OK) {
        gm_jw_free(w);
        w->st = st;
        return st;
    }
    *out = w->buf;
    if (len) *len = w->len;
    w->buf = NULL;
    gm_jw_init(w);
    return GM_OK;
}

void gm_jw_free(gm_json_writer *w) {
    free(w->buf);
    gm_jw_init(w);
}
