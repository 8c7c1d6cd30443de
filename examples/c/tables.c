/* Table functions in C with sdk/c/weft_udf.h:
 *   split_words(text) -> (word text, position bigint): one row per word
 *   histogram((SELECT v, … FROM …)) -> (bucket bigint, n bigint): reads a
 *     relation (its first column, bigint) partition by partition and emits
 *     counts per bucket of 10 once its input ends (mapPartitions) */
#include "../../sdk/c/weft_udf.h"

WEFT_MANIFEST(
    "function split_words table (u) -> (word u, position l)\n"
    "function histogram table (table) -> any\n")

enum { SPLIT_WORDS, HISTOGRAM };

/* histogram's bind: the input relation's first column must be bigint. */
int weft_bind_fn(int fn, const char *req, int32_t len, char *resp, int32_t cap) {
    const char *answer = "ok (bucket l, n l)";
    if (fn != HISTOGRAM || len < 2 || req[0] != 'l' || (req[1] != '\n' && req[1] != ' '))
        answer = "error 42804 histogram reads a relation whose first column is bigint";
    int32_t n = (int32_t)weft_strlen(answer);
    if (n > cap) n = cap;
    weft_memcpy(resp, answer, (size_t)n);
    return n;
}

#define BUCKETS 1024

typedef struct {
    char *text;          /* pending input rows, NUL-separated */
    uint32_t len, cap;
    int ended;
    int64_t counts[BUCKETS];
    int64_t overflow;    /* values outside [0, 10 * BUCKETS) */
} State;

void *weft_table_open(int fn, const char *bind, int32_t bind_len) {
    (void)fn; (void)bind; (void)bind_len;
    State *s = weft_malloc(sizeof *s);
    if (!s) { weft_error("53200", "out of memory"); return 0; }
    weft__zero(s, sizeof *s);
    return s;
}

void weft_table_close(int fn, void *state) {
    (void)fn;
    State *s = state;
    weft_mfree(s->text);
    weft_mfree(s);
}

static int keep_text(State *s, const char *p, int32_t n) {
    if (s->len + (uint32_t)n + 1 > s->cap) {
        uint32_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + (uint32_t)n + 1) cap *= 2;
        char *next = weft_malloc(cap);
        if (!next) return 0;
        weft_memcpy(next, s->text, s->len);
        weft_mfree(s->text);
        s->text = next;
        s->cap = cap;
    }
    weft_memcpy(s->text + s->len, p, (size_t)n);
    s->len += (uint32_t)n;
    s->text[s->len++] = 0;
    return 1;
}

int weft_table_input(int fn, void *state, const WeftCall *c) {
    State *s = state;
    if (!c) { s->ended = 1; return WEFT_OK; }
    if (fn == SPLIT_WORDS) {
        for (int64_t i = 0; i < c->rows; i++) {
            int64_t r = weft_row(c, 0, i);
            if (weft_is_null(c->in[0], r)) continue;
            int32_t n;
            const char *p = weft_str(c->in[0], r, &n);
            if (!keep_text(s, p, n)) return weft_error("53200", "out of memory");
        }
        return WEFT_OK;
    }
    const WeftArray *v = c->in[0];
    if (c->nargs < 1 || v->n_buffers != 2) return weft_error("42804", "histogram reads a relation whose first column is bigint");
    for (int64_t i = 0; i < c->rows; i++) {
        if (weft_is_null(v, i)) continue;
        int64_t x = weft_i64(v, i);
        if (x >= 0 && x < 10 * BUCKETS) s->counts[x / 10]++;
        else s->overflow++;
    }
    return WEFT_OK;
}

int weft_table_output(int fn, void *state, WeftBatch *b) {
    State *s = state;
    if (fn == SPLIT_WORDS) {
        if (s->len == 0) return s->ended ? WEFT_FINISHED : WEFT_NEED_INPUT;
        weft_batch_init(b, "ul");
        int64_t pos = 0;
        for (uint32_t i = 0; i < s->len;) {
            if (s->text[i] == 0) { pos = 0; i++; continue; }
            if (s->text[i] == ' ' || s->text[i] == '\t' || s->text[i] == '\n') { i++; continue; }
            uint32_t start = i;
            while (i < s->len && s->text[i] && s->text[i] != ' ' && s->text[i] != '\t' && s->text[i] != '\n') i++;
            if (!weft_batch_row(b) || !weft_batch_str(b, 0, s->text + start, i - start))
                return weft_error("53200", "out of memory");
            weft_batch_i64(b, 1, ++pos);
        }
        s->len = 0;
        return WEFT_BATCH;
    }
    if (!s->ended) return WEFT_NEED_INPUT;
    if (s->ended == 2) return WEFT_FINISHED;
    s->ended = 2;
    weft_batch_init(b, "ll");
    for (int k = 0; k < BUCKETS; k++) {
        if (!s->counts[k]) continue;
        if (!weft_batch_row(b)) return weft_error("53200", "out of memory");
        weft_batch_i64(b, 0, (int64_t)k * 10);
        weft_batch_i64(b, 1, s->counts[k]);
    }
    if (s->overflow) {
        if (!weft_batch_row(b)) return weft_error("53200", "out of memory");
        weft_batch_null(b, 0);
        weft_batch_i64(b, 1, s->overflow);
    }
    return WEFT_BATCH;
}

int weft_dispatch(int fn, const WeftCall *c) {
    (void)fn; (void)c;
    return weft_error("42809", "these are table functions");
}
