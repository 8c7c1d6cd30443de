package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkOLTPStatements runs pgbench's statements one Exec at a time on
// one in-memory session, as pgbench's simple protocol sends them (text
// with literal values): the per-statement CPU and allocations of the
// OLTP path, without the log's syncs. tpcb is one TPC-B transaction per
// op (BEGIN, three UPDATEs, a SELECT, an INSERT, END), select one
// select-only lookup.
func BenchmarkOLTPStatements(b *testing.B) {
	const accounts = 100_000
	db, err := Open(Options{Mem: memory.NewGoAllocator()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	defer s.Close()
	for _, sql := range []string{
		"CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
		"CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
		"CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
		"CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
		"INSERT INTO pgbench_branches SELECT g, 0 FROM generate_series(1, 1) g",
		"INSERT INTO pgbench_tellers SELECT g, 1, 0 FROM generate_series(1, 10) g",
		fmt.Sprintf("INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, %d) g", accounts),
	} {
		if err := execBench(s, sql); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	run := func(b *testing.B, sql string) {
		if err := execBench(s, sql); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("tpcb", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			aid, tid, delta := 1+rng.IntN(accounts), 1+rng.IntN(10), rng.IntN(10001)-5000
			run(b, "BEGIN;")
			run(b, fmt.Sprintf("UPDATE pgbench_accounts SET abalance = abalance + %d WHERE aid = %d;", delta, aid))
			run(b, fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", aid))
			run(b, fmt.Sprintf("UPDATE pgbench_tellers SET tbalance = tbalance + %d WHERE tid = %d;", delta, tid))
			run(b, fmt.Sprintf("UPDATE pgbench_branches SET bbalance = bbalance + %d WHERE bid = %d;", delta, 1))
			run(b, fmt.Sprintf("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%d, %d, %d, %d, CURRENT_TIMESTAMP);", tid, 1, aid, delta))
			run(b, "END;")
		}
	})
	b.Run("select", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			run(b, fmt.Sprintf("SELECT abalance FROM pgbench_accounts WHERE aid = %d;", 1+rng.IntN(accounts)))
		}
	})
}
