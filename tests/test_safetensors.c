/*
 * test_safetensors.c — safetensors reader and writer (genmod/safetensors.h):
 * round trip of every supported write path, layout (8-byte padded header,
 * item-size alignment), reading a file written by Python's safetensors
 * (tests/golden/py_written.safetensors, values exact), dtype conversions,
 * every malformation class -> GM_ERR_FORMAT / UNSUPPORTED with a specific
 * message, truncation at every byte, and atomic saves that fail cleanly.
 * All values are compared exactly (conversions of representable values).
 *
 * `test_safetensors --write PATH` only writes the export file that
 * tests/golden/check_safetensors_py.py reads back with Python.
 */
#include "genmod/safetensors.h"
#include "io/io_internal.h"
#include "testutil.h"
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const float k_w[6] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f};
static const int64_t k_idx[4] = {-3, 0, (int64_t)1 << 40, 7};
static const uint8_t k_mask[5] = {1, 0, 255, 3, 9};
static const double k_h[3] = {1.0, -2.0, 0.5};

/* The content checked by check_safetensors_py.py (keep in sync). */
static gm_st_writer *make_export(void) {
    gm_st_writer *w = gm_st_writer_new();
    int64_t s23[2] = {2, 3}, s4 = 4, s5 = 5, s03[2] = {0, 3}, s3 = 3;
    float sv = 2.5f;
    int ok = gm_st_writer_add_u8(w, "mask", 1, &s5, k_mask) == GM_OK;
    ok &= gm_st_writer_add_f32(w, "w", 2, s23, k_w) == GM_OK;
    ok &= gm_st_writer_add_i64(w, "idx", 1, &s4, k_idx) == GM_OK;
    ok &= gm_st_writer_add_f32(w, "s", 0, NULL, &sv) == GM_OK;
    ok &= gm_st_writer_add_f32(w, "e", 2, s03, NULL) == GM_OK;
    ok &= gm_st_writer_add(w, "h", GM_ST_F64, 1, &s3, k_h, 0) == GM_OK; /* borrowed: k_h is static */
    ok &= gm_st_writer_set_metadata(w, "format", "genmod-test") == GM_OK;
    ok &= gm_st_writer_set_metadata(w, "unicode", "\xc3\xa9\xe2\x82\xac\"\\") == GM_OK;
    ok &= gm_st_writer_set_metadata(w, "empty", "") == GM_OK;
    CHECK(ok, "building the export writer: %s", gm_last_error());
    return w;
}

static char g_path[4200];
static const char *tmp_path(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", gm_test_tmpdir(), name);
    return g_path;
}

static void test_round_trip(void) {
    gm_st_writer *w = make_export();
    char path[4200];
    snprintf(path, sizeof path, "%s", tmp_path("rt.safetensors"));
    CHECK(gm_st_writer_save(w, path) == GM_OK, "save: %s", gm_last_error());
    uint8_t *mem = NULL, *file = NULL;
    size_t memlen = 0, filelen = 0;
    CHECK(gm_st_writer_to_mem(w, &mem, &memlen) == GM_OK, "to_mem");
    CHECK(gm_io_read_file(path, 1 << 20, &file, &filelen) == GM_OK && filelen == memlen && memcmp(mem, file, memlen) == 0,
          "saved file equals the in-memory image");
    CHECK(filelen >= 8 && gm_load_le64(file) % 8 == 0 && file[8] == '{', "header length %% 8 == 0, starts with '{'");
    free(file);
    gm_st_writer_free(w);

    gm_st_reader *r = NULL;
    CHECK(gm_st_open(path, &r) == GM_OK, "open: %s", gm_last_error());
    if (!r) { free(mem); return; }
    CHECK(gm_st_count(r) == 6, "6 tensors, got %lld", (long long)gm_st_count(r));
    /* data laid out by decreasing item size: idx, h (8) / w, s, e (4) / mask (1), each aligned */
    const char *order[6] = {"idx", "h", "w", "s", "e", "mask"};
    for (int i = 0; i < 6; i++) {
        const gm_st_info *e = gm_st_entry(r, i);
        CHECK(e && strcmp(e->name, order[i]) == 0 && e->offset % gm_st_dtype_size(e->dtype) == 0,
              "entry %d is %s, aligned", i, order[i]);
    }
    CHECK(gm_st_entry(r, 6) == NULL && gm_st_entry(r, -1) == NULL, "entry out of range");
    const gm_st_info *e = gm_st_find(r, "w");
    CHECK(e && e->dtype == GM_ST_F32 && e->ndim == 2 && e->shape[0] == 2 && e->shape[1] == 3 && e->numel == 6 &&
              e->nbytes == 24 && memcmp(e->data, k_w, 24) == 0,
          "w info and raw bytes");
    e = gm_st_find(r, "s");
    CHECK(e && e->ndim == 0 && e->numel == 1, "scalar");
    e = gm_st_find(r, "e");
    CHECK(e && e->ndim == 2 && e->numel == 0 && e->nbytes == 0, "empty tensor");
    CHECK(gm_st_find(r, "nope") == NULL && gm_st_find(r, NULL) == NULL, "find absent");

    float w6[6], s1 = 0, m5[5], h3[3];
    int64_t shp[2] = {2, 3}, bad[2] = {3, 2}, i4[4];
    CHECK(gm_st_read_f32(r, "w", 2, shp, w6) == GM_OK && memcmp(w6, k_w, sizeof w6) == 0, "read w");
    CHECK(gm_st_read_f32(r, "w", 2, bad, w6) == GM_ERR_SHAPE &&
              strstr(gm_last_error(), "tensor 'w' has shape (2, 3), expected (3, 2)"),
          "shape mismatch: %s", gm_last_error());
    CHECK(gm_st_read_f32(r, "w", 1, shp, w6) == GM_ERR_SHAPE, "ndim mismatch");
    CHECK(gm_st_read_f32(r, "s", 0, NULL, &s1) == GM_OK && s1 == 2.5f, "scalar value");
    CHECK(gm_st_read_f32_n(r, "mask", 5, m5) == GM_OK && m5[0] == 1 && m5[2] == 255 && m5[4] == 9, "u8 -> float");
    CHECK(gm_st_read_f32_n(r, "mask", 4, m5) == GM_ERR_SHAPE, "wrong numel");
    CHECK(gm_st_read_f32_n(r, "h", 3, h3) == GM_OK && h3[0] == 1.0f && h3[1] == -2.0f && h3[2] == 0.5f, "f64 -> float");
    CHECK(gm_st_read_i64_n(r, "idx", 4, i4) == GM_OK && memcmp(i4, k_idx, sizeof i4) == 0, "read i64");
    CHECK(gm_st_read_i64_n(r, "w", 6, i4) == GM_ERR_FORMAT, "i64 read of a float tensor");
    CHECK(gm_st_read_f32_n(r, "zz", 1, m5) == GM_ERR_NOTFOUND && strstr(gm_last_error(), "no tensor named 'zz'"),
          "read absent: %s", gm_last_error());
    CHECK(gm_st_read_f32_n(r, "e", 0, NULL) == GM_OK, "empty read");
    CHECK(gm_st_metadata_count(r) == 3 && strcmp(gm_st_metadata_key(r, 1), "unicode") == 0, "metadata order");
    CHECK(gm_st_metadata(r, "unicode") && strcmp(gm_st_metadata(r, "unicode"), "\xc3\xa9\xe2\x82\xac\"\\") == 0, "unicode metadata");
    CHECK(gm_st_metadata(r, "empty") && gm_st_metadata(r, "empty")[0] == 0 && gm_st_metadata(r, "x") == NULL, "metadata get");
    gm_st_close(r);

    /* truncated at every byte: always an error, never a crash */
    int all_fail = 1;
    for (size_t cut = 0; cut < memlen; cut++) {
        gm_st_reader *t = NULL;
        gm_status st = gm_st_open_mem(mem, cut, "cut", &t);
        if (st != GM_ERR_FORMAT || t) { all_fail = 0; fprintf(stderr, "cut at %zu: status %d\n", cut, (int)st); }
        gm_st_close(t);
    }
    CHECK(all_fail, "every truncation of a %zu-byte file is GM_ERR_FORMAT", memlen);
    gm_st_reader *t = NULL;
    CHECK(gm_st_open_mem(mem, memlen, NULL, &t) == GM_OK && strcmp(gm_st_name(t), "<memory>") == 0, "open_mem full");
    gm_st_close(t);
    free(mem);
}

static void test_python_golden(void) {
    gm_st_reader *r = NULL;
    CHECK(gm_st_open(gm_test_src_path("tests/golden/py_written.safetensors"), &r) == GM_OK, "open py file: %s",
          gm_last_error());
    if (!r) return;
    CHECK(gm_st_count(r) == 14, "14 tensors");
    struct { const char *name; int n; float v[6]; } want[] = {
        {"f32", 6, {0.5f, -1.25f, 3.0f, 0x1.0624dep-10f, 65504.0f, -0.0f}},
        {"f64", 3, {0x1.99999ap-4f, -2.0f, 0x1.93e594p+99f}},
        {"f16", 4, {1.0f, -0.5f, 65504.0f, 0x1p-24f}},
        {"bf16", 4, {1.0f, -2.5f, 3.140625f, -0x1.2cp+126f}},
        {"f8e4m3", 4, {1.0f, -0.5f, 448.0f, 0x1p-9f}},
        {"f8e5m2", 4, {1.0f, -0.25f, 57344.0f, 0x1p-16f}},
        {"i64", 3, {-5.0f, 0.0f, 0x1p40f}},
        {"i32", 2, {-7.0f, 123456.0f}},
        {"i16", 2, {-300.0f, 300.0f}},
        {"u8", 5, {0, 1, 127, 128, 255}},
        {"i8", 3, {-128, -1, 127}},
        {"bool", 3, {1, 0, 1}},
        {"scalar", 1, {42.0f}},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        float got[6] = {0};
        gm_status st = gm_st_read_f32_n(r, want[i].name, want[i].n, got);
        CHECK(st == GM_OK, "read %s: %s", want[i].name, gm_last_error());
        CHECK_ARRAYS(want[i].name, got, want[i].v, want[i].n, 0.0, 0.0);
    }
    CHECK(signbit(gm_st_find(r, "f32")->data[23] ? -0.0 : 1.0), "-0.0 sign byte kept");
    int64_t sh[2] = {2, 2};
    float b4[4];
    CHECK(gm_st_read_f32(r, "bf16", 2, sh, b4) == GM_OK, "bf16 shape (2, 2)");
    const gm_st_info *e = gm_st_find(r, "empty");
    CHECK(e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 4, "empty (0, 4)");
    e = gm_st_find(r, "scalar");
    CHECK(e && e->ndim == 0, "scalar has shape ()");
    int64_t i3[3];
    CHECK(gm_st_read_i64_n(r, "i64", 3, i3) == GM_OK && i3[0] == -5 && i3[2] == (int64_t)1 << 40, "i64 exact");
    CHECK(gm_st_read_i64_n(r, "bool", 3, i3) == GM_OK && i3[0] == 1 && i3[1] == 0, "bool as int");
    CHECK(gm_st_metadata(r, "who") && strcmp(gm_st_metadata(r, "who"), "python") == 0, "metadata who");
    CHECK(gm_st_metadata(r, "note") && strcmp(gm_st_metadata(r, "note"), "v\xc3\xa4lue \"q\"") == 0, "metadata note");
    gm_st_close(r);
}

static void test_more_dtypes(void) {
    gm_st_writer *w = gm_st_writer_new();
    int64_t n3 = 3, n2 = 2;
    const uint16_t u16[3] = {0, 65535, 7};
    const uint32_t u32[3] = {0, 4000000000u, 9};
    const uint64_t u64[2] = {5, (uint64_t)1 << 63};
    CHECK(gm_st_writer_add(w, "u16", GM_ST_U16, 1, &n3, u16, GM_ST_COPY) == GM_OK, "add u16");
    CHECK(gm_st_writer_add(w, "u32", GM_ST_U32, 1, &n3, u32, GM_ST_COPY) == GM_OK, "add u32");
    CHECK(gm_st_writer_add(w, "u64", GM_ST_U64, 1, &n2, u64, GM_ST_COPY) == GM_OK, "add u64");
    /* argument errors */
    int64_t neg = -1, nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(gm_st_writer_add_u8(w, "u16", 1, &n3, (const uint8_t *)"abc") == GM_ERR_ARG, "duplicate name");
    CHECK(gm_st_writer_add_u8(w, "__metadata__", 1, &n3, (const uint8_t *)"abc") == GM_ERR_ARG, "reserved name");
    CHECK(gm_st_writer_add_u8(w, "", 1, &n3, (const uint8_t *)"abc") == GM_ERR_ARG, "empty name");
    CHECK(gm_st_writer_add_u8(w, "\xff", 1, &n3, (const uint8_t *)"abc") == GM_ERR_ARG, "non-UTF-8 name");
    CHECK(gm_st_writer_add_u8(w, "n", 1, &neg, (const uint8_t *)"abc") == GM_ERR_ARG, "negative dim");
    CHECK(gm_st_writer_add_u8(w, "n", 9, nine, (const uint8_t *)"abc") == GM_ERR_ARG, "9 dims");
    CHECK(gm_st_writer_add_u8(w, "n", 1, &n3, NULL) == GM_ERR_ARG, "NULL data");
    CHECK(gm_st_writer_set_metadata(w, "k", "\xc3") == GM_ERR_ARG, "non-UTF-8 metadata");
    CHECK(gm_st_writer_set_metadata(w, "k", "a") == GM_OK && gm_st_writer_set_metadata(w, "k", "b") == GM_OK,
          "metadata replace");
    uint8_t *mem;
    size_t len;
    CHECK(gm_st_writer_to_mem(w, &mem, &len) == GM_OK, "to_mem");
    gm_st_writer_free(w);
    gm_st_reader *r = NULL;
    CHECK(gm_st_open_mem(mem, len, "dt", &r) == GM_OK, "open: %s", gm_last_error());
    free(mem);
    if (!r) return;
    float f[3];
    int64_t i[3];
    CHECK(gm_st_read_f32_n(r, "u16", 3, f) == GM_OK && f[1] == 65535.0f, "u16 -> float");
    CHECK(gm_st_read_f32_n(r, "u32", 3, f) == GM_OK && f[1] == 4000000000.0f, "u32 -> float");
    CHECK(gm_st_read_i64_n(r, "u32", 3, i) == GM_OK && i[1] == 4000000000LL, "u32 -> int64");
    CHECK(gm_st_read_f32_n(r, "u64", 2, f) == GM_OK && f[1] == 0x1p63f, "u64 -> float");
    CHECK(gm_st_read_i64_n(r, "u64", 2, i) == GM_ERR_FORMAT && strstr(gm_last_error(), "does not fit int64"),
          "u64 >= 2^63 -> int64 error: %s", gm_last_error());
    CHECK(gm_st_metadata(r, "k") && strcmp(gm_st_metadata(r, "k"), "b") == 0 && gm_st_metadata_count(r) == 1, "replaced");
    gm_st_close(r);
    CHECK(strcmp(gm_st_dtype_name(GM_ST_BF16), "BF16") == 0 && gm_st_dtype_size(GM_ST_F64) == 8 &&
              strcmp(gm_st_dtype_name((gm_st_dtype)99), "?") == 0 && gm_st_dtype_size((gm_st_dtype)-1) == 0,
          "dtype table");
}

/* A file from a header text and data bytes; hlen given explicitly if >= 0. */
static void expect_bad(const char *header, long long hlen, size_t dlen, gm_status want, const char *msg) {
    size_t hl = strlen(header);
    size_t len = 8 + hl + dlen;
    uint8_t *b = calloc(1, len);
    gm_store_le64(b, hlen >= 0 ? (uint64_t)hlen : (uint64_t)hl);
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < dlen; i++) b[8 + hl + i] = (uint8_t)i;
    gm_st_reader *r = (gm_st_reader *)1;
    gm_status st = gm_st_open_mem(b, len, "bad.st", &r);
    CHECK(st == want && r == NULL && strstr(gm_last_error(), msg) && strncmp(gm_last_error(), "bad.st: ", 8) == 0,
          "header %s: status %d (want %d), message '%s' (want '%s')", header, (int)st, (int)want, gm_last_error(), msg);
    free(b);
}

static void test_malformed(void) {
    const gm_status F = GM_ERR_FORMAT;
    gm_st_reader *r = NULL;
    CHECK(gm_st_open_mem("\x01\x02\x03", 3, "bad.st", &r) == F && strstr(gm_last_error(), "truncated"), "3 bytes");
    expect_bad("{}", 1LL << 40, 0, F, "exceeds the 2 bytes after it");
    expect_bad("{}", 3, 0, F, "exceeds");
    expect_bad("{}", 0, 2, F, "does not start with '{'");
    expect_bad("[1,2]", -1, 0, F, "does not start with '{'");
    expect_bad("{abc}", -1, 0, F, "bad.st: header: JSON: expected a string key at byte 1");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", -1, 4, F, "JSON");
    expect_bad("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, F, "tensor 'a': unknown dtype 'F33'");
    expect_bad("{\"a\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, F, "missing string field 'dtype'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", -1, 4, F, "span 4 bytes, shape and dtype F32 need 8");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", -1, 8, F, "go past the data buffer (8 bytes)");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               -1, 12, F, "overlaps tensor 'a'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               -1, 12, F, "gap in the data buffer: bytes 4..8");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", -1, 8, F, "gap in the data buffer: bytes 0..4");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 6, F, "2 trailing bytes");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4, F, "'shape'[0] is not a non-negative integer");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", -1, 8, F, "not a non-negative integer");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", -1, 8, F, "not a non-negative integer");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,0]}}", -1, 0, F,
               "shape overflows");
    expect_bad("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", -1, 0, F,
               "byte size overflows");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,0]}}", -1, 0, F,
               "not a non-negative integer");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", -1, 1, GM_ERR_UNSUPPORTED,
               "9 dims");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,0]}}", -1, 1, F, "end before they begin");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", -1, 1, F, "must have 2 entries");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", -1, 1, F, "missing field 'data_offsets'");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", -1, 1, F, "missing field 'shape'");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", -1, 1, F, "unknown field 'x'");
    expect_bad("{\"a\":[1]}", -1, 0, F, "entry must be an object");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,1]}}",
               -1, 1, F, "duplicate key");
    expect_bad("{\"__metadata__\":{\"k\":1}}", -1, 0, F, "metadata 'k' must be a string");
    expect_bad("{\"__metadata__\":[\"k\"]}", -1, 0, F, "'__metadata__' must be an object");
    expect_bad("{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", -1, 0, F, "contains a NUL");
    expect_bad("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", -1, 0, F, "contains a NUL");
    expect_bad("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}\xff", -1, 1, F, "JSON");
    /* accepted edge cases: null metadata, trailing spaces, zero-size tensors at a boundary, no tensors */
    const char *ok_headers[] = {"{\"__metadata__\":null}   ", "{}",
                                "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"};
    size_t ok_dlen[] = {0, 0, 4};
    for (int i = 0; i < 3; i++) {
        size_t hl = strlen(ok_headers[i]), len = 8 + hl + ok_dlen[i];
        uint8_t *b = calloc(1, len);
        gm_store_le64(b, hl);
        memcpy(b + 8, ok_headers[i], hl);
        r = NULL;
        CHECK(gm_st_open_mem(b, len, "ok.st", &r) == GM_OK, "accepted header %d: %s", i, gm_last_error());
        gm_st_close(r);
        free(b);
    }
}

static int count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) n += strstr(de->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_atomic(void) {
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s", gm_test_tmpdir());
    snprintf(path, sizeof path, "%s/keep.safetensors", dir);
    gm_st_writer *small = gm_st_writer_new();
    int64_t one = 1;
    float v = 7.0f;
    gm_st_writer_add_f32(small, "v", 1, &one, &v);
    CHECK(gm_st_writer_save(small, path) == GM_OK, "save small: %s", gm_last_error());
    uint8_t *before;
    size_t blen;
    gm_io_read_file(path, 1 << 20, &before, &blen);

    /* 1. the write itself fails (file size limit): old file intact, no temp file */
    gm_st_writer *big = gm_st_writer_new();
    int64_t n = 1 << 16;
    float *x = calloc((size_t)n, sizeof *x);
    gm_st_writer_add_f32(big, "x", 1, &n, x);
    free(x);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    int lim_ok = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    CHECK(lim_ok, "setrlimit(RLIMIT_FSIZE)");
    if (lim_ok) {
        gm_status st = gm_st_writer_save(big, path);
        setrlimit(RLIMIT_FSIZE, &old);
        CHECK(st == GM_ERR_IO && strstr(gm_last_error(), path), "save past the file size limit: %d %s", (int)st, gm_last_error());
    }
    signal(SIGXFSZ, prev);
    uint8_t *after;
    size_t alen;
    CHECK(gm_io_read_file(path, 1 << 20, &after, &alen) == GM_OK && alen == blen && memcmp(before, after, alen) == 0,
          "old file intact after a failed save");
    free(after);
    CHECK(count_tmp_files(dir) == 0, "no temporary file left behind");

    /* 2. target is a directory: rename fails, directory untouched */
    char sub[4300];
    snprintf(sub, sizeof sub, "%s/adir", dir);
    mkdir(sub, 0755);
    CHECK(gm_st_writer_save(small, sub) == GM_ERR_IO && strstr(gm_last_error(), "rename"), "save over a directory: %s",
          gm_last_error());
    struct stat sb;
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) && count_tmp_files(dir) == 0, "directory kept, no temp file");

    /* 3. directory missing */
    char missing[4400];
    snprintf(missing, sizeof missing, "%s/no/such/dir/f.safetensors", dir);
    CHECK(gm_st_writer_save(small, missing) == GM_ERR_IO && strstr(gm_last_error(), "no/such/dir/f.safetensors"),
          "save into a missing directory: %s", gm_last_error());
    /* reading errors */
    gm_st_reader *r = NULL;
    CHECK(gm_st_open(missing, &r) == GM_ERR_NOTFOUND && r == NULL, "open missing -> NOTFOUND");
    CHECK(gm_st_open(sub, &r) == GM_ERR_IO && strstr(gm_last_error(), "not a regular file"), "open a directory -> IO");

    /* 4. a successful save replaces the old content */
    CHECK(gm_st_writer_save(big, path) == GM_OK, "save big");
    CHECK(gm_st_open(path, &r) == GM_OK && gm_st_find(r, "x") && !gm_st_find(r, "v"), "replaced");
    gm_st_close(r);
    free(before);
    gm_st_writer_free(small);
    gm_st_writer_free(big);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        gm_st_writer *w = make_export();
        gm_status st = gm_st_writer_save(w, argv[2]);
        gm_st_writer_free(w);
        if (st != GM_OK) fprintf(stderr, "%s\n", gm_last_error());
        return st == GM_OK ? 0 : 1;
    }
    test_round_trip();
    test_python_golden();
    test_more_dtypes();
    test_malformed();
    test_atomic();
    TEST_MAIN_END();
}
