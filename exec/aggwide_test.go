package exec

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// TestWideNumericSums: partial sums of numerics cross as exact
// Decimal256 values whatever their size, and the merge narrows the
// total to numeric: directly, rounded to another scale, or with
// numeric's overflow error when the total itself passes 38 digits; the
// wide merge (avg's) keeps it exact. Two partitions of three groups:
// group 0's partials pass 38 digits and cancel, group 1's total passes
// them, group 2 is NULL in one partition and absent in the other.
func TestWideNumericSums(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := NewEvalContext(context.Background(), NewEnv(mem, 1024, 1))
	big37 := func(sign int64) *big.Int {
		v, _ := new(big.Int).SetString("90000000000000000000000000000000000000", 10)
		return v.Mul(v, big.NewInt(sign))
	}
	partitions := []struct {
		groups []uint32
		vals   []*big.Int // nil: NULL
	}{
		{[]uint32{0, 0, 0, 1, 2}, []*big.Int{big37(1), big37(1), big37(1), big37(1), nil}},
		{[]uint32{0, 0, 0, 1, 0}, []*big.Int{big37(-1), big37(-1), big37(-1), big37(1), big.NewInt(12345)}},
	}
	const scale = 2
	var partials []arrow.Array
	for _, p := range partitions {
		acc := NewPartialNumericSum(scale)
		in := scaledDecimals(mem, p.vals)
		if err := acc.Update(ec, p.groups, 3, []arrow.Array{in}); err != nil {
			t.Fatal(err)
		}
		in.Release()
		out, err := acc.Finish(ec, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Release()
		if !arrow.TypeEqual(out.DataType(), WideNumericType(scale)) {
			t.Fatalf("a partial sum is a %s", out.DataType())
		}
		partials = append(partials, out)
	}
	if got, _ := WideNumericRat(partials[0], 0, scale); got.Cmp(new(big.Rat).SetFrac(new(big.Int).Mul(big37(3), big.NewInt(1)), big.NewInt(100))) != 0 {
		t.Errorf("partition 0's partial sum of group 0 is %v, want 2.7e38 scaled", got)
	}
	merge := func(ret types.T, wide bool) (arrow.Array, error) {
		// one accumulator per partition merged into the first, as a
		// parallel final phase does
		var accs []Accumulator
		for _, p := range partials {
			acc := NewWideSumMerge(ret, scale, wide)
			if err := acc.Update(ec, []uint32{0, 1, 2}, 3, []arrow.Array{p}); err != nil {
				return nil, err
			}
			accs = append(accs, acc)
		}
		accs[0].Merge(accs[1], []uint32{0, 1, 2}, 3)
		return accs[0].Finish(ec, 3)
	}
	if _, err := merge(types.NumericT(0, scale), false); !isOverflow(err) {
		t.Errorf("a total of 1.8e38 narrowed to numeric: %v, want 22003", err)
	}
	wide, err := merge(types.NumericT(0, scale), true)
	if err != nil {
		t.Fatal(err)
	}
	defer wide.Release()
	for g, want := range []string{"2469/20", "1800000000000000000000000000000000000", ""} { // (123.45 and 1.8e36)
		got, ok := WideNumericRat(wide, g, scale)
		switch {
		case want == "" && ok:
			t.Errorf("group %d: %v, want NULL", g, got)
		case want != "" && (!ok || got.RatString() != want):
			t.Errorf("group %d: %v, want %s", g, got, want)
		}
	}
	// without group 1 (the overflow) the narrowed totals: at the scale,
	// and rounded to one digit fewer
	for _, tc := range []struct {
		ret  types.T
		want string
	}{{types.NumericT(0, scale), "123.45"}, {types.NumericT(0, 1), "123.5"}} {
		acc := NewWideSumMerge(tc.ret, scale, false)
		for _, p := range partials {
			if err := acc.Update(ec, []uint32{0, 2, 1}, 3, []arrow.Array{p}); err != nil {
				t.Fatal(err)
			}
		}
		out, err := acc.Finish(ec, 2) // groups 0 and 2 only
		if err != nil {
			t.Fatalf("numeric(0,%d): %v", tc.ret.Scale, err)
		}
		got := types.Format(tc.ret, DatumAt(out, 0))
		if got != tc.want || !out.IsNull(1) {
			t.Errorf("numeric(0,%d): %s, NULL %v; want %s and NULL", tc.ret.Scale, got, out.IsNull(1), tc.want)
		}
		out.Release()
	}
}

func isOverflow(err error) bool {
	var se *sqlerr.Error
	return errors.As(err, &se) && se.Code == sqlerr.NumericOutOfRange
}

// scaledDecimals holds scaled integers as numeric's decimal128 (nil: NULL).
func scaledDecimals(mem memory.Allocator, vals []*big.Int) arrow.Array {
	bld := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 38, Scale: 2})
	defer bld.Release()
	for _, v := range vals {
		if v == nil {
			bld.AppendNull()
			continue
		}
		bld.Append(decimal128.FromBigInt(v))
	}
	return bld.NewArray()
}
