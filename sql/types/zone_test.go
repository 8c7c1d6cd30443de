package types

import (
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// The expected values below are PostgreSQL 15's (SHOW TimeZone and
// '2024-07-01 12:00:00+00'::timestamptz after SET TimeZone = setting).
func TestParseTimeZone(t *testing.T) {
	for _, tc := range []struct {
		setting, show, noonUTC string
	}{
		{"Europe/Paris", "Europe/Paris", "2024-07-01 14:00:00+02"},
		{"europe/paris", "Europe/Paris", "2024-07-01 14:00:00+02"},
		{"america/new_york", "America/New_York", "2024-07-01 08:00:00-04"},
		{"utc", "UTC", "2024-07-01 12:00:00+00"},
		{"GMT", "GMT", "2024-07-01 12:00:00+00"},
		{"EST", "EST", "2024-07-01 07:00:00-05"},
		{"EST5EDT", "EST5EDT", "2024-07-01 08:00:00-04"},
		{"etc/gmt+5", "Etc/GMT+5", "2024-07-01 07:00:00-05"},
		{"-5", "<-05>+05", "2024-07-01 07:00:00-05"},
		{"5.5", "<+05:30>-05:30", "2024-07-01 17:30:00+05:30"},
		{"+3", "<+03>-03", "2024-07-01 15:00:00+03"},
		{"0", "<+00>-00", "2024-07-01 12:00:00+00"},
		{"UTC+3", "UTC+3", "2024-07-01 09:00:00-03"},
		{"UTC-05:30", "UTC-05:30", "2024-07-01 17:30:00+05:30"},
		{"<+03>-3", "<+03>-3", "2024-07-01 15:00:00+03"},
		{"America/St_Johns", "America/St_Johns", "2024-07-01 09:30:00-02:30"},
	} {
		loc, show, err := ParseTimeZone(tc.setting)
		if err != nil {
			t.Errorf("%q: %v", tc.setting, err)
			continue
		}
		noon, _ := ParseTimestampIn(TimestampTZT, "2024-07-01 12:00:00+00", nil)
		if got := FormatTimestampTZ(noon.(int64), loc); show != tc.show || got != tc.noonUTC {
			t.Errorf("%q: shows %q, noon UTC is %q; want %q, %q", tc.setting, show, got, tc.show, tc.noonUTC)
		}
	}
	for _, bad := range []string{"Mars/Base", "Z", "PST", "", "Local", "../etc/passwd"} {
		if _, _, err := ParseTimeZone(bad); sqlerr.Code(err) != sqlerr.InvalidParameter {
			t.Errorf("%q: %v, want 22023", bad, err)
		}
	}
}

// Wall-clock input in a zone, around daylight-saving changes and in the
// local-mean-time era, as PostgreSQL reads and prints it.
func TestTimestampTZInZone(t *testing.T) {
	for _, tc := range []struct {
		zone, in, out string
	}{
		{"Europe/Paris", "2024-03-31 02:30", "2024-03-31 03:30:00+02"}, // skipped hour
		{"Europe/Paris", "2024-10-27 02:30", "2024-10-27 02:30:00+01"}, // repeated hour
		{"Europe/Paris", "2024-03-31 01:59:59", "2024-03-31 01:59:59+01"},
		{"America/New_York", "2024-03-10 02:30", "2024-03-10 03:30:00-04"},
		{"America/New_York", "2024-11-03 01:30", "2024-11-03 01:30:00-05"},
		{"Europe/Paris", "1850-01-01 00:09:21", "1850-01-01 00:09:21+00:09:21"},
		{"Asia/Kolkata", "1800-01-01 05:53:28", "1800-01-01 05:53:28+05:53:28"},
		{"Europe/Paris", "2024-03-30 12:00 America/New_York", "2024-03-30 17:00:00+01"},
		{"Europe/Paris", "2024-03-30 12:00 PST", "2024-03-30 21:00:00+01"},
		{"Europe/Paris", "2024-03-30 12:00 +0530", "2024-03-30 07:30:00+01"},
		{"Europe/Paris", "2024-03-30T12:00:00.5-03", "2024-03-30 16:00:00.5+01"},
		{"Europe/Paris", "2024-03-30", "2024-03-30 00:00:00+01"},
	} {
		loc, _, err := ParseTimeZone(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseIn(TimestampTZT, tc.in, loc)
		if err != nil {
			t.Errorf("%s %q: %v", tc.zone, tc.in, err)
			continue
		}
		if got := FormatIn(TimestampTZT, d, loc); got != tc.out {
			t.Errorf("%s %q: %q, want %q", tc.zone, tc.in, got, tc.out)
		}
	}
	// PostgreSQL: 22023 time zone "mars/base" not recognized; 22007 for Foo
	if _, err := ParseIn(TimestampTZT, "2024-03-30 12:00 Mars/Base", nil); sqlerr.Code(err) != sqlerr.InvalidParameter || err.Error() != `time zone "mars/base" not recognized` {
		t.Errorf("unknown zone in input: %v", err)
	}
	if _, err := ParseIn(TimestampTZT, "2024-03-30 12:00 Foo", nil); sqlerr.Code(err) != sqlerr.InvalidDatetime {
		t.Errorf("unknown word in input: %v", err)
	}
}
