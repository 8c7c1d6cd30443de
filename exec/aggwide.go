package exec

import (
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/weftdb/weft/sql/types"
)

// Numeric sums whose partial state crosses processes (the cluster's
// partial aggregations): a partial sum of numerics may pass 38 digits
// although the whole sum does not (9e37 in one partition, -9e37 in
// another), and a numeric column is a decimal128. So the partial sum
// crosses as a Decimal256 of the input's scale, the exact sum of the
// partition's values (at most 2^63 values below 10^38: under 10^57),
// and the final phase adds those exactly (2^63 of them stay under
// 10^76, within 256 bits) before it narrows the total to numeric, with
// numeric's overflow error only when the total itself does not fit.

// WideNumericType is the Arrow type of a partial numeric sum of values
// of scale.
func WideNumericType(scale int32) *arrow.Decimal256Type {
	return &arrow.Decimal256Type{Precision: 76, Scale: scale}
}

// NewPartialNumericSum is sum's accumulator over numerics of scale whose
// result is the exact sum as a Decimal256 of WideNumericType(scale).
func NewPartialNumericSum(scale int32) Accumulator {
	return &partialNumericSum{decimalSumAcc{ret: types.NumericT(0, scale), scale: scale}}
}

type partialNumericSum struct{ decimalSumAcc }

func (a *partialNumericSum) Merge(o Accumulator, mapping []uint32, ng int) {
	a.decimalSumAcc.Merge(&o.(*partialNumericSum).decimalSumAcc, mapping, ng)
}

func (a *partialNumericSum) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.growTo(ng)
	bld := array.NewDecimal256Builder(ec.Mem, WideNumericType(a.scale))
	defer bld.Release()
	bld.Reserve(ng)
	for g := 0; g < ng; g++ {
		switch over, spilled := a.overflow[uint32(g)]; {
		case a.count[g] == 0:
			bld.AppendNull()
		case spilled:
			tot := a.sums[g].BigInt()
			bld.Append(decimal256.FromBigInt(tot.Add(tot, over)))
		default:
			bld.Append(decimal256.FromDecimal128(a.sums[g]))
		}
	}
	return bld.NewArray(), nil
}

// NewWideSumMerge adds partial numeric sums (Decimal256 of
// WideNumericType(scale)) exactly. Its result is numeric ret (at the
// same scale), or, when wide, the exact total as a Decimal256 again
// (avg's sum, which is divided before it is narrowed).
func NewWideSumMerge(ret types.T, scale int32, wide bool) Accumulator {
	return &wideSumMerge{ret: ret, scale: scale, wide: wide}
}

type wideSumMerge struct {
	sums  []decimal256.Num
	seen  []bool
	ret   types.T
	scale int32
	wide  bool
}

func (a *wideSumMerge) growTo(ng int) {
	a.sums = grow(a.sums, ng, decimal256.Num{})
	a.seen = grow(a.seen, ng, false)
}

func (a *wideSumMerge) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.growTo(ng)
	arr := args[0].(*array.Decimal256)
	for i, g := range groups {
		if arr.IsValid(i) {
			a.sums[g] = a.sums[g].Add(arr.Value(i))
			a.seen[g] = true
		}
	}
	return nil
}

func (a *wideSumMerge) Merge(o Accumulator, mapping []uint32, ng int) {
	a.growTo(ng)
	other := o.(*wideSumMerge)
	for g, seen := range other.seen {
		if seen {
			dst := mapping[g]
			a.sums[dst] = a.sums[dst].Add(other.sums[g])
			a.seen[dst] = true
		}
	}
}

func (a *wideSumMerge) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.growTo(ng)
	if a.wide {
		bld := array.NewDecimal256Builder(ec.Mem, WideNumericType(a.scale))
		defer bld.Release()
		for g := 0; g < ng; g++ {
			if !a.seen[g] {
				bld.AppendNull()
				continue
			}
			bld.Append(a.sums[g])
		}
		return bld.NewArray(), nil
	}
	bld := newBuilder(ec, a.ret).(*array.Decimal128Builder)
	defer bld.Release()
	bld.Reserve(ng)
	for g := 0; g < ng; g++ {
		if !a.seen[g] {
			bld.AppendNull()
			continue
		}
		d, err := a.narrow(a.sums[g])
		if err != nil {
			return nil, err
		}
		bld.Append(d)
	}
	return bld.NewArray(), nil
}

// narrow is an exact total as numeric ret: directly when it has 38
// digits at most at ret's scale, else through numeric's own conversion
// (which rounds to ret's scale or fails with its overflow error, as the
// sum in one process does).
func (a *wideSumMerge) narrow(n decimal256.Num) (decimal128.Num, error) {
	if a.ret.Scale == a.scale && n.FitsInPrecision(38) {
		w := n.Array()
		return decimal128.New(int64(w[1]), w[0]), nil
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(a.scale)), nil)
	d, err := types.RatToNumeric(new(big.Rat).SetFrac(n.BigInt(), den), a.ret)
	if err != nil {
		return decimal128.Num{}, err
	}
	return d.(decimal128.Num), nil
}

// WideNumericRat is a partial numeric sum (WideNumericType(scale)) at row
// i as a rational; ok is false for NULL.
func WideNumericRat(arr arrow.Array, i int, scale int32) (*big.Rat, bool) {
	wide, isWide := arr.(*array.Decimal256)
	if !isWide || wide.IsNull(i) {
		return nil, false
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	return new(big.Rat).SetFrac(wide.Value(i).BigInt(), den), true
}
