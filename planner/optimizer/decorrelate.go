package optimizer

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
)

// decorrelate turns filter conjuncts [NOT] EXISTS (…) and x [NOT] IN (…)
// into semi and anti joins when the subquery is uncorrelated or correlated
// only through equalities in its WHERE clause.
func decorrelate(p logical.Plan) logical.Plan {
	return transformUp(p, func(p logical.Plan) logical.Plan {
		if pr, ok := p.(*logical.Project); ok {
			return decorrelateProject(pr)
		}
		f, ok := p.(*logical.Filter)
		if !ok {
			return p
		}
		input := f.Input
		var rest []logical.Expr
		for _, c := range logical.SplitAnd(f.Cond) {
			if j := toJoin(input, c); j != nil {
				input = j
				continue
			}
			rest = append(rest, c)
		}
		if len(rest) == 0 {
			return input
		}
		want := input.Columns()
		input, rest = decorrelateScalars(input, rest, nil)
		return restoreOrder(&logical.Filter{Input: input, Cond: logical.JoinAnd(rest)}, want)
	})
}

func toJoin(input logical.Plan, c logical.Expr) logical.Plan {
	negate := false
	if n, ok := c.(*logical.Not); ok {
		negate, c = true, n.Arg
	}
	sub, ok := c.(*logical.Subquery)
	if !ok {
		return nil
	}
	inputIDs := idSet(input.Columns())
	for _, oc := range sub.Outer {
		if !inputIDs[oc.ID] {
			return nil // correlated with a query further out
		}
	}
	switch sub.Kind {
	case exec.ExistsSubquery:
		corr, ok := splitCorrelation(sub.Plan, sub.Outer)
		if !ok {
			return nil
		}
		kind := logical.SemiJoin
		if negate {
			kind = logical.AntiJoin
		}
		return &logical.Join{Kind: kind, Left: input, Right: decorrelate(corr.inner), Cond: corr.condition()}
	case exec.AnySubquery:
		if sub.Op != "=" || sub.Test == nil || logical.HasSubquery(sub.Test) {
			return nil
		}
		if negate {
			if len(sub.Outer) > 0 {
				return nil
			}
			col := sub.Plan.Columns()[0]
			return &logical.Join{Kind: logical.NullAwareAntiJoin, Left: input, Right: decorrelate(sub.Plan),
				LeftKeys: []logical.Expr{sub.Test}, RightKeys: []logical.Expr{&logical.ColRef{Col: col}}}
		}
		corr, ok := splitCorrelation(sub.Plan, sub.Outer)
		if !ok {
			return nil
		}
		col := corr.inner.Columns()[0]
		corr.lkeys = append(corr.lkeys, sub.Test)
		corr.rkeys = append(corr.rkeys, &logical.ColRef{Col: col})
		return &logical.Join{Kind: logical.SemiJoin, Left: input, Right: decorrelate(corr.inner), Cond: corr.condition()}
	}
	return nil
}

// correlation is a subquery plan with its references to the outer query
// taken out: equalities outer-expr = inner-expr (lkeys[i] = rkeys[i], the
// outer side now plain column references) and other conditions reading
// both (residual), all to be evaluated by a join instead.
type correlation struct {
	inner        logical.Plan
	lkeys, rkeys []logical.Expr
	residual     []logical.Expr
}

// condition is the join condition that replaces the correlation.
func (c correlation) condition() logical.Expr {
	var cs []logical.Expr
	for i := range c.lkeys {
		cs = append(cs, eqCall(c.lkeys[i], c.rkeys[i]))
	}
	return logical.JoinAnd(append(cs, c.residual...))
}

// splitCorrelation finds the filter of a subquery plan (under projections)
// and splits it into correlation equalities outer-expr = inner-expr, other
// conditions reading outer columns (residual, which a semi or anti join
// evaluates per pair) and the rest. It fails when outer references appear
// anywhere else, or in a condition holding a subquery.
func splitCorrelation(p logical.Plan, outerCols []logical.Column) (correlation, bool) {
	outer := idSet(outerCols)
	var projs []*logical.Project
	cur := p
	for {
		if pr, ok := cur.(*logical.Project); ok {
			projs = append(projs, pr)
			cur = pr.Input
			continue
		}
		break
	}
	var corr correlation
	if f, ok := cur.(*logical.Filter); ok {
		var rest []logical.Expr
		for _, c := range logical.SplitAnd(f.Cond) {
			if !hasOuter(c, outer) {
				rest = append(rest, c)
				continue
			}
			if logical.HasSubquery(c) {
				return correlation{}, false
			}
			l, r, ok := equality(c)
			switch {
			case ok && onlyOuter(l, outer) && !hasOuter(r, outer):
				corr.lkeys, corr.rkeys = append(corr.lkeys, unOuter(l)), append(corr.rkeys, r)
			case ok && onlyOuter(r, outer) && !hasOuter(l, outer):
				corr.lkeys, corr.rkeys = append(corr.lkeys, unOuter(r)), append(corr.rkeys, l)
			default:
				corr.residual = append(corr.residual, unOuter(c))
			}
		}
		cur = f.Input
		if len(rest) > 0 {
			cur = &logical.Filter{Input: f.Input, Cond: logical.JoinAnd(rest)}
		}
	}
	if planHasOuter(cur, outer) {
		return correlation{}, false
	}
	for _, pr := range projs {
		for _, e := range pr.Exprs {
			if hasOuter(e, outer) {
				return correlation{}, false
			}
		}
	}
	// Rebuild the projections above the stripped filter, keeping what the
	// join keys and residual conditions read visible.
	needed := append(append([]logical.Expr{}, corr.rkeys...), corr.residual...)
	for i := len(projs) - 1; i >= 0; i-- {
		pr := projs[i]
		exprs := append([]logical.Expr{}, pr.Exprs...)
		cols := append([]logical.Column{}, pr.Cols...)
		have := idSet(cols)
		for _, k := range needed {
			for id := range logical.ColumnsUsed(k) {
				if have[id] {
					continue
				}
				for _, c := range cur.Columns() {
					if c.ID == id {
						exprs = append(exprs, &logical.ColRef{Col: c})
						cols = append(cols, c)
						have[id] = true
					}
				}
			}
		}
		cur = &logical.Project{Input: cur, Exprs: exprs, Cols: cols}
	}
	corr.inner = cur
	return corr, true
}

// hasOuter reports whether e reads a column of outer, directly or through a
// subquery (a subquery correlated only with the plan e belongs to is no
// outer reference).
func hasOuter(e logical.Expr, outer map[logical.ColumnID]bool) bool {
	found := false
	logical.Walk(e, func(x logical.Expr) bool {
		switch s := x.(type) {
		case *logical.OuterRef:
			found = outer[s.Col.ID]
		case *logical.Subquery:
			for _, c := range s.Outer {
				found = found || outer[c.ID]
			}
		}
		return !found
	})
	return found
}

func onlyOuter(e logical.Expr, outer map[logical.ColumnID]bool) bool {
	return hasOuter(e, outer) && len(logical.ColumnsUsed(e)) == 0 && !logical.HasSubquery(e)
}

// unOuter turns outer references into plain references (the expression
// now runs on the join's left input).
func unOuter(e logical.Expr) logical.Expr {
	return logical.Rewrite(e, func(x logical.Expr) logical.Expr {
		if o, ok := x.(*logical.OuterRef); ok {
			return &logical.ColRef{Col: o.Col}
		}
		return x
	})
}

func planHasOuter(p logical.Plan, outer map[logical.ColumnID]bool) bool {
	found := false
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		for _, e := range planExprs(p) {
			if hasOuter(e, outer) {
				found = true
			}
		}
		for _, c := range p.Children() {
			visit(c)
		}
	}
	visit(p)
	return found
}

// planExprs lists the expressions a node evaluates.
func planExprs(p logical.Plan) []logical.Expr { return logical.PlanExprs(p) }
