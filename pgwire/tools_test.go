package pgwire

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tools applications put between themselves and the database — ORMs,
// migration tools, dataframe libraries, BI metadata — driven for real
// against the server. Each script prints one line per check; the wanted
// lines are what the same script prints against PostgreSQL 15. Without
// the tool a test is skipped, unless WEFT_REQUIRE_POSTGRES is set (CI),
// when it fails.

// needPython returns Debian's python3 when it imports every module, else
// skips (or fails in CI).
func needPython(t *testing.T, pkgs string, modules ...string) string {
	t.Helper()
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = needTool(t, "python3")
	}
	if err := exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).Run(); err != nil {
		if os.Getenv("WEFT_REQUIRE_POSTGRES") != "" {
			t.Fatalf("%s not installed; run `make tools`", pkgs)
		}
		t.Skipf("%s not installed (`make tools` installs them)", pkgs)
	}
	return python
}

// wantLines checks that out has every wanted line, as a whole line.
func wantLines(t *testing.T, tool string, out []byte, want []string) {
	t.Helper()
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		have[strings.TrimRight(l, "\r")] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("%s output lacks the line %q", tool, w)
		}
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", tool, out)
	}
}

// TestSQLAlchemy runs SQLAlchemy's ORM and inspector, pandas and Alembic
// (Debian's python3-sqlalchemy, python3-pandas, python3-alembic) through
// testdata/clients/python/sqlalchemy_app.py: three related tables, CRUD,
// relationship loading, reflection (views with their columns), pandas
// read_sql_table/to_sql, a migration up and down, and a second start
// whose autogenerate finds the schema as the model has it.
func TestSQLAlchemy(t *testing.T) {
	python := needPython(t, "python3-sqlalchemy, python3-pandas and python3-alembic", "sqlalchemy", "pandas", "alembic", "psycopg2")
	url := startServer(t)
	out, err := exec.Command(python, filepath.Join("..", "testdata", "clients", "python", "sqlalchemy_app.py"), url).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlalchemy_app.py: %v\n%s", err, out)
	}
	wantLines(t, "sqlalchemy_app.py", out, []string{
		`isolation READ COMMITTED`,
		`server version 15`,
		`ids [1, 2]`,
		`selectin [('Alpha', '12.50', [5, 3]), ('Beta', '7.25', [])]`,
		`joined [('Alpha', 'Ann'), ('Beta', 'Ann'), ('Gamma', 'Bob')]`,
		`lazy ('Ann', ['a', 'b'], 120, ['great', 'ok'])`,
		`agg [('Ann', 2, '19.75'), ('Bob', 1, 'None')]`,
		`updated ('13.00', {'tags': ['c']})`,
		`bob (False, '2024-06-01T12:00:00+00:00')`,
		`after delete (1, 2, 2)`,
		`unique 23505`,
		`posted set 2`,
		`tables ['authors', 'books', 'reviews']`,
		`views ['book_prices']`,
		`columns [('id', 'INTEGER', False), ('author_id', 'INTEGER', False), ('title', 'VARCHAR(200)', False), ('price', 'NUMERIC(8, 2)', True), ('meta', 'JSON', True)]`,
		`serial default ['id']`,
		`pk {'constrained_columns': ['id'], 'name': 'reviews_pkey'}`,
		`fks [(['author_id'], 'authors', ['id'], {'ondelete': 'CASCADE'})]`,
		`indexes [('books_author_title_key', ['author_id', 'title'], True), ('ix_books_author_id', ['author_id'], False)]`,
		`uniques [{'name': 'books_author_title_key', 'column_names': ['author_id', 'title']}]`,
		`view columns [('title', 'VARCHAR(200)'), ('author', 'TEXT'), ('price', 'NUMERIC(8, 2)')]`,
		`view definition True`,
		`has_table (True, False)`,
		`reflected (['id', 'author_id', 'title', 'price', 'meta'], ['authors.id'])`,
		`pandas table (['id', 'author_id', 'title', 'price', 'meta'], 2, ['Alpha', 'Beta'])`,
		`pandas query [{'title': 'Alpha', 'price': 13.0}, {'title': 'Beta', 'price': 7.25}]`,
		`pandas roundtrip (3, 2.75, 1, 'UTC')`,
		`pandas append 6`,
		`alembic version 0001`,
		`alembic up (True, 'isbn', ['tags_book_idx', 'tags_label_key'])`,
		`isbn ['none']`,
		`isbn default [True]`,
		`alembic down (False, 'meta', 0)`,
		`autogenerate diffs []`,
		`second start ['Ann']`,
		`done ok`,
	})
}
