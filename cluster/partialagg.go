package cluster

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// A hash aggregation over a leaf pipeline runs its partial phase on the
// workers: each partition's rows are grouped where they are scanned, and
// only one row per group and partition crosses the network. The
// coordinator merges the partial rows with a final aggregation of the
// same output. This is done for the aggregates whose partial result is a
// value of the final result's type that the final phase can fold again:
// count (summed), sums of integers, numerics and intervals (summed
// again), min and max (their own min and max). Anything else (DISTINCT,
// FILTER, ORDER BY inside the call, avg, sums of floats, user-defined
// aggregates) leaves the aggregation whole on the coordinator.

// PartialAggregate is the partial phase of Agg, partition by partition:
// partition p of it is Agg's aggregation of partition p of Agg's input
// alone. Its rows are Agg's output layout (keys, then one value per
// aggregate).
type PartialAggregate struct {
	Agg *exec.HashAggregate
}

func (p *PartialAggregate) Schema() *arrow.Schema     { return p.Agg.Out }
func (p *PartialAggregate) Partitions() int           { return p.Agg.Input.Partitions() }
func (p *PartialAggregate) Children() []exec.Operator { return []exec.Operator{p.Agg.Input} }
func (p *PartialAggregate) Explain() string {
	return fmt.Sprintf("PartialAggregate per partition (%d)", p.Partitions())
}

// Open aggregates partition part of the input.
func (p *PartialAggregate) Open(ctx context.Context, part int) (exec.Stream, error) {
	one := &exec.HashAggregate{Env: p.Agg.Env, Input: &onePartition{in: p.Agg.Input, part: part}, Keys: p.Agg.Keys, Aggs: p.Agg.Aggs, Out: p.Agg.Out}
	return one.Open(ctx, 0)
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

// finalAggregate is the coordinator's merge of partial rows: grouping by
// the key columns, folding each aggregate's partial column. ok is false
// when an aggregate cannot be split.
func finalAggregate(h *exec.HashAggregate, partial exec.Operator) (*exec.HashAggregate, bool) {
	keys := make([]exec.Expr, len(h.Keys))
	for i, k := range h.Keys {
		keys[i] = &exec.ColumnExpr{Index: i, T: k.Type(), Name: k.String()}
	}
	aggs := make([]exec.AggSpec, len(h.Aggs))
	for i, a := range h.Aggs {
		final, ok := finalSpec(a)
		if !ok {
			return nil, false
		}
		final.Args = []exec.Expr{&exec.ColumnExpr{Index: len(h.Keys) + i, T: a.T, Name: a.String()}}
		aggs[i] = final
	}
	return &exec.HashAggregate{Env: h.Env, Input: partial, Keys: keys, Aggs: aggs, Out: h.Out}, true
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
