package binder

import (
	"context"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// bindPLInFrom binds a LANGUAGE plpgsql function called in FROM as a
// ProjectSet over one empty row whose generator runs the function when
// the query runs: a set-returning function's rows, or the one row of a
// function returning a value or OUT parameters. ok is false when name is
// no such function.
func (b *Binder) bindPLInFrom(name string, rf *pg.RangeFunction, fc *pg.FuncCall, s *scope) (logical.Plan, []scopeItem, bool, error) {
	cs := &scope{parent: s.parent, level: b.curLevel(), aggErr: "functions in FROM"}
	ps, items, ok, err := b.bindPLRows(name, rf, fc, cs, &logical.Values{Rows: [][]logical.Expr{{}}}, false)
	if ps == nil {
		return nil, items, ok, err
	}
	return ps, items, ok, err
}

// bindPLRows binds a plpgsql function in FROM as a ProjectSet over input,
// its arguments bound in cs (which sees the FROM items before it when the
// call is lateral).
func (b *Binder) bindPLRows(name string, rf *pg.RangeFunction, fc *pg.FuncCall, cs *scope, input logical.Plan, outer bool) (*logical.ProjectSet, []scopeItem, bool, error) {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	var cands []*catalog.Function
	for _, c := range b.Cat.LookupFunctions(schema, fname, b.SearchPath) {
		if c.UDF.SQL != nil && c.UDF.SQL.PL != nil {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil, nil, false, nil
	}
	if rf.Ordinality {
		return nil, nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "WITH ORDINALITY is supported for set-returning built-in functions only").At(fc.Location)
	}
	if b.CallPLRows == nil {
		return nil, nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "PL/pgSQL function %s cannot be called here", name).At(fc.Location)
	}
	nodes, err := b.arrangeArgs(name, fc)
	if err != nil {
		return nil, nil, true, err
	}
	args, err := b.bindList(nodes, cs)
	if err != nil {
		return nil, nil, true, err
	}
	argTypes := make([]types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	f := pickUDF(cands, argTypes)
	if f == nil {
		return nil, nil, true, exec.NoSuchFunction(name, argTypes)
	}
	if err := b.requireExecute(cands, f); err != nil {
		return nil, nil, true, err
	}
	b.recordFunction(fc, name, pickedOf(cands, f))
	for i := range args {
		if args[i], err = b.coerce(args[i], f.Args[i]); err != nil {
			return nil, nil, true, err
		}
		argTypes[i] = args[i].Type()
	}
	cols := f.SQL.PL.Columns
	named := len(cols) > 0 // columns named by the function, not by its alias
	if len(cols) == 0 {
		// one OUT parameter names the column, as in PostgreSQL
		name := f.Name
		for _, p := range f.SQL.PL.Params {
			if p.Mode == "o" || p.Mode == "b" {
				name, named = p.Name, true
			}
		}
		cols = []udf.Column{{Name: name, T: f.Result}}
	}
	run := b.CallPLRows
	gen := &exec.SetGenerator{Name: f.Name, Run: func(ctx context.Context, vals []types.Datum) ([][]types.Datum, error) {
		return run(ctx, f, vals, argTypes)
	}}
	ps := &logical.ProjectSet{Input: input, Outer: outer}
	for i, c := range cols {
		ps.Funcs = append(ps.Funcs, logical.SetFunc{Name: f.Name, Args: args, Gen: gen, Column: i})
		ps.Cols = append(ps.Cols, b.newColumn(c.Name, c.T))
	}
	alias := rf.Alias
	if alias != nil && len(alias.Colnames) == 0 && len(cols) == 1 && !named {
		// f(…) AS x names its one column x as well
		alias = &pg.Alias{Aliasname: alias.Aliasname, Colnames: []*pg.Node{pg.MakeStrNode(alias.Aliasname)}}
	}
	_, items, err := b.aliased(&logical.Values{Cols: ps.Cols}, alias, f.Name)
	if err != nil {
		return nil, nil, true, err
	}
	return ps, items, true, nil
}

// isPLFunction reports whether name is a LANGUAGE plpgsql function.
func (b *Binder) isPLFunction(name string) bool {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	for _, c := range b.Cat.LookupFunctions(schema, fname, b.SearchPath) {
		if c.UDF.SQL != nil && c.UDF.SQL.PL != nil {
			return true
		}
	}
	return false
}

// plVariableConflict is 42702 when $n stands for a PL/pgSQL variable
// that a column in scope is also named.
func (b *Binder) plVariableConflict(n int, s *scope) *sqlerr.Error {
	if n > len(b.ParamNames) || b.ParamNames[n-1] == "" {
		return nil
	}
	name := b.ParamNames[n-1]
	for sc := s; sc != nil; sc = sc.parent {
		if _, found, _ := sc.lookup("", name); found {
			return sqlerr.New(sqlerr.AmbiguousColumn, "column reference \"%s\" is ambiguous", name).
				WithDetail("It could refer to either a PL/pgSQL variable or a table column.")
		}
	}
	return nil
}
