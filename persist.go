package weft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// store keeps a database in a data directory:
//
//	LOCK                  held (flock) by the one process that has it open
//	catalog.json          schemas, tables with their segment lists, views,
//	                      roles and functions; replaced atomically
//	data/<oid>/<n>.arrow  one Arrow IPC file per table batch, never changed
//	modules/<sha256>.wasm wasm modules functions use
//
// Every statement that changes anything commits by writing the segments it
// made (each fsynced, then renamed into place), then a new catalog.json
// (written to a temporary file, fsynced, renamed over the old one, and the
// directory fsynced). A crash leaves the old or the new catalog, never a
// mix; files the current catalog does not name are removed on open.
type store struct {
	dir  string
	lock *os.File

	mu       sync.Mutex
	segments map[arrow.Record]string // batches already on disk
	nextSeg  uint64
	gen      uint64 // the write-ahead log generation the catalog names
	wal      *wal   // nil while unusable (a checkpoint makes a new one)
	quota    diskQuota
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
	NextSeg    uint64                     `json:"next_segment"`
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
	Parts   [][]string           `json:"parts"` // segment files per partition
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

// openStore locks dir (creating it) and returns the store.
func openStore(dir string) (*store, error) {
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
	return &store{dir: dir, lock: lock, segments: map[arrow.Record]string{}}, nil
}

func (st *store) close() {
	if st.wal != nil {
		st.wal.f.Close()
	}
	st.lock.Close()
}

// load restores the catalog and table data into db.
func (st *store) load(db *DB) error {
	raw, err := os.ReadFile(filepath.Join(st.dir, "catalog.json"))
	if errors.Is(err, os.ErrNotExist) {
		if err := st.cleanup(nil); err != nil {
			return err
		}
		return st.openWAL(db, st.gen)
	}
	if err != nil {
		return err
	}
	var sc storedCatalog
	if err := json.Unmarshal(raw, &sc); err != nil {
		return fmt.Errorf("data directory %s: corrupt catalog.json: %w", st.dir, err)
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
		for p, files := range t.Parts {
			for _, f := range files {
				rec, err := st.readSegment(db, tbl, f)
				if err != nil {
					for _, ps := range parts {
						for _, r := range ps {
							r.Release()
						}
					}
					return fmt.Errorf("table %s.%s: %w", t.Schema, t.Name, err)
				}
				parts[p] = append(parts[p], rec)
				st.segments[rec] = f
				keep[f] = true
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
		code, err := os.ReadFile(filepath.Join(st.dir, "modules", f.Module+".wasm"))
		if err != nil {
			return fmt.Errorf("function %s: module %s: %w", f.Name, f.Module, err)
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
	st.nextSeg = sc.NextSeg
	if err := st.cleanup(keep); err != nil {
		return err
	}
	st.gen = sc.WALGeneration
	st.committed = map[uint32]bool{}
	for _, t := range sc.Tables {
		st.committed[t.OID] = true
	}
	for _, v := range sc.Views {
		st.committed[v.OID] = true
	}
	return st.openWAL(db, st.gen)
}

func (st *store) readSegment(db *DB, t *catalog.Table, name string) (arrow.Record, error) {
	f, err := os.Open(filepath.Join(st.dir, "data", name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(db.opts.Mem))
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", name, err)
	}
	defer r.Close()
	if r.NumRecords() != 1 {
		return nil, fmt.Errorf("segment %s: %d batches, want 1", name, r.NumRecords())
	}
	rec, err := r.Record(0)
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", name, err)
	}
	// the reader's record is only valid until the reader closes: copy it
	// into the table's own memory, under the table's schema
	rec.Retain()
	defer rec.Release()
	cols := make([]arrow.Array, rec.NumCols())
	for i := range cols {
		cols[i] = rec.Column(i)
	}
	return arrayNewRecord(t.ArrowSchema(), cols, rec.NumRows()), nil
}

// cleanup removes temporary files and segments the catalog does not name.
func (st *store) cleanup(keep map[string]bool) error {
	return filepath.WalkDir(st.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(st.dir, "data"), path)
		switch {
		case strings.HasSuffix(path, ".tmp"):
			return os.Remove(path)
		case strings.HasPrefix(path, filepath.Join(st.dir, "data")+string(os.PathSeparator)) && !keep[rel]:
			return os.Remove(path)
		}
		return nil
	})
}

// commit writes db's current state: new segments, then the catalog.
func (st *store) commit(db *DB) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	sc := storedCatalog{Version: 1, NextOID: db.cat.NextOID()}
	referenced := map[arrow.Record]string{}
	dirs := map[string]bool{}
	for _, s := range db.cat.Schemas() {
		if s.Temp {
			continue // temporary tables end with their session
		}
		sc.Schemas = append(sc.Schemas, storedSchema{Name: s.Name, OID: s.OID})
		for _, v := range s.Views {
			sc.Views = append(sc.Views, storedView{Schema: v.Schema, Name: v.Name, OID: v.OID, SQL: v.SQL, Columns: v.Columns})
		}
		for _, t := range s.Tables {
			snap := t.Snapshot()
			stt := storedTable{Schema: s.Name, Name: t.Name, OID: t.OID, Columns: t.Columns, Keys: t.Keys, Checks: t.Checks, Foreign: t.ForeignKeys, Comment: t.Comment, Indexes: t.Indexes, Parts: make([][]string, len(snap.Parts))}
			for p, recs := range snap.Parts {
				for _, rec := range recs {
					name, ok := st.segments[rec]
					if !ok {
						var err error
						if name, err = st.writeSegment(t, rec); err != nil {
							snap.Release()
							return err
						}
						dirs[filepath.Dir(name)] = true
					}
					referenced[rec] = name
					stt.Parts[p] = append(stt.Parts[p], name)
				}
			}
			snap.Release()
			sc.Tables = append(sc.Tables, stt)
		}
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
	sc.Types = db.cat.Types()
	for _, q := range db.cat.Sequences() {
		sc.Sequences = append(sc.Sequences, q.Stored())
	}
	sortCatalog(&sc)
	sc.NextSeg = st.nextSeg
	gen := st.gen + 1
	sc.WALGeneration = gen
	for d := range dirs {
		if err := syncDir(filepath.Join(st.dir, "data", d)); err != nil {
			return err
		}
	}
	raw, err := json.MarshalIndent(sc, "", " ")
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
	for rec, name := range st.segments {
		if _, ok := referenced[rec]; !ok {
			os.Remove(filepath.Join(st.dir, "data", name))
			delete(st.segments, rec)
		}
	}
	for rec, name := range referenced {
		st.segments[rec] = name
	}
	return nil
}

func sortCatalog(sc *storedCatalog) {
	sort.Slice(sc.Schemas, func(i, j int) bool { return sc.Schemas[i].OID < sc.Schemas[j].OID })
	sort.Slice(sc.Tables, func(i, j int) bool { return sc.Tables[i].OID < sc.Tables[j].OID })
	sort.Slice(sc.Views, func(i, j int) bool { return sc.Views[i].OID < sc.Views[j].OID })
	sort.Slice(sc.Functions, func(i, j int) bool { return sc.Functions[i].OID < sc.Functions[j].OID })
	sort.Slice(sc.Roles, func(i, j int) bool { return sc.Roles[i].Name < sc.Roles[j].Name })
}

func (st *store) writeSegment(t *catalog.Table, rec arrow.Record) (string, error) {
	st.nextSeg++
	name := filepath.Join(fmt.Sprint(t.OID), fmt.Sprintf("%d.arrow", st.nextSeg))
	path := filepath.Join(st.dir, "data", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	w, err := ipc.NewFileWriter(st.quota.writer(f), ipc.WithSchema(rec.Schema()))
	if err == nil {
		err = w.Write(rec)
	}
	if err == nil {
		err = w.Close()
	}
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
		return "", sqlerr.New(sqlerr.DiskFull, "could not write table data: %v", err)
	}
	return name, nil
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
		return sqlerr.New(sqlerr.DiskFull, "could not write %s: %v", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
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
// a restart would find.
func (st *store) dropUncommitted(cat *catalog.Catalog) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range cat.Schemas() {
		for _, t := range s.Tables {
			if !st.committed[t.OID] {
				cat.DropTable(s.Name, t.Name)
			}
		}
		for _, v := range s.Views {
			if !st.committed[v.OID] {
				cat.DropView(s.Name, v.Name)
			}
		}
	}
}
