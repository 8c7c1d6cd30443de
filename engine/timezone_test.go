package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/weftdb/weft/engine"
	"github.com/weftdb/weft/sql/sqlerr"
)

// TestTimeZoneInErrorDetails checks that constraint violations show
// timestamptz values in the session's zone; the details are PostgreSQL
// 15's for the same statements.
func TestTimeZoneInErrorDetails(t *testing.T) {
	s := openChecked(t, engine.Options{})
	mustExec(t, s, "CREATE TABLE u (tz timestamptz PRIMARY KEY, n int CHECK (n > 0))")
	mustExec(t, s, "SET TimeZone = 'Asia/Kolkata'")
	mustExec(t, s, "INSERT INTO u VALUES ('2024-07-01 12:00', 1)")
	for _, tc := range []struct{ sql, code, detail string }{
		{"INSERT INTO u VALUES ('2024-07-01 06:30+00', 2)", sqlerr.UniqueViolation, "Key (tz)=(2024-07-01 12:00:00+05:30) already exists."},
		{"INSERT INTO u VALUES ('2024-07-02 12:00', -1)", sqlerr.CheckViolation, "Failing row contains (2024-07-02 12:00:00+05:30, -1)."},
	} {
		_, err := s.Exec(context.Background(), tc.sql)
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != tc.code || se.Detail != tc.detail {
			t.Errorf("%s: %v (detail %q), want %s %q", tc.sql, err, detailOf(se), tc.code, tc.detail)
		}
	}
}

func detailOf(e *sqlerr.Error) string {
	if e == nil {
		return ""
	}
	return e.Detail
}
