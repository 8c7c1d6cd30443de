package exec

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// int64Array builds an Int64 array; nil entries are NULL.
func int64Array(mem memory.Allocator, vs []*int64) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for _, v := range vs {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(*v)
		}
	}
	return b.NewArray()
}

func ptrs(vs ...int64) []*int64 {
	out := make([]*int64, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}

func TestKeyBitmapPassing(t *testing.T) {
	cases := []struct {
		name   string
		build  []*int64
		probe  []*int64
		bitmap bool
		want   []int32
	}{
		{"sparse keys", ptrs(10, 500, 500, 90000), ptrs(9, 10, 11, 500, 90000, 90001, -5), true, []int32{1, 3, 4}},
		{"probe NULLs never pass", append(ptrs(1, 2), nil), append(ptrs(2), nil, ptrs(1)[0]), true, []int32{0, 2}},
		{"negative keys", ptrs(-7, -3), ptrs(-8, -7, -3, 0, math.MinInt64, math.MaxInt64), true, []int32{1, 2}},
		{"one key", ptrs(42), ptrs(41, 42, 43), true, []int32{1}},
		{"range too wide", ptrs(0, 1<<40), ptrs(0), false, nil},
		{"extremes overflow the range", ptrs(math.MinInt64, math.MaxInt64), ptrs(0), false, nil},
		{"only NULL keys", []*int64{nil, nil}, ptrs(0), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			build := int64Array(mem, c.build)
			defer build.Release()
			probe := int64Array(mem, c.probe)
			defer probe.Release()
			m := newKeyBitmap([]arrow.Array{build})
			if (m != nil) != c.bitmap {
				t.Fatalf("bitmap built: %v, want %v", m != nil, c.bitmap)
			}
			if m == nil {
				return
			}
			got, ok := m.passing(probe, nil)
			if !ok || !slices.Equal(got, c.want) {
				t.Fatalf("passing = %v (ok %v), want %v", got, ok, c.want)
			}
		})
	}
}

func TestKeyBitmapOtherTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "b"}, nil)
	strs := sb.NewArray()
	sb.Release()
	defer strs.Release()
	if newKeyBitmap([]arrow.Array{strs}) != nil {
		t.Fatal("a text key got a bitmap")
	}
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{3, 5}, nil)
	ints := ib.NewArray()
	ib.Release()
	defer ints.Release()
	if newKeyBitmap([]arrow.Array{ints, ints}) != nil {
		t.Fatal("a two-column key got a bitmap")
	}
	m := newKeyBitmap([]arrow.Array{ints})
	if m == nil {
		t.Fatal("no bitmap for an int32 key")
	}
	if _, ok := m.passing(strs, nil); ok {
		t.Fatal("a text probe key was filtered")
	}
	sh := array.NewInt16Builder(mem)
	sh.AppendValues([]int16{5, 4, 3}, nil)
	shorts := sh.NewArray()
	sh.Release()
	defer shorts.Release()
	got, ok := m.passing(shorts, nil)
	if !ok || !slices.Equal(got, []int32{0, 2}) {
		t.Fatalf("int16 probe of an int32 bitmap: %v (ok %v), want [0 2]", got, ok)
	}
}

// TestKeyFilterStaysWithItsRun opens one join twice at once for two
// bindings of an outer value, as a correlated subquery's runs for two
// outer rows do on two partitions: each run's probe side must be narrowed
// by its own build's keys. The bitmap was once lent on the shared Filter,
// so the second run's build narrowed the first run's probe, and the first
// run lost its row (TPC-H q02's shape lost rows now and then).
func TestKeyFilterStaysWithItsRun(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := NewEnv(mem, 64, 1)
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	keys := func() *memSource {
		rec := array.NewRecord(schema, []arrow.Array{int64Array(mem, ptrs(1, 2, 3, 4, 5, 6, 7, 8))}, 8)
		rec.Column(0).Release()
		return &memSource{schema: schema, parts: [][]arrow.Record{{rec}}}
	}
	probeSrc, buildSrc := keys(), keys()
	defer probeSrc.release()
	defer buildSrc.release()
	col := &ColumnExpr{Index: 0, T: types.Int8T}
	equalsOuter := &CallExpr{Name: "=", Args: []Expr{col, &ParamExpr{Slot: 0, T: types.Int8T}}, Kernel: CompareKernel("=", types.Int8T), T: types.BoolT, Infix: true}
	join := &HashJoin{Env: env, Kind: InnerJoin,
		Probe:     &Filter{Env: env, Input: probeSrc, Pred: &ConstExpr{Value: true, T: types.BoolT}},
		Build:     &Filter{Env: env, Input: buildSrc, Pred: equalsOuter},
		ProbeKeys: []Expr{col}, BuildKeys: []Expr{col},
		Out: arrow.NewSchema(append(schema.Fields(), schema.Fields()...), nil)}
	defer join.Release()

	ctx := context.Background()
	first, err := join.Open(WithOuter(ctx, []types.Datum{int64(3)}), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := join.Open(WithOuter(ctx, []types.Datum{int64(7)}), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	for _, run := range []struct {
		st   Stream
		want int64
	}{{first, 3}, {second, 7}} {
		var got []int64
		for {
			b, err := run.st.Next(ctx)
			if err != nil {
				if !isEOF(err) {
					t.Fatal(err)
				}
				break
			}
			for i := 0; i < int(b.NumRows()); i++ {
				got = append(got, b.Column(0).(*array.Int64).Value(i), b.Column(1).(*array.Int64).Value(i))
			}
			b.Release()
		}
		if !slices.Equal(got, []int64{run.want, run.want}) {
			t.Errorf("run for outer %d joined %v, want [%d %d]", run.want, got, run.want, run.want)
		}
	}
}

// TestEmptyBuildProbedConcurrently probes a LEFT JOIN whose build side
// is empty from three partitions at once. The probes used to turn the hash
// table's direct lookup off on their first batch, writing the table they
// shared without a lock (a data race under go test -race).
func TestEmptyBuildProbedConcurrently(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := NewEnv(mem, 64, 3)
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	batch := func(vs ...int64) arrow.Record {
		col := int64Array(mem, ptrs(vs...))
		defer col.Release()
		return array.NewRecord(schema, []arrow.Array{col}, int64(len(vs)))
	}
	probe := &memSource{schema: schema, parts: [][]arrow.Record{{batch(1, 2, 3)}, {batch(4, 5)}, {batch(6)}}}
	defer probe.release()
	build := &memSource{schema: schema, parts: [][]arrow.Record{{batch()}}}
	defer build.release()
	col := &ColumnExpr{Index: 0, T: types.Int8T}
	join := &HashJoin{Env: env, Kind: LeftJoin, Probe: probe, Build: build,
		ProbeKeys: []Expr{col}, BuildKeys: []Expr{col},
		Out: arrow.NewSchema(append(schema.Fields(), schema.Fields()...), nil)}
	defer join.Release()
	var wg sync.WaitGroup
	counts := make([]int64, probe.Partitions())
	errs := make([]error, probe.Partitions())
	for p := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, err := Drain(context.Background(), join, p)
			for _, r := range recs {
				counts[p] += r.NumRows()
			}
			ReleaseRecords(recs)
			errs[p] = err
		}()
	}
	wg.Wait()
	for p, want := range []int64{3, 2, 1} {
		if errs[p] != nil || counts[p] != want {
			t.Errorf("partition %d: %d rows, %v; want %d, each without a partner", p, counts[p], errs[p], want)
		}
	}
}
