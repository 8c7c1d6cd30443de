package cluster

import (
	"context"
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// A hash aggregation over a worker pipeline runs its partial phase on
// the workers: each partition's rows are grouped where they are
// scanned, and only one row per group and partition crosses the
// network. The coordinator merges the partial rows with a final
// aggregation. This is done for the aggregates whose partial state can
// cross as values and be folded again exactly: count (summed), sums of
// integers, numerics and intervals (summed again), min and max (their
// own min and max), and avg of integers and numerics, whose state
// crosses as two columns, its exact sum and its count, divided once
// merged (avgOf). Anything else (DISTINCT, FILTER, ORDER BY inside the
// call, sums and averages of floats, whose rounding would depend on the
// split, user-defined aggregates) leaves the aggregation whole on the
// coordinator.

// PartialAggregate is the partial phase of Agg, partition by partition:
// partition p of it is the partial aggregation of partition p of Agg's
// input alone. Its rows are Agg's keys, then each aggregate's partial
// state: one column, or two (sum, count) for avg.
type PartialAggregate struct {
	Agg  *exec.HashAggregate
	aggs []exec.AggSpec // the partial aggregates
	out  *arrow.Schema
}

// NewPartialAggregate is h's partial phase; ok is false when an
// aggregate of h cannot be split.
func NewPartialAggregate(h *exec.HashAggregate) (*PartialAggregate, bool) {
	fields := append([]arrow.Field(nil), h.Out.Fields()[:len(h.Keys)]...)
	var aggs []exec.AggSpec
	for _, a := range h.Aggs {
		parts, ok := partialSpecs(a)
		if !ok {
			return nil, false
		}
		for _, p := range parts {
			typ := p.T.Arrow()
			if scale, ok := numericSum(p); ok {
				// the exact partial sum, which may pass numeric's 38 digits
				p.New = func() exec.Accumulator { return exec.NewPartialNumericSum(scale) }
				typ = exec.WideNumericType(scale)
			}
			aggs = append(aggs, p)
			fields = append(fields, arrow.Field{Name: p.String(), Type: typ, Nullable: true})
		}
	}
	return &PartialAggregate{Agg: h, aggs: aggs, out: arrow.NewSchema(fields, nil)}, true
}

func (p *PartialAggregate) Schema() *arrow.Schema     { return p.out }
func (p *PartialAggregate) Partitions() int           { return p.Agg.Input.Partitions() }
func (p *PartialAggregate) Children() []exec.Operator { return []exec.Operator{p.Agg.Input} }
func (p *PartialAggregate) Explain() string {
	names := make([]string, len(p.aggs))
	for i, a := range p.aggs {
		names[i] = a.String()
	}
	return fmt.Sprintf("PartialAggregate per partition (%d) aggs=[%s]", p.Partitions(), strings.Join(names, ", "))
}

// Open aggregates partition part of the input.
func (p *PartialAggregate) Open(ctx context.Context, part int) (exec.Stream, error) {
	one := &exec.HashAggregate{Env: p.Agg.Env, Input: &onePartition{in: p.Agg.Input, part: part}, Keys: p.Agg.Keys, Aggs: p.aggs, Out: p.out}
	return one.Open(ctx, 0)
}

// partialSpecs is what the partial phase computes for a: a itself, or
// for avg its sum and its count.
func partialSpecs(a exec.AggSpec) ([]exec.AggSpec, bool) {
	if a.Name != "avg" {
		_, ok := finalSpec(a)
		return []exec.AggSpec{a}, ok
	}
	if a.Distinct || a.Filter != nil || len(a.OrderBy) > 0 || len(a.Args) != 1 {
		return nil, false
	}
	t := a.Args[0].Type()
	if !(t.IsInteger() || t.Kind == types.Numeric) || !isBuiltin(a, []types.T{t}) || a.T.Kind != types.Numeric {
		return nil, false
	}
	var out []exec.AggSpec
	for _, name := range []string{"sum", "count"} {
		argTypes, ret, newAcc, err := exec.Aggregates()[name].Resolve([]types.T{t})
		if err != nil || len(argTypes) != 1 || !argTypes[0].Equal(t) {
			return nil, false
		}
		out = append(out, exec.AggSpec{Name: name, Args: a.Args, New: newAcc, T: ret})
	}
	return out, true
}

// onePartition is partition part of in, as an operator of one partition.
type onePartition struct {
	in   exec.Operator
	part int
}

func (o *onePartition) Schema() *arrow.Schema     { return o.in.Schema() }
func (o *onePartition) Partitions() int           { return 1 }
func (o *onePartition) Children() []exec.Operator { return []exec.Operator{o.in} }
func (o *onePartition) Explain() string           { return fmt.Sprintf("Partition %d", o.part) }
func (o *onePartition) Open(ctx context.Context, _ int) (exec.Stream, error) {
	return o.in.Open(ctx, o.part)
}

// finalAggregate is the coordinator's merge of partial rows (partial,
// the remote node of h's partial phase): grouping
// by the key columns, folding each partial column, and for avg dividing
// the merged sum by the merged count, in h's output layout. ok is false
// when an aggregate cannot be split.
func finalAggregate(h *exec.HashAggregate, partial exec.Operator) (exec.Operator, bool) {
	nk := len(h.Keys)
	keys := make([]exec.Expr, nk)
	exprs := make([]exec.Expr, 0, len(h.Out.Fields()))
	for i, k := range h.Keys {
		keys[i] = &exec.ColumnExpr{Index: i, T: k.Type(), Name: k.String()}
		exprs = append(exprs, &exec.ColumnExpr{Index: i, T: k.Type(), Name: k.String()})
	}
	var aggs []exec.AggSpec
	fields := append([]arrow.Field(nil), h.Out.Fields()[:nk]...)
	// merge folds partial column p; wide keeps a numeric sum exact
	// (avg's, divided before it is narrowed to numeric)
	merge := func(p exec.AggSpec, wide bool) (exec.Expr, bool) {
		final, ok := finalSpec(p)
		if !ok {
			return nil, false
		}
		typ := final.T.Arrow()
		if scale, ok := numericSum(p); ok {
			final.New = func() exec.Accumulator { return exec.NewWideSumMerge(final.T, scale, wide) }
			if wide {
				typ = exec.WideNumericType(scale)
			}
		}
		col := nk + len(aggs)
		final.Args = []exec.Expr{&exec.ColumnExpr{Index: col, T: p.T, Name: p.String()}}
		aggs = append(aggs, final)
		fields = append(fields, arrow.Field{Name: final.String(), Type: typ, Nullable: true})
		return &exec.ColumnExpr{Index: col, T: final.T, Name: final.String()}, true
	}
	avg := false
	for i, a := range h.Aggs {
		parts, ok := partialSpecs(a)
		if !ok {
			return nil, false
		}
		if a.Name != "avg" {
			e, ok := merge(parts[0], false)
			if !ok {
				return nil, false
			}
			exprs = append(exprs, e)
			continue
		}
		sum, ok1 := merge(parts[0], true)
		count, ok2 := merge(parts[1], false)
		if !ok1 || !ok2 {
			return nil, false
		}
		avg = true
		exprs = append(exprs, &avgOf{sum: sum, count: count, t: h.Aggs[i].T, name: a.String()})
	}
	if !avg {
		return &exec.HashAggregate{Env: h.Env, Input: partial, Keys: keys, Aggs: aggs, Out: h.Out}, true
	}
	merged := &exec.HashAggregate{Env: h.Env, Input: partial, Keys: keys, Aggs: aggs, Out: arrow.NewSchema(fields, nil)}
	return &exec.Project{Env: h.Env, Input: merged, Exprs: exprs, Out: h.Out}, true
}

// numericSum reports whether p is the built-in sum of numerics, whose
// partial sums cross as exact Decimal256 values (exec.aggwide.go), and
// the scale of its values.
func numericSum(p exec.AggSpec) (int32, bool) {
	if p.Name != "sum" || len(p.Args) != 1 || p.T.Kind != types.Numeric {
		return 0, false
	}
	t := p.Args[0].Type()
	return t.Scale, t.Kind == types.Numeric
}

// finalSpec is the aggregate that folds a's partial values.
func finalSpec(a exec.AggSpec) (exec.AggSpec, bool) {
	if a.Distinct || a.Filter != nil || len(a.OrderBy) > 0 || len(a.Args) > 1 {
		return exec.AggSpec{}, false
	}
	argTypes := make([]types.T, len(a.Args))
	for i, x := range a.Args {
		argTypes[i] = x.Type()
	}
	if !isBuiltin(a, argTypes) {
		return exec.AggSpec{}, false
	}
	switch a.Name {
	case "count":
		return sumAsInt8(a)
	case "sum":
		switch {
		case argTypes[0].Kind == types.Int2 || argTypes[0].Kind == types.Int4:
			return sumAsInt8(a)
		case argTypes[0].IsFloat():
			return exec.AggSpec{}, false // the rounding would depend on the split
		}
		return sumOfSums(a) // int8 and numeric (summed as numeric), interval
	case "min", "max":
		if len(a.Args) != 1 || !argTypes[0].Equal(a.T) {
			return exec.AggSpec{}, false
		}
		return exec.AggSpec{Name: a.Name, New: a.New, T: a.T}, true
	}
	return exec.AggSpec{}, false
}

// sumAsInt8 folds int8 partial counts or sums: the built-in sum over
// int4 returns int8, and its accumulator takes int8 arrays too.
func sumAsInt8(a exec.AggSpec) (exec.AggSpec, bool) {
	if a.T.Kind != types.Int8 {
		return exec.AggSpec{}, false
	}
	_, ret, newAcc, err := exec.Aggregates()["sum"].Resolve([]types.T{types.Int4T})
	if err != nil || ret.Kind != types.Int8 {
		return exec.AggSpec{}, false
	}
	return exec.AggSpec{Name: "sum", New: newAcc, T: a.T}, true
}

// sumOfSums folds partial sums with the built-in sum over the result
// type, when that sum returns the same type (exact sums: numeric,
// interval).
func sumOfSums(a exec.AggSpec) (exec.AggSpec, bool) {
	_, ret, newAcc, err := exec.Aggregates()["sum"].Resolve([]types.T{a.T})
	if err != nil || !ret.Equal(a.T) {
		return exec.AggSpec{}, false
	}
	return exec.AggSpec{Name: "sum", New: newAcc, T: a.T}, true
}

// isBuiltin reports whether a is the built-in aggregate of its name (not
// a user-defined one of the same name): its accumulators are of the
// same kind.
func isBuiltin(a exec.AggSpec, argTypes []types.T) bool {
	def, ok := exec.Aggregates()[a.Name]
	if !ok || a.New == nil {
		return false
	}
	_, _, newAcc, err := def.Resolve(argTypes)
	if err != nil {
		return false
	}
	mine, theirs := a.New(), newAcc()
	defer release(mine)
	defer release(theirs)
	return reflect.TypeOf(mine) == reflect.TypeOf(theirs)
}

func release(acc exec.Accumulator) {
	if r, ok := acc.(exec.ReleasingAccumulator); ok {
		r.Release()
	}
}

// avgOf is avg's final value from its merged state: the exact sum
// (int8, or numeric at the sum's scale) divided by the count, rounded
// half away from zero to avg's numeric type, as avg's own accumulator
// rounds it. A group without a non-NULL value (count 0) is NULL.
type avgOf struct {
	sum, count exec.Expr
	t          types.T // avg's result type
	name       string
}

func (e *avgOf) Type() types.T  { return e.t }
func (e *avgOf) String() string { return e.name }

func (e *avgOf) Eval(ec *exec.EvalContext, b arrow.Record) (arrow.Array, error) {
	sums, err := e.sum.Eval(ec, b)
	if err != nil {
		return nil, err
	}
	defer sums.Release()
	counts, err := e.count.Eval(ec, b)
	if err != nil {
		return nil, err
	}
	defer counts.Release()
	bld := array.NewBuilder(ec.Mem, e.t.Arrow())
	defer bld.Release()
	st := e.sum.Type()
	for i := 0; i < sums.Len(); i++ {
		n, _ := exec.DatumAt(counts, i).(int64)
		if n == 0 || sums.IsNull(i) {
			bld.AppendNull()
			continue
		}
		r, err := partialSumAt(sums, i, st.Scale)
		if err != nil {
			return nil, err
		}
		d, err := types.RatToNumeric(r.Quo(r, new(big.Rat).SetInt64(n)), e.t)
		if err != nil {
			return nil, err
		}
		exec.AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}

// partialSumAt is avg's merged sum at row i (not NULL): an int8 sum of
// integers, or the exact sum of numerics (exec.WideNumericType) of
// scale.
func partialSumAt(sums arrow.Array, i int, scale int32) (*big.Rat, error) {
	if r, ok := exec.WideNumericRat(sums, i, scale); ok {
		return r, nil
	}
	switch v := exec.DatumAt(sums, i).(type) {
	case int64:
		return new(big.Rat).SetInt64(v), nil
	case decimal128.Num:
		return types.NumericToRat(v, scale), nil
	default:
		return nil, fmt.Errorf("avg's partial sum is a %T", v)
	}
}
