package engine_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/weftdb/weft/engine"
)

// TestJoinKeysNarrowProbeFilter: an inner or semi join lends its build
// side's keys to the filter under its probe side, which then passes on
// only rows that can have a partner (EXPLAIN ANALYZE's Filter rows equal
// the join's); a left join does not (every filtered row reaches it). The
// answers themselves are checked against PostgreSQL in
// join_key_filter.slt.
func TestJoinKeysNarrowProbeFilter(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 3, BatchSize: 1000})
	mustExec(t, s, "CREATE TABLE fact (id int, k int, d date)")
	mustExec(t, s, "INSERT INTO fact SELECT g, g % 500, DATE '2024-01-01' + (g % 90) FROM generate_series(1, 9000) g")
	mustExec(t, s, "INSERT INTO fact SELECT g, NULL, DATE '2024-01-20' FROM generate_series(9001, 9100) g")
	mustExec(t, s, "CREATE TABLE dim (k int, name text)")
	mustExec(t, s, "INSERT INTO dim SELECT g, 'n' || g FROM generate_series(0, 499, 37) g")
	const where = "f.d BETWEEN DATE '2024-01-10' AND DATE '2024-02-28'"
	filterRows := func(sql string) (filter, join string) {
		t.Helper()
		plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+sql), "\n")
		rowsOf := regexp.MustCompile(`actual rows=(\d+)`)
		for _, line := range strings.Split(plan, "\n") {
			m := rowsOf.FindStringSubmatch(line)
			switch {
			case m == nil:
			case strings.Contains(line, "HashJoin") && join == "":
				join = m[1]
			case strings.Contains(line, "Filter") && filter == "":
				filter = m[1]
			}
		}
		if filter == "" || join == "" {
			t.Fatalf("no filter or join in the plan:\n%s", plan)
		}
		return filter, join
	}
	if filter, join := filterRows("SELECT count(*) FROM fact f JOIN dim d ON d.k = f.k WHERE " + where); filter != join {
		t.Errorf("inner join: the filter passed on %s rows, the join made %s", filter, join)
	}
	all := rows(t, s, "SELECT count(*) FROM fact f WHERE "+where)[0]
	if filter, _ := filterRows("SELECT count(*) FROM fact f LEFT JOIN dim d ON d.k = f.k WHERE " + where); filter != all {
		t.Errorf("left join: the filter passed on %s rows, want all %s it keeps", filter, all)
	}
}
