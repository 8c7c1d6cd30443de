package engine

import (
	"context"
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Prepared statements by name, shared by SQL's PREPARE / EXECUTE /
// DEALLOCATE and the wire protocol's Parse / Bind / Close, as in
// PostgreSQL: one namespace per session, DEALLOCATE ALL and DISCARD ALL
// drop both kinds. The unnamed statement ("") is the protocol's, replaced
// by each Parse.

// PrepareNamed prepares sql under name (42P05 when a named statement of
// that name exists).
func (s *Session) PrepareNamed(ctx context.Context, name, sql string, declared []types.T) (*Prepared, error) {
	if _, exists := s.prepared[name]; exists && name != "" {
		return nil, sqlerr.New(sqlerr.DuplicatePreparedStatement, "prepared statement \"%s\" already exists", name)
	}
	p, err := s.Prepare(ctx, sql, declared)
	if err != nil {
		return nil, err
	}
	s.keepPrepared(name, p)
	return p, nil
}

func (s *Session) keepPrepared(name string, p *Prepared) {
	if s.prepared == nil {
		s.prepared = map[string]*Prepared{}
	}
	s.prepared[name] = p
}

// NamedPrepared finds a prepared statement.
func (s *Session) NamedPrepared(name string) (*Prepared, bool) {
	p, ok := s.prepared[name]
	return p, ok
}

// ClosePrepared drops a prepared statement (nothing when there is none,
// as the protocol's Close does).
func (s *Session) ClosePrepared(name string) { delete(s.prepared, name) }

// prepareStmt is SQL's PREPARE name [(types)] AS statement.
func (s *Session) prepareStmt(ctx context.Context, env *exec.Env, sql string, st *pg.PrepareStmt) (*Result, error) {
	if _, exists := s.prepared[st.Name]; exists {
		return nil, sqlerr.New(sqlerr.DuplicatePreparedStatement, "prepared statement \"%s\" already exists", st.Name)
	}
	declared := make([]types.T, len(st.Argtypes))
	b := s.binder(env)
	for i, n := range st.Argtypes {
		t, _, err := b.ResolveType(n.GetTypeName())
		if err != nil {
			return nil, err
		}
		declared[i] = t
	}
	p, err := s.prepareRaw(ctx, sql, &pg.RawStmt{Stmt: st.Query}, declared)
	if err != nil {
		return nil, err
	}
	s.keepPrepared(st.Name, p)
	return &Result{Tag: "PREPARE"}, nil
}

// executeStmt is SQL's EXECUTE name [(arguments)]: the arguments are
// computed, converted to the parameters' types as an assignment would,
// and the statement runs inside this one.
func (s *Session) executeStmt(ctx context.Context, env *exec.Env, st *pg.ExecuteStmt) (*Result, error) {
	p, ok := s.prepared[st.Name]
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidStatementName, "prepared statement \"%s\" does not exist", st.Name)
	}
	if len(st.Params) != len(p.ParamTypes) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "wrong number of parameters for prepared statement \"%s\"", st.Name).
			WithDetail(fmt.Sprintf("Expected %d parameters but got %d.", len(p.ParamTypes), len(st.Params)))
	}
	params, err := s.executeArguments(ctx, env, st.Params, p.ParamTypes)
	if err != nil {
		return nil, err
	}
	if p.stmt == nil {
		return &Result{}, nil
	}
	prevParams, prevTypes := s.params, s.paramTypes
	s.params, s.paramTypes = params, p.ParamTypes
	defer func() { s.params, s.paramTypes = prevParams, prevTypes }()
	return s.execStmt(ctx, p.SQL, p.stmt)
}

// executeArguments computes EXECUTE's arguments as one row, each
// converted to its parameter's type (a quoted literal is read as that
// type, as PostgreSQL reads an untyped literal).
func (s *Session) executeArguments(ctx context.Context, env *exec.Env, args []*pg.Node, to []types.T) ([]types.Datum, error) {
	if len(args) == 0 {
		return nil, nil
	}
	b := s.binder(env)
	exprs := make([]logical.Expr, len(args))
	cols := make([]logical.Column, len(args))
	for i, a := range args {
		e, err := b.BindStandalone(a, "EXECUTE parameters")
		if err != nil {
			return nil, err
		}
		if logical.HasSubquery(e) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot use subquery in EXECUTE parameter")
		}
		if exprs[i], err = b.Assign(e, to[i], fmt.Sprintf("$%d", i+1)); err != nil {
			return nil, err
		}
		cols[i] = b.NewColumn(fmt.Sprintf("$%d", i+1), to[i])
	}
	one := &logical.Values{Rows: [][]logical.Expr{{}}}
	batches, err := s.run(ctx, env, &logical.Project{Input: one, Exprs: exprs, Cols: cols})
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	vals := make([]types.Datum, len(args))
	for _, r := range batches {
		if r.NumRows() > 0 {
			for i := range vals {
				vals[i] = exec.DatumAt(r.Column(i), 0)
			}
			break
		}
	}
	return vals, nil
}

// deallocateStmt is DEALLOCATE [PREPARE] name | ALL.
func (s *Session) deallocateStmt(st *pg.DeallocateStmt) (*Result, error) {
	if st.Isall || st.Name == "" {
		clear(s.prepared)
		return &Result{Tag: "DEALLOCATE ALL"}, nil
	}
	if _, ok := s.prepared[st.Name]; !ok {
		return nil, sqlerr.New(sqlerr.InvalidStatementName, "prepared statement \"%s\" does not exist", st.Name).At(st.Location)
	}
	delete(s.prepared, st.Name)
	return &Result{Tag: "DEALLOCATE"}, nil
}

// discardStmt is DISCARD ALL | PLANS | SEQUENCES | TEMP: what a
// connection pool runs to hand a session to its next user as new.
func (s *Session) discardStmt(st *pg.DiscardStmt) (*Result, error) {
	switch st.Target {
	case pg.DiscardMode_DISCARD_ALL:
		if s.tx != nil {
			return nil, sqlerr.New(sqlerr.ActiveTransaction, "DISCARD ALL cannot run inside a transaction block")
		}
		s.closeCursors()
		if _, err := s.set(&pg.VariableSetStmt{Kind: pg.VariableSetKind_VAR_RESET, Name: "session_authorization"}); err != nil {
			return nil, err
		}
		if _, err := s.set(&pg.VariableSetStmt{Kind: pg.VariableSetKind_VAR_RESET_ALL}); err != nil {
			return nil, err
		}
		clear(s.prepared)
		s.db.notify.unlisten(s, "")
		sessionAdvisory{s}.UnlockAll()
		s.dropTempSchema()
		s.discardSequences()
		return &Result{Tag: "DISCARD ALL"}, nil
	case pg.DiscardMode_DISCARD_PLANS:
		return &Result{Tag: "DISCARD PLANS"}, nil // no plans are cached across statements
	case pg.DiscardMode_DISCARD_SEQUENCES:
		s.discardSequences()
		return &Result{Tag: "DISCARD SEQUENCES"}, nil
	case pg.DiscardMode_DISCARD_TEMP:
		s.dropTempSchema()
		return &Result{Tag: "DISCARD TEMP"}, nil
	}
	return nil, sqlerr.New(sqlerr.SyntaxError, "unknown DISCARD target")
}

// discardSequences forgets currval and lastval.
func (s *Session) discardSequences() {
	s.seqs.Forget()
}
