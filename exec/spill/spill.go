// Package spill keeps the temporary files operators write when their
// state does not fit in their share of the memory budget: one directory
// per database (Root), one per running statement inside it (Query),
// and files of Arrow record batches (Arrow IPC streams, optionally LZ4
// compressed) written once and read back in order.
//
// Nothing in a spill directory outlives its statement: an operator
// removes its files when it closes, the statement's directory is removed
// when the statement ends, and what a crash left behind is removed the
// next time the database opens.
package spill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// queryPrefix names the statements' directories: the sweep at open
// removes only what carries it, never anything else a user put there.
const queryPrefix = "query-"

// tempPrefix names the directory of an in-memory database under
// os.TempDir(); lockName is the file its process holds locked while it
// runs, so that another process's sweep leaves it alone.
const (
	tempPrefix = "weft-spill-"
	lockName   = "LOCK"
)

// Root is a database's spill directory: <data directory>/spill, or for
// a database kept in memory a directory of its own under os.TempDir().
type Root struct {
	dir  string
	lock *os.File // held while the database is open (temporary roots)
	temp bool     // the whole directory goes at Close
	next atomic.Int64
}

// OpenRoot prepares the spill directory of a database whose data
// directory is dataDir ("" for a database in memory) and removes what a
// crashed process left there. The data directory must already be locked
// by its store, which makes the sweep of its spill directory safe.
func OpenRoot(dataDir string) (*Root, error) {
	if dataDir == "" {
		return openTempRoot(os.TempDir())
	}
	dir := filepath.Join(dataDir, "spill")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill directory: %w", err)
	}
	if err := removeEntries(dir, queryPrefix); err != nil {
		return nil, err
	}
	return &Root{dir: dir}, nil
}

// OpenTempRoot makes a fresh spill directory of this process's own
// under base ("": os.TempDir()), removed at Close, after removing the
// directories of processes that ended without removing theirs (their
// lock file is no longer held): a worker's map outputs (cluster).
func OpenTempRoot(base string) (*Root, error) {
	if base == "" {
		base = os.TempDir()
	}
	return openTempRoot(base)
}

// openTempRoot makes a fresh directory under base for an in-memory
// database, after removing the directories of processes that ended
// without removing theirs (their lock file is no longer held).
func openTempRoot(base string) (*Root, error) {
	sweepTempRoots(base)
	dir, err := os.MkdirTemp(base, tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("spill directory: %w", err)
	}
	// the lock file is locked under another name and only then renamed
	// into place: another process sweeping meanwhile must never find it
	// unlocked (it would take it as a dead process's and remove the
	// directory under this one)
	unnamed := filepath.Join(dir, lockName+".new")
	lock, err := os.OpenFile(unnamed, os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err == nil {
		err = os.Rename(unnamed, filepath.Join(dir, lockName))
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(dir)
		return nil, fmt.Errorf("spill directory lock: %w", err)
	}
	return &Root{dir: dir, lock: lock, temp: true}, nil
}

// sweepTempRoots removes base's spill directories whose process is gone.
// A directory whose lock cannot be opened or taken is left alone.
func sweepTempRoots(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
		if err != nil {
			continue // not ours, or another user's
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(dir)
		}
		lock.Close()
	}
}

// removeEntries removes dir's entries whose names start with prefix.
func removeEntries(dir, prefix string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spill directory: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("removing old spill files: %w", err)
			}
		}
	}
	return nil
}

// Dir is the root's directory.
func (r *Root) Dir() string { return r.dir }

// Close removes a temporary root; a data directory's stays (empty).
func (r *Root) Close() error {
	if !r.temp {
		return nil
	}
	err := os.RemoveAll(r.dir)
	r.lock.Close()
	return err
}

// NewQuery is the spill space of one statement. Its directory is made
// only when a first file is.
func (r *Root) NewQuery() *Query {
	return &Query{root: r, n: r.next.Add(1)}
}

// queryDir is the directory of the root's nth statement (named when the
// statement first spills: most never do, and a point query's whole run
// is a few times the cost of formatting the name).
func (r *Root) queryDir(n int64) string {
	return filepath.Join(r.dir, queryPrefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatInt(n, 10))
}

// Query is one statement's spill space. It is safe for concurrent use by
// the statement's operators.
type Query struct {
	root *Root
	n    int64  // the statement's number in root
	dir  string // its directory, once made
	// Compress writes files LZ4-compressed (weft.spill_compression).
	Compress bool

	mu      sync.Mutex
	made    bool
	removed bool
	files   int
	written atomic.Int64
}

// Written is the bytes written to the statement's spill files so far.
func (q *Query) Written() int64 { return q.written.Load() }

// create opens a new file in the statement's directory.
func (q *Query) create() (*os.File, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.removed {
		return nil, errors.New("spill: the statement has ended")
	}
	if !q.made {
		q.dir = q.root.queryDir(q.n)
		if err := os.Mkdir(q.dir, 0o700); err != nil {
			return nil, fileError("create", err)
		}
		q.made = true
	}
	q.files++
	f, err := os.OpenFile(filepath.Join(q.dir, fmt.Sprintf("%d.arrows", q.files)), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fileError("create", err)
	}
	return f, nil
}

// Remove deletes the statement's directory and whatever is still in it;
// the statement has ended, and no file may be made after. A nil Query
// has nothing to remove.
func (q *Query) Remove() error {
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.removed = true
	if !q.made {
		return nil
	}
	q.made = false
	return os.RemoveAll(q.dir)
}
