package exec

import (
	"encoding/binary"
	"hash/maphash"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// groupTable assigns dense group indexes to distinct key tuples (NULL is a
// value of its own) and keeps the key values of every group.
type groupTable struct {
	keyTypes []types.T
	table    *keyHashTable // nil without keys: one group
	scratch  hashScratch
	mem      memory.Allocator
	n        int
}

func newGroupTable(ec *EvalContext, keyTypes []types.T) *groupTable {
	return newSeededGroupTable(ec, keyTypes, maphash.MakeSeed())
}

// newSeededGroupTable is a group table hashing with seed (see
// newSeededKeyHashTable).
func newSeededGroupTable(ec *EvalContext, keyTypes []types.T, seed maphash.Seed) *groupTable {
	t := &groupTable{keyTypes: keyTypes, mem: ec.Mem}
	if len(keyTypes) > 0 {
		classes := make([]keyClass, len(keyTypes))
		for i, kt := range keyTypes {
			classes[i] = classOf(kt)
		}
		t.table = newSeededKeyHashTable(ec, classes, keyTypes, seed)
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
	if t.table != nil {
		t.table.release()
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

// lookup returns the group index of every row, creating groups as needed.
func (t *groupTable) lookup(keys []arrow.Array, n int, out []uint32) []uint32 {
	if t.table == nil {
		if t.n == 0 {
			t.n = 1
		}
		out = sized(out, n)
		clear(out)
		return out
	}
	out = t.table.groupIDs(&t.scratch, keys, t.keyTypes, n, true, true, out)
	t.n = t.table.n
	return out
}

// probe returns the group index of every row whose key the table holds,
// noGroup for the others; it makes no group. The rows' hashes are then
// in rowHashes.
func (t *groupTable) probe(keys []arrow.Array, n int, out []uint32) []uint32 {
	return t.table.groupIDs(&t.scratch, keys, t.keyTypes, n, false, true, out)
}

// rowHashes are the hashes of the rows the last lookup or probe placed.
func (t *groupTable) rowHashes() []uint64 { return t.scratch.rowHash }

// heldBytes is what the table holds, as charged to the statement.
func (t *groupTable) heldBytes() int64 {
	if t.table == nil {
		return 0
	}
	return t.table.charged
}

func appendStringBytes(dst []byte, s string) []byte {
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// keyArrays returns the representative key columns (caller releases); a
// table gives them once.
func (t *groupTable) keyArrays() []arrow.Array {
	if t.table == nil {
		return nil
	}
	return t.table.keyArrays(t.mem, t.keyTypes)
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

// lookupSelected is lookup for the rows sel of keys, which hold a whole
// batch of n rows: out[k] is row sel[k]'s group, and no other row makes
// one. ok is false, and nothing is done, when the table looks its keys
// up directly by value (directlookup.go), which takes every row: the
// caller then copies the selected keys out.
func (t *groupTable) lookupSelected(keys []arrow.Array, n int, sel []int32, out []uint32) ([]uint32, bool) {
	if t.table == nil {
		return t.lookup(nil, len(sel), out), true
	}
	if !t.table.groupIDsSelected(&t.scratch, keys, t.keyTypes, n, sel) {
		return out, false
	}
	t.n = t.table.n
	out = sized(out, len(sel))
	for k, r := range sel {
		out[k] = t.scratch.all[r]
	}
	return out, true
}

// groupIDsSelected is groupIDs (inserting, NULLs matching) for the rows
// sel of n, into s.all (indexed by row); the other rows are skipped. A
// table that reads through selections never starts direct lookup.
func (t *keyHashTable) groupIDsSelected(s *hashScratch, keys []arrow.Array, kts []types.T, n int, sel []int32) bool {
	if t.direct != nil {
		return false
	}
	t.directOff = true
	t.hashRows(s, keys, kts, n, true)
	s.skip = sized(s.skip, n)
	for i := range s.skip {
		s.skip[i] = true
	}
	for _, r := range sel {
		s.skip[r] = false
	}
	t.reserve(len(sel))
	s.all = sized(s.all, n)
	t.place(s, n, true, s.all)
	for c, col := range t.cols {
		col.appendRows(keys[c], kts[c], s.newRows)
	}
	t.verify(s, keys, kts, true, s.all)
	return true
}
