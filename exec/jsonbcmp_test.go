package exec

import "testing"

// The order PostgreSQL 15 gives these jsonb values (SELECT … ORDER BY v),
// least first; each must compare below every later one.
func TestCompareJSONBOrder(t *testing.T) {
	ordered := []string{`[]`, `null`, `"a"`, `"b"`, `-5`, `1`, `2.5`, `false`, `true`, `[null]`, `[1]`, `[true]`, `[[]]`, `[{}]`,
		`["a", 2]`, `[2, "a"]`, `{}`, `{"a": 1}`, `{"a": [1]}`, `{"a": {}}`, `{"b": 1, "d": 1}`, `{"c": 1, "aa": 1}`}
	for i := range ordered {
		for j := range ordered {
			got := CompareJSONB(ordered[i], ordered[j])
			want := compareInts(i, j)
			if got != want {
				t.Errorf("CompareJSONB(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestCompareJSONBEdges(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{`2.5`, `2.50`, 0},                          // numbers by value
		{`{"x": 1, "y": 2}`, `{"y": 2, "x": 1}`, 0}, // key order does not matter
		{`80`, `100`, -1},                           // not as text
		{`[1, 2]`, `[3]`, 1},                        // longer arrays are greater
		{`not json`, `not json either`, -1},         // unparsable text compares as text
	} {
		if got := CompareJSONB(c.a, c.b); got != c.want {
			t.Errorf("CompareJSONB(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
