package driver

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/weftdb/weft"
	"github.com/weftdb/weft/sql/sqlerr"
)

// conn is one weft.Session. database/sql uses a connection from one
// goroutine at a time, which is what a session allows.
type conn struct {
	sess      *weft.Session
	db        *weft.DB
	connector *connector
	// ownConnector: the connection came from Driver.Open and gives the
	// database back when it closes.
	ownConnector bool
	closed       bool
	tx           *tx // the driver transaction open on the session
}

var (
	_ sqldriver.Conn               = (*conn)(nil)
	_ sqldriver.ConnPrepareContext = (*conn)(nil)
	_ sqldriver.ConnBeginTx        = (*conn)(nil)
	_ sqldriver.ExecerContext      = (*conn)(nil)
	_ sqldriver.QueryerContext     = (*conn)(nil)
	_ sqldriver.Pinger             = (*conn)(nil)
	_ sqldriver.SessionResetter    = (*conn)(nil)
	_ sqldriver.Validator          = (*conn)(nil)
	_ sqldriver.NamedValueChecker  = (*conn)(nil)
)

func (c *conn) Prepare(query string) (sqldriver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext parses and binds the statement once; each execution
// binds the values and plans it again, as a PostgreSQL generic plan would
// be re-checked against the catalog.
func (c *conn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	p, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return &stmt{conn: c, prep: p}, nil
}

// Close ends the session; an open transaction block is rolled back.
func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	c.sess.Close()
	if c.ownConnector {
		return c.connector.Close()
	}
	return nil
}

func (c *conn) Begin() (sqldriver.Tx, error) {
	return c.BeginTx(context.Background(), sqldriver.TxOptions{})
}

// BeginTx opens a transaction block with BEGIN, naming the isolation
// level and access mode asked for.
func (c *conn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.tx != nil || c.sess.InTransaction() {
		return nil, sqlerr.New(sqlerr.ActiveTransaction, "there is already a transaction in progress")
	}
	begin, err := beginStatement(opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.exec(ctx, begin, nil); err != nil {
		return nil, err
	}
	c.tx = &tx{conn: c}
	return c.tx, nil
}

// ExecContext runs a statement; without arguments the query may hold
// several statements, run as PostgreSQL's simple query protocol would.
func (c *conn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	return c.exec(ctx, query, args)
}

func (c *conn) exec(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	results, err := c.run(ctx, query, args, false)
	if err != nil {
		return nil, err
	}
	defer releaseAll(results)
	return execResult{tag: results[len(results)-1].Tag}, nil
}

// QueryContext runs a statement and returns its rows. Without arguments
// the query may hold several statements: each that returns rows is one
// result set (Rows.NextResultSet).
func (c *conn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	results, err := c.run(ctx, query, args, true)
	if err != nil {
		return nil, err
	}
	return newRows(ctx, c, rowResults(results)), nil
}

// run executes query and returns at least one result (the caller
// releases them); with stream, a single query's rows are computed as
// they are read.
func (c *conn) run(ctx context.Context, query string, args []sqldriver.NamedValue, stream bool) ([]*weft.Result, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if len(args) == 0 && stream {
		res, err := c.sess.QueryStream(ctx, query)
		switch {
		case err == nil:
			return []*weft.Result{res}, nil
		case !errors.Is(err, weft.ErrNotOneStatement):
			return nil, c.failure(ctx, err)
		}
		// several statements: each one's result whole, as Exec gives them
	}
	if len(args) == 0 {
		results, err := c.sess.Exec(ctx, query)
		if err != nil {
			releaseAll(results)
			return nil, c.failure(ctx, err)
		}
		if len(results) == 0 { // only comments or semicolons
			results = []*weft.Result{{}}
		}
		for i, r := range results {
			if r == nil {
				results[i] = &weft.Result{}
			}
		}
		return results, nil
	}
	p, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := c.runPrepared(ctx, p, args, stream)
	if err != nil {
		return nil, err
	}
	return []*weft.Result{res}, nil
}

// prepare parses and describes one statement. Its failure fails an open
// transaction block, as a failed Parse does in PostgreSQL (Weft checks
// some things, such as a read-only block's refusal to write, while
// describing).
func (c *conn) prepare(ctx context.Context, query string) (*weft.Prepared, error) {
	p, err := c.sess.Prepare(ctx, query, nil)
	if err != nil {
		c.sess.FailTransaction()
		return nil, c.failure(ctx, err)
	}
	return p, nil
}

// runPrepared binds the arguments to the statement's parameter types and
// executes it.
func (c *conn) runPrepared(ctx context.Context, p *weft.Prepared, args []sqldriver.NamedValue, stream bool) (*weft.Result, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	params, err := bindParams(p.ParamTypes, args, c.sess.TimeZone())
	if err != nil {
		c.sess.FailTransaction() // a failed Bind fails the block in PostgreSQL
		return nil, err
	}
	run := c.sess.ExecPrepared
	if stream {
		run = c.sess.ExecPreparedStream
	}
	res, err := run(ctx, p, params)
	if err != nil {
		return nil, c.failure(ctx, err)
	}
	if res == nil { // a statement with nothing to report
		res = &weft.Result{}
	}
	return res, nil
}

// failure is the error a statement's caller sees. When the caller's
// context ended the statement, the error matches both the context's error
// (errors.Is) and the SQL error with SQLSTATE 57014 (errors.As).
func (c *conn) failure(ctx context.Context, err error) error {
	if ctx.Err() != nil && sqlerr.Code(err) == sqlerr.QueryCanceled {
		return fmt.Errorf("%w: %w", ctx.Err(), sqlerr.Wrap(err))
	}
	return err
}

// usable refuses work on a closed or terminated connection, which
// database/sql then replaces.
func (c *conn) usable() error {
	if c.closed || c.sess.Terminated() {
		return sqldriver.ErrBadConn
	}
	return nil
}

// Ping reports whether the session can still run statements.
func (c *conn) Ping(ctx context.Context) error { return c.usable() }

// ResetSession runs before a pooled connection is reused. A transaction
// block left open by a plain BEGIN would leak into the next user, so such
// a connection is dropped (closing rolls the block back).
func (c *conn) ResetSession(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	if c.tx == nil && c.sess.InTransaction() {
		return sqldriver.ErrBadConn
	}
	return nil
}

// IsValid tells the pool whether to keep the connection.
func (c *conn) IsValid() bool { return c.usable() == nil }

// CheckNamedValue accepts Go slices as array parameters (written as
// PostgreSQL array literals) and leaves the rest to database/sql.
func (c *conn) CheckNamedValue(nv *sqldriver.NamedValue) error {
	if lit, ok := arrayLiteral(nv.Value); ok {
		nv.Value = lit
		return nil
	}
	return sqldriver.ErrSkip
}

// beginStatement spells BEGIN for the options. Weft runs every block
// under snapshot isolation and records the level asked for (see
// txmode.go); LevelSnapshot is PostgreSQL's REPEATABLE READ.
func beginStatement(opts sqldriver.TxOptions) (string, error) {
	var b strings.Builder
	b.WriteString("BEGIN")
	switch level := isolationName(opts.Isolation); level {
	case "":
	case "?":
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "isolation level %d is not supported", opts.Isolation)
	default:
		b.WriteString(" ISOLATION LEVEL " + level)
	}
	if opts.ReadOnly {
		b.WriteString(" READ ONLY")
	}
	return b.String(), nil
}

// isolationName maps database/sql's levels (sql.IsolationLevel values) to
// PostgreSQL's: "" for the default, "?" for none.
func isolationName(level sqldriver.IsolationLevel) string {
	switch level {
	case 0: // sql.LevelDefault
		return ""
	case 1: // sql.LevelReadUncommitted
		return "READ UNCOMMITTED"
	case 2: // sql.LevelReadCommitted
		return "READ COMMITTED"
	case 4, 5: // sql.LevelRepeatableRead, sql.LevelSnapshot
		return "REPEATABLE READ"
	case 6: // sql.LevelSerializable
		return "SERIALIZABLE"
	}
	return "?" // LevelWriteCommitted, LevelLinearizable
}

// stmt is a prepared statement of one connection.
type stmt struct {
	conn *conn
	prep *weft.Prepared
}

var (
	_ sqldriver.StmtExecContext  = (*stmt)(nil)
	_ sqldriver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return len(s.prep.ParamTypes) }

func (s *stmt) Exec(args []sqldriver.Value) (sqldriver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *stmt) Query(args []sqldriver.Value) (sqldriver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	res, err := s.conn.runPrepared(ctx, s.prep, args, false)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	return execResult{tag: res.Tag}, nil
}

func (s *stmt) QueryContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	res, err := s.conn.runPrepared(ctx, s.prep, args, true)
	if err != nil {
		return nil, err
	}
	return newRows(ctx, s.conn, []*weft.Result{res}), nil
}

func namedValues(args []sqldriver.Value) []sqldriver.NamedValue {
	out := make([]sqldriver.NamedValue, len(args))
	for i, v := range args {
		out[i] = sqldriver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// tx is a transaction block opened by BeginTx.
type tx struct {
	conn *conn
}

// Commit ends the block. A block in which a statement failed is rolled
// back by COMMIT, as in PostgreSQL; that is an error here, since the
// caller asked for its changes to be kept.
func (t *tx) Commit() error {
	tag, err := t.end("COMMIT")
	if err != nil {
		return err
	}
	if tag == "ROLLBACK" {
		return sqlerr.New(sqlerr.InFailedTransaction, "transaction was rolled back at COMMIT: a statement in it failed")
	}
	return nil
}

func (t *tx) Rollback() error {
	_, err := t.end("ROLLBACK")
	return err
}

// end runs COMMIT or ROLLBACK. It ignores any context: database/sql
// ends a transaction whose context was cancelled with Rollback, which
// must still happen.
func (t *tx) end(statement string) (string, error) {
	c := t.conn
	if c.tx != t {
		return "", sqlerr.New(sqlerr.NoActiveTransaction, "transaction has already been committed or rolled back")
	}
	c.tx = nil
	if err := c.usable(); err != nil {
		return "", err
	}
	res, err := c.sess.Query(context.Background(), statement)
	if err != nil {
		return "", err
	}
	defer res.Release()
	return res.Tag, nil
}

// execResult reads the affected-row count off a command tag.
type execResult struct {
	tag string
}

// LastInsertId is not something PostgreSQL reports: use RETURNING.
func (r execResult) LastInsertId() (int64, error) {
	return 0, sqlerr.New(sqlerr.FeatureNotSupported, "LastInsertId is not supported by weft; use INSERT ... RETURNING")
}

// RowsAffected is the last number of the tag ("INSERT 0 3", "UPDATE 2",
// "SELECT 5"); tags without one (CREATE TABLE) affect 0 rows.
func (r execResult) RowsAffected() (int64, error) {
	fields := strings.Fields(r.tag)
	if len(fields) < 2 {
		return 0, nil
	}
	n, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		return 0, nil
	}
	return n, nil
}

// rowResults keeps the results that return rows (releasing the others),
// or the last result when none does.
func rowResults(results []*weft.Result) []*weft.Result {
	var keep []*weft.Result
	for _, r := range results {
		if r.Query {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		keep = results[len(results)-1:]
	}
	for _, r := range results {
		if !contains(keep, r) {
			r.Release()
		}
	}
	return keep
}

func contains(rs []*weft.Result, r *weft.Result) bool {
	for _, k := range rs {
		if k == r {
			return true
		}
	}
	return false
}

func releaseAll(results []*weft.Result) {
	for _, r := range results {
		if r != nil {
			r.Release()
		}
	}
}
