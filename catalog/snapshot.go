package catalog

import (
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/index"
)

// Snapshot is an immutable version of a table's data. It is reference
// counted: the table holds one reference, every reader one more.
type Snapshot struct {
	Parts [][]arrow.Record
	refs  atomic.Int64

	keyMu   sync.Mutex
	keySets map[string]*KeySet // by key name, built when a writer needs them

	idxMu   sync.Mutex
	indexes map[string]*index.Index // by index name, see index.go

	// edits: how some of its batches were made from the batches of the
	// data before it (edits.go); set before the snapshot is shared
	edits Edits
}

func newSnapshot(parts int) *Snapshot {
	s := &Snapshot{Parts: make([][]arrow.Record, parts)}
	s.refs.Store(1)
	return s
}

// Retain adds a reader reference.
func (s *Snapshot) Retain() { s.refs.Add(1) }

// Release drops a reference; the last one releases the batches.
func (s *Snapshot) Release() {
	if s.refs.Add(-1) == 0 {
		for _, p := range s.Parts {
			for _, r := range p {
				r.Release()
			}
		}
		s.Parts = nil
	}
}

// NumRows counts the rows of the snapshot.
func (s *Snapshot) NumRows() int64 {
	var n int64
	for _, p := range s.Parts {
		for _, r := range p {
			n += r.NumRows()
		}
	}
	return n
}

// Snapshot returns the table's current data with a reference the caller
// must Release.
func (t *Table) Snapshot() *Snapshot {
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	s := t.data.Load()
	if s == nil {
		return newSnapshot(0)
	}
	s.Retain()
	return s
}

func (t *Table) setData(s *Snapshot) {
	// (the table's writers are serialized, so the current data stays put
	// while the next one's indexes are derived from it)
	deriveIndexes(t.data.Load(), s)
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	if old := t.data.Swap(s); old != nil {
		old.Release()
	}
}

// Lock serializes writers of this table; Unlock releases.
func (t *Table) Lock()   { t.mu.Lock() }
func (t *Table) Unlock() { t.mu.Unlock() }

// Replace installs new data (the caller holds the write lock); parts are
// owned by the new snapshot.
func (t *Table) Replace(parts [][]arrow.Record) {
	s := &Snapshot{Parts: parts}
	s.refs.Store(1)
	t.setData(s)
}

// ReplaceIndexed is Replace for data whose indexes the caller built (a
// bulk load, from the keys it collected while writing its batches): the
// new snapshot has them from the start, so they are not derived by
// reading the new batches.
func (t *Table) ReplaceIndexed(parts [][]arrow.Record, ixs []*index.Index) {
	s := NewSnapshot(parts)
	for _, ix := range ixs {
		s.setIndex(ix)
	}
	t.setData(s)
}

// NewSnapshot wraps parts (owned by it) as a snapshot with one reference.
func NewSnapshot(parts [][]arrow.Record) *Snapshot {
	s := &Snapshot{Parts: parts}
	s.refs.Store(1)
	return s
}

// Current returns the installed snapshot without a new reference; only for
// a writer holding the lock.
func (t *Table) Current() *Snapshot { return t.data.Load() }

// AppendParts returns the current partitions with recs added: each record
// goes to the partition holding the fewest rows, and a small trailing batch
// is merged with the new rows so single-row inserts do not pile up tiny
// batches. Returned records are new references.
func AppendParts(mem memory.Allocator, cur *Snapshot, recs []arrow.Record, batchSize int) ([][]arrow.Record, error) {
	n := len(cur.Parts)
	if n == 0 {
		n = 1
	}
	parts := make([][]arrow.Record, n)
	rows := make([]int64, n)
	for i := range parts {
		if i < len(cur.Parts) {
			for _, r := range cur.Parts[i] {
				r.Retain()
				parts[i] = append(parts[i], r)
				rows[i] += r.NumRows()
			}
		}
	}
	for _, rec := range recs {
		p := 0
		for i := range rows {
			if rows[i] < rows[p] {
				p = i
			}
		}
		rows[p] += rec.NumRows()
		rec.Retain()
		parts[p] = append(parts[p], rec)
		merged, err := mergeSmallTail(mem, parts[p], batchSize)
		parts[p] = merged
		if err != nil {
			for _, part := range parts {
				for _, r := range part {
					r.Release()
				}
			}
			return nil, err
		}
	}
	return parts, nil
}

// mergeSmallTail merges the partition's last two batches while they are
// small and of like size (the earlier at most twice the later), as a
// binary counter carries: single-row inserts then copy each row a
// logarithmic number of times on its way into a batch of half batchSize,
// instead of copying the whole growing last batch on every insert (and
// the log, which writes each changed batch, writes a few small ones).
func mergeSmallTail(mem memory.Allocator, recs []arrow.Record, batchSize int) ([]arrow.Record, error) {
	for len(recs) >= 2 {
		a, b := recs[len(recs)-2], recs[len(recs)-1]
		if a.NumRows() >= int64(batchSize)/2 || a.NumRows()+b.NumRows() > int64(batchSize) || a.NumRows() > 2*b.NumRows() {
			return recs, nil
		}
		merged, err := ConcatRecords(mem, []arrow.Record{a, b})
		if err != nil {
			return recs, err
		}
		a.Release()
		b.Release()
		recs = append(recs[:len(recs)-2], merged)
	}
	return recs, nil
}

// ConcatRecords joins batches of one schema into one batch.
func ConcatRecords(mem memory.Allocator, rs []arrow.Record) (arrow.Record, error) {
	schema := rs[0].Schema()
	cols := make([]arrow.Array, schema.NumFields())
	var rows int64
	for _, r := range rs {
		rows += r.NumRows()
	}
	for c := range cols {
		parts := make([]arrow.Array, len(rs))
		for i, r := range rs {
			parts[i] = r.Column(c)
		}
		a, err := array.Concatenate(parts, mem)
		if err != nil {
			for _, x := range cols[:c] {
				x.Release()
			}
			return nil, err
		}
		cols[c] = a
	}
	rec := array.NewRecord(schema, cols, rows)
	for _, a := range cols {
		a.Release()
	}
	return rec, nil
}

// Restore installs a snapshot taken earlier (ROLLBACK); the caller holds
// the write lock and keeps its own reference.
func (t *Table) Restore(s *Snapshot) {
	s.Retain()
	t.setData(s)
}

// ReplaceSameRows installs parts, which hold the current data's rows in
// the same partitions, batches and order (its batches read back from
// their stored segments): nothing is derived from the current data; its
// indexes and key sets carry over as they are when keepIndexes is set,
// else a later use builds them again from the rows, as after a reopen.
// The caller holds the write lock; parts are owned by the new snapshot.
func (t *Table) ReplaceSameRows(parts [][]arrow.Record, keepIndexes bool) {
	next := NewSnapshot(parts)
	if cur := t.data.Load(); cur != nil && keepIndexes {
		for _, ix := range cur.builtIndexes() {
			next.setIndex(ix)
		}
		cur.keyMu.Lock()
		for name, ks := range cur.keySets {
			next.SetKeySet(name, ks)
		}
		cur.keyMu.Unlock()
	}
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	if old := t.data.Swap(next); old != nil {
		old.Release()
	}
}
