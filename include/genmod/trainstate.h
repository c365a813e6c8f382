/*
 * genmod/trainstate.h — the training-state file (exact resume of a run).
 *
 * What this is: a safetensors file (self-describing, readable in Python) that
 * holds whatever the trainer needs besides the model weights (those are in
 * the checkpoint):
 *   tensors   "opt.<state>"  F32 (n)  optimizer moments, torch's names
 *                                     ("opt.exp_avg", "opt.exp_avg_sq", ...)
 *             "rng.<stream>" I64 (6)  a gm_rng: s[0..3] (uint64 bit patterns
 *                                     stored as int64), spare_normal (the
 *                                     double's IEEE bits as int64), has_spare
 *             any other name: F32 arrays / U8 byte blobs the trainer adds
 *   metadata  "format" = "genmod-trainstate", "format_version" = "1",
 *             "genmod_version", written automatically; int64 values as
 *             decimal strings ("step", "epoch", "data_position", ...);
 *             strings ("model_type", ...); with gm_ts_put_optim also
 *             "optimizer" (name), "optimizer_config" (JSON of every
 *             gm_optim_config field) and "optimizer_step".
 * The key names above are conventions of the trainer except those written
 * by gm_ts_put_rng / gm_ts_put_optim. See docs/CHECKPOINTS.md.
 * The reader rejects files whose "format" is not "genmod-trainstate"
 * (GM_ERR_FORMAT) or whose format_version is newer (GM_ERR_UNSUPPORTED).
 * What this is not: the model checkpoint, a stable interchange format.
 */
#ifndef GENMOD_TRAINSTATE_H
#define GENMOD_TRAINSTATE_H

#include <stddef.h>
#include <stdint.h>
#include "genmod/error.h"
#include "genmod/optim.h"
#include "genmod/rng.h"
#include "genmod/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GM_TS_FORMAT "genmod-trainstate"
#define GM_TS_FORMAT_VERSION 1

/* ------------------------------------------------------------------ writing */

typedef struct gm_ts_writer gm_ts_writer;

/* New empty state; NULL on allocation failure. */
gm_ts_writer *gm_ts_writer_new(void);
/* Frees it (NULL is fine). */
void gm_ts_writer_free(gm_ts_writer *w);

/* Float array `name` (n >= 0 floats, copied), stored F32 shape (n). */
gm_status gm_ts_put_floats(gm_ts_writer *w, const char *name, const float *x, int64_t n);
/* Byte blob `name` (n bytes, copied), stored U8 shape (n). */
gm_status gm_ts_put_bytes(gm_ts_writer *w, const char *name, const void *p, size_t n);
/* Metadata key = decimal text of v. */
gm_status gm_ts_put_int64(gm_ts_writer *w, const char *key, int64_t v);
/* Metadata key = s (UTF-8). */
gm_status gm_ts_put_string(gm_ts_writer *w, const char *key, const char *s);
/* Tensor "rng.<stream>" from r (layout in the file comment). */
gm_status gm_ts_put_rng(gm_ts_writer *w, const char *stream, const gm_rng *r);
/* Every state array of opt as "opt.<state name>", plus metadata "optimizer",
 * "optimizer_config" and "optimizer_step". */
gm_status gm_ts_put_optim(gm_ts_writer *w, const gm_optim *opt);
/* All put_* return GM_OK; GM_ERR_ARG for a NULL / invalid / duplicate name, a
 * reserved metadata key ("format", "format_version", "genmod_version"), n < 0;
 * GM_ERR_NOMEM. A metadata key set twice keeps the last value. */

/* Writes the file atomically (see gm_st_writer_save). GM_ERR_IO naming path. */
gm_status gm_ts_save(const gm_ts_writer *w, const char *path);

/* ------------------------------------------------------------------ reading */

typedef struct gm_ts_reader gm_ts_reader;

/* Opens and validates a training-state file (safetensors checks plus the
 * format / version metadata). Errors as gm_st_open, plus GM_ERR_FORMAT (not a
 * training state) and GM_ERR_UNSUPPORTED (newer format_version). */
gm_status gm_ts_open(const char *path, gm_ts_reader **out);
/* Same from memory (copied); name for messages (NULL -> "<memory>"). */
gm_status gm_ts_open_mem(const void *data, size_t len, const char *name, gm_ts_reader **out);
void gm_ts_close(gm_ts_reader *r);

/* Length of float array `name`, or -1 if absent or not F32. */
int64_t gm_ts_floats_len(const gm_ts_reader *r, const char *name);
/* Copies float array `name` (must be F32 with exactly n elements). */
gm_status gm_ts_get_floats(const gm_ts_reader *r, const char *name, float *dst, int64_t n);
/* Copies byte blob `name` (must be U8 with exactly n elements). */
gm_status gm_ts_get_bytes(const gm_ts_reader *r, const char *name, void *dst, size_t n);
/* Metadata `key` parsed as a strict decimal int64. */
gm_status gm_ts_get_int64(const gm_ts_reader *r, const char *key, int64_t *v);
/* Metadata `key` (valid until gm_ts_close). */
gm_status gm_ts_get_string(const gm_ts_reader *r, const char *key, const char **s);
/* Restores the gm_rng stored as "rng.<stream>". */
gm_status gm_ts_get_rng(const gm_ts_reader *r, const char *stream, gm_rng *out);
/* Restores opt's state arrays and step count. The file's optimizer must
 * have the same type as opt (GM_ERR_ARG otherwise) and arrays of opt's
 * lengths (GM_ERR_SHAPE). The optimizer is unchanged on failure. */
gm_status gm_ts_get_optim(const gm_ts_reader *r, gm_optim *opt);
/* Parses "optimizer_config" back into *cfg (fields absent from the JSON keep
 * gm_optim_defaults(type) values). */
gm_status gm_ts_get_optim_config(const gm_ts_reader *r, gm_optim_config *cfg);
/* All get_* return GM_OK; GM_ERR_NOTFOUND (absent name / key), GM_ERR_FORMAT
 * (wrong dtype, unparsable value, invalid rng state), GM_ERR_SHAPE (length). */

/* The underlying safetensors reader (for listing tensors / metadata). */
const gm_st_reader *gm_ts_tensors(const gm_ts_reader *r);

#ifdef __cplusplus
}
#endif
#endif
