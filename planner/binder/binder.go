// Package binder resolves a pg_query syntax tree against the catalog:
// names become column ids, types are checked and coerced following
// PostgreSQL's rules, functions are resolved, and queries become logical
// plans. Errors carry SQLSTATEs and the position of the offending token.
package binder

import (
	"context"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// Binder binds the statements of one session. It is not safe for concurrent
// use; column ids are unique across everything it binds.
type Binder struct {
	// Seqs is the session's sequence state (currval, lastval).
	Seqs       *SequenceState
	Cat        *catalog.Catalog
	SearchPath []string
	Env        *exec.Env
	// Setting looks up a session setting (current_setting); nil when the
	// binder has no session.
	Setting func(name string) (string, bool)
	// SetConfig changes a session setting (set_config); nil when the
	// binder has no session.
	SetConfig func(name, value string, isLocal bool) error
	// ParamTypes holds the types of $1..$n, inferred from context when the
	// client did not give them (Unknown until then).
	ParamTypes []types.T
	// ParamNames are the PL/pgSQL variables $1..$n stand for, where the
	// body named them unqualified ("" otherwise): a column of the same
	// name in scope makes the reference ambiguous (42702), as
	// plpgsql.variable_conflict = error has it.
	ParamNames []string
	// NullsSmallest sorts NULLs before other values by default (SQLite's
	// order) instead of after them (PostgreSQL's).
	NullsSmallest bool
	// UDFRowErrorsAsNull is the weft.udf_row_errors = 'null' policy.
	UDFRowErrorsAsNull bool
	// FilesDir is the directory read_csv & co. may read ("" none).
	FilesDir string
	// Workers, when set, lists a cluster's workers (weft.workers): address,
	// state, reason, last heartbeat, fragments run, partitions lost, pid.
	Workers func() [][]types.Datum
	// Cached, when set, lists the partitions of cached tables
	// (weft.cached): relation, partition, worker, rows, bytes, hits.
	Cached func() [][]types.Datum
	// Unpopulated reports whether a materialized view may not be read yet
	// (as the session sees it); nil reads the table's flag
	Unpopulated func(t *catalog.Table) bool
	// Ctx bounds work done while binding (a wasm function's bind step).
	Ctx context.Context
	// CallPL runs a LANGUAGE plpgsql function on one row of arguments (in
	// the session, at execution); nil refuses such calls.
	CallPL func(ctx context.Context, f *udf.Function, args []types.Datum, argTypes []types.T) (types.Datum, error)
	// CallPLRows runs a LANGUAGE plpgsql function called in FROM: its rows
	// (one for a function that returns one value or one row).
	CallPLRows func(ctx context.Context, f *udf.Function, args []types.Datum, argTypes []types.T) ([][]types.Datum, error)
	// User is the session's role (current_user); BackendPID its server
	// process id as clients know it (pg_backend_pid()).
	User       string
	BackendPID int32
	// SessionUser is session_user (User changes with SET ROLE).
	SessionUser string
	// Record, when set, collects what the statement's names resolve to
	// (bindings.go).
	Record *Bindings
	// calledUDF is set when call resolved a name to a user-defined
	// function, pickedUDF (for Record).
	calledUDF bool
	pickedUDF *catalog.Function

	nextID logical.ColumnID
	// srfs collects the set-returning functions a select-list item calls
	// inside an expression (generate_series(1, 3) * 2): each becomes a
	// column of the ProjectSet below the projection
	srfs *srfSink
	// sqlFunc is the LANGUAGE sql function whose body is being inlined
	sqlFunc *sqlFuncFrame
	scalars map[string]*exec.ScalarDef
	aggs    map[string]*exec.AggregateDef
	levels  []*level
	// aggResults are the value columns of the aggregates bound so far
	// (agglevel.go), by where each is computed
	aggResults map[logical.ColumnID]aggResult
	ctes       []map[string]*cteDef
	views      int // view expansion depth, to stop recursive views
	// listingViewColumns is set while catalog views bind views to list
	// their columns, so a view over those catalogs does not recurse
	listingViewColumns bool
	// untypedAs gives the outermost SELECT's untyped outputs (NULL, a
	// string literal) their types: INSERT … SELECT's target columns, as
	// PostgreSQL resolves them, instead of text. Taken by the first
	// bindSelect (untypedAs) and handed to its select core (coreUntypedAs).
	untypedAs, coreUntypedAs []types.T
	// untypedOut holds the output columns of SELECTs that were untyped
	// (a NULL or string literal made text), so that a set operation can
	// give them the other branch's type, as PostgreSQL does.
	untypedOut map[logical.ColumnID]bool
	// lazyFold > 0 while binding the arguments of COALESCE or CASE (fold)
	lazyFold int
	// foldErr, while a query is bound, keeps the first data error met
	// folding a constant, raised when binding ends (fold)
	foldErr *error
	// viewOwners are the owners of the views being expanded, innermost
	// last: a view's query is checked with its owner's privileges
	viewOwners []string
	// viewRefs counts, while BindQuery runs, how often the statement names
	// each relation (by its spelling); a deterministic view named more
	// than once is bound once and shared (sharedViews, by view OID). It
	// is counted over query (the statement BindQuery binds) when a view
	// first needs it: most statements name no view.
	viewRefs    map[string]int
	query       *pg.SelectStmt
	sharedViews map[uint32]*logical.SharedPlan
	// colChecks are the tables read under column privileges (colprivs.go).
	colChecks map[colCheckKey]bool
}

// level is one query nesting level (a subquery).
type level struct {
	outer []logical.Column // columns of enclosing levels referenced here
	seen  map[logical.ColumnID]bool
	// at is where each of outer is first referenced (-1 unknown), for
	// the error about an ungrouped one
	at map[logical.ColumnID]int32
}

type cteDef struct {
	name      string
	query     *pg.SelectStmt
	colNames  []string
	recursive *logical.WorkTable
	workCols  []logical.Column
	bound     logical.Plan
	// shareable: the statement names this CTE more than once, so its body
	// is bound once (shared) and read by a CTEScan per reference, unless
	// it turns out to read outer columns (then every reference binds it).
	shareable bool
	shared    *logical.SharedPlan
	// env is the CTE scope the query binds in: the enclosing WITHs and the
	// earlier entries of its own, never itself.
	env []map[string]*cteDef
}

// New returns a binder.
func New(cat *catalog.Catalog, searchPath []string, env *exec.Env) *Binder {
	return &Binder{Cat: cat, SearchPath: searchPath, Env: env, nextID: 1,
		scalars: exec.Scalars(), aggs: exec.Aggregates()}
}

func (b *Binder) newColumn(name string, t types.T) logical.Column {
	id := b.nextID
	b.nextID++
	return logical.Column{ID: id, Name: name, T: t}
}

// scopeItem is a name visible in a FROM clause.
type scopeItem struct {
	qual string
	col  logical.Column
	// qualOnly items are reachable only through their qualifier and are
	// left out of * (the right side's column of JOIN … USING).
	qualOnly bool
	// rel and attnum are the table or view whose own column the item is
	// (Bindings.Columns), 0 for other items; unqualified marks a column
	// * names without its qualifier (JOIN … USING's merged column).
	rel         uint32
	attnum      int
	unqualified bool
	// srcTable and srcCol are the table column the item reads, whatever
	// its name (column privileges, colprivs.go); nil for other items.
	srcTable *catalog.Table
	srcCol   int
	// nullExtended items are of the null-extended side of an outer join.
	nullExtended bool
}

type scope struct {
	parent *scope
	level  int
	items  []scopeItem
	agg    *aggContext // aggregates allowed and collected here
	// aggErr names the clause when aggregates are not allowed in it.
	aggErr string
}

func (b *Binder) pushLevel() int {
	b.levels = append(b.levels, &level{seen: map[logical.ColumnID]bool{}, at: map[logical.ColumnID]int32{}})
	return len(b.levels) - 1
}

func (b *Binder) popLevel() []logical.Column {
	l := b.levels[len(b.levels)-1]
	b.levels = b.levels[:len(b.levels)-1]
	return l.outer
}

// popLevelRefs is popLevel that also gives where each outer column is
// first referenced.
func (b *Binder) popLevelRefs() ([]logical.Column, map[logical.ColumnID]int32) {
	at := b.levels[len(b.levels)-1].at
	return b.popLevel(), at
}

func (b *Binder) curLevel() int { return len(b.levels) - 1 }

// noteOuter records that levels above found have referenced col, at loc.
func (b *Binder) noteOuter(found int, col logical.Column, loc int32) {
	for l := b.curLevel(); l > found; l-- {
		lv := b.levels[l]
		if !lv.seen[col.ID] {
			lv.seen[col.ID] = true
			lv.outer = append(lv.outer, col)
			lv.at[col.ID] = loc
		}
	}
}

func errAt(e *sqlerr.Error, loc int32) error { return e.At(loc) }

func nodeLocation(n *pg.Node) int32 {
	if n == nil {
		return -1
	}
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		return x.ColumnRef.Location
	case *pg.Node_AConst:
		return x.AConst.Location
	case *pg.Node_AExpr:
		return x.AExpr.Location
	case *pg.Node_FuncCall:
		return x.FuncCall.Location
	case *pg.Node_TypeCast:
		return x.TypeCast.Location
	case *pg.Node_SubLink:
		return x.SubLink.Location
	case *pg.Node_BoolExpr:
		return x.BoolExpr.Location
	case *pg.Node_CaseExpr:
		return x.CaseExpr.Location
	case *pg.Node_ResTarget:
		return x.ResTarget.Location
	case *pg.Node_RangeVar:
		return x.RangeVar.Location
	case *pg.Node_ParamRef:
		return x.ParamRef.Location
	case *pg.Node_NullTest:
		return x.NullTest.Location
	case *pg.Node_CoalesceExpr:
		return x.CoalesceExpr.Location
	}
	return -1
}

func strNode(n *pg.Node) string {
	if s, ok := n.Node.(*pg.Node_String_); ok {
		return s.String_.Sval
	}
	return ""
}

func names(ns []*pg.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, strNode(n))
	}
	return out
}

// ResolveTypeName maps a pg_query TypeName to a SQL type.
func ResolveTypeName(tn *pg.TypeName) (types.T, error) {
	ns := names(tn.Names)
	name := strings.Join(ns, ".")
	if len(ns) == 2 && ns[0] == "pg_catalog" {
		name = ns[1]
	}
	var mods []int32
	for _, m := range tn.Typmods {
		if c, ok := m.Node.(*pg.Node_AConst); ok {
			if iv, ok := c.AConst.Val.(*pg.A_Const_Ival); ok {
				mods = append(mods, iv.Ival.Ival)
			}
		}
	}
	if len(tn.ArrayBounds) > 1 {
		return types.T{}, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported yet").At(tn.Location)
	}
	t, ok := types.FromName(name, mods)
	if !ok {
		return types.T{}, sqlerr.New(sqlerr.UndefinedObject, "type \"%s\" does not exist", name).At(tn.Location)
	}
	if t.Kind == types.Numeric && t.Prec > types.MaxNumericPrecision {
		return types.T{}, sqlerr.New(sqlerr.InvalidParameter, "NUMERIC precision %d must be between 1 and %d", t.Prec, types.MaxNumericPrecision).At(tn.Location)
	}
	if len(tn.ArrayBounds) == 1 {
		if t.PG != 0 {
			t = types.T{Kind: t.Kind, Prec: t.Prec, Scale: t.Scale, Len: t.Len}
		}
		return types.ArrayOf(t), nil
	}
	return t, nil
}

// Columns is a plan's output with display names, for clients.
type Columns = []logical.Column

// TableScope is a base table bound for UPDATE/DELETE expressions.
type TableScope struct {
	Scan *logical.Scan
	s    *scope
}

// BeginTable binds a table reference for a DML statement.
func (b *Binder) BeginTable(t *catalog.Table, alias string) *TableScope {
	b.levels = nil
	b.pushLevel()
	qual := t.Name
	if alias != "" {
		qual = alias
	}
	cols := make([]logical.Column, len(t.Columns))
	ords := make([]int, len(t.Columns))
	s := &scope{level: b.curLevel(), items: make([]scopeItem, 0, len(t.Columns))}
	for i, c := range t.Columns {
		cols[i] = b.newColumn(c.Name, c.Type)
		cols[i].TableOID, cols[i].Attnum = t.OID, i+1
		cols[i].Table = qual
		ords[i] = i
		s.items = append(s.items, scopeItem{qual: qual, col: cols[i]})
	}
	return &TableScope{Scan: &logical.Scan{Table: t, Cols: cols, Ords: ords}, s: s}
}

// BeginTargetTable is BeginTable for the table an UPDATE, DELETE or
// INSERT writes, whose columns the statement's own expressions (its
// condition, SET, RETURNING) read: those reads are checked against
// column privileges (CheckColumnReads), where the reads of a generated
// column's or a CHECK's expression are not.
func (b *Binder) BeginTargetTable(t *catalog.Table, alias string) *TableScope {
	ts := b.BeginTable(t, alias)
	for i := range ts.s.items {
		ts.s.items[i].srcTable, ts.s.items[i].srcCol = t, i
	}
	return ts
}

// AddTable adds another table's columns to a scope under qual (EXCLUDED
// in ON CONFLICT DO UPDATE) and returns them; their reads are checked
// against column privileges as the target's are (as PostgreSQL checks
// EXCLUDED.c as a read of c).
func (b *Binder) AddTable(ts *TableScope, t *catalog.Table, qual string) []logical.Column {
	cols := make([]logical.Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = b.newColumn(c.Name, c.Type)
		cols[i].Table = qual
		ts.s.items = append(ts.s.items, scopeItem{qual: qual, col: cols[i], srcTable: ts.s.items[i].srcTable, srcCol: i})
	}
	return cols
}

// BindIn binds an expression over a table scope; what names the clause for
// errors about aggregates.
func (b *Binder) BindIn(ts *TableScope, n *pg.Node, what string) (logical.Expr, error) {
	s := *ts.s
	s.aggErr = what
	return b.bindExpr(n, &s)
}

// BindReturning binds a RETURNING list over a table scope: a projection
// of the scope's scan, whose table the caller swaps for the rows written.
func (b *Binder) BindReturning(ts *TableScope, list []*pg.Node) (*logical.Project, error) {
	s := *ts.s
	s.aggErr = "RETURNING"
	targets, err := b.bindTargets(list, &s)
	if err != nil {
		return nil, err
	}
	p := &logical.Project{Input: ts.Scan}
	for _, t := range targets {
		p.Exprs = append(p.Exprs, t.expr)
		p.Cols = append(p.Cols, b.newColumn(t.name, t.expr.Type()))
	}
	return p, nil
}

// BindCondition binds a WHERE clause over a table scope.
func (b *Binder) BindCondition(ts *TableScope, n *pg.Node) (logical.Expr, error) {
	e, err := b.BindIn(ts, n, "WHERE")
	if err != nil {
		return nil, err
	}
	return b.requireBool(e, nodeLocation(n))
}

// BindStandalone binds an expression with no columns in scope (defaults).
func (b *Binder) BindStandalone(n *pg.Node, what string) (logical.Expr, error) {
	b.levels = nil
	b.pushLevel()
	defer b.popLevel()
	return b.bindExpr(n, &scope{level: b.curLevel(), aggErr: what})
}

// Assign coerces e for storing into a column.
func (b *Binder) Assign(e logical.Expr, to types.T, col string) (logical.Expr, error) {
	return b.assign(e, to, col)
}

// NewColumn allocates a fresh column id.
func (b *Binder) NewColumn(name string, t types.T) logical.Column { return b.newColumn(name, t) }

// Fold evaluates constant expressions.
func (b *Binder) Fold(e logical.Expr) (logical.Expr, error) { return b.fold(e) }

// Unify coerces expressions to their common type.
func (b *Binder) Unify(exprs []logical.Expr, what string) (types.T, error) {
	return b.unify(exprs, what, -1)
}
