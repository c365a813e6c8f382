/*
 * ctx_internal.h — layout of gm_ctx (private to src/core).
 */
#ifndef GENMOD_CTX_INTERNAL_H
#define GENMOD_CTX_INTERNAL_H

#include "op_internal.h"

typedef struct gm_chunk {
    struct gm_chunk *next;
    size_t size, used;
} gm_chunk;

struct gm_ctx {
    gm_chunk *head, *cur;
    size_t n_mallocs;
    gm_node **tape;      /* nodes in creation order (malloc'd; grows rarely) */
    int tape_len, tape_cap;
    int grad_enabled, training, debug_finite;
    gm_backend backend;
    gm_status status;
    char msg[512];
    char first_nonfinite[64];
};

#endif
