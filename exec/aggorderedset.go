package exec

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Ordered-set aggregates: percentile_cont(f), percentile_disc(f) and
// mode(), each WITHIN GROUP (ORDER BY x). The binder passes x as the first
// argument (the fraction f second) and x's sort key as the call's ORDER
// BY, so the rows reach these accumulators already sorted (orderedAcc);
// they keep each group's non-NULL values in that order.

// OrderedSetAggregates are the names that take WITHIN GROUP.
var OrderedSetAggregates = map[string]bool{"percentile_cont": true, "percentile_disc": true, "mode": true}

type orderedSetAcc struct {
	kind     string // percentile_cont, percentile_disc, mode
	t        types.T
	vals     [][]types.Datum
	fraction []types.Datum // per group: the first row's f
	hasFrac  []bool
}

func resolveOrderedSet(kind string) func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	return func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		want := len(args) == 2
		if kind == "mode" {
			want = len(args) == 1
		}
		if !want {
			return nil, types.T{}, nil, wrongAggArgs(kind, args)
		}
		x := args[0]
		if x.Kind == types.Unknown {
			x = types.TextT
		}
		argTypes := []types.T{x}
		if kind != "mode" {
			argTypes = append(argTypes, types.Float8T)
		}
		if kind == "percentile_cont" {
			// interpolation needs numbers (as float8) or intervals
			if x.Kind != types.Interval {
				if !x.IsInteger() && x.Kind != types.Numeric && !x.IsFloat() && x.Kind != types.Unknown {
					return nil, types.T{}, nil, wrongAggArgs(kind, args)
				}
				x = types.Float8T
			}
			argTypes[0] = x
		}
		ret := x
		return argTypes, ret, func() Accumulator { return &orderedSetAcc{kind: kind, t: x} }, nil
	}
}

func (a *orderedSetAcc) growTo(ng int) {
	a.vals = grow[[]types.Datum](a.vals, ng, nil)
	a.fraction = grow[types.Datum](a.fraction, ng, nil)
	a.hasFrac = grow(a.hasFrac, ng, false)
}

func (a *orderedSetAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.growTo(ng)
	for i, g := range groups {
		if len(args) > 1 && !a.hasFrac[g] {
			a.fraction[g], a.hasFrac[g] = DatumAt(args[1], i), true
		}
		if v := DatumAt(args[0], i); v != nil {
			a.vals[g] = append(a.vals[g], v)
		}
	}
	return nil
}

// Merge is never reached: orderedAcc wraps this accumulator and merges
// the unsorted rows itself.
func (a *orderedSetAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.growTo(ng)
	other := o.(*orderedSetAcc)
	for g, vs := range other.vals {
		a.vals[mapping[g]] = append(a.vals[mapping[g]], vs...)
	}
}

func (a *orderedSetAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.growTo(ng)
	bld := newBuilder(ec, a.t)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		v, err := a.value(g)
		if err != nil {
			return nil, err
		}
		AppendDatum(bld, v)
	}
	return bld.NewArray(), nil
}

func (a *orderedSetAcc) value(g int) (types.Datum, error) {
	vals := a.vals[g]
	if len(vals) == 0 {
		return nil, nil
	}
	if a.kind == "mode" {
		return a.mode(vals), nil
	}
	if a.fraction[g] == nil {
		return nil, nil
	}
	f := a.fraction[g].(float64)
	if f < 0 || f > 1 || math.IsNaN(f) {
		return nil, sqlerr.New(sqlerr.NumericOutOfRange, "percentile value %s is not between 0 and 1", types.FormatFloat(f, 64))
	}
	if a.kind == "percentile_disc" {
		// the first value whose position in the order reaches f
		i := int(math.Ceil(f*float64(len(vals)))) - 1
		return vals[max(i, 0)], nil
	}
	pos := f * float64(len(vals)-1)
	lo, hi := int(math.Floor(pos)), int(math.Ceil(pos))
	if lo == hi {
		return vals[lo], nil
	}
	frac := pos - float64(lo)
	if a.t.Kind == types.Interval {
		return interpolateInterval(vals[lo].(types.IntervalValue), vals[hi].(types.IntervalValue), frac), nil
	}
	x, y := vals[lo].(float64), vals[hi].(float64)
	return x + frac*(y-x), nil
}

// mode is the most frequent value; of equally frequent ones, the first
// in the order.
func (a *orderedSetAcc) mode(vals []types.Datum) types.Datum {
	best, bestN := vals[0], 0
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && CompareDatums(a.t, vals[j], vals[i]) == 0 {
			j++
		}
		if j-i > bestN {
			best, bestN = vals[i], j-i
		}
		i = j
	}
	return best
}

// interpolateInterval is lo + frac*(hi-lo) with PostgreSQL's interval
// arithmetic (each part scaled, fractions carried down).
func interpolateInterval(lo, hi types.IntervalValue, frac float64) types.IntervalValue {
	diff := divideInterval(int64(hi.Months-lo.Months), int64(hi.Days-lo.Days), hi.Micros-lo.Micros, 1/frac)
	return types.IntervalValue{Months: lo.Months + diff.Months, Days: lo.Days + diff.Days, Micros: lo.Micros + diff.Micros}
}
