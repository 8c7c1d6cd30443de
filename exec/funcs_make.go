package exec

import (
	"fmt"
	"github.com/apache/arrow-go/v18/arrow"
	"math"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// FuncParams names a built-in function's parameters, for calls with
// named arguments (make_interval(days => 3)), and gives the SQL literal
// of each trailing parameter's default: "" for none, "-" for one that may
// be left out (an overload without it).
type FuncParams struct {
	Names    []string
	Defaults []string
	// SQLDefaults: the defaults are SQL expressions (a LANGUAGE sql
	// function's), not literals
	SQLDefaults bool
}

// BuiltinParams are the built-in functions that take named arguments or
// have defaults, as PostgreSQL declares them.
func BuiltinParams(name string) (FuncParams, bool) {
	p, ok := builtinParams[name]
	return p, ok
}

var builtinParams = map[string]FuncParams{
	"make_interval": {Names: []string{"years", "months", "weeks", "days", "hours", "mins", "secs"},
		Defaults: []string{"0", "0", "0", "0", "0", "0", "0.0"}},
	"make_date":        {Names: []string{"year", "month", "day"}},
	"make_time":        {Names: []string{"hour", "min", "sec"}},
	"make_timestamp":   {Names: []string{"year", "month", "mday", "hour", "min", "sec"}},
	"make_timestamptz": {Names: []string{"year", "month", "mday", "hour", "min", "sec", "timezone"}, Defaults: []string{"", "", "", "", "", "", "-"}},
}

// makeFunctions build dates, times, timestamps and intervals from their
// fields, refusing fields out of range as PostgreSQL does (22008).
func makeFunctions() []*ScalarDef {
	ymd := []types.T{int4T, int4T, int4T}
	hms := []types.T{int4T, int4T, types.Float8T}
	return []*ScalarDef{
		sig("make_date", ymd, types.DateT, func(ds []types.Datum) (types.Datum, error) {
			return makeDate(ds[0].(int64), ds[1].(int64), ds[2].(int64))
		}),
		sig("make_time", hms, types.TimeT, func(ds []types.Datum) (types.Datum, error) {
			return makeClock(ds[0].(int64), ds[1].(int64), ds[2].(float64))
		}),
		sig("make_timestamp", append(ymd, hms...), types.TimestampT, func(ds []types.Datum) (types.Datum, error) {
			return makeTimestamp(ds)
		}),
		overloads("make_timestamptz",
			&ScalarDef{Name: "make_timestamptz", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
				params := append(append([]types.T{}, ymd...), hms...)
				if len(args) == 7 {
					params = append(params, types.TextT)
				}
				if (len(args) != 6 && len(args) != 7) || !castableAll(args, params) {
					return nil, types.T{}, nil, NoSuchFunction("make_timestamptz", args)
				}
				return params, types.TimestampTZT, makeTimestampTZKernel(len(args) == 7), nil
			}}),
		sig("make_interval", []types.T{int4T, int4T, int4T, int4T, int4T, int4T, types.Float8T}, types.IntervalT, makeInterval),
		sig("width_bucket", []types.T{types.Float8T, types.Float8T, types.Float8T, int4T}, int4T, widthBucket),
	}
}

func makeDate(y, m, d int64) (types.Datum, error) {
	days, ok := civilDays(y, m, d)
	if !ok {
		if fieldsValid(y, m, d) {
			return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date out of range: %d-%02d-%02d", y, m, d)
		}
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date field value out of range: %d-%02d-%02d", y, m, d)
	}
	if !types.DateInRange(days) {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date out of range: %d-%02d-%02d", y, m, d)
	}
	return int32(days), nil
}

// fieldsValid reports whether a year, month and day name a calendar day
// (whatever the range), so that make_date tells a bad field from a date
// past the range as PostgreSQL does.
func fieldsValid(y, m, d int64) bool {
	if y == 0 || m < 1 || m > 12 || d < 1 || d > 31 || y > math.MaxInt32 || y < math.MinInt32 {
		return false
	}
	if y < 0 {
		y++
	}
	// the Gregorian calendar repeats every 400 years
	t := time.Date(int(y%400)+2000, time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
	return t.Day() == int(d)
}

// civilDays is the day count from 1970-01-01 of a date whose year is
// numbered as PostgreSQL's make_date takes it (negative years BC, no 0).
func civilDays(y, m, d int64) (int64, bool) {
	if y == 0 || m < 1 || m > 12 || d < 1 || y > 5874898 || y < -4715 {
		return 0, false
	}
	if y < 0 {
		y++ // 1 BC is the proleptic year 0
	}
	t := time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(d) {
		return 0, false
	}
	return floorDiv(t.Unix(), 86400), true
}

func makeClock(h, m int64, s float64) (types.Datum, error) {
	us, ok := clockMicros(h, m, s)
	if !ok {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "time field value out of range: %d:%02d:%s", h, m, formatSeconds(s))
	}
	return us, nil
}

// clockMicros is a time of day; 24:00:00 is allowed, as in PostgreSQL.
func clockMicros(h, m int64, s float64) (int64, bool) {
	us := int64(math.Round(s * 1e6))
	if h < 0 || m < 0 || m > 59 || s < 0 || math.IsNaN(s) || us > 60e6 || h > 24 {
		return 0, false
	}
	total := h*3600e6 + m*60e6 + us
	return total, total <= 24*3600e6
}

func formatSeconds(s float64) string {
	if s == math.Trunc(s) {
		return fmt.Sprintf("%02d", int64(s))
	}
	return fmt.Sprintf("%09.6f", s)
}

// timestampFieldsOutOfRange is make_timestamp's error for fields past the
// timestamp range, shown as PostgreSQL shows them.
func timestampFieldsOutOfRange(ds []types.Datum) error {
	return sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range: %d-%02d-%02d %d:%02d:%02g",
		ds[0].(int64), ds[1].(int64), ds[2].(int64), ds[3].(int64), ds[4].(int64), ds[5].(float64))
}

func makeTimestamp(ds []types.Datum) (types.Datum, error) {
	day, err := makeDate(ds[0].(int64), ds[1].(int64), ds[2].(int64))
	if err != nil {
		if se, ok := err.(*sqlerr.Error); ok && strings.HasPrefix(se.Message, "date out of range") {
			return nil, timestampFieldsOutOfRange(ds)
		}
		return nil, err
	}
	clock, err := makeClock(ds[3].(int64), ds[4].(int64), ds[5].(float64))
	if err != nil {
		return nil, err
	}
	if day.(int32) < types.EndTimestampDay {
		if us := int64(day.(int32))*types.MicrosPerDay + clock.(int64); types.TimestampInRange(us) {
			return us, nil
		}
	}
	return nil, timestampFieldsOutOfRange(ds)
}

func makeTimestampTZKernel(withZone bool) Kernel {
	return zoneKernel(types.TimestampTZT, func(session *time.Location, ds []types.Datum) (types.Datum, error) {
		local, err := makeTimestamp(ds)
		if err != nil {
			return nil, err
		}
		zone := session
		if withZone {
			if zone, _, err = types.ParseTimeZone(ds[6].(string)); err != nil {
				return nil, err
			}
		}
		return types.CheckTimestamp(types.FromLocal(local.(int64), zone))
	})
}

func makeInterval(ds []types.Datum) (types.Datum, error) {
	years, months, weeks, days := ds[0].(int64), ds[1].(int64), ds[2].(int64), ds[3].(int64)
	hours, mins, secs := ds[4].(int64), ds[5].(int64), ds[6].(float64)
	m := years*12 + months
	dd := weeks*7 + days
	us := float64(hours)*3600e6 + float64(mins)*60e6 + secs*1e6
	if m > math.MaxInt32 || m < math.MinInt32 || dd > math.MaxInt32 || dd < math.MinInt32 ||
		math.IsNaN(us) || math.Abs(us) > math.MaxInt64/2 {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "interval out of range")
	}
	return types.IntervalValue{Months: int32(m), Days: int32(dd), Micros: int64(math.Round(us))}, nil
}

// countingFunctions are num_nulls and num_nonnulls: how many of their
// arguments, of any types, are (not) NULL.
func countingFunctions() []*ScalarDef {
	def := func(name string, nulls bool) *ScalarDef {
		return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) == 0 {
				return nil, types.T{}, nil, NoSuchFunction(name, args)
			}
			params := make([]types.T, len(args))
			for i, a := range args {
				params[i] = a
				if a.Kind == types.Unknown {
					params[i] = types.TextT
				}
			}
			return params, types.Int4T, func(ec *EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
				buf, out := allocFixed[int32](ec.Mem, n)
				for i := range out {
					k := int32(0)
					for _, a := range in {
						if a.IsNull(i) == nulls {
							k++
						}
					}
					out[i] = k
				}
				return makeArray(types.Int4T.Arrow(), n, nil, buf, 0), nil
			}, nil
		}}
	}
	return []*ScalarDef{def("num_nulls", true), def("num_nonnulls", false)}
}

// widthBucket is width_bucket(operand, low, high, count): which of count
// equal buckets between low and high holds operand (0 below, count+1 at
// or above high; low may be above high, counting down).
func widthBucket(ds []types.Datum) (types.Datum, error) {
	x, lo, hi, count := ds[0].(float64), ds[1].(float64), ds[2].(float64), ds[3].(int64)
	switch {
	case count <= 0:
		return nil, sqlerr.New("2201G", "count must be greater than zero")
	case lo == hi:
		return nil, sqlerr.New("2201G", "lower bound cannot equal upper bound")
	case math.IsNaN(x) || math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0):
		return nil, sqlerr.New("2201G", "operand, lower bound, and upper bound cannot be NaN")
	}
	var b int64
	if lo < hi {
		switch {
		case x < lo:
			b = 0
		case x >= hi:
			b = count + 1
		default:
			b = int64(float64(count)*(x-lo)/(hi-lo)) + 1
		}
	} else {
		switch {
		case x > lo:
			b = 0
		case x <= hi:
			b = count + 1
		default:
			b = int64(float64(count)*(lo-x)/(lo-hi)) + 1
		}
	}
	if b > math.MaxInt32 {
		return nil, sqlerr.New(sqlerr.NumericOutOfRange, "integer out of range")
	}
	return b, nil
}
