package engine

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
)

// stmtWrites tracks what the running statement changed, so that it can
// be made durable the cheapest way and undone if that fails.
type stmtWrites struct {
	before map[*catalog.Table]*catalog.Snapshot // data before the first write
	after  map[*catalog.Table]*catalog.Snapshot // what the statement installed
	// replaced is what the statement's first install into a table
	// replaced (taken under the table's lock: another statement may
	// have installed between before and it)
	replaced map[*catalog.Table]*catalog.Snapshot
	// rowsOnly: the statement changes rows and nothing else (INSERT,
	// UPDATE, DELETE, COPY FROM, TRUNCATE), so the write-ahead log can
	// make it durable.
	rowsOnly bool
	// loads: the statement adds rows (INSERT, COPY FROM, an Arrow
	// append); those a checkpoint stored are read back from their
	// segments afterwards (remapStored)
	loads bool
	// staged are loads whose staged files the statement installed
	// (bulkload.go): its commit's checkpoint names them, its end lets go
	// of them (removing the files of those the commit did not store)
	staged []*bulkLoad
}

func (s *Session) beginWrites(rowsOnly bool) {
	s.endWrites()
	// (the maps are made at the first write: most statements write nothing)
	s.writes = &stmtWrites{rowsOnly: rowsOnly}
}

// noteSnapshot records snap as what m holds for t, making m if need be.
func noteSnapshot(m *map[*catalog.Table]*catalog.Snapshot, t *catalog.Table, snap *catalog.Snapshot) {
	if *m == nil {
		*m = map[*catalog.Table]*catalog.Snapshot{}
	}
	(*m)[t] = snap
}

// changesRowsOnly reports statements whose only effect is on rows.
func changesRowsOnly(st *pg.RawStmt) bool {
	switch n := st.Stmt.Node.(type) {
	case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_TruncateStmt:
		return true
	case *pg.Node_CopyStmt:
		return n.CopyStmt.IsFrom
	}
	return false
}

// addsRows reports the statements that load rows (INSERT, COPY FROM).
func addsRows(st *pg.RawStmt) bool {
	switch n := st.Stmt.Node.(type) {
	case *pg.Node_InsertStmt:
		return true
	case *pg.Node_CopyStmt:
		return n.CopyStmt.IsFrom
	}
	return false
}

func (s *Session) endWrites() {
	if s.writes != nil {
		for _, b := range s.writes.staged {
			b.abort()
		}
		releaseSnapshots(s.writes.before)
		releaseSnapshots(s.writes.after)
		releaseSnapshots(s.writes.replaced)
		s.writes = nil
	}
}

// noteWrite records t's data before the statement's first write to it.
func (s *Session) noteWrite(t *catalog.Table) {
	if s.writes == nil {
		return
	}
	if _, ok := s.writes.before[t]; !ok {
		noteSnapshot(&s.writes.before, t, t.Snapshot())
	}
}

// noteReplacing records what t holds before the statement's first
// install into it (the caller holds the table's lock and installs next).
func (s *Session) noteReplacing(t *catalog.Table) {
	if s.writes == nil {
		return
	}
	if _, ok := s.writes.replaced[t]; !ok {
		noteSnapshot(&s.writes.replaced, t, t.Snapshot())
	}
}

// noteInstalled records what the statement installed in t (the caller
// holds the table's lock).
func (s *Session) noteInstalled(t *catalog.Table) {
	if s.writes == nil {
		return
	}
	if old, ok := s.writes.after[t]; ok {
		old.Release()
	}
	cur := t.Current()
	cur.Retain()
	noteSnapshot(&s.writes.after, t, cur)
}

// commitWrites makes the statement durable: a statement that changed
// rows only through the write-ahead log, any other by a checkpoint. If
// that fails (a full disk) the statement's table writes are undone so
// that what queries see matches what a restart would find.
func (s *Session) commitWrites() error {
	w := s.writes
	if s.tx != nil {
		// nothing a block does is stored before its COMMIT: its rows are
		// private, its catalog changes hidden from the store (blockddl.go)
		return nil
	}
	var err error
	switch {
	case w != nil && w.rowsOnly && len(w.after) == 0:
		return nil // it changed nothing
	case w != nil && w.rowsOnly:
		err = s.db.logRows()
	default:
		err = s.db.persist()
	}
	if err != nil {
		s.db.dropUncommitted(s.db.blocks.hides)
	}
	if err != nil && w != nil {
		s.undoWrites(w)
	}
	if err == nil && w != nil && w.loads {
		for t := range w.after {
			before := w.before[t]
			s.db.remapStored(t, before == nil || before.NumRows() == 0)
		}
	}
	return err
}

// remapStored lets t read the batches a checkpoint has just written from
// their segment files, as a reopened data directory does, instead of
// keeping them on the heap: a bulk load then leaves the process no larger
// than a reopen would (SF1's lineitem is over 1 GB of Arrow buffers).
// Nothing changes when the table's rows are not all in segments (a
// commit the log took, a change since). The indexes built on the rows
// carry over unless the table was empty before (filled: then they were
// built only to check the load's own keys, and the index files the
// checkpoint just wrote take their place, read a node at a time as after
// a reopen, rather than holding them: SF1 lineitem's is 350 MB; an index
// without a file is built again on first use).
func (db *DB) remapStored(t *catalog.Table, filled bool) {
	if db.store == nil {
		return
	}
	t.Lock()
	defer t.Unlock()
	// no checkpoint between the store's swap and the table's: one that
	// took the table's old batches then would write them again and, not
	// naming the swapped-in batches' files, remove them (the lock order
	// is a COMMIT's: the table's, then checkpointMu)
	db.checkpointMu.Lock()
	defer db.checkpointMu.Unlock()
	cur := t.Current()
	if cur == nil {
		return
	}
	parts, ok := db.store.Remap(db.opts.Mem, t.OID, t.ArrowSchema(), t.QualifiedName(), cur.Parts)
	if !ok {
		return
	}
	t.ReplaceSameRows(parts, !filled)
	if filled {
		attachIndexes(t, db.store.ReopenStoredIndexes(t.OID, t.QualifiedName()))
	}
}

// undoWrites puts back the tables a statement that could not be stored
// installed into, once no commit is installed on top of it (undo.go).
func (s *Session) undoWrites(w *stmtWrites) {
	previous := map[*catalog.Table]*catalog.Snapshot{}
	installed := map[*catalog.Table]*catalog.Snapshot{}
	for t, ours := range w.after {
		prev, ok := w.replaced[t]
		if !ok {
			continue
		}
		prev.Retain()
		ours.Retain()
		previous[t], installed[t] = prev, ours
	}
	if len(installed) == 0 {
		s.db.unwindFailed() // (commits a failed checkpoint left pending)
		return
	}
	s.db.undoFailed(previous, installed)
}
