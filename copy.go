package weft

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// CopyIn receives the rows of a COPY … FROM STDIN. Rows are collected and
// stored in one step at Commit, so a COPY that fails part-way stores
// nothing.
type CopyIn struct {
	s        *Session
	table    *catalog.Table
	targets  []int // table column of each incoming field
	Columns  []Column
	builders []array.Builder
	recs     []arrow.Record
	rows     int
	row      []types.Datum // scratch for AddRow
	rest     []int         // table columns not among targets
}

// BeginCopyIn starts COPY table [(columns)] FROM STDIN.
func (s *Session) BeginCopyIn(st *pg.CopyStmt) (*CopyIn, error) {
	if st.Relation == nil {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "COPY FROM needs a table")
	}
	t, err := s.tableFor(st.Relation, catalog.PrivInsert)
	if err != nil {
		return nil, err
	}
	c := &CopyIn{s: s, table: t}
	if len(st.Attlist) == 0 {
		for i := range t.Columns {
			c.targets = append(c.targets, i)
		}
	} else {
		for _, a := range st.Attlist {
			name := a.GetString_().GetSval()
			i := t.ColumnIndex(name)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", name, t.Name)
			}
			c.targets = append(c.targets, i)
		}
	}
	for _, i := range c.targets {
		c.Columns = append(c.Columns, Column{Name: t.Columns[i].Name, Type: t.Columns[i].Type})
	}
	c.newBuilders()
	return c, nil
}

func (c *CopyIn) newBuilders() {
	c.builders = make([]array.Builder, len(c.table.Columns))
	for i, col := range c.table.Columns {
		c.builders[i] = array.NewBuilder(c.s.db.opts.Mem, col.Type.Arrow())
	}
}

// AddText adds a row of text fields (nil: NULL), converted to the columns'
// types with the checks an INSERT makes (varchar lengths, valid input);
// file (may be "") and line say where the row came from, for errors. A
// failed row leaves the COPY unusable: the caller aborts it.
func (c *CopyIn) AddText(fields []*string, file string, line int) error {
	if len(fields) != len(c.targets) {
		return sqlerr.New(sqlerr.BadCopyFileFormat, "%s: %d fields, expected %d", copyfmt.Position(file, line), len(fields), len(c.targets))
	}
	for k, f := range fields {
		b := c.builders[c.targets[k]]
		if f == nil {
			b.AppendNull()
			continue
		}
		if appendTextFast(b, c.Columns[k].Type, *f) {
			continue
		}
		v, err := exec.CastDatumIn(*f, types.TextT, c.Columns[k].Type, false, c.s.zone)
		if err != nil {
			return sqlerr.Wrap(err).WithDetail(fmt.Sprintf("COPY %s, %s, column %s: %q", c.table.Name, copyfmt.Position(file, line), c.Columns[k].Name, *f))
		}
		exec.AppendDatum(b, v)
	}
	for _, i := range c.untargeted() {
		c.builders[i].AppendNull()
	}
	c.rows++
	if c.builders[0].Len() >= c.s.db.opts.BatchSize {
		c.flush()
	}
	return nil
}

// untargeted lists the table columns the COPY does not fill.
func (c *CopyIn) untargeted() []int {
	if c.rest == nil {
		c.rest = []int{}
		filled := map[int]bool{}
		for _, i := range c.targets {
			filled[i] = true
		}
		for i := range c.table.Columns {
			if !filled[i] {
				c.rest = append(c.rest, i)
			}
		}
	}
	return c.rest
}

// appendTextFast appends the common plain forms of integers, floats and
// unbounded text without boxing a datum; anything else (whitespace,
// special values, errors) reports false for the general path.
func appendTextFast(b array.Builder, t types.T, s string) bool {
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !types.IntFits(t, v) {
			return false
		}
		switch bb := b.(type) {
		case *array.Int16Builder:
			bb.Append(int16(v))
		case *array.Int32Builder:
			bb.Append(int32(v))
		case *array.Int64Builder:
			bb.Append(v)
		default:
			return false
		}
		return true
	case types.Float8:
		if strings.Trim(s, "0123456789.eE+-") != "" || s == "" {
			return false
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		bb, ok := b.(*array.Float64Builder)
		if ok {
			bb.Append(v)
		}
		return ok
	case types.Text:
		bb, ok := b.(*array.StringBuilder)
		if ok {
			bb.Append(s)
		}
		return ok
	}
	return false
}

// AddRow adds a row of typed values in the COPY's column order.
func (c *CopyIn) AddRow(vals []types.Datum) error {
	if len(vals) != len(c.targets) {
		return sqlerr.New(sqlerr.BadCopyFileFormat, "row %d has %d fields, expected %d", c.rows+1, len(vals), len(c.targets))
	}
	if c.row == nil {
		c.row = make([]types.Datum, len(c.table.Columns))
	}
	row := c.row
	for k, i := range c.targets {
		row[i] = vals[k]
	}
	for i, b := range c.builders {
		exec.AppendDatum(b, row[i])
	}
	c.rows++
	if c.builders[0].Len() >= c.s.db.opts.BatchSize {
		c.flush()
	}
	return nil
}

func (c *CopyIn) flush() {
	if c.builders[0].Len() == 0 {
		return
	}
	cols := make([]arrow.Array, len(c.builders))
	for i, b := range c.builders {
		cols[i] = b.NewArray()
	}
	c.recs = append(c.recs, array.NewRecord(c.table.ArrowSchema(), cols, int64(cols[0].Len())))
	for _, a := range cols {
		a.Release()
	}
}

// Commit stores every row (checking NOT NULL) and returns the count.
func (c *CopyIn) Commit() (int64, error) {
	defer c.Abort()
	c.flush()
	if len(c.recs) == 0 {
		return 0, nil
	}
	c.s.beginWrites(true, true)
	defer c.s.endWrites()
	if err := c.fillDefaults(); err != nil {
		return 0, err
	}
	n, err := c.s.appendRows(c.table, c.recs)
	if err != nil {
		return 0, err
	}
	return n, c.s.commitWrites()
}

// Abort drops the collected rows.
func (c *CopyIn) Abort() {
	exec.ReleaseRecords(c.recs)
	c.recs = nil
	for _, b := range c.builders {
		b.Release()
	}
	c.builders = nil
}

// CopyOutQuery runs the query a COPY … TO STDOUT sends: a table (all or
// some columns) or a query.
func (s *Session) CopyOutQuery(ctx context.Context, st *pg.CopyStmt) (*Result, error) {
	var sql string
	if st.Query != nil {
		q, err := parser.Deparse(st.Query)
		if err != nil {
			return nil, err
		}
		sql = q
	} else {
		cols := "*"
		if len(st.Attlist) > 0 {
			var names []string
			for _, a := range st.Attlist {
				names = append(names, `"`+strings.ReplaceAll(a.GetString_().GetSval(), `"`, `""`)+`"`)
			}
			cols = strings.Join(names, ", ")
		}
		rel := `"` + st.Relation.Relname + `"`
		if st.Relation.Schemaname != "" {
			rel = `"` + st.Relation.Schemaname + `".` + rel
		}
		sql = "SELECT " + cols + " FROM " + rel
	}
	res, err := s.Query(ctx, sql)
	if res != nil {
		res.Zone = s.zone
	}
	return res, err
}

// fillDefaults gives the columns a COPY column list leaves out their
// DEFAULT (a serial column draws from its sequence), as INSERT does.
func (c *CopyIn) fillDefaults() error {
	env := c.s.env()
	ctx := c.s.context()
	for _, i := range c.untargeted() {
		col := c.table.Columns[i]
		if col.Default == "" {
			continue
		}
		b := c.s.binder(env)
		e, err := c.s.defaultExpr(b, col)
		if err != nil {
			return err
		}
		pb := c.s.newBuilder(env)
		expr, err := pb.Compile(e, nil)
		pb.Release()
		if err != nil {
			return err
		}
		ec := exec.NewEvalContext(ctx, env)
		for k, r := range c.recs {
			empty := array.NewRecord(arrow.NewSchema(nil, nil), nil, r.NumRows())
			v, err := expr.Eval(ec, empty)
			empty.Release()
			if err != nil {
				return err
			}
			cols := append([]arrow.Array{}, r.Columns()...)
			cols[i] = v
			next := array.NewRecord(r.Schema(), cols, r.NumRows())
			v.Release()
			r.Release()
			c.recs[k] = next
		}
	}
	return nil
}
