package engine

import (
	"context"
	"errors"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"google.golang.org/protobuf/proto"
)

// errDescribeOnly stops a DML statement after binding (Prepare).
var errDescribeOnly = errors.New("described only")

// Prepared is a parsed statement with parameters ($1…), as the extended
// query protocol uses it: described once, executed many times.
type Prepared struct {
	SQL  string
	stmt *pg.RawStmt // nil for an empty statement
	// ParamTypes are the parameters' types: as the client declared them, or
	// inferred from context (text where nothing says otherwise).
	ParamTypes []types.T
	// Columns describes the result rows (nil when the statement returns none).
	Columns []Column
}

// Empty reports whether the statement has no SQL (only comments or ;).
func (p *Prepared) Empty() bool { return p.stmt == nil }

// Prepare parses and describes one statement. declared gives parameter
// types the client fixed (Unknown: infer).
func (s *Session) Prepare(ctx context.Context, sql string, declared []types.T) (*Prepared, error) {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) == 0 {
		return &Prepared{SQL: sql}, nil
	}
	if len(stmts) > 1 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	return s.prepareRaw(ctx, sql, stmts[0], declared)
}

// prepareRaw prepares one parsed statement: its parameters' types and
// its result's columns, learned by binding it without running it.
func (s *Session) prepareRaw(ctx context.Context, sql string, raw *pg.RawStmt, declared []types.T) (*Prepared, error) {
	p := &Prepared{SQL: sql, stmt: raw}
	n := countParams(p.stmt)
	p.ParamTypes = make([]types.T, max(n, len(declared)))
	copy(p.ParamTypes, declared)
	for i, t := range p.ParamTypes {
		if t.Kind == 0 {
			p.ParamTypes[i] = types.UnknownT
		}
	}
	err := exec.Guard(func() error {
		switch st := p.stmt.Stmt.Node.(type) {
		case *pg.Node_SelectStmt:
			prevCtx, prevTypes := s.ctx, s.paramTypes
			s.ctx, s.paramTypes = ctx, p.ParamTypes
			defer func() { s.ctx, s.paramTypes = prevCtx, prevTypes }()
			b := s.binder(s.env())
			plan, err := b.BindQuery(st.SelectStmt)
			if err != nil {
				return err
			}
			p.Columns = columnsOf(plan.Columns())
			inferParamTypes(p.ParamTypes, declared, b.ParamTypes)
		case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt:
			// bind without running, to learn the parameters' types
			prevCtx, prevTypes := s.ctx, s.paramTypes
			s.ctx, s.paramTypes, s.describing = ctx, p.ParamTypes, true
			defer func() {
				s.ctx, s.paramTypes, s.describing, s.described, s.describedColumns = prevCtx, prevTypes, false, nil, nil
			}()
			if _, err := s.execStmt(ctx, sql, p.stmt); err != errDescribeOnly {
				return err
			}
			p.Columns = s.describedColumns
			inferParamTypes(p.ParamTypes, declared, s.described.ParamTypes)
		case *pg.Node_ExplainStmt, *pg.Node_VariableShowStmt:
			p.Columns = []Column{{Name: "QUERY PLAN", Type: types.TextT}}
			if v, ok := st.(*pg.Node_VariableShowStmt); ok {
				p.Columns[0].Name = strings.ToLower(v.VariableShowStmt.Name)
			}
		}
		return nil
	})
	if err != nil {
		return nil, sqlerr.Wrap(err)
	}
	for i, t := range p.ParamTypes {
		if t.Kind == types.Unknown {
			p.ParamTypes[i] = types.TextT
		}
	}
	return p, nil
}

// ExecPrepared runs a prepared statement with parameter values (already
// converted to p.ParamTypes; nil is NULL); the result is whole in memory.
func (s *Session) ExecPrepared(ctx context.Context, p *Prepared, params []types.Datum) (*Result, error) {
	return s.execPrepared(ctx, p, params, false)
}

// ExecPreparedStream is ExecPrepared with a query's rows streamed (see
// stream.go): read them with Next, then Release the result.
func (s *Session) ExecPreparedStream(ctx context.Context, p *Prepared, params []types.Datum) (*Result, error) {
	return s.execPrepared(ctx, p, params, true)
}

func (s *Session) execPrepared(ctx context.Context, p *Prepared, params []types.Datum, stream bool) (*Result, error) {
	s.settle()
	if p.stmt == nil {
		return &Result{}, nil
	}
	if len(params) != len(p.ParamTypes) {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "bind message supplies %d parameters, but prepared statement requires %d", len(params), len(p.ParamTypes))
	}
	if err := s.checkTerminated(); err != nil {
		return nil, err
	}
	defer s.noteState()
	res, err := s.runStatement(ctx, statementCall{sql: p.SQL, raw: p.stmt, text: p.SQL, params: params, paramTypes: p.ParamTypes, stream: stream})
	if err != nil {
		s.AbortBlock()
		returnMemoryAfter(err)
		return nil, sqlerr.Wrap(err)
	}
	return res, nil
}

// inferParamTypes takes the binder's types for the parameters the client
// left undeclared; a declared type stands (the client encodes values in it).
func inferParamTypes(out, declared, inferred []types.T) {
	for i := range out {
		if i < len(inferred) && (i >= len(declared) || declared[i].Kind == 0 || declared[i].Kind == types.Unknown) {
			out[i] = inferred[i]
		}
	}
}

// countParams finds the highest $n in a statement by walking its parse tree.
func countParams(st *pg.RawStmt) int {
	n := 0
	parser.Walk(st, func(m proto.Message) bool {
		if pr, ok := m.(*pg.ParamRef); ok {
			n = max(n, int(pr.Number))
		}
		return true
	})
	return n
}
