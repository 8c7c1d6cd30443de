package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// pgbenchConfig runs PostgreSQL's pgbench against a weft server and a
// PostgreSQL 15 started here, one after the other in the same sitting:
// TPC-B (with serialization failures retried, as Weft's blocks are
// first-committer-wins) and select-only.
type pgbenchConfig struct {
	weftBin  string
	scale    int
	clients  int
	duration time.Duration
}

func runPgbench(cfg pgbenchConfig) error {
	pgBin, err := postgresBin()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "weft-pgbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755) // PostgreSQL's own user reaches its directory through it

	weftPort, pgPort := freePort(), freePort()
	srv := exec.Command(cfg.weftBin, "serve", "--data", filepath.Join(work, "weft"), "--listen", fmt.Sprintf("127.0.0.1:%d", weftPort), "--no-tls")
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	stopPG, err := startPostgres(pgBin, filepath.Join(work, "pg"), pgPort)
	if err != nil {
		return err
	}
	defer stopPG()

	fmt.Printf("pgbench scale %d, %d clients, %s per run\n", cfg.scale, cfg.clients, cfg.duration)
	fmt.Printf("%-14s %12s %12s %8s\n", "run", "Weft TPS", "PG TPS", "ratio")
	targets := []struct {
		name, user, db string
		port           int
	}{{"weft", "weft", "weft", weftPort}, {"postgres", "postgres", "postgres", pgPort}}
	for _, tg := range targets {
		if _, err := pgbench(pgBin, tg.port, tg.user, tg.db, "-i", "-q", "-s", strconv.Itoa(cfg.scale)); err != nil {
			return fmt.Errorf("%s: pgbench -i: %w", tg.name, err)
		}
	}
	secs := strconv.Itoa(int(cfg.duration.Seconds()))
	clients, threads := strconv.Itoa(cfg.clients), strconv.Itoa(min(cfg.clients, 2))
	for _, run := range []struct {
		name string
		args []string
	}{
		{"TPC-B", []string{"-c", clients, "-j", threads, "-T", secs, "--max-tries", "100"}},
		{"select-only", []string{"-S", "-c", clients, "-j", threads, "-T", secs}},
	} {
		var tps [2]float64
		for i, tg := range targets {
			out, err := pgbench(pgBin, tg.port, tg.user, tg.db, run.args...)
			if err != nil {
				return fmt.Errorf("%s: %s: %w\n%s", tg.name, run.name, err, out)
			}
			tps[i] = parseTPS(out)
		}
		fmt.Printf("%-14s %12.1f %12.1f %8.2f\n", run.name, tps[0], tps[1], tps[0]/tps[1])
	}
	return nil
}

func pgbench(bin string, port int, user, db string, args ...string) (string, error) {
	all := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", user}, append(args, db)...)
	cmd := exec.Command(filepath.Join(bin, "pgbench"), all...)
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+)`)

func parseTPS(out string) float64 {
	m := tpsLine.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// postgresBin is the newest installed PostgreSQL's binary directory.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: run `make tools`")
}

// startPostgres initializes and starts a throwaway server (as the
// current user, or as postgres when running as root).
func startPostgres(bin, dir string, port int) (func(), error) {
	asUser := func(name string, args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			return exec.Command("su", "postgres", "-s", "/bin/sh", "-c", shellQuote(append([]string{filepath.Join(bin, name)}, args...)))
		}
		return exec.Command(filepath.Join(bin, name), args...)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := exec.Command("chown", "postgres", dir).Run(); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := asUser("initdb", "-D", data, "-A", "trust", "-U", "postgres").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dir)
	if out, err := asUser("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	return func() { asUser("pg_ctl", "-D", data, "-m", "immediate", "stop").Run() }, nil
}

func shellQuote(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += "'" + a + "'"
	}
	return out
}

func freePort() int {
	addr, err := freeAddr()
	if err != nil {
		return 0
	}
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
