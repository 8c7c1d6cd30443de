package exec

import (
	"context"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// The tests of this file open one plan several times at once or one
// after another, as a correlated subquery's runs for several outer rows
// (on several partitions), a LATERAL subquery's runs for equal left rows
// and a recursive CTE's rounds do: whatever an operator keeps for a run
// must stay with that run.

// nextInts reads one batch of st, its first column as integers (NULL as
// -1); done is true at the end of the stream.
func nextInts(t *testing.T, ctx context.Context, st Stream) (vals []int64, done bool) {
	t.Helper()
	b, err := st.Next(ctx)
	if err != nil {
		if !isEOF(err) {
			t.Fatal(err)
		}
		return nil, true
	}
	defer b.Release()
	col := b.Column(0).(*array.Int64)
	for i := 0; i < col.Len(); i++ {
		v := int64(-1)
		if col.IsValid(i) {
			v = col.Value(i)
		}
		vals = append(vals, v)
	}
	return vals, false
}

// readInts reads st to its end, sorted.
func readInts(t *testing.T, ctx context.Context, st Stream) []int64 {
	t.Helper()
	var all []int64
	for {
		vals, done := nextInts(t, ctx, st)
		if done {
			slices.Sort(all)
			return all
		}
		all = append(all, vals...)
	}
}

// intSource is one partition of one batch of integers (nil: NULL) in a
// column k.
func intSource(mem memory.Allocator, vals ...int64) *memSource {
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{int64Array(mem, ptrs(vals...))}, int64(len(vals)))
	rec.Column(0).Release()
	return &memSource{schema: schema, parts: [][]arrow.Record{{rec}}}
}

// releasingOperator is an operator that keeps cached builds until Release.
type releasingOperator interface {
	Operator
	Release()
}

func compareCall(op CmpOp, l, r Expr) Expr {
	return &CallExpr{Name: string(op), Args: []Expr{l, r}, Kernel: CompareKernel(op, types.Int8T), T: types.BoolT, Infix: true}
}

// TestMarkingJoinRunsKeepTheirOwnMarks runs a join that remembers which
// build rows met a probe row (FULL, and the semi and anti joins built on
// their left side) twice for one binding: once after the other (a
// LATERAL subquery's runs for two equal left rows) and both at once (a
// correlated subquery's runs for equal outer rows on two partitions).
// The marks were kept on the build side shared by the run's cache, and
// the first run to finish dropped them: the other emitted no build rows.
func TestMarkingJoinRunsKeepTheirOwnMarks(t *testing.T) {
	col := &ColumnExpr{Index: 0, T: types.Int8T}
	cases := []struct {
		name string
		join func(env *Env, probe, build Operator) releasingOperator
		want []int64 // the first output column: probe keys, -1 for NULL
	}{
		{"hash full", func(env *Env, probe, build Operator) releasingOperator {
			return &HashJoin{Env: env, Kind: FullJoin, Probe: probe, Build: build, ProbeKeys: []Expr{col}, BuildKeys: []Expr{col},
				Out: arrow.NewSchema(append(probe.Schema().Fields(), build.Schema().Fields()...), nil)}
		}, []int64{-1, -1, 1, 2, 3}},
		{"hash build semi", func(env *Env, probe, build Operator) releasingOperator {
			return &HashJoin{Env: env, Kind: BuildSemiJoin, Probe: probe, Build: build, ProbeKeys: []Expr{col}, BuildKeys: []Expr{col}, Out: build.Schema()}
		}, []int64{2, 3}},
		{"hash build anti", func(env *Env, probe, build Operator) releasingOperator {
			return &HashJoin{Env: env, Kind: BuildAntiJoin, Probe: probe, Build: build, ProbeKeys: []Expr{col}, BuildKeys: []Expr{col}, Out: build.Schema()}
		}, []int64{4, 5}},
		{"nested loop full", func(env *Env, probe, build Operator) releasingOperator {
			return &NestedLoopJoin{Env: env, Kind: FullJoin, Left: probe, Right: build,
				Cond: compareCall("=", col, &ColumnExpr{Index: 1, T: types.Int8T}),
				Out:  arrow.NewSchema(append(probe.Schema().Fields(), build.Schema().Fields()...), nil)}
		}, []int64{-1, -1, 1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env := NewEnv(mem, 64, 1)
			probeSrc, buildSrc := intSource(mem, 1, 2, 3), intSource(mem, 2, 3, 4, 5)
			defer probeSrc.release()
			defer buildSrc.release()
			join := c.join(env, probeSrc, buildSrc)
			defer join.Release()
			ctx := WithOuter(context.Background(), []types.Datum{int64(1)})

			// one run after the other
			for run := 1; run <= 2; run++ {
				st, err := join.Open(ctx, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got := readInts(t, ctx, st); !slices.Equal(got, c.want) {
					t.Errorf("run %d after another: %v, want %v", run, got, c.want)
				}
				st.Close()
			}

			// two at once for another binding, the first read to its end
			// before the second
			ctx = WithOuter(context.Background(), []types.Datum{int64(2)})
			first, err := join.Open(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			second, err := join.Open(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer second.Close()
			for i, st := range []Stream{first, second} {
				if got := readInts(t, ctx, st); !slices.Equal(got, c.want) {
					t.Errorf("run %d of two at once: %v, want %v", i+1, got, c.want)
				}
			}
		})
	}
}

// TestRunsOfBindingsThatPrintAlike runs a join whose build side keeps
// the rows equal to an outer text value, for two bindings whose values
// printed with spaces between them read the same ("b c", "d" and "b",
// "c d"): a run was known by its printed binding, so the second run
// joined the first one's cached build rows.
func TestRunsOfBindingsThatPrintAlike(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := NewEnv(mem, 64, 1)
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	rows := func() *memSource {
		kb := array.NewInt64Builder(mem)
		defer kb.Release()
		sb := array.NewStringBuilder(mem)
		defer sb.Release()
		for i, s := range []string{"b c", "c d", "d", "<nil>"} {
			kb.Append(int64(i + 1))
			sb.Append(s)
		}
		k, s := kb.NewArray(), sb.NewArray()
		defer k.Release()
		defer s.Release()
		return &memSource{schema: schema, parts: [][]arrow.Record{{array.NewRecord(schema, []arrow.Array{k, s}, 4)}}}
	}
	probeSrc, buildSrc := rows(), rows()
	defer probeSrc.release()
	defer buildSrc.release()
	key := &ColumnExpr{Index: 0, T: types.Int8T}
	text := &ColumnExpr{Index: 1, T: types.TextT}
	equalsSecond := &CallExpr{Name: "=", Args: []Expr{text, &ParamExpr{Slot: 1, T: types.TextT}},
		Kernel: CompareKernel("=", types.TextT), T: types.BoolT, Infix: true}
	join := &HashJoin{Env: env, Kind: InnerJoin, Probe: probeSrc,
		Build:     &Filter{Env: env, Input: buildSrc, Pred: equalsSecond},
		ProbeKeys: []Expr{key}, BuildKeys: []Expr{key},
		Out: arrow.NewSchema(append(schema.Fields(), schema.Fields()...), nil)}
	defer join.Release()
	for _, run := range []struct {
		outer []types.Datum
		want  []int64
	}{
		{[]types.Datum{"b c", "d"}, []int64{3}},
		{[]types.Datum{"b", "c d"}, []int64{2}},
		{[]types.Datum{nil, "<nil>"}, []int64{4}},
		{[]types.Datum{"<nil>", nil}, nil},
		{[]types.Datum{"x", "d"}, []int64{3}},
	} {
		ctx := WithOuter(context.Background(), run.outer)
		st, err := join.Open(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := readInts(t, ctx, st); !slices.Equal(got, run.want) {
			t.Errorf("run for %q joined %v, want %v", run.outer, got, run.want)
		}
		st.Close()
	}
}

// TestRecursiveRunsKeepTheirOwnRounds reads two runs of one recursive
// CTE (k from the outer value, then k+1 while k < the outer value + 3) a
// round at a time in turn, as a correlated or LATERAL subquery's runs
// for two outer rows on two partitions do. The last round's rows were
// kept on the plan's work table, so each run's next round read the
// other run's rows.
func TestRecursiveRunsKeepTheirOwnRounds(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env := NewEnv(mem, 64, 1)
	schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	col := &ColumnExpr{Index: 0, T: types.Int8T}
	work := &WorkTable{Name: "t"}
	plusOne := &CallExpr{Name: "+", Args: []Expr{col, &ConstExpr{Value: int64(1), T: types.Int8T}}, Kernel: intArith[int64]('+', types.Int8T), T: types.Int8T, Infix: true}
	rec := &RecursiveUnion{Env: env, Work: work, Out: schema,
		Anchor: &Values{Env: env, Rows: [][]Expr{{&ParamExpr{Slot: 0, T: types.Int8T}}}, Out: schema},
		Recursive: &Filter{Env: env, Pred: compareCall("<=", col, &ParamExpr{Slot: 1, T: types.Int8T}),
			Input: &Project{Env: env, Input: &WorkScan{Table: work, Out: schema}, Exprs: []Expr{plusOne}, Out: schema}},
	}
	ctx := context.Background()
	runs := []struct {
		ctx  context.Context
		st   Stream
		got  []int64
		done bool
		want []int64
	}{
		{ctx: WithOuter(ctx, []types.Datum{int64(0), int64(3)}), want: []int64{0, 1, 2, 3}},
		{ctx: WithOuter(ctx, []types.Datum{int64(100), int64(103)}), want: []int64{100, 101, 102, 103}},
	}
	for i := range runs {
		st, err := rec.Open(runs[i].ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		runs[i].st = st
	}
	for !runs[0].done || !runs[1].done {
		for i := range runs {
			r := &runs[i]
			if r.done {
				continue
			}
			var vals []int64
			vals, r.done = nextInts(t, r.ctx, r.st)
			r.got = append(r.got, vals...)
		}
	}
	for _, r := range runs {
		if !slices.Equal(r.got, r.want) {
			t.Errorf("run %v: %v, want %v", outerFrom(r.ctx), r.got, r.want)
		}
	}
}
