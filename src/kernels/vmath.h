/*
 * vmath.h — vectorised float32 exp, tanh and sigmoid over arrays, for the
 * FAST backend's elementwise ops (the REF backend keeps libm).
 *
 * Accuracy (tests/test_vmath.c, against double libm over dense sweeps):
 * exp within 2 ulp-ish (relative 2.5e-7) for normal results, correct
 * gradual underflow to subnormals and 0, +inf above ln(FLT_MAX); tanh and
 * sigmoid within relative 3e-7. NaN in gives NaN out, ±inf saturate.
 * Results depend only on the element's value (not on its position, the
 * array length or the thread split), so outputs are deterministic.
 * Single-threaded: callers split large arrays across threads themselves.
 * In place (y == x) is allowed; other overlaps are not.
 * gm_vdot is the dot product the NADE/MADE kernels share.
 * What this is not: a general libm (no log, erf, ...) or a fast-math mode.
 */
#ifndef GENMOD_VMATH_H
#define GENMOD_VMATH_H
#include <stdint.h>

/* y[i] = exp(x[i]) for i in [0, n). */
void gm_vexp(const float *x, float *y, int64_t n);
/* y[i] = tanh(x[i]). */
void gm_vtanh(const float *x, float *y, int64_t n);
/* y[i] = 1 / (1 + exp(-x[i])), computed stably for both signs. */
void gm_vsigmoid(const float *x, float *y, int64_t n);
/* y[i] = log(1 + exp(x[i])) (softplus), computed stably as
 * max(x, 0) + log1p(exp(-|x|)) with log1p(e) = 2·atanh(e / (2 + e)). */
void gm_vsoftplus(const float *x, float *y, int64_t n);
/* Σ a[i]·b[i] for i in [0, n), summed in a fixed order (8 partial sums in
 * lanes, then a fixed tree): the result depends only on the inputs and n. */
float gm_vdot(const float *a, const float *b, int64_t n);
/* y[i] += a·x[i] for i in [0, n) (x and y must not overlap). */
void gm_vaxpy(float a, const float *x, float *y, int64_t n);
/* "avx2+fma" or "scalar": which code path this build uses. */
const char *gm_vmath_isa(void);
#endif
