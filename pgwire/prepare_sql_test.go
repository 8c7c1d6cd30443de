package pgwire

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQL's EXECUTE and DEALLOCATE see the statements a client prepared
// through the protocol (one namespace per session, as in PostgreSQL), and
// the protocol sees the statements SQL's PREPARE made.
func TestSQLAndProtocolShareStatements(t *testing.T) {
	ctx := context.Background()
	c := connect(t, startServer(t), pgx.QueryExecModeSimpleProtocol)
	defer c.Close(ctx)
	if _, err := c.Prepare(ctx, "plus_one", "SELECT $1::int + 1"); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := c.QueryRow(ctx, "EXECUTE plus_one(41)").Scan(&got); err != nil || got != 42 {
		t.Fatalf("EXECUTE of a protocol statement: %d, %v", got, err)
	}
	if _, err := c.Exec(ctx, "PREPARE times_two(int) AS SELECT $1 * 2"); err != nil {
		t.Fatal(err)
	}
	// pgx runs a name it knows as prepared through Bind/Execute
	var pgErr *pgconn.PgError
	if _, err := c.PgConn().Prepare(ctx, "times_two", "SELECT 1", nil); !errors.As(err, &pgErr) || pgErr.Code != "42P05" {
		t.Fatalf("Parse over an SQL-prepared name: %v", err)
	}
	rr := c.PgConn().ExecPrepared(ctx, "times_two", [][]byte{[]byte("21")}, nil, nil).Read()
	if rr.Err != nil || len(rr.Rows) != 1 || string(rr.Rows[0][0]) != "42" {
		t.Fatalf("Bind/Execute of an SQL statement: %v %q", rr.Err, rr.Rows)
	}
	if _, err := c.Exec(ctx, "DEALLOCATE plus_one"); err != nil {
		t.Fatal(err)
	}
	rr = c.PgConn().ExecPrepared(ctx, "plus_one", [][]byte{[]byte("1")}, nil, nil).Read()
	if !errors.As(rr.Err, &pgErr) || pgErr.Code != "26000" {
		t.Fatalf("a deallocated statement still runs: %v", rr.Err)
	}
	if _, err := c.Exec(ctx, "DISCARD ALL"); err != nil {
		t.Fatal(err)
	}
	rr = c.PgConn().ExecPrepared(ctx, "times_two", [][]byte{[]byte("1")}, nil, nil).Read()
	if !errors.As(rr.Err, &pgErr) || pgErr.Code != "26000" {
		t.Fatalf("DISCARD ALL kept a statement: %v", rr.Err)
	}
}
