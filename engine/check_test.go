package engine

import (
	"github.com/weftdb/weft/storage"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCheck checks dir, showing that the check changed nothing, and
// returns its problem count and output.
func runCheck(t *testing.T, dir string) (int, string) {
	t.Helper()
	before := dirImage(t, dir)
	var out strings.Builder
	n, err := storage.CheckDataDir(dir, &out)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	sameImage(t, before, dirImage(t, dir))
	return n, out.String()
}

// TestCheckFindsEveryDamage: each kind of damage that fails an open is a
// problem weft check reports on the damaged file's line.
func TestCheckFindsEveryDamage(t *testing.T) {
	for _, c := range damageCases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			makeDatabase(t, dir)
			c.damage(t, dir)
			n, out := runCheck(t, dir)
			prefix := c.file
			if prefix == "" {
				prefix = "data/"
			}
			found := false
			for _, line := range strings.Split(out, "\n") {
				found = found || strings.HasPrefix(line, prefix) && strings.Contains(line, ": DAMAGED: ")
			}
			if n == 0 || !found {
				t.Errorf("%d problems; no DAMAGED line for %s:\n%s", n, prefix, out)
			}
		})
	}
}

// TestCheckSoundDirectories: what open accepts, check accepts: a crash
// image with log entries, a torn final entry, the earlier formats, an
// empty directory; files the catalog does not name are reported but are
// no problem. A missing catalog beside data is one.
func TestCheckSoundDirectories(t *testing.T) {
	for _, c := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    []string
	}{
		{"crash image", makeDatabase, []string{"wal.log: ok, generation", "3 entries with 3 rows", "table public.seg"}},
		{"torn final entry", func(t *testing.T, dir string) {
			makeDatabase(t, dir)
			if err := os.Truncate(walFile(dir), walEntries(t, dir).End-5); err != nil {
				t.Fatal(err)
			}
		}, []string{"2 entries with 2 rows", "a torn final entry"}},
		{"earlier formats", func(t *testing.T, dir string) {
			makeDatabase(t, dir)
			writeLegacyCatalog(t, dir)
			writeLegacyLog(t, dir)
		}, []string{"catalog.json: ok, no checksum", "(no checksum in the catalog)", "3 entries"}},
		{"empty directory", func(t *testing.T, dir string) {}, []string{"catalog.json: none"}},
		{"stray files", func(t *testing.T, dir string) {
			makeDatabase(t, dir)
			sc := readTestCatalog(t, dir)
			tdir := filepath.Join(dir, "data", filepath.Dir(sc.Tables[0].Parts[0][0].File))
			os.WriteFile(filepath.Join(tdir, "99999.arrow"), []byte("x"), 0o644)
			os.WriteFile(filepath.Join(tdir, "7.arrow.tmp"), []byte("x"), 0o644)
		}, []string{"99999.arrow: not in the catalog", "7.arrow.tmp: temporary file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.prepare(t, dir)
			n, out := runCheck(t, dir)
			if n != 0 {
				t.Errorf("%d problems:\n%s", n, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	dir := t.TempDir()
	makeDatabase(t, dir)
	os.Remove(catalogFile(dir))
	if n, out := runCheck(t, dir); n != 1 || !strings.Contains(out, "catalog.json: DAMAGED: missing") {
		t.Errorf("a missing catalog: %d problems:\n%s", n, out)
	}
}

// TestCheckRefusesAnOpenDirectory: a directory a database has open is
// not checked (its files change under the check).
func TestCheckRefusesAnOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	defer closeClean(t, db, mem)
	if _, err := storage.CheckDataDir(dir, &strings.Builder{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("checking an open directory: %v", err)
	}
}
