/*
 * fuzz_amat.c — libFuzzer harness for the .amat reader (plain or gzip bytes).
 * The first byte picks the binary-only option; the cap keeps gzip bombs small.
 */
#include "genmod/data.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    gm_read_opts o = {0};
    o.binary = data[0] & 1;
    o.max_bytes = (size_t)1 << 22;
    gm_dataset ds;
    if (gm_read_amat_mem(data + 1, size - 1, "fuzz.amat", &o, &ds) == GM_OK) gm_dataset_free(&ds);
    return 0;
}
