package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdb/weft"
)

// runShell feeds a script to the shell as a person would type it and
// returns what it printed.
func runShell(t *testing.T, script string) string {
	t.Helper()
	db, err := weft.Open(weft.Options{})
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
		`\pset format aligned`,
		`\o ` + saved,
		`SELECT count(*) FROM t;`,
		`\o`,
		`\d t`,
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
		" a      | integer              | not null |",
		" b      | character varying(3) |          | 'x'",
		`ERROR: column "nope" does not exist (42703) at position 8`,
		`invalid command \bogus`,
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
