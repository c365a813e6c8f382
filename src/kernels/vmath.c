/*
 * vmath.c — vectorised exp / tanh / sigmoid (see vmath.h for the contract).
 *
 * AVX2+FMA path (8 floats per step), used when the compiler targets it
 * (-march=native on any x86-64 of the last decade, AVX-512 machines included):
 *   exp:     Cephes-style range reduction x = n ln2 + r (ln2 split in two),
 *            degree-6 polynomial for exp(r) on |r| <= ln2/2, scaling by 2^n in
 *            two halves so that subnormal results round once, as libm's do.
 *   tanh:    |x| < 0.625: odd polynomial (Cephes tanhf); else
 *            sign(x) * (1 - 2 / (exp(2|x|) + 1)), which saturates to ±1.
 *   sigmoid: e = exp(-|x|); s = 1 / (1 + e); x >= 0 ? s : e * s.
 * The array tail (n % 8 elements) goes through the same vector code on a
 * padded copy, so every element gets the same result wherever it sits.
 * Other targets: plain loops over libm (expf, tanhf).
 */
#include "vmath.h"
#include <math.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 v_exp(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.72283172607421875f); /* largest x with a finite expf */
    const __m256 lo = _mm256_set1_ps(-104.0f);              /* below: result rounds to 0 */
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* y * 2^n with n in [-150, 128], as 2^(n/2) * 2^(n - n/2): both factors normal */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256i b = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, b), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, b), 23));
    y = _mm256_mul_ps(_mm256_mul_ps(y, s1), s2);
    y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN stays NaN */
}

static inline __m256 v_tanh(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    /* small |x|: x + x^3 P(x^2) */
    /* on |x|, sign of x put back at the end (tanh is odd; keeps tanh(-0) = -0) */
    __m256 s = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 ysmall = _mm256_fmadd_ps(_mm256_mul_ps(p, s), ax, ax);      /* |x| < 0.625: |x| + |x|^3 P(x^2) */
    __m256 e = v_exp(_mm256_add_ps(ax, ax));                            /* else 1 - 2 / (exp(2|x|) + 1) */
    __m256 ylarge = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                                  _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    __m256 y = _mm256_blendv_ps(ylarge, ysmall, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    return _mm256_or_ps(y, _mm256_and_ps(x, sign));
}

static inline __m256 v_sigmoid(__m256 x) {
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), ax));
    __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
    return _mm256_blendv_ps(_mm256_mul_ps(e, s), s, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}

/* softplus: max(x,0) + log1p(e), e = exp(-|x|) in (0, 1]; with t = e/(2+e)
 * in (0, 1/3], log1p(e) = 2·atanh(t) = 2t·Σ_k t^(2k)/(2k+1) (8 terms:
 * truncation < 3^-17/17 relative). NaN propagates through the max/exp. */
static inline __m256 v_softplus(__m256 x) {
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), ax));
    __m256 t = _mm256_div_ps(e, _mm256_add_ps(_mm256_set1_ps(2.0f), e));
    __m256 t2 = _mm256_mul_ps(t, t);
    __m256 p = _mm256_set1_ps(1.0f / 15.0f);
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 13.0f));
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 11.0f));
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 9.0f));
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 7.0f));
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 5.0f));
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f / 3.0f));
    p = _mm256_fmadd_ps(p, t2, _mm256_set1_ps(1.0f));
    __m256 l = _mm256_mul_ps(_mm256_add_ps(t, t), p);
    __m256 y = _mm256_add_ps(_mm256_max_ps(x, _mm256_setzero_ps()), l);
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); /* NaN stays NaN */
}

/* body in steps of 8, tail through a zero-padded copy */
#define VMATH_LOOP(fn)                                                   \
    int64_t i = 0;                                                       \
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, fn(_mm256_loadu_ps(x + i))); \
    if (i < n) {                                                         \
        float buf[8] = {0};                                              \
        memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));             \
        _mm256_storeu_ps(buf, fn(_mm256_loadu_ps(buf)));                 \
        memcpy(y + i, buf, (size_t)(n - i) * sizeof(float));             \
    }

void gm_vexp(const float *x, float *y, int64_t n) { VMATH_LOOP(v_exp) }
void gm_vtanh(const float *x, float *y, int64_t n) { VMATH_LOOP(v_tanh) }
void gm_vsigmoid(const float *x, float *y, int64_t n) { VMATH_LOOP(v_sigmoid) }
void gm_vsoftplus(const float *x, float *y, int64_t n) { VMATH_LOOP(v_softplus) }
float gm_vdot(const float *a, const float *b, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float lane[8];
    _mm256_storeu_ps(lane, _mm256_add_ps(acc0, acc1));
    float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
void gm_vaxpy(float a, const float *x, float *y, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}
const char *gm_vmath_isa(void) { return "avx2+fma"; }

#else /* portable fallback: libm */

void gm_vexp(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}
void gm_vtanh(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
}
void gm_vsigmoid(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float e = expf(-fabsf(x[i])), s = 1.0f / (1.0f + e);
        y[i] = x[i] >= 0 ? s : e * s;
    }
}
void gm_vsoftplus(const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fmaxf(x[i], 0.0f) + log1pf(expf(-fabsf(x[i])));
}
float gm_vdot(const float *a, const float *b, int64_t n) {
    float lane[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) lane[l] += a[i + l] * b[i + l];
    float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
void gm_vaxpy(float a, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
}
const char *gm_vmath_isa(void) { return "scalar"; }
#endif
