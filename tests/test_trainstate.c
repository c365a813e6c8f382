/*
 * test_trainstate.c — the training-state file (genmod/trainstate.h): round
 * trip of float arrays, byte blobs, int64 / string metadata, rng streams
 * (the restored rng continues the exact same sequence) and an Adam
 * optimizer (state arrays, step, config; continuing from the restored state
 * gives bit-identical parameters). Truncated, corrupt and foreign files give
 * errors. All comparisons are exact.
 */
#include "genmod/trainstate.h"
#include "io/io_internal.h"
#include "testutil.h"
#include <string.h>

static char g_path[4200];
static const char *tmp_path(const char *name) {
    snprintf(g_path, sizeof g_path, "%s/%s", gm_test_tmpdir(), name);
    return g_path;
}

static void make_params(gm_params *p) {
    gm_params_init(p);
    int64_t s1[2] = {3, 4}, s2[1] = {5};
    gm_params_add(p, "w", 2, s1, 1);
    gm_params_add(p, "b", 1, s2, 1);
    gm_params_finalize(p);
}

static void fake_grad(gm_params *p, int k) {
    for (int64_t i = 0; i < p->total; i++) p->grad[i] = 0.01f * (float)((i * 7 + k * 3) % 11) - 0.05f;
}

static int same_config(const gm_optim_config *a, const gm_optim_config *b) {
    return a->type == b->type && a->lr == b->lr && a->weight_decay == b->weight_decay && a->momentum == b->momentum &&
           a->dampening == b->dampening && a->nesterov == b->nesterov && a->beta1 == b->beta1 && a->beta2 == b->beta2 &&
           a->eps == b->eps && a->alpha == b->alpha && a->centered == b->centered &&
           a->initial_accumulator_value == b->initial_accumulator_value && a->lr_decay == b->lr_decay;
}

static void test_round_trip(void) {
    gm_params p;
    make_params(&p);
    gm_rng init;
    gm_rng_seed(&init, 1, GM_STREAM_INIT);
    gm_params_init_normal(&p, 0, &init, 0.5f);
    gm_optim_config cfg = gm_optim_defaults(GM_OPTIM_ADAM);
    cfg.lr = 0.0123;
    cfg.beta2 = 0.98;
    cfg.weight_decay = 1.0 / 3.0;
    gm_optim *opt = gm_optim_new(&cfg, &p);
    for (int k = 0; k < 3; k++) {
        fake_grad(&p, k);
        gm_optim_step(opt, &p, cfg.lr);
    }
    gm_rng data_rng, noise_rng;
    gm_rng_seed(&data_rng, 42, GM_STREAM_DATA);
    gm_rng_seed(&noise_rng, 42, GM_STREAM_NOISE);
    for (int i = 0; i < 5; i++) gm_rng_u64(&data_rng);
    (void)gm_rng_normal(&noise_rng); /* leaves a spare normal */

    float ema[7] = {1, 2, 3, 4, 5, 6, -0.0f};
    const char blob[] = "any\0bytes";
    gm_ts_writer *w = gm_ts_writer_new();
    int ok = gm_ts_put_optim(w, opt) == GM_OK;
    ok &= gm_ts_put_floats(w, "ema.shadow", ema, 7) == GM_OK;
    ok &= gm_ts_put_floats(w, "empty", NULL, 0) == GM_OK;
    ok &= gm_ts_put_bytes(w, "blob", blob, sizeof blob) == GM_OK;
    ok &= gm_ts_put_rng(w, "data", &data_rng) == GM_OK;
    ok &= gm_ts_put_rng(w, "noise", &noise_rng) == GM_OK;
    ok &= gm_ts_put_int64(w, "step", 3) == GM_OK;
    ok &= gm_ts_put_int64(w, "epoch", -1) == GM_OK;
    ok &= gm_ts_put_int64(w, "data_position", INT64_MIN) == GM_OK;
    ok &= gm_ts_put_int64(w, "big", INT64_MAX) == GM_OK;
    ok &= gm_ts_put_string(w, "model_type", "made") == GM_OK;
    CHECK(ok, "building the state: %s", gm_last_error());
    CHECK(gm_ts_put_string(w, "format", "x") == GM_ERR_ARG, "reserved key rejected");
    CHECK(gm_ts_put_floats(w, "ema.shadow", ema, 7) == GM_ERR_ARG, "duplicate name rejected");
    CHECK(gm_ts_put_floats(w, "neg", ema, -1) == GM_ERR_ARG, "negative length rejected");
    CHECK(gm_ts_put_rng(w, "", &data_rng) == GM_ERR_ARG, "empty stream name rejected");
    const char *path = tmp_path("state.safetensors");
    CHECK(gm_ts_save(w, path) == GM_OK, "save: %s", gm_last_error());
    gm_ts_writer_free(w);

    gm_ts_reader *r = NULL;
    CHECK(gm_ts_open(path, &r) == GM_OK, "open: %s", gm_last_error());
    if (!r) return;
    const gm_st_reader *st = gm_ts_tensors(r);
    CHECK(strcmp(gm_st_metadata(st, "format"), "genmod-trainstate") == 0 && strcmp(gm_st_metadata(st, "format_version"), "1") == 0,
          "format metadata");
    CHECK(gm_st_find(st, "opt.exp_avg") && gm_st_find(st, "opt.exp_avg_sq") && gm_st_find(st, "rng.data"), "tensor names");
    float e7[7];
    CHECK(gm_ts_floats_len(r, "ema.shadow") == 7 && gm_ts_floats_len(r, "blob") == -1 && gm_ts_floats_len(r, "x") == -1,
          "floats_len");
    CHECK(gm_ts_get_floats(r, "ema.shadow", e7, 7) == GM_OK && memcmp(e7, ema, sizeof ema) == 0, "floats exact");
    CHECK(gm_ts_get_floats(r, "ema.shadow", e7, 6) == GM_ERR_SHAPE, "wrong length");
    CHECK(gm_ts_get_floats(r, "blob", e7, (int64_t)sizeof blob) == GM_ERR_FORMAT, "wrong dtype");
    CHECK(gm_ts_get_floats(r, "empty", NULL, 0) == GM_OK, "empty array");
    char b[sizeof blob];
    CHECK(gm_ts_get_bytes(r, "blob", b, sizeof b) == GM_OK && memcmp(b, blob, sizeof b) == 0, "bytes exact");
    int64_t v = 0;
    CHECK(gm_ts_get_int64(r, "step", &v) == GM_OK && v == 3, "step");
    CHECK(gm_ts_get_int64(r, "epoch", &v) == GM_OK && v == -1, "epoch");
    CHECK(gm_ts_get_int64(r, "data_position", &v) == GM_OK && v == INT64_MIN, "INT64_MIN");
    CHECK(gm_ts_get_int64(r, "big", &v) == GM_OK && v == INT64_MAX, "INT64_MAX");
    CHECK(gm_ts_get_int64(r, "model_type", &v) == GM_ERR_FORMAT, "non-integer metadata");
    CHECK(gm_ts_get_int64(r, "nope", &v) == GM_ERR_NOTFOUND, "absent key");
    const char *s = NULL;
    CHECK(gm_ts_get_string(r, "model_type", &s) == GM_OK && strcmp(s, "made") == 0, "string");

    gm_rng d2, n2;
    CHECK(gm_ts_get_rng(r, "data", &d2) == GM_OK && gm_ts_get_rng(r, "noise", &n2) == GM_OK, "rngs: %s", gm_last_error());
    int same = 1;
    for (int i = 0; i < 100; i++) same &= gm_rng_u64(&d2) == gm_rng_u64(&data_rng);
    for (int i = 0; i < 9; i++) same &= gm_rng_normal(&n2) == gm_rng_normal(&noise_rng); /* spare first */
    CHECK(same, "restored rngs continue the same sequences");
    CHECK(gm_ts_get_rng(r, "nope", &d2) == GM_ERR_NOTFOUND, "absent rng");

    /* optimizer: restore into a fresh one, then both take the same step */
    gm_params q;
    make_params(&q);
    memcpy(q.data, p.data, (size_t)p.total * sizeof(float));
    gm_optim_config cfg2;
    CHECK(gm_ts_get_optim_config(r, &cfg2) == GM_OK && same_config(&cfg2, &cfg),
          "optimizer config round trip exact: %s", gm_last_error());
    gm_optim *opt2 = gm_optim_new(&cfg2, &q);
    CHECK(gm_ts_get_optim(r, opt2) == GM_OK && gm_optim_get_step(opt2) == 3, "restore optimizer: %s", gm_last_error());
    for (int i = 0; i < gm_optim_state_count(opt); i++)
        CHECK(memcmp(gm_optim_state_data(opt, i), gm_optim_state_data(opt2, i), (size_t)p.total * sizeof(float)) == 0,
              "state %d equal", i);
    fake_grad(&p, 9);
    fake_grad(&q, 9);
    gm_optim_step(opt, &p, cfg.lr);
    gm_optim_step(opt2, &q, cfg.lr);
    CHECK(memcmp(p.data, q.data, (size_t)p.total * sizeof(float)) == 0, "identical parameters after a resumed step");
    gm_optim_config sgd = gm_optim_defaults(GM_OPTIM_SGD);
    sgd.momentum = 0.9;
    gm_optim *opt3 = gm_optim_new(&sgd, &q);
    CHECK(gm_ts_get_optim(r, opt3) == GM_ERR_ARG && strstr(gm_last_error(), "optimizer 'adam', this run uses 'sgd'"),
          "optimizer type mismatch: %s", gm_last_error());
    CHECK(gm_optim_get_step(opt3) == 0, "unchanged on failure");
    gm_optim_free(opt3);
    gm_params r2;
    gm_params_init(&r2);
    int64_t s3[1] = {4};
    gm_params_add(&r2, "w", 1, s3, 1);
    gm_params_finalize(&r2);
    gm_optim *opt4 = gm_optim_new(&cfg, &r2);
    CHECK(gm_ts_get_optim(r, opt4) == GM_ERR_SHAPE && gm_optim_get_step(opt4) == 0, "length mismatch: %s", gm_last_error());
    gm_optim_free(opt4);
    gm_params_free(&r2);
    gm_ts_close(r);
    gm_optim_free(opt);
    gm_optim_free(opt2);
    gm_params_free(&p);
    gm_params_free(&q);
}

static gm_status open_st_bytes(gm_st_writer *w, gm_ts_reader **r) {
    uint8_t *mem;
    size_t len;
    gm_st_writer_to_mem(w, &mem, &len);
    gm_status st = gm_ts_open_mem(mem, len, "x.st", r);
    free(mem);
    return st;
}

static void test_corrupt(void) {
    gm_ts_writer *w = gm_ts_writer_new();
    float f[3] = {1, 2, 3};
    gm_rng g;
    gm_rng_seed(&g, 7, 1);
    gm_ts_put_floats(w, "a", f, 3);
    gm_ts_put_rng(w, "r", &g);
    gm_ts_put_int64(w, "step", 10);
    const char *path = tmp_path("c.safetensors");
    gm_ts_save(w, path);
    gm_ts_writer_free(w);
    uint8_t *file;
    size_t len;
    CHECK(gm_io_read_file(path, 1 << 20, &file, &len) == GM_OK, "read bytes");
    int all_fail = 1;
    for (size_t cut = 0; cut < len; cut++) {
        gm_ts_reader *r = NULL;
        if (gm_ts_open_mem(file, cut, "cut", &r) != GM_ERR_FORMAT || r) all_fail = 0;
        gm_ts_close(r);
    }
    CHECK(all_fail, "every truncation of the %zu-byte state is GM_ERR_FORMAT", len);
    /* corrupt the header: every byte of it flipped in turn never crashes; flipping '{' fails */
    int crashes_none = 1;
    size_t hlen = (size_t)gm_load_le64(file);
    for (size_t i = 0; i < 8 + hlen; i++) {
        file[i] ^= 0x21;
        gm_ts_reader *r = NULL;
        gm_status st = gm_ts_open_mem(file, len, "flip", &r);
        if (i == 8) crashes_none &= st == GM_ERR_FORMAT;
        gm_ts_close(r);
        file[i] ^= 0x21;
    }
    CHECK(crashes_none, "header bit flips handled");
    free(file);

    /* a valid safetensors file that is not a training state */
    gm_st_writer *sw = gm_st_writer_new();
    gm_ts_reader *r = NULL;
    CHECK(open_st_bytes(sw, &r) == GM_ERR_FORMAT && strstr(gm_last_error(), "not a genmod training-state file") && !r,
          "no format metadata: %s", gm_last_error());
    gm_st_writer_set_metadata(sw, "format", "genmod-trainstate");
    gm_st_writer_set_metadata(sw, "format_version", "2");
    CHECK(open_st_bytes(sw, &r) == GM_ERR_UNSUPPORTED, "newer version: %s", gm_last_error());
    gm_st_writer_set_metadata(sw, "format_version", "1x");
    CHECK(open_st_bytes(sw, &r) == GM_ERR_FORMAT && strstr(gm_last_error(), "bad format_version"), "bad version");
    gm_st_writer_set_metadata(sw, "format_version", "1");
    int64_t six = 6, zero[6] = {0, 0, 0, 0, 0, 0}, spare[6] = {1, 2, 3, 4, 0, 2};
    gm_st_writer_add_i64(sw, "rng.zero", 1, &six, zero);
    gm_st_writer_add_i64(sw, "rng.spare", 1, &six, spare);
    gm_st_writer_add_f32(sw, "rng.f", 1, &six, (const float *)zero);
    CHECK(open_st_bytes(sw, &r) == GM_OK, "minimal state opens: %s", gm_last_error());
    CHECK(gm_ts_get_rng(r, "zero", &g) == GM_ERR_FORMAT && strstr(gm_last_error(), "not a valid rng state"), "all-zero rng");
    CHECK(gm_ts_get_rng(r, "spare", &g) == GM_ERR_FORMAT, "has_spare 2");
    CHECK(gm_ts_get_rng(r, "f", &g) == GM_ERR_FORMAT, "rng stored as F32");
    CHECK(gm_ts_get_optim_config(r, NULL) == GM_ERR_ARG, "NULL config");
    gm_optim_config c;
    CHECK(gm_ts_get_optim_config(r, &c) == GM_ERR_NOTFOUND, "no optimizer config");
    gm_ts_close(r);
    gm_st_writer_free(sw);
    CHECK(gm_ts_open(tmp_path("none.safetensors"), &r) == GM_ERR_NOTFOUND && r == NULL, "missing file");
}

int main(void) {
    test_round_trip();
    test_corrupt();
    TEST_MAIN_END();
}
