package binder

import (
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/protobuf/proto"
)

// GROUP BY GROUPING SETS, ROLLUP and CUBE are rewritten before binding
// into a UNION ALL of one grouped query per grouping set: in each, the
// grouping expressions outside its set read as NULL (outside aggregate
// arguments) and GROUPING(…) is the constant bit mask of those left out.
// ORDER BY, LIMIT and WITH move to the union.

// hasGroupingSets reports whether a GROUP BY uses grouping sets.
func hasGroupingSets(stmt *pg.SelectStmt) bool {
	for _, n := range stmt.GroupClause {
		if gs := n.GetGroupingSet(); gs != nil && gs.Kind != pg.GroupingSetKind_GROUPING_SET_SIMPLE {
			return true
		}
	}
	return false
}

// expandGroupingSets lists the grouping sets of a GROUP BY clause: the
// cross product of its items, each item a list of alternatives.
func expandGroupingSets(items []*pg.Node) ([][]*pg.Node, error) {
	sets := [][]*pg.Node{{}}
	for _, n := range items {
		alts, err := itemSets(n)
		if err != nil {
			return nil, err
		}
		var next [][]*pg.Node
		for _, s := range sets {
			for _, a := range alts {
				next = append(next, append(append([]*pg.Node{}, s...), a...))
			}
		}
		sets = next
	}
	if len(sets) > 4096 {
		return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "too many grouping sets present (maximum 4096)")
	}
	return sets, nil
}

// itemSets lists the alternatives one GROUP BY item stands for.
func itemSets(n *pg.Node) ([][]*pg.Node, error) {
	gs := n.GetGroupingSet()
	if gs == nil {
		return [][]*pg.Node{{n}}, nil
	}
	elems := func(x *pg.Node) []*pg.Node {
		if row := x.GetRowExpr(); row != nil {
			return row.Args
		}
		if inner := x.GetGroupingSet(); inner != nil && inner.Kind == pg.GroupingSetKind_GROUPING_SET_SIMPLE {
			return inner.Content
		}
		return []*pg.Node{x}
	}
	switch gs.Kind {
	case pg.GroupingSetKind_GROUPING_SET_EMPTY:
		return [][]*pg.Node{{}}, nil
	case pg.GroupingSetKind_GROUPING_SET_SIMPLE:
		return [][]*pg.Node{gs.Content}, nil
	case pg.GroupingSetKind_GROUPING_SET_ROLLUP:
		var out [][]*pg.Node
		for i := len(gs.Content); i >= 0; i-- {
			var set []*pg.Node
			for _, c := range gs.Content[:i] {
				set = append(set, elems(c)...)
			}
			out = append(out, set)
		}
		return out, nil
	case pg.GroupingSetKind_GROUPING_SET_CUBE:
		k := len(gs.Content)
		if k > 12 {
			return nil, sqlerr.New(sqlerr.ProgramLimitExceeded, "CUBE is limited to 12 elements")
		}
		var out [][]*pg.Node
		for mask := (1 << k) - 1; mask >= 0; mask-- {
			var set []*pg.Node
			for i, c := range gs.Content {
				if mask&(1<<(k-1-i)) != 0 {
					set = append(set, elems(c)...)
				}
			}
			out = append(out, set)
		}
		return out, nil
	case pg.GroupingSetKind_GROUPING_SET_SETS:
		var out [][]*pg.Node
		for _, c := range gs.Content {
			alts, err := itemSets(c)
			if err != nil {
				return nil, err
			}
			if c.GetGroupingSet() == nil {
				alts = [][]*pg.Node{elems(c)}
			}
			out = append(out, alts...)
		}
		return out, nil
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this grouping set is not supported yet")
}

// groupingSetsUnion rewrites a query with grouping sets as the union of
// one query per set.
func (b *Binder) groupingSetsUnion(stmt *pg.SelectStmt) (*pg.SelectStmt, error) {
	sets, err := expandGroupingSets(stmt.GroupClause)
	if err != nil {
		return nil, err
	}
	if stmt.GroupDistinct {
		if sets, err = distinctGroupingSets(sets); err != nil {
			return nil, err
		}
	}
	// SELECT DISTINCT applies to the whole result, not to each set's
	// branch: the union itself removes duplicates then
	distinct := len(stmt.DistinctClause) > 0
	if distinct && !isPlainDistinct(stmt.DistinctClause) {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DISTINCT ON with grouping sets is not supported yet")
	}
	// every expression some set groups by
	var all []*pg.Node
	seen := map[string]bool{}
	for _, s := range sets {
		for _, e := range s {
			key, err := nodeKey(e)
			if err != nil {
				return nil, err
			}
			if !seen[key] {
				seen[key] = true
				all = append(all, e)
			}
		}
	}
	var union *pg.SelectStmt
	for _, set := range sets {
		in := map[string]bool{}
		for _, e := range set {
			key, _ := nodeKey(e)
			in[key] = true
		}
		branch := proto.Clone(stmt).(*pg.SelectStmt)
		branch.SortClause, branch.LimitCount, branch.LimitOffset, branch.WithClause = nil, nil, nil, nil
		branch.DistinctClause, branch.GroupDistinct = nil, false
		branch.LimitOption = pg.LimitOption_LIMIT_OPTION_DEFAULT
		branch.GroupClause = set
		if len(set) == 0 && branch.HavingClause == nil {
			// the empty set is one row even without an aggregate
			branch.HavingClause = &pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Val: &pg.A_Const_Boolval{Boolval: &pg.Boolean{Boolval: true}}}}}
		}
		var missing []string
		for _, e := range all {
			key, _ := nodeKey(e)
			if !in[key] {
				missing = append(missing, key)
			}
		}
		for _, t := range branch.TargetList {
			rt := t.GetResTarget()
			if cr := rt.Val.GetColumnRef(); cr != nil && rt.Name == "" && isGroupingExpr(rt.Val, missing) {
				// a column replaced by NULL keeps its output name
				if f := cr.Fields[len(cr.Fields)-1].GetString_(); f != nil {
					rt.Name = f.Sval
				}
			}
			if rt.Val.GetGroupingFunc() != nil && rt.Name == "" {
				rt.Name = "grouping"
			}
			rt.Val = b.nullOutside(rt.Val, missing, in)
		}
		if branch.HavingClause != nil {
			branch.HavingClause = b.nullOutside(branch.HavingClause, missing, in)
		}
		if union == nil {
			union = branch
			continue
		}
		union = &pg.SelectStmt{Op: pg.SetOperation_SETOP_UNION, All: !distinct, Larg: union, Rarg: branch,
			LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT}
	}
	if union.Op == pg.SetOperation_SETOP_NONE {
		// one set only: no union to hang ORDER BY and LIMIT on
		union.SortClause, union.LimitCount, union.LimitOffset, union.LimitOption = stmt.SortClause, stmt.LimitCount, stmt.LimitOffset, stmt.LimitOption
		union.WithClause = stmt.WithClause
		union.DistinctClause = stmt.DistinctClause
		return union, nil
	}
	union.SortClause, union.LimitCount, union.LimitOffset, union.LimitOption = stmt.SortClause, stmt.LimitCount, stmt.LimitOffset, stmt.LimitOption
	union.WithClause = stmt.WithClause
	return union, nil
}

func isGroupingExpr(n *pg.Node, missing []string) bool {
	key, err := nodeKey(n)
	if err != nil {
		return false
	}
	for _, m := range missing {
		if m == key {
			return true
		}
	}
	return false
}

// nodeKey identifies an expression by its SQL text.
func nodeKey(n *pg.Node) (string, error) {
	return parser.DeparseExpr(n)
}

// nullOutside replaces, outside aggregate calls, the grouping expressions
// of missing with NULL and GROUPING(…) with its bit mask.
func (b *Binder) nullOutside(n *pg.Node, missing []string, in map[string]bool) *pg.Node {
	if n == nil {
		return nil
	}
	if key, err := nodeKey(n); err == nil {
		for _, m := range missing {
			if m == key {
				return &pg.Node{Node: &pg.Node_AConst{AConst: &pg.A_Const{Isnull: true}}}
			}
		}
	}
	switch x := n.Node.(type) {
	case *pg.Node_GroupingFunc:
		mask := int32(0)
		for _, a := range x.GroupingFunc.Args {
			mask <<= 1
			if key, err := nodeKey(a); err == nil && !in[key] {
				mask |= 1
			}
		}
		return pg.MakeAConstIntNode(int64(mask), x.GroupingFunc.Location)
	case *pg.Node_FuncCall:
		if b.aggs[funcName(x.FuncCall.Funcname)] != nil || x.FuncCall.Over != nil {
			return n // aggregate arguments see the rows' own values
		}
		for i, a := range x.FuncCall.Args {
			x.FuncCall.Args[i] = b.nullOutside(a, missing, in)
		}
	case *pg.Node_AExpr:
		x.AExpr.Lexpr = b.nullOutside(x.AExpr.Lexpr, missing, in)
		x.AExpr.Rexpr = b.nullOutside(x.AExpr.Rexpr, missing, in)
	case *pg.Node_TypeCast:
		x.TypeCast.Arg = b.nullOutside(x.TypeCast.Arg, missing, in)
	case *pg.Node_CoalesceExpr:
		for i, a := range x.CoalesceExpr.Args {
			x.CoalesceExpr.Args[i] = b.nullOutside(a, missing, in)
		}
	case *pg.Node_CaseExpr:
		x.CaseExpr.Arg = b.nullOutside(x.CaseExpr.Arg, missing, in)
		x.CaseExpr.Defresult = b.nullOutside(x.CaseExpr.Defresult, missing, in)
		for _, w := range x.CaseExpr.Args {
			cw := w.GetCaseWhen()
			cw.Expr = b.nullOutside(cw.Expr, missing, in)
			cw.Result = b.nullOutside(cw.Result, missing, in)
		}
	case *pg.Node_BoolExpr:
		for i, a := range x.BoolExpr.Args {
			x.BoolExpr.Args[i] = b.nullOutside(a, missing, in)
		}
	case *pg.Node_NullTest:
		x.NullTest.Arg = b.nullOutside(x.NullTest.Arg, missing, in)
	}
	return n
}

// isPlainDistinct reports whether a DISTINCT clause is plain DISTINCT (the
// parser's one empty element), not DISTINCT ON (...).
func isPlainDistinct(clause []*pg.Node) bool {
	return len(clause) == 1 && (clause[0] == nil || clause[0].Node == nil)
}

// distinctGroupingSets is GROUP BY DISTINCT: the sets with duplicates
// removed, two sets being the same when they group by the same
// expressions in any order and number.
func distinctGroupingSets(sets [][]*pg.Node) ([][]*pg.Node, error) {
	seen := map[string]bool{}
	var out [][]*pg.Node
	for _, set := range sets {
		keys := map[string]bool{}
		for _, e := range set {
			k, err := nodeKey(e)
			if err != nil {
				return nil, err
			}
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		id := strings.Join(sorted, "\x00")
		if !seen[id] {
			seen[id] = true
			out = append(out, set)
		}
	}
	return out, nil
}
