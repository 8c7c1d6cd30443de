package binder

import (
	"maps"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/types"
)

// TestBindingsRecordWhatNamesResolveTo: a recording binder reports the
// relations, stars and base-table columns of the statement's own text,
// by location, and nothing of the views it expands.
func TestBindingsRecordWhatNamesResolveTo(t *testing.T) {
	cat := catalog.New(memory.NewGoAllocator(), 1)
	if err := cat.CreateSchema("s", false); err != nil {
		t.Fatal(err)
	}
	cols := []catalog.Column{{Name: "a", Type: types.Int4T}, {Name: "b", Type: types.TextT}}
	ta, err := cat.CreateTable("s", "t", cols, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.CreateTable("public", "u", cols[:1], false); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateView("s", "v", "SELECT b FROM s.t", nil, false); err != nil {
		t.Fatal(err)
	}
	_, v, _ := cat.Lookup("s", "v", nil)
	cases := []struct {
		sql       string
		relations []string // schema.name, in location order
		stars     [][]StarColumn
		columns   []BoundColumn // in location order
	}{
		{sql: "SELECT a FROM t", relations: []string{"s.t"}, columns: []BoundColumn{{ta.OID, 1}}},
		{sql: "SELECT * FROM t x", relations: []string{"s.t"}, stars: [][]StarColumn{{{"x", "a"}, {"x", "b"}}}},
		{sql: "SELECT * FROM t JOIN u USING (a)", relations: []string{"s.t", "public.u"}, stars: [][]StarColumn{{{"", "a"}, {"t", "b"}}}},
		{sql: "SELECT b FROM v", relations: []string{"s.v"}, columns: []BoundColumn{{v.OID, 1}}},
		{sql: "SELECT c FROM v AS w(c)", relations: []string{"s.v"}},
		{sql: "SELECT s.a FROM (SELECT a FROM t) s", relations: []string{"s.t"}, columns: []BoundColumn{{ta.OID, 1}}},
		{sql: "SELECT k FROM t AS z(k)", relations: []string{"s.t"}},
		{sql: "WITH t AS (SELECT 1 AS a) SELECT a FROM t", relations: nil},
		{sql: "SELECT relname FROM pg_class", relations: []string{"pg_catalog.pg_class"}},
	}
	for _, c := range cases {
		stmts, err := parser.Parse(c.sql)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		b := New(cat, []string{"s", "public"}, exec.NewEnv(memory.NewGoAllocator(), 1024, 1))
		b.Record = NewBindings()
		if _, err := b.BindQuery(stmts[0].Stmt.GetSelectStmt()); err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		var rels []string
		for _, loc := range slices.Sorted(maps.Keys(b.Record.Relations)) {
			r := b.Record.Relations[loc]
			rels = append(rels, r.Schema+"."+r.Name)
		}
		var stars [][]StarColumn
		for _, loc := range slices.Sorted(maps.Keys(b.Record.Stars)) {
			stars = append(stars, b.Record.Stars[loc])
		}
		var columns []BoundColumn
		for _, loc := range slices.Sorted(maps.Keys(b.Record.Columns)) {
			columns = append(columns, b.Record.Columns[loc])
		}
		if !slices.Equal(rels, c.relations) {
			t.Errorf("%s: relations %v, want %v", c.sql, rels, c.relations)
		}
		if !slices.EqualFunc(stars, c.stars, slices.Equal[[]StarColumn]) {
			t.Errorf("%s: stars %v, want %v", c.sql, stars, c.stars)
		}
		if !slices.Equal(columns, c.columns) {
			t.Errorf("%s: columns %v, want %v", c.sql, columns, c.columns)
		}
	}
}
