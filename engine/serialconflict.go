package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// REPEATABLE READ and SERIALIZABLE blocks take the row locks READ
// COMMITTED ones take (an UPDATE, DELETE or SELECT … FOR UPDATE waits for
// a block holding the row, and holds it until it ends), but they do not
// move onto what others committed: where a row the statement updates,
// deletes or locks was updated or deleted by a commit since the block's
// snapshot (snapshot.go; for a table it created or after its own DDL,
// since the statement began), the statement fails at once with 40001,
// as PostgreSQL's does, instead of at COMMIT. A wait for a block that
// then rolls back goes on. (Unlike PostgreSQL, an update that left every
// value of the row as it was is not seen as one.)

// readsNewest reports whether s's statements read the newest committed
// rows: outside a block, or in a READ COMMITTED (or READ UNCOMMITTED) one.
func (s *Session) readsNewest() bool {
	if s.tx == nil {
		return true
	}
	level := s.tx.mode.isolation
	if level == "" {
		level = s.settings["default_transaction_isolation"]
	}
	return level == "read committed" || level == "read uncommitted" || level == ""
}

// serialSince is what the rows a REPEATABLE READ statement changes of t
// must be unchanged since: the block's version's starting point, or t's
// committed data now (nil where s reads the newest rows). The caller
// releases it.
func (s *Session) serialSince(t *catalog.Table) *catalog.Snapshot {
	if s.readsNewest() {
		return nil
	}
	t.Lock()
	defer t.Unlock()
	if w := s.tx.work[t]; w != nil {
		w.base.Retain()
		return w.base
	}
	return s.forkBase(t)
}

// changedSince returns 40001 when one of the rows of t that reqs lock
// (by rowIdentity; requests of other tables are passed over) was updated
// or deleted in t's committed data since since (nil: no check). writing
// names a deleted row's error as an UPDATE or DELETE does ("concurrent
// delete"; a locking SELECT says "concurrent update" for both).
func changedSince(t *catalog.Table, since *catalog.Snapshot, reqs []lockRequest, writing bool) error {
	if since == nil || len(reqs) == 0 {
		return nil
	}
	now := t.Snapshot()
	defer now.Release()
	if now == since {
		return nil
	}
	want := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		if r.key.oid == t.OID {
			want[r.key.key] = true
		}
	}
	// only rows of batches that changed can have changed
	before, after := map[string]batchRow{}, map[string]batchRow{}
	for _, c := range changesFrom(since, now) {
		rowsByKey(t, c.base, want, before)
		rowsByKey(t, c.now, want, after)
	}
	for key, old := range before {
		cur, ok := after[key]
		switch {
		case !ok && writing && !identityOf(t).byValue:
			// (a row named by its values is gone after an UPDATE too)
			return errConcurrent("delete")
		case !ok || !sameRow(old, cur):
			return errConcurrent("update")
		}
	}
	return nil
}

// rowsByKey adds the rows of rec (nil: none) whose lock key
// (rowIdentity) is in want to into, by key.
func rowsByKey(t *catalog.Table, rec arrow.Record, want map[string]bool, into map[string]batchRow) {
	if rec == nil {
		return
	}
	id := identityOf(t)
	var buf []byte
	var key string
	for i := 0; i < int(rec.NumRows()); i++ {
		buf, key = id.rowKey(buf, rec, i)
		if want[key] {
			into[key] = batchRow{rec, i}
		}
	}
}

// sameRow reports whether two rows hold the same values.
func sameRow(a, b batchRow) bool {
	if a.rec == b.rec && a.row == b.row {
		return true
	}
	if a.rec.NumCols() != b.rec.NumCols() {
		return false
	}
	for c := 0; c < int(a.rec.NumCols()); c++ {
		if !array.SliceEqual(a.rec.Column(c), int64(a.row), int64(a.row+1), b.rec.Column(c), int64(b.row), int64(b.row+1)) {
			return false
		}
	}
	return true
}

// errConcurrent is PostgreSQL's 40001 for a row another transaction
// updated or deleted since this one's snapshot.
func errConcurrent(what string) error {
	return sqlerr.New(sqlerr.SerializationFailure, "could not serialize access due to concurrent %s", what)
}

// serialSinces is serialSince of each table a locking SELECT locks (nil
// where s reads the newest rows).
func (s *Session) serialSinces(target lockTarget) map[*catalog.Table]*catalog.Snapshot {
	if s.readsNewest() {
		return nil
	}
	out := map[*catalog.Table]*catalog.Snapshot{}
	for _, lt := range target.tables {
		if out[lt.table] == nil {
			out[lt.table] = s.serialSince(lt.table)
		}
	}
	return out
}

// changedSinces is changedSince for the rows of each table of sinces that
// a locking SELECT locks.
func changedSinces(sinces map[*catalog.Table]*catalog.Snapshot, reqs []lockRequest) error {
	for t, since := range sinces {
		if err := changedSince(t, since, reqs, false); err != nil {
			return err
		}
	}
	return nil
}
