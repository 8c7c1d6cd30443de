package exec

import (
	"math"
	"math/big"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Accumulator holds the running state of one aggregate for many groups.
// Groups are dense indexes; Update grows the state as new indexes appear.
type Accumulator interface {
	// Update folds rows into their groups: groups[i] is row i's group.
	Update(ec *EvalContext, groups []uint32, ngroups int, args []arrow.Array) error
	// Merge folds another accumulator of the same kind into this one; group g
	// of other becomes group mapping[g] here.
	Merge(other Accumulator, mapping []uint32, ngroups int)
	// Finish returns one value per group.
	Finish(ec *EvalContext, ngroups int) (arrow.Array, error)
}

// FallibleMerger is an Accumulator whose merge can fail (a wasm aggregate
// runs guest code to merge); HashAggregate prefers MergeErr over Merge.
type FallibleMerger interface {
	MergeErr(ec *EvalContext, other Accumulator, mapping []uint32, ngroups int) error
}

// ReleasingAccumulator holds resources (a wasm instance) that must be given
// back when the aggregation ends, whether it finished or failed.
type ReleasingAccumulator interface {
	Release()
}

// AggregateDef is a built-in aggregate function. Resolve picks the argument
// types to cast to and the result type, and returns a factory.
type AggregateDef struct {
	Name    string
	Resolve func(args []types.T) (argTypes []types.T, ret types.T, newAcc func() Accumulator, err error)
}

// Aggregates returns the built-in aggregate functions by name. The map is
// built once and shared: callers must not change it.
func Aggregates() map[string]*AggregateDef { return builtinAggregates() }

var builtinAggregates = sync.OnceValue(func() map[string]*AggregateDef {
	defs := []*AggregateDef{
		{Name: "count", Resolve: resolveCount},
		{Name: "sum", Resolve: resolveSum},
		{Name: "avg", Resolve: resolveAvg},
		{Name: "percentile_cont", Resolve: resolveOrderedSet("percentile_cont")},
		{Name: "percentile_disc", Resolve: resolveOrderedSet("percentile_disc")},
		{Name: "mode", Resolve: resolveOrderedSet("mode")},
		{Name: "min", Resolve: resolveMinMax(-1)},
		{Name: "max", Resolve: resolveMinMax(1)},
		{Name: "bool_and", Resolve: resolveBool(true)},
		{Name: "bool_or", Resolve: resolveBool(false)},
		{Name: "every", Resolve: resolveBool(true)},
		{Name: "string_agg", Resolve: resolveStringAgg},
		{Name: "array_agg", Resolve: resolveArrayAgg},
		{Name: "json_agg", Resolve: resolveJSONAgg(types.JSONT, false)},
		{Name: "jsonb_agg", Resolve: resolveJSONAgg(types.JSONBT, false)},
		{Name: "json_object_agg", Resolve: resolveJSONAgg(types.JSONT, true)},
		{Name: "jsonb_object_agg", Resolve: resolveJSONAgg(types.JSONBT, true)},
	}
	defs = append(defs, statisticsAggregates()...)
	m := make(map[string]*AggregateDef, len(defs))
	for _, d := range defs {
		m[d.Name] = d
	}
	return m
})

func wrongAggArgs(name string, args []types.T) error {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.String()
	}
	return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", name, strings.Join(names, ", "))
}

// grow extends s to n elements, the new ones zero, in one step.
func grow[T any](s []T, n int, zero T) []T {
	old := len(s)
	if old >= n {
		return s
	}
	s = growCap(s, n-old)[:n]
	for i := old; i < n; i++ {
		s[i] = zero
	}
	return s
}

// ---- count ----

type countAcc struct{ counts []int64 }

func resolveCount(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	if len(args) > 1 {
		return nil, types.T{}, nil, wrongAggArgs("count", args)
	}
	return args, types.Int8T, func() Accumulator { return &countAcc{} }, nil
}

func (a *countAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.counts = grow(a.counts, ng, 0)
	if len(args) == 0 || args[0].NullN() == 0 {
		for _, g := range groups {
			a.counts[g]++
		}
		return nil
	}
	for i, g := range groups {
		if args[0].IsValid(i) {
			a.counts[g]++
		}
	}
	return nil
}

func (a *countAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.counts = grow(a.counts, ng, 0)
	for g, c := range o.(*countAcc).counts {
		a.counts[mapping[g]] += c
	}
}

func (a *countAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.counts = grow(a.counts, ng, 0)
	buf, out := allocFixed[int64](ec.Mem, ng)
	copy(out, a.counts)
	return makeArray(arrow.PrimitiveTypes.Int64, ng, nil, buf, 0), nil
}

// ---- sum and avg over integers: int64 with exact overflow into big.Int ----

type intSumAcc struct {
	sums  []int64
	big   map[uint32]*big.Int // groups whose sum left int64
	seen  []bool
	count []int64
	avg   bool
	ret   types.T
}

func resolveSum(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	if len(args) != 1 {
		return nil, types.T{}, nil, wrongAggArgs("sum", args)
	}
	t := args[0]
	switch {
	case t.Kind == types.Int2 || t.Kind == types.Int4:
		return args, types.Int8T, func() Accumulator { return &intSumAcc{ret: types.Int8T} }, nil
	case t.Kind == types.Int8:
		ret := types.NumericT(0, 0)
		return args, ret, func() Accumulator { return &intSumAcc{ret: ret} }, nil
	case t.IsFloat():
		return args, t, func() Accumulator { return &floatSumAcc{ret: t} }, nil
	case t.Kind == types.Numeric:
		ret := types.NumericT(0, t.Scale)
		ret.Natural, ret.MinScale = t.Natural, t.MinScale
		return args, ret, func() Accumulator { return &decimalSumAcc{ret: ret, scale: t.Scale} }, nil
	case t.Kind == types.Interval:
		return args, types.IntervalT, resolveIntervalSum(false), nil
	case t.Kind == types.Unknown:
		return []types.T{types.Float8T}, types.Float8T, func() Accumulator { return &floatSumAcc{ret: types.Float8T} }, nil
	}
	return nil, types.T{}, nil, wrongAggArgs("sum", args)
}

func resolveAvg(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	if len(args) != 1 {
		return nil, types.T{}, nil, wrongAggArgs("avg", args)
	}
	t := args[0]
	ret := types.NumericT(0, types.DefaultNumericScale)
	switch {
	case t.IsInteger():
		return args, ret, func() Accumulator { return &intSumAcc{ret: ret, avg: true} }, nil
	case t.IsFloat(), t.Kind == types.Unknown:
		return []types.T{types.Float8T}, types.Float8T, func() Accumulator { return &floatSumAcc{ret: types.Float8T, avg: true} }, nil
	case t.Kind == types.Numeric:
		ret.Scale = max(t.Scale, types.DefaultNumericScale)
		return args, ret, func() Accumulator { return &decimalSumAcc{ret: ret, scale: t.Scale, avg: true} }, nil
	case t.Kind == types.Interval:
		return args, types.IntervalT, resolveIntervalSum(true), nil
	}
	return nil, types.T{}, nil, wrongAggArgs("avg", args)
}

func (a *intSumAcc) growTo(ng int) {
	a.sums = grow(a.sums, ng, 0)
	a.seen = grow(a.seen, ng, false)
	a.count = grow(a.count, ng, 0)
}

func (a *intSumAcc) add(g uint32, v int64) {
	s := a.sums[g]
	r := s + v
	if addOverflows(s, v, r) {
		if a.big == nil {
			a.big = map[uint32]*big.Int{}
		}
		b, ok := a.big[g]
		if !ok {
			b = new(big.Int)
			a.big[g] = b
		}
		b.Add(b, big.NewInt(s))
		r = v
	}
	a.sums[g] = r
	a.seen[g] = true
	a.count[g]++
}

func (a *intSumAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.growTo(ng)
	arr := args[0]
	hasNulls := arr.NullN() > 0
	switch src := arr.(type) {
	case *array.Int64:
		vals := src.Int64Values()
		if !hasNulls && a.big == nil {
			for i, g := range groups {
				s, v := a.sums[g], vals[i]
				r := s + v
				if addOverflows(s, v, r) {
					a.add(g, v)
					continue
				}
				a.sums[g] = r
				a.count[g]++
				a.seen[g] = true
			}
			return nil
		}
		for i, g := range groups {
			if !hasNulls || src.IsValid(i) {
				a.add(g, vals[i])
			}
		}
	case *array.Int32:
		addNarrow(a, groups, src.Int32Values(), arr)
	case *array.Int16:
		addNarrow(a, groups, src.Int16Values(), arr)
	}
	return nil
}

// addNarrow sums int2 or int4 values: adding one to a sum below 2^62 in
// magnitude cannot overflow, so only that bound is checked per row.
func addNarrow[T int16 | int32](a *intSumAcc, groups []uint32, vals []T, arr arrow.Array) {
	const safe = 1 << 62
	if arr.NullN() > 0 {
		for i, g := range groups {
			if arr.IsValid(i) {
				a.add(g, int64(vals[i]))
			}
		}
		return
	}
	for i, g := range groups {
		s := a.sums[g]
		if s > safe || s < -safe {
			a.add(g, int64(vals[i]))
			continue
		}
		a.sums[g] = s + int64(vals[i])
		a.count[g]++
		a.seen[g] = true
	}
}

func (a *intSumAcc) total(g int) *big.Int {
	t := big.NewInt(a.sums[g])
	if b, ok := a.big[uint32(g)]; ok {
		t.Add(t, b)
	}
	return t
}

func (a *intSumAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.growTo(ng)
	other := o.(*intSumAcc)
	for g := range other.sums {
		if !other.seen[g] {
			continue
		}
		dst := mapping[g]
		tot := other.total(g)
		if tot.IsInt64() {
			a.add(dst, tot.Int64())
		} else {
			if a.big == nil {
				a.big = map[uint32]*big.Int{}
			}
			if a.big[dst] == nil {
				a.big[dst] = new(big.Int)
			}
			a.big[dst].Add(a.big[dst], tot)
			a.seen[dst] = true
			a.count[dst]++
		}
		a.count[dst] += other.count[g] - 1
	}
}

func (a *intSumAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.growTo(ng)
	bld := newBuilder(ec, a.ret)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		if !a.seen[g] {
			bld.AppendNull()
			continue
		}
		if _, spilled := a.big[uint32(g)]; !spilled && !a.avg {
			// the common case: the sum is the int64, no big numbers
			if a.ret.Kind == types.Int8 {
				AppendDatum(bld, a.sums[g])
			} else {
				AppendDatum(bld, types.Datum(decimal128.FromI64(a.sums[g])))
			}
			continue
		}
		tot := a.total(g)
		switch {
		case a.avg:
			d, err := types.RatToNumeric(new(big.Rat).SetFrac(tot, big.NewInt(a.count[g])), a.ret)
			if err != nil {
				return nil, err
			}
			AppendDatum(bld, d)
		case a.ret.Kind == types.Int8:
			if !tot.IsInt64() {
				return nil, types.OutOfRange(types.Int8T)
			}
			AppendDatum(bld, tot.Int64())
		default:
			d, err := types.RatToNumeric(new(big.Rat).SetInt(tot), a.ret)
			if err != nil {
				return nil, err
			}
			AppendDatum(bld, d)
		}
	}
	return bld.NewArray(), nil
}

// ---- float sum/avg ----

type floatSumAcc struct {
	sums  []float64
	count []int64
	avg   bool
	ret   types.T
}

func (a *floatSumAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.sums = grow(a.sums, ng, 0)
	a.count = grow(a.count, ng, 0)
	arr := args[0]
	switch src := arr.(type) {
	case *array.Float64:
		sumFloats(a, groups, src.Float64Values(), arr)
	case *array.Float32:
		sumFloats(a, groups, src.Float32Values(), arr)
	}
	return nil
}

func sumFloats[T float32 | float64](a *floatSumAcc, groups []uint32, vals []T, arr arrow.Array) {
	if arr.NullN() == 0 {
		for i, g := range groups {
			a.sums[g] += float64(vals[i])
			a.count[g]++
		}
		return
	}
	for i, g := range groups {
		if arr.IsValid(i) {
			a.sums[g] += float64(vals[i])
			a.count[g]++
		}
	}
}

func (a *floatSumAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.sums = grow(a.sums, ng, 0)
	a.count = grow(a.count, ng, 0)
	other := o.(*floatSumAcc)
	for g := range other.sums {
		a.sums[mapping[g]] += other.sums[g]
		a.count[mapping[g]] += other.count[g]
	}
}

func (a *floatSumAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.sums = grow(a.sums, ng, 0)
	a.count = grow(a.count, ng, 0)
	bld := newBuilder(ec, a.ret)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		switch {
		case a.count[g] == 0:
			bld.AppendNull()
		case a.avg:
			AppendDatum(bld, a.sums[g]/float64(a.count[g]))
		default:
			AppendDatum(bld, a.sums[g])
		}
	}
	return bld.NewArray(), nil
}

// ---- numeric sum/avg: a 128-bit sum per group, exact beyond it ----

// decimalSumAcc sums decimals of one scale as scaled integers. A group
// whose sum would leave 128 bits moves the part it holds so far into a
// big.Int and starts again from the value, so no sum is ever lost.
type decimalSumAcc struct {
	sums     []decimal128.Num
	count    []int64
	overflow map[uint32]*big.Int // groups whose sum left 128 bits
	scale    int32
	avg      bool
	ret      types.T
}

func (a *decimalSumAcc) growTo(ng int) {
	a.sums = grow(a.sums, ng, decimal128.Num{})
	a.count = grow(a.count, ng, 0)
}

// add folds v into group g's sum, spilling the sum so far when the
// 128-bit sum would overflow.
func (a *decimalSumAcc) add(g uint32, v decimal128.Num) {
	r, ok := addDecimalChecked(a.sums[g], v)
	if !ok {
		r = a.spill(g, a.sums[g], v)
	}
	a.sums[g] = r
}

// spill moves s, group g's running sum, into its exact overflow sum and
// returns v, the sum to go on from.
func (a *decimalSumAcc) spill(g uint32, s, v decimal128.Num) decimal128.Num {
	if a.overflow == nil {
		a.overflow = map[uint32]*big.Int{}
	}
	b, ok := a.overflow[g]
	if !ok {
		b = new(big.Int)
		a.overflow[g] = b
	}
	b.Add(b, s.BigInt())
	return v
}

func (a *decimalSumAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.growTo(ng)
	arr := args[0]
	vals := decimalValues(arr)
	if arr.NullN() == 0 {
		for i, g := range groups {
			// a.add, written out: the compiler does not inline it
			r, ok := addDecimalChecked(a.sums[g], vals[i])
			if !ok {
				r = a.spill(g, a.sums[g], vals[i])
			}
			a.sums[g] = r
			a.count[g]++
		}
		return nil
	}
	for i, g := range groups {
		if arr.IsValid(i) {
			a.add(g, vals[i])
			a.count[g]++
		}
	}
	return nil
}

func (a *decimalSumAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.growTo(ng)
	other := o.(*decimalSumAcc)
	for g, c := range other.count {
		if c == 0 {
			continue
		}
		dst := mapping[g]
		a.add(dst, other.sums[g])
		if b, ok := other.overflow[uint32(g)]; ok {
			if a.overflow == nil {
				a.overflow = map[uint32]*big.Int{}
			}
			if a.overflow[dst] == nil {
				a.overflow[dst] = new(big.Int)
			}
			a.overflow[dst].Add(a.overflow[dst], b)
		}
		a.count[dst] += c
	}
}

func (a *decimalSumAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.growTo(ng)
	bld := newBuilder(ec, a.ret).(*array.Decimal128Builder)
	defer bld.Release()
	bld.Reserve(ng)
	for g := 0; g < ng; g++ {
		if a.count[g] == 0 {
			bld.AppendNull()
			continue
		}
		d, ok := a.fixedResult(g)
		if !ok {
			var err error
			if d, err = a.exactResult(g); err != nil {
				return nil, err
			}
		}
		bld.Append(d)
	}
	return bld.NewArray(), nil
}

// fixedResult is group g's sum or average without big numbers; ok is
// false when they are needed (an overflowed sum, a result of 10^38 or
// more).
func (a *decimalSumAcc) fixedResult(g int) (decimal128.Num, bool) {
	if _, spilled := a.overflow[uint32(g)]; spilled {
		return decimal128.Num{}, false
	}
	neg, m := magnitude(a.sums[g])
	if !a.avg {
		return a.sums[g], m.less(maxNumeric)
	}
	m, ok := m.scaleUp(int(a.ret.Scale - a.scale))
	if !ok {
		return decimal128.Num{}, false
	}
	n := uint64(a.count[g])
	q, r := m.divmod64(n)
	if r >= n-r {
		q, _ = q.add(u128{0, 1})
	}
	return signed(neg && (q != u128{}), q), q.less(maxNumeric)
}

// exactResult is group g's result through big numbers, with numeric's
// overflow error when it does not fit.
func (a *decimalSumAcc) exactResult(g int) (decimal128.Num, error) {
	tot := a.sums[g].BigInt()
	if b, ok := a.overflow[uint32(g)]; ok {
		tot.Add(tot, b)
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(a.scale)), nil)
	if a.avg {
		den.Mul(den, big.NewInt(a.count[g]))
	}
	d, err := types.RatToNumeric(new(big.Rat).SetFrac(tot, den), a.ret)
	if err != nil {
		return decimal128.Num{}, err
	}
	return d.(decimal128.Num), nil
}

// ---- min / max ----

type minMaxAcc struct {
	t    types.T
	sign int
	best []types.Datum
	// typed fast paths: integer-like columns (widened), float8, numeric,
	// and text or varchar (byte order, as CompareDatums has it)
	ints   []int64
	floats []float64
	decs   []decimal128.Num
	strs   []string
	seen   []bool
}

func resolveMinMax(sign int) func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	return func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		name := "max"
		if sign < 0 {
			name = "min"
		}
		if len(args) != 1 || args[0].Kind == types.Bool {
			return nil, types.T{}, nil, wrongAggArgs(name, args)
		}
		t := args[0]
		if t.Kind == types.Unknown {
			t = types.TextT
		}
		return []types.T{t}, t, func() Accumulator { return &minMaxAcc{t: t, sign: sign} }, nil
	}
}

func (a *minMaxAcc) better(c int) bool { return c*a.sign > 0 }

func (a *minMaxAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.seen = grow(a.seen, ng, false)
	arr := args[0]
	switch src := arr.(type) {
	case *array.Int64:
		minMaxInts(a, groups, ng, src.Int64Values(), arr)
		return nil
	case *array.Float64:
		a.floats = grow(a.floats, ng, 0)
		vals := src.Float64Values()
		hasNulls := arr.NullN() > 0
		for i, g := range groups {
			if (!hasNulls || arr.IsValid(i)) && (!a.seen[g] || a.better(compareFloat(vals[i], a.floats[g]))) {
				a.floats[g] = vals[i]
				a.seen[g] = true
			}
		}
		return nil
	case *array.Decimal128:
		a.decs = grow(a.decs, ng, decimal128.Num{})
		vals := src.Values()
		hasNulls := arr.NullN() > 0
		for i, g := range groups {
			if (!hasNulls || arr.IsValid(i)) && (!a.seen[g] || a.better(compareDecimal(vals[i], a.decs[g]))) {
				a.decs[g] = vals[i]
				a.seen[g] = true
			}
		}
		return nil
	case *array.Int32:
		minMaxInts(a, groups, ng, src.Int32Values(), arr)
		return nil
	case *array.Int16:
		minMaxInts(a, groups, ng, src.Int16Values(), arr)
		return nil
	case *array.Date32:
		minMaxInts(a, groups, ng, arrow.GetValues[int32](src.Data(), 1), arr)
		return nil
	case *array.Timestamp, *array.Time64:
		minMaxInts(a, groups, ng, arrow.GetValues[int64](src.Data(), 1), arr)
		return nil
	case *array.String:
		if a.t.Kind == types.Text || a.t.Kind == types.Varchar {
			a.updateStrings(groups, ng, src)
			return nil
		}
	}
	a.best = grow(a.best, ng, nil)
	for i, g := range groups {
		if arr.IsNull(i) {
			continue
		}
		d := DatumAt(arr, i)
		if !a.seen[g] || a.better(CompareDatums(a.t, d, a.best[g])) {
			a.best[g] = d
			a.seen[g] = true
		}
	}
	return nil
}

func minMaxInts[T integer](a *minMaxAcc, groups []uint32, ng int, vals []T, arr arrow.Array) {
	a.ints = grow(a.ints, ng, 0)
	hasNulls := arr.NullN() > 0
	for i, g := range groups {
		if hasNulls && arr.IsNull(i) {
			continue
		}
		v := int64(vals[i])
		if !a.seen[g] || (a.sign > 0 && v > a.ints[g]) || (a.sign < 0 && v < a.ints[g]) {
			a.ints[g] = v
			a.seen[g] = true
		}
	}
}

// updateStrings compares in place and copies a value only when it becomes
// its group's best.
func (a *minMaxAcc) updateStrings(groups []uint32, ng int, src *array.String) {
	a.strs = grow(a.strs, ng, "")
	hasNulls := src.NullN() > 0
	for i, g := range groups {
		if hasNulls && src.IsNull(i) {
			continue
		}
		v := src.Value(i)
		if !a.seen[g] || a.better(strings.Compare(v, a.strs[g])) {
			a.strs[g] = strings.Clone(v)
			a.seen[g] = true
		}
	}
}

func compareFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	case x == y:
		return 0
	case math.IsNaN(x) && math.IsNaN(y):
		return 0
	case math.IsNaN(x):
		return 1
	}
	return -1
}

func (a *minMaxAcc) value(g int) types.Datum {
	if g >= len(a.seen) || !a.seen[g] {
		return nil
	}
	switch {
	case a.ints != nil:
		if a.t.Kind == types.Date {
			return int32(a.ints[g]) // a date's datum
		}
		return a.ints[g]
	case a.floats != nil:
		return a.floats[g]
	case a.decs != nil:
		return a.decs[g]
	case a.strs != nil:
		return a.strs[g]
	}
	return a.best[g]
}

func (a *minMaxAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	other := o.(*minMaxAcc)
	// every state array covers all ng groups before any is read: a partial
	// state may have seen fewer groups than the merged one has
	a.seen = grow(a.seen, ng, false)
	if a.ints != nil {
		a.ints = grow(a.ints, ng, 0)
	}
	if a.floats != nil {
		a.floats = grow(a.floats, ng, 0)
	}
	if a.decs != nil {
		a.decs = grow(a.decs, ng, decimal128.Num{})
	}
	if a.strs != nil {
		a.strs = grow(a.strs, ng, "")
	}
	if a.best != nil {
		a.best = grow(a.best, ng, nil)
	}
	for g := range other.seen {
		d := other.value(g)
		if d == nil {
			continue
		}
		dst := int(mapping[g])
		cur := a.value(dst)
		if cur != nil && !a.better(CompareDatums(a.t, d, cur)) {
			continue
		}
		switch v := d.(type) {
		case int64:
			if a.best == nil {
				a.ints = grow(a.ints, ng, 0)
				a.ints[dst] = v
				break
			}
			a.best[dst] = d
		case int32:
			if a.best == nil {
				a.ints = grow(a.ints, ng, 0)
				a.ints[dst] = int64(v)
				break
			}
			a.best[dst] = d
		case string:
			if a.best == nil && (a.t.Kind == types.Text || a.t.Kind == types.Varchar) {
				a.strs = grow(a.strs, ng, "")
				a.strs[dst] = v
				break
			}
			a.best = grow(a.best, ng, nil)
			a.best[dst] = d
		case float64:
			if a.best == nil {
				a.floats = grow(a.floats, ng, 0)
				a.floats[dst] = v
				break
			}
			a.best[dst] = d
		case decimal128.Num:
			if a.best == nil {
				a.decs = grow(a.decs, ng, decimal128.Num{})
				a.decs[dst] = v
				break
			}
			a.best[dst] = d
		default:
			a.best = grow(a.best, ng, nil)
			a.best[dst] = d
		}
		a.seen[dst] = true
	}
}

func (a *minMaxAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	bld := newBuilder(ec, a.t)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		AppendDatum(bld, a.value(g))
	}
	return bld.NewArray(), nil
}

// ---- bool_and / bool_or ----

type boolAcc struct {
	and  bool
	vals []uint8 // 0 none yet, 1 false, 2 true
}

func resolveBool(and bool) func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	return func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		if len(args) != 1 || (args[0].Kind != types.Bool && args[0].Kind != types.Unknown) {
			name := "bool_or"
			if and {
				name = "bool_and"
			}
			return nil, types.T{}, nil, wrongAggArgs(name, args)
		}
		return []types.T{types.BoolT}, types.BoolT, func() Accumulator { return &boolAcc{and: and} }, nil
	}
}

func (a *boolAcc) fold(g uint32, v bool) {
	cur := a.vals[g]
	b := uint8(1)
	if v {
		b = 2
	}
	switch {
	case cur == 0:
		a.vals[g] = b
	case a.and && b == 1, !a.and && b == 2:
		a.vals[g] = b
	}
}

func (a *boolAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.vals = grow(a.vals, ng, 0)
	src := args[0].(*array.Boolean)
	for i, g := range groups {
		if src.IsValid(i) {
			a.fold(g, src.Value(i))
		}
	}
	return nil
}

func (a *boolAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.vals = grow(a.vals, ng, 0)
	for g, v := range o.(*boolAcc).vals {
		if v != 0 {
			a.fold(mapping[g], v == 2)
		}
	}
}

func (a *boolAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.vals = grow(a.vals, ng, 0)
	bld := array.NewBooleanBuilder(ec.Mem)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		if a.vals[g] == 0 {
			bld.AppendNull()
		} else {
			bld.Append(a.vals[g] == 2)
		}
	}
	return bld.NewArray(), nil
}

// ---- string_agg ----

type stringAggAcc struct {
	parts [][]string
	seps  [][]string
	sizes []stringBuffer // what each group's result holds so far
	held  int64          // estimated bytes of parts and seps (stateBytes)
}

func (a *stringAggAcc) heldBytes() int64 { return a.held }

func resolveStringAgg(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	if len(args) != 2 {
		return nil, types.T{}, nil, wrongAggArgs("string_agg", args)
	}
	return []types.T{types.TextT, types.TextT}, types.TextT, func() Accumulator { return &stringAggAcc{} }, nil
}

func (a *stringAggAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.parts = grow[[]string](a.parts, ng, nil)
	a.seps = grow[[]string](a.seps, ng, nil)
	a.sizes = grow[stringBuffer](a.sizes, ng, stringBuffer{})
	vals, seps := args[0].(*array.String), args[1].(*array.String)
	for i, g := range groups {
		if vals.IsNull(i) {
			continue
		}
		sep := ""
		if seps.IsValid(i) {
			sep = seps.Value(i)
		}
		// PostgreSQL appends the delimiter before every value but the
		// first and fails once the buffer would pass 1 GB
		sepLen := len(sep)
		if len(a.parts[g]) == 0 {
			sepLen = 0
		}
		if err := a.account(g, sepLen, len(vals.Value(i))); err != nil {
			return err
		}
		a.parts[g] = append(a.parts[g], strings.Clone(vals.Value(i)))
		a.seps[g] = append(a.seps[g], sep)
		a.held += 32 + int64(len(vals.Value(i)))
	}
	return nil
}

// account adds a delimiter and a value to group g's size; past the limit
// the collected parts are dropped at once rather than held until the
// query ends.
func (a *stringAggAcc) account(g uint32, sep, val int) error {
	err := a.sizes[g].grow(sep)
	if err == nil {
		err = a.sizes[g].grow(val)
	}
	if err != nil {
		a.parts, a.seps, a.sizes = nil, nil, nil
	}
	return err
}

func (a *stringAggAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.parts = grow[[]string](a.parts, ng, nil)
	a.seps = grow[[]string](a.seps, ng, nil)
	other := o.(*stringAggAcc)
	a.held += other.held
	for g := range other.parts {
		d := mapping[g]
		a.parts[d] = append(a.parts[d], other.parts[g]...)
		a.seps[d] = append(a.seps[d], other.seps[g]...)
	}
}

func (a *stringAggAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.parts = grow[[]string](a.parts, ng, nil)
	bld := array.NewStringBuilder(ec.Mem)
	defer bld.Release()
	for g := 0; g < ng; g++ {
		if len(a.parts[g]) == 0 {
			bld.AppendNull()
			continue
		}
		// partitions checked their parts; the merged whole is checked here
		var size stringBuffer
		for i, p := range a.parts[g] {
			var err error
			if i > 0 {
				err = size.grow(len(a.seps[g][i]))
			}
			if err == nil {
				err = size.grow(len(p))
			}
			if err != nil {
				a.parts, a.seps = nil, nil
				return nil, err
			}
		}
		var sb strings.Builder
		sb.Grow(size.len)
		for i, p := range a.parts[g] {
			if i > 0 {
				sb.WriteString(a.seps[g][i])
			}
			sb.WriteString(p)
		}
		bld.Append(sb.String())
	}
	return bld.NewArray(), nil
}

// ---- array_agg ----

// arrayAggAcc collects each group's values, NULLs included, in input
// order (as the partitions deliver it: without ORDER BY the order is not
// defined, as in PostgreSQL).
type arrayAggAcc struct {
	t     types.T
	vals  [][]types.Datum
	seen  []bool
	sizes []arrayBytes
	held  int64 // estimated bytes of vals (stateBytes)
}

func (a *arrayAggAcc) heldBytes() int64 { return a.held }

func resolveArrayAgg(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
	if len(args) != 1 || args[0].Kind == types.Array {
		return nil, types.T{}, nil, wrongAggArgs("array_agg", args)
	}
	t := args[0]
	if t.Kind == types.Unknown {
		t = types.TextT
	}
	ret := types.ArrayOf(t)
	if t.PG != 0 {
		// name[], oid[]: the array of the catalog type, computed as its kind
		ret.PG = types.ArrayOID(t.PG)
	}
	t.PG = 0
	return []types.T{t}, ret, func() Accumulator { return &arrayAggAcc{t: t} }, nil
}

func (a *arrayAggAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.vals = grow[[]types.Datum](a.vals, ng, nil)
	a.seen = grow[bool](a.seen, ng, false)
	a.sizes = grow[arrayBytes](a.sizes, ng, arrayBytes{})
	for i, g := range groups {
		d := DatumAt(args[0], i)
		if v, ok := d.(string); ok {
			// text arrays are the ones that grow without bound
			if err := a.sizes[g].add(len(v)); err != nil {
				a.vals, a.sizes = nil, nil
				return err
			}
		}
		a.vals[g] = append(a.vals[g], d)
		a.seen[g] = true
		a.held += datumBytes(d)
	}
	return nil
}

func (a *arrayAggAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.vals = grow[[]types.Datum](a.vals, ng, nil)
	a.seen = grow[bool](a.seen, ng, false)
	other := o.(*arrayAggAcc)
	a.held += other.held
	for g := range other.vals {
		d := mapping[g]
		a.vals[d] = append(a.vals[d], other.vals[g]...)
		a.seen[d] = a.seen[d] || other.seen[g]
	}
}

func (a *arrayAggAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.vals = grow[[]types.Datum](a.vals, ng, nil)
	a.seen = grow[bool](a.seen, ng, false)
	bld := newBuilder(ec, types.ArrayOf(a.t))
	defer bld.Release()
	for g := 0; g < ng; g++ {
		if !a.seen[g] {
			bld.AppendNull() // no rows: NULL, not an empty array
			continue
		}
		AppendDatum(bld, a.vals[g])
	}
	return bld.NewArray(), nil
}
