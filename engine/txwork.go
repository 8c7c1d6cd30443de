package engine

import (
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/planner/optimizer"
	"github.com/weftdb/weft/planner/physical"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Inside a transaction block a session's writes go to private versions of
// the tables it writes: its own statements read them, other sessions keep
// reading the tables' committed data, and nothing reaches the disk. COMMIT
// installs the private versions together. A table another session changed
// meanwhile is merged row by row: rows the block added go on top of the
// other session's, and rows it updated or deleted must still be there
// unchanged, or the block fails with 40001 and is rolled back (the first
// committer wins).

// tableWork is a block's private version of one table.
type tableWork struct {
	base *catalog.Snapshot // the committed data the block started from
	data *catalog.Snapshot // the block's version
	// appended are the rows the block added, while it only added rows
	// (rewritten is set by anything else).
	appended  []arrow.Record
	rewritten bool
	// upserted: an INSERT … ON CONFLICT wrote it, so a key another session
	// committed meanwhile is a conflict to retry (40001), not a duplicate
	upserted bool
}

func (w *tableWork) release() {
	w.base.Release()
	w.data.Release()
	for _, r := range w.appended {
		r.Release()
	}
}

// clone copies w for a savepoint (every reference retained again).
func (w *tableWork) clone() *tableWork {
	c := &tableWork{base: w.base, data: w.data, appended: append([]arrow.Record{}, w.appended...), rewritten: w.rewritten, upserted: w.upserted}
	c.base.Retain()
	c.data.Retain()
	for _, r := range c.appended {
		r.Retain()
	}
	return c
}

// current is the data the session's statements see in t: the block's
// version, else the committed one (no new reference; writers hold t's
// lock while they use it).
func (s *Session) current(t *catalog.Table) *catalog.Snapshot {
	if s.tx != nil {
		if w := s.tx.work[t]; w != nil {
			return w.data
		}
		if snap := s.tx.snapshot[t]; snap != nil {
			return snap
		}
	}
	return t.Current()
}

// tableData is current with a reference, for a query to read.
func (s *Session) tableData(t *catalog.Table) *catalog.Snapshot {
	if s.tx != nil {
		if w := s.tx.work[t]; w != nil {
			w.data.Retain()
			return w.data
		}
		if snap := s.tx.snapshot[t]; snap != nil {
			snap.Retain()
			return snap
		}
	}
	return t.Snapshot()
}

// installPrivate makes parts the block's version of t (the caller holds
// t's lock); appended are the rows added when that is all the statement
// did (nil for a rewrite), made the edits of the batches it patched (of
// the batches it read).
func (s *Session) installPrivate(t *catalog.Table, parts [][]arrow.Record, appended []arrow.Record, made catalog.Edits) {
	w := s.tx.work[t]
	if w == nil {
		w = &tableWork{base: s.forkBase(t)}
		s.tx.work[t] = w
		w.data = catalog.NewSnapshotEdited(w.base, parts, made)
	} else {
		prev := w.data
		w.data = catalog.NewSnapshotEdited(prev, parts, blockEdits(prev, parts, made))
		prev.Release()
	}
	switch {
	case appended == nil:
		w.rewritten = true
	case !w.rewritten:
		for _, r := range appended {
			r.Retain()
			w.appended = append(w.appended, r)
		}
	}
}

// blockEdits are the edits of a block's next version of a table (parts)
// after its version prev: the batches the statement patched (made) and
// those earlier statements of the block patched that are still there. A
// batch patched again is described from the batch the block started from
// (the block's own batches are never stored: the log knows only that
// one).
func blockEdits(prev *catalog.Snapshot, parts [][]arrow.Record, made catalog.Edits) catalog.Edits {
	out := prev.EditsWithin(parts)
	for rec, e := range made {
		if before := prev.EditsOf(e.Base); before != nil {
			e = before.Then(e)
		}
		if e == nil {
			delete(out, rec) // (cannot happen: edits of a batch fit it)
			continue
		}
		if out == nil {
			out = catalog.Edits{}
		}
		out[rec] = e
	}
	return out
}

// install puts a statement's new data for t in place: privately inside a
// block, for everyone outside one. made are the edits of the batches the
// statement patched (nil for none).
func (s *Session) install(t *catalog.Table, parts [][]arrow.Record, appended []arrow.Record, made catalog.Edits) {
	if s.tx != nil {
		s.installPrivate(t, parts, appended, made)
		return
	}
	s.noteReplacing(t)
	t.ReplaceEdited(parts, made)
	s.noteInstalled(t)
}

// commitWork installs the block's private versions and makes them
// durable with its catalog changes, all or nothing: the block stops
// hiding its changes from checkpoints in the step that installs its rows,
// then everything is stored in one catalog write.
func (s *Session) commitWork() (err error) {
	defer func() {
		if err != nil {
			// a checkpoint that failed leaves the failed commits it had
			// claimed to be undone now that no table lock is held (undo.go)
			s.db.unwindFailed()
		}
	}()
	var tables []*catalog.Table
	for t := range s.tx.work {
		if cur, _, ok := s.db.cat.Lookup(t.Schema, t.Name, nil); ok && cur == t {
			tables = append(tables, t) // (a table the block dropped is gone)
		}
	}
	changes := s.tx.changes
	if changes.any() {
		// its catalog changes become visible before they are stored
		s.db.ddlInFlight.Add(1)
		defer s.db.ddlInFlight.Add(-1)
	}
	if len(tables) == 0 {
		if !changes.any() {
			return nil // it changed nothing
		}
		s.db.installTogether(func() { s.db.blocks.remove(changes) })
		if err := s.db.persist(); err != nil {
			s.db.blocks.add(changes) // hidden again until ROLLBACK undoes it
			return err
		}
		return nil
	}
	previous, installed, rowsOnly, err := s.commitLocked(tables, changes)
	if err != nil {
		return err
	}
	// the rows are installed (every statement sees them) and the table
	// locks let go: the log entry is queued without them, as a
	// statement's is (durable.go), so that statements and commits on the
	// same tables need not wait for its encoding. A commit installed on
	// top of this one meanwhile may queue first: its entry holds this
	// one's rows too (an entry is every table's state), and this one's
	// then finds nothing new and waits for that entry.
	wait := func() error { return nil }
	if rowsOnly {
		wait, err = s.db.queueRows()
	}
	// the entry is queued: a block waiting for one of the rows can go on
	// while this one waits for the sync, since its own entry follows
	// this one's and so cannot become durable without it (rowlocks.go)
	s.releaseRowLocks()
	if err == nil {
		err = wait()
	}
	if err != nil {
		// (nothing of it is on disk: a failed flush fails every entry
		// after it, and a failed checkpoint stored nothing; commits
		// installed on top of it failed too, and are undone first)
		s.db.undoFailed(previous, installed)
		return err
	}
	releaseSnapshots(previous)
	releaseSnapshots(installed)
	return nil
}

// commitLocked merges and installs the block's versions of tables under
// their locks; a block with catalog changes is stored (a checkpoint)
// before they are let go, a rows-only one (rowsOnly) is left for the
// caller to queue for the log once they are. previous is what each table
// held before, installed what it holds now.
func (s *Session) commitLocked(tables []*catalog.Table, changes *blockChanges) (previous, installed map[*catalog.Table]*catalog.Snapshot, rowsOnly bool, err error) {
	// lock in one order so that two committing blocks cannot deadlock
	sort.Slice(tables, func(i, j int) bool { return tables[i].OID < tables[j].OID })
	for _, t := range tables {
		t.Lock()
		defer t.Unlock()
	}
	for _, t := range tables {
		if err := s.notHeld(t, false); err != nil {
			return nil, nil, false, err
		}
	}
	added := map[*catalog.Table][]map[string]struct{}{}
	merged := map[*catalog.Table]mergedWork{}
	defer func() {
		for _, m := range merged {
			for _, p := range m.parts {
				exec.ReleaseRecords(p)
			}
		}
	}()
	for _, t := range tables {
		w := s.tx.work[t]
		if t.Current() == w.base {
			continue
		}
		if w.rewritten {
			// row by row: the rows the block took out must still be there
			parts, keysKept, edits, err := s.mergeBatches(t, w.base, w.data, t.Current())
			if err == nil && !keysKept {
				if _, err = checkAllKeys(t, t.Keys, parts, s.zone); err != nil {
					for _, p := range parts {
						exec.ReleaseRecords(p)
					}
				}
			}
			if err != nil {
				return nil, nil, false, retryable(w, err)
			}
			merged[t] = mergedWork{parts, edits}
			continue
		}
		// the block's rows join what was committed meanwhile: their keys
		// must be new there too
		keys, err := newKeys(t, t.Current(), w.appended, s.zone)
		if err != nil {
			return nil, nil, false, retryable(w, err)
		}
		added[t] = keys
	}
	previous = map[*catalog.Table]*catalog.Snapshot{}
	var installErr error
	s.db.installTogether(func() {
		if installErr = s.installWork(tables, merged, added, previous); installErr == nil {
			s.db.blocks.remove(changes)
		}
	})
	if installErr != nil {
		return nil, nil, false, installErr
	}
	if changes.any() {
		if err := s.db.persist(); err != nil {
			s.db.installTogether(func() {
				s.restoreTables(previous)
				s.db.blocks.add(changes)
			})
			return nil, nil, false, err
		}
	}
	installed = map[*catalog.Table]*catalog.Snapshot{}
	for _, t := range tables {
		installed[t] = t.Snapshot()
	}
	return previous, installed, !changes.any(), nil
}

// mergedWork is a block's version of a table merged with what others
// committed meanwhile: its partitions, and the edits of the batches the
// merge patched.
type mergedWork struct {
	parts [][]arrow.Record
	edits catalog.Edits
}

// installWork puts the block's versions of tables in place (their locks
// are held), keeping what each table had in previous; on a failure it
// puts everything back.
func (s *Session) installWork(tables []*catalog.Table, merged map[*catalog.Table]mergedWork, added map[*catalog.Table][]map[string]struct{}, previous map[*catalog.Table]*catalog.Snapshot) error {
	for i, t := range tables {
		if i > 0 && s.db.betweenInstalls != nil {
			s.db.betweenInstalls()
		}
		w := s.tx.work[t]
		cur := t.Current()
		cur.Retain()
		previous[t] = cur
		if cur == w.base {
			t.Restore(w.data)
			continue
		}
		if m, ok := merged[t]; ok {
			delete(merged, t) // the table owns them now
			t.ReplaceEdited(m.parts, m.edits)
			continue
		}
		// only appends: the block's rows go on top of what was committed
		parts, err := catalog.AppendParts(s.db.opts.Mem, cur, w.appended, s.db.opts.BatchSize)
		if err != nil {
			s.restoreTables(previous)
			return err
		}
		t.Replace(parts)
		extendKeySets(t, cur, t.Current(), added[t])
	}
	return nil
}

// restoreTables puts back what commitWork replaced (the tables' locks are
// held) and lets go of the references.
func (s *Session) restoreTables(previous map[*catalog.Table]*catalog.Snapshot) {
	for t, snap := range previous {
		t.Restore(snap)
	}
	releaseSnapshots(previous)
}

func releaseWork(m map[*catalog.Table]*tableWork) {
	for _, w := range m {
		w.release()
	}
}

func cloneWork(m map[*catalog.Table]*tableWork) map[*catalog.Table]*tableWork {
	out := make(map[*catalog.Table]*tableWork, len(m))
	for t, w := range m {
		out[t] = w.clone()
	}
	return out
}

// newBuilder is a physical plan builder whose scans read what the
// session sees (its block's own versions of tables it wrote).
func (s *Session) newBuilder(env *exec.Env) *physical.Builder {
	b := physical.NewBuilder(env, s.params)
	b.TableData = s.tableData
	b.Schemas = &s.schemas
	b.NoIndexScan = !isOn(s.settings["enable_indexscan"])
	b.OptimizeSubquery = func(p logical.Plan) (logical.Plan, error) {
		return optimizer.Optimize(p, s.DisabledRules)
	}
	return b
}

// retryable turns a duplicate key found while merging an upserting block
// into a serialization failure: run again, the upsert sees the other
// session's row and updates it.
func retryable(w *tableWork, err error) error {
	if w.upserted && sqlerr.Code(err) == sqlerr.UniqueViolation {
		return sqlerr.New(sqlerr.SerializationFailure, "could not serialize access due to concurrent update").
			WithDetail(sqlerr.Wrap(err).Message).WithHint("The transaction was rolled back; run it again.")
	}
	return err
}
