package exec

import (
	"bytes"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Text kernels that read their arguments from Arrow's offsets and data
// buffers and write the result's buffers directly: no Go string and no
// boxed value per row. Each falls back to its row-by-row version when an
// argument is not the array type it expects.

// textOut builds a string array by appending values to its buffers, which
// grow geometrically (memory.Buffer grows only to what is asked).
type textOut struct {
	mem          memory.Allocator
	offsets      *memory.Buffer
	data         *memory.Buffer
	valid        *memory.Buffer // allocated at the first NULL
	offs         []int32
	buf          []byte // data's whole capacity; used holds the length
	used, n      int
	nulls, limit int
}

func newTextOut(mem memory.Allocator, n, dataHint int) *textOut {
	o := &textOut{mem: mem, offsets: memory.NewResizableBuffer(mem), data: memory.NewResizableBuffer(mem), limit: math.MaxInt32}
	o.offsets.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	o.offs = arrow.Int32Traits.CastFromBytes(o.offsets.Bytes())
	o.offs[0] = 0
	o.reserve(max(dataHint, 64))
	return o
}

// reserve makes room for k more bytes of data.
func (o *textOut) reserve(k int) {
	if o.used+k <= len(o.buf) {
		return
	}
	o.data.Reserve(max(o.used+k, 2*len(o.buf)))
	o.buf = o.data.Buf()
}

// tail returns room for k more bytes; commit(m) then keeps m of them as
// the next value.
func (o *textOut) tail(k int) []byte {
	o.reserve(k)
	return o.buf[o.used : o.used+k]
}

func (o *textOut) commit(m int) error {
	if o.used+m > o.limit {
		return sqlerr.New(sqlerr.ProgramLimitExceeded, "text values of one batch exceed %d bytes", o.limit)
	}
	if o.valid != nil {
		bitutil.SetBit(o.valid.Bytes(), o.n)
	}
	o.used += m
	o.n++
	o.offs[o.n] = int32(o.used)
	return nil
}

func (o *textOut) append(s []byte) error {
	copy(o.tail(len(s)), s)
	return o.commit(len(s))
}

func (o *textOut) appendNull() {
	if o.valid == nil {
		o.valid = memory.NewResizableBuffer(o.mem)
		o.valid.Resize(int(bitutil.BytesForBits(int64(len(o.offs) - 1))))
		bits := o.valid.Bytes()
		for i := range bits {
			bits[i] = 0
		}
		bitutil.SetBitsTo(bits, 0, int64(o.n), true) // the values so far
	}
	o.nulls++
	o.n++
	o.offs[o.n] = int32(o.used)
}

// finish returns the array (of type text) and gives up the buffers.
func (o *textOut) finish(t types.T) arrow.Array {
	o.data.ResizeNoShrink(o.used)
	d := array.NewData(t.Arrow(), o.n, []*memory.Buffer{o.valid, o.offsets, o.data}, nil, o.nulls, 0)
	o.release()
	arr := array.MakeFromData(d)
	d.Release()
	return arr
}

// release frees the buffers of an unfinished array.
func (o *textOut) release() {
	for _, b := range []*memory.Buffer{o.valid, o.offsets, o.data} {
		if b != nil {
			b.Release()
		}
	}
	o.valid, o.offsets, o.data = nil, nil, nil
}

// constText is a string array of n copies of s.
func constText(mem memory.Allocator, t types.T, s string, n int) arrow.Array {
	o := newTextOut(mem, n, n*len(s))
	for i := 0; i < n; i++ {
		copy(o.tail(len(s)), s)
		if err := o.commit(len(s)); err != nil {
			o.release()
			return nil // too large for one array: the caller builds it its slow way
		}
	}
	return o.finish(t)
}

// textKernel maps each non-NULL text value to a new one; rows is the
// row-by-row version for other argument types.
func textKernel(ret types.T, rows Kernel, f func(dst, s []byte) []byte) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in, ok := args[0].(*array.String)
		if !ok {
			return rows(ec, args, n)
		}
		view := viewText(in)
		o := newTextOut(ec.Mem, n, view.size())
		var scratch []byte
		for i := 0; i < n; i++ {
			if in.IsNull(i) {
				o.appendNull()
				continue
			}
			scratch = f(scratch[:0], view.at(i))
			if err := o.append(scratch); err != nil {
				o.release()
				return nil, err
			}
		}
		return o.finish(ret), nil
	}
}

// asciiLower and asciiUpper change ASCII bytes by themselves and other
// characters through Unicode's mappings, as strings.ToLower and
// strings.ToUpper do, appending to dst without allocating.
func asciiLower(dst, s []byte) []byte {
	return appendLower(dst, s)
}

func asciiUpper(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return appendMapped(dst, s[i:], unicode.ToUpper)
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendMapped appends s with f applied to every character (an invalid
// byte reads as U+FFFD, as in bytes.Map).
func appendMapped(dst, s []byte, f func(rune) rune) []byte {
	for len(s) > 0 {
		r, size := rune(s[0]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(s)
		}
		dst = utf8.AppendRune(dst, f(r))
		s = s[size:]
	}
	return dst
}

// charLengthKernel is length / char_length of text: characters, not bytes.
func charLengthKernel(rows Kernel) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in, ok := args[0].(*array.String)
		if !ok {
			return rows(ec, args, n)
		}
		view := viewText(in)
		buf, vals := allocFixed[int32](ec.Mem, n)
		for i := range vals {
			vals[i] = int32(utf8.RuneCount(view.at(i)))
		}
		validity, nulls := combineValidity(ec.Mem, n, in)
		return makeArray(arrow.PrimitiveTypes.Int32, n, validity, buf, nulls), nil
	}
}

// substrKernel is substr(text, start [, count]) over characters, as
// PostgreSQL's text_substr: start is 1-based and may lie before the value.
func substrKernel(rows Kernel) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		in, ok := args[0].(*array.String)
		if !ok {
			return rows(ec, args, n)
		}
		starts, ok := intValues(args[1])
		if !ok {
			return rows(ec, args, n)
		}
		var counts func(int) int64
		if len(args) > 2 {
			if counts, ok = intValues(args[2]); !ok {
				return rows(ec, args, n)
			}
		}
		view := viewText(in)
		o := newTextOut(ec.Mem, n, view.size())
		for i := 0; i < n; i++ {
			if in.IsNull(i) || args[1].IsNull(i) || (counts != nil && args[2].IsNull(i)) {
				o.appendNull()
				continue
			}
			start, end := starts(i), int64(math.MaxInt64)
			if counts != nil {
				count := counts(i)
				if count < 0 {
					o.release()
					return nil, sqlerr.New(sqlerr.SubstringError, "negative substring length not allowed")
				}
				end = start + count
			}
			if err := o.append(substrBytes(view.at(i), start, end)); err != nil {
				o.release()
				return nil, err
			}
		}
		return o.finish(types.TextT), nil
	}
}

// substrBytes returns characters [start, end) (1-based) of s.
func substrBytes(s []byte, start, end int64) []byte {
	start = max(start, 1)
	if end <= start {
		return nil
	}
	from := skipChars(s, 0, start-1)
	return s[from:skipChars(s, from, end-start)]
}

// skipChars returns the byte position k characters after pos (or the end).
func skipChars(s []byte, pos int, k int64) int {
	for ; k > 0 && pos < len(s); k-- {
		if s[pos] < utf8.RuneSelf {
			pos++
			continue
		}
		_, size := utf8.DecodeRune(s[pos:])
		pos += size
	}
	return pos
}

// intValues reads an int2, int4 or int8 array without boxing.
func intValues(arr arrow.Array) (func(int) int64, bool) {
	switch a := arr.(type) {
	case *array.Int32:
		v := a.Int32Values()
		return func(i int) int64 { return int64(v[i]) }, true
	case *array.Int64:
		v := a.Int64Values()
		return func(i int) int64 { return v[i] }, true
	case *array.Int16:
		v := a.Int16Values()
		return func(i int) int64 { return int64(v[i]) }, true
	}
	return nil, false
}

// concatTextKernel is text || text (NULL when either side is).
func concatTextKernel(rows Kernel) Kernel {
	return func(ec *EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		l, ok1 := args[0].(*array.String)
		r, ok2 := args[1].(*array.String)
		if !ok1 || !ok2 {
			return rows(ec, args, n)
		}
		lv, rv := viewText(l), viewText(r)
		o := newTextOut(ec.Mem, n, lv.size()+rv.size())
		for i := 0; i < n; i++ {
			if l.IsNull(i) || r.IsNull(i) {
				o.appendNull()
				continue
			}
			a, b := lv.at(i), rv.at(i)
			if err := checkConcatLength(len(a), len(b)); err != nil {
				o.release()
				return nil, err
			}
			dst := o.tail(len(a) + len(b))
			copy(dst[copy(dst, a):], b)
			if err := o.commit(len(a) + len(b)); err != nil {
				o.release()
				return nil, err
			}
		}
		return o.finish(types.TextT), nil
	}
}

// vecSig is sig with a vectorized kernel, which is given the row-by-row
// kernel for argument arrays it does not handle.
func vecSig(name string, params []types.T, ret types.T, f func([]types.Datum) (types.Datum, error), vec func(rows Kernel) Kernel) *ScalarDef {
	return &ScalarDef{Name: name, Resolve: func(args []types.T) ([]types.T, types.T, Kernel, error) {
		if len(args) != len(params) || !castableAll(args, params) {
			return nil, types.T{}, nil, NoSuchFunction(name, args)
		}
		return params, ret, vec(rowKernel(ret, f)), nil
	}}
}

// mapText is textKernel as vecSig wants it.
func mapText(f func(dst, s []byte) []byte) func(rows Kernel) Kernel {
	return func(rows Kernel) Kernel { return textKernel(types.TextT, rows, f) }
}

// constantText is the one value of a string array that holds the same
// non-NULL value in every row (ok false otherwise), as a constant's array
// does. Its offsets must step by one length, and its bytes repeat with
// that period exactly when they equal themselves shifted by it: one
// comparison instead of one per row.
func constantText(a arrow.Array) (string, bool) {
	s, isText := a.(*array.String)
	if !isText || s.Len() == 0 || s.NullN() > 0 {
		return "", false
	}
	v := viewText(s)
	offs := v.offsets[:s.Len()+1]
	first := offs[0]
	size := offs[1] - first
	for i, o := range offs {
		if int64(o) != int64(first)+int64(i)*int64(size) {
			return "", false
		}
	}
	all := v.data[first:offs[len(offs)-1]]
	if !bytes.Equal(all[size:], all[:len(all)-int(size)]) {
		return "", false
	}
	return string(all[:size]), true
}
