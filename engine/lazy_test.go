package engine

import (
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// segmentsOf counts the segment files the stored catalog of dir names
// for table name.
func segmentsOf(t *testing.T, dir, name string) int64 {
	t.Helper()
	for _, tb := range readTestCatalog(t, dir).Tables {
		if tb.Name == name {
			n := 0
			for _, p := range tb.Parts {
				n += len(p)
			}
			return int64(n)
		}
	}
	t.Fatalf("no table %s", name)
	return 0
}

// TestOpenReadsNoSegments: opening a data directory reads the catalog,
// not the tables' segments; a query reads the segments of the table it
// scans, each once, and no other table's.
func TestOpenReadsNoSegments(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	for _, sql := range []string{"CREATE TABLE a (x int)", "CREATE TABLE b (y int)",
		"INSERT INTO a SELECT g FROM generate_series(1, 1000) g", "INSERT INTO b SELECT g FROM generate_series(1, 500) g", "CHECKPOINT"} {
		mustSQL(t, s, sql)
	}
	s.Close()
	closeClean(t, db, mem)
	segsA := segmentsOf(t, dir, "a")
	if segsA < 2 || segmentsOf(t, dir, "b") < 2 {
		t.Fatalf("tables of %d and %d segments: the test wants several", segsA, segmentsOf(t, dir, "b"))
	}

	db, mem = openWALTest(t, dir)
	if n := db.store.SegmentReads(); n != 0 {
		t.Errorf("open read %d segments, want none", n)
	}
	s = db.NewSession()
	for range 2 {
		if got := one(t, s, "SELECT count(*), sum(x) FROM a"); got != "1000|500500" {
			t.Errorf("a holds %s, want 1000|500500", got)
		}
	}
	if n := db.store.SegmentReads(); n != segsA {
		t.Errorf("two scans of a read %d segments, want each of its %d once", n, segsA)
	}
	s.Close()
	closeClean(t, db, mem)
}

// TestZoneMapsSkipSegments: a table written in key order by several
// INSERTs and read back from storage skips the segments whose zone maps
// rule a range out (EXPLAIN ANALYZE counts them), with the same answer.
func TestZoneMapsSkipSegments(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	mustSQL(t, s, "CREATE TABLE z (k int, n int)")
	for i := 0; i < 4; i++ {
		mustSQL(t, s, "INSERT INTO z SELECT g, CASE WHEN g > 200 THEN g END FROM generate_series("+strconv.Itoa(i*100+1)+", "+strconv.Itoa(i*100+100)+") g")
	}
	s.Close()
	closeClean(t, db, mem)
	segs := segmentsOf(t, dir, "z")

	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	skippedRe := regexp.MustCompile(`segments skipped: (\d+)`)
	for _, c := range []struct {
		cond, want string
		minSkipped int64
	}{
		{"k > 390", "10|3955", segs - 2}, // the last batch of each partition at most
		{"k <= 64", "64|2080", segs / 2},
		{"n < 210", "9|1845", 1}, // n is NULL in the first half
		{"k >= 1000", "0|NULL", segs},
	} {
		sql := "SELECT count(*), sum(k) FROM z WHERE " + c.cond
		if got := one(t, s, sql); got != c.want {
			t.Errorf("%s: %s, want %s", sql, got, c.want)
		}
		plan := one(t, s, "EXPLAIN ANALYZE "+sql)
		m := skippedRe.FindStringSubmatch(plan)
		if m == nil {
			t.Fatalf("%s: the plan shows no segment filter:\n%s", sql, plan)
		}
		skipped, _ := strconv.ParseInt(m[1], 10, 64)
		if skipped < c.minSkipped {
			t.Errorf("%s: %d of %d segments skipped, want at least %d", sql, skipped, segs, c.minSkipped)
		}
	}
	s.Close()
	closeClean(t, db, mem)
}

// TestDamagedSegmentFoundByEveryStatement: with a segment damaged inside
// its bytes, every kind of statement over its table either does not
// need it or fails with XX001 naming it (never an internal error, a
// crash or a wrong answer), and the other tables keep answering.
func TestDamagedSegmentFoundByEveryStatement(t *testing.T) {
	dir := t.TempDir()
	db, mem := openWALTest(t, dir)
	s := db.NewSession()
	for _, sql := range []string{"CREATE TABLE d (a int, b text)", "CREATE TABLE ok (a int)",
		"INSERT INTO d SELECT g, 'v' || g FROM generate_series(1, 300) g", "INSERT INTO ok VALUES (1), (2)", "CHECKPOINT"} {
		mustSQL(t, s, sql)
	}
	s.Close()
	closeClean(t, db, mem)
	var seg string
	for _, tb := range readTestCatalog(t, dir).Tables {
		if tb.Name == "d" {
			seg = filepath.Join(dir, "data", filepath.FromSlash(tb.Parts[0][0].File))
		}
	}
	flip(t, seg, 200, 16)

	db, mem = openWALTest(t, dir)
	s = db.NewSession()
	for _, c := range []struct {
		sql      string
		mustFail bool
	}{
		{"SELECT count(*) FROM d", true},
		{"SELECT * FROM d WHERE a = 5", true},
		{"UPDATE d SET b = 'y' WHERE a = 5", true},
		{"DELETE FROM d WHERE a = 5", true},
		{"INSERT INTO d VALUES (1000, 'x')", false},
		{"ALTER TABLE d ADD COLUMN c int DEFAULT 7", false},
		{"ALTER TABLE d ADD PRIMARY KEY (a)", false},
		{"CREATE INDEX d_b ON d (b)", false},
		{"VACUUM d", false},
		{"SELECT count(*) FROM d", true},
	} {
		err := execSQL(t, s, c.sql)
		if err == nil {
			if c.mustFail {
				t.Errorf("%s succeeded over a damaged segment", c.sql)
			}
			continue
		}
		var e *sqlerr.Error
		if !errors.As(err, &e) || e.Code != sqlerr.DataCorrupted || !strings.Contains(e.Message, filepath.Base(seg)) {
			t.Errorf("%s: %v (%s), want XX001 naming %s", c.sql, err, sqlerr.Code(err), filepath.Base(seg))
		}
	}
	if got := one(t, s, "SELECT sum(a) FROM ok"); got != "3" {
		t.Errorf("table ok holds sum %s, want 3", got)
	}
	s.Close()
	crash(t, db, mem)
}
