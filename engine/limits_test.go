package engine_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/engine"
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
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 2})
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

// TestEmbeddedSessionsInActivity: sessions of an embedded database are
// backends too: listed in pg_stat_activity with distinct process ids, and
// one terminated by pg_terminate_backend refuses further statements.
func TestEmbeddedSessionsInActivity(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.AssertSize(t, 0)
	defer db.Close()
	a, b := db.NewSession(), db.NewSession()
	defer a.Close()
	defer b.Close()
	if a.BackendPID() == b.BackendPID() {
		t.Fatalf("two sessions share process id %d", a.BackendPID())
	}
	query := func(s *engine.Session, sql string) string {
		t.Helper()
		res, err := s.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer res.Release()
		var rows []string
		for _, batch := range res.Batches {
			for r := 0; r < int(batch.NumRows()); r++ {
				var cols []string
				for c := 0; c < int(batch.NumCols()); c++ {
					cols = append(cols, batch.Column(c).ValueStr(r))
				}
				rows = append(rows, strings.Join(cols, "|"))
			}
		}
		return strings.Join(rows, "\n")
	}
	if got, want := query(a, "SELECT state, query FROM pg_stat_activity ORDER BY pid"),
		"active|SELECT state, query FROM pg_stat_activity ORDER BY pid\nidle|"; got != want {
		t.Errorf("pg_stat_activity:\n%s\nwant\n%s", got, want)
	}
	if got := query(b, "SELECT pg_backend_pid() = "+strconv.Itoa(int(b.BackendPID()))); got != "true" {
		t.Errorf("pg_backend_pid() is not the session's: %s", got)
	}
	if got := query(b, "SELECT pg_terminate_backend("+strconv.Itoa(int(a.BackendPID()))+")"); got != "true" {
		t.Fatalf("pg_terminate_backend: %s", got)
	}
	_, err = a.Exec(ctx, "SELECT 1")
	if e := sqlerr.Wrap(err); e == nil || e.Code != "57P01" {
		t.Fatalf("a terminated session: %v", err)
	}
	a.Close()
	if got := query(b, "SELECT count(*) FROM pg_stat_activity"); got != "1" {
		t.Errorf("sessions after Close: %s", got)
	}
}
