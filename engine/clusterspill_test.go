package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spillFlags start a worker whose map outputs go to files under dir
// once it holds a kilobyte of them: every shuffle of the tests spills.
func spillFlags(dir string) []string {
	return []string{"--spill-dir", dir, "--shuffle-memory", "1kB"}
}

// spillLeft lists the files and directories the workers' spill
// directories under dir hold besides their lock files, and how many
// worker directories there are.
func spillLeft(t *testing.T, dir string) (left []string, roots int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range entries {
		roots++
		inner, err := os.ReadDir(filepath.Join(dir, root.Name()))
		if err != nil {
			continue // removed meanwhile
		}
		for _, e := range inner {
			if e.Name() != "LOCK" {
				left = append(left, filepath.Join(root.Name(), e.Name()))
			}
		}
	}
	return left, roots
}

// waitSpillEmpty waits until the workers have removed every map output
// file (the stage's release reaches them just after the query ends).
func waitSpillEmpty(t *testing.T, dir, when string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, _ := spillLeft(t, dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the workers left spill files: %v", when, left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterSpilledShuffles: workers whose map outputs go to spill
// files past a kilobyte give PostgreSQL's answers for every query as
// shuffle joins, shuffled aggregations over them and over scans; EXPLAIN
// ANALYZE shows the reduce tasks reading buckets back from the files,
// and no file is left once the queries end.
func TestClusterSpilledShuffles(t *testing.T) {
	want := postgresAnswers(t)
	dir, spillDir := t.TempDir(), t.TempDir()
	s := openCoordinator(t, dir, 5*time.Second)
	for _, sql := range clusterData {
		mustExec(t, s, sql)
	}
	for range 2 {
		w := startWorker(t, dir, spillFlags(spillDir)...)
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	mustExec(t, s, "SET weft.broadcast_rows = 0")
	checkAnswers(t, s, "2 spilling workers, shuffle joins", want)
	mustExec(t, s, "SET weft.shuffle_groups = 0")
	checkAnswers(t, s, "2 spilling workers, shuffled aggregations over shuffle joins", want)
	mustExec(t, s, "RESET weft.broadcast_rows")
	checkAnswers(t, s, "2 spilling workers, shuffled aggregations", want)
	mustExec(t, s, "SET weft.broadcast_rows = 0")
	for _, q := range []string{clusterQueries[4], clusterQueries[16], clusterQueries[19]} {
		analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q), "\n")
		if !strings.Contains(analyzed, "map outputs computed again=0, buckets read from spill files=") || !strings.Contains(analyzed, " local=0)") {
			t.Errorf("%s: the reduce tasks should read their buckets back from the workers' spill files:\n%s", q, analyzed)
		} else if q == clusterQueries[16] {
			t.Logf("%s", analyzed)
		}
	}
	waitSpillEmpty(t, spillDir, "after the queries")
	// a query that fails after the shuffle has spilled: its files go too
	if _, err := s.Exec(t.Context(), "SELECT t1.a % 500, sum(t2.g / (t1.a - 6000)) FROM t t1 JOIN t t2 ON t1.a = t2.a + 1 GROUP BY 1"); err == nil || !strings.Contains(err.Error(), "division by zero") {
		t.Fatalf("the failing query: %v, want division by zero", err)
	}
	waitSpillEmpty(t, spillDir, "after a failed query")
}

// TestClusterKilledDuringSpilledShuffle kills one of two spilling
// workers at a random moment of a shuffle join and of a shuffled
// aggregation: every answer is the one process's; the killed worker's
// spill directory is removed when it is started again, and the files
// of finished queries by the workers.
func TestClusterKilledDuringSpilledShuffle(t *testing.T) {
	dir, spillDir := t.TempDir(), t.TempDir()
	s := openCoordinator(t, dir, 2*time.Second)
	bigTable(t, s)
	mustExec(t, s, "SET weft.broadcast_rows = 100000")
	queries := []struct {
		name, sql string
		shuffleAg bool
	}{{"shuffle join", shuffleJoinQuery, false}, {"shuffled aggregation", shuffledAggQuery, true}, {"shuffled aggregation over a shuffle join", shuffledAggOverJoin, true}}
	wants := make([][]string, len(queries))
	for i, q := range queries {
		wants[i] = rows(t, s, q.sql)
	}
	workers := []*workerProc{startWorker(t, dir, spillFlags(spillDir)...), startWorker(t, dir, spillFlags(spillDir)...)}
	for _, w := range workers {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := newRand(seed)
	for i, q := range queries {
		if q.shuffleAg {
			mustExec(t, s, "SET weft.shuffle_groups = 0")
		}
		start := time.Now()
		sameRows(t, q.name+" undisturbed", rows(t, s, q.sql), wants[i])
		undisturbed := time.Since(start)
		if analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q.sql), "\n"); !strings.Contains(analyzed, "buckets read from spill files=") {
			t.Fatalf("%s should read spilled map outputs:\n%s", q.name, analyzed)
		}
		for run := range 4 {
			victim := workers[run%2]
			delay := time.Duration(rng.Int63n(int64(undisturbed)/2 + 1))
			killed := make(chan struct{})
			go func() {
				defer close(killed)
				time.Sleep(delay)
				victim.cmd.Process.Kill()
			}()
			sameRows(t, fmt.Sprintf("%s run %d (killed after %v)", q.name, run, delay), rows(t, s, q.sql), wants[i])
			<-killed
			victim.cmd.Wait()
			workers[run%2] = startWorkerAt(t, dir, victim.addr, spillFlags(spillDir)...)
			waitWorkersUp(t, s, workers...)
			// the restarted worker swept the dead one's directory
			if _, roots := spillLeft(t, spillDir); roots != 2 {
				t.Errorf("%s run %d: %d spill directories for two workers", q.name, run, roots)
			}
		}
		mustExec(t, s, "RESET weft.shuffle_groups")
	}
	lost := partitionsLost(t, s)
	t.Logf("partitions rerun after a kill: %s", lost)
	if lost == "0" {
		t.Errorf("no kill of twelve landed while a partition streamed: the recovery path was not exercised")
	}
	waitSpillEmpty(t, spillDir, "after the queries")
}
