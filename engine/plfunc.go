package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/engine/plpgsql"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/storage"
	"github.com/weftdb/weft/udf"
	"google.golang.org/protobuf/proto"
)

// LANGUAGE plpgsql functions and DO blocks run on engine/plpgsql's
// interpreter, with the session as its Host: each statement of a body
// runs through execStmt, in the caller's transaction, with the body's
// variables bound as parameters.
//
// A function is called row by row from a running query, on whichever
// goroutine evaluates that row, while the query's other partitions may
// call it too. The session runs one statement at a time, so calls are
// serialized — by nesting depth: the calls at depth d+1 all come from
// the one call holding depth d's lock, so a function calling functions
// never waits on itself.

// maxPLDepth is how deep PL/pgSQL calls may nest before 54001, as
// PostgreSQL's max_stack_depth stops runaway recursion.
const maxPLDepth = 200

type plDepthKey struct{}

func plDepth(ctx context.Context) int {
	d, _ := ctx.Value(plDepthKey{}).(int)
	return d
}

// plState is a session's PL/pgSQL calls in progress.
type plState struct {
	// ownsTx: a function called by a statement outside a transaction
	// block opened one for the statement (endPLBlock ends it)
	ownsTx bool
	// paramNames are the variables the running body statement's $n
	// stand for (binder.Binder.ParamNames)
	paramNames []string
	mu         sync.Mutex
	locks      map[int]*sync.Mutex
	notices    []string
}

func (p *plState) lock(depth int) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.locks == nil {
		p.locks = map[int]*sync.Mutex{}
	}
	l, ok := p.locks[depth]
	if !ok {
		l = &sync.Mutex{}
		p.locks[depth] = l
	}
	return l
}

func (p *plState) notice(msg string) {
	p.mu.Lock()
	p.notices = append(p.notices, msg)
	p.mu.Unlock()
}

// takeNotices hands over what RAISE NOTICE said during the statement.
func (p *plState) takeNotices() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.notices
	p.notices = nil
	return n
}

// callPL runs a plpgsql function for one row of arguments (the binder's
// CallPL).
func (s *Session) callPL(ctx context.Context, f *udf.Function, args []types.Datum, argTypes []types.T) (types.Datum, error) {
	if f.Strict {
		for _, a := range args {
			if a == nil {
				return nil, nil
			}
		}
	}
	out, err := s.runPL(ctx, f, plpgsql.Call{Args: args, ArgTypes: argTypes, Result: f.Result})
	if err != nil {
		return nil, err
	}
	return out.Value, nil
}

// runPL runs a call of f one level deeper than ctx's, holding that
// level's lock.
func (s *Session) runPL(ctx context.Context, f *udf.Function, call plpgsql.Call) (*plpgsql.Output, error) {
	depth := plDepth(ctx) + 1
	if depth > maxPLDepth {
		return nil, sqlerr.New(sqlerr.StackDepthLimitExceeded, "stack depth limit exceeded").
			WithHint("PL/pgSQL functions may nest at most " + strconv.Itoa(maxPLDepth) + " calls deep in Weft.")
	}
	fn, ok := f.SQL.PL.Compiled.(*plpgsql.Function)
	if !ok {
		return nil, sqlerr.New(sqlerr.Internal, "function %s has no compiled body", f.Name)
	}
	l := s.pl.lock(depth)
	l.Lock()
	defer l.Unlock()
	if s.tx == nil && s.topStmt != nil {
		// the statement becomes a block of its own, as in PostgreSQL,
		// where every statement is a transaction: what the function
		// writes commits with it, and its EXCEPTION handlers can undo
		s.beginImplicit()
		s.tx.implicit = false
		s.pl.ownsTx = true
	}
	ctx = context.WithValue(ctx, plDepthKey{}, depth)
	call.Host = plHost{s}
	out, err := fn.Run(ctx, call)
	if err != nil {
		return nil, functionError(f.Name, err)
	}
	return out, nil
}

// endPLBlock ends the block a statement's functions opened: committed
// when the statement succeeded, rolled back when it failed.
func (s *Session) endPLBlock(err error) error {
	s.pl.ownsTx = false
	if s.tx == nil {
		return nil
	}
	if err != nil {
		s.rollbackBlock()
		return nil
	}
	return s.commitBlock()
}

// functionError is an error from inside a function as its caller sees
// it: the position pointed into the body's SQL, not the caller's.
func functionError(name string, err error) error {
	e := sqlerr.Wrap(err)
	if e.Code == sqlerr.QueryCanceled || e.Position == 0 {
		return err
	}
	c := *e
	c.Position = 0
	return &c
}

// plHost is the session as the interpreter's Host.
type plHost struct{ s *Session }

func (h plHost) Run(ctx context.Context, text string, stmt *pg.RawStmt, params []types.Datum, ts []types.T, names []string) (*plpgsql.Rows, error) {
	s := h.s
	if _, isTx := stmt.Stmt.Node.(*pg.Node_TransactionStmt); isTx {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "transaction control in PL/pgSQL is not supported")
	}
	prevParams, prevTypes, prevNames := s.params, s.paramTypes, s.pl.paramNames
	s.params, s.paramTypes, s.pl.paramNames = params, ts, names
	if ts == nil {
		s.paramTypes = []types.T{}
	}
	defer func() { s.params, s.paramTypes, s.pl.paramNames = prevParams, prevTypes, prevNames }()
	res, err := s.execStmt(ctx, text, stmt)
	if err != nil {
		return nil, err
	}
	defer res.Release()
	for _, n := range res.Notices {
		s.pl.notice(n)
	}
	rows := &plpgsql.Rows{Query: res.Query}
	for _, c := range res.Columns {
		rows.Names, rows.Types = append(rows.Names, c.Name), append(rows.Types, c.Type)
	}
	for _, b := range res.Batches {
		for r := 0; r < int(b.NumRows()); r++ {
			row := make([]types.Datum, b.NumCols())
			for c := range row {
				row[c] = exec.DatumAt(b.Column(c), r)
			}
			rows.Data = append(rows.Data, row)
		}
	}
	rows.Affected = tagCount(res.Tag)
	if res.Query && !strings.HasPrefix(res.Tag, "INSERT") && !strings.HasPrefix(res.Tag, "UPDATE") && !strings.HasPrefix(res.Tag, "DELETE") {
		rows.Affected = int64(len(rows.Data))
	}
	return rows, nil
}

// tagCount is the row count at the end of a command tag ("UPDATE 3").
func tagCount(tag string) int64 {
	i := strings.LastIndexByte(tag, ' ')
	if i < 0 {
		return 0
	}
	n, _ := strconv.ParseInt(tag[i+1:], 10, 64)
	return n
}

func (h plHost) Type(name string) (types.T, error) {
	if strings.HasSuffix(strings.ToLower(name), "%type") {
		return h.columnType(strings.TrimSpace(name[:len(name)-len("%type")]))
	}
	tn, err := typeNameOf(name)
	if err != nil {
		return types.T{}, err
	}
	return binder.ResolveTypeName(tn)
}

// typeNameOf parses a type as written in a declaration.
func typeNameOf(name string) (*pg.TypeName, error) {
	stmts, err := parser.Parse("SELECT NULL::" + name)
	if err != nil || len(stmts) != 1 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "invalid type name \"%s\"", name)
	}
	tc := stmts[0].Stmt.GetSelectStmt().GetTargetList()[0].GetResTarget().GetVal().GetTypeCast()
	if tc == nil {
		return nil, sqlerr.New(sqlerr.SyntaxError, "invalid type name \"%s\"", name)
	}
	return tc.TypeName, nil
}

// columnType resolves table.column (the part before %TYPE).
func (h plHost) columnType(ref string) (types.T, error) {
	parts := strings.Split(strings.ToLower(ref), ".")
	if len(parts) < 2 {
		return types.T{}, sqlerr.New(sqlerr.UndefinedObject, "type \"%s%%TYPE\" does not exist", ref)
	}
	col := parts[len(parts)-1]
	names, ts, err := h.RowType(strings.Join(parts[:len(parts)-1], "."))
	if err != nil {
		return types.T{}, err
	}
	for i, n := range names {
		if n == col {
			return ts[i], nil
		}
	}
	return types.T{}, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" does not exist", col)
}

func (h plHost) RowType(name string) ([]string, []types.T, error) {
	parts := strings.Split(strings.Trim(strings.ToLower(name), `"`), ".")
	schema := ""
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	t, _, ok := h.s.db.cat.Lookup(schema, parts[len(parts)-1], h.s.searchPath)
	if !ok || t == nil {
		return nil, nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", name)
	}
	var names []string
	var ts []types.T
	for _, c := range t.Definition().Columns {
		names, ts = append(names, c.Name), append(ts, c.Type)
	}
	return names, ts, nil
}

func (h plHost) Notice(msg string) { h.s.pl.notice(msg) }

func (h plHost) Savepoint() (int, bool) {
	if h.s.tx == nil {
		return 0, false
	}
	return h.s.pushSavepoint("weft_pl_" + strconv.Itoa(len(h.s.tx.savepoints))), true
}

func (h plHost) RollbackTo(id int) {
	h.s.rollbackToSavepoint(id)
	h.s.releaseSavepoints(id)
}

func (h plHost) Release(id int) { h.s.releaseSavepoints(id) }

// createPLFunction handles CREATE [OR REPLACE] FUNCTION … LANGUAGE
// plpgsql: the body is compiled now (a syntax error in it is 42601, as
// PostgreSQL reports it at CREATE) and kept with the function.
func (s *Session) createPLFunction(st *pg.CreateFunctionStmt, schema string, f *udf.Function, as []string) (*Result, error) {
	if len(as) != 1 {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "only one AS item needed for language \"plpgsql\"")
	}
	pl := &udf.PLBody{}
	body := &udf.SQLBody{Text: as[0], PL: pl}
	var outs []types.T
	for _, p := range st.Parameters {
		fp := p.Node.(*pg.Node_FunctionParameter).FunctionParameter
		mode := map[pg.FunctionParameterMode]string{pg.FunctionParameterMode_FUNC_PARAM_OUT: "o", pg.FunctionParameterMode_FUNC_PARAM_INOUT: "b",
			pg.FunctionParameterMode_FUNC_PARAM_VARIADIC: "v", pg.FunctionParameterMode_FUNC_PARAM_TABLE: "t"}[fp.Mode]
		if mode == "" {
			mode = "i"
		}
		text, err := typeText(fp.ArgType)
		if err != nil {
			return nil, err
		}
		t, any, err := functionType(fp.ArgType)
		if err != nil {
			return nil, err
		}
		if any {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "polymorphic PL/pgSQL functions are not supported yet")
		}
		pl.Params = append(pl.Params, udf.PLParam{Name: strings.ToLower(fp.Name), Type: text, Mode: mode})
		if mode == "o" || mode == "b" || mode == "t" {
			outs = append(outs, t)
		}
		if mode == "o" || mode == "t" {
			continue
		}
		def := ""
		if fp.Defexpr != nil {
			if def, err = deparseExpr(fp.Defexpr); err != nil {
				return nil, err
			}
		} else if len(body.Defaults) > 0 && body.Defaults[len(body.Defaults)-1] != "" {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "input parameters after one with a default value must also have defaults")
		}
		f.Args, f.AnyArgs = append(f.Args, t), append(f.AnyArgs, false)
		body.ArgNames, body.Defaults = append(body.ArgNames, strings.ToLower(fp.Name)), append(body.Defaults, def)
	}
	if st.ReturnType == nil {
		if len(outs) == 0 {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "function result type must be specified")
		}
		st.ReturnType = &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode("record")}}
	}
	pl.SetOf = st.ReturnType.Setof
	var err error
	if pl.ResultType, err = typeText(st.ReturnType); err != nil {
		return nil, err
	}
	if pl.Columns, err = s.db.plColumns(pl, s.searchPath); err != nil {
		return nil, err
	}
	switch {
	case len(pl.Columns) > 0:
		f.Result = types.T{Kind: types.Text, PG: 2249} // record: its columns are pl.Columns
	case len(outs) == 1:
		f.Result = outs[0]
	case strings.EqualFold(pl.ResultType, "void"):
		f.Result = types.VoidT
	default:
		var any bool
		if f.Result, any, err = functionType(st.ReturnType); err != nil {
			if pl.SetOf {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "PL/pgSQL functions returning SETOF %s are not supported", pl.ResultType)
			}
			return nil, err
		}
		if any {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "polymorphic PL/pgSQL functions are not supported yet")
		}
	}
	if pl.Compiled, err = compilePL(f.Name, pl, body.Text); err != nil {
		return nil, err
	}
	f.SQL = body
	if err := s.createFunctionOwned(schema, f, st.Replace); err != nil {
		return nil, err
	}
	return &Result{Tag: "CREATE FUNCTION"}, nil
}

// plColumns are the columns of the rows a function returns: its TABLE
// columns, its OUT parameters when there are several, or the columns of
// the table it returns SETOF; nil when it returns single values.
func (db *DB) plColumns(pl *udf.PLBody, searchPath []string) ([]udf.Column, error) {
	var cols []udf.Column
	table := false
	for _, p := range pl.Params {
		if p.Mode != "o" && p.Mode != "b" && p.Mode != "t" {
			continue
		}
		table = table || p.Mode == "t"
		tn, err := typeNameOf(p.Type)
		if err != nil {
			return nil, err
		}
		t, err := binder.ResolveTypeName(tn)
		if err != nil {
			return nil, err
		}
		cols = append(cols, udf.Column{Name: p.Name, T: t})
	}
	if len(cols) > 1 || table {
		return cols, nil
	}
	if !pl.SetOf || len(cols) == 1 {
		return nil, nil
	}
	if tn, err := typeNameOf(pl.ResultType); err == nil {
		if _, err := binder.ResolveTypeName(tn); err == nil {
			return nil, nil // SETOF a scalar type
		}
	}
	parts := strings.Split(strings.ToLower(pl.ResultType), ".")
	schema := ""
	if len(parts) > 1 {
		schema = parts[len(parts)-2]
	}
	t, _, ok := db.cat.Lookup(schema, strings.Trim(parts[len(parts)-1], `"`), searchPath)
	if !ok || t == nil {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "type \"%s\" does not exist", pl.ResultType)
	}
	for _, c := range t.Definition().Columns {
		cols = append(cols, udf.Column{Name: c.Name, T: c.Type})
	}
	return cols, nil
}

// callPLRows runs a plpgsql function called in FROM (the binder's
// CallPLRows): a set's rows, or the one row of its value or OUT
// parameters.
func (s *Session) callPLRows(ctx context.Context, f *udf.Function, args []types.Datum, argTypes []types.T) ([][]types.Datum, error) {
	pl := f.SQL.PL
	var colTypes []types.T
	for _, c := range pl.Columns {
		colTypes = append(colTypes, c.T)
	}
	if f.Strict && slices.Contains(args, nil) {
		// not called: no rows of a set, else one row of NULLs, as
		// PostgreSQL's FROM gives for a strict function's NULL result
		if pl.SetOf {
			return nil, nil
		}
		return [][]types.Datum{make([]types.Datum, max(len(colTypes), 1))}, nil
	}
	out, err := s.runPL(ctx, f, plpgsql.Call{Args: args, ArgTypes: argTypes, Result: f.Result, Columns: colTypes})
	if err != nil {
		return nil, err
	}
	if pl.SetOf {
		return out.Rows, nil
	}
	if row, ok := out.Value.([]types.Datum); ok && len(colTypes) > 1 {
		return [][]types.Datum{row}, nil
	}
	return [][]types.Datum{{out.Value}}, nil
}

// compilePL compiles a stored function's body.
func compilePL(name string, pl *udf.PLBody, text string) (*plpgsql.Function, error) {
	sig := plpgsql.Signature{Name: name, Result: pl.ResultType, SetOf: pl.SetOf}
	for _, p := range pl.Params {
		sig.Params = append(sig.Params, plpgsql.Param{Name: p.Name, Type: p.Type, Mode: p.Mode[0]})
	}
	return plpgsql.Compile(sig, text)
}

// typeText is a type name as SQL text.
func typeText(tn *pg.TypeName) (string, error) {
	c := proto.Clone(tn).(*pg.TypeName)
	c.Setof = false
	text, err := deparseExpr(&pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{
		Arg: &pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Isnull: true}}}, TypeName: c}}})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(text, "NULL::"), nil
}

// storedPL is a plpgsql function's declaration as the data directory
// keeps it (nil for other functions).
func storedPL(pl *udf.PLBody) *storage.PLFunction {
	if pl == nil {
		return nil
	}
	out := &storage.PLFunction{ResultType: pl.ResultType, SetOf: pl.SetOf}
	for _, p := range pl.Params {
		out.Params = append(out.Params, storage.PLParam{Name: p.Name, Type: p.Type, Mode: p.Mode})
	}
	return out
}

// loadedPL is a stored plpgsql function, compiled again.
func (db *DB) loadedPL(schema, name string, st *storage.PLFunction, body string) (*udf.PLBody, error) {
	pl := &udf.PLBody{ResultType: st.ResultType, SetOf: st.SetOf}
	for _, p := range st.Params {
		pl.Params = append(pl.Params, udf.PLParam{Name: p.Name, Type: p.Type, Mode: p.Mode})
	}
	var err error
	if pl.Columns, err = db.plColumns(pl, []string{schema, "public"}); err != nil {
		return nil, fmt.Errorf("stored PL/pgSQL function %s: %w", name, err)
	}
	fn, err := compilePL(name, pl, body)
	if err != nil {
		return nil, fmt.Errorf("compiling stored PL/pgSQL function %s: %w", name, err)
	}
	pl.Compiled = fn
	return pl, nil
}
