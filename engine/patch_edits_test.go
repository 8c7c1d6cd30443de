package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// patchStep is a statement run by one of two sessions.
type patchStep struct {
	session int
	sql     string
}

// patchScenarios are UPDATEs and DELETEs that find their rows by key, so
// that they patch their batches and say how (catalog.BatchEdits): the
// log writes those edits without comparing batches (compares says
// whether it may still compare some: a whole rewrite says nothing).
var patchScenarios = []struct {
	name     string
	steps    []patchStep
	compares bool
}{
	{name: "one update", steps: []patchStep{{0, "UPDATE acc SET bal = bal + 7 WHERE id = 100"}}},
	{name: "updates of one batch in a block", steps: []patchStep{{0, `BEGIN; UPDATE acc SET bal = bal + 1 WHERE id = 100;
		UPDATE acc SET bal = bal + 2 WHERE id = 101; UPDATE acc SET note = NULL WHERE id = 100;
		UPDATE acc SET amount = NULL, bal = bal * 2 WHERE id = 102; UPDATE acc SET bal = bal + 3 WHERE id = 100; COMMIT`}}},
	{name: "update then delete the row", steps: []patchStep{{0, "BEGIN; UPDATE acc SET bal = -1 WHERE id = 200; DELETE FROM acc WHERE id = 200; COMMIT"}}},
	{name: "delete then update the next row", steps: []patchStep{{0, "BEGIN; DELETE FROM acc WHERE id = 300; UPDATE acc SET note = 'n', amount = 0.5 WHERE id = 301; COMMIT"}}},
	{name: "delete", steps: []patchStep{{0, "DELETE FROM acc WHERE id = 7"}, {0, "DELETE FROM acc WHERE id = 8"}}},
	{name: "null and back", steps: []patchStep{{0, "UPDATE acc SET amount = NULL, seen = NULL WHERE id = 20"}, {0, "UPDATE acc SET amount = 1.25, seen = '2020-01-02 03:04:05' WHERE id = 20"}}},
	{name: "a concurrent committer in the same batch", steps: []patchStep{
		{0, "BEGIN"}, {0, "UPDATE acc SET bal = bal + 1 WHERE id = 400"},
		{1, "UPDATE acc SET bal = bal + 10 WHERE id = 401"},
		{0, "UPDATE acc SET bal = bal + 2 WHERE id = 402"},
		{1, "UPDATE acc SET bal = bal + 20 WHERE id = 403"},
		{0, "UPDATE acc SET bal = bal + 3 WHERE id = 400"},
		{0, "COMMIT"}}},
	{name: "a concurrent committer, repeatable read", steps: []patchStep{
		{0, "BEGIN ISOLATION LEVEL REPEATABLE READ"}, {0, "UPDATE acc SET bal = bal + 1 WHERE id = 410"},
		{1, "UPDATE acc SET bal = bal + 10 WHERE id = 411"},
		{1, "BEGIN; UPDATE acc SET note = 'x' WHERE id = 412; COMMIT"},
		{0, "COMMIT"}}},
	{name: "a whole batch rewritten, then patched", compares: true, steps: []patchStep{
		{0, "BEGIN; UPDATE acc SET bal = bal + 1 WHERE id BETWEEN 129 AND 192; UPDATE acc SET bal = 0 WHERE id = 130; COMMIT"}}},
}

// acctState is the table's every row, as a digest.
const acctState = "SELECT count(*), sum(bal), md5(string_agg(id || ':' || bal || ':' || coalesce(amount::text, '-') || ':' || coalesce(note, '-') || ':' || coalesce(seen::text, '-'), ',' ORDER BY id)) FROM acc"

// TestPatchedBatchesReplay: UPDATEs and DELETEs of a few rows found by
// key are logged as the edits their statements recorded (no batch is
// compared with its base), and after a crash the log rebuilds exactly
// the rows there were: from batches stored at a checkpoint, from batches
// the log itself wrote (the second round, after a reopen), and again
// after a checkpoint.
func TestPatchedBatchesReplay(t *testing.T) {
	for _, sc := range patchScenarios {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, mem := openWALTest(t, dir)
			s := db.NewSession()
			mustSQL(t, s, `CREATE TABLE acc (id int PRIMARY KEY, bal int, amount float8, note text, seen timestamp);
				INSERT INTO acc SELECT g, g % 13, CASE WHEN g % 5 = 0 THEN NULL ELSE g / 4.0 END,
					CASE WHEN g % 7 = 0 THEN NULL ELSE 'row ' || g END, timestamp '2024-01-01' + g * interval '1 hour'
				FROM generate_series(1, 500) g;
				CHECKPOINT`)
			s.Close()
			for round, checkpoint := range []bool{false, false, true} {
				if checkpoint {
					mustSQL(t, db.NewSession(), "CHECKPOINT")
				}
				compared := db.store.LogComparedRows()
				runPatchSteps(t, db, sc.steps)
				if got := db.store.LogComparedRows() - compared; got != 0 && !sc.compares {
					t.Errorf("round %d: the log compared %d rows with the batches replacing them", round, got)
				}
				want := one(t, db.NewSession(), acctState)
				crash(t, db, mem)
				db, mem = openWALTest(t, dir)
				if got := one(t, db.NewSession(), acctState); got != want {
					t.Errorf("round %d: after a crash the table is %s, want %s", round, got, want)
				}
			}
			closeClean(t, db, mem)
		})
	}
}

// runPatchSteps runs steps on two sessions of db.
func runPatchSteps(t *testing.T, db *DB, steps []patchStep) {
	t.Helper()
	sessions := []*Session{db.NewSession(), db.NewSession()}
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for _, st := range steps {
		mustSQL(t, sessions[st.session], st.sql)
	}
}

// TestPatchedCommitTornTail: a crash while a block's COMMIT of several
// patched batches was being written (the entry's tail torn off) leaves
// the rows as they were before that COMMIT, and what follows it is
// logged as edits of those rows again.
func TestPatchedCommitTornTail(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, `CREATE TABLE acc (id int PRIMARY KEY, bal int, amount float8, note text, seen timestamp);
		INSERT INTO acc SELECT g, g, g, 'n' || g, NULL FROM generate_series(1, 300) g; CHECKPOINT;
		UPDATE acc SET bal = 0 WHERE id = 10; DELETE FROM acc WHERE id = 11`)
	before := one(t, s, acctState)
	mustSQL(t, s, "BEGIN; UPDATE acc SET bal = 1 WHERE id = 12; UPDATE acc SET note = NULL WHERE id = 12; UPDATE acc SET bal = 2 WHERE id = 250; DELETE FROM acc WHERE id = 13; COMMIT")
	s.Close()
	crash(t, db, mem)
	if err := os.Truncate(filepath.Join(dir, "wal.log"), walSize(t, dir)-5); err != nil {
		t.Fatal(err)
	}
	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	if got := one(t, s, acctState); got != before {
		t.Errorf("after a torn COMMIT: %s, want the rows before it, %s", got, before)
	}
	compared := db.store.LogComparedRows()
	mustSQL(t, s, "BEGIN; UPDATE acc SET bal = 3 WHERE id = 12; UPDATE acc SET bal = 4 WHERE id = 12; COMMIT")
	if got := db.store.LogComparedRows() - compared; got != 0 {
		t.Errorf("the log compared %d rows with the batches replacing them", got)
	}
	want := one(t, s, acctState)
	s.Close()
	crash(t, db, mem)
	db, mem = openWALTest(t, dir)
	if got := one(t, db.NewSession(), acctState); got != want {
		t.Errorf("after a crash: %s, want %s", got, want)
	}
	closeClean(t, db, mem)
}
