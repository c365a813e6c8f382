/*
 * flow_internal.h — what the files of src/flows share (not public API).
 */
#ifndef GENMOD_FLOW_INTERNAL_H
#define GENMOD_FLOW_INTERNAL_H

#include "flows/flow.h"

/* Declares the conditioner's parameters "<prefix>.lin<i>.*" / ".conv<i>.*";
 * net->kind, n_in, n_out, hidden, depth must be set. */
gm_status gm_flow_net_declare(gm_params *p, gm_flow_net *net, const char *prefix);
/* torch-default uniform init of hidden layers, zero last layer. */
void gm_flow_net_init(gm_params *p, const gm_flow_net *net, gm_rng *rng);
/* The network applied to x: (B, n_in) -> (B, n_out) or (B, n_in, H, W) -> (B, n_out, H, W). */
gm_tensor *gm_flow_net_forward(gm_params *p, const gm_flow_net *net, gm_ctx *ctx, gm_tensor *x);

/* 1 if v (n) holds each of 0..n-1 exactly once (exact float indices, as a
 * permutation buffer stores them); idx (n) then gets the permutation
 * (inverse = 0: idx[i] = v[i]) or its inverse. 0 otherwise (idx clobbered). */
int gm_flow_perm_from_floats(const float *v, int n, int inverse, int64_t *idx);

/* Rational-quadratic spline of x (B, n) with parameters p (B, n*(3K-1)) from
 * the conditioner (flow_spline.c); forward or inverse; *ld (B) gets the
 * forward log|det| (may be NULL). */
gm_tensor *gm_flow_rqs(gm_ctx *ctx, gm_tensor *x, gm_tensor *p, int K, float bound, int inverse, gm_tensor **ld);

#endif
