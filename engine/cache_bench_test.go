package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCachedScan is a GROUP BY over three million rows, repeated,
// over two copies of one table, one cached (CALL weft.cache) and one
// not, run alternately so that both see the same machine load: on the
// coordinator alone and with two worker processes. It reports each
// one's mean time and cached/uncached. Uncached, the segments are
// memory-mapped and stay mapped between queries, so the cache saves
// reading them through the mapping, not disk reads; after a write to
// another table a worker opens the new catalog generation and maps the
// uncached table's segments again, while its cached copy stays.
func BenchmarkCachedScan(b *testing.B) {
	dir := b.TempDir()
	s, exec := benchSession(b, dir)
	ctx := context.Background()
	for _, name := range []string{"big_plain", "big_cached"} {
		exec(fmt.Sprintf(`CREATE TABLE %s (a int, g int, c float8)`, name))
		exec(fmt.Sprintf(`INSERT INTO %s SELECT i, i %% 1000, (i %% 97)::float8 FROM generate_series(1, 3000000) i`, name))
	}
	exec(`CHECKPOINT`)
	query := func(table string) time.Duration {
		start := time.Now()
		res, err := s.Query(ctx, fmt.Sprintf(`SELECT g, count(*), sum(a), min(c), max(c) FROM %s WHERE c <> 13 GROUP BY g`, table))
		if err != nil {
			b.Fatal(err)
		}
		if res.NumRows() != 1000 {
			b.Fatalf("%d groups, want 1000", res.NumRows())
		}
		res.Release()
		return time.Since(start)
	}
	exec(`CREATE TABLE other (x int)`)
	// writeElsewhere, when set, checkpoints a write to another table
	// before each pair of queries: the workers open the new catalog
	// generation, and the segments of the uncached table again
	writeElsewhere := false
	run := func(b *testing.B) {
		query("big_plain") // segments mapped, workers' directory opened
		exec(`CALL weft.cache('big_cached')`)
		var plain, cached time.Duration
		n := 0
		for b.Loop() {
			if writeElsewhere {
				b.StopTimer()
				exec(`INSERT INTO other VALUES (1)`)
				exec(`CHECKPOINT`)
				b.StartTimer()
			}
			plain += query("big_plain")
			cached += query("big_cached")
			n++
		}
		exec(`CALL weft.uncache('big_cached')`)
		b.ReportMetric(float64(plain.Milliseconds())/float64(n), "ms/uncached")
		b.ReportMetric(float64(cached.Milliseconds())/float64(n), "ms/cached")
		b.ReportMetric(float64(cached)/float64(plain), "cached/uncached")
	}
	b.Run("workers=0", run)
	for range 2 {
		w := startWorker(b, dir)
		exec(fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	b.Run("workers=2", run)
	writeElsewhere = true
	b.Run("workers=2/after-a-write-elsewhere", run)
}
