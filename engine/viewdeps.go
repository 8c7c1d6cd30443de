package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Views and materialized views keep their query as text, bound at
// creation (viewbind.go): every relation it reads is named by its
// schema, so the catalog needs no dependency records; what depends on a
// relation is found when it is dropped, by reading every view's query
// for the names that are the relation. DROP then refuses (2BP01) or,
// with CASCADE, drops those views first, as PostgreSQL does. A view
// stored before queries were bound names relations without a schema;
// those names resolve as the session's would.

// viewDependent is a view or materialized view whose query names a
// relation.
type viewDependent struct {
	kind         dropKind
	schema, name string
}

// dependentViews are the views and materialized views whose queries name
// the relation oid.
func (s *Session) dependentViews(oid uint32) []viewDependent {
	var out []viewDependent
	for _, sc := range s.db.cat.Schemas() {
		for _, v := range byName(sc.Views) {
			if v.OID != oid && s.queryNames(v.SQL, oid) {
				out = append(out, viewDependent{dropView, sc.Name, v.Name})
			}
		}
		for _, t := range byName(sc.Tables) {
			if t.MatView != "" && t.OID != oid && s.queryNames(t.MatView, oid) {
				out = append(out, viewDependent{dropMatView, sc.Name, t.Name})
			}
		}
	}
	return out
}

// queryNames reports whether sql reads the relation oid: a name in its
// FROM lists, other than one of the WITH queries in its scope, that is
// the relation.
func (s *Session) queryNames(sql string, oid uint32) bool {
	stmts, err := parser.Parse(sql)
	if err != nil || len(stmts) == 0 {
		return false
	}
	found := false
	relationRefs(stmts[0].Stmt, nil, func(rv *pg.RangeVar) {
		t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
		if ok && (t != nil && t.OID == oid || v != nil && v.OID == oid) {
			found = true
		}
	})
	return found
}

// relationRefs calls visit on each RangeVar below node that names a
// relation: not one of the WITH queries visible where it is (ctes are
// those of the enclosing queries). A WITH query's name hides a relation
// only in the query that has the WITH (and in the later WITH queries of
// the list, or in all of them when it is RECURSIVE).
func relationRefs(node proto.Message, ctes []string, visit func(*pg.RangeVar)) {
	parser.Walk(node, func(m proto.Message) bool {
		switch n := m.(type) {
		case *pg.SelectStmt:
			if n.WithClause == nil {
				return true
			}
			w := n.WithClause
			inScope := slices.Clone(ctes)
			if w.Recursive {
				for _, c := range w.Ctes {
					inScope = append(inScope, c.GetCommonTableExpr().GetCtename())
				}
			}
			for _, c := range w.Ctes {
				cte := c.GetCommonTableExpr()
				if cte == nil {
					continue
				}
				if cte.Ctequery != nil {
					relationRefs(cte.Ctequery, inScope, visit)
				}
				if !w.Recursive {
					inScope = append(inScope, cte.Ctename)
				}
			}
			n.WithClause = nil
			relationRefs(n, inScope, visit)
			n.WithClause = w
			return false
		case *pg.LockingClause:
			return false // FOR UPDATE OF names FROM items, not relations
		case *pg.RangeVar:
			if n.Schemaname != "" || !slices.Contains(ctes, n.Relname) {
				visit(n)
			}
		}
		return true
	})
}

// dropDependentViews refuses to drop a relation views depend on, or
// with cascade drops them first (their own dependents before them).
func (s *Session) dropDependentViews(oid uint32, kind dropKind, name string, cascade bool, notices *[]string) error {
	deps := s.dependentViews(oid)
	if len(deps) == 0 {
		return nil
	}
	if !cascade {
		// the views the same DROP lists go first, without a notice
		var rest []viewDependent
		for _, d := range deps {
			if oid, ok := s.relationOID(d.schema, d.name); ok && s.dropListed.has(oid) {
				if err := s.dropRelation(d.schema, d.name, d.kind, true, false, notices); err != nil {
					return err
				}
				continue
			}
			rest = append(rest, d)
		}
		if len(rest) == 0 {
			return nil
		}
		deps = rest
		lines := s.dependencyLines(deps, kind, name, map[viewDependent]bool{})
		return sqlerr.New(sqlerr.DependentObjects, "cannot drop %s %s because other objects depend on it", kind, name).
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

// dependencyLines are PostgreSQL's DETAIL lines for deps (the views that
// depend on kind name) and, under each, the views depending on it.
func (s *Session) dependencyLines(deps []viewDependent, kind dropKind, name string, seen map[viewDependent]bool) []string {
	var lines []string
	for _, d := range deps {
		if seen[d] {
			continue
		}
		seen[d] = true
		lines = append(lines, fmt.Sprintf("%s %s depends on %s %s", d.kind, d.name, kind, name))
		if oid, ok := s.relationOID(d.schema, d.name); ok {
			lines = append(lines, s.dependencyLines(s.dependentViews(oid), d.kind, d.name, seen)...)
		}
	}
	return lines
}

// relationOID is the OID of the table or view schema.name.
func (s *Session) relationOID(schema, name string) (uint32, bool) {
	t, v, ok := s.db.cat.Lookup(schema, name, nil)
	switch {
	case !ok:
		return 0, false
	case v != nil:
		return v.OID, true
	}
	return t.OID, true
}

// byName gives a schema's views or tables in name order, so that
// messages and drops do not depend on map order.
func byName[T any](m map[string]*T) []*T {
	out := make([]*T, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

// dropList is what the DROP running lists: the relations' OIDs, and their
// names as it wrote them (schema "." name).
type dropList struct {
	oids  map[uint32]bool
	names map[string]bool
}

// has reports whether the list holds oid (false without a list).
func (l *dropList) has(oid uint32) bool { return l != nil && l.oids[oid] }

// dropKinds are the DROP statements of relations checkDropList checks.
var dropKinds = map[pg.ObjectType]dropKind{
	pg.ObjectType_OBJECT_TABLE: dropTable, pg.ObjectType_OBJECT_VIEW: dropView, pg.ObjectType_OBJECT_MATVIEW: dropMatView,
}

// checkDropList makes every check a DROP of relations makes, for all of
// them, before any is dropped: each exists (or IF EXISTS), is of the kind
// named and owned by the session's role, and without CASCADE nothing
// outside the list depends on it (views, foreign keys). It returns the
// relations listed.
func (s *Session) checkDropList(st *pg.DropStmt, kind dropKind, cascade bool) (*dropList, error) {
	type found struct {
		t    *catalog.Table
		v    *catalog.View
		name string
	}
	listed := &dropList{oids: map[uint32]bool{}, names: map[string]bool{}}
	var rels []found
	for _, obj := range st.Objects {
		schema, name := dropObjectName(obj)
		t, v, ok := s.db.cat.Lookup(schema, name, s.searchPath)
		if !ok {
			if st.MissingOk {
				continue
			}
			return nil, sqlerr.New(sqlerr.UndefinedTable, "%s \"%s\" does not exist", kind, name)
		}
		if k := kindOf(t, v); k != kind {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "\"%s\" is not a %s", name, kind).WithHint(dropHint[k])
		}
		if v != nil {
			if err := s.requireOwner(v.OID, catalog.KindView, v.Name); err != nil {
				return nil, err
			}
			listed.oids[v.OID] = true
		} else {
			if err := s.requireOwner(t.OID, catalog.KindTable, t.Name); err != nil {
				return nil, err
			}
			listed.oids[t.OID] = true
		}
		listed.names[schema+"."+name] = true
		rels = append(rels, found{t, v, name})
	}
	if cascade {
		return listed, nil
	}
	for _, r := range rels {
		var oid uint32
		if r.v != nil {
			oid = r.v.OID
		} else {
			oid = r.t.OID
		}
		var outside []viewDependent
		for _, d := range s.dependentViews(oid) {
			if doid, ok := s.relationOID(d.schema, d.name); !ok || !listed.oids[doid] {
				outside = append(outside, d)
			}
		}
		if len(outside) > 0 {
			return nil, sqlerr.New(sqlerr.DependentObjects, "cannot drop %s %s because other objects depend on it", kind, r.name).
				WithDetail(strings.Join(s.dependencyLines(outside, kind, r.name, map[viewDependent]bool{}), "\n")).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
		if r.t == nil {
			continue
		}
		for _, ref := range s.referencing(r.t) {
			if ref.table != r.t && !listed.oids[ref.table.OID] {
				return nil, sqlerr.New(sqlerr.DependentObjects, "cannot drop table %s because other objects depend on it", r.t.Name).
					WithDetail("constraint " + ref.fk.Name + " on table " + ref.table.Name + " depends on table " + r.t.Name).
					WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
			}
		}
	}
	return listed, nil
}

// dropObjectName is the schema (or "") and name a DROP lists.
func dropObjectName(obj *pg.Node) (schema, name string) {
	var parts []string
	switch x := obj.Node.(type) {
	case *pg.Node_List:
		parts = namesOf(x.List.Items)
	case *pg.Node_String_:
		parts = []string{x.String_.Sval}
	}
	name = parts[len(parts)-1]
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	return schema, name
}

// dropSchemaDependents drops, for DROP SCHEMA … CASCADE, the views and
// materialized views of other schemas that read the schema's relations
// or call its functions (the schema's own go with it).
func (s *Session) dropSchemaDependents(schema string, notices *[]string) error {
	sc, ok := s.db.cat.Schema(schema)
	if !ok {
		return nil
	}
	var oids []uint32
	for _, t := range byName(sc.Tables) {
		oids = append(oids, t.OID)
	}
	for _, v := range byName(sc.Views) {
		oids = append(oids, v.OID)
	}
	var deps []viewDependent
	for _, oid := range oids {
		deps = append(deps, s.dependentViews(oid)...)
	}
	for _, name := range slices.Sorted(maps.Keys(sc.Funcs)) {
		for _, f := range sc.Funcs[name] {
			deps = append(deps, s.viewsCalling(f)...)
		}
	}
	for _, d := range deps {
		if d.schema == schema {
			continue
		}
		if _, _, still := s.db.cat.Lookup(d.schema, d.name, nil); !still {
			continue // dropped already, with another relation's dependents
		}
		*notices = append(*notices, fmt.Sprintf("drop cascades to %s %s.%s", d.kind, d.schema, d.name))
		if err := s.dropRelation(d.schema, d.name, d.kind, true, true, notices); err != nil {
			return err
		}
	}
	return nil
}

// viewsCalling are the views and materialized views whose queries call
// function f: a call of its name that binds to it (to one of its name in
// its schema, for an aggregate or table function of several overloads).
func (s *Session) viewsCalling(f *catalog.Function) []viewDependent {
	calls := func(sql string) bool {
		sel, err := parseViewQuery(sql)
		if err != nil || !namesFunction(sel, f.UDF.Name) {
			return false
		}
		rec, err := s.viewBindings(sel)
		if err != nil {
			return false
		}
		for _, fn := range rec.Functions {
			if fn.OID == f.OID || fn.OID == 0 && fn.Schema == f.Schema {
				return true
			}
		}
		return false
	}
	var out []viewDependent
	for _, sc := range s.db.cat.Schemas() {
		for _, v := range byName(sc.Views) {
			if calls(v.SQL) {
				out = append(out, viewDependent{dropView, sc.Name, v.Name})
			}
		}
		for _, t := range byName(sc.Tables) {
			if t.MatView != "" && calls(t.MatView) {
				out = append(out, viewDependent{dropMatView, sc.Name, t.Name})
			}
		}
	}
	return out
}

// namesFunction reports whether sel has a call of a function called
// name (spelled with or without a schema).
func namesFunction(sel *pg.SelectStmt, name string) bool {
	found := false
	parser.Walk(sel, func(m proto.Message) bool {
		if fc, ok := m.(*pg.FuncCall); ok {
			parts := namesOf(fc.Funcname)
			found = found || strings.EqualFold(parts[len(parts)-1], name)
		}
		return !found
	})
	return found
}

// dropFunctionViews refuses (2BP01) to drop function f while views call
// it, or with cascade drops them first, as PostgreSQL does.
func (s *Session) dropFunctionViews(f *catalog.Function, cascade bool, notices *[]string) error {
	deps := s.viewsCalling(f)
	if len(deps) == 0 {
		return nil
	}
	sig := fmt.Sprintf("%s(%s)", f.UDF.Name, argTypeList(f))
	if !cascade {
		lines := make([]string, len(deps))
		for i, d := range deps {
			lines[i] = fmt.Sprintf("%s %s depends on function %s", d.kind, d.name, sig)
		}
		return sqlerr.New(sqlerr.DependentObjects, "cannot drop function %s because other objects depend on it", sig).
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

// argTypeList is f's argument types as PostgreSQL's messages list them.
func argTypeList(f *catalog.Function) string {
	names := make([]string, len(f.UDF.Args))
	for i, a := range f.UDF.Args {
		names[i] = a.String()
	}
	return strings.Join(names, ", ")
}
