package exec

import (
	"errors"
	"testing"

	"github.com/weftdb/weft/sql/sqlerr"
)

func TestTranslateARE(t *testing.T) {
	cases := []struct {
		pattern string
		flags   regexFlags
		want    string
		code    string // SQLSTATE of a refusal
	}{
		{pattern: `a\.b`, want: `a\.b`},
		{pattern: `\mfoo\M`, want: `\bfoo\b`},
		{pattern: `\yx\Y`, want: `\bx\B`},
		{pattern: `\b\B`, want: `\x08\\`},
		{pattern: `[^a]`, flags: regexFlags{newlineStop: true}, want: `[^\na]`},
		{pattern: `[]a]`, want: `[\]a]`},
		{pattern: `[[:alpha:]]+`, want: `[[:alpha:]]+`},
		{pattern: `a b # note`, flags: regexFlags{expanded: true}, want: `ab`},
		{pattern: `a+b`, flags: regexFlags{literal: true}, want: `a\+b`},
		{pattern: `***=a.b`, want: `a\.b`},
		{pattern: `\u00e9`, want: `\x{00e9}`},
		{pattern: `(a)\1`, code: sqlerr.InvalidRegex},
		{pattern: `a(?=b)`, code: sqlerr.InvalidRegex},
		{pattern: `(?<=a)b`, code: sqlerr.InvalidRegex},
		{pattern: `(.*?)(\d+)(.*)`, code: sqlerr.InvalidRegex},
		{pattern: `x*?(ab|a)`, code: sqlerr.InvalidRegex},
		{pattern: `(ab|a)+`, want: `(ab|a)+`},
		{pattern: `\m.`, code: sqlerr.InvalidRegex},
		{pattern: ` \M`, code: sqlerr.InvalidRegex},
		{pattern: `\w*\M`, code: sqlerr.InvalidRegex},
		{pattern: `\w+\M`, want: `\w+\b`},
		{pattern: `[[.a.]]`, code: sqlerr.InvalidRegex},
		{pattern: `\k`, code: sqlerr.InvalidRegex},
	}
	for _, c := range cases {
		got, _, _, err := translateARE(c.pattern, c.flags)
		if c.code != "" {
			var se *sqlerr.Error
			if !errors.As(err, &se) || se.Code != c.code {
				t.Errorf("%q: got %q, %v; want error %s", c.pattern, got, err, c.code)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.pattern, got, err, c.want)
		}
	}
}

func TestRegexMatchLoop(t *testing.T) {
	cases := []struct {
		pattern, s string
		all        bool
		degenerate bool
		want       [][2]int
	}{
		// PostgreSQL keeps the empty match right after b (Go's FindAll drops it)
		{pattern: `b*`, s: "abc", all: true, want: [][2]int{{0, 0}, {1, 2}, {2, 2}, {3, 3}}},
		{pattern: `b*`, s: "abc", all: true, degenerate: true, want: [][2]int{{1, 2}}},
		{pattern: `\d+`, s: "a1b22", all: true, want: [][2]int{{1, 2}, {3, 5}}},
		{pattern: `^a`, s: "aaa", all: true, want: [][2]int{{0, 1}}},
		{pattern: `a|ab`, s: "ab", want: [][2]int{{0, 2}}},
	}
	for _, c := range cases {
		cr, err := compileARE(c.pattern, regexFlags{})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := findMatches(cr, c.s, 0, c.all, c.degenerate)
		if err != nil {
			t.Fatal(err)
		}
		var got [][2]int
		for _, m := range ms {
			got = append(got, [2]int{m[0], m[1]})
		}
		if len(got) != len(c.want) {
			t.Errorf("%q on %q: got %v, want %v", c.pattern, c.s, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q on %q: got %v, want %v", c.pattern, c.s, got, c.want)
				break
			}
		}
	}
}
