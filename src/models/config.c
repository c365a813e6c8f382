/*
 * config.c — gm_config (a small fixed-size string key/value map) and the
 * hyper-parameter specs that validate values before they are stored; see
 * genmod/model.h.
 *
 * Values are kept as text: a config is what the CLI parsed, what the trainer
 * resolved and what a checkpoint stores as its "config" JSON object, so
 * every reader sees the same strings. Typed reads (gm_config_int/_float)
 * trust values that went through gm_hparam_set.
 * What this is not: a command-line parser (the CLI maps --name VALUE onto
 * gm_hparam_set) or a nested configuration format.
 */
#include "genmod/model.h"
#include "genmod/json.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX ((int)sizeof(((gm_config *)0)->kv[0].key) - 1) /* 39 */
#define VAL_MAX ((int)sizeof(((gm_config *)0)->kv[0].val) - 1) /* 215 */

/* Sets (or replaces) key=val. GM_ERR_ARG for NULL / empty / too long key or
 * value, or a full config. */
gm_status gm_config_set(gm_config *c, const char *key, const char *val) {
    if (!c || !key || !val) return gm_error(GM_ERR_ARG, "config: NULL argument");
    size_t kl = strlen(key), vl = strlen(val);
    if (kl == 0 || kl > (size_t)KEY_MAX)
        return gm_error(GM_ERR_ARG, "config: key '%.60s' must have 1 to %d characters", key, KEY_MAX);
    if (vl > (size_t)VAL_MAX)
        return gm_error(GM_ERR_ARG, "--%s: value is %zu characters long, at most %d allowed", key, vl, VAL_MAX);
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->kv[i].key, key) == 0) {
            memcpy(c->kv[i].val, val, vl + 1);
            return GM_OK;
        }
    if (c->n < 0 || c->n >= GM_CONFIG_MAX)
        return gm_error(GM_ERR_ARG, "config: full (%d keys), cannot add '%s'", GM_CONFIG_MAX, key);
    memcpy(c->kv[c->n].key, key, kl + 1);
    memcpy(c->kv[c->n].val, val, vl + 1);
    c->n++;
    return GM_OK;
}

/* Value of key or NULL. */
const char *gm_config_get(const gm_config *c, const char *key) {
    if (!c || !key) return NULL;
    for (int i = 0; i < c->n && i < GM_CONFIG_MAX; i++)
        if (strcmp(c->kv[i].key, key) == 0) return c->kv[i].val;
    return NULL;
}

/* Strict integer parse: optional sign, digits, nothing else. 1 on success. */
static int parse_int(const char *s, int64_t *out) {
    if (!s || !s[0] || isspace((unsigned char)s[0])) return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || end == s || *end != '\0') return 0;
    *out = (int64_t)v;
    return 1;
}

/* Strict finite float parse (strtod syntax, no trailing junk, no nan/inf). */
static int parse_float(const char *s, double *out) {
    if (!s || !s[0] || isspace((unsigned char)s[0])) return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* Integer value of key; `def` when absent or not an integer. */
int64_t gm_config_int(const gm_config *c, const char *key, int64_t def) {
    int64_t v;
    return parse_int(gm_config_get(c, key), &v) ? v : def;
}

/* Float value of key; `def` when absent or not a finite number. */
double gm_config_float(const gm_config *c, const char *key, double def) {
    double v;
    return parse_float(gm_config_get(c, key), &v) ? v : def;
}

/* {"k":"v",...} with every value a JSON string, in insertion order. */
gm_status gm_config_to_json(const gm_config *c, char *buf, size_t n) {
    if (!c || !buf || n == 0) return gm_error(GM_ERR_ARG, "config: NULL or empty output buffer");
    gm_json_writer w;
    gm_jw_init(&w);
    gm_jw_begin_object(&w);
    for (int i = 0; i < c->n && i < GM_CONFIG_MAX; i++) gm_jw_kv_string(&w, c->kv[i].key, c->kv[i].val);
    gm_jw_end_object(&w);
    char *text = NULL;
    size_t len = 0;
    gm_status st = gm_jw_finish(&w, &text, &len);
    if (st != GM_OK) return gm_error(st, "config: cannot write as JSON (a key or value is not valid UTF-8?)");
    if (len + 1 > n) {
        free(text);
        return gm_error(GM_ERR_ARG, "config: JSON text needs %zu bytes, buffer has %zu", len + 1, n);
    }
    memcpy(buf, text, len + 1);
    free(text);
    return GM_OK;
}

/* Range bound as text: integers without exponent where possible. */
static void fmt_bound(char *b, size_t n, double v, char type) {
    if (type == 'i' && fabs(v) < 1e15) snprintf(b, n, "%.0f", v);
    else snprintf(b, n, "%g", v);
}

/* Validates `val` against the spec and stores it (integers in canonical
 * decimal form, floats and strings as given). GM_ERR_ARG "--name: ...". */
gm_status gm_hparam_set(gm_config *c, const gm_hparam *spec, const char *val) {
    if (!c || !spec || !spec->name) return gm_error(GM_ERR_ARG, "hparam: NULL argument");
    if (!val) return gm_error(GM_ERR_ARG, "--%s: missing value", spec->name);
    char lo[32], hi[32];
    fmt_bound(lo, sizeof lo, spec->lo, spec->type);
    fmt_bound(hi, sizeof hi, spec->hi, spec->type);
    switch (spec->type) {
    case 'i': {
        int64_t v = 0;
        if (!parse_int(val, &v) || (double)v < spec->lo || (double)v > spec->hi)
            return gm_error(GM_ERR_ARG, "--%s: expected an integer in [%s, %s], got \"%.100s\"", spec->name, lo, hi, val);
        char text[32];
        snprintf(text, sizeof text, "%lld", (long long)v);
        return gm_config_set(c, spec->name, text);
    }
    case 'f': {
        double v = 0;
        if (!parse_float(val, &v) || v < spec->lo || v > spec->hi)
            return gm_error(GM_ERR_ARG, "--%s: expected a number in [%s, %s], got \"%.100s\"", spec->name, lo, hi, val);
        return gm_config_set(c, spec->name, val);
    }
    case 's':
        return gm_config_set(c, spec->name, val);
    default:
        return gm_error(GM_ERR_ARG, "--%s: hparam spec has unknown type '%c'", spec->name, spec->type);
    }
}

/* Fills each spec's default (validated like a user value) where c has none. */
gm_status gm_hparams_defaults(gm_config *c, const gm_hparam *specs, int n) {
    if (!c || (n > 0 && !specs)) return gm_error(GM_ERR_ARG, "hparams: NULL argument");
    for (int i = 0; i < n; i++) {
        if (!specs[i].name || !specs[i].def || gm_config_get(c, specs[i].name)) continue;
        gm_status st = gm_hparam_set(c, &specs[i], specs[i].def);
        if (st != GM_OK) return st;
    }
    return GM_OK;
}
