/*
 * models_internal.h — what the model files share inside src/models (not
 * public API): the registry's model definitions, one per src/models/<name>.c.
 * Adding a model: define `const gm_model_def gm_model_def_<name>` in its own
 * file, declare it here and list it in registry.c's table.
 */
#ifndef GENMOD_MODELS_INTERNAL_H
#define GENMOD_MODELS_INTERNAL_H

#include "genmod/model.h"

extern const gm_model_def gm_model_def_bernoulli; /* bernoulli.c: independent Bernoulli per dimension */
extern const gm_model_def gm_model_def_mob;       /* mob.c: mixture of Bernoulli products */
extern const gm_model_def gm_model_def_fvsbn;     /* fvsbn.c: fully visible sigmoid belief net */
extern const gm_model_def gm_model_def_nade;      /* nade.c: NADE */
extern const gm_model_def gm_model_def_made;      /* made.c: MADE */
extern const gm_model_def gm_model_def_nice;      /* nice.c: NICE additive coupling flow */
extern const gm_model_def gm_model_def_realnvp;   /* realnvp.c: multi-scale RealNVP / Glow steps */
extern const gm_model_def gm_model_def_flow2d;    /* flow2d.c: MLP coupling flow for 2-D / tabular data */

/* Rows of x processed per chunk by no-grad log_prob graphs (bounds the arena). */
#define GM_MODEL_LOGP_CHUNK 1000

#endif
