package binder

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
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
	cands := b.Cat.LookupFunctions(schema, fname, b.SearchPath)
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
	var err error
	for i := range args {
		switch {
		case f.AnyArgs[i]:
			args[i] = b.resolveUnknown(args[i])
		default:
			if args[i], err = b.coerce(args[i], f.Args[i]); err != nil {
				return nil, true, err
			}
		}
		argTypes[i] = args[i].Type()
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
	e := &logical.Call{Name: f.Name, Args: args, Kernel: udfKernel(call), T: call.Result, Volatile: f.Volatile}
	if f.Volatile {
		return e, true, nil
	}
	folded, err := b.fold(e)
	return folded, true, err
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
