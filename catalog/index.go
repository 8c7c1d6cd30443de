package catalog

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/index"
)

// A snapshot's indexes are built from its data the first time a query
// or a writer needs them (at open, a table has those storage kept at the
// last checkpoint, read from their files a node at a time), and a
// write derives the next snapshot's indexes from the current ones by the
// rows it changed (see deriveIndexes), so a ROLLBACK that puts an older
// snapshot back puts its indexes back with it.

// IndexDefs lists what can be indexed of the table's keys and indexes:
// the primary key and unique constraints, then CREATE INDEX indexes, each
// over plain columns of types the index encoding orders.
func (t *Table) IndexDefs() []index.Def {
	var out []index.Def
	add := func(k Key, unique bool) {
		d := index.Def{Name: k.Name, Columns: k.Columns, Unique: unique}
		for _, c := range k.Columns {
			if c < 0 || c >= len(t.Columns) {
				return
			}
			d.Types = append(d.Types, t.Columns[c].Type)
		}
		if d.Usable() {
			out = append(out, d)
		}
	}
	for _, k := range t.Keys {
		add(k, true)
	}
	for _, k := range t.Indexes {
		add(k, false)
	}
	return out
}

// Index returns the snapshot's index for d, building it from the data if
// it has not been built yet; nil when the data cannot be indexed (a
// released snapshot, positions beyond a locator's range).
func (s *Snapshot) Index(d index.Def) *index.Index {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if ix := s.indexes[d.Name]; ix != nil && ix.Def.Equal(d) && !ix.Tree.Damaged() {
		return ix
	}
	// (an index read from a damaged file is built again from the data)
	if s.Parts == nil || s.Load() != nil {
		return nil // (a damaged batch: the scan that reads it says so)
	}
	ix, ok := index.BuildFrom(d, s.Parts)
	if !ok {
		return nil
	}
	if s.indexes == nil {
		s.indexes = map[string]*index.Index{}
	}
	s.indexes[d.Name] = ix
	return ix
}

// builtIndexes lists the indexes built on s so far.
func (s *Snapshot) builtIndexes() []*index.Index {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	out := make([]*index.Index, 0, len(s.indexes))
	for _, ix := range s.indexes {
		out = append(out, ix)
	}
	return out
}

// BuiltIndex is the snapshot's index for d if it has one (built, derived
// or read from storage), without building it.
func (s *Snapshot) BuiltIndex(d index.Def) *index.Index {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if ix := s.indexes[d.Name]; ix != nil && ix.Def.Equal(d) && !ix.Tree.Damaged() {
		return ix
	}
	return nil
}

// AttachIndex gives s an index of its data made elsewhere (read from
// storage), unless it has one.
func (s *Snapshot) AttachIndex(ix *index.Index) { s.setIndex(ix) }

// setIndex attaches an index made elsewhere (derived) unless s has one.
func (s *Snapshot) setIndex(ix *index.Index) {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.indexes == nil {
		s.indexes = map[string]*index.Index{}
	}
	if _, ok := s.indexes[ix.Def.Name]; !ok {
		s.indexes[ix.Def.Name] = ix
	}
}

// deriveIndexes gives next the indexes prev has built, changed by the
// rows that differ between them (a bulk load into an indexed table is
// merged into its index here). Where the change is larger than the data a
// later use rebuilds the index from next's data instead.
func deriveIndexes(prev, next *Snapshot) {
	if prev == nil || next == nil || prev == next || prev.Parts == nil || next.Parts == nil {
		return
	}
	for _, ix := range prev.builtIndexes() {
		if next.hasIndex(ix.Def.Name) {
			continue
		}
		if derived := derive(ix, prev, next); derived != nil {
			next.setIndex(derived)
		}
	}
}

// derive is ix (prev's) changed by the rows that differ in next; nil when
// a rebuild is the better way (a diff beyond the new data's size costs
// more), or when the index reads from a damaged file (deriving met the
// damage: the index is built from next's data when next needed).
func derive(ix *index.Index, prev, next *Snapshot) (out *index.Index) {
	if ix.Tree.Damaged() {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			if !ix.Tree.Damaged() {
				panic(r)
			}
			out = nil
		}
	}()
	limit := max(1<<16, int(next.NumRows()))
	diff, ok := ix.Def.DiffParts(prev.Parts, next.Parts, limit)
	if !ok {
		return nil
	}
	return ix.Apply(diff)
}

func (s *Snapshot) hasIndex(name string) bool {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	_, ok := s.indexes[name]
	return ok
}

// NewSnapshotAfter is NewSnapshot for data that follows prev (a block's
// next private version of a table): the indexes prev built carry over.
func NewSnapshotAfter(prev *Snapshot, parts [][]arrow.Record) *Snapshot {
	s := NewSnapshot(parts)
	deriveIndexes(prev, s)
	return s
}

// BatchPos is a batch of a snapshot: partition and position in it.
type BatchPos struct{ Part, Batch int }

// Restrict is a snapshot holding only the batches at pos (in order, with
// s's partitions), for a rewrite that needs to read only those.
func Restrict(s *Snapshot, pos []BatchPos) *Snapshot {
	parts := make([][]arrow.Record, len(s.Parts))
	for _, p := range pos {
		r := s.Parts[p.Part][p.Batch]
		r.Retain()
		parts[p.Part] = append(parts[p.Part], r)
	}
	return NewSnapshot(parts)
}

// Unrestrict is s's batches with those at pos replaced by rewritten (nil
// drops a batch); every record returned is a new reference.
func Unrestrict(s *Snapshot, pos []BatchPos, rewritten []arrow.Record) [][]arrow.Record {
	repl := make(map[BatchPos]arrow.Record, len(pos))
	for i, p := range pos {
		repl[p] = rewritten[i]
	}
	parts := make([][]arrow.Record, len(s.Parts))
	for p, recs := range s.Parts {
		for b, r := range recs {
			if nr, ok := repl[BatchPos{p, b}]; ok {
				r = nr
			}
			if r != nil {
				r.Retain()
				parts[p] = append(parts[p], r)
			}
		}
	}
	return parts
}

// Duplicate is a row whose unique key another row of the same data has.
type Duplicate struct {
	Key Key
	Rec arrow.Record
	Row int
}

// DuplicateAfter checks the table's unique keys over next, data made from
// cur by changing some batches, through cur's indexes: only the rows that
// changed are looked up. decided is false when an index cannot tell (a
// key of a type the index does not encode, a large change); the caller
// then checks every row.
func (t *Table) DuplicateAfter(cur *Snapshot, next [][]arrow.Record) (dup *Duplicate, decided bool) {
	defs := map[string]index.Def{}
	for _, d := range t.IndexDefs() {
		defs[d.Name] = d
	}
	for _, k := range t.Keys {
		d, ok := defs[k.Name]
		if !ok {
			return nil, false
		}
		ix := cur.Index(d)
		if ix == nil {
			return nil, false
		}
		diff, ok := d.DiffParts(cur.Parts, next, max(1<<16, ix.Tree.Len()/4))
		if !ok {
			return nil, false
		}
		if dup := duplicateIn(ix, k, diff, next); dup != nil {
			return dup, true
		}
	}
	return nil, true
}

// duplicateIn finds an added entry whose key, counting what the diff
// takes out and adds, is held by more than one row.
func duplicateIn(ix *index.Index, k Key, diff index.Diff, next [][]arrow.Record) *Duplicate {
	removed := map[string]int{}
	for _, e := range diff.Del {
		removed[e.Key]++
	}
	added := map[string]int{}
	for _, e := range diff.Ins {
		added[e.Key]++
	}
	for _, e := range diff.Ins {
		rec := next[e.Loc.Part()][e.Loc.Batch()]
		if keyHasNull(rec, k, e.Loc.Row()) {
			continue
		}
		if ix.Tree.CountKey(e.Key, 2)-removed[e.Key]+added[e.Key] > 1 {
			return &Duplicate{Key: k, Rec: rec, Row: e.Loc.Row()}
		}
	}
	return nil
}

func keyHasNull(r arrow.Record, k Key, row int) bool {
	for _, c := range k.Columns {
		if r.Column(c).IsNull(row) {
			return true
		}
	}
	return false
}

// KeyIndex is the index of the unique key k on s (built on first use),
// nil when keys of its types are not indexed.
func (t *Table) KeyIndex(s *Snapshot, k Key) *index.Index {
	for _, d := range t.IndexDefs() {
		if d.Name == k.Name && d.Unique {
			return s.Index(d)
		}
	}
	return nil
}
