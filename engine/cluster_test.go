package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/engine"
	wexec "github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }

// These tests start real worker processes (the weft binary, built once)
// on loopback ports, reading the data directory of a coordinator that
// runs in the test on a checked allocator.

var weftBin struct {
	once sync.Once
	path string
	err  error
}

// weftBinary builds cmd/weft once for the package's tests.
func weftBinary(t testing.TB) string {
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
func startWorker(t testing.TB, dir string, extra ...string) *workerProc {
	t.Helper()
	return startWorkerAt(t, dir, "127.0.0.1:0", extra...)
}

func startWorkerAt(t testing.TB, dir, listen string, extra ...string) *workerProc {
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
	`CREATE TABLE n (k int, big bigint, amount numeric(12,2), span interval)`,
	`INSERT INTO n SELECT i, i::bigint * 3000000000, (i * 1.25)::numeric(12,2), i * interval '1 minute' FROM generate_series(1, 5000) i`,
	`INSERT INTO n VALUES (5001, NULL, NULL, NULL), (5002, -7, -0.01, interval '-1 day')`,
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
	`SELECT k % 3, count(*), sum(big), sum(amount), sum(span), min(amount), max(big) FROM n GROUP BY 1 ORDER BY 1`,
	`SELECT sum(big), sum(amount), count(span) FROM n WHERE k > 4990`,
	// avg's state crosses as its sum and count
	`SELECT b, avg(a), avg(g), avg(a::smallint), count(*) FROM t GROUP BY b ORDER BY b NULLS FIRST`,
	`SELECT k % 7, avg(k), avg(amount), avg(amount::numeric(20,6)), max(k) FROM n GROUP BY 1 ORDER BY 1`,
	`SELECT avg(amount), avg(k), count(*) FROM n WHERE k > 4990`,
	`SELECT avg(amount), avg(k) FROM n WHERE k > 9999`,
	`SELECT u.name, avg(t.a), sum(t.a) FROM t JOIN u ON t.g = u.g WHERE t.b <> 'b2' GROUP BY u.name ORDER BY 1`,
	// many groups: shuffled by key when weft.shuffle_groups allows
	`SELECT a % 1000, count(*), sum(g), avg(a), min(b), max(b), count(g) FROM t GROUP BY 1 ORDER BY 1`,
	`SELECT g, b, count(*), max(a) FROM t GROUP BY g, b ORDER BY 1 NULLS FIRST, 2 NULLS FIRST`,
	`SELECT (a % 40)::float8 / 4 - 5, count(*), min(a) FROM t GROUP BY 1 ORDER BY 1`,
	`SELECT t1.a % 500, count(*), sum(t2.g), max(t2.b) FROM t t1 JOIN t t2 ON t1.a = t2.a + 1 GROUP BY 1 ORDER BY 1`,
	`SELECT k, sum(amount), avg(k), count(span) FROM n GROUP BY k ORDER BY k DESC LIMIT 7`,
	// joins over aggregations and over shuffle joins (nestedQueries):
	// the inner stage's rows repartitioned into the join on the workers
	`SELECT t.a, t.b, s.n, s.m FROM t JOIN (SELECT g, count(*) AS n, max(a) AS m FROM t GROUP BY g) s ON t.g = s.g WHERE t.a % 250 = 0 ORDER BY t.a`,
	`SELECT count(*), sum(a), min(b) FROM t WHERE a IN (SELECT a + 1 FROM t WHERE g = 3 GROUP BY a + 1 HAVING count(*) = 1)`,
	`SELECT t1.g, count(*), sum(t3.a), max(t2.b) FROM t t1 JOIN t t2 ON t1.a = t2.a + 1 JOIN t t3 ON t2.a = t3.a - 1 GROUP BY t1.g ORDER BY 1 NULLS FIRST`,
	`SELECT u.name, s.n, s.total FROM (SELECT g, count(*) AS n, sum(a) AS total FROM t GROUP BY g) s JOIN u ON s.g = u.g ORDER BY 1`,
	`SELECT s1.g, s1.n, s2.n FROM (SELECT g, count(*) AS n FROM t GROUP BY g) s1 LEFT JOIN (SELECT g, count(b) AS n FROM t WHERE a > 5000 GROUP BY g) s2 ON s1.g = s2.g ORDER BY 1 NULLS FIRST`,
	// a WITH query named twice: computed once on the workers, its rows
	// shared on the coordinator by both references
	`WITH s AS (SELECT g, count(*) AS n, sum(a) AS total FROM t GROUP BY g) SELECT s1.g, s1.n, s2.total FROM s s1 JOIN s s2 ON s1.g = s2.g + 1 ORDER BY 1`,
	// a large aggregation probing a small table broadcast to it
	`SELECT s.k, s.n, s.m, u.name FROM (SELECT a AS k, count(*) AS n, max(b) AS m FROM t GROUP BY a) s JOIN u ON s.k = u.g ORDER BY 1`,
}

// nestedQueries are the indexes in clusterQueries of the joins over
// aggregations and shuffle joins: each runs as one stage on the workers.
var nestedQueries = []int{21, 22, 23, 24, 25, 27}

// postgresAnswers runs the data statements and queries on a throwaway
// PostgreSQL and renders each row as Weft's rows helper does.
func postgresAnswers(t *testing.T) [][]string {
	t.Helper()
	return postgresRows(t, clusterData, clusterQueries)
}

// openCoordinator opens a database in dir on a checked allocator (see
// openChecked) whose workers are given up after timeout.
func openCoordinator(t *testing.T, dir string, timeout time.Duration) *engine.Session {
	t.Helper()
	return openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: timeout})
}

// streamAcross streams sql on s: its first batch, then disturb (a
// worker killed or stopped while the query runs), then the rest. Each
// batch goes to use, which keeps no reference to it; an error after the
// disturbance (what names it) fails the test.
func streamAcross(t *testing.T, s *engine.Session, sql, what string, disturb func(), use func(arrow.Record)) {
	t.Helper()
	streamed, err := s.QueryStream(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer streamed.Release()
	first, err := streamed.Next(context.Background())
	if err != nil || first == nil {
		t.Fatalf("first batch: %v, %v", first, err)
	}
	use(first)
	first.Release()
	disturb()
	for {
		b, err := streamed.Next(context.Background())
		if err != nil {
			t.Fatalf("after %s: %v", what, err)
		}
		if b == nil {
			return
		}
		use(b)
		b.Release()
	}
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

// fragmentsRun is how many fragments the workers have run.
func fragmentsRun(t *testing.T, s *engine.Session) string {
	t.Helper()
	return rows(t, s, "SELECT coalesce(sum(fragments), 0) FROM weft.workers")[0]
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
	if plan := explainText(t, s, clusterQueries[2]); !strings.Contains(plan, "Remote (workers=1") || !strings.Contains(plan, "PartialAggregate") {
		t.Errorf("with one worker the aggregation's partial phase does not run remotely:\n%s", plan)
	} else {
		t.Logf("%s", plan)
	}
	if plan := explainText(t, s, clusterQueries[9]); !strings.Contains(plan, "sum(sum(big))") || !strings.Contains(plan, "sum(sum(amount))") || !strings.Contains(plan, "PartialAggregate") {
		t.Errorf("sums of bigint and numeric should be split:\n%s", plan)
	}
	if plan := explainText(t, s, clusterQueries[12]); !strings.Contains(plan, "avg(k)") || !strings.Contains(plan, "sum(sum(amount))") || !strings.Contains(plan, "sum(count(amount))") || !strings.Contains(plan, "PartialAggregate") {
		t.Errorf("avg should be split into a sum and a count:\n%s", plan)
	}
	if plan := explainText(t, s, clusterQueries[8]); !strings.Contains(plan, "Remote (workers=1") || strings.Contains(plan, "PartialAggregate") {
		t.Errorf("count(DISTINCT …) should aggregate here over a remote scan:\n%s", plan)
	}

	w2 := startWorker(t, dir)
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w2.addr))
	checkAnswers(t, s, "2 workers", want)
	// a join with a small build side runs on the workers, under the
	// aggregation's partial phase: one remote stage
	plan := explainText(t, s, clusterQueries[4])
	if strings.Count(plan, "Remote (workers=2") != 1 || !strings.Contains(plan, "Broadcast") || !strings.Contains(plan, "PartialAggregate") {
		t.Errorf("with two workers the join should run on the workers as a broadcast join below the partial aggregation:\n%s", plan)
	}
	// every partition ran on a worker: none had to fall back to the
	// coordinator because a worker planned the query otherwise
	for _, q := range clusterQueries {
		for _, line := range rows(t, s, "EXPLAIN ANALYZE "+q) {
			if strings.Contains(line, "Remote (") && !strings.Contains(line, " local=0)") {
				t.Errorf("%s: a partition ran on the coordinator: %s", q, line)
			}
		}
	}
	// with no join small enough to broadcast, the joins shuffle: both
	// sides hashed into buckets on the workers, each reduce partition
	// reading its bucket from them
	// a join over a small aggregation reads it whole in every partition,
	// computed once by map tasks; the other side keeps its partitions
	for _, i := range []int{21, 24} {
		if plan := explainText(t, s, clusterQueries[i]); !strings.Contains(plan, "computed once by map tasks") || strings.Contains(plan, "Shuffle HashJoin") || strings.Count(plan, "Remote (") != 1 {
			t.Errorf("%s: the aggregation's few groups should be broadcast into the join in one stage:\n%s", clusterQueries[i], plan)
		}
	}
	// and a large one is shuffled by key on the workers, its reduce
	// partitions probing a small table broadcast to them
	if plan := explainText(t, s, clusterQueries[27]); !strings.Contains(plan, "Shuffle HashAggregate") || !strings.Contains(plan, "Broadcast (build side, every worker") || strings.Count(plan, "Remote (") != 1 {
		t.Errorf("the aggregation should probe the broadcast table in one stage:\n%s", plan)
	}
	if plan := explainText(t, s, clusterQueries[26]); strings.Count(plan, "CTE Scan s") != 2 || strings.Count(plan, "stage 1:") != 2 || strings.Contains(plan, "stage 2:") {
		t.Errorf("the WITH query should run on the workers as one stage under both its references:\n%s", plan)
	}
	mustExec(t, s, "SET weft.broadcast_rows = 0")
	checkAnswers(t, s, "2 workers, shuffle joins", want)
	if plan := explainText(t, s, clusterQueries[4]); !strings.Contains(plan, "Shuffle HashJoin") || strings.Count(plan, "Remote (") != 1 {
		t.Errorf("with weft.broadcast_rows = 0 the join should shuffle on the workers:\n%s", plan)
	} else {
		t.Logf("%s", plan)
	}
	for _, q := range clusterQueries {
		for _, line := range rows(t, s, "EXPLAIN ANALYZE "+q) {
			if strings.Contains(line, "Remote (") && !strings.Contains(line, " local=0)") {
				t.Errorf("%s, shuffled: a partition ran on the coordinator: %s", q, line)
			}
		}
	}
	checkNestedStages(t, s, "shuffle joins")
	analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+clusterQueries[4]), "\n")
	if !strings.Contains(analyzed, "map outputs computed again=0)") || strings.Contains(analyzed, "shuffled rows=0 ") {
		t.Errorf("the reduce tasks should read every bucket from the workers' map outputs:\n%s", analyzed)
	} else {
		t.Logf("%s", analyzed)
	}
	// every aggregation that can be shuffled by key, over shuffle joins
	// (nested shuffles) and then over broadcast joins and scans
	mustExec(t, s, "SET weft.shuffle_groups = 0")
	checkAnswers(t, s, "2 workers, shuffled aggregations over shuffle joins", want)
	if plan := explainText(t, s, clusterQueries[19]); !strings.Contains(plan, "Shuffle HashAggregate") || !strings.Contains(plan, "Shuffle HashJoin") || strings.Count(plan, "Remote (") != 1 {
		t.Errorf("the aggregation should shuffle over the shuffle join, in one stage:\n%s", plan)
	} else {
		t.Logf("%s", plan)
	}
	checkNestedStages(t, s, "shuffle joins, shuffled aggregations")
	mustExec(t, s, "RESET weft.broadcast_rows")
	checkAnswers(t, s, "2 workers, shuffled aggregations", want)
	checkShuffledAggregations(t, s)
	mustExec(t, s, "RESET weft.shuffle_groups")
	if plan := explainText(t, s, clusterQueries[16]); strings.Contains(plan, "Shuffle HashAggregate") {
		t.Errorf("a thousand groups are merged on the coordinator by default:\n%s", plan)
	}
	// the estimate decides: twelve thousand values of a against a
	// computed key, in the query or in a subquery (counted as the
	// planner counts a computed GROUP BY key, not as unique)
	mustExec(t, s, "SET weft.shuffle_groups = 5000")
	for q, shuffled := range map[string]bool{
		"SELECT a, count(*) FROM t GROUP BY a":                                     true,
		"SELECT a % 7, count(*) FROM t GROUP BY 1":                                 false,
		"SELECT y, count(*) FROM (SELECT a % 7 AS y FROM t) s GROUP BY y":          false,
		"SELECT g, y, count(*) FROM (SELECT g, a % 7 AS y FROM t) s GROUP BY g, y": false,
	} {
		if plan := explainText(t, s, q); strings.Contains(plan, "Shuffle HashAggregate") != shuffled {
			t.Errorf("%s: shuffled %v under weft.shuffle_groups = 5000, want %v:\n%s", q, !shuffled, shuffled, plan)
		}
	}
	mustExec(t, s, "RESET weft.shuffle_groups")
	// EXPLAIN ANALYZE: what each stage moved, its time, and the worker
	// and rows of each partition
	analyzed = strings.Join(rows(t, s, "EXPLAIN ANALYZE "+clusterQueries[7]), "\n")
	for _, want := range []string{"Remote (workers=2, stage 1: gather of whole partitions to the coordinator, partitions: 0@", "Broadcast (build side",
		"received rows=4 bytes=", "per partition rows=[1 1 1 1]", "stage time="} {
		if !strings.Contains(analyzed, want) {
			t.Errorf("EXPLAIN ANALYZE lacks %q:\n%s", want, analyzed)
		}
	}
	// a prepared statement's parameters travel with its fragments
	before := fragmentsRun(t, s)
	p, err := s.Prepare(context.Background(), "SELECT count(*), sum(a) FROM t WHERE b = $1 AND g < $2", nil)
	if err != nil {
		t.Fatal(err)
	}
	prepared, err := s.ExecPrepared(context.Background(), p, []types.Datum{"b3", int64(5)})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, b := range prepared.Batches {
		got = append(got, fmt.Sprint(wexec.DatumAt(b.Column(0), 0), "|", wexec.DatumAt(b.Column(1), 0)))
	}
	prepared.Release()
	if want := rows(t, s, "SELECT count(*), sum(a) FROM t WHERE b = 'b3' AND g < 5"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("prepared with parameters: %v, want %v", got, want)
	}
	if after := fragmentsRun(t, s); after == before {
		t.Errorf("the prepared statement ran no fragment on the workers")
	}

	// an INSERT's query runs here (its text is not a query to replan)
	before = fragmentsRun(t, s)
	mustExec(t, s, "CREATE TABLE copied AS SELECT * FROM t WHERE a < 100")
	mustExec(t, s, "INSERT INTO copied SELECT * FROM t WHERE a < 50")
	if after := fragmentsRun(t, s); after != before {
		t.Errorf("CREATE TABLE AS / INSERT … SELECT sent %s fragments to workers that cannot replan them", after)
	}
	if got := rows(t, s, "SELECT count(*) FROM copied"); got[0] != "148" {
		t.Errorf("copied holds %v rows, want 99 + 49", got)
	}

	// what a worker would compute differently stays here, saying why
	mustExec(t, s, "CREATE SEQUENCE sq")
	for q, why := range map[string]string{
		"SELECT count(*) FROM t WHERE a > nextval('sq') * 0": "a volatile function (nextval)",
	} {
		if plan := explainText(t, s, q); strings.Contains(plan, "Remote") || !strings.Contains(plan, "Not distributed: ") || !strings.Contains(plan, why) {
			t.Errorf("%s should run here because %s:\n%s", q, why, plan)
		}
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

	// a table emptied through the log while another table is empty on
	// disk: the workers must not read the other one's nothing, nor the
	// emptied one's old rows
	mustExec(t, s, "CREATE TABLE e1 (x int)")
	mustExec(t, s, "CREATE TABLE e2 (x int)")
	mustExec(t, s, "INSERT INTO e2 VALUES (1), (2)")
	if got := rows(t, s, "SELECT count(*) FROM e2"); got[0] != "2" {
		t.Errorf("e2 before the delete: %v, want 2", got)
	}
	mustExec(t, s, "DELETE FROM e2")
	if got := rows(t, s, "SELECT count(*) FROM e2"); got[0] != "0" {
		t.Errorf("e2 after the delete: %v, want 0", got)
	}

	mustExec(t, s, fmt.Sprintf("CALL weft.remove_worker('%s')", w1.addr))
	mustExec(t, s, fmt.Sprintf("CALL weft.remove_worker('%s')", w2.addr))
	checkAnswers(t, s, "workers removed", want)
}

// checkNestedStages: a join over an aggregation or over a shuffle join
// runs as one stage on the workers, the inner aggregation or join
// shuffled into it; every partition on a worker; and EXPLAIN ANALYZE's
// shuffle totals count the inner shuffle's buckets too (more rows than
// the outer join's sides alone).
func checkNestedStages(t *testing.T, s *engine.Session, mode string) {
	t.Helper()
	for _, i := range nestedQueries {
		q := clusterQueries[i]
		plan := explainText(t, s, q)
		if strings.Count(plan, "Remote (") != 1 || strings.Count(plan, "Shuffle Hash") < 2 || strings.Contains(plan, "Not distributed") {
			t.Errorf("%s, %s: should run as one stage of nested shuffles on the workers:\n%s", q, mode, plan)
			continue
		}
		analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q), "\n")
		if !strings.Contains(analyzed, " local=0)") || !strings.Contains(analyzed, "map outputs computed again=0)") {
			t.Errorf("%s, %s: every partition should run on a worker:\n%s", q, mode, analyzed)
		}
		if i == 23 {
			t.Logf("%s", analyzed)
		}
	}
	// the three-way join reads t three times through the shuffles (each
	// of 12,002 rows once per side), plus the inner join's output: all of
	// it counted, not just the outer join's reads
	analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+clusterQueries[23]), "\n")
	var shuffled int64
	if _, rest, ok := strings.Cut(analyzed, "shuffled rows="); ok {
		fmt.Sscanf(rest, "%d", &shuffled)
	}
	if shuffled < 3*12002 {
		t.Errorf("%s: shuffled rows=%d, want at least the three scans' 36006 (nested map tasks' reads counted):\n%s", mode, shuffled, analyzed)
	}
}

// checkShuffledAggregations: with weft.shuffle_groups = 0 every
// aggregation with group keys of the queries runs as a shuffled
// aggregation on the workers: no partition on the coordinator, every
// bucket read from the workers' map outputs; count(DISTINCT …) stays
// whole on the coordinator.
func checkShuffledAggregations(t *testing.T, s *engine.Session) {
	t.Helper()
	for i, q := range clusterQueries {
		plan := explainText(t, s, q)
		grouped := strings.Contains(plan, "HashAggregate keys=[") && !strings.Contains(plan, "keys=[]")
		switch {
		case i == 8:
			if strings.Contains(plan, "Shuffle HashAggregate") {
				t.Errorf("count(DISTINCT …) cannot be shuffled:\n%s", plan)
			}
			continue
		case grouped && !strings.Contains(plan, "Shuffle HashAggregate"):
			t.Errorf("%s: the aggregation should be shuffled:\n%s", q, plan)
		case !grouped:
			continue
		}
		analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q), "\n")
		if !strings.Contains(analyzed, " local=0)") || !strings.Contains(analyzed, "map outputs computed again=0)") || strings.Contains(analyzed, "shuffled rows=0 ") {
			t.Errorf("%s: every reduce task should run on a worker and read its buckets from the workers:\n%s", q, analyzed)
		}
		if i == 16 {
			t.Logf("%s", analyzed)
		}
	}
}

// bigTable fills a table large enough that a query over it is still
// streaming when a worker is killed or stopped.
func bigTable(t *testing.T, s *engine.Session) {
	t.Helper()
	mustExec(t, s, `CREATE TABLE big (a int, b text, g int)`)
	mustExec(t, s, `INSERT INTO big SELECT i, CASE WHEN i % 13 = 0 THEN NULL ELSE 'v' || (i % 101) END, i % 17 FROM generate_series(1, 200000) i`)
	mustExec(t, s, `INSERT INTO big SELECT i, 'w' || (i % 7), CASE WHEN i % 5 = 0 THEN NULL ELSE i % 17 END FROM generate_series(200001, 400000) i`)
	mustExec(t, s, `CREATE TABLE small (g int, w int)`)
	mustExec(t, s, `INSERT INTO small SELECT i, i * 10 FROM generate_series(0, 15) i`)
	// two rows for most keys: a probe row's matches must come in the
	// same order when its partition is computed again
	mustExec(t, s, `CREATE TABLE pairs (g int, w int)`)
	mustExec(t, s, `INSERT INTO pairs SELECT i % 12, i FROM generate_series(0, 23) i`)
}

const bigQuery = `SELECT g, count(*), count(b), sum(a), min(length(b || repeat('x', 40))) FROM big GROUP BY g ORDER BY g`

// wasmQuery calls a wasm function (testdata/udf/wasm/plain.wasm's add)
// over every row, on the workers.
const wasmQuery = `SELECT g, count(*), sum(add(a, g)), max(add(a, 7)) FROM big WHERE a % 5 <> 0 GROUP BY g ORDER BY g NULLS FIRST`

// tableFuncQuery calls a wasm table function LATERALly over big
// (c_tables.wasm's split_words as words), one run per partition on the
// workers, under the aggregation's partial phase; streamedTableFunc's
// joined rows themselves come back (a rerun partition skips what was
// passed on); histogramQuery reads a relation argument.
const tableFuncQuery = `SELECT big.g, count(*), sum(w.n), max(w.w), min(length(w.w)) FROM big, LATERAL words(big.b || ' ' || big.a) w WHERE big.a % 8 = 0 GROUP BY big.g ORDER BY big.g NULLS FIRST`

const streamedTableFunc = `SELECT big.a, w.w, w.n FROM big, words(big.b || ' ' || big.a) w WHERE big.a % 16 = 0 ORDER BY 1, 3`

const histogramQuery = `SELECT bucket, sum(n) FROM histogram((SELECT a::bigint FROM big WHERE a % 3 = 0)) GROUP BY bucket ORDER BY bucket NULLS FIRST`

const bigJoin = `SELECT big.g, count(*), sum(small.w), max(big.b) FROM big JOIN small ON big.g = small.g WHERE big.a % 3 <> 0 GROUP BY big.g ORDER BY big.g`

// streamedJoin's joined rows themselves come from the workers (no
// aggregation above the join): a rerun partition skips what was passed on.
const streamedJoin = `SELECT big.a, big.b, pairs.w FROM big JOIN pairs ON big.g = pairs.g WHERE big.a % 4 = 0 ORDER BY 1, 3`

// shuffleJoinQuery and streamedShuffleJoin join big with itself, too
// large a build side to broadcast under the test's weft.broadcast_rows:
// both sides are repartitioned on the workers.
const shuffleJoinQuery = `SELECT b1.g, count(*), sum(b2.a), max(b2.b) FROM big b1 JOIN big b2 ON b1.a = b2.a + 3 WHERE b2.g <> 5 GROUP BY b1.g ORDER BY b1.g`

const streamedShuffleJoin = `SELECT b1.a, b2.b, b2.g FROM big b1 JOIN big b2 ON b1.a = b2.a - 1 WHERE b1.a % 9 = 0 ORDER BY 1`

// shuffledAggQuery makes 50,000 groups and shuffledAggOverJoin 20,000
// over a shuffle join: under weft.shuffle_groups = 0 both run as
// shuffled aggregations, their partial groups repartitioned by key
// across the workers and merged there.
const shuffledAggQuery = `SELECT a % 50000 AS k, count(*), count(b), sum(g), min(b), avg(a) FROM big GROUP BY 1 ORDER BY 1`

const shuffledAggOverJoin = `SELECT b1.a % 20000, count(*), sum(b2.g), max(b2.b) FROM big b1 JOIN big b2 ON b1.a = b2.a + 3 GROUP BY 1 ORDER BY 1`

// nestedJoinQuery joins a shuffle join of big with itself to a shuffled
// aggregation of big (under weft.broadcast_rows = 100000 nothing of it
// is broadcast): three shuffles in one stage, the outer join's map tasks
// reading the inner join's and the aggregation's reduce partitions, and
// the aggregation over it on the workers too.
const nestedJoinQuery = `SELECT b1.g, count(*), sum(s.n), max(b2.b), max(s.m) FROM big b1 JOIN big b2 ON b1.a = b2.a + 3
	JOIN (SELECT a AS k, count(*) AS n, max(b) AS m FROM big WHERE a % 8 <> 0 GROUP BY a) s ON b2.a = s.k GROUP BY b1.g ORDER BY b1.g`

// streamedNestedJoin's joined rows come back themselves: a shuffle join
// of big with a shuffled aggregation of it, whose rerun partition skips
// the rows already passed on (the aggregation's reduce partitions, which
// the join's map tasks read, repeat their groups in the same order).
const streamedNestedJoin = `SELECT b1.a, b1.b, s.n, s.m FROM big b1 JOIN (SELECT a AS k, count(*) AS n, min(b) AS m FROM big WHERE a % 3 <> 0 GROUP BY a) s ON b1.a = s.k + 1 WHERE b1.a % 7 = 0 ORDER BY 1`

// streamedBroadcastStage joins big with its groups by g, few enough
// (17) to be read whole by every partition of big: the groups are
// computed once by map tasks, big keeps its partitions, and its joined
// rows stream back (a rerun partition skips what was passed on).
const streamedBroadcastStage = `SELECT b1.a, b1.b, s.n, s.m FROM big b1 JOIN (SELECT g, count(*) AS n, max(a) AS m FROM big GROUP BY g) s ON b1.g = s.g WHERE b1.a % 7 = 0 ORDER BY 1`

// waitWorkersUp waits until these worker processes are up (a
// restarted one rejoins through the registry's retries): the registry
// knows each by its current process id.
func waitWorkersUp(t *testing.T, s *engine.Session, procs ...*workerProc) {
	t.Helper()
	var want []string
	for _, w := range procs {
		want = append(want, fmt.Sprintf("%s|up|%d", w.addr, w.cmd.Process.Pid))
	}
	sort.Strings(want)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := rows(t, s, "SELECT address, state, pid FROM weft.workers WHERE state = 'up' ORDER BY address")
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers %v not up within a minute: %v", want, rows(t, s, "SELECT address, state, reason, pid FROM weft.workers"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// partitionsLost is how many partitions were rerun because their worker
// was lost while they streamed.
func partitionsLost(t *testing.T, s *engine.Session) string {
	t.Helper()
	return rows(t, s, "SELECT coalesce(sum(partitions_lost), 0) FROM weft.workers")[0]
}

func sameRows(t *testing.T, label string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n got %v\nwant %v", label, got, want)
	}
}

// TestClusterSurvivesKilledWorker kills one of two workers at a random
// moment of an aggregation (its partial phase on the workers), of a join
// under an aggregation and of a join whose rows stream back, each as a
// broadcast join and as a shuffle join on the workers, of a wasm function
// and of wasm table functions over the relation (LATERAL under an
// aggregation and streamed back, and over a relation argument), and of a
// shuffled aggregation and one over a shuffle join, ten or twenty times
// each: every answer is the one process's, and the killed worker, started
// again on its address, rejoins. Each query is a subtest
// (-run 'TestClusterSurvivesKilledWorker/wasm_table').
func TestClusterSurvivesKilledWorker(t *testing.T) {
	dir := t.TempDir()
	s := openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: 2 * time.Second,
		UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	bigTable(t, s)
	mustExec(t, s, "CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE")
	mustExec(t, s, "CREATE FUNCTION words(text) RETURNS TABLE (w text, n bigint) LANGUAGE wasm AS 'c_tables.wasm', 'split_words' IMMUTABLE")
	mustExec(t, s, "CALL weft.import_module('c_tables.wasm')") // histogram
	// big (400,000 rows) is shuffled, small and pairs are broadcast
	mustExec(t, s, "SET weft.broadcast_rows = 100000")
	// twenty kills each of an aggregation, a join, a wasm function over
	// the relation, a wasm table function over it and a shuffled
	// aggregation, ten of each streamed or shuffled variant
	queries := []struct {
		name, sql string
		runs      int
		shuffleAg bool // run under weft.shuffle_groups = 0
	}{{"aggregation", bigQuery, 20, false}, {"join", bigJoin, 20, false}, {"wasm function", wasmQuery, 20, false}, {"wasm table function", tableFuncQuery, 20, false},
		{"streamed join", streamedJoin, 10, false}, {"shuffle join", shuffleJoinQuery, 10, false}, {"streamed shuffle join", streamedShuffleJoin, 10, false},
		{"streamed wasm table function", streamedTableFunc, 10, false}, {"wasm table function over a relation argument", histogramQuery, 10, false},
		{"shuffled aggregation", shuffledAggQuery, 20, true}, {"shuffled aggregation over a shuffle join", shuffledAggOverJoin, 10, true},
		{"nested join", nestedJoinQuery, 10, false}, {"streamed nested join", streamedNestedJoin, 10, false},
		{"streamed broadcast of an aggregation", streamedBroadcastStage, 10, false}}
	wants := make([][]string, len(queries))
	for i, q := range queries {
		wants[i] = rows(t, s, q.sql)
	}
	workers := []*workerProc{startWorker(t, dir), startWorker(t, dir)}
	for _, w := range workers {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := newRand(seed)
	parent := t // (which outlives the subtests: the restarted workers are its)
	for i, q := range queries {
		t.Run(strings.ReplaceAll(q.name, " ", "_"), func(t *testing.T) {
			if q.shuffleAg {
				mustExec(t, s, "SET weft.shuffle_groups = 0")
			} else {
				mustExec(t, s, "RESET weft.shuffle_groups")
			}
			sameRows(t, q.name+" undisturbed", rows(t, s, q.sql), wants[i]) // the workers open the directory
			if q.sql == bigJoin || q.sql == streamedJoin {
				if plan := explainText(t, s, q.sql); !strings.Contains(plan, "Broadcast") || strings.Count(plan, "Remote (") != 1 {
					t.Fatalf("%s should run as one broadcast join on the workers:\n%s", q.name, plan)
				}
			}
			if q.sql == wasmQuery {
				if plan := explainText(t, s, q.sql); strings.Count(plan, "Remote (") != 1 {
					t.Fatalf("%s should run on the workers:\n%s", q.name, plan)
				}
			}
			if strings.Contains(q.name, "table function") {
				plan := explainText(t, s, q.sql)
				if remote := strings.Index(plan, "Remote ("); remote < 0 || strings.Count(plan, "Remote (") != 1 || !strings.Contains(plan[remote:], "WasmTableFunction") {
					t.Fatalf("%s should run inside the one remote stage:\n%s", q.name, plan)
				}
			}
			if strings.Contains(q.name, "shuffle join") {
				if plan := explainText(t, s, q.sql); !strings.Contains(plan, "Shuffle HashJoin") || strings.Count(plan, "Remote (") != 1 {
					t.Fatalf("%s should run as one shuffle join on the workers:\n%s", q.name, plan)
				}
			}
			if q.sql == streamedBroadcastStage {
				if plan := explainText(t, s, q.sql); !strings.Contains(plan, "computed once by map tasks") || strings.Contains(plan, "Shuffle HashJoin") || strings.Count(plan, "Remote (") != 1 {
					t.Fatalf("%s should read the aggregation whole in every partition of one stage:\n%s", q.name, plan)
				}
			}
			if q.sql == streamedNestedJoin {
				if plan := explainText(t, s, q.sql); strings.Count(plan, "Shuffle Hash") != 2 || strings.Count(plan, "Remote (") != 1 || strings.Contains(plan, "whole") {
					t.Fatalf("%s should stream from one stage of a shuffle join over a shuffled aggregation:\n%s", q.name, plan)
				}
			}
			if q.sql == nestedJoinQuery {
				if plan := explainText(t, s, q.sql); strings.Count(plan, "Shuffle HashJoin") != 2 || strings.Count(plan, "Shuffle HashAggregate") == 0 || strings.Count(plan, "Remote (") != 1 {
					t.Fatalf("%s should run as one stage of two shuffle joins over a shuffled aggregation:\n%s", q.name, plan)
				}
			}
			if q.shuffleAg {
				if plan := explainText(t, s, q.sql); !strings.Contains(plan, "Shuffle HashAggregate") || strings.Count(plan, "Remote (") != 1 {
					t.Fatalf("%s should run as one shuffled aggregation on the workers:\n%s", q.name, plan)
				}
			}
			// the undisturbed time: the mean of three runs
			start := time.Now()
			for range 3 {
				sameRows(t, q.name+" undisturbed", rows(t, s, q.sql), wants[i])
			}
			undisturbed := time.Since(start) / 3
			lostBefore := partitionsLost(t, s)
			var disturbed time.Duration
			for run := range q.runs {
				victim := workers[run%2]
				delay := time.Duration(rng.Int63n(int64(undisturbed)/2 + 1))
				killed := make(chan struct{})
				go func() {
					defer close(killed)
					time.Sleep(delay)
					victim.cmd.Process.Kill()
				}()
				start := time.Now()
				got := rows(t, s, q.sql)
				took := time.Since(start)
				disturbed += took
				t.Logf("%s run %d: killed %s after %v, query took %v", q.name, run, victim.addr, delay, took)
				sameRows(t, fmt.Sprintf("%s run %d", q.name, run), got, wants[i])
				<-killed
				victim.cmd.Wait()
				workers[run%2] = startWorkerAt(parent, dir, victim.addr)
				waitWorkersUp(t, s, workers...)
				sameRows(t, q.name+" after a restart", rows(t, s, q.sql), wants[i]) // the new worker opens the directory
			}
			lostAfter := partitionsLost(t, s)
			mean := disturbed / time.Duration(q.runs)
			t.Logf("%s: undisturbed %v, mean with a kill %v (%.2fx); partitions rerun %s -> %s", q.name, undisturbed, mean,
				float64(mean)/float64(undisturbed), lostBefore, lostAfter)
		})
	}
	if partitionsLost(t, s) == "0" {
		t.Errorf("no kill of one hundred and ninety landed while a partition streamed: the recovery path was not exercised")
	}
}

// TestClusterStoppedWorker stops a worker (SIGSTOP, as a network
// partition looks) while a query streams: it is given up after the
// timeout and its partitions rerun; SIGCONT later harms nothing and it
// rejoins.
func TestClusterStoppedWorker(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, time.Second)
	bigTable(t, s)
	want := rows(t, s, bigQuery)
	w1, w2 := startWorker(t, dir), startWorker(t, dir)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	res, err := s.QueryStream(context.Background(), bigQuery)
	if err != nil {
		t.Fatal(err)
	}
	res.Release()
	// stop it while the query runs: the first batch has come back
	var total int64
	streamAcross(t, s, `SELECT a, b || repeat('x', 200) FROM big WHERE a % 3 <> 0`, "SIGSTOP of a worker", func() {
		if err := w1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}, func(b arrow.Record) { total += b.NumRows() })
	if total != 266667 {
		t.Errorf("streamed %d rows with a worker stopped, want 266667", total)
	}
	state := rows(t, s, fmt.Sprintf("SELECT state, reason LIKE 'no health answer%%' FROM weft.workers WHERE address = '%s'", w1.addr))
	if strings.Join(state, ",") != "down|t" {
		t.Errorf("the stopped worker shows %v (%v), want down for want of health answers", state,
			rows(t, s, fmt.Sprintf("SELECT reason FROM weft.workers WHERE address = '%s'", w1.addr)))
	}
	if partitionsLost(t, s) == "0" {
		t.Errorf("no partition was rerun: the stop was not noticed")
	}
	sameRows(t, "one worker stopped", rows(t, s, bigQuery), want)
	if err := w1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitWorkersUp(t, s, w1, w2)
	sameRows(t, "after SIGCONT", rows(t, s, bigQuery), want)
}

// TestClusterNoWorkerLeft: the only worker dies while a query streams:
// the query fails with 08006 naming it, and the coordinator goes on
// serving (with no worker up, here).
func TestClusterNoWorkerLeft(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, time.Second)
	bigTable(t, s)
	want := rows(t, s, bigQuery)
	w := startWorker(t, dir)
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	streamed, err := s.QueryStream(context.Background(), `SELECT a, b || repeat('x', 200) FROM big`)
	if err != nil {
		t.Fatal(err)
	}
	first, err := streamed.Next(context.Background())
	if err != nil || first == nil {
		t.Fatalf("first batch: %v, %v", first, err)
	}
	first.Release()
	w.kill()
	for err == nil {
		var b arrow.Record
		b, err = streamed.Next(context.Background())
		if b == nil && err == nil {
			t.Fatal("the query ended normally although its only worker was killed")
		}
		if b != nil {
			b.Release()
		}
	}
	streamed.Release()
	if sqlerr.Code(err) != sqlerr.ConnectionFailure || !strings.Contains(err.Error(), w.addr) {
		t.Errorf("got %v (%s), want 08006 naming worker %s", err, sqlerr.Code(err), w.addr)
	}
	sameRows(t, "after the last worker died", rows(t, s, bigQuery), want)
}

// TestClusterBadWorkers: another version, an address nobody answers and
// a worker that cannot plan the fragments give clear errors or run
// here, never a hang.
func TestClusterBadWorkers(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, time.Second)
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	want := rows(t, s, clusterQueries[2])

	other := startWorker(t, dir, "--claim-version", "0.0-other")
	_, err := s.Exec(context.Background(), fmt.Sprintf("CALL weft.add_worker('%s')", other.addr))
	if sqlerr.Code(err) != sqlerr.ProtocolViolation || !strings.Contains(err.Error(), "0.0-other") {
		t.Errorf("a worker of another version: %v (%s), want 08P01 naming its version", err, sqlerr.Code(err))
	}

	_, err = s.Exec(context.Background(), "CALL weft.add_worker('127.0.0.1:1')")
	if sqlerr.Code(err) != sqlerr.SQLClientUnableToEstablishConnection {
		t.Errorf("an address nobody answers: %v (%s), want 08001", err, sqlerr.Code(err))
	}
	_, err = s.Exec(context.Background(), "CALL weft.add_worker('nonsense')")
	if sqlerr.Code(err) != sqlerr.InvalidParameter {
		t.Errorf("a malformed address: %v (%s), want 22023", err, sqlerr.Code(err))
	}
	for _, set := range []string{"SET weft.shuffle_groups = -1", "SET weft.shuffle_groups = 'many'", "SET weft.broadcast_rows = -5"} {
		if _, err := s.Exec(context.Background(), set); sqlerr.Code(err) != sqlerr.InvalidParameter {
			t.Errorf("%s: %v (%s), want 22023", set, err, sqlerr.Code(err))
		}
	}
	if got := rows(t, s, "SELECT count(*) FROM weft.workers"); got[0] != "0" {
		t.Errorf("refused workers stayed registered: %v", got)
	}

	// a worker reading another database cannot plan the fragments: the
	// coordinator runs the partitions itself
	elsewhere := t.TempDir()
	o := openChecked(t, engine.Options{DataDir: elsewhere})
	mustExec(t, o, "CREATE TABLE t (a int)")
	stranger := startWorker(t, elsewhere, "--cluster-secret-file", filepath.Join(dir, "cluster_secret"))
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", stranger.addr))
	sameRows(t, "worker that cannot plan", rows(t, s, clusterQueries[2]), want)
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+clusterQueries[2]), "\n")
	if !strings.Contains(plan, "local=4") {
		t.Errorf("the partitions the worker could not plan should have run here:\n%s", plan)
	}
	_, err = s.Exec(context.Background(), "CALL weft.remove_worker('127.0.0.1:9')")
	if sqlerr.Code(err) != sqlerr.UndefinedObject {
		t.Errorf("removing an unknown worker: %v, want 42704", err)
	}
}

// TestClusterStoppedWorkerDuringShuffle stops a worker (SIGSTOP) while a
// shuffle join streams: reduce tasks on the other worker that read map
// outputs from it would wait for ever, so they are started again with
// the live workers as their peers once the stopped one is given up; the
// rows are all there, once each.
func TestClusterStoppedWorkerDuringShuffle(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, time.Second)
	bigTable(t, s)
	mustExec(t, s, "SET weft.broadcast_rows = 100000")
	const q = `SELECT b1.a, b2.b || repeat('x', 100) FROM big b1 JOIN big b2 ON b1.a = b2.a - 1 WHERE b1.a % 3 <> 0`
	want := rows(t, s, "SELECT count(*), sum(b1.a) FROM big b1 JOIN big b2 ON b1.a = b2.a - 1 WHERE b1.a % 3 <> 0")
	w1, w2 := startWorker(t, dir), startWorker(t, dir)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	if plan := explainText(t, s, q); !strings.Contains(plan, "Shuffle HashJoin") {
		t.Fatalf("the join should shuffle:\n%s", plan)
	}
	sameRows(t, "undisturbed", rows(t, s, "SELECT count(*), sum(b1.a) FROM big b1 JOIN big b2 ON b1.a = b2.a - 1 WHERE b1.a % 3 <> 0"), want)
	var count, sum int64
	streamAcross(t, s, q, "SIGSTOP of a worker", func() {
		if err := w1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}, func(b arrow.Record) {
		count += b.NumRows()
		for i := 0; i < int(b.NumRows()); i++ {
			sum += wexec.DatumAt(b.Column(0), i).(int64)
		}
	})
	if got := fmt.Sprintf("%d|%d", count, sum); got != want[0] {
		t.Errorf("streamed %s (count|sum) with a worker stopped, want %s", got, want[0])
	}
	if err := w1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitWorkersUp(t, s, w1, w2)
	sameRows(t, "after SIGCONT", rows(t, s, "SELECT count(*), sum(b1.a) FROM big b1 JOIN big b2 ON b1.a = b2.a - 1 WHERE b1.a % 3 <> 0"), want)
}

// The volatile queries of TestClusterVolatile, with what each must
// answer whatever random() draws: volatileCounts' groups are single rows
// each kept or not once, volatileJoin's probe side is drawn before the
// shuffle, volatileCTE reads its draw twice.
const (
	volatileCounts = `SELECT count(*) BETWEEN 190000 AND 210000, count(*) FILTER (WHERE n <> 1), sum(n) = count(*), bool_and(x BETWEEN 0 AND 1)
		FROM (SELECT a, count(*) AS n, max(r) AS x FROM (SELECT a, random() AS r FROM big) d WHERE r < 0.5 GROUP BY a) s`
	volatileJoin = `SELECT count(*) BETWEEN 190000 AND 210000, count(*) = count(DISTINCT b1.a), min(b2.a) >= 0
		FROM (SELECT a, g FROM big WHERE random() < 0.5) b1 JOIN big b2 ON b1.a = b2.a + 3`
	volatileCTE = `WITH r AS (SELECT a, random() AS x FROM big WHERE a % 4 = 0) SELECT count(*) FROM r r1 JOIN r r2 ON r1.a = r2.a AND r1.x = r2.x`
	// each reference aggregates the same draws
	volatileCTEAgg = `WITH r AS (SELECT a % 1000 AS k, random() AS x FROM big) SELECT count(*)
		FROM (SELECT k, max(x) AS m, count(*) AS n FROM r GROUP BY k) p JOIN (SELECT k, max(x) AS m FROM r GROUP BY k) q ON p.k = q.k AND p.m = q.m AND p.n = 400`
)

// TestClusterVolatile: random() runs on the workers, materialised
// before a shuffle (a shuffled aggregation's and a shuffle join's map
// tasks draw it once, their outputs kept) and in stages rerun from
// their start. Each query's invariants hold undisturbed and with one of
// two workers killed at a random moment, ten times each; a shuffle's
// keys and a broadcast build side never call it; nextval stays on the
// coordinator.
func TestClusterVolatile(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, 2*time.Second)
	bigTable(t, s)
	workers := []*workerProc{startWorker(t, dir), startWorker(t, dir)}
	for _, w := range workers {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	mustExec(t, s, "SET weft.shuffle_groups = 0")
	mustExec(t, s, "SET weft.broadcast_rows = 100000")
	for q, want := range map[string][]string{
		volatileCounts: {"Shuffle HashAggregate", "random()", "gather of whole partitions"},
		volatileJoin:   {"Shuffle HashJoin", "random()", "gather of whole partitions"},
		// a WITH query named twice runs on the workers once, its rows kept
		// on the coordinator for both references
		volatileCTE:    {"CTE Scan r", "Remote (", "random()", "gather of whole partitions"},
		volatileCTEAgg: {"CTE Scan r", "Remote (", "random()", "gather of whole partitions"},
	} {
		plan := explainText(t, s, q)
		for _, w := range want {
			if !strings.Contains(plan, w) || strings.Contains(plan, "Not distributed: a volatile") {
				t.Errorf("%s: the plan lacks %q:\n%s", q, w, plan)
			}
		}
	}
	// a volatile group key is not shuffled, nor a volatile build side
	// broadcast: both still run, their answers whole
	keyed := `SELECT sum(n) FROM (SELECT (random() * 3)::int AS k, count(*) AS n FROM big GROUP BY 1) s`
	if plan := explainText(t, s, keyed); strings.Contains(plan, "Shuffle HashAggregate") || !strings.Contains(plan, "PartialAggregate") {
		t.Errorf("a volatile group key must not be shuffled:\n%s", plan)
	}
	sameRows(t, "volatile group key", rows(t, s, keyed), []string{"400000"})
	// nor a key that reads a drawn value through a column computed below
	for _, q := range []string{
		`SELECT sum(n) FROM (SELECT k, count(*) AS n FROM (SELECT (random() * 3)::int AS k FROM big) d GROUP BY k) s`,
		`SELECT count(*) <= 400000 FROM (SELECT a, (random() * 400000)::int AS r FROM big) d JOIN big b ON d.r = b.a`,
	} {
		if plan := explainText(t, s, q); strings.Contains(plan, "Shuffle ") || strings.Contains(plan, "Not distributed") {
			t.Errorf("a key reading random() through a column must not be shuffled (and the rest distributed):\n%s", plan)
		}
		if got := rows(t, s, q); got[0] != "400000" && got[0] != "t" {
			t.Errorf("%s: %v", q, got)
		}
	}
	// a join over an aggregation of drawn rows does not nest: the join
	// stays here over the aggregation's own stage
	overDrawn := `SELECT count(*) FROM big b JOIN (SELECT g, count(*) AS n FROM big WHERE random() < 0.5 GROUP BY g) s ON b.g = s.g`
	if plan := explainText(t, s, overDrawn); strings.Count(plan, "Remote (") < 2 || strings.Contains(plan, "computed once by map tasks") || strings.Contains(plan, "Shuffle HashJoin") {
		t.Errorf("a join over drawn rows must not nest shuffles:\n%s", plan)
	}
	sameRows(t, "join over an aggregation of drawn rows", rows(t, s, overDrawn), []string{"360000"})
	built := `SELECT count(*) FROM big JOIN (SELECT g, random() AS r FROM small) s ON big.g = s.g WHERE s.r < 2`
	if plan := explainText(t, s, built); strings.Contains(plan, "Broadcast") {
		t.Errorf("a volatile build side must not be broadcast:\n%s", plan)
	}
	mustExec(t, s, "SET weft.distribute = off")
	want := rows(t, s, built)
	mustExec(t, s, "RESET weft.distribute")
	sameRows(t, "volatile build side", rows(t, s, built), want)

	t.Logf("%s", explainText(t, s, volatileCounts))
	t.Logf("%s", explainText(t, s, volatileJoin))
	wants := map[string][]string{volatileCounts: {"t|0|t|t"}, volatileJoin: {"t|t|t"}, volatileCTE: {"100000"}, volatileCTEAgg: {"1000"}}
	lostBefore := partitionsLost(t, s)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := newRand(seed)
	for _, q := range []string{volatileCounts, volatileJoin, volatileCTE, volatileCTEAgg} {
		start := time.Now()
		sameRows(t, q+" undisturbed", rows(t, s, q), wants[q])
		undisturbed := time.Since(start)
		for run := range 10 {
			victim := workers[run%2]
			delay := time.Duration(rng.Int63n(int64(undisturbed)/2 + 1))
			killed := make(chan struct{})
			go func() {
				defer close(killed)
				time.Sleep(delay)
				victim.cmd.Process.Kill()
			}()
			sameRows(t, fmt.Sprintf("%s, run %d (kill after %v)", q, run, delay), rows(t, s, q), wants[q])
			<-killed
			victim.cmd.Wait()
			workers[run%2] = startWorkerAt(t, dir, victim.addr)
			waitWorkersUp(t, s, workers...)
		}
	}
	if lostAfter := partitionsLost(t, s); lostAfter == lostBefore {
		t.Errorf("no kill of forty landed while a partition streamed: the recovery path was not exercised")
	} else {
		t.Logf("partitions rerun %s -> %s", lostBefore, lostAfter)
	}
}
