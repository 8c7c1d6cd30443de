package engine_test

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
)

// TestRecursiveUnderLimitLetsGo: a recursive CTE read part way (a LIMIT
// stops it mid-round, or EXISTS after one row) lets go of every round it
// made, the pending rows and the work table (checked allocator; the
// answers are PostgreSQL 15's).
func TestRecursiveUnderLimitLetsGo(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 2, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, "CREATE TABLE seeds (n int); INSERT INTO seeds SELECT g FROM generate_series(1, 10) g; INSERT INTO seeds VALUES (NULL)")
	cases := map[string]string{
		"WITH RECURSIVE t(n) AS (SELECT n FROM seeds UNION ALL SELECT n + 100 FROM t) SELECT count(*) FROM (SELECT n FROM t LIMIT 37) s": "37",
		"WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT n + 1 FROM t) SELECT EXISTS (SELECT 1 FROM t WHERE n > 50)":                       "t",
		"WITH RECURSIVE t(n) AS (SELECT n FROM seeds UNION SELECT n + 1 FROM t WHERE n < 30) SELECT count(*) FROM t":                     "31",
	}
	for q, want := range cases {
		if got := rows(t, s, q); len(got) != 1 || got[0] != want {
			t.Errorf("%s = %v, want %s", q, got, want)
		}
	}
}
