package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestConstArrayFixedWidth: constants filled straight into their buffers
// read back as the same value in every row, for each kind with a fast
// path, on a checked allocator.
func TestConstArrayFixedWidth(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cases := []struct {
		t types.T
		d types.Datum
	}{
		{types.DateT, int32(10471)},
		{types.BoolT, true},
		{types.BoolT, false},
		{types.Int4T, int64(-7)},
		{types.Int8T, int64(1) << 40},
		{types.Float8T, 2.5},
		{types.TextT, "abc"},
	}
	for _, c := range cases {
		for _, n := range []int{1, 7, 64, 1000} {
			a := ConstArray(mem, c.t, c.d, n)
			if a.Len() != n || a.NullN() != 0 {
				t.Fatalf("%s %v: len %d nulls %d", c.t, c.d, a.Len(), a.NullN())
			}
			for i := 0; i < n; i++ {
				if got := DatumAt(a, i); got != c.d {
					t.Fatalf("%s %v row %d: %v", c.t, c.d, i, got)
				}
			}
			a.Release()
		}
	}
}
