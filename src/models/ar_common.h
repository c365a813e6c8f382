/*
 * ar_common.h — what the autoregressive binary models (fvsbn.c, nade.c,
 * made.c) share inside src/models: orderings, their storage as a float
 * buffer in the checkpoint, Bernoulli log-likelihood rows, sampling from
 * given uniforms and conditioning on observed dimensions.
 *
 * Conventions: an ordering `order` (D) lists the dimensions in the order the
 * chain rule visits them (order[k] = the dimension at position k); `pos` is
 * its inverse. Samplers take uniforms U (n, D) indexed by *position*, and set
 * x[order[k]] = (U[k] < p(x_order[k] = 1 | earlier)) — so two samplers given
 * the same U draw the same x exactly when their probabilities agree.
 * Not public API.
 */
#ifndef GENMOD_AR_COMMON_H
#define GENMOD_AR_COMMON_H

#include "genmod/model.h"
#include <math.h>

/* Fills order (D) from spec: "natural", "reverse", "random" (a permutation
 * drawn from rng) or the path of a text file holding D integers (separated
 * by spaces, commas or newlines; '#' starts a comment) that must be a
 * permutation of 0..D-1. Errors name the option/file and the problem. */
gm_status gm_ar_order_from_spec(const char *spec, int64_t D, gm_rng *rng, int64_t *order);

/* Checks that order (D) is a permutation of 0..D-1; `what` names it in the
 * error. */
gm_status gm_ar_order_check(const int64_t *order, int64_t D, const char *what);

/* Reads a float buffer holding an ordering (D) into order (D), checking it. */
gm_status gm_ar_order_from_buffer(const float *buf, int64_t D, int64_t *order, const char *what);

/* Fills buf (D, floats) with the ordering given by spec (see
 * gm_ar_order_from_spec): how the models initialise their "order" buffer. */
gm_status gm_ar_order_to_buffer(const char *spec, int64_t D, gm_rng *rng, float *buf);

/* Keeps cache (D) equal to the ordering in buf (D): re-reads and checks buf
 * when *valid is 0 or buf changed (e.g. a checkpoint was loaded); then sets
 * *reread (if not NULL) to 1, else to 0. */
gm_status gm_ar_order_refresh(const float *buf, int64_t D, int64_t *cache, int *valid, int *reread, const char *what);

/* b (D) = logit of the smoothed training mean (Σ x + 1) / (n + 2): the
 * output-bias initialisation of the autoregressive models. */
void gm_ar_bias_from_data(float *b, const float *x, int64_t n, int64_t D);

/* log Bern(x; σ(l)) summed over a row of D: Σ x·l − softplus(l), in double. */
double gm_ar_row_logp(const float *x, const float *logits, int64_t D);

/* Bernoulli draw from a uniform and a logit: 1 if u < σ(l). */
static inline float gm_ar_draw(float u, double logit) {
    double p = logit >= 0 ? 1.0 / (1.0 + exp(-logit)) : exp(logit) / (1.0 + exp(logit));
    return (double)u < p ? 1.0f : 0.0f;
}

/* Observed dimensions: obs_mask (D) with 1 for observed. Returns in *n_first
 * how many positions of `order` are observed if the observed dimensions are
 * exactly its first positions, else -1. */
int64_t gm_ar_observed_prefix(const int64_t *order, int64_t D, const unsigned char *obs_mask);

/* The family interface an autoregressive model exposes (def->family_ops).
 * A model may hold several "sets" (MADE's mask sets / orderings); its
 * distribution is the uniform mixture over them. */
typedef struct gm_ar_ops {
    /* Number of sets (>= 1). */
    int (*n_sets)(gm_model *m);
    /* The ordering of set k into order (D). */
    gm_status (*order)(gm_model *m, int k, int64_t *order);
    /* Logits (B, D) of every conditional of set k given x (B, D) on ctx's
     * tape (differentiable in the parameters, and in x where the ops
     * allow): one full forward pass. Column d is the logit of
     * p(x_d = 1 | x before d); it must not depend on x_d or later dims. */
    gm_tensor *(*logits_t)(gm_model *m, gm_ctx *ctx, int k, gm_tensor *x);
    /* The fast sampler of set k: x (n, D) holds the observed values at the
     * first n_obs positions of the set's ordering; fills the rest from the
     * uniforms U (n, D) (by position). */
    gm_status (*sample_u)(gm_model *m, int k, const float *U, int64_t n, int64_t n_obs, float *x);
} gm_ar_ops;

/* The model's family interface, or NULL if it is not autoregressive. */
const gm_ar_ops *gm_ar_ops_of(const gm_model *m);

/* The def->loss slot: mean over the batch of −log p_k(x), with the set k
 * drawn from rng per minibatch when the model has several (set 0 without rng). */
gm_tensor *gm_ar_loss(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng);

/* logits_t without gradients into out (B, D). Resets ctx. */
gm_status gm_ar_logits(gm_model *m, gm_ctx *ctx, int k, const float *x, int64_t B, float *out);

/* log p(x) (B) for the def->log_prob slot: one set exactly, or the ensemble
 * log((1/K) Σ_k p_k(x)) via logsumexp over K sets. */
gm_status gm_ar_log_prob(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out);
/* log p_k(x) (B) of set k alone. */
gm_status gm_ar_log_prob_set(gm_model *m, gm_ctx *ctx, int k, const float *x, int64_t B, double *out);

/* Samples for the def->sample / def->sample_cond slots. With obs_mask,
 * each row picks a set usable for conditioning (observed dimensions first in
 * its ordering) with probability ∝ p_k(x_obs) — the exact conditional of the
 * mixture — else a set uniformly; then draws its uniforms and runs sample_u. */
gm_status gm_ar_sample(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out);
gm_status gm_ar_sample_cond(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, const float *obs,
                            const unsigned char *obs_mask, float *out);

/* The naive sampler (for tests): D full forward passes through logits(),
 * drawing position k from the k-th pass. Same contract as sample_u. */
gm_status gm_ar_sample_naive(gm_model *m, gm_ctx *ctx, int k, const float *U, int64_t n, int64_t n_obs, float *x);

#endif
