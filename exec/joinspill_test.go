package exec

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/types"
)

// joinPlan joins probe with build on equal probeKeys/buildKeys (column
// indexes of spillInput), with extra over probe columns then build
// columns when set.
func joinPlan(env *Env, kind JoinKind, probe, build Operator, probeKeys, buildKeys []int, extra Expr) *HashJoin {
	var pk, bk []Expr
	for i := range probeKeys {
		pk = append(pk, spillCol(probeKeys[i]))
		bk = append(bk, spillCol(buildKeys[i]))
	}
	var fields []arrow.Field
	if kind != BuildSemiJoin {
		fields = append(fields, probe.Schema().Fields()...)
	}
	if kind.EmitsBuildCols() || kind == BuildSemiJoin {
		fields = append(fields, build.Schema().Fields()...)
	}
	return &HashJoin{Env: env, Kind: kind, Probe: probe, Build: build, ProbeKeys: pk, BuildKeys: bk, Extra: extra, Out: arrow.NewSchema(fields, nil)}
}

// probeIDAbove is the residual condition probe.id > build.id + shift.
func probeIDAbove(shift int64) Expr {
	build := &CallExpr{Name: "+", Args: []Expr{&ColumnExpr{Index: 5, T: types.Int8T}, &ConstExpr{Value: shift, T: types.Int8T}}, Kernel: intArith[int64]('+', types.Int8T), T: types.Int8T, Infix: true}
	return &CallExpr{Name: ">", Args: []Expr{spillCol(0), build}, Kernel: CompareKernel(">", types.Int8T), T: types.BoolT, Infix: true}
}

// TestHashJoinSpills joins 50,000 probe rows with 30,000 build rows
// (a few MB each) under a 1 MB statement limit, for every join kind,
// on int and text keys, one key and two, with NULL keys on both sides, a
// skewed key and residual conditions: the join spills, never passes the
// limit, leaves no file, and gives exactly the rows it gives without a
// limit.
func TestHashJoinSpills(t *testing.T) {
	for _, tc := range []struct {
		name       string
		kind       JoinKind
		pk, bk     []int
		extra      Expr
		buildFirst int // the build side's first id (the probe's is 0)
		minRows    int // the fewest rows the answer has
		// buildBatches is the build side's size in batches of 1000 rows
		// (30 when 0); with more, and a limit of 320 kB, its partitions
		// outgrow the share and are split again, which the test checks
		buildBatches int
	}{
		{"inner on int, partitions split again", InnerJoin, []int{1}, []int{1}, nil, 35000, 1000, 60},
		{"full on text, partitions split again", FullJoin, []int{3}, []int{3}, nil, 20000, 1000, 60},
		{"inner on int", InnerJoin, []int{1}, []int{1}, nil, 35000, 1000, 0},
		{"inner on text and int, residual", InnerJoin, []int{3, 1}, []int{3, 1}, probeIDAbove(-40000), 35000, 1000, 0},
		{"left on int, residual", LeftJoin, []int{1}, []int{1}, probeIDAbove(-45000), 35000, 1000, 0},
		{"full on text", FullJoin, []int{3}, []int{3}, probeIDAbove(-50000), 20000, 1000, 0},
		{"semi on skewed key", SemiJoin, []int{2}, []int{2}, nil, 15000, 1000, 0},
		{"anti on text", AntiJoin, []int{3}, []int{3}, nil, 15000, 1000, 0},
		{"not in, NULLs on both sides", NullAwareAntiJoin, []int{1}, []int{2}, nil, 15000, 0, 0},
		{"not in, no NULL in build", NullAwareAntiJoin, []int{2}, []int{1}, nil, 15000, 10, 0},
		{"semi building on the left", BuildSemiJoin, []int{1}, []int{1}, probeIDAbove(-40000), 15000, 1000, 0},
		{"anti building on the left", BuildAntiJoin, []int{1}, []int{1}, probeIDAbove(-40000), 15000, 1000, 0},
	} {
		for _, parts := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d partitions", tc.name, parts), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				probe := spillInput(mem, parts, 50, 1000, 0, 60013)
				defer probe.release()
				buildBatches := max(tc.buildBatches, 30)
				build := spillInput(mem, 2, buildBatches, 1000, tc.buildFirst, 60013)
				defer build.release()
				if tc.kind.emitsBuildRows() {
					// it builds on its smaller side
					probe, build = build, probe
				}
				root, err := spill.OpenRoot(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				run := func(limit int64) ([]string, *HashJoin, *QueryAllocator) {
					env, qa, done := spillEnv(t, mem, limit, root)
					defer done()
					j := joinPlan(env, tc.kind, probe, build, tc.pk, tc.bk, tc.extra)
					defer j.Release()
					return drainRows(t, j), j, qa
				}
				want, plain, _ := run(0)
				limit := int64(1 << 20)
				if tc.buildBatches > 0 {
					limit = 320 << 10
				}
				got, spilled, qa := run(limit)
				if plain.SpilledBytes() != 0 {
					t.Errorf("the unlimited join spilled %d bytes", plain.SpilledBytes())
				}
				if spilled.SpilledBytes() == 0 {
					t.Errorf("the join under %d bytes did not spill", limit)
				}
				// a first level writes at most aggFanout files a side
				if split := spilled.stats.files.Load() > 2*aggFanout; split != (tc.buildBatches > 0) {
					t.Errorf("%d spill files: split again %v, want %v", spilled.stats.files.Load(), split, tc.buildBatches > 0)
				}
				if err := qa.Exceeded(); err != nil {
					t.Errorf("the spilling join passed its limit: %v", err)
				}
				if qa.Held() != 0 {
					t.Errorf("the statement still holds %d bytes", qa.Held())
				}
				if len(want) < tc.minRows {
					t.Fatalf("only %d rows", len(want))
				}
				nulls := 0
				for _, r := range want {
					if strings.Contains(r, "<nil>") {
						nulls++
					}
				}
				if nulls == 0 && tc.minRows > 0 {
					t.Errorf("no row with a NULL: the test misses them")
				}
				sameRows(t, got, want)
			})
		}
	}
}

// keyColumns is src's columns cols as an operator of its own.
func keyColumns(env *Env, src Operator, cols ...int) Operator {
	var exprs []Expr
	var fields []arrow.Field
	for _, c := range cols {
		exprs = append(exprs, spillCol(c))
		fields = append(fields, src.Schema().Field(c))
	}
	return &Project{Env: env, Input: src, Exprs: exprs, Out: arrow.NewSchema(fields, nil)}
}

// TestSetOpSpills: INTERSECT and EXCEPT, with and without ALL, over
// 50,000 rows a side (a skewed int and a text column, NULLs in both,
// many duplicates) under a 1 MB statement limit spill, leave no file,
// and give the rows they give without a limit.
func TestSetOpSpills(t *testing.T) {
	for _, tc := range []struct {
		kind SetOpKind
		all  bool
	}{{Intersect, false}, {Intersect, true}, {Except, false}, {Except, true}} {
		for _, parts := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s all=%v/%d partitions", [...]string{"intersect", "except"}[tc.kind], tc.all, parts), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				left := spillInput(mem, parts, 50, 1000, 0, 60013)
				defer left.release()
				right := spillInput(mem, 2, 50, 1000, 20000, 60013)
				defer right.release()
				root, err := spill.OpenRoot(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				run := func(limit int64) ([]string, *SetOp, *QueryAllocator) {
					env, qa, done := spillEnv(t, mem, limit, root)
					defer done()
					s := &SetOp{Env: env, Kind: tc.kind, All: tc.all, Left: keyColumns(env, left, 2, 3), Right: keyColumns(env, right, 2, 3)}
					return drainRows(t, s), s, qa
				}
				want, plain, _ := run(0)
				got, spilled, qa := run(1 << 20)
				if plain.SpilledBytes() != 0 || spilled.SpilledBytes() == 0 {
					t.Errorf("spilled %d bytes unlimited, %d under 1 MB", plain.SpilledBytes(), spilled.SpilledBytes())
				}
				if err := qa.Exceeded(); err != nil {
					t.Errorf("the spilling set operation passed its limit: %v", err)
				}
				if qa.Held() != 0 {
					t.Errorf("the statement still holds %d bytes", qa.Held())
				}
				if len(want) < 100 {
					t.Fatalf("only %d rows", len(want))
				}
				sameRows(t, got, want)
			})
		}
	}
}

// TestJoinOutputBatchesStayBatchSized joins 3,000 probe rows with 2,000
// build rows on a key of 40 values, each probe row meeting about 50
// build rows: every output record holds at most a batch of rows (in
// memory and spilled), the pairs all come out, and a stream closed
// halfway through a probe batch's pairs leaks nothing.
func TestJoinOutputBatchesStayBatchSized(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	probe := spillInput(mem, 2, 3, 1000, 0, 40)
	defer probe.release()
	build := spillInput(mem, 1, 2, 1000, 5000, 40)
	defer build.release()
	want := 0
	buildCount := map[any]int{}
	for _, b := range build.parts[0] {
		for r := 0; r < int(b.NumRows()); r++ {
			buildCount[DatumAt(b.Column(1), r)]++
		}
	}
	for _, part := range probe.parts {
		for _, b := range part {
			for r := 0; r < int(b.NumRows()); r++ {
				want += buildCount[DatumAt(b.Column(1), r)]
			}
		}
	}
	if want < 100000 {
		t.Fatalf("only %d pairs: the test misses many-to-many keys", want)
	}
	root, err := spill.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, limit := range []int64{0, 256 << 10} {
		env, _, done := spillEnv(t, mem, limit, root)
		j := joinPlan(env, InnerJoin, probe, build, []int{1}, []int{1}, nil)
		got := 0
		eachBatch(t, j, func(b arrow.Record) {
			if b.NumRows() > int64(env.BatchSize) {
				t.Errorf("limit %d: a record of %d rows, batches are %d", limit, b.NumRows(), env.BatchSize)
			}
			got += int(b.NumRows())
		})
		if got != want {
			t.Errorf("limit %d: %d rows, want %d", limit, got, want)
		}
		// one record, then close: the rest of its probe batch's pairs go
		st, err := j.Open(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		st.Close()
		j.Release()
		done()
	}
}
