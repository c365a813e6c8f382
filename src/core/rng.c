/*
 * rng.c — xoshiro256** with splitmix64 seeding; see genmod/rng.h.
 */
#include "genmod/rng.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void gm_rng_seed(gm_rng *r, uint64_t seed, uint64_t stream) {
    /* mix the stream id through its own splitmix step so (seed, stream) pairs
     * that differ only slightly land far apart */
    uint64_t sm = stream * 0xD1342543DE82EF95ull + 0x632BE59BD9B4E019ull;
    uint64_t x = seed ^ splitmix64(&sm);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
    r->has_spare = 0;
    r->spare_normal = 0.0;
    r->pad_ = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t gm_rng_u64(gm_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float gm_rng_uniform(gm_rng *r) { return (float)(gm_rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

double gm_rng_uniform_d(gm_rng *r) { return (double)(gm_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

int64_t gm_rng_randint(gm_rng *r, int64_t n) {
    if (n <= 0) return 0;
    uint64_t un = (uint64_t)n;
    uint64_t limit = UINT64_MAX - (UINT64_MAX % un); /* reject the biased tail */
    uint64_t v;
    do { v = gm_rng_u64(r); } while (v >= limit);
    return (int64_t)(v % un);
}

double gm_rng_normal(gm_rng *r) {
    if (r->has_spare) { r->has_spare = 0; return r->spare_normal; }
    double u1, u2;
    do { u1 = gm_rng_uniform_d(r); } while (u1 <= 0.0);
    u2 = gm_rng_uniform_d(r);
    double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
    r->spare_normal = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

int gm_rng_bernoulli(gm_rng *r, double p) { return gm_rng_uniform_d(r) < p; }

int64_t gm_rng_categorical(gm_rng *r, const float *w, int64_t n) {
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0f) || isinf(w[i])) return -1;
        total += w[i];
    }
    if (!(total > 0.0)) return -1;
    double u = gm_rng_uniform_d(r) * total, acc = 0.0;
    int64_t last = -1;
    for (int64_t i = 0; i < n; i++) {
        if (w[i] <= 0.0f) continue;
        acc += w[i];
        last = i;
        if (u < acc) return i;
    }
    return last; /* rounding: u landed on the total */
}

void gm_rng_permutation(gm_rng *r, int64_t *perm, int64_t n) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = gm_rng_randint(r, i + 1);
        int64_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
}

void gm_rng_fill_uniform(gm_rng *r, float *x, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * gm_rng_uniform(r);
}

void gm_rng_fill_normal(gm_rng *r, float *x, int64_t n, float mean, float std) {
    for (int64_t i = 0; i < n; i++) x[i] = mean + std * (float)gm_rng_normal(r);
}
