package exec

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// Direct lookup of a single integer key (GROUP BY g with g in 0..999, a
// join on keys 1..100000): the values index an array of group ids, so
// placing a row is one load instead of a probe of the hash table and a
// comparison of its key. The hash table still holds every group (its
// hashes, slots and key column), so that a batch outside the range, a
// batch with NULL keys, a merge and a spill go the usual way; direct
// stays exact because every new group in its range is entered in it.

// maxDirectSpan bounds the direct array: 64 KiB of group ids, little
// beside a statement's memory even when many tables are open at once
// (the partitions of a spilling aggregation).
const maxDirectSpan = 1 << 14

// lookupDirect places the rows of a batch whose keys (one integer column,
// no NULLs) all fall within the direct range, as groupIDs does, and
// reports whether it did; false leaves the batch to the hash path. The
// first batch of an empty inserting table decides whether the table has
// a direct range at all.
func (t *keyHashTable) lookupDirect(keys []arrow.Array, n int, insert bool, out []uint32) bool {
	if t.directOff {
		return false
	}
	if t.direct == nil && !t.startDirect(keys, n, insert) {
		return false
	}
	a := keys[0]
	if a.NullN() > 0 {
		return false
	}
	switch a.DataType().ID() {
	case arrow.INT16:
		return directRows(t, arrow.GetValues[int16](a.Data(), 1)[:n], insert, out)
	case arrow.INT32, arrow.DATE32:
		return directRows(t, arrow.GetValues[int32](a.Data(), 1)[:n], insert, out)
	case arrow.INT64, arrow.TIME64, arrow.TIMESTAMP:
		return directRows(t, arrow.GetValues[int64](a.Data(), 1)[:n], insert, out)
	}
	return false
}

// startDirect sets up the direct range around the first batch's keys, or
// turns direct lookup off for good: for more than one key column, a key
// that is not an integer, test tables that force collisions, a first
// batch that is a probe or has NULLs, or keys spread too wide.
func (t *keyHashTable) startDirect(keys []arrow.Array, n int, insert bool) bool {
	if !insert {
		// a probe of a table no insert set up (an empty build side):
		// several partitions probe it at once, so it must not be written
		return false
	}
	t.directOff = true
	if len(t.cols) != 1 || t.collide || t.n != 0 || keys[0].NullN() > 0 {
		return false
	}
	if _, ok := t.cols[0].(*intKeyColumn); !ok {
		return false
	}
	lo, hi, ok := intRangeOf(keys[0], n)
	// the keys must be dense, at most one value per row of the batch in
	// their range: a few groups scattered wide are better hashed
	if !ok || hi-lo >= maxDirectSpan/2 || hi-lo >= int64(max(n, 64)) {
		return false
	}
	span := hi - lo + 1
	size := min(max(2*span, 256), maxDirectSpan)
	// room on both sides of the first keys, within int64: the range
	// [base, base+size-1] must not wrap
	base := lo - (size-span)/2
	if slack := (size - span) / 2; lo < math.MinInt64+slack {
		base = math.MinInt64
	}
	if base > math.MaxInt64-(size-1) {
		base = math.MaxInt64 - (size - 1)
	}
	t.direct, t.directBase, t.directOff = make([]uint32, size), base, false
	t.charge()
	return true
}

// intRangeOf is the smallest and largest of a's n values (no NULLs).
func intRangeOf(a arrow.Array, n int) (int64, int64, bool) {
	switch a.DataType().ID() {
	case arrow.INT16:
		lo, hi := minMaxOf(arrow.GetValues[int16](a.Data(), 1)[:n])
		return lo, hi, true
	case arrow.INT32, arrow.DATE32:
		lo, hi := minMaxOf(arrow.GetValues[int32](a.Data(), 1)[:n])
		return lo, hi, true
	case arrow.INT64, arrow.TIME64, arrow.TIMESTAMP:
		lo, hi := minMaxOf(arrow.GetValues[int64](a.Data(), 1)[:n])
		if hi-lo < 0 { // the span overflows: far too wide anyway
			return 0, math.MaxInt64, true
		}
		return lo, hi, true
	}
	return 0, 0, false
}

func minMaxOf[T integer](vals []T) (int64, int64) {
	lo, hi := int64(vals[0]), int64(vals[0])
	for _, v := range vals[1:] {
		lo, hi = min(lo, int64(v)), max(hi, int64(v))
	}
	return lo, hi
}

// directRows places every row through the direct array when all the
// batch's keys fall in its range (false, placing nothing, otherwise). A
// key without a group gets a new one (insert) or noGroup.
func directRows[T integer](t *keyHashTable, vals []T, insert bool, out []uint32) bool {
	if len(vals) == 0 {
		return true
	}
	lo, hi := minMaxOf(vals)
	base, size := t.directBase, int64(len(t.direct))
	// hi-base wraps negative only when it is far out of range
	if d := hi - base; lo < base || d < 0 || d >= size {
		return false
	}
	direct := t.direct
	for i, v := range vals {
		g := direct[int64(v)-base]
		if g == 0 {
			if !insert {
				out[i] = noGroup
				continue
			}
			g = t.newDirectGroup(int64(v)) + 1
		}
		out[i] = g - 1
	}
	return true
}

// newDirectGroup makes a group for key v, which the table does not hold:
// in the hash table, the key column and the direct array.
func (t *keyHashTable) newDirectGroup(v int64) uint32 {
	h := mixHash(uint64(v))
	pos := h & t.mask
	for t.slots[pos] != 0 {
		pos = (pos + 1) & t.mask
	}
	g := t.newGroup(h, pos)
	c := t.cols[0].(*intKeyColumn)
	c.vals = append(c.vals, v)
	c.valid = append(c.valid, true)
	t.direct[v-t.directBase] = g + 1
	return g
}

// syncDirect enters the groups made since group from (by the hash path)
// in the direct array, those whose non-NULL key falls in its range.
func (t *keyHashTable) syncDirect(from int) {
	if t.direct == nil {
		return
	}
	c := t.cols[0].(*intKeyColumn)
	for g := from; g < t.n; g++ {
		if !c.valid[g] {
			continue
		}
		// compared, not subtracted: a far key's difference wraps
		if v := c.vals[g]; v >= t.directBase && v <= t.directBase+int64(len(t.direct)-1) {
			t.direct[v-t.directBase] = uint32(g) + 1
		}
	}
}
