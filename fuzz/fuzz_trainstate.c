/*
 * fuzz_trainstate.c — libFuzzer harness for the training-state reader (from
 * memory): on an accepted file, reads every float array and byte blob, the
 * usual int64 / string metadata, two rng streams and the optimizer config.
 */
#include "genmod/trainstate.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_ts_reader *r = NULL;
    if (gm_ts_open_mem(data, size, "fuzz.state", &r) != GM_OK) return 0;
    const gm_st_reader *st = gm_ts_tensors(r);
    for (int64_t i = 0; i < gm_st_count(st); i++) {
        const gm_st_info *e = gm_st_entry(st, i);
        void *buf = malloc((size_t)e->nbytes + 1);
        if (!buf) continue;
        int64_t n = gm_ts_floats_len(r, e->name);
        if (n >= 0 && gm_ts_get_floats(r, e->name, buf, n) != GM_OK) __builtin_trap();
        (void)gm_ts_get_bytes(r, e->name, buf, (size_t)e->numel);
        free(buf);
    }
    int64_t v;
    const char *s;
    gm_rng g;
    gm_optim_config c;
    (void)gm_ts_get_int64(r, "step", &v);
    (void)gm_ts_get_int64(r, "optimizer_step", &v);
    (void)gm_ts_get_string(r, "model_type", &s);
    (void)gm_ts_get_rng(r, "data", &g);
    (void)gm_ts_get_rng(r, "sample", &g);
    (void)gm_ts_get_optim_config(r, &c);
    gm_ts_close(r);
    return 0;
}
