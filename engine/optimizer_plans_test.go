package engine_test

import (
	"strings"
	"testing"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/udf"
)

// TestOptimizerPlanShapes checks the plan shapes the optimizer's rewrites
// promise (the results themselves are checked against PostgreSQL by the
// testdata/slt/queries/optimizer_*.slt files).
func TestOptimizerPlanShapes(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2})
	mustExec(t, s, `CREATE TABLE li (ok int, pk int, sk int, q int, mode text, rd int, cd int);
		CREATE TABLE pa (pk int, brand text, size int);
		CREATE TABLE ord (ok int, ck int, status text);
		INSERT INTO li VALUES (1, 1, 1, 5, 'AIR', 2, 1), (1, 2, 2, 15, 'RAIL', 1, 2);
		INSERT INTO pa VALUES (1, 'B12', 3), (2, 'B23', 8);
		INSERT INTO ord VALUES (1, 1, 'F');
		CREATE VIEW li_rev AS SELECT sk, sum(q) AS total FROM li GROUP BY sk;
		CREATE VIEW li_plain AS SELECT ok, q FROM li;
		CREATE TABLE big AS SELECT g % 50 AS k FROM generate_series(1, 3000) g;
		CREATE TABLE small (k int); INSERT INTO small VALUES (1), (2);
		CREATE TABLE cust (ck int PRIMARY KEY, nation int); INSERT INTO cust VALUES (1, 1), (2, 1)`)
	cases := []struct {
		name     string
		query    string
		want     []string // in this order in the plan
		anywhere []string // somewhere in the plan
		notWant  []string
	}{
		{
			name: "a count per left-side key of a LEFT JOIN is computed below the join (TPC-H q13)",
			query: `SELECT c_count, count(*) FROM (SELECT cust.ck, count(ord.ok) FROM cust LEFT JOIN ord
				ON cust.ck = ord.ck AND status <> 'X' GROUP BY cust.ck) AS c (ck, c_count) GROUP BY c_count`,
			want: []string{"HashAggregate keys=[c_count]", "COALESCE(count, 0)", "HashJoin Left on ck = ck", "Scan public.cust", "HashAggregate keys=[ck] aggs=[count(ok)]", "Filter (status <> 'X')", "Scan public.ord"},
		},
		{
			name:    "count(*) of a LEFT JOIN counts the unmatched rows: it stays above the join",
			query:   `SELECT cust.ck, count(*) FROM cust LEFT JOIN ord ON cust.ck = ord.ck GROUP BY cust.ck`,
			want:    []string{"HashAggregate keys=[ck] aggs=[count(*)]", "HashJoin Left on ck = ck"},
			notWant: []string{"COALESCE"},
		},
		{
			name:    "a LEFT JOIN grouped by no key of its left side keeps its aggregate above",
			query:   `SELECT nation, count(ord.ok) FROM cust LEFT JOIN ord ON cust.ck = ord.ck GROUP BY nation`,
			want:    []string{"HashAggregate keys=[nation] aggs=[count(ok)]", "HashJoin Left on ck = ck"},
			notWant: []string{"COALESCE"},
		},
		{
			name: "join key shared by OR branches becomes a hash key",
			query: `SELECT count(*) FROM li, pa
				WHERE (pa.pk = li.pk AND pa.brand = 'B12' AND li.q <= 10 AND li.mode = 'AIR')
				   OR (pa.pk = li.pk AND pa.brand = 'B23' AND li.q >= 10 AND li.mode = 'AIR')`,
			want: []string{"HashJoin Inner on", "filter"},
			// which side builds depends on the estimates: each input in
			// either order
			anywhere: []string{"Filter ((mode = 'AIR') AND", "Scan public.li", "Filter ((brand = 'B12') OR (brand = 'B23'))", "Scan public.pa"},
			notWant:  []string{"NestedLoopJoin"},
		},
		{
			name:    "a semi join builds on its left side when that is many times smaller",
			query:   `SELECT count(*) FROM small WHERE EXISTS (SELECT 1 FROM big WHERE big.k = small.k)`,
			want:    []string{"HashJoin BuildSemi on k = k", "Scan public.big", "Scan public.small"},
			notWant: []string{"HashJoin Semi"},
		},
		{
			name:    "an anti join builds on its left side when that is many times smaller",
			query:   `SELECT count(*) FROM small WHERE NOT EXISTS (SELECT 1 FROM big WHERE big.k = small.k)`,
			want:    []string{"HashJoin BuildAnti on k = k", "Scan public.big", "Scan public.small"},
			notWant: []string{"HashJoin Anti"},
		},
		{
			name: "a filter's own columns stop before the join above it",
			query: `SELECT ord.ck, count(li.ok) FROM ord LEFT JOIN li ON ord.ok = li.ok AND li.mode NOT LIKE '%SHIP%'
				GROUP BY ord.ck`,
			want:    []string{"HashJoin Left on ok = ok", "Project ok", "Filter (mode NOT LIKE '%SHIP%')", "Scan public.li"},
			notWant: []string{"Project ok, mode"},
		},
		{
			name: "EXISTS and NOT EXISTS with an inequality become semi and anti hash joins",
			query: `SELECT count(*) FROM li l1 WHERE l1.rd > l1.cd
				AND EXISTS (SELECT * FROM li l2 WHERE l2.ok = l1.ok AND l2.sk <> l1.sk)
				AND NOT EXISTS (SELECT * FROM li l3 WHERE l3.ok = l1.ok AND l3.sk <> l1.sk AND l3.rd > l3.cd)`,
			want:    []string{"HashJoin Anti on ok = ok", "filter (sk <> sk)", "HashJoin Semi on ok = ok", "filter (sk <> sk)"},
			notWant: []string{"EXISTS(subquery)"},
		},
		{
			name: "an IN reading one input of a join filters that input before the join",
			query: `SELECT count(*) FROM li, ord WHERE li.ok = ord.ok
				AND ord.ck IN (SELECT pk FROM pa WHERE brand = 'B12')`,
			want: []string{"HashJoin Inner on", "Semi on ck = pk", "Scan public.ord"},
		},
		{
			name: "IN over a subquery with a correlated scalar aggregate inside",
			query: `SELECT count(*) FROM ord WHERE ck IN (SELECT sk FROM li
				WHERE q > (SELECT 0.5 * sum(q) FROM li l2 WHERE l2.pk = li.pk AND l2.sk = li.sk))`,
			want:    []string{"HashJoin Semi on ck = sk", "HashJoin Left on pk = pk AND sk = sk", "HashAggregate keys=[pk, sk] aggs=[sum(q)]"},
			notWant: []string{"subquery"},
		},
		{
			name:    "a correlated count becomes a grouped count that is 0 for a missing group",
			query:   `SELECT count(*) FROM pa WHERE size = (SELECT count(*) FROM li WHERE li.pk = pa.pk)`,
			want:    []string{"COALESCE(count, 0)", "HashJoin Left on pk = pk", "HashAggregate keys=[pk] aggs=[count(*)]"},
			notWant: []string{"subquery"},
		},
		{
			name: "a CTE named twice is computed once",
			query: `WITH rev AS (SELECT sk, sum(q) AS total FROM li GROUP BY sk)
				SELECT pa.pk, total FROM pa, rev WHERE pa.pk = rev.sk AND total = (SELECT max(total) FROM rev)`,
			want: []string{"CTE Scan rev (computed once", "HashAggregate keys=[sk]"},
		},
		{
			name:  "an aggregating view named twice is computed once",
			query: `SELECT sk, total FROM li_rev WHERE total = (SELECT max(total) FROM li_rev)`,
			want:  []string{"CTE Scan li_rev (computed once", "HashAggregate keys=[sk]"},
		},
		{
			name:    "a view without an aggregate is expanded at each reference",
			query:   `SELECT count(*) FROM li_plain a, li_plain b WHERE a.ok = b.ok`,
			want:    []string{"HashJoin", "Scan public.li", "Scan public.li"},
			notWant: []string{"CTE Scan"},
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
			for _, w := range c.anywhere {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q:\n%s", w, plan)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(plan, w) {
					t.Errorf("plan has %q:\n%s", w, plan)
				}
			}
		})
	}
}

// TestSharedCTEResults runs shared CTEs (read concurrently by a join's two
// sides, by subqueries, and per outer row) on a checked allocator: every
// batch the shared result keeps must be released. Answers from PostgreSQL.
func TestSharedCTEResults(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 3, BatchSize: 4})
	mustExec(t, s, `CREATE TABLE v (k int, x int);
		INSERT INTO v SELECT g % 7, g FROM generate_series(1, 100) g`)
	cases := []struct{ query, want string }{
		{`WITH r AS (SELECT k, sum(x) AS s FROM v GROUP BY k)
			SELECT count(*) FROM r a JOIN r b ON a.k = b.k`, "7"},
		{`WITH r AS (SELECT k, sum(x) AS s FROM v GROUP BY k)
			SELECT k FROM r WHERE s = (SELECT max(s) FROM r)`, "2"},
		{`SELECT count(*) FROM v WHERE x < (WITH r AS (SELECT x FROM v) SELECT max(a.x) FROM r a, r b WHERE a.x = b.x AND a.x < v.k * 3)`, "8"},
	}
	for _, c := range cases {
		got := rows(t, s, c.query)
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: got %v, want %s", c.query, got, c.want)
		}
	}
}

// TestLateralTableFunctionFilters: a condition on the columns left of a
// LATERAL wasm table function filters its input (the function runs for
// fewer rows); one on the function's columns stays above it. (The
// answers are PostgreSQL's in TestClusterTableFunctions' queries.)
func TestLateralTableFunctionFilters(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	mustExec(t, s, "CREATE TABLE docs (id int, body text)")
	mustExec(t, s, "INSERT INTO docs SELECT i, 'a' || i || ' b' FROM generate_series(1, 100) i")
	mustExec(t, s, "CREATE FUNCTION words(text) RETURNS TABLE (w text, n bigint) LANGUAGE wasm AS 'c_tables.wasm', 'split_words' IMMUTABLE")
	const q = `SELECT d.id, w.w FROM docs d, words(d.body) w WHERE d.id % 7 = 0 AND w.n = 2 ORDER BY 1`
	plan := strings.Join(rows(t, s, "EXPLAIN "+q), "\n")
	above, fn, below := strings.Index(plan, "Filter (n = 2)"), strings.Index(plan, "WasmTableFunction words"), strings.Index(plan, "Filter ((id % 7) = 0)")
	if above < 0 || fn < 0 || below < 0 || !(above < fn && fn < below) {
		t.Errorf("want the condition on n above the function and the one on id below it:\n%s", plan)
	}
	if got := rows(t, s, q); len(got) != 14 || got[0] != "7|b" {
		t.Errorf("got %v, want 14 rows from 7|b", got)
	}
}
