/*
 * fileio.c — whole-file reads and atomic file replacement for src/io (see
 * io_internal.h). Not a buffered stream abstraction: formats build their
 * bytes and hand them over in a few large writes.
 */
#include "io/io_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

gm_status gm_io_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return gm_error(errno == ENOENT ? GM_ERR_NOTFOUND : GM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int e = errno;
        fclose(f);
        return gm_error(GM_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        fclose(f);
        return gm_error(GM_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > (uint64_t)max_bytes || (uint64_t)sb.st_size >= (uint64_t)SIZE_MAX) {
        fclose(f);
        return gm_error(GM_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)", path, (long long)sb.st_size,
                        max_bytes);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *p = malloc(n + 1);
    if (!p) {
        fclose(f);
        return gm_error(GM_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
    }
    size_t got = n ? fread(p, 1, n, f) : 0;
    int err = ferror(f), extra = (got == n) ? fgetc(f) : EOF;
    fclose(f);
    if (got != n || err || extra != EOF) {
        free(p);
        if (err) return gm_error(GM_ERR_IO, "%s: read error", path);
        return gm_error(GM_ERR_FORMAT, "%s: file changed size while being read", path);
    }
    p[n] = 0;
    *buf = p;
    *len = n;
    return GM_OK;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

gm_status gm_atomic_open(gm_atomic_file *a, const char *path) {
    memset(a, 0, sizeof *a);
    if (!path || !*path) return gm_error(GM_ERR_ARG, "output path: empty");
    size_t n = strlen(path);
    a->path = dup_str(path);
    a->tmp = malloc(n + 12);
    if (!a->path || !a->tmp) {
        free(a->path);
        free(a->tmp);
        a->path = a->tmp = NULL;
        return gm_error(GM_ERR_NOMEM, "%s: out of memory", path);
    }
    /* open(O_EXCL, 0666) rather than mkstemp: the kernel applies the user's
     * umask, so checkpoints get the same mode as any other file they write. */
    int fd = -1, e = 0;
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint64_t r = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)a;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = (r ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)attempt << 32)) * 0x2545F4914F6CDD1Dull;
        memcpy(a->tmp, path, n);
        memcpy(a->tmp + n, ".tmp.", 5);
        for (int k = 0; k < 6; k++) a->tmp[n + 5 + k] = digits[(r >> (6 * k)) % 36];
        a->tmp[n + 11] = 0;
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        e = errno;
        if (fd < 0 && e != EEXIST) break;
    }
    if (fd < 0) {
        free(a->tmp);
        free(a->path);
        a->tmp = a->path = NULL;
        return gm_error(GM_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        int e = errno;
        close(fd);
        gm_atomic_abort(a);
        return gm_error(GM_ERR_IO, "%s: fdopen: %s", path, strerror(e));
    }
    a->st = GM_OK;
    return GM_OK;
}

gm_status gm_atomic_write(gm_atomic_file *a, const void *p, size_t n) {
    if (a->st != GM_OK || n == 0) return a->st;
    if (!a->f) return a->st = GM_ERR_IO;
    if (fwrite(p, 1, n, a->f) != n)
        a->st = gm_error(GM_ERR_IO, "%s: write failed: %s", a->path, strerror(errno));
    return a->st;
}

/* fsync of the directory holding path (best effort where unsupported). */
static gm_status sync_dir(const char *path) {
    char *d = dup_str(path);
    if (!d) return gm_error(GM_ERR_NOMEM, "%s: out of memory", path);
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash == d) dir = "/";
    else if (slash) { *slash = '\0'; dir = d; }
    gm_status st = GM_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
            st = gm_error(GM_ERR_IO, "%s: fsync of directory %s: %s", path, dir, strerror(errno));
        close(fd);
    }
    free(d);
    return st;
}

gm_status gm_atomic_commit(gm_atomic_file *a) {
    if (!a->f) {
        gm_atomic_abort(a);
        return gm_error(GM_ERR_IO, "output file: not open");
    }
    gm_status st = a->st;
    if (st == GM_OK && fflush(a->f) != 0) st = gm_error(GM_ERR_IO, "%s: flush failed: %s", a->path, strerror(errno));
    if (st == GM_OK && fsync(fileno(a->f)) != 0 && errno != EINVAL)
        st = gm_error(GM_ERR_IO, "%s: fsync failed: %s", a->path, strerror(errno));
    int rc = fclose(a->f);
    a->f = NULL;
    if (st == GM_OK && rc != 0) st = gm_error(GM_ERR_IO, "%s: close failed: %s", a->path, strerror(errno));
    if (st == GM_OK && rename(a->tmp, a->path) != 0)
        st = gm_error(GM_ERR_IO, "%s: cannot rename the temporary file over it: %s", a->path, strerror(errno));
    if (st != GM_OK) {
        unlink(a->tmp);
    } else {
        st = sync_dir(a->path);
    }
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    return st;
}

void gm_atomic_abort(gm_atomic_file *a) {
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
    }
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
}
