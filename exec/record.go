package exec

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// RecordOutKernel builds row values, ROW(a, b, …) or a table's whole-row
// reference, in PostgreSQL's record text form '(a,b)' (record_out), the
// form Weft keeps them in. A NULL field is left empty. A whole-row
// reference (nullWhenAllNull) is NULL when every field is: that is the row
// of an outer join's null-extended side.
func RecordOutKernel(fields []types.T, nullWhenAllNull bool) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		zone := ec.Env.TimeZone()
		return rowKernelNullable(types.RecordT, func(ds []types.Datum) (types.Datum, error) {
			if nullWhenAllNull && allNull(ds) {
				return nil, nil
			}
			return FormatRecordIn(fields, ds, zone), nil
		})(ec, args, n)
	}
}

func allNull(ds []types.Datum) bool {
	for _, d := range ds {
		if d != nil {
			return false
		}
	}
	return len(ds) > 0
}

// FormatRecordIn is the record text form of fields ds of types ts.
func FormatRecordIn(ts []types.T, ds []types.Datum, zone *time.Location) string {
	parts := make([]*string, len(ds))
	for i, d := range ds {
		if d != nil {
			s := types.FormatIn(ts[i], d, zone)
			parts[i] = &s
		}
	}
	return types.FormatRecord(parts)
}

// RowToJSONKernel is row_to_json / to_json / to_jsonb of a row value whose
// fields arrive as the kernel's arguments: an object of the fields by
// name, in order ({"a":1,"b":"x"}, no spaces, as PostgreSQL's
// composite_to_json). pretty puts each field after the first on a new
// line. A field of type json is nested as it is (a nested row's object).
// Whole-row references (nullWhenAllNull) of a null-extended row give NULL.
func RowToJSONKernel(names []string, fields []types.T, jt types.T, pretty, nullWhenAllNull bool) (Kernel, error) {
	for i, t := range fields {
		if t.PG == types.RecordT.PG && t.Kind == types.Text {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "JSON of field \"%s\" is not supported: it is a record value that is not a row constructor or a table reference", names[i])
		}
	}
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		zone := ec.Env.TimeZone()
		return rowKernelNullable(jt, func(ds []types.Datum) (types.Datum, error) {
			if nullWhenAllNull && allNull(ds) {
				return nil, nil
			}
			var sb strings.Builder
			sb.WriteByte('{')
			for i, d := range ds {
				if i > 0 {
					sb.WriteByte(',')
					if pretty {
						sb.WriteString("\n ")
					}
				}
				types.WriteJSONString(&sb, names[i])
				sb.WriteByte(':')
				writeValueJSON(&sb, fields[i], d, zone)
			}
			sb.WriteByte('}')
			return jsonResult(jt, sb.String())
		})(ec, args, n)
	}, nil
}

// RowJSONAggregate is json_agg / jsonb_agg over row values already turned
// into JSON objects (RowToJSONKernel): json_agg puts each object after the
// first on a new line, as PostgreSQL does for composite values.
func RowJSONAggregate(jt types.T) *AggregateDef {
	name := "json_agg"
	if jt.Kind == types.JSONB {
		name = "jsonb_agg"
	}
	return &AggregateDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		if len(args) != 1 {
			return nil, types.T{}, nil, wrongAggArgs(name, args)
		}
		return args, jt, func() Accumulator { return &jsonAggAcc{jt: jt, argTs: args, structured: true} }, nil
	}}
}
