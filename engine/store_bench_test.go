package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
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
			db, err := engine.Open(engine.Options{DataDir: b.TempDir(), Mem: memory.NewGoAllocator()})
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
	db, err := engine.Open(engine.Options{DataDir: filepath.Join(dir, "data"), FilesDir: dir, Mem: memory.NewGoAllocator()})
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
	db, err := engine.Open(engine.Options{DataDir: b.TempDir(), Mem: memory.NewGoAllocator()})
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
			db, err := engine.Open(engine.Options{DataDir: ":memory:", Mem: memory.NewGoAllocator()})
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

// lineitemDDL is TPC-H's lineitem with the spec's types.
const lineitemDDL = `CREATE TABLE lineitem (l_orderkey integer NOT NULL, l_partkey integer NOT NULL,
	l_suppkey integer NOT NULL, l_linenumber integer NOT NULL, l_quantity numeric(15,2) NOT NULL,
	l_extendedprice numeric(15,2) NOT NULL, l_discount numeric(15,2) NOT NULL, l_tax numeric(15,2) NOT NULL,
	l_returnflag char(1) NOT NULL, l_linestatus char(1) NOT NULL, l_shipdate date NOT NULL,
	l_commitdate date NOT NULL, l_receiptdate date NOT NULL, l_shipinstruct char(25) NOT NULL,
	l_shipmode char(10) NOT NULL, l_comment varchar(44) NOT NULL)`

// BenchmarkCopyLineitem measures COPY … (FORMAT csv, DELIMITER '|') of
// 200,000 rows shaped like TPC-H's lineitem into an in-memory table.
func BenchmarkCopyLineitem(b *testing.B) {
	const n = 200_000
	var sb strings.Builder
	modes := []string{"TRUCK", "MAIL", "REG AIR", "AIR", "FOB", "RAIL", "SHIP"}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "%d|%d|%d|%d|%d|%d.%02d|0.%02d|0.0%d|%c|%c|199%d-0%d-1%d|199%d-0%d-2%d|199%d-1%d-0%d|DELIVER IN PERSON|%s|regular courts above the %d\n",
			i/4+1, i*7%200000+1, i%10000+1, i%4+1, i%50+1, i*13%100000, i%100, i%11, i%9,
			"NRA"[i%3], "OF"[i%2], i%8, i%9+1, i%9, i%7, i%9+1, i%8, i%6, i%3, i%9+1, modes[i%7], i)
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lineitem.csv"), []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	db, err := engine.Open(engine.Options{DataDir: ":memory:", FilesDir: dir, Mem: memory.NewGoAllocator()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	if _, err := s.Exec(context.Background(), lineitemDDL); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Exec(context.Background(), "TRUNCATE lineitem; COPY lineitem FROM 'lineitem.csv' (FORMAT csv, DELIMITER '|')"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
}
