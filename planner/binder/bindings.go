package binder

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/udf"
)

// Bindings records what the names of one statement resolved to, by the
// parse location of the node that named them. PostgreSQL binds a view's
// query when the view is created and keeps the objects, not the names;
// the engine records the bindings of a view's query at creation to store
// it in a form that names the same objects whatever the reader's
// search_path (and again when DDL must follow a view's query: a renamed
// column, a dropped one). Only the statement's own text is recorded: the
// queries of the views it reads and the bodies of SQL functions it
// inlines have locations of their own texts.
type Bindings struct {
	// Relations are the tables, views and catalog views RangeVars named.
	Relations map[int32]BoundRelation
	// Stars are the columns each * (or qual.*) of a select list stood
	// for, in order.
	Stars map[int32][]StarColumn
	// Columns are the base-table columns ColumnRefs resolved to directly
	// (not through a subquery, a view or a join's alias).
	Columns map[int32]BoundColumn
	// Functions are the user-defined functions (scalar, aggregate,
	// table) FuncCalls named.
	Functions map[int32]BoundFunction
	// Types are the schemas of the user-defined types (enums, domains)
	// TypeNames named.
	Types map[int32]string
	// Implicit are the base-table columns read without a ColumnRef
	// naming them: matched by name by a join (USING, NATURAL), or
	// stood for by a * (one left unexpanded in a stored query).
	Implicit []BoundColumn
}

// BoundRelation is a relation a RangeVar resolved to: OID 0 for the
// system catalogs' views (pg_catalog, information_schema, weft).
type BoundRelation struct {
	OID          uint32
	Schema, Name string
}

// StarColumn is one column a * stood for: Qual is the FROM item's name
// to qualify it with ("" for a column only reachable unqualified, as
// JOIN … USING's merged column).
type StarColumn struct {
	Qual, Name string
}

// BoundFunction is a user-defined function a call resolved to: its
// schema, and its OID where the call's arguments picked one (0 for an
// aggregate or table function of several overloads, picked later).
type BoundFunction struct {
	Schema string
	OID    uint32
}

// BoundColumn is a base table's column: Attnum counts from 1.
type BoundColumn struct {
	Table  uint32
	Attnum int
}

// NewBindings returns an empty record.
func NewBindings() *Bindings {
	return &Bindings{Relations: map[int32]BoundRelation{}, Stars: map[int32][]StarColumn{}, Columns: map[int32]BoundColumn{},
		Functions: map[int32]BoundFunction{}, Types: map[int32]string{}}
}

// recording reports whether the node being bound is of the statement's
// own text, and a record is kept.
func (b *Binder) recording(loc int32) bool {
	return b.Record != nil && loc >= 0 && b.views == 0 && b.sqlFunc == nil
}

func (b *Binder) recordRelation(rv *pg.RangeVar, oid uint32, schema, name string) {
	if b.recording(rv.Location) {
		b.Record.Relations[rv.Location] = BoundRelation{OID: oid, Schema: schema, Name: name}
	}
}

func (b *Binder) recordStar(cr *pg.ColumnRef, items []scopeItem) {
	if !b.recording(cr.Location) {
		return
	}
	cols := make([]StarColumn, len(items))
	for i, it := range items {
		cols[i] = StarColumn{Name: it.col.Name}
		if !it.unqualified {
			cols[i].Qual = it.qual
		}
	}
	b.Record.Stars[cr.Location] = cols
	b.recordImplicit(items...)
}

func (b *Binder) recordColumn(cr *pg.ColumnRef, it scopeItem) {
	if it.rel != 0 && b.recording(cr.Location) {
		b.Record.Columns[cr.Location] = BoundColumn{Table: it.rel, Attnum: it.attnum}
	}
}

// relationItems marks scope items as the own columns of relation oid (a
// table or a view), but for those its alias names (FROM t AS x(p, q)): a
// query naming them uses the alias's names, not the relation's.
func relationItems(items []scopeItem, alias *pg.Alias, oid uint32) []scopeItem {
	for i := range items {
		if alias == nil || i >= len(alias.Colnames) {
			items[i].rel, items[i].attnum = oid, i+1
		}
	}
	return items
}

// recordImplicit records the base-table columns of items as read.
func (b *Binder) recordImplicit(items ...scopeItem) {
	if !b.recording(0) {
		return
	}
	for _, it := range items {
		if it.rel != 0 {
			b.Record.Implicit = append(b.Record.Implicit, BoundColumn{Table: it.rel, Attnum: it.attnum})
		}
	}
}

// keepBase marks the items of a join's alias (FROM (a JOIN b ON …) j)
// that expose a relation's column under its own name as its columns, as
// the join's items were.
func keepBase(aliased, joined []scopeItem, alias *pg.Alias) {
	for i := range aliased {
		if i < len(alias.Colnames) {
			continue
		}
		for _, it := range joined {
			if it.col.ID == aliased[i].col.ID && it.rel != 0 {
				aliased[i].rel, aliased[i].attnum = it.rel, it.attnum
			}
		}
	}
	// whatever the alias names them, the items read the joined columns
	for i := range aliased {
		for _, it := range joined {
			if it.col.ID == aliased[i].col.ID && it.srcTable != nil {
				aliased[i].srcTable, aliased[i].srcCol = it.srcTable, it.srcCol
			}
		}
	}
}

// recordFunction records the user-defined function a call of name
// resolved to: picked, or the only one of its name.
func (b *Binder) recordFunction(fc *pg.FuncCall, name string, picked *catalog.Function) {
	if !b.recording(fc.Location) {
		return
	}
	schema, fname := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		schema, fname = name[:i], name[i+1:]
	}
	found := b.Cat.LookupFunctions(schema, fname, b.SearchPath)
	switch {
	case picked != nil:
		b.Record.Functions[fc.Location] = BoundFunction{Schema: picked.Schema, OID: picked.OID}
	case len(found) == 1:
		b.Record.Functions[fc.Location] = BoundFunction{Schema: found[0].Schema, OID: found[0].OID}
	case len(found) > 1:
		b.Record.Functions[fc.Location] = BoundFunction{Schema: found[0].Schema}
	}
}

// pickedOf is the candidate whose function is f.
func pickedOf(cands []*catalog.Function, f *udf.Function) *catalog.Function {
	for _, c := range cands {
		if c.UDF == f {
			return c
		}
	}
	return nil
}
