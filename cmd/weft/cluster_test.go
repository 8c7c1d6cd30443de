package main

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestServeWithWorkers runs the whole command line: two `weft worker`
// processes and `weft serve --workers` reading one data directory, a
// client over the PostgreSQL protocol.
func TestServeWithWorkers(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "weft")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	var addrs []string
	for range 2 {
		addrs = append(addrs, startProcess(t, bin, "weft worker: listening on ", "worker", "--listen", "127.0.0.1:0", "--data", dir, "--udf-cache", ""))
	}
	listen := freeAddr(t)
	startProcess(t, bin, "weft: ", "serve", "--listen", listen, "--no-tls", "--data", dir, "--udf-cache", "", "--partitions", "4",
		"--workers", strings.Join(addrs, ","), "--worker-timeout", "2s")
	ctx := context.Background()
	var conn *pgconn.PgConn
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err = pgconn.Connect(ctx, "postgres://weft@"+listen+"/weft?sslmode=disable"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	query := func(sql string) string {
		t.Helper()
		res, err := conn.Exec(ctx, sql).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		var lines []string
		for _, r := range res {
			for _, row := range r.Rows {
				var vals []string
				for _, v := range row {
					vals = append(vals, string(v))
				}
				lines = append(lines, strings.Join(vals, "|"))
			}
		}
		return strings.Join(lines, "\n")
	}
	query("CREATE TABLE t (a int, b text)")
	query("INSERT INTO t SELECT i, 'v' || (i % 3) FROM generate_series(1, 10000) i")
	if got := query("SELECT address, state FROM weft.workers ORDER BY address"); strings.Count(got, "|up") != 2 {
		t.Fatalf("weft.workers: %s, want both workers up", got)
	}
	if plan := query("EXPLAIN SELECT b, count(*), sum(a) FROM t GROUP BY b"); !strings.Contains(plan, "Remote (workers=2") {
		t.Errorf("the aggregation does not run on the workers:\n%s", plan)
	}
	// (PostgreSQL's answer)
	if got, want := query("SELECT b, count(*), sum(a) FROM t GROUP BY b ORDER BY b"), "v0|3333|16668333\nv1|3334|16671667\nv2|3333|16665000"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// startProcess runs bin with args until the test ends and waits for a
// line of its stderr starting with ready; it returns the rest of the
// line's first word (a worker's address).
func startProcess(t *testing.T, bin, ready string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), ready); ok {
				select {
				case found <- strings.Fields(rest + " ")[0]:
				default:
				}
			}
		}
	}()
	select {
	case s := <-found:
		return s
	case <-time.After(60 * time.Second):
		t.Fatalf("%s %v did not start within a minute", bin, args)
		return ""
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
