/*
 * test_data_readers.c — .amat, idx, .npy and CSV readers on tiny fixtures
 * written here (plain and gzip), and every malformation we reject: truncated,
 * wrong magic, wrong row length, non-numeric, NaN, header dims that do not fit
 * the file. Each error case checks the status and the message text.
 */
#include "genmod/data.h"
#include "testutil.h"
#include <stdint.h>
#include <string.h>
#include <zlib.h>

static const char *tpath(const char *name) {
    static char buf[8][4096];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", gm_test_tmpdir(), name);
    return buf[k];
}

static const char *write_bytes(const char *name, const void *p, size_t n) {
    const char *path = tpath(name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) { perror(path); exit(2); }
    fclose(f);
    return path;
}

static const char *write_gz(const char *name, const void *p, size_t n) {
    const char *path = tpath(name);
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, p, (unsigned)n) != (int)n) { fprintf(stderr, "gz %s\n", path); exit(2); }
    gzclose(g);
    return path;
}

/* slurps a file written by the test (for truncating / corrupting it) */
static size_t read_back(const char *path, uint8_t *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f) fclose(f);
    return n;
}

#define CHECK_ERR(expr, want_st, substr) do { \
    gm_clear_error(); \
    gm_status st_ = (expr); \
    CHECK(st_ == (want_st), "%s: status %s, expected %s (%s)", #expr, gm_status_name(st_), gm_status_name(want_st), gm_last_error()); \
    CHECK(strstr(gm_last_error(), (substr)) != NULL, "message '%s' lacks '%s'", gm_last_error(), (substr)); } while (0)

/* ==== amat ==== */

static void test_amat(void) {
    const char *txt = "0 1 0 1\n1 1 0 0\n0 0 0 1\n";
    const float want[12] = {0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1};
    gm_dataset ds;
    const char *plain = write_bytes("a.amat", txt, strlen(txt));
    CHECK(gm_read_amat(plain, NULL, &ds) == GM_OK, "plain amat: %s", gm_last_error());
    CHECK(ds.n == 3 && ds.d == 4 && ds.y == NULL, "shape %lld x %lld", (long long)ds.n, (long long)ds.d);
    CHECK_ARRAYS("amat values", ds.x, want, 12, 0, 0);
    CHECK(strcmp(ds.name, "a.amat") == 0, "name %s", ds.name);
    gm_dataset_free(&ds);
    /* gzip, detected by magic: a .gz name, and gzip content behind a plain name */
    const char *gz = write_gz("a.amat.gz", txt, strlen(txt));
    const char *disguised = write_gz("gzip_inside.amat", txt, strlen(txt));
    const char *plain_gz = write_bytes("plain_inside.amat.gz", txt, strlen(txt));
    const char *paths[3] = {gz, disguised, plain_gz};
    for (int k = 0; k < 3; k++) {
        gm_read_opts o = {0};
        o.binary = 1;
        CHECK(gm_read_amat(paths[k], &o, &ds) == GM_OK, "%s: %s", paths[k], gm_last_error());
        CHECK(ds.n == 3 && ds.d == 4, "gz shape");
        if (ds.x) CHECK_ARRAYS("gz amat values", ds.x, want, 12, 0, 0);
        gm_dataset_free(&ds);
    }
    /* CRLF, tabs, real numbers, trailing blank lines */
    const char *t2 = "0.25\t-1.5 3e2\r\n  1 2 3 \r\n\n\n";
    CHECK(gm_read_amat_mem(t2, strlen(t2), "t2.amat", NULL, &ds) == GM_OK, "crlf: %s", gm_last_error());
    CHECK(ds.n == 2 && ds.d == 3, "crlf shape %lld x %lld", (long long)ds.n, (long long)ds.d);
    if (ds.x) { CHECK(ds.x[0] == 0.25f && ds.x[1] == -1.5f && ds.x[2] == 300.0f && ds.x[5] == 3.0f, "crlf values"); }
    gm_dataset_free(&ds);

    /* malformations */
    const char *bad_row = "0 1 0 1\n1 1 0 0\n0 0 1\n";
    CHECK_ERR(gm_read_amat(write_bytes("binarized_mnist_test.amat", bad_row, strlen(bad_row)), NULL, &ds),
              GM_ERR_FORMAT, "binarized_mnist_test.amat: line 3 has 3 values, expected 4");
    CHECK(ds.x == NULL && ds.n == 0, "output empty on error");
    CHECK_ERR(gm_read_amat(write_gz("binarized_mnist_test.amat.gz", bad_row, strlen(bad_row)), NULL, &ds),
              GM_ERR_FORMAT, "binarized_mnist_test.amat.gz: line 3 has 3 values, expected 4");
    CHECK_ERR(gm_read_amat_mem("0 1\n0 x\n", 8, "m.amat", NULL, &ds), GM_ERR_FORMAT,
              "m.amat: line 2 value 2: 'x' is not a number");
    CHECK_ERR(gm_read_amat_mem("0 1\n0 1.0.0\n", 12, "m.amat", NULL, &ds), GM_ERR_FORMAT, "'1.0.0' is not a number");
    CHECK_ERR(gm_read_amat_mem("0 nan\n", 6, "m.amat", NULL, &ds), GM_ERR_FORMAT,
              "line 1 value 2 is nan; values must be finite");
    CHECK_ERR(gm_read_amat_mem("inf 0\n", 6, "m.amat", NULL, &ds), GM_ERR_FORMAT, "line 1 value 1 is inf");
    CHECK_ERR(gm_read_amat_mem("1e39 0\n", 7, "m.amat", NULL, &ds), GM_ERR_FORMAT, "does not fit in float32");
    gm_read_opts bin = {0};
    bin.binary = 1;
    CHECK_ERR(gm_read_amat_mem("0 1\n0.5 1\n", 10, "m.amat", &bin, &ds), GM_ERR_FORMAT,
              "line 2 value 1 is 0.5, expected 0 or 1");
    CHECK(gm_read_amat_mem("0 1\n0.5 1\n", 10, "m.amat", NULL, &ds) == GM_OK, "0.5 fine without binary");
    gm_dataset_free(&ds);
    CHECK_ERR(gm_read_amat_mem("", 0, "empty.amat", NULL, &ds), GM_ERR_FORMAT, "empty.amat: no data rows");
    CHECK_ERR(gm_read_amat_mem("0 1\n\n0 1\n", 9, "m.amat", NULL, &ds), GM_ERR_FORMAT, "line 2 is empty");
    CHECK_ERR(gm_read_amat(tpath("does_not_exist.amat"), NULL, &ds), GM_ERR_NOTFOUND, "does_not_exist.amat: cannot open");
    gm_read_opts small = {0};
    small.max_bytes = 10;
    CHECK_ERR(gm_read_amat(plain, &small, &ds), GM_ERR_FORMAT, "a.amat: larger than the 10-byte limit");
    CHECK_ERR(gm_read_amat(gz, &small, &ds), GM_ERR_FORMAT, "a.amat.gz: larger than the 10-byte limit");

    /* truncated and corrupt gzip */
    static uint8_t big[1 << 16], gzb[1 << 16];
    size_t nb = 0;
    for (int r = 0; r < 300; r++)
        for (int j = 0; j < 20; j++) { big[nb++] = (uint8_t)('0' + ((r * 7 + j * 3) % 5 == 0)); big[nb++] = j == 19 ? '\n' : ' '; }
    const char *gzfull = write_gz("full.amat.gz", big, nb);
    size_t ngz = read_back(gzfull, gzb, sizeof gzb);
    CHECK(gm_read_amat(gzfull, NULL, &ds) == GM_OK && ds.n == 300 && ds.d == 20, "full gz: %s", gm_last_error());
    gm_dataset_free(&ds);
    CHECK_ERR(gm_read_amat(write_bytes("trunc.amat.gz", gzb, ngz / 2), NULL, &ds), GM_ERR_FORMAT,
              "trunc.amat.gz: truncated gzip stream");
    CHECK_ERR(gm_read_amat_mem(gzb, ngz / 2, "trunc_mem.amat.gz", NULL, &ds), GM_ERR_FORMAT,
              "trunc_mem.amat.gz: truncated gzip stream");
    gzb[ngz - 6] ^= 0x55; /* CRC32 trailer */
    CHECK_ERR(gm_read_amat(write_bytes("crc.amat.gz", gzb, ngz), NULL, &ds), GM_ERR_FORMAT, "crc.amat.gz: corrupt gzip data");
    CHECK_ERR(gm_read_amat_mem(gzb, ngz, "crc_mem.amat.gz", NULL, &ds), GM_ERR_FORMAT, "crc_mem.amat.gz: corrupt gzip data");
    /* concatenated gzip members read as one stream */
    const char *p1 = write_gz("m1.gz", "0 1\n", 4), *p2 = write_gz("m2.gz", "1 0\n", 4);
    uint8_t two[256];
    size_t n1 = read_back(p1, two, sizeof two), n2 = read_back(p2, two + n1, sizeof two - n1);
    CHECK(gm_read_amat_mem(two, n1 + n2, "two.gz", NULL, &ds) == GM_OK && ds.n == 2, "two members: %s", gm_last_error());
    gm_dataset_free(&ds);
    CHECK(gm_read_amat(write_bytes("two.amat.gz", two, n1 + n2), NULL, &ds) == GM_OK && ds.n == 2, "two members file");
    gm_dataset_free(&ds);
}

/* ==== idx ==== */

static size_t make_idx(uint8_t *buf, uint32_t magic, int ndim, const uint32_t *dims, int64_t ndata) {
    size_t k = 0;
    for (int s = 24; s >= 0; s -= 8) buf[k++] = (uint8_t)(magic >> s);
    for (int i = 0; i < ndim; i++)
        for (int s = 24; s >= 0; s -= 8) buf[k++] = (uint8_t)(dims[i] >> s);
    for (int64_t i = 0; i < ndata; i++) buf[k++] = (uint8_t)((i * 37 + 11) % 256);
    return k;
}

static void test_idx(void) {
    static uint8_t buf[4096];
    uint32_t dims[3] = {3, 2, 4};
    size_t n = make_idx(buf, 0x00000803, 3, dims, 24);
    gm_dataset ds;
    const char *img = write_bytes("img-idx3-ubyte", buf, n);
    CHECK(gm_read_idx_images(img, NULL, &ds) == GM_OK, "idx images: %s", gm_last_error());
    CHECK(ds.n == 3 && ds.d == 8 && ds.c == 1 && ds.h == 2 && ds.w == 4, "idx geometry");
    int ok = 1;
    for (int i = 0; i < 24 && ds.x; i++) ok &= fabsf(ds.x[i] - (float)((i * 37 + 11) % 256) / 255.0f) < 1e-7f;
    CHECK(ok, "scaled pixel values");
    gm_dataset_free(&ds);
    gm_read_opts raw = {0};
    raw.raw = 1;
    const char *imggz = write_gz("img-idx3-ubyte.gz", buf, n);
    CHECK(gm_read_idx_images(imggz, &raw, &ds) == GM_OK, "idx gz raw: %s", gm_last_error());
    ok = 1;
    for (int i = 0; i < 24 && ds.x; i++) ok &= ds.x[i] == (float)((i * 37 + 11) % 256);
    CHECK(ok && ds.n == 3, "raw 0..255 values");
    gm_dataset_free(&ds);

    static uint8_t lb[64];
    uint32_t ldims[1] = {3};
    size_t nl = make_idx(lb, 0x00000801, 1, ldims, 3);
    const char *lab = write_gz("lab-idx1-ubyte.gz", lb, nl);
    int64_t *y = NULL, ny = 0;
    CHECK(gm_read_idx_labels(lab, &y, &ny) == GM_OK && ny == 3, "labels: %s", gm_last_error());
    if (y) CHECK(y[0] == 11 && y[1] == 48 && y[2] == 85, "label values %lld %lld %lld", (long long)y[0], (long long)y[1], (long long)y[2]);
    free(y);
    CHECK(gm_read_mnist(img, lab, NULL, &ds) == GM_OK && ds.y && ds.y[2] == 85, "mnist pair: %s", gm_last_error());
    gm_dataset_free(&ds);
    uint32_t l4[1] = {4};
    nl = make_idx(lb, 0x00000801, 1, l4, 4);
    CHECK_ERR(gm_read_mnist(img, write_bytes("lab4", lb, nl), NULL, &ds), GM_ERR_FORMAT,
              "lab4: 4 labels but img-idx3-ubyte has 3 images");
    CHECK(ds.x == NULL, "freed on error");

    /* malformations */
    CHECK_ERR(gm_read_idx_images(lab, NULL, &ds), GM_ERR_FORMAT,
              "lab-idx1-ubyte.gz: wrong magic 0x00000801 (idx uint8 1-D labels), expected 0x00000803");
    CHECK_ERR(gm_read_idx_labels(img, &y, &ny), GM_ERR_FORMAT, "wrong magic 0x00000803 (idx uint8 3-D images), expected 0x00000801");
    uint8_t junk[16] = {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_ERR(gm_read_idx_images_mem(junk, 16, "x.zip", NULL, &ds), GM_ERR_FORMAT, "x.zip: wrong magic 0x504b0304 (not an idx uint8 file)");
    CHECK_ERR(gm_read_idx_images_mem(buf, 3, "short", NULL, &ds), GM_ERR_FORMAT, "short: too short for an idx header (3 bytes)");
    CHECK_ERR(gm_read_idx_images_mem(buf, 10, "hdr", NULL, &ds), GM_ERR_FORMAT, "hdr: truncated idx header (10 bytes, need 16)");
    CHECK_ERR(gm_read_idx_images_mem(buf, n - 1, "t.idx", NULL, &ds), GM_ERR_FORMAT,
              "t.idx: truncated: header says 3x2x4 = 24 bytes of data, file has 23");
    CHECK_ERR(gm_read_idx_images(write_gz("trunc-idx3.gz", buf, n - 5), NULL, &ds), GM_ERR_FORMAT,
              "trunc-idx3.gz: truncated: header says 3x2x4 = 24 bytes of data, file has 19");
    buf[n] = 7;
    CHECK_ERR(gm_read_idx_images_mem(buf, n + 1, "t.idx", NULL, &ds), GM_ERR_FORMAT,
              "t.idx: 1 bytes of trailing data after the 3x2x4 = 24 bytes the header gives");
    uint32_t huge[3] = {60000, 28000, 28000};
    size_t nh = make_idx(buf, 0x00000803, 3, huge, 10);
    CHECK_ERR(gm_read_idx_images_mem(buf, nh, "huge", NULL, &ds), GM_ERR_FORMAT, "huge: idx dims are too large");
    uint32_t zero[3] = {0, 28, 28};
    nh = make_idx(buf, 0x00000803, 3, zero, 0);
    CHECK_ERR(gm_read_idx_images_mem(buf, nh, "zero", NULL, &ds), GM_ERR_FORMAT, "zero: idx dim 0 is 0");
    CHECK_ERR(gm_read_idx_labels_mem(lb, nl - 2, "l.idx", &y, &ny), GM_ERR_FORMAT,
              "l.idx: truncated: header says 4 = 4 bytes of data, file has 2");
}

/* ==== npy ==== */

/* header dict text -> a complete .npy (version major) with data appended */
static size_t make_npy(uint8_t *out, int major, const char *dict, const void *data, size_t nd) {
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = pre + dl + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hl = dl + pad + 1;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    if (major == 1) { out[8] = (uint8_t)hl; out[9] = (uint8_t)(hl >> 8); }
    else for (int k = 0; k < 4; k++) out[8 + k] = (uint8_t)(hl >> (8 * k));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', pad);
    out[pre + dl + pad] = '\n';
    memcpy(out + pre + hl, data, nd);
    return pre + hl + nd;
}

static void test_npy(void) {
    static uint8_t b[4096];
    gm_npy a;
    float f[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    size_t n = make_npy(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f);
    CHECK(gm_read_npy_mem(b, n, "f4.npy", &a) == GM_OK, "f4: %s", gm_last_error());
    CHECK(a.dtype == GM_NPY_F4 && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.numel == 6 && a.i == NULL, "f4 meta");
    if (a.f) CHECK_ARRAYS("f4 data", a.f, f, 6, 0, 0);
    gm_npy_free(&a);
    double d4[4] = {0.5, -1e-3, 1e10, 7};
    float d4f[4] = {0.5f, -1e-3f, 1e10f, 7};
    for (int major = 1; major <= 3; major++) {
        n = make_npy(b, major, "{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<f8\"}", d4, sizeof d4);
        CHECK(gm_read_npy_mem(b, n, "f8.npy", &a) == GM_OK && a.ndim == 1 && a.shape[0] == 4, "f8 v%d: %s", major, gm_last_error());
        if (a.f) CHECK_ARRAYS("f8 data", a.f, d4f, 4, 0, 0);
        gm_npy_free(&a);
    }
    uint8_t u[8] = {0, 255, 10, 20, 30, 40, 50, 60};
    n = make_npy(b, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }", u, 8);
    const char *upath = write_gz("u1.npy.gz", b, n);
    CHECK(gm_read_npy(upath, &a) == GM_OK && a.dtype == GM_NPY_U1 && a.i && a.i[1] == 255 && a.f[1] == 255.0f, "u1: %s", gm_last_error());
    gm_npy_free(&a);
    gm_dataset ds;
    CHECK(gm_dataset_from_npy(upath, NULL, NULL, &ds) == GM_OK, "from_npy u1: %s", gm_last_error());
    CHECK(ds.n == 2 && ds.d == 4 && ds.c == 1 && ds.h == 2 && ds.w == 2 && ds.x[1] == 1.0f && fabsf(ds.x[2] - 10.0f / 255.0f) < 1e-7f,
          "u1 dataset: n %lld d %lld geom %d %d %d", (long long)ds.n, (long long)ds.d, ds.c, ds.h, ds.w);
    gm_dataset_free(&ds);
    int64_t lab[2] = {7, -3};
    n = make_npy(b, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", lab, sizeof lab);
    const char *ypath = write_bytes("y.npy", b, n);
    float x4[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    n = make_npy(b, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 2, 2), }", x4, sizeof x4);
    const char *xpath = write_bytes("x.npy", b, n);
    CHECK(gm_dataset_from_npy(xpath, ypath, NULL, &ds) == GM_OK, "from_npy x,y: %s", gm_last_error());
    CHECK(ds.n == 2 && ds.d == 4 && ds.c == 1 && ds.h == 2 && ds.w == 2 && ds.y && ds.y[0] == 7 && ds.y[1] == -3 && ds.x[7] == 7.0f,
          "4-D dataset with labels");
    gm_dataset_free(&ds);
    CHECK_ERR(gm_dataset_from_npy(xpath, xpath, NULL, &ds), GM_ERR_FORMAT, "x.npy: labels must be a 1-D integer array");
    n = make_npy(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f, 4);
    CHECK(gm_read_npy_mem(b, n, "s.npy", &a) == GM_OK && a.ndim == 0 && a.numel == 1 && a.f[0] == 1.5f, "0-d: %s", gm_last_error());
    gm_npy_free(&a);

    /* malformations */
    CHECK_ERR(gm_read_npy_mem("PK\3\4xxxxxxxx", 12, "a.npz", &a), GM_ERR_FORMAT, "a.npz: not a .npy file (bad magic)");
    n = make_npy(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, sizeof f);
    b[6] = 4;
    CHECK_ERR(gm_read_npy_mem(b, n, "v.npy", &a), GM_ERR_FORMAT, "v.npy: unsupported .npy version 4.0");
    b[6] = 1;
    CHECK_ERR(gm_read_npy_mem(b, n - 4, "t.npy", &a), GM_ERR_FORMAT, "t.npy: data is 20 bytes, but shape (2, 3) of <f4 needs 24 (truncated)");
    b[n] = 0;
    CHECK_ERR(gm_read_npy_mem(b, n + 1, "t.npy", &a), GM_ERR_FORMAT, "data is 25 bytes, but shape (2, 3) of <f4 needs 24 (trailing data)");
    CHECK_ERR(gm_read_npy_mem(b, 40, "h.npy", &a), GM_ERR_FORMAT, "h.npy: truncated: header length 118 but only 30 bytes follow");
    struct { const char *dict; const char *msg; } bad[] = {
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "fortran_order True is not supported (C order only)"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "dtype '>f4' is not supported (supported: <f4 <f8 |u1 <i8)"},
        {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<i4' is not supported"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 6), }", "shape has more than 4 dims"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", "a 1-tuple is written (n,)"},
        {"{'descr': '<f4', 'fortran_order': False, }", "missing key 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", "unknown key 'extra'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "duplicate key 'descr'"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3)}", "structured dtypes are not supported"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}", "'fortran_order' must be True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", "expected a non-negative integer in 'shape'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk", "unexpected text after the dict"},
        {"['descr', '<f4']", "expected '{'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected ',' or '}'"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        n = make_npy(b, 1, bad[k].dict, f, sizeof f);
        CHECK_ERR(gm_read_npy_mem(b, n, "bad.npy", &a), GM_ERR_FORMAT, bad[k].msg);
    }
    /* regression: with 0 rows the other dims are not bounded by the data, so D was
     * an unchecked product (1e14 accepted as D; 4 dims overflowed int64) */
    n = make_npy(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 100000000000000), }", f, 0);
    CHECK_ERR(gm_dataset_from_npy(write_bytes("wide.npy", b, n), NULL, NULL, &ds), GM_ERR_FORMAT,
              "wide.npy: rows of more than 2147483648 values are not supported");
    CHECK(ds.x == NULL && ds.d == 0, "nothing returned on error");
    n = make_npy(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 100000000000000, 100000000000000, 100000000000000), }",
                 f, 0);
    CHECK_ERR(gm_dataset_from_npy(write_bytes("wide4.npy", b, n), NULL, NULL, &ds), GM_ERR_FORMAT,
              "wide4.npy: rows of more than 2147483648 values are not supported");
    n = make_npy(b, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 2), }", f, 0);
    CHECK(gm_dataset_from_npy(write_bytes("empty3.npy", b, n), NULL, NULL, &ds) == GM_OK && ds.n == 0 && ds.d == 6 &&
              ds.h == 3 && ds.w == 2, "0-row images: %s", gm_last_error());
    gm_dataset_free(&ds);
}

/* regression: a directory "read" as a file gave "larger than the 4294967296-byte limit" (ext4 reports a
 * huge size for directories) or a bare read error */
static void test_not_a_file(void) {
    gm_dataset ds;
    CHECK_ERR(gm_read_amat(gm_test_tmpdir(), NULL, &ds), GM_ERR_IO, "not a regular file");
    CHECK_ERR(gm_read_csv(gm_test_tmpdir(), NULL, &ds), GM_ERR_IO, "not a regular file");
    gm_npy a;
    CHECK_ERR(gm_read_npy(gm_test_tmpdir(), &a), GM_ERR_IO, "not a regular file");
}

/* ==== csv ==== */

static void test_csv(void) {
    gm_dataset ds;
    const char *t = "a,b,c\n1,2,3\n4,5.5,-6\n";
    CHECK(gm_read_csv(write_bytes("h.csv", t, strlen(t)), NULL, &ds) == GM_OK, "csv header: %s", gm_last_error());
    float w[6] = {1, 2, 3, 4, 5.5f, -6};
    CHECK(ds.n == 2 && ds.d == 3, "csv shape");
    if (ds.x) CHECK_ARRAYS("csv values", ds.x, w, 6, 0, 0);
    gm_dataset_free(&ds);
    const char *t2 = " \"x\" , \"y\"\r\n 1.5 , -2\r\n\"3\",4\r\n\r\n";
    CHECK(gm_read_csv_mem(t2, strlen(t2), "q.csv", NULL, &ds) == GM_OK && ds.n == 2 && ds.d == 2 && ds.x[0] == 1.5f && ds.x[2] == 3.0f,
          "quoted/CRLF csv: %s", gm_last_error());
    gm_dataset_free(&ds);
    const char *t3 = "1,2\n3,4\n";
    CHECK(gm_read_csv_mem(t3, strlen(t3), "n.csv", NULL, &ds) == GM_OK && ds.n == 2, "no header auto");
    gm_dataset_free(&ds);
    gm_read_opts o = {0};
    o.csv_header = 1;
    CHECK(gm_read_csv_mem(t3, strlen(t3), "n.csv", &o, &ds) == GM_OK && ds.n == 1 && ds.x[0] == 3.0f, "forced header");
    gm_dataset_free(&ds);
    const char *t4 = "x,y,label\n0.5,1,3\n0.25,2,0\n";
    o.csv_header = 0;
    o.csv_label_col = 3;
    CHECK(gm_read_csv(write_gz("l.csv.gz", t4, strlen(t4)), &o, &ds) == GM_OK, "label col: %s", gm_last_error());
    CHECK(ds.n == 2 && ds.d == 2 && ds.y && ds.y[0] == 3 && ds.y[1] == 0 && ds.x[2] == 0.25f, "labels moved to y");
    gm_dataset_free(&ds);
    o.csv_label_col = 1;
    const char *t5 = "1,0.5\n2.5,1\n";
    CHECK_ERR(gm_read_csv_mem(t5, strlen(t5), "l.csv", &o, &ds), GM_ERR_FORMAT, "l.csv: line 2 column 1: '2.5' is not an integer label");
    o.csv_label_col = 4;
    CHECK_ERR(gm_read_csv_mem(t5, strlen(t5), "l.csv", &o, &ds), GM_ERR_ARG, "label column 4 is outside 1..2");

    const char *e1 = "a,b,c\n1,2,3\n4,5\n";
    CHECK_ERR(gm_read_csv_mem(e1, strlen(e1), "e.csv", NULL, &ds), GM_ERR_FORMAT, "e.csv: line 3 has 2 columns, expected 3");
    const char *e2 = "a,b,c\n1,2,3\n4,abc,6\n";
    CHECK_ERR(gm_read_csv_mem(e2, strlen(e2), "e.csv", NULL, &ds), GM_ERR_FORMAT, "e.csv: line 3 column 2: 'abc' is not a number");
    const char *e3 = "1,2,3\n,5,6\n";
    CHECK_ERR(gm_read_csv_mem(e3, strlen(e3), "e.csv", NULL, &ds), GM_ERR_FORMAT, "e.csv: line 2 column 1 is empty");
    const char *e4 = "1,2,nan\n";
    CHECK_ERR(gm_read_csv_mem(e4, strlen(e4), "e.csv", NULL, &ds), GM_ERR_FORMAT, "line 1 column 3: 'nan' is not finite");
    const char *e5 = "a,b\n1,2\n\n3,4\n";
    CHECK_ERR(gm_read_csv_mem(e5, strlen(e5), "e.csv", NULL, &ds), GM_ERR_FORMAT, "e.csv: line 3 is empty");
    CHECK_ERR(gm_read_csv_mem("a,b\n", 4, "e.csv", NULL, &ds), GM_ERR_FORMAT, "e.csv: no data rows");
    o.csv_label_col = 0;
    o.csv_header = -1;
    CHECK_ERR(gm_read_csv_mem(e2, strlen(e2), "e.csv", &o, &ds), GM_ERR_FORMAT, "e.csv: line 1 column 1: 'a' is not a number");
    o.csv_header = 0;
    o.binary = 1;
    CHECK_ERR(gm_read_csv_mem(t3, strlen(t3), "b.csv", &o, &ds), GM_ERR_FORMAT, "b.csv: line 1 column 2: '2' is not 0 or 1");
}

int main(void) {
    test_amat();
    test_idx();
    test_npy();
    test_csv();
    test_not_a_file();
    TEST_MAIN_END();
}
