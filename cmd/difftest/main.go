// Command difftest runs Weft's differential tester against a real
// PostgreSQL: random tables and queries, every answer compared, each
// mismatch shrunk and written as a .slt file.
//
//	go run ./cmd/difftest -duration 1h -out testdata/slt/difftest
//
// Without -url it starts a throwaway PostgreSQL server from Debian's
// postgresql package (`make tools` installs it).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/weftdb/weft/difftest"
	"github.com/weftdb/weft/pgsource/pgtest"
)

func main() {
	url := flag.String("url", "", "PostgreSQL to compare with (default: start one)")
	seed := flag.Int64("seed", 0, "first seed (default: from the clock)")
	seeds := flag.Int("seeds", 0, "number of seeds (0: until -duration)")
	duration := flag.Duration("duration", time.Minute, "stop after this long (0: after -seeds)")
	queries := flag.Int("queries", 60, "queries per seed")
	out := flag.String("out", "", "directory for the .slt files of mismatches")
	udfDir := flag.String("udf-dir", "testdata/udf/wasm", "the wasm fixtures the UDF checks use (\"\": no UDF checks)")
	quiet := flag.Bool("q", false, "print only the summary")
	flag.Parse()
	if *seeds == 0 && *duration == 0 {
		fmt.Fprintln(os.Stderr, "difftest: give -seeds or -duration")
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() % 1_000_000_000
	}
	if *url == "" {
		u, stop, err := pgtest.StartServer()
		if err != nil {
			fmt.Fprintln(os.Stderr, "difftest:", err)
			os.Exit(1)
		}
		defer stop()
		*url = u
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "difftest:", err)
			os.Exit(1)
		}
	}
	cfg := difftest.Config{URL: *url, FirstSeed: *seed, Seeds: *seeds, Duration: *duration, Queries: *queries, OutDir: *out, UDFDir: *udfDir}
	if !*quiet {
		cfg.Log = os.Stdout
	}
	fmt.Printf("difftest: seeds from %d\n", *seed)
	rep, err := difftest.Run(cfg)
	fmt.Print(rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "difftest:", err)
		os.Exit(1)
	}
	if len(rep.Mismatches) > 0 {
		os.Exit(1)
	}
}
