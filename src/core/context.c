/*
 * context.c — the step context: bump arena, flags, sticky error, tape storage.
 *
 * The arena is a list of chunks. Allocation bumps within the current chunk and
 * mallocs a new chunk (at least double the last) when it runs out. On reset,
 * if more than one chunk was used, all are freed and replaced by one chunk of
 * their total size, so from then on a step of the same shape never mallocs.
 *
 * Under AddressSanitizer the arena is poisoned except for live allocations,
 * each followed by a 64-byte red zone, so a kernel that reads or writes past
 * its arena buffer is reported like a heap overflow (ASan cannot see inside
 * one big malloc otherwise).
 */
#include "ctx_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define GM_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GM_ARENA_ASAN 1
#endif
#endif
#ifdef GM_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define ARENA_REDZONE 64
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#define ARENA_REDZONE 0
#endif

#define GM_ALIGN 64

static gm_chunk *chunk_new(size_t bytes) {
    gm_chunk *c = NULL;
    if (posix_memalign((void **)&c, GM_ALIGN, sizeof(gm_chunk) + bytes + GM_ALIGN) != 0) return NULL;
    c->next = NULL;
    c->size = bytes;
    c->used = 0;
    ARENA_POISON(c + 1, bytes + GM_ALIGN);
    return c;
}

gm_ctx *gm_ctx_new(size_t initial_bytes) {
    gm_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { gm_error(GM_ERR_NOMEM, "gm_ctx_new: out of memory"); return NULL; }
    if (initial_bytes == 0) initial_bytes = (size_t)16 << 20;
    ctx->head = ctx->cur = chunk_new(initial_bytes);
    if (!ctx->head) { free(ctx); gm_error(GM_ERR_NOMEM, "gm_ctx_new: cannot reserve %zu bytes", initial_bytes); return NULL; }
    ctx->n_mallocs = 1;
    ctx->grad_enabled = 1;
    ctx->training = 1;
    ctx->tape_cap = 1024;
    ctx->tape = malloc(sizeof(gm_node *) * (size_t)ctx->tape_cap);
    if (!ctx->tape) { free(ctx->head); free(ctx); gm_error(GM_ERR_NOMEM, "gm_ctx_new: out of memory"); return NULL; }
    return ctx;
}

void gm_ctx_free(gm_ctx *ctx) {
    if (!ctx) return;
    gm_chunk *c = ctx->head;
    while (c) { gm_chunk *n = c->next; free(c); c = n; }
    free(ctx->tape);
    free(ctx);
}

void gm_ctx_reset(gm_ctx *ctx) {
    if (ctx->head->next) {
        size_t total = 0;
        for (gm_chunk *c = ctx->head; c; c = c->next) total += c->size;
        gm_chunk *big = chunk_new(total);
        if (big) {
            gm_chunk *c = ctx->head;
            while (c) { gm_chunk *n = c->next; free(c); c = n; }
            ctx->head = big;
            ctx->n_mallocs++;
        } else {
            /* keep the chunk list; still usable, just not coalesced */
            for (gm_chunk *c = ctx->head; c; c = c->next) c->used = 0;
        }
    }
    for (gm_chunk *c = ctx->head; c; c = c->next) ARENA_POISON(c + 1, c->size);
    ctx->head->used = 0;
    ctx->cur = ctx->head;
    ctx->tape_len = 0;
    ctx->status = GM_OK;
    ctx->msg[0] = '\0';
    ctx->first_nonfinite[0] = '\0';
}

static void *bump(gm_chunk *c, size_t bytes) {
    uintptr_t base = (uintptr_t)(c + 1);
    uintptr_t p = (base + c->used + (GM_ALIGN - 1)) & ~(uintptr_t)(GM_ALIGN - 1);
    if (p + bytes + ARENA_REDZONE > base + c->size) return NULL;
    c->used = (size_t)(p + bytes + ARENA_REDZONE - base);
    ARENA_UNPOISON((void *)p, bytes);
    return (void *)p;
}

void *gm_arena_alloc(gm_ctx *ctx, size_t bytes) {
    if (bytes == 0) bytes = 1;
    for (;;) {
        void *p = bump(ctx->cur, bytes);
        if (p) return p;
        if (ctx->cur->next) { ctx->cur = ctx->cur->next; ctx->cur->used = 0; continue; }
        size_t want = ctx->cur->size * 2;
        if (want < bytes + GM_ALIGN) want = bytes + GM_ALIGN;
        gm_chunk *c = chunk_new(want);
        if (!c) {
            gm_ctx_fail(ctx, GM_ERR_NOMEM, "arena: cannot allocate %zu bytes", want);
            return NULL;
        }
        ctx->n_mallocs++;
        ctx->cur->next = c;
        ctx->cur = c;
    }
}

gm_arena_mark gm_arena_get_mark(gm_ctx *ctx) {
    gm_arena_mark m = {ctx->cur, ctx->cur->used};
    return m;
}

void gm_arena_release(gm_ctx *ctx, gm_arena_mark m) {
    gm_chunk *c = m.chunk;
    if (!c) return;
    ctx->cur = c;
    ARENA_POISON((char *)(c + 1) + m.used, c->size - m.used);
    for (gm_chunk *l = c->next; l; l = l->next) ARENA_POISON(l + 1, l->size);
    c->used = m.used; /* later chunks are reset to 0 when the bump pointer reaches them again */
}

/* Zero-filled arena memory; large blocks (gradient buffers of activations)
 * are cleared by all threads in 256 KB pieces. */
void *gm_arena_calloc(gm_ctx *ctx, size_t bytes) {
    void *p = gm_arena_alloc(ctx, bytes);
    if (!p) return NULL;
    const size_t piece = (size_t)1 << 18;
    int64_t np = (int64_t)((bytes + piece - 1) / piece);
    int nt = gm_par_threads((int64_t)(bytes / 4));
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && np > 1)
    for (int64_t k = 0; k < np; k++) {
        size_t lo = (size_t)k * piece, len = bytes - lo < piece ? bytes - lo : piece;
        memset((char *)p + lo, 0, len);
    }
    return p;
}

size_t gm_arena_capacity(const gm_ctx *ctx) {
    size_t total = 0;
    for (const gm_chunk *c = ctx->head; c; c = c->next) total += c->size;
    return total;
}

size_t gm_arena_mallocs(const gm_ctx *ctx) { return ctx->n_mallocs; }

int gm_set_grad_enabled(gm_ctx *ctx, int enabled) {
    int old = ctx->grad_enabled;
    ctx->grad_enabled = enabled ? 1 : 0;
    return old;
}
int gm_grad_enabled(const gm_ctx *ctx) { return ctx->grad_enabled; }
void gm_set_training(gm_ctx *ctx, int training) { ctx->training = training ? 1 : 0; }
int gm_training(const gm_ctx *ctx) { return ctx->training; }
void gm_set_backend(gm_ctx *ctx, gm_backend b) { ctx->backend = b; }
gm_backend gm_get_backend(const gm_ctx *ctx) { return ctx->backend; }
void gm_set_debug_finite(gm_ctx *ctx, int on) { ctx->debug_finite = on ? 1 : 0; }
const char *gm_ctx_first_nonfinite(const gm_ctx *ctx) { return ctx->first_nonfinite; }
gm_status gm_ctx_status(const gm_ctx *ctx) { return ctx->status; }
const char *gm_ctx_error(const gm_ctx *ctx) { return ctx->msg; }

gm_tensor *gm_ctx_fail(gm_ctx *ctx, gm_status st, const char *fmt, ...) {
    if (ctx->status != GM_OK) return NULL; /* first error wins */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->msg, sizeof ctx->msg, fmt, ap);
    va_end(ap);
    ctx->status = st;
    gm_error(st, "%s", ctx->msg);
    return NULL;
}

void gm_ctx_annotate(gm_ctx *ctx, const char *fmt, ...) {
    if (!ctx || ctx->status == GM_OK) return;
    char pre[256], old[sizeof ctx->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, ctx->msg, sizeof old);
    size_t k = strlen(pre);
    if (k > sizeof ctx->msg - 3) k = sizeof ctx->msg - 3;
    memcpy(ctx->msg, pre, k);
    ctx->msg[k] = ':', ctx->msg[k + 1] = ' ';
    size_t room = sizeof ctx->msg - k - 3, ol = strlen(old);
    if (ol > room) ol = room;
    memcpy(ctx->msg + k + 2, old, ol);
    ctx->msg[k + 2 + ol] = 0;
    gm_error(ctx->status, "%s", ctx->msg);
}
