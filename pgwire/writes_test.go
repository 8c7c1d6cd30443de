package pgwire

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/engine"
)

// countingListener hands out connections that count the server's writes.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: nc, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// countingServer serves a database holding pgbench's tables (a few rows)
// through a countingListener.
func countingServer(t *testing.T) (addr string, ln *countingListener) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	db, err := engine.Open(engine.Options{Mem: mem, Partitions: 2, BootstrapRole: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	s := db.NewSession()
	for _, sql := range []string{
		"CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
		"CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
		"INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, 100) g",
	} {
		rs, err := s.Exec(context.Background(), sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		for _, r := range rs {
			r.Release()
		}
	}
	s.Close()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = &countingListener{Listener: inner}
	srv := New(db, Config{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
		mem.AssertSize(t, 0)
	})
	return inner.Addr().String(), ln
}

// TestOneWritePerRoundTrip: the server answers each of a client's round
// trips (a simple Query; extended-protocol messages up to Sync sent
// together, as pgbench -M extended and -M prepared do) with one write,
// whatever the answer holds: rows, a command tag, an error. Each write
// is a system call and a wake-up of the client, a good part of what a
// pgbench transaction costs the server.
func TestOneWritePerRoundTrip(t *testing.T) {
	addr, ln := countingServer(t)
	_, fe := rawStartup(t, addr, "tester")
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)

	query := func(sql string) []pgproto3.FrontendMessage {
		return []pgproto3.FrontendMessage{&pgproto3.Query{String: sql}}
	}
	extended := func(name, sql string, params ...string) []pgproto3.FrontendMessage {
		var values [][]byte
		for _, p := range params {
			values = append(values, []byte(p))
		}
		var msgs []pgproto3.FrontendMessage
		if sql != "" {
			msgs = append(msgs, &pgproto3.Parse{Name: name, Query: sql})
		}
		return append(msgs, &pgproto3.Bind{PreparedStatement: name, Parameters: values},
			&pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{}, &pgproto3.Sync{})
	}
	for _, tc := range []struct {
		name    string
		send    []pgproto3.FrontendMessage
		rows    int
		errCode string
	}{
		{name: "BEGIN", send: query("BEGIN;")},
		{name: "UPDATE by key", send: query("UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid = 3;")},
		{name: "SELECT by key", send: query("SELECT abalance FROM pgbench_accounts WHERE aid = 3;"), rows: 1},
		{name: "INSERT", send: query("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 3, 7, CURRENT_TIMESTAMP);")},
		{name: "END", send: query("END;")},
		{name: "two statements", send: query("SELECT 1; SELECT 2, 3"), rows: 2},
		{name: "error", send: query("SELECT 1/0"), errCode: "22012"},
		{name: "empty", send: query("")},
		{name: "extended, unnamed", send: extended("", "SELECT abalance FROM pgbench_accounts WHERE aid = $1", "3"), rows: 1},
		{name: "prepare", send: extended("upd", "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2", "1", "4")},
		{name: "prepared", send: extended("upd", "", "1", "5")},
		{name: "extended error", send: extended("", "SELECT 1/$1::int", "0"), errCode: "22012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ln.writes.Load()
			for _, m := range tc.send {
				fe.Send(m)
			}
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
			rows, errCode := 0, ""
			for done := false; !done; {
				msg, err := fe.Receive()
				if err != nil {
					t.Fatal(err)
				}
				switch m := msg.(type) {
				case *pgproto3.DataRow:
					rows++
				case *pgproto3.ErrorResponse:
					errCode = m.Code
				case *pgproto3.ReadyForQuery:
					done = true
				}
			}
			if rows != tc.rows || errCode != tc.errCode {
				t.Fatalf("%d rows, error %q; want %d rows, error %q", rows, errCode, tc.rows, tc.errCode)
			}
			// ReadyForQuery comes last: every write of the round trip
			// has been made
			if n := ln.writes.Load() - before; n != 1 {
				t.Errorf("%d writes for one round trip, want 1", n)
			}
		})
	}
}
