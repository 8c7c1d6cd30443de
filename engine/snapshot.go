package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// A REPEATABLE READ or SERIALIZABLE block reads every table as it was
// committed when its first statement began (other than BEGIN, SET, SHOW
// and the like), as PostgreSQL takes the transaction's snapshot then: the
// committed data of every table is held for the block until it ends,
// taken in one step with the installs of commits (so that no commit is
// half seen). A table the block writes forks from that data, and its
// rows are checked against what others committed since as described in
// serialconflict.go; a table created after it began is read as
// committed, and so is every table once the block runs DDL. Where
// PostgreSQL's checks look past the snapshot at what is
// committed, so do these: a key committed since is a duplicate (23505),
// a referenced row deleted since fails the reference with 40001, and a
// referencing row committed since holds up a DELETE or key UPDATE of its
// parent (23503; 40001 where the action would have changed it).

// takeSnapshot holds the block's snapshot if it needs one and has none
// yet, before stmt runs.
func (s *Session) takeSnapshot(stmt *pg.Node) {
	if s.tx == nil || s.readsNewest() {
		return
	}
	if changesDefinitions(stmt) {
		// the block's own DDL works on the tables as they are: from
		// here on it reads them as committed (kept non-nil, so that no
		// snapshot is taken again)
		releaseSnapshots(s.tx.snapshot)
		s.tx.snapshot = map[*catalog.Table]*catalog.Snapshot{}
		return
	}
	if s.tx.snapshot != nil || !needsSnapshot(stmt) {
		return
	}
	snap := map[*catalog.Table]*catalog.Snapshot{}
	s.db.installTogether(func() {
		for _, sc := range s.db.cat.Schemas() {
			for _, t := range sc.Tables {
				snap[t] = t.Snapshot()
			}
		}
	})
	s.tx.snapshot = snap
}

// needsSnapshot reports whether stmt reads or writes data (PostgreSQL
// takes no snapshot for transaction control, SET and SHOW).
func needsSnapshot(stmt *pg.Node) bool {
	switch stmt.Node.(type) {
	case *pg.Node_TransactionStmt, *pg.Node_VariableSetStmt, *pg.Node_VariableShowStmt:
		return false
	}
	return true
}

// changesDefinitions reports whether stmt is DDL that changes or
// replaces a table's definition or data wholesale.
func changesDefinitions(stmt *pg.Node) bool {
	switch stmt.Node.(type) {
	case *pg.Node_AlterTableStmt, *pg.Node_RenameStmt, *pg.Node_DropStmt, *pg.Node_TruncateStmt,
		*pg.Node_IndexStmt, *pg.Node_CreateStmt, *pg.Node_CreateTableAsStmt, *pg.Node_ViewStmt,
		*pg.Node_RefreshMatViewStmt, *pg.Node_ClusterStmt, *pg.Node_VacuumStmt:
		return true
	}
	return false
}

// forkBase is the committed data a block's version of t starts from (and
// the caller releases): its snapshot's, else t's now.
func (s *Session) forkBase(t *catalog.Table) *catalog.Snapshot {
	if s.tx != nil {
		if snap := s.tx.snapshot[t]; snap != nil {
			snap.Retain()
			return snap
		}
	}
	return t.Snapshot()
}

// sinceSnapshot is the committed data of t the block started from (its
// version's base, else its snapshot), or nil where s reads the newest
// rows or t is not in the block's snapshot. No new reference.
func (s *Session) sinceSnapshot(t *catalog.Table) *catalog.Snapshot {
	if s.tx == nil || s.readsNewest() {
		return nil
	}
	if w := s.tx.work[t]; w != nil {
		return w.base
	}
	return s.tx.snapshot[t]
}

// keysCommittedSince fails with 23505 where a key of recs (rows a
// REPEATABLE READ block adds to t) was added by a commit since the
// block's snapshot, as PostgreSQL's unique check sees committed rows; for
// an INSERT … ON CONFLICT (upsert) with 40001, as PostgreSQL's.
func (s *Session) keysCommittedSince(t *catalog.Table, recs []arrow.Record, upsert bool) error {
	base := s.sinceSnapshot(t)
	now := t.Current()
	if base == nil || base == now {
		return nil
	}
	for _, k := range t.Keys {
		before, after := keySetOf(t, base, k), keySetOf(t, now, k)
		err := eachKey(t, k, recs, func(key string, cols []arrow.Array, i int) error {
			if after.Has(key) && !before.Has(key) {
				if upsert {
					return errConcurrent("update")
				}
				return duplicateKey(t, k, cols, i, s.zone)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// referenceGoneSince returns the test of whether the parent row a
// reference names (its values in exec.EncodeKey's form for k's types) was
// in the block's snapshot of parent but is gone from parent's committed
// data: deleted, or its key changed, since (PostgreSQL: 40001). Nil where
// nothing can be gone (READ COMMITTED, nothing committed since).
func (s *Session) referenceGoneSince(parent *catalog.Table, k catalog.Key) func(key []byte) bool {
	base := s.sinceSnapshot(parent)
	now := parent.Current()
	if base == nil || base == now {
		return nil
	}
	before, after := keySetOf(parent, base, k), keySetOf(parent, now, k)
	return func(key []byte) bool { return before.Has(string(key)) && !after.Has(string(key)) }
}

// referencesCommittedSince checks the rows of child committed since the
// block's snapshot that reference a key removed from parent (removed) —
// rows the block's own check did not see: 23503 (errFor) where the action
// is NO ACTION or RESTRICT, 40001 where it would have changed them.
func (s *Session) referencesCommittedSince(child *catalog.Table, cols []int, kts []types.T, removed map[string]bool, action string, errFor func(arrs []arrow.Array, i int) error) error {
	base := s.sinceSnapshot(child)
	now := child.Current()
	if base == nil || base == now {
		return nil
	}
	seen := map[arrow.Record]bool{}
	for _, recs := range base.Parts {
		for _, r := range recs {
			seen[r] = true
		}
	}
	var buf []byte
	var refs map[string]string // built at the first candidate
	built := false
	for _, c := range changesFrom(base, now) {
		r := c.now
		if r == nil || seen[r] {
			continue
		}
		arrs := make([]arrow.Array, len(cols))
		for i, col := range cols {
			arrs[i] = r.Column(col)
		}
		for i := 0; i < int(r.NumRows()); i++ {
			if hasNull(arrs, i) {
				continue
			}
			buf = exec.EncodeKey(buf[:0], kts, arrs, i)
			if !removed[string(buf)] {
				continue
			}
			if refs == nil && !built {
				refs, built = snapshotReferences(base, child, cols, kts), true
			}
			if seenInSnapshot(refs, child, r, i, string(buf)) {
				continue
			}
			if action == "c" || action == "n" {
				return errConcurrent("update")
			}
			return errFor(arrs, i)
		}
	}
	return nil
}

// snapshotReferences maps the primary key of each row of child in base to
// the reference it held (cols' values, encoded for kts), so that a row
// of a batch committed since can be told apart from the same row as the
// block's snapshot had it (its batch rewritten for another row's change).
// Nil where child has no primary key (every such row counts as new).
func snapshotReferences(base *catalog.Snapshot, child *catalog.Table, cols []int, kts []types.T) map[string]string {
	pk := primaryKey(child)
	if pk == nil {
		return nil
	}
	out := map[string]string{}
	pkts := keyTypes(child, *pk)
	var buf []byte
	for _, recs := range base.Parts {
		for _, r := range recs {
			arrs := make([]arrow.Array, len(cols))
			for j, c := range cols {
				arrs[j] = r.Column(c)
			}
			pcols := keyColumns(r, *pk)
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(arrs, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], kts, arrs, i)
				out[string(exec.EncodeKey(nil, pkts, pcols, i))] = string(buf)
			}
		}
	}
	return out
}

// seenInSnapshot reports whether row i of r held reference ref in the
// block's snapshot already (refs from snapshotReferences).
func seenInSnapshot(refs map[string]string, child *catalog.Table, r arrow.Record, i int, ref string) bool {
	pk := primaryKey(child)
	if refs == nil || pk == nil {
		return false
	}
	had, ok := refs[string(exec.EncodeKey(nil, keyTypes(child, *pk), keyColumns(r, *pk), i))]
	return ok && had == ref
}
