package engine

import (
	"context"
	"sync"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// The row lock table: PostgreSQL's four row lock strengths with its
// conflict table, one hold per session and row (a stronger request
// strengthens it), a log per session of what it took so that ROLLBACK TO
// SAVEPOINT gives back what it took since (a lock strengthened since goes
// back to its old strength, as PostgreSQL's aborted subtransaction's
// share of the row's lockers does), and PostgreSQL's deadlock check: a
// session that has waited deadlock_timeout looks for a circle of waits
// through itself and, when it finds one, fails with 40P01 (so the first
// of two sessions to wait is the one to fail, as in PostgreSQL).

// lockMode is a row lock's strength, weakest first.
type lockMode int8

const (
	lockNone           lockMode = iota
	lockForKeyShare             // FOR KEY SHARE (a foreign key's check in PostgreSQL)
	lockForShare                // FOR SHARE
	lockForNoKeyUpdate          // FOR NO KEY UPDATE, an UPDATE that keeps the row's keys
	lockForUpdate               // FOR UPDATE, DELETE, an UPDATE of a key
)

// lockConflicts is PostgreSQL's row lock conflict table (explicit-locking
// "Conflicting Row-Level Locks").
var lockConflicts = [5][5]bool{
	lockForKeyShare:    {lockForUpdate: true},
	lockForShare:       {lockForNoKeyUpdate: true, lockForUpdate: true},
	lockForNoKeyUpdate: {lockForShare: true, lockForNoKeyUpdate: true, lockForUpdate: true},
	lockForUpdate:      {lockForKeyShare: true, lockForShare: true, lockForNoKeyUpdate: true, lockForUpdate: true},
}

func (m lockMode) conflictsWith(o lockMode) bool { return lockConflicts[m][o] }

// rowLockKey names a row by its table and encoded primary key.
type rowLockKey struct {
	oid uint32
	key string
}

// lockRequest is a row lock a statement asks for.
type lockRequest struct {
	key  rowLockKey
	mode lockMode
}

// rowLock is one session's hold on a row; released is closed when the
// holder lets go of it or weakens it (a waiter then tries again).
type rowLock struct {
	holder   *Session
	mode     lockMode
	released chan struct{}
}

// heldRow is an entry of a session's lock log: a row lock it took or
// strengthened, and the strength it held before (lockNone: none).
type heldRow struct {
	key    rowLockKey
	before lockMode
}

// rowLocks is the database's table of held row locks.
type rowLocks struct {
	mu   sync.Mutex
	held map[rowLockKey][]*rowLock
	// waiting is the lock each waiting session asks for (the deadlock
	// check follows it to the sessions holding the row), and since when
	waiting   map[*Session]lockRequest
	waitStart map[*Session]time.Time
	// xids number the sessions that hold or wait for row locks, as
	// pg_locks shows their transactions (pglocks.go)
	xids    map[*Session]uint64
	nextXID uint64
}

func newRowLocks() *rowLocks {
	return &rowLocks{held: map[rowLockKey][]*rowLock{}, waiting: map[*Session]lockRequest{},
		waitStart: map[*Session]time.Time{}, xids: map[*Session]uint64{}}
}

// conflicting is a hold of another session than s that req conflicts
// with, or nil (l.mu held).
func (l *rowLocks) conflicting(s *Session, req lockRequest) *rowLock {
	for _, h := range l.held[req.key] {
		if h.holder != s && h.mode.conflictsWith(req.mode) {
			return h
		}
	}
	return nil
}

// own is s's hold on key, or nil (l.mu held).
func (l *rowLocks) own(s *Session, key rowLockKey) *rowLock {
	for _, h := range l.held[key] {
		if h.holder == s {
			return h
		}
	}
	return nil
}

// tryLock takes (or strengthens) the locks reqs ask for, for s, stopping
// at the first one another session's lock conflicts with (returned; the
// locks taken before it stay).
func (l *rowLocks) tryLock(s *Session, reqs []lockRequest) *lockRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, req := range reqs {
		if l.conflicting(s, req) != nil {
			return &reqs[i]
		}
		h := l.own(s, req.key)
		switch {
		case h == nil:
			l.noteXID(s)
			l.held[req.key] = append(l.held[req.key], &rowLock{holder: s, mode: req.mode, released: make(chan struct{})})
			s.heldRows = append(s.heldRows, heldRow{key: req.key})
		case req.mode > h.mode:
			// (a waiter for the weaker hold conflicts with the stronger
			// one too: it goes on waiting for the same release)
			s.heldRows = append(s.heldRows, heldRow{key: req.key, before: h.mode})
			h.mode = req.mode
		}
	}
	return nil
}

// setMode makes s's hold on key mode (lockNone: lets go of it), waking
// the sessions waiting for the hold it had (l.mu held).
func (l *rowLocks) setMode(s *Session, key rowLockKey, mode lockMode) {
	holds := l.held[key]
	for i, h := range holds {
		if h.holder != s || h.mode == mode {
			continue
		}
		close(h.released)
		if mode != lockNone {
			holds[i] = &rowLock{holder: s, mode: mode, released: make(chan struct{})}
			return
		}
		holds = append(holds[:i], holds[i+1:]...)
		if len(holds) == 0 {
			delete(l.held, key)
		} else {
			l.held[key] = holds
		}
		return
	}
}

// unlockSince gives back what s took since its log was n entries long
// (newest first, each lock to the strength it had before), except the
// locks of keep's rows.
func (l *rowLocks) unlockSince(s *Session, n int, keep []lockRequest) {
	if len(s.heldRows) <= n {
		return
	}
	kept := make(map[rowLockKey]bool, len(keep))
	for _, k := range keep {
		kept[k.key] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	later := s.heldRows[n:]
	for i := len(later) - 1; i >= 0; i-- {
		if !kept[later[i].key] {
			l.setMode(s, later[i].key, later[i].before)
		}
	}
	rest := s.heldRows[:n]
	for _, e := range later {
		if kept[e.key] {
			rest = append(rest, e)
		}
	}
	s.heldRows = rest
}

// releaseRowLocks lets go of every row lock s holds (and of the
// transaction id pg_locks shows for it).
func (s *Session) releaseRowLocks() {
	if s.hasXID {
		s.db.rowLocks.dropXID(s)
	}
	if len(s.heldRows) == 0 {
		return
	}
	s.db.rowLocks.unlockSince(s, 0, nil)
}

// wait returns once the hold req waits for is let go of or weakened (the
// caller tries again), with 40P01 when after deadlock_timeout s finds it
// waits (through others) for itself, with 55P03 after lock_timeout, or
// when ctx ends.
func (l *rowLocks) wait(ctx context.Context, s *Session, req lockRequest) error {
	l.mu.Lock()
	h := l.conflicting(s, req)
	if h == nil {
		l.mu.Unlock()
		return nil // let go of meanwhile
	}
	l.waiting[s] = req
	l.waitStart[s] = time.Now()
	l.noteXID(s)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.waiting, s)
		delete(l.waitStart, s)
		l.mu.Unlock()
	}()
	var timeout <-chan time.Time
	if d := s.lockTimeout(); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	deadlockTimer := time.NewTimer(s.deadlockTimeout())
	defer deadlockTimer.Stop()
	check := deadlockTimer.C
	for {
		select {
		case <-h.released:
			return nil
		case <-ctx.Done():
			return sqlerr.Wrap(ctx.Err())
		case <-timeout:
			return errLockTimeout()
		case <-check:
			check = nil // once a wait, as PostgreSQL: a circle closed later is found by the session closing it
			if l.quitIfDeadlocked(s) {
				return errDeadlock()
			}
		}
	}
}

// quitIfDeadlocked reports whether s waits, through others, for itself;
// if so it stops waiting at once, so that the others in the circle find
// none when their own check runs.
func (l *rowLocks) quitIfDeadlocked(s *Session) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.waitsFor(s, s, map[*Session]bool{}) {
		return false
	}
	delete(l.waiting, s)
	return true
}

// waitsFor reports whether from waits for a lock target holds, directly
// or through the sessions holding what it waits for (l.mu held).
func (l *rowLocks) waitsFor(from, target *Session, seen map[*Session]bool) bool {
	req, ok := l.waiting[from]
	if !ok {
		return false
	}
	for _, h := range l.held[req.key] {
		if h.holder == from || !h.mode.conflictsWith(req.mode) {
			continue
		}
		if h.holder == target {
			return true
		}
		if !seen[h.holder] {
			seen[h.holder] = true
			if l.waitsFor(h.holder, target, seen) {
				return true
			}
		}
	}
	return false
}

func errDeadlock() error {
	return sqlerr.New(sqlerr.DeadlockDetected, "deadlock detected").
		WithDetail("This transaction waits for a row lock another transaction holds, which waits (directly or through others) for a row lock this one holds.").
		WithHint("See server log for query details.")
}

// deadlockTimeout is the deadlock_timeout setting: how long a lock wait
// goes on before the session looks for a deadlock (PostgreSQL's 1s by
// default).
func (s *Session) deadlockTimeout() time.Duration {
	if d := parseTimeout(s.settings["deadlock_timeout"]); d > 0 {
		return d
	}
	return time.Second
}
