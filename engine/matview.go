package engine

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A materialized view is a table that remembers the query that fills it
// (catalog.Table.MatView): CREATE MATERIALIZED VIEW is CREATE TABLE AS
// keeping the query's text, REFRESH MATERIALIZED VIEW runs it again and
// replaces the rows, and nothing else writes them (INSERT, UPDATE,
// DELETE, TRUNCATE and COPY FROM are 42809, as in PostgreSQL). Being a
// table, it is stored, checkpointed, indexed (CREATE INDEX) and read by
// workers as one; WITH (weft.cache = 'memory') keeps it in memory where
// it is scanned (cached query results, Spark's persist of a query).
// CONCURRENTLY needs a unique index, as PostgreSQL's, and otherwise
// refreshes as the plain form does: readers never wait for a writer here.

// refreshMatView runs REFRESH MATERIALIZED VIEW [CONCURRENTLY] name
// [WITH [NO] DATA].
func (s *Session) refreshMatView(ctx context.Context, env *exec.Env, st *pg.RefreshMatViewStmt) (*Result, error) {
	rv := st.Relation
	t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
	}
	if v != nil || t.MatView == "" {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "\"%s\" is not a materialized view", rv.Relname)
	}
	if err := s.requireOwner(t.OID, catalog.KindTable, t.Name); err != nil {
		return nil, err
	}
	if err := refreshConcurrentlyAllowed(t, st); err != nil {
		return nil, err
	}
	var recs []arrow.Record
	if !st.SkipData {
		var err error
		if recs, err = s.runMatViewQuery(ctx, env, t); err != nil {
			return nil, err
		}
		defer exec.ReleaseRecords(recs)
	}
	t.Lock()
	err := s.notHeld(t, false)
	t.Unlock()
	if err != nil {
		return nil, err
	}
	s.noteWrite(t)
	t.Lock()
	s.install(t, make([][]arrow.Record, s.db.cat.Partitions()), nil, nil)
	t.Unlock()
	if _, err := s.appendRows(t, recs); err != nil {
		return nil, err
	}
	s.setPopulated(t, !st.SkipData)
	return &Result{Tag: "REFRESH MATERIALIZED VIEW"}, nil
}

// refreshConcurrentlyAllowed makes PostgreSQL's checks of CONCURRENTLY,
// in its order.
func refreshConcurrentlyAllowed(t *catalog.Table, st *pg.RefreshMatViewStmt) error {
	if !st.Concurrent {
		return nil
	}
	t.Lock()
	unpopulated, unique := t.Unpopulated, len(t.Keys) > 0
	t.Unlock()
	switch {
	case unpopulated:
		return sqlerr.New(sqlerr.FeatureNotSupported, "CONCURRENTLY cannot be used when the materialized view is not populated")
	case st.SkipData:
		return sqlerr.New(sqlerr.SyntaxError, "CONCURRENTLY and WITH NO DATA options cannot be used together")
	case !unique:
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "cannot refresh materialized view \"%s.%s\" concurrently", t.Schema, t.Name).
			WithHint("Create a unique index with no WHERE clause on one or more columns of the materialized view.")
	}
	return nil
}

// runMatViewQuery runs t's defining query; its columns must still be the
// view's (a table it reads may have changed since).
func (s *Session) runMatViewQuery(ctx context.Context, env *exec.Env, t *catalog.Table) ([]arrow.Record, error) {
	stmts, err := parser.Parse(t.MatView)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(env, stmts[0].Stmt.GetSelectStmt())
	if err != nil {
		return nil, err
	}
	cols := p.Columns()
	if len(cols) != len(t.Columns) {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "the query of materialized view \"%s\" now returns %d columns, not %d", t.Name, len(cols), len(t.Columns))
	}
	for i, c := range cols {
		if c.T.Kind != t.Columns[i].Type.Kind {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "the query of materialized view \"%s\" now returns %s for column \"%s\" of type %s",
				t.Name, c.T, t.Columns[i].Name, t.Columns[i].Type)
		}
	}
	return s.run(ctx, env, p)
}

// setPopulated records whether t has rows a query may read; inside a
// block ROLLBACK puts the old state back and the store keeps it until
// COMMIT.
func (s *Session) setPopulated(t *catalog.Table, populated bool) {
	s.touchTable(t, false)
	t.Lock()
	old := t.Unpopulated
	t.Unpopulated = !populated
	t.Unlock()
	if s.tx != nil && old != t.Unpopulated {
		s.tx.undoLater = append(s.tx.undoLater, func() {
			t.Lock()
			t.Unpopulated = old
			t.Unlock()
		})
	}
}

// refuseMatViewWrite refuses a statement writing a materialized view's
// rows other than REFRESH.
func refuseMatViewWrite(t *catalog.Table, want catalog.Priv) error {
	if t.MatView == "" || want&(catalog.PrivInsert|catalog.PrivUpdate|catalog.PrivDelete) == 0 {
		return nil
	}
	return sqlerr.New(sqlerr.WrongObjectType, "cannot change materialized view \"%s\"", t.Name)
}

// matViewAlterAction names, as PostgreSQL's message does, an ALTER TABLE
// action a materialized view refuses ("" for those it takes: storage
// parameters, owner, renames, …).
func matViewAlterAction(cmd *pg.AlterTableCmd) string {
	switch cmd.Subtype {
	case pg.AlterTableType_AT_AddColumn:
		return "ADD COLUMN"
	case pg.AlterTableType_AT_DropColumn:
		return "DROP COLUMN"
	case pg.AlterTableType_AT_AlterColumnType:
		return "ALTER COLUMN TYPE"
	case pg.AlterTableType_AT_ColumnDefault:
		return "ALTER COLUMN ... SET DEFAULT"
	case pg.AlterTableType_AT_SetNotNull:
		return "ALTER COLUMN ... SET NOT NULL"
	case pg.AlterTableType_AT_DropNotNull:
		return "ALTER COLUMN ... DROP NOT NULL"
	case pg.AlterTableType_AT_AddConstraint:
		return "ADD CONSTRAINT"
	case pg.AlterTableType_AT_DropConstraint:
		return "DROP CONSTRAINT"
	}
	return ""
}

// refuseMatViewAlter refuses an ALTER TABLE action on a materialized
// view that only a table takes.
func refuseMatViewAlter(t *catalog.Table, st *pg.AlterTableStmt) error {
	if t.MatView == "" {
		return nil
	}
	for _, n := range st.Cmds {
		if action := matViewAlterAction(n.GetAlterTableCmd()); action != "" {
			return sqlerr.New(sqlerr.WrongObjectType, "ALTER action %s cannot be performed on relation \"%s\"", action, t.Name).
				WithDetail("This operation is not supported for materialized views.")
		}
	}
	return nil
}

// matViewTag gives ALTER MATERIALIZED VIEW its own command tag (the
// statement runs as ALTER TABLE does): matViewTag(res, err)(objtype).
func matViewTag(res *Result, err error) func(pg.ObjectType) (*Result, error) {
	return func(objtype pg.ObjectType) (*Result, error) {
		if err == nil && res != nil && objtype == pg.ObjectType_OBJECT_MATVIEW && res.Tag == "ALTER TABLE" {
			res.Tag = "ALTER MATERIALIZED VIEW"
		}
		return res, err
	}
}

// unpopulated reports whether the session may not read materialized view
// t yet: its own view of the flag, or, while another session's open
// block changed it (REFRESH … WITH [NO] DATA), the flag as it was before.
func (s *Session) unpopulated(t *catalog.Table) bool {
	var self *blockChanges
	if s.tx != nil {
		self = s.tx.changes
	}
	if before, found := s.db.blocks.unpopulatedBefore(self, t.OID); found {
		return before
	}
	t.Lock()
	defer t.Unlock()
	return t.Unpopulated
}
