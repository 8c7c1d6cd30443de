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
