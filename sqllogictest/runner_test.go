package sqllogictest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/udf"
)

// ownSuite lists the project's own .slt files.
func ownSuite(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../testdata/slt", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(path) == ".slt" {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no .slt files found: %v", err)
	}
	return files
}

// TestOwnSuiteNoLeaks runs every .slt file under shapes that exercise the
// parallel and multi-batch paths (one partition, several partitions, tiny
// batches) with Arrow's checked allocator, and requires every query to
// pass and every byte to be released.
func TestOwnSuiteNoLeaks(t *testing.T) {
	cache := t.TempDir() // compiled wasm, shared by every database of the run
	// how the data is laid out (partitions, batch size) and how it was
	// written (one statement per row, rows reversed, each statement's rows
	// checkpointed into segments of their own on disk)
	shapes := []struct {
		name              string
		partitions, batch int
		write             WriteShape
		durable           bool
	}{
		{"p1", 1, 0, WriteShape{}, false},
		{"p3-b2", 3, 2, WriteShape{}, false},
		{"p4-b1", 4, 1, WriteShape{}, false},
		{"p2-rows", 2, 0, WriteShape{SplitInserts: true}, false},
		{"p3-reversed-segments", 3, 0, WriteShape{SplitInserts: true, Reverse: true, Checkpoint: true}, true},
	}
	for _, path := range ownSuite(t) {
		for _, sh := range shapes {
			if sh.batch > 0 && strings.HasPrefix(filepath.Base(path), "spill") {
				// a spill file's tables are large on purpose: at one or two
				// rows a batch they take minutes and spill one row per
				// record, which exercises nothing the other shapes do not
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", filepath.Base(path), sh.name), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				var out bytes.Buffer
				dataDir := ""
				if sh.durable {
					dataDir = t.TempDir()
				}
				r := &Runner{
					Open: func() (*weft.DB, error) {
						return weft.Open(weft.Options{Partitions: sh.partitions, BatchSize: sh.batch, Mem: mem, DataDir: dataDir,
							UDF: udf.Config{ModuleDir: "../testdata/udf/wasm", CacheDir: cache}})
					},
					Verbose: true,
					Out:     &out,
					Shape:   sh.write,
					Reopen:  sh.durable,
				}
				res, err := r.RunFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if res.Failed > 0 {
					t.Fatalf("%d failed:\n%s", res.Failed, out.String())
				}
				if res.Passed == 0 {
					t.Fatal("no records ran")
				}
				mem.AssertSize(t, 0)
			})
		}
	}
}

// TestRunnerReportsFailures checks that a wrong expectation, a wrong error
// and an unexpected success are all counted as failures.
func TestRunnerReportsFailures(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.slt")
	script := `statement ok
CREATE TABLE t (a int)

statement ok
INSERT INTO t VALUES (1), (2)

query I rowsort
SELECT a FROM t
----
1
3

statement error 42P01
SELECT a FROM t

query I
SELECT count(*) FROM t
----
2

statement error 22012
SELECT 1/a - 1 FROM t
`
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Open: func() (*weft.DB, error) { return weft.Open(weft.Options{}) }, Out: &bytes.Buffer{}}
	res, err := r.RunFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 3 || res.Failed != 3 {
		t.Fatalf("got %d passed, %d failed; want 3 and 3", res.Passed, res.Failed)
	}
}
