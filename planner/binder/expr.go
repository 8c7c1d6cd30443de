package binder

import (
	"math/big"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/planner/physical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// bindExpr binds one expression in scope s.
func (b *Binder) bindExpr(n *pg.Node, s *scope) (logical.Expr, error) {
	e, err := b.bindExprRaw(n, s)
	if err != nil {
		if se, ok := err.(*sqlerr.Error); ok && se.Position == 0 {
			return nil, se.At(nodeLocation(n))
		}
		return nil, err
	}
	return e, nil
}

// maxParams is the most parameters a statement may have (the protocol's
// parameter count is 16 bits).
const maxParams = 65535

func (b *Binder) bindExprRaw(n *pg.Node, s *scope) (logical.Expr, error) {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		return b.bindColumnRef(x.ColumnRef, s)
	case *pg.Node_AConst:
		return bindConst(x.AConst)
	case *pg.Node_ParamRef:
		n := int(x.ParamRef.Number)
		if b.sqlFunc != nil {
			if e, ok := b.sqlFuncParam("", "", n); ok {
				return e, nil
			}
			return nil, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", n).At(x.ParamRef.Location)
		}
		if n < 1 || n > maxParams {
			return nil, sqlerr.New(sqlerr.UndefinedParameter, "there is no parameter $%d", n).At(x.ParamRef.Location)
		}
		if err := b.plVariableConflict(n, s); err != nil {
			return nil, err.At(x.ParamRef.Location)
		}
		b.setParamType(n, types.UnknownT)
		return &logical.Param{N: n, T: b.ParamTypes[n-1]}, nil
	case *pg.Node_TypeCast:
		return b.bindTypeCast(x.TypeCast, s)
	case *pg.Node_AIndirection:
		return b.bindSubscript(x.AIndirection, s)
	case *pg.Node_AArrayExpr:
		return b.bindArrayConstructor(x.AArrayExpr, s)
	case *pg.Node_CollateClause:
		// Weft compares text bytewise in every collation ("C")
		return b.bindExpr(x.CollateClause.Arg, s)
	case *pg.Node_AExpr:
		return b.bindAExpr(x.AExpr, s)
	case *pg.Node_BoolExpr:
		return b.bindBoolExpr(x.BoolExpr, s)
	case *pg.Node_NullTest:
		if f, ok := b.rowOf(x.NullTest.Arg, s); ok {
			return b.bindRowNullTest(f, x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL, s)
		}
		arg, err := b.bindExpr(x.NullTest.Arg, s)
		if err != nil {
			return nil, err
		}
		if arg.Type().IsRecord() && arg.Type().Record != "" {
			// a record column: NULL when every field is, as PostgreSQL
			return &logical.Call{Name: "IS NULL", Args: []logical.Expr{arg}, T: types.BoolT,
				Kernel: exec.RecordNullTestKernel(x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL)}, nil
		}
		return &logical.IsNull{Arg: arg, Negate: x.NullTest.Nulltesttype == pg.NullTestType_IS_NOT_NULL}, nil
	case *pg.Node_BooleanTest:
		return b.bindBooleanTest(x.BooleanTest, s)
	case *pg.Node_FuncCall:
		return b.bindFuncCall(x.FuncCall, s)
	case *pg.Node_CaseExpr:
		return b.bindCase(x.CaseExpr, s)
	case *pg.Node_CoalesceExpr:
		return b.bindCoalesce(x.CoalesceExpr.Args, s)
	case *pg.Node_MinMaxExpr:
		return b.bindMinMax(x.MinMaxExpr, s)
	case *pg.Node_SubLink:
		return b.bindSubLink(x.SubLink, s)
	case *pg.Node_SqlvalueFunction:
		return b.bindSQLValueFunction(x.SqlvalueFunction)
	case *pg.Node_RowExpr:
		f, _ := b.rowOf(n, s)
		return b.bindRowValue(f, s)
	case *pg.Node_NullIfExpr:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "NULLIF node")
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "expression %T is not supported", n.Node)
}

func bindConst(c *pg.A_Const) (logical.Expr, error) {
	if c.Isnull {
		return &logical.Const{T: types.UnknownT}, nil
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return &logical.Const{Value: int64(v.Ival.Ival), T: types.Int4T}, nil
	case *pg.A_Const_Fval:
		s := v.Fval.Fval
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return &logical.Const{Value: i, T: types.Int8T}, nil
			}
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return nil, sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type numeric: %q", s)
		}
		t := types.NumericT(0, literalScale(s))
		d, err := types.RatToNumeric(r, t)
		if err != nil {
			// Beyond numeric's 38 digits (Arrow decimal128): keep the value
			// as double precision rather than refuse a valid literal.
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				return &logical.Const{Value: f, T: types.Float8T}, nil
			}
			return nil, err
		}
		return &logical.Const{Value: d, T: t}, nil
	case *pg.A_Const_Sval:
		return &logical.Const{Value: v.Sval.Sval, T: types.UnknownT}, nil
	case *pg.A_Const_Boolval:
		return &logical.Const{Value: v.Boolval.Boolval, T: types.BoolT}, nil
	case *pg.A_Const_Bsval:
		return &logical.Const{Value: v.Bsval.Bsval, T: types.UnknownT}, nil
	}
	return &logical.Const{T: types.UnknownT}, nil
}

// literalScale is a numeric literal's display scale as numeric_in gives
// it: the digits after the point less the exponent (1.5e-3 has scale 4,
// 2e3 scale 0).
func literalScale(s string) int32 {
	mantissa, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa = s[:i]
		exp, _ = strconv.ParseInt(s[i+1:], 10, 32)
	}
	digits := int64(0)
	if i := strings.IndexByte(mantissa, '.'); i >= 0 {
		digits = int64(len(mantissa) - i - 1)
	}
	return int32(max(0, min(digits-exp, 1000)))
}

func (b *Binder) bindColumnRef(cr *pg.ColumnRef, s *scope) (logical.Expr, error) {
	// t or t.* naming a relation, not a column: its whole-row value
	if f, ok := b.rowOf(&pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: cr}}, s); ok {
		return b.bindRowValue(f, s)
	}
	var parts []string
	for _, f := range cr.Fields {
		if _, star := f.Node.(*pg.Node_AStar); star {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "* is not allowed here").At(cr.Location)
		}
		parts = append(parts, strNode(f))
	}
	name := parts[len(parts)-1]
	qual := ""
	if len(parts) >= 2 {
		qual = parts[len(parts)-2]
	}
	for sc := s; sc != nil; sc = sc.parent {
		it, found, err := sc.lookup(qual, name)
		if err != nil {
			return nil, err.At(cr.Location)
		}
		if !found {
			continue
		}
		b.recordColumn(cr, it)
		if err := b.checkColumnRead(it); err != nil {
			return nil, err
		}
		col := it.col
		if sc.level < b.curLevel() {
			b.noteOuter(sc.level, col, cr.Location)
			return &logical.OuterRef{Col: col}, nil
		}
		return &logical.ColRef{Col: col}, nil
	}
	if e, ok := b.sqlFuncParam(qual, name, 0); ok {
		return e, nil
	}
	if qual != "" {
		if !scopeHasQual(s, qual) {
			return nil, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table \"%s\"", qual).At(cr.Location)
		}
		return nil, sqlerr.New(sqlerr.UndefinedColumn, "column %s.%s does not exist", qual, name).At(cr.Location)
	}
	return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" does not exist", name).At(cr.Location)
}

func scopeHasQual(s *scope, qual string) bool {
	for sc := s; sc != nil; sc = sc.parent {
		for _, it := range sc.items {
			if it.qual == qual {
				return true
			}
		}
	}
	return false
}

func (s *scope) lookup(qual, name string) (scopeItem, bool, *sqlerr.Error) {
	var found *scopeItem
	for i := range s.items {
		it := &s.items[i]
		if it.col.Name != name || (qual != "" && it.qual != qual) || (qual == "" && it.qualOnly) {
			continue
		}
		if found != nil && found.col.ID != it.col.ID {
			return scopeItem{}, false, sqlerr.New(sqlerr.AmbiguousColumn, "column reference \"%s\" is ambiguous", name)
		}
		found = it
	}
	if found == nil {
		return scopeItem{}, false, nil
	}
	return *found, true, nil
}

func (b *Binder) bindTypeCast(tc *pg.TypeCast, s *scope) (logical.Expr, error) {
	if e, ok, err := b.regCast(tc); ok || err != nil {
		return e, err
	}
	if e, ok, err := b.regArrayCast(tc, s); ok || err != nil {
		return e, err
	}
	if isArrayTypeName(tc.TypeName) {
		// arrays stay in their text form
		arg, err := b.bindExpr(tc.Arg, s)
		if err != nil {
			return nil, err
		}
		return b.coerce(arg, types.TextT)
	}
	to, dom, err := b.ResolveType(tc.TypeName)
	if err != nil {
		return nil, err
	}
	arg, err := b.bindExpr(tc.Arg, s)
	if err != nil {
		return nil, err
	}
	loc := tc.Location
	if c, ok := tc.Arg.Node.(*pg.Node_AConst); ok && arg.Type().Kind == types.Unknown {
		// PostgreSQL points a bad literal's error at the literal itself.
		loc = c.AConst.Location
	}
	if dom != nil {
		return b.bindDomainCast(arg, dom, loc)
	}
	return b.explicitCast(arg, to, loc)
}

func (b *Binder) explicitCast(arg logical.Expr, to types.T, loc int32) (logical.Expr, error) {
	from := arg.Type()
	if to.IsComposite() && from != to {
		e, err := b.toComposite(arg, to, func() error {
			return sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from, to)
		})
		if err != nil {
			return nil, sqlerr.Wrap(err).At(loc)
		}
		return e, nil
	}
	if from.IsRegType() && from.Kind == types.Int8 && to.IsString() {
		return b.regNameCall(arg, to), nil
	}
	if to.IsRegType() && to.Kind == types.Int8 && from.IsString() {
		if _, isConst := arg.(*logical.Const); !isConst {
			return b.regOIDCall(arg, to), nil
		}
	}
	if to.Kind == types.Array && from.Kind == types.Text && (from.PG == 22 || from.PG == 30) {
		arg, from = vectorAsArray(arg), types.TextT
	}
	if !exec.CanCast(from, to) {
		return nil, sqlerr.New(sqlerr.CannotCoerce, "cannot cast type %s to %s", from, to).At(loc)
	}
	if c, ok := arg.(*logical.Const); ok {
		e, err := b.constCast(c, to, true)
		if err != nil {
			if se, ok := err.(*sqlerr.Error); ok {
				return nil, se.At(loc)
			}
			return nil, err
		}
		return e, nil
	}
	if p, ok := arg.(*logical.Param); ok && from.Kind == types.Unknown {
		b.setParamType(p.N, to)
		return &logical.Param{N: p.N, T: to}, nil
	}
	if from == to {
		return arg, nil
	}
	return &logical.Cast{Arg: arg, To: to, Explicit: true}, nil
}

func opName(ns []*pg.Node) string {
	parts := names(ns)
	return parts[len(parts)-1]
}

func (b *Binder) bindAExpr(a *pg.A_Expr, s *scope) (logical.Expr, error) {
	op := opName(a.Name)
	if e, ok, err := b.bindRowComparison(a, op, s); ok || err != nil {
		return e, err
	}
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		if a.Lexpr == nil {
			r, err := b.bindExpr(a.Rexpr, s)
			if err != nil {
				return nil, err
			}
			return b.unaryOp(op, r, a.Location)
		}
		l, err := b.bindExpr(a.Lexpr, s)
		if err != nil {
			return nil, err
		}
		r, err := b.bindExpr(a.Rexpr, s)
		if err != nil {
			return nil, err
		}
		return b.binaryOp(op, l, r, a.Location)
	case pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE, pg.A_Expr_Kind_AEXPR_SIMILAR:
		// SIMILAR TO arrives as ~ (or !~) against similar_to_escape(pattern)
		l, err := b.bindExpr(a.Lexpr, s)
		if err != nil {
			return nil, err
		}
		r, err := b.bindExpr(a.Rexpr, s)
		if err != nil {
			return nil, err
		}
		return b.binaryOp(op, l, r, a.Location)
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		l, r, t, err := b.bindComparable(a.Lexpr, a.Rexpr, s, a.Location)
		if err != nil {
			return nil, err
		}
		return &logical.Call{Name: "IS DISTINCT FROM", Args: []logical.Expr{l, r}, Kernel: exec.DistinctKernel(t, a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT), T: types.BoolT, Infix: true}, nil
	case pg.A_Expr_Kind_AEXPR_NULLIF:
		l, err := b.bindExpr(a.Lexpr, s)
		if err != nil {
			return nil, err
		}
		r, err := b.bindExpr(a.Rexpr, s)
		if err != nil {
			return nil, err
		}
		lc, rc, t, err := b.comparable(l, r, "=", a.Location)
		if err != nil {
			return nil, err
		}
		// the result has the first argument's own type (NULLIF(smallint,
		// 3) is a smallint); the comparison is done in the common type
		if l.Type().Kind == types.Unknown {
			l = lc
		}
		eq := &logical.Call{Name: "=", Args: []logical.Expr{lc, rc}, Kernel: exec.CompareKernel("=", t), T: types.BoolT, Infix: true}
		return &logical.Case{Whens: []logical.Expr{eq}, Thens: []logical.Expr{&logical.Const{T: l.Type()}}, Else: l, T: l.Type()}, nil
	case pg.A_Expr_Kind_AEXPR_IN:
		return b.bindInList(a, op, s)
	case pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL:
		return b.bindAnyAll(a, op, a.Kind == pg.A_Expr_Kind_AEXPR_OP_ALL, s)
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN, pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		return b.bindBetween(a, s)
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "operator form %s is not supported yet", a.Kind).At(a.Location)
}

// rowItems are the fields of a row constructor, (a, b) or ROW(a, b).
func rowItems(n *pg.Node) ([]*pg.Node, bool) {
	if r := n.GetRowExpr(); r != nil {
		return r.Args, true
	}
	return nil, false
}

// rowFieldNodes are the fields of a row constructor or of a relation's
// whole-row reference.
func (b *Binder) rowFieldNodes(n *pg.Node, s *scope) ([]*pg.Node, bool) {
	f, ok := b.rowOf(n, s)
	return f.fields, ok
}

// bindRowComparison binds a comparison of row constructors as PostgreSQL
// defines it, field by field: = and IS NOT DISTINCT FROM need every pair
// equal, <> and IS DISTINCT FROM one pair unequal, and < <= > >= are
// decided by the first pair that is not equal ((a, b) < (c, d) is
// a < c OR (a = c AND b < d)); (a, b) IN ((1, 2), …) is a row equality per
// item. ok is false when a is not a row comparison.
func (b *Binder) bindRowComparison(a *pg.A_Expr, op string, s *scope) (logical.Expr, bool, error) {
	left, isRow := b.rowFieldNodes(a.Lexpr, s)
	if !isRow || a.Rexpr == nil {
		return nil, false, nil
	}
	if a.Kind == pg.A_Expr_Kind_AEXPR_IN {
		list := a.Rexpr.GetList()
		if list == nil {
			return nil, false, nil
		}
		terms := make([]logical.Expr, len(list.Items))
		for i, item := range list.Items {
			right, ok := b.rowFieldNodes(item, s)
			if !ok {
				return nil, true, sqlerr.New(sqlerr.SyntaxError, "a row on the left of IN needs rows on the right").At(a.Location)
			}
			cmp := "="
			if op == "<>" {
				cmp = "<>"
			}
			t, err := b.rowCompare(cmp, left, right, s, a.Location)
			if err != nil {
				return nil, true, err
			}
			terms[i] = t
		}
		if len(terms) == 1 {
			return terms[0], true, nil
		}
		return &logical.Bool{And: op == "<>", Args: terms}, true, nil
	}
	if sl := a.Rexpr.GetSubLink(); sl != nil && sl.SubLinkType == pg.SubLinkType_EXPR_SUBLINK && a.Kind == pg.A_Expr_Kind_AEXPR_OP {
		// (a, b) op (SELECT x, y): PostgreSQL's row comparison sublink
		e, err := b.bindSubLink(&pg.SubLink{SubLinkType: pg.SubLinkType_ROWCOMPARE_SUBLINK, Testexpr: a.Lexpr,
			OperName: a.Name, Subselect: sl.Subselect, Location: a.Location}, s)
		return e, true, err
	}
	right, isRow := b.rowFieldNodes(a.Rexpr, s)
	if !isRow {
		return nil, false, nil
	}
	switch a.Kind {
	case pg.A_Expr_Kind_AEXPR_OP:
		e, err := b.rowCompare(op, left, right, s, a.Location)
		return e, true, err
	case pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		terms := make([]logical.Expr, len(left))
		if len(left) != len(right) {
			return nil, true, sqlerr.New(sqlerr.SyntaxError, "unequal number of entries in row expressions").At(a.Location)
		}
		for i := range left {
			l, r, t, err := b.bindComparable(left[i], right[i], s, a.Location)
			if err != nil {
				return nil, true, err
			}
			same := a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT
			terms[i] = &logical.Call{Name: "IS DISTINCT FROM", Args: []logical.Expr{l, r}, Kernel: exec.DistinctKernel(t, same), T: types.BoolT, Infix: true}
		}
		return &logical.Bool{And: a.Kind == pg.A_Expr_Kind_AEXPR_NOT_DISTINCT, Args: terms}, true, nil
	}
	return nil, false, nil
}

// rowCompare binds left op right for rows of the same length.
func (b *Binder) rowCompare(op string, left, right []*pg.Node, s *scope, loc int32) (logical.Expr, error) {
	if len(left) != len(right) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "unequal number of entries in row expressions").At(loc)
	}
	pair := func(i int, op string) (logical.Expr, error) {
		l, err := b.bindExpr(left[i], s)
		if err != nil {
			return nil, err
		}
		r, err := b.bindExpr(right[i], s)
		if err != nil {
			return nil, err
		}
		return b.binaryOp(op, l, r, loc)
	}
	switch op {
	case "=", "<>":
		terms := make([]logical.Expr, len(left))
		for i := range left {
			t, err := pair(i, op)
			if err != nil {
				return nil, err
			}
			terms[i] = t
		}
		if len(terms) == 1 {
			return terms[0], nil
		}
		return &logical.Bool{And: op == "=", Args: terms}, nil
	case "<", "<=", ">", ">=":
		strict := op[:1]
		// from the last pair back: e = l op r, then l' strict r' OR (l' = r' AND e)
		e, err := pair(len(left)-1, op)
		if err != nil {
			return nil, err
		}
		for i := len(left) - 2; i >= 0; i-- {
			lt, err := pair(i, strict)
			if err != nil {
				return nil, err
			}
			eq, err := pair(i, "=")
			if err != nil {
				return nil, err
			}
			e = &logical.Bool{Args: []logical.Expr{lt, &logical.Bool{And: true, Args: []logical.Expr{eq, e}}}}
		}
		return e, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "could not determine interpretation of row comparison operator %s", op).
		WithHint("Row comparison operators must be associated with btree operator families.").At(loc)
}

func (b *Binder) bindComparable(ln, rn *pg.Node, s *scope, loc int32) (logical.Expr, logical.Expr, types.T, error) {
	l, err := b.bindExpr(ln, s)
	if err != nil {
		return nil, nil, types.T{}, err
	}
	r, err := b.bindExpr(rn, s)
	if err != nil {
		return nil, nil, types.T{}, err
	}
	l, r, t, err := b.comparable(l, r, "=", loc)
	return l, r, t, err
}

func (b *Binder) bindInList(a *pg.A_Expr, op string, s *scope) (logical.Expr, error) {
	l, err := b.bindExpr(a.Lexpr, s)
	if err != nil {
		return nil, err
	}
	list, ok := a.Rexpr.Node.(*pg.Node_List)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "IN with this right-hand side is not supported").At(a.Location)
	}
	var terms []logical.Expr
	for i, item := range list.List.Items {
		// binding a list of a million values takes seconds: let a
		// statement_timeout or cancel stop it
		if i%1024 == 1023 && b.Ctx != nil {
			if err := b.Ctx.Err(); err != nil {
				return nil, err
			}
		}
		r, err := b.bindExpr(item, s)
		if err != nil {
			return nil, err
		}
		cmp := "="
		if op == "<>" {
			cmp = "<>"
		}
		t, err := b.binaryOp(cmp, l, r, a.Location)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &logical.Bool{And: op == "<>", Args: terms}, nil
}

func (b *Binder) bindBetween(a *pg.A_Expr, s *scope) (logical.Expr, error) {
	x, err := b.bindExpr(a.Lexpr, s)
	if err != nil {
		return nil, err
	}
	list := a.Rexpr.Node.(*pg.Node_List).List.Items
	lo, err := b.bindExpr(list[0], s)
	if err != nil {
		return nil, err
	}
	hi, err := b.bindExpr(list[1], s)
	if err != nil {
		return nil, err
	}
	between := func(lo, hi logical.Expr) (logical.Expr, error) {
		ge, err := b.binaryOp(">=", x, lo, a.Location)
		if err != nil {
			return nil, err
		}
		le, err := b.binaryOp("<=", x, hi, a.Location)
		if err != nil {
			return nil, err
		}
		return &logical.Bool{And: true, Args: []logical.Expr{ge, le}}, nil
	}
	e, err := between(lo, hi)
	if err != nil {
		return nil, err
	}
	if a.Kind == pg.A_Expr_Kind_AEXPR_BETWEEN_SYM || a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
		e2, err := between(hi, lo)
		if err != nil {
			return nil, err
		}
		e = &logical.Bool{Args: []logical.Expr{e, e2}}
	}
	if a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN || a.Kind == pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
		return &logical.Not{Arg: e}, nil
	}
	return e, nil
}

func (b *Binder) bindBoolExpr(be *pg.BoolExpr, s *scope) (logical.Expr, error) {
	args := make([]logical.Expr, len(be.Args))
	for i, a := range be.Args {
		e, err := b.bindExpr(a, s)
		if err != nil {
			return nil, err
		}
		if e, err = b.requireBool(e, nodeLocation(a)); err != nil {
			return nil, err
		}
		if args[i], err = b.fold(e); err != nil {
			return nil, err
		}
	}
	switch be.Boolop {
	case pg.BoolExprType_NOT_EXPR:
		return &logical.Not{Arg: args[0]}, nil
	case pg.BoolExprType_AND_EXPR:
		return simplifyBool(true, args), nil
	}
	return simplifyBool(false, args), nil
}

// simplifyBool builds AND (and) or OR over args the way PostgreSQL
// simplifies them while planning: a constant that decides the result
// (false for AND, true for OR) replaces the whole, so the other arguments
// are never evaluated (x > 0 OR true never divides by zero), and a
// constant that cannot decide it (true for AND) is dropped. NULL stays.
func simplifyBool(and bool, args []logical.Expr) logical.Expr {
	var kept []logical.Expr
	for _, a := range args {
		c, ok := a.(*logical.Const)
		if !ok || c.Value == nil {
			kept = append(kept, a)
			continue
		}
		if v, _ := c.Value.(bool); v != and {
			return &logical.Const{Value: v, T: types.BoolT}
		}
	}
	switch len(kept) {
	case 0:
		return &logical.Const{Value: and, T: types.BoolT}
	case 1:
		return kept[0]
	}
	return &logical.Bool{And: and, Args: kept}
}

func (b *Binder) requireBool(e logical.Expr, loc int32) (logical.Expr, error) {
	if e.Type().Kind == types.Bool {
		return e, nil
	}
	if e.Type().Kind == types.Unknown {
		return b.coerce(e, types.BoolT)
	}
	return nil, sqlerr.New(sqlerr.DatatypeMismatch, "argument of boolean expression must be type boolean, not type %s", e.Type()).At(loc)
}

func (b *Binder) bindBooleanTest(bt *pg.BooleanTest, s *scope) (logical.Expr, error) {
	arg, err := b.bindExpr(bt.Arg, s)
	if err != nil {
		return nil, err
	}
	if arg, err = b.requireBool(arg, bt.Location); err != nil {
		return nil, err
	}
	t, f := true, false
	switch bt.Booltesttype {
	case pg.BoolTestType_IS_TRUE:
		return &logical.IsNull{Arg: arg, Truth: &t}, nil
	case pg.BoolTestType_IS_NOT_TRUE:
		return &logical.IsNull{Arg: arg, Truth: &t, Negate: true}, nil
	case pg.BoolTestType_IS_FALSE:
		return &logical.IsNull{Arg: arg, Truth: &f}, nil
	case pg.BoolTestType_IS_NOT_FALSE:
		return &logical.IsNull{Arg: arg, Truth: &f, Negate: true}, nil
	case pg.BoolTestType_IS_UNKNOWN:
		return &logical.IsNull{Arg: arg}, nil
	}
	return &logical.IsNull{Arg: arg, Negate: true}, nil
}

func (b *Binder) bindCase(ce *pg.CaseExpr, s *scope) (logical.Expr, error) {
	b.lazyFold++
	c, err := b.bindCaseArms(ce, s)
	b.lazyFold--
	if err != nil {
		return nil, err
	}
	// arms after a constant true condition, and arms whose condition is a
	// constant false or NULL, are never reached
	var whens, thens []logical.Expr
	for i, w := range c.Whens {
		k, ok := w.(*logical.Const)
		if !ok {
			whens, thens = append(whens, w), append(thens, c.Thens[i])
			continue
		}
		if v, _ := k.Value.(bool); v {
			c.Else = c.Thens[i]
			break
		}
	}
	c.Whens, c.Thens = whens, thens
	if err := b.foldAll(c.Whens); err != nil {
		return nil, err
	}
	if err := b.foldAll(c.Thens); err != nil {
		return nil, err
	}
	if c.Else != nil {
		if c.Else, err = b.foldNow(c.Else); err != nil {
			return nil, err
		}
	}
	if len(c.Whens) == 0 {
		if c.Else == nil {
			return &logical.Const{Value: nil, T: c.T}, nil
		}
		return c.Else, nil
	}
	return c, nil
}

func (b *Binder) bindCaseArms(ce *pg.CaseExpr, s *scope) (*logical.Case, error) {
	var operand logical.Expr
	var err error
	if ce.Arg != nil {
		if operand, err = b.bindExpr(ce.Arg, s); err != nil {
			return nil, err
		}
	}
	c := &logical.Case{}
	var results []logical.Expr
	for _, w := range ce.Args {
		cw := w.Node.(*pg.Node_CaseWhen).CaseWhen
		cond, err := b.bindExpr(cw.Expr, s)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			if cond, err = b.binaryOp("=", operand, cond, cw.Location); err != nil {
				return nil, err
			}
		} else if cond, err = b.requireBool(cond, cw.Location); err != nil {
			return nil, err
		}
		res, err := b.bindExpr(cw.Result, s)
		if err != nil {
			return nil, err
		}
		c.Whens = append(c.Whens, cond)
		results = append(results, res)
	}
	if ce.Defresult != nil {
		def, err := b.bindExpr(ce.Defresult, s)
		if err != nil {
			return nil, err
		}
		results = append(results, def)
	}
	// PostgreSQL resolves the type with the ELSE result first (then the
	// THENs in order): CASE WHEN … THEN text ELSE char(4) END is a char
	if ce.Defresult != nil {
		n := len(results) - 1
		results = append([]logical.Expr{results[n]}, results[:n]...)
	}
	t, err := b.unify(results, "CASE", ce.Location)
	if err != nil {
		return nil, err
	}
	c.T = t
	if ce.Defresult != nil {
		c.Else, results = results[0], results[1:]
	}
	c.Thens = results
	return c, nil
}

// unify coerces exprs (in place) to their common type.
func (b *Binder) unify(exprs []logical.Expr, what string, loc int32) (types.T, error) {
	ts := make([]types.T, len(exprs))
	for i, e := range exprs {
		ts[i] = e.Type()
	}
	t, err := commonType(ts, what)
	if err != nil {
		return types.T{}, err.(*sqlerr.Error).At(loc)
	}
	// COALESCE(oid_column, 0) stays an oid (a name stays a name): a
	// catalog type wins over the constants it is mixed with
	for i, e := range exprs {
		if _, isConst := e.(*logical.Const); !isConst && ts[i].PG != 0 && ts[i].Kind == t.Kind && !ts[i].IsRegType() {
			t = ts[i]
			break
		}
	}
	for i, e := range exprs {
		c, err := b.coerce(e, t)
		if err != nil {
			return types.T{}, err
		}
		exprs[i] = c
	}
	return t, nil
}

func (b *Binder) bindCoalesce(args []*pg.Node, s *scope) (logical.Expr, error) {
	b.lazyFold++
	exprs, err := b.bindList(args, s)
	var t types.T
	if err == nil {
		t, err = b.unify(exprs, "COALESCE", nodeLocation(args[0]))
	}
	b.lazyFold--
	if err != nil {
		return nil, err
	}
	// arguments after the first non-NULL constant are never reached
	for i, e := range exprs {
		if c, ok := e.(*logical.Const); ok && c.Value != nil {
			exprs = exprs[:i+1]
			break
		}
	}
	if err := b.foldAll(exprs); err != nil {
		return nil, err
	}
	if len(exprs) == 1 && exprs[0].Type() == t {
		return exprs[0], nil
	}
	return &logical.Coalesce{Args: exprs, T: t}, nil
}

// foldAll folds exprs in place, raising their data errors.
func (b *Binder) foldAll(exprs []logical.Expr) error {
	for i, e := range exprs {
		if e == nil {
			continue
		}
		var err error
		if exprs[i], err = b.foldNow(e); err != nil {
			return err
		}
	}
	return nil
}

func (b *Binder) bindList(ns []*pg.Node, s *scope) ([]logical.Expr, error) {
	out := make([]logical.Expr, len(ns))
	for i, n := range ns {
		e, err := b.bindExpr(n, s)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func (b *Binder) bindMinMax(mm *pg.MinMaxExpr, s *scope) (logical.Expr, error) {
	exprs, err := b.bindList(mm.Args, s)
	if err != nil {
		return nil, err
	}
	name := "GREATEST"
	if mm.Op == pg.MinMaxOp_IS_LEAST {
		name = "LEAST"
	}
	t, err := b.unify(exprs, name, mm.Location)
	if err != nil {
		return nil, err
	}
	return &logical.Call{Name: strings.ToLower(name), Args: exprs, Kernel: exec.GreatestKernel(t, name == "GREATEST"), T: t}, nil
}

func (b *Binder) bindSQLValueFunction(f *pg.SQLValueFunction) (logical.Expr, error) {
	us := b.Env.Now.UTC().UnixMicro()
	// the date and clock of now in the session's time zone
	local := types.ToLocal(us, b.Env.TimeZone())
	localDay := local / types.MicrosPerDay
	if local < 0 && local%types.MicrosPerDay != 0 {
		localDay--
	}
	switch f.Op {
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		return &logical.Const{Value: int32(localDay), T: types.DateT}, nil
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		return &logical.Const{Value: us, T: types.TimestampTZT}, nil
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		return &logical.Const{Value: local, T: types.TimestampT}, nil
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N,
		pg.SQLValueFunctionOp_SVFOP_LOCALTIME, pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		// (Weft has no time with time zone: current_time is the local clock)
		return &logical.Const{Value: local - localDay*types.MicrosPerDay, T: types.TimeT}, nil
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		return &logical.Const{Value: b.SearchPath[0], T: types.TextT}, nil
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
		return &logical.Const{Value: "weft", T: types.NameT}, nil
	}
	// current_user, user, current_role; session_user
	user := b.User
	if f.Op == pg.SQLValueFunctionOp_SVFOP_SESSION_USER && b.SessionUser != "" {
		user = b.SessionUser
	}
	if user == "" {
		user = "weft"
	}
	return &logical.Const{Value: user, T: types.NameT}, nil
}

// fold replaces a constant expression by its value. Inside the arguments
// of COALESCE and CASE a data error (class 22: 1/0, a bad cast) is left
// unfolded: the COALESCE or CASE first drops the arguments its constants
// make unreachable, then folds the rest with foldNow. So COALESCE(1, 1/0)
// and CASE WHEN true THEN 1 ELSE 1/0 END are 1 while COALESCE(x, 1/0)
// fails, as in PostgreSQL.
func (b *Binder) fold(e logical.Expr) (logical.Expr, error) {
	out, ok, err := physical.FoldContext(b.Ctx, b.Env, e)
	if err != nil && b.lazyFold > 0 && strings.HasPrefix(sqlerr.Code(err), "22") {
		return e, nil
	}
	if err != nil && b.foldErr != nil && strings.HasPrefix(sqlerr.Code(err), "22") {
		// raised once the whole query is bound: PostgreSQL folds
		// constants while planning, after every analysis error
		if *b.foldErr == nil {
			*b.foldErr = err
		}
		return e, nil
	}
	if err != nil || !ok {
		return e, err
	}
	return out, nil
}

// foldNow is fold for a value needed while planning (LIMIT's count): its
// data errors are raised here.
func (b *Binder) foldNow(e logical.Expr) (logical.Expr, error) {
	out, ok, err := physical.FoldContext(b.Ctx, b.Env, e)
	if err != nil || !ok {
		return e, err
	}
	return out, nil
}

// bindAnyAll binds `x op ANY (array)` and `x op ALL (array)`. Weft has no
// array type: an ARRAY[…] constructor becomes an OR (AND) of comparisons,
// ARRAY(subquery) the subquery form, and any other array (a literal, or a
// catalog column holding an array literal as text) is read at run time.
func (b *Binder) bindAnyAll(a *pg.A_Expr, op string, all bool, s *scope) (logical.Expr, error) {
	switch r := a.Rexpr.Node.(type) {
	case *pg.Node_AArrayExpr:
		l, err := b.bindExpr(a.Lexpr, s)
		if err != nil {
			return nil, err
		}
		if len(r.AArrayExpr.Elements) == 0 {
			return &logical.Const{Value: all, T: types.BoolT}, nil
		}
		var terms []logical.Expr
		for _, item := range r.AArrayExpr.Elements {
			e, err := b.bindExpr(item, s)
			if err != nil {
				return nil, err
			}
			t, err := b.binaryOp(op, l, e, a.Location)
			if err != nil {
				return nil, err
			}
			terms = append(terms, t)
		}
		if len(terms) == 1 {
			return terms[0], nil
		}
		return &logical.Bool{And: all, Args: terms}, nil
	case *pg.Node_SubLink:
		if r.SubLink.SubLinkType == pg.SubLinkType_ARRAY_SUBLINK {
			kind := pg.SubLinkType_ANY_SUBLINK
			if all {
				kind = pg.SubLinkType_ALL_SUBLINK
			}
			return b.bindSubLink(&pg.SubLink{SubLinkType: kind, Testexpr: a.Lexpr, OperName: a.Name, Subselect: r.SubLink.Subselect, Location: r.SubLink.Location}, s)
		}
	}
	l, err := b.bindExpr(a.Lexpr, s)
	if err != nil {
		return nil, err
	}
	arr, err := b.bindExpr(stripArrayCast(a.Rexpr), s)
	if err != nil {
		return nil, err
	}
	if p, ok := arr.(*logical.Param); ok && p.T.Kind == types.Unknown && l.Type().Kind != types.Unknown {
		// x = ANY($1): the parameter is an array of x's type
		if arr, err = b.coerce(arr, types.ArrayOf(plainType(l.Type()))); err != nil {
			return nil, err
		}
	}
	elemT := types.TextT
	if arr.Type().Kind == types.Array {
		elemT = arr.Type().ElemT()
	}
	arr = arrayAsText(arr)
	if !arr.Type().IsString() && arr.Type().Kind != types.Unknown {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "op ANY/ALL needs an array").At(a.Location)
	}
	if arr, err = b.coerce(arr, types.TextT); err != nil {
		return nil, err
	}
	t := l.Type()
	if t.Kind == types.Unknown {
		t = elemT
		if l, err = b.coerce(l, t); err != nil {
			return nil, err
		}
	}
	name := map[bool]string{false: op + " ANY", true: op + " ALL"}[all]
	return &logical.Call{Name: name, Args: []logical.Expr{l, arr}, Kernel: exec.AnyTextArrayKernel(exec.CmpOp(op), t, all), T: types.BoolT, Infix: true}, nil
}

// stripArrayCast drops a cast to an array type ('{a,b}'::text[]): the
// array stays in its text form.
func stripArrayCast(n *pg.Node) *pg.Node {
	if tc := n.GetTypeCast(); tc != nil && tc.TypeName != nil && len(tc.TypeName.ArrayBounds) > 0 {
		return tc.Arg
	}
	return n
}

// catalogRelationOIDs are PostgreSQL's OIDs of the catalog relations
// clients name in 'pg_class'::regclass.
var catalogRelationOIDs = map[string]int64{
	"pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259, "pg_database": 1262,
	"pg_constraint": 2606, "pg_description": 2609, "pg_index": 2610, "pg_namespace": 2615, "pg_trigger": 2620,
	"pg_am": 2601, "pg_attrdef": 2604, "pg_rewrite": 2618, "pg_extension": 3079, "pg_collation": 3456,
	"pg_inherits": 2611, "pg_policy": 3256, "pg_roles": 1260, "pg_tablespace": 1213,
}

// regCast resolves a string literal cast to regclass, regtype,
// regnamespace, regproc or regrole by name, as PostgreSQL does when the
// query is planned: the result is the object's OID (regproc stays its
// name, which is what pg_type's typinput and friends hold here).
func (b *Binder) regCast(tc *pg.TypeCast) (logical.Expr, bool, error) {
	tn := names(tc.TypeName.Names)
	kind := tn[len(tn)-1]
	c := tc.Arg.GetAConst()
	if c == nil || c.GetSval() == nil || len(tc.TypeName.ArrayBounds) > 0 {
		return nil, false, nil
	}
	lit := strings.TrimSpace(c.GetSval().Sval)
	if _, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return nil, false, nil // a number: an ordinary cast
	}
	if kind == "regproc" || kind == "regprocedure" {
		_, name, err := splitRegName(lit)
		if err != nil {
			return nil, true, sqlerr.Wrap(err).At(c.Location)
		}
		return &logical.Const{Value: name, T: types.TextT}, true, nil
	}
	regT, ok := types.FromName(kind, nil)
	if !ok || !regT.IsRegType() {
		return nil, false, nil
	}
	v, err := b.regOID(regT, lit)
	if err != nil {
		return nil, true, sqlerr.Wrap(err).At(c.Location)
	}
	return &logical.Const{Value: v, T: regT}, true, nil
}

// splitRegName reads a possibly qualified name as regclass input does:
// dots outside double quotes separate the parts, unquoted parts fold to
// lower case, and a three-part name's first part must be this database.
func splitRegName(lit string) (schema, name string, err error) {
	var parts []string
	var cur strings.Builder
	quoted, wasQuoted := false, false
	flush := func() {
		p := cur.String()
		if !wasQuoted {
			p = strings.ToLower(strings.TrimSpace(p))
		}
		parts = append(parts, p)
		cur.Reset()
		wasQuoted = false
	}
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		switch {
		case c == '"' && quoted && i+1 < len(lit) && lit[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
			wasQuoted = true
		case c == '.' && !quoted:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	switch len(parts) {
	case 1:
		return "", parts[0], nil
	case 2:
		return parts[0], parts[1], nil
	case 3:
		if parts[0] != "weft" {
			return "", "", sqlerr.New(sqlerr.FeatureNotSupported, "cross-database references are not implemented: %s", lit)
		}
		return parts[1], parts[2], nil
	}
	return "", "", sqlerr.New(sqlerr.SyntaxError, "improper qualified name (too many dotted names): %s", lit)
}

// regOID reads an object identifier type's input: the OID of the
// relation, type, schema or role that lit names (a number is taken as
// it is), or PostgreSQL's error for a name nothing has.
func (b *Binder) regOID(regT types.T, lit string) (int64, error) {
	lit = strings.TrimSpace(lit)
	if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return v, nil
	}
	schema, name, err := splitRegName(lit)
	if err != nil {
		return 0, err
	}
	switch regT.PG {
	case types.RegClassT.PG:
		if t, v, ok := b.Cat.Lookup(schema, name, b.SearchPath); ok {
			if t != nil {
				return int64(t.OID), nil
			}
			return int64(v.OID), nil
		}
		if o, ok := catalogRelationOIDs[name]; ok && (schema == "" || schema == "pg_catalog") {
			return o, nil
		}
		if o, ok := b.indexOID(schema, name); ok {
			return o, nil
		}
		if q, ok := b.Cat.LookupSequence(schema, name, b.SearchPath); ok {
			return int64(q.OID), nil
		}
		return 0, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", lit)
	case types.RegTypeT.PG:
		for _, bt := range builtinTypes {
			if bt.name == strings.ToLower(name) {
				return bt.oid, nil
			}
		}
		if t, ok := types.FromName(strings.ToLower(name), nil); ok {
			return int64(t.OID()), nil
		}
		if u, ok := b.Cat.LookupType(schema, name, b.SearchPath); ok {
			return int64(u.OID), nil
		}
		for _, pt := range pseudoTypes {
			if pt.name == strings.ToLower(name) && (schema == "" || schema == "pg_catalog") {
				return pt.oid, nil
			}
		}
		return 0, sqlerr.New(sqlerr.UndefinedObject, "type \"%s\" does not exist", lit)
	case types.RegNamespaceT.PG:
		if name == "pg_catalog" {
			return catalogNamespaceOID, nil
		}
		if sc, ok := b.Cat.Schema(name); ok {
			return int64(sc.OID), nil
		}
		return 0, sqlerr.New(sqlerr.UndefinedSchema, "schema \"%s\" does not exist", lit)
	case types.RegRoleT.PG:
		if r, ok := b.Cat.Role(name); ok {
			return int64(r.OID), nil
		}
		return 0, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", lit)
	}
	return 0, sqlerr.New(sqlerr.FeatureNotSupported, "cannot read type %s", regT)
}

// regOIDCall casts text computed at run time (a column's value) to an
// object identifier type, looking each name up as a constant would be.
func (b *Binder) regOIDCall(arg logical.Expr, to types.T) logical.Expr {
	return &logical.Call{Name: to.String(), Args: []logical.Expr{arg}, T: to,
		Kernel: exec.NameOIDKernel(to, func(name string) (int64, error) { return b.regOID(to, name) })}
}

// isArrayTypeName recognises the array types kept in their text form:
// int2vector, oidvector and _int4-style names (int4[] is a real array).
func isArrayTypeName(tn *pg.TypeName) bool {
	if tn == nil {
		return false
	}
	ns := names(tn.Names)
	last := ns[len(ns)-1]
	return len(tn.ArrayBounds) == 0 && (last == "int2vector" || last == "oidvector" || strings.HasPrefix(last, "_"))
}

// arrayElementTypes are the element types of the catalog's array columns
// (which Weft holds as text), so a subscript yields a value of the right
// type.
var arrayElementTypes = map[string]types.T{
	"prattrs": types.Int2T, "indkey": types.Int2T, "indoption": types.Int2T, "conkey": types.Int2T, "confkey": types.Int2T, "stxkeys": types.Int2T,
	"polroles": types.OIDT, "proargtypes": types.OIDT, "indclass": types.OIDT, "stxkind": types.CharT1,
}

// bindSubscript binds array[i] over an array in text form: the element is
// read as the array's element type when the array is a catalog column
// whose element type is known, else as text.
func (b *Binder) bindSubscript(ind *pg.A_Indirection, s *scope) (logical.Expr, error) {
	if len(ind.Indirection) == 1 && ind.Indirection[0].GetString_() != nil {
		return b.bindFieldSelect(ind, s)
	}
	if len(ind.Indirection) != 1 || ind.Indirection[0].GetAIndices() == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this kind of subscript or field selection is not supported yet")
	}
	arr, err := b.bindExpr(ind.Arg, s)
	if err != nil {
		return nil, err
	}
	if ai := ind.Indirection[0].GetAIndices(); ai.IsSlice {
		return b.bindSlice(arr, ai, s)
	}
	var elem types.T
	switch at := arr.Type(); {
	case at.Kind == types.Array:
		elem = at.ElemT()
	case at.Kind == types.Text && at.Elem != types.Unknown:
		elem = types.T{Kind: at.Elem} // a catalog array in text form
	}
	arr = arrayAsText(arr)
	if arr, err = b.coerce(arr, types.TextT); err != nil {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "cannot subscript a value that is not an array")
	}
	idx, err := b.bindExpr(ind.Indirection[0].GetAIndices().Uidx, s)
	if err != nil {
		return nil, err
	}
	if idx, err = b.coerce(idx, types.Int4T); err != nil {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "array subscript must have type integer")
	}
	if elem.Kind == 0 {
		elem = types.TextT
	}
	var col logical.Column
	switch ref := arr.(type) {
	case *logical.ColRef:
		col = ref.Col
	case *logical.OuterRef:
		col = ref.Col
	}
	if t, ok := arrayElementTypes[col.Name]; ok {
		elem = t
	}
	return &logical.Call{Name: "array_element", Args: []logical.Expr{arr, idx}, Kernel: exec.ArrayElementKernel(elem), T: elem}, nil
}

// bindSlice binds arr[lo:hi] (either bound may be left out) over a
// one-dimensional array: an array of the same type.
func (b *Binder) bindSlice(arr logical.Expr, ai *pg.A_Indices, s *scope) (logical.Expr, error) {
	at := arr.Type()
	if at.Kind != types.Array {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this kind of subscript or field selection is not supported yet")
	}
	args := []logical.Expr{arrayAsText(arr)}
	for _, n := range []*pg.Node{ai.Lidx, ai.Uidx} {
		if n == nil {
			continue
		}
		bound, err := b.bindExpr(n, s)
		if err != nil {
			return nil, err
		}
		if bt := bound.Type(); bt.Kind == types.Numeric || bt.IsFloat() || bt.Kind == types.Int8 {
			// subscripts take assignment casts in PostgreSQL: 1.5 rounds
			bound = &logical.Cast{Arg: bound, To: types.Int4T, Explicit: true}
		}
		if bound, err = b.coerce(bound, types.Int4T); err != nil {
			if se, ok := err.(*sqlerr.Error); ok && strings.HasPrefix(se.Code, "22") {
				return nil, se.At(nodeLocation(n)) // a literal that is no integer
			}
			return nil, sqlerr.New(sqlerr.DatatypeMismatch, "array subscript must have type integer").At(nodeLocation(n))
		}
		args = append(args, bound)
	}
	slice := &logical.Call{Name: "array_slice", Args: args, Kernel: exec.ArraySliceKernel(ai.Lidx != nil, ai.Uidx != nil), T: types.TextT}
	return &logical.Cast{Arg: slice, To: at, Explicit: true}, nil
}

// arrayAsText turns an array value into its text form, which the array
// functions and operators read (catalog arrays are kept that way).
// regArrayCast binds x::regtype[] (and the other object identifier
// arrays) over an array or oidvector of OIDs: the array of the objects'
// names, held in its text form ('{bigint,text}'), which is how clients
// read it (pgcli: COALESCE(proallargtypes::regtype[], proargtypes::regtype[])::text[]).
func (b *Binder) regArrayCast(tc *pg.TypeCast, s *scope) (logical.Expr, bool, error) {
	tn := names(tc.TypeName.Names)
	regT, ok := types.FromName(tn[len(tn)-1], nil)
	if !ok || !regT.IsRegType() || len(tc.TypeName.ArrayBounds) != 1 {
		return nil, false, nil
	}
	arg, err := b.bindExpr(tc.Arg, s)
	if err != nil {
		return nil, true, err
	}
	at := arg.Type()
	if at.Kind != types.Array && at.Kind != types.Text && at.Kind != types.Unknown {
		return nil, false, nil
	}
	arg, err = b.coerce(arrayAsText(arg), types.TextT)
	if err != nil {
		return nil, true, err
	}
	out := types.T{Kind: types.Text, PG: 1009, Elem: types.Text}
	return &logical.Call{Name: "regnames", Args: []logical.Expr{arg}, T: out,
		Kernel: exec.RowKernel(out, func(ds []types.Datum) (types.Datum, error) {
			elems, _, err := types.SplitArrayLiteral(ds[0].(string))
			if err != nil {
				return nil, err
			}
			for i, e := range elems {
				if e == nil {
					continue
				}
				oid, err := strconv.ParseInt(strings.TrimSpace(*e), 10, 64)
				if err != nil {
					return nil, sqlerr.New(sqlerr.InvalidText, "invalid input syntax for type oid: \"%s\"", *e)
				}
				name := b.regName(regT, oid)
				elems[i] = &name
			}
			return types.JoinArrayLiteral(elems), nil
		})}, true, nil
}

// vectorAsArray rewrites an int2vector's or oidvector's text ('20 23') as
// an array literal ('{20,23}'): PostgreSQL casts them to arrays
// (proargtypes::regtype[]), Weft holds them as text in their own form.
func vectorAsArray(e logical.Expr) logical.Expr {
	return &logical.Call{Name: "vector_as_array", Args: []logical.Expr{e}, T: types.TextT,
		Kernel: exec.RowKernel(types.TextT, func(ds []types.Datum) (types.Datum, error) {
			return "{" + strings.Join(strings.Fields(ds[0].(string)), ",") + "}", nil
		})}
}

func arrayAsText(e logical.Expr) logical.Expr {
	if e.Type().Kind != types.Array {
		return e
	}
	return &logical.Cast{Arg: e, To: types.TextT, Explicit: true}
}

// bindArrayConstructor binds ARRAY[e1, e2, …]: the elements take their
// common type.
func (b *Binder) bindArrayConstructor(a *pg.A_ArrayExpr, s *scope) (logical.Expr, error) {
	elems, err := b.bindList(a.Elements, s)
	if err != nil {
		return nil, err
	}
	ts := make([]types.T, len(elems))
	for i, e := range elems {
		ts[i] = e.Type()
		if ts[i].Kind == types.Array {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported yet").At(a.Location)
		}
	}
	et, err := commonType(ts, "ARRAY")
	if err != nil {
		return nil, err.(*sqlerr.Error).At(a.Location)
	}
	et = plainType(et)
	for i := range elems {
		if elems[i], err = b.coerce(elems[i], et); err != nil {
			return nil, err
		}
	}
	return &logical.Call{Name: "ARRAY", Args: elems, Kernel: exec.ArrayConstructKernel(types.ArrayOf(et)), T: types.ArrayOf(et)}, nil
}

// bindFieldSelect binds (record).field for the (x, n) records of
// information_schema._pg_expandarray, the one composite value Weft makes.
func (b *Binder) bindFieldSelect(ind *pg.A_Indirection, s *scope) (logical.Expr, error) {
	field := ind.Indirection[0].GetString_().Sval
	if e, ok, err := b.rowField(ind.Arg, field, s); ok || err != nil {
		return e, err
	}
	rec, err := b.bindExpr(ind.Arg, s)
	if err != nil {
		return nil, err
	}
	if e, ok, err := recordColumnField(rec, field); ok || err != nil {
		if err != nil {
			return nil, sqlerr.Wrap(err).At(nodeLocation(ind.Arg))
		}
		return e, nil
	}
	if rec.Type().PG != 2249 {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "column notation .%s applied to type %s, which is not a composite type", field, rec.Type()).At(nodeLocation(ind.Arg))
	}
	var t types.T
	pos := 0
	switch field {
	case "x":
		t = rec.Type().ElemOrText()
	case "n":
		t, pos = types.Int4T, 1
	default:
		return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" not found in data type record", field).At(nodeLocation(ind.Arg))
	}
	return &logical.Call{Name: "(record)." + field, Args: []logical.Expr{rec}, Kernel: exec.RecordFieldKernel(pos, t), T: t}, nil
}
