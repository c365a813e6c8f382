/*
 * toy2d.c — the synthetic 2-D densities of FFJORD's lib/toy_data.py
 * (rtqichen/ffjord), as i.i.d. samplers with their true log-densities.
 *
 * Each generator follows the reference definition (constants included, e.g.
 * 8gaussians divides by 1.414, not sqrt 2), except that FFJORD's
 * deterministic per-batch quotas (exactly n/4 points per ring, linspace angles,
 * n/2 per moon) become i.i.d. draws of the component and the angle: the
 * batch's limit distribution, which is what the log-density describes.
 * Log-densities: closed form for checkerboard (uniform, 1/32), 8gaussians
 * (mixture of 8 isotropic Gaussians) and rings (uniform-angle circle blurred by
 * a Gaussian: modified Bessel I0); two-moons and swissroll are a curve blurred
 * by a Gaussian, integrated along the curve with composite 8-point
 * Gauss-Legendre. Pinwheel and 2spirals have none here. Formulas: docs/DATA.md.
 */
#include "genmod/datasets.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define LN_2PI 1.8378770664093454836

static const char *const toy_names[GM_TOY_COUNT] = {"two-moons", "8gaussians", "checkerboard", "pinwheel",
                                                    "2spirals",  "swissroll",  "rings"};

int gm_toy2d_from_name(const char *name) {
    if (!name) return -1;
    for (int k = 0; k < GM_TOY_COUNT; k++)
        if (!strcmp(name, toy_names[k])) return k;
    if (!strcmp(name, "moons")) return GM_TOY_MOONS;
    if (!strcmp(name, "8gauss")) return GM_TOY_8GAUSSIANS;
    return -1;
}

const char *gm_toy2d_name(gm_toy2d kind) {
    return (int)kind >= 0 && kind < GM_TOY_COUNT ? toy_names[kind] : "?";
}

/* ==== generators ==== */

#define G8_SCALE 4.0
#define G8_STD 0.5
#define G8_DIV 1.414
#define RINGS_STD 0.08
#define MOONS_STD 0.2  /* sklearn noise 0.1, then x2 */
#define SWISS_STD 0.2  /* sklearn noise 1.0, then /5 */

static void g8_center(int k, double *cx, double *cy) {
    static const double u[8][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
    double s = k < 4 ? 1.0 : 1.0 / sqrt(2.0);
    *cx = G8_SCALE * u[k][0] * s / G8_DIV;
    *cy = G8_SCALE * u[k][1] * s / G8_DIV;
}

static double ring_radius(int k) { return 3.0 * (1.0 - 0.25 * k); } /* 3, 2.25, 1.5, 0.75 */

/* moon m at parameter t in [0, pi], after FFJORD's x*2 + (-1, -0.2) */
static void moon_point(int m, double t, double *x, double *y) {
    if (m == 0) { *x = 2.0 * cos(t) - 1.0; *y = 2.0 * sin(t) - 0.2; }
    else { *x = 1.0 - 2.0 * cos(t); *y = 0.8 - 2.0 * sin(t); }
}

static void swiss_point(double t, double *x, double *y) { *x = t * cos(t) / 5.0; *y = t * sin(t) / 5.0; }

gm_status gm_toy2d_sample(gm_toy2d kind, gm_rng *r, int64_t n, float *x, int64_t *labels) {
    if ((int)kind < 0 || kind >= GM_TOY_COUNT) return gm_error(GM_ERR_ARG, "toy2d: unknown kind %d", (int)kind);
    if (n < 0) return gm_error(GM_ERR_ARG, "toy2d: n must be >= 0, got %lld", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        double a = 0, b = 0;
        int64_t lab = 0;
        switch (kind) {
        case GM_TOY_MOONS: {
            lab = gm_rng_randint(r, 2);
            moon_point((int)lab, PI * gm_rng_uniform_d(r), &a, &b);
            a += MOONS_STD * gm_rng_normal(r);
            b += MOONS_STD * gm_rng_normal(r);
            break;
        }
        case GM_TOY_8GAUSSIANS: {
            lab = gm_rng_randint(r, 8);
            double cx, cy;
            g8_center((int)lab, &cx, &cy);
            a = cx + G8_STD / G8_DIV * gm_rng_normal(r);
            b = cy + G8_STD / G8_DIV * gm_rng_normal(r);
            break;
        }
        case GM_TOY_CHECKERBOARD: {
            double x1 = gm_rng_uniform_d(r) * 4.0 - 2.0;
            double x2 = gm_rng_uniform_d(r) - 2.0 * (double)gm_rng_randint(r, 2);
            double f = floor(x1);
            x2 += f - 2.0 * floor(f / 2.0); /* Python's floor(x1) % 2 */
            a = 2.0 * x1;
            b = 2.0 * x2;
            break;
        }
        case GM_TOY_PINWHEEL: {
            lab = gm_rng_randint(r, 5);
            double f0 = 0.3 * gm_rng_normal(r) + 1.0, f1 = 0.1 * gm_rng_normal(r);
            double ang = 2.0 * PI * (double)lab / 5.0 + 0.25 * exp(f0), c = cos(ang), s = sin(ang);
            a = 2.0 * (f0 * c + f1 * s);
            b = 2.0 * (-f0 * s + f1 * c);
            break;
        }
        case GM_TOY_2SPIRALS: {
            lab = gm_rng_randint(r, 2);
            double t = sqrt(gm_rng_uniform_d(r)) * 540.0 * (2.0 * PI) / 360.0;
            double dx = -cos(t) * t + 0.5 * gm_rng_uniform_d(r), dy = sin(t) * t + 0.5 * gm_rng_uniform_d(r);
            double sg = lab ? -1.0 : 1.0;
            a = sg * dx / 3.0 + 0.1 * gm_rng_normal(r);
            b = sg * dy / 3.0 + 0.1 * gm_rng_normal(r);
            break;
        }
        case GM_TOY_SWISSROLL: {
            double t = 1.5 * PI * (1.0 + 2.0 * gm_rng_uniform_d(r));
            swiss_point(t, &a, &b);
            a += SWISS_STD * gm_rng_normal(r);
            b += SWISS_STD * gm_rng_normal(r);
            break;
        }
        case GM_TOY_RINGS: {
            lab = gm_rng_randint(r, 4);
            double R = ring_radius((int)lab), th = 2.0 * PI * gm_rng_uniform_d(r);
            a = R * cos(th) + RINGS_STD * gm_rng_normal(r);
            b = R * sin(th) + RINGS_STD * gm_rng_normal(r);
            break;
        }
        default: break;
        }
        x[2 * i] = (float)a;
        x[2 * i + 1] = (float)b;
        if (labels) labels[i] = lab;
    }
    return GM_OK;
}

/* ==== log-densities ==== */

/* log(I0(z) e^{-z}) for z >= 0: power series below 25, asymptotic series above
 * (all terms positive; truncated at the smallest term, relative error < 1e-15). */
static double log_i0e(double z) {
    if (z < 25.0) {
        double t = 0.25 * z * z, term = 1.0, sum = 1.0;
        for (int k = 1; k < 200; k++) {
            term *= t / ((double)k * (double)k);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return log(sum) - z;
    }
    double iz = 1.0 / (8.0 * z), term = 1.0, sum = 1.0;
    for (int k = 1; k < 100; k++) {
        double nt = term * (double)(2 * k - 1) * (double)(2 * k - 1) * iz / (double)k;
        if (nt >= term) break;
        term = nt;
        sum += term;
        if (term < 1e-17 * sum) break;
    }
    return log(sum) - 0.5 * log(2.0 * PI * z);
}

/* streaming log-sum-exp */
typedef struct { double m, s; } lse_acc;
static void lse_add(lse_acc *a, double v) {
    if (v == -INFINITY) return;
    if (v <= a->m) { if (v > a->m - 45.0) a->s += exp(v - a->m); }
    else { a->s = a->s * exp(a->m - v) + 1.0; a->m = v; }
}
static double lse_get(const lse_acc *a) { return a->s > 0 ? a->m + log(a->s) : -INFINITY; }

static double logpdf_8g(double x, double y) {
    const double sd = G8_STD / G8_DIV, v2 = 2.0 * sd * sd;
    lse_acc acc = {-INFINITY, 0.0};
    for (int k = 0; k < 8; k++) {
        double cx, cy;
        g8_center(k, &cx, &cy);
        lse_add(&acc, -((x - cx) * (x - cx) + (y - cy) * (y - cy)) / v2);
    }
    return lse_get(&acc) - log(8.0) - LN_2PI - log(sd * sd);
}

static double logpdf_rings(double x, double y) {
    const double s2 = RINGS_STD * RINGS_STD;
    double rr = sqrt(x * x + y * y);
    lse_acc acc = {-INFINITY, 0.0};
    for (int k = 0; k < 4; k++) {
        double R = ring_radius(k);
        lse_add(&acc, -(rr - R) * (rr - R) / (2.0 * s2) + log_i0e(rr * R / s2));
    }
    return lse_get(&acc) - log(4.0) - LN_2PI - log(s2);
}

static double logpdf_checker(double x, double y) {
    if (!(x >= -4.0 && x < 4.0 && y >= -4.0 && y < 4.0)) return -INFINITY;
    int fx = (int)floor(x / 2.0), fy = (int)floor(y / 2.0);
    return ((fx + fy) % 2 == 0) ? -log(32.0) : -INFINITY;
}

/* Curve densities p(x) = sum_c w_c ∫ rho(t) N(x; curve_c(t), sd^2 I) dt by
 * composite 8-point Gauss-Legendre; nodes precomputed once per call. */
static const double GL_X[4] = {0.1834346424956498, 0.5255324099163290, 0.7966664774136267, 0.9602898564975363};
static const double GL_W[4] = {0.3626837833783620, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763};

typedef struct { double *px, *py, *lw; int64_t n; double sd; } curve_nodes;

static gm_status build_nodes(gm_toy2d kind, curve_nodes *cn) {
    int ncomp = kind == GM_TOY_MOONS ? 2 : 1;
    double t0 = kind == GM_TOY_MOONS ? 0.0 : 1.5 * PI, t1 = kind == GM_TOY_MOONS ? PI : 4.5 * PI;
    /* panel width <= (sd / max curve speed) / 1.5: moons speed 2, swissroll <= 2.83 */
    int panels = kind == GM_TOY_MOONS ? 48 : 200;
    cn->sd = kind == GM_TOY_MOONS ? MOONS_STD : SWISS_STD;
    cn->n = (int64_t)ncomp * panels * 8;
    cn->px = malloc((size_t)cn->n * 3 * sizeof(double));
    if (!cn->px) return gm_error(GM_ERR_NOMEM, "toy2d: out of memory for quadrature nodes");
    cn->py = cn->px + cn->n;
    cn->lw = cn->py + cn->n;
    double h = (t1 - t0) / panels, log_rho = -log(t1 - t0), log_wc = -log((double)ncomp);
    int64_t q = 0;
    for (int c = 0; c < ncomp; c++)
        for (int p = 0; p < panels; p++) {
            double mid = t0 + (p + 0.5) * h;
            for (int k = 0; k < 8; k++) {
                double t = mid + (k < 4 ? -1.0 : 1.0) * GL_X[k & 3] * 0.5 * h;
                if (kind == GM_TOY_MOONS) moon_point(c, t, &cn->px[q], &cn->py[q]);
                else swiss_point(t, &cn->px[q], &cn->py[q]);
                cn->lw[q] = log_wc + log_rho + log(GL_W[k & 3] * 0.5 * h);
                q++;
            }
        }
    return GM_OK;
}

static double logpdf_curve(const curve_nodes *cn, double x, double y) {
    double v2 = 2.0 * cn->sd * cn->sd;
    lse_acc acc = {-INFINITY, 0.0};
    for (int64_t q = 0; q < cn->n; q++) {
        double dx = x - cn->px[q], dy = y - cn->py[q];
        lse_add(&acc, cn->lw[q] - (dx * dx + dy * dy) / v2);
    }
    return lse_get(&acc) - LN_2PI - 2.0 * log(cn->sd);
}

int gm_toy2d_has_logpdf(gm_toy2d kind) {
    return kind == GM_TOY_CHECKERBOARD || kind == GM_TOY_8GAUSSIANS || kind == GM_TOY_RINGS || kind == GM_TOY_MOONS ||
           kind == GM_TOY_SWISSROLL;
}

/* log p at points given in double, via a callback-free switch */
static gm_status logpdf_d(gm_toy2d kind, int64_t n, const float *xf, const double *xd, double *out) {
    if ((int)kind < 0 || kind >= GM_TOY_COUNT) return gm_error(GM_ERR_ARG, "toy2d: unknown kind %d", (int)kind);
    if (!gm_toy2d_has_logpdf(kind))
        return gm_error(GM_ERR_UNSUPPORTED, "toy2d %s: no log-density available", toy_names[kind]);
    curve_nodes cn = {0};
    if (kind == GM_TOY_MOONS || kind == GM_TOY_SWISSROLL) {
        gm_status st = build_nodes(kind, &cn);
        if (st != GM_OK) return st;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = xf ? xf[2 * i] : xd[2 * i], y = xf ? xf[2 * i + 1] : xd[2 * i + 1];
        switch (kind) {
        case GM_TOY_CHECKERBOARD: out[i] = logpdf_checker(x, y); break;
        case GM_TOY_8GAUSSIANS: out[i] = logpdf_8g(x, y); break;
        case GM_TOY_RINGS: out[i] = logpdf_rings(x, y); break;
        default: out[i] = logpdf_curve(&cn, x, y); break;
        }
    }
    free(cn.px);
    return GM_OK;
}

gm_status gm_toy2d_logpdf(gm_toy2d kind, const float *x, int64_t n, double *out) {
    return logpdf_d(kind, n, x, NULL, out);
}

gm_status gm_toy2d_entropy(gm_toy2d kind, double *h) {
    *h = NAN;
    if ((int)kind < 0 || kind >= GM_TOY_COUNT) return gm_error(GM_ERR_ARG, "toy2d: unknown kind %d", (int)kind);
    if (!gm_toy2d_has_logpdf(kind))
        return gm_error(GM_ERR_UNSUPPORTED, "toy2d %s: no log-density, so no entropy", toy_names[kind]);
    if (kind == GM_TOY_CHECKERBOARD) { *h = log(32.0); return GM_OK; }
    /* midpoint grid over the support +- 10 sd; the integrand is analytic, so
     * the midpoint rule converges like exp(-2 pi^2 sd^2 / step^2): step = sd/3
     * leaves < 1e-12 */
    double lo, hi, step;
    switch (kind) {
    case GM_TOY_8GAUSSIANS:
        lo = -(G8_SCALE / G8_DIV + 10 * G8_STD / G8_DIV); hi = -lo; step = G8_STD / G8_DIV / 3;
        break;
    case GM_TOY_RINGS: lo = -(3.0 + 10 * RINGS_STD); hi = -lo; step = RINGS_STD / 3; break;
    case GM_TOY_MOONS: lo = -3.0 - 10 * MOONS_STD; hi = 3.0 + 10 * MOONS_STD; step = MOONS_STD / 3; break;
    default: lo = -(4.5 * PI / 5 + 10 * SWISS_STD); hi = -lo; step = SWISS_STD / 3; break;
    }
    int64_t m = (int64_t)ceil((hi - lo) / step);
    double *pts = malloc((size_t)m * 2 * sizeof(double)), *lp = malloc((size_t)m * sizeof(double));
    if (!pts || !lp) { free(pts); free(lp); return gm_error(GM_ERR_NOMEM, "toy2d: out of memory"); }
    double acc = 0.0, mass = 0.0;
    gm_status st = GM_OK;
    for (int64_t i = 0; i < m && st == GM_OK; i++) {
        for (int64_t j = 0; j < m; j++) { pts[2 * j] = lo + (i + 0.5) * step; pts[2 * j + 1] = lo + (j + 0.5) * step; }
        st = logpdf_d(kind, m, NULL, pts, lp);
        for (int64_t j = 0; j < m && st == GM_OK; j++)
            if (lp[j] > -INFINITY) { double p = exp(lp[j]); acc -= p * lp[j]; mass += p; }
    }
    free(pts);
    free(lp);
    if (st != GM_OK) return st;
    (void)mass;
    *h = acc * step * step;
    return GM_OK;
}
