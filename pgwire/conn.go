package pgwire

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// conn is one client connection and its session.
type conn struct {
	srv     *Server
	raw     net.Conn // the transport: the TCP connection, or TLS over it
	wc      *watchedConn
	frames  *frameReader
	in      *bufio.Reader // the connection's input, buffered
	tls     bool
	backend *pgproto3.Backend
	sess    *engine.Session

	pid, secret    uint32
	user, database string
	admitted       bool // counted against max_connections

	portals map[string]*portal

	mu     sync.Mutex
	cancel context.CancelFunc // of the running query
	// terminating: pg_terminate_backend ended the session; the
	// connection closes with 57P01 at the next chance
	terminating atomic.Bool
	// lastReported holds the values clients were last sent (ParameterStatus)
	lastReported map[string]string

	// wmu is held by the message loop except while it waits for the
	// client, so that notifications can be written to an idle connection
	// from the goroutine woken for them (notify.go); idle says the loop
	// waits outside a transaction block, when PostgreSQL delivers them.
	wmu  sync.Mutex
	idle atomic.Bool
	// rowBuf collects encoded DataRows, written past the backend's buffer
	// (which pgproto3 replaces after every large flush: garbage for each
	// batch of a long result); pendingSince is when small batches began
	// to wait in the backend's buffer (endBatch)
	rowBuf       []byte
	pendingSince time.Time
	pendingBytes int
}

type statement struct {
	prep *engine.Prepared
	oids []uint32
}

type portal struct {
	stmt          *statement
	params        []types.Datum
	resultFormats []int16
	// a partly fetched result (row-limited Execute)
	rows    *rowCursor
	started bool
}

// attach makes nc the connection messages travel over.
func (c *conn) attach(nc net.Conn) {
	c.raw = nc
	c.wc = &watchedConn{Conn: nc}
	// reads are buffered: a client that sends Bind, Execute and Sync in
	// one packet costs one read, not two per message (header, body)
	c.in = bufio.NewReaderSize(c.wc, inputBuffer)
	c.frames = &frameReader{src: c.in, startup: true, limit: maxStartupPacket}
	c.backend = pgproto3.NewBackend(c.frames, nc)
	c.backend.SetMaxBodyLen(c.srv.cfg.MaxMessageSize)
}

// terminate is pg_terminate_backend's end of the connection, called from
// another session: it wakes the message loop, which says goodbye.
func (c *conn) terminate() {
	c.terminating.Store(true)
	c.cancelRunning()
	c.raw.SetReadDeadline(time.Now())
}

// goodbye tells a terminated client why its connection ends.
func (c *conn) goodbye() error {
	c.sendFatal(sqlerr.New(sqlerr.AdminShutdown, "terminating connection due to administrator command"))
	return nil
}

func (c *conn) cancelRunning() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
}

// startup runs the startup phase; ok is false for connections that only
// came to cancel a query or were refused.
func (c *conn) startup() (bool, error) {
	for {
		msg, err := c.backend.ReceiveStartupMessage()
		if err != nil {
			return false, err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if c.srv.cfg.TLS == nil || c.tls {
				if _, err := c.raw.Write([]byte("N")); err != nil {
					return false, err
				}
				continue
			}
			if _, err := c.raw.Write([]byte("S")); err != nil {
				return false, err
			}
			tc := tls.Server(c.raw, c.srv.cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return false, fmt.Errorf("TLS handshake: %w", err)
			}
			c.tls = true
			c.attach(tc)
		case *pgproto3.GSSEncRequest:
			if _, err := c.raw.Write([]byte("N")); err != nil {
				return false, err
			}
		case *pgproto3.CancelRequest:
			if len(m.SecretKey) == 4 {
				c.srv.cancel(m.ProcessID, binary.BigEndian.Uint32(m.SecretKey))
			}
			return false, nil
		case *pgproto3.StartupMessage:
			params := map[string]string{}
			for k, v := range m.Parameters {
				params[strings.ToLower(k)] = v
			}
			c.user, c.database = params["user"], params["database"]
			if c.database == "" {
				c.database = c.user
			}
			if !c.srv.admit() {
				c.sendFatal(sqlerr.New(sqlerr.TooManyConnections, "sorry, too many clients already"))
				return false, nil
			}
			c.admitted = true
			c.frames.expect(false, maxAuthMessage)
			if err := c.authenticate(); err != nil {
				var tooLong *messageTooLong
				if errors.As(err, &tooLong) {
					c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "invalid message length"))
				}
				return false, nil
			}
			c.frames.expect(false, c.srv.cfg.MaxMessageSize)
			c.sess = c.srv.db.NewSession()
			c.sess.SetClient(c.raw.RemoteAddr().String(), c.terminate)
			if err := c.srv.register(c); err != nil {
				c.fatal(sqlerr.Wrap(err))
				return false, nil
			}
			c.sess.SetIdentity(c.user, int32(c.pid))
			c.sess.SetServerSetting("max_connections", fmt.Sprint(c.srv.cfg.MaxConnections))
			c.backend.Send(&pgproto3.AuthenticationOk{})
			status := map[string]string{
				"server_version":              ServerVersion,
				"server_encoding":             "UTF8",
				"client_encoding":             "UTF8",
				"DateStyle":                   "ISO, MDY",
				"IntervalStyle":               "postgres",
				"TimeZone":                    "UTC",
				"integer_datetimes":           "on",
				"standard_conforming_strings": "on",
				"is_superuser":                onOff(c.sess.IsSuperuser()),
				"session_authorization":       c.user,
				"application_name":            params["application_name"],
			}
			if err := c.applyStartupSettings(params); err != nil {
				// PostgreSQL refuses the connection (FATAL) for a bad value
				e := sqlerr.Wrap(err)
				c.backend.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: e.Code, Message: e.Message, Detail: e.Detail, Hint: e.Hint})
				c.backend.Flush()
				c.sess.Close()
				c.srv.unregister(c)
				return false, nil
			}
			if tz, ok := c.sess.Setting("TimeZone"); ok {
				status["TimeZone"] = tz
			}
			c.lastReported = map[string]string{}
			for k, v := range status {
				c.backend.Send(&pgproto3.ParameterStatus{Name: k, Value: v})
				c.lastReported[k] = v
			}
			key := binary.BigEndian.AppendUint32(nil, c.secret)
			c.backend.Send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: key})
			c.backend.Send(&pgproto3.ReadyForQuery{TxStatus: c.sess.TxStatus()})
			return true, c.backend.Flush()
		default:
			return false, fmt.Errorf("unexpected startup message %T", msg)
		}
	}
}

// serve runs the message loop until the client terminates.
func (c *conn) serve() error {
	defer c.closeAll()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	stop := c.deliverWhenIdle()
	defer stop()
	skipToSync := false
	for {
		if c.terminating.Load() {
			return c.goodbye()
		}
		msg, err := c.receive()
		if err != nil {
			if c.terminating.Load() {
				return c.goodbye()
			}
			var tooBig *pgproto3.ExceededMaxBodyLenErr
			var tooLong *messageTooLong
			switch {
			case errors.As(err, &tooLong):
				c.sendError(sqlerr.New(sqlerr.ProgramLimitExceeded, "message of %d bytes exceeds the server's limit of %d", tooLong.declared, tooLong.limit))
				c.backend.Flush()
			case errors.As(err, &tooBig):
				c.sendError(sqlerr.New(sqlerr.ProgramLimitExceeded, "message of %d bytes exceeds the server's limit of %d", tooBig.ActualBodyLen, c.srv.cfg.MaxMessageSize))
				c.backend.Flush()
			}
			return err
		}
		if skipToSync {
			if _, ok := msg.(*pgproto3.Sync); !ok {
				continue
			}
		}
		var qerr error
		switch m := msg.(type) {
		case *pgproto3.Query:
			c.simpleQuery(m.String)
			if c.terminating.Load() {
				return c.goodbye()
			}
			c.reportSettings() // what COMMIT or ROLLBACK put back, too
			c.sendNotifications()
			c.backend.Send(&pgproto3.ReadyForQuery{TxStatus: c.sess.TxStatus()})
		case *pgproto3.Parse:
			qerr = c.parse(m)
		case *pgproto3.Bind:
			qerr = c.bind(m)
		case *pgproto3.Describe:
			qerr = c.describe(m)
		case *pgproto3.Execute:
			qerr = c.execute(m)
		case *pgproto3.Close:
			if m.ObjectType == 'S' {
				c.sess.ClosePrepared(m.Name)
			} else {
				c.closePortal(m.Name)
			}
			c.backend.Send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			skipToSync = false
			if c.sess.TxStatus() == 'I' {
				c.closePortal("")
			}
			// as PostgreSQL, settings changed by the extended protocol's
			// statements are reported before ReadyForQuery
			c.reportSettings()
			c.sendNotifications()
			c.backend.Send(&pgproto3.ReadyForQuery{TxStatus: c.sess.TxStatus()})
		case *pgproto3.Flush:
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// as PostgreSQL, ignored: a COPY FROM STDIN failed before it
			// began and the client (pgx sends its data at once) goes on
		case *pgproto3.Terminate:
			return nil
		default:
			qerr = sqlerr.New(sqlerr.ProtocolViolation, "unsupported message %T", msg)
		}
		if qerr != nil {
			c.fail(qerr)
			skipToSync = true
		}
		if c.inputWaiting() {
			// the client sent more already (Bind, Execute, Sync in one
			// packet): the replies go out together, once it is handled
			continue
		}
		if err := c.backend.Flush(); err != nil {
			return err
		}
	}
}

// inputBuffer is the size of a connection's read buffer.
const inputBuffer = 16 << 10

// inputWaiting reports whether more of the client's input is read and
// not handled yet (replies may then wait for it: the server flushes
// before it would wait for the client, as PostgreSQL does before it
// blocks reading).
func (c *conn) inputWaiting() bool {
	return len(c.frames.pending) > 0 || c.in.Buffered() > 0
}

// receive waits for the client's next message, letting notifications
// through meanwhile when no transaction block is open.
func (c *conn) receive() (pgproto3.FrontendMessage, error) {
	c.idle.Store(c.sess.TxStatus() == 'I')
	c.wmu.Unlock()
	msg, err := c.backend.Receive()
	c.wmu.Lock()
	c.idle.Store(false)
	return msg, err
}

// deliverWhenIdle sends the session's notifications as they arrive while
// the connection waits for its client; stop ends it.
func (c *conn) deliverWhenIdle() (stop func()) {
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	c.sess.SetNotifyHook(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-wake:
				c.wmu.Lock()
				if c.idle.Load() {
					c.sendNotifications()
					c.backend.Flush()
				}
				c.wmu.Unlock()
			}
		}
	}()
	return func() {
		c.sess.SetNotifyHook(nil)
		close(done)
	}
}

// sendNotifications sends the notifications waiting for the client.
func (c *conn) sendNotifications() {
	for _, n := range c.sess.Notifications() {
		c.backend.Send(&pgproto3.NotificationResponse{PID: uint32(n.PID), Channel: n.Channel, Payload: n.Payload})
	}
}

func (c *conn) closeAll() {
	for name := range c.portals {
		c.closePortal(name)
	}
}

func (c *conn) closePortal(name string) {
	if p, ok := c.portals[name]; ok {
		if p.rows != nil {
			p.rows.release()
		}
		delete(c.portals, name)
	}
}

// fail reports an error and marks an open transaction block failed.
func (c *conn) fail(err error) {
	if c.terminating.Load() {
		return // the connection ends with 57P01 instead
	}
	c.sendError(err)
	if c.sess != nil {
		c.sess.AbortBlock()
	}
}

// sendFatal reports an error that ends the connection.
func (c *conn) sendFatal(err error) {
	e := sqlerr.Wrap(err)
	c.srv.logf("connection from %s: %s", c.raw.RemoteAddr(), sqlerr.Format(e))
	c.backend.Send(&pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: e.Code, Message: e.Message})
	c.backend.Flush()
}

func (c *conn) sendError(err error) {
	e := sqlerr.Wrap(err)
	c.srv.logf("pid=%d: %s", c.pid, sqlerr.Format(e))
	c.backend.Send(&pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: e.Code, Message: e.Message,
		Detail: e.Detail, Hint: e.Hint, Position: int32(e.Position)})
}

// run executes with a cancellable context registered for CancelRequest.
func (c *conn) run(f func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	stopWatching := c.wc.watch(cancel, !c.inputWaiting())
	defer stopWatching()
	defer func() {
		c.mu.Lock()
		c.cancel = nil
		c.mu.Unlock()
		cancel()
	}()
	return f(ctx)
}

// simpleQuery runs the statements of a Query message one at a time, as
// the engine's script hands them out, sending each query's rows as they
// are computed.
func (c *conn) simpleQuery(sql string) {
	sc, err := c.sess.Start(sql)
	if err != nil {
		c.fail(err)
		return
	}
	if sc.Len() == 0 {
		c.backend.Send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for err == nil {
		kind, ok := sc.Kind()
		if !ok {
			break
		}
		if kind == engine.KindCopyIn {
			// outside run: the client's COPY data is read here, not watched
			err = c.copyIn(sc)
			continue
		}
		err = c.run(func(ctx context.Context) error {
			res, err := sc.Run(ctx)
			if err != nil {
				return err
			}
			defer res.Release()
			return c.sendResult(ctx, res)
		})
	}
	if ferr := sc.Finish(); err == nil {
		err = ferr
	}
	if err != nil {
		c.fail(err)
	}
}

// sendResult sends one statement's outcome: its rows (as COPY data for
// COPY TO STDOUT), notices and command tag.
func (c *conn) sendResult(ctx context.Context, r *engine.Result) error {
	if r.Copy != nil {
		return c.copyOut(ctx, r)
	}
	if r.Query || len(r.Columns) > 0 {
		c.backend.Send(rowDescription(r.Columns, nil))
		rc := &rowCursor{res: r}
		err := c.sendRows(ctx, rc, nil, 0)
		if rc.cur != nil { // the client went away mid-batch
			rc.cur.Release()
		}
		if err != nil {
			c.sendNotices(r) // (what PL/pgSQL said before the failure)
			return err
		}
	}
	c.sendTail(r)
	return nil
}

// sendTail ends a statement's output: notices, changed settings, the tag.
func (c *conn) sendTail(r *engine.Result) {
	c.sendNotices(r)
	if r.Tag == "SET" || r.Tag == "RESET" {
		c.reportSettings()
	}
	c.backend.Send(&pgproto3.CommandComplete{CommandTag: []byte(r.Tag)})
}

// sendNotices sends the statement's notices (once: they are taken).
func (c *conn) sendNotices(r *engine.Result) {
	for _, n := range r.Notices {
		c.backend.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: n})
	}
	r.Notices = nil
}

func rowDescription(cols []engine.Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		fields[i] = pgproto3.FieldDescription{
			Name: []byte(col.Name), TableOID: col.TableOID, TableAttributeNumber: uint16(col.Attnum),
			DataTypeOID: col.Type.OID(), DataTypeSize: typeSize(col.Type), TypeModifier: typeModifier(col.Type),
			Format: formatOf(formats, i),
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// formatOf applies the protocol's rule: no codes means text, one code
// applies to every column, otherwise one code per column.
func formatOf(formats []int16, i int) int16 {
	switch {
	case len(formats) == 0:
		return 0
	case len(formats) == 1:
		return formats[0]
	case i < len(formats):
		return formats[i]
	}
	return 0
}

// rowCursor is a result being sent and where sending stopped: the batch
// in progress and its next row.
type rowCursor struct {
	res *engine.Result
	cur arrow.Record
	row int
}

// advance makes sure cur has a row to send, pulling batches from the
// result (computing them, for a streamed query); false at the end.
func (rc *rowCursor) advance(ctx context.Context) (bool, error) {
	for rc.cur == nil || rc.row >= int(rc.cur.NumRows()) {
		if rc.cur != nil {
			rc.cur.Release()
			rc.cur = nil
		}
		b, err := rc.res.Next(ctx)
		if err != nil || b == nil {
			return false, err
		}
		rc.cur, rc.row = b, 0
	}
	return true, nil
}

func (rc *rowCursor) release() {
	if rc.cur != nil {
		rc.cur.Release()
		rc.cur = nil
	}
	rc.res.Release()
}

// sendRows sends DataRows from a result, flushing after each batch so
// that the client gets rows while later ones are computed; with limit > 0
// it stops after that many rows and returns errSuspended when rows remain.
func (c *conn) sendRows(ctx context.Context, rc *rowCursor, formats []int16, limit int) error {
	r := rc.res
	c.pendingSince, c.pendingBytes = time.Time{}, 0 // (the backend flushed at the last message's end)
	enc := newRowEncoder(r, formats)
	msg := &pgproto3.DataRow{} // Send encodes it at once: one serves every row
	sent := 0
	for {
		more, err := rc.advance(ctx)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		if limit > 0 && sent == limit {
			return errSuspended
		}
		b := rc.cur
		for ; rc.row < int(b.NumRows()) && (limit <= 0 || sent < limit); rc.row++ {
			values, err := enc.encode(b, rc.row)
			if err != nil {
				return err
			}
			msg.Values = values
			if c.rowBuf, err = msg.Encode(c.rowBuf); err != nil {
				return err
			}
			sent++
			if len(c.rowBuf) >= maxRowBuf {
				if err := c.writeRows(); err != nil {
					return err
				}
			}
		}
		if err := c.endBatch(); err != nil {
			return err
		}
	}
}

var errSuspended = errors.New("portal suspended")

// maxRowBuf is how many bytes of DataRows are collected before they are
// written (and at the end of every batch).
const maxRowBuf = 256 << 10

// smallRows is the most a batch's DataRows may take to join the backend's
// buffer (sent with what follows: one write for a small result) rather
// than be written at once.
const smallRows = 16 << 10

// flushAfter is how long small batches may wait in the backend's buffer
// before they are written anyway, so a slow query's first rows still
// reach the client early.
const flushAfter = 20 * time.Millisecond

// endBatch sends a batch's DataRows: a small batch joins the backend's
// buffer (a lookup's one row goes out with its CommandComplete and
// ReadyForQuery in one write), a large one is written at once.
func (c *conn) endBatch() error {
	if len(c.rowBuf) >= smallRows {
		return c.writeRows()
	}
	if len(c.rowBuf) > 0 {
		c.backend.Send(encodedMessages(c.rowBuf))
		c.pendingBytes += len(c.rowBuf)
		c.rowBuf = c.rowBuf[:0]
		if c.pendingSince.IsZero() {
			c.pendingSince = time.Now()
		}
	}
	if !c.pendingSince.IsZero() && (c.pendingBytes >= maxRowBuf || time.Since(c.pendingSince) > flushAfter) {
		c.pendingSince, c.pendingBytes = time.Time{}, 0
		return c.backend.Flush()
	}
	return nil
}

// encodedMessages are backend messages already encoded (DataRows), sent
// through the backend's buffer as they are.
type encodedMessages []byte

func (m encodedMessages) Decode([]byte) error {
	return errors.New("pgwire: encoded messages are not decoded")
}
func (m encodedMessages) Encode(dst []byte) ([]byte, error) { return append(dst, m...), nil }
func (m encodedMessages) Backend()                          {}

// writeRows writes the collected DataRows to the client, after what the
// backend holds.
func (c *conn) writeRows() error {
	c.pendingSince, c.pendingBytes = time.Time{}, 0
	if err := c.backend.Flush(); err != nil {
		return err
	}
	if len(c.rowBuf) == 0 {
		return nil
	}
	_, err := c.raw.Write(c.rowBuf)
	c.rowBuf = c.rowBuf[:0]
	return err
}

// reported are the settings clients are told about when they change
// (PostgreSQL's GUC_REPORT parameters), by their ParameterStatus names
// and their settings' (lower-case) names: they are read after every
// statement, and a mixed-case name would be lowered each time.
var reported = []struct{ status, setting string }{
	{"application_name", "application_name"}, {"client_encoding", "client_encoding"}, {"DateStyle", "datestyle"},
	{"IntervalStyle", "intervalstyle"}, {"TimeZone", "timezone"}, {"standard_conforming_strings", "standard_conforming_strings"},
	{"integer_datetimes", "integer_datetimes"}, {"is_superuser", "is_superuser"}, {"session_authorization", "session_authorization"},
}

// reportSettings sends ParameterStatus for reported settings that changed.
func (c *conn) reportSettings() {
	if c.lastReported == nil {
		c.lastReported = map[string]string{}
	}
	for _, r := range reported {
		v, ok := c.sess.Setting(r.setting)
		if !ok || c.lastReported[r.status] == v {
			continue
		}
		c.lastReported[r.status] = v
		c.backend.Send(&pgproto3.ParameterStatus{Name: r.status, Value: v})
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// startupSettings are the start-up parameters that set session settings
// (by their lower-case parameter names); pgjdbc sends the JVM's TimeZone.
var startupSettings = map[string]string{"application_name": "application_name", "timezone": "TimeZone", "statement_timeout": "statement_timeout"}

// applyStartupSettings applies the settings of a start-up packet: first
// the "-c name=value" (or "--name=value") switches of its options, then
// the parameters themselves, as PostgreSQL does. They become what RESET
// returns to.
func (c *conn) applyStartupSettings(params map[string]string) error {
	var pairs [][2]string
	for _, opt := range splitStartupOptions(params["options"]) {
		if name, value, ok := strings.Cut(opt, "="); ok {
			pairs = append(pairs, [2]string{strings.ReplaceAll(name, "-", "_"), value})
		}
	}
	for param, setting := range startupSettings {
		if v, ok := params[param]; ok && v != "" {
			pairs = append(pairs, [2]string{setting, v})
		}
	}
	for _, p := range pairs {
		quoted := "'" + strings.ReplaceAll(p[1], "'", "''") + "'"
		rs, err := c.sess.Exec(context.Background(), "SET "+quoteIdent(p[0])+" = "+quoted)
		for _, r := range rs {
			r.Release()
		}
		if err != nil {
			return err
		}
		c.sess.KeepAsDefault(p[0])
	}
	return nil
}

// splitStartupOptions reads the options parameter's "-c name=value" and
// "--name=value" switches (a backslash keeps the next character, so
// "\ " is a space inside a value).
func splitStartupOptions(options string) []string {
	var words []string
	var cur strings.Builder
	escaped, inWord := false, false
	for _, r := range options {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped, inWord = false, true
		case r == '\\':
			escaped = true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	var out []string
	for i := 0; i < len(words); i++ {
		switch {
		case words[i] == "-c" && i+1 < len(words):
			out = append(out, words[i+1])
			i++
		case strings.HasPrefix(words[i], "-c"):
			out = append(out, words[i][2:])
		case strings.HasPrefix(words[i], "--"):
			out = append(out, words[i][2:])
		}
	}
	return out
}

// quoteIdent quotes a setting name for a SET statement.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
