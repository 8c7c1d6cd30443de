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
		if t.IsRecord() && t.RecordFields() == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "JSON of field \"%s\" is not supported: it is a record whose fields are not known", names[i])
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

// writeRecordJSON writes a row value of record type t (fields known) as
// a JSON object of its fields, as row_to_json does.
func writeRecordJSON(sb *strings.Builder, t types.T, text string, zone *time.Location) {
	fields := t.RecordFields()
	ds, err := recordDatums(fields, text, zone)
	if err != nil {
		// not a record of these fields: its text, as any other value
		types.WriteJSONString(sb, text)
		return
	}
	sb.WriteByte('{')
	for i, d := range ds {
		if i > 0 {
			sb.WriteByte(',')
		}
		types.WriteJSONString(sb, fields[i].Name)
		sb.WriteByte(':')
		writeValueJSON(sb, fields[i].T, d, zone)
	}
	sb.WriteByte('}')
}

// recordDatums reads a record's text form back into its fields' values.
func recordDatums(fields []types.RecordField, text string, zone *time.Location) ([]types.Datum, error) {
	parts, err := types.ParseRecord(text)
	if err != nil {
		return nil, err
	}
	if len(parts) != len(fields) {
		return nil, sqlerr.New(sqlerr.InvalidText, "malformed record literal: %q has %d fields, not %d", text, len(parts), len(fields))
	}
	ds := make([]types.Datum, len(parts))
	for i, p := range parts {
		if p == nil {
			continue
		}
		if ds[i], err = types.ParseIn(fields[i].T, *p, zone); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

// RecordToJSONKernel is row_to_json of a record-typed value (a subquery's
// row column): an object of its fields; pretty as RowToJSONKernel.
func RecordToJSONKernel(t types.T, pretty bool) Kernel {
	return zoneKernel(types.JSONT, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
		var sb strings.Builder
		writeRecordJSON(&sb, t, ds[0].(string), zone)
		s := sb.String()
		if pretty {
			s = prettyTopLevelFields(s)
		}
		return s, nil
	})
}

// prettyTopLevelFields puts each top-level field of a compact JSON object
// after the first on its own line, as row_to_json(…, true) does.
func prettyTopLevelFields(s string) string {
	var sb strings.Builder
	depth, inString := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		sb.WriteByte(c)
		switch {
		case inString && c == '\\':
			i++
			if i < len(s) {
				sb.WriteByte(s[i])
			}
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 1:
			sb.WriteString("\n ")
		}
	}
	return sb.String()
}

// RecordFieldOf is field pos of a record-typed value (type t, fields
// known), NULL when the record is.
func RecordFieldOf(t types.T, pos int) Kernel {
	fields := t.RecordFields()
	return zoneKernel(fields[pos].T, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
		vals, err := recordDatums(fields, ds[0].(string), zone)
		if err != nil {
			return nil, err
		}
		return vals[pos], nil
	})
}

// RecordNullTestKernel is record IS [NOT] NULL for a record-typed value:
// IS NULL when the value or every field is NULL, IS NOT NULL when no
// field is.
func RecordNullTestKernel(negate bool) Kernel {
	return rowKernelNullable(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		if ds[0] == nil {
			return !negate, nil
		}
		parts, err := types.ParseRecord(ds[0].(string))
		if err != nil {
			return nil, err
		}
		nulls := 0
		for _, p := range parts {
			if p == nil {
				nulls++
			}
		}
		if negate {
			return nulls == 0, nil
		}
		return nulls == len(parts), nil
	})
}

// RecordCastKernel converts a row value (or a record's text, when from
// has no fields) to composite type to: field by field, each value cast to
// the field's type (the cast an assignment makes), as PostgreSQL does.
// A row of another number of fields is refused.
func RecordCastKernel(from, to types.T) Kernel {
	src, dst := from.RecordFields(), to.RecordFields()
	dstTs := make([]types.T, len(dst))
	for i, f := range dst {
		dstTs[i] = f.T
	}
	return zoneKernel(to, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
		text := ds[0].(string)
		parts, err := types.ParseRecord(text)
		if err != nil {
			return nil, sqlerr.New(sqlerr.InvalidText, "malformed record literal: \"%s\"", text).WithDetail(err.Error())
		}
		if len(parts) != len(dst) {
			few := map[bool]string{true: "few", false: "many"}[len(parts) < len(dst)]
			if src == nil {
				return nil, sqlerr.New(sqlerr.InvalidText, "malformed record literal: \"%s\"", text).WithDetail("Too " + few + " columns.")
			}
			return nil, sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from, to).WithDetail("Input has too " + few + " columns.")
		}
		vals := make([]types.Datum, len(parts))
		for i, p := range parts {
			if p == nil {
				continue
			}
			if src == nil || src[i].T.PG == 705 {
				// a field given as text (a literal): read in the field's type
				if vals[i], err = types.ParseIn(dst[i].T, *p, zone); err != nil {
					return nil, err
				}
				continue
			}
			v, err := types.ParseIn(src[i].T, *p, zone)
			if err != nil {
				return nil, err
			}
			if vals[i], err = CastDatumIn(v, src[i].T, dst[i].T, true, zone); err != nil {
				return nil, err
			}
		}
		return FormatRecordIn(dstTs, vals, zone), nil
	})
}

// RecordCompareKernel is <, <=, > or >= between two record values of the
// same fields (lt's), as PostgreSQL's record comparison: field by field
// in order, two NULL fields equal and a NULL field after any value; a
// NULL record gives NULL.
func RecordCompareKernel(op CmpOp, t types.T) Kernel {
	fields := t.RecordFields()
	return zoneKernel(types.BoolT, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
		l, err := recordDatums(fields, ds[0].(string), zone)
		if err != nil {
			return nil, err
		}
		r, err := recordDatums(fields, ds[1].(string), zone)
		if err != nil {
			return nil, err
		}
		c := compareRecords(fields, l, r)
		switch op {
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		}
		return c >= 0, nil
	})
}

func compareRecords(fields []types.RecordField, l, r []types.Datum) int {
	for i, f := range fields {
		switch a, b := l[i], r[i]; {
		case a == nil && b == nil:
		case a == nil:
			return 1
		case b == nil:
			return -1
		default:
			if c := CompareDatums(f.T, a, b); c != 0 {
				return c
			}
		}
	}
	return 0
}

// arrayToJSON is array_to_json(array [, pretty]): the array as a JSON
// array (rows as objects), pretty putting each element after the first
// on a new line.
func arrayToJSON() *ScalarDef {
	return &ScalarDef{Name: "array_to_json", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) < 1 || len(args) > 2 || args[0].Kind != types.Array || len(args) == 2 && args[1].Kind != types.Bool && args[1].Kind != types.Unknown {
			return nil, types.T{}, nil, NoSuchFunction("array_to_json", args)
		}
		want := []types.T{args[0]}
		if len(args) == 2 {
			want = append(want, types.BoolT)
		}
		return want, types.JSONT, zoneKernel(types.JSONT, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
			s := ToJSONIn(args[0], ds[0], zone)
			if len(ds) == 2 && ds[1].(bool) {
				s = prettyTopLevelFields(s)
			}
			return s, nil
		}), nil
	}}
}
