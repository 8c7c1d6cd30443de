package exec

import (
	"math"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// justify_hours, justify_days and justify_interval move whole days out of
// the time part and whole 30-day months out of the days, then make the
// parts agree in sign, as PostgreSQL's interval.c does.

const daysPerMonth = 30

func intervalOutOfRange() error {
	return sqlerr.New(sqlerr.DatetimeOverflow, "interval out of range")
}

// addInt32 adds without wrapping past int32.
func addInt32(a int32, b int64) (int32, error) {
	s := int64(a) + b
	if s > math.MaxInt32 || s < math.MinInt32 {
		return 0, intervalOutOfRange()
	}
	return int32(s), nil
}

func justifyHours(ds []types.Datum) (types.Datum, error) {
	iv := ds[0].(types.IntervalValue)
	wholeDays := iv.Micros / types.MicrosPerDay
	iv.Micros -= wholeDays * types.MicrosPerDay
	var err error
	if iv.Days, err = addInt32(iv.Days, wholeDays); err != nil {
		return nil, err
	}
	return daysTimeSameSign(iv), nil
}

func justifyDays(ds []types.Datum) (types.Datum, error) {
	iv := ds[0].(types.IntervalValue)
	wholeMonths := iv.Days / daysPerMonth
	iv.Days -= wholeMonths * daysPerMonth
	var err error
	if iv.Months, err = addInt32(iv.Months, int64(wholeMonths)); err != nil {
		return nil, err
	}
	switch {
	case iv.Months > 0 && iv.Days < 0:
		iv.Days += daysPerMonth
		iv.Months--
	case iv.Months < 0 && iv.Days > 0:
		iv.Days -= daysPerMonth
		iv.Months++
	}
	return iv, nil
}

func justifyInterval(ds []types.Datum) (types.Datum, error) {
	iv := ds[0].(types.IntervalValue)
	var err error
	if iv.Days > 0 && iv.Micros > 0 || iv.Days < 0 && iv.Micros < 0 {
		// months first, so that adding the time's days cannot overflow
		wholeMonths := iv.Days / daysPerMonth
		iv.Days -= wholeMonths * daysPerMonth
		if iv.Months, err = addInt32(iv.Months, int64(wholeMonths)); err != nil {
			return nil, err
		}
	}
	wholeDays := iv.Micros / types.MicrosPerDay
	iv.Micros -= wholeDays * types.MicrosPerDay
	if iv.Days, err = addInt32(iv.Days, wholeDays); err != nil {
		return nil, err
	}
	wholeMonths := iv.Days / daysPerMonth
	iv.Days -= wholeMonths * daysPerMonth
	if iv.Months, err = addInt32(iv.Months, int64(wholeMonths)); err != nil {
		return nil, err
	}
	switch {
	case iv.Months > 0 && (iv.Days < 0 || iv.Days == 0 && iv.Micros < 0):
		iv.Days += daysPerMonth
		iv.Months--
	case iv.Months < 0 && (iv.Days > 0 || iv.Days == 0 && iv.Micros > 0):
		iv.Days -= daysPerMonth
		iv.Months++
	}
	return daysTimeSameSign(iv), nil
}

// daysTimeSameSign borrows a day so that days and time agree in sign.
func daysTimeSameSign(iv types.IntervalValue) types.IntervalValue {
	switch {
	case iv.Days > 0 && iv.Micros < 0:
		iv.Micros += types.MicrosPerDay
		iv.Days--
	case iv.Days < 0 && iv.Micros > 0:
		iv.Micros -= types.MicrosPerDay
		iv.Days++
	}
	return iv
}

// overlayDef is overlay(s placing r from n [for m]) over text or bytea:
// s with m characters (bytes) from position n replaced by r; m defaults
// to r's length.
func overlayDef() *ScalarDef {
	bytea := types.ByteaT
	return overloads("overlay",
		sig("overlay", []types.T{textT, textT, int4T, int4T}, textT, overlayText),
		sig("overlay", []types.T{textT, textT, int4T}, textT, overlayText),
		sig("overlay", []types.T{bytea, bytea, int4T, int4T}, bytea, overlayBytes),
		sig("overlay", []types.T{bytea, bytea, int4T}, bytea, overlayBytes))
}

// overlaySpan is the kept prefix length and the suffix start (0-based)
// in a value of n units, or PostgreSQL's substring error.
func overlaySpan(n int, ds []types.Datum, replLen int) (int, int, error) {
	start := ds[2].(int64)
	length := int64(replLen)
	if len(ds) > 3 {
		length = ds[3].(int64)
	}
	if start < 1 {
		return 0, 0, sqlerr.New(sqlerr.SubstringError, "negative substring length not allowed")
	}
	if start > math.MaxInt32-length {
		return 0, 0, sqlerr.New(sqlerr.NumericOutOfRange, "integer out of range")
	}
	prefix := min(int(start-1), n)
	suffix := min(max(int(start+length-1), 0), n)
	return prefix, suffix, nil
}

func overlayText(ds []types.Datum) (types.Datum, error) {
	s, r := []rune(ds[0].(string)), ds[1].(string)
	prefix, suffix, err := overlaySpan(len(s), ds, len([]rune(r)))
	if err != nil {
		return nil, err
	}
	return string(s[:prefix]) + r + string(s[suffix:]), nil
}

func overlayBytes(ds []types.Datum) (types.Datum, error) {
	s, r := ds[0].([]byte), ds[1].([]byte)
	prefix, suffix, err := overlaySpan(len(s), ds, len(r))
	if err != nil {
		return nil, err
	}
	out := append(append(append(make([]byte, 0, prefix+len(r)+len(s)-suffix), s[:prefix]...), r...), s[suffix:]...)
	return out, nil
}
