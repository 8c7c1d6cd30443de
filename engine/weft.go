// Package weft is the embedding API of the Weft SQL engine: open a
// database, start sessions, run PostgreSQL-dialect SQL, get Arrow results.
package engine

import (
	"context"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/planner/physical"
	"github.com/weftdb/weft/sql/parser"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/cluster"
	"github.com/weftdb/weft/copyfmt"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/storage"
	"github.com/weftdb/weft/udf"
)

// Options configures a database.
type Options struct {
	// Partitions is how many partitions tables are split into and how many
	// goroutines scan them (default: the number of CPUs).
	Partitions int
	// BatchSize is the number of rows per Arrow batch (default 8192).
	BatchSize int
	// Mem allocates all Arrow memory (default: Go's allocator).
	Mem memory.Allocator
	// UDF configures WebAssembly functions: the module directory, the
	// compiled-code cache and the default memory cap.
	UDF udf.Config
	// FilesDir is the only directory read_csv, read_parquet, read_arrow
	// and read_json may read ("" disables them).
	FilesDir string
	// DataDir keeps the database on disk (see persist.go); "" or ":memory:"
	// keeps it in memory only.
	DataDir string
	// SegmentBytes is the size a data file of a table aims at (default 32
	// MiB): a larger batch is stored as several files.
	SegmentBytes int64
	// LoadStageBytes is how many bytes of finished batches a bulk load
	// (COPY FROM) of a stored table holds before it writes them to
	// segment files, which its commit then names (bulkload.go; default
	// 32 MiB); negative keeps every row in memory until the commit.
	LoadStageBytes int64
	// MaxFunctionMemory is the most linear memory a non-superuser may give
	// a wasm function (SET weft.max_memory); 0 means UDF.MaxMemory, or
	// 256 MiB when that is unset too.
	MaxFunctionMemory uint64
	// MemoryLimit bounds the Arrow memory all statements together may
	// hold, in bytes (weft serve --memory-limit): operators that can
	// spill do so within it, others fail with 53200. 0 means 80% of the
	// machine's memory, a negative value no limit.
	MemoryLimit int64
	// BootstrapRole names the superuser a new database is created with
	// (default "weft"); a database that has one keeps it. Embedded
	// sessions run as it.
	BootstrapRole string
	// Workers are the addresses (host:port) of worker processes
	// (weft worker) reading the same data directory: with any, the
	// database is a cluster's coordinator (cluster.go, docs/cluster.md).
	Workers []string
	// WorkerTimeout is how long a worker may stay silent before its
	// partitions are rerun elsewhere (default 5s).
	WorkerTimeout time.Duration
	// ClusterSecretFile holds the secret workers check on every call
	// (default: cluster_secret in DataDir, made on first use; weft
	// serve --cluster-secret-file).
	ClusterSecretFile string
	// ReadOnly opens DataDir without locking it and never writes it: a
	// worker's view of its coordinator's directory (workerrun.go).
	ReadOnly bool
	// ShippedModule, set on a worker, gives the wasm modules its
	// coordinator sent (by sha256) that the data directory lacks; a
	// function whose module is in neither is left undefined
	// (moduleship.go).
	ShippedModule func(sha256 string) ([]byte, bool)
	// CacheMemory is the most bytes of cached tables' partitions
	// (CALL weft.cache) this process keeps; 0: no limit. A partition
	// that does not fit is read from the segments each time.
	CacheMemory int64
}

// DB is an open database. It is safe for concurrent use by many sessions.
type DB struct {
	// backends are the open sessions, by process id
	backends backendRegistry
	// advisory holds the advisory locks of every session (advisory.go)
	advisory *advisoryLocks
	// rowLocks are the row locks of UPDATE and DELETE (rowlocks.go)
	rowLocks *rowLocks
	// notify holds who listens on which channel (notify.go)
	notify *notifyHub
	cat    *catalog.Catalog
	udf    *udf.Engine
	opts   Options
	store  *storage.Store // nil: in memory only
	// memory is what all statements hold together (Options.MemoryLimit);
	// spill is where their operators write what does not fit.
	memory *exec.MemoryBudget
	spill  *spill.Root
	// checkpointMu orders checkpoints, and what they decide (committed)
	// against dropUncommitted
	checkpointMu sync.Mutex
	// cluster is the coordinator's workers (nil: never had one)
	cluster   *cluster.Registry
	clusterMu sync.Mutex
	// caching is the cached tables and the partitions held (cachestmt.go)
	caching relationCache
	// committed holds the OIDs of the tables and views the catalog on
	// disk names (to drop ones whose creation could not be stored)
	committed map[uint32]bool
	// ddlInFlight counts statements and COMMITs changing the catalog
	// from before they change it until it is stored: meanwhile rows go
	// to a checkpoint, not the log (persist.go logRows)
	ddlInFlight atomic.Int64
	// installMu makes installs into several tables atomic for checkpoints:
	// installTogether holds it exclusively, a checkpoint's snapshot of all
	// tables shared. Lock order: table locks, then the store's, then this.
	installMu sync.RWMutex
	// failed are the commits that could not be stored and are not undone
	// yet (undo.go)
	failed failedCommits
	// blocks are the open transaction blocks' catalog changes, which no
	// checkpoint stores before their COMMIT (blockddl.go)
	blocks openBlocks
	// betweenInstalls, for tests, runs between the tables a COMMIT
	// installs.
	betweenInstalls func()
	// tempSchemas numbers the sessions' schemas of temporary tables.
	tempSchemas atomic.Int64
	// authSecret is AuthSecret's, once read or made.
	authMu     sync.Mutex
	authSecret []byte
	// unloadable are, on a worker, the wasm modules its functions could
	// not be compiled from, by sha256, and why (moduleship.go); written
	// while the catalog is opened only
	unloadable map[string]string
}

// Open opens an in-memory database.
func Open(opts Options) (*DB, error) {
	if opts.Partitions <= 0 {
		opts.Partitions = runtime.NumCPU()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 8192
	}
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	if opts.LoadStageBytes == 0 {
		opts.LoadStageBytes = defaultLoadStageBytes
	}
	engine, err := udf.NewEngine(opts.UDF)
	if err != nil {
		return nil, err
	}
	if len(opts.Workers) > 0 && (opts.DataDir == "" || opts.DataDir == ":memory:") {
		engine.Close()
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "workers need a data directory to read: an in-memory database cannot have them")
	}
	db := &DB{cat: catalog.New(opts.Mem, opts.Partitions), udf: engine, opts: opts, advisory: newAdvisoryLocks(), rowLocks: newRowLocks(), notify: newNotifyHub()}
	if opts.DataDir != "" && opts.DataDir != ":memory:" {
		var st *storage.Store
		var err error
		if opts.ReadOnly {
			st, err = storage.OpenReadOnly(opts.DataDir)
		} else {
			st, err = storage.Open(opts.DataDir, storage.Options{SegmentBytes: opts.SegmentBytes})
		}
		if err != nil {
			engine.Close()
			return nil, err
		}
		db.store = st
		if err := db.load(); err != nil {
			db.Close()
			return nil, err
		}
		db.followStoredCacheOptions() // (cachestmt.go)
	}
	if err := db.openMemory(); err != nil {
		db.Close()
		return nil, err
	}
	if opts.MaxFunctionMemory == 0 {
		opts.MaxFunctionMemory = opts.UDF.MaxMemory
	}
	if opts.MaxFunctionMemory == 0 {
		opts.MaxFunctionMemory = 256 << 20
	}
	db.opts.MaxFunctionMemory = opts.MaxFunctionMemory
	if opts.BootstrapRole == "" {
		opts.BootstrapRole = "weft"
	}
	db.cat.EnsureBootstrapRole(opts.BootstrapRole)
	if err := db.startWorkers(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// databaseOID is the one database's OID (pg_database, its ACL).
const databaseOID = 16384

// persist commits the database's state to its data directory (a no-op in
// memory). Statements that change anything call it before they report
// success.
func (db *DB) persist() error {
	if db.store == nil {
		return nil
	}
	return db.checkpoint()
}

// Close releases all table data.
func (db *DB) Close() error {
	if reg := db.registry(); reg != nil {
		reg.Close()
	}
	if db.store != nil && !db.opts.ReadOnly {
		// fold the log into segments so the next open need not replay it
		if db.store.LogHoldsRows() {
			db.checkpoint()
		}
	}
	db.failed.releaseAll()
	db.cat.Close()
	db.closeCache()
	if db.spill != nil {
		db.spill.Close()
	}
	if db.store != nil {
		db.store.Close()
	}
	return db.udf.Close()
}

// Catalog exposes the catalog (for tools that list objects).
func (db *DB) Catalog() *catalog.Catalog { return db.cat }

// Session is one connection's state: search path, settings. A session runs
// one statement at a time.
type Session struct {
	// inbox holds the notifications for the client (notify.go)
	inbox inbox
	db    *DB
	// heldRows are the row locks the session holds (rowlocks.go)
	heldRows []heldRow
	// hasXID: the row lock table numbers the session's transaction
	// (pglocks.go); set and cleared under its lock, by the session only
	hasXID bool
	// dropListed are the relations the DROP running lists (checked
	// together before any is dropped: viewdeps.go)
	dropListed *dropList
	// parses keeps the parse trees of the queries, data changes and
	// transaction statements the session is sent as text, reused for the
	// same statement with other integer constants (the trees Start hands
	// out are reused by its next call)
	parses parser.Cache
	// schemas are the Arrow schemas the session's plans made, shared by
	// the next ones with the same columns
	schemas    physical.SchemaCache
	hooks      *binderHooks // (binderHooks)
	pl         plState      // PL/pgSQL calls in progress (plfunc.go)
	searchPath []string
	settings   map[string]string
	zone       *time.Location       // the TimeZone setting (nil: UTC)
	startup    startupSettings      // what RESET returns to
	ctx        context.Context      // the running statement's, while it runs
	params     []types.Datum        // $1..$n of the running prepared statement
	prepared   map[string]*Prepared // by name (prepare_sql.go)
	paramTypes []types.T
	// topStmt and topText are the statement runStatement runs and its
	// text; fragmentSQL is that text while a query of it is planned (what
	// workers plan again, cluster.go), distributedWhy why the last plan
	// stayed here
	topStmt        *pg.RawStmt
	topText        string
	fragmentSQL    string
	distributedWhy string
	// describing makes DML stop after binding (Prepare infers parameter
	// types that way); described is the binder it used.
	describing bool
	described  *binder.Binder
	// describedColumns are the RETURNING columns a described DML
	// statement would produce.
	describedColumns []Column
	cursors          map[string]*cursor
	tx               *txn          // the open transaction block
	writes           *stmtWrites   // the running statement's, while it runs
	progress         exec.Progress // what the running statement has loaded
	user             string        // session_user: the role the session runs as
	role             string        // the SET ROLE role ("" none): current_user when set
	authUser         string        // the role the session logged in as (SET SESSION AUTHORIZATION)
	backendPID       int32
	seqs             *binder.SequenceState // currval, lastval
	temp             string                // the schema of its temporary tables, once it has one
	fixedSettings    map[string]bool       // settings SET cannot change
	act              activity              // what pg_stat_activity shows of it
	queryMem         *exec.QueryAllocator  // the running statement's, while it runs
	querySpill       *spill.Query          // the running statement's spill files
	// open is the streamed result still being read (stream.go);
	// streaming lets the running statement's query stream its rows.
	open      *Result
	streaming bool
	// DisabledRules turns optimizer rules off by name (for tests).
	DisabledRules map[string]bool
}

// Close ends the session, releasing its open cursors; an open
// transaction block is rolled back.
func (s *Session) Close() {
	if s.open != nil {
		s.open.finish(nil)
	}
	s.db.backends.unregister(s.act.pid)
	s.closeCursors()
	if s.tx != nil {
		s.rollbackBlock() // nothing of the block is on disk
	}
	s.dropTempSchema()
	s.db.advisory.release(s.act.pid, true)
	s.db.notify.unlisten(s, "")
}

// NewSession starts a session.
func (db *DB) NewSession() *Session {
	s := &Session{db: db, searchPath: []string{"public"}, settings: defaultSettings()}
	// an embedded session runs as the bootstrap superuser, as a local
	// connection through initdb's trust would
	s.user = db.cat.BootstrapRole()
	s.authUser = s.user
	// a sequence that moves its restart point stores the catalog at once
	s.seqs = &binder.SequenceState{Persist: db.persist}
	s.act.backendStart, s.act.stateChange, s.act.backendType = time.Now(), time.Now(), "client backend"
	db.backends.register(s)
	return s
}

// Column describes a result column.
type Column struct {
	Name string
	Type types.T
	// TableOID and Attnum identify the source column of a base table (0 when
	// the column is computed).
	TableOID uint32
	Attnum   int
}

// Result is the outcome of one statement. Batches belong to the Result:
// call Release when done with them.
type Result struct {
	Columns []Column
	Batches []arrow.Record
	// Tag is PostgreSQL's command tag ("SELECT 3", "INSERT 0 1", …).
	Tag string
	// Notices are messages for the client that are not errors.
	Notices []string
	// Query reports whether the statement returns rows.
	Query bool
	// Zone is the session's TimeZone when the statement ended: timestamptz
	// values are printed in it (nil means UTC).
	Zone *time.Location
	// Copy is the format of a COPY … TO STDOUT's rows (nil otherwise).
	Copy *copyfmt.Options

	next   int           // the batch Next hands out next
	stream *resultStream // the rows still to compute (stream.go)
	err    error         // what ended the stream early
	script *Script       // the script it is a statement of (stream.go)
}

// FormatValue renders one result value as text, timestamptz in the
// result's time zone (NULL renders as "").
func (r *Result) FormatValue(col int, d types.Datum) string {
	return types.FormatIn(r.Columns[col].Type, d, r.Zone)
}

// Release frees the result's batches; a streamed query still running
// stops, and its statement ends.
func (r *Result) Release() {
	if r == nil {
		return
	}
	if r.stream != nil {
		r.finish(nil)
	}
	exec.ReleaseRecords(r.Batches)
	r.Batches = nil
}

// NumRows counts the result rows.
func (r *Result) NumRows() int64 {
	var n int64
	for _, b := range r.Batches {
		n += b.NumRows()
	}
	return n
}

// Exec runs every statement in sql, stopping at the first error. Results of
// statements that ran are returned along with the error, each whole in
// memory. Outside a transaction block, several statements run as one
// transaction when they can (implicit.go).
func (s *Session) Exec(ctx context.Context, sql string) ([]*Result, error) {
	sc, err := s.Start(sql)
	if err != nil {
		return nil, err
	}
	var out []*Result
	for {
		if _, ok := sc.Kind(); !ok {
			break
		}
		res, err := sc.runWhole(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, sc.Finish()
}

// Query runs a single statement and returns its result.
func (s *Session) Query(ctx context.Context, sql string) (*Result, error) {
	rs, err := s.Exec(ctx, sql)
	if err != nil {
		for _, r := range rs {
			r.Release()
		}
		return nil, err
	}
	if len(rs) == 0 {
		return &Result{Tag: ""}, nil
	}
	for _, r := range rs[:len(rs)-1] {
		r.Release()
	}
	return rs[len(rs)-1], nil
}

func defaultSettings() map[string]string {
	return map[string]string{
		"search_path":                   `"$user", public`,
		"client_encoding":               "UTF8",
		"server_encoding":               "UTF8",
		"datestyle":                     "ISO, MDY",
		"timezone":                      "UTC",
		"intervalstyle":                 "postgres",
		"extra_float_digits":            "1",
		"application_name":              "",
		"statement_timeout":             "0",
		"default_transaction_isolation": "read committed",
		"default_transaction_read_only": "off",
		"weft.udf_row_errors":           "fail",
		"standard_conforming_strings":   "on",
		"integer_datetimes":             "on",
		"server_version":                "15.0 (Weft " + version + ")",
		"server_version_num":            "150000",
		"max_identifier_length":         "63",
		"max_index_keys":                "32",
		"enable_indexscan":              "on",
		"block_size":                    "8192",
		"lc_collate":                    "C",
		"lc_ctype":                      "C",
		"batch_size":                    "",
		"max_parallel_workers":          "",
		// weft.null_order: "largest" (PostgreSQL) or "smallest" (SQLite)
		"weft.null_order":       "largest",
		queryMemoryLimitSetting: defaultQueryMemoryLimit(),
		memoryLimitSetting:      "0",
		spillCompressionSetting: "off",
		distributeSetting:       "on",
		broadcastRowsSetting:    broadcastRowsDefault(),
		shuffleGroupsSetting:    shuffleGroupsDefault(),
		fileSplitRowsSetting:    strconv.Itoa(exec.DefaultFileSplitRows),
	}
}

// returnMemoryAfter hands the memory a statement that ran out of it held
// back to the operating system now, instead of when the runtime's
// scavenger gets to it minutes later.
func returnMemoryAfter(err error) {
	if e := sqlerr.Wrap(err); e.Code == sqlerr.OutOfMemory || e.Code == sqlerr.ProgramLimitExceeded {
		debug.FreeOSMemory()
	}
}

func lower(s string) string { return strings.ToLower(s) }

// changesState reports whether a statement may change what is stored.
func changesState(st *pg.RawStmt) bool {
	switch st.Stmt.Node.(type) {
	case *pg.Node_SelectStmt, *pg.Node_ExplainStmt, *pg.Node_VariableSetStmt, *pg.Node_VariableShowStmt,
		*pg.Node_TransactionStmt, *pg.Node_DeclareCursorStmt, *pg.Node_FetchStmt, *pg.Node_ClosePortalStmt:
		return false
	}
	return true
}

// SetServerSetting fixes a setting that the server decides, such as
// max_connections: SHOW reports it and SET refuses to change it, as
// PostgreSQL does for settings that need a restart.
func (s *Session) SetServerSetting(name, value string) {
	name = lower(name)
	s.settings[name] = value
	if s.fixedSettings == nil {
		s.fixedSettings = map[string]bool{}
	}
	s.fixedSettings[name] = true
}

// SetIdentity records who the session runs as and the process id its
// client was given (current_user, pg_backend_pid()).
func (s *Session) SetIdentity(user string, backendPID int32) {
	s.user, s.authUser, s.role, s.backendPID = strings.ToLower(user), strings.ToLower(user), "", backendPID
	s.noteState()
}

// CurrentRole is current_user: the role privileges are checked for.
func (s *Session) CurrentRole() string { return s.currentRole() }

// IsSuperuser reports whether the session's current role is a superuser.
func (s *Session) IsSuperuser() bool { return s.isSuperuser() }
