package engine_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/pgsource/pgtest"
	"github.com/weftdb/weft/udf"
)

// copyDataDir copies a data directory into another, leaving out the
// files skip names.
func copyDataDir(t *testing.T, from, to string, skip func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if skip(rel) {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		dst, err := os.Create(filepath.Join(to, rel))
		if err != nil {
			return err
		}
		defer dst.Close()
		_, err = io.Copy(dst, src)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClusterShipsModules: a worker reading a copy of the data directory
// without the wasm module file still runs the partitions of a query
// that calls the module's function: the coordinator sent it the module
// by sha256, and the partitions ran there, not on the coordinator.
func TestClusterShipsModules(t *testing.T) {
	const q = `SELECT count(*), sum(add(a, 7)), max(add(a, a)) FROM t WHERE a % 3 <> 0`
	ctx := context.Background()
	pgConn, err := pgx.Connect(ctx, pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pgConn.Close(ctx)
	var count, sum, max int64
	if err := pgConn.QueryRow(ctx, `SELECT count(*), sum(a + 7), max(a + a) FROM generate_series(1, 20000) a WHERE a % 3 <> 0`).Scan(&count, &sum, &max); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d|%d|%d", count, sum, max)

	dir := t.TempDir()
	s := openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: 2 * time.Second,
		UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	mustExec(t, s, "CREATE TABLE t (a bigint)")
	mustExec(t, s, "INSERT INTO t SELECT i FROM generate_series(1, 20000) i")
	mustExec(t, s, "CREATE FUNCTION add(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'plain.wasm', 'add' IMMUTABLE")
	mustExec(t, s, "CHECKPOINT")
	if got := rows(t, s, q); strings.Join(got, ",") != want {
		t.Fatalf("without workers: %v, want %s", got, want)
	}
	// the worker starts on an empty directory, filled with a copy of the
	// coordinator's without the module files once the coordinator has
	// written everything (adding a worker is a catalog change too)
	bare := t.TempDir()
	// (the secret the coordinator makes in its own directory)
	w := startWorker(t, bare, "--cluster-secret-file", filepath.Join(dir, cluster.SecretFileName))
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	moduleFiles := 0
	copyDataDir(t, dir, bare, func(rel string) bool {
		if strings.HasPrefix(rel, "modules"+string(filepath.Separator)) {
			moduleFiles++
			return true
		}
		return false
	})
	if moduleFiles == 0 {
		t.Fatalf("the data directory has no module file to leave out")
	}
	for run := range 2 { // the second finds the module there
		if got := rows(t, s, q); strings.Join(got, ",") != want {
			t.Fatalf("run %d with a worker lacking the module file: %v, want %s", run, got, want)
		}
	}
	plan := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q), "\n")
	if !strings.Contains(plan, "local=0") || !strings.Contains(plan, "0@"+w.addr) || !strings.Contains(plan, "3@"+w.addr) {
		t.Errorf("the partitions calling the wasm function did not run on the worker:\n%s", plan)
	}
	if entries, _ := os.ReadDir(filepath.Join(bare, "modules")); len(entries) != 0 {
		t.Errorf("the worker's directory got module files: the module must travel over Flight, not the file system")
	}
}
