package exec

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/weftdb/weft/sql/types"
)

// (start1, end1) OVERLAPS (start2, end2) arrives as overlaps() of four
// arguments: two periods, each a start and an end or a start and a
// length (an interval). Starts and ends are timestamps, timestamptz or
// times (dates become timestamps), as PostgreSQL's overloads take them.

// resolveOverlaps picks the period type: timestamptz when any argument
// is one, time when the starts are times, otherwise timestamp.
func resolveOverlaps(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) != 4 {
		return nil, types.T{}, nil, NoSuchFunction("overlaps", args)
	}
	base := types.TimestampT
	for _, a := range args {
		if a.Kind == types.TimestampTZ {
			base = types.TimestampTZT
		}
	}
	if base.Kind == types.Timestamp && (args[0].Kind == types.Time || args[2].Kind == types.Time) {
		base = types.TimeT
	}
	params := make([]types.T, 4)
	for i, a := range args {
		switch {
		case i%2 == 1 && a.Kind == types.Interval:
			params[i] = types.IntervalT
		case ImplicitCast(a, base) || (a.Kind == types.Date && base.Kind != types.Time):
			params[i] = base
		default:
			return nil, types.T{}, nil, NoSuchFunction("overlaps", args)
		}
	}
	kernel := func(ec *EvalContext, in []arrow.Array, n int) (arrow.Array, error) {
		zone := ec.Env.TimeZone()
		return rowKernelNullable(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
			s1, e1, err := periodBounds(base, ds[0], ds[1], zone)
			if err != nil {
				return nil, err
			}
			s2, e2, err := periodBounds(base, ds[2], ds[3], zone)
			if err != nil {
				return nil, err
			}
			return periodsOverlap(s1, e1, s2, e2), nil
		})(ec, in, n)
	}
	return params, types.BoolT, kernel, nil
}

// periodBounds is a period's start and end as microseconds (nil for
// NULL): an interval end is the start plus it.
func periodBounds(base types.T, start, end types.Datum, zone *time.Location) (*int64, *int64, error) {
	var s, e *int64
	if start != nil {
		v := start.(int64)
		s = &v
	}
	switch x := end.(type) {
	case int64:
		e = &x
	case types.IntervalValue:
		if s == nil {
			break
		}
		var v int64
		var err error
		switch base.Kind {
		case types.Time:
			v = addToClock(*s, x)
		case types.TimestampTZ:
			v, err = AddIntervalIn(*s, x, zone)
		default:
			v, err = AddInterval(*s, x)
		}
		if err != nil {
			return nil, nil, err
		}
		e = &v
	}
	return s, e, nil
}

// periodsOverlap is PostgreSQL's overlaps_timestamp: each period is put in
// order (a NULL start takes the end's place), then the periods overlap
// when one starts inside the other; a NULL that could change the
// answer makes it NULL.
func periodsOverlap(s1, e1, s2, e2 *int64) types.Datum {
	s1, e1, ok1 := orderPeriod(s1, e1)
	s2, e2, ok2 := orderPeriod(s2, e2)
	if !ok1 || !ok2 {
		return nil
	}
	switch {
	case *s1 > *s2:
		if e2 == nil {
			return nil
		}
		if *s1 < *e2 {
			return true
		}
		if e1 == nil {
			return nil
		}
		return false
	case *s1 < *s2:
		if e1 == nil {
			return nil
		}
		if *s2 < *e1 {
			return true
		}
		if e2 == nil {
			return nil
		}
		return false
	}
	// equal starts: overlap whatever the ends, unless one is unknown
	if e1 == nil || e2 == nil {
		return nil
	}
	return true
}

// orderPeriod puts a period's bounds in order; ok is false when both are
// NULL.
func orderPeriod(s, e *int64) (*int64, *int64, bool) {
	switch {
	case s == nil && e == nil:
		return nil, nil, false
	case s == nil:
		return e, nil, true
	case e != nil && *s > *e:
		return e, s, true
	}
	return s, e, true
}
