package spill

import (
	"bufio"
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// fileError is PostgreSQL's error for a temporary file that could not be
// written or read: 53100 when the disk is full, 58030 otherwise.
func fileError(verb string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return sqlerr.New(sqlerr.DiskFull, "could not %s temporary file: No space left on device", verb)
	}
	return sqlerr.New(sqlerr.IOError, "could not %s temporary file: %v", verb, err)
}

// bufferSize is the write and read buffer of a spill file: large enough
// that the system calls do not dominate, small next to any budget.
const bufferSize = 64 << 10

// Writer writes record batches of one schema to a new spill file.
type Writer struct {
	q    *Query
	f    *os.File
	buf  *bufio.Writer
	n    *countingWriter
	ipcw *ipc.Writer
	rows int64
}

// countingWriter counts what goes through it: the bytes spilled.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter starts a spill file for batches of schema.
func (q *Query) NewWriter(schema *arrow.Schema, mem memory.Allocator) (*Writer, error) {
	return q.NewWriterBuffered(schema, mem, bufferSize)
}

// PartitionBufferSize is the write buffer of one of many partition files
// written at once (a hash aggregation's or join's): their buffers add up.
const PartitionBufferSize = 16 << 10

// NewWriterBuffered is NewWriter with a write buffer of size bytes.
func (q *Query) NewWriterBuffered(schema *arrow.Schema, mem memory.Allocator, size int) (*Writer, error) {
	f, err := q.create()
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriterSize(f, size)
	n := &countingWriter{w: buf}
	opts := []ipc.Option{ipc.WithSchema(schema), ipc.WithAllocator(mem)}
	if q.Compress {
		opts = append(opts, ipc.WithLZ4())
	}
	return &Writer{q: q, f: f, buf: buf, n: n, ipcw: ipc.NewWriter(n, opts...)}, nil
}

// Write appends one batch.
func (w *Writer) Write(rec arrow.Record) error {
	before := w.n.n
	if err := w.ipcw.Write(rec); err != nil {
		return fileError("write", err)
	}
	w.rows += rec.NumRows()
	w.q.written.Add(w.n.n - before)
	return nil
}

// Finish ends the file; it is then read back with File.Open.
func (w *Writer) Finish() (*File, error) {
	before := w.n.n
	err := w.ipcw.Close() // writes the end-of-stream marker
	w.q.written.Add(w.n.n - before)
	if err == nil {
		err = w.buf.Flush()
	}
	if err != nil {
		w.Abandon()
		return nil, fileError("write", err)
	}
	return &File{f: w.f, bytes: w.n.n, rows: w.rows}, nil
}

// Abandon removes a file that will not be finished.
func (w *Writer) Abandon() {
	w.ipcw.Close()
	removeFile(w.f)
}

func removeFile(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// File is a finished spill file.
type File struct {
	f     *os.File
	bytes int64
	rows  int64
}

// Bytes is the file's size; Rows how many rows it holds.
func (f *File) Bytes() int64 { return f.bytes }
func (f *File) Rows() int64  { return f.rows }

// Remove deletes the file (a Reader open on it must be closed first).
func (f *File) Remove() { removeFile(f.f) }

// Open reads the file's batches from the start; their memory comes from
// mem.
func (f *File) Open(mem memory.Allocator) (*Reader, error) {
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return nil, fileError("read", err)
	}
	r, err := ipc.NewReader(bufio.NewReaderSize(f.f, bufferSize), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fileError("read", err)
	}
	return &Reader{r: r}, nil
}

// OpenShared reads the file's batches from the start through a
// descriptor of its own, so that several readers may read it at once
// (a worker's map output, asked for by several reduce tasks); the file
// may be removed while they read.
func (f *File) OpenShared(mem memory.Allocator) (*Reader, error) {
	own, err := os.Open(f.f.Name())
	if err != nil {
		return nil, fileError("read", err)
	}
	r, err := ipc.NewReader(bufio.NewReaderSize(own, bufferSize), ipc.WithAllocator(mem))
	if err != nil {
		own.Close()
		return nil, fileError("read", err)
	}
	return &Reader{r: r, own: own}, nil
}

// Reader yields a spill file's batches in the order they were written.
type Reader struct {
	r   *ipc.Reader
	own *os.File // the descriptor of a shared reader (OpenShared)
}

// Next is the next batch, which the caller releases; io.EOF at the end.
func (r *Reader) Next() (arrow.Record, error) {
	rec, err := r.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fileError("read", err)
	}
	rec.Retain()
	return rec, nil
}

// Close releases what the reader holds.
func (r *Reader) Close() {
	r.r.Release()
	if r.own != nil {
		r.own.Close()
	}
}
