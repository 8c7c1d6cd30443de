package exec

import (
	"context"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/types"
)

// spillBenchLimits are the statement limits the spill benchmarks compare:
// none, and one many times smaller than their state.
var spillBenchLimits = []struct {
	name  string
	bytes int64
}{{"limit=none", 0}, {"limit=4MB", 4 << 20}}

// benchEnv is an environment with a statement limit of limit bytes
// (none: 0) spilling under dir, and what removes its files after.
func benchEnv(b *testing.B, mem memory.Allocator, limit int64, root *spill.Root) (*Env, func()) {
	env := NewEnv(mem, 8192, 2)
	if limit == 0 {
		return env, func() {}
	}
	qa := NewQueryAllocator(mem, QueryLimit{Bytes: limit, Setting: "weft.memory_limit"}, nil, nil)
	q := root.NewQuery()
	env.Mem, env.Memory, env.Spill = qa, qa, q
	return env, func() {
		if err := qa.Exceeded(); err != nil {
			b.Fatal(err)
		}
		q.Remove()
	}
}

// drainCount reads all of op's partitions and counts the rows.
func drainCount(b *testing.B, op Operator) int64 {
	ctx := context.Background()
	var n int64
	for p := 0; p < op.Partitions(); p++ {
		st, err := op.Open(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := st.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n += rec.NumRows()
			rec.Release()
		}
		st.Close()
	}
	return n
}

// BenchmarkGroupBySpill: SELECT g, count(*), sum(v), min(s) … GROUP BY g
// over 1,000,000 rows in two partitions with about 250,000 groups,
// without a limit and under one that makes it spill.
func BenchmarkGroupBySpill(b *testing.B) {
	mem := memory.NewGoAllocator()
	src := spillInput(mem, 2, 125, 8000, 0, 250007)
	defer src.release()
	root, err := spill.OpenRoot(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, lim := range spillBenchLimits {
		b.Run(lim.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				env, done := benchEnv(b, mem, lim.bytes, root)
				aggs := []AggSpec{aggSpec(b, "count", -1, types.T{}), aggSpec(b, "sum", 4, spillInputTypes[4]), aggSpec(b, "min", 3, types.TextT)}
				h := aggPlan(env, src, []Expr{spillCol(1)}, aggs)
				if n := drainCount(b, h); n != 250007 {
					b.Fatalf("%d groups", n)
				}
				b.ReportMetric(float64(h.SpilledBytes())/float64(1<<20), "MBspilled")
				done()
			}
		})
	}
}

// BenchmarkHashJoinSpill: an inner join of 1,000,000 probe rows with
// 300,000 build rows on an int key, without a limit and under one that
// makes it spill.
func BenchmarkHashJoinSpill(b *testing.B) {
	mem := memory.NewGoAllocator()
	probe := spillInput(mem, 2, 125, 8000, 0, 400009)
	defer probe.release()
	build := spillInput(mem, 2, 30, 10000, 500000, 400009)
	defer build.release()
	root, err := spill.OpenRoot(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var want int64
	for _, lim := range spillBenchLimits {
		b.Run(lim.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				env, done := benchEnv(b, mem, lim.bytes, root)
				j := joinPlan(env, InnerJoin, probe, build, []int{1}, []int{1}, nil)
				n := drainCount(b, j)
				if want == 0 {
					want = n
				} else if n != want {
					b.Fatalf("%d rows, want %d", n, want)
				}
				b.ReportMetric(float64(j.SpilledBytes())/float64(1<<20), "MBspilled")
				j.Release()
				done()
			}
		})
	}
}
