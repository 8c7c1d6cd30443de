package exec

import (
	"fmt"
	"hash/maphash"
	"math/rand"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

var charT = types.T{Kind: types.Char}

// keyCase is a key layout and a generator of its values: row values come
// from gen, which may return NULL (nil) only when nulls is true.
type keyCase struct {
	name  string
	types []types.T
	gen   func(rng *rand.Rand, nulls bool) []types.Datum
}

func maybeNull(rng *rand.Rand, nulls bool, d types.Datum) types.Datum {
	if nulls && rng.Intn(5) == 0 {
		return nil
	}
	return d
}

// textOf is one of k short strings, some with trailing blanks.
func textOf(rng *rand.Rand, k int) string {
	v := rng.Intn(k)
	return fmt.Sprintf("v%d%s", v, strings.Repeat(" ", v%3))
}

var keyCases = []keyCase{
	{"int8 low cardinality", []types.T{types.Int8T}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, int64(rng.Intn(7)-3))}
	}},
	{"int8 high cardinality", []types.T{types.Int8T}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, rng.Int63n(5000)<<40)}
	}},
	{"int4", []types.T{types.Int4T}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, int64(rng.Intn(3000)))}
	}},
	{"date", []types.T{types.DateT}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, int32(rng.Intn(900)))}
	}},
	{"numeric", []types.T{types.NumericT(12, 2)}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, decimal128.FromI64(rng.Int63n(2000)-1000))}
	}},
	{"text, NULLs in some batches", []types.T{types.TextT}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, textOf(rng, 1500))}
	}},
	{"char keeps blanks insignificant", []types.T{charT}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, textOf(rng, 40))}
	}},
	{"float (generic path)", []types.T{types.Float8T}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{maybeNull(rng, nulls, float64(rng.Intn(50))/4)}
	}},
	{"multi-column int, text, numeric, bool", []types.T{types.Int4T, types.TextT, types.NumericT(10, 1), types.BoolT}, func(rng *rand.Rand, nulls bool) []types.Datum {
		return []types.Datum{
			maybeNull(rng, nulls, int64(rng.Intn(4))),
			maybeNull(rng, nulls, textOf(rng, 6)),
			maybeNull(rng, nulls, decimal128.FromI64(int64(rng.Intn(3)))),
			maybeNull(rng, nulls, rng.Intn(2) == 0),
		}
	}},
}

// canonicalKey is the oracle's form of a key: equal exactly for the
// tuples GROUP BY puts together.
func canonicalKey(kts []types.T, row []types.Datum) string {
	parts := make([]string, len(row))
	for i, d := range row {
		switch {
		case d == nil:
			parts[i] = "NULL"
		case kts[i].Kind == types.Char:
			parts[i] = strings.TrimRight(d.(string), " ")
		default:
			parts[i] = fmt.Sprintf("%#v", d)
		}
	}
	return strings.Join(parts, "|")
}

// keyBatch builds the key arrays of rows; the first pad rows are
// dropped by slicing, so the arrays start at an offset.
func keyBatch(mem memory.Allocator, kts []types.T, rows [][]types.Datum, pad int) []arrow.Array {
	out := make([]arrow.Array, len(kts))
	for c, kt := range kts {
		b := array.NewBuilder(mem, kt.Arrow())
		for i := 0; i < pad; i++ {
			AppendDatum(b, rows[0][c])
		}
		for _, r := range rows {
			AppendDatum(b, r[c])
		}
		whole := b.NewArray()
		b.Release()
		out[c] = array.NewSlice(whole, int64(pad), int64(whole.Len()))
		whole.Release()
	}
	return out
}

// genBatches makes batches of various sizes; every third batch has NULLs.
func genBatches(rng *rand.Rand, kc keyCase, count int) [][][]types.Datum {
	batches := make([][][]types.Datum, count)
	for b := range batches {
		rows := make([][]types.Datum, 1+rng.Intn(700))
		for i := range rows {
			rows[i] = kc.gen(rng, b%3 == 1)
		}
		batches[b] = rows
	}
	return batches
}

// groupChecker holds the oracle's view: canonical key to group and back.
type groupChecker struct {
	t       *testing.T
	byKey   map[string]uint32
	byGroup map[uint32]string
}

func newGroupChecker(t *testing.T) *groupChecker {
	return &groupChecker{t: t, byKey: map[string]uint32{}, byGroup: map[uint32]string{}}
}

func (c *groupChecker) see(key string, g uint32) {
	c.t.Helper()
	if prev, ok := c.byKey[key]; ok && prev != g {
		c.t.Fatalf("key %q in groups %d and %d", key, prev, g)
	}
	if prev, ok := c.byGroup[g]; ok && prev != key {
		c.t.Fatalf("group %d holds keys %q and %q", g, prev, key)
	}
	c.byKey[key], c.byGroup[g] = g, key
}

// checkKeyArrays checks that the table's stored keys are its groups' keys.
func (c *groupChecker) checkKeyArrays(kts []types.T, keys []arrow.Array, n int) {
	c.t.Helper()
	if len(c.byKey) != n {
		c.t.Fatalf("%d groups for %d distinct keys", n, len(c.byKey))
	}
	for g := 0; g < n; g++ {
		row := make([]types.Datum, len(keys))
		for i, a := range keys {
			row[i] = DatumAt(a, g)
		}
		if got, want := canonicalKey(kts, row), c.byGroup[uint32(g)]; got != want {
			c.t.Fatalf("group %d stores key %q, holds %q", g, got, want)
		}
	}
}

func TestGroupTableAgainstOracle(t *testing.T) {
	for _, kc := range keyCases {
		for _, collide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s collide=%v", kc.name, collide), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				ec := &EvalContext{Mem: mem}
				rng := rand.New(rand.NewSource(int64(len(kc.name))))
				gt := newGroupTable(ec, kc.types)
				defer gt.release()
				gt.table.collide = collide
				check := newGroupChecker(t)
				var out []uint32
				for bi, rows := range genBatches(rng, kc, 25) {
					keys := keyBatch(mem, kc.types, rows, bi%4)
					out = gt.lookup(keys, len(rows), out)
					releaseAll(keys)
					for i, r := range rows {
						check.see(canonicalKey(kc.types, r), out[i])
					}
				}
				stored := gt.keyArrays()
				defer releaseAll(stored)
				check.checkKeyArrays(kc.types, stored, gt.n)
			})
		}
	}
}

// TestGroupTableMerge folds one partition's table into another's, as the
// final phase of an aggregate does, and checks the mapping.
func TestGroupTableMerge(t *testing.T) {
	for _, kc := range keyCases {
		t.Run(kc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ec := &EvalContext{Mem: mem}
			rng := rand.New(rand.NewSource(7))
			parts := [2]*groupTable{newGroupTable(ec, kc.types), newGroupTable(ec, kc.types)}
			defer parts[0].release()
			defer parts[1].release()
			partKeys := [2]map[uint32]string{{}, {}}
			for bi, rows := range genBatches(rng, kc, 12) {
				p := bi % 2
				keys := keyBatch(mem, kc.types, rows, 0)
				out := parts[p].lookup(keys, len(rows), nil)
				releaseAll(keys)
				for i, r := range rows {
					partKeys[p][out[i]] = canonicalKey(kc.types, r)
				}
			}
			check := newGroupChecker(t)
			for g, k := range partKeys[0] {
				check.see(k, g)
			}
			src := parts[1].keyArrays()
			mapping := parts[0].lookup(src, parts[1].n, nil)
			releaseAll(src)
			for g, k := range partKeys[1] {
				check.see(k, mapping[g])
			}
			stored := parts[0].keyArrays()
			defer releaseAll(stored)
			check.checkKeyArrays(kc.types, stored, parts[0].n)
		})
	}
}

// TestJoinTableSemantics builds a join table and probes it: a NULL in any
// key column matches nothing, char blanks are insignificant, an int4 probe
// finds an int8 build key.
func TestJoinTableSemantics(t *testing.T) {
	cases := []struct {
		name         string
		build, probe []types.T
		buildRows    [][]types.Datum
		probeRows    [][]types.Datum
		want         []int // the build row each probe row finds, -1 none
	}{
		{
			name:  "int8 build, int4 probe, NULLs",
			build: []types.T{types.Int8T}, probe: []types.T{types.Int4T},
			buildRows: [][]types.Datum{{int64(1)}, {nil}, {int64(3)}, {int64(1) << 40}},
			probeRows: [][]types.Datum{{int64(3)}, {nil}, {int64(2)}, {int64(1)}, {int64(0)}},
			want:      []int{2, -1, -1, 0, -1},
		},
		{
			name:  "char build, text probe",
			build: []types.T{charT}, probe: []types.T{types.TextT},
			buildRows: [][]types.Datum{{"EUROPE   "}, {"ASIA"}, {nil}},
			probeRows: [][]types.Datum{{"EUROPE"}, {"ASIA "}, {"ASIA"}, {nil}, {""}},
			want:      []int{0, -1, 1, -1, -1},
		},
		{
			name:  "two columns, NULL in either never matches",
			build: []types.T{types.Int4T, types.TextT}, probe: []types.T{types.Int4T, types.TextT},
			buildRows: [][]types.Datum{{int64(1), "a"}, {int64(1), nil}, {nil, "a"}, {int64(2), "a"}},
			probeRows: [][]types.Datum{{int64(1), "a"}, {int64(1), nil}, {nil, "a"}, {int64(2), "a"}, {int64(2), "b"}},
			want:      []int{0, -1, -1, 3, -1},
		},
		{
			name:  "numeric and float (generic) keys",
			build: []types.T{types.NumericT(8, 2), types.Float8T}, probe: []types.T{types.NumericT(8, 2), types.Float8T},
			buildRows: [][]types.Datum{{decimal128.FromI64(150), 0.0}, {decimal128.FromI64(-5), 2.5}},
			probeRows: [][]types.Datum{{decimal128.FromI64(-5), 2.5}, {decimal128.FromI64(150), -0.0}, {decimal128.FromI64(150), 1.0}},
			want:      []int{1, 0, -1},
		},
	}
	for _, tc := range cases {
		for _, collide := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s collide=%v", tc.name, collide), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				ec := &EvalContext{Mem: mem}
				table := newKeyHashTable(ec, joinKeyClasses(tc.build, tc.probe), tc.build)
				defer table.release()
				table.collide = collide
				var s hashScratch
				bkeys := keyBatch(mem, tc.build, tc.buildRows, 1)
				bids := table.groupIDs(&s, bkeys, tc.build, len(tc.buildRows), true, false, nil)
				releaseAll(bkeys)
				firstRow := map[uint32]int{}
				for r, g := range bids {
					if _, ok := firstRow[g]; !ok && g != noGroup {
						firstRow[g] = r
					}
				}
				pkeys := keyBatch(mem, tc.probe, tc.probeRows, 2)
				pids := table.groupIDs(&s, pkeys, tc.probe, len(tc.probeRows), false, false, nil)
				releaseAll(pkeys)
				for i, g := range pids {
					got := -1
					if g != noGroup {
						got = firstRow[g]
					}
					if got != tc.want[i] {
						t.Errorf("probe row %d (%v) found build row %d, want %d", i, tc.probeRows[i], got, tc.want[i])
					}
				}
			})
		}
	}
}

// TestShortTextHash: a text key of at most 8 bytes hashes by its bytes
// alone, wherever it sits in its array's buffer (near the end the word
// is read byte by byte), and a char(n) key without its trailing blanks.
func TestShortTextHash(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	seed := maphash.MakeSeed()
	col := &textKeyColumn{seed: seed, shortSeed: maphash.String(seed, "short text")}
	hashOf := func(vals []string, typ types.T) []uint64 {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		a := b.NewArray()
		defer a.Release()
		hs := make([]uint64, len(vals))
		col.hash(nil, a, typ, hs)
		return hs
	}
	first := hashOf([]string{"R", "ab", "abcdefgh", "abcdefghi", "", "x"}, types.TextT)
	// the same values in other places: last in the buffer, after longer ones
	second := hashOf([]string{"long prefix value", "x", "", "abcdefghi", "abcdefgh", "ab", "R"}, types.TextT)
	want := map[string]uint64{"R": first[0], "ab": first[1], "abcdefgh": first[2], "abcdefghi": first[3], "": first[4], "x": first[5]}
	for i, v := range []string{"x", "", "abcdefghi", "abcdefgh", "ab", "R"} {
		if second[i+1] != want[v] {
			t.Errorf("%q hashes differently at another place", v)
		}
	}
	if len(map[uint64]bool{first[0]: true, first[1]: true, first[2]: true, first[4]: true, first[5]: true}) != 5 {
		t.Error("distinct short values share a hash")
	}
	char := hashOf([]string{"ab   ", "R ", "abcdefgh  "}, types.T{Kind: types.Char, Len: 10})
	if char[0] != want["ab"] || char[1] != want["R"] || char[2] != want["abcdefgh"] {
		t.Error("a char(n) value hashes with its padding")
	}
}
