package storage

import (
	"io"
	"sync/atomic"
	"syscall"
)

// diskQuota lets tests run the store out of disk space the way a full file
// system would: once armed, writes past the remaining budget fail with
// ENOSPC after writing what fits. Unarmed (the default) it does nothing.
type diskQuota struct {
	armed     atomic.Bool
	remaining atomic.Int64
}

// limit arms the quota with n more bytes to write.
func (q *diskQuota) limit(n int64) {
	q.remaining.Store(n)
	q.armed.Store(true)
}

// check takes n bytes from the budget, or fails without taking any.
func (q *diskQuota) check(n int64) error {
	if !q.armed.Load() {
		return nil
	}
	if q.remaining.Add(-n) < 0 {
		q.remaining.Add(n)
		return syscall.ENOSPC
	}
	return nil
}

func (q *diskQuota) writer(w io.Writer) io.Writer {
	if !q.armed.Load() {
		return w
	}
	return quotaWriter{w: w, q: q}
}

type quotaWriter struct {
	w io.Writer
	q *diskQuota
}

func (qw quotaWriter) Write(p []byte) (int, error) {
	if err := qw.q.check(int64(len(p))); err != nil {
		fits := max(qw.q.remaining.Swap(0), 0)
		n, _ := qw.w.Write(p[:min(fits, int64(len(p)))])
		return n, err
	}
	return qw.w.Write(p)
}

// LimitDisk is a test hook: from now on the store may write n more bytes,
// and writes past that fail as on a full file system (ENOSPC). The log
// gives up the zeros it allocated ahead (as if the disk had filled
// before it allocated them), so that its next append needs new space.
func (st *Store) LimitDisk(n int64) {
	st.flushMu.Lock()
	defer st.flushMu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if w := st.wal; w != nil && w.room > w.size {
		if err := w.f.Truncate(w.size); err == nil {
			w.room = w.size
		}
	}
	st.quota.limit(n)
}

// UnlimitDisk is a test hook: it lifts LimitDisk's limit.
func (st *Store) UnlimitDisk() { st.quota.armed.Store(false) }

// StallLogSync is a test hook: f runs in each flush of the log between
// its write and its sync, with no lock of the store held (nil: none).
func (st *Store) StallLogSync(f func()) {
	st.flushMu.Lock()
	defer st.flushMu.Unlock()
	st.beforeLogSync = f
}
