package engine

import (
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// heapBatches counts the batches of table name's current data that are
// held in memory rather than read from a segment file on demand.
func heapBatches(t *testing.T, db *DB, name string) int {
	t.Helper()
	tbl, _, ok := db.cat.Lookup("public", name, nil)
	if !ok || tbl == nil {
		t.Fatalf("no table %s", name)
	}
	snap := tbl.Snapshot()
	defer snap.Release()
	n := 0
	for _, p := range snap.Parts {
		for _, r := range p {
			if _, lazy := r.(catalog.Loader); !lazy {
				n++
			}
		}
	}
	return n
}

// TestBulkWritesReadBackFromSegments: rows a statement wrote and a
// checkpoint stored (a bulk INSERT … SELECT, a COPY from a file) are read
// from their segment files afterwards, as after a reopen, instead of
// staying on the heap; the tables answer the same, the primary key still
// refuses a duplicate, later changes go on top, and a reopen finds all.
func TestBulkWritesReadBackFromSegments(t *testing.T) {
	dir := t.TempDir()
	open := func() (*DB, *memory.CheckedAllocator) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		db, err := Open(Options{DataDir: filepath.Join(dir, "data"), FilesDir: dir, Mem: mem, Partitions: 2})
		if err != nil {
			t.Fatal(err)
		}
		return db, mem
	}
	db, mem := open()
	s := db.NewSession()
	// 200,000 rows of ~100 bytes: past what one log entry takes, so the
	// INSERT is stored by a checkpoint
	mustSQL(t, s, "CREATE TABLE big (k int PRIMARY KEY, pad text)")
	mustSQL(t, s, "INSERT INTO big SELECT g, repeat('x', 100) || g FROM generate_series(1, 200000) g")
	if n := heapBatches(t, db, "big"); n != 0 {
		t.Errorf("after a bulk INSERT, %d batches of big are still on the heap", n)
	}
	const whole = "200000|20000100000|21088895"
	if got := one(t, s, "SELECT count(*), sum(k), sum(length(pad)) FROM big"); got != whole {
		t.Errorf("big holds %s, want %s", got, whole)
	}
	mustSQL(t, s, "COPY big TO 'big.csv' (FORMAT csv)")
	mustSQL(t, s, "CREATE TABLE copied (k int PRIMARY KEY, pad text)")
	mustSQL(t, s, "COPY copied FROM 'big.csv' (FORMAT csv)")
	if n := heapBatches(t, db, "copied"); n != 0 {
		t.Errorf("after COPY, %d batches of copied are still on the heap", n)
	}
	// the key index is the file the checkpoint wrote: a lookup reads one
	// segment, where building the index again would read them all
	before := db.store.SegmentReads()
	if got := one(t, s, "SELECT length(pad), right(pad, 7) FROM copied WHERE k = 123457"); got != "106|x123457" {
		t.Errorf("lookup after COPY: %q", got)
	}
	if read := db.store.SegmentReads() - before; read > 1 {
		t.Errorf("a lookup by key after COPY read %d segments, want at most 1", read)
	}
	if err := execSQL(t, s, "INSERT INTO copied VALUES (5, 'dup')"); sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Errorf("duplicate key after COPY: got %v, want %s", err, sqlerr.UniqueViolation)
	}
	mustSQL(t, s, "INSERT INTO copied VALUES (200001, 'new')")
	mustSQL(t, s, "UPDATE copied SET pad = 'changed' WHERE k = 7")
	// a second bulk load into a table holding rows is read back too
	mustSQL(t, s, "INSERT INTO big SELECT g, repeat('y', 100) || g FROM generate_series(200001, 400000) g")
	if n := heapBatches(t, db, "big"); n != 0 {
		t.Errorf("after a second bulk INSERT, %d batches of big are still on the heap", n)
	}
	if err := execSQL(t, s, "INSERT INTO big VALUES (300000, 'dup')"); sqlerr.Code(err) != sqlerr.UniqueViolation {
		t.Errorf("duplicate key after the second load: got %v, want %s", err, sqlerr.UniqueViolation)
	}
	// an UPDATE of every row, stored by a checkpoint too, stays as it is
	mustSQL(t, s, "CREATE TABLE upd AS SELECT g AS k, repeat('z', 100) AS pad FROM generate_series(1, 200000) g")
	mustSQL(t, s, "UPDATE upd SET pad = pad || 'u'")
	if n := heapBatches(t, db, "upd"); n == 0 {
		t.Errorf("an UPDATE's batches were read back from segments: only loads are")
	}
	mustSQL(t, s, "DELETE FROM big WHERE k > 200000")
	const changed = "200001|20000300001|21088804|1"
	check := func(s *Session) {
		t.Helper()
		if got := one(t, s, "SELECT count(*), sum(k), sum(length(pad)), count(*) FILTER (WHERE pad = 'changed') FROM copied"); got != changed {
			t.Errorf("copied holds %s, want %s", got, changed)
		}
		if got := one(t, s, "SELECT count(*), sum(k), sum(length(pad)) FROM big"); got != whole {
			t.Errorf("big holds %s, want %s", got, whole)
		}
	}
	check(s)
	s.Close()
	closeClean(t, db, mem)

	db, mem = open()
	s = db.NewSession()
	check(s)
	s.Close()
	closeClean(t, db, mem)
}
