// Package index holds ordered in-memory indexes over a table's batches: a
// copy-on-write B+tree of (key, row locator) entries, where a key is the
// order-preserving byte encoding of one or more column values (encode.go).
//
// A tree is immutable once built: With returns a new tree that shares
// every node the change did not touch, so each snapshot of a table keeps
// the index of its own data while a writer derives the next one.
package index

import (
	"slices"
	"strings"
)

// Loc locates a row in a snapshot: partition, batch within the
// partition, row within the batch (see MakeLoc).
type Loc uint64

// MakeLoc packs a row's position; partitions below 2^16, batches per
// partition and rows per batch below 2^24 (callers check Fits).
func MakeLoc(part, batch, row int) Loc {
	return Loc(uint64(part)<<48 | uint64(batch)<<24 | uint64(row))
}

// Fits reports whether a position can be packed by MakeLoc.
func Fits(part, batch, row int) bool {
	return part < 1<<16 && batch < 1<<24 && row < 1<<24
}

// Part, Batch and Row unpack a locator.
func (l Loc) Part() int  { return int(l >> 48) }
func (l Loc) Batch() int { return int(l>>24) & (1<<24 - 1) }
func (l Loc) Row() int   { return int(l) & (1<<24 - 1) }

// Entry is one indexed row: its encoded key and where it is.
type Entry struct {
	Key string
	Loc Loc
}

// Compare orders entries by key, then by locator (so equal keys of a
// non-unique index are still distinct entries).
func Compare(a, b Entry) int {
	if c := strings.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	switch {
	case a.Loc < b.Loc:
		return -1
	case a.Loc > b.Loc:
		return 1
	}
	return 0
}

// fanout is the most entries a leaf, or children an inner node, holds.
const fanout = 64

type node struct {
	entries run     // a leaf's entries, sorted
	kids    []*node // an inner node's children
	mins    run     // the smallest entry under each child
	// stored: a node of an index file, read on first use (file.go); its
	// fields above stay empty, get returns the node read
	stored *storedNode
}

// get is the node itself, or for a node of an index file the node read
// from it (every walk goes through get before it looks at a node).
func (n *node) get() *node {
	if n.stored != nil {
		return n.stored.read()
	}
	return n
}

func (n *node) leaf() bool { return n.kids == nil }

func (n *node) min() Entry {
	if n.stored != nil && n.stored.hasMin {
		return n.stored.min // known from its parent: no read
	}
	n = n.get()
	if n.leaf() {
		return n.entries.at(0)
	}
	return n.mins.at(0)
}

// Tree is an immutable ordered set of entries.
type Tree struct {
	root *node
	size int
	// file is the index file some of its nodes are read from (nil when
	// none are)
	file *File
}

// Len is the number of entries.
func (t *Tree) Len() int {
	if t == nil {
		return 0
	}
	return t.size
}

// Build makes a tree of entries, which it sorts in place.
func Build(entries []Entry) *Tree {
	slices.SortFunc(entries, Compare)
	entries = slices.CompactFunc(entries, func(a, b Entry) bool { return Compare(a, b) == 0 })
	if len(entries) == 0 {
		return &Tree{}
	}
	level := make([]*node, 0, len(entries)/fanout+1)
	for lo := 0; lo < len(entries); lo += fanout {
		hi := min(lo+fanout, len(entries))
		level = append(level, &node{entries: runOf(entries[lo:hi])})
	}
	for len(level) > 1 {
		up := make([]*node, 0, len(level)/fanout+1)
		for lo := 0; lo < len(level); lo += fanout {
			hi := min(lo+fanout, len(level))
			up = append(up, innerOf(level[lo:hi:hi]))
		}
		level = up
	}
	return &Tree{root: level[0], size: len(entries)}
}

func innerOf(kids []*node) *node {
	mins := make([]Entry, len(kids))
	for i, k := range kids {
		mins[i] = k.min()
	}
	return &node{kids: kids, mins: runOf(mins)}
}

// With returns the tree with del taken out and ins added; t is unchanged.
// Entries of del that are not in the tree and entries of ins already in
// it are ignored. The changes go down the tree together, so each node
// they touch is copied once, however many of them it takes.
func (t *Tree) With(del, ins []Entry) *Tree {
	out := &Tree{}
	if t != nil {
		out.root, out.size, out.file = t.root, t.size, t.file
	}
	if len(del) == 0 && len(ins) == 0 {
		return out
	}
	del = sortedUnique(del)
	ins = sortedUnique(ins)
	var nodes []*node
	if out.root == nil {
		nodes = leavesOf(ins)
		out.size = len(ins)
	} else {
		nodes = apply(out.root, del, ins, &out.size)
	}
	for len(nodes) > 1 {
		nodes = innersOf(nodes)
	}
	out.root = nil
	if len(nodes) == 1 {
		out.root = nodes[0]
		// a root left with one child gives way to it
		for r := out.root.get(); !r.leaf() && len(r.kids) == 1; r = out.root.get() {
			out.root = r.kids[0]
		}
	}
	return out
}

func sortedUnique(es []Entry) []Entry {
	es = slices.Clone(es)
	slices.SortFunc(es, Compare)
	return slices.CompactFunc(es, func(a, b Entry) bool { return Compare(a, b) == 0 })
}

// child is the index of the child of inner node n that may hold e.
func (n *node) child(e Entry) int {
	i, found := n.mins.search(e)
	// mins[i] >= e: e belongs to the child before unless it starts with e
	if !found {
		i--
	}
	return max(i, 0)
}

// apply changes the subtree n by the sorted del and ins (all within its
// range), copying what it touches; it returns the nodes that replace n
// (none when it is left empty, several when it overflowed). size follows
// the entries actually taken out and added.
func apply(n *node, del, ins []Entry, size *int) []*node {
	n = n.get()
	if n.leaf() {
		return leavesOf(mergeEntries(n.entries, del, ins, size))
	}
	var kids []*node
	for i, kid := range n.kids {
		// kid i holds the entries below the next kid's smallest
		var d, in []Entry
		if i+1 < len(n.kids) {
			bound := n.mins.at(i + 1)
			d, del = splitBelow(del, bound)
			in, ins = splitBelow(ins, bound)
		} else {
			d, in = del, ins
		}
		if len(d) == 0 && len(in) == 0 {
			kids = append(kids, kid)
			continue
		}
		kids = append(kids, apply(kid, d, in, size)...)
	}
	if len(kids) == 0 {
		return nil
	}
	return innersOf(kids)
}

// splitBelow splits sorted es at the first entry not below bound.
func splitBelow(es []Entry, bound Entry) (below, rest []Entry) {
	i, _ := slices.BinarySearchFunc(es, bound, Compare)
	return es[:i], es[i:]
}

// mergeEntries is sorted old without del and with ins.
func mergeEntries(old run, del, ins []Entry, size *int) []Entry {
	out := make([]Entry, 0, old.len()+len(ins))
	for i := range old.len() {
		e := old.at(i)
		for len(del) > 0 && Compare(del[0], e) < 0 {
			del = del[1:]
		}
		if len(del) > 0 && Compare(del[0], e) == 0 {
			del = del[1:]
			*size--
			continue
		}
		for len(ins) > 0 && Compare(ins[0], e) <= 0 {
			if Compare(ins[0], e) < 0 {
				out = append(out, ins[0])
				*size++
			}
			ins = ins[1:]
		}
		out = append(out, e)
	}
	*size += len(ins)
	return append(out, ins...)
}

// leavesOf packs sorted entries into leaves of at most fanout, evenly.
func leavesOf(es []Entry) []*node {
	var out []*node
	for _, part := range evenParts(len(es)) {
		out = append(out, &node{entries: runOf(es[part[0]:part[1]])})
	}
	return out
}

// innersOf packs nodes into inner nodes of at most fanout children.
func innersOf(kids []*node) []*node {
	var out []*node
	for _, part := range evenParts(len(kids)) {
		out = append(out, innerOf(kids[part[0]:part[1]:part[1]]))
	}
	return out
}

// evenParts splits n items into the fewest runs of at most fanout, of
// nearly equal lengths.
func evenParts(n int) [][2]int {
	if n == 0 {
		return nil
	}
	k := (n + fanout - 1) / fanout
	out := make([][2]int, k)
	for i := range out {
		out[i] = [2]int{i * n / k, (i + 1) * n / k}
	}
	return out
}

// Ascend calls f with every entry whose key is in [lo, hi), in order,
// until f returns false. An empty hi means no upper end.
func (t *Tree) Ascend(lo, hi string, f func(Entry) bool) {
	if t == nil || t.root == nil {
		return
	}
	it := t.Seek(lo)
	for {
		e, ok := it.Next()
		if !ok || (hi != "" && e.Key >= hi) || !f(e) {
			return
		}
	}
}

// Iterator walks a tree's entries in order from where Seek put it.
type Iterator struct {
	stack []frame
	// room is the stack's first storage: a tree of millions of entries
	// is four levels deep
	room [6]frame
}

type frame struct {
	n *node
	i int
}

// Seek returns an iterator at the first entry whose key is at least lo.
func (t *Tree) Seek(lo string) *Iterator {
	it := &Iterator{}
	it.stack = it.room[:0]
	if t == nil || t.root == nil {
		return it
	}
	probe := Entry{Key: lo}
	n := t.root.get()
	for !n.leaf() {
		i := n.child(probe)
		it.stack = append(it.stack, frame{n, i})
		n = n.kids[i].get()
	}
	i, _ := n.entries.search(probe)
	it.stack = append(it.stack, frame{n, i})
	return it
}

// Next returns the next entry (false at the end).
func (it *Iterator) Next() (Entry, bool) {
	for len(it.stack) > 0 {
		top := &it.stack[len(it.stack)-1]
		if top.n.leaf() {
			if top.i < top.n.entries.len() {
				e := top.n.entries.at(top.i)
				top.i++
				return e, true
			}
			it.stack = it.stack[:len(it.stack)-1]
			if len(it.stack) > 0 {
				it.stack[len(it.stack)-1].i++
			}
			continue
		}
		if top.i < len(top.n.kids) {
			it.stack = append(it.stack, frame{top.n.kids[top.i].get(), 0})
			continue
		}
		it.stack = it.stack[:len(it.stack)-1]
		if len(it.stack) > 0 {
			it.stack[len(it.stack)-1].i++
		}
	}
	return Entry{}, false
}

// HasKey reports whether some entry has exactly key.
func (t *Tree) HasKey(key string) bool {
	e, ok := t.Seek(key).Next()
	return ok && e.Key == key
}

// CountKey counts the entries with exactly key, stopping at limit.
func (t *Tree) CountKey(key string, limit int) int {
	n := 0
	it := t.Seek(key)
	for n < limit {
		e, ok := it.Next()
		if !ok || e.Key != key {
			break
		}
		n++
	}
	return n
}

// ReverseIterator walks a tree's entries in descending order. An inner
// node's frame holds the child being walked, a leaf's how many of its
// entries are left.
type ReverseIterator struct {
	stack []frame
}

// SeekBefore returns a reverse iterator at the last entry whose key is
// below hi ("" for the last entry of all).
func (t *Tree) SeekBefore(hi string) *ReverseIterator {
	it := &ReverseIterator{}
	if t == nil || t.root == nil {
		return it
	}
	// how many of a sorted run of entries have keys below hi
	countBelow := func(r run) int {
		if hi == "" {
			return r.len()
		}
		return r.countBelow(hi)
	}
	n := t.root.get()
	for !n.leaf() {
		i := countBelow(n.mins) - 1
		if i < 0 {
			return &ReverseIterator{}
		}
		it.stack = append(it.stack, frame{n, i})
		n = n.kids[i].get()
	}
	it.stack = append(it.stack, frame{n, countBelow(n.entries)})
	return it
}

// descendRight pushes the path to the end of n's last leaf.
func (it *ReverseIterator) descendRight(n *node) {
	n = n.get()
	for !n.leaf() {
		it.stack = append(it.stack, frame{n, len(n.kids) - 1})
		n = n.kids[len(n.kids)-1].get()
	}
	it.stack = append(it.stack, frame{n, n.entries.len()})
}

// Next returns the next entry in descending order (false past the first).
func (it *ReverseIterator) Next() (Entry, bool) {
	for len(it.stack) > 0 {
		top := &it.stack[len(it.stack)-1]
		if top.i > 0 {
			top.i--
			return top.n.entries.at(top.i), true
		}
		it.stack = it.stack[:len(it.stack)-1]
		// on to the parent's previous child
		for len(it.stack) > 0 {
			p := &it.stack[len(it.stack)-1]
			if p.i--; p.i >= 0 {
				it.descendRight(p.n.kids[p.i])
				break
			}
			it.stack = it.stack[:len(it.stack)-1]
		}
	}
	return Entry{}, false
}
