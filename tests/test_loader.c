/*
 * test_loader.c — the minibatch iterator (order, drop_last, shuffling,
 * save/restore mid-epoch giving identical batches, dynamic binarization) and
 * the data transforms (binarize, dequantize, logit with its log-det checked
 * against a numerical derivative in double, affine).
 */
#include "genmod/data.h"
#include "testutil.h"
#include <string.h>

static void make_ds(gm_dataset *ds, int64_t n, int64_t d) {
    gm_dataset_alloc(ds, n, d, 1);
    for (int64_t i = 0; i < n; i++) {
        ds->y[i] = i;
        for (int64_t j = 0; j < d; j++) ds->x[i * d + j] = (float)(i * 10 + j);
    }
    snprintf(ds->name, sizeof ds->name, "toy");
}

static void test_order(void) {
    gm_dataset ds;
    make_ds(&ds, 10, 3);
    gm_loader L;
    float x[4 * 3];
    int64_t y[4];
    CHECK(gm_loader_init(&L, &ds, 4, NULL) == GM_OK, "init");
    CHECK(gm_loader_batches_per_epoch(&L) == 3, "3 batches per epoch");
    int64_t sizes[4], want[4] = {4, 4, 2, 0};
    int ok = 1;
    int64_t next_row = 0;
    for (int b = 0; b < 4; b++) {
        sizes[b] = gm_loader_next(&L, x, y);
        for (int64_t i = 0; i < sizes[b]; i++, next_row++) ok &= y[i] == next_row && x[i * 3 + 2] == (float)(next_row * 10 + 2);
    }
    CHECK(!memcmp(sizes, want, sizeof want) && ok, "file order 4,4,2 then 0: %lld %lld %lld %lld", (long long)sizes[0],
          (long long)sizes[1], (long long)sizes[2], (long long)sizes[3]);
    gm_loader_state st = gm_loader_get_state(&L);
    CHECK(st.epoch == 1 && st.pos == 0, "epoch advanced after the 0");
    CHECK(gm_loader_next(&L, x, NULL) == 4 && x[0] == 0.0f, "next epoch starts at row 0; y may be NULL");
    gm_loader_free(&L);

    gm_loader_opts o = {0};
    o.drop_last = 1;
    CHECK(gm_loader_init(&L, &ds, 4, &o) == GM_OK && gm_loader_batches_per_epoch(&L) == 2, "drop_last: 2 batches");
    CHECK(gm_loader_next(&L, x, y) == 4 && gm_loader_next(&L, x, y) == 4 && gm_loader_next(&L, x, y) == 0, "drop_last 4,4,0");
    gm_loader_free(&L);
    CHECK(gm_loader_init(&L, &ds, 11, &o) == GM_ERR_ARG, "drop_last with B > n refused");
    CHECK(gm_loader_init(&L, &ds, 0, NULL) == GM_ERR_ARG, "batch 0 refused");
    gm_dataset_free(&ds);
}

static void test_shuffle_and_resume(void) {
    gm_dataset ds;
    make_ds(&ds, 23, 2);
    gm_loader_opts o = {0};
    o.shuffle = 1;
    o.seed = 1234;
    gm_loader A;
    CHECK(gm_loader_init(&A, &ds, 5, &o) == GM_OK, "init shuffled");
    float x[5 * 2];
    int64_t y[5];
    int64_t order[3][23];
    for (int e = 0; e < 3; e++) {
        int64_t k = 0, got;
        while ((got = gm_loader_next(&A, x, y)) > 0)
            for (int64_t i = 0; i < got; i++) {
                order[e][k++] = y[i];
                CHECK(x[2 * i + 1] == (float)(y[i] * 10 + 1), "x row matches its label");
            }
        int seen[23] = {0}, perm = k == 23;
        for (int64_t i = 0; i < k && perm; i++) perm = !seen[order[e][i]]++;
        CHECK(perm, "epoch %d is a permutation of all 23 rows", e);
    }
    CHECK(memcmp(order[0], order[1], sizeof order[0]) != 0 && memcmp(order[1], order[2], sizeof order[0]) != 0,
          "a new order every epoch");
    gm_loader_free(&A);

    /* resume mid-epoch: run 2 epochs + 2 batches, save, continue 9 batches; a new
     * loader restored from the saved state must produce the same 9 batches */
    CHECK(gm_loader_init(&A, &ds, 5, &o) == GM_OK, "init A");
    for (int e = 0; e < 2; e++) while (gm_loader_next(&A, x, y) > 0) {}
    gm_loader_next(&A, x, y);
    gm_loader_next(&A, x, y);
    gm_loader_state saved = gm_loader_get_state(&A);
    CHECK(saved.epoch == 2 && saved.pos == 10 && saved.seed == 1234, "state (2, 10, 1234)");
    float xa[9][10], xb[9][10];
    int64_t na[9], nb[9];
    for (int b = 0; b < 9; b++) na[b] = gm_loader_next(&A, xa[b], NULL);
    gm_loader B;
    gm_loader_opts ob = o;
    ob.seed = 999; /* the restored state's seed wins */
    CHECK(gm_loader_init(&B, &ds, 5, &ob) == GM_OK && gm_loader_set_state(&B, saved) == GM_OK, "restore");
    for (int b = 0; b < 9; b++) nb[b] = gm_loader_next(&B, xb[b], NULL);
    int same = 1;
    for (int b = 0; b < 9; b++) same &= na[b] == nb[b] && !memcmp(xa[b], xb[b], (size_t)na[b] * 2 * sizeof(float));
    CHECK(same, "resumed loader gives identical batches across the epoch boundary");
    CHECK(na[0] == 5 && na[2] == 3 && na[3] == 0 && na[4] == 5, "sizes 5,5,3,0,5...: %lld %lld %lld %lld", (long long)na[0],
          (long long)na[1], (long long)na[2], (long long)na[3]);
    gm_loader_state bad = saved;
    bad.pos = 24;
    CHECK(gm_loader_set_state(&B, bad) == GM_ERR_ARG && strstr(gm_last_error(), "position 24"), "bad state: %s", gm_last_error());
    gm_loader_free(&A);
    gm_loader_free(&B);
    /* another seed, another order */
    o.seed = 1235;
    float xall[23 * 2];
    int64_t yall[23];
    CHECK(gm_loader_init(&A, &ds, 23, &o) == GM_OK && gm_loader_next(&A, xall, yall) == 23, "one full batch");
    CHECK(memcmp(yall, order[0], sizeof yall) != 0, "seed 1235 orders epoch 0 differently from seed 1234");
    gm_loader_free(&A);
    gm_dataset_free(&ds);
}

static void test_dynamic_binarization(void) {
    gm_dataset ds;
    gm_dataset_alloc(&ds, 8, 500, 0);
    for (int64_t i = 0; i < 8 * 500; i++) ds.x[i] = 0.3f;
    gm_loader_opts o = {0};
    o.binarize = 1;
    o.seed = 5;
    gm_loader A, B;
    static float a[8 * 500], b[8 * 500], c[8 * 500];
    gm_loader_init(&A, &ds, 8, &o);
    gm_loader_init(&B, &ds, 3, &o);
    gm_loader_next(&A, a, NULL);
    for (int k = 0; k < 3; k++) gm_loader_next(&B, b + k * 3 * 500, NULL); /* 3 + 3 + 2 rows */
    int binary = 1;
    double mean = 0;
    for (int i = 0; i < 8 * 500; i++) { binary &= a[i] == 0.0f || a[i] == 1.0f; mean += a[i]; }
    CHECK(binary, "values in {0,1}");
    CHECK_CLOSE(mean / 4000, 0.3, 0.04, 0, "fraction of ones ~ p (5 se = 0.036)");
    CHECK(!memcmp(a, b, sizeof a), "same rows, same epoch: same bits whatever the batch size");
    CHECK(ds.x[0] == 0.3f, "dataset untouched");
    gm_loader_next(&A, c, NULL); /* end of epoch 0 */
    gm_loader_next(&A, c, NULL);
    CHECK(memcmp(a, c, sizeof a) != 0, "epoch 1 draws fresh bits");
    gm_loader_free(&A);
    gm_loader_free(&B);
    gm_dataset_free(&ds);
}

static void test_transforms(void) {
    /* binarize */
    static float v[100000];
    gm_rng r;
    gm_rng_seed(&r, 3, GM_STREAM_NOISE);
    for (int i = 0; i < 100000; i++) v[i] = 0.3f;
    v[0] = -1.0f;
    v[1] = 2.0f;
    gm_binarize(v, 100000, &r);
    double s = 0;
    for (int i = 0; i < 100000; i++) s += v[i];
    CHECK(v[0] == 0.0f && v[1] == 1.0f, "clamped probabilities");
    CHECK_CLOSE(s / 100000, 0.3, 0.0075, 0, "Bernoulli mean (5 se)");

    /* dequantize: raw 0..255 and [0,1]-scaled give x in [k/256, (k+1)/256) */
    static float q[2560], q2[2560];
    for (int i = 0; i < 2560; i++) { q[i] = (float)(i % 256); q2[i] = (float)(i % 256) / 255.0f; }
    gm_dequantize(q, 2560, 0, &r);
    gm_dequantize(q2, 2560, 1, &r);
    int inside = 1;
    double um = 0;
    for (int i = 0; i < 2560; i++) {
        int k = i % 256;
        inside &= q[i] >= k / 256.0f && q[i] < (k + 1) / 256.0f && q2[i] >= k / 256.0f && q2[i] < (k + 1) / 256.0f;
        um += q[i] * 256.0 - k;
    }
    CHECK(inside, "dequantized values stay in their bins (and below 1)");
    CHECK_CLOSE(um / 2560, 0.5, 0.03, 0, "uniform noise mean (5 se = 0.028)");

    /* logit: log-det vs a central difference of y(x) in double */
    const int rows = 3, d = 5;
    float x[15], y[15];
    for (int i = 0; i < 15; i++) x[i] = (float)((i * 0.37 + 0.01) - floor(i * 0.37 + 0.01));
    x[3] = 0.0f;
    x[4] = 1.0f; /* endpoints are fine with alpha > 0 */
    const double alpha = 0.05;
    memcpy(y, x, sizeof x);
    double ld[3] = {0, 0, 0};
    CHECK(gm_logit_transform(y, rows, d, alpha, ld) == GM_OK, "logit");
    for (int rr = 0; rr < rows; rr++) {
        double num = 0;
        for (int j = 0; j < d; j++) {
            double x0 = x[rr * d + j], h = 1e-6;
            double f1 = alpha + (1 - 2 * alpha) * (x0 + h), f0 = alpha + (1 - 2 * alpha) * (x0 - h);
            double dy = (log(f1 / (1 - f1)) - log(f0 / (1 - f0))) / (2 * h);
            num += log(fabs(dy));
            double s0 = alpha + (1 - 2 * alpha) * x0;
            CHECK_CLOSE(y[rr * d + j], log(s0 / (1 - s0)), 1e-6, 1e-6, "logit value");
        }
        CHECK_CLOSE(ld[rr], num, 1e-6, 1e-7, "logit log-det vs numerical derivative");
    }
    double ldi[3] = {0, 0, 0};
    float back[15];
    memcpy(back, y, sizeof y);
    CHECK(gm_logit_inverse(back, rows, d, alpha, ldi) == GM_OK, "inverse");
    CHECK_ARRAYS("logit inverse round trip", back, x, 15, 1e-6, 0);
    for (int rr = 0; rr < rows; rr++) CHECK_CLOSE(ld[rr] + ldi[rr], 0.0, 1e-4, 0, "forward + inverse log-dets cancel");
    float z[2] = {0.0f, 0.5f};
    CHECK(gm_logit_transform(z, 1, 2, 0.0, NULL) == GM_ERR_ARG && z[0] == 0.0f && z[1] == 0.5f, "x=0 with alpha 0 refused, unchanged");
    CHECK(strstr(gm_last_error(), "outside (0,1)") != NULL, "message: %s", gm_last_error());
    CHECK(gm_logit_transform(z, 1, 2, 0.5, NULL) == GM_ERR_ARG, "alpha 0.5 refused");

    /* affine */
    float a[6] = {1, 2, 3, 4, 5, 6};
    double la[2] = {1, 0};
    CHECK(gm_affine_transform(a, 2, 3, -2.0, 0.5, la) == GM_OK && a[0] == -1.5f && a[5] == -11.5f, "affine values");
    CHECK_CLOSE(la[0], 1 + 3 * log(2.0), 1e-12, 0, "affine log-det accumulates");
    CHECK_CLOSE(la[1], 3 * log(2.0), 1e-12, 0, "affine log-det");
    CHECK(gm_affine_transform(a, 2, 3, 0.0, 0.0, NULL) == GM_ERR_ARG, "scale 0 refused");
}

int main(void) {
    test_order();
    test_shuffle_and_resume();
    test_dynamic_binarization();
    test_transforms();
    TEST_MAIN_END();
}
