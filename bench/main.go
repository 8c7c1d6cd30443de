// Command bench times Weft against DuckDB on a generated table. It lives in
// its own module so that the engine does not depend on DuckDB.
//
//	go run . [-rows 10000000] [-runs 3] [-duckdb=false] [-udf=false] [-load=false] [-alternate]
//
// With -tpch it runs the 22 TPC-H queries instead (see tpch.go):
//
//	go run . -tpch -sf 1 [-tpch-dir /work/tpch/sf1] [-runs 3] [-timeout 120s] [-cpuprofile DIR] [-only q01,q06]
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftdb/weft"
)

// queries are the benchmark, Q1..Q10: the first issue's five, then the
// shapes TPC-H's issue names beside them (a join of the table against a
// 100k-row side, LIKE with substr under GROUP BY, expressions,
// count(DISTINCT), a GROUP BY of a million groups).
var queries = []string{
	"SELECT g, sum(v), count(*), avg(v) FROM t GROUP BY g",
	"SELECT s, count(*) FROM t GROUP BY s ORDER BY 2 DESC LIMIT 5",
	"SELECT sum(v) FROM t WHERE v % 3 = 0",
	"SELECT count(*) FROM t a JOIN t b ON a.id = b.v",
	"SELECT * FROM t ORDER BY v DESC LIMIT 10",
	"SELECT count(*), sum(b.g) FROM t a JOIN (SELECT id, g FROM t WHERE id < 100000) b ON a.v = b.id",
	"SELECT substr(s, 1, 5) AS p, count(*) FROM t WHERE s LIKE '%99%' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
	"SELECT sum(CASE WHEN v % 2 = 0 THEN v * 3 ELSE id - v END), max(abs(v - id)), min(g * 10 + v % 7) FROM t",
	"SELECT count(DISTINCT v), count(DISTINCT s) FROM t",
	"SELECT id % 1000000 AS k, sum(v) FROM t GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
}

func main() {
	rows := flag.Int("rows", 10_000_000, "rows in t")
	runs := flag.Int("runs", 3, "runs per query; the best is reported")
	withDuck := flag.Bool("duckdb", true, "also time DuckDB")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the Weft runs to this file")
	only := flag.Int("q", 0, "run only this query (1-10)")
	withUDF := flag.Bool("udf", true, "also time the wasm UDF queries")
	withLoad := flag.Bool("load", true, "also time loading CSV and Parquet files into durable storage")
	alternate := flag.Bool("alternate", false, "time Weft and DuckDB alternately, run by run, so that both see the same load on a shared machine (needs -duckdb)")
	var tc tpchConfig
	withTPCH := flag.Bool("tpch", false, "run the TPC-H queries against DuckDB instead (-cpuprofile is then a directory: one profile per query)")
	flag.Float64Var(&tc.sf, "sf", 1, "TPC-H scale factor (an integer, or a fraction below 1)")
	flag.StringVar(&tc.dataDir, "tpch-dir", "", "directory of the TPC-H CSV files, generated there when missing (default tpch-data/sf<sf>)")
	flag.StringVar(&tc.weftDir, "weft-dir", "", "Weft's data directory for TPC-H (default: a temporary one, removed at the end)")
	flag.StringVar(&tc.queriesPath, "queries", "", "file of the TPC-H queries (default ../shared/"+"bench/tpch-queries.sql beside the checkout)")
	onlyTPCH := flag.String("only", "", "comma-separated TPC-H queries to run (q01,q06); default all")
	flag.DurationVar(&tc.timeout, "timeout", 120*time.Second, "TPC-H: cancel a query after this long")
	flag.StringVar(&tc.heapProfile, "heapprofile", "", "TPC-H: write a heap profile of what Weft holds after the load to this file")
	flag.IntVar(&tc.duckThreads, "duckdb-threads", 2, "TPC-H: DuckDB's threads")
	flag.Int64Var(&tc.memoryLimit, "weft-memory-limit", 0, "TPC-H: Weft's memory limit in bytes (as serve --memory-limit; 0: the default), past which operators spill")
	flag.IntVar(&tc.workers, "workers", 0, "TPC-H: compare one process with this many worker processes (started from -weft-bin on -weft-dir) instead of DuckDB")
	flag.StringVar(&tc.weftBin, "weft-bin", "", "TPC-H with -workers: the weft binary the workers run (go build -o BIN ./cmd/weft from this tree)")
	flag.Int64Var(&tc.broadcastRows, "broadcast-rows", -1, "TPC-H with -workers: weft.broadcast_rows (joins whose build side's tables hold more rows shuffle; default: Weft's)")
	flag.Int64Var(&tc.shuffleGroups, "shuffle-groups", -1, "TPC-H with -workers: weft.shuffle_groups (aggregations expected to make this many groups shuffle by key across the workers; 0: every one that can; default: Weft's)")
	maxRSS := flag.Int64("max-rss-mib", 8192, "TPC-H: cancel a Weft query when the process's resident set passes this many MiB (0: no limit)")
	duckWorker := flag.Bool("duckdb-worker", false, "internal: serve DuckDB queries for -tpch on stdin/stdout")
	var sc streamConfig
	flag.StringVar(&sc.weftBin, "stream-server", "", "measure a large result over the wire instead: this weft binary serves -stream-dir, pgx reads -stream-query to the end (time to first row, server RSS)")
	flag.StringVar(&sc.dataDir, "stream-dir", "", "data directory for -stream-server (holding the table the query reads)")
	flag.StringVar(&sc.query, "stream-query", "SELECT * FROM t", "query for -stream-server")
	var pb pgbenchConfig
	flag.StringVar(&pb.weftBin, "pgbench-server", "", "run pgbench (TPC-B and select-only) against this weft binary and a PostgreSQL 15 started here, instead")
	flag.IntVar(&pb.scale, "pgbench-scale", 10, "pgbench scale factor")
	flag.IntVar(&pb.clients, "pgbench-clients", 8, "pgbench clients")
	flag.DurationVar(&pb.duration, "pgbench-time", 60*time.Second, "pgbench duration of each run")
	flag.Parse()
	if pb.weftBin != "" {
		if err := runPgbench(pb); err != nil {
			fmt.Fprintln(os.Stderr, "pgbench:", err)
			os.Exit(1)
		}
		return
	}
	if sc.weftBin != "" {
		if err := runStream(sc); err != nil {
			fmt.Fprintln(os.Stderr, "stream:", err)
			os.Exit(1)
		}
		return
	}
	if *duckWorker {
		if err := runDuckWorker(tc.dataDir, tc.duckThreads); err != nil {
			fmt.Fprintln(os.Stderr, "duckdb worker:", err)
			os.Exit(1)
		}
		return
	}
	if *withTPCH {
		tc.runs, tc.profileDir, tc.maxRSSKB = *runs, *cpuProfile, *maxRSS*1024
		if *onlyTPCH != "" {
			tc.only = map[string]bool{}
			for _, q := range strings.Split(*onlyTPCH, ",") {
				tc.only[strings.TrimSpace(q)] = true
			}
		}
		if err := runTPCH(tc); err != nil {
			fmt.Fprintln(os.Stderr, "tpch:", err)
			os.Exit(1)
		}
		return
	}
	if *only > 0 && *only <= len(queries) {
		queries = queries[*only-1 : *only]
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
	}
	ctx := context.Background()

	if *alternate && *withDuck {
		weftTimes, duckTimes, err := timeAlternately(ctx, *rows, *runs)
		if *cpuProfile != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		report(*rows, weftTimes, duckTimes)
		return
	}
	start := time.Now()
	weftTimes, err := timeWeft(ctx, *rows, *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "weft:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "weft done in %s\n", time.Since(start).Round(time.Millisecond))
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	var duckTimes []time.Duration
	if *withDuck {
		db, err := openDuckDB(ctx, *rows)
		if err != nil {
			fmt.Fprintln(os.Stderr, "duckdb:", err)
			os.Exit(1)
		}
		duckTimes, err = timeSQL(ctx, db, *runs)
		db.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "duckdb:", err)
			os.Exit(1)
		}
	}
	report(*rows, weftTimes, duckTimes)
	if *withUDF {
		if err := benchUDF(ctx, *rows, *runs); err != nil {
			fmt.Fprintln(os.Stderr, "udf:", err)
			os.Exit(1)
		}
	}
	if *withLoad && *withDuck {
		if err := benchLoad(ctx, *rows); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		if err := benchSegments(ctx, *rows); err != nil {
			fmt.Fprintln(os.Stderr, "segments:", err)
			os.Exit(1)
		}
	}
}

func timeWeft(ctx context.Context, rows, runs int) ([]time.Duration, error) {
	db, err := weft.Open(weft.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	s := db.NewSession()
	if err := loadWeft(s, rows); err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, q := range queries {
		best := time.Duration(1<<63 - 1)
		for range runs {
			t0 := time.Now()
			res, err := s.Query(ctx, q)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
			best = min(best, time.Since(t0))
			res.Release()
		}
		out = append(out, best)
	}
	return out, nil
}

// timeAlternately loads the table into both engines and runs each query
// on Weft, then on DuckDB, runs times over: the best of each is reported,
// and a busy spell of the machine falls on both alike.
func timeAlternately(ctx context.Context, rows, runs int) (weftTimes, duckTimes []time.Duration, err error) {
	wdb, err := weft.Open(weft.Options{})
	if err != nil {
		return nil, nil, err
	}
	defer wdb.Close()
	s := wdb.NewSession()
	if err := loadWeft(s, rows); err != nil {
		return nil, nil, fmt.Errorf("weft: %w", err)
	}
	ddb, err := openDuckDB(ctx, rows)
	if err != nil {
		return nil, nil, fmt.Errorf("duckdb: %w", err)
	}
	defer ddb.Close()
	for _, q := range queries {
		bestWeft, bestDuck := time.Duration(1<<63-1), time.Duration(1<<63-1)
		for range runs {
			t0 := time.Now()
			res, err := s.Query(ctx, q)
			if err != nil {
				return nil, nil, fmt.Errorf("weft: %s: %w", q, err)
			}
			bestWeft = min(bestWeft, time.Since(t0))
			res.Release()
			t0 = time.Now()
			if err := drain(ctx, ddb, q); err != nil {
				return nil, nil, fmt.Errorf("duckdb: %s: %w", q, err)
			}
			bestDuck = min(bestDuck, time.Since(t0))
		}
		weftTimes, duckTimes = append(weftTimes, bestWeft), append(duckTimes, bestDuck)
	}
	return weftTimes, duckTimes, nil
}

func timeSQL(ctx context.Context, db *sql.DB, runs int) ([]time.Duration, error) {
	var out []time.Duration
	for _, q := range queries {
		best := time.Duration(1<<63 - 1)
		for range runs {
			t0 := time.Now()
			if err := drain(ctx, db, q); err != nil {
				return nil, fmt.Errorf("%s: %w", q, err)
			}
			best = min(best, time.Since(t0))
		}
		out = append(out, best)
	}
	return out, nil
}

// drain runs q and reads every row, so lazy engines do all the work.
func drain(ctx context.Context, db *sql.DB, q string) error {
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rs.Err()
}

func report(rows int, weftTimes, duckTimes []time.Duration) {
	fmt.Printf("t: %d rows; best of runs, milliseconds\n\n", rows)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if duckTimes != nil {
		fmt.Fprintln(w, "query\tweft\tduckdb\tweft/duckdb\t")
	} else {
		fmt.Fprintln(w, "query\tweft\t")
	}
	for i, wt := range weftTimes {
		if duckTimes != nil {
			fmt.Fprintf(w, "Q%d\t%.1f\t%.1f\t%.2f\t\n", i+1, ms(wt), ms(duckTimes[i]), float64(wt)/float64(duckTimes[i]))
		} else {
			fmt.Fprintf(w, "Q%d\t%.1f\t\n", i+1, ms(wt))
		}
	}
	w.Flush()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
