package exec

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// intervalSumAcc is sum(interval) and avg(interval). As in PostgreSQL, the
// months, days and microseconds add up separately (an interval is not
// normalised: 36 hours stays 36 hours), and avg divides each part,
// carrying fractions of months into days (30 a month) and of days into
// time.
type intervalSumAcc struct {
	months, days, micros []int64
	count                []int64
	avg                  bool
}

func resolveIntervalSum(avg bool) func() Accumulator {
	return func() Accumulator { return &intervalSumAcc{avg: avg} }
}

func (a *intervalSumAcc) growTo(ng int) {
	a.months = grow(a.months, ng, 0)
	a.days = grow(a.days, ng, 0)
	a.micros = grow(a.micros, ng, 0)
	a.count = grow(a.count, ng, 0)
}

func (a *intervalSumAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.growTo(ng)
	src, ok := args[0].(*array.MonthDayNanoInterval)
	if !ok {
		return sqlerr.New(sqlerr.Internal, "sum(interval) over %T", args[0])
	}
	for i, g := range groups {
		if src.IsNull(i) {
			continue
		}
		v := src.Value(i)
		a.months[g] += int64(v.Months)
		a.days[g] += int64(v.Days)
		a.micros[g] += v.Nanoseconds / 1000
		a.count[g]++
	}
	return nil
}

func (a *intervalSumAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.growTo(ng)
	other := o.(*intervalSumAcc)
	for g := range other.count {
		d := mapping[g]
		a.months[d] += other.months[g]
		a.days[d] += other.days[g]
		a.micros[d] += other.micros[g]
		a.count[d] += other.count[g]
	}
}

func (a *intervalSumAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.growTo(ng)
	bld := newBuilder(ec, types.IntervalT)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		if a.count[g] == 0 {
			bld.AppendNull()
			continue
		}
		v := types.IntervalValue{Months: int32(a.months[g]), Days: int32(a.days[g]), Micros: a.micros[g]}
		if a.months[g] != int64(v.Months) || a.days[g] != int64(v.Days) {
			return nil, sqlerr.New(sqlerr.DatetimeOverflow, "interval out of range")
		}
		if a.avg {
			v = divideInterval(a.months[g], a.days[g], a.micros[g], float64(a.count[g]))
		}
		AppendDatum(bld, v)
	}
	return bld.NewArray(), nil
}

// divideInterval divides an interval's parts by n the way PostgreSQL's
// interval division does: whole months and days stay, the fraction of a
// month becomes days (30 a month) and the fraction of a day becomes time,
// each rounded to the microsecond.
func divideInterval(months, days, micros int64, n float64) types.IntervalValue {
	const daysPerMonth, secsPerDay = 30, 86400
	roundMicro := func(x float64) float64 { return math.RoundToEven(x*1e6) / 1e6 }
	m := float64(months) / n
	d := float64(days) / n
	out := types.IntervalValue{Months: int32(m), Days: int32(d)}
	monthDays := roundMicro((m - math.Trunc(m)) * daysPerMonth)
	secs := roundMicro((d - math.Trunc(d) + monthDays - math.Trunc(monthDays)) * secsPerDay)
	if math.Abs(secs) >= secsPerDay {
		whole := math.Trunc(secs / secsPerDay)
		out.Days += int32(whole)
		secs -= whole * secsPerDay
	}
	out.Days += int32(monthDays)
	out.Micros = int64(math.RoundToEven(float64(micros)/n + secs*1e6))
	return out
}
