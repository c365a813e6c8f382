/*
 * genmod/json.h — a small strict JSON (RFC 8259) parser and a JSON writer.
 *
 * What this is: the parser behind safetensors headers and CLI config files.
 *   - Strict grammar: one value (any type) surrounded by optional whitespace;
 *     no comments, no trailing commas, no NaN/Infinity, no leading zeros, no
 *     duplicate keys in an object, input must be valid UTF-8 (no overlong
 *     forms, no encoded surrogates), strings allow the standard escapes and
 *     \uXXXX (surrogate pairs combined; lone surrogates rejected), decoded to
 *     UTF-8. \u0000 is accepted: strings carry their byte length and are also
 *     NUL-terminated.
 *   - Bounded: nesting depth <= GM_JSON_MAX_DEPTH and at most `max_nodes`
 *     values; numbers that overflow a double are rejected.
 *   - The whole tree lives in ONE allocation (a first pass validates and
 *     counts, a second fills), owned by the gm_json_doc and freed with it.
 *     Object members keep document order; lookups by key are O(log n).
 *   - Errors give the byte offset: "config.json: JSON: expected ':' after
 *     object key at byte 17".
 * Numbers are converted with strtod / printed with snprintf: the process
 * must use the "C" numeric locale (the default unless setlocale is called).
 * What this is not: a streaming parser, a DOM you can modify, JSON5.
 */
#ifndef GENMOD_JSON_H
#define GENMOD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "genmod/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GM_JSON_MAX_DEPTH 64
#define GM_JSON_DEFAULT_MAX_NODES ((int64_t)1 << 22)

typedef enum gm_json_type {
    GM_JSON_NULL = 0,
    GM_JSON_BOOL = 1,
    GM_JSON_NUMBER = 2,
    GM_JSON_STRING = 3,
    GM_JSON_ARRAY = 4,
    GM_JSON_OBJECT = 5
} gm_json_type;

typedef struct gm_json gm_json;         /* one value (node) of a parsed document */
typedef struct gm_json_doc gm_json_doc; /* a parsed document: owns every node */

/* Parses text[0, len) (need not be NUL-terminated). `name` (a file name or
 * "--config", may be NULL) prefixes error messages. max_nodes <= 0 means
 * GM_JSON_DEFAULT_MAX_NODES. On success *out is the document (free with
 * gm_json_free). Errors: GM_ERR_FORMAT (syntax, bad UTF-8, depth, too many
 * values, duplicate key; message has the byte offset), GM_ERR_NOMEM,
 * GM_ERR_ARG (NULL text with len > 0 or NULL out). *out is NULL on error. */
gm_status gm_json_parse(const char *text, size_t len, const char *name, int64_t max_nodes, gm_json_doc **out);

/* Reads and parses the file at `path` (at most GM_JSON_MAX_FILE bytes; the
 * path prefixes messages). Errors as gm_json_parse plus GM_ERR_NOTFOUND /
 * GM_ERR_IO (cannot open / read) and GM_ERR_FORMAT (file too large). */
#define GM_JSON_MAX_FILE ((size_t)64 << 20)
gm_status gm_json_parse_file(const char *path, gm_json_doc **out);

/* Frees the document and every node (NULL is fine). */
void gm_json_free(gm_json_doc *doc);

/* The top-level value (never NULL for a parsed document). */
const gm_json *gm_json_root(const gm_json_doc *doc);

/* ---- inspecting nodes (all accept NULL and then return 0 / NULL) ---- */

/* Type of v; GM_JSON_NULL for a NULL pointer too. */
gm_json_type gm_json_typeof(const gm_json *v);
/* "null", "bool", "number", "string", "array", "object". */
const char *gm_json_type_name(gm_json_type t);
/* Members of an object / elements of an array / bytes of a string; else 0. */
int64_t gm_json_len(const gm_json *v);
/* Element i of an array or member i of an object (document order); NULL if
 * out of range or not a container. */
const gm_json *gm_json_at(const gm_json *v, int64_t i);
/* Member `key` of an object (exact byte match of the NUL-terminated key);
 * NULL if absent or v is not an object. */
const gm_json *gm_json_get(const gm_json *obj, const char *key);
/* Key of an object member (NUL-terminated; *len gets its byte length if len
 * is not NULL); NULL for a value that is not an object member. */
const char *gm_json_key(const gm_json *member, size_t *len);
/* String value (NUL-terminated; *len its byte length if len is not NULL);
 * NULL if v is not a string. */
const char *gm_json_str(const gm_json *v, size_t *len);
/* Number value as a double; 0 if v is not a number. */
double gm_json_num(const gm_json *v);
/* 1 if v is a number written as an integer literal (no '.', no exponent)
 * that fits int64; *out (may be NULL) gets it exactly. Else 0. */
int gm_json_is_int(const gm_json *v, int64_t *out);
/* 1 if v is true, 0 otherwise. */
int gm_json_bool(const gm_json *v);
/* Byte offset of v in the parsed text (for messages). */
size_t gm_json_offset(const gm_json *v);

/* ---- checked getters: member `key` of object `obj`, with type / range
 * checks. Messages name the document, the key and the byte offset. ----
 * Return GM_OK; GM_ERR_NOTFOUND if obj has no member `key` (out untouched,
 * so a caller can keep a default); GM_ERR_FORMAT if obj is not an object or
 * the member has the wrong type; GM_ERR_ARG if it is outside [lo, hi]. */
gm_status gm_json_get_string(const gm_json *obj, const char *key, const char **out);
gm_status gm_json_get_number(const gm_json *obj, const char *key, double lo, double hi, double *out);
/* Accepts integer literals, and other numbers whose value is an integer of
 * magnitude <= 2^53 (so 1e3 reads as 1000; 2.5 is GM_ERR_FORMAT). */
gm_status gm_json_get_int64(const gm_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out);
gm_status gm_json_get_bool(const gm_json *obj, const char *key, int *out);

/* ---- writer: builds a JSON text in a growing buffer ----
 * Commas and key/value separators are inserted automatically; strings are
 * escaped (", \, control characters as \u00XX) and must be valid UTF-8.
 * Errors are sticky (misuse such as a value where a key is needed, a
 * non-finite number, invalid UTF-8, depth > GM_JSON_MAX_DEPTH, out of
 * memory) and reported by gm_jw_finish. Fields are private. Compact output,
 * no whitespace. */
typedef struct gm_json_writer {
    char *buf;
    size_t len, cap;
    gm_status st;
    int depth;
    unsigned char nonempty[GM_JSON_MAX_DEPTH + 1]; /* a value was written at this level */
    unsigned char is_obj[GM_JSON_MAX_DEPTH + 1];
    int want_value;                             /* a key was written, its value is due */
    int done;                                   /* the top-level value is complete */
} gm_json_writer;

void gm_jw_init(gm_json_writer *w);
void gm_jw_begin_object(gm_json_writer *w);
void gm_jw_end_object(gm_json_writer *w);
void gm_jw_begin_array(gm_json_writer *w);
void gm_jw_end_array(gm_json_writer *w);
/* Inside an object: the next member's key (NUL-terminated). */
void gm_jw_key(gm_json_writer *w, const char *key);
void gm_jw_string(gm_json_writer *w, const char *s);
/* A string of n bytes (may contain NUL, written as \u0000). */
void gm_jw_string_n(gm_json_writer *w, const char *s, size_t n);
/* Shortest "%.15g".."%.17g" text that reads back as exactly v; integers
 * below 1e15 print without exponent. NaN/Inf are an error (JSON has none). */
void gm_jw_number(gm_json_writer *w, double v);
void gm_jw_int(gm_json_writer *w, int64_t v);
void gm_jw_bool(gm_json_writer *w, int b);
void gm_jw_null(gm_json_writer *w);
/* Shorthands for an object member: key then value. */
void gm_jw_kv_string(gm_json_writer *w, const char *key, const char *s);
void gm_jw_kv_number(gm_json_writer *w, const char *key, double v);
void gm_jw_kv_int(gm_json_writer *w, const char *key, int64_t v);
void gm_jw_kv_bool(gm_json_writer *w, const char *key, int b);

/* Ends writing: on success *out is the NUL-terminated text (malloc'd, the
 * caller frees it) and *len (may be NULL) its length; the writer is reset.
 * On failure (sticky error, or the value is incomplete) returns the status,
 * *out = NULL, and frees the buffer. */
gm_status gm_jw_finish(gm_json_writer *w, char **out, size_t *len);
/* Discards the buffer (safe after finish). */
void gm_jw_free(gm_json_writer *w);

#ifdef __cplusplus
}
#endif
#endif
