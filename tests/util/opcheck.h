/*
 * opcheck.h — the op test harness (in the spirit of ggml's test-backend-ops).
 *
 * One gm_opcase per op configuration. For each case the harness
 *   1. takes the inputs from the golden file (written by tests/golden/gen_ops_<family>.py
 *      from PyTorch), or generates them from the case's shapes/domains if
 *      the case has no golden entry (this counts as a failure unless .no_golden is set);
 *   2. runs forward + backward on every backend (REF = plain reference
 *      kernels, FAST = BLAS/OpenMP/SIMD; later CUDA) with the output gradient
 *      seed r, and checks FAST against REF;
 *   3. checks output and input gradients against PyTorch's;
 *   4. checks every differentiable input's gradient against central finite
 *      differences of L = Σ r·out, accumulated in double, with a 4-point
 *      stencil (error O(h^4)) at up to `fd_max` elements per input.
 * Kinks (relu at 0, max ties) are avoided through input domains.
 */
#ifndef GENMOD_OPCHECK_H
#define GENMOD_OPCHECK_H

#include "genmod/ops.h"

typedef enum gm_domain {
    GM_DOM_ANY = 0,   /* N(0,1) */
    GM_DOM_POS,       /* U(0.5, 2) */
    GM_DOM_UNIT,      /* U(0.05, 0.95) */
    GM_DOM_AWAY0,     /* ±U(0.2, 2): away from the kink at 0 */
    GM_DOM_BINARY     /* {0,1} constants (targets) */
} gm_domain;

typedef struct gm_opcase_input {
    int ndim;
    int64_t shape[GM_MAX_DIMS];
    gm_domain dom;
    int grad;          /* 1 = differentiable input, checked */
} gm_opcase_input;

/* Builds the op under test from its inputs. `arg` is the case's arg. */
typedef gm_tensor *(*gm_opcase_fn)(gm_ctx *ctx, gm_tensor **in, const void *arg);

typedef struct gm_opcase {
    const char *name;          /* golden keys: <name>.in<k>, <name>.r, <name>.out, <name>.g<k> */
    int n_in;
    gm_opcase_input in[GM_MAX_INPUTS];
    gm_opcase_fn build;
    const void *arg;
    double fd_eps;             /* 0 -> 1e-2 */
    double fd_tol;             /* 0 -> 2e-3 (relative to max(1, |g|)) */
    double golden_tol;         /* 0 -> 1e-5 abs + 1e-4 rel */
    int fd_max;                /* 0 -> 48 elements per input */
    int no_golden;             /* 1: PyTorch has no equivalent; FD + backend checks only */
} gm_opcase;

/* Runs all cases; returns the number of failed checks (also recorded in
 * testutil's counters). golden_rel is relative to the source dir, e.g.
 * "tests/golden/ops_unary.safetensors". */
int gm_opcheck_run(const gm_opcase *cases, int n, const char *golden_rel);

#endif
