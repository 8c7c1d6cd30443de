package types

import (
	"testing"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// The expected texts below are PostgreSQL 15's output for the same input
// (TimeZone UTC, DateStyle ISO, MDY, IntervalStyle postgres).

func TestParseIntervalForms(t *testing.T) {
	cases := []struct{ in, want, code string }{
		{"1-2", "1 year 2 mons", ""},
		{"-1-2", "-1 years -2 mons", ""},
		{"3 4:05:06", "3 days 04:05:06", ""},
		{"P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06", ""},
		{"P0001-02-03T04:05:06", "1 year 2 mons 3 days 04:05:06", ""},
		{"PT-1H30M", "-00:30:00", ""},
		{"P1.5M", "1 mon 15 days", ""},
		{"15h 2m 12s", "15:02:12", ""},
		{"@ 1 year 2 mons -3 days 4 hours 5 mins 6 secs ago", "-1 years -2 mons +3 days -04:05:06", ""},
		{"+1 -2:03", "1 day -02:03:00", ""},
		{"1.5", "00:00:01.5", ""},
		{"2.5 microseconds", "00:00:00.000002", ""},
		{"0.0000015 seconds", "00:00:00.000001", ""},
		{"00:00:00.0000005", "00:00:00", ""},
		{"-1.5 days", "-1 days -12:00:00", ""},
		{"1.7 decades", "17 years", ""},
		{"1-2 3 4:05:06", "1 year 2 mons 3 days 04:05:06", ""},
		{"1 2", "", sqlerr.InvalidDatetime},
		{"2 years 1 year", "", sqlerr.InvalidDatetime},
		{"", "", sqlerr.InvalidDatetime},
		{"2147483648 days", "", sqlerr.IntervalFieldOverflow},
		{"9223372036854775808 microseconds", "", sqlerr.IntervalFieldOverflow},
		// Weft keeps an interval's time in nanoseconds: PostgreSQL's
		// largest is out of range here
		{"9223372036854775807 microseconds", "", sqlerr.DatetimeOverflow},
	}
	for _, c := range cases {
		d, err := ParseInterval(c.in)
		switch {
		case c.code != "":
			if sqlerr.Code(err) != c.code {
				t.Errorf("%q: want %s, got %v (%v)", c.in, c.code, err, d)
			}
		case err != nil:
			t.Errorf("%q: %v", c.in, err)
		case FormatInterval(d.(IntervalValue)) != c.want:
			t.Errorf("%q = %s, want %s", c.in, FormatInterval(d.(IntervalValue)), c.want)
		}
	}
}

func TestParseDateTimeForms(t *testing.T) {
	cases := []struct {
		t        T
		in, want string
		code     string
	}{
		{DateT, "January 8, 1999", "1999-01-08", ""},
		{DateT, "1/8/1999", "1999-01-08", ""},
		{DateT, "1999-Jan-08", "1999-01-08", ""},
		{DateT, "Jan-08-1999", "1999-01-08", ""},
		{DateT, "08-Jan-1999", "1999-01-08", ""},
		{DateT, "19990108", "1999-01-08", ""},
		{DateT, "990108", "1999-01-08", ""},
		{DateT, "1999.008", "1999-01-08", ""},
		{DateT, "J2451187", "1999-01-08", ""},
		{DateT, "01/02/03", "2003-01-02", ""},
		{DateT, "January 8, 99 BC", "0099-01-08 BC", ""},
		{DateT, "infinity", "infinity", ""},
		{DateT, "-infinity", "-infinity", ""},
		{DateT, "13/01/1999", "", sqlerr.DatetimeOverflow},
		{DateT, "5874898-01-01", "", sqlerr.DatetimeOverflow},
		{DateT, "+infinity", "", sqlerr.InvalidDatetime},
		{TimeT, "04:05 PM", "16:05:00", ""},
		{TimeT, "040506", "04:05:06", ""},
		{TimeT, "04:05:06.789-8", "04:05:06.789", ""},
		{TimeT, "12:00 AM", "00:00:00", ""},
		{TimeT, "allballs", "00:00:00", ""},
		{TimeT, "13:00 PM", "", sqlerr.DatetimeOverflow},
		{TimeT, "infinity", "", sqlerr.InvalidDatetime},
		{TimestampTZT, "January 8 04:05:06 1999 PST", "1999-01-08 12:05:06+00", ""},
		{TimestampTZT, "1999-01-08 04:05:06 -8:00", "1999-01-08 12:05:06+00", ""},
		{TimestampT, "January 8 1999 04:05 PM", "1999-01-08 16:05:00", ""},
		{TimestampT, " Infinity ", "infinity", ""},
		{TimestampTZT, "-infinity", "-infinity", ""},
		{TimestampT, "epoch", "1970-01-01 00:00:00", ""},
		{TimestampT, "4714-11-24 00:00:00 BC", "4714-11-24 00:00:00 BC", ""},
		{TimestampT, "4714-11-23 23:59:59 BC", "", sqlerr.DatetimeOverflow},
		{TimestampT, "294277-01-01", "", sqlerr.DatetimeOverflow},
	}
	for _, c := range cases {
		d, err := ParseIn(c.t, c.in, time.UTC)
		switch {
		case c.code != "":
			if sqlerr.Code(err) != c.code {
				t.Errorf("%s %q: want %s, got %v (%v)", c.t, c.in, c.code, err, d)
			}
		case err != nil:
			t.Errorf("%s %q: %v", c.t, c.in, err)
		case Format(c.t, d) != c.want:
			t.Errorf("%s %q = %s, want %s", c.t, c.in, Format(c.t, d), c.want)
		}
	}
}

// TestRelativeDayWords reads now, today, tomorrow and yesterday against
// a fixed statement time in a zone ahead of UTC.
func TestRelativeDayWords(t *testing.T) {
	zone := time.FixedZone("+14", 14*3600)
	clock := Clock{Now: time.Date(2024, 3, 10, 11, 30, 0, 0, time.UTC)} // 2024-03-11 01:30 at +14
	cases := []struct {
		t        T
		in, want string
	}{
		{DateT, "today", "2024-03-11"},
		{DateT, "now", "2024-03-11"},
		{DateT, "tomorrow", "2024-03-12"},
		{DateT, "yesterday", "2024-03-10"},
		{TimestampT, "now", "2024-03-11 01:30:00"},
		{TimestampT, "today 10:00", "2024-03-11 10:00:00"},
		{TimestampTZT, "tomorrow", "2024-03-11 10:00:00+00"},
		{TimeT, "now", "01:30:00"},
	}
	for _, c := range cases {
		d, err := ParseAt(c.t, c.in, zone, clock)
		if err != nil {
			t.Errorf("%s %q: %v", c.t, c.in, err)
			continue
		}
		if got := Format(c.t, d); got != c.want {
			t.Errorf("%s %q = %s, want %s", c.t, c.in, got, c.want)
		}
	}
}
