package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Views and materialized views keep their query as text and bind it when
// they are read, so the catalog has no dependency records; what depends
// on a relation is found when it is dropped, by reading every view's
// query for the names that resolve to it. DROP then refuses (2BP01) or,
// with CASCADE, drops those views first, as PostgreSQL does.

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
// FROM lists (other than one of its WITH queries) that resolves to it.
func (s *Session) queryNames(sql string, oid uint32) bool {
	stmts, err := parser.Parse(sql)
	if err != nil || len(stmts) == 0 {
		return false
	}
	ctes := map[string]bool{}
	var rels []*pg.RangeVar
	parser.Walk(stmts[0], func(m proto.Message) bool {
		switch n := m.(type) {
		case *pg.CommonTableExpr:
			ctes[n.Ctename] = true
		case *pg.RangeVar:
			rels = append(rels, n)
		}
		return true
	})
	for _, rv := range rels {
		if rv.Schemaname == "" && ctes[rv.Relname] {
			continue
		}
		t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
		if ok && (t != nil && t.OID == oid || v != nil && v.OID == oid) {
			return true
		}
	}
	return false
}

// dropDependentViews refuses to drop a relation views depend on, or
// with cascade drops them first (their own dependents before them).
func (s *Session) dropDependentViews(oid uint32, kind dropKind, name string, cascade bool, notices *[]string) error {
	deps := s.dependentViews(oid)
	if len(deps) == 0 {
		return nil
	}
	if !cascade {
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
