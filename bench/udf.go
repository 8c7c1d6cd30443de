package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/udf"
)

// udfPairs compares wasm functions with the built-in expression they
// compute, on the same table.
var udfPairs = []struct{ name, builtin, wasm string }{
	{"batch scalar (C, add_one_c)", "SELECT sum(v + 1) FROM t", "SELECT sum(add_one_c(v)) FROM t"},
	{"plain per-row scalar (WAT, add)", "SELECT sum(v + 1) FROM t", "SELECT sum(add(v, 1)) FROM t"},
	{"aggregate (C, wsum) GROUP BY g", "SELECT g, sum(v) FROM t GROUP BY g", "SELECT g, wsum(v) FROM t GROUP BY g"},
}

func benchUDF(ctx context.Context, rows, runs int) error {
	db, err := weft.Open(weft.Options{UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	if err != nil {
		return err
	}
	defer db.Close()
	s := db.NewSession()
	if err := loadWeft(s, rows); err != nil {
		return err
	}
	for _, stmt := range []string{
		"CALL weft.import_module('c_strings.wasm')",
		"CALL weft.import_module('c_aggregates.wasm')",
		"CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE",
	} {
		if rs, err := s.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		} else {
			for _, r := range rs {
				r.Release()
			}
		}
	}
	best := func(q string) (time.Duration, error) {
		b := time.Duration(1<<63 - 1)
		for range runs {
			t0 := time.Now()
			res, err := s.Query(ctx, q)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", q, err)
			}
			b = min(b, time.Since(t0))
			res.Release()
		}
		return b, nil
	}
	fmt.Printf("\nwasm UDFs on t (%d rows), best of %d, milliseconds\n\n", rows, runs)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "function\tbuilt-in\twasm\twasm/built-in\tns/row\t")
	for _, p := range udfPairs {
		bt, err := best(p.builtin)
		if err != nil {
			return err
		}
		wt, err := best(p.wasm)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%.2f\t%.1f\t\n", p.name, ms(bt), ms(wt), float64(wt)/float64(bt), float64(wt.Nanoseconds())/float64(rows))
	}
	return w.Flush()
}
