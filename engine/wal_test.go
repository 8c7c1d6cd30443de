package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/weftdb/weft/storage"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// These tests look inside the store: they stop a database the way a crash
// would (no checkpoint, no clean close), tear and swap log files, and run
// the disk full.

func openWALTest(t *testing.T, dir string) (*DB, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := Open(Options{DataDir: dir, Mem: mem, Partitions: 2, BatchSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	return db, mem
}

// crash drops db without folding its log into segments, as a killed
// process would, and checks that it leaked no Arrow memory.
func crash(t *testing.T, db *DB, mem *memory.CheckedAllocator) {
	t.Helper()
	db.failed.releaseAll()
	db.cat.Close()
	db.store.Close()
	db.udf.Close()
	mem.AssertSize(t, 0)
}

func closeClean(t *testing.T, db *DB, mem *memory.CheckedAllocator) {
	t.Helper()
	db.Close()
	mem.AssertSize(t, 0)
}

func execSQL(t *testing.T, s *Session, sql string) error {
	t.Helper()
	rs, err := s.Exec(context.Background(), sql)
	for _, r := range rs {
		r.Release()
	}
	return err
}

func mustSQL(t *testing.T, s *Session, sql string) {
	t.Helper()
	if err := execSQL(t, s, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// one runs a query returning one row and renders it as "v1|v2|…".
func one(t *testing.T, s *Session, sql string) string {
	t.Helper()
	res, err := s.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	defer res.Release()
	var out []string
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			for c, col := range res.Columns {
				if d := exec.DatumAt(b.Column(c), i); d == nil {
					out = append(out, "NULL")
				} else {
					out = append(out, types.Format(col.Type, d))
				}
			}
		}
	}
	return strings.Join(out, "|")
}

func segmentFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// walSize is where the entries of dir's log end (the file itself is
// allocated ahead in zeros).
func walSize(t *testing.T, dir string) int64 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "wal.log"))
	if err != nil {
		t.Fatal(err)
	}
	lg, err := storage.ParseLogHeader(raw)
	if err == nil {
		err = lg.Scan(raw)
	}
	if err != nil {
		t.Fatal(err)
	}
	return lg.End
}

// TestSingleRowInsertsGoToTheLog: 300 single-row INSERTs (plain and
// prepared) write no segment files; after a crash the log brings every row
// back; a clean close or CHECKPOINT folds the log into a few segments.
func TestSingleRowInsertsGoToTheLog(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE t (id int, name text)")
	before := segmentFiles(t, dir)
	p, err := s.Prepare(context.Background(), "INSERT INTO t VALUES ($1, $2)", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 300; i++ {
		if i%2 == 0 {
			mustSQL(t, s, fmt.Sprintf("INSERT INTO t VALUES (%d, 'row %d')", i, i))
			continue
		}
		id, err1 := types.Parse(p.ParamTypes[0], fmt.Sprint(i))
		name, err2 := types.Parse(p.ParamTypes[1], fmt.Sprintf("row %d", i))
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		res, err := s.ExecPrepared(context.Background(), p, []types.Datum{id, name})
		if err != nil {
			t.Fatal(err)
		}
		res.Release()
	}
	if got := segmentFiles(t, dir); got != before {
		t.Errorf("300 single-row inserts wrote %d segment files", got-before)
	}
	if walSize(t, dir) <= walHeaderSize {
		t.Fatal("the inserts did not go to the log")
	}
	s.Close()
	crash(t, db, mem)

	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	if got := one(t, s, "SELECT count(*), sum(id), max(name) FROM t"); got != "300|45150|row 99" {
		t.Errorf("after the crash: %s", got)
	}
	mustSQL(t, s, "CHECKPOINT")
	if walSize(t, dir) != walHeaderSize {
		t.Errorf("CHECKPOINT left %d bytes of log", walSize(t, dir))
	}
	if n := segmentFiles(t, dir); n == 0 || n > 16 {
		t.Errorf("CHECKPOINT wrote %d segments for 300 rows", n)
	}
	mustSQL(t, s, "INSERT INTO t VALUES (301, 'last')")
	s.Close()
	closeClean(t, db, mem)
	if walSize(t, dir) != walHeaderSize {
		t.Errorf("a clean close left %d bytes of log", walSize(t, dir))
	}
	db, mem = openWALTest(t, dir)
	if got := one(t, db.NewSession(), "SELECT count(*), sum(id) FROM t"); got != "301|45451" {
		t.Errorf("after a clean close: %s", got)
	}
	closeClean(t, db, mem)
}

// TestTornLogTail cuts the last log entry short (a crash while it was
// written, so never acknowledged): open drops it and keeps the rest, and
// later appends follow the last good entry.
func TestTornLogTail(t *testing.T) {
	for _, cut := range []int64{1, 7, 30} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			db, mem := openWALTest(t, dir)
			s := db.NewSession()
			mustSQL(t, s, "CREATE TABLE t (a int)")
			for i := 1; i <= 5; i++ {
				mustSQL(t, s, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
			}
			crash(t, db, mem)
			path := filepath.Join(dir, "wal.log")
			if err := os.Truncate(path, walSize(t, dir)-cut); err != nil {
				t.Fatal(err)
			}
			db, mem = openWALTest(t, dir)
			s = db.NewSession()
			if got := one(t, s, "SELECT count(*), sum(a) FROM t"); got != "4|10" {
				t.Errorf("after a torn tail: %s", got)
			}
			mustSQL(t, s, "INSERT INTO t VALUES (100)")
			crash(t, db, mem)
			db, mem = openWALTest(t, dir)
			if got := one(t, db.NewSession(), "SELECT count(*), sum(a) FROM t"); got != "5|110" {
				t.Errorf("after appending past the torn tail: %s", got)
			}
			closeClean(t, db, mem)
		})
	}
}

// TestStaleLogIsIgnored: a crash after a checkpoint wrote the catalog but
// before it started the new log leaves the old log, whose rows are already
// in segments; replaying it would double them.
func TestStaleLogIsIgnored(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE t (a int)")
	for i := 1; i <= 10; i++ {
		mustSQL(t, s, fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
	}
	old, err := os.ReadFile(filepath.Join(dir, "wal.log"))
	if err != nil {
		t.Fatal(err)
	}
	mustSQL(t, s, "CHECKPOINT")
	crash(t, db, mem)
	if err := os.WriteFile(filepath.Join(dir, "wal.log"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	db, mem = openWALTest(t, dir)
	if got := one(t, db.NewSession(), "SELECT count(*), sum(a) FROM t"); got != "10|55" {
		t.Errorf("with a stale log: %s", got)
	}
	closeClean(t, db, mem)
}

// TestDiskFull runs the store out of space for a logged append, a large
// INSERT that writes segments, an UPDATE and a CREATE TABLE: each fails
// with 53100, the table stays readable and unchanged, and once space is
// back everything works and survives a restart.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE t (a int, b text)")
	mustSQL(t, s, "INSERT INTO t SELECT g, 'x' || g FROM generate_series(1, 100) g")
	const want = "100|5050"
	for _, budget := range []int64{0, 64, 400} {
		db.store.LimitDisk(budget)
		for _, sql := range []string{
			"INSERT INTO t VALUES (1000, 'one more')",
			// more than a log entry takes: written as segments
			"INSERT INTO t SELECT g, repeat('y', 1000) FROM generate_series(1, 20000) g",
			"UPDATE t SET a = a + 1",
			"DELETE FROM t WHERE a < 50",
			"CREATE TABLE u AS SELECT * FROM t",
		} {
			err := execSQL(t, s, sql)
			var e *sqlerr.Error
			if !errors.As(err, &e) || e.Code != sqlerr.DiskFull {
				t.Fatalf("budget %d: %s: got %v, want a 53100 error", budget, sql, err)
			}
			if got := one(t, s, "SELECT count(*), sum(a) FROM t"); got != want {
				t.Fatalf("budget %d: after the failed %s the table holds %s", budget, sql, got)
			}
		}
	}
	db.store.UnlimitDisk()
	mustSQL(t, s, "INSERT INTO t VALUES (1000, 'one more')")
	mustSQL(t, s, "UPDATE t SET a = a + 1 WHERE a = 1000")
	s.Close()
	crash(t, db, mem)
	db, mem = openWALTest(t, dir)
	if got := one(t, db.NewSession(), "SELECT count(*), sum(a) FROM t"); got != "101|6051" {
		t.Errorf("after the disk had room again and a restart: %s", got)
	}
	closeClean(t, db, mem)
}

// TestCheckpointSeesWholeCommits: a checkpoint that starts while a
// transaction block's COMMIT is between the two tables it installs stores
// both or neither. The checkpoint runs from inside the COMMIT (a hook
// between the tables) and gets 200 ms to take its snapshot there; it must
// not manage, and when it does run its image adds up.
func TestCheckpointSeesWholeCommits(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, `CREATE TABLE acct (id int, bal bigint); INSERT INTO acct SELECT g, 1000 FROM generate_series(1, 10) g;
		CREATE TABLE moves (n bigint, amount bigint); CHECKPOINT`)
	var imageTotal int64
	snapped := make(chan bool)
	db.betweenInstalls = func() {
		done := make(chan struct{})
		go func() {
			im := db.snapshotTables()
			imageTotal = sumColumn(im, "acct", 1) + sumColumn(im, "moves", 1)
			im.release()
			close(done)
		}()
		select {
		case <-done:
			snapped <- true // the snapshot did not wait for the commit
		case <-time.After(200 * time.Millisecond):
			go func() { <-done; snapped <- false }()
		}
	}
	committed := make(chan error)
	go func() {
		committed <- execSQL(t, s, "BEGIN; UPDATE acct SET bal = bal - 5 WHERE id = 3; INSERT INTO moves VALUES (1, 5); COMMIT")
	}()
	if <-snapped {
		t.Error("a checkpoint took its snapshot between the tables a COMMIT installs")
	}
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if imageTotal != 10000 {
		t.Errorf("the checkpoint's image holds a total of %d, want 10000", imageTotal)
	}
	db.betweenInstalls = nil
	if got := one(t, s, "SELECT (SELECT sum(bal) FROM acct), (SELECT sum(amount) FROM moves)"); got != "9995|5" {
		t.Errorf("after the commit: %s", got)
	}
	s.Close()
	crash(t, db, mem)
	db, mem = openWALTest(t, dir)
	if got := one(t, db.NewSession(), "SELECT (SELECT sum(bal) FROM acct), (SELECT sum(amount) FROM moves)"); got != "9995|5" {
		t.Errorf("after a restart: %s", got)
	}
	closeClean(t, db, mem)
}

// sumColumn adds up bigint column col of table name in an image.
func sumColumn(im *tableImages, name string, col int) int64 {
	var sum int64
	for _, ti := range im.tables {
		if ti.table.Name != name {
			continue
		}
		for _, p := range ti.data.Parts {
			for _, r := range p {
				for _, v := range r.Column(col).(*array.Int64).Int64Values() {
					sum += v
				}
			}
		}
	}
	return sum
}
