package exec

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// to_date(text, text) and to_timestamp(text, text) read a date or time
// through a to_char-style template, following PostgreSQL's rules (the
// "usage notes" of its formatting functions): outside FX mode spaces
// before fields are skipped, a template separator matches one input
// separator or nothing, any other template character (quoted or not)
// consumes one input character without looking at it, a numeric field
// followed by a non-digit reads as many digits as there are, and input
// left over after the template ends is ignored.

type fromCharField int

const (
	fcYear fromCharField = iota
	fcYearYYY
	fcYearYY
	fcYearY
	fcYearComma
	fcCentury
	fcMonth
	fcMonthName
	fcMonthAbbrev
	fcRomanMonth
	fcDay
	fcDayOfYear
	fcDayOfWeek
	fcDayName
	fcDayAbbrev
	fcISODayOfWeek
	fcWeekOfYear
	fcWeekOfMonth
	fcQuarter
	fcJulian
	fcHour12
	fcHour24
	fcMinute
	fcSecond
	fcSecondsOfDay
	fcMillis
	fcMicros
	fcMeridiem
	fcMeridiemDots
	fcEra
	fcEraDots
	fcTZHour
	fcTZMinute
	fcFixed
	fcToCharOnly
)

// dateMode says which calendar a field belongs to: Gregorian and ISO
// week fields cannot be mixed in one template.
type dateMode int

const (
	modeNone dateMode = iota
	modeGregorian
	modeISO
)

type fromCharKey struct {
	name   string
	field  fromCharField
	width  int // digits read by a fixed-width numeric field; 0 when not numeric
	mode   dateMode
	digits bool
}

// fromCharKeys are the template patterns, in upper case; lower-case
// spellings are the same patterns, and "Month", "Mon", "Day" and "Dy" too.
// Longer patterns come first where one is a prefix of another.
var fromCharKeys = []fromCharKey{
	{"A.D.", fcEraDots, 0, modeNone, false}, {"A.M.", fcMeridiemDots, 0, modeNone, false},
	{"AD", fcEra, 0, modeNone, false}, {"AM", fcMeridiem, 0, modeNone, false},
	{"B.C.", fcEraDots, 0, modeNone, false}, {"BC", fcEra, 0, modeNone, false},
	{"CC", fcCentury, 2, modeNone, true},
	{"DAY", fcDayName, 0, modeNone, false}, {"DDD", fcDayOfYear, 3, modeGregorian, true},
	{"DD", fcDay, 2, modeGregorian, true}, {"DY", fcDayAbbrev, 0, modeNone, false},
	{"D", fcDayOfWeek, 1, modeGregorian, true},
	{"FF1", fcMicros, 1, modeNone, true}, {"FF2", fcMicros, 2, modeNone, true},
	{"FF3", fcMicros, 3, modeNone, true}, {"FF4", fcMicros, 4, modeNone, true},
	{"FF5", fcMicros, 5, modeNone, true}, {"FF6", fcMicros, 6, modeNone, true},
	{"FX", fcFixed, 0, modeNone, false},
	{"HH24", fcHour24, 2, modeNone, true}, {"HH12", fcHour12, 2, modeNone, true},
	{"HH", fcHour12, 2, modeNone, true},
	{"IDDD", fcDayOfYear, 3, modeISO, true}, {"ID", fcISODayOfWeek, 1, modeISO, true},
	{"IW", fcWeekOfYear, 2, modeISO, true}, {"IYYY", fcYear, 4, modeISO, true},
	{"IYY", fcYearYYY, 3, modeISO, true}, {"IY", fcYearYY, 2, modeISO, true},
	{"I", fcYearY, 1, modeISO, true},
	{"J", fcJulian, 1, modeNone, true},
	{"MI", fcMinute, 2, modeNone, true}, {"MM", fcMonth, 2, modeGregorian, true},
	{"MONTH", fcMonthName, 0, modeGregorian, false}, {"MON", fcMonthAbbrev, 0, modeGregorian, false},
	{"MS", fcMillis, 3, modeNone, true},
	{"OF", fcToCharOnly, 0, modeNone, false},
	{"P.M.", fcMeridiemDots, 0, modeNone, false}, {"PM", fcMeridiem, 0, modeNone, false},
	{"Q", fcQuarter, 1, modeNone, true},
	{"RM", fcRomanMonth, 0, modeGregorian, false},
	{"SSSSS", fcSecondsOfDay, 5, modeNone, true}, {"SSSS", fcSecondsOfDay, 4, modeNone, true},
	{"SS", fcSecond, 2, modeNone, true},
	{"TZH", fcTZHour, 2, modeNone, true}, {"TZM", fcTZMinute, 2, modeNone, true},
	{"TZ", fcToCharOnly, 0, modeNone, false},
	{"US", fcMicros, 6, modeNone, true},
	{"WW", fcWeekOfYear, 2, modeGregorian, true}, {"W", fcWeekOfMonth, 1, modeGregorian, true},
	{"Y,YYY", fcYearComma, 0, modeGregorian, true}, {"YYYY", fcYear, 4, modeGregorian, true},
	{"YYY", fcYearYYY, 3, modeGregorian, true}, {"YY", fcYearYY, 2, modeGregorian, true},
	{"Y", fcYearY, 1, modeGregorian, true},
}

type fromCharNodeKind int

const (
	nodeField fromCharNodeKind = iota
	nodeSeparator
	nodeSpace
	nodeChar
)

// fromCharNode is one piece of a template, shared by to_char (which
// writes it) and to_date/to_timestamp (which read along it).
type fromCharNode struct {
	kind         fromCharNodeKind
	key          *fromCharKey
	name         string // the pattern as written: its case picks the output's
	text         string // a literal's character, as to_char copies it
	fillMode     bool   // FM prefix: no padding written, any number of digits read
	translated   bool   // TM prefix: names in the locale's words, unpadded
	ordinal      bool   // TH/th suffix: an ordinal ending after the number
	ordinalUpper bool   // TH rather than th
	digit        bool   // a literal digit: the field before it has a fixed width
}

// parseFromCharTemplate splits a template into pattern, separator, space
// and literal-character nodes.
func parseFromCharTemplate(tmpl string) []fromCharNode {
	var nodes []fromCharNode
	for i := 0; i < len(tmpl); {
		fill, translated := false, false
		if strings.HasPrefix(tmpl[i:], "FM") || strings.HasPrefix(tmpl[i:], "fm") {
			fill, i = true, i+2
		} else if strings.HasPrefix(tmpl[i:], "TM") || strings.HasPrefix(tmpl[i:], "tm") {
			translated, i = true, i+2 // the locale's words are English here
		}
		if i >= len(tmpl) {
			break // a prefix ending the template modifies nothing
		}
		if key, written := matchFromCharKey(tmpl[i:]); key != nil {
			i += len(written)
			n := fromCharNode{kind: nodeField, key: key, name: written, fillMode: fill, translated: translated}
			if strings.HasPrefix(tmpl[i:], "TH") || strings.HasPrefix(tmpl[i:], "th") {
				n.ordinal, n.ordinalUpper, i = true, tmpl[i] == 'T', i+2
			} else if strings.HasPrefix(tmpl[i:], "SP") {
				i += 2
			}
			nodes = append(nodes, n)
			continue
		}
		if tmpl[i] == '"' {
			i = appendQuoted(&nodes, tmpl, i+1)
			continue
		}
		if tmpl[i] == '\\' && i+1 < len(tmpl) && tmpl[i+1] == '"' {
			i++
		}
		r, size := utf8.DecodeRuneInString(tmpl[i:])
		n := charNode(r)
		n.text = tmpl[i : i+size]
		nodes = append(nodes, n)
		i += size
	}
	return nodes
}

// appendQuoted adds the characters of a double-quoted literal starting at
// i (after the quote) and returns the position after its closing quote.
func appendQuoted(nodes *[]fromCharNode, tmpl string, i int) int {
	for i < len(tmpl) {
		if tmpl[i] == '"' {
			return i + 1
		}
		if tmpl[i] == '\\' && i+1 < len(tmpl) {
			i++
		}
		r, size := utf8.DecodeRuneInString(tmpl[i:])
		*nodes = append(*nodes, fromCharNode{kind: nodeChar, text: tmpl[i : i+size], digit: r >= '0' && r <= '9'})
		i += size
	}
	return i
}

func charNode(r rune) fromCharNode {
	switch {
	case isSeparatorRune(r):
		return fromCharNode{kind: nodeSeparator}
	case r < utf8.RuneSelf && isSpaceByte(byte(r)):
		return fromCharNode{kind: nodeSpace}
	}
	return fromCharNode{kind: nodeChar, digit: r >= '0' && r <= '9'}
}

// isSeparatorRune: printable ASCII that is neither a letter nor a digit.
func isSeparatorRune(r rune) bool {
	return r > 0x20 && r < 0x7f && !(r >= 'A' && r <= 'Z') && !(r >= 'a' && r <= 'z') && !(r >= '0' && r <= '9')
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

func matchFromCharKey(s string) (*fromCharKey, string) {
	for i := range fromCharKeys {
		k := &fromCharKeys[i]
		if len(s) < len(k.name) {
			continue
		}
		written := s[:len(k.name)]
		if written == k.name || written == strings.ToLower(k.name) || capitalizedName(k.name) && written == k.name[:1]+strings.ToLower(k.name[1:]) {
			return k, written
		}
	}
	return nil, ""
}

func capitalizedName(name string) bool {
	return name == "MONTH" || name == "MON" || name == "DAY" || name == "DY"
}

// fromCharValues are the fields read from the input; zero means unset,
// as in PostgreSQL (a field set twice to different values is an error).
type fromCharValues struct {
	mode                          dateMode
	year, yearDigits, century     int
	month, day, dayOfYear         int
	dayOfWeek, week, weekOfMonth  int
	julian                        int
	hour, minute, second, seconds int
	millis, micros                int
	clock12, pm, bc               bool
	tzSign, tzHour, tzMinute      int
	fractionDigits                int // FFn's n: the time is rounded to it
}

// fromCharReader walks the input along the template.
type fromCharReader struct {
	in        string
	pos       int
	fixed     bool // FX: separators and characters consume exactly one character
	extraSkip int  // spaces skipped beyond what the template asked for
	v         fromCharValues
}

func readFromChar(input, tmpl string) (*fromCharValues, error) {
	nodes := parseFromCharTemplate(tmpl)
	r := &fromCharReader{in: input}
	for i := 0; i < len(nodes) && r.pos < len(r.in); i++ {
		n := &nodes[i]
		isFX := n.kind == nodeField && n.key.field == fcFixed
		if !r.fixed && !isFX && (n.kind == nodeField || i == 0) {
			r.skipSpaces()
		}
		switch n.kind {
		case nodeSpace, nodeSeparator:
			r.matchSeparator()
		case nodeChar:
			r.skipLiteral()
		default:
			if err := r.readField(nodes, i); err != nil {
				return nil, err
			}
			if !r.fixed {
				r.extraSkip = 0
				r.skipSpaces()
			}
		}
	}
	return &r.v, nil
}

// char is the input byte at i, 0 past the end (leading blanks may have
// used the input up before a node looks at it).
func (r *fromCharReader) char(i int) byte {
	if i < len(r.in) {
		return r.in[i]
	}
	return 0
}

func (r *fromCharReader) skipSpaces() {
	for r.pos < len(r.in) && isSpaceByte(r.in[r.pos]) {
		r.pos++
		r.extraSkip++
	}
}

func (r *fromCharReader) skipRune() {
	_, size := utf8.DecodeRuneInString(r.in[r.pos:])
	r.pos += size
}

func (r *fromCharReader) matchSeparator() {
	if r.fixed {
		if r.pos < len(r.in) {
			r.skipRune()
		}
		return
	}
	r.extraSkip--
	if c := r.char(r.pos); c != 0 && (isSpaceByte(c) || isSeparatorRune(rune(c))) {
		r.pos++
		r.extraSkip++
	}
}

func (r *fromCharReader) skipLiteral() {
	if !r.fixed && r.extraSkip > 0 {
		// spaces already skipped stand in for this character, which could
		// otherwise eat the start of the next field
		r.extraSkip--
		return
	}
	if r.pos < len(r.in) {
		r.skipRune()
	}
}

func (r *fromCharReader) readField(nodes []fromCharNode, i int) error {
	n := &nodes[i]
	k := n.key
	if err := r.setMode(k.mode); err != nil {
		return err
	}
	v := &r.v
	switch k.field {
	case fcFixed:
		r.fixed = true
		return nil
	case fcToCharOnly:
		return sqlerr.New(sqlerr.FeatureNotSupported, "formatting field \"%s\" is only supported in to_char", n.name)
	case fcMeridiem, fcMeridiemDots:
		idx, err := r.matchWord(n, meridiemWords(k.field == fcMeridiemDots))
		if err != nil {
			return err
		}
		v.pm, v.clock12 = idx == 1, true
		return nil
	case fcEra, fcEraDots:
		idx, err := r.matchWord(n, eraWords(k.field == fcEraDots))
		if err != nil {
			return err
		}
		v.bc = idx == 1
		return nil
	case fcMonthName, fcMonthAbbrev:
		idx, err := r.matchWord(n, monthWords(k.field == fcMonthAbbrev))
		if err != nil {
			return err
		}
		return r.set(n, &v.month, idx+1)
	case fcRomanMonth:
		idx, err := r.matchWord(n, romanMonthsDescending)
		if err != nil {
			return err
		}
		return r.set(n, &v.month, 12-idx)
	case fcDayName, fcDayAbbrev:
		idx, err := r.matchWord(n, dayWords(k.field == fcDayAbbrev))
		if err != nil {
			return err
		}
		return r.set(n, &v.dayOfWeek, idx+1)
	case fcYearComma:
		return r.readYearWithComma(n)
	}
	return r.readNumericField(nodes, i)
}

func (r *fromCharReader) readNumericField(nodes []fromCharNode, i int) error {
	n := &nodes[i]
	v := &r.v
	value, used, err := r.readInt(nodes, i)
	if err != nil {
		return err
	}
	switch n.key.field {
	case fcYear, fcYearYYY, fcYearYY, fcYearY:
		err = r.set(n, &v.year, value)
		if n.key.field != fcYear && used < 4 {
			v.year = yearNear2020(v.year)
		}
		v.yearDigits = n.key.width
	case fcCentury:
		err = r.set(n, &v.century, value)
	case fcMonth:
		err = r.set(n, &v.month, value)
	case fcDay:
		err = r.set(n, &v.day, value)
	case fcDayOfYear:
		err = r.set(n, &v.dayOfYear, value)
	case fcDayOfWeek:
		err = r.set(n, &v.dayOfWeek, value)
	case fcISODayOfWeek:
		if err = r.set(n, &v.dayOfWeek, value); err == nil {
			// Monday = 1 … Sunday = 7 becomes Sunday = 1 like D
			if v.dayOfWeek++; v.dayOfWeek > 7 {
				v.dayOfWeek = 1
			}
		}
	case fcWeekOfYear:
		err = r.set(n, &v.week, value)
	case fcWeekOfMonth:
		err = r.set(n, &v.weekOfMonth, value)
	case fcJulian:
		err = r.set(n, &v.julian, value)
	case fcHour12:
		err = r.set(n, &v.hour, value)
		v.clock12 = true
	case fcHour24:
		err = r.set(n, &v.hour, value)
	case fcMinute:
		err = r.set(n, &v.minute, value)
	case fcSecond:
		err = r.set(n, &v.second, value)
	case fcSecondsOfDay:
		err = r.set(n, &v.seconds, value)
	case fcMillis:
		err = r.set(n, &v.millis, value)
		v.millis *= tenTo(3 - min(used, 3))
	case fcMicros:
		err = r.set(n, &v.micros, value)
		v.micros *= tenTo(6 - min(used, 6))
		if strings.EqualFold(n.name[:2], "FF") {
			v.fractionDigits = n.key.width // the result is rounded to FFn's digits
		}
	case fcTZHour:
		// the sign was read by readInt's caller below
		err = r.set(n, &v.tzHour, value)
	case fcTZMinute:
		if v.tzSign == 0 {
			v.tzSign = 1
		}
		err = r.set(n, &v.tzMinute, value)
	}
	if err == nil && n.ordinal {
		r.skipOrdinal()
	}
	return err
}

// tenTo is 10ⁿ for the few digits of a fraction field.
func tenTo(n int) int {
	p := 1
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

func (r *fromCharReader) skipOrdinal() {
	for j := 0; j < 2 && r.pos < len(r.in); j++ {
		r.skipRune()
	}
}

// readInt reads a numeric field: as many digits as strtol takes when the
// field is in fill mode or followed by a non-digit, otherwise exactly its
// width. It returns the value and the characters used.
func (r *fromCharReader) readInt(nodes []fromCharNode, i int) (int, int, error) {
	n := &nodes[i]
	if n.key.field == fcTZHour {
		r.readTZSign()
	}
	for r.pos < len(r.in) && isSpaceByte(r.in[r.pos]) {
		r.pos++
	}
	start := r.pos
	width := n.key.width
	copyText := r.in[start:min(len(r.in), start+width)]
	if n.fillMode || nextIsSeparator(nodes, i) {
		used := strtolPrefix(r.in[start:])
		r.pos += used
	} else {
		if len(copyText) < width {
			return 0, 0, sqlerr.New(sqlerr.InvalidDatetime, "source string too short for \"%s\" formatting field", n.name).
				WithDetail("Field requires " + strconv.Itoa(width) + " characters, but only " + strconv.Itoa(len(copyText)) + " remain.").
				WithHint("If your source string is not fixed-width, try using the \"FM\" modifier.")
		}
		used := strtolPrefix(copyText)
		if used > 0 && used < width {
			return 0, 0, sqlerr.New(sqlerr.InvalidDatetime, "invalid value \"%s\" for \"%s\"", copyText, n.name).
				WithDetail("Field requires " + strconv.Itoa(width) + " characters, but only " + strconv.Itoa(used) + " could be parsed.").
				WithHint("If your source string is not fixed-width, try using the \"FM\" modifier.")
		}
		r.pos += used
	}
	if r.pos == start {
		return 0, 0, sqlerr.New(sqlerr.InvalidDatetime, "invalid value \"%s\" for \"%s\"", copyText, n.name).
			WithDetail("Value must be an integer.")
	}
	value, err := strconv.ParseInt(strings.TrimSpace(r.in[start:r.pos]), 10, 32)
	if err != nil {
		return 0, 0, sqlerr.New(sqlerr.DatetimeOverflow, "value for \"%s\" in source string is out of range", n.name).
			WithDetail("Value must be in the range -2147483648 to 2147483647.")
	}
	return int(value), r.pos - start, nil
}

// readTZSign reads TZH's sign: a '+', '-' or space before its digits, or a
// '-' already skipped as a separator.
func (r *fromCharReader) readTZSign() {
	switch c := r.char(r.pos); {
	case c == '+' || c == '-' || c == ' ':
		r.v.tzSign = 1
		if c == '-' {
			r.v.tzSign = -1
		}
		r.pos++
	case r.extraSkip > 0 && r.pos > 0 && r.in[r.pos-1] == '-':
		r.v.tzSign = -1
	default:
		r.v.tzSign = 1
	}
}

// strtolPrefix is the length of the integer strtol would read at the
// start of s: blanks, an optional sign, digits (zero when no digit).
func strtolPrefix(s string) int {
	i := 0
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == digits {
		return 0
	}
	return i
}

// nextIsSeparator says whether the node after i cannot be digits, so that
// the numeric field at i may read as many digits as there are.
func nextIsSeparator(nodes []fromCharNode, i int) bool {
	if nodes[i].ordinal {
		return true
	}
	if i+1 == len(nodes) {
		return true
	}
	next := &nodes[i+1]
	switch next.kind {
	case nodeField:
		return !next.key.digits
	case nodeChar:
		return !next.digit
	}
	return true
}

func (r *fromCharReader) readYearWithComma(n *fromCharNode) error {
	s := r.in[r.pos:]
	thousands := strtolPrefix(s)
	if thousands == 0 || thousands >= len(s) || s[thousands] != ',' {
		return sqlerr.New(sqlerr.InvalidDatetime, "invalid input string for \"Y,YYY\"")
	}
	rest := s[thousands+1:]
	blanks := len(rest) - len(strings.TrimLeft(rest, " \t\n\r\f\v")) // sscanf's %03d skips them
	rest = rest[blanks:]
	digits := 0
	for digits < len(rest) && digits < 3 && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return sqlerr.New(sqlerr.InvalidDatetime, "invalid input string for \"Y,YYY\"")
	}
	hi, err1 := strconv.Atoi(strings.TrimSpace(s[:thousands]))
	lo, err2 := strconv.Atoi(rest[:digits])
	if err1 != nil || err2 != nil {
		return sqlerr.New(sqlerr.InvalidDatetime, "invalid input string for \"Y,YYY\"")
	}
	r.pos += thousands + 1 + blanks + digits
	r.v.yearDigits = 4
	return r.set(n, &r.v.year, hi*1000+lo)
}

func (r *fromCharReader) setMode(m dateMode) error {
	if m == modeNone {
		return nil
	}
	if r.v.mode != modeNone && r.v.mode != m {
		return sqlerr.New(sqlerr.InvalidDatetime, "invalid combination of date conventions").
			WithHint("Do not mix Gregorian and ISO week date conventions in a formatting template.")
	}
	r.v.mode = m
	return nil
}

func (r *fromCharReader) set(n *fromCharNode, dest *int, value int) error {
	if *dest != 0 && *dest != value {
		return sqlerr.New(sqlerr.InvalidDatetime, "conflicting values for \"%s\" field in formatting string", n.name).
			WithDetail("This value contradicts a previous setting for the same field type.")
	}
	*dest = value
	return nil
}

// matchWord finds which of words (compared without regard to case) the
// input starts with.
func (r *fromCharReader) matchWord(n *fromCharNode, words []string) (int, error) {
	s := r.in[r.pos:]
	for idx, w := range words {
		if len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) {
			r.pos += len(w)
			return idx, nil
		}
	}
	shown := s
	if end := strings.IndexAny(s, " \t\n\r\f\v"); end >= 0 {
		shown = s[:end] // PostgreSQL shows the input up to its next blank
	}
	return 0, sqlerr.New(sqlerr.InvalidDatetime, "invalid value \"%s\" for \"%s\"", shown, n.name).
		WithDetail("The given value did not match any of the allowed values for this field.")
}

func meridiemWords(dots bool) []string {
	if dots {
		return []string{"a.m.", "p.m."}
	}
	return []string{"am", "pm"}
}

func eraWords(dots bool) []string {
	if dots {
		return []string{"a.d.", "b.c."}
	}
	return []string{"ad", "bc"}
}

// monthWords are indexed by month - 1.
func monthWords(abbrev bool) []string {
	words := make([]string, 12)
	for m := time.January; m <= time.December; m++ {
		words[m-1] = m.String()
		if abbrev {
			words[m-1] = words[m-1][:3]
		}
	}
	return words
}

// romanMonthsDescending are XII … I: a numeral must be tried before its
// prefixes (VIII before VII before V), and this order does that.
var romanMonthsDescending = []string{"XII", "XI", "X", "IX", "VIII", "VII", "VI", "V", "IV", "III", "II", "I"}

func dayWords(abbrev bool) []string {
	words := make([]string, 7)
	for d := time.Sunday; d <= time.Saturday; d++ {
		words[d] = d.String()
		if abbrev {
			words[d] = words[d][:3]
		}
	}
	return words
}

// yearNear2020 reads a year given with fewer than four digits as the one
// nearest 2020, as PostgreSQL does ('69' is 2069, '70' is 1970).
func yearNear2020(y int) int {
	switch {
	case y < 70:
		return y + 2000
	case y < 100:
		return y + 1900
	case y < 520:
		return y + 2000
	case y < 1000:
		return y + 1000
	}
	return y
}

// fromCharMoment is what the fields describe: a proleptic Gregorian date
// (year 0 is 1 BC), a time of day and, when TZH or TZM were read, the
// offset east of UTC.
type fromCharMoment struct {
	days      int64 // since 1970-01-01
	micros    int64 // since midnight
	offset    int   // seconds east of UTC
	hasOffset bool
}

// Which date fields were given, for the range checks PostgreSQL makes.
const (
	givenYear = 1 << iota
	givenMonth
	givenDay
	givenDate = givenYear | givenMonth | givenDay
)

// resolve turns the fields into a moment as PostgreSQL's do_to_timestamp
// does: unset fields default to January 1 of 1 BC at midnight.
func (v *fromCharValues) resolve(input string) (fromCharMoment, error) {
	fieldOverflow := sqlerr.New(sqlerr.DatetimeOverflow, "date/time field value out of range: %q", input)
	year, month, day, given := v.resolveYear(), 1, 1, 0
	if v.year != 0 || v.century != 0 {
		given |= givenYear
	}
	if v.julian != 0 {
		year, month, day = civilDate(int64(v.julian) - julianDayOfEpoch)
		given |= givenDate
	}
	dayOfYear := v.dayOfYear
	if v.week != 0 {
		if v.mode == modeISO {
			d := isoWeekStart(year, v.week)
			if v.dayOfWeek != 0 {
				d += int64((v.dayOfWeek + 5) % 7) // Sunday = 1 is the week's last day
			}
			year, month, day = civilDate(d)
			given |= givenDate
		} else {
			dayOfYear = (v.week-1)*7 + 1
		}
	}
	dayOfMonth := v.day
	if v.weekOfMonth != 0 {
		dayOfMonth = (v.weekOfMonth-1)*7 + 1 // W wins over DD, as in PostgreSQL
	}
	if dayOfMonth != 0 {
		day = dayOfMonth
		given |= givenDay
	}
	if v.month != 0 {
		month = v.month
		given |= givenMonth
	}
	if dayOfYear != 0 && (month <= 1 || day <= 1) {
		if year == 0 && !v.bc {
			return fromCharMoment{}, sqlerr.New(sqlerr.InvalidDatetime, "cannot calculate day of year without year information")
		}
		if v.mode == modeISO {
			year, month, day = civilDate(isoWeekStart(year, 1) + int64(dayOfYear) - 1)
			given |= givenDate
		} else {
			m, d := monthDayOfYear(year, dayOfYear)
			if month <= 1 {
				month = m
			}
			if day <= 1 {
				day = d
			}
			given |= givenMonth | givenDay
		}
	}
	if !validDate(year, month, day, given) {
		return fromCharMoment{}, fieldOverflow
	}
	micros, err := v.timeOfDay()
	if err != nil {
		return fromCharMoment{}, err
	}
	if micros < 0 {
		return fromCharMoment{}, fieldOverflow
	}
	m := fromCharMoment{days: daysFromEpoch(year, month, day), micros: micros}
	if v.tzSign != 0 {
		if v.tzHour < 0 || v.tzHour > 15 || v.tzMinute < 0 || v.tzMinute >= 60 {
			return fromCharMoment{}, sqlerr.New(sqlerr.InvalidTimeZoneDisplacement, "time zone displacement out of range: %q", input)
		}
		m.offset, m.hasOffset = v.tzSign*(v.tzHour*3600+v.tzMinute*60), true
	}
	return m, nil
}

// resolveYear applies the century and the era to the year read.
func (v *fromCharValues) resolveYear() int {
	cc := v.century
	if v.bc {
		cc = -cc
	}
	switch {
	case v.year != 0 && cc != 0 && v.yearDigits <= 2:
		// YY within the century CC: the 21st century runs 2001-2100
		y := v.year % 100
		switch {
		case y == 0 && cc >= 0:
			return cc * 100
		case y == 0:
			return cc*100 + 1
		case cc >= 0:
			return y + (cc-1)*100
		}
		return (cc+1)*100 - y + 1
	case v.year != 0:
		y := v.year
		if v.bc {
			y = -y
		}
		if y < 0 {
			y++ // 1 BC is year 0
		}
		return y
	case cc > 0:
		return (cc-1)*100 + 1
	case cc < 0:
		return cc*100 + 1
	}
	return 0
}

// timeOfDay is the time read, in microseconds since midnight, or -1 when
// a field is out of range.
func (v *fromCharValues) timeOfDay() (int64, error) {
	hour, minute, second := 0, 0, 0
	if v.seconds != 0 {
		hour, minute, second = v.seconds/3600, v.seconds%3600/60, v.seconds%60
	}
	if v.hour != 0 {
		hour = v.hour
	}
	if v.minute != 0 {
		minute = v.minute
	}
	if v.second != 0 {
		second = v.second
	}
	if v.clock12 {
		if hour < 1 || hour > 12 {
			return 0, sqlerr.New(sqlerr.InvalidDatetime, "hour \"%d\" is invalid for the 12-hour clock", hour).
				WithHint("Use the 24-hour clock, or give an hour between 1 and 12.")
		}
		if v.pm && hour < 12 {
			hour += 12
		} else if !v.pm && hour == 12 {
			hour = 0
		}
	}
	fraction := int64(v.millis)*1000 + int64(v.micros)
	if hour < 0 || hour >= 24 || minute < 0 || minute >= 60 || second < 0 || second >= 60 || fraction < 0 || fraction >= 1e6 {
		return -1, nil
	}
	micros := (int64(hour)*3600+int64(minute)*60+int64(second))*1e6 + fraction
	if v.fractionDigits > 0 && v.fractionDigits < 6 {
		unit := int64(tenTo(6 - v.fractionDigits))
		micros = (micros + unit/2) / unit * unit
	}
	return micros, nil
}

// validDate makes PostgreSQL's checks: month and day in range when given,
// and the day within its month only when year, month and day all were.
func validDate(year, month, day, given int) bool {
	if given&givenMonth != 0 && (month < 1 || month > 12) {
		return false
	}
	if given&givenDay != 0 && (day < 1 || day > 31) {
		return false
	}
	return given&givenDate != givenDate || day <= daysInMonth(year, month)
}

func daysInMonth(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// monthDayOfYear turns a day of the year into its month and day; a day
// past the year's end gives month 13, which the range check refuses.
func monthDayOfYear(year, dayOfYear int) (int, int) {
	month, before := 1, 0
	for month <= 12 && dayOfYear > before+daysInMonth(year, month) {
		before += daysInMonth(year, month)
		month++
	}
	return month, dayOfYear - before
}

// daysFromEpoch counts days from 1970-01-01 to a proleptic Gregorian date;
// months and days past their end roll over as in PostgreSQL's date2j.
func daysFromEpoch(year, month, day int) int64 {
	return floorDiv(time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

func civilDate(days int64) (int, int, int) {
	y, m, d := civilFromDays(days)
	return int(y), int(m), int(d)
}

// isoWeekStart is the Monday of an ISO year's week, in days from the
// epoch: week 1 is the one holding January 4.
func isoWeekStart(year, week int) int64 {
	jan4 := daysFromEpoch(year, 1, 4)
	mondayOffset := (jan4%7 + 7 + 3) % 7 // 1970-01-01 was a Thursday
	return jan4 - mondayOffset + int64(week-1)*7
}

// fromCharDate is to_date(text, text).
func fromCharDate(input, tmpl string) (types.Datum, error) {
	m, err := readFromCharMoment(input, tmpl)
	if err != nil {
		return nil, err
	}
	if m.days < -2440588 || m.days > 2145042905 {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date out of range: %q", input)
	}
	return int32(m.days), nil
}

// fromCharTimestamp is to_timestamp(text, text): the time read is in the
// session's zone unless the input gave its offset.
func fromCharTimestamp(input, tmpl string, zone *time.Location) (types.Datum, error) {
	m, err := readFromCharMoment(input, tmpl)
	if err != nil {
		return nil, err
	}
	// PostgreSQL's timestamps start at Julian day 0; microseconds since
	// 1970 in an int64 end in 294247, a little before PostgreSQL's end
	if m.days < -2440588 || m.days >= math.MaxInt64/86_400_000_000 {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range")
	}
	local := m.days*86_400_000_000 + m.micros
	if m.hasOffset {
		return local - int64(m.offset)*1_000_000, nil
	}
	return types.FromLocal(local, zone), nil
}

func readFromCharMoment(input, tmpl string) (fromCharMoment, error) {
	v, err := readFromChar(input, tmpl)
	if err != nil {
		return fromCharMoment{}, err
	}
	return v.resolve(input)
}
