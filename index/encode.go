package index

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// Keys encode column values so that comparing the bytes orders them as
// the engine's ORDER BY does (ascending, NULLS LAST; text by its bytes, as
// the C collation): each column is a marker byte, then its value.
// Every value's encoding is self-delimiting, so the entries whose leading
// columns equal some values are exactly those whose key starts with the
// encoding of those values.
const (
	markValue byte = 1
	markNull  byte = 2
)

// Supported reports whether values of t can be index keys: the kinds
// whose order the encoding keeps. (Enums, JSON, addresses, intervals and
// arrays order by rules of their own.)
func Supported(t types.T) bool {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric,
		types.Text, types.Varchar, types.Char, types.Bytea, types.UUID,
		types.Date, types.Time, types.Timestamp, types.TimestampTZ:
		return true
	}
	return false
}

// Comparable reports whether a constant of type v can be encoded as a key
// of a column of type col with the same order and equality (the index is
// searched by the bytes, so a bound of another type family, or a numeric
// of another scale, cannot be used).
func Comparable(col, v types.T) bool {
	fam := func(t types.T) int {
		switch t.Kind {
		case types.Int2, types.Int4, types.Int8:
			return 1
		case types.Float4, types.Float8:
			return 2
		case types.Text, types.Varchar:
			return 3
		}
		return 100 + int(t.Kind)
	}
	if !Supported(col) || fam(col) != fam(v) {
		return false
	}
	if col.Kind == types.Numeric {
		return col.Scale == v.Scale
	}
	return true
}

// AppendNull appends a NULL column value.
func AppendNull(dst []byte) []byte { return append(dst, markNull) }

// AppendValue appends row i of a (of column type t).
func AppendValue(dst []byte, t types.T, a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return AppendNull(dst)
	}
	dst = append(dst, markValue)
	switch src := a.(type) {
	case *array.Int64:
		return appendInt(dst, src.Value(i))
	case *array.Int32:
		return appendInt(dst, int64(src.Value(i)))
	case *array.Int16:
		return appendInt(dst, int64(src.Value(i)))
	case *array.Date32:
		return appendInt(dst, int64(src.Value(i)))
	case *array.Time64:
		return appendInt(dst, int64(src.Value(i)))
	case *array.Timestamp:
		return appendInt(dst, int64(src.Value(i)))
	case *array.Float64:
		return appendFloat(dst, src.Value(i))
	case *array.Float32:
		return appendFloat(dst, float64(src.Value(i)))
	case *array.Decimal128:
		return appendDecimal(dst, src.Value(i))
	case *array.Boolean:
		return appendBool(dst, src.Value(i))
	case *array.String:
		s := src.Value(i)
		if t.Kind == types.Char {
			s = strings.TrimRight(s, " ")
		}
		return appendBytes(dst, s)
	case *array.Binary:
		return appendBytes(dst, string(src.Value(i)))
	}
	panic("index: unsupported key array " + a.DataType().String())
}

// AppendDatum appends a constant (as exec.DatumAt would give it) as a
// value of a column of type t; ok is false for a datum it cannot encode.
func AppendDatum(dst []byte, t types.T, d types.Datum) (out []byte, ok bool) {
	if d == nil {
		return AppendNull(dst), true
	}
	dst = append(dst, markValue)
	switch v := d.(type) {
	case int64:
		if t.Kind == types.Float4 || t.Kind == types.Float8 {
			return appendFloat(dst, float64(v)), true
		}
		return appendInt(dst, v), true
	case int32:
		return appendInt(dst, int64(v)), true
	case float64:
		return appendFloat(dst, v), true
	case float32:
		return appendFloat(dst, float64(v)), true
	case decimal128.Num:
		return appendDecimal(dst, v), true
	case bool:
		return appendBool(dst, v), true
	case string:
		if t.Kind == types.Char {
			v = strings.TrimRight(v, " ")
		}
		return appendBytes(dst, v), true
	case []byte:
		return appendBytes(dst, string(v)), true
	}
	return dst, false
}

func appendInt(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// appendFloat orders as the engine compares floats: -0 equals 0, NaN
// (any NaN) above +Infinity.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		v = math.NaN()
	case v == 0:
		v = 0
	}
	bits := math.Float64bits(v)
	if bits&(1<<63) != 0 {
		bits = ^bits
	} else {
		bits |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

// appendDecimal orders numerics of one scale by their unscaled integer.
func appendDecimal(dst []byte, v decimal128.Num) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.HighBits())^(1<<63))
	return binary.BigEndian.AppendUint64(dst, v.LowBits())
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// appendBytes escapes 0x00 as 0x00 0xFF and ends with 0x00 0x01, so a
// string sorts before every longer string it begins.
func appendBytes(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			break
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, 0, 0xFF)
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, 0, 1)
}

// PrefixEnd is the smallest key greater than every key that starts with
// prefix ("" when there is none, meaning no upper end).
func PrefixEnd(prefix string) string {
	b := []byte(prefix)
	for len(b) > 0 {
		if b[len(b)-1] != 0xFF {
			b[len(b)-1]++
			return string(b)
		}
		b = b[:len(b)-1]
	}
	return ""
}

// ValuesStart and ValuesEnd bound the keys whose next column is not NULL
// after prefix (a comparison never matches NULL).
func ValuesStart(prefix string) string { return prefix + string([]byte{markValue}) }
func ValuesEnd(prefix string) string   { return prefix + string([]byte{markNull}) }
