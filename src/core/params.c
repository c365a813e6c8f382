/*
 * params.c — flat parameter / gradient buffers; see genmod/params.h.
 */
#include "genmod/params.h"
#include "core/op_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void gm_params_init(gm_params *p) { memset(p, 0, sizeof *p); }

int gm_params_add(gm_params *p, const char *name, int ndim, const int64_t *shape, int trainable) {
    if (!name || !name[0] || strlen(name) >= GM_PARAM_NAME_MAX) { gm_error(GM_ERR_ARG, "params: bad name"); return -1; }
    if (p->finalized) { gm_error(GM_ERR_ARG, "params: '%s' declared after finalize", name); return -1; }
    if (ndim < 0 || ndim > GM_MAX_DIMS) { gm_error(GM_ERR_SHAPE, "params: '%s' has %d dims", name, ndim); return -1; }
    if (ndim > 0 && !shape) { gm_error(GM_ERR_ARG, "params: '%s' has a NULL shape", name); return -1; }
    if (gm_params_index(p, name) >= 0) { gm_error(GM_ERR_ARG, "params: duplicate name '%s'", name); return -1; }
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] <= 0 || shape[d] > ((int64_t)1 << 34)) { gm_error(GM_ERR_SHAPE, "params: '%s' bad size in dim %d", name, d); return -1; }
        n *= shape[d];
        if (n > ((int64_t)1 << 34)) { gm_error(GM_ERR_SHAPE, "params: '%s' too large", name); return -1; }
    }
    if (p->count == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        gm_param_entry *e = realloc(p->entries, sizeof *e * (size_t)cap);
        if (!e) { gm_error(GM_ERR_NOMEM, "params: out of memory"); return -1; }
        p->entries = e;
        p->cap = cap;
    }
    gm_param_entry *e = &p->entries[p->count];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->ndim = ndim;
    for (int d = 0; d < GM_MAX_DIMS; d++) e->shape[d] = d < ndim ? shape[d] : 1;
    e->numel = n;
    /* 16-float (64-byte) alignment for every entry */
    e->offset = (p->total + 15) & ~(int64_t)15;
    e->trainable = trainable;
    p->total = e->offset + n;
    return p->count++;
}

gm_status gm_params_finalize(gm_params *p) {
    if (p->finalized) return GM_OK;
    size_t bytes = (size_t)(p->total > 0 ? p->total : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    p->data = aligned_alloc(64, bytes);
    p->grad = aligned_alloc(64, bytes);
    if (!p->data || !p->grad) {
        free(p->data); free(p->grad); p->data = p->grad = NULL;
        return gm_error(GM_ERR_NOMEM, "params: cannot allocate %lld floats", (long long)p->total);
    }
    memset(p->data, 0, bytes);
    memset(p->grad, 0, bytes);
    for (int i = 0; i < p->count; i++) {
        gm_param_entry *e = &p->entries[i];
        gm_tensor *t = &e->t;
        memset(t, 0, sizeof *t);
        t->ndim = e->ndim;
        int64_t s = 1;
        for (int d = GM_MAX_DIMS - 1; d >= 0; d--) { t->shape[d] = e->shape[d]; t->stride[d] = s; s *= (d < e->ndim ? e->shape[d] : 1); }
        t->numel = e->numel;
        t->data = p->data + e->offset;
        t->grad = e->trainable ? p->grad + e->offset : NULL;
        t->requires_grad = e->trainable;
        t->is_param = 1;
        t->name = e->name;
    }
    p->finalized = 1;
    return GM_OK;
}

gm_tensor *gm_params_get(gm_params *p, int i) { return (i >= 0 && i < p->count) ? &p->entries[i].t : NULL; }

int gm_params_index(const gm_params *p, const char *name) {
    for (int i = 0; i < p->count; i++) if (strcmp(p->entries[i].name, name) == 0) return i;
    return -1;
}

gm_tensor *gm_params_find(gm_params *p, const char *name) { return gm_params_get(p, gm_params_index(p, name)); }

void gm_params_zero_grad(gm_params *p) {
    if (!p->grad) return;
    /* in chunks over the threads: at a few MB a single memset is a serial stretch of the step */
    const int64_t chunk = 16384, n = p->total, nchunk = (n + chunk - 1) / chunk;
    float *g = p->grad;
#pragma omp parallel for schedule(static) num_threads(gm_par_threads(n)) if (n > 65536)
    for (int64_t c = 0; c < nchunk; c++) {
        int64_t lo = c * chunk, len = n - lo < chunk ? n - lo : chunk;
        memset(g + lo, 0, (size_t)len * sizeof(float));
    }
}

int64_t gm_params_count_trainable(const gm_params *p) {
    int64_t n = 0;
    for (int i = 0; i < p->count; i++) if (p->entries[i].trainable) n += p->entries[i].numel;
    return n;
}

/* Entry i if it exists and has storage (finalized), else NULL with a message. */
static gm_param_entry *init_entry(gm_params *p, int i, const char *what) {
    if (i < 0 || i >= p->count || !p->data) {
        gm_error(GM_ERR_ARG, "params %s: no entry %d (of %d) or not finalized", what, i, p->count);
        return NULL;
    }
    return &p->entries[i];
}

void gm_params_init_uniform(gm_params *p, int i, gm_rng *rng, float bound) {
    gm_param_entry *e = init_entry(p, i, "init_uniform");
    if (!e) return;
    gm_rng_fill_uniform(rng, p->data + e->offset, e->numel, -bound, bound);
}

void gm_params_init_normal(gm_params *p, int i, gm_rng *rng, float std) {
    gm_param_entry *e = init_entry(p, i, "init_normal");
    if (!e) return;
    gm_rng_fill_normal(rng, p->data + e->offset, e->numel, 0.0f, std);
}

void gm_params_init_const(gm_params *p, int i, float v) {
    gm_param_entry *e = init_entry(p, i, "init_const");
    if (!e) return;
    for (int64_t k = 0; k < e->numel; k++) p->data[e->offset + k] = v;
}

int gm_params_grad_finite(const gm_params *p, int *bad) {
    if (!p->grad) return 1; /* not finalized: no gradients yet */
    for (int i = 0; i < p->count; i++) {
        const gm_param_entry *e = &p->entries[i];
        if (!e->trainable) continue;
        for (int64_t k = 0; k < e->numel; k++)
            if (!isfinite(p->grad[e->offset + k])) { if (bad) *bad = i; return 0; }
    }
    return 1;
}

void gm_params_free(gm_params *p) {
    free(p->entries);
    free(p->data);
    free(p->grad);
    memset(p, 0, sizeof *p);
}
