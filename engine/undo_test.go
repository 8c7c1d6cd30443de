package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// TestFailedFlushUndoesPileOfCommits: four commits on one table — blocks
// and single statements, three of them changing the same row — install
// on top of each other while a flush runs, and the next flush, which
// carries all four, fails on a full disk. Each is undone (whatever order
// they wake in), so memory and the reopened directory hold only the
// acknowledged commits.
func TestFailedFlushUndoesPileOfCommits(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, `CREATE TABLE acct (id int PRIMARY KEY, bal bigint); INSERT INTO acct VALUES (1, 100), (2, 200);
		CREATE TABLE hist (n int); CREATE TABLE z1 (n int); CREATE TABLE z2 (n int); CHECKPOINT`)
	// the size of the log entry of a one-row insert into a table like z2
	db.store.LimitDisk(1 << 40) // (gives back the log's room: its file ends at its last entry)
	before := logFileSize(t, dir)
	mustSQL(t, s, "INSERT INTO z1 VALUES (1)")
	db.store.LimitDisk(1 << 40)
	entry := logFileSize(t, dir) - before
	// room for that entry only: the flush after it fails
	db.store.LimitDisk(entry + 16)
	stalled, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	db.store.StallLogSync(func() {
		once.Do(func() {
			close(stalled)
			<-release
		})
	})
	results := make(chan error, 5)
	run := func(sql string) {
		ws := db.NewSession()
		defer ws.Close()
		err := execSQL(t, ws, sql)
		if err != nil {
			err = fmt.Errorf("%s: %w", sql, err)
		}
		results <- err
	}
	go run("INSERT INTO z2 VALUES (1)") // its flush stalls
	<-stalled
	failing := []string{
		"BEGIN; UPDATE acct SET bal = bal + 1 WHERE id = 1; INSERT INTO hist VALUES (1); COMMIT",
		"INSERT INTO hist VALUES (2)",
		"BEGIN; UPDATE acct SET bal = bal + 10 WHERE id = 1; INSERT INTO hist VALUES (3); COMMIT",
		"UPDATE acct SET bal = bal + 100 WHERE id = 1",
		"BEGIN; UPDATE acct SET bal = bal + 1000 WHERE id = 2; INSERT INTO hist VALUES (4); COMMIT",
	}
	for _, sql := range failing {
		queued, _ := db.store.LogSyncs()
		go run(sql)
		waitForEntries(t, db, queued+1) // installed and queued behind the stalled flush
	}
	close(release)
	var failed int
	for range 1 + len(failing) {
		err := <-results
		switch {
		case err == nil:
		case sqlerr.Code(err) == sqlerr.DiskFull:
			failed++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	db.store.StallLogSync(nil)
	if failed != len(failing) {
		t.Fatalf("%d commits failed, want the %d behind the stalled flush", failed, len(failing))
	}
	const want = "100|200|0|1"
	check := func(when string) {
		t.Helper()
		if got := one(t, db.NewSession(), "SELECT (SELECT bal FROM acct WHERE id = 1), (SELECT bal FROM acct WHERE id = 2), (SELECT count(*) FROM hist), (SELECT count(*) FROM z2)"); got != want {
			t.Errorf("%s: %s, want %s", when, got, want)
		}
	}
	check("after the failed flush")
	if n := len(db.failed.snapshot()); n != 0 {
		t.Errorf("%d failed commits left to undo", n)
	}
	// with room again, the next commits are stored (by a checkpoint: the
	// log is unusable) and nothing of the failed ones with them
	db.store.UnlimitDisk()
	mustSQL(t, s, "INSERT INTO z1 VALUES (2)")
	check("after the next commit")
	s.Close()
	crash(t, db, mem)
	db, mem = openWALTest(t, dir)
	check("reopened")
	closeClean(t, db, mem)
}

func logFileSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "wal.log"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// waitForEntries waits until the log has queued n entries.
func waitForEntries(t *testing.T, db *DB, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if queued, _ := db.store.LogSyncs(); queued >= n {
			return
		}
	}
	t.Fatalf("the log never queued entry %d", n)
}

// TestFailedBlockCommitIsUndone: a block's COMMIT queues its log entry
// (or, for a change too large for the log, runs a checkpoint) after it
// has let go of its table locks; when that fails on a full disk, the
// commit fails with 53100 and is undone, so memory and the reopened
// directory hold only what was acknowledged.
func TestFailedBlockCommitIsUndone(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, `CREATE TABLE acct (id int PRIMARY KEY, bal bigint); INSERT INTO acct SELECT g, 100 FROM generate_series(1, 10) g;
		CREATE TABLE hist (n int, pad text); CHECKPOINT`)
	const want = "1000|0"
	check := func(when string) {
		t.Helper()
		if got := one(t, s, "SELECT (SELECT sum(bal) FROM acct), (SELECT count(*) FROM hist)"); got != want {
			t.Errorf("%s: %s, want %s", when, got, want)
		}
	}
	for _, budget := range []int64{0, 64, 400} {
		for _, block := range []string{
			"BEGIN; INSERT INTO hist VALUES (1, 'x'); COMMIT",
			"BEGIN; UPDATE acct SET bal = bal + 5 WHERE id = 3; INSERT INTO hist VALUES (2, 'y'); COMMIT",
			// more than a log entry takes: a checkpoint stores it
			"BEGIN; UPDATE acct SET bal = bal - 1; INSERT INTO hist SELECT g, repeat('z', 1000) FROM generate_series(1, 20000) g; COMMIT",
		} {
			db.store.LimitDisk(budget)
			err := execSQL(t, s, block)
			if sqlerr.Code(err) != sqlerr.DiskFull {
				t.Fatalf("budget %d: %s: got %v, want a 53100 error", budget, block, err)
			}
			if s.InTransaction() {
				t.Fatalf("budget %d: %s: the block is still open after its COMMIT failed", budget, block)
			}
			check(fmt.Sprintf("budget %d, after the failed %s", budget, block))
			if n := len(db.failed.snapshot()); n != 0 {
				t.Errorf("budget %d: %d failed commits left to undo", budget, n)
			}
		}
	}
	db.store.UnlimitDisk()
	mustSQL(t, s, "BEGIN; UPDATE acct SET bal = bal + 5 WHERE id = 3; INSERT INTO hist VALUES (2, 'y'); COMMIT")
	s.Close()
	crash(t, db, mem)
	db, mem = openWALTest(t, dir)
	if got := one(t, db.NewSession(), "SELECT (SELECT sum(bal) FROM acct), (SELECT count(*) FROM hist)"); got != "1005|1" {
		t.Errorf("after the disk had room again and a restart: %s, want 1005|1", got)
	}
	closeClean(t, db, mem)
}
