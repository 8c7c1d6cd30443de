package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
)

// Small writes of any kind (INSERT, UPDATE, DELETE, a block's COMMIT) go
// through the write-ahead log as layout entries: for each table a
// statement changed, the table's partitions as they are now, written as
// a difference from the table's durable layout (what the segments and the
// log before it hold). Unchanged batches are kept by position; a batch
// that replaced one is written as edits of it (rows copied, skipped,
// inserted: an UPDATE of one row writes that row, a DELETE only counts);
// any other new batch is written whole. Replay rebuilds exactly the
// batches the tables had, so later entries can name them in turn.
//
//	payload = 'L' jsonLength:u32 json (layoutEntry) streams
//	streams = one Arrow IPC stream per new batch or edit rows, back to back
//
// A checkpoint folds everything into segments and starts the log afresh.

// TableData is a table's data as a layout entry or checkpoint takes it:
// its Arrow schema and its partitions' batches.
type TableData struct {
	OID    uint32
	Schema *arrow.Schema
	Parts  [][]arrow.Record
	// Edited, when set, says how a batch of Parts was made from another
	// (nil when that is not known): the log then writes it as those
	// edits without comparing the two.
	Edited func(arrow.Record) *catalog.BatchEdits
}

// durableTable is a table as the segments and the log hold it now.
type durableTable struct {
	schema *arrow.Schema
	parts  [][]arrow.Record // retained by the store
}

type layoutEntry struct {
	Tables []layoutTable `json:"tables"`
	// Streams are the lengths of the IPC streams after the JSON.
	Streams []int64 `json:"streams"`
}

type layoutTable struct {
	OID uint32 `json:"oid"`
	// Parts are edits of each durable partition's list of batches (a
	// partition beyond the durable ones edits an empty list).
	Parts [][]layoutOp `json:"parts"`
}

// layoutOp is one step over a durable partition's batches: keep the next
// Keep of them, drop the next Drop, or add a batch (Add).
type layoutOp struct {
	Keep int         `json:"k,omitempty"`
	Drop int         `json:"d,omitempty"`
	Add  *layoutItem `json:"a,omitempty"`
}

// layoutItem is an added batch: a durable one by identity (Ref), one
// written whole (Stream), or edits of a durable one (Base, Edits over
// Stream's rows).
type layoutItem struct {
	Ref    string `json:"r,omitempty"`
	Stream int    `json:"s"` // -1: none
	Base   string `json:"b,omitempty"`
	// Edits are pairs: op (0 copy the next n base rows, 1 skip n base
	// rows, 2 take the next n rows of the stream), n.
	Edits []int64 `json:"e,omitempty"`
}

// errEntryTooLarge stops building an entry a checkpoint should write.
var errEntryTooLarge = errors.New("layout entry too large")

const (
	editCopy = catalog.EditCopy
	editSkip = catalog.EditSkip
	editTake = catalog.EditTake
	// maxLayoutEntryBytes: a larger change is better written as
	// segments by a checkpoint
	maxLayoutEntryBytes = 16 << 20
)

// idOf is the durable identity of a batch: the segment file holding it,
// or the log entry and position that wrote it.
func (st *Store) idOf(rec arrow.Record) (string, bool) {
	if id, ok := st.logged[rec]; ok {
		return id, true
	}
	if refs, ok := st.segments[rec]; ok && len(refs) > 0 {
		return "s:" + refs[0].File, true
	}
	return "", false
}

// LogTables makes the tables' data durable through the log (QueueTables,
// then waiting for the flush that covers the entry).
func (st *Store) LogTables(snapshot func() []TableData) (bool, error) {
	logged, wait, err := st.QueueTables(snapshot)
	if err != nil || !logged {
		return logged, err
	}
	return true, wait()
}

// QueueTables queues the tables' data for the log: what differs from the
// durable layouts is written (a table that did not change costs a walk
// over its batch list). It calls snapshot, which must hold its batches
// until QueueTables returns, while no other write to the log or
// checkpoint runs, so entries follow the order in which the tables
// reached the states they record. wait returns once the entry, and every
// one queued before it (which may hold the caller's rows when its own
// entry found nothing new), is durable, sharing its fsync with the
// commits that queued meanwhile (groupcommit.go). It reports false,
// having queued nothing, when the log cannot take the change (a table
// the store does not hold, a change too large, the log unusable or due
// for a checkpoint): the caller checkpoints instead.
func (st *Store) QueueTables(snapshot func() []TableData) (logged bool, wait func() error, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.readOnly || st.wal == nil || st.wal.end > walCheckpointBytes {
		return false, nil, nil
	}
	tables := snapshot() // (the caller's references, held until it returns)
	if tables == nil {
		return false, nil, nil // the caller found the log cannot take it
	}
	var entry layoutEntry
	streams := st.entryScratch.take()
	defer st.entryScratch.keep(streams)
	var news []arrow.Record // the batches the entry writes, by stream
	for _, t := range tables {
		d, ok := st.durable[t.OID]
		if !ok || !d.schema.Equal(t.Schema) {
			return false, nil, nil // a table new or altered since the checkpoint
		}
		if st.holdsStaged(t.Parts) {
			// a bulk load's staged files (stage.go), which only a
			// catalog can name: the log would copy them whole
			return false, nil, nil
		}
		lt, err := st.layoutOf(t, d, &entry, streams, &news)
		if err == errEntryTooLarge {
			return false, nil, nil
		}
		if err != nil {
			return false, nil, err
		}
		if lt != nil {
			entry.Tables = append(entry.Tables, *lt)
		}
		if streams.Len() > maxLayoutEntryBytes {
			return false, nil, nil
		}
	}
	seq := st.queue.lastQueued()
	waitFor := func() error { return st.waitDurable(seq) }
	if len(entry.Tables) == 0 {
		// nothing changed since the tables were last logged, but that
		// entry may still wait for its flush
		return true, waitFor, nil
	}
	head, err := json.Marshal(entry)
	if err != nil {
		return false, nil, err
	}
	payload := st.entryScratch.payload[:0]
	defer func() { st.entryScratch.keepPayload(payload) }()
	payload = append(payload, 'L')
	payload = binary.LittleEndian.AppendUint32(payload, uint32(len(head)))
	payload = append(payload, head...)
	payload = append(payload, streams.Bytes()...)
	seq, off, err := st.queueEntry(payload)
	if err != nil {
		return false, nil, err
	}
	// the tables' layouts are what the log will hold: later entries refer
	// to them (if the flush fails, the log is dropped with them)
	for k, rec := range news {
		st.logged[rec] = fmt.Sprintf("l:%d:%d:%d", st.wal.gen, off, k)
	}
	for _, t := range tables {
		st.setDurable(t.OID, t.Schema, t.Parts)
	}
	return true, func() error { return st.waitDurable(seq) }, nil
}

// entryScratch holds the buffers of the last log entry QueueTables made
// (queueEntry copies the payload into the queue), up to a size worth
// keeping.
type entryScratch struct {
	streams *bytes.Buffer
	payload []byte
	mask    []bool // diffRows' flags for a batch's rows
}

// maxScratchBytes bounds the buffers kept between entries.
const maxScratchBytes = 1 << 20

func (e *entryScratch) take() *bytes.Buffer {
	b := e.streams
	e.streams = nil
	if b == nil {
		return new(bytes.Buffer)
	}
	b.Reset()
	return b
}

func (e *entryScratch) keep(b *bytes.Buffer) {
	if b.Cap() <= maxScratchBytes {
		e.streams = b
	}
}

func (e *entryScratch) keepPayload(p []byte) {
	if cap(p) <= maxScratchBytes {
		e.payload = p[:0]
	}
	if cap(e.mask) > maxScratchBytes {
		e.mask = nil // (a batch larger than most: not kept)
	}
}

// setDurable records a table's durable layout (retaining its batches).
func (st *Store) setDurable(oid uint32, schema *arrow.Schema, parts [][]arrow.Record) {
	st.dropDurable(oid)
	kept := make([][]arrow.Record, len(parts))
	for p, recs := range parts {
		kept[p] = append([]arrow.Record(nil), recs...)
		for _, r := range recs {
			r.Retain()
		}
	}
	st.durable[oid] = &durableTable{schema: schema, parts: kept}
}

func (st *Store) dropDurable(oid uint32) {
	if d, ok := st.durable[oid]; ok {
		for _, p := range d.parts {
			for _, r := range p {
				r.Release()
			}
		}
		delete(st.durable, oid)
	}
}

// layoutOf writes t's layout as edits of its durable one (nil when they
// are the same), its new batches into streams.
func (st *Store) layoutOf(t TableData, d *durableTable, entry *layoutEntry, streams *bytes.Buffer, news *[]arrow.Record) (*layoutTable, error) {
	lt := &layoutTable{OID: t.OID, Parts: make([][]layoutOp, len(t.Parts))}
	changed := len(t.Parts) != len(d.parts)
	for p, recs := range t.Parts {
		var old []arrow.Record
		if p < len(d.parts) {
			old = d.parts[p]
		}
		ops, same, err := st.partOps(old, recs, t.Edited, entry, streams, news)
		if err != nil {
			return nil, err
		}
		lt.Parts[p] = ops
		changed = changed || !same
	}
	if !changed {
		return nil, nil
	}
	return lt, nil
}

// partOps walks a durable partition (old) and its batches now (cur):
// identical batches are kept, vanished ones dropped, a new batch that took
// a vanished one's place is written as edits of it, any other new one
// whole, and a durable one that moved by its identity.
func (st *Store) partOps(old, cur []arrow.Record, edited func(arrow.Record) *catalog.BatchEdits, entry *layoutEntry, streams *bytes.Buffer, news *[]arrow.Record) ([]layoutOp, bool, error) {
	if slices.Equal(old, cur) {
		// unchanged (most partitions of most tables at each commit)
		if len(cur) == 0 {
			return nil, true, nil
		}
		return []layoutOp{{Keep: len(cur)}}, true, nil
	}
	// the batches before and after the changed ones are kept as they are
	// (a batch is in a partition once, so none of the middle's can be
	// among them): only the middle is walked
	head := 0
	for head < len(old) && head < len(cur) && old[head] == cur[head] {
		head++
	}
	tail := 0
	for tail < len(old)-head && tail < len(cur)-head && old[len(old)-1-tail] == cur[len(cur)-1-tail] {
		tail++
	}
	if head > 0 || tail > 0 {
		mid, _, err := st.partOps(old[head:len(old)-tail], cur[head:len(cur)-tail], edited, entry, streams, news)
		if err != nil {
			return nil, false, err
		}
		ops := make([]layoutOp, 0, len(mid)+2)
		if head > 0 {
			ops = append(ops, layoutOp{Keep: head})
		}
		ops = append(ops, mid...)
		if tail > 0 {
			ops = append(ops, layoutOp{Keep: tail})
		}
		return ops, false, nil
	}
	inCur := make(map[arrow.Record]bool, len(cur))
	for _, r := range cur {
		inCur[r] = true
	}
	var ops []layoutOp
	same := true
	op := func(o layoutOp) {
		if o.Keep == 0 {
			same = false
		}
		n := len(ops)
		switch {
		case o.Keep > 0 && n > 0 && ops[n-1].Keep > 0:
			ops[n-1].Keep += o.Keep
		case o.Drop > 0 && n > 0 && ops[n-1].Drop > 0:
			ops[n-1].Drop += o.Drop
		default:
			ops = append(ops, o)
		}
	}
	i := 0
	for _, rec := range cur {
		_, known := st.idOf(rec)
		// vanished batches go, unless a new one can be written as an
		// edit of the first of them
		for i < len(old) && !inCur[old[i]] && known {
			op(layoutOp{Drop: 1})
			i++
		}
		if i < len(old) && old[i] == rec {
			op(layoutOp{Keep: 1})
			i++
			continue
		}
		var base arrow.Record
		if i < len(old) && !inCur[old[i]] {
			base = old[i]
			op(layoutOp{Drop: 1})
			i++
		}
		item, err := st.itemFor(rec, base, edited, entry, streams, news)
		if err != nil {
			return nil, false, err
		}
		op(layoutOp{Add: item})
	}
	if i < len(old) {
		op(layoutOp{Drop: len(old) - i})
	}
	return ops, same, nil
}

// itemFor describes an added batch: by identity when durable, as edits
// of base when most of its rows are base's, else whole.
func (st *Store) itemFor(rec, base arrow.Record, edited func(arrow.Record) *catalog.BatchEdits, entry *layoutEntry, streams *bytes.Buffer, news *[]arrow.Record) (*layoutItem, error) {
	if id, ok := st.idOf(rec); ok {
		return &layoutItem{Ref: id, Stream: -1}, nil
	}
	if streams.Len() > maxLayoutEntryBytes {
		return nil, errEntryTooLarge // stop before encoding more
	}
	item := &layoutItem{Stream: len(entry.Streams)}
	payload := rec
	if base != nil {
		if baseID, ok := st.idOf(base); ok {
			edits, take := st.editsFrom(base, rec, edited)
			if int64(len(take)) <= rec.NumRows()/2 {
				rows, err := takeRows(rec, take)
				if err != nil {
					return nil, err
				}
				defer rows.Release()
				payload = rows
				item.Base, item.Edits = baseID, edits
			}
		}
	}
	n := streams.Len()
	if err := st.streamEncoder.write(streams, payload); err != nil {
		return nil, err
	}
	entry.Streams = append(entry.Streams, int64(streams.Len()-n))
	*news = append(*news, rec)
	return item, nil
}

// editsFrom is how rec is made from base: the edits the write that made
// it recorded, when they are base's, else found by comparing the two
// (diffRows).
func (st *Store) editsFrom(base, rec arrow.Record, edited func(arrow.Record) *catalog.BatchEdits) (edits []int64, take []int) {
	if edited != nil {
		if e := edited(rec); e != nil && e.Base == base && e.Fits(base.NumRows(), rec.NumRows()) {
			return e.Ops, e.Taken()
		}
	}
	st.comparedRows += base.NumRows()
	return diffRows(base, rec, &st.entryScratch.mask)
}

// LogComparedRows is how many rows of batches the log has compared with
// the batches that replaced them, to find the edits it wrote (see
// TableData.Edited), since the store was opened.
func (st *Store) LogComparedRows() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.comparedRows
}

// diffRows finds how cur is made from base: runs of base rows copied (only
// rows equal in every column, bit for bit), skipped, and cur's own rows
// taken from the entry. take lists cur's rows the entry must hold.
//
// mask is a buffer for the rows' flags, reused from one entry to the next.
func diffRows(base, cur arrow.Record, mask *[]bool) (edits []int64, take []int) {
	nb, nc := int(base.NumRows()), int(cur.NumRows())
	add := func(op int64, n int64) {
		k := len(edits)
		if k >= 2 && edits[k-2] == op {
			edits[k-1] += n
			return
		}
		edits = append(edits, op, n)
	}
	if nc > nb && isPrefix(base, cur, mask) {
		// rows appended (an INSERT into the last batch)
		add(editCopy, int64(nb))
		for j := nb; j < nc; j++ {
			add(editTake, 1)
			take = append(take, j)
		}
		return edits, take
	}
	if nb == nc {
		// rows in place (an UPDATE): compare column by column, each
		// with one typed loop, and replace the rows that differ
		for i, ch := range changedMask(base, cur, mask) {
			if ch {
				add(editTake, 1)
				take = append(take, i)
				add(editSkip, 1)
			} else {
				add(editCopy, 1)
			}
		}
		return edits, take
	}
	i, j := 0, 0
	for j < nc {
		switch {
		case i < nb && rowsEqual(base, i, cur, j):
			add(editCopy, 1)
			i++
			j++
		case nb-i > nc-j:
			add(editSkip, 1) // more base rows left than cur's: a deleted row
			i++
		default:
			add(editTake, 1)
			take = append(take, j)
			if nb-i == nc-j {
				add(editSkip, 1) // a row replaced in place
				i++
			}
			j++
		}
	}
	if i < nb {
		add(editSkip, int64(nb-i))
	}
	return edits, take
}

// ChangedRows lists the rows (ascending) where batches a and b, of the
// same shape and length, differ in any column (exactly, as the log
// compares them; a column that is the very same array costs nothing).
func ChangedRows(a, b arrow.Record) []int {
	var out []int
	var mask []bool
	for i, ch := range changedMask(a, b, &mask) {
		if ch {
			out = append(out, i)
		}
	}
	return out
}

// changedMask marks the rows where a and b (as long as each other)
// differ.
func changedMask(a, b arrow.Record, mask *[]bool) []bool {
	changed := falses(mask, int(a.NumRows()))
	for c := 0; c < int(a.NumCols()); c++ {
		markDiffering(a.Column(c), b.Column(c), changed)
	}
	return changed
}

// isPrefix reports whether base's rows are cur's first rows, exactly.
func isPrefix(base, cur arrow.Record, mask *[]bool) bool {
	nb := int(base.NumRows())
	changed := falses(mask, nb)
	for c := 0; c < int(base.NumCols()); c++ {
		prefix := cur.Column(c)
		if prefix.Len() != nb {
			prefix = array.NewSlice(prefix, 0, int64(nb))
			defer prefix.Release()
		}
		markDiffering(base.Column(c), prefix, changed)
	}
	return !slices.Contains(changed, true)
}

// falses is n false flags, in *buf's memory when it has room (*buf then
// keeps the larger memory made).
func falses(buf *[]bool, n int) []bool {
	if cap(*buf) < n {
		*buf = make([]bool, n)
	}
	m := (*buf)[:n]
	clear(m)
	return m
}

// markDiffering sets changed[i] where x and y differ at row i, exactly
// (floats bit for bit; a type it cannot compare counts as different).
func markDiffering(x, y arrow.Array, changed []bool) {
	if x == y {
		return // the very same array (a column an UPDATE left alone)
	}
	if x.NullN() == 0 && y.NullN() == 0 && arrow.TypeEqual(x.DataType(), y.DataType()) && markDifferingBytes(x, y, changed) {
		return
	}
	if x.NullN() == x.Len() && y.NullN() == y.Len() {
		return // NULL throughout both (pgbench's filler)
	}
	nullsDiffer := func(i int) (differ, bothNull bool) {
		xn, yn := x.IsNull(i), y.IsNull(i)
		return xn != yn, xn && yn
	}
	loop := func(same func(i int) bool) {
		for i := range changed {
			if changed[i] {
				continue
			}
			if d, both := nullsDiffer(i); d {
				changed[i] = true
			} else if !both && !same(i) {
				changed[i] = true
			}
		}
	}
	switch xa := x.(type) {
	case *array.Int64:
		if ya, ok := y.(*array.Int64); ok {
			loop(func(i int) bool { return xa.Value(i) == ya.Value(i) })
			return
		}
	case *array.Int32:
		if ya, ok := y.(*array.Int32); ok {
			loop(func(i int) bool { return xa.Value(i) == ya.Value(i) })
			return
		}
	case *array.String:
		if ya, ok := y.(*array.String); ok {
			loop(func(i int) bool { return xa.Value(i) == ya.Value(i) })
			return
		}
	}
	loop(func(i int) bool { return valuesEqual(x, i, y, i) })
}

// diffChunk is how many rows markDifferingBytes compares at once before
// it looks at them one by one.
const diffChunk = 64

// markDifferingBytes is markDiffering for arrays without NULLs whose
// values it can compare as bytes (fixed-width types, strings): runs of
// rows are compared with one memory comparison, and only runs that
// differ row by row. It reports false for a type it does not know.
func markDifferingBytes(x, y arrow.Array, changed []bool) bool {
	xv, yv := byteValues(x), byteValues(y)
	if xv == nil || yv == nil {
		return false
	}
	n := len(changed)
	for start := 0; start < n; start += diffChunk {
		end := min(start+diffChunk, n)
		if xv.sameSpan(yv, start, end) {
			continue
		}
		for i := start; i < end; i++ {
			if !changed[i] && !bytes.Equal(xv.value(i), yv.value(i)) {
				changed[i] = true
			}
		}
	}
	return true
}

// bytesOf is an array's values as bytes: fixed-width values w bytes each,
// or variable ones at offsets (relative to the array's first value).
type bytesOf struct {
	data []byte
	w    int
	off  []int32
}

// byteValues reads a fixed-width or string array as bytes (nil for any
// other).
func byteValues(a arrow.Array) *bytesOf {
	if isFixedWidth(a.DataType()) {
		w := a.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
		d := a.Data()
		return &bytesOf{data: d.Buffers()[1].Bytes()[d.Offset()*w : (d.Offset()+d.Len())*w], w: w}
	}
	if s, ok := a.(*array.String); ok {
		return &bytesOf{data: s.ValueBytes(), off: s.ValueOffsets()}
	}
	return nil
}

func (b *bytesOf) value(i int) []byte {
	if b.off == nil {
		return b.data[i*b.w : (i+1)*b.w]
	}
	return b.data[b.off[i]-b.off[0] : b.off[i+1]-b.off[0]]
}

// sameSpan reports whether rows start to end of b and c hold the same
// values (the same lengths row by row, then the same bytes).
func (b *bytesOf) sameSpan(c *bytesOf, start, end int) bool {
	if b.off == nil {
		return bytes.Equal(b.data[start*b.w:end*b.w], c.data[start*c.w:end*c.w])
	}
	for i := start; i <= end; i++ {
		if b.off[i]-b.off[start] != c.off[i]-c.off[start] {
			return false
		}
	}
	return bytes.Equal(b.data[b.off[start]-b.off[0]:b.off[end]-b.off[0]], c.data[c.off[start]-c.off[0]:c.off[end]-c.off[0]])
}

// isFixedWidth reports types stored as whole bytes per value.
func isFixedWidth(t arrow.DataType) bool {
	fw, ok := t.(arrow.FixedWidthDataType)
	if !ok || t.ID() == arrow.BOOL || t.ID() == arrow.DICTIONARY {
		return false
	}
	return fw.BitWidth() > 0 && fw.BitWidth()%8 == 0
}

// rowsEqual compares row i of a with row j of b in every column, exactly:
// a type it cannot compare bit for bit counts as different (the row is
// then written out, which is always right).
func rowsEqual(a arrow.Record, i int, b arrow.Record, j int) bool {
	for c := 0; c < int(a.NumCols()); c++ {
		if !valuesEqual(a.Column(c), i, b.Column(c), j) {
			return false
		}
	}
	return true
}

func valuesEqual(x arrow.Array, i int, y arrow.Array, j int) bool {
	xn, yn := x.IsNull(i), y.IsNull(j)
	if xn || yn {
		return xn && yn
	}
	switch xa := x.(type) {
	case *array.Int64:
		ya, ok := y.(*array.Int64)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Int32:
		ya, ok := y.(*array.Int32)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Int16:
		ya, ok := y.(*array.Int16)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Float64:
		ya, ok := y.(*array.Float64)
		return ok && math.Float64bits(xa.Value(i)) == math.Float64bits(ya.Value(j))
	case *array.Float32:
		ya, ok := y.(*array.Float32)
		return ok && math.Float32bits(xa.Value(i)) == math.Float32bits(ya.Value(j))
	case *array.Boolean:
		ya, ok := y.(*array.Boolean)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.String:
		ya, ok := y.(*array.String)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Binary:
		ya, ok := y.(*array.Binary)
		return ok && bytes.Equal(xa.Value(i), ya.Value(j))
	case *array.Decimal128:
		ya, ok := y.(*array.Decimal128)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Date32:
		ya, ok := y.(*array.Date32)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Time64:
		ya, ok := y.(*array.Time64)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.Timestamp:
		ya, ok := y.(*array.Timestamp)
		return ok && xa.Value(i) == ya.Value(j)
	case *array.MonthDayNanoInterval:
		ya, ok := y.(*array.MonthDayNanoInterval)
		return ok && xa.Value(i) == ya.Value(j)
	}
	return false
}

// takeRows is rec's rows at the given positions, as one batch.
func takeRows(rec arrow.Record, rows []int) (arrow.Record, error) {
	slices := make([]arrow.Record, 0, len(rows))
	for k := 0; k < len(rows); {
		end := k + 1
		for end < len(rows) && rows[end] == rows[end-1]+1 {
			end++
		}
		slices = append(slices, rec.NewSlice(int64(rows[k]), int64(rows[end-1]+1)))
		k = end
	}
	defer func() {
		for _, s := range slices {
			s.Release()
		}
	}()
	return concatRecords(memory.DefaultAllocator, rec.Schema(), slices)
}

// concatRecords joins batches of schema into one (none: an empty batch).
func concatRecords(mem memory.Allocator, schema *arrow.Schema, recs []arrow.Record) (arrow.Record, error) {
	switch len(recs) {
	case 0:
		cols := emptyColumns(mem, schema)
		rec := array.NewRecord(schema, cols, 0)
		for _, c := range cols {
			c.Release()
		}
		return rec, nil
	case 1:
		recs[0].Retain()
		return recs[0], nil
	}
	return catalog.ConcatRecords(mem, recs)
}

// replayLayout applies a layout entry (at byte off of the log of
// generation gen) to the durable tables and gives each table's rebuilt
// partitions to replace.
func (st *Store) replayLayout(gen uint64, off int64, payload []byte, mem memory.Allocator, ids map[string]arrow.Record, replace func(oid uint32, parts [][]arrow.Record) error) error {
	if len(payload) < 5 {
		return fmt.Errorf("layout entry of %d bytes", len(payload))
	}
	n := int(binary.LittleEndian.Uint32(payload[1:5]))
	if 5+n > len(payload) {
		return fmt.Errorf("layout entry's description runs past its end")
	}
	var entry layoutEntry
	if err := json.Unmarshal(payload[5:5+n], &entry); err != nil {
		return fmt.Errorf("layout entry: %v", err)
	}
	streams, err := splitStreams(payload[5+n:], entry.Streams)
	if err != nil {
		return err
	}
	for _, lt := range entry.Tables {
		d, ok := st.durable[lt.OID]
		if !ok {
			return fmt.Errorf("table with oid %d is not stored", lt.OID)
		}
		parts := make([][]arrow.Record, len(lt.Parts))
		release := func() {
			for _, p := range parts {
				for _, r := range p {
					r.Release()
				}
			}
		}
		if err := loadEditedBases(lt.Parts, ids); err != nil {
			return err
		}
		for p, ops := range lt.Parts {
			var old []arrow.Record
			if p < len(d.parts) {
				old = d.parts[p]
			}
			recs, err := applyOps(old, ops, d.schema, streams, mem, ids)
			if err != nil {
				release()
				return fmt.Errorf("table with oid %d, partition %d: %v", lt.OID, p, err)
			}
			parts[p] = recs
		}
		// the batches this entry wrote get their identities
		k := 0
		for _, ops := range lt.Parts {
			for _, o := range ops {
				if o.Add != nil && o.Add.Stream >= 0 {
					k = max(k, o.Add.Stream+1)
				}
			}
		}
		for p, ops := range lt.Parts {
			pos := 0
			for _, o := range ops {
				switch {
				case o.Keep > 0:
					pos += o.Keep
				case o.Add != nil:
					if o.Add.Stream >= 0 {
						id := fmt.Sprintf("l:%d:%d:%d", gen, off, o.Add.Stream)
						ids[id] = parts[p][pos]
						st.logged[parts[p][pos]] = id
					}
					pos++
				}
			}
		}
		st.setDurable(lt.OID, d.schema, parts)
		err := replace(lt.OID, parts)
		release()
		if err != nil {
			return err
		}
	}
	return nil
}

// loadEditedBases reads the stored batches the entry edits (rows of
// them are copied), so that a damaged segment is its own error.
func loadEditedBases(parts [][]layoutOp, ids map[string]arrow.Record) error {
	for _, ops := range parts {
		for _, o := range ops {
			if o.Add == nil || o.Add.Base == "" {
				continue
			}
			if base, ok := ids[o.Add.Base]; ok {
				if err := catalog.LoadBatch(base); err != nil {
					return segmentError{err}
				}
			}
		}
	}
	return nil
}

// segmentError is a segment's own error met while replaying the log (not
// damage of the log).
type segmentError struct{ err error }

func (e segmentError) Error() string { return e.err.Error() }

// splitStreams cuts the entry's IPC streams apart.
func splitStreams(raw []byte, lengths []int64) ([][]byte, error) {
	out := make([][]byte, len(lengths))
	for i, n := range lengths {
		if n < 0 || n > int64(len(raw)) {
			return nil, fmt.Errorf("stream %d of %d bytes runs past the entry's end", i, n)
		}
		out[i], raw = raw[:n], raw[n:]
	}
	return out, nil
}

// applyOps rebuilds a partition from its durable batches and the ops.
func applyOps(old []arrow.Record, ops []layoutOp, schema *arrow.Schema, streams [][]byte, mem memory.Allocator, ids map[string]arrow.Record) ([]arrow.Record, error) {
	var out []arrow.Record
	fail := func(err error) ([]arrow.Record, error) {
		for _, r := range out {
			r.Release()
		}
		return nil, err
	}
	pos := 0
	for _, o := range ops {
		switch {
		case o.Keep > 0:
			if pos+o.Keep > len(old) {
				return fail(fmt.Errorf("keeps %d batches past the %d stored", pos+o.Keep-len(old), len(old)))
			}
			for _, r := range old[pos : pos+o.Keep] {
				r.Retain()
				out = append(out, r)
			}
			pos += o.Keep
		case o.Drop > 0:
			if pos+o.Drop > len(old) {
				return fail(fmt.Errorf("drops %d batches past the %d stored", pos+o.Drop-len(old), len(old)))
			}
			pos += o.Drop
		case o.Add != nil:
			rec, err := buildItem(o.Add, schema, streams, mem, ids)
			if err != nil {
				return fail(err)
			}
			out = append(out, rec)
		default:
			return fail(fmt.Errorf("an empty step"))
		}
	}
	if pos != len(old) {
		return fail(fmt.Errorf("%d stored batches left unaccounted", len(old)-pos))
	}
	return out, nil
}

// buildItem makes an added batch.
func buildItem(it *layoutItem, schema *arrow.Schema, streams [][]byte, mem memory.Allocator, ids map[string]arrow.Record) (arrow.Record, error) {
	if it.Ref != "" {
		rec, ok := ids[it.Ref]
		if !ok {
			return nil, fmt.Errorf("names batch %s, which is not stored", it.Ref)
		}
		rec.Retain()
		return rec, nil
	}
	if it.Stream < 0 || it.Stream >= len(streams) {
		return nil, fmt.Errorf("names stream %d of %d", it.Stream, len(streams))
	}
	rows, err := readStream(streams[it.Stream], schema, mem)
	if err != nil {
		return nil, err
	}
	if it.Base == "" {
		return rows, nil
	}
	defer rows.Release()
	base, ok := ids[it.Base]
	if !ok {
		return nil, fmt.Errorf("edits batch %s, which is not stored", it.Base)
	}
	return applyEdits(base, rows, it.Edits, schema, mem)
}

// readStream decodes one batch written by itemFor, under schema.
func readStream(raw []byte, schema *arrow.Schema, mem memory.Allocator) (arrow.Record, error) {
	limit := max(int64(len(raw)), 1)
	r, err := ipc.NewReader(bytes.NewReader(raw), ipc.WithAllocator(mem), ipc.WithBodySizeLimit(limit), ipc.WithMetadataSizeLimit(limit))
	if err != nil {
		return nil, err
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("a stream without a batch")
	}
	rec := r.Record()
	if err := sameColumnTypes(rec.Schema(), schema); err != nil {
		return nil, err
	}
	return array.NewRecord(schema, rec.Columns(), rec.NumRows()), nil
}

// applyEdits makes a batch from base's rows and the entry's (rows).
func applyEdits(base, rows arrow.Record, edits []int64, schema *arrow.Schema, mem memory.Allocator) (arrow.Record, error) {
	if len(edits)%2 != 0 {
		return nil, fmt.Errorf("edits of odd length %d", len(edits))
	}
	var pieces []arrow.Record
	defer func() {
		for _, p := range pieces {
			p.Release()
		}
	}()
	var b, r int64
	for k := 0; k < len(edits); k += 2 {
		op, n := edits[k], edits[k+1]
		if n <= 0 {
			return nil, fmt.Errorf("an edit of %d rows", n)
		}
		switch op {
		case editCopy:
			if b+n > base.NumRows() {
				return nil, fmt.Errorf("copies rows past the batch's %d", base.NumRows())
			}
			pieces = append(pieces, base.NewSlice(b, b+n))
			b += n
		case editSkip:
			if b+n > base.NumRows() {
				return nil, fmt.Errorf("skips rows past the batch's %d", base.NumRows())
			}
			b += n
		case editTake:
			if r+n > rows.NumRows() {
				return nil, fmt.Errorf("takes rows past the entry's %d", rows.NumRows())
			}
			pieces = append(pieces, rows.NewSlice(r, r+n))
			r += n
		default:
			return nil, fmt.Errorf("edit %d", op)
		}
	}
	if b != base.NumRows() || r != rows.NumRows() {
		return nil, fmt.Errorf("edits leave rows unaccounted")
	}
	relabeled := make([]arrow.Record, len(pieces))
	for i, p := range pieces {
		relabeled[i] = array.NewRecord(schema, p.Columns(), p.NumRows())
	}
	defer func() {
		for _, p := range relabeled {
			p.Release()
		}
	}()
	return concatRecords(mem, schema, relabeled)
}

func emptyColumns(mem memory.Allocator, schema *arrow.Schema) []arrow.Array {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
	}
	return cols
}
