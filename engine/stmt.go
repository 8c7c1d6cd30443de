package engine

import (
	"context"
	"fmt"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/planner/optimizer"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

const version = binder.Version

// Version is the engine version.
const Version = version

func (s *Session) env() *exec.Env {
	var mem memory.Allocator = s.db.opts.Mem
	if s.queryMem != nil {
		mem = s.queryMem
	}
	env := exec.NewEnv(mem, s.db.opts.BatchSize, s.db.opts.Partitions)
	env.Memory, env.Spill = s.queryMem, s.querySpill
	env.Progress = &s.progress
	env.Backends = sessionBackends{s}
	env.Advisory = sessionAdvisory{s}
	env.Notify = s.notify
	env.Zone, env.ZoneName = s.zone, s.settings["timezone"]
	env.FileSplitRows = s.fileSplitRows()
	return env
}

// fileSplitRowsSetting is the fewest rows a partition of a Parquet
// file's row groups gets (exec.FileScan): a file with fewer than twice
// as many is one partition; 0 never splits a file.
const fileSplitRowsSetting = "weft.file_split_rows"

func (s *Session) fileSplitRows() int64 {
	n, err := strconv.ParseInt(s.settings[fileSplitRowsSetting], 10, 64)
	if err != nil || n < 0 {
		return exec.DefaultFileSplitRows
	}
	return n
}

// Progress reports the rows and bytes the running statement has read
// from files so far (it may be called while the statement runs).
func (s *Session) Progress() (rows, bytes int64) {
	return s.progress.Rows.Load(), s.progress.Bytes.Load()
}

func (s *Session) resetProgress() {
	s.progress.Rows.Store(0)
	s.progress.Bytes.Store(0)
}

func (s *Session) binder(env *exec.Env) *binder.Binder {
	b := binder.New(s.db.cat, s.searchPath, env)
	b.Seqs = s.seqs
	hooks := s.binderHooks()
	b.Setting = hooks.setting
	b.SetConfig = hooks.setConfig
	b.NullsSmallest = s.settings["weft.null_order"] == "smallest"
	b.UDFRowErrorsAsNull = s.settings["weft.udf_row_errors"] == "null"
	b.FilesDir = s.db.opts.FilesDir
	b.Workers = hooks.workers
	b.Cached = hooks.cached
	b.Unpopulated = hooks.unpopulated
	b.CallPL = hooks.callPL
	b.CallPLRows = hooks.callPLRows
	b.Ctx = s.ctx
	b.User, b.SessionUser, b.BackendPID = s.currentRole(), s.user, s.act.pid
	if s.paramTypes != nil {
		b.ParamTypes = append([]types.T{}, s.paramTypes...)
	}
	b.ParamNames = s.pl.paramNames
	if s.describing {
		s.described = b
	}
	return b
}

// binderHooks are the session's functions a binder calls, made once (a
// method value is a new closure each time it is taken: five for every
// statement's binder).
type binderHooks struct {
	setting     func(name string) (string, bool)
	setConfig   func(name, value string, isLocal bool) error
	workers     func() [][]types.Datum
	cached      func() [][]types.Datum
	unpopulated func(t *catalog.Table) bool
	callPL      func(ctx context.Context, f *udf.Function, args []types.Datum, argTypes []types.T) (types.Datum, error)
	callPLRows  func(ctx context.Context, f *udf.Function, args []types.Datum, argTypes []types.T) ([][]types.Datum, error)
}

func (s *Session) binderHooks() *binderHooks {
	if s.hooks == nil {
		s.hooks = &binderHooks{setting: s.Setting, setConfig: s.setConfig, workers: s.db.workerRows,
			cached: s.cachedRows, unpopulated: s.unpopulated, callPL: s.callPL, callPLRows: s.callPLRows}
	}
	return s.hooks
}

func (s *Session) execStmt(ctx context.Context, sql string, raw *pg.RawStmt) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.refuseInFailedBlock(raw); err != nil {
		return nil, err
	}
	if err := s.ddlInTransaction(raw); err != nil {
		return nil, err
	}
	if err := s.refuseInReadOnly(raw); err != nil {
		return nil, err
	}
	s.takeSnapshot(raw.Stmt) // (REPEATABLE READ: snapshot.go)
	res, err := s.trackCreate(raw, func() (*Result, error) { return s.runStmt(ctx, sql, raw) })
	if res != nil {
		res.Zone = s.zone
	}
	return res, err
}

// runStmt runs one statement.
func (s *Session) runStmt(ctx context.Context, sql string, raw *pg.RawStmt) (*Result, error) {
	env := s.env()
	// only the statement itself may stream, not what it runs inside
	stream := s.streaming
	s.streaming = false
	switch raw.Stmt.Node.(type) {
	case *pg.Node_SelectStmt, *pg.Node_ExplainStmt:
		if raw == s.topStmt && s.topStmt != nil {
			// a query that is the statement itself (not one a DO block,
			// a function, a cursor or an INSERT runs) may go to workers:
			// they plan this text again
			s.fragmentSQL = s.topText
			defer func() { s.fragmentSQL = "" }()
		}
	}
	switch n := raw.Stmt.Node.(type) {
	case *pg.Node_SelectStmt:
		sel := n.SelectStmt
		if err := refuseNestedLocking(sql, sel); err != nil {
			return nil, err
		}
		if len(sel.LockingClause) > 0 {
			s.fragmentSQL = "" // (the query run is the statement with key columns added, not its text)
			res, release, err := s.lockSelectedRows(ctx, env, sel)
			if err != nil {
				return nil, err
			}
			defer release()
			if res != nil {
				return res, nil // the rows it locked
			}
		}
		if stream {
			return s.streamQuery(ctx, env, sel)
		}
		return s.runQuery(ctx, env, sel)
	case *pg.Node_ExplainStmt:
		return s.explain(ctx, env, n.ExplainStmt)
	case *pg.Node_PrepareStmt:
		return s.prepareStmt(ctx, env, sql, n.PrepareStmt)
	case *pg.Node_ExecuteStmt:
		return s.executeStmt(ctx, env, n.ExecuteStmt)
	case *pg.Node_DeallocateStmt:
		return s.deallocateStmt(n.DeallocateStmt)
	case *pg.Node_DiscardStmt:
		return s.discardStmt(n.DiscardStmt)
	case *pg.Node_CreateStmt:
		return s.createTable(env, n.CreateStmt)
	case *pg.Node_CreateTableAsStmt:
		return s.createTableAs(ctx, env, n.CreateTableAsStmt)
	case *pg.Node_InsertStmt:
		return s.insert(ctx, env, n.InsertStmt)
	case *pg.Node_UpdateStmt:
		return s.update(ctx, env, n.UpdateStmt)
	case *pg.Node_DeleteStmt:
		return s.delete(ctx, env, n.DeleteStmt)
	case *pg.Node_DropStmt:
		return s.drop(n.DropStmt)
	case *pg.Node_ListenStmt:
		return s.listenStmt(n.ListenStmt)
	case *pg.Node_UnlistenStmt:
		return s.unlistenStmt(n.UnlistenStmt)
	case *pg.Node_NotifyStmt:
		return s.notifyStmt(n.NotifyStmt)
	case *pg.Node_AlterDefaultPrivilegesStmt:
		return s.alterDefaultPrivileges(n.AlterDefaultPrivilegesStmt)
	case *pg.Node_DoStmt:
		return s.doBlock(ctx, n.DoStmt)
	case *pg.Node_CreateExtensionStmt:
		return s.createExtension(n.CreateExtensionStmt)
	case *pg.Node_ViewStmt:
		return s.createView(env, n.ViewStmt)
	case *pg.Node_IndexStmt:
		return s.createIndex(n.IndexStmt)
	case *pg.Node_TruncateStmt:
		return s.truncate(n.TruncateStmt)
	case *pg.Node_RefreshMatViewStmt:
		return s.refreshMatView(ctx, env, n.RefreshMatViewStmt)
	case *pg.Node_CreateSchemaStmt:
		return s.createSchema(n.CreateSchemaStmt)
	case *pg.Node_GrantStmt:
		return s.grant(n.GrantStmt)
	case *pg.Node_AlterOwnerStmt:
		return s.alterOwner(n.AlterOwnerStmt)
	case *pg.Node_ReassignOwnedStmt:
		return s.reassignOwned(n.ReassignOwnedStmt)
	case *pg.Node_DropOwnedStmt:
		return s.dropOwned(ctx, n.DropOwnedStmt)
	case *pg.Node_VariableSetStmt:
		return s.set(n.VariableSetStmt)
	case *pg.Node_VariableShowStmt:
		return s.show(n.VariableShowStmt.Name)
	case *pg.Node_TransactionStmt:
		return s.transaction(n.TransactionStmt)
	case *pg.Node_CreateFunctionStmt:
		return s.createFunction(ctx, n.CreateFunctionStmt)
	case *pg.Node_CallStmt:
		return s.call(ctx, n.CallStmt)
	case *pg.Node_CreateRoleStmt:
		return s.createRole(n.CreateRoleStmt)
	case *pg.Node_AlterRoleStmt:
		return s.alterRole(n.AlterRoleStmt)
	case *pg.Node_DropRoleStmt:
		return s.dropRole(n.DropRoleStmt)
	case *pg.Node_GrantRoleStmt:
		return s.grantRoleStmt(n.GrantRoleStmt)
	case *pg.Node_AlterTableStmt:
		return matViewTag(s.alterTable(ctx, n.AlterTableStmt))(n.AlterTableStmt.Objtype)
	case *pg.Node_RenameStmt:
		objtype := n.RenameStmt.RenameType
		if objtype == pg.ObjectType_OBJECT_COLUMN {
			objtype = n.RenameStmt.RelationType
		}
		return matViewTag(s.rename(n.RenameStmt))(objtype)
	case *pg.Node_VacuumStmt:
		return s.vacuum(n.VacuumStmt)
	case *pg.Node_CheckPointStmt:
		// the commit that follows every statement that is not a logged
		// append folds the write-ahead log into segments; inside a block,
		// where statements store nothing, it commits here (what is stored
		// leaves the block out)
		if s.tx != nil {
			return &Result{Tag: "CHECKPOINT"}, s.db.persist()
		}
		return &Result{Tag: "CHECKPOINT"}, nil
	case *pg.Node_CopyStmt:
		return s.copyFile(ctx, n.CopyStmt)
	case *pg.Node_DeclareCursorStmt:
		return s.declareCursor(ctx, n.DeclareCursorStmt)
	case *pg.Node_FetchStmt:
		return s.fetch(n.FetchStmt)
	case *pg.Node_ClosePortalStmt:
		return s.closeCursor(n.ClosePortalStmt)
	case *pg.Node_CommentStmt:
		return s.comment(n.CommentStmt)
	case *pg.Node_AlterSeqStmt:
		return s.alterSequence(n.AlterSeqStmt)
	case *pg.Node_CreateSeqStmt:
		return s.createSequence(n.CreateSeqStmt)
	case *pg.Node_CreateEnumStmt:
		return s.createEnum(n.CreateEnumStmt)
	case *pg.Node_CompositeTypeStmt:
		return s.createComposite(env, n.CompositeTypeStmt)
	case *pg.Node_CreateDomainStmt:
		return s.createDomain(env, n.CreateDomainStmt)
	case *pg.Node_DefineStmt:
		if n.DefineStmt.Kind == pg.ObjectType_OBJECT_AGGREGATE {
			return s.createAggregate(ctx, n.DefineStmt)
		}
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "statement %s is not supported yet", stmtName(raw.Stmt))
}

func stmtName(n *pg.Node) string {
	name := fmt.Sprintf("%T", n.Node)
	name = strings.TrimPrefix(name, "*pg_query.Node_")
	return name
}

// plan binds and optimizes a query.
func (s *Session) plan(env *exec.Env, stmt *pg.SelectStmt) (logical.Plan, error) {
	b := s.binder(env)
	p, err := b.BindQuery(stmt)
	if err != nil {
		return nil, err
	}
	return optimizer.Optimize(p, s.DisabledRules)
}

// run executes a logical plan and collects its output.
func (s *Session) run(ctx context.Context, env *exec.Env, p logical.Plan) ([]arrow.Record, error) {
	b := s.newBuilder(env)
	defer b.Release()
	op, err := b.Build(p)
	if err != nil {
		return nil, err
	}
	op = s.placePlan(b, env, p, op, true)
	return exec.DrainResult(ctx, env, op)
}

func (s *Session) runQuery(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt) (*Result, error) {
	p, err := s.plan(env, stmt)
	if err != nil {
		return nil, err
	}
	batches, err := s.run(ctx, env, p)
	if err != nil {
		return nil, err
	}
	res := &Result{Columns: columnsOf(p.Columns()), Batches: batches, Query: true}
	res.Tag = fmt.Sprintf("SELECT %d", res.NumRows())
	return res, nil
}

// streamQuery plans a query and starts it: its rows are computed as the
// result is read (stream.go).
func (s *Session) streamQuery(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt) (*Result, error) {
	p, err := s.plan(env, stmt)
	if err != nil {
		return nil, err
	}
	b := s.newBuilder(env)
	op, err := b.Build(p)
	if err != nil {
		b.Release()
		return nil, err
	}
	op = s.placePlan(b, env, p, op, true)
	st, err := (&exec.Gather{Input: op}).Open(ctx, 0)
	if err != nil {
		b.Release()
		return nil, err
	}
	// the builder's constants live as long as the plan runs
	stream := &resultStream{s: s, st: releasingStream{Stream: st, release: b.Release}}
	return &Result{Columns: columnsOf(p.Columns()), Query: true, Tag: "SELECT 0", stream: stream}, nil
}

// releasingStream releases what its plan holds when it closes.
type releasingStream struct {
	exec.Stream
	release func()
}

func (r releasingStream) Close() {
	r.Stream.Close()
	r.release()
}

func columnsOf(cols []logical.Column) []Column {
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = Column{Name: c.Name, Type: c.T, TableOID: c.TableOID, Attnum: c.Attnum}
	}
	return out
}

func (s *Session) explain(ctx context.Context, env *exec.Env, st *pg.ExplainStmt) (*Result, error) {
	analyze := false
	for _, o := range st.Options {
		if d, ok := o.Node.(*pg.Node_DefElem); ok && d.DefElem.Defname == "analyze" {
			analyze = true
			if d.DefElem.Arg != nil {
				if v, ok := d.DefElem.Arg.Node.(*pg.Node_String_); ok && (v.String_.Sval == "false" || v.String_.Sval == "off") {
					analyze = false
				}
			}
		}
	}
	sel, ok := st.Query.Node.(*pg.Node_SelectStmt)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "EXPLAIN supports SELECT statements only")
	}
	p, err := s.plan(env, sel.SelectStmt)
	if err != nil {
		return nil, err
	}
	b := s.newBuilder(env)
	b.Analyze = analyze
	defer b.Release()
	op, err := b.Build(p)
	if err != nil {
		return nil, err
	}
	op = s.placePlan(b, env, p, op, analyze)
	if analyze {
		if err := exec.Discard(ctx, &exec.Gather{Input: op}, 0); err != nil {
			return nil, err
		}
	}
	text := strings.TrimRight(exec.FormatPlan(op), "\n")
	if s.distributedWhy != "" {
		text += "\nNot distributed: " + s.distributedWhy
	}
	return textResult(s, "QUERY PLAN", strings.Split(text, "\n"), "EXPLAIN"), nil
}

// textResult builds a one-column text result.
func textResult(s *Session, name string, lines []string, tag string) *Result {
	bld := array.NewStringBuilder(s.db.opts.Mem)
	defer bld.Release()
	for _, l := range lines {
		bld.Append(l)
	}
	col := bld.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{col}, int64(len(lines)))
	if tag == "" {
		tag = fmt.Sprintf("SELECT %d", len(lines))
	}
	return &Result{Columns: []Column{{Name: name, Type: types.TextT}}, Batches: []arrow.Record{rec}, Tag: tag, Query: true}
}
