/*
 * plot2d.c — three-panel PNG plots for 2-D density models; see genmod/png.h.
 *
 * What this is: a quick visual check for models of 2-D points (flows on toy
 * densities): the model density exp(log p) on a pixel grid as a viridis heat
 * map, next to log-scaled 2-D histograms of the data and of the samples, all
 * over the same box, plus the grid's Riemann mass as a normalisation check.
 * The density is evaluated through a callback in chunks of at most 4096
 * points, so any model (or closed form) can be plotted without this file
 * knowing about tensors or contexts.
 * What this is not: a plotting library. No axes, ticks, labels, colour bars,
 * contours, anti-aliasing or kernel smoothing; one fixed colour map.
 */
#include "genmod/png.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLOT2D_CHUNK 4096 /* most points per logp call */
#define PAD_GREY 255      /* colour of the columns between panels */

/* viridis at t = 0, 1/9, ..., 1 (matplotlib's, as in d3's 10-stop table) */
static const uint8_t k_viridis[10][3] = {
    {0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x49, 0x89}, {0x31, 0x68, 0x8e}, {0x26, 0x82, 0x8e},
    {0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6e, 0xce, 0x58}, {0xb5, 0xde, 0x2b}, {0xfd, 0xe7, 0x25},
};

/* t in [0, 1] (clamped; NaN -> 0) -> rgb (3), linear between the stops */
static void colour(double t, uint8_t *rgb) {
    if (!(t > 0.0)) t = 0.0;
    if (t > 1.0) t = 1.0;
    double pos = t * 9.0;
    int k = (int)pos;
    if (k > 8) k = 8;
    double f = pos - k;
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)floor(k_viridis[k][c] + f * (k_viridis[k + 1][c] - k_viridis[k][c]) + 0.5);
}

gm_plot2d_opts gm_plot2d_defaults(void) {
    gm_plot2d_opts o;
    memset(&o, 0, sizeof o);
    o.size = 256;
    o.pad = 4;
    return o;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* percentile q in [0, 1] of sorted v (m), linear interpolation */
static double percentile(const float *v, int64_t m, double q) {
    double pos = q * (double)(m - 1);
    int64_t i = (int64_t)pos;
    if (i >= m - 1) return v[m - 1];
    return v[i] + (pos - (double)i) * ((double)v[i + 1] - v[i]);
}

/* automatic box from pts (n, 2): 0.5..99.5 percentiles per axis, padded 10 %;
 * box = {lo_x, hi_x, lo_y, hi_y} */
static gm_status auto_box(const char *path, const float *pts, int64_t n, float box[4]) {
    float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(float)); // (n,)
    if (!v) return gm_error(GM_ERR_NOMEM, "%s: cannot allocate %lld floats for the plot box", path, (long long)n);
    for (int axis = 0; axis < 2; axis++) {
        int64_t m = 0;
        for (int64_t i = 0; i < n; i++)
            if (isfinite(pts[2 * i]) && isfinite(pts[2 * i + 1])) v[m++] = pts[2 * i + axis];
        if (m == 0) {
            free(v);
            return gm_error(GM_ERR_ARG, "%s: automatic plot box: no finite points", path);
        }
        qsort(v, (size_t)m, sizeof(float), cmp_float);
        double lo = percentile(v, m, 0.005), hi = percentile(v, m, 0.995), w = hi - lo;
        lo -= 0.1 * w;
        hi += 0.1 * w;
        if (!((float)lo < (float)hi)) { /* one point or all equal: widen to +-max(1, |v| / 1000) */
            double half = fmax(1.0, fabs(lo) * 1e-3);
            lo -= half;
            hi += half;
        }
        box[2 * axis] = (float)lo;
        box[2 * axis + 1] = (float)hi;
    }
    free(v);
    if (!isfinite(box[0]) || !isfinite(box[1]) || !isfinite(box[2]) || !isfinite(box[3]))
        return gm_error(GM_ERR_ARG, "%s: automatic plot box [%g, %g] x [%g, %g] is not finite", path, (double)box[0],
                        (double)box[1], (double)box[2], (double)box[3]);
    return GM_OK;
}

/* paints a size x size panel at column x0 of img (size, width, 3): a
 * log-scaled histogram of pts (n, 2) over box; counts (size * size) scratch */
static void draw_hist(uint8_t *img, int width, int x0, int size, const float box[4], const float *pts, int64_t n,
                      uint32_t *counts) {
    memset(counts, 0, (size_t)size * (size_t)size * sizeof(uint32_t));
    double sx = size / ((double)box[1] - box[0]), sy = size / ((double)box[3] - box[2]);
    uint32_t cmax = 0;
    for (int64_t i = 0; i < n; i++) {
        double fx = ((double)pts[2 * i] - box[0]) * sx, fy = ((double)box[3] - pts[2 * i + 1]) * sy;
        if (!(fx >= 0.0 && fx < size && fy >= 0.0 && fy < size)) continue; /* outside or NaN */
        uint32_t *c = &counts[(int64_t)fy * size + (int64_t)fx];
        if (*c < UINT32_MAX) (*c)++;
        if (*c > cmax) cmax = *c;
    }
    double lmax = cmax > 1 ? log((double)cmax) : 1.0;
    for (int r = 0; r < size; r++) {
        uint8_t *row = img + ((size_t)r * (size_t)width + (size_t)x0) * 3;
        for (int c = 0; c < size; c++) {
            uint32_t k = counts[(size_t)r * (size_t)size + (size_t)c];
            double t = k == 0 ? 0.0 : cmax == 1 ? 1.0 : 0.2 + 0.8 * log((double)k) / lmax;
            colour(t, row + 3 * c);
        }
    }
}

static gm_status check_points(const char *path, const char *what, const float *pts, int64_t n) {
    if (n < 0) return gm_error(GM_ERR_ARG, "%s: plot2d: %s count must be >= 0, got %lld", path, what, (long long)n);
    if (n > 0 && !pts) return gm_error(GM_ERR_ARG, "%s: plot2d: %s is NULL but its count is %lld", path, what, (long long)n);
    return GM_OK;
}

gm_status gm_plot2d_png(const char *path, gm_logp2d_fn logp, void *user, const float *data, int64_t n_data,
                        const float *samples, int64_t n_samples, const gm_plot2d_opts *opts, double *mass) {
    if (mass) *mass = 0.0;
    gm_plot2d_opts o = opts ? *opts : gm_plot2d_defaults();
    if (!path) return gm_error(GM_ERR_ARG, "plot2d: NULL path");
    if (!logp) return gm_error(GM_ERR_ARG, "%s: plot2d: NULL log-density callback", path);
    gm_status st = check_points(path, "data", data, n_data);
    if (st == GM_OK) st = check_points(path, "samples", samples, n_samples);
    if (st != GM_OK) return st;
    if (o.size < 16 || o.size > 2048)
        return gm_error(GM_ERR_ARG, "%s: plot2d: size must be 16..2048 pixels, got %d", path, o.size);
    int64_t width64 = 3 * (int64_t)o.size + 2 * (int64_t)o.pad;
    if (o.pad < 0 || width64 > GM_PNG_MAX_DIM)
        return gm_error(GM_ERR_ARG, "%s: plot2d: pad must be >= 0 with 3 * size + 2 * pad <= %d, got size %d, pad %d",
                        path, GM_PNG_MAX_DIM, o.size, o.pad);
    float box[4] = {o.lo_x, o.hi_x, o.lo_y, o.hi_y};
    if (box[0] == 0.0f && box[1] == 0.0f && box[2] == 0.0f && box[3] == 0.0f) {
        if (n_data == 0 && n_samples == 0)
            return gm_error(GM_ERR_ARG, "%s: plot2d: automatic box needs data or samples (set lo_x..hi_y)", path);
        st = n_data > 0 ? auto_box(path, data, n_data, box) : auto_box(path, samples, n_samples, box);
        if (st != GM_OK) return st;
    } else if (!isfinite(box[0]) || !isfinite(box[1]) || !isfinite(box[2]) || !isfinite(box[3]) ||
               !(box[0] < box[1]) || !(box[2] < box[3])) {
        return gm_error(GM_ERR_ARG, "%s: plot2d: box [%g, %g] x [%g, %g] needs finite lo < hi on both axes (all 0 = automatic)",
                        path, (double)box[0], (double)box[1], (double)box[2], (double)box[3]);
    }

    const int size = o.size, width = (int)width64;
    const int64_t npix = (int64_t)size * size;
    double *dens = malloc((size_t)npix * sizeof(double));              // (size, size): log p, then p
    float *xy = malloc((size_t)PLOT2D_CHUNK * 2 * sizeof(float));       // (chunk, 2)
    uint32_t *counts = malloc((size_t)npix * sizeof(uint32_t));        // (size, size)
    uint8_t *img = malloc((size_t)width * (size_t)size * 3);           // (size, width, 3)
    if (!dens || !xy || !counts || !img) {
        st = gm_error(GM_ERR_NOMEM, "%s: plot2d: cannot allocate buffers for %d x %d panels", path, size, size);
        goto done;
    }

    /* (1) density at the pixel centres, row 0 = top (hi_y) */
    double dx = ((double)box[1] - box[0]) / size, dy = ((double)box[3] - box[2]) / size;
    double pmax = 0.0, sum = 0.0;
    for (int64_t k0 = 0; k0 < npix; k0 += PLOT2D_CHUNK) {
        int64_t m = npix - k0 < PLOT2D_CHUNK ? npix - k0 : PLOT2D_CHUNK;
        for (int64_t i = 0; i < m; i++) {
            int64_t r = (k0 + i) / size, c = (k0 + i) % size;
            xy[2 * i] = (float)(box[0] + (c + 0.5) * dx);
            xy[2 * i + 1] = (float)(box[3] - (r + 0.5) * dy);
            dens[k0 + i] = NAN; /* a callback that skips a point gives density 0 */
        }
        gm_clear_error(); /* so a callback that fails without a message gets one */
        st = logp(user, xy, m, dens + k0);
        if (st != GM_OK) {
            if (!gm_last_error()[0])
                gm_error(st, "%s: plot2d: log-density callback failed (%s)", path, gm_status_name(st));
            goto done;
        }
    }
    for (int64_t k = 0; k < npix; k++) {
        double p = isfinite(dens[k]) ? exp(dens[k]) : 0.0;
        if (!isfinite(p)) p = 0.0;
        dens[k] = p;
        sum += p;
        if (p > pmax) pmax = p;
    }
    if (mass) *mass = sum * dx * dy;

    memset(img, PAD_GREY, (size_t)width * (size_t)size * 3);
    for (int r = 0; r < size; r++)
        for (int c = 0; c < size; c++)
            colour(pmax > 0.0 ? dens[(size_t)r * (size_t)size + (size_t)c] / pmax : 0.0,
                   img + ((size_t)r * (size_t)width + (size_t)c) * 3);
    /* (2) data, (3) samples */
    draw_hist(img, width, size + o.pad, size, box, data, n_data, counts);
    draw_hist(img, width, 2 * (size + o.pad), size, box, samples, n_samples, counts);
    st = gm_png_write(path, img, width, size, 3);
done:
    free(dens);
    free(xy);
    free(counts);
    free(img);
    return st;
}
