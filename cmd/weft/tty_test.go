package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShellInTerminal drives the real binary in a tmux terminal, as a
// person would: readline prompt, a query, Ctrl-C cancelling a long query
// without leaving the shell, history (up arrow), and \q.
func TestShellInTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed (make tools)")
	}
	bin := filepath.Join(t.TempDir(), "weft")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	session := fmt.Sprintf("weft-test-%d", os.Getpid())
	home := t.TempDir()
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "env", "HOME="+home, bin, "-udf-cache", "", "-data", ":memory:")
	defer exec.Command("tmux", "kill-session", "-t", session).Run()
	screen := func() string { return tmux("capture-pane", "-p", "-t", session) }
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(screen(), want) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", want, screen())
	}
	// type text literally (-l: a trailing ";" would be tmux's separator)
	typeLine := func(text string) {
		if strings.HasSuffix(text, ";") {
			text = strings.TrimSuffix(text, ";") + `\;`
		}
		tmux("send-keys", "-t", session, "-l", text)
		tmux("send-keys", "-t", session, "Enter")
	}
	waitFor("weft=>")
	typeLine("SELECT 40 + 2 AS answer;")
	waitFor("(1 row)")
	if !strings.Contains(screen(), "42") {
		t.Fatalf("no answer:\n%s", screen())
	}
	typeLine("SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 100) b;")
	waitFor("running (Ctrl-C cancels)")
	tmux("send-keys", "-t", session, "C-c")
	waitFor("canceling statement due to user request (57014)")
	// still at a prompt, and the history has the first query
	tmux("send-keys", "-t", session, "Up", "Up", "Enter")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(screen(), "(1 row)") < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Count(screen(), "(1 row)") < 2 {
		t.Fatalf("recalling the first query from history did not run it:\n%s", screen())
	}
	typeLine(`\q`)
	// the session ends with the shell; how soon depends on the machine's
	// load, so it is waited for rather than given a fixed time
	ended := func() bool {
		out, _ := exec.Command("tmux", "has-session", "-t", session).CombinedOutput()
		return strings.Contains(string(out), "can't find") || strings.Contains(string(out), "no server")
	}
	for deadline := time.Now().Add(10 * time.Second); !ended() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if !ended() {
		t.Errorf("shell still running 10s after \\q:\n%s", screen())
	}
	if hist, err := os.ReadFile(filepath.Join(home, ".weft_history")); err != nil || !strings.Contains(string(hist), "SELECT 40 + 2") {
		t.Errorf("history file: %q %v", hist, err)
	}
}
