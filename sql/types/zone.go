package types

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	// The zone database is embedded so that zones load on machines without
	// /usr/share/zoneinfo (containers, Windows).
	_ "time/tzdata"

	"github.com/weftdb/weft/sql/sqlerr"
)

// secondsPerDay bounds the search for a zone transition around a local time.
const secondsPerDay = 86400

// invalidTimeZone is PostgreSQL's error for a TimeZone setting it cannot use.
func invalidTimeZone(value string) *sqlerr.Error {
	return sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"TimeZone\": \"%s\"", value)
}

// ParseTimeZone reads a TimeZone setting the way PostgreSQL's check_timezone
// does: a number is hours east of UTC (ISO sign: '-5', '5.5'); otherwise a
// zone database name (case-insensitive: 'Europe/Paris', 'UTC', 'EST5EDT');
// otherwise a POSIX zone ('UTC+3', '<+03>-3') whose offset counts hours
// WEST of UTC. It returns the zone and how SHOW TimeZone displays it.
func ParseTimeZone(setting string) (*time.Location, string, error) {
	s := strings.TrimSpace(setting)
	if s == "" {
		return nil, "", invalidTimeZone(setting)
	}
	if hours, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(hours, 0) && !math.IsNaN(hours) && !strings.ContainsAny(s, "xXpPiInN_") {
		return OffsetZone(int(math.Round(hours * 3600)))
	}
	if loc, ok := loadZone(s); ok {
		return loc, loc.String(), nil
	}
	if loc, ok, err := parsePOSIXZone(s); ok || err != nil {
		return loc, s, err
	}
	return nil, "", invalidTimeZone(setting)
}

// OffsetZone is a fixed zone secondsEast of UTC, named as PostgreSQL shows
// one set by number or interval: '<+05:30>-05:30'.
func OffsetZone(secondsEast int) (*time.Location, string, error) {
	if secondsEast < -168*3600 || secondsEast > 168*3600 {
		return nil, "", sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"TimeZone\": \"%d\"", secondsEast/3600).
			WithDetail("UTC timezone offset is out of range.")
	}
	iso := FormatOffset(secondsEast, true)
	posix := FormatOffset(-secondsEast, true)
	if secondsEast == 0 {
		posix = "-00" // PostgreSQL's spelling of UTC set as an offset
	}
	// the zone's abbreviation (to_char's TZ) is the ISO offset
	return time.FixedZone(iso, secondsEast), "<" + iso + ">" + posix, nil
}

// loadZone finds a zone database entry, ignoring case as PostgreSQL does.
// Go's lookup is case-sensitive, so the usual spellings are tried: as
// given, then each path segment either with its words capitalised
// ('europe/paris', 'america/new_york') or in capitals ('utc', 'est5edt',
// 'etc/gmt+5').
func loadZone(name string) (*time.Location, bool) {
	if name == "" || strings.EqualFold(name, "local") || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return nil, false
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc, true
	}
	segments := strings.Split(name, "/")
	if len(segments) > 3 {
		return nil, false
	}
	for mask := 0; mask < 1<<len(segments); mask++ {
		spelled := make([]string, len(segments))
		for i, seg := range segments {
			if mask&(1<<i) != 0 {
				spelled[i] = strings.ToUpper(seg)
			} else {
				spelled[i] = capitaliseWords(seg)
			}
		}
		if loc, err := time.LoadLocation(strings.Join(spelled, "/")); err == nil {
			return loc, true
		}
	}
	return nil, false
}

// capitaliseWords upper-cases the first letter of every word and
// lower-cases the rest ('america/new_york' → 'America/New_York').
func capitaliseWords(s string) string {
	out := []rune(strings.ToLower(s))
	start := true
	for i, r := range out {
		if start {
			out[i] = unicode.ToUpper(r)
		}
		start = r == '/' || r == '_' || r == '-'
	}
	return string(out)
}

// parsePOSIXZone reads a POSIX TZ string without daylight-saving rules:
// a name of letters (or <...>) and an offset WEST of UTC.
// ok is false when s is not of that form.
func parsePOSIXZone(s string) (*time.Location, bool, error) {
	var name, rest string
	if strings.HasPrefix(s, "<") {
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return nil, false, nil
		}
		name, rest = s[1:end], s[end+1:]
	} else {
		// PostgreSQL allows an empty name ('+3'), unlike POSIX
		i := 0
		for i < len(s) && unicode.IsLetter(rune(s[i])) {
			i++
		}
		name, rest = s[:i], s[i:]
	}
	west, n, ok := scanOffset(rest)
	if !ok {
		return nil, false, nil
	}
	if n < len(rest) {
		// A daylight-saving part ('EST5EDT'-style with custom names)
		// needs the POSIX rule machinery Go does not expose.
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "time zone \"%s\" with daylight-saving rules is not supported", s)
	}
	return time.FixedZone(name, -west), true, nil
}

// scanOffset reads [+-]hh[:mm[:ss]] (or [+-]hhmm) at the start of s,
// returning the signed offset in seconds and the bytes used.
func scanOffset(s string) (secs int, used int, ok bool) {
	sign := 1
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			sign = -1
		}
		i++
	}
	digits := func() (int, int) {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		v, _ := strconv.Atoi(s[i:j])
		return v, j - i
	}
	h, nd := digits()
	if nd == 0 {
		return 0, 0, false
	}
	i += nd
	var m, sec int
	if nd == 4 {
		// hhmm
		h, m = h/100, h%100
	} else if nd > 2 {
		return 0, 0, false
	}
	if nd <= 2 && i < len(s) && s[i] == ':' {
		i++
		if m, nd = digits(); nd != 2 {
			return 0, 0, false
		}
		i += nd
		if i < len(s) && s[i] == ':' {
			i++
			if sec, nd = digits(); nd != 2 {
				return 0, 0, false
			}
			i += nd
		}
	}
	if m > 59 || sec > 59 {
		return 0, 0, false
	}
	return sign * (h*3600 + m*60 + sec), i, true
}

// FormatOffset prints seconds east of UTC as PostgreSQL prints a zone
// offset: +02, -03:30, +00:09:21. withSign false drops a leading '+'.
func FormatOffset(secondsEast int, withSign bool) string {
	sign := "+"
	if secondsEast < 0 {
		sign = "-"
		secondsEast = -secondsEast
	}
	if !withSign && sign == "+" {
		sign = ""
	}
	h, m, s := secondsEast/3600, secondsEast/60%60, secondsEast%60
	out := fmt.Sprintf("%s%02d", sign, h)
	if m != 0 || s != 0 {
		out += fmt.Sprintf(":%02d", m)
	}
	if s != 0 {
		out += fmt.Sprintf(":%02d", s)
	}
	return out
}

// zoneOrUTC treats a nil zone as UTC (callers without a session).
func zoneOrUTC(loc *time.Location) *time.Location {
	if loc == nil {
		return time.UTC
	}
	return loc
}

// OffsetAt is the zone's offset east of UTC, in seconds, at an instant
// given in microseconds since the epoch.
func OffsetAt(us int64, loc *time.Location) int {
	_, off := time.Unix(floorDiv64(us, microsPerSecond), 0).In(zoneOrUTC(loc)).Zone()
	return off
}

// ToLocal turns an instant into the zone's wall-clock time, both in
// microseconds since the epoch (the local one as if it were UTC).
func ToLocal(us int64, loc *time.Location) int64 {
	return us + int64(OffsetAt(us, loc))*microsPerSecond
}

// FromLocal turns a wall-clock time in the zone into an instant. A time
// that does not exist (skipped by a spring-forward change) or exists
// twice (repeated by a fall-back change) is read with the smaller of the
// two offsets, as PostgreSQL does: '2024-03-31 02:30' in Europe/Paris is
// 02:30+01 (shown as 03:30+02), '2024-10-27 02:30' is 02:30+01.
func FromLocal(local int64, loc *time.Location) int64 {
	loc = zoneOrUTC(loc)
	if loc == time.UTC {
		return local
	}
	before := OffsetAt(local-secondsPerDay*microsPerSecond, loc)
	after := OffsetAt(local+secondsPerDay*microsPerSecond, loc)
	instant := func(off int) int64 { return local - int64(off)*microsPerSecond }
	valid := func(off int) bool { return OffsetAt(instant(off), loc) == off }
	if before == after {
		if valid(before) {
			return instant(before)
		}
		// two changes within a day: use the offset in force then
		return instant(OffsetAt(instant(before), loc))
	}
	vb, va := valid(before), valid(after)
	switch {
	case vb && !va:
		return instant(before)
	case va && !vb:
		return instant(after)
	}
	return instant(min(before, after))
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// FormatTimestampTZ prints an instant as the zone's wall-clock time and
// offset: 2024-07-01 14:00:00+02.
func FormatTimestampTZ(us int64, loc *time.Location) string {
	off := OffsetAt(us, loc)
	return formatTimestampEra(us+int64(off)*microsPerSecond, true, FormatOffset(off, true))
}

// zoneAbbreviations are the abbreviations timestamp input accepts after
// the time, with their offsets east of UTC (a subset of PostgreSQL's
// Default set).
var zoneAbbreviations = map[string]int{
	"utc": 0, "ut": 0, "gmt": 0, "z": 0, "zulu": 0,
	"est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600, "pst": -8 * 3600, "pdt": -7 * 3600,
	"cet": 3600, "cest": 2 * 3600, "eet": 2 * 3600, "eest": 3 * 3600,
	"wet": 0, "west": 3600, "jst": 9 * 3600,
}

// inputZone reads the zone part of a timestamp's text ('+02', '-0330',
// 'Z', 'PST', 'Europe/Paris'); it returns the instant for local, a wall
// clock time in microseconds.
func inputZone(zone string, local int64) (int64, bool) {
	if off, n, ok := scanOffset(zone); ok && n == len(zone) && (zone[0] == '+' || zone[0] == '-') {
		return local - int64(off)*microsPerSecond, true
	}
	if off, ok := zoneAbbreviations[strings.ToLower(zone)]; ok {
		return local - int64(off)*microsPerSecond, true
	}
	if loc, ok := loadZone(zone); ok {
		return FromLocal(local, loc), true
	}
	return 0, false
}

// ZoneArgument resolves the zone of AT TIME ZONE and timezone(zone, ts):
// an abbreviation ('PST'), a zone name ('Europe/Paris', any case), or a
// POSIX zone whose offset counts WEST of UTC ('UTC+3', '+3', '5').
func ZoneArgument(s string) (*time.Location, error) {
	name := strings.TrimSpace(s)
	if off, ok := zoneAbbreviations[strings.ToLower(name)]; ok {
		return time.FixedZone(strings.ToUpper(name), off), nil
	}
	if loc, ok := loadZone(name); ok {
		return loc, nil
	}
	if loc, ok, err := parsePOSIXZone(name); ok || err != nil {
		return loc, err
	}
	return nil, sqlerr.New(sqlerr.InvalidParameter, "time zone \"%s\" not recognized", s)
}

// IntervalZone is the fixed zone of AT TIME ZONE INTERVAL '…' (east of UTC).
func IntervalZone(iv IntervalValue) (*time.Location, error) {
	if iv.Months != 0 || iv.Days != 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "interval time zone \"%s\" must not include months or days", FormatInterval(iv))
	}
	secs := int(iv.Micros / microsPerSecond)
	return time.FixedZone(FormatOffset(secs, true), secs), nil
}
