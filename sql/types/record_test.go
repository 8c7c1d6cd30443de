package types

import "testing"

// TestParseRecord reads record text forms as PostgreSQL's record_in does
// and writes them back as record_out does (the forms are PostgreSQL's
// output for the same values).
func TestParseRecord(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		text   string
		fields []*string
	}{
		{"(1,a)", []*string{str("1"), str("a")}},
		{"()", []*string{}},
		{"(,)", []*string{nil, nil}},
		{`(,"x y")`, []*string{nil, str("x y")}},
		{`(3,"q""u,o(te)")`, []*string{str("3"), str(`q"u,o(te)`)}},
		{`(4,"")`, []*string{str("4"), str("")}},
		{`(1,"{1,2}",{},"x\\y")`, []*string{str("1"), str("{1,2}"), str("{}"), str(`x\y`)}},
	}
	for _, tc := range cases {
		got, err := ParseRecord(tc.text)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if len(got) != len(tc.fields) {
			t.Fatalf("%s: %d fields, want %d", tc.text, len(got), len(tc.fields))
		}
		for i := range got {
			if (got[i] == nil) != (tc.fields[i] == nil) || got[i] != nil && *got[i] != *tc.fields[i] {
				t.Errorf("%s: field %d = %v, want %v", tc.text, i, got[i], tc.fields[i])
			}
		}
		if back := FormatRecord(got); back != tc.text {
			t.Errorf("%s written back as %s", tc.text, back)
		}
	}
	for _, bad := range []string{"", "x", "(1,2", `(1,"a)`} {
		if _, err := ParseRecord(bad); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}
