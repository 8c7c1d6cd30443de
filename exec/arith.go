package exec

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// ArithOp is one of + - * / %.
type ArithOp byte

func divByZero() error { return sqlerr.New(sqlerr.DivisionByZero, "division by zero") }

// ArithKernel returns the kernel for a binary arithmetic operator on two
// arguments already cast to t; the result has type t as well.
func ArithKernel(op ArithOp, t types.T) (Kernel, bool) {
	switch t.Kind {
	case types.Int2:
		return intArith[int16](op, t), true
	case types.Int4:
		return intArith[int32](op, t), true
	case types.Int8:
		return intArith[int64](op, t), true
	case types.Float4:
		return floatArith[float32](op, t), true
	case types.Float8:
		return floatArith[float64](op, t), true
	case types.Numeric:
		return numericArith(op, t), true
	}
	return nil, false
}

func intArith[T int16 | int32 | int64](op ArithOp, t types.T) Kernel {
	lo, _ := intRange(t)
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := values[T](args[0]), values[T](args[1])
		validity, nulls := combineValidity(ec.Mem, n, args...)
		buf, out := allocFixed[T](ec.valueMem(), n)
		var valid []bool
		if nulls > 0 {
			valid = validMask(n, args...)
		}
		fail := func(err error) (arrow.Array, error) {
			buf.Release()
			if validity != nil {
				validity.Release()
			}
			return nil, err
		}
		switch op {
		case '+', '-', '*':
			if wrapArith(op, a, b, out) && firstOverflow(op, a, b, valid) >= 0 {
				return fail(types.OutOfRange(t))
			}
		case '/', '%':
			if d, ok := uniformDivisor(b); ok {
				divideByConst(op, newConstDivisor(d), a, out)
				break
			}
			for i := range out {
				if valid != nil && !valid[i] {
					continue
				}
				x, y := int64(a[i]), int64(b[i])
				if y == 0 {
					return fail(divByZero())
				}
				if y == -1 {
					if op == '%' {
						out[i] = 0
						continue
					}
					if x == lo {
						return fail(types.OutOfRange(t))
					}
				}
				if op == '/' {
					out[i] = T(x / y)
				} else {
					out[i] = T(x % y)
				}
			}
		}
		return makeArray(t.Arrow(), n, validity, buf, nulls), nil
	}
}

// wrapArith writes a[i] op b[i] (+, - or *) to out[i], wrapping around
// on overflow, and reports whether any row overflowed T, NULL rows
// included: the caller then looks for a non-NULL one (firstOverflow).
// The loops have no per-row error branch and no division (an int8
// product is checked through its 128-bit result).
func wrapArith[T int16 | int32 | int64](op ArithOp, a, b, out []T) bool {
	if wide, ok := any(a).([]int64); ok {
		return wrapArith64(op, wide, any(b).([]int64), any(out).([]int64))
	}
	a, b, out = a[:len(out)], b[:len(out)], out[:len(out)]
	overflow := false
	for i := range out {
		x, y := int64(a[i]), int64(b[i])
		var r int64
		switch op {
		case '+':
			r = x + y
		case '-':
			r = x - y
		default:
			r = x * y // two int4s' product fits in int64
		}
		out[i] = T(r)
		if r != int64(T(r)) {
			overflow = true
		}
	}
	return overflow
}

func wrapArith64(op ArithOp, a, b, out []int64) bool {
	a, b = a[:len(out)], b[:len(out)]
	var flags int64 // sign bit set once any row overflowed
	switch op {
	case '+':
		for i := range out {
			x, y := a[i], b[i]
			r := x + y
			out[i] = r
			flags |= (x ^ r) & (y ^ r)
		}
	case '-':
		for i := range out {
			x, y := a[i], b[i]
			r := x - y
			out[i] = r
			flags |= (x ^ y) & (x ^ r)
		}
	default:
		if magnitudeBits(a)+magnitudeBits(b) <= 62 {
			// |x| <= 2^la and |y| <= 2^lb: no product reaches 2^63
			for i := range out {
				out[i] = a[i] * b[i]
			}
			return false
		}
		overflow := false
		for i := range out {
			x, y := a[i], b[i]
			out[i] = x * y
			if mulOverflows64(x, y) {
				overflow = true
			}
		}
		return overflow
	}
	return flags < 0
}

// magnitudeBits is a bound l with |v| <= 2^l for every v of vals: the
// bit length of their magnitudes (a negative v counts as -v-1, whose
// bits are v's complement), OR-ed together in one pass.
func magnitudeBits(vals []int64) int {
	var m uint64
	for _, v := range vals {
		m |= uint64(v ^ (v >> 63))
	}
	return bits.Len64(m)
}

// mulOverflows64 reports whether x*y leaves int64: the high word of the
// signed 128-bit product must be the low word's sign extension.
func mulOverflows64(x, y int64) bool {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	shi := int64(hi) - (x>>63)&y - (y>>63)&x
	return shi != int64(lo)>>63
}

// firstOverflow is the first non-NULL row (valid nil: every row) where a
// op b leaves T, or -1.
func firstOverflow[T int16 | int32 | int64](op ArithOp, a, b []T, valid []bool) int {
	var one [1]T
	for i := range a {
		if valid != nil && !valid[i] {
			continue
		}
		if wrapArith(op, a[i:i+1], b[i:i+1], one[:]) {
			return i
		}
	}
	return -1
}

// divideByConst writes a[i] / d or a[i] % d to out[i]. With d neither 0
// nor -1 no row can fail, and a NULL row's value does not matter.
func divideByConst[T int16 | int32 | int64](op ArithOp, d constDivisor, a, out []T) {
	out = out[:len(a)]
	if op == '/' {
		for i, x := range a {
			out[i] = T(d.quo(int64(x)))
		}
		return
	}
	if d.pow2 {
		shift, abs := d.shift, d.abs
		for i, x := range a {
			s := int64(x) >> 63
			n := uint64((int64(x) ^ s) - s)
			r := int64(n - (n>>shift)*abs)
			out[i] = T((r ^ s) - s)
		}
		return
	}
	magic, shift, abs := d.magic, d.shift, d.abs
	for i, x := range a {
		s := int64(x) >> 63
		n := uint64((int64(x) ^ s) - s)
		t, _ := bits.Mul64(magic, n)
		r := int64(n - ((t+(n-t)>>1)>>shift)*abs)
		out[i] = T((r ^ s) - s)
	}
}

// addOverflows reports whether x + y = r wrapped around in int64.
func addOverflows(x, y, r int64) bool {
	return (x > 0 && y > 0 && r < 0) || (x < 0 && y < 0 && r >= 0)
}

func intRange(t types.T) (int64, int64) {
	switch t.Kind {
	case types.Int2:
		return math.MinInt16, math.MaxInt16
	case types.Int4:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}

func floatArith[T float32 | float64](op ArithOp, t types.T) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		a, b := values[T](args[0]), values[T](args[1])
		validity, nulls := combineValidity(ec.Mem, n, args...)
		var valid []bool
		if nulls > 0 {
			valid = validMask(n, args...)
		}
		buf, out := allocFixed[T](ec.valueMem(), n)
		for i := range out {
			var r T
			switch op {
			case '+':
				r = a[i] + b[i]
			case '-':
				r = a[i] - b[i]
			case '*':
				r = a[i] * b[i]
			case '/':
				if b[i] == 0 && (valid == nil || valid[i]) {
					buf.Release()
					if validity != nil {
						validity.Release()
					}
					return nil, divByZero()
				}
				r = a[i] / b[i]
			case '%':
				r = T(math.Mod(float64(a[i]), float64(b[i])))
			}
			if math.IsInf(float64(r), 0) && !math.IsInf(float64(a[i]), 0) && !math.IsInf(float64(b[i]), 0) && (valid == nil || valid[i]) {
				buf.Release()
				if validity != nil {
					validity.Release()
				}
				return nil, sqlerr.New(sqlerr.NumericOutOfRange, "value out of range: overflow")
			}
			out[i] = r
		}
		return makeArray(t.Arrow(), n, validity, buf, nulls), nil
	}
}

// numericArith works on decimals of any scale (the arguments carry their
// own scales in their Arrow types) as scaled integers; a value whose
// intermediate leaves 128 bits is redone exactly through big.Rat.
func numericArith(op ArithOp, t types.T) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		sa, sb, rs := decimalScale(args[0]), decimalScale(args[1]), t.Scale
		a, b := decimalValues(args[0]), decimalValues(args[1])
		validity, nulls := combineValidity(ec.Mem, n, args...)
		var valid []bool
		if nulls > 0 {
			valid = validMask(n, args...)
		}
		buf, out := allocDecimals(ec.valueMem(), n)
		// exact computes row i through big.Rat when the fixed-point path
		// cannot decide it
		exact := func(i int) error {
			r, err := exactNumericArith(op, a[i], b[i], sa, sb, t)
			out[i] = r
			return err
		}
		var err error
		switch {
		case (op == '+' || op == '-') && max(sa, sb) == rs:
			for i := range out {
				if valid != nil && !valid[i] {
					out[i] = decimal128.Num{}
					continue
				}
				if r, ok := addSmallDecimals(a[i], b[i], sa, sb, op == '-'); ok {
					out[i] = r
					continue
				}
				r, ok := decimalAdd(a[i], b[i], sa, sb, op == '-')
				if !ok {
					if err = exact(i); err != nil {
						break
					}
					continue
				}
				out[i] = r
			}
		case op == '*' && sa+sb >= rs:
			exactScale := sa+sb == rs
			for i := range out {
				if valid != nil && !valid[i] {
					out[i] = decimal128.Num{}
					continue
				}
				if exactScale {
					if r, ok := mulSmallDecimals(a[i], b[i]); ok {
						out[i] = r
						continue
					}
				}
				r, ok := decimalMul(a[i], b[i], sa, sb, rs)
				if !ok {
					if err = exact(i); err != nil {
						break
					}
					continue
				}
				out[i] = r
			}
		default:
			fast := decimalOp(op, sa, sb, rs)
			for i := range out {
				if valid != nil && !valid[i] {
					out[i] = decimal128.Num{}
					continue
				}
				var r decimal128.Num
				var ok bool
				if r, ok, err = fast(a[i], b[i]); err != nil {
					break
				}
				if !ok {
					if err = exact(i); err != nil {
						break
					}
					continue
				}
				out[i] = r
			}
		}
		if err != nil {
			releaseBuffers(buf, validity)
			return nil, err
		}
		return makeArray(t.Arrow(), n, validity, buf, nulls), nil
	}
}

// decimalOp is the fixed-point form of / and % for operands at scales sa
// and sb and a result at scale rs (+ - * have loops of their own); ok is
// false when the exact path must decide, as it does for scales the binder
// does not give.
func decimalOp(op ArithOp, sa, sb, rs int32) func(x, y decimal128.Num) (decimal128.Num, bool, error) {
	switch op {
	case '/':
		if rs < sa {
			break
		}
		return func(x, y decimal128.Num) (decimal128.Num, bool, error) {
			if y == (decimal128.Num{}) {
				return x, false, divByZero()
			}
			r, ok := decimalDiv(x, y, sa, sb, rs)
			return r, ok, nil
		}
	case '%':
		if rs != max(sa, sb) {
			break
		}
		return func(x, y decimal128.Num) (decimal128.Num, bool, error) {
			if y == (decimal128.Num{}) {
				return x, false, divByZero()
			}
			r, ok := decimalRem(x, y, sa, sb)
			return r, ok, nil
		}
	}
	return func(x, y decimal128.Num) (decimal128.Num, bool, error) { return x, false, nil }
}

// exactNumericArith is one operation through exact rationals: the
// reference the fixed-point kernels agree with, and their fallback.
func exactNumericArith(op ArithOp, a, b decimal128.Num, sa, sb int32, t types.T) (decimal128.Num, error) {
	x := types.NumericToRat(a, sa)
	y := types.NumericToRat(b, sb)
	r := new(big.Rat)
	switch op {
	case '+':
		r.Add(x, y)
	case '-':
		r.Sub(x, y)
	case '*':
		r.Mul(x, y)
	case '/', '%':
		if y.Sign() == 0 {
			return decimal128.Num{}, divByZero()
		}
		r.Quo(x, y)
		if op == '%' {
			q := new(big.Int).Quo(r.Num(), r.Denom()) // truncated quotient
			r.Sub(x, new(big.Rat).Mul(y, new(big.Rat).SetInt(q)))
		}
	}
	d, err := types.RatToNumeric(r, t)
	if err != nil {
		return decimal128.Num{}, err
	}
	return d.(decimal128.Num), nil
}

// rowKernel adapts a per-row function over datums into a strict kernel: any
// NULL argument gives NULL without calling f. It is the general slow path for
// functions that are not worth a typed loop.
func rowKernel(ret types.T, f func([]types.Datum) (types.Datum, error)) Kernel {
	return rowKernelNullable(ret, func(ds []types.Datum) (types.Datum, error) {
		for _, d := range ds {
			if d == nil {
				return nil, nil
			}
		}
		return f(ds)
	})
}

// rowKernelNullable is rowKernel for functions that see NULL arguments.
func rowKernelNullable(ret types.T, f func([]types.Datum) (types.Datum, error)) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		bld := newBuilder(ec, ret)
		defer bld.Release()
		bld.Reserve(n)
		ds := make([]types.Datum, len(args))
		for i := 0; i < n; i++ {
			for j, a := range args {
				ds[j] = DatumAt(a, i)
			}
			r, err := f(ds)
			if err != nil {
				return nil, err
			}
			AppendDatum(bld, r)
		}
		return bld.NewArray(), nil
	}
}

// BitwiseKernel is &, |, # (xor), << or >> over one integer type; shifts
// take an integer count and wrap like PostgreSQL's (C's) shifts.
func BitwiseKernel(op string, t types.T) Kernel {
	bits := int64(map[types.Kind]int{types.Int2: 16, types.Int4: 32}[t.Kind])
	if bits == 0 {
		bits = 64
	}
	return rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
		a, b := ds[0].(int64), ds[1].(int64)
		var r int64
		switch op {
		case "&":
			r = a & b
		case "|":
			r = a | b
		case "#":
			r = a ^ b
		case "<<":
			r = a << uint64(b%bits)
		case ">>":
			r = a >> uint64(b%bits)
		}
		return truncateInt(r, t), nil
	})
}

// BitNotKernel is ~ over one integer type.
func BitNotKernel(t types.T) Kernel {
	return rowKernel(t, func(ds []types.Datum) (types.Datum, error) {
		return ^ds[0].(int64), nil
	})
}

// truncateInt wraps v to t's width, as a C shift on that type would.
func truncateInt(v int64, t types.T) int64 {
	switch t.Kind {
	case types.Int2:
		return int64(int16(v))
	case types.Int4:
		return int64(int32(v))
	}
	return v
}
