package binder

import "testing"

func TestSplitRegName(t *testing.T) {
	cases := []struct {
		in, schema, name string
		wantErr          bool
	}{
		{in: "t", name: "t"},
		{in: "MyTable", name: "mytable"},
		{in: `"MyTable"`, name: "MyTable"},
		{in: `public."My.Table"`, schema: "public", name: "My.Table"},
		{in: `"a""b"`, name: `a"b`},
		{in: `"weft"."public"."T"`, schema: "public", name: "T"},
		{in: `weft.public.t`, schema: "public", name: "t"},
		{in: `other.public.t`, wantErr: true},
		{in: `a.b.c.d`, wantErr: true},
	}
	for _, c := range cases {
		schema, name, err := splitRegName(c.in)
		if (err != nil) != c.wantErr || err == nil && (schema != c.schema || name != c.name) {
			t.Errorf("%s: got %q %q %v", c.in, schema, name, err)
		}
	}
}
