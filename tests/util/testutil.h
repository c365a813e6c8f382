/*
 * testutil.h — minimal assertions for genmod tests.
 *
 * Every CHECK* records a pass or a failure (printing file:line and the values)
 * and the test continues; TEST_MAIN_END prints "N passed, N failed" and
 * returns non-zero if anything failed. Tolerances are stated at each call.
 */
#ifndef GENMOD_TESTUTIL_H
#define GENMOD_TESTUTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

extern int gm_test_passed, gm_test_failed;

#define CHECK(cond, ...) do { \
    if (cond) gm_test_passed++; \
    else { gm_test_failed++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol, what) do { \
    double a_ = (double)(a), b_ = (double)(b); \
    CHECK(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_) && !isnan(a_) && !isnan(b_), \
          "%s: got %.9g, expected %.9g (atol %g, rtol %g)", (what), a_, b_, (double)(atol), (double)(rtol)); } while (0)

/* Compares two float arrays; records one pass or one failure (first bad index). */
int gm_check_arrays(const char *what, const float *got, const float *want, long n, double atol, double rtol,
                    const char *file, int line);
#define CHECK_ARRAYS(what, got, want, n, atol, rtol) gm_check_arrays((what), (got), (want), (long)(n), (atol), (rtol), __FILE__, __LINE__)

/* Path to a file under the source tree (GENMOD_SOURCE_DIR, else "."); static buffer. */
const char *gm_test_src_path(const char *rel);
/* A fresh temporary directory for this test (mkdtemp under $TMPDIR or /tmp). */
const char *gm_test_tmpdir(void);

#define TEST_MAIN_END() do { \
    printf("%s: %d passed, %d failed\n", __FILE__, gm_test_passed, gm_test_failed); \
    return gm_test_failed ? 1 : 0; } while (0)

#endif
