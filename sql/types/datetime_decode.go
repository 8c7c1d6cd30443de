package types

import (
	"strconv"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// The ISO forms (2024-03-05 10:20:30+02) are read by the direct parsers
// in datum.go. What they refuse is read here as PostgreSQL's
// DecodeDateTime reads it, for the forms its documentation lists with
// DateStyle ISO, MDY: month names ('January 8, 1999', '8 Jan 1999',
// '1999-Jan-08', 'Jan-08-1999'), slashes and dashes in month-day-year
// order ('1/8/1999', '01-02-03'; a two-digit year is 1970..2069), runs of
// digits (19990108, 990108), Julian days (J2451187), a time anywhere with
// AM/PM and a zone after it ('January 8 04:05:06 1999 PST',
// '04:05:06.789-8'), weekday names (ignored) and an era.

// decodedDateTime is what decodeDateTime found.
type decodedDateTime struct {
	year, month, day int  // year as written (no 0); 0 when absent
	twoDigitYear     bool // the year had two digits: 1970..2069 unless BC
	julian           int64
	hasJulian        bool
	clock            int64
	hasClock         bool
	pm, am           bool
	zone             string // as written, for inputZone
	bc               bool
}

var monthWords = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
	"may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
	"sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
	"dec": 12, "december": 12,
}

var weekdayWords = map[string]bool{
	"sun": true, "sunday": true, "mon": true, "monday": true, "tue": true, "tues": true, "tuesday": true,
	"wed": true, "wednesday": true, "thu": true, "thur": true, "thurs": true, "thursday": true,
	"fri": true, "friday": true, "sat": true, "saturday": true,
}

// dateTimeTokens splits at blanks and commas; a time's attached offset
// ('04:05:06-08') becomes a token of its own.
func dateTimeTokens(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		if i := strings.IndexAny(f, ":"); i > 0 {
			if j := strings.IndexAny(f[i:], "+-"); j > 0 {
				out = append(out, f[:i+j], f[i+j:])
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// decodeDateTime reads the tokens of a date, time or timestamp; ok is
// false for text it cannot place.
func decodeDateTime(s string) (decodedDateTime, bool) {
	var d decodedDateTime
	var loose []int // numbers not yet placed, in order
	for _, tok := range dateTimeTokens(strings.TrimSpace(s)) {
		lower := strings.ToLower(tok)
		switch {
		case (tok[0] == '+' || tok[0] == '-') && d.hasClock:
			if d.zone != "" {
				return d, false
			}
			d.zone = tok
		case strings.Contains(tok, ":"):
			if d.hasClock {
				return d, false
			}
			us, err := parseClock(tok)
			if err != nil {
				return d, false
			}
			d.clock, d.hasClock = us, true
		case lower == "am" || lower == "a.m.":
			d.am = true
		case lower == "pm" || lower == "p.m.":
			d.pm = true
		case lower == "bc" || lower == "b.c.":
			d.bc = true
		case lower == "ad" || lower == "a.d.":
		case weekdayWords[lower]:
		case monthWords[lower] != 0:
			if d.month != 0 {
				return d, false
			}
			d.month = monthWords[lower]
		case len(lower) > 1 && lower[0] == 'j' && allDigits(lower[1:]):
			v, err := strconv.ParseInt(lower[1:], 10, 64)
			if err != nil {
				return d, false
			}
			d.julian, d.hasJulian = v, true
		case strings.ContainsAny(tok, "-/.") && (tok[0] >= '0' && tok[0] <= '9' || startsWithMonth(lower)):
			if !decodeDelimitedDate(&d, tok) {
				return d, false
			}
		case allDigits(tok):
			if !decodeDigits(&d, tok, &loose) {
				return d, false
			}
		case d.hasClock || d.zone == "":
			// a zone: an abbreviation or a name, checked by inputZone
			if d.zone != "" {
				return d, false
			}
			d.zone = tok
		default:
			return d, false
		}
	}
	return d, placeLoose(&d, loose)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// decodeDelimitedDate reads a date written with separators: year first
// when its first part has three digits or more, month-day-year
// otherwise, a month name wherever it is.
func decodeDelimitedDate(d *decodedDateTime, tok string) bool {
	if d.year != 0 || d.day != 0 {
		return false
	}
	parts := strings.FieldsFunc(tok, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(parts) == 2 && len(parts[0]) == 4 && len(parts[1]) == 3 && allDigits(parts[0]) && allDigits(parts[1]) {
		// 1999.008: a year and a day of the year
		return setYear(d, parts[0]) && setDayOfYear(d, parts[1])
	}
	if len(parts) != 3 {
		return false
	}
	var nums []string
	for _, p := range parts {
		if m := monthWords[strings.ToLower(p)]; m != 0 && d.month == 0 {
			d.month = m
			continue
		}
		if !allDigits(p) {
			return false
		}
		nums = append(nums, p)
	}
	switch {
	case len(nums) == 2 && d.month != 0:
		// 1999-Jan-08, 08-Jan-1999, Jan-08-1999
		if len(nums[0]) >= 3 {
			return setYear(d, nums[0]) && setDay(d, nums[1])
		}
		return setDay(d, nums[0]) && setYear(d, nums[1])
	case len(nums) == 3 && len(nums[0]) >= 3:
		return setYear(d, nums[0]) && setMonth(d, nums[1]) && setDay(d, nums[2])
	case len(nums) == 3:
		return setMonth(d, nums[0]) && setDay(d, nums[1]) && setYear(d, nums[2])
	}
	return false
}

// decodeDigits reads a run of digits: YYYYMMDD or YYMMDD as a whole date
// (before any other date part), HHMMSS after a date, otherwise a number
// to place later.
func decodeDigits(d *decodedDateTime, tok string, loose *[]int) bool {
	noDate := d.year == 0 && d.month == 0 && d.day == 0 && len(*loose) == 0
	switch {
	case noDate && len(tok) == 8:
		return setYear(d, tok[:4]) && setMonth(d, tok[4:6]) && setDay(d, tok[6:])
	case noDate && len(tok) == 6:
		return setYear(d, tok[:2]) && setMonth(d, tok[2:4]) && setDay(d, tok[4:])
	case !noDate && !d.hasClock && (len(tok) == 6 || len(tok) == 4) && d.year != 0:
		us, err := parseClock(tok[:2] + ":" + tok[2:4] + ":" + tok[4:] + strings.Repeat("0", 6-len(tok)))
		if err != nil {
			return false
		}
		d.clock, d.hasClock = us, true
		return true
	}
	v, err := strconv.Atoi(tok)
	if err != nil {
		return false
	}
	if len(tok) >= 3 {
		v = -v - 1 // marks a number written with 3+ digits: a year
	}
	*loose = append(*loose, v)
	return true
}

// placeLoose gives the numbers written alone their places: a 3+-digit
// one is the year; the others fill month (when no name gave it), day
// and year in that order.
func placeLoose(d *decodedDateTime, loose []int) bool {
	for _, v := range loose {
		if v < 0 {
			if d.year != 0 {
				return false
			}
			d.year = -v - 1
			continue
		}
		switch {
		case d.month == 0:
			d.month = v
		case d.day == 0:
			d.day = v
		case d.year == 0:
			d.year, d.twoDigitYear = v, true
		default:
			return false
		}
	}
	return true
}

func setYear(d *decodedDateTime, s string) bool {
	v, err := strconv.Atoi(s)
	if err != nil || v == 0 && len(s) >= 3 {
		return false
	}
	d.year, d.twoDigitYear = v, len(s) <= 2
	return true
}

// twoDigitYear puts a year written with two digits in 1970..2069, as
// PostgreSQL does.
func twoDigitYear(v int) int {
	switch {
	case v >= 100:
		return v
	case v < 70:
		return v + 2000
	}
	return v + 1900
}

func setMonth(d *decodedDateTime, s string) bool {
	v, err := strconv.Atoi(s)
	if err != nil || d.month != 0 {
		return false
	}
	d.month = v
	return true
}

func setDay(d *decodedDateTime, s string) bool {
	v, err := strconv.Atoi(s)
	if err != nil || d.day != 0 {
		return false
	}
	d.day = v
	return true
}

// decodedDays is the decoded date in days since 1970-01-01; ok is false
// when there is none, err when it is not a calendar day or past the range.
func (d decodedDateTime) days(s string) (int64, bool, error) {
	if d.hasJulian {
		return d.julian + firstJulianDay, true, nil
	}
	if d.year == 0 || d.month == 0 || d.day == 0 {
		return 0, false, nil
	}
	year := d.year
	switch {
	case d.bc:
		year = 1 - year
	case d.twoDigitYear:
		year = twoDigitYear(year)
	}
	tm := time.Date(year, time.Month(d.month), d.day, 0, 0, 0, 0, time.UTC)
	if d.month > 12 || d.day > 31 || tm.Day() != d.day {
		return 0, true, dateFieldOutOfRange(s)
	}
	return floorDiv64(tm.Unix(), 86400), true, nil
}

// clockOfDay is the decoded time with AM/PM applied; ok is false for an
// hour AM/PM cannot take.
func (d decodedDateTime) clockOfDay() (int64, bool) {
	if !d.am && !d.pm {
		return d.clock, true
	}
	hour := d.clock / microsPerHour
	if hour < 1 || hour > 12 {
		return 0, false
	}
	switch {
	case d.am && hour == 12:
		return d.clock - 12*microsPerHour, true
	case d.pm && hour != 12:
		return d.clock + 12*microsPerHour, true
	}
	return d.clock, true
}

func dateFieldOutOfRange(s string) error {
	return sqlerr.New(sqlerr.DatetimeOverflow, "date/time field value out of range: %q", s)
}

// decodeDate is the fallback of date input: a decoded date, its time and
// zone ignored.
func decodeDate(s string) (Datum, error) {
	d, ok := decodeDateTime(s)
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type date: %q", s)
	}
	days, has, err := d.days(s)
	switch {
	case err != nil:
		return nil, err
	case !has:
		return nil, sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type date: %q", s)
	case !DateInRange(days):
		return nil, sqlerr.New(sqlerr.DatetimeOverflow, "date out of range: %q", s)
	}
	return int32(days), nil
}

// decodeTime is the fallback of time input: HHMM[SS] alone, or the time
// (with AM/PM) of decoded text, its date and zone ignored.
func decodeTime(s string) (Datum, error) {
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type time: %q", s)
	str := strings.TrimSpace(s)
	if allDigits(str) && (len(str) == 4 || len(str) == 6) {
		us, err := parseClock(str[:2] + ":" + str[2:4] + ":" + str[4:] + strings.Repeat("0", 6-len(str)))
		if err != nil {
			return nil, bad
		}
		return us, nil
	}
	d, ok := decodeDateTime(s)
	if !ok || !d.hasClock {
		return nil, bad
	}
	us, ok := d.clockOfDay()
	if !ok {
		return nil, dateFieldOutOfRange(s)
	}
	return us, nil
}

// decodeTimestamp is the fallback of timestamp input: a decoded date with
// its time and zone.
func decodeTimestamp(t T, s string, loc *time.Location) (int64, error) {
	bad := sqlerr.New(sqlerr.InvalidDatetime, "invalid input syntax for type %s: %q", t.String(), s)
	d, ok := decodeDateTime(s)
	if !ok {
		return 0, bad
	}
	days, has, err := d.days(s)
	switch {
	case err != nil:
		return 0, err
	case !has:
		return 0, bad
	case days < firstJulianDay || days >= int64(EndTimestampDay):
		return 0, sqlerr.New(sqlerr.DatetimeOverflow, "timestamp out of range: %q", s)
	}
	clock, ok := d.clockOfDay()
	if !ok {
		return 0, dateFieldOutOfRange(s)
	}
	return zonedTimestamp(t, s, days*MicrosPerDay+clock, d.zone, loc)
}

// startsWithMonth reports whether a token begins with a month name and
// a date separator ('jan-08-1999').
func startsWithMonth(lower string) bool {
	end := strings.IndexAny(lower, "-/.")
	return end > 0 && monthWords[lower[:end]] != 0
}

// setDayOfYear sets the month and day of the doy-th day of d's year.
func setDayOfYear(d *decodedDateTime, s string) bool {
	doy, err := strconv.Atoi(s)
	if err != nil || doy < 1 || doy > 366 || d.month != 0 || d.day != 0 {
		return false
	}
	tm := time.Date(d.year, time.January, doy, 0, 0, 0, 0, time.UTC)
	if d.twoDigitYear || tm.Year() != d.year {
		return false
	}
	d.month, d.day = int(tm.Month()), tm.Day()
	return true
}
