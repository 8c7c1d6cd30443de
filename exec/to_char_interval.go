package exec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// to_char(interval, text) writes an interval's fields through the same
// template as to_char of a timestamp, with PostgreSQL's rules for spans:
// the fields are the interval's own (years = months / 12, months the
// rest, days, then hours without a bound, minutes, seconds, each keeping
// the sign of its part), numbers are padded one wider when negative, HH
// shows the hours on a 12-hour dial, DDD counts 30-day months, and the
// patterns that need a calendar date (names, eras, weekdays, zones) are
// an error.

// intervalFields are an interval split as PostgreSQL's interval2itm does
// (truncating divisions, so every part has the sign of its source).
type intervalFields struct {
	year, mon, mday int
	hour            int64
	min, sec, usec  int
	yday            int // the span in days, months counted as 30
}

func splitInterval(iv types.IntervalValue) intervalFields {
	f := intervalFields{year: int(iv.Months / 12), mon: int(iv.Months % 12), mday: int(iv.Days)}
	rest := iv.Micros
	f.hour = rest / 3600e6
	rest -= f.hour * 3600e6
	f.min = int(rest / 60e6)
	rest -= int64(f.min) * 60e6
	f.sec = int(rest / 1e6)
	f.usec = int(rest - int64(f.sec)*1e6)
	f.yday = (f.year*12+f.mon)*30 + f.mday
	return f
}

// formatIntervalTemplate implements to_char(interval, text).
func formatIntervalTemplate(iv types.IntervalValue, tmpl string) (string, error) {
	f := splitInterval(iv)
	var sb strings.Builder
	for _, n := range parseFromCharTemplate(tmpl) {
		if n.kind != nodeField {
			sb.WriteString(n.text)
			continue
		}
		s, err := formatIntervalField(f, &n)
		if err != nil {
			return "", err
		}
		if n.ordinal && n.key.digits {
			s += ordinalEnding(s, n.ordinalUpper)
		}
		sb.WriteString(s)
	}
	return sb.String(), nil
}

func invalidForInterval() error {
	return sqlerr.New(sqlerr.InvalidDatetime, "invalid format specification for an interval value").
		WithHint("Intervals are not tied to specific calendar dates.")
}

// formatIntervalField writes one pattern of the template for an interval.
func formatIntervalField(f intervalFields, n *fromCharNode) (string, error) {
	// width is the zero padding; FM has none
	padded := func(v int64, width int) string {
		if n.fillMode {
			return strconv.FormatInt(v, 10)
		}
		return fmt.Sprintf("%0*d", width, v)
	}
	// num pads a negative value one wider, for its sign (the clock,
	// month and year fields; the day counts are not widened)
	num := func(v int64, width int) string {
		if v < 0 {
			width++
		}
		return padded(v, width)
	}
	switch upper := strings.ToUpper(n.name); upper {
	case "HH", "HH12":
		h := f.hour % 12
		if h == 0 {
			h = 12
		}
		return num(h, 2), nil
	case "HH24":
		return num(f.hour, 2), nil
	case "MI":
		return num(int64(f.min), 2), nil
	case "SS":
		return num(int64(f.sec), 2), nil
	case "MS":
		return fmt.Sprintf("%03d", f.usec/1000), nil
	case "US":
		return fmt.Sprintf("%06d", f.usec), nil
	case "FF1", "FF2", "FF3", "FF4", "FF5", "FF6":
		digits := int(upper[2] - '0')
		return fmt.Sprintf("%0*d", digits, f.usec/tenTo(6-digits)), nil
	case "SSSS", "SSSSS":
		return strconv.FormatInt(f.hour*3600+int64(f.min)*60+int64(f.sec), 10), nil
	case "YYYY":
		return num(int64(f.year), 4), nil
	case "YYY", "YY", "Y":
		return num(int64(f.year%tenTo(len(upper))), len(upper)), nil
	case "Y,YYY":
		return fmt.Sprintf("%d,%03d", f.year/1000, f.year-f.year/1000*1000), nil
	case "CC":
		c := f.year / 100
		if c > 99 || c < -99 {
			return strconv.Itoa(c), nil
		}
		return num(int64(c), 2), nil
	case "MM":
		return num(int64(f.mon), 2), nil
	case "DD":
		return padded(int64(f.mday), 2), nil
	case "DDD":
		return padded(int64(f.yday), 3), nil
	case "WW":
		return padded(int64((f.yday-1)/7+1), 2), nil
	case "W":
		return strconv.Itoa((f.mday-1)/7 + 1), nil
	case "Q":
		if f.mon == 0 {
			return "", nil
		}
		return strconv.Itoa((f.mon-1)/3 + 1), nil
	case "J":
		return strconv.Itoa(julianOfFields(f.year, f.mon, f.mday)), nil
	case "RM":
		return formatIntervalRoman(f, n), nil
	case "FX":
		return "", nil
	case "AM", "PM", "A.M.", "P.M.":
		return pickByValue(n.name, f.hour%24 >= 12, "am", "pm"), nil
	case "IYYY", "IYY", "IY", "I", "IW", "IDDD":
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "ISO week pattern %s of an interval is not supported", n.name)
	}
	// names, AM/PM, eras, weekdays and zones need a calendar date
	return "", invalidForInterval()
}

// formatIntervalRoman writes RM for an interval: nothing when there are
// no months or years; a month count of 0 with years shows as XII (or I
// for negative years), a negative count from the other end.
func formatIntervalRoman(f intervalFields, n *fromCharNode) string {
	if f.mon == 0 && f.year == 0 {
		return ""
	}
	// romanMonthsDescending lists December first
	var pos int
	switch {
	case f.mon == 0 && f.year >= 0:
		pos = 0
	case f.mon == 0:
		pos = 11
	case f.mon < 0:
		pos = -(f.mon + 1)
	default:
		pos = 12 - f.mon
	}
	s := romanMonthsDescending[pos]
	if n.name == "rm" {
		s = strings.ToLower(s)
	}
	if n.fillMode {
		return s
	}
	return fmt.Sprintf("%-4s", s)
}

// julianOfFields is the Julian day number of year, month and day taken
// as a calendar date even where they are an interval's parts (month 0,
// negative days), as J of an interval shows: a March-based day count
// with integer divisions truncating toward zero.
func julianOfFields(year, month, day int) int {
	if month > 2 {
		month++
		year += 4800
	} else {
		month += 13
		year += 4799
	}
	century := year / 100
	julian := year*365 - 32167
	julian += year/4 - century + century/4
	julian += 7834*month/256 + day
	return julian
}
