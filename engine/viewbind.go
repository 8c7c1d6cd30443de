package engine

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/planner/optimizer"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
)

// PostgreSQL binds a view's query when the view is created: it keeps the
// relations and columns the names resolved to, not the names. Weft keeps
// a view's (and a materialized view's) query as SQL text, so the text it
// stores is written to name what the names resolved to at creation:
//
//   - every relation is named with its schema (a later search_path, or a
//     same-named table made in an earlier schema, does not change what
//     the view reads) and, without an alias of its own, aliased by its
//     name, so that the query's column qualifiers keep working when the
//     relation is renamed (the rename rewrites the relation's name only);
//   - every * is replaced by the columns it stood for (ADD COLUMN on a
//     table the view reads does not change the view's columns);
//   - every user-defined function and type is named with its schema.
//
// DDL that changes what the names mean follows the views reading the
// object: a renamed relation or column (a view's too) is renamed in
// their texts (viewrename.go), and dropping a relation, column or
// function a view reads, or retyping a column, is refused (viewdeps.go,
// viewrename.go). Views stored before this (their text as the
// user wrote it) are still read by binding their names at each read.

// boundQuery is a view's query planned at its creation.
type boundQuery struct {
	plan logical.Plan
	// text is the query to store (see above).
	text string
	// readsTemp is set when it reads a temporary relation (the view is
	// then temporary too, as in PostgreSQL).
	readsTemp bool
}

// planBound plans a view's query and gives the text to store for it.
func (s *Session) planBound(env *exec.Env, sel *pg.SelectStmt) (boundQuery, error) {
	b := s.binder(env)
	b.Record = binder.NewBindings()
	p, err := b.BindQuery(sel)
	if err != nil {
		return boundQuery{}, err
	}
	if p, err = optimizer.Optimize(p, s.DisabledRules); err != nil {
		return boundQuery{}, err
	}
	q := boundQuery{plan: p, readsTemp: s.readsTemp(b.Record)}
	written := proto.Clone(sel).(*pg.SelectStmt)
	if q.text, err = boundText(sel, b.Record, true); err != nil {
		return boundQuery{}, err
	}
	if !s.binds(env, q.text) {
		// a * over a join alias whose columns share a name (inside a
		// subquery, where that is allowed) has no qualified spelling:
		// such stars stay stars
		if q.text, err = boundText(written, b.Record, false); err != nil {
			return boundQuery{}, err
		}
	}
	return q, nil
}

// binds reports whether text binds as a query.
func (s *Session) binds(env *exec.Env, text string) bool {
	sel, err := parseViewQuery(text)
	if err != nil {
		return false
	}
	b := s.binder(env)
	b.User = ""
	_, err = b.BindQuery(sel)
	return err == nil
}

// readsTemp reports whether the bindings name a temporary relation.
func (s *Session) readsTemp(rec *binder.Bindings) bool {
	for _, rel := range rec.Relations {
		if sc, ok := s.db.cat.Schema(rel.Schema); ok && rel.OID != 0 && sc.Temp {
			return true
		}
	}
	return false
}

// boundText is the text of sel, whose binding is rec, naming what its
// names resolved to (see above), with its stars expanded or not. It
// rewrites sel.
func boundText(sel *pg.SelectStmt, rec *binder.Bindings, stars bool) (string, error) {
	parser.Walk(sel, func(m proto.Message) bool {
		switch n := m.(type) {
		case *pg.SelectStmt:
			if stars {
				n.TargetList = expandStars(n.TargetList, rec)
			}
		case *pg.RangeVar:
			qualifyRelation(n, rec)
		case *pg.FuncCall:
			if fn, ok := rec.Functions[n.Location]; ok && len(n.Funcname) == 1 {
				n.Funcname = append([]*pg.Node{pg.MakeStrNode(fn.Schema)}, n.Funcname...)
			}
		case *pg.TypeName:
			if schema, ok := rec.Types[n.Location]; ok && len(n.Names) == 1 {
				n.Names = append([]*pg.Node{pg.MakeStrNode(schema)}, n.Names...)
			}
		}
		return true
	})
	text, err := deparseSelect(sel)
	if err != nil {
		return "", fmt.Errorf("deparsing a view's query: %w", err)
	}
	return text, nil
}

// qualifyRelation names rv's relation by its schema, aliased by the name
// it had unless it has an alias of its own.
func qualifyRelation(rv *pg.RangeVar, rec *binder.Bindings) {
	rel, ok := rec.Relations[rv.Location]
	if !ok {
		return // a WITH query's name
	}
	if rel.OID != 0 && rv.Alias == nil {
		rv.Alias = &pg.Alias{Aliasname: rv.Relname}
	}
	rv.Schemaname, rv.Relname = rel.Schema, rel.Name
}

// expandStars replaces each * of a select list by the columns it stood
// for, each qualified by its FROM item's name.
func expandStars(list []*pg.Node, rec *binder.Bindings) []*pg.Node {
	if !hasStar(list, rec) {
		return list
	}
	out := make([]*pg.Node, 0, len(list))
	for _, n := range list {
		cols, ok := rec.Stars[starLocation(n)]
		if !ok {
			out = append(out, n)
			continue
		}
		for _, c := range cols {
			fields := []*pg.Node{pg.MakeStrNode(c.Name)}
			if c.Qual != "" {
				fields = append([]*pg.Node{pg.MakeStrNode(c.Qual)}, fields...)
			}
			out = append(out, pg.MakeResTargetNodeWithVal(pg.MakeColumnRefNode(fields, -1), -1))
		}
	}
	return out
}

func hasStar(list []*pg.Node, rec *binder.Bindings) bool {
	for _, n := range list {
		if _, ok := rec.Stars[starLocation(n)]; ok {
			return true
		}
	}
	return false
}

// starLocation is the location of a select-list item that is a * (or
// qual.*), -1 for other items.
func starLocation(n *pg.Node) int32 {
	rt := n.GetResTarget()
	if rt == nil || rt.Name != "" {
		return -1
	}
	cr := rt.GetVal().GetColumnRef()
	if cr == nil || len(cr.Fields) == 0 || cr.Fields[len(cr.Fields)-1].GetAStar() == nil {
		return -1
	}
	return cr.Location
}

// schemaTemp reports whether schema is a session's temporary one.
func (s *Session) schemaTemp(schema string) (bool, error) {
	sc, ok := s.db.cat.Schema(schema)
	if !ok {
		return false, fmt.Errorf("schema %s vanished", schema)
	}
	return sc.Temp, nil
}

// viewColumnNames checks a view's column names as PostgreSQL does: no
// more names given than the query has columns, and no name twice.
func viewColumnNames(p logical.Plan, aliases []string) error {
	cols := p.Columns()
	if len(aliases) > len(cols) {
		return sqlerr.New(sqlerr.SyntaxError, "CREATE VIEW specifies more column names than columns")
	}
	seen := map[string]bool{}
	for i, c := range cols {
		name := c.Name
		if i < len(aliases) {
			name = aliases[i]
		}
		if seen[name] {
			return sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" specified more than once", name)
		}
		seen[name] = true
	}
	return nil
}

// replacesColumns checks, for CREATE OR REPLACE VIEW, that the new query
// p (with column names aliases) keeps the columns of view old, as
// PostgreSQL does: it may add columns at the end, not drop, rename or
// retype one.
func (s *Session) replacesColumns(old *catalog.View, p logical.Plan, aliases []string) error {
	sel, err := parseViewQuery(old.SQL)
	if err != nil {
		return err
	}
	b := s.binder(s.env())
	b.User = ""
	b.Unpopulated = func(*catalog.Table) bool { return false }
	was, err := b.BindQuery(sel)
	if err != nil {
		return nil // the old query no longer binds: nothing to keep
	}
	oldCols, newCols := was.Columns(), p.Columns()
	if len(newCols) < len(oldCols) {
		return sqlerr.New(sqlerr.InvalidTableDefinition, "cannot drop columns from view")
	}
	for i, oc := range oldCols {
		oldName, newName := columnName(oc.Name, old.Columns, i), columnName(newCols[i].Name, aliases, i)
		if oldName != newName {
			return sqlerr.New(sqlerr.InvalidTableDefinition, "cannot change name of view column \"%s\" to \"%s\"", oldName, newName).
				WithHint("Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead.")
		}
		if oc.T.String() != newCols[i].T.String() {
			return sqlerr.New(sqlerr.InvalidTableDefinition, "cannot change data type of view column \"%s\" from %s to %s", oldName, oc.T, newCols[i].T)
		}
	}
	return nil
}

// columnName is a view's column i: its alias, or the query's name.
func columnName(name string, aliases []string, i int) string {
	if i < len(aliases) {
		return aliases[i]
	}
	return name
}
