package engine_test

import (
	"context"
	"testing"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/udf"
)

// BenchmarkWasmStatement measures one statement calling a wasm function
// once: with instances reused only within a statement, each statement
// instantiates the module afresh.
func BenchmarkWasmStatement(b *testing.B) {
	db, err := engine.Open(engine.Options{Partitions: 1, UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := db.NewSession()
	ctx := context.Background()
	if _, err := s.Exec(ctx, "CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' VOLATILE"); err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct{ name, sql string }{
		{"one_call", "SELECT add(1, 2)"},
		{"100k_rows", "SELECT sum(add(g, 1)) FROM generate_series(1, 100000) g"},
	} {
		b.Run(q.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := s.Query(ctx, q.sql)
				if err != nil {
					b.Fatal(err)
				}
				r.Release()
			}
		})
	}
}
