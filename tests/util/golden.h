/*
 * golden.h — read float arrays by name from a PyTorch-generated golden file
 * (safetensors, written by tests/golden/gen_*.py), for tests.
 */
#ifndef GENMOD_GOLDEN_H
#define GENMOD_GOLDEN_H
#include <stdint.h>

typedef struct gm_golden gm_golden;
/* NULL on error (message in gm_last_error()). */
gm_golden *gm_golden_open(const char *path);
/* Copies tensor `name` (any float dtype) into dst if it has exactly n elements; returns 1, else 0. */
int gm_golden_read(gm_golden *g, const char *name, float *dst, int64_t n);
void gm_golden_close(gm_golden *g);
#endif
