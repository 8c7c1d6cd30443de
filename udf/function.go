package udf

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tetratelabs/wazero/api"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Function is a SQL function backed by a wasm export. Values are immutable
// once registered: CREATE OR REPLACE installs a new Function, and a running
// query keeps the one it bound.
type Function struct {
	Name   string
	Module *Module
	Export string
	// Args and Result are the SQL signature; Any marks polymorphic
	// positions (anyelement, anycompatible, "any").
	Args      []types.T
	AnyArgs   []bool
	Result    types.T
	AnyResult bool
	Strict    bool
	Volatile  bool
	MaxMemory uint64
	// Columns are a table function's output as CREATE FUNCTION … RETURNS
	// TABLE declared it (nil: as the module says).
	Columns []Column
	// FromManifest marks a function registered from the module's manifest
	// (CALL weft.import_module), which needs no SQL declaration.
	FromManifest bool
	// SQL is the body of a LANGUAGE sql function (nil for wasm ones, which
	// have a Module); the binder inlines it at each call.
	SQL *SQLBody

	// batch is the manifest entry for a batch function (nil: plain).
	batch      *ManifestEntry
	batchIndex int
}

// Define checks a CREATE FUNCTION against the module: a batch function
// must match its manifest entry, a plain function's export must exist with
// core types matching the SQL signature.
func Define(f *Function) (*Function, error) {
	if f.MaxMemory == 0 {
		f.MaxMemory = f.Module.engine.cfg.MaxMemory
	}
	if idx, entry := f.Module.Entry(strings.ToLower(f.Export)); entry != nil {
		if !f.FromManifest && (entry.Kind == "table") != (f.Columns != nil) {
			if entry.Kind == "table" {
				return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm function %s is a table function: declare it with RETURNS TABLE (…)", entry.Name)
			}
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm function %s is not a table function", entry.Name)
		}
		if entry.Kind == "table" && entry.Result != "any" && f.Columns != nil {
			if err := sameColumns(entry.Columns, f.Columns); err != nil {
				return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm table function %s: %v", entry.Name, err)
			}
		}
		if len(entry.Args) != len(f.Args) {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm function %s declares %d arguments in its manifest, the SQL signature has %d", entry.Name, len(entry.Args), len(f.Args))
		}
		for i, a := range entry.Args {
			if a == "any" {
				continue
			}
			want, _ := typeOfFormat(a)
			if f.AnyArgs[i] || !sameKind(want, f.Args[i]) {
				return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm function %s takes %s as argument %d, not %s", entry.Name, want, i+1, describeArg(f, i))
			}
		}
		if entry.Result != "any" && entry.Kind != "table" {
			want, _ := typeOfFormat(entry.Result)
			if !f.AnyResult && !sameKind(want, f.Result) {
				return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm function %s returns %s, not %s", entry.Name, want, f.Result)
			}
		}
		f.batch, f.batchIndex = entry, idx
		f.Strict = f.Strict || entry.Strict
		f.Volatile = f.Volatile || entry.Volatile
		return f, nil
	}
	def, ok := f.Module.Exports[f.Export]
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "wasm module %s has no export %q and no manifest entry of that name", f.Module.Hash[:12], f.Export)
	}
	if f.AnyResult || anyTrue(f.AnyArgs) {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "plain wasm export %q cannot be polymorphic: declare it in the module manifest with a bind step", f.Export)
	}
	params := make([]api.ValueType, len(f.Args))
	for i, a := range f.Args {
		vt, ok := coreType(a)
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "plain wasm functions take numbers, booleans, dates and timestamps; argument %d is %s (use a batch function for it)", i+1, a)
		}
		params[i] = vt
	}
	rt, ok := coreType(f.Result)
	if !ok {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "plain wasm functions return numbers, booleans, dates and timestamps, not %s", f.Result)
	}
	f.Strict = true // core types have no NULL: plain functions are always strict
	if !sameValueTypes(def.ParamTypes(), params) || len(def.ResultTypes()) != 1 || def.ResultTypes()[0] != rt {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "wasm export %q has signature %s -> %s, but the SQL signature needs %s -> (%s)",
			f.Export, fmtTypes(def.ParamTypes()), fmtTypes(def.ResultTypes()), fmtTypes(params), api.ValueTypeName(rt))
	}
	return f, nil
}

func describeArg(f *Function, i int) string {
	if f.AnyArgs[i] {
		return "a polymorphic type"
	}
	return f.Args[i].String()
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

func sameKind(a, b types.T) bool {
	if a.IsString() && b.IsString() {
		return true
	}
	return a.Kind == b.Kind
}

func sameValueTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// coreType maps a SQL type to the wasm value type a plain function uses.
func coreType(t types.T) (api.ValueType, bool) {
	switch t.Kind {
	case types.Bool, types.Int2, types.Int4, types.Date:
		return api.ValueTypeI32, true
	case types.Int8, types.Timestamp, types.TimestampTZ:
		return api.ValueTypeI64, true
	case types.Float4:
		return api.ValueTypeF32, true
	case types.Float8:
		return api.ValueTypeF64, true
	}
	return 0, false
}

// SQLBody is a LANGUAGE sql function's definition: its one SELECT (or
// RETURN expression, kept as SELECT expr), its parameters' names ("" for
// an unnamed one, reached as $n) and their defaults' SQL ("" for none).
type SQLBody struct {
	Text     string
	ArgNames []string
	Defaults []string
	// PL is set for a LANGUAGE plpgsql function, whose Text is then its
	// body: it is called, not inlined.
	PL *PLBody
}

// PLBody is what a LANGUAGE plpgsql function declares beyond its input
// parameters: every parameter (OUT and TABLE columns too) with its mode
// and type as written, the result type as written, and the compiled body
// (the engine's, set before the function is registered and never after).
type PLBody struct {
	Params     []PLParam
	ResultType string
	SetOf      bool
	// Columns are the rows' columns of a function returning rows (RETURNS
	// TABLE, several OUT parameters, SETOF a table's type); nil for one
	// value
	Columns  []Column
	Compiled any
}

// PLParam is one declared parameter: Mode is i, o, b (INOUT), v
// (VARIADIC) or t (a RETURNS TABLE column).
type PLParam struct {
	Name string
	Type string
	Mode string
}

// Signature renders the SQL signature, e.g. add(bigint, bigint).
func (f *Function) Signature() string {
	parts := make([]string, len(f.Args))
	for i, a := range f.Args {
		if f.AnyArgs[i] {
			parts[i] = "anyelement"
		} else {
			parts[i] = a.String()
		}
	}
	return f.Name + "(" + strings.Join(parts, ", ") + ")"
}

// Call is one bound call site: concrete argument and result types and the
// bind data the module returned. Plans hold Calls, so re-running a
// partition never re-binds.
type Call struct {
	F         *Function
	ArgTypes  []types.T
	Result    types.T
	BindData  []byte
	ConstArgs []bool // argument k is the same constant on every row
	// RowErrorsAsNull applies the session's weft.udf_row_errors = 'null'
	// policy: rows a batch function reports as failed become NULL instead
	// of failing the query.
	RowErrorsAsNull bool
}

// Bind resolves a call site. consts holds the value of each constant
// argument (nil where the argument is not constant).
func (f *Function) Bind(ctx context.Context, argTypes []types.T, isConst []bool, consts []types.Datum) (*Call, error) {
	c := &Call{F: f, ArgTypes: argTypes, Result: f.Result, ConstArgs: isConst}
	if f.batch == nil || !f.batch.Polymorphic() {
		return c, nil
	}
	for i, t := range argTypes {
		if _, ok := FormatOf(t); !ok {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "wasm function %s cannot take %s (argument %d)", f.Name, t, i+1)
		}
	}
	var req strings.Builder
	for i, t := range argTypes {
		format, _ := FormatOf(t)
		req.WriteString(format)
		if isConst[i] {
			if consts[i] == nil {
				req.WriteString(" null")
			} else {
				req.WriteString(" const " + strings.ReplaceAll(types.Format(t, consts[i]), "\n", "\\n"))
			}
		}
		req.WriteByte('\n')
	}
	inst, release, err := f.Module.acquire(ctx, f.MaxMemory, f.Name, f.Volatile)
	if err != nil {
		return nil, err
	}
	healthy := false
	defer func() { release(healthy) }()
	ptr, err := inst.write(ctx, []byte(req.String()))
	if err != nil {
		return nil, err
	}
	resp, err := inst.callForText(ctx, "weft_bind", uint64(f.batchIndex), uint64(ptr), uint64(req.Len()))
	if err != nil {
		return nil, fmt.Errorf("wasm function %s: %w", f.Name, err)
	}
	healthy = true
	word, rest, _ := strings.Cut(strings.TrimSpace(resp), " ")
	switch word {
	case "ok":
		format, data, _ := strings.Cut(rest, " ")
		t, err := typeOfFormat(format)
		if err != nil {
			return nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: bind returned %v", f.Name, err)
		}
		if !f.AnyResult && !sameKind(t, f.Result) {
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "wasm function %s: bind chose result type %s but the function is declared to return %s", f.Name, t, f.Result)
		}
		if !f.AnyResult {
			t = f.Result
		}
		c.Result, c.BindData = t, []byte(data)
		return c, nil
	case "error":
		code, msg, _ := strings.Cut(rest, " ")
		if len(code) != 5 {
			code, msg = sqlerr.UndefinedFunction, rest
		}
		return nil, sqlerr.New(code, "wasm function %s: %s", f.Name, msg)
	}
	return nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: bind answered %q; want \"ok FORMAT [DATA]\" or \"error SQLSTATE MESSAGE\"", f.Name, resp)
}

// IsAggregate reports whether f is a wasm aggregate.
func (f *Function) IsAggregate() bool { return f.batch != nil && f.batch.Kind == "aggregate" }

// Invoke evaluates the call over n rows of argument arrays.
func (c *Call) Invoke(ctx context.Context, mem memory.Allocator, args []arrow.Array, n int) (arrow.Array, error) {
	if c.F.batch != nil {
		return c.invokeBatch(ctx, mem, args, n)
	}
	return c.invokePlain(ctx, mem, args, n)
}

// sameColumns checks declared table-function columns against the module's.
func sameColumns(module, declared []Column) error {
	if len(module) != len(declared) {
		return fmt.Errorf("it returns %d columns, the declaration has %d", len(module), len(declared))
	}
	for i := range module {
		if !sameKind(module[i].T, declared[i].T) {
			return fmt.Errorf("column %d is %s, declared %s", i+1, module[i].T, declared[i].T)
		}
	}
	return nil
}
