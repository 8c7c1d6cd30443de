package exec

import (
	"errors"
	"math"
	"math/big"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// TestIntArithOverflow runs int2/int4/int8 + - * over batches of values
// near the type's limits, with NULLs in some batches only, and checks
// each row against exact big-integer arithmetic: an overflow on a
// non-NULL row fails with 22003, one on a NULL row does not matter.
func TestIntArithOverflow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	rng := rand.New(rand.NewSource(21))
	for _, typ := range []types.T{types.Int2T, types.Int4T, types.Int8T} {
		lo, hi := intRange(typ)
		pick := func() int64 {
			switch rng.Intn(4) {
			case 0:
				return lo + rng.Int63n(4)
			case 1:
				return hi - rng.Int63n(4)
			case 2:
				return rng.Int63n(2001) - 1000
			}
			bitsOf := uint(math.Log2(float64(hi)))
			return int64(rng.Uint64()>>(64-bitsOf/2)) - int64(1)<<(bitsOf/2-1)
		}
		for _, op := range []ArithOp{'+', '-', '*'} {
			k, _ := ArithKernel(op, typ)
			for batch := 0; batch < 60; batch++ {
				n := 1 + rng.Intn(700)
				nulls := batch%3 == 0
				xs, ys := make([]types.Datum, n), make([]types.Datum, n)
				wantErr := false
				want := make([]types.Datum, n)
				for i := range xs {
					x, y := pick(), pick()
					if op != '*' && rng.Intn(2) == 0 {
						y = rng.Int63n(100) // mostly in range
					}
					xs[i], ys[i] = x, y
					if nulls && rng.Intn(4) == 0 {
						if rng.Intn(2) == 0 {
							xs[i] = nil
						} else {
							ys[i] = nil
						}
						continue
					}
					r := exactArith(op, x, y)
					if !r.IsInt64() || r.Int64() < lo || r.Int64() > hi {
						wantErr = true
						continue
					}
					want[i] = r.Int64()
				}
				a, b := arrayOf(ec, typ, xs), arrayOf(ec, typ, ys)
				got, err := k(ec, []arrow.Array{a, b}, n)
				a.Release()
				b.Release()
				if wantErr {
					var se *sqlerr.Error
					if err == nil {
						got.Release()
						t.Fatalf("%s %c batch %d: no overflow error", typ, op, batch)
					}
					if !errors.As(err, &se) || se.Code != sqlerr.NumericOutOfRange {
						t.Fatalf("%s %c batch %d: %v, want 22003", typ, op, batch, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s %c batch %d: %v", typ, op, batch, err)
				}
				for i := range want {
					if g := DatumAt(got, i); g != want[i] {
						t.Fatalf("%s %v %c %v: got %v, want %v", typ, xs[i], op, ys[i], g, want[i])
					}
				}
				got.Release()
			}
		}
	}
}

func exactArith(op ArithOp, x, y int64) *big.Int {
	bx, by := big.NewInt(x), big.NewInt(y)
	switch op {
	case '+':
		return bx.Add(bx, by)
	case '-':
		return bx.Sub(bx, by)
	}
	return bx.Mul(bx, by)
}

// BenchmarkIntArith is v * 3, v + w and v - w over 8192-row int8
// batches: the overflow checks' share of an expression.
func BenchmarkIntArith(b *testing.B) {
	mem := memory.NewGoAllocator()
	ec := &EvalContext{Mem: mem}
	const n = 8192
	xs, ys := make([]types.Datum, n), make([]types.Datum, n)
	for i := range xs {
		xs[i], ys[i] = int64(i*7919), int64(3)
	}
	x, y := arrayOf(ec, types.Int8T, xs), arrayOf(ec, types.Int8T, ys)
	defer x.Release()
	defer y.Release()
	for _, op := range []ArithOp{'*', '+', '-'} {
		k, _ := ArithKernel(op, types.Int8T)
		b.Run(string(op), func(b *testing.B) {
			for range b.N {
				r, err := k(ec, []arrow.Array{x, y}, n)
				if err != nil {
					b.Fatal(err)
				}
				r.Release()
			}
		})
	}
}

// TestInt8MultiplyBounds multiplies int8 pairs around the bounds where
// the batch-wide magnitude check lets products skip their per-row check
// (|x|·|y| up to 2^62) and where it must not, one pair a batch, against
// exact arithmetic.
func TestInt8MultiplyBounds(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	k, _ := ArithKernel('*', types.Int8T)
	edges := []int64{0, 1, -1, 3, -3, 1 << 31, -(1 << 31), 1<<31 - 1, 1 << 32, -(1 << 32), 1<<62 - 1, -(1 << 62), 1 << 62, math.MaxInt64, math.MinInt64}
	for _, x := range edges {
		for _, y := range edges {
			a, b := arrayOf(ec, types.Int8T, []types.Datum{x}), arrayOf(ec, types.Int8T, []types.Datum{y})
			got, err := k(ec, []arrow.Array{a, b}, 1)
			a.Release()
			b.Release()
			want := exactArith('*', x, y)
			if !want.IsInt64() {
				if err == nil {
					got.Release()
					t.Fatalf("%d * %d: no overflow error", x, y)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%d * %d: %v", x, y, err)
			}
			if g := DatumAt(got, 0); g != want.Int64() {
				t.Fatalf("%d * %d: got %v, want %d", x, y, g, want)
			}
			got.Release()
		}
	}
}
