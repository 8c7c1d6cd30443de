package pgwire

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// copyOut sends a COPY … TO STDOUT's rows as COPY data, as the query
// computes them.
func (c *conn) copyOut(ctx context.Context, res *engine.Result) error {
	o := *res.Copy
	format := byte(0)
	if o.Format == "binary" {
		format = 1
	}
	colFormats := make([]uint16, len(res.Columns))
	for i := range colFormats {
		colFormats[i] = uint16(format)
	}
	c.backend.Send(&pgproto3.CopyOutResponse{OverallFormat: format, ColumnFormatCodes: colFormats})
	var buf bytes.Buffer
	if o.Format == "binary" {
		buf.WriteString("PGCOPY\n\xff\r\n\x00")
		buf.Write(make([]byte, 8)) // flags, header extension length
	}
	if o.Header && o.Format != "binary" {
		names := make([]*string, len(res.Columns))
		for i := range res.Columns {
			names[i] = &res.Columns[i].Name
		}
		copyfmt.AppendRow(&buf, names, o)
	}
	var n int64
	for {
		b, err := res.Next(ctx)
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		for r := 0; r < int(b.NumRows()); r++ {
			if err := writeCopyRow(&buf, b.Columns(), r, res, o); err != nil {
				b.Release()
				return err
			}
			n++
			if buf.Len() > 64<<10 {
				c.backend.Send(&pgproto3.CopyData{Data: append([]byte(nil), buf.Bytes()...)})
				buf.Reset()
			}
		}
		b.Release()
		if err := c.backend.Flush(); err != nil {
			return err
		}
	}
	if o.Format == "binary" {
		buf.Write([]byte{0xff, 0xff})
	}
	if buf.Len() > 0 {
		c.backend.Send(&pgproto3.CopyData{Data: buf.Bytes()})
	}
	c.backend.Send(&pgproto3.CopyDone{})
	c.backend.Send(&pgproto3.CommandComplete{CommandTag: []byte("COPY " + itoa(n))})
	return nil
}

func writeCopyRow(buf *bytes.Buffer, cols []arrow.Array, r int, res *engine.Result, o copyfmt.Options) error {
	meta := res.Columns
	if o.Format == "binary" {
		buf.Write(binary.BigEndian.AppendUint16(nil, uint16(len(cols))))
		for i, a := range cols {
			d := exec.DatumAt(a, r)
			if d == nil {
				buf.Write([]byte{0xff, 0xff, 0xff, 0xff})
				continue
			}
			v, err := encodeBinary(meta[i].Type, d)
			if err != nil {
				return err
			}
			buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v))))
			buf.Write(v)
		}
		return nil
	}
	fields := make([]*string, len(cols))
	for i, a := range cols {
		if d := exec.DatumAt(a, r); d != nil {
			v := res.FormatValue(i, d)
			fields[i] = &v
		}
	}
	copyfmt.AppendRow(buf, fields, o)
	return nil
}

// copyIn runs the script's next statement, a COPY … FROM STDIN: it reads
// the client's COPY data and stores the rows in one step.
func (c *conn) copyIn(sc *engine.Script) error {
	in, err := sc.CopyIn()
	if err != nil {
		return err
	}
	if err := c.receiveCopy(in); err != nil {
		return in.Fail(err)
	}
	n, err := in.Commit()
	if err != nil {
		return err
	}
	c.backend.Send(&pgproto3.CommandComplete{CommandTag: []byte("COPY " + itoa(n))})
	return nil
}

// receiveCopy reads the client's COPY data into in.
func (c *conn) receiveCopy(in *engine.CopyIn) error {
	o := in.Options
	format := byte(0)
	if o.Format == "binary" {
		format = 1
	}
	colFormats := make([]uint16, len(in.Columns))
	for i := range colFormats {
		colFormats[i] = uint16(format)
	}
	c.backend.Send(&pgproto3.CopyInResponse{OverallFormat: format, ColumnFormatCodes: colFormats})
	if err := c.backend.Flush(); err != nil {
		return err
	}
	// rows are parsed as the data comes, so that a load staging its rows
	// to disk (engine's bulkload.go) never holds the whole of the
	// client's data either
	stream := &copyStream{c: c}
	var err error
	if o.Format == "binary" {
		err = readBinaryCopy(stream, in)
	} else {
		err = readDelimitedCopy(stream, in, o)
	}
	if derr := stream.drain(); derr != nil {
		err = derr // the client gave up, or the connection broke: that is why
	}
	return err
}

// copyStream reads the client's COPY data messages as one stream, up to
// CopyDone (io.EOF); CopyFail and anything unexpected are its errors.
type copyStream struct {
	c    *conn
	cur  []byte // the rest of the message being read (the backend's buffer)
	done bool   // CopyDone, CopyFail or a broken connection was seen
	err  error  // what ended it, when not CopyDone
}

func (cs *copyStream) Read(p []byte) (int, error) {
	for len(cs.cur) == 0 {
		if cs.done {
			if cs.err != nil {
				return 0, cs.err
			}
			return 0, io.EOF
		}
		cs.next()
	}
	n := copy(p, cs.cur)
	cs.cur = cs.cur[n:]
	return n, nil
}

// next receives the next message of the COPY.
func (cs *copyStream) next() {
	msg, err := cs.c.backend.Receive()
	if err != nil {
		cs.done, cs.err = true, err
		return
	}
	switch m := msg.(type) {
	case *pgproto3.CopyData:
		cs.cur = m.Data
	case *pgproto3.CopyDone:
		cs.done = true
	case *pgproto3.CopyFail:
		cs.done, cs.err = true, sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", m.Message)
	case *pgproto3.Flush, *pgproto3.Sync:
	default:
		cs.done, cs.err = true, sqlerr.New(sqlerr.ProtocolViolation, "unexpected message %T during COPY from stdin", msg)
	}
}

// drain reads what the client still sends of a COPY that ended early (a
// bad row), as PostgreSQL does, so that the next message read is the
// one after it; it returns the error that ended the stream, if any.
func (cs *copyStream) drain() error {
	for !cs.done {
		cs.cur = nil
		cs.next()
	}
	cs.cur = nil
	return cs.err
}

// readDelimitedCopy reads text or CSV COPY data.
func readDelimitedCopy(data io.Reader, in *engine.CopyIn, o copyfmt.Options) error {
	r := copyfmt.NewReader(data, o)
	for {
		fields, line, err := r.ReadFields()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := in.AddFields(fields, "", line); err != nil {
			return err
		}
	}
}

// readBinaryCopy reads PostgreSQL's binary COPY format (pgx's CopyFrom)
// as it comes, a tuple at a time.
func readBinaryCopy(data io.Reader, in *engine.CopyIn) error {
	bad := func(what string) error {
		return sqlerr.New(sqlerr.BadCopyFileFormat, "invalid binary COPY data: %s", what)
	}
	r := bufio.NewReaderSize(data, 1<<16)
	const sig = "PGCOPY\n\xff\r\n\x00"
	head := make([]byte, len(sig)+8)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:len(sig)]) != sig {
		return readFailure(err, bad("missing signature"))
	}
	ext := int64(binary.BigEndian.Uint32(head[len(sig)+4:]))
	if n, err := io.CopyN(io.Discard, r, ext); n != ext {
		return readFailure(err, bad("truncated header extension"))
	}
	var word [4]byte
	var field []byte
	for {
		got, err := io.ReadFull(r, word[:2])
		if got == 0 && errors.Is(err, io.EOF) {
			return nil // the trailer is optional at the end of the data
		}
		if err != nil {
			return readFailure(err, bad("truncated tuple"))
		}
		n := int(int16(binary.BigEndian.Uint16(word[:2])))
		if n == -1 {
			return nil
		}
		if n != len(in.Columns) {
			return bad("wrong field count")
		}
		vals := make([]types.Datum, n)
		for i := 0; i < n; i++ {
			if _, err := io.ReadFull(r, word[:4]); err != nil {
				return readFailure(err, bad("truncated field"))
			}
			l := int(int32(binary.BigEndian.Uint32(word[:4])))
			if l == -1 {
				continue
			}
			if l < 0 || l > maxCopyField {
				return bad("field length out of range")
			}
			// (reused: AddRow copies the values into its batch)
			if cap(field) < l {
				field = make([]byte, l)
			}
			field = field[:l]
			if _, err := io.ReadFull(r, field); err != nil {
				return readFailure(err, bad("field length out of range"))
			}
			v, err := decodeParam(in.Columns[i].Type, 1, field, nil)
			if err != nil {
				return err
			}
			vals[i] = v
		}
		if err := in.AddRow(vals); err != nil {
			return err
		}
	}
}

// maxCopyField bounds one field of binary COPY data (PostgreSQL's limit
// of a value, 1 GB), so a damaged length cannot ask for more memory.
const maxCopyField = 1 << 30

// readFailure is the error of a read of COPY data that came up short: the
// stream's own (the client gave up, the connection broke), or, when the
// data just ended, what is missing.
func readFailure(err, missing error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return missing
	}
	return err
}
