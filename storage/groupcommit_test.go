package storage

import (
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
