// Package storage keeps a database in a data directory: the catalog file,
// the tables' segment files, the wasm modules functions use, and the
// write-ahead log of small appends. It knows the shape of the catalog it
// stores (package catalog's definitions) and Arrow batches, never SQL:
// the engine decides what to store and when, storage makes it durable
// and reads it back, checking every checksum.
//
// The interface, in the order a database uses it:
//
//	st, err := storage.Open(dir, storage.Options{})   // lock the directory
//	doc, legacy, err := st.ReadCatalog()               // nil: a new database
//	parts, err := st.ReadTable(mem, oid, schema, name, refs) // each table (read on demand)
//	code, err := st.ReadModule(hash, function)         // each function's module
//	needsCheckpoint, err := st.Recover(doc, mem, replay) // log replay, cleanup
//	…
//	logged, err := st.LogAppend(oid, recs, rows, install) // a small append
//	cp := st.BeginCheckpoint(); refs, err := cp.Segments(oid, rec); …
//	err = cp.Commit(doc); cp.Done()                    // everything, atomically
//
// The files:
//
//	LOCK                  held (flock) by the one process that has it open
//	catalog.json          schemas, tables with their segment lists (each
//	                      segment with its size, rows and CRC-32C), views,
//	                      roles and functions; replaced atomically, with a
//	                      checksum of its own (catalogfile.go)
//	data/<oid>/<n>.arrow  Arrow IPC files of table batches (a large batch
//	                      takes several, segment.go), never changed
//	data/<oid>/<n>.index  the tables' indexes over those (indexfile.go)
//	modules/<sha256>.wasm wasm modules functions use
//	wal.log               the write-ahead log of small appends (wal.go)
//
// Reading checks every checksum: damage is an XX001 error naming the
// file, never a wrong answer. Open checks the catalog's and the log's and
// that every segment is there with its size; a segment's own checksum is
// checked when it is first read (lazysegment.go), so damage inside one is
// the error of the first statement that reads it.
//
// A checkpoint writes the segments that are not on disk yet (each
// fsynced, then renamed into place; a bulk load's are staged before it,
// stage.go), then a new catalog.json (written to
// a temporary file, fsynced, renamed over the old one, and the directory
// fsynced). A crash leaves the old or the new catalog, never a mix;
// segment files the catalog does not name are removed on open, with care
// (see datadir.go): opening never removes what it cannot account for.
package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Options configures a store.
type Options struct {
	// SegmentBytes is the size a segment file aims at (default 32 MiB): a
	// larger batch is stored as several files.
	SegmentBytes int64
}

// Store is an open data directory. Its methods are safe for concurrent
// use; a checkpoint excludes log appends while it runs.
type Store struct {
	dir  string
	lock *os.File

	// flushMu is held by whoever writes queued log entries (and by a
	// checkpoint); taken before mu (groupcommit.go)
	flushMu sync.Mutex
	mu      sync.Mutex
	queue   logQueue // log entries waiting for their flush
	// entryScratch is reused by QueueTables (under mu) for the streams
	// and payload of each entry, so that a commit does not grow new ones
	entryScratch entryScratch
	// comparedRows counts the rows of the batches log entries found the
	// edits of by comparing them with their bases (under mu): those whose
	// writes did not say how they were made
	comparedRows int64
	// streamEncoder writes the IPC streams of entries (under mu), with
	// the last schema's message encoded once (logstream.go)
	streamEncoder streamEncoder
	segments      map[arrow.Record][]SegmentRef // batches already on disk
	// staged are batches a bulk load wrote that no catalog names yet
	// (stage.go): a checkpoint that stores them takes their files
	staged map[arrow.Record]SegmentRef
	// keep are the segment files the catalog read at open names
	keep map[string]bool
	// segmentBytes is the target size of a segment file
	segmentBytes int64
	// newTableDirs: a directory was made under data/ since its last fsync
	newTableDirs bool
	nextSeg      uint64
	gen          uint64 // the write-ahead log generation the catalog names
	wal          *wal   // nil while unusable (a checkpoint makes a new one)
	quota        diskQuota
	// beforeLogSync, when set (tests), runs between a flush's write and
	// its sync, with no lock of the store held
	beforeLogSync func()
	// durable are the tables as segments and log hold them (layoutlog.go);
	// logged names the batches log entries wrote
	durable map[uint32]*durableTable
	logged  map[arrow.Record]string
	// segmentReads counts the segments read on demand (lazysegment.go)
	segmentReads atomic.Int64
	// readOnly: opened by OpenReadOnly (readonly.go), no lock, no writes
	readOnly bool
	// catalogParts are the batches the catalog names, per table and
	// partition (StoredAt compares a scan's batches with them)
	catalogParts map[uint32][][]arrow.Record
	// namedIndexes are the index files the catalog names, storedIndexes
	// the trees some of them hold, by table (indexfile.go)
	namedIndexes  map[string]bool
	storedIndexes map[uint32][]storedIndex
}

// Catalog is what catalog.json holds: the definitions of everything the
// database has, and for each table the segment files of its partitions.
type Catalog struct {
	Version int            `json:"version"`
	NextOID uint32         `json:"next_oid"`
	Schemas []Schema       `json:"schemas"`
	Tables  []Table        `json:"tables"`
	Views   []View         `json:"views"`
	Roles   []catalog.Role `json:"roles"`
	// Members are GRANT role TO role; Privileges the owners and ACLs of
	// objects (absent before privileges existed: everything then belongs
	// to the bootstrap superuser with the default ACLs).
	Members    []catalog.Membership       `json:"role_members,omitempty"`
	Privileges []catalog.ObjectPrivileges `json:"privileges,omitempty"`
	Functions  []Function                 `json:"functions"`
	Types      []*catalog.UserType        `json:"types,omitempty"`
	Sequences  []catalog.StoredSequence   `json:"sequences,omitempty"`
	Extensions []catalog.Extension        `json:"extensions,omitempty"`
	// DefaultPrivileges are ALTER DEFAULT PRIVILEGES entries.
	DefaultPrivileges []catalog.DefaultPrivileges `json:"default_privileges,omitempty"`
	// NextSeg and WALGeneration are the store's own: set by a checkpoint.
	NextSeg uint64 `json:"next_segment"`
	// WALGeneration is the generation of the write-ahead log that
	// continues this catalog.
	WALGeneration uint64 `json:"wal_generation"`
}

// Schema is a stored schema.
type Schema struct {
	Name string `json:"name"`
	OID  uint32 `json:"oid"`
}

// Table is a stored table: its definition and its data's segments.
type Table struct {
	Schema  string               `json:"schema"`
	Name    string               `json:"name"`
	OID     uint32               `json:"oid"`
	Columns []catalog.Column     `json:"columns"`
	Keys    []catalog.Key        `json:"keys,omitempty"`
	Checks  []catalog.Check      `json:"checks,omitempty"`
	Foreign []catalog.ForeignKey `json:"foreign_keys,omitempty"`
	Comment string               `json:"comment,omitempty"`
	Indexes []catalog.Key        `json:"indexes,omitempty"`
	// Cache is the weft.cache storage parameter ("memory"), "" for none.
	Cache string `json:"cache,omitempty"`
	// MatView is a materialized view's query ("" for a table), and
	// Unpopulated whether it is still WITH NO DATA
	MatView     string         `json:"matview,omitempty"`
	Unpopulated bool           `json:"unpopulated,omitempty"`
	Parts       [][]SegmentRef `json:"parts"` // segment files per partition
	// IndexFiles are the stored indexes of the data in Parts
	// (indexfile.go); absent in catalogs from before they were stored
	IndexFiles []IndexRef `json:"index_files,omitempty"`
	// Stats are the planner's statistics of the data, so that planning
	// after open need not sample the segments
	Stats *catalog.TableStats `json:"stats,omitempty"`
}

// View is a stored view: its query's text, bound again at open.
type View struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	OID     uint32   `json:"oid"`
	SQL     string   `json:"sql"`
	Columns []string `json:"columns"`
}

// Function is a stored wasm function: its module (by content hash) and
// its signature.
type Function struct {
	Schema       string         `json:"schema"`
	OID          uint32         `json:"oid"`
	Name         string         `json:"name"`
	Module       string         `json:"module"`
	Export       string         `json:"export"`
	Args         []types.T      `json:"args"`
	AnyArgs      []bool         `json:"any_args"`
	Result       types.T        `json:"result"`
	AnyResult    bool           `json:"any_result"`
	Strict       bool           `json:"strict"`
	Volatile     bool           `json:"volatile"`
	MaxMemory    uint64         `json:"max_memory"`
	Columns      []ResultColumn `json:"columns,omitempty"`
	FromManifest bool           `json:"from_manifest"`
	// a LANGUAGE sql function: its body, parameter names and defaults
	// (Module and Export are then empty)
	SQLBody  string   `json:"sql_body,omitempty"`
	ArgNames []string `json:"arg_names,omitempty"`
	Defaults []string `json:"arg_defaults,omitempty"`
	// a LANGUAGE plpgsql function (SQLBody is then its body): every
	// declared parameter and the result type as written
	PL *PLFunction `json:"plpgsql,omitempty"`
}

// PLFunction is what a LANGUAGE plpgsql function declares beyond its
// input parameters.
type PLFunction struct {
	Params     []PLParam `json:"params"`
	ResultType string    `json:"result_type"`
	SetOf      bool      `json:"setof,omitempty"`
}

// PLParam is a declared parameter: mode i, o, b (INOUT), v or t.
type PLParam struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Mode string `json:"mode"`
}

// ResultColumn is a column of a table function's result.
type ResultColumn struct {
	Name string
	T    types.T
}

// Open locks dir (creating it) and returns its store.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "modules"), 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, sqlerr.New(sqlerr.ObjectInUse, "data directory %s is in use by another process", dir)
	}
	segmentBytes := opts.SegmentBytes
	if segmentBytes <= 0 {
		segmentBytes = defaultSegmentBytes
	}
	st := newStore(dir, segmentBytes)
	st.lock = lock
	return st, nil
}

// newStore is a store of dir with its maps made: every way of opening
// one starts here, so none misses a map a later feature added.
func newStore(dir string, segmentBytes int64) *Store {
	return &Store{dir: dir, segments: map[arrow.Record][]SegmentRef{}, staged: map[arrow.Record]SegmentRef{}, keep: map[string]bool{}, segmentBytes: segmentBytes,
		durable: map[uint32]*durableTable{}, logged: map[arrow.Record]string{},
		namedIndexes: map[string]bool{}, storedIndexes: map[uint32][]storedIndex{}}
}

// Dir is the data directory.
func (st *Store) Dir() string { return st.dir }

// Close closes the log and releases the directory's lock.
func (st *Store) Close() {
	for oid := range st.durable {
		st.dropDurable(oid)
	}
	if st.wal != nil {
		st.wal.f.Close()
	}
	if st.lock != nil {
		st.lock.Close()
	}
}

// ReadCatalog reads catalog.json. A directory without one is a new
// database (prepared here: its first checkpoint must follow at once), nil
// with no error, unless it holds data a lost catalog would have named:
// then it is an XX001 error and nothing is changed. legacy reports a
// catalog written before checksums (the next checkpoint adds one).
func (st *Store) ReadCatalog() (doc *Catalog, legacy bool, err error) {
	doc, legacy, err = readCatalog(st.dir)
	if err != nil || doc != nil {
		return doc, legacy, err
	}
	if st.readOnly {
		return nil, false, sqlerr.New(sqlerr.UndefinedObject, "data directory %s has no catalog to read", st.dir)
	}
	return nil, false, st.initialize()
}

// ReadTable returns the batches of a table's partitions as the catalog
// names them (parts), under schema; table names it in errors. It reads
// none of them: it checks that their files are there with their sizes,
// and each batch reads its file when first used (lazysegment.go). The
// store remembers them as the table's durable data: checkpoints do not
// write them again, the log writes changes as differences from them,
// open's cleanup keeps their files. Segments named by a catalog from
// before checksums are read at once (their checksums are taken then).
func (st *Store) ReadTable(mem memory.Allocator, oid uint32, schema *arrow.Schema, table string, parts [][]SegmentRef) ([][]arrow.Record, error) {
	out := make([][]arrow.Record, len(parts))
	for p, refs := range parts {
		for i := range refs {
			rec, err := st.tableBatch(mem, &refs[i], schema, table)
			if err != nil {
				for _, ps := range out {
					for _, r := range ps {
						r.Release()
					}
				}
				return nil, err
			}
			out[p] = append(out[p], rec)
		}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for p, refs := range parts {
		for i := range refs {
			st.segments[out[p][i]] = []SegmentRef{refs[i]}
			st.keep[refs[i].File] = true
		}
	}
	st.setDurable(oid, schema, out)
	st.noteCatalogParts(oid, out)
	return out, nil
}

// tableBatch is the batch of the segment ref names: read on demand, or at
// once for a legacy ref (which reading completes).
func (st *Store) tableBatch(mem memory.Allocator, ref *SegmentRef, schema *arrow.Schema, table string) (arrow.Record, error) {
	if ref.legacy {
		return ReadSegmentFile(mem, st.dir, ref, schema, table)
	}
	if err := checkSegmentFile(st.dir, *ref, table); err != nil {
		return nil, err
	}
	return st.newSegmentBatch(mem, *ref, schema, table), nil
}

// ReadModule reads the module of a function (named in errors) by its
// content hash, checking the content against it.
func (st *Store) ReadModule(hash, function string) ([]byte, error) {
	path := filepath.Join(st.dir, "modules", hash+".wasm")
	code, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, DataCorrupted("module file %s of function %s is missing", path, function)
	}
	if err != nil {
		return nil, fmt.Errorf("function %s: module %s: %w", function, hash, err)
	}
	if err := checkModuleHash(code, hash); err != nil {
		return nil, DataCorrupted("module file %s of function %s is damaged: %v", path, function, err)
	}
	return code, nil
}

func checkModuleHash(code []byte, hash string) error {
	sum := sha256.Sum256(code)
	if got := hex.EncodeToString(sum[:]); got != hash {
		return fmt.Errorf("content hash %s…, the name says %s…", got[:12], hash[:min(12, len(hash))])
	}
	return nil
}

// Replayer puts what the write-ahead log holds into the tables.
type Replayer interface {
	// Append adds rows to a table (logs of earlier formats).
	Append(oid uint32, recs []arrow.Record) error
	// Replace makes parts a table's data (retaining what it keeps).
	Replace(oid uint32, parts [][]arrow.Record) error
}

// Recover ends opening a directory whose catalog (doc) and tables
// (ReadTable) were read: it removes what earlier runs left behind (see
// datadir.go) and replays the write-ahead log into the tables.
// needsCheckpoint reports that the directory must be checkpointed before
// use (a log of an earlier format that held rows).
func (st *Store) Recover(doc *Catalog, mem memory.Allocator, replay Replayer) (needsCheckpoint bool, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.readOnly {
		st.recoverReadOnly(doc)
		return false, nil
	}
	st.noteIndexFiles(doc)
	if st.nextSeg, err = st.cleanup(st.keep, doc.NextSeg); err != nil {
		return false, fmt.Errorf("data directory %s: %w", st.dir, err)
	}
	st.gen = doc.WALGeneration
	return st.openWAL(st.gen, mem, replay)
}

// Checkpoint is one write of the whole catalog: the caller names every
// table batch the catalog holds (Segments, which writes the new ones),
// then commits the catalog. Log appends wait until Done.
type Checkpoint struct {
	st         *Store
	referenced map[arrow.Record][]SegmentRef
	dirs       map[string]bool
	tables     []TableData // the data it stores
	// stored are the index files it names whose trees have the tables'
	// locators in memory (indexfile.go)
	stored map[uint32][]storedIndex
}

// BeginCheckpoint starts a checkpoint; the caller must call Done.
func (st *Store) BeginCheckpoint() *Checkpoint {
	st.flushMu.Lock()
	st.mu.Lock()
	// entries queued before it are written first: their commits are
	// waiting for them, and the new log must not get them
	st.flushQueued(true)
	return &Checkpoint{st: st, referenced: map[arrow.Record][]SegmentRef{}, dirs: map[string]bool{}, stored: map[uint32][]storedIndex{}}
}

// Done ends the checkpoint (committed or not).
func (cp *Checkpoint) Done() {
	cp.st.mu.Unlock()
	cp.st.flushMu.Unlock()
}

// Table returns the segment files of each partition of a table's data,
// writing the batches that are not on disk yet.
func (cp *Checkpoint) Table(t TableData) ([][]SegmentRef, error) {
	if cp.st.readOnly {
		return nil, errReadOnly(cp.st.dir)
	}
	out := make([][]SegmentRef, len(t.Parts))
	for p, recs := range t.Parts {
		for _, rec := range recs {
			refs, err := cp.segments(t.OID, rec)
			if err != nil {
				return nil, err
			}
			out[p] = append(out[p], refs...)
		}
	}
	cp.tables = append(cp.tables, t)
	return out, nil
}

// segments returns the segment files that hold rec, a batch of the table
// with OID oid, writing them unless rec is on disk already.
func (cp *Checkpoint) segments(oid uint32, rec arrow.Record) ([]SegmentRef, error) {
	st := cp.st
	refs, ok := st.segments[rec]
	if ref, staged := st.staged[rec]; !ok && staged {
		// written by a bulk load: its file is named now (and its
		// directory entry fsynced with the others)
		refs, ok = []SegmentRef{ref}, true
		cp.dirs[fmt.Sprint(oid)] = true
	}
	if !ok {
		var err error
		if refs, err = st.writeSegments(oid, rec); err != nil {
			return nil, err
		}
		cp.dirs[fmt.Sprint(oid)] = true
	}
	cp.referenced[rec] = refs
	return refs, nil
}

// WriteModule stores a function's module under its content hash, unless
// it is there already.
func (cp *Checkpoint) WriteModule(hash string, code []byte) error {
	if cp.st.readOnly {
		return errReadOnly(cp.st.dir)
	}
	path := filepath.Join(cp.st.dir, "modules", hash+".wasm")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return cp.st.writeAtomic(path, code)
}

// Commit makes doc the stored catalog, with the segments named through
// Segments: it fills in the store's own fields, writes catalog.json
// atomically, starts the next log generation and removes segment files
// no longer named.
func (cp *Checkpoint) Commit(doc *Catalog) error {
	st := cp.st
	if st.readOnly {
		return errReadOnly(st.dir)
	}
	doc.Version = catalogFormat
	sortCatalog(doc)
	doc.NextSeg = st.nextSeg
	gen := st.gen + 1
	doc.WALGeneration = gen
	for d := range cp.dirs {
		if err := syncDir(filepath.Join(st.dir, "data", d)); err != nil {
			return err
		}
	}
	if st.newTableDirs {
		// a new table directory's own entry must be durable too
		if err := syncDir(filepath.Join(st.dir, "data")); err != nil {
			return err
		}
		st.newTableDirs = false
	}
	raw, err := encodeCatalog(doc)
	if err != nil {
		return err
	}
	if err := st.writeAtomic(filepath.Join(st.dir, "catalog.json"), raw); err != nil {
		return err
	}
	st.gen = gen
	// the log's rows are in the segments now; a failure here leaves the
	// old log, which open ignores, and appends fall back to full commits
	st.resetWAL(gen)
	cp.commitIndexes(doc)
	// segments no longer named are garbage now that the catalog moved on
	for rec, refs := range st.segments {
		if _, ok := cp.referenced[rec]; !ok {
			for _, ref := range refs {
				os.Remove(filepath.Join(st.dir, "data", filepath.FromSlash(ref.File)))
			}
			delete(st.segments, rec)
		}
	}
	for rec, refs := range cp.referenced {
		st.segments[rec] = refs
		delete(st.staged, rec) // the catalog's now
	}
	// the segments hold every table now, as this checkpoint wrote them
	for oid := range st.durable {
		st.dropDurable(oid)
	}
	st.catalogParts = nil
	for _, t := range cp.tables {
		st.setDurable(t.OID, t.Schema, t.Parts)
		st.noteCatalogParts(t.OID, t.Parts)
	}
	st.logged = map[arrow.Record]string{}
	return nil
}

func sortCatalog(sc *Catalog) {
	sort.Slice(sc.Schemas, func(i, j int) bool { return sc.Schemas[i].OID < sc.Schemas[j].OID })
	sort.Slice(sc.Tables, func(i, j int) bool { return sc.Tables[i].OID < sc.Tables[j].OID })
	sort.Slice(sc.Views, func(i, j int) bool { return sc.Views[i].OID < sc.Views[j].OID })
	sort.Slice(sc.Functions, func(i, j int) bool { return sc.Functions[i].OID < sc.Functions[j].OID })
	sort.Slice(sc.Roles, func(i, j int) bool { return sc.Roles[i].Name < sc.Roles[j].Name })
}

// writeAtomic replaces path with data: temp file, fsync, rename, fsync dir.
func (st *Store) writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = st.quota.writer(f).Write(data)
	if err = finishTemp(f, tmp, path, err); err != nil {
		return sqlerr.New(sqlerr.DiskFull, "could not write %s: %v", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

// finishTemp ends writing the temporary file f (tmp) that is to replace
// path: unless writing it failed (err), it is fsynced, closed and renamed
// into place; on any failure it is removed and the error returned.
func finishTemp(f *os.File, tmp, path string, err error) error {
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
