package storage

import (
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestChangedRows: the rows two batches of the same length differ in,
// by every column type the byte comparison reads (and one it does not),
// with NULLs, sliced arrays, changes at chunk edges, -0 against +0 and
// a NaN (bit for bit), and strings that change length.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestChangedRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 200
	ints := func(change map[int]int64, nullAt int) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			if i == nullAt {
				b.AppendNull()
			} else if v, ok := change[i]; ok {
				b.Append(v)
			} else {
				b.Append(int64(i))
			}
		}
		return b.NewArray()
	}
	floats := func(change map[int]float64) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			if v, ok := change[i]; ok {
				b.Append(v)
			} else {
				b.Append(float64(i) / 3)
			}
		}
		return b.NewArray()
	}
	strs := func(change map[int]string) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			if v, ok := change[i]; ok {
				b.Append(v)
			} else {
				b.Append(string(rune('a' + i%26)))
			}
		}
		return b.NewArray()
	}
	bools := func(flip int) arrow.Array {
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Append((i%3 == 0) != (i == flip))
		}
		return b.NewArray()
	}
	nulls := func() arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendNulls(n)
		return b.NewArray()
	}
	cases := []struct {
		name string
		x, y arrow.Array
		want []int
	}{
		{"ints, chunk edges", ints(nil, -1), ints(map[int]int64{0: -1, 63: -1, 64: -1, 199: -1}, -1), []int{0, 63, 64, 199}},
		{"ints equal", ints(nil, -1), ints(nil, -1), nil},
		{"ints with a NULL", ints(nil, -1), ints(nil, 70), []int{70}},
		{"floats, zero signs and NaN", floats(map[int]float64{5: 0, 6: math.NaN()}), floats(map[int]float64{5: math.Copysign(0, -1), 6: math.NaN()}), []int{5}},
		{"strings changing length", strs(nil), strs(map[int]string{10: "longer", 130: ""}), []int{10, 130}},
		{"strings equal", strs(nil), strs(nil), nil},
		{"booleans", bools(-1), bools(77), []int{77}},
		{"NULL throughout", nulls(), nulls(), nil},
		{"NULL throughout against values", nulls(), ints(nil, -1), seq(n)},
	}
	for _, c := range cases {
		schema := arrow.NewSchema([]arrow.Field{{Name: "c", Type: c.x.DataType(), Nullable: true}}, nil)
		a := array.NewRecord(schema, []arrow.Array{c.x}, n)
		b := array.NewRecord(schema, []arrow.Array{c.y}, n)
		if got := ChangedRows(a, b); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		// the same comparison on slices (arrays that start at an offset)
		as, bs := a.NewSlice(60, n), b.NewSlice(60, n)
		var want []int
		for _, r := range c.want {
			if r >= 60 {
				want = append(want, r-60)
			}
		}
		if got := ChangedRows(as, bs); !slices.Equal(got, want) {
			t.Errorf("%s, sliced: %v, want %v", c.name, got, want)
		}
		// base a prefix of cur
		head := a.NewSlice(0, 100)
		if got := isPrefix(head, b, new([]bool)); got != (len(c.want) == 0 || c.want[0] >= 100) {
			t.Errorf("%s: the first 100 rows a prefix: %v", c.name, got)
		}
		head.Release()
		for _, r := range []arrow.Record{a, b, as, bs} {
			r.Release()
		}
		c.x.Release()
		c.y.Release()
	}
}
