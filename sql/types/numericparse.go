package types

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// parseNumericFast reads the common form of a decimal, [-]digits[.digits]
// whose scaled value fits an int64, without big numbers; ok is false for
// anything else (exponents, NaN, a bare point, a value too large to tell
// here), which ParseNumeric's exact path decides.
func parseNumericFast(t T, s string) (Datum, bool) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	intPart, frac, hasPoint := s, "", false
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac, hasPoint = s[:i], s[i+1:], true
			break
		}
	}
	if intPart == "" || (hasPoint && frac == "") || t.Scale < 0 {
		return nil, false
	}
	var v uint64
	ok := true
	accumulate := func(digits string) {
		for i := 0; i < len(digits) && ok; i++ {
			c := digits[i]
			if c < '0' || c > '9' || v > (math.MaxInt64-9)/10 {
				ok = false
				return
			}
			v = v*10 + uint64(c-'0')
		}
	}
	accumulate(intPart)
	kept := frac
	if len(kept) > int(t.Scale) {
		kept = frac[:t.Scale]
	}
	accumulate(kept)
	for i := len(kept); i < int(t.Scale) && ok; i++ {
		accumulate("0")
	}
	if !ok {
		return nil, false
	}
	if len(frac) > len(kept) {
		for i := len(kept); i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return nil, false
			}
		}
		if frac[len(kept)] >= '5' { // half away from zero: the first dropped digit decides
			if v == math.MaxInt64 {
				return nil, false
			}
			v++
		}
	}
	prec := t.Prec
	if prec <= 0 || prec > MaxNumericPrecision {
		prec = MaxNumericPrecision
	}
	if prec <= 18 && v >= Pow10[prec] {
		return nil, false // the exact path reports the overflow
	}
	x := int64(v)
	if neg {
		x = -x
	}
	return decimal128.FromI64(x), true
}

// Pow10 holds 10^0 … 10^19, the powers of ten that fit in a uint64:
// the scale factors of the fixed-point numeric code.
var Pow10 = func() [20]uint64 {
	var p [20]uint64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()
