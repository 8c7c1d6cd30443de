package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// openSessions opens an in-memory database with n sessions on a checked
// allocator.
func openSessions(t *testing.T, n int) []*engine.Session {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	var out []*engine.Session
	for i := 0; i < n; i++ {
		out = append(out, db.NewSession())
	}
	t.Cleanup(func() {
		for _, s := range out {
			s.Close()
		}
		db.Close()
		mem.AssertSize(t, 0)
	})
	return out
}

func one(t *testing.T, s *engine.Session, sql string) string {
	t.Helper()
	r := rows(t, s, sql)
	if len(r) != 1 {
		t.Fatalf("%s: %d rows, want 1", sql, len(r))
	}
	return r[0]
}

func TestAdvisoryLocksAcrossSessions(t *testing.T) {
	ss := openSessions(t, 3)
	a, b, c := ss[0], ss[1], ss[2]
	steps := []struct {
		s    *engine.Session
		sql  string
		want string
	}{
		{a, "SELECT pg_try_advisory_lock(7)", "t"},
		{a, "SELECT pg_try_advisory_lock(7)", "t"}, // re-entrant
		{b, "SELECT pg_try_advisory_lock(7)", "f"},
		{b, "SELECT pg_try_advisory_lock_shared(7)", "f"},
		{b, "SELECT pg_try_advisory_lock(7, 0)", "t"}, // the pair key space is another lock
		{a, "SELECT pg_advisory_unlock(7)", "t"},
		{b, "SELECT pg_try_advisory_lock(7)", "f"}, // a still holds it once
		{a, "SELECT pg_advisory_unlock(7)", "t"},
		{a, "SELECT pg_advisory_unlock(7)", "f"}, // no hold left
		{b, "SELECT pg_try_advisory_lock_shared(7)", "t"},
		{c, "SELECT pg_try_advisory_lock_shared(7)", "t"},
		{a, "SELECT pg_try_advisory_lock(7)", "f"},
		{b, "SELECT pg_advisory_unlock_shared(7)", "t"},
		{b, "SELECT pg_advisory_unlock(7)", "f"}, // held shared, not exclusive
		{c, "SELECT pg_advisory_unlock_all()", ""},
		{a, "SELECT pg_try_advisory_lock(7)", "t"},
		{a, "SELECT pg_advisory_unlock_all()", ""},
		{a, "SELECT pg_try_advisory_lock(NULL)", "NULL"},
	}
	for i, st := range steps {
		if got := one(t, st.s, st.sql); got != st.want {
			t.Fatalf("step %d %s: got %q, want %q", i, st.sql, got, st.want)
		}
	}
}

func TestAdvisoryTransactionLocksEndWithTheBlock(t *testing.T) {
	ss := openSessions(t, 2)
	a, b := ss[0], ss[1]
	// outside a block the statement is the transaction
	one(t, a, "SELECT pg_advisory_xact_lock(1)")
	if got := one(t, b, "SELECT pg_try_advisory_lock(1)"); got != "t" {
		t.Fatalf("after a's statement: %s", got)
	}
	mustExec(t, b, "SELECT pg_advisory_unlock(1)")
	for _, end := range []string{"COMMIT", "ROLLBACK"} {
		mustExec(t, a, "BEGIN")
		one(t, a, "SELECT pg_advisory_xact_lock(1)")
		if got := one(t, b, "SELECT pg_try_advisory_lock(1)"); got != "f" {
			t.Fatalf("inside a's block: %s", got)
		}
		mustExec(t, a, end)
		if got := one(t, b, "SELECT pg_try_advisory_lock(1)"); got != "t" {
			t.Fatalf("after %s: %s", end, got)
		}
		mustExec(t, b, "SELECT pg_advisory_unlock(1)")
	}
}

func TestAdvisoryLockWaitsAndIsCancellable(t *testing.T) {
	ss := openSessions(t, 3)
	a, b, c := ss[0], ss[1], ss[2]
	one(t, a, "SELECT pg_advisory_lock(42)")

	done := make(chan error, 1)
	go func() {
		rs, err := b.Exec(context.Background(), "SELECT pg_advisory_lock(42)")
		for _, r := range rs {
			r.Release()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("b got the lock while a holds it (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	mustExec(t, a, "SELECT pg_advisory_unlock(42)")
	if err := <-done; err != nil {
		t.Fatalf("b's wait: %v", err)
	}

	// b holds it now; c waits under a statement timeout and is cancelled
	mustExec(t, c, "SET statement_timeout = 50")
	_, err := c.Exec(context.Background(), "SELECT pg_advisory_lock(42)")
	if sqlerr.Wrap(err).Code != sqlerr.QueryCanceled {
		t.Fatalf("c's wait: got %v, want 57014", err)
	}
	// closing the session gives its locks back
	b.Close()
	if got := one(t, c, "SELECT pg_try_advisory_lock(42)"); got != "t" {
		t.Fatalf("after b closed: %s", got)
	}
}

// TestCatalogAdditionsSurviveReopen: extensions and default privileges
// are part of the stored catalog.
func TestCatalogAdditionsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	open := func() (*engine.DB, *engine.Session) {
		db, err := engine.Open(engine.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return db, db.NewSession()
	}
	db, s := open()
	mustExec(t, s, `CREATE ROLE reader`)
	mustExec(t, s, `ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reader`)
	mustExec(t, s, `CREATE EXTENSION "uuid-ossp"`)
	s.Close()
	db.Close()

	db, s = open()
	defer db.Close()
	defer s.Close()
	mustExec(t, s, `CREATE TABLE after_reopen (a int)`)
	got := one(t, s, `SELECT has_table_privilege('reader', 'after_reopen', 'SELECT')::text || ' ' || (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension)`)
	if got != "true plpgsql,uuid-ossp" {
		t.Fatalf("after reopening: %s", got)
	}
}
