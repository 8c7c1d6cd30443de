package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Gathering copies chosen rows of arrays into new ones with plain typed
// loops. Arrow's take kernel moves 16-byte values (numeric, interval) one
// memmove call at a time and builds an index array first; a filter that
// keeps most of a batch spent most of its time there (TPC-H q01).

// gatherRecord returns the rows idx (ascending or not, each in range) of
// the columns cols of b, as a record of schema out.
func gatherRecord(ec *EvalContext, b arrow.Record, idx []int32, cols []int, out *arrow.Schema) (arrow.Record, error) {
	arrs := make([]arrow.Array, len(cols))
	defer releaseAll(arrs)
	for k, c := range cols {
		a, err := gatherArray(ec, b.Column(c), idx)
		if err != nil {
			return nil, err
		}
		arrs[k] = a
	}
	return array.NewRecord(out, arrs, int64(len(idx))), nil
}

// gatherArray returns the values idx of a as a new array.
func gatherArray(ec *EvalContext, a arrow.Array, idx []int32) (arrow.Array, error) {
	if len(idx) == 0 {
		return array.NewSlice(a, 0, 0), nil
	}
	if !hasValueBuffers(a) {
		switch {
		case a.NullN() == a.Len():
			// (pgbench's fillers: Arrow's kernel costs microseconds a call)
			return array.MakeArrayOfNull(ec.Mem, a.DataType(), len(idx)), nil
		case isVarBinary(a) && hasOffsets(a):
			// every value empty: no data buffer to copy from
			return gatherVarBinary(ec.Mem, a, idx), nil
		}
		return takeArrayKernel(ec, a, widen(idx))
	}
	switch a.DataType().ID() {
	case arrow.INT16, arrow.UINT16:
		return gatherFixed[uint16](ec.valueMem(), a, idx), nil
	case arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32:
		return gatherFixed[uint32](ec.valueMem(), a, idx), nil
	case arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		return gatherFixed[uint64](ec.valueMem(), a, idx), nil
	case arrow.DECIMAL128:
		return gatherFixed[decimal128.Num](ec.valueMem(), a, idx), nil
	case arrow.INTERVAL_MONTH_DAY_NANO:
		return gatherFixed[arrow.MonthDayNanoInterval](ec.valueMem(), a, idx), nil
	case arrow.BOOL:
		return gatherBools(ec.valueMem(), a, idx), nil
	case arrow.STRING, arrow.BINARY:
		return gatherVarBinary(ec.Mem, a, idx), nil
	}
	return takeArrayKernel(ec, a, widen(idx))
}

func widen(idx []int32) []int {
	wide := make([]int, len(idx))
	for k, i := range idx {
		wide[k] = int(i)
	}
	return wide
}

// hasValueBuffers reports whether a (not empty) has the buffers its
// layout reads values from: an array made without them (all NULL, from
// elsewhere) goes through Arrow's kernel, which knows that case.
func hasValueBuffers(a arrow.Array) bool {
	bufs := a.Data().Buffers()
	for _, k := range []int{1, 2} {
		if k == 2 && a.DataType().ID() != arrow.STRING && a.DataType().ID() != arrow.BINARY {
			break
		}
		if len(bufs) <= k || bufs[k] == nil || bufs[k].Len() == 0 {
			return false
		}
	}
	return true
}

func isVarBinary(a arrow.Array) bool {
	id := a.DataType().ID()
	return id == arrow.STRING || id == arrow.BINARY
}

// hasOffsets reports whether a string or binary array has its offsets
// (and room for a data buffer, which may be empty).
func hasOffsets(a arrow.Array) bool {
	bufs := a.Data().Buffers()
	return len(bufs) == 3 && bufs[1] != nil && bufs[1].Len() >= (a.Data().Offset()+a.Len()+1)*4
}

// gatherIndexes returns idx as int32 indexes when gatherArray handles a's
// type itself and no index asks for a NULL (-1).
func gatherIndexes(a arrow.Array, idx []int) ([]int32, bool) {
	if !gathers(a.DataType().ID()) {
		return nil, false
	}
	narrow := make([]int32, len(idx))
	for k, i := range idx {
		if i < 0 {
			return nil, false
		}
		narrow[k] = int32(i)
	}
	return narrow, true
}

// gathers reports whether gatherArray copies arrays of type id with its
// own loops.
func gathers(id arrow.Type) bool {
	switch id {
	case arrow.INT16, arrow.UINT16, arrow.INT32, arrow.UINT32, arrow.FLOAT32, arrow.DATE32, arrow.TIME32,
		arrow.INT64, arrow.UINT64, arrow.FLOAT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION,
		arrow.DECIMAL128, arrow.INTERVAL_MONTH_DAY_NANO, arrow.BOOL, arrow.STRING, arrow.BINARY:
		return true
	}
	return false
}

// gatherValidity returns the validity bitmap of a's rows idx (nil when a
// has no NULLs) and the number of NULLs among them.
func gatherValidity(mem memory.Allocator, a arrow.Array, idx []int32) (*memory.Buffer, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(idx)))))
	bits := buf.Bytes()
	clear(bits)
	src, off := a.NullBitmapBytes(), a.Data().Offset()
	nulls := 0
	for k, i := range idx {
		if bitutil.BitIsSet(src, off+int(i)) {
			bitutil.SetBit(bits, k)
		} else {
			nulls++
		}
	}
	return buf, nulls
}

// gatherFixed gathers an array of fixed-width values, seen as T (of the
// same width).
func gatherFixed[T uint16 | uint32 | uint64 | decimal128.Num | arrow.MonthDayNanoInterval](mem memory.Allocator, a arrow.Array, idx []int32) arrow.Array {
	validity, nulls := gatherValidity(mem, a, idx)
	src := arrow.GetValues[T](a.Data(), 1)
	var zero T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(len(idx) * int(sizeOfValue(zero)))
	if len(idx) > 0 {
		dst := arrow.GetData[T](buf.Bytes())[:len(idx)]
		if longRuns(idx) {
			forRuns(idx, func(k, i, m int) { copy(dst[k:k+m], src[i:i+m]) })
		} else {
			for k, i := range idx {
				dst[k] = src[i]
			}
		}
	}
	return makeArray(a.DataType(), len(idx), validity, buf, nulls)
}

// longRuns reports whether idx is mostly runs of consecutive rows (four
// or more on average), as a filter that keeps most rows leaves it: the
// gathers then copy run by run.
func longRuns(idx []int32) bool {
	runs := 1
	for k := 1; k < len(idx); k++ {
		if idx[k] != idx[k-1]+1 {
			runs++
		}
	}
	return len(idx) >= 4*runs
}

// forRuns calls f(k, i, m) for each maximal run of idx: idx[k:k+m] are
// the rows i, i+1, …, i+m-1.
func forRuns(idx []int32, f func(k, i, m int)) {
	for k := 0; k < len(idx); {
		j := k + 1
		for j < len(idx) && idx[j] == idx[j-1]+1 {
			j++
		}
		f(k, int(idx[k]), j-k)
		k = j
	}
}

func sizeOfValue[T uint16 | uint32 | uint64 | decimal128.Num | arrow.MonthDayNanoInterval](T) uintptr {
	var v T
	switch any(v).(type) {
	case uint16:
		return 2
	case uint32:
		return 4
	case uint64:
		return 8
	}
	return 16
}

func gatherBools(mem memory.Allocator, a arrow.Array, idx []int32) arrow.Array {
	validity, nulls := gatherValidity(mem, a, idx)
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(idx)))))
	bits := buf.Bytes()
	clear(bits)
	vals := a.Data().Buffers()[1]
	if vals == nil { // all NULL
		return makeArray(a.DataType(), len(idx), validity, buf, nulls)
	}
	src, off := vals.Bytes(), a.Data().Offset()
	for k, i := range idx {
		if bitutil.BitIsSet(src, off+int(i)) {
			bitutil.SetBit(bits, k)
		}
	}
	return makeArray(a.DataType(), len(idx), validity, buf, nulls)
}

// gatherVarBinary gathers a string or binary array: the offsets first, to
// size the data buffer once, then the bytes.
func gatherVarBinary(mem memory.Allocator, a arrow.Array, idx []int32) arrow.Array {
	validity, nulls := gatherValidity(mem, a, idx)
	d := a.Data()
	offsets := arrow.GetOffsets[int32](d, 1)
	var data []byte // (nil or empty when every value is empty)
	if buf := d.Buffers()[2]; buf != nil {
		data = buf.Bytes()
	}
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize((len(idx) + 1) * 4)
	outOff := arrow.GetData[int32](offBuf.Bytes())[:len(idx)+1]
	total := int32(0)
	outOff[0] = 0
	for k, i := range idx {
		total += offsets[i+1] - offsets[i]
		outOff[k+1] = total
	}
	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(int(total))
	out := dataBuf.Bytes()
	if longRuns(idx) {
		// a run's values lie together: one copy for all their bytes
		forRuns(idx, func(k, i, m int) {
			copy(out[outOff[k]:outOff[k+m]], data[offsets[i]:offsets[i+m]])
		})
	} else {
		for k, i := range idx {
			copy(out[outOff[k]:outOff[k+1]], data[offsets[i]:offsets[i+1]])
		}
	}
	arr := array.NewData(a.DataType(), len(idx), []*memory.Buffer{validity, offBuf, dataBuf}, nil, nulls, 0)
	if validity != nil {
		validity.Release()
	}
	offBuf.Release()
	dataBuf.Release()
	defer arr.Release()
	return array.MakeFromData(arr)
}
