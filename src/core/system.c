/*
 * system.c — thread control (OpenMP + BLAS together) and the start-up
 * description of the machine setup. See include/genmod/system.h.
 */
#include "genmod/system.h"
#include "kernels/gemm.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int g_threads = 1;

gm_status gm_set_threads(int n) {
    if (n <= 0) {
        const char *env = getenv("GENMOD_THREADS");
        if (env && *env) {
            char *end = NULL;
            errno = 0;
            long v = strtol(env, &end, 10);
            if (errno || *end || v < 1 || v > 1024)
                return gm_error(GM_ERR_ARG, "GENMOD_THREADS: expected an integer in [1, 1024], got \"%s\"", env);
            n = (int)v;
        } else {
            long c = sysconf(_SC_NPROCESSORS_ONLN);
            n = c > 0 ? (int)c : 1;
        }
    }
    if (n > 1024) return gm_error(GM_ERR_ARG, "threads: %d is more than 1024", n);
    g_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    g_threads = 1;
#endif
    gm_blas_set_threads(n);
    return GM_OK;
}

int gm_get_threads(void) { return g_threads; }

static void isa_built(char *b, size_t cap) {
    b[0] = 0;
#if defined(__AVX512F__)
    strncat(b, "avx512f ", cap - strlen(b) - 1);
#endif
#if defined(__AVX512BF16__)
    strncat(b, "avx512bf16 ", cap - strlen(b) - 1);
#endif
#if defined(__AVX2__)
    strncat(b, "avx2 ", cap - strlen(b) - 1);
#endif
#if defined(__FMA__)
    strncat(b, "fma ", cap - strlen(b) - 1);
#endif
    size_t n = strlen(b);
    if (n) b[n - 1] = 0;
    else snprintf(b, cap, "baseline");
}

static void isa_cpu(char *b, size_t cap) {
    b[0] = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) strncat(b, "avx512f ", cap - strlen(b) - 1);
    if (__builtin_cpu_supports("avx2")) strncat(b, "avx2 ", cap - strlen(b) - 1);
    if (__builtin_cpu_supports("fma")) strncat(b, "fma ", cap - strlen(b) - 1);
#endif
    size_t n = strlen(b);
    if (n) b[n - 1] = 0;
    else snprintf(b, cap, "baseline");
}

void gm_system_info(char *buf, size_t cap) {
    char built[96], cpu[96];
    isa_built(built, sizeof built);
    isa_cpu(cpu, sizeof cpu);
    const char *ct = getenv("OPENBLAS_CORETYPE");
    snprintf(buf, cap, "threads %d | BLAS %s | OPENBLAS_CORETYPE %s%s | ISA built %s, cpu %s", g_threads,
             gm_blas_info(), ct && *ct ? ct : "unset",
             ct && *ct ? " (forced core type: GEMMs may run far below peak)" : "", built, cpu);
}
