package pgwire

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// wantCode fails unless err is a PostgreSQL error with that SQLSTATE.
func wantCode(t *testing.T, err error, code string) *pgconn.PgError {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("got %v, want SQLSTATE %s", err, code)
	}
	return pgErr
}

// TestDeepExpressions sends the expression that used to kill the server
// with SIGSEGV in pg_query's C code: PostgreSQL answers 54001 with a hint,
// and the session goes on.
func TestDeepExpressions(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		c := connect(t, url, mode)
		_, err := c.Exec(ctx, "SELECT 1"+strings.Repeat("+1", 49999))
		pgErr := wantCode(t, err, "54001")
		if pgErr.Message != "stack depth limit exceeded" || !strings.Contains(pgErr.Hint, `"max_stack_depth"`) {
			t.Errorf("mode %v: message %q, hint %q", mode, pgErr.Message, pgErr.Hint)
		}
		for _, tc := range []struct {
			sql  string
			want int64
		}{
			{"SELECT 1" + strings.Repeat("+1", 999), 1000},
			{"SELECT " + strings.Repeat("(", 2000) + "7" + strings.Repeat(")", 2000), 7},
			{"SELECT " + strings.Repeat("abs(", 500) + "-3" + strings.Repeat(")", 500), 3},
		} {
			var got int64
			if err := c.QueryRow(ctx, tc.sql).Scan(&got); err != nil || got != tc.want {
				t.Errorf("mode %v: %.30s…: got %d, %v; want %d", mode, tc.sql, got, err, tc.want)
			}
		}
	}
}
