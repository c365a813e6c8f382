/*
 * data_internal.h — helpers shared by the readers in src/data (not public API).
 *
 * Every reader is "bytes in, split out": gm_data_load_file() reads a whole
 * file (gunzipping it when it starts with 1f 8b) and gm_data_unpack_mem() does
 * the same for a caller's buffer; the format parsers then see plain bytes only.
 */
#ifndef GENMOD_DATA_INTERNAL_H
#define GENMOD_DATA_INTERNAL_H

#include "genmod/data.h"
#include <stdint.h>

/* Reads all of `path` into a malloc'd buffer (*buf, *len), decompressing gzip
 * (zlib gzopen/gzread) when the first two bytes are 1f 8b. Fails with
 * GM_ERR_FORMAT if the (decompressed) size exceeds max_bytes or the gzip
 * stream is corrupt or truncated. An empty file gives *len = 0 and a 1-byte
 * buffer. Messages name the file's base name. */
gm_status gm_data_load_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len);

/* If buf starts with 1f 8b, inflates it (all gzip members) into a malloc'd
 * *out (*owned = 1); otherwise *out = buf, *owned = 0. */
gm_status gm_data_unpack_mem(const void *buf, size_t len, const char *name, size_t max_bytes, const uint8_t **out,
                             size_t *outlen, int *owned);

/* A dataset parser: bytes (already gunzipped) in, dataset out. */
typedef gm_status (*gm_data_parser)(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                                    gm_dataset *out);
/* The two entry points every dataset reader shares: load (or unpack) the
 * bytes with the size cap, run `parse`, free. *out is zeroed first. */
gm_status gm_data_read_file_with(gm_data_parser parse, const char *path, size_t max_bytes, const gm_read_opts *opts,
                                 gm_dataset *out);
gm_status gm_data_read_mem_with(gm_data_parser parse, const void *buf, size_t len, const char *name, size_t max_bytes,
                                const gm_read_opts *opts, gm_dataset *out);

/* Base name of a path (pointer into it). */
const char *gm_data_basename(const char *path);

/* max_bytes from opts (0 / NULL -> GM_DATA_MAX_BYTES). */
size_t gm_data_max_bytes(const gm_read_opts *opts);

/* Sets ds->name from a name (truncated to fit). */
void gm_data_set_name(gm_dataset *ds, const char *name);

/* Parses the token [s, e) as a double with strtod (bounded copy). Returns 1
 * if the whole token is a number, 0 otherwise (too long, junk, empty). */
int gm_data_parse_number(const char *s, const char *e, double *v);

/* splitmix64 finalizer: derives independent rng seeds from (seed, epoch)
 * in the loader's shuffling and in dynamic binarization. */
static inline uint64_t gm_data_mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Format parsers over plain bytes (name for messages). */
gm_status gm_data_parse_amat(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                             gm_dataset *out);
gm_status gm_data_parse_idx_images(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                                   gm_dataset *out);
gm_status gm_data_parse_idx_labels(const uint8_t *p, size_t len, const char *name, int64_t **labels, int64_t *n);
gm_status gm_data_parse_npy(const uint8_t *p, size_t len, const char *name, gm_npy *out);
gm_status gm_data_parse_csv(const uint8_t *p, size_t len, const char *name, const gm_read_opts *opts,
                            gm_dataset *out);

#endif
