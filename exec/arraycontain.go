package exec

import (
	"github.com/weftdb/weft/sql/types"
)

// ArrayContainmentKernel is the array operators @> (the left array holds
// every element of the right), <@ (the reverse) and && (the arrays share
// an element) over arrays of element type et, as PostgreSQL defines them:
// elements compare by equality, duplicates do not matter, and a NULL
// element matches nothing (ARRAY[NULL] @> ARRAY[NULL] is false, an empty
// array is contained in any array). A NULL array gives NULL.
func ArrayContainmentKernel(op string, et types.T) Kernel {
	return rowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		l, r := ds[0].([]types.Datum), ds[1].([]types.Datum)
		switch op {
		case "@>":
			return containsAll(et, l, r), nil
		case "<@":
			return containsAll(et, r, l), nil
		}
		return overlaps(et, l, r), nil
	})
}

// containsAll reports whether every element of sub is a non-NULL element
// of super.
func containsAll(et types.T, super, sub []types.Datum) bool {
	has := elementSet(et, super)
	for _, d := range sub {
		if d == nil || !has(d) {
			return false
		}
	}
	return true
}

// overlaps reports whether a and b share a non-NULL element.
func overlaps(et types.T, a, b []types.Datum) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	has := elementSet(et, a)
	for _, d := range b {
		if d != nil && has(d) {
			return true
		}
	}
	return false
}

// elementSet is membership in elems (NULLs never match). Values that are
// equal exactly when their Go values are (integers, dates, text compared
// bytewise, booleans) go in a map once an array is long enough to pay
// for one; others are compared as the type orders them.
func elementSet(et types.T, elems []types.Datum) func(types.Datum) bool {
	if len(elems) > 8 && hashableElem(et) {
		set := make(map[types.Datum]struct{}, len(elems))
		for _, e := range elems {
			if e != nil {
				set[e] = struct{}{}
			}
		}
		return func(d types.Datum) bool {
			_, ok := set[d]
			return ok
		}
	}
	return func(d types.Datum) bool {
		for _, e := range elems {
			if e != nil && CompareDatums(et, e, d) == 0 {
				return true
			}
		}
		return false
	}
}

func hashableElem(et types.T) bool {
	switch et.Kind {
	case types.Int2, types.Int4, types.Int8, types.Text, types.Varchar, types.Date, types.Bool, types.Timestamp, types.TimestampTZ, types.Time, types.Enum:
		return true
	}
	return false
}
