/*
 * flow_nets.c — the conditioner networks of coupling layers: an MLP for
 * vector data and a convolutional residual net for images.
 *
 * MLP:    n_in -> [linear, ReLU] x depth (width hidden) -> linear -> n_out.
 *         Parameters "<prefix>.lin<i>.weight" (out, in) and ".bias" (out).
 * ResNet: 3x3 conv n_in -> hidden, depth blocks h += conv(relu(conv(relu(h)))),
 *         ReLU, 3x3 conv hidden -> n_out (padding 1, spatial size kept).
 *         Parameters "<prefix>.conv<i>.weight" (out, in, 3, 3) and ".bias".
 * Hidden layers use torch's default initialisation (uniform ±1/sqrt(fan_in));
 * the last layer is zero, so a coupling starts as the identity map.
 * What this is not: the coupling itself (flow_layers.c).
 */
#include "flows/flow_internal.h"
#include <math.h>
#include <stdio.h>

gm_status gm_flow_net_declare(gm_params *p, gm_flow_net *net, const char *prefix) {
    int conv = net->kind == GM_NET_RESNET;
    net->n_layers = conv ? 2 + 2 * net->depth : net->depth + 1;
    net->p0 = -1;
    for (int l = 0; l < net->n_layers; l++) {
        int in = l == 0 ? net->n_in : net->hidden;
        int out = l == net->n_layers - 1 ? net->n_out : net->hidden;
        char nm[GM_PARAM_NAME_MAX];
        int64_t ws[4] = {out, in, 3, 3}, bs[1] = {out};
        snprintf(nm, sizeof nm, "%s.%s%d.weight", prefix, conv ? "conv" : "lin", l);
        int iw = gm_params_add(p, nm, conv ? 4 : 2, ws, 1);
        snprintf(nm, sizeof nm, "%s.%s%d.bias", prefix, conv ? "conv" : "lin", l);
        int ib = gm_params_add(p, nm, 1, bs, 1);
        if (iw < 0 || ib < 0) return GM_ERR_ARG;
        if (l == 0) net->p0 = iw;
        if (iw != net->p0 + 2 * l || ib != iw + 1) return gm_error(GM_ERR_ARG, "%s: parameters not contiguous", prefix);
    }
    return GM_OK;
}

void gm_flow_net_init(gm_params *p, const gm_flow_net *net, gm_rng *rng) {
    int conv = net->kind == GM_NET_RESNET;
    for (int l = 0; l < net->n_layers; l++) {
        int iw = net->p0 + 2 * l, last = l == net->n_layers - 1;
        int in = l == 0 ? net->n_in : net->hidden;
        float bound = (float)(1.0 / sqrt((double)in * (conv ? 9.0 : 1.0)));
        if (last) {
            gm_params_init_const(p, iw, 0.0f);
            gm_params_init_const(p, iw + 1, 0.0f);
        } else {
            gm_params_init_uniform(p, iw, rng, bound);
            gm_params_init_uniform(p, iw + 1, rng, bound);
        }
    }
}

gm_tensor *gm_flow_net_forward(gm_params *p, const gm_flow_net *net, gm_ctx *ctx, gm_tensor *x) {
    if (net->kind == GM_NET_MLP) {
        gm_tensor *h = x; // (B, n_in)
        for (int l = 0; l < net->n_layers; l++) {
            h = gm_linear(ctx, h, gm_params_get(p, net->p0 + 2 * l), gm_params_get(p, net->p0 + 2 * l + 1));
            if (l < net->n_layers - 1) h = gm_relu(ctx, h); // (B, hidden)
        }
        return h; // (B, n_out)
    }
    gm_conv_params cp = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1, .dil_h = 1, .dil_w = 1};
    /* conv2d_fused(in, res, relu) = res + conv(relu(in)): the ReLUs and the
     * residual adds ride along with the convolutions */
#define W_(l) gm_params_get(p, net->p0 + 2 * (l))
#define B_(l) gm_params_get(p, net->p0 + 2 * (l) + 1)
    gm_tensor *h = gm_conv2d(ctx, x, W_(0), B_(0), cp); // (B, hidden, H, W)
    for (int b = 0; b < net->depth; b++) {
        gm_tensor *r = gm_conv2d_fused(ctx, h, W_(1 + 2 * b), B_(1 + 2 * b), NULL, cp, 1);
        h = gm_conv2d_fused(ctx, r, W_(2 + 2 * b), B_(2 + 2 * b), h, cp, 1);  // h + conv(relu(r))
    }
    return gm_conv2d_fused(ctx, h, W_(net->n_layers - 1), B_(net->n_layers - 1), NULL, cp, 1); // (B, n_out, H, W)
#undef W_
#undef B_
}
