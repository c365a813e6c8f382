/*
 * tensor.c — tensor construction and inspection (no ops, no autodiff).
 */
#include "ctx_internal.h"
#include <stdio.h>
#include <string.h>

void gm_set_contiguous_strides(gm_tensor *t) {
    int64_t s = 1;
    for (int d = GM_MAX_DIMS - 1; d >= 0; d--) {
        if (d >= t->ndim) { t->shape[d] = 1; t->stride[d] = 1; continue; }
        t->stride[d] = s;
        s *= t->shape[d];
    }
    t->numel = s;
}

static gm_tensor *header(gm_ctx *ctx, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > GM_MAX_DIMS)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "tensor: %d dimensions (at most %d)", ndim, GM_MAX_DIMS);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return gm_ctx_fail(ctx, GM_ERR_SHAPE, "tensor: negative size %lld in dim %d", (long long)shape[d], d);
        if (shape[d] > 0 && n > INT64_MAX / 4 / shape[d]) return gm_ctx_fail(ctx, GM_ERR_SHAPE, "tensor: size overflow");
        n *= shape[d];
    }
    gm_tensor *t = gm_arena_calloc(ctx, sizeof *t);
    if (!t) return NULL;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    gm_set_contiguous_strides(t);
    return t;
}

gm_tensor *gm_wrap(gm_ctx *ctx, int ndim, const int64_t *shape, float *data) {
    gm_tensor *t = header(ctx, ndim, shape);
    if (t) t->data = data;
    return t;
}

gm_tensor *gm_tensor_new(gm_ctx *ctx, int ndim, const int64_t *shape) {
    gm_tensor *t = header(ctx, ndim, shape);
    if (!t) return NULL;
    t->data = gm_arena_alloc(ctx, (size_t)t->numel * sizeof(float));
    return t->data ? t : NULL;
}

gm_tensor *gm_zeros(gm_ctx *ctx, int ndim, const int64_t *shape) {
    gm_tensor *t = gm_tensor_new(ctx, ndim, shape);
    if (t) memset(t->data, 0, (size_t)t->numel * sizeof(float));
    return t;
}

gm_tensor *gm_new1(gm_ctx *ctx, int64_t n0) { int64_t s[1] = {n0}; return gm_tensor_new(ctx, 1, s); }
gm_tensor *gm_new2(gm_ctx *ctx, int64_t n0, int64_t n1) { int64_t s[2] = {n0, n1}; return gm_tensor_new(ctx, 2, s); }
gm_tensor *gm_new3(gm_ctx *ctx, int64_t n0, int64_t n1, int64_t n2) { int64_t s[3] = {n0, n1, n2}; return gm_tensor_new(ctx, 3, s); }
gm_tensor *gm_new4(gm_ctx *ctx, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    int64_t s[4] = {n0, n1, n2, n3};
    return gm_tensor_new(ctx, 4, s);
}

gm_tensor *gm_scalar(gm_ctx *ctx, float v) {
    gm_tensor *t = gm_tensor_new(ctx, 0, NULL);
    if (t) t->data[0] = v;
    return t;
}

gm_tensor *gm_from_data(gm_ctx *ctx, int ndim, const int64_t *shape, const float *src) {
    gm_tensor *t = gm_tensor_new(ctx, ndim, shape);
    if (t) memcpy(t->data, src, (size_t)t->numel * sizeof(float));
    return t;
}

void gm_fill(gm_tensor *t, float v) {
    if (gm_is_contiguous(t)) { for (int64_t i = 0; i < t->numel; i++) t->data[i] = v; return; }
    for (int64_t a = 0; a < t->shape[0]; a++)
        for (int64_t b = 0; b < t->shape[1]; b++)
            for (int64_t c = 0; c < t->shape[2]; c++)
                for (int64_t d = 0; d < t->shape[3]; d++)
                    t->data[a * t->stride[0] + b * t->stride[1] + c * t->stride[2] + d * t->stride[3]] = v;
}

int gm_is_contiguous(const gm_tensor *t) {
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != s) return 0;
        s *= t->shape[d];
    }
    return 1;
}

int gm_same_shape(const gm_tensor *a, const gm_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int d = 0; d < a->ndim; d++) if (a->shape[d] != b->shape[d]) return 0;
    return 1;
}

float gm_get(const gm_tensor *t, const int64_t *idx) {
    int64_t off = 0;
    for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
    return t->data[off];
}

void gm_copy_to(const gm_tensor *t, float *dst) {
    if (gm_is_contiguous(t)) { memcpy(dst, t->data, (size_t)t->numel * sizeof(float)); return; }
    int64_t k = 0;
    for (int64_t a = 0; a < t->shape[0]; a++)
        for (int64_t b = 0; b < t->shape[1]; b++)
            for (int64_t c = 0; c < t->shape[2]; c++)
                for (int64_t d = 0; d < t->shape[3]; d++)
                    dst[k++] = t->data[a * t->stride[0] + b * t->stride[1] + c * t->stride[2] + d * t->stride[3]];
}

const char *gm_shape_str(const gm_tensor *t, char *buf, size_t n) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "(");
    for (int d = 0; d < t->ndim; d++)
        k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    snprintf(buf + k, n > k ? n - k : 0, ")");
    return buf;
}
