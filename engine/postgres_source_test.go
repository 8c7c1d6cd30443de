package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/pgsource/pgtest"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestPostgresSource reads a real PostgreSQL server's tables and queries
// through postgres_scan and postgres_query and compares every value with
// what the server itself prints.
func TestPostgresSource(t *testing.T) {
	conn := pgtest.Start(t)
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	for _, sql := range []string{
		"SET TimeZone = 'UTC'",
		`CREATE TABLE src (id int PRIMARY KEY, i2 smallint, i8 bigint, f4 real, f8 double precision, n numeric(12,3),
			t text, vc varchar(10), ch char(3), b bytea, d date, tm time, ts timestamp, tz timestamptz, iv interval,
			bo boolean, u uuid, j jsonb, "Mixed Case" int)`,
		`INSERT INTO src SELECT g, (g % 30000)::smallint, g::bigint * 1000003, g / 7.0, g / 3.0, g / 8.0,
			CASE WHEN g % 5 = 0 THEN NULL ELSE 'tëxt ' || g END, 'v' || (g % 1000), 'c' || (g % 10),
			decode(lpad(to_hex(g), 8, '0'), 'hex'), date '2000-01-01' + g, time '00:00' + g * interval '1 second',
			timestamp '2020-02-29 12:00' + g * interval '1 minute', timestamptz '2020-01-01 00:00+00' + g * interval '1 hour',
			make_interval(months => g % 13, days => g % 31, secs => g % 61), g % 2 = 0,
			md5(g::text)::uuid, jsonb_build_object('k', g), -g
			FROM generate_series(1, 30000) g`,
		"INSERT INTO src (id) VALUES (0)",
		// infinities travel in PostgreSQL's binary form as the integer extremes
		"INSERT INTO src (id, d, ts, tz) VALUES (-1, 'infinity', '-infinity', 'infinity'), (-2, '-infinity', 'infinity', '-infinity')",
		"ANALYZE src",
	} {
		if _, err := pg.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	s := openChecked(t, engine.Options{Partitions: 4})
	lit := "'" + conn + "'"
	scan := "postgres_scan(" + lit + ", 'public.src')"
	cols := "id, i2, i8, f4, f8, n, t, vc, ch, b, d, tm, ts, tz, iv, bo, u, j, \"Mixed Case\""

	t.Run("every type, every value", func(t *testing.T) {
		// one row in 97, so the comparison also exercises a pushed filter
		got := rows(t, s, "SELECT "+cols+" FROM "+scan+" WHERE id % 97 = 0 OR id <= 0 ORDER BY id")
		want := pgRows(t, pg, "SELECT "+cols+" FROM src WHERE id % 97 = 0 OR id <= 0 ORDER BY id")
		if len(got) != len(want) || len(got) < 300 {
			t.Fatalf("got %d rows, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d:\n got %s\nwant %s", i, got[i], want[i])
			}
		}
	})
	t.Run("parallel ranges cover the table once", func(t *testing.T) {
		plan := strings.Join(rows(t, s, "EXPLAIN SELECT count(*) FROM "+scan), "\n")
		if !strings.Contains(plan, "ranges: 4") {
			t.Errorf("want the table read in 4 ranges:\n%s", plan)
		}
		got := rows(t, s, "SELECT count(*), sum(id), count(DISTINCT id), sum(i8), count(t) FROM "+scan)
		want := pgRows(t, pg, "SELECT count(*), sum(id), count(DISTINCT id), sum(i8), count(t) FROM src")
		if got[0] != want[0] {
			t.Errorf("got %s, want %s", got[0], want[0])
		}
	})
	t.Run("filters and projections are pushed down", func(t *testing.T) {
		q := "SELECT id, t FROM " + scan + " WHERE id BETWEEN 10 AND 20 AND vc = 'v16' AND t LIKE 'tëxt%'"
		plan := strings.Join(rows(t, s, "EXPLAIN "+q), "\n")
		for _, want := range []string{"remote filter", "q.c1 >= '10'::integer", "q.c8 = 'v16'", "LIKE"} {
			if !strings.Contains(plan, want) {
				t.Errorf("plan lacks %q:\n%s", want, plan)
			}
		}
		if got := rows(t, s, q); len(got) != 1 || got[0] != "16|tëxt 16" {
			t.Errorf("got %v", got)
		}
		// ordering text depends on collation: evaluated here, still right
		q = "SELECT count(*) FROM " + scan + " WHERE t < 'tëxt 2' AND id < 100"
		plan = strings.Join(rows(t, s, "EXPLAIN "+q), "\n")
		if strings.Contains(plan, "q.c7 <") {
			t.Errorf("a text ordering was pushed down:\n%s", plan)
		}
		if got, want := rows(t, s, q), pgRows(t, pg, "SELECT count(*) FROM src WHERE t < 'tëxt 2' COLLATE \"C\" AND id < 100"); got[0] != want[0] {
			t.Errorf("got %s, want %s", got[0], want[0])
		}
	})
	t.Run("queries, joins and loads", func(t *testing.T) {
		q := "SELECT * FROM postgres_query(" + lit + ", 'SELECT id, upper(t) AS t, id * 2 AS id FROM src WHERE id BETWEEN 0 AND 3') q ORDER BY 1"
		if got := strings.Join(rows(t, s, q), ","); got != "0|NULL|0,1|TëXT 1|2,2|TëXT 2|4,3|TëXT 3|6" {
			t.Errorf("postgres_query: %s", got)
		}
		mustExec(t, s, "CREATE TABLE local (id int, tag text)")
		mustExec(t, s, "INSERT INTO local VALUES (5, 'five'), (6, 'six'), (100000, 'none')")
		if got := strings.Join(rows(t, s, "SELECT l.tag, r.vc FROM local l JOIN "+scan+" r ON r.id = l.id ORDER BY l.id"), ","); got != "five|v5,six|v6" {
			t.Errorf("join: %s", got)
		}
		mustExec(t, s, "CREATE TABLE copied AS SELECT * FROM "+scan)
		if got, want := rows(t, s, "SELECT count(*), sum(n), max(tz) FROM copied"), pgRows(t, pg, "SELECT count(*), sum(n), max(tz) FROM src"); got[0] != want[0] {
			t.Errorf("CREATE TABLE AS: got %s, want %s", got[0], want[0])
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct{ sql, code string }{
			{"SELECT * FROM postgres_scan(" + lit + ", 'public.nope')", "42P01"},
			{"SELECT * FROM postgres_query(" + lit + ", 'SELEC 1')", "42601"},
			{"SELECT * FROM postgres_query(" + lit + ", 'SELECT 1/0')", "22012"},
			{"SELECT * FROM postgres_scan('postgres://weft@127.0.0.1:1/postgres?sslmode=disable', 'src')", "08001"},
			{"SELECT * FROM postgres_scan('not a url ://', 'src')", "22023"},
			{"SELECT * FROM postgres_scan(" + lit + ")", "42883"},
		} {
			_, err := s.Query(context.Background(), c.sql)
			var e *sqlerr.Error
			if !errors.As(err, &e) || e.Code != c.code {
				t.Errorf("%s: got %v, want SQLSTATE %s", c.sql, err, c.code)
			}
		}
	})
}

// pgRows runs a query on the real server and renders rows like rows(),
// from the server's own text output.
func pgRows(t *testing.T, pg *pgx.Conn, sql string) []string {
	t.Helper()
	rs, err := pg.Query(context.Background(), sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		vals := rs.RawValues()
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = string(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}
