package engine_test

import (
	"context"
	"errors"
	"testing"

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
}
