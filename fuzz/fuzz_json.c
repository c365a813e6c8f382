/*
 * fuzz_json.c — libFuzzer harness for the JSON parser and writer: parses the
 * input (bounded node count), walks every node through the public accessors,
 * writes the tree back with the JSON writer and checks that the result
 * parses to the same tree (traps on any difference).
 */
#include "genmod/json.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void emit(gm_json_writer *w, const gm_json *v) {
    int64_t iv;
    size_t n;
    switch (gm_json_typeof(v)) {
    case GM_JSON_NULL: gm_jw_null(w); break;
    case GM_JSON_BOOL: gm_jw_bool(w, gm_json_bool(v)); break;
    case GM_JSON_NUMBER:
        if (gm_json_is_int(v, &iv)) gm_jw_int(w, iv);
        else gm_jw_number(w, gm_json_num(v));
        break;
    case GM_JSON_STRING: {
        const char *s = gm_json_str(v, &n);
        gm_jw_string_n(w, s, n);
        break;
    }
    case GM_JSON_ARRAY:
        gm_jw_begin_array(w);
        for (int64_t i = 0; i < gm_json_len(v); i++) emit(w, gm_json_at(v, i));
        gm_jw_end_array(w);
        break;
    case GM_JSON_OBJECT:
        gm_jw_begin_object(w);
        for (int64_t i = 0; i < gm_json_len(v); i++) {
            const gm_json *m = gm_json_at(v, i);
            const char *k = gm_json_key(m, &n);
            if (strlen(k) != n) { gm_jw_key(w, "\x01nul"); emit(w, m); continue; } /* keys with NUL: skip compare */
            gm_jw_key(w, k);
            if (gm_json_get(v, k) != m) __builtin_trap(); /* lookup finds the member */
            emit(w, m);
        }
        gm_jw_end_object(w);
        break;
    }
}

static int has_nul_key(const gm_json *v) {
    size_t n;
    if (gm_json_typeof(v) != GM_JSON_ARRAY && gm_json_typeof(v) != GM_JSON_OBJECT) return 0;
    for (int64_t i = 0; i < gm_json_len(v); i++) {
        const gm_json *m = gm_json_at(v, i);
        const char *k = gm_json_key(m, &n);
        if ((k && strlen(k) != n) || has_nul_key(m)) return 1;
    }
    return 0;
}

static int same(const gm_json *a, const gm_json *b) {
    gm_json_type t = gm_json_typeof(a);
    if (t != gm_json_typeof(b)) return 0;
    int64_t ia, ib;
    size_t na, nb;
    switch (t) {
    case GM_JSON_NULL: return 1;
    case GM_JSON_BOOL: return gm_json_bool(a) == gm_json_bool(b);
    case GM_JSON_NUMBER:
        if (gm_json_is_int(a, &ia)) return gm_json_is_int(b, &ib) && ia == ib;
        return gm_json_num(a) == gm_json_num(b);
    case GM_JSON_STRING: {
        const char *sa = gm_json_str(a, &na), *sb = gm_json_str(b, &nb);
        return na == nb && memcmp(sa, sb, na) == 0;
    }
    default:
        if (gm_json_len(a) != gm_json_len(b)) return 0;
        for (int64_t i = 0; i < gm_json_len(a); i++) {
            const gm_json *x = gm_json_at(a, i), *y = gm_json_at(b, i);
            if (t == GM_JSON_OBJECT && strcmp(gm_json_key(x, NULL), gm_json_key(y, NULL)) != 0) return 0;
            if (!same(x, y)) return 0;
        }
        return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_json_doc *d = NULL;
    if (gm_json_parse((const char *)data, size, "fuzz.json", 100000, &d) != GM_OK) return 0;
    const gm_json *root = gm_json_root(d);
    /* exercise the checked getters on the root */
    double x;
    int64_t i;
    const char *s;
    int b;
    (void)gm_json_get_number(root, "a", -1, 1, &x);
    (void)gm_json_get_int64(root, "b", 0, 100, &i);
    (void)gm_json_get_string(root, "c", &s);
    (void)gm_json_get_bool(root, "d", &b);
    if (!has_nul_key(root)) {
        gm_json_writer w;
        gm_jw_init(&w);
        emit(&w, root);
        char *out = NULL;
        size_t len = 0;
        if (gm_jw_finish(&w, &out, &len) != GM_OK) __builtin_trap(); /* a parsed tree must be writable */
        gm_json_doc *d2 = NULL;
        if (gm_json_parse(out, len, "rewrite", 200000, &d2) != GM_OK) __builtin_trap();
        if (!same(root, gm_json_root(d2))) __builtin_trap();
        gm_json_free(d2);
        free(out);
    }
    gm_json_free(d);
    return 0;
}
