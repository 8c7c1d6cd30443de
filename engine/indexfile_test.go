package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/storage"
)

// These tests cover the indexes a checkpoint stores beside the segments
// (storage's indexfile.go): the first lookup after open reads the index
// file's nodes on its path and the one segment holding the row, not the
// table; log replay changes them; damage is an error or a rebuild.

// indexFilesOf lists the index files the stored catalog names for table
// name, by index name.
func indexFilesOf(t *testing.T, dir, name string) map[string]storage.IndexRef {
	t.Helper()
	out := map[string]storage.IndexRef{}
	for _, tb := range readTestCatalog(t, dir).Tables {
		if tb.Name == name {
			for _, r := range tb.IndexFiles {
				out[r.Def.Name] = r
			}
		}
	}
	return out
}

// makeIndexedTable creates table ix (a primary key k, an index on a text
// column v) of n rows in many segments, checkpointed, and closes db.
func makeIndexedTable(t *testing.T, dir string, n int) {
	t.Helper()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	for _, sql := range []string{
		"CREATE TABLE ix (k int PRIMARY KEY, v text, n int)",
		"CREATE INDEX ix_v ON ix (v)",
		fmt.Sprintf("INSERT INTO ix SELECT g, 'v' || (g %% 100), g * 2 FROM generate_series(1, %d) g", n),
		"CHECKPOINT",
	} {
		mustSQL(t, s, sql)
	}
	s.Close()
	closeClean(t, db, mem)
}

// lookups are queries whose answers the tests compare before and after
// reopening, with the segments each may read at most when the index
// serves it (-1: not counted).
var indexLookups = []struct {
	sql      string
	segments int64
}{
	{"SELECT v, n FROM ix WHERE k = 1234", 1},
	{"SELECT count(*) FROM ix WHERE k = 0", 0},
	{"SELECT count(*), sum(n) FROM ix WHERE v = 'v7'", -1},
	{"SELECT count(*), min(k), max(k) FROM ix WHERE k BETWEEN 100 AND 180", -1},
}

// TestIndexesStoredAtCheckpoint: a checkpoint stores the primary key's
// and CREATE INDEX's indexes; after open, a lookup by key reads the one
// segment that holds the row (not every segment, as building the index
// would), and every lookup answers as the data does.
func TestIndexesStoredAtCheckpoint(t *testing.T) {
	dir := t.TempDir()
	makeIndexedTable(t, dir, 3000)
	files := indexFilesOf(t, dir, "ix")
	if len(files) != 2 || files["ix_pkey"].Entries != 3000 || files["ix_v"].Entries != 3000 {
		t.Fatalf("index files %+v, want ix_pkey and ix_v of 3000 entries", files)
	}
	segs := segmentsOf(t, dir, "ix")
	if segs < 20 {
		t.Fatalf("%d segments: the test wants many", segs)
	}
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	for _, l := range indexLookups {
		before := db.store.SegmentReads()
		got := one(t, s, l.sql)
		if read := db.store.SegmentReads() - before; l.segments >= 0 && read > l.segments {
			t.Errorf("%s read %d segments, want at most %d", l.sql, read, l.segments)
		}
		want := map[string]string{
			indexLookups[0].sql: "v34|2468", indexLookups[1].sql: "0",
			indexLookups[2].sql: "30|87420", indexLookups[3].sql: "81|100|180",
		}[l.sql]
		if got != want {
			t.Errorf("%s: %s, want %s", l.sql, got, want)
		}
	}
	// a checkpoint of a table nobody wrote keeps its index files
	mustSQL(t, s, "CHECKPOINT")
	if again := indexFilesOf(t, dir, "ix"); again["ix_pkey"].File != files["ix_pkey"].File || again["ix_v"].File != files["ix_v"].File {
		t.Errorf("index files %v rewritten as %v by a checkpoint of nothing new", files, again)
	}
	s.Close()
	closeClean(t, db, mem)
}

// TestIndexesUnderLogReplay: changes logged after the checkpoint (an
// UPDATE of a key, a DELETE, an INSERT) are replayed onto the stored
// indexes at open: lookups find the rows as they are, never as the index
// file has them; the next checkpoint writes new index files and removes
// the old ones.
func TestIndexesUnderLogReplay(t *testing.T) {
	dir := t.TempDir()
	makeIndexedTable(t, dir, 3000)
	old := indexFilesOf(t, dir, "ix")
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	for _, sql := range []string{
		"UPDATE ix SET k = 5000, v = 'moved' WHERE k = 1234",
		"DELETE FROM ix WHERE k = 1500",
		"INSERT INTO ix VALUES (6000, 'new', 1)",
		"UPDATE ix SET n = -1 WHERE k = 42",
	} {
		mustSQL(t, s, sql)
	}
	s.Close()
	crash(t, db, mem)
	if got := indexFilesOf(t, dir, "ix"); got["ix_pkey"].File != old["ix_pkey"].File {
		t.Fatal("the changes were checkpointed, the test wants them in the log")
	}
	checks := [][2]string{
		{"SELECT count(*) FROM ix WHERE k = 1234", "0"},
		{"SELECT v FROM ix WHERE k = 5000", "moved"},
		{"SELECT count(*) FROM ix WHERE k = 1500", "0"},
		{"SELECT v FROM ix WHERE k = 6000", "new"},
		{"SELECT n FROM ix WHERE k = 42", "-1"},
		{"SELECT count(*) FROM ix WHERE v = 'v34'", "29"},
		{"SELECT k FROM ix WHERE v = 'moved'", "5000"},
		{"SELECT count(*) FROM ix WHERE k BETWEEN 1 AND 6000", "3000"},
	}
	for round := range 2 {
		db, mem = openWALTest(t, dir)
		s = db.NewSession()
		for _, c := range checks {
			if got := one(t, s, c[0]); got != c[1] {
				t.Errorf("round %d: %s: %s, want %s", round, c[0], got, c[1])
			}
		}
		if round == 0 {
			mustSQL(t, s, "CHECKPOINT")
			now := indexFilesOf(t, dir, "ix")
			if now["ix_pkey"].File == old["ix_pkey"].File || now["ix_pkey"].Entries != 3000 {
				t.Errorf("after the checkpoint: %+v, want a new file of 3000 entries", now["ix_pkey"])
			}
			for _, r := range old {
				if _, err := os.Stat(filepath.Join(dir, "data", r.File)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("old index file %s is still there (%v)", r.File, err)
				}
			}
			// the trees in memory still read nodes of the removed files
			// (ix_v's leaves of these values were not read before)
			for _, v := range []string{"v77", "v5", "v91"} {
				if got := one(t, s, "SELECT count(*) FROM ix WHERE v = '"+v+"'"); got != "30" {
					t.Errorf("after the checkpoint, v = %s: %s rows, want 30", v, got)
				}
			}
		}
		s.Close()
		closeClean(t, db, mem)
	}
}

// TestDamagedIndexFile: an index file that does not match the catalog
// (torn, swapped) is not used: the index is built from the data and the
// answers are right; a damaged node inside a sound file fails the
// statement that reads it with XX001, after which the index is built
// from the data. The next checkpoint stores sound files again.
func TestDamagedIndexFile(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, path string)
		xx001  bool
	}{
		{"torn", func(t *testing.T, path string) { truncateBy(t, path, 1) }, false},
		{"footer", func(t *testing.T, path string) { flip(t, path, -20, 4) }, false},
		{"missing", func(t *testing.T, path string) { os.Remove(path) }, false},
		// the first leaf starts right after the 8-byte header; keys of
		// the primary key start at 1, so k = 1 lies in it
		{"leaf", func(t *testing.T, path string) { flip(t, path, 8+12, 1) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			makeIndexedTable(t, dir, 3000)
			ref := indexFilesOf(t, dir, "ix")["ix_pkey"]
			c.damage(t, filepath.Join(dir, "data", filepath.FromSlash(ref.File)))
			db, mem := openWALTest(t, dir)
			s := db.NewSession()
			res, err := s.Query(t.Context(), "SELECT v FROM ix WHERE k = 1")
			if err == nil {
				res.Release()
			}
			var se *sqlerr.Error
			if c.xx001 {
				if !errors.As(err, &se) || se.Code != sqlerr.DataCorrupted {
					t.Errorf("lookup in a damaged node: %v, want XX001", err)
				}
			} else if err != nil {
				t.Errorf("lookup: %v", err)
			}
			if got := one(t, s, "SELECT v, n FROM ix WHERE k = 1"); got != "v1|2" {
				t.Errorf("lookup after the damage: %s", got)
			}
			if got := one(t, s, "SELECT count(*) FROM ix WHERE k BETWEEN 1 AND 3000"); got != "3000" {
				t.Errorf("range after the damage: %s", got)
			}
			mustSQL(t, s, "CHECKPOINT")
			if now := indexFilesOf(t, dir, "ix")["ix_pkey"]; now.File == ref.File || now.Entries != 3000 {
				t.Errorf("after the checkpoint: %+v, want a new file of 3000 entries", now)
			}
			s.Close()
			closeClean(t, db, mem)
			var report strings.Builder
			if problems, err := storage.CheckDataDir(dir, &report); err != nil || problems != 0 || !strings.Contains(report.String(), "index ix_pkey of table public.ix, 3000 entries") {
				t.Errorf("check after the checkpoint: %d problems, %v:\n%s", problems, err, report.String())
			}
		})
	}
}
