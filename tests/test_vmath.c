/*
 * test_vmath.c — src/kernels/vmath.c (vectorised exp / tanh / sigmoid) against
 * double-precision libm over dense sweeps, special values, and the
 * position independence of results (array tails, in-place calls).
 * Tolerances: relative 3e-7 (exp, tanh; about 2.5 ulp) and 4e-7 (sigmoid)
 * where the exact result is a normal float; absolute 3e-45 (two subnormal
 * steps) where it is subnormal.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/vmath.h"
#include "testutil.h"

typedef void (*vfn)(const float *, float *, int64_t);

static double ref_exp(double x) { return exp(x); }
static double ref_tanh(double x) { return tanh(x); }
static double ref_sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }
static double ref_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* Sweeps n points over [lo, hi]; one CHECK for the worst element. */
static void sweep(const char *name, vfn f, double (*ref)(double), double lo, double hi, long n, double rtol) {
    float *x = malloc((size_t)n * sizeof(float)), *y = malloc((size_t)n * sizeof(float));
    CHECK(x && y, "out of memory");
    if (!x || !y) { free(x); free(y); return; }
    for (long i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * (double)i / (double)(n - 1));
    f(x, y, n);
    double worst = 0.0;
    long bad = -1;
    for (long i = 0; i < n; i++) {
        double t = ref((double)x[i]), err;
        if (t > FLT_MAX) err = isinf(y[i]) && y[i] > 0 ? 0.0 : INFINITY;
        else if (fabs(t) >= FLT_MIN) err = fabs((double)y[i] - t) / fabs(t) / rtol;
        else err = fabs((double)y[i] - t) / 3e-45;
        if (!(err <= worst)) { worst = err; bad = i; }
    }
    CHECK(worst <= 1.0, "%s: element %ld x=%.9g got %.9g want %.9g (rtol %g)", name, bad, bad >= 0 ? x[bad] : 0.0,
          bad >= 0 ? y[bad] : 0.0, bad >= 0 ? ref((double)x[bad]) : 0.0, rtol);
    free(x);
    free(y);
}

static float one(vfn f, float x) {
    float y;
    f(&x, &y, 1);
    return y;
}

int main(void) {
    printf("vmath isa: %s\n", gm_vmath_isa());
    sweep("exp", gm_vexp, ref_exp, -110.0, 90.0, 2000003, 3e-7);
    sweep("exp small", gm_vexp, ref_exp, -1e-3, 1e-3, 100001, 3e-7);
    sweep("tanh", gm_vtanh, ref_tanh, -20.0, 20.0, 2000003, 3e-7);
    sweep("tanh near 0", gm_vtanh, ref_tanh, -1e-3, 1e-3, 100001, 3e-7);
    sweep("tanh near 0.625", gm_vtanh, ref_tanh, 0.62, 0.63, 100001, 3e-7);
    sweep("sigmoid", gm_vsigmoid, ref_sigmoid, -110.0, 110.0, 2000003, 4e-7);
    sweep("softplus", gm_vsoftplus, ref_softplus, -110.0, 110.0, 2000003, 4e-7);
    sweep("softplus near 0", gm_vsoftplus, ref_softplus, -1e-3, 1e-3, 100001, 3e-7);

    /* dot product against a double sum, every length 0..70 (body, tails) */
    {
        float a[70], b[70];
        for (int k = 0; k < 70; k++) { a[k] = sinf(0.37f * (float)k) * 3.0f; b[k] = cosf(0.11f * (float)k) - 0.2f; }
        double worst = 0;
        for (int n = 0; n <= 70; n++) {
            double ref = 0, mag = 0;
            for (int k = 0; k < n; k++) { ref += (double)a[k] * b[k]; mag += fabs((double)a[k] * b[k]); }
            double err = fabs(gm_vdot(a, b, n) - ref) / (mag > 1 ? mag : 1);
            worst = err > worst ? err : worst;
        }
        CHECK(worst < 1e-6, "vdot within 1e-6 of the double sum (relative to Σ|a·b|), n = 0..70");
        CHECK(gm_vdot(a, b, 0) == 0.0f, "vdot of empty arrays is 0");
    }

    /* special values */
    CHECK(one(gm_vexp, 0.0f) == 1.0f, "exp(0)");
    CHECK(isinf(one(gm_vexp, INFINITY)) && one(gm_vexp, INFINITY) > 0, "exp(inf)");
    CHECK(one(gm_vexp, -INFINITY) == 0.0f, "exp(-inf)");
    CHECK(isinf(one(gm_vexp, 88.8f)), "exp(88.8) overflows");
    CHECK(isfinite(one(gm_vexp, 88.72283172607421875f)), "exp(largest finite arg) is finite");
    CHECK(one(gm_vexp, -104.5f) == 0.0f, "exp(-104.5) underflows to 0");
    CHECK(one(gm_vexp, -103.0f) > 0.0f, "exp(-103) is a positive subnormal");
    CHECK(isnan(one(gm_vexp, NAN)) && isnan(one(gm_vtanh, NAN)) && isnan(one(gm_vsigmoid, NAN)), "NaN propagates");
    CHECK(one(gm_vtanh, INFINITY) == 1.0f && one(gm_vtanh, -INFINITY) == -1.0f, "tanh(±inf)");
    CHECK(one(gm_vtanh, 0.0f) == 0.0f && signbit(one(gm_vtanh, -0.0f)), "tanh(±0) keeps the sign");
    CHECK(one(gm_vtanh, 1e-30f) == 1e-30f, "tanh(tiny) = tiny");
    CHECK(one(gm_vsigmoid, 0.0f) == 0.5f, "sigmoid(0)");
    CHECK(one(gm_vsigmoid, INFINITY) == 1.0f && one(gm_vsigmoid, -INFINITY) == 0.0f, "sigmoid(±inf)");
    CHECK_CLOSE(one(gm_vsigmoid, -80.0f), exp(-80.0), 0, 4e-7, "sigmoid(-80) keeps relative accuracy");

    /* results do not depend on position (vector body vs tail) or on in-place use */
    {
        enum { N = 37 };
        float x[N], y[N], z[N];
        vfn fs[3] = {gm_vexp, gm_vtanh, gm_vsigmoid};
        for (int k = 0; k < N; k++) x[k] = -3.0f + 0.17f * (float)k;
        for (int f = 0; f < 3; f++) {
            fs[f](x, y, N);
            int same = 1;
            for (int k = 0; k < N; k++) same &= one(fs[f], x[k]) == y[k];
            CHECK(same, "function %d: element results differ between a long call and single calls", f);
            memcpy(z, x, sizeof z);
            fs[f](z, z, N);
            CHECK(memcmp(z, y, sizeof z) == 0, "function %d: in-place call differs", f);
        }
    }
    gm_vexp(NULL, NULL, 0); /* n = 0 touches nothing */
    CHECK(1, "n = 0");
    TEST_MAIN_END();
}
