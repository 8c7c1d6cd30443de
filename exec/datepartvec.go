package exec

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// extract(year FROM o_orderdate) ran per row through datums, time.Time
// and a float-to-numeric cast (TPC-H q07, q08, q09: 1.5 µs a row). The
// calendar fields of a date or timestamp column under a constant unit are
// computed here in one loop over the values instead.

// datePartKernel is rows, the per-row kernel of extract or date_part of a
// src value, with a typed loop in front for a constant unit of year,
// month, day or quarter over a date or timestamp.
func datePartKernel(rows Kernel, src, ret types.T) Kernel {
	if src.Kind != types.Date && src.Kind != types.Timestamp {
		return rows
	}
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		unit, ok := constantText(args[0])
		if !ok {
			return rows(ec, args, n)
		}
		field := civilField(strings.ToLower(unit))
		if field == nil || hasInfinite(args[1], src) {
			return rows(ec, args, n)
		}
		return datePartLoop(ec, args[1], src, ret, field, n), nil
	}
}

// hasInfinite reports whether a date or timestamp column holds infinity
// or -infinity, whose fields the typed loop does not compute.
func hasInfinite(a arrow.Array, src types.T) bool {
	if src.Kind == types.Date {
		for _, v := range values[int32](a) {
			if !types.DateIsFinite(v) {
				return true
			}
		}
		return false
	}
	for _, v := range values[int64](a) {
		if !types.TimestampIsFinite(v) {
			return true
		}
	}
	return false
}

// civilField picks a calendar field from (year, month, day); nil for the
// units the typed loop does not cover.
func civilField(unit string) func(y, m, d int64) int64 {
	switch unit {
	case "year", "years":
		return func(y, _, _ int64) int64 { return int64(eraYear(int(y))) }
	case "month", "months":
		return func(_, m, _ int64) int64 { return m }
	case "day", "days":
		return func(_, _, d int64) int64 { return d }
	case "quarter":
		return func(_, m, _ int64) int64 { return (m-1)/3 + 1 }
	}
	return nil
}

// datePartLoop computes field for each value of a (dates are days since
// 1970-01-01, timestamps microseconds since then), as ret: numeric at its
// scale, or float8.
func datePartLoop(ec *EvalContext, a arrow.Array, src, ret types.T, field func(y, m, d int64) int64, n int) arrow.Array {
	day := func(i int) int64 { return 0 }
	switch src.Kind {
	case types.Date:
		vals := values[int32](a)
		day = func(i int) int64 { return int64(vals[i]) }
	default:
		vals := values[int64](a)
		day = func(i int) int64 { return floorDiv(vals[i], types.MicrosPerDay) }
	}
	validity, nulls := combineValidity(ec.Mem, n, a)
	if ret.Kind == types.Numeric {
		scale := types.Pow10[decimalScaleOf(ret)]
		buf, out := allocDecimals(ec.Mem, n)
		for i := range out {
			y, m, d := civilFromDays(day(i))
			out[i] = decimal128.FromI64(field(y, m, d) * int64(scale))
		}
		return makeArray(ret.Arrow(), n, validity, buf, nulls)
	}
	buf, out := allocFixed[float64](ec.Mem, n)
	for i := range out {
		y, m, d := civilFromDays(day(i))
		out[i] = float64(field(y, m, d))
	}
	return makeArray(ret.Arrow(), n, validity, buf, nulls)
}

// civilFromDays is the proleptic Gregorian date of a day count from
// 1970-01-01, the year numbered astronomically (0 is 1 BC) as Go's time
// does: whole 400-year eras, then the year of the era from a March-based
// calendar that puts leap days last.
func civilFromDays(z int64) (year, month, day int64) {
	z += 719468 // days from 0000-03-01
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097 // (rounding down)
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], March first
	day = doy - (153*mp+2)/5 + 1
	month = mp + 3
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}
