package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/weftdb/weft/engine"
)

// benchSession opens a database in dir (closed when b ends) and returns
// a session and a function running a statement on it.
func benchSession(b *testing.B, dir string) (*engine.Session, func(string)) {
	db, err := engine.Open(engine.Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s := db.NewSession()
	return s, func(sql string) {
		rs, err := s.Exec(context.Background(), sql)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
}

// BenchmarkClusterGroupBy is a GROUP BY over three million rows run by
// the coordinator alone and with two worker processes (make
// bench-cluster): the workers scan, filter and aggregate their
// partitions partially, and the coordinator merges one row per group and
// partition.
func BenchmarkClusterGroupBy(b *testing.B) {
	dir := b.TempDir()
	s, exec := benchSession(b, dir)
	ctx := context.Background()
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
