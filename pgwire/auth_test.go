package pgwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft"
)

// authServer serves a database with roles under one auth method.
func authServer(t *testing.T, method string) string {
	t.Helper()
	db, err := weft.Open(weft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := db.NewSession()
	for _, sql := range []string{
		"CREATE ROLE alice LOGIN PASSWORD 'wonder land'",
		"CREATE ROLE bob LOGIN",
		"CREATE ROLE carol LOGIN PASSWORD 'x'",
		"ALTER ROLE carol PASSWORD 'changed'",
		"CREATE ROLE nologin PASSWORD 'pw'",
		"CREATE ROLE expired LOGIN PASSWORD 'pw' VALID UNTIL '2001-01-01'",
		"CREATE ROLE current LOGIN PASSWORD 'pw' VALID UNTIL 'infinity'",
	} {
		if _, err := s.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(db, Config{Auth: method})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		<-done
		db.Close()
	})
	return ln.Addr().String()
}

func TestPasswordAuthentication(t *testing.T) {
	for _, method := range []string{AuthSCRAM, AuthPassword} {
		t.Run(method, func(t *testing.T) {
			addr := authServer(t, method)
			ctx := context.Background()
			try := func(user, password string) error {
				c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/weft?sslmode=disable", user, password, addr))
				if err != nil {
					return err
				}
				defer c.Close(ctx)
				var n int
				return c.QueryRow(ctx, "SELECT 1").Scan(&n)
			}
			if err := try("alice", "wonder%20land"); err != nil {
				t.Errorf("alice with her password: %v", err)
			}
			if err := try("current", "pw"); err != nil {
				t.Errorf("a role VALID UNTIL infinity: %v", err)
			}
			if err := try("carol", "changed"); err != nil {
				t.Errorf("carol after ALTER ROLE: %v", err)
			}
			for _, bad := range [][2]string{{"alice", "wrong"}, {"carol", "x"}, {"bob", "anything"}, {"nobody", "pw"}, {"nologin", "pw"}, {"expired", "pw"}} {
				err := try(bad[0], bad[1])
				var pgErr *pgconn.PgError
				if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
					t.Errorf("%s/%s: want 28P01, got %v", bad[0], bad[1], err)
				}
			}
		})
	}
}

// TestTrustNeedsALoginRole: trust skips the password, not the role, as
// in PostgreSQL; is_superuser tells the client what it logged in as.
func TestTrustNeedsALoginRole(t *testing.T) {
	addr := authServer(t, AuthTrust)
	ctx := context.Background()
	for _, c := range []struct{ user, code string }{{"nobody", "28000"}, {"nologin", "28000"}, {"pg_read_server_files", "28000"}} {
		_, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/weft?sslmode=disable", c.user, addr))
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != c.code {
			t.Errorf("%s: want %s, got %v", c.user, c.code, err)
		}
	}
	for _, c := range []struct{ user, super string }{{"alice", "off"}, {"weft", "on"}} {
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s@%s/weft?sslmode=disable", c.user, addr))
		if err != nil {
			t.Fatalf("%s: %v", c.user, err)
		}
		if got := conn.PgConn().ParameterStatus("is_superuser"); got != c.super {
			t.Errorf("%s: is_superuser %q, want %q", c.user, got, c.super)
		}
		conn.Close(ctx)
	}
}
