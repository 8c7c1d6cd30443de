// Package weft is the embedding API of the Weft SQL engine: open a
// database, start sessions, run PostgreSQL-dialect SQL, get Arrow results.
//
// It is a thin layer over package engine, which runs the statements; the
// PostgreSQL server (package pgwire) and the command line use engine
// directly. Everything a Go program needs to embed Weft is here:
//
//	db, err := weft.Open(weft.Options{DataDir: "mydb"})
//	s := db.NewSession()
//	res, err := s.Query(ctx, "SELECT 1")
//
// For database/sql, see package driver.
package weft

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/types"
)

// Version is the engine's version.
const Version = engine.Version

// Options configures a database (see engine.Options for each field).
type Options = engine.Options

// Column describes a result column.
type Column = engine.Column

// Result is the outcome of one statement; call Release when done with
// its batches.
type Result = engine.Result

// Prepared is a parsed and bound statement, run with ExecPrepared.
type Prepared = engine.Prepared

// Notification is a NOTIFY delivered to a listening session.
type Notification = engine.Notification

// DB is an open database, safe for concurrent use by many sessions. A data
// directory can be open in one DB of one process at a time.
type DB struct {
	engine *engine.DB
}

// Open opens a database: in memory, or kept in opts.DataDir.
func Open(opts Options) (*DB, error) {
	db, err := engine.Open(opts)
	if err != nil {
		return nil, err
	}
	return &DB{engine: db}, nil
}

// Close closes the database; its sessions must be closed first.
func (db *DB) Close() error { return db.engine.Close() }

// NewSession starts a session running as the database's bootstrap
// superuser.
func (db *DB) NewSession() *Session { return &Session{s: db.engine.NewSession()} }

// ColumnNullable reports whether a result column read straight from a
// table (Column.TableOID, Column.Attnum) may be NULL; ok is false for a
// computed column.
func (db *DB) ColumnNullable(tableOID uint32, attnum int) (nullable, ok bool) {
	if tableOID == 0 || attnum <= 0 {
		return false, false
	}
	t := db.engine.Catalog().TableByOID(tableOID)
	if t == nil || attnum > len(t.Columns) {
		return false, false
	}
	return !t.Columns[attnum-1].NotNull, true
}

// Session is one connection's state (search path, settings, an open
// transaction block). A session runs one statement at a time.
type Session struct {
	s *engine.Session
}

// Close ends the session; an open transaction block is rolled back.
func (s *Session) Close() { s.s.Close() }

// Exec runs every statement of sql, stopping at the first error; the
// results of the statements that ran come back with it.
func (s *Session) Exec(ctx context.Context, sql string) ([]*Result, error) {
	return s.s.Exec(ctx, sql)
}

// Query runs one statement and returns its whole result.
func (s *Session) Query(ctx context.Context, sql string) (*Result, error) {
	return s.s.Query(ctx, sql)
}

// ErrNotOneStatement is QueryStream's refusal of a string of several
// statements (or none), before it runs any of them: Exec runs those.
var ErrNotOneStatement = engine.ErrNotOneStatement

// QueryStream runs one statement and returns its result with a query's
// rows computed as they are read: call Next until it returns nil, then
// Release. The session runs nothing else meanwhile (if asked to, it
// first reads the rest into memory).
func (s *Session) QueryStream(ctx context.Context, sql string) (*Result, error) {
	return s.s.QueryStream(ctx, sql)
}

// ExecPreparedStream is ExecPrepared with a query's rows streamed, as
// QueryStream's.
func (s *Session) ExecPreparedStream(ctx context.Context, p *Prepared, params []types.Datum) (*Result, error) {
	return s.s.ExecPreparedStream(ctx, p, params)
}

// Prepare parses and binds one statement with parameters $1…$n, whose
// types are declared (an unknown one is inferred from its use).
func (s *Session) Prepare(ctx context.Context, sql string, declared []types.T) (*Prepared, error) {
	return s.s.Prepare(ctx, sql, declared)
}

// ExecPrepared runs a prepared statement with its parameter values.
func (s *Session) ExecPrepared(ctx context.Context, p *Prepared, params []types.Datum) (*Result, error) {
	return s.s.ExecPrepared(ctx, p, params)
}

// AppendArrow adds record batches to a table in one atomic step (the bulk
// load of the embedding API); the caller keeps its references to recs.
func (s *Session) AppendArrow(table string, recs []arrow.Record) (int64, error) {
	return s.s.AppendArrow(table, recs)
}

// InTransaction reports whether a transaction block is open.
func (s *Session) InTransaction() bool { return s.s.InTransaction() }

// TimeZone is the session's TimeZone setting (timestamptz values are
// shown in it, and times without a zone read in it).
func (s *Session) TimeZone() *time.Location { return s.s.TimeZone() }

// Terminated reports whether pg_terminate_backend ended the session.
func (s *Session) Terminated() bool { return s.s.Terminated() }

// FailTransaction marks an open transaction block failed, as PostgreSQL
// does when a step of a statement fails outside SQL (a client driver's
// argument conversion): only ROLLBACK is accepted until it ends.
func (s *Session) FailTransaction() { s.s.AbortBlock() }

// Setting returns a setting's current value (SHOW's).
func (s *Session) Setting(name string) (string, bool) { return s.s.Setting(name) }

// Notifications returns and clears the NOTIFY messages delivered to the
// session's LISTEN channels.
func (s *Session) Notifications() []Notification { return s.s.Notifications() }
