package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
)

// A statement that changes more than maxLockedRows rows takes no row
// locks: a lock table entry per row costs more than the statement (a
// 1,000,000-row UPDATE took about 2s; locking its rows 4-6s more and
// hundreds of megabytes). It still waits, as PostgreSQL's would, for the
// rows among those it changes that another session holds (an open block's
// UPDATE or FOR UPDATE): the few rows held on the table are listed before
// it runs, and its changed rows' keys are encoded only when there are
// any. Sessions that come later do not wait for it: a block changing one
// of its rows meanwhile meets first-committer-wins (40001 at COMMIT), as
// before.

// heldByOthers are the keys of t's rows that sessions other than s hold,
// with the strongest strength held (nil when none: the usual case).
func (l *rowLocks) heldByOthers(s *Session, oid uint32) map[string]lockMode {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out map[string]lockMode
	for key, holds := range l.held {
		if key.oid != oid {
			continue
		}
		for _, h := range holds {
			if h.holder == s {
				continue
			}
			if out == nil {
				out = map[string]lockMode{}
			}
			out[key.key] = max(out[key.key], h.mode)
		}
	}
	return out
}

// heldFlaggedRow is the lock to wait for of a row of in that the rewrite
// output r (row for row with in) changes and another session holds (nil:
// none).
func heldFlaggedRow(t *catalog.Table, in, r arrow.Record, mode rewriteMode, foreign map[string]lockMode) *lockRequest {
	flag := r.Column(int(r.NumCols()) - 1).(*array.Boolean)
	id := identityOf(t)
	want := lockForNoKeyUpdate
	if mode == rewriteDelete || id.byValue { // (renaming the row: nameColumns)
		want = lockForUpdate
	}
	var buf []byte
	var key string
	for i := 0; i < flag.Len(); i++ {
		set := flag.IsValid(i) && flag.Value(i)
		if set != (mode == rewriteUpdate) {
			continue
		}
		buf, key = id.rowKey(buf, in, i)
		if m, ok := foreign[key]; ok && m.conflictsWith(want) {
			return &lockRequest{key: rowLockKey{oid: t.OID, key: key}, mode: want}
		}
	}
	return nil
}

// firstHeldByOthers is the first of reqs whose row another session holds in a
// conflicting strength (nil: none).
func firstHeldByOthers(reqs []lockRequest, foreign map[string]lockMode) *lockRequest {
	for i, r := range reqs {
		if m, ok := foreign[r.key.key]; ok && m.conflictsWith(r.mode) {
			return &reqs[i]
		}
	}
	return nil
}
