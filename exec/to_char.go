package exec

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// to_char for dates and times writes the template parsed as to_date reads
// it (from_char.go): patterns in upper, lower or capitalized spelling
// (the spelling picks the case of names), FM to drop padding, TH/th for
// ordinal endings, double-quoted text and other characters copied.

// julianDayOfEpoch is the Julian day number of 1970-01-01.
const julianDayOfEpoch = 2440588

// formatTimestampTZ implements to_char for a timestamptz given as a time
// in the session's zone.
func formatTimestampTZ(t time.Time, tmpl string) string {
	return formatTemplate(t, tmpl, true)
}

// formatTimestamp implements to_char for timestamps (PostgreSQL prints an
// empty TZ and +00 offsets for those).
func formatTimestamp(t time.Time, tmpl string) string {
	return formatTemplate(t, tmpl, false)
}

func formatTemplate(t time.Time, tmpl string, zoned bool) string {
	var sb strings.Builder
	for _, n := range parseFromCharTemplate(tmpl) {
		if n.kind != nodeField {
			sb.WriteString(n.text)
			continue
		}
		s := formatField(t, &n, zoned)
		if n.ordinal && n.key.digits && n.key.field != fcTZHour && n.key.field != fcTZMinute {
			s += ordinalEnding(s, n.ordinalUpper)
		}
		sb.WriteString(s)
	}
	return sb.String()
}

// formatField writes one pattern of the template.
func formatField(t time.Time, n *fromCharNode, zoned bool) string {
	num := func(v, width int) string {
		if n.fillMode {
			return strconv.Itoa(v)
		}
		return fmt.Sprintf("%0*d", width, v)
	}
	isoYear, isoWeek := t.ISOWeek()
	switch upper := strings.ToUpper(n.name); upper {
	case "YYYY":
		return num(yearOfEra(t.Year()), 4)
	case "IYYY":
		return num(yearOfEra(isoYear), 4)
	case "YYY", "YY", "Y":
		return num(yearOfEra(t.Year())%tenTo(len(upper)), len(upper))
	case "IYY", "IY", "I":
		return num(yearOfEra(isoYear)%tenTo(len(upper)), len(upper))
	case "Y,YYY":
		y := yearOfEra(t.Year())
		return fmt.Sprintf("%d,%03d", y/1000, y%1000)
	case "CC":
		return formatCentury(t.Year(), n.fillMode)
	case "MM":
		return num(int(t.Month()), 2)
	case "DD":
		return num(t.Day(), 2)
	case "DDD":
		return num(t.YearDay(), 3)
	case "IDDD":
		return num(int(daysFromEpoch(t.Year(), int(t.Month()), t.Day())-isoWeekStart(isoYear, 1))+1, 3)
	case "D":
		return num(int(t.Weekday())+1, 1)
	case "ID":
		return num((int(t.Weekday())+6)%7+1, 1)
	case "WW":
		return num((t.YearDay()-1)/7+1, 2)
	case "IW":
		return num(isoWeek, 2)
	case "W":
		return num((t.Day()-1)/7+1, 1)
	case "Q":
		return num((int(t.Month())-1)/3+1, 1)
	case "J":
		return strconv.FormatInt(daysFromEpoch(t.Year(), int(t.Month()), t.Day())+julianDayOfEpoch, 10)
	case "HH", "HH12":
		return num(hour12(t), 2)
	case "HH24":
		return num(t.Hour(), 2)
	case "MI":
		return num(t.Minute(), 2)
	case "SS":
		return num(t.Second(), 2)
	case "MS": // fractions keep their zeros under FM
		return fmt.Sprintf("%03d", t.Nanosecond()/1e6)
	case "US":
		return fmt.Sprintf("%06d", t.Nanosecond()/1e3)
	case "FF1", "FF2", "FF3", "FF4", "FF5", "FF6":
		digits := int(upper[2] - '0')
		return fmt.Sprintf("%0*d", digits, t.Nanosecond()/1e3/tenTo(6-digits))
	case "SSSS", "SSSSS":
		return strconv.Itoa(t.Hour()*3600 + t.Minute()*60 + t.Second())
	case "AM", "PM", "A.M.", "P.M.":
		return pickByValue(n.name, t.Hour() >= 12, "am", "pm")
	case "AD", "BC", "A.D.", "B.C.":
		return pickByValue(n.name, t.Year() <= 0, "ad", "bc")
	case "MONTH", "MON":
		return formatName(n, t.Month().String(), upper == "MON")
	case "DAY", "DY":
		return formatName(n, t.Weekday().String(), upper == "DY")
	case "RM":
		return formatRoman(n, t.Month())
	case "TZ", "TZH", "TZM", "OF":
		return formatZone(t, upper, n.name == "tz", n.fillMode, zoned)
	}
	return "" // FX
}

// pickByValue writes AM or PM (AD or BC) in the spelling of the pattern,
// whichever of the two the pattern names: "p.m." writes "a.m." before noon.
func pickByValue(written string, second bool, first, other string) string {
	word := first
	if second {
		word = other
	}
	if strings.Contains(written, ".") {
		word = word[:1] + "." + word[1:] + "."
	}
	if written[0] >= 'A' && written[0] <= 'Z' {
		word = strings.ToUpper(word)
	}
	return word
}

// formatName writes a month or day name in the pattern's case, padded to
// nine characters unless abbreviated or in fill mode.
func formatName(n *fromCharNode, name string, abbrev bool) string {
	if abbrev {
		name = name[:3]
	}
	switch {
	case n.name == strings.ToUpper(n.name):
		name = strings.ToUpper(name)
	case n.name == strings.ToLower(n.name):
		name = strings.ToLower(name)
	}
	if abbrev || n.fillMode || n.translated {
		return name
	}
	return fmt.Sprintf("%-9s", name)
}

func formatRoman(n *fromCharNode, m time.Month) string {
	s := romanMonthsDescending[12-int(m)]
	if n.name == "rm" {
		s = strings.ToLower(s)
	}
	if n.fillMode {
		return s
	}
	return fmt.Sprintf("%-4s", s)
}

// formatCentury writes CC: the 21st century is 2001-2100, and centuries
// BC count down from -01.
func formatCentury(year int, fill bool) string {
	c := centuryOf(year, 100)
	switch {
	case fill || c > 99 || c < -99:
		return strconv.Itoa(c)
	case c < 0:
		return fmt.Sprintf("%03d", c)
	}
	return fmt.Sprintf("%02d", c)
}

// formatZone writes the zone patterns: a timestamp without time zone has
// an empty TZ and a +00 offset.
func formatZone(t time.Time, pattern string, lower, fill, zoned bool) string {
	name, off := t.Zone()
	if !zoned {
		name, off = "", 0
	}
	switch pattern {
	case "TZH":
		return sign(off) + fmt.Sprintf("%02d", absInt(off)/3600)
	case "TZM":
		return fmt.Sprintf("%02d", absInt(off)/60%60)
	case "OF":
		hours := fmt.Sprintf("%02d", absInt(off)/3600)
		if fill {
			hours = strconv.Itoa(absInt(off) / 3600)
		}
		if minutes := absInt(off) / 60 % 60; minutes != 0 {
			return sign(off) + hours + fmt.Sprintf(":%02d", minutes)
		}
		return sign(off) + hours
	}
	if lower {
		return strings.ToLower(name)
	}
	return strings.ToUpper(name)
}

// ordinalEnding is "st", "nd", "rd" or "th" for the number a field wrote
// (11th to 13th, 111th…).
func ordinalEnding(number string, upper bool) string {
	ending := "th"
	if l := len(number); l > 0 && (l < 2 || number[l-2] != '1') {
		switch number[l-1] {
		case '1':
			ending = "st"
		case '2':
			ending = "nd"
		case '3':
			ending = "rd"
		}
	}
	if upper {
		return strings.ToUpper(ending)
	}
	return ending
}

// yearOfEra is the year as written with its era: 44 for 44 BC (Go's
// year -43).
func yearOfEra(y int) int {
	if y <= 0 {
		return 1 - y
	}
	return y
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

func sign(n int) string {
	if n < 0 {
		return "-"
	}
	return "+"
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
