/*
 * testutil.c — helpers behind testutil.h.
 */
#include "testutil.h"
#include <string.h>

int gm_test_passed = 0, gm_test_failed = 0;

int gm_check_arrays(const char *what, const float *got, const float *want, long n, double atol, double rtol,
                    const char *file, int line) {
    double worst = 0.0;
    long bad = -1;
    for (long i = 0; i < n; i++) {
        double g = got[i], w = want[i], err = fabs(g - w) - (atol + rtol * fabs(w));
        /* NaN must match NaN, and an infinity must match the same infinity
         * exactly (inf - inf and inf * rtol make the tolerance test meaningless). */
        int hard = isnan(g) != isnan(w) || ((isinf(g) || isinf(w)) && !(isnan(g) && isnan(w)) && g != w);
        if (hard) { bad = i; break; }
        if (!isnan(w) && !isinf(w) && err > 0) {
            if (bad < 0 || err > worst) { worst = err; bad = i; }
        }
    }
    if (bad < 0) { gm_test_passed++; return 1; }
    gm_test_failed++;
    fprintf(stderr, "FAIL %s:%d: %s: element %ld of %ld: got %.9g, expected %.9g (atol %g, rtol %g)\n", file, line,
            what, bad, n, (double)got[bad], (double)want[bad], atol, rtol);
    return 0;
}

const char *gm_test_src_path(const char *rel) {
    static char buf[4096];
    const char *root = getenv("GENMOD_SOURCE_DIR");
    snprintf(buf, sizeof buf, "%s/%s", root && root[0] ? root : ".", rel);
    return buf;
}

const char *gm_test_tmpdir(void) {
    static char buf[4096];
    if (buf[0]) return buf;
    const char *t = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/genmod-test-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(buf)) { perror("mkdtemp"); buf[0] = 0; return "/tmp"; }
    return buf;
}
