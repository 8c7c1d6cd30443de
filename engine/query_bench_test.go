package engine_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
)

// benchQuery times one query over a table an in-memory database fills with
// setup, releasing each result.
func benchQuery(b *testing.B, setup, query string) {
	b.Helper()
	db, err := engine.Open(engine.Options{DataDir: ":memory:", Mem: memory.NewGoAllocator()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	if _, err := s.Exec(context.Background(), setup); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := s.Query(context.Background(), query)
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
}

// BenchmarkWindowRunningSum measures a running sum over 10,000 rows, the
// default frame with ORDER BY (RANGE UNBOUNDED PRECEDING to the current
// row and its peers), and a sliding ROWS frame next to it.
func BenchmarkWindowRunningSum(b *testing.B) {
	const setup = "CREATE TABLE t (k int, x int); INSERT INTO t SELECT g, g % 97 FROM generate_series(1, 10000) g"
	for _, c := range []struct{ name, sql string }{
		{"range-running", "SELECT sum(x) OVER (ORDER BY k) FROM t"},
		{"rows-sliding", "SELECT sum(x) OVER (ORDER BY k ROWS BETWEEN 100 PRECEDING AND 100 FOLLOWING), max(x) OVER (ORDER BY k ROWS BETWEEN 100 PRECEDING AND CURRENT ROW) FROM t"},
	} {
		b.Run(c.name, func(b *testing.B) { benchQuery(b, setup, c.sql) })
	}
}

// BenchmarkStrings measures LIKE, substr and upper over 2,000,000 text
// values (the shape of a TPC-H or ClickBench string filter).
func BenchmarkStrings(b *testing.B) {
	const setup = "CREATE TABLE t (s text); INSERT INTO t SELECT 'Customer#' || (g::bigint * 7919 % 1000003)::text || '-é' FROM generate_series(1, 2000000) g"
	for _, c := range []struct{ name, sql string }{
		{"like-contains", "SELECT count(*) FROM t WHERE s LIKE '%99%'"},
		{"like-prefix", "SELECT count(*) FROM t WHERE s LIKE 'Customer#12%'"},
		{"like-general", "SELECT count(*) FROM t WHERE s LIKE '%9_9%é'"},
		{"ilike", "SELECT count(*) FROM t WHERE s ILIKE '%mer#99%'"},
		{"substr-group", "SELECT substr(s, 10, 2), count(*) FROM t GROUP BY 1"},
		{"length-upper-concat", "SELECT max(length(upper(s) || 'x')) FROM t"},
	} {
		b.Run(c.name, func(b *testing.B) { benchQuery(b, setup, c.sql) })
	}
}
