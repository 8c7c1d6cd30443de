package engine_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// cachedState is weft.cached for one relation: "partition@worker rows"
// per partition, and the sum of rows and of hits.
func cachedState(t *testing.T, s *engine.Session, relation string) (parts []string, totalRows, hits int64) {
	t.Helper()
	for _, r := range rows(t, s, fmt.Sprintf("SELECT partition, worker, rows, bytes, hits FROM weft.cached WHERE relation = '%s' ORDER BY partition, worker", relation)) {
		f := strings.Split(r, "|")
		n, _ := strconv.ParseInt(f[2], 10, 64)
		bytes, _ := strconv.ParseInt(f[3], 10, 64)
		h, _ := strconv.ParseInt(f[4], 10, 64)
		if n > 0 && bytes <= 0 {
			t.Errorf("weft.cached row %s: %d rows held in %d bytes", r, n, bytes)
		}
		parts = append(parts, f[0]+"@"+f[1])
		totalRows += n
		hits += h
	}
	return parts, totalRows, hits
}

// TestCachedTablesWithoutWorkers: a coordinator alone keeps a cached
// table's partitions in its own memory (checked allocator: released on
// close), answers from them as from the segments, and a write makes the
// changed partitions read again.
func TestCachedTablesWithoutWorkers(t *testing.T) {
	want := postgresAnswers(t)
	dir := t.TempDir()
	s := openCoordinator(t, dir, 5*time.Second)
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	mustExec(t, s, "CALL weft.cache('t')")
	parts, n, hits := cachedState(t, s, "public.t")
	if strings.Join(parts, ",") != "0@coordinator,1@coordinator,2@coordinator,3@coordinator" || n != 12000 || hits != 0 {
		t.Fatalf("after CALL weft.cache('t'): %v, %d rows, %d hits; want 4 partitions of 12000 rows here, not read yet", parts, n, hits)
	}
	checkAnswers(t, s, "cached here", want)
	if _, _, hits := cachedState(t, s, "public.t"); hits == 0 {
		t.Errorf("the queries read no cached partition")
	}

	// a write: the partitions it changed are held no more; the next
	// read keeps the new rows
	mustExec(t, s, "INSERT INTO t VALUES (50000, 'new', 1)")
	if _, n, _ := cachedState(t, s, "public.t"); n >= 12000 {
		t.Errorf("after an INSERT weft.cached still lists %d rows of the old table", n)
	}
	if got := rows(t, s, "SELECT count(*), max(a) FROM t"); strings.Join(got, ",") != "12001|50000" {
		t.Errorf("after an INSERT: %v, want 12001|50000", got)
	}
	if parts, n, _ := cachedState(t, s, "public.t"); len(parts) != 4 || n != 12001 {
		t.Errorf("after reading the changed table: %v, %d rows; want 4 partitions of 12001 rows", parts, n)
	}
	mustExec(t, s, "DELETE FROM t WHERE a = 50000")
	checkAnswers(t, s, "cached here after a delete", want)

	mustExec(t, s, "CALL weft.uncache('t')")
	if got := rows(t, s, "SELECT count(*) FROM weft.cached"); got[0] != "0" {
		t.Errorf("after weft.uncache: %v partitions listed", got)
	}
	// the storage parameter form, and RESET
	mustExec(t, s, "ALTER TABLE n SET (weft.cache = 'memory')")
	if _, n, _ := cachedState(t, s, "public.n"); n != 5002 {
		t.Errorf("ALTER TABLE n SET (weft.cache = 'memory') holds %d rows, want 5002", n)
	}
	checkAnswers(t, s, "n cached here", want)
	mustExec(t, s, "ALTER TABLE n RESET (weft.cache)")
	if got := rows(t, s, "SELECT count(*) FROM weft.cached"); got[0] != "0" {
		t.Errorf("after RESET (weft.cache): %v partitions listed", got)
	}

	for _, c := range []struct{ sql, code string }{
		{"CALL weft.cache('nosuch')", sqlerr.UndefinedTable},
		{"CALL weft.cache()", sqlerr.UndefinedFunction},
		{"CALL weft.cache(1)", sqlerr.UndefinedFunction},
		{"ALTER TABLE t SET (weft.cache = 'disk')", sqlerr.InvalidParameter},
		{"ALTER TABLE t SET (weft.cache = 'memory', fillfactor = 70)", sqlerr.FeatureNotSupported},
		{"CREATE TEMP TABLE tmp (x int)", ""},
		{"CALL weft.cache('tmp')", sqlerr.FeatureNotSupported},
	} {
		_, err := s.Exec(context.Background(), c.sql)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.sql, err)
		case c.code != "" && (err == nil || sqlerr.Code(err) != c.code):
			t.Errorf("%s: %v, want SQLSTATE %s", c.sql, err, c.code)
		}
	}
	mustExec(t, s, "ALTER TABLE IF EXISTS nosuch SET (weft.cache = 'memory')")
	// a dropped table is forgotten
	mustExec(t, s, "CALL weft.cache('PUBLIC.\"u\"')") // as SQL reads a name
	if got := rows(t, s, "SELECT count(DISTINCT relation) FROM weft.cached WHERE relation = 'public.u'"); got[0] != "1" {
		t.Errorf("public.u is not cached: %v", got)
	}
	mustExec(t, s, "DROP TABLE u")
	if got := rows(t, s, "SELECT count(*) FROM weft.cached"); got[0] != "0" {
		t.Errorf("a dropped table stays listed: %v", got)
	}
}

// TestCachedTablesOnWorkers: with two worker processes a cached table's
// partitions are kept by the worker each is placed on and read from
// there; a killed worker's partitions are read again by the other; a
// write makes the changed partitions read again.
func TestCachedTablesOnWorkers(t *testing.T) {
	want := postgresAnswers(t)
	dir := t.TempDir()
	// small segments: a batch the coordinator wrote is several segment
	// files, each a batch of its own on a worker (the content keys agree)
	s := openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: time.Second, SegmentBytes: 8 << 10})
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	w1, w2 := startWorker(t, dir), startWorker(t, dir)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	mustExec(t, s, "CALL weft.cache('t')")
	parts, n, hits := cachedState(t, s, "public.t")
	wantParts := fmt.Sprintf("0@%s,1@%s,2@%s,3@%s", w1.addr, w2.addr, w1.addr, w2.addr)
	if strings.Join(parts, ",") != wantParts || n != 12000 || hits != 0 {
		t.Fatalf("after CALL weft.cache('t'): %v, %d rows, %d hits; want %s, 12000 rows, not read yet", parts, n, hits, wantParts)
	}
	checkAnswers(t, s, "cached on 2 workers", want)
	parts, _, hits = cachedState(t, s, "public.t")
	if strings.Join(parts, ",") != wantParts || hits == 0 {
		t.Errorf("after the queries: %v, %d hits; want them where they were, read from memory", parts, hits)
	}
	// a range condition (the workers' scans have zone maps, the
	// coordinator's own rows not) still runs where the partitions are held
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE SELECT a FROM t WHERE g = 3 AND a > 100"), "\n")
	if !strings.Contains(plan, "local=0") || !strings.Contains(plan, "0@"+w1.addr) || !strings.Contains(plan, "1@"+w2.addr) {
		t.Errorf("the partitions did not run where they are held:\n%s", plan)
	}

	// the worker holding partitions 0 and 2 dies: the next read runs
	// them on the other worker, which reads and keeps them
	w1.kill()
	checkAnswers(t, s, "cached, one worker killed", want)
	parts, n, _ = cachedState(t, s, "public.t")
	wantParts = fmt.Sprintf("0@%s,1@%s,2@%s,3@%s", w2.addr, w2.addr, w2.addr, w2.addr)
	if strings.Join(parts, ",") != wantParts || n != 12000 {
		t.Errorf("after the kill: %v, %d rows; want %s, 12000 rows", parts, n, wantParts)
	}

	// a write: the changed partitions are not listed until read again
	mustExec(t, s, "INSERT INTO t VALUES (50000, 'new', 1)")
	if _, n, _ := cachedState(t, s, "public.t"); n >= 12000 {
		t.Errorf("after an INSERT weft.cached still lists %d rows of the old table", n)
	}
	if got := rows(t, s, "SELECT count(*), max(a) FROM t"); strings.Join(got, ",") != "12001|50000" {
		t.Errorf("after an INSERT: %v, want 12001|50000", got)
	}
	if parts, n, _ := cachedState(t, s, "public.t"); len(parts) != 4 || n != 12001 {
		t.Errorf("after reading the changed table: %v, %d rows; want 4 partitions of 12001 rows", parts, n)
	}
	mustExec(t, s, "DELETE FROM t WHERE a = 50000")
	checkAnswers(t, s, "cached after a delete", want)
	if rows(t, s, "SELECT count(*) FROM weft.cached WHERE worker = 'coordinator'")[0] != "0" {
		t.Errorf("the coordinator kept partitions although a worker runs them")
	}

	mustExec(t, s, "CALL weft.uncache('t')")
	if got := rows(t, s, "SELECT count(*) FROM weft.cached"); got[0] != "0" {
		t.Errorf("after weft.uncache: %v partitions listed", got)
	}
	checkAnswers(t, s, "uncached", want)
}

// TestCachedTableWorkerKilledMidQuery: a worker holding cached
// partitions is killed while a query streams them: the query returns
// every row, the other worker reads the lost partitions from the
// segments and keeps them, and the next query reads them from memory.
func TestCachedTableWorkerKilledMidQuery(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, time.Second)
	bigTable(t, s)
	want := rows(t, s, bigQuery)
	w1, w2 := startWorker(t, dir), startWorker(t, dir)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	mustExec(t, s, "CALL weft.cache('big')")
	if parts, n, _ := cachedState(t, s, "public.big"); len(parts) != 4 || n != 400000 {
		t.Fatalf("after CALL weft.cache('big'): %v, %d rows", parts, n)
	}
	var total int64
	streamAcross(t, s, `SELECT a, b || repeat('x', 200) FROM big WHERE a % 3 <> 0`, "the kill", w1.kill,
		func(b arrow.Record) { total += b.NumRows() })
	if total != 266667 {
		t.Errorf("streamed %d rows with a worker killed, want 266667", total)
	}
	sameRows(t, "after the kill", rows(t, s, bigQuery), want)
	parts, n, hits := cachedState(t, s, "public.big")
	wantParts := fmt.Sprintf("0@%s,1@%s,2@%s,3@%s", w2.addr, w2.addr, w2.addr, w2.addr)
	if strings.Join(parts, ",") != wantParts || n != 400000 || hits == 0 {
		t.Errorf("after the kill: %v, %d rows, %d hits; want %s, 400000 rows, read from memory", parts, n, hits, wantParts)
	}
}

// TestCachedTableSurvivesRandomKills kills one of two workers at a
// random moment of an aggregation over a cached table, six times, and
// starts it again on its address: every answer is the undisturbed one,
// and afterwards every partition is held by a live worker.
func TestCachedTableSurvivesRandomKills(t *testing.T) {
	dir := t.TempDir()
	s := openCoordinator(t, dir, time.Second)
	bigTable(t, s)
	want := rows(t, s, bigQuery)
	workers := []*workerProc{startWorker(t, dir), startWorker(t, dir)}
	for _, w := range workers {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	mustExec(t, s, "CALL weft.cache('big')")
	start := time.Now()
	sameRows(t, "undisturbed", rows(t, s, bigQuery), want)
	undisturbed := time.Since(start)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := newRand(seed)
	for run := range 6 {
		victim := workers[run%2]
		delay := time.Duration(rng.Int63n(int64(undisturbed) + 1))
		killed := make(chan struct{})
		go func() {
			defer close(killed)
			time.Sleep(delay)
			victim.cmd.Process.Kill()
		}()
		sameRows(t, fmt.Sprintf("run %d (kill after %v)", run, delay), rows(t, s, bigQuery), want)
		<-killed
		victim.cmd.Wait()
		workers[run%2] = startWorkerAt(t, dir, victim.addr)
		waitWorkersUp(t, s, workers...)
		sameRows(t, fmt.Sprintf("run %d after the restart", run), rows(t, s, bigQuery), want)
	}
	parts, n, _ := cachedState(t, s, "public.big")
	if len(parts) < 4 || n < 400000 {
		t.Errorf("after the kills weft.cached lists %v, %d rows: every partition should be held again", parts, n)
	}
}
