package exec

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// CastExpr converts its argument to type To. Explicit casts truncate
// varchar(n) values; assignment casts reject values that are too long.
type CastExpr struct {
	Arg      Expr
	To       types.T
	Explicit bool
}

func (e *CastExpr) Type() types.T  { return e.To }
func (e *CastExpr) String() string { return "CAST(" + e.Arg.String() + " AS " + e.To.String() + ")" }

func (e *CastExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	a, err := e.Arg.Eval(ec, b)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return CastArray(ec, a, e.Arg.Type(), e.To, e.Explicit)
}

// CastArray converts a whole array from one SQL type to another.
func CastArray(ec *EvalContext, a arrow.Array, from, to types.T, explicit bool) (arrow.Array, error) {
	if castKeepsArray(from, to) {
		a.Retain()
		return a, nil
	}
	n := a.Len()
	if out, ok := castToUnboundedText(ec, a, from, to); ok {
		return out, nil
	}
	if from.IsInteger() && (to.Kind == types.Int8 || to.Kind == types.Float8) {
		return castIntFast(ec, a, to), nil
	}
	if out, ok, err := castNumericFast(ec, a, from, to, explicit); ok {
		return out, err
	}
	zone := ec.Env.TimeZone()
	bld := array.NewBuilder(ec.Mem, to.Arrow())
	defer bld.Release()
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		d, err := CastDatumAt(DatumAt(a, i), from, to, explicit, zone, ec.Env.StatementTime())
		if err != nil {
			return nil, err
		}
		AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}

// castToUnboundedText casts a string array to text or varchar without a
// length on its bytes: the same values, char(n)'s trailing blanks
// dropped (TPC-H q22 casts c_phone, a char(15), before substring). ok is
// false for the other casts.
func castToUnboundedText(ec *EvalContext, a arrow.Array, from, to types.T) (arrow.Array, bool) {
	unbounded := to.Kind == types.Text || to.Kind == types.Varchar && to.Len <= 0
	if !from.IsString() || !unbounded || a.DataType().ID() != arrow.STRING {
		return nil, false
	}
	if from.Kind != types.Char {
		a.Retain()
		return a, true
	}
	v := viewText(a.(*array.String))
	o := newTextOut(ec.Mem, a.Len(), v.size())
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			o.appendNull()
			continue
		}
		if err := o.append(trimBlankBytes(v.at(i))); err != nil {
			o.release() // (cannot happen: trimmed values are no longer)
			return nil, false
		}
	}
	return o.finish(to), true
}

// castKeepsArray reports whether a cast from one type to the other hands
// its argument's array on unchanged.
func castKeepsArray(from, to types.T) bool {
	if from == to || (from.Kind == to.Kind && to.Kind != types.Array && !needsCheck(to)) {
		return true
	}
	// numeric to numeric of the same scale keeps the values when they fit
	// already: every stored numeric is below 10^38
	return from.Kind == types.Numeric && to.Kind == types.Numeric && from.Scale == to.Scale && (to.Prec == 0 || from.Prec > 0 && from.Prec <= to.Prec)
}

func needsCheck(t types.T) bool {
	return t.Kind == types.Varchar && t.Len > 0 || t.Kind == types.Char || t.Kind == types.Numeric
}

func castIntFast(ec *EvalContext, a arrow.Array, to types.T) arrow.Array {
	n := a.Len()
	validity, nulls := combineValidity(ec.Mem, n, a)
	if to.Kind == types.Int8 {
		buf, out := allocFixed[int64](ec.Mem, n)
		switch src := a.(type) {
		case *array.Int16:
			for i, v := range src.Int16Values() {
				out[i] = int64(v)
			}
		case *array.Int32:
			for i, v := range src.Int32Values() {
				out[i] = int64(v)
			}
		case *array.Int64:
			copy(out, src.Int64Values())
		}
		return makeArray(to.Arrow(), n, validity, buf, nulls)
	}
	buf, out := allocFixed[float64](ec.Mem, n)
	switch src := a.(type) {
	case *array.Int16:
		for i, v := range src.Int16Values() {
			out[i] = float64(v)
		}
	case *array.Int32:
		for i, v := range src.Int32Values() {
			out[i] = float64(v)
		}
	case *array.Int64:
		for i, v := range src.Int64Values() {
			out[i] = float64(v)
		}
	}
	return makeArray(to.Arrow(), n, validity, buf, nulls)
}

// sameRepresentation are the kinds whose cast to themselves keeps the
// value as it is (no length, precision or scale to apply).
var sameRepresentation = map[types.Kind]bool{types.Bool: true, types.Date: true, types.UUID: true, types.Bytea: true, types.Inet: true}

func cannotCast(from, to types.T) *sqlerr.Error {
	return sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from, to)
}

// CanCast reports whether an explicit cast from one type to another exists.
func CanCast(from, to types.T) bool {
	if from.Kind == types.Array && to.Kind == types.Array {
		return CanCast(from.ElemT(), to.ElemT())
	}
	if from.Kind == types.Unknown || from.Kind == to.Kind || from.IsString() || to.IsString() {
		return true
	}
	switch {
	case from.IsNumber() && to.IsNumber():
		return true
	case isJSON(from) && isJSON(to), from.Kind == types.JSONB && (to.IsNumber() || to.Kind == types.Bool):
		return true
	case from.Kind == types.Bool && to.Kind == types.Int4, from.Kind == types.Int4 && to.Kind == types.Bool:
		return true
	case from.Kind == types.Date && (to.Kind == types.Timestamp || to.Kind == types.TimestampTZ):
		return true
	case (from.Kind == types.Timestamp || from.Kind == types.TimestampTZ) &&
		(to.Kind == types.Date || to.Kind == types.Timestamp || to.Kind == types.TimestampTZ || to.Kind == types.Time):
		return true
	}
	return false
}

// CastDatum converts one value, with the time zone UTC.
func CastDatum(d types.Datum, from, to types.T, explicit bool) (types.Datum, error) {
	return CastDatumIn(d, from, to, explicit, nil)
}

// CastDatumIn converts one value in a session's time zone (nil: UTC):
// timestamptz shows and reads its text there, and turns into the zone's
// wall-clock timestamp, date and time; timestamp and date become the
// instant of that wall-clock time in the zone.
func CastDatumIn(d types.Datum, from, to types.T, explicit bool, zone *time.Location) (types.Datum, error) {
	return CastDatumAt(d, from, to, explicit, zone, time.Time{})
}

// CastDatumAt is CastDatumIn with text's 'now', 'today', 'tomorrow' and
// 'yesterday' read against the statement's time now (the zero time: the
// system clock).
func CastDatumAt(d types.Datum, from, to types.T, explicit bool, zone *time.Location, now time.Time) (types.Datum, error) {
	if d == nil {
		return nil, nil
	}
	if from.Kind == types.Array && to.Kind == types.Array {
		in := d.([]types.Datum)
		out := make([]types.Datum, len(in))
		for i, e := range in {
			v, err := CastDatumAt(e, from.ElemT(), to.ElemT(), explicit, zone, now)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	if from.IsString() || from.Kind == types.Unknown {
		s := d.(string)
		if from.Kind == types.Char && to.Kind != types.Char {
			// char(n)'s padding is not significant and does not survive a cast.
			s = strings.TrimRight(s, " ")
		}
		if to.IsString() && !(to.IsComposite() && !from.IsRecord()) {
			return fitString(s, to, explicit)
		}
		return types.ParseAt(to, s, zone, types.Clock{Now: now}) // (a composite reads its fields)
	}
	if to.IsString() {
		if from.Kind == types.Bool {
			// bool's output form is t/f, but its cast to text spells it out.
			return fitString(strconv.FormatBool(d.(bool)), to, explicit)
		}
		return fitString(types.FormatIn(from, d, zone), to, explicit)
	}
	if from.Kind == to.Kind && sameRepresentation[from.Kind] {
		return d, nil // true::boolean, a date cast to date
	}
	switch {
	case isJSON(from):
		return castJSON(d.(string), from, to)
	case from.IsInteger():
		v := d.(int64)
		switch {
		case to.IsInteger():
			if !types.IntFits(to, v) {
				return nil, types.OutOfRange(to)
			}
			return v, nil
		case to.IsFloat():
			return float64(v), nil
		case to.Kind == types.Numeric:
			return types.RatToNumeric(new(big.Rat).SetInt64(v), to)
		case to.Kind == types.Bool:
			return v != 0, nil
		}
	case from.IsFloat():
		v := d.(float64)
		switch {
		case to.IsInteger():
			r := math.RoundToEven(v)
			if math.IsNaN(r) || r < -9.223372036854775808e18 || r >= 9.223372036854775808e18 || !types.IntFits(to, int64(r)) {
				return nil, types.OutOfRange(to)
			}
			return int64(r), nil
		case to.IsFloat():
			if to.Kind == types.Float4 {
				f := float64(float32(v))
				if math.IsInf(f, 0) && !math.IsInf(v, 0) {
					return nil, sqlerr.New(sqlerr.NumericOutOfRange, "value out of range: overflow")
				}
				if f == 0 && v != 0 {
					return nil, sqlerr.New(sqlerr.NumericOutOfRange, "value out of range: underflow")
				}
				return f, nil
			}
			return v, nil
		case to.Kind == types.Numeric:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot convert %s to numeric", types.FormatFloat(v, 64))
			}
			return types.RatToNumeric(new(big.Rat).SetFloat64(v), to)
		}
	case from.Kind == types.Numeric:
		r := types.NumericToRat(d.(decimal128.Num), from.Scale)
		switch {
		case to.IsInteger():
			q, err := types.RatToNumeric(r, types.NumericT(0, 0))
			if err != nil {
				return nil, types.OutOfRange(to)
			}
			bi := q.(decimal128.Num).BigInt()
			if !bi.IsInt64() || !types.IntFits(to, bi.Int64()) {
				return nil, types.OutOfRange(to)
			}
			return bi.Int64(), nil
		case to.IsFloat():
			f, _ := r.Float64()
			return f, nil
		case to.Kind == types.Numeric:
			return types.RatToNumeric(r, to)
		}
	case from.Kind == types.Bool:
		if to.IsInteger() {
			if d.(bool) {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case from.Kind == types.Date:
		return castDate(d.(int32), to, zone)
	case from.Kind == types.Timestamp || from.Kind == types.TimestampTZ:
		us := d.(int64)
		if !types.TimestampIsFinite(us) {
			return castInfiniteTimestamp(us, from, to)
		}
		switch {
		case from.Kind == types.Timestamp && to.Kind == types.TimestampTZ:
			return types.CheckTimestamp(types.FromLocal(us, zone))
		case from.Kind == types.TimestampTZ && to.Kind != types.TimestampTZ:
			us = types.ToLocal(us, zone)
		}
		switch to.Kind {
		case types.Timestamp, types.TimestampTZ:
			// a zone's offset can carry the last hours past the range
			return types.CheckTimestamp(us)
		case types.Date:
			return types.TimestampToDate(us), nil
		case types.Time:
			return us - floorDiv(us, types.MicrosPerDay)*types.MicrosPerDay, nil
		}
	case from.Kind == to.Kind:
		return d, nil
	}
	return nil, cannotCast(from, to)
}

// castDate converts a date to a timestamp (its midnight) or timestamptz
// (its midnight in zone); infinities stay infinite.
func castDate(d int32, to types.T, zone *time.Location) (types.Datum, error) {
	switch to.Kind {
	case types.Timestamp, types.TimestampTZ:
		us, err := types.DateToTimestamp(d)
		if err != nil || to.Kind == types.Timestamp || !types.DateIsFinite(d) {
			return us, err
		}
		return types.CheckTimestamp(types.FromLocal(us, zone))
	}
	return nil, cannotCast(types.DateT, to)
}

// castInfiniteTimestamp converts infinity or -infinity: to the same
// infinity of the other timestamp kinds and of date, and to NULL for
// time, as PostgreSQL 15 does.
func castInfiniteTimestamp(us int64, from, to types.T) (types.Datum, error) {
	switch to.Kind {
	case types.Timestamp, types.TimestampTZ:
		return us, nil
	case types.Date:
		return types.TimestampToDate(us), nil
	case types.Time:
		return nil, nil
	}
	return nil, cannotCast(from, to)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func fitString(s string, to types.T, explicit bool) (types.Datum, error) {
	if to.Len <= 0 || (to.Kind != types.Varchar && to.Kind != types.Char) {
		return s, nil
	}
	n := utf8.RuneCountInString(s)
	if n > int(to.Len) {
		trimmed := strings.TrimRight(s, " ")
		if !explicit && utf8.RuneCountInString(trimmed) > int(to.Len) {
			return nil, sqlerr.New(sqlerr.StringTooLong, "value too long for type %s", to)
		}
		r := []rune(s)
		s = string(r[:to.Len])
	}
	if to.Kind == types.Char && n < int(to.Len) {
		s += strings.Repeat(" ", int(to.Len)-n)
	}
	return s, nil
}
