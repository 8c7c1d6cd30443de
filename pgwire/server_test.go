package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/weftdb/weft/engine"
)

// startServer serves a fresh database on a loopback port for one test and
// checks, when the test ends, that every Arrow byte was released.
func startServer(t testing.TB) string {
	t.Helper()
	return startServerWith(t, Config{})
}

func startServerWith(t testing.TB, cfg Config) string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 2, BootstrapRole: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(db, cfg)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
		mem.AssertSize(t, 0)
	})
	return fmt.Sprintf("postgres://tester@%s/weft?sslmode=disable", ln.Addr())
}

func connect(t *testing.T, url string, mode pgx.QueryExecMode) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = mode
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

var modes = []pgx.QueryExecMode{
	pgx.QueryExecModeCacheStatement,
	pgx.QueryExecModeCacheDescribe,
	pgx.QueryExecModeDescribeExec,
	pgx.QueryExecModeExec,
	pgx.QueryExecModeSimpleProtocol,
}

// TestPgxModes drives the server with pgx in each of its execution modes
// (extended protocol with binary formats, described statements, and the
// simple protocol) and checks results, parameters and tags.
func TestPgxModes(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, `CREATE TABLE items (id bigint, name text, price numeric(8,2), ok boolean, added date, seen timestamp, ratio float8, small integer)`); err != nil {
		t.Fatal(err)
	}
	tag, err := setup.Exec(ctx, `INSERT INTO items VALUES (1, 'pen', 1.25, true, '2024-01-02', '2024-01-02 03:04:05', 0.5, 7), (2, 'ink', NULL, false, NULL, NULL, NULL, NULL)`)
	if err != nil || tag.String() != "INSERT 0 2" {
		t.Fatalf("insert: %v %v", tag, err)
	}
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			c := connect(t, url, mode)
			var (
				id    int64
				name  string
				price *string
				ok    bool
				added *time.Time
				ratio *float64
				small *int32
			)
			err := c.QueryRow(ctx, "SELECT id, name, price::text, ok, added, ratio, small FROM items WHERE id = $1", 1).Scan(&id, &name, &price, &ok, &added, &ratio, &small)
			if err != nil {
				t.Fatal(err)
			}
			if id != 1 || name != "pen" || price == nil || *price != "1.25" || !ok || added == nil || added.Format("2006-01-02") != "2024-01-02" || *ratio != 0.5 || *small != 7 {
				t.Fatalf("row: %d %s %v %v %v %v %v", id, name, price, ok, added, ratio, small)
			}
			rows, err := c.Query(ctx, "SELECT id, name FROM items WHERE name LIKE $1 ORDER BY id", "%n%")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var id int64
				var name string
				if err := rows.Scan(&id, &name); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%d %s", id, name))
			}
			if rows.Err() != nil || fmt.Sprint(got) != "[1 pen 2 ink]" {
				t.Fatalf("rows: %v %v", got, rows.Err())
			}
			var n int64
			if err := c.QueryRow(ctx, "SELECT count(*) FROM items WHERE price > $1 OR price IS NULL", 1.0).Scan(&n); err != nil || n != 2 {
				t.Fatalf("count: %d %v", n, err)
			}
			var seen time.Time
			if err := c.QueryRow(ctx, "SELECT seen FROM items WHERE id = 1").Scan(&seen); err != nil || seen.Format("2006-01-02 15:04:05") != "2024-01-02 03:04:05" {
				t.Fatalf("timestamp: %v %v", seen, err)
			}
			var numeric float64
			if err := c.QueryRow(ctx, "SELECT price FROM items WHERE id = 1").Scan(&numeric); err != nil || numeric != 1.25 {
				t.Fatalf("numeric: %v %v", numeric, err)
			}
			_, err = c.Exec(ctx, "SELECT nope FROM items")
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42703" || pgErr.Position != 8 {
				t.Fatalf("want 42703 at 8, got %v", err)
			}
			// the connection still works after an error
			if err := c.QueryRow(ctx, "SELECT 1 + $1::int", 41).Scan(&n); err != nil || n != 42 {
				t.Fatalf("after error: %d %v", n, err)
			}
		})
	}
}

func TestEmptyQueriesAndTags(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, q := range []string{"", ";", "-- ping"} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Errorf("%q: %v", q, err)
		}
	}
	for _, tt := range [][2]string{
		{"CREATE TABLE t (a int)", "CREATE TABLE"},
		{"INSERT INTO t VALUES (1), (2)", "INSERT 0 2"},
		{"UPDATE t SET a = a + 1", "UPDATE 2"},
		{"DELETE FROM t WHERE a = 2", "DELETE 1"},
		{"SELECT * FROM t", "SELECT 1"},
		{"BEGIN", "BEGIN"},
		{"COMMIT", "COMMIT"},
		{"SET application_name = 'weftest'", "SET"},
	} {
		q, want := tt[0], tt[1]
		tag, err := c.Exec(ctx, q)
		if err != nil || tag.String() != want {
			t.Errorf("%s: got %q, %v; want %q", q, tag, err, want)
		}
	}
}

// TestFailedTransactionBlock walks a block through failure and recovery
// in both protocols, checking each statement's tag or SQLSTATE and the
// status ReadyForQuery reports after it.
func TestFailedTransactionBlock(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	steps := []struct {
		sql, tag, code string
		status         byte
	}{
		{"CREATE TABLE fb (a int)", "CREATE TABLE", "", 'I'},
		{"BEGIN", "BEGIN", "", 'T'},
		{"INSERT INTO fb VALUES (1)", "INSERT 0 1", "", 'T'},
		{"SAVEPOINT s", "SAVEPOINT", "", 'T'},
		{"INSERT INTO fb VALUES (2)", "INSERT 0 1", "", 'T'},
		{"SELECT 1/0", "", "22012", 'E'},
		{"SELECT 1", "", "25P02", 'E'},
		{"RELEASE SAVEPOINT s", "", "25P02", 'E'},
		{"ROLLBACK TO SAVEPOINT s", "ROLLBACK", "", 'T'},
		{"INSERT INTO fb VALUES (3)", "INSERT 0 1", "", 'T'},
		{"COMMIT", "COMMIT", "", 'I'},
		{"BEGIN", "BEGIN", "", 'T'},
		{"DELETE FROM fb", "DELETE 2", "", 'T'},
		{"SELECT * FROM no_such_table", "", "42P01", 'E'},
		{"COMMIT", "ROLLBACK", "", 'I'}, // a failed block cannot commit
		{"SELECT a FROM fb", "SELECT 2", "", 'I'},
		{"DROP TABLE fb", "DROP TABLE", "", 'I'},
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		c := connect(t, url, mode)
		for _, st := range steps {
			tag, err := c.Exec(ctx, st.sql)
			var pgErr *pgconn.PgError
			switch {
			case st.code == "" && err != nil:
				t.Errorf("mode %v: %s: %v", mode, st.sql, err)
			case st.code == "" && tag.String() != st.tag:
				t.Errorf("mode %v: %s: tag %q, want %q", mode, st.sql, tag, st.tag)
			case st.code != "" && (!errors.As(err, &pgErr) || pgErr.Code != st.code):
				t.Errorf("mode %v: %s: got %v, want SQLSTATE %s", mode, st.sql, err, st.code)
			}
			if got := c.PgConn().TxStatus(); got != st.status {
				t.Errorf("mode %v: after %s: status %c, want %c", mode, st.sql, got, st.status)
			}
		}
	}
}

func TestCancelRequest(t *testing.T) {
	url := startServer(t)
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Exec(ctx, "SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 100) b")
	if err == nil {
		t.Fatal("want the query to be cancelled")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("cancel took %s", time.Since(start))
	}
}

// TestCopy moves rows in with pgx's CopyFrom (binary COPY) and with text
// and CSV, and out again as CSV with a header.
func TestCopy(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "CREATE TABLE m (id bigint, name varchar(5), at date, x float8)"); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)
	n, err := c.CopyFrom(ctx, pgx.Identifier{"m"}, []string{"id", "name", "at", "x"}, pgx.CopyFromRows([][]any{
		{int64(1), "one", day, 1.5}, {int64(2), nil, nil, nil},
	}))
	if err != nil || n != 2 {
		t.Fatalf("CopyFrom: %d %v", n, err)
	}
	pc := c.PgConn()
	tag, err := pc.CopyFrom(ctx, strings.NewReader("3\tthree\t2024-05-07\t2.5\n4\t\\N\t\\N\t\\N\n"), "COPY m FROM STDIN")
	if err != nil || tag.String() != "COPY 2" {
		t.Fatalf("text COPY: %v %v", tag, err)
	}
	tag, err = pc.CopyFrom(ctx, strings.NewReader("id,name,at,x\n5,\"six,six\",,\n"), "COPY m FROM STDIN WITH (FORMAT csv, HEADER true)")
	if err == nil {
		t.Fatalf("a value too long for varchar(5) must fail the COPY, got %v", tag)
	}
	tag, err = pc.CopyFrom(ctx, strings.NewReader("id,name,at,x\n5,\"f,v\",,\n"), "COPY m FROM STDIN WITH (FORMAT csv, HEADER true, FREEZE)")
	if err != nil || tag.String() != "COPY 1" {
		t.Fatalf("csv COPY … FREEZE (pgbench -i asks for it): %v %v", tag, err)
	}
	var out strings.Builder
	tag, err = pc.CopyTo(ctx, &out, "COPY (SELECT id, name, at, x FROM m ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)")
	want := "id,name,at,x\n1,one,2024-05-06,1.5\n2,,,\n3,three,2024-05-07,2.5\n4,,,\n5,\"f,v\",,\n"
	if err != nil || tag.String() != "COPY 5" || out.String() != want {
		t.Fatalf("COPY TO: %v %v\n%q\nwant\n%q", tag, err, out.String(), want)
	}
}

// TestTLS checks that a client requiring TLS gets it from the generated
// self-signed certificate, and that plain-text clients still connect.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cfg, err := LoadOrCreateTLS(dir+"/server.crt", dir+"/server.key")
	if err != nil {
		t.Fatal(err)
	}
	url := startServerWith(t, Config{TLS: cfg})
	ctx := context.Background()
	for _, mode := range []string{"require", "disable", "prefer"} {
		c, err := pgx.Connect(ctx, strings.Replace(url, "sslmode=disable", "sslmode="+mode, 1))
		if err != nil {
			t.Fatalf("sslmode=%s: %v", mode, err)
		}
		_, isTLS := c.PgConn().Conn().(*tls.Conn)
		if isTLS != (mode != "disable") {
			t.Errorf("sslmode=%s: TLS %v", mode, isTLS)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
			t.Errorf("sslmode=%s: %d %v", mode, n, err)
		}
		c.Close(ctx)
	}
	// the certificate is reused, not regenerated
	if _, err := LoadOrCreateTLS(dir+"/server.crt", dir+"/server.key"); err != nil {
		t.Fatal(err)
	}
}

// TestPsqlCatalogQueries runs the catalog queries psql sends for \dt and
// \df (as captured from psql 15) and checks the answers.
func TestPsqlCatalogQueries(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, "CREATE TABLE items (id bigint NOT NULL, name varchar(20)); CREATE VIEW v AS SELECT id FROM items"); err != nil {
		t.Fatal(err)
	}
	rows, err := c.Query(ctx, `SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var schema, name, kind, owner string
		if err := rows.Scan(&schema, &name, &kind, &owner); err != nil {
			t.Fatal(err)
		}
		got = append(got, schema+"."+name+":"+kind)
	}
	if fmt.Sprint(got) != "[public.items:table public.v:view]" {
		t.Fatalf(`\d: %v (%v)`, got, rows.Err())
	}
	var typ string
	if err := c.QueryRow(ctx, `SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = 'items' AND a.attnum = 2`).Scan(&typ); err != nil || typ != "character varying(20)" {
		t.Fatalf("format_type: %q %v", typ, err)
	}
}

// TestParameterStatusOnSet checks that changing a reported setting tells
// the client, as PostgreSQL does.
func TestParameterStatusOnSet(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	// (values as PostgreSQL 15 reports them; names as it spells them)
	for _, tc := range []struct{ set, name, want string }{
		{"SET application_name = 'reporter'", "application_name", "reporter"},
		{"SET DateStyle = 'ISO, DMY'", "DateStyle", "ISO, DMY"},
		{"SET intervalstyle = 'sql_standard'", "IntervalStyle", "sql_standard"},
		{"SET TIME ZONE 'Europe/Paris'", "TimeZone", "Europe/Paris"},
	} {
		if _, err := c.Exec(ctx, tc.set); err != nil {
			t.Fatal(err)
		}
		if got := c.PgConn().ParameterStatus(tc.name); got != tc.want {
			t.Errorf("after %s the client sees %s %q, want %q", tc.set, tc.name, got, tc.want)
		}
	}
}

// TestTransactions uses pgx's transaction API: rollback undoes, savepoints
// (pgx's nested transactions) undo part of a block, commit keeps.
func TestTransactions(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "CREATE TABLE acct (id int, bal int)"); err != nil {
		t.Fatal(err)
	}
	c.Exec(ctx, "INSERT INTO acct VALUES (1, 100), (2, 50)")
	sum := func() int {
		var n int
		if err := c.QueryRow(ctx, "SELECT sum(bal) FROM acct").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx.Exec(ctx, "UPDATE acct SET bal = bal - 30 WHERE id = $1", 1)
	tx.Exec(ctx, "INSERT INTO acct VALUES ($1, $2)", 3, 999)
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sum(); got != 150 {
		t.Fatalf("after rollback: %d", got)
	}
	tx, _ = c.Begin(ctx)
	tx.Exec(ctx, "UPDATE acct SET bal = bal + 10 WHERE id = 1")
	nested, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		t.Fatal(err)
	}
	nested.Exec(ctx, "DELETE FROM acct")
	nested.Rollback(ctx)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sum(); got != 160 {
		t.Fatalf("after savepoint rollback and commit: %d", got)
	}
	// an error fails the block; COMMIT then rolls back
	tx, _ = c.Begin(ctx)
	tx.Exec(ctx, "UPDATE acct SET bal = 0")
	if _, err := tx.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("want an error")
	}
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("commit of a failed block must report the rollback")
	}
	if got := sum(); got != 160 {
		t.Fatalf("after a failed block: %d", got)
	}
}

// TestInsertReturning: INSERT … RETURNING gives the written rows back in
// every pgx execution mode, the way ORMs read generated values.
func TestInsertReturning(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE r (id bigint, name text DEFAULT 'anon')"); err != nil {
		t.Fatal(err)
	}
	for i, mode := range modes {
		c := connect(t, url, mode)
		var id int64
		var name string
		if err := c.QueryRow(ctx, "INSERT INTO r (id) VALUES ($1) RETURNING id * 2, name", int64(i+1)).Scan(&id, &name); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if id != int64(2*(i+1)) || name != "anon" {
			t.Errorf("mode %v: RETURNING gave %d, %q", mode, id, name)
		}
		tag, err := c.Exec(ctx, "INSERT INTO r VALUES (100, 'x'), (101, 'y') RETURNING *")
		if err != nil || tag.String() != "INSERT 0 2" {
			t.Errorf("mode %v: tag %q, %v", mode, tag, err)
		}
	}
	var n int64
	if err := setup.QueryRow(ctx, "SELECT count(*) FROM r").Scan(&n); err != nil || n != int64(3*len(modes)) {
		t.Errorf("rows: %d, %v", n, err)
	}
}

// TestPgxPool: a pgxpool shared by 20 goroutines, each running a mix of
// parameterized reads and writes, sees consistent answers.
func TestPgxPool(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE TABLE p (g int, v bigint)"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 1; i <= 25; i++ {
				if _, err := pool.Exec(ctx, "INSERT INTO p VALUES ($1, $2)", g, int64(i)); err != nil {
					errs <- err
					return
				}
				var n, sum int64
				if err := pool.QueryRow(ctx, "SELECT count(*), coalesce(sum(v), 0)::bigint FROM p WHERE g = $1", g).Scan(&n, &sum); err != nil {
					errs <- err
					return
				}
				if n != int64(i) || sum != int64(i*(i+1)/2) {
					errs <- fmt.Errorf("goroutine %d after %d inserts saw %d rows summing to %d", g, i, n, sum)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM p").Scan(&total); err != nil || total != 500 {
		t.Errorf("total %d, %v", total, err)
	}
}

// TestUUIDFormats: uuid parameters and results in text and binary, in
// every pgx execution mode.
func TestUUIDFormats(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE ids (id uuid, n int)"); err != nil {
		t.Fatal(err)
	}
	for i, mode := range modes {
		c := connect(t, url, mode)
		want := [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, byte(i)}
		// a string parameter: the exec and simple-protocol modes send it as
		// text of an unknown type, the others as the uuid the server infers
		if _, err := c.Exec(ctx, "INSERT INTO ids VALUES ($1, $2)", fmt.Sprintf("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a%02x", i), i); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		var got [16]byte
		var text string
		if err := c.QueryRow(ctx, "SELECT id, id::text FROM ids WHERE n = $1", i).Scan(&got, &text); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if got != want || text != fmt.Sprintf("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a%02x", i) {
			t.Errorf("mode %v: got %x / %s", mode, got, text)
		}
	}
}

// TestUUIDBinaryParameter: a uuid parameter sent in binary (pgx's
// [16]byte for a described uuid) arrives intact.
func TestUUIDBinaryParameter(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "CREATE TABLE ids (id uuid)"); err != nil {
		t.Fatal(err)
	}
	want := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if _, err := c.Exec(ctx, "INSERT INTO ids VALUES ($1)", want); err != nil {
		t.Fatal(err)
	}
	var text string
	if err := c.QueryRow(ctx, "SELECT id::text FROM ids WHERE id = $1", want).Scan(&text); err != nil || text != "01020304-0506-0708-090a-0b0c0d0e0f10" {
		t.Errorf("got %q, %v", text, err)
	}
}

// TestArrays: array columns, parameters and results in text and binary
// formats, in every pgx execution mode.
func TestArrays(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE arr (id int, nums int[], tags text[], vals float8[])"); err != nil {
		t.Fatal(err)
	}
	for i, mode := range modes {
		c := connect(t, url, mode)
		nums := []int32{int32(i), 2, 3}
		tags := []string{"a b", "", "NULL", `q"uote`}
		if _, err := c.Exec(ctx, "INSERT INTO arr VALUES ($1, $2, $3, ARRAY[1.5, 2.5])", i, nums, tags); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		var gotNums []int32
		var gotTags []string
		var vals []float64
		var n int32
		if err := c.QueryRow(ctx, "SELECT nums, tags, vals, cardinality(tags) FROM arr WHERE id = $1", i).Scan(&gotNums, &gotTags, &vals, &n); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if fmt.Sprint(gotNums) != fmt.Sprint(nums) || fmt.Sprintf("%q", gotTags) != fmt.Sprintf("%q", tags) || fmt.Sprint(vals) != "[1.5 2.5]" || n != 4 {
			t.Errorf("mode %v: got %v %q %v %d", mode, gotNums, gotTags, vals, n)
		}
		var hit int32
		if err := c.QueryRow(ctx, "SELECT count(*)::int FROM arr WHERE $1 = ANY(nums)", int32(3)).Scan(&hit); err != nil || hit != int32(i+1) {
			t.Errorf("mode %v: ANY over a column: %d, %v", mode, hit, err)
		}
	}
	for _, mode := range modes {
		c := connect(t, url, mode)
		var n int32
		if err := c.QueryRow(ctx, "SELECT count(*)::int FROM arr WHERE id = ANY($1)", []int32{0, 2, 99}).Scan(&n); err != nil || n != 2 {
			t.Errorf("mode %v: id = ANY($1): %d, %v", mode, n, err)
		}
	}
	var withNull []*int32
	if err := setup.QueryRow(ctx, "SELECT ARRAY[1, NULL, 3]").Scan(&withNull); err != nil || len(withNull) != 3 || withNull[1] != nil || *withNull[2] != 3 {
		t.Errorf("NULL element: %v, %v", withNull, err)
	}
}

// TestSessionIdentity: current_user is the connecting role and
// pg_backend_pid() the process id the client was given.
func TestSessionIdentity(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	var user, session string
	var pid int32
	if err := c.QueryRow(ctx, "SELECT current_user, session_user, pg_backend_pid()").Scan(&user, &session, &pid); err != nil {
		t.Fatal(err)
	}
	if user != "tester" || session != "tester" || uint32(pid) != c.PgConn().PID() {
		t.Errorf("got %q %q %d, want tester tester %d", user, session, pid, c.PgConn().PID())
	}
}

// TestJSONFormats stores a Go map as jsonb and json through pgx in every
// exec mode (binary jsonb carries a version byte) and reads the documents
// and members back.
func TestJSONFormats(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE docs (n int, j jsonb, raw json)"); err != nil {
		t.Fatal(err)
	}
	for i, mode := range modes {
		c := connect(t, url, mode)
		var doc, probe any = map[string]any{"name": "weft", "n": i, "tags": []string{"a", "b"}}, map[string]any{"tags": []string{"b"}}
		if mode == pgx.QueryExecModeExec || mode == pgx.QueryExecModeSimpleProtocol {
			// without a statement description pgx cannot encode a map
			// (against PostgreSQL too): send the documents' text
			doc, probe = fmt.Sprintf(`{"name": "weft", "n": %d, "tags": ["a", "b"]}`, i), `{"tags": ["b"]}`
		}
		if _, err := c.Exec(ctx, "INSERT INTO docs VALUES ($1, $2, $3)", i, doc, doc); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		var got, raw map[string]any
		var name string
		var tags int
		err := c.QueryRow(ctx, "SELECT j, raw, j ->> 'name', jsonb_array_length(j -> 'tags') FROM docs WHERE n = $1 AND j @> $2",
			i, probe).Scan(&got, &raw, &name, &tags)
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if got["name"] != "weft" || got["n"] != float64(i) || raw["name"] != "weft" || name != "weft" || tags != 2 {
			t.Errorf("mode %v: got %v / %v / %s / %d", mode, got, raw, name, tags)
		}
	}
	var text string
	if err := setup.QueryRow(ctx, "SELECT j::text FROM docs WHERE n = 0").Scan(&text); err != nil || text != `{"n": 0, "name": "weft", "tags": ["a", "b"]}` {
		t.Errorf("jsonb text: %q, %v", text, err)
	}
}

// TestUserTypesThroughPgx reads an enum, an enum array, a domain and inet
// values through pgx in every exec mode (binary where pgx asks for it)
// and sends them back as parameters.
func TestUserTypesThroughPgx(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE DOMAIN posint AS int CHECK (VALUE > 0);
		CREATE TABLE m (n int, mood mood, moods mood[], p posint, ip inet)`); err != nil {
		t.Fatal(err)
	}
	for i, mode := range modes {
		c := connect(t, url, mode)
		if _, err := c.Exec(ctx, "INSERT INTO m VALUES ($1, $2, $3, $4, $5)", i, "happy", "{sad,ok}", i+1, "10.1.2.3/16"); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		var mood, moods, ip string
		var p int
		var addr netip.Prefix
		err := c.QueryRow(ctx, "SELECT mood::text, moods::text, p, ip::text, ip FROM m WHERE n = $1 AND mood > $2", i, "ok").Scan(&mood, &moods, &p, &ip, &addr)
		if err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if mood != "happy" || moods != "{sad,ok}" || p != i+1 || ip != "10.1.2.3/16" || addr.String() != "10.1.2.3/16" {
			t.Errorf("mode %v: got %s %s %d %s %s", mode, mood, moods, p, ip, addr)
		}
	}
	var rejected *pgconn.PgError
	if _, err := setup.Exec(ctx, "INSERT INTO m (p) VALUES (0)"); !errors.As(err, &rejected) || rejected.Code != "23514" {
		t.Errorf("domain check: %v", err)
	}
}

// TestUpsert runs a counter upsert with parameters in every pgx exec mode.
func TestUpsert(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := setup.Exec(ctx, "CREATE TABLE hits (page text PRIMARY KEY, n int NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range modes {
		c := connect(t, url, mode)
		for i := 0; i < 3; i++ {
			tag, err := c.Exec(ctx, "INSERT INTO hits VALUES ($1, $2) ON CONFLICT (page) DO UPDATE SET n = hits.n + EXCLUDED.n", "/home", 1)
			if err != nil || tag.String() != "INSERT 0 1" {
				t.Fatalf("mode %v: %v %v", mode, tag, err)
			}
		}
	}
	var n int
	if err := setup.QueryRow(ctx, "SELECT n FROM hits WHERE page = '/home'").Scan(&n); err != nil || n != 3*len(modes) {
		t.Errorf("counter = %d, %v; want %d", n, err, 3*len(modes))
	}
}

// TestCopyFromFillsDefaults: pgx's CopyFrom with a column list (binary
// COPY) leaves a serial key and a defaulted column to their defaults.
func TestCopyFromFillsDefaults(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeCacheStatement)
	if _, err := c.Exec(ctx, "CREATE TABLE people (id bigserial PRIMARY KEY, name text, kind text DEFAULT 'person')"); err != nil {
		t.Fatal(err)
	}
	n, err := c.CopyFrom(ctx, pgx.Identifier{"people"}, []string{"name"}, pgx.CopyFromRows([][]any{{"ann"}, {"bob"}, {"cy"}}))
	if err != nil || n != 3 {
		t.Fatalf("CopyFrom: %d, %v", n, err)
	}
	var ids, kinds string
	if err := c.QueryRow(ctx, "SELECT string_agg(id::text, ',' ORDER BY id), string_agg(DISTINCT kind, ',') FROM people").Scan(&ids, &kinds); err != nil || ids != "1,2,3" || kinds != "person" {
		t.Errorf("ids %q kinds %q, %v", ids, kinds, err)
	}
}

// TestFailedCopyStartKeepsTheConnection: pgx sends its COPY data without
// waiting for CopyInResponse; when the COPY fails before it begins (no
// such table) the data that follows is ignored, as PostgreSQL ignores it,
// and the connection goes on (it waited for a Sync that never came).
func TestFailedCopyStartKeepsTheConnection(t *testing.T) {
	url := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	pc := c.PgConn()
	for range 3 {
		_, err := pc.CopyFrom(ctx, strings.NewReader("1\n2\n"), "COPY nosuch FROM STDIN")
		if pe, ok := err.(*pgconn.PgError); !ok || pe.Code != "42P01" {
			t.Fatalf("COPY into a missing table: %v, want 42P01", err)
		}
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 41 + 1").Scan(&n); err != nil || n != 42 {
		t.Fatalf("after the failed COPYs: %d %v", n, err)
	}
}
