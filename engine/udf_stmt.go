package engine

import (
	"context"
	"encoding/hex"
	"fmt"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/pgsettings"
	"strconv"
	"strings"
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"github.com/weftdb/weft/udf"
)

// polymorphic names the PostgreSQL pseudo-types that mean "ask the
// module's bind step".
var polymorphic = map[string]bool{"anyelement": true, "anycompatible": true, "any": true, "anynonarray": true}

// createFunction handles
//
//	CREATE [OR REPLACE] FUNCTION name(types) RETURNS type LANGUAGE wasm
//	  AS 'module', 'export' [IMMUTABLE|STABLE|VOLATILE] [STRICT]
//	  [SET weft.max_memory = '64MB']
func (s *Session) createFunction(ctx context.Context, st *pg.CreateFunctionStmt) (*Result, error) {
	if st.IsProcedure {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE PROCEDURE is not supported")
	}
	parts := namesOf(st.Funcname)
	name := strings.ToLower(parts[len(parts)-1])
	schemaName := ""
	if len(parts) > 1 {
		schemaName = parts[len(parts)-2]
	}
	schema, err := s.targetSchema(schemaName)
	if err != nil {
		return nil, err
	}
	f := &udf.Function{Name: name, Volatile: true}
	var language string
	var as []string
	for _, o := range st.Options {
		d := o.Node.(*pg.Node_DefElem).DefElem
		switch d.Defname {
		case "language":
			language = strings.ToLower(strNodeValue(d.Arg))
		case "as":
			for _, item := range d.Arg.GetList().GetItems() {
				as = append(as, strNodeValue(item))
			}
		case "volatility":
			f.Volatile = strNodeValue(d.Arg) == "volatile"
		case "strict":
			f.Strict = d.Arg.GetBoolean().GetBoolval()
		case "set":
			if err := applyFunctionSetting(f, d.Arg.GetVariableSetStmt()); err != nil {
				return nil, err
			}
		case "parallel", "cost", "rows", "leakproof", "security", "support":
			// planner hints and trust markers Weft has no use for
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "CREATE FUNCTION option %s is not supported", strings.ToUpper(d.Defname))
		}
	}
	if language == "" && st.SqlBody != nil {
		language = "sql" // CREATE FUNCTION … RETURN expr
	}
	if language == "sql" {
		return s.createSQLFunction(ctx, st, schema, f, as)
	}
	if language == "plpgsql" {
		return s.createPLFunction(st, schema, f, as)
	}
	if language != "wasm" {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "language \"%s\" does not exist", language).
			WithHint("Weft runs functions written in LANGUAGE wasm, LANGUAGE sql or LANGUAGE plpgsql.")
	}
	if len(as) != 2 {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "a wasm function needs AS 'module', 'export'")
	}
	for _, p := range st.Parameters {
		fp := p.Node.(*pg.Node_FunctionParameter).FunctionParameter
		if fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_TABLE {
			// RETURNS TABLE (name type, …): a table function's columns
			t, err := binder.ResolveTypeName(fp.ArgType)
			if err != nil {
				return nil, err
			}
			f.Columns = append(f.Columns, udf.Column{Name: strings.ToLower(fp.Name), T: t})
			continue
		}
		if fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_OUT || fp.Mode == pg.FunctionParameterMode_FUNC_PARAM_INOUT {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "OUT parameters are not supported: use RETURNS TABLE (…)")
		}
		t, any, err := functionType(fp.ArgType)
		if err != nil {
			return nil, err
		}
		f.Args, f.AnyArgs = append(f.Args, t), append(f.AnyArgs, any)
	}
	if st.ReturnType == nil {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "function result type must be specified")
	}
	if st.ReturnType.Setof && len(f.Columns) == 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "wasm set-returning functions are declared with RETURNS TABLE (…)")
	}
	if len(f.Columns) == 0 {
		if f.Result, f.AnyResult, err = functionType(st.ReturnType); err != nil {
			return nil, err
		}
	}
	mod, err := s.loadModule(ctx, as[0])
	if err != nil {
		return nil, err
	}
	f.Module, f.Export = mod, as[1]
	def, err := udf.Define(f)
	if err != nil {
		return nil, err
	}
	if err := s.createFunctionOwned(schema, def, st.Replace); err != nil {
		return nil, err
	}
	return &Result{Tag: "CREATE FUNCTION"}, nil
}

// loadModule reads a module named in SQL: '\x0061736d…' inline, or a path
// inside the UDF directory.
func (s *Session) loadModule(ctx context.Context, src string) (*udf.Module, error) {
	var code []byte
	var err error
	if strings.HasPrefix(src, `\x`) {
		if code, err = hex.DecodeString(src[2:]); err != nil {
			return nil, sqlerr.New(sqlerr.InvalidText, "invalid inline module: %v", err)
		}
	} else if code, err = s.db.udf.ResolveModule([]byte(src), false); err != nil {
		return nil, err
	}
	return s.db.udf.Load(ctx, code)
}

func functionType(tn *pg.TypeName) (types.T, bool, error) {
	ns := namesOf(tn.Names)
	if polymorphic[strings.ToLower(ns[len(ns)-1])] {
		return types.T{}, true, nil
	}
	t, err := binder.ResolveTypeName(tn)
	return t, false, err
}

func strNodeValue(n *pg.Node) string {
	if n == nil {
		return ""
	}
	if s := n.GetString_(); s != nil {
		return s.Sval
	}
	return ""
}

// applyFunctionSetting reads the per-function SET clauses Weft understands.
func applyFunctionSetting(f *udf.Function, vs *pg.VariableSetStmt) error {
	if vs == nil {
		return nil
	}
	v := settingValue(vs.Args)
	switch strings.ToLower(vs.Name) {
	case "weft.max_memory":
		n, err := parseBytes(v)
		if err != nil {
			return sqlerr.New(sqlerr.InvalidParameter, "invalid value for weft.max_memory: %q", v)
		}
		f.MaxMemory = n
	default:
		return sqlerr.New(sqlerr.FeatureNotSupported, "setting %s is not supported on functions (weft.max_memory is)", vs.Name)
	}
	return nil
}

// parseBytes reads sizes like '64MB', '512kB', '1GB' or a byte count.
func parseBytes(v string) (uint64, error) {
	v = strings.TrimSpace(v)
	mult := uint64(1)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad size")
	}
	return n * mult, nil
}

// dropFunction handles DROP FUNCTION [IF EXISTS] name[(types)].
func (s *Session) dropFunction(st *pg.DropStmt) (*Result, error) {
	var notices []string
	for _, obj := range st.Objects {
		owa := obj.GetObjectWithArgs()
		if owa == nil {
			continue
		}
		parts := namesOf(owa.Objname)
		name, schema := strings.ToLower(parts[len(parts)-1]), ""
		if len(parts) > 1 {
			schema = parts[len(parts)-2]
		}
		var match func(*udf.Function) bool
		if !owa.ArgsUnspecified {
			var want []types.T
			var wantAny []bool
			for _, a := range owa.Objargs {
				t, any, err := functionType(a.GetTypeName())
				if err != nil {
					return nil, err
				}
				want, wantAny = append(want, t), append(wantAny, any)
			}
			match = func(f *udf.Function) bool {
				if len(f.Args) != len(want) {
					return false
				}
				for i := range want {
					if f.AnyArgs[i] != wantAny[i] || (!wantAny[i] && f.Args[i].Kind != want[i].Kind) {
						return false
					}
				}
				return true
			}
		}
		for _, f := range s.db.cat.LookupFunctions(schema, name, s.searchPath) {
			if match == nil || match(f.UDF) {
				if err := s.requireOwner(f.OID, catalog.KindFunction, f.UDF.Name); err != nil {
					return nil, err
				}
				if err := s.dropFunctionViews(f, st.Behavior == pg.DropBehavior_DROP_CASCADE, &notices); err != nil { // (viewdeps.go)
					return nil, err
				}
			}
		}
		if err := s.db.cat.DropFunction(schema, name, match, st.MissingOk); err != nil {
			return nil, err
		}
	}
	if st.RemoveType == pg.ObjectType_OBJECT_AGGREGATE {
		return &Result{Tag: "DROP AGGREGATE", Notices: notices}, nil
	}
	return &Result{Tag: "DROP FUNCTION", Notices: notices}, nil
}

// call handles CALL weft.import_module('module'): every function of the
// module's manifest is created (or replaced) in the current schema.
func (s *Session) call(ctx context.Context, st *pg.CallStmt) (*Result, error) {
	fc := st.Funccall
	name := strings.ToLower(strings.Join(namesOf(fc.Funcname), "."))
	if res, handled, err := s.workerCall(ctx, name, fc); handled {
		return res, err
	}
	if res, handled, err := s.cacheCall(ctx, name, fc); handled {
		return res, err
	}
	if name != "weft.import_module" {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "procedure %s does not exist", name).
			WithHint("Weft's procedures: weft.import_module(module text), weft.add_worker(address text), weft.remove_worker(address text), weft.cache(table text), weft.uncache(table text).")
	}
	if len(fc.Args) != 1 || fc.Args[0].GetAConst().GetSval() == nil {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "procedure weft.import_module takes one text literal: the module path or its bytes as '\\x…'")
	}
	mod, err := s.loadModule(ctx, fc.Args[0].GetAConst().GetSval().Sval)
	if err != nil {
		return nil, err
	}
	if len(mod.Manifest) == 0 {
		return nil, sqlerr.New(sqlerr.InvalidParameter, "module %s has no manifest: register its exports with CREATE FUNCTION … LANGUAGE wasm", mod.Hash[:12])
	}
	schema, err := s.targetSchema("")
	if err != nil {
		return nil, err
	}
	for _, e := range mod.Manifest {
		f := &udf.Function{Name: e.Name, Module: mod, Export: e.Name, Strict: e.Strict, Volatile: e.Volatile, FromManifest: true}
		for _, a := range e.Args {
			t, any := manifestType(a)
			f.Args, f.AnyArgs = append(f.Args, t), append(f.AnyArgs, any)
		}
		f.Result, f.AnyResult = manifestType(e.Result)
		def, err := udf.Define(f)
		if err != nil {
			return nil, err
		}
		if err := s.createFunctionOwned(schema, def, true); err != nil {
			return nil, err
		}
	}
	return &Result{Tag: "CALL"}, nil
}

func manifestType(format string) (types.T, bool) {
	if format == "any" {
		return types.T{}, true
	}
	for _, t := range []types.T{types.BoolT, types.Int2T, types.Int4T, types.Int8T, types.Float4T, types.Float8T, types.TextT, types.ByteaT, types.DateT, types.TimestampT, types.TimestampTZT} {
		if f, _ := udf.FormatOf(t); f == format {
			return t, false
		}
	}
	return types.T{}, true
}

// statementContext applies statement_timeout (milliseconds, or with a
// unit), shows query as running in pg_stat_activity, where another
// session's pg_cancel_backend can cancel it, and opens the statement's
// scope of wasm instances: they are reused only within it and discarded
// when the returned end ends it (udf/scope.go). interrupt only cancels
// the statement's context, and may be called from any goroutine (a
// client's context ending); end lets go of what the statement holds and
// gives the session back what it had, so it is called by the goroutine
// running the statement, once the statement has stopped.
func (s *Session) statementContext(ctx context.Context, query string) (sctx context.Context, interrupt context.CancelFunc, end func()) {
	ctx, scope := s.db.udf.NewScope(ctx)
	var cancel context.CancelFunc
	if d := parseTimeout(s.settings["statement_timeout"]); d > 0 {
		sctx, cancel = context.WithTimeout(ctx, d)
	} else {
		sctx, cancel = context.WithCancel(ctx)
	}
	finish := s.startStatement(query, cancel)
	// a statement may run another (COPY's query): the inner one's end
	// gives the outer one back its allocator and spill space
	prevMem, prevSpill := s.queryMem, s.querySpill
	mem := exec.NewQueryAllocator(s.db.opts.Mem, s.queryMemoryLimit(), s.db.memory, cancel)
	spilled := s.newQuerySpill()
	s.queryMem, s.querySpill = mem, spilled
	return sctx, cancel, func() {
		finish()
		cancel()
		mem.Detach()
		spilled.Remove()
		s.queryMem, s.querySpill = prevMem, prevSpill
		s.db.udf.EndScope(scope)
	}
}

func parseTimeout(v string) time.Duration {
	p, _ := pgsettings.Lookup("statement_timeout")
	ms, err := p.BaseUnits(v)
	if err != nil || ms <= 0 {
		return 0
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// createAggregate handles
//
//	CREATE [OR REPLACE] AGGREGATE name(argtypes) (MODULE = 'module', EXPORT = 'name')
//
// PostgreSQL's generic definition list carries the module and the manifest
// entry; the result and state types come from the module.
func (s *Session) createAggregate(ctx context.Context, st *pg.DefineStmt) (*Result, error) {
	parts := namesOf(st.Defnames)
	name := strings.ToLower(parts[len(parts)-1])
	schemaName := ""
	if len(parts) > 1 {
		schemaName = parts[len(parts)-2]
	}
	schema, err := s.targetSchema(schemaName)
	if err != nil {
		return nil, err
	}
	var module, export string
	for _, d := range st.Definition {
		de := d.GetDefElem()
		switch strings.ToLower(de.Defname) {
		case "module":
			module = strNodeValue(de.Arg)
		case "export":
			export = strNodeValue(de.Arg)
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "aggregate attribute %q is not supported: a wasm aggregate takes MODULE and EXPORT", de.Defname).
				WithHint("CREATE AGGREGATE name(types) (MODULE = 'module.wasm', EXPORT = 'manifest name')")
		}
	}
	if module == "" || export == "" {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "a wasm aggregate needs MODULE and EXPORT")
	}
	f := &udf.Function{Name: name, Export: export}
	if len(st.Args) > 0 {
		for _, p := range st.Args[0].GetList().GetItems() {
			t, any, err := functionType(p.GetFunctionParameter().GetArgType())
			if err != nil {
				return nil, err
			}
			f.Args, f.AnyArgs = append(f.Args, t), append(f.AnyArgs, any)
		}
	}
	mod, err := s.loadModule(ctx, module)
	if err != nil {
		return nil, err
	}
	_, entry := mod.Entry(strings.ToLower(export))
	if entry == nil || entry.Kind != "aggregate" {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "wasm module %s has no aggregate %q in its manifest", mod.Hash[:12], export)
	}
	f.Module = mod
	f.Result, f.AnyResult = manifestType(entry.Result)
	def, err := udf.Define(f)
	if err != nil {
		return nil, err
	}
	if err := s.createFunctionOwned(schema, def, st.Replace); err != nil {
		return nil, err
	}
	return &Result{Tag: "CREATE AGGREGATE"}, nil
}
