//go:build wasip1

// Package weftudf writes Weft batch UDFs in Go (Weft UDF ABI version 1,
// docs/udf-abi.md). Build the guest with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o f.wasm .
//
// and register functions from main's init:
//
//	func init() {
//		weftudf.Scalar("word_count", "(u) -> l strict", wordCount)
//	}
package weftudf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// Error is a failure with a SQLSTATE; any other error reports 38000.
type Error struct {
	SQLState string
	Message  string
}

func (e *Error) Error() string { return e.SQLState + " " + e.Message }

// Call is one batch call.
type Call struct {
	Rows      int64
	In        []Array
	ConstMask uint64
	Out       Output
	Bind      []byte
}

// Row maps result row i to the row of argument k (constants have one row).
func (c *Call) Row(k int, i int64) int64 {
	if c.ConstMask>>uint(k)&1 == 1 {
		return 0
	}
	return i
}

// Func evaluates one batch.
type Func func(c *Call) error

type entry struct {
	name, sig string
	fn        Func
}

var registry []entry

// Scalar registers a batch scalar function: sig is the manifest's
// "(ARGS) -> RESULT [strict] [volatile]" part.
func Scalar(name, sig string, fn Func) {
	registry = append(registry, entry{name, sig, fn})
}

// ---- linear memory -------------------------------------------------------

// pinned keeps buffers handed to the host reachable (Go's collector does
// not move objects, so their addresses stay valid while referenced).
var pinned = map[uint32][]byte{}

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(&b[0]))) }

func mem(p uint32, n int) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
}

func u32(p uint32) uint32 { return binary.LittleEndian.Uint32(mem(p, 4)) }
func i64(p uint32) int64  { return int64(binary.LittleEndian.Uint64(mem(p, 8))) }

//go:wasmexport weft_alloc
func weftAlloc(size int32) uint32 {
	b := make([]byte, max(size, 8))
	p := addr(b)
	pinned[p] = b
	return p
}

//go:wasmexport weft_free
func weftFree(p uint32, size int32) { delete(pinned, p) }

// ---- the ABI's arrays ------------------------------------------------------

// Array is an Arrow array laid out in linear memory (ABI §6).
type Array struct{ p uint32 }

func (a Array) Len() int64          { return i64(a.p) }
func (a Array) buffer(j int) uint32 { return u32(u32(a.p+40) + uint32(4*j)) }
func (a Array) child(k int) Array   { return Array{u32(u32(a.p+44) + uint32(4*k))} }
func (a Array) numChildren() int    { return int(i64(a.p + 32)) }
func (a Array) IsNull(i int64) bool {
	v := a.buffer(0)
	return v != 0 && mem(v+uint32(i>>3), 1)[0]>>(i&7)&1 == 0
}
func (a Array) Int64(i int64) int64 { return i64(a.buffer(1) + uint32(8*i)) }
func (a Array) Int32(i int64) int32 { return int32(u32(a.buffer(1) + uint32(4*i))) }
func (a Array) Float64(i int64) float64 {
	return float64frombits(uint64(i64(a.buffer(1) + uint32(8*i))))
}

// Bytes returns a text or bytea value; it aliases the input and is valid
// during the call only.
func (a Array) Bytes(i int64) []byte {
	off := a.buffer(1)
	start, end := u32(off+uint32(4*i)), u32(off+uint32(4*i+4))
	return mem(a.buffer(2)+start, int(end-start))
}

// Output is the result column the host prepared.
type Output struct {
	Array
	data []byte
	offs []uint32
}

func (o *Output) SetNull(i int64) {
	b := mem(o.buffer(0)+uint32(i>>3), 1)
	b[0] &^= 1 << (i & 7)
}
func (o *Output) SetInt64(i int64, v int64) {
	binary.LittleEndian.PutUint64(mem(o.buffer(1)+uint32(8*i), 8), uint64(v))
}
func (o *Output) SetFloat64(i int64, v float64) { o.SetInt64(i, int64(float64bits(v))) }

// AppendBytes writes row i of a text/bytea result; rows go in order.
func (o *Output) AppendBytes(i int64, v []byte) {
	o.data = append(o.data, v...)
	binary.LittleEndian.PutUint32(mem(o.buffer(1)+uint32(4*(i+1)), 4), uint32(len(o.data)))
}

// ---- manifest, errors, dispatch ---------------------------------------------

var manifestText, lastError []byte

//go:wasmexport weft_abi_version
func weftABIVersion() int32 { return 1 }

//go:wasmexport weft_manifest
func weftManifest() uint64 {
	var sb strings.Builder
	sb.WriteString("weft 1\n")
	for _, e := range registry {
		fmt.Fprintf(&sb, "function %s scalar %s\n", e.name, e.sig)
	}
	manifestText = []byte(sb.String())
	return uint64(addr(manifestText))<<32 | uint64(len(manifestText))
}

//go:wasmexport weft_last_error
func weftLastError() uint64 {
	if len(lastError) == 0 {
		lastError = []byte("38000 unknown error")
	}
	return uint64(addr(lastError))<<32 | uint64(len(lastError))
}

var resultData []byte // keeps the last text result alive until the next call

//go:wasmexport weft_call
func weftCall(fn int32, bind uint32, bindLen int32, in uint32, constMask int64, out uint32) int32 {
	if int(fn) >= len(registry) {
		return fail(&Error{"42883", "unknown function index"})
	}
	inArr := Array{in}
	c := &Call{Rows: Array{out}.Len(), ConstMask: uint64(constMask), Out: Output{Array: Array{out}}, Bind: mem(bind, int(bindLen))}
	for k := 0; k < inArr.numChildren(); k++ {
		c.In = append(c.In, inArr.child(k))
	}
	if err := registry[fn].fn(c); err != nil {
		return fail(err)
	}
	if c.Out.data != nil || i64(out+24) == 3 {
		resultData = append(c.Out.data[:len(c.Out.data):len(c.Out.data)], 0) // never empty
		binary.LittleEndian.PutUint32(mem(u32(out+40)+8, 4), addr(resultData))
	}
	return 0
}

func fail(err error) int32 {
	var e *Error
	if errors.As(err, &e) {
		lastError = []byte(e.Error())
	} else {
		lastError = []byte("38000 " + err.Error())
	}
	return 1
}
