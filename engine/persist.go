package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// store keeps a database in a data directory:
//
//	LOCK                  held (flock) by the one process that has it open
//	catalog.json          schemas, tables with their segment lists (each
//	                      segment with its size, rows and CRC-32C), views,
//	                      roles and functions; replaced atomically, with a
//	                      checksum of its own (catalogfile.go)
//	data/<oid>/<n>.arrow  Arrow IPC files of table batches (a large batch
//	                      takes several, segment.go), never changed
//	modules/<sha256>.wasm wasm modules functions use
//	wal.log               the write-ahead log of small appends (wal.go)
//
// Reading checks every checksum: damage is an XX001 error naming the
// file, never a wrong answer.
//
// Every statement that changes anything commits by writing the segments it
// made (each fsynced, then renamed into place), then a new catalog.json
// (written to a temporary file, fsynced, renamed over the old one, and the
// directory fsynced). A crash leaves the old or the new catalog, never a
// mix; segment files the catalog does not name are removed on open, with
// care (see datadir.go): opening never removes what it cannot account for.
type store struct {
	dir  string
	lock *os.File

	mu       sync.Mutex
	segments map[arrow.Record][]segmentRef // batches already on disk
	// segmentBytes is the target size of a segment file
	segmentBytes int64
	// newTableDirs: a directory was made under data/ since its last fsync
	newTableDirs bool
	nextSeg      uint64
	gen          uint64 // the write-ahead log generation the catalog names
	wal          *wal   // nil while unusable (a checkpoint makes a new one)
	quota        diskQuota
	// committed holds the OIDs of the tables and views the catalog on
	// disk names (to drop ones whose creation could not be stored)
	committed map[uint32]bool
}

type storedCatalog struct {
	Version int            `json:"version"`
	NextOID uint32         `json:"next_oid"`
	Schemas []storedSchema `json:"schemas"`
	Tables  []storedTable  `json:"tables"`
	Views   []storedView   `json:"views"`
	Roles   []catalog.Role `json:"roles"`
	// Members are GRANT role TO role; Privileges the owners and ACLs of
	// objects (absent before privileges existed: everything then belongs
	// to the bootstrap superuser with the default ACLs).
	Members    []catalog.Membership       `json:"role_members,omitempty"`
	Privileges []catalog.ObjectPrivileges `json:"privileges,omitempty"`
	Functions  []storedFunction           `json:"functions"`
	Types      []*catalog.UserType        `json:"types,omitempty"`
	Sequences  []catalog.StoredSequence   `json:"sequences,omitempty"`
	Extensions []catalog.Extension        `json:"extensions,omitempty"`
	// DefaultPrivileges are ALTER DEFAULT PRIVILEGES entries.
	DefaultPrivileges []catalog.DefaultPrivileges `json:"default_privileges,omitempty"`
	NextSeg           uint64                      `json:"next_segment"`
	// WALGeneration is the generation of the write-ahead log that
	// continues this catalog.
	WALGeneration uint64 `json:"wal_generation"`
}

type storedSchema struct {
	Name string `json:"name"`
	OID  uint32 `json:"oid"`
}

type storedTable struct {
	Schema  string               `json:"schema"`
	Name    string               `json:"name"`
	OID     uint32               `json:"oid"`
	Columns []catalog.Column     `json:"columns"`
	Keys    []catalog.Key        `json:"keys,omitempty"`
	Checks  []catalog.Check      `json:"checks,omitempty"`
	Foreign []catalog.ForeignKey `json:"foreign_keys,omitempty"`
	Comment string               `json:"comment,omitempty"`
	Indexes []catalog.Key        `json:"indexes,omitempty"`
	Parts   [][]segmentRef       `json:"parts"` // segment files per partition
}

type storedView struct {
	Schema  string   `json:"schema"`
	Name    string   `json:"name"`
	OID     uint32   `json:"oid"`
	SQL     string   `json:"sql"`
	Columns []string `json:"columns"`
}

type storedFunction struct {
	Schema       string       `json:"schema"`
	OID          uint32       `json:"oid"`
	Name         string       `json:"name"`
	Module       string       `json:"module"`
	Export       string       `json:"export"`
	Args         []types.T    `json:"args"`
	AnyArgs      []bool       `json:"any_args"`
	Result       types.T      `json:"result"`
	AnyResult    bool         `json:"any_result"`
	Strict       bool         `json:"strict"`
	Volatile     bool         `json:"volatile"`
	MaxMemory    uint64       `json:"max_memory"`
	Columns      []udf.Column `json:"columns,omitempty"`
	FromManifest bool         `json:"from_manifest"`
}

// openStore locks dir (creating it) and returns the store, whose segment
// files aim at segmentBytes (0: the default).
func openStore(dir string, segmentBytes int64) (*store, error) {
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
	if segmentBytes <= 0 {
		segmentBytes = defaultSegmentBytes
	}
	return &store{dir: dir, lock: lock, segments: map[arrow.Record][]segmentRef{}, segmentBytes: segmentBytes}, nil
}

func (st *store) close() {
	if st.wal != nil {
		st.wal.f.Close()
	}
	st.lock.Close()
}

// load restores the catalog and table data into db (see datadir.go for
// what opening may and may not remove).
func (st *store) load(db *DB) error {
	sc, legacy, err := readCatalog(st.dir)
	if err != nil {
		return err
	}
	if sc == nil {
		return st.initialize(db)
	}
	cat := db.cat
	for _, s := range sc.Schemas {
		if s.Name == "public" {
			continue
		}
		cat.ForceNextOID(s.OID)
		if err := cat.CreateSchema(s.Name, true); err != nil {
			return err
		}
	}
	for _, u := range sc.Types {
		if err := cat.CreateType(u, true); err != nil {
			return err
		}
	}
	for _, st := range sc.Sequences {
		if _, err := cat.CreateSequence(catalog.FromStored(st), true, false); err != nil {
			return err
		}
	}
	keep := map[string]bool{}
	for _, t := range sc.Tables {
		cat.LinkEnums(t.Columns)
		cat.ForceNextOID(t.OID)
		tbl, err := cat.CreateTable(t.Schema, t.Name, t.Columns, false)
		if err != nil {
			return err
		}
		tbl.Keys, tbl.Checks, tbl.ForeignKeys, tbl.Comment, tbl.Indexes = t.Keys, t.Checks, t.Foreign, t.Comment, t.Indexes
		parts := make([][]arrow.Record, len(t.Parts))
		schema := tbl.ArrowSchema()
		for p, refs := range t.Parts {
			for i := range refs {
				rec, err := readSegmentFile(db.opts.Mem, st.dir, &refs[i], schema, t.Schema+"."+t.Name)
				if err != nil {
					for _, ps := range parts {
						for _, r := range ps {
							r.Release()
						}
					}
					return err
				}
				parts[p] = append(parts[p], rec)
				st.segments[rec] = []segmentRef{refs[i]}
				keep[refs[i].File] = true
			}
		}
		tbl.Lock()
		tbl.Replace(parts)
		tbl.Unlock()
	}
	for _, v := range sc.Views {
		cat.ForceNextOID(v.OID)
		if err := cat.CreateView(v.Schema, v.Name, v.SQL, v.Columns, true); err != nil {
			return err
		}
	}
	for _, f := range sc.Functions {
		path := filepath.Join(st.dir, "modules", f.Module+".wasm")
		code, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return dataCorrupted("module file %s of function %s is missing", path, f.Name)
		}
		if err != nil {
			return fmt.Errorf("function %s: module %s: %w", f.Name, f.Module, err)
		}
		if err := checkModuleHash(code, f.Module); err != nil {
			return dataCorrupted("module file %s of function %s is damaged: %v", path, f.Name, err)
		}
		mod, err := db.udf.Load(context.Background(), code)
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		def, err := udf.Define(&udf.Function{Name: f.Name, Module: mod, Export: f.Export, Args: f.Args, AnyArgs: f.AnyArgs,
			Result: f.Result, AnyResult: f.AnyResult, Strict: f.Strict, Volatile: f.Volatile, MaxMemory: f.MaxMemory,
			Columns: f.Columns, FromManifest: f.FromManifest})
		if err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		cat.ForceNextOID(f.OID)
		if _, err := cat.CreateFunction(f.Schema, def, true); err != nil {
			return err
		}
	}
	cat.SetNextOID(sc.NextOID)
	// roles after the OIDs: ones stored before roles had OIDs get new ones
	for _, r := range sc.Roles {
		if err := cat.CreateRole(r); err != nil {
			return err
		}
	}
	cat.RestoreMemberships(sc.Members)
	cat.RestorePrivileges(sc.Privileges)
	cat.RestoreDefaultPrivileges(sc.DefaultPrivileges)
	for _, e := range sc.Extensions {
		if _, err := cat.CreateExtension(e, true); err != nil {
			return err
		}
	}
	if st.nextSeg, err = st.cleanup(keep, sc.NextSeg); err != nil {
		return fmt.Errorf("data directory %s: %w", st.dir, err)
	}
	st.gen = sc.WALGeneration
	st.committed = map[uint32]bool{}
	for _, t := range sc.Tables {
		st.committed[t.OID] = true
	}
	for _, v := range sc.Views {
		st.committed[v.OID] = true
	}
	if err := st.openWAL(db, st.gen); err != nil {
		return err
	}
	if legacy {
		return st.commit(db) // the catalog gets its checksums
	}
	return nil
}

// commit writes db's current state: new segments, then the catalog.
func (st *store) commit(db *DB) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	sc := storedCatalog{Version: catalogFormat, NextOID: db.cat.NextOID()}
	referenced := map[arrow.Record][]segmentRef{}
	dirs := map[string]bool{}
	images := db.snapshotTables()
	defer images.release()
	for _, s := range images.schemas {
		sc.Schemas = append(sc.Schemas, storedSchema{Name: s.Name, OID: s.OID})
	}
	for _, v := range images.views {
		sc.Views = append(sc.Views, storedView{Schema: v.Schema, Name: v.Name, OID: v.OID, SQL: v.SQL, Columns: v.Columns})
	}
	for _, img := range images.tables {
		t, snap, def := img.table, img.data, img.def
		stt := storedTable{Schema: img.schema, Name: img.name, OID: t.OID, Columns: def.Columns, Keys: def.Keys, Checks: def.Checks, Foreign: def.ForeignKeys, Comment: def.Comment, Indexes: def.Indexes, Parts: make([][]segmentRef, len(snap.Parts))}
		for p, recs := range snap.Parts {
			for _, rec := range recs {
				refs, ok := st.segments[rec]
				if !ok {
					var err error
					if refs, err = st.writeSegments(t, rec); err != nil {
						return err
					}
					dirs[fmt.Sprint(t.OID)] = true
				}
				referenced[rec] = refs
				stt.Parts[p] = append(stt.Parts[p], refs...)
			}
		}
		sc.Tables = append(sc.Tables, stt)
	}
	for _, f := range db.cat.Functions() {
		u := f.UDF
		if err := st.writeModule(u.Module); err != nil {
			return err
		}
		sc.Functions = append(sc.Functions, storedFunction{Schema: f.Schema, OID: f.OID, Name: u.Name, Module: u.Module.Hash, Export: u.Export,
			Args: u.Args, AnyArgs: u.AnyArgs, Result: u.Result, AnyResult: u.AnyResult, Strict: u.Strict, Volatile: u.Volatile,
			MaxMemory: u.MaxMemory, Columns: u.Columns, FromManifest: u.FromManifest})
	}
	sc.Roles = db.cat.StoredRoles()
	sc.Members = db.cat.Memberships()
	sc.Privileges = db.cat.StoredPrivileges()
	sc.Extensions = db.cat.Extensions()
	sc.DefaultPrivileges = db.cat.DefaultPrivilegesList()
	sc.Types, sc.Sequences = images.types, images.sequences
	sortCatalog(&sc)
	sc.NextSeg = st.nextSeg
	gen := st.gen + 1
	sc.WALGeneration = gen
	for d := range dirs {
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
	raw, err := encodeCatalog(&sc)
	if err != nil {
		return err
	}
	if err := st.writeAtomic(filepath.Join(st.dir, "catalog.json"), raw); err != nil {
		return err
	}
	st.gen = gen
	st.committed = map[uint32]bool{}
	for _, t := range sc.Tables {
		st.committed[t.OID] = true
	}
	for _, v := range sc.Views {
		st.committed[v.OID] = true
	}
	// the log's rows are in the segments now; a failure here leaves the
	// old log, which open ignores, and appends fall back to full commits
	st.resetWAL(gen)
	// segments no longer named are garbage now that the catalog moved on
	for rec, refs := range st.segments {
		if _, ok := referenced[rec]; !ok {
			for _, ref := range refs {
				os.Remove(filepath.Join(st.dir, "data", filepath.FromSlash(ref.File)))
			}
			delete(st.segments, rec)
		}
	}
	for rec, refs := range referenced {
		st.segments[rec] = refs
	}
	return nil
}

// tableImages is what a checkpoint stores: every stored table's data and
// definition, and the views, at one moment, as of the last commit (what
// open transaction blocks changed is as it was before them, see
// blockddl.go).
type tableImages struct {
	schemas   []*catalog.Schema // but temporary ones
	tables    []tableImage
	views     []catalog.View
	types     []*catalog.UserType
	sequences []catalog.StoredSequence
	// viewsBefore are the views stored as they were before an open block
	viewsBefore map[uint32]bool
}

type tableImage struct {
	schema, name string
	table        *catalog.Table
	def          catalog.TableDefinition
	data         *catalog.Snapshot
	before       bool // as it was before an open block changed it
}

func (im *tableImages) release() {
	for _, t := range im.tables {
		t.data.Release()
	}
}

// snapshotTables takes the data of every stored table while no commit is
// installing into several tables (installTogether), so that what is
// stored holds all of such a commit or none of it, and nothing of a
// transaction block that has not committed.
func (db *DB) snapshotTables() *tableImages {
	db.installMu.RLock()
	defer db.installMu.RUnlock()
	im := &tableImages{}
	for _, s := range db.cat.Schemas() {
		if s.Temp {
			continue // temporary tables end with their session
		}
		im.schemas = append(im.schemas, s)
		for _, t := range s.Tables {
			// (read without the table's lock, which a COMMIT holds while
			// it stores: definitions change only by whole slices)
			def := catalog.TableDefinition{Columns: t.Columns, Keys: t.Keys, Checks: t.Checks, ForeignKeys: t.ForeignKeys, Indexes: t.Indexes, Comment: t.Comment}
			im.tables = append(im.tables, tableImage{schema: s.Name, name: t.Name, table: t, def: def, data: t.Snapshot()})
		}
		for _, v := range s.Views {
			im.views = append(im.views, *v)
		}
	}
	im.types = db.cat.Types()
	for _, q := range db.cat.Sequences() {
		im.sequences = append(im.sequences, q.Stored())
	}
	// what open blocks changed is read after the catalog: a block
	// registers a change before it makes it, and unregisters (COMMIT,
	// ROLLBACK) only under installMu, so every change this image holds
	// is either committed or still registered here
	db.blocks.beforeBlocks(im)
	return im
}

// installTogether runs install, which puts new data into several tables
// (a transaction block's COMMIT, a cascade, an undo), with no checkpoint
// taking its snapshots meanwhile. install must not take a table lock or
// the store's (the caller holds the table locks it needs; a checkpoint
// holds the store's while it waits here).
func (db *DB) installTogether(install func()) {
	db.installMu.Lock()
	defer db.installMu.Unlock()
	install()
}

func sortCatalog(sc *storedCatalog) {
	sort.Slice(sc.Schemas, func(i, j int) bool { return sc.Schemas[i].OID < sc.Schemas[j].OID })
	sort.Slice(sc.Tables, func(i, j int) bool { return sc.Tables[i].OID < sc.Tables[j].OID })
	sort.Slice(sc.Views, func(i, j int) bool { return sc.Views[i].OID < sc.Views[j].OID })
	sort.Slice(sc.Functions, func(i, j int) bool { return sc.Functions[i].OID < sc.Functions[j].OID })
	sort.Slice(sc.Roles, func(i, j int) bool { return sc.Roles[i].Name < sc.Roles[j].Name })
}

func (st *store) writeModule(m *udf.Module) error {
	path := filepath.Join(st.dir, "modules", m.Hash+".wasm")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return st.writeAtomic(path, m.Original)
}

// writeAtomic replaces path with data: temp file, fsync, rename, fsync dir.
func (st *store) writeAtomic(path string, data []byte) error {
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

// dropUncommitted removes tables and views whose creation never reached
// the disk (their statement failed to commit), so that memory matches what
// a restart would find; those of open transaction blocks (inBlock) stay:
// they reach the disk when their block commits.
func (st *store) dropUncommitted(cat *catalog.Catalog, inBlock func(oid uint32) bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range cat.Schemas() {
		if s.Temp {
			continue
		}
		for _, t := range s.Tables {
			if !st.committed[t.OID] && !inBlock(t.OID) {
				cat.DropTable(s.Name, t.Name)
			}
		}
		for _, v := range s.Views {
			if !st.committed[v.OID] && !inBlock(v.OID) {
				cat.DropView(s.Name, v.Name)
			}
		}
	}
}
