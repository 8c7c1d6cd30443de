package exec

import (
	"context"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// takeRecord gathers rows idx of b into a new record.
func takeRecord(ec *EvalContext, b arrow.Record, idx []int) (arrow.Record, error) {
	cols := make([]arrow.Array, b.NumCols())
	defer releaseAll(cols)
	for c := range cols {
		a, err := takeArray(ec, b.Column(c), idx)
		if err != nil {
			return nil, err
		}
		cols[c] = a
	}
	return array.NewRecord(b.Schema(), cols, int64(len(idx))), nil
}

// takeArray gathers values idx of a; an index of -1 yields NULL.
func takeArray(ec *EvalContext, a arrow.Array, idx []int) (arrow.Array, error) {
	if narrow, ok := gatherIndexes(a, idx); ok {
		return gatherArray(ec, a, narrow)
	}
	return takeArrayKernel(ec, a, idx)
}

// takeArrayKernel is takeArray through Arrow's take kernel (or a builder
// for intervals, which it cannot move).
func takeArrayKernel(ec *EvalContext, a arrow.Array, idx []int) (arrow.Array, error) {
	if iv, ok := a.(*array.MonthDayNanoInterval); ok {
		// Arrow's take kernel has no 16-byte interval support.
		b := array.NewMonthDayNanoIntervalBuilder(ec.Mem)
		defer b.Release()
		b.Reserve(len(idx))
		for _, i := range idx {
			if i < 0 || iv.IsNull(i) {
				b.AppendNull()
			} else {
				b.Append(iv.Value(i))
			}
		}
		return b.NewArray(), nil
	}
	ib := array.NewInt64Builder(ec.Mem)
	defer ib.Release()
	ib.Reserve(len(idx))
	for _, i := range idx {
		if i < 0 {
			ib.AppendNull()
		} else {
			ib.UnsafeAppend(int64(i))
		}
	}
	ia := ib.NewArray()
	defer ia.Release()
	return compute.TakeArray(compute.WithAllocator(ec.Ctx, ec.Mem), a, ia)
}

// TakeRecord is r with only the rows idx (for the session's own
// rewrites outside an operator).
func TakeRecord(mem memory.Allocator, r arrow.Record, idx []int) (arrow.Record, error) {
	return takeRecord(&EvalContext{Ctx: context.Background(), Mem: mem}, r, idx)
}
