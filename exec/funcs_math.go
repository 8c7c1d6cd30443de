package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func f8(name string, f func(float64) (float64, error)) *ScalarDef {
	return sig(name, []types.T{types.Float8T}, types.Float8T, func(ds []types.Datum) (types.Datum, error) {
		return f(ds[0].(float64))
	})
}

func pure(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) { return f(x), nil }
}

func mathFunctions() []*ScalarDef {
	return []*ScalarDef{
		{Name: "abs", Resolve: resolveAbs},
		overloads("round",
			numericSig("round", []types.T{types.NumericT(0, types.DefaultNumericScale), types.Int4T}, types.NumericT(0, types.DefaultNumericScale), roundNumericKernel(false)),
			numericOrFloat(numericSig("round", []types.T{types.NumericT(0, types.DefaultNumericScale)}, types.NumericT(0, types.DefaultNumericScale), roundNumericKernel(false)),
				f8("round", pure(roundHalfEven)))),
		overloads("trunc",
			numericSig("trunc", []types.T{types.NumericT(0, types.DefaultNumericScale), types.Int4T}, types.NumericT(0, types.DefaultNumericScale), roundNumericKernel(true)),
			numericOrFloat(numericSig("trunc", []types.T{types.NumericT(0, types.DefaultNumericScale)}, types.NumericT(0, types.DefaultNumericScale), roundNumericKernel(true)),
				f8("trunc", pure(math.Trunc)))),
		numericOrFloat(numericUnary("ceil", ceilNumeric), f8("ceil", pure(math.Ceil))),
		numericOrFloat(numericUnary("ceiling", ceilNumeric), f8("ceiling", pure(math.Ceil))),
		numericOrFloat(numericUnary("floor", floorNumeric), f8("floor", pure(math.Floor))),
		f8("sqrt", func(x float64) (float64, error) {
			if x < 0 {
				return 0, sqlerr.New("2201F", "cannot take square root of a negative number")
			}
			return math.Sqrt(x), nil
		}),
		f8("cbrt", pure(math.Cbrt)),
		f8("exp", pure(math.Exp)),
		f8("ln", logOf(math.Log)),
		f8("log", logOf(math.Log10)),
		f8("log10", logOf(math.Log10)),
		numericOrFloat(numericUnary("sign", signNumeric), f8("sign", pure(func(x float64) float64 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return 0
		}))),
		f8("degrees", pure(func(x float64) float64 { return x * 180 / math.Pi })),
		f8("radians", pure(func(x float64) float64 { return x * math.Pi / 180 })),
		f8("sin", pure(math.Sin)), f8("cos", pure(math.Cos)), f8("tan", pure(math.Tan)),
		f8("asin", pure(math.Asin)), f8("acos", pure(math.Acos)), f8("atan", pure(math.Atan)),
		f8("sinh", pure(math.Sinh)), f8("cosh", pure(math.Cosh)), f8("tanh", pure(math.Tanh)),
		f8("asinh", pure(math.Asinh)),
		f8("acosh", func(x float64) (float64, error) {
			if x < 1 {
				return 0, sqlerr.New(sqlerr.NumericOutOfRange, "input is out of range")
			}
			return math.Acosh(x), nil
		}),
		f8("atanh", func(x float64) (float64, error) {
			if x < -1 || x > 1 {
				return 0, sqlerr.New(sqlerr.NumericOutOfRange, "input is out of range")
			}
			return math.Atanh(x), nil
		}),
		sig("min_scale", []types.T{types.NumericT(0, types.DefaultNumericScale)}, types.Int4T, func(ds []types.Datum) (types.Datum, error) {
			return int64(minScale(ds[0].(decimal128.Num), types.DefaultNumericScale)), nil
		}),
		{Name: "trim_scale", Resolve: resolveTrimScale},
		sig("atan2", []types.T{types.Float8T, types.Float8T}, types.Float8T, func(ds []types.Datum) (types.Datum, error) {
			return math.Atan2(ds[0].(float64), ds[1].(float64)), nil
		}),
		sig("pi", nil, types.Float8T, func([]types.Datum) (types.Datum, error) { return math.Pi, nil }),
		sig("power", []types.T{types.Float8T, types.Float8T}, types.Float8T, power),
		sig("pow", []types.T{types.Float8T, types.Float8T}, types.Float8T, power),
		{Name: "mod", Resolve: resolveMod},
		sig("div", []types.T{types.NumericT(0, types.DefaultNumericScale), types.NumericT(0, types.DefaultNumericScale)}, types.NumericT(0, 0), numericDiv),
		{Name: "gcd", Resolve: resolveGCD(false)},
		{Name: "lcm", Resolve: resolveGCD(true)},
		{Name: "random", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 0 {
				return nil, types.T{}, nil, NoSuchFunction("random", args)
			}
			return nil, types.Float8T, rowKernel(types.Float8T, func([]types.Datum) (types.Datum, error) {
				return randFloat(), nil
			}), nil
		}},
		{Name: "gen_random_uuid", Volatile: true, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 0 {
				return nil, types.T{}, nil, NoSuchFunction("gen_random_uuid", args)
			}
			return nil, types.UUIDT, rowKernel(types.UUIDT, func([]types.Datum) (types.Datum, error) { return randomUUID() }), nil
		}},
	}
}

func roundHalfEven(x float64) float64 { return math.RoundToEven(x) }

func logOf(f func(float64) float64) func(float64) (float64, error) {
	return func(x float64) (float64, error) {
		if x == 0 {
			return 0, sqlerr.New("2201E", "cannot take logarithm of zero")
		}
		if x < 0 {
			return 0, sqlerr.New("2201E", "cannot take logarithm of a negative number")
		}
		return f(x), nil
	}
}

func power(ds []types.Datum) (types.Datum, error) {
	x, y := ds[0].(float64), ds[1].(float64)
	if x == 0 && y < 0 {
		return nil, sqlerr.New("2201F", "zero raised to a negative power is undefined")
	}
	if x < 0 && y != math.Trunc(y) {
		return nil, sqlerr.New("2201F", "a negative number raised to a non-integer power yields a complex result")
	}
	r := math.Pow(x, y)
	if math.IsInf(r, 0) {
		return nil, sqlerr.New(sqlerr.NumericOutOfRange, "value out of range: overflow")
	}
	return r, nil
}

func resolveAbs(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) != 1 || !(args[0].IsNumber() || args[0].Kind == types.Unknown) {
		return nil, types.T{}, nil, NoSuchFunction("abs", args)
	}
	t := args[0]
	if t.Kind == types.Unknown {
		t = types.Float8T
	}
	if t.Kind == types.Numeric {
		return []types.T{t}, t, absNumericKernel(t), nil
	}
	if k := absTypedKernel(t); k != nil {
		return []types.T{t}, t, k, nil
	}
	return []types.T{t}, t, rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
		switch v := ds[0].(type) {
		case int64:
			if v < 0 {
				if v == math.MinInt64 || !types.IntFits(t, -v) {
					return nil, types.OutOfRange(t)
				}
				return -v, nil
			}
			return v, nil
		case float64:
			return math.Abs(v), nil
		case decimal128.Num:
			return v.Abs(), nil
		}
		return nil, nil
	}), nil
}

// absTypedKernel is abs over a whole array of integers or floats, without
// boxing each value (nil for other layouts). The most negative integer
// has no absolute value of its type: out of range, as in PostgreSQL.
func absTypedKernel(t types.T) Kernel {
	switch t.Arrow().ID() {
	case arrow.INT64:
		return absInts[int64](t, math.MinInt64)
	case arrow.INT32:
		return absInts[int32](t, math.MinInt32)
	case arrow.INT16:
		return absInts[int16](t, math.MinInt16)
	case arrow.FLOAT64:
		return absFloats[float64](t)
	case arrow.FLOAT32:
		return absFloats[float32](t)
	}
	return nil
}

func absInts[T int16 | int32 | int64](t types.T, most T) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in := values[T](args[0])
		buf, out := allocFixed[T](ec.Mem, n)
		for i, v := range in[:n] {
			if v == most && args[0].IsValid(i) {
				buf.Release()
				return nil, types.OutOfRange(t)
			}
			if v < 0 {
				v = -v
			}
			out[i] = v
		}
		validity, nulls := combineValidity(ec.Mem, n, args[0])
		return makeArray(t.Arrow(), n, validity, buf, nulls), nil
	}
}

func absFloats[T float32 | float64](t types.T) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in := values[T](args[0])
		buf, out := allocFixed[T](ec.Mem, n)
		for i, v := range in[:n] {
			out[i] = T(math.Abs(float64(v)))
		}
		validity, nulls := combineValidity(ec.Mem, n, args[0])
		return makeArray(t.Arrow(), n, validity, buf, nulls), nil
	}
}

func resolveMod(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) != 2 {
		return nil, types.T{}, nil, NoSuchFunction("mod", args)
	}
	t, ok := NumericCommonType(args[0], args[1])
	if !ok || t.IsFloat() {
		return nil, types.T{}, nil, NoSuchFunction("mod", args)
	}
	k, _ := ArithKernel('%', t)
	return []types.T{t, t}, t, k, nil
}

// scaleNumeric rounds (or truncates) a numeric at the default scale to n
// digits; the result keeps the default scale so its type stays fixed.
func scaleNumeric(ds []types.Datum, trunc bool) (types.Datum, error) {
	r := types.NumericToRat(ds[0].(decimal128.Num), types.DefaultNumericScale)
	n := ds[1].(int64)
	if n > types.DefaultNumericScale {
		n = types.DefaultNumericScale
	}
	var rounded types.Datum
	var err error
	if trunc {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(abs64(n)), nil)
		pr := new(big.Rat).SetInt(p)
		if n >= 0 {
			x := new(big.Rat).Mul(r, pr)
			q := new(big.Int).Quo(x.Num(), x.Denom())
			r = new(big.Rat).Quo(new(big.Rat).SetInt(q), pr)
		} else {
			x := new(big.Rat).Quo(r, pr)
			q := new(big.Int).Quo(x.Num(), x.Denom())
			r = new(big.Rat).Mul(new(big.Rat).SetInt(q), pr)
		}
		return types.RatToNumeric(r, types.NumericT(0, types.DefaultNumericScale))
	}
	if n >= 0 {
		rounded, err = types.RatToNumeric(r, types.NumericT(0, int32(n)))
		if err != nil {
			return nil, err
		}
		r = types.NumericToRat(rounded.(decimal128.Num), int32(n))
	} else {
		p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(-n), nil))
		x := new(big.Rat).Quo(r, p)
		rounded, err = types.RatToNumeric(x, types.NumericT(0, 0))
		if err != nil {
			return nil, err
		}
		r = new(big.Rat).Mul(types.NumericToRat(rounded.(decimal128.Num), 0), p)
	}
	return types.RatToNumeric(r, types.NumericT(0, types.DefaultNumericScale))
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// NumericCommonType is the type two numeric operands are promoted to:
// the wider integer, numeric over integers, float8 over anything inexact.
func NumericCommonType(a, b types.T) (types.T, bool) {
	if a.Kind == types.Unknown {
		a = b
	}
	if b.Kind == types.Unknown {
		b = a
	}
	if a.Kind == types.Unknown {
		return types.NumericT(0, types.DefaultNumericScale), true
	}
	if !a.IsNumber() || !b.IsNumber() {
		return types.T{}, false
	}
	switch {
	case a.IsFloat() || b.IsFloat():
		if a.Kind == types.Float4 && b.Kind == types.Float4 {
			return types.Float4T, true
		}
		return types.Float8T, true
	case a.Kind == types.Numeric || b.Kind == types.Numeric:
		s := int32(0)
		if a.Kind == types.Numeric {
			s = a.Scale
		}
		if b.Kind == types.Numeric {
			s = max(s, b.Scale)
		}
		return types.NumericT(0, s), true
	}
	if intRank(a) >= intRank(b) {
		return types.T{Kind: a.Kind}, true
	}
	return types.T{Kind: b.Kind}, true
}

// numericDiv is div(y, x): the integer quotient, truncated toward zero.
func numericDiv(ds []types.Datum) (types.Datum, error) {
	y := types.NumericToRat(ds[0].(decimal128.Num), types.DefaultNumericScale)
	x := types.NumericToRat(ds[1].(decimal128.Num), types.DefaultNumericScale)
	if x.Sign() == 0 {
		return nil, sqlerr.New(sqlerr.DivisionByZero, "division by zero")
	}
	q := new(big.Rat).Quo(y, x)
	return types.RatToNumeric(new(big.Rat).SetInt(new(big.Int).Quo(q.Num(), q.Denom())), types.NumericT(0, 0))
}

// resolveGCD builds gcd or lcm over smallint, integer or bigint.
func resolveGCD(lcm bool) func(args []types.T) ([]types.T, types.T, Kernel, error) {
	name := "gcd"
	if lcm {
		name = "lcm"
	}
	return func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != 2 {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		t, ok := NumericCommonType(args[0], args[1])
		if !ok || !t.IsInteger() {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return []types.T{t, t}, t, rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
			a, b := ds[0].(int64), ds[1].(int64)
			g := new(big.Int).GCD(nil, nil, big.NewInt(a).Abs(big.NewInt(a)), big.NewInt(b).Abs(big.NewInt(b)))
			r := g
			if lcm {
				if a == 0 || b == 0 {
					return int64(0), nil
				}
				r = new(big.Int).Abs(new(big.Int).Mul(big.NewInt(a), big.NewInt(b)))
				r.Quo(r, g)
			}
			if !r.IsInt64() || !types.IntFits(t, r.Int64()) {
				return nil, types.OutOfRange(t)
			}
			return r.Int64(), nil
		}), nil
	}
}

// numericOrFloat picks the numeric variant of a one-argument function for a
// numeric argument and the double precision one for anything else, as
// PostgreSQL's resolution does: ceil(1.5) is numeric, but ceil(1) and
// ceil('1.5') take float8, the preferred type of the numeric category.
func numericOrFloat(numeric, float *ScalarDef) *ScalarDef {
	return &ScalarDef{Name: float.Name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) == 1 && args[0].Kind == types.Numeric {
			return numeric.Resolve(args)
		}
		return float.Resolve(args)
	}}
}

// numericUnary is a numeric -> numeric function computed row by row on the
// exact value (at the engine's fixed scale).
func numericUnary(name string, f func(*big.Rat) *big.Rat) *ScalarDef {
	t := types.NumericT(0, types.DefaultNumericScale)
	return sig(name, []types.T{t}, t, func(ds []types.Datum) (types.Datum, error) {
		r := f(types.NumericToRat(ds[0].(decimal128.Num), types.DefaultNumericScale))
		return types.RatToNumeric(r, t)
	})
}

// ceilNumeric is the smallest integer not below r; never a negative zero,
// since a numeric has none (ceil(-0.5) is 0).
func ceilNumeric(r *big.Rat) *big.Rat {
	q := new(big.Int).Neg(floorInt(new(big.Rat).Neg(r)))
	return new(big.Rat).SetInt(q)
}

// floorNumeric is the largest integer not above r.
func floorNumeric(r *big.Rat) *big.Rat {
	return new(big.Rat).SetInt(floorInt(r))
}

// floorInt rounds r toward minus infinity (big.Int.Div is Euclidean: with a
// positive denominator it is floor division).
func floorInt(r *big.Rat) *big.Int {
	return new(big.Int).Div(r.Num(), r.Denom())
}

// signNumeric is -1, 0 or 1 as a numeric.
func signNumeric(r *big.Rat) *big.Rat {
	return new(big.Rat).SetInt64(int64(r.Sign()))
}

// minScale is the fewest fraction digits that show v (at scale s) exactly:
// its scale with the trailing zeros of the fraction dropped.
func minScale(v decimal128.Num, s int32) int32 {
	_, m := magnitude(v)
	for s > 0 {
		q := m.scaleDownTrunc(1)
		back, ok := q.scaleUp(1)
		if !ok || back != m {
			break
		}
		m = q
		s--
	}
	return s
}

// resolveTrimScale is trim_scale(numeric): the value unchanged, printed
// without the trailing zeros of its fraction (an unconstrained numeric).
func resolveTrimScale(args []types.T) ([]types.T, types.T, Kernel, error) {
	if len(args) != 1 || !ImplicitCast(args[0], types.NumericT(0, types.DefaultNumericScale)) {
		return nil, types.T{}, nil, NoSuchFunction("trim_scale", args)
	}
	t := types.NumericT(0, types.DefaultNumericScale)
	out := t
	out.Natural = true
	return []types.T{t}, out, rowKernel(out, func(ds []types.Datum) (types.Datum, error) {
		return ds[0], nil
	}), nil
}
