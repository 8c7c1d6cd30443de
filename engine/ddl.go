package engine

import (
	"context"
	"fmt"
	"github.com/weftdb/weft/sql/parser"
	"slices"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// targetSchema picks the schema a new object goes into.
func (s *Session) targetSchema(explicit string) (string, error) {
	schema, err := s.resolveTargetSchema(explicit)
	if err != nil {
		return "", err
	}
	return schema, s.mayCreateIn(schema)
}

// resolveTargetSchema is the schema a new object goes in: the named one,
// or the first of the search path that exists.
func (s *Session) resolveTargetSchema(explicit string) (string, error) {
	if explicit == "pg_temp" {
		return s.tempSchema(), nil
	}
	if explicit != "" {
		if _, ok := s.db.cat.Schema(explicit); !ok {
			return "", sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", explicit)
		}
		return explicit, nil
	}
	for _, sp := range s.searchPath {
		if sp == s.temp {
			continue // only TEMP tables go there
		}
		if _, ok := s.db.cat.Schema(sp); ok {
			return sp, nil
		}
	}
	return "", sqlerr.New(sqlerr.UndefinedSchema, "no schema has been selected to create in")
}

func deparseExpr(n *pg.Node) (string, error) { return parser.DeparseExpr(n) }

func deparseSelect(sel *pg.SelectStmt) (string, error) {
	return parser.Deparse(&pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}})
}

// unsupportedCreateTableForm rejects the CREATE TABLE forms whose columns or
// rows come from another relation or type: INHERITS, PARTITION OF and OF
// type. Making the table from its own column list alone would give a table
// of the wrong shape (often no columns at all).
func unsupportedCreateTableForm(st *pg.CreateStmt) error {
	switch {
	case len(st.InhRelations) > 0 && st.Partbound != nil:
		return sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE ... PARTITION OF is not supported yet").At(st.Relation.Location)
	case len(st.InhRelations) > 0:
		return sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE ... INHERITS is not supported yet").At(st.Relation.Location)
	case st.OfTypename != nil:
		return sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE ... OF type is not supported yet").At(st.Relation.Location)
	}
	return nil
}

func (s *Session) createTable(env *exec.Env, st *pg.CreateStmt) (*Result, error) {
	schema, err := s.targetSchema(st.Relation.Schemaname)
	if err != nil {
		return nil, err
	}
	if st.Relation.Relpersistence == "t" {
		schema = s.tempSchema()
	}
	if err := unsupportedCreateTableForm(st); err != nil {
		return nil, err
	}
	var notices []string
	var fks []pendingFK
	var seqCols []pendingSeq
	var cols []catalog.Column
	var keys []pendingKey
	var checks []pendingCheck
	var generated []pendingGenerated
	for _, elt := range st.TableElts {
		switch x := elt.Node.(type) {
		case *pg.Node_ColumnDef:
			cd := x.ColumnDef
			var seqOpts []*pg.Node
			sequenced := false
			if base, ok := serialType(cd.TypeName); ok {
				cd = &pg.ColumnDef{Colname: cd.Colname, Constraints: cd.Constraints, IsNotNull: cd.IsNotNull, Location: cd.Location,
					TypeName: &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode(base)}, Typemod: -1, Location: cd.TypeName.Location}}
				sequenced = true
			}
			col, colKeys, err := s.columnDef(env, cd)
			if err != nil {
				return nil, err
			}
			for _, cn := range cd.Constraints {
				if c := cn.GetConstraint(); c.Contype == pg.ConstrType_CONSTR_IDENTITY {
					if !col.Type.IsInteger() {
						return nil, sqlerr.New(sqlerr.InvalidParameter, "identity column type must be smallint, integer, or bigint")
					}
					col.Identity, seqOpts, sequenced = c.GeneratedWhen, c.Options, true
				}
			}
			if sequenced {
				if col.Default != "" {
					return nil, sqlerr.New(sqlerr.SyntaxError, "multiple default values specified for column \"%s\" of table \"%s\"", col.Name, st.Relation.Relname)
				}
				seqCols = append(seqCols, pendingSeq{column: len(cols), opts: seqOpts})
			}
			keys = append(keys, colKeys...)
			for _, cn := range x.ColumnDef.Constraints {
				if c := cn.GetConstraint(); c.Contype == pg.ConstrType_CONSTR_GENERATED {
					if col.Default != "" || sequenced {
						return nil, sqlerr.New(sqlerr.SyntaxError, "both default and generation expression specified for column \"%s\" of table \"%s\"", col.Name, st.Relation.Relname).At(c.Location)
					}
					generated = append(generated, pendingGenerated{column: len(cols), expr: c.RawExpr})
				}
			}
			cols = append(cols, col)
			for _, cn := range x.ColumnDef.Constraints {
				switch c := cn.GetConstraint(); c.Contype {
				case pg.ConstrType_CONSTR_CHECK:
					checks = append(checks, pendingCheck{name: c.Conname, expr: c.RawExpr, column: col.Name})
				case pg.ConstrType_CONSTR_FOREIGN:
					fks = append(fks, pendingFK{c: c, column: col.Name})
				}
			}
		case *pg.Node_Constraint:
			c := x.Constraint
			switch c.Contype {
			case pg.ConstrType_CONSTR_PRIMARY, pg.ConstrType_CONSTR_UNIQUE:
				if c.NullsNotDistinct {
					return nil, errNullsNotDistinct(c.Location)
				}
				keys = append(keys, pendingKey{name: c.Conname, columns: namesOf(c.Keys), primary: c.Contype == pg.ConstrType_CONSTR_PRIMARY})
			case pg.ConstrType_CONSTR_CHECK:
				checks = append(checks, pendingCheck{name: c.Conname, expr: c.RawExpr})
			case pg.ConstrType_CONSTR_FOREIGN:
				fks = append(fks, pendingFK{c: c})
			}
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this CREATE TABLE element is not supported yet")
		}
	}
	cache, err := createCacheOption(st.Options, st.Relation) // (cachestmt.go)
	if err != nil {
		return nil, err
	}
	t, err := s.createTableIn(schema, st.Relation.Relname, cols, st.IfNotExists)
	if err != nil {
		return nil, err.(*sqlerr.Error).At(st.Relation.Location)
	}
	res := &Result{Tag: "CREATE TABLE"}
	if t == nil {
		res.Notices = append(res.Notices, "relation \""+st.Relation.Relname+"\" already exists, skipping")
		return res, nil
	}
	s.own(t.OID, catalog.KindTable)
	for _, p := range seqCols {
		if err := s.ownedSequence(t, p.column, p.opts); err != nil {
			s.discardTable(t)
			return nil, err
		}
	}
	if err := s.checkGenerated(env, t, generated); err != nil {
		s.discardTable(t)
		return nil, err
	}
	if err := s.addKeys(t, keys); err != nil {
		s.discardTable(t)
		return nil, err
	}
	if err := s.addChecks(env, t, checks); err != nil {
		s.discardTable(t)
		return nil, err
	}
	if err := s.addForeignKeys(t, fks); err != nil {
		s.discardTable(t)
		return nil, err
	}
	s.cacheCreated(t, cache)
	res.Notices = append(res.Notices, notices...)
	return res, nil
}

// pendingKey is a PRIMARY KEY or UNIQUE constraint as written.
// pendingCheck is a CHECK constraint as written.
type pendingCheck struct {
	name   string
	expr   *pg.Node
	column string // for a column constraint
}

type pendingKey struct {
	name      string
	columns   []string
	primary   bool
	indexOnly bool // CREATE UNIQUE INDEX
}

// addKeys declares keys on t (its data must already satisfy them).
func (s *Session) addKeys(t *catalog.Table, keys []pendingKey) error {
	for _, pk := range keys {
		k := catalog.Key{Name: pk.name, Primary: pk.primary, IndexOnly: pk.indexOnly}
		for _, name := range pk.columns {
			i := t.ColumnIndex(name)
			if i < 0 {
				return sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" named in key does not exist", name)
			}
			k.Columns = append(k.Columns, i)
		}
		if k.Name == "" {
			k.Name = s.freeRelationName(t, t.Name+"_pkey")
			if !k.Primary {
				k.Name = s.freeRelationName(t, t.Name+"_"+strings.Join(pk.columns, "_")+"_key")
			}
		}
		for _, have := range t.Keys {
			switch {
			case have.Primary && k.Primary:
				return sqlerr.New(sqlerr.InvalidTableDefinition, "multiple primary keys for table \"%s\" are not allowed", t.Name)
			case have.Name == k.Name:
				return sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", k.Name)
			}
		}
		if k.Primary {
			for _, c := range k.Columns {
				t.Columns[c].NotNull = true
			}
		}
		k.OID, k.ConOID = s.db.cat.AllocOID(), s.db.cat.AllocOID()
		t.Keys = append(t.Keys, k)
	}
	return nil
}

func namesOf(ns []*pg.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if s, ok := n.Node.(*pg.Node_String_); ok {
			out = append(out, s.String_.Sval)
		}
	}
	return out
}

func (s *Session) columnDef(env *exec.Env, cd *pg.ColumnDef) (catalog.Column, []pendingKey, error) {
	t, dom, err := s.binder(env).ResolveType(cd.TypeName)
	if err != nil {
		return catalog.Column{}, nil, err
	}
	col := catalog.Column{Name: cd.Colname, Type: t, NotNull: cd.IsNotNull}
	if dom != nil {
		col.Domain = dom.OID
	}
	var keys []pendingKey
	for _, cn := range cd.Constraints {
		c := cn.Node.(*pg.Node_Constraint).Constraint
		switch c.Contype {
		case pg.ConstrType_CONSTR_NOTNULL:
			col.NotNull = true
		case pg.ConstrType_CONSTR_PRIMARY, pg.ConstrType_CONSTR_UNIQUE:
			if c.NullsNotDistinct {
				return col, nil, errNullsNotDistinct(c.Location)
			}
			keys = append(keys, pendingKey{name: c.Conname, columns: []string{cd.Colname}, primary: c.Contype == pg.ConstrType_CONSTR_PRIMARY})
		case pg.ConstrType_CONSTR_GENERATED:
			text, err := deparseExpr(c.RawExpr)
			if err != nil {
				return col, nil, err
			}
			col.Generated = text
		case pg.ConstrType_CONSTR_DEFAULT:
			text, err := deparseExpr(c.RawExpr)
			if err != nil {
				return col, nil, err
			}
			// check the default binds and fits the column now
			b := s.binder(env)
			e, err := b.BindStandalone(c.RawExpr, "DEFAULT expressions")
			if err != nil {
				return col, nil, err
			}
			if _, err := b.Assign(e, t, cd.Colname); err != nil {
				return col, nil, err
			}
			col.Default = text
		}
	}
	return col, keys, nil
}

func (s *Session) createTableAs(ctx context.Context, env *exec.Env, st *pg.CreateTableAsStmt) (*Result, error) {
	matView := st.Objtype == pg.ObjectType_OBJECT_MATVIEW
	if !matView && st.Objtype != pg.ObjectType_OBJECT_TABLE {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE %s AS is not supported", st.Objtype)
	}
	sel, ok := st.Query.Node.(*pg.Node_SelectStmt)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE TABLE AS needs a query")
	}
	into := st.Into.Rel
	cache, err := createCacheOption(st.Into.Options, into) // (cachestmt.go)
	if err != nil {
		return nil, err
	}
	schema, err := s.targetSchema(into.Schemaname)
	if err != nil {
		return nil, err
	}
	if into.Relpersistence == "t" {
		schema = s.tempSchema()
	}
	var p logical.Plan
	var query string // a materialized view's, to REFRESH it by (viewbind.go)
	if matView {
		q, err := s.planBound(env, sel.SelectStmt)
		if err != nil {
			return nil, err
		}
		if q.readsTemp {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "materialized views must not use temporary tables or views")
		}
		p, query = q.plan, q.text
	} else if p, err = s.plan(env, sel.SelectStmt); err != nil {
		return nil, err
	}
	colNames := namesOf(st.Into.ColNames)
	if len(colNames) > len(p.Columns()) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "too many column names were specified")
	}
	var cols []catalog.Column
	for i, c := range p.Columns() {
		name := c.Name
		if i < len(colNames) {
			name = colNames[i]
		}
		t := c.T
		if t.Kind == types.Unknown {
			t = types.TextT
		}
		cols = append(cols, catalog.Column{Name: name, Type: t})
	}
	// the table is made before the query runs (its plan named the tables
	// it reads already), so that a large result is staged to disk as it
	// comes (bulkload.go); a query that fails drops it again
	t, err := s.createTableIn(schema, into.Relname, cols, st.IfNotExists)
	if err != nil {
		return nil, err
	}
	if t == nil {
		tag := "CREATE TABLE AS"
		if matView {
			tag = "CREATE MATERIALIZED VIEW"
		}
		return &Result{Tag: tag, Notices: []string{"relation \"" + into.Relname + "\" already exists, skipping"}}, nil
	}
	s.own(t.OID, catalog.KindTable)
	if matView {
		t.Lock()
		t.MatView, t.Unpopulated = query, st.Into.SkipData
		t.Unlock()
	}
	s.cacheCreated(t, cache)
	if st.Into.SkipData {
		if matView {
			return &Result{Tag: "CREATE MATERIALIZED VIEW"}, nil
		}
		return &Result{Tag: "CREATE TABLE AS"}, nil
	}
	n, err := s.insertQueryRows(ctx, env, p, t)
	if err != nil {
		_ = s.db.cat.DropTable(schema, into.Relname)
		return nil, err
	}
	return &Result{Tag: "SELECT " + itoa(n)}, nil
}

func (s *Session) drop(st *pg.DropStmt) (*Result, error) {
	if st.RemoveType == pg.ObjectType_OBJECT_FUNCTION || st.RemoveType == pg.ObjectType_OBJECT_AGGREGATE {
		return s.dropFunction(st)
	}
	if st.RemoveType == pg.ObjectType_OBJECT_TYPE || st.RemoveType == pg.ObjectType_OBJECT_DOMAIN {
		return s.dropTypes(st)
	}
	if st.RemoveType == pg.ObjectType_OBJECT_EXTENSION {
		return s.dropExtensions(st)
	}
	cascade := st.Behavior == pg.DropBehavior_DROP_CASCADE
	var tag string
	var notices []string
	if kind, ok := dropKinds[st.RemoveType]; ok {
		// every relation is checked before any is dropped: a DROP that
		// fails drops nothing, and those it lists may depend on each other
		listed, err := s.checkDropList(st, kind, cascade)
		if err != nil {
			return nil, err
		}
		s.dropListed = listed
		defer func() { s.dropListed = nil }()
	}
	for _, obj := range st.Objects {
		schema, name := dropObjectName(obj)
		if s.dropListed != nil {
			if _, _, ok := s.db.cat.Lookup(schema, name, s.searchPath); !ok && s.dropListed.names[schema+"."+name] {
				continue // dropped already, before a relation of the list that depends on it
			}
		}
		var err error
		switch st.RemoveType {
		case pg.ObjectType_OBJECT_TABLE:
			tag = "DROP TABLE"
			if err = s.dropReferences(schema, name, cascade); err == nil {
				err = s.dropRelation(schema, name, dropTable, st.MissingOk, cascade, &notices)
			}
		case pg.ObjectType_OBJECT_MATVIEW:
			tag = "DROP MATERIALIZED VIEW"
			err = s.dropRelation(schema, name, dropMatView, st.MissingOk, cascade, &notices)
		case pg.ObjectType_OBJECT_VIEW:
			tag = "DROP VIEW"
			err = s.dropRelation(schema, name, dropView, st.MissingOk, cascade, &notices)
		case pg.ObjectType_OBJECT_SCHEMA:
			tag = "DROP SCHEMA"
			if sc, ok := s.db.cat.Schema(name); ok {
				if err := s.requireOwner(sc.OID, catalog.KindSchema, sc.Name); err != nil {
					return nil, err
				}
			}
			if cascade {
				if err := s.dropSchemaDependents(name, &notices); err != nil {
					return nil, err
				}
			}
			err = s.db.cat.DropSchema(name, st.MissingOk, cascade)
		case pg.ObjectType_OBJECT_SEQUENCE:
			tag = "DROP SEQUENCE"
			err = s.dropSequence(schema, name, st.MissingOk)
		case pg.ObjectType_OBJECT_INDEX:
			tag = "DROP INDEX"
			err = s.dropIndex(schema, name, st.MissingOk)
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DROP of this object type is not supported yet")
		}
		if err != nil {
			return nil, err
		}
	}
	return &Result{Tag: tag, Notices: notices}, nil
}

// dropKind is the kind of relation a DROP names, as its messages do.
type dropKind string

const (
	dropTable   dropKind = "table"
	dropView    dropKind = "view"
	dropMatView dropKind = "materialized view"
)

// kindOf is the kind of the relation Lookup found (t or v).
func kindOf(t *catalog.Table, v *catalog.View) dropKind {
	switch {
	case v != nil:
		return dropView
	case t.MatView != "":
		return dropMatView
	}
	return dropTable
}

// dropHint is PostgreSQL's hint for a DROP of the wrong kind of relation.
var dropHint = map[dropKind]string{
	dropTable:   "Use DROP TABLE to remove a table.",
	dropView:    "Use DROP VIEW to remove a view.",
	dropMatView: "Use DROP MATERIALIZED VIEW to remove a materialized view.",
}

// dropRelation drops a relation of the kind the DROP names; IF EXISTS
// of one that does not exist adds its notice to notices.
func (s *Session) dropRelation(schema, name string, kind dropKind, missingOK, cascade bool, notices *[]string) error {
	t, v, ok := s.db.cat.Lookup(schema, name, s.searchPath)
	if !ok {
		if missingOK {
			*notices = append(*notices, fmt.Sprintf("%s \"%s\" does not exist, skipping", kind, name))
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedTable, "%s \"%s\" does not exist", kind, name)
	}
	if found := kindOf(t, v); found != kind {
		return sqlerr.New(sqlerr.WrongObjectType, "\"%s\" is not a %s", name, kind).WithHint(dropHint[found])
	}
	view := kind == dropView
	oid := func() uint32 {
		if view {
			return v.OID
		}
		return t.OID
	}()
	if view {
		if err := s.requireOwner(v.OID, catalog.KindView, v.Name); err != nil {
			return err
		}
	} else if err := s.requireOwner(t.OID, catalog.KindTable, t.Name); err != nil {
		return err
	}
	if err := s.dropDependentViews(oid, kind, name, cascade, notices); err != nil {
		return err
	}
	if view {
		if err := s.notHeldView(v); err != nil {
			return err
		}
		s.touchView(v)
		if err := s.db.cat.DropView(v.Schema, v.Name); err != nil {
			return err
		}
		s.noteDropped(nil, nil, v)
		return nil
	}
	if err := s.notHeld(t, true); err != nil {
		return err
	}
	s.touchTable(t, true)
	snap := t.Snapshot()
	if err := s.db.cat.DropTable(t.Schema, t.Name); err != nil {
		snap.Release()
		return err
	}
	if s.tx == nil {
		s.dropOwnedSequences(t) // (in a block they stay for ROLLBACK to find)
	}
	s.noteDropped(t, snap, nil)
	return nil
}

func (s *Session) createView(env *exec.Env, st *pg.ViewStmt) (*Result, error) {
	schema, err := s.targetSchema(st.View.Schemaname)
	if err != nil {
		return nil, err
	}
	sel, ok := st.Query.Node.(*pg.Node_SelectStmt)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "view query must be a SELECT")
	}
	q, err := s.planBound(env, sel.SelectStmt)
	if err != nil {
		return nil, err
	}
	if err := viewColumnNames(q.plan, namesOf(st.Aliases)); err != nil {
		return nil, err
	}
	text := q.text
	var notices []string
	if temp, err := s.schemaTemp(schema); err != nil {
		return nil, err
	} else if !temp && (q.readsTemp || st.View.Relpersistence == "t") {
		// a view reading a temporary relation is temporary, as in PostgreSQL
		if q.readsTemp && st.View.Relpersistence != "t" {
			notices = append(notices, fmt.Sprintf("view \"%s\" will be a temporary view", st.View.Relname))
		}
		if st.View.Schemaname != "" {
			return nil, sqlerr.New(sqlerr.InvalidTableDefinition, "cannot create temporary relation in non-temporary schema")
		}
		schema = s.tempSchema()
	}
	_, old, _ := s.db.cat.Lookup(schema, st.View.Relname, nil)
	if old != nil && st.Replace {
		if err := s.requireOwner(old.OID, catalog.KindView, old.Name); err != nil {
			return nil, err
		}
		if err := s.replacesColumns(old, q.plan, namesOf(st.Aliases)); err != nil { // (viewbind.go)
			return nil, err
		}
		if err := s.notHeldView(old); err != nil {
			return nil, err
		}
		s.touchView(old)
	}
	if err := s.creating(func() (uint32, error) {
		if err := s.db.cat.CreateView(schema, st.View.Relname, text, namesOf(st.Aliases), st.Replace); err != nil || old != nil {
			return 0, err // (a replaced view is not new)
		}
		_, v, _ := s.db.cat.Lookup(schema, st.View.Relname, nil)
		return v.OID, nil
	}); err != nil {
		return nil, err
	}
	if _, v, ok := s.db.cat.Lookup(schema, st.View.Relname, nil); ok && v != nil && old == nil {
		s.own(v.OID, catalog.KindView)
	}
	if old != nil && s.tx != nil {
		// ROLLBACK puts the replaced view back
		s.tx.undoLater = append(s.tx.undoLater, func() {
			if _, v, _ := s.db.cat.Lookup(old.Schema, old.Name, nil); v != nil && v.OID == old.OID {
				_ = s.db.cat.DropView(old.Schema, old.Name)
				_ = s.db.cat.AttachView(old)
			}
		})
	}
	return &Result{Tag: "CREATE VIEW", Notices: notices}, nil
}

func (s *Session) createIndex(st *pg.IndexStmt) (*Result, error) {
	t, _, ok := s.db.cat.Lookup(st.Relation.Schemaname, st.Relation.Relname, s.searchPath)
	if !ok || t == nil {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", st.Relation.Relname).At(st.Relation.Location)
	}
	if err := s.requireOwner(t.OID, catalog.KindTable, t.Name); err != nil {
		return nil, err
	}
	var cols []string
	for _, p := range st.IndexParams {
		ie, ok := p.Node.(*pg.Node_IndexElem)
		if ok && ie.IndexElem.Name != "" && t.ColumnIndex(ie.IndexElem.Name) < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" does not exist", ie.IndexElem.Name)
		}
		if ok {
			cols = append(cols, ie.IndexElem.Name)
		}
	}
	if err := s.notHeld(t, true); err != nil {
		return nil, err
	}
	s.touchTable(t, false)
	if st.Unique || st.Primary {
		// a unique index is enforced as a key (and, as keys are, used for
		// lookups: catalog/index.go)
		if slices.Contains(cols, "") || st.WhereClause != nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "unique indexes on expressions or with WHERE are not supported yet")
		}
		if st.NullsNotDistinct {
			return nil, errNullsNotDistinct(-1)
		}
		name := st.Idxname
		if name == "" {
			name = s.freeRelationName(t, t.Name+"_"+strings.Join(cols, "_")+"_idx")
		}
		if err := s.addKeysChecked(t, []pendingKey{{name: name, columns: cols, primary: st.Primary, indexOnly: true}}); err != nil {
			return nil, err
		}
		return &Result{Tag: "CREATE INDEX"}, nil
	}
	if slices.Contains(cols, "") {
		// an expression index: accepted, nothing to keep
		return &Result{Tag: "CREATE INDEX", Notices: []string{"indexes are accepted but not used yet: scans read every partition"}}, nil
	}
	return s.recordIndex(t, st, cols)
}

// freeRelationName is the name PostgreSQL gives an unnamed key or index of
// t: base, or base followed by the first number that no relation, key or
// index of the schema has (ALTER TABLE … ADD UNIQUE (a) on a column that
// already has t_a_key makes t_a_key1).
func (s *Session) freeRelationName(t *catalog.Table, base string) string {
	for n := 0; ; n++ {
		name := base
		if n > 0 {
			name = base + strconv.Itoa(n)
		}
		if !s.relationNameUsed(t, name) {
			return name
		}
	}
}

// relationNameUsed reports whether a relation, sequence, key or index of
// t's schema (t included, whose keys may not be installed yet) is named name.
func (s *Session) relationNameUsed(t *catalog.Table, name string) bool {
	if _, _, ok := s.db.cat.Lookup(t.Schema, name, nil); ok {
		return true
	}
	if _, ok := s.db.cat.LookupSequence(t.Schema, name, nil); ok {
		return true
	}
	tables := []*catalog.Table{t}
	if sc, ok := s.db.cat.Schema(t.Schema); ok {
		for _, other := range sc.Tables {
			tables = append(tables, other)
		}
	}
	for _, other := range tables {
		for _, k := range append(append([]catalog.Key{}, other.Keys...), other.Indexes...) {
			if k.Name == name {
				return true
			}
		}
	}
	return false
}

// recordIndex keeps a non-unique index in the catalog; queries build and
// use it (catalog/index.go).
func (s *Session) recordIndex(t *catalog.Table, st *pg.IndexStmt, cols []string) (*Result, error) {
	name := st.Idxname
	if name == "" {
		name = s.freeRelationName(t, t.Name+"_"+strings.Join(cols, "_")+"_idx")
	}
	for _, k := range append(append([]catalog.Key{}, t.Keys...), t.Indexes...) {
		if k.Name == name {
			if st.IfNotExists {
				return &Result{Tag: "CREATE INDEX", Notices: []string{"relation \"" + name + "\" already exists, skipping"}}, nil
			}
			return nil, sqlerr.New(sqlerr.DuplicateTable, "relation \"%s\" already exists", name)
		}
	}
	k := catalog.Key{Name: name, NonUnique: true, OID: s.db.cat.AllocOID()}
	for _, c := range cols {
		k.Columns = append(k.Columns, t.ColumnIndex(c))
	}
	t.Lock()
	t.Indexes = append(t.Indexes, k)
	t.Unlock()
	if s.tx != nil {
		s.tx.undoLater = append(s.tx.undoLater, func() { _ = dropKey(t, name, true) })
	}
	return &Result{Tag: "CREATE INDEX"}, nil
}

func (s *Session) truncate(st *pg.TruncateStmt) (*Result, error) {
	// every table first: a table referenced by a foreign key may only be
	// emptied together with the tables referencing it (CASCADE adds them)
	var tables []*catalog.Table
	listed := map[*catalog.Table]bool{}
	for _, r := range st.Relations {
		rv := r.Node.(*pg.Node_RangeVar).RangeVar
		t, _, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
		if !ok || t == nil {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
		}
		if err := s.requireOn(t.OID, catalog.KindTable, t.Name, catalog.PrivTruncate); err != nil {
			return nil, err
		}
		if t.MatView != "" {
			return nil, sqlerr.New(sqlerr.WrongObjectType, "\"%s\" is not a table", t.Name)
		}
		if !listed[t] {
			listed[t] = true
			tables = append(tables, t)
		}
	}
	var notices []string
	for i := 0; i < len(tables); i++ {
		for _, ref := range s.referencing(tables[i]) {
			if listed[ref.table] {
				continue
			}
			if st.Behavior != pg.DropBehavior_DROP_CASCADE {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cannot truncate a table referenced in a foreign key constraint").
					WithDetail("Table \"" + ref.table.Name + "\" references \"" + tables[i].Name + "\".").
					WithHint("Truncate table \"" + ref.table.Name + "\" at the same time, or use TRUNCATE ... CASCADE.")
			}
			if err := s.requireOn(ref.table.OID, catalog.KindTable, ref.table.Name, catalog.PrivTruncate); err != nil {
				return nil, err
			}
			listed[ref.table] = true
			tables = append(tables, ref.table)
			notices = append(notices, "truncate cascades to table \""+ref.table.Name+"\"")
		}
	}
	for _, t := range tables {
		t.Lock()
		err := s.notHeld(t, false)
		t.Unlock()
		if err != nil {
			return nil, err
		}
	}
	for _, t := range tables {
		s.noteWrite(t)
		t.Lock()
		s.install(t, make([][]arrowRecord, s.db.cat.Partitions()), nil, nil)
		t.Unlock()
		if st.RestartSeqs {
			for _, q := range s.db.cat.Sequences() {
				if q.Schema == t.Schema && strings.HasPrefix(q.OwnedBy, t.Name+".") {
					if _, err := q.Set(q.Start, false); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return &Result{Tag: "TRUNCATE TABLE", Notices: notices}, nil
}

// dropIndex drops a unique index (the key it enforces); other indexes are
// not kept, so dropping one has nothing to do.
func (s *Session) dropIndex(schema, name string, missingOK bool) error {
	path := s.searchPath
	if schema != "" {
		path = []string{schema}
	}
	for _, sc := range s.db.cat.Schemas() {
		if !slices.Contains(path, sc.Name) {
			continue
		}
		for _, t := range sc.Tables {
			for _, k := range t.Indexes {
				if k.Name == name {
					if err := s.notHeld(t, true); err != nil {
						return err
					}
					s.touchTable(t, false)
					if s.tx != nil {
						dropped := k
						s.tx.undoLater = append(s.tx.undoLater, func() {
							t.Lock()
							t.Indexes = append(t.Indexes, dropped)
							t.Unlock()
						})
					}
					return dropKey(t, name, missingOK)
				}
			}
			for _, k := range t.Keys {
				if k.Name != name {
					continue
				}
				// a PRIMARY KEY or UNIQUE constraint's index goes only with the
				// constraint (ALTER TABLE DROP CONSTRAINT); CREATE UNIQUE INDEX
				// made the keys that are IndexOnly
				if k.Primary || !k.IndexOnly {
					return sqlerr.New(sqlerr.DependentObjects, "cannot drop index %s because constraint %s on table %s requires it", name, name, t.Name).
						WithHint("You can drop constraint " + name + " on table " + t.Name + " instead.")
				}
				if s.tx != nil {
					return sqlerr.New(sqlerr.ActiveTransaction, "DROP INDEX of a unique index cannot run inside a transaction block yet")
				}
				if err := s.notHeld(t, true); err != nil {
					return err
				}
				if by := s.keyReferencedBy(t, k.Name); by != "" {
					return sqlerr.New(sqlerr.DependentObjects, "cannot drop index %s because other objects depend on it", name).WithDetail("constraint " + by + " depends on index " + name)
				}
				return dropKey(t, name, missingOK)
			}
		}
	}
	return nil
}

// dropReferences refuses to drop a table other tables reference, or with
// CASCADE drops their foreign keys first (as PostgreSQL does).
func (s *Session) dropReferences(schema, name string, cascade bool) error {
	t, _, ok := s.db.cat.Lookup(schema, name, s.searchPath)
	if !ok || t == nil {
		return nil
	}
	for _, ref := range s.referencing(t) {
		if ref.table == t {
			continue
		}
		if !cascade && !s.dropListed.has(ref.table.OID) {
			return sqlerr.New(sqlerr.DependentObjects, "cannot drop table %s because other objects depend on it", t.Name).
				WithDetail("constraint " + ref.fk.Name + " on table " + ref.table.Name + " depends on table " + t.Name).
				WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
		}
		// ROLLBACK puts the child's definition, with its constraint, back
		if err := s.undoAlter(ref.table, true); err != nil {
			return err
		}
		_ = dropKey(ref.table, ref.fk.Name, true)
	}
	return nil
}

// pendingSeq is a serial or identity column waiting for its sequence.
type pendingSeq struct {
	column int
	opts   []*pg.Node
}

// serialType maps serial, bigserial and smallserial to the integer type
// name the column stores.
func serialType(tn *pg.TypeName) (string, bool) {
	if tn == nil || len(tn.ArrayBounds) > 0 {
		return "", false
	}
	ns := namesOf(tn.Names)
	t, ok := serialTypes[ns[len(ns)-1]]
	if !ok {
		return "", false
	}
	return map[types.Kind]string{types.Int2: "int2", types.Int4: "int4", types.Int8: "int8"}[t.Kind], true
}

// discardTable drops a table CREATE TABLE could not finish.
func (s *Session) discardTable(t *catalog.Table) {
	s.dropOwnedSequences(t)
	_ = s.db.cat.DropTable(t.Schema, t.Name)
}

// tempSchema returns the session's schema for temporary tables, creating
// it (first on the search path) on first use.
func (s *Session) tempSchema() string {
	if s.temp == "" {
		s.temp = "pg_temp_" + itoa(s.db.tempSchemas.Add(1))
		s.db.cat.CreateTempSchema(s.temp)
		s.searchPath = s.withTemp(s.searchPath)
	}
	return s.temp
}

// withTemp puts the session's temporary schema, if it has one, first on
// a search path (as PostgreSQL searches pg_temp first).
func (s *Session) withTemp(path []string) []string {
	if s.temp == "" || (len(path) > 0 && path[0] == s.temp) {
		return path
	}
	return append([]string{s.temp}, path...)
}

// dropTempSchema drops the session's temporary tables.
func (s *Session) dropTempSchema() {
	if s.temp != "" {
		_ = s.db.cat.DropSchema(s.temp, true, true)
		s.temp = ""
	}
}

// comment runs COMMENT ON TABLE/COLUMN (IS NULL removes the comment).
func (s *Session) comment(st *pg.CommentStmt) (*Result, error) {
	var parts []string
	if l := st.Object.GetList(); l != nil {
		parts = namesOf(l.Items)
	}
	switch st.Objtype {
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_COLUMN:
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "COMMENT ON this kind of object is not supported yet (tables and columns are)")
	}
	column := ""
	if st.Objtype == pg.ObjectType_OBJECT_COLUMN {
		if len(parts) < 2 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "column name must be qualified")
		}
		column, parts = parts[len(parts)-1], parts[:len(parts)-1]
	}
	schema, name := "", parts[len(parts)-1]
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	t, _, ok := s.db.cat.Lookup(schema, name, s.searchPath)
	if !ok || t == nil {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", name)
	}
	if err := s.requireOwner(t.OID, catalog.KindTable, t.Name); err != nil {
		return nil, err
	}
	i := -1
	if column != "" {
		if i = t.ColumnIndex(column); i < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", column, t.Name)
		}
	}
	if err := s.notHeld(t, true); err != nil {
		return nil, err
	}
	s.touchTable(t, false)
	old := setComment(t, i, st.Comment)
	if s.tx != nil {
		s.tx.undoLater = append(s.tx.undoLater, func() { setComment(t, i, old) })
	}
	return &Result{Tag: "COMMENT"}, nil
}

// setComment sets the comment of table t (col < 0) or one of its columns
// and returns the one it replaced.
func setComment(t *catalog.Table, col int, text string) string {
	t.Lock()
	defer t.Unlock()
	if col < 0 {
		old := t.Comment
		t.Comment = text
		return old
	}
	old := t.Columns[col].Comment
	t.Columns[col].Comment = text
	return old
}

// errNullsNotDistinct refuses UNIQUE NULLS NOT DISTINCT: Weft's keys let
// any number of NULLs in, so taking the clause would let in the duplicate
// NULLs it exists to keep out.
func errNullsNotDistinct(loc int32) error {
	err := sqlerr.New(sqlerr.FeatureNotSupported, "UNIQUE NULLS NOT DISTINCT is not supported yet")
	if loc >= 0 {
		return err.At(loc)
	}
	return err
}
