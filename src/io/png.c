/*
 * png.c — PNG grid writer and PNG reader on top of libpng; see genmod/png.h.
 *
 * libpng reports errors by calling an error function that must not return;
 * ours records the message and longjmps back to the setjmp in write_stream /
 * read_stream. Everything those functions allocate after setjmp lives in a
 * state struct owned by their caller, so it stays valid after the longjmp
 * and is freed there. Output goes through the atomic-file helper with a
 * custom libpng write function.
 */
#include "genmod/png.h"
#include "io/io_internal.h"
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_READ_PIXELS ((int64_t)1 << 25) /* 32 M pixels: bounds the reader's allocation */

static void on_error(png_structp png, png_const_charp msg) {
    char *buf = png_get_error_ptr(png);
    if (buf) snprintf(buf, 256, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* ------------------------------------------------------------------ writing */

typedef struct {
    char msg[256];
    gm_atomic_file *af;
} wr_state;

static void write_fn(png_structp png, png_bytep data, png_size_t n) {
    wr_state *s = png_get_io_ptr(png);
    gm_atomic_write(s->af, data, n); /* sticky error, reported by commit */
}

static void flush_fn(png_structp png) { (void)png; }

static int write_stream(wr_state *s, const uint8_t *pixels, int width, int height, int channels) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s->msg, on_error, on_warning);
    if (!png) return -2;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -2;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(png, s, write_fn, flush_fn);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * (size_t)width * (size_t)channels));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return 0;
}

gm_status gm_png_write(const char *path, const uint8_t *pixels, int width, int height, int channels) {
    if (!path || !pixels) return gm_error(GM_ERR_ARG, "png: NULL path or pixels");
    if (width < 1 || height < 1 || width > GM_PNG_MAX_DIM || height > GM_PNG_MAX_DIM || channels < 1 || channels > 4)
        return gm_error(GM_ERR_ARG, "%s: bad PNG size %dx%d with %d channels (each side 1..%d, channels 1..4)", path,
                        width, height, channels, GM_PNG_MAX_DIM);
    gm_atomic_file af;
    gm_status st = gm_atomic_open(&af, path);
    if (st != GM_OK) return st;
    wr_state s;
    memset(&s, 0, sizeof s);
    s.af = &af;
    int rc = write_stream(&s, pixels, width, height, channels);
    if (rc != 0) {
        gm_atomic_abort(&af);
        if (rc == -2) return gm_error(GM_ERR_NOMEM, "%s: libpng: out of memory", path);
        return gm_error(GM_ERR_IO, "%s: libpng: %s", path, s.msg);
    }
    return gm_atomic_commit(&af);
}

gm_png_grid_opts gm_png_grid_defaults(void) {
    gm_png_grid_opts o;
    memset(&o, 0, sizeof o);
    o.lo = 0.0f;
    o.hi = 1.0f;
    o.pad = 2;
    o.pad_value = 255;
    o.scale = 1;
    return o;
}

static uint8_t to_byte(float v, double lo, double hi) {
    double t = ((double)v - lo) / (hi - lo) * 255.0;
    if (!(t > 0.0)) return 0; /* also NaN */
    if (t >= 255.0) return 255;
    return (uint8_t)floor(t + 0.5);
}

gm_status gm_png_write_grid(const char *path, const float *x, int64_t n, int channels, int height, int width,
                            const gm_png_grid_opts *opts) {
    gm_png_grid_opts o = opts ? *opts : gm_png_grid_defaults();
    const char *p = path ? path : "(null)";
    if (!path || !x) return gm_error(GM_ERR_ARG, "png grid: NULL path or data");
    if (n < 1 || (channels != 1 && channels != 3) || height < 1 || width < 1)
        return gm_error(GM_ERR_ARG, "%s: grid of %lld images (%d, %d, %d): need n >= 1, channels 1 or 3, H, W >= 1", p,
                        (long long)n, channels, height, width);
    if (o.scale < 1 || o.pad < 0 || o.rows < 0 || o.cols < 0 || !(o.lo != o.hi) || !isfinite(o.lo) || !isfinite(o.hi))
        return gm_error(GM_ERR_ARG, "%s: grid options: need scale >= 1, pad >= 0, rows/cols >= 0, finite lo != hi", p);
    int64_t rows = o.rows, cols = o.cols;
    if (rows == 0 && cols == 0) {
        cols = (int64_t)ceil(sqrt((double)n));
        while (cols > 1 && (cols - 1) * (cols - 1) >= n) cols--; /* guard against sqrt rounding */
        while (cols * cols < n) cols++;
    }
    if (rows == 0) rows = (n + cols - 1) / cols;
    if (cols == 0) cols = (n + rows - 1) / rows;
    if (rows * cols < n)
        return gm_error(GM_ERR_ARG, "%s: a %lld x %lld grid cannot hold %lld images", p, (long long)rows,
                        (long long)cols, (long long)n);
    /* every factor is checked against the limit before it is multiplied, so
     * nothing below can overflow int64 (each product is < 2^31 * 2^31) */
    int64_t cw = (int64_t)width * o.scale, chh = (int64_t)height * o.scale, ow = 0, oh = 0;
    if (cw <= GM_PNG_MAX_DIM && chh <= GM_PNG_MAX_DIM && cols <= GM_PNG_MAX_DIM && rows <= GM_PNG_MAX_DIM) {
        ow = cols * cw + (cols + 1) * o.pad;
        oh = rows * chh + (rows + 1) * o.pad;
    }
    if (cw > GM_PNG_MAX_DIM || chh > GM_PNG_MAX_DIM || cols > GM_PNG_MAX_DIM || rows > GM_PNG_MAX_DIM ||
        ow > GM_PNG_MAX_DIM || oh > GM_PNG_MAX_DIM)
        return gm_error(GM_ERR_ARG, "%s: a %lld x %lld grid of %lld x %lld cells is over the limit of %d pixels per side", p,
                        (long long)rows, (long long)cols, (long long)chh, (long long)cw, GM_PNG_MAX_DIM);
    size_t stride = (size_t)ow * (size_t)channels;
    uint8_t *img = malloc(stride * (size_t)oh);
    if (!img) return gm_error(GM_ERR_NOMEM, "%s: cannot allocate the grid image", p);
    memset(img, o.pad_value, stride * (size_t)oh);
    int64_t plane = (int64_t)height * width;
    for (int64_t k = 0; k < n; k++) {
        int64_t r = k / cols, c = k % cols;
        int64_t x0 = o.pad + c * (cw + o.pad), y0 = o.pad + r * (chh + o.pad);
        const float *im = x + k * channels * plane; /* (C, H, W) */
        for (int64_t yy = 0; yy < chh; yy++) {
            uint8_t *row = img + (size_t)(y0 + yy) * stride + (size_t)x0 * (size_t)channels;
            int64_t sy = yy / o.scale;
            for (int64_t xx = 0; xx < cw; xx++) {
                int64_t sx = xx / o.scale;
                for (int ch = 0; ch < channels; ch++)
                    row[xx * channels + ch] = to_byte(im[ch * plane + sy * width + sx], o.lo, o.hi);
            }
        }
    }
    gm_status st = gm_png_write(path, img, (int)ow, (int)oh, channels);
    free(img);
    return st;
}

/* ------------------------------------------------------------------ reading */

typedef struct {
    char msg[256];
    const uint8_t *p;
    size_t n, i;
    uint8_t *pixels;
    png_bytep *rows;
    int width, height, channels;
} rd_state;

static void read_fn(png_structp png, png_bytep out, png_size_t k) {
    rd_state *s = png_get_io_ptr(png);
    if (k > s->n - s->i) png_error(png, "truncated file");
    memcpy(out, s->p + s->i, k);
    s->i += k;
}

/* 0 ok, -1 libpng error (s->msg), -2 out of memory, -3 too large. */
static int read_stream(rd_state *s) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s->msg, on_error, on_warning);
    if (!png) return -2;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return -2;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, s, read_fn);
    png_set_user_limits(png, GM_PNG_MAX_DIM, GM_PNG_MAX_DIM);
    png_set_chunk_malloc_max(png, (png_alloc_size_t)8 << 20);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((int64_t)w * (int64_t)h > MAX_READ_PIXELS) {
        png_destroy_read_struct(&png, &info, NULL);
        return -3;
    }
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (ch < 1 || ch > 4 || rowbytes != (size_t)w * (size_t)ch) png_error(png, "unexpected pixel layout");
    s->pixels = malloc(rowbytes * h);
    s->rows = malloc(sizeof(png_bytep) * h);
    if (!s->pixels || !s->rows) {
        png_destroy_read_struct(&png, &info, NULL);
        return -2;
    }
    for (png_uint_32 y = 0; y < h; y++) s->rows[y] = s->pixels + (size_t)y * rowbytes;
    png_read_image(png, s->rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    s->width = (int)w;
    s->height = (int)h;
    s->channels = ch;
    return 0;
}

gm_status gm_png_read_mem(const void *data, size_t len, const char *name, gm_png_image *out) {
    if (!out) return gm_error(GM_ERR_ARG, "png read: NULL output");
    memset(out, 0, sizeof *out);
    if (!name) name = "<memory>";
    if (!data && len) return gm_error(GM_ERR_ARG, "%s: NULL data", name);
    if (len < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0)
        return gm_error(GM_ERR_FORMAT, "%s: not a PNG file (bad signature)", name);
    rd_state s;
    memset(&s, 0, sizeof s);
    s.p = data;
    s.n = len;
    int rc = read_stream(&s);
    free(s.rows);
    if (rc != 0) {
        free(s.pixels);
        if (rc == -2) return gm_error(GM_ERR_NOMEM, "%s: out of memory decoding PNG", name);
        if (rc == -3) return gm_error(GM_ERR_FORMAT, "%s: PNG too large (more than %lld pixels)", name, (long long)MAX_READ_PIXELS);
        return gm_error(GM_ERR_FORMAT, "%s: corrupt PNG: %s", name, s.msg);
    }
    out->width = s.width;
    out->height = s.height;
    out->channels = s.channels;
    out->pixels = s.pixels;
    return GM_OK;
}

gm_status gm_png_read(const char *path, gm_png_image *out) {
    if (!out || !path) return gm_error(GM_ERR_ARG, "png read: NULL path or output");
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    gm_status st = gm_io_read_file(path, (size_t)1 << 30, &buf, &len);
    if (st != GM_OK) return st;
    st = gm_png_read_mem(buf, len, path, out);
    free(buf);
    return st;
}

void gm_png_image_free(gm_png_image *img) {
    if (!img) return;
    free(img->pixels);
    memset(img, 0, sizeof *img);
}
