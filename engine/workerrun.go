package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/storage"
)

// FragmentRunner is a worker's side of a cluster (cluster.go is the
// coordinator's): it opens the coordinator's data directory read-only at
// the catalog generation a fragment names, plans the fragment's SQL as
// the coordinator did and opens the partition it asks for.
type FragmentRunner struct {
	opts Options

	mu  sync.Mutex
	cur *workerDB // the newest generation opened
	// cache holds cached tables' partitions across generations (cachestmt.go)
	cache *cluster.PartitionCache
	// modules are the wasm modules the coordinator sent (moduleship.go)
	modules shippedModules
}

// workerDB is the database at one catalog generation, closed when a
// newer one replaced it and no fragment uses it any more.
type workerDB struct {
	db    *DB
	gen   uint64
	users int
	old   bool
	// parallelism is the coordinator's partition count it was opened
	// with: what a postgres_scan's page ranges are cut by (pgsplit.go)
	parallelism int
}

var _ cluster.FragmentRunner = (*FragmentRunner)(nil)

// NewFragmentRunner serves fragments from opts.DataDir (opened read-only).
func NewFragmentRunner(opts Options) (*FragmentRunner, error) {
	if opts.DataDir == "" || opts.DataDir == ":memory:" {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "a worker needs the data directory of its coordinator (--data)")
	}
	opts.ReadOnly, opts.Workers = true, nil
	fr := &FragmentRunner{opts: opts, cache: cluster.NewPartitionCache(nil, opts.CacheMemory)}
	fr.opts.ShippedModule = fr.modules.get
	return fr, nil
}

// Version is the engine's version.
func (fr *FragmentRunner) Version() string { return Version }

// DataDir is the directory the worker reads.
func (fr *FragmentRunner) DataDir() string { return fr.opts.DataDir }

// Close closes the open database.
func (fr *FragmentRunner) Close() {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.cur != nil {
		fr.cur.old = true
		if fr.cur.users == 0 {
			fr.cur.db.Close()
		}
		fr.cur = nil
	}
	fr.cache.Close()
}

// acquire returns the database at generation gen, opening it when the
// directory has moved on to it; a directory at another generation than
// the fragment's cannot reproduce its plan.
func (fr *FragmentRunner) acquire(gen uint64, parallelism int) (*workerDB, error) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.cur != nil && fr.cur.gen == gen && (parallelism <= 0 || fr.cur.parallelism == parallelism) {
		fr.cur.users++
		return fr.cur, nil
	}
	onDisk, err := storage.ReadGeneration(fr.opts.DataDir)
	if err != nil {
		return nil, &cluster.ReplanError{Reason: fmt.Sprintf("reading the catalog: %v", err)}
	}
	if onDisk != gen {
		return nil, &cluster.ReplanError{Reason: fmt.Sprintf("the data directory is at catalog generation %d, the fragment was planned at %d", onDisk, gen)}
	}
	opts := fr.opts
	if parallelism > 0 {
		opts.Partitions = parallelism
	}
	db, err := Open(opts)
	if err != nil {
		// a checkpoint removed a segment while it was read: behind already
		return nil, &cluster.ReplanError{Reason: fmt.Sprintf("opening the data directory: %v", err)}
	}
	if got := db.store.Generation(); got != gen {
		db.Close()
		return nil, &cluster.ReplanError{Reason: fmt.Sprintf("the data directory moved to catalog generation %d while it was read", got)}
	}
	if fr.cur != nil {
		fr.cur.old = true
		if fr.cur.users == 0 {
			fr.cur.db.Close()
		}
	}
	db.useSharedPartitions(fr.cache)
	fr.cur = &workerDB{db: db, gen: gen, users: 1, parallelism: db.opts.Partitions}
	return fr.cur, nil
}

func (fr *FragmentRunner) release(w *workerDB) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	w.users--
	if w.users == 0 && w.old {
		w.db.Close()
	}
}

// RunFragment opens the fragment's partition (cluster.FragmentRunner).
func (fr *FragmentRunner) RunFragment(ctx context.Context, f *clusterpb.Fragment, mem memory.Allocator) (exec.Stream, *arrow.Schema, func(), error) {
	if err := fr.needModules(f.Modules); err != nil {
		return nil, nil, nil, err
	}
	w, err := fr.acquire(f.Generation, int(f.Parallelism))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := w.db.unloadableModule(f.Modules); err != nil {
		fr.release(w)
		return nil, nil, nil, err
	}
	s := w.db.NewSession()
	st, schema, release, err := s.openFragment(ctx, f, mem)
	if err != nil {
		s.Close()
		fr.release(w)
		return nil, nil, nil, err
	}
	return st, schema, func() {
		release()
		s.Close()
		fr.release(w)
	}, nil
}

// openFragment plans the fragment's statement as its coordinator did and
// opens the partition of the node it names. Every failure before the
// partition opens means the plan could not be reproduced.
func (s *Session) openFragment(ctx context.Context, f *clusterpb.Fragment, mem memory.Allocator) (exec.Stream, *arrow.Schema, func(), error) {
	replan := func(format string, args ...any) error {
		return &cluster.ReplanError{Reason: fmt.Sprintf(format, args...)}
	}
	sel, err := fragmentQuery(f.Sql)
	if err != nil {
		return nil, nil, nil, replan("%v", err)
	}
	for _, name := range fragmentSettings {
		if v, ok := f.Settings[name]; ok {
			if err := s.setConfig(name, v, false); err != nil {
				return nil, nil, nil, replan("setting %s = %q: %v", name, v, err)
			}
		}
	}
	if _, ok := s.db.cat.Role(f.User); ok {
		s.user = f.User
	}
	params, paramTypes, err := decodeParams(f.Params)
	if err != nil {
		return nil, nil, nil, replan("parameters: %v", err)
	}
	s.ctx, s.params, s.paramTypes = ctx, params, paramTypes
	env := s.env()
	env.Mem, env.Memory, env.Spill = mem, nil, nil
	env.BatchSize, env.Parallelism = int(f.BatchSize), int(f.Parallelism)
	env.Now = time.UnixMicro(f.StatementTimeUnixMicros)
	s.useStats(f.Stats)
	p, err := s.plan(env, sel)
	if err != nil {
		return nil, nil, nil, replan("planning: %v", err)
	}
	b := s.newBuilder(env)
	op, err := b.Build(p)
	if err != nil {
		b.Release()
		return nil, nil, nil, replan("building: %v", err)
	}
	if got := cluster.Fingerprint(op); got != f.Fingerprint {
		b.Release()
		return nil, nil, nil, replan("the worker's plan differs (fingerprint %.12s, the coordinator's %.12s):\n%s", got, f.Fingerprint, cluster.PlanText(op))
	}
	node, err := cluster.FragmentNode(ctx, op, f, mem)
	if err != nil {
		b.Release()
		return nil, nil, nil, err
	}
	if int(f.Partition) >= node.Partitions() {
		b.Release()
		return nil, nil, nil, replan("the node has %d partitions, the fragment asks for %d", node.Partitions(), f.Partition)
	}
	if err := checkFragmentFiles(node, f); err != nil { // (filesplit.go)
		b.Release()
		return nil, nil, nil, err
	}
	s.readCachedFragment(b, node, f)
	if err := joinPostgresSnapshots(node, f); err != nil { // (pgsplit.go)
		b.Release()
		return nil, nil, nil, err
	}
	st, err := node.Open(ctx, int(f.Partition))
	if err != nil {
		b.Release()
		if len(f.PgSnapshots) > 0 {
			// PostgreSQL unreachable from here, or the snapshot gone: the
			// coordinator, which holds it, reads the range itself
			return nil, nil, nil, replan("opening the postgres scan: %v", err)
		}
		return nil, nil, nil, err
	}
	return st, node.Schema(), b.Release, nil
}

// fragmentQuery parses a fragment's statement: a query, or the query an
// EXPLAIN explains.
func fragmentQuery(sql string) (*pg.SelectStmt, error) {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, fmt.Errorf("a fragment's SQL must be one statement, it has %d", len(stmts))
	}
	node := stmts[0].Stmt
	if ex := node.GetExplainStmt(); ex != nil {
		node = ex.Query
	}
	sel := node.GetSelectStmt()
	if sel == nil {
		return nil, fmt.Errorf("a fragment's SQL must be a query")
	}
	return sel, nil
}
