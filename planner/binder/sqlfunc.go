package binder

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// LANGUAGE sql functions are inlined where they are called, as
// PostgreSQL inlines simple ones: the body's parameters ($n or their
// names) stand for the call's bound arguments. A body without FROM is an
// expression in the caller's query; a body with FROM becomes a scalar
// subquery whose parameters are outer references to the caller's
// columns. The body sees none of the caller's columns, only its
// parameters, and a column of its own FROM wins over a parameter of the
// same name (write fn.param to reach the parameter), as in PostgreSQL.

// sqlFuncFrame is one SQL function being inlined.
type sqlFuncFrame struct {
	f    *udf.Function
	args []logical.Expr // as bound in the caller
	// callerLevel is the scope level of the call; inside a subquery body
	// the arguments' columns are outer references to it
	callerLevel int
	inside      bool // the body is a subquery (arguments become OuterRefs)
	parent      *sqlFuncFrame
	depth       int
}

// maxSQLFunctionDepth stops a function that calls itself from being
// inlined forever.
const maxSQLFunctionDepth = 32

// sqlFuncParam resolves a parameter reference in the body being inlined:
// $n (n > 0) or a name, possibly qualified by the function's name.
func (b *Binder) sqlFuncParam(qual, name string, n int) (logical.Expr, bool) {
	fr := b.sqlFunc
	if fr == nil {
		return nil, false
	}
	if n == 0 {
		if qual != "" && qual != fr.f.Name {
			return nil, false
		}
		for i, an := range fr.f.SQL.ArgNames {
			if an != "" && an == name {
				n = i + 1
				break
			}
		}
	}
	if n < 1 || n > len(fr.args) {
		return nil, false
	}
	return b.argAsSeenInside(fr, fr.args[n-1]), true
}

// argAsSeenInside is an argument as the body sees it: within a subquery
// body, the caller's columns are outer references (noted at every level
// between, so each subquery knows what it reads from outside).
func (b *Binder) argAsSeenInside(fr *sqlFuncFrame, arg logical.Expr) logical.Expr {
	if !fr.inside {
		return arg
	}
	return logical.Rewrite(arg, func(x logical.Expr) logical.Expr {
		if c, ok := x.(*logical.ColRef); ok {
			b.noteOuter(fr.callerLevel, c.Col, -1)
			return &logical.OuterRef{Col: c.Col}
		}
		return x
	})
}

// inlineSQLFunction binds a call of a LANGUAGE sql function to its body.
func (b *Binder) inlineSQLFunction(f *udf.Function, args []logical.Expr, loc int32) (logical.Expr, error) {
	depth := 0
	if b.sqlFunc != nil {
		depth = b.sqlFunc.depth + 1
	}
	if depth > maxSQLFunctionDepth {
		return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "SQL function %s calls itself more than %d levels deep", f.Name, maxSQLFunctionDepth).At(loc)
	}
	sel, err := parseSQLBody(f)
	if err != nil {
		return nil, err
	}
	fr := &sqlFuncFrame{f: f, args: args, callerLevel: b.curLevel(), parent: b.sqlFunc, depth: depth}
	for _, a := range args {
		if hasOuterOrSubquery(a) && !isPlainExpression(sel) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "arguments of SQL function %s (whose body reads a table) cannot hold subqueries or outer references yet", f.Name).At(loc)
		}
	}
	b.sqlFunc = fr
	defer func() { b.sqlFunc = fr.parent }()
	var body logical.Expr
	if isPlainExpression(sel) {
		// an expression of the caller's query: it sees no caller columns
		rt := sel.TargetList[0].GetResTarget()
		body, err = b.bindExpr(rt.Val, &scope{level: b.curLevel(), aggErr: "SQL function bodies"})
	} else {
		fr.inside = true
		body, err = b.bindSQLSubquery(f, sel)
	}
	if err != nil {
		return nil, err
	}
	if !(f.Result.Kind == types.Numeric && f.Result.Prec == 0 && body.Type().Kind == types.Numeric) {
		// (a numeric without typmod keeps the body's scale, as the value
		// would in PostgreSQL)
		assigned, err := b.assign(body, f.Result, f.Name)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", f.Result).
				WithDetail("Actual return type is " + body.Type().String() + ".")
		}
		body = assigned
	}
	if f.Strict {
		body = strictGuard(args, body, f.Result)
	}
	return body, nil
}

// bindSQLSubquery binds a body that reads tables as a scalar subquery.
func (b *Binder) bindSQLSubquery(f *udf.Function, sel *pg.SelectStmt) (logical.Expr, error) {
	b.pushLevel()
	plan, _, err := b.bindSelect(sel, nil)
	outer := b.popLevel()
	if err != nil {
		return nil, err
	}
	cols := plan.Columns()
	if len(cols) != 1 {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "return type mismatch in function declared to return %s", f.Result).
			WithDetail("Final statement must return exactly one column.")
	}
	return &logical.Subquery{Kind: exec.ScalarSubquery, Plan: plan, Outer: outer, T: cols[0].T}, nil
}

// CheckSQLFunction binds a new function's body once with parameters of
// the declared types, so that a body that cannot be bound, or returns
// another type than declared, is refused at CREATE FUNCTION.
func (b *Binder) CheckSQLFunction(f *udf.Function) error {
	args := make([]logical.Expr, len(f.Args))
	for i, t := range f.Args {
		args[i] = &logical.Const{T: t}
	}
	b.pushLevel()
	defer b.popLevel()
	_, err := b.inlineSQLFunction(f, args, -1)
	if e := sqlerr.Wrap(err); err != nil && e.Code == sqlerr.UndefinedFunction && strings.HasPrefix(e.Message, "function "+f.Name+"(") {
		// (PostgreSQL accepts a function that calls itself; inlining
		// cannot expand one)
		return sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s calls itself: recursive SQL functions are not supported", f.Name)
	}
	return err
}

func parseSQLBody(f *udf.Function) (*pg.SelectStmt, error) {
	stmts, err := parser.Parse(f.SQL.Text)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 || stmts[0].Stmt.GetSelectStmt() == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SQL function %s: a body that is not a single SELECT is not supported yet", f.Name)
	}
	return stmts[0].Stmt.GetSelectStmt(), nil
}

// isPlainExpression reports whether a body is SELECT expr and nothing
// else (no FROM, WHERE, grouping, ordering, limit or set operation).
func isPlainExpression(sel *pg.SelectStmt) bool {
	return sel.Op == pg.SetOperation_SETOP_NONE && len(sel.FromClause) == 0 && sel.WhereClause == nil &&
		len(sel.GroupClause) == 0 && sel.HavingClause == nil && len(sel.SortClause) == 0 && sel.LimitCount == nil &&
		sel.LimitOffset == nil && len(sel.DistinctClause) == 0 && len(sel.TargetList) == 1 && sel.WithClause == nil &&
		len(sel.ValuesLists) == 0
}

func hasOuterOrSubquery(e logical.Expr) bool {
	found := false
	logical.Walk(e, func(x logical.Expr) bool {
		switch x.(type) {
		case *logical.OuterRef, *logical.Subquery:
			found = true
		}
		return !found
	})
	return found
}

// strictGuard is a STRICT function's NULL on any NULL argument.
func strictGuard(args []logical.Expr, body logical.Expr, t types.T) logical.Expr {
	var nulls []logical.Expr
	for _, a := range args {
		if c, ok := a.(*logical.Const); ok && c.Value != nil {
			continue
		}
		nulls = append(nulls, &logical.IsNull{Arg: a})
	}
	if len(nulls) == 0 {
		return body
	}
	var cond logical.Expr = nulls[0]
	if len(nulls) > 1 {
		cond = &logical.Bool{Args: nulls}
	}
	return &logical.Case{Whens: []logical.Expr{cond}, Thens: []logical.Expr{&logical.Const{T: t}}, Else: body, T: t}
}

// sqlFunctionParams gives arrangeArgs the parameter names and defaults of
// the one LANGUAGE sql function of that name (false when there is not
// exactly one).
func (b *Binder) sqlFunctionParams(name string) (exec.FuncParams, bool) {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	var found *udf.Function
	for _, c := range b.Cat.LookupFunctions(schema, fname, b.SearchPath) {
		if c.UDF.SQL != nil {
			if found != nil {
				return exec.FuncParams{}, false
			}
			found = c.UDF
		}
	}
	if found == nil {
		return exec.FuncParams{}, false
	}
	return exec.FuncParams{Names: found.SQL.ArgNames, Defaults: found.SQL.Defaults, SQLDefaults: true}, true
}
