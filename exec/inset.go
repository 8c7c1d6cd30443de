package exec

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// InSet evaluates x = c1 OR x = c2 OR … (what x IN (c1, c2, …) binds to)
// over non-NULL constants of a type whose equality is equality of values
// (integers, text in the C collation, booleans, dates, timestamps) with
// one lookup per row: an IN list of a million constants made every row
// run a million comparisons.
type InSet struct {
	Arg Expr
	Set map[types.Datum]struct{}
	// Or is the expression it stands for, shown by EXPLAIN
	Or *BoolOp

	once sync.Once
	set  *typedSet
}

// InSetKind reports whether values of t can be looked up in an InSet.
func InSetKind(t types.T) bool {
	if t.PG != 0 {
		return false // name, "char", oid, catalog arrays: keep their own operators
	}
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Text, types.Varchar, types.Bool, types.Date, types.Timestamp, types.TimestampTZ:
		return true
	}
	return false
}

// InSetKey checks a constant's datum has the Go type DatumAt gives values
// of kind k, so that it meets them in the set.
func InSetKey(k types.Kind, d types.Datum) bool {
	switch d.(type) {
	case int64:
		return k == types.Int2 || k == types.Int4 || k == types.Int8 || k == types.Timestamp || k == types.TimestampTZ
	case string:
		return k == types.Text || k == types.Varchar
	case bool:
		return k == types.Bool
	case int32:
		return k == types.Date
	}
	return false
}

func (e *InSet) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	a, err := e.Arg.Eval(ec, b)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	n := a.Len()
	bld := array.NewBooleanBuilder(ec.Mem)
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		d := DatumAt(a, i)
		if d == nil {
			bld.UnsafeAppendBoolToBitmap(false)
			continue
		}
		_, found := e.Set[d]
		bld.UnsafeAppend(found)
	}
	return bld.NewArray(), nil
}

func (e *InSet) Type() types.T  { return types.BoolT }
func (e *InSet) String() string { return e.Or.String() }

// typedSet is an InSet's constants by Go type, for lookups that box no
// value: text compares its bytes, the integer kinds and dates their
// int64 value.
type typedSet struct {
	strs map[string]struct{}
	ints map[int64]struct{}
}

func (e *InSet) typed() *typedSet {
	e.once.Do(func() {
		ts := &typedSet{strs: map[string]struct{}{}, ints: map[int64]struct{}{}}
		for d := range e.Set {
			switch v := d.(type) {
			case string:
				ts.strs[v] = struct{}{}
			case int64:
				ts.ints[v] = struct{}{}
			case int32:
				ts.ints[int64(v)] = struct{}{}
			}
		}
		e.set = ts
	})
	return e.set
}

// selectRows keeps the rows of sel whose value is (want) or is not (!want)
// in the set; NULLs in neither case.
func (e *InSet) selectRows(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error) {
	a, at, err := evalOnSelection(ec, b, e.Arg, sel)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	ts := e.typed()
	var in func(pos int) bool
	switch x := a.(type) {
	case *array.String:
		v := viewText(x)
		in = func(pos int) bool { _, ok := ts.strs[string(v.at(pos))]; return ok }
	case *array.Int16:
		vals := x.Int16Values()
		in = func(pos int) bool { _, ok := ts.ints[int64(vals[pos])]; return ok }
	case *array.Int32:
		vals := x.Int32Values()
		in = func(pos int) bool { _, ok := ts.ints[int64(vals[pos])]; return ok }
	case *array.Int64:
		vals := x.Int64Values()
		in = func(pos int) bool { _, ok := ts.ints[vals[pos]]; return ok }
	case *array.Date32:
		vals := x.Date32Values()
		in = func(pos int) bool { _, ok := ts.ints[int64(vals[pos])]; return ok }
	default:
		in = func(pos int) bool { _, ok := e.Set[DatumAt(a, pos)]; return ok }
	}
	out = out[:0]
	for k, row := range sel {
		pos := k
		if at != nil {
			pos = int(at[k])
		}
		if a.IsValid(pos) && in(pos) == want {
			out = append(out, row)
		}
	}
	return out, nil
}
