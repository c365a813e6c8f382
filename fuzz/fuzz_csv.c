/*
 * fuzz_csv.c — libFuzzer harness for the CSV reader (plain or gzip bytes).
 * The first byte picks the header mode, the label column and binary-only.
 */
#include "genmod/data.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    gm_read_opts o = {0};
    o.csv_header = (int)(data[0] % 3) - 1;
    o.csv_label_col = (data[0] >> 2) & 3;
    o.binary = (data[0] >> 4) & 1;
    o.max_bytes = (size_t)1 << 22;
    gm_dataset ds;
    if (gm_read_csv_mem(data + 1, size - 1, "fuzz.csv", &o, &ds) == GM_OK) {
        volatile float s = 0;
        for (int64_t i = 0; i < ds.n * ds.d; i++) s += ds.x[i];
        if (ds.y) for (int64_t i = 0; i < ds.n; i++) s += (float)ds.y[i];
        (void)s;
        gm_dataset_free(&ds);
    }
    return 0;
}
