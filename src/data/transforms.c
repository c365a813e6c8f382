/*
 * transforms.c — in-place data transforms: stochastic binarization, uniform
 * dequantization of 8-bit data, the logit transform with its log-det, affine
 * scaling. Formulas are in genmod/data.h and docs/DATA.md.
 *
 * Not here: anything learned (normalising statistics live with the model).
 */
#include "data/data_internal.h"
#include <math.h>

void gm_binarize(float *x, int64_t n, gm_rng *r) {
    for (int64_t i = 0; i < n; i++) {
        float p = x[i] > 1.0f ? 1.0f : (x[i] > 0.0f ? x[i] : 0.0f); /* NaN -> 0 */
        x[i] = gm_rng_uniform(r) < p ? 1.0f : 0.0f;
    }
}

void gm_binarize_row(float *x, int64_t d, uint64_t seed, int64_t epoch, int64_t row) {
    gm_rng r;
    gm_rng_seed(&r, seed ^ gm_data_mix64((uint64_t)epoch ^ 0x62696E6172697A65ull /* "binarize" */), (uint64_t)row);
    gm_binarize(x, d, &r);
}

void gm_dequantize(float *x, int64_t n, int scaled01, gm_rng *r) {
    for (int64_t i = 0; i < n; i++) {
        double k = rint(scaled01 ? (double)x[i] * 255.0 : (double)x[i]);
        if (!(k >= 0.0)) k = 0.0; /* also NaN */
        if (k > 255.0) k = 255.0;
        float v = (float)((k + gm_rng_uniform_d(r)) / 256.0);
        float hi = (float)(k + 1.0) / 256.0f; /* exact */
        x[i] = v < hi ? v : nextafterf(hi, 0.0f); /* keep x in [k/256, (k+1)/256) */
    }
}

gm_status gm_logit_transform(float *x, int64_t rows, int64_t d, double alpha, double *logdet) {
    if (!(alpha >= 0.0 && alpha < 0.5)) return gm_error(GM_ERR_ARG, "logit: alpha must be in [0, 0.5), got %g", alpha);
    double a = 1.0 - 2.0 * alpha, la = log(a);
    for (int64_t i = 0; i < rows * d; i++) {
        double s = alpha + a * (double)x[i];
        if (!(s > 0.0 && s < 1.0))
            return gm_error(GM_ERR_ARG,
                            "logit: value %g (row %lld) is outside (0,1) after alpha=%g squashing; nothing changed",
                            (double)x[i], (long long)(i / d), alpha);
    }
    for (int64_t r = 0; r < rows; r++) {
        double ld = 0.0;
        for (int64_t j = 0; j < d; j++) {
            float *p = &x[r * d + j];
            double s = alpha + a * (double)*p, ls = log(s), l1s = log1p(-s);
            *p = (float)(ls - l1s);
            ld += la - ls - l1s;
        }
        if (logdet) logdet[r] += ld;
    }
    return GM_OK;
}

/* log sigmoid(y), stable for any sign */
static double log_sigmoid(double y) { return fmin(y, 0.0) - log1p(exp(-fabs(y))); }

gm_status gm_logit_inverse(float *y, int64_t rows, int64_t d, double alpha, double *logdet) {
    if (!(alpha >= 0.0 && alpha < 0.5))
        return gm_error(GM_ERR_ARG, "logit inverse: alpha must be in [0, 0.5), got %g", alpha);
    double a = 1.0 - 2.0 * alpha, la = log(a);
    for (int64_t r = 0; r < rows; r++) {
        double ld = 0.0;
        for (int64_t j = 0; j < d; j++) {
            float *p = &y[r * d + j];
            double v = (double)*p, sg = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
            *p = (float)((sg - alpha) / a);
            ld += log_sigmoid(v) + log_sigmoid(-v) - la;
        }
        if (logdet) logdet[r] += ld;
    }
    return GM_OK;
}

gm_status gm_affine_transform(float *x, int64_t rows, int64_t d, double scale, double shift, double *logdet) {
    if (!(scale != 0.0 && isfinite(scale) && isfinite(shift)))
        return gm_error(GM_ERR_ARG, "affine: scale must be finite and non-zero and shift finite (got %g, %g)", scale,
                        shift);
    for (int64_t i = 0; i < rows * d; i++) x[i] = (float)(scale * (double)x[i] + shift);
    if (logdet) {
        double ld = (double)d * log(fabs(scale));
        for (int64_t r = 0; r < rows; r++) logdet[r] += ld;
    }
    return GM_OK;
}
