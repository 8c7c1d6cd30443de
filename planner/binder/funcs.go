package binder

import (
	"github.com/weftdb/weft/catalog"
	"slices"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Version is reported by version() and the server_version setting.
const Version = "0.1.0"

// aggContext collects the aggregates and window functions of one SELECT.
type aggContext struct {
	aggs    []*logical.AggCall
	aggCols []logical.Column
	byKey   map[string]int
	windows []*logical.WindowCall
	winCols []logical.Column
	// named are the WINDOW clause's definitions, by name.
	named map[string]*pg.WindowDef
}

func funcName(ns []*pg.Node) string {
	parts := names(ns)
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		return parts[1]
	}
	return strings.Join(parts, ".")
}

func (b *Binder) bindFuncCall(fc *pg.FuncCall, s *scope) (logical.Expr, error) {
	name := funcName(fc.Funcname)
	if isSetFunc(name) {
		if e, ok, err := b.nestedSetFunc(name, fc, s); ok || err != nil {
			return e, err
		}
	}
	if e, ok, err := b.bindRowJSONCall(fc, name, s); ok || err != nil {
		return e, err
	}
	if exec.OrderedSetAggregates[name] || fc.AggWithinGroup {
		return b.bindOrderedSetCall(fc, name, s)
	}
	if fc.Over != nil {
		return b.bindWindowCall(fc, name, s)
	}
	if def, ok := b.aggs[name]; ok {
		return b.bindAggCall(fc, def, s)
	}
	if def := b.udfAggregate(name); def != nil {
		b.recordFunction(fc, name, nil)
		return b.bindAggCall(fc, def, s)
	}
	if exec.WindowFuncNames[name] {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "window function %s requires an OVER clause", name).At(fc.Location)
	}
	if fc.AggStar || fc.AggDistinct {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "%s is not an aggregate function", name).At(fc.Location)
	}
	if _, builtin := b.scalars[name]; builtin && fc.FuncVariadic {
		return b.bindVariadicCall(fc, name, s)
	}
	switch name {
	case "now", "current_timestamp", "transaction_timestamp", "statement_timestamp":
		return &logical.Const{Value: b.Env.Now.UTC().UnixMicro(), T: types.TimestampTZT}, nil
	case "current_setting":
		return b.currentSetting(fc)
	case "set_config":
		return b.setConfig(fc, s)
	case "version":
		return &logical.Const{Value: "PostgreSQL 15.0 (Weft " + Version + ") on x86_64-pc-linux-gnu, compiled by Go", T: types.TextT}, nil
	case "pg_backend_pid":
		return &logical.Const{Value: int64(b.BackendPID), T: types.Int4T}, nil
	case "current_database", "current_catalog":
		return &logical.Const{Value: "weft", T: types.TextT}, nil
	case "current_schema":
		return &logical.Const{Value: b.SearchPath[0], T: types.TextT}, nil
	case "current_schemas":
		// an array, in its text form: pg_catalog first when asked for the
		// implicit schemas, then the search path's existing schemas
		var elems []*string
		if len(fc.Args) == 1 {
			if c := fc.Args[0].GetAConst(); c != nil && c.GetBoolval() != nil && c.GetBoolval().Boolval {
				pgc := "pg_catalog"
				elems = append(elems, &pgc)
			}
		}
		for _, name := range b.SearchPath {
			if _, ok := b.Cat.Schema(name); ok {
				name := name
				elems = append(elems, &name)
			}
		}
		return &logical.Const{Value: exec.FormatTextArray(elems), T: types.TextT}, nil
	case "generate_series":
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning functions are only supported in FROM").At(fc.Location)
	case "pg_get_viewdef":
		return b.bindViewDef(fc, s)
	}
	argNodes, err := b.arrangeArgs(name, fc)
	if err != nil {
		return nil, err
	}
	args, err := b.bindList(argNodes, s)
	if err != nil {
		return nil, err
	}
	switch name {
	case "array_to_string", "array_upper", "array_lower", "cardinality", "array_length":
		// these read arrays in their text form
		if len(args) > 0 {
			args[0] = arrayAsText(args[0])
		}
	}
	if name == "pg_typeof" && len(args) == 1 {
		return &logical.Const{Value: args[0].Type().String(), T: types.TextT}, nil
	}
	if e, ok := b.functionInfo(name, args); ok {
		return e, nil
	}
	if name == "concat" || name == "concat_ws" || name == "format" {
		// Their parameters are "any": every argument is shown as text.
		for i, a := range args {
			switch {
			case a.Type().Kind == types.Bool:
				// the type's output form (t/f), not its cast to text
				args[i] = &logical.Call{Name: "boolout", Args: []logical.Expr{a}, Kernel: exec.BoolOutKernel(), T: types.TextT}
			case !a.Type().IsString() && a.Type().Kind != types.Unknown:
				args[i] = &logical.Cast{Arg: a, To: types.TextT}
			}
		}
	}
	b.calledUDF = false
	e, err := b.call(name, args)
	if err != nil {
		if se, ok := err.(*sqlerr.Error); ok {
			return nil, se.At(fc.Location)
		}
		return nil, err
	}
	if b.calledUDF {
		b.recordFunction(fc, name, b.pickedUDF)
	}
	return e, nil
}

// arrangeArgs puts a call's arguments in the order of the function's
// parameters: positional ones first, then named ones (name => value) in
// their places, then the defaults of the parameters left out.
func (b *Binder) arrangeArgs(name string, fc *pg.FuncCall) ([]*pg.Node, error) {
	params, has := exec.BuiltinParams(name)
	if !has {
		params, has = b.sqlFunctionParams(name)
	}
	named := false
	for _, a := range fc.Args {
		named = named || a.GetNamedArgExpr() != nil
	}
	if !named && (!has || len(fc.Args) >= len(params.Names) || params.Defaults == nil) {
		return fc.Args, nil
	}
	noSuch := func() error {
		return sqlerr.New(sqlerr.UndefinedFunction, "function %s(%s) does not exist", name, describeArgs(fc.Args)).
			WithHint("No function matches the given name and argument types. You might need to add explicit type casts.").At(fc.Location)
	}
	if !has {
		return nil, noSuch()
	}
	slots := make([]*pg.Node, len(params.Names))
	for i, a := range fc.Args {
		na := a.GetNamedArgExpr()
		if na == nil {
			if i >= len(slots) {
				return nil, noSuch()
			}
			slots[i] = a
			continue
		}
		at := slices.Index(params.Names, na.Name)
		if at < 0 {
			return nil, noSuch()
		}
		if slots[at] != nil {
			return nil, sqlerr.New(sqlerr.SyntaxError, "argument name \"%s\" used more than once", na.Name).At(na.Location)
		}
		slots[at] = na.Arg
	}
	for i, slot := range slots {
		if slot != nil {
			continue
		}
		switch def := defaultOf(params, i); def {
		case "":
			return nil, noSuch()
		case "-":
			if slices.ContainsFunc(slots[i:], func(n *pg.Node) bool { return n != nil }) {
				return nil, noSuch()
			}
			return slots[:i], nil
		default:
			if !params.SQLDefaults {
				slots[i] = literalNode(def)
				continue
			}
			n, err := parseExprText(def)
			if err != nil {
				return nil, err
			}
			slots[i] = n
		}
	}
	return slots, nil
}

// parseExprText parses one SQL expression.
func parseExprText(text string) (*pg.Node, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil {
		return nil, err
	}
	return stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val, nil
}

func defaultOf(p exec.FuncParams, i int) string {
	if i < len(p.Defaults) {
		return p.Defaults[i]
	}
	return ""
}

// literalNode is the parse tree of a default's literal: an integer or a
// decimal number.
func literalNode(lit string) *pg.Node {
	if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return pg.MakeAConstIntNode(n, -1)
	}
	return &pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Val: &pg.A_Const_Fval{Fval: &pg.Float{Fval: lit}}, Location: -1}}}
}

// describeArgs prints a call's arguments for an error: "x => ..." for a
// named one, "..." for the others (their types are not known yet).
func describeArgs(args []*pg.Node) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = "..."
		if na := a.GetNamedArgExpr(); na != nil {
			parts[i] = na.Name + " => ..."
		}
	}
	return strings.Join(parts, ", ")
}

// call resolves a scalar function over bound arguments.
func (b *Binder) call(name string, args []logical.Expr) (logical.Expr, error) {
	if e, ok, err := b.sequenceCall(name, args); ok || err != nil {
		return e, err
	}
	if e, ok, err := b.privilegeCall(name, args); ok || err != nil {
		return e, err
	}
	def, ok := b.scalars[name]
	if !ok {
		if e, found, err := b.callUDF(name, args); found || err != nil {
			b.calledUDF = err == nil
			return e, err
		}
		argTypes := make([]types.T, len(args))
		for i, a := range args {
			argTypes[i] = a.Type()
		}
		return nil, exec.NoSuchFunction(name, argTypes)
	}
	argTypes := make([]types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	want, ret, k, err := def.Resolve(argTypes)
	if err != nil {
		return nil, err
	}
	switch name {
	case "format_type":
		k = exec.FormatTypeKernel(b.userTypeName)
	case "obj_description", "col_description":
		k = exec.RowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
			attnum := int64(0)
			if name == "col_description" {
				attnum = ds[1].(int64)
			}
			if d := b.description(ds[0].(int64), attnum); d != "" {
				return d, nil
			}
			return nil, nil
		})
	case "pg_get_indexdef":
		k = exec.RowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
			col := int64(0)
			if len(ds) > 1 {
				col = ds[1].(int64)
			}
			if d := b.indexDef(ds[0].(int64), col); d != "" {
				return d, nil
			}
			return nil, nil
		})
	case "pg_get_constraintdef":
		k = exec.RowKernel(ret, func(ds []types.Datum) (types.Datum, error) {
			pretty := len(ds) > 1 && ds[1] == true
			if d := b.constraintDef(ds[0].(int64), pretty); d != "" {
				return d, nil
			}
			return nil, nil
		})
	}
	for i := range args {
		if args[i], err = b.coerceArg(args[i], want[i]); err != nil {
			return nil, err
		}
	}
	var e logical.Expr = &logical.Call{Name: name, Args: args, Kernel: k, T: ret, Volatile: def.Volatile}
	// round/trunc to a constant number of digits: give the result that scale
	// (ceil, floor and sign of a numeric are whole numbers: scale 0); to a
	// number of digits known only per row: print without trailing zeros, as
	// PostgreSQL's result has the digits asked for and no more
	if isNumericRounding(name) && ret.Kind == types.Numeric {
		digits := int64(0)
		if len(args) == 2 {
			digits = -1
			if c, ok := args[1].(*logical.Const); ok && c.Value != nil {
				digits = max(c.Value.(int64), 0)
			}
		}
		if digits >= 0 && digits < types.DefaultNumericScale {
			e = &logical.Cast{Arg: e, To: types.NumericT(0, int32(digits))}
		} else if digits < 0 {
			call := e.(*logical.Call)
			call.T.Natural = true
		}
	}
	// to_number with a constant template: the template's decimal places
	if c, ok := constArg(args, 1); ok && name == "to_number" {
		if scale, ok := exec.NumberTemplateScale(c); ok && scale < types.DefaultNumericScale {
			e = &logical.Cast{Arg: e, To: types.NumericT(0, scale)}
		}
	}
	if name == "extract" && len(args) == 2 {
		e = extractScale(e, args)
	}
	if def.Volatile {
		return e, nil
	}
	return b.fold(e)
}

// bindRegexSetFunc binds regexp_matches and regexp_split_to_table
// (string, pattern [, flags]): rows of text[] and of text.
func (b *Binder) bindRegexSetFunc(f logical.SetFunc, args []logical.Expr) (logical.SetFunc, types.T, error) {
	argTypes := make([]types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	if len(args) < 2 || len(args) > 3 {
		return f, types.T{}, exec.NoSuchFunction(f.Name, argTypes)
	}
	for i := range args {
		if !exec.ImplicitCast(argTypes[i], types.TextT) {
			return f, types.T{}, exec.NoSuchFunction(f.Name, argTypes)
		}
		var err error
		if args[i], err = b.coerce(args[i], types.TextT); err != nil {
			return f, types.T{}, err
		}
	}
	f.Args = args
	if f.Name == "regexp_matches" {
		return f, types.ArrayOf(types.TextT), nil
	}
	return f, types.TextT, nil
}

// coerceArg converts a function argument to its parameter type; an
// array whose elements are of another type (int[] given to a function
// resolved over numeric[]) is cast element by element.
func (b *Binder) coerceArg(e logical.Expr, to types.T) (logical.Expr, error) {
	from := e.Type()
	if from.Kind == types.Array && to.Kind == types.Array && from.ElemT() != to.ElemT() {
		return b.explicitCast(e, to, -1)
	}
	return b.coerce(e, to)
}

// constArg is argument i when it is a non-NULL text constant.
func constArg(args []logical.Expr, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	c, ok := args[i].(*logical.Const)
	if !ok {
		return "", false
	}
	s, ok := c.Value.(string)
	return s, ok
}

func (b *Binder) bindAggCall(fc *pg.FuncCall, def *exec.AggregateDef, s *scope) (logical.Expr, error) {
	// An aggregate belongs to the query level of the variables in its
	// arguments (PostgreSQL's rule), which is known only once they are
	// bound: the outer-level references they add to the levels in between
	// are taken back when it belongs further out.
	marks := b.outerMarks()
	inner := *s
	inner.agg = nil
	if s.agg != nil {
		// an aggregate of this level inside it would be nested; one of an
		// enclosing level is checked once this one's level is known
		inner.aggErr = aggNested
	}
	innerScope := &inner
	args, err := b.bindList(fc.Args, innerScope)
	if err != nil {
		return nil, err
	}
	name := funcName(fc.Funcname)
	if name == "count" && fc.AggStar {
		args = nil
	}
	if (name == "json_agg" || name == "jsonb_agg") && len(fc.Args) == 1 {
		// json_agg(t): the rows as objects, as row_to_json makes them
		if f, ok := b.rowOf(fc.Args[0], innerScope); ok {
			jt := map[string]types.T{"json_agg": types.JSONT, "jsonb_agg": types.JSONBT}[name]
			if args[0], err = b.bindRowJSON(f, jt, false, innerScope); err != nil {
				return nil, sqlerr.Wrap(err).At(fc.Location)
			}
			def = exec.RowJSONAggregate(jt)
		}
	}
	argTypes := make([]types.T, len(args))
	for i, a := range args {
		argTypes[i] = a.Type()
	}
	want, ret, newAcc, err := def.Resolve(argTypes)
	if err != nil {
		return nil, err.(*sqlerr.Error).At(fc.Location)
	}
	for i := range args {
		if args[i], err = b.coerce(args[i], want[i]); err != nil {
			return nil, err
		}
	}
	call := &logical.AggCall{Name: name, Args: args, Distinct: fc.AggDistinct, New: newAcc, T: ret}
	if call.OrderBy, err = b.bindAggOrder(fc, args, innerScope); err != nil {
		return nil, err
	}
	if fc.AggFilter != nil {
		f, err := b.bindExpr(fc.AggFilter, innerScope)
		if err != nil {
			return nil, err
		}
		if call.Filter, err = b.requireBool(f, nodeLocation(fc.AggFilter)); err != nil {
			return nil, err
		}
	}
	home, err := b.aggHome(call, s, fc.Location)
	if err != nil {
		return nil, err
	}
	if home.level < b.curLevel() {
		b.takeBackOuter(marks, home.level)
		localizeOuterRefs(call, b.columnLevels(s), home.level)
	}
	col := b.registerAgg(call, home, fc.Location)
	if home.level < b.curLevel() {
		b.noteOuter(home.level, col, fc.Location)
		return &logical.OuterRef{Col: col}, nil
	}
	return &logical.ColRef{Col: col}, nil
}

// registerAgg adds call to the aggregates of home's query, once for equal
// calls, and returns the column holding its value.
func (b *Binder) registerAgg(call *logical.AggCall, home *scope, loc int32) logical.Column {
	ac := home.agg
	key := call.String()
	for _, a := range call.Args {
		// a constant prints without its type: sum(1::int2) and
		// sum(1::float4) are different aggregates
		key += " " + a.Type().String()
	}
	if call.Filter != nil {
		key += " FILTER " + call.Filter.String()
	}
	if i, ok := ac.byKey[key]; ok {
		return ac.aggCols[i]
	}
	col := b.newColumn(call.Name, call.T)
	if ac.byKey == nil {
		ac.byKey = map[string]int{}
	}
	ac.byKey[key] = len(ac.aggs)
	ac.aggs = append(ac.aggs, call)
	ac.aggCols = append(ac.aggCols, col)
	if b.aggResults == nil {
		b.aggResults = map[logical.ColumnID]aggResult{}
	}
	b.aggResults[col.ID] = aggResult{level: home.level, loc: loc}
	return col
}

// bindOrderedSetCall binds percentile_cont(f) WITHIN GROUP (ORDER BY x)
// and its kin as an aggregate of (x, f) ordered by x.
func (b *Binder) bindOrderedSetCall(fc *pg.FuncCall, name string, s *scope) (logical.Expr, error) {
	switch {
	case !exec.OrderedSetAggregates[name] || !fc.AggWithinGroup:
		// as PostgreSQL: no function takes these arguments this way
		return nil, b.noSuchCall(fc, name, s)
	case fc.Over != nil:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "OVER is not supported for ordered-set aggregate %s", name).At(fc.Location)
	case fc.AggDistinct:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DISTINCT is not supported for ordered-set aggregate %s", name).At(fc.Location)
	case len(fc.AggOrder) != 1:
		return nil, exec.NoSuchFunction(name, nil)
	}
	def := b.aggs[name]
	call := &pg.FuncCall{Funcname: fc.Funcname, AggOrder: fc.AggOrder, AggFilter: fc.AggFilter, Location: fc.Location,
		Args: append([]*pg.Node{fc.AggOrder[0].GetSortBy().Node}, fc.Args...)}
	return b.bindAggCall(call, def, s)
}

// noSuchCall is the 42883 error for a call of name with fc's arguments
// (its direct arguments, then those of WITHIN GROUP's ORDER BY).
func (b *Binder) noSuchCall(fc *pg.FuncCall, name string, s *scope) error {
	nodes := append([]*pg.Node{}, fc.Args...)
	for _, o := range fc.AggOrder {
		nodes = append(nodes, o.GetSortBy().Node)
	}
	inner := *s
	inner.agg = nil
	var argTypes []types.T
	for _, n := range nodes {
		e, err := b.bindExpr(n, &inner)
		if err != nil {
			return err
		}
		t := e.Type()
		if c, ok := e.(*logical.Const); ok && t.Kind == types.Unknown && c.Value != nil {
			t = types.TextT
		}
		argTypes = append(argTypes, t)
	}
	return sqlerr.Wrap(exec.NoSuchFunction(name, argTypes)).At(fc.Location)
}

// bindAggOrder binds the ORDER BY inside an aggregate call.
func (b *Binder) bindAggOrder(fc *pg.FuncCall, args []logical.Expr, s *scope) ([]logical.SortKey, error) {
	var keys []logical.SortKey
	for _, o := range fc.AggOrder {
		sb := o.Node.(*pg.Node_SortBy).SortBy
		e, err := b.bindExpr(sb.Node, s)
		if err != nil {
			return nil, err
		}
		e = b.resolveUnknown(e)
		if fc.AggDistinct && !slices.ContainsFunc(args, func(a logical.Expr) bool { return a.String() == e.String() }) {
			return nil, sqlerr.New(sqlerr.InvalidColumnRef, "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list").At(nodeLocation(sb.Node))
		}
		keys = append(keys, b.sortKey(e, sb))
	}
	return expandRowKeys(keys), nil
}

func (b *Binder) bindWindowCall(fc *pg.FuncCall, name string, s *scope) (logical.Expr, error) {
	if s.agg == nil {
		return nil, sqlerr.New(sqlerr.WindowingError, "window functions are not allowed here").At(fc.Location)
	}
	wd, err := s.agg.resolveWindow(fc.Over)
	if err != nil {
		return nil, err
	}
	args, err := b.bindList(fc.Args, s)
	if err != nil {
		return nil, err
	}
	wc := &logical.WindowCall{Name: name, Args: args, Frame: exec.DefaultFrame}
	switch {
	case name == "row_number" || name == "rank" || name == "dense_rank":
		wc.T = types.Int8T
	case name == "percent_rank" || name == "cume_dist":
		wc.T = types.Float8T
	case name == "ntile":
		wc.T = types.Int4T
		if len(args) != 1 {
			return nil, exec.NoSuchFunction(name, nil)
		}
		if wc.Args[0], err = b.coerce(args[0], types.Int8T); err != nil {
			return nil, err
		}
	case name == "lag" || name == "lead" || name == "first_value" || name == "last_value" || name == "nth_value":
		if len(args) == 0 {
			return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s() does not exist", name).At(fc.Location)
		}
		wc.T = b.resolveUnknown(args[0]).Type()
		wc.Args[0] = b.resolveUnknown(args[0])
		if len(args) > 1 {
			if wc.Args[1], err = b.coerce(args[1], types.Int8T); err != nil {
				return nil, err
			}
		}
		if len(args) > 2 {
			if wc.Args[2], err = b.coerce(args[2], wc.T); err != nil {
				return nil, err
			}
		}
	case b.aggs[name] != nil:
		argTypes := make([]types.T, len(args))
		for i, a := range args {
			argTypes[i] = a.Type()
		}
		if fc.AggStar {
			argTypes, wc.Args = nil, nil
		}
		want, ret, newAcc, err := b.aggs[name].Resolve(argTypes)
		if err != nil {
			return nil, err.(*sqlerr.Error).At(fc.Location)
		}
		for i := range wc.Args {
			if wc.Args[i], err = b.coerce(wc.Args[i], want[i]); err != nil {
				return nil, err
			}
		}
		wc.T, wc.NewAcc = ret, newAcc
	default:
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function %s does not exist", name).At(fc.Location)
	}
	if wc.PartitionBy, err = b.bindList(wd.PartitionClause, s); err != nil {
		return nil, err
	}
	for _, o := range wd.OrderClause {
		sb := o.Node.(*pg.Node_SortBy).SortBy
		e, err := b.bindExpr(sb.Node, s)
		if err != nil {
			return nil, err
		}
		wc.OrderBy = append(wc.OrderBy, b.sortKey(b.resolveUnknown(e), sb))
	}
	wc.OrderBy = expandRowKeys(wc.OrderBy) // rows order by their fields
	if wc.Frame, err = b.frame(wd); err != nil {
		return nil, err
	}
	if wc.Frame.Groups && len(wc.OrderBy) == 0 {
		return nil, sqlerr.New(sqlerr.WindowingError, "GROUPS mode requires an ORDER BY clause").At(wd.Location)
	}
	if !wc.Frame.Rows && !wc.Frame.Groups && (wc.Frame.Start == exec.OffsetPreceding || wc.Frame.Start == exec.OffsetFollowing || wc.Frame.End == exec.OffsetPreceding || wc.Frame.End == exec.OffsetFollowing) {
		if len(wc.OrderBy) != 1 {
			return nil, sqlerr.New(sqlerr.WindowingError, "RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column").At(wd.Location)
		}
		if kt := wc.OrderBy[0].Expr.Type(); !kt.IsInteger() && !kt.IsFloat() && kt.Kind != types.Date {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "RANGE offsets over %s are not supported yet", kt).At(wd.Location)
		}
	}
	col := b.newColumn(name, wc.T)
	s.agg.windows = append(s.agg.windows, wc)
	s.agg.winCols = append(s.agg.winCols, col)
	return &logical.ColRef{Col: col}, nil
}

func (b *Binder) sortKey(e logical.Expr, sb *pg.SortBy) logical.SortKey {
	k := logical.SortKey{Expr: e, Desc: sb.SortbyDir == pg.SortByDir_SORTBY_DESC}
	switch sb.SortbyNulls {
	case pg.SortByNulls_SORTBY_NULLS_FIRST:
		k.NullsFirst = true
	case pg.SortByNulls_SORTBY_NULLS_LAST:
		k.NullsFirst = false
	default:
		// PostgreSQL: NULLs are larger than everything; SQLite (for its
		// sqllogictest corpus) treats them as smaller.
		k.NullsFirst = k.Desc != b.NullsSmallest
	}
	return k
}

const (
	frameRange           = 0x2
	frameRows            = 0x4
	frameGroups          = 0x8
	frameStartUnbounded  = 0x20
	frameEndUnboundedFol = 0x100
	frameStartCurrent    = 0x200
	frameEndCurrent      = 0x400
	frameStartOffPreced  = 0x800
	frameEndOffPreced    = 0x1000
	frameStartOffFollow  = 0x2000
	frameEndOffFollow    = 0x4000
	frameNonDefault      = 0x1
	frameExcludeCurrent  = 0x8000
	frameExcludeGroup    = 0x10000
	frameExcludeTies     = 0x20000
)

func (b *Binder) frame(wd *pg.WindowDef) (exec.Frame, error) {
	o := wd.FrameOptions
	if o&frameNonDefault == 0 {
		return exec.DefaultFrame, nil
	}
	f := exec.Frame{Rows: o&frameRows != 0, Groups: o&frameGroups != 0, Start: exec.UnboundedPreceding, End: exec.CurrentRow}
	switch {
	case o&frameExcludeCurrent != 0:
		f.Exclude = exec.ExcludeCurrentRow
	case o&frameExcludeGroup != 0:
		f.Exclude = exec.ExcludeGroup
	case o&frameExcludeTies != 0:
		f.Exclude = exec.ExcludeTies
	}
	offset := func(n *pg.Node) (int64, error) {
		e, err := b.bindExpr(n, &scope{level: b.curLevel()})
		if err != nil {
			return 0, err
		}
		c, ok := e.(*logical.Const)
		if !ok || c.Value == nil {
			return 0, sqlerr.New(sqlerr.FeatureNotSupported, "frame offsets must be constants").At(wd.Location)
		}
		v, ok := c.Value.(int64)
		if !ok || v < 0 {
			return 0, sqlerr.New("22013", "frame starting offset must not be negative").At(wd.Location)
		}
		return v, nil
	}
	var err error
	switch {
	case o&frameStartCurrent != 0:
		f.Start = exec.CurrentRow
	case o&frameStartOffPreced != 0:
		f.Start = exec.OffsetPreceding
		f.StartOffset, err = offset(wd.StartOffset)
	case o&frameStartOffFollow != 0:
		f.Start = exec.OffsetFollowing
		f.StartOffset, err = offset(wd.StartOffset)
	}
	if err != nil {
		return f, err
	}
	switch {
	case o&frameEndUnboundedFol != 0:
		f.End = exec.UnboundedFollowing
	case o&frameEndOffPreced != 0:
		f.End = exec.OffsetPreceding
		f.EndOffset, err = offset(wd.EndOffset)
	case o&frameEndOffFollow != 0:
		f.End = exec.OffsetFollowing
		f.EndOffset, err = offset(wd.EndOffset)
	case o&frameEndCurrent != 0:
		f.End = exec.CurrentRow
	}
	return f, err
}

func (b *Binder) bindSubLink(sl *pg.SubLink, s *scope) (logical.Expr, error) {
	sel, ok := sl.Subselect.Node.(*pg.Node_SelectStmt)
	if !ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "unsupported subquery").At(sl.Location)
	}
	var test logical.Expr
	var rowTests []logical.Expr
	var err error
	if items, isRow := rowItems(sl.Testexpr); isRow {
		for _, item := range items {
			t, err := b.bindExpr(item, s)
			if err != nil {
				return nil, err
			}
			rowTests = append(rowTests, t)
		}
	} else if sl.Testexpr != nil {
		if test, err = b.bindExpr(sl.Testexpr, s); err != nil {
			return nil, err
		}
	}
	b.pushLevel()
	plan, _, err := b.bindSelect(sel.SelectStmt, s)
	outer, outerAt := b.popLevelRefs()
	if err != nil {
		return nil, err
	}
	cols := plan.Columns()
	sub := &logical.Subquery{Plan: plan, Outer: outer, OuterAt: outerAt}
	if rowTests != nil {
		return b.bindRowSubLink(sl, sub, rowTests)
	}
	switch sl.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK:
		sub.Kind, sub.T = exec.ExistsSubquery, types.BoolT
		return sub, nil
	case pg.SubLinkType_EXPR_SUBLINK:
		if len(cols) != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery must return only one column").At(sl.Location)
		}
		sub.Kind, sub.T = exec.ScalarSubquery, cols[0].T
		return sub, nil
	case pg.SubLinkType_ARRAY_SUBLINK:
		if len(cols) != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery must return only one column").At(sl.Location)
		}
		if cols[0].T.Kind == types.Array {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "multidimensional arrays are not supported yet").At(sl.Location)
		}
		at := types.ArrayOf(plainType(cols[0].T))
		if cols[0].T.PG != 0 {
			at.PG = types.ArrayOID(cols[0].T.PG) // name[] for an array of names
		}
		sub.Kind, sub.T, sub.CmpT = exec.ArraySubquery, at, cols[0].T
		return sub, nil
	case pg.SubLinkType_ANY_SUBLINK, pg.SubLinkType_ALL_SUBLINK:
		if len(cols) != 1 {
			return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too many columns").At(sl.Location)
		}
		op := "="
		if len(sl.OperName) > 0 {
			op = opName(sl.OperName)
		}
		sub.Kind = exec.AnySubquery
		if sl.SubLinkType == pg.SubLinkType_ALL_SUBLINK {
			sub.Kind = exec.AllSubquery
		}
		ref := &logical.ColRef{Col: cols[0]}
		lt, rt, t, err := b.comparable(test, ref, op, sl.Location)
		if err != nil {
			return nil, err
		}
		if rt != logical.Expr(ref) {
			out := b.newColumn(cols[0].Name, t)
			plan = &logical.Project{Input: plan, Exprs: []logical.Expr{rt}, Cols: []logical.Column{out}}
		}
		sub.Plan, sub.Test, sub.Op, sub.CmpT, sub.T = plan, lt, exec.CmpOp(op), t, types.BoolT
		return sub, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this kind of subquery is not supported yet").At(sl.Location)
}

// bindRowSubLink binds a row compared with a subquery's rows, field by
// field: (a, b) IN (SELECT x, y), (a, b) op ANY/ALL (…), and
// (a, b) op (SELECT x, y) against its one row.
func (b *Binder) bindRowSubLink(sl *pg.SubLink, sub *logical.Subquery, tests []logical.Expr) (logical.Expr, error) {
	switch sl.SubLinkType {
	case pg.SubLinkType_ANY_SUBLINK:
		sub.Kind = exec.AnySubquery
	case pg.SubLinkType_ALL_SUBLINK:
		sub.Kind = exec.AllSubquery
	case pg.SubLinkType_ROWCOMPARE_SUBLINK:
		sub.Kind = exec.RowCompareSubquery
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this kind of row subquery is not supported yet").At(sl.Location)
	}
	op := "="
	if len(sl.OperName) > 0 {
		op = opName(sl.OperName)
	}
	switch op {
	case "=", "<>", "<", "<=", ">", ">=":
	default:
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "could not determine interpretation of row comparison operator %s", op).At(sl.Location)
	}
	cols := sub.Plan.Columns()
	switch {
	case len(cols) > len(tests):
		return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too many columns").At(sl.Location)
	case len(cols) < len(tests):
		return nil, sqlerr.New(sqlerr.SyntaxError, "subquery has too few columns").At(sl.Location)
	}
	exprs := make([]logical.Expr, len(cols))
	outCols := make([]logical.Column, len(cols))
	project := false
	for i, c := range cols {
		ref := &logical.ColRef{Col: c}
		lt, rt, t, err := b.comparable(tests[i], ref, op, sl.Location)
		if err != nil {
			return nil, err
		}
		tests[i], exprs[i], outCols[i] = lt, rt, c
		sub.RowCmpTs = append(sub.RowCmpTs, t)
		if rt != logical.Expr(ref) {
			project, outCols[i] = true, b.newColumn(c.Name, t)
		}
	}
	if project {
		sub.Plan = &logical.Project{Input: sub.Plan, Exprs: exprs, Cols: outCols}
	}
	sub.RowTests, sub.Op, sub.T = tests, exec.CmpOp(op), types.BoolT
	return sub, nil
}

// extractScale gives extract's numeric result PostgreSQL's scale: seconds
// and epochs carry microseconds (6 digits), milliseconds 3, other fields
// and every field of a date are whole numbers.
func extractScale(e logical.Expr, args []logical.Expr) logical.Expr {
	c, ok := args[0].(*logical.Const)
	if !ok || c.Value == nil {
		return e
	}
	scale := int32(0)
	if args[1].Type().Kind != types.Date {
		switch strings.ToLower(c.Value.(string)) {
		case "second", "seconds", "epoch":
			scale = 6
		case "millisecond", "milliseconds":
			scale = 3
		}
	}
	return &logical.Cast{Arg: e, To: types.NumericT(0, scale)}
}

// resolveWindow expands a reference to a WINDOW clause entry: `OVER w` uses
// w as is; `OVER (w ORDER BY …)` copies w's partitioning and adds what w
// leaves out, as PostgreSQL allows.
func (ac *aggContext) resolveWindow(wd *pg.WindowDef) (*pg.WindowDef, error) {
	ref := wd.Refname
	if ref == "" && wd.Name != "" && len(wd.PartitionClause) == 0 && len(wd.OrderClause) == 0 {
		ref = wd.Name
	}
	if ref == "" {
		return wd, nil
	}
	base, ok := ac.named[ref]
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "window \"%s\" does not exist", ref).At(wd.Location)
	}
	if base.Refname != "" {
		resolved, err := ac.resolveWindow(base)
		if err != nil {
			return nil, err
		}
		base = resolved
	}
	if wd.Refname == "" {
		return base, nil
	}
	if len(wd.PartitionClause) > 0 {
		return nil, sqlerr.New(sqlerr.WindowingError, "cannot override PARTITION BY clause of window \"%s\"", ref).At(wd.Location)
	}
	if len(wd.OrderClause) > 0 && len(base.OrderClause) > 0 {
		return nil, sqlerr.New(sqlerr.WindowingError, "cannot override ORDER BY clause of window \"%s\"", ref).At(wd.Location)
	}
	merged := &pg.WindowDef{PartitionClause: base.PartitionClause, OrderClause: base.OrderClause,
		FrameOptions: wd.FrameOptions, StartOffset: wd.StartOffset, EndOffset: wd.EndOffset, Location: wd.Location}
	if len(wd.OrderClause) > 0 {
		merged.OrderClause = wd.OrderClause
	}
	return merged, nil
}

// functionInfo answers pg_get_function_result/arguments from the catalog
// (psql's \df), with the functions as they are when the query binds.
func (b *Binder) functionInfo(name string, args []logical.Expr) (logical.Expr, bool) {
	if len(args) != 1 {
		return nil, false
	}
	pick := map[string]func(*catalog.Function) string{
		"pg_get_function_result": func(f *catalog.Function) string {
			if f.UDF.AnyResult || f.UDF.IsTable() {
				return "anyelement"
			}
			return f.UDF.Result.String()
		},
		"pg_get_function_arguments": func(f *catalog.Function) string {
			sig := f.UDF.Signature()
			return sig[strings.IndexByte(sig, '(')+1 : len(sig)-1]
		},
	}
	pick["pg_get_function_identity_arguments"] = pick["pg_get_function_arguments"]
	describe, ok := pick[name]
	if !ok {
		return nil, false
	}
	byOID := map[int64]string{}
	for _, f := range b.Cat.Functions() {
		byOID[int64(f.OID)] = describe(f)
	}
	arg, err := b.coerce(args[0], types.Int8T)
	if err != nil {
		return nil, false
	}
	k := exec.RowKernel(types.TextT, func(ds []types.Datum) (types.Datum, error) {
		if v, ok := byOID[ds[0].(int64)]; ok {
			return v, nil
		}
		return nil, nil
	})
	return &logical.Call{Name: name, Args: []logical.Expr{arg}, Kernel: k, T: types.TextT}, true
}

// bindViewDef binds pg_get_viewdef(view [, pretty]): the view's query, by
// OID or name, from the views the catalog holds when the query is planned.
func (b *Binder) bindViewDef(fc *pg.FuncCall, s *scope) (logical.Expr, error) {
	args, err := b.bindList(fc.Args, s)
	if err != nil {
		return nil, err
	}
	if len(args) < 1 || len(args) > 2 {
		return nil, exec.NoSuchFunction("pg_get_viewdef", typesOf(args))
	}
	defs := map[string]string{}
	for _, sc := range b.Cat.Schemas() {
		for _, v := range sc.Views {
			defs[strconv.FormatUint(uint64(v.OID), 10)] = " " + v.SQL + ";"
			defs[v.Name], defs[sc.Name+"."+v.Name] = " "+v.SQL+";", " "+v.SQL+";"
		}
		for _, t := range sc.Tables {
			if t.MatView != "" {
				defs[strconv.FormatUint(uint64(t.OID), 10)] = " " + t.MatView + ";"
				defs[t.Name], defs[sc.Name+"."+t.Name] = " "+t.MatView+";", " "+t.MatView+";"
			}
		}
	}
	arg, err := b.coerce(args[0], types.TextT)
	if err != nil {
		if arg, err = b.explicitCast(args[0], types.TextT, fc.Location); err != nil {
			return nil, err
		}
	}
	kernel := exec.RowKernel(types.TextT, func(ds []types.Datum) (types.Datum, error) {
		if def, ok := defs[ds[0].(string)]; ok {
			return def, nil
		}
		return nil, nil
	})
	return &logical.Call{Name: "pg_get_viewdef", Args: []logical.Expr{arg}, Kernel: kernel, T: types.TextT}, nil
}

func typesOf(es []logical.Expr) []types.T {
	out := make([]types.T, len(es))
	for i, e := range es {
		out[i] = e.Type()
	}
	return out
}

// plainType drops the PostgreSQL type a catalog column is reported as.
func plainType(t types.T) types.T {
	t.PG = 0
	return t
}

// currentSetting is current_setting(name [, missing_ok]) for a constant
// name: the session's value at bind time.
func (b *Binder) currentSetting(fc *pg.FuncCall) (logical.Expr, error) {
	if len(fc.Args) < 1 || len(fc.Args) > 2 {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function current_setting with %d arguments does not exist", len(fc.Args)).At(fc.Location)
	}
	c := fc.Args[0].GetAConst()
	if c == nil || c.GetSval() == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "current_setting needs a constant setting name").At(fc.Location)
	}
	name := c.GetSval().Sval
	missingOK := false
	if len(fc.Args) == 2 {
		ok := fc.Args[1].GetAConst()
		if ok == nil || ok.GetBoolval() == nil {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "current_setting needs a constant missing_ok").At(fc.Location)
		}
		missingOK = ok.GetBoolval().Boolval
	}
	if b.Setting != nil {
		if v, ok := b.Setting(name); ok {
			return &logical.Const{Value: v, T: types.TextT}, nil
		}
	}
	if missingOK {
		return &logical.Const{Value: nil, T: types.TextT}, nil
	}
	return nil, sqlerr.New(sqlerr.UndefinedObject, "unrecognized configuration parameter \"%s\"", name).At(fc.Location)
}

// setConfig binds set_config(name, value, is_local): it changes the
// setting as SET (or SET LOCAL) would, when the statement is bound, and
// returns the new value. The arguments must be constants.
func (b *Binder) setConfig(fc *pg.FuncCall, s *scope) (logical.Expr, error) {
	if len(fc.Args) != 3 {
		return nil, sqlerr.New(sqlerr.UndefinedFunction, "function set_config with %d arguments does not exist", len(fc.Args)).At(fc.Location)
	}
	args, err := b.bindList(fc.Args, s)
	if err != nil {
		return nil, err
	}
	var vals [3]types.Datum
	for i, a := range args {
		want := types.TextT
		if i == 2 {
			want = types.BoolT
		}
		if a, err = b.coerce(a, want); err != nil {
			return nil, err
		}
		if a, err = b.foldNow(a); err != nil {
			return nil, err
		}
		c, ok := a.(*logical.Const)
		if !ok {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set_config needs constant arguments").At(fc.Location)
		}
		vals[i] = c.Value
	}
	if vals[0] == nil {
		return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "SET requires parameter name").At(fc.Location)
	}
	if b.SetConfig == nil || b.Setting == nil {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set_config needs a session").At(fc.Location)
	}
	value, _ := vals[1].(string)
	isLocal, _ := vals[2].(bool)
	if err := b.SetConfig(vals[0].(string), value, isLocal); err != nil {
		if se, ok := err.(*sqlerr.Error); ok {
			return nil, se.At(fc.Location)
		}
		return nil, err
	}
	v, _ := b.Setting(vals[0].(string))
	return &logical.Const{Value: v, T: types.TextT}, nil
}

// isNumericRounding names the functions whose numeric result has a scale
// set by their digits argument (none: 0).
func isNumericRounding(name string) bool {
	switch name {
	case "round", "trunc", "ceil", "ceiling", "floor", "sign":
		return true
	}
	return false
}

// bindVariadicCall binds f(..., VARIADIC array) for a built-in: concat,
// concat_ws and format over the array's elements (concat of a NULL array is
// NULL, format's is no arguments, as PostgreSQL). Other built-ins refuse VARIADIC rather than take the array
// as one argument, which gave wrong answers.
func (b *Binder) bindVariadicCall(fc *pg.FuncCall, name string, s *scope) (logical.Expr, error) {
	if e, ok, err := b.bindVariadicSpread(fc, name, s); ok || err != nil {
		return e, err
	}
	withSep := name == "concat_ws" || name == "format" // (format's "separator" is its format string)
	if (name != "concat" && !withSep) || len(fc.Args) != map[bool]int{false: 1, true: 2}[withSep] {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "VARIADIC is not supported for function %s yet", name).At(fc.Location)
	}
	args := make([]logical.Expr, len(fc.Args))
	for i, a := range fc.Args {
		e, err := b.bindExpr(a, s)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	last := len(args) - 1
	if args[last].Type().Kind != types.Array {
		return nil, sqlerr.New(sqlerr.DatatypeMismatch, "VARIADIC argument must be an array").At(nodeLocation(fc.Args[last]))
	}
	var err error
	if args[last].Type().ElemT().Kind != types.Bool { // (booleans print as t/f: the kernel's)
		if args[last], err = b.explicitCast(args[last], types.ArrayOf(types.TextT), fc.Location); err != nil {
			return nil, err
		}
	}
	if withSep {
		if args[0], err = b.coerce(args[0], types.TextT); err != nil {
			return nil, err
		}
	}
	k := exec.VariadicConcatKernel(withSep)
	if name == "format" {
		k = exec.VariadicFormatKernel()
	}
	return &logical.Call{Name: name, Args: args, Kernel: k, T: types.TextT}, nil
}

// bindVariadicSpread binds the "variadic any" built-ins whose one argument
// is VARIADIC array: json[b]_build_array/object and num_[non]nulls, over the
// array's elements. ok is false for other calls.
func (b *Binder) bindVariadicSpread(fc *pg.FuncCall, name string, s *scope) (logical.Expr, bool, error) {
	var ret types.T
	switch name {
	case "json_build_array", "json_build_object":
		ret = types.JSONT
	case "jsonb_build_array", "jsonb_build_object":
		ret = types.JSONBT
	case "num_nulls", "num_nonnulls":
		ret = types.Int4T
	default:
		return nil, false, nil
	}
	if len(fc.Args) != 1 {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "VARIADIC is not supported for function %s yet", name).At(fc.Location)
	}
	arg, err := b.bindExpr(fc.Args[0], s)
	if err != nil {
		return nil, true, err
	}
	if arg.Type().Kind != types.Array {
		return nil, true, sqlerr.New(sqlerr.DatatypeMismatch, "VARIADIC argument must be an array").At(nodeLocation(fc.Args[0]))
	}
	var k exec.Kernel
	if ret.Kind == types.Int4 {
		k = exec.VariadicCountNullsKernel(name == "num_nulls")
	} else {
		k = exec.VariadicBuildJSONKernel(ret, strings.HasSuffix(name, "_object"), name, arg.Type().ElemT())
	}
	return &logical.Call{Name: name, Args: []logical.Expr{arg}, Kernel: k, T: ret}, true, nil
}
