package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftdb/weft/engine"
)

// BenchmarkClusterGroupBy is a GROUP BY over three million rows run by
// the coordinator alone and with two worker processes scanning (make
// bench-cluster). With phase 1's split, the workers scan and filter and
// the coordinator aggregates every row they send: the figure is the cost
// of the exchange, not yet a speed-up.
func BenchmarkClusterGroupBy(b *testing.B) {
	dir := b.TempDir()
	db, err := engine.Open(engine.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	ctx := context.Background()
	exec := func(sql string) {
		rs, err := s.Exec(ctx, sql)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE big (a int, g int, c float8)`)
	exec(`INSERT INTO big SELECT i, i % 1000, (i % 97)::float8 FROM generate_series(1, 3000000) i`)
	const q = `SELECT g, count(*), sum(a), min(c), max(c) FROM big WHERE c <> 13 GROUP BY g`
	run := func(b *testing.B) {
		for b.Loop() {
			res, err := s.Query(ctx, q)
			if err != nil {
				b.Fatal(err)
			}
			if res.NumRows() != 1000 {
				b.Fatalf("%d groups, want 1000", res.NumRows())
			}
			res.Release()
		}
	}
	b.Run("workers=0", run)
	for range 2 {
		w := startWorker(b, dir)
		exec(fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	exec(q) // the workers open the directory
	b.Run("workers=2", run)
}
