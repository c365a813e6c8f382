/*
 * test_optim.c — optimizers, gradient clipping, LR schedules and EMA:
 * PyTorch golden values (tests/golden/gen_optim.py -> optim.safetensors),
 * buffers left untouched, state save/restore, the vector + parallel path on a
 * large odd-sized set against a scalar reference, and argument errors.
 *
 * Tolerance of the torch comparisons: parameters after each of 5 steps within
 * atol 1e-6 + rtol 1e-6 (values are O(1)). Both sides compute in float32 with
 * the same operation order, but torch's vectorised CPU kernels fuse some
 * multiply-adds (lerp) and we do not, so single roundings may differ by an
 * ulp (6e-8 relative) per operation, and 5 steps accumulate that. The test
 * prints the measured worst case (8e-8 with torch 2.15 on AVX2).
 */
#include "genmod/optim.h"
#include "golden.h"
#include "testutil.h"
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define STEPS 5
#define NT 3
static const char *const tnames[NT] = {"w1", "b1", "w2"};
static const double lr_factors[STEPS] = {1.0, 0.9, 0.8, 1.1, 0.5};
static const float BUF_VALUE = 3.25f;

typedef struct {
    const char *name;
    gm_optim_type type;
    double lr, momentum, dampening, wd, beta1, beta2, eps, alpha;
    int nesterov, centered;
    double init_acc, lr_decay, clip;
} ocase;

/* mirrors CONFIGS in gen_optim.py; beta/eps/alpha 0 = torch default */
static const ocase cases[] = {
    {"sgd", GM_OPTIM_SGD, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"sgd_mom", GM_OPTIM_SGD, 0.1, 0.9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"sgd_damp", GM_OPTIM_SGD, 0.1, 0.9, 0.5, 0.05, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"sgd_nesterov_wd", GM_OPTIM_SGD, 0.1, 0.9, 0, 0.01, 0, 0, 0, 0, 1, 0, 0, 0, 0},
    {"adam", GM_OPTIM_ADAM, 0.01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"adam_wd", GM_OPTIM_ADAM, 0.01, 0, 0, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"adamw", GM_OPTIM_ADAMW, 0.01, 0, 0, 0.1, 0.8, 0.99, 1e-6, 0, 0, 0, 0, 0, 0},
    {"adam_clip", GM_OPTIM_ADAM, 0.01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0},
    {"adagrad", GM_OPTIM_ADAGRAD, 0.1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"adagrad_decay", GM_OPTIM_ADAGRAD, 0.1, 0, 0, 0.05, 0, 0, 0, 0, 0, 0, 0.5, 0.1, 0},
    {"rmsprop", GM_OPTIM_RMSPROP, 0.01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"rmsprop_cm", GM_OPTIM_RMSPROP, 0.01, 0.9, 0, 0.01, 0, 0, 0, 0.9, 0, 1, 0, 0, 0},
};

static gm_optim_config config_of(const ocase *c) {
    gm_optim_config k = gm_optim_defaults(c->type);
    k.lr = c->lr;
    k.momentum = c->momentum;
    k.dampening = c->dampening;
    k.weight_decay = c->wd;
    k.nesterov = c->nesterov;
    k.centered = c->centered;
    k.initial_accumulator_value = c->init_acc;
    k.lr_decay = c->lr_decay;
    if (c->beta1 > 0) k.beta1 = c->beta1;
    if (c->beta2 > 0) k.beta2 = c->beta2;
    if (c->eps > 0) k.eps = c->eps;
    if (c->alpha > 0) k.alpha = c->alpha;
    return k;
}

/* w1 (4,5), buffer "bn" (6) between b1 and w2 so it splits the trainable runs, b1 (7), w2 (3,8) */
static int make_params(gm_params *p) {
    gm_params_init(p);
    int64_t s1[2] = {4, 5}, s2[1] = {7}, sb[1] = {6}, s3[2] = {3, 8};
    gm_params_add(p, "w1", 2, s1, 1);
    gm_params_add(p, "b1", 1, s2, 1);
    gm_params_add(p, "bn", 1, sb, 0);
    gm_params_add(p, "w2", 2, s3, 1);
    if (gm_params_finalize(p) != GM_OK) return 0;
    gm_param_entry *b = &p->entries[gm_params_index(p, "bn")];
    for (int64_t k = 0; k < b->numel; k++) {
        p->data[b->offset + k] = BUF_VALUE;
        p->grad[b->offset + k] = 100.0f; /* must be ignored by clipping and never read by optimizers */
    }
    return 1;
}

static int load_tensors(gm_golden *g, gm_params *p, const char *prefix, int into_grad) {
    char key[128];
    for (int t = 0; t < NT; t++) {
        gm_param_entry *e = &p->entries[gm_params_index(p, tnames[t])];
        snprintf(key, sizeof key, "%s.%s", prefix, tnames[t]);
        if (!gm_golden_read(g, key, (into_grad ? p->grad : p->data) + e->offset, e->numel)) return 0;
    }
    return 1;
}

static int buffer_intact(const gm_params *p) {
    const gm_param_entry *b = &p->entries[gm_params_index(p, "bn")];
    for (int64_t k = 0; k < b->numel; k++)
        if (p->data[b->offset + k] != BUF_VALUE || p->grad[b->offset + k] != 100.0f) return 0;
    return 1;
}

static double worst_err = 0.0;

static void test_golden_optimizers(gm_golden *g) {
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const ocase *oc = &cases[c];
        gm_params p;
        CHECK(make_params(&p), "params");
        CHECK(load_tensors(g, &p, "init", 0), "%s: golden init", oc->name);
        gm_optim_config cfg = config_of(oc);
        gm_optim *opt = gm_optim_new(&cfg, &p);
        CHECK(opt != NULL, "%s: new: %s", oc->name, gm_last_error());
        if (!opt) { gm_params_free(&p); continue; }
        float glr[STEPS];
        char key[128];
        snprintf(key, sizeof key, "%s.lr", oc->name);
        CHECK(gm_golden_read(g, key, glr, STEPS), "%s: golden lr", key);
        for (int k = 0; k < STEPS; k++) {
            char pre[32];
            snprintf(pre, sizeof pre, "grad%d", k);
            CHECK(load_tensors(g, &p, pre, 1), "%s: golden %s", oc->name, pre);
            if (oc->clip > 0) gm_clip_grad_norm(&p, oc->clip);
            double lr = oc->lr * lr_factors[k];
            CHECK_CLOSE(lr, glr[k], 0, 1e-7, "lr table matches gen_optim.py");
            CHECK(gm_optim_step(opt, &p, lr) == GM_OK, "%s: step %d: %s", oc->name, k, gm_last_error());
            for (int t = 0; t < NT; t++) {
                gm_param_entry *e = &p.entries[gm_params_index(&p, tnames[t])];
                float want[64];
                snprintf(key, sizeof key, "%s.step%d.%s", oc->name, k, tnames[t]);
                if (!gm_golden_read(g, key, want, e->numel)) { CHECK(0, "golden %s", key); continue; }
                for (int64_t i = 0; i < e->numel; i++) {
                    double d = fabs((double)p.data[e->offset + i] - want[i]) / (1.0 + fabs(want[i]));
                    if (d > worst_err) worst_err = d;
                }
                CHECK_ARRAYS(key, p.data + e->offset, want, e->numel, 1e-6, 1e-6);
            }
        }
        CHECK(gm_optim_get_step(opt) == STEPS, "%s: step count %lld", oc->name, (long long)gm_optim_get_step(opt));
        CHECK(buffer_intact(&p), "%s: buffer (trainable=0) values or grads were touched", oc->name);
        gm_optim_free(opt);
        gm_params_free(&p);
    }
    printf("optimizers vs torch: worst |diff| / (1 + |want|) = %.3g\n", worst_err);
}

static void test_golden_clip(gm_golden *g) {
    const double maxn[2] = {1.0, 100.0};
    for (int m = 0; m < 2; m++) {
        gm_params p;
        CHECK(make_params(&p), "params");
        CHECK(load_tensors(g, &p, "grad0", 1), "golden grad0");
        char key[64];
        float want_norm, want[64];
        snprintf(key, sizeof key, "clip.%d.norm", (int)maxn[m]);
        CHECK(gm_golden_read(g, key, &want_norm, 1), "golden %s", key);
        double norm = gm_clip_grad_norm(&p, maxn[m]);
        CHECK_CLOSE(norm, want_norm, 0, 1e-6, key); /* torch sums in float32: ~1e-7 relative */
        for (int t = 0; t < NT; t++) {
            gm_param_entry *e = &p.entries[gm_params_index(&p, tnames[t])];
            snprintf(key, sizeof key, "clip.%d.%s", (int)maxn[m], tnames[t]);
            if (!gm_golden_read(g, key, want, e->numel)) { CHECK(0, "golden %s", key); continue; }
            CHECK_ARRAYS(key, p.grad + e->offset, want, e->numel, 1e-7, 1e-6);
        }
        CHECK(buffer_intact(&p), "clip touched the buffer");
        /* after clipping to 1 the norm is 1 (up to the 1e-6 in the factor and float rounding) */
        if (m == 0) CHECK_CLOSE(gm_grad_norm(&p), 1.0, 0, 2e-6, "norm after clip");
        gm_params_free(&p);
    }
}

static void test_golden_schedules(gm_golden *g) {
    gm_schedule s[6];
    const char *names[6] = {"constant", "step", "cosine", "warmup_cosine", "warmup_step", "warmup_constant"};
    for (int i = 0; i < 6; i++) s[i] = gm_schedule_constant(0.1);
    s[1].type = GM_SCHED_STEP; s[1].step_size = 7; s[1].gamma = 0.5;
    s[2].type = GM_SCHED_COSINE; s[2].total_steps = 30; s[2].min_lr = 0.001;
    s[3].type = GM_SCHED_COSINE; s[3].total_steps = 30; s[3].min_lr = 0.001; s[3].warmup_steps = 5; s[3].warmup_start = 0.1;
    s[4].type = GM_SCHED_STEP; s[4].step_size = 6; s[4].gamma = 0.3; s[4].warmup_steps = 4; s[4].warmup_start = 0.25;
    s[5].warmup_steps = 5; s[5].warmup_start = 0.2;
    for (int i = 0; i < 6; i++) {
        char key[64];
        float want[31], got[31];
        snprintf(key, sizeof key, "sched.%s", names[i]);
        CHECK(gm_schedule_check(&s[i]) == GM_OK, "%s: %s", names[i], gm_last_error());
        if (!gm_golden_read(g, key, want, 31)) { CHECK(0, "golden %s", key); continue; }
        for (int k = 0; k < 31; k++) got[k] = (float)gm_schedule_lr(&s[i], k);
        CHECK_ARRAYS(key, got, want, 31, 0, 1e-6); /* golden stored as float32 */
    }
    /* hand-checked points */
    CHECK_CLOSE(gm_schedule_lr(&s[3], 0), 0.01, 0, 1e-12, "warmup start");
    CHECK_CLOSE(gm_schedule_lr(&s[3], 5), 0.1, 0, 1e-12, "end of warmup = base");
    CHECK_CLOSE(gm_schedule_lr(&s[3], 30), 0.001, 0, 1e-12, "cosine end = min");
    CHECK_CLOSE(gm_schedule_lr(&s[3], 1000), 0.001, 0, 1e-12, "held at min after total");
    CHECK_CLOSE(gm_schedule_lr(&s[1], 14), 0.025, 0, 1e-12, "step: two decays at 14");
    CHECK_CLOSE(gm_schedule_lr(&s[1], 13), 0.05, 0, 1e-12, "step: one decay at 13");
    CHECK_CLOSE(gm_schedule_lr(&s[2], 15), 0.0505, 0, 1e-12, "cosine midpoint");
    /* bad schedules */
    gm_schedule b = s[2];
    b.total_steps = 0;
    CHECK(gm_schedule_check(&b) == GM_ERR_ARG && strstr(gm_last_error(), "total_steps"), "total_steps: %s", gm_last_error());
    b = s[1];
    b.step_size = 0;
    CHECK(gm_schedule_check(&b) == GM_ERR_ARG && strstr(gm_last_error(), "step_size"), "step_size: %s", gm_last_error());
    b = s[3];
    b.warmup_start = 1.5;
    CHECK(gm_schedule_check(&b) == GM_ERR_ARG, "warmup_start range");
    gm_sched_type st;
    CHECK(gm_sched_type_parse("cosine", &st) == GM_OK && st == GM_SCHED_COSINE, "parse cosine");
    CHECK(gm_sched_type_parse("linear", &st) == GM_ERR_ARG && strstr(gm_last_error(), "linear"), "parse bad name");
}

/* EMA against a double reference; apply / restore swap; buffers copied. */
static void test_ema(void) {
    gm_params p;
    CHECK(make_params(&p), "params");
    for (int t = 0; t < NT; t++) {
        gm_param_entry *pe = &p.entries[gm_params_index(&p, tnames[t])];
        for (int64_t k = pe->offset; k < pe->offset + pe->numel; k++) p.data[k] = 0.01f * (float)k;
    }
    gm_param_entry *bn = &p.entries[gm_params_index(&p, "bn")];
    int64_t n = p.total;
    double *ref = malloc(sizeof(double) * (size_t)n);
    float *live = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) ref[i] = p.data[i];
    CHECK(gm_ema_new(&p, 1.5, 0) == NULL, "decay > 1 rejected");
    gm_ema *e = gm_ema_new(&p, 0.9, 1);
    CHECK(e != NULL && gm_ema_len(e) == n, "ema new");
    CHECK_CLOSE(gm_ema_decay_at(0.999, 1, 1), 2.0 / 11.0, 0, 1e-15, "warmup decay n=1");
    CHECK_CLOSE(gm_ema_decay_at(0.9, 1, 100), 0.9, 0, 1e-15, "warmup decay capped");
    CHECK_CLOSE(gm_ema_decay_at(0.9, 0, 1), 0.9, 0, 1e-15, "no warmup");
    for (int step = 1; step <= 20; step++) {
        for (int64_t i = 0; i < n; i++) p.data[i] += 0.05f * (float)((i * 7 + step * 3) % 11) - 0.25f;
        for (int64_t k = 0; k < bn->numel; k++) p.data[bn->offset + k] = BUF_VALUE + (float)step;
        CHECK(gm_ema_update(e, &p) == GM_OK, "update %d", step);
        double d = gm_ema_decay_at(0.9, 1, step);
        for (int t = 0; t < p.count; t++) {
            gm_param_entry *pe = &p.entries[t];
            for (int64_t k = pe->offset; k < pe->offset + pe->numel; k++)
                ref[k] = pe->trainable ? d * ref[k] + (1.0 - d) * p.data[k] : p.data[k];
        }
    }
    CHECK(gm_ema_get_step(e) == 20, "ema count");
    float *sh = gm_ema_shadow(e);
    double worst = 0;
    for (int t = 0; t < p.count; t++) {
        gm_param_entry *pe = &p.entries[t];
        for (int64_t k = pe->offset; k < pe->offset + pe->numel; k++) {
            double err = fabs(sh[k] - ref[k]) / (1.0 + fabs(ref[k]));
            if (err > worst) worst = err;
        }
    }
    CHECK(worst < 1e-5, "ema vs double reference: worst %.3g (float32 over 20 updates)", worst);
    CHECK(sh[bn->offset] == BUF_VALUE + 20.0f, "buffer copied: %g", sh[bn->offset]);
    memcpy(live, p.data, sizeof(float) * (size_t)n);
    float *shadow_copy = malloc(sizeof(float) * (size_t)n);
    memcpy(shadow_copy, sh, sizeof(float) * (size_t)n);
    CHECK(gm_ema_apply(e, &p) == GM_OK && gm_ema_is_applied(e), "apply");
    CHECK(memcmp(p.data, shadow_copy, sizeof(float) * (size_t)n) == 0, "apply puts the shadow into params");
    CHECK(gm_ema_apply(e, &p) == GM_ERR_ARG, "double apply rejected");
    CHECK(gm_ema_update(e, &p) == GM_ERR_ARG, "update while applied rejected");
    CHECK(gm_ema_restore(e, &p) == GM_OK && !gm_ema_is_applied(e), "restore");
    CHECK(memcmp(p.data, live, sizeof(float) * (size_t)n) == 0, "restore brings the training values back");
    CHECK(memcmp(gm_ema_shadow(e), shadow_copy, sizeof(float) * (size_t)n) == 0, "shadow unchanged by apply+restore");
    CHECK(gm_ema_restore(e, &p) == GM_ERR_ARG, "restore when not applied rejected");
    /* decay 0 without warmup: shadow == params */
    gm_ema *e0 = gm_ema_new(&p, 0.0, 0);
    for (int64_t i = 0; i < n; i++) p.data[i] *= 0.5f;
    gm_ema_update(e0, &p);
    for (int t = 0; t < p.count; t++) { /* entries only: alignment padding is nobody's */
        gm_param_entry *pe = &p.entries[t];
        CHECK_ARRAYS("decay 0 follows params (s - (s - x) rounds)", gm_ema_shadow(e0) + pe->offset, p.data + pe->offset,
                     pe->numel, 1e-6, 0);
    }
    CHECK(gm_ema_reset(e, &p) == GM_OK && gm_ema_get_step(e) == 0, "reset");
    gm_ema_free(e0);
    gm_ema_free(e);
    free(shadow_copy);
    free(live);
    free(ref);
    gm_params_free(&p);
}

/* ---- big odd-sized set: vector kernels + tails + threads vs a scalar reference ---- */

static uint64_t lcg = 88172645463325252ull;
static float frand(void) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((lcg >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static int make_big(gm_params *p) {
    gm_params_init(p);
    /* a and a2 are adjacent (100000 is a multiple of 16): one merged run with an odd tail */
    int64_t sa[1] = {100000}, sa2[1] = {17}, sb[1] = {5}, sc[2] = {3, 16667};
    gm_params_add(p, "a", 1, sa, 1);
    gm_params_add(p, "a2", 1, sa2, 1);
    gm_params_add(p, "buf", 1, sb, 0);
    gm_params_add(p, "c", 2, sc, 1);
    if (gm_params_finalize(p) != GM_OK) return 0;
    for (int i = 0; i < p->count; i++) {
        gm_param_entry *e = &p->entries[i];
        for (int64_t k = e->offset; k < e->offset + e->numel; k++) p->data[k] = frand();
    }
    return 1;
}

static void fill_grads(gm_params *p, float scale) {
    for (int i = 0; i < p->count; i++) {
        gm_param_entry *e = &p->entries[i];
        if (e->trainable)
            for (int64_t k = e->offset; k < e->offset + e->numel; k++) p->grad[k] = scale * frand();
    }
}

/* scalar reference of the torch formulas (same float operation order as the library) */
typedef struct { float *m, *v, *b; } refstate;

static void ref_step(const gm_optim_config *c, int64_t t, double lr, gm_params *p, refstate *r) {
    for (int i = 0; i < p->count; i++) {
        gm_param_entry *e = &p->entries[i];
        if (!e->trainable) continue;
        for (int64_t k = e->offset; k < e->offset + e->numel; k++) {
            float x = p->data[k], g = p->grad[k];
            if (c->type == GM_OPTIM_ADAMW) x = x * (float)(1.0 - lr * c->weight_decay);
            else if (c->weight_decay != 0) g = g + (float)c->weight_decay * x;
            if (c->type == GM_OPTIM_ADAM || c->type == GM_OPTIM_ADAMW) {
                float w = (float)(1.0 - c->beta1);
                r->m[k] = r->m[k] + w * (g - r->m[k]);
                r->v[k] = r->v[k] * (float)c->beta2 + (float)(1.0 - c->beta2) * g * g;
                float den = sqrtf(r->v[k]) / (float)sqrt(1.0 - pow(c->beta2, (double)t)) + (float)c->eps;
                x = x + (float)-(lr / (1.0 - pow(c->beta1, (double)t))) * r->m[k] / den;
            } else if (c->type == GM_OPTIM_RMSPROP) { /* centered + momentum */
                float oma = (float)(1.0 - c->alpha);
                r->v[k] = r->v[k] * (float)c->alpha + oma * g * g;
                r->m[k] = r->m[k] + oma * (g - r->m[k]);
                float var = r->v[k] - r->m[k] * r->m[k];
                float avg = sqrtf(var > 0 ? var : 0.0f) + (float)c->eps;
                r->b[k] = r->b[k] * (float)c->momentum + g / avg;
                x = x + (float)-lr * r->b[k];
            } else { /* SGD nesterov */
                r->b[k] = t == 1 ? g : r->b[k] * (float)c->momentum + (float)(1.0 - c->dampening) * g;
                g = g + (float)c->momentum * r->b[k];
                x = x + (float)-lr * g;
            }
            p->data[k] = x;
        }
    }
}

static void test_big_vs_reference(void) {
    gm_optim_config cfgs[4] = {gm_optim_defaults(GM_OPTIM_ADAM), gm_optim_defaults(GM_OPTIM_ADAMW),
                               gm_optim_defaults(GM_OPTIM_RMSPROP), gm_optim_defaults(GM_OPTIM_SGD)};
    cfgs[0].weight_decay = 0.01;
    cfgs[1].weight_decay = 0.1;
    cfgs[2].centered = 1; cfgs[2].momentum = 0.5; cfgs[2].alpha = 0.9;
    cfgs[3].momentum = 0.9; cfgs[3].nesterov = 1; cfgs[3].weight_decay = 0.001;
    for (int c = 0; c < 4; c++) {
        gm_params p, q;
        lcg = 12345;
        CHECK(make_big(&p), "big params");
        lcg = 12345;
        CHECK(make_big(&q), "big params");
        int64_t n = p.total;
        refstate r = {calloc((size_t)n, 4), calloc((size_t)n, 4), calloc((size_t)n, 4)};
        gm_optim *opt = gm_optim_new(&cfgs[c], &p);
        CHECK(opt != NULL, "new: %s", gm_last_error());
        if (!opt) break;
        for (int t = 1; t <= 4; t++) {
            uint64_t save = lcg;
            fill_grads(&p, 0.1f * (float)t);
            lcg = save;
            fill_grads(&q, 0.1f * (float)t);
            double lr = 1e-2 / t;
            gm_optim_step(opt, &p, lr);
            ref_step(&cfgs[c], t, lr, &q, &r);
        }
        /* Identical operation order, IEEE ops, no FMA contraction (ISO C11): equal up to
         * 1e-6 relative, which also covers a build that contracts into FMAs. */
        char what[64];
        snprintf(what, sizeof what, "%s: vector+threads vs scalar", gm_optim_type_name(cfgs[c].type));
        CHECK_ARRAYS(what, p.data, q.data, n, 1e-7, 1e-6);
        gm_param_entry *b = &p.entries[gm_params_index(&p, "buf")];
        CHECK(memcmp(p.data + b->offset, q.data + b->offset, 5 * sizeof(float)) == 0, "big: buffer untouched");
        gm_optim_free(opt);
        free(r.m); free(r.v); free(r.b);
        gm_params_free(&p);
        gm_params_free(&q);
    }
}

static void test_norm_deterministic(void) {
    gm_params p;
    lcg = 777;
    CHECK(make_big(&p), "big params");
    fill_grads(&p, 1.0f);
    gm_param_entry *b = &p.entries[gm_params_index(&p, "buf")];
    for (int k = 0; k < 5; k++) p.grad[b->offset + k] = 1e3f; /* ignored */
    double ref = 0;
    for (int i = 0; i < p.count; i++) {
        gm_param_entry *e = &p.entries[i];
        if (e->trainable) for (int64_t k = e->offset; k < e->offset + e->numel; k++) ref += (double)p.grad[k] * p.grad[k];
    }
    ref = sqrt(ref);
    double n1 = gm_grad_norm(&p);
    CHECK_CLOSE(n1, ref, 0, 1e-12, "big norm vs double reference");
#ifdef _OPENMP
    int old = omp_get_max_threads();
    omp_set_num_threads(1);
    double n_one = gm_grad_norm(&p);
    omp_set_num_threads(old > 1 ? old : 2);
    double n_many = gm_grad_norm(&p);
    omp_set_num_threads(old);
    CHECK(n_one == n_many && n_one == n1, "norm independent of thread count: %.17g %.17g", n_one, n_many);
#endif
    float before = p.grad[0];
    double pre = gm_clip_grad_norm(&p, 0.5 * ref);
    CHECK(pre == n1, "clip returns the pre-clip norm");
    CHECK_CLOSE(p.grad[0], before * (float)(0.5 * ref / (ref + 1e-6)), 0, 1e-7, "clip factor");
    CHECK_CLOSE(gm_grad_norm(&p), 0.5 * ref, 0, 1e-6, "norm after clip");
    CHECK(p.grad[b->offset] == 1e3f, "clip leaves buffer grads");
    before = p.grad[0];
    gm_clip_grad_norm(&p, 1e9);
    CHECK(p.grad[0] == before, "no clip below max_norm");
    gm_clip_grad_norm(&p, 0);
    CHECK(p.grad[0] == before, "max_norm 0: norm only");
    p.grad[3] = NAN;
    double nn = gm_clip_grad_norm(&p, 1e-3);
    CHECK(isnan(nn) && p.grad[0] == before, "NaN norm returned, grads untouched");
    gm_params_free(&p);
}

/* save the state after 3 steps, load it into a fresh optimizer, continue: same result as uninterrupted */
static void test_state_resume(void) {
    const gm_optim_type types[5] = {GM_OPTIM_SGD, GM_OPTIM_ADAM, GM_OPTIM_ADAMW, GM_OPTIM_ADAGRAD, GM_OPTIM_RMSPROP};
    const int counts[5] = {1, 2, 2, 1, 3};
    for (int c = 0; c < 5; c++) {
        gm_optim_config cfg = gm_optim_defaults(types[c]);
        cfg.momentum = 0.9;
        cfg.centered = 1;
        cfg.initial_accumulator_value = 0.1;
        gm_params a, b;
        lcg = 5;
        make_big(&a);
        lcg = 5;
        make_big(&b);
        gm_optim *oa = gm_optim_new(&cfg, &a), *ob1 = gm_optim_new(&cfg, &b);
        CHECK(oa && ob1, "new");
        if (!oa || !ob1) break;
        CHECK(gm_optim_state_count(oa) == counts[c], "%s: %d state arrays", gm_optim_type_name(types[c]), gm_optim_state_count(oa));
        if (types[c] == GM_OPTIM_ADAGRAD) CHECK(gm_optim_state_data(oa, 0)[7] == 0.1f, "adagrad initial accumulator");
        for (int t = 1; t <= 5; t++) {
            uint64_t save = lcg;
            fill_grads(&a, 1.0f);
            lcg = save;
            fill_grads(&b, 1.0f);
            gm_optim_step(oa, &a, 1e-2);
            if (t == 3) { /* "save" ob1, "load" into ob2 */
                gm_optim_step(ob1, &b, 1e-2);
                gm_optim *ob2 = gm_optim_new(&cfg, &b);
                for (int i = 0; i < gm_optim_state_count(ob1); i++) {
                    CHECK(strcmp(gm_optim_state_name(ob1, i), gm_optim_state_name(ob2, i)) == 0, "names");
                    CHECK(gm_optim_state_len(ob1, i) == b.total, "len");
                    memcpy(gm_optim_state_data(ob2, i), gm_optim_state_data(ob1, i), sizeof(float) * (size_t)b.total);
                }
                CHECK(gm_optim_set_step(ob2, gm_optim_get_step(ob1)) == GM_OK, "set_step");
                gm_optim_free(ob1);
                ob1 = ob2;
            } else {
                gm_optim_step(ob1, &b, 1e-2);
            }
        }
        CHECK(memcmp(a.data, b.data, sizeof(float) * (size_t)a.total) == 0, "%s: resumed run identical", gm_optim_type_name(types[c]));
        CHECK(gm_optim_state_name(oa, counts[c]) == NULL && gm_optim_state_data(oa, -1) == NULL &&
              gm_optim_state_len(oa, 99) == 0, "out-of-range state index");
        gm_optim_reset(oa);
        CHECK(gm_optim_get_step(oa) == 0, "reset step");
        gm_optim_free(oa);
        gm_optim_free(ob1);
        gm_params_free(&a);
        gm_params_free(&b);
    }
}

static void test_errors(void) {
    gm_params p, other;
    make_params(&p);
    gm_params_init(&other);
    int64_t s[1] = {3};
    gm_params_add(&other, "x", 1, s, 1);
    CHECK(gm_optim_new(&(gm_optim_config){.type = GM_OPTIM_SGD, .lr = 0.1}, &other) == NULL, "unfinalized params rejected");
    gm_params_finalize(&other);
    gm_optim_config c = gm_optim_defaults(GM_OPTIM_ADAM);
    c.beta1 = 1.0;
    CHECK(gm_optim_new(&c, &p) == NULL && strstr(gm_last_error(), "beta1"), "beta1: %s", gm_last_error());
    c = gm_optim_defaults(GM_OPTIM_SGD);
    c.nesterov = 1;
    CHECK(gm_optim_config_check(&c) == GM_ERR_ARG && strstr(gm_last_error(), "nesterov"), "nesterov: %s", gm_last_error());
    c = gm_optim_defaults(GM_OPTIM_RMSPROP);
    c.lr = -1;
    CHECK(gm_optim_config_check(&c) == GM_ERR_ARG && strstr(gm_last_error(), "lr"), "lr: %s", gm_last_error());
    c = gm_optim_defaults(GM_OPTIM_ADAGRAD);
    gm_optim *o = gm_optim_new(&c, &p);
    CHECK(o != NULL, "adagrad new");
    float before = p.data[0];
    CHECK(gm_optim_step(o, &other, 0.1) == GM_ERR_ARG && strstr(gm_last_error(), "params"), "other params: %s", gm_last_error());
    CHECK(gm_optim_step(o, &p, -0.1) == GM_ERR_ARG, "negative lr");
    CHECK(gm_optim_step(o, &p, NAN) == GM_ERR_ARG, "NaN lr");
    CHECK(p.data[0] == before && gm_optim_get_step(o) == 0, "failed steps change nothing");
    CHECK(gm_optim_set_step(o, -1) == GM_ERR_ARG, "negative step");
    gm_optim_type t;
    CHECK(gm_optim_type_parse("adamw", &t) == GM_OK && t == GM_OPTIM_ADAMW, "parse adamw");
    CHECK(gm_optim_type_parse("lion", &t) == GM_ERR_ARG && strstr(gm_last_error(), "lion"), "parse unknown");
    CHECK(strcmp(gm_optim_type_name(GM_OPTIM_RMSPROP), "rmsprop") == 0, "name");
    gm_ema *e = gm_ema_new(&p, 0.99, 0);
    CHECK(gm_ema_update(e, &other) == GM_ERR_ARG, "ema: other params");
    gm_ema_free(e);
    gm_optim_free(o);
    gm_params_free(&other);
    gm_params_free(&p);
}

int main(void) {
    gm_golden *g = gm_golden_open(gm_test_src_path("tests/golden/optim.safetensors"));
    CHECK(g != NULL, "golden file: %s", gm_last_error());
    if (g) {
        test_golden_optimizers(g);
        test_golden_clip(g);
        test_golden_schedules(g);
        gm_golden_close(g);
    }
    test_ema();
    test_big_vs_reference();
    test_norm_deterministic();
    test_state_resume();
    test_errors();
    TEST_MAIN_END();
}
