// Package pgwire serves a Weft database over the PostgreSQL wire protocol
// (protocol 3.0): startup, the simple and extended query protocols, and
// cancellation. Messages are read and written with pgx's pgproto3.
package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// ServerVersion is what clients read as server_version: psql and pgjdbc
// need it to start with a PostgreSQL major.minor.
const ServerVersion = "15.0 (Weft " + engine.Version + ")"

// Config configures a Server.
type Config struct {
	// MaxMessageSize bounds one client message (default 1 GiB).
	MaxMessageSize int
	// Log receives one line per connection and per failed query (nil: none).
	Log *log.Logger
	// Auth is the authentication method: AuthTrust (default), AuthPassword
	// or AuthSCRAM, checked against roles made with CREATE ROLE … PASSWORD.
	Auth string
	// TLS, when set, is offered to clients that ask for it (SSLRequest);
	// nil answers 'N' and clients continue in plain text.
	TLS *tls.Config
	// MaxConnections bounds the sessions served at once (PostgreSQL's
	// max_connections; default 100); one more is refused with 53300.
	MaxConnections int
	// AuthTimeout bounds the startup and authentication of a connection
	// (PostgreSQL's authentication_timeout; default 60s): a client that has
	// not finished by then is disconnected.
	AuthTimeout time.Duration
}

// Defaults of the Config fields, as in PostgreSQL.
const (
	DefaultMaxConnections = 100
	DefaultAuthTimeout    = 60 * time.Second
)

// Server accepts connections for one database.
type Server struct {
	db  *engine.DB
	cfg Config

	mu       sync.Mutex
	conns    map[uint32]*conn // by process id, for CancelRequest
	sessions int              // admitted connections, against MaxConnections
	wg       sync.WaitGroup
}

// New returns a server for db.
func New(db *engine.DB, cfg Config) *Server {
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = 1 << 30
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	return &Server{db: db, cfg: cfg, conns: map[uint32]*conn{}}
}

// Serve accepts connections until ln is closed, then waits for the
// connections it started to end.
func (s *Server) Serve(ln net.Listener) error {
	defer s.wg.Wait()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !isTemporaryAcceptError(err) {
				return err
			}
			// out of descriptors or a connection aborted while queued:
			// wait for connections to end instead of giving up serving
			backoff = nextBackoff(backoff)
			s.logf("accept: %v; retrying in %v", err, backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(nc)
		}()
	}
}

// isTemporaryAcceptError reports accept failures that pass: running out
// of file descriptors (EMFILE, ENFILE) or memory for sockets, and a client
// that gave up while its connection was queued.
func isTemporaryAcceptError(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// nextBackoff doubles the wait between failed accepts from 5 ms up to 1 s.
func nextBackoff(d time.Duration) time.Duration {
	if d == 0 {
		return 5 * time.Millisecond
	}
	return min(2*d, time.Second)
}

// admit counts a new session against MaxConnections; false: refused.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions >= s.cfg.MaxConnections {
		return false
	}
	s.sessions++
	return true
}

func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions--
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		s.cfg.Log.Printf(format, args...)
	}
}

// register files c under its session's process id for CancelRequest,
// refusing it past its role's CONNECTION LIMIT (which superusers are not
// held to, as in PostgreSQL).
func (s *Server) register(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.db.Role(c.user); ok && r.ConnLimit != nil && !r.Superuser {
		n := 0
		for _, other := range s.conns {
			if other.user == c.user {
				n++
			}
		}
		if n >= int(*r.ConnLimit) {
			return sqlerr.New(sqlerr.TooManyConnections, "too many connections for role \"%s\"", c.user)
		}
	}
	c.pid = uint32(c.sess.BackendPID())
	var b [4]byte
	rand.Read(b[:])
	c.secret = binary.BigEndian.Uint32(b[:])
	s.conns[c.pid] = c
	return nil
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c.pid)
}

// cancel handles a CancelRequest: the query running on the connection
// with that process id and secret key is cancelled.
func (s *Server) cancel(pid, secret uint32) {
	s.mu.Lock()
	c := s.conns[pid]
	s.mu.Unlock()
	if c != nil && c.secret == secret {
		c.cancelRunning()
	}
}

func (s *Server) handle(nc net.Conn) {
	defer nc.Close()
	c := &conn{srv: s, portals: map[string]*portal{}}
	c.attach(nc)
	defer func() { c.raw.Close() }()
	defer func() {
		if c.admitted {
			s.release()
		}
	}()
	// a connection registered during startup counts (CONNECTION LIMIT,
	// cancel requests) until it ends, however startup went
	defer func() {
		if c.pid != 0 {
			s.unregister(c)
		}
	}()
	// the whole startup, authentication included, must finish in time
	nc.SetDeadline(time.Now().Add(s.cfg.AuthTimeout))
	ok, err := c.startup()
	if c.sess != nil {
		defer c.sess.Close()
	}
	if err != nil {
		var tooLong *messageTooLong
		switch {
		case errors.As(err, &tooLong):
			c.sendFatal(sqlerr.New(sqlerr.ProtocolViolation, "invalid length of startup packet"))
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.logf("connection from %s: canceling authentication due to timeout", nc.RemoteAddr())
		case !errors.Is(err, io.EOF):
			s.logf("connection from %s: startup failed: %v", nc.RemoteAddr(), err)
		}
		return
	}
	if !ok {
		return
	}
	nc.SetDeadline(time.Time{})
	s.logf("connection from %s: user=%s database=%s pid=%d", nc.RemoteAddr(), c.user, c.database, c.pid)
	if err := c.serve(); err != nil && !errors.Is(err, io.EOF) {
		s.logf("connection pid=%d: %v", c.pid, err)
	}
}

// Addr formats a listen address.
func Addr(host string, port int) string { return net.JoinHostPort(host, fmt.Sprint(port)) }

// ListenAndServe listens on addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	return s.Serve(ln)
}
