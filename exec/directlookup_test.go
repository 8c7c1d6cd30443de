package exec

import (
	"math"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// TestDirectLookup places batches of one integer key through a table that
// starts a direct range on its first (dense) batch, then meets batches
// beyond the range, batches with NULLs (both by the hash path) and
// batches back inside it, and checks that each key keeps one group
// throughout, that a probe finds exactly the keys held (an int4 probe of
// the int8 table too) and that the stored keys are the groups' keys.
func TestDirectLookup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		first   func(i int) int64
		later   func(rng *rand.Rand) int64
		direct  bool // whether the first batch starts a direct range
		nullsAt int  // batches with NULLs: every nullsAt-th (0: none)
	}{
		{"dense, then wider", func(i int) int64 { return int64(i % 300) }, func(rng *rand.Rand) int64 { return rng.Int63n(2000) - 500 }, true, 3},
		{"dense negative", func(i int) int64 { return int64(-i%50) - 7 }, func(rng *rand.Rand) int64 { return -rng.Int63n(100) }, true, 0},
		{"near the int8 limits", func(i int) int64 { return math.MaxInt64 - int64(i%40) }, func(rng *rand.Rand) int64 { return math.MaxInt64 - rng.Int63n(80) }, true, 2},
		{"near the minimum, then far keys", func(i int) int64 { return math.MinInt64 + int64(i%40) }, func(rng *rand.Rand) int64 {
			if rng.Intn(2) == 0 {
				return math.MaxInt64 - rng.Int63n(5)
			}
			return math.MinInt64 + rng.Int63n(80)
		}, true, 2},
		{"too sparse for direct", func(i int) int64 { return int64(i) * 1000 }, func(rng *rand.Rand) int64 { return rng.Int63n(100) * 1000 }, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ec := &EvalContext{Mem: mem}
			kts := []types.T{types.Int8T}
			table := newKeyHashTable(ec, []keyClass{intKey}, kts)
			defer table.release()
			var s hashScratch
			ids := map[int64]uint32{}
			nullID := noGroup
			rng := rand.New(rand.NewSource(int64(len(tc.name))))
			var out []uint32
			for b := 0; b < 30; b++ {
				n := 1 + rng.Intn(500)
				if b == 0 {
					n = 400
				}
				vals := make([]types.Datum, n)
				for i := range vals {
					switch {
					case b == 0:
						vals[i] = tc.first(i)
					case tc.nullsAt > 0 && b%tc.nullsAt == 0 && rng.Intn(5) == 0:
						vals[i] = nil
					case b%2 == 0 && table.direct != nil:
						// anywhere inside the direct range, keys the
						// hash path may have made groups for included
						vals[i] = table.directBase + rng.Int63n(int64(len(table.direct)))
					default:
						vals[i] = tc.later(rng)
					}
				}
				keys := []arrow.Array{arrayOf(ec, types.Int8T, vals)}
				out = table.groupIDs(&s, keys, kts, n, true, true, out)
				releaseAll(keys)
				if b == 0 && (table.direct != nil) != tc.direct {
					t.Fatalf("direct range: %v, want %v", table.direct != nil, tc.direct)
				}
				for i, v := range vals {
					if v == nil {
						if nullID == noGroup {
							nullID = out[i]
						} else if out[i] != nullID {
							t.Fatalf("NULL in groups %d and %d", nullID, out[i])
						}
						continue
					}
					if id, ok := ids[v.(int64)]; ok && id != out[i] {
						t.Fatalf("batch %d: key %d in groups %d and %d", b, v, id, out[i])
					}
					ids[v.(int64)] = out[i]
				}
			}
			want := len(ids)
			if nullID != noGroup {
				want++
			}
			if table.n != want {
				t.Fatalf("%d groups, want %d", table.n, want)
			}
			stored := table.keyArrays(mem, kts)
			for g := 0; g < table.n; g++ {
				d := DatumAt(stored[0], g)
				if d == nil {
					if uint32(g) != nullID {
						t.Fatalf("group %d holds NULL", g)
					}
					continue
				}
				if ids[d.(int64)] != uint32(g) {
					t.Fatalf("group %d holds %v", g, d)
				}
			}
			releaseAll(stored)
			// probes: every key held, keys not held inside and outside the
			// range, as int8 and as int4
			for _, pt := range []types.T{types.Int8T, types.Int4T} {
				var probe []types.Datum
				for v := range ids {
					if pt.Kind == types.Int4 && v != int64(int32(v)) {
						continue
					}
					probe = append(probe, v, v+1, v-1)
				}
				if len(probe) == 0 {
					continue
				}
				keys := []arrow.Array{arrayOf(ec, pt, probe)}
				out = table.groupIDs(&s, keys, []types.T{pt}, len(probe), false, false, out)
				releaseAll(keys)
				for i, v := range probe {
					id, held := ids[v.(int64)]
					if (held && out[i] != id) || (!held && out[i] != noGroup) {
						t.Fatalf("%s probe of %d: got %d, want %v (held %v)", pt, v, out[i], id, held)
					}
				}
			}
		})
	}
}

// BenchmarkDirectLookup places 1M int8 keys of 1000 values (GROUP BY g)
// in a table, batch by batch: the direct array's case.
func BenchmarkDirectLookup(b *testing.B) {
	mem := memory.NewGoAllocator()
	ec := &EvalContext{Mem: mem}
	kts := []types.T{types.Int8T}
	var batches [][]arrow.Array
	for start := 0; start < 1<<20; start += 8192 {
		vals := make([]types.Datum, 8192)
		for i := range vals {
			vals[i] = int64((start + i) % 1000)
		}
		batches = append(batches, []arrow.Array{arrayOf(ec, types.Int8T, vals)})
	}
	defer func() {
		for _, k := range batches {
			releaseAll(k)
		}
	}()
	b.ResetTimer()
	for range b.N {
		gt := newGroupTable(ec, kts)
		var out []uint32
		for _, k := range batches {
			out = gt.lookup(k, 8192, out)
		}
		gt.release()
	}
}
