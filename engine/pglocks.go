package engine

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/weftdb/weft/exec"
)

// pg_locks shows the row locks as PostgreSQL shows them to monitoring
// queries (the "who blocks whom" join of pg_locks with itself,
// pg_blocking_pids): each session holding or waiting for row locks has a
// transaction id, held ExclusiveLock ("transactionid", granted); a session
// waiting for a row holds the row's "tuple" lock (granted, its table as
// relation; no page or tuple number, which Weft's rows lack) and waits
// for the transaction id of a session holding the row (ShareLock, not
// granted, with waitstart). Other locks (tables, advisory locks) are not
// listed.

// noteXID numbers s's transaction if it has no number yet (l.mu held).
func (l *rowLocks) noteXID(s *Session) {
	if s.hasXID {
		return
	}
	l.nextXID++
	l.xids[s] = 1000 + l.nextXID // (PostgreSQL's normal ids start above 3)
	s.hasXID = true
}

// dropXID lets go of s's transaction number (its transaction ended).
func (l *rowLocks) dropXID(s *Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.xids, s)
	s.hasXID = false
}

// tupleLockMode is the mode PostgreSQL's pg_locks shows for the tuple lock
// of a row lock request of strength m.
func tupleLockMode(m lockMode) string {
	switch m {
	case lockForKeyShare:
		return "AccessShareLock"
	case lockForShare:
		return "RowShareLock"
	case lockForNoKeyUpdate:
		return "ExclusiveLock"
	}
	return "AccessExclusiveLock"
}

// pgLocks are the rows pg_locks shows, by process id.
func (l *rowLocks) pgLocks() []exec.LockInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []exec.LockInfo
	for s, xid := range l.xids {
		out = append(out, exec.LockInfo{LockType: "transactionid", TransactionID: strconv.FormatUint(xid, 10),
			PID: s.act.pid, Mode: "ExclusiveLock", Granted: true})
	}
	for s, req := range l.waiting {
		out = append(out, exec.LockInfo{LockType: "tuple", Relation: req.key.oid, PID: s.act.pid, Mode: tupleLockMode(req.mode), Granted: true})
		if h := l.conflicting(s, req); h != nil {
			out = append(out, exec.LockInfo{LockType: "transactionid", TransactionID: strconv.FormatUint(l.xids[h.holder], 10),
				PID: s.act.pid, Mode: "ShareLock", WaitStart: l.waitStart[s]})
		}
	}
	slices.SortFunc(out, func(a, b exec.LockInfo) int {
		if a.PID != b.PID {
			return int(a.PID - b.PID)
		}
		if a.Granted != b.Granted {
			if a.Granted {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.LockType, b.LockType)
	})
	return out
}

// blockingPIDs is the process id of the session whose transaction the
// session pid waits for: the first holder of a lock conflicting with its
// row lock request (several FOR SHARE holders are waited for one after
// the other, and PostgreSQL names the one waited for now).
func (l *rowLocks) blockingPIDs(pid int32) []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	for s, req := range l.waiting {
		if s.act.pid == pid {
			if h := l.conflicting(s, req); h != nil {
				return []int32{h.holder.act.pid}
			}
		}
	}
	return nil
}

func (b sessionBackends) Locks() []exec.LockInfo { return b.s.db.rowLocks.pgLocks() }

func (b sessionBackends) BlockingPIDs(pid int64) []int32 {
	if int64(int32(pid)) != pid {
		return nil
	}
	return b.s.db.rowLocks.blockingPIDs(int32(pid))
}
