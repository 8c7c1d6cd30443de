package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/pgsource/pgtest"
	"github.com/weftdb/weft/storage"
	"github.com/weftdb/weft/udf"
)

// tfuncData fills docs (bodies of two or three words, some NULL) and u
// (a small table to broadcast) for the table function tests.
var tfuncData = []string{
	`CREATE TABLE docs (id int, body text)`,
	`INSERT INTO docs SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE 'w' || (i % 13) || ' x' || (i % 7) || CASE WHEN i % 3 = 0 THEN ' tail' ELSE '' END END FROM generate_series(1, 12000) i`,
	`INSERT INTO docs SELECT i, 'late ' || i FROM generate_series(12001, 14000) i`,
	`CREATE TABLE u (g int, name text)`,
	`INSERT INTO u SELECT i, 'n' || i FROM generate_series(0, 9) i`,
}

// tfuncQuery is a query over table functions in Weft and the same
// question asked of PostgreSQL: words(body) (c_tables.wasm's
// split_words, one row per space-separated word with its position) is
// regexp_split_to_table WITH ORDINALITY there, histogram (counts per
// bucket of ten, values outside [0, 10240) in the NULL bucket) a GROUP BY.
type tfuncQuery struct {
	name, weft, postgres string
}

var tfuncQueries = []tfuncQuery{
	{"LATERAL under a partial aggregation",
		`SELECT w.n, count(*), sum(d.id), min(w.w), max(w.w) FROM docs d, words(d.body) w GROUP BY w.n ORDER BY 1`,
		`SELECT w.n, count(*), sum(d.id), min(w.w), max(w.w) FROM docs d, regexp_split_to_table(d.body, ' ') WITH ORDINALITY w(w, n) GROUP BY w.n ORDER BY 1`},
	{"LATERAL rows streamed back",
		`SELECT d.id, w.w, w.n FROM docs d, LATERAL words(d.body) w WHERE d.id % 97 = 0 ORDER BY 1, 3`,
		`SELECT d.id, w.w, w.n FROM docs d, regexp_split_to_table(d.body, ' ') WITH ORDINALITY w(w, n) WHERE d.id % 97 = 0 ORDER BY 1, 3`},
	{"LATERAL over a broadcast join",
		`SELECT u.name, count(*), max(w.w) FROM docs d JOIN u ON d.id % 10 = u.g, words(d.body) w WHERE w.n = 2 GROUP BY u.name ORDER BY 1`,
		`SELECT u.name, count(*), max(w.w) FROM docs d JOIN u ON d.id % 10 = u.g, regexp_split_to_table(d.body, ' ') WITH ORDINALITY w(w, n) WHERE w.n = 2 GROUP BY u.name ORDER BY 1`},
	{"over a relation argument",
		`SELECT bucket, sum(n) FROM histogram((SELECT id::bigint FROM docs WHERE id % 4 <> 1)) GROUP BY bucket ORDER BY bucket NULLS FIRST`,
		`SELECT CASE WHEN id < 10240 THEN id / 10 * 10 END AS bucket, count(*) FROM docs WHERE id % 4 <> 1 GROUP BY 1 ORDER BY 1 NULLS FIRST`},
	{"generate_series over a column",
		`SELECT d.id % 5, count(*), sum(x) FROM docs d, generate_series(1, d.id % 5) x GROUP BY 1 ORDER BY 1`,
		`SELECT d.id % 5, count(*), sum(x) FROM docs d, generate_series(1, d.id % 5) x GROUP BY 1 ORDER BY 1`},
	{"unnest over a column",
		`SELECT x, count(*), sum(id) FROM (SELECT id, unnest(ARRAY[id % 3, id % 7, id % 11]) AS x FROM docs WHERE body IS NOT NULL) s GROUP BY x ORDER BY 1`,
		`SELECT x, count(*), sum(id) FROM (SELECT id, unnest(ARRAY[id % 3, id % 7, id % 11]) AS x FROM docs WHERE body IS NOT NULL) s GROUP BY x ORDER BY 1`},
}

// postgresRows runs statements, then queries, on a throwaway
// PostgreSQL, rendering rows as Weft's rows helper does.
func postgresRows(t *testing.T, data, queries []string) [][]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range data {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("postgres: %s: %v", sql, err)
		}
	}
	var answers [][]string
	for _, q := range queries {
		rs, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
		var out []string
		for rs.Next() {
			vals := make([]string, len(rs.RawValues()))
			for i, v := range rs.RawValues() {
				if v == nil {
					vals[i] = "NULL"
				} else {
					vals[i] = string(v)
				}
			}
			out = append(out, strings.Join(vals, "|"))
		}
		if err := rs.Err(); err != nil {
			t.Fatalf("postgres: %s: %v", q, err)
		}
		answers = append(answers, out)
	}
	return answers
}

// openTableFunctions opens a coordinator in dir with docs, u and the
// table functions of c_tables.wasm: words (declared IMMUTABLE),
// vwords (the same code, volatile as CREATE FUNCTION's default is) and
// histogram (imported from the module's manifest, which does not call
// it volatile).
func openTableFunctions(t *testing.T, dir string) *engine.Session {
	t.Helper()
	s := openChecked(t, engine.Options{DataDir: dir, Partitions: 4, BatchSize: 1024, WorkerTimeout: 2 * time.Second,
		UDF: udf.Config{ModuleDir: "../testdata/udf/wasm"}})
	for _, sql := range tfuncData {
		mustExec(t, s, sql)
	}
	mustExec(t, s, "CREATE FUNCTION words(text) RETURNS TABLE (w text, n bigint) LANGUAGE wasm AS 'c_tables.wasm', 'split_words' IMMUTABLE")
	mustExec(t, s, "CREATE FUNCTION vwords(text) RETURNS TABLE (w text, n bigint) LANGUAGE wasm AS 'c_tables.wasm', 'split_words'")
	mustExec(t, s, "CALL weft.import_module('c_tables.wasm')") // histogram and split_words
	return s
}

// TestClusterTableFunctions: wasm table functions over a table (LATERAL)
// and over a relation argument, and unnest and generate_series over a
// table's columns, run on two worker processes one run per partition
// (EXPLAIN: the function inside the remote stage; EXPLAIN ANALYZE: every
// partition on a worker, none here) and give PostgreSQL's answers; a
// volatile table function stays on the coordinator over remote scans.
func TestClusterTableFunctions(t *testing.T) {
	var pgQueries []string
	for _, q := range tfuncQueries {
		pgQueries = append(pgQueries, q.postgres)
	}
	want := postgresRows(t, tfuncData, pgQueries)
	dir := t.TempDir()
	s := openTableFunctions(t, dir)
	for i, q := range tfuncQueries {
		sameRows(t, q.name+", one process", rows(t, s, q.weft), want[i])
	}
	w1, w2 := startWorker(t, dir), startWorker(t, dir)
	for _, w := range []*workerProc{w1, w2} {
		mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	}
	for i, q := range tfuncQueries {
		before := fragmentsRun(t, s)
		sameRows(t, q.name+", two workers", rows(t, s, q.weft), want[i])
		if after := fragmentsRun(t, s); after == before {
			t.Errorf("%s: no fragment ran on the workers", q.name)
		}
		plan := explainText(t, s, q.weft)
		fn := "ProjectSet"
		if strings.Contains(q.weft, "words(") || strings.Contains(q.weft, "histogram(") {
			fn = "WasmTableFunction"
		}
		remote := strings.Index(plan, "Remote (workers=2")
		if remote < 0 || strings.Count(plan, "Remote (") != 1 || strings.Index(plan[remote:], fn) < 0 {
			t.Errorf("%s: the function should run inside the one remote stage:\n%s", q.name, plan)
		}
		analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q.weft), "\n")
		for _, part := range []string{"0@" + w1.addr, "1@" + w2.addr, "2@" + w1.addr, "3@" + w2.addr, " local=0)"} {
			if !strings.Contains(analyzed, part) {
				t.Errorf("%s: EXPLAIN ANALYZE lacks %q (every partition on its worker):\n%s", q.name, part, analyzed)
			}
		}
		if i == 0 {
			t.Logf("%s", analyzed)
		}
	}
	// over a shuffle join instead of a broadcast one
	mustExec(t, s, "SET weft.broadcast_rows = 0")
	sameRows(t, tfuncQueries[2].name+", shuffled", rows(t, s, tfuncQueries[2].weft), want[2])
	if plan := explainText(t, s, tfuncQueries[2].weft); !strings.Contains(plan, "Shuffle HashJoin") || strings.Count(plan, "Remote (") != 1 || strings.Index(plan, "WasmTableFunction") < strings.Index(plan, "Remote (") {
		t.Errorf("the table function should run over the shuffle join in the one remote stage:\n%s", plan)
	}
	if analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+tfuncQueries[2].weft), "\n"); !strings.Contains(analyzed, " local=0)") {
		t.Errorf("over a shuffle join, a partition ran on the coordinator:\n%s", analyzed)
	}
	mustExec(t, s, "RESET weft.broadcast_rows")

	// a volatile table function runs here, over the scan the workers read
	volatile := strings.Replace(tfuncQueries[0].weft, "words(", "vwords(", 1)
	sameRows(t, "volatile table function", rows(t, s, volatile), want[0])
	plan := explainText(t, s, volatile)
	if fn, remote := strings.Index(plan, "WasmTableFunction"), strings.Index(plan, "Remote ("); fn < 0 || remote < 0 || fn > remote {
		t.Errorf("a volatile table function should stay on the coordinator above the remote scan:\n%s", plan)
	}
}

// TestClusterTableFunctionModuleUnusable: a worker whose copy of the
// data directory holds a damaged module file (the right name, other
// bytes) reports the module missing and gets it from the coordinator:
// the table function runs there. A worker that has bytes of the right
// hash it cannot compile refuses the fragments calling it, naming the
// module, and keeps serving others: the coordinator runs those
// partitions itself.
func TestClusterTableFunctionModuleUnusable(t *testing.T) {
	q := tfuncQueries[0]
	want := postgresRows(t, tfuncData, []string{q.postgres})[0]
	dir := t.TempDir()
	s := openTableFunctions(t, dir)
	mustExec(t, s, "CHECKPOINT")
	sameRows(t, "one process", rows(t, s, q.weft), want)

	damaged := t.TempDir()
	w := startWorker(t, damaged, "--cluster-secret-file", filepath.Join(dir, cluster.SecretFileName))
	mustExec(t, s, fmt.Sprintf("CALL weft.add_worker('%s')", w.addr))
	copyDataDir(t, dir, damaged, func(string) bool { return false })
	modules, err := filepath.Glob(filepath.Join(damaged, "modules", "*.wasm"))
	if err != nil || len(modules) == 0 {
		t.Fatalf("no module file to damage: %v %v", modules, err)
	}
	for _, m := range modules {
		if err := os.WriteFile(m, []byte("\x00asm damaged"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sameRows(t, "a worker with a damaged module file", rows(t, s, q.weft), want)
	if analyzed := strings.Join(rows(t, s, "EXPLAIN ANALYZE "+q.weft), "\n"); !strings.Contains(analyzed, "local=0)") || !strings.Contains(analyzed, "0@"+w.addr) {
		t.Errorf("the worker should have been sent the module and run every partition:\n%s", analyzed)
	}

	// bytes that hash right but do not compile (a worker's compiler that
	// refuses what the coordinator's took): the worker leaves the
	// functions undefined and refuses only the fragments calling them
	hash := strings.TrimSuffix(filepath.Base(modules[0]), ".wasm")
	fr, err := engine.NewFragmentRunner(engine.Options{DataDir: damaged, UDF: udf.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	if err := fr.AddModule(hash, []byte("\x00asm not a module")); err != nil {
		t.Fatal(err)
	}
	gen, err := storage.ReadGeneration(damaged)
	if err != nil {
		t.Fatal(err)
	}
	fragment := func(sql string, modules []string) error {
		f := &clusterpb.Fragment{Protocol: cluster.ProtocolVersion, QueryId: "test", Sql: sql, Generation: gen, Partition: 0,
			BatchSize: 1024, Parallelism: 4, User: "weft", Modules: modules, Fingerprint: "not this plan's"}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		st, _, release, err := fr.RunFragment(context.Background(), f, mem)
		if err == nil {
			st.Close()
			release()
		}
		return err
	}
	// (the fingerprint is wrong on purpose: a fragment that gets as far
	// as comparing it opened the catalog)
	var replan *cluster.ReplanError
	if err := fragment("SELECT count(*) FROM docs", nil); !errors.As(err, &replan) || !strings.Contains(replan.Reason, "plan differs") {
		t.Errorf("a fragment calling no wasm function, on a worker with a module it cannot compile: %v, want it planned (and its fingerprint refused)", err)
	}
	err = fragment(q.weft, []string{hash})
	if !errors.As(err, &replan) || !strings.Contains(replan.Reason, hash[:12]) || !strings.Contains(replan.Reason, "cannot load wasm module") {
		t.Errorf("a fragment calling a module the worker cannot compile: %v, want a replan naming module %.12s…", err, hash)
	} else {
		t.Logf("refused: %v", err)
	}
}
