package exec

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// to_char for numbers follows PostgreSQL's numeric templates (9, 0, . D,
// , G, S, MI, PL, SG, PR, L, V, EEEE, RN, TH, FM): the value is rounded to
// the template's decimal digits, integer digits that do not fit fill the
// output with '#', and the sign goes where the template or, without a
// sign pattern, the first digit puts it. Written after the algorithm in
// PostgreSQL's formatting.c, in the C locale ('.', ',', currency ' ').

type numKey int

const (
	numLiteral numKey = iota
	numComma
	numPoint
	numZero
	numNine
	numBlank
	numCurrencyCode
	numLocalePoint
	numExponent
	numFill
	numGroup
	numCurrency
	numMinus
	numPlus
	numBracket
	numRoman
	numRomanLower
	numSign
	numPlusMinus
	numSpell
	numOrdinal
	numOrdinalLower
	numShift
)

// numKeys in PostgreSQL's spelling; lower-case spellings mean the same
// except for rn and th, which write lower case.
var numKeys = []struct {
	name string
	key  numKey
}{
	{"rn", numRomanLower}, {"th", numOrdinalLower},
	{",", numComma}, {".", numPoint}, {"0", numZero}, {"9", numNine},
	{"B", numBlank}, {"C", numCurrencyCode}, {"D", numLocalePoint}, {"EEEE", numExponent},
	{"FM", numFill}, {"G", numGroup}, {"L", numCurrency}, {"MI", numMinus},
	{"PL", numPlus}, {"PR", numBracket}, {"RN", numRoman}, {"SG", numPlusMinus},
	{"SP", numSpell}, {"S", numSign}, {"TH", numOrdinal}, {"V", numShift},
}

type numNode struct {
	key  numKey
	text string // a literal's character
}

// numFormat is a parsed template and what PostgreSQL's NUMDesc counts:
// digits before and after the point, where zeros start and end, and
// which sign style is used.
type numFormat struct {
	nodes                        []numNode
	pre, post, multi             int
	zeroStart, zeroEnd           int
	preSignDigits                int
	signPos                      int // 0 none, 1 before the digits, 2 after
	decimal, zero, blank, fill   bool
	localeSign, bracket, roman   bool
	minus, plus, shift, exponent bool
}

const (
	signNone = iota
	signBefore
	signAfter
)

func parseNumFormat(tmpl string) (*numFormat, error) {
	f := &numFormat{}
	for i := 0; i < len(tmpl); {
		if key, size := matchNumKey(tmpl[i:]); size > 0 {
			if err := f.count(key); err != nil {
				return nil, err
			}
			f.nodes = append(f.nodes, numNode{key: key})
			i += size
			continue
		}
		if tmpl[i] == '"' {
			for i++; i < len(tmpl) && tmpl[i] != '"'; {
				if tmpl[i] == '\\' && i+1 < len(tmpl) {
					i++
				}
				_, size := utf8.DecodeRuneInString(tmpl[i:])
				f.nodes = append(f.nodes, numNode{text: tmpl[i : i+size]})
				i += size
			}
			i++
			continue
		}
		if tmpl[i] == '\\' && i+1 < len(tmpl) && tmpl[i+1] == '"' {
			i++
		}
		_, size := utf8.DecodeRuneInString(tmpl[i:])
		f.nodes = append(f.nodes, numNode{text: tmpl[i : i+size]})
		i += size
	}
	return f, nil
}

func matchNumKey(s string) (numKey, int) {
	for _, k := range numKeys {
		if strings.HasPrefix(s, k.name) || strings.HasPrefix(s, strings.ToLower(k.name)) {
			return k.key, len(k.name)
		}
	}
	return numLiteral, 0
}

func numFormatError(msg string) error {
	return sqlerr.New(sqlerr.SyntaxError, "%s", msg)
}

// count updates the template's description with one pattern, refusing
// the combinations PostgreSQL refuses.
func (f *numFormat) count(key numKey) error {
	if f.exponent && key != numExponent {
		return numFormatError("\"EEEE\" must be the last pattern used")
	}
	switch key {
	case numNine, numZero:
		if f.bracket {
			return numFormatError("\"" + map[numKey]string{numNine: "9", numZero: "0"}[key] + "\" must be ahead of \"PR\"")
		}
		if key == numNine && f.shift {
			f.multi++
			return nil
		}
		if key == numZero && !f.zero && !f.decimal {
			f.zero, f.zeroStart = true, f.pre+1
		}
		if f.decimal {
			f.post++
		} else {
			f.pre++
		}
		if key == numZero {
			f.zeroEnd = f.pre + f.post
		}
	case numBlank:
		if f.pre == 0 && f.post == 0 && !f.zero {
			f.blank = true
		}
	case numPoint, numLocalePoint:
		if f.decimal {
			return numFormatError("multiple decimal points")
		}
		if f.shift {
			return numFormatError("cannot use \"V\" and decimal point together")
		}
		f.decimal = true
	case numFill:
		f.fill = true
	case numSign:
		if f.localeSign {
			return numFormatError("cannot use \"S\" twice")
		}
		if f.plus || f.minus || f.bracket {
			return numFormatError("cannot use \"S\" and \"PL\"/\"MI\"/\"SG\"/\"PR\" together")
		}
		if !f.decimal {
			f.signPos, f.preSignDigits = signBefore, f.pre
		} else {
			f.signPos = signAfter
		}
		f.localeSign = true
	case numMinus, numPlus, numPlusMinus:
		if f.localeSign {
			return numFormatError("cannot use \"S\" and \"MI\"/\"PL\"/\"SG\" together")
		}
		f.minus = f.minus || key != numPlus
		f.plus = f.plus || key != numMinus
	case numBracket:
		if f.localeSign || f.plus || f.minus {
			return numFormatError("cannot use \"PR\" and \"S\"/\"PL\"/\"MI\"/\"SG\" together")
		}
		f.bracket = true
	case numRoman, numRomanLower:
		f.roman = true
	case numShift:
		if f.decimal {
			return numFormatError("cannot use \"V\" and decimal point together")
		}
		f.shift = true
	case numExponent:
		if f.exponent {
			return numFormatError("cannot use \"EEEE\" twice")
		}
		if f.blank || f.fill || f.localeSign || f.bracket || f.minus || f.plus || f.roman || f.shift {
			return sqlerr.New(sqlerr.SyntaxError, "\"EEEE\" is incompatible with other formats").
				WithDetail("\"EEEE\" may only be used together with digit and decimal point patterns.")
		}
		f.exponent = true
	}
	return nil
}

// numberToCharForms are to_char's numeric overloads: int2/int4 (EEEE
// through a float, as PostgreSQL's int4_to_char), int8, numeric at its
// own scale, float4 (6 significant digits) and float8 (15).
func numberToCharForms() []*ScalarDef {
	withTemplate := func(f func(ds []types.Datum, tmpl string) (types.Datum, error)) func([]types.Datum) (types.Datum, error) {
		return func(ds []types.Datum) (types.Datum, error) {
			if ds[1].(string) == "" {
				return "", nil // (for numbers; a date's empty template gives NULL)
			}
			return f(ds, ds[1].(string))
		}
	}
	return []*ScalarDef{
		sig("to_char", []types.T{types.Int4T, textT}, textT, withTemplate(func(ds []types.Datum, tmpl string) (types.Datum, error) {
			v := ds[0].(int64)
			if f, err := parseNumFormat(tmpl); err == nil && f.exponent {
				x := float64(v)
				return formatNumber(nil, &x, 15, tmpl)
			}
			return formatNumber(new(big.Rat).SetInt64(v), nil, 0, tmpl)
		})),
		sig("to_char", []types.T{types.Int8T, textT}, textT, withTemplate(func(ds []types.Datum, tmpl string) (types.Datum, error) {
			return formatNumber(new(big.Rat).SetInt64(ds[0].(int64)), nil, 0, tmpl)
		})),
		{Name: "to_char", Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
			if len(args) != 2 || args[0].Kind != types.Numeric || !ImplicitCast(args[1], textT) {
				return nil, types.T{}, nil, NoSuchFunction("to_char", args)
			}
			t := args[0] // at its own scale: a cast to a common one could lose digits
			return []types.T{t, textT}, textT, rowKernel(textT, withTemplate(func(ds []types.Datum, tmpl string) (types.Datum, error) {
				return formatNumber(types.NumericToRat(ds[0].(decimal128.Num), t.Scale), nil, 0, tmpl)
			})), nil
		}},
		sig("to_char", []types.T{types.Float4T, textT}, textT, withTemplate(func(ds []types.Datum, tmpl string) (types.Datum, error) {
			v := ds[0].(float64)
			return formatNumber(nil, &v, 6, tmpl)
		})),
		sig("to_char", []types.T{types.Float8T, textT}, textT, withTemplate(func(ds []types.Datum, tmpl string) (types.Datum, error) {
			v := ds[0].(float64)
			return formatNumber(nil, &v, 15, tmpl)
		})),
	}
}

// formatNumber is to_char for a number given exactly as a rational (ints
// and numerics) or as a float with its significant digits (15 for
// float8, 6 for float4).
func formatNumber(value *big.Rat, float *float64, floatDigits int, tmpl string) (string, error) {
	f, err := parseNumFormat(tmpl)
	if err != nil {
		return "", err
	}
	if f.roman {
		numeral, err := romanNumeral(value, float)
		if err != nil {
			return "", err
		}
		return f.write(numeral, '+'), nil
	}
	if f.exponent {
		return scientific(value, float, f), nil
	}
	if f.shift {
		shift := new(big.Rat).SetInt(pow10(int32(f.multi)))
		if float != nil {
			v := *float * math.Pow(10, float64(f.multi))
			float = &v
		} else {
			value = new(big.Rat).Mul(value, shift)
		}
		f.pre += f.multi
	}
	digits := decimalDigits(value, float, floatDigits, f)
	sign := byte('+')
	if strings.HasPrefix(digits, "-") {
		sign, digits = '-', digits[1:]
	}
	intDigits := len(digits)
	if p := strings.IndexByte(digits, '.'); p >= 0 {
		intDigits = p
	}
	preSpaces := 0
	if intDigits < f.pre {
		preSpaces = f.pre - intDigits
	} else if intDigits > f.pre {
		// the integer part does not fit: every digit position shows '#'
		digits = strings.Repeat("#", f.pre) + "." + strings.Repeat("#", f.post)
	}
	w := &numWriter{f: f, sign: sign, number: digits, preSpaces: preSpaces}
	return w.run(), nil
}

// decimalDigits is the value rounded to the template's decimal places,
// as PostgreSQL's output function would print it, with no minus zero.
func decimalDigits(value *big.Rat, float *float64, floatDigits int, f *numFormat) string {
	if float != nil {
		return floatDigitsText(*float, floatDigits, f)
	}
	s := value.FloatString(f.post)
	if f.post == 0 && strings.Contains(s, ".") {
		s = s[:strings.IndexByte(s, '.')]
	}
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		s = s[1:] // numeric has no minus zero
	}
	return s
}

// floatDigitsText prints a float as PostgreSQL's float8_to_char does: no
// more decimals than the type's significant digits leave (the template's
// decimals shrink to match), printf's minus zero, and Infinity spelled
// out as PostgreSQL's own printf does.
func floatDigitsText(v float64, floatDigits int, f *numFormat) string {
	whole := "Infinity"
	if !math.IsInf(v, 0) {
		whole = strconv.FormatFloat(math.Abs(math.RoundToEven(v)), 'f', 0, 64)
	}
	if len(whole) >= floatDigits {
		f.post = 0
	} else if len(whole)+f.post > floatDigits {
		f.post = floatDigits - len(whole)
	}
	switch {
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(v, 'f', f.post, 64)
}

// numWriter is PostgreSQL's NUM_processor writing a number.
type numWriter struct {
	f            *numFormat
	out          strings.Builder
	sign         byte
	number       string
	p            int // next character of number
	signWrote    bool
	numIn        bool
	numCurr      int
	numCount     int
	preSpaces    int
	lastRelevant int // index into number of the last digit FM keeps; -1 for all
}

func (w *numWriter) at(i int) byte {
	if i < len(w.number) {
		return w.number[i]
	}
	return 0
}

func (w *numWriter) run() string {
	f := w.f
	if f.plus || f.minus {
		w.signWrote = !(f.plus && !f.minus)
	} else {
		if w.sign != '-' && f.fill {
			f.bracket = false
		}
		w.signWrote = w.sign == '+' && f.fill && !f.localeSign
		if f.signPos == signBefore && f.pre == f.preSignDigits {
			f.signPos = signAfter
		}
	}
	if f.zeroStart > 0 {
		f.zeroStart-- // counted from 1 while parsing, compared with numCurr from 0
	}
	w.numCount = f.post + f.pre - 1
	w.lastRelevant = -1
	if f.fill && f.decimal {
		w.lastRelevant = lastRelevantDecimal(w.number)
		if w.lastRelevant >= 0 && f.zeroEnd > w.preSpaces {
			if lastZero := f.zeroEnd - w.preSpaces; w.lastRelevant < lastZero {
				w.lastRelevant = lastZero
			}
		}
	}
	if !w.signWrote && w.preSpaces == 0 {
		w.numCount++
	}
	for _, n := range f.nodes {
		w.writeNode(n)
	}
	return w.out.String()
}

// lastRelevantDecimal is the index of the last nonzero digit after the
// point (or of the point), -1 without a point.
func lastRelevantDecimal(number string) int {
	p := strings.IndexByte(number, '.')
	if p < 0 {
		return -1
	}
	last := p
	for i := p + 1; i < len(number); i++ {
		if number[i] != '0' {
			last = i
		}
	}
	return last
}

func (w *numWriter) writeNode(n numNode) {
	f := w.f
	switch n.key {
	case numLiteral:
		w.out.WriteString(n.text)
	case numNine, numZero, numPoint, numLocalePoint:
		w.writeNumberPart(n.key)
	case numComma, numGroup:
		switch {
		case w.numIn:
			w.out.WriteByte(',')
		case !f.fill:
			w.out.WriteByte(' ')
		}
	case numCurrency:
		w.out.WriteByte(' ') // the C locale's currency symbol
	case numOrdinal, numOrdinalLower:
		if f.roman || strings.HasPrefix(w.number, "#") || w.sign == '-' || f.decimal {
			return
		}
		w.out.WriteString(ordinalEnding(w.number, n.key == numOrdinal))
	case numMinus, numPlus:
		// MI writes the minus of a negative number, PL the plus of a
		// positive one; a blank otherwise (nothing in fill mode)
		shown := byte('-')
		if n.key == numPlus {
			shown = '+'
		}
		switch {
		case w.sign == shown:
			w.out.WriteByte(shown)
		case !f.fill:
			w.out.WriteByte(' ')
		}
	case numPlusMinus:
		w.out.WriteByte(w.sign)
	}
}

// predecimalSpace: a number starting "0." shows a blank (or nothing)
// where that zero would be, unless the template has a 0.
func (w *numWriter) predecimalSpace() bool {
	return !w.f.zero && w.p == 0 && w.at(0) == '0' && w.f.post != 0
}

func (w *numWriter) writeNumberPart(key numKey) {
	f := w.f
	w.numIn = false
	if !w.signWrote &&
		(w.numCurr >= w.preSpaces || f.zero && f.zeroStart == w.numCurr) &&
		(!w.predecimalSpace() || w.lastRelevant >= 0 && w.at(w.lastRelevant) == '.') {
		w.writeLeadingSign()
	}
	switch {
	case w.numCurr < w.preSpaces && (f.zeroStart > w.numCurr || !f.zero):
		if !f.fill {
			w.out.WriteByte(' ')
		}
	case f.zero && w.numCurr < w.preSpaces && f.zeroStart <= w.numCurr:
		w.out.WriteByte('0')
		w.numIn = true
	default:
		w.writeDigitOrPoint(key)
		if w.p < len(w.number) {
			w.p++
		}
	}
	end := w.numCount
	if w.preSpaces > 0 {
		end++
	}
	if f.decimal {
		end++
	}
	if w.lastRelevant >= 0 && w.lastRelevant == w.p {
		end = w.numCurr
	}
	if w.numCurr+1 == end {
		switch {
		case w.signWrote && f.bracket:
			if w.sign == '+' {
				w.out.WriteByte(' ')
			} else {
				w.out.WriteByte('>')
			}
		case f.localeSign && f.signPos == signAfter:
			w.out.WriteByte(w.sign)
		}
	}
	w.numCurr++
}

func (w *numWriter) writeLeadingSign() {
	f := w.f
	switch {
	case f.localeSign:
		if f.signPos == signBefore {
			w.out.WriteByte(w.sign)
			w.signWrote = true
		}
	case f.bracket:
		if w.sign == '+' {
			w.out.WriteByte(' ')
		} else {
			w.out.WriteByte('<')
		}
		w.signWrote = true
	case w.sign == '+':
		if !f.fill {
			w.out.WriteByte(' ')
		}
		w.signWrote = true
	case w.sign == '-':
		w.out.WriteByte('-')
		w.signWrote = true
	}
}

func (w *numWriter) writeDigitOrPoint(key numKey) {
	f := w.f
	if w.at(w.p) == '.' {
		if w.lastRelevant < 0 || w.at(w.lastRelevant) != '.' || f.fill {
			w.out.WriteByte('.')
		}
		return
	}
	switch {
	case w.lastRelevant >= 0 && w.p > w.lastRelevant && key != numZero:
		// FM drops trailing zeros
	case w.predecimalSpace():
		if !f.fill {
			w.out.WriteByte(' ')
		} else if w.lastRelevant >= 0 && w.at(w.lastRelevant) == '.' {
			w.out.WriteByte('0')
		}
	default:
		if c := w.at(w.p); c != 0 {
			w.out.WriteByte(c)
		}
		w.numIn = true
	}
}

// write runs a template whose number is already text (Roman numerals).
func (f *numFormat) write(number string, sign byte) string {
	var out strings.Builder
	for _, n := range f.nodes {
		switch n.key {
		case numLiteral:
			out.WriteString(n.text)
		case numRoman, numRomanLower:
			s := number
			if n.key == numRomanLower {
				s = strings.ToLower(s)
			}
			if !f.fill {
				s = strings.Repeat(" ", max(0, 15-len(s))) + s
			}
			out.WriteString(s)
		case numPlusMinus:
			out.WriteByte(sign)
		}
	}
	return out.String()
}

// romanNumeral is the value rounded to an integer in Roman numerals, or
// fifteen '#' outside 1..3999.
func romanNumeral(value *big.Rat, float *float64) (string, error) {
	var n int64
	if float != nil {
		n = int64(math.RoundToEven(*float)) // rint, as PostgreSQL
	} else {
		rounded, _ := new(big.Int).SetString(value.FloatString(0), 10)
		if !rounded.IsInt64() || rounded.Int64() > math.MaxInt32 || rounded.Int64() < math.MinInt32 {
			return "", sqlerr.New(sqlerr.NumericOutOfRange, "integer out of range")
		}
		n = rounded.Int64()
	}
	if n < 1 || n > 3999 {
		return strings.Repeat("#", 15), nil
	}
	var sb strings.Builder
	for _, step := range []struct {
		v int64
		s string
	}{{1000, "M"}, {900, "CM"}, {500, "D"}, {400, "CD"}, {100, "C"}, {90, "XC"}, {50, "L"}, {40, "XL"}, {10, "X"}, {9, "IX"}, {5, "V"}, {4, "IV"}, {1, "I"}} {
		for ; n >= step.v; n -= step.v {
			sb.WriteString(step.s)
		}
	}
	return sb.String(), nil
}

// scientific is EEEE: the value with the template's decimal places in
// e-notation, a blank where a positive number's sign would be.
func scientific(value *big.Rat, float *float64, f *numFormat) string {
	var v float64
	if float != nil {
		v = *float
	} else {
		v, _ = new(big.Float).SetRat(value).Float64()
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		b := []byte(" " + strings.Repeat("#", f.pre+f.post+5))
		b[f.pre+1] = '.'
		return string(b)
	}
	s := scientificText(value, float, f.post)
	if !strings.HasPrefix(s, "-") {
		s = " " + s
	}
	return s
}

// scientificText prints d.ddd e±XX with post decimals; numerics are
// rounded exactly, floats as printf's %e would.
func scientificText(value *big.Rat, float *float64, post int) string {
	if float != nil {
		return strconv.FormatFloat(*float, 'e', post, 64)
	}
	if value.Sign() == 0 {
		return strconv.FormatFloat(0, 'e', post, 64)
	}
	abs := new(big.Rat).Abs(value)
	exp := len(new(big.Int).Quo(abs.Num(), abs.Denom()).String()) - 1
	if abs.Cmp(big.NewRat(1, 1)) < 0 {
		exp = 0
		for r := new(big.Rat).Set(abs); r.Cmp(big.NewRat(1, 1)) < 0; exp-- {
			r.Mul(r, big.NewRat(10, 1))
		}
	}
	scaled := new(big.Rat).Quo(abs, new(big.Rat).SetFrac(pow10(int32(max(exp, 0))), pow10(int32(max(-exp, 0)))))
	// a rounding carry shows as 10.0e+02, as PostgreSQL prints it
	mantissa := scaled.FloatString(post)
	sign := ""
	if value.Sign() < 0 {
		sign = "-"
	}
	expSign := "+"
	if exp < 0 {
		expSign, exp = "-", -exp
	}
	e := strconv.Itoa(exp)
	if len(e) < 2 {
		e = "0" + e
	}
	return sign + mantissa + "e" + expSign + e
}

// parseNumber is to_number(text, text): digits are read where the
// template has 9, 0, . or D, a sign where it has S, MI, PL, SG or PR (or
// before the first digit), and every other template character skips one
// input character, as PostgreSQL's NUM_processor reads.
func parseNumber(input, tmpl string) (*big.Rat, error) {
	f, err := parseNumFormat(tmpl)
	if err != nil {
		return nil, err
	}
	if f.exponent {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "\"EEEE\" not supported for input")
	}
	if f.roman {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "\"RN\" not supported for input")
	}
	r := &numReader{f: f, in: input, sign: ' '}
	for _, n := range f.nodes {
		if r.pos >= len(r.in) {
			break
		}
		if !r.readNode(n) {
			continue
		}
		r.pos++
	}
	text := strings.TrimSuffix(r.digits.String(), ".")
	v, ok := new(big.Rat).SetString(text)
	if !ok || text == "" {
		return nil, sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type numeric: %q", string(r.sign)+text)
	}
	if r.sign == '-' {
		v.Neg(v)
	}
	if err := r.checkPrecision(v); err != nil {
		return nil, err
	}
	if f.shift {
		v.Quo(v, new(big.Rat).SetInt(pow10(int32(f.multi))))
	}
	return v, nil
}

// numReader is NUM_processor reading: the sign found so far (' ' for
// none) and the digits and point read.
type numReader struct {
	f                 *numFormat
	in                string
	pos               int
	sign              byte
	digits            strings.Builder
	readPre, readPost int
	readPoint         bool
}

func (r *numReader) char(i int) byte {
	if i < len(r.in) {
		return r.in[i]
	}
	return 0
}

// readNode reads what one template node matches; false means the node
// consumed nothing and the next one starts at the same character.
func (r *numReader) readNode(n numNode) bool {
	f := r.f
	switch n.key {
	case numLiteral:
		_, size := utf8.DecodeRuneInString(r.in[r.pos:])
		r.pos += size - 1
	case numNine, numZero, numPoint, numLocalePoint:
		r.readNumberPart(n.key)
	case numComma, numGroup:
		// a group separator is skipped only where the input has one
		return !f.fill && r.char(r.pos) == ','
	case numCurrency:
		r.skipNonData(1)
		return false
	case numOrdinal, numOrdinalLower:
		r.skipNonData(2)
		return false
	case numMinus, numPlus, numPlusMinus:
		c := r.char(r.pos)
		if c == '-' && n.key != numPlus || c == '+' && n.key != numMinus {
			r.sign = c
			return true
		}
		r.skipNonData(1)
		return false
	default:
		return false
	}
	return true
}

func (r *numReader) readNumberPart(key numKey) {
	f := r.f
	if r.char(r.pos) == ' ' {
		r.pos++
	}
	if r.pos >= len(r.in) {
		return
	}
	if r.sign == ' ' && (key == numZero || key == numNine) && r.readPre+r.readPost == 0 {
		r.readLeadingSign()
	}
	if r.pos >= len(r.in) {
		return
	}
	read := false
	switch c := r.char(r.pos); {
	case c >= '0' && c <= '9':
		if r.readPoint && r.readPost == f.post {
			return
		}
		r.digits.WriteByte(c)
		if r.readPoint {
			r.readPost++
		} else {
			r.readPre++
		}
		read = true
	case f.decimal && !r.readPoint && c == '.':
		r.digits.WriteByte('.')
		r.readPoint, read = true, true
	}
	if r.pos >= len(r.in) || r.sign != ' ' || r.readPre+r.readPost == 0 {
		return
	}
	// a sign right after the last digit: 123.001- for FM9999.9999999S
	switch {
	case f.localeSign && read && r.pos+1 < len(r.in) && !isDigitByte(r.char(r.pos+1)):
		if c := r.char(r.pos + 1); c == '-' || c == '+' {
			r.sign = c
			r.pos++
		}
	case !read && !f.localeSign && (f.plus || f.minus):
		if c := r.char(r.pos); c == '-' || c == '+' {
			r.sign = c
		}
	}
}

func (r *numReader) readLeadingSign() {
	f := r.f
	c := r.char(r.pos)
	switch {
	case f.localeSign && f.signPos == signBefore:
		if c == '-' || c == '+' {
			r.sign = c
			r.pos++
		}
	case c == '-' || f.bracket && c == '<':
		r.sign = '-'
		r.pos++
	case c == '+':
		r.sign = '+'
		r.pos++
	}
}

// checkPrecision refuses a value with more integer digits than the
// template has (PostgreSQL reads it as numeric(pre+V+read decimals, read
// decimals)).
func (r *numReader) checkPrecision(v *big.Rat) error {
	maxDigits := r.f.pre + r.f.multi
	limit := new(big.Rat).SetInt(pow10(int32(maxDigits)))
	if new(big.Rat).Abs(v).Cmp(limit) < 0 {
		return nil
	}
	bound := "1"
	if maxDigits > 0 {
		bound = "10^" + strconv.Itoa(maxDigits)
	}
	return sqlerr.New(sqlerr.NumericOutOfRange, "numeric field overflow").
		WithDetail(fmt.Sprintf("A field with precision %d, scale %d must round to an absolute value less than %s.", maxDigits+r.readPost, r.readPost, bound))
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// skipNonData skips up to n input characters that cannot be part of the
// number (a currency symbol, an ordinal ending, a missing sign's place).
func (r *numReader) skipNonData(n int) {
	for ; n > 0 && r.pos < len(r.in); n-- {
		if strings.IndexByte("0123456789.,+-", r.in[r.pos]) >= 0 {
			return
		}
		_, size := utf8.DecodeRuneInString(r.in[r.pos:])
		r.pos += size
	}
}

// NumberTemplateScale is the scale of to_number's result for a template:
// its digits after the point (and those V shifts in).
func NumberTemplateScale(tmpl string) (int32, bool) {
	f, err := parseNumFormat(tmpl)
	if err != nil || f.exponent || f.roman {
		return 0, false
	}
	return int32(f.post + f.multi), true
}
