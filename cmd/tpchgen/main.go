// Command tpchgen writes TPC-H data as pipe-delimited files, one per table
// (tpch.FileName), for the benchmark (bench -tpch) and for loading by hand:
//
//	go run ./cmd/tpchgen -sf 1 -out /work/tpch/sf1
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/weftdb/weft/tpch"
)

func main() {
	sf := flag.Float64("sf", 1, "scale factor: an integer, or a fraction below 1 (0.01, 0.1)")
	out := flag.String("out", "", "directory to write the table files into (created if missing)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "tpchgen: -out is required")
		os.Exit(2)
	}
	start := time.Now()
	if err := tpch.GenerateDir(*sf, *out); err != nil {
		fmt.Fprintln(os.Stderr, "tpchgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "tpchgen: scale factor %v written to %s in %s\n", *sf, *out, time.Since(start).Round(time.Millisecond))
}
