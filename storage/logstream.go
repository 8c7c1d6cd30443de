package storage

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// A layout entry holds each new batch (or the rows of an edit) as an Arrow
// IPC stream of one batch: the schema's message, the batch's, the end of
// stream marker. A commit writes a few such streams of the same tables,
// and ipc.Writer encodes the schema afresh for each (a good part of the
// entry's cost for a one-row UPDATE), so the store keeps the encoded
// schema message of the last schema it wrote and writes the stream
// itself: the same bytes ipc.Writer writes (TestLogStreamMatchesIPCWriter),
// read back by ipc.NewReader as before. Schemas with dictionaries, whose
// streams carry dictionary batches too, go through ipc.Writer.

// schemaMessage is a schema's encoded message, and the end of stream
// marker that follows the batch.
type schemaMessage struct {
	schema   *arrow.Schema
	msg, eos []byte
	// dictionary: the schema has dictionary-encoded fields, whose streams
	// ipc.Writer writes (msg and eos are not kept)
	dictionary bool
}

// streamEncoder writes one-batch streams (its cache of schema messages is
// the store's, used under its lock).
type streamEncoder struct {
	// recent are the schemas written last, the latest first (a commit
	// writes batches of the few tables it changed)
	recent []*schemaMessage
	// batch encodes the batch messages of plain columns (batchmsg.go)
	batch batchEncoder
}

// recentSchemas is how many schema messages the encoder keeps.
const recentSchemas = 16

// write appends rec as a one-batch IPC stream to w.
func (e *streamEncoder) write(w *bytes.Buffer, rec arrow.Record) error {
	sm, err := e.messageOf(rec.Schema())
	if err != nil {
		return err
	}
	if sm.dictionary {
		return writeWithIPCWriter(w, rec)
	}
	if e.batch.encode(rec) {
		w.Write(sm.msg)
		e.batch.writeTo(w, rec.NumRows())
		w.Write(sm.eos)
		return nil
	}
	return writeWithPayload(w, sm, rec)
}

// writeWithPayload appends rec as a one-batch stream of schema message
// sm, its batch message encoded by arrow.
func writeWithPayload(w *bytes.Buffer, sm *schemaMessage, rec arrow.Record) error {
	p, err := ipc.GetRecordBatchPayload(rec)
	if err != nil {
		return err
	}
	defer p.Release()
	w.Write(sm.msg)
	if _, err := p.WritePayload(w); err != nil {
		return err
	}
	w.Write(sm.eos)
	return nil
}

// messageOf is schema's encoded message, from the cache when a schema
// written recently is the same (metadata included).
func (e *streamEncoder) messageOf(schema *arrow.Schema) (*schemaMessage, error) {
	for i, c := range e.recent {
		if c.schema == schema || c.schema.Equal(schema) && c.schema.Metadata().Equal(schema.Metadata()) {
			copy(e.recent[1:i+1], e.recent[:i]) // (the latest first)
			e.recent[0] = c
			return c, nil
		}
	}
	if hasDictionary(schema) {
		return e.remember(&schemaMessage{schema: schema, dictionary: true}), nil
	}
	// a stream without batches is the schema's message and the marker
	var buf bytes.Buffer
	iw := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := iw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	if len(raw) < len(endOfStream) || !bytes.Equal(raw[len(raw)-len(endOfStream):], endOfStream) {
		return nil, fmt.Errorf("an empty IPC stream of %d bytes does not end with the end of stream marker", len(raw))
	}
	n := len(raw) - len(endOfStream)
	return e.remember(&schemaMessage{schema: schema, msg: raw[:n:n], eos: raw[n:]}), nil
}

// remember puts c first among the recent schemas, forgetting the oldest
// when they are too many.
func (e *streamEncoder) remember(c *schemaMessage) *schemaMessage {
	if len(e.recent) < recentSchemas {
		e.recent = append(e.recent, nil)
	}
	copy(e.recent[1:], e.recent)
	e.recent[0] = c
	return c
}

// endOfStream is what ends an IPC stream: the continuation marker and a
// zero length.
var endOfStream = []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}

// writeWithIPCWriter appends rec as a one-batch stream through ipc.Writer.
func writeWithIPCWriter(w *bytes.Buffer, rec arrow.Record) error {
	iw := ipc.NewWriter(w, ipc.WithSchema(rec.Schema()))
	if err := iw.Write(rec); err != nil {
		iw.Close()
		return err
	}
	return iw.Close()
}

// hasDictionary reports whether any field of schema, at any depth, is
// dictionary-encoded.
func hasDictionary(schema *arrow.Schema) bool {
	for _, f := range schema.Fields() {
		if typeHasDictionary(f.Type) {
			return true
		}
	}
	return false
}

func typeHasDictionary(t arrow.DataType) bool {
	if t.ID() == arrow.DICTIONARY {
		return true
	}
	if n, ok := t.(arrow.NestedType); ok {
		for _, f := range n.Fields() {
			if typeHasDictionary(f.Type) {
				return true
			}
		}
	}
	return false
}
