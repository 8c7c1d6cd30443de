package pgwire

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5/pgproto3"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// copyOptions are a COPY statement's format settings.
type copyOptions struct {
	format    string // text, csv, binary
	header    bool
	delimiter string
	null      string
}

func parseCopyOptions(st *pg.CopyStmt) (copyOptions, error) {
	o := copyOptions{format: "text"}
	for _, n := range st.Options {
		d := n.GetDefElem()
		val := ""
		if s := d.Arg.GetString_(); s != nil {
			val = s.Sval
		}
		switch d.Defname {
		case "format":
			o.format = strings.ToLower(val)
		case "header":
			o.header = d.Arg == nil || val == "" || val == "true" || val == "on" || d.Arg.GetBoolean().GetBoolval() || d.Arg.GetInteger().GetIval() == 1
			if val == "false" || val == "off" {
				o.header = false
			}
		case "delimiter":
			o.delimiter = val
		case "null":
			o.null = val
		default:
			return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY option %s is not supported", d.Defname)
		}
	}
	if o.format != "text" && o.format != "csv" && o.format != "binary" {
		return o, sqlerr.New(sqlerr.InvalidParameter, "COPY format \"%s\" not recognized", o.format)
	}
	if o.delimiter == "" {
		o.delimiter = "\t"
		if o.format == "csv" {
			o.delimiter = ","
		}
	}
	if o.null == "" && o.format == "text" {
		o.null = `\N`
	}
	return o, nil
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
	opts, err := parseCopyOptions(st)
	if err == nil && st.Filename != "" {
		// server-side files: the session reads or writes them in its files directory
		var results []*weft.Result
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

func (c *conn) copyOut(st *pg.CopyStmt, o copyOptions) error {
	var res *weft.Result
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
	if o.format == "binary" {
		format = 1
	}
	colFormats := make([]uint16, len(res.Columns))
	for i := range colFormats {
		colFormats[i] = uint16(format)
	}
	c.backend.Send(&pgproto3.CopyOutResponse{OverallFormat: format, ColumnFormatCodes: colFormats})
	var buf bytes.Buffer
	if o.format == "binary" {
		buf.WriteString("PGCOPY\n\xff\r\n\x00")
		buf.Write(make([]byte, 8)) // flags, header extension length
	}
	if o.header && o.format == "csv" {
		names := make([]string, len(res.Columns))
		for i, col := range res.Columns {
			names[i] = col.Name
		}
		buf.WriteString(csvLine(names, o.delimiter) + "\n")
	}
	var n int64
	for _, b := range res.Batches {
		for r := 0; r < int(b.NumRows()); r++ {
			if err := writeCopyRow(&buf, b.Columns(), r, res.Columns, o); err != nil {
				return err
			}
			n++
			if buf.Len() > 64<<10 {
				c.backend.Send(&pgproto3.CopyData{Data: append([]byte(nil), buf.Bytes()...)})
				buf.Reset()
			}
		}
	}
	if o.format == "binary" {
		buf.Write([]byte{0xff, 0xff})
	}
	if buf.Len() > 0 {
		c.backend.Send(&pgproto3.CopyData{Data: buf.Bytes()})
	}
	c.backend.Send(&pgproto3.CopyDone{})
	c.backend.Send(&pgproto3.CommandComplete{CommandTag: []byte("COPY " + itoa(n))})
	return nil
}

func writeCopyRow(buf *bytes.Buffer, cols []arrow.Array, r int, meta []weft.Column, o copyOptions) error {
	if o.format == "binary" {
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
	fields := make([]string, len(cols))
	nulls := make([]bool, len(cols))
	for i, a := range cols {
		d := exec.DatumAt(a, r)
		if d == nil {
			nulls[i] = true
			continue
		}
		fields[i] = types.Format(meta[i].Type, d)
	}
	if o.format == "csv" {
		for i := range fields {
			if nulls[i] {
				fields[i] = o.null
			} else if fields[i] == "" || fields[i] == o.null {
				fields[i] = `""` // an empty string, not NULL
			}
		}
		buf.WriteString(csvLine(fields, o.delimiter) + "\n")
		return nil
	}
	for i, f := range fields {
		if i > 0 {
			buf.WriteString(o.delimiter)
		}
		if nulls[i] {
			buf.WriteString(o.null)
		} else {
			buf.WriteString(escapeText(f, o.delimiter))
		}
	}
	buf.WriteByte('\n')
	return nil
}

// csvLine quotes fields that need it; fields already quoted ("") pass.
func csvLine(fields []string, delim string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		if f != `""` && strings.ContainsAny(f, delim+"\"\r\n") {
			f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		}
		out[i] = f
	}
	return strings.Join(out, delim)
}

func escapeText(s, delim string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	s = r.Replace(s)
	if delim != "\t" {
		s = strings.ReplaceAll(s, delim, `\`+delim)
	}
	return s
}

func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			sb.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'r':
			sb.WriteByte('\r')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'v':
			sb.WriteByte('\v')
		default:
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

func (c *conn) copyIn(st *pg.CopyStmt, o copyOptions) error {
	in, err := c.sess.BeginCopyIn(st)
	if err != nil {
		return err
	}
	defer in.Abort()
	format := byte(0)
	if o.format == "binary" {
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
	switch o.format {
	case "binary":
		err = readBinaryCopy(data.Bytes(), in)
	case "csv":
		err = readCSVCopy(data.Bytes(), in, o)
	default:
		err = readTextCopy(data.Bytes(), in, o)
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

func readTextCopy(data []byte, in *weft.CopyIn, o copyOptions) error {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line == `\.` {
			continue
		}
		parts := strings.Split(line, o.delimiter)
		fields := make([]*string, len(parts))
		for i, p := range parts {
			if p == o.null {
				continue
			}
			v := unescapeText(p)
			fields[i] = &v
		}
		if err := in.AddText(fields); err != nil {
			return err
		}
	}
	return nil
}

func readCSVCopy(data []byte, in *weft.CopyIn, o copyOptions) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = rune(o.delimiter[0])
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return sqlerr.New(sqlerr.BadCopyFileFormat, "invalid CSV: %v", err)
		}
		if first && o.header {
			first = false
			continue
		}
		first = false
		if len(rec) == 1 && rec[0] == `\.` {
			continue
		}
		fields := make([]*string, len(rec))
		for i, v := range rec {
			if v == o.null {
				continue // an unquoted empty field is NULL in CSV
			}
			val := v
			fields[i] = &val
		}
		if err := in.AddText(fields); err != nil {
			return err
		}
	}
}

// readBinaryCopy reads PostgreSQL's binary COPY format (pgx's CopyFrom).
func readBinaryCopy(data []byte, in *weft.CopyIn) error {
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
			v, err := decodeParam(in.Columns[i].Type, 1, data[p:p+l])
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
