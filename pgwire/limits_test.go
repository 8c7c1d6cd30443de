package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/engine"
)

// wantCode fails unless err is a PostgreSQL error with that SQLSTATE.
func wantCode(t *testing.T, err error, code string) *pgconn.PgError {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("got %v, want SQLSTATE %s", err, code)
	}
	return pgErr
}

// TestDeepExpressions sends the expression that used to kill the server
// with SIGSEGV in pg_query's C code: PostgreSQL answers 54001 with a hint,
// and the session goes on.
func TestDeepExpressions(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		c := connect(t, url, mode)
		_, err := c.Exec(ctx, "SELECT 1"+strings.Repeat("+1", 49999))
		pgErr := wantCode(t, err, "54001")
		if pgErr.Message != "stack depth limit exceeded" || !strings.Contains(pgErr.Hint, `"max_stack_depth"`) {
			t.Errorf("mode %v: message %q, hint %q", mode, pgErr.Message, pgErr.Hint)
		}
		for _, tc := range []struct {
			sql  string
			want int64
		}{
			{"SELECT 1" + strings.Repeat("+1", 999), 1000},
			{"SELECT " + strings.Repeat("(", 2000) + "7" + strings.Repeat(")", 2000), 7},
			{"SELECT " + strings.Repeat("abs(", 500) + "-3" + strings.Repeat(")", 500), 3},
		} {
			var got int64
			if err := c.QueryRow(ctx, tc.sql).Scan(&got); err != nil || got != tc.want {
				t.Errorf("mode %v: %.30s…: got %d, %v; want %d", mode, tc.sql, got, err, tc.want)
			}
		}
	}
}

// rawStartup opens a TCP connection and sends a StartupMessage for user;
// the caller reads the answer with the returned frontend.
func rawStartup(t *testing.T, addr, user string) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: map[string]string{"user": user, "database": "weft"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	return nc, fe
}

// receiveUntil reads messages until one of type T arrives.
func receiveUntil[T pgproto3.BackendMessage](t *testing.T, fe *pgproto3.Frontend) T {
	t.Helper()
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("waiting for %T: %v", *new(T), err)
		}
		if m, ok := msg.(T); ok {
			return m
		}
	}
}

// messageHeader is a message type byte and a length declaring body bytes.
func messageHeader(typ byte, body int) []byte {
	return binary.BigEndian.AppendUint32([]byte{typ}, uint32(body+4))
}

// waitClosed reads until the server closes the connection.
func waitClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Fatalf("waiting for the server to close: %v", err)
	}
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestDeclaredLengthIsNotReserved sends headers declaring 1 GiB bodies
// that never come. Before authentication the server refuses them with
// 08P01 and closes; after it, the body is read as it arrives, so a client
// that sends the header and leaves costs the server no gigabyte.
func TestDeclaredLengthIsNotReserved(t *testing.T) {
	const attempts = 24
	const gib = 1 << 30
	t.Run("before authentication", func(t *testing.T) {
		addr := authServerWith(t, Config{Auth: AuthPassword})
		before := totalAlloc()
		for range attempts {
			nc, fe := rawStartup(t, addr, "alice")
			receiveUntil[*pgproto3.AuthenticationCleartextPassword](t, fe)
			if _, err := nc.Write(messageHeader('p', gib-4)); err != nil {
				t.Fatal(err)
			}
			e := receiveUntil[*pgproto3.ErrorResponse](t, fe)
			if e.Code != "08P01" || e.Severity != "FATAL" {
				t.Fatalf("got %s %s %q, want FATAL 08P01", e.Severity, e.Code, e.Message)
			}
			waitClosed(t, nc)
		}
		if grew := totalAlloc() - before; grew > 64<<20 {
			t.Errorf("the server allocated %d MB for %d empty 1 GiB headers", grew>>20, attempts)
		}
	})
	t.Run("startup packet", func(t *testing.T) {
		addr := authServerWith(t, Config{Auth: AuthPassword})
		for range attempts {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := nc.Write(binary.BigEndian.AppendUint32(nil, gib)); err != nil {
				t.Fatal(err)
			}
			e := receiveUntil[*pgproto3.ErrorResponse](t, pgproto3.NewFrontend(nc, nc))
			if e.Code != "08P01" || e.Message != "invalid length of startup packet" {
				t.Fatalf("got %s %q", e.Code, e.Message)
			}
			waitClosed(t, nc)
		}
	})
	t.Run("after authentication", func(t *testing.T) {
		url := startServer(t)
		addr := strings.TrimSuffix(strings.TrimPrefix(url, "postgres://tester@"), "/weft?sslmode=disable")
		before := totalAlloc()
		for range attempts {
			nc, fe := rawStartup(t, addr, "tester")
			receiveUntil[*pgproto3.ReadyForQuery](t, fe)
			if _, err := nc.Write(append(messageHeader('Q', gib-4), "SELECT"...)); err != nil {
				t.Fatal(err)
			}
			// the client leaves: the server, waiting for the body, ends
			nc.(*net.TCPConn).CloseWrite()
			waitClosed(t, nc)
		}
		if grew := totalAlloc() - before; grew > 64<<20 {
			t.Errorf("the server allocated %d MB for %d empty 1 GiB headers", grew>>20, attempts)
		}
	})
}

// TestFrameReaderGrowsWithData feeds a frame reader a body in pieces: the
// buffer follows what arrived, never the declared length.
func TestFrameReaderGrowsWithData(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared int
		sent     int
		wantErr  error
	}{
		{"whole small message", 10, 10, nil},
		{"whole 1 MB message", 1 << 20, 1 << 20, nil},
		{"1 GiB declared, 100 kB sent", 1 << 30, 100 << 10, io.ErrUnexpectedEOF},
		{"1 GiB declared, nothing sent", 1 << 30, 0, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := append(messageHeader('Q', tc.declared), make([]byte, tc.sent)...)
			f := &frameReader{src: bytes.NewReader(input), limit: 1 << 30}
			before := totalAlloc()
			frame, err := f.readFrame()
			grew := totalAlloc() - before
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err == nil && len(frame) != 5+tc.declared {
				t.Fatalf("frame of %d bytes, want %d", len(frame), 5+tc.declared)
			}
			if limit := uint64(3*tc.sent + 2*firstBodyChunk); grew > limit {
				t.Errorf("allocated %d bytes for %d received", grew, tc.sent)
			}
		})
	}
	f := &frameReader{src: bytes.NewReader(messageHeader('p', maxAuthMessage+1)), limit: maxAuthMessage}
	var tooLong *messageTooLong
	if _, err := f.readFrame(); !errors.As(err, &tooLong) {
		t.Errorf("a body over the limit: got %v", err)
	}
}

// TestMaxConnections refuses the session past max_connections with 53300,
// as PostgreSQL does after the startup packet, and admits one again when
// a session ends.
func TestMaxConnections(t *testing.T) {
	url := startServerWith(t, Config{MaxConnections: 2})
	ctx := context.Background()
	first := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	connect(t, url, pgx.QueryExecModeSimpleProtocol)
	_, err := pgx.Connect(ctx, url)
	if pgErr := wantCode(t, err, "53300"); pgErr.Message != "sorry, too many clients already" || pgErr.Severity != "FATAL" {
		t.Errorf("got %s %q", pgErr.Severity, pgErr.Message)
	}
	var max string
	if err := first.QueryRow(ctx, "SHOW max_connections").Scan(&max); err != nil || max != "2" {
		t.Errorf("SHOW max_connections: %q, %v", max, err)
	}
	_, err = first.Exec(ctx, "SET max_connections = 5")
	wantCode(t, err, "55P02")
	first.Close(ctx)
	// the server notices the Terminate asynchronously: retry for a while
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			c.Close(ctx)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session admitted after one ended: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAuthenticationTimeout disconnects clients that do not finish
// starting up in time: one that sends nothing, and one that never answers
// the password request.
func TestAuthenticationTimeout(t *testing.T) {
	addr := authServerWith(t, Config{Auth: AuthPassword, AuthTimeout: 50 * time.Millisecond})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetDeadline(time.Now().Add(30 * time.Second))
	waitClosed(t, silent)

	nc, fe := rawStartup(t, addr, "alice")
	receiveUntil[*pgproto3.AuthenticationCleartextPassword](t, fe)
	waitClosed(t, nc)

	// a client that completes in time keeps its session past the timeout
	c, err := pgx.Connect(context.Background(), "postgres://alice:wonder%20land@"+addr+"/weft?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	time.Sleep(100 * time.Millisecond)
	var n int
	if err := c.QueryRow(context.Background(), "SELECT 1").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the timeout: %d, %v", n, err)
	}
}

// flakyListener fails its first accepts the way a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failures int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures > 0 {
		l.failures--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptSurvivesDescriptorExhaustion: EMFILE from accept makes the
// server wait and retry, not stop serving.
func TestAcceptSurvivesDescriptorExhaustion(t *testing.T) {
	db, err := engine.Open(engine.Options{BootstrapRole: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- New(db, Config{}).Serve(&flakyListener{Listener: ln, failures: 4}) }()
	c, err := pgx.Connect(context.Background(), "postgres://tester@"+ln.Addr().String()+"/weft?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(context.Background(), "SELECT 41+1").Scan(&n); err != nil || n != 42 {
		t.Errorf("got %d, %v", n, err)
	}
	c.Close(context.Background())
	ln.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestAcceptErrors(t *testing.T) {
	for _, tc := range []struct {
		err       error
		temporary bool
	}{
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}, true},
		{&net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EINVAL)}, false},
		{errors.New("listener broke"), false},
	} {
		if got := isTemporaryAcceptError(tc.err); got != tc.temporary {
			t.Errorf("%v: temporary %v, want %v", tc.err, got, tc.temporary)
		}
	}
	var waits []time.Duration
	for d := time.Duration(0); len(waits) < 10; {
		d = nextBackoff(d)
		waits = append(waits, d)
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i, w := range want {
		if waits[i] != w*time.Millisecond {
			t.Fatalf("backoff %v, want 5 ms doubling to 1 s", waits)
		}
	}
}

// crossJoin runs for hours unless cancelled.
const crossJoin = "SELECT count(*) FROM generate_series(1, 1000000) a, generate_series(1, 1000000) b"

// TestStatementTimeoutStopsCrossJoin: the nested loop checks for
// cancellation while it pairs rows, so statement_timeout ends it.
func TestStatementTimeoutStopsCrossJoin(t *testing.T) {
	url := startServer(t)
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	// only a guard against a hang: the timeout must be what ends it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := c.Exec(ctx, "SET statement_timeout = '50ms'"); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		crossJoin,
		"SELECT count(*) FROM generate_series(1, 3000) a JOIN generate_series(1, 1000000) b ON a.a + b.b < 0",
		"SELECT count(*) FROM generate_series(1, 2000) g WHERE g IN (" + inList(1000000, 300000) + ")",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
	} {
		_, err := c.Exec(ctx, sql)
		if pgErr := wantCode(t, err, "57014"); pgErr.Message != "canceling statement due to statement timeout" {
			t.Errorf("%.40s…: %q", sql, pgErr.Message)
		}
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
}

// inList is "from, from+1, …" with n values.
func inList(from, n int) string {
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(from + i))
	}
	return sb.String()
}

// startLong runs sql on c in the background; the returned channel gets
// its error.
func startLong(c *pgx.Conn, sql string) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := c.Exec(ctx, sql)
		done <- err
	}()
	return done
}

// waitActive polls pg_stat_activity from c until pid runs query.
func waitActive(t *testing.T, c *pgx.Conn, pid uint32, query string) {
	t.Helper()
	for range 2000 {
		var state, running string
		err := c.QueryRow(context.Background(), "SELECT state, query FROM pg_stat_activity WHERE pid = $1", int32(pid)).Scan(&state, &running)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatal(err)
		}
		if state == "active" && running == query {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pid %d never showed as running %q", pid, query)
}

// TestCancelAndTerminateBackend: a second connection sees the first's
// running query in pg_stat_activity, cancels it with pg_cancel_backend
// (57014) and ends the session with pg_terminate_backend (57P01).
func TestCancelAndTerminateBackend(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	victim := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	admin := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	pid := victim.PgConn().PID()

	done := startLong(victim, crossJoin)
	waitActive(t, admin, pid, crossJoin)
	var ok bool
	if err := admin.QueryRow(ctx, "SELECT pg_cancel_backend($1)", int32(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_cancel_backend: %v, %v", ok, err)
	}
	if pgErr := wantCode(t, <-done, "57014"); pgErr.Message != "canceling statement due to user request" {
		t.Errorf("cancelled query: %q", pgErr.Message)
	}
	var n int
	if err := victim.QueryRow(ctx, "SELECT 2").Scan(&n); err != nil || n != 2 {
		t.Fatalf("the cancelled session goes on: %d, %v", n, err)
	}

	var state string
	if err := admin.QueryRow(ctx, "SELECT state FROM pg_stat_activity WHERE pid = $1", int32(pid)).Scan(&state); err != nil || state != "idle" {
		t.Errorf("state after the query: %q, %v", state, err)
	}

	done = startLong(victim, crossJoin)
	waitActive(t, admin, pid, crossJoin)
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend: %v, %v", ok, err)
	}
	pgErr := wantCode(t, <-done, "57P01")
	if pgErr.Message != "terminating connection due to administrator command" || pgErr.Severity != "FATAL" {
		t.Errorf("terminated: %s %q", pgErr.Severity, pgErr.Message)
	}
	if !victim.IsClosed() {
		if err := victim.Ping(ctx); err == nil {
			t.Error("the terminated connection still answers")
		}
	}

	// an idle session is terminated too, and an unknown pid is false
	idle := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	if err := admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(idle.PgConn().PID())).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend of an idle session: %v, %v", ok, err)
	}
	_, err := idle.Exec(ctx, "SELECT 1")
	wantCode(t, err, "57P01")
	if err := admin.QueryRow(ctx, "SELECT pg_cancel_backend(999999)").Scan(&ok); err != nil || ok {
		t.Errorf("pg_cancel_backend of no session: %v, %v", ok, err)
	}
	// the terminated sessions leave pg_stat_activity once their
	// connections have closed
	if sessions := waitSessions(t, admin, 1); sessions != 1 {
		t.Errorf("sessions left: %d", sessions)
	}
}

// TestSignalPermissions: a role may signal its own sessions; only the
// superuser may signal others' (42501).
func TestSignalPermissions(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	as := func(user string) *pgx.Conn {
		return connect(t, strings.Replace(url, "tester@", user+"@", 1), pgx.QueryExecModeSimpleProtocol)
	}
	super := as("tester") // the bootstrap superuser of startServer
	if _, err := super.Exec(ctx, "CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN"); err != nil {
		t.Fatal(err)
	}
	alice, alice2, bob := as("alice"), as("alice"), as("bob")
	for _, tc := range []struct {
		caller  *pgx.Conn
		target  *pgx.Conn
		fn      string
		code    string
		message string
	}{
		{alice, alice2, "pg_cancel_backend", "", ""},
		{alice, bob, "pg_cancel_backend", "42501", "must be a member of the role whose query is being canceled or member of pg_signal_backend"},
		{alice, bob, "pg_terminate_backend", "42501", "must be a member of the role whose process is being terminated or member of pg_signal_backend"},
		{alice, super, "pg_cancel_backend", "42501", "must be a superuser to cancel superuser query"},
		{alice, super, "pg_terminate_backend", "42501", "must be a superuser to terminate superuser process"},
		{super, bob, "pg_cancel_backend", "", ""},
	} {
		var ok bool
		err := tc.caller.QueryRow(ctx, "SELECT "+tc.fn+"($1)", int32(tc.target.PgConn().PID())).Scan(&ok)
		if tc.code == "" {
			if err != nil || !ok {
				t.Errorf("%s: %v, %v", tc.fn, ok, err)
			}
			continue
		}
		if pgErr := wantCode(t, err, tc.code); pgErr.Message != tc.message {
			t.Errorf("%s: %q, want %q", tc.fn, pgErr.Message, tc.message)
		}
	}
	// pg_stat_activity hides other roles' activity from non-superusers,
	// as PostgreSQL does
	const watch = "SELECT usename, coalesce(state, 'NULL'), query, backend_start IS NULL FROM pg_stat_activity WHERE pid = $1"
	for _, tc := range []struct {
		viewer, target *pgx.Conn
		state, query   string
		hidden         bool
	}{
		{alice, bob, "NULL", "<insufficient privilege>", true},
		{alice, alice2, "idle", "", false},
		{super, bob, "idle", "", false},
	} {
		var user, state, query string
		var hidden bool
		if err := tc.viewer.QueryRow(ctx, watch, int32(tc.target.PgConn().PID())).Scan(&user, &state, &query, &hidden); err != nil {
			t.Fatal(err)
		}
		if state != tc.state || query != tc.query || hidden != tc.hidden {
			t.Errorf("%s sees %s: state %q, query %q, backend_start hidden %v", tc.viewer.Config().User, user, state, query, hidden)
		}
	}
}

// TestQueryMemoryLimit: under weft.query_memory_limit a sort spills and
// completes; a query whose operator cannot spill (a window function)
// fails alone with 53200 naming the operator and the limit; the session,
// another session and the server go on, and every byte is released
// (startServer checks).
func TestQueryMemoryLimit(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	other := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	const sorted = "SELECT count(*) FROM (SELECT a.a, b.b FROM generate_series(1, 3000) a, generate_series(1, 3000) b ORDER BY 1, 2) s"
	const windowed = "SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY a.a, b.b) rn FROM generate_series(1, 1000) a, generate_series(1, 1000) b) s"
	if _, err := c.Exec(ctx, "SET weft.query_memory_limit = '10MB'"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := c.QueryRow(ctx, sorted).Scan(&n); err != nil || n != 9000000 {
		t.Fatalf("the sort under 10MB: %d, %v", n, err)
	}
	_, err := c.Exec(ctx, windowed)
	pgErr := wantCode(t, err, "53200")
	if pgErr.Message != "out of memory" || !strings.Contains(pgErr.Detail, "in Window") || !strings.Contains(pgErr.Detail, "weft.query_memory_limit (10485760 bytes)") {
		t.Errorf("message %q, detail %q", pgErr.Message, pgErr.Detail)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("the next query: %d, %v", n, err)
	}
	// the limit is the session's: another session's query is not bound
	if err := other.QueryRow(ctx, windowed).Scan(&n); err != nil || n != 1000000 {
		t.Fatalf("another session: %d, %v", n, err)
	}
	_, err = c.Exec(ctx, "SET weft.query_memory_limit = 'lots'")
	if pgErr := wantCode(t, err, "22023"); !strings.Contains(pgErr.Hint, `"MB"`) {
		t.Errorf("hint %q", pgErr.Hint)
	}
	if _, err := c.Exec(ctx, "RESET weft.query_memory_limit"); err != nil {
		t.Fatal(err)
	}
	if err := c.QueryRow(ctx, windowed).Scan(&n); err != nil || n != 1000000 {
		t.Fatalf("after RESET: %d, %v", n, err)
	}
}

// TestSessionMemoryLimit: weft.memory_limit bounds a session within the
// server's limit: the same 53200 names it, a value beyond the server's
// limit is refused, and the other session keeps running meanwhile.
func TestSessionMemoryLimit(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	c := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	other := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	const windowed = "SELECT max(rn) FROM (SELECT row_number() OVER (ORDER BY a.a, b.b) rn FROM generate_series(1, 1000) a, generate_series(1, 1000) b) s"
	if _, err := c.Exec(ctx, "SET weft.memory_limit = '8MB'"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Exec(ctx, windowed)
	if pgErr := wantCode(t, err, "53200"); !strings.Contains(pgErr.Detail, "in Window: the query would hold more than weft.memory_limit (8388608 bytes)") {
		t.Errorf("detail %q", pgErr.Detail)
	}
	// INTERSECT of 3,000,000 rows a side spills
	const intersected = "SELECT count(*) FROM (SELECT g FROM generate_series(1, 3000000) g INTERSECT SELECT g FROM generate_series(1, 3000000) g) s"
	var n int64
	if err := c.QueryRow(ctx, intersected).Scan(&n); err != nil || n != 3000000 {
		t.Fatalf("INTERSECT under 8MB: %d, %v", n, err)
	}
	// a GROUP BY of 2,000,000 groups spills; DISTINCT aggregates over
	// different arguments keep their values and cannot
	if err := c.QueryRow(ctx, "SELECT count(*) FROM (SELECT g, count(*) FROM generate_series(1, 2000000) g GROUP BY g) s").Scan(&n); err != nil || n != 2000000 {
		t.Fatalf("GROUP BY under 8MB: %d, %v", n, err)
	}
	_, err = c.Exec(ctx, "SELECT count(DISTINCT g), count(DISTINCT g % 7) FROM generate_series(1, 2000000) g")
	if pgErr := wantCode(t, err, "53200"); !strings.Contains(pgErr.Detail, "in HashAggregate: the query would hold more than weft.memory_limit (8388608 bytes)") {
		t.Errorf("detail %q", pgErr.Detail)
	}
	if err := other.QueryRow(ctx, windowed).Scan(&n); err != nil || n != 1000000 {
		t.Fatalf("another session: %d, %v", n, err)
	}
	if err := other.QueryRow(ctx, intersected).Scan(&n); err != nil || n != 3000000 {
		t.Fatalf("another session: %d, %v", n, err)
	}
	_, err = c.Exec(ctx, "SET weft.memory_limit = '100000TB'")
	if pgErr := wantCode(t, err, "22023"); !strings.Contains(pgErr.Message, "outside the valid range") {
		t.Errorf("message %q", pgErr.Message)
	}
	if err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n); err != nil || n != 1000 {
		t.Fatalf("the next query: %d, %v", n, err)
	}
}

// TestMessageOverConfiguredLimit: after authentication a message longer
// than MaxMessageSize gets 54000 and the connection ends.
func TestMessageOverConfiguredLimit(t *testing.T) {
	url := startServerWith(t, Config{MaxMessageSize: 1 << 20})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "postgres://tester@"), "/weft?sslmode=disable")
	nc, fe := rawStartup(t, addr, "tester")
	receiveUntil[*pgproto3.ReadyForQuery](t, fe)
	if _, err := nc.Write(messageHeader('Q', 2<<20)); err != nil {
		t.Fatal(err)
	}
	e := receiveUntil[*pgproto3.ErrorResponse](t, fe)
	if e.Code != "54000" || e.Message != "message of 2097152 bytes exceeds the server's limit of 1048576" {
		t.Fatalf("got %s %q", e.Code, e.Message)
	}
	waitClosed(t, nc)
}

// waitSessions polls pg_stat_activity from c until it lists want
// sessions (for up to 10 s) and returns the last count.
func waitSessions(t *testing.T, c *pgx.Conn, want int) int {
	t.Helper()
	var sessions int
	for range 2000 {
		if err := c.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity").Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		if sessions == want {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return sessions
}
