package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/planner/physical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Cached relations (Spark's persist; docs/cluster.md "Cached tables"):
//
//	CALL weft.cache('t');                       ALTER TABLE t SET (weft.cache = 'memory');
//	CALL weft.uncache('t');                     ALTER TABLE t RESET (weft.cache);
//	SELECT * FROM weft.cached;
//
// A cached table's partitions are kept in the memory of the process that
// scans them for a query: on a coordinator with workers, the worker each
// partition is placed on (and placed on again while it is up); without
// workers, the coordinator. A partition is keyed by the segment files it
// was read from (storage.Store.PartitionKeys), so a write that replaces
// them makes the next read take the new rows from the segments and keep
// those; a partition lost with its worker is read from the segments by
// the worker it is placed on next. The setting is the table's weft.cache
// storage parameter in the catalog (catalog.Table.Cache): stored like a
// comment, undone by ROLLBACK, in effect from COMMIT, and found again
// when the database opens (the partitions are read again by the first
// query that scans them).

// relationCache is a database's cached tables and the partitions this
// process holds.
type relationCache struct {
	mu     sync.Mutex
	tables map[uint32]*cachedTable // the coordinator's cached tables
	parts  *cluster.PartitionCache // nil until first used
	shared bool                    // parts is a worker's, kept across generations
}

// cachedTable is a table CALL weft.cache named.
type cachedTable struct {
	// homes are the workers its partitions were placed on: they are
	// placed there again while the worker is up
	homes map[int]string
}

// partitions is the cache of the partitions this process holds.
func (db *DB) partitions() *cluster.PartitionCache {
	c := &db.caching
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parts == nil {
		c.parts = cluster.NewPartitionCache(db.opts.Mem, db.opts.CacheMemory)
	}
	return c.parts
}

// useSharedPartitions makes a worker's database keep its partitions in
// the runner's cache, which outlives the catalog generation.
func (db *DB) useSharedPartitions(parts *cluster.PartitionCache) {
	db.caching.mu.Lock()
	defer db.caching.mu.Unlock()
	db.caching.parts, db.caching.shared = parts, true
}

// closeCache drops the partitions the database holds (its own).
func (db *DB) closeCache() {
	db.caching.mu.Lock()
	defer db.caching.mu.Unlock()
	if db.caching.parts != nil && !db.caching.shared {
		db.caching.parts.Close()
	}
	db.caching.parts = nil
}

// cachedOIDs lists the cached tables (for fragments).
func (db *DB) cachedOIDs() []uint32 {
	db.caching.mu.Lock()
	defer db.caching.mu.Unlock()
	out := make([]uint32, 0, len(db.caching.tables))
	for oid := range db.caching.tables {
		out = append(out, oid)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (db *DB) isCached(oid uint32) bool {
	db.caching.mu.Lock()
	defer db.caching.mu.Unlock()
	_, ok := db.caching.tables[oid]
	return ok
}

// PartitionCache is what a worker holds (cluster.CacheHolder).
func (fr *FragmentRunner) PartitionCache() *cluster.PartitionCache { return fr.cache }

// cacheCall runs CALL weft.cache('table') and weft.uncache('table');
// handled reports a call of neither.
func (s *Session) cacheCall(ctx context.Context, name string, fc *pg.FuncCall) (res *Result, handled bool, err error) {
	if name != "weft.cache" && name != "weft.uncache" {
		return nil, false, nil
	}
	if len(fc.Args) != 1 || fc.Args[0].GetAConst().GetSval() == nil {
		return nil, true, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s takes one text literal: the table's name", name)
	}
	schema, rel := binder.SplitQualifiedName(fc.Args[0].GetAConst().GetSval().Sval)
	rv := &pg.RangeVar{Schemaname: schema, Relname: rel, Location: fc.Args[0].GetAConst().GetLocation()}
	if name == "weft.cache" {
		err = s.cacheTable(ctx, rv)
	} else {
		err = s.uncacheTable(rv)
	}
	if err != nil {
		return nil, true, err
	}
	return &Result{Tag: "CALL"}, true, nil
}

// alterCacheOption runs ALTER TABLE t SET (weft.cache = 'memory' |
// 'none') and ALTER TABLE t RESET (weft.cache); handled is false for
// any other ALTER TABLE (one that mixes weft.cache with other commands
// is refused).
func (s *Session) alterCacheOption(ctx context.Context, st *pg.AlterTableStmt) (res *Result, handled bool, err error) {
	cache, mentioned, others := cacheOptions(st)
	if !mentioned {
		return nil, false, nil
	}
	if others {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "weft.cache cannot be changed together with other ALTER TABLE commands or options")
	}
	switch err = checkCacheValue(cache); {
	case err != nil:
	case cache == cacheMemory:
		err = s.cacheTable(ctx, st.Relation)
	default:
		err = s.uncacheTable(st.Relation)
	}
	if err != nil {
		if st.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			return &Result{Tag: "ALTER TABLE"}, true, nil
		}
		return nil, true, err
	}
	return &Result{Tag: "ALTER TABLE"}, true, nil
}

// checkCacheValue refuses a weft.cache value other than "memory" and
// "none" ("" is RESET).
func checkCacheValue(value string) error {
	switch value {
	case cacheMemory, "none", "":
		return nil
	}
	return sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"weft.cache\": \"%s\"", value).
		WithHint("Valid values are \"memory\" and \"none\".")
}

// createCacheOption reads CREATE TABLE (or TABLE AS, or MATERIALIZED
// VIEW) rel … WITH (weft.cache = …), options: the value to store ("" for
// none). Other storage parameters are accepted and ignored, as before.
func createCacheOption(options []*pg.Node, rel *pg.RangeVar) (string, error) {
	value := ""
	for _, item := range options {
		d := item.GetDefElem()
		if d == nil || d.Defnamespace != "weft" || d.Defname != "cache" {
			continue
		}
		value = strings.ToLower(defElemText(d))
		if err := checkCacheValue(value); err != nil {
			return "", err
		}
	}
	if value == "none" {
		value = ""
	}
	if value != "" && rel.Relpersistence == "t" {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "cannot cache temporary table \"%s\": only stored tables are cached", rel.Relname)
	}
	return value, nil
}

// cacheCreated applies a new table's weft.cache (created empty: its
// first scan after the setting takes effect fills the cache).
func (s *Session) cacheCreated(t *catalog.Table, value string) {
	if value == "" {
		return
	}
	swapCacheOption(t, value)
	if s.tx == nil {
		s.db.followCacheOption(t)
		return
	}
	db := s.db
	s.tx.atCommit = append(s.tx.atCommit, func() { db.followCacheOption(t) })
}

// cacheOptions reads the weft.cache storage parameter of an ALTER
// TABLE: its value ("" for RESET), whether it is set or reset, and
// whether the statement does anything else too.
func cacheOptions(st *pg.AlterTableStmt) (value string, mentioned, others bool) {
	for _, n := range st.Cmds {
		cmd := n.GetAlterTableCmd()
		if cmd == nil || (cmd.Subtype != pg.AlterTableType_AT_SetRelOptions && cmd.Subtype != pg.AlterTableType_AT_ResetRelOptions) {
			others = true
			continue
		}
		for _, item := range cmd.Def.GetList().GetItems() {
			d := item.GetDefElem()
			if d == nil || d.Defnamespace != "weft" || d.Defname != "cache" {
				others = true
				continue
			}
			mentioned = true
			value = ""
			if cmd.Subtype == pg.AlterTableType_AT_SetRelOptions {
				value = strings.ToLower(defElemText(d))
			}
		}
	}
	return value, mentioned, others
}

// defElemText is a storage parameter's value as text ('memory', memory).
func defElemText(d *pg.DefElem) string {
	if d.Arg == nil {
		return "true"
	}
	if sv := d.Arg.GetString_(); sv != nil {
		return sv.Sval
	}
	if tn := d.Arg.GetTypeName(); tn != nil && len(tn.Names) > 0 {
		return tn.Names[len(tn.Names)-1].GetString_().GetSval()
	}
	return fmt.Sprint(d.Arg.GetNode())
}

// cacheTable marks a table cached and reads it at once (Spark SQL's
// CACHE TABLE): its partitions are kept where they are scanned.
func (s *Session) cacheTable(ctx context.Context, rv *pg.RangeVar) error {
	t, err := s.ownedTable(rv)
	if err != nil {
		return err
	}
	if sch, ok := s.db.cat.Schema(t.Schema); ok && sch.Temp {
		return sqlerr.New(sqlerr.FeatureNotSupported, "cannot cache temporary table \"%s\": only stored tables are cached", t.Name)
	}
	if err := s.setCacheOption(t, cacheMemory); err != nil || s.tx != nil {
		return err // (in a block the first read after COMMIT fills it)
	}
	return s.fillCache(ctx, t)
}

// cacheMemory is the weft.cache value that caches a table.
const cacheMemory = "memory"

// setCacheOption sets t's weft.cache in the catalog, which the
// statement's commit stores. Inside a block ROLLBACK puts the old value
// back, and the cache follows the setting only once the block commits.
func (s *Session) setCacheOption(t *catalog.Table, value string) error {
	if err := s.notHeld(t, true); err != nil {
		return err
	}
	s.touchTable(t, false) // (in a block: the store keeps the old value until COMMIT)
	old := swapCacheOption(t, value)
	if s.tx == nil {
		s.db.followCacheOption(t)
		return nil
	}
	s.tx.undoLater = append(s.tx.undoLater, func() { swapCacheOption(t, old) })
	db := s.db
	s.tx.atCommit = append(s.tx.atCommit, func() { db.followCacheOption(t) })
	return nil
}

// swapCacheOption sets t's weft.cache and returns the value it replaced.
func swapCacheOption(t *catalog.Table, value string) string {
	t.Lock()
	defer t.Unlock()
	old := t.Cache
	t.Cache = value
	return old
}

// followCacheOption makes the tables cached match t's committed
// weft.cache: a table newly cached is read into memory by its next
// scan; one no longer cached lets go of its partitions.
func (db *DB) followCacheOption(t *catalog.Table) {
	t.Lock()
	cached := t.Cache == cacheMemory
	t.Unlock()
	if !cached {
		if db.isCached(t.OID) {
			db.forgetCached(context.Background(), t.OID)
		}
		return
	}
	c := &db.caching
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tables == nil {
		c.tables = map[uint32]*cachedTable{}
	}
	if c.tables[t.OID] == nil {
		c.tables[t.OID] = &cachedTable{homes: map[int]string{}}
	}
}

// followStoredCacheOptions caches the tables the opened catalog says
// are (their partitions are read by the first query that scans them).
// A worker's read-only view keeps none: its coordinator names the
// cached tables in each fragment.
func (db *DB) followStoredCacheOptions() {
	if db.opts.ReadOnly {
		return
	}
	for _, sch := range db.cat.Schemas() {
		for _, t := range sch.Tables {
			if t.Cache == cacheMemory {
				db.followCacheOption(t)
			}
		}
	}
}

// fillCache scans the table once, as a query of its own that workers
// may run, so that its partitions are kept where they are placed.
func (s *Session) fillCache(ctx context.Context, t *catalog.Table) error {
	sql := fmt.Sprintf("SELECT count(*) FROM ONLY %s.%s", quoteIdent(t.Schema), quoteIdent(t.Name))
	stmts, err := parser.Parse(sql)
	if err != nil {
		return err
	}
	saved := s.fragmentSQL
	s.fragmentSQL = sql
	defer func() { s.fragmentSQL = saved }()
	env := s.env()
	p, err := s.plan(env, stmts[0].Stmt.GetSelectStmt())
	if err != nil {
		return err
	}
	batches, err := s.run(ctx, env, p)
	exec.ReleaseRecords(batches)
	return err
}

// uncacheTable forgets that a table is cached and drops its partitions
// here and on the workers that are up (in a block, at COMMIT).
func (s *Session) uncacheTable(rv *pg.RangeVar) error {
	t, err := s.ownedTable(rv)
	if err != nil {
		return err
	}
	return s.setCacheOption(t, "")
}

func (db *DB) forgetCached(ctx context.Context, oid uint32) {
	db.caching.mu.Lock()
	delete(db.caching.tables, oid)
	parts := db.caching.parts
	db.caching.mu.Unlock()
	if parts != nil {
		parts.Drop(oid)
	}
	if reg := db.registry(); reg != nil {
		reg.Uncache(ctx, oid)
	}
}

// placeCached places partition part of op (a pipeline about to run on
// workers) on the worker that holds it when op scans a cached table
// (cluster.PlaceFunc): where it was placed before while that worker is
// up, else on the default worker, which reads and keeps it.
func (db *DB) placeCached(op exec.Operator, part int, live []string) string {
	var scans []*exec.Scan
	collectScans(op, &scans)
	for _, sc := range scans {
		t := db.scannedTable(sc)
		if t == nil {
			continue
		}
		db.caching.mu.Lock()
		ct := db.caching.tables[t.OID]
		if ct == nil {
			db.caching.mu.Unlock()
			continue
		}
		home := ct.homes[part]
		if !contains(live, home) {
			home = live[part%len(live)]
			ct.homes[part] = home
		}
		db.caching.mu.Unlock()
		return home
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// scannedTable is the table a scan reads (by its name, as storedAt
// finds it), nil when it is not one.
func (db *DB) scannedTable(sc *exec.Scan) *catalog.Table {
	schema, name, ok := strings.Cut(sc.Name, ".")
	if !ok {
		return nil
	}
	t, _, ok := db.cat.Lookup(schema, name, nil)
	if !ok {
		return nil
	}
	return t
}

// placePlan hands the plan's leaf pipelines to the workers (distribute)
// and points the scans that stay here at the coordinator's cached
// partitions. run is false for a plan only explained: it reads nothing.
func (s *Session) placePlan(b *physical.Builder, env *exec.Env, p logical.Plan, op exec.Operator, run bool) exec.Operator {
	op = s.distribute(env, p, op)
	if run {
		s.sharePostgresSnapshots(b, op) // (pgsplit.go)
	}
	if run && s.db.store != nil && s.db.hasCachedTables() {
		s.readCachedHere(b, op)
	}
	return op
}

func (db *DB) hasCachedTables() bool {
	db.caching.mu.Lock()
	defer db.caching.mu.Unlock()
	return len(db.caching.tables) > 0
}

// readCachedHere points every scan of a cached table that runs in this
// process (not under a Remote node) at the partitions held here, reading
// and keeping the ones not held yet.
func (s *Session) readCachedHere(b *physical.Builder, op exec.Operator) {
	type cachedScan struct {
		sc *exec.Scan
		t  *catalog.Table
	}
	var found []cachedScan
	var visit func(op exec.Operator)
	visit = func(op exec.Operator) {
		if in, ok := op.(*exec.Instrumented); ok {
			op = in.Inner
		}
		switch n := op.(type) {
		case *cluster.Remote:
			return // its partitions run on workers
		case *exec.Scan:
			if t := s.db.scannedTable(n); t != nil && s.db.isCached(t.OID) {
				found = append(found, cachedScan{n, t})
			}
		}
		for _, c := range op.Children() {
			visit(c)
		}
	}
	visit(op)
	if len(found) == 0 {
		return
	}
	// rows only the log holds have no segments to name them: checkpoint
	// them first, as distribute does for workers
	s.ensureStored(op)
	for _, f := range found {
		parts := make([]int, len(f.sc.Parts))
		for p := range parts {
			parts[p] = p
		}
		s.db.readCachedParts(b, f.sc, f.t, parts)
	}
}

// readCachedParts replaces partitions parts of a scan of table t by the
// copies held in memory. A partition that cannot be read now is left
// to the scan, which reports the error when it runs.
func (db *DB) readCachedParts(b *physical.Builder, sc *exec.Scan, t *catalog.Table, parts []int) {
	keys := db.store.PartitionKeys(sc.Parts)
	cache := db.partitions()
	newParts := append([][]arrow.Record(nil), sc.Parts...)
	for _, p := range parts {
		if p >= len(newParts) || keys[p] == "" {
			continue
		}
		recs, err := cache.Read(t.OID, sc.Name, p, keys[p], sc.Parts[p])
		if err != nil {
			continue
		}
		b.Hold(releaseRecords(recs))
		newParts[p] = recs
	}
	sc.Parts = newParts
}

// releaseRecords releases batches when the plan holding them is released.
type releaseRecords []arrow.Record

func (r releaseRecords) Release() { exec.ReleaseRecords(r) }

// readCachedFragment is a worker's side: the scans of cached tables in
// the fragment's node read the fragment's partition from the worker's
// memory, reading and keeping it first when it is not held (or the
// table changed since).
func (s *Session) readCachedFragment(b *physical.Builder, node exec.Operator, f *clusterpb.Fragment) {
	if len(f.CachedTables) == 0 || s.db.store == nil {
		return
	}
	cached := map[uint32]bool{}
	for _, oid := range f.CachedTables {
		cached[oid] = true
	}
	var scans []*exec.Scan
	collectScans(node, &scans)
	for _, sc := range scans {
		if t := s.db.scannedTable(sc); t != nil && cached[t.OID] {
			s.db.readCachedParts(b, sc, t, []int{int(f.Partition)})
		}
	}
}

// cachedRows are the rows of weft.cached: every partition of a cached
// table held with the table's current content, here or on a worker
// that is up.
func (s *Session) cachedRows() [][]types.Datum {
	db := s.db
	if db.store == nil {
		return nil
	}
	current := map[uint32][]string{} // content keys of the tables as they are now
	names := map[uint32]string{}
	for _, oid := range db.cachedOIDs() {
		t := db.cat.TableByOID(oid)
		if t == nil { // dropped
			db.forgetCached(context.Background(), oid)
			continue
		}
		snap := t.Snapshot()
		current[oid] = db.store.PartitionKeys(snap.Parts)
		snap.Release()
		names[oid] = t.QualifiedName()
	}
	var rows [][]types.Datum
	add := func(worker string, entries []*clusterpb.CacheEntry) {
		for _, e := range entries {
			keys, ok := current[e.Table]
			if !ok || int(e.Partition) >= len(keys) || keys[e.Partition] != e.Content {
				continue // not cached any more, or the table changed since
			}
			rows = append(rows, []types.Datum{names[e.Table], int64(e.Partition), worker, e.Rows, e.Bytes, e.Hits})
		}
	}
	db.caching.mu.Lock()
	here := db.caching.parts
	db.caching.mu.Unlock()
	if here != nil {
		add("coordinator", here.List())
	}
	if reg := db.registry(); reg != nil {
		for _, wc := range reg.CacheLists(context.Background()) {
			if wc.Err == nil {
				add(wc.Address, wc.Entries)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a[0].(string) != b[0].(string) {
			return a[0].(string) < b[0].(string)
		}
		if a[1].(int64) != b[1].(int64) {
			return a[1].(int64) < b[1].(int64)
		}
		return a[2].(string) < b[2].(string)
	})
	return rows
}
