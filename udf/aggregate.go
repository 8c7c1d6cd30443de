package udf

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// skipRow is the group id a strict aggregate's host gives rows with a NULL
// argument: the guest must not fold them.
const skipRow = 0xFFFFFFFF

// Accumulator is one partition's state of a wasm aggregate (ABI §6b). It
// checks an instance out at its first use and keeps it, with the guest's
// accumulator handle, until Release.
type Accumulator struct {
	call    *Call
	inst    *instance
	release func(healthy bool)
	handle  uint32
	healthy bool
}

// NewAccumulator starts an accumulator for a bound aggregate call.
func (c *Call) NewAccumulator() *Accumulator { return &Accumulator{call: c} }

func (a *Accumulator) open(ctx context.Context) error {
	if a.inst != nil {
		return nil
	}
	f := a.call.F
	inst, release, err := f.Module.acquire(ctx, f.MaxMemory, f.Name, f.Volatile)
	if err != nil {
		return err
	}
	a.inst, a.release, a.healthy = inst, release, false
	base, err := inst.ensureArena(ctx, uint32(len(a.call.BindData)), f.Name)
	if err != nil {
		return err
	}
	if !inst.mod.Memory().Write(base, a.call.BindData) {
		return sqlerr.New(sqlerr.Internal, "arena write out of range")
	}
	res, err := inst.fn("weft_agg_create").Call(ctx, uint64(a.call.F.batchIndex), uint64(base), uint64(len(a.call.BindData)))
	if err != nil {
		return trapError(ctx, inst, f.Name, err)
	}
	if res[0] == 0 {
		return guestError(ctx, inst, f.Name, 1)
	}
	a.handle, a.healthy = uint32(res[0]), true
	return nil
}

// Release destroys the guest accumulator and returns the instance.
func (a *Accumulator) Release() {
	if a.inst == nil {
		return
	}
	if a.healthy && a.handle != 0 {
		if destroy := a.inst.fn("weft_agg_destroy"); destroy != nil {
			if _, err := destroy.Call(context.Background(), uint64(a.handle)); err != nil {
				a.healthy = false
			}
		}
	}
	a.release(a.healthy)
	a.inst = nil
}

// fail marks the instance broken and turns a guest failure into an error.
func (a *Accumulator) fail(ctx context.Context, err error) error {
	a.healthy = false
	return trapError(ctx, a.inst, a.call.F.Name, err)
}

// Update folds rows into groups: groups[i] is row i's group, ngroups the
// number of groups so far.
func (a *Accumulator) Update(ctx context.Context, groups []uint32, ngroups int, args []arrow.Array) error {
	if err := a.open(ctx); err != nil {
		return err
	}
	n := len(groups)
	if n == 0 {
		return nil
	}
	cols := make([]column, len(args))
	for k, arg := range args {
		col, err := exportColumn(arg, n)
		if err != nil {
			return fmt.Errorf("wasm aggregate %s: %w", a.call.F.Name, err)
		}
		cols[k] = col
	}
	ids := make([]byte, 4*n)
	for i, g := range groups {
		if a.call.F.Strict && anyNull(args, i) {
			g = skipRow
		}
		binary.LittleEndian.PutUint32(ids[4*i:], g)
	}
	var l layout
	in := planInput(&l, cols)
	idsOff := l.take(len(ids))
	base, err := a.inst.ensureArena(ctx, l.size, a.call.F.Name)
	if err != nil {
		return err
	}
	w := &memWriter{inst: a.inst, base: base}
	in.write(w, cols)
	w.bytes(idsOff, ids)
	if w.err != nil {
		return w.err
	}
	return a.status(ctx, "weft_agg_update", uint64(a.handle), uint64(base+in.structOff), uint64(base+idsOff), uint64(ngroups))
}

func (a *Accumulator) status(ctx context.Context, export string, args ...uint64) error {
	res, err := a.inst.fn(export).Call(ctx, args...)
	if err != nil {
		return a.fail(ctx, err)
	}
	if st := uint32(res[0]); st != 0 {
		return guestError(ctx, a.inst, a.call.F.Name, st)
	}
	return nil
}

func anyNull(args []arrow.Array, i int) bool {
	for _, a := range args {
		if a.IsNull(i) {
			return true
		}
	}
	return false
}

// output asks export to fill a column of ngroups rows of type t.
func (a *Accumulator) output(ctx context.Context, mem memory.Allocator, export string, ngroups int, t types.T) (arrow.Array, error) {
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	width, variable, err := resultWidth(t)
	if err != nil {
		return nil, err
	}
	var l layout
	out := planOutput(&l, ngroups, width, variable)
	base, err := a.inst.ensureArena(ctx, l.size, a.call.F.Name)
	if err != nil {
		return nil, err
	}
	w := &memWriter{inst: a.inst, base: base}
	out.write(w, allValid(ngroups))
	if w.err != nil {
		return nil, w.err
	}
	if err := a.status(ctx, export, uint64(a.handle), uint64(ngroups), uint64(base+out.off)); err != nil {
		return nil, err
	}
	arr, err := importResult(a.inst, mem, base+out.off, ngroups, t, width, variable, nil)
	if err != nil {
		a.healthy = false
		return nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm aggregate %s returned an invalid %s: %v", a.call.F.Name, export, err)
	}
	return arr, nil
}

// Merge folds other's groups into this accumulator: group g of other
// becomes group mapping[g] here; ngroups is this side's count after the
// merge. other's states travel as serialized bytes (weft_agg_state).
func (a *Accumulator) Merge(ctx context.Context, mem memory.Allocator, other *Accumulator, mapping []uint32, ngroups int) error {
	if other.inst == nil || len(mapping) == 0 {
		return nil // the other side saw no rows
	}
	states, err := other.output(ctx, mem, "weft_agg_state", len(mapping), types.ByteaT)
	if err != nil {
		return err
	}
	defer states.Release()
	if err := a.open(ctx); err != nil {
		return err
	}
	col, err := exportColumn(states, len(mapping))
	if err != nil {
		return err
	}
	ids := make([]byte, 4*len(mapping))
	for i, g := range mapping {
		binary.LittleEndian.PutUint32(ids[4*i:], g)
	}
	var l layout
	in := planInput(&l, []column{col})
	idsOff := l.take(len(ids))
	base, err := a.inst.ensureArena(ctx, l.size, a.call.F.Name)
	if err != nil {
		return err
	}
	w := &memWriter{inst: a.inst, base: base}
	in.write(w, []column{col})
	w.bytes(idsOff, ids)
	if w.err != nil {
		return w.err
	}
	return a.status(ctx, "weft_agg_merge", uint64(a.handle), uint64(base+in.structOff), uint64(base+idsOff), uint64(ngroups))
}

// Finish returns one result per group.
func (a *Accumulator) Finish(ctx context.Context, mem memory.Allocator, ngroups int) (arrow.Array, error) {
	if ngroups == 0 {
		return array.MakeArrayOfNull(mem, a.call.Result.Arrow(), 0), nil
	}
	return a.output(ctx, mem, "weft_agg_finish", ngroups, a.call.Result)
}
