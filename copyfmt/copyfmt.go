// Package copyfmt reads and writes the rows of PostgreSQL's COPY text and
// CSV formats, for COPY over the wire protocol and COPY to and from files
// alike. Text format escapes with backslashes and spells NULL \N; CSV
// quotes with double quotes, and an unquoted empty field is NULL while a
// quoted one ("") is an empty string.
package copyfmt

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Options are a COPY statement's WITH (…) options.
type Options struct {
	Format    string // text, csv, binary, parquet, arrow, json
	Header    bool
	Delimiter byte
	Null      string // the spelling of NULL
}

// ParseOptions reads a COPY statement's options; formats lists the
// formats the caller can handle.
func ParseOptions(st *pg.CopyStmt, formats ...string) (Options, error) {
	o := Options{Format: "text"}
	var delimiter, null *string
	for _, n := range st.Options {
		d := n.GetDefElem()
		val := d.Arg.GetString_().GetSval()
		switch d.Defname {
		case "format":
			o.Format = strings.ToLower(val)
		case "header":
			o.Header = d.Arg == nil || d.Arg.GetBoolean().GetBoolval() || d.Arg.GetInteger().GetIval() == 1
			switch strings.ToLower(val) {
			case "true", "on":
				o.Header = true
			}
		case "delimiter":
			delimiter = &val
		case "null":
			null = &val
		case "freeze":
			// rows are visible at once anyway: Weft keeps no per-row
			// visibility to freeze (pgbench -i asks for it)
		case "quote", "escape":
			if val != `"` {
				return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY %s other than '\"' is not supported yet", strings.ToUpper(d.Defname))
			}
		default:
			return o, sqlerr.New(sqlerr.FeatureNotSupported, "COPY option %s is not supported", d.Defname)
		}
	}
	known := false
	for _, f := range formats {
		known = known || f == o.Format
	}
	if !known {
		return o, sqlerr.New(sqlerr.InvalidParameter, "COPY format \"%s\" not recognized", o.Format)
	}
	o.Delimiter, o.Null = '\t', `\N`
	if o.Format == "csv" {
		o.Delimiter, o.Null = ',', ""
	}
	if delimiter != nil {
		if len(*delimiter) != 1 || strings.ContainsAny(*delimiter, "\r\n\"\\") {
			return o, sqlerr.New(sqlerr.InvalidParameter, "COPY delimiter must be a single one-byte character other than a quote, backslash or newline")
		}
		o.Delimiter = (*delimiter)[0]
	}
	if null != nil {
		o.Null = *null
	}
	return o, nil
}

// Reader reads rows of text or CSV COPY data.
type Reader struct {
	r       *bufio.Reader
	o       Options
	line    int // lines read so far
	started bool

	fields []Field   // the row ReadFields returns
	spans  [][2]int  // each field's bytes in arena (CSV's and escapes' slow path)
	nulls  []bool    // per span: NULL
	arena  []byte    // unescaped or unquoted field bytes
	long   []byte    // a line longer than the read buffer, or a CSV record over several lines
	strs   []*string // the row Read returns
}

// Field is one field of a row: its bytes, valid until the next read, or
// NULL.
type Field struct {
	Value []byte
	Null  bool
}

// NewReader reads COPY data in o's format (text or csv) from r.
func NewReader(r io.Reader, o Options) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<16), o: o}
}

// Read returns the next row's fields (nil for NULL) and the line it starts
// on; io.EOF after the last row (or the end marker \.). The slice is
// reused by the next Read.
func (r *Reader) Read() ([]*string, int, error) {
	fields, line, err := r.ReadFields()
	if err != nil {
		return nil, line, err
	}
	r.strs = r.strs[:0]
	for _, f := range fields {
		if f.Null {
			r.strs = append(r.strs, nil)
			continue
		}
		v := string(f.Value)
		r.strs = append(r.strs, &v)
	}
	return r.strs, line, nil
}

// ReadFields is Read without a string per field: the fields' bytes point
// into the reader's buffers and stay valid until the next read.
func (r *Reader) ReadFields() ([]Field, int, error) {
	for {
		fields, line, err := r.readRow()
		if err != nil {
			return nil, line, err
		}
		if !r.started {
			r.started = true
			if r.o.Header {
				continue
			}
		}
		return fields, line, nil
	}
}

// readLine returns the next line without its line break; it points into
// the read buffer (or r.long) and is valid until the next read.
func (r *Reader) readLine() ([]byte, error) {
	s, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.long = append(r.long[:0], s...)
		for err == bufio.ErrBufferFull {
			s, err = r.r.ReadSlice('\n')
			r.long = append(r.long, s...)
		}
		s = r.long
	}
	if err == io.EOF && len(s) > 0 {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	r.line++
	s = bytes.TrimSuffix(s, []byte("\n"))
	return bytes.TrimSuffix(s, []byte("\r")), nil
}

func (r *Reader) readRow() ([]Field, int, error) {
	s, err := r.readLine()
	if err != nil {
		return nil, r.line, err
	}
	if len(s) == 2 && s[0] == '\\' && s[1] == '.' {
		return nil, r.line, io.EOF
	}
	if r.o.Format == "csv" {
		return r.csvRow(s)
	}
	return r.textRow(s), r.line, nil
}

// textRow splits a text-format line at unescaped delimiters.
func (r *Reader) textRow(s []byte) []Field {
	fields := r.fields[:0]
	r.arena = r.arena[:0]
	if cap(r.arena) < len(s) {
		r.arena = make([]byte, 0, 2*len(s)) // unescaping never grows a value
	}
	start := 0
	add := func(raw []byte) {
		switch {
		case string(raw) == r.o.Null:
			fields = append(fields, Field{Null: true})
		case bytes.IndexByte(raw, '\\') < 0:
			fields = append(fields, Field{Value: raw})
		default:
			from := len(r.arena)
			r.arena = appendUnescaped(r.arena, raw)
			fields = append(fields, Field{Value: r.arena[from:len(r.arena):len(r.arena)]})
		}
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case r.o.Delimiter:
			add(s[start:i])
			start = i + 1
		}
	}
	add(s[start:])
	r.fields = fields
	return fields
}

// csvRow parses a CSV record that starts with line s. Fields without a
// quote are the line's own bytes; at the first quote the record is parsed
// again byte by byte (it may go on over later lines inside quotes).
func (r *Reader) csvRow(s []byte) ([]Field, int, error) {
	fields := r.fields[:0]
	for pos := 0; ; {
		rest := s[pos:]
		end := bytes.IndexByte(rest, r.o.Delimiter)
		if end < 0 {
			end = len(rest)
		}
		f := rest[:end]
		if bytes.IndexByte(f, '"') >= 0 {
			return r.csvQuotedRow(s)
		}
		fields = append(fields, Field{Value: f, Null: string(f) == r.o.Null})
		if end == len(rest) {
			r.fields = fields
			return fields, r.line, nil
		}
		pos += end + 1
	}
}

// csvQuotedRow parses a CSV record with quotes, reading more lines while a
// quoted field is open.
func (r *Reader) csvQuotedRow(s []byte) ([]Field, int, error) {
	first := r.line
	record := append(r.long[:0:0], s...) // s may live in the read buffer
	for {
		done, err := r.splitQuoted(record)
		if err != nil {
			return nil, first, err
		}
		if done {
			break
		}
		// a quoted field goes on past the line end
		next, err := r.readLine()
		if err != nil {
			return nil, first, sqlerr.New(sqlerr.BadCopyFileFormat, "unterminated CSV quoted field starting on line %d", first)
		}
		record = append(append(record, '\n'), next...)
	}
	fields := r.fields[:0]
	for k, sp := range r.spans {
		fields = append(fields, Field{Value: r.arena[sp[0]:sp[1]:sp[1]], Null: r.nulls[k]})
	}
	r.fields = fields
	return fields, first, nil
}

// splitQuoted splits a whole CSV record into r.spans over r.arena; done is
// false when the record ends inside quotes.
func (r *Reader) splitQuoted(s []byte) (done bool, err error) {
	r.arena, r.spans, r.nulls = r.arena[:0], r.spans[:0], r.nulls[:0]
	start := 0
	quoted, inQuotes := false, false
	finish := func() {
		v := r.arena[start:]
		r.spans = append(r.spans, [2]int{start, len(r.arena)})
		r.nulls = append(r.nulls, !quoted && string(v) == r.o.Null)
		start = len(r.arena)
		quoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuotes && c == '"' && i+1 < len(s) && s[i+1] == '"':
			r.arena = append(r.arena, '"')
			i++
		case inQuotes && c == '"':
			inQuotes = false
		case inQuotes:
			r.arena = append(r.arena, c)
		case c == '"':
			inQuotes, quoted = true, true
		case c == r.o.Delimiter:
			finish()
		default:
			r.arena = append(r.arena, c)
		}
	}
	if inQuotes {
		return false, nil
	}
	finish()
	return true, nil
}

// Unescape undoes text format's backslash escapes.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return string(appendUnescaped(nil, []byte(s)))
}

func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			dst = append(dst, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			dst = append(dst, '\n')
		case 't':
			dst = append(dst, '\t')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'v':
			dst = append(dst, '\v')
		default:
			dst = append(dst, s[i])
		}
	}
	return dst
}

// AppendRow appends one row (nil fields are NULL) as a line in o's format.
func AppendRow(buf *bytes.Buffer, fields []*string, o Options) {
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(o.Delimiter)
		}
		switch {
		case f == nil:
			buf.WriteString(o.Null)
		case o.Format == "csv":
			buf.WriteString(csvField(*f, o))
		default:
			buf.WriteString(escapeText(*f, o.Delimiter))
		}
	}
	buf.WriteByte('\n')
}

// csvField quotes a value when it must be: it holds the delimiter, a
// quote or a line break, or it would read back as NULL.
func csvField(v string, o Options) string {
	if v == o.Null || v == `\.` || strings.ContainsAny(v, string(o.Delimiter)+"\"\r\n") {
		return `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

func escapeText(s string, delim byte) string {
	if !strings.ContainsAny(s, "\\\n\r\t"+string(delim)) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if c == delim {
				sb.WriteByte('\\')
			}
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// Position describes where a row came from, for error details.
func Position(file string, line int) string {
	if file == "" {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("file %s, line %d", file, line)
}
