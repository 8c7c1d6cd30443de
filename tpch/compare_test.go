package tpch

import (
	"strings"
	"testing"
)

func answerOf(cols string, rows ...string) Answer {
	a := Answer{Columns: strings.Split(cols, ",")}
	for _, r := range rows {
		var vals []*string
		for _, v := range strings.Split(r, ",") {
			if v == "NULL" {
				vals = append(vals, nil)
				continue
			}
			v := v
			vals = append(vals, &v)
		}
		a.Rows = append(a.Rows, vals)
	}
	return a
}

func TestCompare(t *testing.T) {
	ordered := Query{Name: "q", OrderBy: []string{"k"}}
	limited := Query{Name: "q", OrderBy: []string{"k"}, Limited: true}
	unordered := Query{Name: "q"}
	tests := []struct {
		name      string
		q         Query
		want, got Answer
		opt       CompareOptions
		ok        bool
	}{
		{"numbers at other scales", unordered, answerOf("k,v", "1,1.50"), answerOf("k,v", "1,1.5000"), CompareOptions{}, true},
		{"numbers within 1e-9", unordered, answerOf("k,v", "1,1000000000"), answerOf("k,v", "1,1000000000.5"), CompareOptions{}, true},
		{"numbers apart", unordered, answerOf("k,v", "1,1.50"), answerOf("k,v", "1,1.51"), CompareOptions{}, false},
		{"NULL against value", unordered, answerOf("k,v", "1,NULL"), answerOf("k,v", "1,0"), CompareOptions{}, false},
		{"row count", unordered, answerOf("k,v", "1,a", "2,b"), answerOf("k,v", "1,a"), CompareOptions{}, false},
		{"column count", unordered, answerOf("k,v", "1,a"), answerOf("k", "1"), CompareOptions{}, false},
		{"any order without ORDER BY", unordered, answerOf("k,v", "1,a", "2,b"), answerOf("k,v", "2,b", "1,a"), CompareOptions{}, true},
		{"order fixed by ORDER BY", ordered, answerOf("k,v", "1,a", "2,b"), answerOf("k,v", "2,b", "1,a"), CompareOptions{}, false},
		{"ties in any order", ordered, answerOf("k,v", "1,a", "1,b", "2,c"), answerOf("k,v", "1,b", "1,a", "2,c"), CompareOptions{}, true},
		{"ties with other rows", ordered, answerOf("k,v", "1,a", "1,b"), answerOf("k,v", "1,b", "1,c"), CompareOptions{}, false},
		{"LIMIT may cut ties anywhere", limited, answerOf("k,v", "0,z", "1,a", "1,b"), answerOf("k,v", "0,z", "1,c", "1,a"), CompareOptions{}, true},
		{"LIMIT keeps earlier rows exact", limited, answerOf("k,v", "0,z", "1,a"), answerOf("k,v", "0,y", "1,a"), CompareOptions{}, false},
		{"char padding kept", unordered, answerOf("k,v", "1,ab  "), answerOf("k,v", "1,ab"), CompareOptions{}, false},
		{"char padding trimmed", unordered, answerOf("k,v", "1,ab  "), answerOf("k,v", "1,ab"), CompareOptions{TrimBlanks: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Compare(tc.q, tc.want, tc.got, tc.opt)
			if (err == nil) != tc.ok {
				t.Fatalf("Compare = %v, want match %v", err, tc.ok)
			}
		})
	}
}

func TestParseQueries(t *testing.T) {
	text := "-- header\n-- name: q01\nSELECT a AS x, b FROM t ORDER BY x, b DESC LIMIT 3;\n\n-- name: q02\nSELECT a FROM t ORDER BY a + 1;\n-- name: q03\nSELECT 1;\n"
	qs, err := ParseQueries(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 {
		t.Fatalf("%d queries, want 3", len(qs))
	}
	if qs[0].Name != "q01" || strings.Join(qs[0].OrderBy, ",") != "x,b" || !qs[0].Limited {
		t.Errorf("q01 = %+v", qs[0])
	}
	if qs[1].OrderBy != nil || qs[1].Limited {
		t.Errorf("q02 (ORDER BY an expression) = %+v, want no order keys", qs[1])
	}
	if qs[2].SQL != "SELECT 1" {
		t.Errorf("q03 SQL = %q", qs[2].SQL)
	}
	if _, err := ParseQueries("SELECT 1"); err == nil {
		t.Error("text without names: no error")
	}
}
