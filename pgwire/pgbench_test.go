package pgwire

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/weftdb/weft/engine"
)

// pgbenchPath finds PostgreSQL's pgbench (postgresql-15, which `make
// tools` installs); without it the test is skipped, unless
// WEFT_REQUIRE_POSTGRES is set (CI).
func pgbenchPath(t *testing.T) string {
	t.Helper()
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	sort.Strings(found)
	if len(found) == 0 {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatal("pgbench is not installed; run `make tools`")
		}
		t.Skip("pgbench is not installed (`make tools` installs it)")
	}
	return found[len(found)-1]
}

// serveDir serves a durable database in dir; the returned function stops
// the server and closes the database.
func serveDir(t *testing.T, dir string, mem memory.Allocator) (addr string, stop func()) {
	t.Helper()
	return serveOpts(t, engine.Options{DataDir: dir, Partitions: 2}, mem)
}

// serveOpts serves a database opened with opts (its allocator mem, its
// superuser "tester"); stop stops the server and closes the database.
func serveOpts(t *testing.T, opts engine.Options, mem memory.Allocator) (addr string, stop func()) {
	t.Helper()
	opts.Mem, opts.BootstrapRole = mem, "tester"
	db, err := engine.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(db, Config{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return ln.Addr().String(), func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	}
}

// TestPgbench: pgbench's own initialization (COPY, ALTER TABLE … ADD
// PRIMARY KEY, VACUUM) and a bounded TPC-B run of 4 clients, retrying
// serialization failures as pgbench does, leave the four balances in
// agreement (every transfer's amount in accounts, tellers, branches and
// history alike), also after a restart.
func TestPgbench(t *testing.T) {
	bin := pgbenchPath(t)
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	addr, stop := serveDir(t, dir, mem)
	host, port, _ := net.SplitHostPort(addr)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-h", host, "-p", port, "-U", "tester"}, append(args, "weft")...)...)
		cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pgbench %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("-i", "-s", "1", "-q")
	out := run("-c", "4", "-j", "2", "-t", "40", "--max-tries", "1000")
	if m := regexp.MustCompile(`number of transactions actually processed: (\d+)`).FindStringSubmatch(out); m == nil || m[1] != "160" {
		t.Errorf("pgbench did not complete its 160 transactions:\n%s", out)
	}
	if !strings.Contains(out, "number of failed transactions: 0 ") {
		t.Errorf("transactions failed:\n%s", out)
	}
	sums := func() string {
		c, err := pgx.Connect(context.Background(), fmt.Sprintf("postgres://tester@%s/weft?sslmode=disable", addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		var a, b, tl, h, n int64
		err = c.QueryRow(context.Background(), `SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches),
			(SELECT sum(tbalance) FROM pgbench_tellers), (SELECT coalesce(sum(delta), 0) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)`).Scan(&a, &b, &tl, &h, &n)
		if err != nil {
			t.Fatal(err)
		}
		if a != b || b != tl || tl != h || n != 160 {
			t.Errorf("balances disagree: accounts %d, branches %d, tellers %d, history %d over %d rows (want 160)", a, b, tl, h, n)
		}
		return fmt.Sprint(a, n)
	}
	before := sums()
	stop()
	mem.AssertSize(t, 0)
	addr, stop = serveDir(t, dir, memory.NewGoAllocator())
	defer stop()
	if after := sums(); after != before {
		t.Errorf("after a restart: %s, before %s", after, before)
	}
}
