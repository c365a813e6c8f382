/*
 * fuzz_idx.c — libFuzzer harness for the MNIST idx readers (images and
 * labels, plain or gzip bytes). The first byte picks raw pixels or [0,1].
 */
#include "genmod/data.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    gm_read_opts o = {0};
    o.raw = data[0] & 1;
    o.max_bytes = (size_t)1 << 22;
    gm_dataset ds;
    if (gm_read_idx_images_mem(data + 1, size - 1, "fuzz-idx3", &o, &ds) == GM_OK) gm_dataset_free(&ds);
    int64_t *y = NULL, n = 0;
    if (gm_read_idx_labels_mem(data + 1, size - 1, "fuzz-idx1", &y, &n) == GM_OK) free(y);
    return 0;
}
