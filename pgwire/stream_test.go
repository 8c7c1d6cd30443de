package pgwire

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// serverAddr is host:port of a startServer URL.
func serverAddr(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "postgres://tester@"), "/weft?sslmode=disable")
}

// TestRowsArriveBeforeALaterError: a query's rows are sent as they are
// computed, so a client gets the rows before the one that fails, then the
// error (as from PostgreSQL, which sends rows 1..20000 here); the session
// goes on, and inside a block the failure aborts the block.
func TestRowsArriveBeforeALaterError(t *testing.T) {
	url := startServer(t)
	const failing = "SELECT CASE WHEN g <= 20000 THEN g ELSE 1 / (g - g) END FROM generate_series(1, 30000) g"
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		c := connect(t, url, mode)
		ctx := context.Background()
		rows, err := c.Query(ctx, failing)
		if err != nil {
			t.Fatal(err)
		}
		got, last := 0, int64(0)
		for rows.Next() {
			if err := rows.Scan(&last); err != nil {
				t.Fatal(err)
			}
			got++
		}
		rows.Close()
		wantCode(t, rows.Err(), "22012")
		if got == 0 || got >= 20000 || last != int64(got) {
			t.Errorf("mode %v: %d rows (last %d) before the error; want the first batches, in order", mode, got, last)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT 7").Scan(&n); err != nil || n != 7 {
			t.Fatalf("mode %v: the session after the error: %d %v", mode, n, err)
		}
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			t.Fatal(err)
		}
		rows, _ = c.Query(ctx, failing)
		for rows.Next() {
		}
		rows.Close()
		wantCode(t, rows.Err(), "22012")
		_, err = c.Exec(ctx, "SELECT 1")
		wantCode(t, err, "25P02")
		if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExecuteWithRowLimitComputesOnlyWhatItSends: Execute with a row
// limit runs the query only as far as it must; nextval shows how far
// (PostgreSQL: 5 rows; Weft computes whole batches, not the million).
func TestExecuteWithRowLimitComputesOnlyWhatItSends(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if _, err := c.Exec(ctx, "CREATE SEQUENCE s"); err != nil {
		t.Fatal(err)
	}
	nc, fe := rawStartup(t, serverAddr(url), "tester")
	defer nc.Close()
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	fe.Send(&pgproto3.Parse{Query: "SELECT nextval('s') FROM generate_series(1, 1000000)"})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{MaxRows: 5})
	fe.Send(&pgproto3.Execute{MaxRows: 3})
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var values []string
	suspended := 0
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			values = append(values, string(m.Values[0]))
		case *pgproto3.PortalSuspended:
			suspended++
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s: %s", m.Code, m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if want := "1 2 3 4 5 6 7 8"; strings.Join(values, " ") != want || suspended != 2 {
		t.Fatalf("rows %v, %d suspensions; want %s and 2", values, suspended, want)
	}
	var next int64
	if err := c.QueryRow(ctx, "SELECT nextval('s')").Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next > 100000 {
		t.Errorf("nextval after 8 rows were fetched: %d; the query ran far past what was sent", next)
	}
}

// TestClosedClientStopsItsQuery: a client that reads a few rows of a long
// result and hangs up ends its query and its session, instead of the
// server computing the rest.
func TestClosedClientStopsItsQuery(t *testing.T) {
	url := startServer(t)
	admin := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	nc, fe := rawStartup(t, serverAddr(url), "tester")
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	fe.Send(&pgproto3.Query{String: "SELECT g, repeat('x', 100) FROM generate_series(1, 1000000000) g"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	receiveUntil[*pgproto3.DataRow](t, fe)
	nc.Close()
	if sessions := waitSessions(t, admin, 1); sessions != 1 {
		t.Fatalf("%d sessions: the closed client's query still runs", sessions)
	}
}

// TestCopyInsideAStringOfStatements: COPY FROM STDIN and COPY TO STDOUT
// may be any statement of a simple query, as psql scripts send them; the
// statements around them run in order.
func TestCopyInsideAStringOfStatements(t *testing.T) {
	url := startServer(t)
	nc, fe := rawStartup(t, serverAddr(url), "tester")
	defer nc.Close()
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	fe.Send(&pgproto3.Query{String: "CREATE TABLE c (a int, b text); COPY c FROM STDIN; SELECT count(*), max(b) FROM c; COPY (SELECT a FROM c ORDER BY a) TO STDOUT"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyInResponse:
			got = append(got, "copy-in")
			fe.Send(&pgproto3.CopyData{Data: []byte("1\tone\n2\ttwo\n")})
			fe.Send(&pgproto3.CopyDone{})
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
		case *pgproto3.CommandComplete:
			got = append(got, string(m.CommandTag))
		case *pgproto3.DataRow:
			got = append(got, string(m.Values[0])+","+string(m.Values[1]))
		case *pgproto3.CopyData:
			got = append(got, strings.TrimSpace(string(m.Data)))
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s: %s", m.Code, m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	want := "CREATE TABLE|copy-in|COPY 2|2,two|SELECT 1|1\n2|COPY 2"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %q\nwant %q", strings.Join(got, "|"), want)
	}
}

// TestPortalsInterleave: two portals of one transaction executed in
// turns with row limits (the first one's stream is read to its end in
// memory when the second runs) each give their own rows, in order.
func TestPortalsInterleave(t *testing.T) {
	url := startServer(t)
	nc, fe := rawStartup(t, serverAddr(url), "tester")
	defer nc.Close()
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	fe.Send(&pgproto3.Query{String: "BEGIN"})
	fe.Flush()
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	fe.Send(&pgproto3.Parse{Name: "up", Query: "SELECT g FROM generate_series(1, 20000) g"})
	fe.Send(&pgproto3.Parse{Name: "down", Query: "SELECT -g FROM generate_series(1, 20000) g"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "p1", PreparedStatement: "up"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "p2", PreparedStatement: "down"})
	for _, e := range []pgproto3.Execute{{Portal: "p1", MaxRows: 3}, {Portal: "p2", MaxRows: 3}, {Portal: "p1", MaxRows: 3}, {Portal: "p2"}, {Portal: "p1"}} {
		fe.Send(&e)
	}
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var runs [][]int64 // the rows of each Execute
	var cur []int64
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			cur = append(cur, parseInt(t, string(m.Values[0])))
		case *pgproto3.PortalSuspended, *pgproto3.CommandComplete:
			runs = append(runs, cur)
			cur = nil
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s: %s", m.Code, m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	counts := func(from, step int64, rows []int64) bool {
		for i, v := range rows {
			if v != from+int64(i)*step {
				return false
			}
		}
		return true
	}
	if len(runs) != 5 || len(runs[0]) != 3 || !counts(1, 1, runs[0]) || len(runs[1]) != 3 || !counts(-1, -1, runs[1]) ||
		len(runs[2]) != 3 || !counts(4, 1, runs[2]) || len(runs[3]) != 19997 || !counts(-4, -1, runs[3]) ||
		len(runs[4]) != 19994 || !counts(7, 1, runs[4]) {
		t.Errorf("%d executes; rows per execute and first values do not follow each portal's order", len(runs))
		for i, r := range runs {
			if len(r) > 0 {
				t.Logf("execute %d: %d rows from %d", i, len(r), r[0])
			}
		}
	}
}

func parseInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	neg := strings.HasPrefix(s, "-")
	for _, ch := range strings.TrimPrefix(s, "-") {
		if ch < '0' || ch > '9' {
			t.Fatalf("not an integer: %q", s)
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		return -n
	}
	return n
}
