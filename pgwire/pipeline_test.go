package pgwire

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestPipelinedMessages: messages a client sends together (Bind,
// Execute, Sync for several statements in one packet, as pgbench and
// drivers do) are answered in order, their replies written together;
// messages with no Sync or Flush after them are still answered once the
// server has nothing more to read (it flushes before it would wait).
func TestPipelinedMessages(t *testing.T) {
	addr := authServerWith(t, Config{})
	_, fe := rawStartup(t, addr, "bob")
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)

	fe.Send(&pgproto3.Parse{Name: "q", Query: "SELECT $1::int + 1"})
	for i := range 3 {
		fe.Send(&pgproto3.Bind{PreparedStatement: "q", Parameters: [][]byte{[]byte(fmt.Sprint(i * 10))}})
		fe.Send(&pgproto3.Execute{})
	}
	fe.Send(&pgproto3.Sync{})
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
		case *pgproto3.DataRow:
			got = append(got, string(m.Values[0]))
		case *pgproto3.ErrorResponse:
			t.Fatalf("error %s: %s", m.Code, m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if fmt.Sprint(got) != "[1 11 21]" {
		t.Errorf("pipelined results %v, want [1 11 21]", got)
	}

	// no Sync, no Flush: the replies still come, the server having
	// nothing more to read
	fe.Send(&pgproto3.Bind{PreparedStatement: "q", Parameters: [][]byte{[]byte("41")}})
	fe.Send(&pgproto3.Execute{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	if row := receiveUntil[*pgproto3.DataRow](t, fe); string(row.Values[0]) != "42" {
		t.Errorf("unsynced result %q, want 42", row.Values[0])
	}
	receiveUntil[*pgproto3.CommandComplete](t, fe)
}
