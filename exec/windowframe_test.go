package exec

import (
	"fmt"
	"math/big"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// naiveFrame is the definition of a frame, row by row: the positions of a
// sorted partition (non-NULL integer keys) that the frame of position i
// holds.
func naiveFrame(fr Frame, keys []int64, i int) (lo, hi int) {
	n := len(keys)
	group := make([]int, n) // peer group number
	for p := 1; p < n; p++ {
		group[p] = group[p-1]
		if keys[p] != keys[p-1] {
			group[p]++
		}
	}
	after := func(p int, b FrameBound, off int64) bool { // p at or after the start bound
		switch b {
		case UnboundedPreceding:
			return true
		case UnboundedFollowing:
			return false
		case CurrentRow:
			off = 0
		case OffsetPreceding:
			off = -off
		}
		switch {
		case fr.Rows:
			return int64(p) >= int64(i)+off
		case fr.Groups:
			return int64(group[p]) >= int64(group[i])+off
		}
		return keys[p] >= keys[i]+off
	}
	before := func(p int, b FrameBound, off int64) bool { // p at or before the end bound
		switch b {
		case UnboundedFollowing:
			return true
		case UnboundedPreceding:
			return false
		case CurrentRow:
			off = 0
		case OffsetPreceding:
			off = -off
		}
		switch {
		case fr.Rows:
			return int64(p) <= int64(i)+off
		case fr.Groups:
			return int64(group[p]) <= int64(group[i])+off
		}
		return keys[p] <= keys[i]+off
	}
	lo, hi = -1, -1
	for p := 0; p < n; p++ {
		if after(p, fr.Start, fr.StartOffset) && before(p, fr.End, fr.EndOffset) {
			if lo < 0 {
				lo = p
			}
			hi = p + 1
		}
	}
	if lo < 0 {
		return 0, 0
	}
	return lo, hi
}

// TestFrameAggregatesMatchNaive compares the whole-partition frame
// computation (spans, prefix sums, running sums, the sliding deque) with
// the row-by-row definition on random partitions and frames.
func TestFrameAggregatesMatchNaive(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(7))
	bounds := []FrameBound{UnboundedPreceding, OffsetPreceding, CurrentRow, OffsetFollowing, UnboundedFollowing}
	for trial := 0; trial < 400; trial++ {
		n := 1 + rng.Intn(30)
		keys := make([]int64, n)
		for p := 1; p < n; p++ {
			keys[p] = keys[p-1] + int64(rng.Intn(3)) // duplicates: peers
		}
		ib := array.NewInt64Builder(mem)
		fb := array.NewFloat64Builder(mem)
		for p := 0; p < n; p++ {
			if rng.Intn(5) == 0 {
				ib.AppendNull()
				fb.AppendNull()
				continue
			}
			v := rng.Int63n(2001) - 1000
			if rng.Intn(10) == 0 {
				v = 1<<62 + v // forces the big.Int prefix sums
			}
			ib.Append(v)
			fb.Append(float64(v) / 8)
		}
		ints, floats := ib.NewArray(), fb.NewArray()
		fr := Frame{Rows: trial%3 == 0, Groups: trial%3 == 1,
			Start: bounds[rng.Intn(4)], End: bounds[1+rng.Intn(4)],
			StartOffset: int64(rng.Intn(4)), EndOffset: int64(rng.Intn(4))}
		peer, datumKeys := make([]int, n), make([]types.Datum, n)
		rows := make([]int, n)
		for p := range keys {
			rows[p], datumKeys[p] = p, keys[p]
			if p > 0 {
				peer[p] = peer[p-1]
				if keys[p] != keys[p-1] {
					peer[p]++
				}
			}
		}
		lo, hi := frameSpans(fr, peer, datumKeys, false)
		name := fmt.Sprintf("trial %d frame %+v keys %v", trial, fr, keys)
		for i := range keys {
			if wl, wh := naiveFrame(fr, keys, i); wl < wh && (lo[i] != wl || hi[i] != wh) || wl >= wh && lo[i] < hi[i] {
				t.Fatalf("%s: row %d frame [%d,%d), want [%d,%d)", name, i, lo[i], hi[i], wl, wh)
			}
		}
		checkFrameAggregates(t, name, ints, floats, rows, lo, hi)
		checkBoolFrames(t, name, mem, rng, rows, lo, hi)
		ints.Release()
		floats.Release()
		ib.Release()
		fb.Release()
	}
}

func checkFrameAggregates(t *testing.T, name string, ints, floats arrow.Array, rows, lo, hi []int) {
	t.Helper()
	intArg := []Expr{&ColumnExpr{T: types.Int8T}}
	floatArg := []Expr{&ColumnExpr{T: types.Float8T}}
	for _, c := range []struct {
		f   WindowFunc
		arg arrow.Array
	}{
		{WindowFunc{Name: "sum", Args: intArg, T: types.NumericT(0, 0)}, ints},
		{WindowFunc{Name: "count", Args: intArg, T: types.Int8T}, ints},
		{WindowFunc{Name: "min", Args: intArg, T: types.Int8T}, ints},
		{WindowFunc{Name: "max", Args: intArg, T: types.Int8T}, ints},
		{WindowFunc{Name: "sum", Args: floatArg, T: types.Float8T}, floats},
		{WindowFunc{Name: "avg", Args: floatArg, T: types.Float8T}, floats},
	} {
		got := make([]types.Datum, len(rows))
		if ok, err := fastFrameAggregate(c.f, []arrow.Array{c.arg}, rows, lo, hi, got); !ok || err != nil {
			t.Fatalf("%s: %s: fast path not taken (%v)", name, c.f.Name, err)
		}
		for i := range rows {
			want := naiveAggregate(c.f.Name, c.arg, lo[i], hi[i])
			if fmt.Sprint(got[i]) != fmt.Sprint(want) {
				t.Fatalf("%s: %s(%s) row %d over [%d,%d): got %v, want %v", name, c.f.Name, c.arg.DataType(), i, lo[i], hi[i], got[i], want)
			}
		}
	}
}

// naiveAggregate computes an aggregate over positions [lo, hi) of arr the
// plain way; integer sums come back as numeric values for comparison.
func naiveAggregate(name string, arr arrow.Array, lo, hi int) types.Datum {
	var best types.Datum
	var fsum float64
	var isum []int64 // kept as int64 pieces summed below with big arithmetic
	count := int64(0)
	for p := lo; p < hi; p++ {
		v := DatumAt(arr, p)
		if v == nil {
			continue
		}
		count++
		switch x := v.(type) {
		case int64:
			isum = append(isum, x)
			if best == nil || (name == "min" && x < best.(int64)) || (name == "max" && x > best.(int64)) {
				best = x
			}
		case float64:
			fsum += x
		}
	}
	switch name {
	case "count":
		return count
	case "min", "max":
		return best
	}
	if count == 0 {
		return nil
	}
	if arr.DataType().ID() == arrow.FLOAT64 {
		if name == "avg" {
			return fsum / float64(count)
		}
		return fsum
	}
	total := bigSum(isum)
	d, err := types.RatToNumeric(total, types.NumericT(0, 0))
	if err != nil {
		return err
	}
	return d
}

func bigSum(vs []int64) *big.Rat {
	total := new(big.Rat)
	for _, v := range vs {
		total.Add(total, new(big.Rat).SetInt64(v))
	}
	return total
}

// checkBoolFrames compares bool_and and bool_or over the frames with a
// plain scan of each frame.
func checkBoolFrames(t *testing.T, name string, mem memory.Allocator, rng *rand.Rand, rows, lo, hi []int) {
	t.Helper()
	bb := array.NewBooleanBuilder(mem)
	defer bb.Release()
	for range rows {
		if rng.Intn(4) == 0 {
			bb.AppendNull()
		} else {
			bb.Append(rng.Intn(3) > 0)
		}
	}
	arr := bb.NewBooleanArray()
	defer arr.Release()
	for _, or := range []bool{false, true} {
		got := make([]types.Datum, len(rows))
		boolFrames(or, arr, rows, lo, hi, got)
		for i := range rows {
			var want types.Datum
			for p := lo[i]; p < hi[i]; p++ {
				if arr.IsNull(p) {
					continue
				}
				if want == nil {
					want = arr.Value(p)
				} else if or {
					want = want.(bool) || arr.Value(p)
				} else {
					want = want.(bool) && arr.Value(p)
				}
			}
			if got[i] != want {
				t.Fatalf("%s: bool (or %v) row %d over [%d,%d): got %v, want %v", name, or, i, lo[i], hi[i], got[i], want)
			}
		}
	}
}
