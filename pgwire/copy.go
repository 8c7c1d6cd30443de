package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func parseCopyOptions(st *pg.CopyStmt) (copyfmt.Options, error) {
	return copyfmt.ParseOptions(st, "text", "csv", "binary")
}

// copyStatement returns the COPY of a simple query made of one COPY.
func copyStatement(sql string, parse func(string) ([]*pg.RawStmt, error)) *pg.CopyStmt {
	if !strings.Contains(strings.ToLower(sql), "copy") {
		return nil
	}
	stmts, err := parse(sql)
	if err != nil || len(stmts) != 1 {
		return nil
	}
	return stmts[0].Stmt.GetCopyStmt()
}

func (c *conn) copy(st *pg.CopyStmt) {
	if c.sess.TxStatus() == 'E' {
		c.sendError(sqlerr.New(sqlerr.InFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block"))
		return
	}
	opts, err := parseCopyOptions(st)
	if err == nil && st.Filename != "" {
		// server-side files: the session reads or writes them in its files directory
		var results []*engine.Result
		err = c.run(func(ctx context.Context) error {
			var err error
			results, err = c.sess.Exec(ctx, st2sql(st))
			return err
		})
		for _, r := range results {
			c.backend.Send(&pgproto3.CommandComplete{CommandTag: []byte(r.Tag)})
			r.Release()
		}
		if err != nil {
			c.fail(err)
		}
		return
	}
	if err == nil {
		if st.IsFrom {
			err = c.copyIn(st, opts)
		} else {
			err = c.copyOut(st, opts)
		}
	}
	if err != nil {
		c.fail(err)
	}
}

func (c *conn) copyOut(st *pg.CopyStmt, o copyfmt.Options) error {
	var res *engine.Result
	err := c.run(func(ctx context.Context) error {
		var err error
		res, err = c.sess.CopyOutQuery(ctx, st)
		return err
	})
	if err != nil {
		return err
	}
	defer res.Release()
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
	for _, b := range res.Batches {
		for r := 0; r < int(b.NumRows()); r++ {
			if err := writeCopyRow(&buf, b.Columns(), r, res, o); err != nil {
				return err
			}
			n++
			if buf.Len() > 64<<10 {
				c.backend.Send(&pgproto3.CopyData{Data: append([]byte(nil), buf.Bytes()...)})
				buf.Reset()
			}
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

func (c *conn) copyIn(st *pg.CopyStmt, o copyfmt.Options) error {
	in, err := c.sess.BeginCopyIn(st)
	if err != nil {
		return err
	}
	defer in.Abort()
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
	var data bytes.Buffer
	for done := false; !done; {
		msg, err := c.backend.Receive()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			data.Write(m.Data)
		case *pgproto3.CopyDone:
			done = true
		case *pgproto3.CopyFail:
			return sqlerr.New(sqlerr.QueryCanceled, "COPY from stdin failed: %s", m.Message)
		case *pgproto3.Flush, *pgproto3.Sync:
		default:
			return sqlerr.New(sqlerr.ProtocolViolation, "unexpected message %T during COPY from stdin", msg)
		}
	}
	switch o.Format {
	case "binary":
		err = readBinaryCopy(data.Bytes(), in)
	default:
		err = readDelimitedCopy(data.Bytes(), in, o)
	}
	if err != nil {
		return err
	}
	n, err := in.Commit()
	if err != nil {
		return err
	}
	c.backend.Send(&pgproto3.CommandComplete{CommandTag: []byte("COPY " + itoa(n))})
	return nil
}

// readDelimitedCopy reads text or CSV COPY data.
func readDelimitedCopy(data []byte, in *engine.CopyIn, o copyfmt.Options) error {
	r := copyfmt.NewReader(bytes.NewReader(data), o)
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

// readBinaryCopy reads PostgreSQL's binary COPY format (pgx's CopyFrom).
func readBinaryCopy(data []byte, in *engine.CopyIn) error {
	bad := func(what string) error {
		return sqlerr.New(sqlerr.BadCopyFileFormat, "invalid binary COPY data: %s", what)
	}
	const sig = "PGCOPY\n\xff\r\n\x00"
	if len(data) < len(sig)+8 || string(data[:len(sig)]) != sig {
		return bad("missing signature")
	}
	p := len(sig) + 4
	ext := int(binary.BigEndian.Uint32(data[p:]))
	p += 4 + ext
	for {
		if p == len(data) {
			return nil // the trailer is optional at the end of the data
		}
		if p+2 > len(data) {
			return bad("truncated tuple")
		}
		n := int(int16(binary.BigEndian.Uint16(data[p:])))
		p += 2
		if n == -1 {
			return nil
		}
		if n != len(in.Columns) {
			return bad("wrong field count")
		}
		vals := make([]types.Datum, n)
		for i := 0; i < n; i++ {
			if p+4 > len(data) {
				return bad("truncated field")
			}
			l := int(int32(binary.BigEndian.Uint32(data[p:])))
			p += 4
			if l == -1 {
				continue
			}
			if l < 0 || p+l > len(data) {
				return bad("field length out of range")
			}
			v, err := decodeParam(in.Columns[i].Type, 1, data[p:p+l], nil)
			if err != nil {
				return err
			}
			vals[i] = v
			p += l
		}
		if err := in.AddRow(vals); err != nil {
			return err
		}
	}
}

// st2sql renders a COPY statement back to SQL for the session.
func st2sql(st *pg.CopyStmt) string {
	out, err := parser.Deparse(&pg.Node{Node: &pg.Node_CopyStmt{CopyStmt: st}})
	if err != nil {
		return ""
	}
	return out
}
