package pgwire

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestPLNoticesGoOutWithTheirStatement: what RAISE NOTICE says in a
// PL/pgSQL function a query calls reaches the client with that query's
// answer (before its CommandComplete, or before its error), in every
// query mode, as PostgreSQL sends it. The notices of a streamed query
// were taken before its rows were computed, so they went out with the
// next statement, and those of a last or failing statement never did.
func TestPLNoticesGoOutWithTheirStatement(t *testing.T) {
	url := startServer(t)
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	ctx := context.Background()
	if _, err := setup.Exec(ctx, `CREATE FUNCTION pl_nn(v int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN
			RAISE NOTICE 'from call %', v;
			IF v = 9 THEN RAISE EXCEPTION 'nine'; END IF;
			RETURN v;
		END $$`); err != nil {
		t.Fatal(err)
	}
	for _, mode := range append(modes, pgx.QueryExecModeSimpleProtocol) {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			cfg, err := pgx.ParseConfig(url)
			if err != nil {
				t.Fatal(err)
			}
			cfg.DefaultQueryExecMode = mode
			cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
				mu.Lock()
				got = append(got, n.Message)
				mu.Unlock()
			}
			c, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			taken := func() []string {
				mu.Lock()
				defer mu.Unlock()
				out := got
				got = nil
				return out
			}
			var v int
			if err := c.QueryRow(ctx, "SELECT pl_nn(1)").Scan(&v); err != nil || v != 1 {
				t.Fatalf("SELECT pl_nn(1): %d %v", v, err)
			}
			if n := taken(); len(n) != 1 || n[0] != "from call 1" {
				t.Errorf("notices with SELECT pl_nn(1): %q, want [from call 1]", n)
			}
			if err := c.QueryRow(ctx, "SELECT pl_nn(9)").Scan(&v); err == nil {
				t.Fatal("SELECT pl_nn(9) succeeded")
			}
			if n := taken(); len(n) != 1 || n[0] != "from call 9" {
				t.Errorf("notices with the failing SELECT pl_nn(9): %q, want [from call 9]", n)
			}
			if err := c.QueryRow(ctx, "SELECT 2").Scan(&v); err != nil {
				t.Fatal(err)
			}
			if n := taken(); len(n) != 0 {
				t.Errorf("notices with SELECT 2: %q, want none", n)
			}
		})
	}
}
