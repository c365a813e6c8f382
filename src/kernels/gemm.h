/*
 * gemm.h — single-precision GEMM, row-major: C = alpha*op(A)@op(B) + beta*C.
 * op(A) is (M,K), op(B) is (K,N), C is (M,N); lda/ldb/ldc are row strides.
 * gm_sgemm_ref is the plain triple loop (double accumulation) every fast path
 * is tested against; gm_sgemm dispatches to cblas_sgemm when built with BLAS
 * and the backend is FAST, else to the reference.
 */
#ifndef GENMOD_GEMM_H
#define GENMOD_GEMM_H
#include "genmod/tensor.h"

void gm_sgemm_ref(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
void gm_sgemm(gm_backend be, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
/* "OpenBLAS 0.3.21 (Haswell, pthread)" or "none (reference GEMM)". */
const char *gm_blas_info(void);
/* Sets BLAS threads (no-op without BLAS). */
void gm_blas_set_threads(int n);
#endif
