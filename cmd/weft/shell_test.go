package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftdb/weft/engine"
)

// runShell feeds a script to the shell as a person would type it and
// returns what it printed.
func runShell(t *testing.T, script string) string {
	t.Helper()
	db, err := engine.Open(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out strings.Builder
	sh := &shell{sess: db.NewSession(), out: &out, console: &out, format: "aligned"}
	sh.run(&plainReader{sc: bufio.NewScanner(strings.NewReader(script)), console: &out})
	return out.String()
}

func TestShell(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "setup.sql")
	os.WriteFile(script, []byte("CREATE TABLE t (a int NOT NULL, b varchar(3) DEFAULT 'x');\nINSERT INTO t VALUES (1, 'one'), (2, NULL);\n"), 0o644)
	saved := filepath.Join(dir, "out.txt")
	out := runShell(t, strings.Join([]string{
		`\i ` + script,
		`SELECT a,`, // a statement over two lines
		`  b FROM t ORDER BY a;`,
		`\x`,
		`SELECT * FROM t WHERE a = 1;`,
		`\x off`,
		`\pset format csv`,
		`SELECT * FROM t ORDER BY a;`,
		`\pset format json`,
		`SELECT a, b, a > 1 AS big FROM t ORDER BY a;`,
		`\pset format aligned`,
		`\o ` + saved,
		`SELECT count(*) FROM t;`,
		`\o`,
		`\d t`,
		`\d nosuch`,
		`SELECT nope;`,
		`\bogus`,
		`\q`,
		`SELECT 'after quit';`,
	}, "\n"))
	for _, want := range []string{
		"INSERT 0 2",
		" a |  b \n---+-----\n 1 | one\n 2 |\n(2 rows)",
		"-[ RECORD 1 ]-\na | 1\nb | one",
		"Output format is csv.\na,b\n1,one\n2,\n",
		"Output format is json.\n[\n  {\n    \"a\": 1,\n    \"b\": \"one\",\n    \"big\": false\n  },\n  {\n    \"a\": 2,\n    \"b\": null,\n    \"big\": true\n  }\n]",
		" a      | integer              | not null |",
		" b      | character varying(3) |          | 'x'",
		`ERROR: column "nope" does not exist (42703) at position 8`,
		`invalid command \bogus`,
		`Did not find any relation named "nosuch".`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "after quit") {
		t.Errorf("statements after \\q ran:\n%s", out)
	}
	if got, _ := os.ReadFile(saved); !strings.Contains(string(got), " count\n-------\n     2\n") {
		t.Errorf(`\o file got %q`, got)
	}
}

type fakeLoad struct{}

func (fakeLoad) Exec(context.Context, string) ([]*engine.Result, error) { return nil, nil }
func (fakeLoad) Progress() (int64, int64)                               { return 123456, 3 << 20 }

// TestProgressLine: a statement that runs over a second shows the rows
// and megabytes its load has read.
func TestProgressLine(t *testing.T) {
	var out syncBuffer
	sh := &shell{sess: fakeLoad{}, out: &out, console: &out}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		sh.showProgress(done, time.Now())
		close(finished)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "123456 rows, 3.0 MB") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(done)
	<-finished
	if !strings.Contains(out.String(), "123456 rows, 3.0 MB") {
		t.Errorf("progress line: %q", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
