package engine

import (
	"context"
	"sync"

	"github.com/weftdb/weft/exec"
)

// advisoryLocks is the database's table of advisory locks
// (pg_advisory_lock and friends), shared by every session. A lock is held
// exclusively by one session, or shared by any number; a session may take
// the same lock several times and holds it until it has given back every
// hold. Holds taken for a transaction go at its end; session holds at
// pg_advisory_unlock or when the session closes.
//
// Waiters are woken by closing a channel whenever anything is given back,
// so that a wait can end on cancellation as well (statement_timeout,
// pg_cancel_backend). There is no deadlock detection: two sessions waiting
// for each other wait until one is cancelled or times out.
type advisoryLocks struct {
	mu      sync.Mutex
	held    map[exec.AdvisoryKey]map[int32]*advisoryHolds // by key, by session pid
	changed chan struct{}
}

// advisoryHolds counts one session's holds of one lock.
type advisoryHolds struct {
	exclusive, shared         int // session-level
	xactExclusive, xactShared int // until the transaction ends
}

func (h *advisoryHolds) empty() bool {
	return h.exclusive+h.shared+h.xactExclusive+h.xactShared == 0
}

func (h *advisoryHolds) exclusiveHeld() bool { return h.exclusive+h.xactExclusive > 0 }

func newAdvisoryLocks() *advisoryLocks {
	return &advisoryLocks{held: map[exec.AdvisoryKey]map[int32]*advisoryHolds{}, changed: make(chan struct{})}
}

// grantable reports whether pid may take the lock now: nobody else holds
// it exclusively, and for an exclusive lock nobody else holds it at all.
func (l *advisoryLocks) grantable(key exec.AdvisoryKey, pid int32, shared bool) bool {
	for other, h := range l.held[key] {
		if other == pid {
			continue
		}
		if !shared || h.exclusiveHeld() {
			return false
		}
	}
	return true
}

func (l *advisoryLocks) lock(ctx context.Context, pid int32, key exec.AdvisoryKey, shared, xact, wait bool) (bool, error) {
	for {
		l.mu.Lock()
		if l.grantable(key, pid, shared) {
			l.add(pid, key, shared, xact)
			l.mu.Unlock()
			return true, nil
		}
		changed := l.changed
		l.mu.Unlock()
		if !wait {
			return false, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

func (l *advisoryLocks) add(pid int32, key exec.AdvisoryKey, shared, xact bool) {
	byPid := l.held[key]
	if byPid == nil {
		byPid = map[int32]*advisoryHolds{}
		l.held[key] = byPid
	}
	h := byPid[pid]
	if h == nil {
		h = &advisoryHolds{}
		byPid[pid] = h
	}
	switch {
	case xact && shared:
		h.xactShared++
	case xact:
		h.xactExclusive++
	case shared:
		h.shared++
	default:
		h.exclusive++
	}
}

// unlock gives back one session-level hold.
func (l *advisoryLocks) unlock(pid int32, key exec.AdvisoryKey, shared bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.held[key][pid]
	if h == nil {
		return false
	}
	n := &h.exclusive
	if shared {
		n = &h.shared
	}
	if *n == 0 {
		return false
	}
	*n--
	l.forgetIfEmpty(pid, key, h)
	l.wake()
	return true
}

// release gives back the session's transaction holds and, with
// sessionToo, its session holds as well.
func (l *advisoryLocks) release(pid int32, sessionToo bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	woke := false
	for key, byPid := range l.held {
		h := byPid[pid]
		if h == nil {
			continue
		}
		if h.xactExclusive+h.xactShared > 0 || sessionToo {
			woke = true
		}
		h.xactExclusive, h.xactShared = 0, 0
		if sessionToo {
			h.exclusive, h.shared = 0, 0
		}
		l.forgetIfEmpty(pid, key, h)
	}
	if woke {
		l.wake()
	}
}

func (l *advisoryLocks) forgetIfEmpty(pid int32, key exec.AdvisoryKey, h *advisoryHolds) {
	if !h.empty() {
		return
	}
	delete(l.held[key], pid)
	if len(l.held[key]) == 0 {
		delete(l.held, key)
	}
}

// wake lets every waiter look again (called with mu held).
func (l *advisoryLocks) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// sessionAdvisory is the exec.AdvisoryLocks of one session.
type sessionAdvisory struct{ s *Session }

func (a sessionAdvisory) Lock(ctx context.Context, key exec.AdvisoryKey, shared, xact, wait bool) (bool, error) {
	return a.s.db.advisory.lock(ctx, a.s.act.pid, key, shared, xact, wait)
}

func (a sessionAdvisory) Unlock(key exec.AdvisoryKey, shared bool) bool {
	return a.s.db.advisory.unlock(a.s.act.pid, key, shared)
}

func (a sessionAdvisory) UnlockAll() { a.s.db.advisory.release(a.s.act.pid, true) }

// releaseXactAdvisory gives back the transaction-level advisory locks:
// at the end of a block, or of a statement run outside one.
func (s *Session) releaseXactAdvisory() {
	if s.tx == nil {
		s.db.advisory.release(s.act.pid, false)
	}
}
