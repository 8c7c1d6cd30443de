package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
	"math"
	"math/rand"
	"testing"
)

// TestConstDivisor checks quo and rem against Go's / and % for divisors
// of every size and sign (powers of two among them) and dividends at the
// edges of int64 as well as random ones.
func TestConstDivisor(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	divisors := []int64{1, 2, 3, 5, 7, 10, 16, 1000, 1000003, 1 << 40, (1 << 40) + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, -2, -3, -7, -1024, -1000000007}
	for range 200 {
		divisors = append(divisors, rng.Int63()>>uint(rng.Intn(62)), -(rng.Int63() >> uint(rng.Intn(62))))
	}
	dividends := []int64{0, 1, -1, 2, -2, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	for range 2000 {
		x := int64(rng.Uint64()) >> uint(rng.Intn(63))
		dividends = append(dividends, x, -x)
	}
	for _, d := range divisors {
		if d == 0 || d == -1 {
			continue
		}
		c := newConstDivisor(d)
		for _, x := range append(dividends, d, -d, d+1, d-1, 3*d, math.MinInt64/d*d) {
			if got, want := c.quo(x), x/d; got != want {
				t.Fatalf("%d / %d: got %d, want %d", x, d, got, want)
			}
			if got, want := c.rem(x), x%d; got != want {
				t.Fatalf("%d %% %d: got %d, want %d", x, d, got, want)
			}
		}
	}
}

func TestUniformDivisor(t *testing.T) {
	cases := []struct {
		b    []int64
		want int64
		ok   bool
	}{
		{nil, 0, false},
		{[]int64{3, 3, 3}, 3, true},
		{[]int64{3, 3, 4}, 0, false},
		{[]int64{0, 0}, 0, false},
		{[]int64{-1, -1}, 0, false},
		{[]int64{-5}, -5, true},
	}
	for _, c := range cases {
		if got, ok := uniformDivisor(c.b); got != c.want || ok != c.ok {
			t.Errorf("%v: got %d %v, want %d %v", c.b, got, ok, c.want, c.ok)
		}
	}
}

// TestIntDivisionKernel runs the int2/int4/int8 / and % kernels over
// batches whose divisor column is one value (the constant path) or
// varies (the row path), with NULLs in some batches only, and checks
// every row against Go's arithmetic; a zero divisor on a non-NULL row
// fails with 22012 either way.
func TestIntDivisionKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	rng := rand.New(rand.NewSource(9))
	for _, typ := range []types.T{types.Int2T, types.Int4T, types.Int8T} {
		lo, hi := intRange(typ)
		for _, op := range []ArithOp{'/', '%'} {
			k, _ := ArithKernel(op, typ)
			for _, c := range []struct {
				name    string
				divisor func(i int) int64
				nulls   bool
				fail    bool
			}{
				{"constant 7", func(int) int64 { return 7 }, false, false},
				{"constant -16 with NULLs", func(int) int64 { return -16 }, true, false},
				{"constant 1", func(int) int64 { return 1 }, false, false},
				{"varying", func(i int) int64 { return int64(i%13-6) | 1 }, true, false},
				{"constant -1", func(int) int64 { return -1 }, false, op == '/'}, // the minimum / -1 is out of range
				{"constant 0", func(int) int64 { return 0 }, false, true},
			} {
				const n = 3000
				xs := make([]types.Datum, n)
				for i := range xs {
					x := lo + rng.Int63n(hi/2)*2 + rng.Int63n(2)
					if i == 0 {
						x = lo
					}
					if c.nulls && i%5 == 0 {
						xs[i] = nil
						continue
					}
					xs[i] = x
				}
				a := arrayOf(ec, typ, xs)
				bvals := make([]types.Datum, n)
				for i := range bvals {
					bvals[i] = c.divisor(i)
				}
				b := arrayOf(ec, typ, bvals)
				got, err := k(ec, []arrow.Array{a, b}, n)
				a.Release()
				b.Release()
				if c.fail {
					if err == nil {
						got.Release()
						t.Fatalf("%s %c %s: no error", typ, op, c.name)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s %c %s: %v", typ, op, c.name, err)
				}
				for i := 0; i < n; i++ {
					g := DatumAt(got, i)
					if xs[i] == nil {
						if g != nil {
							t.Fatalf("%s %c %s row %d: %v for NULL", typ, op, c.name, i, g)
						}
						continue
					}
					x, d := xs[i].(int64), c.divisor(i)
					want := x % d
					if op == '/' {
						want = x / d
					}
					if g != want {
						t.Fatalf("%s %d %c %d: got %v, want %d", typ, x, op, d, g, want)
					}
				}
				got.Release()
			}
		}
	}
}

// arrayOf builds an array of type t from datums.
func arrayOf(ec *EvalContext, t types.T, ds []types.Datum) arrow.Array {
	b := newBuilder(ec, t)
	defer b.Release()
	for _, d := range ds {
		AppendDatum(b, d)
	}
	return b.NewArray()
}

// BenchmarkIntModulo is v % 3 over an 8192-row int8 batch: the constant
// divisor's multiply-and-shift against a column of divisors.
func BenchmarkIntModulo(b *testing.B) {
	mem := memory.NewGoAllocator()
	ec := &EvalContext{Mem: mem}
	const n = 8192
	xs, same, varying := make([]types.Datum, n), make([]types.Datum, n), make([]types.Datum, n)
	for i := range xs {
		xs[i], same[i], varying[i] = int64(i*7919), int64(3), int64(3+i%2)
	}
	a := arrayOf(ec, types.Int8T, xs)
	defer a.Release()
	k, _ := ArithKernel('%', types.Int8T)
	for _, c := range []struct {
		name string
		d    []types.Datum
	}{{"constant", same}, {"column", varying}} {
		d := arrayOf(ec, types.Int8T, c.d)
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				r, err := k(ec, []arrow.Array{a, d}, n)
				if err != nil {
					b.Fatal(err)
				}
				r.Release()
			}
		})
		d.Release()
	}
}
