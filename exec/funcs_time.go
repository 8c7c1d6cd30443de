package exec

import (
	"math"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func errStepZero() error {
	return sqlerr.New(sqlerr.InvalidParameter, "step size cannot equal zero")
}

func toTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// eraYear is a proleptic Gregorian year as PostgreSQL numbers it: there is
// no year 0, so 1 BC is -1 (Go's year 0) and 44 BC is -44.
func eraYear(y int) int {
	if y <= 0 {
		return y - 1
	}
	return y
}

// centuryOf is the century (span 100) or millennium (1000) of a
// proleptic Gregorian year y: the first is 1 (years 1..100), the one
// before it -1 (1 BC..100 BC, y 0..-99).
func centuryOf(y, span int) int {
	if y > 0 {
		return (y + span - 1) / span
	}
	return -((span - y) / span)
}

// decadeOf is PostgreSQL's decade of a proleptic Gregorian year: y/10,
// and for years BC counted the same way from 1 BC down.
func decadeOf(y int) int {
	if y >= 0 {
		return y / 10
	}
	return -((9 - y) / 10)
}

// AddInterval adds an interval to a timestamp (months, then days, then time),
// clamping the day of month as PostgreSQL does. An infinite timestamp
// stays as it is; a result past the range is PostgreSQL's error.
func AddInterval(us int64, iv types.IntervalValue) (int64, error) {
	if !types.TimestampIsFinite(us) {
		return us, nil
	}
	if iv.Months != 0 {
		t := toTime(us)
		y, m, d := t.Date()
		total := int(m) - 1 + int(iv.Months)
		y += floorDivInt(total, 12)
		m = time.Month(total - floorDivInt(total, 12)*12 + 1)
		last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		d = min(d, last)
		clock := us - floorDiv(us, types.MicrosPerDay)*types.MicrosPerDay
		if y < -4713 || y > 294247 {
			// past the range, and past what UnixMicro can hold
			return 0, types.TimestampOutOfRange()
		}
		us = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).UnixMicro() + clock
	}
	// the days are at most ±2^31 days (2^31·8.64e10 < 2^63), the sum is checked
	sum, ok := addChecked(us, int64(iv.Days)*types.MicrosPerDay)
	if ok {
		sum, ok = addChecked(sum, iv.Micros)
	}
	if !ok {
		return 0, types.TimestampOutOfRange()
	}
	return types.CheckTimestamp(sum)
}

// addChecked adds two int64s, reporting false on overflow.
func addChecked(a, b int64) (int64, bool) {
	sum := a + b
	if (b > 0 && sum < a) || (b < 0 && sum > a) {
		return 0, false
	}
	return sum, true
}

// addDays adds n days to a date: infinities stay, a result past the
// range is PostgreSQL's error.
func addDays(d int32, n int64) (types.Datum, error) {
	if !types.DateIsFinite(d) {
		return d, nil
	}
	sum := int64(d) + n
	if n > math.MaxInt32 || n < math.MinInt32 || !types.DateInRange(sum) {
		return nil, types.DateOutOfRange()
	}
	return int32(sum), nil
}

// subtractDates is date - date in days; PostgreSQL refuses infinities.
func subtractDates(a, b int32) (types.Datum, error) {
	if !types.DateIsFinite(a) || !types.DateIsFinite(b) {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "cannot subtract infinite dates")
	}
	return int64(a) - int64(b), nil
}

// subtractTimestamps is timestamp - timestamp: the difference in days
// and time (PostgreSQL's justify_hours of the microseconds); PostgreSQL
// refuses infinities.
func subtractTimestamps(a, b int64) (types.Datum, error) {
	if !types.TimestampIsFinite(a) || !types.TimestampIsFinite(b) {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "cannot subtract infinite timestamps")
	}
	d, ok := addChecked(a, -b)
	if !ok {
		return nil, types.IntervalOutOfRange()
	}
	days := d / types.MicrosPerDay
	return types.IntervalValue{Days: int32(days), Micros: d - days*types.MicrosPerDay}, nil
}

// dateAtTime is date + time: the timestamp of that wall-clock time.
func dateAtTime(d int32, clock int64) (types.Datum, error) {
	us, err := types.DateToTimestamp(d)
	if err != nil || !types.DateIsFinite(d) {
		return us, err
	}
	return types.CheckTimestamp(us + clock)
}

// addIntervals is interval + interval, field by field, with PostgreSQL's
// overflow error.
func addIntervals(a, b types.IntervalValue) (types.Datum, error) {
	months := int64(a.Months) + int64(b.Months)
	days := int64(a.Days) + int64(b.Days)
	micros, ok := addChecked(a.Micros, b.Micros)
	if !ok || !types.IntervalMicrosFit(micros) || months != int64(int32(months)) || days != int64(int32(days)) {
		return nil, types.IntervalOutOfRange()
	}
	return types.IntervalValue{Months: int32(months), Days: int32(days), Micros: micros}, nil
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }

func negInterval(iv types.IntervalValue) types.IntervalValue {
	return types.IntervalValue{Months: -iv.Months, Days: -iv.Days, Micros: -iv.Micros}
}

// TemporalArith resolves + and - between date/time types, and * and /
// between intervals and numbers.
func TemporalArith(op ArithOp, l, r types.T) (lt, rt, ret types.T, k Kernel, ok bool) {
	lk, rk := l.Kind, r.Kind
	isTS := func(k types.Kind) bool { return k == types.Timestamp || k == types.TimestampTZ }
	switch {
	case lk == types.Date && r.IsInteger() && (op == '+' || op == '-'):
		return l, types.Int8T, types.DateT, rowKernel(types.DateT, func(ds []types.Datum) (types.Datum, error) {
			n := ds[1].(int64)
			if op == '-' {
				n = -n
			}
			return addDays(ds[0].(int32), n)
		}), true
	case l.IsInteger() && rk == types.Date && op == '+':
		return types.Int8T, r, types.DateT, rowKernel(types.DateT, func(ds []types.Datum) (types.Datum, error) {
			return addDays(ds[1].(int32), ds[0].(int64))
		}), true
	case lk == types.Date && rk == types.Date && op == '-':
		return l, r, types.Int4T, rowKernel(types.Int4T, func(ds []types.Datum) (types.Datum, error) {
			return subtractDates(ds[0].(int32), ds[1].(int32))
		}), true
	case (lk == types.Date || isTS(lk)) && rk == types.Interval && (op == '+' || op == '-'):
		ret := types.TimestampT
		if lk == types.TimestampTZ {
			ret = types.TimestampTZT
		}
		return ret, r, ret, zoneKernel(ret, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
			iv := ds[1].(types.IntervalValue)
			if op == '-' {
				iv = negInterval(iv)
			}
			if ret.Kind == types.TimestampTZ {
				return AddIntervalIn(ds[0].(int64), iv, zone)
			}
			return AddInterval(ds[0].(int64), iv)
		}), true
	case lk == types.Interval && (rk == types.Date || isTS(rk)) && op == '+':
		ret := types.TimestampT
		if rk == types.TimestampTZ {
			ret = types.TimestampTZT
		}
		return l, ret, ret, zoneKernel(ret, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
			if ret.Kind == types.TimestampTZ {
				return AddIntervalIn(ds[1].(int64), ds[0].(types.IntervalValue), zone)
			}
			return AddInterval(ds[1].(int64), ds[0].(types.IntervalValue))
		}), true
	case isTS(lk) && isTS(rk) && op == '-':
		t := types.TimestampT
		if lk == types.TimestampTZ || rk == types.TimestampTZ {
			t = types.TimestampTZT
		}
		return t, t, types.IntervalT, rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
			return subtractTimestamps(ds[0].(int64), ds[1].(int64))
		}), true
	case lk == types.Time && rk == types.Interval && (op == '+' || op == '-'):
		return l, r, types.TimeT, rowKernel(types.TimeT, func(ds []types.Datum) (types.Datum, error) {
			iv := ds[1].(types.IntervalValue)
			if op == '-' {
				iv = negInterval(iv)
			}
			return addToClock(ds[0].(int64), iv), nil
		}), true
	case lk == types.Interval && rk == types.Time && op == '+':
		return l, r, types.TimeT, rowKernel(types.TimeT, func(ds []types.Datum) (types.Datum, error) {
			return addToClock(ds[1].(int64), ds[0].(types.IntervalValue)), nil
		}), true
	case lk == types.Time && rk == types.Time && op == '-':
		return l, r, types.IntervalT, rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
			return types.IntervalValue{Micros: ds[0].(int64) - ds[1].(int64)}, nil
		}), true
	case lk == types.Date && rk == types.Time && op == '+':
		return l, r, types.TimestampT, rowKernel(types.TimestampT, func(ds []types.Datum) (types.Datum, error) {
			return dateAtTime(ds[0].(int32), ds[1].(int64))
		}), true
	case lk == types.Time && rk == types.Date && op == '+':
		return l, r, types.TimestampT, rowKernel(types.TimestampT, func(ds []types.Datum) (types.Datum, error) {
			return dateAtTime(ds[1].(int32), ds[0].(int64))
		}), true
	case lk == types.Interval && rk == types.Interval && (op == '+' || op == '-'):
		return l, r, types.IntervalT, rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
			a, b := ds[0].(types.IntervalValue), ds[1].(types.IntervalValue)
			if op == '-' {
				b = negInterval(b)
			}
			return addIntervals(a, b)
		}), true
	case lk == types.Interval && r.IsNumber() && (op == '*' || op == '/'):
		return l, types.Float8T, types.IntervalT, rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
			f := ds[1].(float64)
			if op == '/' && f == 0 {
				return nil, divByZero()
			}
			return scaleInterval(ds[0].(types.IntervalValue), f, op == '/')
		}), true
	case l.IsNumber() && rk == types.Interval && op == '*':
		return types.Float8T, r, types.IntervalT, rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
			return scaleInterval(ds[1].(types.IntervalValue), ds[0].(float64), false)
		}), true
	}
	return
}

// addToClock adds an interval's time part to a time of day, wrapping
// around midnight as PostgreSQL's time + interval does (months and days
// do not move a time of day).
func addToClock(clock int64, iv types.IntervalValue) int64 {
	return floorMod(clock+iv.Micros%types.MicrosPerDay, types.MicrosPerDay)
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// scaleInterval multiplies an interval by f, or divides it by f when
// divide, as PostgreSQL's interval_mul and interval_div do: months and
// days each scaled and truncated, the fractions of a month (30 days) and
// of a day carried into the time, rounded to the microsecond.
func scaleInterval(iv types.IntervalValue, f float64, divide bool) (types.IntervalValue, error) {
	scale := func(v float64) float64 {
		if divide {
			return v / f
		}
		return v * f
	}
	monthsF, daysF := scale(float64(iv.Months)), scale(float64(iv.Days))
	if !fitsInt32(monthsF) || !fitsInt32(daysF) {
		return types.IntervalValue{}, types.IntervalOutOfRange()
	}
	months, days := int32(monthsF), int32(daysF)
	monthRemainderDays := (monthsF - float64(months)) * 30
	// rounded to the microsecond's precision, as PostgreSQL's TSROUND
	monthRemainderDays = math.RoundToEven(monthRemainderDays*1e6) / 1e6
	secRemainder := (daysF - float64(days) + monthRemainderDays - math.Trunc(monthRemainderDays)) * 86400
	secRemainder = math.RoundToEven(secRemainder*1e6) / 1e6
	if math.Abs(secRemainder) >= 86400 {
		whole := math.Trunc(secRemainder / 86400)
		days += int32(whole)
		secRemainder -= whole * 86400
	}
	days += int32(monthRemainderDays)
	micros := math.RoundToEven(scale(float64(iv.Micros)) + secRemainder*1e6)
	if math.IsNaN(micros) || math.Abs(micros) > types.MaxIntervalMicros {
		return types.IntervalValue{}, types.IntervalOutOfRange()
	}
	return types.IntervalValue{Months: months, Days: days, Micros: int64(micros)}, nil
}

// fitsInt32 reports whether a whole float (not NaN) fits an int32.
func fitsInt32(f float64) bool { return f >= math.MinInt32 && f <= math.MaxInt32 }

func timeFunctions() []*ScalarDef {
	return []*ScalarDef{
		{Name: "date_trunc", Resolve: resolveDateTrunc},
		{Name: "date_part", Resolve: resolveDatePart("date_part", types.Float8T)},
		{Name: "extract", Resolve: resolveDatePart("extract", types.NumericT(0, 6))},
		{Name: "age", Resolve: resolveAge},
		overloads("to_char", append(numberToCharForms(),
			sig("to_char", []types.T{types.TimestampT, textT}, textT, func(ds []types.Datum) (types.Datum, error) {
				if ds[1].(string) == "" || !types.TimestampIsFinite(ds[0].(int64)) {
					return nil, nil // an empty template, or infinity, gives NULL
				}
				return formatTimestamp(toTime(ds[0].(int64)), ds[1].(string)), nil
			}),
			&ScalarDef{Name: "to_char", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
				params := []types.T{types.TimestampTZT, textT}
				if len(args) != 2 || !castableAll(args, params) {
					return nil, types.T{}, nil, NoSuchFunction("to_char", args)
				}
				return params, textT, zoneKernel(textT, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
					if ds[1].(string) == "" || !types.TimestampIsFinite(ds[0].(int64)) {
						return nil, nil
					}
					return formatTimestampTZ(time.UnixMicro(ds[0].(int64)).In(zone), ds[1].(string)), nil
				}), nil
			}},
			sig("to_char", []types.T{types.IntervalT, textT}, textT, func(ds []types.Datum) (types.Datum, error) {
				if ds[1].(string) == "" {
					return nil, nil
				}
				return formatIntervalTemplate(ds[0].(types.IntervalValue), ds[1].(string))
			}))...),
		{Name: "timezone", Resolve: resolveTimezone},
		{Name: "overlaps", Resolve: resolveOverlaps},
		// the clock as each row reads it, unlike now() (the statement's time)
		{Name: "clock_timestamp", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 0 {
				return nil, types.T{}, nil, NoSuchFunction("clock_timestamp", args)
			}
			return nil, types.TimestampTZT, rowKernel(types.TimestampTZT, func([]types.Datum) (types.Datum, error) {
				return time.Now().UnixMicro(), nil
			}), nil
		}},
		{Name: "timeofday", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 0 {
				return nil, types.T{}, nil, NoSuchFunction("timeofday", args)
			}
			return nil, textT, zoneKernel(textT, func(zone *time.Location, _ []types.Datum) (types.Datum, error) {
				// PostgreSQL's form: Mon Dec 07 01:58:00.123456 2026 UTC
				return time.Now().In(zone).Format("Mon Jan 02 15:04:05.000000 2006 MST"), nil
			}), nil
		}},
		overloads("isfinite",
			sig("isfinite", []types.T{types.DateT}, types.BoolT, func(ds []types.Datum) (types.Datum, error) {
				return types.DateIsFinite(ds[0].(int32)), nil
			}),
			sig("isfinite", []types.T{types.TimestampT}, types.BoolT, func(ds []types.Datum) (types.Datum, error) {
				return types.TimestampIsFinite(ds[0].(int64)), nil
			}),
			sig("isfinite", []types.T{types.TimestampTZT}, types.BoolT, func(ds []types.Datum) (types.Datum, error) {
				return types.TimestampIsFinite(ds[0].(int64)), nil
			}),
			sig("isfinite", []types.T{types.IntervalT}, types.BoolT, func(ds []types.Datum) (types.Datum, error) {
				return true, nil // PostgreSQL 15 has no infinite intervals
			})),
		sig("justify_hours", []types.T{types.IntervalT}, types.IntervalT, justifyHours),
		sig("justify_days", []types.T{types.IntervalT}, types.IntervalT, justifyDays),
		sig("justify_interval", []types.T{types.IntervalT}, types.IntervalT, justifyInterval),
		overlayDef(),
		sig("to_number", []types.T{textT, textT}, types.NumericT(0, types.DefaultNumericScale), func(ds []types.Datum) (types.Datum, error) {
			if ds[1].(string) == "" {
				return nil, nil // an empty template gives NULL
			}
			v, err := parseNumber(ds[0].(string), ds[1].(string))
			if err != nil {
				return nil, err
			}
			return types.RatToNumeric(v, types.NumericT(0, types.DefaultNumericScale))
		}),
		overloads("to_timestamp",
			sig("to_timestamp", []types.T{types.Float8T}, types.TimestampTZT, func(ds []types.Datum) (types.Datum, error) {
				return int64(math.Round(ds[0].(float64) * 1e6)), nil
			}),
			&ScalarDef{Name: "to_timestamp", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
				if len(args) != 2 || !castableAll(args, []types.T{textT, textT}) {
					return nil, types.T{}, nil, NoSuchFunction("to_timestamp", args)
				}
				return []types.T{textT, textT}, types.TimestampTZT, zoneKernel(types.TimestampTZT, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
					return fromCharTimestamp(ds[0].(string), ds[1].(string), zone)
				}), nil
			}}),
		sig("to_date", []types.T{textT, textT}, types.DateT, func(ds []types.Datum) (types.Datum, error) {
			return fromCharDate(ds[0].(string), ds[1].(string))
		}),
	}
}

func resolveDateTrunc(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) == 3 {
		return resolveDateTruncIn(args)
	}
	if len(args) != 2 {
		return nil, types.T{}, nil, NoSuchFunction("date_trunc", args)
	}
	t := args[1]
	switch t.Kind {
	case types.Unknown:
		t = types.TimestampT
	case types.Date:
		// PostgreSQL has no date_trunc(date): the date becomes timestamptz.
		t = types.TimestampTZT
	case types.Timestamp, types.TimestampTZ, types.Interval:
	default:
		return nil, types.T{}, nil, NoSuchFunction("date_trunc", args)
	}
	if t.Kind == types.Interval {
		return []types.T{textT, t}, t, rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
			return truncInterval(strings.ToLower(ds[0].(string)), ds[1].(types.IntervalValue))
		}), nil
	}
	if t.Kind == types.TimestampTZ {
		return []types.T{textT, t}, t, zoneKernel(t, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
			return truncTimestampTZ(strings.ToLower(ds[0].(string)), ds[1].(int64), zone)
		}), nil
	}
	return []types.T{textT, t}, t, rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
		return truncTimestamp(strings.ToLower(ds[0].(string)), ds[1].(int64))
	}), nil
}

// resolveDateTruncIn is date_trunc(unit, timestamptz, zone): truncated in
// the given zone instead of the session's.
func resolveDateTruncIn(args []types.T) ([]types.T, types.T, Kernel, error) {
	params := []types.T{textT, types.TimestampTZT, textT}
	if !castableAll(args, params) {
		return nil, types.T{}, nil, NoSuchFunction("date_trunc", args)
	}
	t := types.TimestampTZT
	return params, t, func(ec *EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		zones := zoneCache{}
		return rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
			loc, err := zones.zone(ds[2])
			if err != nil {
				return nil, err
			}
			return truncTimestampTZ(strings.ToLower(ds[0].(string)), ds[1].(int64), loc)
		})(ec, arrs, n)
	}, nil
}

func badUnit(unit string) error {
	return sqlerr.New(sqlerr.InvalidParameter, "unit \"%s\" not recognized for type timestamp", unit)
}

func truncTimestamp(unit string, us int64) (types.Datum, error) {
	if !types.TimestampIsFinite(us) {
		return us, nil // PostgreSQL does not look at the unit then
	}
	t := toTime(us)
	y, m, d := t.Date()
	var out time.Time
	switch unit {
	case "microseconds":
		return us, nil
	case "milliseconds":
		return floorDiv(us, 1000) * 1000, nil
	case "second":
		out = t.Truncate(time.Second)
	case "minute":
		out = t.Truncate(time.Minute)
	case "hour":
		out = t.Truncate(time.Hour)
	case "day":
		out = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case "week":
		wd := (int(t.Weekday()) + 6) % 7
		out = time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
	case "month":
		out = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case "quarter":
		out = time.Date(y, ((m-1)/3)*3+1, 1, 0, 0, 0, 0, time.UTC)
	case "year":
		out = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case "decade", "century", "millennium":
		out = time.Date(truncYear(unit, y), 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		return nil, badUnit(unit)
	}
	return out.UnixMicro(), nil
}

// truncYear is the first year of the decade, century or millennium of
// the proleptic year y (0 is 1 BC) as PostgreSQL counts them: centuries
// and millennia start at years ending in 1 (and, BC, at 100 BC, 1000 BC),
// decades BC run from 51 BC to 42 BC.
func truncYear(unit string, y int) int {
	switch unit {
	case "decade":
		if y > 0 {
			return y / 10 * 10
		}
		return -((8 - (y - 1)) / 10) * 10
	case "century":
		if y > 0 {
			return (y+99)/100*100 - 99
		}
		return -((99-(y-1))/100)*100 + 1
	}
	if y > 0 {
		return (y+999)/1000*1000 - 999
	}
	return -((999-(y-1))/1000)*1000 + 1
}

// truncIntervalUnits are date_trunc's units for an interval, largest
// first: truncating at one clears every field below it too.
var truncIntervalUnits = []string{"millennium", "century", "decade", "year", "quarter", "month",
	"day", "hour", "minute", "second", "milliseconds", "microseconds"}

// truncInterval is date_trunc of an interval, on its own fields (years =
// months / 12, then months, days, hours, minutes, seconds) as PostgreSQL
// truncates them, toward zero.
func truncInterval(unit string, iv types.IntervalValue) (types.Datum, error) {
	level := -1
	for i, u := range truncIntervalUnits {
		if u == canonicalUnit(unit) {
			level = i
		}
	}
	if level < 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "unit \"%s\" not supported for type interval", unit)
	}
	f := splitInterval(iv)
	at := func(u string) bool { // u is the unit or one below it
		for i := level; i < len(truncIntervalUnits); i++ {
			if truncIntervalUnits[i] == u {
				return true
			}
		}
		return false
	}
	if at("millennium") {
		f.year = f.year / 1000 * 1000
	}
	if at("century") {
		f.year = f.year / 100 * 100
	}
	if at("decade") {
		f.year = f.year / 10 * 10
	}
	if at("year") {
		f.mon = 0
	}
	if at("quarter") {
		f.mon = 3 * (f.mon / 3)
	}
	if at("month") {
		f.mday = 0
	}
	if at("day") {
		f.hour = 0
	}
	if at("hour") {
		f.min = 0
	}
	if at("minute") {
		f.sec = 0
	}
	if at("second") {
		f.usec = 0
	}
	if at("milliseconds") {
		f.usec = f.usec / 1000 * 1000
	}
	micros := f.hour*3600e6 + int64(f.min)*60e6 + int64(f.sec)*1e6 + int64(f.usec)
	return types.IntervalValue{Months: int32(f.year*12 + f.mon), Days: int32(f.mday), Micros: micros}, nil
}

func resolveDatePart(name string, ret types.T) func(args []types.T) ([]types.T, types.T, Kernel, error) {
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 2 {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		src := args[1]
		if src.Kind == types.Unknown {
			src = types.TimestampT
		}
		if !src.IsTemporal() && src.Kind != types.Interval {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		rows := zoneKernel(ret, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
			unit := canonicalUnit(strings.ToLower(ds[0].(string)))
			if sign := infiniteSign(ds[1]); sign != 0 {
				return infinitePart(unit, src, sign, ret, zone)
			}
			f, err := datePartIn(unit, src, ds[1], zone)
			if err != nil {
				return nil, err
			}
			if ret.Kind == types.Numeric {
				return CastDatum(f, types.Float8T, ret, true)
			}
			return f, nil
		})
		return []types.T{textT, src}, ret, datePartKernel(rows, src, ret), nil
	}
}

// datePartIn is datePart with a timestamptz's fields taken in zone.
func datePartIn(unit string, t types.T, d types.Datum, zone *time.Location) (float64, error) {
	if t.Kind == types.TimestampTZ {
		us := d.(int64)
		if f, ok := zoneField(unit, us, zone); ok {
			return f, nil
		}
		return datePart(unit, t, timestampTZFields(unit, us, zone))
	}
	return datePart(unit, t, d)
}

func datePart(unit string, t types.T, d types.Datum) (float64, error) {
	if t.Kind == types.Interval {
		iv := d.(types.IntervalValue)
		switch unit {
		case "year", "years":
			return float64(iv.Months / 12), nil
		case "month", "months":
			return float64(iv.Months % 12), nil
		case "day", "days":
			return float64(iv.Days), nil
		case "hour", "hours":
			return float64(iv.Micros / 3600e6), nil
		case "minute", "minutes":
			return float64(iv.Micros / 60e6 % 60), nil
		case "second", "seconds":
			return float64(iv.Micros%60e6) / 1e6, nil
		case "epoch":
			// PostgreSQL counts a year of an interval as 365.25 days, the
			// remaining months as 30
			return float64(iv.Micros)/1e6 + float64(iv.Days)*86400 +
				float64(iv.Months/12)*365.25*86400 + float64(iv.Months%12)*30*86400, nil
		}
		return 0, badUnit(unit)
	}
	var us int64
	switch v := d.(type) {
	case int32:
		us = int64(v) * types.MicrosPerDay
	case int64:
		us = v
	}
	tm := toTime(us)
	switch unit {
	case "year", "years":
		return float64(eraYear(tm.Year())), nil
	case "month", "months":
		return float64(tm.Month()), nil
	case "day", "days":
		return float64(tm.Day()), nil
	case "hour", "hours":
		return float64(tm.Hour()), nil
	case "minute", "minutes":
		return float64(tm.Minute()), nil
	case "second", "seconds":
		return float64(tm.Second()) + float64(tm.Nanosecond())/1e9, nil
	case "milliseconds":
		return float64(tm.Second())*1000 + float64(tm.Nanosecond())/1e6, nil
	case "microseconds":
		return float64(tm.Second())*1e6 + float64(tm.Nanosecond()/1000), nil
	case "dow":
		return float64(tm.Weekday()), nil
	case "isodow":
		return float64((int(tm.Weekday())+6)%7 + 1), nil
	case "doy":
		return float64(tm.YearDay()), nil
	case "week":
		_, w := tm.ISOWeek()
		return float64(w), nil
	case "quarter":
		return float64((int(tm.Month())-1)/3 + 1), nil
	case "decade":
		return float64(decadeOf(tm.Year())), nil
	case "century":
		return float64(centuryOf(tm.Year(), 100)), nil
	case "millennium", "millenniums":
		return float64(centuryOf(tm.Year(), 1000)), nil
	case "epoch":
		return float64(us) / 1e6, nil
	case "isoyear":
		y, _ := tm.ISOWeek()
		return float64(eraYear(y)), nil
	case "julian":
		// the Julian day, with the time of day as its fraction
		day := floorDiv(us, types.MicrosPerDay)
		return float64(day+julianDayOfEpoch) + float64(us-day*types.MicrosPerDay)/float64(types.MicrosPerDay), nil
	}
	return 0, badUnit(unit)
}

func resolveAge(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) == 1 {
		return resolveAgeFromToday(args)
	}
	if len(args) != 2 {
		return nil, types.T{}, nil, NoSuchFunction("age", args)
	}
	ts := types.TimestampT
	bothUnknown := args[0].Kind == types.Unknown && args[1].Kind == types.Unknown
	// two literals take timestamptz, PostgreSQL's preferred type of the category
	if args[0].Kind == types.TimestampTZ || args[1].Kind == types.TimestampTZ || bothUnknown {
		// age(timestamptz, timestamptz) counts on the session zone's calendar
		tz := types.TimestampTZT
		return []types.T{tz, tz}, types.IntervalT, zoneKernel(types.IntervalT, func(zone *time.Location, ds []types.Datum) (types.Datum, error) {
			return Age(types.ToLocal(ds[0].(int64), zone), types.ToLocal(ds[1].(int64), zone)), nil
		}), nil
	}
	return []types.T{ts, ts}, types.IntervalT, rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
		return Age(ds[0].(int64), ds[1].(int64)), nil
	}), nil
}

// resolveAgeFromToday is age(x): age(current_date, x), today's midnight
// on the session zone's calendar.
func resolveAgeFromToday(args []types.T) ([]types.T, types.T, Kernel, error) {
	if args[0].Kind == types.Unknown {
		// PostgreSQL cannot choose between age(timestamp) and
		// age(timestamptz) for a literal
		return nil, types.T{}, nil, sqlerr.New(sqlerr.AmbiguousFunction, "function age(unknown) is not unique").
			WithHint("Could not choose a best candidate function. You might need to add explicit type casts.")
	}
	t := types.TimestampT
	if args[0].Kind == types.TimestampTZ {
		t = types.TimestampTZT
	} else if !ImplicitCast(args[0], t) {
		return nil, types.T{}, nil, NoSuchFunction("age", args)
	}
	zoned := t.Kind == types.TimestampTZ
	kernel := func(ec *EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
		zone, now := ec.Env.TimeZone(), time.Now()
		if ec.Env != nil && !ec.Env.Now.IsZero() {
			now = ec.Env.Now
		}
		local := types.ToLocal(now.UnixMicro(), zone)
		today := floorDiv(local, types.MicrosPerDay) * types.MicrosPerDay
		return rowKernel(types.IntervalT, func(ds []types.Datum) (types.Datum, error) {
			x := ds[0].(int64)
			if zoned {
				x = types.ToLocal(x, zone)
			}
			return Age(today, x), nil
		})(ec, in, n)
	}
	return []types.T{t}, types.IntervalT, kernel, nil
}

// Age is PostgreSQL's age(a, b): a symbolic difference in years, months and
// days, then time.
func Age(a, b int64) types.IntervalValue {
	neg := a < b
	if neg {
		a, b = b, a
	}
	ta, tb := toTime(a), toTime(b)
	months := (ta.Year()-tb.Year())*12 + int(ta.Month()) - int(tb.Month())
	days := ta.Day() - tb.Day()
	clock := (a - floorDiv(a, types.MicrosPerDay)*types.MicrosPerDay) - (b - floorDiv(b, types.MicrosPerDay)*types.MicrosPerDay)
	if clock < 0 {
		clock += types.MicrosPerDay
		days--
	}
	for days < 0 {
		// PostgreSQL borrows the length of the earlier date's month
		months--
		days += time.Date(tb.Year(), tb.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
	}
	iv := types.IntervalValue{Months: int32(months), Days: int32(days), Micros: clock}
	if neg {
		iv = negInterval(iv)
	}
	return iv
}
