package storage

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestEstimatedBytesMatchesRows: the per-column estimate segmentRanges
// takes for a batch that fits is the sum of its rows' estimates (so it
// cuts exactly the batches it cut by walking the rows), also for a slice.
func TestEstimatedBytesMatchesRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	for i := 0; i < 1000; i++ {
		if i%7 == 0 {
			bld.Field(0).AppendNull()
		} else {
			bld.Field(0).(*array.StringBuilder).Append(string(make([]byte, i%23)))
		}
		bld.Field(1).(*array.BooleanBuilder).Append(i%2 == 0)
		bld.Field(2).(*array.Int64Builder).Append(int64(i))
		bld.Field(3).(*array.Date32Builder).Append(arrow.Date32(i))
	}
	rec := bld.NewRecord()
	defer rec.Release()
	slice := rec.NewSlice(100, 731)
	defer slice.Release()
	for _, c := range []struct {
		name string
		rec  arrow.Record
	}{{"whole", rec}, {"slice", slice}} {
		sizes := make([]int64, c.rec.NumRows())
		for _, col := range c.rec.Columns() {
			addRowBytes(col, sizes)
		}
		var want int64
		for _, s := range sizes {
			want += s
		}
		got, ok := estimatedBytes(c.rec)
		if !ok || got != want {
			t.Errorf("%s: estimatedBytes = %d, %v; the rows add up to %d", c.name, got, ok, want)
		}
		if r := segmentRanges(c.rec, want); len(r) != 1 {
			t.Errorf("%s: a batch of exactly the target is cut in %d", c.name, len(r))
		}
		if r := segmentRanges(c.rec, want-1); len(r) != 2 {
			t.Errorf("%s: a batch one byte over the target is cut in %d, want 2", c.name, len(r))
		}
	}
}
