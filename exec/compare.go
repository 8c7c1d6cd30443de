package exec

import (
	"bytes"
	"cmp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// CmpOp is a comparison operator.
type CmpOp string

func (op CmpOp) holds(c int) bool {
	switch op {
	case "=":
		return c == 0
	case "<>", "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// CompareKernel compares two arguments of type t.
func CompareKernel(op CmpOp, t types.T) Kernel {
	switch t.Kind {
	case types.Int2:
		return fixedCompare[int16](op)
	case types.Int4:
		return fixedCompare[int32](op)
	case types.Int8, types.Timestamp, types.TimestampTZ, types.Time:
		return fixedCompare[int64](op)
	case types.Date:
		return fixedCompare[int32](op)
	case types.Float4:
		return floatCompare[float32](op)
	case types.Float8:
		return floatCompare[float64](op)
	case types.Text, types.Varchar, types.Unknown:
		return stringCompare(op, false)
	case types.Char:
		return stringCompare(op, true)
	case types.Numeric:
		return decimalCompareKernel(op)
	}
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		return boolResult(ec.Mem, n, args, func(i int) bool {
			return op.holds(CompareDatums(t, DatumAt(args[0], i), DatumAt(args[1], i)))
		}), nil
	}
}

// boolResult builds a boolean array whose value at i is f(i), NULL where any
// argument is NULL.
func boolResult(mem memory.Allocator, n int, args []arrow.Array, f func(i int) bool) arrow.Array {
	validity, nulls := combineValidity(mem, n, args...)
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := buf.Bytes()
	for i := range bits {
		bits[i] = 0
	}
	for i := 0; i < n; i++ {
		if f(i) {
			bitutil.SetBit(bits, i)
		}
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, n, validity, buf, nulls)
}

func fixedCompare[T int16 | int32 | int64](op CmpOp) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := values[T](args[0]), values[T](args[1])
		var f func(i int) bool
		switch op {
		case "=":
			f = func(i int) bool { return a[i] == b[i] }
		case "<>", "!=":
			f = func(i int) bool { return a[i] != b[i] }
		case "<":
			f = func(i int) bool { return a[i] < b[i] }
		case "<=":
			f = func(i int) bool { return a[i] <= b[i] }
		case ">":
			f = func(i int) bool { return a[i] > b[i] }
		default:
			f = func(i int) bool { return a[i] >= b[i] }
		}
		return boolResult(ec.Mem, n, args, f), nil
	}
}

// floatCompare orders NaN above every other value and equal to itself, as
// PostgreSQL does.
func floatCompare[T float32 | float64](op CmpOp) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := values[T](args[0]), values[T](args[1])
		return boolResult(ec.Mem, n, args, func(i int) bool { return op.holds(compareFloat(float64(a[i]), float64(b[i]))) }), nil
	}
}

// decimalCompareKernel compares decimals as scaled integers; arguments of
// different scales are aligned value by value, without a cast.
func decimalCompareKernel(op CmpOp) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := decimalValues(args[0]), decimalValues(args[1])
		sa, sb := decimalScale(args[0]), decimalScale(args[1])
		if sa != sb {
			return boolResult(ec.Mem, n, args, func(i int) bool { return op.holds(compareDecimalScales(a[i], b[i], sa, sb)) }), nil
		}
		var f func(i int) bool
		switch op {
		case "=":
			f = func(i int) bool { return a[i] == b[i] }
		case "<>", "!=":
			f = func(i int) bool { return a[i] != b[i] }
		case "<":
			f = func(i int) bool { return compareDecimal(a[i], b[i]) < 0 }
		case "<=":
			f = func(i int) bool { return compareDecimal(a[i], b[i]) <= 0 }
		case ">":
			f = func(i int) bool { return compareDecimal(a[i], b[i]) > 0 }
		default:
			f = func(i int) bool { return compareDecimal(a[i], b[i]) >= 0 }
		}
		return boolResult(ec.Mem, n, args, f), nil
	}
}

func stringCompare(op CmpOp, padded bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := args[0].(*array.String), args[1].(*array.String)
		return boolResult(ec.Mem, n, args, func(i int) bool {
			x, y := a.Value(i), b.Value(i)
			if padded {
				x, y = trimBlanks(x), trimBlanks(y)
			}
			return op.holds(strings.Compare(x, y))
		}), nil
	}
}

// CompareDatums orders two non-NULL datums of type t (NULLs sort last).
func CompareDatums(t types.T, a, b types.Datum) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return 1
		}
		return -1
	}
	switch x := a.(type) {
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return compareFloat(x, b.(float64))
	case string:
		switch t.Kind {
		case types.Enum:
			return cmp.Compare(t.Enum.Position(x), t.Enum.Position(b.(string)))
		case types.Inet:
			return types.CompareInet(x, b.(string))
		case types.JSONB:
			return CompareJSONB(x, b.(string))
		}
		if t.Kind == types.Char {
			return strings.Compare(trimBlanks(x), trimBlanks(b.(string)))
		}
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case decimal128.Num:
		y := b.(decimal128.Num)
		switch {
		case x.Less(y):
			return -1
		case x.Greater(y):
			return 1
		}
		return 0
	case []byte:
		return bytes.Compare(x, b.([]byte))
	case int32:
		return cmp.Compare(x, b.(int32))
	case types.IntervalValue:
		return cmp.Compare(intervalKey(x), intervalKey(b.(types.IntervalValue)))
	case []types.Datum:
		// element by element (NULL elements last), then the shorter first
		y := b.([]types.Datum)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := CompareDatums(t.ElemT(), x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmp.Compare(len(x), len(y))
	}
	return 0
}

// intervalKey orders intervals the way PostgreSQL does: a month is 30 days.
func intervalKey(iv types.IntervalValue) float64 {
	return float64(iv.Months)*30*float64(types.MicrosPerDay) + float64(iv.Days)*float64(types.MicrosPerDay) + float64(iv.Micros)
}

// DistinctKernel implements IS [NOT] DISTINCT FROM, where NULLs compare equal.
func DistinctKernel(t types.T, notDistinct bool) Kernel {
	return rowKernelNullable(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		var same bool
		switch {
		case ds[0] == nil || ds[1] == nil:
			same = ds[0] == nil && ds[1] == nil
		default:
			same = CompareDatums(t, ds[0], ds[1]) == 0
		}
		return same == notDistinct, nil
	})
}

// GreatestKernel implements GREATEST (or LEAST), ignoring NULLs.
func GreatestKernel(t types.T, greatest bool) Kernel {
	return rowKernelNullable(t, func(ds []types.Datum) (types.Datum, error) {
		var best types.Datum
		for _, d := range ds {
			if d == nil {
				continue
			}
			if best == nil {
				best = d
				continue
			}
			c := CompareDatums(t, d, best)
			if (greatest && c > 0) || (!greatest && c < 0) {
				best = d
			}
		}
		return best, nil
	})
}

// trimBlanks drops a char(n) value's trailing blanks, which do not count
// in its comparisons (a plain loop: strings.TrimRight builds a cutset
// table on every call, and comparisons call it per row).
func trimBlanks(s string) string {
	i := len(s)
	for i > 0 && s[i-1] == ' ' {
		i--
	}
	return s[:i]
}
