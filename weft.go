// Package weft is the embedding API of the Weft SQL engine: open a
// database, start sessions, run PostgreSQL-dialect SQL, get Arrow results.
package weft

import (
	"context"
	pg "github.com/pganalyze/pg_query_go/v6"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
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
}

// DB is an open database. It is safe for concurrent use by many sessions.
type DB struct {
	cat   *catalog.Catalog
	udf   *udf.Engine
	opts  Options
	store *store // nil: in memory only
	// installMu makes installs into several tables atomic for checkpoints:
	// installTogether holds it exclusively, a checkpoint's snapshot of all
	// tables shared. Lock order: table locks, then the store's, then this.
	installMu sync.RWMutex
	// blocks are the open transaction blocks' catalog changes, which no
	// checkpoint stores before their COMMIT (blockddl.go)
	blocks openBlocks
	// betweenInstalls, for tests, runs between the tables a COMMIT
	// installs.
	betweenInstalls func()
	// tempSchemas numbers the sessions' schemas of temporary tables.
	tempSchemas atomic.Int64
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
	engine, err := udf.NewEngine(opts.UDF)
	if err != nil {
		return nil, err
	}
	db := &DB{cat: catalog.New(opts.Mem, opts.Partitions), udf: engine, opts: opts}
	if opts.DataDir != "" && opts.DataDir != ":memory:" {
		st, err := openStore(opts.DataDir, opts.SegmentBytes)
		if err != nil {
			engine.Close()
			return nil, err
		}
		db.store = st
		if err := st.load(db); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// persist commits the database's state to its data directory (a no-op in
// memory). Statements that change anything call it before they report
// success.
func (db *DB) persist() error {
	if db.store == nil {
		return nil
	}
	return db.store.commit(db)
}

// Close releases all table data.
func (db *DB) Close() error {
	if db.store != nil {
		// fold the log into segments so the next open need not replay it
		if db.store.walHolds() {
			db.store.commit(db)
		}
	}
	db.cat.Close()
	if db.store != nil {
		db.store.close()
	}
	return db.udf.Close()
}

// Catalog exposes the catalog (for tools that list objects).
func (db *DB) Catalog() *catalog.Catalog { return db.cat }

// Session is one connection's state: search path, settings. A session runs
// one statement at a time.
type Session struct {
	db         *DB
	searchPath []string
	settings   map[string]string
	ctx        context.Context // the running statement's, while it runs
	params     []types.Datum   // $1..$n of the running prepared statement
	paramTypes []types.T
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
	user             string        // the role the session runs as ("" before one is set)
	backendPID       int32
	seqs             *binder.SequenceState // currval, lastval
	temp             string                // the schema of its temporary tables, once it has one
	// DisabledRules turns optimizer rules off by name (for tests).
	DisabledRules map[string]bool
}

// Close ends the session, releasing its open cursors; an open
// transaction block is rolled back.
func (s *Session) Close() {
	s.closeCursors()
	if s.tx != nil {
		s.rollbackBlock() // nothing of the block is on disk
	}
	s.dropTempSchema()
}

// NewSession starts a session.
func (db *DB) NewSession() *Session {
	s := &Session{db: db, searchPath: []string{"public"}, settings: defaultSettings()}
	// a sequence that moves its restart point stores the catalog at once
	s.seqs = &binder.SequenceState{Persist: db.persist}
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
}

// Release frees the result's batches.
func (r *Result) Release() {
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
// statements that ran are returned along with the error. Outside a
// transaction block, several statements run as one transaction when they
// can (implicit.go).
func (s *Session) Exec(ctx context.Context, sql string) ([]*Result, error) {
	stmts, err := parser.Parse(sql)
	if err != nil {
		s.AbortBlock()
		return nil, err
	}
	if s.tx == nil {
		if err := refuseVacuumInString(stmts); err != nil {
			return nil, err
		}
	}
	var out []*Result
	for i, st := range stmts {
		if s.tx == nil && len(stmts) > 1 && startsImplicit(stmts[i:]) {
			s.beginImplicit()
		}
		var res *Result
		err := exec.Guard(func() error {
			sctx, cancel := s.statementContext(ctx)
			defer cancel()
			s.ctx = sctx
			defer func() { s.ctx = nil }()
			var err error
			s.beginWrites(onlyAppends(st), changesRowsOnly(st))
			s.resetProgress()
			defer s.endWrites()
			res, err = s.execStmt(sctx, sql, st)
			if err != nil && sctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				err = sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to statement timeout")
			}
			if err == nil && changesState(st) {
				if perr := s.commitWrites(); perr != nil {
					res.Release()
					res = nil
					return perr
				}
			}
			return err
		})
		if err != nil {
			if s.tx != nil && s.tx.implicit {
				s.endImplicit(err) // what the string did is rolled back
			} else {
				s.AbortBlock()
			}
			return out, sqlerr.Wrap(err)
		}
		out = append(out, res)
	}
	if err := s.endImplicit(nil); err != nil {
		return out, sqlerr.Wrap(err)
	}
	return out, nil
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
		"search_path":                 `"$user", public`,
		"client_encoding":             "UTF8",
		"server_encoding":             "UTF8",
		"datestyle":                   "ISO, MDY",
		"timezone":                    "UTC",
		"intervalstyle":               "postgres",
		"extra_float_digits":          "1",
		"application_name":            "",
		"statement_timeout":           "0",
		"weft.udf_row_errors":         "fail",
		"standard_conforming_strings": "on",
		"integer_datetimes":           "on",
		"server_version":              "15.0 (Weft " + version + ")",
		"batch_size":                  "",
		"max_parallel_workers":        "",
		// weft.null_order: "largest" (PostgreSQL) or "smallest" (SQLite)
		"weft.null_order": "largest",
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

// SetIdentity records who the session runs as and the process id its
// client was given (current_user, pg_backend_pid()).
func (s *Session) SetIdentity(user string, backendPID int32) {
	s.user, s.backendPID = user, backendPID
}
