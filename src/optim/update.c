/*
 * update.c — the per-element update rules of SGD, Adam/AdamW, Adagrad and
 * RMSprop over a float range, written once on gm_vf vectors (see
 * optim_internal.h). Each rule is one pass: it reads p, g and the state and
 * writes p and the state. The formulas follow torch.optim's single-tensor
 * implementations operation by operation; the per-step scalars (bias
 * corrections, lr) are prepared in double by optim.c.
 * Not here: parallelism and validation (optim.c).
 */
#include "optim/optim_internal.h"
#include <string.h>

#if defined(__GNUC__)
#define VF_INLINE static inline __attribute__((always_inline))
#else
#define VF_INLINE static inline
#endif

/* torch.lerp(x, y, w) with a scalar weight: x + w * (y - x) (torch switches to
 * y - (y - x) * (1 - w) for w >= 0.5; the two differ by rounding only) */
VF_INLINE gm_vf lerp(const gm_opt_kargs *a, gm_vf x, gm_vf y) {
    return vf_add(x, vf_mul(vf_set1(a->w), vf_sub(y, x)));
}

/* SGD: s0 = momentum buffer (NULL without momentum) */
VF_INLINE void sgd_vec(const gm_opt_kargs *a, float *pp, const float *gp, float *s0, float *s1, float *s2) {
    gm_vf p = vf_load(pp), g = vf_load(gp);
    if (a->wd != 0.0f) g = vf_add(g, vf_mul(vf_set1(a->wd), p));
    if (s0) {
        gm_vf b = a->first ? g : vf_add(vf_mul(vf_load(s0), vf_set1(a->mom)), vf_mul(vf_set1(a->one_minus_damp), g));
        vf_store(s0, b);
        g = a->nesterov ? vf_add(g, vf_mul(vf_set1(a->mom), b)) : b;
    }
    vf_store(pp, vf_add(p, vf_mul(vf_set1(a->neg_lr), g)));
}

/* Adam / AdamW: s0 = exp_avg, s1 = exp_avg_sq */
VF_INLINE void adam_vec(const gm_opt_kargs *a, float *pp, const float *gp, float *s0, float *s1, float *s2) {
    gm_vf p = vf_load(pp), g = vf_load(gp);
    if (a->decoupled) p = vf_mul(p, vf_set1(a->decay_mul));
    else if (a->wd != 0.0f) g = vf_add(g, vf_mul(vf_set1(a->wd), p));
    gm_vf m = lerp(a, vf_load(s0), g);
    gm_vf v = vf_add(vf_mul(vf_load(s1), vf_set1(a->b2)), vf_mul(vf_mul(vf_set1(a->one_minus_b2), g), g));
    gm_vf denom = vf_add(vf_div(vf_sqrt(v), vf_set1(a->bc2_sqrt)), vf_set1(a->eps));
    vf_store(s0, m);
    vf_store(s1, v);
    vf_store(pp, vf_add(p, vf_div(vf_mul(vf_set1(a->neg_lr), m), denom)));
}

/* Adagrad: s0 = sum */
VF_INLINE void adagrad_vec(const gm_opt_kargs *a, float *pp, const float *gp, float *s0, float *s1, float *s2) {
    gm_vf p = vf_load(pp), g = vf_load(gp);
    if (a->wd != 0.0f) g = vf_add(g, vf_mul(vf_set1(a->wd), p));
    gm_vf s = vf_add(vf_load(s0), vf_mul(g, g));
    vf_store(s0, s);
    gm_vf std = vf_add(vf_sqrt(s), vf_set1(a->eps));
    vf_store(pp, vf_add(p, vf_div(vf_mul(vf_set1(a->neg_lr), g), std)));
}

/* RMSprop: s0 = square_avg, s1 = grad_avg (centered, else NULL), s2 = momentum buffer (or NULL) */
VF_INLINE void rmsprop_vec(const gm_opt_kargs *a, float *pp, const float *gp, float *s0, float *s1, float *s2) {
    gm_vf p = vf_load(pp), g = vf_load(gp);
    if (a->wd != 0.0f) g = vf_add(g, vf_mul(vf_set1(a->wd), p));
    gm_vf sq = vf_add(vf_mul(vf_load(s0), vf_set1(a->alpha)), vf_mul(vf_mul(vf_set1(a->one_minus_alpha), g), g));
    vf_store(s0, sq);
    gm_vf avg;
    if (s1) {
        gm_vf ga = lerp(a, vf_load(s1), g);
        vf_store(s1, ga);
        /* variance estimate; clamped at 0 where rounding makes it negative (torch gives NaN there);
         * max(0, x) keeps a NaN x as NaN */
        avg = vf_sqrt(vf_max(vf_set1(0.0f), vf_sub(sq, vf_mul(ga, ga))));
    } else {
        avg = vf_sqrt(sq);
    }
    avg = vf_add(avg, vf_set1(a->eps));
    if (s2) {
        gm_vf b = vf_add(vf_mul(vf_load(s2), vf_set1(a->mom)), vf_div(g, avg));
        vf_store(s2, b);
        vf_store(pp, vf_add(p, vf_mul(vf_set1(a->neg_lr), b)));
    } else {
        vf_store(pp, vf_add(p, vf_div(vf_mul(vf_set1(a->neg_lr), g), avg)));
    }
}

typedef void (*vec_fn)(const gm_opt_kargs *a, float *pp, const float *gp, float *s0, float *s1, float *s2);

/* The last hi - i < GM_VF_N floats: copied into padded lanes (filled with 1,
 * safe for every rule), updated, copied back. Lanes are independent, so the
 * result equals a full-width pass. */
static void tail(const gm_opt_kargs *a, int64_t i, int64_t hi, vec_fn fn) {
    float tp[GM_VF_N], tg[GM_VF_N], t0[GM_VF_N], t1[GM_VF_N], t2[GM_VF_N];
    size_t r = (size_t)(hi - i) * sizeof(float);
    for (int k = 0; k < GM_VF_N; k++) tp[k] = tg[k] = t0[k] = t1[k] = t2[k] = 1.0f;
    memcpy(tp, a->p + i, r);
    memcpy(tg, a->g + i, r);
    if (a->s0) memcpy(t0, a->s0 + i, r);
    if (a->s1) memcpy(t1, a->s1 + i, r);
    if (a->s2) memcpy(t2, a->s2 + i, r);
    fn(a, tp, tg, a->s0 ? t0 : NULL, a->s1 ? t1 : NULL, a->s2 ? t2 : NULL);
    memcpy(a->p + i, tp, r);
    if (a->s0) memcpy(a->s0 + i, t0, r);
    if (a->s1) memcpy(a->s1 + i, t1, r);
    if (a->s2) memcpy(a->s2 + i, t2, r);
}

#define AT(s, i) ((s) ? (s) + (i) : NULL)
#define RANGE_FN(name, fn)                                                                  \
    static void name(const gm_opt_kargs *a, int64_t lo, int64_t hi) {                      \
        float *p = a->p, *s0 = a->s0, *s1 = a->s1, *s2 = a->s2;                             \
        const float *g = a->g;                                                              \
        int64_t i = lo;                                                                     \
        for (; i + GM_VF_N <= hi; i += GM_VF_N) fn(a, p + i, g + i, AT(s0, i), AT(s1, i), AT(s2, i)); \
        if (i < hi) tail(a, i, hi, fn);                                                     \
    }

RANGE_FN(sgd_range, sgd_vec)
RANGE_FN(adam_range, adam_vec)
RANGE_FN(adagrad_range, adagrad_vec)
RANGE_FN(rmsprop_range, rmsprop_vec)

void gm_optim_update_range(const gm_opt_kargs *a, int64_t lo, int64_t hi) {
    switch (a->kind) {
    case GM_OPTK_SGD: sgd_range(a, lo, hi); break;
    case GM_OPTK_ADAM: adam_range(a, lo, hi); break;
    case GM_OPTK_ADAGRAD: adagrad_range(a, lo, hi); break;
    case GM_OPTK_RMSPROP: rmsprop_range(a, lo, hi); break;
    }
}
