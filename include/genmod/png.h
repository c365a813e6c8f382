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
 * gm_plot2d_png (src/io/plot2d.c) draws a 2-D model's density next to
 * histograms of its data and samples (see its section below).
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

/* ------------------------------------------------------ 2-D density plots
 *
 * gm_plot2d_png() draws how well a 2-D model (a normalizing flow on a toy
 * density, say) fits: one RGB PNG of three square panels, size x size pixels
 * each, left to right
 *
 *   (1) model density   (2) data histogram   (3) samples histogram
 *
 * separated by `pad` white columns, with no outer border:
 *   width = 3 * size + 2 * pad,  height = size.
 * Panel 1 is exp(log p) at the size x size pixel centres of the plotted box,
 * divided by its maximum and coloured with viridis (0 = dark purple, the
 * maximum = yellow; an all-zero density is all dark purple). logp is called
 * with at most 4096 points at a time; a non-finite log p (or an exp that
 * overflows) counts as density 0. Panels 2 and 3 count the points per pixel
 * (points outside the box or not finite are ignored) and colour a pixel with
 * c >= 1 points as viridis(0.2 + 0.8 * log c / log cmax), cmax the panel's
 * largest count (viridis(1) if cmax is 1); empty pixels are viridis(0), so a
 * single stray point stays visible and clouds of 10^5 points do not saturate.
 * n = 0 leaves a panel all viridis(0). Row 0 of the image is the top of the
 * box (hi_y); column 0 of a panel is lo_x.
 *
 * The box is lo_x..hi_x by lo_y..hi_y; all four 0 means automatic: per axis,
 * the 0.5 and 99.5 percentiles of the finite data points (of the samples if
 * n_data is 0; an error if there are neither), widened by 10 % of that range
 * on each side (a zero range is widened to at least +-1).
 *
 * If mass != NULL, *mass gets the Riemann sum of exp(log p) * cell area over
 * the grid (about 1 for a normalised density whose mass is in the box); it is
 * set to 0 on entry and to the sum once the grid is evaluated.
 *
 * Returns GM_OK; GM_ERR_ARG for a NULL path or logp, a negative count, a NULL
 * point array with n > 0, size outside 16..2048, pad < 0 or a width over
 * GM_PNG_MAX_DIM, a non-finite or degenerate box (lo >= hi), or an automatic
 * box without points; any status logp returns (with its message; the file is
 * then not written); GM_ERR_IO / GM_ERR_NOMEM. The file is replaced
 * atomically through gm_png_write. */

/* log-density callback: writes log p of n points xy (n, 2) into out (n). */
typedef gm_status (*gm_logp2d_fn)(void *user, const float *xy, int64_t n, double *out);

typedef struct gm_plot2d_opts {
    int size;                     /* pixels per panel side, 16..2048, default 256 */
    float lo_x, hi_x, lo_y, hi_y; /* plotted box; all 0 (the default) = automatic */
    int pad;                      /* pixels between panels, >= 0, default 4 */
} gm_plot2d_opts;

/* Defaults: size 256, automatic box, pad 4. */
gm_plot2d_opts gm_plot2d_defaults(void);

/* Writes the three-panel plot described above. data (n_data, 2) and samples
 * (n_samples, 2) may be NULL when their n is 0. opts NULL = defaults. */
gm_status gm_plot2d_png(const char *path, gm_logp2d_fn logp, void *user, const float *data, int64_t n_data,
                        const float *samples, int64_t n_samples, const gm_plot2d_opts *opts, double *mass);

#ifdef __cplusplus
}
#endif
#endif
