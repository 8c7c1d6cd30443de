package storage

import (
	"bytes"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/flatbuffers/go"
)

// A log entry's batch message was ipc.GetRecordBatchPayload's, which
// builds a new flatbuffer (and allocates its buffers and payload) for
// every batch: a few percent of a pgbench transaction's CPU for one
// changed row. batchEncoder writes the same bytes for the batches the
// log mostly holds — top-level columns of fixed width, booleans, strings
// and binaries, no batch metadata — reusing its builder and
// buffers from one batch to the next; anything else goes through
// ipc.GetRecordBatchPayload as before. TestLogStreamMatchesIPCWriter
// compares the two byte for byte.

// Arrow's format constants (its flatbuf package is internal).
const (
	metadataVersionV5  = 4  // MetadataVersion.V5
	headerRecordBatch  = 3  // MessageHeader.RecordBatch
	bufferAlignment    = 64 // arrow's kArrowAlignment: what buffers are padded to in memory
	ipcAlignment       = 8  // what messages and body buffers are padded to in a stream
	continuationMarker = 0xFFFFFFFF
)

// batchEncoder encodes one batch message at a time (used under the
// store's lock, as its streamEncoder).
type batchEncoder struct {
	fb    *flatbuffers.Builder
	nodes []fieldNode
	body  [][]byte // the body's buffers (nil: empty)
	// scratch holds the buffers made here (bitmaps cut to their
	// batch, offsets shifted to zero) until the batch is written
	scratch []byte
}

type fieldNode struct{ length, nulls int64 }

// encode prepares rec's batch message; false when rec is not one this
// encoder writes (then nothing is prepared).
func (e *batchEncoder) encode(rec arrow.Record) bool {
	if rm, ok := rec.(arrow.RecordBatchWithMetadata); ok && rm.Metadata().Len() > 0 {
		return false
	}
	e.nodes, e.body, e.scratch = e.nodes[:0], e.body[:0], e.scratch[:0]
	for _, col := range rec.Columns() {
		if !e.column(col) {
			return false
		}
	}
	return true
}

// column adds one column's field node and buffers as arrow's record
// encoder does (recordEncoder.visit); false for a column it does not.
func (e *batchEncoder) column(col arrow.Array) bool {
	data := col.Data()
	if len(data.Children()) > 0 {
		return false
	}
	off, n := int64(data.Offset()), int64(col.Len())
	bufs := data.Buffers()
	switch dt := col.DataType().(type) {
	case *arrow.BooleanType:
		if len(bufs) != 2 || n != 0 && !holdsBits(bufs[1], off, n) || !e.addNode(col) {
			return false
		}
		var values []byte
		if n != 0 {
			values = e.truncatedBitmap(bufs[1], off, n)
		}
		e.body = append(e.body, values)
	case *arrow.StringType, *arrow.BinaryType:
		if len(bufs) != 3 {
			return false
		}
		offsets, values, ok := e.zeroBasedValues(bufs[1], bufs[2], off, n)
		if !ok || !e.addNode(col) {
			return false
		}
		e.body = append(e.body, offsets, values)
	case arrow.FixedWidthDataType:
		if !plainFixedWidth[dt.ID()] || len(bufs) != 2 {
			return false
		}
		values, ok := fixedWidthValues(bufs[1], off, n, int64(dt.BitWidth()/8))
		if !ok || !e.addNode(col) {
			return false
		}
		e.body = append(e.body, values)
	default:
		return false
	}
	return true
}

// plainFixedWidth are the fixed-width types whose columns are a validity
// bitmap and a buffer of values.
var plainFixedWidth = map[arrow.Type]bool{
	arrow.INT8: true, arrow.INT16: true, arrow.INT32: true, arrow.INT64: true,
	arrow.UINT8: true, arrow.UINT16: true, arrow.UINT32: true, arrow.UINT64: true,
	arrow.FLOAT16: true, arrow.FLOAT32: true, arrow.FLOAT64: true,
	arrow.DATE32: true, arrow.DATE64: true, arrow.TIME32: true, arrow.TIME64: true,
	arrow.TIMESTAMP: true, arrow.DURATION: true,
	arrow.DECIMAL128: true, arrow.DECIMAL256: true,
	arrow.INTERVAL_MONTHS: true, arrow.INTERVAL_DAY_TIME: true, arrow.INTERVAL_MONTH_DAY_NANO: true,
	arrow.FIXED_SIZE_BINARY: true,
}

// addNode adds col's field node and validity buffer: none without NULLs,
// zeros when every value is NULL, the bitmap cut to the column's bits
// otherwise; false for a bitmap shorter than the column.
func (e *batchEncoder) addNode(col arrow.Array) bool {
	data := col.Data()
	off, n, nulls := int64(data.Offset()), int64(col.Len()), int64(col.NullN())
	var validity []byte
	switch {
	case nulls == 0:
	case nulls == n:
		validity = e.zeros(paddedTo(bitutil.BytesForBits(n), bufferAlignment))
	default:
		if !holdsBits(data.Buffers()[0], off, n) {
			return false
		}
		validity = e.truncatedBitmap(data.Buffers()[0], off, n)
	}
	e.nodes = append(e.nodes, fieldNode{length: n, nulls: nulls})
	e.body = append(e.body, validity)
	return true
}

// holdsBits reports whether buf has bits off to off+n.
func holdsBits(buf *memory.Buffer, off, n int64) bool {
	return buf != nil && int64(buf.Len()) >= bitutil.BytesForBits(off+n)
}

// truncatedBitmap is n bits of a bitmap from bit off as arrow writes
// them: the buffer as it is when they start it and it is no longer than
// they take padded to 64 bytes, otherwise those padded bytes holding the
// bits and zeros after them.
func (e *batchEncoder) truncatedBitmap(buf *memory.Buffer, off, n int64) []byte {
	if buf == nil {
		return nil
	}
	raw := buf.Bytes()
	minLength := paddedTo(bitutil.BytesForBits(n), bufferAlignment)
	if off == 0 && minLength >= int64(len(raw)) {
		return raw
	}
	out := e.zeros(minLength)
	bitutil.CopyBitmap(raw, int(off), int(n), out, 0)
	return out
}

// zeros is n zero bytes from the encoder's scratch space.
func (e *batchEncoder) zeros(n int64) []byte {
	start := len(e.scratch)
	for range n {
		e.scratch = append(e.scratch, 0)
	}
	return e.scratch[start : start+int(n) : start+int(n)]
}

// fixedWidthValues is the values of a fixed-width column of n values of
// width bytes from value off as arrow writes them: the buffer as it is
// when they start it and it is no longer than they take padded to 64
// bytes, otherwise those bytes rounded up to 8 (as far as the buffer
// goes); false for a buffer too short.
func fixedWidthValues(buf *memory.Buffer, off, n, width int64) ([]byte, bool) {
	if buf == nil {
		return nil, true
	}
	raw := buf.Bytes()
	start, used := off*width, n*width
	if start+used > int64(len(raw)) {
		return nil, false
	}
	if off == 0 && paddedTo(used, bufferAlignment) >= int64(len(raw)) {
		return raw, true
	}
	return raw[start : start+min(bitutil.CeilByte64(used), int64(len(raw))-start)], true
}

// zeroBasedValues is a string or binary column's offsets and values as
// arrow writes them: n+1 offsets from the first (shifted to start at zero
// when they do not), the values they cover; false for buffers too short.
func (e *batchEncoder) zeroBasedValues(offsetBuf, valueBuf *memory.Buffer, off, n int64) (offsets, values []byte, ok bool) {
	var first, last int64
	if offsetBuf != nil && offsetBuf.Len() > 0 {
		raw := offsetBuf.Bytes()
		if int64(len(raw)) < 4*(off+n+1) {
			return nil, nil, false
		}
		at := func(i int64) int64 { return int64(int32(binary.LittleEndian.Uint32(raw[4*i:]))) }
		first, last = at(off), at(off+n)
		switch {
		case first != 0:
			offsets = e.zeros(4 * (n + 1))
			for i := range n + 1 {
				binary.LittleEndian.PutUint32(offsets[4*i:], uint32(at(off+i)-first))
			}
		case off != 0 || 4*(n+1) < int64(len(raw)):
			offsets = raw[4*off : 4*(off+n+1)]
		default:
			offsets = raw
		}
	}
	if valueBuf != nil {
		values = valueBuf.Bytes()
		if offsets == nil {
			first, last = 0, 0
		}
		if first < 0 || last < first || last > int64(len(values)) {
			return nil, nil, false
		}
		if used := last - first; off != 0 || used < int64(len(values)) {
			begin := first
			if n == 0 {
				begin = 0 // (as arrow: no value, nothing skipped)
			}
			values = values[begin : begin+used]
		}
	}
	return offsets, values, true
}

func paddedTo(n, align int64) int64 { return (n + align - 1) / align * align }

// writeTo appends the prepared batch's message and body to w, as
// ipc.Payload.WritePayload does.
func (e *batchEncoder) writeTo(w *bytes.Buffer, rows int64) {
	var bodyLen int64
	for _, b := range e.body {
		bodyLen += bitutil.CeilByte64(int64(len(b)))
	}
	meta := e.message(rows, bodyLen)
	padded := paddedTo(int64(len(meta))+8, ipcAlignment)
	var head [8]byte
	binary.LittleEndian.PutUint32(head[:4], continuationMarker)
	binary.LittleEndian.PutUint32(head[4:], uint32(padded-8))
	w.Write(head[:])
	w.Write(meta)
	writePadding(w, padded-8-int64(len(meta)))
	for _, b := range e.body {
		w.Write(b)
		writePadding(w, bitutil.CeilByte64(int64(len(b)))-int64(len(b)))
	}
}

func writePadding(w *bytes.Buffer, n int64) {
	var zeros [ipcAlignment]byte
	w.Write(zeros[:n])
}

// message is the batch's flatbuffer Message, built in the order arrow's
// recordToFB and writeMessageFB build it.
func (e *batchEncoder) message(rows, bodyLen int64) []byte {
	if e.fb == nil {
		e.fb = flatbuffers.NewBuilder(1024)
	}
	b := e.fb
	b.Reset()
	b.StartVector(16, len(e.nodes), 8)
	for i := len(e.nodes) - 1; i >= 0; i-- {
		b.Prep(8, 16)
		b.PrependInt64(e.nodes[i].nulls)
		b.PrependInt64(e.nodes[i].length)
	}
	nodes := b.EndVector(len(e.nodes))
	b.StartVector(16, len(e.body), 8)
	start := bodyLen // (buffers are prepended: from the last to the first)
	for i := len(e.body) - 1; i >= 0; i-- {
		size := int64(len(e.body[i]))
		start -= bitutil.CeilByte64(size)
		b.Prep(8, 16)
		b.PrependInt64(size)
		b.PrependInt64(start)
	}
	buffers := b.EndVector(len(e.body))
	b.StartObject(5) // RecordBatch
	b.PrependInt64Slot(0, rows, 0)
	b.PrependUOffsetTSlot(1, nodes, 0)
	b.PrependUOffsetTSlot(2, buffers, 0)
	batch := b.EndObject()
	b.StartObject(5) // Message
	b.PrependInt16Slot(0, metadataVersionV5, 0)
	b.PrependByteSlot(1, headerRecordBatch, 0)
	b.PrependUOffsetTSlot(2, batch, 0)
	b.PrependInt64Slot(3, bodyLen, 0)
	b.PrependUOffsetTSlot(4, 0, 0)
	b.Finish(b.EndObject())
	return b.FinishedBytes()
}
