package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdb/weft/engine"
)

// dirHashes maps every file under dir to a hash of its contents.
func dirHashes(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(path)
		fmt.Fprintf(&b, "%s %x\n", path, sha256.Sum256(raw))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestCheckCommand runs `weft check` on a sound directory (exit 0, every
// file ok), then on the same directory with a damaged segment and a log
// entry with a flipped byte (exit 1, naming both), and shows it changed
// nothing either time.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	db, err := engine.Open(engine.Options{DataDir: dir, Partitions: 2, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	s := db.NewSession()
	for _, sql := range []string{
		"CREATE TABLE t (a int, b text)",
		"INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g",
		"CHECKPOINT",
		"INSERT INTO t VALUES (1, 'logged')",
	} {
		rs, err := s.Exec(context.Background(), sql)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// keep the log's entry: a copy of the directory as a crash leaves it
	image := t.TempDir()
	copyTree(t, dir, image)
	db.Close()
	dir = image

	check := func(wantCode int, want ...string) string {
		t.Helper()
		before := dirHashes(t, dir)
		var out, errOut strings.Builder
		if code := runCheck([]string{"--data", dir}, &out, &errOut); code != wantCode {
			t.Errorf("exit %d, want %d\n%s%s", code, wantCode, out.String(), errOut.String())
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("output lacks %q:\n%s", w, out.String())
			}
		}
		if dirHashes(t, dir) != before {
			t.Error("weft check changed the directory")
		}
		return out.String()
	}
	out := check(0, "catalog.json: ok, checksum matches", "table public.t, 100 rows, checksum matches", "wal.log: ok", "1 entries with 1 rows", " 0 problems")
	if strings.Contains(out, "DAMAGED") {
		t.Errorf("a sound directory reported damage:\n%s", out)
	}

	segs, _ := filepath.Glob(filepath.Join(dir, "data", "*", "*.arrow"))
	if len(segs) == 0 {
		t.Fatal("no segment files")
	}
	flipByte(t, segs[0], 300)
	flipByte(t, filepath.Join(dir, "wal.log"), 60)
	rel, _ := filepath.Rel(dir, segs[0])
	check(1, rel+": DAMAGED", "XX001", "wal.log: DAMAGED", "2 problems")

	var errOut strings.Builder
	if code := runCheck([]string{"--data", filepath.Join(dir, "nope")}, &strings.Builder{}, &errOut); code != 2 {
		t.Errorf("a missing directory: exit %d, want 2 (%s)", code, errOut.String())
	}
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[off] ^= 0xff
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUnknownCommandIsRefused(t *testing.T) {
	var stderr strings.Builder
	if knownArgs([]string{"sever", "--listen", "x"}, &stderr) {
		t.Fatal("an unknown subcommand was accepted")
	}
	if !strings.Contains(stderr.String(), `unknown command "sever"`) {
		t.Fatalf("message: %q", stderr.String())
	}
	if !knownArgs(nil, &stderr) {
		t.Fatal("no arguments must open the shell")
	}
}

func TestGoMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		limit int64
		env   string
		want  int64
	}{
		{0, "", 9 << 30},                  // no --memory-limit: the default budget and an eighth
		{-1, "", 0},                       // --memory-limit 0: no limit
		{1 << 30, "", 1<<30 + 1<<28},      // a quarter more
		{128 << 20, "", 128<<20 + 64<<20}, // at least 64 MiB more
		{1 << 30, "2GiB", 0},              // GOMEMLIMIT set: left alone
		{0, "2GiB", 0},                    // (also without --memory-limit)
	} {
		if got := goMemoryLimit(c.limit, 8<<30, c.env); got != c.want {
			t.Errorf("goMemoryLimit(%d, 8 GiB, %q) = %d, want %d", c.limit, c.env, got, c.want)
		}
	}
	// a machine of unknown size: no default budget, no limit
	if got := goMemoryLimit(0, 0, ""); got != 0 {
		t.Errorf("goMemoryLimit(0, 0, \"\") = %d, want 0", got)
	}
}

func TestGoGCPercent(t *testing.T) {
	for _, c := range []struct {
		soft          int64
		memEnv, gcEnv string
		want          int
	}{
		{8 << 30, "", "", serverGCPercent}, // a limit bounds the heap
		{0, "4GiB", "", serverGCPercent},   // the environment's limit
		{0, "", "", 0},                     // no limit: the runtime's default
		{8 << 30, "", "150", 0},            // GOGC set: left alone
		{0, "4GiB", "off", 0},
	} {
		if got := goGCPercent(c.soft, c.memEnv, c.gcEnv); got != c.want {
			t.Errorf("goGCPercent(%d, %q, %q) = %d, want %d", c.soft, c.memEnv, c.gcEnv, got, c.want)
		}
	}
}
