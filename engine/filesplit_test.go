package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftdb/weft/engine"
)

// TestClusterSplitsFileScans: read_parquet and read_csv over several
// files run one file per partition on two worker processes reading the
// same files directory, and give the answers of one process; a worker
// that sees other files hands its partitions back.
func TestClusterSplitsFileScans(t *testing.T) {
	files, dir := t.TempDir(), t.TempDir()
	s := openChecked(t, engine.Options{DataDir: dir, FilesDir: files, Partitions: 4, BatchSize: 1024, WorkerTimeout: 2 * time.Second})
	mustExec(t, s, `CREATE TABLE src AS SELECT i AS id, 'n' || (i % 37) AS name, i % 11 AS g, (i * 0.25)::numeric(12,2) AS amount,
		CASE WHEN i % 13 = 0 THEN NULL ELSE i % 5 END AS maybe FROM generate_series(1, 30000) i`)
	for k := range 5 {
		mustExec(t, s, fmt.Sprintf("COPY (SELECT * FROM src WHERE id %% 5 = %d ORDER BY id) TO 'p_%d.parquet' (FORMAT parquet)", k, k))
	}
	for k := range 3 {
		mustExec(t, s, fmt.Sprintf("COPY (SELECT * FROM src WHERE id %% 3 = %d ORDER BY id) TO 'c_%d.csv' (FORMAT csv, HEADER true)", k, k))
	}
	queries := []string{
		`SELECT count(*), sum(id), min(name), max(amount), count(maybe) FROM read_parquet('p_*.parquet')`,
		`SELECT g, count(*), sum(id), sum(amount), min(maybe) FROM read_parquet('p_*.parquet') GROUP BY g ORDER BY g`,
		`SELECT id, name, amount FROM read_parquet('p_*.parquet') WHERE id % 997 = 1 ORDER BY id`,
		`SELECT count(*), sum(id), max(name), count(maybe) FROM read_csv('c_*.csv')`,
		`SELECT name, count(*), sum(g) FROM read_csv('c_*.csv') WHERE id > 100 GROUP BY name ORDER BY name`,
		`SELECT p.g, count(*) FROM read_parquet('p_*.parquet') p JOIN read_csv('c_*.csv') c ON p.id = c.id WHERE c.id % 7 = 0 GROUP BY p.g ORDER BY p.g`,
	}
	want := make([][]string, len(queries))
	for i, q := range queries {
		want[i] = rows(t, s, q)
	}
	check := func(label string) {
		t.Helper()
		for i, q := range queries {
			sameRows(t, label+": "+q, rows(t, s, q), want[i])
		}
	}

	w1 := startWorker(t, dir, "--files-dir", files)
	w2 := startWorker(t, dir, "--files-dir", files)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	before := fragmentsRun(t, s)
	check("2 workers")
	if fragmentsRun(t, s) == before {
		t.Errorf("no fragment ran on the workers")
	}
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+queries[0]), "\n")
	if !strings.Contains(plan, "Remote (workers=2") || !strings.Contains(plan, "FileScan parquet (files: 5)") || !strings.Contains(plan, "local=0") ||
		!strings.Contains(plan, "4@"+w1.addr) || !strings.Contains(plan, "1@"+w2.addr) {
		t.Errorf("the parquet files were not read on the workers, one a partition:\n%s", plan)
	}

	// a worker whose files directory holds other files (same names, other
	// contents) must not read them: it hands the partitions back
	other := t.TempDir()
	o := openChecked(t, engine.Options{FilesDir: other})
	mustExec(t, o, "CREATE TABLE src AS SELECT i AS id, 'x' AS name, 0 AS g, 0::numeric(12,2) AS amount, 0 AS maybe FROM generate_series(1, 10) i")
	for k := range 5 {
		mustExec(t, o, fmt.Sprintf("COPY src TO 'p_%d.parquet' (FORMAT parquet)", k))
	}
	mustExec(t, s, fmt.Sprintf("CALL weft.remove_worker('%s')", w2.addr))
	w3 := startWorker(t, dir, "--files-dir", other)
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w3.addr))
	check("a worker seeing other files")
	plan = strings.Join(rows(t, s, "EXPLAIN ANALYZE "+queries[0]), "\n")
	if !strings.Contains(plan, "local=2") {
		t.Errorf("the worker seeing other files should have handed its 2 of 5 partitions back:\n%s", plan)
	}
}

// rowGroupData is the relation written to one Parquet file of many row
// groups (COPY writes a row group per batch) by TestClusterSplitsRowGroups,
// and given to PostgreSQL as the table rg.
var rowGroupData = []string{
	`CREATE TABLE rg AS SELECT i AS id, 'n' || (i % 37) AS name, i % 11 AS g, (i * 0.25)::numeric(12,2) AS amount,
		CASE WHEN i % 13 = 0 THEN NULL ELSE i % 5 END AS maybe FROM generate_series(1, 40000) i`,
}

// rowGroupQueries read rg, which Weft reads from the file.
var rowGroupQueries = []string{
	`SELECT count(*), sum(id), min(name), max(amount), count(maybe) FROM rg`,
	`SELECT g, count(*), sum(id), sum(amount), min(maybe) FROM rg GROUP BY g ORDER BY g`,
	`SELECT id, name, amount FROM rg WHERE id % 997 = 1 ORDER BY id`,
	// row group statistics rule out most of the file
	`SELECT count(*), sum(amount), max(name) FROM rg WHERE id BETWEEN 12000 AND 13500`,
	`SELECT rg.g, count(*), sum(s.amount) FROM rg JOIN src s ON rg.id = s.id + 1 WHERE rg.id % 3 = 0 GROUP BY rg.g ORDER BY rg.g`,
	`SELECT maybe, count(*) FROM rg WHERE id > 39000 GROUP BY maybe ORDER BY maybe NULLS FIRST`,
}

// TestClusterSplitsRowGroups: one Parquet file is read in runs of its
// row groups, one partition each, in one process and on two worker
// processes, with PostgreSQL's answers; EXPLAIN shows the split, and
// EXPLAIN ANALYZE every run on a worker. weft.file_split_rows = 0 keeps
// the file one partition, and a file smaller than twice the setting is
// not split.
func TestClusterSplitsRowGroups(t *testing.T) {
	data := append(append([]string(nil), rowGroupData...), `CREATE TABLE src AS SELECT * FROM rg`)
	want := postgresRows(t, data, rowGroupQueries)
	files, dir := t.TempDir(), t.TempDir()
	s := openChecked(t, engine.Options{DataDir: dir, FilesDir: files, Partitions: 4, BatchSize: 1024, WorkerTimeout: 2 * time.Second})
	for _, sql := range data {
		mustExec(t, s, sql)
	}
	mustExec(t, s, "COPY (SELECT * FROM rg ORDER BY id) TO 'big.parquet' (FORMAT parquet)")
	mustExec(t, s, "DROP TABLE rg")
	const file = "read_parquet('big.parquet')"
	check := func(label string) {
		t.Helper()
		for i, q := range rowGroupQueries {
			q = strings.ReplaceAll(strings.ReplaceAll(q, "FROM rg", "FROM "+file+" rg"), "JOIN rg", "JOIN "+file+" rg")
			sameRows(t, label+": "+q, rows(t, s, q), want[i])
		}
	}
	partitions := func(q string) string {
		plan := explainText(t, s, strings.ReplaceAll(q, "FROM rg", "FROM "+file+" rg"))
		for _, line := range strings.Split(plan, "\n") {
			if strings.Contains(line, "FileScan parquet") {
				return strings.TrimSpace(line)
			}
		}
		t.Fatalf("no file scan:\n%s", plan)
		return ""
	}
	mustExec(t, s, "SET weft.file_split_rows = 0")
	check("one process, whole file")
	if line := partitions(rowGroupQueries[0]); strings.Contains(line, "split") {
		t.Errorf("weft.file_split_rows = 0 split the file: %s", line)
	}
	mustExec(t, s, "SET weft.file_split_rows = 30000")
	if line := partitions(rowGroupQueries[0]); strings.Contains(line, "split") {
		t.Errorf("40,000 rows split into runs of at least 30,000: %s", line)
	}
	mustExec(t, s, "SET weft.file_split_rows = 5000")
	check("one process, split")
	if line := partitions(rowGroupQueries[0]); !strings.Contains(line, "FileScan parquet (files: 1) (split by row group into 4 partitions, file:row groups 0:0-9 0:10-19 0:20-29 0:30-39)") {
		t.Errorf("the file's 40 row groups should be read in 4 runs: %s", line)
	}

	w1 := startWorker(t, dir, "--files-dir", files)
	w2 := startWorker(t, dir, "--files-dir", files)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	check("2 workers")
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+strings.ReplaceAll(rowGroupQueries[1], "FROM rg", "FROM "+file+" rg")), "\n")
	if !strings.Contains(plan, "Remote (workers=2") || !strings.Contains(plan, "split by row group into 4 partitions") || !strings.Contains(plan, "local=0") ||
		!strings.Contains(plan, "0@"+w1.addr) || !strings.Contains(plan, "1@"+w2.addr) || !strings.Contains(plan, "3@"+w2.addr) {
		t.Errorf("the file's row groups were not read on the workers, a run a partition:\n%s", plan)
	} else {
		t.Logf("%s", plan)
	}
}
