package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestPLFunctionSurvivesRestart stores a LANGUAGE plpgsql function and
// finds it, still callable and still plpgsql in pg_proc, after the data
// directory is opened again.
func TestPLFunctionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, `CREATE TABLE pl_t (id int, v text);
		INSERT INTO pl_t SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'v' || g END FROM generate_series(1, 100) g;
		CREATE FUNCTION pl_count(lo int, tag text DEFAULT 'n') RETURNS text LANGUAGE plpgsql STABLE AS $$
		DECLARE
			n int := 0;
			r record;
		BEGIN
			FOR r IN SELECT * FROM pl_t WHERE id > lo LOOP
				IF r.v IS NOT NULL THEN n := n + 1; END IF;
			END LOOP;
			RETURN tag || n;
		END $$;
		CREATE TABLE pl_log (n int, m text);
		CREATE FUNCTION pl_write(a int, b int) RETURNS text LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO pl_log VALUES (a, 'before');
			BEGIN
				INSERT INTO pl_log VALUES (a, 'inside');
				RETURN (a / b)::text;
			EXCEPTION WHEN division_by_zero THEN
				RETURN 'caught';
			END;
		END $$`)
	// outside a transaction block: the statement's writes commit with it,
	// the failed block's are undone, and a failing statement keeps none
	mustExec(t, s, "SELECT pl_write(7, 0), pl_write(4, 2)")
	if _, err := s.Exec(context.Background(), "SELECT pl_write(5, 1), 1 / 0"); sqlerr.Code(err) != sqlerr.DivisionByZero {
		t.Fatalf("SELECT pl_write(5, 1), 1 / 0: %v", err)
	}
	want := rows(t, s, "SELECT pl_count(50), pl_count(90, 'x')")
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	got := rows(t, s, "SELECT pl_count(50), pl_count(90, 'x')")
	if len(got) != 1 || got[0] != "n33|x7" || len(want) != 1 || want[0] != got[0] {
		t.Fatalf("after restart %v, before %v, want [n33|x7]", got, want)
	}
	if got := rows(t, s, "SELECT n, m FROM pl_log ORDER BY n, m"); strings.Join(got, ",") != "4|before,4|inside,7|before" {
		t.Fatalf("pl_log after restart: %v", got)
	}
	if lang := rows(t, s, "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.proname = 'pl_count'"); len(lang) != 1 || lang[0] != "plpgsql" {
		t.Fatalf("pg_proc's language of pl_count: %v", lang)
	}
}

// TestPLEndlessLoopIsCancelled runs loops that never end, in a DO block
// and in a function called from a query: statement_timeout ends both
// with 57014 rather than hanging the session.
func TestPLEndlessLoopIsCancelled(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 8})
	mustExec(t, s, `CREATE FUNCTION pl_spin(n int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN
			LOOP
				n := n + 1;
			END LOOP;
		END $$;
		SET statement_timeout = '300ms'`)
	for _, q := range []string{
		"DO $$ BEGIN LOOP END LOOP; END $$",
		"SELECT pl_spin(g) FROM generate_series(1, 3) g",
	} {
		rs, err := s.Exec(context.Background(), q)
		for _, r := range rs {
			r.Release()
		}
		if sqlerr.Code(err) != sqlerr.QueryCanceled {
			t.Errorf("%s: %v, want 57014", q, err)
		}
	}
	if got := rows(t, s, "SELECT 1"); len(got) != 1 || got[0] != "1" {
		t.Fatalf("session after the cancelled loops: %v", got)
	}
}

// TestPLWritesOfAFailedStreamAreUndone reads a query calling a writing
// PL/pgSQL function as a client does, its rows streamed: when the query
// fails part way (the function raises on its third row), what the
// function wrote for the rows before is undone with the statement, as in
// PostgreSQL; a query read to its end keeps them. Before, the streamed
// statement's end committed the function's writes whatever the stream's
// outcome (a client saw the error and the rows stayed).
func TestPLWritesOfAFailedStreamAreUndone(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 2})
	mustExec(t, s, `CREATE TABLE pl_w (x int);
		CREATE FUNCTION pl_w2(v int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO pl_w VALUES (v);
			IF v = 3 THEN RAISE EXCEPTION 'boom %', v; END IF;
			RETURN v;
		END $$`)
	read := func(sql string) error {
		res, err := runOne(s, sql)
		if err != nil {
			return err
		}
		defer res.Release()
		for {
			b, err := res.Next(context.Background())
			if err != nil || b == nil {
				return err
			}
			b.Release()
		}
	}
	if err := read("SELECT pl_w2(g) FROM generate_series(1, 5) g"); sqlerr.Code(err) != "P0001" {
		t.Fatalf("the failing query: %v, want P0001", err)
	}
	if got := rows(t, s, "SELECT count(*) FROM pl_w"); len(got) != 1 || got[0] != "0" {
		t.Fatalf("rows the failed query's function wrote: %v, want none", got)
	}
	if err := read("SELECT pl_w2(g) FROM generate_series(4, 6) g"); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, s, "SELECT string_agg(x::text, ',' ORDER BY x) FROM pl_w"); len(got) != 1 || got[0] != "4,5,6" {
		t.Fatalf("rows a query read to its end wrote: %v, want 4,5,6", got)
	}
}
