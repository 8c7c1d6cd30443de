package pgwire

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestEmptyStringIsNotNull checks that an empty string reaches the client
// as an empty value, not as NULL, in every protocol mode — also when the
// row holds nothing else (the row encoder's buffer was then still nil and
// the empty value went out as NULL).
func TestEmptyStringIsNotNull(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	setup := connect(t, url, pgx.QueryExecModeSimpleProtocol)
	for _, q := range []string{
		"CREATE TABLE es (id int, s text)",
		"INSERT INTO es VALUES (1, ''), (2, NULL)",
		"INSERT INTO es VALUES (3, 'x'), (4, '')",
	} {
		if _, err := setup.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tests := []struct {
		query string
		want  []*string
	}{
		{"SELECT ''::text", []*string{ptr("")}},
		{"SELECT split_part('', '@', 1)", []*string{ptr("")}},
		{"SELECT s FROM es ORDER BY id", []*string{ptr(""), nil, ptr("x"), ptr("")}},
		{"SELECT s FROM es WHERE id IN (1, 4) ORDER BY id", []*string{ptr(""), ptr("")}},
		{"SELECT NULL::text", []*string{nil}},
	}
	for _, mode := range modes {
		c := connect(t, url, mode)
		for _, tt := range tests {
			rows, err := c.Query(ctx, tt.query)
			if err != nil {
				t.Fatalf("%v %s: %v", mode, tt.query, err)
			}
			var got []*string
			for rows.Next() {
				var v *string
				if err := rows.Scan(&v); err != nil {
					t.Fatalf("%v %s: %v", mode, tt.query, err)
				}
				got = append(got, v)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%v %s: %v", mode, tt.query, err)
			}
			if !sameOptionalStrings(got, tt.want) {
				t.Errorf("%v %s: got %s, want %s", mode, tt.query, showOptional(got), showOptional(tt.want))
			}
		}
	}
}

func ptr(s string) *string { return &s }

func sameOptionalStrings(a, b []*string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || a[i] != nil && *a[i] != *b[i] {
			return false
		}
	}
	return true
}

func showOptional(vs []*string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if v == nil {
			out[i] = "NULL"
		} else {
			out[i] = "'" + *v + "'"
		}
	}
	return out
}
