package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// keyBitmap holds which values a hash join's build side has for its one
// integer key, one bit per value of the keys' range. A probe row whose key
// lies outside the range or whose bit is clear has no partner: one bit
// test rules it out where hashing and probing the table cost several
// times as much. Joins of a large table against a filtered small one
// (TPC-H q17's lineitem against 0.1% of the parts) spend most of their
// time on rows like that.
type keyBitmap struct {
	min  int64
	span uint64 // max - min + 1
	bits []uint64
}

// maxKeyBitmapBits bounds a bitmap at 8 MiB; past 256 KiB,
// keyBitmapBitsPerRow bounds it against the build side's size, so a bitmap
// never costs much more than the hash table beside it.
const (
	maxKeyBitmapBits    = 1 << 26
	keyBitmapBitsPerRow = 64
	minKeyBitmapBits    = 1 << 21
)

// newKeyBitmap returns the bitmap of an integer build key, or nil when
// there are several keys, the key is not an integer, or its range is too
// wide for the rows.
func newKeyBitmap(keys []arrow.Array) *keyBitmap {
	if len(keys) != 1 {
		return nil
	}
	a := keys[0]
	lo, hi, ok := intValueRange(a)
	if !ok {
		return nil
	}
	span := uint64(hi-lo) + 1
	if hi-lo < 0 || span > maxKeyBitmapBits || span > uint64(keyBitmapBitsPerRow*a.Len()+minKeyBitmapBits) {
		return nil
	}
	m := &keyBitmap{min: lo, span: span, bits: make([]uint64, (span+63)/64)}
	forEachInt(a, func(_ int, v int64) {
		off := uint64(v - lo)
		m.bits[off/64] |= 1 << (off % 64)
	})
	return m
}

// intValueRange returns the least and greatest non-NULL value of an integer
// array; ok is false for other types and for an array of NULLs only.
func intValueRange(a arrow.Array) (lo, hi int64, ok bool) {
	if !isIntArray(a) {
		return 0, 0, false
	}
	forEachInt(a, func(_ int, v int64) {
		if !ok || v < lo {
			lo = v
		}
		if !ok || v > hi {
			hi = v
		}
		ok = true
	})
	return lo, hi, ok
}

func isIntArray(a arrow.Array) bool {
	switch a.(type) {
	case *array.Int16, *array.Int32, *array.Int64:
		return true
	}
	return false
}

// forEachInt calls f with each non-NULL row of an integer array.
func forEachInt(a arrow.Array, f func(i int, v int64)) {
	switch x := a.(type) {
	case *array.Int16:
		eachValue(x, x.Int16Values(), f)
	case *array.Int32:
		eachValue(x, x.Int32Values(), f)
	case *array.Int64:
		eachValue(x, x.Int64Values(), f)
	}
}

func eachValue[T int16 | int32 | int64](a arrow.Array, vs []T, f func(i int, v int64)) {
	if a.NullN() == 0 {
		for i, v := range vs {
			f(i, int64(v))
		}
		return
	}
	for i, v := range vs {
		if a.IsValid(i) {
			f(i, int64(v))
		}
	}
}

// passing appends to out the rows of a probe key array whose value may
// have a partner (NULLs never do); ok is false when the array is not an
// integer one, and the caller probes every row.
func (m *keyBitmap) passing(a arrow.Array, out []int32) ([]int32, bool) {
	switch x := a.(type) {
	case *array.Int16:
		return passingValues(m, x, x.Int16Values(), out), true
	case *array.Int32:
		return passingValues(m, x, x.Int32Values(), out), true
	case *array.Int64:
		return passingValues(m, x, x.Int64Values(), out), true
	}
	return out, false
}

func passingValues[T int16 | int32 | int64](m *keyBitmap, a arrow.Array, vs []T, out []int32) []int32 {
	lo, span, bits := m.min, m.span, m.bits
	nulls := a.NullN() > 0
	for i, v := range vs {
		off := uint64(int64(v) - lo)
		if off >= span || bits[off/64]&(1<<(off%64)) == 0 {
			continue
		}
		if nulls && a.IsNull(i) {
			continue
		}
		out = append(out, int32(i))
	}
	return out
}

// narrow keeps of the rows kept (ascending, overwritten in place) those
// whose value in the integer key array a may have a partner; ok is false
// when a is not an integer array (kept is then returned as it is).
func (m *keyBitmap) narrow(a arrow.Array, kept []int32) ([]int32, bool) {
	switch x := a.(type) {
	case *array.Int16:
		return narrowValues(m, x, x.Int16Values(), kept), true
	case *array.Int32:
		return narrowValues(m, x, x.Int32Values(), kept), true
	case *array.Int64:
		return narrowValues(m, x, x.Int64Values(), kept), true
	}
	return kept, false
}

func narrowValues[T int16 | int32 | int64](m *keyBitmap, a arrow.Array, vs []T, kept []int32) []int32 {
	lo, span, bits := m.min, m.span, m.bits
	nulls := a.NullN() > 0
	out := kept[:0]
	for _, i := range kept {
		off := uint64(int64(vs[i]) - lo)
		if off >= span || bits[off/64]&(1<<(off%64)) == 0 {
			continue
		}
		if nulls && a.IsNull(int(i)) {
			continue
		}
		out = append(out, i)
	}
	return out
}

// probeKeyFilter is a join's build-side key bitmap lent to the Filter
// under its probe side (sideways information passing): the filter drops
// the rows whose key no build row has before it copies the rows it
// keeps. Only an inner or semi join lends it, whose probe rows without a
// partner go nowhere.
type probeKeyFilter struct {
	col    int // the key's column in the filter's input
	bitmap *keyBitmap
}

// lendKeyFilter returns ctx carrying side's key bitmap for the Filter
// under j's probe side (directly, or under a Project passing the key
// column on; EXPLAIN ANALYZE's wrappers aside), when j drops probe rows
// without a partner and probes one plain integer column; otherwise ctx
// unchanged. The probe side is opened with it, so each run (one binding
// of outer values) filters by its own build's keys: a correlated
// subquery's runs for several outer rows share the operators.
func (j *HashJoin) lendKeyFilter(ctx context.Context, side *builtSide) context.Context {
	if side.bitmap == nil || side.grace != nil || (j.Kind != InnerJoin && j.Kind != SemiJoin) || len(j.ProbeKeys) != 1 {
		return ctx
	}
	key, plain := j.ProbeKeys[0].(*ColumnExpr)
	if !plain {
		return ctx
	}
	col := key.Index
	probe := unwrapInstrumented(j.Probe)
	if p, ok := probe.(*Project); ok {
		through, ok := p.Exprs[col].(*ColumnExpr)
		if !ok {
			return ctx
		}
		col, probe = through.Index, unwrapInstrumented(p.Input)
	}
	f, ok := probe.(*Filter)
	if !ok {
		return ctx
	}
	if f.Keep != nil {
		col = f.Keep[col]
	}
	return context.WithValue(ctx, keyFilterKey{f}, &probeKeyFilter{col: col, bitmap: side.bitmap})
}

// keyFilterKey finds, in a run's context, the key bitmap lent to one Filter.
type keyFilterKey struct{ f *Filter }

// keyFilterFor returns the key bitmap lent to f in ctx, or nil.
func keyFilterFor(ctx context.Context, f *Filter) *probeKeyFilter {
	kf, _ := ctx.Value(keyFilterKey{f}).(*probeKeyFilter)
	return kf
}

func unwrapInstrumented(op Operator) Operator {
	if in, ok := op.(*Instrumented); ok {
		return in.Inner
	}
	return op
}
