package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// fixed is the set of Go value types stored directly in Arrow buffers.
type fixed interface {
	~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

// values returns the typed value slice of a fixed-width array (no copy).
func values[T fixed](arr arrow.Array) []T {
	return arrow.GetValues[T](arr.Data(), 1)
}

// allocFixed allocates a buffer for n values of T and returns it with a typed
// view of its memory. The caller owns the buffer.
func allocFixed[T fixed](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	var zero T
	size := int(sizeOf(zero))
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * size)
	if n == 0 {
		return buf, nil
	}
	return buf, arrow.GetData[T](buf.Bytes())[:n]
}

func sizeOf[T fixed](T) uintptr {
	var v T
	switch any(v).(type) {
	case int16:
		return 2
	case int32, float32:
		return 4
	}
	return 8
}

// makeArray wraps buffers into an array and releases the caller's
// references to them (the array holds its own).
func makeArray(dt arrow.DataType, n int, validity, data *memory.Buffer, nulls int) arrow.Array {
	d := array.NewData(dt, n, []*memory.Buffer{validity, data}, nil, nulls, 0)
	if validity != nil {
		validity.Release()
	}
	data.Release()
	arr := array.MakeFromData(d)
	d.Release()
	return arr
}

// combineValidity returns the AND of the arrays' validity as a new bitmap
// (nil when no input has nulls) and the resulting null count.
func combineValidity(mem memory.Allocator, n int, arrs ...arrow.Array) (*memory.Buffer, int) {
	anyNulls := false
	for _, a := range arrs {
		if a.NullN() > 0 {
			anyNulls = true
		}
	}
	if !anyNulls {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := buf.Bytes()
	for i := range bits {
		bits[i] = 0xff
	}
	for _, a := range arrs {
		if a.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				bitutil.ClearBit(bits, i)
			}
		}
	}
	nulls := n - bitutil.CountSetBits(bits, 0, n)
	return buf, nulls
}

// validMask reports per row whether all arrays are non-null; nil means all
// rows are valid.
func validMask(n int, arrs ...arrow.Array) []bool {
	var mask []bool
	for _, a := range arrs {
		if a.NullN() == 0 {
			continue
		}
		if mask == nil {
			mask = make([]bool, n)
			for i := range mask {
				mask[i] = true
			}
		}
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				mask[i] = false
			}
		}
	}
	return mask
}

// DatumAt reads row i of arr as a datum (nil for NULL). It is the slow,
// general path; hot loops use typed slices instead.
func DatumAt(arr arrow.Array, i int) types.Datum {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return float64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Decimal128:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...)
	case *array.Date32:
		return int32(a.Value(i))
	case *array.Time64:
		return int64(a.Value(i))
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.MonthDayNanoInterval:
		v := a.Value(i)
		return types.IntervalValue{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000}
	case *array.List:
		start, end := a.ValueOffsets(i)
		values := a.ListValues()
		out := make([]types.Datum, end-start)
		for j := range out {
			out[j] = DatumAt(values, int(start)+j)
		}
		return out
	case *array.Null:
		return nil
	}
	panic(fmt.Sprintf("exec: DatumAt: unsupported array %T", arr))
}

// AppendDatum appends d (which must match the builder's type) to b.
func AppendDatum(b array.Builder, d types.Datum) {
	if d == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(d.(bool))
	case *array.Int16Builder:
		bb.Append(int16(d.(int64)))
	case *array.Int32Builder:
		bb.Append(int32(d.(int64)))
	case *array.Int64Builder:
		bb.Append(d.(int64))
	case *array.Float32Builder:
		bb.Append(float32(d.(float64)))
	case *array.Float64Builder:
		bb.Append(d.(float64))
	case *array.Decimal128Builder:
		bb.Append(d.(decimal128.Num))
	case *array.StringBuilder:
		bb.Append(d.(string))
	case *array.BinaryBuilder:
		bb.Append(d.([]byte))
	case *array.Date32Builder:
		bb.Append(arrow.Date32(d.(int32)))
	case *array.Time64Builder:
		bb.Append(arrow.Time64(d.(int64)))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(d.(int64)))
	case *array.MonthDayNanoIntervalBuilder:
		iv := d.(types.IntervalValue)
		bb.Append(arrow.MonthDayNanoInterval{Months: iv.Months, Days: iv.Days, Nanoseconds: iv.Micros * 1000})
	case *array.ListBuilder:
		bb.Append(true)
		for _, e := range d.([]types.Datum) {
			AppendDatum(bb.ValueBuilder(), e)
		}
	default:
		panic(fmt.Sprintf("exec: AppendDatum: unsupported builder %T", b))
	}
}

// ConstArray builds an array of n copies of d.
func ConstArray(mem memory.Allocator, t types.T, d types.Datum, n int) arrow.Array {
	switch v := d.(type) {
	case int64:
		switch t.Kind {
		case types.Int8, types.Timestamp, types.TimestampTZ, types.Time:
			buf, vals := allocFixed[int64](mem, n)
			for i := range vals {
				vals[i] = v
			}
			return makeArray(t.Arrow(), n, nil, buf, 0)
		case types.Int4:
			buf, vals := allocFixed[int32](mem, n)
			for i := range vals {
				vals[i] = int32(v)
			}
			return makeArray(t.Arrow(), n, nil, buf, 0)
		}
	case int32:
		if t.Kind == types.Date {
			buf, vals := allocFixed[int32](mem, n)
			for i := range vals {
				vals[i] = v
			}
			return makeArray(t.Arrow(), n, nil, buf, 0)
		}
	case bool:
		if t.Kind == types.Bool {
			b := memory.NewResizableBuffer(mem)
			b.Resize(int(bitutil.BytesForBits(int64(n))))
			if v {
				bitutil.SetBitsTo(b.Bytes(), 0, int64(n), true)
			} else {
				clear(b.Bytes())
			}
			return makeArray(t.Arrow(), n, nil, b, 0)
		}
	case float64:
		if t.Kind == types.Float8 {
			buf, vals := allocFixed[float64](mem, n)
			for i := range vals {
				vals[i] = v
			}
			return makeArray(t.Arrow(), n, nil, buf, 0)
		}
	case decimal128.Num:
		if t.Kind == types.Numeric {
			buf, vals := allocDecimals(mem, n)
			for i := range vals {
				vals[i] = v
			}
			return makeArray(t.Arrow(), n, nil, buf, 0)
		}
	case string:
		if t.Arrow().ID() == arrow.STRING {
			if arr := constText(mem, t, v, n); arr != nil {
				return arr
			}
		}
	}
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		AppendDatum(b, d)
	}
	return b.NewArray()
}

// NullArray builds an all-NULL array of type t.
func NullArray(mem memory.Allocator, t types.T, n int) arrow.Array {
	return ConstArray(mem, t, nil, n)
}
