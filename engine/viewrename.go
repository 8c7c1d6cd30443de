package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
)

// PostgreSQL's views hold the relations and columns they read by OID
// and column number: a renamed table or column is what they go on
// reading, and a column they read cannot be dropped (without CASCADE) or
// change its type. Weft's views hold text naming them (viewbind.go), so
// DDL renaming one rewrites the texts of the views reading it, and DDL
// dropping or retyping a column first finds the views whose query binds
// a name to it.

// viewRewrite is the new query text of a view or materialized view.
type viewRewrite struct {
	dep  viewDependent
	text string
}

// viewQuery is the stored query text of dependent d.
func (s *Session) viewQuery(d viewDependent) (string, bool) {
	t, v, ok := s.db.cat.Lookup(d.schema, d.name, nil)
	switch {
	case !ok:
		return "", false
	case v != nil:
		return v.SQL, true
	}
	t.Lock()
	defer t.Unlock()
	return t.MatView, t.MatView != ""
}

// rewriteViews parses each dependent's query and lets edit change it;
// it returns the texts of those edit changed.
func (s *Session) rewriteViews(deps []viewDependent, edit func(*pg.SelectStmt) (bool, error)) ([]viewRewrite, error) {
	var out []viewRewrite
	for _, d := range deps {
		text, ok := s.viewQuery(d)
		if !ok {
			continue
		}
		sel, err := parseViewQuery(text)
		if err != nil {
			return nil, err
		}
		changed, err := edit(sel)
		if err != nil {
			return nil, err
		}
		if !changed {
			continue
		}
		if text, err = deparseSelect(sel); err != nil {
			return nil, fmt.Errorf("deparsing the query of %s %s: %w", d.kind, d.name, err)
		}
		out = append(out, viewRewrite{d, text})
	}
	return out, nil
}

func parseViewQuery(text string) (*pg.SelectStmt, error) {
	stmts, err := parser.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 || stmts[0].Stmt.GetSelectStmt() == nil {
		return nil, sqlerr.New(sqlerr.InvalidObjectDefinition, "a stored view query is not one SELECT")
	}
	return stmts[0].Stmt.GetSelectStmt(), nil
}

// applyViewRewrites stores the new texts; ROLLBACK of the block puts
// the old ones back.
func (s *Session) applyViewRewrites(rws []viewRewrite) {
	for _, rw := range rws {
		t, v, ok := s.db.cat.Lookup(rw.dep.schema, rw.dep.name, nil)
		if !ok {
			continue
		}
		if v != nil {
			s.touchView(v)
			old := v.SQL
			s.db.cat.SetViewSQL(v.Schema, v.Name, rw.text)
			s.undoCreate(func() { s.db.cat.SetViewSQL(v.Schema, v.Name, old) })
			continue
		}
		s.touchTable(t, false)
		t.Lock()
		old := t.MatView
		t.MatView = rw.text
		t.Unlock()
		s.undoCreate(func() {
			t.Lock()
			t.MatView = old
			t.Unlock()
		})
	}
}

// renamedRelationInViews are the texts of the views reading relation
// oid (named schema.from) with it named to: call it before the rename,
// while the names still resolve.
func (s *Session) renamedRelationInViews(oid uint32, schema, from, to string) ([]viewRewrite, error) {
	return s.rewriteViews(s.dependentViews(oid), func(sel *pg.SelectStmt) (bool, error) {
		changed := false
		relationRefs(sel, nil, func(rv *pg.RangeVar) {
			if s.relationIs(rv, oid) {
				if rv.Alias == nil {
					rv.Alias = &pg.Alias{Aliasname: rv.Relname} // its columns' qualifiers
				}
				rv.Schemaname, rv.Relname = schema, to
				changed = true
			}
		})
		return changed, nil
	})
}

// relationIs reports whether rv names relation oid (a view stored
// before queries were bound may name it without its schema).
func (s *Session) relationIs(rv *pg.RangeVar, oid uint32) bool {
	t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
	return ok && (t != nil && t.OID == oid || v != nil && v.OID == oid)
}

// viewBindings binds a view's query as its creation did, recording what
// its names resolve to: with no privilege checks (they were made when it
// was created) and reading unpopulated materialized views as populated.
func (s *Session) viewBindings(sel *pg.SelectStmt) (*binder.Bindings, error) {
	b := s.binder(s.env())
	b.User = ""
	b.Unpopulated = func(*catalog.Table) bool { return false }
	b.Record = binder.NewBindings()
	if _, err := b.BindQuery(sel); err != nil {
		return nil, err
	}
	return b.Record, nil
}

// renamedColumnInViews are the texts of the views reading column from
// of table t with it named to: the references bound to it are renamed,
// and a select-list item that is such a reference keeps its output
// name (as PostgreSQL's view keeps its columns' names). A query joining
// on the column by name (USING, NATURAL) instead reads the table under
// an alias naming the column as before. Call it before the rename.
func (s *Session) renamedColumnInViews(t *catalog.Table, from, to string) ([]viewRewrite, error) {
	attnum := t.ColumnIndex(from) + 1
	names := make([]string, attnum)
	for i := range names {
		names[i] = t.Columns[i].Name
	}
	return s.renamedRelationColumnInViews(t.OID, names, to)
}

// renamedRelationColumnInViews are the texts of the views reading the
// last of names, the first columns of relation oid (a table or a view),
// with it named to.
func (s *Session) renamedRelationColumnInViews(oid uint32, names []string, to string) ([]viewRewrite, error) {
	attnum, from := len(names), names[len(names)-1]
	return s.rewriteViews(s.dependentViews(oid), func(sel *pg.SelectStmt) (bool, error) {
		if joinsByName(sel, from) {
			return s.aliasColumn(sel, oid, names), nil
		}
		rec, err := s.viewBindings(proto.Clone(sel).(*pg.SelectStmt))
		if err != nil {
			return false, nil // a query that no longer binds (stored before queries were bound): left as it is
		}
		return renameColumnRefs(sel, rec, binder.BoundColumn{Table: oid, Attnum: attnum}, from, to), nil
	})
}

// renameColumnRefs renames the references rec binds to col.
func renameColumnRefs(sel *pg.SelectStmt, rec *binder.Bindings, col binder.BoundColumn, from, to string) bool {
	changed := false
	parser.Walk(sel, func(m proto.Message) bool {
		switch n := m.(type) {
		case *pg.ResTarget:
			if cr := n.GetVal().GetColumnRef(); cr != nil && n.Name == "" && rec.Columns[cr.Location] == col {
				n.Name = from
			}
		case *pg.ColumnRef:
			if rec.Columns[n.Location] == col {
				n.Fields[len(n.Fields)-1] = pg.MakeStrNode(to)
				changed = true
			}
		}
		return true
	})
	return changed
}

// joinsByName reports whether sel joins on a column called name by name
// (JOIN … USING naming it, or a NATURAL join).
func joinsByName(sel *pg.SelectStmt, name string) bool {
	found := false
	parser.Walk(sel, func(m proto.Message) bool {
		if j, ok := m.(*pg.JoinExpr); ok && (j.IsNatural || slices.Contains(namesOf(j.UsingClause), name)) {
			found = true
		}
		return !found
	})
	return found
}

// aliasColumn makes each reference of sel to relation oid read it under
// an alias whose column names are names (the relation's first columns
// as the query knows them), unless its alias names them already.
func (s *Session) aliasColumn(sel *pg.SelectStmt, oid uint32, names []string) bool {
	changed := false
	relationRefs(sel, nil, func(rv *pg.RangeVar) {
		if !s.relationIs(rv, oid) {
			return
		}
		if rv.Alias == nil {
			rv.Alias = &pg.Alias{Aliasname: rv.Relname}
		}
		for len(rv.Alias.Colnames) < len(names) {
			rv.Alias.Colnames = append(rv.Alias.Colnames, pg.MakeStrNode(names[len(rv.Alias.Colnames)]))
			changed = true
		}
	})
	return changed
}

// droppedColumnInViews are the texts of the views reading table oid
// under an alias naming its column attnum (aliasColumn), with that name
// taken out: the alias names the columns by position. Call it before the
// drop; the column is one no view reads.
func (s *Session) droppedColumnInViews(oid uint32, attnum int) ([]viewRewrite, error) {
	return s.rewriteViews(s.dependentViews(oid), func(sel *pg.SelectStmt) (bool, error) {
		changed := false
		relationRefs(sel, nil, func(rv *pg.RangeVar) {
			if s.relationIs(rv, oid) && rv.Alias != nil && len(rv.Alias.Colnames) >= attnum {
				rv.Alias.Colnames = slices.Delete(rv.Alias.Colnames, attnum-1, attnum)
				changed = true
			}
		})
		return changed, nil
	})
}

// viewsReadingColumn are the views and materialized views whose queries
// read column name of table t.
func (s *Session) viewsReadingColumn(t *catalog.Table, name string) ([]viewDependent, error) {
	// (only the views reading t bind: ALTER TABLE on another table does
	// not bind every view)
	col := binder.BoundColumn{Table: t.OID, Attnum: t.ColumnIndex(name) + 1}
	var out []viewDependent
	for _, d := range s.dependentViews(t.OID) {
		text, ok := s.viewQuery(d)
		if !ok {
			continue
		}
		sel, err := parseViewQuery(text)
		if err != nil {
			return nil, err
		}
		rec, err := s.viewBindings(sel)
		if err != nil {
			continue // a query that no longer binds reads nothing to keep
		}
		if slices.Contains(rec.Implicit, col) || slices.Contains(slices.Collect(maps.Values(rec.Columns)), col) {
			out = append(out, d)
		}
	}
	return out, nil
}

// dropColumnViews refuses (2BP01) to drop a column views read, or with
// cascade drops them first, as PostgreSQL does.
func (s *Session) dropColumnViews(t *catalog.Table, name string, cascade bool, notices *[]string) error {
	if t.ColumnIndex(name) < 0 {
		return nil // dropColumn reports it
	}
	deps, err := s.viewsReadingColumn(t, name)
	if err != nil {
		return err
	}
	if len(deps) == 0 {
		views, err := s.droppedColumnInViews(t.OID, t.ColumnIndex(name)+1)
		if err != nil {
			return err
		}
		s.applyViewRewrites(views)
		return nil
	}
	if !cascade {
		lines := make([]string, 0, len(deps))
		for _, d := range deps {
			lines = append(lines, fmt.Sprintf("%s %s depends on column %s of table %s", d.kind, d.name, name, t.Name))
			if oid, ok := s.relationOID(d.schema, d.name); ok {
				lines = append(lines, s.dependencyLines(s.dependentViews(oid), d.kind, d.name, map[viewDependent]bool{d: true})...)
			}
		}
		return sqlerr.New(sqlerr.DependentObjects, "cannot drop column %s of table %s because other objects depend on it", name, t.Name).
			WithDetail(strings.Join(lines, "\n")).
			WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	for _, d := range deps {
		*notices = append(*notices, fmt.Sprintf("drop cascades to %s %s", d.kind, d.name))
		if err := s.dropRelation(d.schema, d.name, d.kind, true, true, notices); err != nil {
			return err
		}
	}
	return nil
}

// retypeColumnViews refuses (0A000) to change the type of a column views
// read, as PostgreSQL does.
func (s *Session) retypeColumnViews(t *catalog.Table, name string) error {
	if t.ColumnIndex(name) < 0 {
		return nil
	}
	deps, err := s.viewsReadingColumn(t, name)
	if err != nil || len(deps) == 0 {
		return err
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "cannot alter type of a column used by a view or rule").
		WithDetail(fmt.Sprintf("rule _RETURN on %s %s depends on column \"%s\"", deps[0].kind, deps[0].name, name))
}

// viewToRename finds the view ALTER VIEW … RENAME names and checks the
// session may rename it; without a view, the result is IF EXISTS's
// notice or the error.
func (s *Session) viewToRename(st *pg.RenameStmt, tag string) (*catalog.View, *Result, error) {
	rv := st.Relation
	t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
	switch {
	case !ok && st.MissingOk:
		return nil, &Result{Tag: tag, Notices: []string{fmt.Sprintf("relation \"%s\" does not exist, skipping", rv.Relname)}}, nil
	case !ok:
		return nil, nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
	case t != nil:
		return nil, nil, sqlerr.New(sqlerr.WrongObjectType, "\"%s\" is not a view", rv.Relname)
	}
	if err := s.requireOwner(v.OID, catalog.KindView, v.Name); err != nil {
		return nil, nil, err
	}
	if err := s.notHeldView(v); err != nil {
		return nil, nil, err
	}
	return v, nil, nil
}

// renameView runs ALTER VIEW … RENAME TO …: the views reading the view
// go on reading it under its new name.
func (s *Session) renameView(st *pg.RenameStmt, tag string) (*Result, error) {
	v, skipped, err := s.viewToRename(st, tag)
	if v == nil {
		return skipped, err
	}
	schema, from, to := v.Schema, v.Name, st.Newname
	views, err := s.renamedRelationInViews(v.OID, schema, from, to)
	if err != nil {
		return nil, err
	}
	s.touchView(v)
	if err := s.db.cat.RenameView(schema, from, to); err != nil {
		return nil, err
	}
	if err := s.claimName(schema, to); err != nil {
		_ = s.db.cat.RenameView(schema, to, from)
		return nil, err
	}
	s.undoCreate(func() { _ = s.db.cat.RenameView(schema, to, from) })
	s.applyViewRewrites(views)
	return &Result{Tag: tag}, nil
}

// renameViewColumn runs ALTER VIEW … RENAME COLUMN … TO …: the view's
// column takes the new name, and the views reading it go on reading it.
func (s *Session) renameViewColumn(st *pg.RenameStmt, tag string) (*Result, error) {
	v, skipped, err := s.viewToRename(st, tag)
	if v == nil {
		return skipped, err
	}
	names, err := s.viewColumns(v)
	if err != nil {
		return nil, err
	}
	i := slices.Index(names, st.Subname)
	if i < 0 {
		return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" does not exist", st.Subname)
	}
	if slices.Contains(names, st.Newname) {
		return nil, sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" of relation \"%s\" already exists", st.Newname, v.Name)
	}
	views, err := s.renamedRelationColumnInViews(v.OID, names[:i+1], st.Newname)
	if err != nil {
		return nil, err
	}
	cols := slices.Clone(names[:max(len(v.Columns), i+1)])
	cols[i] = st.Newname
	s.touchView(v)
	schema, name, old := v.Schema, v.Name, v.Columns
	s.db.cat.SetViewColumns(schema, name, cols)
	s.undoCreate(func() { s.db.cat.SetViewColumns(schema, name, old) })
	s.applyViewRewrites(views)
	return &Result{Tag: tag}, nil
}

// viewColumns are the names of view v's columns.
func (s *Session) viewColumns(v *catalog.View) ([]string, error) {
	sel, err := parseViewQuery(v.SQL)
	if err != nil {
		return nil, err
	}
	b := s.binder(s.env())
	b.User = ""
	b.Unpopulated = func(*catalog.Table) bool { return false }
	p, err := b.BindQuery(sel)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(p.Columns()))
	for i, c := range p.Columns() {
		names[i] = columnName(c.Name, v.Columns, i)
	}
	return names, nil
}
