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
// gives) and then waits until a flush covers it: when no flush runs, the
// commit runs one (holding flushMu), writing every entry queued so far in
// one write and syncing once, so the commits that queued while the
// previous fsync ran are made durable by the next one together.
//
// The log's rules hold as before: entries reach the file in queue order,
// each write appends after the last synced byte, and a crash during a
// write leaves at most a torn tail of unacknowledged entries, which open
// cuts off. A write or fsync that fails fails every entry it carried and
// every entry queued after them (written as differences from layouts that
// never became durable), and the log is not used again until the next
// checkpoint.
//
// Lock order: flushMu, then mu.

// logQueue is the entries waiting for a flush, and how far flushes got.
type logQueue struct {
	buf     []byte // framed entries not written yet
	queued  uint64 // sequence number of the last entry queued
	flushed uint64 // of the last entry a flush finished with (or failed)
	syncs   uint64 // how many syncs flushes made (LogSyncs)
	// flushing is set while a commit flushes (flushDone, on the store's
	// lock, is broadcast when it ends)
	flushing  bool
	flushDone *sync.Cond
	failures  []failedEntries
	// spare is the buffer of the last flush, written and free again: the
	// next entries are framed into it rather than a new one
	spare []byte
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

// waitDurable returns once the entry with sequence number seq (and every
// one before it) is durable, flushing what is queued if no one else is;
// the error of the flush that lost it otherwise. A commit whose entry a
// flush covers returns as soon as that flush ends: it waits on the
// queue's condition, not behind the flusher of the next batch.
func (st *Store) waitDurable(seq uint64) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	q := &st.queue
	if q.flushDone == nil {
		q.flushDone = sync.NewCond(&st.mu)
	}
	for q.flushed < seq {
		if q.flushing {
			q.flushDone.Wait() // (for the flush running now)
			continue
		}
		// this commit flushes everything queued so far; the store's lock
		// is let go during the write and the sync, so that other commits
		// can queue behind this flush
		q.flushing = true
		st.mu.Unlock()
		st.flushMu.Lock() // (lock order: flushMu, then mu)
		st.mu.Lock()
		if q.flushed < seq { // (unless a checkpoint wrote it meanwhile)
			st.flushQueued(true)
		}
		st.flushMu.Unlock()
		q.flushing = false
		q.flushDone.Broadcast()
	}
	return q.lost(seq)
}

// flushQueued writes and syncs every queued entry (flushMu and mu held;
// with unlocked, mu is let go while the file is written).
func (st *Store) flushQueued(unlocked bool) {
	q := &st.queue
	if q.flushed == q.queued {
		return
	}
	buf, last, w := q.buf, q.queued, st.wal
	q.buf = nil
	if w == nil {
		// the log failed after these entries were queued
		q.fail(last, sqlerr.New(sqlerr.DiskFull, "could not write to the write-ahead log: it failed earlier and is unusable until the next checkpoint"))
		return
	}
	if unlocked {
		st.mu.Unlock()
	}
	err := st.writeSynced(w, buf)
	if unlocked {
		st.mu.Lock()
	}
	q.syncs++
	if err != nil {
		err = st.walFailed(w, err)
		// the entries queued meanwhile follow the lost ones: lost too
		q.buf = nil
		q.fail(q.queued, err)
		return
	}
	w.size += int64(len(buf))
	q.flushed = last
	if cap(buf) <= maxScratchBytes {
		q.spare = buf[:0]
	}
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
// are lost.
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
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.queue.queued, st.queue.syncs
}
