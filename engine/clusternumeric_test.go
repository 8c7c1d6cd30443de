package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// wideData fills wn so that each of the four partitions' partial sums of
// v passes numeric's 38 digits (500 values of ±9e37 in each) while the
// sums the queries ask for do not.
var wideData = []string{
	`CREATE TABLE wn (k int, v numeric(38,0), w numeric(30,4))`,
	`INSERT INTO wn SELECT i, CASE WHEN i <= 2000 THEN 90000000000000000000000000000000000000 ELSE -90000000000000000000000000000000000000 END,
	  CASE WHEN i <= 2000 THEN 12345678901234567890123456.7891 ELSE -12345678901234567890123456.7890 END FROM generate_series(1, 4000) i`,
}

var wideQueries = []string{
	`SELECT sum(v), count(*), sum(w) FROM wn`,
	`SELECT k % 2, sum(v), sum(w), count(*) FROM wn GROUP BY 1 ORDER BY 1`,
	`SELECT sum(v), sum(w) FROM wn WHERE k <> 3000`,
	`SELECT k % 1000, sum(v), sum(w) FROM wn GROUP BY 1 ORDER BY 1 LIMIT 5`,
}

// wideAverages' partial sums pass 38 digits, their averages do not. (They
// are checked against one process: PostgreSQL gives an average of
// numerics another display scale than Weft does, in one process as on
// workers.)
var wideAverages = []string{
	`SELECT avg(v), avg(w) FROM wn`,
	`SELECT k % 2, avg(v), avg(w), avg(v + k % 7) FROM wn GROUP BY 1 ORDER BY 1`,
	`SELECT avg(v + k % 7), count(*) FROM wn WHERE k % 5 <> 1`,
}

// TestClusterWideNumericSums: partial sums of numerics past 38 digits
// cross between processes exactly (as Decimal256), so sums and averages
// whose partitions' partial sums overflow numeric give PostgreSQL's
// answers on workers, merged on the coordinator and shuffled; a sum
// that itself passes 38 digits fails with numeric's overflow (22003) as
// it does in one process.
func TestClusterWideNumericSums(t *testing.T) {
	want := postgresRows(t, wideData, wideQueries)
	dir := t.TempDir()
	s := openCoordinator(t, dir, 5*time.Second)
	for _, sql := range wideData {
		mustExec(t, s, sql)
	}
	var averages [][]string
	for _, q := range wideAverages {
		averages = append(averages, rows(t, s, q))
	}
	check := func(label string) {
		t.Helper()
		for i, q := range wideQueries {
			if got := rows(t, s, q); strings.Join(got, "\n") != strings.Join(want[i], "\n") {
				t.Errorf("%s: %s\n got %v\nwant %v", label, q, got, want[i])
			}
		}
		for i, q := range wideAverages {
			if got := rows(t, s, q); strings.Join(got, "\n") != strings.Join(averages[i], "\n") {
				t.Errorf("%s: %s\n got %v\nwant (one process) %v", label, q, got, averages[i])
			}
		}
		const tooBig = `SELECT sum(v) FROM wn WHERE k <= 2001`
		_, err := s.Query(context.Background(), tooBig)
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.NumericOutOfRange {
			t.Errorf("%s: %s: %v, want numeric's overflow (22003)", label, tooBig, err)
		}
	}
	if averages[0][0] != "0.0000000000000000|0.0000500000000000" {
		t.Fatalf("one process: %s: %v", wideAverages[0], averages[0])
	}
	check("one process")
	for range 2 {
		w := startWorker(t, dir)
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	check("2 workers")
	if plan := explainText(t, s, wideQueries[1]); !strings.Contains(plan, "PartialAggregate") || !strings.Contains(plan, "Remote (workers=2") {
		t.Errorf("the sums' partial phase should run on the workers:\n%s", plan)
	}
	mustExec(t, s, "SET weft.shuffle_groups = 0")
	check("2 workers, shuffled")
	if plan := explainText(t, s, wideQueries[1]); !strings.Contains(plan, "Shuffle HashAggregate") {
		t.Errorf("the aggregation should be shuffled:\n%s", plan)
	}
}
