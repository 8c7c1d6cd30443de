package engine

import (
	"context"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Row locks give UPDATE and DELETE PostgreSQL's READ COMMITTED behaviour
// where an index finds their rows (pgbench, an ORM's save()): a statement
// that would change a row another open block changed waits for that block
// to end, then runs again on the newest committed data, re-evaluating its
// WHERE there (a row that no longer matches is left alone). A block
// holds the locks of the rows it changed, by primary key, until it ends
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
// COMMIT then merges without 40001.
//
// REPEATABLE READ and SERIALIZABLE blocks take no locks and keep
// first-committer-wins (40001 at COMMIT), and so do tables without a
// primary key and statements that change more than maxLockedRows rows.

// maxLockedRows is the most rows one statement locks; a larger change
// is left to first-committer-wins.
const maxLockedRows = 10000

// appendFlagged adds to rows the rows of batch in that the rewrite output
// r (row for row with in) updates (flag true) or deletes (flag not true).
func appendFlagged(rows []batchRow, in, r arrow.Record, mode rewriteMode) []batchRow {
	flag := r.Column(int(r.NumCols()) - 1).(*array.Boolean)
	for i := 0; i < flag.Len(); i++ {
		set := flag.IsValid(i) && flag.Value(i)
		if set == (mode == rewriteUpdate) {
			rows = append(rows, batchRow{in, i})
		}
	}
	return rows
}

// rowLockKey names a row by its table and encoded primary key.
type rowLockKey struct {
	oid uint32
	key string
}

// rowLock is a held lock; released is closed when its holder lets go
// (and done set, under rowLocks.mu).
type rowLock struct {
	holder   *Session
	released chan struct{}
	done     bool
}

// rowLocks is the database's table of held row locks.
type rowLocks struct {
	mu   sync.Mutex
	held map[rowLockKey]*rowLock
	// waiting is the lock each waiting session waits for (deadlock
	// detection follows it from holder to holder)
	waiting map[*Session]*rowLock
}

func newRowLocks() *rowLocks {
	return &rowLocks{held: map[rowLockKey]*rowLock{}, waiting: map[*Session]*rowLock{}}
}

// tryLock takes the locks of keys for s, stopping at the first one
// another session holds (returned; the locks taken before it stay).
func (l *rowLocks) tryLock(s *Session, keys []rowLockKey) *rowLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if h, ok := l.held[k]; ok {
			if h.holder != s {
				return h
			}
			continue
		}
		l.held[k] = &rowLock{holder: s, released: make(chan struct{})}
		s.heldRows = append(s.heldRows, k)
	}
	return nil
}

// heldByOther reports whether another session than s holds the lock of
// one of keys of table oid.
func (l *rowLocks) heldByOther(s *Session, keys []rowLockKey, oid uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if h, ok := l.held[k]; ok && k.oid == oid && h.holder != s {
			return true
		}
	}
	return false
}

// unlockExcept lets go of the locks s took since it held heldBefore of
// them, except those of keep.
func (l *rowLocks) unlockExcept(s *Session, heldBefore int, keep []rowLockKey) {
	kept := make(map[rowLockKey]bool, len(keep))
	for _, k := range keep {
		kept[k] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rest := s.heldRows[:heldBefore]
	for _, k := range s.heldRows[heldBefore:] {
		if kept[k] {
			rest = append(rest, k)
			continue
		}
		if h, ok := l.held[k]; ok && h.holder == s {
			delete(l.held, k)
			h.done = true
			close(h.released)
		}
	}
	s.heldRows = rest
}

// wait returns once lock is released, or with 40P01 when its holder
// waits (through others) for s, with 55P03 after lock_timeout, or when
// ctx ends.
func (l *rowLocks) wait(ctx context.Context, s *Session, lock *rowLock) error {
	l.mu.Lock()
	// follow who waits for whom; a lock let go (its waiter not yet awake)
	// holds nobody up
	for h, at := lock.holder, lock; h != nil && !at.done; {
		if h == s {
			l.mu.Unlock()
			return sqlerr.New(sqlerr.DeadlockDetected, "deadlock detected").
				WithDetail("This transaction waits for a row another transaction changed, which waits for a row this one changed.").
				WithHint("See server log for query details.")
		}
		next, ok := l.waiting[h]
		if !ok {
			break
		}
		h, at = next.holder, next
	}
	l.waiting[s] = lock
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.waiting, s)
		l.mu.Unlock()
	}()
	var timeout <-chan time.Time
	if d := s.lockTimeout(); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-lock.released:
		return nil
	case <-ctx.Done():
		return sqlerr.Wrap(ctx.Err())
	case <-timeout:
		return errLockTimeout()
	}
}

// releaseRowLocks lets go of every row lock s holds.
func (s *Session) releaseRowLocks() {
	if len(s.heldRows) == 0 {
		return
	}
	l := s.db.rowLocks
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range s.heldRows {
		if h, ok := l.held[k]; ok && h.holder == s {
			delete(l.held, k)
			h.done = true
			close(h.released)
		}
	}
	s.heldRows = nil
}

// locksRows reports whether an UPDATE or DELETE of t by s takes row
// locks: t has a primary key, and s is outside a block or in a READ
// COMMITTED (or READ UNCOMMITTED) one.
func (s *Session) locksRows(t *catalog.Table) bool {
	if primaryKey(t) == nil {
		return false
	}
	if s.tx == nil {
		return true
	}
	level := s.tx.mode.isolation
	if level == "" {
		level = s.settings["default_transaction_isolation"]
	}
	return level == "read committed" || level == "read uncommitted" || level == ""
}

func primaryKey(t *catalog.Table) *catalog.Key {
	for i := range t.Keys {
		if t.Keys[i].Primary {
			return &t.Keys[i]
		}
	}
	return nil
}

// rowLockKeys are the lock names of rows of t (by batch and position).
func rowLockKeys(t *catalog.Table, rows []batchRow) []rowLockKey {
	pk := primaryKey(t)
	kts := keyTypes(t, *pk)
	out := make([]rowLockKey, 0, len(rows))
	var buf []byte
	cols := make([]arrow.Array, len(pk.Columns))
	for _, r := range rows {
		for i, c := range pk.Columns {
			cols[i] = r.rec.Column(c)
		}
		buf = exec.EncodeKey(buf[:0], kts, cols, r.row)
		out = append(out, rowLockKey{oid: t.OID, key: string(buf)})
	}
	return out
}

// rebaseWork moves a READ COMMITTED block's private version of t onto
// what others committed since it forked (t's lock held), so that the
// statement about to run reads the newest committed rows besides its own
// changes.
func (s *Session) rebaseWork(t *catalog.Table) error {
	if s.tx == nil {
		return nil
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
		s.replaceWork(t, w, parts)
		return nil
	}
	parts, keysKept, err := s.mergeBatches(t, w.base, w.data, t.Current())
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
	s.replaceWork(t, w, parts)
	return nil
}

// replaceWork makes parts (owned by the call) the block's version of t,
// forked from t's current data.
func (s *Session) replaceWork(t *catalog.Table, w *tableWork, parts [][]arrow.Record) {
	base := t.Snapshot()
	data := catalog.NewSnapshotAfter(base, parts)
	w.base.Release()
	w.data.Release()
	w.base, w.data = base, data
}
