package types

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A Datum is one SQL value held in a Go value whose dynamic type depends on
// the Kind: nil (NULL), bool, int64 (all integers), float64 (all floats),
// decimal128.Num (numeric, at the type's scale), string (text kinds), []byte
// (bytea), int32 (date: days since 1970-01-01), int64 (time, timestamp and
// timestamptz: microseconds) and IntervalValue.
type Datum = any

// IntervalValue is PostgreSQL's interval: months, days and microseconds kept apart.
type IntervalValue struct {
	Months int32
	Days   int32
	Micros int64
}

const (
	microsPerSecond = int64(1_000_000)
	microsPerMinute = 60 * microsPerSecond
	microsPerHour   = 60 * microsPerMinute
	MicrosPerDay    = 24 * microsPerHour
)

// FormatFloat prints a float the way PostgreSQL does with extra_float_digits
// = 1: the shortest representation that reads back exactly, switching to
// exponent notation outside 1e-4 .. 1e15.
func FormatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	limit := 15
	if bits == 32 {
		limit = 6
	}
	if exp < -4 || exp >= limit {
		s := strconv.FormatFloat(f, 'e', -1, bits)
		// Go prints e+06; PostgreSQL prints e+06 as well, keep it.
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// FormatNumeric prints a decimal at scale s, the way numeric_out does.
func FormatNumeric(n decimal128.Num, scale int32) string {
	return string(AppendNumeric(nil, n, scale))
}

// AppendNumeric appends FormatNumeric's text to dst: without allocating
// when the unscaled value fits 64 bits (streaming results print millions).
func AppendNumeric(dst []byte, n decimal128.Num, scale int32) []byte {
	if n.Sign() < 0 {
		dst = append(dst, '-')
	}
	start := len(dst)
	if v := int64(n.LowBits()); n.HighBits() == v>>63 && v != math.MinInt64 {
		// the common case, without a big.Int
		if v < 0 {
			v = -v
		}
		dst = strconv.AppendInt(dst, v, 10)
	} else {
		bi := n.BigInt()
		dst = bi.Abs(bi).Append(dst, 10)
	}
	if scale <= 0 {
		return dst
	}
	if pad := int(scale) - (len(dst) - start) + 1; pad > 0 {
		// 0.00ddd: zeros before the digits
		for k := 0; k < pad; k++ {
			dst = append(dst, '0')
		}
		copy(dst[start+pad:], dst[start:len(dst)-pad])
		for k := 0; k < pad; k++ {
			dst[start+k] = '0'
		}
	}
	cut := len(dst) - int(scale)
	dst = append(dst, 0)
	copy(dst[cut+1:], dst[cut:len(dst)-1])
	dst[cut] = '.'
	return dst
}

// Format renders a datum in PostgreSQL's text output format (DateStyle ISO,
// IntervalStyle postgres, time zone UTC). NULL renders as "".
func Format(t T, d Datum) string { return FormatIn(t, d, nil) }

// FormatIn is Format with timestamptz shown in the session's time zone
// (nil means UTC).
func FormatIn(t T, d Datum, loc *time.Location) string {
	if d == nil {
		return ""
	}
	switch v := d.(type) {
	case bool:
		if v {
			return "t"
		}
		return "f"
	case int64:
		switch t.Kind {
		case Time:
			return formatTime(v)
		case Timestamp:
			return FormatTimestamp(v, false)
		case TimestampTZ:
			return FormatTimestampTZ(v, loc)
		}
		return strconv.FormatInt(v, 10)
	case float64:
		if t.Kind == Float4 {
			return FormatFloat(v, 32)
		}
		return FormatFloat(v, 64)
	case decimal128.Num:
		if t.Natural {
			return trimFraction(FormatNumeric(v, t.Scale), t.MinScale)
		}
		return FormatNumeric(v, t.Scale)
	case string:
		return v
	case []byte:
		if t.Kind == UUID {
			return FormatUUID(v)
		}
		return `\x` + hex.EncodeToString(v)
	case int32:
		return FormatDate(v)
	case IntervalValue:
		return FormatInterval(v)
	case []Datum:
		return formatArray(t, v, loc)
	}
	return fmt.Sprint(d)
}

// FormatDate prints days since the epoch as YYYY-MM-DD (or infinity,
// -infinity).
func FormatDate(days int32) string {
	if s, ok := formatInfinite(days == DateNegInfinity, days == DatePosInfinity); ok {
		return s
	}
	tm := time.Unix(int64(days)*86400, 0).UTC()
	if tm.Year() <= 0 {
		return fmt.Sprintf("%04d-%02d-%02d BC", 1-tm.Year(), tm.Month(), tm.Day())
	}
	return tm.Format("2006-01-02")
}

func formatTime(us int64) string {
	h := us / microsPerHour
	m := us / microsPerMinute % 60
	s := us / microsPerSecond % 60
	frac := us % microsPerSecond
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	return out + fracString(frac)
}

func fracString(frac int64) string {
	if frac == 0 {
		return ""
	}
	return strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
}

// FormatTimestamp prints microseconds since the epoch; tz adds "+00".
// A year before 1 prints as PostgreSQL prints it: 0044-03-15 12:00:00 BC.
func FormatTimestamp(us int64, tz bool) string {
	return formatTimestampEra(us, tz, "")
}

// formatTimestampEra prints a timestamp with offset (its text, when tz)
// before a BC era.
func formatTimestampEra(us int64, tz bool, offset string) string {
	if s, ok := formatInfinite(us == TimestampNegInfinity, us == TimestampPosInfinity); ok {
		return s
	}
	tm := time.UnixMicro(us).UTC()
	if tz && offset == "" {
		offset = "+00"
	}
	clock := tm.Format("15:04:05") + fracString(int64(tm.Nanosecond()/1000)) + offset
	if tm.Year() <= 0 {
		return fmt.Sprintf("%04d-%02d-%02d %s BC", 1-tm.Year(), tm.Month(), tm.Day(), clock)
	}
	return tm.Format("2006-01-02 ") + clock
}

// FormatInterval prints an interval in IntervalStyle postgres.
func FormatInterval(iv IntervalValue) string {
	// PostgreSQL's style: a field after a negative one shows its sign
	// even when positive ("-1 mons +2 days", "-61 days +01:30:00")
	var parts []string
	before := false // the last field written was negative
	field := func(n int64, unit string) {
		if n == 0 {
			return
		}
		sign := ""
		if before && n > 0 {
			sign = "+"
		}
		if n != 1 {
			unit += "s"
		}
		parts = append(parts, fmt.Sprintf("%s%d %s", sign, n, unit))
		before = n < 0
	}
	field(int64(iv.Months/12), "year")
	field(int64(iv.Months%12), "mon")
	field(int64(iv.Days), "day")
	if iv.Micros != 0 || len(parts) == 0 {
		us := iv.Micros
		sign := ""
		switch {
		case us < 0:
			sign = "-"
			us = -us
		case before:
			sign = "+"
		}
		parts = append(parts, sign+formatTime(us))
	}
	return strings.Join(parts, " ")
}

func invalidText(t T, s string) *sqlerr.Error {
	return sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type %s: %q", t.String(), s)
}

// Parse reads a datum of type t from its text form (a timestamptz
// without an offset is read as UTC).
func Parse(t T, s string) (Datum, error) { return ParseIn(t, s, nil) }

// ParseIn is Parse with a timestamptz that gives no offset read in the
// session's time zone (nil means UTC).
func ParseIn(t T, s string, loc *time.Location) (Datum, error) {
	return ParseAt(t, s, loc, Clock{})
}

// ParseAt is ParseIn with the words 'now', 'today', 'tomorrow' and
// 'yesterday' read against clock (the statement's time).
func ParseAt(t T, s string, loc *time.Location, clock Clock) (Datum, error) {
	if t.IsComposite() {
		return parseComposite(t, s, loc)
	}
	switch t.Kind {
	case Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "yes", "y", "on", "1":
			return true, nil
		case "f", "false", "no", "n", "off", "0":
			return false, nil
		}
		return nil, invalidText(t, s)
	case Int2, Int4, Int8:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, OutOfRange(t)
			}
			return nil, invalidText(t, s)
		}
		if !IntFits(t, v) {
			return nil, OutOfRange(t)
		}
		return v, nil
	case Float4, Float8:
		str := strings.TrimSpace(s)
		switch strings.ToLower(str) {
		case "nan":
			return math.NaN(), nil
		case "infinity", "inf", "+infinity":
			return math.Inf(1), nil
		case "-infinity", "-inf":
			return math.Inf(-1), nil
		}
		bits := 64
		if t.Kind == Float4 {
			bits = 32 // float4in reads a float: 1e39 overflows it, 1e-46 underflows
		}
		v, err := strconv.ParseFloat(str, bits)
		if err != nil || strings.ContainsAny(str, "xXpP_") {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, floatOutOfRange(t, s)
			}
			return nil, invalidText(t, s)
		}
		if v == 0 && hasNonzeroMantissa(str) {
			return nil, floatOutOfRange(t, s) // underflow, as PostgreSQL's strtod check
		}
		return v, nil
	case Numeric:
		return ParseNumeric(t, strings.TrimSpace(s))
	case Text, Varchar, Char, Unknown:
		return s, nil
	case UUID:
		return ParseUUID(s)
	case JSON:
		return ParseJSON(s)
	case JSONB:
		return NormalizeJSONB(s)
	case Enum:
		if t.Enum.Position(s) < 0 {
			return nil, sqlerr.New(sqlerr.InvalidText, "invalid input value for enum %s: \"%s\"", t.Enum.Name, s)
		}
		return s, nil
	case Inet:
		return ParseInet(s)
	case Array:
		return parseArray(t, s, loc, clock)
	case Bytea:
		return ParseBytea(s)
	case Date:
		return parseDateAt(s, loc, clock)
	case Time:
		return parseTimeAt(s, loc, clock)
	case Timestamp, TimestampTZ:
		return ParseTimestampAt(t, s, loc, clock)
	case Interval:
		return ParseInterval(s)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot parse values of type %s", t)
}

// OutOfRange is the error for a value that does not fit type t.
func OutOfRange(t T) *sqlerr.Error {
	return sqlerr.New(sqlerr.NumericOutOfRange, "%s out of range", t.String())
}

// IntFits reports whether v fits the integer type t.
func IntFits(t T, v int64) bool {
	switch t.Kind {
	case Int2:
		return v >= math.MinInt16 && v <= math.MaxInt16
	case Int4:
		return v >= math.MinInt32 && v <= math.MaxInt32
	}
	return true
}

// ParseNumeric reads a decimal string into a decimal128 at t's scale,
// rounding half away from zero like PostgreSQL.
func ParseNumeric(t T, s string) (Datum, error) {
	if d, ok := parseNumericFast(t, s); ok {
		return d, nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || s == "" || strings.ContainsAny(s, "/xX_") {
		return nil, invalidText(NumericT(0, 0), s)
	}
	return RatToNumeric(r, t)
}

// RatToNumeric rounds r to t's scale and checks t's precision.
func RatToNumeric(r *big.Rat, t T) (Datum, error) {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil)))
	num, den := scaled.Num(), scaled.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	// round half away from zero
	m2 := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	if m2.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	prec := int32(MaxNumericPrecision)
	if t.Prec > 0 {
		prec = t.Prec
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	if new(big.Int).Abs(q).Cmp(limit) >= 0 {
		return nil, sqlerr.New(sqlerr.NumericOutOfRange, "numeric field overflow").
			WithDetail(fmt.Sprintf("A field with precision %d, scale %d must round to an absolute value less than 10^%d.", prec, t.Scale, prec-t.Scale))
	}
	return decimal128.FromBigInt(q), nil
}

// NumericToRat converts a decimal at scale to an exact rational.
func NumericToRat(n decimal128.Num, scale int32) *big.Rat {
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	return new(big.Rat).SetFrac(n.BigInt(), den)
}

var epochDate = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// Dates run, as in PostgreSQL, from Julian day 0 (4714-11-24 BC) to
// 5874897-12-31, in days from 1970-01-01.
const (
	firstJulianDay = -2440588
	lastDate       = 2145042905
)

func floorDivInt(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// splitEra takes a trailing era off a date or timestamp's text: "BC"
// (bc true) or "AD".
func splitEra(s string) (rest string, bc bool) {
	if len(s) < 3 || s[len(s)-3] != ' ' {
		return s, false
	}
	switch strings.ToUpper(s[len(s)-2:]) {
	case "BC":
		return strings.TrimSpace(s[:len(s)-3]), true
	case "AD":
		return strings.TrimSpace(s[:len(s)-3]), false
	}
	return s, false
}

// ParseDate reads YYYY-MM-DD (ISO) into days since the epoch; a trailing
// BC counts the year before year 1 (there is no year 0: 1 BC is the
// proleptic Gregorian year 0).
func ParseDate(s string) (Datum, error) { return parseDateAt(s, nil, Clock{}) }

// parseDateAt is ParseDate that also reads infinity, -infinity and the
// words naming a day relative to clock's in zone loc (now, today,
// tomorrow, yesterday).
func parseDateAt(s string, loc *time.Location, clock Clock) (Datum, error) {
	word := strings.ToLower(strings.TrimSpace(s))
	switch word {
	case "infinity":
		return DatePosInfinity, nil
	case "-infinity":
		return DateNegInfinity, nil
	case "now":
		word = "today"
	}
	if offset, ok := relativeDay(word); ok {
		return int32(floorDiv64(ToLocal(clock.now().UnixMicro(), loc), MicrosPerDay) + offset), nil
	}
	str, bc := splitEra(strings.TrimSpace(s))
	d, err := parseDateEra(s, str, bc)
	if se, ok := err.(*sqlerr.Error); ok && se.Code == sqlerr.InvalidDatetime {
		return decodeDate(s)
	}
	return d, err
}

// parseTimeAt reads a time of day: HH:MM[:SS[.ffffff]], allballs
// (midnight) or now (clock's time of day in zone loc).
func parseTimeAt(s string, loc *time.Location, clock Clock) (Datum, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "allballs":
		return int64(0), nil
	case "now":
		return floorMod64(ToLocal(clock.now().UnixMicro(), loc), MicrosPerDay), nil
	}
	us, err := parseClock(strings.TrimSpace(s))
	if err != nil {
		return decodeTime(s)
	}
	return us, nil
}

func floorMod64(a, b int64) int64 {
	return a - floorDiv64(a, b)*b
}

func parseDateEra(s, str string, bc bool) (Datum, error) {
	if strings.EqualFold(str, "epoch") {
		return int32(0), nil
	}
	// A time of day (and zone) after the date is allowed and ignored, as
	// PostgreSQL's date input does: '2024-01-01 10:00:00Z', '2024-01-01T…'.
	if i := strings.IndexAny(str, " T"); i >= 8 {
		str = str[:i]
	}
	parts := strings.Split(str, "-")
	if len(parts) != 3 || len(parts[0]) < 4 {
		return nil, sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type date: %q", s)
	}
	var ymd [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (i > 0 && len(p) > 2) {
			return nil, sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type date: %q", s)
		}
		ymd[i] = n
	}
	year := ymd[0]
	if bc {
		year = 1 - year
	}
	tm := time.Date(year, time.Month(ymd[1]), ymd[2], 0, 0, 0, 0, time.UTC)
	if ymd[0] == 0 || ymd[1] < 1 || ymd[1] > 12 || tm.Day() != ymd[2] {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date/time field value out of range: %q", s)
	}
	// whole days from Unix seconds: a time.Duration spans only ±292 years
	days := floorDivInt(tm.Unix(), 86400)
	if days < firstJulianDay || days > lastDate {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date out of range: %q", s)
	}
	return int32(days), nil
}

func parseClock(s string) (int64, error) {
	us, h, err := parseClockFields(s)
	if err == nil && h > 24 {
		return 0, fmt.Errorf("time out of range")
	}
	return us, err
}

// parseIntervalClock reads an interval's time part: hours are not bounded
// ('72:00:00' is three days' worth of hours, as Weft and PostgreSQL print
// sums of intervals).
func parseIntervalClock(s string) (int64, error) {
	us, _, err := parseClockFields(s)
	return us, err
}

// parseClockFields reads H:MM[:SS[.ffffff]], returning the microseconds
// and the hours.
func parseClockFields(s string) (int64, int64, error) {
	var h, m int64
	var sec float64
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, fmt.Errorf("bad time")
	}
	var err error
	if h, err = strconv.ParseInt(parts[0], 10, 64); err != nil {
		return 0, 0, err
	}
	if m, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return 0, 0, err
	}
	if len(parts) == 3 {
		if sec, err = strconv.ParseFloat(parts[2], 64); err != nil {
			return 0, 0, err
		}
	}
	if m > 59 || sec >= 60 || h < 0 || m < 0 || sec < 0 || h > math.MaxInt64/microsPerHour-1 {
		return 0, 0, fmt.Errorf("time out of range")
	}
	// the fraction of a microsecond rounds half to even, as PostgreSQL's rint
	return h*microsPerHour + m*microsPerMinute + int64(math.RoundToEven(sec*1e6)), h, nil
}

// ParseTimestamp reads a timestamp, a timestamptz without an offset as UTC.
func ParseTimestamp(t T, s string) (Datum, error) { return ParseTimestampIn(t, s, nil) }

// ParseTimestampIn reads 'YYYY-MM-DD[ T]HH:MM:SS[.ffffff][ zone]', where
// zone is an offset (+02, -03:30, +0530), Z, an abbreviation (PST) or a
// zone name (Europe/Paris). A timestamptz without a zone is read in loc;
// a timestamp ignores the zone, as PostgreSQL does.
func ParseTimestampIn(t T, s string, loc *time.Location) (Datum, error) {
	return ParseTimestampAt(t, s, loc, Clock{})
}

// ParseTimestampAt is ParseTimestampIn that also reads infinity,
// -infinity, epoch, now and a leading today, tomorrow or yesterday
// (against clock, in zone loc), and checks the timestamp range.
func ParseTimestampAt(t T, s string, loc *time.Location, clock Clock) (Datum, error) {
	if us, ok := specialTimestamp(s); ok {
		return us, nil
	}
	trimmed := strings.TrimSpace(s)
	if strings.EqualFold(trimmed, "now") {
		instant := clock.now().UnixMicro()
		if t.Kind == TimestampTZ {
			return instant, nil
		}
		return ToLocal(instant, loc), nil
	}
	first, rest, _ := strings.Cut(trimmed, " ")
	if offset, ok := relativeDay(strings.ToLower(first)); ok {
		day := floorDiv64(ToLocal(clock.now().UnixMicro(), loc), MicrosPerDay) + offset
		trimmed = FormatDate(int32(day)) + " " + rest
	}
	d, err := parseTimestampText(t, s, trimmed, loc)
	if se, ok := err.(*sqlerr.Error); ok && se.Code == sqlerr.InvalidDatetime {
		d, err = decodeTimestamp(t, trimmed, loc)
		if se, ok := err.(*sqlerr.Error); ok && se.Code == sqlerr.InvalidDatetime {
			err = sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type %s: %q", t.String(), s)
		}
	}
	if err != nil {
		return nil, err
	}
	if !TimestampInRange(d) {
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range: %q", s)
	}
	return d, nil
}

// parseTimestampText reads a timestamp's text (trimmed, from the input s).
func parseTimestampText(t T, s, trimmed string, loc *time.Location) (int64, error) {
	str, bc := splitEra(trimmed)
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type %s: %q", t.String(), s)
	end := strings.IndexAny(str, " T")
	if end < 0 {
		end = len(str)
	}
	d, err := parseDateEra(s, str[:end], bc)
	if err != nil {
		if se, ok := err.(*sqlerr.Error); ok && se.Code == sqlerr.DatetimeOverflow {
			if strings.HasPrefix(se.Message, "date out of range") {
				return 0, sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range: %q", s)
			}
			return 0, err
		}
		return 0, bad
	}
	if d.(int32) >= EndTimestampDay {
		// checked before the multiplication, which would overflow
		return 0, sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range: %q", s)
	}
	local := int64(d.(int32)) * MicrosPerDay
	rest := strings.TrimPrefix(strings.TrimSpace(str[end:]), "T")
	clockEnd := strings.IndexFunc(rest, func(r rune) bool { return !(r >= '0' && r <= '9' || r == ':' || r == '.') })
	if clockEnd < 0 {
		clockEnd = len(rest)
	}
	clockText, zone := rest[:clockEnd], strings.TrimSpace(rest[clockEnd:])
	if clockText != "" {
		clock, err := parseClock(clockText)
		if err != nil {
			return 0, bad
		}
		local += clock
	}
	return zonedTimestamp(t, s, local, zone, loc)
}

// zonedTimestamp finishes a timestamp read from s: a timestamptz is the
// instant of the wall-clock time local in zone (its text; loc when
// empty), a timestamp ignores the zone as PostgreSQL does.
func zonedTimestamp(t T, s string, local int64, zone string, loc *time.Location) (int64, error) {
	if zone == "" {
		if t.Kind == TimestampTZ {
			return FromLocal(local, loc), nil
		}
		return local, nil
	}
	instant, ok := inputZone(zone, local)
	if !ok {
		if strings.Contains(zone, "/") {
			// PostgreSQL's error for what looks like a zone name
			return 0, sqlerr.New(sqlerr.InvalidParameter, "time zone \"%s\" not recognized", strings.ToLower(zone))
		}
		return 0, sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type %s: %q", t.String(), s)
	}
	if t.Kind == TimestampTZ {
		return instant, nil
	}
	return local, nil
}

// ParseUUID reads a UUID in PostgreSQL's accepted forms: 32 hex digits,
// optionally in braces, with a hyphen allowed after any group of four.
func ParseUUID(s string) (Datum, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "{") && strings.HasSuffix(in, "}") {
		in = in[1 : len(in)-1]
	}
	digits := make([]byte, 0, 32)
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == '-' && len(digits) > 0 && len(digits)%4 == 0 && i+1 < len(in) && in[i+1] != '-' {
			continue
		}
		digits = append(digits, c)
	}
	if len(digits) != 32 {
		return nil, invalidText(UUIDT, s)
	}
	b, err := hex.DecodeString(string(digits))
	if err != nil {
		return nil, invalidText(UUIDT, s)
	}
	return b, nil
}

// FormatUUID prints 16 bytes as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func FormatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	if len(h) != 32 {
		return h
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// SplitArrayLiteral splits a one-dimensional array literal ('{a,"b c",NULL}',
// or the space-separated int2vector/oidvector form) into its elements (nil
// for NULL), reporting the lower bound (1, or 0 for the vector form).
func SplitArrayLiteral(s string) ([]*string, int, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		var out []*string
		for _, f := range strings.Fields(s) {
			f := f
			out = append(out, &f)
		}
		return out, 0, nil
	}
	if !strings.HasSuffix(s, "}") {
		return nil, 1, sqlerr.New(sqlerr.InvalidText, "malformed array literal: \"%s\"", s)
	}
	body := s[1 : len(s)-1]
	var out []*string
	if strings.TrimSpace(body) == "" {
		return out, 1, nil
	}
	var cur strings.Builder
	quoted, inQuotes := false, false
	flush := func() {
		v := cur.String()
		if !quoted {
			v = strings.TrimSpace(v)
		}
		if !quoted && strings.EqualFold(v, "NULL") {
			out = append(out, nil)
		} else {
			out = append(out, &v)
		}
		cur.Reset()
		quoted = false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body):
			i++
			cur.WriteByte(body[i])
		case c == '"':
			inQuotes, quoted = !inQuotes, true
		case c == ',' && !inQuotes:
			flush()
		case c == '{' && !inQuotes:
			return nil, 1, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported")
		default:
			cur.WriteByte(c)
		}
	}
	if inQuotes {
		return nil, 1, sqlerr.New(sqlerr.InvalidText, "malformed array literal: \"%s\"", s)
	}
	flush()
	return out, 1, nil
}

// JoinArrayLiteral renders elements (nil for NULL) as an array literal,
// quoting those that need it.
func JoinArrayLiteral(elems []*string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range elems {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case e == nil:
			b.WriteString("NULL")
		case *e == "" || strings.ContainsAny(*e, "{},\"\\ \t\n") || strings.EqualFold(*e, "NULL"):
			b.WriteByte('"')
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(*e))
			b.WriteByte('"')
		default:
			b.WriteString(*e)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func parseArray(t T, s string, loc *time.Location, clock Clock) (Datum, error) {
	elems, _, err := SplitArrayLiteral(s)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return nil, invalidText(t, s)
	}
	out := make([]Datum, len(elems))
	for i, e := range elems {
		if e == nil {
			continue
		}
		v, err := ParseAt(t.ElemT(), *e, loc, clock)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func formatArray(t T, v []Datum, loc *time.Location) string {
	elems := make([]*string, len(v))
	for i, d := range v {
		if d != nil {
			s := FormatIn(t.ElemT(), d, loc)
			elems[i] = &s
		}
	}
	return JoinArrayLiteral(elems)
}

// trimFraction drops trailing zeros after the decimal point beyond keep
// digits (and the point when nothing is left after it).
func trimFraction(s string, keep int32) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s
	}
	end := len(s)
	for end > dot+1+int(keep) && s[end-1] == '0' {
		end--
	}
	return strings.TrimSuffix(s[:end], ".")
}

// floatOutOfRange is float4in's and float8in's error for text whose value
// overflows or underflows the type.
func floatOutOfRange(t T, text string) *sqlerr.Error {
	return sqlerr.New(sqlerr.NumericOutOfRange, "\"%s\" is out of range for type %s", text, t.String())
}

// hasNonzeroMantissa reports whether a float's text has a nonzero digit
// before its exponent: such a value read as 0 underflowed.
func hasNonzeroMantissa(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'e' || c == 'E':
			return false
		case c >= '1' && c <= '9':
			return true
		}
	}
	return false
}
