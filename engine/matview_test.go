package engine

import (
	"errors"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// TestMaterializedViewsSurviveReopen: a materialized view's query and
// whether it is populated are stored with it, so after a restart it still
// refuses writes, REFRESH still runs its query, and one left WITH NO DATA
// is still unreadable; a REFRESH rolled back leaves rows and state as
// they were; WITH (weft.cache = 'memory') caches it as a table.
func TestMaterializedViewsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE src (id int, grp text)")
	for _, q := range []string{
		"INSERT INTO src SELECT g, 'g' || (g % 4) FROM generate_series(1, 500) g",
		"INSERT INTO src SELECT g, NULL FROM generate_series(501, 520) g",
		"CREATE MATERIALIZED VIEW counts WITH (weft.cache = 'memory') AS SELECT grp, count(*) AS n FROM src GROUP BY grp",
		"CREATE MATERIALIZED VIEW later AS SELECT max(id) AS top FROM src WITH NO DATA",
		"INSERT INTO src VALUES (521, 'g1')",
	} {
		mustSQL(t, s, q)
	}
	if got := one(t, s, "SELECT n FROM counts WHERE grp = 'g1'"); got != "125" {
		t.Fatalf("before REFRESH: %s", got)
	}
	one(t, s, "SELECT count(*) FROM (SELECT * FROM counts) c")
	if got := one(t, s, "SELECT count(DISTINCT relation) FROM weft.cached WHERE relation = 'public.counts'"); got != "1" {
		t.Errorf("weft.cached: %q", got)
	}
	s.Close()
	closeClean(t, db, mem)

	db, mem = openWALTest(t, dir)
	defer closeClean(t, db, mem)
	s = db.NewSession()
	defer s.Close()
	wantCode := func(sql, code string) {
		t.Helper()
		var se *sqlerr.Error
		if err := execSQL(t, s, sql); !errors.As(err, &se) || se.Code != code {
			t.Errorf("%s: %v, want %s", sql, err, code)
		}
	}
	wantCode("INSERT INTO counts VALUES ('x', 1)", sqlerr.WrongObjectType)
	wantCode("SELECT * FROM later", sqlerr.ObjectNotInPrerequisiteState)
	if got := one(t, s, "SELECT n FROM counts WHERE grp = 'g1'"); got != "125" {
		t.Errorf("after reopen: %s", got)
	}
	mustSQL(t, s, "BEGIN; REFRESH MATERIALIZED VIEW counts; REFRESH MATERIALIZED VIEW later")
	if got := one(t, s, "SELECT n FROM counts WHERE grp = 'g1'"); got != "126" {
		t.Errorf("refreshed in the block: %s", got)
	}
	if got := one(t, s, "SELECT top FROM later"); got != "521" {
		t.Errorf("populated in the block: %s", got)
	}
	mustSQL(t, s, "ROLLBACK")
	if got := one(t, s, "SELECT n FROM counts WHERE grp = 'g1'"); got != "125" {
		t.Errorf("after ROLLBACK: %s", got)
	}
	wantCode("SELECT * FROM later", sqlerr.ObjectNotInPrerequisiteState)
	mustSQL(t, s, "REFRESH MATERIALIZED VIEW counts; REFRESH MATERIALIZED VIEW later")
	if got := one(t, s, "SELECT n FROM counts WHERE grp IS NULL"); got != "20" {
		t.Errorf("NULL group after REFRESH: %s", got)
	}
	if got := one(t, s, "SELECT top FROM later"); got != "521" {
		t.Errorf("later after REFRESH: %s", got)
	}
	if got := one(t, s, "SELECT relkind FROM pg_class WHERE relname = 'later'"); got != "m" {
		t.Errorf("relkind %s", got)
	}
}

// TestMaterializedViewPopulatedStateIsTransactional: REFRESH … WITH [NO]
// DATA in an open block changes whether other sessions may read the view
// only when the block commits.
func TestMaterializedViewPopulatedStateIsTransactional(t *testing.T) {
	db, mem := openWALTest(t, t.TempDir())
	defer closeClean(t, db, mem)
	a, b := db.NewSession(), db.NewSession()
	defer a.Close()
	defer b.Close()
	mustSQL(t, a, "CREATE TABLE src (x int); INSERT INTO src VALUES (1), (2)")
	mustSQL(t, a, "CREATE MATERIALIZED VIEW full_mv AS SELECT x FROM src")
	mustSQL(t, a, "CREATE MATERIALIZED VIEW empty_mv AS SELECT x FROM src WITH NO DATA")
	unpopulated := func(s *Session, sql string) bool {
		t.Helper()
		var se *sqlerr.Error
		err := execSQL(t, s, sql)
		if err != nil && (!errors.As(err, &se) || se.Code != sqlerr.ObjectNotInPrerequisiteState) {
			t.Fatalf("%s: %v", sql, err)
		}
		return err != nil
	}
	for _, end := range []string{"ROLLBACK", "COMMIT"} {
		mustSQL(t, a, "BEGIN; REFRESH MATERIALIZED VIEW full_mv WITH NO DATA; REFRESH MATERIALIZED VIEW empty_mv")
		if unpopulated(a, "SELECT * FROM empty_mv") {
			t.Errorf("the block does not see its own REFRESH of empty_mv")
		}
		mustSQL(t, a, "SAVEPOINT p")
		if !unpopulated(a, "SELECT * FROM full_mv") {
			t.Errorf("the block does not see its own REFRESH … WITH NO DATA")
		}
		mustSQL(t, a, "ROLLBACK TO SAVEPOINT p")
		if unpopulated(b, "SELECT * FROM full_mv") || !unpopulated(b, "SELECT * FROM empty_mv") {
			t.Errorf("another session sees the open block's REFRESH")
		}
		mustSQL(t, a, end)
		wantFull, wantEmpty := false, true // after ROLLBACK: as before
		if end == "COMMIT" {
			wantFull, wantEmpty = true, false
		}
		if unpopulated(b, "SELECT * FROM full_mv") != wantFull || unpopulated(b, "SELECT * FROM empty_mv") != wantEmpty {
			t.Errorf("after %s: full_mv unpopulated %v, empty_mv unpopulated %v", end, !wantFull, !wantEmpty)
		}
	}
}
