package exec

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// zoneKernel is rowKernel for functions that depend on the session's time
// zone (NULL in, NULL out).
func zoneKernel(ret types.T, f func(zone *time.Location, ds []types.Datum) (types.Datum, error)) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		zone := ec.Env.TimeZone()
		return rowKernel(ret, func(ds []types.Datum) (types.Datum, error) { return f(zone, ds) })(ec, args, n)
	}
}

// AddIntervalIn adds an interval to a timestamptz as PostgreSQL does: the
// months and days move the wall clock in the zone (so '1 day' across a
// daylight-saving change is 23 or 25 hours), the time part moves the
// instant.
func AddIntervalIn(us int64, iv types.IntervalValue, zone *time.Location) (int64, error) {
	if iv.Months == 0 && iv.Days == 0 || zone == nil || zone == time.UTC || !types.TimestampIsFinite(us) {
		return AddInterval(us, iv)
	}
	local, err := AddInterval(types.ToLocal(us, zone), types.IntervalValue{Months: iv.Months, Days: iv.Days})
	if err != nil {
		return 0, err
	}
	return AddInterval(types.FromLocal(local, zone), types.IntervalValue{Micros: iv.Micros})
}

// zoneCache resolves the zone argument of timezone(zone, ts) once per
// distinct value within a batch (zone lookups read the zone database).
type zoneCache map[string]*time.Location

func (c zoneCache) zone(d types.Datum) (*time.Location, error) {
	if iv, ok := d.(types.IntervalValue); ok {
		return types.IntervalZone(iv)
	}
	name := d.(string)
	if loc, ok := c[name]; ok {
		return loc, nil
	}
	loc, err := types.ZoneArgument(name)
	if err != nil {
		return nil, err
	}
	c[name] = loc
	return loc, nil
}

// resolveTimezone is timezone(zone, ts), which AT TIME ZONE becomes: a
// timestamptz gives the wall-clock timestamp in zone, a timestamp is read
// as wall-clock time in zone and gives the instant. zone is text or an
// interval (east of UTC).
func resolveTimezone(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) != 2 {
		return nil, types.T{}, nil, NoSuchFunction("timezone", args)
	}
	zoneT := textT
	switch {
	case args[0].Kind == types.Interval:
		zoneT = types.IntervalT
	case args[0].IsString() || args[0].Kind == types.Unknown:
	default:
		return nil, types.T{}, nil, NoSuchFunction("timezone", args)
	}
	var tsT, ret types.T
	switch args[1].Kind {
	case types.Timestamp:
		tsT, ret = types.TimestampT, types.TimestampTZT
	case types.TimestampTZ, types.Date, types.Unknown:
		// PostgreSQL prefers timestamptz for a literal, and a date becomes one
		tsT, ret = types.TimestampTZT, types.TimestampT
	default:
		return nil, types.T{}, nil, NoSuchFunction("timezone", args)
	}
	toLocal := tsT.Kind == types.TimestampTZ
	return []types.T{zoneT, tsT}, ret, func(ec *EvalContext, arrs []arrow.Array, n int) (arrow.Array, error) {
		zones := zoneCache{}
		return rowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
			loc, err := zones.zone(ds[0])
			if err != nil {
				return nil, err
			}
			us := ds[1].(int64)
			switch {
			case !types.TimestampIsFinite(us):
				return us, nil
			case toLocal:
				return types.CheckTimestamp(types.ToLocal(us, loc))
			}
			return types.CheckTimestamp(types.FromLocal(us, loc))
		})(ec, arrs, n)
	}, nil
}

// truncTimestampTZ is date_trunc for a timestamptz in zone: the wall clock
// is truncated; from 'day' up the result is that local time's instant
// (the offset may differ), below it the original offset is kept, as
// PostgreSQL does.
func truncTimestampTZ(unit string, us int64, zone *time.Location) (types.Datum, error) {
	if !types.TimestampIsFinite(us) {
		return us, nil
	}
	off := int64(types.OffsetAt(us, zone)) * 1_000_000
	d, err := truncTimestamp(unit, us+off)
	if err != nil {
		return nil, err
	}
	local := d.(int64)
	switch unit {
	case "microseconds", "milliseconds", "second", "minute", "hour":
		return local - off, nil
	}
	return types.FromLocal(local, zone), nil
}

// zoneField is extract's timezone, timezone_hour and timezone_minute of
// a timestamptz: its offset east of UTC in the session zone.
func zoneField(unit string, us int64, zone *time.Location) (float64, bool) {
	off := types.OffsetAt(us, zone)
	switch unit {
	case "timezone":
		return float64(off), true
	case "timezone_hour":
		return float64(off / 3600), true
	case "timezone_minute":
		return float64(off / 60 % 60), true
	}
	return 0, false
}

// timestampTZFields is the wall-clock value datePart reads fields from.
func timestampTZFields(unit string, us int64, zone *time.Location) int64 {
	if strings.EqualFold(unit, "epoch") {
		return us
	}
	return types.ToLocal(us, zone)
}

// zoneKernelNullable is zoneKernel for a function that sees NULL arguments
// (and may return a value for them).
func zoneKernelNullable(ret types.T, f func(zone *time.Location, ds []types.Datum) (types.Datum, error)) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		zone := ec.Env.TimeZone()
		return rowKernelNullable(ret, func(ds []types.Datum) (types.Datum, error) { return f(zone, ds) })(ec, args, n)
	}
}
