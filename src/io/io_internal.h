/*
 * io_internal.h — helpers shared by the file formats in src/io (not public
 * API): reading a whole file with checked reads, and atomic replacement of an
 * output file (temp file in the same directory, fflush + fsync, rename,
 * fsync of the directory).
 */
#ifndef GENMOD_IO_INTERNAL_H
#define GENMOD_IO_INTERNAL_H

#include "genmod/error.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Reads all of `path` into a malloc'd buffer (*buf, *len; one spare zero byte
 * after the end). GM_ERR_IO (with the errno text) if it cannot be opened or
 * read, GM_ERR_FORMAT if it is larger than max_bytes or changes size while
 * being read, GM_ERR_NOMEM. Messages name the path. */
gm_status gm_io_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len);

/* An output file being written: bytes go to a temporary file
 * "<path>.tmp.XXXXXX" beside `path`; gm_atomic_commit() makes it appear under
 * `path` in one step, gm_atomic_abort() removes it. Writes after a failure
 * are no-ops; the first failure is reported by commit. */
typedef struct gm_atomic_file {
    FILE *f;
    char *tmp;      /* temp path (malloc'd) */
    char *path;     /* final path (malloc'd) */
    gm_status st;   /* first failure */
} gm_atomic_file;

/* Creates the temp file (mode 0666 minus the umask). GM_ERR_IO naming the path if the
 * directory is missing or not writable. On failure *a needs no cleanup. */
gm_status gm_atomic_open(gm_atomic_file *a, const char *path);

/* Appends n bytes (checked fwrite). Returns the sticky status. */
gm_status gm_atomic_write(gm_atomic_file *a, const void *p, size_t n);

/* fflush, fsync, fclose (all checked), rename over the final path, fsync of
 * the directory. On any failure the temp file is unlinked and an existing
 * file at `path` is left untouched. Frees a's strings in every case. */
gm_status gm_atomic_commit(gm_atomic_file *a);

/* Closes and unlinks the temp file; frees a's strings. Safe after a failed
 * open or a commit (does nothing then). */
void gm_atomic_abort(gm_atomic_file *a);

/* Length (1..4) of the valid UTF-8 sequence at s (avail >= 1 bytes there),
 * 0 if invalid: bad lead or continuation byte, truncated, overlong form,
 * surrogate, above U+10FFFF. Shared by the JSON parser and writer. */
static inline int gm_utf8_seq_len(const unsigned char *s, size_t avail) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int len;
    unsigned cp, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (avail < (size_t)len) return 0;
    for (int k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Little-endian loads/stores (any alignment). */
static inline uint64_t gm_load_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline void gm_store_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) { p[i] = (uint8_t)(v & 0xff); v >>= 8; }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "genmod file formats assume a little-endian host"
#endif

#endif
