package exec

import (
	"fmt"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/types"
)

// charPatterns are to_char's date/time template patterns, longest first so
// that e.g. "HH24" wins over "HH" and "Month" over "Mon".
var charPatterns = []struct {
	pat    string
	format func(t time.Time) string
}{
	{"Y,YYY", func(t time.Time) string { y := yearOfEra(t); return fmt.Sprintf("%d,%03d", y/1000, y%1000) }},
	{"YYYY", func(t time.Time) string { return fmt.Sprintf("%04d", yearOfEra(t)) }},
	{"YYY", func(t time.Time) string { return fmt.Sprintf("%03d", yearOfEra(t)%1000) }},
	{"IYYY", func(t time.Time) string { y, _ := t.ISOWeek(); return fmt.Sprintf("%04d", y) }},
	{"SSSSS", secondsOfDay}, {"SSSS", secondsOfDay},
	{"B.C.", era("B.C.", "A.D.")}, {"A.D.", era("B.C.", "A.D.")},
	{"b.c.", era("b.c.", "a.d.")}, {"a.d.", era("b.c.", "a.d.")},
	{"BC", era("BC", "AD")}, {"AD", era("BC", "AD")},
	{"bc", era("bc", "ad")}, {"ad", era("bc", "ad")},
	{"CC", func(t time.Time) string {
		if c := centuryOf(t.Year(), 100); c < 0 {
			return fmt.Sprintf("-%02d", -c)
		}
		return fmt.Sprintf("%02d", centuryOf(t.Year(), 100))
	}},
	{"IW", func(t time.Time) string { _, w := t.ISOWeek(); return fmt.Sprintf("%02d", w) }},
	{"WW", func(t time.Time) string { return fmt.Sprintf("%02d", (t.YearDay()-1)/7+1) }},
	{"J", func(t time.Time) string { return fmt.Sprint(floorDiv(t.Unix(), 86400) + julianDayOfEpoch) }},
	{"MONTH", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToUpper(t.Month().String())) }},
	{"Month", func(t time.Time) string { return fmt.Sprintf("%-9s", t.Month().String()) }},
	{"month", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToLower(t.Month().String())) }},
	{"HH24", func(t time.Time) string { return fmt.Sprintf("%02d", t.Hour()) }},
	{"HH12", func(t time.Time) string { return fmt.Sprintf("%02d", hour12(t)) }},
	{"DAY", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToUpper(t.Weekday().String())) }},
	{"Day", func(t time.Time) string { return fmt.Sprintf("%-9s", t.Weekday().String()) }},
	{"day", func(t time.Time) string { return fmt.Sprintf("%-9s", strings.ToLower(t.Weekday().String())) }},
	{"DDD", func(t time.Time) string { return fmt.Sprintf("%03d", t.YearDay()) }},
	{"MON", func(t time.Time) string { return strings.ToUpper(t.Month().String()[:3]) }},
	{"Mon", func(t time.Time) string { return t.Month().String()[:3] }},
	{"mon", func(t time.Time) string { return strings.ToLower(t.Month().String()[:3]) }},
	{"DY", func(t time.Time) string { return strings.ToUpper(t.Weekday().String()[:3]) }},
	{"Dy", func(t time.Time) string { return t.Weekday().String()[:3] }},
	{"dy", func(t time.Time) string { return strings.ToLower(t.Weekday().String()[:3]) }},
	{"YY", func(t time.Time) string { return fmt.Sprintf("%02d", yearOfEra(t)%100) }},
	{"MM", func(t time.Time) string { return fmt.Sprintf("%02d", int(t.Month())) }},
	{"DD", func(t time.Time) string { return fmt.Sprintf("%02d", t.Day()) }},
	{"HH", func(t time.Time) string { return fmt.Sprintf("%02d", hour12(t)) }},
	{"MI", func(t time.Time) string { return fmt.Sprintf("%02d", t.Minute()) }},
	{"SS", func(t time.Time) string { return fmt.Sprintf("%02d", t.Second()) }},
	{"MS", func(t time.Time) string { return fmt.Sprintf("%03d", t.Nanosecond()/1e6) }},
	{"US", func(t time.Time) string { return fmt.Sprintf("%06d", t.Nanosecond()/1e3) }},
	{"AM", amPM("AM", "PM")}, {"PM", amPM("AM", "PM")},
	{"am", amPM("am", "pm")}, {"pm", amPM("am", "pm")},
	{"Q", func(t time.Time) string { return fmt.Sprint((int(t.Month())-1)/3 + 1) }},
	{"Y", func(t time.Time) string { return fmt.Sprint(yearOfEra(t) % 10) }},
	{"D", func(t time.Time) string { return fmt.Sprint(int(t.Weekday()) + 1) }},
}

// julianDayOfEpoch is the Julian day number of 1970-01-01.
const julianDayOfEpoch = 2440588

// yearOfEra is the year as written with its era: 44 for 44 BC (Go's
// year -43).
func yearOfEra(t time.Time) int {
	if y := t.Year(); y <= 0 {
		return 1 - y
	}
	return t.Year()
}

func era(bc, ad string) func(time.Time) string {
	return func(t time.Time) string {
		if t.Year() <= 0 {
			return bc
		}
		return ad
	}
}

func secondsOfDay(t time.Time) string {
	return fmt.Sprint(t.Hour()*3600 + t.Minute()*60 + t.Second())
}

func hour12(t time.Time) int {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	return h
}

func amPM(am, pm string) func(time.Time) string {
	return func(t time.Time) string {
		if t.Hour() < 12 {
			return am
		}
		return pm
	}
}

// zonePatterns are to_char's time zone patterns, which show a
// timestamptz's zone (and nothing for a timestamp without one… PostgreSQL
// prints an empty TZ and +00 offsets for those).
var zonePatterns = []struct {
	pat    string
	format func(t time.Time) string
}{
	{"TZH", func(t time.Time) string { _, off := t.Zone(); return sign(off) + fmt.Sprintf("%02d", absInt(off)/3600) }},
	{"TZM", func(t time.Time) string { _, off := t.Zone(); return fmt.Sprintf("%02d", absInt(off)/60%60) }},
	{"TZ", func(t time.Time) string { name, _ := t.Zone(); return strings.ToUpper(name) }},
	{"tz", func(t time.Time) string { name, _ := t.Zone(); return strings.ToLower(name) }},
	{"OF", func(t time.Time) string { _, off := t.Zone(); return types.FormatOffset(off-off%60, true) }},
}

func sign(n int) string {
	if n < 0 {
		return "-"
	}
	return "+"
}

// formatTimestampTZ implements to_char for a timestamptz given as a time
// in the session's zone.
func formatTimestampTZ(t time.Time, tmpl string) string {
	return formatTemplate(t, tmpl, true)
}

// formatTimestamp implements to_char for timestamps: template patterns are
// replaced, double-quoted text is copied, everything else passes through.
func formatTimestamp(t time.Time, tmpl string) string {
	return formatTemplate(t, tmpl, false)
}

func formatTemplate(t time.Time, tmpl string, zoned bool) string {
	var sb strings.Builder
	for i := 0; i < len(tmpl); {
		if tmpl[i] == '"' {
			end := strings.IndexByte(tmpl[i+1:], '"')
			if end < 0 {
				sb.WriteString(tmpl[i+1:])
				break
			}
			sb.WriteString(tmpl[i+1 : i+1+end])
			i += end + 2
			continue
		}
		matched := false
		for _, p := range zonePatterns {
			if strings.HasPrefix(tmpl[i:], p.pat) {
				if zoned {
					sb.WriteString(p.format(t))
				} else if p.pat != "TZ" && p.pat != "tz" {
					sb.WriteString(p.format(t.UTC()))
				}
				i += len(p.pat)
				matched = true
				break
			}
		}
		for _, p := range charPatterns {
			if matched {
				break
			}
			if strings.HasPrefix(tmpl[i:], p.pat) {
				sb.WriteString(p.format(t))
				i += len(p.pat)
				matched = true
				break
			}
		}
		if !matched {
			sb.WriteByte(tmpl[i])
			i++
		}
	}
	return sb.String()
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
