package exec

import (
	"bytes"
	"cmp"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/weftdb/weft/sql/types"
)

// CompareExpr is a comparison whose operator and compared type are known,
// so that a filter tests a column against a constant (or another column)
// with a typed loop over its selection. As a value it is Call, the
// comparison kernel of old.
type CompareExpr struct {
	Op          CmpOp
	Left, Right Expr
	Call        *CallExpr
}

func (e *CompareExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	return e.Call.Eval(ec, b)
}
func (e *CompareExpr) Type() types.T  { return types.BoolT }
func (e *CompareExpr) String() string { return e.Call.String() }

// NewCompareExpr wraps a compiled comparison call (op, two arguments of
// one type). It returns nil when the arguments' type has no typed loop
// here; the call then stays as it is.
func NewCompareExpr(op CmpOp, call *CallExpr) *CompareExpr {
	if len(call.Args) != 2 || op.flip() == "" {
		return nil
	}
	lt, rt := call.Args[0].Type(), call.Args[1].Type()
	if lt.Kind != rt.Kind || !selectsByType(lt) {
		return nil
	}
	return &CompareExpr{Op: op, Left: call.Args[0], Right: call.Args[1], Call: call}
}

// selectsByType reports whether comparisons of type t have typed loops.
func selectsByType(t types.T) bool {
	if t.IsRecord() {
		return false // records compare field by field (RecordCompareKernel)
	}
	switch t.Kind {
	case types.Int2, types.Int4, types.Int8, types.Date, types.Timestamp, types.TimestampTZ, types.Time,
		types.Numeric, types.Text, types.Varchar, types.Char:
		return true
	}
	return false
}

// flip is the operator with its operands swapped (a < b is b > a).
func (op CmpOp) flip() CmpOp {
	switch op {
	case "<":
		return ">"
	case "<=":
		return ">="
	case ">":
		return "<"
	case ">=":
		return "<="
	case "=", "<>":
		return op
	}
	return ""
}

// negate is the operator true exactly where op is false (on non-NULLs).
func (op CmpOp) negate() CmpOp {
	switch op {
	case "<":
		return ">="
	case "<=":
		return ">"
	case ">":
		return "<="
	case ">=":
		return "<"
	case "=":
		return "<>"
	}
	return "="
}

// plainColumn returns the batch column e reads when e is a column or a
// cast that hands the column's array on unchanged.
func plainColumn(e Expr) (int, bool) {
	switch x := e.(type) {
	case *ColumnExpr:
		return x.Index, true
	case *CastExpr:
		if castKeepsArray(x.Arg.Type(), x.To) {
			return plainColumn(x.Arg)
		}
	}
	return 0, false
}

func (e *CompareExpr) selectRows(ec *EvalContext, b arrow.Record, sel []int32, want bool, out []int32) ([]int32, error) {
	op := e.Op
	if !want {
		op = op.negate()
	}
	lc, lok := plainColumn(e.Left)
	rc, rok := plainColumn(e.Right)
	lk, lconst := e.Left.(*ConstExpr)
	rk, rconst := e.Right.(*ConstExpr)
	var res []int32
	var done bool
	switch {
	case lok && rconst:
		res, done = selectColumnConst(b.Column(lc), op, rk, e.Left.Type(), sel, out)
	case lconst && rok:
		res, done = selectColumnConst(b.Column(rc), op.flip(), lk, e.Left.Type(), sel, out)
	case lok && rok:
		res, done = selectColumns(b.Column(lc), b.Column(rc), op, e.Left.Type(), sel, out)
	case rconst && rk.Value != nil:
		return selectComputedConst(ec, b, e, e.Left, op, rk, sel, want, out)
	case lconst && lk.Value != nil:
		return selectComputedConst(ec, b, e, e.Right, op.flip(), lk, sel, want, out)
	}
	if done {
		return res, nil
	}
	return selectByEval(ec, b, e, sel, want, out)
}

// selectComputedConst is x op k for an expression x (v % 3 = 0): x is
// evaluated for the rows of sel and its values compared with k by the
// typed loops, without a boolean array in between. A type they do not
// cover goes through selectByEval.
func selectComputedConst(ec *EvalContext, b arrow.Record, e *CompareExpr, x Expr, op CmpOp, k *ConstExpr, sel []int32, want bool, out []int32) ([]int32, error) {
	a, at, err := evalOnSelection(ec, b, x, sel)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	if at != nil {
		// a covers the whole batch: sel's rows are its positions
		if res, done := selectColumnConst(a, op, k, x.Type(), sel, out); done {
			return res, nil
		}
		return selectByEval(ec, b, e, sel, want, out)
	}
	// a holds sel's rows in order: select positions, then map them back
	pos := allRows32(len(sel))
	res, done := selectColumnConst(a, op, k, x.Type(), pos, pos[:0])
	if !done {
		return selectByEval(ec, b, e, sel, want, out)
	}
	out = out[:len(res)]
	for i, p := range res {
		out[i] = sel[p] // p >= i: out may share sel's memory
	}
	return out, nil
}

// selectColumnConst keeps the rows of sel where col op k holds; done is
// false when there is no typed loop for the pair.
func selectColumnConst(col arrow.Array, op CmpOp, k *ConstExpr, t types.T, sel, out []int32) ([]int32, bool) {
	if k.Value == nil { // a comparison with NULL is NULL on every row
		return out[:0], true
	}
	var res []int32
	switch v := k.Value.(type) {
	case int64:
		switch col.DataType().ID() {
		case arrow.INT16:
			res = selectOrdered(values[int16](col), int16(v), op, sel, out)
		case arrow.INT32:
			res = selectOrdered(values[int32](col), int32(v), op, sel, out)
		case arrow.INT64, arrow.TIMESTAMP, arrow.TIME64:
			res = selectOrdered(values[int64](col), v, op, sel, out)
		default:
			return nil, false
		}
	case int32:
		if col.DataType().ID() != arrow.DATE32 {
			return nil, false
		}
		res = selectOrdered(values[int32](col), v, op, sel, out)
	case decimal128.Num:
		var ok bool
		if res, ok = selectDecimalConst(col, v, decimalScaleOf(k.T), op, sel, out); !ok {
			return nil, false
		}
	case string:
		if col.DataType().ID() != arrow.STRING {
			return nil, false
		}
		if t.Kind == types.Char {
			v = trimBlanks(v)
		}
		res = selectTextConst(col, []byte(v), t.Kind == types.Char, op, sel, out)
	default:
		return nil, false
	}
	return dropNullRows(col, res), true
}

// decimalScaleOf is the scale a numeric type's values are stored at.
func decimalScaleOf(t types.T) int32 {
	return t.Arrow().(*arrow.Decimal128Type).Scale
}

// selectDecimalConst compares a numeric column with a constant at scale
// ks, brought to the column's scale; a constant with more digits than the
// column has is not handled here (ok false).
func selectDecimalConst(col arrow.Array, k decimal128.Num, ks int32, op CmpOp, sel, out []int32) ([]int32, bool) {
	dt, isDec := col.DataType().(*arrow.Decimal128Type)
	if !isDec || ks > dt.Scale {
		return nil, false
	}
	k, ok := rescale(k, ks, dt.Scale)
	if !ok {
		return nil, false
	}
	return selectDecimals(decimalValues(col), k, op, sel, out), true
}

// selectColumns keeps the rows of sel where a op b holds, for two
// columns of one type; done is false when there is no typed loop.
func selectColumns(a, b arrow.Array, op CmpOp, t types.T, sel, out []int32) ([]int32, bool) {
	if !arrow.TypeEqual(a.DataType(), b.DataType()) {
		return nil, false
	}
	var res []int32
	switch a.DataType().ID() {
	case arrow.INT16:
		res = selectPairs(values[int16](a), values[int16](b), op, sel, out)
	case arrow.INT32, arrow.DATE32:
		res = selectPairs(values[int32](a), values[int32](b), op, sel, out)
	case arrow.INT64, arrow.TIMESTAMP, arrow.TIME64:
		res = selectPairs(values[int64](a), values[int64](b), op, sel, out)
	default:
		return nil, false
	}
	return dropNullRows(b, dropNullRows(a, res)), true
}

// dropNullRows removes the rows where col is NULL, in place.
func dropNullRows(col arrow.Array, rows []int32) []int32 {
	if col.NullN() == 0 {
		return rows
	}
	valid, off := col.NullBitmapBytes(), col.Data().Offset()
	k := 0
	for _, r := range rows {
		rows[k] = r
		if bitutil.BitIsSet(valid, off+int(r)) {
			k++
		}
	}
	return rows[:k]
}

// selectOrdered keeps the rows i of sel with vals[i] op c. Each operator
// has its own loop, the test compiled in: the row is written always and
// the count moves only on a match, with no branch to mispredict.
func selectOrdered[T cmp.Ordered](vals []T, c T, op CmpOp, sel, out []int32) []int32 {
	out = out[:len(sel)]
	k := 0
	switch op {
	case "=":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] == c)
		}
	case "<>":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] != c)
		}
	case "<":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] < c)
		}
	case "<=":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] <= c)
		}
	case ">":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] > c)
		}
	default:
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] >= c)
		}
	}
	return out[:k]
}

// selectPairs keeps the rows i of sel with a[i] op b[i].
func selectPairs[T cmp.Ordered](a, b []T, op CmpOp, sel, out []int32) []int32 {
	out = out[:len(sel)]
	k := 0
	switch op {
	case "=":
		for _, i := range sel {
			out[k] = i
			k += b2i(a[i] == b[i])
		}
	case "<>":
		for _, i := range sel {
			out[k] = i
			k += b2i(a[i] != b[i])
		}
	case "<":
		for _, i := range sel {
			out[k] = i
			k += b2i(a[i] < b[i])
		}
	case "<=":
		for _, i := range sel {
			out[k] = i
			k += b2i(a[i] <= b[i])
		}
	case ">":
		for _, i := range sel {
			out[k] = i
			k += b2i(a[i] > b[i])
		}
	default:
		for _, i := range sel {
			out[k] = i
			k += b2i(a[i] >= b[i])
		}
	}
	return out[:k]
}

// selectDecimals keeps the rows i of sel with vals[i] op c, the values
// and c at one scale (128-bit integers: high words signed, then low words
// unsigned).
func selectDecimals(vals []decimal128.Num, c decimal128.Num, op CmpOp, sel, out []int32) []int32 {
	out = out[:len(sel)]
	k := 0
	ch, cl := c.HighBits(), c.LowBits()
	switch op {
	case "=":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] == c)
		}
	case "<>":
		for _, i := range sel {
			out[k] = i
			k += b2i(vals[i] != c)
		}
	case "<":
		for _, i := range sel {
			h := vals[i].HighBits()
			out[k] = i
			k += b2i(h < ch || h == ch && vals[i].LowBits() < cl)
		}
	case "<=":
		for _, i := range sel {
			h := vals[i].HighBits()
			out[k] = i
			k += b2i(h < ch || h == ch && vals[i].LowBits() <= cl)
		}
	case ">":
		for _, i := range sel {
			h := vals[i].HighBits()
			out[k] = i
			k += b2i(h > ch || h == ch && vals[i].LowBits() > cl)
		}
	default:
		for _, i := range sel {
			h := vals[i].HighBits()
			out[k] = i
			k += b2i(h > ch || h == ch && vals[i].LowBits() >= cl)
		}
	}
	return out[:k]
}

// selectTextConst compares a string column's bytes in place with c;
// padded (char(n)) values drop their trailing blanks first.
func selectTextConst(col arrow.Array, c []byte, padded bool, op CmpOp, sel, out []int32) []int32 {
	d := col.Data()
	offsets := arrow.GetOffsets[int32](d, 1)
	var data []byte
	if buf := d.Buffers()[2]; buf != nil {
		data = buf.Bytes()
	}
	out = out[:len(sel)]
	k := 0
	if op == "=" || op == "<>" {
		equal := op == "="
		for _, i := range sel {
			s := data[offsets[i]:offsets[i+1]]
			out[k] = i
			k += b2i(textEquals(s, c, padded) == equal)
		}
		return out[:k]
	}
	for _, i := range sel {
		s := data[offsets[i]:offsets[i+1]]
		if padded {
			s = trimBlankBytes(s)
		}
		out[k] = i
		k += b2i(op.holds(bytes.Compare(s, c)))
	}
	return out[:k]
}

// textEquals reports whether s equals c (already without trailing
// blanks when padded); a padded s may have blanks after c's bytes. It
// looks at s's first bytes before any blank, so that a char(25) value
// mostly of padding is rejected on its first differing byte.
func textEquals(s, c []byte, padded bool) bool {
	if !padded {
		return bytes.Equal(s, c)
	}
	if len(s) < len(c) || !bytes.Equal(s[:len(c)], c) {
		return false
	}
	for _, ch := range s[len(c):] {
		if ch != ' ' {
			return false
		}
	}
	return true
}

func trimBlankBytes(s []byte) []byte {
	i := len(s)
	for i > 0 && s[i-1] == ' ' {
		i--
	}
	return s[:i]
}

// b2i is 1 for true: the compiler turns it into a flag move, not a jump.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
