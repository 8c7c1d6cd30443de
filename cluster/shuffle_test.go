package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/types"
)

// oneColumn is a record of one column of values (nil: NULL) of arrow
// type dt.
func oneColumn(mem memory.Allocator, dt arrow.DataType, vals []any) arrow.Record {
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			bld.AppendNull()
		case int:
			switch b := bld.(type) {
			case *array.Int32Builder:
				b.Append(int32(x))
			case *array.Int64Builder:
				b.Append(int64(x))
			}
		case string:
			bld.(*array.StringBuilder).Append(x)
		case float64:
			bld.(*array.Float64Builder).Append(x)
		}
	}
	col := bld.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: dt, Nullable: true}}, nil)
	return array.NewRecord(schema, []arrow.Array{col}, int64(col.Len()))
}

// bucketOf is each row's bucket among n.
func bucketOf(t *testing.T, mem memory.Allocator, rec arrow.Record, kt types.T, n int) []int {
	t.Helper()
	ec := exec.NewEvalContext(context.Background(), exec.NewEnv(mem, 1024, 1))
	idx, err := bucketRows(ec, rec, []exec.Expr{&exec.ColumnExpr{Index: 0, T: kt, Name: "k"}}, n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, rec.NumRows())
	for b, rows := range idx {
		for _, r := range rows {
			out[r] = b
		}
	}
	return out
}

// TestBucketsAgreeAcrossSides: a value goes to the same bucket whatever
// the width of the integer that holds it (a join of int4 with int8),
// NULL keys to bucket 0, and the buckets spread the values.
func TestBucketsAgreeAcrossSides(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var vals []any
	for i := range 1000 {
		vals = append(vals, i*7-300)
	}
	vals = append(vals, nil)
	narrow := oneColumn(mem, arrow.PrimitiveTypes.Int32, vals)
	defer narrow.Release()
	wide := oneColumn(mem, arrow.PrimitiveTypes.Int64, vals)
	defer wide.Release()
	const n = 7
	a, b := bucketOf(t, mem, narrow, types.Int4T, n), bucketOf(t, mem, wide, types.Int8T, n)
	used := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d (%v): bucket %d as int4, %d as int8", i, vals[i], a[i], b[i])
		}
		used[a[i]]++
	}
	if a[len(a)-1] != 0 {
		t.Errorf("a NULL key went to bucket %d, want 0", a[len(a)-1])
	}
	for bucket := range n {
		if used[bucket] < 1000/n/2 {
			t.Errorf("bucket %d holds %d of 1000 values: the hash does not spread them", bucket, used[bucket])
		}
	}
	words := oneColumn(mem, arrow.BinaryTypes.String, []any{"x", "y", "x", nil, "y"})
	defer words.Release()
	w := bucketOf(t, mem, words, types.TextT, n)
	if w[0] != w[2] || w[1] != w[4] || w[3] != 0 {
		t.Errorf("text buckets %v: equal values must share a bucket, NULL in 0", w)
	}
}

// TestBucketsOfEqualGroupKeys: the values GROUP BY holds equal share a
// bucket, whatever their bits: char(n) with and without trailing blanks,
// 0 and -0, NaNs of other payloads.
func TestBucketsOfEqualGroupKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 16
	for _, tc := range []struct {
		name string
		dt   arrow.DataType
		t    types.T
		vals []any
	}{
		{"char", arrow.BinaryTypes.String, types.T{Kind: types.Char}, []any{"ab", "ab   ", "ab "}},
		{"zero", arrow.PrimitiveTypes.Float64, types.Float8T, []any{0.0, math.Copysign(0, -1)}},
		{"nan", arrow.PrimitiveTypes.Float64, types.Float8T, []any{math.NaN(), math.Float64frombits(0x7ff8000000000001), -math.NaN()}},
	} {
		rec := oneColumn(mem, tc.dt, tc.vals)
		got := bucketOf(t, mem, rec, tc.t, n)
		rec.Release()
		for i := range got {
			if got[i] != got[0] {
				t.Errorf("%s: buckets %v, want one bucket for equal keys", tc.name, got)
				break
			}
		}
	}
	// text keeps its blanks: 'ab' and 'ab ' differ as text
	rec := oneColumn(mem, arrow.BinaryTypes.String, []any{"ab", "ab ", "ab  ", "ab   "})
	defer rec.Release()
	if got := bucketOf(t, mem, rec, types.TextT, n); got[0] == got[1] && got[1] == got[2] && got[2] == got[3] {
		t.Errorf("text 'ab' with 0-3 blanks all in bucket %d: the blanks were dropped", got[0])
	}
}

// TestMapCacheReleases: a map output is computed once for all its
// buckets, a failed computation is forgotten, and a release (or
// closing) frees every record and removes every file: kept in memory,
// and written to spill files past a budget (here nothing fits), where
// the buckets read back are the rows computed, in their order.
func TestMapCacheReleases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spill   bool
		spilled bool // the output should be in files
	}{{"in memory", false, false}, {"spilled", true, true}} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			c := &mapCache{entries: map[string]*mapEntry{}}
			var root *spill.Root
			if tc.spill {
				var err error
				if root, err = spill.OpenTempRoot(t.TempDir()); err != nil {
					t.Fatal(err)
				}
				defer root.Close()
				c.root, c.budget = root, 0
			}
			checkMapOutputs(t, c, mem, tc.spilled)
			if root != nil {
				if left := spillEntries(t, root.Dir()); len(left) != 0 {
					t.Errorf("spill files left after the cache closed: %v", left)
				}
			}
			if got := c.memBytes.Load(); got != 0 {
				t.Errorf("the cache counts %d bytes in memory after closing", got)
			}
		})
	}
}

func checkMapOutputs(t *testing.T, c *mapCache, mem memory.Allocator, spilled bool) {
	t.Helper()
	frag := func(q string, part uint32) *clusterpb.Fragment {
		return &clusterpb.Fragment{QueryId: q, Partition: part, ShuffleMap: &clusterpb.ShuffleMap{Buckets: 2}}
	}
	computed := 0
	compute := func() (*mapOutput, error) {
		computed++
		out := c.newOutput(arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), 2, mem)
		for _, add := range []struct {
			b    int
			vals []any
		}{{0, []any{1, 2}}, {1, []any{3}}, {0, []any{4, nil}}} {
			if err := out.add(add.b, oneColumn(mem, arrow.PrimitiveTypes.Int64, add.vals)); err != nil {
				out.drop()
				return nil, err
			}
		}
		if err := out.finish(); err != nil {
			out.drop()
			return nil, err
		}
		return out, nil
	}
	ctx := context.Background()
	read := func(e *mapEntry, b int) exec.Stream {
		t.Helper()
		st, err := c.bucket(e, b, mem)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for range 3 {
		e, err := c.get(ctx, frag("q1", 0), compute)
		if err != nil {
			t.Fatal(err)
		}
		if e.out.spilled() != spilled {
			t.Fatalf("the output spilled %v, want %v", e.out.spilled(), spilled)
		}
		if got := renderStream(t, read(e, 1)); got != "[3]" {
			t.Fatalf("bucket 1: %s", got)
		}
	}
	if computed != 1 {
		t.Errorf("computed %d times, want once", computed)
	}
	if _, err := c.get(ctx, frag("q2", 0), func() (*mapOutput, error) { return nil, context.Canceled }); err == nil {
		t.Error("a failed computation returned no error")
	}
	if _, err := c.get(ctx, frag("q2", 1), compute); err != nil {
		t.Fatal(err)
	}
	// streams open across the release keep their rows, read at once
	e, _ := c.get(ctx, frag("q1", 0), compute)
	open := []exec.Stream{read(e, 0), read(e, 0), read(e, 0)}
	c.release("q1")
	if got := c.held(); got != 1 {
		t.Errorf("after releasing q1 the cache holds %d outputs, want q2's one", got)
	}
	got := make([]string, len(open))
	var wg sync.WaitGroup
	for i, st := range open {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = renderStream(t, st)
		}()
	}
	wg.Wait()
	for i, g := range got {
		if g != "[1 2][4 (null)]" {
			t.Fatalf("bucket 0 across the release, reader %d: %s", i, g)
		}
	}
	// a stream asked of a released output is asked elsewhere
	if _, err := c.bucket(e, 0, mem); err == nil {
		t.Error("a released output was read")
	}
	c.close()
	if got := c.held(); got != 0 {
		t.Errorf("closed cache holds %d outputs", got)
	}
}

// renderStream reads a stream to its end, closes it, and renders its batches.
func renderStream(t *testing.T, st exec.Stream) string {
	t.Helper()
	defer st.Close()
	var out strings.Builder
	for {
		rec, err := st.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out.String()
		}
		if err != nil { // (t.Errorf: readers run in goroutines)
			t.Errorf("reading a bucket: %v", err)
			return out.String() + " and an error"
		}
		fmt.Fprint(&out, rec.Column(0))
		rec.Release()
	}
}

// spillEntries lists what a spill root holds besides its lock file.
func spillEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != "LOCK" {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestMapTicketCarriesNestedShuffles: a map ticket names its node (a
// join's side, or an aggregation with partial_aggregate set) and carries
// exactly the shuffles under it, which its map task reads from the peers
// in turn; an aggregation's own shuffle is left out of its ticket, while
// a join side that is itself an aggregation keeps it.
func TestMapTicketCarriesNestedShuffles(t *testing.T) {
	outer := &clusterpb.Shuffle{Path: []uint32{0}, Buckets: 4}
	innerJoin := &clusterpb.Shuffle{Path: []uint32{0, 0, 0}, Buckets: 4}
	sideAgg := &clusterpb.Shuffle{Path: []uint32{0, 1}, Buckets: 4}
	underAgg := &clusterpb.Shuffle{Path: []uint32{0, 1, 0}, Buckets: 4}
	f := &clusterpb.Fragment{QueryId: "q/1", Path: []uint32{0}, Shuffles: []*clusterpb.Shuffle{innerJoin, underAgg, sideAgg, outer}}
	paths := func(t *clusterpb.Fragment) [][]uint32 {
		var out [][]uint32
		for _, sh := range t.Shuffles {
			out = append(out, sh.Path)
		}
		return out
	}
	for _, c := range []struct {
		name      string
		sh        *clusterpb.Shuffle
		side      int
		aggregate bool
		path      []uint32
		carried   [][]uint32
	}{
		{"probe side holding a shuffle join", outer, 0, false, []uint32{0, 0}, [][]uint32{{0, 0, 0}}},
		{"build side that is an aggregation", outer, 1, false, []uint32{0, 1}, [][]uint32{{0, 1, 0}, {0, 1}}},
		{"the aggregation's partial phase", sideAgg, 0, true, []uint32{0, 1}, [][]uint32{{0, 1, 0}}},
		{"a join with nothing under it", innerJoin, 1, false, []uint32{0, 0, 0, 1}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tk := mapTicket(f, c.sh, c.side, 3, 2, c.aggregate)
			if !slices.Equal(tk.Path, c.path) || tk.PartialAggregate != c.aggregate || tk.Partition != 3 || tk.ShuffleMap.GetBucket() != 2 || tk.ShuffleMap.GetBuckets() != 4 {
				t.Errorf("ticket path %v partial %v partition %d map %v", tk.Path, tk.PartialAggregate, tk.Partition, tk.ShuffleMap)
			}
			if got := paths(tk); fmt.Sprint(got) != fmt.Sprint(c.carried) {
				t.Errorf("carries shuffles %v, want %v", got, c.carried)
			}
		})
	}
	// the build side [0 1] is the aggregation at [0 1]: the join's map
	// outputs and the aggregation's are kept apart
	side, partial := mapTicket(f, outer, 1, 3, 2, false), mapTicket(f, sideAgg, 0, 3, 2, true)
	if !slices.Equal(side.Path, partial.Path) || mapKey(side) == mapKey(partial) {
		t.Errorf("a side's and an aggregation's tickets of path %v share the map cache key %s", side.Path, mapKey(side))
	}
}
