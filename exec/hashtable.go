package exec

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// keyHashTable gives dense ids (0, 1, 2, …) to distinct key tuples, a
// batch at a time: it hashes whole key columns with typed loops over the
// Arrow buffers, places every row of the batch by its hash, and then
// checks the candidates' keys column by column. Only a row whose 64-bit
// hash fragment matched a different key takes the row-at-a-time path.
//
// GROUP BY uses it with NULL as a value of its own; a hash join uses it
// with rows that have a NULL key left out, so they never match.
type keyHashTable struct {
	cols   []keyColumn
	hashes []uint64 // per group, to re-place groups when the table grows
	// slots hold the upper 32 bits of a group's hash and its id+1; 0 is
	// an empty slot. Open addressing, linear probing, at most half full.
	slots []uint64
	mask  uint64
	n     int
	seed  maphash.Seed
	// collide, for tests, keeps two bits of every hash, so that most rows
	// meet other keys' slots and the exact path is exercised.
	collide bool
	// env is charged for the table's Go memory (charged bytes so far), so
	// that the statement's memory limits see it
	env     *Env
	charged int64
	// direct, for a table of one integer key whose first values span a
	// small range, holds each value's group+1 at direct[v-directBase] (0:
	// no group), exactly: a batch of non-NULL keys within the range finds
	// its groups by one load a row, without probing (directlookup.go).
	direct     []uint32
	directBase int64
	directOff  bool // decided against (or the table is not of that kind)
}

// noGroup marks a row that has no group: a NULL join key, or a probe key
// the table does not hold.
const noGroup = ^uint32(0)

// keyClass is how a key column is stored and compared.
type keyClass int

const (
	genericKey keyClass = iota // by encodeKey's bytes
	intKey                     // integer-like: int2/4/8, date, time, timestamp
	decimalKey                 // numeric as its 128-bit scaled integer
	textKey                    // text, varchar, char (blank padding ignored)
)

func classOf(t types.T) keyClass {
	switch {
	case intLike(t):
		return intKey
	case t.Kind == types.Numeric:
		return decimalKey
	case t.Kind == types.Text || t.Kind == types.Varchar || t.Kind == types.Char:
		return textKey
	}
	return genericKey
}

// keyColumn stores one key column of the groups and hashes and compares
// the batch's values against it. a is the batch's column, t its type
// (a join's probe side may differ from the stored type within a class).
type keyColumn interface {
	// hash writes each row's hash of its value to hs (NULLs: any value,
	// the table overwrites them).
	hash(s *hashScratch, a arrow.Array, t types.T, hs []uint64)
	// appendRows stores the values of rows as the keys of the next groups.
	appendRows(a arrow.Array, t types.T, rows []int32)
	// mismatch sets ne[k] when row rows[k]'s value differs from group
	// gs[k]'s (NULL equals NULL here).
	mismatch(s *hashScratch, a arrow.Array, t types.T, rows []int32, gs []uint32, ne []bool)
	// array returns the stored keys as an array of type t.
	array(mem memory.Allocator, t types.T) arrow.Array
	release()
}

func newKeyColumn(ec *EvalContext, c keyClass, t types.T, seed maphash.Seed) keyColumn {
	switch c {
	case intKey:
		return &intKeyColumn{}
	case decimalKey:
		return &decimalKeyColumn{}
	case textKey:
		return &textKeyColumn{seed: seed, shortSeed: maphash.String(seed, "short text"), offs: []int{0}}
	}
	return &genericKeyColumn{seed: seed, bld: newBuilder(ec, t), offs: []int{0}}
}

// newKeyHashTable makes a table for keys of the given classes and types.
func newKeyHashTable(ec *EvalContext, classes []keyClass, kts []types.T) *keyHashTable {
	return newSeededKeyHashTable(ec, classes, kts, maphash.MakeSeed())
}

// newSeededKeyHashTable is newKeyHashTable hashing with seed: tables that
// must hash equal keys alike (the partial tables of one spilling
// aggregation, which partition rows by hash) share one.
func newSeededKeyHashTable(ec *EvalContext, classes []keyClass, kts []types.T, seed maphash.Seed) *keyHashTable {
	t := &keyHashTable{seed: seed}
	if ec != nil {
		t.env = ec.Env
	}
	for i, c := range classes {
		t.cols = append(t.cols, newKeyColumn(ec, c, kts[i], t.seed))
	}
	t.resize(64)
	return t
}

func (t *keyHashTable) release() {
	for _, c := range t.cols {
		c.release()
	}
	t.env.Charge(-t.charged)
	t.charged = 0
}

// groupBytes estimates what a group's key values take in the key columns.
const groupKeyBytes = 16

// charge counts the table's slots, hashes and key values against the
// statement's memory limits.
func (t *keyHashTable) charge() {
	want := int64(len(t.slots))*8 + int64(cap(t.hashes))*(8+groupKeyBytes*int64(len(t.cols))) + int64(len(t.direct))*4
	t.env.Charge(want - t.charged)
	t.charged = want
}

// resize makes room for size slots and places every group again.
func (t *keyHashTable) resize(size int) {
	t.slots = make([]uint64, size)
	t.mask = uint64(size - 1)
	defer t.charge()
	for g, h := range t.hashes {
		pos := h & t.mask
		for t.slots[pos] != 0 {
			pos = (pos + 1) & t.mask
		}
		t.slots[pos] = slotOf(h, uint32(g))
	}
}

// reserve keeps the table at most half full after extra more groups.
func (t *keyHashTable) reserve(extra int) {
	need := 2 * (t.n + extra)
	if need <= len(t.slots) {
		return
	}
	t.hashes = growCap(t.hashes, extra)
	t.resize(1 << bits.Len(uint(need-1)))
}

func slotOf(h uint64, g uint32) uint64 { return h&^0xffffffff | uint64(g+1) }

// hashScratch is one caller's per-batch working memory: a join's probe
// partitions share a table but each has its own scratch.
type hashScratch struct {
	rowHash, colHash []uint64
	newRows, check   []int32
	checkGroups      []uint32
	ne               []bool
	skip             []bool
	enc              []byte   // a generic key's encoding
	all              []uint32 // groups by row of a selected lookup
}

// groupIDs writes row i's group to out[i] for the n rows of keys (types
// kts). With insert, a key not yet held becomes a new group; without, its
// row gets noGroup. With nullsMatch NULL is a key value (GROUP BY); without,
// a row with a NULL in any key column gets noGroup (a join).
func (t *keyHashTable) groupIDs(s *hashScratch, keys []arrow.Array, kts []types.T, n int, insert, nullsMatch bool, out []uint32) []uint32 {
	out = sized(out, n)
	if n == 0 {
		return out
	}
	t.hashRows(s, keys, kts, n, nullsMatch)
	if insert {
		t.reserve(n)
	}
	if t.lookupDirect(keys, n, insert, out) {
		return out
	}
	before := t.n
	defer t.syncDirect(before)
	t.place(s, n, insert, out)
	if len(s.newRows) > 0 {
		// only an inserting caller writes: probes share the table
		for c, col := range t.cols {
			col.appendRows(keys[c], kts[c], s.newRows)
		}
	}
	t.verify(s, keys, kts, insert, out)
	return out
}

// hashRows fills s.rowHash with each row's hash over all key columns, and
// s.skip (empty when none) with the rows a join leaves out for a NULL key.
func (t *keyHashTable) hashRows(s *hashScratch, keys []arrow.Array, kts []types.T, n int, nullsMatch bool) {
	s.rowHash = sized(s.rowHash, n)
	s.colHash = sized(s.colHash, n)
	s.skip = s.skip[:0]
	if len(t.cols) == 0 {
		clear(s.rowHash) // no key: every row has the one key
	}
	for c, col := range t.cols {
		a := keys[c]
		col.hash(s, a, kts[c], s.colHash)
		if a.NullN() > 0 {
			nullHash := 0x6e756c6c + uint64(c)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					s.colHash[i] = nullHash
					if !nullsMatch {
						s.markSkip(i, n)
					}
				}
			}
		}
		if c == 0 {
			copy(s.rowHash, s.colHash)
			continue
		}
		for i, h := range s.colHash {
			s.rowHash[i] = combineHashes(s.rowHash[i], h)
		}
	}
	if t.collide {
		for i := range s.rowHash {
			s.rowHash[i] &= 3
		}
	}
}

func (s *hashScratch) markSkip(i, n int) {
	if len(s.skip) == 0 {
		s.skip = sized(s.skip, n)
		clear(s.skip)
	}
	s.skip[i] = true
}

// place finds each row's slot by hash: an empty slot makes a new group
// (insert) or noGroup; a slot whose hash fragment matches is a candidate
// to check.
func (t *keyHashTable) place(s *hashScratch, n int, insert bool, out []uint32) {
	s.newRows, s.check, s.checkGroups = s.newRows[:0], s.check[:0], s.checkGroups[:0]
	skip := s.skip
	// a row with the previous row's hash gets its slot without probing:
	// runs of one key are common (a table stored in key order)
	lastHash, lastOut, haveLast := uint64(0), noGroup, false
	for i := 0; i < n; i++ {
		if len(skip) > 0 && skip[i] {
			out[i] = noGroup
			continue
		}
		h := s.rowHash[i]
		if haveLast && h == lastHash {
			out[i] = lastOut
			if lastOut != noGroup {
				s.check = append(s.check, int32(i))
				s.checkGroups = append(s.checkGroups, lastOut)
			}
			continue
		}
		lastHash, haveLast = h, true
		frag := h &^ 0xffffffff
		pos := h & t.mask
		for {
			slot := t.slots[pos]
			if slot == 0 {
				if insert {
					g := t.newGroup(h, pos)
					out[i] = g
					s.newRows = append(s.newRows, int32(i))
				} else {
					out[i] = noGroup
				}
				lastOut = out[i]
				break
			}
			if slot&^0xffffffff == frag {
				g := uint32(slot) - 1
				out[i] = g
				s.check = append(s.check, int32(i))
				s.checkGroups = append(s.checkGroups, g)
				lastOut = g
				break
			}
			pos = (pos + 1) & t.mask
		}
	}
}

func (t *keyHashTable) newGroup(h, pos uint64) uint32 {
	g := uint32(t.n)
	t.n++
	t.hashes = append(t.hashes, h)
	t.slots[pos] = slotOf(h, g)
	return g
}

// verify compares the candidates' keys column by column; a row whose
// candidate held another key (a hash collision) is placed again row by
// row.
func (t *keyHashTable) verify(s *hashScratch, keys []arrow.Array, kts []types.T, insert bool, out []uint32) {
	if len(s.check) == 0 {
		return
	}
	s.ne = sized(s.ne, len(s.check))
	clear(s.ne)
	for c, col := range t.cols {
		col.mismatch(s, keys[c], kts[c], s.check, s.checkGroups, s.ne)
	}
	for k, bad := range s.ne {
		if bad {
			row := s.check[k]
			out[row] = t.placeRow(s, keys, kts, row, s.rowHash[row], insert)
		}
	}
}

// placeRow is the exact, row-at-a-time placement for a collided row.
func (t *keyHashTable) placeRow(s *hashScratch, keys []arrow.Array, kts []types.T, row int32, h uint64, insert bool) uint32 {
	rows := []int32{row}
	frag := h &^ 0xffffffff
	pos := h & t.mask
	for {
		slot := t.slots[pos]
		if slot == 0 {
			if !insert {
				return noGroup
			}
			g := t.newGroup(h, pos)
			for c, col := range t.cols {
				col.appendRows(keys[c], kts[c], rows)
			}
			return g
		}
		if slot&^0xffffffff == frag && t.rowEquals(s, keys, kts, rows, uint32(slot)-1) {
			return uint32(slot) - 1
		}
		pos = (pos + 1) & t.mask
	}
}

func (t *keyHashTable) rowEquals(s *hashScratch, keys []arrow.Array, kts []types.T, rows []int32, g uint32) bool {
	ne := []bool{false}
	gs := []uint32{g}
	for c, col := range t.cols {
		col.mismatch(s, keys[c], kts[c], rows, gs, ne)
	}
	return !ne[0]
}

// keyArrays returns the groups' keys, one array per key column, in group
// order (the caller releases them). A table gives its keys once.
func (t *keyHashTable) keyArrays(mem memory.Allocator, kts []types.T) []arrow.Array {
	out := make([]arrow.Array, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.array(mem, kts[i])
	}
	return out
}

// sized returns s with length n, reusing its memory when it can (the
// contents are not kept).
func sized[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// mixHash spreads a 64-bit value over all bits (a multiply-xorshift
// finalizer), so the low bits place and the high bits tell apart.
func mixHash(x uint64) uint64 {
	x ^= x >> 32
	x *= 0xd6e8feb86659fd93
	x ^= x >> 32
	x *= 0xd6e8feb86659fd93
	x ^= x >> 32
	return x
}

func combineHashes(h, c uint64) uint64 {
	return mixHash(bits.RotateLeft64(h, 21) ^ c)
}

// ---- integer-like keys ----

// intKeyColumn holds integer-like keys widened to int64, so an int4 probe
// finds an int8 build key of the same value.
type intKeyColumn struct {
	vals  []int64
	valid []bool
	nulls int // stored NULL keys: none (a join's table) spares reading valid
}

type integer interface{ ~int16 | ~int32 | ~int64 }

func (c *intKeyColumn) hash(_ *hashScratch, a arrow.Array, _ types.T, hs []uint64) {
	switch a.DataType().ID() {
	case arrow.INT16:
		hashInts(arrow.GetValues[int16](a.Data(), 1), hs)
	case arrow.INT32, arrow.DATE32:
		hashInts(arrow.GetValues[int32](a.Data(), 1), hs)
	default:
		hashInts(arrow.GetValues[int64](a.Data(), 1), hs)
	}
}

func hashInts[T integer](vals []T, hs []uint64) {
	hs = hs[:len(vals)]
	for i, v := range vals {
		hs[i] = mixHash(uint64(int64(v)))
	}
}

func (c *intKeyColumn) appendRows(a arrow.Array, _ types.T, rows []int32) {
	switch a.DataType().ID() {
	case arrow.INT16:
		c.vals = appendInts(c.vals, arrow.GetValues[int16](a.Data(), 1), rows)
	case arrow.INT32, arrow.DATE32:
		c.vals = appendInts(c.vals, arrow.GetValues[int32](a.Data(), 1), rows)
	default:
		c.vals = appendInts(c.vals, arrow.GetValues[int64](a.Data(), 1), rows)
	}
	c.valid, c.nulls = appendValidity(c.valid, c.nulls, a, rows)
}

func appendInts[T integer](dst []int64, vals []T, rows []int32) []int64 {
	dst = growCap(dst, len(rows))
	for _, r := range rows {
		dst = append(dst, int64(vals[r]))
	}
	return dst
}

// appendValidity appends whether each row of a is non-NULL, counting the
// NULLs into nulls.
func appendValidity(dst []bool, nulls int, a arrow.Array, rows []int32) ([]bool, int) {
	dst = growCap(dst, len(rows))
	if a.NullN() == 0 {
		for range rows {
			dst = append(dst, true)
		}
		return dst, nulls
	}
	for _, r := range rows {
		ok := a.IsValid(int(r))
		if !ok {
			nulls++
		}
		dst = append(dst, ok)
	}
	return dst, nulls
}

func (c *intKeyColumn) mismatch(_ *hashScratch, a arrow.Array, _ types.T, rows []int32, gs []uint32, ne []bool) {
	switch a.DataType().ID() {
	case arrow.INT16:
		mismatchInts(c, a, arrow.GetValues[int16](a.Data(), 1), rows, gs, ne)
	case arrow.INT32, arrow.DATE32:
		mismatchInts(c, a, arrow.GetValues[int32](a.Data(), 1), rows, gs, ne)
	default:
		mismatchInts(c, a, arrow.GetValues[int64](a.Data(), 1), rows, gs, ne)
	}
}

func mismatchInts[T integer](c *intKeyColumn, a arrow.Array, vals []T, rows []int32, gs []uint32, ne []bool) {
	if a.NullN() == 0 && c.nulls == 0 {
		for k, r := range rows {
			if int64(vals[r]) != c.vals[gs[k]] {
				ne[k] = true
			}
		}
		return
	}
	for k, r := range rows {
		g := gs[k]
		if a.IsValid(int(r)) != c.valid[g] || (c.valid[g] && int64(vals[r]) != c.vals[g]) {
			ne[k] = true
		}
	}
}

func (c *intKeyColumn) array(mem memory.Allocator, t types.T) arrow.Array {
	b := array.NewBuilder(mem, t.Arrow())
	defer b.Release()
	b.Reserve(len(c.vals))
	switch bb := b.(type) {
	case *array.Int16Builder:
		appendTyped(bb.Append, bb.AppendNull, c.vals, c.valid, func(v int64) int16 { return int16(v) })
	case *array.Int32Builder:
		appendTyped(bb.Append, bb.AppendNull, c.vals, c.valid, func(v int64) int32 { return int32(v) })
	case *array.Int64Builder:
		bb.AppendValues(c.vals, c.valid)
	case *array.Date32Builder:
		appendTyped(bb.Append, bb.AppendNull, c.vals, c.valid, func(v int64) arrow.Date32 { return arrow.Date32(v) })
	case *array.Time64Builder:
		appendTyped(bb.Append, bb.AppendNull, c.vals, c.valid, func(v int64) arrow.Time64 { return arrow.Time64(v) })
	case *array.TimestampBuilder:
		appendTyped(bb.Append, bb.AppendNull, c.vals, c.valid, func(v int64) arrow.Timestamp { return arrow.Timestamp(v) })
	}
	return b.NewArray()
}

func appendTyped[T any](app func(T), appNull func(), vals []int64, valid []bool, conv func(int64) T) {
	for i, v := range vals {
		if valid[i] {
			app(conv(v))
		} else {
			appNull()
		}
	}
}

func (c *intKeyColumn) release() {}

// ---- numeric keys ----

// decimalKeyColumn holds numeric keys as their scaled 128-bit integers
// (one scale per column, as the type fixes it).
type decimalKeyColumn struct {
	vals  []decimal128.Num
	valid []bool
	nulls int
}

func (c *decimalKeyColumn) hash(_ *hashScratch, a arrow.Array, _ types.T, hs []uint64) {
	for i, v := range decimalValues(a) {
		hs[i] = mixHash(v.LowBits() ^ mixHash(uint64(v.HighBits())))
	}
}

func (c *decimalKeyColumn) appendRows(a arrow.Array, _ types.T, rows []int32) {
	vals := decimalValues(a)
	c.vals = growCap(c.vals, len(rows))
	for _, r := range rows {
		c.vals = append(c.vals, vals[r])
	}
	c.valid, c.nulls = appendValidity(c.valid, c.nulls, a, rows)
}

func (c *decimalKeyColumn) mismatch(_ *hashScratch, a arrow.Array, _ types.T, rows []int32, gs []uint32, ne []bool) {
	vals := decimalValues(a)
	hasNulls := a.NullN() > 0
	anyNulls := hasNulls || c.nulls > 0
	for k, r := range rows {
		g := gs[k]
		rowValid := !hasNulls || a.IsValid(int(r))
		if anyNulls && rowValid != c.valid[g] {
			ne[k] = true
			continue
		}
		if rowValid && vals[r] != c.vals[g] {
			ne[k] = true
		}
	}
}

func (c *decimalKeyColumn) array(mem memory.Allocator, t types.T) arrow.Array {
	b := array.NewBuilder(mem, t.Arrow()).(*array.Decimal128Builder)
	defer b.Release()
	b.AppendValues(c.vals, c.valid)
	return b.NewArray()
}

func (c *decimalKeyColumn) release() {}

// ---- text keys ----

// textKeyColumn holds text keys' bytes in one arena. A char(n) key keeps
// its padding for output but compares and hashes without trailing blanks,
// as PostgreSQL's bpchar does.
type textKeyColumn struct {
	seed maphash.Seed
	// shortSeed keys the hash of values of at most 8 bytes, which are
	// mixed as one word instead of through maphash (flags, codes, short
	// names: TPC-H's returnflag and linestatus)
	shortSeed uint64
	data      []byte
	offs      []int   // group g's bytes are data[offs[g]:offs[g+1]]
	eqLen     []int32 // the length that counts for equality
	// words hold a value of at most 8 bytes (eqLen) as shortWord reads
	// it, so that comparing it is one word compare
	words []uint64
	valid []bool
	nulls int
}

// textBuffers are the offsets and data of a string array, the offsets
// already shifted for a slice.
func textBuffers(a arrow.Array) ([]int32, []byte) {
	s := a.(*array.String)
	var data []byte
	if buf := s.Data().Buffers()[2]; buf != nil {
		data = buf.Bytes()
	}
	return s.ValueOffsets(), data
}

// trimmedEnd is where value data[start:end] ends without trailing blanks
// when it is a char(n) value.
func trimmedEnd(data []byte, start, end int32, char bool) int32 {
	if char {
		for end > start && data[end-1] == ' ' {
			end--
		}
	}
	return end
}

func (c *textKeyColumn) hash(s *hashScratch, a arrow.Array, t types.T, hs []uint64) {
	offs, data := textBuffers(a)
	char := t.Kind == types.Char
	for i := range hs {
		start := offs[i]
		end := trimmedEnd(data, start, offs[i+1], char)
		if end-start <= 8 {
			hs[i] = mixHash(shortWord(data, int(start), int(end)) ^ c.shortSeed ^ uint64(end-start)*0x9e3779b97f4a7c15)
			continue
		}
		hs[i] = maphash.Bytes(c.seed, data[start:end])
	}
}

// shortWord is data[start:end] (at most 8 bytes) as a little-endian word,
// zero above its bytes.
func shortWord(data []byte, start, end int) uint64 {
	n := end - start
	if start+8 <= len(data) {
		return binary.LittleEndian.Uint64(data[start:]) & (uint64(1)<<(8*n) - 1)
	}
	var w uint64
	for k := n - 1; k >= 0; k-- {
		w = w<<8 | uint64(data[start+k])
	}
	return w
}

func (c *textKeyColumn) appendRows(a arrow.Array, t types.T, rows []int32) {
	offs, data := textBuffers(a)
	char := t.Kind == types.Char
	for _, r := range rows {
		start, end := offs[r], offs[r+1]
		c.data = append(c.data, data[start:end]...)
		c.offs = append(c.offs, len(c.data))
		eqEnd := trimmedEnd(data, start, end, char)
		c.eqLen = append(c.eqLen, eqEnd-start)
		var w uint64
		if eqEnd-start <= 8 {
			w = shortWord(data, int(start), int(eqEnd))
		}
		c.words = append(c.words, w)
	}
	c.valid, c.nulls = appendValidity(c.valid, c.nulls, a, rows)
}

func (c *textKeyColumn) mismatch(s *hashScratch, a arrow.Array, t types.T, rows []int32, gs []uint32, ne []bool) {
	offs, data := textBuffers(a)
	char := t.Kind == types.Char
	hasNulls := a.NullN() > 0
	anyNulls := hasNulls || c.nulls > 0
	for k, r := range rows {
		g := gs[k]
		rowValid := !hasNulls || a.IsValid(int(r))
		if anyNulls && rowValid != c.valid[g] {
			ne[k] = true
			continue
		}
		if !rowValid {
			continue
		}
		start := offs[r]
		end := trimmedEnd(data, start, offs[r+1], char)
		// ne only gains rows: an earlier key column may have set it
		switch size := end - start; {
		case size != c.eqLen[g]:
			ne[k] = true
		case size <= 8:
			if shortWord(data, int(start), int(end)) != c.words[g] {
				ne[k] = true
			}
		case !bytes.Equal(data[start:end], c.data[c.offs[g]:c.offs[g]+int(size)]):
			ne[k] = true
		}
	}
}

func (c *textKeyColumn) array(mem memory.Allocator, t types.T) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(len(c.valid))
	b.ReserveData(len(c.data))
	for g, ok := range c.valid {
		if !ok {
			b.AppendNull()
			continue
		}
		b.BinaryBuilder.Append(c.data[c.offs[g]:c.offs[g+1]])
	}
	return b.NewArray()
}

func (c *textKeyColumn) release() {}

// ---- every other type ----

// genericKeyColumn compares keys by encodeKey's bytes (equal for the values
// GROUP BY puts together) and keeps a builder of their values for output.
type genericKeyColumn struct {
	seed maphash.Seed
	bld  array.Builder
	data []byte
	offs []int
}

// encodeOne appends the encoding of row's value of a (type t) to dst.
func encodeOne(dst []byte, a arrow.Array, t types.T, row int) []byte {
	kts, arrs := [1]types.T{t}, [1]arrow.Array{a}
	return encodeKey(dst, kts[:], arrs[:], row)
}

func (c *genericKeyColumn) hash(s *hashScratch, a arrow.Array, t types.T, hs []uint64) {
	for i := range hs {
		s.enc = encodeOne(s.enc[:0], a, t, i)
		hs[i] = maphash.Bytes(c.seed, s.enc)
	}
}

func (c *genericKeyColumn) appendRows(a arrow.Array, t types.T, rows []int32) {
	for _, r := range rows {
		c.data = encodeOne(c.data, a, t, int(r))
		c.offs = append(c.offs, len(c.data))
		AppendDatum(c.bld, DatumAt(a, int(r)))
	}
}

func (c *genericKeyColumn) mismatch(s *hashScratch, a arrow.Array, t types.T, rows []int32, gs []uint32, ne []bool) {
	for k, r := range rows {
		g := gs[k]
		s.enc = encodeOne(s.enc[:0], a, t, int(r))
		if !bytes.Equal(s.enc, c.data[c.offs[g]:c.offs[g+1]]) {
			ne[k] = true
		}
	}
}

func (c *genericKeyColumn) array(memory.Allocator, types.T) arrow.Array { return c.bld.NewArray() }

func (c *genericKeyColumn) release() { c.bld.Release() }

// growCap returns s with room for extra more elements, doubling its
// capacity when it must grow: append's growth of a large slice (a
// quarter) copied a GROUP BY's 1.5 million groups' state about four times
// over while it filled (TPC-H q18: a third of its time in memmove).
func growCap[T any](s []T, extra int) []T {
	if len(s)+extra <= cap(s) {
		return s
	}
	ns := make([]T, len(s), max(len(s)+extra, 2*cap(s)))
	copy(ns, s)
	return ns
}
