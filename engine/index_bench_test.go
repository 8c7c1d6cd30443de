package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/types"
)

// keyBenchRows is the table size of the key benchmarks.
const keyBenchRows = 1_000_000

// openKeyBench opens a database (on disk when durable) with a table of
// keyBenchRows accounts keyed by id.
func openKeyBench(b *testing.B, durable bool) *engine.Session {
	b.Helper()
	return openKeyBenchRows(b, durable, keyBenchRows)
}

// openKeyBenchRows is openKeyBench with n accounts.
func openKeyBenchRows(b *testing.B, durable bool, n int) *engine.Session {
	b.Helper()
	opts := engine.Options{Mem: memory.NewGoAllocator()}
	if durable {
		opts.DataDir = b.TempDir()
	}
	db, err := engine.Open(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s := db.NewSession()
	for _, sql := range []string{
		"CREATE TABLE acc (id bigint PRIMARY KEY, branch int, bal bigint, filler text)",
		fmt.Sprintf("INSERT INTO acc SELECT g, g %% 10, 0, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' FROM generate_series(1, %d) g", n),
	} {
		if _, err := s.Exec(context.Background(), sql); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// benchKeyStatement runs a prepared statement with a random key, with
// index scans on and off (off is what every lookup did before indexes
// found rows).
func benchKeyStatement(b *testing.B, durable bool, sql string, params func(id int64) []types.Datum) {
	s := openKeyBench(b, durable)
	ctx := context.Background()
	p, err := s.Prepare(ctx, sql, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"on", "off"} {
		b.Run("indexscan="+mode, func(b *testing.B) {
			if _, err := s.Exec(ctx, "SET enable_indexscan = "+mode); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			run := func() {
				res, err := s.ExecPrepared(ctx, p, params(1+rng.Int64N(keyBenchRows)))
				if err != nil {
					b.Fatal(err)
				}
				res.Release()
			}
			run() // (the first use builds the index)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
		})
	}
}

func BenchmarkSelectByKey1M(b *testing.B) {
	benchKeyStatement(b, false, "SELECT id, branch, bal FROM acc WHERE id = $1::bigint",
		func(id int64) []types.Datum { return []types.Datum{id} })
}

func BenchmarkUpdateByKey1M(b *testing.B) {
	benchKeyStatement(b, false, "UPDATE acc SET bal = bal + $2::bigint WHERE id = $1::bigint",
		func(id int64) []types.Datum { return []types.Datum{id, int64(5)} })
}

func BenchmarkUpdateByKey1MDurable(b *testing.B) {
	benchKeyStatement(b, true, "UPDATE acc SET bal = bal + $2::bigint WHERE id = $1::bigint",
		func(id int64) []types.Datum { return []types.Datum{id, int64(5)} })
}

func BenchmarkDeleteByKey1M(b *testing.B) {
	benchKeyStatement(b, false, "DELETE FROM acc WHERE id = $1::bigint",
		func(id int64) []types.Datum { return []types.Datum{id} })
}

// BenchmarkUpdateByKey10MDurable: the bar, a one-row UPDATE by
// primary key on a 10M-row table, durable (through the log, fsynced);
// it reports the median latency (median-us) beside the mean.
func BenchmarkUpdateByKey10MDurable(b *testing.B) {
	const rows = 10_000_000
	s := openKeyBenchRows(b, true, rows)
	ctx := context.Background()
	p, err := s.Prepare(ctx, "UPDATE acc SET bal = bal + $2::bigint WHERE id = $1::bigint", nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	run := func() {
		res, err := s.ExecPrepared(ctx, p, []types.Datum{1 + rng.Int64N(rows), int64(5)})
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
	run() // (the first use builds the index)
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		run()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "median-us")
	b.ReportMetric(float64(fsyncMedian(b).Microseconds()), "fsync-median-us")
}

// fsyncMedian is the median time of appending 100 bytes to a file and
// fsyncing it, on the benchmark's disk now: the floor under any durable
// commit there.
func fsyncMedian(b *testing.B) time.Duration {
	f, err := os.CreateTemp(b.TempDir(), "fsync")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	took := make([]time.Duration, 200)
	for i := range took {
		start := time.Now()
		if _, err := f.Write(make([]byte, 100)); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		took[i] = time.Since(start)
	}
	slices.Sort(took)
	return took[len(took)/2]
}

// BenchmarkOpenFirstLookup10M: opening a stored 10M-row table and its
// first lookup by primary key, what a restarted server's first request
// pays (page cache warm). The table is made once, in the directory
// WEFT_BENCH_OPEN_DIR names (a temporary one if unset), and checkpointed;
// each iteration opens it, looks one key up and closes it (untimed).
func BenchmarkOpenFirstLookup10M(b *testing.B) {
	const rows = 10_000_000
	dir := os.Getenv("WEFT_BENCH_OPEN_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	ctx := context.Background()
	open := func() (*engine.DB, *engine.Session) {
		db, err := engine.Open(engine.Options{DataDir: dir, Mem: memory.NewGoAllocator()})
		if err != nil {
			b.Fatal(err)
		}
		return db, db.NewSession()
	}
	if _, err := os.Stat(dir + "/catalog.json"); err != nil {
		db, s := open()
		for _, sql := range []string{
			"CREATE TABLE acc (id bigint PRIMARY KEY, branch int, bal bigint, filler text)",
			fmt.Sprintf("INSERT INTO acc SELECT g, g %% 10, 0, 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' FROM generate_series(1, %d) g", rows),
			"CHECKPOINT",
		} {
			if _, err := s.Exec(ctx, sql); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db, s := open()
		res, err := s.Query(ctx, fmt.Sprintf("SELECT bal FROM acc WHERE id = %d", 1+rng.Int64N(rows)))
		if err != nil {
			b.Fatal(err)
		}
		if n := res.Batches; len(n) != 1 || n[0].NumRows() != 1 {
			b.Fatalf("lookup returned %d batches", len(n))
		}
		res.Release()
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}
