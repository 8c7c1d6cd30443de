package storage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Opening a data directory does not read the tables' segments: each
// becomes a segmentBatch, a batch that knows its schema and row count
// from the catalog and reads its columns the first time they are asked
// for (catalog's lazy.go). Reading maps the file into memory (MAP_PRIVATE),
// checks its checksum over the mapping, and decodes the Arrow IPC file in
// place: the columns' buffers point into the mapping, so their pages are
// the kernel's page cache, read on demand and dropped again under memory
// pressure, and a table larger than memory can be read.
//
// The mapping is private and writable: code that writes into a buffer in
// place gets a private copy of the page (never a change to the file, never
// a fault), as it would with a buffer on the heap. It is unmapped when the
// last buffer over it is released: every buffer holds a reference
// (mappingRefs), so a column that outlives the table's snapshot (a result
// still being sent, say) stays valid; an unlinked file (a checkpoint
// superseded the segment) stays readable until then, and its disk space
// is freed when the mapping goes.
//
// Open checks that every segment file is there with the size the catalog
// gives it (cheap, and a file shorter than its mapping would fault on
// access instead of failing cleanly); the checksum is checked at the
// first read.

// segmentBatch is a table batch held by a segment file, read on demand.
type segmentBatch struct {
	refs   atomic.Int64
	schema *arrow.Schema
	dir    string // the data directory
	ref    SegmentRef
	table  string // named in errors
	mem    memory.Allocator
	reads  *atomic.Int64 // the store's count of segments read

	mu  sync.Mutex // serializes reading
	rec atomic.Pointer[arrow.Record]
}

// newSegmentBatch stands for the segment ref names, under schema.
func (st *Store) newSegmentBatch(mem memory.Allocator, ref SegmentRef, schema *arrow.Schema, table string) *segmentBatch {
	b := &segmentBatch{schema: schema, dir: st.dir, ref: ref, table: table, mem: mem, reads: &st.segmentReads}
	b.refs.Store(1)
	return b
}

// Load reads the segment's columns unless they are read already.
func (b *segmentBatch) Load() error {
	if b.rec.Load() != nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.Load() != nil {
		return nil
	}
	b.reads.Add(1)
	rec, err := mapSegment(b.mem, b.dir, &b.ref, b.schema, b.table)
	if err != nil {
		return err
	}
	b.rec.Store(&rec)
	return nil
}

// Loaded reports whether the columns are read.
func (b *segmentBatch) Loaded() bool { return b.rec.Load() != nil }

// Zones are the segment's per-column summaries (nil when it has none).
func (b *segmentBatch) Zones() []Zone { return b.ref.Zones }

// loaded returns the read record, reading it now if need be; damage here
// (the caller did not Load first) can only be a panic, with the error.
func (b *segmentBatch) loaded() arrow.Record {
	if p := b.rec.Load(); p != nil {
		return *p
	}
	if err := b.Load(); err != nil {
		panic(err)
	}
	return *b.rec.Load()
}

func (b *segmentBatch) Retain() { b.refs.Add(1) }

func (b *segmentBatch) Release() {
	if b.refs.Add(-1) == 0 {
		if p := b.rec.Swap(nil); p != nil {
			(*p).Release()
		}
	}
}

func (b *segmentBatch) Schema() *arrow.Schema   { return b.schema }
func (b *segmentBatch) NumRows() int64          { return b.ref.Rows }
func (b *segmentBatch) NumCols() int64          { return int64(b.schema.NumFields()) }
func (b *segmentBatch) ColumnName(i int) string { return b.schema.Field(i).Name }
func (b *segmentBatch) Columns() []arrow.Array  { return b.loaded().Columns() }
func (b *segmentBatch) Column(i int) arrow.Array {
	return b.loaded().Column(i)
}
func (b *segmentBatch) SetColumn(i int, col arrow.Array) (arrow.Record, error) {
	return b.loaded().SetColumn(i, col)
}
func (b *segmentBatch) NewSlice(i, j int64) arrow.Record { return b.loaded().NewSlice(i, j) }
func (b *segmentBatch) MarshalJSON() ([]byte, error)     { return b.loaded().MarshalJSON() }

// SegmentReads reports how many segment files the store has read on
// demand so far (opening a directory reads none).
func (st *Store) SegmentReads() int64 { return st.segmentReads.Load() }

// checkSegmentFile checks that the segment ref names is there with its
// size, without reading it.
func checkSegmentFile(dir string, ref SegmentRef, table string) error {
	path := filepath.Join(dir, "data", filepath.FromSlash(ref.File))
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return DataCorrupted("segment file %s of table %s is missing", path, table)
	}
	if err != nil {
		return sqlerr.New(sqlerr.IOError, "could not read segment file %s of table %s: %v", path, table, err)
	}
	if fi.Size() != ref.Size {
		return DataCorrupted("segment file %s of table %s is damaged: %d bytes, the catalog says %d", path, table, fi.Size(), ref.Size)
	}
	return nil
}

// mapSegment maps the segment ref names, checks it against its checksum
// and row count, and decodes its record in place (see above).
func mapSegment(mem memory.Allocator, dir string, ref *SegmentRef, schema *arrow.Schema, table string) (arrow.Record, error) {
	path := filepath.Join(dir, "data", filepath.FromSlash(ref.File))
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, DataCorrupted("segment file %s of table %s is missing", path, table)
	}
	if err != nil {
		return nil, sqlerr.New(sqlerr.IOError, "could not read segment file %s of table %s: %v", path, table, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, sqlerr.New(sqlerr.IOError, "could not read segment file %s of table %s: %v", path, table, err)
	}
	if fi.Size() != ref.Size || ref.Size <= 0 {
		return nil, DataCorrupted("segment file %s of table %s is damaged: %d bytes, the catalog says %d", path, table, fi.Size(), ref.Size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(ref.Size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, sqlerr.New(sqlerr.IOError, "could not map segment file %s of table %s: %v", path, table, err)
	}
	m := &mapping{data: data}
	m.refs.Store(1) // ours, until the record holds its own
	defer m.release()
	if got := crc32.Checksum(data, walCRC); got != ref.CRC {
		return nil, DataCorrupted("segment file %s of table %s is damaged: checksum %08x, the catalog says %08x", path, table, got, ref.CRC)
	}
	// checking the checksum touched every page, which made them all part
	// of the process's resident set: let them go again (nothing has
	// written them yet, so they are the file's pages, still in the page
	// cache), and a query keeps resident only the columns it reads (SF1
	// lineitem's comment and text columns are most of its bytes)
	_ = syscall.Madvise(data, syscall.MADV_DONTNEED)
	rec, err := decodeMapped(mem, m, schema)
	if err != nil {
		return nil, DataCorrupted("segment file %s of table %s: %v", path, table, err)
	}
	if rec.NumRows() != ref.Rows {
		rec.Release()
		return nil, DataCorrupted("segment file %s of table %s holds %d rows, the catalog says %d", path, table, rec.NumRows(), ref.Rows)
	}
	return rec, nil
}

// decodeMapped decodes the one record of the mapped segment m under
// schema, its buffers over the mapping (each holding a reference to it).
func decodeMapped(mem memory.Allocator, m *mapping, schema *arrow.Schema) (arrow.Record, error) {
	limit := int64(max(len(m.data), 1))
	fr, err := ipc.NewMappedFileReader(m.data, ipc.WithAllocator(mem), ipc.WithBodySizeLimit(limit), ipc.WithMetadataSizeLimit(limit))
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	if fr.NumRecords() != 1 {
		return nil, fmt.Errorf("%d batches, want 1", fr.NumRecords())
	}
	rec, err := fr.RecordBatchAt(0)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	if err := sameColumnTypes(rec.Schema(), schema); err != nil {
		return nil, err
	}
	cols := make([]arrow.Array, rec.NumCols())
	for i, c := range rec.Columns() {
		d := m.rewrap(c.Data())
		cols[i] = array.MakeFromData(d)
		d.Release()
	}
	out := array.NewRecord(schema, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// mapping is a mapped segment file, unmapped when its last reference goes.
type mapping struct {
	data []byte
	refs atomic.Int64
}

func (m *mapping) release() {
	if m.refs.Add(-1) == 0 {
		syscall.Munmap(m.data)
		m.data = nil
	}
}

// rewrap copies d's structure (not its bytes) with buffers that each
// hold a reference to m. Buffers the reader did not take from the
// mapping (made by the allocator) are kept as they are.
func (m *mapping) rewrap(d arrow.ArrayData) arrow.ArrayData {
	bufs := make([]*memory.Buffer, len(d.Buffers()))
	for i, b := range d.Buffers() {
		switch {
		case b == nil:
		case m.holds(b.Bytes()):
			m.refs.Add(1)
			bufs[i] = memory.NewBufferWithAllocator(b.Bytes(), mappingRefs{m})
		default:
			b.Retain()
			bufs[i] = b
		}
	}
	children := make([]arrow.ArrayData, len(d.Children()))
	for i, c := range d.Children() {
		children[i] = m.rewrap(c)
	}
	out := array.NewData(d.DataType(), d.Len(), bufs, children, d.NullN(), d.Offset())
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	for _, c := range children {
		c.Release()
	}
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		nd := m.rewrap(dict)
		out.SetDictionary(nd)
		nd.Release()
	}
	return out
}

// holds reports whether b lies in the mapping.
func (m *mapping) holds(b []byte) bool {
	if len(b) == 0 || len(m.data) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= start && p < start+uintptr(len(m.data))
}

// mappingRefs is the "allocator" of buffers over a mapping: freeing one
// drops its reference to the mapping. It allocates from the Go heap
// should anything ask it to (a buffer over a mapping never grows).
type mappingRefs struct{ m *mapping }

func (a mappingRefs) Allocate(n int) []byte { return make([]byte, n) }
func (a mappingRefs) Reallocate(n int, b []byte) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}
func (a mappingRefs) Free(b []byte) {
	if a.m.holds(b) {
		a.m.release()
	}
}
