package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/tpch"
)

// -tpch -workers N -weft-bin BIN: each TPC-H query on the coordinator
// alone (one process) against the same coordinator with N `weft worker`
// processes reading its data directory (docs/cluster.md). The runs
// alternate, one process then N workers, so that the machine's load
// weighs on both alike; the answers of the two are compared.

// clusterWorker is a running `weft worker`.
type clusterWorker struct {
	cmd  *exec.Cmd
	addr string
}

func startClusterWorker(bin, dir string) (*clusterWorker, error) {
	cmd := exec.Command(bin, "worker", "--listen", "127.0.0.1:0", "--data", dir, "--udf-cache", "")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s worker: %w", bin, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "weft worker: listening on "); ok {
				addr <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case a := <-addr:
		return &clusterWorker{cmd: cmd, addr: a}, nil
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("worker did not listen within a minute")
	}
}

func (w *clusterWorker) stop() {
	w.cmd.Process.Kill()
	w.cmd.Wait()
}

// clusterResult is one query's times alone and with the workers.
type clusterResult struct {
	name           string
	aloneMS, with  float64
	same           bool
	stages, local  int
	aggShuffles    int // shuffled aggregations in the plan
	detail, runErr string
}

func runTPCHCluster(sess *weft.Session, queries []tpch.Query, cfg tpchConfig) error {
	if cfg.weftBin == "" {
		return fmt.Errorf("-workers needs -weft-bin, a weft binary built from this tree (go build -o BIN ./cmd/weft)")
	}
	var workers []*clusterWorker
	defer func() {
		for _, w := range workers {
			w.stop()
		}
	}()
	for range cfg.workers {
		w, err := startClusterWorker(cfg.weftBin, cfg.weftDir)
		if err != nil {
			return err
		}
		workers = append(workers, w)
	}
	for _, w := range workers {
		if err := execDiscard(context.Background(), sess, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr)); err != nil {
			return err
		}
	}
	if cfg.broadcastRows >= 0 {
		if err := execDiscard(context.Background(), sess, fmt.Sprintf("SET weft.broadcast_rows = %d", cfg.broadcastRows)); err != nil {
			return err
		}
	}
	if cfg.shuffleGroups >= 0 {
		if err := execDiscard(context.Background(), sess, fmt.Sprintf("SET weft.shuffle_groups = %d", cfg.shuffleGroups)); err != nil {
			return err
		}
	}
	// the workers stay registered; a session setting sends the alone
	// runs' work nowhere (a worker added again would be connected again)
	setWorkers := func(on bool) error {
		return execDiscard(context.Background(), sess, "SET weft.distribute = "+map[bool]string{true: "on", false: "off"}[on])
	}
	var results []clusterResult
	for _, q := range queries {
		r := runClusterQuery(sess, q, cfg, setWorkers)
		fmt.Fprintf(os.Stderr, "%s: alone %.1f ms, %d workers %.1f ms, same answer %v, stages %d, local %d, shuffled aggregations %d %s%s\n",
			r.name, r.aloneMS, cfg.workers, r.with, r.same, r.stages, r.local, r.aggShuffles, r.runErr, firstLine(r.detail))
		results = append(results, r)
	}
	reportTPCHCluster(cfg, results)
	return nil
}

// runClusterQuery warms up alone and with the workers (the answers are
// compared, and EXPLAIN ANALYZE counts the stages and the partitions
// that fell back to the coordinator), then alternates the timed runs.
func runClusterQuery(sess *weft.Session, q tpch.Query, cfg tpchConfig, setWorkers func(bool) error) clusterResult {
	r := clusterResult{name: q.Name}
	fail := func(err error) clusterResult {
		r.runErr = err.Error()
		setWorkers(false)
		return r
	}
	alone, _, err := weftRun(sess, q.SQL, cfg, true)
	if err != nil {
		return fail(err)
	}
	if err := setWorkers(true); err != nil {
		return fail(err)
	}
	with, _, err := weftRun(sess, q.SQL, cfg, true)
	if err != nil {
		return fail(err)
	}
	if err := tpch.Compare(q, alone, with, tpch.CompareOptions{}); err != nil {
		r.detail = err.Error()
	} else {
		r.same = true
	}
	plan, _, err := weftRun(sess, "EXPLAIN ANALYZE "+q.SQL, cfg, true)
	if err != nil {
		return fail(err)
	}
	for _, row := range plan.Rows {
		if line := row[0]; line != nil {
			r.aggShuffles += strings.Count(*line, "Shuffle HashAggregate")
		}
		if line := row[0]; line != nil && strings.Contains(*line, "Remote (") {
			r.stages++
			var n int
			if _, rest, ok := strings.Cut(*line, " local="); ok {
				fmt.Sscanf(rest, "%d", &n)
			}
			r.local += n
		}
	}
	var aloneMS, withMS []float64
	for range cfg.runs {
		if err := setWorkers(false); err != nil {
			return fail(err)
		}
		_, ms, err := weftRun(sess, q.SQL, cfg, false)
		if err != nil {
			return fail(err)
		}
		aloneMS = append(aloneMS, ms)
		if err := setWorkers(true); err != nil {
			return fail(err)
		}
		_, ms, err = weftRun(sess, q.SQL, cfg, false)
		if err != nil {
			return fail(err)
		}
		withMS = append(withMS, ms)
	}
	r.aloneMS, r.with = median(aloneMS), median(withMS)
	if err := setWorkers(false); err != nil {
		r.runErr = err.Error()
	}
	return r
}

func reportTPCHCluster(cfg tpchConfig, results []clusterResult) {
	fmt.Printf("TPC-H scale factor %v: one process against the same coordinator with %d worker processes; median of %d alternating runs, milliseconds\n\n",
		cfg.sf, cfg.workers, cfg.runs)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "query\t1 process\t%d workers\tworkers/alone\tsame answer\tremote stages\tlocal fallbacks\tnote\n", cfg.workers)
	var sumAlone, sumWith float64
	for _, r := range results {
		ratio := "-"
		if r.runErr == "" && r.aloneMS > 0 {
			ratio = fmt.Sprintf("%.2f", r.with/r.aloneMS)
			sumAlone += r.aloneMS
			sumWith += r.with
		}
		same := "no"
		if r.same {
			same = "yes"
		}
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%s\t%s\t%d\t%d\t%s\n", r.name, r.aloneMS, r.with, ratio, same, r.stages, r.local, strings.TrimSpace(r.runErr+" "+firstLine(r.detail)))
	}
	w.Flush()
	if sumAlone > 0 {
		fmt.Printf("\nsum: one process %.0f ms, %d workers %.0f ms, ratio %.2f\n", sumAlone, cfg.workers, sumWith, sumWith/sumAlone)
	}
}
