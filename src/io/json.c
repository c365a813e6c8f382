/*
 * json.c — strict, bounded JSON parser into a single-allocation tree; see
 * genmod/json.h. The writer is in json_write.c.
 *
 * Two passes over the text with the same recursive-descent code: pass 1
 * validates everything and counts nodes, string bytes, object members and
 * each container's number of children (in pre-order); pass 2 fills one block
 * laid out as [nodes | sorted member pointers | string bytes], giving every
 * container its children as one contiguous array. Duplicate keys are found
 * in pass 2 by sorting each object's members (O(n log n), not O(n^2)).
 */
#include "genmod/json.h"
#include "io/io_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gm_json {
    const char *key;     /* member key (NUL-terminated) or NULL */
    size_t keylen;
    union {
        const char *s;   /* string value */
        gm_json *items;  /* container children */
    } u;
    gm_json **sorted;    /* objects: members sorted by key */
    int64_t n;           /* string bytes / number of children */
    double num;
    int64_t ival;        /* exact value of an integer literal */
    size_t offset;       /* byte offset in the text */
    const char *docname; /* for getter messages ("" if none) */
    unsigned char type, is_int, boolean;
};

struct gm_json_doc {
    gm_json *root;
    char name[256];
};

typedef struct {
    const unsigned char *t;
    size_t i, n;
    const char *name;
    int build;
    int64_t max_nodes;
    gm_status st;
    /* pass 1 counts */
    int64_t nodes, members;
    size_t strbytes;
    int64_t *cc;         /* children count per container (pre-order) */
    int64_t ncont, capcont;
    /* pass 2 cursors */
    int64_t cont_i;
    gm_json *pool;
    int64_t pool_i;
    gm_json **sorted;
    int64_t sorted_i;
    char *chars;
    size_t chars_i;
} parser;

static int fail(parser *p, size_t at, const char *what) {
    if (p->st == GM_OK)
        p->st = gm_error(GM_ERR_FORMAT, "%s%sJSON: %s at byte %zu", p->name ? p->name : "", p->name ? ": " : "",
                         what, at);
    return 0;
}

static void skip_ws(parser *p) {
    while (p->i < p->n) {
        unsigned char c = p->t[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->i++;
    }
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, size_t at, unsigned *out) {
    if (p->n - p->i < 4) return fail(p, at, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(p->t[p->i + k]);
        if (h < 0) return fail(p, at, "bad hex digit in \\u escape");
        v = v * 16 + (unsigned)h;
    }
    p->i += 4;
    *out = v;
    return 1;
}

static size_t put_utf8(char *dst, unsigned cp) {
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) { b[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (unsigned char)(0xC0 | (cp >> 6)); b[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12)); b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18)); b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4;
    }
    if (dst) memcpy(dst, b, n);
    return n;
}

/* A string starting at the opening quote. Pass 1 counts its decoded bytes
 * (+1 for the NUL); pass 2 writes them to p->chars and returns the pointer. */
static int parse_string(parser *p, const char **out, size_t *outlen) {
    size_t start = p->i;
    p->i++; /* opening quote */
    char *dst = p->build ? p->chars + p->chars_i : NULL;
    size_t len = 0;
    for (;;) {
        if (p->i >= p->n) return fail(p, start, "unterminated string");
        unsigned char c = p->t[p->i];
        if (c == '"') { p->i++; break; }
        if (c < 0x20) return fail(p, p->i, "control character in string");
        if (c == '\\') {
            size_t at = p->i;
            if (p->i + 1 >= p->n) return fail(p, at, "unterminated string");
            unsigned char e = p->t[p->i + 1];
            p->i += 2;
            char ch;
            switch (e) {
            case '"': ch = '"'; break;
            case '\\': ch = '\\'; break;
            case '/': ch = '/'; break;
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': {
                unsigned cp;
                if (!read_hex4(p, at, &cp)) return 0;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(p, at, "lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (p->n - p->i < 2 || p->t[p->i] != '\\' || p->t[p->i + 1] != 'u')
                        return fail(p, at, "high surrogate not followed by a low surrogate");
                    p->i += 2;
                    if (!read_hex4(p, at, &lo)) return 0;
                    if (lo < 0xDC00 || lo > 0xDFFF) return fail(p, at, "high surrogate not followed by a low surrogate");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                len += put_utf8(dst ? dst + len : NULL, cp);
                continue;
            }
            default: return fail(p, at, "invalid escape in string");
            }
            if (dst) dst[len] = ch;
            len++;
            continue;
        }
        if (c < 0x80) {
            if (dst) dst[len] = (char)c;
            len++;
            p->i++;
            continue;
        }
        int k = gm_utf8_seq_len(p->t + p->i, p->n - p->i);
        if (!k) return fail(p, p->i, "invalid UTF-8 in string");
        if (dst) memcpy(dst + len, p->t + p->i, (size_t)k);
        len += (size_t)k;
        p->i += (size_t)k;
    }
    if (dst) {
        dst[len] = '\0';
        p->chars_i += len + 1;
        *out = dst;
    } else {
        p->strbytes += len + 1;
    }
    *outlen = len;
    return 1;
}

static int parse_number(parser *p, gm_json *node) {
    size_t s = p->i, i = p->i;
    const unsigned char *t = p->t;
    int is_int = 1;
    if (i < p->n && t[i] == '-') i++;
    if (i >= p->n || !(t[i] >= '0' && t[i] <= '9')) return fail(p, s, "invalid number");
    if (t[i] == '0') {
        i++;
        if (i < p->n && t[i] >= '0' && t[i] <= '9') return fail(p, s, "leading zero in number");
    } else {
        while (i < p->n && t[i] >= '0' && t[i] <= '9') i++;
    }
    if (i < p->n && t[i] == '.') {
        is_int = 0;
        i++;
        if (i >= p->n || !(t[i] >= '0' && t[i] <= '9')) return fail(p, s, "digit expected after '.'");
        while (i < p->n && t[i] >= '0' && t[i] <= '9') i++;
    }
    if (i < p->n && (t[i] == 'e' || t[i] == 'E')) {
        is_int = 0;
        i++;
        if (i < p->n && (t[i] == '+' || t[i] == '-')) i++;
        if (i >= p->n || !(t[i] >= '0' && t[i] <= '9')) return fail(p, s, "digit expected in exponent");
        while (i < p->n && t[i] >= '0' && t[i] <= '9') i++;
    }
    size_t len = i - s;
    if (len > 512) return fail(p, s, "number longer than 512 characters");
    char buf[520];
    memcpy(buf, t + s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL);
    if (isinf(v) || isnan(v)) return fail(p, s, "number out of the range of a double");
    int64_t iv = 0;
    if (is_int) { /* exact int64, or not an int if it overflows */
        int neg = buf[0] == '-';
        uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
        for (size_t k = (size_t)neg; k < len; k++) {
            unsigned d = (unsigned)(buf[k] - '0');
            if (acc > (lim - d) / 10) { is_int = 0; break; }
            acc = acc * 10 + d;
        }
        if (is_int) iv = neg ? (acc == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    }
    p->i = i;
    if (node) {
        node->type = GM_JSON_NUMBER;
        node->num = v;
        node->is_int = (unsigned char)is_int;
        node->ival = iv;
    }
    return 1;
}

static int match_lit(parser *p, const char *w) {
    size_t n = strlen(w);
    if (p->n - p->i < n || memcmp(p->t + p->i, w, n) != 0) return fail(p, p->i, "invalid literal");
    p->i += n;
    return 1;
}

static int cmp_members(const void *a, const void *b) {
    const gm_json *x = *(const gm_json *const *)a, *y = *(const gm_json *const *)b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

static int parse_value(parser *p, gm_json *node, int depth);

/* Object or array at p->t[p->i]; pass 1 records its number of children. */
static int parse_container(parser *p, gm_json *node, int depth, int is_obj) {
    size_t start = p->i;
    if (depth >= GM_JSON_MAX_DEPTH) return fail(p, start, "nesting deeper than 64 levels");
    char close = is_obj ? '}' : ']';
    int64_t k, count = 0;
    gm_json *items = NULL;
    if (p->build) {
        k = p->cont_i++;
        items = p->pool + p->pool_i;
        p->pool_i += p->cc[k];
        node->type = (unsigned char)(is_obj ? GM_JSON_OBJECT : GM_JSON_ARRAY);
        node->u.items = items;
        node->n = p->cc[k];
        if (is_obj) {
            node->sorted = p->sorted + p->sorted_i;
            p->sorted_i += p->cc[k];
        }
    } else {
        if (p->ncont == p->capcont) {
            int64_t nc = p->capcont ? p->capcont * 2 : 64;
            int64_t *q = realloc(p->cc, (size_t)nc * sizeof *q);
            if (!q) {
                if (p->st == GM_OK) p->st = gm_error(GM_ERR_NOMEM, "%s: JSON: out of memory", p->name ? p->name : "");
                return 0;
            }
            p->cc = q;
            p->capcont = nc;
        }
        k = p->ncont++;
        p->cc[k] = 0;
    }
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->t[p->i] == close) {
        p->i++;
        return 1;
    }
    for (;;) {
        gm_json *child = p->build ? &items[count] : NULL;
        if (!p->build && ++p->nodes > p->max_nodes) return fail(p, p->i, "too many values");
        if (is_obj) {
            skip_ws(p);
            if (p->i >= p->n || p->t[p->i] != '"') return fail(p, p->i, "expected a string key");
            size_t koff = p->i;
            const char *key = NULL;
            size_t klen;
            if (!parse_string(p, &key, &klen)) return 0;
            if (child) {
                child->key = key;
                child->keylen = klen;
                child->offset = koff;
            }
            skip_ws(p);
            if (p->i >= p->n || p->t[p->i] != ':') return fail(p, p->i, "expected ':' after object key");
            p->i++;
            if (!p->build) p->members++;
        }
        if (!parse_value(p, child, depth + 1)) return 0;
        count++;
        skip_ws(p);
        if (p->i < p->n && p->t[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->t[p->i] == close) {
            p->i++;
            break;
        }
        return fail(p, p->i, is_obj ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
    }
    if (!p->build) {
        p->cc[k] = count;
    } else if (is_obj) {
        for (int64_t j = 0; j < count; j++) node->sorted[j] = &items[j];
        qsort(node->sorted, (size_t)count, sizeof *node->sorted, cmp_members);
        for (int64_t j = 1; j < count; j++)
            if (cmp_members(&node->sorted[j - 1], &node->sorted[j]) == 0) {
                const gm_json *a = node->sorted[j - 1], *b = node->sorted[j];
                return fail(p, a->offset > b->offset ? a->offset : b->offset, "duplicate key in object");
            }
    }
    return 1;
}

static int parse_value(parser *p, gm_json *node, int depth) {
    skip_ws(p);
    if (p->i >= p->n) return fail(p, p->i, "unexpected end of input, a value was expected");
    if (node) {
        node->docname = p->name ? p->name : "";
        if (!node->key) node->offset = p->i; /* members keep their key's offset */
    }
    unsigned char c = p->t[p->i];
    switch (c) {
    case '{': return parse_container(p, node, depth, 1);
    case '[': return parse_container(p, node, depth, 0);
    case '"': {
        const char *s = NULL;
        size_t len;
        if (!parse_string(p, &s, &len)) return 0;
        if (node) {
            node->type = GM_JSON_STRING;
            node->u.s = s;
            node->n = (int64_t)len;
        }
        return 1;
    }
    case 't':
    case 'f':
        if (!match_lit(p, c == 't' ? "true" : "false")) return 0;
        if (node) {
            node->type = GM_JSON_BOOL;
            node->boolean = c == 't';
        }
        return 1;
    case 'n':
        if (!match_lit(p, "null")) return 0;
        if (node) node->type = GM_JSON_NULL;
        return 1;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, node);
        return fail(p, p->i, "unexpected character, a value was expected");
    }
}

static int parse_document(parser *p, gm_json *root) {
    p->i = 0;
    if (!p->build) p->nodes = 1;
    if (!parse_value(p, root, 0)) return 0;
    skip_ws(p);
    if (p->i != p->n) return fail(p, p->i, "unexpected data after the JSON value");
    return 1;
}

gm_status gm_json_parse(const char *text, size_t len, const char *name, int64_t max_nodes, gm_json_doc **out) {
    if (out) *out = NULL;
    if (!out || (!text && len)) return gm_error(GM_ERR_ARG, "gm_json_parse: NULL text or output");
    parser p;
    memset(&p, 0, sizeof p);
    p.t = (const unsigned char *)(text ? text : "");
    p.n = len;
    p.name = name;
    p.max_nodes = max_nodes > 0 ? max_nodes : GM_JSON_DEFAULT_MAX_NODES;
    if (!parse_document(&p, NULL)) {
        free(p.cc);
        return p.st;
    }
    /* one block: doc | nodes | sorted pointers | string bytes */
    size_t nodes_b = (size_t)p.nodes * sizeof(gm_json), sorted_b = (size_t)p.members * sizeof(gm_json *);
    size_t total = sizeof(gm_json_doc) + nodes_b + sorted_b + p.strbytes + 1;
    char *blk = calloc(1, total);
    if (!blk) {
        free(p.cc);
        return gm_error(GM_ERR_NOMEM, "%s%sJSON: cannot allocate %zu bytes", name ? name : "", name ? ": " : "", total);
    }
    gm_json_doc *doc = (gm_json_doc *)blk;
    p.pool = (gm_json *)(blk + sizeof(gm_json_doc));
    p.sorted = (gm_json **)(blk + sizeof(gm_json_doc) + nodes_b);
    p.chars = blk + sizeof(gm_json_doc) + nodes_b + sorted_b;
    p.build = 1;
    p.pool_i = 1;
    p.st = GM_OK;
    if (!parse_document(&p, p.pool)) { /* only duplicate keys can fail here */
        free(p.cc);
        free(blk);
        return p.st;
    }
    free(p.cc);
    doc->root = p.pool;
    snprintf(doc->name, sizeof doc->name, "%s", name ? name : "");
    for (int64_t j = 0; j < p.nodes; j++) p.pool[j].docname = doc->name;
    *out = doc;
    return GM_OK;
}

gm_status gm_json_parse_file(const char *path, gm_json_doc **out) {
    if (out) *out = NULL;
    if (!path || !out) return gm_error(GM_ERR_ARG, "gm_json_parse_file: NULL path or output");
    uint8_t *buf;
    size_t len;
    gm_status st = gm_io_read_file(path, GM_JSON_MAX_FILE, &buf, &len);
    if (st != GM_OK) return st;
    st = gm_json_parse((const char *)buf, len, path, 0, out);
    free(buf);
    return st;
}

void gm_json_free(gm_json_doc *doc) { free(doc); }

const gm_json *gm_json_root(const gm_json_doc *doc) { return doc ? doc->root : NULL; }

gm_json_type gm_json_typeof(const gm_json *v) { return v ? (gm_json_type)v->type : GM_JSON_NULL; }

const char *gm_json_type_name(gm_json_type t) {
    switch (t) {
    case GM_JSON_NULL: return "null";
    case GM_JSON_BOOL: return "bool";
    case GM_JSON_NUMBER: return "number";
    case GM_JSON_STRING: return "string";
    case GM_JSON_ARRAY: return "array";
    case GM_JSON_OBJECT: return "object";
    }
    return "?";
}

int64_t gm_json_len(const gm_json *v) {
    if (!v || (v->type != GM_JSON_STRING && v->type != GM_JSON_ARRAY && v->type != GM_JSON_OBJECT)) return 0;
    return v->n;
}

const gm_json *gm_json_at(const gm_json *v, int64_t i) {
    if (!v || (v->type != GM_JSON_ARRAY && v->type != GM_JSON_OBJECT) || i < 0 || i >= v->n) return NULL;
    return &v->u.items[i];
}

const gm_json *gm_json_get(const gm_json *obj, const char *key) {
    if (!obj || obj->type != GM_JSON_OBJECT || !key) return NULL;
    gm_json probe;
    memset(&probe, 0, sizeof probe);
    probe.key = key;
    probe.keylen = strlen(key);
    const gm_json *pp = &probe;
    gm_json **hit = bsearch(&pp, obj->sorted, (size_t)obj->n, sizeof *obj->sorted, cmp_members);
    return hit ? *hit : NULL;
}

const char *gm_json_key(const gm_json *m, size_t *len) {
    if (!m || !m->key) return NULL;
    if (len) *len = m->keylen;
    return m->key;
}

const char *gm_json_str(const gm_json *v, size_t *len) {
    if (!v || v->type != GM_JSON_STRING) return NULL;
    if (len) *len = (size_t)v->n;
    return v->u.s;
}

double gm_json_num(const gm_json *v) { return v && v->type == GM_JSON_NUMBER ? v->num : 0.0; }

int gm_json_is_int(const gm_json *v, int64_t *out) {
    if (!v || v->type != GM_JSON_NUMBER || !v->is_int) return 0;
    if (out) *out = v->ival;
    return 1;
}

int gm_json_bool(const gm_json *v) { return v && v->type == GM_JSON_BOOL && v->boolean; }

size_t gm_json_offset(const gm_json *v) { return v ? v->offset : 0; }

/* ---- checked getters ---- */

static gm_status member(const gm_json *obj, const char *key, gm_json_type want, const gm_json **m) {
    if (!obj || obj->type != GM_JSON_OBJECT)
        return gm_error(GM_ERR_FORMAT, "%s%sJSON: looking up '%s' in a %s, not an object",
                        obj ? obj->docname : "", obj && obj->docname[0] ? ": " : "", key ? key : "(null)",
                        obj ? gm_json_type_name((gm_json_type)obj->type) : "missing value");
    const gm_json *v = gm_json_get(obj, key);
    if (!v)
        return gm_error(GM_ERR_NOTFOUND, "%s%skey '%s' not found in the object at byte %zu", obj->docname,
                        obj->docname[0] ? ": " : "", key ? key : "(null)", obj->offset);
    if (v->type != want)
        return gm_error(GM_ERR_FORMAT, "%s%skey '%s' (byte %zu): expected a %s, got a %s", v->docname,
                        v->docname[0] ? ": " : "", key, v->offset, gm_json_type_name(want),
                        gm_json_type_name((gm_json_type)v->type));
    *m = v;
    return GM_OK;
}

gm_status gm_json_get_string(const gm_json *obj, const char *key, const char **out) {
    const gm_json *v = NULL;
    gm_status st = member(obj, key, GM_JSON_STRING, &v);
    if (st == GM_OK) *out = v->u.s;
    return st;
}

gm_status gm_json_get_number(const gm_json *obj, const char *key, double lo, double hi, double *out) {
    const gm_json *v = NULL;
    gm_status st = member(obj, key, GM_JSON_NUMBER, &v);
    if (st != GM_OK) return st;
    if (!(v->num >= lo && v->num <= hi))
        return gm_error(GM_ERR_ARG, "%s%skey '%s' (byte %zu): %.17g is outside [%g, %g]", v->docname,
                        v->docname[0] ? ": " : "", key, v->offset, v->num, lo, hi);
    *out = v->num;
    return GM_OK;
}

gm_status gm_json_get_int64(const gm_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const gm_json *v = NULL;
    gm_status st = member(obj, key, GM_JSON_NUMBER, &v);
    if (st != GM_OK) return st;
    int64_t iv;
    if (v->is_int) {
        iv = v->ival;
    } else if (v->num == floor(v->num) && fabs(v->num) <= 9007199254740992.0) {
        iv = (int64_t)v->num;
    } else {
        return gm_error(GM_ERR_FORMAT, "%s%skey '%s' (byte %zu): expected an integer, got %.17g", v->docname,
                        v->docname[0] ? ": " : "", key, v->offset, v->num);
    }
    if (iv < lo || iv > hi)
        return gm_error(GM_ERR_ARG, "%s%skey '%s' (byte %zu): %lld is outside [%lld, %lld]", v->docname,
                        v->docname[0] ? ": " : "", key, v->offset, (long long)iv, (long long)lo, (long long)hi);
    *out = iv;
    return GM_OK;
}

gm_status gm_json_get_bool(const gm_json *obj, const char *key, int *out) {
    const gm_json *v = NULL;
    gm_status st = member(obj, key, GM_JSON_BOOL, &v);
    if (st == GM_OK) *out = v->boolean;
    return st;
}
