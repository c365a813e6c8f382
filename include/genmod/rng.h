/*
 * genmod/rng.h — seedable random numbers with independent streams.
 *
 * xoshiro256** seeded through splitmix64 from (seed, stream): the same seed and
 * stream id always give the same sequence; different stream ids give
 * statistically independent sequences (initialisation, data order, dropout and
 * sampling each use their own stream, so changing one does not shift another).
 * The state is a plain struct: copy it to save it in a training-state file.
 * Not thread-safe: one gm_rng per thread / purpose.
 */
#ifndef GENMOD_RNG_H
#define GENMOD_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gm_rng {
    uint64_t s[4];
    double spare_normal; /* second Box-Muller value */
    int has_spare;
    int pad_;
} gm_rng;

/* Well-known stream ids (any uint64 works). */
enum { GM_STREAM_INIT = 1, GM_STREAM_DATA = 2, GM_STREAM_DROPOUT = 3, GM_STREAM_SAMPLE = 4,
       GM_STREAM_NOISE = 5, GM_STREAM_INIT_DATA = 6 };

void gm_rng_seed(gm_rng *r, uint64_t seed, uint64_t stream);
uint64_t gm_rng_u64(gm_rng *r);
/* Uniform in [0,1) with 24 (float) or 53 (double) random bits. */
float gm_rng_uniform(gm_rng *r);
double gm_rng_uniform_d(gm_rng *r);
/* Uniform integer in [0,n), unbiased; returns 0 for n <= 0. */
int64_t gm_rng_randint(gm_rng *r, int64_t n);
/* Standard normal (Box-Muller in double). */
double gm_rng_normal(gm_rng *r);
/* 1 with probability p. */
int gm_rng_bernoulli(gm_rng *r, double p);
/* Index drawn with probability w[i]/sum(w); weights >= 0, not all 0. Returns -1 if invalid. */
int64_t gm_rng_categorical(gm_rng *r, const float *w, int64_t n);
/* Uniformly random permutation of 0..n-1 (Fisher-Yates). */
void gm_rng_permutation(gm_rng *r, int64_t *perm, int64_t n);
void gm_rng_fill_uniform(gm_rng *r, float *x, int64_t n, float lo, float hi);
void gm_rng_fill_normal(gm_rng *r, float *x, int64_t n, float mean, float std);

#ifdef __cplusplus
}
#endif
#endif
