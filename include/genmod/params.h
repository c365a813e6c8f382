/*
 * genmod/params.h — a model's parameters in flat buffers.
 *
 * Parameters are declared by name and shape, then gm_params_finalize()
 * allocates one float buffer for all values and one of the same layout for
 * all gradients. Each parameter is a gm_tensor view into them (is_param=1,
 * requires_grad=1), valid for the lifetime of the gm_params. Zero-grad,
 * clipping, optimizer steps, EMA and checkpoints are loops over the flat
 * arrays. Buffers (non-trained state such as batch-norm running statistics)
 * live in the same value buffer but have no gradient effect (requires_grad=0).
 */
#ifndef GENMOD_PARAMS_H
#define GENMOD_PARAMS_H

#include "genmod/tensor.h"
#include "genmod/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GM_PARAM_NAME_MAX 64

typedef struct gm_param_entry {
    char name[GM_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[GM_MAX_DIMS];
    int64_t offset, numel;  /* in floats, into data/grad */
    int trainable;          /* 0 for buffers (running stats) */
    gm_tensor t;            /* the view handed to ops */
} gm_param_entry;

typedef struct gm_params {
    gm_param_entry *entries;
    int count, cap;
    int64_t total;          /* floats */
    float *data;            /* (total) values, 64-byte aligned */
    float *grad;            /* (total) gradients, same layout (buffers' slots stay 0) */
    int finalized;
} gm_params;

/* Initialises an empty set. */
void gm_params_init(gm_params *p);
/* Declares a parameter (trainable=1) or buffer (trainable=0) before finalize.
 * Returns its index, or -1 (duplicate name, bad shape, finalized, OOM; message in gm_last_error). */
int gm_params_add(gm_params *p, const char *name, int ndim, const int64_t *shape, int trainable);
/* Allocates the flat buffers (zeroed) and points every entry's tensor into them. */
gm_status gm_params_finalize(gm_params *p);
/* Tensor of entry i / by name (NULL if absent). */
gm_tensor *gm_params_get(gm_params *p, int i);
gm_tensor *gm_params_find(gm_params *p, const char *name);
int gm_params_index(const gm_params *p, const char *name);
void gm_params_zero_grad(gm_params *p);
/* Number of trainable floats. */
int64_t gm_params_count_trainable(const gm_params *p);
/* Fills entry i uniformly in [-bound, bound] / normally / with a constant. */
void gm_params_init_uniform(gm_params *p, int i, gm_rng *rng, float bound);
void gm_params_init_normal(gm_params *p, int i, gm_rng *rng, float std);
void gm_params_init_const(gm_params *p, int i, float v);
/* True if every gradient is finite; else returns 0 and sets *bad to the first bad entry. */
int gm_params_grad_finite(const gm_params *p, int *bad);
void gm_params_free(gm_params *p);

#ifdef __cplusplus
}
#endif
#endif
