package binder

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// callUDF resolves a call to a user-defined (wasm) function. found is false
// when no function of that name exists, so built-in errors apply.
func (b *Binder) callUDF(name string, args []logical.Expr) (logical.Expr, bool, error) {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	var cands []*catalog.Function
	for _, c := range b.Cat.LookupFunctions(schema, fname, b.SearchPath) {
		if !c.UDF.IsAggregate() && !c.UDF.IsTable() {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil, false, nil
	}
	argTypes := make([]types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	f := pickUDF(cands, argTypes)
	if f == nil {
		return nil, true, exec.NoSuchFunction(name, argTypes)
	}
	if err := b.requireExecute(cands, f); err != nil {
		return nil, true, err
	}
	// (set when it returns: an inlined body may call other functions)
	defer func() { b.pickedUDF = pickedOf(cands, f) }()
	var err error
	for i := range args {
		switch {
		case f.AnyArgs[i]:
			args[i] = b.resolveUnknown(args[i])
		case f.SQL != nil && f.Args[i].Kind == types.Numeric && f.Args[i].Prec == 0 && args[i].Type().Kind == types.Numeric:
			// a SQL function's numeric parameter takes the value with its
			// scale, as PostgreSQL's numeric values carry theirs
		default:
			if args[i], err = b.coerce(args[i], f.Args[i]); err != nil {
				return nil, true, err
			}
		}
		argTypes[i] = args[i].Type()
	}
	if f.SQL != nil && f.SQL.PL != nil {
		e, err := b.callPL(f, args, argTypes)
		return e, true, err
	}
	if f.SQL != nil {
		e, err := b.inlineSQLFunction(f, args, -1)
		return e, true, err
	}
	isConst := make([]bool, len(args))
	consts := make([]types.Datum, len(args))
	for i, a := range args {
		if c, ok := a.(*logical.Const); ok {
			isConst[i], consts[i] = true, c.Value
		}
	}
	ctx := b.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	call, err := f.Bind(ctx, argTypes, isConst, consts)
	if err != nil {
		return nil, true, err
	}
	call.RowErrorsAsNull = b.UDFRowErrorsAsNull
	e := &logical.Call{Name: f.Name, Args: args, Kernel: udfKernel(call), T: call.Result, Volatile: f.Volatile}
	if f.Volatile {
		return e, true, nil
	}
	folded, err := b.fold(e)
	return folded, true, err
}

// callPL binds a call of a LANGUAGE plpgsql function: it runs row by row
// through the session's CallPL when the query runs, never while binding
// (its body may read and change tables).
func (b *Binder) callPL(f *udf.Function, args []logical.Expr, argTypes []types.T) (logical.Expr, error) {
	if f.SQL.PL.SetOf || len(f.SQL.PL.Columns) > 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "PL/pgSQL function %s returns rows: call it in FROM (SELECT * FROM %s(…))", f.Name, f.Name)
	}
	run := b.CallPL
	if run == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "PL/pgSQL function %s cannot be called here", f.Name)
	}
	result := f.Result
	argTypes = append([]types.T(nil), argTypes...)
	kernel := func(ec *exec.EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		out := make([]types.Datum, n)
		row := make([]types.Datum, len(arrs))
		for r := 0; r < n; r++ {
			for i, a := range arrs {
				row[i] = exec.DatumAt(a, r)
			}
			v, err := run(ec.Ctx, f, row, argTypes)
			if err != nil {
				return nil, err
			}
			out[r] = v
		}
		return exec.DatumsArray(ec, result, out), nil
	}
	return &logical.Call{Name: f.Name, Args: args, Kernel: kernel, T: result, Volatile: true}, nil
}

// pickUDF chooses the overload whose parameters take the arguments: exact
// types first, then implicit casts; polymorphic positions take anything.
func pickUDF(cands []*catalog.Function, args []types.T) *udf.Function {
	var castable *udf.Function
	for _, c := range cands {
		f := c.UDF
		if len(f.Args) != len(args) {
			continue
		}
		exact, ok := true, true
		for i, a := range args {
			switch {
			case f.AnyArgs[i]:
			case a.Kind == f.Args[i].Kind:
			case exec.ImplicitCast(a, f.Args[i]):
				exact = false
			default:
				ok = false
			}
		}
		if ok && exact {
			return f
		}
		if ok && castable == nil {
			castable = f
		}
	}
	return castable
}

func udfKernel(call *udf.Call) exec.Kernel {
	return func(ec *exec.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		return call.Invoke(ec.Ctx, ec.Mem, args, n)
	}
}

// udfAggregate returns an aggregate definition for a wasm aggregate named
// name, or nil when there is none.
func (b *Binder) udfAggregate(name string) *exec.AggregateDef {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	var aggs []*catalog.Function
	for _, c := range b.Cat.LookupFunctions(schema, fname, b.SearchPath) {
		if c.UDF.IsAggregate() {
			aggs = append(aggs, c)
		}
	}
	if len(aggs) == 0 {
		return nil
	}
	return &exec.AggregateDef{Name: name, Resolve: func(argTypes []types.T) ([]types.T, types.T, func() exec.Accumulator, error) {
		f := pickUDF(aggs, argTypes)
		if f == nil {
			return nil, types.T{}, nil, exec.NoSuchFunction(name, argTypes)
		}
		if err := b.requireExecute(aggs, f); err != nil {
			return nil, types.T{}, nil, err
		}
		want := make([]types.T, len(argTypes))
		for i := range argTypes {
			want[i] = f.Args[i]
			if f.AnyArgs[i] {
				want[i] = argTypes[i]
				if want[i].Kind == types.Unknown {
					want[i] = types.TextT
				}
			}
		}
		ctx := b.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		call, err := f.Bind(ctx, want, make([]bool, len(want)), make([]types.Datum, len(want)))
		if err != nil {
			return nil, types.T{}, nil, err
		}
		return want, call.Result, func() exec.Accumulator { return &wasmAcc{acc: call.NewAccumulator()} }, nil
	}}
}

// wasmAcc adapts a wasm aggregate to the executor's accumulator interface.
type wasmAcc struct {
	acc *udf.Accumulator
}

func (w *wasmAcc) Update(ec *exec.EvalContext, groups []uint32, ngroups int, args []arrow.Array) error {
	return w.acc.Update(ec.Ctx, groups, ngroups, args)
}

// Merge is never called: HashAggregate uses MergeErr, which can fail.
func (w *wasmAcc) Merge(exec.Accumulator, []uint32, int) {
	panic("wasm aggregates merge through MergeErr")
}

func (w *wasmAcc) MergeErr(ec *exec.EvalContext, other exec.Accumulator, mapping []uint32, ngroups int) error {
	return w.acc.Merge(ec.Ctx, ec.Mem, other.(*wasmAcc).acc, mapping, ngroups)
}

func (w *wasmAcc) Finish(ec *exec.EvalContext, ngroups int) (arrow.Array, error) {
	return w.acc.Finish(ec.Ctx, ec.Mem, ngroups)
}

func (w *wasmAcc) Release() { w.acc.Release() }

// udfTableChecked finds a wasm table function the role may execute.
func (b *Binder) udfTableChecked(name string) (*udf.Function, error) {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	cands := b.Cat.LookupFunctions(schema, fname, b.SearchPath)
	f := b.udfTable(name)
	if f == nil {
		return nil, nil
	}
	return f, b.requireExecute(cands, f)
}

// udfTable finds a wasm table function by name.
func (b *Binder) udfTable(name string) *udf.Function {
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	for _, c := range b.Cat.LookupFunctions(schema, fname, b.SearchPath) {
		if c.UDF.IsTable() {
			return c.UDF
		}
	}
	return nil
}

// bindTableFunc binds a wasm table function in FROM. A function declared
// over "(table)" takes one subquery argument, the relation it reads;
// otherwise the arguments are constants.
func (b *Binder) bindTableFunc(f *udf.Function, fc *pg.FuncCall, s *scope) (logical.Plan, error) {
	ctx := b.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	tf := &logical.TableFunc{}
	var argTypes []types.T
	var isConst []bool
	var consts []types.Datum
	if f.TakesRelation() {
		var sub *pg.SubLink
		if len(fc.Args) == 1 {
			sub = fc.Args[0].GetSubLink()
		}
		if sub == nil || sub.SubLinkType != pg.SubLinkType_EXPR_SUBLINK {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "wasm table function %s reads a relation: call it as %s((SELECT …))", f.Name, f.Name).At(fc.Location)
		}
		plan, _, err := b.bindSelect(sub.Subselect.GetSelectStmt(), s.parent)
		if err != nil {
			return nil, err
		}
		tf.Input = plan
		for _, c := range plan.Columns() {
			argTypes = append(argTypes, c.T)
		}
	} else {
		// earlier FROM items are visible: functions in FROM are implicitly
		// LATERAL in PostgreSQL
		cs := &scope{parent: s.parent, level: b.curLevel(), aggErr: "functions in FROM", items: s.items}
		args, err := b.bindList(fc.Args, cs)
		if err != nil {
			return nil, err
		}
		if len(args) != len(f.Args) {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s takes %d arguments, not %d", f.Name, len(f.Args), len(args)).At(fc.Location)
		}
		for i := range args {
			if !f.AnyArgs[i] {
				if args[i], err = b.coerce(args[i], f.Args[i]); err != nil {
					return nil, err
				}
			} else {
				args[i] = b.resolveUnknown(args[i])
			}
			if args[i], err = b.fold(args[i]); err != nil {
				return nil, err
			}
			if c, ok := args[i].(*logical.Const); ok {
				argTypes, isConst, consts = append(argTypes, c.T), append(isConst, true), append(consts, c.Value)
				continue
			}
			if logical.HasSubquery(args[i]) {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "arguments of wasm table function %s cannot hold subqueries", f.Name).At(fc.Location)
			}
			tf.Lateral = true
			argTypes, isConst, consts = append(argTypes, args[i].Type()), append(isConst, false), append(consts, nil)
		}
		tf.Args = args
	}
	call, cols, err := f.BindTable(ctx, argTypes, isConst, consts)
	if err != nil {
		return nil, err
	}
	tf.Call, tf.Out = call, cols
	for _, c := range cols {
		tf.Cols = append(tf.Cols, b.newColumn(c.Name, c.T))
	}
	return tf, nil
}
