package types

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Interval input follows PostgreSQL's DecodeInterval: tokens are read
// from the last to the first, a unit word naming the number before it
// (a bare last number is seconds, a bare number before a time of day is
// days), each unit at most once; 'Y-M' is years and months, H:M[:S] a
// time; '@' may lead and 'ago' trail. ISO 8601 durations ('P1Y2M3DT4H',
// 'P0001-02-03T04:05:06') are read too. Whole parts add exactly; a
// fraction cascades down (months to days, days to microseconds) with
// PostgreSQL's rounding.

// intervalFieldOverflow is PostgreSQL's error for a field past its type.
func intervalFieldOverflow(s string) *sqlerr.Error {
	return sqlerr.New(sqlerr.IntervalFieldOverflow, "interval field value out of range: %q", s)
}

// intervalParts accumulates an interval's fields as PostgreSQL's
// pg_itm_in does: years, months and days as int32, microseconds as int64.
type intervalParts struct {
	years, months, days int64
	micros              int64
	overflow            bool
}

func (p *intervalParts) addMicros(v int64) {
	sum := p.micros + v
	if (v > 0 && sum < p.micros) || (v < 0 && sum > p.micros) {
		p.overflow = true
	}
	p.micros = sum
}

// addWholeMicros adds val·scale microseconds, then the fraction frac of
// scale rounded to a microsecond.
func (p *intervalParts) addWholeMicros(val int64, frac float64, scale int64) {
	if val != 0 && (val > math.MaxInt64/scale || val < math.MinInt64/scale) {
		p.overflow = true
		return
	}
	p.addMicros(val * scale)
	p.addFractMicros(frac, scale)
}

// addFractMicros adds frac (|frac| < 1) of scale microseconds, rounding
// the fractional microsecond half to even.
func (p *intervalParts) addFractMicros(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := frac * float64(scale)
	whole := int64(f)
	p.addMicros(whole + int64(math.RoundToEven(f-float64(whole))))
}

// addFractDays adds frac of scale days: whole days, then the rest as time.
func (p *intervalParts) addFractDays(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	f := frac * float64(scale)
	extra := int64(f)
	p.days += extra
	p.addFractMicros(f-float64(extra), MicrosPerDay)
}

// addYears adds val·scale years and the fraction as whole months.
func (p *intervalParts) addYears(val int64, frac float64, scale int64) {
	p.years += val * scale
	p.months += int64(math.RoundToEven(frac * float64(scale) * 12))
}

// value checks the parts' ranges and builds the interval.
func (p *intervalParts) value(s string) (IntervalValue, error) {
	fits32 := func(v int64) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }
	if p.overflow || !fits32(p.years) || !fits32(p.months) || !fits32(p.days) {
		return IntervalValue{}, intervalFieldOverflow(s)
	}
	months := p.years*12 + p.months
	if !fits32(months) || !IntervalMicrosFit(p.micros) {
		return IntervalValue{}, IntervalOutOfRange()
	}
	return IntervalValue{Months: int32(months), Days: int32(p.days), Micros: p.micros}, nil
}

// ParseInterval reads PostgreSQL's interval input: '1 year 2 mons 3 days
// 04:05:06', '2 hours', '-1 day', '10:00', '1-2', '15h 2m', '@ 1 minute
// ago', 'P1Y2M3DT4H5M6S'.
func ParseInterval(s string) (Datum, error) {
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type interval: %q", s)
	text := strings.TrimSpace(s)
	if len(text) > 1 && (text[0] == 'P' || text[0] == 'p') {
		return parseISOInterval(s, text[1:])
	}
	tokens := intervalTokens(strings.ToLower(text))
	if len(tokens) > 0 && tokens[0] == "@" {
		tokens = tokens[1:]
	}
	ago := false
	if n := len(tokens); n > 0 && tokens[n-1] == "ago" {
		ago, tokens = true, tokens[:n-1]
	}
	if len(tokens) == 0 {
		return nil, bad
	}
	var p intervalParts
	unit := "" // the unit the next number (leftwards) takes
	seen := map[string]bool{}
	for i := len(tokens) - 1; i >= 0; i-- {
		tok := tokens[i]
		switch {
		case strings.Contains(tok, ":"):
			if seen["time"] {
				return nil, bad
			}
			seen["time"] = true
			us, err := parseSignedClock(tok)
			if err != nil {
				return nil, bad
			}
			p.addMicros(us)
			unit = "day"
		case isNumberToken(tok):
			if unit == "" {
				unit = "second"
			}
			field := unit
			if strings.Contains(strings.TrimLeft(tok, "+-"), "-") {
				field = "month" // years-months fills the months
			}
			if seen[field] {
				return nil, bad
			}
			seen[field] = true
			if err := addIntervalNumber(&p, tok, unit, s); err != nil {
				return nil, err
			}
		default:
			u, ok := intervalUnit(tok)
			if !ok {
				return nil, bad
			}
			unit = u
		}
	}
	iv, err := p.value(s)
	if err != nil {
		return nil, err
	}
	if ago {
		if iv.Months == math.MinInt32 || iv.Days == math.MinInt32 || iv.Micros == math.MinInt64 {
			return nil, IntervalOutOfRange()
		}
		iv = IntervalValue{-iv.Months, -iv.Days, -iv.Micros}
	}
	return iv, nil
}

// intervalTokens splits interval text at blanks and where digits meet
// letters ('15h' is 15 and h).
func intervalTokens(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		start := 0
		for i := 1; i < len(f); i++ {
			prevDigit := f[i-1] >= '0' && f[i-1] <= '9' || f[i-1] == '.'
			if prevDigit && unicode.IsLetter(rune(f[i])) {
				out = append(out, f[start:i])
				start = i
			}
		}
		out = append(out, f[start:])
	}
	return out
}

// isNumberToken reports whether tok is a number, with a sign, a
// fraction, or a years-months pair.
func isNumberToken(tok string) bool {
	t := strings.TrimLeft(tok, "+-")
	return t != "" && (t[0] >= '0' && t[0] <= '9' || t[0] == '.' && len(t) > 1)
}

// intervalUnit maps a unit word to its canonical name.
func intervalUnit(word string) (string, bool) {
	switch word {
	case "microsecond", "microseconds", "usec", "usecs", "us", "useconds":
		return "microsecond", true
	case "millisecond", "milliseconds", "msec", "msecs", "ms", "mseconds":
		return "millisecond", true
	case "second", "seconds", "sec", "secs", "s":
		return "second", true
	case "minute", "minutes", "min", "mins", "m":
		return "minute", true
	case "hour", "hours", "hr", "hrs", "h":
		return "hour", true
	case "day", "days", "d":
		return "day", true
	case "week", "weeks", "w":
		return "week", true
	case "month", "months", "mon", "mons":
		return "month", true
	case "year", "years", "yr", "yrs", "y":
		return "year", true
	case "decade", "decades", "dec", "decs":
		return "decade", true
	case "century", "centuries", "c", "cent":
		return "century", true
	case "millennium", "millennia", "millenniums", "mil", "mils":
		return "millennium", true
	}
	return "", false
}

// splitNumber reads a number token into its whole part and its fraction
// (both carrying the sign); ok is false when it is not a number.
func splitNumber(tok string) (whole int64, frac float64, ok bool, overflow bool) {
	intPart, fracPart, hasDot := strings.Cut(tok, ".")
	negative := strings.HasPrefix(tok, "-")
	digits := strings.TrimLeft(intPart, "+-")
	if digits != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
				return 0, 0, true, true
			}
			return 0, 0, false, false
		}
		whole = v
	}
	if hasDot {
		if fracPart == "" && digits == "" {
			return 0, 0, false, false
		}
		if fracPart != "" {
			f, err := strconv.ParseFloat("0."+fracPart, 64)
			if err != nil || strings.ContainsAny(fracPart, "+-eE_") {
				return 0, 0, false, false
			}
			frac = f
		}
		if negative {
			frac = -frac
		}
	}
	return whole, frac, true, false
}

// addIntervalNumber adds a number in unit to p.
func addIntervalNumber(p *intervalParts, tok, unit, s string) error {
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type interval: %q", s)
	if years, months, isYM, err := splitYearsMonths(tok, s); isYM {
		if err != nil {
			return err
		}
		p.years += years
		p.months += months
		return nil
	}
	val, frac, ok, overflow := splitNumber(tok)
	switch {
	case overflow:
		return intervalFieldOverflow(s)
	case !ok:
		return bad
	}
	switch unit {
	case "microsecond":
		p.addWholeMicros(val, frac, 1)
	case "millisecond":
		p.addWholeMicros(val, frac, 1000)
	case "second":
		p.addWholeMicros(val, frac, microsPerSecond)
	case "minute":
		p.addWholeMicros(val, frac, microsPerMinute)
	case "hour":
		p.addWholeMicros(val, frac, microsPerHour)
	case "day":
		p.days += val
		p.addFractMicros(frac, MicrosPerDay)
	case "week":
		p.days += val * 7
		p.addFractDays(frac, 7)
	case "month":
		p.months += val
		p.addFractDays(frac, 30)
	case "year":
		p.addYears(val, frac, 1)
	case "decade":
		p.addYears(val, frac, 10)
	case "century":
		p.addYears(val, frac, 100)
	case "millennium":
		p.addYears(val, frac, 1000)
	}
	if p.years > math.MaxInt32 || p.years < math.MinInt32 || p.days > math.MaxInt32 || p.days < math.MinInt32 ||
		p.months > math.MaxInt32 || p.months < math.MinInt32 {
		return intervalFieldOverflow(s)
	}
	return nil
}

// splitYearsMonths reads the SQL standard 'Y-M' form (the sign covers
// both); isYM is false for other tokens.
func splitYearsMonths(tok, s string) (years, months int64, isYM bool, err error) {
	body := strings.TrimLeft(tok, "+-")
	y, m, found := strings.Cut(body, "-")
	if !found {
		return 0, 0, false, nil
	}
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type interval: %q", s)
	yv, err1 := strconv.ParseInt(y, 10, 32)
	mv, err2 := strconv.ParseInt(m, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, true, bad
	}
	if mv >= 12 {
		return 0, 0, true, intervalFieldOverflow(s)
	}
	if strings.HasPrefix(tok, "-") {
		yv, mv = -yv, -mv
	}
	return yv, mv, true, nil
}

// parseSignedClock reads [+-]H:M[:S[.f]] in microseconds.
func parseSignedClock(tok string) (int64, error) {
	neg := strings.HasPrefix(tok, "-")
	us, err := parseIntervalClock(strings.TrimLeft(tok, "+-"))
	if err != nil {
		return 0, err
	}
	if neg {
		us = -us
	}
	return us, nil
}

// parseISOInterval reads an ISO 8601 duration after its P: designators
// (nY nM nW nD, then T nH nM nS, numbers signed and fractional) or the
// alternative form YYYY-MM-DDTHH:MM:SS.
func parseISOInterval(s, body string) (Datum, error) {
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type interval: %q", s)
	var p intervalParts
	if len(body) > 0 && (body[0] >= '0' && body[0] <= '9') && strings.Contains(body, "-") && !strings.ContainsAny(strings.ToUpper(body), "YMWDHS") {
		return parseISOAlternative(s, body)
	}
	inTime := false
	for len(body) > 0 {
		if body[0] == 'T' || body[0] == 't' {
			if inTime {
				return nil, bad
			}
			inTime, body = true, body[1:]
			continue
		}
		end := 0
		for end < len(body) && (body[end] >= '0' && body[end] <= '9' || body[end] == '.' || body[end] == '-' || body[end] == '+') {
			end++
		}
		if end == 0 || end == len(body) {
			return nil, bad
		}
		val, frac, ok, overflow := splitNumber(body[:end])
		if overflow {
			return nil, intervalFieldOverflow(s)
		}
		if !ok {
			return nil, bad
		}
		switch d := unicode.ToUpper(rune(body[end])); {
		case !inTime && d == 'Y':
			p.addYears(val, frac, 1)
		case !inTime && d == 'M':
			p.months += val
			p.addFractDays(frac, 30)
		case !inTime && d == 'W':
			p.days += val * 7
			p.addFractDays(frac, 7)
		case !inTime && d == 'D':
			p.days += val
			p.addFractMicros(frac, MicrosPerDay)
		case inTime && d == 'H':
			p.addWholeMicros(val, frac, microsPerHour)
		case inTime && d == 'M':
			p.addWholeMicros(val, frac, microsPerMinute)
		case inTime && d == 'S':
			p.addWholeMicros(val, frac, microsPerSecond)
		default:
			return nil, bad
		}
		body = body[end+1:]
	}
	iv, err := p.value(s)
	if err != nil {
		return nil, err
	}
	return iv, nil
}

// parseISOAlternative reads P's alternative form: YYYY-MM-DD, optionally
// followed by THH:MM:SS.
func parseISOAlternative(s, body string) (Datum, error) {
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type interval: %q", s)
	datePart, timePart, _ := strings.Cut(strings.ToUpper(body), "T")
	fields := strings.Split(datePart, "-")
	if len(fields) != 3 {
		return nil, bad
	}
	var ymd [3]int64
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, bad
		}
		ymd[i] = v
	}
	p := intervalParts{years: ymd[0], months: ymd[1], days: ymd[2]}
	if timePart != "" {
		us, err := parseIntervalClock(timePart)
		if err != nil {
			return nil, bad
		}
		p.addMicros(us)
	}
	iv, err := p.value(s)
	if err != nil {
		return nil, err
	}
	return iv, nil
}
