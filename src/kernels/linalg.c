/*
 * linalg.c — small dense linear algebra in double for the flow layers: LU
 * factorisation with partial pivoting (log|det|) and the inverse from it.
 * Sizes are a 1x1 convolution's channel count (tens to hundreds), so plain
 * O(n^3) loops are fine. What this is not: a BLAS/LAPACK replacement.
 */
#include "kernels/linalg.h"
#include <math.h>

/* In-place LU with partial pivoting of a (n,n) double matrix. piv (n) gets
 * the row swaps. Returns log|det| (-inf if singular, NaN if non-finite). */
double gm_lu_factor(double *a, int n, int *piv) {
    double logdet = 0.0;
    for (int k = 0; k < n; k++) {
        int p = k;
        double best = fabs(a[k * n + k]);
        for (int i = k + 1; i < n; i++)
            if (fabs(a[i * n + k]) > best) best = fabs(a[i * n + k]), p = i;
        piv[k] = p;
        if (!(best > 0.0)) return best == 0.0 ? -INFINITY : NAN;
        if (p != k)
            for (int j = 0; j < n; j++) {
                double t = a[k * n + j];
                a[k * n + j] = a[p * n + j];
                a[p * n + j] = t;
            }
        double d = a[k * n + k];
        logdet += log(fabs(d));
        for (int i = k + 1; i < n; i++) {
            double f = a[i * n + k] / d;
            a[i * n + k] = f;
            if (f != 0.0)
                for (int j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
        }
    }
    return logdet;
}

/* inv (n,n) = A^{-1} from the LU factors (a, piv), by solving A X = I
 * column by column. */
void gm_lu_inverse(const double *a, const int *piv, int n, double *inv, double *col) {
    for (int c = 0; c < n; c++) {
        for (int i = 0; i < n; i++) col[i] = i == c ? 1.0 : 0.0;
        for (int k = 0; k < n; k++) /* apply the row swaps in order */
            if (piv[k] != k) {
                double t = col[k];
                col[k] = col[piv[k]];
                col[piv[k]] = t;
            }
        for (int i = 0; i < n; i++) /* L y = b (unit lower) */
            for (int k = 0; k < i; k++) col[i] -= a[i * n + k] * col[k];
        for (int i = n - 1; i >= 0; i--) { /* U x = y */
            for (int k = i + 1; k < n; k++) col[i] -= a[i * n + k] * col[k];
            col[i] /= a[i * n + i];
        }
        for (int i = 0; i < n; i++) inv[i * n + c] = col[i];
    }
}

