// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// into a temporary directory, a loopback port, stopped when the test ends.
// It uses the server binaries of Debian's postgresql package (`make tools`
// installs it); without them a test is skipped unless
// WEFT_REQUIRE_POSTGRES is set (as CI sets it), when it fails instead.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Start runs a server and returns a connection string for its superuser
// "weft" on database "postgres".
func Start(t testing.TB) string {
	t.Helper()
	if serverBin() == "" {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatal("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin); run `make tools`")
		}
		t.Skip("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin); `make tools` installs them")
	}
	url, stop, err := StartServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url
}

// StartServer is Start for programs (the differential tester): it returns
// the connection string and a function that stops the server and removes
// its files.
func StartServer() (string, func(), error) {
	bin := serverBin()
	if bin == "" {
		return "", nil, fmt.Errorf("PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin); run `make tools`")
	}
	dir, err := os.MkdirTemp("", "weft-pg-")
	if err != nil {
		return "", nil, err
	}
	cred, err := credential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return fmt.Errorf("%s: %v\n%s\n%s", name, err, out, log)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "weft", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", port, dir)
	if err := run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts, "-w", "-t", "60", "start"); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Run()
		os.RemoveAll(dir)
	}
	return fmt.Sprintf("postgres://weft@127.0.0.1:%d/postgres?sslmode=disable", port), stop, nil
}

// serverBin finds the newest installed server's binaries.
func serverBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// credential runs the server as the postgres user when the tests run as
// root (the server refuses to run as root), handing it dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no postgres user to run the server as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port")
}
