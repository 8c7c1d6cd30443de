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

// lazyResult collects per-row results computed on subsets of a batch.
type lazyResult struct {
	vals []types.Datum
	// numeric results stay unboxed: decs[row], present where set[row]
	decs []decimal128.Num
	set  []bool
}

func newLazyResult(t types.T, n int) *lazyResult {
	if t.Kind == types.Numeric {
		return &lazyResult{decs: make([]decimal128.Num, n), set: make([]bool, n)}
	}
	return &lazyResult{vals: make([]types.Datum, n)}
}

// isNull reports whether row has no value (yet).
func (r *lazyResult) isNull(row int) bool {
	if r.decs != nil {
		return !r.set[row]
	}
	return r.vals[row] == nil
}

// evalOn evaluates x on the rows rows of b and stores the values.
func (r *lazyResult) evalOn(ec *EvalContext, b arrow.Record, rows []int, x Expr) error {
	if len(rows) == 0 {
		return nil
	}
	a, err := evalRows(ec, b, rows, x)
	if err != nil {
		return err
	}
	defer a.Release()
	if r.decs != nil {
		r.storeDecimals(a, rows)
		return nil
	}
	for k, row := range rows {
		r.vals[row] = DatumAt(a, k)
	}
	return nil
}

// storeDecimals keeps a's numeric values for rows, NULLs left unset.
func (r *lazyResult) storeDecimals(a arrow.Array, rows []int) {
	src, ok := a.(*array.Decimal128)
	if !ok { // (an all-NULL array of another layout)
		for k, row := range rows {
			if v, isNum := DatumAt(a, k).(decimal128.Num); isNum {
				r.decs[row], r.set[row] = v, true
			}
		}
		return
	}
	vals := src.Values()
	for k, row := range rows {
		if src.IsValid(k) {
			r.decs[row], r.set[row] = vals[k], true
		}
	}
}

// evalRows evaluates x on the rows rows of b only (the caller releases
// the result).
func evalRows(ec *EvalContext, b arrow.Record, rows []int, x Expr) (arrow.Array, error) {
	sub, err := subset(ec, b, rows)
	if err != nil {
		return nil, err
	}
	defer sub.Release()
	return x.Eval(ec, sub)
}

func subset(ec *EvalContext, b arrow.Record, rows []int) (arrow.Record, error) {
	if len(rows) == int(b.NumRows()) {
		b.Retain()
		return b, nil
	}
	return takeRecord(ec, b, rows)
}

func (r *lazyResult) build(ec *EvalContext, t types.T) arrow.Array {
	if r.decs != nil {
		return r.buildDecimals(ec, t)
	}
	bld := newBuilder(ec, t)
	defer bld.Release()
	bld.Reserve(len(r.vals))
	for _, v := range r.vals {
		AppendDatum(bld, v)
	}
	return bld.NewArray()
}

func (r *lazyResult) buildDecimals(ec *EvalContext, t types.T) arrow.Array {
	n := len(r.decs)
	buf, out := allocDecimals(ec.Mem, n)
	copy(out, r.decs)
	nulls := 0
	for _, ok := range r.set {
		if !ok {
			nulls++
		}
	}
	var validity *memory.Buffer
	if nulls > 0 {
		validity = memory.NewResizableBuffer(ec.Mem)
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := validity.Bytes()
		for i := range bits {
			bits[i] = 0
		}
		for i, ok := range r.set {
			if ok {
				bitutil.SetBit(bits, i)
			}
		}
	}
	return makeArray(t.Arrow(), n, validity, buf, nulls)
}

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}

func (e *CaseExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	n := int(b.NumRows())
	res := newLazyResult(e.T, n)
	remaining := allRows(n)
	for i, when := range e.Whens {
		if len(remaining) == 0 {
			break
		}
		sub, err := subset(ec, b, remaining)
		if err != nil {
			return nil, err
		}
		cond, err := when.Eval(ec, sub)
		sub.Release()
		if err != nil {
			return nil, err
		}
		bc := cond.(*array.Boolean)
		var hit, miss []int
		for k, row := range remaining {
			if bc.IsValid(k) && bc.Value(k) {
				hit = append(hit, row)
			} else {
				miss = append(miss, row)
			}
		}
		cond.Release()
		if err := res.evalOn(ec, b, hit, e.Thens[i]); err != nil {
			return nil, err
		}
		remaining = miss
	}
	if e.Else != nil {
		if err := res.evalOn(ec, b, remaining, e.Else); err != nil {
			return nil, err
		}
	}
	return res.build(ec, e.T), nil
}

// CoalesceExpr returns its first non-NULL argument, evaluating later
// arguments only for rows still NULL.
type CoalesceExpr struct {
	Args []Expr
	T    types.T
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
	res := newLazyResult(e.T, n)
	remaining := allRows(n)
	for _, arg := range e.Args {
		if len(remaining) == 0 {
			break
		}
		if err := res.evalOn(ec, b, remaining, arg); err != nil {
			return nil, err
		}
		var still []int
		for _, row := range remaining {
			if res.isNull(row) {
				still = append(still, row)
			}
		}
		remaining = still
	}
	return res.build(ec, e.T), nil
}
