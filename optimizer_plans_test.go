package weft_test

import (
	"strings"
	"testing"

	"github.com/weftdb/weft"
)

// TestOptimizerPlanShapes checks the plan shapes the optimizer's rewrites
// promise (the results themselves are checked against PostgreSQL by the
// testdata/slt/queries/optimizer_*.slt files).
func TestOptimizerPlanShapes(t *testing.T) {
	s := openChecked(t, weft.Options{Partitions: 2})
	mustExec(t, s, `CREATE TABLE li (ok int, pk int, sk int, q int, mode text, rd int, cd int);
		CREATE TABLE pa (pk int, brand text, size int);
		CREATE TABLE ord (ok int, ck int, status text);
		INSERT INTO li VALUES (1, 1, 1, 5, 'AIR', 2, 1), (1, 2, 2, 15, 'RAIL', 1, 2);
		INSERT INTO pa VALUES (1, 'B12', 3), (2, 'B23', 8);
		INSERT INTO ord VALUES (1, 1, 'F')`)
	cases := []struct {
		name    string
		query   string
		want    []string // in this order in the plan
		notWant []string
	}{
		{
			name: "join key shared by OR branches becomes a hash key",
			query: `SELECT count(*) FROM li, pa
				WHERE (pa.pk = li.pk AND pa.brand = 'B12' AND li.q <= 10 AND li.mode = 'AIR')
				   OR (pa.pk = li.pk AND pa.brand = 'B23' AND li.q >= 10 AND li.mode = 'AIR')`,
			want: []string{"HashJoin Inner on", "filter", "Filter ((mode = 'AIR') AND", "Scan public.li",
				"Filter ((brand = 'B12') OR (brand = 'B23'))", "Scan public.pa"},
			notWant: []string{"NestedLoopJoin"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := strings.Join(rows(t, s, "EXPLAIN "+c.query), "\n")
			at := 0
			for _, w := range c.want {
				i := strings.Index(plan[at:], w)
				if i < 0 {
					t.Fatalf("plan lacks %q after offset %d:\n%s", w, at, plan)
				}
				at += i + len(w)
			}
			for _, w := range c.notWant {
				if strings.Contains(plan, w) {
					t.Errorf("plan has %q:\n%s", w, plan)
				}
			}
		})
	}
}
