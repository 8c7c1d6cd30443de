package engine_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestBlocksAreIsolated: a transaction block's changes are invisible to
// other sessions until COMMIT, vanish on ROLLBACK, merge with other
// sessions' appends, and make another session's change of the same row
// wait for them.
func TestBlocksAreIsolated(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dir := t.TempDir()
	db := openDir(t, dir, mem)
	a, b := db.NewSession(), db.NewSession()
	mustExec(t, a, "CREATE TABLE acct (id int, bal int); INSERT INTO acct VALUES (1, 100), (2, 50)")
	sessions := []*engine.Session{a, b}
	// check runs q in the listed sessions (0 is a, 1 is b)
	check := func(step, q string, want string, which ...int) {
		t.Helper()
		for _, i := range which {
			if got := rows(t, sessions[i], q); len(got) != 1 || got[0] != want {
				t.Errorf("%s: session %d: %s = %v, want %s", step, i, q, got, want)
			}
		}
	}

	// a private update: only its own session sees it until COMMIT
	mustExec(t, a, "BEGIN; UPDATE acct SET bal = bal - 30 WHERE id = 1; UPDATE acct SET bal = bal + 30 WHERE id = 2")
	check("in block", "SELECT string_agg(bal::text, ',' ORDER BY id) FROM acct", "70,80", 0)
	check("other session during block", "SELECT string_agg(bal::text, ',' ORDER BY id) FROM acct", "100,50", 1)
	mustExec(t, a, "COMMIT")
	check("after commit", "SELECT string_agg(bal::text, ',' ORDER BY id) FROM acct", "70,80", 0, 1)

	// ROLLBACK: nobody ever sees the change
	mustExec(t, a, "BEGIN; DELETE FROM acct; INSERT INTO acct VALUES (9, 9)")
	check("delete in block", "SELECT count(*) FROM acct", "1", 0)
	check("delete elsewhere", "SELECT count(*) FROM acct", "2", 1)
	mustExec(t, a, "ROLLBACK")
	check("after rollback", "SELECT count(*) FROM acct", "2", 0, 1)

	// appends merge with another session's committed rows
	mustExec(t, a, "BEGIN; INSERT INTO acct VALUES (3, 1)")
	mustExec(t, b, "INSERT INTO acct VALUES (4, 2)")
	mustExec(t, a, "INSERT INTO acct VALUES (5, 3); COMMIT")
	check("merged appends", "SELECT string_agg(id::text, ',' ORDER BY id) FROM acct", "1,2,3,4,5", 0, 1)

	// updates merge row by row with other sessions' changes to other rows
	mustExec(t, a, "BEGIN; UPDATE acct SET bal = 0 WHERE id = 1")
	mustExec(t, b, "INSERT INTO acct VALUES (6, 4); UPDATE acct SET bal = bal + 1 WHERE id = 2")
	mustExec(t, a, "COMMIT")
	check("merged update", "SELECT string_agg(id || ':' || bal, ',' ORDER BY id) FROM acct", "1:0,2:81,3:1,4:2,5:3,6:4", 0, 1)

	// the same row changed by both: the second waits for the block (the
	// table has no primary key: its rows are locked by their values), then
	// changes the row as committed, as PostgreSQL's READ COMMITTED
	mustExec(t, a, "BEGIN; UPDATE acct SET bal = 10 WHERE id = 1")
	second := make(chan error, 1)
	go func() {
		_, err := b.Exec(ctx, "UPDATE acct SET bal = bal + 20 WHERE id = 1")
		second <- err
	}()
	if _, err := a.Exec(ctx, "COMMIT"); err != nil {
		t.Fatalf("commit of the first: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the second update: %v", err)
	}
	check("after both", "SELECT count(*), sum(bal) FROM acct", "6|121", 0, 1)

	// keys hold across sessions: a block's row whose key another session
	// committed meanwhile fails the COMMIT
	mustExec(t, a, "CREATE UNIQUE INDEX acct_id ON acct (id)")
	mustExec(t, a, "BEGIN; INSERT INTO acct VALUES (30, 0)")
	mustExec(t, b, "INSERT INTO acct VALUES (30, 1)")
	if _, err := a.Exec(ctx, "COMMIT"); sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Fatalf("commit of a duplicate key: want 23505, got %v", err)
	}
	check("after duplicate commit", "SELECT sum(bal) FROM acct WHERE id = 30", "1", 0, 1)
	mustExec(t, a, "DELETE FROM acct WHERE id = 30")

	// savepoints roll the private version back
	mustExec(t, a, "BEGIN; INSERT INTO acct VALUES (7, 0); SAVEPOINT s; DELETE FROM acct WHERE id = 1; ROLLBACK TO SAVEPOINT s; COMMIT")
	check("savepoint", "SELECT count(*) FROM acct WHERE id IN (1, 7)", "2", 0, 1)

	// an uncommitted block is not on disk: an image of the data directory
	// taken while it is open (what a crash would leave) lacks its row
	mustExec(t, a, "BEGIN; INSERT INTO acct VALUES (8, 0)")
	image := t.TempDir()
	copyDir(t, dir, image)
	a.Close()
	b.Close()
	db.Close()
	db = openDir(t, image, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	c := db.NewSession()
	if got := rows(t, c, "SELECT string_agg(id::text, ',' ORDER BY id) FROM acct"); len(got) != 1 || got[0] != "1,2,3,4,5,6,7" {
		t.Errorf("after restart: %v", got)
	}
}

// copyDir copies a directory tree's regular files.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTempTables: a session's temporary tables shadow its other tables,
// are invisible to other sessions, end with the session and never reach
// the data directory (not even through the write-ahead log).
func TestTempTables(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	dir := t.TempDir()
	db := openDir(t, dir, mem)
	a, b := db.NewSession(), db.NewSession()
	mustExec(t, a, "CREATE TABLE t (v text); INSERT INTO t VALUES ('shared'); CREATE TEMP TABLE t (v text); INSERT INTO t VALUES ('private')")
	if got := rows(t, a, "SELECT v FROM t"); len(got) != 1 || got[0] != "private" {
		t.Errorf("own session: %v", got)
	}
	if got := rows(t, b, "SELECT v FROM t"); len(got) != 1 || got[0] != "shared" {
		t.Errorf("other session: %v", got)
	}
	a.Close()
	if got := rows(t, b, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp%'"); len(got) != 1 || got[0] != "0" {
		t.Errorf("temporary schema after close: %v", got)
	}
	c := db.NewSession()
	mustExec(t, c, "CREATE TEMP TABLE scratch (n int); INSERT INTO scratch VALUES (1)")
	image := t.TempDir()
	copyDir(t, dir, image) // c is still open: as a crash would leave it
	c.Close()
	b.Close()
	db.Close()
	db = openDir(t, image, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	if got := rows(t, s, "SELECT count(*) FROM pg_class WHERE relname = 'scratch'"); len(got) != 1 || got[0] != "0" {
		t.Errorf("a temporary table reached the disk: %v", got)
	}
	if got := rows(t, s, "SELECT v FROM t"); len(got) != 1 || got[0] != "shared" {
		t.Errorf("after restart: %v", got)
	}
}

// TestConcurrentUpsertBlocks runs counter upserts from 6 sessions, half
// inside blocks (retried on 40001), half as single statements, and checks
// that no increment is lost or doubled and no key is duplicated.
func TestConcurrentUpsertBlocks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, t.TempDir(), mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	setup := db.NewSession()
	mustExec(t, setup, "CREATE TABLE hits (k int PRIMARY KEY, n int NOT NULL)")
	setup.Close()
	const workers, rounds, keys = 6, 25, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := db.NewSession()
			defer s.Close()
			for i := 0; i < rounds; i++ {
				q := fmt.Sprintf("INSERT INTO hits VALUES (%d, 1) ON CONFLICT (k) DO UPDATE SET n = hits.n + 1", (w+i)%keys)
				if w%2 == 1 {
					q = "BEGIN; " + q + "; COMMIT"
				}
				for {
					rs, err := s.Exec(context.Background(), q)
					for _, r := range rs {
						r.Release()
					}
					if err == nil {
						break
					}
					if s.InTransaction() {
						if rs, err := s.Exec(context.Background(), "ROLLBACK"); err == nil {
							for _, r := range rs {
								r.Release()
							}
						}
					}
					if sqlerr.Code(err) != sqlerr.SerializationFailure {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check := db.NewSession()
	defer check.Close()
	if got := rows(t, check, "SELECT count(*), count(DISTINCT k), sum(n) FROM hits"); len(got) != 1 || got[0] != fmt.Sprintf("%d|%d|%d", keys, keys, workers*rounds) {
		t.Errorf("after the upserts: %v, want %d keys and %d increments", got, keys, workers*rounds)
	}
}

// TestBlocksMergeByBatch: blocks that update or delete different rows of
// a table of many batches (a primary key, NULLs in some batches) all
// commit, whether their rows share a batch or not; a REPEATABLE READ
// block that changes a row another committed since fails with 40001;
// every answer is the
// arithmetic of what committed.
func TestBlocksMergeByBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, DataDir: t.TempDir(), Partitions: 2, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.AssertSize(t, 0)
	defer db.Close()
	s := []*engine.Session{db.NewSession(), db.NewSession(), db.NewSession()}
	defer func() {
		for _, x := range s {
			x.Close()
		}
	}()
	mustExec(t, s[0], "CREATE TABLE acct (id int PRIMARY KEY, bal int, note text)")
	mustExec(t, s[0], "INSERT INTO acct SELECT g, 100, NULL FROM generate_series(1, 500) g")
	mustExec(t, s[0], "INSERT INTO acct SELECT g, 100, 'n' || g FROM generate_series(501, 1000) g")
	sum := func() string { return rows(t, s[2], "SELECT count(*) || ',' || sum(bal) FROM acct")[0] }

	// far apart (other batches) and close together (the same batch)
	mustExec(t, s[0], "BEGIN; UPDATE acct SET bal = bal + 1 WHERE id = 10")
	mustExec(t, s[1], "BEGIN; UPDATE acct SET bal = bal + 2 WHERE id = 900; UPDATE acct SET bal = bal + 3 WHERE id = 11")
	mustExec(t, s[1], "COMMIT")
	mustExec(t, s[0], "DELETE FROM acct WHERE id = 12; COMMIT")
	if got, want := sum(), "999,99906"; got != want {
		t.Errorf("after two blocks on different rows: %s, want %s", got, want)
	}
	if got := rows(t, s[2], "SELECT string_agg(bal::text, ',' ORDER BY id) FROM acct WHERE id IN (10, 11, 12, 900)")[0]; got != "101,103,102" {
		t.Errorf("the changed rows: %s", got)
	}

	// the same row at REPEATABLE READ: a block whose version of the
	// table predates the other's commit fails at its UPDATE of the row
	// (serialconflict.go; had the first block still been open, the
	// UPDATE would have waited for it, rowlocks_test.go)
	mustExec(t, s[0], "BEGIN ISOLATION LEVEL REPEATABLE READ; UPDATE acct SET bal = 0 WHERE id = 700")
	mustExec(t, s[1], "BEGIN ISOLATION LEVEL REPEATABLE READ; UPDATE acct SET note = 'x' WHERE id = 701")
	mustExec(t, s[0], "COMMIT")
	_, err = s[1].Exec(context.Background(), "UPDATE acct SET bal = 1 WHERE id = 700")
	if sqlerr.Code(err) != sqlerr.SerializationFailure {
		t.Fatalf("UPDATE of a row committed since: %v, want 40001", err)
	}
	mustExec(t, s[1], "ROLLBACK")
	if got := rows(t, s[2], "SELECT bal FROM acct WHERE id = 700")[0]; got != "0" {
		t.Errorf("row 700 holds %s after the conflict, want the first committer's 0", got)
	}

	// a key changed by a block while another adds a row with that key
	mustExec(t, s[0], "BEGIN; UPDATE acct SET id = 5000 WHERE id = 20")
	mustExec(t, s[1], "INSERT INTO acct VALUES (5000, 1, 'x')")
	_, err = s[0].Exec(context.Background(), "COMMIT")
	if sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Fatalf("COMMIT of a key another session took: %v, want 23505", err)
	}
	if got, want := sum(), "1000,99807"; got != want {
		t.Errorf("at the end: %s, want %s", got, want)
	}
}
