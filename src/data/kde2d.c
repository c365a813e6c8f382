/*
 * kde2d.c — a Gaussian kernel density estimate in 2-D, evaluated on a grid:
 * the reference a 2-D flow's test NLL is compared with when the generator
 * has no closed-form density (and a sanity check where it has one).
 *
 * The n reference points are binned onto a G x G grid by linear (cloud-in-
 * cell) assignment, the grid is convolved with a separable Gaussian of
 * bandwidth h (truncated at 5h), and the density at a query point is the
 * bilinear interpolation of the grid, floored at 1e-300. With 10^6 points,
 * G = 1024 and h a few cells wide, the binning error is far below the
 * statistical error of a 10^4-point test set. The bandwidth is chosen from a
 * fixed list by the NLL of a separate validation set.
 * What this is not: an adaptive or high-dimensional KDE.
 */
#include "genmod/datasets.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KDE_G 1024

typedef struct kde_grid {
    double x0, y0, dx, dy; /* lower-left corner, cell size */
    double *hist;          /* (G, G) counts, row = y */
    double *dens;          /* (G, G) density */
} kde_grid;

static void smooth_1d(const double *in, double *out, int n, int stride, const double *k, int r) {
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = -r; j <= r; j++) {
            int t = i + j;
            if (t >= 0 && t < n) s += k[j + r] * in[t * stride];
        }
        out[i * stride] = s;
    }
}

/* dens = hist convolved with N(0, h^2 I), normalised by n. */
static gm_status convolve(kde_grid *g, double h, int64_t n) {
    int rx = (int)ceil(5 * h / g->dx), ry = (int)ceil(5 * h / g->dy);
    if (rx > KDE_G) rx = KDE_G;
    if (ry > KDE_G) ry = KDE_G;
    double *kx = malloc((size_t)(2 * rx + 1) * sizeof(double)), *ky = malloc((size_t)(2 * ry + 1) * sizeof(double));
    double *tmp = malloc((size_t)KDE_G * KDE_G * sizeof(double));
    if (!kx || !ky || !tmp) {
        free(kx), free(ky), free(tmp);
        return gm_error(GM_ERR_NOMEM, "kde: out of memory");
    }
    for (int j = -rx; j <= rx; j++) kx[j + rx] = exp(-0.5 * (j * g->dx / h) * (j * g->dx / h)) * g->dx / (h * sqrt(2 * M_PI));
    for (int j = -ry; j <= ry; j++) ky[j + ry] = exp(-0.5 * (j * g->dy / h) * (j * g->dy / h)) * g->dy / (h * sqrt(2 * M_PI));
    for (int r = 0; r < KDE_G; r++) smooth_1d(g->hist + (size_t)r * KDE_G, tmp + (size_t)r * KDE_G, KDE_G, 1, kx, rx);
    for (int c = 0; c < KDE_G; c++) smooth_1d(tmp + c, g->dens + c, KDE_G, KDE_G, ky, ry);
    /* counts per cell -> density: divide by n and the cell area */
    double norm = 1.0 / ((double)n * g->dx * g->dy);
    for (size_t i = 0; i < (size_t)KDE_G * KDE_G; i++) g->dens[i] *= norm;
    free(kx), free(ky), free(tmp);
    return GM_OK;
}

static double query(const kde_grid *g, double x, double y) {
    double fx = (x - g->x0) / g->dx - 0.5, fy = (y - g->y0) / g->dy - 0.5; /* cell centres at +0.5 */
    int ix = (int)floor(fx), iy = (int)floor(fy);
    double tx = fx - ix, ty = fy - iy, v = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int cx = ix + a, cy = iy + b;
            if (cx < 0 || cy < 0 || cx >= KDE_G || cy >= KDE_G) continue;
            v += (a ? tx : 1 - tx) * (b ? ty : 1 - ty) * g->dens[(size_t)cy * KDE_G + cx];
        }
    return v > 1e-300 ? v : 1e-300;
}

static double mean_nll(const kde_grid *g, const float *x, int64_t n, double *se) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double l = -log(query(g, x[2 * i], x[2 * i + 1]));
        s += l, s2 += l * l;
    }
    double mu = s / (double)n;
    if (se) *se = n > 1 ? sqrt(fmax(0, (s2 - n * mu * mu) / (double)(n - 1)) / (double)n) : 0;
    return mu;
}

gm_status gm_kde2d_nll(const float *ref, int64_t n_ref, const float *valid, int64_t n_valid, const float *test,
                       int64_t n_test, double *bandwidth, double *nll, double *se) {
    if (!ref || n_ref < 2 || !valid || n_valid < 1 || !test || n_test < 1)
        return gm_error(GM_ERR_ARG, "kde: need reference, validation and test points");
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int64_t i = 0; i < n_ref; i++)
        for (int k = 0; k < 2; k++) {
            double v = ref[2 * i + k];
            if (!isfinite(v)) return gm_error(GM_ERR_ARG, "kde: reference point %lld is not finite", (long long)i);
            lo[k] = v < lo[k] ? v : lo[k], hi[k] = v > hi[k] ? v : hi[k];
        }
    static const double hs[] = {0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15, 0.2};
    double span = fmax(hi[0] - lo[0], hi[1] - lo[1]), margin = 0.05 * span + 5 * 0.2;
    kde_grid g = {lo[0] - margin, lo[1] - margin, (hi[0] - lo[0] + 2 * margin) / KDE_G, (hi[1] - lo[1] + 2 * margin) / KDE_G,
                  calloc((size_t)KDE_G * KDE_G, sizeof(double)), malloc((size_t)KDE_G * KDE_G * sizeof(double))};
    if (!g.hist || !g.dens) {
        free(g.hist), free(g.dens);
        return gm_error(GM_ERR_NOMEM, "kde: out of memory");
    }
    for (int64_t i = 0; i < n_ref; i++) { /* cloud-in-cell binning */
        double fx = (ref[2 * i] - g.x0) / g.dx - 0.5, fy = (ref[2 * i + 1] - g.y0) / g.dy - 0.5;
        int ix = (int)floor(fx), iy = (int)floor(fy);
        double tx = fx - ix, ty = fy - iy;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                int cx = ix + a, cy = iy + b;
                if (cx >= 0 && cy >= 0 && cx < KDE_G && cy < KDE_G)
                    g.hist[(size_t)cy * KDE_G + cx] += (a ? tx : 1 - tx) * (b ? ty : 1 - ty);
            }
    }
    double best = INFINITY, best_h = hs[0];
    gm_status st = GM_OK;
    for (size_t k = 0; k < sizeof hs / sizeof hs[0] && st == GM_OK; k++) {
        if (hs[k] < 1.5 * fmax(g.dx, g.dy)) continue; /* below the grid's resolution */
        if ((st = convolve(&g, hs[k], n_ref)) != GM_OK) break;
        double v = mean_nll(&g, valid, n_valid, NULL);
        if (v < best) best = v, best_h = hs[k];
    }
    if (st == GM_OK && (st = convolve(&g, best_h, n_ref)) == GM_OK) {
        double s = 0, m = mean_nll(&g, test, n_test, &s);
        if (nll) *nll = m;
        if (se) *se = s;
        if (bandwidth) *bandwidth = best_h;
    }
    free(g.hist), free(g.dens);
    return st;
}
