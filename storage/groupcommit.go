package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"sync"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Group commit: concurrent commits share one write and one fsync of the
// log. A commit queues its entry (framed, in the order the store's lock
// gives) and then waits until a flush covers it. Flushes are run by a
// flusher goroutine that lives while there is something to write: the
// first commit to wait when none runs starts it, and it writes every
// entry queued so far in one write, syncs once, and at once starts the
// next flush if commits queued meanwhile, so the commits that queued
// while one fsync ran are made durable by the next one together, without
// waiting for one of them to be woken up to start it.
//
// Entries are collected in batches: the batch a flush carries is closed
// when it ends, waking only the commits whose entries it carried (a
// commit of an entry queued during that flush waits for the next batch,
// not for this one and then again).
//
// The log's rules hold as before: entries reach the file in queue order,
// each write appends after the last synced byte, and a crash during a
// write leaves at most a torn tail of unacknowledged entries, which open
// cuts off. A write or fsync that fails fails every entry it carried and
// every entry queued after them (written as differences from layouts that
// never became durable), and the log is not used again until the next
// checkpoint.
//
// The queue has a lock of its own (logQueue.mu), taken briefly: a commit
// building its entry under the store's lock (QueueTables) holds up
// neither the end of a flush, nor the start of the next, nor the commits
// a flush wakes.
//
// Lock order: flushMu, then the store's mu, then the queue's mu. st.wal
// is replaced (or dropped) only under flushMu and mu both, so a flush,
// which holds flushMu, reads it without mu.

// logQueue is the entries waiting for a flush, and how far flushes got.
type logQueue struct {
	mu      sync.Mutex // guards the fields below
	buf     []byte     // framed entries not written yet
	queued  uint64     // sequence number of the last entry queued
	flushed uint64     // of the last entry a flush finished with (or failed)
	syncs   uint64     // how many syncs flushes made (LogSyncs)
	// collecting is the batch of the entries queued since the last flush
	// took the queue (nil: none yet); carried is the batch the flush
	// running now writes, up to entry carriedLast (nil: no flush runs)
	collecting, carried *flushBatch
	carriedLast         uint64
	// flusher is set while the flusher goroutine runs
	flusher  bool
	failures []failedEntries
	// spare is the buffer of the last flush, written and free again: the
	// next entries are framed into it rather than a new one
	spare []byte
}

// flushBatch is the entries one flush carries: done is closed when the
// flush has ended, err (set before) is why it lost them.
type flushBatch struct {
	done chan struct{}
	err  error
}

// failedEntries are the sequence numbers a failed flush lost.
type failedEntries struct {
	from, to uint64
	err      error
}

// queueEntry frames payload as the log's next entry and queues it for the
// next flush (st.mu held); it returns the entry's sequence number and its
// offset in the file.
func (st *Store) queueEntry(payload []byte) (seq uint64, off int64, err error) {
	if int64(len(payload)) > math.MaxUint32 {
		return 0, 0, fmt.Errorf("log entry of %d bytes", len(payload))
	}
	q := &st.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.buf == nil {
		q.buf, q.spare = q.spare, nil
	}
	n := uint32(len(payload))
	q.buf = binary.LittleEndian.AppendUint32(q.buf, n)
	q.buf = binary.LittleEndian.AppendUint32(q.buf, ^n)
	q.buf = binary.LittleEndian.AppendUint32(q.buf, crc32.Checksum(payload, walCRC))
	q.buf = append(q.buf, payload...)
	off = st.wal.end
	st.wal.end += int64(walEntryHeader + len(payload))
	q.queued++
	return q.queued, off, nil
}

// lastQueued is the sequence number of the last entry queued.
func (q *logQueue) lastQueued() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued
}

// waitDurable returns once the entry with sequence number seq (and every
// one before it) is durable; the error of the flush that lost it
// otherwise. It waits for the batch that carries the entry only: a
// commit whose entry a flush covers returns as soon as that flush ends,
// not behind the next batch.
func (st *Store) waitDurable(seq uint64) error {
	q := &st.queue
	q.mu.Lock()
	if q.flushed >= seq {
		defer q.mu.Unlock()
		return q.lost(seq)
	}
	b := q.batchOf(seq)
	if !q.flusher {
		q.flusher = true
		go st.flushWhileQueued()
	}
	q.mu.Unlock()
	<-b.done
	return b.err // (the flush that ended it carried seq)
}

// batchOf is the batch that carries entry seq, not flushed yet (q.mu
// held): the running flush's, or the one collecting now.
func (q *logQueue) batchOf(seq uint64) *flushBatch {
	if q.carried != nil && seq <= q.carriedLast {
		return q.carried
	}
	if q.collecting == nil {
		q.collecting = &flushBatch{done: make(chan struct{})}
	}
	return q.collecting
}

// flushWhileQueued is the flusher goroutine: it flushes what is queued,
// again and again while commits queue more, and ends when a flush finds
// nothing left (a commit that queues later starts another). It lets go
// of flushMu between flushes, so that a checkpoint can run between them.
func (st *Store) flushWhileQueued() {
	q := &st.queue
	for {
		st.flushMu.Lock()
		q.mu.Lock()
		if q.flushed == q.queued {
			q.flusher = false
			q.mu.Unlock()
			st.flushMu.Unlock()
			return
		}
		q.mu.Unlock()
		st.flushQueued(false)
		st.flushMu.Unlock()
	}
}

// flushQueued writes and syncs every queued entry (flushMu held; and the
// store's mu when muHeld), then wakes the commits that waited for them.
func (st *Store) flushQueued(muHeld bool) {
	q := &st.queue
	q.mu.Lock()
	if q.flushed == q.queued {
		q.mu.Unlock()
		return
	}
	buf, last, w := q.buf, q.queued, st.wal
	q.buf = nil
	batch := q.collecting
	if batch == nil {
		batch = &flushBatch{done: make(chan struct{})} // (no one waits yet)
	}
	q.collecting, q.carried, q.carriedLast = nil, batch, last
	if w == nil {
		// the log failed after these entries were queued
		batch.err = sqlerr.New(sqlerr.DiskFull, "could not write to the write-ahead log: it failed earlier and is unusable until the next checkpoint")
		q.fail(last, batch.err)
		q.endFlush(batch)
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	err := st.writeSynced(w, buf)
	if err != nil {
		st.failFlush(w, err, batch, muHeld)
		return
	}
	w.size += int64(len(buf)) // (under flushMu)
	q.mu.Lock()
	q.syncs++
	q.flushed = last
	if cap(buf) <= maxScratchBytes {
		q.spare = buf[:0]
	}
	q.endFlush(batch)
	q.mu.Unlock()
}

// failFlush ends a flush whose write or sync failed: the log is dropped
// (under the store's lock, so that no entry is queued after the ones
// failed here), and the batch carried and every entry queued meanwhile
// (which follow the lost ones) fail with the error.
func (st *Store) failFlush(w *wal, err error, batch *flushBatch, muHeld bool) {
	if !muHeld {
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	err = st.walFailed(w, err)
	q := &st.queue
	q.mu.Lock()
	defer q.mu.Unlock()
	q.syncs++
	batch.err = err
	q.buf = nil
	q.fail(q.queued, err)
	if later := q.collecting; later != nil {
		q.collecting = nil
		later.err = err
		close(later.done)
	}
	q.endFlush(batch)
}

// endFlush wakes the commits of the batch a flush carried (q.mu held).
func (q *logQueue) endFlush(batch *flushBatch) {
	q.carried = nil
	close(batch.done)
}

// writeSynced writes buf after the log's last entry and syncs it. The log
// is pre-allocated (room): buf overwrites zeros written before, so the
// file's size does not change and fdatasync need not journal metadata;
// when the room runs out, another chunk of zeros is written with buf and
// that one sync is a full one.
func (st *Store) writeSynced(w *wal, buf []byte) error {
	grown, err := st.makeRoom(w, int64(len(buf)))
	if err != nil {
		return err
	}
	if _, err := w.f.WriteAt(buf, w.size); err != nil {
		return err
	}
	if st.beforeLogSync != nil {
		st.beforeLogSync()
	}
	if grown {
		return w.f.Sync()
	}
	return syncData(w.f)
}

// walChunk is how much the log grows by at a time, in zeros.
const walChunk = 1 << 20

// makeRoom makes sure n bytes fit after the log's last entry, appending
// a chunk of zeros when they do not (or, when the disk cannot take a
// chunk, only what buf needs: the write itself grows the file). grown
// reports that the file's size changes.
func (st *Store) makeRoom(w *wal, n int64) (grown bool, err error) {
	need := w.size + n
	if need <= w.room {
		return false, nil
	}
	target := (need + walChunk - 1) / walChunk * walChunk
	if st.quota.check(target-w.room) == nil {
		if err := writeZeros(w.f, w.room, target); err == nil {
			w.room = target
			return true, nil
		}
		// (a disk too full for the chunk: give back what was written)
		if err := w.f.Truncate(w.room); err != nil {
			return false, err
		}
	}
	if err := st.quota.check(need - w.room); err != nil {
		return false, err
	}
	w.room = need
	return true, nil
}

// writeZeros fills f from from to to with zeros.
func writeZeros(f *os.File, from, to int64) error {
	zeros := make([]byte, min(to-from, 64<<10))
	for off := from; off < to; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), to-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// fail records that the entries after the last flushed one, up to last,
// are lost (q.mu held).
func (q *logQueue) fail(last uint64, err error) {
	q.failures = append(q.failures, failedEntries{from: q.flushed + 1, to: last, err: err})
	q.flushed = last
}

// lost is the error of the flush that lost entry seq (nil: durable).
func (q *logQueue) lost(seq uint64) error {
	for _, f := range q.failures {
		if seq >= f.from && seq <= f.to {
			return f.err
		}
	}
	return nil
}

// LogSyncs reports how many entries were queued for the log and how many
// syncs made them durable since the store opened: with concurrent
// commits, one sync covers several entries.
func (st *Store) LogSyncs() (entries, syncs uint64) {
	st.queue.mu.Lock()
	defer st.queue.mu.Unlock()
	return st.queue.queued, st.queue.syncs
}
