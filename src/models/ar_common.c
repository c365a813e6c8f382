/*
 * ar_common.c — orderings and small helpers shared by the autoregressive
 * binary models (see ar_common.h).
 */
#include <math.h>
#include "models/ar_common.h"
#include "genmod/ops.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gm_status gm_ar_order_check(const int64_t *order, int64_t D, const char *what) {
    unsigned char *seen = calloc((size_t)(D > 0 ? D : 1), 1);
    if (!seen) return gm_error(GM_ERR_NOMEM, "%s: out of memory", what);
    gm_status st = GM_OK;
    for (int64_t k = 0; k < D && st == GM_OK; k++) {
        if (order[k] < 0 || order[k] >= D)
            st = gm_error(GM_ERR_ARG, "%s: entry %lld is %lld, outside 0..%lld", what, (long long)k,
                          (long long)order[k], (long long)D - 1);
        else if (seen[order[k]])
            st = gm_error(GM_ERR_ARG, "%s: %lld appears twice, so it is not a permutation of 0..%lld", what,
                          (long long)order[k], (long long)D - 1);
        else
            seen[order[k]] = 1;
    }
    free(seen);
    return st;
}

/* Reads D integers from a text file into order. */
static gm_status order_from_file(const char *path, int64_t D, int64_t *order) {
    FILE *f = fopen(path, "r");
    if (!f) return gm_error(GM_ERR_IO, "--order: cannot open %s: %s", path, strerror(errno));
    int64_t n = 0;
    gm_status st = GM_OK;
    char tok[64];
    int len = 0, ch, comment = 0;
    for (;;) {
        ch = fgetc(f);
        if (ch == '#') comment = 1;
        if (ch == '\n') comment = 0;
        int sep = ch == EOF || comment || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == ',';
        if (!sep) {
            if (len >= (int)sizeof tok - 1) { st = gm_error(GM_ERR_FORMAT, "--order: %s: token too long", path); break; }
            tok[len++] = (char)ch;
            continue;
        }
        if (len > 0) {
            tok[len] = 0;
            char *end;
            errno = 0;
            long long v = strtoll(tok, &end, 10);
            if (*end || errno) {
                st = gm_error(GM_ERR_FORMAT, "--order: %s: \"%s\" is not an integer", path, tok);
                break;
            }
            if (n >= D) {
                st = gm_error(GM_ERR_FORMAT, "--order: %s has more than %lld entries (the data has %lld dimensions)",
                              path, (long long)D, (long long)D);
                break;
            }
            order[n++] = v;
            len = 0;
        }
        if (ch == EOF) break;
    }
    if (ferror(f) && st == GM_OK) st = gm_error(GM_ERR_IO, "--order: read error on %s", path);
    fclose(f);
    if (st == GM_OK && n != D)
        st = gm_error(GM_ERR_FORMAT, "--order: %s has %lld entries, the data has %lld dimensions", path, (long long)n,
                      (long long)D);
    if (st == GM_OK) {
        char what[300];
        snprintf(what, sizeof what, "--order: %s", path);
        st = gm_ar_order_check(order, D, what);
    }
    return st;
}

gm_status gm_ar_order_from_spec(const char *spec, int64_t D, gm_rng *rng, int64_t *order) {
    if (!spec || !*spec || !strcmp(spec, "natural")) {
        for (int64_t k = 0; k < D; k++) order[k] = k;
        return GM_OK;
    }
    if (!strcmp(spec, "reverse")) {
        for (int64_t k = 0; k < D; k++) order[k] = D - 1 - k;
        return GM_OK;
    }
    if (!strcmp(spec, "random")) {
        if (!rng) return gm_error(GM_ERR_ARG, "--order random needs a random number generator");
        gm_rng_permutation(rng, order, D);
        return GM_OK;
    }
    return order_from_file(spec, D, order);
}

gm_status gm_ar_order_from_buffer(const float *buf, int64_t D, int64_t *order, const char *what) {
    for (int64_t k = 0; k < D; k++) {
        float v = buf[k];
        if (!(v >= 0.0f && v < (float)D && v == floorf(v)))
            return gm_error(GM_ERR_FORMAT, "%s: entry %lld (%g) is not an index in 0..%lld", what, (long long)k,
                            (double)v, (long long)D - 1);
        order[k] = (int64_t)v;
    }
    return gm_ar_order_check(order, D, what);
}

gm_status gm_ar_order_to_buffer(const char *spec, int64_t D, gm_rng *rng, float *buf) {
    int64_t *order = malloc((size_t)(D > 0 ? D : 1) * sizeof *order);
    if (!order) return gm_error(GM_ERR_NOMEM, "order: out of memory");
    gm_status st = gm_ar_order_from_spec(spec, D, rng, order);
    for (int64_t k = 0; k < D && st == GM_OK; k++) buf[k] = (float)order[k];
    free(order);
    return st;
}

gm_status gm_ar_order_refresh(const float *buf, int64_t D, int64_t *cache, int *valid, int *reread, const char *what) {
    int same = *valid;
    for (int64_t k = 0; k < D && same; k++) same = (float)cache[k] == buf[k];
    if (reread) *reread = !same;
    if (same) return GM_OK;
    *valid = 0;
    gm_status st = gm_ar_order_from_buffer(buf, D, cache, what);
    *valid = st == GM_OK;
    return st;
}

void gm_ar_bias_from_data(float *b, const float *x, int64_t n, int64_t D) {
    for (int64_t d = 0; d < D; d++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += x[i * D + d];
        double p = (s + 1.0) / ((double)n + 2.0);
        b[d] = (float)log(p / (1.0 - p));
    }
}

double gm_ar_row_logp(const float *x, const float *logits, int64_t D) {
    double s = 0;
    for (int64_t d = 0; d < D; d++) {
        double l = logits[d];
        double sp = l > 0 ? l + log1p(exp(-l)) : log1p(exp(l));
        s += x[d] * l - sp;
    }
    return s;
}

int64_t gm_ar_observed_prefix(const int64_t *order, int64_t D, const unsigned char *obs_mask) {
    int64_t n = 0;
    while (n < D && obs_mask[order[n]]) n++;
    for (int64_t k = n; k < D; k++)
        if (obs_mask[order[k]]) return -1;
    return n;
}

/* ---- the generic log_prob and samplers over gm_ar_ops ---- */

const gm_ar_ops *gm_ar_ops_of(const gm_model *m) { return m && m->def ? m->def->family_ops : NULL; }

#define AR_CHUNK 500 /* rows per logits() call */

gm_tensor *gm_ar_loss(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng) {
    const gm_ar_ops *ar = gm_ar_ops_of(m);
    if (!ar) return gm_ctx_fail(ctx, GM_ERR_ARG, "loss: not an autoregressive model");
    int K = ar->n_sets(m);
    int k = K > 1 && rng ? (int)gm_rng_randint(rng, K) : 0;
    gm_tensor *lg = ar->logits_t(m, ctx, k, x);
    gm_tensor *lp = gm_sum(ctx, gm_bernoulli_log_prob(ctx, x, lg), 1, 0); // (B)
    return gm_neg(ctx, gm_mean(ctx, lp, GM_ALL_AXES, 0));
}

gm_status gm_ar_logits(gm_model *m, gm_ctx *ctx, int k, const float *x, int64_t B, float *out) {
    const gm_ar_ops *ar = gm_ar_ops_of(m);
    if (!ar || !ctx) return gm_error(GM_ERR_ARG, "logits: not an autoregressive model, or NULL context");
    int prev = gm_set_grad_enabled(ctx, 0);
    gm_ctx_reset(ctx);
    int64_t shape[2] = {B, m->dim};
    gm_tensor *l = ar->logits_t(m, ctx, k, gm_from_data(ctx, 2, shape, x));
    gm_status st = GM_OK;
    if (l) memcpy(out, l->data, (size_t)(B * m->dim) * sizeof *out);
    else st = gm_error(gm_ctx_status(ctx) != GM_OK ? gm_ctx_status(ctx) : GM_ERR_NOMEM, "%s", gm_ctx_error(ctx));
    gm_set_grad_enabled(ctx, prev);
    return st;
}

gm_status gm_ar_log_prob_set(gm_model *m, gm_ctx *ctx, int k, const float *x, int64_t B, double *out) {
    const gm_ar_ops *ar = gm_ar_ops_of(m);
    if (!ar || !ctx || B < 0 || (B > 0 && (!x || !out)))
        return gm_error(GM_ERR_ARG, "log_prob: not an autoregressive model, or NULL context/data/output");
    int64_t D = m->dim;
    float *lg = malloc((size_t)(AR_CHUNK * D) * sizeof *lg); // (AR_CHUNK, D)
    if (!lg) return gm_error(GM_ERR_NOMEM, "%s log_prob: out of memory", m->def->name);
    gm_status st = GM_OK;
    for (int64_t s = 0; s < B && st == GM_OK; s += AR_CHUNK) {
        int64_t b = B - s < AR_CHUNK ? B - s : AR_CHUNK;
        st = gm_ar_logits(m, ctx, k, x + s * D, b, lg);
        for (int64_t i = 0; i < b && st == GM_OK; i++) out[s + i] = gm_ar_row_logp(x + (s + i) * D, lg + i * D, D);
    }
    free(lg);
    return st;
}

gm_status gm_ar_log_prob(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out) {
    const gm_ar_ops *ar = gm_ar_ops_of(m);
    if (!ar) return gm_error(GM_ERR_ARG, "log_prob: not an autoregressive model");
    int K = ar->n_sets(m);
    if (K == 1) return gm_ar_log_prob_set(m, ctx, 0, x, B, out);
    double *lp = malloc((size_t)(B > 0 ? B : 1) * (size_t)(K + 1) * sizeof *lp); // (K, B) + (B)
    if (!lp) return gm_error(GM_ERR_NOMEM, "%s log_prob: out of memory", m->def->name);
    gm_status st = GM_OK;
    for (int k = 0; k < K && st == GM_OK; k++) st = gm_ar_log_prob_set(m, ctx, k, x, B, lp + (int64_t)k * B);
    for (int64_t i = 0; i < B && st == GM_OK; i++) {
        double mx = -INFINITY, s = 0;
        for (int k = 0; k < K; k++) mx = lp[(int64_t)k * B + i] > mx ? lp[(int64_t)k * B + i] : mx;
        for (int k = 0; k < K; k++) s += exp(lp[(int64_t)k * B + i] - mx);
        out[i] = isfinite(mx) ? mx + log(s) - log((double)K) : mx;
    }
    free(lp);
    return st;
}

gm_status gm_ar_sample_naive(gm_model *m, gm_ctx *ctx, int k, const float *U, int64_t n, int64_t n_obs, float *x) {
    const gm_ar_ops *ar = gm_ar_ops_of(m);
    if (!ar) return gm_error(GM_ERR_ARG, "sample: not an autoregressive model");
    int64_t D = m->dim;
    int64_t *order = malloc((size_t)D * sizeof *order);
    float *lg = malloc((size_t)(n * D > 0 ? n * D : 1) * sizeof *lg); // (n, D)
    gm_status st = order && lg ? ar->order(m, k, order) : gm_error(GM_ERR_NOMEM, "sample: out of memory");
    for (int64_t i = 0; i < n && st == GM_OK; i++) /* unknown dims start at 0 */
        for (int64_t p = n_obs; p < D; p++) x[i * D + order[p]] = 0.0f;
    for (int64_t p = n_obs; p < D && st == GM_OK; p++) {
        st = gm_ar_logits(m, ctx, k, x, n, lg);
        for (int64_t i = 0; i < n && st == GM_OK; i++)
            x[i * D + order[p]] = gm_ar_draw(U[i * D + p], lg[i * D + order[p]]);
    }
    free(order);
    free(lg);
    return st;
}

gm_status gm_ar_sample_cond(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, const float *obs,
                            const unsigned char *obs_mask, float *out) {
    const gm_ar_ops *ar = gm_ar_ops_of(m);
    if (!ar || !rng || n < 0 || (n > 0 && !out) || (obs_mask && !obs))
        return gm_error(GM_ERR_ARG, "sample: not an autoregressive model, or NULL rng/output/observations");
    int64_t D = m->dim;
    int K = ar->n_sets(m);
    int64_t *order = malloc((size_t)D * sizeof *order);              // (D)
    int64_t *nobs = malloc((size_t)K * sizeof *nobs);                // (K) observed prefix per set
    int *set = malloc((size_t)(n > 0 ? n : 1) * sizeof *set);        // (n) chosen set per row
    float *U = malloc((size_t)(n * D > 0 ? n * D : 1) * sizeof *U);  // (n, D)
    float *w = malloc((size_t)K * sizeof *w);                        // (K)
    double *lpk = malloc((size_t)(n > 0 ? n : 1) * (size_t)K * sizeof *lpk); // (K, n)
    float *rows = malloc((size_t)(n * D > 0 ? n * D : 1) * sizeof *rows);    // (n, D) gathered rows
    float *urows = malloc((size_t)(n * D > 0 ? n * D : 1) * sizeof *urows);  // (n, D) their uniforms
    gm_status st = GM_OK;
    if (!order || !nobs || !set || !U || !w || !lpk || !rows || !urows)
        st = gm_error(GM_ERR_NOMEM, "sample: out of memory");
    int usable = 0;
    for (int k = 0; k < K && st == GM_OK; k++) {
        st = ar->order(m, k, order);
        nobs[k] = obs_mask ? gm_ar_observed_prefix(order, D, obs_mask) : 0;
        usable += nobs[k] >= 0;
    }
    if (st == GM_OK && !usable)
        st = gm_error(GM_ERR_ARG,
                      "%s: the observed dimensions do not come first in the model's ordering%s; train with "
                      "an --order that lists them first",
                      m->def->name, K > 1 ? " (in none of its mask sets)" : "");
    /* copy observations; per-set log p of the observed prefix */
    if (st == GM_OK && obs_mask) {
        for (int64_t i = 0; i < n * D; i++) out[i] = obs_mask[i % D] ? obs[i] : 0.0f;
        st = gm_model_check_data(m, out, n, "observed values");
        for (int k = 0; k < K && st == GM_OK; k++) {
            if (nobs[k] < 0) continue;
            st = ar->order(m, k, order);
            float *lg = rows; /* scratch (n, D) */
            if (st == GM_OK) st = gm_ar_logits(m, ctx, k, out, n, lg);
            for (int64_t i = 0; i < n && st == GM_OK; i++) {
                double s = 0;
                for (int64_t p = 0; p < nobs[k]; p++) {
                    int64_t d = order[p];
                    double l = lg[i * D + d], sp = l > 0 ? l + log1p(exp(-l)) : log1p(exp(l));
                    s += out[i * D + d] * l - sp;
                }
                lpk[(int64_t)k * n + i] = s;
            }
        }
    }
    /* choose sets, then uniforms, in row order (one rng stream: reproducible) */
    for (int64_t i = 0; i < n && st == GM_OK; i++) {
        if (K == 1) { set[i] = 0; continue; }
        double mx = -INFINITY;
        if (obs_mask)
            for (int k = 0; k < K; k++)
                if (nobs[k] >= 0 && lpk[(int64_t)k * n + i] > mx) mx = lpk[(int64_t)k * n + i];
        for (int k = 0; k < K; k++)
            w[k] = nobs[k] < 0 ? 0.0f : obs_mask ? (float)exp(lpk[(int64_t)k * n + i] - mx) : 1.0f;
        int64_t c = gm_rng_categorical(rng, w, K);
        if (c < 0) st = gm_error(GM_ERR_NONFINITE, "sample: the observed values have probability 0 under every mask set");
        set[i] = (int)c;
    }
    if (st == GM_OK) gm_rng_fill_uniform(rng, U, n * D, 0.0f, 1.0f);
    /* run each set's sampler on its rows */
    for (int k = 0; k < K && st == GM_OK; k++) {
        int64_t cnt = 0;
        for (int64_t i = 0; i < n; i++) {
            if (set[i] != k) continue;
            memcpy(rows + cnt * D, obs_mask ? out + i * D : U, (size_t)D * sizeof *rows);
            memcpy(urows + cnt * D, U + i * D, (size_t)D * sizeof *urows);
            cnt++;
        }
        if (!cnt) continue;
        st = ar->sample_u(m, k, urows, cnt, obs_mask ? nobs[k] : 0, rows);
        for (int64_t i = 0, j = 0; i < n && st == GM_OK; i++)
            if (set[i] == k) memcpy(out + i * D, rows + (j++) * D, (size_t)D * sizeof *out);
    }
    free(order); free(nobs); free(set); free(U); free(w); free(lpk); free(rows); free(urows);
    return st;
}

gm_status gm_ar_sample(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out) {
    return gm_ar_sample_cond(m, ctx, rng, n, NULL, NULL, out);
}
