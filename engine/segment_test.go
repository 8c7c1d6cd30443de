package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func openSegmentTest(t *testing.T, dir string, segmentBytes int64) (*DB, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := Open(Options{DataDir: dir, Mem: mem, Partitions: 2, SegmentBytes: segmentBytes})
	if err != nil {
		t.Fatal(err)
	}
	return db, mem
}

// segmentSizes lists the size of every segment file.
func segmentSizes(t *testing.T, dir string) []int64 {
	t.Helper()
	var sizes []int64
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			sizes = append(sizes, fi.Size())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sizes
}

// TestLargeBatchesAreSplitIntoSegments is the repro of a table whose
// batches outgrew what a reader takes in (open then failed for every
// table): with a small segment target, a table of wide rows is stored as
// many files, none much larger than the target, and reads back whole.
func TestLargeBatchesAreSplitIntoSegments(t *testing.T) {
	const target = 64 << 10
	dir := t.TempDir()
	db, mem := openSegmentTest(t, dir, target)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE docs (id int, body text)")
	// 2000 rows of 1280 bytes: two batches of 1000 rows, 1.3 MB each
	mustSQL(t, s, "INSERT INTO docs SELECT g, repeat(md5(g::text), 40) FROM generate_series(1, 2000) g")
	// arrays are measured by their elements
	mustSQL(t, s, "CREATE TABLE tagged (id int, tags text[])")
	mustSQL(t, s, "INSERT INTO tagged SELECT g, ARRAY[repeat(md5(g::text), 20), md5(g::text)] FROM generate_series(1, 1000) g")
	mustSQL(t, s, "CHECKPOINT")
	s.Close()
	closeClean(t, db, mem)

	sizes := segmentSizes(t, dir)
	if len(sizes) < (1280*2000+680*1000)/target {
		t.Errorf("%d segment files for 2.5 MB at a target of %d bytes", len(sizes), target)
	}
	for _, n := range sizes {
		if n > target+16<<10 {
			t.Errorf("a segment file of %d bytes, target %d", n, target)
		}
	}
	db, mem = openSegmentTest(t, dir, target)
	s = db.NewSession()
	const query = "SELECT count(*), sum(id), sum(length(body)), count(*) FILTER (WHERE body = repeat(md5(id::text), 40)) FROM docs"
	if got := one(t, s, query); got != "2000|2001000|2560000|2000" {
		t.Errorf("after a restart: %s", got)
	}
	if got := one(t, s, "SELECT count(*), sum(length(tags[1])), count(*) FILTER (WHERE tags[2] = md5(id::text)) FROM tagged"); got != "1000|640000|1000" {
		t.Errorf("arrays after a restart: %s", got)
	}
	// an UPDATE of one row rewrites a split batch's files, and they read back
	mustSQL(t, s, "UPDATE docs SET body = 'short' WHERE id = 7")
	s.Close()
	closeClean(t, db, mem)
	db, mem = openSegmentTest(t, dir, target)
	if got := one(t, db.NewSession(), "SELECT count(*), sum(length(body)), count(*) FILTER (WHERE body = 'short') FROM docs"); got != "2000|2558725|1" {
		t.Errorf("after an update and a restart: %s", got)
	}
	closeClean(t, db, mem)
}

// TestLargeValueRoundTrips stores a single 40 MB value, far above the
// segment target: through the log (a crash), then in a segment of its own
// (a checkpoint), and reads it back both times.
func TestLargeValueRoundTrips(t *testing.T) {
	const target = 1 << 20
	const size = 40 << 20
	dir := t.TempDir()
	db, mem := openSegmentTest(t, dir, target)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE big (id int, body text)")
	mustSQL(t, s, fmt.Sprintf("INSERT INTO big VALUES (1, repeat('x', %d)), (2, 'small')", size))
	s.Close()
	crash(t, db, mem)

	want := fmt.Sprintf("2|%d|1", size+5)
	query := fmt.Sprintf("SELECT count(*), sum(length(body)), count(*) FILTER (WHERE body = repeat('x', %d)) FROM big", size)
	db, mem = openSegmentTest(t, dir, target)
	s = db.NewSession()
	if got := one(t, s, query); got != want {
		t.Errorf("replayed from the log: %s", got)
	}
	mustSQL(t, s, "CHECKPOINT")
	s.Close()
	closeClean(t, db, mem)
	largest := int64(0)
	for _, n := range segmentSizes(t, dir) {
		largest = max(largest, n)
	}
	if largest < size {
		t.Fatalf("the largest segment file has %d bytes; the value has %d", largest, size)
	}
	db, mem = openSegmentTest(t, dir, target)
	if got := one(t, db.NewSession(), query); got != want {
		t.Errorf("read from a segment: %s", got)
	}
	closeClean(t, db, mem)
}
