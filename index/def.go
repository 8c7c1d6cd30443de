package index

import (
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// Def is what an index covers: its name, the table column ordinals of its
// key (in order) and their types. A tree built for one definition is not
// used for another (a column's type changed, the index was re-created).
type Def struct {
	Name    string
	Columns []int
	Types   []types.T
	Unique  bool
}

// Equal reports whether two definitions index the same thing.
func (d Def) Equal(o Def) bool {
	return d.Name == o.Name && d.Unique == o.Unique && slices.Equal(d.Columns, o.Columns) && slices.Equal(d.Types, o.Types)
}

// Usable reports whether every key column's type can be encoded.
func (d Def) Usable() bool {
	for _, t := range d.Types {
		if !Supported(t) {
			return false
		}
	}
	return len(d.Columns) > 0
}

// Matches reports whether batch r holds d's key columns, of d's types (a
// table whose columns an ALTER TABLE changed may hold batches of another
// layout while the index describes the old one).
func (d Def) Matches(r arrow.Record) bool {
	for k, c := range d.Columns {
		if c < 0 || c >= int(r.NumCols()) || r.Column(c).DataType().ID() != d.Types[k].Arrow().ID() {
			return false
		}
	}
	return true
}

// AppendKey appends the key of row i of batch r.
func (d Def) AppendKey(dst []byte, r arrow.Record, i int) []byte {
	for k, c := range d.Columns {
		dst = AppendValue(dst, d.Types[k], r.Column(c), i)
	}
	return dst
}

// Index is a built index: its definition and its entries.
type Index struct {
	Def  Def
	Tree *Tree
}

// BuildFrom indexes every row of parts (a snapshot's batches by
// partition). ok is false when a position does not fit a locator.
func BuildFrom(d Def, parts [][]arrow.Record) (*Index, bool) {
	n := 0
	for _, p := range parts {
		for _, r := range p {
			n += int(r.NumRows())
		}
	}
	// all keys go in one buffer, which the entries' strings share (the
	// tree's leaves copy them into runs of their own: run.go)
	var buf []byte
	ends := make([]int, 0, n)
	locs := make([]Loc, 0, n)
	for p, recs := range parts {
		for b, r := range recs {
			rows := int(r.NumRows())
			if !Fits(p, b, rows) || !d.Matches(r) {
				return nil, false
			}
			for i := 0; i < rows; i++ {
				buf = d.AppendKey(buf, r, i)
				if len(ends) == 0 {
					// keys of fixed-width types all have the first's size
					buf = slices.Grow(buf, len(buf)*n)
				}
				ends = append(ends, len(buf))
				locs = append(locs, MakeLoc(p, b, i))
			}
		}
	}
	all := frozen(buf)
	entries := make([]Entry, n)
	start := 0
	for i, end := range ends {
		entries[i] = Entry{Key: all[start:end], Loc: locs[i]}
		start = end
	}
	return &Index{Def: d, Tree: Build(entries)}, true
}

// frozen is buf as a string without a copy; the caller never changes buf
// again (a key buffer of millions of rows would otherwise be held twice
// while it is copied).
func frozen(buf []byte) string {
	if len(buf) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(buf), len(buf))
}
