/*
 * made.c — the `made` model (Germain et al. 2015): an MLP whose weights are
 * masked so that output d only sees inputs earlier in an ordering.
 *
 * Degrees: m_in(d) = position of d in the set's ordering (0..D-1); hidden
 * layer l draws m_l(u) uniformly in [min m_{l-1}, D-2]. Masks: hidden
 * M_l[u,v] = m_l(u) >= m_{l-1}(v); output M[d,u] = m_in(d) > m_L(u) (strict);
 * optional direct input→output connection M[d,j] = m_in(d) > m_in(j).
 * K mask sets ("--masks K"): with --order random each set has its own random
 * ordering (order-agnostic), otherwise they share the ordering and differ in
 * hidden degrees (connectivity-agnostic). Training picks one set per
 * minibatch (from the model's rng stream); log p(x) averages probabilities:
 * log((1/K) Σ_k p_k(x)) via logsumexp — never averaged logits.
 *
 * Parameters: "layers.<l>.weight" (H_l, H_{l-1}) with H_0 = D,
 * "layers.<l>.bias" (H_l), "out.weight" (D, H_L), "out.bias" (D), optional
 * "direct.weight" (D, D). Buffers (saved, so Python can rebuild the masks):
 * "degrees.in" (K, D) and "degrees.<l>" (K, H_l). ReLU hidden units.
 * Sampling computes every unit once, when its inputs are known: after
 * position p is drawn the layer-1 pre-activations take W1[:,d]·x_d, and the
 * units of degree p become final; one sample costs one forward pass.
 * What this is not: MADE for real-valued data (MADE-Gaussian / MAF).
 */
#include "models/ar_common.h"
#include "models/models_internal.h"
#include "kernels/vmath.h"
#include "genmod/ops.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MADE_MAX_LAYERS 8

static const gm_hparam made_hparams[] = {
    {"hidden", 's', "500", 0, 0, "hidden layer sizes, comma-separated (e.g. 500 or 8000,8000)"},
    {"masks", 'i', "1", 1, 4096, "number of mask sets K trained and averaged"},
    {"order", 's', "natural", 0, 0, "ordering: natural, reverse, random (one per mask set) or a file of D indices"},
    {"direct", 'i', "0", 0, 1, "1: add a masked direct input-to-output connection"},
};

typedef struct {
    int L;                        // hidden layers
    int64_t H[MADE_MAX_LAYERS + 1]; // H[0] = D, H[1..L]
    int K;                        // mask sets
    int direct;
    int p_w[MADE_MAX_LAYERS + 1], p_b[MADE_MAX_LAYERS + 1]; // layer l = 1..L, L+1 = out
    int p_dir, p_deg[MADE_MAX_LAYERS + 1];                  // p_deg[0] = degrees.in
    int cur;                      // set whose masks are built, -1 none
    float *mask[MADE_MAX_LAYERS + 2]; // [1..L] hidden, [L+1] out, [0] direct
    int32_t *row_len[MADE_MAX_LAYERS + 2]; // where each mask row's non-zeros end (gm_linear_masked_rows)
    int stair[MADE_MAX_LAYERS + 2];       // 1: that mask is all ones before row_len (passed as NULL)
    int perm;                     // 1: set `cur` runs in position order (see made_logits_t)
    int masks_built;              // 1: mask[] holds set `cur`'s masks
    int64_t *pos;                 // (D) position of each dimension in set `cur`'s ordering
    int64_t *order;               // (D) ordering of set `cur`
    float *degcopy;               // (D + Σ H_l) the degrees the masks were built from
} made_impl;

static int parse_hidden(const char *s, int64_t *H, int *L) {
    *L = 0;
    while (s && *s) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 1 || v > 1000000 || *L >= MADE_MAX_LAYERS) return 0;
        H[++*L] = v;
        s = end;
        if (*s == ',') s++;
        else if (*s) return 0;
    }
    return *L > 0;
}

static gm_status made_declare(gm_model *m) {
    made_impl *im = calloc(1, sizeof *im);
    m->impl = im;
    if (!im) return gm_error(GM_ERR_NOMEM, "made: out of memory");
    int64_t D = m->dim;
    const char *hs = gm_config_get(&m->config, "hidden");
    if (!parse_hidden(hs, im->H, &im->L))
        return gm_error(GM_ERR_ARG, "--hidden: expected 1 to %d comma-separated sizes in 1..1000000, got \"%s\"",
                        MADE_MAX_LAYERS, hs ? hs : "");
    if (D < 2) return gm_error(GM_ERR_ARG, "made: needs at least 2 dimensions, the data has %lld", (long long)D);
    im->H[0] = D;
    int64_t nweights = 0;
    for (int l = 1; l <= im->L + 1; l++) nweights += (l <= im->L ? im->H[l] : D) * im->H[l - 1];
    if (nweights > ((int64_t)1 << 32))
        return gm_error(GM_ERR_ARG, "--hidden: %s with %lld inputs needs %lld weights, too many", hs, (long long)D,
                        (long long)nweights);
    im->K = (int)gm_config_int(&m->config, "masks", 1);
    im->direct = (int)gm_config_int(&m->config, "direct", 0);
    im->cur = -1;
    char name[GM_PARAM_NAME_MAX];
    for (int l = 1; l <= im->L + 1; l++) {
        int64_t out = l <= im->L ? im->H[l] : D, in = im->H[l - 1];
        int64_t ws[2] = {out, in}, bs[1] = {out};
        if (l <= im->L) snprintf(name, sizeof name, "layers.%d.weight", l - 1);
        else snprintf(name, sizeof name, "out.weight");
        if ((im->p_w[l] = gm_params_add(&m->params, name, 2, ws, 1)) < 0) return GM_ERR_ARG;
        if (l <= im->L) snprintf(name, sizeof name, "layers.%d.bias", l - 1);
        else snprintf(name, sizeof name, "out.bias");
        if ((im->p_b[l] = gm_params_add(&m->params, name, 1, bs, 1)) < 0) return GM_ERR_ARG;
    }
    im->p_dir = -1;
    if (im->direct) {
        int64_t ds[2] = {D, D};
        if ((im->p_dir = gm_params_add(&m->params, "direct.weight", 2, ds, 1)) < 0) return GM_ERR_ARG;
    }
    for (int l = 0; l <= im->L; l++) {
        int64_t s[2] = {im->K, im->H[l]};
        if (l == 0) snprintf(name, sizeof name, "degrees.in");
        else snprintf(name, sizeof name, "degrees.%d", l - 1);
        if ((im->p_deg[l] = gm_params_add(&m->params, name, 2, s, 0)) < 0) return GM_ERR_ARG;
    }
    for (int l = 1; l <= im->L + 1; l++) {
        int64_t out = l <= im->L ? im->H[l] : D;
        if (!(im->mask[l] = malloc((size_t)(out * im->H[l - 1]) * sizeof(float))) ||
            !(im->row_len[l] = malloc((size_t)out * sizeof(int32_t))))
            return gm_error(GM_ERR_NOMEM, "made: out of memory");
    }
    if (im->direct && (!(im->mask[0] = malloc((size_t)(D * D) * sizeof(float))) ||
                       !(im->row_len[0] = malloc((size_t)D * sizeof(int32_t)))))
        return gm_error(GM_ERR_NOMEM, "made: out of memory");
    int64_t ndeg = 0;
    for (int l = 0; l <= im->L; l++) ndeg += im->H[l];
    if (!(im->order = malloc((size_t)D * sizeof *im->order)) || !(im->pos = malloc((size_t)D * sizeof *im->pos)) ||
        !(im->degcopy = malloc((size_t)ndeg * sizeof(float))))
        return gm_error(GM_ERR_NOMEM, "made: out of memory");
    return GM_OK;
}

static void made_destroy(gm_model *m) {
    made_impl *im = m->impl;
    if (im) {
        for (int l = 0; l < MADE_MAX_LAYERS + 2; l++) {
            free(im->mask[l]);
            free(im->row_len[l]);
        }
        free(im->order);
        free(im->pos);
        free(im->degcopy);
        free(im);
    }
    m->impl = NULL;
}

/* Degrees of set k, layer l (H[l] floats). */
static float *deg(gm_model *m, int l, int k) {
    made_impl *im = m->impl;
    return gm_params_get(&m->params, im->p_deg[l])->data + (int64_t)k * im->H[l];
}

/* Checks the stored degrees of set k (they come from a file on load):
 * integers in range, the input degrees a permutation. Fills im->order. */
static gm_status check_degrees(gm_model *m, int k) {
    made_impl *im = m->impl;
    int64_t D = m->dim;
    const float *d0 = deg(m, 0, k);
    for (int64_t p = 0; p < D; p++) im->order[p] = -1;
    for (int64_t d = 0; d < D; d++) {
        if (!(d0[d] >= 0 && d0[d] < (float)D && d0[d] == floorf(d0[d])))
            return gm_error(GM_ERR_FORMAT, "made: degrees.in[%d][%lld] = %g is not a position in 0..%lld", k,
                            (long long)d, (double)d0[d], (long long)D - 1);
    }
    for (int64_t d = 0; d < D; d++) {
        int64_t p = (int64_t)d0[d];
        if (im->order[p] >= 0)
            return gm_error(GM_ERR_FORMAT, "made: degrees.in[%d] gives position %lld to dimensions %lld and %lld: "
                            "not a permutation", k, (long long)p, (long long)im->order[p], (long long)d);
        im->order[p] = d;
    }
    char what[64];
    snprintf(what, sizeof what, "made: degrees.in of mask set %d", k);
    gm_status st = gm_ar_order_check(im->order, D, what);
    for (int l = 1; l <= im->L && st == GM_OK; l++) {
        const float *dl = deg(m, l, k);
        for (int64_t u = 0; u < im->H[l]; u++)
            if (!(dl[u] >= 0 && dl[u] <= (float)(D - 2) && dl[u] == floorf(dl[u])))
                return gm_error(GM_ERR_FORMAT, "made: degrees.%d[%d][%lld] = %g is not in 0..%lld", l - 1, k,
                                (long long)u, (double)dl[u], (long long)D - 2);
    }
    return st;
}

/* 1 if set k's degrees equal im->degcopy; with `save`, copies them there. */
static int same_degrees(gm_model *m, int k, int save) {
    made_impl *im = m->impl;
    int same = 1;
    float *c = im->degcopy;
    for (int l = 0; l <= im->L; l++) {
        size_t n = (size_t)im->H[l] * sizeof(float);
        if (save) memcpy(c, deg(m, l, k), n);
        else if (same) same = memcmp(c, deg(m, l, k), n) == 0;
        c += im->H[l];
    }
    return same;
}

/* Writes set k's masks (natural index space). */
static void build_masks(gm_model *m, int k) {
    made_impl *im = m->impl;
    int64_t D = m->dim;
    for (int l = 1; l <= im->L + 1; l++) {
        const float *din = deg(m, l - 1, k);
        int64_t out = l <= im->L ? im->H[l] : D, in = im->H[l - 1];
        const float *dout = l <= im->L ? deg(m, l, k) : deg(m, 0, k);
        float *M = im->mask[l];
        for (int64_t u = 0; u < out; u++)
            for (int64_t v = 0; v < in; v++)
                M[u * in + v] = l <= im->L ? (dout[u] >= din[v] ? 1.0f : 0.0f) : (dout[u] > din[v] ? 1.0f : 0.0f);
    }
    if (im->direct) {
        const float *d0 = deg(m, 0, k);
        for (int64_t d = 0; d < D; d++)
            for (int64_t j = 0; j < D; j++) im->mask[0][d * D + j] = d0[d] > d0[j] ? 1.0f : 0.0f;
    }
    im->masks_built = 1;
}

/* Row lengths of the built masks, and whether each is a staircase. */
static void scan_masks(gm_model *m) {
    made_impl *im = m->impl;
    int64_t D = m->dim;
    for (int l = im->direct ? 0 : 1; l <= im->L + 1; l++) {
        int64_t out = l == 0 || l == im->L + 1 ? D : im->H[l], in = l == 0 ? D : im->H[l - 1];
        gm_mask_row_lengths(im->mask[l], out, in, im->row_len[l]);
        im->stair[l] = 1; /* every row ones then zeros? */
        for (int64_t u = 0; u < out && im->stair[l]; u++)
            for (int64_t v = 0; v < im->row_len[l][u]; v++)
                if (im->mask[l][u * in + v] != 1.0f) { im->stair[l] = 0; break; }
    }
}

/* Prepares set k (im->order, im->pos, row lengths) unless already prepared
 * from the same degrees (the buffers may change: a checkpoint load, a
 * caller). With every hidden layer sorted by degree (as genmod draws them)
 * all masks are staircases in position order, known in closed form from the
 * degrees: no mask is built (made_sample_u builds them when it needs them).
 * In another ordering than the natural one, im->perm then runs the set in
 * position order (made_logits_t). Unsorted degrees (a foreign checkpoint):
 * the masks are built and scanned. */
static gm_status use_set(gm_model *m, int k) {
    made_impl *im = m->impl;
    if (im->cur == k && same_degrees(m, k, 0)) return GM_OK;
    im->cur = -1;
    gm_status st = check_degrees(m, k);
    if (st != GM_OK) return st;
    int64_t D = m->dim;
    int natural = 1, sorted = 1;
    for (int64_t p = 0; p < D; p++) natural &= im->order[p] == p;
    for (int l = 1; l <= im->L; l++)
        for (int64_t u = 1; u < im->H[l]; u++) sorted &= deg(m, l, k)[u] >= deg(m, l, k)[u - 1];
    im->perm = !natural && sorted;
    im->masks_built = 0;
    if (!sorted) {
        build_masks(m, k);
        scan_masks(m);
    } else {
        const float *d0 = deg(m, 0, k), *d1 = deg(m, 1, k), *dL = deg(m, im->L, k);
        for (int64_t d = 0; d < D; d++) im->pos[d] = (int64_t)d0[d];
        for (int64_t u = 0; u < im->H[1]; u++) im->row_len[1][u] = (int32_t)d1[u] + 1; /* positions 0..m(u) */
        for (int l = 2; l <= im->L; l++) { /* unit u of layer l sees the units of layer l-1 with degree <= m(u) */
            const float *dp = deg(m, l - 1, k), *dl = deg(m, l, k);
            int64_t v = 0;
            for (int64_t u = 0; u < im->H[l]; u++) {
                while (v < im->H[l - 1] && dp[v] <= dl[u]) v++;
                im->row_len[l][u] = (int32_t)v;
            }
        }
        int64_t h = 0;
        for (int64_t p = 0; p < D; p++) { /* output position p sees the units of degree < p */
            while (h < im->H[im->L] && dL[h] < (float)p) h++;
            im->row_len[im->L + 1][p] = (int32_t)h;
        }
        if (im->direct)
            for (int64_t p = 0; p < D; p++) im->row_len[0][p] = (int32_t)p;
        for (int l = 0; l <= im->L + 1; l++) im->stair[l] = 1;
    }
    same_degrees(m, k, 1);
    im->cur = k;
    return GM_OK;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Hidden degrees of set k for layers 1..L, each layer sorted; returns 0 if some hidden unit has
 * no outgoing connection (then the caller draws again). */
static int draw_hidden(gm_model *m, int k, gm_rng *rng) {
    made_impl *im = m->impl;
    int64_t D = m->dim;
    for (int l = 1; l <= im->L; l++) {
        const float *prev = deg(m, l - 1, k);
        float lo = prev[0];
        for (int64_t v = 1; v < im->H[l - 1]; v++) lo = prev[v] < lo ? prev[v] : lo;
        float *dl = deg(m, l, k);
        for (int64_t u = 0; u < im->H[l]; u++) dl[u] = lo + (float)gm_rng_randint(rng, (int64_t)(D - 1 - lo));
        /* Units are exchangeable, so store them by increasing degree: with the
         * natural order every mask is then a staircase whose zero part the
         * masked GEMMs skip (src/ops/linear_blocks.c). */
        qsort(dl, (size_t)im->H[l], sizeof *dl, cmp_float);
    }
    /* every hidden unit must reach the next layer (the output layer's last
     * position D-1 exceeds every hidden degree, so layer L always does) */
    for (int l = 1; l < im->L; l++) {
        const float *dl = deg(m, l, k), *dn = deg(m, l + 1, k);
        float mx = dn[0];
        for (int64_t v = 1; v < im->H[l + 1]; v++) mx = dn[v] > mx ? dn[v] : mx;
        for (int64_t u = 0; u < im->H[l]; u++)
            if (dl[u] > mx) return 0;
    }
    return 1;
}

/* Weights and biases ~ U(±1/√fan_in) (torch.nn.Linear's default), direct 0;
 * degrees for every set. */
static gm_status made_init(gm_model *m, gm_rng *rng) {
    made_impl *im = m->impl;
    int64_t D = m->dim;
    for (int l = 1; l <= im->L + 1; l++) {
        float bound = (float)(1.0 / sqrt((double)im->H[l - 1]));
        gm_params_init_uniform(&m->params, im->p_w[l], rng, bound);
        gm_params_init_uniform(&m->params, im->p_b[l], rng, bound);
    }
    if (im->direct) gm_params_init_const(&m->params, im->p_dir, 0.0f);
    const char *spec = gm_config_get(&m->config, "order");
    int64_t *order = malloc((size_t)D * sizeof *order);
    if (!order) return gm_error(GM_ERR_NOMEM, "made: out of memory");
    gm_status st = GM_OK;
    for (int k = 0; k < im->K && st == GM_OK; k++) {
        if (k == 0 || (spec && !strcmp(spec, "random"))) st = gm_ar_order_from_spec(spec, D, rng, order);
        float *d0 = deg(m, 0, k);
        for (int64_t p = 0; p < D && st == GM_OK; p++) d0[order[p]] = (float)p;
        int tries = 0;
        while (st == GM_OK && !draw_hidden(m, k, rng))
            if (++tries == 1000)
                st = gm_error(GM_ERR_ARG, "made: 1000 draws of hidden degrees left a unit disconnected; "
                                          "use wider or fewer hidden layers");
    }
    free(order);
    im->cur = -1;
    return st;
}

/* out.bias = logit of the smoothed training mean. */
static gm_status made_init_data(gm_model *m, const float *x, int64_t n, gm_rng *rng) {
    (void)rng;
    made_impl *im = m->impl;
    gm_ar_bias_from_data(gm_params_get(&m->params, im->p_b[im->L + 1])->data, x, n, m->dim);
    return GM_OK;
}

/* The mask of layer l as gm_linear_masked_rows takes it: NULL for a staircase. */
#define MASK(im, l) ((im)->stair[l] ? NULL : (im)->mask[l])

/* Logits (B, D) of the current set on ctx's tape. With im->perm the inputs,
 * the first layer's columns and the output rows are gathered into position
 * order (where those masks are staircases: ~half of each GEMM is skipped) and
 * the logits gathered back; index_select's backward scatters the weight
 * gradients to their own columns/rows. */
static gm_tensor *made_logits_t(gm_model *m, gm_ctx *ctx, gm_tensor *x) {
    made_impl *im = m->impl;
    gm_params *P = &m->params;
    int64_t D = m->dim;
    int L = im->L;
    gm_tensor *w1 = gm_params_get(P, im->p_w[1]), *wo = gm_params_get(P, im->p_w[L + 1]);
    gm_tensor *bo = gm_params_get(P, im->p_b[L + 1]), *xin = x;
    if (im->perm) {
        xin = gm_index_select(ctx, x, 1, im->order, D);    // (B, D) in position order
        w1 = gm_index_select(ctx, w1, 1, im->order, D);    // (H1, D)
        wo = gm_index_select(ctx, wo, 0, im->order, D);    // (D, H_L)
        bo = gm_index_select(ctx, bo, 0, im->order, D);    // (D)
    }
    gm_tensor *h = xin;
    for (int l = 1; l <= L; l++)
        h = gm_relu(ctx, gm_linear_masked_rows(ctx, h, l == 1 ? w1 : gm_params_get(P, im->p_w[l]), MASK(im, l),
                                               im->row_len[l], gm_params_get(P, im->p_b[l])));
    gm_tensor *out = gm_linear_masked_rows(ctx, h, wo, MASK(im, L + 1), im->row_len[L + 1], bo);
    if (im->direct) {
        gm_tensor *wd = gm_params_get(P, im->p_dir);
        if (im->perm) wd = gm_index_select(ctx, gm_index_select(ctx, wd, 0, im->order, D), 1, im->order, D);
        out = gm_add(ctx, out, gm_linear_masked_rows(ctx, xin, wd, MASK(im, 0), im->row_len[0], NULL));
    }
    return im->perm ? gm_index_select(ctx, out, 1, im->pos, D) : out;
}

/* The ar_ops logits_t: set k's logits graph for x (B, D). */
static gm_tensor *made_logits_set(gm_model *m, gm_ctx *ctx, int k, gm_tensor *x) {
    if (!x) return NULL;
    if (x->ndim != 2 || x->shape[1] != m->dim)
        return gm_ctx_fail(ctx, GM_ERR_SHAPE, "made: batch must be (B, %lld)", (long long)m->dim);
    gm_status st = use_set(m, k);
    if (st != GM_OK) return gm_ctx_fail(ctx, st, "%s", gm_last_error());
    return made_logits_t(m, ctx, x);
}

static int made_n_sets(gm_model *m) { return ((made_impl *)m->impl)->K; }

static gm_status made_order(gm_model *m, int k, int64_t *order) {
    gm_status st = use_set(m, k);
    if (st == GM_OK) memcpy(order, ((made_impl *)m->impl)->order, (size_t)m->dim * sizeof *order);
    return st;
}


/* The fast sampler of set k (see the file header): rows in tiles of
 * MADE_TILE so each weight row is read once per tile, OpenMP over tiles.
 * Masked weights are formed once per call: W1ᵀ (D, H1) so a drawn x_d adds
 * one contiguous row, hidden W_l (H_l, H_{l-1}), out (D, H_L), direct (D, D). */
#define MADE_TILE 8
static gm_status made_sample_u(gm_model *m, int k, const float *U, int64_t n, int64_t n_obs, float *x) {
    gm_status st = use_set(m, k);
    if (st != GM_OK) return st;
    made_impl *im = m->impl;
    if (!im->masks_built) build_masks(m, k);
    gm_params *P = &m->params;
    int64_t D = m->dim, L = im->L, H1 = im->H[1], HL = im->H[L];
    const int64_t *order = im->order;
    /* masked weights, and units of each hidden layer sorted by degree */
    size_t nw = 0;
    for (int l = 1; l <= L + 1; l++) nw += (size_t)((l <= L ? im->H[l] : D) * im->H[l - 1]);
    if (im->direct) nw += (size_t)(D * D);
    int64_t nunits = 0;
    for (int l = 1; l <= L; l++) nunits += im->H[l] + D;
    float *Wm = malloc(nw * sizeof *Wm);
    int64_t *ulist = malloc((size_t)nunits * sizeof *ulist); // per layer: H_l units by degree, then D+... starts
    if (!Wm || !ulist) { free(Wm); free(ulist); return gm_error(GM_ERR_NOMEM, "made sample: out of memory"); }
    float *Wl[MADE_MAX_LAYERS + 2];
    int64_t *units[MADE_MAX_LAYERS + 1], *start[MADE_MAX_LAYERS + 1]; // start[l][p]..start[l][p+1]: degree p
    float *w = Wm;
    for (int l = 1; l <= L + 1; l++) {
        int64_t out = l <= L ? im->H[l] : D, in = im->H[l - 1];
        const float *src = gm_params_get(P, im->p_w[l])->data, *M = im->mask[l];
        Wl[l] = w;
        if (l == 1) /* transposed: (D, H1) */
            for (int64_t u = 0; u < out; u++)
                for (int64_t v = 0; v < in; v++) w[v * out + u] = src[u * in + v] * M[u * in + v];
        else
            for (int64_t i = 0; i < out * in; i++) w[i] = src[i] * M[i];
        w += out * in;
    }
    Wl[0] = NULL;
    if (im->direct) {
        const float *src = gm_params_get(P, im->p_dir)->data;
        for (int64_t i = 0; i < D * D; i++) w[i] = src[i] * im->mask[0][i];
        Wl[0] = w;
    }
    int64_t *ul = ulist;
    for (int l = 1; l <= L; l++) { /* counting sort of units by degree 0..D-2 */
        const float *dl = deg(m, l, k);
        units[l] = ul;
        start[l] = ul + im->H[l];
        int64_t *cnt = start[l];
        memset(cnt, 0, (size_t)D * sizeof *cnt);
        for (int64_t u = 0; u < im->H[l]; u++) cnt[(int64_t)dl[u] + 1]++;
        for (int64_t p = 1; p < D; p++) cnt[p] += cnt[p - 1];
        int64_t *fill = malloc((size_t)D * sizeof *fill);
        if (!fill) { free(Wm); free(ulist); return gm_error(GM_ERR_NOMEM, "made sample: out of memory"); }
        memcpy(fill, cnt, (size_t)D * sizeof *fill);
        for (int64_t u = 0; u < im->H[l]; u++) units[l][fill[(int64_t)dl[u]]++] = u;
        free(fill);
        ul += im->H[l] + D;
    }
    int64_t hsum = 0;
    for (int l = 1; l <= L; l++) hsum += im->H[l];
    int64_t ntile = (n + MADE_TILE - 1) / MADE_TILE;
    float *scratch = malloc((size_t)(ntile > 0 ? ntile : 1) * MADE_TILE * (size_t)(H1 + hsum) * sizeof *scratch);
    if (!scratch) { free(Wm); free(ulist); return gm_error(GM_ERR_NOMEM, "made sample: out of memory"); }
    const float *bl[MADE_MAX_LAYERS + 2]; // biases of layers 1..L+1 (L+1 = out)
    for (int l = 1; l <= L + 1; l++) bl[l] = gm_params_get(P, im->p_b[l])->data;
    const float *b1 = bl[1], *bo = bl[L + 1];
#pragma omp parallel for schedule(static) if (n * D * H1 > 1000000)
    for (int64_t t = 0; t < ntile; t++) {
        float *a1 = scratch + t * MADE_TILE * (H1 + hsum); // (TILE, H1) layer-1 pre-activations
        float *h[MADE_MAX_LAYERS + 1];                       // (TILE, H_l) final activations
        h[1] = a1 + MADE_TILE * H1;
        for (int l = 2; l <= L; l++) h[l] = h[l - 1] + MADE_TILE * im->H[l - 1];
        int64_t r0 = t * MADE_TILE, R = n - r0 < MADE_TILE ? n - r0 : MADE_TILE;
        for (int64_t r = 0; r < R; r++) {
            memcpy(a1 + r * H1, b1, (size_t)H1 * sizeof *a1);
            for (int l = 1; l <= L; l++) memset(h[l] + r * im->H[l], 0, (size_t)im->H[l] * sizeof(float));
            for (int64_t p = n_obs; p < D; p++) x[(r0 + r) * D + order[p]] = 0.0f;
        }
        for (int64_t p = 0; p < D; p++) {
            if (p >= 1)
                for (int l = 1; l <= L; l++) /* units of degree p-1 are now final */
                    for (int64_t q = start[l][p - 1]; q < start[l][p]; q++) {
                        int64_t u = units[l][q], Hl = im->H[l], Hp = im->H[l - 1];
                        float bias = bl[l][u];
                        for (int64_t r = 0; r < R; r++) {
                            float v = l == 1 ? a1[r * H1 + u] : bias + gm_vdot(Wl[l] + u * Hp, h[l - 1] + r * Hp, Hp);
                            h[l][r * Hl + u] = v > 0.0f ? v : 0.0f;
                        }
                    }
            int64_t d = order[p];
            for (int64_t r = 0; r < R; r++) {
                float *xr = x + (r0 + r) * D;
                if (p >= n_obs) {
                    float lg = bo[d] + gm_vdot(Wl[L + 1] + d * HL, h[L] + r * HL, HL);
                    if (Wl[0]) lg += gm_vdot(Wl[0] + d * D, xr, D);
                    xr[d] = gm_ar_draw(U[(r0 + r) * D + p], lg);
                }
                if (xr[d] != 0.0f) {
                    const float *wd = Wl[1] + d * H1;
                    float *ar = a1 + r * H1, xv = xr[d];
                    for (int64_t j = 0; j < H1; j++) ar[j] += wd[j] * xv;
                }
            }
        }
    }
    free(scratch);
    free(Wm);
    free(ulist);
    return GM_OK;
}

static const gm_ar_ops made_ar = {made_n_sets, made_order, made_logits_set, made_sample_u};

const gm_model_def gm_model_def_made = {
    .name = "made",
    .summary = "MADE: masked autoencoder (any depth, K mask sets / orderings), exact log-likelihood",
    .hparams = made_hparams,
    .n_hparams = (int)(sizeof made_hparams / sizeof made_hparams[0]),
    .logp_kind = GM_LOGP_EXACT,
    .binary_data = 1,
    .declare = made_declare,
    .init = made_init,
    .loss = gm_ar_loss,
    .log_prob = gm_ar_log_prob,
    .sample = gm_ar_sample,
    .destroy = made_destroy,
    .init_data = made_init_data,
    .sample_cond = gm_ar_sample_cond,
    .n_masks = made_n_sets,
    .family_ops = &made_ar,
};
