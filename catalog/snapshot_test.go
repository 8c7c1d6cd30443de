package catalog

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestAppendPartsSmallInserts appends rows one insert at a time, as
// single-row INSERTs do, and checks that every row is there once, in
// order, that the small batches are merged (a few batches, not one per
// insert) and that merging makes no batch larger than batchSize.
func TestAppendPartsSmallInserts(t *testing.T) {
	const batchSize = 64
	tests := []struct {
		name    string
		inserts []int // rows per insert
	}{
		{"single rows", repeat(1, 500)},
		{"mixed sizes", []int{1, 3, 40, 1, 1, 64, 2, 100, 1, 1, 1, 7, 30, 31, 1}},
		{"one bulk batch then rows", append([]int{1000}, repeat(1, 50)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			snap := NewSnapshot(make([][]arrow.Record, 1))
			next := 0
			for _, n := range tt.inserts {
				rec := int64Batch(mem, next, n)
				next += n
				parts, err := AppendParts(mem, snap, []arrow.Record{rec}, batchSize)
				rec.Release()
				if err != nil {
					t.Fatal(err)
				}
				snap.Release()
				snap = NewSnapshot(parts)
			}
			defer snap.Release()
			// (an insert larger than batchSize stays the batch it came as)
			large := map[int64]bool{}
			for _, n := range tt.inserts {
				large[int64(n)] = n > batchSize
			}
			got := 0
			for _, r := range snap.Parts[0] {
				if r.NumRows() > batchSize && !large[r.NumRows()] {
					t.Errorf("a batch of %d rows (batch size %d)", r.NumRows(), batchSize)
				}
				col := r.Column(0).(*array.Int64)
				for i := 0; i < col.Len(); i++ {
					if col.Value(i) != int64(got) {
						t.Fatalf("row %d holds %d", got, col.Value(i))
					}
					got++
				}
			}
			if got != next {
				t.Fatalf("%d rows, want %d", got, next)
			}
			// batches of half batchSize and a tail of at most a few
			// shrinking ones (log2 of batchSize)
			if most := next/(batchSize/2) + 8; len(snap.Parts[0]) > most {
				t.Errorf("%d batches for %d rows, want at most %d", len(snap.Parts[0]), next, most)
			}
		})
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}
