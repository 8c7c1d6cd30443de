/*
 * weft_udf.h — write Weft batch UDFs in C (Weft UDF ABI version 1).
 *
 * One header, no dependencies, freestanding: build with
 *   clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--export-dynamic \
 *         -o f.wasm f.c
 *
 * A module defines its manifest and one dispatch function:
 *
 *   #include "weft_udf.h"
 *   WEFT_MANIFEST("function add_one scalar (l) -> l strict\n")
 *   int weft_dispatch(int fn, const WeftCall *c) {
 *       for (int64_t i = 0; i < c->rows; i++)
 *           weft_set_i64(c->out, i, weft_i64(c->in[0], weft_row(c, 0, i)) + 1);
 *       return WEFT_OK;
 *   }
 *
 * fn is the function's position in the manifest. Polymorphic functions
 * ("any" in the manifest) also define weft_bind_fn. The ABI itself is
 * specified in docs/udf-abi.md; this header is one way to speak it.
 */
#ifndef WEFT_UDF_H
#define WEFT_UDF_H

#include <stddef.h>
#include <stdint.h>

#define WEFT_EXPORT(name) __attribute__((export_name(#name)))
#define WEFT_OK 0
#define WEFT_ERROR 1

/* The Arrow C data interface's ArrowArray as laid out on wasm32. */
typedef struct WeftArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct WeftArray **children;
    struct WeftArray *dictionary;
    uint32_t release;
    void *private_data;
    uint32_t reserved;
} WeftArray;
_Static_assert(sizeof(WeftArray) == 64, "WeftArray must be 64 bytes on wasm32");

/* One batch call, as the dispatch function sees it. */
typedef struct WeftCall {
    int64_t rows;
    int nargs;
    WeftArray *const *in;  /* argument columns */
    uint64_t const_mask;   /* bit k: argument k has one row for all rows */
    WeftArray *out;        /* result column; buffers preallocated by the host */
    const char *bind;      /* bind data from weft_bind_fn, not NUL-terminated */
    int32_t bind_len;
} WeftCall;

int weft_dispatch(int fn, const WeftCall *c);

/* ---- memory ---------------------------------------------------------------
 * A small first-fit allocator over linear memory: every block carries an
 * 8-byte header with its size; freed blocks go on a list and are reused
 * whole. Instances are pooled and live across queries, so what a query
 * allocates must be given back. */
extern unsigned char __heap_base;
static uintptr_t weft__top;
typedef struct WeftFree { uint32_t size; struct WeftFree *next; } WeftFree;
static WeftFree *weft__free_list;

static void *weft_malloc(size_t size) {
    size = (size + 7) & ~(size_t)7;
    for (WeftFree **p = &weft__free_list; *p; p = &(*p)->next) {
        if ((*p)->size >= size) {
            WeftFree *b = *p;
            *p = b->next;
            return (unsigned char *)b + 8;
        }
    }
    if (!weft__top) weft__top = ((uintptr_t)&__heap_base + 7) & ~(uintptr_t)7;
    uintptr_t block = weft__top;
    uintptr_t end = block + 8 + size;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535) / 65536;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
    }
    weft__top = end;
    ((WeftFree *)block)->size = (uint32_t)size;
    return (void *)(block + 8);
}

static void weft_mfree(void *p) {
    if (!p) return;
    WeftFree *b = (WeftFree *)((unsigned char *)p - 8);
    b->next = weft__free_list;
    weft__free_list = b;
}

WEFT_EXPORT(weft_alloc) void *weft_alloc(int32_t size) { return weft_malloc((size_t)size); }

WEFT_EXPORT(weft_free) void weft_free(void *p, int32_t size) { (void)size; weft_mfree(p); }

static void *weft_memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

static size_t weft_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* ---- errors ------------------------------------------------------------ */
static char weft__err[512];
static int weft__err_len;

/* weft_error records "SQLSTATE message" and returns WEFT_ERROR. */
static int weft_error(const char *sqlstate, const char *msg) {
    int n = 0;
    for (int i = 0; i < 5 && sqlstate[i]; i++) weft__err[n++] = sqlstate[i];
    weft__err[n++] = ' ';
    for (int i = 0; msg[i] && n < (int)sizeof weft__err; i++) weft__err[n++] = msg[i];
    weft__err_len = n;
    return WEFT_ERROR;
}

WEFT_EXPORT(weft_last_error) uint64_t weft_last_error(void) {
    return ((uint64_t)(uintptr_t)weft__err << 32) | (uint32_t)weft__err_len;
}

/* ---- manifest and version ---------------------------------------------- */
#define WEFT_MANIFEST(entries)                                                   \
    static const char weft__manifest[] = "weft 1\n" entries;                     \
    WEFT_EXPORT(weft_abi_version) int32_t weft_abi_version(void) { return 1; }   \
    WEFT_EXPORT(weft_manifest) uint64_t weft_manifest(void) {                     \
        return ((uint64_t)(uintptr_t)weft__manifest << 32) |                     \
               (uint32_t)(sizeof weft__manifest - 1);                            \
    }

/* ---- reading arguments -------------------------------------------------- */
/* weft_row maps result row i to the row of argument k (constants: row 0). */
static inline int64_t weft_row(const WeftCall *c, int k, int64_t i) {
    return (c->const_mask >> k) & 1 ? 0 : i;
}
static inline int weft_is_null(const WeftArray *a, int64_t i) {
    const uint8_t *v = a->buffers[0];
    return v && !((v[i >> 3] >> (i & 7)) & 1);
}
static inline int64_t weft_i64(const WeftArray *a, int64_t i) { return ((const int64_t *)a->buffers[1])[i]; }
static inline int32_t weft_i32(const WeftArray *a, int64_t i) { return ((const int32_t *)a->buffers[1])[i]; }
static inline int16_t weft_i16(const WeftArray *a, int64_t i) { return ((const int16_t *)a->buffers[1])[i]; }
static inline double weft_f64(const WeftArray *a, int64_t i) { return ((const double *)a->buffers[1])[i]; }
static inline float weft_f32(const WeftArray *a, int64_t i) { return ((const float *)a->buffers[1])[i]; }
static inline int weft_bool(const WeftArray *a, int64_t i) {
    const uint8_t *v = a->buffers[1];
    return (v[i >> 3] >> (i & 7)) & 1;
}
/* weft_str returns a text/bytea value (not NUL-terminated) and its length. */
static inline const char *weft_str(const WeftArray *a, int64_t i, int32_t *len) {
    const int32_t *off = a->buffers[1];
    *len = off[i + 1] - off[i];
    return (const char *)a->buffers[2] + off[i];
}

/* ---- writing the result ------------------------------------------------- */
static inline void weft_set_null(WeftArray *out, int64_t i) {
    uint8_t *v = (uint8_t *)out->buffers[0];
    v[i >> 3] &= (uint8_t)~(1u << (i & 7));
}
static inline void weft_set_i64(WeftArray *out, int64_t i, int64_t x) { ((int64_t *)out->buffers[1])[i] = x; }
static inline void weft_set_i32(WeftArray *out, int64_t i, int32_t x) { ((int32_t *)out->buffers[1])[i] = x; }
static inline void weft_set_f64(WeftArray *out, int64_t i, double x) { ((double *)out->buffers[1])[i] = x; }
static inline void weft_set_bool(WeftArray *out, int64_t i, int x) {
    uint8_t *v = (uint8_t *)out->buffers[1];
    if (x) v[i >> 3] |= (uint8_t)(1u << (i & 7));
    else v[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

/* Text results: rows must be written in order 0..rows-1 with
 * weft_str_append; the data buffer lives in a scratch area reused by every
 * call (grown geometrically). */
static char *weft__scratch;
static uint32_t weft__scratch_cap, weft__scratch_len;

static inline void weft_str_begin(WeftArray *out) {
    weft__scratch_len = 0;
    ((int32_t *)out->buffers[1])[0] = 0;
}
/* weft_str_reserve returns room for n more bytes (0 when out of memory). */
static char *weft_str_reserve(uint32_t n) {
    if (weft__scratch_len + n > weft__scratch_cap) {
        uint32_t cap = weft__scratch_cap ? weft__scratch_cap : 4096;
        while (cap < weft__scratch_len + n) cap *= 2;
        char *next = weft_malloc(cap);
        if (!next) return 0;
        weft_memcpy(next, weft__scratch, weft__scratch_len);
        weft_mfree(weft__scratch);
        weft__scratch = next;
        weft__scratch_cap = cap;
    }
    return weft__scratch + weft__scratch_len;
}
/* weft_str_commit ends row i after n bytes were written at the reserved spot. */
static inline void weft_str_commit(WeftArray *out, int64_t i, uint32_t n) {
    weft__scratch_len += n;
    ((int32_t *)out->buffers[1])[i + 1] = (int32_t)weft__scratch_len;
}
static inline int weft_str_append(WeftArray *out, int64_t i, const char *s, uint32_t n) {
    char *dst = weft_str_reserve(n);
    if (!dst) return 0;
    weft_memcpy(dst, s, n);
    weft_str_commit(out, i, n);
    return 1;
}
static inline void weft_str_end(WeftArray *out) { out->buffers[2] = weft__scratch; }

/* ---- bind ---------------------------------------------------------------- */
/* A polymorphic module defines weft_bind_fn: req lists one line per
 * argument ("FORMAT", "FORMAT const VALUE" or "FORMAT null"); it writes
 * "ok FORMAT [BIND-DATA]" or "error SQLSTATE MESSAGE" into resp (at most
 * cap bytes) and returns the length. */
int weft_bind_fn(int fn, const char *req, int32_t len, char *resp, int32_t cap) __attribute__((weak));

static char weft__bind_resp[1024];
WEFT_EXPORT(weft_bind) uint64_t weft_bind(int32_t fn, const char *req, int32_t len) {
    int32_t n;
    if (weft_bind_fn) {
        n = weft_bind_fn(fn, req, len, weft__bind_resp, (int32_t)sizeof weft__bind_resp);
    } else {
        const char *msg = "error 42883 this function has no bind step";
        n = (int32_t)weft_strlen(msg);
        weft_memcpy(weft__bind_resp, msg, (size_t)n);
    }
    return ((uint64_t)(uintptr_t)weft__bind_resp << 32) | (uint32_t)n;
}

/* ---- per-row errors -------------------------------------------------------
 * weft_row_error marks row i of the result as failed: the row becomes NULL
 * when the session says SET weft.udf_row_errors = 'null', and otherwise the
 * query fails with the first such error. Either way the answer does not
 * depend on how the rows were split into batches. */
#define WEFT_ROW_ERRORS 4
static int weft__row_errors;

static void weft_row_error(const WeftCall *c, int64_t i, const char *sqlstate, const char *msg) {
    weft_set_null(c->out, i);
    if (!weft__row_errors) weft_error(sqlstate, msg);
    weft__row_errors++;
}

/* ---- the entry point the host calls ---------------------------------- */
WEFT_EXPORT(weft_call)
int32_t weft_call(int32_t fn, const char *bind, int32_t bind_len, WeftArray *in, uint64_t const_mask, WeftArray *out) {
    weft__row_errors = 0;
    WeftCall c;
    c.rows = out->length;
    c.nargs = (int)in->n_children;
    c.in = in->children;
    c.const_mask = const_mask;
    c.out = out;
    c.bind = bind;
    c.bind_len = bind_len;
    int32_t st = weft_dispatch(fn, &c);
    if (st == WEFT_OK && weft__row_errors) return WEFT_ROW_ERRORS;
    return st;
}

/* ---- aggregates ------------------------------------------------------------
 * An aggregate keeps one fixed-size state per group. The module defines,
 * for each aggregate (fn = its manifest position):
 *   uint32_t weft_agg_state_size(int fn);
 *   void weft_agg_init(int fn, void *state);            (state is zeroed first)
 *   int  weft_agg_step(int fn, void *states, const WeftCall *c, const uint32_t *groups);
 *        fold rows into states[groups[i]] (state size apart); skip rows whose
 *        group is WEFT_SKIP_ROW (a NULL argument of a strict aggregate)
 *   void weft_agg_combine(int fn, void *dst, const void *src);
 *   void weft_agg_result(int fn, const void *state, WeftArray *out, int64_t row);
 * and the SDK does the rest: growing state arrays, serialising states for
 * the host (their raw bytes), merging and finishing. */
#define WEFT_SKIP_ROW 0xFFFFFFFFu

#define WEFT__WEAK __attribute__((weak))
WEFT__WEAK uint32_t weft_agg_state_size(int fn);
WEFT__WEAK void weft_agg_init(int fn, void *state);
WEFT__WEAK int weft_agg_step(int fn, void *states, const WeftCall *c, const uint32_t *groups);
WEFT__WEAK void weft_agg_combine(int fn, void *dst, const void *src);
WEFT__WEAK void weft_agg_result(int fn, const void *state, WeftArray *out, int64_t row);

typedef struct WeftAcc {
    int fn;
    uint32_t size, ngroups, cap;
    unsigned char *states;
} WeftAcc;

static void weft__zero(void *p, size_t n) {
    unsigned char *b = p;
    while (n--) *b++ = 0;
}

static int weft__grow(WeftAcc *a, uint32_t ngroups) {
    if (ngroups > a->cap) {
        uint32_t cap = a->cap ? a->cap : 16;
        while (cap < ngroups) cap *= 2;
        unsigned char *next = weft_malloc((size_t)cap * a->size);
        if (!next) return 0;
        weft_memcpy(next, a->states, (size_t)a->ngroups * a->size);
        weft_mfree(a->states);
        a->states = next;
        a->cap = cap;
    }
    for (uint32_t g = a->ngroups; g < ngroups; g++) {
        weft__zero(a->states + (size_t)g * a->size, a->size);
        if (weft_agg_init) weft_agg_init(a->fn, a->states + (size_t)g * a->size);
    }
    if (ngroups > a->ngroups) a->ngroups = ngroups;
    return 1;
}

WEFT_EXPORT(weft_agg_create) WeftAcc *weft_agg_create(int32_t fn, const char *bind, int32_t bind_len) {
    (void)bind; (void)bind_len;
    if (!weft_agg_state_size || !weft_agg_step || !weft_agg_combine || !weft_agg_result) {
        weft_error("42883", "this module defines no aggregates");
        return 0;
    }
    WeftAcc *a = weft_malloc(sizeof *a);
    if (!a) { weft_error("53200", "out of memory"); return 0; }
    a->fn = fn;
    a->size = weft_agg_state_size(fn);
    a->ngroups = a->cap = 0;
    a->states = 0;
    return a;
}

WEFT_EXPORT(weft_agg_destroy) void weft_agg_destroy(WeftAcc *a) {
    weft_mfree(a->states);
    weft_mfree(a);
}

WEFT_EXPORT(weft_agg_update) int32_t weft_agg_update(WeftAcc *a, WeftArray *in, const uint32_t *groups, int32_t ngroups) {
    if (!weft__grow(a, (uint32_t)ngroups)) return weft_error("53200", "out of memory for aggregate states");
    WeftCall c;
    c.rows = in->length;
    c.nargs = (int)in->n_children;
    c.in = in->children;
    c.const_mask = 0;
    c.out = 0;
    c.bind = 0;
    c.bind_len = 0;
    return weft_agg_step(a->fn, a->states, &c, groups);
}

/* states travel as bytea: one state's raw bytes per group */
WEFT_EXPORT(weft_agg_state) int32_t weft_agg_state(WeftAcc *a, int32_t ngroups, WeftArray *out) {
    if (!weft__grow(a, (uint32_t)ngroups)) return weft_error("53200", "out of memory for aggregate states");
    weft_str_begin(out);
    for (int32_t g = 0; g < ngroups; g++)
        if (!weft_str_append(out, g, (const char *)a->states + (size_t)g * a->size, a->size))
            return weft_error("53200", "out of memory");
    weft_str_end(out);
    return WEFT_OK;
}

WEFT_EXPORT(weft_agg_merge) int32_t weft_agg_merge(WeftAcc *a, WeftArray *in, const uint32_t *groups, int32_t ngroups) {
    if (!weft__grow(a, (uint32_t)ngroups)) return weft_error("53200", "out of memory for aggregate states");
    const WeftArray *st = in->children[0];
    for (int64_t i = 0; i < st->length; i++) {
        int32_t n;
        const char *src = weft_str(st, i, &n);
        if ((uint32_t)n != a->size) return weft_error("XX000", "aggregate state of the wrong size");
        weft_agg_combine(a->fn, a->states + (size_t)groups[i] * a->size, src);
    }
    return WEFT_OK;
}

WEFT_EXPORT(weft_agg_finish) int32_t weft_agg_finish(WeftAcc *a, int32_t ngroups, WeftArray *out) {
    if (!weft__grow(a, (uint32_t)ngroups)) return weft_error("53200", "out of memory for aggregate states");
    for (int32_t g = 0; g < ngroups; g++)
        weft_agg_result(a->fn, a->states + (size_t)g * a->size, out, g);
    return WEFT_OK;
}

/* ---- table functions ---------------------------------------------------------
 * A table function is fed input (its argument row, or a relation's batches)
 * and asked for output batches. The module defines:
 *   void *weft_table_open(int fn, const char *bind, int32_t bind_len);
 *   int   weft_table_input(int fn, void *state, const WeftCall *c);
 *         c->in holds c->rows input rows; c is 0 at the end of the input
 *   int   weft_table_output(int fn, void *state, WeftBatch *b);
 *         add rows with weft_batch_*; return WEFT_BATCH (rows ready),
 *         WEFT_NEED_INPUT or WEFT_FINISHED
 *   void  weft_table_close(int fn, void *state);
 * Output columns are int64 ('l'), double ('g') or text ('u'). */
#define WEFT_BATCH 0
#define WEFT_NEED_INPUT 2
#define WEFT_FINISHED 3
#define WEFT_MAX_COLS 8

typedef struct WeftBatch {
    int ncols;
    char formats[WEFT_MAX_COLS];
    int64_t rows, cap;
    WeftArray cols[WEFT_MAX_COLS];
    WeftArray *colptrs[WEFT_MAX_COLS];
    void *bufs[WEFT_MAX_COLS][3];
    char *text[WEFT_MAX_COLS];
    uint32_t text_len[WEFT_MAX_COLS], text_cap[WEFT_MAX_COLS];
} WeftBatch;

WEFT__WEAK void *weft_table_open(int fn, const char *bind, int32_t bind_len);
WEFT__WEAK int weft_table_input(int fn, void *state, const WeftCall *c);
WEFT__WEAK int weft_table_output(int fn, void *state, WeftBatch *b);
WEFT__WEAK void weft_table_close(int fn, void *state);

typedef struct WeftTable { int fn; void *state; WeftBatch batch; } WeftTable;

static void weft__batch_free(WeftBatch *b) {
    for (int k = 0; k < b->ncols; k++) {
        weft_mfree(b->bufs[k][0]);
        weft_mfree(b->bufs[k][1]);
        weft_mfree(b->text[k]);
        b->bufs[k][0] = b->bufs[k][1] = 0;
        b->text[k] = 0;
        b->text_len[k] = b->text_cap[k] = 0;
    }
    b->rows = b->cap = 0;
}

/* weft_batch_init declares the output columns, e.g. "lu" for (bigint, text). */
static void weft_batch_init(WeftBatch *b, const char *formats) {
    b->ncols = 0;
    while (formats[b->ncols] && b->ncols < WEFT_MAX_COLS) {
        b->formats[b->ncols] = formats[b->ncols];
        b->bufs[b->ncols][0] = b->bufs[b->ncols][1] = 0;
        b->text[b->ncols] = 0;
        b->text_len[b->ncols] = b->text_cap[b->ncols] = 0;
        b->ncols++;
    }
    b->rows = b->cap = 0;
}

static int weft__batch_room(WeftBatch *b) {
    if (b->rows < b->cap) return 1;
    int64_t cap = b->cap ? b->cap * 2 : 1024;
    for (int k = 0; k < b->ncols; k++) {
        size_t w = b->formats[k] == 'u' ? 4 : 8;
        unsigned char *vals = weft_malloc((size_t)(cap + 1) * w);
        unsigned char *valid = weft_malloc((size_t)(cap + 7) / 8);
        if (!vals || !valid) return 0;
        if (b->bufs[k][1]) weft_memcpy(vals, b->bufs[k][1], (size_t)(b->cap + (w == 4)) * w);
        else if (w == 4) ((int32_t *)vals)[0] = 0;
        if (b->bufs[k][0]) weft_memcpy(valid, b->bufs[k][0], (size_t)(b->cap + 7) / 8);
        weft_mfree(b->bufs[k][1]);
        weft_mfree(b->bufs[k][0]);
        b->bufs[k][1] = vals;
        b->bufs[k][0] = valid;
    }
    b->cap = cap;
    return 1;
}

static inline void weft__batch_valid(WeftBatch *b, int k, int64_t row, int valid) {
    uint8_t *v = b->bufs[k][0];
    if (valid) v[row >> 3] |= (uint8_t)(1u << (row & 7));
    else v[row >> 3] &= (uint8_t)~(1u << (row & 7));
}

/* weft_batch_row starts a new row (0 when out of memory); set every column. */
static int weft_batch_row(WeftBatch *b) {
    if (!weft__batch_room(b)) return 0;
    b->rows++;
    return 1;
}
static void weft_batch_i64(WeftBatch *b, int k, int64_t v) {
    ((int64_t *)b->bufs[k][1])[b->rows - 1] = v;
    weft__batch_valid(b, k, b->rows - 1, 1);
}
static void weft_batch_f64(WeftBatch *b, int k, double v) {
    ((double *)b->bufs[k][1])[b->rows - 1] = v;
    weft__batch_valid(b, k, b->rows - 1, 1);
}
static void weft_batch_null(WeftBatch *b, int k) {
    weft__batch_valid(b, k, b->rows - 1, 0);
    if (b->formats[k] == 'u') ((int32_t *)b->bufs[k][1])[b->rows] = (int32_t)b->text_len[k];
}
static int weft_batch_str(WeftBatch *b, int k, const char *s, uint32_t n) {
    if (b->text_len[k] + n > b->text_cap[k]) {
        uint32_t cap = b->text_cap[k] ? b->text_cap[k] : 4096;
        while (cap < b->text_len[k] + n) cap *= 2;
        char *next = weft_malloc(cap);
        if (!next) return 0;
        weft_memcpy(next, b->text[k], b->text_len[k]);
        weft_mfree(b->text[k]);
        b->text[k] = next;
        b->text_cap[k] = cap;
    }
    weft_memcpy(b->text[k] + b->text_len[k], s, n);
    b->text_len[k] += n;
    ((int32_t *)b->bufs[k][1])[b->rows] = (int32_t)b->text_len[k];
    weft__batch_valid(b, k, b->rows - 1, 1);
    return 1;
}

static void weft__batch_emit(WeftBatch *b, WeftArray *out) {
    for (int k = 0; k < b->ncols; k++) {
        WeftArray *c = &b->cols[k];
        c->length = b->rows;
        c->null_count = -1;
        c->offset = 0;
        c->n_buffers = b->formats[k] == 'u' ? 3 : 2;
        c->n_children = 0;
        b->bufs[k][2] = b->text[k] ? b->text[k] : (char *)b->bufs[k][1];
        c->buffers = (const void **)b->bufs[k];
        c->children = 0;
        c->dictionary = 0;
        b->colptrs[k] = c;
    }
    out->length = b->rows;
    out->n_children = b->ncols;
    out->children = b->colptrs;
}

WEFT_EXPORT(weft_table_create) WeftTable *weft_table_create(int32_t fn, const char *bind, int32_t bind_len) {
    if (!weft_table_open || !weft_table_input || !weft_table_output) {
        weft_error("42883", "this module defines no table functions");
        return 0;
    }
    WeftTable *t = weft_malloc(sizeof *t);
    if (!t) { weft_error("53200", "out of memory"); return 0; }
    t->fn = fn;
    t->batch.ncols = 0;
    t->state = weft_table_open(fn, bind, bind_len);
    if (!t->state) { weft_mfree(t); return 0; }
    return t;
}

WEFT_EXPORT(weft_table_push) int32_t weft_table_push(WeftTable *t, WeftArray *in, uint64_t const_mask) {
    if (!in) return weft_table_input(t->fn, t->state, 0);
    WeftCall c;
    c.rows = in->length;
    c.nargs = (int)in->n_children;
    c.in = in->children;
    c.const_mask = const_mask;
    c.out = 0;
    c.bind = 0;
    c.bind_len = 0;
    return weft_table_input(t->fn, t->state, &c);
}

WEFT_EXPORT(weft_table_pull) int32_t weft_table_pull(WeftTable *t, WeftArray *out) {
    weft__batch_free(&t->batch); /* the host has copied the previous batch */
    int st = weft_table_output(t->fn, t->state, &t->batch);
    if (st == WEFT_BATCH) weft__batch_emit(&t->batch, out);
    return st;
}

WEFT_EXPORT(weft_table_destroy) void weft_table_destroy(WeftTable *t) {
    weft__batch_free(&t->batch);
    if (weft_table_close) weft_table_close(t->fn, t->state);
    weft_mfree(t);
}

#endif
