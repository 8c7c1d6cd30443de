package exec

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// memSource is an operator over batches held in memory, one list per
// partition; every Open hands out new references.
type memSource struct {
	schema *arrow.Schema
	parts  [][]arrow.Record
}

func (m *memSource) Schema() *arrow.Schema { return m.schema }
func (m *memSource) Partitions() int       { return len(m.parts) }
func (m *memSource) Children() []Operator  { return nil }
func (m *memSource) Explain() string       { return "memSource" }
func (m *memSource) Open(_ context.Context, part int) (Stream, error) {
	batches := make([]arrow.Record, len(m.parts[part]))
	for i, b := range m.parts[part] {
		b.Retain()
		batches[i] = b
	}
	return &sliceStream{batches: batches}, nil
}

func (m *memSource) release() {
	for _, p := range m.parts {
		ReleaseRecords(p)
	}
}

// aggInput makes rows rows of (k key, v int8, d numeric(12,2)) in
// batches of 8192 spread over parts partitions; key(i) gives row i's key.
func aggInput(mem memory.Allocator, keyT types.T, rows, parts int, key func(i int) types.Datum) *memSource {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: keyT.Arrow(), Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "d", Type: types.NumericT(12, 2).Arrow(), Nullable: true},
	}, nil)
	src := &memSource{schema: schema, parts: make([][]arrow.Record, parts)}
	const batch = 8192
	for start, p := 0, 0; start < rows; start, p = start+batch, (p+1)%parts {
		end := min(rows, start+batch)
		bld := array.NewRecordBuilder(mem, schema)
		for i := start; i < end; i++ {
			AppendDatum(bld.Field(0), key(i))
			bld.Field(1).(*array.Int64Builder).Append(int64(i % 1000))
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i % 777)))
		}
		src.parts[p] = append(src.parts[p], bld.NewRecord())
		bld.Release()
	}
	return src
}

// aggSpec resolves a built-in aggregate over column col of type t.
func aggSpec(tb testing.TB, name string, col int, t types.T) AggSpec {
	var args []types.T
	var exprs []Expr
	if col >= 0 {
		args = []types.T{t}
		exprs = []Expr{&ColumnExpr{Index: col, T: t}}
	}
	_, ret, newAcc, err := Aggregates()[name].Resolve(args)
	if err != nil {
		tb.Fatal(err)
	}
	return AggSpec{Name: name, Args: exprs, New: newAcc, T: ret}
}

// groupByPlan is SELECT k, count(*), sum(v), sum(d), avg(d), min(v),
// max(d) FROM src GROUP BY k.
func groupByPlan(tb testing.TB, env *Env, src *memSource, keyT types.T) *HashAggregate {
	aggs := []AggSpec{
		aggSpec(tb, "count", -1, types.T{}),
		aggSpec(tb, "sum", 1, types.Int8T),
		aggSpec(tb, "sum", 2, types.NumericT(12, 2)),
		aggSpec(tb, "avg", 2, types.NumericT(12, 2)),
		aggSpec(tb, "min", 1, types.Int8T),
		aggSpec(tb, "max", 2, types.NumericT(12, 2)),
	}
	fields := []arrow.Field{{Name: "k", Type: keyT.Arrow(), Nullable: true}}
	for i, a := range aggs {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("a%d", i), Type: a.T.Arrow(), Nullable: true})
	}
	return &HashAggregate{Env: env, Input: src, Keys: []Expr{&ColumnExpr{Index: 0, T: keyT}}, Aggs: aggs, Out: arrow.NewSchema(fields, nil)}
}

func runAll(ctx context.Context, op Operator) (int, error) {
	batches, err := Drain(ctx, op, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range batches {
		n += int(b.NumRows())
	}
	ReleaseRecords(batches)
	return n, nil
}

// BenchmarkGroupBy aggregates 1M rows into few or many groups, by an
// integer or a text key, over two partitions.
func BenchmarkGroupBy(b *testing.B) {
	const rows = 1 << 20
	cases := []struct {
		name string
		t    types.T
		key  func(i int) types.Datum
	}{
		{"int8/16 groups", types.Int8T, func(i int) types.Datum { return int64(i * 7 % 16) }},
		{"int8/500k groups", types.Int8T, func(i int) types.Datum { return int64(i * 7919 % 500_000) }},
		{"text/16 groups", types.TextT, func(i int) types.Datum { return fmt.Sprintf("group %d", i*7%16) }},
		{"text/500k groups", types.TextT, func(i int) types.Datum { return fmt.Sprintf("customer#%09d", i*7919%500_000) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			env := NewEnv(mem, 8192, 2)
			src := aggInput(mem, c.t, rows, 2, c.key)
			defer src.release()
			plan := groupByPlan(b, env, src, c.t)
			b.ResetTimer()
			for range b.N {
				if _, err := runAll(context.Background(), plan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGroupLookup places 1M keys in a group table, batch by batch,
// without aggregates: the hash table's share of a GROUP BY.
func BenchmarkGroupLookup(b *testing.B) {
	const rows = 1 << 20
	cases := []struct {
		name string
		t    types.T
		key  func(i int) types.Datum
	}{
		{"int8/16 groups", types.Int8T, func(i int) types.Datum { return int64(i * 7 % 16) }},
		{"int8/500k groups", types.Int8T, func(i int) types.Datum { return int64(i * 7919 % 500_000) }},
		{"text/16 groups", types.TextT, func(i int) types.Datum { return fmt.Sprintf("group %d", i*7%16) }},
		{"text/500k groups", types.TextT, func(i int) types.Datum { return fmt.Sprintf("customer#%09d", i*7919%500_000) }},
		{"int4+text/1000 groups", types.Int4T, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			ec := &EvalContext{Mem: mem}
			kts := []types.T{c.t}
			key := c.key
			if key == nil {
				kts = []types.T{types.Int4T, types.TextT}
			}
			var batches [][]arrow.Array
			for start := 0; start < rows; start += 8192 {
				var cols []arrow.Array
				for ci, kt := range kts {
					bld := newBuilder(ec, kt)
					for i := start; i < start+8192; i++ {
						switch {
						case key != nil:
							AppendDatum(bld, key(i))
						case ci == 0:
							AppendDatum(bld, int64(i*7%100))
						default:
							AppendDatum(bld, fmt.Sprintf("part %d", i*13%10))
						}
					}
					cols = append(cols, bld.NewArray())
					bld.Release()
				}
				batches = append(batches, cols)
			}
			defer func() {
				for _, cols := range batches {
					releaseAll(cols)
				}
			}()
			b.ResetTimer()
			for range b.N {
				gt := newGroupTable(ec, kts)
				var out []uint32
				for _, cols := range batches {
					out = gt.lookup(cols, 8192, out)
				}
				gt.release()
			}
		})
	}
}

// BenchmarkHashJoin probes 1M rows against a 100k-row build side on an
// integer or a text key (every probe row finds one partner).
func BenchmarkHashJoin(b *testing.B) {
	const probeRows, buildRows = 1 << 20, 100_000
	cases := []struct {
		name string
		t    types.T
		key  func(i int) types.Datum
	}{
		{"int8", types.Int8T, func(i int) types.Datum { return int64(i % buildRows) }},
		{"text", types.TextT, func(i int) types.Datum { return fmt.Sprintf("customer#%09d", i%buildRows) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			env := NewEnv(mem, 8192, 2)
			probe := aggInput(mem, c.t, probeRows, 2, func(i int) types.Datum { return c.key(i * 7919) })
			defer probe.release()
			build := aggInput(mem, c.t, buildRows, 1, c.key)
			defer build.release()
			fields := append(append([]arrow.Field{}, probe.schema.Fields()...), build.schema.Fields()...)
			join := &HashJoin{Env: env, Kind: InnerJoin, Probe: probe, Build: build,
				ProbeKeys: []Expr{&ColumnExpr{Index: 0, T: c.t}}, BuildKeys: []Expr{&ColumnExpr{Index: 0, T: c.t}},
				Out: arrow.NewSchema(fields, nil)}
			b.ResetTimer()
			for range b.N {
				n, err := runAll(context.Background(), &Gather{Input: join})
				if err != nil {
					b.Fatal(err)
				}
				if n != probeRows {
					b.Fatalf("%d rows joined, want %d", n, probeRows)
				}
				join.Release()
			}
		})
	}
}

// BenchmarkDistinctAggregate is SELECT count(DISTINCT k) FROM src over
// 1M rows of 100k distinct int8 or text values, and the same under GROUP
// BY v (1000 groups), over two partitions.
func BenchmarkDistinctAggregate(b *testing.B) {
	const rows = 1 << 20
	cases := []struct {
		name    string
		t       types.T
		grouped bool
		key     func(i int) types.Datum
	}{
		{"int8", types.Int8T, false, func(i int) types.Datum { return int64(i * 7 % 100_003) }},
		{"text", types.TextT, false, func(i int) types.Datum { return fmt.Sprintf("str%d", i%100_000) }},
		{"int8/GROUP BY", types.Int8T, true, func(i int) types.Datum { return int64(i * 7 % 100_003) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mem := memory.NewGoAllocator()
			env := NewEnv(mem, 8192, 2)
			src := aggInput(mem, c.t, rows, 2, c.key)
			defer src.release()
			agg := aggSpec(b, "count", 0, c.t)
			agg.Distinct = true
			fields := []arrow.Field{{Name: "count", Type: agg.T.Arrow(), Nullable: true}}
			var keys []Expr
			if c.grouped {
				keys = []Expr{&ColumnExpr{Index: 1, T: types.Int8T}}
				fields = append([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, fields...)
			}
			plan := &HashAggregate{Env: env, Input: src, Keys: keys, Aggs: []AggSpec{agg}, Out: arrow.NewSchema(fields, nil)}
			b.ResetTimer()
			for range b.N {
				if _, err := runAll(context.Background(), plan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
