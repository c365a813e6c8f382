/*
 * test_png.c — PNG grid writer and reader (genmod/png.h): a 3x4 grid with
 * padding, upscaling, clamping, NaN and empty cells is read back and every
 * pixel compared exactly against an independent computation; RGB grids,
 * raw 1-4 channel round trips, automatic layout, bad arguments, and corrupt /
 * truncated PNGs (errors, no crash).
 */
#include "genmod/png.h"
#include "io/io_internal.h"
#include "testutil.h"
#include <math.h>
#include <string.h>

static char g_path[4200];
static const char *tmp_path(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", gm_test_tmpdir(), name);
    return g_path;
}

/* expected byte for v in [lo, hi] (written independently of png.c) */
static int expect_byte(float v, float lo, float hi) {
    if (isnan(v)) return 0;
    double t = ((double)v - lo) / ((double)hi - lo) * 255.0;
    long q = lround(t); /* t is never exactly .5 here except where both round up */
    return q < 0 ? 0 : q > 255 ? 255 : (int)q;
}

static void test_gray_grid(void) {
    enum { N = 10, H = 2, W = 3 };
    float x[N * H * W];
    for (int i = 0; i < N * H * W; i++) x[i] = -1.2f + 0.04f * (float)i; /* crosses [-1, 1] and beyond */
    x[5] = NAN;
    gm_png_grid_opts o = gm_png_grid_defaults();
    o.rows = 3;
    o.cols = 4;
    o.pad = 1;
    o.pad_value = 7;
    o.scale = 2;
    o.lo = -1.0f;
    o.hi = 1.0f;
    const char *path = tmp_path("grid.png");
    CHECK(gm_png_write_grid(path, x, N, 1, H, W, &o) == GM_OK, "write grid: %s", gm_last_error());
    gm_png_image img;
    CHECK(gm_png_read(path, &img) == GM_OK, "read grid: %s", gm_last_error());
    const int OW = 4 * W * 2 + 5, OH = 3 * H * 2 + 4; /* 29 x 16 */
    CHECK(img.width == OW && img.height == OH && img.channels == 1, "size %dx%d c%d, expected %dx%d c1", img.width,
          img.height, img.channels, OW, OH);
    if (img.width != OW || img.height != OH || img.channels != 1) { gm_png_image_free(&img); return; }
    int bad = 0, checked = 0;
    for (int y = 0; y < OH; y++)
        for (int xx = 0; xx < OW; xx++) {
            int want = 7;
            int cy = (y - 1) / (H * 2 + 1), iy = (y - 1) % (H * 2 + 1);
            int cx = (xx - 1) / (W * 2 + 1), ix = (xx - 1) % (W * 2 + 1);
            if (y >= 1 && xx >= 1 && iy < H * 2 && ix < W * 2) {
                int k = cy * 4 + cx;
                if (k < N) want = expect_byte(x[k * H * W + (iy / 2) * W + ix / 2], -1.0f, 1.0f);
            }
            int got = img.pixels[y * OW + xx];
            checked++;
            if (got != want && bad++ < 5) fprintf(stderr, "pixel (%d, %d): got %d, want %d\n", y, xx, got, want);
        }
    CHECK(bad == 0 && checked == OW * OH, "%d of %d pixels differ", bad, checked);
    /* spot values: image 0 pixel (0,0) = -1.2 -> clamped 0; NaN -> 0; border and empty cells = 7 */
    CHECK(img.pixels[1 * OW + 1] == 0 && img.pixels[0] == 7 && img.pixels[(OH - 2) * OW + OW - 2] == 7, "spot values");
    /* image 1 pixel (0, 0): x[6] = -0.96 -> round(0.02 * 255) = 5, at output (1, 1 + 7) and its 2x2 block */
    CHECK(img.pixels[1 * OW + 8] == 5 && img.pixels[2 * OW + 9] == 5, "upscaled block value");
    gm_png_image_free(&img);
    CHECK(img.pixels == NULL, "free zeroes");
}

static void test_rgb_grid(void) {
    /* 2 images (N, 3, 1, 2), automatic layout -> 2 cols x 1 row, no pad */
    float x[2 * 3 * 2] = {0.0f, 1.0f, 0.5f, 0.25f, 1.0f, 0.0f, /* img 0: R(2) G(2) B(2) */
                          0.2f, 0.4f, 0.6f, 0.8f, 2.0f, -1.0f};
    gm_png_grid_opts o = gm_png_grid_defaults();
    o.pad = 0;
    const char *path = tmp_path("rgb.png");
    CHECK(gm_png_write_grid(path, x, 2, 3, 1, 2, &o) == GM_OK, "write rgb grid: %s", gm_last_error());
    gm_png_image img;
    CHECK(gm_png_read(path, &img) == GM_OK && img.width == 4 && img.height == 1 && img.channels == 3, "rgb size");
    const uint8_t want[12] = {0, 128, 255, 255, 64, 0, 51, 153, 255, 102, 204, 0};
    CHECK(img.pixels && memcmp(img.pixels, want, 12) == 0, "rgb pixels");
    gm_png_image_free(&img);
    /* automatic layout for 5 images: 3 cols, 2 rows */
    float y5[5] = {0, 0.25f, 0.5f, 0.75f, 1};
    o = gm_png_grid_defaults();
    CHECK(gm_png_write_grid(path, y5, 5, 1, 1, 1, NULL) == GM_OK, "auto grid");
    CHECK(gm_png_read(path, &img) == GM_OK && img.width == 3 + 4 * 2 && img.height == 2 + 3 * 2, "auto layout 3x2: %dx%d",
          img.width, img.height);
    gm_png_image_free(&img);
    o.cols = 5;
    CHECK(gm_png_write_grid(path, y5, 5, 1, 1, 1, &o) == GM_OK && gm_png_read(path, &img) == GM_OK && img.height == 5,
          "cols only -> 1 row");
    gm_png_image_free(&img);
}

static void test_raw_and_errors(void) {
    uint8_t px[4 * 3 * 2];
    for (int i = 0; i < 24; i++) px[i] = (uint8_t)(i * 11);
    for (int c = 1; c <= 4; c++) {
        const char *path = tmp_path("raw.png");
        gm_png_image img;
        CHECK(gm_png_write(path, px, 3, 2, c) == GM_OK && gm_png_read(path, &img) == GM_OK && img.channels == c &&
                  img.width == 3 && img.height == 2 && memcmp(img.pixels, px, (size_t)(6 * c)) == 0,
              "raw round trip with %d channels", c);
        gm_png_image_free(&img);
    }
    gm_png_grid_opts o = gm_png_grid_defaults();
    float x[4] = {0};
    CHECK(gm_png_write_grid(tmp_path("e.png"), x, 1, 2, 1, 2, &o) == GM_ERR_ARG, "2 channels rejected");
    o.rows = 1;
    o.cols = 1;
    CHECK(gm_png_write_grid(tmp_path("e.png"), x, 2, 1, 1, 2, &o) == GM_ERR_ARG && strstr(gm_last_error(), "cannot hold"),
          "grid too small: %s", gm_last_error());
    o = gm_png_grid_defaults();
    o.lo = o.hi = 1.0f;
    CHECK(gm_png_write_grid(tmp_path("e.png"), x, 1, 1, 1, 1, &o) == GM_ERR_ARG, "lo == hi rejected");
    o = gm_png_grid_defaults();
    o.scale = 9000; /* 18004 pixels wide */
    CHECK(gm_png_write_grid(tmp_path("e.png"), x, 1, 1, 2, 2, &o) == GM_ERR_ARG && strstr(gm_last_error(), "limit"),
          "too large: %s", gm_last_error());
    /* regression: cells of 2^60 pixels times 16 columns overflowed int64 before the size check */
    o = gm_png_grid_defaults();
    o.cols = 16;
    o.scale = 1 << 30;
    CHECK(gm_png_write_grid(tmp_path("e.png"), x, 1, 1, 1 << 30, 1 << 30, &o) == GM_ERR_ARG &&
              strstr(gm_last_error(), "limit of 16384"),
          "huge cells: %s", gm_last_error());
    o = gm_png_grid_defaults();
    o.cols = 1 << 30;
    CHECK(gm_png_write_grid(tmp_path("e.png"), x, 1, 1, 1, 1, &o) == GM_ERR_ARG && strstr(gm_last_error(), "limit"),
          "huge column count: %s", gm_last_error());
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/no/dir/x.png", gm_test_tmpdir());
    CHECK(gm_png_write(missing, px, 3, 2, 1) == GM_ERR_IO && strstr(gm_last_error(), "no/dir/x.png"), "missing dir: %s",
          gm_last_error());
    gm_png_image img;
    CHECK(gm_png_read(missing, &img) == GM_ERR_NOTFOUND, "read missing");

    /* corrupt inputs */
    uint8_t *file;
    size_t len;
    gm_png_write(tmp_path("c.png"), px, 3, 2, 3);
    CHECK(gm_io_read_file(tmp_path("c.png"), 1 << 20, &file, &len) == GM_OK, "read bytes");
    CHECK(gm_png_read_mem("notapng!", 8, "x", &img) == GM_ERR_FORMAT && strstr(gm_last_error(), "not a PNG"), "signature");
    int all_fail = 1;
    for (size_t cut = 0; cut < len; cut++) {
        gm_status st = gm_png_read_mem(file, cut, "cut.png", &img);
        if (st == GM_OK) { all_fail = 0; gm_png_image_free(&img); fprintf(stderr, "cut %zu of %zu read OK\n", cut, len); }
        CHECK(img.pixels == NULL || st == GM_OK, "no pixels on error");
    }
    CHECK(all_fail, "every truncation of the %zu-byte PNG is an error", len);
    /* a flipped byte inside the IDAT data: CRC error, not a crash */
    uint8_t *bad = malloc(len);
    memcpy(bad, file, len);
    bad[len - 20] ^= 0x55;
    gm_status st = gm_png_read_mem(bad, len, "flip.png", &img);
    CHECK(st == GM_ERR_FORMAT && strstr(gm_last_error(), "flip.png: corrupt PNG"), "flipped byte: %s", gm_last_error());
    gm_png_image_free(&img);
    /* header claiming 100000 x 100000 pixels */
    memcpy(bad, file, len);
    bad[16] = 0; bad[17] = 1; bad[18] = 0x86; bad[19] = 0xA0; /* width 100000, CRC now wrong too */
    CHECK(gm_png_read_mem(bad, len, "huge.png", &img) == GM_ERR_FORMAT, "huge width rejected: %s", gm_last_error());
    free(bad);
    free(file);
}

int main(void) {
    test_gray_grid();
    test_rgb_grid();
    test_raw_and_errors();
    TEST_MAIN_END();
}
