package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
)

// changesBySets is changesFrom as sets of whole partitions: the batches
// of from missing in to, paired in order with those of to missing in
// from. It is the definition changesFrom must keep.
func changesBySets(from, to *catalog.Snapshot) []batchChange {
	var out []batchChange
	for p := 0; p < max(len(from.Parts), len(to.Parts)); p++ {
		var old, cur []arrow.Record
		if p < len(from.Parts) {
			old = from.Parts[p]
		}
		if p < len(to.Parts) {
			cur = to.Parts[p]
		}
		var gone, added []arrow.Record
		for _, r := range old {
			if !slices.Contains(cur, r) {
				gone = append(gone, r)
			}
		}
		for _, r := range cur {
			if !slices.Contains(old, r) {
				added = append(added, r)
			}
		}
		out = appendPairedChanges(out, p, gone, added)
	}
	return out
}

// TestChangesFrom: the batches a commit replaced, took out, added or
// moved are found, partition by partition, whether few or many batches
// differ (one by one or through a set) and wherever they are.
func TestChangesFrom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int32}}, nil)
	var made []arrow.Record
	defer func() {
		for _, r := range made {
			r.Release()
		}
	}()
	batch := func() arrow.Record {
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.Append(int32(len(made)))
		col := b.NewArray()
		defer col.Release()
		r := array.NewRecord(schema, []arrow.Array{col}, 1)
		made = append(made, r)
		return r
	}
	batches := func(n int) []arrow.Record {
		out := make([]arrow.Record, n)
		for i := range out {
			out[i] = batch()
		}
		return out
	}
	rng := rand.New(rand.NewPCG(3, 4))
	// edit changes one partition the way commits do, or shuffles it
	edit := func(part []arrow.Record) []arrow.Record {
		out := slices.Clone(part)
		for range 1 + rng.IntN(40) {
			switch op := rng.IntN(5); {
			case op == 0 && len(out) > 0: // replaced in place
				out[rng.IntN(len(out))] = batch()
			case op == 1 && len(out) > 0: // taken out
				k := rng.IntN(len(out))
				out = slices.Delete(out, k, k+1)
			case op == 2: // appended
				out = append(out, batch())
			case op == 3 && len(out) > 1: // two swapped
				i, j := rng.IntN(len(out)), rng.IntN(len(out))
				out[i], out[j] = out[j], out[i]
			default: // inserted
				k := rng.IntN(len(out) + 1)
				out = slices.Insert(out, k, batch())
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		parts []int // batches per partition of from
	}{
		{"empty", nil},
		{"one small partition", []int{3}},
		{"several partitions", []int{0, 5, 40}},
		{"large partitions", []int{300, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for trial := range 200 {
				from := &catalog.Snapshot{}
				for _, n := range tc.parts {
					from.Parts = append(from.Parts, batches(n))
				}
				to := &catalog.Snapshot{}
				for p, part := range from.Parts {
					switch rng.IntN(3) {
					case 0: // untouched
						to.Parts = append(to.Parts, part)
					case 1: // one batch replaced, as a one-row UPDATE does
						if len(part) > 0 {
							part = slices.Clone(part)
							part[rng.IntN(len(part))] = batch()
						}
						to.Parts = append(to.Parts, part)
					default:
						to.Parts = append(to.Parts, edit(from.Parts[p]))
					}
				}
				if rng.IntN(4) == 0 { // a partition more
					to.Parts = append(to.Parts, batches(rng.IntN(30)))
				}
				if got, want := changesFrom(from, to), changesBySets(from, to); !slices.Equal(got, want) {
					t.Fatalf("trial %d: changesFrom %s\nwant %s", trial, describeChanges(got, made), describeChanges(want, made))
				}
				// and the other way round
				if got, want := changesFrom(to, from), changesBySets(to, from); !slices.Equal(got, want) {
					t.Fatalf("trial %d, reversed: changesFrom %s\nwant %s", trial, describeChanges(got, made), describeChanges(want, made))
				}
			}
		})
	}
}

// describeChanges names each batch of changes by its place in made.
func describeChanges(changes []batchChange, made []arrow.Record) string {
	name := func(r arrow.Record) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprint(slices.Index(made, r))
	}
	var out []string
	for _, c := range changes {
		out = append(out, fmt.Sprintf("%d:%s->%s", c.part, name(c.base), name(c.now)))
	}
	return fmt.Sprint(out)
}
