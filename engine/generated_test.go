package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestGeneratedAlterErrors: ALTER TABLE refuses what would break a
// generation expression with PostgreSQL 15's code, message, detail and
// hint (taken from psql with VERBOSITY verbose), and changes nothing.
func TestGeneratedAlterErrors(t *testing.T) {
	s := openChecked(t, engine.Options{})
	mustExec(t, s, `CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED, c int GENERATED ALWAYS AS (a + id) STORED);
		INSERT INTO g (id, a) VALUES (1, 10)`)
	tests := []struct {
		sql, code, message, detail, hint string
	}{
		{"ALTER TABLE g DROP COLUMN a", "2BP01", "cannot drop column a of table g because other objects depend on it",
			"column b of table g depends on column a of table g\ncolumn c of table g depends on column a of table g",
			"Use DROP ... CASCADE to drop the dependent objects too."},
		{"ALTER TABLE g ALTER COLUMN a TYPE bigint", "0A000", "cannot alter type of a column used by a generated column",
			`Column "a" is used by generated column "b".`, ""},
		{"ALTER TABLE g ALTER COLUMN b SET DEFAULT 5", "42601", `column "b" of relation "g" is a generated column`, "", ""},
		{"ALTER TABLE g ALTER COLUMN b DROP DEFAULT", "42601", `column "b" of relation "g" is a generated column`, "",
			"Use ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION instead."},
	}
	for _, tt := range tests {
		_, err := s.Exec(context.Background(), tt.sql)
		var se *sqlerr.Error
		if !errors.As(err, &se) {
			t.Errorf("%s: want a SQL error, got %v", tt.sql, err)
			continue
		}
		if se.Code != tt.code || se.Message != tt.message || se.Detail != tt.detail || se.Hint != tt.hint {
			t.Errorf("%s:\n got %s %q detail %q hint %q\nwant %s %q detail %q hint %q", tt.sql,
				se.Code, se.Message, se.Detail, se.Hint, tt.code, tt.message, tt.detail, tt.hint)
		}
	}
	if got := rows(t, s, "SELECT * FROM g"); len(got) != 1 || got[0] != "1|10|20|11" {
		t.Errorf("failed ALTERs changed the table: %v", got)
	}
	// CASCADE drops them, saying so (one NOTICE each, as Weft's DROP …
	// CASCADE does)
	rs, err := s.Exec(context.Background(), "ALTER TABLE g DROP COLUMN a CASCADE")
	if err != nil {
		t.Fatal(err)
	}
	notices := strings.Join(rs[0].Notices, "; ")
	rs[0].Release()
	if notices != "drop cascades to column b of table g; drop cascades to column c of table g" {
		t.Errorf("notices %q", notices)
	}
	if got := rows(t, s, "SELECT * FROM g"); len(got) != 1 || got[0] != "1" {
		t.Errorf("after DROP COLUMN a CASCADE: %v, want [1]", got)
	}
	rs, err = s.Exec(context.Background(), "ALTER TABLE g ALTER COLUMN id DROP EXPRESSION IF EXISTS")
	if err != nil {
		t.Fatal(err)
	}
	notices = strings.Join(rs[0].Notices, "; ")
	rs[0].Release()
	if want := `column "id" of relation "g" is not a stored generated column, skipping`; notices != want {
		t.Errorf("DROP EXPRESSION IF EXISTS: notices %q, want %q", notices, want)
	}
}

// TestGeneratedCopyOut: COPY t TO without a column list leaves generated
// columns out, to the client and to a file, as PostgreSQL 15 does
// ("COPY g TO STDOUT" there prints "1\t10\tx\n"); a column list naming
// one is 42P10 there.
func TestGeneratedCopyOut(t *testing.T) {
	dir := t.TempDir()
	s := openChecked(t, engine.Options{FilesDir: dir})
	mustExec(t, s, `CREATE TABLE g (id int, a int, b int GENERATED ALWAYS AS (a * 2) STORED, n text);
		INSERT INTO g (id, a, n) VALUES (1, 10, 'x')`)
	for _, tt := range []struct{ sql, want string }{
		{"COPY g TO STDOUT", "id,a,n"},
		{"COPY g (id, n) TO STDOUT", "id,n"},
	} {
		res, err := runOne(s, tt.sql)
		if err != nil {
			t.Fatalf("%s: %v", tt.sql, err)
		}
		var names []string
		for _, c := range res.Columns {
			names = append(names, c.Name)
		}
		res.Release()
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("%s: columns %s, want %s", tt.sql, got, tt.want)
		}
	}
	for _, sql := range []string{"COPY g (id, b) TO STDOUT", "COPY g (b) TO 'b.txt'"} {
		res, err := runOne(s, sql)
		res.Release()
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != "42P10" || se.Message != `column "b" is a generated column` || se.Detail != "Generated columns cannot be used in COPY." {
			t.Errorf("%s: %v, want 42P10 column \"b\" is a generated column", sql, err)
		}
	}
	mustExec(t, s, "COPY g TO 'g.txt'")
	data, err := os.ReadFile(filepath.Join(dir, "g.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "1\t10\tx\n" {
		t.Errorf("COPY g TO 'g.txt' wrote %q, want %q", data, "1\t10\tx\n")
	}
}

// runOne runs one statement as a client connection does (COPY … TO STDOUT
// included).
func runOne(s *engine.Session, sql string) (*engine.Result, error) {
	sc, err := s.Start(sql)
	if err != nil {
		return nil, err
	}
	return sc.Run(context.Background())
}

// TestGeneratedWritesRelease: the writes that recompute generated columns
// (UPDATE with a volatile SET, ON CONFLICT DO UPDATE, foreign-key
// actions, a rolled-back DROP COLUMN … CASCADE) give PostgreSQL 15's rows
// and release every Arrow buffer, over several partitions and batches.
func TestGeneratedWritesRelease(t *testing.T) {
	s := openChecked(t, engine.Options{Partitions: 2, BatchSize: 3})
	mustExec(t, s, `CREATE SEQUENCE sq;
		CREATE TABLE p (id int PRIMARY KEY);
		INSERT INTO p SELECT g FROM generate_series(1, 4) g;
		CREATE TABLE c (id int PRIMARY KEY, pid int REFERENCES p ON UPDATE CASCADE ON DELETE SET NULL, g int GENERATED ALWAYS AS (coalesce(pid, -1) * 10) STORED);
		INSERT INTO c (id, pid) SELECT g, g % 4 + 1 FROM generate_series(1, 10) g;
		UPDATE c SET pid = NULL WHERE id = 10;
		UPDATE p SET id = 50 WHERE id = 1;
		DELETE FROM p WHERE id = 2;
		UPDATE c SET pid = CASE WHEN nextval('sq') > 0 THEN 4 END WHERE id <= 3;
		INSERT INTO c (id, pid) VALUES (4, 3), (5, 3) ON CONFLICT (id) DO UPDATE SET pid = CASE WHEN nextval('sq') > 0 THEN 3 END;
		BEGIN;
		ALTER TABLE c DROP COLUMN pid CASCADE;
		ROLLBACK`)
	// from PostgreSQL 15, the same statements
	want := "1|4|40 2|4|40 3|4|40 4|3|30 5|3|30 6|3|30 7|4|40 8|50|500 9|NULL|-10 10|NULL|-10"
	if got := strings.Join(rows(t, s, "SELECT * FROM c ORDER BY id"), " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// each SET expression ran once per row: 3 updated, 2 upserted
	if got := rows(t, s, "SELECT nextval('sq')"); got[0] != "6" {
		t.Errorf("nextval after the writes: %v, want 6", got)
	}
}

// TestGeneratedAlterSurvivesRestart: a renamed column's generation
// expression, a dropped expression and a cascaded drop are stored.
func TestGeneratedAlterSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db := openDir(t, dir, mem)
	s := db.NewSession()
	mustExec(t, s, `CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED, c int GENERATED ALWAYS AS (id + 1) STORED, d int GENERATED ALWAYS AS (id * 3) STORED);
		INSERT INTO g (id, a) VALUES (1, 10);
		ALTER TABLE g RENAME COLUMN a TO aa;
		ALTER TABLE g ALTER COLUMN c DROP EXPRESSION;
		ALTER TABLE g DROP COLUMN id CASCADE`)
	db.Close()

	db = openDir(t, dir, mem)
	defer func() { db.Close(); mem.AssertSize(t, 0) }()
	s = db.NewSession()
	mustExec(t, s, "INSERT INTO g (aa, c) VALUES (5, 7)")
	// PostgreSQL 15 gives the same for these statements
	want := "aa|NULL b|(aa * 2) c|NULL"
	if got := strings.Join(rows(t, s, "SELECT column_name, generation_expression FROM information_schema.columns WHERE table_name = 'g' ORDER BY column_name"), " "); got != want {
		t.Errorf("columns after restart: %s, want %s", got, want)
	}
	if got := strings.Join(rows(t, s, "SELECT aa, b, c FROM g ORDER BY aa"), " "); got != "5|10|7 10|20|2" {
		t.Errorf("rows after restart: %s, want 5|10|7 10|20|2", got)
	}
}
