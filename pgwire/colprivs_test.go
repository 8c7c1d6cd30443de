package pgwire

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestCopyChecksColumnPrivileges: COPY FROM needs INSERT on the columns
// it fills and COPY TO SELECT on those it writes, column privileges
// counting as the table's (PostgreSQL's answers: the same script run on
// PostgreSQL 15).
func TestCopyChecksColumnPrivileges(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, sql := range []string{"CREATE ROLE cw", "CREATE TABLE ct (id int, name text, secret int)",
		"GRANT INSERT (id, name), SELECT (id) ON ct TO cw", "SET ROLE cw"} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	pc := c.PgConn()
	if tag, err := pc.CopyFrom(ctx, strings.NewReader("1\ta\n2\t\\N\n"), "COPY ct (id, name) FROM STDIN"); err != nil || tag.String() != "COPY 2" {
		t.Fatalf("COPY of granted columns: %v %v", tag, err)
	}
	for _, sql := range []string{"COPY ct FROM STDIN", "COPY ct (id, secret) FROM STDIN"} {
		_, err := pc.CopyFrom(ctx, strings.NewReader("3\tb\t7\n"), sql)
		if pe, ok := err.(*pgconn.PgError); !ok || pe.Code != "42501" {
			t.Errorf("%s: %v, want 42501", sql, err)
		}
	}
	var out strings.Builder
	if _, err := pc.CopyTo(ctx, &out, "COPY ct (id) TO STDOUT"); err != nil || out.String() != "1\n2\n" {
		t.Errorf("COPY of a granted column out: %q %v", out.String(), err)
	}
	if _, err := pc.CopyTo(ctx, &out, "COPY ct TO STDOUT"); err == nil {
		t.Error("COPY of every column out: no error, want 42501")
	}
}
