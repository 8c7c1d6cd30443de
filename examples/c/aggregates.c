/* Aggregates in C with sdk/c/weft_udf.h: a geometric mean and a sum
 * reimplemented in wasm (for comparison with the built-in sum). */
#include "../../sdk/c/weft_udf.h"

WEFT_MANIFEST(
    "function geomean aggregate (g) -> g strict\n"
    "function wsum aggregate (l) -> l strict\n")

enum { GEOMEAN, WSUM };

typedef struct { double log_sum; int64_t n; } GeoState;
typedef struct { int64_t sum; int64_t n; } SumState;

/* natural log for positive doubles, without libc: split off the binary
 * exponent, then atanh series on the mantissa */
static double weft_ln(double x) {
    union { double d; uint64_t u; } v = { x };
    int e = (int)((v.u >> 52) & 0x7ff) - 1023;
    v.u = (v.u & ~(0x7ffull << 52)) | (1023ull << 52); /* mantissa in [1, 2) */
    double m = v.d;
    if (m > 1.4142135623730951) { m /= 2; e++; }
    double t = (m - 1) / (m + 1), t2 = t * t, term = t, sum = 0;
    for (int k = 1; k < 40; k += 2) { sum += term / k; term *= t2; }
    return 2 * sum + e * 0.6931471805599453;
}

static double weft_exp(double x) {
    /* exp(x) = 2^k * exp(r), |r| <= ln2/2 */
    double kf = x / 0.6931471805599453;
    int64_t k = (int64_t)(kf + (kf >= 0 ? 0.5 : -0.5));
    double r = x - (double)k * 0.6931471805599453, term = 1, sum = 1;
    for (int i = 1; i < 30; i++) { term *= r / i; sum += term; }
    union { double d; uint64_t u; } p = { 1.0 };
    p.u += (uint64_t)k << 52;
    return sum * p.d;
}

uint32_t weft_agg_state_size(int fn) { return fn == GEOMEAN ? sizeof(GeoState) : sizeof(SumState); }

int weft_agg_step(int fn, void *states, const WeftCall *c, const uint32_t *groups) {
    const WeftArray *a = c->in[0];
    if (fn == GEOMEAN) {
        GeoState *s = states;
        for (int64_t i = 0; i < c->rows; i++) {
            if (groups[i] == WEFT_SKIP_ROW) continue;
            double x = weft_f64(a, i);
            if (x <= 0) return weft_error("22023", "geomean is defined for positive numbers only");
            s[groups[i]].log_sum += weft_ln(x);
            s[groups[i]].n++;
        }
        return WEFT_OK;
    }
    SumState *s = states;
    const int64_t *v = a->buffers[1];
    for (int64_t i = 0; i < c->rows; i++) {
        uint32_t g = groups[i];
        if (g == WEFT_SKIP_ROW) continue;
        if (__builtin_add_overflow(s[g].sum, v[i], &s[g].sum)) return weft_error("22003", "bigint out of range");
        s[g].n++;
    }
    return WEFT_OK;
}

void weft_agg_combine(int fn, void *dst, const void *src) {
    if (fn == GEOMEAN) {
        GeoState *d = dst;
        const GeoState *s = src;
        d->log_sum += s->log_sum;
        d->n += s->n;
    } else {
        SumState *d = dst;
        const SumState *s = src;
        d->sum += s->sum;
        d->n += s->n;
    }
}

void weft_agg_result(int fn, const void *state, WeftArray *out, int64_t row) {
    if (fn == GEOMEAN) {
        const GeoState *s = state;
        if (s->n == 0) weft_set_null(out, row);
        else weft_set_f64(out, row, weft_exp(s->log_sum / (double)s->n));
    } else {
        const SumState *s = state;
        if (s->n == 0) weft_set_null(out, row);
        else weft_set_i64(out, row, s->sum);
    }
}

int weft_dispatch(int fn, const WeftCall *c) {
    (void)fn; (void)c;
    return weft_error("42809", "these functions are aggregates");
}
