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
	dropped    []droppedRel // in order of dropping
	// failed is set when a statement in the block fails; until ROLLBACK
	// (or ROLLBACK TO a savepoint) every other statement is refused.
	failed bool
}

// droppedRel is a table (with its data when dropped) or view the block
// dropped, kept so that ROLLBACK can put it back.
type droppedRel struct {
	table *catalog.Table
	data  *catalog.Snapshot
	view  *catalog.View
}

// createdRel is a table or view the block created.
type createdRel struct {
	schema, name string
	oid          uint32
	view         bool
}

type savepoint struct {
	name    string
	tables  map[*catalog.Table]*catalog.Snapshot // state when it was set
	created int                                  // len(created) then
	dropped int                                  // len(dropped) then
}

// InTransaction reports whether a transaction block is open.
func (s *Session) InTransaction() bool { return s.tx != nil }

// TxStatus is the session's state as ReadyForQuery reports it: 'I' outside
// a transaction block, 'T' inside one, 'E' inside a failed one.
func (s *Session) TxStatus() byte {
	switch {
	case s.tx == nil:
		return 'I'
	case s.tx.failed:
		return 'E'
	}
	return 'T'
}

// AbortBlock marks an open transaction block failed. The session does so
// itself when a statement fails; callers use it for errors the session
// never saw (a malformed protocol message, a broken COPY stream).
func (s *Session) AbortBlock() {
	if s.tx != nil {
		s.tx.failed = true
	}
}

// refuseInFailedBlock rejects everything but ending the block (or rolling
// back to a savepoint) once a statement in it has failed, as PostgreSQL.
func (s *Session) refuseInFailedBlock(raw *pg.RawStmt) error {
	if s.tx == nil || !s.tx.failed {
		return nil
	}
	if ts := raw.Stmt.GetTransactionStmt(); ts != nil {
		switch ts.Kind {
		case pg.TransactionStmtKind_TRANS_STMT_COMMIT, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK,
			pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
			return nil
		}
	}
	return sqlerr.New(sqlerr.InFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
}

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
		if s.tx.failed {
			// a failed block cannot commit: COMMIT rolls it back
			if err := s.rollbackBlock(); err != nil {
				return nil, err
			}
			return &Result{Tag: "ROLLBACK"}, s.db.persist()
		}
		s.endTxn()
		return &Result{Tag: "COMMIT"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if s.tx == nil {
			return &Result{Tag: "ROLLBACK", Notices: []string{"there is no transaction in progress"}}, nil
		}
		if err := s.rollbackBlock(); err != nil {
			return nil, err
		}
		return &Result{Tag: "ROLLBACK"}, s.db.persist()
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		if s.tx == nil {
			return nil, sqlerr.New(sqlerr.NoActiveTransaction, "SAVEPOINT can only be used in transaction blocks")
		}
		sp := savepoint{name: strings.ToLower(st.SavepointName), tables: map[*catalog.Table]*catalog.Snapshot{}, created: len(s.tx.created), dropped: len(s.tx.dropped)}
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
		born := s.createdSince(sp.created)
		s.dropCreated(sp.created)
		s.restoreDropped(sp.dropped, born)
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
		s.tx.failed = false
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
	for _, d := range s.tx.dropped {
		if d.data != nil {
			d.data.Release()
		}
	}
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
	case *pg.Node_DropStmt:
		switch raw.Stmt.Node.(*pg.Node_DropStmt).DropStmt.RemoveType {
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_INDEX:
			return nil // ROLLBACK puts them back
		}
		return sqlerr.New(sqlerr.ActiveTransaction, "this statement cannot run inside a transaction block yet (it could not be rolled back)")
	case *pg.Node_AlterTableStmt, *pg.Node_RenameStmt, *pg.Node_CreateEnumStmt, *pg.Node_CreateDomainStmt,
		*pg.Node_CreateSchemaStmt, *pg.Node_CreateFunctionStmt, *pg.Node_DefineStmt, *pg.Node_CallStmt,
		*pg.Node_CreateRoleStmt, *pg.Node_AlterRoleStmt, *pg.Node_DropRoleStmt, *pg.Node_VacuumStmt:
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
			s.tx.created = append(s.tx.created, createdRel{schema: t.Schema, name: t.Name, oid: t.OID})
		} else {
			s.tx.created = append(s.tx.created, createdRel{schema: v.Schema, name: v.Name, oid: v.OID, view: true})
		}
	}
	return res, err
}

// dropCreated drops, newest first, what the block created after the first
// keep relations.
func (s *Session) dropCreated(keep int) {
	for i := len(s.tx.created) - 1; i >= keep; i-- {
		c := s.tx.created[i]
		t, v, ok := s.db.cat.Lookup(c.schema, c.name, nil)
		if !ok {
			continue // the block dropped it again
		}
		if c.view {
			if v != nil && v.OID == c.oid {
				s.db.cat.DropView(c.schema, c.name)
			}
			continue
		}
		if t == nil || t.OID != c.oid {
			continue
		}
		{
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

// noteDropped remembers, inside a block, a table (with its data) or view
// a DROP removed; outside a block it lets the data go.
func (s *Session) noteDropped(t *catalog.Table, data *catalog.Snapshot, v *catalog.View) {
	if s.tx == nil {
		if data != nil {
			data.Release()
		}
		return
	}
	s.tx.dropped = append(s.tx.dropped, droppedRel{table: t, data: data, view: v})
}

// rollbackBlock undoes the whole block and ends it. What the block
// created goes first (a new table may have taken a dropped one's name),
// then what it dropped comes back, then the data it wrote is restored.
func (s *Session) rollbackBlock() error {
	born := s.createdSince(0)
	s.dropCreated(0)
	s.restoreDropped(0, born)
	err := s.undo(func(t *catalog.Table) *catalog.Snapshot { return s.tx.before[t] })
	s.endTxn()
	return err
}

// createdSince returns the OIDs of what the block created after its first
// keep relations.
func (s *Session) createdSince(keep int) map[uint32]bool {
	born := map[uint32]bool{}
	for _, c := range s.tx.created[keep:] {
		born[c.oid] = true
	}
	return born
}

// restoreDropped puts back, newest first, what the block dropped after the
// first keep relations, except those in bornLater (created after the
// rollback target, so they did not exist there).
func (s *Session) restoreDropped(keep int, bornLater map[uint32]bool) {
	for i := len(s.tx.dropped) - 1; i >= keep; i-- {
		d := s.tx.dropped[i]
		if d.view != nil && bornLater[d.view.OID] || d.table != nil && bornLater[d.table.OID] {
			if d.data != nil {
				d.data.Release()
			}
			continue
		}
		if d.view != nil {
			s.db.cat.AttachView(d.view)
			continue
		}
		s.db.cat.AttachTable(d.table, d.data)
		d.data.Release()
	}
	s.tx.dropped = s.tx.dropped[:keep]
}
