package exec

import (
	"strconv"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Array functions over Weft's one-dimensional arrays ([]types.Datum, nil
// for a NULL element). Most are not strict in PostgreSQL: a NULL array
// or element has a meaning of its own (array_append(NULL, 1) is {1}).

func arrayFunctions() []*ScalarDef {
	return []*ScalarDef{
		{Name: "array_append", Resolve: resolveCompatible("array_append", []bool{true, false}, arrayAppend)},
		{Name: "array_prepend", Resolve: resolveCompatible("array_prepend", []bool{false, true}, arrayPrepend)},
		{Name: "array_cat", Resolve: resolveCompatible("array_cat", []bool{true, true}, arrayCat)},
		{Name: "array_remove", Resolve: resolveCompatible("array_remove", []bool{true, false}, arrayRemove)},
		{Name: "array_replace", Resolve: resolveCompatible("array_replace", []bool{true, false, false}, arrayReplace)},
		{Name: "array_position", Resolve: resolvePosition},
		{Name: "array_positions", Resolve: resolvePositions},
		overloads("string_to_array",
			&ScalarDef{Name: "string_to_array", Resolve: fixedNullable("string_to_array", []types.T{textT, textT}, types.ArrayOf(textT), stringToArray)},
			&ScalarDef{Name: "string_to_array", Resolve: fixedNullable("string_to_array", []types.T{textT, textT, textT}, types.ArrayOf(textT), stringToArray)}),
		{Name: "array_fill", Resolve: resolveArrayFill},
		{Name: "array_dims", Resolve: resolveArrayOnly("array_dims", nil, textT, arrayDims)},
		{Name: "array_ndims", Resolve: resolveArrayOnly("array_ndims", nil, int4T, arrayNdims)},
		{Name: "trim_array", Resolve: resolveTrimArray},
	}
}

// fixedNullable is sig for a function that sees its NULL arguments.
func fixedNullable(name string, params []types.T, ret types.T, f func([]types.Datum) (types.Datum, error)) func([]types.T) ([]types.T, types.T, Kernel, error) {
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != len(params) || !castableAll(args, params) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return params, ret, rowKernelNullable(ret, f), nil
	}
}

// compatibleElem resolves PostgreSQL's anycompatiblearray/anycompatible
// parameters: isArray[i] says whether parameter i is the array. The
// element type is the common type of the arrays' elements and the
// elements (untyped literals take it; all untyped gives text).
func compatibleElem(name string, args []types.T, isArray []bool) (types.T, error) {
	if len(args) != len(isArray) {
		return types.T{}, NoSuchFunction(name, args)
	}
	var out types.T
	have := false
	for i, a := range args {
		if a.Kind == types.Unknown {
			continue
		}
		if (a.Kind == types.Array) != isArray[i] {
			return types.T{}, NoSuchFunction(name, args)
		}
		if isArray[i] {
			a = a.ElemT()
		}
		if !have {
			out, have = a, true
			continue
		}
		t, ok := commonElemType(out, a)
		if !ok {
			return types.T{}, NoSuchFunction(name, args)
		}
		out = t
	}
	if !have {
		return textT, nil
	}
	return out, nil
}

// commonElemType is the type two element types unify to, as
// anycompatible does: numbers to the wider, strings to text.
func commonElemType(a, b types.T) (types.T, bool) {
	switch {
	case a == b:
		return a, true
	case a.IsNumber() && b.IsNumber():
		out, ok := NumericCommonType(a, b)
		if out.Kind == types.Numeric && (a.Natural || b.Natural || a.Kind != b.Kind) {
			// numeric without a declared scale shows each value's own
			out = types.NumericT(0, types.DefaultNumericScale)
			out.Natural = true
		}
		return out, ok
	case a.IsString() && b.IsString():
		if a.Kind == b.Kind && a.Kind != types.Char {
			return types.T{Kind: a.Kind}, true
		}
		return textT, true
	case a.Kind == b.Kind && a.Kind != types.Enum:
		return a, true
	case ImplicitCast(a, b) && !ImplicitCast(b, a):
		return b, true
	case ImplicitCast(b, a) && !ImplicitCast(a, b):
		return a, true
	}
	return types.T{}, false
}

// resolveCompatible binds a function whose parameters are all
// anycompatible(array) and whose result is the array type.
func resolveCompatible(name string, isArray []bool, f func(t types.T, ds []types.Datum) (types.Datum, error)) func([]types.T) ([]types.T, types.T, Kernel, error) {
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		et, err := compatibleElem(name, args, isArray)
		if err != nil {
			return nil, types.T{}, nil, err
		}
		at := types.ArrayOf(et)
		want := make([]types.T, len(args))
		for i := range want {
			want[i] = et
			if isArray[i] {
				want[i] = at
			}
		}
		return want, at, rowKernelNullable(at, func(ds []types.Datum) (types.Datum, error) { return f(et, ds) }), nil
	}
}

// resolveArrayOnly binds a strict function of one array (of any element
// type) and fixed further parameters.
func resolveArrayOnly(name string, rest []types.T, ret types.T, f func([]types.Datum) (types.Datum, error)) func([]types.T) ([]types.T, types.T, Kernel, error) {
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 1+len(rest) || args[0].Kind != types.Array || !castableAll(args[1:], rest) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return append([]types.T{args[0]}, rest...), ret, rowKernel(ret, f), nil
	}
}

func elems(d types.Datum) []types.Datum {
	if d == nil {
		return nil
	}
	return d.([]types.Datum)
}

func arrayAppend(_ types.T, ds []types.Datum) (types.Datum, error) {
	return append(append([]types.Datum{}, elems(ds[0])...), ds[1]), nil
}

func arrayPrepend(_ types.T, ds []types.Datum) (types.Datum, error) {
	return append([]types.Datum{ds[0]}, elems(ds[1])...), nil
}

// arrayCat is NULL only when both arrays are.
func arrayCat(_ types.T, ds []types.Datum) (types.Datum, error) {
	if ds[0] == nil && ds[1] == nil {
		return nil, nil
	}
	return append(append([]types.Datum{}, elems(ds[0])...), elems(ds[1])...), nil
}

// sameElem is IS NOT DISTINCT FROM between elements, the comparison
// array_position, array_remove and array_replace use.
func sameElem(t types.T, a, b types.Datum) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return CompareDatums(t, a, b) == 0
}

func arrayRemove(t types.T, ds []types.Datum) (types.Datum, error) {
	if ds[0] == nil {
		return nil, nil
	}
	out := []types.Datum{}
	for _, e := range elems(ds[0]) {
		if !sameElem(t, e, ds[1]) {
			out = append(out, e)
		}
	}
	return out, nil
}

func arrayReplace(t types.T, ds []types.Datum) (types.Datum, error) {
	if ds[0] == nil {
		return nil, nil
	}
	out := append([]types.Datum{}, elems(ds[0])...)
	for i, e := range out {
		if sameElem(t, e, ds[1]) {
			out[i] = ds[2]
		}
	}
	return out, nil
}

// resolvePosition binds array_position(array, elem [, start]).
func resolvePosition(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) < 2 || len(args) > 3 {
		return nil, types.T{}, nil, NoSuchFunction("array_position", args)
	}
	et, err := compatibleElem("array_position", args[:2], []bool{true, false})
	if err != nil || len(args) == 3 && !ImplicitCast(args[2], int4T) {
		return nil, types.T{}, nil, NoSuchFunction("array_position", args)
	}
	want := []types.T{types.ArrayOf(et), et, int4T}[:len(args)]
	return want, int4T, rowKernelNullable(int4T, func(ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			return nil, nil
		}
		start := 0
		if len(ds) == 3 {
			if ds[2] == nil {
				return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "initial position must not be null")
			}
			start = max(int(ds[2].(int64))-1, 0)
		}
		es := elems(ds[0])
		for i := start; i < len(es); i++ {
			if sameElem(et, es[i], ds[1]) {
				return int64(i + 1), nil
			}
		}
		return nil, nil
	}), nil
}

// resolvePositions binds array_positions(array, elem): every position.
func resolvePositions(args []types.T) ([]types.T, types.T, Kernel, error) {
	et, err := compatibleElem("array_positions", args, []bool{true, false})
	if err != nil {
		return nil, types.T{}, nil, err
	}
	ret := types.ArrayOf(int4T)
	return []types.T{types.ArrayOf(et), et}, ret, rowKernelNullable(ret, func(ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			return nil, nil
		}
		out := []types.Datum{}
		for i, e := range elems(ds[0]) {
			if sameElem(et, e, ds[1]) {
				out = append(out, int64(i+1))
			}
		}
		return out, nil
	}), nil
}

// stringToArray is string_to_array(s, delim [, null_string]): a NULL
// delimiter splits s into characters, an empty one keeps s whole, and
// elements equal to null_string become NULL.
func stringToArray(ds []types.Datum) (types.Datum, error) {
	if ds[0] == nil {
		return nil, nil
	}
	s := ds[0].(string)
	out := []types.Datum{}
	if s == "" {
		return out, nil
	}
	var parts []string
	switch {
	case ds[1] == nil:
		for _, r := range s {
			parts = append(parts, string(r))
		}
	case ds[1].(string) == "":
		parts = []string{s}
	default:
		parts = strings.Split(s, ds[1].(string))
	}
	for _, p := range parts {
		if len(ds) > 2 && ds[2] != nil && p == ds[2].(string) {
			out = append(out, nil)
		} else {
			out = append(out, p)
		}
	}
	return out, nil
}

// resolveArrayFill binds array_fill(value, dims [, lower bounds]) for
// one dimension with lower bound 1, the only arrays Weft has.
func resolveArrayFill(args []types.T) ([]types.T, types.T, Kernel, error) {
	intArr := types.ArrayOf(int4T)
	if len(args) < 2 || len(args) > 3 || args[0].Kind == types.Array {
		return nil, types.T{}, nil, NoSuchFunction("array_fill", args)
	}
	for _, a := range args[1:] {
		if a.Kind != types.Unknown && !(a.Kind == types.Array && ImplicitCast(a.ElemT(), int4T)) {
			return nil, types.T{}, nil, NoSuchFunction("array_fill", args)
		}
	}
	et := args[0]
	if et.Kind == types.Unknown {
		return nil, types.T{}, nil, sqlerr.New(sqlerr.DatatypeMismatch, "could not determine polymorphic type because input has type unknown")
	}
	want := []types.T{et, intArr, intArr}[:len(args)]
	ret := types.ArrayOf(et)
	return want, ret, rowKernelNullable(ret, arrayFill), nil
}

func arrayFill(ds []types.Datum) (types.Datum, error) {
	if ds[1] == nil || len(ds) > 2 && ds[2] == nil {
		return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "dimension array or low bound array cannot be null")
	}
	dims := elems(ds[1])
	if len(ds) > 2 && len(elems(ds[2])) != len(dims) {
		return nil, sqlerr.New(sqlerr.ArraySubscriptError, "wrong number of array subscripts").
			WithDetail("Low bound array has different size than dimensions array.")
	}
	for _, d := range dims {
		if d == nil {
			return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "dimension values cannot be null")
		}
	}
	if len(ds) > 2 {
		for _, lb := range elems(ds[2]) {
			if lb == nil {
				return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "dimension values cannot be null")
			}
			if lb.(int64) != 1 && len(dims) == 1 && dims[0].(int64) > 0 {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "arrays with a lower bound other than 1 are not supported")
			}
		}
	}
	switch len(dims) {
	case 0:
		return []types.Datum{}, nil
	case 1:
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported")
	}
	n := dims[0].(int64)
	if n <= 0 {
		return []types.Datum{}, nil
	}
	if n > maxAllocSize/16 {
		return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "array size exceeds the maximum allowed (%d)", maxAllocSize/16)
	}
	out := make([]types.Datum, n)
	for i := range out {
		out[i] = ds[0]
	}
	return out, nil
}

// arrayDims is array_dims: '[1:n]', NULL for an empty array.
func arrayDims(ds []types.Datum) (types.Datum, error) {
	n := len(elems(ds[0]))
	if n == 0 {
		return nil, nil
	}
	return "[1:" + strconv.Itoa(n) + "]", nil
}

func arrayNdims(ds []types.Datum) (types.Datum, error) {
	if len(elems(ds[0])) == 0 {
		return nil, nil
	}
	return int64(1), nil
}

// resolveTrimArray binds trim_array(array, n): the array without its
// last n elements.
func resolveTrimArray(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) != 2 || args[0].Kind != types.Array || !ImplicitCast(args[1], int4T) {
		return nil, types.T{}, nil, NoSuchFunction("trim_array", args)
	}
	return []types.T{args[0], int4T}, args[0], rowKernel(args[0], func(ds []types.Datum) (types.Datum, error) {
		es := elems(ds[0])
		n := ds[1].(int64)
		if n < 0 || n > int64(len(es)) {
			return nil, sqlerr.New(sqlerr.ArraySubscriptError, "number of elements to trim must be between 0 and %d", len(es))
		}
		return append([]types.Datum{}, es[:int64(len(es))-n]...), nil
	}), nil
}
