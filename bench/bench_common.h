/*
 * bench_common.h — shared helpers of the engine benchmarks (bench/bench_*.c):
 * a monotonic clock, interleaved repetition timing, medians, and the JSON
 * line every benchmark prints (bench name, shape, median, rate, repetitions,
 * thread counts, OPENBLAS_CORETYPE and the BLAS build actually loaded).
 *
 * What this is not: part of the library (dev-only, header-only, static
 * functions; bench binaries may exit() on setup failure, the library never does).
 *
 * Timing protocol (bench/README.md): every variant is first calibrated to a
 * fixed iteration count whose run lasts >= BENCH_MIN_REP_S; then the variants
 * are run alternately A,B,A,B,... for BENCH_REPS repetitions and each reports
 * the median of its per-iteration times. Environment overrides:
 * GM_BENCH_REPS (default 7), GM_BENCH_MIN_S (default 0.3),
 * GM_BENCH_ROUND / GM_BENCH_CONFIG (labels copied into the JSON by the driver).
 */
#ifndef GENMOD_BENCH_COMMON_H
#define GENMOD_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "kernels/gemm.h"

#ifdef GENMOD_HAVE_BLAS
/* OpenBLAS extensions (not in every cblas.h) */
extern int openblas_get_num_threads(void);
extern int openblas_get_parallel(void);
#endif

#define BENCH_MAX_REPS 64

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_reps(void) {
    const char *s = getenv("GM_BENCH_REPS");
    int r = s ? atoi(s) : 7;
    if (r < 1) r = 1;
    if (r > BENCH_MAX_REPS) r = BENCH_MAX_REPS;
    return r;
}

static inline double bench_min_rep_s(void) {
    const char *s = getenv("GM_BENCH_MIN_S");
    double v = s ? atof(s) : 0.3;
    return v > 0.0 ? v : 0.3;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values (copied, input order kept). */
static inline double bench_median(const double *v, int n) {
    double t[BENCH_MAX_REPS];
    if (n <= 0) return 0.0;
    memcpy(t, v, (size_t)n * sizeof(double));
    qsort(t, (size_t)n, sizeof(double), bench_cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* One benchmarked variant: fn(arg) is one iteration (one training step...). */
typedef struct bench_variant {
    const char *impl;          /* "genmod", "raw_sgemm", ... */
    void (*fn)(void *arg);
    void *arg;
    long iters;                /* per repetition, set by calibration */
    double samples[BENCH_MAX_REPS]; /* seconds per iteration, one per repetition */
    int nsamples;
} bench_variant;

/* Runs v once `warm` times, then finds an iteration count lasting >= min_s. */
static inline void bench_calibrate(bench_variant *v, int warm, double min_s) {
    for (int k = 0; k < warm; k++) v->fn(v->arg);
    long n = 1;
    for (;;) {
        double t0 = bench_now();
        for (long k = 0; k < n; k++) v->fn(v->arg);
        double dt = bench_now() - t0;
        if (dt >= min_s) break;
        double scale = dt > 0 ? 1.2 * min_s / dt : 10.0;
        if (scale > 10.0) scale = 10.0;
        if (scale < 1.5) scale = 1.5;
        n = (long)((double)n * scale) + 1;
    }
    v->iters = n;
    v->nsamples = 0;
}

/* Interleaved repetitions: for r in reps: for each variant: time v->iters iterations. */
static inline void bench_interleave(bench_variant *vs, int nv, int reps) {
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < nv; k++) {
            bench_variant *v = &vs[k];
            double t0 = bench_now();
            for (long i = 0; i < v->iters; i++) v->fn(v->arg);
            v->samples[v->nsamples++] = (bench_now() - t0) / (double)v->iters;
        }
}

static inline const char *bench_env_or(const char *name, const char *dflt) {
    const char *s = getenv(name);
    return (s && *s) ? s : dflt;
}

/* Writes s as a JSON string (quotes and backslashes escaped, controls dropped). */
static inline void bench_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') { fputc('\\', f); fputc(*s, f); }
        else if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
    fputc('"', f);
}

static inline int bench_omp_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static inline int bench_blas_threads(void) {
#ifdef GENMOD_HAVE_BLAS
    return openblas_get_num_threads();
#else
    return 1;
#endif
}

/* "pthread", "openmp", "sequential" or "none". */
static inline const char *bench_blas_build(void) {
#ifdef GENMOD_HAVE_BLAS
    switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthread";
    case 2: return "openmp";
    default: return "?";
    }
#else
    return "none";
#endif
}

/* Starts a JSON line with the fields common to every benchmark; the caller
 * appends its own fields (each starting with ',') and calls bench_json_end. */
static inline void bench_json_begin(FILE *f, const char *bench, const char *shape, const bench_variant *v,
                                    double work, const char *unit) {
    double med = bench_median(v->samples, v->nsamples);
    double rate = med > 0 ? work / med / 1e9 : 0.0;
    fprintf(f, "{\"bench\":");
    bench_json_str(f, bench);
    fprintf(f, ",\"impl\":");
    bench_json_str(f, v->impl);
    fprintf(f, ",\"shape\":");
    bench_json_str(f, shape);
    fprintf(f, ",\"median_s\":%.9g,\"%s\":%.4f,\"reps\":%d,\"iters_per_rep\":%ld", med,
            unit, rate, v->nsamples, v->iters);
    fprintf(f, ",\"samples_s\":[");
    for (int k = 0; k < v->nsamples; k++) fprintf(f, "%s%.9g", k ? "," : "", v->samples[k]);
    fprintf(f, "],\"threads\":%d,\"omp_threads\":%d,\"blas_threads\":%d", bench_omp_threads(), bench_omp_threads(),
            bench_blas_threads());
    fprintf(f, ",\"openblas_coretype\":");
    bench_json_str(f, bench_env_or("OPENBLAS_CORETYPE", "unset"));
    fprintf(f, ",\"blas\":");
    bench_json_str(f, gm_blas_info());
    fprintf(f, ",\"blas_build\":");
    bench_json_str(f, bench_blas_build());
    fprintf(f, ",\"env_omp_num_threads\":");
    bench_json_str(f, bench_env_or("OMP_NUM_THREADS", "unset"));
    fprintf(f, ",\"env_openblas_num_threads\":");
    bench_json_str(f, bench_env_or("OPENBLAS_NUM_THREADS", "unset"));
    fprintf(f, ",\"round\":");
    bench_json_str(f, bench_env_or("GM_BENCH_ROUND", "0"));
    fprintf(f, ",\"config\":");
    bench_json_str(f, bench_env_or("GM_BENCH_CONFIG", "default"));
}

static inline void bench_json_end(FILE *f) {
    fprintf(f, "}\n");
    fflush(f);
}

static inline void *bench_xmalloc(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* Deterministic fill in [-1, 1) (xorshift; no dependence on the library's RNG). */
static inline void bench_fill(float *p, long n, unsigned seed) {
    unsigned s = seed * 2654435761u + 12345u;
    for (long i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        p[i] = (float)((double)(s >> 8) / 8388608.0 - 1.0);
    }
}

#endif
