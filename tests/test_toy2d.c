/*
 * test_toy2d.c — the synthetic 2-D densities: samplers against their own
 * log-densities (Monte-Carlo mean of -log p vs the entropy), densities that
 * integrate to 1 on a grid, closed forms against brute-force integrals.
 */
#include "genmod/datasets.h"
#include "testutil.h"
#include <string.h>

#define PI 3.14159265358979323846

/* midpoint-grid integrals of p and of -p log p over [lo,hi]^2 */
static void grid_integrals(gm_toy2d k, double lo, double hi, double step, double *mass, double *ent) {
    int64_t m = (int64_t)((hi - lo) / step + 0.5);
    float *pts = malloc((size_t)m * 2 * sizeof(float));
    double *lp = malloc((size_t)m * sizeof(double));
    double s = 0, e = 0;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < m; j++) { pts[2 * j] = (float)(lo + (i + 0.5) * step); pts[2 * j + 1] = (float)(lo + (j + 0.5) * step); }
        gm_toy2d_logpdf(k, pts, m, lp);
        for (int64_t j = 0; j < m; j++)
            if (lp[j] > -INFINITY) { s += exp(lp[j]); e -= exp(lp[j]) * lp[j]; }
    }
    free(pts);
    free(lp);
    *mass = s * step * step;
    *ent = e * step * step;
}

/* mean and standard error of -log p over n fresh samples */
static void mc_entropy(gm_toy2d k, int64_t n, uint64_t seed, double *mean, double *se, int *n_inf) {
    float *x = malloc((size_t)n * 2 * sizeof(float));
    double *lp = malloc((size_t)n * sizeof(double));
    gm_rng r;
    gm_rng_seed(&r, seed, GM_STREAM_SAMPLE);
    gm_toy2d_sample(k, &r, n, x, NULL);
    CHECK(gm_toy2d_logpdf(k, x, n, lp) == GM_OK, "logpdf %s", gm_toy2d_name(k));
    double s = 0, s2 = 0;
    *n_inf = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(lp[i])) { (*n_inf)++; continue; }
        s -= lp[i];
        s2 += lp[i] * lp[i];
    }
    *mean = s / n;
    *se = sqrt((s2 / n - *mean * *mean) / n);
    free(x);
    free(lp);
}

static void test_names_and_sampling(void) {
    for (int k = 0; k < GM_TOY_COUNT; k++) CHECK(gm_toy2d_from_name(gm_toy2d_name((gm_toy2d)k)) == k, "name round trip %d", k);
    CHECK(gm_toy2d_from_name("moons") == GM_TOY_MOONS && gm_toy2d_from_name("x") == -1, "aliases");
    const int64_t n = 20000;
    float *a = malloc(n * 2 * sizeof(float)), *b = malloc(n * 2 * sizeof(float));
    int64_t *lab = malloc(n * sizeof(int64_t));
    const int64_t ncomp[GM_TOY_COUNT] = {2, 8, 1, 5, 2, 1, 4};
    for (int k = 0; k < GM_TOY_COUNT; k++) {
        gm_rng r1, r2;
        gm_rng_seed(&r1, 42, GM_STREAM_DATA);
        gm_rng_seed(&r2, 42, GM_STREAM_DATA);
        CHECK(gm_toy2d_sample((gm_toy2d)k, &r1, n, a, lab) == GM_OK && gm_toy2d_sample((gm_toy2d)k, &r2, n, b, NULL) == GM_OK, "sample");
        CHECK(memcmp(a, b, n * 2 * sizeof(float)) == 0, "%s: same seed, same points", gm_toy2d_name((gm_toy2d)k));
        double mx = 0, my = 0, r2sum = 0;
        int finite = 1, labels_ok = 1;
        int64_t count[8] = {0};
        for (int64_t i = 0; i < n; i++) {
            finite &= isfinite(a[2 * i]) && isfinite(a[2 * i + 1]) && fabsf(a[2 * i]) < 6 && fabsf(a[2 * i + 1]) < 6;
            labels_ok &= lab[i] >= 0 && lab[i] < ncomp[k];
            if (lab[i] >= 0 && lab[i] < 8) count[lab[i]]++;
            mx += a[2 * i]; my += a[2 * i + 1];
            r2sum += a[2 * i] * a[2 * i] + a[2 * i + 1] * a[2 * i + 1];
        }
        CHECK(finite && labels_ok, "%s: points finite within |6|, labels in range", gm_toy2d_name((gm_toy2d)k));
        /* components equally likely: each count within 5 sigma of n/K */
        for (int c = 0; c < ncomp[k]; c++) {
            double p = 1.0 / ncomp[k], sd = sqrt(n * p * (1 - p));
            CHECK(fabs(count[c] - n * p) < 5 * sd + 1e-9, "%s: component %d count %lld", gm_toy2d_name((gm_toy2d)k), c, (long long)count[c]);
        }
        if (k == GM_TOY_8GAUSSIANS) {
            /* E|x|^2 = R^2 + 2 sd^2 with R = 4/1.414, sd = 0.5/1.414 */
            double want = 16.0 / (1.414 * 1.414) + 2 * 0.25 / (1.414 * 1.414);
            CHECK_CLOSE(r2sum / n, want, 0.05, 0, "8gaussians E|x|^2 (se 0.01)");
            CHECK_CLOSE(mx / n, 0, 0.05, 0, "8gaussians mean x");
            CHECK_CLOSE(my / n, 0, 0.05, 0, "8gaussians mean y");
        }
        if (k == GM_TOY_RINGS) CHECK_CLOSE(r2sum / n, (9 + 5.0625 + 2.25 + 0.5625) / 4 + 2 * 0.0064, 0.12, 0, "rings E|x|^2 (5 se)");
        if (k == GM_TOY_CHECKERBOARD) CHECK_CLOSE(r2sum / n, 2 * 16.0 / 3.0, 0.25, 0, "checkerboard E|x|^2, 5 se (marginals uniform on [-4,4])");
    }
    CHECK(gm_toy2d_sample(GM_TOY_COUNT, NULL, 1, a, NULL) == GM_ERR_ARG, "bad kind");
    free(a);
    free(b);
    free(lab);
}

static void test_checkerboard(void) {
    double mass, ent, mean, se, h;
    int ninf;
    grid_integrals(GM_TOY_CHECKERBOARD, -5, 5, 0.05, &mass, &ent);
    CHECK_CLOSE(mass, 1.0, 1e-9, 0, "checkerboard integrates to 1");
    CHECK_CLOSE(ent, log(32.0), 1e-9, 0, "checkerboard grid entropy");
    mc_entropy(GM_TOY_CHECKERBOARD, 100000, 3, &mean, &se, &ninf);
    CHECK(ninf == 0, "every checkerboard sample is inside the support (%d outside)", ninf);
    CHECK_CLOSE(mean, 3.4657359028, 0.01, 0, "checkerboard MC -log p = ln 32");
    CHECK(gm_toy2d_entropy(GM_TOY_CHECKERBOARD, &h) == GM_OK && fabs(h - log(32.0)) < 1e-12, "entropy ln 32");
    double lp[4];
    float pts[8] = {0.5f, 0.5f, 2.5f, 0.5f, -3.5f, -3.5f, 4.5f, 0.0f};
    gm_toy2d_logpdf(GM_TOY_CHECKERBOARD, pts, 4, lp);
    CHECK(lp[0] == -log(32.0) && lp[1] == -INFINITY && lp[2] == -log(32.0) && lp[3] == -INFINITY, "support squares");
}

static void test_smooth(gm_toy2d k, double lo, double hi, double step, int64_t nmc) {
    const char *nm = gm_toy2d_name(k);
    double mass, ent, mean, se, h;
    int ninf;
    grid_integrals(k, lo, hi, step, &mass, &ent);
    CHECK_CLOSE(mass, 1.0, 1e-3, 0, nm);
    CHECK(gm_toy2d_entropy(k, &h) == GM_OK, "entropy %s", nm);
    CHECK_CLOSE(ent, h, 1e-6, 0, "independent grid entropy vs gm_toy2d_entropy");
    mc_entropy(k, nmc, 11, &mean, &se, &ninf);
    CHECK(ninf == 0, "%s: %d samples with non-finite log p", nm, ninf);
    CHECK(fabs(mean - h) < 5 * se, "%s: MC -log p %.5f vs entropy %.5f (5 se = %.5f)", nm, mean, h, 5 * se);
    printf("%-10s entropy %.6f  MC %.5f +- %.5f (n=%lld)  grid mass %.9f\n", nm, h, mean, se, (long long)nmc, mass);
}

/* rings' Bessel closed form vs a brute-force average over the ring angle */
static void test_rings_closed_form(void) {
    float pts[10] = {0, 0, 3.05f, 0.1f, -1.0f, 1.1f, 0.3f, -0.7f, 2.0f, 2.0f};
    double lp[5];
    gm_toy2d_logpdf(GM_TOY_RINGS, pts, 5, lp);
    for (int i = 0; i < 5; i++) {
        double x = pts[2 * i], y = pts[2 * i + 1], s2 = 0.08 * 0.08, p = 0;
        const int M = 200000;
        for (int k = 0; k < 4; k++) {
            double R = 3.0 * (1 - 0.25 * k), acc = 0;
            for (int q = 0; q < M; q++) {
                double th = 2 * PI * (q + 0.5) / M, dx = x - R * cos(th), dy = y - R * sin(th);
                acc += exp(-(dx * dx + dy * dy) / (2 * s2));
            }
            p += 0.25 * acc / M / (2 * PI * s2);
        }
        if (p > 1e-300) CHECK_CLOSE(lp[i], log(p), 1e-8, 1e-9, "rings log p vs brute force");
        else CHECK(lp[i] < -600, "far from all rings: %g", lp[i]);
    }
}

/* quadrature densities vs a fine Riemann sum along the curve */
static void test_curve_quadrature(void) {
    float pts[6] = {0.0f, 0.5f, 1.2f, -0.6f, -2.5f, 1.0f};
    double lp[3];
    gm_toy2d_logpdf(GM_TOY_MOONS, pts, 3, lp);
    for (int i = 0; i < 3; i++) {
        double x = pts[2 * i], y = pts[2 * i + 1], sd = 0.2, p = 0;
        const int M = 400000;
        for (int m = 0; m < 2; m++)
            for (int q = 0; q < M; q++) {
                double t = PI * (q + 0.5) / M;
                double cx = m == 0 ? 2 * cos(t) - 1 : 1 - 2 * cos(t), cy = m == 0 ? 2 * sin(t) - 0.2 : 0.8 - 2 * sin(t);
                p += 0.5 / M * exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * sd * sd)) / (2 * PI * sd * sd);
            }
        CHECK_CLOSE(lp[i], log(p), 1e-7, 0, "moons log p vs Riemann sum");
    }
    gm_toy2d_logpdf(GM_TOY_SWISSROLL, pts, 3, lp);
    for (int i = 0; i < 3; i++) {
        double x = pts[2 * i], y = pts[2 * i + 1], sd = 0.2, p = 0;
        const int M = 400000;
        for (int q = 0; q < M; q++) {
            double t = 1.5 * PI + 3 * PI * (q + 0.5) / M, cx = t * cos(t) / 5, cy = t * sin(t) / 5;
            p += 1.0 / M * exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / (2 * sd * sd)) / (2 * PI * sd * sd);
        }
        CHECK_CLOSE(lp[i], log(p), 1e-7, 0, "swissroll log p vs Riemann sum");
    }
}

static void test_unsupported(void) {
    double lp[1], h;
    float x[2] = {0, 0};
    CHECK(!gm_toy2d_has_logpdf(GM_TOY_PINWHEEL) && !gm_toy2d_has_logpdf(GM_TOY_2SPIRALS), "no density for pinwheel/2spirals");
    CHECK(gm_toy2d_logpdf(GM_TOY_PINWHEEL, x, 1, lp) == GM_ERR_UNSUPPORTED, "pinwheel logpdf unsupported");
    CHECK(strstr(gm_last_error(), "pinwheel") != NULL, "message names it: %s", gm_last_error());
    CHECK(gm_toy2d_entropy(GM_TOY_2SPIRALS, &h) == GM_ERR_UNSUPPORTED && isnan(h), "2spirals entropy unsupported");
}

int main(void) {
    test_names_and_sampling();
    test_checkerboard();
    /* 8gaussians: the optimum is about 2.83 nats */
    double h8;
    gm_toy2d_entropy(GM_TOY_8GAUSSIANS, &h8);
    CHECK_CLOSE(h8, 2.83, 0.005, 0, "8gaussians entropy ~ 2.83");
    /* ln 8 + ln(2 pi e sd^2) is the no-overlap limit; the overlap lowers it slightly */
    double sd = 0.5 / 1.414, h_sep = log(8.0) + log(2 * PI * exp(1.0) * sd * sd);
    CHECK(h8 < h_sep && h8 > h_sep - 0.02, "8gaussians entropy %.6f just below the separated limit %.6f", h8, h_sep);
    /* grid steps about sd/2 (the midpoint rule on these analytic densities
     * then errs by ~exp(-2 pi^2 sd^2/step^2), far below the tolerances) */
    test_smooth(GM_TOY_8GAUSSIANS, -7, 7, 0.1, 100000);
    test_smooth(GM_TOY_RINGS, -4, 4, 0.04, 100000);
    test_smooth(GM_TOY_MOONS, -5, 5, 0.1, 20000);
    test_smooth(GM_TOY_SWISSROLL, -5, 5, 0.1, 20000);
    test_rings_closed_form();
    test_curve_quadrature();
    test_unsupported();
    TEST_MAIN_END();
}
