package driver

import (
	sqldriver "database/sql/driver"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// bindParams converts database/sql's arguments to datums of the
// statement's parameter types ($1 is args[0]).
func bindParams(paramTypes []types.T, args []sqldriver.NamedValue, zone *time.Location) ([]types.Datum, error) {
	if len(args) != len(paramTypes) {
		return nil, sqlerr.New(sqlerr.ProtocolViolation, "got %d arguments, but the statement has %d parameters", len(args), len(paramTypes))
	}
	out := make([]types.Datum, len(args))
	for _, a := range args {
		if a.Name != "" {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "named argument %q: weft takes positional parameters $1, $2, ...", a.Name)
		}
		i := a.Ordinal - 1
		if i < 0 || i >= len(out) {
			return nil, sqlerr.New(sqlerr.ProtocolViolation, "argument %d has no parameter $%d", a.Ordinal, a.Ordinal)
		}
		d, err := toDatum(paramTypes[i], a.Value, zone)
		if err != nil {
			return nil, fmt.Errorf("parameter $%d: %w", a.Ordinal, err)
		}
		out[i] = d
	}
	return out, nil
}

// toDatum converts one driver value to a datum of type t. A value whose
// Go type is the type's own is taken as it is; anything else goes through
// its PostgreSQL text, so that a string, an int64 or a time.Time may feed
// any parameter PostgreSQL would accept its text for.
func toDatum(t types.T, v sqldriver.Value, zone *time.Location) (types.Datum, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return types.ParseIn(t, x, zone)
	case []byte:
		return bytesDatum(t, x, zone)
	case int64:
		return intDatum(t, x, zone)
	case float64:
		if t.IsFloat() {
			return x, nil
		}
		return types.ParseIn(t, strconv.FormatFloat(x, 'f', -1, 64), zone)
	case bool:
		if t.Kind == types.Bool {
			return x, nil
		}
		return types.ParseIn(t, strconv.FormatBool(x), zone)
	case time.Time:
		return timeDatum(t, x, zone)
	}
	return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot use a Go %T as %s", v, t)
}

func bytesDatum(t types.T, b []byte, zone *time.Location) (types.Datum, error) {
	switch {
	case t.Kind == types.Bytea, t.Kind == types.UUID && len(b) == 16:
		return append([]byte(nil), b...), nil
	}
	return types.ParseIn(t, string(b), zone)
}

func intDatum(t types.T, v int64, zone *time.Location) (types.Datum, error) {
	switch {
	case t.IsInteger():
		if !types.IntFits(t, v) {
			return nil, types.OutOfRange(t)
		}
		return v, nil
	case t.IsFloat():
		return float64(v), nil
	}
	return types.ParseIn(t, strconv.FormatInt(v, 10), zone)
}

// timeDatum stores a time.Time: a timestamptz as its instant, a
// timestamp, date or time as its wall clock in its own location (what
// PostgreSQL keeps of a literal '2024-01-02 03:04:05+02' cast to
// timestamp).
func timeDatum(t types.T, tm time.Time, zone *time.Location) (types.Datum, error) {
	tm = tm.Round(time.Microsecond) // PostgreSQL keeps microseconds
	wall := time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), time.UTC)
	switch t.Kind {
	case types.TimestampTZ:
		return tm.UnixMicro(), nil
	case types.Timestamp:
		return wall.UnixMicro(), nil
	case types.Date:
		midnight := time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		return int32(midnight.Unix() / 86400), nil
	case types.Time:
		return wall.Sub(wall.Truncate(24 * time.Hour)).Microseconds(), nil
	}
	return types.ParseIn(t, tm.Format("2006-01-02 15:04:05.999999Z07:00"), zone)
}

// arrayLiteral writes a Go slice (other than []byte) of strings, numbers,
// booleans or pointers to them as a PostgreSQL array literal; nil
// elements are NULL.
func arrayLiteral(v any) (string, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return "", false
	}
	elems := make([]*string, rv.Len())
	for i := range elems {
		e := rv.Index(i)
		for e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface {
			if e.IsNil() {
				break
			}
			e = e.Elem()
		}
		if (e.Kind() == reflect.Pointer || e.Kind() == reflect.Interface) && e.IsNil() {
			continue // NULL
		}
		text, ok := elementText(e)
		if !ok {
			return "", false
		}
		elems[i] = &text
	}
	return types.JoinArrayLiteral(elems), true
}

func elementText(e reflect.Value) (string, bool) {
	switch e.Kind() {
	case reflect.String:
		return e.String(), true
	case reflect.Bool:
		return strconv.FormatBool(e.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(e.Int(), 10), true
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(e.Uint(), 10), true
	case reflect.Float32:
		return strconv.FormatFloat(e.Float(), 'g', -1, 32), true
	case reflect.Float64:
		return strconv.FormatFloat(e.Float(), 'g', -1, 64), true
	}
	return "", false
}
