package engine

import (
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// AppendArrow adds Arrow record batches to an existing table in one atomic
// step: the embedding API's bulk load. Each record must have the table's
// columns in order with the same Arrow types; values are checked like an
// INSERT's (NOT NULL, varchar/char lengths). The caller keeps its
// references to recs.
func (s *Session) AppendArrow(table string, recs []arrow.Record) (int64, error) {
	t, _, ok := s.db.cat.Lookup("", table, s.searchPath)
	if !ok || t == nil {
		return 0, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", table)
	}
	if err := s.requireSchema(t.Schema, catalog.PrivUsage); err != nil {
		return 0, err
	}
	if err := s.requireOn(t.OID, catalog.KindTable, t.Name, catalog.PrivInsert); err != nil {
		return 0, err
	}
	want := t.ArrowSchema()
	for _, r := range recs {
		if int(r.NumCols()) != want.NumFields() {
			return 0, sqlerr.New(sqlerr.DatatypeMismatch, "record has %d columns, table \"%s\" has %d", r.NumCols(), table, want.NumFields())
		}
		for i, f := range want.Fields() {
			if !arrow.TypeEqual(r.Column(i).DataType(), f.Type) {
				return 0, sqlerr.New(sqlerr.DatatypeMismatch, "column \"%s\" is %s but the record holds %s", f.Name, f.Type, r.Column(i).DataType())
			}
		}
		if err := checkLengths(t, r); err != nil {
			return 0, err
		}
	}
	for _, r := range recs {
		r.Retain() // (fillGenerated releases what it replaces; the caller keeps its own)
	}
	recs, err := s.fillGenerated(s.context(), t, recs)
	if err != nil {
		return 0, err
	}
	defer exec.ReleaseRecords(recs)
	s.beginWrites(true)
	s.writes.loads = true
	defer s.endWrites()
	n, err := s.appendRows(t, recs)
	if err != nil {
		return 0, err
	}
	return n, s.commitWrites()
}

// checkLengths enforces varchar(n)/char(n) limits on loaded strings.
func checkLengths(t *catalog.Table, r arrow.Record) error {
	for i, c := range t.Columns {
		if (c.Type.Kind != types.Varchar && c.Type.Kind != types.Char) || c.Type.Len <= 0 {
			continue
		}
		col, ok := r.Column(i).(*array.String)
		if !ok {
			continue
		}
		for j := 0; j < col.Len(); j++ {
			if col.IsValid(j) && utf8.RuneCountInString(col.Value(j)) > int(c.Type.Len) {
				return sqlerr.New(sqlerr.StringTooLong, "value too long for type %s", c.Type)
			}
		}
	}
	return nil
}
