package pgwire

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// rowEncoder renders result rows as DataRow values. The common column
// types append straight from their Arrow arrays into one buffer reused
// for every row (DataRow's encoding copies the values out), so that
// streaming millions of rows makes next to no garbage; the other types
// go through a Datum and types.FormatIn / encodeBinary.
type rowEncoder struct {
	res    *engine.Result
	binary []bool
	buf    []byte
	spans  [][2]int // each value's bytes in buf; -1 start is NULL
	values [][]byte
}

func newRowEncoder(res *engine.Result, formats []int16) *rowEncoder {
	n := len(res.Columns)
	// buf starts non-nil: an empty value is a zero-length slice of it, and a
	// nil slice would go out as NULL (a row whose only values were empty
	// strings read back as NULLs)
	e := &rowEncoder{res: res, binary: make([]bool, n), buf: make([]byte, 0, 64), spans: make([][2]int, n), values: make([][]byte, n)}
	for i := range e.binary {
		e.binary[i] = formatOf(formats, i) == 1
	}
	return e
}

// encode renders row of b; the values are valid until the next call.
func (e *rowEncoder) encode(b arrow.Record, row int) ([][]byte, error) {
	e.buf = e.buf[:0]
	for i, col := range e.res.Columns {
		arr := b.Column(i)
		if arr.IsNull(row) {
			e.spans[i] = [2]int{-1, -1}
			continue
		}
		start := len(e.buf)
		var err error
		if e.binary[i] {
			e.buf, err = appendBinary(e.buf, col.Type, arr, row)
		} else {
			e.buf = appendText(e.buf, col.Type, arr, row, e.res)
		}
		if err != nil {
			return nil, err
		}
		e.spans[i] = [2]int{start, len(e.buf)}
	}
	for i, sp := range e.spans {
		if sp[0] < 0 {
			e.values[i] = nil
		} else {
			e.values[i] = e.buf[sp[0]:sp[1]:sp[1]]
		}
	}
	return e.values, nil
}

// appendText appends a value in the text format.
func appendText(dst []byte, t types.T, arr arrow.Array, row int, res *engine.Result) []byte {
	switch a := arr.(type) {
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(row), 10)
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.Int16:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.String:
		return append(dst, a.Value(row)...)
	case *array.Boolean:
		if a.Value(row) {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case *array.Decimal128:
		if !t.Natural {
			return types.AppendNumeric(dst, a.Value(row), t.Scale)
		}
	}
	return append(dst, types.FormatIn(t, exec.DatumAt(arr, row), res.Zone)...)
}

// appendBinary appends a value in the binary format.
func appendBinary(dst []byte, t types.T, arr arrow.Array, row int) ([]byte, error) {
	if t.PG == 0 {
		switch a := arr.(type) {
		case *array.Int64:
			if t.Kind == types.Int8 {
				return binary.BigEndian.AppendUint64(dst, uint64(a.Value(row))), nil
			}
		case *array.Int32:
			if t.Kind == types.Int4 {
				return binary.BigEndian.AppendUint32(dst, uint32(a.Value(row))), nil
			}
		case *array.Float64:
			if t.Kind == types.Float8 {
				return binary.BigEndian.AppendUint64(dst, math.Float64bits(a.Value(row))), nil
			}
		case *array.String:
			if t.Kind == types.Text || t.Kind == types.Varchar || t.Kind == types.Char {
				return append(dst, a.Value(row)...), nil
			}
		}
	}
	v, err := encodeBinary(t, exec.DatumAt(arr, row))
	if err != nil {
		return dst, err
	}
	return append(dst, v...), nil
}
