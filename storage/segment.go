package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A segment file is one Arrow IPC file holding one record batch. A table
// batch larger than the store's segment target is cut into runs of rows,
// each written as a segment of its own, so that no file grows past what
// a reader takes in; a single row larger than the target still gets one
// segment (the reader's size limits are the file's own size).
//
// The catalog names every segment with its size, row count, CRC-32C and
// zone map (zone.go); open checks the size, the first read the rest,
// before trusting a byte of the file (lazysegment.go).

// defaultSegmentBytes is the target size of a segment file.
const defaultSegmentBytes = 32 << 20

// SegmentRef names a segment file in the catalog with what a reader checks
// it against.
type SegmentRef struct {
	File string `json:"file"` // under data/
	Size int64  `json:"size"`
	CRC  uint32 `json:"crc32c"`
	Rows int64  `json:"rows"`
	// Zones summarize its columns (zone.go); absent in catalogs from
	// before zone maps
	Zones []Zone `json:"zones,omitempty"`
	// legacy: named by a catalog written before segments had checksums
	// (a bare file name), so there is nothing to check it against
	legacy bool
}

// UnmarshalJSON takes a segment as written now (an object) or by the
// versions before checksums (a bare file name).
func (r *SegmentRef) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		r.legacy = true
		return json.Unmarshal(b, &r.File)
	}
	type plain SegmentRef
	return json.Unmarshal(b, (*plain)(r))
}

// segmentRanges cuts rec's rows into runs of at most target bytes (by an
// estimate of each row's data); a row larger than target is a run alone.
func segmentRanges(rec arrow.Record, target int64) [][2]int64 {
	n := rec.NumRows()
	if n == 0 || target <= 0 {
		return [][2]int64{{0, n}}
	}
	if total, ok := estimatedBytes(rec); ok && total <= target {
		// a batch that fits, as a table's batches do: no walk over its rows
		return [][2]int64{{0, n}}
	}
	sizes := make([]int64, n)
	for _, col := range rec.Columns() {
		addRowBytes(col, sizes)
	}
	var out [][2]int64
	start, acc := int64(0), int64(0)
	for i, sz := range sizes {
		if acc > 0 && acc+sz > target {
			out = append(out, [2]int64{start, int64(i)})
			start, acc = int64(i), 0
		}
		acc += sz
	}
	return append(out, [2]int64{start, n})
}

// estimatedBytes is the sum of valueBytes over rec's rows, taken per
// column where that needs no walk over the rows (ok false when a column
// needs one).
func estimatedBytes(rec arrow.Record) (total int64, ok bool) {
	n := rec.NumRows()
	for _, col := range rec.Columns() {
		switch a := col.(type) {
		case *array.String:
			if n > 0 {
				total += int64(a.ValueOffset(int(n)-1)+a.ValueLen(int(n)-1)-a.ValueOffset(0)) + 4*n
			}
		case *array.Binary:
			if n > 0 {
				total += int64(a.ValueOffset(int(n)-1)+a.ValueLen(int(n)-1)-a.ValueOffset(0)) + 4*n
			}
		case *array.List:
			return 0, false
		default:
			if fw, isFixed := col.DataType().(arrow.FixedWidthDataType); isFixed {
				total += int64(max(fw.BitWidth()/8, 1)) * n
			} else {
				total += 16 * n
			}
		}
	}
	return total, true
}

// addRowBytes adds to sizes[i] the bytes row i of arr takes in a file.
func addRowBytes(arr arrow.Array, sizes []int64) {
	for i := range sizes {
		sizes[i] += valueBytes(arr, i)
	}
}

// valueBytes estimates the bytes value i of arr takes (offsets included).
func valueBytes(arr arrow.Array, i int) int64 {
	switch a := arr.(type) {
	case *array.String:
		return int64(a.ValueLen(i)) + 4
	case *array.Binary:
		return int64(a.ValueLen(i)) + 4
	case *array.List:
		start, end := a.ValueOffsets(i)
		n := int64(4)
		for j := start; j < end; j++ {
			n += valueBytes(a.ListValues(), int(j))
		}
		return n
	}
	if fw, ok := arr.DataType().(arrow.FixedWidthDataType); ok {
		return int64(max(fw.BitWidth()/8, 1))
	}
	return 16
}

// writeSegments stores rec as one or more segment files of the table
// with OID oid.
func (st *Store) writeSegments(oid uint32, rec arrow.Record) ([]SegmentRef, error) {
	ranges := segmentRanges(rec, st.segmentBytes)
	var refs []SegmentRef
	for _, r := range ranges {
		part := rec
		if len(ranges) > 1 {
			part = rec.NewSlice(r[0], r[1])
		}
		ref, err := st.writeSegment(oid, part)
		if part != rec {
			part.Release()
		}
		if err != nil {
			for _, done := range refs {
				os.Remove(filepath.Join(st.dir, "data", done.File))
			}
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// writeSegment writes rec as a new segment file of table oid (fsynced and renamed
// into place) and returns its catalog entry. The caller holds st.mu.
func (st *Store) writeSegment(oid uint32, rec arrow.Record) (SegmentRef, error) {
	name, err := st.newSegmentName(oid)
	if err != nil {
		return SegmentRef{}, err
	}
	return st.writeSegmentFile(name, rec)
}

// newSegmentName takes the next segment number for a file of table oid
// (making the table's directory if need be); the caller holds st.mu.
func (st *Store) newSegmentName(oid uint32) (string, error) {
	st.nextSeg++
	name := filepath.Join(fmt.Sprint(oid), fmt.Sprintf("%d.arrow", st.nextSeg))
	dir := filepath.Join(st.dir, "data", fmt.Sprint(oid))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", sqlerr.New(sqlerr.DiskFull, "could not write table data: %v", err)
		}
		st.newTableDirs = true
	}
	return name, nil
}

// writeSegmentFile writes rec as the segment file name (under data/),
// through a temporary file fsynced and renamed into place, and returns its
// catalog entry. It touches no state of the store but its disk quota, so
// a bulk load writes its segments without holding st.mu (stage.go).
func (st *Store) writeSegmentFile(name string, rec arrow.Record) (SegmentRef, error) {
	path := filepath.Join(st.dir, "data", name)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return SegmentRef{}, sqlerr.New(sqlerr.DiskFull, "could not write table data: %v", err)
	}
	sum := &countingHash{h: crc32.New(walCRC)}
	w, err := ipc.NewFileWriter(io.MultiWriter(st.quota.writer(f), sum), ipc.WithSchema(rec.Schema()))
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close()
	}
	if err = finishTemp(f, tmp, path, err); err != nil {
		return SegmentRef{}, sqlerr.New(sqlerr.DiskFull, "could not write table data: %v", err)
	}
	return SegmentRef{File: filepath.ToSlash(name), Size: sum.n, CRC: sum.h.Sum32(), Rows: rec.NumRows(), Zones: zonesOf(rec)}, nil
}

// countingHash hashes what is written through it and counts the bytes.
type countingHash struct {
	h hash.Hash32
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

// DataCorrupted is the error for a damaged or missing file of the data
// directory: never a wrong answer, always this.
func DataCorrupted(format string, args ...any) *sqlerr.Error {
	return sqlerr.New(sqlerr.DataCorrupted, format, args...).
		WithHint("The data directory is damaged; nothing was changed. Run `weft check --data DIR` to see what is wrong, and restore the named file from a backup.")
}

// ReadSegmentFile checks the segment ref names in dir/data against its
// checksum, size and row count and reads its record, with t's schema
// (table names the table in errors). A legacy ref is completed with the
// file's size, checksum and rows.
func ReadSegmentFile(mem memory.Allocator, dir string, ref *SegmentRef, schema *arrow.Schema, table string) (arrow.Record, error) {
	path := filepath.Join(dir, "data", filepath.FromSlash(ref.File))
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, DataCorrupted("segment file %s of table %s is missing", path, table)
	}
	if err != nil {
		return nil, sqlerr.New(sqlerr.IOError, "could not read segment file %s of table %s: %v", path, table, err)
	}
	defer f.Close()
	sum := &countingHash{h: crc32.New(walCRC)}
	if _, err := io.Copy(sum, f); err != nil {
		return nil, sqlerr.New(sqlerr.IOError, "could not read segment file %s of table %s: %v", path, table, err)
	}
	if ref.legacy {
		ref.Size, ref.CRC = sum.n, sum.h.Sum32()
	}
	if sum.n != ref.Size {
		return nil, DataCorrupted("segment file %s of table %s is damaged: %d bytes, the catalog says %d", path, table, sum.n, ref.Size)
	}
	if got := sum.h.Sum32(); got != ref.CRC {
		return nil, DataCorrupted("segment file %s of table %s is damaged: checksum %08x, the catalog says %08x", path, table, got, ref.CRC)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, sqlerr.New(sqlerr.IOError, "could not read segment file %s of table %s: %v", path, table, err)
	}
	rec, err := decodeSegment(mem, f, ref.Size, schema)
	if err != nil {
		return nil, DataCorrupted("segment file %s of table %s: %v", path, table, err)
	}
	if ref.legacy {
		ref.Rows = rec.NumRows()
	}
	if rec.NumRows() != ref.Rows {
		rec.Release()
		return nil, DataCorrupted("segment file %s of table %s holds %d rows, the catalog says %d", path, table, rec.NumRows(), ref.Rows)
	}
	return rec, nil
}

// decodeSegment reads the one record of a segment file of size bytes and
// relabels it with schema (whose column types it must have).
func decodeSegment(mem memory.Allocator, r io.ReadSeeker, size int64, schema *arrow.Schema) (arrow.Record, error) {
	rs, ok := r.(ipc.ReadAtSeeker)
	if !ok {
		return nil, errors.New("not seekable")
	}
	// the writer cuts batches to the segment target, but a single large
	// value makes a larger one: the file's size is the only sound limit
	limit := max(size, 1)
	fr, err := ipc.NewFileReader(rs, ipc.WithAllocator(mem), ipc.WithBodySizeLimit(limit), ipc.WithMetadataSizeLimit(limit))
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	if fr.NumRecords() != 1 {
		return nil, fmt.Errorf("%d batches, want 1", fr.NumRecords())
	}
	rec, err := fr.Record(0)
	if err != nil {
		return nil, err
	}
	if err := sameColumnTypes(rec.Schema(), schema); err != nil {
		return nil, err
	}
	// the reader's record lives until the reader closes: the table keeps
	// its own reference, under the table's schema
	return array.NewRecord(schema, rec.Columns(), rec.NumRows()), nil
}

// sameColumns checks that a stored batch has the table's column types.
func sameColumnTypes(got, want *arrow.Schema) error {
	if got.NumFields() != want.NumFields() {
		return fmt.Errorf("%d columns, the table has %d", got.NumFields(), want.NumFields())
	}
	for i := range want.Fields() {
		if !arrow.TypeEqual(got.Field(i).Type, want.Field(i).Type) {
			return fmt.Errorf("column %d is %s, the table's %s is %s", i+1, got.Field(i).Type, want.Field(i).Name, want.Field(i).Type)
		}
	}
	return nil
}
