package exec

import (
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestArrayContainmentKernel runs @>, <@ and && over random int8 and
// text arrays (NULL arrays, NULL and repeated elements, lengths on both
// sides of the point where a map replaces the scan) in batches with and
// without NULLs, against the definition: every non-NULL element of one
// side equal to a non-NULL element of the other, any NULL on the
// contained side failing it.
func TestArrayContainmentKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	rng := rand.New(rand.NewSource(7))
	elems := []struct {
		t    types.T
		pick func() types.Datum
	}{
		{types.Int8T, func() types.Datum { return int64(rng.Intn(12)) }},
		{types.TextT, func() types.Datum { return string(rune('a' + rng.Intn(12))) }},
	}
	for _, el := range elems {
		at := types.ArrayOf(el.t)
		for _, op := range []string{"@>", "<@", "&&"} {
			k := ArrayContainmentKernel(op, el.t)
			for batch := 0; batch < 20; batch++ {
				n := 1 + rng.Intn(300)
				ls, rs := make([]types.Datum, n), make([]types.Datum, n)
				for i := range ls {
					ls[i], rs[i] = randomArray(rng, el.pick, batch%2 == 0), randomArray(rng, el.pick, batch%2 == 0)
				}
				l, r := arrayOf(ec, at, ls), arrayOf(ec, at, rs)
				got, err := k(ec, []arrow.Array{l, r}, n)
				l.Release()
				r.Release()
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < n; i++ {
					if want, g := containmentByDefinition(op, ls[i], rs[i]), DatumAt(got, i); want != g {
						t.Errorf("%v %s %v = %v, want %v", ls[i], op, rs[i], g, want)
					}
				}
				got.Release()
			}
		}
	}
}

func randomArray(rng *rand.Rand, pick func() types.Datum, nulls bool) types.Datum {
	if nulls && rng.Intn(8) == 0 {
		return nil
	}
	a := make([]types.Datum, rng.Intn(20))
	for i := range a {
		if nulls && rng.Intn(10) == 0 {
			continue // a NULL element
		}
		a[i] = pick()
	}
	return a
}

func containmentByDefinition(op string, l, r types.Datum) types.Datum {
	if l == nil || r == nil {
		return nil
	}
	la, ra := l.([]types.Datum), r.([]types.Datum)
	in := func(d types.Datum, set []types.Datum) bool {
		for _, e := range set {
			if d != nil && e == d {
				return true
			}
		}
		return false
	}
	all := func(sub, super []types.Datum) bool {
		for _, d := range sub {
			if !in(d, super) {
				return false
			}
		}
		return true
	}
	switch op {
	case "@>":
		return all(ra, la)
	case "<@":
		return all(la, ra)
	}
	for _, d := range la {
		if in(d, ra) {
			return true
		}
	}
	return false
}

// TestRecordOutKernel checks row values' text form against what
// PostgreSQL 15 prints for the same rows (quoting of empty strings,
// spaces, quotes, backslashes, parentheses and commas; NULL fields
// empty; a whole-row reference of NULLs is NULL).
func TestRecordOutKernel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ec := &EvalContext{Mem: mem}
	ints := []types.Datum{int64(1), int64(2), nil, int64(3), int64(4), nil}
	texts := []types.Datum{"a", nil, "x y", `q"u,o(te)`, "", nil}
	cases := []struct {
		wholeRow bool
		want     []types.Datum
	}{
		{false, []types.Datum{"(1,a)", "(2,)", `(,"x y")`, `(3,"q""u,o(te)")`, `(4,"")`, "(,)"}},
		{true, []types.Datum{"(1,a)", "(2,)", `(,"x y")`, `(3,"q""u,o(te)")`, `(4,"")`, nil}},
	}
	for _, tc := range cases {
		a, b := arrayOf(ec, types.Int4T, ints), arrayOf(ec, types.TextT, texts)
		got, err := RecordOutKernel([]types.T{types.Int4T, types.TextT}, tc.wholeRow)(ec, []arrow.Array{a, b}, len(ints))
		a.Release()
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range tc.want {
			if g := DatumAt(got, i); g != want {
				t.Errorf("whole row %v, row %d: %v, want %v", tc.wholeRow, i, g, want)
			}
		}
		got.Release()
	}
}
