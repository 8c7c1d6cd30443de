package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/tpch"
)

// tpchConfig is what -tpch mode runs.
type tpchConfig struct {
	sf          float64
	dataDir     string // CSV files; generated when missing
	weftDir     string // Weft's durable data directory ("" = a temporary one)
	queriesPath string
	only        map[string]bool
	runs        int
	timeout     time.Duration
	profileDir  string
	// heapProfile, when set, receives a heap profile taken right after
	// the load (what the loaded database keeps live).
	heapProfile string
	duckThreads int
	// maxRSSKB cancels a Weft query once the process's resident set grows
	// past it (0: no limit): some plans grow by gigabytes a second and
	// would take the shared machine down before the timeout.
	maxRSSKB int64
	// memoryLimit is Weft's --memory-limit in bytes (0: the default):
	// operators past their share spill
	memoryLimit int64
	// workers, when above 0, compares one process with that many
	// `weft worker` processes (weftBin) instead of DuckDB (tpchcluster.go)
	workers int
	weftBin string
	// broadcastRows, when 0 or more, sets weft.broadcast_rows for the
	// runs with workers (larger build sides shuffle)
	broadcastRows int64
	// shuffleGroups, when 0 or more, sets weft.shuffle_groups for the
	// runs with workers
	shuffleGroups int64
}

// tpchResult is one query's outcome.
type tpchResult struct {
	name            string
	weftMS, duckMS  float64 // medians; 0 when not measured
	rows            int
	correct         bool
	weftErr, detail string
	// runNote tells why the timed runs stopped early (the warm-up answered).
	runNote string
}

func runTPCH(cfg tpchConfig) error {
	if cfg.dataDir == "" {
		cfg.dataDir = filepath.Join("tpch-data", "sf"+strconv.FormatFloat(cfg.sf, 'f', -1, 64))
	}
	if err := ensureData(cfg.sf, cfg.dataDir); err != nil {
		return err
	}
	queries, err := loadQueries(cfg)
	if err != nil {
		return err
	}
	if cfg.weftDir == "" {
		tmp, err := os.MkdirTemp("", "weft-tpch-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cfg.weftDir = tmp
	}
	abs, err := filepath.Abs(cfg.dataDir)
	if err != nil {
		return err
	}
	db, err := weft.Open(weft.Options{DataDir: cfg.weftDir, FilesDir: abs, MemoryLimit: cfg.memoryLimit})
	if err != nil {
		return err
	}
	defer db.Close()
	sess := db.NewSession()
	var loads []tableLoad
	if loaded(sess) {
		fmt.Fprintf(os.Stderr, "weft: %s already holds the tables; not loading again\n", cfg.weftDir)
	} else if loads, err = loadWeftTPCH(sess); err != nil {
		return fmt.Errorf("weft load: %w", err)
	}
	loadKB := peakRSSKB()
	if cfg.heapProfile != "" {
		if err := writeHeapProfile(cfg.heapProfile); err != nil {
			return err
		}
	}
	// The load's garbage would otherwise count against the first queries'
	// memory (and -max-rss-mib).
	releaseMemory()
	if cfg.workers > 0 {
		return runTPCHCluster(sess, queries, cfg)
	}
	duck, err := startDuckWorker(abs, cfg.duckThreads)
	if err != nil {
		return err
	}
	var results []tpchResult
	for _, q := range queries {
		r := runTPCHQuery(sess, duck, q, cfg)
		printProgress(r)
		results = append(results, r)
	}
	duck.stop()
	reportTPCH(cfg, loads, duck, loadKB, results)
	return nil
}

// ensureData generates the CSV files unless dir already has them.
func ensureData(sf float64, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, tpch.FileName("lineitem"))); err == nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "generating scale factor %v into %s\n", sf, dir)
	return tpch.GenerateDir(sf, dir)
}

func loadQueries(cfg tpchConfig) ([]tpch.Query, error) {
	path := cfg.queriesPath
	if path == "" {
		p, err := tpch.FindQueriesFile(".")
		if err != nil {
			return nil, err
		}
		path = p
	}
	all, err := tpch.ReadQueries(path)
	if err != nil {
		return nil, err
	}
	var qs []tpch.Query
	for _, q := range all {
		if len(cfg.only) == 0 || cfg.only[q.Name] {
			qs = append(qs, q)
		}
	}
	return qs, nil
}

// loaded reports whether the database already holds lineitem's rows (a
// -weft-dir kept from an earlier run).
func loaded(sess *weft.Session) bool {
	res, err := sess.Exec(context.Background(), "SELECT count(*) > 0 FROM lineitem")
	defer releaseAll(res)
	if err != nil || len(res) == 0 || len(res[0].Batches) == 0 {
		return false
	}
	b := res[0].Batches[0]
	return b.NumRows() == 1 && exec.DatumAt(b.Column(0), 0) == true
}

// tableLoad is how long COPY took for one table.
type tableLoad struct {
	table string
	rows  string
	ms    float64
}

// loadWeftTPCH creates the schema and COPYs each table's file (COPY FROM a
// file is Weft's fastest typed load path).
func loadWeftTPCH(sess *weft.Session) ([]tableLoad, error) {
	ctx := context.Background()
	for _, ddl := range tpch.Schema {
		if err := execDiscard(ctx, sess, ddl); err != nil {
			return nil, err
		}
	}
	var loads []tableLoad
	for _, t := range tpch.TableNames {
		t0 := time.Now()
		res, err := sess.Exec(ctx, fmt.Sprintf("COPY %s FROM '%s' (DELIMITER '|')", t, tpch.FileName(t)))
		if err != nil {
			return nil, fmt.Errorf("COPY %s: %w", t, err)
		}
		tag := res[len(res)-1].Tag
		releaseAll(res)
		loads = append(loads, tableLoad{table: t, rows: strings.TrimPrefix(tag, "COPY "), ms: msSince(t0)})
		fmt.Fprintf(os.Stderr, "weft: loaded %s (%s rows) in %.0f ms\n", t, loads[len(loads)-1].rows, loads[len(loads)-1].ms)
	}
	return loads, nil
}

func execDiscard(ctx context.Context, sess *weft.Session, sql string) error {
	res, err := sess.Exec(ctx, sql)
	releaseAll(res)
	return err
}

func releaseAll(res []*weft.Result) {
	for _, r := range res {
		r.Release()
	}
}

// runTPCHQuery warms both engines up with one run each (their answers are
// compared), then alternates cfg.runs timed runs of each.
func runTPCHQuery(sess *weft.Session, duck *duckWorker, q tpch.Query, cfg tpchConfig) tpchResult {
	r := tpchResult{name: q.Name}
	releaseMemory() // each query starts from the tables' own footprint
	want, err := duck.run(q.SQL, cfg.timeout, true)
	if err != nil || want.Err != "" {
		r.detail = fmt.Sprintf("duckdb: %v%s", err, want.Err)
		return r
	}
	// Until timed runs replace it, the warm-up stands for DuckDB's time.
	r.duckMS = want.MS
	stopProfile, err := startQueryProfile(cfg.profileDir, q.Name)
	if err != nil {
		r.detail = "profile: " + err.Error()
	}
	defer stopProfile()
	got, warmMS, err := weftRun(sess, q.SQL, cfg, true)
	if err != nil {
		r.weftErr = err.Error()
		return r
	}
	r.weftMS = warmMS
	r.rows = len(got.Rows)
	if err := tpch.Compare(q, tpch.Answer{Columns: want.Columns, Rows: want.Rows}, got, tpch.CompareOptions{TrimBlanks: true}); err != nil {
		r.detail = err.Error()
	} else {
		r.correct = true
	}
	var weftTimes, duckTimes []float64
	for range cfg.runs {
		_, ms, err := weftRun(sess, q.SQL, cfg, false)
		if err != nil {
			r.runNote = fmt.Sprintf("timed run %d: %v", len(weftTimes)+1, err)
			break
		}
		weftTimes = append(weftTimes, ms)
		d, err := duck.run(q.SQL, cfg.timeout, false)
		if err != nil || d.Err != "" {
			r.detail = fmt.Sprintf("duckdb: %v%s", err, d.Err)
			break
		}
		duckTimes = append(duckTimes, d.MS)
	}
	if len(weftTimes) > 0 {
		r.weftMS = median(weftTimes)
	}
	if len(duckTimes) > 0 {
		r.duckMS = median(duckTimes)
	}
	return r
}

// weftRun runs sql once, timing the query to its last batch; with
// wantRows it also returns the answer as text.
func weftRun(sess *weft.Session, sql string, cfg tpchConfig, wantRows bool) (tpch.Answer, float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	overLimit := watchMemory(ctx, cancel, cfg.maxRSSKB)
	t0 := time.Now()
	res, err := sess.Exec(ctx, sql)
	ms := msSince(t0)
	cancel()
	defer releaseAll(res)
	if err != nil {
		switch {
		case overLimit.Load():
			// Hand the memory back before the next query is measured.
			releaseMemory()
			return tpch.Answer{}, ms, fmt.Errorf("memory: resident set above %s, cancelled after %.0f ms", mib(cfg.maxRSSKB), ms)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return tpch.Answer{}, ms, fmt.Errorf("timeout after %s", cfg.timeout)
		}
		return tpch.Answer{}, ms, err
	}
	if !wantRows {
		return tpch.Answer{}, ms, nil
	}
	last := res[len(res)-1]
	var a tpch.Answer
	for _, c := range last.Columns {
		a.Columns = append(a.Columns, c.Name)
	}
	for _, b := range last.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]*string, b.NumCols())
			for c := range row {
				if d := exec.DatumAt(b.Column(c), i); d != nil {
					s := last.FormatValue(c, d)
					row[c] = &s
				}
			}
			a.Rows = append(a.Rows, row)
		}
	}
	return a, ms, nil
}

// releaseMemory collects garbage and returns free memory to the system.
// writeHeapProfile writes the live heap (after a collection) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// watchMemory cancels the query when the process's resident set passes
// limitKB, until ctx ends; the flag tells that it did.
func watchMemory(ctx context.Context, cancel context.CancelFunc, limitKB int64) *atomic.Bool {
	var over atomic.Bool
	if limitKB <= 0 {
		return &over
	}
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if procStatusKB("VmRSS:") > limitKB {
					over.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	return &over
}

// startQueryProfile writes a CPU profile of a query's Weft runs, the
// warm-up included (so a query that times out has one too), to
// dir/NAME.pprof. DuckDB runs in the child and does not show.
func startQueryProfile(dir, name string) (func(), error) {
	if dir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return func() {}, err
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		return func() {}, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// peakRSSKB is this process's peak resident set (VmHWM): Weft's, since
// DuckDB runs in a child.
func peakRSSKB() int64 { return procStatusKB("VmHWM:") }

// procStatusKB reads one kB field of /proc/self/status (0 if unreadable).
func procStatusKB(field string) int64 { return procFieldKB("self", field) }

// procFieldKB reads one kB field ("VmRSS:") of /proc/<proc>/status, proc
// a pid or "self" (0 if unreadable).
func procFieldKB(proc, field string) int64 {
	f, err := os.Open("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func printProgress(r tpchResult) {
	status := "correct"
	switch {
	case r.weftErr != "":
		status = "weft: " + r.weftErr
	case !r.correct:
		status = "WRONG: " + firstLine(r.detail)
	}
	fmt.Fprintf(os.Stderr, "%s: weft %.1f ms, duckdb %.1f ms, %s %s\n", r.name, r.weftMS, r.duckMS, status, r.runNote)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func reportTPCH(cfg tpchConfig, loads []tableLoad, duck *duckWorker, loadKB int64, results []tpchResult) {
	fmt.Printf("TPC-H scale factor %v (%s); median of %d runs after a warm-up, milliseconds; DuckDB at %d threads\n\n",
		cfg.sf, cfg.dataDir, cfg.runs, cfg.duckThreads)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "query\tweft\tduckdb\tweft/duckdb\tcorrect\trows\tnote")
	var sumWeft, sumDuck float64
	correct := 0
	for _, r := range results {
		weftCol, ratio := fmt.Sprintf("%.1f", r.weftMS), "-"
		if r.weftErr != "" {
			weftCol = "error"
			if kind, _, ok := strings.Cut(r.weftErr, " "); ok && (kind == "timeout" || kind == "memory:") {
				weftCol = strings.TrimSuffix(kind, ":")
			}
		} else if r.duckMS > 0 {
			ratio = fmt.Sprintf("%.1f", r.weftMS/r.duckMS)
			sumWeft += r.weftMS
			sumDuck += r.duckMS
		}
		ok := "no"
		if r.correct {
			ok = "yes"
			correct++
		}
		note := r.weftErr
		if note == "" && !r.correct {
			note = firstLine(r.detail)
		}
		if r.runNote != "" {
			note = strings.TrimSpace(note + " " + r.runNote)
		}
		fmt.Fprintf(w, "%s\t%s\t%.1f\t%s\t%s\t%d\t%s\n", r.name, weftCol, r.duckMS, ratio, ok, r.rows, note)
	}
	w.Flush()
	ratio := 0.0
	if sumDuck > 0 {
		ratio = sumWeft / sumDuck
	}
	fmt.Printf("\ncorrect: %d of %d\n", correct, len(results))
	fmt.Printf("sum over the queries Weft answered: weft %.0f ms, duckdb %.0f ms, ratio %.1f\n", sumWeft, sumDuck, ratio)
	var loadMS float64
	for _, l := range loads {
		loadMS += l.ms
	}
	if len(loads) == 0 {
		fmt.Printf("load: weft not measured (-weft-dir %s was loaded before)", cfg.weftDir)
	} else {
		fmt.Printf("load: weft %.1f s (COPY FROM file per table:", loadMS/1000)
		for _, l := range loads {
			fmt.Printf(" %s %.1f s", l.table, l.ms/1000)
		}
		fmt.Print(")")
	}
	fmt.Printf(", duckdb %.1f s\n", duck.LoadMS/1000)
	fmt.Printf("peak RSS: weft %s after the load, %s overall; duckdb %s\n",
		mib(loadKB), mib(peakRSSKB()), mib(duck.PeakKB))
	for _, r := range results {
		if !r.correct && r.detail != "" {
			fmt.Printf("\n%s differs from DuckDB: %s\n", r.name, r.detail)
		}
	}
}

func mib(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }
