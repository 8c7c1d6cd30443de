package pgsettings

import (
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

// The expected forms are what PostgreSQL 15 prints for SHOW after the
// same SET (checked by hand against psql).
func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"work_mem", "1.5MB", "1536kB"},
		{"work_mem", "1048576", "1GB"},
		{"work_mem", "64 MB", "64MB"},
		{"work_mem", "4096", "4MB"},
		{"statement_timeout", "1.5s", "1500ms"},
		{"statement_timeout", "3 min", "3min"},
		{"statement_timeout", "60000", "1min"},
		{"statement_timeout", "0", "0"},
		{"log_min_duration_statement", "-1", "-1"},
		{"seq_page_cost", "1.50", "1.5"},
		{"enable_seqscan", "YES", "on"},
		{"enable_seqscan", "of", "off"},
		{"client_min_messages", "INFO", "info"},
		{"constraint_exclusion", "yes", "on"},
		{"bytea_output", "Escape", "escape"},
		{"extra_float_digits", "2.6", "3"},
		{"application_name", "x y", "x y"},
	} {
		p, ok := Lookup(tc.name)
		if !ok {
			t.Fatalf("%s: unknown", tc.name)
		}
		got, err := p.Normalize(tc.value)
		if err != nil || got != tc.want {
			t.Errorf("SET %s = %q: got %q, %v; want %q", tc.name, tc.value, got, err, tc.want)
		}
	}
}

func TestNormalizeRefuses(t *testing.T) {
	for _, tc := range []struct{ name, value, msg, hint string }{
		{"work_mem", "10", `10 kB is outside the valid range for parameter "work_mem" (64 .. 2147483647)`, ""},
		{"work_mem", "64XB", `invalid value for parameter "work_mem": "64XB"`, `Valid units for this parameter are "B", "kB", "MB", "GB", and "TB".`},
		{"work_mem", "abc", `invalid value for parameter "work_mem": "abc"`, ""},
		{"work_mem", "9999999999", `invalid value for parameter "work_mem": "9999999999"`, "Value exceeds integer range."},
		{"enable_seqscan", "maybe", `parameter "enable_seqscan" requires a Boolean value`, ""},
		{"bytea_output", "foo", `invalid value for parameter "bytea_output": "foo"`, "Available values: escape, hex."},
		{"seq_page_cost", "-1", `-1 is outside the valid range for parameter "seq_page_cost" (0 .. 1.79769e+308)`, ""},
		{"extra_float_digits", "4", `4 is outside the valid range for parameter "extra_float_digits" (-15 .. 3)`, ""},
		{"vacuum_cost_delay", "1.5s", `1500 ms is outside the valid range for parameter "vacuum_cost_delay" (0 .. 100)`, ""},
	} {
		p, _ := Lookup(tc.name)
		_, err := p.Normalize(tc.value)
		e := sqlerr.Wrap(err)
		if err == nil || e.Code != sqlerr.InvalidParameter || e.Message != tc.msg || e.Hint != tc.hint {
			t.Errorf("SET %s = %q: got %v (hint %q)", tc.name, tc.value, err, e.Hint)
		}
	}
}

func TestSetError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		superuser bool
		code      string
	}{
		{"server_version", true, sqlerr.CantChangeRuntimeParam},
		{"shared_buffers", true, sqlerr.CantChangeRuntimeParam},
		{"checkpoint_timeout", true, sqlerr.CantChangeRuntimeParam},
		{"log_min_duration_statement", false, sqlerr.InsufficientPrivilege},
		{"log_min_duration_statement", true, ""},
		{"work_mem", false, ""},
	} {
		p, _ := Lookup(tc.name)
		err := p.SetError(tc.superuser)
		if (err == nil) != (tc.code == "") || (err != nil && sqlerr.Wrap(err).Code != tc.code) {
			t.Errorf("%s (superuser %v): %v", tc.name, tc.superuser, err)
		}
	}
}

func TestLookupIgnoresCase(t *testing.T) {
	if p, ok := Lookup("datestyle"); !ok || p.Name != "DateStyle" {
		t.Fatalf("datestyle: %v %v", p, ok)
	}
	if _, ok := Lookup("no_such_setting"); ok {
		t.Fatal("found a setting PostgreSQL does not have")
	}
}
