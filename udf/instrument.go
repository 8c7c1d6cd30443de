package udf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Interruption design (see docs/udf-abi.md, "Stopping a guest").
//
// Compiled wasm is native code the Go runtime cannot preempt: a guest that
// loops without ever returning to Go both ignores cancellation and blocks
// every stop-the-world (a GC cycle then waits for it forever, freezing the
// whole process). wazero's WithCloseOnContextDone solves this with a call
// into a Go trampoline at every loop header, which makes compiled loops
// 7–25× slower. Weft instead rewrites each module once, at load time:
//
//   - every function gains an i32 counter local;
//   - the module gains an exported mutable i32 global, StopGlobal;
//   - the top of every loop body becomes
//
//     block
//       local.get $n; i32.const -1; i32.add; local.tee $n
//       br_if 0                            ;; n != 0: carry on
//       i32.const 65536; local.set $n
//       i32.const 0; memory.grow; drop     ;; an exit to Go: a safepoint
//       global.get $stop
//       if unreachable end
//     end
//
//   (the counter starts at 65536 on function entry);
//
// so a loop iteration costs a register decrement and a branch, and every
// 65536 iterations the guest passes through
// Go (memory.grow by 0 pages is handled by wazero in Go code), where the
// scheduler and the GC can preempt it, and looks at the stop flag. The host
// arms one context.AfterFunc per checkout of an instance that sets the flag
// when the query is cancelled or times out; the guest traps at its next
// check, the host reports 57014 and discards the instance. A guest cannot
// run forever without passing loop headers, and unbounded recursion ends in
// a stack-overflow trap.

// StopGlobal is the name of the export the instrumented module gains.
const StopGlobal = "__weft_stop"

const wasmMagic = "\x00asm\x01\x00\x00\x00"

// errNotWasm reports bytes that are not a core wasm module.
var errNotWasm = errors.New("not a WebAssembly module (bad magic number or version)")

// instrument returns a copy of the module with the stop global, a memory
// (when it has none) and the loop-header checks added.
func instrument(mod []byte) ([]byte, error) {
	if len(mod) < 8 || string(mod[:8]) != wasmMagic {
		return nil, errNotWasm
	}
	type section struct {
		id   byte
		body []byte
	}
	var sections []section
	r := &reader{b: mod, pos: 8}
	for r.pos < len(r.b) {
		id := r.byte()
		size := r.u32()
		if r.err != nil || r.pos+int(size) > len(r.b) {
			return nil, fmt.Errorf("truncated section %d", id)
		}
		sections = append(sections, section{id, r.b[r.pos : r.pos+int(size)]})
		r.pos += int(size)
	}
	var (
		importedGlobals, definedGlobals int
		hasMemory                       bool
		typeParams                      []int // parameter count of each type
		funcTypes                       []uint32
	)
	for _, s := range sections {
		var err error
		switch s.id {
		case 1:
			typeParams, err = parseTypes(s.body)
		case 2:
			var mems int
			importedGlobals, mems, err = countImports(s.body)
			hasMemory = hasMemory || mems > 0
		case 3:
			funcTypes, err = parseVecU32(s.body)
		case 5:
			hasMemory = true
		case 6:
			sr := &reader{b: s.body}
			definedGlobals = int(sr.u32())
			err = sr.err
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	params := make([]int, len(funcTypes))
	for i, t := range funcTypes {
		if int(t) >= len(typeParams) {
			return nil, fmt.Errorf("function %d has unknown type %d", i, t)
		}
		params[i] = typeParams[t]
	}
	stopIndex := uint32(importedGlobals + definedGlobals)

	var out bytes.Buffer
	out.WriteString(wasmMagic)
	wroteGlobal, wroteExport, wroteMemory := false, false, hasMemory
	emit := func(id byte, body []byte) {
		out.WriteByte(id)
		out.Write(leb(uint64(len(body))))
		out.Write(body)
	}
	globalEntry := []byte{0x7F, 0x01, 0x41, 0x00, 0x0B} // mut i32 = i32.const 0
	exportEntry := append(append(leb(uint64(len(StopGlobal))), StopGlobal...), 0x03)
	exportEntry = append(exportEntry, leb(uint64(stopIndex))...)
	flushBefore := func(id byte) {
		if !wroteMemory && order(id) > order(5) {
			emit(5, []byte{0x01, 0x00, 0x00}) // one memory, min 0 pages
			wroteMemory = true
		}
		if !wroteGlobal && order(id) > order(6) {
			emit(6, append(leb(1), globalEntry...))
			wroteGlobal = true
		}
		if !wroteExport && order(id) > order(7) {
			emit(7, append(leb(1), exportEntry...))
			wroteExport = true
		}
	}
	for _, s := range sections {
		if s.id != 0 {
			flushBefore(s.id)
		}
		switch s.id {
		case 6:
			emit(6, appendVecEntry(s.body, globalEntry))
			wroteGlobal = true
		case 7:
			emit(7, appendVecEntry(s.body, exportEntry))
			wroteExport = true
		case 10:
			body, err := instrumentCode(s.body, stopIndex, params)
			if err != nil {
				return nil, err
			}
			emit(10, body)
		default:
			emit(s.id, s.body)
		}
	}
	flushBefore(255)
	return out.Bytes(), nil
}

// parseTypes returns the parameter count of each function type.
func parseTypes(body []byte) ([]int, error) {
	r := &reader{b: body}
	n := r.u32()
	out := make([]int, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 {
			return nil, fmt.Errorf("type %d: unsupported type form 0x%02x", i, form)
		}
		np := r.u32()
		for j := uint32(0); j < np; j++ {
			r.valType()
		}
		nr := r.u32()
		for j := uint32(0); j < nr; j++ {
			r.valType()
		}
		out = append(out, int(np))
	}
	return out, r.err
}

func parseVecU32(body []byte) ([]uint32, error) {
	r := &reader{b: body}
	n := r.u32()
	out := make([]uint32, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		out = append(out, r.u32())
	}
	return out, r.err
}

// order ranks section ids in the order the binary format requires.
func order(id byte) int {
	switch id {
	case 13: // tag, between memory and global
		return 55
	case 12: // data count, before code
		return 95
	case 10:
		return 100
	case 11:
		return 110
	case 255:
		return 1000
	}
	return int(id) * 10
}

// appendVecEntry adds one entry to a section that is a vector.
func appendVecEntry(body, entry []byte) []byte {
	r := &reader{b: body}
	n := r.u32()
	out := leb(uint64(n + 1))
	out = append(out, body[r.pos:]...)
	return append(out, entry...)
}

// countImports counts imported globals and memories.
func countImports(body []byte) (globals, memories int, err error) {
	r := &reader{b: body}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.skip(int(r.u32())) // module name
		r.skip(int(r.u32())) // field name
		switch kind := r.byte(); kind {
		case 0x00: // func: type index
			r.u32()
		case 0x01: // table: reftype + limits
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
			memories++
		case 0x03: // global: valtype + mutability
			r.valType()
			r.byte()
			globals++
		case 0x04: // tag
			r.byte()
			r.u32()
		default:
			return 0, 0, fmt.Errorf("unknown import kind %d", kind)
		}
	}
	return globals, memories, r.err
}

// instrumentCode rewrites every function body of the code section.
func instrumentCode(body []byte, stop uint32, params []int) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if int(n) != len(params) {
		return nil, fmt.Errorf("code section has %d bodies for %d functions", n, len(params))
	}
	out := leb(uint64(n))
	for i := uint32(0); i < n; i++ {
		size := int(r.u32())
		if r.err != nil || r.pos+size > len(r.b) {
			return nil, fmt.Errorf("function %d: truncated body", i)
		}
		fn, err := instrumentBody(r.b[r.pos:r.pos+size], stop, params[i])
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		r.pos += size
		out = append(out, leb(uint64(len(fn)))...)
		out = append(out, fn...)
	}
	return out, nil
}

// loopCheck is the code put at the top of every loop body (see the
// package comment above).
func loopCheck(counter, stop uint32) []byte {
	c := leb(uint64(counter))
	b := []byte{0x02, 0x40, 0x20} // block; local.get $n
	b = append(b, c...)
	b = append(b, 0x41, 0x7F, 0x6A, 0x22) // i32.const -1; i32.add; local.tee $n
	b = append(b, c...)
	b = append(b, 0x0D, 0x00) // br_if 0: skip while n != 0
	b = append(b, counterInit(counter)...)
	b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1A) // i32.const 0; memory.grow 0; drop
	b = append(b, 0x23)
	b = append(b, leb(uint64(stop))...)
	return append(b, 0x04, 0x40, 0x00, 0x0B, 0x0B) // if unreachable end; end
}

// counterInit sets the loop counter to 65536 (iterations between checks).
func counterInit(counter uint32) []byte {
	return append([]byte{0x41, 0x80, 0x80, 0x04, 0x21}, leb(uint64(counter))...) // i32.const 65536; local.set $n
}

func instrumentBody(body []byte, stop uint32, params int) ([]byte, error) {
	r := &reader{b: body}
	groups := r.u32()
	locals := params
	for g := uint32(0); g < groups; g++ {
		locals += int(r.u32())
		r.valType()
	}
	if r.err != nil {
		return nil, r.err
	}
	check := loopCheck(uint32(locals), stop)
	out := make([]byte, 0, len(body)+64)
	// one more local group: the loop counter
	out = append(out, leb(uint64(groups+1))...)
	rg := &reader{b: body}
	rg.u32()
	out = append(out, body[rg.pos:r.pos]...)
	out = append(out, 0x01, 0x7F)
	out = append(out, counterInit(uint32(locals))...)
	for r.pos < len(r.b) {
		start := r.pos
		op := r.byte()
		isLoop := op == 0x03
		if err := r.skipImmediates(op); err != nil {
			return nil, err
		}
		if r.err != nil {
			return nil, r.err
		}
		out = append(out, r.b[start:r.pos]...)
		if isLoop {
			out = append(out, check...)
		}
	}
	return out, nil
}

// valType skips a value type (a reference type with a heap type index is
// two bytes and more).
func (r *reader) valType() {
	switch c := r.byte(); c {
	case 0x63, 0x64: // (ref null ht), (ref ht)
		r.s64()
	}
}

// skipImmediates moves past the immediates of opcode op.
func (r *reader) skipImmediates(op byte) error {
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04 || op == 0x06: // block loop if try
		r.blockType()
	case op == 0x0C || op == 0x0D || op == 0x07 || op == 0x08 || op == 0x09 || op == 0x18: // br br_if catch throw rethrow delegate
		r.u32()
	case op == 0x0E: // br_table
		n := r.u32()
		for i := uint32(0); i <= n && r.err == nil; i++ {
			r.u32()
		}
	case op == 0x10 || op == 0x12: // call return_call
		r.u32()
	case op == 0x11 || op == 0x13: // call_indirect return_call_indirect
		r.u32()
		r.u32()
	case op == 0x1C: // select with types
		n := r.u32()
		r.skip(int(n))
	case op == 0x1F: // try_table
		r.blockType()
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			kind := r.byte()
			if kind == 0x00 || kind == 0x01 {
				r.u32() // tag
			}
			r.u32() // label
		}
	case op >= 0x20 && op <= 0x26: // locals, globals, table.get/set
		r.u32()
	case op >= 0x28 && op <= 0x3E: // loads and stores
		r.memarg()
	case op == 0x3F || op == 0x40: // memory.size/grow
		r.u32()
	case op == 0x41 || op == 0x42: // i32.const i64.const
		r.s64()
	case op == 0x43:
		r.skip(4)
	case op == 0x44:
		r.skip(8)
	case op == 0xD0: // ref.null
		r.byte()
	case op == 0xD2: // ref.func
		r.u32()
	case op == 0xFC:
		return r.skipFC()
	case op == 0xFD:
		return r.skipSIMD()
	case op == 0xFE:
		sub := r.u32()
		if sub == 0x03 {
			r.byte()
		} else {
			r.memarg()
		}
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0A || op == 0x0B || op == 0x0F || op == 0x19 ||
		op == 0x1A || op == 0x1B || (op >= 0x45 && op <= 0xC4) || op == 0xD1:
		// no immediates
	default:
		return fmt.Errorf("unsupported instruction 0x%02x", op)
	}
	return nil
}

func (r *reader) skipFC() error {
	switch sub := r.u32(); {
	case sub <= 7:
	case sub == 8: // memory.init
		r.u32()
		r.byte()
	case sub == 9 || sub == 13 || sub == 15 || sub == 16 || sub == 17:
		r.u32()
	case sub == 10:
		r.byte()
		r.byte()
	case sub == 11:
		r.byte()
	case sub == 12 || sub == 14:
		r.u32()
		r.u32()
	default:
		return fmt.Errorf("unsupported instruction 0xfc %d", sub)
	}
	return nil
}

func (r *reader) skipSIMD() error {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93:
		r.memarg()
	case sub == 12 || sub == 13:
		r.skip(16)
	case sub >= 21 && sub <= 34:
		r.byte()
	case sub >= 84 && sub <= 91:
		r.memarg()
		r.byte()
	case sub <= 275:
	default:
		return fmt.Errorf("unsupported instruction 0xfd %d", sub)
	}
	return nil
}

// reader decodes the binary format; the first error sticks.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errors.New("unexpected end of module")
	}
	r.pos = len(r.b)
}

func (r *reader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail()
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) skip(n int) {
	if n < 0 || r.pos+n > len(r.b) {
		r.fail()
		return
	}
	r.pos += n
}

func (r *reader) u32() uint32 {
	v, n := binary.Uvarint(r.b[min(r.pos, len(r.b)):])
	if n <= 0 || v > math.MaxUint32 {
		r.fail()
		return 0
	}
	r.pos += n
	return uint32(v)
}

// s64 skips a signed LEB128 number (only its length matters here).
func (r *reader) s64() {
	for i := 0; i < 10; i++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail()
}

func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 { // multi-memory: memory index follows
		r.u32()
	}
	r.u32()
}

func (r *reader) limits() {
	flags := r.byte()
	r.u32()
	if flags&1 != 0 {
		r.u32()
	}
}

func (r *reader) blockType() {
	if r.pos >= len(r.b) {
		r.fail()
		return
	}
	switch c := r.b[r.pos]; {
	case c == 0x40 || (c >= 0x6F && c <= 0x7F):
		r.pos++
	default:
		r.s64() // type index as s33
	}
}

func leb(v uint64) []byte {
	return binary.AppendUvarint(nil, v)
}
