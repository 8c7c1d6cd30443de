package exec

import (
	"math"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// int64Array builds an Int64 array; nil entries are NULL.
func int64Array(mem memory.Allocator, vs []*int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for _, v := range vs {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(*v)
		}
	}
	return b.NewArray()
}

func ptrs(vs ...int64) []*int64 {
	out := make([]*int64, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}

func TestKeyBitmapPassing(t *testing.T) {
	cases := []struct {
		name   string
		build  []*int64
		probe  []*int64
		bitmap bool
		want   []int32
	}{
		{"sparse keys", ptrs(10, 500, 500, 90000), ptrs(9, 10, 11, 500, 90000, 90001, -5), true, []int32{1, 3, 4}},
		{"probe NULLs never pass", append(ptrs(1, 2), nil), append(ptrs(2), nil, ptrs(1)[0]), true, []int32{0, 2}},
		{"negative keys", ptrs(-7, -3), ptrs(-8, -7, -3, 0, math.MinInt64, math.MaxInt64), true, []int32{1, 2}},
		{"one key", ptrs(42), ptrs(41, 42, 43), true, []int32{1}},
		{"range too wide", ptrs(0, 1<<40), ptrs(0), false, nil},
		{"extremes overflow the range", ptrs(math.MinInt64, math.MaxInt64), ptrs(0), false, nil},
		{"only NULL keys", []*int64{nil, nil}, ptrs(0), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			build := int64Array(mem, c.build)
			defer build.Release()
			probe := int64Array(mem, c.probe)
			defer probe.Release()
			m := newKeyBitmap([]arrow.Array{build})
			if (m != nil) != c.bitmap {
				t.Fatalf("bitmap built: %v, want %v", m != nil, c.bitmap)
			}
			if m == nil {
				return
			}
			got, ok := m.passing(probe, nil)
			if !ok || !slices.Equal(got, c.want) {
				t.Fatalf("passing = %v (ok %v), want %v", got, ok, c.want)
			}
		})
	}
}

func TestKeyBitmapOtherTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "b"}, nil)
	strs := sb.NewArray()
	sb.Release()
	defer strs.Release()
	if newKeyBitmap([]arrow.Array{strs}) != nil {
		t.Fatal("a text key got a bitmap")
	}
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{3, 5}, nil)
	ints := ib.NewArray()
	ib.Release()
	defer ints.Release()
	if newKeyBitmap([]arrow.Array{ints, ints}) != nil {
		t.Fatal("a two-column key got a bitmap")
	}
	m := newKeyBitmap([]arrow.Array{ints})
	if m == nil {
		t.Fatal("no bitmap for an int32 key")
	}
	if _, ok := m.passing(strs, nil); ok {
		t.Fatal("a text probe key was filtered")
	}
	sh := array.NewInt16Builder(mem)
	sh.AppendValues([]int16{5, 4, 3}, nil)
	shorts := sh.NewArray()
	sh.Release()
	defer shorts.Release()
	got, ok := m.passing(shorts, nil)
	if !ok || !slices.Equal(got, []int32{0, 2}) {
		t.Fatalf("int16 probe of an int32 bitmap: %v (ok %v), want [0 2]", got, ok)
	}
}
