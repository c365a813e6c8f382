/*
 * gemm.c — GEMM dispatch: OpenBLAS when available, plain reference otherwise.
 */
#include "gemm.h"
#include <stdio.h>
#ifdef GENMOD_HAVE_BLAS
#include <cblas.h>
#endif

void gm_sgemm_ref(int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; k++) {
                float a = transA ? A[k * lda + i] : A[i * lda + k];
                float b = transB ? B[j * ldb + k] : B[k * ldb + j];
                acc += (double)a * (double)b;
            }
            float c = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = c + alpha * (float)acc;
        }
}

void gm_sgemm(gm_backend be, int transA, int transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
#ifdef GENMOD_HAVE_BLAS
    if (be == GM_BACKEND_FAST && M < (1ll << 31) && N < (1ll << 31) && K < (1ll << 31)) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
#endif
    gm_sgemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

#ifdef GENMOD_HAVE_BLAS
/* OpenBLAS extensions (declared here: not every cblas.h has them) */
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);
#endif

const char *gm_blas_info(void) {
#ifdef GENMOD_HAVE_BLAS
    static char buf[256];
    snprintf(buf, sizeof buf, "%s (core %s)", openblas_get_config(), openblas_get_corename());
    return buf;
#else
    return "none (reference GEMM)";
#endif
}

void gm_blas_set_threads(int n) {
#ifdef GENMOD_HAVE_BLAS
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}
