package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestGatherMatchesTake: the typed gathers give what Arrow's take kernel
// gives, for each layout they copy, on arrays with and without NULLs and
// on slices that start past their buffers' first value.
func TestGatherMatchesTake(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Ctx: context.Background(), Mem: mem}
	cases := []struct {
		t    types.T
		vals []types.Datum
	}{
		{types.Int2T, []types.Datum{int64(1), nil, int64(-3), int64(4), int64(5), int64(6)}},
		{types.Int4T, []types.Datum{int64(1), int64(2), int64(-3), nil, int64(5), int64(6)}},
		{types.Int8T, []types.Datum{int64(1), int64(2), int64(3), int64(4), int64(5), int64(1) << 40}},
		{types.Float8T, []types.Datum{1.5, nil, 2.5, 3.5, nil, 4.5}},
		{types.DateT, []types.Datum{int32(1), int32(2), nil, int32(4), int32(5), int32(6)}},
		{types.BoolT, []types.Datum{true, false, nil, true, true, false}},
		{types.T{Kind: types.Numeric, Prec: 15, Scale: 2}, []types.Datum{decimal128.FromI64(5), nil, decimal128.New(-1, 7), decimal128.FromI64(-9), decimal128.FromI64(0), decimal128.FromI64(1)}},
		{types.TextT, []types.Datum{"alpha", "", nil, "gamma", "δέλτα", "e"}},
		{types.ByteaT, []types.Datum{[]byte{1}, []byte{}, nil, []byte{2, 3}, []byte{4}, []byte{5, 6, 7}}},
		{types.IntervalT, []types.Datum{types.IntervalValue{Months: 1}, nil, types.IntervalValue{Days: 2, Micros: 3}, types.IntervalValue{}, types.IntervalValue{Months: -1}, types.IntervalValue{Micros: 9}}},
	}
	// scattered rows, then runs of consecutive rows (copied run by run)
	for _, idx := range [][]int{{4, 0, 3, 3, 1}, {1, 2, 3, 4}, {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 2}} {
		gatherCases(t, ec, mem, idx, cases)
	}
}

func gatherCases(t *testing.T, ec *EvalContext, mem memory.Allocator, idx []int, cases []struct {
	t    types.T
	vals []types.Datum
}) {
	for _, c := range cases {
		bld := array.NewBuilder(mem, c.t.Arrow())
		for _, v := range c.vals {
			AppendDatum(bld, v)
		}
		whole := bld.NewArray()
		bld.Release()
		sliced := array.NewSlice(whole, 1, int64(len(c.vals)))
		for _, a := range []arrow.Array{whole, sliced} {
			narrow, ok := gatherIndexes(a, idx)
			if !ok {
				t.Fatalf("%s: no typed gather", c.t)
			}
			got, err := gatherArray(ec, a, narrow)
			if err != nil {
				t.Fatal(err)
			}
			want, err := takeArrayKernel(ec, a, idx)
			if err != nil {
				t.Fatal(err)
			}
			if !array.Equal(got, want) {
				t.Fatalf("%s (offset %d): gathered %v, take gives %v", c.t, a.Data().Offset(), got, want)
			}
			empty, err := gatherArray(ec, a, nil)
			if err != nil || empty.Len() != 0 {
				t.Fatalf("%s: empty gather: %v %v", c.t, empty, err)
			}
			got.Release()
			want.Release()
			empty.Release()
		}
		sliced.Release()
		whole.Release()
	}
}

// TestTakeArrayNullIndex: an index of -1 still yields NULL (the take
// kernel's path).
func TestTakeArrayNullIndex(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Ctx: context.Background(), Mem: mem}
	a := ConstArray(mem, types.Int4T, int64(7), 3)
	defer a.Release()
	got, err := takeArray(ec, a, []int{2, -1, 0})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.Len() != 3 || got.NullN() != 1 || !got.IsNull(1) || DatumAt(got, 0) != int64(7) {
		t.Fatalf("got %v", got)
	}
}

// TestCastCharToText: char(n) values lose their trailing blanks (only
// those) when cast to text or unbounded varchar; NULLs stay.
func TestCastCharToText(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Ctx: context.Background(), Mem: mem, Env: &Env{Mem: mem}}
	bld := array.NewStringBuilder(mem)
	for _, v := range []types.Datum{"ab  ", nil, "", "  x ", "é "} {
		AppendDatum(bld, v)
	}
	a := bld.NewArray()
	bld.Release()
	defer a.Release()
	for _, to := range []types.T{types.TextT, {Kind: types.Varchar}} {
		got, err := CastArray(ec, a, types.T{Kind: types.Char, Len: 4}, to, false)
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprint(got); s != `["ab" (null) "" "  x" "é"]` {
			t.Fatalf("to %s: %s", to, s)
		}
		got.Release()
	}
}

// BenchmarkGatherDense gathers 98% of an 8192-row batch (every 50th row
// dropped, as TPC-H q01's filter leaves lineitem) from a numeric and a
// char(1) column.
func BenchmarkGatherDense(b *testing.B) {
	mem := memory.NewGoAllocator()
	ec := &EvalContext{Ctx: context.Background(), Mem: mem}
	const n = 8192
	var idx []int32
	for i := range int32(n) {
		if i%50 != 7 {
			idx = append(idx, i)
		}
	}
	for _, c := range []struct {
		name string
		t    types.T
		v    func(i int) types.Datum
	}{
		{"numeric", types.NumericT(15, 2), func(i int) types.Datum { return decimal128.FromI64(int64(i)) }},
		{"char(1)", types.T{Kind: types.Char, Len: 1}, func(i int) types.Datum { return string(rune('A' + i%3)) }},
	} {
		bld := array.NewBuilder(mem, c.t.Arrow())
		for i := range n {
			AppendDatum(bld, c.v(i))
		}
		a := bld.NewArray()
		bld.Release()
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				g, err := gatherArray(ec, a, idx)
				if err != nil {
					b.Fatal(err)
				}
				g.Release()
			}
		})
		a.Release()
	}
}

// TestGatherWithoutValueBuffers: arrays without the buffers a typed
// gather reads values from (all NULL with no value buffer; strings that
// are all empty or NULL, with no data buffer: pgbench's fillers) gather
// row by row what they hold, whole and sliced.
func TestGatherWithoutValueBuffers(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Ctx: context.Background(), Mem: mem}
	const n = 6
	// make builds an array of n rows of dt with the validity bits valid
	// (row 0 first), zeroed offsets when withOffsets, and no values
	make := func(dt arrow.DataType, valid byte, withOffsets bool) arrow.Array {
		validity := memory.NewResizableBuffer(mem)
		validity.Resize(1)
		validity.Bytes()[0] = valid
		defer validity.Release()
		bufs := []*memory.Buffer{validity, nil}
		if withOffsets {
			offsets := memory.NewResizableBuffer(mem)
			offsets.Resize((n + 1) * 4)
			defer offsets.Release()
			bufs = []*memory.Buffer{validity, offsets, nil}
		}
		nulls := n - bitutil.CountSetBits([]byte{valid}, 0, n)
		d := array.NewData(dt, n, bufs, nil, nulls, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	arrays := map[string]arrow.Array{
		"int4 nulls":        make(arrow.PrimitiveTypes.Int32, 0, false),
		"bool nulls":        make(arrow.FixedWidthTypes.Boolean, 0, false),
		"text nulls":        make(arrow.BinaryTypes.String, 0, true),
		"empty text":        make(arrow.BinaryTypes.String, 0b111111, true),
		"empty bytea, null": make(arrow.BinaryTypes.Binary, 0b111011, true),
	}
	for name, whole := range arrays {
		sliced := array.NewSlice(whole, 1, n)
		for _, a := range []arrow.Array{whole, sliced} {
			if hasValueBuffers(a) {
				t.Fatalf("%s: has value buffers", name)
			}
			for _, idx := range [][]int{{0}, {4, 0, 1, 1}, {0, 1, 2, 3, 4}} {
				got, err := gatherArray(ec, a, widenTo32(idx))
				if err != nil {
					t.Fatal(err)
				}
				if got.Len() != len(idx) || !arrow.TypeEqual(got.DataType(), a.DataType()) {
					t.Fatalf("%s: gathered %v", name, got)
				}
				for k, i := range idx {
					if g, w := DatumAt(got, k), DatumAt(a, i); fmt.Sprint(g) != fmt.Sprint(w) || got.IsNull(k) != a.IsNull(i) {
						t.Errorf("%s (offset %d) %v: row %d is %v, want %v", name, a.Data().Offset(), idx, k, g, w)
					}
				}
				got.Release()
			}
		}
		sliced.Release()
		whole.Release()
	}
}

func widenTo32(idx []int) []int32 {
	out := make([]int32, len(idx))
	for i, v := range idx {
		out[i] = int32(v)
	}
	return out
}
