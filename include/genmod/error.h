/*
 * genmod/error.h — status codes and error messages.
 *
 * Every library function that can fail returns a gm_status (or NULL for a
 * constructor) and leaves a one-line human-readable message, retrievable with
 * gm_last_error(). The message names the file / argument and what is wrong;
 * the CLI prints it as is. The library never calls exit() or abort().
 * The message buffer is thread-local.
 */
#ifndef GENMOD_ERROR_H
#define GENMOD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gm_status {
    GM_OK = 0,
    GM_ERR_NOMEM = 1,       /* allocation failed */
    GM_ERR_IO = 2,          /* open/read/write/rename failed (errno text appended) */
    GM_ERR_FORMAT = 3,      /* file content malformed, truncated or hostile */
    GM_ERR_SHAPE = 4,       /* tensor shapes do not fit the operation */
    GM_ERR_ARG = 5,         /* bad argument value (range, unknown name, ...) */
    GM_ERR_NONFINITE = 6,   /* NaN or Inf found in a loss, gradient or output */
    GM_ERR_UNSUPPORTED = 7, /* valid request this build cannot serve */
    GM_ERR_NOTFOUND = 8     /* file / dataset / tensor name not found */
} gm_status;

/* Sets the thread-local message (printf-style) and returns `st`, so a caller
 * can write `return gm_error(GM_ERR_ARG, "--lr: must be > 0, got %g", lr);`. */
gm_status gm_error(gm_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Returns the last message set on this thread ("" if none). Never NULL. */
const char *gm_last_error(void);

/* Clears the message. */
void gm_clear_error(void);

/* Short constant name of a status ("io", "format", ...). */
const char *gm_status_name(gm_status st);

#ifdef __cplusplus
}
#endif
#endif
