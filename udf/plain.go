package udf

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/tetratelabs/wazero/api"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// ctxCheckRows is how often a per-row loop looks at the context; the guest
// itself is stopped by the stop global (instrument.go).
const ctxCheckRows = 1024

// invokePlain calls a core-typed export once per row. Plain functions are
// strict: a NULL argument gives NULL without a call.
func (c *Call) invokePlain(ctx context.Context, mem memory.Allocator, args []arrow.Array, n int) (arrow.Array, error) {
	readers := make([]func(int) (uint64, bool), len(args))
	for k, a := range args {
		rd, err := coreReader(a, c.ConstArgs[k])
		if err != nil {
			return nil, fmt.Errorf("wasm function %s: %w", c.F.Name, err)
		}
		readers[k] = rd
	}
	b := array.NewBuilder(mem, c.Result.Arrow())
	defer b.Release()
	b.Reserve(n)
	appendResult := coreAppender(b, c.Result)
	inst, release, err := c.F.Module.acquire(ctx, c.F.MaxMemory, c.F.Name, c.F.Volatile)
	if err != nil {
		return nil, err
	}
	healthy := false
	defer func() { release(healthy) }()
	fn := inst.fn(c.F.Export)
	stack := make([]uint64, max(len(args), 1))
	for i := 0; i < n; i++ {
		if i%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, canceled(ctx)
			}
		}
		null := false
		for k, rd := range readers {
			v, isNull := rd(i)
			null = null || isNull
			stack[k] = v
		}
		if null {
			b.AppendNull()
			continue
		}
		if err := fn.CallWithStack(ctx, stack); err != nil {
			return nil, trapError(ctx, inst, c.F.Name, err)
		}
		appendResult(stack[0])
	}
	healthy = true
	return b.NewArray(), nil
}

func canceled(ctx context.Context) error {
	if ctx.Err() == context.DeadlineExceeded {
		return sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to statement timeout")
	}
	return sqlerr.New(sqlerr.QueryCanceled, "canceling statement due to user request")
}

// coreReader reads row i of a as a wasm value (constants read row 0).
func coreReader(a arrow.Array, isConst bool) (func(int) (uint64, bool), error) {
	at := func(i int) int {
		if isConst {
			return 0
		}
		return i
	}
	switch x := a.(type) {
	case *array.Boolean:
		return func(i int) (uint64, bool) {
			j := at(i)
			if x.IsNull(j) {
				return 0, true
			}
			if x.Value(j) {
				return 1, false
			}
			return 0, false
		}, nil
	case *array.Int16:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeI32(int32(x.Value(j))), x.IsNull(j) }, nil
	case *array.Int32:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeI32(x.Value(j)), x.IsNull(j) }, nil
	case *array.Date32:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeI32(int32(x.Value(j))), x.IsNull(j) }, nil
	case *array.Int64:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeI64(x.Value(j)), x.IsNull(j) }, nil
	case *array.Timestamp:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeI64(int64(x.Value(j))), x.IsNull(j) }, nil
	case *array.Float32:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeF32(x.Value(j)), x.IsNull(j) }, nil
	case *array.Float64:
		return func(i int) (uint64, bool) { j := at(i); return api.EncodeF64(x.Value(j)), x.IsNull(j) }, nil
	}
	return nil, fmt.Errorf("no plain-function encoding for %s", a.DataType())
}

// coreAppender appends a wasm result value to b.
func coreAppender(b array.Builder, t types.T) func(uint64) {
	switch x := b.(type) {
	case *array.BooleanBuilder:
		return func(v uint64) { x.Append(uint32(v) != 0) }
	case *array.Int16Builder:
		return func(v uint64) { x.Append(int16(api.DecodeI32(v))) }
	case *array.Int32Builder:
		return func(v uint64) { x.Append(api.DecodeI32(v)) }
	case *array.Date32Builder:
		return func(v uint64) { x.Append(arrow.Date32(api.DecodeI32(v))) }
	case *array.Int64Builder:
		return func(v uint64) { x.Append(int64(v)) }
	case *array.TimestampBuilder:
		return func(v uint64) { x.Append(arrow.Timestamp(int64(v))) }
	case *array.Float32Builder:
		return func(v uint64) { x.Append(api.DecodeF32(v)) }
	case *array.Float64Builder:
		return func(v uint64) { x.Append(api.DecodeF64(v)) }
	}
	panic(fmt.Sprintf("udf: no plain-function result decoding for %s", t))
}
