package engine

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/storage"
	"github.com/weftdb/weft/udf"
)

// The database's durable state lives in a data directory that package
// storage keeps; this file turns the catalog and the tables' data into
// what storage stores (a checkpoint) and back (open).

// load restores the catalog and table data from the store into db (see
// storage's datadir.go for what opening may and may not remove).
func (db *DB) load() error {
	st := db.store
	sc, legacy, err := st.ReadCatalog()
	if err != nil {
		return err
	}
	if sc == nil {
		// a new database writes its first catalog at once
		return db.checkpoint()
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
	for _, t := range sc.Tables {
		if err := db.loadTable(t); err != nil {
			return err
		}
	}
	for _, v := range sc.Views {
		cat.ForceNextOID(v.OID)
		if err := cat.CreateView(v.Schema, v.Name, v.SQL, v.Columns, true); err != nil {
			return err
		}
	}
	for _, f := range sc.Functions {
		if err := db.loadFunction(f); err != nil {
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
	db.setCommitted(sc)
	needsCheckpoint, err := st.Recover(sc, db.opts.Mem, replayer{db})
	if err != nil || db.opts.ReadOnly {
		return err
	}
	if legacy || needsCheckpoint {
		return db.checkpoint() // the catalog gets its checksums, old log rows their segments
	}
	return nil
}

// loadTable creates a stored table and reads its segments.
func (db *DB) loadTable(t storage.Table) error {
	db.cat.LinkEnums(t.Columns)
	db.cat.ForceNextOID(t.OID)
	tbl, err := db.cat.CreateTable(t.Schema, t.Name, t.Columns, false)
	if err != nil {
		return err
	}
	tbl.Keys, tbl.Checks, tbl.ForeignKeys, tbl.Comment, tbl.Indexes, tbl.Cache = t.Keys, t.Checks, t.Foreign, t.Comment, t.Indexes, t.Cache
	tbl.MatView, tbl.Unpopulated = t.MatView, t.Unpopulated
	parts, err := db.store.ReadTable(db.opts.Mem, t.OID, tbl.ArrowSchema(), t.Schema+"."+t.Name, t.Parts)
	if err != nil {
		return err
	}
	tbl.Lock()
	defer tbl.Unlock()
	tbl.Replace(parts)
	tbl.SetStats(t.Stats)
	// the indexes the last checkpoint stored, read a node at a time as
	// lookups need them: the first lookup does not build one by reading
	// every row (log replay derives them further, as writes do)
	attachIndexes(tbl, db.store.ReadIndexes(t.OID, t.Schema+"."+t.Name, t.IndexFiles))
	return nil
}

// attachIndexes gives tbl's data the stored indexes ixs that tbl still
// defines. Call it holding tbl's lock.
func attachIndexes(tbl *catalog.Table, ixs []*index.Index) {
	defs := tbl.IndexDefs()
	for _, ix := range ixs {
		for _, d := range defs {
			if d.Equal(ix.Def) {
				tbl.Current().AttachIndex(ix)
			}
		}
	}
}

// loadFunction compiles a stored function's module and defines it.
func (db *DB) loadFunction(f storage.Function) error {
	if f.SQLBody != "" {
		body := &udf.SQLBody{Text: f.SQLBody, ArgNames: f.ArgNames, Defaults: f.Defaults}
		if f.PL != nil {
			pl, err := db.loadedPL(f.Schema, f.Name, f.PL, f.SQLBody)
			if err != nil {
				return err
			}
			body.PL = pl
		}
		db.cat.ForceNextOID(f.OID)
		_, err := db.cat.CreateFunction(f.Schema, &udf.Function{Name: f.Name, Args: f.Args, AnyArgs: f.AnyArgs, Result: f.Result,
			Strict: f.Strict, Volatile: f.Volatile, SQL: body}, true)
		return err
	}
	code, err := db.readModule(f)
	if errors.Is(err, errModuleNotHere) {
		return nil // (a worker: its fragments that need it are refused)
	}
	if err != nil {
		return err
	}
	mod, err := db.udf.Load(context.Background(), code)
	if err != nil {
		return db.notLoadable(f, err)
	}
	def, err := udf.Define(&udf.Function{Name: f.Name, Module: mod, Export: f.Export, Args: f.Args, AnyArgs: f.AnyArgs,
		Result: f.Result, AnyResult: f.AnyResult, Strict: f.Strict, Volatile: f.Volatile, MaxMemory: f.MaxMemory,
		Columns: fromStoredColumns(f.Columns), FromManifest: f.FromManifest})
	if err != nil {
		return db.notLoadable(f, err)
	}
	db.cat.ForceNextOID(f.OID)
	_, err = db.cat.CreateFunction(f.Schema, def, true)
	return err
}

func fromStoredColumns(cols []storage.ResultColumn) []udf.Column {
	var out []udf.Column
	for _, c := range cols {
		out = append(out, udf.Column{Name: c.Name, T: c.T})
	}
	return out
}

func toStoredColumns(cols []udf.Column) []storage.ResultColumn {
	var out []storage.ResultColumn
	for _, c := range cols {
		out = append(out, storage.ResultColumn{Name: c.Name, T: c.T})
	}
	return out
}

// replayer puts what the write-ahead log holds into the tables.
type replayer struct{ db *DB }

// Replace makes parts a table's data.
func (r replayer) Replace(oid uint32, parts [][]arrow.Record) error {
	t := r.db.cat.TableByOID(oid)
	if t == nil {
		return fmt.Errorf("table with oid %d does not exist", oid)
	}
	for _, p := range parts {
		for _, rec := range p {
			rec.Retain()
		}
	}
	t.Lock()
	defer t.Unlock()
	t.Replace(parts)
	return nil
}

// Append adds the rows of a log entry of an earlier format to their table.
func (r replayer) Append(oid uint32, recs []arrow.Record) error {
	db := r.db
	t := db.cat.TableByOID(oid)
	if t == nil {
		return fmt.Errorf("table with oid %d does not exist", oid)
	}
	schema := t.ArrowSchema()
	relabeled := make([]arrow.Record, 0, len(recs))
	defer func() { exec.ReleaseRecords(relabeled) }()
	for _, rec := range recs {
		if int(rec.NumCols()) != schema.NumFields() {
			return fmt.Errorf("table %s: entry has %d columns, table has %d", t.Name, rec.NumCols(), schema.NumFields())
		}
		relabeled = append(relabeled, arrayNewRecord(schema, rec.Columns(), rec.NumRows()))
	}
	t.Lock()
	defer t.Unlock()
	cur := t.Current()
	if cur == nil {
		return fmt.Errorf("table %s has no data", t.Name)
	}
	parts, err := catalog.AppendParts(db.opts.Mem, cur, relabeled, db.opts.BatchSize)
	if err != nil {
		return err
	}
	t.Replace(parts)
	return nil
}

// setCommitted records the tables and views the stored catalog names.
func (db *DB) setCommitted(sc *storage.Catalog) {
	db.committed = map[uint32]bool{}
	for _, t := range sc.Tables {
		db.committed[t.OID] = true
	}
	for _, v := range sc.Views {
		db.committed[v.OID] = true
	}
}

// checkpoint writes db's current state to the store: the segments not on
// disk yet, then the catalog.
func (db *DB) checkpoint() (err error) {
	db.checkpointMu.Lock()
	defer db.checkpointMu.Unlock()
	cp := db.store.BeginCheckpoint()
	defer cp.Done()
	sc := storage.Catalog{NextOID: db.cat.NextOID()}
	images := db.takeImages(true)
	defer images.release()
	// failed commits not undone yet are in the snapshot: stored with it,
	// they must stay (undo.go)
	defer func() { db.checkpointDone(images.claimed, err == nil) }()
	for _, s := range images.schemas {
		sc.Schemas = append(sc.Schemas, storage.Schema{Name: s.Name, OID: s.OID})
	}
	for _, v := range images.views {
		sc.Views = append(sc.Views, storage.View{Schema: v.Schema, Name: v.Name, OID: v.OID, SQL: v.SQL, Columns: v.Columns})
	}
	for _, img := range images.tables {
		t, def := img.table, img.def
		data := img.stored()
		refs, err := cp.Table(data)
		if err != nil {
			return err
		}
		ixRefs, err := cp.Indexes(data, img.indexes())
		if err != nil {
			return err
		}
		sc.Tables = append(sc.Tables, storage.Table{Schema: img.schema, Name: img.name, OID: t.OID, Columns: def.Columns, Keys: def.Keys, Checks: def.Checks, Foreign: def.ForeignKeys, Comment: def.Comment, Indexes: def.Indexes, Cache: def.Cache, MatView: def.MatView, Unpopulated: def.Unpopulated, Parts: refs, IndexFiles: ixRefs,
			Stats: storableStats(t.StoredStats(def.Columns, img.data))})
	}
	for _, f := range db.cat.Functions() {
		u := f.UDF
		stored := storage.Function{Schema: f.Schema, OID: f.OID, Name: u.Name, Export: u.Export,
			Args: u.Args, AnyArgs: u.AnyArgs, Result: u.Result, AnyResult: u.AnyResult, Strict: u.Strict, Volatile: u.Volatile,
			MaxMemory: u.MaxMemory, Columns: toStoredColumns(u.Columns), FromManifest: u.FromManifest}
		if u.SQL != nil {
			stored.SQLBody, stored.ArgNames, stored.Defaults = u.SQL.Text, u.SQL.ArgNames, u.SQL.Defaults
			stored.PL = storedPL(u.SQL.PL)
		} else {
			if err := cp.WriteModule(u.Module.Hash, u.Module.Original); err != nil {
				return err
			}
			stored.Module = u.Module.Hash
		}
		sc.Functions = append(sc.Functions, stored)
	}
	sc.Roles = db.cat.StoredRoles()
	sc.Members = db.cat.Memberships()
	sc.Privileges = db.cat.StoredPrivileges()
	sc.Extensions = db.cat.Extensions()
	sc.DefaultPrivileges = db.cat.DefaultPrivilegesList()
	sc.Types, sc.Sequences = images.types, images.sequences
	if err := cp.Commit(&sc); err != nil {
		return err
	}
	db.setCommitted(&sc)
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
	// claimed numbers the last failed commit the snapshot holds (undo.go)
	claimed uint64
}

type tableImage struct {
	schema, name string
	table        *catalog.Table
	def          catalog.TableDefinition
	data         *catalog.Snapshot
	before       bool // as it was before an open block changed it
}

// stored is the image's data as storage takes it.
func (img tableImage) stored() storage.TableData {
	schema := img.table.ArrowSchemaOf(img.def.Columns)
	return storage.TableData{OID: img.table.OID, Schema: schema, Parts: img.data.Parts, Edited: img.data.EditsOf}
}

// storableStats is st unless JSON cannot hold it (a NaN estimate).
func storableStats(st *catalog.TableStats) *catalog.TableStats {
	if st == nil {
		return nil
	}
	for _, c := range st.Columns {
		for _, f := range []float64{c.Distinct, c.NullFrac} {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil
			}
		}
	}
	return st
}

// indexes are the indexes a checkpoint stores with the image's data: those
// its snapshot has, and those it can build without reading segments
// (data written since the last checkpoint, or read since open), so that
// the first lookup after the next open need not read the whole table.
func (img tableImage) indexes() []*index.Index {
	loaded := true
	for _, p := range img.data.Parts {
		for _, r := range p {
			loaded = loaded && catalog.BatchLoaded(r)
		}
	}
	tbl := &catalog.Table{Columns: img.def.Columns, Keys: img.def.Keys, Indexes: img.def.Indexes}
	var out []*index.Index
	for _, d := range tbl.IndexDefs() {
		ix := img.data.BuiltIndex(d)
		if ix == nil && loaded {
			ix = img.data.Index(d)
		}
		if ix != nil {
			out = append(out, ix)
		}
	}
	return out
}

// logRows makes the rows of every stored table durable through the
// write-ahead log (what changed since they were last stored), for
// statements and blocks that changed rows and nothing else; when the log
// cannot take it, a checkpoint stores everything.
func (db *DB) logRows() error {
	wait, err := db.queueRows()
	if err != nil {
		return err
	}
	return wait()
}

// queueRows is logRows in two steps: it queues the log entry (or runs the
// checkpoint) at once, in the order of the changes it records, and wait
// returns once that is durable. Callers call it with their table locks
// let go (the entry records every stored table as it is when it is
// queued, so a commit installed on top of the caller's meanwhile may have
// queued the caller's rows already: the caller's entry then finds nothing
// new and waits for that one), so that statements and commits on the
// same tables need not wait while it is built, and commits behind them
// queue their entries for the same fsync (group commit).
func (db *DB) queueRows() (wait func() error, err error) {
	done := func() error { return nil }
	if db.store == nil {
		return done, nil
	}
	var images *tableImages
	logged, wait, err := db.store.QueueTables(func() []storage.TableData {
		if db.ddlInFlight.Load() > 0 {
			// a catalog change not stored yet: rows logged now could
			// meet the old catalog after a crash
			return nil
		}
		images = db.snapshotTables()
		out := make([]storage.TableData, len(images.tables))
		for i, img := range images.tables {
			out[i] = img.stored()
		}
		return out
	})
	if images != nil {
		images.release()
	}
	if err != nil {
		return nil, err
	}
	if logged {
		return wait, nil
	}
	if err := db.checkpoint(); err != nil {
		return nil, err
	}
	return done, nil
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
func (db *DB) snapshotTables() *tableImages { return db.takeImages(false) }

// takeImages is snapshotTables; for a checkpoint (claim) it also claims
// the failed commits not undone yet, whose rows the images hold (undo.go).
func (db *DB) takeImages(claim bool) *tableImages {
	db.installMu.RLock()
	defer db.installMu.RUnlock()
	im := &tableImages{}
	if claim {
		im.claimed = db.failed.claimForCheckpoint()
	}
	for _, s := range db.cat.Schemas() {
		if s.Temp {
			continue // temporary tables end with their session
		}
		im.schemas = append(im.schemas, s)
		for _, t := range s.Tables {
			// (read without the table's lock, which a COMMIT holds while
			// it stores: definitions change only by whole slices)
			def := catalog.TableDefinition{Columns: t.Columns, Keys: t.Keys, Checks: t.Checks, ForeignKeys: t.ForeignKeys, Indexes: t.Indexes, Comment: t.Comment, Cache: t.Cache,
				MatView: t.MatView, Unpopulated: t.Unpopulated}
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

// dropUncommitted removes tables and views whose creation never reached
// the disk (their statement failed to commit), so that memory matches what
// a restart would find; those of open transaction blocks (inBlock) stay:
// they reach the disk when their block commits.
func (db *DB) dropUncommitted(inBlock func(oid uint32) bool) {
	db.checkpointMu.Lock()
	defer db.checkpointMu.Unlock()
	cat := db.cat
	for _, s := range cat.Schemas() {
		if s.Temp {
			continue
		}
		for _, t := range s.Tables {
			if !db.committed[t.OID] && !inBlock(t.OID) {
				cat.DropTable(s.Name, t.Name)
			}
		}
		for _, v := range s.Views {
			if !db.committed[v.OID] && !inBlock(v.OID) {
				cat.DropView(s.Name, v.Name)
			}
		}
	}
}
