package exec

import (
	"encoding/binary"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// groupTable assigns dense group indexes to distinct key tuples and keeps one
// representative row of key values per group.
type groupTable struct {
	keyTypes []types.T
	ints     map[int64]uint32 // single integer-like key
	nullGrp  int64            // group of the NULL key for ints and texts (-1 none)
	// texts is a single text or varchar key, by its value; every batch
	// uses it, whatever its layout (with NULLs or without)
	texts    map[string]uint32
	strs     map[string]uint32
	builders []array.Builder
	n        int
	scratch  []byte
}

func newGroupTable(ec *EvalContext, keyTypes []types.T) *groupTable {
	t := &groupTable{keyTypes: keyTypes, nullGrp: -1}
	switch {
	case len(keyTypes) == 1 && intLike(keyTypes[0]):
		t.ints = map[int64]uint32{}
	case len(keyTypes) == 1 && (keyTypes[0].Kind == types.Text || keyTypes[0].Kind == types.Varchar):
		t.texts = map[string]uint32{}
	default:
		t.strs = map[string]uint32{}
	}
	for _, kt := range keyTypes {
		t.builders = append(t.builders, newBuilder(ec, kt))
	}
	return t
}

func intLike(t types.T) bool {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Date, types.Timestamp, types.TimestampTZ, types.Time:
		return true
	}
	return false
}

func (t *groupTable) release() {
	for _, b := range t.builders {
		b.Release()
	}
}

// intsOf reads an integer-like array as int64 values.
func intsOf(a arrow.Array) []int64 {
	switch src := a.(type) {
	case *array.Int64:
		return src.Int64Values()
	case *array.Timestamp:
		return arrow.GetValues[int64](src.Data(), 1)
	case *array.Time64:
		return arrow.GetValues[int64](src.Data(), 1)
	}
	out := make([]int64, a.Len())
	switch src := a.(type) {
	case *array.Int32:
		for i, v := range src.Int32Values() {
			out[i] = int64(v)
		}
	case *array.Int16:
		for i, v := range src.Int16Values() {
			out[i] = int64(v)
		}
	case *array.Date32:
		for i, v := range arrow.GetValues[int32](src.Data(), 1) {
			out[i] = int64(v)
		}
	}
	return out
}

func (t *groupTable) addGroup(keys []arrow.Array, row int) uint32 {
	g := uint32(t.n)
	t.n++
	for c, b := range t.builders {
		AppendDatum(b, DatumAt(keys[c], row))
	}
	return g
}

// lookup returns the group index of every row, creating groups as needed.
func (t *groupTable) lookup(keys []arrow.Array, n int, out []uint32) []uint32 {
	out = out[:0]
	if len(keys) == 0 {
		if t.n == 0 {
			t.n = 1
		}
		for i := 0; i < n; i++ {
			out = append(out, 0)
		}
		return out
	}
	if t.ints != nil {
		vals := intsOf(keys[0])
		hasNulls := keys[0].NullN() > 0
		for i := 0; i < n; i++ {
			if hasNulls && keys[0].IsNull(i) {
				if t.nullGrp < 0 {
					t.nullGrp = int64(t.addGroup(keys, i))
				}
				out = append(out, uint32(t.nullGrp))
				continue
			}
			g, ok := t.ints[vals[i]]
			if !ok {
				g = t.addGroup(keys, i)
				t.ints[vals[i]] = g
			}
			out = append(out, g)
		}
		return out
	}
	if t.texts != nil {
		return t.lookupTexts(keys, n, out)
	}
	for i := 0; i < n; i++ {
		t.scratch = encodeKey(t.scratch[:0], t.keyTypes, keys, i)
		out = append(out, t.groupOf(t.scratch, keys, i))
	}
	return out
}

// lookupTexts is lookup for one text key: by the value itself, looked up
// without a copy and copied only when a group is made (the batch's memory
// is not the table's).
func (t *groupTable) lookupTexts(keys []arrow.Array, n int, out []uint32) []uint32 {
	col := keys[0]
	s, plain := col.(*array.String)
	for i := 0; i < n; i++ {
		if col.IsNull(i) {
			if t.nullGrp < 0 {
				t.nullGrp = int64(t.addGroup(keys, i))
			}
			out = append(out, uint32(t.nullGrp))
			continue
		}
		var v string
		if plain {
			v = s.Value(i)
		} else {
			v = DatumAt(col, i).(string)
		}
		g, ok := t.texts[v]
		if !ok {
			g = t.addGroup(keys, i)
			t.texts[strings.Clone(v)] = g
		}
		out = append(out, g)
	}
	return out
}

// groupOf is the group of encoded key (row's key), made if new.
func (t *groupTable) groupOf(key []byte, keys []arrow.Array, row int) uint32 {
	g, ok := t.strs[string(key)]
	if !ok {
		g = t.addGroup(keys, row)
		t.strs[string(key)] = g
	}
	return g
}

func appendStringBytes(dst []byte, s string) []byte {
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// keyArrays returns the representative key columns (caller releases).
func (t *groupTable) keyArrays() []arrow.Array {
	out := make([]arrow.Array, len(t.builders))
	for i, b := range t.builders {
		out[i] = b.NewArray()
	}
	return out
}

// encodeKey appends a byte encoding of row i's key values that is equal for
// exactly the rows SQL's GROUP BY considers equal (NULLs equal each other).
func encodeKey(dst []byte, kts []types.T, keys []arrow.Array, i int) []byte {
	for c, a := range keys {
		if a.IsNull(i) {
			dst = append(dst, 0)
			continue
		}
		switch src := a.(type) {
		case *array.String:
			s := src.Value(i)
			if kts[c].Kind == types.Char {
				s = trimBlanks(s)
			}
			dst = appendStringBytes(dst, s)
			continue
		}
		dst = append(dst, 1)
		switch src := a.(type) {
		case *array.Binary:
			v := src.Value(i)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		case *array.Float64:
			dst = binary.LittleEndian.AppendUint64(dst, floatKeyBits(src.Value(i)))
		case *array.Float32:
			dst = binary.LittleEndian.AppendUint64(dst, floatKeyBits(float64(src.Value(i))))
		case *array.Boolean:
			if src.Value(i) {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		case *array.Decimal128:
			v := src.Value(i)
			dst = binary.LittleEndian.AppendUint64(dst, v.LowBits())
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v.HighBits()))
		case *array.MonthDayNanoInterval:
			v := src.Value(i)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(intervalKey(types.IntervalValue{Months: v.Months, Days: v.Days, Micros: v.Nanoseconds / 1000})))
		case *array.List:
			// arrays group by their text form, which is canonical per type
			s := types.Format(kts[c], DatumAt(a, i))
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		default:
			d := DatumAt(a, i)
			var v int64
			switch x := d.(type) {
			case int64:
				v = x
			case int32:
				v = int64(x)
			}
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	}
	return dst
}

// floatKeyBits normalises -0 to 0 and every NaN to one NaN.
func floatKeyBits(f float64) uint64 {
	if f == 0 {
		return 0
	}
	if math.IsNaN(f) {
		return math.Float64bits(math.NaN())
	}
	return math.Float64bits(f)
}

// EncodeKey appends row i's values of keys (of types kts) in the form
// grouping compares them by: equal values, equal bytes.
func EncodeKey(dst []byte, kts []types.T, keys []arrow.Array, i int) []byte {
	return encodeKey(dst, kts, keys, i)
}
