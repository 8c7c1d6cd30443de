package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
)

// reorderJoins rebuilds every tree of inner joins in the order the
// cardinality estimates make cheapest (joinorder.go): a FROM list written
// in any order never builds a cross product that a later condition would
// have avoided, nor a many-to-many intermediate that another order avoids.
// Each condition is placed at the first join where all its columns are
// available. It runs after push_down_filter, so conditions on one input
// already sit there. Beyond 64 inputs it falls back to greedyJoin (SQLite's
// corpus joins up to 64 tables).
func reorderJoins(p logical.Plan) logical.Plan {
	j, ok := p.(*logical.Join)
	if !ok || j.Kind != logical.InnerJoin || len(j.LeftKeys) > 0 {
		kids := p.Children()
		if len(kids) == 0 {
			return p
		}
		nk := make([]logical.Plan, len(kids))
		for i, k := range kids {
			nk[i] = reorderJoins(k)
		}
		return p.WithChildren(nk)
	}
	var leaves []logical.Plan
	var conds []logical.Expr
	flattenInner(j, &leaves, &conds)
	for i, l := range leaves {
		leaves[i] = reorderJoins(l)
	}
	if len(leaves) < 3 {
		return &logical.Join{Kind: logical.InnerJoin, Left: leaves[0], Right: leaves[1], Cond: logical.JoinAnd(conds)}
	}
	if len(leaves) > 64 {
		return restoreOrder(greedyJoin(leaves, conds), j.Columns())
	}
	g := newJoinGraph(leaves, conds)
	return restoreOrder(g.plan(g.orderJoins()), j.Columns())
}

func flattenInner(p logical.Plan, leaves *[]logical.Plan, conds *[]logical.Expr) {
	j, ok := p.(*logical.Join)
	if !ok || j.Kind != logical.InnerJoin || len(j.LeftKeys) > 0 {
		*leaves = append(*leaves, p)
		return
	}
	flattenInner(j.Left, leaves, conds)
	flattenInner(j.Right, leaves, conds)
	if j.Cond != nil {
		*conds = append(*conds, logical.SplitAnd(j.Cond)...)
	}
}

// joinCond is a condition with the set of leaves whose columns it reads.
type joinCond struct {
	expr   logical.Expr
	leaves map[int]bool
	last   bool // holds a subquery: applied at the top join only
	done   bool
}

func greedyJoin(leaves []logical.Plan, exprs []logical.Expr) logical.Plan {
	owner := map[logical.ColumnID]int{}
	rows := make([]float64, len(leaves))
	for i, l := range leaves {
		for _, c := range l.Columns() {
			owner[c.ID] = i
		}
		rows[i] = logical.EstimateRows(l)
	}
	conds := make([]*joinCond, len(exprs))
	for i, e := range exprs {
		jc := &joinCond{expr: e, leaves: map[int]bool{}, last: logical.HasSubquery(e) || logical.IsVolatile(e)}
		for id := range logical.ColumnsUsed(e) {
			if l, ok := owner[id]; ok {
				jc.leaves[l] = true
			}
		}
		conds[i] = jc
	}
	joined := map[int]bool{}
	first := 0
	for i := range leaves {
		if rows[i] < rows[first] {
			first = i
		}
	}
	joined[first] = true
	plan := leaves[first]
	for len(joined) < len(leaves) {
		next := pickNext(leaves, rows, joined, conds)
		joined[next] = true
		var apply []logical.Expr
		for _, c := range conds {
			if c.done || (c.last && len(joined) < len(leaves)) || !subset(c.leaves, joined) {
				continue
			}
			c.done = true
			apply = append(apply, c.expr)
		}
		plan = &logical.Join{Kind: logical.InnerJoin, Left: plan, Right: leaves[next], Cond: logical.JoinAnd(apply)}
	}
	return plan
}

// pickNext chooses the smallest unjoined leaf connected to the joined set by
// a condition, or the smallest leaf when none is connected.
func pickNext(leaves []logical.Plan, rows []float64, joined map[int]bool, conds []*joinCond) int {
	best, bestConnected := -1, false
	for i := range leaves {
		if joined[i] {
			continue
		}
		connected := false
		for _, c := range conds {
			if !c.done && !c.last && c.leaves[i] && len(c.leaves) > 1 && subsetWith(c.leaves, joined, i) {
				connected = true
				break
			}
		}
		switch {
		case best < 0,
			connected && !bestConnected,
			connected == bestConnected && rows[i] < rows[best]:
			best, bestConnected = i, connected
		}
	}
	return best
}

func subset(s, of map[int]bool) bool {
	for k := range s {
		if !of[k] {
			return false
		}
	}
	return true
}

func subsetWith(s, of map[int]bool, extra int) bool {
	for k := range s {
		if !of[k] && k != extra {
			return false
		}
	}
	return true
}

// restoreOrder projects p's columns back into the order want lists.
func restoreOrder(p logical.Plan, want []logical.Column) logical.Plan {
	if sameColumns(p.Columns(), want) {
		return p
	}
	exprs := make([]logical.Expr, len(want))
	for i, c := range want {
		exprs[i] = &logical.ColRef{Col: c}
	}
	return &logical.Project{Input: p, Exprs: exprs, Cols: want}
}
