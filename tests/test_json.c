/*
 * test_json.c — the strict JSON parser and the JSON writer (genmod/json.h):
 * every value type, escapes and UTF-8, exact integers, lookups, checked
 * getters, malformed inputs with their byte offsets, limits, and writer
 * round trips. Numbers are compared exactly (strtod is correctly rounded).
 */
#include "genmod/json.h"
#include "testutil.h"
#include <stdint.h>
#include <string.h>

static gm_json_doc *parse(const char *s) {
    gm_json_doc *d = NULL;
    gm_status st = gm_json_parse(s, strlen(s), "t.json", 0, &d);
    CHECK(st == GM_OK, "parse %s: %s", s, gm_last_error());
    return d;
}

static void test_values(void) {
    const char *txt = " {\"a\": [1, -2.5, 3e2, true, false, null, \"x\"], \"b\": {\"c\": {}}, \"e\": [],\n"
                      " \"big\": 9007199254740993, \"neg\": -9223372036854775808, \"huge\": 18446744073709551616,"
                      " \"z\": -0, \"tiny\": 1e-400} ";
    gm_json_doc *d = parse(txt);
    if (!d) return;
    const gm_json *r = gm_json_root(d);
    CHECK(gm_json_typeof(r) == GM_JSON_OBJECT && gm_json_len(r) == 8, "root object of 8, got %lld", (long long)gm_json_len(r));
    size_t kl;
    CHECK(strcmp(gm_json_key(gm_json_at(r, 0), &kl), "a") == 0 && kl == 1, "document order: first key a");
    CHECK(strcmp(gm_json_key(gm_json_at(r, 7), NULL), "tiny") == 0, "document order: last key tiny");
    const gm_json *a = gm_json_get(r, "a");
    CHECK(gm_json_typeof(a) == GM_JSON_ARRAY && gm_json_len(a) == 7, "array of 7");
    int64_t iv = 0;
    CHECK(gm_json_is_int(gm_json_at(a, 0), &iv) && iv == 1, "1 is int");
    CHECK(gm_json_num(gm_json_at(a, 1)) == -2.5 && !gm_json_is_int(gm_json_at(a, 1), NULL), "-2.5");
    CHECK(gm_json_num(gm_json_at(a, 2)) == 300.0 && !gm_json_is_int(gm_json_at(a, 2), NULL), "3e2 = 300, not int literal");
    CHECK(gm_json_typeof(gm_json_at(a, 3)) == GM_JSON_BOOL && gm_json_bool(gm_json_at(a, 3)), "true");
    CHECK(!gm_json_bool(gm_json_at(a, 4)) && gm_json_typeof(gm_json_at(a, 4)) == GM_JSON_BOOL, "false");
    CHECK(gm_json_typeof(gm_json_at(a, 5)) == GM_JSON_NULL, "null");
    CHECK(strcmp(gm_json_str(gm_json_at(a, 6), NULL), "x") == 0, "x");
    CHECK(gm_json_at(a, 7) == NULL && gm_json_at(a, -1) == NULL, "index out of range -> NULL");
    CHECK(gm_json_typeof(gm_json_get(gm_json_get(gm_json_get(r, "b"), "c"), NULL)) == GM_JSON_NULL, "NULL key");
    CHECK(gm_json_len(gm_json_get(gm_json_get(r, "b"), "c")) == 0, "empty object");
    CHECK(gm_json_len(gm_json_get(r, "e")) == 0 && gm_json_typeof(gm_json_get(r, "e")) == GM_JSON_ARRAY, "empty array");
    CHECK(gm_json_is_int(gm_json_get(r, "big"), &iv) && iv == 9007199254740993LL, "2^53+1 exact: %lld", (long long)iv);
    CHECK(gm_json_is_int(gm_json_get(r, "neg"), &iv) && iv == INT64_MIN, "INT64_MIN exact");
    CHECK(!gm_json_is_int(gm_json_get(r, "huge"), NULL) && gm_json_num(gm_json_get(r, "huge")) == 18446744073709551616.0,
          "2^64 is a double, not an int64");
    double z = gm_json_num(gm_json_get(r, "z"));
    CHECK(z == 0.0 && signbit(z), "-0 keeps its sign");
    CHECK(gm_json_num(gm_json_get(r, "tiny")) == 0.0, "underflow to 0 accepted");
    CHECK(gm_json_get(r, "missing") == NULL && gm_json_get(a, "a") == NULL, "absent key / not an object");
    CHECK(gm_json_offset(a) == 2, "offset of member a is its key's byte 2, got %zu", gm_json_offset(a));
    gm_json_free(d);

    /* scalars at top level */
    d = parse("42");
    CHECK(d && gm_json_is_int(gm_json_root(d), &iv) && iv == 42, "top-level number");
    gm_json_free(d);
    d = parse("\"s\"");
    CHECK(d && strcmp(gm_json_str(gm_json_root(d), NULL), "s") == 0, "top-level string");
    gm_json_free(d);
}

static void test_strings(void) {
    gm_json_doc *d = parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\", \"\\ud83d\\ude00\", \"a\\u0000b\","
                           " \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
    if (!d) return;
    const gm_json *r = gm_json_root(d);
    size_t n;
    const char *s = gm_json_str(gm_json_at(r, 0), &n);
    CHECK(n == 8 && memcmp(s, "\"\\/\b\f\n\r\t", 8) == 0, "simple escapes");
    s = gm_json_str(gm_json_at(r, 1), &n);
    CHECK(n == 5 && memcmp(s, "\xc3\xa9\xe2\x82\xac", 5) == 0, "\\u00e9\\u20ac -> UTF-8");
    s = gm_json_str(gm_json_at(r, 2), &n);
    CHECK(n == 4 && memcmp(s, "\xf0\x9f\x98\x80", 4) == 0, "surrogate pair -> U+1F600");
    s = gm_json_str(gm_json_at(r, 3), &n);
    CHECK(n == 3 && s[0] == 'a' && s[1] == 0 && s[2] == 'b' && s[3] == 0, "\\u0000 kept, with length");
    CHECK(gm_json_len(gm_json_at(r, 4)) == 9, "raw UTF-8 passes through");
    gm_json_free(d);
}

typedef struct { const char *text; size_t len; const char *msg; size_t at; } bad_case;

static void test_errors(void) {
    static const bad_case cases[] = {
        {"", 0, "unexpected end of input", 0},
        {"   ", 3, "unexpected end of input", 3},
        {"[1,]", 4, "a value was expected", 3},
        {"{\"a\":1,}", 8, "expected a string key", 7},
        {"[01]", 4, "leading zero", 1},
        {"[1.]", 4, "digit expected after '.'", 1},
        {"[1e]", 4, "digit expected in exponent", 1},
        {"[-]", 3, "invalid number", 1},
        {"[NaN]", 5, "a value was expected", 1},
        {"[1e999]", 7, "out of the range of a double", 1},
        {"[tru]", 5, "invalid literal", 1},
        {"\"abc", 4, "unterminated string", 0},
        {"\"a\\x\"", 5, "invalid escape", 2},
        {"\"\\u12G4\"", 8, "bad hex digit", 1},
        {"\"\\ud800\"", 8, "high surrogate not followed", 1},
        {"\"\\udc00\"", 8, "lone low surrogate", 1},
        {"\"a\tb\"", 5, "control character", 2},
        {"\"\xc0\x80\"", 4, "invalid UTF-8", 1},
        {"\"\xed\xa0\x80\"", 5, "invalid UTF-8", 1},
        {"\"\xf4\x90\x80\x80\"", 6, "invalid UTF-8", 1},
        {"\"\xe2\x82\"", 4, "invalid UTF-8", 1},
        {"{\"a\" 1}", 7, "expected ':'", 5},
        {"{\"a\":1 \"b\":2}", 13, "expected ',' or '}'", 7},
        {"[1 2]", 5, "expected ',' or ']'", 3},
        {"{\"k\":1,\"k\":2}", 13, "duplicate key", 7},
        {"{} {}", 5, "unexpected data after", 3},
        {"[1]x", 4, "unexpected data after", 3},
        {"{1:2}", 5, "expected a string key", 1},
        {"[1,\0]", 5, "a value was expected", 3},
        {"/*c*/1", 6, "a value was expected", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gm_json_doc *d = (gm_json_doc *)1;
        gm_status st = gm_json_parse(cases[i].text, cases[i].len, "bad.json", 0, &d);
        char want[64];
        snprintf(want, sizeof want, "at byte %zu", cases[i].at);
        const char *m = gm_last_error();
        CHECK(st == GM_ERR_FORMAT && d == NULL && strstr(m, cases[i].msg) && strstr(m, want) && strncmp(m, "bad.json: JSON: ", 16) == 0,
              "case %zu: status %d, message '%s' (want '%s' %s)", i, (int)st, m, cases[i].msg, want);
    }
    /* depth: 64 nested arrays parse, 65 do not */
    char deep[200];
    for (int depth = 64; depth <= 65; depth++) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        gm_json_doc *d = NULL;
        gm_status st = gm_json_parse(deep, (size_t)(2 * depth), NULL, 0, &d);
        if (depth == 64) CHECK(st == GM_OK, "depth 64 ok: %s", gm_last_error());
        else CHECK(st == GM_ERR_FORMAT && strstr(gm_last_error(), "nesting deeper than 64") && strstr(gm_last_error(), "at byte 64"),
                   "depth 65 rejected: %s", gm_last_error());
        gm_json_free(d);
    }
    /* node limit: [1,2,3] is 4 values */
    gm_json_doc *d = NULL;
    CHECK(gm_json_parse("[1,2,3]", 7, "n", 4, &d) == GM_OK, "4 values within a limit of 4");
    gm_json_free(d);
    d = NULL;
    CHECK(gm_json_parse("[1,2,3]", 7, "n", 3, &d) == GM_ERR_FORMAT && strstr(gm_last_error(), "too many values"),
          "4 values over a limit of 3: %s", gm_last_error());
    CHECK(gm_json_parse(NULL, 3, "n", 0, &d) == GM_ERR_ARG, "NULL text");
    /* not NUL-terminated: only len bytes are read */
    CHECK(gm_json_parse("[1]]]]", 3, "n", 0, &d) == GM_OK, "len bounds the input");
    gm_json_free(d);
}

static void test_getters(void) {
    gm_json_doc *d = parse("{\"lr\": 0.001, \"epochs\": 1e3, \"half\": 2.5, \"name\": \"made\", \"on\": true,"
                           " \"neg\": -3, \"big\": 1e300}");
    if (!d) return;
    const gm_json *r = gm_json_root(d);
    double v = 0;
    int64_t iv = 0;
    const char *s = NULL;
    int b = 0;
    CHECK(gm_json_get_number(r, "lr", 0, 1, &v) == GM_OK && v == 0.001, "lr = 0.001");
    CHECK(gm_json_get_number(r, "lr", 0.01, 1, &v) == GM_ERR_ARG && strstr(gm_last_error(), "t.json: key 'lr'"),
          "lr out of range: %s", gm_last_error());
    CHECK(gm_json_get_int64(r, "epochs", 1, 10000, &iv) == GM_OK && iv == 1000, "1e3 reads as int 1000");
    CHECK(gm_json_get_int64(r, "half", 0, 10, &iv) == GM_ERR_FORMAT, "2.5 is not an integer");
    CHECK(gm_json_get_int64(r, "big", INT64_MIN, INT64_MAX, &iv) == GM_ERR_FORMAT, "1e300 is not an int64");
    CHECK(gm_json_get_int64(r, "neg", 0, 10, &iv) == GM_ERR_ARG && strstr(gm_last_error(), "-3 is outside [0, 10]"),
          "-3 out of [0,10]: %s", gm_last_error());
    iv = 77;
    CHECK(gm_json_get_int64(r, "nope", 0, 10, &iv) == GM_ERR_NOTFOUND && iv == 77, "absent key: NOTFOUND, default kept");
    CHECK(gm_json_get_string(r, "name", &s) == GM_OK && strcmp(s, "made") == 0, "string getter");
    CHECK(gm_json_get_string(r, "lr", &s) == GM_ERR_FORMAT && strstr(gm_last_error(), "expected a string, got a number"),
          "type mismatch: %s", gm_last_error());
    CHECK(gm_json_get_bool(r, "on", &b) == GM_OK && b == 1, "bool getter");
    CHECK(gm_json_get_bool(gm_json_get(r, "name"), "x", &b) == GM_ERR_FORMAT, "lookup in a non-object");
    gm_json_free(d);
}

static void test_writer(void) {
    gm_json_writer w;
    gm_jw_init(&w);
    gm_jw_begin_object(&w);
    gm_jw_kv_string(&w, "s", "q\"b\\s\n\x01\xc3\xa9");
    gm_jw_key(&w, "nums");
    gm_jw_begin_array(&w);
    const double nums[] = {0.1, 1.0 / 3.0, 1e300, -0.0, 5e-324, 123456789.0, -2.5, 1e15, 1e16};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) gm_jw_number(&w, nums[i]);
    gm_jw_end_array(&w);
    gm_jw_kv_int(&w, "i", INT64_MIN);
    gm_jw_kv_bool(&w, "t", 1);
    gm_jw_key(&w, "n");
    gm_jw_null(&w);
    gm_jw_key(&w, "empty");
    gm_jw_begin_object(&w);
    gm_jw_end_object(&w);
    gm_jw_key(&w, "z");
    gm_jw_string_n(&w, "a\0b", 3);
    gm_jw_end_object(&w);
    char *out = NULL;
    size_t len = 0;
    CHECK(gm_jw_finish(&w, &out, &len) == GM_OK && out && len == strlen(out), "writer finish: %s", gm_last_error());
    if (!out) return;
    CHECK(strstr(out, "\"s\":\"q\\\"b\\\\s\\n\\u0001\xc3\xa9\"") != NULL, "escapes: %s", out);
    CHECK(strstr(out, "0.1,0.3333333333333333,1e+300,-0,4.94065645841247e-324,123456789,-2.5,1e+15,1e+16") != NULL,
          "shortest round-trip numbers: %s", out);
    gm_json_doc *d = NULL;
    CHECK(gm_json_parse(out, len, "w", 0, &d) == GM_OK, "writer output parses: %s", gm_last_error());
    const gm_json *r = gm_json_root(d);
    size_t n;
    const char *s = gm_json_str(gm_json_get(r, "s"), &n);
    CHECK(s && n == 9 && memcmp(s, "q\"b\\s\n\x01\xc3\xa9", 9) == 0, "string round trip");
    const gm_json *a = gm_json_get(r, "nums");
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        CHECK(gm_json_num(gm_json_at(a, (int64_t)i)) == nums[i] && signbit(gm_json_num(gm_json_at(a, (int64_t)i))) == signbit(nums[i]),
              "number %zu round trip exactly", i);
    int64_t iv;
    CHECK(gm_json_is_int(gm_json_get(r, "i"), &iv) && iv == INT64_MIN, "int64 round trip");
    CHECK(gm_json_len(gm_json_get(r, "z")) == 3, "embedded NUL round trip");
    gm_json_free(d);
    free(out);

    /* misuse and bad values are sticky errors */
    struct { int what; const char *msg; } bad[] = {{0, "needs a key"}, {1, "NaN or Inf"}, {2, "incomplete"},
                                                   {3, "not valid UTF-8"}, {4, "second top-level"}, {5, "end_array"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gm_jw_init(&w);
        switch (bad[i].what) {
        case 0: gm_jw_begin_object(&w); gm_jw_int(&w, 1); gm_jw_end_object(&w); break;
        case 1: gm_jw_number(&w, NAN); break;
        case 2: gm_jw_begin_array(&w); break;
        case 3: gm_jw_string(&w, "\xff"); break;
        case 4: gm_jw_int(&w, 1); gm_jw_int(&w, 2); break;
        case 5: gm_jw_begin_object(&w); gm_jw_end_array(&w); break;
        }
        out = (char *)1;
        gm_status st = gm_jw_finish(&w, &out, NULL);
        CHECK(st == GM_ERR_ARG && out == NULL && strstr(gm_last_error(), bad[i].msg), "writer misuse %zu: %s", i,
              gm_last_error());
        gm_jw_free(&w);
    }
    /* depth limit in the writer */
    gm_jw_init(&w);
    for (int i = 0; i < 65; i++) gm_jw_begin_array(&w);
    CHECK(w.st == GM_ERR_ARG, "writer depth 65 rejected");
    gm_jw_free(&w);
}

static void test_file(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/cfg.json", gm_test_tmpdir());
    FILE *f = fopen(path, "wb");
    fputs("{\"model\": \"made\",\n \"hidden\": [500, 500]}\n", f);
    fclose(f);
    gm_json_doc *d = NULL;
    CHECK(gm_json_parse_file(path, &d) == GM_OK, "parse file: %s", gm_last_error());
    const char *m = NULL;
    CHECK(gm_json_get_string(gm_json_root(d), "model", &m) == GM_OK && strcmp(m, "made") == 0, "file content");
    CHECK(gm_json_len(gm_json_get(gm_json_root(d), "hidden")) == 2, "hidden list");
    gm_json_free(d);
    f = fopen(path, "wb");
    fputs("{\"model\": \"made\",\n \"hidden\": [500, 500,]}", f);
    fclose(f);
    char want[4300];
    snprintf(want, sizeof want, "%s: JSON: unexpected character, a value was expected at byte 39", path);
    CHECK(gm_json_parse_file(path, &d) == GM_ERR_FORMAT && d == NULL && strcmp(gm_last_error(), want) == 0,
          "message names the file and offset: %s", gm_last_error());
    snprintf(path, sizeof path, "%s/missing.json", gm_test_tmpdir());
    CHECK(gm_json_parse_file(path, &d) == GM_ERR_NOTFOUND, "missing file");
}

int main(void) {
    test_file();
    test_values();
    test_strings();
    test_errors();
    test_getters();
    test_writer();
    TEST_MAIN_END();
}
