/*
 * genmod/png.h — PNG sample grids (through libpng) and a small PNG reader.
 *
 * What this is: the writer behind `genmod sample --grid`: N float images
 * (N, C, H, W) (or (N, H*W) with C = 1) are mapped from [lo, hi] to 0..255
 * (rounded, clamped; NaN -> 0), upscaled by an integer factor (nearest
 * neighbour) and tiled rows x cols with `pad` pixels of `pad_value` between
 * cells and around the border. Output size:
 *   width  = cols * W * scale + (cols + 1) * pad
 *   height = rows * H * scale + (rows + 1) * pad
 * Cells after the N-th image are left at pad_value. C = 1 gives an 8-bit
 * grayscale PNG, C = 3 an RGB one. Files are replaced atomically.
 * The reader (for tests and tools) returns 8-bit pixels for any PNG: palette
 * expanded to RGB, 16-bit stripped to 8, low bit depths expanded, alpha kept.
 * libpng errors are caught with setjmp and returned as statuses.
 * What this is not: colour management, gamma, animation, other formats.
 */
#ifndef GENMOD_PNG_H
#define GENMOD_PNG_H

#include <stddef.h>
#include <stdint.h>
#include "genmod/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GM_PNG_MAX_DIM 16384 /* largest width / height read or written */

typedef struct gm_png_grid_opts {
    int rows, cols;    /* 0 = automatic: cols = ceil(sqrt(N)), rows = ceil(N / cols);
                          one of them 0: derived from the other */
    float lo, hi;      /* value range mapped to 0..255 (lo != hi; lo > hi inverts) */
    int pad;           /* padding in output pixels, >= 0 */
    uint8_t pad_value; /* grey level of padding and empty cells */
    int scale;         /* integer upscale factor >= 1 */
} gm_png_grid_opts;

/* Defaults: automatic rows/cols, [0, 1], pad 2, pad_value 255, scale 1. */
gm_png_grid_opts gm_png_grid_defaults(void);

/* Writes x (n, channels, height, width) as a grid PNG at `path` (atomic).
 * channels must be 1 or 3; n >= 1; rows * cols >= n. Returns GM_OK;
 * GM_ERR_ARG (bad sizes/options, output larger than GM_PNG_MAX_DIM), GM_ERR_IO
 * (message names the path), GM_ERR_NOMEM. opts NULL = defaults. */
gm_status gm_png_write_grid(const char *path, const float *x, int64_t n, int channels, int height, int width,
                            const gm_png_grid_opts *opts);

/* Writes 8-bit pixels (height, width, channels) row-major, channels 1 (grey),
 * 2 (grey+alpha), 3 (RGB) or 4 (RGBA), as a PNG at `path` (atomic). */
gm_status gm_png_write(const char *path, const uint8_t *pixels, int width, int height, int channels);

/* A decoded image: pixels (height, width, channels) row-major, 8-bit. */
typedef struct gm_png_image {
    int width, height, channels; /* channels 1..4 */
    uint8_t *pixels;             /* malloc'd; free with gm_png_image_free */
} gm_png_image;

/* Reads a PNG file. GM_ERR_NOTFOUND / GM_ERR_IO (path), GM_ERR_FORMAT (not a
 * PNG, corrupt, truncated, or larger than GM_PNG_MAX_DIM), GM_ERR_NOMEM.
 * *out is zeroed on error. */
gm_status gm_png_read(const char *path, gm_png_image *out);

/* Same from bytes in memory; `name` for messages (NULL -> "<memory>"). */
gm_status gm_png_read_mem(const void *data, size_t len, const char *name, gm_png_image *out);

/* Frees the pixels and zeroes the struct (NULL is fine). */
void gm_png_image_free(gm_png_image *img);

#ifdef __cplusplus
}
#endif
#endif
