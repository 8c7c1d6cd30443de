package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// factorOrs rewrites OR conditions of filters and joins so that the rest of
// the optimizer can use them:
//   - a conjunct every branch shares is taken out of the OR:
//     (k AND a) OR (k AND b) becomes k AND (a OR b), so a join key written
//     inside each branch (TPC-H q19) becomes a hash-join key;
//   - for each input of the join below, the branches' conjuncts over that
//     input alone give an implied condition (a1 OR b1) that is added beside
//     the OR, which stays: push_down_filter then filters that input before
//     the join.
//
// Both keep the condition's value (AND and OR distribute in SQL's
// three-valued logic, and an implied conjunct never turns TRUE into
// anything else). Only conjuncts that cannot raise an error move, so that
// nothing is evaluated on rows the original condition would have spared.
func factorOrs(p logical.Plan) logical.Plan {
	return transformUp(p, func(p logical.Plan) logical.Plan {
		switch n := p.(type) {
		case *logical.Filter:
			cond := factorCondition(n.Cond, inputColumnSets(n.Input))
			return &logical.Filter{Input: n.Input, Cond: cond}
		case *logical.Join:
			if n.Cond == nil {
				return p
			}
			nj := *n
			sets := append(inputColumnSets(n.Left), inputColumnSets(n.Right)...)
			nj.Cond = factorCondition(n.Cond, sets)
			return &nj
		}
		return p
	})
}

// inputColumnSets lists the column sets of the relations an inner-join tree
// combines (p itself when it is no inner join).
func inputColumnSets(p logical.Plan) []map[logical.ColumnID]bool {
	if j, ok := p.(*logical.Join); ok && j.Kind == logical.InnerJoin {
		return append(inputColumnSets(j.Left), inputColumnSets(j.Right)...)
	}
	return []map[logical.ColumnID]bool{idSet(p.Columns())}
}

func factorCondition(cond logical.Expr, sets []map[logical.ColumnID]bool) logical.Expr {
	var out []logical.Expr
	for _, c := range logical.SplitAnd(cond) {
		b, ok := c.(*logical.Bool)
		if !ok || b.And {
			out = append(out, c)
			continue
		}
		out = append(out, factorOr(b, sets)...)
	}
	return logical.JoinAnd(out)
}

// factorOr returns conjuncts equivalent to the OR b: the shared conjuncts,
// the implied per-input conditions, and what remains of the OR.
func factorOr(b *logical.Bool, sets []map[logical.ColumnID]bool) []logical.Expr {
	var branches [][]logical.Expr
	for _, arg := range splitOr(b) {
		branches = append(branches, logical.SplitAnd(arg))
	}
	common := sharedConjuncts(branches)
	var out []logical.Expr
	absorbed := false
	if len(common) > 0 {
		for i, br := range branches {
			var rest []logical.Expr
			for _, c := range br {
				if _, shared := common[c.String()]; !shared {
					rest = append(rest, c)
				}
			}
			branches[i] = rest
			if len(rest) == 0 {
				absorbed = true // k OR (k AND a) is k
			}
		}
		// keep the shared conjuncts in the order the first branch has them
		for _, c := range logical.SplitAnd(b.Args[0]) {
			if e, ok := common[c.String()]; ok && e != nil {
				out = append(out, e)
				common[c.String()] = nil
			}
		}
	}
	if absorbed {
		return out
	}
	for _, set := range sets {
		if implied := impliedFor(branches, set); implied != nil {
			out = append(out, implied)
		}
	}
	args := make([]logical.Expr, len(branches))
	for i, br := range branches {
		args[i] = logical.JoinAnd(br)
	}
	return append(out, &logical.Bool{Args: args})
}

// splitOr flattens a disjunction.
func splitOr(e logical.Expr) []logical.Expr {
	if b, ok := e.(*logical.Bool); ok && !b.And {
		var out []logical.Expr
		for _, a := range b.Args {
			out = append(out, splitOr(a)...)
		}
		return out
	}
	return []logical.Expr{e}
}

// sharedConjuncts finds the movable conjuncts present in every branch,
// keyed by their text (column references carry their ids, and subqueries
// their identity, so equal text means the same expression).
func sharedConjuncts(branches [][]logical.Expr) map[string]logical.Expr {
	common := map[string]logical.Expr{}
	for _, c := range branches[0] {
		if movable(c) {
			common[c.String()] = c
		}
	}
	for _, br := range branches[1:] {
		here := map[string]bool{}
		for _, c := range br {
			here[c.String()] = true
		}
		for k := range common {
			if !here[k] {
				delete(common, k)
			}
		}
	}
	return common
}

// impliedFor builds OR over the branches of each branch's conjuncts that
// read only columns of set, or nil when some branch has none (the result
// would be TRUE) or when it would just repeat the whole OR.
func impliedFor(branches [][]logical.Expr, set map[logical.ColumnID]bool) logical.Expr {
	args := make([]logical.Expr, len(branches))
	whole := true
	for i, br := range branches {
		var picked []logical.Expr
		for _, c := range br {
			used := logical.ColumnsUsed(c)
			if len(used) > 0 && subsetIDs(used, set) && movable(c) {
				picked = append(picked, c)
			}
		}
		if len(picked) == 0 {
			return nil
		}
		whole = whole && len(picked) == len(br)
		args[i] = logical.JoinAnd(picked)
	}
	if whole {
		return nil
	}
	return &logical.Bool{Args: args}
}

func subsetIDs(s, of map[logical.ColumnID]bool) bool {
	for id := range s {
		if !of[id] {
			return false
		}
	}
	return true
}

var comparisonOps = map[string]bool{"=": true, "<>": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

// movable reports whether e is built only of column references, constants,
// comparisons, AND/OR/NOT, IS NULL and widening casts: such a condition
// cannot raise an error, so evaluating it on more rows is harmless.
func movable(e logical.Expr) bool {
	ok := true
	logical.Walk(e, func(x logical.Expr) bool {
		switch v := x.(type) {
		case *logical.ColRef, *logical.OuterRef, *logical.Const, *logical.Param, *logical.Bool, *logical.Not, *logical.IsNull:
		case *logical.Call:
			ok = comparisonOps[v.Name] && v.Infix && len(v.Args) == 2 && !v.Volatile
		case *logical.Cast:
			ok = wideningCast(v.Arg.Type(), v.To)
		default:
			ok = false
		}
		return ok
	})
	return ok
}

// wideningCast reports whether every value of from converts to to without
// an error: a number to an unconstrained numeric or a float8, an integer to
// a wider integer, a string to text.
func wideningCast(from, to types.T) bool {
	switch {
	case from == to:
		return true
	case to.Kind == types.Numeric && to.Prec == 0:
		return from.IsNumber() && !from.IsFloat()
	case to.Kind == types.Float8:
		return from.IsInteger() || from.Kind == types.Float4
	case to.Kind == types.Int8:
		return from.Kind == types.Int2 || from.Kind == types.Int4
	case to.Kind == types.Int4:
		return from.Kind == types.Int2
	case to.Kind == types.Text:
		return from.IsString()
	}
	return false
}
