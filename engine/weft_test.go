package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// openChecked opens a database on a checked allocator and, when the test
// ends, closes it and requires every Arrow byte to have been released.
func openChecked(t *testing.T, opts engine.Options) *engine.Session {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	opts.Mem = mem
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		mem.AssertSize(t, 0)
	})
	return db.NewSession()
}

func mustExec(t *testing.T, s *engine.Session, sql string) {
	t.Helper()
	rs, err := s.Exec(context.Background(), sql)
	for _, r := range rs {
		r.Release()
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// rows runs a query and renders each row as its values joined by "|".
func rows(t *testing.T, s *engine.Session, sql string) []string {
	t.Helper()
	res, err := s.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer res.Release()
	var out []string
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			vals := make([]string, len(res.Columns))
			for c, col := range res.Columns {
				d := exec.DatumAt(b.Column(c), i)
				if d == nil {
					vals[c] = "NULL"
				} else {
					vals[c] = types.Format(col.Type, d)
				}
			}
			out = append(out, strings.Join(vals, "|"))
		}
	}
	return out
}

func TestQueries(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 3, BatchSize: 4})
	mustExec(t, s, `CREATE TABLE t (id bigint, g int, s text);
		INSERT INTO t SELECT i, i % 3, 'row' || i FROM generate_series(1, 20) AS x(i)`)
	tests := []struct {
		sql  string
		want []string
	}{
		{"SELECT g, count(*), sum(id) FROM t GROUP BY g ORDER BY g", []string{"0|6|63", "1|7|70", "2|7|77"}},
		{"SELECT s FROM t ORDER BY id DESC LIMIT 2", []string{"row20", "row19"}},
		{"SELECT count(*) FROM t a JOIN t b ON a.id = b.g", []string{"14"}},
		{"SELECT id FROM t WHERE id IN (SELECT g + 10 FROM t) ORDER BY 1", []string{"10", "11", "12"}},
		{"SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM t u WHERE u.id = t.id + 1)", []string{"20"}},
		{"SELECT sum(id) OVER (ORDER BY id ROWS 1 PRECEDING) FROM t ORDER BY id LIMIT 3", []string{"1", "3", "5"}},
		{"SELECT DISTINCT g FROM t ORDER BY g DESC", []string{"2", "1", "0"}},
		{"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n * 2 FROM c WHERE n < 64) SELECT max(n) FROM c", []string{"64"}},
	}
	for _, tt := range tests {
		got := rows(t, s, tt.sql)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s\n got: %q\nwant: %q", tt.sql, got, tt.want)
		}
	}
}

func TestErrorsCarrySQLStateAndPosition(t *testing.T) {
	s := openChecked(t, engine.Options{})
	mustExec(t, s, "CREATE TABLE t (a int, v varchar(3))")
	tests := []struct {
		sql      string
		code     string
		position int
	}{
		{"SELECT x FROM t", "42703", 8},
		{"SELECT * FROM nope", "42P01", 15},
		{"SELEC 1", "42601", 1},
		{"SELECT a FROM t WHERE", "42601", 22},
		{"SELECT nofunc(a) FROM t", "42883", 8},
		{"SELECT 1/0", "22012", 0},
		{"SELECT 2147483647::int + 1", "22003", 0},
		{"INSERT INTO t VALUES (1, 'abcd')", "22001", 0},
		{"SELECT 'x'::int", "22P02", 8},
	}
	for _, tt := range tests {
		_, err := s.Exec(context.Background(), tt.sql)
		var se *sqlerr.Error
		if !errors.As(err, &se) {
			t.Errorf("%s: want a SQL error, got %v", tt.sql, err)
			continue
		}
		if se.Code != tt.code {
			t.Errorf("%s: code %s, want %s (%v)", tt.sql, se.Code, tt.code, err)
		}
		if tt.position > 0 && se.Position != tt.position {
			t.Errorf("%s: position %d, want %d", tt.sql, se.Position, tt.position)
		}
	}
	// the session still works after every error
	if got := rows(t, s, "SELECT count(*) FROM t"); got[0] != "0" {
		t.Errorf("table changed by failed statements: %v", got)
	}
}

func TestFailedStatementChangesNothing(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 16})
	mustExec(t, s, "CREATE TABLE t (a int, v varchar(2)); INSERT INTO t VALUES (1, 'a')")
	for _, sql := range []string{
		"INSERT INTO t SELECT g, CASE WHEN g = 900 THEN 'long' ELSE 'b' END FROM generate_series(1, 1000) g",
		"UPDATE t SET a = a / (a - 1)",
		"DELETE FROM t WHERE 1 / (a - 1) = 0",
	} {
		if _, err := s.Exec(context.Background(), sql); err == nil {
			t.Fatalf("%s: expected an error", sql)
		}
	}
	if got := rows(t, s, "SELECT a, v FROM t"); len(got) != 1 || got[0] != "1|a" {
		t.Errorf("table changed by failed statements: %v", got)
	}
}

func TestExplain(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2})
	mustExec(t, s, "CREATE TABLE a (id int, v int); CREATE TABLE b (id int, w int); INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 2)")
	plan := strings.Join(rows(t, s, "EXPLAIN SELECT v, w FROM a JOIN b ON a.id = b.id WHERE v > 0 ORDER BY w LIMIT 5"), "\n")
	for _, want := range []string{"TopN", "HashJoin", "Filter", "Scan public.a", "Scan public.b"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	// the filter sits below the join, on a's scan
	if strings.Index(plan, "Filter") < strings.Index(plan, "HashJoin") {
		t.Errorf("filter not pushed below the join:\n%s", plan)
	}
	analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE SELECT count(*) FROM a"), "\n")
	if !strings.Contains(analyzed, "actual rows=1") {
		t.Errorf("EXPLAIN ANALYZE lacks row counts:\n%s", analyzed)
	}
}

func TestCancelStopsQuery(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 5})
	// the client's context ending interrupts the statement; the
	// statement's end (its allocator and spill space given back to the
	// session) runs on the statement's goroutine once it stops: it ran on
	// the context's, and go test -race saw it race with the statement
	// (statementError reading the session's allocator)
	for _, stmt := range []string{
		"SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 1000) b",
		"CREATE TABLE cut AS SELECT a, b FROM generate_series(1, 100000000) a, generate_series(1, 1000) b",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := s.Exec(ctx, stmt)
		cancel()
		if sqlerr.Code(err) != sqlerr.QueryCanceled {
			t.Fatalf("%s: want %s, got %v", stmt, sqlerr.QueryCanceled, err)
		}
		if got := rows(t, s, "SELECT 1"); got[0] != "1" {
			t.Errorf("session unusable after cancel: %v", got)
		}
	}
	if got := rows(t, s, "SELECT count(*) FROM pg_class WHERE relname = 'cut'"); got[0] != "0" {
		t.Errorf("the cancelled CREATE TABLE AS left its table: %v", got)
	}
}

// TestCastColumnNames: a cast names its column after the type unless what
// it casts names one (as PostgreSQL's FigureColname).
func TestCastColumnNames(t *testing.T) {
	s := openChecked(t, engine.Options{})
	mustExec(t, s, "CREATE TABLE u (a int)")
	res, err := s.Query(context.Background(), "SELECT 't'::text::varchar, 'u'::regclass::oid, a::text::int, 1::int, (a)::text FROM u")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Release()
	var got []string
	for _, c := range res.Columns {
		got = append(got, c.Name)
	}
	if strings.Join(got, ",") != "varchar,oid,a,int4,a" {
		t.Errorf("column names %v", got)
	}
}
