package index

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// Diff is how an index changes between two versions of a table's data:
// the entries to take out and those to add.
type Diff struct {
	Del, Ins []Entry
}

// Len is the number of entries changed.
func (d Diff) Len() int { return len(d.Del) + len(d.Ins) }

// DiffParts compares two versions of a table's batches position by
// position: a batch that is the same record in both changes nothing, and
// within a batch that differs only the rows whose key or position changed
// count. It stops with ok false once the diff would exceed limit (a
// rebuild is cheaper then) or a position does not fit a locator.
func (d Def) DiffParts(old, cur [][]arrow.Record, limit int) (diff Diff, ok bool) {
	// keys go into one buffer per side, made strings once at the end
	var del, ins keyArena
	var a, b []byte
	for p := 0; p < max(len(old), len(cur)); p++ {
		var op, cp []arrow.Record
		if p < len(old) {
			op = old[p]
		}
		if p < len(cur) {
			cp = cur[p]
		}
		for i := 0; i < max(len(op), len(cp)); i++ {
			var or, cr arrow.Record
			if i < len(op) {
				or = op[i]
			}
			if i < len(cp) {
				cr = cp[i]
			}
			if or == cr {
				continue
			}
			if (or != nil && !d.Matches(or)) || (cr != nil && !d.Matches(cr)) {
				return Diff{}, false
			}
			if d.sameKeys(or, cr) {
				continue
			}
			on, cn := rowsOf(or), rowsOf(cr)
			if !Fits(p, i, max(on, cn)) {
				return Diff{}, false
			}
			for r := 0; r < max(on, cn); r++ {
				a, b = a[:0], b[:0]
				if r < on {
					a = d.AppendKey(a, or, r)
				}
				if r < cn {
					b = d.AppendKey(b, cr, r)
				}
				if r < on && r < cn && string(a) == string(b) {
					continue
				}
				loc := MakeLoc(p, i, r)
				if r < on {
					del.add(a, loc)
				}
				if r < cn {
					ins.add(b, loc)
				}
				if len(del.locs)+len(ins.locs) > limit {
					return Diff{}, false
				}
			}
		}
	}
	return Diff{Del: del.entries(), Ins: ins.entries()}, true
}

// keyArena collects entries whose keys share one buffer.
type keyArena struct {
	buf  []byte
	ends []int
	locs []Loc
}

func (k *keyArena) add(key []byte, loc Loc) {
	// doubling: append's growth by a quarter copied a 6M-row load's keys
	// about five times over (1.4 GB of garbage beside the table)
	if len(k.buf)+len(key) > cap(k.buf) {
		k.buf = slices.Grow(k.buf, max(len(key), cap(k.buf)))
	}
	if len(k.locs) == cap(k.locs) {
		k.ends = slices.Grow(k.ends, max(1, cap(k.ends)))
		k.locs = slices.Grow(k.locs, max(1, cap(k.locs)))
	}
	k.buf = append(k.buf, key...)
	k.ends = append(k.ends, len(k.buf))
	k.locs = append(k.locs, loc)
}

func (k *keyArena) entries() []Entry {
	if len(k.locs) == 0 {
		return nil
	}
	all := frozen(k.buf)
	out := make([]Entry, len(k.locs))
	start := 0
	for i, end := range k.ends {
		out[i] = Entry{Key: all[start:end], Loc: k.locs[i]}
		start = end
	}
	return out
}

// sameKeys reports whether two batches hold the very same key arrays (an
// UPDATE that set other columns passes the key columns through).
func (d Def) sameKeys(a, b arrow.Record) bool {
	if a == nil || b == nil || a.NumRows() != b.NumRows() {
		return false
	}
	for _, c := range d.Columns {
		if a.Column(c).Data() != b.Column(c).Data() {
			return false
		}
	}
	return true
}

func rowsOf(r arrow.Record) int {
	if r == nil {
		return 0
	}
	return int(r.NumRows())
}

// Apply is the index after diff. A diff under a quarter of the entries
// copies the nodes it touches; a larger one (a bulk load, a mass update)
// is merged into a new, fully packed tree in one ordered pass.
func (ix *Index) Apply(diff Diff) *Index {
	if diff.Len()*4 < ix.Tree.Len() {
		return &Index{Def: ix.Def, Tree: ix.Tree.With(diff.Del, diff.Ins)}
	}
	return &Index{Def: ix.Def, Tree: ix.Tree.merged(diff)}
}

// merged is the tree with diff applied, built anew.
func (t *Tree) merged(diff Diff) *Tree {
	slices.SortFunc(diff.Del, Compare)
	slices.SortFunc(diff.Ins, Compare)
	out := make([]Entry, 0, t.Len()+len(diff.Ins))
	del, ins := diff.Del, diff.Ins
	t.Ascend("", "", func(e Entry) bool {
		for len(del) > 0 && Compare(del[0], e) < 0 {
			del = del[1:]
		}
		if len(del) > 0 && Compare(del[0], e) == 0 {
			del = del[1:]
			return true
		}
		for len(ins) > 0 && Compare(ins[0], e) < 0 {
			out = append(out, ins[0])
			ins = ins[1:]
		}
		out = append(out, e)
		return true
	})
	out = append(out, ins...)
	return Build(out)
}
