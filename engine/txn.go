package engine

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A transaction block keeps its row changes private until COMMIT (see
// txwork.go). Tables and views it creates or drops change the catalog at
// once; ROLLBACK drops the created ones and puts the dropped ones back.
// None of it reaches the disk before COMMIT (blockddl.go). Other DDL
// inside a block is refused: it could not be undone.
type txn struct {
	work map[*catalog.Table]*tableWork // the block's private table versions
	// changes are the catalog objects it changed, which the store keeps
	// as they were until COMMIT (blockddl.go)
	changes    *blockChanges
	savepoints []savepoint
	created    []createdRel // in order of creation
	dropped    []droppedRel // in order of dropping
	// createdKeys are unique indexes the block added (ROLLBACK drops them)
	createdKeys []createdKey
	// undoLater holds what puts catalog details (comments) back, newest
	// last.
	undoLater []func()
	// atEnd lets go of what undoLater entries hold, however the block ends.
	atEnd []func()
	// atCommit runs once the block has committed and ended: effects
	// outside the catalog of its catalog changes (a table's weft.cache).
	// Each must read the catalog as committed, since a ROLLBACK TO
	// may have undone the change that queued it.
	atCommit []func()
	// implicit: the block of a multi-statement string (implicit.go),
	// which ends with the string
	implicit bool
	// localSettings put back, at COMMIT, what SET LOCAL changed (by
	// setting name; ROLLBACK undoes every SET through undoLater).
	localSettings map[string]func()
	// failed is set when a statement in the block fails; until ROLLBACK
	// (or ROLLBACK TO a savepoint) every other statement is refused.
	failed bool
	// mode is the block's isolation level and read-only flag (txmode.go).
	mode txMode
	// snapshot is what a REPEATABLE READ or SERIALIZABLE block reads of
	// the tables it has not written: their committed data when its first
	// statement began (snapshot.go); nil until then
	snapshot map[*catalog.Table]*catalog.Snapshot
	// notifies are the block's NOTIFYs, sent when it commits.
	notifies []Notification
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

// createdKey is a unique key a block added to a table.
type createdKey struct {
	table *catalog.Table
	name  string
}

type savepoint struct {
	name    string
	work    map[*catalog.Table]*tableWork // the private versions when it was set
	created int                           // len(created) then
	dropped int                           // len(dropped) then
	keys    int                           // len(createdKeys) then
	undos   int                           // len(undoLater) then
	locks   int                           // len(heldRows) then: ROLLBACK TO gives back the row locks taken since
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

func (s *Session) transaction(st *pg.TransactionStmt) (*Result, error) {
	if s.tx != nil && s.tx.implicit {
		return s.transactionInString(st)
	}
	switch st.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		if s.tx != nil {
			return &Result{Tag: "BEGIN", Notices: []string{"there is already a transaction in progress"}}, nil
		}
		m, err := readTxModes(st.Options)
		if err != nil {
			return nil, err
		}
		s.tx = &txn{work: map[*catalog.Table]*tableWork{}, changes: newBlockChanges()}
		s.tx.applyModes(m)
		s.db.blocks.add(s.tx.changes)
		return &Result{Tag: "BEGIN"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		if s.tx == nil {
			return &Result{Tag: "COMMIT", Notices: []string{"there is no transaction in progress"}}, nil
		}
		if s.tx.failed {
			// a failed block cannot commit: COMMIT rolls it back
			s.rollbackBlock()
			return &Result{Tag: "ROLLBACK"}, nil // nothing of it is on disk
		}
		// SET LOCAL ends with the block (a failed commit's rollback puts
		// the settings back as they were before it anyway)
		for _, restore := range s.tx.localSettings {
			restore()
		}
		if err := s.commitBlock(); err != nil {
			return nil, err
		}
		return &Result{Tag: "COMMIT"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if s.tx == nil {
			return &Result{Tag: "ROLLBACK", Notices: []string{"there is no transaction in progress"}}, nil
		}
		s.rollbackBlock()
		return &Result{Tag: "ROLLBACK"}, nil // nothing of the block is on disk
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		if s.tx == nil {
			return nil, sqlerr.New(sqlerr.NoActiveTransaction, "SAVEPOINT can only be used in transaction blocks")
		}
		s.pushSavepoint(strings.ToLower(st.SavepointName))
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
			s.releaseSavepoints(i)
			return &Result{Tag: "RELEASE"}, nil
		}
		s.rollbackToSavepoint(i)
		return &Result{Tag: "ROLLBACK"}, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this transaction command is not supported yet")
}

// pushSavepoint marks the block's state so that rollbackToSavepoint can
// return to it; it returns the savepoint's index.
func (s *Session) pushSavepoint(name string) int {
	sp := savepoint{name: name, work: cloneWork(s.tx.work), created: len(s.tx.created), dropped: len(s.tx.dropped), keys: len(s.tx.createdKeys), undos: len(s.tx.undoLater), locks: len(s.heldRows)}
	s.tx.savepoints = append(s.tx.savepoints, sp)
	return len(s.tx.savepoints) - 1
}

// releaseSavepoints forgets savepoint i and the ones after it, keeping
// what the block did since.
func (s *Session) releaseSavepoints(i int) {
	for _, sp := range s.tx.savepoints[i:] {
		releaseWork(sp.work)
	}
	s.tx.savepoints = s.tx.savepoints[:i]
}

// rollbackToSavepoint undoes what the block did since savepoint i, which
// stays; the block is no longer failed.
func (s *Session) rollbackToSavepoint(i int) {
	sp := s.tx.savepoints[i]
	born := s.createdSince(sp.created)
	s.dropCreatedKeys(sp.keys)
	s.dropCreated(sp.created)
	s.restoreDropped(sp.dropped, born)
	s.runUndos(sp.undos) // after the tables: a created type goes once its columns have
	// the rows locked since are unlocked (and those strengthened go back to
	// their old strength): the subtransaction that took them aborted
	s.db.rowLocks.unlockSince(s, sp.locks, nil)
	releaseWork(s.tx.work)
	s.tx.work = cloneWork(sp.work)
	for _, later := range s.tx.savepoints[i+1:] {
		releaseWork(later.work)
	}
	s.tx.savepoints = s.tx.savepoints[:i+1] // the savepoint itself stays
	s.tx.failed = false
}

func (s *Session) endTxn() {
	// (under installMu: a checkpoint reads the catalog and the registry
	// in one step, so it never sees an undone change's record gone first)
	s.db.installTogether(func() { s.db.blocks.remove(s.tx.changes) })
	s.db.blocks.update(s.tx.changes.release)
	for _, f := range s.tx.atEnd {
		f()
	}
	for _, d := range s.tx.dropped {
		if d.data != nil {
			d.data.Release()
		}
	}
	releaseWork(s.tx.work)
	for _, sp := range s.tx.savepoints {
		releaseWork(sp.work)
	}
	releaseSnapshots(s.tx.snapshot)
	s.tx = nil
	s.releaseXactAdvisory()
	s.releaseRowLocks()
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
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_INDEX:
			return nil // ROLLBACK puts them back
		}
		return sqlerr.New(sqlerr.ActiveTransaction, "this statement cannot run inside a transaction block yet (it could not be rolled back)")
	case *pg.Node_AlterSeqStmt,
		*pg.Node_CreateSchemaStmt, *pg.Node_CreateFunctionStmt, *pg.Node_DefineStmt, *pg.Node_CallStmt,
		*pg.Node_CreateRoleStmt, *pg.Node_AlterRoleStmt, *pg.Node_DropRoleStmt, *pg.Node_VacuumStmt, *pg.Node_DropOwnedStmt:
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

// trackCreate runs a statement that may create a table or view and, when
// it creates one that did not exist, checks that no open block holds the
// name (claimName) and inside a block remembers it so that ROLLBACK drops
// it.
func (s *Session) trackCreate(raw *pg.RawStmt, run func() (*Result, error)) (*Result, error) {
	rv, _ := createdTarget(raw)
	if rv == nil {
		return run()
	}
	schema := rv.Schemaname
	_, _, existed := s.db.cat.Lookup(schema, rv.Relname, s.searchPath)
	res, err := run()
	if err != nil || existed {
		return res, err
	}
	t, v, ok := s.db.cat.Lookup(schema, rv.Relname, s.searchPath)
	if !ok {
		return res, err
	}
	if cerr := s.claimCreated(t, v); cerr != nil {
		if res != nil {
			res.Release()
		}
		return nil, cerr
	}
	if s.tx != nil {
		if t != nil {
			s.tx.created = append(s.tx.created, createdRel{schema: t.Schema, name: t.Name, oid: t.OID})
			s.noteCreated(t.OID)
		} else {
			s.tx.created = append(s.tx.created, createdRel{schema: v.Schema, name: v.Name, oid: v.OID, view: true})
			s.noteCreated(v.OID)
		}
	}
	return res, err
}

// claimCreated drops the table or view just created when another open
// block holds its name.
func (s *Session) claimCreated(t *catalog.Table, v *catalog.View) error {
	if t != nil {
		if err := s.claimName(t.Schema, t.Name); err != nil {
			s.discardTable(t)
			return err
		}
		return nil
	}
	if err := s.claimName(v.Schema, v.Name); err != nil {
		_ = s.db.cat.DropView(v.Schema, v.Name)
		return err
	}
	return nil
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
		s.db.cat.DropTable(c.schema, c.name)
		s.dropOwnedSequences(t)
	}
	s.tx.created = s.tx.created[:keep]
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
func (s *Session) rollbackBlock() {
	born := s.createdSince(0)
	s.dropCreatedKeys(0)
	s.dropCreated(0)
	s.restoreDropped(0, born)
	s.runUndos(0) // after the tables: a created type goes once its columns have
	s.endTxn()
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

// dropCreatedKeys removes the unique keys the block added after its first
// keep ones.
func (s *Session) dropCreatedKeys(keep int) {
	for i := len(s.tx.createdKeys) - 1; i >= keep; i-- {
		k := s.tx.createdKeys[i]
		_ = dropKey(k.table, k.name, true)
	}
	s.tx.createdKeys = s.tx.createdKeys[:keep]
}

// runUndos undoes, newest first, the catalog details changed after the
// first keep.
func (s *Session) runUndos(keep int) {
	for i := len(s.tx.undoLater) - 1; i >= keep; i-- {
		s.tx.undoLater[i]()
	}
	s.tx.undoLater = s.tx.undoLater[:keep]
}

// undoAlter lets ROLLBACK put a table altered in the block back: its
// definition and its data as they were. A table the block has written
// (a private version) can only have its definition changed there
// (definitionOnly: defaults and NOT NULL, which read the block's rows but
// rewrite none).
func (s *Session) undoAlter(t *catalog.Table, definitionOnly bool) error {
	if err := s.notHeld(t, true); err != nil {
		return err
	}
	if s.tx == nil {
		return nil
	}
	if s.tx.work[t] != nil {
		if !definitionOnly {
			return sqlerr.New(sqlerr.FeatureNotSupported, "ALTER TABLE that rewrites a table written earlier in the same transaction block is not supported yet")
		}
		t.Lock()
		def := t.Definition()
		t.Unlock()
		s.tx.undoLater = append(s.tx.undoLater, func() {
			t.Lock()
			t.SetDefinition(def)
			t.Unlock()
		})
		return nil
	}
	s.touchTable(t, true)
	t.Lock()
	def := t.Definition()
	t.Unlock()
	snap := t.Snapshot()
	s.tx.undoLater = append(s.tx.undoLater, func() {
		t.Lock()
		t.SetDefinition(def)
		t.Restore(snap)
		t.Unlock()
	})
	s.tx.atEnd = append(s.tx.atEnd, snap.Release)
	return nil
}

// undoCreate lets ROLLBACK drop an object the block created.
func (s *Session) undoCreate(drop func()) {
	if s.tx != nil {
		s.tx.undoLater = append(s.tx.undoLater, drop)
		if s.tx.changes != nil {
			s.tx.changes.other = true // COMMIT stores what is undone here
		}
	}
}
