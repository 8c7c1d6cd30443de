package index

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// An index file holds a tree as it was at a checkpoint, so that opening a
// database does not rebuild its indexes by reading every row. Its nodes
// are read one at a time, when a walk first reaches them: the first
// lookup after open reads the root and one node per level, never the
// rest. A tree read from a file is a tree like any other: a write derives
// the next one by copying the nodes it touches, and the nodes it did not
// touch are still read from the file when needed.
//
//	file   = header node* footer
//	header = "WEFTIDX1"
//	node   = length:u32 crc32c:u32 body            (little endian)
//	body   = kind:u8 count:uvarint item*           (kind 0 leaf, 1 inner)
//	item   = keyLength:uvarint key loc:u64 [child:u64, inner nodes only]
//	footer = root:u64 entries:u64 crc32c:u32 "WIDXEND!"
//
// An inner node's items are the smallest entry under each child and the
// child's offset; a node's children come before it in the file (the file
// is written leaves first), the root last. Each node has its own
// checksum, checked when it is read: a damaged node is an error then, the
// rest of the file is not read to find it. A tree of no entries has root
// 0 (the header's offset, never a node's).

const (
	fileMagic   = "WEFTIDX1"
	footerMagic = "WIDXEND!"
	footerSize  = 8 + 8 + 4 + len(footerMagic)
	kindLeaf    = 0
	kindInner   = 1
	// maxNodeBytes bounds a node's length as read: a damaged length must
	// not make a huge allocation (a node holds at most fanout items, each
	// with a key the index encoding keeps well below this)
	maxNodeBytes = 64 << 20
)

var fileCRC = crc32.MakeTable(crc32.Castagnoli)

// FileInfo describes a written index file: its size, its footer's
// checksum (which names this very file) and its entry count.
type FileInfo struct {
	Size    int64
	CRC     uint32
	Entries int64
}

// WriteFile writes the entries of t to w as an index file, each locator
// passed through move (a checkpoint stores batches as segments whose
// positions differ from the batches' in memory; move must keep the
// entries' order).
func WriteFile(w io.Writer, t *Tree, move func(Loc) Loc) (FileInfo, error) {
	fw := &fileWriter{w: bufio.NewWriterSize(w, 1<<16)}
	fw.write([]byte(fileMagic))
	var level []childRef // the nodes written, with their smallest entries
	leaf := make([]Entry, 0, fanout)
	entries := int64(0)
	flushLeaf := func() {
		if len(leaf) > 0 {
			level = append(level, childRef{min: leaf[0], off: fw.node(kindLeaf, leaf, nil)})
			leaf = leaf[:0]
		}
	}
	it := t.Seek("")
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		leaf = append(leaf, Entry{Key: e.Key, Loc: move(e.Loc)})
		entries++
		if len(leaf) == fanout {
			flushLeaf()
		}
	}
	flushLeaf()
	for len(level) > 1 {
		var up []childRef
		for lo := 0; lo < len(level); lo += fanout {
			kids := level[lo:min(lo+fanout, len(level))]
			mins := make([]Entry, len(kids))
			offs := make([]int64, len(kids))
			for i, k := range kids {
				mins[i], offs[i] = k.min, k.off
			}
			up = append(up, childRef{min: mins[0], off: fw.node(kindInner, mins, offs)})
		}
		level = up
	}
	root := int64(0)
	if len(level) == 1 {
		root = level[0].off
	}
	footer := binary.LittleEndian.AppendUint64(nil, uint64(root))
	footer = binary.LittleEndian.AppendUint64(footer, uint64(entries))
	sum := crc32.Checksum(footer, fileCRC)
	footer = binary.LittleEndian.AppendUint32(footer, sum)
	footer = append(footer, footerMagic...)
	fw.write(footer)
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	if fw.err != nil {
		return FileInfo{}, fw.err
	}
	return FileInfo{Size: fw.off, CRC: sum, Entries: entries}, nil
}

type childRef struct {
	min Entry
	off int64
}

// fileWriter writes an index file, counting its offset and keeping the
// first error.
type fileWriter struct {
	w   *bufio.Writer
	off int64
	err error
	buf []byte
}

func (fw *fileWriter) write(b []byte) {
	if fw.err != nil {
		return
	}
	n, err := fw.w.Write(b)
	fw.off += int64(n)
	fw.err = err
}

// node writes a node of items (with their children's offsets for an
// inner node) and returns its offset.
func (fw *fileWriter) node(kind byte, items []Entry, kids []int64) int64 {
	body := append(fw.buf[:0], kind)
	body = binary.AppendUvarint(body, uint64(len(items)))
	for i, e := range items {
		body = binary.AppendUvarint(body, uint64(len(e.Key)))
		body = append(body, e.Key...)
		body = binary.LittleEndian.AppendUint64(body, uint64(e.Loc))
		if kind == kindInner {
			body = binary.LittleEndian.AppendUint64(body, uint64(kids[i]))
		}
	}
	fw.buf = body
	off := fw.off
	var head [8]byte
	binary.LittleEndian.PutUint32(head[:4], uint32(len(body)))
	binary.LittleEndian.PutUint32(head[4:], crc32.Checksum(body, fileCRC))
	fw.write(head[:])
	fw.write(body)
	return off
}

// File is an open index file whose nodes are read on demand.
type File struct {
	r       io.ReaderAt
	name    string // named in errors
	size    int64
	entries int64
	root    *node // nil for a tree of no entries
	// damage makes the error for a damaged node (the caller's kind of
	// data-corruption error); damaged is set once one was met
	damage  func(format string, args ...any) error
	damaged atomic.Bool
}

// OpenFile opens the index file at path, checking its size, header and
// footer against what the catalog recorded when it was written (info);
// its nodes are checked as they are read. damage makes the error for a
// damaged file (also the one a walk meeting a damaged node panics with).
//
// The file is mapped into memory and its descriptor closed: a database
// of many indexes holds no descriptor for each, and a tree keeps reading
// its file after a checkpoint removed it (the mapping outlives the name).
// The mapping goes when the last tree reading it does.
func OpenFile(path string, info FileInfo, damage func(format string, args ...any) error) (*File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, damage("index file %s is missing", path)
	}
	if err != nil {
		return nil, fmt.Errorf("could not open index file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("could not read index file %s: %w", path, err)
	}
	if fi.Size() != info.Size || info.Size <= 0 {
		return nil, damage("index file %s is damaged: %d bytes, the catalog says %d", path, fi.Size(), info.Size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(info.Size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("could not map index file %s: %w", path, err)
	}
	file, err := openReader(bytes.NewReader(data), path, info, damage)
	if err != nil {
		syscall.Munmap(data)
		return nil, err
	}
	runtime.AddCleanup(file, func(data []byte) { syscall.Munmap(data) }, data)
	return file, nil
}

// openReader is OpenFile over r.
func openReader(r io.ReaderAt, name string, info FileInfo, damage func(format string, args ...any) error) (*File, error) {
	if info.Size < int64(len(fileMagic)+footerSize) {
		return nil, damage("index file %s is damaged: the catalog gives it %d bytes", name, info.Size)
	}
	head := make([]byte, len(fileMagic))
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("could not read index file %s: %w", name, err)
	}
	foot := make([]byte, footerSize)
	if _, err := r.ReadAt(foot, info.Size-int64(footerSize)); err != nil {
		return nil, fmt.Errorf("could not read index file %s: %w", name, err)
	}
	sum := binary.LittleEndian.Uint32(foot[16:20])
	if string(head) != fileMagic || string(foot[20:]) != footerMagic || crc32.Checksum(foot[:16], fileCRC) != sum || sum != info.CRC {
		return nil, damage("index file %s is damaged: its header or footer does not match the catalog", name)
	}
	rootOff := int64(binary.LittleEndian.Uint64(foot[:8]))
	entries := int64(binary.LittleEndian.Uint64(foot[8:16]))
	if entries != info.Entries {
		return nil, damage("index file %s is damaged: %d entries, the catalog says %d", name, entries, info.Entries)
	}
	file := &File{r: r, name: name, size: info.Size, entries: entries, damage: damage}
	if entries > 0 {
		if rootOff < int64(len(fileMagic)) || rootOff >= info.Size-int64(footerSize) {
			return nil, damage("index file %s is damaged: its root lies outside it", name)
		}
		file.root = &node{stored: &storedNode{f: file, off: rootOff}}
	}
	return file, nil
}

// Tree is the tree the file holds.
func (f *File) Tree() *Tree {
	return &Tree{root: f.root, size: int(f.entries), file: f}
}

// Damaged reports whether a damaged node of the file was met.
func (f *File) Damaged() bool { return f.damaged.Load() }

// Source is the index file t is exactly the tree of (no change made to
// it since it was read), nil if none.
func (t *Tree) Source() *File {
	if t == nil || t.file == nil || t.root != t.file.root || t.size != int(t.file.entries) {
		return nil
	}
	return t.file
}

// Damaged reports whether t reads nodes from an index file found damaged
// (a walk of it may fail: the index should be built again from the data).
func (t *Tree) Damaged() bool { return t != nil && t.file != nil && t.file.Damaged() }

// storedNode is a node of an index file not read yet, and once read, the
// node it holds.
type storedNode struct {
	f   *File
	off int64
	// min is the node's smallest entry, known from its parent (the root
	// has none): it lets a write that passes a node by keep it unread
	min    Entry
	hasMin bool

	once sync.Once
	n    *node
	err  error
}

// read returns the node, reading it the first time. A damaged node
// panics with the file's damage error (a walk has no error to return;
// the statement's guard turns the panic back into the error, as it does
// for a table batch read on demand).
func (s *storedNode) read() *node {
	s.once.Do(func() {
		s.n, s.err = s.f.readNode(s.off)
		if s.err != nil {
			s.f.damaged.Store(true)
		}
	})
	if s.err != nil {
		panic(s.err)
	}
	return s.n
}

// readNode reads and checks the node at off.
func (f *File) readNode(off int64) (*node, error) {
	end := f.size - int64(footerSize)
	if off < int64(len(fileMagic)) || off+8 > end {
		return nil, f.damage("index file %s is damaged: a node at offset %d lies outside it", f.name, off)
	}
	var head [8]byte
	if _, err := f.r.ReadAt(head[:], off); err != nil {
		return nil, f.damage("could not read index file %s: %v", f.name, err)
	}
	length := int64(binary.LittleEndian.Uint32(head[:4]))
	if length > maxNodeBytes || off+8+length > end {
		return nil, f.damage("index file %s is damaged: the node at offset %d claims %d bytes", f.name, off, length)
	}
	body := make([]byte, length)
	if _, err := f.r.ReadAt(body, off+8); err != nil {
		return nil, f.damage("could not read index file %s: %v", f.name, err)
	}
	if crc32.Checksum(body, fileCRC) != binary.LittleEndian.Uint32(head[4:]) {
		return nil, f.damage("index file %s is damaged: the node at offset %d fails its checksum", f.name, off)
	}
	n, err := f.decodeNode(body, off)
	if err != nil {
		return nil, f.damage("index file %s is damaged: the node at offset %d: %v", f.name, off, err)
	}
	return n, nil
}

// decodeNode decodes a node's body (checked against its checksum); its
// keys are copied out into the one string of the node's run.
func (f *File) decodeNode(body []byte, off int64) (*node, error) {
	if len(body) == 0 || body[0] > kindInner {
		return nil, errors.New("unknown kind")
	}
	inner := body[0] == kindInner
	rd := bytes.NewReader(body[1:])
	count, err := binary.ReadUvarint(rd)
	if err != nil || count == 0 || count > fanout {
		return nil, fmt.Errorf("%d items", count)
	}
	keys := make([]byte, 0, len(body))
	lens := make([]int, count)
	locs := make([]Loc, count)
	var kids []int64
	if inner {
		kids = make([]int64, count)
	}
	var word [8]byte
	for i := range lens {
		n, err := binary.ReadUvarint(rd)
		if err != nil || n > uint64(rd.Len()) {
			return nil, errors.New("a key runs past its end")
		}
		start := len(keys)
		keys = keys[:start+int(n)]
		if _, err := io.ReadFull(rd, keys[start:]); err != nil {
			return nil, err
		}
		lens[i] = int(n)
		if _, err := io.ReadFull(rd, word[:]); err != nil {
			return nil, err
		}
		locs[i] = Loc(binary.LittleEndian.Uint64(word[:]))
		if inner {
			if _, err := io.ReadFull(rd, word[:]); err != nil {
				return nil, err
			}
			// children come before their parent
			if kids[i] = int64(binary.LittleEndian.Uint64(word[:])); kids[i] >= off {
				return nil, errors.New("a child after its parent")
			}
		}
	}
	if rd.Len() != 0 {
		return nil, errors.New("bytes after its items")
	}
	items := run{keys: frozen(keys), ends: make([]int, count), locs: locs}
	end := 0
	for i, n := range lens {
		end += n
		items.ends[i] = end
	}
	if !inner {
		return &node{entries: items}, nil
	}
	n := &node{mins: items, kids: make([]*node, count)}
	for i, k := range kids {
		n.kids[i] = &node{stored: &storedNode{f: f, off: k, min: items.at(i), hasMin: true}}
	}
	return n, nil
}

// SameEntries reports whether t and o are the very same entries: one is
// the other, or was made from it by a change that changed nothing.
func (t *Tree) SameEntries(o *Tree) bool {
	return t != nil && o != nil && t.root == o.root && t.size == o.size
}
