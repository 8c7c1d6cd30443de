package exec

import (
	"math"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// infiniteSign is +1 for an infinite date or timestamp, -1 for its
// -infinity, and 0 for a finite one or any other value.
func infiniteSign(d types.Datum) int {
	switch v := d.(type) {
	case int32:
		switch v {
		case types.DatePosInfinity:
			return 1
		case types.DateNegInfinity:
			return -1
		}
	case int64:
		switch v {
		case types.TimestampPosInfinity:
			return 1
		case types.TimestampNegInfinity:
			return -1
		}
	}
	return 0
}

// unitAliases are the spellings of extract's and date_part's fields that
// PostgreSQL accepts besides the canonical ones.
var unitAliases = map[string]string{
	"years": "year", "y": "year", "yr": "year", "yrs": "year",
	"months": "month", "mon": "month", "mons": "month",
	"days": "day", "d": "day",
	"hours": "hour", "h": "hour", "hr": "hour", "hrs": "hour",
	"minutes": "minute", "m": "minute", "min": "minute", "mins": "minute",
	"seconds": "second", "s": "second", "sec": "second", "secs": "second",
	"millisecond": "milliseconds", "ms": "milliseconds", "msec": "milliseconds", "msecs": "milliseconds", "mseconds": "milliseconds",
	"microsecond": "microseconds", "us": "microseconds", "usec": "microseconds", "usecs": "microseconds", "useconds": "microseconds",
	"weeks": "week", "w": "week",
	"decades": "decade", "dec": "decade", "decs": "decade",
	"centuries": "century", "c": "century", "cent": "century",
	"millennia": "millennium", "millenniums": "millennium", "mil": "millennium", "mils": "millennium",
	"j": "julian", "jd": "julian",
	"qtr":        "quarter",
	"timezone_h": "timezone_hour", "timezone_m": "timezone_minute",
}

// canonicalUnit maps a lower-cased field name to the one datePart reads.
func canonicalUnit(unit string) string {
	if c, ok := unitAliases[unit]; ok {
		return c
	}
	return unit
}

// monotonicUnits are the fields that grow with the value: of infinity
// they are infinite, as PostgreSQL 15 answers; the other fields of an
// infinite value are NULL.
var monotonicUnits = map[string]bool{
	"year": true, "decade": true, "century": true, "millennium": true,
	"julian": true, "isoyear": true, "epoch": true,
}

// infinitePart is extract or date_part of an infinite date or timestamp
// (sign ±1) of type t: ±Infinity for a field that grows with time, NULL
// for the others; a field the type does not have gives the error a
// finite value gives. numeric (extract) has no infinity in Weft.
func infinitePart(unit string, t types.T, sign int, ret types.T, zone *time.Location) (types.Datum, error) {
	finite := types.Datum(int64(0))
	if t.Kind == types.Date {
		finite = int32(0)
	}
	if _, err := datePartIn(unit, t, finite, zone); err != nil {
		return nil, err
	}
	if !monotonicUnits[unit] {
		return nil, nil
	}
	if ret.Kind == types.Numeric {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "extract(%s) of an infinite %s is numeric infinity, which Weft does not support", unit, t).
			WithHint("Use date_part, which returns double precision.")
	}
	return math.Inf(sign), nil
}
