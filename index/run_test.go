package index

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestRunSearches: a run gives back the entries it was made of, and its
// searches agree with a binary search over them, for keys of every
// length (the empty key included) and equal keys told apart by locator.
func TestRunSearches(t *testing.T) {
	es := []Entry{{"", 3}, {"", 9}, {"a", 1}, {"ab", 0}, {"ab", 2}, {"abc", 5}, {"b", 4}, {strings.Repeat("z", 300), 6}}
	r := runOf(es)
	if r.len() != len(es) {
		t.Fatalf("%d entries, want %d", r.len(), len(es))
	}
	for i, e := range es {
		if got := r.at(i); got != e {
			t.Errorf("entry %d: %v, want %v", i, got, e)
		}
	}
	probes := append(slices.Clone(es), Entry{"", 0}, Entry{"", 10}, Entry{"aa", 0}, Entry{"ab", 1}, Entry{"c", 0}, Entry{"zzzz", 0})
	for _, p := range probes {
		wantI, wantFound := slices.BinarySearchFunc(es, p, Compare)
		if i, found := r.search(p); i != wantI || found != wantFound {
			t.Errorf("search %v: %d %v, want %d %v", p, i, found, wantI, wantFound)
		}
		wantBelow, _ := slices.BinarySearchFunc(es, p.Key, func(e Entry, k string) int { return strings.Compare(e.Key, k) })
		if got := r.countBelow(p.Key); got != wantBelow {
			t.Errorf("countBelow %q: %d, want %d", p.Key, got, wantBelow)
		}
	}
	if empty := runOf(nil); empty.len() != 0 {
		t.Errorf("an empty run has %d entries", empty.len())
	}
	if i, found := r.search(Entry{Key: "{"}); i != len(es) || found {
		t.Errorf("search past the end: %d %v", i, found)
	}
}

// BenchmarkGCWithMillionEntryTree: a garbage collection cycle while a
// tree of a million entries is live (its nodes hold no pointer per entry
// for the collector to follow).
func BenchmarkGCWithMillionEntryTree(b *testing.B) {
	es := make([]Entry, 1_000_000)
	for i := range es {
		es[i] = Entry{Key: key(i), Loc: Loc(i)}
	}
	tree := Build(es)
	es = nil
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
	}
	b.StopTimer()
	runtime.KeepAlive(tree)
}
