package binder

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

func opNotExist(op string, l, r types.T) *sqlerr.Error {
	if l.Kind == types.Unknown && op != "-" {
		return sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: %s %s", op, r).
			WithHint("No operator matches the given name and argument type. You might need to add an explicit type cast.")
	}
	return sqlerr.New(sqlerr.UndefinedFunction, "operator does not exist: %s %s %s", l, op, r).
		WithHint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

func (b *Binder) unaryOp(op string, r logical.Expr, loc int32) (logical.Expr, error) {
	switch op {
	case "+":
		return r, nil
	case "-":
		t := r.Type()
		if t.Kind == types.Unknown {
			t = types.NumericT(0, types.DefaultNumericScale)
		}
		if c, ok := r.(*logical.Const); ok && c.Value != nil && t.Kind == types.Int8 {
			// keep -9223372036854775808 representable
			if v := c.Value.(int64); v != 0 {
				return &logical.Const{Value: -v, T: t}, nil
			}
		}
		if t.IsFloat() {
			// a product by -1 flips the sign of every float, 0 included
			// (0 - 0 would be +0 where PostgreSQL's float8um gives -0)
			return b.binaryOp("*", r, &logical.Const{Value: float64(-1), T: t}, loc)
		}
		zero, err := exec.CastDatum(int64(0), types.Int8T, t, true)
		if err != nil || t.Kind == types.Interval {
			if t.Kind == types.Interval {
				return b.binaryOp("*", r, &logical.Const{Value: float64(-1), T: types.Float8T}, loc)
			}
			return nil, opNotExist("-", types.UnknownT, r.Type()).At(loc)
		}
		return b.binaryOp("-", &logical.Const{Value: zero, T: t}, r, loc)
	case "|/":
		return b.callAt("sqrt", []logical.Expr{r}, loc)
	case "||/":
		return b.callAt("cbrt", []logical.Expr{r}, loc)
	case "@":
		return b.callAt("abs", []logical.Expr{r}, loc)
	case "~":
		t := r.Type()
		if t.Kind == types.Unknown {
			t = types.Int4T
		}
		if !t.IsInteger() {
			return nil, opNotExist(op, types.UnknownT, r.Type()).At(loc)
		}
		r, err := b.coerce(r, t)
		if err != nil {
			return nil, err
		}
		return b.fold(&logical.Call{Name: "~", Args: []logical.Expr{r}, Kernel: exec.BitNotKernel(t), T: t})
	}
	return nil, opNotExist(op, types.UnknownT, r.Type()).At(loc)
}

func (b *Binder) callAt(name string, args []logical.Expr, loc int32) (logical.Expr, error) {
	e, err := b.call(name, args)
	if se, ok := err.(*sqlerr.Error); ok {
		return nil, se.At(loc)
	}
	return e, err
}

// bitwise resolves &, |, # and the shifts over integers.
func (b *Binder) bitwise(op string, l, r logical.Expr) (logical.Expr, error) {
	lt, rt := l.Type(), r.Type()
	if lt.Kind == types.Unknown {
		lt = rt
	}
	if rt.Kind == types.Unknown {
		rt = lt
	}
	if lt.Kind == types.Unknown {
		lt, rt = types.Int4T, types.Int4T
	}
	t, ok := exec.NumericCommonType(lt, rt)
	if op == "<<" || op == ">>" {
		t, ok = lt, rt.IsInteger()
		rt = types.Int4T
	} else {
		rt = t
	}
	if !ok || !t.IsInteger() {
		return nil, opNotExist(op, l.Type(), r.Type())
	}
	var err error
	if l, err = b.coerce(l, t); err != nil {
		return nil, err
	}
	if r, err = b.coerce(r, rt); err != nil {
		return nil, err
	}
	return &logical.Call{Name: op, Args: []logical.Expr{l, r}, Kernel: exec.BitwiseKernel(op, t), T: t, Infix: true}, nil
}

// binaryOp resolves an infix operator.
func (b *Binder) binaryOp(op string, l, r logical.Expr, loc int32) (logical.Expr, error) {
	e, err := b.binaryOpRaw(op, l, r, loc)
	if err != nil {
		if se, ok := err.(*sqlerr.Error); ok {
			return nil, se.At(loc)
		}
		return nil, err
	}
	return b.fold(e)
}

func (b *Binder) binaryOpRaw(op string, l, r logical.Expr, loc int32) (logical.Expr, error) {
	if e, ok, err := b.jsonOp(op, l, r); ok || err != nil {
		return e, err
	}
	switch op {
	case "+", "-", "*", "/", "%":
		return b.arith(exec.ArithOp(op[0]), l, r)
	case "^":
		return b.call("power", []logical.Expr{l, r})
	case "&", "|", "#", "<<", ">>":
		return b.bitwise(op, l, r)
	case "=", "<>", "!=", "<", ">", "<=", ">=":
		if op == "!=" {
			op = "<>"
		}
		if e, ok := recordOrder(op, l, r); ok {
			return e, nil
		}
		l, r, t, err := b.comparable(l, r, op, loc)
		if err != nil {
			return nil, err
		}
		return &logical.Call{Name: op, Args: []logical.Expr{l, r}, Kernel: exec.CompareKernel(exec.CmpOp(op), t), T: types.BoolT, Infix: true}, nil
	case "||":
		if l.Type().Kind == types.Array || r.Type().Kind == types.Array {
			return b.arrayConcat(l, r, loc)
		}
		if lt, rt := l.Type().Kind, r.Type().Kind; (lt == types.Bytea || rt == types.Bytea) && (lt == types.Bytea || lt == types.Unknown) && (rt == types.Bytea || rt == types.Unknown) {
			var err error
			if l, err = b.coerce(l, types.ByteaT); err != nil {
				return nil, err
			}
			if r, err = b.coerce(r, types.ByteaT); err != nil {
				return nil, err
			}
			return &logical.Call{Name: "||", Args: []logical.Expr{l, r}, Kernel: exec.ByteaConcatKernel(), T: types.ByteaT, Infix: true}, nil
		}
		var err error
		if l, err = b.toText(l); err != nil {
			return nil, err
		}
		if r, err = b.toText(r); err != nil {
			return nil, err
		}
		return &logical.Call{Name: "||", Args: []logical.Expr{l, r}, Kernel: exec.ConcatKernel(), T: types.TextT, Infix: true}, nil
	case "@>", "<@", "&&":
		if l.Type().Kind == types.Array || r.Type().Kind == types.Array {
			return b.arrayContainment(op, l, r, loc)
		}
	case "~~", "!~~", "~~*", "!~~*", "~", "!~", "~*", "!~*":
		lt, rt := l.Type(), r.Type()
		var err error
		// char(n) is matched with its padding, as PostgreSQL's bpcharlike
		// does ('EUROPE' in char(8) is not LIKE '%PE')
		if lt.Kind != types.Char {
			if l, err = b.coerce(l, types.TextT); err != nil {
				return nil, opNotExist(op, lt, rt)
			}
		}
		if r, err = b.coerce(r, types.TextT); err != nil {
			return nil, opNotExist(op, lt, rt)
		}
		ci := op == "~~*" || op == "!~~*" || op == "~*" || op == "!~*"
		neg := op[0] == '!'
		k := exec.LikeKernel(ci, neg)
		if op == "~" || op == "!~" || op == "~*" || op == "!~*" {
			k = exec.RegexKernel(ci, neg)
		}
		return &logical.Call{Name: likeName(op), Args: []logical.Expr{l, r}, Kernel: k, T: types.BoolT, Infix: true}, nil
	}
	return nil, opNotExist(op, l.Type(), r.Type())
}

func likeName(op string) string {
	switch op {
	case "~~":
		return "LIKE"
	case "!~~":
		return "NOT LIKE"
	case "~~*":
		return "ILIKE"
	case "!~~*":
		return "NOT ILIKE"
	}
	return op
}

func (b *Binder) toText(e logical.Expr) (logical.Expr, error) {
	t := e.Type()
	if t.IsString() && t.Kind != types.Char {
		return e, nil
	}
	if t.Kind == types.Unknown {
		return b.coerce(e, types.TextT)
	}
	return b.explicitCast(e, types.TextT, -1)
}

// comparable coerces both sides of a comparison to one type.
func (b *Binder) comparable(l, r logical.Expr, op string, loc int32) (logical.Expr, logical.Expr, types.T, error) {
	lt, rt := l.Type(), r.Type()
	var t types.T
	switch {
	case lt.Kind == types.Unknown && rt.Kind == types.Unknown:
		t = types.TextT
	case lt.Kind == types.Unknown:
		t = rt
	case rt.Kind == types.Unknown:
		t = lt
	case lt.IsNumber() && rt.IsNumber():
		t, _ = exec.NumericCommonType(lt, rt)
	case lt.IsString() && rt.IsString():
		t = types.TextT
		switch {
		case lt.Kind == types.Char && rt.Kind == types.Char:
			t = lt
		case lt.Kind == types.Char && rt.Kind == types.Varchar, lt.Kind == types.Varchar && rt.Kind == types.Char:
			// PostgreSQL's bpchar = bpchar matches one side exactly and
			// text = text neither: varchar compares as char here (but
			// char against text compares as text)
			t = types.T{Kind: types.Char}
		}
	case lt.Kind == rt.Kind:
		t = lt
	case isDateLike(lt) && isDateLike(rt):
		t = types.TimestampT
		if lt.Kind == types.TimestampTZ || rt.Kind == types.TimestampTZ {
			t = types.TimestampTZT
		}
	default:
		return nil, nil, types.T{}, opNotExist(op, lt, rt).At(loc)
	}
	switch {
	case t.Kind == types.Char && (lt.Kind == types.Unknown || rt.Kind == types.Unknown):
		// an untyped literal becomes bpchar (of any length): trailing
		// blanks are not significant on either side, as in PostgreSQL
		t = types.T{Kind: types.Char}
	case t.Kind == types.Char && (lt.Kind == types.Text || rt.Kind == types.Text):
		// char against text compares as text; the cast drops char's padding
		t = types.TextT
	}
	var err error
	if l, err = b.coerceCmp(l, t); err != nil {
		return nil, nil, types.T{}, err
	}
	if r, err = b.coerceCmp(r, t); err != nil {
		return nil, nil, types.T{}, err
	}
	return l, r, t, nil
}

// coerceCmp is coerce for comparison operands: numeric operands keep their
// value and only change representation.
func (b *Binder) coerceCmp(e logical.Expr, t types.T) (logical.Expr, error) {
	if e.Type().Kind == types.Char && t.Kind == types.Char {
		return e, nil // (char compares without its padding, whatever its length)
	}
	return b.coerce(e, t)
}

func (b *Binder) arith(op exec.ArithOp, l, r logical.Expr) (logical.Expr, error) {
	lt, rt := l.Type(), r.Type()
	if lt.IsTemporal() || rt.IsTemporal() || lt.Kind == types.Interval || rt.Kind == types.Interval {
		if lt.Kind == types.Unknown {
			lt = rt
			if rt.Kind == types.Date && op == '-' {
				lt = types.DateT
			}
			if rt.Kind == types.Interval && op != '*' {
				lt = types.IntervalT
			}
		}
		if rt.Kind == types.Unknown {
			rt = types.IntervalT
			if lt.Kind == types.Date && op == '-' {
				rt = types.DateT
			}
			if lt.Kind == types.Interval && (op == '*' || op == '/') {
				rt = types.Float8T
			}
		}
		at, bt, ret, k, ok := exec.TemporalArith(op, lt, rt)
		if !ok {
			return nil, opNotExist(string(op), l.Type(), r.Type())
		}
		var err error
		if l, err = b.coerce(l, at); err != nil {
			return nil, err
		}
		if r, err = b.coerce(r, bt); err != nil {
			return nil, err
		}
		return &logical.Call{Name: string(op), Args: []logical.Expr{l, r}, Kernel: k, T: ret, Infix: true}, nil
	}
	t, ok := exec.NumericCommonType(lt, rt)
	if !ok {
		return nil, opNotExist(string(op), lt, rt)
	}
	ret := t
	if t.Kind == types.Numeric {
		// an untyped parameter beside a numeric is numeric without a
		// typmod, as in PostgreSQL: typing it by its (absent) literal
		// scale would round '2.50' to 3
		l, r = b.naturalNumericParam(l), b.naturalNumericParam(r)
		ls, rs := numericScale(l), numericScale(r)
		switch op {
		case '+', '-', '%':
			ret = types.NumericT(0, max(ls, rs))
		case '*':
			ret = types.NumericT(0, min(ls+rs, 30))
		case '/':
			ret = types.NumericT(0, max(types.DefaultNumericScale, ls, rs))
		}
		// a value of unconstrained numeric keeps printing without trailing
		// zeros through + - * (its true scale is unknown here)
		ret.Natural = op != '/' && (l.Type().Natural || r.Type().Natural)
		if ret.Natural {
			ret.MinScale = max(displayScale(l.Type(), ls), displayScale(r.Type(), rs))
			if op == '*' {
				ret.MinScale = min(displayScale(l.Type(), ls)+displayScale(r.Type(), rs), ret.Scale)
			}
		}
		var err error
		if l, err = b.toNumeric(l, ls); err != nil {
			return nil, err
		}
		if r, err = b.toNumeric(r, rs); err != nil {
			return nil, err
		}
	} else {
		var err error
		if l, err = b.coerce(l, t); err != nil {
			return nil, err
		}
		if r, err = b.coerce(r, t); err != nil {
			return nil, err
		}
	}
	k, _ := exec.ArithKernel(op, ret)
	return &logical.Call{Name: string(op), Args: []logical.Expr{l, r}, Kernel: k, T: ret, Infix: true}, nil
}

func numericScale(e logical.Expr) int32 {
	t := e.Type()
	if t.Kind == types.Numeric {
		return t.Scale
	}
	if c, ok := e.(*logical.Const); ok && t.Kind == types.Unknown && c.Value != nil {
		if d, err := types.Parse(types.NumericT(0, 0), c.Value.(string)); err == nil {
			_ = d
		}
		s := c.Value.(string)
		for i := range s {
			if s[i] == '.' {
				return int32(len(s) - i - 1)
			}
		}
	}
	return 0
}

// naturalNumericParam types an untyped parameter as unconstrained numeric.
func (b *Binder) naturalNumericParam(e logical.Expr) logical.Expr {
	p, ok := e.(*logical.Param)
	if !ok || p.T.Kind != types.Unknown {
		return e
	}
	t, _ := types.FromName("numeric", nil)
	b.setParamType(p.N, t)
	return &logical.Param{N: p.N, T: b.ParamTypes[p.N-1]}
}

func (b *Binder) toNumeric(e logical.Expr, scale int32) (logical.Expr, error) {
	t := e.Type()
	if t.Kind == types.Numeric {
		return e, nil
	}
	return b.coerce(e, types.NumericT(0, scale))
}

// arrayConcat binds array || array, array || element and element || array.
func (b *Binder) arrayConcat(l, r logical.Expr, loc int32) (logical.Expr, error) {
	lt, rt := l.Type(), r.Type()
	var at types.T
	switch {
	case lt.Kind == types.Array && rt.Kind == types.Array:
		et, err := commonType([]types.T{lt.ElemT(), rt.ElemT()}, "||")
		if err != nil {
			return nil, err
		}
		at = types.ArrayOf(et)
	case lt.Kind == types.Array:
		at = lt
	default:
		at = rt
	}
	coerceSide := func(e logical.Expr) (logical.Expr, error) {
		if e.Type().Kind == types.Array || e.Type().Kind == types.Unknown && e.Type() != at.ElemT() {
			if e.Type().Kind == types.Unknown {
				// an untyped literal next to an array is an array literal
				return b.coerce(e, at)
			}
			if e.Type() != at {
				return b.explicitCast(e, at, loc)
			}
			return e, nil
		}
		return b.coerce(e, at.ElemT())
	}
	var err error
	if l, err = coerceSide(l); err != nil {
		return nil, err
	}
	if r, err = coerceSide(r); err != nil {
		return nil, err
	}
	return &logical.Call{Name: "||", Args: []logical.Expr{l, r}, Kernel: exec.ArrayConcatKernel(at, l.Type().Kind == types.Array, r.Type().Kind == types.Array), T: at, Infix: true}, nil
}

// arrayContainment binds array @> array, <@ and && over the arrays'
// common element type; an untyped literal on one side is an array of the
// other's type ('{a,b}').
func (b *Binder) arrayContainment(op string, l, r logical.Expr, loc int32) (logical.Expr, error) {
	lt, rt := l.Type(), r.Type()
	var at types.T
	switch {
	case lt.Kind == types.Array && rt.Kind == types.Array:
		et, err := commonType([]types.T{lt.ElemT(), rt.ElemT()}, op)
		if err != nil {
			return nil, opNotExist(op, lt, rt)
		}
		at = types.ArrayOf(et)
	case lt.Kind == types.Array && rt.Kind == types.Unknown:
		at = lt
	case rt.Kind == types.Array && lt.Kind == types.Unknown:
		at = rt
	default:
		return nil, opNotExist(op, lt, rt)
	}
	side := func(e logical.Expr) (logical.Expr, error) {
		switch {
		case e.Type().Kind == types.Unknown:
			return b.coerce(e, at)
		case e.Type() != at:
			return b.explicitCast(e, at, loc)
		}
		return e, nil
	}
	var err error
	if l, err = side(l); err != nil {
		return nil, err
	}
	if r, err = side(r); err != nil {
		return nil, err
	}
	return &logical.Call{Name: op, Args: []logical.Expr{l, r}, Kernel: exec.ArrayContainmentKernel(op, at.ElemT()), T: types.BoolT, Infix: true}, nil
}

// jsonOp binds the json and jsonb operators (->, ->>, @> …); ok is false
// when neither side is json.
func (b *Binder) jsonOp(op string, l, r logical.Expr) (logical.Expr, bool, error) {
	lt, rt := l.Type(), r.Type()
	if lt.Kind == types.Unknown && (rt.Kind == types.JSONB || rt.Kind == types.JSON) && (op == "<@" || op == "@>" || op == "||") {
		lt = rt // '{"a":1}' <@ j: the literal takes the other side's type
	}
	if rt.Kind == types.Unknown && (lt.Kind == types.JSONB || lt.Kind == types.JSON) && (op == "@>" || op == "<@" || op == "||") {
		rt = lt
	}
	if rt.Kind == types.Unknown && (op == "#>" || op == "#>>" || op == "?|" || op == "?&") {
		rt = types.ArrayOf(types.TextT)
	}
	args, ret, k, ok := exec.JSONOp(op, lt, rt)
	if !ok {
		return nil, false, nil
	}
	var err error
	if l, err = b.coerce(l, args[0]); err != nil {
		return nil, true, opNotExist(op, l.Type(), r.Type())
	}
	if r, err = b.coerce(r, args[1]); err != nil {
		return nil, true, opNotExist(op, lt, r.Type())
	}
	return &logical.Call{Name: op, Args: []logical.Expr{l, r}, Kernel: k, T: ret, Infix: true}, true, nil
}

// displayScale is the fraction digits an operand is known to show: its
// scale, or for an unconstrained numeric the least it prints.
func displayScale(t types.T, scale int32) int32 {
	if t.Natural {
		return t.MinScale
	}
	return scale
}

// recordOrder binds < <= > >= between record values of the same fields
// (composite values, record columns) field by field, as PostgreSQL
// compares records; = and <> compare their text forms, which are equal
// exactly when the records are. ok is false for other operands.
func recordOrder(op string, l, r logical.Expr) (logical.Expr, bool) {
	lt, rt := l.Type(), r.Type()
	if op == "=" || op == "<>" || !lt.IsRecord() || !rt.IsRecord() || lt.Record == "" || !sameFields(lt, rt) {
		return nil, false
	}
	return &logical.Call{Name: op, Args: []logical.Expr{l, r}, Kernel: exec.RecordCompareKernel(exec.CmpOp(op), lt), T: types.BoolT, Infix: true}, true
}

// sameFields reports whether two record types have fields of the same
// types.
func sameFields(a, b types.T) bool {
	fa, fb := a.RecordFields(), b.RecordFields()
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i].T != fb[i].T {
			return false
		}
	}
	return true
}
