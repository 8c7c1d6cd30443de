package main

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/pgwire"
)

// TestRemoteShell runs the shell against a server over the protocol.
func TestRemoteShell(t *testing.T) {
	db, err := engine.Open(engine.Options{BootstrapRole: "me"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pgwire.New(db, pgwire.Config{}).Serve(ln) }()
	defer func() { ln.Close(); <-done }()
	conn, err := pgconn.Connect(context.Background(), "postgres://me@"+ln.Addr().String()+"/weft?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var out strings.Builder
	sh := &shell{sess: &remote{conn: conn}, out: &out, console: &out, format: "aligned"}
	sh.run(&plainReader{sc: bufio.NewScanner(strings.NewReader("CREATE TABLE r (a int);\nINSERT INTO r VALUES (1), (NULL);\nSELECT count(a) AS n, max(a) FROM r;\nSELECT bad;\n"))})
	for _, want := range []string{"CREATE TABLE", "INSERT 0 2", " n | max\n---+-----\n 1 | 1\n(1 row)", `ERROR: column "bad" does not exist (42703)`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
