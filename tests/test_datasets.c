/*
 * test_datasets.c — the dataset registry, the search path, loading by name
 * (from fixture directories made here, never from /work/shared/data), split
 * slices, the missing-file message, the download lists and SHA-256.
 */
#include "genmod/datasets.h"
#include "testutil.h"
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char *tpath(const char *rel) {
    static char buf[8][4096];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", gm_test_tmpdir(), rel);
    return buf[k];
}

static void mkdirs(const char *rel) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", gm_test_tmpdir(), rel);
    for (char *s = p + strlen(gm_test_tmpdir()) + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(p, 0755); *s = '/'; }
    mkdir(p, 0755);
}

static void write_file(const char *rel, const void *data, size_t n, int gz) {
    const char *path = tpath(rel);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || gzwrite(g, data, (unsigned)n) != (int)n) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, n, f) != n) { fprintf(stderr, "cannot write %s\n", path); exit(2); }
        fclose(f);
    }
}

/* idx images: N 28x28 images, pixel (i, j) = (i * 31 + j) % 256; labels i % 10 */
static void write_idx_pair(const char *dir, const char *prefix, uint32_t N, int gz) {
    size_t n = 16 + (size_t)N * 784;
    uint8_t *b = malloc(n);
    uint32_t h[4] = {0x803, N, 28, 28};
    for (int k = 0; k < 4; k++) for (int s = 0; s < 4; s++) b[4 * k + s] = (uint8_t)(h[k] >> (24 - 8 * s));
    for (uint32_t i = 0; i < N; i++) for (int j = 0; j < 784; j++) b[16 + (size_t)i * 784 + j] = (uint8_t)((i * 31 + j) % 256);
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_file(rel, b, n, gz);
    uint32_t hl[2] = {0x801, N};
    for (int k = 0; k < 2; k++) for (int s = 0; s < 4; s++) b[4 * k + s] = (uint8_t)(hl[k] >> (24 - 8 * s));
    for (uint32_t i = 0; i < N; i++) b[8 + i] = (uint8_t)(i % 10);
    snprintf(rel, sizeof rel, "%s/%s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
    write_file(rel, b, 8 + N, gz);
    free(b);
}

#define CHECK_ERR(expr, want_st, substr) do { \
    gm_clear_error(); \
    gm_status st_ = (expr); \
    CHECK(st_ == (want_st), "%s: status %s, expected %s (%s)", #expr, gm_status_name(st_), gm_status_name(want_st), gm_last_error()); \
    CHECK(strstr(gm_last_error(), (substr)) != NULL, "message '%s' lacks '%s'", gm_last_error(), (substr)); } while (0)

static void test_registry(void) {
    CHECK(gm_dataset_count() == 10, "10 datasets, got %d", gm_dataset_count());
    const char *names[] = {"binarized-mnist", "mnist", "fashion-mnist", "two-moons", "8gaussians", "checkerboard",
                           "pinwheel", "2spirals", "swissroll", "rings"};
    for (int i = 0; i < 10; i++) {
        const gm_dataset_info *in = gm_dataset_find(names[i]);
        CHECK(in && !strcmp(in->name, names[i]) && in->description && in->splits && in->d > 0, "find %s", names[i]);
    }
    CHECK(gm_dataset_find("moons") == gm_dataset_find("two-moons"), "alias moons");
    CHECK(gm_dataset_find("nope") == NULL && gm_dataset_at(-1) == NULL && gm_dataset_at(10) == NULL, "unknown");
    const gm_dataset_info *b = gm_dataset_find("binarized-mnist");
    CHECK(b->n_train == 50000 && b->n_valid == 10000 && b->n_test == 10000 && b->d == 784 && b->h == 28 && !b->has_labels,
          "binarized-mnist info");
    const gm_dataset_info *f = gm_dataset_find("fashion-mnist");
    CHECK(f->n_train == 55000 && f->n_valid == 5000 && f->n_test == 10000 && f->has_labels && strstr(f->how_to_get, "apt-get"),
          "fashion-mnist info");
    CHECK(gm_dataset_find("rings")->synthetic && gm_dataset_find("rings")->d == 2, "rings synthetic");
}

static void test_search_path(void) {
    char buf[4096];
    unsetenv("GENMOD_DATA");
    setenv("HOME", "/home/someone", 1);
    CHECK(gm_data_search_path(NULL, buf, sizeof buf) == GM_OK && !strcmp(buf, "/home/someone/.cache/genmod"), "default: %s", buf);
    setenv("GENMOD_DATA", "/a:/b", 1);
    CHECK(gm_data_search_path(NULL, buf, sizeof buf) == GM_OK && !strcmp(buf, "/a:/b"), "env: %s", buf);
    CHECK(gm_data_search_path("/c", buf, sizeof buf) == GM_OK && !strcmp(buf, "/c"), "explicit wins: %s", buf);
    CHECK(gm_data_fetch_dir(NULL, buf, sizeof buf) == GM_OK && !strcmp(buf, "/a"), "fetch dir = first: %s", buf);
    CHECK(gm_data_fetch_dir("::~/data:/x", buf, sizeof buf) == GM_OK && !strcmp(buf, "/home/someone/data"), "~ expanded: %s", buf);
    CHECK_ERR(gm_data_search_path("/c", buf, 2), GM_ERR_ARG, "too long");
    unsetenv("GENMOD_DATA");
}

static void test_binarized(void) {
    mkdirs("dirA");
    mkdirs("dirB/binarized-mnist");
    static char txt[6 * 1568 + 1];
    size_t k = 0;
    for (int r = 0; r < 6; r++)
        for (int j = 0; j < 784; j++) { txt[k++] = (char)('0' + ((r + j) % 3 == 0)); txt[k++] = j == 783 ? '\n' : ' '; }
    write_file("dirB/binarized-mnist/binarized_mnist_valid.amat.gz", txt, k, 1);
    write_file("dirB/binarized-mnist/binarized_mnist_test.amat", txt, k, 0);
    char sp[8192];
    snprintf(sp, sizeof sp, "%s:%s", tpath("dirA"), tpath("dirB"));
    gm_data_opts o = {0};
    o.search_path = sp;
    gm_dataset ds;
    CHECK(gm_dataset_load("binarized-mnist", "valid", &o, &ds) == GM_OK, "load valid: %s", gm_last_error());
    CHECK(ds.n == 6 && ds.d == 784 && ds.c == 1 && ds.h == 28 && ds.w == 28 && !ds.y, "binarized geometry");
    CHECK(!strcmp(ds.name, "binarized-mnist:valid"), "name %s", ds.name);
    if (ds.x) CHECK(ds.x[0] == 1.0f && ds.x[1] == 0.0f && ds.x[784 + 2] == 1.0f, "binarized values");
    gm_dataset_free(&ds);
    CHECK(gm_dataset_load("binarized-mnist", "test[1:3]", &o, &ds) == GM_OK && ds.n == 2 && ds.x[1] == 0.0f && ds.x[2] == 1.0f,
          "slice [1:3]: %s", gm_last_error());
    CHECK(!strcmp(ds.name, "binarized-mnist:test[1:3]"), "slice name %s", ds.name);
    gm_dataset_free(&ds);
    /* env search path, missing split: the message lists dirs, file names and how to get them */
    setenv("GENMOD_DATA", sp, 1);
    CHECK_ERR(gm_dataset_load("binarized-mnist", "train", NULL, &ds), GM_ERR_NOTFOUND,
              "binarized-mnist split 'train': not found: looked for binarized-mnist/binarized_mnist_train.amat (plain or .gz) in ");
    CHECK(strstr(gm_last_error(), tpath("dirA")) && strstr(gm_last_error(), tpath("dirB")), "dirs listed: %s", gm_last_error());
    CHECK(strstr(gm_last_error(), "`genmod data fetch binarized-mnist`") != NULL, "how to get: %s", gm_last_error());
    unsetenv("GENMOD_DATA");
    CHECK_ERR(gm_dataset_load("binarized-mnist", "extra", &o, &ds), GM_ERR_ARG, "unknown split 'extra' (train, valid, test)");
    CHECK_ERR(gm_dataset_load("no-such-set", "train", &o, &ds), GM_ERR_ARG, "dataset 'no-such-set' is unknown (known: binarized-mnist");
    /* non-binary content is rejected for binarized-mnist */
    txt[0] = '2';
    write_file("dirB/binarized-mnist/binarized_mnist_train.amat", txt, k, 0);
    CHECK_ERR(gm_dataset_load("binarized-mnist", "train", &o, &ds), GM_ERR_FORMAT,
              "binarized_mnist_train.amat: line 1 value 1 is 2, expected 0 or 1");
    /* slices */
    CHECK_ERR(gm_dataset_load("binarized-mnist", "test[4:2]", &o, &ds), GM_ERR_ARG, "split 'test[4:2]': rows outside 0..6");
    CHECK_ERR(gm_dataset_load("binarized-mnist", "test[2]", &o, &ds), GM_ERR_ARG, "expected NAME or NAME[a:b]");
    CHECK(gm_dataset_load("binarized-mnist", "test[-2:]", &o, &ds) == GM_OK && ds.n == 2, "negative slice");
    gm_dataset_free(&ds);
    CHECK(gm_dataset_load("binarized-mnist", "test[:]", &o, &ds) == GM_OK && ds.n == 6, "full slice");
    gm_dataset_free(&ds);
}

static void test_mnist_like(void) {
    mkdirs("dirC/mnist");
    write_idx_pair("dirC/mnist", "t10k", 7, 1);
    gm_data_opts o = {0};
    o.search_path = tpath("dirC");
    gm_dataset ds;
    CHECK(gm_dataset_load("mnist", "test", &o, &ds) == GM_OK, "mnist test: %s", gm_last_error());
    CHECK(ds.n == 7 && ds.d == 784 && ds.h == 28 && ds.y && ds.y[3] == 3, "mnist geometry and labels");
    if (ds.x) CHECK_CLOSE(ds.x[2 * 784 + 5], (float)((2 * 31 + 5) % 256) / 255.0f, 1e-7, 0, "mnist pixel scaled");
    gm_dataset_free(&ds);
    o.raw = 1;
    CHECK(gm_dataset_load("mnist", "test[2:5]", &o, &ds) == GM_OK && ds.n == 3 && ds.y[0] == 2 && ds.x[5] == (float)(2 * 31 + 5),
          "mnist raw slice: %s", gm_last_error());
    gm_dataset_free(&ds);
    CHECK_ERR(gm_dataset_load("mnist", "train", &o, &ds), GM_ERR_NOTFOUND,
              "mnist split 'train': not found: looked for mnist/train-images-idx3-ubyte and mnist/train-labels-idx1-ubyte");
    CHECK(strstr(gm_last_error(), "genmod data fetch mnist") != NULL, "fetch hint: %s", gm_last_error());

    /* fashion-mnist: the last 5000 training images are "valid" */
    mkdirs("dirD/fashion-mnist");
    write_idx_pair("dirD/fashion-mnist", "train", 5003, 0);
    write_idx_pair("dirD/fashion-mnist", "t10k", 4, 1);
    o.search_path = tpath("dirD");
    o.raw = 1;
    CHECK(gm_dataset_load("fashion-mnist", "train", &o, &ds) == GM_OK && ds.n == 3 && ds.y[2] == 2, "fashion train: %s", gm_last_error());
    gm_dataset_free(&ds);
    CHECK(gm_dataset_load("fashion-mnist", "valid", &o, &ds) == GM_OK && ds.n == 5000, "fashion valid: %s", gm_last_error());
    if (ds.x && ds.y) CHECK(ds.y[0] == 3 && ds.x[0] == (float)((3 * 31) % 256) && ds.y[4999] == 5002 % 10, "valid = rows 3..5002");
    gm_dataset_free(&ds);
    CHECK(gm_dataset_load("fashion-mnist", "trainval", &o, &ds) == GM_OK && ds.n == 5003, "trainval");
    gm_dataset_free(&ds);
    CHECK(gm_dataset_load("fashion-mnist", "test", &o, &ds) == GM_OK && ds.n == 4 && ds.y[3] == 3, "fashion test");
    gm_dataset_free(&ds);
    if (access("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", R_OK) != 0) {
        o.search_path = tpath("dirA");
        CHECK_ERR(gm_dataset_load("fashion-mnist", "train", &o, &ds), GM_ERR_NOTFOUND,
                  "apt-get install dataset-fashion-mnist");
        CHECK(strstr(gm_last_error(), "/usr/share/datasets/fashion-mnist") != NULL, "system dir listed: %s", gm_last_error());
    }
    /* wrong geometry */
    mkdirs("dirE/mnist");
    uint8_t b[16 + 2 * 16] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4};
    write_file("dirE/mnist/t10k-images-idx3-ubyte", b, sizeof b, 0);
    uint8_t l[10] = {0, 0, 8, 1, 0, 0, 0, 2, 1, 2};
    write_file("dirE/mnist/t10k-labels-idx1-ubyte", l, sizeof l, 0);
    o.search_path = tpath("dirE");
    CHECK_ERR(gm_dataset_load("mnist", "test", &o, &ds), GM_ERR_FORMAT, "t10k-images-idx3-ubyte: images are 4x4, expected 28x28");
}

static void test_synthetic(void) {
    gm_data_opts o = {0};
    o.seed = 7;
    gm_dataset a, b, c;
    CHECK(gm_dataset_load("8gaussians", "train", &o, &a) == GM_OK && a.n == 50000 && a.d == 2 && a.y, "8g train");
    CHECK(gm_dataset_load("8gaussians", "train", &o, &b) == GM_OK, "8g again");
    CHECK(a.x && b.x && memcmp(a.x, b.x, (size_t)a.n * 2 * sizeof(float)) == 0, "same seed, same data");
    CHECK(!strcmp(a.name, "8gaussians:train"), "name %s", a.name);
    o.n = 1000;
    CHECK(gm_dataset_load("8gauss", "test", &o, &c) == GM_OK && c.n == 1000, "n override and alias");
    CHECK(c.x && memcmp(a.x, c.x, 1000 * 2 * sizeof(float)) != 0, "test split differs from train");
    gm_dataset_free(&c);
    o.seed = 8;
    CHECK(gm_dataset_load("8gaussians", "train", &o, &c) == GM_OK && memcmp(a.x, c.x, 1000 * 2 * sizeof(float)) != 0, "other seed differs");
    gm_dataset_free(&a);
    gm_dataset_free(&b);
    gm_dataset_free(&c);
    CHECK(gm_dataset_load("checkerboard", "valid", &o, &a) == GM_OK && a.n == 1000 && a.y == NULL, "checkerboard has no labels");
    gm_dataset_free(&a);
    CHECK_ERR(gm_dataset_load("rings", "holdout", &o, &a), GM_ERR_ARG, "rings: unknown split 'holdout'");
}

static void test_fetch_lists(void) {
    const char *sets[3] = {"binarized-mnist", "mnist", "fashion-mnist"};
    int want_n[3] = {3, 4, 4};
    for (int s = 0; s < 3; s++) {
        const gm_fetch_file *f;
        int n;
        CHECK(gm_dataset_fetch_list(sets[s], &f, &n) == GM_OK && n == want_n[s], "%s list", sets[s]);
        for (int i = 0; i < n; i++) {
            int hex = strlen(f[i].sha256) == 64;
            for (int k = 0; hex && k < 64; k++) hex = isxdigit((unsigned char)f[i].sha256[k]) && !isupper((unsigned char)f[i].sha256[k]);
            CHECK(hex && f[i].size > 0, "%s: sha256 is 64 lowercase hex", f[i].relpath);
            CHECK(!strncmp(f[i].relpath, sets[s], strlen(sets[s])) && f[i].relpath[strlen(sets[s])] == '/', "relpath %s", f[i].relpath);
            CHECK(!strncmp(f[i].url, "http", 4), "url %s", f[i].url);
            const char *base = strrchr(f[i].relpath, '/') + 1;
            CHECK(strstr(f[i].url, base) != NULL, "url names the file: %s", f[i].url);
        }
    }
    const gm_fetch_file *f;
    int n;
    CHECK_ERR(gm_dataset_fetch_list("two-moons", &f, &n), GM_ERR_UNSUPPORTED, "two-moons is synthetic");
    CHECK_ERR(gm_dataset_fetch_list("xyz", &f, &n), GM_ERR_ARG, "dataset 'xyz' is unknown");
}

static void test_sha256(void) {
    char hex[65];
    gm_sha256_hex("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "empty: %s", hex);
    gm_sha256_hex("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc: %s", hex);
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    gm_sha256_hex(m448, strlen(m448), hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "448-bit: %s", hex);
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    gm_sha256_hex(m896, strlen(m896), hex);
    CHECK(!strcmp(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"), "896-bit: %s", hex);
    /* one million 'a' fed in uneven chunks */
    static char a[1000];
    memset(a, 'a', sizeof a);
    gm_sha256 s;
    gm_sha256_init(&s);
    size_t fed = 0, step = 1;
    while (fed < 1000000) {
        size_t take = step < 1000000 - fed ? step : 1000000 - fed;
        if (take > sizeof a) take = sizeof a;
        gm_sha256_update(&s, a, take);
        fed += take;
        step = step * 7 % 997 + 1;
    }
    uint8_t d[32];
    gm_sha256_final(&s, d);
    static const uint8_t want[4] = {0xcd, 0xc7, 0x6e, 0x5c};
    CHECK(!memcmp(d, want, 4) && d[31] == 0xd0, "million a: %02x%02x..%02x", d[0], d[1], d[31]);
    /* padding boundaries: chunked == one shot for lengths 0..130 */
    static uint8_t buf[131];
    for (int i = 0; i < 131; i++) buf[i] = (uint8_t)(i * 17 + 3);
    int ok = 1;
    for (size_t len = 0; len <= 130; len++) {
        char h1[65], h2[65];
        gm_sha256_hex(buf, len, h1);
        gm_sha256_init(&s);
        for (size_t i = 0; i < len; i++) gm_sha256_update(&s, buf + i, 1);
        gm_sha256_final(&s, d);
        static const char *dig = "0123456789abcdef";
        for (int i = 0; i < 32; i++) { h2[2 * i] = dig[d[i] >> 4]; h2[2 * i + 1] = dig[d[i] & 15]; }
        h2[64] = 0;
        ok &= !strcmp(h1, h2);
    }
    CHECK(ok, "byte-wise updates equal one-shot for lengths 0..130");
    write_file("abc.txt", "abc", 3, 0);
    CHECK(gm_sha256_file(tpath("abc.txt"), hex) == GM_OK && !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "file");
    CHECK(gm_verify_sha256(tpath("abc.txt"), "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == GM_OK, "upper-case ok");
    CHECK_ERR(gm_verify_sha256(tpath("abc.txt"), "0000000000000000000000000000000000000000000000000000000000000000"), GM_ERR_FORMAT,
              "abc.txt: sha256 mismatch: got ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, expected 0000");
    CHECK_ERR(gm_verify_sha256(tpath("abc.txt"), "ba78"), GM_ERR_FORMAT, "sha256 mismatch");
    CHECK_ERR(gm_verify_sha256(tpath("missing.bin"), "ba78"), GM_ERR_NOTFOUND, "missing.bin: cannot open");
}

int main(void) {
    test_registry();
    test_search_path();
    test_binarized();
    test_mnist_like();
    test_synthetic();
    test_fetch_lists();
    test_sha256();
    TEST_MAIN_END();
}
