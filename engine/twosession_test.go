package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// TestTwoSessionScripts replays each script of testdata/twosession (X.txt)
// on Weft's sessions and compares what every statement answers, and
// which statements wait, with X.pg: the transcript PostgreSQL 15 gave for
// the same script (made by cmd/twosession against a fresh database; see
// its comment). A statement the transcript says waits is followed until
// it waits for a row lock (no timing); one that did not wait there is
// waited for to the end.
func TestTwoSessionScripts(t *testing.T) {
	scripts, err := filepath.Glob("testdata/twosession/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) == 0 {
		t.Fatal("no scripts in testdata/twosession")
	}
	for _, script := range scripts {
		name := strings.TrimSuffix(filepath.Base(script), ".txt")
		t.Run(name, func(t *testing.T) {
			lines := readLines(t, script)
			want := readLines(t, strings.TrimSuffix(script, ".txt")+".pg")
			db, done := rowLockDB(t)
			defer done()
			replayTwoSessions(t, db, lines, want)
		})
	}
}

// readLines are the lines of a file that are not blank.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// replayTwoSessions runs script's lines (cmd/twosession's format) and
// checks each line of the transcript against want's.
func replayTwoSessions(t *testing.T, db *DB, script, want []string) {
	sessions := map[string]*Session{}
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	session := func(n string) *Session {
		if s, ok := sessions[n]; ok {
			return s
		}
		s := db.NewSession()
		sessions[n] = s
		return s
	}
	pending := map[string]chan string{}
	if len(script) != len(want) {
		t.Fatalf("%d script lines, %d transcript lines", len(script), len(want))
	}
	for i, line := range script {
		var got string
		switch who, sql, _ := strings.Cut(line, ":"); {
		case strings.HasPrefix(line, "#"):
			got = line
		case strings.HasSuffix(line, "<") && !strings.Contains(line, ":"):
			n := strings.TrimSuffix(line, "<")
			got = n + "< " + <-pending[n]
		case strings.HasSuffix(who, "&"):
			n := strings.TrimSuffix(who, "&")
			s := session(n)
			sql = strings.TrimSpace(sql)
			res := make(chan string, 1)
			waiting := make(chan [2]any, 1)
			go func() {
				a := scriptAnswer(s, sql)
				res <- a
				waiting <- [2]any{a, nil}
			}()
			if strings.HasSuffix(want[i], "-> waits") {
				waitsForRowLock(t, db, s, waiting)
				got = n + "& " + sql + " -> waits"
			} else {
				a := finishesWithoutWaiting(t, db, s, res)
				res <- a
				got = n + "& " + sql + " -> " + a
			}
			pending[n] = res
		default:
			got = who + ": " + strings.TrimSpace(sql) + " -> " + scriptAnswer(session(who), strings.TrimSpace(sql))
		}
		if got != want[i] {
			t.Fatalf("line %d:\n got: %s\nwant: %s", i+1, got, want[i])
		}
	}
}

// finishesWithoutWaiting is the answer of s's statement (res), failing
// the test if s waits for a row lock first.
func finishesWithoutWaiting(t *testing.T, db *DB, s *Session, res chan string) string {
	t.Helper()
	for {
		select {
		case a := <-res:
			return a
		default:
		}
		db.rowLocks.mu.Lock()
		_, waiting := db.rowLocks.waiting[s]
		db.rowLocks.mu.Unlock()
		if waiting {
			t.Fatal("the statement waits for a row lock; PostgreSQL's did not")
		}
		runtime.Gosched()
	}
}

// scriptAnswer runs sql on s and renders its answer as cmd/twosession
// does: the tag and the rows ("a|b; c|d"), or "ERROR SQLSTATE: message".
func scriptAnswer(s *Session, sql string) string {
	rs, err := s.Exec(context.Background(), sql)
	defer func() {
		for _, r := range rs {
			r.Release()
		}
	}()
	if err != nil {
		var se *sqlerr.Error
		if errors.As(err, &se) {
			return "ERROR " + se.Code + ": " + se.Message
		}
		return "ERROR " + err.Error()
	}
	if len(rs) == 0 {
		return ""
	}
	res := rs[len(rs)-1]
	var rows []string
	for _, b := range res.Batches {
		for i := 0; i < int(b.NumRows()); i++ {
			var vals []string
			for c, col := range res.Columns {
				if d := exec.DatumAt(b.Column(c), i); d == nil {
					vals = append(vals, "NULL")
				} else if v, isBool := d.(bool); isBool {
					vals = append(vals, strconv.FormatBool(v)) // (as pgx's Go values print)
				} else {
					vals = append(vals, types.Format(col.Type, d))
				}
			}
			rows = append(rows, strings.Join(vals, "|"))
		}
	}
	if len(rows) > 0 {
		return res.Tag + " [" + strings.Join(rows, "; ") + "]"
	}
	return res.Tag
}
