package exec

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// Weft has no array type yet. PostgreSQL's catalogs have array columns
// (oid[], "char"[], int2vector …), which Weft's catalog views hold as
// text in PostgreSQL's array literal form ('{a,b,"c d"}'); these helpers
// give `x op ANY (array)` and array_to_string their meaning over it.

// ParseTextArray splits a one-dimensional array literal into its
// elements (nil for NULL).
func ParseTextArray(s string) ([]*string, error) {
	elems, _, err := types.SplitArrayLiteral(s)
	return elems, err
}

// FormatTextArray renders elements (nil for NULL) as an array literal.
func FormatTextArray(elems []*string) string { return types.JoinArrayLiteral(elems) }

// AnyTextArrayKernel evaluates `x op ANY (a)` (or ALL) where a is a text
// array literal whose elements are read as values of x's type t, with
// SQL's rules: ANY is true if some comparison is true, else NULL if some
// was NULL, else false (ALL dually).
func AnyTextArrayKernel(op CmpOp, t types.T, all bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		b := array.NewBooleanBuilder(ec.Mem)
		defer b.Release()
		for i := 0; i < n; i++ {
			x := DatumAt(args[0], i)
			arr := DatumAt(args[1], i)
			if arr == nil {
				b.AppendNull()
				continue
			}
			elems, err := ParseTextArray(arr.(string))
			if err != nil {
				return nil, err
			}
			result, sawNull := all, false
			for _, e := range elems {
				if x == nil || e == nil {
					sawNull = true
					continue
				}
				v, err := CastDatumIn(*e, types.TextT, t, false, ec.Env.TimeZone())
				if err != nil {
					return nil, err
				}
				if op.holds(CompareDatums(t, x, v)) != all {
					result = !all
					break
				}
			}
			if result == all && sawNull {
				b.AppendNull()
			} else {
				b.Append(result)
			}
		}
		return b.NewArray(), nil
	}
}

// arrayToString is array_to_string(a, sep [, null]) over a text array
// literal: NULL elements are left out, or spelt as the third argument.
func arrayToString(ds []types.Datum) (types.Datum, error) {
	elems, err := ParseTextArray(ds[0].(string))
	if err != nil {
		return nil, err
	}
	parts := make([]string, 0, len(elems))
	for _, e := range elems {
		switch {
		case e != nil:
			parts = append(parts, *e)
		case len(ds) > 2:
			parts = append(parts, ds[2].(string))
		}
	}
	return strings.Join(parts, ds[1].(string)), nil
}

// ArrayElementKernel is a[i] over a text array: 1-based for an array
// literal, 0-based for the int2vector/oidvector form, NULL out of range;
// the element is read as type t.
func ArrayElementKernel(t types.T) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		b := newBuilder(ec, t)
		defer b.Release()
		for i := 0; i < n; i++ {
			arr, idx := DatumAt(args[0], i), DatumAt(args[1], i)
			if arr == nil || idx == nil {
				b.AppendNull()
				continue
			}
			elems, lower, err := arrayWithLower(arr.(string))
			if err != nil {
				return nil, err
			}
			k := int(idx.(int64)) - lower
			if k < 0 || k >= len(elems) || elems[k] == nil {
				b.AppendNull()
				continue
			}
			v, err := CastDatumIn(*elems[k], types.TextT, t, false, ec.Env.TimeZone())
			if err != nil {
				return nil, err
			}
			AppendDatum(b, v)
		}
		return b.NewArray(), nil
	}
}

// arrayWithLower parses a text array and gives its lower bound.
func arrayWithLower(s string) ([]*string, int, error) {
	return types.SplitArrayLiteral(s)
}

// arrayBound is array_upper/array_lower(a, dim) over a text array.
func arrayBound(upper bool) func([]types.Datum) (types.Datum, error) {
	return func(ds []types.Datum) (types.Datum, error) {
		elems, lower, err := arrayWithLower(ds[0].(string))
		if err != nil {
			return nil, err
		}
		if ds[1].(int64) != 1 || len(elems) == 0 {
			return nil, nil
		}
		if upper {
			return int64(lower + len(elems) - 1), nil
		}
		return int64(lower), nil
	}
}

// Unnest yields the elements of an array in its text form, one per row.
type Unnest struct {
	Env   *Env
	Array Expr
	T     types.T
	Out   *arrow.Schema
}

func (u *Unnest) Schema() *arrow.Schema { return u.Out }
func (u *Unnest) Partitions() int       { return 1 }
func (u *Unnest) Children() []Operator  { return nil }
func (u *Unnest) Explain() string       { return "Unnest(" + u.Array.String() + ")" }

func (u *Unnest) Open(ctx context.Context, _ int) (Stream, error) {
	ec := newEvalContext(ctx, u.Env)
	one := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	a, err := u.Array.Eval(ec, one)
	if err != nil {
		return nil, err
	}
	v := DatumAt(a, 0)
	a.Release()
	if v == nil {
		return &sliceStream{}, nil
	}
	elems, err := ParseTextArray(v.(string))
	if err != nil {
		return nil, err
	}
	bld := newBuilder(ec, u.T)
	defer bld.Release()
	for _, e := range elems {
		if e == nil {
			bld.AppendNull()
			continue
		}
		v, err := CastDatumIn(*e, types.TextT, u.T, false, ec.Env.TimeZone())
		if err != nil {
			return nil, err
		}
		AppendDatum(bld, v)
	}
	col := bld.NewArray()
	defer col.Release()
	return &sliceStream{batches: []arrow.Record{array.NewRecord(u.Out, []arrow.Array{col}, int64(col.Len()))}}, nil
}

// ArrayConstructKernel builds ARRAY[a, b, …] of type t, one array per row.
func ArrayConstructKernel(t types.T) Kernel {
	return rowKernelNullable(t, func(ds []types.Datum) (types.Datum, error) {
		return append([]types.Datum{}, ds...), nil
	})
}

// ArrayConcatKernel is || with an array on one or both sides: NULL arrays
// count as empty, as in PostgreSQL.
func ArrayConcatKernel(t types.T, leftArray, rightArray bool) Kernel {
	part := func(d types.Datum, isArray bool) []types.Datum {
		if isArray {
			if d == nil {
				return nil
			}
			return d.([]types.Datum)
		}
		return []types.Datum{d}
	}
	return rowKernelNullable(t, func(ds []types.Datum) (types.Datum, error) {
		if leftArray && rightArray && ds[0] == nil && ds[1] == nil {
			return nil, nil
		}
		out := append([]types.Datum{}, part(ds[0], leftArray)...)
		return append(out, part(ds[1], rightArray)...), nil
	})
}

// ArraySliceKernel is a[lo:hi] over a one-dimensional array in text form
// (args: the array, then lo when hasLo, then hi when hasHi): the elements
// from lo to hi clamped to the array's bounds, an empty array when none,
// NULL when the array or a given bound is NULL. As in PostgreSQL the slice
// starts at subscript 1 whatever the array's lower bound was.
func ArraySliceKernel(hasLo, hasHi bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		b := newBuilder(ec, types.TextT)
		defer b.Release()
		for i := 0; i < n; i++ {
			v, err := sliceAt(args, i, hasLo, hasHi)
			if err != nil {
				return nil, err
			}
			AppendDatum(b, v)
		}
		return b.NewArray(), nil
	}
}

// sliceAt is row i's slice, nil for NULL.
func sliceAt(args []arrow.Array, i int, hasLo, hasHi bool) (types.Datum, error) {
	arr := DatumAt(args[0], i)
	if arr == nil {
		return nil, nil
	}
	elems, lower, err := arrayWithLower(arr.(string))
	if err != nil {
		return nil, err
	}
	from, to := int64(lower), int64(lower+len(elems)-1)
	next := 1
	if hasLo {
		d := DatumAt(args[next], i)
		if d == nil {
			return nil, nil
		}
		from, next = max(from, d.(int64)), next+1
	}
	if hasHi {
		d := DatumAt(args[next], i)
		if d == nil {
			return nil, nil
		}
		to = min(to, d.(int64))
	}
	if from > to {
		return FormatTextArray(nil), nil
	}
	return FormatTextArray(elems[from-int64(lower) : to-int64(lower)+1]), nil
}
