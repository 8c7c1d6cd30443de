package catalog

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/index"
)

// A snapshot's indexes are built from its data the first time a query
// or a writer needs them (at open, a table has none until then), and a
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
	if ix := s.indexes[d.Name]; ix != nil && ix.Def.Equal(d) {
		return ix
	}
	if s.Parts == nil {
		return nil
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
// rows that differ between them. Where the change is large a later use
// rebuilds the index from next's data instead.
func deriveIndexes(prev, next *Snapshot) {
	if prev == nil || next == nil || prev == next || prev.Parts == nil || next.Parts == nil {
		return
	}
	for _, ix := range prev.builtIndexes() {
		if next.hasIndex(ix.Def.Name) {
			continue
		}
		limit := max(1<<16, ix.Tree.Len()/4)
		diff, ok := ix.Def.DiffParts(prev.Parts, next.Parts, limit)
		if !ok {
			continue
		}
		next.setIndex(ix.Apply(diff))
	}
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
