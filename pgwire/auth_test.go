package pgwire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/engine"
)

// authServer serves a database with roles under one auth method.
func authServer(t *testing.T, method string) string {
	t.Helper()
	return authServerWith(t, Config{Auth: method})
}

// authServerWith is authServer with a whole configuration (TLS).
func authServerWith(t *testing.T, cfg Config) string {
	t.Helper()
	db, err := engine.Open(engine.Options{})
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
		"CREATE ROLE limited LOGIN CONNECTION LIMIT 1",
	} {
		if _, err := s.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(db, cfg)
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
		if c.user == "weft" {
			// the client hears when the session stops being a superuser
			if _, err := conn.Exec(ctx, "SET SESSION AUTHORIZATION alice"); err != nil {
				t.Fatal(err)
			}
			if got := conn.PgConn().ParameterStatus("is_superuser"); got != "off" {
				t.Errorf("after SET SESSION AUTHORIZATION: is_superuser %q", got)
			}
			if got := conn.PgConn().ParameterStatus("session_authorization"); got != "alice" {
				t.Errorf("after SET SESSION AUTHORIZATION: session_authorization %q", got)
			}
		}
		conn.Close(ctx)
	}
}

// TestSCRAMChannelBinding: over TLS the server offers SCRAM-SHA-256-PLUS
// and a client that requires channel binding logs in with it.
func TestSCRAMChannelBinding(t *testing.T) {
	dir := t.TempDir()
	tlsCfg, err := LoadOrCreateTLS(dir+"/server.crt", dir+"/server.key")
	if err != nil {
		t.Fatal(err)
	}
	addr := authServerWith(t, Config{Auth: AuthSCRAM, TLS: tlsCfg})
	ctx := context.Background()
	for _, c := range []struct {
		url  string
		code string // "" to succeed
	}{
		{"postgres://alice:wonder%%20land@%s/weft?sslmode=require&channel_binding=require", ""},
		{"postgres://alice:wonder%%20land@%s/weft?sslmode=require&channel_binding=disable", ""},
		{"postgres://alice:wrong@%s/weft?sslmode=require&channel_binding=require", "28P01"},
		{"postgres://ghost:pw@%s/weft?sslmode=require&channel_binding=require", "28P01"},
		{"postgres://expired:pw@%s/weft?sslmode=require&channel_binding=require", "28P01"},
	} {
		conn, err := pgx.Connect(ctx, fmt.Sprintf(c.url, addr))
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.url, err)
				continue
			}
			conn.Close(ctx)
			continue
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != c.code {
			t.Errorf("%s: want %s, got %v", c.url, c.code, err)
		}
	}
	// without TLS there is no channel to bind to
	plain := authServer(t, AuthSCRAM)
	if _, err := pgx.Connect(ctx, "postgres://alice:wonder%20land@"+plain+"/weft?sslmode=disable&channel_binding=require"); err == nil {
		t.Error("channel_binding=require succeeded without TLS")
	}
}

// TestSCRAMMockAuthentication: a role that does not exist goes through
// the whole exchange, with a stable salt of its own, and fails at its end
// with a wrong password's message.
func TestSCRAMMockAuthentication(t *testing.T) {
	addr := authServer(t, AuthSCRAM)
	exchange := func(user string) (salt string, final *pgproto3.ErrorResponse) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		fe := pgproto3.NewFrontend(nc, nc)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": user, "database": "weft"}})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := msg.(*pgproto3.AuthenticationSASL); !ok {
			t.Fatalf("%s: want AuthenticationSASL, got %T", user, msg)
		}
		fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=clientnonce")})
		fe.Flush()
		msg, err = fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		cont, ok := msg.(*pgproto3.AuthenticationSASLContinue)
		if !ok {
			t.Fatalf("%s: want AuthenticationSASLContinue, got %T", user, msg)
		}
		parts := strings.Split(string(cont.Data), ",")
		nonce := strings.TrimPrefix(parts[0], "r=")
		fe.Send(&pgproto3.SASLResponse{Data: []byte("c=biws,r=" + nonce + ",p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")})
		fe.Flush()
		msg, err = fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		e, ok := msg.(*pgproto3.ErrorResponse)
		if !ok {
			t.Fatalf("%s: want ErrorResponse, got %T", user, msg)
		}
		return parts[1], e
	}
	ghostSalt, ghostErr := exchange("ghost")
	aliceSalt, aliceErr := exchange("alice")
	again, _ := exchange("ghost")
	if ghostSalt != again {
		t.Errorf("the mock salt changed: %s, %s", ghostSalt, again)
	}
	if ghostSalt == aliceSalt {
		t.Errorf("ghost got alice's salt")
	}
	if ghostErr.Code != "28P01" || ghostErr.Message != `password authentication failed for user "ghost"` ||
		aliceErr.Code != "28P01" || aliceErr.Message != `password authentication failed for user "alice"` {
		t.Errorf("errors differ from a wrong password's: %+v / %+v", ghostErr, aliceErr)
	}
}

// TestConnectionLimit: a role's CONNECTION LIMIT holds (53300), and a
// closed connection frees its place.
func TestConnectionLimit(t *testing.T) {
	addr := authServer(t, AuthTrust)
	ctx := context.Background()
	url := fmt.Sprintf("postgres://limited@%s/weft?sslmode=disable", addr)
	first, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgx.Connect(ctx, url)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53300" {
		t.Errorf("second connection: want 53300, got %v", err)
	}
	first.Close(ctx)
	var again *pgx.Conn
	for i := 0; i < 100; i++ { // the server notices the close shortly
		if again, err = pgx.Connect(ctx, url); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after closing the first: %v", err)
	}
	again.Close(ctx)
}
