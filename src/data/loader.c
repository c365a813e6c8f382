/*
 * loader.c — minibatch iterator over one dataset split.
 *
 * The order of epoch e is a function of (seed, e) only: a Fisher-Yates
 * permutation from gm_rng seeded with (seed ^ mix(e), GM_STREAM_DATA), or file
 * order without shuffling. So the state (epoch, pos, seed) is all a training
 * state file needs to resume mid-epoch with identical batches. Dynamic
 * binarization uses gm_binarize_row(seed, epoch, row), also position-free.
 * Not here: prefetching threads or augmentation.
 */
#include "data/data_internal.h"
#include <stdlib.h>
#include <string.h>

gm_status gm_loader_init(gm_loader *L, const gm_dataset *ds, int64_t batch, const gm_loader_opts *opts) {
    memset(L, 0, sizeof *L);
    if (!ds || ds->n < 0 || (ds->n > 0 && !ds->x)) return gm_error(GM_ERR_ARG, "loader: no dataset");
    if (batch < 1) return gm_error(GM_ERR_ARG, "loader: batch size must be >= 1, got %lld", (long long)batch);
    if (opts) L->opts = *opts;
    if (L->opts.drop_last && batch > ds->n)
        return gm_error(GM_ERR_ARG, "loader: batch size %lld > %lld rows of %s with drop_last gives no batches",
                        (long long)batch, (long long)ds->n, ds->name);
    L->ds = ds;
    L->batch = batch;
    L->st.seed = L->opts.seed;
    L->perm_epoch = -1;
    if (L->opts.shuffle && ds->n > 0) {
        L->perm = malloc((size_t)ds->n * sizeof *L->perm);
        if (!L->perm)
            return gm_error(GM_ERR_NOMEM, "loader: out of memory for a %lld-row permutation", (long long)ds->n);
    }
    return GM_OK;
}

void gm_loader_free(gm_loader *L) {
    if (!L) return;
    free(L->perm);
    memset(L, 0, sizeof *L);
}

static void ensure_perm(gm_loader *L) {
    if (!L->perm || L->perm_epoch == L->st.epoch) return;
    gm_rng r;
    gm_rng_seed(&r, L->st.seed ^ gm_data_mix64((uint64_t)L->st.epoch), GM_STREAM_DATA);
    gm_rng_permutation(&r, L->perm, L->ds->n);
    L->perm_epoch = L->st.epoch;
}

int64_t gm_loader_next(gm_loader *L, float *x, int64_t *y) {
    const gm_dataset *ds = L->ds;
    if (!ds) return 0;
    int64_t n = ds->n, B = L->batch, d = ds->d;
    if (L->st.pos >= n || (L->opts.drop_last && L->st.pos + B > n)) {
        L->st.epoch++;
        L->st.pos = 0;
        return 0;
    }
    ensure_perm(L);
    int64_t rows = n - L->st.pos < B ? n - L->st.pos : B;
    for (int64_t i = 0; i < rows; i++) {
        int64_t k = L->st.pos + i, idx = L->perm ? L->perm[k] : k;
        float *dst = x + i * d; /* (B, D) */
        memcpy(dst, ds->x + idx * d, (size_t)d * sizeof(float));
        if (L->opts.binarize) gm_binarize_row(dst, d, L->st.seed, L->st.epoch, idx);
        if (y && ds->y) y[i] = ds->y[idx];
    }
    L->st.pos += rows;
    return rows;
}

int64_t gm_loader_batches_per_epoch(const gm_loader *L) {
    if (!L->ds) return 0;
    int64_t n = L->ds->n, B = L->batch;
    return L->opts.drop_last ? n / B : (n + B - 1) / B;
}

gm_loader_state gm_loader_get_state(const gm_loader *L) { return L->st; }

gm_status gm_loader_set_state(gm_loader *L, gm_loader_state st) {
    if (!L->ds) return gm_error(GM_ERR_ARG, "loader: not initialised");
    if (st.epoch < 0 || st.pos < 0 || st.pos > L->ds->n)
        return gm_error(GM_ERR_ARG, "loader state: epoch %lld position %lld is outside 0..%lld rows of %s",
                        (long long)st.epoch, (long long)st.pos, (long long)L->ds->n, L->ds->name);
    L->st = st;
    L->opts.seed = st.seed;
    L->perm_epoch = -1;
    return GM_OK;
}
