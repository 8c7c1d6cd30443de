package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
)

// infinityTable fills moments with dates and timestamps whose infinities
// sit among finite values, written by several statements: the first
// batches without NULLs, later ones with some, the last only NULLs and
// infinities.
const infinityTable = `CREATE TABLE moments (id int, d date, ts timestamp, tz timestamptz);
	INSERT INTO moments SELECT g, '2000-01-01'::date + g, '2000-01-01'::timestamp + g * interval '1 hour', '2000-01-01 00:00+00'::timestamptz + g * interval '1 minute' FROM generate_series(1, 3000) g;
	INSERT INTO moments VALUES (3001, 'infinity', 'infinity', 'infinity'), (3002, '-infinity', '-infinity', '-infinity'), (3003, NULL, NULL, NULL);
	INSERT INTO moments SELECT g, CASE WHEN g % 3 = 0 THEN NULL WHEN g % 3 = 1 THEN 'infinity'::date ELSE '1990-06-01'::date END,
		CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN '-infinity'::timestamp ELSE '1990-06-01 12:00'::timestamp END,
		CASE WHEN g % 7 = 0 THEN NULL ELSE 'infinity'::timestamptz END FROM generate_series(3004, 6000) g;
	INSERT INTO moments VALUES (6001, '-infinity', NULL, 'infinity'), (6002, NULL, 'infinity', NULL)`

// infinityChecks are queries over moments and their answers, taken from
// PostgreSQL 15 on the same statements (TimeZone UTC).
var infinityChecks = map[string]string{
	"SELECT count(*), count(d), count(ts), count(tz) FROM moments":                                                        "6002|5001|5400|5572",
	"SELECT min(d), max(d), min(ts), max(ts), min(tz), max(tz) FROM moments":                                              "-infinity|infinity|-infinity|infinity|-infinity|infinity",
	"SELECT count(*) FROM moments WHERE d = 'infinity'":                                                                   "1000",
	"SELECT count(*) FROM moments WHERE d > '3000-01-01'":                                                                 "1000",
	"SELECT count(*) FROM moments WHERE ts < '1000-01-01'":                                                                "600",
	"SELECT count(*) FROM moments WHERE NOT isfinite(tz)":                                                                 "2572",
	"SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM moments ORDER BY d DESC NULLS LAST, id LIMIT 2) x": "3001,3004",
	"SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM moments ORDER BY ts, id LIMIT 2) x":                "3002,3006",
	"SELECT count(DISTINCT d), count(DISTINCT ts), count(DISTINCT tz) FROM moments":                                       "3003|3003|3002",
	"SELECT count(*) FROM (SELECT tz FROM moments GROUP BY tz) g":                                                         "3003",
	"SELECT max(d::timestamp), min(tz::date), max(ts::timestamptz) FROM moments":                                          "infinity|-infinity|infinity",
}

// checkInfinities runs infinityChecks on s.
func checkInfinities(t *testing.T, s *engine.Session, when string) {
	t.Helper()
	for q, want := range infinityChecks {
		if got := strings.Join(rows(t, s, q), ";"); got != want {
			t.Errorf("%s: %s = %s, want %s", when, q, got, want)
		}
	}
}

// TestInfinitiesSurviveRestart stores infinite dates and timestamps,
// checkpoints part of them into segments, and finds the same answers
// after reopening the data directory.
func TestInfinitiesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, "SET TimeZone = 'UTC'")
	mustExec(t, s, infinityTable)
	mustExec(t, s, "CHECKPOINT")
	// written after the checkpoint: replayed from the log on reopen
	mustExec(t, s, "INSERT INTO moments VALUES (6003, 'infinity', '-infinity', NULL); DELETE FROM moments WHERE id = 6003")
	checkInfinities(t, s, "before restart")
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	mustExec(t, s, "SET TimeZone = 'UTC'")
	checkInfinities(t, s, "after restart")
}

// TestInfinitiesCopyRoundTrip writes infinite dates and timestamps with
// COPY TO in each file format and reads them back with COPY FROM.
func TestInfinitiesCopyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{FilesDir: dir, Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s := db.NewSession()
	mustExec(t, s, "SET TimeZone = 'UTC'")
	mustExec(t, s, infinityTable)
	for _, format := range []string{"csv", "text", "parquet", "arrow"} {
		file := "moments." + format
		mustExec(t, s, fmt.Sprintf("COPY moments TO '%s' (FORMAT '%s')", file, format))
		mustExec(t, s, "CREATE TABLE copied_"+format+" (id int, d date, ts timestamp, tz timestamptz)")
		mustExec(t, s, fmt.Sprintf("COPY copied_%s FROM '%s' (FORMAT '%s')", format, file, format))
		for _, q := range []string{
			"SELECT count(*) FROM (SELECT * FROM moments EXCEPT ALL SELECT * FROM copied_" + format + ") x",
			"SELECT count(*) FROM (SELECT * FROM copied_" + format + " EXCEPT ALL SELECT * FROM moments) x",
		} {
			if got := rows(t, s, q); len(got) != 1 || got[0] != "0" {
				t.Errorf("%s round trip: %s = %v", format, q, got)
			}
		}
	}
	// the text form is PostgreSQL's
	mustExec(t, s, "COPY (SELECT d, ts, tz FROM moments WHERE id IN (3001, 3002) ORDER BY id) TO 'inf.csv' (FORMAT csv)")
	mustExec(t, s, "CREATE TABLE lines (line text)")
	mustExec(t, s, "COPY lines FROM 'inf.csv' (FORMAT text, DELIMITER E'\\x01')")
	if got := strings.Join(rows(t, s, "SELECT line FROM lines"), ";"); got != "infinity,infinity,infinity;-infinity,-infinity,-infinity" {
		t.Errorf("COPY TO csv wrote %s", got)
	}
}
