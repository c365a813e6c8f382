/*
 * clip.c — global L2 norm of the trainable gradients and clipping by it
 * (torch.nn.utils.clip_grad_norm_). The sum of squares is accumulated in
 * double over fixed blocks whose partial sums are added in a fixed order, so
 * the norm is the same for any thread count.
 * Not here: per-parameter or value clipping.
 */
#include "optim/optim_internal.h"
#include "core/op_internal.h"

#define CLIP_GROUP 256 /* blocks whose partial sums are reduced together */

/* sum of g[i]^2 over [lo, hi) in double */
static double sumsq(const float *g, int64_t lo, int64_t hi) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = lo; i < hi; i++) acc += (double)g[i] * (double)g[i];
    return acc;
}

double gm_grad_norm(const gm_params *params) {
    if (!params || !params->finalized || !params->grad) {
        gm_error(GM_ERR_ARG, "grad norm: params must be finalized");
        return NAN;
    }
    const float *g = params->grad;
    double total = 0.0;
    double part[CLIP_GROUP];
    int e = 0;
    gm_span s;
    while (gm_optim_next_span(params, &e, &s)) {
        int64_t n = s.hi - s.lo, nb = (n + GM_OPT_BLOCK - 1) / GM_OPT_BLOCK;
        int nt = gm_par_threads(n);
        (void)nt;
        for (int64_t b0 = 0; b0 < nb; b0 += CLIP_GROUP) {
            int64_t nbg = nb - b0 < CLIP_GROUP ? nb - b0 : CLIP_GROUP;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
            for (int64_t b = 0; b < nbg; b++) {
                int64_t lo = s.lo + (b0 + b) * GM_OPT_BLOCK;
                int64_t hi = lo + GM_OPT_BLOCK < s.hi ? lo + GM_OPT_BLOCK : s.hi;
                part[b] = sumsq(g, lo, hi);
            }
            for (int64_t b = 0; b < nbg; b++) total += part[b];
        }
    }
    return sqrt(total);
}

double gm_clip_grad_norm(gm_params *params, double max_norm) {
    double norm = gm_grad_norm(params);
    if (!isfinite(norm) || !(max_norm > 0)) return norm;
    double coef = max_norm / (norm + 1e-6);
    if (!(coef < 1.0)) return norm;
    const float c = (float)coef;
    float *g = params->grad;
    int e = 0;
    gm_span s;
    while (gm_optim_next_span(params, &e, &s)) {
        int64_t n = s.hi - s.lo;
        int nt = gm_par_threads(n);
        (void)nt;
#pragma omp parallel for simd schedule(static) num_threads(nt) if (parallel : nt > 1)
        for (int64_t i = s.lo; i < s.hi; i++) g[i] *= c;
    }
    return norm;
}
