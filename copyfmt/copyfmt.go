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
	fields  []*string
	r       *bufio.Reader
	o       Options
	line    int // lines read so far
	started bool
}

// NewReader reads COPY data in o's format (text or csv) from r.
func NewReader(r io.Reader, o Options) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<16), o: o}
}

// Read returns the next row's fields (nil for NULL) and the line it starts
// on; io.EOF after the last row (or the end marker \.). The slice is
// reused by the next Read.
func (r *Reader) Read() ([]*string, int, error) {
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

func (r *Reader) readLine() (string, error) {
	s, err := r.r.ReadString('\n')
	if err == io.EOF && s != "" {
		err = nil
	}
	if err != nil {
		return "", err
	}
	r.line++
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

func (r *Reader) readRow() ([]*string, int, error) {
	for {
		s, err := r.readLine()
		if err != nil {
			return nil, r.line, err
		}
		if s == `\.` {
			return nil, r.line, io.EOF
		}
		if r.o.Format == "csv" {
			return r.csvRow(s)
		}
		return r.textRow(s), r.line, nil
	}
}

// textRow splits a text-format line at unescaped delimiters.
func (r *Reader) textRow(s string) []*string {
	fields := r.fields[:0]
	defer func() { r.fields = fields }()
	start := 0
	add := func(raw string) {
		if raw == r.o.Null {
			fields = append(fields, nil)
			return
		}
		v := Unescape(raw)
		fields = append(fields, &v)
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
	return fields
}

// csvRow parses a CSV record that starts with line s (and may continue on
// later lines inside quotes).
func (r *Reader) csvRow(s string) ([]*string, int, error) {
	first := r.line
	fields := r.fields[:0]
	defer func() { r.fields = fields }()
	var cur strings.Builder
	quoted, inQuotes := false, false
	finish := func() {
		v := cur.String()
		if !quoted && v == r.o.Null {
			fields = append(fields, nil)
		} else {
			fields = append(fields, &v)
		}
		cur.Reset()
		quoted = false
	}
	for {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case inQuotes && c == '"' && i+1 < len(s) && s[i+1] == '"':
				cur.WriteByte('"')
				i++
			case inQuotes && c == '"':
				inQuotes = false
			case inQuotes:
				cur.WriteByte(c)
			case c == '"':
				inQuotes, quoted = true, true
			case c == r.o.Delimiter:
				finish()
			default:
				cur.WriteByte(c)
			}
		}
		if !inQuotes {
			finish()
			return fields, first, nil
		}
		// a quoted field goes on past the line end
		cur.WriteByte('\n')
		next, err := r.readLine()
		if err != nil {
			return nil, first, sqlerr.New(sqlerr.BadCopyFileFormat, "unterminated CSV quoted field starting on line %d", first)
		}
		s = next
	}
}

// Unescape undoes text format's backslash escapes.
func Unescape(s string) string {
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
