package storage

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
)

// twoEntryLog makes a store whose log holds two entries (the table's
// values 0..199, then those and 1000..1199, so that the second entry
// spans several sectors) and drops it as a crash would (no checkpoint);
// it returns the log's path and the last entry's span.
func twoEntryLog(t *testing.T, dir string) (path string, lastOff, lastEnd int64) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.ReadCatalog()
	checkpointBatches(t, st)
	a, b := int64Batch(mem, run(0, 200)...), int64Batch(mem, run(1000, 200)...)
	defer a.Release()
	defer b.Release()
	logLayout(t, st, [][]arrow.Record{{a}})
	logLayout(t, st, [][]arrow.Record{{a, b}})
	st.Close()
	path = filepath.Join(dir, "wal.log")
	lg := scanLog(t, path)
	if len(lg.Entries) != 2 || lg.Torn != 0 {
		t.Fatalf("log of %d entries, %d torn bytes", len(lg.Entries), lg.Torn)
	}
	return path, lg.Entries[1].Off, lg.End
}

func run(from int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}

func scanLog(t *testing.T, path string) *Log {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := ParseLogHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Scan(raw); err != nil {
		t.Fatal(err)
	}
	return lg
}

// zero overwrites path's bytes from..to with zeros.
func zero(t *testing.T, path string, from, to int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, to-from), from); err != nil {
		t.Fatal(err)
	}
}

// TestLogTailOnZeros: the log is allocated ahead in zeros; open tells the
// zeros after the last entry from a torn final entry (an append a crash
// interrupted: cut, the entries before it kept) and from damage (XX001,
// the file unchanged).
func TestLogTailOnZeros(t *testing.T) {
	first := append(run(0, 200), run(0, 0)...)
	both := append(run(0, 200), run(1000, 200)...)
	cases := []struct {
		name   string
		damage func(t *testing.T, path string, off, end int64)
		want   []int64 // nil: XX001
		torn   bool
	}{
		{"zeros after the last entry", func(*testing.T, string, int64, int64) {}, both, false},
		{"last sector of the last entry unwritten", func(t *testing.T, path string, off, end int64) {
			zero(t, path, (end-6)/sectorSize*sectorSize, end)
		}, first, true},
		{"a middle sector of the last entry unwritten", func(t *testing.T, path string, off, end int64) {
			s := (off/sectorSize + 1) * sectorSize
			zero(t, path, s, s+sectorSize)
		}, first, true},
		{"last entry unwritten from its start", func(t *testing.T, path string, off, end int64) {
			zero(t, path, off, end)
		}, first, false},
		{"last entry cut short before the zeros (no room)", func(t *testing.T, path string, off, end int64) {
			if err := os.Truncate(path, end-3); err != nil {
				t.Fatal(err)
			}
		}, first, true},
		{"a bit flipped in the last entry", func(t *testing.T, path string, off, end int64) {
			flipByte(t, path, end-40)
		}, nil, false},
		{"last entry's header unwritten, its later sectors written", func(t *testing.T, path string, off, end int64) {
			zero(t, path, off, off+LogEntryHeader)
		}, nil, false},
		{"bytes after the zeros", func(t *testing.T, path string, off, end int64) {
			zero(t, path, (end-6)/sectorSize*sectorSize, end)
			flipByte(t, path, end+2000)
		}, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path, off, end := twoEntryLog(t, dir)
			fi, err := os.Stat(path)
			if err != nil || fi.Size() <= end {
				t.Fatalf("the log is %v bytes (%v), its entries end at %d: no zeros allocated ahead", fi.Size(), err, end)
			}
			c.damage(t, path, off, end)
			before, _ := os.ReadFile(path)
			if c.want == nil {
				err := recoverErr(t, dir)
				if !isCode(err, sqlerr.DataCorrupted) {
					t.Fatalf("open: %v, want XX001", err)
				}
				if after, _ := os.ReadFile(path); string(after) != string(before) {
					t.Error("the failed open changed the log")
				}
				return
			}
			raw, _ := os.ReadFile(path)
			lg, _ := ParseLogHeader(raw)
			if err := lg.Scan(raw); err != nil || (lg.Torn > 0) != c.torn {
				t.Fatalf("scan: %v, %d torn bytes, want torn %v", err, lg.Torn, c.torn)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			st, _, replayed := reopen(t, dir, mem)
			st.Close()
			if !equal(replayed, c.want) {
				t.Errorf("replayed %d values, want %d", len(replayed), len(c.want))
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[off] ^= 0x40
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAppendAfterZerosAndTornTail: after a reopen, the next entry goes
// where the entries end (into the zeros allocated ahead, the file's size
// unchanged; after a torn entry, over it), and a second reopen replays it.
func TestAppendAfterZerosAndTornTail(t *testing.T) {
	for _, torn := range []bool{false, true} {
		dir := t.TempDir()
		path, _, end := twoEntryLog(t, dir)
		if torn {
			zero(t, path, (end-6)/sectorSize*sectorSize, end)
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		st, _, replayed := reopen(t, dir, mem)
		sizeBefore := fileSize(t, path)
		more := int64Batch(mem, 7)
		cur := int64Batch(mem, replayed...)
		logLayout(t, st, [][]arrow.Record{{cur, more}})
		if !torn && fileSize(t, path) != sizeBefore {
			t.Errorf("appending into the zeros changed the log's size from %d to %d", sizeBefore, fileSize(t, path))
		}
		st.Close()
		cur.Release()
		more.Release()
		st, _, replayed2 := reopen(t, dir, mem)
		st.Close()
		want := append(append([]int64(nil), replayed...), 7)
		if !equal(replayed2, want) {
			t.Errorf("torn %v: replayed %d values after the append, want %d", torn, len(replayed2), len(want))
		}
		mem.AssertSize(t, 0)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// openCheckpointedLog opens a store in a new directory with one
// checkpoint of batches taken (the log then holds entries after it), and
// checks at the test's end that it was closed without leaking Arrow
// memory (the test releases its own batches before).
func openCheckpointedLog(t *testing.T) (*Store, string, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.ReadCatalog(); err != nil {
		t.Fatal(err)
	}
	checkpointBatches(t, st)
	return st, dir, mem
}

// TestLogGrowsInChunks: many small entries grow the log a chunk of zeros
// at a time, so most syncs leave its size alone.
func TestLogGrowsInChunks(t *testing.T) {
	st, dir, mem := openCheckpointedLog(t)
	sizes := map[int64]bool{}
	var recs []arrow.Record
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	for i := range 200 {
		recs = append(recs, int64Batch(mem, int64(i)))
		logLayout(t, st, [][]arrow.Record{recs})
		sizes[fileSize(t, filepath.Join(dir, "wal.log"))] = true
	}
	if st.wal.end < walChunk/100 {
		t.Fatalf("200 entries wrote only %d bytes", st.wal.end)
	}
	for size := range sizes {
		if size%walChunk != 0 {
			t.Errorf("the log was %d bytes, not a whole number of chunks", size)
		}
	}
}

// TestOneSyncCoversTheCommitsQueuedDuringAnother: while a flush's sync
// runs, eight more commits queue their entries; the next flush writes
// them all with one sync.
func TestOneSyncCoversTheCommitsQueuedDuringAnother(t *testing.T) {
	st, _, mem := openCheckpointedLog(t)
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
	inSync, release := make(chan struct{}), make(chan struct{})
	st.beforeLogSync = func() {
		st.beforeLogSync = nil // (only the first flush stops)
		close(inSync)
		<-release
	}
	entries0, syncs0 := st.LogSyncs()
	firstWait := queueLayout(t, st, next())
	firstDone := make(chan error)
	go func() { firstDone <- firstWait() }()
	<-inSync
	var waits []func() error
	for range 8 {
		waits = append(waits, queueLayout(t, st, next()))
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(waits))
	for i, wait := range waits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = wait()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	entries, syncs := st.LogSyncs()
	// (the flusher may have started the second flush before anyone
	// waited for it: counted from before the first)
	if entries-entries0 != 9 || syncs-syncs0 != 2 {
		t.Errorf("a commit and 8 queued during its sync took %d syncs for %d entries, want 2", syncs-syncs0, entries-entries0)
	}
}

// recoverErr is the error of opening dir and replaying its log.
func recoverErr(t *testing.T, dir string) error {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	st, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	doc, _, err := st.ReadCatalog()
	if err != nil {
		return err
	}
	r := &testReplayer{t: t}
	defer r.release()
	_, err = st.Recover(doc, mem, r)
	return err
}

// TestCoveredCommitDoesNotWaitForTheNextFlush: a commit whose entry the
// running flush carries returns when that flush ends, though the next
// flush (of an entry queued meanwhile) has started and is held up.
func TestCoveredCommitDoesNotWaitForTheNextFlush(t *testing.T) {
	st, _, mem := openCheckpointedLog(t)
	r5, r6 := int64Batch(mem, 5), int64Batch(mem, 6)
	defer r5.Release()
	defer r6.Release()
	inSync := make(chan int, 2)
	release := []chan struct{}{make(chan struct{}), make(chan struct{})}
	flushes := 0
	st.beforeLogSync = func() { // (flushes run one at a time)
		n := flushes
		flushes++
		inSync <- n
		<-release[n]
	}
	background := func(wait func() error) chan error {
		done := make(chan error, 1)
		go func() { done <- wait() }()
		return done
	}
	firstWait := queueLayout(t, st, [][]arrow.Record{{r5}})
	first := background(firstWait)
	if n := <-inSync; n != 0 {
		t.Fatalf("flush %d", n)
	}
	second := background(queueLayout(t, st, [][]arrow.Record{{r5, r6}}))
	// another commit of the first entry (one that found nothing new
	// since it), waiting while the first flush runs
	again := background(firstWait)
	close(release[0])
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := <-inSync; n != 1 {
		t.Fatalf("flush %d", n)
	}
	select {
	case err := <-again:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a commit the first flush covered still waits, behind the second flush")
	}
	close(release[1])
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}
