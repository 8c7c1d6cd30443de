package copyfmt

import (
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// A FieldAppender parses one COPY field's text straight into its column's
// builder: no string and no boxed value per field. It handles the plain
// spellings (digits, YYYY-MM-DD, text that fits) and reports false, having
// appended nothing, for everything else, which takes the general
// conversion with its checks and error messages (blanks around a number,
// special values, overflow, a value too long).
type FieldAppender func(f []byte) bool

// NewFieldAppender returns the fast appender for a column of type t
// filled through b, or nil when the type has none.
func NewFieldAppender(t types.T, b array.Builder) FieldAppender {
	if t.IsComposite() {
		return nil // its text is read field by field
	}
	switch bb := b.(type) {
	case *array.Int16Builder:
		return intAppender(t, func(v int64) { bb.Append(int16(v)) })
	case *array.Int32Builder:
		return intAppender(t, func(v int64) { bb.Append(int32(v)) })
	case *array.Int64Builder:
		return intAppender(t, func(v int64) { bb.Append(v) })
	case *array.Date32Builder:
		if t.Kind == types.Date {
			return func(f []byte) bool {
				d, ok := parsePlainDate(f)
				if ok {
					bb.Append(arrow.Date32(d))
				}
				return ok
			}
		}
	case *array.Decimal128Builder:
		if t.Kind == types.Numeric {
			return func(f []byte) bool {
				v, ok := parsePlainDecimal(f, t.Prec, t.Scale)
				if ok {
					bb.Append(decimal128.FromI64(v))
				}
				return ok
			}
		}
	case *array.Float64Builder:
		if t.Kind == types.Float8 {
			return func(f []byte) bool {
				v, ok := parsePlainFloat(f)
				if ok {
					bb.Append(v)
				}
				return ok
			}
		}
	case *array.StringBuilder:
		return stringAppender(t, bb)
	}
	return nil
}

func intAppender(t types.T, appendInt func(int64)) FieldAppender {
	if !t.IsInteger() {
		return nil
	}
	return func(f []byte) bool {
		v, ok := parsePlainInt(f)
		if !ok || !types.IntFits(t, v) {
			return false
		}
		appendInt(v)
		return true
	}
}

// stringAppender appends text as it is, varchar(n) when it fits, and
// char(n) padded with blanks to n characters.
func stringAppender(t types.T, b *array.StringBuilder) FieldAppender {
	switch {
	case t.Kind == types.Text || t.Len <= 0 && (t.Kind == types.Varchar || t.Kind == types.Char):
		return func(f []byte) bool {
			b.BinaryBuilder.Append(f)
			return true
		}
	case t.Kind == types.Varchar:
		n := int(t.Len)
		return func(f []byte) bool {
			if len(f) > n && utf8.RuneCount(f) > n {
				return false
			}
			b.BinaryBuilder.Append(f)
			return true
		}
	case t.Kind == types.Char:
		n := int(t.Len)
		var padded []byte
		return func(f []byte) bool {
			chars := len(f)
			if chars > n || !isASCII(f) {
				chars = utf8.RuneCount(f)
			}
			if chars > n {
				return false
			}
			padded = append(padded[:0], f...)
			for ; chars < n; chars++ {
				padded = append(padded, ' ')
			}
			b.BinaryBuilder.Append(padded)
			return true
		}
	}
	return nil
}

func isASCII(f []byte) bool {
	for _, c := range f {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parsePlainInt reads [+-]digits that fit int64.
func parsePlainInt(f []byte) (int64, bool) {
	neg := false
	if len(f) > 0 && (f[0] == '-' || f[0] == '+') {
		neg, f = f[0] == '-', f[1:]
	}
	if len(f) == 0 || len(f) > 18 {
		return 0, false // longer numbers (and overflow) take the general path
	}
	var v int64
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parsePlainDecimal reads [+-]digits[.digits] as an integer scaled by
// 10^scale, rounding half away from zero as numeric input does, when the
// digits fit int64 and the value fits precision prec (0: unconstrained).
func parsePlainDecimal(f []byte, prec, scale int32) (int64, bool) {
	neg := false
	if len(f) > 0 && (f[0] == '-' || f[0] == '+') {
		neg, f = f[0] == '-', f[1:]
	}
	intPart, frac := f, []byte(nil)
	for i, c := range f {
		if c == '.' {
			intPart, frac = f[:i], f[i+1:]
			break
		}
	}
	if len(intPart) == 0 || (frac != nil && len(frac) == 0) || scale < 0 || scale > 18 {
		return 0, false
	}
	var v int64
	digits := 0 // significant digits so far
	add := func(c byte) bool {
		if c < '0' || c > '9' {
			return false
		}
		if v != 0 || c != '0' {
			digits++
		}
		v = v*10 + int64(c-'0')
		return digits <= 18
	}
	for _, c := range intPart {
		if !add(c) {
			return 0, false
		}
	}
	for i := 0; i < int(scale); i++ {
		c := byte('0')
		if i < len(frac) {
			c = frac[i]
		}
		if !add(c) {
			return 0, false
		}
	}
	if len(frac) > int(scale) {
		for _, c := range frac[scale:] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		if frac[scale] >= '5' {
			v++ // half away from zero: the sign comes after
		}
	}
	if prec <= 0 {
		prec = types.MaxNumericPrecision
	}
	if prec <= 18 && uint64(v) >= types.Pow10[prec] {
		return 0, false // numeric field overflow: the general path says so
	}
	if neg {
		v = -v
	}
	return v, true
}

// parsePlainFloat reads a decimal number without blanks or special
// spellings.
func parsePlainFloat(f []byte) (float64, bool) {
	if len(f) == 0 {
		return 0, false
	}
	for _, c := range f {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(string(f), 64)
	return v, err == nil
}

// parsePlainDate reads YYYY-MM-DD (year 1 to 9999) as days since
// 1970-01-01.
func parsePlainDate(f []byte) (int32, bool) {
	if len(f) != 10 || f[4] != '-' || f[7] != '-' {
		return 0, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(f[0:4])
	m, ok2 := num(f[5:7])
	d, ok3 := num(f[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return int32(daysFromCivil(y, m, d)), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to a proleptic Gregorian date
// (eras of 400 years, years starting in March so that leap days come last).
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
