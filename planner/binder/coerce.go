package binder

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// commonType resolves the type several expressions must share (CASE,
// COALESCE, UNION, VALUES), following PostgreSQL's rules: unknown literals
// adopt the others' type, numbers widen, strings become text.
func commonType(ts []types.T, what string) (types.T, error) {
	var out types.T
	have, untyped := false, false
	for _, t := range ts {
		if t.Kind == types.Unknown {
			untyped = true
			continue
		}
		if !have {
			out, have = t, true
			continue
		}
		if out == t {
			continue
		}
		switch {
		case out.IsNumber() && t.IsNumber():
			out = unionNumber(out, t)
		case plainString(out) && plainString(t):
			// the first one's type: text, varchar and char each convert
			// implicitly to the others, so PostgreSQL never switches
			// (char first keeps its padding); a length only if all agree
			if out.Kind != t.Kind || out.Len != t.Len {
				out = types.T{Kind: out.Kind}
			}
		case out.IsString() && t.IsString():
			out = types.TextT
		case out.Kind == t.Kind:
		case isDateLike(out) && isDateLike(t):
			if out.Kind == types.TimestampTZ || t.Kind == types.TimestampTZ {
				out = types.TimestampTZT
			} else {
				out = types.TimestampT
			}
		default:
			return types.T{}, sqlerr.New(sqlerr.DatatypeMismatch, "%s types %s and %s cannot be matched", what, out, t)
		}
	}
	if !have {
		return types.TextT, nil
	}
	if untyped {
		out = withoutLength(out)
	}
	return out, nil
}

// unionNumber is the type numbers of types a and b take in one column
// (CASE, COALESCE, UNION, VALUES). PostgreSQL keeps each numeric value's
// own scale there; Weft computes at one fixed scale, the larger. Beside
// an unconstrained numeric (whose values print without trailing zeros)
// the column stays unconstrained, printing at least the smaller of the
// scales the two show: VALUES (1.5::numeric), (2.25) shows 1.5 and 2.25
// as in PostgreSQL, not both at the fixed scale of 16 digits. Fixed
// scales and integers alone keep the larger scale, so that sums over
// CASE … ELSE 0 END show the scale PostgreSQL's do.
func unionNumber(a, b types.T) types.T {
	out, _ := exec.NumericCommonType(a, b)
	if out.Kind != types.Numeric || (!a.Natural && !b.Natural) {
		return out
	}
	shown := func(t types.T) int32 {
		switch {
		case t.Kind != types.Numeric:
			return 0
		case t.Natural:
			return t.MinScale
		}
		return t.Scale
	}
	out.Natural, out.MinScale = true, min(shown(a), shown(b))
	return out
}

// withoutLength drops a char or varchar length: an untyped literal has
// none, so what it is unified with keeps none (COALESCE(c, 'ab') over a
// char(4) c leaves 'ab' unpadded, as PostgreSQL does).
func withoutLength(t types.T) types.T {
	if t.Kind == types.Char || t.Kind == types.Varchar {
		t.Len = 0
	}
	return t
}

func plainString(t types.T) bool {
	return t.Kind == types.Text || t.Kind == types.Varchar || t.Kind == types.Char
}

func isDateLike(t types.T) bool {
	return t.Kind == types.Date || t.Kind == types.Timestamp || t.Kind == types.TimestampTZ
}

// coerce converts e to type to where PostgreSQL allows it implicitly. An
// unknown-typed literal is parsed into the target type right away.
func (b *Binder) coerce(e logical.Expr, to types.T) (logical.Expr, error) {
	from := e.Type()
	if from == to {
		return e, nil
	}
	if to.IsComposite() {
		return b.toComposite(e, to, func() error {
			return sqlerr.New(sqlerr.DatatypeMismatch, "cannot convert %s to %s implicitly", from, to)
		})
	}
	if c, ok := e.(*logical.Const); ok && (from.Kind == types.Unknown || from.Kind == to.Kind && !to.IsString() && to.Kind != types.Numeric) {
		return b.constCast(c, to, false)
	}
	if p, ok := e.(*logical.Param); ok && from.Kind == types.Unknown {
		b.setParamType(p.N, to)
		return &logical.Param{N: p.N, T: to}, nil
	}
	if from.Kind == to.Kind && from.Kind != types.Numeric && !(to.IsString() && to.Len > 0) {
		return e, nil
	}
	if !exec.ImplicitCast(from, to) {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot convert %s to %s implicitly", from, to)
	}
	if c, ok := e.(*logical.Const); ok {
		// cast constants once here instead of once per batch
		return b.constCast(c, to, false)
	}
	return &logical.Cast{Arg: e, To: to}, nil
}

// assign converts e for storing into a column of type to (assignment
// casts: numbers convert freely, values too long for varchar(n) fail).
func (b *Binder) assign(e logical.Expr, to types.T, col string) (logical.Expr, error) {
	if p, ok := e.(*logical.Param); ok && p.T.Kind == types.Unknown {
		// a parameter stored into a column takes the column's type
		b.setParamType(p.N, to)
		return &logical.Param{N: p.N, T: b.ParamTypes[p.N-1]}, nil
	}
	from := e.Type()
	if from == to {
		return e, nil
	}
	if to.IsComposite() {
		return b.toComposite(e, to, func() error {
			return sqlerr.New(sqlerr.DatatypeMismatch, "column \"%s\" is of type %s but expression is of type %s", col, to, from).
				WithHint("You will need to rewrite or cast the expression.")
		})
	}
	ok := from.Kind == types.Unknown || exec.ImplicitCast(from, to) ||
		(from.IsNumber() && to.IsNumber()) || (from.IsString() && to.IsString()) ||
		(from.IsTemporal() && to.IsTemporal() && exec.CanCast(from, to)) || to.IsString()
	if !ok {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "column \"%s\" is of type %s but expression is of type %s", col, to, from).
			WithHint("You will need to rewrite or cast the expression.")
	}
	if p, isParam := e.(*logical.Param); isParam && from.Kind == types.Unknown {
		b.setParamType(p.N, to)
		return &logical.Param{N: p.N, T: to}, nil
	}
	if c, isConst := e.(*logical.Const); isConst {
		return b.constCast(c, to, false)
	}
	return &logical.Cast{Arg: e, To: to}, nil
}

func (b *Binder) constCast(c *logical.Const, to types.T, explicit bool) (logical.Expr, error) {
	v, err := exec.CastDatumAt(c.Value, c.T, to, explicit, b.Env.TimeZone(), b.Env.StatementTime())
	if err != nil {
		return nil, err
	}
	return &logical.Const{Value: v, T: to}, nil
}

func (b *Binder) setParamType(n int, t types.T) {
	for len(b.ParamTypes) < n {
		b.ParamTypes = append(b.ParamTypes, types.UnknownT)
	}
	if b.ParamTypes[n-1].Kind == types.Unknown {
		b.ParamTypes[n-1] = t
	}
}

// resolveUnknown turns a still-untyped expression into text, as PostgreSQL
// does for SELECT outputs.
func (b *Binder) resolveUnknown(e logical.Expr) logical.Expr {
	if e.Type().Kind != types.Unknown {
		return e
	}
	if c, ok := e.(*logical.Const); ok {
		return &logical.Const{Value: c.Value, T: types.TextT}
	}
	if p, ok := e.(*logical.Param); ok {
		b.setParamType(p.N, types.TextT)
		return &logical.Param{N: p.N, T: types.TextT}
	}
	return &logical.Cast{Arg: e, To: types.TextT}
}

// toComposite converts a row value, a record's text given as a literal or
// parameter, or NULL to composite type to, field by field; anything else
// is mismatch's error.
func (b *Binder) toComposite(e logical.Expr, to types.T, mismatch func() error) (logical.Expr, error) {
	from := e.Type()
	switch x := e.(type) {
	case *logical.Const:
		if x.Value == nil && (from.Kind == types.Unknown || from.IsRecord()) {
			return &logical.Const{T: to}, nil
		}
	case *logical.Param:
		if from.Kind == types.Unknown {
			// the client's text, read field by field as the type's
			b.setParamType(x.N, to)
			e, from = &logical.Param{N: x.N, T: types.TextT}, types.RecordT
		}
	}
	if from.Kind == types.Unknown {
		if _, isConst := e.(*logical.Const); isConst {
			from = types.RecordT
		}
	}
	if !from.IsRecord() {
		return nil, mismatch()
	}
	return b.fold(&logical.Call{Name: "CAST", Args: []logical.Expr{e}, Kernel: exec.RecordCastKernel(from, to), T: to})
}
