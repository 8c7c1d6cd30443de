package pgwire

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/engine"
)

// startupBytes is a valid StartupMessage for user "fuzz".
func startupBytes() []byte {
	b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "fuzz", "database": "weft"}}).Encode(nil)
	return b
}

// FuzzMessages feeds arbitrary bytes to a connection after a valid
// startup: whatever arrives (random, truncated, absurd lengths, messages
// out of order), the server must not panic, must end the connection within
// a bounded time, and must keep serving. The seeds are well-formed
// exchanges.
func FuzzMessages(f *testing.F) {
	q, _ := (&pgproto3.Query{String: "SELECT 1"}).Encode(nil)
	parse, _ := (&pgproto3.Parse{Name: "s", Query: "SELECT $1::int + 1"}).Encode(nil)
	bind, _ := (&pgproto3.Bind{PreparedStatement: "s", Parameters: [][]byte{[]byte("41")}}).Encode(nil)
	exec, _ := (&pgproto3.Execute{}).Encode(nil)
	sync, _ := (&pgproto3.Sync{}).Encode(nil)
	f.Add(q)
	f.Add(append(append(append(append([]byte{}, parse...), bind...), exec...), sync...))
	f.Add(append(append([]byte{}, bind...), sync...))
	f.Add([]byte{'Q', 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'P', 0, 0, 0, 5, 0})
	big := binary.BigEndian.AppendUint32([]byte{'Q'}, 1<<31-1)
	f.Add(big)

	db, err := engine.Open(engine.Options{Partitions: 2, BootstrapRole: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	srv := New(db, Config{MaxMessageSize: 1 << 20})
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.handle(server)
		}()
		go io.Copy(io.Discard, client) // drain whatever the server answers
		client.SetWriteDeadline(time.Now().Add(2 * time.Second))
		client.Write(startupBytes())
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("connection not closed after its client left; input %q", data)
		}
	})
}
