package physical

import (
	"context"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"math"
)

// Compile turns a bound expression over input columns cols into an
// executable one.
func (b *Builder) Compile(e logical.Expr, cols []logical.Column) (exec.Expr, error) {
	return b.compile(e, layoutOf(cols))
}

func (b *Builder) compileAll(es []logical.Expr, cols []logical.Column) ([]exec.Expr, error) {
	l := layoutOf(cols)
	out := make([]exec.Expr, len(es))
	for i, e := range es {
		x, err := b.compile(e, l)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// minInSet is the length from which an OR of equalities of a column with
// constants is looked up in a hash set rather than compared one by one
// (a typed loop per constant); an OR of equalities of a computed value
// (q22's substring(c_phone, 1, 2)) always is, which computes it once.
const minInSet = 8

// comparesColumn reports whether e is a comparison whose left side is a
// column.
func comparesColumn(e logical.Expr) bool {
	if c, ok := e.(*logical.Call); ok && len(c.Args) == 2 {
		_, isCol := c.Args[0].(*logical.ColRef)
		return isCol
	}
	return false
}

// inSet turns x = c1 OR x = c2 OR … (an IN list) into a hash lookup when
// every constant is non-NULL and of a type compared by value. compiled is
// the OR as compiled; its first equality's left side is the lookup's
// argument.
func inSet(x *logical.Bool, compiled *exec.BoolOp) *exec.InSet {
	if x.And || len(x.Args) < 2 || len(x.Args) < minInSet && comparesColumn(x.Args[0]) {
		return nil
	}
	var left string
	set := make(map[types.Datum]struct{}, len(x.Args))
	for i, a := range x.Args {
		eq, ok := a.(*logical.Call)
		if !ok || eq.Name != "=" || len(eq.Args) != 2 {
			return nil
		}
		c, ok := eq.Args[1].(*logical.Const)
		if !ok || c.Value == nil {
			return nil
		}
		lt, ct := eq.Args[0].Type(), c.T
		if !exec.InSetKind(lt) || !exec.InSetKind(ct) || lt.Kind != ct.Kind || !exec.InSetKey(ct.Kind, c.Value) {
			return nil
		}
		if logical.IsVolatile(eq.Args[0]) || logical.HasSubquery(eq.Args[0]) {
			return nil
		}
		if i == 0 {
			left = eq.Args[0].String()
		} else if eq.Args[0].String() != left {
			return nil
		}
		set[c.Value] = struct{}{}
	}
	var arg exec.Expr
	switch first := compiled.Args[0].(type) {
	case *exec.CallExpr:
		if len(first.Args) != 2 {
			return nil
		}
		arg = first.Args[0]
	case *exec.CompareExpr:
		arg = first.Left
	default:
		return nil
	}
	return &exec.InSet{Arg: arg, Set: set, Or: compiled}
}

// comparison is a compiled comparison operator as an exec.CompareExpr,
// which filters test with typed loops; nil for any other call, and for a
// comparison of a type without such loops.
func comparison(x *logical.Call, call *exec.CallExpr) exec.Expr {
	if !x.Infix || x.T.Kind != types.Bool || len(x.Args) != 2 {
		return nil
	}
	switch x.Name {
	case "=", "<>", "<", "<=", ">", ">=":
	default:
		return nil
	}
	if cmp := exec.NewCompareExpr(exec.CmpOp(x.Name), call); cmp != nil {
		return cmp
	}
	return nil
}

func (b *Builder) compileList(es []logical.Expr, l layout) ([]exec.Expr, error) {
	out := make([]exec.Expr, len(es))
	for i, e := range es {
		x, err := b.compile(e, l)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

func (b *Builder) compile(e logical.Expr, l layout) (exec.Expr, error) {
	switch x := e.(type) {
	case *logical.ColRef:
		idx, ok := l[x.Col.ID]
		if !ok {
			return nil, sqlerr.New(sqlerr.Internal, "column %s is not available here", x)
		}
		return &exec.ColumnExpr{Index: idx, T: x.Col.T, Name: x.Col.Name}, nil
	case *logical.OuterRef:
		return &exec.ParamExpr{Slot: int(x.Col.ID), T: x.Col.T, Name: x.Col.Name}, nil
	case *logical.Const:
		return b.constExpr(x.Value, x.T), nil
	case *logical.Param:
		if x.N < 1 || x.N > len(b.Params) {
			return nil, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", x.N)
		}
		return b.constExpr(b.Params[x.N-1], x.T), nil
	case *logical.Cast:
		arg, err := b.compile(x.Arg, l)
		if err != nil {
			return nil, err
		}
		return &exec.CastExpr{Arg: arg, To: x.To, Explicit: x.Explicit}, nil
	case *logical.Call:
		args, err := b.compileList(x.Args, l)
		if err != nil {
			return nil, err
		}
		call := &exec.CallExpr{Name: x.Name, Args: args, Kernel: x.Kernel, T: x.T, Infix: x.Infix}
		if cmp := comparison(x, call); cmp != nil {
			return cmp, nil
		}
		return call, nil
	case *logical.Bool:
		args, err := b.compileList(x.Args, l)
		if err != nil {
			return nil, err
		}
		or := &exec.BoolOp{And: x.And, Args: args}
		if set := inSet(x, or); set != nil {
			return set, nil
		}
		return or, nil
	case *logical.Not:
		arg, err := b.compile(x.Arg, l)
		if err != nil {
			return nil, err
		}
		return &exec.NotExpr{Arg: arg}, nil
	case *logical.IsNull:
		arg, err := b.compile(x.Arg, l)
		if err != nil {
			return nil, err
		}
		return &exec.NullTest{Arg: arg, Negate: x.Negate, Truth: x.Truth}, nil
	case *logical.Case:
		whens, err := b.compileList(x.Whens, l)
		if err != nil {
			return nil, err
		}
		thens, err := b.compileList(x.Thens, l)
		if err != nil {
			return nil, err
		}
		var els exec.Expr
		if x.Else != nil {
			if els, err = b.compile(x.Else, l); err != nil {
				return nil, err
			}
		}
		return &exec.CaseExpr{Whens: whens, Thens: thens, Else: els, T: x.T, RowsOnly: rowsOnly(x)}, nil
	case *logical.Coalesce:
		args, err := b.compileList(x.Args, l)
		if err != nil {
			return nil, err
		}
		return &exec.CoalesceExpr{Args: args, T: x.T, RowsOnly: rowsOnly(x)}, nil
	case *logical.Subquery:
		return b.compileSubquery(x, l)
	}
	return nil, sqlerr.New(sqlerr.Internal, "cannot compile expression %T", e)
}

func (b *Builder) compileSubquery(x *logical.Subquery, l layout) (exec.Expr, error) {
	sub := x.Plan
	if b.OptimizeSubquery != nil && !x.Optimized {
		var err error
		if sub, err = b.OptimizeSubquery(sub); err != nil {
			return nil, err
		}
	}
	plan, err := b.Build(sub)
	if err != nil {
		return nil, err
	}
	s := &exec.SubqueryExpr{Kind: x.Kind, Plan: plan, Op: x.Op, CmpT: x.CmpT, RowCmpTs: x.RowCmpTs, T: x.T,
		Volatile: !logical.IsDeterministic(sub)}
	for _, c := range x.Outer {
		s.OuterSlots = append(s.OuterSlots, int(c.ID))
		if idx, ok := l[c.ID]; ok {
			s.Outer = append(s.Outer, &exec.ColumnExpr{Index: idx, T: c.T, Name: c.Name})
		} else {
			s.Outer = append(s.Outer, &exec.ParamExpr{Slot: int(c.ID), T: c.T, Name: c.Name})
		}
	}
	if x.Test != nil {
		if s.Test, err = b.compile(x.Test, l); err != nil {
			return nil, err
		}
	}
	for _, t := range x.RowTests {
		c, err := b.compile(t, l)
		if err != nil {
			return nil, err
		}
		s.RowTests = append(s.RowTests, c)
	}
	return s, nil
}

// Fold evaluates an expression with no column references to a constant; ok
// is false when it cannot be folded (columns, parameters, subqueries,
// volatile calls).
func Fold(env *exec.Env, e logical.Expr) (logical.Expr, bool, error) {
	return FoldContext(context.Background(), env, e)
}

// rowsOnly tells a CASE or COALESCE to run each branch on exactly the rows
// that reach it: a volatile function or a subquery must not run for rows
// that PostgreSQL would not evaluate it for.
func rowsOnly(e logical.Expr) bool {
	return logical.IsVolatile(e) || logical.HasSubquery(e)
}

// FoldContext is Fold bounded by ctx (a wasm function may run while folding).
func FoldContext(ctx context.Context, env *exec.Env, e logical.Expr) (logical.Expr, bool, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	foldable := true
	logical.Walk(e, func(x logical.Expr) bool {
		switch c := x.(type) {
		case *logical.ColRef, *logical.OuterRef, *logical.Param, *logical.Subquery:
			foldable = false
		case *logical.Call:
			if c.Volatile {
				foldable = false
			}
		}
		return foldable
	})
	if !foldable {
		return e, false, nil
	}
	if c, ok := e.(*logical.Const); ok {
		return c, true, nil
	}
	b := NewBuilder(env, nil)
	defer b.Release()
	d, err := b.evalRowFree(ctx, e)
	if err != nil {
		return nil, false, err
	}
	return &logical.Const{Value: d, T: e.Type()}, true, nil
}

// evalRowFree evaluates an expression that reads no column once, with
// the builder's parameters.
func (b *Builder) evalRowFree(ctx context.Context, e logical.Expr) (types.Datum, error) {
	if v, ok := b.plainValue(e); ok {
		return v, nil
	}
	x, err := b.compile(e, layout{})
	if err != nil {
		return nil, err
	}
	return evalCompiled(ctx, b, x)
}

// evalCompiled evaluates x, which reads no row, on a record of one row.
func evalCompiled(ctx context.Context, b *Builder, x exec.Expr) (types.Datum, error) {
	mem := b.Env.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	ec := &exec.EvalContext{Ctx: ctx, Mem: mem, Env: b.Env}
	one := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	a, err := x.Eval(ec, one)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return exec.DatumAt(a, 0), nil
}

// plainValue is the value of a constant or parameter that evaluating
// would give back unchanged (an integer within its type's range, a
// boolean, NULL): a key lookup's bounds need no array made for them.
func (b *Builder) plainValue(e logical.Expr) (types.Datum, bool) {
	var v types.Datum
	var t types.T
	switch x := e.(type) {
	case *logical.Const:
		v, t = x.Value, x.T
	case *logical.Param:
		if x.N < 1 || x.N > len(b.Params) {
			return nil, false
		}
		v, t = b.Params[x.N-1], x.T
	default:
		return nil, false
	}
	switch v := v.(type) {
	case nil:
		return nil, true
	case bool:
		return v, t.Kind == types.Bool
	case int64:
		switch t.Kind {
		case types.Int2:
			return v, v >= math.MinInt16 && v <= math.MaxInt16
		case types.Int4:
			return v, v >= math.MinInt32 && v <= math.MaxInt32
		case types.Int8:
			return v, true
		}
	}
	return nil, false
}

// constExpr is a constant whose array is reused across batches of one
// length until the builder is released.
func (b *Builder) constExpr(v types.Datum, t types.T) *exec.ConstExpr {
	reuse := &exec.ConstReuse{}
	b.releasers = append(b.releasers, reuse)
	return &exec.ConstExpr{Value: v, T: t, Reuse: reuse}
}
