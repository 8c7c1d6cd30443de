package weft_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/sql/types"
)

// BenchmarkSingleRowInsert measures durable single-row INSERTs the way an
// ORM issues them (a prepared statement per row), through the write-ahead
// log, next to the same rows committed as segments each time (an INSERT
// with a WITH clause is not a plain append, so it takes that path).
func BenchmarkSingleRowInsert(b *testing.B) {
	for _, path := range []struct{ name, sql string }{
		{"log", "INSERT INTO t VALUES ($1, $2)"},
		{"segments", "WITH v(a, b) AS (SELECT $1::int, $2::text) INSERT INTO t SELECT a, b FROM v"},
	} {
		b.Run(path.name, func(b *testing.B) {
			db, err := weft.Open(weft.Options{DataDir: b.TempDir(), Mem: memory.NewGoAllocator()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s := db.NewSession()
			if _, err := s.Exec(context.Background(), "CREATE TABLE t (a int, b text)"); err != nil {
				b.Fatal(err)
			}
			p, err := s.Prepare(context.Background(), path.sql, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a, _ := types.Parse(p.ParamTypes[0], fmt.Sprint(i))
				t, _ := types.Parse(p.ParamTypes[1], "some text")
				res, err := s.ExecPrepared(context.Background(), p, []types.Datum{a, t})
				if err != nil {
					b.Fatal(err)
				}
				res.Release()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCopyFrom measures COPY FROM a 100,000-row CSV file into a
// durable table (too large for the log: it commits segments).
func BenchmarkCopyFrom(b *testing.B) {
	const n = 100_000
	var sb strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "%d,name %d,%d.5\n", i, i, i%1000)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	db, err := weft.Open(weft.Options{DataDir: filepath.Join(dir, "data"), FilesDir: dir, Mem: memory.NewGoAllocator()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	if _, err := s.Exec(context.Background(), "CREATE TABLE t (a int, b text, c float8)"); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Exec(context.Background(), "COPY t FROM 'in.csv' (FORMAT csv)"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkDurableUpdate measures an UPDATE of one row of a stored
// 1,000,000-row table (which rewrites only that row's segment) next to an
// UPDATE of every row.
func BenchmarkDurableUpdate(b *testing.B) {
	db, err := weft.Open(weft.Options{DataDir: b.TempDir(), Mem: memory.NewGoAllocator()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	if _, err := s.Exec(context.Background(), "CREATE TABLE t (a int, b bigint); INSERT INTO t SELECT g, g FROM generate_series(1, 1000000) g"); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, sql string }{
		{"one-row", "UPDATE t SET b = b + 1 WHERE a = 500000"},
		{"all-rows", "UPDATE t SET b = b + 1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.Exec(context.Background(), c.sql); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeyedInsert measures single-row INSERTs (in memory, so that the
// key check is what is timed) into a table of 200 000 rows with and
// without a primary key.
func BenchmarkKeyedInsert(b *testing.B) {
	for _, ddl := range []struct{ name, sql string }{
		{"no key", "CREATE TABLE t (a int, b text)"},
		{"primary key", "CREATE TABLE t (a int PRIMARY KEY, b text)"},
	} {
		b.Run(ddl.name, func(b *testing.B) {
			db, err := weft.Open(weft.Options{DataDir: ":memory:", Mem: memory.NewGoAllocator()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s := db.NewSession()
			if _, err := s.Exec(context.Background(), ddl.sql+"; INSERT INTO t SELECT g, 'x' FROM generate_series(1, 200000) g"); err != nil {
				b.Fatal(err)
			}
			p, err := s.Prepare(context.Background(), "INSERT INTO t VALUES ($1, $2)", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a, _ := types.Parse(p.ParamTypes[0], fmt.Sprint(300000+i))
				res, err := s.ExecPrepared(context.Background(), p, []types.Datum{a, "y"})
				if err != nil {
					b.Fatal(err)
				}
				res.Release()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
