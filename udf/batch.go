package udf

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// The batch ABI lays Arrow arrays out in linear memory using the Arrow C
// data interface's ArrowArray struct compiled for wasm32 (docs/udf-abi.md,
// "Batch calls"). Field offsets in that 64-byte struct:
const (
	fLength    = 0  // i64
	fNullCount = 8  // i64
	fOffset    = 16 // i64
	fNBuffers  = 24 // i64
	fNChildren = 32 // i64
	fBuffers   = 40 // u32 pointer to n_buffers u32 pointers
	fChildren  = 44 // u32 pointer to n_children u32 pointers
	arraySize  = 64
)

// layout hands out 8-aligned offsets inside the arena.
type layout struct{ size uint32 }

func (l *layout) take(n int) uint32 {
	off := (l.size + 7) &^ 7
	l.size = off + uint32(n)
	return off
}

// column is one input argument as the guest will see it.
type column struct {
	length  int
	nulls   int
	buffers [][]byte // validity (nil: no nulls), then values or offsets + data
}

func (c *Call) invokeBatch(ctx context.Context, mem memory.Allocator, args []arrow.Array, n int) (arrow.Array, error) {
	if n == 0 {
		return array.MakeArrayOfNull(mem, c.Result.Arrow(), 0), nil
	}
	cols := make([]column, len(args))
	var constMask uint64
	for k, a := range args {
		length := n
		if c.ConstArgs[k] {
			length = 1
			constMask |= 1 << uint(k)
		}
		col, err := exportColumn(a, length)
		if err != nil {
			return nil, fmt.Errorf("wasm function %s: %w", c.F.Name, err)
		}
		cols[k] = col
	}
	// Strict functions: the host decides NULL rows and the guest never sees
	// them as valid.
	var strictValid []byte
	if c.F.Strict {
		strictValid = strictValidity(args, c.ConstArgs, n)
	}
	width, variable, err := resultWidth(c.Result)
	if err != nil {
		return nil, fmt.Errorf("wasm function %s: %w", c.F.Name, err)
	}

	// Plan the arena.
	var l layout
	bindOff := l.take(len(c.BindData))
	inPlan := planInput(&l, cols)
	outPlan := planOutput(&l, n, width, variable)

	inst, release, err := c.F.Module.acquire(ctx, c.F.MaxMemory, c.F.Name, c.F.Volatile)
	if err != nil {
		return nil, err
	}
	healthy := false
	defer func() { release(healthy) }()
	base, err := inst.ensureArena(ctx, l.size, c.F.Name)
	if err != nil {
		return nil, err
	}
	w := &memWriter{inst: inst, base: base}
	w.bytes(bindOff, c.BindData)
	inPlan.write(w, cols)
	valid := strictValid
	if valid == nil {
		valid = allValid(n)
	}
	outPlan.write(w, valid)
	if w.err != nil {
		return nil, w.err
	}
	structOff, outOff := inPlan.structOff, outPlan.off

	call := inst.fn("weft_call")
	res, err := call.Call(ctx, uint64(c.F.batchIndex), uint64(base+bindOff), uint64(len(c.BindData)),
		uint64(base+structOff), constMask, uint64(base+outOff))
	if err != nil {
		return nil, trapError(ctx, inst, c.F.Name, err)
	}
	status := uint32(res[0])
	if status == statusRowErrors && !c.RowErrorsAsNull {
		// policy "fail": any failed row fails the query, whatever the batch
		healthy = true
		return nil, guestError(ctx, inst, c.F.Name, status)
	}
	if status != 0 && status != statusRowErrors {
		healthy = true // a reported error is not a broken instance
		return nil, guestError(ctx, inst, c.F.Name, status)
	}
	// With row errors under policy "null", the guest cleared those rows'
	// validity bits: they come out as NULL.
	out, err := importResult(inst, mem, base+outOff, n, c.Result, width, variable, strictValid)
	if err != nil {
		return nil, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s returned an invalid result: %v", c.F.Name, err)
	}
	healthy = true
	return out, nil
}

// statusRowErrors is weft_call's "some rows failed" status (ABI §7): the
// failed rows' validity bits are cleared and weft_last_error describes the
// first failure.
const statusRowErrors = 4

// inputPlan places a struct array of argument columns in the arena.
type inputPlan struct {
	structOff, childPtrsOff uint32
	childOff, bufPtrsOff    []uint32
	bufOff                  [][]uint32
	length                  int
}

func planInput(l *layout, cols []column) *inputPlan {
	p := &inputPlan{structOff: l.take(arraySize), childPtrsOff: l.take(4 * len(cols)),
		childOff: make([]uint32, len(cols)), bufPtrsOff: make([]uint32, len(cols)), bufOff: make([][]uint32, len(cols))}
	for k, col := range cols {
		p.childOff[k] = l.take(arraySize)
		p.bufPtrsOff[k] = l.take(4 * len(col.buffers))
		for _, b := range col.buffers {
			p.bufOff[k] = append(p.bufOff[k], l.take(len(b)))
		}
		p.length = max(p.length, col.length)
	}
	return p
}

func (p *inputPlan) write(w *memWriter, cols []column) {
	w.arrayStruct(p.structOff, p.length, 0, 1, len(cols), w.base+p.childPtrsOff, 0)
	for k, col := range cols {
		w.u32(p.childPtrsOff+uint32(4*k), w.base+p.childOff[k])
		w.arrayStruct(p.childOff[k], col.length, col.nulls, len(col.buffers), 0, 0, w.base+p.bufPtrsOff[k])
		for j, b := range col.buffers {
			ptr := uint32(0)
			if b != nil {
				ptr = w.base + p.bufOff[k][j]
				w.bytes(p.bufOff[k][j], b)
			}
			w.u32(p.bufPtrsOff[k]+uint32(4*j), ptr)
		}
	}
}

// outputPlan places a result descriptor and its host-allocated buffers.
type outputPlan struct {
	off, bufPtrsOff, validOff, valuesOff uint32
	n                                    int
	variable                             bool
}

func planOutput(l *layout, n, width int, variable bool) *outputPlan {
	p := &outputPlan{off: l.take(arraySize), bufPtrsOff: l.take(12), n: n, variable: variable}
	p.validOff = l.take(int(bitutil.BytesForBits(int64(n))))
	valuesLen := n * width
	if variable {
		valuesLen = 4 * (n + 1)
	} else if width == 0 { // boolean
		valuesLen = int(bitutil.BytesForBits(int64(n)))
	}
	p.valuesOff = l.take(valuesLen)
	return p
}

func (p *outputPlan) write(w *memWriter, valid []byte) {
	nBuffers := 2
	if p.variable {
		nBuffers = 3
	}
	w.arrayStruct(p.off, p.n, -1, nBuffers, 0, 0, w.base+p.bufPtrsOff)
	w.u32(p.bufPtrsOff, w.base+p.validOff)
	w.u32(p.bufPtrsOff+4, w.base+p.valuesOff)
	w.u32(p.bufPtrsOff+8, 0)
	w.bytes(p.validOff, valid)
	if p.variable {
		w.u32(p.valuesOff, 0) // offsets[0]: guests append from there
	}
}

// guestError reads the error a batch call reported ("SQLSTATE message").
func guestError(ctx context.Context, inst *instance, fn string, status uint32) error {
	if inst.fn("weft_last_error") == nil {
		return sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s failed (status %d)", fn, status)
	}
	text, err := inst.callForText(ctx, "weft_last_error")
	if err != nil {
		return err
	}
	code, msg, _ := strings.Cut(strings.TrimSpace(text), " ")
	if len(code) != 5 {
		code, msg = sqlerr.ExternalRoutine, text
	}
	return sqlerr.New(code, "wasm function %s: %s", fn, msg)
}

// ensureArena returns the base of an arena of at least size bytes,
// allocated through the guest's weft_alloc and grown geometrically.
func (i *instance) ensureArena(ctx context.Context, size uint32, fn string) (uint32, error) {
	if size <= i.arenaSize && i.arena != 0 {
		return i.arena, nil
	}
	want := max(size, 2*i.arenaSize, 64<<10)
	if free := i.fn("weft_free"); free != nil && i.arena != 0 {
		if _, err := free.Call(ctx, uint64(i.arena), uint64(i.arenaSize)); err != nil {
			return 0, trapError(ctx, i, fn, err)
		}
	}
	i.arena, i.arenaSize = 0, 0
	alloc := i.fn("weft_alloc")
	if alloc == nil {
		return 0, sqlerr.New(sqlerr.InvalidParameter, "wasm function %s: module does not export weft_alloc", fn)
	}
	res, err := alloc.Call(ctx, uint64(want))
	if err != nil {
		return 0, trapError(ctx, i, fn, err)
	}
	ptr := uint32(res[0])
	if ptr == 0 {
		return 0, sqlerr.New(sqlerr.OutOfMemory, "wasm function %s could not allocate %d bytes for its input (memory limit %d MiB)", fn, want, uint64(i.pages)*pageSize>>20)
	}
	if _, ok := i.mod.Memory().Read(ptr, want); !ok {
		return 0, sqlerr.New(sqlerr.ExternalRoutine, "wasm function %s: weft_alloc returned an out-of-range pointer", fn)
	}
	i.arena, i.arenaSize = ptr, want
	return ptr, nil
}

// write copies data into the arena and returns its guest address.
func (i *instance) write(ctx context.Context, data []byte) (uint32, error) {
	base, err := i.ensureArena(ctx, uint32(len(data)), "bind")
	if err != nil {
		return 0, err
	}
	if !i.mod.Memory().Write(base, data) {
		return 0, sqlerr.New(sqlerr.Internal, "arena write out of range")
	}
	return base, nil
}

// memWriter writes at arena offsets; the first failure sticks.
type memWriter struct {
	inst *instance
	base uint32
	err  error
	tmp  [8]byte
}

func (w *memWriter) bytes(off uint32, b []byte) {
	if w.err == nil && len(b) > 0 && !w.inst.mod.Memory().Write(w.base+off, b) {
		w.err = sqlerr.New(sqlerr.Internal, "arena write out of range")
	}
}

func (w *memWriter) u32(off, v uint32) {
	binary.LittleEndian.PutUint32(w.tmp[:4], v)
	w.bytes(off, w.tmp[:4])
}

func (w *memWriter) i64(off uint32, v int64) {
	binary.LittleEndian.PutUint64(w.tmp[:], uint64(v))
	w.bytes(off, w.tmp[:])
}

func (w *memWriter) arrayStruct(off uint32, length, nulls, nBuffers, nChildren int, children, buffers uint32) {
	var s [arraySize]byte
	binary.LittleEndian.PutUint64(s[fLength:], uint64(length))
	binary.LittleEndian.PutUint64(s[fNullCount:], uint64(int64(nulls)))
	binary.LittleEndian.PutUint64(s[fNBuffers:], uint64(nBuffers))
	binary.LittleEndian.PutUint64(s[fNChildren:], uint64(nChildren))
	binary.LittleEndian.PutUint32(s[fBuffers:], buffers)
	binary.LittleEndian.PutUint32(s[fChildren:], children)
	w.bytes(off, s[:])
}

// exportColumn returns the first length rows of a as Arrow buffers starting
// at offset 0 (input arrays that are slices are normalised).
func exportColumn(a arrow.Array, length int) (column, error) {
	d := a.Data()
	off := d.Offset()
	bufs := d.Buffers()
	col := column{length: length}
	var validity []byte
	if a.NullN() > 0 && bufs[0] != nil {
		validity = bitmapSlice(bufs[0].Bytes(), off, length)
		col.nulls = length - bitutil.CountSetBits(validity, 0, length)
	}
	switch x := a.(type) {
	case *array.Boolean:
		col.buffers = [][]byte{validity, bitmapSlice(bufs[1].Bytes(), off, length)}
	case *array.String:
		offs := x.ValueOffsets()[:length+1]
		start, end := offs[0], offs[length]
		rebased := make([]byte, 4*(length+1))
		for i, o := range offs {
			binary.LittleEndian.PutUint32(rebased[4*i:], uint32(o-start))
		}
		col.buffers = [][]byte{validity, rebased, bufs[2].Bytes()[start:end]}
	case *array.Binary:
		offs := x.ValueOffsets()[:length+1]
		start, end := offs[0], offs[length]
		rebased := make([]byte, 4*(length+1))
		for i, o := range offs {
			binary.LittleEndian.PutUint32(rebased[4*i:], uint32(o-start))
		}
		col.buffers = [][]byte{validity, rebased, bufs[2].Bytes()[start:end]}
	default:
		fw, ok := a.DataType().(arrow.FixedWidthDataType)
		if !ok {
			return column{}, fmt.Errorf("no batch encoding for %s", a.DataType())
		}
		w := fw.BitWidth() / 8
		col.buffers = [][]byte{validity, bufs[1].Bytes()[off*w : (off+length)*w]}
	}
	return col, nil
}

// bitmapSlice returns n bits of bm starting at bit off, as a bitmap that
// starts at bit 0.
func bitmapSlice(bm []byte, off, n int) []byte {
	if off%8 == 0 {
		return bm[off/8 : off/8+int(bitutil.BytesForBits(int64(n)))]
	}
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	for i := 0; i < n; i++ {
		if bitutil.BitIsSet(bm, off+i) {
			bitutil.SetBit(out, i)
		}
	}
	return out
}

func allValid(n int) []byte {
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.SetBitsTo(out, 0, int64(n), true)
	return out
}

// strictValidity is the AND of every argument's validity.
func strictValidity(args []arrow.Array, isConst []bool, n int) []byte {
	out := allValid(n)
	for k, a := range args {
		if a.NullN() == 0 {
			continue
		}
		if isConst[k] {
			if a.IsNull(0) {
				return make([]byte, len(out))
			}
			continue
		}
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				bitutil.ClearBit(out, i)
			}
		}
	}
	return out
}

// resultWidth gives the value width in bytes (0 for bit-packed booleans)
// and whether the result type is variable-width.
func resultWidth(t types.T) (int, bool, error) {
	switch dt := t.Arrow().(type) {
	case *arrow.BooleanType:
		return 0, false, nil
	case *arrow.StringType, *arrow.BinaryType:
		return 0, true, nil
	case arrow.FixedWidthDataType:
		return dt.BitWidth() / 8, false, nil
	}
	return 0, false, fmt.Errorf("no batch encoding for %s", t)
}

// importResult validates the output descriptor the guest filled in and
// copies the column out of linear memory. Every pointer and length is
// checked against the memory size.
func importResult(inst *instance, mem memory.Allocator, out uint32, n int, t types.T, width int, variable bool, strictValid []byte) (arrow.Array, error) {
	m := inst.mod.Memory()
	desc, ok := m.Read(out, arraySize)
	if !ok {
		return nil, fmt.Errorf("output descriptor out of range")
	}
	if got := int64(binary.LittleEndian.Uint64(desc[fLength:])); got != int64(n) {
		return nil, fmt.Errorf("length %d, want %d", got, n)
	}
	if off := binary.LittleEndian.Uint64(desc[fOffset:]); off != 0 {
		return nil, fmt.Errorf("offset %d, want 0", off)
	}
	nb := 2
	if variable {
		nb = 3
	}
	if got := binary.LittleEndian.Uint64(desc[fNBuffers:]); got != uint64(nb) {
		return nil, fmt.Errorf("%d buffers, want %d", got, nb)
	}
	ptrs, ok := m.Read(binary.LittleEndian.Uint32(desc[fBuffers:]), uint32(4*nb))
	if !ok {
		return nil, fmt.Errorf("buffer pointer array out of range")
	}
	read := func(j int, size int) ([]byte, error) {
		ptr := binary.LittleEndian.Uint32(ptrs[4*j:])
		if size == 0 {
			return nil, nil
		}
		b, ok := m.Read(ptr, uint32(size))
		if !ok || ptr == 0 {
			return nil, fmt.Errorf("buffer %d (%d bytes at %d) out of range", j, size, ptr)
		}
		return b, nil
	}
	bitmapLen := int(bitutil.BytesForBits(int64(n)))
	validity := allValid(n)
	if binary.LittleEndian.Uint32(ptrs[0:]) != 0 {
		v, err := read(0, bitmapLen)
		if err != nil {
			return nil, err
		}
		copy(validity, v)
	}
	if strictValid != nil {
		for i := range validity {
			validity[i] &= strictValid[i]
		}
	}
	nulls := n - bitutil.CountSetBits(validity, 0, n)
	validBuf := memory.NewResizableBuffer(mem)
	validBuf.Resize(bitmapLen)
	copy(validBuf.Bytes(), validity)
	var buffers []*memory.Buffer
	switch {
	case variable:
		offsRaw, err := read(1, 4*(n+1))
		if err != nil {
			validBuf.Release()
			return nil, err
		}
		offs := make([]int32, n+1)
		for i := range offs {
			offs[i] = int32(binary.LittleEndian.Uint32(offsRaw[4*i:]))
			if offs[i] < 0 || (i > 0 && offs[i] < offs[i-1]) {
				validBuf.Release()
				return nil, fmt.Errorf("offsets are not non-decreasing at row %d", i)
			}
		}
		data, err := read(2, int(offs[n]))
		if err != nil && offs[n] > 0 {
			validBuf.Release()
			return nil, err
		}
		offBuf := memory.NewResizableBuffer(mem)
		offBuf.Resize(4 * (n + 1))
		copy(offBuf.Bytes(), offsRaw)
		dataBuf := memory.NewResizableBuffer(mem)
		dataBuf.Resize(int(offs[n]))
		copy(dataBuf.Bytes(), data)
		buffers = []*memory.Buffer{validBuf, offBuf, dataBuf}
	default:
		size := n * width
		if width == 0 {
			size = bitmapLen
		}
		vals, err := read(1, size)
		if err != nil {
			validBuf.Release()
			return nil, err
		}
		valBuf := memory.NewResizableBuffer(mem)
		valBuf.Resize(size)
		copy(valBuf.Bytes(), vals)
		buffers = []*memory.Buffer{validBuf, valBuf}
	}
	data := array.NewData(t.Arrow(), n, buffers, nil, nulls, 0)
	for _, b := range buffers {
		b.Release()
	}
	defer data.Release()
	if t.Kind == types.Text || t.Kind == types.Varchar {
		arr := array.NewStringData(data)
		if err := arr.ValidateFull(); err != nil {
			arr.Release()
			return nil, fmt.Errorf("text result: %v", err)
		}
		return arr, nil
	}
	return array.MakeFromData(data), nil
}
