package udf

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Table function pull results (ABI §6c).
const (
	pullBatch     = 0
	pullNeedInput = 2
	pullFinished  = 3
)

// IsTable reports whether f is a wasm table function.
func (f *Function) IsTable() bool { return f.batch != nil && f.batch.Kind == "table" }

// TakesRelation reports whether a table function reads a relation.
func (f *Function) TakesRelation() bool { return f.batch != nil && f.batch.RelationInput }

// BindTable resolves a table function call site: argTypes are the scalar
// arguments' types, or the input relation's column types. The output
// columns come from the manifest or, for "-> any", from the bind step's
// answer "ok (name format, …) [BIND-DATA]".
func (f *Function) BindTable(ctx context.Context, argTypes []types.T, isConst []bool, consts []types.Datum) (*Call, []Column, error) {
	if f.batch.Result != "any" {
		c := &Call{F: f, ArgTypes: argTypes, ConstArgs: isConst}
		if f.Columns != nil {
			return c, f.Columns, nil // the declared names
		}
		return c, f.batch.Columns, nil
	}
	var req strings.Builder
	for i, t := range argTypes {
		format, ok := FormatOf(t)
		if !ok {
			return nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "wasm function %s cannot take %s (argument %d)", f.Name, t, i+1)
		}
		req.WriteString(format)
		if i < len(isConst) && isConst[i] && consts[i] != nil {
			req.WriteString(" const " + strings.ReplaceAll(types.Format(t, consts[i]), "\n", "\\n"))
		}
		req.WriteByte('\n')
	}
	inst, release, err := f.Module.acquire(ctx, f.MaxMemory, f.Name, f.Volatile)
	if err != nil {
		return nil, nil, err
	}
	healthy := false
	defer func() { release(healthy) }()
	ptr, err := inst.write(ctx, []byte(req.String()))
	if err != nil {
		return nil, nil, err
	}
	resp, err := inst.callForText(ctx, "weft_bind", uint64(f.batchIndex), uint64(ptr), uint64(req.Len()))
	if err != nil {
		return nil, nil, fmt.Errorf("wasm function %s: %w", f.Name, err)
	}
	healthy = true
	word, rest, _ := strings.Cut(strings.TrimSpace(resp), " ")
	switch word {
	case "ok":
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: bind answered %q; a table function answers \"ok (name format, …) [DATA]\"", f.Name, resp)
		}
		cols, err := ParseColumns(rest[:end+1])
		if err != nil {
			return nil, nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: bind: %v", f.Name, err)
		}
		c := &Call{F: f, ArgTypes: argTypes, ConstArgs: isConst, BindData: []byte(strings.TrimSpace(rest[end+1:]))}
		if f.Columns != nil {
			if err := sameColumns(cols, f.Columns); err != nil {
				return nil, nil, sqlerr.New(sqlerr.DatatypeMismatch, "wasm table function %s: bind %v", f.Name, err)
			}
			return c, f.Columns, nil
		}
		return c, cols, nil
	case "error":
		code, msg, _ := strings.Cut(rest, " ")
		if len(code) != 5 {
			code, msg = sqlerr.UndefinedFunction, rest
		}
		return nil, nil, sqlerr.New(code, "wasm function %s: %s", f.Name, msg)
	}
	return nil, nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: bind answered %q", f.Name, resp)
}

// TableRun is one running table function: an instance and the guest's
// handle, fed with Push and drained with Pull.
type TableRun struct {
	call    *Call
	cols    []Column
	inst    *instance
	release func(bool)
	handle  uint32
	healthy bool
}

// OpenTable starts a run producing cols.
func (c *Call) OpenTable(ctx context.Context, cols []Column) (*TableRun, error) {
	f := c.F
	inst, release, err := f.Module.acquire(ctx, f.MaxMemory, f.Name, f.Volatile)
	if err != nil {
		return nil, err
	}
	t := &TableRun{call: c, cols: cols, inst: inst, release: release}
	base, err := inst.ensureArena(ctx, uint32(len(c.BindData)), f.Name)
	if err != nil {
		t.Release()
		return nil, err
	}
	inst.mod.Memory().Write(base, c.BindData)
	res, err := inst.fn("weft_table_create").Call(ctx, uint64(f.batchIndex), uint64(base), uint64(len(c.BindData)))
	if err != nil {
		err = trapError(ctx, inst, f.Name, err)
		t.Release()
		return nil, err
	}
	if res[0] == 0 {
		err := guestError(ctx, inst, f.Name, 1)
		t.healthy = true
		t.Release()
		return nil, err
	}
	t.handle, t.healthy = uint32(res[0]), true
	return t, nil
}

// Release destroys the guest's run and returns the instance.
func (t *TableRun) Release() {
	if t.inst == nil {
		return
	}
	if t.healthy && t.handle != 0 {
		if destroy := t.inst.fn("weft_table_destroy"); destroy != nil {
			if _, err := destroy.Call(context.Background(), uint64(t.handle)); err != nil {
				t.healthy = false
			}
		}
	}
	t.release(t.healthy)
	t.inst = nil
}

// Push hands the guest n input rows (nil args: the end of the input).
func (t *TableRun) Push(ctx context.Context, args []arrow.Array, n int) error {
	name := t.call.F.Name
	if args == nil {
		return t.status(ctx, "weft_table_push", uint64(t.handle), 0, 0)
	}
	cols := make([]column, len(args))
	var constMask uint64
	for k, a := range args {
		length := n
		if k < len(t.call.ConstArgs) && t.call.ConstArgs[k] {
			length = 1
			constMask |= 1 << uint(k)
		}
		col, err := exportColumn(a, length)
		if err != nil {
			return fmt.Errorf("wasm function %s: %w", name, err)
		}
		cols[k] = col
	}
	var l layout
	in := planInput(&l, cols)
	in.length = n
	base, err := t.inst.ensureArena(ctx, l.size, name)
	if err != nil {
		return err
	}
	w := &memWriter{inst: t.inst, base: base}
	in.write(w, cols)
	if w.err != nil {
		return w.err
	}
	return t.status(ctx, "weft_table_push", uint64(t.handle), uint64(base+in.structOff), constMask)
}

func (t *TableRun) status(ctx context.Context, export string, args ...uint64) error {
	res, err := t.inst.fn(export).Call(ctx, args...)
	if err != nil {
		t.healthy = false
		return trapError(ctx, t.inst, t.call.F.Name, err)
	}
	if st := uint32(res[0]); st != 0 {
		return guestError(ctx, t.inst, t.call.F.Name, st)
	}
	return nil
}

// Pull asks for output: a record (owned by the caller), or nil with more
// false when the guest needs input, or nil with done true when it has
// finished.
func (t *TableRun) Pull(ctx context.Context, mem memory.Allocator, schema *arrow.Schema) (rec arrow.Record, done bool, err error) {
	name := t.call.F.Name
	base, err := t.inst.ensureArena(ctx, arraySize, name)
	if err != nil {
		return nil, false, err
	}
	var zero [arraySize]byte
	t.inst.mod.Memory().Write(base, zero[:])
	res, err := t.inst.fn("weft_table_pull").Call(ctx, uint64(t.handle), uint64(base))
	if err != nil {
		t.healthy = false
		return nil, false, trapError(ctx, t.inst, name, err)
	}
	switch uint32(res[0]) {
	case pullNeedInput:
		return nil, false, nil
	case pullFinished:
		return nil, true, nil
	case pullBatch:
	default:
		return nil, false, guestError(ctx, t.inst, name, uint32(res[0]))
	}
	rec, err = t.importBatch(mem, base, schema)
	if err != nil {
		t.healthy = false
		return nil, false, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s returned an invalid batch: %v", name, err)
	}
	return rec, false, nil
}

// importBatch reads the struct array the guest filled in at out.
func (t *TableRun) importBatch(mem memory.Allocator, out uint32, schema *arrow.Schema) (arrow.Record, error) {
	m := t.inst.mod.Memory()
	desc, _ := m.Read(out, arraySize)
	n := int64(binary.LittleEndian.Uint64(desc[fLength:]))
	if n < 0 || n > 1<<24 {
		return nil, fmt.Errorf("batch length %d out of range", n)
	}
	if got := binary.LittleEndian.Uint64(desc[fNChildren:]); got != uint64(len(t.cols)) {
		return nil, fmt.Errorf("%d columns, want %d", got, len(t.cols))
	}
	ptrs, ok := m.Read(binary.LittleEndian.Uint32(desc[fChildren:]), uint32(4*len(t.cols)))
	if !ok {
		return nil, fmt.Errorf("children pointer out of range")
	}
	arrays := make([]arrow.Array, len(t.cols))
	defer func() {
		for _, a := range arrays {
			if a != nil {
				a.Release()
			}
		}
	}()
	for k, c := range t.cols {
		width, variable, err := resultWidth(c.T)
		if err != nil {
			return nil, err
		}
		child := binary.LittleEndian.Uint32(ptrs[4*k:])
		if n == 0 {
			arrays[k] = array.MakeArrayOfNull(mem, c.T.Arrow(), 0)
			continue
		}
		a, err := importResult(t.inst, mem, child, int(n), c.T, width, variable, nil)
		if err != nil {
			return nil, fmt.Errorf("column %s: %v", c.Name, err)
		}
		arrays[k] = a
	}
	return array.NewRecord(schema, arrays, n), nil
}
