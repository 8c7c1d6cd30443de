package engine

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/weftdb/weft/catalog"
)

// Undoing commits that could not be stored. A commit installs its rows,
// lets go of its locks and then waits for its log flush, so commits
// behind it can install on top of its rows meanwhile. When the flush
// fails, it fails every entry queued after the lost one too, so every
// commit installed on top of a failed one has failed as well (or, going
// through a checkpoint, stored the failed one's rows with its own). The
// failed commits must then be undone in reverse log order: each one puts
// back what its tables held before it, which is only right once every
// commit on top of it is gone. A failed commit is registered here and
// undone as soon as it is the top of each table it installed into; the
// last of a pile to register unwinds the pile.

// failedCommit is a commit (a statement or a block's COMMIT) whose rows
// were installed but could not be stored.
type failedCommit struct {
	previous  map[*catalog.Table]*catalog.Snapshot // what it replaced
	installed map[*catalog.Table]*catalog.Snapshot // what it installed
	state     atomic.Int32                         // failedPending, …
	// registered numbers the failed commits, so that a checkpoint knows
	// which ones were in memory when it took its snapshot
	registered uint64
}

const (
	failedPending int32 = iota
	failedUndone        // its tables hold what they held before it
	failedKept          // a checkpoint stored its rows: they stay
	failedClaimed       // a checkpoint running now may store its rows
)

// failedCommits are the failed commits not undone yet.
type failedCommits struct {
	mu      sync.Mutex // guards the list only: no other lock is taken under it
	pending []*failedCommit
	count   uint64
}

// undoFailed registers a commit whose log flush (or checkpoint) failed,
// taking over previous and installed, and undoes every registered commit
// that nothing is installed on top of, until none is left that can be.
func (db *DB) undoFailed(previous, installed map[*catalog.Table]*catalog.Snapshot) {
	fc := &failedCommit{previous: previous, installed: installed}
	f := &db.failed
	f.mu.Lock()
	f.count++
	fc.registered = f.count
	f.pending = append(f.pending, fc)
	f.mu.Unlock()
	db.unwindFailed()
}

// unwindFailed undoes the registered failed commits that are the top of
// all their tables, repeatedly: undoing one can uncover the next.
func (db *DB) unwindFailed() {
	for {
		progress := false
		for _, fc := range db.failed.snapshot() {
			if db.undoIfTop(fc) {
				progress = true
			}
		}
		db.failed.forget()
		if !progress {
			return
		}
	}
}

// undoIfTop undoes fc when each of its tables still holds what fc
// installed (no commit on top of it).
func (db *DB) undoIfTop(fc *failedCommit) bool {
	tables := make([]*catalog.Table, 0, len(fc.installed))
	for t := range fc.installed {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].OID < tables[j].OID })
	for _, t := range tables {
		t.Lock()
		defer t.Unlock()
	}
	for _, t := range tables {
		if t.Current() != fc.installed[t] {
			return false
		}
	}
	undone := false
	db.installTogether(func() {
		// (under installMu: a checkpoint claims its commits under it too)
		if !fc.state.CompareAndSwap(failedPending, failedUndone) {
			return
		}
		for _, t := range tables {
			if prev := fc.previous[t]; prev != nil {
				t.Restore(prev)
			}
		}
		undone = true
	})
	return undone
}

// snapshot is the pending failed commits, oldest first.
func (f *failedCommits) snapshot() []*failedCommit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*failedCommit(nil), f.pending...)
}

// forget drops the failed commits that are undone or kept, letting go
// of their snapshots.
func (f *failedCommits) forget() {
	f.mu.Lock()
	var done []*failedCommit
	kept := f.pending[:0]
	for _, fc := range f.pending {
		switch fc.state.Load() {
		case failedUndone, failedKept:
			done = append(done, fc)
		default:
			kept = append(kept, fc)
		}
	}
	clear(f.pending[len(kept):])
	f.pending = kept
	f.mu.Unlock()
	for _, fc := range done {
		releaseSnapshots(fc.previous)
		releaseSnapshots(fc.installed)
	}
}

// claimForCheckpoint marks the pending failed commits as in the snapshot
// a checkpoint takes now (installMu held): their rows are in memory, so
// the checkpoint stores them, and undoing them afterwards would leave
// memory different from the disk. It returns how far the claim went.
func (f *failedCommits) claimForCheckpoint() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fc := range f.pending {
		fc.state.CompareAndSwap(failedPending, failedClaimed)
	}
	return f.count
}

// checkpointDone settles the commits a checkpoint claimed: stored (kept)
// when it succeeded, pending again when it failed.
func (db *DB) checkpointDone(claimed uint64, stored bool) {
	f := &db.failed
	f.mu.Lock()
	settled := false
	for _, fc := range f.pending {
		if fc.registered > claimed {
			continue
		}
		settled = true
		if stored {
			fc.state.CompareAndSwap(failedClaimed, failedKept)
		} else {
			fc.state.CompareAndSwap(failedClaimed, failedPending)
		}
	}
	f.mu.Unlock()
	if settled && stored {
		f.forget()
	}
	// (a failed checkpoint leaves them pending, for the next unwind: its
	// caller may hold table locks that unwinding takes)
}

// releaseAll lets go of the failed commits left (closing the database:
// their rows are in memory and, if a checkpoint is to store them, kept).
func (f *failedCommits) releaseAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fc := range f.pending {
		releaseSnapshots(fc.previous)
		releaseSnapshots(fc.installed)
	}
	f.pending = nil
}
