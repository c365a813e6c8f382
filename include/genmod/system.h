/*
 * genmod/system.h — threads and a one-line description of the machine setup.
 *
 * What this is: the knobs every entry point (CLI, benchmarks, embedders) uses
 * to fix the thread count of both OpenMP loops and BLAS GEMMs, and the line the
 * CLI prints at start so a run's speed can be interpreted (threads, BLAS build
 * and core type, OPENBLAS_CORETYPE, ISA the binary was built for and the CPU
 * offers).
 */
#ifndef GENMOD_SYSTEM_H
#define GENMOD_SYSTEM_H
#include <stddef.h>
#include "genmod/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the threads used by OpenMP loops and by BLAS. n <= 0 means: the value
 * of $GENMOD_THREADS if set, else the number of online CPUs. Returns
 * GM_ERR_ARG for a non-numeric or out-of-range GENMOD_THREADS (1..1024). */
gm_status gm_set_threads(int n);
/* Threads currently in use (after gm_set_threads). */
int gm_get_threads(void);

/* Writes e.g. "threads 2 | BLAS OpenBLAS 0.3.21 ... (core Zen) |
 * OPENBLAS_CORETYPE unset | ISA built avx2 fma, cpu avx2 fma" into buf. */
void gm_system_info(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
