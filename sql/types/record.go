package types

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// RecordT is the type of row values (ROW(a, b), a table's whole-row
// reference): PostgreSQL's anonymous record (OID 2249), kept as its text
// form '(a,b)'.
var RecordT = T{Kind: Text, PG: 2249}

// RecordField is one field of a row value: its name and type.
type RecordField struct {
	Name string
	T    T
}

// recordDef is what a record type's Record string encodes.
type recordDef struct {
	Name   string `json:",omitempty"` // a composite type's name
	Fields []RecordField
}

// RecordOf is the record type of rows with these fields (the type
// clients are told is still record, 2249).
func RecordOf(fields []RecordField) T {
	return T{Kind: Text, PG: 2249, Record: encodeRecordDef(recordDef{Fields: fields})}
}

// CompositeOf is the type of a composite type made by CREATE TYPE … AS
// (…): a record of these fields that clients are told has type oid.
func CompositeOf(oid uint32, name string, fields []RecordField) T {
	return T{Kind: Text, PG: oid, Record: encodeRecordDef(recordDef{Name: name, Fields: fields})}
}

func encodeRecordDef(d recordDef) string {
	if d.Fields == nil {
		d.Fields = []RecordField{}
	}
	enc, err := json.Marshal(d)
	if err != nil {
		return "" // a T always encodes; were it not to, the fields are unknown
	}
	return string(enc)
}

func (t T) recordDef() (recordDef, bool) {
	var d recordDef
	if t.Record == "" || json.Unmarshal([]byte(t.Record), &d) != nil {
		return recordDef{}, false
	}
	return d, true
}

// RecordFields are a record type's fields (nil when they are not known).
func (t T) RecordFields() []RecordField {
	d, ok := t.recordDef()
	if !ok {
		return nil
	}
	return d.Fields
}

// IsRecord reports whether t is a row value's type: record (the records
// of information_schema._pg_expandarray, ExpandedT, included) or a
// composite type.
func (t T) IsRecord() bool { return t.Kind == Text && (t.PG == 2249 || t.Record != "") }

// IsComposite reports whether t is a composite type of CREATE TYPE.
func (t T) IsComposite() bool { return t.Kind == Text && t.Record != "" && t.PG != 2249 }

// FormatRecord is PostgreSQL's record text form of fields given in their
// own text forms (nil for NULL, written as nothing): each field quoted
// when it is empty or holds a quote, backslash, parenthesis, comma or
// white space, with quotes and backslashes doubled inside the quotes.
func FormatRecord(fields []*string) string {
	var sb strings.Builder
	sb.WriteByte('(')
	for i, f := range fields {
		if i > 0 {
			sb.WriteByte(',')
		}
		if f != nil {
			writeRecordField(&sb, *f)
		}
	}
	sb.WriteByte(')')
	return sb.String()
}

func writeRecordField(sb *strings.Builder, s string) {
	quote := s == "" || strings.ContainsAny(s, "\"\\(), \t\n\r\v\f")
	if !quote {
		sb.WriteString(s)
		return
	}
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			sb.WriteByte(s[i])
		}
		sb.WriteByte(s[i])
	}
	sb.WriteByte('"')
}

// ParseRecord splits a record's text form into its fields' text forms
// (nil for NULL), reading quotes and backslashes as PostgreSQL's
// record_in does.
func ParseRecord(s string) ([]*string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || s[0] != '(' {
		return nil, fmt.Errorf("Missing left parenthesis.")
	}
	if len(s) < 2 || s[len(s)-1] != ')' {
		return nil, fmt.Errorf("Unexpected end of input.")
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return []*string{}, nil // ROW(): no fields
	}
	var fields []*string
	var cur strings.Builder
	quoted, inQuotes, null := false, false, true
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			cur.WriteByte(body[i])
			null = false
		case c == '"' && inQuotes && i+1 < len(body) && body[i+1] == '"':
			i++
			cur.WriteByte('"')
		case c == '"':
			inQuotes, quoted, null = !inQuotes, true, false
		case c == ',' && !inQuotes:
			fields = appendRecordField(fields, cur.String(), null && !quoted)
			cur.Reset()
			quoted, null = false, true
		default:
			cur.WriteByte(c)
			null = false
		}
	}
	if inQuotes {
		return nil, fmt.Errorf("Unexpected end of input.")
	}
	return appendRecordField(fields, cur.String(), null && !quoted), nil
}

func appendRecordField(fields []*string, s string, null bool) []*string {
	if null {
		return append(fields, nil)
	}
	return append(fields, &s)
}

// compositeName is a composite type's name ("" for other types).
func (t T) compositeName() string {
	if !t.IsComposite() {
		return ""
	}
	d, _ := t.recordDef()
	return d.Name
}

// parseComposite reads a composite type's text input (record_in): each
// field in its own type, the value kept in the normal text form.
func parseComposite(t T, s string, loc *time.Location) (Datum, error) {
	malformed := func(detail string) error {
		return sqlerr.New(sqlerr.InvalidText, "malformed record literal: \"%s\"", s).WithDetail(detail)
	}
	parts, err := ParseRecord(s)
	if err != nil {
		return nil, malformed(err.Error())
	}
	fields := t.RecordFields()
	if len(parts) != len(fields) {
		return nil, malformed(map[bool]string{true: "Too few columns.", false: "Too many columns."}[len(parts) < len(fields)])
	}
	out := make([]*string, len(parts))
	for i, p := range parts {
		if p == nil {
			continue
		}
		d, err := ParseIn(fields[i].T, *p, loc)
		if err != nil {
			return nil, err
		}
		f := FormatIn(fields[i].T, d, loc)
		out[i] = &f
	}
	return FormatRecord(out), nil
}
