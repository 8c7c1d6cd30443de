package engine

import (
	"crypto/sha256"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// Row locks give UPDATE and DELETE PostgreSQL's READ COMMITTED behaviour
// where an index finds their rows (pgbench, an ORM's save()): a statement
// that would change a row another open block changed waits for that block
// to end, then runs again on the newest committed data, re-evaluating its
// WHERE there (a row that no longer matches is left alone). A block
// holds the locks of the rows it changed (named by primary key, or by
// value: rowIdentity) until it ends
// or its COMMIT has installed its rows and queued them for the log,
// whichever is first; a statement outside a block until it is installed.
// Unlike PostgreSQL, which keeps them until the commit is flushed, the
// locks are not held across the log's sync: the rows are visible from
// installation on, and the log is written in queue order, so a commit
// that changed the row next cannot become durable without this one (and
// a failed flush fails every entry queued after it). Before each such
// statement a READ COMMITTED block moves its private version of the
// table onto what others committed meanwhile (the rows it changed are
// locked, so that merge cannot conflict with a locking writer), and its
// COMMIT then merges without 40001. The lock a change takes is
// PostgreSQL's: DELETE and an UPDATE of a unique key's value FOR UPDATE,
// another UPDATE FOR NO KEY UPDATE (locktable.go has the strengths, and
// what ROLLBACK TO SAVEPOINT and a deadlock do).
//
// REPEATABLE READ and SERIALIZABLE blocks take the same locks but fail
// with 40001 where a row they change was changed by a commit since their
// snapshot (serialconflict.go). A table without a primary key names its
// rows by their values (rowIdentity). A statement that changes more than
// maxLockedRows rows takes no locks but waits for the rows others hold
// (biglocks.go).

// maxLockedRows is the most rows one statement locks; a larger change
// is left to first-committer-wins.
const maxLockedRows = 10000

// changedRows are the rows an UPDATE or DELETE changes, as they were,
// each with the lock it takes: DELETE and an UPDATE of a unique key's
// column FOR UPDATE, any other UPDATE FOR NO KEY UPDATE (so that it does
// not wait for a FOR KEY SHARE), as PostgreSQL compares the key columns'
// old and new values. An UPDATE that changes a foreign key's value also
// locks the row it now references FOR KEY SHARE (parentLocks), as
// PostgreSQL's check does.
type changedRows struct {
	keyCols     []int // the columns of t's unique keys
	rows        []lockedRow
	refs        []lockedReference
	parentLocks []lockRequest
}

// lockedReference is a foreign key whose referenced rows an UPDATE locks:
// its columns in the order of the referenced key's, that key's types,
// and how to find the parent row (fklocks.go).
type lockedReference struct {
	parent *catalog.Table
	cols   []int
	kts    []types.T
	find   parentRowFinder
}

// lockedRow is a row a statement locks, and how.
type lockedRow struct {
	batchRow
	mode lockMode
}

func (s *Session) newChangedRows(t *catalog.Table) *changedRows {
	c := &changedRows{keyCols: nameColumns(t)}
	for _, k := range t.Keys {
		for _, col := range k.Columns {
			if !slices.Contains(c.keyCols, col) {
				c.keyCols = append(c.keyCols, col)
			}
		}
	}
	for _, fk := range t.ForeignKeys {
		if parent, k, ok := s.referencedKey(fk); ok && s.locksRows(parent) {
			cols := childColumnsInKeyOrder(fk, k)
			c.refs = append(c.refs, lockedReference{parent: parent, cols: cols, kts: keyTypes(parent, k), find: s.parentRowFinder(parent, k, t, cols)})
		}
	}
	return c
}

// deleted adds row of rec, which a DELETE takes out.
func (c *changedRows) deleted(rec arrow.Record, row int) {
	c.rows = append(c.rows, lockedRow{batchRow{rec, row}, lockForUpdate})
}

// updated adds row of old, which an UPDATE replaces by row newRow of
// updated (whose columns are the table's, in its order, perhaps with
// more after them).
func (c *changedRows) updated(old arrow.Record, row int, updated arrow.Record, newRow int) {
	mode := lockForNoKeyUpdate
	for _, col := range c.keyCols {
		if !array.SliceEqual(old.Column(col), int64(row), int64(row+1), updated.Column(col), int64(newRow), int64(newRow+1)) {
			mode = lockForUpdate
			break
		}
	}
	c.rows = append(c.rows, lockedRow{batchRow{old, row}, mode})
	for _, ref := range c.refs {
		c.lockReference(ref, old, row, updated, newRow)
	}
}

// lockReference adds the FOR KEY SHARE lock of the row the updated row
// references through ref, where the update changed the reference to a
// value without NULLs (PostgreSQL checks only those).
func (c *changedRows) lockReference(ref lockedReference, old arrow.Record, row int, updated arrow.Record, newRow int) {
	if len(c.parentLocks) >= maxLockedRows {
		return
	}
	same := true
	arrs := make([]arrow.Array, len(ref.cols))
	for i, col := range ref.cols {
		arrs[i] = updated.Column(col)
		same = same && array.SliceEqual(old.Column(col), int64(row), int64(row+1), arrs[i], int64(newRow), int64(newRow+1))
	}
	if same || hasNull(arrs, newRow) {
		return
	}
	key := exec.EncodeKey(nil, ref.kts, arrs, newRow)
	if lk, found := ref.find(key, arrs, newRow); found {
		c.parentLocks = append(c.parentLocks, lockRequest{key: rowLockKey{oid: ref.parent.OID, key: lk}, mode: lockForKeyShare})
	}
}

// addFlagged adds the rows of batch in that the rewrite output r (row
// for row with in) updates (flag true) or deletes (flag not true).
func (c *changedRows) addFlagged(in, r arrow.Record, mode rewriteMode) {
	flag := r.Column(int(r.NumCols()) - 1).(*array.Boolean)
	for i := 0; i < flag.Len(); i++ {
		set := flag.IsValid(i) && flag.Value(i)
		switch {
		case set && mode == rewriteUpdate:
			c.updated(in, i, r, i)
		case !set && mode == rewriteDelete:
			c.deleted(in, i)
		}
	}
}

// locksRows reports whether an UPDATE or DELETE of t by s takes row
// locks: every table does, at every isolation level (REPEATABLE READ fails
// where READ COMMITTED moves on: serialconflict.go); rowIdentity says how
// its rows are named.
func (s *Session) locksRows(t *catalog.Table) bool { return true }

func primaryKey(t *catalog.Table) *catalog.Key {
	for i := range t.Keys {
		if t.Keys[i].Primary {
			return &t.Keys[i]
		}
	}
	return nil
}

// rowIdentity is how row locks name the rows of a table: by the primary
// key's values, or, in a table without one, by the values of all its
// columns. Rows equal in every column then share one lock, which costs at
// most a wait: no statement can tell them apart to change one and not
// the other. A row changed by an open block keeps the lock of the values
// it had, which is what the other sessions still see; once that block
// ends they find the row again by its new values, as PostgreSQL
// re-checks an updated row.
type rowIdentity struct {
	cols    []int     // the columns naming a row, in the table
	kts     []types.T // their types
	byValue bool      // every column: the table has no primary key
}

func identityOf(t *catalog.Table) rowIdentity {
	if pk := primaryKey(t); pk != nil {
		return rowIdentity{cols: pk.Columns, kts: keyTypes(t, *pk)}
	}
	all := catalog.Key{Columns: make([]int, len(t.Columns))}
	for i := range all.Columns {
		all.Columns[i] = i
	}
	return rowIdentity{cols: all.Columns, kts: keyTypes(t, all), byValue: true}
}

// maxValueKeyBytes bounds the lock key of a row named by its values: a
// longer one (wide text or JSON columns) is replaced by a 128-bit digest
// of it, whose collisions could only make a statement wait needlessly.
const maxValueKeyBytes = 64

// lockKey is the lock key of row r of cols (the identity's columns, in
// its order), encoded into buf (returned for reuse).
func (id rowIdentity) lockKey(buf []byte, cols []arrow.Array, r int) ([]byte, string) {
	buf = exec.EncodeKey(buf[:0], id.kts, cols, r)
	if id.byValue && len(buf) > maxValueKeyBytes {
		sum := sha256.Sum256(buf)
		return buf, "\xffdigest:" + string(sum[:16])
	}
	return buf, string(buf)
}

// rowKey is the lock key of row r of rec, a batch of the table's.
func (id rowIdentity) rowKey(buf []byte, rec arrow.Record, r int) ([]byte, string) {
	cols := make([]arrow.Array, len(id.cols))
	for i, c := range id.cols {
		cols[i] = rec.Column(c)
	}
	return id.lockKey(buf, cols, r)
}

// nameColumns are the columns whose change makes an UPDATE lock its row
// FOR UPDATE beyond those of unique keys: every column, for a row named
// by its values. Such an UPDATE renames the row's lock, so it must wait
// for the FOR KEY SHARE a foreign key's check holds on the old name: a
// DELETE after it would find the new name free and orphan the child.
// (PostgreSQL carries the share lock over to the new row version and
// lets the UPDATE through; here it waits for that block.)
func nameColumns(t *catalog.Table) []int {
	if id := identityOf(t); id.byValue {
		return slices.Clone(id.cols)
	}
	return nil
}

// rowLockKeys are the locks of rows of t (by batch and position).
func rowLockKeys(t *catalog.Table, rows []lockedRow) []lockRequest {
	id := identityOf(t)
	out := make([]lockRequest, 0, len(rows))
	var buf []byte
	var key string
	for _, r := range rows {
		buf, key = id.rowKey(buf, r.rec, r.row)
		out = append(out, lockRequest{key: rowLockKey{oid: t.OID, key: key}, mode: r.mode})
	}
	return out
}

// rebaseWork moves a READ COMMITTED block's private version of t onto
// what others committed since it forked (t's lock held), so that the
// statement about to run reads the newest committed rows besides its own
// changes.
func (s *Session) rebaseWork(t *catalog.Table) error {
	if s.tx == nil || !s.readsNewest() {
		return nil // (REPEATABLE READ keeps its version)
	}
	w := s.tx.work[t]
	if w == nil || t.Current() == w.base {
		return nil
	}
	if !w.rewritten {
		// only appends so far: they go on top of the newest rows, their
		// keys new there too
		if _, err := newKeys(t, t.Current(), w.appended, s.zone); err != nil {
			return err
		}
		parts, err := catalog.AppendParts(s.db.opts.Mem, t.Current(), w.appended, s.db.opts.BatchSize)
		if err != nil {
			return err
		}
		s.replaceWork(t, w, parts, nil)
		return nil
	}
	parts, keysKept, edits, err := s.mergeBatches(t, w.base, w.data, t.Current())
	if err != nil {
		return err
	}
	if !keysKept {
		if _, err := checkAllKeys(t, t.Keys, parts, s.zone); err != nil {
			for _, p := range parts {
				exec.ReleaseRecords(p)
			}
			return err
		}
	}
	s.replaceWork(t, w, parts, edits)
	return nil
}

// replaceWork makes parts (owned by the call) the block's version of t,
// forked from t's current data; edits are how some of its batches were
// made from that data's.
func (s *Session) replaceWork(t *catalog.Table, w *tableWork, parts [][]arrow.Record, edits catalog.Edits) {
	base := t.Snapshot()
	data := catalog.NewSnapshotEdited(base, parts, edits)
	w.base.Release()
	w.data.Release()
	w.base, w.data = base, data
}
