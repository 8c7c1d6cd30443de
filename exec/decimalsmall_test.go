package exec

import (
	"math"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TestSmallDecimalPaths: the int64 paths of + - * give the general
// path's result wherever they answer, and step aside (ok false) at the
// edges of int64 rather than wrap.
func TestSmallDecimalPaths(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	edges := []int64{0, 1, -1, 99, -100, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1, 1 << 40, -(1 << 40), math.MaxInt64, math.MinInt64, math.MaxInt64 / 2, math.MinInt64 / 2}
	vals := []decimal128.Num{decimal128.New(1, 0), decimal128.New(-2, 5)} // beyond int64
	for _, e := range edges {
		vals = append(vals, decimal128.FromI64(e))
	}
	for k := 0; k < 300; k++ {
		vals = append(vals, decimal128.FromI64(rng.Int63n(1<<uint(rng.Intn(62)+1))-rng.Int63n(1<<20)))
	}
	answered := 0
	for _, a := range vals {
		for _, b := range vals {
			for _, sub := range []bool{false, true} {
				for _, sc := range [][2]int32{{2, 2}, {0, 2}, {2, 0}, {4, 1}, {0, 18}} {
					if got, ok := addSmallDecimals(a, b, sc[0], sc[1], sub); ok {
						answered++
						want, wok := decimalAdd(a, b, sc[0], sc[1], sub)
						if !wok || got != want {
							t.Fatalf("%v (scale %d) ± %v (scale %d) (sub %v): %v, general path %v (%v)", a, sc[0], b, sc[1], sub, got, want, wok)
						}
					}
				}
			}
			if got, ok := mulSmallDecimals(a, b); ok {
				answered++
				want, wok := decimalMul(a, b, 2, 2, 4)
				if !wok || got != want {
					t.Fatalf("%v * %v: %v, general path %v (%v)", a, b, got, want, wok)
				}
			}
		}
	}
	if answered == 0 {
		t.Fatal("the int64 paths answered nothing")
	}
	for _, c := range []struct {
		a, b int64
		sub  bool
	}{{math.MaxInt64, 1, false}, {math.MinInt64, 1, true}, {math.MinInt64, -1, false}} {
		if _, ok := addSmallDecimals(decimal128.FromI64(c.a), decimal128.FromI64(c.b), 0, 0, c.sub); ok {
			t.Fatalf("%d ± %d (sub %v) wrapped instead of stepping aside", c.a, c.b, c.sub)
		}
	}
	if _, ok := mulSmallDecimals(decimal128.FromI64(math.MaxInt64), decimal128.FromI64(2)); ok {
		t.Fatal("MaxInt64 * 2 wrapped instead of stepping aside")
	}
	if _, ok := mulSmallDecimals(decimal128.FromI64(math.MinInt64), decimal128.FromI64(-1)); ok {
		t.Fatal("MinInt64 * -1 wrapped instead of stepping aside")
	}
}
