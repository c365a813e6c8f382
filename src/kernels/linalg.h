/*
 * linalg.h — small dense LU in double (internal; see linalg.c).
 */
#ifndef GENMOD_LINALG_H
#define GENMOD_LINALG_H

/* In-place LU with partial pivoting of a (n,n) row-major matrix a; piv (n)
 * receives the row swaps. Returns log|det| (-inf when singular, NaN when an
 * entry is not finite). */
double gm_lu_factor(double *a, int n, int *piv);
/* inv (n,n) = A^{-1} from gm_lu_factor's output; col is scratch (n). */
void gm_lu_inverse(const double *a, const int *piv, int n, double *inv, double *col);

#endif
