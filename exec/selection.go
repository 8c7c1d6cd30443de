package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/weftdb/weft/sql/sqlerr"
)

// A selection is the ascending list of the rows of a batch still in play.
// A filter starts with every row and lets each conjunct narrow it: the
// next conjunct is tested only on the rows the earlier ones kept, no
// boolean array is built per conjunct, and the batch's columns are copied
// once at the end (and only those needed above the filter).

// selecter is a boolean expression that narrows a selection itself.
type selecter interface {
	// selectRows returns the rows of sel at which the expression's value
	// is want (TRUE or FALSE; a row where it is NULL is never returned),
	// in sel's order, written to out (whose memory may be sel's own: the
	// result then replaces sel).
	selectRows(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error)
}

// SelectRows returns the rows of b at which pred is TRUE, ascending.
func SelectRows(ec *EvalContext, b arrow.Record, pred Expr) ([]int32, error) {
	sel := allRows32(int(b.NumRows()))
	return selectWhere(ec, b, pred, sel, true, sel[:0])
}

func allRows32(n int) []int32 {
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(i)
	}
	return rows
}

// selectWhere is e.selectRows, for any boolean expression: one that is
// not a selecter is evaluated and its result read (see selectByEval).
func selectWhere(ec *EvalContext, b arrow.Record, e Expr, sel []int32, want bool, out []int32) ([]int32, error) {
	if cap(out) < len(sel) {
		out = make([]int32, 0, len(sel))
	}
	if len(sel) == 0 {
		return out[:0], nil
	}
	if s, ok := e.(selecter); ok {
		return s.selectRows(ec, b, sel, want, out)
	}
	return selectByEval(ec, b, e, sel, want, out)
}

// denseSelection reports whether sel covers enough of a batch of n rows
// that evaluating on the whole batch is cheaper than copying the rows out.
func denseSelection(sel []int32, n int) bool {
	return len(sel)*4 >= n
}

// selectByEval evaluates e as an array and keeps the rows of sel where it
// is want. On a dense selection e runs over the whole batch; should that
// fail (x <> 0 AND y / x > 1 dividing by a zero the earlier conjunct
// excluded), it runs again on the selected rows only, so that it fails
// only where PostgreSQL's evaluation would.
func selectByEval(ec *EvalContext, b arrow.Record, e Expr, sel []int32, want bool, out []int32) ([]int32, error) {
	a, at, err := evalOnSelection(ec, b, e, sel)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return pickRows(a, at, sel, want, out)
}

// evalOnSelection evaluates e for the rows sel of b: over the whole batch
// when sel is dense (at then gives each row's position in the result:
// the row itself), else over those rows copied out (at nil: the k-th
// value is sel[k]'s). A whole-batch evaluation that fails is tried again
// on the rows alone, as in selectByEval.
func evalOnSelection(ec *EvalContext, b arrow.Record, e Expr, sel []int32) (arrow.Array, []int32, error) {
	n := int(b.NumRows())
	if col, ok := plainColumn(e); ok {
		a := b.Column(col)
		a.Retain()
		return a, sel, nil
	}
	if denseSelection(sel, n) {
		a, err := e.Eval(ec, b)
		if err == nil {
			return a, sel, nil
		}
		if len(sel) == n || ec.Canceled() != nil {
			return nil, nil, err
		}
	}
	sub, err := gatherForExpr(ec, b, e, sel)
	if err != nil {
		return nil, nil, err
	}
	defer sub.Release()
	a, err := e.Eval(ec, sub)
	return a, nil, err
}

// pickRows keeps the rows of sel at which the boolean array a is want.
// at gives the position in a of each row of sel (nil: a holds the rows of
// sel in order, a[k] for sel[k]).
func pickRows(a arrow.Array, at, sel []int32, want bool, out []int32) ([]int32, error) {
	if a.DataType().ID() != arrow.BOOL {
		if a.NullN() == a.Len() { // an untyped NULL
			return out[:0], nil
		}
		return nil, sqlerr.New(sqlerr.Internal, "a condition evaluated to %s, not boolean", a.DataType())
	}
	d := a.Data()
	if d.Buffers()[1] == nil { // no values: every row NULL
		return out[:0], nil
	}
	bits, off := d.Buffers()[1].Bytes(), d.Offset()
	var valid []byte
	if a.NullN() > 0 {
		valid = a.NullBitmapBytes()
	}
	out = out[:len(sel)]
	k := 0
	for j, row := range sel {
		pos := j
		if at != nil {
			pos = int(at[j])
		}
		out[k] = row
		if bitutil.BitIsSet(bits, off+pos) == want && (valid == nil || bitutil.BitIsSet(valid, off+pos)) {
			k++
		}
	}
	return out[:k], nil
}

// gatherForExpr copies the rows sel of the columns e reads into a record
// of b's schema; the other columns become NULL-typed placeholders, which
// cost nothing to make. When e's columns are unknown (an expression kind
// this file does not walk), every column is copied.
func gatherForExpr(ec *EvalContext, b arrow.Record, e Expr, sel []int32) (arrow.Record, error) {
	used := make([]bool, b.NumCols())
	if !columnsRead(e, used) {
		all := make([]int, b.NumCols())
		for i := range all {
			all[i] = i
		}
		return gatherRecord(ec, b, sel, all, b.Schema())
	}
	fields := make([]arrow.Field, b.NumCols())
	cols := make([]arrow.Array, b.NumCols())
	defer releaseAll(cols)
	for c := range cols {
		f := b.Schema().Field(c)
		if !used[c] {
			fields[c] = arrow.Field{Name: f.Name, Type: arrow.Null, Nullable: true}
			cols[c] = array.NewNull(len(sel))
			continue
		}
		fields[c] = f
		a, err := gatherArray(ec, b.Column(c), sel)
		if err != nil {
			return nil, err
		}
		cols[c] = a
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(sel))), nil
}

// columnsRead marks the batch columns e reads in used; false when e
// contains an expression whose columns it cannot tell.
func columnsRead(e Expr, used []bool) bool {
	switch x := e.(type) {
	case *ColumnExpr:
		used[x.Index] = true
		return true
	case *ConstExpr, *ParamExpr:
		return true
	case *CallExpr:
		return allColumnsRead(x.Args, used)
	case *CompareExpr:
		return columnsRead(x.Left, used) && columnsRead(x.Right, used)
	case *InSet:
		return columnsRead(x.Arg, used)
	case *CastExpr:
		return columnsRead(x.Arg, used)
	case *BoolOp:
		return allColumnsRead(x.Args, used)
	case *NotExpr:
		return columnsRead(x.Arg, used)
	case *NullTest:
		return columnsRead(x.Arg, used)
	case *CoalesceExpr:
		return allColumnsRead(x.Args, used)
	case *CaseExpr:
		if x.Else != nil && !columnsRead(x.Else, used) {
			return false
		}
		return allColumnsRead(x.Whens, used) && allColumnsRead(x.Thens, used)
	}
	return false
}

func allColumnsRead(es []Expr, used []bool) bool {
	for _, e := range es {
		if !columnsRead(e, used) {
			return false
		}
	}
	return true
}

// selectRows narrows sel by AND or OR. AND asked for TRUE (and OR for
// FALSE) keeps the rows every argument gives want, testing each argument
// only on the rows the earlier ones kept. The other two ask for the rows
// where some argument gives want: each argument is tested on the rows not
// yet found.
func (e *BoolOp) selectRows(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error) {
	if e.And == want {
		return e.selectEvery(ec, b, sel, want, out)
	}
	return e.selectAny(ec, b, sel, want, out)
}

func (e *BoolOp) selectEvery(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error) {
	cur := sel
	for k, arg := range e.Args {
		if err := checkCanceledEvery(ec, k); err != nil {
			return nil, err
		}
		dst := out
		if k > 0 {
			dst = cur[:0]
		}
		var err error
		if cur, err = selectWhere(ec, b, arg, cur, want, dst); err != nil {
			return nil, err
		}
		if len(cur) == 0 {
			break
		}
	}
	return cur, nil
}

func (e *BoolOp) selectAny(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error) {
	found := make([]bool, b.NumRows())
	rest := append([]int32(nil), sel...)
	var hits []int32
	for k, arg := range e.Args {
		if len(rest) == 0 {
			break
		}
		if err := checkCanceledEvery(ec, k); err != nil {
			return nil, err
		}
		var err error
		if hits, err = selectWhere(ec, b, arg, rest, want, hits[:0]); err != nil {
			return nil, err
		}
		for _, r := range hits {
			found[r] = true
		}
		rest = dropFound(rest, found)
	}
	out = out[:0]
	for _, r := range sel {
		if found[r] {
			out = append(out, r)
		}
	}
	return out, nil
}

// dropFound removes the rows marked found from rows, in place.
func dropFound(rows []int32, found []bool) []int32 {
	k := 0
	for _, r := range rows {
		rows[k] = r
		if !found[r] {
			k++
		}
	}
	return rows[:k]
}

// checkCanceledEvery looks at cancellation every 64 arguments: an IN
// list of a million values is a million arguments.
func checkCanceledEvery(ec *EvalContext, k int) error {
	if k%64 == 63 {
		return ec.Canceled()
	}
	return nil
}

// selectRows of NOT x is the rows where x is the opposite (NULL stays
// out of both).
func (e *NotExpr) selectRows(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error) {
	return selectWhere(ec, b, e.Arg, sel, !want, out)
}
