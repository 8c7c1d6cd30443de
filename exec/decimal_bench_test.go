package exec

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// The benchmarks run the fixed-point kernels beside the per-row big.Rat
// path they replace ("exact"), in one run, so their ratio holds on a busy
// machine:
//
//	go test -run '^$' -bench 'BenchmarkNumeric' -benchtime 3x ./exec

const benchRows = 2_000_000

// benchDecimals is benchRows values of numeric(15,2) in batches of 8192:
// prices up to 100,000.00 (or, with small, rates up to 0.10).
func benchDecimals(mem memory.Allocator, rng *rand.Rand, scale int32, small bool) []arrow.Array {
	var out []arrow.Array
	for start := 0; start < benchRows; start += 8192 {
		bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: scale})
		for i := start; i < min(benchRows, start+8192); i++ {
			if small {
				bld.Append(decimal128.FromI64(rng.Int64N(11)))
			} else {
				bld.Append(decimal128.FromI64(rng.Int64N(10_000_000)))
			}
		}
		out = append(out, bld.NewArray())
		bld.Release()
	}
	return out
}

// ratSumReference is the big.Rat accumulator sum(numeric) used before the
// fixed-point one, kept to measure against.
type ratSumReference struct {
	sums  []*big.Rat
	scale int32
}

func (a *ratSumReference) update(groups []uint32, ng int, arr arrow.Array) {
	a.sums = grow[*big.Rat](a.sums, ng, nil)
	src := arr.(*array.Decimal128)
	for i, g := range groups {
		if src.IsNull(i) {
			continue
		}
		if a.sums[g] == nil {
			a.sums[g] = new(big.Rat)
		}
		a.sums[g].Add(a.sums[g], types.NumericToRat(src.Value(i), a.scale))
	}
}

func BenchmarkNumericSum(b *testing.B) {
	mem := memory.NewGoAllocator()
	ec := testEvalContext(mem)
	batches := benchDecimals(mem, rand.New(rand.NewPCG(1, 2)), 2, false)
	groups := make([]uint32, 8192)
	b.Run("exact", func(b *testing.B) {
		for range b.N {
			acc := &ratSumReference{scale: 2}
			for _, arr := range batches {
				acc.update(groups[:arr.Len()], 1, arr)
			}
		}
	})
	b.Run("fixed", func(b *testing.B) {
		_, _, newAcc, _ := Aggregates()["sum"].Resolve([]types.T{types.NumericT(15, 2)})
		for range b.N {
			acc := newAcc()
			for _, arr := range batches {
				if err := acc.Update(ec, groups[:arr.Len()], 1, []arrow.Array{arr}); err != nil {
					b.Fatal(err)
				}
			}
			res, err := acc.Finish(ec, 1)
			if err != nil {
				b.Fatal(err)
			}
			res.Release()
		}
	})
}

// BenchmarkNumericQ01Expr is TPC-H q01's l_extendedprice * (1 -
// l_discount) * (1 + l_tax) as the binder types it: 1 becomes numeric(0,0),
// the scales grow 2, 4, 6.
func BenchmarkNumericQ01Expr(b *testing.B) {
	mem := memory.NewGoAllocator()
	ec := testEvalContext(mem)
	rng := rand.New(rand.NewPCG(3, 4))
	price := benchDecimals(mem, rng, 2, false)
	disc := benchDecimals(mem, rng, 2, true)
	tax := benchDecimals(mem, rng, 2, true)
	s2, s4, s6 := types.NumericT(0, 2), types.NumericT(0, 4), types.NumericT(0, 6)
	exact := func(op ArithOp, t types.T) Kernel {
		return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			sa, sb := decimalScale(args[0]), decimalScale(args[1])
			return rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
				return exactNumericArith(op, ds[0].(decimal128.Num), ds[1].(decimal128.Num), sa, sb, t)
			})(ec, args, n)
		}
	}
	run := func(b *testing.B, kernel func(ArithOp, types.T) Kernel) {
		sub, mul4, add, mul6 := kernel('-', s2), kernel('*', s4), kernel('+', s2), kernel('*', s6)
		for range b.N {
			for i := range price {
				n := price[i].Len()
				one := ConstArray(mem, types.NumericT(0, 0), decimal128.FromI64(1), n)
				step := func(k Kernel, x, y arrow.Array) arrow.Array {
					r, err := k(ec, []arrow.Array{x, y}, n)
					if err != nil {
						b.Fatal(err)
					}
					return r
				}
				d := step(sub, one, disc[i])
				t := step(add, one, tax[i])
				p := step(mul4, price[i], d)
				r := step(mul6, p, t)
				for _, a := range []arrow.Array{one, d, t, p, r} {
					a.Release()
				}
			}
		}
	}
	b.Run("exact", func(b *testing.B) { run(b, exact) })
	b.Run("fixed", func(b *testing.B) { run(b, numericArith) })
}
