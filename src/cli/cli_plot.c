/*
 * cli_plot.c — the density plot of 2-D models (`genmod sample` with a .png
 * output, and RUN/density.png after training): the model's density as a
 * heat map next to histograms of data and samples (gm_plot2d_png).
 */
#include "cli.h"
#include "genmod/png.h"
#include <stdlib.h>

typedef struct plot_ctx {
    gm_model *m;
    gm_ctx *ctx;
} plot_ctx;

static gm_status model_logp(void *user, const float *xy, int64_t n, double *out) {
    plot_ctx *p = user;
    gm_ctx_reset(p->ctx);
    return p->m->def->log_prob(p->m, p->ctx, xy, n, out);
}

int cli_plot2d(const char *cmd, const char *path, gm_model *m, const gm_dataset *data, const float *samples, int64_t n,
               double *mass) {
    if (m->dim != 2) return cli_fail(cmd, "%s: a density plot needs a 2-D model, this one has %lld dimensions", path, (long long)m->dim);
    plot_ctx p = {m, gm_ctx_new(0)};
    if (!p.ctx) return cli_fail(cmd, "out of memory");
    gm_set_training(p.ctx, 0);
    gm_plot2d_opts o = gm_plot2d_defaults();
    gm_status st = gm_plot2d_png(path, model_logp, &p, data ? data->x : NULL, data ? data->n : 0, samples, n, &o, mass);
    gm_ctx_free(p.ctx);
    return st != GM_OK ? cli_fail_lib(cmd) : 0;
}
