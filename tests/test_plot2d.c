/*
 * test_plot2d.c — the three-panel 2-D density plot (gm_plot2d_png in
 * genmod/png.h): a standard Gaussian on [-5, 5]^2 has grid mass 1, the PNG
 * reads back as 3 * size + 2 * pad by size (no outer border) with a hot
 * centre, every data point visible, a dense sample cloud not saturated and
 * empty panels blank; the callback is chunked, non-finite log p counts as 0,
 * the automatic box works; bad arguments and callback errors are returned.
 */
#include "genmod/png.h"
#include "genmod/rng.h"
#include "testutil.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define PI 3.14159265358979323846

static char g_path[4200];
static const char *tmp_path(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", gm_test_tmpdir(), name);
    return g_path;
}

static int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

typedef struct {
    int calls;
    int64_t max_n, total;
    int fail_at;        /* call index that fails (-1: never) */
    int fail_quiet;     /* fail without setting a message */
    int nan_left;       /* log p = NaN for x < 0 */
} gauss_ctx;

/* standard 2-D Gaussian: log p = -(x^2 + y^2) / 2 - log(2 pi) */
static gm_status gauss_logp(void *user, const float *xy, int64_t n, double *out) {
    gauss_ctx *g = user;
    if (g->calls == g->fail_at) {
        g->calls++;
        if (g->fail_quiet) return GM_ERR_NONFINITE;
        return gm_error(GM_ERR_NONFINITE, "gauss: boom at call %d", g->fail_at);
    }
    g->calls++;
    if (n > g->max_n) g->max_n = n;
    g->total += n;
    for (int64_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        out[i] = (g->nan_left && x < 0) ? NAN : -0.5 * (x * x + y * y) - log(2 * PI);
    }
    return GM_OK;
}

static gauss_ctx new_ctx(void) {
    gauss_ctx g;
    memset(&g, 0, sizeof g);
    g.fail_at = -1;
    return g;
}

static const uint8_t *px(const gm_png_image *img, int row, int col) {
    return img->pixels + ((size_t)row * (size_t)img->width + (size_t)col) * 3;
}
static int same(const uint8_t *a, const uint8_t *b) { return a[0] == b[0] && a[1] == b[1] && a[2] == b[2]; }
static const uint8_t k_bg[3] = {0x44, 0x01, 0x54}, k_top[3] = {0xfd, 0xe7, 0x25}; /* viridis(0), viridis(1) */

static void test_gaussian(void) {
    enum { ND = 2000, NS = 100000 };
    static float data[ND * 2], samples[NS * 2];
    gm_rng r;
    gm_rng_seed(&r, 7, GM_STREAM_SAMPLE);
    gm_rng_fill_normal(&r, data, ND * 2, 0.0f, 1.0f);
    gm_rng_fill_normal(&r, samples, NS * 2, 0.0f, 1.0f);
    data[0] = 3.0f; /* a marker at pixel (row 204, col 204) of the data panel */
    data[1] = -3.0f;
    gm_plot2d_opts o = gm_plot2d_defaults();
    CHECK(o.size == 256 && o.pad == 4 && o.lo_x == 0 && o.hi_y == 0, "defaults");
    o.lo_x = o.lo_y = -5.0f;
    o.hi_x = o.hi_y = 5.0f;
    gauss_ctx g = new_ctx();
    double mass = -1;
    const char *path = tmp_path("gauss.png");
    CHECK(gm_plot2d_png(path, gauss_logp, &g, data, ND, samples, NS, &o, &mass) == GM_OK, "plot: %s", gm_last_error());
    CHECK_CLOSE(mass, 1.0, 1e-3, 0, "Gaussian grid mass on [-5, 5]^2");
    CHECK(g.max_n <= 4096 && g.total == 256 * 256 && g.calls == 16, "chunks: %d calls, max %lld, total %lld", g.calls,
          (long long)g.max_n, (long long)g.total);

    gm_png_image img;
    CHECK(gm_png_read(path, &img) == GM_OK, "read back: %s", gm_last_error());
    const int S = 256, P = 4, W = 3 * S + 2 * P; /* 776 x 256, no outer border */
    CHECK(img.width == W && img.height == S && img.channels == 3, "size %dx%d c%d, expected %dx%d c3", img.width,
          img.height, img.channels, W, S);
    if (img.width != W || img.height != S || img.channels != 3) { gm_png_image_free(&img); return; }
    /* panel 1: the four central pixels hold the maximum -> viridis(1); corners ~0 -> viridis(0) */
    const uint8_t *c = px(&img, S / 2, S / 2), *k = px(&img, 0, 0);
    CHECK(c[0] + c[1] + c[2] > k[0] + k[1] + k[2] + 200, "centre (%d,%d,%d) hotter than corner (%d,%d,%d)", c[0], c[1],
          c[2], k[0], k[1], k[2]);
    CHECK(same(c, k_top) && same(k, k_bg), "centre is viridis(1), corner viridis(0)");
    /* separators are white */
    int white = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < P; x++) {
            const uint8_t *a = px(&img, y, S + x), *b = px(&img, y, 2 * S + P + x);
            white &= a[0] == 255 && a[1] == 255 && a[2] == 255 && b[0] == 255 && b[1] == 255 && b[2] == 255;
        }
    CHECK(white, "pad columns are white");
    /* panel 2: every data point inside the box lands on a non-background pixel; far corner is background */
    int missed = 0, inside = 0;
    for (int i = 0; i < ND; i++) {
        double fx = (data[2 * i] + 5.0) / 10.0 * S, fy = (5.0 - data[2 * i + 1]) / 10.0 * S;
        if (!(fx >= 0 && fx < S && fy >= 0 && fy < S)) continue;
        inside++;
        missed += same(px(&img, (int)fy, S + P + (int)fx), k_bg);
    }
    CHECK(missed == 0 && inside > ND - 5, "%d of %d data points on background pixels", missed, inside);
    CHECK(!same(px(&img, 204, S + P + 204), k_bg), "marker point visible");
    CHECK(same(px(&img, 5, S + P + 5), k_bg), "data panel corner is background");
    /* panel 3: 10^5 points are not saturated: many levels, few top-colour pixels, centre != 1.5 sigma */
    const int x3 = 2 * (S + P);
    int n_top = 0, n_bg = 0, levels = 0;
    static unsigned char seen[256];
    memset(seen, 0, sizeof seen);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            const uint8_t *a = px(&img, y, x3 + x);
            n_top += same(a, k_top);
            n_bg += same(a, k_bg);
            if (!seen[a[1]]) { seen[a[1]] = 1; levels++; } /* viridis green is monotone */
        }
    CHECK(levels >= 20 && n_top < S * S / 100, "dense cloud: %d green levels, %d top-colour pixels", levels, n_top);
    const uint8_t *s0 = px(&img, S / 2, x3 + S / 2), *s1 = px(&img, S / 2, x3 + S / 2 + 38); /* x = 1.5 */
    CHECK(!same(s0, k_bg) && !same(s1, k_bg) && s0[1] > s1[1], "samples centre (g %d) above 1.5 sigma (g %d)", s0[1],
          s1[1]);
    CHECK(n_bg > S * S / 4, "samples panel background outside the cloud: %d pixels", n_bg);
    gm_png_image_free(&img);
}

static void test_auto_box_blank_nonfinite(void) {
    enum { ND = 5000 };
    static float data[ND * 2];
    gm_rng r;
    gm_rng_seed(&r, 11, GM_STREAM_SAMPLE);
    gm_rng_fill_normal(&r, data, ND * 2, 0.0f, 1.0f);
    gm_plot2d_opts o = gm_plot2d_defaults();
    o.size = 64;
    o.pad = 0;
    gauss_ctx g = new_ctx();
    double mass = -1;
    const char *path = tmp_path("auto.png");
    /* automatic box: about +-2.6 sigma padded by 10 % -> +-3.1 sigma, mass (1 - 0.002)^2 */
    CHECK(gm_plot2d_png(path, gauss_logp, &g, data, ND, NULL, 0, &o, &mass) == GM_OK, "auto box: %s", gm_last_error());
    CHECK(mass > 0.98 && mass < 1.0, "auto-box mass %.6f in (0.98, 1)", mass);
    gm_png_image img;
    CHECK(gm_png_read(path, &img) == GM_OK && img.width == 3 * 64 && img.height == 64, "auto size %dx%d", img.width,
          img.height);
    int blank = 1, hot = 0;
    for (int y = 0; y < 64 && img.pixels; y++)
        for (int x = 0; x < 64; x++) {
            blank &= same(px(&img, y, 128 + x), k_bg);
            hot |= same(px(&img, y, x), k_top);
        }
    CHECK(blank && hot, "empty samples panel is blank (%d), density has a maximum pixel (%d)", blank, hot);
    gm_png_image_free(&img);
    /* automatic box from the samples when there is no data; one point: widened box */
    g = new_ctx();
    CHECK(gm_plot2d_png(path, gauss_logp, &g, NULL, 0, data, ND, &o, NULL) == GM_OK, "auto box from samples: %s",
          gm_last_error());
    float one[2] = {0.5f, 0.5f};
    CHECK(gm_plot2d_png(path, gauss_logp, &g, one, 1, NULL, 0, &o, &mass) == GM_OK && mass > 0.1,
          "one-point auto box: %s (mass %g)", gm_last_error(), mass);
    /* NaN log p for x < 0 counts as 0: half the mass */
    o.lo_x = o.lo_y = -6.0f;
    o.hi_x = o.hi_y = 6.0f;
    g = new_ctx();
    g.nan_left = 1;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, NULL, 0, NULL, 0, &o, &mass) == GM_OK, "nan plot: %s", gm_last_error());
    CHECK_CLOSE(mass, 0.5, 1e-3, 0, "mass with NaN on the left half");
}

static void test_errors(void) {
    float pts[4] = {0, 0, 1, 1};
    gm_plot2d_opts o = gm_plot2d_defaults();
    o.size = 32;
    o.lo_x = o.lo_y = -1.0f;
    o.hi_x = o.hi_y = 1.0f;
    gauss_ctx g = new_ctx();
    const char *path = tmp_path("err.png");
    double mass = 5;
    CHECK(gm_plot2d_png(path, NULL, &g, pts, 2, pts, 2, &o, &mass) == GM_ERR_ARG && strstr(gm_last_error(), "callback") &&
              mass == 0.0,
          "NULL logp: %s", gm_last_error());
    CHECK(gm_plot2d_png(NULL, gauss_logp, &g, pts, 2, pts, 2, &o, NULL) == GM_ERR_ARG, "NULL path");
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, -1, pts, 2, &o, NULL) == GM_ERR_ARG && strstr(gm_last_error(), "data"),
          "negative n_data: %s", gm_last_error());
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, -3, &o, NULL) == GM_ERR_ARG &&
              strstr(gm_last_error(), "samples"),
          "negative n_samples: %s", gm_last_error());
    CHECK(gm_plot2d_png(path, gauss_logp, &g, NULL, 2, pts, 2, &o, NULL) == GM_ERR_ARG && strstr(gm_last_error(), "NULL"),
          "NULL data: %s", gm_last_error());
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, NULL, 1, &o, NULL) == GM_ERR_ARG, "NULL samples");
    gm_plot2d_opts b = o;
    b.size = 15;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG && strstr(gm_last_error(), "16..2048"),
          "size 15: %s", gm_last_error());
    b.size = 2049;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG, "size 2049");
    b = o;
    b.pad = -1;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG, "pad -1");
    b.pad = 1 << 30;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG, "huge pad");
    b = o;
    b.hi_x = b.lo_x;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG && strstr(gm_last_error(), "lo < hi"),
          "lo_x == hi_x: %s", gm_last_error());
    b = o;
    b.lo_y = 2.0f;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG, "lo_y > hi_y");
    b = o;
    b.hi_y = INFINITY;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &b, NULL) == GM_ERR_ARG, "infinite box");
    b = o;
    b.lo_x = b.hi_x = b.lo_y = b.hi_y = 0.0f;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, NULL, 0, NULL, 0, &b, NULL) == GM_ERR_ARG &&
              strstr(gm_last_error(), "automatic"),
          "automatic box without points: %s", gm_last_error());
    float nan_pts[2] = {NAN, 1.0f};
    CHECK(gm_plot2d_png(path, gauss_logp, &g, nan_pts, 1, NULL, 0, &b, NULL) == GM_ERR_ARG, "automatic box of NaN points");
    CHECK(g.calls == 0 && !file_exists(path), "no callback, no file on argument errors");

    /* callback errors propagate, with the callback's message, and write nothing */
    g = new_ctx();
    g.fail_at = 0;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &o, NULL) == GM_ERR_NONFINITE &&
              strstr(gm_last_error(), "boom at call 0"),
          "first-call error: %s", gm_last_error());
    o.size = 128; /* 4 chunks */
    g = new_ctx();
    g.fail_at = 2;
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &o, &mass) == GM_ERR_NONFINITE &&
              strstr(gm_last_error(), "boom at call 2") && g.calls == 3 && mass == 0.0,
          "third-call error: %s (%d calls)", gm_last_error(), g.calls);
    g = new_ctx();
    g.fail_at = 1;
    g.fail_quiet = 1;
    gm_error(GM_ERR_IO, "a stale message");
    CHECK(gm_plot2d_png(path, gauss_logp, &g, pts, 2, pts, 2, &o, NULL) == GM_ERR_NONFINITE &&
              strstr(gm_last_error(), "callback failed (non-finite)") && strstr(gm_last_error(), "err.png"),
          "quiet callback error gets a message: %s", gm_last_error());
    CHECK(!file_exists(path), "no file after callback errors");
}

int main(void) {
    test_gaussian();
    test_auto_box_blank_nonfinite();
    test_errors();
    TEST_MAIN_END();
}
