/*
 * error.c — thread-local error message; see genmod/error.h.
 */
#include "genmod/error.h"
#include <stdarg.h>
#include <stdio.h>

static _Thread_local char g_msg[1024];

gm_status gm_error(gm_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return st;
}

const char *gm_last_error(void) { return g_msg; }

void gm_clear_error(void) { g_msg[0] = '\0'; }

const char *gm_status_name(gm_status st) {
    switch (st) {
    case GM_OK: return "ok";
    case GM_ERR_NOMEM: return "out of memory";
    case GM_ERR_IO: return "io";
    case GM_ERR_FORMAT: return "format";
    case GM_ERR_SHAPE: return "shape";
    case GM_ERR_ARG: return "argument";
    case GM_ERR_NONFINITE: return "non-finite";
    case GM_ERR_UNSUPPORTED: return "unsupported";
    case GM_ERR_NOTFOUND: return "not found";
    }
    return "?";
}
