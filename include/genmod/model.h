/*
 * genmod/model.h — the model interface and registry.
 *
 * A model is a small vtable (gm_model_def) plus an instance (gm_model) holding
 * its flat parameters, its resolved configuration and its data geometry. The
 * trainer, `genmod eval` and `genmod sample` only talk to this interface; a
 * model file never parses command-line flags: it declares its
 * hyper-parameters (gm_hparam) and reads them from a gm_config.
 */
#ifndef GENMOD_MODEL_H
#define GENMOD_MODEL_H

#include "genmod/params.h"
#include "genmod/rng.h"
#include "genmod/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration: string key/values, typed on read ---- */
#define GM_CONFIG_MAX 64
typedef struct gm_config {
    int n;
    struct { char key[40]; char val[216]; } kv[GM_CONFIG_MAX];
} gm_config;

/* Sets (or replaces) key=val. Returns GM_ERR_ARG if full or too long. */
gm_status gm_config_set(gm_config *c, const char *key, const char *val);
/* Value of key or NULL. */
const char *gm_config_get(const gm_config *c, const char *key);
/* Typed reads with a default when absent (values are validated when set by gm_hparams_apply). */
int64_t gm_config_int(const gm_config *c, const char *key, int64_t def);
double gm_config_float(const gm_config *c, const char *key, double def);
/* Writes {"k":"v",...} (all values as JSON strings) into buf; returns GM_ERR_ARG if it does not fit. */
gm_status gm_config_to_json(const gm_config *c, char *buf, size_t n);

/* A hyper-parameter a model (or the trainer) accepts: --name VALUE. */
typedef struct gm_hparam {
    const char *name;
    char type;          /* 'i' integer, 'f' float, 's' string */
    const char *def;    /* default value as text */
    double lo, hi;      /* inclusive range for 'i'/'f' */
    const char *help;
} gm_hparam;

/* Validates `val` against spec (numeric, in range) and stores it. Returns
 * GM_ERR_ARG with "--name: ..." on a bad value. */
gm_status gm_hparam_set(gm_config *c, const gm_hparam *spec, const char *val);
/* Fills every spec's default into c where c has no value yet. */
gm_status gm_hparams_defaults(gm_config *c, const gm_hparam *specs, int n);

/* ---- models ---- */
typedef struct gm_model gm_model;

typedef enum gm_logp_kind { GM_LOGP_EXACT = 0, GM_LOGP_BOUND = 1, GM_LOGP_ESTIMATE = 2 } gm_logp_kind;
/* "exact", "bound" or "estimate": how a model's log p(x) is to be read. */
const char *gm_logp_kind_name(gm_logp_kind k);

typedef struct gm_model_def {
    const char *name;
    const char *summary;
    const gm_hparam *hparams;
    int n_hparams;
    gm_logp_kind logp_kind;
    int binary_data;    /* 1: x must be in {0,1} */
    /* Declares parameters in m->params (the caller finalizes them) and sets up m->impl. */
    gm_status (*declare)(gm_model *m);
    /* Initialises parameter values (after finalize). */
    gm_status (*init)(gm_model *m, gm_rng *rng);
    /* Training loss for a batch x (B, D): mean negative log-likelihood (or
     * negative bound) per example, a scalar tensor on ctx's tape. */
    gm_tensor *(*loss)(gm_model *m, gm_ctx *ctx, gm_tensor *x, gm_rng *rng);
    /* log p(x) per example (B values, double) without gradients. */
    gm_status (*log_prob)(gm_model *m, gm_ctx *ctx, const float *x, int64_t B, double *out);
    /* Draws n samples into out (n, D). */
    gm_status (*sample)(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, float *out);
    void (*destroy)(gm_model *m);
    /* Optional (may be NULL): data-dependent initialisation from the first n
     * training rows x (n, D), called once after init on a fresh model. */
    gm_status (*init_data)(gm_model *m, const float *x, int64_t n, gm_rng *rng);
    /* Optional: draws n samples of the unobserved dimensions given observed
     * ones. obs (n, D) holds the observed values (other entries are ignored),
     * obs_mask (D) is 1 for observed dimensions; observed values are copied to
     * out (n, D). GM_ERR_ARG (with the reason) when the model cannot condition
     * on that set of dimensions. */
    gm_status (*sample_cond)(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, const float *obs,
                             const unsigned char *obs_mask, float *out);
    /* Optional: how many masks/orderings log_prob averages over (1 if NULL). */
    int (*n_masks)(gm_model *m);
    /* Family-private interface (e.g. the autoregressive samplers); opaque here. */
    const void *family_ops;
    /* Optional: checks loaded parameters (called by gm_model_load), e.g. that
     * a flow is still invertible. GM_ERR_FORMAT naming the parameter. */
    gm_status (*validate)(gm_model *m);
    /* Optional: checks data values beyond binary_data (e.g. in [0, 1]);
     * called by gm_model_check_data. GM_ERR_ARG naming row and column. */
    gm_status (*check_data)(gm_model *m, const float *x, int64_t B, const char *what);
    /* Optional: > 0 when log_prob is the density of 8-bit data dequantized
     * to [0, 1], averaged over that many noise draws per row: the CLI then
     * also reports bits/dim = (NLL / D + ln 256) / ln 2. */
    int (*dequant_draws)(gm_model *m);
    /* Optional: sampling with the base noise scaled by temperature T > 0. */
    gm_status (*sample_temp)(gm_model *m, gm_ctx *ctx, gm_rng *rng, int64_t n, double T, float *out);
    /* Optional (invertible models): z = f(x) and x = f^{-1}(z), n rows of D. */
    gm_status (*encode)(gm_model *m, gm_ctx *ctx, const float *x, int64_t n, float *z);
    gm_status (*decode)(gm_model *m, gm_ctx *ctx, const float *z, int64_t n, float *x);
} gm_model_def;

struct gm_model {
    const gm_model_def *def;
    gm_params params;
    gm_config config;
    int64_t dim;            /* D */
    int c, h, w;            /* image geometry (0 if not an image) */
    void *impl;             /* model-private state */
};

/* Registry. */
const gm_model_def *gm_model_find(const char *name);
int gm_model_count(void);
const gm_model_def *gm_model_at(int i);

/* Creates a model: applies defaults to `config`, declares, finalizes and (if
 * rng) initialises parameters. dim/c/h/w describe the data. */
gm_status gm_model_create(const gm_model_def *def, const gm_config *config, int64_t dim, int c, int h, int w,
                          gm_rng *rng, gm_model **out);
void gm_model_free(gm_model *m);

/* Checks a batch against the model's data requirements (binary values).
 * Returns GM_ERR_ARG naming the row/column of the first bad value. */
gm_status gm_model_check_data(const gm_model *m, const float *x, int64_t B, const char *what);

/* ---- checkpoints ----
 * Writes the model's parameters as a safetensors file (tensor names = the
 * parameter names) whose __metadata__ holds: "format":"genmod-checkpoint",
 * "format_version":"1", "genmod_version", "model_type" (def->name),
 * "config" (the resolved config as a JSON object string), "dim", "c", "h", "w",
 * plus every key/value of `extra` (may be NULL; e.g. step, epoch, valid_nll).
 * Atomic: temp file in the same directory, fsync, rename. */
gm_status gm_model_save(const gm_model *m, const char *path, const gm_config *extra);

/* Loads a checkpoint written by gm_model_save: validates the metadata, finds
 * the model type in the registry, creates the model from the stored config and
 * geometry and reads every parameter with an exact shape check. Errors name the
 * file and the problem (not a genmod checkpoint, unknown model type, missing or
 * mis-shaped tensor...). On success *out owns a new model. If `extra` is
 * non-NULL, the metadata keys not used above are copied into it. */
gm_status gm_model_load(const char *path, gm_model **out, gm_config *extra);

#ifdef __cplusplus
}
#endif
#endif
