package exec

import (
	"strings"
	"sync"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// ScalarDef is a built-in scalar function. Resolve receives the argument
// types and returns the types to cast the arguments to, the result type and
// the kernel; polymorphism is just a Resolve that looks at its inputs.
type ScalarDef struct {
	Name     string
	Volatile bool
	// Strict functions return NULL for any NULL argument without running.
	Resolve func(args []types.T) (argTypes []types.T, ret types.T, k Kernel, err error)
}

// Scalars returns the built-in scalar functions by name. The map is built
// once and shared: callers must not change it.
func Scalars() map[string]*ScalarDef { return builtinScalars() }

// builtinScalars builds the table on first use (it is immutable after).
var builtinScalars = sync.OnceValue(func() map[string]*ScalarDef {
	m := map[string]*ScalarDef{}
	for _, group := range [][]*ScalarDef{mathFunctions(), stringFunctions(), timeFunctions(), makeFunctions(), countingFunctions(), catalogFunctions(), jsonFunctions(), jsonOperatorFunctions(), signalFunctions(), sleepFunctions(), advisoryFunctions(), notifyFunctions(), extensionFunctions(), miscFunctions(), arrayFunctions(), regexFunctions()} {
		for _, d := range group {
			m[d.Name] = d
		}
	}
	for _, d := range byteaVariants() {
		m[d.Name] = withByteaVariant(m[d.Name], d)
	}
	return m
})

func NoSuchFunction(name string, args []types.T) error {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.String()
	}
	return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", name, strings.Join(names, ", ")).
		WithHint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

// fixed signature helper: cast every argument to the given types.
func sig(name string, params []types.T, ret types.T, f func([]types.Datum) (types.Datum, error)) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != len(params) || !castableAll(args, params) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return params, ret, rowKernel(ret, f), nil
	}}
}

// overloads picks the first signature whose parameter count matches and to
// which every argument can be implicitly cast.
func overloads(name string, variants ...*ScalarDef) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		for _, v := range variants {
			if at, rt, k, err := v.Resolve(args); err == nil {
				return at, rt, k, nil
			}
		}
		return nil, types.T{}, nil, NoSuchFunction(name, args)
	}}
}

func castableAll(args, params []types.T) bool {
	for i := range args {
		if !ImplicitCast(args[i], params[i]) {
			return false
		}
	}
	return true
}

// ImplicitCast reports whether PostgreSQL would convert from to to without
// an explicit cast (in function arguments and expressions).
func ImplicitCast(from, to types.T) bool {
	if from.Kind == to.Kind || from.Kind == types.Unknown {
		return true
	}
	switch {
	case from.IsInteger() && (to.IsInteger() && intRank(to) >= intRank(from) || to.IsFloat() || to.Kind == types.Numeric):
		return true
	case from.Kind == types.Numeric && to.IsFloat():
		return true
	case from.Kind == types.Float4 && to.Kind == types.Float8:
		return true
	case from.IsString() && to.IsString():
		return true
	case from.Kind == types.Date && (to.Kind == types.Timestamp || to.Kind == types.TimestampTZ):
		return true
	case from.Kind == types.Timestamp && to.Kind == types.TimestampTZ:
		return true
	}
	return false
}

func intRank(t types.T) int {
	switch t.Kind {
	case types.Int2:
		return 1
	case types.Int4:
		return 2
	}
	return 3
}
