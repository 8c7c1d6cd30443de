package weft

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A transaction block lets ROLLBACK (and ROLLBACK TO SAVEPOINT) undo the
// block's writes. Every statement is still stored when it completes (there
// is no multi-statement durability yet), and other sessions see writes as
// they happen. Undoing restores each table's data as it was before the
// block (or the savepoint) touched it; if another session wrote one of
// those tables meanwhile, the undo is refused (40001) rather than losing
// that session's rows. Tables and views created in the block are dropped
// by the undo; other DDL inside a block is refused: it could not be
// undone.
type txn struct {
	before     map[*catalog.Table]*catalog.Snapshot // at first write in the block
	after      map[*catalog.Table]*catalog.Snapshot // what our last write installed
	savepoints []savepoint
	created    []createdRel // in order of creation
}

// createdRel is a table or view the block created.
type createdRel struct {
	schema, name string
	view         bool
}

type savepoint struct {
	name    string
	tables  map[*catalog.Table]*catalog.Snapshot // state when it was set
	created int                                  // len(created) then
}

// InTransaction reports whether a transaction block is open.
func (s *Session) InTransaction() bool { return s.tx != nil }

// beforeWrite remembers t's data the first time the block writes it.
func (s *Session) beforeWrite(t *catalog.Table) {
	if s.tx == nil {
		return
	}
	if _, ok := s.tx.before[t]; !ok {
		s.tx.before[t] = t.Snapshot()
	}
}

// afterWrite records what the block's write installed (the caller holds
// the table's lock).
func (s *Session) afterWrite(t *catalog.Table) {
	if s.tx == nil {
		return
	}
	if old, ok := s.tx.after[t]; ok {
		old.Release()
	}
	cur := t.Current()
	cur.Retain()
	s.tx.after[t] = cur
}

func (s *Session) transaction(st *pg.TransactionStmt) (*Result, error) {
	switch st.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		if s.tx != nil {
			return &Result{Tag: "BEGIN", Notices: []string{"there is already a transaction in progress"}}, nil
		}
		s.tx = &txn{before: map[*catalog.Table]*catalog.Snapshot{}, after: map[*catalog.Table]*catalog.Snapshot{}}
		return &Result{Tag: "BEGIN"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		if s.tx == nil {
			return &Result{Tag: "COMMIT", Notices: []string{"there is no transaction in progress"}}, nil
		}
		s.endTxn()
		return &Result{Tag: "COMMIT"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if s.tx == nil {
			return &Result{Tag: "ROLLBACK", Notices: []string{"there is no transaction in progress"}}, nil
		}
		err := s.undo(func(t *catalog.Table) *catalog.Snapshot { return s.tx.before[t] })
		if err == nil {
			s.dropCreated(0)
		}
		s.endTxn()
		if err != nil {
			return nil, err
		}
		return &Result{Tag: "ROLLBACK"}, s.db.persist()
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		if s.tx == nil {
			return nil, sqlerr.New(sqlerr.NoActiveTransaction, "SAVEPOINT can only be used in transaction blocks")
		}
		sp := savepoint{name: strings.ToLower(st.SavepointName), tables: map[*catalog.Table]*catalog.Snapshot{}, created: len(s.tx.created)}
		for t := range s.tx.before {
			sp.tables[t] = t.Snapshot()
		}
		s.tx.savepoints = append(s.tx.savepoints, sp)
		return &Result{Tag: "SAVEPOINT"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		if s.tx == nil {
			return nil, sqlerr.New(sqlerr.NoActiveTransaction, "%s can only be used in transaction blocks", map[bool]string{true: "RELEASE SAVEPOINT", false: "ROLLBACK TO SAVEPOINT"}[st.Kind == pg.TransactionStmtKind_TRANS_STMT_RELEASE])
		}
		name := strings.ToLower(st.SavepointName)
		i := len(s.tx.savepoints) - 1
		for i >= 0 && s.tx.savepoints[i].name != name {
			i--
		}
		if i < 0 {
			return nil, sqlerr.New(sqlerr.InvalidSavepoint, "savepoint \"%s\" does not exist", name)
		}
		if st.Kind == pg.TransactionStmtKind_TRANS_STMT_RELEASE {
			for _, sp := range s.tx.savepoints[i:] {
				releaseSnapshots(sp.tables)
			}
			s.tx.savepoints = s.tx.savepoints[:i]
			return &Result{Tag: "RELEASE"}, nil
		}
		sp := s.tx.savepoints[i]
		err := s.undo(func(t *catalog.Table) *catalog.Snapshot {
			if snap, ok := sp.tables[t]; ok {
				return snap
			}
			return s.tx.before[t] // first written after the savepoint
		})
		for _, later := range s.tx.savepoints[i+1:] {
			releaseSnapshots(later.tables)
		}
		s.tx.savepoints = s.tx.savepoints[:i+1] // the savepoint itself stays
		if err != nil {
			return nil, err
		}
		s.dropCreated(sp.created)
		return &Result{Tag: "ROLLBACK"}, s.db.persist()
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this transaction command is not supported yet")
}

// undo puts every table the block wrote back to target(t).
func (s *Session) undo(target func(*catalog.Table) *catalog.Snapshot) error {
	// refuse before changing anything if another session wrote meanwhile
	for t, ours := range s.tx.after {
		if t.Current() != ours {
			return sqlerr.New(sqlerr.SerializationFailure, "could not roll back: table \"%s\" was changed by another session during this transaction", t.Name)
		}
	}
	for t := range s.tx.before {
		snap := target(t)
		t.Lock()
		t.Restore(snap)
		t.Unlock()
		if old, ok := s.tx.after[t]; ok {
			old.Release()
		}
		snap.Retain()
		s.tx.after[t] = snap
	}
	return nil
}

func (s *Session) endTxn() {
	releaseSnapshots(s.tx.before)
	releaseSnapshots(s.tx.after)
	for _, sp := range s.tx.savepoints {
		releaseSnapshots(sp.tables)
	}
	s.tx = nil
}

func releaseSnapshots(m map[*catalog.Table]*catalog.Snapshot) {
	for _, snap := range m {
		snap.Release()
	}
}

// ddlInTransaction refuses statements a ROLLBACK could not undo.
func (s *Session) ddlInTransaction(raw *pg.RawStmt) error {
	if s.tx == nil {
		return nil
	}
	switch raw.Stmt.Node.(type) {
	case *pg.Node_DropStmt, *pg.Node_AlterTableStmt, *pg.Node_RenameStmt,
		*pg.Node_CreateSchemaStmt, *pg.Node_CreateFunctionStmt, *pg.Node_DefineStmt, *pg.Node_CallStmt,
		*pg.Node_CreateRoleStmt, *pg.Node_AlterRoleStmt, *pg.Node_DropRoleStmt, *pg.Node_VacuumStmt, *pg.Node_TruncateStmt:
		return sqlerr.New(sqlerr.ActiveTransaction, "this statement cannot run inside a transaction block yet (it could not be rolled back)")
	}
	return nil
}

// createdTarget names the relation a CREATE TABLE [AS] or CREATE VIEW
// makes.
func createdTarget(raw *pg.RawStmt) (*pg.RangeVar, bool) {
	switch n := raw.Stmt.Node.(type) {
	case *pg.Node_CreateStmt:
		return n.CreateStmt.Relation, false
	case *pg.Node_CreateTableAsStmt:
		if n.CreateTableAsStmt.Into != nil {
			return n.CreateTableAsStmt.Into.Rel, false
		}
	case *pg.Node_ViewStmt:
		return n.ViewStmt.View, true
	}
	return nil, false
}

// trackCreate runs a statement inside a block and, when it creates a table
// or view that did not exist, remembers it so that ROLLBACK drops it.
func (s *Session) trackCreate(raw *pg.RawStmt, run func() (*Result, error)) (*Result, error) {
	rv, _ := createdTarget(raw)
	if s.tx == nil || rv == nil {
		return run()
	}
	schema := rv.Schemaname
	_, _, existed := s.db.cat.Lookup(schema, rv.Relname, s.searchPath)
	res, err := run()
	if err != nil || existed {
		return res, err
	}
	if t, v, ok := s.db.cat.Lookup(schema, rv.Relname, s.searchPath); ok {
		if t != nil {
			s.tx.created = append(s.tx.created, createdRel{schema: t.Schema, name: t.Name})
		} else {
			s.tx.created = append(s.tx.created, createdRel{schema: v.Schema, name: v.Name, view: true})
		}
	}
	return res, err
}

// dropCreated drops, newest first, what the block created after the first
// keep relations.
func (s *Session) dropCreated(keep int) {
	for i := len(s.tx.created) - 1; i >= keep; i-- {
		c := s.tx.created[i]
		if c.view {
			s.db.cat.DropView(c.schema, c.name)
			continue
		}
		if t, _, ok := s.db.cat.Lookup(c.schema, c.name, nil); ok && t != nil {
			// the block no longer has anything to undo in it
			for _, m := range append([]map[*catalog.Table]*catalog.Snapshot{s.tx.before, s.tx.after}, savepointMaps(s.tx.savepoints)...) {
				if snap, ok := m[t]; ok {
					snap.Release()
					delete(m, t)
				}
			}
		}
		s.db.cat.DropTable(c.schema, c.name)
	}
	s.tx.created = s.tx.created[:keep]
}

func savepointMaps(sps []savepoint) []map[*catalog.Table]*catalog.Snapshot {
	out := make([]map[*catalog.Table]*catalog.Snapshot, len(sps))
	for i, sp := range sps {
		out[i] = sp.tables
	}
	return out
}
