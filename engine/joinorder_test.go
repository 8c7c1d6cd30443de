package engine_test

import (
	"strings"
	"testing"

	"github.com/weftdb/weft/engine"
)

// TestAnalyzeAndEstimates checks that ANALYZE (of one table, of all, and
// as VACUUM ANALYZE) runs, that a missing table is an error, and that
// EXPLAIN shows the join estimate the statistics give: 1,000 fact rows
// whose key takes 10 values, joined to a 10-row table unique on it, make
// 1,000 rows (|L|*|R|/max(distinct)).
func TestAnalyzeAndEstimates(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2})
	mustExec(t, s, `CREATE TABLE fact (k int, v int);
		CREATE TABLE dim (k int PRIMARY KEY, name text);
		INSERT INTO fact SELECT g % 10, g FROM generate_series(1, 600) g;
		INSERT INTO fact SELECT g % 10, g FROM generate_series(601, 1000) g;
		INSERT INTO dim SELECT g, 'd' || g FROM generate_series(0, 9) g`)
	const join = "EXPLAIN SELECT count(*) FROM fact, dim WHERE fact.k = dim.k"
	for _, stmt := range []string{"", "ANALYZE fact", "ANALYZE", "VACUUM ANALYZE dim"} {
		if stmt != "" {
			mustExec(t, s, stmt)
		}
		plan := strings.Join(rows(t, s, join), "\n")
		if !strings.Contains(plan, "HashJoin Inner on k = k (build: right) (est. rows=1000)") {
			t.Errorf("after %q, plan lacks the 1000-row estimate:\n%s", stmt, plan)
		}
		if !strings.Contains(plan, "Scan public.dim") || strings.Index(plan, "Scan public.dim") < strings.Index(plan, "Scan public.fact") {
			t.Errorf("after %q, dim is not the build side:\n%s", stmt, plan)
		}
	}
	wantCode(t, s, "ANALYZE nosuch", "42P01")
}
