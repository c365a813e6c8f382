/*
 * flow_spline.c — the monotone rational-quadratic spline transform of
 * Durkan et al. (2019, "Neural Spline Flows") used by spline couplings:
 * each transformed value goes through its own spline on [-bound, bound]
 * with K bins (identity outside, so the tails are linear), whose K widths,
 * K heights and K-1 interior derivatives come from the conditioner.
 *
 *   widths  w = m_w + (1 - m_w K) softmax(u_w), knots x_k = -B + 2B Σ_{j<k} w_j
 *   heights h likewise -> y_k;  derivatives d_k = m_d + softplus(u_d + c0),
 *   d_0 = d_K = 1 (matching the identity tails; c0 makes u_d = 0 give d = 1,
 *   so a zero conditioner output is the identity map).
 *   In bin k with ξ = (x - x_k)/(x_{k+1} - x_k), s = Δy/Δx:
 *     y = y_k + Δy (s ξ² + d_k ξ(1-ξ)) / (s + (d_{k+1} + d_k - 2s) ξ(1-ξ))
 *     dy/dx = s² (d_{k+1} ξ² + 2 s ξ(1-ξ) + d_k (1-ξ)²) / (s + (d_{k+1} + d_k - 2s) ξ(1-ξ))²
 *   and the inverse solves the quadratic for ξ (stable root 2c / (-b - sqrt(b² - 4ac))).
 * Everything is composed from differentiable ops (softmax, matmul for the
 * cumulative sums, gather for the bin's knots, elementwise arithmetic), so
 * the gradient comes from the tape; only the bin search is plain C on the
 * forward values (piecewise constant, no gradient).
 * What this is not: a spline for image couplings.
 */
#include "flows/flow_internal.h"
#include <math.h>

#define MIN_W 1e-3f
#define MIN_D 1e-3f

/* (R, K) -> cumulative sums with a leading 0: (R, K+1), by a matmul with a
 * constant upper-triangular matrix T[i][j] = (i < j). */
static gm_tensor *cumsum0(gm_ctx *ctx, gm_tensor *w, int K) {
    gm_tensor *T = gm_zeros(ctx, 2, (int64_t[]){K, K + 1});
    if (!T) return NULL;
    for (int i = 0; i < K; i++)
        for (int j = i + 1; j <= K; j++) T->data[i * (K + 1) + j] = 1.0f;
    return gm_matmul(ctx, w, T);
}

/* Knots (B, n, K+1) in [-bound, bound] from unnormalised sizes u (B, n, K). */
static gm_tensor *knots(gm_ctx *ctx, gm_tensor *u, int K, float bound) {
    int64_t B = u->shape[0], n = u->shape[1];
    gm_tensor *w = gm_add_scalar(ctx, gm_scale(ctx, gm_softmax(ctx, u, 2), 1.0f - MIN_W * K), MIN_W);
    gm_tensor *c = cumsum0(ctx, gm_reshape(ctx, gm_contiguous(ctx, w), 2, (int64_t[]){B * n, K}), K);
    return gm_add_scalar(ctx, gm_scale(ctx, gm_reshape(ctx, c, 3, (int64_t[]){B, n, K + 1}), 2.0f * bound), -bound);
}

gm_tensor *gm_flow_rqs(gm_ctx *ctx, gm_tensor *x, gm_tensor *p, int K, float bound, int inverse, gm_tensor **ld) {
    if (!x || !p) return NULL;
    int64_t B = x->shape[0], n = x->shape[1];
    if (p->ndim != 2 || p->shape[0] != B || p->shape[1] != n * (3 * K - 1))
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "spline: conditioner output has %lld values per row, expected %lld",
                           (long long)p->shape[1], (long long)(n * (3 * K - 1)));
    gm_tensor *p3 = gm_reshape(ctx, gm_contiguous(ctx, p), 3, (int64_t[]){B, n, 3 * K - 1});
    gm_tensor *xk = knots(ctx, gm_slice(ctx, p3, 2, 0, K), K, bound);     // (B, n, K+1)
    gm_tensor *yk = knots(ctx, gm_slice(ctx, p3, 2, K, 2 * K), K, bound); // (B, n, K+1)
    const float c0 = (float)log(expm1(1.0 - MIN_D));
    gm_tensor *dint = gm_add_scalar(ctx, gm_softplus(ctx, gm_add_scalar(ctx, gm_slice(ctx, p3, 2, 2 * K, 3 * K - 1), c0)), MIN_D);
    gm_tensor *one = gm_tensor_new(ctx, 3, (int64_t[]){B, n, 1});
    if (!xk || !yk || !dint || !one) return NULL;
    gm_fill(one, 1.0f);
    gm_tensor *dparts[3] = {one, dint, one};
    gm_tensor *d = gm_concat(ctx, 3, dparts, 2); // (B, n, K+1)
    /* bin of every value (on x's knots forward, y's inverse); outside -> identity */
    gm_tensor *in = gm_contiguous(ctx, x);
    gm_tensor *kn = gm_contiguous(ctx, inverse ? yk : xk);
    int64_t *lo = gm_arena_alloc(ctx, (size_t)(B * n) * sizeof(int64_t)), *hi = gm_arena_alloc(ctx, (size_t)(B * n) * sizeof(int64_t));
    gm_tensor *inside = gm_tensor_new(ctx, 3, (int64_t[]){B, n, 1}), *outside = gm_tensor_new(ctx, 3, (int64_t[]){B, n, 1});
    if (!in || !kn || !lo || !hi || !inside || !outside) return NULL;
    for (int64_t r = 0; r < B * n; r++) {
        const float *kr = kn->data + r * (K + 1);
        float v = in->data[r];
        int ok = v >= -bound && v <= bound;
        int k = 0;
        while (ok && k < K - 1 && v >= kr[k + 1]) k++;
        lo[r] = k, hi[r] = k + 1;
        inside->data[r] = ok ? 1.0f : 0.0f;
        outside->data[r] = ok ? 0.0f : 1.0f;
    }
    const int64_t ish[3] = {B, n, 1};
    gm_tensor *x_lo = gm_gather(ctx, xk, 2, lo, ish), *x_hi = gm_gather(ctx, xk, 2, hi, ish);
    gm_tensor *y_lo = gm_gather(ctx, yk, 2, lo, ish), *y_hi = gm_gather(ctx, yk, 2, hi, ish);
    gm_tensor *d_lo = gm_gather(ctx, d, 2, lo, ish), *d_hi = gm_gather(ctx, d, 2, hi, ish);
    gm_tensor *wb = gm_sub(ctx, x_hi, x_lo), *hb = gm_sub(ctx, y_hi, y_lo);
    gm_tensor *s = gm_div(ctx, hb, wb);
    gm_tensor *v3 = gm_reshape(ctx, in, 3, ish);
    gm_tensor *ddd = gm_sub(ctx, gm_add(ctx, d_hi, d_lo), gm_scale(ctx, s, 2.0f)); /* d_{k+1} + d_k - 2s */
    gm_tensor *out;
    if (!inverse) {
        /* outside values are evaluated at the bin's midpoint (finite) and masked out */
        gm_tensor *mid = gm_add(ctx, x_lo, gm_scale(ctx, wb, 0.5f));
        gm_tensor *xin = gm_add(ctx, gm_mul(ctx, v3, inside), gm_mul(ctx, mid, outside));
        gm_tensor *xi = gm_div(ctx, gm_sub(ctx, xin, x_lo), wb);
        gm_tensor *om = gm_add_scalar(ctx, gm_neg(ctx, xi), 1.0f); /* 1 - ξ */
        gm_tensor *t = gm_mul(ctx, xi, om);
        gm_tensor *num = gm_mul(ctx, hb, gm_add(ctx, gm_mul(ctx, s, gm_mul(ctx, xi, xi)), gm_mul(ctx, d_lo, t)));
        gm_tensor *den = gm_add(ctx, s, gm_mul(ctx, ddd, t));
        gm_tensor *yin = gm_add(ctx, y_lo, gm_div(ctx, num, den));
        gm_tensor *dn = gm_add(ctx, gm_add(ctx, gm_mul(ctx, d_hi, gm_mul(ctx, xi, xi)), gm_scale(ctx, gm_mul(ctx, s, t), 2.0f)),
                               gm_mul(ctx, d_lo, gm_mul(ctx, om, om)));
        gm_tensor *lj = gm_sub(ctx, gm_add(ctx, gm_scale(ctx, gm_log(ctx, s), 2.0f), gm_log(ctx, dn)),
                               gm_scale(ctx, gm_log(ctx, den), 2.0f));
        if (ld) *ld = gm_sum(ctx, gm_reshape(ctx, gm_mul(ctx, lj, inside), 2, (int64_t[]){B, n}), 1, 0);
        out = gm_add(ctx, gm_mul(ctx, yin, inside), gm_mul(ctx, v3, outside));
    } else {
        gm_tensor *mid = gm_add(ctx, y_lo, gm_scale(ctx, hb, 0.5f));
        gm_tensor *yin = gm_add(ctx, gm_mul(ctx, v3, inside), gm_mul(ctx, mid, outside));
        gm_tensor *dy = gm_sub(ctx, yin, y_lo);
        gm_tensor *a = gm_add(ctx, gm_mul(ctx, hb, gm_sub(ctx, s, d_lo)), gm_mul(ctx, dy, ddd));
        gm_tensor *b = gm_sub(ctx, gm_mul(ctx, hb, d_lo), gm_mul(ctx, dy, ddd));
        gm_tensor *c = gm_neg(ctx, gm_mul(ctx, s, dy));
        gm_tensor *disc = gm_relu(ctx, gm_sub(ctx, gm_mul(ctx, b, b), gm_scale(ctx, gm_mul(ctx, a, c), 4.0f)));
        gm_tensor *xi = gm_div(ctx, gm_scale(ctx, c, 2.0f), gm_sub(ctx, gm_neg(ctx, b), gm_sqrt(ctx, disc)));
        gm_tensor *xin = gm_add(ctx, gm_mul(ctx, xi, wb), x_lo);
        out = gm_add(ctx, gm_mul(ctx, xin, inside), gm_mul(ctx, v3, outside));
    }
    return gm_reshape(ctx, out, 2, (int64_t[]){B, n});
}
