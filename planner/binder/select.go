package binder

import (
	"fmt"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"slices"
	"strings"
)

// BindQuery binds a top-level SELECT (or VALUES) statement.
func (b *Binder) BindQuery(stmt *pg.SelectStmt) (logical.Plan, error) {
	b.levels = nil
	b.pushLevel()
	defer b.popLevel()
	var foldErr error
	b.foldErr = &foldErr
	b.query, b.viewRefs, b.sharedViews = stmt, nil, nil
	defer func() { b.foldErr, b.query, b.viewRefs, b.sharedViews = nil, nil, nil, nil }()
	plan, _, err := b.bindSelect(stmt, nil)
	if err == nil {
		err = foldErr
	}
	if err != nil {
		return nil, err
	}
	return b.namedRegColumns(plan), nil
}

// BindInsertSource binds INSERT's SELECT, whose untyped outputs take the
// types of the columns they go to (targets, in output order).
func (b *Binder) BindInsertSource(stmt *pg.SelectStmt, targets []types.T) (logical.Plan, error) {
	b.untypedAs = targets
	defer func() { b.untypedAs, b.coreUntypedAs = nil, nil }()
	return b.BindQuery(stmt)
}

// bindSelect binds a query whose enclosing scope (for correlation) is parent.
func (b *Binder) bindSelect(stmt *pg.SelectStmt, parent *scope) (logical.Plan, *scope, error) {
	untypedAs := b.untypedAs
	b.untypedAs = nil
	if hasGroupingSets(stmt) {
		u, err := b.groupingSetsUnion(stmt)
		if err != nil {
			return nil, nil, err
		}
		return b.bindSelect(u, parent)
	}
	if stmt.WithClause != nil {
		if err := b.pushCTEs(stmt, parent); err != nil {
			return nil, nil, err
		}
		defer func() { b.ctes = b.ctes[:len(b.ctes)-1] }()
	}
	if stmt.IntoClause != nil {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "SELECT INTO is not supported; use CREATE TABLE AS")
	}
	if err := CheckLockingShape(stmt); err != nil {
		return nil, nil, err
	}
	var plan logical.Plan
	var err error
	var outScope *scope
	switch {
	case stmt.Op != pg.SetOperation_SETOP_NONE && stmt.Op != pg.SetOperation_SET_OPERATION_UNDEFINED:
		plan, err = b.bindSetOp(stmt, parent)
		if err != nil {
			return nil, nil, err
		}
		outScope = b.outputScope(plan, parent)
		plan, err = b.bindOrderLimit(stmt, plan, outScope, nil)
	case len(stmt.ValuesLists) > 0:
		plan, err = b.bindValues(stmt.ValuesLists, parent)
		if err != nil {
			return nil, nil, err
		}
		outScope = b.outputScope(plan, parent)
		plan, err = b.bindOrderLimit(stmt, plan, outScope, nil)
	default:
		b.coreUntypedAs = untypedAs
		plan, outScope, err = b.bindSelectCore(stmt, parent)
	}
	if err != nil {
		return nil, nil, err
	}
	return plan, outScope, nil
}

func (b *Binder) outputScope(p logical.Plan, parent *scope) *scope {
	s := &scope{parent: parent, level: b.curLevel()}
	for _, c := range p.Columns() {
		s.items = append(s.items, scopeItem{col: c})
	}
	return s
}

func (b *Binder) bindValues(lists []*pg.Node, parent *scope) (logical.Plan, error) {
	s := &scope{parent: parent, level: b.curLevel(), aggErr: "VALUES"}
	var rows [][]logical.Expr
	width := -1
	for _, l := range lists {
		items := l.Node.(*pg.Node_List).List.Items
		if width >= 0 && len(items) != width {
			return nil, sqlerr.New(sqlerr.SyntaxError, "VALUES lists must all be the same length").At(nodeLocation(items[0]))
		}
		width = len(items)
		row, err := b.bindList(items, s)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	cols := make([]logical.Column, width)
	for c := 0; c < width; c++ {
		colExprs := make([]logical.Expr, len(rows))
		for r := range rows {
			colExprs[r] = rows[r][c]
		}
		t, err := b.unify(colExprs, "VALUES", -1)
		if err != nil {
			return nil, err
		}
		for r := range rows {
			rows[r][c] = colExprs[r]
		}
		cols[c] = b.newColumn("column"+itoa(c+1), t)
	}
	return &logical.Values{Rows: rows, Cols: cols}, nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func (b *Binder) bindSetOp(stmt *pg.SelectStmt, parent *scope) (logical.Plan, error) {
	left, _, err := b.bindSelect(stmt.Larg, parent)
	if err != nil {
		return nil, err
	}
	right, _, err := b.bindSelect(stmt.Rarg, parent)
	if err != nil {
		return nil, err
	}
	lc, rc := left.Columns(), right.Columns()
	kindName := map[pg.SetOperation]string{pg.SetOperation_SETOP_UNION: "UNION", pg.SetOperation_SETOP_INTERSECT: "INTERSECT", pg.SetOperation_SETOP_EXCEPT: "EXCEPT"}[stmt.Op]
	if len(lc) != len(rc) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "each %s query must have the same number of columns", kindName)
	}
	cols := make([]logical.Column, len(lc))
	lexprs := make([]logical.Expr, len(lc))
	rexprs := make([]logical.Expr, len(lc))
	castL, castR := false, false
	for i := range lc {
		lu, ru := b.untypedOut[lc[i].ID], b.untypedOut[rc[i].ID]
		var t types.T
		switch {
		case lu && !ru:
			t = withoutLength(rc[i].T)
		case ru && !lu:
			t = withoutLength(lc[i].T)
		default:
			if t, err = commonType([]types.T{lc[i].T, rc[i].T}, kindName); err != nil {
				return nil, err
			}
		}
		cols[i] = b.newColumn(lc[i].Name, t)
		if lexprs[i], err = b.coerceBranch(lc[i], lu, t); err != nil {
			return nil, err
		}
		if rexprs[i], err = b.coerceBranch(rc[i], ru, t); err != nil {
			return nil, err
		}
		castL = castL || lc[i].T != t
		castR = castR || rc[i].T != t
	}
	if castL {
		left = &logical.Project{Input: left, Exprs: lexprs, Cols: b.freshCols(lc, cols)}
	}
	if castR {
		right = &logical.Project{Input: right, Exprs: rexprs, Cols: b.freshCols(rc, cols)}
	}
	kind := map[pg.SetOperation]logical.SetOpKind{pg.SetOperation_SETOP_UNION: logical.Union, pg.SetOperation_SETOP_INTERSECT: logical.Intersect, pg.SetOperation_SETOP_EXCEPT: logical.Except}[stmt.Op]
	return &logical.SetOp{Kind: kind, All: stmt.All, Left: left, Right: right, Cols: cols}, nil
}

// qualSimplify simplifies a WHERE condition, where NULL counts as false
// (as PostgreSQL's planner does): a NULL constant among the arguments of
// the top AND makes the whole false, and one among those of an OR is
// dropped.
func qualSimplify(cond logical.Expr) logical.Expr {
	isNull := func(e logical.Expr) bool {
		c, ok := e.(*logical.Const)
		return ok && c.Value == nil
	}
	if isNull(cond) {
		return &logical.Const{Value: false, T: types.BoolT}
	}
	bo, ok := cond.(*logical.Bool)
	if !ok {
		return cond
	}
	if bo.And {
		for _, a := range bo.Args {
			if isNull(qualSimplify(a)) || isFalse(qualSimplify(a)) {
				return &logical.Const{Value: false, T: types.BoolT}
			}
		}
		return cond
	}
	var kept []logical.Expr
	for _, a := range bo.Args {
		if !isNull(a) {
			kept = append(kept, a)
		}
	}
	return simplifyBool(false, kept)
}

func isFalse(e logical.Expr) bool {
	c, ok := e.(*logical.Const)
	return ok && c.Value == false
}

// coerceBranch converts a set operation branch's column c to t; an
// untyped one (a NULL or literal that became text) is converted as its
// literal would have been, by an explicit cast.
func (b *Binder) coerceBranch(c logical.Column, untyped bool, t types.T) (logical.Expr, error) {
	if untyped && c.T != t {
		return &logical.Cast{Arg: &logical.ColRef{Col: c}, To: t}, nil
	}
	return b.coerce(&logical.ColRef{Col: c}, t)
}

func (b *Binder) markUntyped(id logical.ColumnID) {
	if b.untypedOut == nil {
		b.untypedOut = map[logical.ColumnID]bool{}
	}
	b.untypedOut[id] = true
}

func (b *Binder) freshCols(src, typed []logical.Column) []logical.Column {
	out := make([]logical.Column, len(src))
	for i := range src {
		out[i] = b.newColumn(src[i].Name, typed[i].T)
	}
	return out
}

// target is one SELECT-list entry after binding.
type target struct {
	expr logical.Expr
	name string
	loc  int32 // where its select-list item starts (one item, such as *, may make several)
	// untyped is the expression before resolveUnknown made it text (nil
	// when it had a type)
	untyped logical.Expr
}

// rowInAsExists rewrites each top-level conjunct (a, b) IN (SELECT x, y
// …) of a WHERE clause as EXISTS (SELECT 1 FROM (SELECT x, y …) AS
// in(c1, c2) WHERE in.c1 = a AND in.c2 = b): where a condition only
// filters, NULL and false alike reject the row, so the two agree, and
// the EXISTS becomes a semi join. (Elsewhere, and under NOT, the row is
// compared with the subquery's rows by value: bindRowSubLink.)
func rowInAsExists(n *pg.Node) (*pg.Node, error) {
	if be := n.GetBoolExpr(); be != nil && be.Boolop == pg.BoolExprType_AND_EXPR {
		args := make([]*pg.Node, len(be.Args))
		for i, a := range be.Args {
			var err error
			if args[i], err = rowInAsExists(a); err != nil {
				return nil, err
			}
		}
		return &pg.Node{Node: &pg.Node_BoolExpr{BoolExpr: &pg.BoolExpr{Boolop: be.Boolop, Args: args, Location: be.Location}}}, nil
	}
	sl := n.GetSubLink()
	if sl == nil || sl.SubLinkType != pg.SubLinkType_ANY_SUBLINK || sl.Testexpr == nil {
		return n, nil
	}
	left, isRow := rowItems(sl.Testexpr)
	if !isRow || (len(sl.OperName) > 0 && opName(sl.OperName) != "=") {
		return n, nil
	}
	if sel := sl.Subselect.GetSelectStmt(); sel != nil && sel.Op == pg.SetOperation_SETOP_NONE && !selectsStar(sel) {
		switch {
		case len(sel.TargetList) > len(left):
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too many columns").At(sl.Location)
		case len(sel.TargetList) < len(left):
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too few columns").At(sl.Location)
		}
	}
	alias := &pg.Alias{Aliasname: "?in"}
	conds := make([]*pg.Node, len(left))
	for i, l := range left {
		col := fmt.Sprintf("?in%d", i+1)
		alias.Colnames = append(alias.Colnames, pg.MakeStrNode(col))
		ref := pg.MakeColumnRefNode([]*pg.Node{pg.MakeStrNode("?in"), pg.MakeStrNode(col)}, sl.Location)
		conds[i] = pg.MakeAExprNode(pg.A_Expr_Kind_AEXPR_OP, []*pg.Node{pg.MakeStrNode("=")}, ref, l, sl.Location)
	}
	from := &pg.Node{Node: &pg.Node_RangeSubselect{RangeSubselect: &pg.RangeSubselect{Subquery: sl.Subselect, Alias: alias}}}
	inner := &pg.SelectStmt{
		TargetList:  []*pg.Node{pg.MakeResTargetNodeWithVal(pg.MakeAConstIntNode(1, -1), -1)},
		FromClause:  []*pg.Node{from},
		WhereClause: pg.MakeBoolExprNode(pg.BoolExprType_AND_EXPR, conds, sl.Location),
	}
	exists := &pg.SubLink{SubLinkType: pg.SubLinkType_EXISTS_SUBLINK, Subselect: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: inner}}, Location: sl.Location}
	return &pg.Node{Node: &pg.Node_SubLink{SubLink: exists}}, nil
}

// selectsStar reports whether a select list has a * (its width is then
// known only after binding).
func selectsStar(sel *pg.SelectStmt) bool {
	for _, t := range sel.TargetList {
		if cr := t.GetResTarget().GetVal().GetColumnRef(); cr != nil {
			for _, f := range cr.Fields {
				if f.GetAStar() != nil {
					return true
				}
			}
		}
	}
	return false
}

func (b *Binder) bindSelectCore(stmt *pg.SelectStmt, parent *scope) (logical.Plan, *scope, error) {
	untypedAs := b.coreUntypedAs
	b.coreUntypedAs = nil
	plan, from, err := b.bindFromList(stmt.FromClause, parent)
	if err != nil {
		return nil, nil, err
	}
	if stmt.WhereClause != nil {
		ws := *from
		ws.aggErr = "WHERE"
		where, err := rowInAsExists(stmt.WhereClause)
		if err != nil {
			return nil, nil, err
		}
		cond, err := b.bindExpr(where, &ws)
		if err != nil {
			return nil, nil, err
		}
		if cond, err = b.requireBool(cond, nodeLocation(stmt.WhereClause)); err != nil {
			return nil, nil, err
		}
		plan = &logical.Filter{Input: plan, Cond: qualSimplify(cond)}
	}
	ac := &aggContext{named: map[string]*pg.WindowDef{}}
	for _, n := range stmt.WindowClause {
		wd := n.Node.(*pg.Node_WindowDef).WindowDef
		if _, dup := ac.named[wd.Name]; dup {
			return nil, nil, sqlerr.New(sqlerr.WindowingError, "window \"%s\" is already defined", wd.Name).At(wd.Location)
		}
		ac.named[wd.Name] = wd
	}
	sel := *from
	sel.agg = ac
	targets, setFuncs, err := b.bindSelectTargets(stmt.TargetList, &sel)
	if err != nil {
		return nil, nil, err
	}
	for i := range targets {
		if targets[i].untyped != nil && i < len(untypedAs) {
			if targets[i].expr, err = b.coerce(targets[i].untyped, untypedAs[i]); err != nil {
				return nil, nil, err
			}
		}
	}
	groups, err := b.bindGroupBy(stmt.GroupClause, &sel, targets)
	if err != nil {
		return nil, nil, err
	}
	var having logical.Expr
	if stmt.HavingClause != nil {
		if having, err = b.bindExpr(stmt.HavingClause, &sel); err != nil {
			return nil, nil, err
		}
		if having, err = b.requireBool(having, nodeLocation(stmt.HavingClause)); err != nil {
			return nil, nil, err
		}
	}
	// ORDER BY is bound before aggregation is planned so that aggregates
	// used only there are computed too.
	orderKeys, err := b.bindOrderKeys(stmt.SortClause, &sel, targets)
	if err != nil {
		return nil, nil, err
	}
	// DISTINCT ON expressions bind as ORDER BY items do (output names and
	// positions included)
	var onKeys []logical.SortKey
	if len(stmt.DistinctClause) > 0 && stmt.DistinctClause[0] != nil && stmt.DistinctClause[0].Node != nil {
		var items []*pg.Node
		for _, e := range stmt.DistinctClause {
			items = append(items, &pg.Node{Node: &pg.Node_SortBy{SortBy: &pg.SortBy{Node: e, Location: -1}}})
		}
		if onKeys, err = b.bindOrderKeys(items, &sel, targets); err != nil {
			return nil, nil, err
		}
	}
	if err := checkLockingCalls(stmt, ac, setFuncs != nil); err != nil {
		return nil, nil, err
	}
	grouped := len(groups) > 0 || len(ac.aggs) > 0 || having != nil
	if grouped {
		rw, agg, err := b.planAggregate(plan, groups, ac)
		if err != nil {
			return nil, nil, err
		}
		plan = agg
		for i := range targets {
			if targets[i].expr, err = rw(targets[i].expr, targets[i].loc); err != nil {
				return nil, nil, err
			}
		}
		if having != nil {
			if having, err = rw(having, nodeLocation(stmt.HavingClause)); err != nil {
				return nil, nil, err
			}
			plan = &logical.Filter{Input: plan, Cond: having}
		}
		for i := range orderKeys {
			if orderKeys[i].Expr, err = rw(orderKeys[i].Expr, -1); err != nil {
				return nil, nil, err
			}
		}
		for i := range onKeys {
			if onKeys[i].Expr, err = rw(onKeys[i].Expr, -1); err != nil {
				return nil, nil, err
			}
		}
		if setFuncs != nil {
			// set-returning functions run after grouping, over its output
			for i := range setFuncs.Funcs {
				for j, a := range setFuncs.Funcs[i].Args {
					if setFuncs.Funcs[i].Args[j], err = rw(a, nodeLocation(stmt.TargetList[0])); err != nil {
						return nil, nil, err
					}
				}
			}
		}
		for _, w := range ac.windows {
			if err := rewriteWindow(w, rw); err != nil {
				return nil, nil, err
			}
		}
	}
	if len(ac.windows) > 0 {
		plan = &logical.Window{Input: plan, Funcs: ac.windows, Cols: ac.winCols}
	}
	if setFuncs != nil {
		setFuncs.Input = plan
		plan = setFuncs
	}
	plan, out, err := b.finishSelect(stmt, plan, targets, orderKeys, onKeys, from)
	if err != nil {
		return nil, nil, err
	}
	// checked once the query is known to be valid, as PostgreSQL checks
	// privileges when it runs it: a misspelled column is 42703, not 42501
	if err := b.checkLockPrivileges(stmt, from); err != nil {
		return nil, nil, err
	}
	return plan, out, nil
}

// bindSelectTargets binds a select list; unnest(…) and generate_series(…)
// items become columns of a ProjectSet (returned, its Input unset) that
// expands each row.
func (b *Binder) bindSelectTargets(list []*pg.Node, s *scope) ([]target, *logical.ProjectSet, error) {
	var out []target
	var ps *logical.ProjectSet
	for _, n := range list {
		ts, set, err := b.bindSelectTarget(n, s, ps)
		if err != nil {
			return nil, nil, err
		}
		ps = set
		for i := range ts {
			ts[i].loc = nodeLocation(n)
		}
		out = append(out, ts...)
	}
	return out, ps, nil
}

// bindSelectTarget binds one select-list item (several targets for *),
// adding set-returning functions to ps (made when nil).
func (b *Binder) bindSelectTarget(n *pg.Node, s *scope, ps *logical.ProjectSet) ([]target, *logical.ProjectSet, error) {
	rt := n.Node.(*pg.Node_ResTarget).ResTarget
	fc := rt.Val.GetFuncCall()
	name, field := "", ""
	if fc != nil {
		name = funcName(fc.Funcname)
	} else if ind := rt.Val.GetAIndirection(); ind != nil && len(ind.Indirection) == 1 && ind.Indirection[0].GetString_() != nil {
		// (information_schema._pg_expandarray(a)).x or .n
		if fc = ind.Arg.GetFuncCall(); fc != nil {
			name, field = funcName(fc.Funcname), ind.Indirection[0].GetString_().Sval
		}
	}
	if name == "information_schema._pg_expandarray" || name == "_pg_expandarray" {
		f, t, err := b.bindExpandArray(fc, field, s)
		if err != nil {
			return nil, nil, err
		}
		label := rt.Name
		if label == "" {
			label = map[bool]string{true: "_pg_expandarray", false: field}[field == ""]
		}
		col := b.newColumn(label, t)
		if ps == nil {
			ps = &logical.ProjectSet{}
		}
		ps.Funcs = append(ps.Funcs, f)
		ps.Cols = append(ps.Cols, col)
		return []target{{expr: &logical.ColRef{Col: col}, name: label}}, ps, nil
	}
	if name == "pg_partition_ancestors" && fc != nil && len(fc.Args) == 1 {
		// no table is partitioned: a table is its only ancestor
		fc = partitionAncestors(fc)
		name = "unnest"
		if rt.Name == "" {
			rt = &pg.ResTarget{Name: "relid", Val: rt.Val, Location: rt.Location}
		}
	}
	if name == "string_to_table" && fc != nil {
		fc = stringToTable(fc)
		name = "unnest"
		if rt.Name == "" {
			rt = &pg.ResTarget{Name: "string_to_table", Val: rt.Val, Location: rt.Location}
		}
	}
	if !isSetFunc(name) {
		sink := &srfSink{level: s.level, ps: ps}
		prev := b.srfs
		b.srfs = sink
		ts, err := b.bindTargets([]*pg.Node{n}, s)
		b.srfs = prev
		if err != nil {
			return nil, nil, err
		}
		return ts, sink.ps, nil
	}
	f, t, err := b.bindSetFunc(name, fc, s)
	if err != nil {
		return nil, nil, err
	}
	label := rt.Name
	if label == "" {
		label = name
	}
	col := b.newColumn(label, t)
	if ps == nil {
		ps = &logical.ProjectSet{}
	}
	ps.Funcs = append(ps.Funcs, f)
	ps.Cols = append(ps.Cols, col)
	return []target{{expr: &logical.ColRef{Col: col}, name: label}}, ps, nil
}

// srfSink is where a select-list item's nested set-returning calls go:
// the ProjectSet of the query at scope level level.
type srfSink struct {
	level int
	ps    *logical.ProjectSet
}

// nestedSetFunc binds a set-returning call inside a select-list
// expression as a column of the query's ProjectSet; ok is false where
// set-returning functions are not allowed.
func (b *Binder) nestedSetFunc(name string, fc *pg.FuncCall, s *scope) (logical.Expr, bool, error) {
	sink := b.srfs
	if sink == nil || sink.level != s.level {
		return nil, false, nil
	}
	b.srfs = nil // (none inside its own arguments)
	f, t, err := b.bindSetFunc(name, fc, s)
	b.srfs = sink
	if err != nil {
		return nil, true, err
	}
	col := b.newColumn(name, t)
	if sink.ps == nil {
		sink.ps = &logical.ProjectSet{}
	}
	sink.ps.Funcs = append(sink.ps.Funcs, f)
	sink.ps.Cols = append(sink.ps.Cols, col)
	return &logical.ColRef{Col: col}, true, nil
}

// bindSetFunc binds unnest(array) or generate_series(start, stop [, step])
// over integers in a select list, returning the element type.
func (b *Binder) bindSetFunc(name string, fc *pg.FuncCall, s *scope) (logical.SetFunc, types.T, error) {
	args, err := b.bindList(fc.Args, s)
	if err != nil {
		return logical.SetFunc{}, types.T{}, err
	}
	f := logical.SetFunc{Name: name}
	if js, ok := jsonSetFuncs[name]; ok {
		if len(args) != 1 {
			return f, types.T{}, exec.NoSuchFunction(name, nil)
		}
		arg, err := b.coerce(args[0], js.in)
		if err != nil {
			return f, types.T{}, exec.NoSuchFunction(name, []types.T{args[0].Type()})
		}
		f.Args = []logical.Expr{arg}
		return f, js.out, nil
	}
	if name == "unnest" {
		if len(args) != 1 {
			return f, types.T{}, sqlerr.New(sqlerr.FeatureNotSupported, "unnest of several arrays is not supported yet").At(fc.Location)
		}
		t := catalogArrayElem(args[0].Type())
		arg := args[0]
		if arg.Type().Kind == types.Array {
			t = arg.Type().ElemT()
		} else if arg, err = b.coerce(arg, types.TextT); err != nil {
			return f, types.T{}, sqlerr.New(sqlerr.UndefinedFunction, "function unnest(%s) does not exist", args[0].Type()).At(fc.Location)
		}
		f.Args = []logical.Expr{arg}
		return f, t, nil
	}
	if name == "generate_subscripts" {
		return b.bindGenerateSubscripts(f, args, fc)
	}
	if name == "regexp_matches" || name == "regexp_split_to_table" {
		return b.bindRegexSetFunc(f, args)
	}
	if len(args) < 2 || len(args) > 3 {
		return f, types.T{}, sqlerr.New(sqlerr.UndefinedFunction, "function generate_series with %d arguments does not exist", len(args)).At(fc.Location)
	}
	if e, t, ok, err := b.timestampSeries(f, args, fc); ok || err != nil {
		return e, t, err
	}
	t := types.Int4T
	for i := range args {
		at := args[i].Type()
		if at.Kind != types.Unknown && !at.IsInteger() {
			return f, types.T{}, sqlerr.New(sqlerr.FeatureNotSupported, "generate_series over %s in the select list is not supported yet (use it in FROM)", at).At(fc.Location)
		}
		if at.Kind == types.Int8 && i < 2 {
			t = types.Int8T
		}
		if args[i], err = b.coerce(args[i], types.Int8T); err != nil {
			return f, types.T{}, err
		}
	}
	f.Args = args
	return f, t, nil
}

// timestampSeries binds generate_series(start, stop, step) over
// timestamps in a select list: over timestamp when both ends are, else
// over timestamptz (dates read as timestamptz, as PostgreSQL resolves
// them). ok is false when the ends are not dates or timestamps.
func (b *Binder) timestampSeries(f logical.SetFunc, args []logical.Expr, fc *pg.FuncCall) (logical.SetFunc, types.T, bool, error) {
	temporal := func(t types.T) bool {
		return t.Kind == types.Date || t.Kind == types.Timestamp || t.Kind == types.TimestampTZ
	}
	l, r := args[0].Type(), args[1].Type()
	if !temporal(l) && !temporal(r) {
		return f, types.T{}, false, nil
	}
	if len(args) != 3 {
		return f, types.T{}, true, exec.NoSuchFunction("generate_series", []types.T{l, r})
	}
	t := types.TimestampTZT
	if (l.Kind == types.Timestamp || l.Kind == types.Unknown) && (r.Kind == types.Timestamp || r.Kind == types.Unknown) {
		t = types.TimestampT
	}
	var err error
	for i, to := range []types.T{t, t, types.IntervalT} {
		if args[i], err = b.coerce(args[i], to); err != nil {
			return f, types.T{}, true, err
		}
	}
	f.Args = args
	return f, t, true, nil
}

func rewriteWindow(w *logical.WindowCall, rw func(logical.Expr, int32) (logical.Expr, error)) error {
	var err error
	for i := range w.Args {
		if w.Args[i], err = rw(w.Args[i], -1); err != nil {
			return err
		}
	}
	for i := range w.PartitionBy {
		if w.PartitionBy[i], err = rw(w.PartitionBy[i], -1); err != nil {
			return err
		}
	}
	for i := range w.OrderBy {
		if w.OrderBy[i].Expr, err = rw(w.OrderBy[i].Expr, -1); err != nil {
			return err
		}
	}
	return nil
}

// planAggregate builds the Aggregate node and returns a rewriter that maps
// post-aggregation expressions onto its output, rejecting references to
// columns that are neither grouped nor aggregated.
func (b *Binder) planAggregate(input logical.Plan, groups []logical.Expr, ac *aggContext) (func(logical.Expr, int32) (logical.Expr, error), logical.Plan, error) {
	groupCols := make([]logical.Column, len(groups))
	byString := map[string]logical.Column{}
	for i, g := range groups {
		if c, ok := g.(*logical.ColRef); ok {
			groupCols[i] = c.Col // keep the id: references above stay valid
		} else {
			groupCols[i] = b.newColumn("?column?", g.Type())
		}
		byString[g.String()] = groupCols[i]
	}
	agg := &logical.Aggregate{Input: input, Groups: groups, Aggs: ac.aggs, Cols: append(append([]logical.Column{}, groupCols...), ac.aggCols...)}
	avail := map[logical.ColumnID]bool{}
	for _, c := range agg.Cols {
		avail[c.ID] = true
	}
	for _, c := range ac.winCols {
		avail[c.ID] = true
	}
	inputCols := map[logical.ColumnID]bool{}
	for _, c := range input.Columns() {
		inputCols[c.ID] = true
	}
	rw := func(e logical.Expr, loc int32) (logical.Expr, error) {
		var bad *logical.Column
		var inSub *logical.Subquery // where bad is read, when in a subquery
		out := logical.ReplaceTopDown(e, func(x logical.Expr) (logical.Expr, bool) {
			if c, ok := byString[x.String()]; ok {
				if _, isConst := x.(*logical.Const); !isConst {
					return &logical.ColRef{Col: c}, true
				}
			}
			return nil, false
		})
		logical.Walk(out, func(x logical.Expr) bool {
			if c, ok := x.(*logical.ColRef); ok && !avail[c.Col.ID] && inputCols[c.Col.ID] && bad == nil {
				col := c.Col
				bad = &col
			}
			if s, ok := x.(*logical.Subquery); ok {
				for _, oc := range s.Outer {
					if !avail[oc.ID] && inputCols[oc.ID] && bad == nil {
						col := oc
						bad = &col
						inSub = s
					}
				}
			}
			return true
		})
		if bad != nil && functionallyDependent(input, groups, bad.ID) {
			// grouped by its table's primary key: one value per group, so
			// grouping by it as well changes nothing (PostgreSQL accepts it)
			agg.Groups = append(agg.Groups, &logical.ColRef{Col: *bad})
			agg.Cols = slices.Insert(agg.Cols, len(agg.Groups)-1, *bad)
			avail[bad.ID] = true
			return out, nil
		}
		if bad != nil {
			name := bad.Name
			if bad.Table != "" {
				name = bad.Table + "." + name
			}
			if inSub != nil {
				if at, ok := inSub.OuterAt[bad.ID]; ok && at >= 0 {
					loc = at
				}
				return nil, sqlerr.New(sqlerr.GroupingError, "subquery uses ungrouped column \"%s\" from outer query", name).At(loc)
			}
			return nil, sqlerr.New(sqlerr.GroupingError, "column \"%s\" must appear in the GROUP BY clause or be used in an aggregate function", name).At(loc)
		}
		return out, nil
	}
	return rw, agg, nil
}

// functionallyDependent reports whether column id belongs to a table
// scanned in input whose primary key columns are all grouped, as plain
// column references: then it has one value per group.
func functionallyDependent(input logical.Plan, groups []logical.Expr, id logical.ColumnID) bool {
	grouped := map[logical.ColumnID]bool{}
	for _, g := range groups {
		if c, ok := g.(*logical.ColRef); ok {
			grouped[c.Col.ID] = true
		}
	}
	var found bool
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		if sc, ok := p.(*logical.Scan); ok && !found {
			found = scanKeyGrouped(sc, grouped) && slices.ContainsFunc(sc.Cols, func(c logical.Column) bool { return c.ID == id })
			return
		}
		for _, c := range p.Children() {
			visit(c)
		}
	}
	visit(input)
	return found
}

// scanKeyGrouped reports whether every primary key column of the scanned
// table is among the grouped columns.
func scanKeyGrouped(sc *logical.Scan, grouped map[logical.ColumnID]bool) bool {
	for _, k := range sc.Table.Keys {
		if !k.Primary {
			continue
		}
		for _, ord := range k.Columns {
			i := slices.Index(sc.Ords, ord)
			if i < 0 || !grouped[sc.Cols[i].ID] {
				return false
			}
		}
		return true
	}
	return false
}

func (b *Binder) bindGroupBy(items []*pg.Node, s *scope, targets []target) ([]logical.Expr, error) {
	var out []logical.Expr
	gs := *s
	gs.aggErr = "GROUP BY"
	gs.agg = nil
	for _, n := range items {
		if c, ok := n.Node.(*pg.Node_AConst); ok {
			if iv, ok := c.AConst.Val.(*pg.A_Const_Ival); ok {
				i := int(iv.Ival.Ival)
				if i < 1 || i > len(targets) {
					return nil, sqlerr.New(sqlerr.InvalidColumnRef, "GROUP BY position %d is not in select list", i).At(c.AConst.Location)
				}
				if err := groupableTarget(targets[i-1].expr, s.agg, c.AConst.Location); err != nil {
					return nil, err
				}
				out = append(out, targets[i-1].expr)
				continue
			}
			// a constant here would group everything as one: PostgreSQL
			// refuses it rather than guess a position was meant
			return nil, sqlerr.New(sqlerr.SyntaxError, "non-integer constant in GROUP BY").At(c.AConst.Location)
		}
		e, err := b.bindExpr(n, &gs)
		if err != nil {
			// GROUP BY may name an output column alias
			if cr, ok := n.Node.(*pg.Node_ColumnRef); ok && len(cr.ColumnRef.Fields) == 1 {
				name := strNode(cr.ColumnRef.Fields[0])
				for _, t := range targets {
					if t.name == name {
						if gerr := groupableTarget(t.expr, s.agg, cr.ColumnRef.Location); gerr != nil {
							return nil, gerr
						}
						e, err = t.expr, nil
						break
					}
				}
			}
			if err != nil {
				return nil, err
			}
		}
		if row, ok := e.(*logical.Call); ok && row.Name == "ROW" {
			// a row groups by its fields (PostgreSQL's record equality),
			// so that it is rebuilt from them and orders by them
			out = append(out, row.Args...)
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// groupableTarget rejects a select-list item used as a GROUP BY key when it
// holds an aggregate or window function.
func groupableTarget(e logical.Expr, ac *aggContext, loc int32) error {
	if ac == nil {
		return nil
	}
	used := logical.ColumnsUsed(e)
	for _, c := range ac.aggCols {
		if used[c.ID] {
			return sqlerr.New(sqlerr.GroupingError, "aggregate functions are not allowed in GROUP BY").At(loc)
		}
	}
	for _, c := range ac.winCols {
		if used[c.ID] {
			return sqlerr.New(sqlerr.WindowingError, "window functions are not allowed in GROUP BY").At(loc)
		}
	}
	return nil
}

func (b *Binder) bindTargets(list []*pg.Node, s *scope) ([]target, error) {
	var out []target
	for _, n := range list {
		rt := n.Node.(*pg.Node_ResTarget).ResTarget
		if cr, ok := rt.Val.Node.(*pg.Node_ColumnRef); ok {
			if expanded, ok, err := b.expandStar(cr.ColumnRef, s); ok || err != nil {
				if err != nil {
					return nil, err
				}
				out = append(out, expanded...)
				continue
			}
		}
		if ind := rt.Val.GetAIndirection(); ind != nil && isFieldStar(ind) {
			expanded, err := b.expandRowStar(ind, s)
			if err != nil {
				return nil, err
			}
			out = append(out, expanded...)
			continue
		}
		e, err := b.bindExpr(rt.Val, s)
		if err != nil {
			return nil, err
		}
		name := rt.Name
		if name == "" {
			name = deriveName(rt.Val)
		}
		t := target{expr: b.resolveUnknown(e), name: name}
		if e.Type().Kind == types.Unknown {
			t.untyped = e
		}
		out = append(out, t)
	}
	return out, nil
}

func (b *Binder) expandStar(cr *pg.ColumnRef, s *scope) ([]target, bool, error) {
	last := cr.Fields[len(cr.Fields)-1]
	if _, star := last.Node.(*pg.Node_AStar); !star {
		return nil, false, nil
	}
	qual := ""
	if len(cr.Fields) >= 2 {
		qual = strNode(cr.Fields[len(cr.Fields)-2])
	}
	var out []target
	var expanded []scopeItem
	for _, it := range s.items {
		if (qual == "" && it.qualOnly) || (qual != "" && it.qual != qual) {
			continue
		}
		out = append(out, target{expr: &logical.ColRef{Col: it.col}, name: it.col.Name})
		expanded = append(expanded, it)
	}
	b.recordStar(cr, expanded)
	if err := b.checkColumnReads(expanded...); err != nil {
		return nil, true, err
	}
	if qual != "" && len(out) == 0 {
		return nil, true, sqlerr.New(sqlerr.UndefinedTable, "missing FROM-clause entry for table \"%s\"", qual).At(cr.Location)
	}
	if qual == "" && len(s.items) == 0 {
		return nil, true, sqlerr.New(sqlerr.SyntaxError, "SELECT * with no tables specified is not valid").At(cr.Location)
	}
	return out, true, nil
}

// deriveName names an output column the way PostgreSQL does.
func deriveName(n *pg.Node) string {
	// a cast names its column after its type unless what it casts has a
	// name of its own ('t'::regclass::text is "text", a::text is "a")
	if tc := n.GetTypeCast(); tc != nil {
		if !castNamed(tc.Arg) {
			ns := names(tc.TypeName.Names)
			return ns[len(ns)-1]
		}
		return deriveName(tc.Arg)
	}
	return deriveNameOf(n)
}

// castNamed reports whether n names a column by itself (not just by the
// type a cast gives it).
func castNamed(n *pg.Node) bool {
	if tc := n.GetTypeCast(); tc != nil {
		return castNamed(tc.Arg)
	}
	return deriveNameOf(n) != "?column?"
}

func deriveNameOf(n *pg.Node) string {
	switch x := n.Node.(type) {
	case *pg.Node_ColumnRef:
		f := x.ColumnRef.Fields
		return strNode(f[len(f)-1])
	case *pg.Node_FuncCall:
		ns := names(x.FuncCall.Funcname) // (a qualified name's last part, as PostgreSQL's)
		return ns[len(ns)-1]
	case *pg.Node_TypeCast:
		if name := deriveName(x.TypeCast.Arg); name != "?column?" {
			return name
		}
		ns := names(x.TypeCast.TypeName.Names)
		return ns[len(ns)-1]
	case *pg.Node_CaseExpr:
		return "case"
	case *pg.Node_CoalesceExpr:
		return "coalesce"
	case *pg.Node_MinMaxExpr:
		if x.MinMaxExpr.Op == pg.MinMaxOp_IS_LEAST {
			return "least"
		}
		return "greatest"
	case *pg.Node_AArrayExpr:
		return "array"
	case *pg.Node_RowExpr:
		return "row"
	case *pg.Node_AIndirection:
		if ind := x.AIndirection.Indirection; len(ind) == 1 && ind[0].GetString_() != nil {
			return ind[0].GetString_().Sval // (record).field
		}
		return deriveName(x.AIndirection.Arg)
	case *pg.Node_SubLink:
		if x.SubLink.SubLinkType == pg.SubLinkType_EXISTS_SUBLINK {
			return "exists"
		}
		if x.SubLink.SubLinkType == pg.SubLinkType_ARRAY_SUBLINK {
			return "array"
		}
		if sel, ok := x.SubLink.Subselect.Node.(*pg.Node_SelectStmt); ok && x.SubLink.SubLinkType == pg.SubLinkType_EXPR_SUBLINK {
			if len(sel.SelectStmt.TargetList) == 1 {
				rt := sel.SelectStmt.TargetList[0].Node.(*pg.Node_ResTarget).ResTarget
				if rt.Name != "" {
					return rt.Name
				}
				return deriveName(rt.Val)
			}
		}
	case *pg.Node_AExpr:
		if x.AExpr.Kind == pg.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif"
		}
	case *pg.Node_SqlvalueFunction:
		switch x.SqlvalueFunction.Op {
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
			return "current_date"
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
			return "current_timestamp"
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_USER:
			return "current_user"
		case pg.SQLValueFunctionOp_SVFOP_SESSION_USER:
			return "session_user"
		case pg.SQLValueFunctionOp_SVFOP_USER:
			return "user"
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:
			return "current_role"
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:
			return "current_catalog"
		case pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
			return "current_schema"
		}
	}
	return "?column?"
}

// bindOrderKeys binds ORDER BY items: output-column names and ordinals
// first, then expressions over the input.
func (b *Binder) bindOrderKeys(items []*pg.Node, s *scope, targets []target) ([]logical.SortKey, error) {
	var out []logical.SortKey
	for _, n := range items {
		sb := n.Node.(*pg.Node_SortBy).SortBy
		if sb.SortbyDir == pg.SortByDir_SORTBY_USING {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ORDER BY USING is not supported").At(sb.Location)
		}
		e, err := b.orderExpr(sb.Node, s, targets)
		if err != nil {
			return nil, err
		}
		out = append(out, b.sortKey(e, sb))
	}
	return out, nil
}

func (b *Binder) orderExpr(n *pg.Node, s *scope, targets []target) (logical.Expr, error) {
	if c, ok := n.Node.(*pg.Node_AConst); ok {
		if iv, ok := c.AConst.Val.(*pg.A_Const_Ival); ok {
			i := int(iv.Ival.Ival)
			if i < 1 || i > len(targets) {
				return nil, sqlerr.New(sqlerr.InvalidColumnRef, "ORDER BY position %d is not in select list", i).At(c.AConst.Location)
			}
			return targets[i-1].expr, nil
		}
		return nil, sqlerr.New(sqlerr.SyntaxError, "non-integer constant in ORDER BY").At(c.AConst.Location)
	}
	if cr, ok := n.Node.(*pg.Node_ColumnRef); ok && len(cr.ColumnRef.Fields) == 1 {
		name := strNode(cr.ColumnRef.Fields[0])
		var match *target
		for i := range targets {
			if targets[i].name == name {
				if match != nil && match.expr.String() != targets[i].expr.String() {
					return nil, sqlerr.New(sqlerr.AmbiguousColumn, "ORDER BY \"%s\" is ambiguous", name).At(cr.ColumnRef.Location)
				}
				match = &targets[i]
			}
		}
		if match != nil {
			return match.expr, nil
		}
	}
	e, err := b.bindExpr(n, s)
	if err != nil {
		return nil, err
	}
	return b.resolveUnknown(e), nil
}

// rowFieldsOf are the fields of the row values among targets (ORDER BY
// row sorts by them), by their String.
func rowFieldsOf(targets []target) map[string]bool {
	out := map[string]bool{}
	for _, t := range targets {
		fields, ok := recordSortFields(t.expr)
		for _, f := range fields {
			out[f.String()] = true
		}
		if ok {
			out[recordIsNull(t.expr).String()] = true
		}
	}
	return out
}

// expandRowKeys orders by a row's fields, one after the other, as
// PostgreSQL compares records (not by the record's text).
func expandRowKeys(keys []logical.SortKey) []logical.SortKey {
	var out []logical.SortKey
	for _, k := range keys {
		fields, ok := recordSortFields(k.Expr)
		if !ok {
			out = append(out, k)
			continue
		}
		if _, isRow := k.Expr.(*logical.Call); !isRow || k.Expr.(*logical.Call).Name != "ROW" {
			// a NULL record sorts apart from one of NULL fields, where NULLs go
			out = append(out, logical.SortKey{Expr: recordIsNull(k.Expr), Desc: k.NullsFirst})
		}
		// (record comparison puts NULL fields after values, whatever the
		// NULLS FIRST/LAST of the record itself)
		for _, f := range fields {
			out = append(out, logical.SortKey{Expr: f, Desc: k.Desc, NullsFirst: k.Desc})
		}
	}
	return out
}

// recordIsNull is whether a record value itself is NULL (not its fields).
func recordIsNull(e logical.Expr) logical.Expr { return &logical.IsNull{Arg: e} }

// recordSortFields are the fields a row value sorts by: a ROW(...)'s
// arguments, or a record value's fields read from it (a composite or
// record column); ok is false for other values.
func recordSortFields(e logical.Expr) ([]logical.Expr, bool) {
	if row, ok := e.(*logical.Call); ok && row.Name == "ROW" {
		return row.Args, true
	}
	fields := e.Type().RecordFields()
	if !e.Type().IsRecord() || fields == nil {
		return nil, false
	}
	out := make([]logical.Expr, len(fields))
	for i, f := range fields {
		fe, _, err := recordColumnField(e, f.Name)
		if err != nil {
			return nil, false
		}
		out[i] = fe
	}
	return out, true
}

// finishSelect projects the targets (plus hidden sort columns), applies
// DISTINCT, ORDER BY and LIMIT, and drops the hidden columns.
func (b *Binder) finishSelect(stmt *pg.SelectStmt, plan logical.Plan, targets []target, keys, on []logical.SortKey, from *scope) (logical.Plan, *scope, error) {
	exprs := make([]logical.Expr, len(targets))
	cols := make([]logical.Column, len(targets))
	byString := map[string]int{}
	for i, t := range targets {
		exprs[i] = t.expr
		if c, ok := t.expr.(*logical.ColRef); ok {
			cols[i] = c.Col
			cols[i].Name = t.name
		} else {
			cols[i] = b.newColumn(t.name, t.expr.Type())
		}
		if _, seen := byString[t.expr.String()]; !seen {
			byString[t.expr.String()] = i
		}
	}
	// Output columns that re-expose an input column keep its id, so that a
	// duplicate (SELECT a, a) needs a fresh id for the second one.
	seenIDs := map[logical.ColumnID]bool{}
	for i := range cols {
		if seenIDs[cols[i].ID] {
			cols[i] = b.newColumn(cols[i].Name, cols[i].T)
		}
		seenIDs[cols[i].ID] = true
		if targets[i].untyped != nil && targets[i].expr.Type() == types.TextT {
			b.markUntyped(cols[i].ID)
		}
	}
	visible := len(exprs)
	distinct := len(stmt.DistinctClause) > 0 && len(on) == 0
	// hidden columns for sort and DISTINCT ON keys the select list lacks
	rowFields := rowFieldsOf(targets)
	column := func(k logical.SortKey) (int, error) {
		idx, ok := byString[k.Expr.String()]
		if !ok {
			// a field of an output row is as distinct as the row
			if distinct && !rowFields[k.Expr.String()] {
				return 0, sqlerr.New(sqlerr.InvalidColumnRef, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
			}
			idx = len(exprs)
			exprs = append(exprs, k.Expr)
			cols = append(cols, b.newColumn("?sort?", k.Expr.Type()))
			byString[k.Expr.String()] = idx
		}
		return idx, nil
	}
	var onExprs []logical.Expr
	for _, k := range on {
		idx, err := column(k)
		if err != nil {
			return nil, nil, err
		}
		onExprs = append(onExprs, &logical.ColRef{Col: cols[idx]})
	}
	if len(on) > 0 && len(keys) > 0 {
		// the leading ORDER BY items must be the DISTINCT ON expressions
		lead := map[string]bool{}
		for i := 0; i < len(keys) && i < len(on); i++ {
			lead[keys[i].Expr.String()] = true
		}
		for _, k := range on {
			if !lead[k.Expr.String()] || len(keys) < len(on) {
				return nil, nil, sqlerr.New(sqlerr.InvalidColumnRef, "SELECT DISTINCT ON expressions must match initial ORDER BY expressions")
			}
		}
	}
	keys = expandRowKeys(keys)
	if len(keys) == 0 {
		keys = on
	}
	sortKeys := make([]logical.SortKey, len(keys))
	for i, k := range keys {
		idx, err := column(k)
		if err != nil {
			return nil, nil, err
		}
		sortKeys[i] = logical.SortKey{Expr: &logical.ColRef{Col: cols[idx]}, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	plan = &logical.Project{Input: plan, Exprs: exprs, Cols: cols}
	if distinct {
		plan = &logical.Distinct{Input: plan}
	}
	if len(sortKeys) > 0 {
		plan = &logical.Sort{Input: plan, Keys: sortKeys}
	}
	if len(on) > 0 {
		plan = &logical.DistinctOn{Input: plan, On: onExprs}
	}
	var err error
	if plan, err = b.bindLimit(stmt, plan, from); err != nil {
		return nil, nil, err
	}
	if len(cols) > visible {
		drop := make([]logical.Expr, visible)
		for i := 0; i < visible; i++ {
			drop[i] = &logical.ColRef{Col: cols[i]}
		}
		plan = &logical.Project{Input: plan, Exprs: drop, Cols: cols[:visible]}
	}
	out := &scope{parent: from.parent, level: b.curLevel()}
	for _, c := range cols[:visible] {
		out.items = append(out.items, scopeItem{col: c})
	}
	return plan, out, nil
}

// bindOrderLimit applies ORDER BY and LIMIT to a set operation or VALUES,
// whose sort keys may only name output columns.
func (b *Binder) bindOrderLimit(stmt *pg.SelectStmt, plan logical.Plan, s *scope, _ []target) (logical.Plan, error) {
	cols := plan.Columns()
	targets := make([]target, len(cols))
	for i, c := range cols {
		targets[i] = target{expr: &logical.ColRef{Col: c}, name: c.Name}
	}
	keys, err := b.bindOrderKeys(stmt.SortClause, s, targets)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		avail := map[logical.ColumnID]bool{}
		for _, c := range cols {
			avail[c.ID] = true
		}
		for _, k := range keys {
			for id := range logical.ColumnsUsed(k.Expr) {
				if !avail[id] {
					return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ORDER BY on a UNION/INTERSECT/EXCEPT result must be on one of the result columns")
				}
			}
		}
		plan = &logical.Sort{Input: plan, Keys: keys}
	}
	return b.bindLimit(stmt, plan, s)
}

func (b *Binder) bindLimit(stmt *pg.SelectStmt, plan logical.Plan, s *scope) (logical.Plan, error) {
	if stmt.LimitCount == nil && stmt.LimitOffset == nil {
		return plan, nil
	}
	if stmt.LimitOption == pg.LimitOption_LIMIT_OPTION_WITH_TIES {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FETCH … WITH TIES is not supported yet")
	}
	limit := &logical.Limit{Input: plan, Count: -1}
	if stmt.LimitCount != nil {
		v, expr, isNull, err := b.limitValue(stmt.LimitCount, "LIMIT")
		if err != nil {
			return nil, err
		}
		switch {
		case expr != nil:
			limit.CountExpr = expr
		case !isNull:
			if v < 0 {
				return nil, sqlerr.New(sqlerr.InvalidRowCount, "LIMIT must not be negative")
			}
			limit.Count = v
		}
	}
	if stmt.LimitOffset != nil {
		v, expr, isNull, err := b.limitValue(stmt.LimitOffset, "OFFSET")
		if err != nil {
			return nil, err
		}
		switch {
		case expr != nil:
			limit.OffsetExpr = expr
		case !isNull:
			if v < 0 {
				return nil, sqlerr.New(sqlerr.InvalidOffset, "OFFSET must not be negative")
			}
			limit.Offset = v
		}
	}
	return limit, nil
}

// limitValue binds a LIMIT or OFFSET argument as bigint. A constant comes
// back as its value (isNull for NULL, meaning no limit); an expression over
// the statement's parameters comes back as expr, for the physical planner
// to evaluate once the parameters are known, as PostgreSQL does for
// `LIMIT $1`.
func (b *Binder) limitValue(n *pg.Node, what string) (v int64, expr logical.Expr, isNull bool, err error) {
	cs := &scope{level: b.curLevel(), aggErr: what}
	e, err := b.bindExpr(n, cs)
	if err != nil {
		return 0, nil, false, err
	}
	given := e.Type()
	if e, err = b.coerce(e, types.Int8T); err != nil {
		return 0, nil, false, sqlerr.New(sqlerr.DatatypeMismatch, "argument of %s must be type bigint, not type %s", what, given).At(nodeLocation(n))
	}
	if e, err = b.foldNow(e); err != nil {
		return 0, nil, false, err
	}
	c, ok := e.(*logical.Const)
	if !ok {
		if onlyParams(e) {
			return 0, e, false, nil
		}
		return 0, nil, false, sqlerr.New(sqlerr.FeatureNotSupported, "%s must be a constant or depend only on parameters", what).At(nodeLocation(n))
	}
	if c.Value == nil {
		return 0, nil, true, nil
	}
	return c.Value.(int64), nil, false, nil
}

// onlyParams reports whether e reads nothing but constants and parameters:
// no columns, no outer references, no subqueries.
func onlyParams(e logical.Expr) bool {
	ok := true
	logical.Walk(e, func(x logical.Expr) bool {
		switch x.(type) {
		case *logical.ColRef, *logical.OuterRef, *logical.Subquery:
			ok = false
		}
		return ok
	})
	return ok
}

var _ = exec.DefaultFrame

// bindExpandArray binds information_schema._pg_expandarray(a), which
// yields a row (x, n) per element x of a at position n; with field "x" or
// "n" only that field, else the row as a record.
func (b *Binder) bindExpandArray(fc *pg.FuncCall, field string, s *scope) (logical.SetFunc, types.T, error) {
	args, err := b.bindList(fc.Args, s)
	if err != nil {
		return logical.SetFunc{}, types.T{}, err
	}
	if len(args) != 1 {
		return logical.SetFunc{}, types.T{}, sqlerr.New(sqlerr.UndefinedFunction, "function _pg_expandarray takes one array").At(fc.Location)
	}
	xt := types.TextT
	arg := args[0]
	if arg.Type().Kind == types.Array {
		xt = arg.Type().ElemT()
	} else if at := arg.Type(); at.Kind == types.Text && at.Elem != types.Unknown && at.PG != 2249 {
		xt = types.T{Kind: at.Elem}
	} else {
		switch ref := arg.(type) {
		case *logical.ColRef:
			if t, ok := arrayElementTypes[ref.Col.Name]; ok {
				xt = t
			}
		case *logical.OuterRef:
			if t, ok := arrayElementTypes[ref.Col.Name]; ok {
				xt = t
			}
		}
		if arg, err = b.coerce(arg, types.TextT); err != nil {
			return logical.SetFunc{}, types.T{}, err
		}
	}
	f := logical.SetFunc{Name: "_pg_expandarray", Args: []logical.Expr{arg}}
	switch field {
	case "":
		return f, types.ExpandedT(xt.Kind), nil
	case "x":
		f.Name += ".x"
		return f, plainType(xt), nil
	case "n":
		f.Name += ".n"
		return f, types.Int4T, nil
	}
	return f, types.T{}, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" not found in data type record", field).At(fc.Location)
}

// partitionAncestors rewrites pg_partition_ancestors(rel) as
// unnest(ARRAY[rel::regclass]).
func partitionAncestors(fc *pg.FuncCall) *pg.FuncCall {
	cast := &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: fc.Args[0],
		TypeName: &pg.TypeName{Names: []*pg.Node{pg.MakeStrNode("regclass")}, Typemod: -1}}}}
	arr := &pg.Node{Node: &pg.Node_AArrayExpr{AArrayExpr: &pg.A_ArrayExpr{Elements: []*pg.Node{cast}}}}
	return &pg.FuncCall{Funcname: []*pg.Node{pg.MakeStrNode("unnest")}, Args: []*pg.Node{arr}, Location: fc.Location}
}

// stringToTable rewrites string_to_table(s, delimiter [, null_string]) as
// the unnest of string_to_array with the same arguments, which is what it
// returns (the same splitting and NULL rules).
func stringToTable(fc *pg.FuncCall) *pg.FuncCall {
	arr := &pg.Node{Node: &pg.Node_FuncCall{FuncCall: &pg.FuncCall{Funcname: []*pg.Node{pg.MakeStrNode("string_to_array")},
		Args: fc.Args, Location: fc.Location}}}
	return &pg.FuncCall{Funcname: []*pg.Node{pg.MakeStrNode("unnest")}, Args: []*pg.Node{arr}, Location: fc.Location}
}

// jsonSetFuncs are the set-returning json functions: the type they take
// and the type of the rows they return (jsonb_each and friends return two
// columns, key and value, and are bound in FROM as two functions).
var jsonSetFuncs = map[string]struct{ in, out types.T }{
	"jsonb_array_elements":      {types.JSONBT, types.JSONBT},
	"jsonb_array_elements_text": {types.JSONBT, types.TextT},
	"jsonb_object_keys":         {types.JSONBT, types.TextT},
	"json_array_elements":       {types.JSONT, types.JSONT},
	"json_array_elements_text":  {types.JSONT, types.TextT},
	"json_object_keys":          {types.JSONT, types.TextT},
	"jsonb_each.key":            {types.JSONBT, types.TextT},
	"jsonb_each.value":          {types.JSONBT, types.JSONBT},
	"jsonb_each_text.key":       {types.JSONBT, types.TextT},
	"jsonb_each_text.value":     {types.JSONBT, types.TextT},
	"json_each.key":             {types.JSONT, types.TextT},
	"json_each.value":           {types.JSONT, types.JSONT},
	"json_each_text.key":        {types.JSONT, types.TextT},
	"json_each_text.value":      {types.JSONT, types.TextT},
}

// isSetFunc names the set-returning functions of a select list.
// catalogArrayElem is the element type of a catalog array held as text
// (int2vector, oid[] …: unnest(indkey) gives smallint, as in PostgreSQL),
// text for any other text.
func catalogArrayElem(t types.T) types.T {
	if t.Kind != types.Text {
		return types.TextT
	}
	switch t.PG {
	case 22, 1005: // int2vector, int2[]
		return types.Int2T
	case 30, 1028: // oidvector, oid[]
		return types.OIDT
	case 1002: // "char"[]
		return types.CharT1
	}
	return types.TextT
}

func isSetFunc(name string) bool {
	_, js := jsonSetFuncs[name]
	return name == "unnest" || name == "generate_series" || name == "generate_subscripts" || name == "regexp_matches" || name == "regexp_split_to_table" || js && !strings.Contains(name, ".")
}

// bindGenerateSubscripts binds generate_subscripts(array, dim [, reverse]):
// the subscripts of the array's dimension dim (from 0 for int2vector and
// oidvector, whose subscripts start there).
func (b *Binder) bindGenerateSubscripts(f logical.SetFunc, args []logical.Expr, fc *pg.FuncCall) (logical.SetFunc, types.T, error) {
	if len(args) < 2 || len(args) > 3 {
		return f, types.T{}, sqlerr.New(sqlerr.UndefinedFunction, "function generate_subscripts with %d arguments does not exist", len(args)).At(fc.Location)
	}
	arr, err := args[0], error(nil)
	if arr.Type().Kind != types.Array {
		if arr, err = b.coerce(arr, types.TextT); err != nil {
			return f, types.T{}, exec.NoSuchFunction("generate_subscripts", []types.T{args[0].Type(), args[1].Type()})
		}
	}
	dim, err := b.coerce(args[1], types.Int8T)
	if err != nil {
		return f, types.T{}, exec.NoSuchFunction("generate_subscripts", []types.T{args[0].Type(), args[1].Type()})
	}
	f.Args = []logical.Expr{arr, dim}
	if len(args) == 3 {
		rev, err := b.coerce(args[2], types.BoolT)
		if err != nil {
			return f, types.T{}, exec.NoSuchFunction("generate_subscripts", []types.T{args[0].Type(), args[1].Type(), args[2].Type()})
		}
		f.Args = append(f.Args, rev)
	}
	return f, types.Int4T, nil
}
