/*
 * flow_common.h — what the flow models (nice, realnvp, flow2d) share:
 * the base density, dequantization and logit preprocessing around a gm_flow,
 * and the model callbacks built from them (internal to src/models).
 */
#ifndef GENMOD_FLOW_COMMON_H
#define GENMOD_FLOW_COMMON_H

#include "flows/flow.h"
#include "models/models_internal.h"

typedef enum flow_prior { FLOW_PRIOR_GAUSSIAN = 0, FLOW_PRIOR_LOGISTIC = 1 } flow_prior;

typedef struct flow_model {
    gm_flow flow;
    flow_prior prior;
    int dequant;   /* 1: 8-bit data in [0,1]: y = (round(255 x) + u) / 256, u ~ U[0,1) */
    int unit;      /* 1: data must lie in [0, 1] */
    double alpha;  /* > 0: logit preprocessing y -> logit(alpha + (1 - 2 alpha) y) */
} flow_model;

/* Reads "prior", "dequantize" and "alpha" from m->config into a new
 * flow_model (m->impl) and starts its flow over m's geometry. */
gm_status flow_model_begin(gm_model *m, int image);

/* The shared callbacks of a gm_model_def. */
gm_status flow_init(gm_model *m, gm_rng *rng);
gm_status flow_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng);
gm_tensor *flow_loss(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng);
gm_status flow_log_prob(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out);
gm_status flow_sample(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out);
gm_status flow_sample_temp(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, double T, float *out);
gm_status flow_encode(gm_model *m, gm_ctx *ctx, const float *x, int64_t n, float *z);
gm_status flow_decode(gm_model *m, gm_ctx *ctx, const float *z, int64_t n, float *x);
gm_status flow_validate(gm_model *m);
gm_status flow_check_data(gm_model *m, const float *x, int64_t B, const char *what);
int flow_dequant_draws(gm_model *m);
void flow_destroy(gm_model *m);

/* The hyper-parameters every flow model has (prior, dequantize, draws). */
#define FLOW_COMMON_HPARAMS(prior_def, deq_def)                                                                     \
    {"prior", 's', prior_def, 0, 0, "base density: gaussian or logistic"},                                          \
    {"dequantize", 's', deq_def, 0, 0, "uniform (8-bit data in [0,1]: add U[0,1)/256 noise) or none"},              \
    {"draws", 'i', "1", 1, 4096, "dequantization noise draws averaged per row by log p (eval)"}

/* Fills the gm_model_def fields the flow models share. */
#define FLOW_COMMON_DEF                                                                                              \
    .logp_kind = GM_LOGP_EXACT, .binary_data = 0, .init = flow_init, .loss = flow_loss, .log_prob = flow_log_prob, \
    .sample = flow_sample, .destroy = flow_destroy, .init_data = flow_init_data, .validate = flow_validate,         \
    .check_data = flow_check_data, .dequant_draws = flow_dequant_draws, .sample_temp = flow_sample_temp,            \
    .encode = flow_encode, .decode = flow_decode

#endif
