/*
 * optim_internal.h — shared by the src/optim files (not public API): iteration over
 * the trainable runs of a gm_params, and a tiny float-vector abstraction so
 * the update kernels are written once and compile to AVX-512, AVX or scalar
 * code with identical results (IEEE add/sub/mul/div/sqrt, no FMA contraction,
 * lanes independent).
 */
#ifndef GENMOD_OPTIM_INTERNAL_H
#define GENMOD_OPTIM_INTERNAL_H

#include "genmod/optim.h"
#include <math.h>

/* Floats per parallel work block (16 KiB per array). */
#define GM_OPT_BLOCK 4096

/* [lo, hi) float range of params->data / params->grad. */
typedef struct gm_span { int64_t lo, hi; } gm_span;

/* Next maximal run of adjacent trainable entries (each starting where the
 * previous one ends, no alignment padding between them) from entry index
 * *entry (updated past it). Returns 1 and fills *s, or 0 when none is left.
 * Padding and buffers (trainable=0) are never part of a run. */
int gm_optim_next_span(const gm_params *p, int *entry, gm_span *s);

/* 1 if p is finalized and has the given layout (total floats, entry count). */
int gm_optim_same_layout(const gm_params *p, int64_t total, int count);

/* ---- float vectors: gm_vf holds GM_VF_N floats ---- */
#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 gm_vf;
#define GM_VF_N 16
static inline gm_vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
static inline void vf_store(float *p, gm_vf a) { _mm512_storeu_ps(p, a); }
static inline gm_vf vf_set1(float a) { return _mm512_set1_ps(a); }
static inline gm_vf vf_add(gm_vf a, gm_vf b) { return _mm512_add_ps(a, b); }
static inline gm_vf vf_sub(gm_vf a, gm_vf b) { return _mm512_sub_ps(a, b); }
static inline gm_vf vf_mul(gm_vf a, gm_vf b) { return _mm512_mul_ps(a, b); }
static inline gm_vf vf_div(gm_vf a, gm_vf b) { return _mm512_div_ps(a, b); }
static inline gm_vf vf_sqrt(gm_vf a) { return _mm512_sqrt_ps(a); }
static inline gm_vf vf_max(gm_vf a, gm_vf b) { return _mm512_max_ps(a, b); }
#elif defined(__AVX__)
#include <immintrin.h>
typedef __m256 gm_vf;
#define GM_VF_N 8
static inline gm_vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
static inline void vf_store(float *p, gm_vf a) { _mm256_storeu_ps(p, a); }
static inline gm_vf vf_set1(float a) { return _mm256_set1_ps(a); }
static inline gm_vf vf_add(gm_vf a, gm_vf b) { return _mm256_add_ps(a, b); }
static inline gm_vf vf_sub(gm_vf a, gm_vf b) { return _mm256_sub_ps(a, b); }
static inline gm_vf vf_mul(gm_vf a, gm_vf b) { return _mm256_mul_ps(a, b); }
static inline gm_vf vf_div(gm_vf a, gm_vf b) { return _mm256_div_ps(a, b); }
static inline gm_vf vf_sqrt(gm_vf a) { return _mm256_sqrt_ps(a); }
static inline gm_vf vf_max(gm_vf a, gm_vf b) { return _mm256_max_ps(a, b); }
#else
typedef float gm_vf;
#define GM_VF_N 1
static inline gm_vf vf_load(const float *p) { return *p; }
static inline void vf_store(float *p, gm_vf a) { *p = a; }
static inline gm_vf vf_set1(float a) { return a; }
static inline gm_vf vf_add(gm_vf a, gm_vf b) { return a + b; }
static inline gm_vf vf_sub(gm_vf a, gm_vf b) { return a - b; }
static inline gm_vf vf_mul(gm_vf a, gm_vf b) { return a * b; }
static inline gm_vf vf_div(gm_vf a, gm_vf b) { return a / b; }
static inline gm_vf vf_sqrt(gm_vf a) { return sqrtf(a); }
static inline gm_vf vf_max(gm_vf a, gm_vf b) { return a > b ? a : b; } /* as maxps: NaN in a -> b */
#endif

/* ---- update kernels (update.c) ---- */
typedef enum gm_opt_kind { GM_OPTK_SGD = 0, GM_OPTK_ADAM, GM_OPTK_ADAGRAD, GM_OPTK_RMSPROP } gm_opt_kind;

/* One step's arrays and float scalars, rounded as torch rounds them. */
typedef struct gm_opt_kargs {
    gm_opt_kind kind;
    float *p;           /* (total) values */
    const float *g;     /* (total) gradients */
    float *s0, *s1, *s2;/* (total) state arrays of the kind, NULL if unused (see optim.c) */
    float neg_lr;       /* -lr (SGD, RMSprop), -clr (Adagrad), -lr / bias_correction1 (Adam) */
    float wd;           /* L2 coefficient added to the gradient; 0 = none */
    float decay_mul;    /* AdamW: 1 - lr * wd */
    int decoupled;      /* AdamW */
    float mom, one_minus_damp;
    int nesterov, first;/* SGD: first = no momentum buffer yet */
    float w;            /* lerp weight: 1 - beta1 (Adam), 1 - alpha (RMSprop centered) */
    float b2, one_minus_b2, bc2_sqrt, eps;
    float alpha, one_minus_alpha;
    int centered;
} gm_opt_kargs;

/* Applies the kind's update to floats [lo, hi). Thread-safe for disjoint ranges. */
void gm_optim_update_range(const gm_opt_kargs *a, int64_t lo, int64_t hi);

#endif
