package exec

import (
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// This file holds the fixed-point arithmetic behind the numeric kernels: a
// numeric value is its unscaled integer in a decimal128 (two's complement,
// 128 bits) and every operation here works on those integers without
// allocating. Each operation reports ok=false when an intermediate does not
// fit; callers then redo that one value through the exact big.Rat path,
// which gives the same answer or PostgreSQL's error.

// u128 is an unsigned 128-bit magnitude.
type u128 struct{ hi, lo uint64 }

// maxNumeric is 10^38: every stored numeric's magnitude is below it.
var maxNumeric = pow10u128(38)

func pow10u128(k int) u128 {
	n := decimal128.GetScaleMultiplier(k)
	return u128{uint64(n.HighBits()), n.LowBits()}
}

// magnitude splits a decimal into its sign and absolute value.
func magnitude(n decimal128.Num) (bool, u128) {
	hi, lo := n.HighBits(), n.LowBits()
	if hi >= 0 {
		return false, u128{uint64(hi), lo}
	}
	lo = ^lo + 1
	h := ^uint64(hi)
	if lo == 0 {
		h++
	}
	return true, u128{h, lo}
}

// signed makes a decimal of a sign and a magnitude below 2^127.
func signed(neg bool, m u128) decimal128.Num {
	if !neg {
		return decimal128.New(int64(m.hi), m.lo)
	}
	lo := ^m.lo + 1
	hi := ^m.hi
	if lo == 0 {
		hi++
	}
	return decimal128.New(int64(hi), lo)
}

func (a u128) less(b u128) bool {
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)
}

func (a u128) add(b u128) (u128, bool) {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, c2 := bits.Add64(a.hi, b.hi, c)
	return u128{hi, lo}, c2 == 0
}

// sub is a - b for a >= b.
func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, borrow)
	return u128{hi, lo}
}

func (a u128) mul64(m uint64) (u128, bool) {
	hi1, lo := bits.Mul64(a.lo, m)
	hi2, mid := bits.Mul64(a.hi, m)
	hi, c := bits.Add64(hi1, mid, 0)
	return u128{hi, lo}, hi2 == 0 && c == 0
}

func (a u128) mul(b u128) (u128, bool) {
	if a.hi != 0 && b.hi != 0 {
		return u128{}, false
	}
	if a.hi != 0 {
		a, b = b, a
	}
	// a < 2^64 now
	return b.mul64(a.lo)
}

// divmod64 is a / d and a % d for d > 0.
func (a u128) divmod64(d uint64) (u128, uint64) {
	qhi := a.hi / d
	qlo, r := bits.Div64(a.hi%d, a.lo, d)
	return u128{qhi, qlo}, r
}

// scaleUp multiplies by 10^k (k <= 38).
func (a u128) scaleUp(k int) (u128, bool) {
	for k > 0 {
		step := min(k, 19)
		var ok bool
		if a, ok = a.mul64(types.Pow10[step]); !ok {
			return a, false
		}
		k -= step
	}
	return a, true
}

// scaleDownRound divides by 10^k (k > 0), rounding half away from zero as
// numeric does: truncate by 10^(k-1), then look at the last digit dropped.
func (a u128) scaleDownRound(k int) u128 {
	k--
	for k > 0 {
		step := min(k, 19)
		a, _ = a.divmod64(types.Pow10[step])
		k -= step
	}
	q, r := a.divmod64(10)
	if r >= 5 {
		q, _ = q.add(u128{0, 1})
	}
	return q
}

// scaleDownTrunc divides by 10^k (k > 0), truncating.
func (a u128) scaleDownTrunc(k int) u128 {
	for k > 0 {
		step := min(k, 19)
		a, _ = a.divmod64(types.Pow10[step])
		k -= step
	}
	return a
}

// rescale changes a decimal's scale from 'from' to 'to', rounding half away
// from zero; ok is false past 10^38.
func rescale(n decimal128.Num, from, to int32) (decimal128.Num, bool) {
	if from == to {
		return n, true
	}
	neg, m := magnitude(n)
	if to > from {
		var ok bool
		if m, ok = m.scaleUp(int(to - from)); !ok || !m.less(maxNumeric) {
			return n, false
		}
	} else {
		m = m.scaleDownRound(int(from - to))
	}
	return signed(neg, m), true
}

// fitsPrecision reports whether |n| < 10^prec.
func fitsPrecision(n decimal128.Num, prec int32) bool {
	_, m := magnitude(n)
	return m.less(pow10u128(int(prec)))
}

// decimalAdd is a + b (or a - b when sub) for operands at scales sa and sb,
// giving the sum at scale max(sa, sb).
func decimalAdd(a, b decimal128.Num, sa, sb int32, sub bool) (decimal128.Num, bool) {
	if sub {
		b = b.Negate()
	}
	if a.HighBits() == int64(a.LowBits())>>63 && b.HighBits() == int64(b.LowBits())>>63 {
		if r, ok := addInt64Scaled(int64(a.LowBits()), int64(b.LowBits()), sa, sb); ok {
			return decimal128.FromI64(r), true
		}
	}
	var ok bool
	if sa < sb {
		if a, ok = rescale(a, sa, sb); !ok {
			return a, false
		}
	} else if sb < sa {
		if b, ok = rescale(b, sb, sa); !ok {
			return b, false
		}
	}
	na, ma := magnitude(a)
	nb, mb := magnitude(b)
	var neg bool
	var m u128
	switch {
	case na == nb:
		neg = na
		if m, ok = ma.add(mb); !ok {
			return a, false
		}
	case mb.less(ma):
		neg, m = na, ma.sub(mb)
	default:
		neg, m = nb, mb.sub(ma)
	}
	if !m.less(maxNumeric) {
		return a, false
	}
	return signed(neg, m), true
}

// addInt64Scaled is x + y for x at scale sa and y at scale sb, at scale
// max(sa, sb), when it all fits in an int64.
func addInt64Scaled(x, y int64, sa, sb int32) (int64, bool) {
	var ok bool
	if sa < sb {
		if x, ok = scaleInt64(x, sb-sa); !ok {
			return 0, false
		}
	} else if sb < sa {
		if y, ok = scaleInt64(y, sa-sb); !ok {
			return 0, false
		}
	}
	r := x + y
	return r, !addOverflows(x, y, r)
}

// scaleInt64 is x * 10^k when it fits in an int64.
func scaleInt64(x int64, k int32) (int64, bool) {
	if k > 18 {
		return 0, false
	}
	if lim := int64(maxInt64Scalable[k]); x > lim || x < -lim {
		return 0, false
	}
	return x * int64(types.Pow10[k]), true
}

// maxInt64Scalable[k] is the largest int64 that times 10^k is an int64.
var maxInt64Scalable = func() [19]uint64 {
	var m [19]uint64
	for k := range m {
		m[k] = math.MaxInt64 / types.Pow10[k]
	}
	return m
}()

// decimalMul is a * b at scale rs, the operands being at scales sa and sb
// with sa + sb >= rs.
func decimalMul(a, b decimal128.Num, sa, sb, rs int32) (decimal128.Num, bool) {
	na, ma := magnitude(a)
	nb, mb := magnitude(b)
	m, ok := ma.mul(mb)
	if !ok {
		return a, false
	}
	if drop := sa + sb - rs; drop > 0 {
		m = m.scaleDownRound(int(drop))
	}
	if !m.less(maxNumeric) {
		return a, false
	}
	return signed(na != nb && (m != u128{}), m), true
}

// decimalDiv is a / b at scale rs (rs >= sa), rounded half away from zero;
// b is not zero.
func decimalDiv(a, b decimal128.Num, sa, sb, rs int32) (decimal128.Num, bool) {
	na, ma := magnitude(a)
	nb, mb := magnitude(b)
	if mb.hi != 0 {
		return a, false
	}
	num, ok := ma.scaleUp(int(rs - sa + sb))
	if !ok {
		return a, false
	}
	q, r := num.divmod64(mb.lo)
	// r < mb.lo < 2^64: compare 2r with the divisor without overflow
	if r >= mb.lo-r {
		q, _ = q.add(u128{0, 1})
	}
	if !q.less(maxNumeric) {
		return a, false
	}
	return signed(na != nb && (q != u128{}), q), true
}

// decimalRem is a % b at scale max(sa, sb): the remainder of the quotient
// truncated toward zero, with the dividend's sign; b is not zero.
func decimalRem(a, b decimal128.Num, sa, sb int32) (decimal128.Num, bool) {
	s := max(sa, sb)
	var ok bool
	if a, ok = rescale(a, sa, s); !ok {
		return a, false
	}
	if b, ok = rescale(b, sb, s); !ok {
		return b, false
	}
	na, ma := magnitude(a)
	_, mb := magnitude(b)
	if mb.hi != 0 {
		return a, false
	}
	_, r := ma.divmod64(mb.lo)
	return signed(na && r != 0, u128{0, r}), true
}

// addDecimalChecked is s + v in 128 bits; ok is false when it wraps.
func addDecimalChecked(s, v decimal128.Num) (decimal128.Num, bool) {
	lo, carry := bits.Add64(s.LowBits(), v.LowBits(), 0)
	hi := s.HighBits() + v.HighBits() + int64(carry)
	return decimal128.New(hi, lo), (s.HighBits()^hi)&(v.HighBits()^hi) >= 0
}

// compareDecimal orders two decimals at the same scale.
func compareDecimal(a, b decimal128.Num) int {
	ah, bh := a.HighBits(), b.HighBits()
	switch {
	case ah < bh:
		return -1
	case ah > bh:
		return 1
	}
	al, bl := a.LowBits(), b.LowBits()
	switch {
	case al < bl:
		return -1
	case al > bl:
		return 1
	}
	return 0
}

// compareDecimalScales orders a at scale sa and b at scale sb.
func compareDecimalScales(a, b decimal128.Num, sa, sb int32) int {
	switch {
	case sa < sb:
		if up, ok := rescale(a, sa, sb); ok {
			return compareDecimal(up, b)
		}
		return a.Sign() // |a| scaled passes 10^38, beyond any b
	case sb < sa:
		if up, ok := rescale(b, sb, sa); ok {
			return compareDecimal(a, up)
		}
		return -b.Sign()
	}
	return compareDecimal(a, b)
}

// decimalToFloat64 converts a decimal at scale s to the nearest float64
// when one division does it exactly (both operands exact in a float64);
// ok is false otherwise.
func decimalToFloat64(n decimal128.Num, s int32) (float64, bool) {
	if s > 22 || n.HighBits() != int64(n.LowBits())>>63 {
		return 0, false
	}
	v := int64(n.LowBits())
	if v > 1<<53 || v < -(1<<53) {
		return 0, false
	}
	return float64(v) / pow10f[s], true
}

// pow10f holds 10^0 … 10^22, the powers of ten a float64 holds exactly.
var pow10f = func() [23]float64 {
	var p [23]float64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// decimalScale is the scale of a decimal array.
func decimalScale(a arrow.Array) int32 {
	return a.DataType().(*arrow.Decimal128Type).Scale
}

// decimalValues is the value slice of a decimal array (no copy).
func decimalValues(a arrow.Array) []decimal128.Num {
	return arrow.GetValues[decimal128.Num](a.Data(), 1)
}

// allocDecimals allocates a buffer for n decimals and returns it with a
// typed view of its memory. The caller owns the buffer.
func allocDecimals(mem memory.Allocator, n int) (*memory.Buffer, []decimal128.Num) {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * arrow.Decimal128SizeBytes)
	if n == 0 {
		return buf, nil
	}
	return buf, arrow.GetData[decimal128.Num](buf.Bytes())[:n]
}

// smallDecimal is x as an int64 when it fits one (ok false otherwise).
func smallDecimal(x decimal128.Num) (int64, bool) {
	lo := int64(x.LowBits())
	return lo, x.HighBits() == lo>>63
}

// addSmallDecimals is a + b (a - b when sub) for a at scale sa and b at
// scale sb, at the larger scale, on the int64 path most values take; ok
// is false when an operand or the result does not fit an int64 and the
// general path must decide.
func addSmallDecimals(a, b decimal128.Num, sa, sb int32, sub bool) (decimal128.Num, bool) {
	x, okx := smallDecimal(a)
	y, oky := smallDecimal(b)
	if !okx || !oky {
		return a, false
	}
	switch {
	case sa < sb:
		if x, okx = scaleInt64(x, sb-sa); !okx {
			return a, false
		}
	case sb < sa:
		if y, oky = scaleInt64(y, sa-sb); !oky {
			return a, false
		}
	}
	if sub {
		r := x - y
		return decimal128.FromI64(r), (x^y)&(x^r) >= 0
	}
	r := x + y
	return decimal128.FromI64(r), (x^r)&(y^r) >= 0
}

// mulSmallDecimals is a * b at the sum of their scales, on the int64
// path; ok is false when it does not fit.
func mulSmallDecimals(a, b decimal128.Num) (decimal128.Num, bool) {
	x, okx := smallDecimal(a)
	y, oky := smallDecimal(b)
	if !okx || !oky {
		return a, false
	}
	if x == int64(int32(x)) && y == int64(int32(y)) {
		return decimal128.FromI64(x * y), true // |x * y| < 2^62
	}
	hi, lo := bits.Mul64(absU64(x), absU64(y))
	if hi != 0 || lo > math.MaxInt64 {
		return a, false
	}
	r := int64(lo)
	if (x < 0) != (y < 0) {
		r = -r
	}
	return decimal128.FromI64(r), true
}

func absU64(x int64) uint64 {
	if x < 0 {
		return uint64(-x) // (math.MinInt64 gives 2^63, its magnitude)
	}
	return uint64(x)
}
