package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// lockStrengthTable makes lk: id primary key, u unique, v (PostgreSQL's
// answers below are for the same table and rows).
func lockStrengthTable(t *testing.T, s *Session) {
	t.Helper()
	mustSQL(t, s, "CREATE TABLE lk (id int PRIMARY KEY, u int UNIQUE, v int); INSERT INTO lk SELECT g, g, 100 FROM generate_series(1, 5) g")
}

// lockStrengthSessions opens a database with lk and two sessions on it,
// closed (sessions first, then the database, checking for leaks) when
// the test ends.
func lockStrengthSessions(t *testing.T) (*DB, *Session, *Session) {
	t.Helper()
	db, done := rowLockDB(t)
	t.Cleanup(done)
	s1, s2 := db.NewSession(), db.NewSession()
	t.Cleanup(func() { s2.Close(); s1.Close() })
	lockStrengthTable(t, s1)
	return db, s1, s2
}

// isLockNotAvailable reports whether err is PostgreSQL's NOWAIT error for
// a row of lk.
func isLockNotAvailable(err error) bool {
	var se *sqlerr.Error
	return errors.As(err, &se) && se.Code == sqlerr.LockNotAvailable && se.Message == `could not obtain lock on row in relation "lk"`
}

// TestRowLockStrengthConflicts: the four row lock strengths conflict as
// PostgreSQL's table says: with s1 holding row 1 in the first strength,
// s2's NOWAIT in the second fails with 55P03 exactly where PostgreSQL 15
// failed for the same two sessions (checked with psycopg2), SKIP LOCKED
// leaves the row out exactly there, and a plain request waits there
// until s1 commits.
func TestRowLockStrengthConflicts(t *testing.T) {
	db, s1, s2 := lockStrengthSessions(t)
	// PostgreSQL 15's answers: which second strengths got 55P03
	conflicts := map[string][]string{
		"FOR KEY SHARE":     {"FOR UPDATE"},
		"FOR SHARE":         {"FOR NO KEY UPDATE", "FOR UPDATE"},
		"FOR NO KEY UPDATE": {"FOR SHARE", "FOR NO KEY UPDATE", "FOR UPDATE"},
		"FOR UPDATE":        {"FOR KEY SHARE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR UPDATE"},
	}
	strengths := []string{"FOR KEY SHARE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR UPDATE"}
	for _, first := range strengths {
		for _, second := range strengths {
			conflict := false
			for _, c := range conflicts[first] {
				conflict = conflict || c == second
			}
			name := first + " then " + second
			mustSQL(t, s1, "BEGIN; SELECT id FROM lk WHERE id = 1 "+first)
			err := execSQL(t, s2, "SELECT id FROM lk WHERE id = 1 "+second+" NOWAIT")
			if conflict != isLockNotAvailable(err) {
				t.Errorf("%s NOWAIT: %v, want 55P03: %v", name, err, conflict)
			}
			wantSkip := map[bool]string{true: "2", false: "1|2"}[conflict]
			if got := one(t, s2, "SELECT id FROM lk WHERE id <= 2 ORDER BY id "+second+" SKIP LOCKED"); got != wantSkip {
				t.Errorf("%s SKIP LOCKED: %q, want %q", name, got, wantSkip)
			}
			if conflict {
				res := background(s2, "SELECT id FROM lk WHERE id = 1 "+second)
				waitsForRowLock(t, db, s2, res)
				mustSQL(t, s1, "COMMIT")
				if r := <-res; r[1] != nil || r[0] != "SELECT 1" {
					t.Errorf("%s: after s1's COMMIT %v %v", name, r[0], r[1])
				}
				continue
			}
			mustSQL(t, s1, "COMMIT")
		}
	}
}

// TestWritesTakeTheirLockStrength: DELETE and an UPDATE that changes a
// unique key's value lock the row FOR UPDATE; an UPDATE that keeps every
// key's value (even one that sets a key column to its own value), and a
// DO UPDATE that sets no key column, FOR NO KEY UPDATE, so that FOR KEY
// SHARE (a foreign key's check in PostgreSQL) does not wait for them. The
// answers are PostgreSQL 15's for the same two sessions.
func TestWritesTakeTheirLockStrength(t *testing.T) {
	db, s1, s2 := lockStrengthSessions(t)
	for _, c := range []struct {
		write             string
		keyShareConflicts bool // FOR SHARE conflicts with all of them
	}{
		{"UPDATE lk SET v = v + 1 WHERE id = 1", false},
		{"UPDATE lk SET u = u + 10 WHERE id = 1", true},
		{"UPDATE lk SET id = id WHERE id = 1", false},
		{"UPDATE lk SET u = u WHERE id = 1", false},
		{"DELETE FROM lk WHERE id = 1", true},
		{"INSERT INTO lk VALUES (1, 1, 5) ON CONFLICT (id) DO UPDATE SET v = excluded.v", false},
		{"INSERT INTO lk VALUES (1, 1, 5) ON CONFLICT (id) DO UPDATE SET u = lk.u", true},
	} {
		mustSQL(t, s1, "BEGIN; "+c.write)
		err := execSQL(t, s2, "SELECT id FROM lk WHERE id = 1 FOR KEY SHARE NOWAIT")
		if isLockNotAvailable(err) != c.keyShareConflicts || err != nil && !c.keyShareConflicts {
			t.Errorf("%s, then FOR KEY SHARE NOWAIT: %v, want 55P03: %v", c.write, err, c.keyShareConflicts)
		}
		if err := execSQL(t, s2, "SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT"); !isLockNotAvailable(err) {
			t.Errorf("%s, then FOR SHARE NOWAIT: %v, want 55P03", c.write, err)
		}
		mustSQL(t, s1, "ROLLBACK")
	}
	// a FOR KEY SHARE holder lets a non-key UPDATE through, not a key's
	mustSQL(t, s1, "BEGIN; SELECT id FROM lk WHERE id = 2 FOR KEY SHARE")
	mustSQL(t, s2, "UPDATE lk SET v = 7 WHERE id = 2")
	res := background(s2, "UPDATE lk SET u = 20 WHERE id = 2")
	waitsForRowLock(t, db, s2, res)
	mustSQL(t, s1, "COMMIT")
	if r := <-res; r[1] != nil || r[0] != "UPDATE 1" {
		t.Fatalf("the key's UPDATE after the COMMIT: %v %v", r[0], r[1])
	}
	if got := one(t, s1, "SELECT u, v FROM lk WHERE id = 2"); got != "20|7" {
		t.Errorf("row 2: %s, want 20|7", got)
	}
}

// TestRowLockUpgrade: a block that holds FOR SHARE and then updates the
// row strengthens its lock, waiting for another FOR SHARE holder to end
// (PostgreSQL 15: the UPDATE waits until the other block commits); when
// both holders try to, the circle is a deadlock and exactly one fails
// with 40P01, the other's UPDATE going on once it rolls back.
func TestRowLockUpgrade(t *testing.T) {
	db, s1, s2 := lockStrengthSessions(t)
	for _, s := range []*Session{s1, s2} {
		mustSQL(t, s, "SET deadlock_timeout = '20ms'; BEGIN; SELECT id FROM lk WHERE id = 1 FOR SHARE")
	}
	res := background(s1, "UPDATE lk SET v = 1 WHERE id = 1")
	waitsForRowLock(t, db, s1, res)
	mustSQL(t, s2, "COMMIT")
	if r := <-res; r[1] != nil || r[0] != "UPDATE 1" {
		t.Fatalf("the upgrade after the other's COMMIT: %v %v", r[0], r[1])
	}
	mustSQL(t, s1, "COMMIT")

	for _, s := range []*Session{s1, s2} {
		mustSQL(t, s, "BEGIN; SELECT id FROM lk WHERE id = 1 FOR SHARE")
	}
	oneDeadlocks(t, db, [2]*Session{s1, s2}, [2]string{"UPDATE lk SET v = 11 WHERE id = 1", "UPDATE lk SET v = 12 WHERE id = 1"})
}

// oneDeadlocks runs the two statements (each of which waits for a lock
// the other session holds) at once and checks that exactly one fails with
// 40P01, and that the other finishes once the failed block rolls back,
// with the row then holding its value.
func oneDeadlocks(t *testing.T, db *DB, s [2]*Session, sql [2]string) {
	t.Helper()
	first := background(s[0], sql[0])
	waitsForRowLock(t, db, s[0], first)
	results := finishOrder(first, background(s[1], sql[1]))
	r := <-results
	if err, _ := r.result[1].(error); sqlerr.Code(err) != sqlerr.DeadlockDetected {
		t.Fatalf("the first statement to finish: %v %v, want 40P01", r.result[0], r.result[1])
	}
	failed := r.session
	other := 1 - failed
	mustSQL(t, s[failed], "ROLLBACK")
	if r := <-results; r.result[1] != nil || r.result[0] != "UPDATE 1" {
		t.Fatalf("the other one after the ROLLBACK: %v %v", r.result[0], r.result[1])
	}
	mustSQL(t, s[other], "COMMIT")
}

// finished is the result of the statement of session i.
type finished struct {
	session int
	result  [2]any
}

// finishOrder passes on the results of statements running in the
// background (see background) in the order they finish.
func finishOrder(res ...chan [2]any) chan finished {
	out := make(chan finished, len(res))
	for i, c := range res {
		go func() { out <- finished{i, <-c} }()
	}
	return out
}

// TestRowLockDeadlock: two blocks locking rows in opposite order: after
// deadlock_timeout one of them finds the circle and fails with 40P01
// (PostgreSQL 15 fails the first to wait, whose deadlock_timeout passes
// first), and once it rolls back the other goes on. Where only one
// session's deadlock_timeout passes while both wait, that one fails.
func TestRowLockDeadlock(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2 := db.NewSession(), db.NewSession()
	defer s1.Close()
	defer s2.Close()
	mustSQL(t, s1, "SET deadlock_timeout = '20ms'; BEGIN; UPDATE rc_t SET bal = 1 WHERE id = 1")
	mustSQL(t, s2, "SET deadlock_timeout = '20ms'; BEGIN; UPDATE rc_t SET bal = 2 WHERE id = 2")
	oneDeadlocks(t, db, [2]*Session{s1, s2}, [2]string{"UPDATE rc_t SET bal = 1 WHERE id = 2", "UPDATE rc_t SET bal = 2 WHERE id = 1"})
	if got := one(t, s1, "SELECT count(DISTINCT bal) FROM rc_t WHERE id <= 2"); got != "1" {
		t.Errorf("after the deadlock rows 1 and 2 differ: %s", one(t, s1, "SELECT bal FROM rc_t WHERE id <= 2 ORDER BY id"))
	}

	// s1 waits first but checks only after an hour: s2, which closes
	// the circle, finds it
	mustSQL(t, s1, "SET deadlock_timeout = '1h'; BEGIN; UPDATE rc_t SET bal = 1 WHERE id = 3")
	mustSQL(t, s2, "BEGIN; UPDATE rc_t SET bal = 2 WHERE id = 4")
	res := background(s1, "UPDATE rc_t SET bal = 1 WHERE id = 4")
	waitsForRowLock(t, db, s1, res)
	if err := execSQL(t, s2, "UPDATE rc_t SET bal = 2 WHERE id = 3"); sqlerr.Code(err) != sqlerr.DeadlockDetected {
		t.Fatalf("closing the circle: %v, want 40P01", err)
	}
	mustSQL(t, s2, "ROLLBACK")
	if r := <-res; r[1] != nil || r[0] != "UPDATE 1" {
		t.Fatalf("the other block after the rollback: %v %v", r[0], r[1])
	}
	mustSQL(t, s1, "COMMIT")
	if got := one(t, s2, "SELECT string_agg(bal::text, ',' ORDER BY id) FROM rc_t WHERE id IN (3, 4)"); got != "1,1" {
		t.Errorf("after the deadlock: %s", got)
	}
}

// TestThreeSessionDeadlock: s1 waits for s2, s2 for s3, s3 for s1: one
// of them fails with 40P01 and the others finish once it rolls back.
func TestThreeSessionDeadlock(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	ss := []*Session{db.NewSession(), db.NewSession(), db.NewSession()}
	for i, s := range ss {
		defer s.Close()
		mustSQL(t, s, fmt.Sprintf("SET deadlock_timeout = '20ms'; BEGIN; UPDATE rc_t SET bal = 0 WHERE id = %d", 21+i))
	}
	var res []chan [2]any
	for i, s := range ss {
		res = append(res, background(s, fmt.Sprintf("UPDATE rc_t SET bal = bal + 1 WHERE id = %d", 21+(i+1)%3)))
		if i < 2 {
			waitsForRowLock(t, db, s, res[i])
		}
	}
	results := finishOrder(res...)
	r := <-results
	if err, _ := r.result[1].(error); sqlerr.Code(err) != sqlerr.DeadlockDetected {
		t.Fatalf("session %d finished first: %v %v, want 40P01", r.session, r.result[0], r.result[1])
	}
	mustSQL(t, ss[r.session], "ROLLBACK")
	// then the one waiting for the rolled back block's row, which lets
	// the last one go on when it commits
	for i := 0; i < 2; i++ {
		r := <-results
		if r.result[1] != nil || r.result[0] != "UPDATE 1" {
			t.Fatalf("session %d after the rollback: %v %v", r.session, r.result[0], r.result[1])
		}
		mustSQL(t, ss[r.session], "COMMIT")
	}
	if got := one(t, ss[0], "SELECT sum(bal) FROM rc_t WHERE id BETWEEN 21 AND 23"); got != "102" {
		t.Errorf("after the deadlock: %s, want 102 (the failed block's row 100 + 1, the next 0 + 1, the last 0)", got)
	}
}

// TestRollbackToSavepointReleasesRowLocks: ROLLBACK TO SAVEPOINT gives
// back the row locks taken since the savepoint (a lock strengthened
// since goes back to its old strength) and keeps those taken before;
// RELEASE keeps them; so does a PL/pgSQL EXCEPTION clause. The answers
// are PostgreSQL 15's for the same sessions.
func TestRollbackToSavepointReleasesRowLocks(t *testing.T) {
	db, s1, s2 := lockStrengthSessions(t)
	steps := []struct {
		s         *Session
		sql, want string // want: the rows, or "55P03"
	}{
		{s1, "BEGIN; SELECT id FROM lk WHERE id = 1 FOR UPDATE; SAVEPOINT a; SELECT id FROM lk WHERE id = 2 FOR UPDATE; UPDATE lk SET v = 3 WHERE id = 3", ""},
		{s2, "SELECT id FROM lk WHERE id <= 3 ORDER BY id FOR UPDATE SKIP LOCKED", ""},
		{s1, "ROLLBACK TO SAVEPOINT a", ""},
		{s2, "SELECT id FROM lk WHERE id <= 3 ORDER BY id FOR UPDATE SKIP LOCKED", "2|3"},
		{s1, "ROLLBACK", ""},

		{s1, "BEGIN; SELECT id FROM lk WHERE id = 1 FOR SHARE; SAVEPOINT a; SELECT id FROM lk WHERE id = 1 FOR UPDATE", ""},
		{s2, "SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT", "55P03"},
		{s1, "ROLLBACK TO a", ""},
		{s2, "SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT", "1"},
		{s2, "SELECT id FROM lk WHERE id = 1 FOR UPDATE NOWAIT", "55P03"},
		{s1, "ROLLBACK", ""},

		{s1, "BEGIN; SAVEPOINT a; SELECT id FROM lk WHERE id = 1 FOR UPDATE; RELEASE SAVEPOINT a", ""},
		{s2, "SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT", "55P03"},
		{s1, "ROLLBACK", ""},

		// nested: ROLLBACK TO the inner one keeps what the outer one took
		{s1, "BEGIN; SAVEPOINT a; SELECT id FROM lk WHERE id = 1 FOR UPDATE; SAVEPOINT b; SELECT id FROM lk WHERE id = 2 FOR UPDATE; ROLLBACK TO b", ""},
		{s2, "SELECT id FROM lk WHERE id <= 2 ORDER BY id FOR UPDATE SKIP LOCKED", "2"},
		{s1, "ROLLBACK TO a", ""},
		{s2, "SELECT id FROM lk WHERE id <= 2 ORDER BY id FOR UPDATE SKIP LOCKED", "1|2"},
		{s1, "ROLLBACK", ""},

		// a PL/pgSQL block's EXCEPTION clause rolls back to its savepoint
		{s1, "BEGIN; DO $$ BEGIN PERFORM id FROM lk WHERE id = 1 FOR UPDATE; BEGIN PERFORM id FROM lk WHERE id = 2 FOR UPDATE; RAISE EXCEPTION 'x'; EXCEPTION WHEN others THEN NULL; END; END $$", ""},
		{s2, "SELECT id FROM lk WHERE id <= 3 ORDER BY id FOR UPDATE SKIP LOCKED", "2|3"},
		{s1, "ROLLBACK", ""},
	}
	for _, st := range steps {
		switch {
		case st.s == s1:
			mustSQL(t, s1, st.sql)
		case st.want == "55P03":
			if err := execSQL(t, s2, st.sql); !isLockNotAvailable(err) {
				t.Errorf("%s: %v, want 55P03", st.sql, err)
			}
		default:
			if got := one(t, s2, st.sql); got != st.want {
				t.Errorf("%s: %q, want %q", st.sql, got, st.want)
			}
		}
	}

	// a session waiting for a row changed after the savepoint goes on
	// at ROLLBACK TO, on the committed value (PostgreSQL: s1 then reads 101)
	mustSQL(t, s1, "BEGIN; SAVEPOINT a; UPDATE lk SET v = 5 WHERE id = 4")
	res := background(s2, "UPDATE lk SET v = v + 1 WHERE id = 4")
	waitsForRowLock(t, db, s2, res)
	mustSQL(t, s1, "ROLLBACK TO SAVEPOINT a")
	if r := <-res; r[1] != nil || r[0] != "UPDATE 1" {
		t.Fatalf("the waiting UPDATE after ROLLBACK TO: %v %v", r[0], r[1])
	}
	if got := one(t, s1, "SELECT v FROM lk WHERE id = 4"); got != "101" {
		t.Errorf("s1 reads %s, want 101", got)
	}
	mustSQL(t, s1, "COMMIT")
}

// TestForeignKeyCheckLocksTheParentRow: an INSERT of a referencing row
// locks the referenced row FOR KEY SHARE, as PostgreSQL's check does: it
// waits for a block deleting the row or changing its key, a DELETE or key
// UPDATE of the row waits for the inserting block, a non-key UPDATE does
// not; each outcome is PostgreSQL 15's for the same two sessions.
func TestForeignKeyCheckLocksTheParentRow(t *testing.T) {
	db, s1, s2 := lockStrengthSessions(t)
	mustSQL(t, s1, "CREATE TABLE lk_child (id int PRIMARY KEY, p int REFERENCES lk (id))")
	cases := []struct {
		name, first, second, end string
		waits                    bool
		wantTag, wantCode        string // the second statement's tag, or its SQLSTATE
		check, want              string // after both
	}{
		{"child insert waits for the parent's DELETE, which commits", "DELETE FROM lk WHERE id = %[1]d", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "COMMIT",
			true, "", "23503", "SELECT count(*) FROM lk_child WHERE id = %[1]d", "0"},
		{"child insert waits for the parent's DELETE, which rolls back", "DELETE FROM lk WHERE id = %[1]d", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "ROLLBACK",
			true, "INSERT 0 1", "", "SELECT count(*) FROM lk_child WHERE id = %[1]d", "1"},
		{"child insert waits for a key UPDATE of the parent", "UPDATE lk SET u = u + 1000 WHERE id = %[1]d", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "COMMIT",
			true, "INSERT 0 1", "", "SELECT count(*) FROM lk_child WHERE id = %[1]d", "1"},
		{"child insert goes past a non-key UPDATE of the parent", "UPDATE lk SET v = 1 WHERE id = %[1]d", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "COMMIT",
			false, "INSERT 0 1", "", "SELECT count(*) FROM lk_child WHERE id = %[1]d", "1"},
		{"the parent's DELETE waits for the child insert, then fails", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "DELETE FROM lk WHERE id = %[1]d", "COMMIT",
			true, "", "23503", "SELECT count(*) FROM lk WHERE id = %[1]d", "1"},
		{"the parent's DELETE waits for the child insert, which rolls back", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "DELETE FROM lk WHERE id = %[1]d", "ROLLBACK",
			true, "DELETE 1", "", "SELECT count(*) FROM lk WHERE id = %[1]d", "0"},
		{"a key UPDATE of the parent waits for the child insert", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "UPDATE lk SET u = 50 + %[1]d WHERE id = %[1]d", "COMMIT",
			true, "UPDATE 1", "", "SELECT u - %[1]d FROM lk WHERE id = %[1]d", "50"},
		{"a non-key UPDATE of the parent goes past the child insert", "INSERT INTO lk_child VALUES (%[1]d, %[1]d)", "UPDATE lk SET v = 50 WHERE id = %[1]d", "COMMIT",
			false, "UPDATE 1", "", "SELECT v FROM lk WHERE id = %[1]d", "50"},
		{"a child upsert waits for the parent's DELETE", "DELETE FROM lk WHERE id = %[1]d", "INSERT INTO lk_child VALUES (%[1]d, %[1]d) ON CONFLICT (id) DO UPDATE SET p = excluded.p", "COMMIT",
			true, "", "23503", "SELECT count(*) FROM lk_child WHERE id = %[1]d", "0"},
		// an UPDATE that changes the reference locks the row it now
		// references; one that keeps it does not (child row 100 + the
		// row refers to row 1)
		{"a child UPDATE of the reference waits for the parent's DELETE", "DELETE FROM lk WHERE id = %[1]d", "UPDATE lk_child SET p = %[1]d WHERE id = 100 + %[1]d", "COMMIT",
			true, "", "23503", "SELECT p FROM lk_child WHERE id = 100 + %[1]d", "1"},
		{"a child UPDATE keeping the reference goes past the parent's key UPDATE", "UPDATE lk SET u = 990 + %[1]d WHERE id = 1", "UPDATE lk_child SET id = 200 + %[1]d WHERE id = 100 + %[1]d", "COMMIT",
			false, "UPDATE 1", "", "SELECT count(*) FROM lk_child WHERE id = 200 + %[1]d", "1"},
		{"a key UPDATE of the parent waits for a child UPDATE of the reference", "UPDATE lk_child SET p = %[1]d WHERE id = 100 + %[1]d", "UPDATE lk SET u = 50 + %[1]d WHERE id = %[1]d", "COMMIT",
			true, "UPDATE 1", "", "SELECT u - %[1]d FROM lk WHERE id = %[1]d", "50"},
	}
	mustSQL(t, s1, "INSERT INTO lk SELECT g, g, 100 FROM generate_series(6, 20) g; INSERT INTO lk_child SELECT 100 + g, 1 FROM generate_series(6, 20) g")
	for i, c := range cases {
		row := 6 + i
		sql := func(f string) string { return fmt.Sprintf(f, row) }
		mustSQL(t, s1, "BEGIN; "+sql(c.first))
		res := background(s2, sql(c.second))
		if c.waits {
			waitsForRowLock(t, db, s2, res)
		} else {
			r := <-res
			res <- r
		}
		mustSQL(t, s1, c.end)
		r := <-res
		if c.wantCode != "" {
			if err, _ := r[1].(error); sqlerr.Code(err) != c.wantCode {
				t.Errorf("%s: %v %v, want %s", c.name, r[0], r[1], c.wantCode)
			}
		} else if r[1] != nil || r[0] != c.wantTag {
			t.Errorf("%s: %v %v, want %s", c.name, r[0], r[1], c.wantTag)
		}
		if got := one(t, s2, sql(c.check)); got != c.want {
			t.Errorf("%s: %s gives %s, want %s", c.name, sql(c.check), got, c.want)
		}
	}
}

// TestLockingClausesPerTable: each table of a join takes the strongest
// of the locking clauses that name it (or name none); a session waiting
// to update a FOR SHARE row does not keep a newcomer's FOR SHARE out.
// The answers are PostgreSQL 15's for the same sessions.
func TestLockingClausesPerTable(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2, s3 := db.NewSession(), db.NewSession(), db.NewSession()
	defer s1.Close()
	defer s2.Close()
	defer s3.Close()
	lockStrengthTable(t, s1)
	mustSQL(t, s1, "CREATE TABLE lk2 (id int PRIMARY KEY, v int); INSERT INTO lk2 SELECT g, g FROM generate_series(1, 5) g")
	for _, c := range []struct {
		locking string
		nowait  map[string]string // s2's NOWAIT query: the rows, or 55P03 and the relation
	}{
		{"FOR SHARE OF lk FOR UPDATE OF lk2", map[string]string{
			"SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT":                                     "1",
			"SELECT id FROM lk2 WHERE id = 1 FOR KEY SHARE NOWAIT":                                `could not obtain lock on row in relation "lk2"`,
			"SELECT id FROM lk WHERE id = 1 FOR NO KEY UPDATE NOWAIT":                             `could not obtain lock on row in relation "lk"`,
			"SELECT lk.id FROM lk, lk2 WHERE lk.id = 1 AND lk2.id = 1 FOR KEY SHARE OF lk NOWAIT": "1",
		}},
		{"FOR KEY SHARE FOR UPDATE OF lk2", map[string]string{
			"SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT":      "1",
			"SELECT id FROM lk2 WHERE id = 1 FOR KEY SHARE NOWAIT": `could not obtain lock on row in relation "lk2"`,
			"SELECT id FROM lk WHERE id = 1 FOR UPDATE NOWAIT":     `could not obtain lock on row in relation "lk"`,
		}},
	} {
		mustSQL(t, s1, "BEGIN; SELECT lk.id FROM lk JOIN lk2 ON lk.id = lk2.id WHERE lk.id = 1 "+c.locking)
		for sql, want := range c.nowait {
			if want == "1" {
				if got := one(t, s2, sql); got != want {
					t.Errorf("%s, then %s: %q, want %q", c.locking, sql, got, want)
				}
				continue
			}
			var se *sqlerr.Error
			if err := execSQL(t, s2, sql); !errors.As(err, &se) || se.Code != sqlerr.LockNotAvailable || se.Message != want {
				t.Errorf("%s, then %s: %v, want 55P03 %s", c.locking, sql, err, want)
			}
		}
		mustSQL(t, s1, "ROLLBACK")
	}

	mustSQL(t, s1, "BEGIN; SELECT id FROM lk WHERE id = 1 FOR SHARE")
	res := background(s2, "UPDATE lk SET v = 1 WHERE id = 1")
	waitsForRowLock(t, db, s2, res)
	for _, sql := range []string{"SELECT id FROM lk WHERE id = 1 FOR SHARE NOWAIT", "SELECT id FROM lk WHERE id = 1 FOR KEY SHARE NOWAIT"} {
		if got := one(t, s3, sql); got != "1" {
			t.Errorf("a newcomer while an UPDATE waits: %s gives %q, want 1", sql, got)
		}
	}
	mustSQL(t, s1, "COMMIT")
	if r := <-res; r[1] != nil || r[0] != "UPDATE 1" {
		t.Fatalf("the waiting UPDATE: %v %v", r[0], r[1])
	}
}
