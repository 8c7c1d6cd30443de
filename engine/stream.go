package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// A query's rows can be computed as the caller reads them: Result.Next
// pulls one batch at a time from the running plan, and the statement (its
// context, statement timeout, memory accounting, pg_stat_activity row)
// lasts until the last batch was read or the result is released. Only the
// entry points that say so stream (Script.Run, QueryStream,
// ExecPreparedStream); Exec, Query and ExecPrepared hand back whole
// results as before.
//
// A session runs one statement at a time. A streamed result still open
// when the session is asked to run something else is first read to its
// end into memory (settle), so that its holder can go on reading it and
// the new statement starts from a quiet session: interleaved portals of
// the extended protocol keep working, at the cost of memory.

// resultStream is the part of a streamed query still to run.
type resultStream struct {
	s   *Session
	st  exec.Stream
	ctx context.Context // the statement's
	// interrupt cancels the statement's context (from any goroutine)
	interrupt context.CancelFunc
	// end ends the statement (statementContext's cleanup and more) as
	// it ended: failed, or not; its error is a commit's that failed
	end  func(failed error) error
	rows int64
}

// Next returns the result's next batch, which the caller must release;
// nil (with no error) after the last one. A streamed query computes the
// batch now; ctx cancels it (and with it the statement).
func (r *Result) Next(ctx context.Context) (arrow.Record, error) {
	if r.stream != nil {
		return r.stream.next(ctx, r)
	}
	if r.next >= len(r.Batches) {
		return nil, nil
	}
	b := r.Batches[r.next]
	r.next++
	b.Retain()
	return b, nil
}

func (rs *resultStream) next(ctx context.Context, r *Result) (arrow.Record, error) {
	stop := context.AfterFunc(ctx, rs.interrupt)
	defer stop()
	for {
		var b arrow.Record
		err := exec.Guard(func() error {
			var err error
			b, err = rs.st.Next(rs.ctx)
			return err
		})
		if err == io.EOF {
			if err := r.finish(nil); err != nil {
				return nil, err // the commit of what its functions wrote
			}
			return nil, nil
		}
		if err != nil {
			err = rs.s.statementError(err, rs.ctx, ctx)
			r.finish(err)
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		rs.rows += b.NumRows()
		return b, nil
	}
}

// finish ends a streamed result's statement: the tag gets its row count,
// and a failure fails the transaction block as any statement's would.
// The error is the statement's end's, when it failed though err is nil
// (the commit of what PL/pgSQL functions wrote as the rows were read).
func (r *Result) finish(err error) error {
	rs := r.stream
	if rs == nil {
		return nil
	}
	r.stream = nil
	rs.st.Close()
	if endErr := rs.end(err); endErr != nil && err == nil {
		err = endErr
	}
	// what RAISE NOTICE said while the rows were computed goes out with
	// the statement's tail (or before its error), not the next statement's
	r.Notices = append(r.Notices, rs.s.pl.takeNotices()...)
	if rs.s.open == r {
		rs.s.open = nil
	}
	r.Tag = fmt.Sprintf("SELECT %d", rs.rows)
	if err != nil {
		r.err = err
		if r.script != nil {
			r.script.fail(err)
		} else {
			rs.s.statementFailed(err)
		}
	}
	rs.s.noteState()
	return err
}

// Err is the error that ended a streamed result early (nil otherwise).
func (r *Result) Err() error { return r.err }

// Streaming reports whether rows are still to be computed.
func (r *Result) Streaming() bool { return r.stream != nil }

// settle reads the session's open streamed result, if any, to its end
// into memory, so that another statement can run.
func (s *Session) settle() {
	r := s.open
	if r == nil {
		return
	}
	rest := r.Batches[r.next:]
	for {
		b, err := r.stream.next(context.Background(), r)
		if err != nil || b == nil {
			break
		}
		rest = append(rest, b)
	}
	r.Batches, r.next = rest, 0
}

// statementError turns a statement's failure into what the client sees:
// the statement timeout and the query memory limit are named as such.
func (s *Session) statementError(err error, sctx, ctx context.Context) error {
	if err == nil {
		return nil
	}
	if sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		err = sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to statement timeout")
	}
	if s.queryMem != nil && s.queryMem.Exceeded() != nil {
		err = s.queryMem.Exceeded() // cancelled for passing weft.query_memory_limit
	}
	return err
}

// statementFailed fails the transaction a statement ran in: an implicit
// one (several statements in one string) is rolled back, an open block
// refuses further statements until it ends.
func (s *Session) statementFailed(err error) {
	if s.tx != nil && s.tx.implicit {
		s.endImplicit(err)
	} else {
		s.AbortBlock()
	}
	returnMemoryAfter(err)
}

// statementCall is one statement to run: its parse tree, the text it came
// from (the whole string) and, for a prepared statement, its parameters.
type statementCall struct {
	sql        string
	raw        *pg.RawStmt
	text       string // the statement's own text (pg_stat_activity)
	params     []types.Datum
	paramTypes []types.T
	stream     bool // a query's rows may stream
}

// runStatement runs one statement as its own unit of work: the statement
// context, the writes it makes durable, the advisory locks it takes. A
// streamed query's result keeps all of that until it is read or released.
// The caller fails the transaction on error (statementFailed).
func (s *Session) runStatement(ctx context.Context, call statementCall) (res *Result, err error) {
	parent := ctx
	if call.stream {
		// the statement outlives this call: its context must not end
		// with ctx, which cancels it only while it is in use (Next)
		parent = context.WithoutCancel(ctx)
	}
	// ctx ending only interrupts the statement: its end, which gives the
	// session back its allocator and spill space, runs here once the
	// statement stops (run on ctx's goroutine it raced with the statement,
	// which then read another allocator's state and lost its spill files)
	sctx, interrupt, endStatement := s.statementContext(parent, call.text)
	stop := context.AfterFunc(ctx, interrupt)
	defer stop()
	s.ctx, s.params, s.paramTypes = sctx, call.params, call.paramTypes
	s.topStmt, s.topText = call.raw, call.text
	rowsOnly := changesRowsOnly(call.raw)
	if !rowsOnly && changesState(call.raw) {
		s.db.ddlInFlight.Add(1)
		defer s.db.ddlInFlight.Add(-1)
	}
	s.beginWrites(rowsOnly)
	s.writes.loads = addsRows(call.raw)
	s.resetProgress()
	end := func(failed error) (commitErr error) {
		if s.pl.ownsTx {
			// a streamed query's functions wrote as it was read: kept when
			// it ended well, undone when it failed
			commitErr = s.endPLBlock(failed)
		}
		s.releaseXactAdvisory() // a statement outside a block is its own transaction
		if s.tx == nil {
			// and holds no row lock past its end, however it ended (a
			// path failing or recovering from a panic between taking and
			// letting go of them would leave other sessions waiting)
			s.releaseRowLocks()
		}
		s.endWrites()
		s.ctx, s.params, s.paramTypes = nil, nil, nil
		s.topStmt, s.topText = nil, ""
		endStatement()
		return commitErr
	}
	s.streaming = call.stream
	err = exec.Guard(func() error {
		var err error
		res, err = s.execStmt(sctx, call.sql, call.raw)
		err = s.statementError(err, sctx, ctx)
		if err == nil && changesState(call.raw) {
			if perr := s.commitWrites(); perr != nil {
				res.Release()
				res = nil
				return perr
			}
		}
		return err
	})
	if s.pl.ownsTx && (err != nil || res == nil || res.stream == nil) {
		if perr := s.endPLBlock(err); perr != nil && err == nil {
			res.Release()
			res, err = nil, perr
		}
	}
	s.streaming = false
	if notices := s.pl.takeNotices(); res != nil && len(notices) > 0 {
		res.Notices = append(res.Notices, notices...) // RAISE NOTICE in PL/pgSQL it ran
	}
	if err != nil || res == nil || res.stream == nil {
		if err != nil && res != nil {
			res.Release()
			res = nil
		}
		end(err) // (the block of its functions has ended above)
		return res, err
	}
	res.stream.ctx, res.stream.interrupt, res.stream.end = sctx, interrupt, end
	s.open = res
	return res, nil
}

// StatementKind says how a client exchanges a statement's data.
type StatementKind int

const (
	// KindCommand returns a command tag and, for a query, rows.
	KindCommand StatementKind = iota
	// KindCopyIn is COPY … FROM STDIN: the client sends the rows
	// (Script.CopyIn).
	KindCopyIn
	// KindCopyOut is COPY … TO STDOUT: the result's rows go to the
	// client as COPY data, in Result.Copy's format.
	KindCopyOut
)

// Script is the statements of one query string, parsed once and run one
// at a time, as PostgreSQL's simple query protocol runs them: several
// statements outside a block run as one implicit transaction when they
// can (implicit.go), and the first failure ends the script.
type Script struct {
	s     *Session
	sql   string
	stmts []*pg.RawStmt
	next  int
	err   error
}

// Start parses sql into a script. A parse error fails an open block.
func (s *Session) Start(sql string) (*Script, error) {
	s.settle()
	if err := s.checkTerminated(); err != nil {
		return nil, err
	}
	stmts, err := s.parses.Parse(sql)
	if err != nil {
		s.AbortBlock()
		return nil, sqlerr.Wrap(err)
	}
	if s.tx == nil {
		if err := refuseVacuumInString(stmts); err != nil {
			return nil, err
		}
	}
	return &Script{s: s, sql: sql, stmts: stmts}, nil
}

// Len is the number of statements (0 for an empty string).
func (sc *Script) Len() int { return len(sc.stmts) }

// Kind is the kind of the next statement to run; ok is false at the end
// (or after a failure).
func (sc *Script) Kind() (kind StatementKind, ok bool) {
	if sc.err != nil || sc.next >= len(sc.stmts) {
		return 0, false
	}
	cp := sc.stmts[sc.next].Stmt.GetCopyStmt()
	switch {
	case cp == nil || cp.Filename != "" || cp.IsProgram:
		return KindCommand, true
	case cp.IsFrom:
		return KindCopyIn, true
	}
	return KindCopyOut, true
}

// Run runs the next statement. A query's rows stream: the result must be
// read or released before the script goes on (the next Run reads what is
// left into memory first).
func (sc *Script) Run(ctx context.Context) (*Result, error) {
	return sc.run(ctx, true)
}

// runWhole runs the next statement with its result whole in memory (Exec).
func (sc *Script) runWhole(ctx context.Context) (*Result, error) {
	return sc.run(ctx, false)
}

// run runs the next statement, its rows streamed or whole.
func (sc *Script) run(ctx context.Context, stream bool) (*Result, error) {
	kind, ok := sc.Kind()
	if !ok {
		return nil, sqlerr.New(sqlerr.Internal, "no statement left to run")
	}
	s := sc.s
	s.settle()
	st := sc.stmts[sc.next]
	sc.beginImplicitHere()
	sc.next++
	defer s.noteState()
	var res *Result
	var err error
	if stream && kind == KindCopyOut {
		res, err = s.copyOutStatement(ctx, sc.sql, st)
	} else {
		res, err = s.runStatement(ctx, statementCall{sql: sc.sql, raw: st, text: parser.StatementText(sc.sql, st), stream: stream})
	}
	if err != nil {
		return nil, sc.fail(err)
	}
	res.script = sc
	return res, nil
}

// beginImplicitHere opens the implicit transaction the statements from
// the next one on run in, when they are several and can.
func (sc *Script) beginImplicitHere() {
	s := sc.s
	if s.tx == nil && len(sc.stmts) > 1 && startsImplicit(sc.stmts[sc.next:]) {
		s.beginImplicit()
	}
}

// CopyIn starts the next statement, a COPY … FROM STDIN: the caller adds
// the client's rows and commits (or aborts) before going on.
func (sc *Script) CopyIn() (*CopyIn, error) {
	kind, ok := sc.Kind()
	if !ok || kind != KindCopyIn {
		return nil, sqlerr.New(sqlerr.Internal, "the next statement is not COPY FROM STDIN")
	}
	s := sc.s
	s.settle()
	st := sc.stmts[sc.next]
	sc.beginImplicitHere()
	sc.next++
	if err := s.refuseInFailedBlock(st); err != nil {
		return nil, sc.fail(err)
	}
	cp := st.Stmt.GetCopyStmt()
	opts, err := copyfmt.ParseOptions(cp, "text", "csv", "binary")
	if err != nil {
		return nil, sc.fail(err)
	}
	in, err := s.beginCopyIn(cp)
	if err != nil {
		return nil, sc.fail(err)
	}
	in.script, in.Options = sc, opts
	return in, nil
}

// fail ends the script at a failed statement.
func (sc *Script) fail(err error) error {
	if sc.err != nil {
		return sc.err
	}
	sc.err = sqlerr.Wrap(err)
	sc.s.statementFailed(err)
	return sc.err
}

// Finish ends the script: the implicit transaction of a script that ran
// to its end commits. It returns the script's failure, or the commit's.
func (sc *Script) Finish() error {
	sc.s.settle()
	defer sc.s.noteState()
	if sc.err != nil {
		return sc.err
	}
	if err := sc.s.endImplicit(nil); err != nil {
		sc.err = sqlerr.Wrap(err)
	}
	return sc.err
}

// BeginCopy starts sql, a single COPY … FROM STDIN, for a caller that
// supplies the rows itself (a bulk load through COPY's parsing and
// defaults; the server's COPY runs through Script.CopyIn).
func (s *Session) BeginCopy(sql string) (*CopyIn, error) {
	sc, err := s.Start(sql)
	if err != nil {
		return nil, err
	}
	if kind, ok := sc.Kind(); !ok || kind != KindCopyIn || sc.Len() != 1 {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "BeginCopy needs a single COPY … FROM STDIN statement")
	}
	return sc.CopyIn()
}

// ErrNotOneStatement is QueryStream's refusal of a string of several
// statements (or none), before it runs any: use Exec for those.
var ErrNotOneStatement = sqlerr.New(sqlerr.SyntaxError, "QueryStream takes exactly one statement")

// QueryStream runs one statement and returns its result with a query's
// rows streamed: read them with Next, then Release the result (the
// session runs nothing else meanwhile; if it is asked to, the rest is
// read into memory first). With parameters, use Prepare and
// ExecPreparedStream.
func (s *Session) QueryStream(ctx context.Context, sql string) (*Result, error) {
	sc, err := s.Start(sql)
	if err != nil {
		return nil, err
	}
	if sc.Len() != 1 {
		return nil, ErrNotOneStatement
	}
	if kind, _ := sc.Kind(); kind == KindCopyIn {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COPY FROM STDIN needs BeginCopy")
	}
	return sc.Run(ctx)
}
