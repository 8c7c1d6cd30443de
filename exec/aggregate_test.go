package exec

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// aggOracle is what SELECT k, count(*), count(v), sum(v), min(v), max(v),
// min(s), max(s), min(d), max(d) … GROUP BY k should give for one key.
type aggOracle struct {
	rows, count, sum       int64
	minV, maxV, minD, maxD types.Datum
	minS, maxS             types.Datum
}

func (o *aggOracle) add(v, s, d types.Datum) {
	o.rows++
	if v != nil {
		x := v.(int64)
		o.count++
		o.sum += x
		if o.minV == nil || x < o.minV.(int64) {
			o.minV = x
		}
		if o.maxV == nil || x > o.maxV.(int64) {
			o.maxV = x
		}
	}
	if s != nil {
		x := s.(string)
		if o.minS == nil || x < o.minS.(string) {
			o.minS = x
		}
		if o.maxS == nil || x > o.maxS.(string) {
			o.maxS = x
		}
	}
	if d != nil {
		x := d.(int32)
		if o.minD == nil || x < o.minD.(int32) {
			o.minD = x
		}
		if o.maxD == nil || x > o.maxD.(int32) {
			o.maxD = x
		}
	}
}

func (o *aggOracle) row() []types.Datum {
	var sum types.Datum
	if o.count > 0 {
		sum = o.sum
	}
	return []types.Datum{o.rows, o.count, sum, o.minV, o.maxV, o.minS, o.maxS, o.minD, o.maxD}
}

// TestHashAggregatePartitionsMerge aggregates batches spread over several
// partitions (text keys with NULLs in some batches only, NULL values) and
// checks every group's aggregates against a row-by-row oracle.
func TestHashAggregatePartitionsMerge(t *testing.T) {
	for _, parts := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d partitions", parts), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env := NewEnv(mem, 100, parts)
			kts := []types.T{types.TextT, types.Int4T, types.TextT, types.DateT}
			fields := make([]arrow.Field, len(kts))
			for i, kt := range kts {
				fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: kt.Arrow(), Nullable: true}
			}
			schema := arrow.NewSchema(fields, nil)
			src := &memSource{schema: schema, parts: make([][]arrow.Record, parts)}
			defer src.release()
			oracle := map[string]*aggOracle{}
			rng := rand.New(rand.NewSource(11))
			for b := 0; b < 30; b++ {
				bld := array.NewRecordBuilder(mem, schema)
				for i := 0; i < 1+rng.Intn(300); i++ {
					row := []types.Datum{
						maybeNull(rng, b%3 == 0, fmt.Sprintf("k%d", rng.Intn(200))),
						maybeNull(rng, true, int64(rng.Intn(2000)-1000)),
						maybeNull(rng, true, fmt.Sprintf("s%d", rng.Intn(5000))),
						maybeNull(rng, true, int32(rng.Intn(20000))),
					}
					for c, d := range row {
						AppendDatum(bld.Field(c), d)
					}
					key := "NULL"
					if row[0] != nil {
						key = row[0].(string)
					}
					if oracle[key] == nil {
						oracle[key] = &aggOracle{}
					}
					oracle[key].add(row[1], row[2], row[3])
				}
				src.parts[b%parts] = append(src.parts[b%parts], bld.NewRecord())
				bld.Release()
			}
			aggs := []AggSpec{
				aggSpec(t, "count", -1, types.T{}),
				aggSpec(t, "count", 1, types.Int4T),
				aggSpec(t, "sum", 1, types.Int4T),
				aggSpec(t, "min", 1, types.Int4T),
				aggSpec(t, "max", 1, types.Int4T),
				aggSpec(t, "min", 2, types.TextT),
				aggSpec(t, "max", 2, types.TextT),
				aggSpec(t, "min", 3, types.DateT),
				aggSpec(t, "max", 3, types.DateT),
			}
			outFields := []arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String, Nullable: true}}
			for i, a := range aggs {
				outFields = append(outFields, arrow.Field{Name: fmt.Sprintf("a%d", i), Type: a.T.Arrow(), Nullable: true})
			}
			plan := &HashAggregate{Env: env, Input: src, Keys: []Expr{&ColumnExpr{Index: 0, T: types.TextT}}, Aggs: aggs, Out: arrow.NewSchema(outFields, nil)}
			batches, err := Drain(context.Background(), plan, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer ReleaseRecords(batches)
			seen := map[string]bool{}
			for _, b := range batches {
				for i := 0; i < int(b.NumRows()); i++ {
					key := "NULL"
					if d := DatumAt(b.Column(0), i); d != nil {
						key = d.(string)
					}
					if seen[key] {
						t.Fatalf("group %q twice", key)
					}
					seen[key] = true
					want := oracle[key]
					if want == nil {
						t.Fatalf("group %q has no rows", key)
					}
					for c, w := range want.row() {
						if got := DatumAt(b.Column(c+1), i); fmt.Sprint(got) != fmt.Sprint(w) {
							t.Errorf("group %q %s: got %v, want %v", key, aggs[c].Name, got, w)
						}
					}
				}
			}
			if len(seen) != len(oracle) {
				t.Fatalf("%d groups, want %d", len(seen), len(oracle))
			}
		})
	}
}

// TestHashJoinPartitionsShareBuild probes one build side from three
// partitions at once (run it with -race) on a (text, int4) key with NULLs,
// and checks the joined pairs against a nested loop.
func TestHashJoinPartitionsShareBuild(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := NewEnv(mem, 64, 3)
	kts := []types.T{types.TextT, types.Int4T, types.Int8T}
	fields := make([]arrow.Field, len(kts))
	for i, kt := range kts {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: kt.Arrow(), Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	rng := rand.New(rand.NewSource(5))
	makeSide := func(parts, batches int, id *int64) (*memSource, [][]types.Datum) {
		src := &memSource{schema: schema, parts: make([][]arrow.Record, parts)}
		var rows [][]types.Datum
		for b := 0; b < batches; b++ {
			bld := array.NewRecordBuilder(mem, schema)
			for i := 0; i < 1+rng.Intn(200); i++ {
				*id++
				row := []types.Datum{maybeNull(rng, true, fmt.Sprintf("t%d", rng.Intn(30))), maybeNull(rng, true, int64(rng.Intn(4))), *id}
				for c, d := range row {
					AppendDatum(bld.Field(c), d)
				}
				rows = append(rows, row)
			}
			src.parts[b%parts] = append(src.parts[b%parts], bld.NewRecord())
			bld.Release()
		}
		return src, rows
	}
	var id int64
	probe, probeRows := makeSide(3, 12, &id)
	defer probe.release()
	build, buildRows := makeSide(1, 3, &id)
	defer build.release()
	want := map[string]int{}
	for _, p := range probeRows {
		for _, b := range buildRows {
			if p[0] != nil && p[1] != nil && p[0] == b[0] && p[1] == b[1] {
				want[fmt.Sprint(p[2], b[2])]++
			}
		}
	}
	keys := func() []Expr {
		return []Expr{&ColumnExpr{Index: 0, T: types.TextT}, &ColumnExpr{Index: 1, T: types.Int4T}}
	}
	join := &HashJoin{Env: env, Kind: InnerJoin, Probe: probe, Build: build, ProbeKeys: keys(), BuildKeys: keys(),
		Out: arrow.NewSchema(append(append([]arrow.Field{}, fields...), fields...), nil)}
	defer join.Release()
	batches, err := Drain(context.Background(), &Gather{Input: join}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ReleaseRecords(batches)
	got := map[string]int{}
	for _, b := range batches {
		for i := 0; i < int(b.NumRows()); i++ {
			got[fmt.Sprint(DatumAt(b.Column(2), i), DatumAt(b.Column(5), i))]++
		}
	}
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("joined %d pairs, want %d", len(got), len(want))
	}
}
