package pgwire

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/engine"
)

// startServerOpts serves a database opened with opts on a loopback port
// and checks, when the test ends, that every Arrow byte was released.
func startServerOpts(t *testing.T, opts engine.Options) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	addr, stop := serveOpts(t, opts, mem)
	t.Cleanup(func() {
		stop()
		mem.AssertSize(t, 0)
	})
	return fmt.Sprintf("postgres://tester@%s/weft?sslmode=disable", addr)
}

// spillFiles lists the files under a data directory's spill directory.
func spillFiles(dir string) []string {
	var files []string
	filepath.WalkDir(filepath.Join(dir, "spill"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	return files
}

const spillTable = `CREATE TABLE spill_t AS SELECT i, CASE WHEN i % 13 = 0 THEN NULL ELSE (i * 7919) % 10007 END AS k,
	'name ' || ((i * 31) % 977) AS s, ((i * 17) % 1000)::numeric / 8 AS d FROM generate_series(1, 200000) i`

// TestSortSpills: ORDER BY over 200,000 rows (text, numeric, NULLs in
// some batches) gives PostgreSQL's answer unlimited, and the same under a
// 512 kB weft.memory_limit, where it spills (EXPLAIN ANALYZE says how
// much) and leaves no file behind; LIMIT's top-N is unaffected.
func TestSortSpills(t *testing.T) {
	dir := t.TempDir()
	url := startServerOpts(t, engine.Options{DataDir: dir, Partitions: 2, BatchSize: 1024})
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, spillTable); err != nil {
		t.Fatal(err)
	}
	// md5 of the rows in order, from PostgreSQL 15 over the same table
	queries := []struct{ sql, md5 string }{
		{`SELECT md5(string_agg(coalesce(k::text, 'N') || ':' || s, ',')) FROM (SELECT k, s FROM spill_t ORDER BY k DESC NULLS FIRST, s OFFSET 0) x`,
			"5b894b9061d764bf9e8ce054fefacdf7"},
		{`SELECT md5(string_agg(s || ':' || ((d * 8)::int)::text || ':' || coalesce(k::text, 'N'), ',')) FROM (SELECT s, d, k FROM spill_t ORDER BY s, d DESC, k NULLS FIRST OFFSET 0) x`,
			"5bbb9c4c4f48776375f097aab35eff4d"},
		{`SELECT md5(string_agg(i::text, ',')) FROM (SELECT i FROM spill_t ORDER BY k, i OFFSET 0) x`,
			"ac7b4de4a4fe3cc4851f698c15a4680d"},
	}
	for _, setting := range []string{"", "SET weft.memory_limit = '512kB'", "SET weft.spill_compression = on"} {
		if setting != "" {
			if _, err := c.Exec(ctx, setting); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range queries {
			var got string
			if err := c.QueryRow(ctx, q.sql).Scan(&got); err != nil || got != q.md5 {
				t.Errorf("%s: %s: got %s, %v; want %s", setting, q.sql, got, err, q.md5)
			}
			plan := explainAnalyze(t, c, strings.TrimSuffix(strings.SplitN(q.sql, "FROM (", 2)[1], ") x"))
			if spilled := strings.Contains(plan, "spilled="); spilled != (setting != "") {
				t.Errorf("%s: spilled %v:\n%s", setting, spilled, plan)
			}
			if files := spillFiles(dir); len(files) != 0 {
				t.Errorf("spill files left behind: %v", files)
			}
		}
	}
	rows, err := c.Query(ctx, "SELECT i FROM spill_t ORDER BY k NULLS FIRST, i LIMIT 3")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || fmt.Sprint(ids) != "[13 26 39]" {
		t.Errorf("top 3 under the limit: %v, %v", ids, err)
	}
	// every row as the result: the sort spills, and the rows stream to
	// the client as the merge produces them, so none of it is held
	rows, err = c.Query(ctx, "SELECT i, s FROM spill_t ORDER BY s, i")
	if err != nil {
		t.Fatal(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct {
		I int32
		S *string
	}])
	if err != nil || len(all) != 200000 {
		t.Fatalf("every row under the limit: %d rows, %v", len(all), err)
	}
	for k := 1; k < len(all); k++ {
		a, b := all[k-1], all[k]
		if *a.S > *b.S || (*a.S == *b.S && a.I >= b.I) {
			t.Fatalf("rows %d and %d out of order: %v %v", k-1, k, a, b)
		}
	}
	// a spilling sort cancelled halfway leaves no file either
	if _, err := c.Exec(ctx, "SET statement_timeout = '300ms'"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "SELECT count(*) FROM (SELECT a.a, b.b FROM generate_series(1, 3000) a, generate_series(1, 3000) b ORDER BY 2 DESC, 1) s")
	wantCode(t, err, "57014")
	if files := spillFiles(dir); len(files) != 0 {
		t.Errorf("spill files left behind by the cancelled sort: %v", files)
	}
}

func explainAnalyze(t *testing.T, c *pgx.Conn, query string) string {
	t.Helper()
	rows, err := c.Query(context.Background(), "EXPLAIN ANALYZE "+query)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestServerMemoryLimit: under the server's --memory-limit (here 24 MB)
// a session's sort of 9,000,000 rows spills and completes, a window
// function over a million rows fails with 53200 naming the operator and
// the limit while another session goes on, tables may together hold
// more than the limit (it bounds running statements), and no session
// may set a limit beyond the server's.
func TestServerMemoryLimit(t *testing.T) {
	url := startServerOpts(t, engine.Options{Partitions: 2, MemoryLimit: 24 << 20})
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	other := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	var n int64
	const sorted = "SELECT count(*) FROM (SELECT a.a, b.b FROM generate_series(1, 3000) a, generate_series(1, 3000) b ORDER BY 2 DESC, 1) s"
	if err := c.QueryRow(ctx, sorted).Scan(&n); err != nil || n != 9000000 {
		t.Fatalf("the sort under the server's limit: %d, %v", n, err)
	}
	const windowed = "SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY a.a, b.b) rn FROM generate_series(1, 3000) a, generate_series(1, 1000) b) s"
	_, err := c.Exec(ctx, windowed)
	if pgErr := wantCode(t, err, "53200"); !strings.Contains(pgErr.Detail, "in Window: the query would hold more than the server's --memory-limit (25165824 bytes)") {
		t.Errorf("detail %q", pgErr.Detail)
	}
	if err := other.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("another session: %d, %v", n, err)
	}
	// rows stored in tables are the tables', not the statements': three
	// tables of 12 MB each fit under the server's 24 MB
	for _, name := range []string{"big1", "big2", "big3"} {
		if _, err := c.Exec(ctx, "CREATE TABLE "+name+" AS SELECT g::bigint AS g FROM generate_series(1, 1500000) g"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := c.QueryRow(ctx, "SELECT (SELECT count(*) FROM big1) + (SELECT count(*) FROM big2) + (SELECT count(*) FROM big3)").Scan(&n); err != nil || n != 4500000 {
		t.Fatalf("after storing more than the limit: %d, %v", n, err)
	}
	_, err = c.Exec(ctx, "SET weft.memory_limit = '32MB'")
	if pgErr := wantCode(t, err, "22023"); pgErr.Message != `32768 kB is outside the valid range for parameter "weft.memory_limit" (0 .. 24576 kB)` {
		t.Errorf("message %q", pgErr.Message)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("the next query: %d, %v", n, err)
	}
}

// TestWindowSpills: window functions sharing a PARTITION BY (one of them
// NULL for some rows) give PostgreSQL's answer unlimited and under a 1 MB
// weft.memory_limit, where the window sorts by partition with spilling
// and computes whole partitions a group at a time; no file is left.
func TestWindowSpills(t *testing.T) {
	dir := t.TempDir()
	url := startServerOpts(t, engine.Options{DataDir: dir, Partitions: 2, BatchSize: 1024})
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, spillTable); err != nil {
		t.Fatal(err)
	}
	// md5 of the rows in order, from PostgreSQL 15 over the same table
	queries := []struct{ sql, md5 string }{
		{`SELECT md5(string_agg(x, ',')) FROM (SELECT coalesce(k::text, 'N') || ':' || s || ':' || row_number() OVER w::text || ':' || sum(i) OVER w::text || ':' || coalesce(lag(k) OVER w::text, 'N') AS x FROM spill_t WINDOW w AS (PARTITION BY s ORDER BY k NULLS FIRST, i) ORDER BY s, k NULLS FIRST, i OFFSET 0) y`,
			"b02b6886fdf37da0a7209b2cfd68f672"},
		{`SELECT md5(string_agg(x, ',')) FROM (SELECT i::text || ':' || rank() OVER (PARTITION BY nullif(s, 'name 5') ORDER BY k)::text || ':' || count(*) OVER (PARTITION BY nullif(s, 'name 5'))::text || ':' || coalesce(((max(d) OVER (PARTITION BY nullif(s, 'name 5') ORDER BY k DESC, i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)) * 8)::int::text, 'N') AS x FROM spill_t ORDER BY i OFFSET 0) y`,
			"dae7e71c1030e5b213dc66ece9eac423"},
	}
	for _, setting := range []string{"", "SET weft.memory_limit = '1MB'"} {
		if setting != "" {
			if _, err := c.Exec(ctx, setting); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range queries {
			var got string
			if err := c.QueryRow(ctx, q.sql).Scan(&got); err != nil || got != q.md5 {
				t.Errorf("%s: %s: got %s, %v; want %s", setting, q.sql, got, err, q.md5)
			}
			plan := explainAnalyze(t, c, q.sql)
			windowSpilled := false
			for _, line := range strings.Split(plan, "\n") {
				if strings.Contains(line, "Window ") && strings.Contains(line, "spilled=") {
					windowSpilled = true
				}
			}
			if windowSpilled != (setting != "") {
				t.Errorf("%s: window spilled %v:\n%s", setting, windowSpilled, plan)
			}
			if files := spillFiles(dir); len(files) != 0 {
				t.Errorf("spill files left behind: %v", files)
			}
		}
	}
}

// TestSpillSweptAtOpen: spill files a crashed server left in its data
// directory are gone once the database opens again.
func TestSpillSweptAtOpen(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(engine.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	stale := filepath.Join(dir, "spill", "query-4242-7")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "1.arrows"), []byte("left by a crash"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err = engine.Open(engine.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if files := spillFiles(dir); len(files) != 0 {
		t.Errorf("stale spill files survived the open: %v", files)
	}
}

// TestAggregateSpills: GROUP BY (int, text and two keys, NULL keys,
// string_agg with ORDER BY), count(DISTINCT) with and without GROUP BY,
// DISTINCT and UNION give PostgreSQL's answer unlimited and under a
// 1 MB weft.memory_limit, where the hash aggregation spills (EXPLAIN
// ANALYZE says so) and leaves no file. DISTINCT aggregates over
// different arguments keep their values in memory: past the limit they
// fail with 53200 naming the aggregation, and the session goes on.
func TestAggregateSpills(t *testing.T) {
	dir := t.TempDir()
	url := startServerOpts(t, engine.Options{DataDir: dir, Partitions: 2, BatchSize: 1024})
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, spillTable); err != nil {
		t.Fatal(err)
	}
	// each query's rows x: how many, and a sum of digits of their md5s
	// (an order-free check that holds no rows), from PostgreSQL 15 over
	// the same table
	const digest = "SELECT count(*) || ':' || sum(ascii(md5(x)) * 65536 + ascii(substr(md5(x), 9)) * 256 + ascii(substr(md5(x), 17))) FROM (%s) y"
	queries := []spillingQuery{
		{`SELECT coalesce(k::text, 'N') || ':' || count(*) || ':' || sum(i) || ':' || min(s) || ':' || max(i) AS x FROM spill_t GROUP BY k`,
			"10008:46026655444"},
		{`SELECT s || ':' || coalesce(k::text, 'N') || ':' || count(*) || ':' || string_agg(i::text, '.' ORDER BY i) AS x FROM spill_t GROUP BY s, k`,
			"185593:855546050714"},
		{`SELECT s || ':' || count(DISTINCT k) || ':' || sum(DISTINCT k) AS x FROM spill_t GROUP BY s`,
			"977:4551871768"},
		{`SELECT count(DISTINCT k) || '|' || sum(DISTINCT k) AS x FROM spill_t`,
			"1:3499365"},
		{`SELECT DISTINCT coalesce(k::text, 'N') || s AS x FROM spill_t`,
			"185593:858054173379"},
		{`SELECT coalesce(k::text, 'N') || ':' || s AS x FROM (SELECT k, s FROM spill_t UNION SELECT i % 70000, s FROM spill_t) u`,
			"385023:1775985270296"},
	}
	checkSpillingQueries(t, c, dir, digest, queries, "HashAggregate")
	_, err := c.Exec(ctx, "SELECT count(DISTINCT k), count(DISTINCT i % 50000) FROM spill_t")
	if pgErr := wantCode(t, err, "53200"); !strings.Contains(pgErr.Detail, "in HashAggregate: the query would hold more than weft.memory_limit (1048576 bytes)") {
		t.Errorf("detail %q", pgErr.Detail)
	}
	var n int64
	if err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("the next query: %d, %v", n, err)
	}
}

// spillingQuery is a query over the spill tables and its digest from
// PostgreSQL 15.
type spillingQuery struct{ sql, want string }

// checkSpillingQueries runs each query's digest unlimited and under a 1 MB
// weft.memory_limit: the answer is PostgreSQL's both times, the operator
// named spills (EXPLAIN ANALYZE says so) only under the limit, and no
// spill file is left after either.
func checkSpillingQueries(t *testing.T, c *pgx.Conn, dir, digest string, queries []spillingQuery, operator string) {
	t.Helper()
	ctx := context.Background()
	for _, setting := range []string{"", "SET weft.memory_limit = '1MB'"} {
		if setting != "" {
			if _, err := c.Exec(ctx, setting); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range queries {
			var got string
			sql := fmt.Sprintf(digest, q.sql)
			if err := c.QueryRow(ctx, sql).Scan(&got); err != nil || got != q.want {
				t.Errorf("%s: %s: got %s, %v; want %s", setting, q.sql, got, err, q.want)
			}
			plan := explainAnalyze(t, c, sql)
			spilled := false
			for _, line := range strings.Split(plan, "\n") {
				if strings.Contains(line, operator+" ") && strings.Contains(line, "spilled=") {
					spilled = true
				}
			}
			if spilled != (setting != "") {
				t.Errorf("%s: %s: %s spilled %v:\n%s", setting, q.sql, operator, spilled, plan)
			}
			if files := spillFiles(dir); len(files) != 0 {
				t.Errorf("spill files left behind: %v", files)
			}
		}
	}
}

// TestJoinSpills: inner, left, right, full, semi, anti and NOT IN hash
// joins (residual conditions, text and int keys, NULL keys on both
// sides) give PostgreSQL's answer unlimited and under a 1 MB
// weft.memory_limit, where the join spills (EXPLAIN ANALYZE says so)
// and leaves no file. A build side of one key larger than the limit
// cannot be split: it fails with 53200 naming the join, and the
// session and another one go on. A spilling join cancelled halfway
// leaves no file.
func TestJoinSpills(t *testing.T) {
	dir := t.TempDir()
	url := startServerOpts(t, engine.Options{DataDir: dir, Partitions: 2, BatchSize: 1024})
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	other := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, sql := range []string{spillTable,
		`CREATE TABLE spill_u AS SELECT i AS j, CASE WHEN i % 17 = 0 THEN NULL ELSE (i::bigint * 104729) % 10007 END AS k,
			'name ' || (i % 977) AS s FROM generate_series(1, 150000) i`,
		"CREATE TABLE skew AS SELECT 1 AS one, repeat('x', 200) AS pad FROM generate_series(1, 20000)",
		"CREATE TABLE tiny AS SELECT 1 AS one FROM generate_series(1, 5)"} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	// how many rows x, and a sum of digits of their md5s, from
	// PostgreSQL 15 over the same tables
	const digest = "SELECT count(*) || ':' || coalesce(sum(ascii(md5(x)) * 65536 + ascii(substr(md5(x), 9)) * 256 + ascii(substr(md5(x), 17))), 0) FROM (%s) y"
	queries := []spillingQuery{
		{`SELECT t.i || ':' || u.j AS x FROM spill_t t JOIN spill_u u ON t.i = u.j + 1000 AND t.k <> u.k`,
			"130302:601366847713"},
		{`SELECT t.i || ':' || coalesce(u.j::text, 'N') AS x FROM spill_t t LEFT JOIN spill_u u ON t.s = u.s AND t.i = u.j * 2`,
			"200000:923157445084"},
		{`SELECT coalesce(t.i::text, 'N') || ':' || u.j AS x FROM spill_t t RIGHT JOIN spill_u u ON t.i = u.j + 100000`,
			"150000:692480404265"},
		{`SELECT coalesce(t.i::text, 'N') || ':' || coalesce(u.j::text, 'N') AS x FROM spill_t t FULL JOIN spill_u u ON t.k = u.j`,
			"339994:1568252263183"},
		{`SELECT t.i::text AS x FROM spill_t t WHERE EXISTS (SELECT 1 FROM spill_u u WHERE u.j = t.i * 3 AND u.s <> t.s)`,
			"49949:230156465820"},
		{`SELECT t.i::text AS x FROM spill_t t WHERE NOT EXISTS (SELECT 1 FROM spill_u u WHERE u.j = t.i - 7)`,
			"50000:230931284911"},
		{`SELECT t.i::text AS x FROM spill_t t WHERE t.k NOT IN (SELECT u.k FROM spill_u u)`,
			"0:0"},
		{`SELECT t.i::text AS x FROM spill_t t WHERE t.i NOT IN (SELECT u.j * 2 FROM spill_u u)`,
			"100000:461426320713"},
	}
	checkSpillingQueries(t, c, dir, digest, queries, "HashJoin")
	const oneKey = "SELECT count(*) FROM tiny LEFT JOIN skew ON tiny.one = skew.one"
	_, err := c.Exec(ctx, oneKey)
	if pgErr := wantCode(t, err, "53200"); !strings.Contains(pgErr.Detail, "in HashJoin: the query would hold more than weft.memory_limit (1048576 bytes)") {
		t.Errorf("detail %q", pgErr.Detail)
	}
	if files := spillFiles(dir); len(files) != 0 {
		t.Errorf("spill files left behind by the failed join: %v", files)
	}
	var n int64
	if err := other.QueryRow(ctx, oneKey).Scan(&n); err != nil || n != 100000 {
		t.Fatalf("another session: %d, %v", n, err)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("the next query: %d, %v", n, err)
	}
	// a spilling join and aggregation cancelled halfway leave no file
	if _, err := c.Exec(ctx, "SET statement_timeout = '300ms'"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "SELECT t.s, count(*) FROM spill_t t JOIN spill_u u ON t.k = u.k WHERE md5(t.s || u.s) > 'a' GROUP BY t.s, u.j")
	wantCode(t, err, "57014")
	if files := spillFiles(dir); len(files) != 0 {
		t.Errorf("spill files left behind by the cancelled join: %v", files)
	}
}
