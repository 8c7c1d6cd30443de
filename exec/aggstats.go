package exec

import (
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Statistical aggregates as PostgreSQL computes them: variance and
// standard deviation of integers and numerics exactly (numeric result,
// scale from PostgreSQL's division rule), of floats by the Youngs-Cramer
// running sums PostgreSQL's float8_accum keeps (so the last bits agree);
// covariance, correlation and the regr_* family over float8 pairs by its
// float8_regr_accum.

type varianceKind int

const (
	varSample varianceKind = iota
	varPopulation
	stddevSample
	stddevPopulation
)

func (k varianceKind) sample() bool { return k == varSample || k == stddevSample }
func (k varianceKind) root() bool   { return k == stddevSample || k == stddevPopulation }

func statisticsAggregates() []*AggregateDef {
	defs := []*AggregateDef{
		{Name: "variance", Resolve: resolveVariance("variance", varSample)},
		{Name: "var_samp", Resolve: resolveVariance("var_samp", varSample)},
		{Name: "var_pop", Resolve: resolveVariance("var_pop", varPopulation)},
		{Name: "stddev", Resolve: resolveVariance("stddev", stddevSample)},
		{Name: "stddev_samp", Resolve: resolveVariance("stddev_samp", stddevSample)},
		{Name: "stddev_pop", Resolve: resolveVariance("stddev_pop", stddevPopulation)},
	}
	for _, name := range []string{"corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count",
		"regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy"} {
		defs = append(defs, &AggregateDef{Name: name, Resolve: resolveRegression(name)})
	}
	return defs
}

func resolveVariance(name string, kind varianceKind) func([]types.T) ([]types.T, types.T, func() Accumulator, error) {
	return func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		if len(args) != 1 {
			return nil, types.T{}, nil, wrongAggArgs(name, args)
		}
		t := args[0]
		switch {
		case t.IsFloat() || t.Kind == types.Unknown:
			return []types.T{types.Float8T}, types.Float8T, func() Accumulator { return &floatVarianceAcc{kind: kind} }, nil
		case t.IsInteger() || t.Kind == types.Numeric:
			in := t
			if t.IsInteger() {
				in = types.NumericT(0, 0)
			}
			ret := types.NumericT(0, types.DefaultNumericScale)
			ret.Natural = true
			return []types.T{in}, ret, func() Accumulator { return &numericVarianceAcc{kind: kind, scale: in.Scale, ret: ret} }, nil
		}
		return nil, types.T{}, nil, wrongAggArgs(name, args)
	}
}

// ---- floats: PostgreSQL's float8_accum / float8_combine ----

type floatMoments struct{ n, sx, sxx float64 }

// errFloatOverflow is what PostgreSQL reports when finite inputs give an
// infinite sum.
func errFloatOverflow() error {
	return sqlerr.New(sqlerr.NumericOutOfRange, "value out of range: overflow")
}

func (m *floatMoments) add(x float64) error {
	before, beforeSx := m.n, m.sx
	m.n++
	m.sx += x
	if before == 0 {
		if isNotFinite(x) {
			m.sxx = math.NaN()
		}
		return nil
	}
	tmp := x*m.n - m.sx
	m.sxx += tmp * tmp / (m.n * before)
	if math.IsInf(m.sx, 0) || math.IsInf(m.sxx, 0) {
		if !math.IsInf(beforeSx, 0) && !math.IsInf(x, 0) {
			return errFloatOverflow()
		}
		m.sxx = math.NaN() // an infinite input makes the spread NaN, never infinite
	}
	return nil
}

func (m *floatMoments) combine(o floatMoments) error {
	switch {
	case o.n == 0:
	case m.n == 0:
		*m = o
	default:
		n := m.n + o.n
		tmp := m.sx/m.n - o.sx/o.n
		sxx := m.sxx + o.sxx + m.n*o.n*tmp*tmp/n
		sx, err := checkedSum(m.sx, o.sx)
		if err != nil {
			return err
		}
		if math.IsInf(sxx, 0) && !math.IsInf(m.sxx, 0) && !math.IsInf(o.sxx, 0) {
			return errFloatOverflow()
		}
		m.n, m.sx, m.sxx = n, sx, sxx
	}
	return nil
}

// checkedSum is PostgreSQL's float8_pl: an infinite sum of finite values
// is an overflow.
func checkedSum(a, b float64) (float64, error) {
	sum := a + b
	if math.IsInf(sum, 0) && !math.IsInf(a, 0) && !math.IsInf(b, 0) {
		return 0, errFloatOverflow()
	}
	return sum, nil
}

type floatVarianceAcc struct {
	kind   varianceKind
	groups []floatMoments
}

func (a *floatVarianceAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.groups = grow(a.groups, ng, floatMoments{})
	arr := args[0]
	for i, g := range groups {
		if arr.IsValid(i) {
			if err := a.groups[g].add(DatumAt(arr, i).(float64)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *floatVarianceAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	_ = a.MergeErr(nil, o, mapping, ng)
}

// MergeErr combines partitions' sums, failing where PostgreSQL's combine
// function reports an overflow.
func (a *floatVarianceAcc) MergeErr(_ *EvalContext, o Accumulator, mapping []uint32, ng int) error {
	a.groups = grow(a.groups, ng, floatMoments{})
	for g, m := range o.(*floatVarianceAcc).groups {
		if err := a.groups[mapping[g]].combine(m); err != nil {
			return err
		}
	}
	return nil
}

func (a *floatVarianceAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.groups = grow(a.groups, ng, floatMoments{})
	bld := newBuilder(ec, types.Float8T)
	defer bld.Release()
	for _, m := range a.groups[:ng] {
		den := m.n
		if a.kind.sample() {
			den = m.n - 1
		}
		if den <= 0 || m.n == 0 {
			bld.AppendNull()
			continue
		}
		v := m.sxx / den
		if a.kind.root() {
			v = math.Sqrt(v)
		}
		AppendDatum(bld, v)
	}
	return bld.NewArray(), nil
}

// ---- integers and numerics: exact sums, PostgreSQL's result scale ----

// numericMoments are the count, the sum (at the input's scale s) and the
// sum of squares (at 2s) as integers.
type numericMoments struct {
	n       int64
	sx, sxx *big.Int
}

type numericVarianceAcc struct {
	kind   varianceKind
	scale  int32
	ret    types.T
	groups []*numericMoments
}

func (a *numericVarianceAcc) group(g uint32) *numericMoments {
	if a.groups[g] == nil {
		a.groups[g] = &numericMoments{sx: new(big.Int), sxx: new(big.Int)}
	}
	return a.groups[g]
}

func (a *numericVarianceAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.groups = grow(a.groups, ng, nil)
	arr := args[0]
	var x, square big.Int
	for i, g := range groups {
		if !arr.IsValid(i) {
			continue
		}
		m := a.group(g)
		switch v := DatumAt(arr, i).(type) {
		case decimal128.Num:
			x.Set(v.BigInt())
		case int64:
			x.SetInt64(v)
		}
		m.n++
		m.sx.Add(m.sx, &x)
		square.Mul(&x, &x)
		m.sxx.Add(m.sxx, &square)
	}
	return nil
}

func (a *numericVarianceAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.groups = grow(a.groups, ng, nil)
	for g, m := range o.(*numericVarianceAcc).groups {
		if m == nil {
			continue
		}
		mine := a.group(mapping[g])
		mine.n += m.n
		mine.sx.Add(mine.sx, m.sx)
		mine.sxx.Add(mine.sxx, m.sxx)
	}
}

func (a *numericVarianceAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.groups = grow(a.groups, ng, nil)
	bld := newBuilder(ec, a.ret)
	defer bld.Release()
	for _, m := range a.groups[:ng] {
		v, ok := a.result(m)
		if !ok {
			bld.AppendNull()
			continue
		}
		d, err := types.RatToNumeric(v, a.ret)
		if err != nil {
			return nil, err
		}
		AppendDatum(bld, d)
	}
	return bld.NewArray(), nil
}

// result is PostgreSQL's numeric_stddev_internal: (N·Σx² − (Σx)²) over
// N(N−1) or N², rounded to select_div_scale's scale, its square root at
// that scale for stddev.
func (a *numericVarianceAcc) result(m *numericMoments) (*big.Rat, bool) {
	if m == nil || m.n == 0 || a.kind.sample() && m.n == 1 {
		return nil, false
	}
	n := big.NewInt(m.n)
	num := new(big.Int).Mul(n, m.sxx)
	num.Sub(num, new(big.Int).Mul(m.sx, m.sx))
	if num.Sign() <= 0 {
		return new(big.Rat), true // roundoff cannot happen here, but PostgreSQL's guard says 0
	}
	den := new(big.Int).Mul(n, n)
	if a.kind.sample() {
		den.Mul(n, big.NewInt(m.n-1))
	}
	numerator := new(big.Rat).SetFrac(num, pow10(2*a.scale))
	rscale := divisionScale(numerator, new(big.Rat).SetInt(den), int(2*a.scale), 0)
	variance := new(big.Rat).Quo(numerator, new(big.Rat).SetInt(den))
	if a.kind.root() {
		return sqrtRounded(variance, rscale), true
	}
	return roundRat(variance, rscale), true
}

// divisionScale is PostgreSQL's select_div_scale: enough decimals for 16
// significant digits of the quotient, at least either operand's scale.
func divisionScale(num, den *big.Rat, numScale, denScale int) int {
	w1, d1 := baseTenThousandLead(num)
	w2, d2 := baseTenThousandLead(den)
	qweight := w1 - w2
	if d1 <= d2 {
		qweight--
	}
	return min(max(16-qweight*4, numScale, denScale, 0), 1000)
}

// baseTenThousandLead is a positive value's weight and first digit in
// base 10000, as PostgreSQL's numeric stores it.
func baseTenThousandLead(v *big.Rat) (int, int64) {
	abs := new(big.Rat).Abs(v)
	if abs.Sign() == 0 {
		return 0, 0
	}
	ten4 := big.NewRat(10000, 1)
	one := big.NewRat(1, 1)
	weight := 0
	for abs.Cmp(ten4) >= 0 {
		abs.Quo(abs, ten4)
		weight++
	}
	for abs.Cmp(one) < 0 {
		abs.Mul(abs, ten4)
		weight--
	}
	first := new(big.Int).Quo(abs.Num(), abs.Denom())
	return weight, first.Int64()
}

// roundRat rounds half away from zero to scale decimals.
func roundRat(v *big.Rat, scale int) *big.Rat {
	r, _ := new(big.Rat).SetString(v.FloatString(scale))
	return r
}

// sqrtRounded is √v rounded to scale decimals (v ≥ 0).
func sqrtRounded(v *big.Rat, scale int) *big.Rat {
	// √(v·10^(2(scale+1))) gives one digit more than kept, to round on
	shifted := new(big.Rat).Mul(v, new(big.Rat).SetInt(pow10(int32(2*(scale+1)))))
	root := new(big.Int).Sqrt(new(big.Int).Quo(shifted.Num(), shifted.Denom()))
	return roundRat(new(big.Rat).SetFrac(root, pow10(int32(scale+1))), scale)
}

// ---- covariance, correlation, regression: float8_regr_accum ----

type regressionMoments struct{ n, sx, sxx, sy, syy, sxy float64 }

// add takes a row's y (the first argument) and x (the second).
func (m *regressionMoments) add(y, x float64) error {
	before, beforeSx, beforeSy := m.n, m.sx, m.sy
	m.n++
	m.sx += x
	m.sy += y
	if before == 0 {
		if isNotFinite(x) {
			m.sxx, m.sxy = math.NaN(), math.NaN()
		}
		if isNotFinite(y) {
			m.syy, m.sxy = math.NaN(), math.NaN()
		}
		return nil
	}
	tx := x*m.n - m.sx
	ty := y*m.n - m.sy
	scale := 1.0 / (m.n * before)
	m.sxx += tx * tx * scale
	m.syy += ty * ty * scale
	m.sxy += tx * ty * scale
	finiteX := !math.IsInf(beforeSx, 0) && !math.IsInf(x, 0)
	finiteY := !math.IsInf(beforeSy, 0) && !math.IsInf(y, 0)
	if math.IsInf(m.sx, 0) || math.IsInf(m.sxx, 0) {
		if finiteX {
			return errFloatOverflow()
		}
		m.sxx = math.NaN()
	}
	if math.IsInf(m.sy, 0) || math.IsInf(m.syy, 0) {
		if finiteY {
			return errFloatOverflow()
		}
		m.syy = math.NaN()
	}
	if math.IsInf(m.sxy, 0) {
		if finiteX && finiteY {
			return errFloatOverflow()
		}
		m.sxy = math.NaN()
	}
	return nil
}

func isNotFinite(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

func (m *regressionMoments) combine(o regressionMoments) {
	switch {
	case o.n == 0:
	case m.n == 0:
		*m = o
	default:
		n := m.n + o.n
		tx := m.sx/m.n - o.sx/o.n
		ty := m.sy/m.n - o.sy/o.n
		m.sxx += o.sxx + m.n*o.n*tx*tx/n
		m.syy += o.syy + m.n*o.n*ty*ty/n
		m.sxy += o.sxy + m.n*o.n*tx*ty/n
		m.sx += o.sx
		m.sy += o.sy
		m.n = n
	}
}

// final computes the named aggregate; false means NULL.
func (m *regressionMoments) final(name string) (float64, bool) {
	if name == "regr_count" {
		return m.n, true // a count: 0 over no rows
	}
	if m.n < 1 || name == "covar_samp" && m.n < 2 {
		return 0, false
	}
	switch name {
	case "regr_sxx":
		return m.sxx, true
	case "regr_syy":
		return m.syy, true
	case "regr_sxy":
		return m.sxy, true
	case "regr_avgx":
		return m.sx / m.n, true
	case "regr_avgy":
		return m.sy / m.n, true
	case "covar_pop":
		return m.sxy / m.n, true
	case "covar_samp":
		return m.sxy / (m.n - 1), true
	case "corr":
		if m.sxx == 0 || m.syy == 0 {
			return 0, false
		}
		return m.sxy / math.Sqrt(m.sxx*m.syy), true
	case "regr_r2":
		if m.sxx == 0 {
			return 0, false
		}
		if m.syy == 0 {
			return 1, true
		}
		return m.sxy * m.sxy / (m.sxx * m.syy), true
	case "regr_slope":
		if m.sxx == 0 {
			return 0, false
		}
		return m.sxy / m.sxx, true
	case "regr_intercept":
		if m.sxx == 0 {
			return 0, false
		}
		return (m.sy - m.sx*m.sxy/m.sxx) / m.n, true
	}
	return 0, false
}

func resolveRegression(name string) func([]types.T) ([]types.T, types.T, func() Accumulator, error) {
	return func(args []types.T) ([]types.T, types.T, func() Accumulator, error) {
		if len(args) != 2 || !ImplicitCast(args[0], types.Float8T) || !ImplicitCast(args[1], types.Float8T) {
			return nil, types.T{}, nil, wrongAggArgs(name, args)
		}
		ret := types.Float8T
		if name == "regr_count" {
			ret = types.Int8T
		}
		return []types.T{types.Float8T, types.Float8T}, ret, func() Accumulator { return &regressionAcc{name: name, ret: ret} }, nil
	}
}

type regressionAcc struct {
	name   string
	ret    types.T
	groups []regressionMoments
}

func (a *regressionAcc) Update(_ *EvalContext, groups []uint32, ng int, args []arrow.Array) error {
	a.groups = grow(a.groups, ng, regressionMoments{})
	ys, xs := args[0], args[1]
	for i, g := range groups {
		if ys.IsValid(i) && xs.IsValid(i) {
			if err := a.groups[g].add(DatumAt(ys, i).(float64), DatumAt(xs, i).(float64)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *regressionAcc) Merge(o Accumulator, mapping []uint32, ng int) {
	a.groups = grow(a.groups, ng, regressionMoments{})
	for g, m := range o.(*regressionAcc).groups {
		a.groups[mapping[g]].combine(m)
	}
}

func (a *regressionAcc) Finish(ec *EvalContext, ng int) (arrow.Array, error) {
	a.groups = grow(a.groups, ng, regressionMoments{})
	bld := newBuilder(ec, a.ret)
	defer bld.Release()
	for i := range a.groups[:ng] {
		v, ok := a.groups[i].final(a.name)
		switch {
		case !ok:
			bld.AppendNull()
		case a.name == "regr_count":
			AppendDatum(bld, int64(v))
		default:
			AppendDatum(bld, v)
		}
	}
	return bld.NewArray(), nil
}
