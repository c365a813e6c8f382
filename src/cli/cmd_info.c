/*
 * cmd_info.c — `genmod info FILE`: what a safetensors checkpoint or a
 * training-state file holds (metadata, tensors with dtypes and shapes), after
 * validating it; genmod checkpoints are fully loaded to prove they are usable.
 */
#include "cli.h"
#include "genmod/safetensors.h"
#include "genmod/trainstate.h"
#include <string.h>

static const char *dtype_name(gm_st_dtype t) {
    static const char *names[] = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                  "BF16", "I32", "U32", "F32", "F64", "I64", "U64"};
    return (int)t >= 0 && (int)t < (int)(sizeof names / sizeof names[0]) ? names[t] : "?";
}

int cmd_info(int argc, char **argv) {
    cli_spec spec = {"info", {NULL}, {0}, NULL, 1, 1};
    cli_args a;
    int rc = cli_parse(&spec, argc, argv, 2, &a);
    if (rc) return rc;
    if (a.help) {
        printf("usage: genmod info FILE\nValidates a checkpoint (.safetensors) or training state (state.gmts) and prints\n"
               "its metadata and tensors.\n");
        return 0;
    }
    const char *path = a.pos[0];
    gm_st_reader *r = NULL;
    if (gm_st_open(path, &r) != GM_OK) return cli_fail_lib("info");
    const char *fmt = gm_st_metadata(r, "format");
    if (fmt && !strcmp(fmt, "genmod-checkpoint")) {
        gm_model *m = NULL;
        if (gm_model_load(path, &m, NULL) != GM_OK) {
            gm_st_close(r);
            return cli_fail_lib("info");
        }
        printf("%s: genmod checkpoint, model %s (%s), %lld parameters, data %lld values", path, m->def->name, m->def->summary,
               (long long)gm_params_count_trainable(&m->params), (long long)m->dim);
        if (m->h > 0) printf(" (%dx%dx%d images)", m->c, m->h, m->w);
        printf("\n");
        gm_model_free(m);
    } else if (fmt && !strcmp(fmt, "genmod-trainstate")) {
        gm_ts_reader *ts = NULL;
        if (gm_ts_open(path, &ts) != GM_OK) {
            gm_st_close(r);
            return cli_fail_lib("info");
        }
        gm_ts_close(ts);
        printf("%s: genmod training state\n", path);
    } else {
        printf("%s: safetensors file (not written by genmod)\n", path);
    }
    printf("metadata:\n");
    for (int64_t i = 0; i < gm_st_metadata_count(r); i++)
        printf("  %s = %s\n", gm_st_metadata_key(r, i), gm_st_metadata_value(r, i));
    printf("tensors:\n");
    for (int64_t i = 0; i < gm_st_count(r); i++) {
        const gm_st_info *t = gm_st_entry(r, i);
        printf("  %-24s %-5s (", t->name, dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
        printf(")\n");
    }
    gm_st_close(r);
    return 0;
}
