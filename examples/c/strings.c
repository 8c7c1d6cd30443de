/* String and polymorphic scalar UDFs in C, built with sdk/c/weft_udf.h. */
#include "../../sdk/c/weft_udf.h"

WEFT_MANIFEST(
    "function reverse_text scalar (u) -> u strict\n"
    "function slugify scalar (u) -> u strict\n"
    "function typeof_any scalar (any) -> u\n"
    "function hash_any scalar (any) -> l\n"
    "function add_one_c scalar (l) -> l strict\n"
    "function safe_div scalar (l, l) -> l strict\n")

enum { REVERSE, SLUGIFY, TYPEOF_ANY, HASH_ANY, ADD_ONE, SAFE_DIV };

/* reverse by UTF-8 code point */
static int reverse_text(const WeftCall *c) {
    weft_str_begin(c->out);
    for (int64_t i = 0; i < c->rows; i++) {
        int32_t n;
        const char *s = weft_str(c->in[0], weft_row(c, 0, i), &n);
        char *dst = weft_str_reserve((uint32_t)n);
        if (!dst) return weft_error("53200", "reverse_text: out of memory");
        int32_t w = n;
        for (int32_t r = 0; r < n;) {
            int32_t len = 1;
            unsigned char b = (unsigned char)s[r];
            if (b >= 0xF0) len = 4; else if (b >= 0xE0) len = 3; else if (b >= 0xC0) len = 2;
            if (r + len > n) len = n - r;
            w -= len;
            weft_memcpy(dst + w, s + r, (size_t)len);
            r += len;
        }
        weft_str_commit(c->out, i, (uint32_t)n);
    }
    weft_str_end(c->out);
    return WEFT_OK;
}

/* lower-case ASCII letters and digits, runs of anything else become one '-' */
static int slugify(const WeftCall *c) {
    weft_str_begin(c->out);
    for (int64_t i = 0; i < c->rows; i++) {
        int32_t n;
        const char *s = weft_str(c->in[0], weft_row(c, 0, i), &n);
        char *dst = weft_str_reserve((uint32_t)n);
        if (!dst) return weft_error("53200", "slugify: out of memory");
        uint32_t w = 0;
        int dash = 0;
        for (int32_t r = 0; r < n; r++) {
            char ch = s[r];
            if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
            if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
                if (dash && w > 0) dst[w++] = '-';
                dash = 0;
                dst[w++] = ch;
            } else {
                dash = 1;
            }
        }
        weft_str_commit(c->out, i, w);
    }
    weft_str_end(c->out);
    return WEFT_OK;
}

/* Bind: both polymorphic functions accept any single argument. typeof_any
 * returns text and remembers the type name as bind data; hash_any returns
 * bigint and remembers the Arrow format to know how to read values. */
static const char *type_name(const char *f, int32_t n) {
    if (n == 1) switch (f[0]) {
        case 'b': return "boolean";
        case 's': return "smallint";
        case 'i': return "integer";
        case 'l': return "bigint";
        case 'f': return "real";
        case 'g': return "double precision";
        case 'u': return "text";
        case 'z': return "bytea";
    }
    if (n == 3 && f[0] == 't' && f[1] == 'd') return "date";
    if (n >= 4 && f[0] == 't' && f[1] == 's') return n > 4 ? "timestamp with time zone" : "timestamp without time zone";
    return 0;
}

int weft_bind_fn(int fn, const char *req, int32_t len, char *resp, int32_t cap) {
    int32_t end = 0;
    while (end < len && req[end] != ' ' && req[end] != '\n') end++;
    int lines = 0;
    for (int32_t i = 0; i < len; i++) lines += req[i] == '\n';
    const char *msg;
    char *w = resp;
    if (lines != 1) {
        msg = "error 42883 takes exactly one argument";
    } else if (!type_name(req, end)) {
        msg = "error 42804 unsupported argument type";
    } else if (fn == TYPEOF_ANY) {
        const char *ok = "ok u ";
        weft_memcpy(w, ok, 5);
        const char *t = type_name(req, end);
        size_t tn = weft_strlen(t);
        weft_memcpy(w + 5, t, tn);
        return (int32_t)(5 + tn);
    } else {
        weft_memcpy(w, "ok l ", 5);
        weft_memcpy(w + 5, req, (size_t)end);
        return 5 + end;
    }
    size_t mn = weft_strlen(msg);
    if ((int32_t)mn > cap) mn = (size_t)cap;
    weft_memcpy(resp, msg, mn);
    return (int32_t)mn;
}

static int typeof_any(const WeftCall *c) {
    weft_str_begin(c->out);
    for (int64_t i = 0; i < c->rows; i++) {
        if (!weft_str_append(c->out, i, c->bind, (uint32_t)c->bind_len))
            return weft_error("53200", "typeof_any: out of memory");
    }
    weft_str_end(c->out);
    return WEFT_OK;
}

/* FNV-1a over the value's bytes; NULL hashes to NULL */
static uint64_t fnv(const unsigned char *p, int32_t n) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ull; }
    return h;
}

static int hash_any(const WeftCall *c) {
    const WeftArray *a = c->in[0];
    char f = c->bind_len > 0 ? c->bind[0] : 'l';
    int width = f == 's' ? 2 : (f == 'i' || f == 'f' || (f == 't' && c->bind_len == 3)) ? 4 : 8;
    for (int64_t i = 0; i < c->rows; i++) {
        int64_t r = weft_row(c, 0, i);
        if (weft_is_null(a, r)) { weft_set_null(c->out, i); continue; }
        uint64_t h;
        if (f == 'u' || f == 'z') {
            int32_t n;
            const char *s = weft_str(a, r, &n);
            h = fnv((const unsigned char *)s, n);
        } else if (f == 'b') {
            unsigned char v = (unsigned char)weft_bool(a, r);
            h = fnv(&v, 1);
        } else {
            h = fnv((const unsigned char *)a->buffers[1] + r * width, width);
        }
        weft_set_i64(c->out, i, (int64_t)(h >> 1));
    }
    return WEFT_OK;
}

static int add_one(const WeftCall *c) {
    const WeftArray *a = c->in[0];
    const int64_t *in = a->buffers[1];
    int64_t *out = (int64_t *)c->out->buffers[1];
    if (c->const_mask & 1) {
        for (int64_t i = 0; i < c->rows; i++) out[i] = in[0] + 1;
    } else {
        for (int64_t i = 0; i < c->rows; i++) out[i] = in[i] + 1;
    }
    return WEFT_OK;
}

/* integer division that reports division by zero per row */
static int safe_div(const WeftCall *c) {
    for (int64_t i = 0; i < c->rows; i++) {
        int64_t x = weft_i64(c->in[0], weft_row(c, 0, i)), y = weft_i64(c->in[1], weft_row(c, 1, i));
        if (y == 0) {
            weft_row_error(c, i, "22012", "division by zero");
            continue;
        }
        weft_set_i64(c->out, i, x / y);
    }
    return WEFT_OK;
}

int weft_dispatch(int fn, const WeftCall *c) {
    switch (fn) {
    case SAFE_DIV: return safe_div(c);
    case REVERSE: return reverse_text(c);
    case SLUGIFY: return slugify(c);
    case TYPEOF_ANY: return typeof_any(c);
    case HASH_ANY: return hash_any(c);
    case ADD_ONE: return add_one(c);
    }
    return weft_error("42883", "unknown function index");
}
