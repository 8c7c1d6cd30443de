package weft_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/pgsource/pgtest"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestLimitsLikePostgres runs statements that hit PostgreSQL's limits on
// the real server and on Weft: the SQLSTATE, message and hint must agree,
// and Weft must fail before building anything large.
func TestLimitsLikePostgres(t *testing.T) {
	ctx := context.Background()
	pg, err := pgx.Connect(ctx, pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := weft.Open(weft.Options{Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.AssertSize(t, 0)
	defer db.Close()
	s := db.NewSession()
	defer s.Close()
	for _, sql := range []string{
		"SELECT repeat('x', 1100000000)",
		"SELECT repeat('xy', 600000000)",
		"SELECT repeat('x', 1073741820)",
		"SELECT length(repeat('x', 1000))",
		"SELECT lpad('x', 268435455)",
		"SELECT rpad('x', 268435455, 'ab')",
		"SELECT length(lpad('x', 1000))",
		"SELECT 1" + strings.Repeat("+1", 49999),
		"SELECT 1" + strings.Repeat("+1", 999),
	} {
		t.Run(sql[:min(len(sql), 40)], func(t *testing.T) {
			var want string
			var wantErr *pgconn.PgError
			if err := pg.QueryRow(ctx, sql+"::text").Scan(&want); err != nil && !errors.As(err, &wantErr) {
				t.Fatalf("PostgreSQL: %v", err)
			}
			res, err := s.Query(ctx, sql+"::text")
			if wantErr == nil {
				if err != nil {
					t.Fatalf("PostgreSQL answers %q, Weft fails: %v", want, err)
				}
				defer res.Release()
				if got := res.Batches[0].Column(0).ValueStr(0); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				return
			}
			if err == nil {
				res.Release()
				t.Fatalf("PostgreSQL fails with %s, Weft does not", wantErr.Code)
			}
			e := sqlerr.Wrap(err)
			if e.Code != wantErr.Code || e.Message != wantErr.Message || e.Hint != wantErr.Hint {
				t.Errorf("got %s %q (hint %q), want %s %q (hint %q)", e.Code, e.Message, e.Hint, wantErr.Code, wantErr.Message, wantErr.Hint)
			}
		})
	}
}
