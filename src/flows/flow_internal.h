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

/* Rational-quadratic spline of x (B, n) with parameters p (B, n*(3K-1)) from
 * the conditioner (flow_spline.c); forward or inverse; *ld (B) gets the
 * forward log|det| (may be NULL). */
gm_tensor *gm_flow_rqs(gm_ctx *ctx, gm_tensor *x, gm_tensor *p, int K, float bound, int inverse, gm_tensor **ld);

#endif
