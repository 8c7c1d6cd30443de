package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/pgsource/pgtest"
)

// These tests start real worker processes (the weft binary, built once)
// on loopback ports, reading the data directory of a coordinator that
// runs in the test on a checked allocator.

var weftBin struct {
	once sync.Once
	path string
	err  error
}

// weftBinary builds cmd/weft once for the package's tests.
func weftBinary(t *testing.T) string {
	t.Helper()
	weftBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "weft-cluster-test-")
		if err != nil {
			weftBin.err = err
			return
		}
		weftBin.path = filepath.Join(dir, "weft")
		_, file, _, _ := runtime.Caller(0)
		cmd := exec.Command("go", "build", "-o", weftBin.path, "./cmd/weft")
		cmd.Dir = filepath.Join(filepath.Dir(file), "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			weftBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if weftBin.err != nil {
		t.Fatal(weftBin.err)
	}
	return weftBin.path
}

// workerProc is a running `weft worker`.
type workerProc struct {
	cmd  *exec.Cmd
	addr string
}

// startWorker starts a worker on a free loopback port reading dir; it is
// killed when the test ends. extra are more flags.
func startWorker(t *testing.T, dir string, extra ...string) *workerProc {
	t.Helper()
	return startWorkerAt(t, dir, "127.0.0.1:0", extra...)
}

func startWorkerAt(t *testing.T, dir, listen string, extra ...string) *workerProc {
	t.Helper()
	args := append([]string{"worker", "--listen", listen, "--data", dir, "--udf-cache", ""}, extra...)
	cmd := exec.Command(weftBinary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{cmd: cmd}
	t.Cleanup(w.kill)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "weft worker: listening on "); ok {
				addr <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case w.addr = <-addr:
	case <-time.After(60 * time.Second):
		t.Fatal("the worker did not start listening within a minute")
	}
	return w
}

func (w *workerProc) kill() {
	if w.cmd.ProcessState == nil {
		w.cmd.Process.Kill()
		w.cmd.Wait()
	}
}

// clusterData are the statements that fill the test table: several
// INSERTs (some through the write-ahead log), NULLs in some only, more
// rows than a batch holds, on four partitions.
var clusterData = []string{
	`CREATE TABLE t (a int, b text, g int)`,
	`INSERT INTO t SELECT i, 'b' || (i % 5), i % 11 FROM generate_series(1, 3000) i`,
	`INSERT INTO t SELECT i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'b' || (i % 5) END, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 11 END FROM generate_series(3001, 7000) i`,
	`INSERT INTO t VALUES (7001, NULL, NULL), (7002, 'b1', 3)`,
	`INSERT INTO t SELECT i, 'c' || (i % 3), i % 7 FROM generate_series(7003, 12000) i`,
	`CREATE TABLE u (g int, name text)`,
	`INSERT INTO u SELECT i, 'n' || i FROM generate_series(0, 9) i`,
}

// clusterQueries are answered by PostgreSQL and by Weft with 0, 1 and 2
// workers.
var clusterQueries = []string{
	`SELECT count(*), count(a), count(b), count(g), sum(a), min(a), max(a), sum(g) FROM t`,
	`SELECT a, b FROM t WHERE a % 97 = 3 ORDER BY a`,
	`SELECT b, count(*), sum(a), min(g), max(g) FROM t GROUP BY b ORDER BY b`,
	`SELECT g, count(*), count(b) FROM t WHERE a > 100 GROUP BY g ORDER BY g`,
	`SELECT t.b, u.name, count(*) FROM t JOIN u ON t.g = u.g WHERE t.a % 2 = 0 GROUP BY t.b, u.name ORDER BY 1, 2`,
	`SELECT a, b, g FROM t WHERE b IS NOT NULL ORDER BY a DESC LIMIT 20`,
	`SELECT a + g AS s, upper(b) FROM t WHERE g IS NULL AND a < 3500 ORDER BY a`,
	`SELECT count(*) FROM t t1 JOIN t t2 ON t1.a = t2.a + 1 WHERE t1.g = 3`,
	`SELECT b, count(DISTINCT g) FROM t WHERE a BETWEEN 2000 AND 9000 GROUP BY b ORDER BY b NULLS FIRST`,
}

// postgresAnswers runs the data statements and queries on a throwaway
// PostgreSQL and renders each row as Weft's rows helper does.
func postgresAnswers(t *testing.T) [][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range clusterData {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("postgres: %s: %v", sql, err)
		}
	}
	var answers [][]string
	for _, q := range clusterQueries {
		rs, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
		var out []string
		for rs.Next() {
			vals := make([]string, len(rs.RawValues()))
			for i, v := range rs.RawValues() {
				if v == nil {
					vals[i] = "NULL"
				} else {
					vals[i] = string(v)
				}
			}
			out = append(out, strings.Join(vals, "|"))
		}
		if err := rs.Err(); err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
		answers = append(answers, out)
	}
	return answers
}

// openCoordinator opens a database in dir on a checked allocator (see
// openChecked) whose workers are given up after timeout.
func openCoordinator(t *testing.T, dir string, timeout time.Duration) *engine.Session {
	t.Helper()
	return openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: timeout})
}

// checkAnswers runs every query and compares it with want.
func checkAnswers(t *testing.T, s *engine.Session, label string, want [][]string) {
	t.Helper()
	for i, q := range clusterQueries {
		got := rows(t, s, q)
		if strings.Join(got, "\n") != strings.Join(want[i], "\n") {
			t.Errorf("%s: %s\n got %d rows: %.600v\nwant %d rows: %.600v", label, q, len(got), got, len(want[i]), want[i])
		}
	}
}

// explainText is a query's EXPLAIN.
func explainText(t *testing.T, s *engine.Session, q string) string {
	t.Helper()
	return strings.Join(rows(t, s, "EXPLAIN "+q), "\n")
}

func TestClusterAnswersMatchPostgres(t *testing.T) {
	want := postgresAnswers(t)
	dir := t.TempDir()
	s := openCoordinator(t, dir, 5*time.Second)
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	checkAnswers(t, s, "no worker", want)

	w1 := startWorker(t, dir)
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w1.addr))
	checkAnswers(t, s, "1 worker", want)
	if plan := explainText(t, s, clusterQueries[2]); !strings.Contains(plan, "Remote (workers=1") {
		t.Errorf("with one worker the scan does not run remotely:\n%s", plan)
	}

	w2 := startWorker(t, dir)
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w2.addr))
	checkAnswers(t, s, "2 workers", want)
	plan := explainText(t, s, clusterQueries[4])
	if strings.Count(plan, "Remote (workers=2") != 2 {
		t.Errorf("with two workers both sides of the join should scan remotely:\n%s", plan)
	}
	// every worker ran fragments
	for _, row := range rows(t, s, "SELECT address, state, fragments > 0 FROM weft.workers ORDER BY address") {
		if !strings.HasSuffix(row, "|up|t") {
			t.Errorf("weft.workers row %s: want the worker up with fragments run", row)
		}
	}

	// a change after the workers started: the next query checkpoints it
	// and the workers read the new generation
	mustExec(t, s, "INSERT INTO t VALUES (20000, 'late', 1)")
	if plan := explainText(t, s, "SELECT count(*) FROM t WHERE b = 'late'"); !strings.Contains(plan, "Remote (workers=2") {
		t.Errorf("after an insert the scan does not run remotely:\n%s", plan)
	}
	if got := rows(t, s, "SELECT count(*), max(a) FROM t WHERE b = 'late'"); strings.Join(got, ",") != "1|20000" {
		t.Errorf("after a late insert: %v, want 1|20000", got)
	}
	mustExec(t, s, "DELETE FROM t WHERE a = 20000")

	// a transaction block sees its own changes: its scans stay here
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO t VALUES (30000, 'mine', 2)")
	if got := rows(t, s, "SELECT count(*) FROM t WHERE b = 'mine'"); strings.Join(got, ",") != "1" {
		t.Errorf("in a block: %v, want its own row", got)
	}
	if plan := explainText(t, s, "SELECT count(*) FROM t WHERE b = 'mine'"); !strings.Contains(plan, "Not distributed: table public.t has changes that are not checkpointed") {
		t.Errorf("in a block with changes the scan should stay here and say why:\n%s", plan)
	}
	mustExec(t, s, "ROLLBACK")

	// streamed like the wire protocol reads results
	res, err := s.QueryStream(context.Background(), clusterQueries[1])
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		b, err := res.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		n += int(b.NumRows())
		b.Release()
	}
	res.Release()
	if n != len(want[1]) {
		t.Errorf("streamed %d rows, want %d", n, len(want[1]))
	}

	mustExec(t, s, fmt.Sprintf("CALL weft.remove_worker('%s')", w1.addr))
	mustExec(t, s, fmt.Sprintf("CALL weft.remove_worker('%s')", w2.addr))
	checkAnswers(t, s, "workers removed", want)
}
