package datafile

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// weftTypeKey marks a Parquet column that holds another SQL type's text.
const weftTypeKey = "weft.type"

// ParquetSchema is the schema a table is written to Parquet in: interval
// columns become marked text columns.
func ParquetSchema(s *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, s.NumFields())
	for i, f := range s.Fields() {
		if f.Type.ID() == arrow.INTERVAL_MONTH_DAY_NANO {
			f = arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String, Nullable: true,
				Metadata: arrow.NewMetadata([]string{weftTypeKey}, []string{"interval"})}
		}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil)
}

// ToParquetRecord relabels b under pq (from ParquetSchema), turning the
// columns pq marks into text with format (which renders column i's values,
// "" for NULL).
func ToParquetRecord(pq *arrow.Schema, b arrow.Record, format func(i int, a arrow.Array) []string) (arrow.Record, error) {
	cols := make([]arrow.Array, b.NumCols())
	for i := range cols {
		col := b.Column(i)
		if pq.Field(i).Type.ID() == col.DataType().ID() {
			col.Retain()
			cols[i] = col
			continue
		}
		sb := array.NewStringBuilder(memory.DefaultAllocator)
		for r, v := range format(i, col) {
			if col.IsNull(r) {
				sb.AppendNull()
			} else {
				sb.Append(v)
			}
		}
		cols[i] = sb.NewArray()
		sb.Release()
	}
	rec := array.NewRecord(pq, cols, b.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// markedType is the SQL type a marked text column stands for.
func markedType(f arrow.Field) (types.T, bool) {
	v, _ := f.Metadata.GetValue(weftTypeKey)
	switch {
	case v == "interval" && f.Type.ID() == arrow.STRING:
		return types.IntervalT, true
	case v == "uuid" && f.Type.ID() == arrow.BINARY:
		return types.UUIDT, true
	case v == "json" && f.Type.ID() == arrow.STRING:
		return types.JSONT, true
	case v == "jsonb" && f.Type.ID() == arrow.STRING:
		return types.JSONBT, true
	}
	return types.T{}, false
}

// FieldMetadata marks a column whose SQL type its Arrow type does not
// tell (uuid is stored as binary) so that reading the file restores it.
func FieldMetadata(t types.T) arrow.Metadata {
	switch t.Kind {
	case types.UUID, types.JSON, types.JSONB:
		return arrow.NewMetadata([]string{weftTypeKey}, []string{t.String()})
	}
	return arrow.Metadata{}
}

// parseIntervals converts a text column to intervals.
func parseIntervals(mem memory.Allocator, a *array.String, file, column string) (arrow.Array, error) {
	b := array.NewMonthDayNanoIntervalBuilder(mem)
	defer b.Release()
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		d, err := types.ParseInterval(a.Value(i))
		if err != nil {
			return nil, sqlerr.Wrap(err).WithDetail("file " + file + ", column " + column)
		}
		iv := d.(types.IntervalValue)
		b.Append(arrow.MonthDayNanoInterval{Months: iv.Months, Days: iv.Days, Nanoseconds: iv.Micros * 1000})
	}
	return b.NewArray(), nil
}
