package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// wantState runs sql and checks that it fails with SQLSTATE code.
func wantState(t *testing.T, s *Session, sql, code string) {
	t.Helper()
	var se *sqlerr.Error
	if err := execSQL(t, s, sql); !errors.As(err, &se) || se.Code != code {
		t.Errorf("%s: %v, want %s", sql, err, code)
	}
}

// TestBoundViewsSurviveReopen: views and materialized views keep their
// creation-time binding (schema-qualified relations, expanded *) and
// follow renames across a reopen of the data directory.
func TestBoundViewsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	for _, q := range []string{
		"CREATE SCHEMA a",
		"CREATE SCHEMA b",
		"CREATE TABLE a.t (x int, y text)",
		"INSERT INTO a.t VALUES (1, 'one'), (2, 'two')",
		"SET search_path = b, a",
		"CREATE VIEW a.v AS SELECT * FROM t",
		"CREATE MATERIALIZED VIEW a.m AS SELECT * FROM t WHERE x > 1",
		"CREATE TABLE b.t (x int, y text)",
		"INSERT INTO b.t VALUES (10, 'ten')",
	} {
		mustSQL(t, s, q)
	}
	s.Close()
	closeClean(t, db, mem)

	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	mustSQL(t, s, "SET search_path = b, a")
	if got := one(t, s, "SELECT string_agg(y, ',' ORDER BY x) FROM a.v"); got != "one,two" {
		t.Errorf("view after reopen: %q, want a.t's rows", got)
	}
	mustSQL(t, s, "ALTER TABLE a.t ADD COLUMN z int")
	mustSQL(t, s, "ALTER TABLE a.t RENAME COLUMN y TO label")
	mustSQL(t, s, "BEGIN; ALTER TABLE a.t RENAME TO renamed; COMMIT")
	s.Close()
	crash(t, db, mem) // the committed renames are stored without a clean close

	db, mem = openWALTest(t, dir)
	defer closeClean(t, db, mem)
	s = db.NewSession()
	defer s.Close()
	mustSQL(t, s, "REFRESH MATERIALIZED VIEW a.m")
	if got := one(t, s, "SELECT * FROM a.m"); got != "2|two" {
		t.Errorf("materialized view after ADD COLUMN and renames: %q", got)
	}
	if got := one(t, s, "SELECT string_agg(y, ',' ORDER BY x) FROM a.v"); got != "one,two" {
		t.Errorf("view after renames: %q", got)
	}
	if def := one(t, s, "SELECT pg_get_viewdef('a.v'::regclass)"); !strings.Contains(def, "label") || !strings.Contains(def, "a.renamed") {
		t.Errorf("pg_get_viewdef after renames: %q", def)
	}
	wantState(t, s, "DROP TABLE a.renamed", sqlerr.DependentObjects)
	wantState(t, s, "ALTER TABLE a.renamed DROP COLUMN label", sqlerr.DependentObjects)
	wantState(t, s, "ALTER TABLE a.renamed ALTER COLUMN x TYPE bigint", sqlerr.FeatureNotSupported)
	mustSQL(t, s, "ALTER TABLE a.renamed DROP COLUMN z")
}

// TestViewsStoredAsTextStillWork: a view or materialized view stored by
// an older version (its query as the user wrote it, names unqualified)
// still opens and is read, DROP finds it depending on what its names
// resolve to, and a rename rewrites it into the bound form.
func TestViewsStoredAsTextStillWork(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, 'y')")
	mustSQL(t, s, "CREATE MATERIALIZED VIEW old_m AS SELECT a FROM t")
	mustSQL(t, s, "CREATE VIEW old_v AS SELECT 1")
	// what older versions stored: the text as written
	db.cat.SetViewSQL("public", "old_v", "SELECT * FROM t WHERE a > 1")
	m, _, _ := db.cat.Lookup("public", "old_m", nil)
	m.Lock()
	m.MatView = "SELECT a FROM t"
	m.Unlock()
	mustSQL(t, s, "CREATE TABLE stored_with_them (x int)") // a checkpoint stores them
	s.Close()
	closeClean(t, db, mem)

	db, mem = openWALTest(t, dir)
	defer closeClean(t, db, mem)
	s = db.NewSession()
	defer s.Close()
	if def := one(t, s, "SELECT pg_get_viewdef('old_v'::regclass)"); strings.Contains(def, "public.") {
		t.Fatalf("the view was stored bound: %q", def)
	}
	if got := one(t, s, "SELECT * FROM old_v"); got != "2|y" {
		t.Errorf("old view after reopen: %q", got)
	}
	wantState(t, s, "DROP TABLE t", sqlerr.DependentObjects)
	wantState(t, s, "ALTER TABLE t DROP COLUMN b", sqlerr.DependentObjects) // (old_v's * reads it)
	mustSQL(t, s, "ALTER TABLE t RENAME COLUMN b TO bee")
	mustSQL(t, s, "ALTER TABLE t RENAME TO t2")
	if got := one(t, s, "SELECT * FROM old_v"); got != "2|y" {
		t.Errorf("old view after renames: %q", got)
	}
	if def := one(t, s, "SELECT pg_get_viewdef('old_v'::regclass)"); !strings.Contains(def, "public.t2") {
		t.Errorf("old view's text after the rename: %q", def)
	}
	mustSQL(t, s, "ALTER TABLE t2 RENAME COLUMN bee TO b")
	mustSQL(t, s, "REFRESH MATERIALIZED VIEW old_m")
	if got := one(t, s, "SELECT count(*) FROM old_m"); got != "2" {
		t.Errorf("old materialized view after REFRESH: %q", got)
	}
}

// TestBrokenStoredViewDoesNotBlockDDL: a stored query that no longer
// binds (a view stored before queries were bound, whose names now
// resolve nowhere) neither blocks nor breaks DDL on the table its text
// names.
func TestBrokenStoredViewDoesNotBlockDDL(t *testing.T) {
	db, mem := openWALTest(t, t.TempDir())
	defer closeClean(t, db, mem)
	s := db.NewSession()
	defer s.Close()
	mustSQL(t, s, "CREATE TABLE t (a int, b int)")
	mustSQL(t, s, "CREATE VIEW old_v AS SELECT 1")
	db.cat.SetViewSQL("public", "old_v", "SELECT a, nosuch FROM t")
	mustSQL(t, s, "ALTER TABLE t RENAME COLUMN a TO a2")
	mustSQL(t, s, "ALTER TABLE t DROP COLUMN b")
	wantState(t, s, "SELECT * FROM old_v", sqlerr.UndefinedColumn)
}
