package engine

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/index"
)

// A foreign key's check locks the parent row it finds FOR KEY SHARE, as
// PostgreSQL's does, whichever unique key the reference names. Row locks
// name a row by its primary key or its values (rowIdentity), so a
// reference to another unique key is first looked up in the parent's
// data: the lock is the identity of the row holding that value there. A value no row holds
// needs no lock (the check fails with 23503); a value an open block is
// taking away (a DELETE, or an UPDATE of that key) is still in the
// committed data, so the lookup finds the row and the lock waits for
// that block, after which the check runs on the newest committed rows.

// parentRowFinder gives the row lock key of the parent row a reference
// names: key is its values in exec.EncodeKey's form for the referenced
// key's types, arrs at row i the referencing columns (in the key's
// order). ok is false when no parent row holds the values.
type parentRowFinder func(key []byte, arrs []arrow.Array, i int) (lockKey string, ok bool)

// parentRowFinder returns the finder of parent rows through key k of
// parent for references from child's columns cols, reading the parent's
// data as s sees it.
func (s *Session) parentRowFinder(parent *catalog.Table, k catalog.Key, child *catalog.Table, cols []int) parentRowFinder {
	if k.Primary {
		return func(key []byte, _ []arrow.Array, _ int) (string, bool) { return string(key), true }
	}
	id := identityOf(parent)
	cur := s.current(parent)
	rowKey := func(rec arrow.Record, row int) string {
		_, key := id.rowKey(nil, rec, row)
		return key
	}
	if ix := parent.KeyIndex(cur, k); ix != nil && indexComparable(parent, k, child, cols) {
		var buf []byte
		return func(_ []byte, arrs []arrow.Array, i int) (string, bool) {
			buf = buf[:0]
			for j, a := range arrs {
				buf = index.AppendValue(buf, ix.Def.Types[j], a, i)
			}
			e, ok := ix.Tree.Seek(string(buf)).Next()
			if !ok || e.Key != string(buf) {
				return "", false
			}
			return rowKey(cur.Parts[e.Loc.Part()][e.Loc.Batch()], e.Loc.Row()), true
		}
	}
	// no usable index: one pass over the parent's rows, on first use
	var byKey map[string]string
	return func(key []byte, _ []arrow.Array, _ int) (string, bool) {
		if byKey == nil {
			byKey = map[string]string{}
			eachRowKey(parent, k, cur, func(ukey string, rec arrow.Record, row int) {
				byKey[ukey] = rowKey(rec, row)
			})
		}
		lk, ok := byKey[string(key)]
		return lk, ok
	}
}

// indexComparable reports whether child's columns cols compare with the
// parent key k's columns by the index encoding (else the key set's).
func indexComparable(parent *catalog.Table, k catalog.Key, child *catalog.Table, cols []int) bool {
	for j, c := range cols {
		pt, ct := parent.Columns[k.Columns[j]].Type, child.Columns[c].Type
		if !index.Comparable(pt, ct) || !index.Comparable(ct, pt) {
			return false
		}
	}
	return true
}

// eachRowKey calls f with the encoded value of key k of every row of snap
// without NULLs in it, and the row.
func eachRowKey(t *catalog.Table, k catalog.Key, snap *catalog.Snapshot, f func(key string, rec arrow.Record, row int)) {
	kts := keyTypes(t, k)
	var buf []byte
	for _, recs := range snap.Parts {
		for _, r := range recs {
			cols := keyColumns(r, k)
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(cols, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], kts, cols, i)
				f(string(buf), r, i)
			}
		}
	}
}

// A cascade (ON DELETE / ON UPDATE CASCADE, SET NULL) locks the child rows
// it changes as the DELETE or UPDATE PostgreSQL runs on the child does:
// a deleted row FOR UPDATE, an updated one FOR UPDATE when a column of
// one of the child's unique keys changes, else FOR NO KEY UPDATE. A row
// another session holds makes the whole statement wait for it and run
// again on the newest committed rows (the child's among them), as for
// the rows the statement changes itself; a cascade of more than
// maxLockedRows rows takes no locks.

// childLocks are the locks a cascade takes on one child table's rows
// (nil where s takes no row locks on it).
type childLocks struct {
	child   *catalog.Table
	keyCols []int // the columns of the child's unique keys
	reqs    []lockRequest
	tooMany bool
}

func (s *Session) newChildLocks(child *catalog.Table) *childLocks {
	if !s.locksRows(child) {
		return nil
	}
	l := &childLocks{child: child, keyCols: nameColumns(child)}
	for _, k := range child.Keys {
		l.keyCols = append(l.keyCols, k.Columns...)
	}
	return l
}

// add notes the rows of r a cascade deletes (deleting) or changes the
// columns changed of.
func (l *childLocks) add(r arrow.Record, rows []int, deleting bool, changed []int) {
	if l == nil || l.tooMany {
		return
	}
	mode := lockForNoKeyUpdate
	for _, c := range changed {
		if slices.Contains(l.keyCols, c) {
			mode = lockForUpdate
		}
	}
	if deleting {
		mode = lockForUpdate
	}
	if len(l.reqs)+len(rows) > maxLockedRows {
		l.reqs, l.tooMany = nil, true
		return
	}
	// (named now: a later reference of the same child replaces r)
	locked := make([]lockedRow, len(rows))
	for k, i := range rows {
		locked[k] = lockedRow{batchRow{r, i}, mode}
	}
	l.reqs = append(l.reqs, rowLockKeys(l.child, locked)...)
}

// take takes the locks, or returns a *rowLockBlocked naming the first one
// another session holds.
func (l *childLocks) take(s *Session) error {
	if l == nil || len(l.reqs) == 0 {
		return nil
	}
	if blocker := s.db.rowLocks.tryLock(s, l.reqs); blocker != nil {
		return &rowLockBlocked{req: *blocker}
	}
	return nil
}

// rowLockBlocked stops a statement whose cascade found a child row locked
// by another session: the statement waits for req and runs again.
type rowLockBlocked struct{ req lockRequest }

func (e *rowLockBlocked) Error() string {
	return "a row a cascade changes is locked by another session"
}
