/*
 * golden.c — golden-file reader for tests: a thin wrapper over the library's
 * checked safetensors reader (src/io/st_read.c).
 */
#include "golden.h"
#include "genmod/error.h"
#include "genmod/safetensors.h"
#include <stdlib.h>

struct gm_golden { gm_st_reader *r; };

gm_golden *gm_golden_open(const char *path) {
    gm_st_reader *r = NULL;
    if (gm_st_open(path, &r) != GM_OK) return NULL;
    gm_golden *g = calloc(1, sizeof *g);
    if (!g) { gm_st_close(r); return NULL; }
    g->r = r;
    return g;
}

int gm_golden_read(gm_golden *g, const char *name, float *dst, int64_t n) {
    if (!g) return 0;
    return gm_st_read_f32_n(g->r, name, n, dst) == GM_OK;
}

void gm_golden_close(gm_golden *g) {
    if (!g) return;
    gm_st_close(g->r);
    free(g);
}
