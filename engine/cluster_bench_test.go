package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

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

// BenchmarkClusterShuffledGroupBy is a GROUP BY over three million rows
// into a thousand, a hundred thousand and a million groups, on two
// worker processes with the final phase merged on the coordinator
// (weft.shuffle_groups above the groups) and shuffled by key across the
// workers (0), and on the coordinator alone (weft.distribute = off),
// round after round so that the modes alternate (make bench-cluster).
func BenchmarkClusterShuffledGroupBy(b *testing.B) {
	dir := b.TempDir()
	s, exec := benchSession(b, dir)
	ctx := context.Background()
	exec(`CREATE TABLE wide (a int, g1k int, g100k int, g1m int, c float8)`)
	exec(`INSERT INTO wide SELECT i, i % 1000, i % 100000, i % 1000000, (i % 97)::float8 FROM generate_series(1, 3000000) i`)
	for range 2 {
		w := startWorker(b, dir)
		exec(fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	modes := []struct{ name, set string }{
		{"one-process", "SET weft.distribute = off"},
		{"merged", "SET weft.shuffle_groups = 1000000000"},
		{"shuffled", "SET weft.shuffle_groups = 0"},
	}
	for _, groups := range []struct {
		col string
		n   int64
	}{{"g1k", 1000}, {"g100k", 100000}, {"g1m", 1000000}} {
		q := fmt.Sprintf(`SELECT %s, count(*), sum(a), min(c), max(c) FROM wide WHERE c <> 13 GROUP BY %[1]s`, groups.col)
		exec(q) // the workers open the directory
		for round := range 3 {
			for _, m := range modes {
				exec("RESET weft.distribute")
				exec("RESET weft.shuffle_groups")
				exec(m.set)
				b.Run(fmt.Sprintf("groups=%d/%s/round=%d", groups.n, m.name, round), func(b *testing.B) {
					for b.Loop() {
						res, err := s.Query(ctx, q)
						if err != nil {
							b.Fatal(err)
						}
						if res.NumRows() != groups.n {
							b.Fatalf("%d groups, want %d", res.NumRows(), groups.n)
						}
						res.Release()
					}
				})
			}
		}
	}
}

// BenchmarkClusterSpilledShuffle is the shuffle's throughput with the
// map outputs in the workers' memory and written to their spill files
// (--shuffle-memory 1kB): a shuffle join of two million rows with
// itself under a count, and a shuffled aggregation into a million
// groups, on two workers of each kind, the kinds alternating round
// after round. MB/s is the bytes the reduce tasks read from map outputs
// (EXPLAIN ANALYZE's shuffled bytes) per second of the query.
func BenchmarkClusterSpilledShuffle(b *testing.B) {
	dir := b.TempDir()
	s, exec := benchSession(b, dir)
	ctx := context.Background()
	exec(`CREATE TABLE wide (a int, g1m int, c float8)`)
	exec(`INSERT INTO wide SELECT i, i % 1000000, (i % 97)::float8 FROM generate_series(1, 2000000) i`)
	kinds := []struct {
		name  string
		addrs []string
	}{{"in-memory", nil}, {"spilled", nil}}
	for range 2 {
		kinds[0].addrs = append(kinds[0].addrs, startWorker(b, dir).addr)
		kinds[1].addrs = append(kinds[1].addrs, startWorker(b, dir, "--spill-dir", b.TempDir(), "--shuffle-memory", "1kB").addr)
	}
	added := map[string]bool{}
	use := func(k int) {
		for other, kind := range kinds {
			for _, addr := range kind.addrs {
				switch {
				case other == k && !added[addr]:
					exec(fmt.Sprintf("CALL weft.add_worker('%s')", addr))
				case other != k && added[addr]:
					exec(fmt.Sprintf("CALL weft.remove_worker('%s')", addr))
				}
				added[addr] = other == k
			}
		}
	}
	queries := []struct{ name, set, sql string }{
		{"join", "SET weft.broadcast_rows = 0", `SELECT count(*), sum(w2.c) FROM wide w1 JOIN wide w2 ON w1.a = w2.a`},
		{"groupby", "SET weft.shuffle_groups = 0", `SELECT g1m, count(*), sum(a), max(c) FROM wide WHERE c <> 13 GROUP BY g1m`},
	}
	for _, q := range queries {
		exec("RESET weft.broadcast_rows")
		exec("RESET weft.shuffle_groups")
		exec(q.set)
		for round := range 3 {
			for k, kind := range kinds {
				use(k)
				shuffled := shuffledBytes(b, s, q.sql)
				b.Run(fmt.Sprintf("%s/%s/round=%d", q.name, kind.name, round), func(b *testing.B) {
					for b.Loop() {
						res, err := s.Query(ctx, q.sql)
						if err != nil {
							b.Fatal(err)
						}
						res.Release()
					}
					b.ReportMetric(float64(shuffled)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
				})
			}
		}
	}
}

// shuffledBytes runs sql under EXPLAIN ANALYZE (which also makes the
// workers open the directory) and reads its stage's shuffled bytes.
func shuffledBytes(b *testing.B, s *engine.Session, sql string) int64 {
	res, err := s.Query(context.Background(), "EXPLAIN ANALYZE "+sql)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Release()
	var total int64
	for _, rec := range res.Batches {
		col := rec.Column(0).(*array.String)
		for i := range col.Len() {
			line := col.Value(i)
			if at := strings.Index(line, "(shuffled rows="); at >= 0 {
				var rows, bytes int64
				if _, err := fmt.Sscanf(line[at:], "(shuffled rows=%d bytes=%d", &rows, &bytes); err == nil {
					total += bytes
				}
			}
		}
	}
	if total == 0 {
		b.Fatalf("%s shuffled nothing", sql)
	}
	return total
}

// BenchmarkClusterParquetSplit reads one Parquet file of three million
// rows (a row group per 8192-row batch) under a GROUP BY: in one process
// as one partition (weft.file_split_rows = 0) and split by row group,
// and split over two worker processes, the modes alternating round
// after round (make bench-cluster).
func BenchmarkClusterParquetSplit(b *testing.B) {
	dir, files := b.TempDir(), b.TempDir()
	db, err := engine.Open(engine.Options{DataDir: dir, FilesDir: files})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s := db.NewSession()
	exec := func(sql string) {
		rs, err := s.Exec(context.Background(), sql)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`CREATE TABLE src AS SELECT i AS a, i % 1000 AS g, (i % 97)::float8 AS c FROM generate_series(1, 3000000) i`)
	exec(`COPY src TO 'big.parquet' (FORMAT parquet)`)
	exec(`DROP TABLE src`)
	for range 2 {
		w := startWorker(b, dir, "--files-dir", files)
		exec(fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	const q = `SELECT g, count(*), sum(a), min(c), max(c) FROM read_parquet('big.parquet') WHERE c <> 13 GROUP BY g`
	modes := []struct{ name, set string }{
		{"one-process-whole", "SET weft.distribute = off; SET weft.file_split_rows = 0"},
		{"one-process-split", "SET weft.distribute = off"},
		{"2-workers-split", "SELECT 1"},
	}
	for round := range 3 {
		for _, m := range modes {
			exec("RESET weft.distribute; RESET weft.file_split_rows")
			exec(m.set)
			exec(q) // (the workers open the directory)
			if round == 0 {
				res, err := s.Query(context.Background(), "EXPLAIN "+q)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%s: %v", m.name, res.Batches[0].Column(0))
				res.Release()
			}
			b.Run(fmt.Sprintf("%s/round=%d", m.name, round), func(b *testing.B) {
				for b.Loop() {
					res, err := s.Query(context.Background(), q)
					if err != nil {
						b.Fatal(err)
					}
					if res.NumRows() != 1000 {
						b.Fatalf("%d groups, want 1000", res.NumRows())
					}
					res.Release()
				}
			})
		}
	}
}
