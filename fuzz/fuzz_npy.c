/*
 * fuzz_npy.c — libFuzzer harness for the .npy reader (plain or gzip bytes).
 */
#include "genmod/data.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_npy a;
    if (gm_read_npy_mem(data, size, "fuzz.npy", &a) == GM_OK) {
        /* touch every element so a wrong numel shows up under ASan */
        volatile float s = 0;
        for (int64_t i = 0; i < a.numel; i++) s += a.f[i];
        (void)s;
        gm_npy_free(&a);
    }
    return 0;
}
