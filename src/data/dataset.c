/*
 * dataset.c — gm_dataset allocation, and whole-file / in-memory loading with
 * gzip detection by magic bytes, shared by every reader in src/data.
 *
 * Not here: any format parsing (read_*.c) or dataset names (registry.c).
 */
#include "data/data_internal.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* ==== gm_dataset ==== */

gm_status gm_dataset_alloc(gm_dataset *ds, int64_t n, int64_t d, int with_labels) {
    memset(ds, 0, sizeof *ds);
    if (n < 0 || d < 1) return gm_error(GM_ERR_ARG, "dataset: bad size n=%lld d=%lld", (long long)n, (long long)d);
    if (n > 0 && (uint64_t)d > (uint64_t)(SIZE_MAX / sizeof(float)) / (uint64_t)n)
        return gm_error(GM_ERR_ARG, "dataset: %lld x %lld floats do not fit in memory", (long long)n, (long long)d);
    ds->x = calloc((size_t)(n > 0 ? n : 1) * (size_t)d, sizeof(float));
    if (with_labels) ds->y = calloc((size_t)(n > 0 ? n : 1), sizeof(int64_t));
    if (!ds->x || (with_labels && !ds->y)) {
        gm_dataset_free(ds);
        return gm_error(GM_ERR_NOMEM, "dataset: out of memory for %lld x %lld floats", (long long)n, (long long)d);
    }
    ds->n = n;
    ds->d = d;
    return GM_OK;
}

void gm_dataset_free(gm_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    memset(ds, 0, sizeof *ds);
}

gm_status gm_dataset_slice(const gm_dataset *src, int64_t start, int64_t count, gm_dataset *out) {
    memset(out, 0, sizeof *out);
    if (start < 0 || count < 0 || start > src->n || count > src->n - start)
        return gm_error(GM_ERR_ARG, "%s: rows [%lld, %lld) are outside 0..%lld", src->name, (long long)start,
                        (long long)(start + count), (long long)src->n);
    gm_status st = gm_dataset_alloc(out, count, src->d, src->y != NULL);
    if (st != GM_OK) return st;
    memcpy(out->x, src->x + start * src->d, (size_t)count * (size_t)src->d * sizeof(float));
    if (src->y) memcpy(out->y, src->y + start, (size_t)count * sizeof(int64_t));
    out->c = src->c; out->h = src->h; out->w = src->w;
    memcpy(out->name, src->name, sizeof out->name);
    return GM_OK;
}

void gm_data_set_name(gm_dataset *ds, const char *name) {
    snprintf(ds->name, sizeof ds->name, "%s", name ? name : "");
}

const char *gm_data_basename(const char *path) {
    if (!path) return "(null)";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

size_t gm_data_max_bytes(const gm_read_opts *opts) {
    return opts && opts->max_bytes ? opts->max_bytes : GM_DATA_MAX_BYTES;
}

int gm_data_parse_number(const char *s, const char *e, double *v) {
    char tmp[64];
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (tmp[0] == ' ' || tmp[0] == '\t') return 0; /* strtod would skip it */
    char *end = NULL;
    double r = strtod(tmp, &end);
    if (end != tmp + n) return 0;
    *v = r;
    return 1;
}

/* ==== growable byte buffer, never above max+1 bytes ==== */

typedef struct { uint8_t *p; size_t len, cap; } gbuf;

/* Makes room for at least `want` more bytes, capped so len+room <= max+1.
 * Returns the room available (0 on allocation failure). */
static size_t gbuf_room(gbuf *b, size_t want, size_t max) {
    size_t limit = max < SIZE_MAX - 1 ? max + 1 : SIZE_MAX - 1;
    if (b->cap - b->len >= want || b->cap >= limit) return b->cap - b->len;
    size_t ncap = b->cap ? b->cap : 1;
    while (ncap - b->len < want && ncap < limit) ncap = ncap > limit / 2 ? limit : ncap * 2;
    uint8_t *np = realloc(b->p, ncap);
    if (!np) return 0;
    b->p = np;
    b->cap = ncap;
    return b->cap - b->len;
}

static gm_status too_big(const char *base, size_t max) {
    return gm_error(GM_ERR_FORMAT, "%s: larger than the %zu-byte limit (decompressed)", base, max);
}

static gm_status read_gzip_file(const char *path, size_t max_bytes, size_t hint, gbuf *b) {
    const char *base = gm_data_basename(path);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return gm_error(GM_ERR_IO, "%s: cannot open as gzip: %s", path, strerror(errno));
    gzbuffer(gz, 1 << 17);
    size_t want = hint < (1u << 20) ? (1u << 20) : hint;
    for (;;) {
        size_t room = gbuf_room(b, want, max_bytes);
        if (room == 0) {
            gzclose(gz);
            return b->len > max_bytes ? too_big(base, max_bytes)
                                      : gm_error(GM_ERR_NOMEM, "%s: out of memory while decompressing", base);
        }
        unsigned ask = room > (1u << 30) ? (1u << 30) : (unsigned)room;
        int got = gzread(gz, b->p + b->len, ask);
        if (got < 0) break; /* error: reported below */
        if (got == 0) break;
        b->len += (size_t)got;
        if (b->len > max_bytes) { gzclose(gz); return too_big(base, max_bytes); }
        want = b->len; /* grow geometrically */
    }
    int err = Z_OK;
    const char *msg = gzerror(gz, &err);
    gm_status st = GM_OK;
    if (err == Z_BUF_ERROR)
        st = gm_error(GM_ERR_FORMAT, "%s: truncated gzip stream (decompressed %zu bytes before the end)", base, b->len);
    else if (err != Z_OK)
        st = gm_error(GM_ERR_FORMAT, "%s: corrupt gzip data (zlib: %s)", base, msg ? msg : "?");
    gzclose(gz);
    return st;
}

gm_status gm_data_load_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    const char *base = gm_data_basename(path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return gm_error(errno == ENOENT ? GM_ERR_NOTFOUND : GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int sterr = fstat(fileno(f), &sb) != 0 ? errno : 0;
    if (sterr || !S_ISREG(sb.st_mode)) { /* a directory would "read" as a huge or unreadable file */
        fclose(f);
        return sterr ? gm_error(GM_ERR_IO, "%s: cannot stat: %s", path, strerror(sterr))
                     : gm_error(GM_ERR_IO, "%s: not a regular file", path);
    }
    uint8_t magic[2] = {0, 0};
    size_t nm = fread(magic, 1, 2, f);
    long fsize = -1;
    if (fseek(f, 0, SEEK_END) == 0) fsize = ftell(f);
    gbuf b = {NULL, 0, 0};
    gm_status st = GM_OK;
    if (nm == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        size_t hint = fsize > 0 ? (size_t)fsize * 4 : 0;
        if (hint > max_bytes) hint = max_bytes;
        st = read_gzip_file(path, max_bytes, hint, &b);
    } else {
        if (fsize >= 0 && (size_t)fsize > max_bytes) { fclose(f); return too_big(base, max_bytes); }
        rewind(f);
        size_t want = fsize > 0 ? (size_t)fsize + 1 : (1u << 16);
        for (;;) {
            size_t room = gbuf_room(&b, want, max_bytes);
            if (room == 0) {
                st = b.len > max_bytes ? too_big(base, max_bytes) : gm_error(GM_ERR_NOMEM, "%s: out of memory", base);
                break;
            }
            size_t got = fread(b.p + b.len, 1, room, f);
            b.len += got;
            if (b.len > max_bytes) { st = too_big(base, max_bytes); break; }
            if (got < room) {
                if (ferror(f)) st = gm_error(GM_ERR_IO, "%s: read error: %s", path, strerror(errno));
                break;
            }
            want = b.len;
        }
        fclose(f);
    }
    if (st == GM_OK && !b.p) { /* empty file */
        b.p = malloc(1);
        if (!b.p) st = gm_error(GM_ERR_NOMEM, "%s: out of memory", base);
    }
    if (st != GM_OK) { free(b.p); return st; }
    *buf = b.p;
    *len = b.len;
    return GM_OK;
}

gm_status gm_data_unpack_mem(const void *buf, size_t len, const char *name, size_t max_bytes, const uint8_t **out,
                             size_t *outlen, int *owned) {
    const uint8_t *in = buf;
    *out = in;
    *outlen = len;
    *owned = 0;
    if (len < 2 || in[0] != 0x1f || in[1] != 0x8b) return GM_OK;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return gm_error(GM_ERR_NOMEM, "%s: zlib init failed", name);
    gbuf b = {NULL, 0, 0};
    size_t used = 0; /* input bytes consumed */
    gm_status st = GM_OK;
    size_t want = len * 4 < (1u << 16) ? (1u << 16) : len * 4;
    for (;;) {
        size_t room = gbuf_room(&b, want, max_bytes);
        if (room == 0) {
            st = b.len > max_bytes ? too_big(name, max_bytes) : gm_error(GM_ERR_NOMEM, "%s: out of memory", name);
            break;
        }
        size_t in_left = len - used;
        zs.next_in = (Bytef *)(in + used);
        zs.avail_in = in_left > UINT_MAX ? UINT_MAX : (uInt)in_left;
        zs.next_out = b.p + b.len;
        zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
        uInt ain = zs.avail_in, aout = zs.avail_out;
        int rc = inflate(&zs, Z_NO_FLUSH);
        used += ain - zs.avail_in;
        b.len += aout - zs.avail_out;
        if (b.len > max_bytes) { st = too_big(name, max_bytes); break; }
        if (rc == Z_STREAM_END) {
            /* another gzip member follows? (trailing non-gzip bytes are ignored, as gzread does) */
            if (len - used >= 2 && in[used] == 0x1f && in[used + 1] == 0x8b) { inflateReset(&zs); continue; }
            break;
        }
        if (rc == Z_OK || rc == Z_BUF_ERROR) {
            if (zs.avail_out == 0) { want = b.len; continue; } /* output full: grow */
            if (used == len) {
                st = gm_error(GM_ERR_FORMAT, "%s: truncated gzip stream (decompressed %zu bytes before the end)",
                              name, b.len);
                break;
            }
            if (rc == Z_OK) continue; /* more input than one inflate call takes */
        }
        st = gm_error(GM_ERR_FORMAT, "%s: corrupt gzip data (zlib: %s)", name, zs.msg ? zs.msg : "error");
        break;
    }
    inflateEnd(&zs);
    if (st == GM_OK && !b.p) {
        b.p = malloc(1);
        if (!b.p) st = gm_error(GM_ERR_NOMEM, "%s: out of memory", name);
    }
    if (st != GM_OK) { free(b.p); return st; }
    *out = b.p;
    *outlen = b.len;
    *owned = 1;
    return GM_OK;
}

gm_status gm_data_read_file_with(gm_data_parser parse, const char *path, size_t max_bytes, const gm_read_opts *opts,
                                 gm_dataset *out) {
    uint8_t *p;
    size_t n;
    memset(out, 0, sizeof *out);
    gm_status st = gm_data_load_file(path, max_bytes, &p, &n);
    if (st != GM_OK) return st;
    st = parse(p, n, gm_data_basename(path), opts, out);
    free(p);
    return st;
}

gm_status gm_data_read_mem_with(gm_data_parser parse, const void *buf, size_t len, const char *name, size_t max_bytes,
                                const gm_read_opts *opts, gm_dataset *out) {
    const uint8_t *p;
    size_t n;
    int owned;
    memset(out, 0, sizeof *out);
    gm_status st = gm_data_unpack_mem(buf, len, name, max_bytes, &p, &n, &owned);
    if (st != GM_OK) return st;
    st = parse(p, n, name, opts, out);
    if (owned) free((void *)p);
    return st;
}
