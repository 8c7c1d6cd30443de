package binder

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"google.golang.org/protobuf/reflect/protoreflect"
	"strings"
)

// bindFromList binds a FROM clause; several items are cross-joined. With no
// FROM, the result is one empty row.
func (b *Binder) bindFromList(items []*pg.Node, parent *scope) (logical.Plan, *scope, error) {
	s := &scope{parent: parent, level: b.curLevel()}
	if len(items) == 0 {
		return &logical.Values{Rows: [][]logical.Expr{{}}}, s, nil
	}
	var plan logical.Plan
	for _, it := range items {
		if rs := it.GetRangeSubselect(); rs != nil && rs.Lateral && plan != nil {
			lp, its, err := b.bindLateralSubquery(rs, plan, s.items, s, false)
			if err != nil {
				return nil, nil, err
			}
			if err := checkDuplicateAliases(s.items, its, nodeLocation(it)); err != nil {
				return nil, nil, err
			}
			plan = lp
			s.items = append(s.items, its...)
			continue
		}
		if plan != nil {
			lp, its, ok, err := b.bindLateralSetFunc(it, plan, s.items, s, false)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				if err := checkDuplicateAliases(s.items, its, nodeLocation(it)); err != nil {
					return nil, nil, err
				}
				plan = lp
				s.items = append(s.items, its...)
				continue
			}
		}
		p, its, err := b.bindFromItem(it, s)
		if err != nil {
			return nil, nil, err
		}
		if err := checkDuplicateAliases(s.items, its, nodeLocation(it)); err != nil {
			return nil, nil, err
		}
		s.items = append(s.items, its...)
		if tf, ok := p.(*logical.TableFunc); ok && tf.Lateral && tf.Input == nil {
			// f(t.col): the function runs per row of what is left of it
			if plan == nil {
				plan = &logical.Values{Rows: [][]logical.Expr{{}}}
			}
			tf.Input = plan
			plan = tf
			continue
		}
		if plan == nil {
			plan = p
		} else {
			plan = &logical.Join{Kind: logical.InnerJoin, Left: plan, Right: p}
		}
	}
	return plan, s, nil
}

func checkDuplicateAliases(have, add []scopeItem, loc int32) error {
	quals := map[string]bool{}
	for _, it := range have {
		quals[it.qual] = true
	}
	for _, it := range add {
		if it.qual != "" && quals[it.qual] && !it.qualOnly {
			return sqlerr.New(sqlerr.DuplicateAlias, "table name \"%s\" specified more than once", it.qual).At(loc)
		}
	}
	return nil
}

// bindFromItem binds one FROM item. s is the scope of the FROM clause built
// so far (visible to LATERAL items only).
func (b *Binder) bindFromItem(n *pg.Node, s *scope) (logical.Plan, []scopeItem, error) {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		return b.bindRangeVar(x.RangeVar, s)
	case *pg.Node_RangeSubselect:
		rs := x.RangeSubselect
		sel := rs.Subquery.Node.(*pg.Node_SelectStmt).SelectStmt
		plan, _, err := b.bindSelect(sel, s.parent)
		if err != nil {
			return nil, nil, err
		}
		return b.aliased(plan, rs.Alias, "")
	case *pg.Node_JoinExpr:
		return b.bindJoin(x.JoinExpr, s)
	case *pg.Node_RangeFunction:
		return b.bindRangeFunction(x.RangeFunction, s)
	}
	return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "FROM item %T is not supported", n.Node)
}

// aliased renames a plan's columns per an alias clause and scopes them.
func (b *Binder) aliased(plan logical.Plan, alias *pg.Alias, defName string) (logical.Plan, []scopeItem, error) {
	qual := defName
	var colNames []string
	if alias != nil {
		qual = alias.Aliasname
		colNames = names(alias.Colnames)
	}
	cols := plan.Columns()
	if len(colNames) > len(cols) {
		return nil, nil, sqlerr.New(sqlerr.InvalidColumnRef, "table \"%s\" has %d columns available but %d columns specified", qual, len(cols), len(colNames))
	}
	items := make([]scopeItem, len(cols))
	for i, c := range cols {
		c.Table = qual
		if i < len(colNames) {
			c.Name = colNames[i]
		}
		items[i] = scopeItem{qual: qual, col: c}
	}
	return plan, items, nil
}

func (b *Binder) bindRangeVar(rv *pg.RangeVar, s *scope) (logical.Plan, []scopeItem, error) {
	if rv.Schemaname == "" {
		if cte := b.findCTE(rv.Relname); cte != nil {
			plan, err := b.expandCTE(cte)
			if err != nil {
				return nil, nil, err
			}
			return b.aliased(plan, rv.Alias, rv.Relname)
		}
	}
	if rv.Schemaname == "weft" {
		if plan, ok := b.systemView(rv.Relname); ok {
			b.recordRelation(rv, 0, rv.Schemaname, rv.Relname)
			return b.aliased(plan, rv.Alias, rv.Relname)
		}
	}
	if rv.Relname == "pg_authid" && (rv.Schemaname == "" || rv.Schemaname == "pg_catalog") && !b.Cat.IsSuperuser(b.User) {
		// it holds the password verifiers
		return nil, nil, sqlerr.New(sqlerr.InsufficientPrivilege, "permission denied for table pg_authid").At(rv.Location)
	}
	if rv.Schemaname == "pg_catalog" {
		if plan, ok := b.pgCatalogView(rv.Relname); ok {
			b.recordRelation(rv, 0, rv.Schemaname, rv.Relname)
			return b.aliased(plan, rv.Alias, rv.Relname)
		}
	}
	if rv.Schemaname == "information_schema" {
		if plan, ok := b.infoSchemaView(rv.Relname); ok {
			b.recordRelation(rv, 0, rv.Schemaname, rv.Relname)
			return b.aliased(plan, rv.Alias, rv.Relname)
		}
	}
	t, v, ok := b.Cat.Lookup(rv.Schemaname, rv.Relname, b.SearchPath)
	if !ok && rv.Schemaname == "" {
		// pg_catalog is searched implicitly, as in PostgreSQL
		if plan, found := b.pgCatalogView(rv.Relname); found {
			b.recordRelation(rv, 0, "pg_catalog", rv.Relname)
			return b.aliased(plan, rv.Alias, rv.Relname)
		}
	}
	if !ok {
		name := rv.Relname
		if rv.Schemaname != "" {
			name = rv.Schemaname + "." + name
		}
		return nil, nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", name).At(rv.Location)
	}
	if v != nil {
		if err := b.requireOn(v.OID, catalog.KindView, v.Schema, v.Name, catalog.PrivSelect); err != nil {
			return nil, nil, err
		}
		b.recordRelation(rv, v.OID, v.Schema, v.Name)
		plan, items, err := b.bindView(v, rv)
		return plan, relationItems(items, rv.Alias, v.OID), err
	}
	if err := b.requireTableSelect(t); err != nil {
		return nil, nil, err
	}
	if b.unpopulated(t) {
		return nil, nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "materialized view \"%s\" has not been populated", t.Name).
			WithHint("Use the REFRESH MATERIALIZED VIEW command.")
	}
	cols := make([]logical.Column, len(t.Columns))
	ords := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = b.newColumn(c.Name, c.Type)
		cols[i].TableOID, cols[i].Attnum = t.OID, i+1
		ords[i] = i
	}
	b.recordRelation(rv, t.OID, t.Schema, t.Name)
	plan, items, err := b.aliased(&logical.Scan{Table: t, Cols: cols, Ords: ords}, rv.Alias, rv.Relname)
	return plan, withColumnSources(relationItems(items, rv.Alias, t.OID), t), err
}

func (b *Binder) bindView(v *catalog.View, rv *pg.RangeVar) (logical.Plan, []scopeItem, error) {
	plan, err := b.viewPlan(v, rv)
	if err != nil {
		return nil, nil, err
	}
	return b.aliased(plan, viewAlias(v, rv.Alias), v.Name)
}

// viewAlias is the alias a reference to view v reads it under: the
// view's column names (CREATE VIEW v (a, b)) where the reference's alias
// names no columns of its own.
func viewAlias(v *catalog.View, alias *pg.Alias) *pg.Alias {
	if len(v.Columns) == 0 || alias != nil && len(alias.Colnames) >= len(v.Columns) {
		return alias
	}
	out := &pg.Alias{Aliasname: v.Name}
	if alias != nil {
		out.Aliasname, out.Colnames = alias.Aliasname, alias.Colnames
	}
	for _, c := range v.Columns[len(out.Colnames):] {
		out.Colnames = append(out.Colnames, pg.MakeStrNode(c))
	}
	return out
}

// viewPlan binds a view's query, or reads the shared result of it when
// the statement names the view more than once and the query is
// deterministic (PostgreSQL would compute it at each reference, with the
// same rows) and aggregates: sharing keeps conditions of the referencing
// query out of the view, which costs little only where they could not go
// below an aggregate anyway (TPC-H q15's revenue view).
func (b *Binder) viewPlan(v *catalog.View, rv *pg.RangeVar) (logical.Plan, error) {
	if sp, ok := b.sharedViews[v.OID]; ok {
		return b.cteScan(sp), nil
	}
	plan, err := b.bindViewQuery(v, rv)
	if err != nil || b.views > 0 || b.relationRefs(rv) < 2 ||
		!aggregates(plan) || !logical.IsDeterministic(plan) {
		return plan, err
	}
	sp := &logical.SharedPlan{Name: v.Name, Plan: plan}
	if b.sharedViews == nil {
		b.sharedViews = map[uint32]*logical.SharedPlan{}
	}
	b.sharedViews[v.OID] = sp
	return b.cteScan(sp), nil
}

// aggregates reports whether p's top, under projections and filters, is
// an aggregate or DISTINCT.
func aggregates(p logical.Plan) bool {
	for {
		switch n := p.(type) {
		case *logical.Aggregate, *logical.Distinct:
			return true
		case *logical.Project:
			p = n.Input
		case *logical.Filter:
			p = n.Input
		default:
			return false
		}
	}
}

func (b *Binder) bindViewQuery(v *catalog.View, rv *pg.RangeVar) (logical.Plan, error) {
	if b.views > 16 {
		return nil, sqlerr.New(sqlerr.InvalidObjectDefinition, "infinite recursion detected in view \"%s\"", v.Name).At(rv.Location)
	}
	stmts, err := parser.Parse(v.SQL)
	if err != nil {
		return nil, err
	}
	sel := stmts[0].Stmt.Node.(*pg.Node_SelectStmt).SelectStmt
	b.views++
	saved := b.ctes
	b.ctes = nil
	b.viewOwners = append(b.viewOwners, b.Cat.Privileges(v.OID, catalog.KindView).Owner)
	plan, _, err := b.bindSelect(sel, nil)
	b.viewOwners = b.viewOwners[:len(b.viewOwners)-1]
	b.ctes = saved
	b.views--
	return plan, err
}

// nullExtended marks the items of an outer join's null-extended side
// (their relation's whole-row value is NULL where no row matched).
func nullExtended(items []scopeItem) []scopeItem {
	out := make([]scopeItem, len(items))
	for i, it := range items {
		it.nullExtended = true
		out[i] = it
	}
	return out
}

func (b *Binder) bindJoin(j *pg.JoinExpr, s *scope) (logical.Plan, []scopeItem, error) {
	left, litems, err := b.bindFromItem(j.Larg, s)
	if err != nil {
		return nil, nil, err
	}
	if lp, items, ok, err := b.bindLateralJoin(j, left, litems, s); ok || err != nil {
		return lp, items, err
	}
	right, ritems, err := b.bindFromItem(j.Rarg, s)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDuplicateAliases(litems, ritems, j.Rtindex); err != nil {
		return nil, nil, err
	}
	kind := map[pg.JoinType]logical.JoinKind{pg.JoinType_JOIN_INNER: logical.InnerJoin, pg.JoinType_JOIN_LEFT: logical.LeftJoin,
		pg.JoinType_JOIN_RIGHT: logical.RightJoin, pg.JoinType_JOIN_FULL: logical.FullJoin}[j.Jointype]
	if kind == logical.LeftJoin || kind == logical.FullJoin {
		ritems = nullExtended(ritems)
	}
	if kind == logical.RightJoin || kind == logical.FullJoin {
		litems = nullExtended(litems)
	}
	join := &logical.Join{Kind: kind, Left: left, Right: right}
	js := &scope{parent: s.parent, level: b.curLevel(), items: append(append([]scopeItem{}, litems...), ritems...)}
	using := names(j.UsingClause)
	if j.IsNatural {
		for _, l := range litems {
			for _, r := range ritems {
				if l.col.Name == r.col.Name && !l.qualOnly && !r.qualOnly {
					using = append(using, l.col.Name)
				}
			}
		}
	}
	if len(using) > 0 || j.IsNatural {
		return b.bindUsing(join, litems, ritems, using)
	}
	if j.Quals != nil {
		js.aggErr = "JOIN conditions"
		cond, err := b.bindExpr(j.Quals, js)
		if err != nil {
			return nil, nil, err
		}
		if join.Cond, err = b.requireBool(cond, nodeLocation(j.Quals)); err != nil {
			return nil, nil, err
		}
	}
	var alias []scopeItem = js.items
	if j.Alias != nil {
		_, alias, err = b.aliased(join, j.Alias, "")
		if err != nil {
			return nil, nil, err
		}
		keepBase(alias, js.items, j.Alias)
	}
	return join, alias, nil
}

// bindUsing builds JOIN … USING: the merged columns come first, then the
// other columns of each side; the right side's copies stay reachable by
// qualified name only.
func (b *Binder) bindUsing(join *logical.Join, litems, ritems []scopeItem, using []string) (logical.Plan, []scopeItem, error) {
	find := func(items []scopeItem, name string) (int, error) {
		idx := -1
		for i, it := range items {
			if it.col.Name == name && !it.qualOnly {
				if idx >= 0 {
					return -1, sqlerr.New(sqlerr.AmbiguousColumn, "common column name \"%s\" appears more than once in left table", name)
				}
				idx = i
			}
		}
		if idx < 0 {
			return -1, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" specified in USING clause does not exist", name)
		}
		return idx, nil
	}
	var conds []logical.Expr
	var exprs []logical.Expr
	var cols []logical.Column
	var items []scopeItem
	usedL, usedR := map[int]bool{}, map[int]bool{}
	for _, name := range using {
		li, err := find(litems, name)
		if err != nil {
			return nil, nil, err
		}
		ri, err := find(ritems, name)
		if err != nil {
			return nil, nil, err
		}
		usedL[li], usedR[ri] = true, true
		b.recordImplicit(litems[li], ritems[ri])
		if err := b.checkColumnReads(litems[li], ritems[ri]); err != nil {
			return nil, nil, err
		}
		l, r := litems[li].col, ritems[ri].col
		lx, rx, t, err := b.comparable(&logical.ColRef{Col: l}, &logical.ColRef{Col: r}, "=", -1)
		if err != nil {
			return nil, nil, err
		}
		conds = append(conds, &logical.Call{Name: "=", Args: []logical.Expr{lx, rx}, Kernel: exec.CompareKernel("=", t), T: types.BoolT, Infix: true})
		var merged logical.Column
		switch join.Kind {
		case logical.RightJoin:
			merged = r
			exprs = append(exprs, &logical.ColRef{Col: r})
		case logical.FullJoin:
			merged = b.newColumn(name, t)
			exprs = append(exprs, &logical.Coalesce{Args: []logical.Expr{lx, rx}, T: t})
		default:
			merged = l
			exprs = append(exprs, &logical.ColRef{Col: l})
		}
		merged.Name = name
		cols = append(cols, merged)
		items = append(items, scopeItem{qual: litems[li].qual, col: merged, unqualified: true})
	}
	join.Cond = logical.JoinAnd(conds)
	add := func(its []scopeItem, used map[int]bool, qualOnly bool) {
		for i, it := range its {
			if used[i] != qualOnly {
				continue
			}
			if used[i] && join.Kind != logical.FullJoin && cols[indexOfName(using, it.col.Name)].ID == it.col.ID {
				continue // already exposed as the merged column
			}
			exprs = append(exprs, &logical.ColRef{Col: it.col})
			cols = append(cols, it.col)
			it.qualOnly = qualOnly || it.qualOnly
			items = append(items, it)
		}
	}
	add(litems, usedL, false)
	add(ritems, usedR, false)
	add(litems, usedL, true)
	add(ritems, usedR, true)
	return &logical.Project{Input: join, Exprs: exprs, Cols: cols}, items, nil
}

func indexOfName(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return 0
}

func (b *Binder) bindRangeFunction(rf *pg.RangeFunction, s *scope) (logical.Plan, []scopeItem, error) {
	if plan, items, ok, err := b.bindPartitionAncestors(rf, s); ok || err != nil {
		return plan, items, err
	}
	if len(rf.Functions) != 1 || rf.IsRowsfrom {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "this form of function in FROM is not supported yet")
	}
	fl := rf.Functions[0].Node.(*pg.Node_List).List.Items
	fc, ok := fl[0].Node.(*pg.Node_FuncCall)
	if !ok {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "unsupported function in FROM")
	}
	if funcName(fc.FuncCall.Funcname) == "string_to_table" && b.udfTable("string_to_table") == nil {
		return b.bindRangeFunction(stringToTableInFrom(rf, fc.FuncCall), s)
	}
	name := funcName(fc.FuncCall.Funcname)
	_, eachFamily := jsonSetFuncs[name+".key"]
	if rf.Ordinality && !isSetFunc(name) && !eachFamily {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITH ORDINALITY is supported for set-returning built-in functions only").At(fc.FuncCall.Location)
	}
	if format, ok := fileFormats[name]; ok {
		plan, err := b.bindFileScan(format, fc.FuncCall)
		if err != nil {
			return nil, nil, err
		}
		return b.aliased(plan, rf.Alias, name)
	}
	if name == "postgres_scan" || name == "postgres_query" {
		plan, err := b.bindRemoteScan(name, fc.FuncCall)
		if err != nil {
			return nil, nil, err
		}
		return b.aliased(plan, rf.Alias, name)
	}
	if plan, items, ok, err := b.bindPLInFrom(name, rf, fc.FuncCall, s); ok || err != nil {
		return plan, items, err
	}
	f, err := b.udfTableChecked(name)
	if err != nil {
		return nil, nil, err
	}
	if f != nil {
		b.recordFunction(fc.FuncCall, name, nil)
		plan, err := b.bindTableFunc(f, fc.FuncCall, s)
		if err != nil {
			return nil, nil, err
		}
		if tf, ok := plan.(*logical.TableFunc); ok && tf.Lateral {
			// only the function's own columns enter the scope here
			_, items, err := b.aliased(&logical.Values{Cols: tf.Cols}, rf.Alias, name)
			return tf, items, err
		}
		return b.aliased(plan, rf.Alias, name)
	}
	if name == "unnest" && !rf.Ordinality {
		return b.bindUnnest(rf, fc.FuncCall, s)
	}
	if eachFamily || isSetFunc(name) && (name != "generate_series" || rf.Ordinality) {
		one := &logical.Values{Rows: [][]logical.Expr{{}}}
		node := &pg.Node{Node: &pg.Node_RangeFunction{RangeFunction: rf}}
		plan, items, _, err := b.bindSetFuncInFrom(node, one, nil, s, false, true)
		return plan, items, err
	}
	if name == "pg_get_keywords" || name == "pg_catalog.pg_get_keywords" {
		if len(fc.FuncCall.Args) > 0 {
			return nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "function pg_get_keywords takes no arguments").At(fc.FuncCall.Location)
		}
		return b.aliased(b.keywordsValues(), rf.Alias, "pg_get_keywords")
	}
	if name != "generate_series" {
		return b.bindScalarInFrom(rf, fc.FuncCall, name, s)
	}
	cs := &scope{parent: s.parent, level: b.curLevel(), aggErr: "functions in FROM"}
	args, err := b.bindList(fc.FuncCall.Args, cs)
	if err != nil {
		return nil, nil, err
	}
	if len(args) < 2 || len(args) > 3 {
		return nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "function generate_series with %d arguments does not exist", len(args)).At(fc.FuncCall.Location)
	}
	ts := []types.T{args[0].Type(), args[1].Type()}
	t, err := commonType(ts, "generate_series")
	if err != nil {
		return nil, nil, err
	}
	if t.Kind == types.Unknown || t.IsString() {
		t = types.Int4T
	}
	stepT := t
	switch {
	case t.IsInteger():
		if t.Kind == types.Int2 {
			t = types.Int4T
		}
		stepT = types.Int8T
	case t.Kind == types.Timestamp || t.Kind == types.TimestampTZ || t.Kind == types.Date:
		if t.Kind == types.Date {
			t = types.TimestampTZT
		}
		stepT = types.IntervalT
	default:
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "generate_series over %s is not supported yet", t).At(fc.FuncCall.Location)
	}
	if len(args) == 2 {
		if stepT.Kind == types.Interval {
			return nil, nil, exec.NoSuchFunction("generate_series", ts)
		}
		args = append(args, &logical.Const{Value: int64(1), T: types.Int8T})
	}
	coerceTo := []types.T{t, t, stepT}
	if t.IsInteger() {
		coerceTo = []types.T{types.Int8T, types.Int8T, types.Int8T}
	}
	for i := range args {
		if args[i], err = b.coerce(args[i], coerceTo[i]); err != nil {
			return nil, nil, err
		}
	}
	outT := t
	if t.IsInteger() && (args[0].Type().Kind == types.Int8) && (ts[0].Kind == types.Int8 || ts[1].Kind == types.Int8) {
		outT = types.Int8T
	} else if t.IsInteger() {
		outT = types.Int8T
		if ts[0].Kind != types.Int8 && ts[1].Kind != types.Int8 {
			outT = types.Int4T
		}
	}
	col := b.newColumn("generate_series", outT)
	var plan logical.Plan = &logical.Series{Start: args[0], Stop: args[1], Step: args[2], Cols: []logical.Column{col}}
	if outT != coerceTo[0] && outT.IsInteger() {
		// the series runs in bigint; expose the declared integer type
		seriesCol := b.newColumn("generate_series", types.Int8T)
		plan.(*logical.Series).Cols = []logical.Column{seriesCol}
		plan = &logical.Project{Input: plan, Exprs: []logical.Expr{&logical.Cast{Arg: &logical.ColRef{Col: seriesCol}, To: outT}}, Cols: []logical.Column{col}}
	}
	alias := rf.Alias
	if alias != nil && len(alias.Colnames) == 0 {
		// a table alias alone names the single column too
		alias = &pg.Alias{Aliasname: alias.Aliasname, Colnames: []*pg.Node{pg.MakeStrNode(alias.Aliasname)}}
	}
	return b.aliased(plan, alias, "generate_series")
}

func (b *Binder) findCTE(name string) *cteDef {
	for i := len(b.ctes) - 1; i >= 0; i-- {
		if c, ok := b.ctes[i][name]; ok {
			return c
		}
	}
	return nil
}

func (b *Binder) pushCTEs(stmt *pg.SelectStmt, parent *scope) error {
	w := stmt.WithClause
	defs := map[string]*cteDef{}
	b.ctes = append(b.ctes, defs)
	for _, n := range w.Ctes {
		c := n.Node.(*pg.Node_CommonTableExpr).CommonTableExpr
		sel, ok := c.Ctequery.Node.(*pg.Node_SelectStmt)
		if !ok {
			return sqlerr.New(sqlerr.FeatureNotSupported, "data-modifying statements in WITH are not supported").At(c.Location)
		}
		if _, dup := defs[c.Ctename]; dup {
			return sqlerr.New(sqlerr.DuplicateAlias, "WITH query name \"%s\" specified more than once", c.Ctename).At(c.Location)
		}
		def := &cteDef{name: c.Ctename, query: sel.SelectStmt, colNames: names(c.Aliascolnames)}
		siblings := make(map[string]*cteDef, len(defs))
		for k, v := range defs {
			siblings[k] = v
		}
		def.env = append(append([]map[string]*cteDef{}, b.ctes[:len(b.ctes)-1]...), siblings)
		if w.Recursive && refersTo(sel.SelectStmt, c.Ctename) {
			// visible to its own recursive term, which reads the work table
			defs[c.Ctename] = def
			if err := b.bindRecursiveCTE(def, parent); err != nil {
				return err
			}
		}
		// a recursive query names itself once in its recursive term
		refs := countRelationRefs(stmt.ProtoReflect(), c.Ctename)
		if def.bound != nil {
			refs--
		}
		def.shareable = refs > 1 && (def.bound != nil || c.Ctematerialized != pg.CTEMaterialize_CTEMaterializeNever)
		defs[c.Ctename] = def
	}
	return nil
}

// relationRefs counts the references to each relation in a parse tree by
// spelling ("schema.name", the schema empty when not given).
// relationRefs is how often the statement being bound names rv's
// relation (counted on first use).
func (b *Binder) relationRefs(rv *pg.RangeVar) int {
	if b.viewRefs == nil && b.query != nil {
		b.viewRefs = relationRefs(b.query.ProtoReflect())
	}
	return b.viewRefs[rv.Schemaname+"."+rv.Relname]
}

func relationRefs(m protoreflect.Message) map[string]int {
	refs := map[string]int{}
	var visit func(m protoreflect.Message)
	visit = func(m protoreflect.Message) {
		if rv, ok := m.Interface().(*pg.RangeVar); ok {
			refs[rv.Schemaname+"."+rv.Relname]++
		}
		forEachMessage(m, visit)
	}
	visit(m)
	return refs
}

// forEachMessage calls f on each message directly inside m.
func forEachMessage(m protoreflect.Message, f func(protoreflect.Message)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap() || fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				f(v.List().Get(i).Message())
			}
		default:
			f(v.Message())
		}
		return true
	})
}

// countRelationRefs counts the unqualified references to relation name in
// a parse tree, subqueries and other WITH queries included (an inner WITH
// of the same name is counted too: that only costs sharing).
func countRelationRefs(m protoreflect.Message, name string) int {
	n := 0
	if rv, ok := m.Interface().(*pg.RangeVar); ok && rv.Relname == name && rv.Schemaname == "" {
		n++
	}
	forEachMessage(m, func(c protoreflect.Message) { n += countRelationRefs(c, name) })
	return n
}

// refersTo reports whether a query mentions relation name (a cheap check
// through the deparsed text is enough to decide whether a CTE recurses).
func refersTo(sel *pg.SelectStmt, name string) bool {
	found := false
	var visit func(n *pg.Node)
	visitSel := func(s *pg.SelectStmt) {
		if s == nil {
			return
		}
		for _, f := range s.FromClause {
			visit(f)
		}
		if s.Larg != nil {
			visit(&pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: s.Larg}})
		}
		if s.Rarg != nil {
			visit(&pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: s.Rarg}})
		}
	}
	visit = func(n *pg.Node) {
		if n == nil || found {
			return
		}
		switch x := n.Node.(type) {
		case *pg.Node_RangeVar:
			found = found || (x.RangeVar.Relname == name && x.RangeVar.Schemaname == "")
		case *pg.Node_JoinExpr:
			visit(x.JoinExpr.Larg)
			visit(x.JoinExpr.Rarg)
		case *pg.Node_RangeSubselect:
			visit(x.RangeSubselect.Subquery)
		case *pg.Node_SelectStmt:
			visitSel(x.SelectStmt)
		}
	}
	visitSel(sel)
	return found
}

// expandCTE binds a CTE's query at the place it is referenced (CTEs are
// inlined; a recursive one was bound once when declared).
func (b *Binder) expandCTE(c *cteDef) (logical.Plan, error) {
	if rec, ok := c.bound.(*logical.RecursiveCTE); ok && c.shareable {
		// each reference needs columns of its own
		if c.shared == nil {
			c.shared = &logical.SharedPlan{Name: c.name, Plan: rec}
		}
		return b.cteScan(c.shared), nil
	}
	if c.bound != nil {
		return c.bound, nil
	}
	if c.shareable {
		return b.sharedCTE(c)
	}
	return b.bindCTEBody(c)
}

// sharedCTE returns a CTEScan of c's body, binding the body at the first
// reference. A body that reads columns of an enclosing query is not
// shared: its value depends on where it is read.
func (b *Binder) sharedCTE(c *cteDef) (logical.Plan, error) {
	if c.shared == nil {
		plan, correlated, err := b.bindNoticingOuter(func() (logical.Plan, error) { return b.bindCTEBody(c) })
		if err != nil || correlated {
			c.shareable = false
			return plan, err
		}
		c.shared = &logical.SharedPlan{Name: c.name, Plan: plan}
	}
	return b.cteScan(c.shared), nil
}

// cteScan is one reference to a shared plan, with columns of its own.
func (b *Binder) cteScan(sp *logical.SharedPlan) *logical.CTEScan {
	body := sp.Plan.Columns()
	cols := make([]logical.Column, len(body))
	for i, col := range body {
		cols[i] = b.newColumn(col.Name, col.T)
	}
	return &logical.CTEScan{Shared: sp, Cols: cols}
}

// bindNoticingOuter runs bind and reports whether what it bound references
// columns of enclosing queries.
func (b *Binder) bindNoticingOuter(bind func() (logical.Plan, error)) (logical.Plan, bool, error) {
	if len(b.levels) == 0 {
		p, err := bind()
		return p, false, err
	}
	lv := b.levels[b.curLevel()]
	savedOuter, savedSeen := lv.outer, lv.seen
	lv.outer, lv.seen = nil, map[logical.ColumnID]bool{}
	p, err := bind()
	found := lv.outer
	lv.outer, lv.seen = savedOuter, savedSeen
	for _, col := range found {
		if !lv.seen[col.ID] {
			lv.seen[col.ID] = true
			lv.outer = append(lv.outer, col)
		}
	}
	return p, len(found) > 0, err
}

func (b *Binder) bindCTEBody(c *cteDef) (logical.Plan, error) {
	saved := b.ctes
	b.ctes = c.env
	plan, _, err := b.bindSelect(c.query, nil)
	b.ctes = saved
	if err != nil {
		return nil, err
	}
	return b.renameCols(plan, c.colNames, c.name)
}

func (b *Binder) renameCols(plan logical.Plan, names []string, what string) (logical.Plan, error) {
	if len(names) == 0 {
		return plan, nil
	}
	cols := plan.Columns()
	if len(names) > len(cols) {
		return nil, sqlerr.New(sqlerr.InvalidColumnRef, "WITH query \"%s\" has %d columns available but %d columns specified", what, len(cols), len(names))
	}
	exprs := make([]logical.Expr, len(cols))
	out := make([]logical.Column, len(cols))
	for i, c := range cols {
		exprs[i] = &logical.ColRef{Col: c}
		out[i] = b.newColumn(c.Name, c.T)
		if i < len(names) {
			out[i].Name = names[i]
		}
	}
	return &logical.Project{Input: plan, Exprs: exprs, Cols: out}, nil
}

func (b *Binder) bindRecursiveCTE(def *cteDef, parent *scope) error {
	q := def.query
	if q.Op != pg.SetOperation_SETOP_UNION {
		return sqlerr.New(sqlerr.InvalidRecursion, "recursive query \"%s\" does not have the form non-recursive-term UNION [ALL] recursive-term", def.name)
	}
	anchor, _, err := b.bindSelect(q.Larg, parent)
	if err != nil {
		return err
	}
	if anchor, err = b.renameCols(anchor, def.colNames, def.name); err != nil {
		return err
	}
	acols := anchor.Columns()
	work := &logical.WorkTable{Name: def.name, Table: &exec.WorkTable{Name: def.name}}
	workCols := make([]logical.Column, len(acols))
	for i, c := range acols {
		workCols[i] = b.newColumn(c.Name, c.T)
	}
	// while binding the recursive term, the CTE name reads the work table
	def.bound = &logical.WorkScan{Work: work, Cols: workCols}
	rec, _, err := b.bindSelect(q.Rarg, parent)
	if err != nil {
		def.bound = nil
		return err
	}
	rcols := rec.Columns()
	if len(rcols) != len(acols) {
		def.bound = nil
		return sqlerr.New(sqlerr.SyntaxError, "each UNION query must have the same number of columns")
	}
	exprs := make([]logical.Expr, len(rcols))
	castNeeded := false
	for i := range rcols {
		if exprs[i], err = b.coerce(&logical.ColRef{Col: rcols[i]}, acols[i].T); err != nil {
			def.bound = nil
			return sqlerr.New(sqlerr.DatatypeMismatch, "recursive query \"%s\" column %d has type %s in non-recursive term but type %s overall", def.name, i+1, acols[i].T, rcols[i].T)
		}
		castNeeded = castNeeded || rcols[i].T != acols[i].T
	}
	if castNeeded {
		rec = &logical.Project{Input: rec, Exprs: exprs, Cols: b.freshCols(rcols, acols)}
	}
	outCols := make([]logical.Column, len(acols))
	for i, c := range acols {
		outCols[i] = b.newColumn(c.Name, c.T)
	}
	def.bound = &logical.RecursiveCTE{Name: def.name, Anchor: anchor, Recursive: rec, Distinct: !q.All, Cols: outCols, Work: work}
	return nil
}

// bindUnnest binds unnest(array) in FROM, over an array in its text form:
// one text row per element.
func (b *Binder) bindUnnest(rf *pg.RangeFunction, fc *pg.FuncCall, s *scope) (logical.Plan, []scopeItem, error) {
	cs := &scope{parent: s.parent, level: b.curLevel(), aggErr: "functions in FROM"}
	args, err := b.bindList(fc.Args, cs)
	if err != nil {
		return nil, nil, err
	}
	if len(args) != 1 {
		return nil, nil, sqlerr.New(sqlerr.FeatureNotSupported, "unnest of several arrays is not supported yet").At(fc.Location)
	}
	elem := catalogArrayElem(args[0].Type())
	if args[0].Type().Kind == types.Array {
		elem = args[0].Type().ElemT()
	}
	arr, err := b.coerce(arrayAsText(args[0]), types.TextT)
	if err != nil {
		return nil, nil, sqlerr.New(sqlerr.UndefinedFunction, "function unnest(%s) does not exist", args[0].Type()).At(fc.Location)
	}
	plan := &logical.Series{Array: arr, Cols: []logical.Column{b.newColumn("unnest", elem)}}
	alias := rf.Alias
	if alias != nil && len(alias.Colnames) == 0 {
		alias = &pg.Alias{Aliasname: alias.Aliasname, Colnames: []*pg.Node{pg.MakeStrNode(alias.Aliasname)}}
	}
	return b.aliased(plan, alias, "unnest")
}

// bindLateralSetFunc binds unnest(…) or generate_series(…) in FROM whose
// arguments read columns of left, the FROM items before it (visible):
// every left row expands through a ProjectSet, which is what a lateral
// call means. ok is false when n is no such call (the caller binds it
// the ordinary way).
func (b *Binder) bindLateralSetFunc(n *pg.Node, left logical.Plan, visible []scopeItem, s *scope, outer bool) (logical.Plan, []scopeItem, bool, error) {
	return b.bindSetFuncInFrom(n, left, visible, s, outer, false)
}

// bindSetFuncInFrom binds a set-returning call in FROM as a ProjectSet
// over left; force binds it even when it reads nothing of left (a json
// function as the first FROM item, over one empty row).
func (b *Binder) bindSetFuncInFrom(n *pg.Node, left logical.Plan, visible []scopeItem, s *scope, outer, force bool) (logical.Plan, []scopeItem, bool, error) {
	rf := n.GetRangeFunction()
	if rf == nil || len(rf.Functions) != 1 || rf.IsRowsfrom {
		return nil, nil, false, nil
	}
	fc := rf.Functions[0].GetList().GetItems()[0].GetFuncCall()
	if fc == nil {
		return nil, nil, false, nil
	}
	name := funcName(fc.Funcname)
	if name == "string_to_table" && b.udfTable(name) == nil {
		rewritten := &pg.Node{Node: &pg.Node_RangeFunction{RangeFunction: stringToTableInFrom(rf, fc)}}
		return b.bindSetFuncInFrom(rewritten, left, visible, s, outer, force)
	}
	_, eachFamily := jsonSetFuncs[name+".key"]
	ls := &scope{parent: s.parent, level: b.curLevel(), items: visible, aggErr: "functions in FROM"}
	if !force && b.isPLFunction(name) {
		// f(t.col) in FROM: run per row of the FROM items before it
		ps, items, ok, err := b.bindPLRows(name, rf, fc, ls, left, outer)
		if err != nil || !ok || !readsAny(ps.Funcs, left.Columns()) {
			return nil, nil, false, nil // the ordinary binding binds or reports it
		}
		return ps, items, true, nil
	}
	if !isSetFunc(name) && !eachFamily || b.udfTable(name) != nil {
		return nil, nil, false, nil
	}
	var funcs []logical.SetFunc
	var ts []types.T
	var names []string // column names when not the function's
	if eachFamily {
		// jsonb_each(j): key and value, side by side
		for _, part := range []string{"key", "value"} {
			f, t, err := b.bindSetFunc(name+"."+part, fc, ls)
			if err != nil {
				return nil, nil, false, err
			}
			funcs, ts, names = append(funcs, f), append(ts, t), append(names, part)
		}
	} else if name == "unnest" && len(fc.Args) > 1 {
		// unnest(a, b): the arrays side by side, the shorter padded with NULL
		for _, a := range fc.Args {
			f, t, err := b.bindSetFunc(name, &pg.FuncCall{Funcname: fc.Funcname, Args: []*pg.Node{a}, Location: fc.Location}, ls)
			if err != nil {
				return nil, nil, false, nil // the ordinary binding reports it
			}
			funcs, ts = append(funcs, f), append(ts, t)
		}
	} else {
		f, t, err := b.bindSetFunc(name, fc, ls)
		if err != nil {
			return nil, nil, false, nil // the ordinary binding reports it
		}
		funcs, ts = append(funcs, f), append(ts, t)
	}
	if !force && !readsAny(funcs, left.Columns()) {
		return nil, nil, false, nil
	}
	ps := &logical.ProjectSet{Input: left, Funcs: funcs, Outer: outer}
	for i := range funcs {
		col := name
		if names != nil {
			col = names[i]
		}
		ps.Cols = append(ps.Cols, b.newColumn(col, ts[i]))
	}
	if rf.Ordinality {
		ps.Funcs = append(ps.Funcs, logical.SetFunc{Name: "ordinality"})
		ps.Cols = append(ps.Cols, b.newColumn("ordinality", types.Int8T))
	}
	alias := rf.Alias
	if alias != nil && len(alias.Colnames) == 0 && len(funcs) == 1 && names == nil {
		// unnest(a) AS u names its column u as well
		alias = &pg.Alias{Aliasname: alias.Aliasname, Colnames: []*pg.Node{pg.MakeStrNode(alias.Aliasname)}}
	}
	_, items, err := b.aliased(&logical.Values{Cols: ps.Cols}, alias, name)
	if err != nil {
		return nil, nil, false, err
	}
	return ps, items, true, nil
}

// readsAny reports whether the functions' arguments read any of cols.
func readsAny(funcs []logical.SetFunc, cols []logical.Column) bool {
	for _, f := range funcs {
		for _, a := range f.Args {
			used := logical.ColumnsUsed(a)
			for _, c := range cols {
				if used[c.ID] {
					return true
				}
			}
		}
	}
	return false
}

// bindLateralJoin binds t [CROSS | LEFT] JOIN [LATERAL] unnest(t.a) …
// when the right side is a set-returning call reading the left side.
func (b *Binder) bindLateralJoin(j *pg.JoinExpr, left logical.Plan, litems []scopeItem, s *scope) (logical.Plan, []scopeItem, bool, error) {
	if len(j.UsingClause) > 0 || j.IsNatural {
		return nil, nil, false, nil
	}
	outer := j.Jointype == pg.JoinType_JOIN_LEFT
	visible := append(append([]scopeItem{}, s.items...), litems...)
	var plan logical.Plan
	var ritems []scopeItem
	if rs := j.Rarg.GetRangeSubselect(); rs != nil && rs.Lateral {
		var err error
		if plan, ritems, err = b.bindLateralSubquery(rs, left, visible, s, outer); err != nil {
			return nil, nil, true, err
		}
	} else {
		var ok bool
		var err error
		plan, ritems, ok, err = b.bindLateralSetFunc(j.Rarg, left, visible, s, outer)
		if !ok || err != nil {
			return nil, nil, ok, err
		}
	}
	if j.Jointype != pg.JoinType_JOIN_INNER && !outer {
		return nil, nil, true, sqlerr.New(sqlerr.UndefinedTable, "invalid reference to FROM-clause entry in a LATERAL function call").
			WithHint("The combining JOIN type must be INNER or LEFT for a LATERAL reference.").At(nodeLocation(j.Rarg))
	}
	if outer {
		ritems = nullExtended(ritems)
	}
	items := append(append([]scopeItem{}, litems...), ritems...)
	if j.Quals != nil {
		js := &scope{parent: s.parent, level: b.curLevel(), items: items, aggErr: "JOIN conditions"}
		cond, err := b.bindExpr(j.Quals, js)
		if err != nil {
			return nil, nil, true, err
		}
		if cond, err = b.requireBool(cond, nodeLocation(j.Quals)); err != nil {
			return nil, nil, true, err
		}
		if c, isConst := cond.(*logical.Const); !isConst || c.Value != true {
			if ap, ok := plan.(*logical.Apply); ok && outer {
				// LEFT JOIN LATERAL (…) ON cond: cond filters the subquery's
				// rows for each left row, reading the left row's columns as
				// outer references
				plan = applyCondition(ap, cond)
				cond = nil
			} else if outer {
				return nil, nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "LEFT JOIN LATERAL with a condition other than ON true is not supported yet").At(nodeLocation(j.Quals))
			}
			if cond != nil {
				plan = &logical.Filter{Input: plan, Cond: cond}
			}
		}
	}
	if j.Alias != nil {
		_, aliased, err := b.aliased(plan, j.Alias, "")
		return plan, aliased, true, err
	}
	return plan, items, true, nil
}

// keywordsValues is pg_get_keywords(): the grammar's keywords with their
// categories, as constant rows.
func (b *Binder) keywordsValues() *logical.Values {
	v := &logical.Values{Cols: []logical.Column{
		b.newColumn("word", types.TextT), b.newColumn("catcode", types.CharT1), b.newColumn("barelabel", types.BoolT),
		b.newColumn("catdesc", types.TextT), b.newColumn("baredesc", types.TextT)}}
	for _, k := range parser.Keywords {
		bare := "requires AS"
		if k.BareLabel {
			bare = "can be bare label"
		}
		v.Rows = append(v.Rows, []logical.Expr{
			&logical.Const{T: types.TextT, Value: k.Word}, &logical.Const{T: types.CharT1, Value: string(k.Category)},
			&logical.Const{T: types.BoolT, Value: k.BareLabel}, &logical.Const{T: types.TextT, Value: parser.CategoryDescription(k.Category)},
			&logical.Const{T: types.TextT, Value: bare}})
	}
	return v
}

// bindLateralSubquery binds FROM …, LATERAL (SELECT …): the subquery sees
// the FROM items before it (visible) as outer references and runs once
// per row of left.
func (b *Binder) bindLateralSubquery(rs *pg.RangeSubselect, left logical.Plan, visible []scopeItem, s *scope, leftJoin bool) (logical.Plan, []scopeItem, error) {
	sel := rs.Subquery.GetSelectStmt()
	// an aggregate of the subquery over the query's own columns would be
	// the query's, computed before its FROM clause is
	ls := &scope{parent: s.parent, level: b.curLevel(), items: visible, aggErr: "FROM clause of their own query level"}
	b.pushLevel()
	right, _, err := b.bindSelect(sel, ls)
	outer := b.popLevel()
	if err != nil {
		return nil, nil, err
	}
	_, items, err := b.aliased(right, rs.Alias, "")
	if err != nil {
		return nil, nil, err
	}
	if len(outer) == 0 && !leftJoin {
		// nothing lateral about it after all: an ordinary join
		return &logical.Join{Kind: logical.InnerJoin, Left: left, Right: right}, items, nil
	}
	return &logical.Apply{Left: left, Right: right, Outer: outer, LeftJoin: leftJoin}, items, nil
}

// applyCondition moves a join condition into an Apply's subquery: the left
// side's columns become outer references of it.
func applyCondition(ap *logical.Apply, cond logical.Expr) *logical.Apply {
	left := idSetOf(ap.Left.Columns())
	have := idSetOf(ap.Outer)
	n := *ap
	n.Outer = append([]logical.Column{}, ap.Outer...)
	cond = logical.Rewrite(cond, func(x logical.Expr) logical.Expr {
		c, ok := x.(*logical.ColRef)
		if !ok || !left[c.Col.ID] {
			return x
		}
		if !have[c.Col.ID] {
			have[c.Col.ID] = true
			n.Outer = append(n.Outer, c.Col)
		}
		return &logical.OuterRef{Col: c.Col}
	})
	n.Right = &logical.Filter{Input: ap.Right, Cond: cond}
	return &n
}

func idSetOf(cols []logical.Column) map[logical.ColumnID]bool {
	out := make(map[logical.ColumnID]bool, len(cols))
	for _, c := range cols {
		out[c.ID] = true
	}
	return out
}

// bindPartitionAncestors binds pg_partition_ancestors(rel) [WITH
// ORDINALITY] in FROM: no table is partitioned, so the one row is the
// relation itself (at depth 1).
func (b *Binder) bindPartitionAncestors(rf *pg.RangeFunction, s *scope) (logical.Plan, []scopeItem, bool, error) {
	if len(rf.Functions) != 1 || rf.IsRowsfrom {
		return nil, nil, false, nil
	}
	fc := rf.Functions[0].GetList().GetItems()[0].GetFuncCall()
	if fc == nil || funcName(fc.Funcname) != "pg_partition_ancestors" || len(fc.Args) != 1 {
		return nil, nil, false, nil
	}
	cs := &scope{parent: s.parent, level: b.curLevel(), aggErr: "functions in FROM"}
	arg, err := b.bindExpr(fc.Args[0], cs)
	if err != nil {
		return nil, nil, true, err
	}
	if arg, err = b.coerce(arg, types.OIDT); err != nil {
		return nil, nil, true, err
	}
	rel := &logical.Cast{Arg: arg, To: types.RegClassT}
	v := &logical.Values{Rows: [][]logical.Expr{{rel}}, Cols: []logical.Column{b.newColumn("relid", types.RegClassT)}}
	if rf.Ordinality {
		v.Rows[0] = append(v.Rows[0], &logical.Const{T: types.Int8T, Value: int64(1)})
		v.Cols = append(v.Cols, b.newColumn("ordinality", types.Int8T))
	}
	plan, items, err := b.aliased(v, rf.Alias, "pg_partition_ancestors")
	return plan, items, true, err
}

// bindScalarInFrom binds a function that returns one value, in FROM
// (`SELECT * FROM current_schema()`): one row with one column, named
// after the function, or after the alias when only a table alias is given,
// as PostgreSQL names it.
func (b *Binder) bindScalarInFrom(rf *pg.RangeFunction, fc *pg.FuncCall, name string, s *scope) (logical.Plan, []scopeItem, error) {
	cs := &scope{parent: s.parent, level: b.curLevel(), aggErr: "functions in FROM"}
	e, err := b.bindFuncCall(fc, cs)
	if err != nil {
		return nil, nil, err
	}
	if e.Type().Kind == types.Unknown {
		if e, err = b.coerce(e, types.TextT); err != nil {
			return nil, nil, err
		}
	}
	colName := name
	if i := strings.LastIndexByte(colName, '.'); i >= 0 {
		colName = colName[i+1:]
	}
	if rf.Alias != nil && len(rf.Alias.Colnames) == 0 {
		colName = rf.Alias.Aliasname
	}
	v := &logical.Values{Rows: [][]logical.Expr{{e}}, Cols: []logical.Column{b.newColumn(colName, e.Type())}}
	return b.aliased(v, rf.Alias, colName)
}

// unpopulated reports whether t is a materialized view not yet populated.
func (b *Binder) unpopulated(t *catalog.Table) bool {
	if t.MatView == "" {
		return false
	}
	if b.Unpopulated != nil {
		return b.Unpopulated(t)
	}
	return t.Unpopulated
}

// stringToTableInFrom is rf with string_to_table(...) replaced by the unnest
// of string_to_array (stringToTable), named string_to_table as PostgreSQL
// names the function's relation and column when no alias is given.
func stringToTableInFrom(rf *pg.RangeFunction, fc *pg.FuncCall) *pg.RangeFunction {
	call := &pg.Node{Node: &pg.Node_FuncCall{FuncCall: stringToTable(fc)}}
	items := append([]*pg.Node{call}, rf.Functions[0].GetList().GetItems()[1:]...) // (then its column definitions)
	list := &pg.Node{Node: &pg.Node_List{List: &pg.List{Items: items}}}
	out := &pg.RangeFunction{Lateral: rf.Lateral, Ordinality: rf.Ordinality, Functions: []*pg.Node{list}, Alias: rf.Alias, Coldeflist: rf.Coldeflist}
	if out.Alias == nil {
		out.Alias = &pg.Alias{Aliasname: "string_to_table"}
	}
	return out
}
