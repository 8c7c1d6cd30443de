package exec

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/sql/types"
)

// CaseExpr is CASE WHEN … THEN … ELSE … END. Each THEN is evaluated only on
// the rows that reach it, so a guarded division never fails.
type CaseExpr struct {
	Whens, Thens []Expr
	Else         Expr // nil means NULL
	T            types.T
	// RowsOnly: a branch calls a volatile function or a subquery, so it
	// runs on exactly the rows that reach it (a cheap branch may otherwise
	// run on the whole batch and keep the rows it is for)
	RowsOnly bool
}

func (e *CaseExpr) Type() types.T { return e.T }
func (e *CaseExpr) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for i := range e.Whens {
		sb.WriteString(" WHEN " + e.Whens[i].String() + " THEN " + e.Thens[i].String())
	}
	if e.Else != nil {
		sb.WriteString(" ELSE " + e.Else.String())
	}
	sb.WriteString(" END")
	return sb.String()
}

func (e *CaseExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	n := int(b.NumRows())
	res := newScatterResult(ec, e.T, n)
	defer res.release()
	remaining := allRows32(n)
	for i, when := range e.Whens {
		if len(remaining) == 0 {
			break
		}
		hit, err := selectWhere(ec, b, when, remaining, true, nil)
		if err != nil {
			return nil, err
		}
		if err := res.evalOn(ec, b, hit, e.Thens[i], e.RowsOnly); err != nil {
			return nil, err
		}
		remaining = withoutRows(remaining, hit)
	}
	if e.Else != nil {
		if err := res.evalOn(ec, b, remaining, e.Else, e.RowsOnly); err != nil {
			return nil, err
		}
	}
	return res.build(), nil
}

// withoutRows is sel less the rows of drop (both ascending, drop a subset
// of sel), written over sel.
func withoutRows(sel, drop []int32) []int32 {
	out, k := sel[:0], 0
	for _, row := range sel {
		if k < len(drop) && drop[k] == row {
			k++
			continue
		}
		out = append(out, row)
	}
	return out
}

// CoalesceExpr returns its first non-NULL argument, evaluating later
// arguments only for rows still NULL.
type CoalesceExpr struct {
	Args []Expr
	T    types.T
	// RowsOnly as for CaseExpr
	RowsOnly bool
}

func (e *CoalesceExpr) Type() types.T { return e.T }
func (e *CoalesceExpr) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	return "COALESCE(" + strings.Join(parts, ", ") + ")"
}

func (e *CoalesceExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	n := int(b.NumRows())
	res := newScatterResult(ec, e.T, n)
	defer res.release()
	remaining := allRows32(n)
	for _, arg := range e.Args {
		if len(remaining) == 0 {
			break
		}
		if err := res.evalOn(ec, b, remaining, arg, e.RowsOnly); err != nil {
			return nil, err
		}
		still := remaining[:0]
		for _, row := range remaining {
			if !res.set[row] {
				still = append(still, row)
			}
		}
		remaining = still
	}
	return res.build(), nil
}

// scatterResult collects a CASE's or COALESCE's values, computed on
// subsets of a batch, into place row by row. Values of a fixed-width
// layout are copied as bytes into the result's buffer (no boxing);
// booleans are kept as bools, other layouts as datums.
type scatterResult struct {
	ec     *EvalContext
	t      types.T
	dt     arrow.DataType
	n      int
	set    []bool // the row has a non-NULL value
	width  int    // bytes per value in fixed mode, else 0
	buf    *memory.Buffer
	vals   []byte
	bools  []bool        // boolean mode
	datums []types.Datum // datum mode
}

func newScatterResult(ec *EvalContext, t types.T, n int) *scatterResult {
	r := &scatterResult{ec: ec, t: t, dt: t.Arrow(), n: n, set: make([]bool, n)}
	switch w := fixedWidthBytes(r.dt); {
	case r.dt.ID() == arrow.BOOL:
		r.bools = make([]bool, n)
	case w > 0:
		r.width = w
		r.buf = memory.NewResizableBuffer(ec.valueMem())
		r.buf.Resize(n * w)
		r.vals = r.buf.Bytes()
		clear(r.vals)
	default:
		r.datums = make([]types.Datum, n)
	}
	return r
}

// fixedWidthBytes is the byte width of a layout made of a validity bitmap
// and one buffer of equal-sized values (0 for any other layout).
func fixedWidthBytes(dt arrow.DataType) int {
	fw, ok := dt.(arrow.FixedWidthDataType)
	if !ok || dt.ID() == arrow.BOOL || dt.ID() == arrow.DICTIONARY || fw.BitWidth()%8 != 0 || fw.BitWidth() == 0 {
		return 0
	}
	if len(dt.Layout().Buffers) != 2 {
		return 0
	}
	return fw.BitWidth() / 8
}

func (r *scatterResult) release() {
	if r.buf != nil {
		r.buf.Release()
		r.buf = nil
	}
}

// evalOn evaluates x for the rows rows of b and stores the values; rowsOnly
// keeps x from running on rows outside rows.
func (r *scatterResult) evalOn(ec *EvalContext, b arrow.Record, rows []int32, x Expr, rowsOnly bool) error {
	if len(rows) == 0 {
		return nil
	}
	var a arrow.Array
	var at []int32
	var err error
	if rowsOnly && len(rows) < int(b.NumRows()) {
		var sub arrow.Record
		if sub, err = gatherForExpr(ec, b, x, rows); err != nil {
			return err
		}
		a, err = x.Eval(ec, sub)
		sub.Release()
	} else {
		a, at, err = evalOnSelection(ec, b, x, rows)
	}
	if err != nil {
		return err
	}
	defer a.Release()
	r.store(a, at, rows)
	return nil
}

// store keeps a's values for rows: rows[k]'s value is a[at[k]] (a[k]
// when at is nil).
func (r *scatterResult) store(a arrow.Array, at, rows []int32) {
	if a.NullN() == a.Len() {
		return
	}
	if r.width > 0 && !arrow.TypeEqual(a.DataType(), r.dt) {
		r.toDatums()
	}
	pos := func(k int) int {
		if at != nil {
			return int(at[k])
		}
		return k
	}
	switch {
	case r.width == 8:
		storeFixed[uint64](r, a, at, rows)
	case r.width == 4:
		storeFixed[uint32](r, a, at, rows)
	case r.width == 16:
		storeFixed[decimal128.Num](r, a, at, rows)
	case r.width > 0:
		w, off := r.width, a.Data().Offset()
		src := a.Data().Buffers()[1].Bytes()
		for k, row := range rows {
			p := pos(k)
			if a.IsValid(p) {
				copy(r.vals[int(row)*w:int(row+1)*w], src[(off+p)*w:(off+p+1)*w])
				r.set[row] = true
			}
		}
	case r.bools != nil:
		bc, isBool := a.(*array.Boolean)
		for k, row := range rows {
			p := pos(k)
			if a.IsValid(p) {
				if isBool {
					r.bools[row] = bc.Value(p)
				} else {
					r.bools[row], _ = DatumAt(a, p).(bool)
				}
				r.set[row] = true
			}
		}
	default:
		for k, row := range rows {
			if v := DatumAt(a, pos(k)); v != nil {
				r.datums[row], r.set[row] = v, true
			}
		}
	}
}

// storeFixed is store for values of T's width, copied as T: a CASE over
// integers, floats or numerics moves one value a row, not a byte slice.
func storeFixed[T uint32 | uint64 | decimal128.Num](r *scatterResult, a arrow.Array, at, rows []int32) {
	src := arrow.GetValues[T](a.Data(), 1)
	dst := arrow.GetData[T](r.vals)[:r.n]
	set := r.set
	hasNulls := a.NullN() > 0
	for k, row := range rows {
		p := k
		if at != nil {
			p = int(at[k])
		}
		if hasNulls && a.IsNull(p) {
			continue
		}
		dst[row] = src[p]
		set[row] = true
	}
}

// toDatums leaves fixed mode for datum mode, for a branch whose values
// come in another layout than the result's (rare: the binder casts the
// branches to the result type).
func (r *scatterResult) toDatums() {
	fixed := r.build()
	defer fixed.Release()
	r.datums = make([]types.Datum, r.n)
	for i := range r.datums {
		r.datums[i] = DatumAt(fixed, i)
	}
	r.width, r.vals = 0, nil
}

// build makes the result array; the scatterResult gives up its buffer.
func (r *scatterResult) build() arrow.Array {
	validity, nulls := r.validity()
	switch {
	case r.width > 0:
		buf := r.buf
		r.buf = nil
		return makeArray(r.dt, r.n, validity, buf, nulls)
	case r.bools != nil:
		bits := memory.NewResizableBuffer(r.ec.Mem)
		bits.Resize(int(bitutil.BytesForBits(int64(r.n))))
		bb := bits.Bytes()
		clear(bb)
		for i, v := range r.bools {
			if v {
				bitutil.SetBit(bb, i)
			}
		}
		return makeArray(r.dt, r.n, validity, bits, nulls)
	}
	if validity != nil {
		validity.Release()
	}
	return datumsArray(r.ec, r.t, r.datums)
}

// datumsArray builds an array of type t from boxed values.
func datumsArray(ec *EvalContext, t types.T, vals []types.Datum) arrow.Array {
	bld := newBuilder(ec, t)
	defer bld.Release()
	bld.Reserve(len(vals))
	for _, v := range vals {
		AppendDatum(bld, v)
	}
	return bld.NewArray()
}

// validity is the bitmap of the rows that have a value (nil when all
// have).
func (r *scatterResult) validity() (*memory.Buffer, int) {
	nulls := 0
	for _, ok := range r.set {
		if !ok {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	v := memory.NewResizableBuffer(r.ec.Mem)
	v.Resize(int(bitutil.BytesForBits(int64(r.n))))
	bits := v.Bytes()
	clear(bits)
	for i, ok := range r.set {
		if ok {
			bitutil.SetBit(bits, i)
		}
	}
	return v, nulls
}

// evalRows evaluates x on the rows rows of b only, copying out just the
// columns x reads (the caller releases the result).
func evalRows(ec *EvalContext, b arrow.Record, rows []int, x Expr) (arrow.Array, error) {
	if len(rows) == int(b.NumRows()) {
		return x.Eval(ec, b)
	}
	sel := make([]int32, len(rows))
	for i, r := range rows {
		sel[i] = int32(r)
	}
	sub, err := gatherForExpr(ec, b, x, sel)
	if err != nil {
		return nil, err
	}
	defer sub.Release()
	return x.Eval(ec, sub)
}

// DatumsArray builds an array of type t from boxed values (a function
// computed row by row, as a PL/pgSQL one, hands its results back so).
func DatumsArray(ec *EvalContext, t types.T, vals []types.Datum) arrow.Array {
	return datumsArray(ec, t, vals)
}
