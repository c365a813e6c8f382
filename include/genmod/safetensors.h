/*
 * genmod/safetensors.h — read and write safetensors files (checkpoints,
 * training states, golden test data).
 *
 * Format (https://huggingface.co/docs/safetensors): a u64 little-endian
 * header length N, N bytes of UTF-8 JSON, then the data buffer:
 *   {"__metadata__": {"key": "value", ...},        (optional, strings only)
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
 *    ...}
 * Offsets are relative to the start of the data buffer (byte 8 + N); data is
 * little-endian, row-major.
 *
 * The reader is as strict as the reference (Rust) implementation: N <= 100 MB
 * and <= file size - 8; the header starts with '{' and is one valid JSON
 * object (trailing spaces allowed); every entry has exactly the fields dtype
 * (known), shape (<= GM_ST_MAX_DIMS non-negative integers, element count and
 * byte size without overflow) and data_offsets (two integers, end - begin ==
 * numel * itemsize); the tensors, sorted by offset, tile the data buffer
 * exactly: no overlap, no gap, no trailing bytes. Every failure is
 * GM_ERR_FORMAT with a message naming the file, the tensor and the problem
 * (GM_ERR_UNSUPPORTED for more than GM_ST_MAX_DIMS dims), never a crash.
 *
 * The writer lays the data out by decreasing item size (stable), as Python's
 * safetensors does, so every tensor is aligned to its item size, pads the
 * header with spaces to a multiple of 8 bytes, lists "__metadata__" first and
 * the tensors in insertion order, and replaces the file atomically.
 * Files are readable by Python `safetensors` and `torch` (tested).
 * What this is not: mmap (the whole file is read into memory), big-endian
 * hosts, writing F16/BF16 conversions.
 */
#ifndef GENMOD_SAFETENSORS_H
#define GENMOD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "genmod/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GM_ST_MAX_DIMS 8
#define GM_ST_MAX_HEADER ((uint64_t)100000000) /* bytes, as the reference implementation */

typedef enum gm_st_dtype {
    GM_ST_BOOL = 0,
    GM_ST_U8 = 1,
    GM_ST_I8 = 2,
    GM_ST_F8_E5M2 = 3,
    GM_ST_F8_E4M3 = 4,
    GM_ST_I16 = 5,
    GM_ST_U16 = 6,
    GM_ST_F16 = 7,
    GM_ST_BF16 = 8,
    GM_ST_I32 = 9,
    GM_ST_U32 = 10,
    GM_ST_F32 = 11,
    GM_ST_F64 = 12,
    GM_ST_I64 = 13,
    GM_ST_U64 = 14
} gm_st_dtype;

/* "F32", "BF16", ... ("?" for an invalid value). */
const char *gm_st_dtype_name(gm_st_dtype dt);
/* Bytes per element (0 for an invalid value). */
size_t gm_st_dtype_size(gm_st_dtype dt);
/* Parses a dtype name as written in headers (case-sensitive, F8 names are
 * "F8_E5M2" / "F8_E4M3"). Returns 1 and sets *dt, or 0 if unknown. */
int gm_st_dtype_parse(const char *name, gm_st_dtype *dt);

/* ------------------------------------------------------------------ reader */

typedef struct gm_st_reader gm_st_reader;

/* One tensor of an open file (valid until gm_st_close). */
typedef struct gm_st_info {
    const char *name;
    gm_st_dtype dtype;
    int ndim;                        /* 0 (scalar) .. GM_ST_MAX_DIMS */
    int64_t shape[GM_ST_MAX_DIMS];   /* unused trailing dims are 1 */
    int64_t numel;
    uint64_t offset, nbytes;         /* in the data buffer */
    const uint8_t *data;             /* nbytes raw little-endian bytes, any alignment */
} gm_st_info;

/* Reads the whole file at `path` and validates it (see the file comment).
 * On success *out is the reader (free with gm_st_close). Errors:
 * GM_ERR_NOTFOUND (no such file), GM_ERR_IO, GM_ERR_FORMAT, GM_ERR_UNSUPPORTED,
 * GM_ERR_NOMEM; *out is NULL then. */
gm_status gm_st_open(const char *path, gm_st_reader **out);

/* Same from bytes in memory (copied; the caller keeps its buffer). `name`
 * is used in messages (NULL -> "<memory>"). */
gm_status gm_st_open_mem(const void *data, size_t len, const char *name, gm_st_reader **out);

/* Frees the reader and everything it returned (NULL is fine). */
void gm_st_close(gm_st_reader *r);

/* Number of tensors ("__metadata__" is not one). */
int64_t gm_st_count(const gm_st_reader *r);

/* Tensor i in data-offset order (0 <= i < count), NULL if out of range. */
const gm_st_info *gm_st_entry(const gm_st_reader *r, int64_t i);

/* Tensor by exact name (O(log n)); NULL if absent. */
const gm_st_info *gm_st_find(const gm_st_reader *r, const char *name);

/* Copies tensor `name` into dst as float32, converting from any dtype (F64
 * rounded; F16/BF16/F8 exact; integers and BOOL by value, large ones
 * rounded). Its shape must be exactly (ndim, shape) (ndim 0 = a scalar).
 * Returns GM_OK; GM_ERR_NOTFOUND (no such tensor), GM_ERR_SHAPE (message shows
 * both shapes), GM_ERR_ARG (NULL dst/shape). */
gm_status gm_st_read_f32(const gm_st_reader *r, const char *name, int ndim, const int64_t *shape, float *dst);

/* As gm_st_read_f32, but any shape with exactly n elements is accepted. */
gm_status gm_st_read_f32_n(const gm_st_reader *r, const char *name, int64_t n, float *dst);

/* Copies an integer or BOOL tensor with exactly n elements into dst as
 * int64. GM_ERR_FORMAT for a float dtype or a U64 value > INT64_MAX;
 * GM_ERR_NOTFOUND, GM_ERR_SHAPE as above. */
gm_status gm_st_read_i64_n(const gm_st_reader *r, const char *name, int64_t n, int64_t *dst);

/* Metadata value for `key` (NUL-terminated string), NULL if absent. */
const char *gm_st_metadata(const gm_st_reader *r, const char *key);
/* Number of metadata entries, and entry i's key / value (NULL if out of range). */
int64_t gm_st_metadata_count(const gm_st_reader *r);
const char *gm_st_metadata_key(const gm_st_reader *r, int64_t i);
const char *gm_st_metadata_value(const gm_st_reader *r, int64_t i);

/* The name given at open (path or memory name), for messages. */
const char *gm_st_name(const gm_st_reader *r);

/* ------------------------------------------------------------------ writer */

typedef struct gm_st_writer gm_st_writer;

/* flags for gm_st_writer_add */
#define GM_ST_COPY 1 /* copy the data now (else the caller keeps it valid until save / free) */

/* New empty writer; NULL on allocation failure. */
gm_st_writer *gm_st_writer_new(void);

/* Frees the writer and its copies (NULL is fine). */
void gm_st_writer_free(gm_st_writer *w);

/* Adds a tensor of any dtype: ndim 0..GM_ST_MAX_DIMS, shape entries >= 0,
 * data = numel * itemsize little-endian bytes (may be NULL when numel is 0).
 * With flags & GM_ST_COPY the bytes are copied; otherwise they are only
 * referenced and must stay valid and unchanged until gm_st_writer_save.
 * GM_ERR_ARG for an empty / non-UTF-8 / duplicate / "__metadata__" name, a
 * bad dtype or shape, NULL data; GM_ERR_NOMEM. */
gm_status gm_st_writer_add(gm_st_writer *w, const char *name, gm_st_dtype dtype, int ndim, const int64_t *shape,
                           const void *data, int flags);

/* Shorthands that COPY the data: F32, I64, U8 tensors. */
gm_status gm_st_writer_add_f32(gm_st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data);
gm_status gm_st_writer_add_i64(gm_st_writer *w, const char *name, int ndim, const int64_t *shape, const int64_t *data);
gm_status gm_st_writer_add_u8(gm_st_writer *w, const char *name, int ndim, const int64_t *shape, const uint8_t *data);

/* Sets metadata key = value (both UTF-8 strings; a key set again is
 * replaced). Keys are written in insertion order. GM_ERR_ARG, GM_ERR_NOMEM. */
gm_status gm_st_writer_set_metadata(gm_st_writer *w, const char *key, const char *value);

/* Writes the file atomically: "<path>.tmp.XXXXXX" in the same directory,
 * fflush + fsync + close, rename over `path`, fsync of the directory. Every
 * write is checked; on failure the temp file is removed and an existing file
 * at `path` is left intact. The writer can be saved again or freed.
 * GM_ERR_IO (message names the path and the errno text), GM_ERR_NOMEM. */
gm_status gm_st_writer_save(const gm_st_writer *w, const char *path);

/* Builds the whole file image in memory instead (*buf malloc'd, caller frees). */
gm_status gm_st_writer_to_mem(const gm_st_writer *w, uint8_t **buf, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
