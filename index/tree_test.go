package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

func key(n int) string { return string(appendInt(nil, int64(n))) }

func collect(t *Tree, lo, hi string) []Entry {
	var out []Entry
	t.Ascend(lo, hi, func(e Entry) bool { out = append(out, e); return true })
	return out
}

// TestTreeMatchesSortedModel applies random batches of inserts and
// deletes and compares every version, old ones included, with a sorted
// slice holding the same entries.
func TestTreeMatchesSortedModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var model []Entry
	for i := 0; i < 500; i++ {
		model = append(model, Entry{Key: key(rng.IntN(300)), Loc: Loc(i)})
	}
	tree := Build(slices.Clone(model))
	slices.SortFunc(model, Compare)
	type version struct {
		tree  *Tree
		model []Entry
	}
	var versions []version
	next := Loc(1000)
	for round := 0; round < 200; round++ {
		var del, ins []Entry
		for k := 0; k < rng.IntN(40); k++ {
			if len(model) > 0 && rng.IntN(2) == 0 {
				del = append(del, model[rng.IntN(len(model))])
			}
			ins = append(ins, Entry{Key: key(rng.IntN(300)), Loc: next})
			next++
		}
		tree = tree.With(del, ins)
		for _, e := range del {
			if i, ok := slices.BinarySearchFunc(model, e, Compare); ok {
				model = slices.Delete(model, i, i+1)
			}
		}
		for _, e := range ins {
			i, _ := slices.BinarySearchFunc(model, e, Compare)
			model = slices.Insert(model, i, e)
		}
		versions = append(versions, version{tree, slices.Clone(model)})
	}
	for vi, v := range versions {
		if got := collect(v.tree, "", ""); !slices.Equal(got, v.model) || v.tree.Len() != len(v.model) {
			t.Fatalf("version %d: %d entries (Len %d), want %d", vi, len(got), v.tree.Len(), len(v.model))
		}
		lo, hi := key(100), key(140)
		var want []Entry
		for _, e := range v.model {
			if e.Key >= lo && e.Key < hi {
				want = append(want, e)
			}
		}
		if got := collect(v.tree, lo, hi); !slices.Equal(got, want) {
			t.Fatalf("version %d range: got %d entries, want %d", vi, len(got), len(want))
		}
	}
}

func TestTreeEmptiesAndRefills(t *testing.T) {
	var entries []Entry
	for i := 0; i < 1000; i++ {
		entries = append(entries, Entry{Key: key(i), Loc: Loc(i)})
	}
	tree := Build(slices.Clone(entries))
	empty := tree.With(entries, nil)
	if empty.Len() != 0 || len(collect(empty, "", "")) != 0 {
		t.Fatalf("after deleting all: %d entries", empty.Len())
	}
	refilled := empty.With(nil, entries[:3])
	if got := collect(refilled, "", ""); !slices.Equal(got, entries[:3]) {
		t.Fatalf("refilled: %v", got)
	}
	if tree.Len() != 1000 || !tree.HasKey(key(999)) || tree.HasKey(key(1000)) {
		t.Fatal("the original tree changed")
	}
}

// TestEncodingOrdersAsTheEngine checks that byte order of encoded values
// is the order of the values, with NULL last.
func TestEncodingOrdersAsTheEngine(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	cases := []struct {
		name  string
		t     types.T
		build func() (n int, get func(i int) []byte, release func())
	}{
		{"int8", types.T{Kind: types.Int8}, func() (int, func(int) []byte, func()) {
			b := array.NewInt64Builder(mem)
			b.AppendValues([]int64{math.MinInt64, -5, -1, 0, 1, 7, math.MaxInt64}, nil)
			b.AppendNull()
			a := b.NewInt64Array()
			b.Release()
			return a.Len(), func(i int) []byte { return AppendValue(nil, types.T{Kind: types.Int8}, a, i) }, a.Release
		}},
		{"float8", types.T{Kind: types.Float8}, func() (int, func(int) []byte, func()) {
			b := array.NewFloat64Builder(mem)
			b.AppendValues([]float64{math.Inf(-1), -2.5, -1e-300, 0, 1e-300, 3, math.Inf(1), math.NaN()}, nil)
			b.AppendNull()
			a := b.NewFloat64Array()
			b.Release()
			return a.Len(), func(i int) []byte { return AppendValue(nil, types.T{Kind: types.Float8}, a, i) }, a.Release
		}},
		{"text", types.T{Kind: types.Text}, func() (int, func(int) []byte, func()) {
			b := array.NewStringBuilder(mem)
			b.AppendValues([]string{"", "A", "Z", "a", "ab", "ab\x00", "abc", "b", "é"}, nil)
			b.AppendNull()
			a := b.NewStringArray()
			b.Release()
			return a.Len(), func(i int) []byte { return AppendValue(nil, types.T{Kind: types.Text}, a, i) }, a.Release
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, get, release := c.build()
			defer release()
			for i := 0; i+1 < n; i++ {
				if a, b := get(i), get(i+1); string(a) >= string(b) {
					t.Errorf("value %d encodes %x, not below value %d's %x", i, a, i+1, b)
				}
			}
		})
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ab", "ac"}, {"a\xff", "b"}, {"\xff\xff", ""}, {"", ""},
	} {
		if got := PrefixEnd(c.in); got != c.want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func BenchmarkBuild1M(b *testing.B) {
	entries := make([]Entry, 1_000_000)
	for i := range entries {
		entries[i] = Entry{Key: key(i), Loc: Loc(i)}
	}
	for i := 0; i < b.N; i++ {
		Build(slices.Clone(entries))
	}
}

func ExampleTree_Ascend() {
	tree := Build([]Entry{{Key: key(3), Loc: 1}, {Key: key(1), Loc: 2}, {Key: key(2), Loc: 3}})
	tree.Ascend(key(2), "", func(e Entry) bool { fmt.Println(e.Loc); return true })
	// Output:
	// 3
	// 1
}

func TestReverseIteration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var entries []Entry
	for i := 0; i < 5000; i++ {
		entries = append(entries, Entry{Key: key(rng.IntN(2000)), Loc: Loc(i)})
	}
	tree := Build(slices.Clone(entries)).With(entries[:700], nil)
	all := collect(tree, "", "")
	for _, hi := range []string{"", key(-1), key(0), key(1), key(999), key(1999), key(2000), key(5000)} {
		var want []Entry
		for i := len(all) - 1; i >= 0; i-- {
			if hi == "" || all[i].Key < hi {
				want = append(want, all[i])
			}
		}
		var got []Entry
		it := tree.SeekBefore(hi)
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			got = append(got, e)
		}
		if !slices.Equal(got, want) {
			t.Errorf("below %x: %d entries, want %d", hi, len(got), len(want))
		}
	}
}

// TestTreeLargeChanges grows a small tree by far more than a node holds
// and shrinks it again, in single changes that split and empty many
// nodes at once.
func TestTreeLargeChanges(t *testing.T) {
	var small, many []Entry
	for i := 0; i < 100; i++ {
		small = append(small, Entry{Key: key(i * 1000), Loc: Loc(i)})
	}
	for i := 0; i < 100000; i++ {
		many = append(many, Entry{Key: key(i), Loc: Loc(1000 + i)})
	}
	tree := Build(slices.Clone(small))
	grown := tree.With(nil, many)
	want := append(slices.Clone(small), many...)
	slices.SortFunc(want, Compare)
	if got := collect(grown, "", ""); !slices.Equal(got, want) || grown.Len() != len(want) {
		t.Fatalf("grown: %d entries (Len %d), want %d", len(got), grown.Len(), len(want))
	}
	shrunk := grown.With(append(slices.Clone(many[:99990]), small[:50]...), nil)
	want = append(slices.Clone(small[50:]), many[99990:]...)
	slices.SortFunc(want, Compare)
	if got := collect(shrunk, "", ""); !slices.Equal(got, want) || shrunk.Len() != len(want) {
		t.Fatalf("shrunk: %d entries (Len %d), want %d", len(got), shrunk.Len(), len(want))
	}
	if got := collect(shrunk, key(995), key(99995)); len(got) != 5+50 {
		t.Fatalf("range over the shrunk tree: %d entries", len(got))
	}
}

// BenchmarkSeekMillion: a point lookup in a tree of a million entries
// built as BuildFrom builds them (keys made in row order, then sorted).
func BenchmarkSeekMillion(b *testing.B) {
	const n = 1_000_000
	perm := rand.New(rand.NewPCG(5, 6)).Perm(n)
	var buf []byte
	ends := make([]int, n)
	for i, v := range perm {
		buf = appendInt(buf, int64(v))
		ends[i] = len(buf)
	}
	all := string(buf)
	es := make([]Entry, n)
	start := 0
	for i, end := range ends {
		es[i] = Entry{Key: all[start:end], Loc: Loc(i)}
		start = end
	}
	tree := Build(es)
	rng := rand.New(rand.NewPCG(7, 8))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !tree.HasKey(key(rng.IntN(n))) {
			b.Fatal("key not found")
		}
	}
}
