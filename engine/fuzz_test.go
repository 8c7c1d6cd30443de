package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

const fuzzSchema = `CREATE TABLE t (a int, b text, c numeric(8,2), d date, e boolean);
CREATE TABLE u (a bigint, f float8, g interval, h timestamp);
INSERT INTO t VALUES (1, 'x', 1.5, '2024-01-01', true), (NULL, NULL, NULL, NULL, NULL);
INSERT INTO u VALUES (1, 2.5, '1 day', '2024-01-01 10:00')`

// FuzzPlan feeds arbitrary text through parse → bind → optimize → plan (as
// EXPLAIN, so nothing runs). Any outcome but a panic is fine; an error must
// be a SQL error with a real SQLSTATE, not XX000 (an internal error is a bug). Seeds live in testdata/fuzz/FuzzPlan.
func FuzzPlan(f *testing.F) {
	for _, seed := range []string{
		"SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 3",
		"SELECT * FROM t JOIN u USING (a) WHERE t.b LIKE 'x%' AND u.f > 1",
		"SELECT a FROM t WHERE a IN (SELECT a FROM u) OR EXISTS (SELECT 1 FROM u WHERE u.a = t.a)",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
		"SELECT sum(a) OVER (PARTITION BY b ORDER BY c ROWS 2 PRECEDING) FROM t",
		"SELECT CASE WHEN e THEN d + 1 ELSE NULL END, h - g FROM t, u",
		"SELECT a::text || b, c * 2, extract(year from d) FROM t UNION ALL SELECT 'x', 1, 2",
		"SELECT (SELECT max(a) FROM u WHERE u.a > t.a) FROM t",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		db, err := engine.Open(engine.Options{Partitions: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s := db.NewSession()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if rs, err := s.Exec(ctx, fuzzSchema); err != nil {
			t.Fatal(err)
		} else {
			release(rs)
		}
		rs, err := s.Exec(ctx, "EXPLAIN "+sql)
		release(rs)
		if err != nil && sqlerr.Code(err) == sqlerr.Internal {
			t.Fatalf("internal error for %q: %v", sql, err)
		}
	})
}

func release(rs []*engine.Result) {
	for _, r := range rs {
		r.Release()
	}
}
