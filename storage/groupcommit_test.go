package storage

import (
	"time"

	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// queueLayout queues table 100's partitions for the log without waiting.
func queueLayout(t *testing.T, st *Store, parts [][]arrow.Record) func() error {
	t.Helper()
	ok, wait, err := st.QueueTables(func() []TableData { return []TableData{{OID: 100, Schema: testSchema, Parts: parts}} })
	if !ok || err != nil {
		t.Fatalf("queue: %v %v", ok, err)
	}
	return wait
}

// TestQueuedEntriesShareOneFlush: entries queued before anyone waits are
// written by the first wait, in queue order (the second names a batch the
// first wrote), with one fsync; the later waits find them durable; a
// reopen replays both.
func TestQueuedEntriesShareOneFlush(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	st, _ := Open(dir, Options{})
	st.ReadCatalog()
	checkpointBatches(t, st)
	r5, r6, r7 := int64Batch(mem, 5), int64Batch(mem, 6), int64Batch(mem, 7)
	defer r5.Release()
	defer r6.Release()
	defer r7.Release()
	first := queueLayout(t, st, [][]arrow.Record{{r5}})
	second := queueLayout(t, st, [][]arrow.Record{{r5, r6}})
	// nothing changed since the second: it waits for the second's flush
	third := queueLayout(t, st, [][]arrow.Record{{r5, r6}})
	if st.wal.size != walHeaderSize {
		t.Fatalf("%d bytes written before anyone waited", st.wal.size-walHeaderSize)
	}
	if err := third(); err != nil {
		t.Fatal(err)
	}
	if st.wal.size != st.wal.end || st.queue.flushed != 2 {
		t.Fatalf("after the last wait: %d of %d bytes written, entry %d flushed", st.wal.size, st.wal.end, st.queue.flushed)
	}
	for _, wait := range []func() error{first, second} {
		if err := wait(); err != nil {
			t.Fatal(err)
		}
	}
	logLayout(t, st, [][]arrow.Record{{r5, r6, r7}})
	st.Close()
	st, _, replayed := reopen(t, dir, mem)
	st.Close()
	if want := []int64{5, 6, 7}; !equal(replayed, want) {
		t.Errorf("replayed %v, want %v", replayed, want)
	}
}

// TestFailedFlushLosesEveryEntryBehindIt: a flush that fails on a full
// disk fails the entries it carried and those queued behind them, leaves
// the file as it was before them, and the log takes nothing more until a
// checkpoint; after one, entries are logged again.
func TestFailedFlushLosesEveryEntryBehindIt(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	st, _ := Open(dir, Options{})
	st.ReadCatalog()
	checkpointBatches(t, st)
	r5, r6, r7 := int64Batch(mem, 5), int64Batch(mem, 6), int64Batch(mem, 7)
	defer r5.Release()
	defer r6.Release()
	defer r7.Release()
	logLayout(t, st, [][]arrow.Record{{r5}})
	before := st.wal.size
	st.LimitDisk(10)
	first := queueLayout(t, st, [][]arrow.Record{{r5, r6}})
	second := queueLayout(t, st, [][]arrow.Record{{r5, r6, r7}})
	for i, wait := range []func() error{second, first} {
		if err := wait(); !isCode(err, sqlerr.DiskFull) {
			t.Fatalf("wait %d: %v, want 53100", i, err)
		}
	}
	ok, _, err := st.QueueTables(func() []TableData {
		return []TableData{{OID: 100, Schema: testSchema, Parts: [][]arrow.Record{{r5, r6}}}}
	})
	if ok || err != nil {
		t.Fatalf("the failed log took another entry: %v %v", ok, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "wal.log")); err != nil || fi.Size() != before {
		t.Fatalf("after the failed flush the log is %v bytes (%v), %d before", fi.Size(), err, before)
	}
	st.UnlimitDisk()
	checkpointBatches(t, st, r5)
	logLayout(t, st, [][]arrow.Record{{r5, r7}})
	st.Close()
	st, _, replayed := reopen(t, dir, mem)
	if want := []int64{5, 7}; !equal(replayed, want) {
		t.Fatalf("after a checkpoint and another entry the log replays %v, want %v", replayed, want)
	}
	st.Close()
}

// stallFirstSync makes the log's first flush wait between its write and
// its sync until release is closed (inSync is closed when it gets there).
func stallFirstSync(st *Store) (inSync, release chan struct{}) {
	inSync, release = make(chan struct{}), make(chan struct{})
	st.beforeLogSync = func() {
		st.beforeLogSync = nil // (on the flusher, which holds flushMu)
		close(inSync)
		<-release
	}
	return inSync, release
}

// inBackground runs wait on its own goroutine; its result comes on the
// channel.
func inBackground(wait func() error) chan error {
	done := make(chan error, 1)
	go func() { done <- wait() }()
	return done
}

// TestFlusherCarriesOnUnasked: a commit is not acknowledged while its
// sync has not finished; and an entry queued during that sync is made
// durable by the next flush, which the flusher starts at once without
// anyone waiting for that entry.
func TestFlusherCarriesOnUnasked(t *testing.T) {
	st, dir, mem := openCheckpointedLog(t)
	r5, r6 := int64Batch(mem, 5), int64Batch(mem, 6)
	defer r5.Release()
	defer r6.Release()
	inSync, release := stallFirstSync(st)
	first := inBackground(queueLayout(t, st, [][]arrow.Record{{r5}}))
	<-inSync
	secondWait := queueLayout(t, st, [][]arrow.Record{{r5, r6}}) // (no one waits for it)
	select {
	case err := <-first:
		t.Fatalf("a commit was acknowledged (%v) before its sync finished", err)
	default:
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	flushed := func() uint64 {
		st.queue.mu.Lock()
		defer st.queue.mu.Unlock()
		return st.queue.flushed
	}
	for deadline := time.Now().Add(20 * time.Second); flushed() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the entry queued during the first sync was never flushed without a commit waiting for it")
		}
	}
	if entries, syncs := st.LogSyncs(); entries != 2 || syncs != 2 {
		t.Errorf("%d entries, %d syncs; want 2 and 2", entries, syncs)
	}
	if err := secondWait(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, _, replayed := reopen(t, dir, mem)
	st.Close()
	if want := []int64{5, 6}; !equal(replayed, want) {
		t.Errorf("replayed %v, want %v", replayed, want)
	}
}

// TestFailedFlushFailsEveryWaitingCommit: commits waiting for the flush
// after a stalled one, and one queued while that flush runs, all fail
// with 53100 when it runs out of disk; the stalled one, which fitted,
// succeeds, and a reopen replays it alone.
func TestFailedFlushFailsEveryWaitingCommit(t *testing.T) {
	st, dir, mem := openCheckpointedLog(t)
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	next := func() [][]arrow.Record {
		recs = append(recs, int64Batch(mem, int64(len(recs))))
		return [][]arrow.Record{append([]arrow.Record(nil), recs...)}
	}
	firstWait := queueLayout(t, st, next())
	st.LimitDisk(st.wal.end - st.wal.size) // (room for the first entry only)
	inSync, release := stallFirstSync(st)
	first := inBackground(firstWait)
	<-inSync
	var later []chan error
	for range 3 {
		later = append(later, inBackground(queueLayout(t, st, next())))
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the entry that fitted: %v", err)
	}
	for i, done := range later {
		if err := <-done; !isCode(err, sqlerr.DiskFull) {
			t.Errorf("commit %d behind the stalled flush: %v, want 53100", i, err)
		}
	}
	st.UnlimitDisk()
	st.Close()
	st, _, replayed := reopen(t, dir, mem)
	st.Close()
	if want := []int64{0}; !equal(replayed, want) {
		t.Errorf("replayed %v, want %v", replayed, want)
	}
}

// TestFlushEndsWhileAnEntryIsBuilt: a flush finishes, and wakes the
// commit it carried, while another commit holds the store's lock to
// build its entry (the queue has a lock of its own).
func TestFlushEndsWhileAnEntryIsBuilt(t *testing.T) {
	st, _, mem := openCheckpointedLog(t)
	r5 := int64Batch(mem, 5)
	defer r5.Release()
	inSync, release := stallFirstSync(st)
	first := inBackground(queueLayout(t, st, [][]arrow.Record{{r5}}))
	<-inSync
	st.mu.Lock() // (as QueueTables holds it)
	close(release)
	var err error
	select {
	case err = <-first:
		st.mu.Unlock()
	case <-time.After(20 * time.Second):
		st.mu.Unlock()
		err = <-first
		t.Error("the flush's commit waited for the store's lock, held while an entry was built")
	}
	if err != nil {
		t.Fatal(err)
	}
}
