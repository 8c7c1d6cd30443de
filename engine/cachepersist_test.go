package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// openCacheDir opens a database in dir on a checked allocator; close closes
// it and checks that nothing leaked, so that the test can open dir again.
func openCacheDir(t *testing.T, dir string) (s *engine.Session, close func()) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	// (small segments: a partition is several, each with its zone maps)
	db, err := engine.Open(engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, Mem: mem, SegmentBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	close = func() {
		if !closed {
			closed = true
			db.Close()
			mem.AssertSize(t, 0)
		}
	}
	t.Cleanup(close)
	return db.NewSession(), close
}

// cachedRelations lists the relations weft.cached holds partitions of,
// and their rows: "relation partitions rows".
func cachedRelations(t *testing.T, s *engine.Session) string {
	t.Helper()
	return strings.Join(rows(t, s, "SELECT relation, count(*), sum(rows) FROM weft.cached GROUP BY relation ORDER BY relation"), ",")
}

// cacheOptions lists the tables whose catalog says weft.cache.
func cacheOptions(t *testing.T, s *engine.Session) string {
	t.Helper()
	return strings.Join(rows(t, s, "SELECT relname, reloptions FROM pg_class WHERE reloptions IS NOT NULL ORDER BY relname"), ",")
}

// TestCacheSettingPersists: weft.cache, set by CALL or ALTER TABLE, is
// stored in the catalog: it survives closing and opening the data
// directory (the first read after opening fills the cache again), a
// ROLLBACK undoes it, and inside a block it takes effect at COMMIT.
func TestCacheSettingPersists(t *testing.T) {
	dir := t.TempDir()
	s, closeDB := openCacheDir(t, dir)
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	mustExec(t, s, "CREATE TABLE w (x int)")
	mustExec(t, s, "INSERT INTO w SELECT i FROM generate_series(1, 100) i")
	mustExec(t, s, "CALL weft.cache('t')")
	mustExec(t, s, "ALTER TABLE n SET (weft.cache = 'memory')")
	mustExec(t, s, "CALL weft.cache('w')")
	mustExec(t, s, "CALL weft.uncache('w')")

	// a block: not in effect before COMMIT, undone by ROLLBACK
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "ALTER TABLE u SET (weft.cache = 'memory')")
	mustExec(t, s, "ALTER TABLE t RESET (weft.cache)")
	rows(t, s, "SELECT count(*) FROM u")
	if got := cachedRelations(t, s); got != "public.n|4|5002,public.t|4|12000" {
		t.Errorf("inside the block: weft.cached %q, want n and t only (the block's changes wait for COMMIT)", got)
	}
	if got := cacheOptions(t, s); got != "n|{weft.cache=memory},u|{weft.cache=memory}" {
		t.Errorf("the block sees its own options as %q", got)
	}
	mustExec(t, s, "ROLLBACK")
	rows(t, s, "SELECT count(*) FROM u")
	if got := cachedRelations(t, s); got != "public.n|4|5002,public.t|4|12000" {
		t.Errorf("after ROLLBACK: weft.cached %q, want n and t as before", got)
	}
	if got := cacheOptions(t, s); got != "n|{weft.cache=memory},t|{weft.cache=memory}" {
		t.Errorf("after ROLLBACK the catalog says %q", got)
	}

	// a savepoint rolled back inside a block that commits
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "ALTER TABLE u SET (weft.cache = 'memory')")
	mustExec(t, s, "SAVEPOINT sp")
	mustExec(t, s, "ALTER TABLE n RESET (weft.cache)")
	mustExec(t, s, "ROLLBACK TO SAVEPOINT sp")
	mustExec(t, s, "COMMIT")
	rows(t, s, "SELECT count(*) FROM u")
	if got := cachedRelations(t, s); got != "public.n|4|5002,public.t|4|12000,public.u|4|10" {
		t.Errorf("after COMMIT: weft.cached %q, want n, t and u", got)
	}
	_, err := s.Exec(context.Background(), "BEGIN; CALL weft.cache('w'); COMMIT")
	if stateOf(err) != sqlerr.ActiveTransaction {
		t.Errorf("CALL weft.cache in a block: %v, want 25001 (ALTER TABLE is the transactional form)", err)
	}
	mustExec(t, s, "ROLLBACK")
	// the storage parameter given at creation
	mustExec(t, s, "CREATE TABLE c (x int) WITH (weft.cache = 'memory')")
	mustExec(t, s, "INSERT INTO c SELECT i FROM generate_series(1, 7) i")
	for _, c := range []struct{ sql, code string }{
		{"CREATE TABLE bad (x int) WITH (weft.cache = 'disk')", sqlerr.InvalidParameter},
		{"CREATE TEMP TABLE tmp (x int) WITH (weft.cache = 'memory')", sqlerr.FeatureNotSupported},
		{"BEGIN; CREATE TABLE gone (x int) WITH (weft.cache = 'memory')", ""}, // (rolled back below)
	} {
		_, err := s.Exec(context.Background(), c.sql)
		if (c.code == "") != (err == nil) || stateOf(err) != c.code {
			t.Errorf("%s: %v, want SQLSTATE %q", c.sql, err, c.code)
		}
	}
	mustExec(t, s, "ROLLBACK")
	closeDB()

	s, _ = openCacheDir(t, dir)
	if got := cachedRelations(t, s); got != "" {
		t.Errorf("just opened, weft.cached lists %q: nothing is read yet", got)
	}
	if got := cacheOptions(t, s); got != "c|{weft.cache=memory},n|{weft.cache=memory},t|{weft.cache=memory},u|{weft.cache=memory}" {
		t.Errorf("after opening again the catalog says %q", got)
	}
	for _, q := range []string{"SELECT count(*) FROM t", "SELECT count(*) FROM n", "SELECT count(*) FROM u", "SELECT count(*) FROM w", "SELECT count(*) FROM c"} {
		rows(t, s, q)
	}
	if got := cachedRelations(t, s); got != "public.c|4|7,public.n|4|5002,public.t|4|12000,public.u|4|10" {
		t.Errorf("after opening again and reading every table: weft.cached %q, want n, t and u", got)
	}
	if got := rows(t, s, "SELECT count(*), sum(a) FROM t"); strings.Join(got, ",") != "12000|72006000" {
		t.Errorf("reading the cached t: %v", got)
	}
	mustExec(t, s, "ALTER TABLE t SET (weft.cache = 'none')")
	if got := cacheOptions(t, s); got != "c|{weft.cache=memory},n|{weft.cache=memory},u|{weft.cache=memory}" {
		t.Errorf("after SET (weft.cache = 'none') the catalog says %q", got)
	}
}

// TestCachedScanSkipsSegments: a cached copy keeps its segment's zone
// maps, so a scan of the cached table skips the same segments as a scan
// of the stored one, and gives the same answer from memory.
func TestCachedScanSkipsSegments(t *testing.T) {
	dir := t.TempDir()
	s, closeDB := openCacheDir(t, dir)
	mustExec(t, s, "CREATE TABLE z (a int, b text)")
	mustExec(t, s, "INSERT INTO z SELECT i, 'v' || i FROM generate_series(1, 40000) i")
	closeDB()
	// opened again, the table's batches are its segments, with zone maps
	s, _ = openCacheDir(t, dir)
	const q = "SELECT count(*), sum(a) FROM z WHERE a <= 1000"
	const want = "1000|500500"
	skippedBy := func(label string) string {
		t.Helper()
		plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q), "\n")
		_, after, ok := strings.Cut(plan, "segments skipped: ")
		if !ok {
			t.Fatalf("%s: the scan has no segment filter:\n%s", label, plan)
		}
		n := strings.FieldsFunc(after, func(r rune) bool { return r < '0' || r > '9' })[0]
		if n == "0" {
			t.Fatalf("%s: no segment skipped:\n%s", label, plan)
		}
		return n
	}
	stored := skippedBy("stored")
	if got := strings.Join(rows(t, s, q), ","); got != want {
		t.Fatalf("stored: %s, want %s", got, want)
	}
	mustExec(t, s, "CALL weft.cache('z')")
	_, _, hitsBefore := cachedState(t, s, "public.z")
	if got := skippedBy("cached"); got != stored {
		t.Errorf("the cached scan skipped %s segments, the stored one %s", got, stored)
	}
	if got := strings.Join(rows(t, s, q), ","); got != want {
		t.Errorf("cached: %s, want %s", got, want)
	}
	if _, _, hits := cachedState(t, s, "public.z"); hits <= hitsBefore {
		t.Errorf("the scans did not read the cached copies (hits %d, before %d)", hits, hitsBefore)
	}
}

// stateOf is err's SQLSTATE, "" for no error.
func stateOf(err error) string {
	if err == nil {
		return ""
	}
	return sqlerr.Code(err)
}
