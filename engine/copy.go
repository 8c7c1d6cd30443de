package engine

import (
	"context"
	"fmt"
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
	row      []types.Datum           // scratch for AddRow
	rest     []int                   // table columns not among targets
	fast     []copyfmt.FieldAppender // per target: parses plain text into its builder
	script   *Script                 // the script the COPY is a statement of
	// bulk stages the rows to segment files as they come (bulkload.go),
	// nil when they stay in recs until the commit; recBytes is what recs
	// hold meanwhile
	bulk     *bulkLoad
	recBytes int64
	// Options is the format of the data the client sends (FORMAT,
	// DELIMITER, NULL, HEADER, QUOTE, ESCAPE).
	Options copyfmt.Options
}

// beginCopyIn starts COPY table [(columns)] FROM STDIN (Script.CopyIn).
func (s *Session) beginCopyIn(st *pg.CopyStmt) (*CopyIn, error) {
	if st.Relation == nil {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "COPY FROM needs a table")
	}
	t, err := s.columnsTableFor(st.Relation, catalog.PrivInsert)
	if err != nil {
		if t, _, _ := s.db.cat.Lookup(st.Relation.Schemaname, st.Relation.Relname, s.searchPath); t != nil && t.MatView != "" {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot copy to materialized view \"%s\"", t.Name)
		}
		return nil, err
	}
	c := &CopyIn{s: s, table: t}
	if len(st.Attlist) == 0 {
		for i, col := range t.Columns {
			if col.Generated == "" { // (computed, never read)
				c.targets = append(c.targets, i)
			}
		}
	} else {
		for _, a := range st.Attlist {
			name := a.GetString_().GetSval()
			i := t.ColumnIndex(name)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", name, t.Name)
			}
			if t.Columns[i].Generated != "" {
				return nil, sqlerr.New(sqlerr.InvalidColumnRef, "column \"%s\" is a generated column", name).
					WithDetail("Generated columns cannot be used in COPY.")
			}
			c.targets = append(c.targets, i)
		}
	}
	if err := s.requireColumns(t, c.targets, catalog.PrivInsert); err != nil {
		return nil, err
	}
	for _, i := range c.targets {
		c.Columns = append(c.Columns, Column{Name: t.Columns[i].Name, Type: t.Columns[i].Type})
	}
	c.newBuilders()
	c.bulk = s.newBulkLoad(t)
	return c, nil
}

func (c *CopyIn) newBuilders() {
	c.builders = make([]array.Builder, len(c.table.Columns))
	for i, col := range c.table.Columns {
		c.builders[i] = array.NewBuilder(c.s.db.opts.Mem, col.Type.Arrow())
	}
	c.fast = make([]copyfmt.FieldAppender, len(c.targets))
	for k, i := range c.targets {
		c.fast[k] = copyfmt.NewFieldAppender(c.table.Columns[i].Type, c.builders[i])
	}
}

// AddText adds a row of text fields (nil: NULL), converted to the columns'
// types with the checks an INSERT makes (varchar lengths, valid input);
// file (may be "") and line say where the row came from, for errors. A
// failed row leaves the COPY unusable: the caller aborts it.
func (c *CopyIn) AddText(fields []*string, file string, line int) error {
	if len(fields) != len(c.targets) {
		return c.fieldCountError(len(fields), file, line)
	}
	for k, f := range fields {
		if f == nil {
			c.builders[c.targets[k]].AppendNull()
			continue
		}
		if err := c.appendField(k, []byte(*f), file, line); err != nil {
			return err
		}
	}
	return c.endRow()
}

// AddFields is AddText for fields read by copyfmt.Reader.ReadFields.
func (c *CopyIn) AddFields(fields []copyfmt.Field, file string, line int) error {
	if len(fields) != len(c.targets) {
		return c.fieldCountError(len(fields), file, line)
	}
	for k, f := range fields {
		if f.Null {
			c.builders[c.targets[k]].AppendNull()
			continue
		}
		if err := c.appendField(k, f.Value, file, line); err != nil {
			return err
		}
	}
	return c.endRow()
}

func (c *CopyIn) fieldCountError(n int, file string, line int) error {
	return sqlerr.New(sqlerr.BadCopyFileFormat, "%s: %d fields, expected %d", copyfmt.Position(file, line), n, len(c.targets))
}

// appendField converts field k's text: plain spellings straight into the
// builder, anything else through the cast an INSERT makes.
func (c *CopyIn) appendField(k int, f []byte, file string, line int) error {
	if fast := c.fast[k]; fast != nil && fast(f) {
		return nil
	}
	v, err := exec.CastDatumIn(string(f), types.TextT, c.Columns[k].Type, false, c.s.zone)
	if err != nil {
		return sqlerr.Wrap(err).WithDetail(fmt.Sprintf("COPY %s, %s, column %s: %q", c.table.Name, copyfmt.Position(file, line), c.Columns[k].Name, f))
	}
	exec.AppendDatum(c.builders[c.targets[k]], v)
	return nil
}

// endRow fills the columns the COPY leaves out and flushes a full batch.
func (c *CopyIn) endRow() error {
	for _, i := range c.untargeted() {
		c.builders[i].AppendNull()
	}
	c.rows++
	if c.builders[0].Len() >= c.s.db.opts.BatchSize {
		return c.flush()
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
		return c.flush()
	}
	return nil
}

// flush ends the batch the builders hold; once the batches held reach
// LoadStageBytes, a staging load writes them out.
func (c *CopyIn) flush() error {
	if c.builders[0].Len() == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(c.builders))
	for i, b := range c.builders {
		cols[i] = b.NewArray()
	}
	rec := array.NewRecord(c.table.ArrowSchema(), cols, int64(cols[0].Len()))
	c.recs = append(c.recs, rec)
	c.recBytes += recordBytes(rec)
	c.reserveLike(cols)
	for _, a := range cols {
		a.Release()
	}
	if c.bulk != nil && c.recBytes >= c.s.db.opts.LoadStageBytes {
		return c.stage()
	}
	return nil
}

// stage checks the batches held as an INSERT checks its rows and writes
// them to staged segment files (bulkload.go).
// The files are written in the background while the next rows are read.
func (c *CopyIn) stage() error {
	recs := c.recs
	c.recs, c.recBytes = nil, 0
	if err := c.fillDefaults(recs); err != nil {
		exec.ReleaseRecords(recs)
		return err
	}
	recs, err := c.s.fillGenerated(c.s.context(), c.table, recs) // (releases what it replaces, and recs on error)
	if err != nil {
		return err
	}
	if err := c.s.checkNewRows(c.table, recs); err != nil {
		exec.ReleaseRecords(recs)
		return err
	}
	return c.bulk.stageInBackground(recs)
}

// recordBytes is the size of rec's buffers.
func recordBytes(rec arrow.Record) int64 {
	var n int64
	for _, col := range rec.Columns() {
		n += arrayBytes(col.Data())
	}
	return n
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, ch := range d.Children() {
		n += arrayBytes(ch)
	}
	return n
}

// reserveLike sizes the builders for a batch like the one just built: a
// builder left to grow by doubling leaves, over a whole table, about as
// much garbage as data and up to half its last buffer unused, which the
// stored batches keep (SF1 lineitem's load peaked at twice the table).
func (c *CopyIn) reserveLike(prev []arrow.Array) {
	n := c.s.db.opts.BatchSize
	for i, b := range c.builders {
		// Resize, not Reserve: Reserve rounds a power of two up to the
		// next one, twice the batch
		b.Resize(n)
		sb, ok := b.(*array.StringBuilder)
		str, isStr := prev[i].(*array.String)
		if ok && isStr && str.Len() > 0 {
			data := len(str.ValueBytes())
			// a little over the last batch's text, scaled to a full batch
			sb.ReserveData(data/str.Len()*n + data/16)
		}
	}
}

// Commit stores every row (checking NOT NULL) and returns the count; a
// failure fails the script the COPY belongs to.
func (c *CopyIn) Commit() (int64, error) {
	n, err := c.commit()
	if err != nil {
		return 0, c.Fail(err)
	}
	return n, nil
}

// Fail ends a COPY that cannot go on (bad data, the client gave up): no
// row is stored and its script fails with err, which it returns.
func (c *CopyIn) Fail(err error) error {
	c.Abort()
	if c.script != nil {
		return c.script.fail(err)
	}
	return sqlerr.Wrap(err)
}

func (c *CopyIn) commit() (int64, error) {
	defer c.Abort()
	if err := c.flush(); err != nil {
		return 0, err
	}
	if c.bulk != nil && c.bulk.started {
		return c.commitStaged()
	}
	if len(c.recs) == 0 {
		return 0, nil
	}
	c.s.beginWrites(true)
	c.s.writes.loads = true
	defer c.s.endWrites()
	if err := c.fillDefaults(c.recs); err != nil {
		return 0, err
	}
	recs, err := c.s.fillGenerated(c.s.context(), c.table, c.recs)
	c.recs = recs
	if err != nil {
		return 0, err
	}
	n, err := c.s.appendRows(c.table, c.recs)
	if err != nil {
		return 0, err
	}
	return n, c.s.commitWrites()
}

// commitStaged ends a load that staged rows: the rest are staged too, all
// installed, and a checkpoint (not the log, which cannot name the staged
// files) stores them.
func (c *CopyIn) commitStaged() (int64, error) {
	if err := c.stage(); err != nil {
		return 0, err
	}
	if err := c.bulk.wait(); err != nil {
		return 0, err
	}
	c.s.beginWrites(false)
	c.s.writes.loads = true
	defer c.s.endWrites()
	n, err := c.s.installStaged(c.bulk)
	if err != nil {
		return 0, err
	}
	return n, c.s.commitWrites()
}

// Abort drops the collected rows (and a staging load's files no
// checkpoint stored).
func (c *CopyIn) Abort() {
	if c.bulk != nil {
		c.bulk.abort()
		c.bulk = nil
	}
	exec.ReleaseRecords(c.recs)
	c.recs = nil
	for _, b := range c.builders {
		b.Release()
	}
	c.builders = nil
}

// copyOutStatement starts a COPY … TO STDOUT: the query of its table (all
// or some columns) or its own query, its rows streamed, in the format
// its options give (Result.Copy).
func (s *Session) copyOutStatement(ctx context.Context, whole string, raw *pg.RawStmt) (*Result, error) {
	st := raw.Stmt.GetCopyStmt()
	opts, err := copyfmt.ParseOptions(st, "text", "csv", "binary")
	if err != nil {
		return nil, err
	}
	sql, err := s.copyOutQuery(st)
	if err != nil {
		return nil, err
	}
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	res, err := s.runStatement(ctx, statementCall{sql: sql, raw: stmts[0], text: parser.StatementText(whole, raw), stream: true})
	if err != nil {
		return nil, err
	}
	res.Copy = &opts
	return res, nil
}

// copyOutQuery is the query a COPY … TO sends. Without a column list it
// is every column but the generated ones, as in PostgreSQL.
func (s *Session) copyOutQuery(st *pg.CopyStmt) (string, error) {
	if st.Query != nil {
		return parser.Deparse(st.Query)
	}
	quote := func(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
	cols := "*"
	// (a relation it cannot find is left to the query to report)
	t, err := s.lookupTable(st.Relation)
	if err != nil {
		t = nil
	}
	var names []string
	for _, a := range st.Attlist {
		name := a.GetString_().GetSval()
		if t != nil && t.ColumnIndex(name) >= 0 && t.Columns[t.ColumnIndex(name)].Generated != "" {
			return "", sqlerr.New(sqlerr.InvalidColumnRef, "column \"%s\" is a generated column", name).
				WithDetail("Generated columns cannot be used in COPY.")
		}
		names = append(names, quote(name))
	}
	if len(names) == 0 && t != nil && hasGenerated(t) {
		for _, c := range t.Columns {
			if c.Generated == "" {
				names = append(names, quote(c.Name))
			}
		}
	}
	if len(names) > 0 {
		cols = strings.Join(names, ", ")
	}
	rel := `"` + strings.ReplaceAll(st.Relation.Relname, `"`, `""`) + `"`
	if st.Relation.Schemaname != "" {
		rel = `"` + strings.ReplaceAll(st.Relation.Schemaname, `"`, `""`) + `".` + rel
	}
	return "SELECT " + cols + " FROM " + rel, nil
}

// fillDefaults gives the columns a COPY column list leaves out their
// DEFAULT (a serial column draws from its sequence), as INSERT does.
func (c *CopyIn) fillDefaults(recs []arrow.Record) error {
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
		for k, r := range recs {
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
			recs[k] = next
		}
	}
	return nil
}
