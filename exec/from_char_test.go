package exec

import (
	"math/rand"
	"testing"
	"time"
)

// TestFromCharReadsWhatToCharWrites: to_timestamp(to_char(t, f), f) is t
// for templates that keep every field of t (PostgreSQL's own answers for
// single cases are in testdata/slt/functions/to_date_to_timestamp.slt).
func TestFromCharReadsWhatToCharWrites(t *testing.T) {
	templates := []struct {
		tmpl  string
		units time.Duration // what the template keeps of the time
	}{
		{"YYYY-MM-DD HH24:MI:SS.US", time.Microsecond},
		{"DD Mon YYYY HH12:MI:SS AM", time.Second},
		{"FMMonth FMDD, YYYY HH24:MI", time.Minute},
		{"YYYYMMDDHH24MISS", time.Second},
		{"J HH24:MI:SS.MS", time.Millisecond},
		{"IYYY-IW-ID HH24:MI", time.Minute},
		{"Day, DDth \"of\" MONTH YYYY SSSSS", time.Second},
		{"YYYY-DDD FF3", time.Millisecond},
	}
	rng := rand.New(rand.NewSource(1))
	start := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	end := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).UnixMicro()
	for _, tc := range templates {
		for i := 0; i < 500; i++ {
			us := start + rng.Int63n(end-start)
			if tc.tmpl == "YYYY-DDD FF3" {
				us -= us % (24 * 3600 * 1e6) // the template has no time of day but its fraction
				us += rng.Int63n(1000) * 1000
			}
			want := time.UnixMicro(us).UTC().Truncate(tc.units)
			text := formatTimestamp(want, tc.tmpl)
			got, err := fromCharTimestamp(text, tc.tmpl, time.UTC)
			if err != nil {
				t.Fatalf("to_timestamp(%q, %q): %v", text, tc.tmpl, err)
			}
			if got.(int64) != want.UnixMicro() {
				t.Fatalf("to_timestamp(%q, %q) = %s, want %s", text, tc.tmpl, time.UnixMicro(got.(int64)).UTC(), want)
			}
		}
	}
}
