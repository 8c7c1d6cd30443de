package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"github.com/weftdb/weft/storage"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// dirImage maps every file under dir (but the lock) to a hash of its
// contents, to show that a refused open changed nothing.
func dirImage(t *testing.T, dir string) map[string]string {
	t.Helper()
	img := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		img[rel] = fmt.Sprintf("%x", sha256.Sum256(raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func sameImage(t *testing.T, before, after map[string]string) {
	t.Helper()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("the refused open changed the directory:\nbefore %v\nafter  %v", before, after)
	}
}

// openFails opens dir expecting an error with code whose message names
// want, and checks the directory is unchanged.
func openFails(t *testing.T, dir, code, want string) {
	t.Helper()
	before := dirImage(t, dir)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := Open(Options{DataDir: dir, Mem: mem, Partitions: 2, BatchSize: 64})
	if err == nil {
		db.Close()
		t.Fatalf("open succeeded, want a %s error naming %s", code, want)
	}
	var e *sqlerr.Error
	if !errors.As(err, &e) || e.Code != code || !strings.Contains(e.Message, want) {
		t.Fatalf("open: %v (%s), want a %s error naming %s", err, sqlerr.Code(err), code, want)
	}
	mem.AssertSize(t, 0)
	sameImage(t, before, dirImage(t, dir))
}

// makeDatabase fills a directory with a table in segments, a table in the
// log and a wasm module, and stops as a crash would.
func makeDatabase(t *testing.T, dir string) {
	t.Helper()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	// the UPDATE (logged) supersedes a segment the CHECKPOINT stored,
	// which the checkpoint of the CREATE TABLE that follows writes
	for _, sql := range []string{"CREATE TABLE seg (a int, b text)", "INSERT INTO seg SELECT g, 'v' || g FROM generate_series(1, 300) g",
		"CHECKPOINT", "UPDATE seg SET b = 'u' WHERE a = 1", "CREATE TABLE logged (a int)"} {
		mustSQL(t, s, sql)
	}
	for i := 1; i <= 3; i++ {
		mustSQL(t, s, fmt.Sprintf("INSERT INTO logged VALUES (%d)", i))
	}
	s.Close()
	crash(t, db, mem)
}

const makeDatabaseSums = "300|45150|3|6"

func checkDatabase(t *testing.T, dir string) {
	t.Helper()
	db, mem := openWALTest(t, dir)
	if got := one(t, db.NewSession(), "SELECT (SELECT count(*) FROM seg), (SELECT sum(a) FROM seg), (SELECT count(*) FROM logged), (SELECT sum(a) FROM logged)"); got != makeDatabaseSums {
		t.Errorf("database holds %s, want %s", got, makeDatabaseSums)
	}
	closeClean(t, db, mem)
}

// TestMissingCatalogRefusesToOpen: without catalog.json, a directory that
// holds segments, a module or a log with entries is not a new database:
// open fails naming catalog.json and leaves every file where it was.
func TestMissingCatalogRefusesToOpen(t *testing.T) {
	for _, c := range []struct {
		name   string
		remove []string // besides catalog.json
	}{
		{"everything else there", nil},
		{"only the log", []string{"data"}},
		{"only segments", []string{"wal.log"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			makeDatabase(t, dir)
			for _, r := range append(c.remove, "catalog.json") {
				if err := os.RemoveAll(filepath.Join(dir, r)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
				t.Fatal(err)
			}
			openFails(t, dir, sqlerr.DataCorrupted, "catalog.json")
		})
	}
}

// TestCorruptCatalogRefusesToOpen: a catalog.json that does not parse is
// an error naming it, and nothing is removed.
func TestCorruptCatalogRefusesToOpen(t *testing.T) {
	dir := t.TempDir()
	makeDatabase(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "catalog.json"), []byte(`{"version": 1, "tables": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	openFails(t, dir, sqlerr.DataCorrupted, "catalog.json")
}

// TestNewDirectories: an empty directory, one holding only files the
// store does not write (an import directory inside it), and one a
// database was opened and closed in without a change all open as an
// empty database, which writes its catalog at once.
func TestNewDirectories(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", "x.csv"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		db, mem := openWALTest(t, dir)
		if _, err := os.Stat(filepath.Join(dir, "catalog.json")); err != nil {
			t.Errorf("round %d: a new database wrote no catalog: %v", round, err)
		}
		closeClean(t, db, mem)
	}
	if _, err := os.Stat(filepath.Join(dir, "files", "x.csv")); err != nil {
		t.Errorf("a file the store did not write is gone: %v", err)
	}
	// a directory an earlier version opened and closed: a log of
	// generation 0 and nothing else
	old := t.TempDir()
	header := make([]byte, walHeaderSizeV1)
	copy(header, walMagicV1)
	for _, d := range []string{"data", "modules"} {
		os.MkdirAll(filepath.Join(old, d), 0o755)
	}
	if err := os.WriteFile(filepath.Join(old, "wal.log"), header, 0o644); err != nil {
		t.Fatal(err)
	}
	db, mem := openWALTest(t, old)
	mustSQL(t, db.NewSession(), "CREATE TABLE t (a int)")
	closeClean(t, db, mem)
}

// TestCleanupIsConservative: open removes a segment file the catalog does
// not name only when the store wrote it before the catalog (its number
// is not above next_segment); a segment-named file with a later number
// (left by a commit that never landed), files named otherwise and
// directories that are no table's are left alone, and new segments never
// take a name already there.
func TestCleanupIsConservative(t *testing.T) {
	dir := t.TempDir()
	makeDatabase(t, dir)
	sc := readTestCatalog(t, dir)
	oid := sc.Tables[0].OID
	tdir := filepath.Join(dir, "data", fmt.Sprint(oid))
	stray := map[string]bool{ // path: survives
		filepath.Join(tdir, fmt.Sprintf("%d.arrow", freeSegmentNumber(t, sc))): false, // superseded
		filepath.Join(tdir, fmt.Sprintf("%d.arrow", sc.NextSeg+5)):             true,
		filepath.Join(tdir, fmt.Sprintf("%d.arrow.tmp", sc.NextSeg+6)):         false,
		filepath.Join(tdir, "notes.txt"):                                       true,
		filepath.Join(tdir, "01.arrow"):                                        true,
		filepath.Join(dir, "data", "backup", "2.arrow"):                        true,
		filepath.Join(dir, "data", "README"):                                   true,
		filepath.Join(dir, "files", "import.tmp"):                              true,
	}
	for path := range stray {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte("not arrow"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, mem := openWALTest(t, dir)
	mustSQL(t, db.NewSession(), "INSERT INTO seg SELECT g, 'w' FROM generate_series(1, 20000) g")
	closeClean(t, db, mem)
	for path, survives := range stray {
		raw, err := os.ReadFile(path)
		switch {
		case survives && (err != nil || string(raw) != "not arrow"):
			t.Errorf("%s: removed or overwritten (%v)", path, err)
		case !survives && err == nil:
			t.Errorf("%s: still there", path)
		}
	}
}

func readTestCatalog(t *testing.T, dir string) *storage.Catalog {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	sc, _, err := storage.DecodeCatalog(raw)
	if err != nil || sc == nil {
		t.Fatalf("catalog: %v", err)
	}
	return sc
}

// freeSegmentNumber finds a segment number the catalog could have used
// (not above next_segment) that it does not name.
func freeSegmentNumber(t *testing.T, sc *storage.Catalog) uint64 {
	t.Helper()
	used := map[uint64]bool{}
	for _, tb := range sc.Tables {
		for _, p := range tb.Parts {
			for _, r := range p {
				n, _ := strconv.ParseUint(strings.TrimSuffix(filepath.Base(r.File), ".arrow"), 10, 64)
				used[n] = true
			}
		}
	}
	for n := uint64(1); n <= sc.NextSeg; n++ {
		if !used[n] {
			return n
		}
	}
	t.Fatal("the catalog names every segment number up to next_segment")
	return 0
}
