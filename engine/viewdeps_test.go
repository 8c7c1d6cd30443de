package engine

import (
	"slices"
	"testing"

	"github.com/weftdb/weft/sql/parser"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// TestRelationRefsScopeWithNames: a WITH query's name hides a relation
// of that name only in the query that has the WITH, in the later WITH
// queries of its list, and (RECURSIVE) in all of them.
func TestRelationRefsScopeWithNames(t *testing.T) {
	cases := []struct {
		sql  string
		want []string
	}{
		{"SELECT a FROM t", []string{"t"}},
		{"WITH t AS (SELECT 1) SELECT * FROM t", nil},
		{"WITH t AS (SELECT 1) SELECT * FROM s.t", []string{"s.t"}},
		{"SELECT (SELECT count(*) FROM (WITH t AS (SELECT 1) SELECT * FROM t) x), (SELECT max(a) FROM t)", []string{"t"}},
		{"WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a, b", []string{"b"}},
		{"WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", nil},
		{"WITH x AS (SELECT 1) SELECT * FROM x WHERE EXISTS (SELECT 1 FROM x, y)", []string{"y"}},
		{"SELECT * FROM (WITH u AS (SELECT 1) SELECT * FROM u) q JOIN u ON true", []string{"u"}},
		{"SELECT * FROM s.t x FOR UPDATE OF x", []string{"s.t"}},
	}
	for _, c := range cases {
		stmts, err := parser.Parse(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		var got []string
		relationRefs(stmts[0].Stmt, nil, func(rv *pg.RangeVar) {
			name := rv.Relname
			if rv.Schemaname != "" {
				name = rv.Schemaname + "." + name
			}
			got = append(got, name)
		})
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: relations %v, want %v", c.sql, got, c.want)
		}
	}
}
