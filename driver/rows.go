package driver

import (
	"context"
	sqldriver "database/sql/driver"
	"io"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// rows reads the results of a statement batch by batch, releasing each
// Arrow batch as soon as its last row is read (see batchSource).
type rows struct {
	conn *conn
	ctx  context.Context // the query's
	// sets are the result sets still to read; sets[0] is the current one.
	sets []*weft.Result
	src  *batchSource // the batches of sets[0]
	cur  arrow.Record // the batch being read (nil before the first)
	row  int          // the next row of cur
}

var (
	_ sqldriver.Rows                           = (*rows)(nil)
	_ sqldriver.RowsNextResultSet              = (*rows)(nil)
	_ sqldriver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ sqldriver.RowsColumnTypeScanType         = (*rows)(nil)
	_ sqldriver.RowsColumnTypeNullable         = (*rows)(nil)
	_ sqldriver.RowsColumnTypeLength           = (*rows)(nil)
	_ sqldriver.RowsColumnTypePrecisionScale   = (*rows)(nil)
)

func newRows(ctx context.Context, c *conn, sets []*weft.Result) *rows {
	return &rows{conn: c, ctx: ctx, sets: sets, src: newBatchSource(ctx, sets[0])}
}

func (r *rows) current() *weft.Result { return r.sets[0] }

func (r *rows) Columns() []string {
	cols := r.current().Columns
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

// Close releases every batch not yet read.
func (r *rows) Close() error {
	r.dropBatch()
	releaseAll(r.sets)
	r.sets = r.sets[:1] // Columns stays answerable
	return nil
}

// Next fills dest with the next row, moving to the next batch (and
// releasing the one read) when the current one is done.
func (r *rows) Next(dest []sqldriver.Value) error {
	for r.cur == nil || int64(r.row) >= r.cur.NumRows() {
		r.dropBatch()
		cur, err := r.src.Next()
		if err != nil {
			return r.conn.failure(r.ctx, err)
		}
		if r.cur = cur; r.cur == nil {
			return io.EOF
		}
		r.row = 0
	}
	res := r.current()
	zone := resultZone(res)
	for i := range dest {
		dest[i] = columnValue(res.Columns[i].Type, r.cur.Column(i), r.row, zone)
	}
	r.row++
	return nil
}

// dropBatch releases the batch being read.
func (r *rows) dropBatch() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *rows) HasNextResultSet() bool { return len(r.sets) > 1 }

// NextResultSet moves to the next statement's rows, releasing what is
// left of the current one.
func (r *rows) NextResultSet() error {
	if len(r.sets) < 2 {
		return io.EOF
	}
	r.dropBatch()
	r.src.Close()
	r.sets = r.sets[1:]
	r.src = newBatchSource(r.ctx, r.sets[0])
	return nil
}

func resultZone(res *weft.Result) *time.Location {
	if res.Zone == nil {
		return time.UTC
	}
	return res.Zone
}

// columnValue reads row of col as a driver value. The common columns
// (integers, floats, booleans, strings) are read directly, boxing the value
// once; the rest go through a datum.
func columnValue(t types.T, col arrow.Array, row int, zone *time.Location) sqldriver.Value {
	if col.IsNull(row) {
		return nil
	}
	switch a := col.(type) {
	case *array.Int64:
		if t.IsInteger() {
			return a.Value(row)
		}
	case *array.Int32:
		return int64(a.Value(row))
	case *array.Int16:
		return int64(a.Value(row))
	case *array.Float64:
		return a.Value(row)
	case *array.Boolean:
		return a.Value(row)
	case *array.String:
		// the string points into the batch, which is released before
		// the caller is done with the value
		return strings.Clone(a.Value(row))
	}
	return driverValue(t, exec.DatumAt(col, row), zone)
}

// driverValue converts a datum to the value database/sql scans from:
// int64, float64, bool, string, []byte or time.Time. Types Go has no
// exact value for (numeric, interval, uuid, time of day, arrays) come as
// their PostgreSQL text, which loses nothing.
func driverValue(t types.T, d types.Datum, zone *time.Location) sqldriver.Value {
	switch v := d.(type) {
	case nil:
		return nil
	case bool, float64:
		return v
	case int64:
		switch t.Kind {
		case types.Timestamp:
			return time.UnixMicro(v).UTC()
		case types.TimestampTZ:
			return time.UnixMicro(v).In(zone)
		case types.Time:
			return types.FormatIn(t, v, zone)
		}
		return v
	case int32: // date: days since 1970-01-01
		return time.Unix(int64(v)*86400, 0).UTC()
	case string:
		// the string may point into the batch, released before the
		// caller is done with the value
		return strings.Clone(v)
	case []byte:
		if t.Kind == types.UUID {
			return types.FormatUUID(v)
		}
		return v // exec.DatumAt copied it
	}
	return types.FormatIn(t, d, zone)
}

func (r *rows) column(i int) weft.Column { return r.current().Columns[i] }

// ColumnTypeDatabaseTypeName is PostgreSQL's type name in upper case, as
// lib/pq and pgx report it (INT4, VARCHAR, TIMESTAMPTZ, _INT4).
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	return databaseTypeName(r.column(i).Type)
}

func databaseTypeName(t types.T) string {
	if name, ok := pgTypeNames[t.PG]; ok {
		return name
	}
	switch t.Kind {
	case types.Enum:
		return strings.ToUpper(t.Enum.Name)
	case types.Array:
		return "_" + databaseTypeName(t.ElemT())
	}
	return kindNames[t.Kind]
}

// kindNames are pg_type.typname of each kind, upper-cased.
var kindNames = map[types.Kind]string{
	types.Unknown: "UNKNOWN", types.Bool: "BOOL", types.Int2: "INT2", types.Int4: "INT4", types.Int8: "INT8",
	types.Float4: "FLOAT4", types.Float8: "FLOAT8", types.Numeric: "NUMERIC", types.Text: "TEXT",
	types.Varchar: "VARCHAR", types.Char: "BPCHAR", types.Bytea: "BYTEA", types.Date: "DATE",
	types.Time: "TIME", types.Timestamp: "TIMESTAMP", types.TimestampTZ: "TIMESTAMPTZ",
	types.Interval: "INTERVAL", types.UUID: "UUID", types.JSON: "JSON", types.JSONB: "JSONB", types.Inet: "INET",
}

// pgTypeNames name the PostgreSQL types Weft keeps as another kind (T.PG).
var pgTypeNames = map[uint32]string{
	18: "CHAR", 19: "NAME", 26: "OID", 2205: "REGCLASS", 2206: "REGTYPE", 4089: "REGNAMESPACE",
	4096: "REGROLE", 2249: "RECORD", 2278: "VOID",
}

// ColumnTypeScanType is the Go type Next stores for the column.
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	return scanType(r.column(i).Type)
}

var (
	int64Type   = reflect.TypeOf(int64(0))
	float64Type = reflect.TypeOf(float64(0))
	boolType    = reflect.TypeOf(false)
	stringType  = reflect.TypeOf("")
	bytesType   = reflect.TypeOf([]byte(nil))
	timeType    = reflect.TypeOf(time.Time{})
)

func scanType(t types.T) reflect.Type {
	switch t.Kind {
	case types.Bool:
		return boolType
	case types.Int2, types.Int4, types.Int8:
		return int64Type
	case types.Float4, types.Float8:
		return float64Type
	case types.Bytea:
		return bytesType
	case types.Date, types.Timestamp, types.TimestampTZ:
		return timeType
	}
	return stringType
}

// ColumnTypeNullable is known for a column read straight from a table
// (its NOT NULL); a computed column's is unknown.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	col := r.column(i)
	return r.conn.db.ColumnNullable(col.TableOID, col.Attnum)
}

// ColumnTypeLength is n of varchar(n) and char(n); text, bytea, json and
// unbounded varchar are of unlimited length, as lib/pq reports them.
func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	t := r.column(i).Type
	switch t.Kind {
	case types.Varchar, types.Char:
		if t.Len > 0 {
			return int64(t.Len), true
		}
		return math.MaxInt64, true
	case types.Text, types.Bytea, types.JSON, types.JSONB:
		return math.MaxInt64, true
	}
	return 0, false
}

// ColumnTypePrecisionScale is p and s of numeric(p,s); an unconstrained
// numeric has none.
func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	t := r.column(i).Type
	if t.Kind != types.Numeric || t.Prec == 0 {
		return 0, 0, false
	}
	return int64(t.Prec), int64(t.Scale), true
}
