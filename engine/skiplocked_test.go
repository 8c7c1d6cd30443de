package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// TestSkipLockedTakesTheNextFreeRows: FOR UPDATE SKIP LOCKED, a job
// queue's "take the next free job", locks what it returns and leaves out
// rows locked by FOR UPDATE or changed by an open block, with LIMIT
// counting only the rows it returns (PostgreSQL 15 gives the same rows
// for the same sessions).
func TestSkipLockedTakesTheNextFreeRows(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2, s3, s4 := db.NewSession(), db.NewSession(), db.NewSession(), db.NewSession()
	for _, s := range []*Session{s1, s2, s3, s4} {
		defer s.Close()
	}
	mustSQL(t, s1, "CREATE TABLE jq (id int PRIMARY KEY, prio int, state text); INSERT INTO jq SELECT g, 11 - g, 'new' FROM generate_series(1, 10) g")

	steps := []struct {
		s         *Session
		sql, want string
	}{
		{s1, "BEGIN; SELECT id FROM jq ORDER BY id LIMIT 1 FOR UPDATE", "1"},
		{s2, "BEGIN; SELECT id FROM jq ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED", "2|3"},
		{s3, "BEGIN; UPDATE jq SET state = 'taken' WHERE id = 4", ""},
		// outside a block the locks end with the statement: the same rows twice
		{s4, "SELECT id FROM jq ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED", "5|6"},
		{s4, "SELECT id, state FROM jq ORDER BY id LIMIT 2 OFFSET 1 FOR UPDATE SKIP LOCKED", "6|new|7|new"},
		{s4, "SELECT id FROM jq WHERE id <= 4 ORDER BY id FOR UPDATE SKIP LOCKED", ""},
	}
	for _, st := range steps {
		if st.want == "" && st.sql[len(st.sql)-1] == '4' {
			mustSQL(t, st.s, st.sql)
			continue
		}
		if got := one(t, st.s, st.sql); got != st.want {
			t.Errorf("%s: %q, want %q", st.sql, got, st.want)
		}
	}
	// with its LIMIT and OFFSET as parameters (the extended protocol)
	p, err := s4.Prepare(context.Background(), "SELECT id FROM jq WHERE state = $1 ORDER BY id LIMIT $2 OFFSET $3 FOR UPDATE SKIP LOCKED", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s4.ExecPrepared(context.Background(), p, []types.Datum{"new", int64(2), int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			got = append(got, types.Format(types.Int4T, exec.DatumAt(b.Column(0), i)))
		}
	}
	res.Release()
	if strings.Join(got, "|") != "6|7" {
		t.Errorf("prepared, LIMIT $2 OFFSET $3: %v, want 6|7", got)
	}
	mustSQL(t, s1, "COMMIT")
	mustSQL(t, s3, "ROLLBACK")
	if got := one(t, s4, "SELECT id FROM jq ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED"); got != "1|4|5" {
		t.Errorf("after the blocks end: %q, want 1|4|5", got)
	}
	mustSQL(t, s2, "COMMIT")
}

// TestLockingSelectLocksTheRowsItReturns: the rows a locking SELECT locks
// are those its ORDER BY (by position or output name) and LIMIT pick,
// not those of the same clauses over the key columns.
func TestLockingSelectLocksTheRowsItReturns(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2 := db.NewSession(), db.NewSession()
	defer s1.Close()
	defer s2.Close()
	mustSQL(t, s1, "CREATE TABLE jp (id int PRIMARY KEY, prio int); INSERT INTO jp SELECT g, 11 - g FROM generate_series(1, 10) g")
	mustSQL(t, s1, "BEGIN")
	if got := one(t, s1, "SELECT prio FROM jp ORDER BY 1 LIMIT 1 FOR UPDATE"); got != "1" {
		t.Fatalf("ORDER BY 1: %s, want 1", got)
	}
	if got := one(t, s1, "SELECT prio AS p FROM jp ORDER BY p DESC LIMIT 1 FOR UPDATE"); got != "10" {
		t.Fatalf("ORDER BY p: %s, want 10", got)
	}
	for _, c := range []struct {
		id     string
		locked bool
	}{{"10", true}, {"1", true}, {"2", false}, {"9", false}} {
		err := execSQL(t, s2, "SELECT id FROM jp WHERE id = "+c.id+" FOR UPDATE NOWAIT")
		var se *sqlerr.Error
		locked := errors.As(err, &se) && se.Code == sqlerr.LockNotAvailable
		if locked != c.locked || (err != nil && !locked) {
			t.Errorf("row %s: locked %v (%v), want %v", c.id, locked, err, c.locked)
		}
	}
	mustSQL(t, s1, "COMMIT")
}

// TestSkipLockedCompositeKey: rows named by a two-column key, a text one
// with a quote in it, are left out and locked the same way.
func TestSkipLockedCompositeKey(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2 := db.NewSession(), db.NewSession()
	defer s1.Close()
	defer s2.Close()
	mustSQL(t, s1, "CREATE TABLE jc (queue text, n int, PRIMARY KEY (queue, n)); INSERT INTO jc VALUES ('o''k', 1), ('o''k', 2), ('b', 1)")
	mustSQL(t, s1, "BEGIN")
	if got := one(t, s1, "SELECT queue, n FROM jc WHERE queue = 'o''k' ORDER BY n LIMIT 1 FOR UPDATE SKIP LOCKED"); got != "o'k|1" {
		t.Fatalf("first taker: %s", got)
	}
	mustSQL(t, s2, "BEGIN")
	if got := one(t, s2, "SELECT queue, n FROM jc ORDER BY queue DESC, n LIMIT 2 FOR UPDATE SKIP LOCKED"); got != "o'k|2|b|1" {
		t.Errorf("second taker: %s, want o'k|2|b|1", got)
	}
	mustSQL(t, s1, "COMMIT")
	mustSQL(t, s2, "COMMIT")
}

// TestLockedRowsAreTheRowsReturned: the rows a locking SELECT returns are
// the ones it locked, also when its query would pick others on a second
// run (a volatile ORDER BY).
func TestLockedRowsAreTheRowsReturned(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2 := db.NewSession(), db.NewSession()
	defer s1.Close()
	defer s2.Close()
	mustSQL(t, s1, "CREATE TABLE jr (id int PRIMARY KEY); INSERT INTO jr SELECT g FROM generate_series(1, 200) g")
	for _, clause := range []string{"FOR UPDATE", "FOR UPDATE SKIP LOCKED", "FOR UPDATE SKIP LOCKED OFFSET 2"} {
		for range 10 {
			mustSQL(t, s1, "BEGIN")
			sql := "SELECT id FROM jr ORDER BY random() LIMIT 1 " + clause
			if strings.HasSuffix(clause, "OFFSET 2") {
				sql = "SELECT id FROM jr ORDER BY random() LIMIT 1 OFFSET 2 FOR UPDATE SKIP LOCKED"
			}
			got := one(t, s1, sql)
			err := execSQL(t, s2, "SELECT id FROM jr WHERE id = "+got+" FOR UPDATE NOWAIT")
			var se *sqlerr.Error
			if !errors.As(err, &se) || se.Code != sqlerr.LockNotAvailable {
				t.Fatalf("%s returned %s, which another session could lock (%v)", sql, got, err)
			}
			mustSQL(t, s1, "ROLLBACK")
		}
	}
}
