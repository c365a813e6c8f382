/*
 * fuzz_safetensors.c — libFuzzer harness for the safetensors reader (from
 * memory): every accepted file has every tensor converted to float (and to
 * int64 where allowed), lookups by name must find each entry, and writing
 * the tensors + metadata back must produce a file that opens again with the
 * same content (traps otherwise).
 */
#include "genmod/safetensors.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_st_reader *r = NULL;
    if (gm_st_open_mem(data, size, "fuzz.safetensors", &r) != GM_OK) return 0;
    gm_st_writer *w = gm_st_writer_new();
    int roundtrip = w != NULL;
    for (int64_t i = 0; i < gm_st_count(r); i++) {
        const gm_st_info *e = gm_st_entry(r, i);
        if (gm_st_find(r, e->name) != e) __builtin_trap();
        float *f = malloc((size_t)(e->numel ? e->numel : 1) * sizeof *f);
        int64_t *q = malloc((size_t)(e->numel ? e->numel : 1) * sizeof *q);
        if (f && gm_st_read_f32_n(r, e->name, e->numel, f) != GM_OK) __builtin_trap();
        if (f && gm_st_read_f32(r, e->name, e->ndim, e->shape, f) != GM_OK) __builtin_trap();
        if (q) (void)gm_st_read_i64_n(r, e->name, e->numel, q);
        free(f);
        free(q);
        if (!e->name[0]) roundtrip = 0; /* the writer refuses empty names */
        if (roundtrip && gm_st_writer_add(w, e->name, e->dtype, e->ndim, e->shape, e->data, 0) != GM_OK) __builtin_trap();
    }
    for (int64_t i = 0; i < gm_st_metadata_count(r); i++) {
        const char *k = gm_st_metadata_key(r, i), *v = gm_st_metadata_value(r, i);
        if (gm_st_metadata(r, k) != v) __builtin_trap();
        if (roundtrip && gm_st_writer_set_metadata(w, k, v) != GM_OK) __builtin_trap();
    }
    if (roundtrip) {
        uint8_t *buf = NULL;
        size_t len = 0;
        gm_st_reader *r2 = NULL;
        if (gm_st_writer_to_mem(w, &buf, &len) != GM_OK) __builtin_trap();
        if (gm_st_open_mem(buf, len, "rewrite", &r2) != GM_OK) __builtin_trap();
        if (gm_st_count(r2) != gm_st_count(r) || gm_st_metadata_count(r2) != gm_st_metadata_count(r)) __builtin_trap();
        for (int64_t i = 0; i < gm_st_count(r); i++) {
            const gm_st_info *a = gm_st_entry(r, i), *b = gm_st_find(r2, a->name);
            if (!b || b->dtype != a->dtype || b->ndim != a->ndim || b->nbytes != a->nbytes ||
                (a->nbytes && memcmp(a->data, b->data, (size_t)a->nbytes) != 0))
                __builtin_trap();
        }
        gm_st_close(r2);
        free(buf);
    }
    gm_st_writer_free(w);
    gm_st_close(r);
    return 0;
}
