package engine

import (
	"errors"
	"fmt"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// TestSelectForUpdateTakesRowLocks: SELECT … FOR UPDATE / FOR SHARE
// lock the rows they return at READ COMMITTED, as UPDATE does, and so
// does INSERT … ON CONFLICT DO UPDATE the rows it updates; the
// answers are PostgreSQL 15's for the same two sessions (checked with
// psql: 210 after FOR UPDATE then *2 and a waiting +10; no row once the
// WHERE no longer holds; an upsert's DO UPDATE on the committed value,
// 6 and 205; 55P03 for NOWAIT and for lock_timeout).
func TestSelectForUpdateTakesRowLocks(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s1, s2, s3 := db.NewSession(), db.NewSession(), db.NewSession()
	defer s1.Close()
	defer s2.Close()
	defer s3.Close()
	cases := []struct {
		name    string
		first   string // s1, in a block: takes the row's lock
		second  string // s2: waits for it
		then    string // s1, before COMMIT
		wantTag string
		check   string // after both
		want    string
	}{
		{"an UPDATE waits for FOR UPDATE", "SELECT bal FROM rc_t WHERE id = %[1]d FOR UPDATE",
			"UPDATE rc_t SET bal = bal + 10 WHERE id = %[1]d", "UPDATE rc_t SET bal = bal * 2 WHERE id = %[1]d", "UPDATE 1", "SELECT bal FROM rc_t WHERE id = %[1]d", "210"},
		{"FOR UPDATE waits for an UPDATE, and sees its row", "UPDATE rc_t SET bal = 7 WHERE id = %[1]d",
			"BEGIN; SELECT bal FROM rc_t WHERE id = %[1]d FOR UPDATE; UPDATE rc_t SET bal = bal + 1 WHERE id = %[1]d; COMMIT", "SELECT %[1]d", "COMMIT", "SELECT bal FROM rc_t WHERE id = %[1]d", "8"},
		{"FOR SHARE finds no row once its WHERE no longer holds", "UPDATE rc_t SET bal = 0 WHERE id = %[1]d",
			"SELECT id FROM rc_t WHERE id = %[1]d AND bal > 50 FOR SHARE", "SELECT %[1]d", "SELECT 0", "SELECT bal FROM rc_t WHERE id = %[1]d", "0"},
		{"an upsert waits for an UPDATE, and adds to its value", "UPDATE rc_t SET bal = 1 WHERE id = %[1]d",
			"INSERT INTO rc_t VALUES (%[1]d, 5) ON CONFLICT (id) DO UPDATE SET bal = rc_t.bal + excluded.bal", "SELECT %[1]d", "INSERT 0 1", "SELECT bal FROM rc_t WHERE id = %[1]d", "6"},
		{"an upsert in a block waits for FOR UPDATE", "SELECT bal FROM rc_t WHERE id = %[1]d FOR UPDATE",
			"BEGIN; INSERT INTO rc_t VALUES (%[1]d, 5) ON CONFLICT (id) DO UPDATE SET bal = rc_t.bal + excluded.bal; COMMIT", "UPDATE rc_t SET bal = bal * 2 WHERE id = %[1]d", "COMMIT", "SELECT bal FROM rc_t WHERE id = %[1]d", "205"},
		{"FOR NO KEY UPDATE over a range waits for one of its rows", "SELECT bal FROM rc_t WHERE id = %[1]d + 1 FOR SHARE",
			"SELECT id FROM rc_t WHERE id BETWEEN %[1]d AND %[1]d + 2 FOR NO KEY UPDATE", "UPDATE rc_t SET bal = 1 WHERE id = %[1]d + 1", "", "SELECT sum(bal) FROM rc_t WHERE id BETWEEN %[1]d AND %[1]d + 2", "201"},
	}
	row := 100
	for _, c := range cases {
		row += 10
		sql := func(f string) string { return fmt.Sprintf(f, row) }
		mustSQL(t, s1, "BEGIN; "+sql(c.first))
		res := background(s2, sql(c.second))
		waitsForRowLock(t, db, s2, res)
		mustSQL(t, s1, sql(c.then)+"; COMMIT")
		r := <-res
		if r[1] != nil {
			t.Fatalf("%s: %v", c.name, r[1])
		}
		if c.wantTag != "" && r[0] != c.wantTag {
			t.Errorf("%s: %s, want %s", c.name, r[0], c.wantTag)
		}
		if got := one(t, s3, sql(c.check)); got != c.want {
			t.Errorf("%s: %s gives %s, want %s", c.name, sql(c.check), got, c.want)
		}
	}

	// NOWAIT and lock_timeout: 55P03, the lock still s1's
	mustSQL(t, s1, "BEGIN; SELECT bal FROM rc_t WHERE id = 1 FOR UPDATE")
	for _, c := range []struct{ sql, msg string }{
		{"SELECT bal FROM rc_t WHERE id = 1 FOR UPDATE NOWAIT", `could not obtain lock on row in relation "rc_t"`},
		{"SET lock_timeout = '20ms'; UPDATE rc_t SET bal = bal + 10 WHERE id = 1", "canceling statement due to lock timeout"},
		{"SET lock_timeout = '20ms'; BEGIN; SELECT bal FROM rc_t WHERE id = 1 FOR SHARE", "canceling statement due to lock timeout"},
	} {
		err := execSQL(t, s2, c.sql)
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.LockNotAvailable || se.Message != c.msg {
			t.Errorf("%s: %v, want 55P03 %s", c.sql, err, c.msg)
		}
		mustSQL(t, s2, "ROLLBACK; RESET lock_timeout")
	}
	mustSQL(t, s1, "UPDATE rc_t SET bal = 3 WHERE id = 1; COMMIT")
	if got := one(t, s3, "SELECT bal FROM rc_t WHERE id = 1"); got != "3" {
		t.Errorf("row 1 holds %s, want 3", got)
	}
}

// TestLockingClauseRefusals: a locking clause on rows that are not a
// table's is 0A000 with PostgreSQL 15's message.
func TestLockingClauseRefusals(t *testing.T) {
	db, done := rowLockDB(t)
	defer done()
	s := db.NewSession()
	defer s.Close()
	for _, c := range []struct{ sql, msg string }{
		{"SELECT bal FROM rc_t GROUP BY bal FOR UPDATE", "FOR UPDATE is not allowed with GROUP BY clause"},
		{"SELECT DISTINCT bal FROM rc_t FOR SHARE", "FOR SHARE is not allowed with DISTINCT clause"},
		{"SELECT id FROM rc_t UNION SELECT 1 FOR KEY SHARE", "FOR KEY SHARE is not allowed with UNION/INTERSECT/EXCEPT"},
		{"SELECT 1 FROM rc_t HAVING true FOR NO KEY UPDATE", "FOR NO KEY UPDATE is not allowed with HAVING clause"},
		{"SELECT count(*) FROM rc_t FOR UPDATE", "FOR UPDATE is not allowed with aggregate functions"},
		{"SELECT sum(bal) OVER () FROM rc_t FOR SHARE", "FOR SHARE is not allowed with window functions"},
		{"VALUES (1) FOR UPDATE", "FOR UPDATE cannot be applied to VALUES"},
		// rows PostgreSQL would lock through a subquery, view or WITH
		// query, or a locking clause inside one: refused here rather than
		// read without the locks (Weft's messages)
		{"SELECT * FROM (SELECT id FROM rc_t) s WHERE id = 1 FOR UPDATE", "FOR UPDATE of rows read through a view, subquery or WITH query is not supported yet"},
		{"WITH c AS (SELECT id FROM rc_t) SELECT * FROM c FOR SHARE", "FOR SHARE of rows read through a view, subquery or WITH query is not supported yet"},
		{"SELECT * FROM rc_t WHERE id IN (SELECT id FROM rc_t WHERE id < 3 FOR UPDATE)", "FOR UPDATE inside a subquery or WITH query is not supported yet"},
	} {
		err := execSQL(t, s, c.sql)
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != sqlerr.FeatureNotSupported || se.Message != c.msg {
			t.Errorf("%s: %v, want 0A000 %s", c.sql, err, c.msg)
		}
	}
}
