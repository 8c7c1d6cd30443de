package exec

import (
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestFirstKeySkipper: the scan passes over exactly the rows whose first
// key is strictly worse than the heap's worst and stops at the first row
// that may enter (equal, better, NULL or NaN), for both directions, with
// and without NULLs.
func TestFirstKeySkipper(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ints := func(vals []int64, nulls []bool) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nulls)
		return b.NewArray()
	}
	floats := func(vals []float64) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
	for _, tc := range []struct {
		name  string
		col   arrow.Array
		desc  bool
		worst types.Datum
		from  int
		want  int
	}{
		{"desc stops at equal", ints([]int64{1, 2, 5, 9}, nil), true, int64(5), 0, 2},
		{"desc stops at better", ints([]int64{1, 2, 7, 5}, nil), true, int64(5), 0, 2},
		{"desc runs out", ints([]int64{1, 2, 3}, nil), true, int64(5), 1, 3},
		{"asc stops at equal", ints([]int64{9, 8, 5, 1}, nil), false, int64(5), 0, 2},
		{"asc from the middle", ints([]int64{1, 9, 8, 1}, nil), false, int64(5), 1, 3},
		{"asc runs out", ints([]int64{9, 8}, nil), false, int64(5), 0, 2},
		{"desc stops at NULL", ints([]int64{1, 0, 2, 9}, []bool{true, false, true, true}), true, int64(5), 0, 1},
		{"desc with NULLs skips", ints([]int64{1, 0, 2, 9}, []bool{true, false, true, true}), true, int64(5), 2, 3},
		{"asc with NULLs runs out", ints([]int64{9, 8}, []bool{true, true}), false, int64(5), 0, 2},
		{"float desc stops at NaN", floats([]float64{1, math.NaN(), 9}), true, 5.0, 0, 1},
		{"float asc stops at NaN", floats([]float64{9, math.NaN(), 1}), false, 5.0, 0, 1},
		{"float worst NaN scans nothing", floats([]float64{1, 2}), true, math.NaN(), 0, 0},
		{"desc long run stops in a step", ints([]int64{1, 2, 3, 4, 1, 2, 3, 4, 1, 6, 1, 1}, nil), true, int64(5), 1, 9},
		{"desc long run stops in the tail", ints([]int64{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 7}, nil), true, int64(5), 0, 10},
		{"asc long run stops at equal", ints([]int64{9, 9, 9, 9, 9, 9, 5, 9}, nil), false, int64(5), 0, 6},
		{"float long run stops at NaN", floats([]float64{1, 2, 3, 4, 1, 2, math.NaN(), 1, 1}), true, 5.0, 0, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.col.Release()
			skip := firstKeySkipper(tc.col, tc.desc)
			if got := skip(tc.from, tc.col.Len(), tc.worst); got != tc.want {
				t.Fatalf("got row %d, want %d", got, tc.want)
			}
		})
	}
}
