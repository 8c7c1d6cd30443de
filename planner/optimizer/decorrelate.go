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
		return &logical.Filter{Input: input, Cond: logical.JoinAnd(rest)}
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
		inner, lkeys, rkeys, ok := splitCorrelation(sub.Plan)
		if !ok {
			return nil
		}
		kind := logical.SemiJoin
		if negate {
			kind = logical.AntiJoin
		}
		return &logical.Join{Kind: kind, Left: input, Right: inner, Cond: joinConds(lkeys, rkeys)}
	case exec.AnySubquery:
		if sub.Op != "=" || logical.HasSubquery(sub.Test) {
			return nil
		}
		if negate {
			if len(sub.Outer) > 0 {
				return nil
			}
			col := sub.Plan.Columns()[0]
			return &logical.Join{Kind: logical.NullAwareAntiJoin, Left: input, Right: sub.Plan,
				LeftKeys: []logical.Expr{sub.Test}, RightKeys: []logical.Expr{&logical.ColRef{Col: col}}}
		}
		inner, lkeys, rkeys, ok := splitCorrelation(sub.Plan)
		if !ok {
			return nil
		}
		col := inner.Columns()[0]
		lkeys = append(lkeys, sub.Test)
		rkeys = append(rkeys, &logical.ColRef{Col: col})
		return &logical.Join{Kind: logical.SemiJoin, Left: input, Right: inner, Cond: joinConds(lkeys, rkeys)}
	}
	return nil
}

func joinConds(l, r []logical.Expr) logical.Expr {
	var cs []logical.Expr
	for i := range l {
		cs = append(cs, eqCall(l[i], r[i]))
	}
	return logical.JoinAnd(cs)
}

// splitCorrelation finds the filter of a subquery plan (under projections)
// and splits it into correlation equalities outer-expr = inner-expr and the
// rest. It fails when outer references appear anywhere else.
func splitCorrelation(p logical.Plan) (logical.Plan, []logical.Expr, []logical.Expr, bool) {
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
	var lkeys, rkeys []logical.Expr
	if f, ok := cur.(*logical.Filter); ok {
		var rest []logical.Expr
		for _, c := range logical.SplitAnd(f.Cond) {
			if !hasOuter(c) {
				rest = append(rest, c)
				continue
			}
			l, r, ok := equality(c)
			if !ok {
				return nil, nil, nil, false
			}
			switch {
			case onlyOuter(l) && !hasOuter(r) && !logical.HasSubquery(r):
				lkeys, rkeys = append(lkeys, unOuter(l)), append(rkeys, r)
			case onlyOuter(r) && !hasOuter(l) && !logical.HasSubquery(l):
				lkeys, rkeys = append(lkeys, unOuter(r)), append(rkeys, l)
			default:
				return nil, nil, nil, false
			}
		}
		cur = f.Input
		if len(rest) > 0 {
			cur = &logical.Filter{Input: f.Input, Cond: logical.JoinAnd(rest)}
		}
	}
	if planHasOuter(cur) {
		return nil, nil, nil, false
	}
	for _, pr := range projs {
		for _, e := range pr.Exprs {
			if hasOuter(e) {
				return nil, nil, nil, false
			}
		}
	}
	// Rebuild the projections above the stripped filter, keeping what the
	// join keys need visible.
	for i := len(projs) - 1; i >= 0; i-- {
		pr := projs[i]
		exprs := append([]logical.Expr{}, pr.Exprs...)
		cols := append([]logical.Column{}, pr.Cols...)
		have := idSet(cols)
		for _, k := range rkeys {
			for id := range logical.ColumnsUsed(k) {
				if !have[id] {
					for _, c := range cur.Columns() {
						if c.ID == id {
							exprs = append(exprs, &logical.ColRef{Col: c})
							cols = append(cols, c)
							have[id] = true
						}
					}
				}
			}
		}
		cur = &logical.Project{Input: cur, Exprs: exprs, Cols: cols}
	}
	return cur, lkeys, rkeys, true
}

func hasOuter(e logical.Expr) bool {
	found := false
	logical.Walk(e, func(x logical.Expr) bool {
		switch s := x.(type) {
		case *logical.OuterRef:
			found = true
		case *logical.Subquery:
			if len(s.Outer) > 0 {
				found = true
			}
		}
		return !found
	})
	return found
}

func onlyOuter(e logical.Expr) bool {
	return hasOuter(e) && len(logical.ColumnsUsed(e)) == 0 && !logical.HasSubquery(e)
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

func planHasOuter(p logical.Plan) bool {
	found := false
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		for _, e := range planExprs(p) {
			if hasOuter(e) {
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
func planExprs(p logical.Plan) []logical.Expr {
	switch n := p.(type) {
	case *logical.Filter:
		return []logical.Expr{n.Cond}
	case *logical.DistinctOn:
		return n.On
	case *logical.Apply:
		out := make([]logical.Expr, len(n.Outer))
		for i, c := range n.Outer {
			out[i] = &logical.ColRef{Col: c}
		}
		return out
	case *logical.TableFunc:
		return n.Args
	case *logical.Project:
		return n.Exprs
	case *logical.ProjectSet:
		var out []logical.Expr
		for _, f := range n.Funcs {
			out = append(out, f.Args...)
		}
		return out
	case *logical.Join:
		out := append(append([]logical.Expr{}, n.LeftKeys...), n.RightKeys...)
		if n.Cond != nil {
			out = append(out, n.Cond)
		}
		return out
	case *logical.Aggregate:
		out := append([]logical.Expr{}, n.Groups...)
		for _, a := range n.Aggs {
			out = append(out, a.Args...)
			for _, k := range a.OrderBy {
				out = append(out, k.Expr)
			}
			if a.Filter != nil {
				out = append(out, a.Filter)
			}
		}
		return out
	case *logical.Values:
		var out []logical.Expr
		for _, r := range n.Rows {
			out = append(out, r...)
		}
		return out
	case *logical.Sort:
		var out []logical.Expr
		for _, k := range n.Keys {
			out = append(out, k.Expr)
		}
		return out
	case *logical.Window:
		var out []logical.Expr
		for _, w := range n.Funcs {
			out = append(out, w.Args...)
			out = append(out, w.PartitionBy...)
			for _, k := range w.OrderBy {
				out = append(out, k.Expr)
			}
		}
		return out
	case *logical.Series:
		if n.Array != nil {
			return []logical.Expr{n.Array}
		}
		return []logical.Expr{n.Start, n.Stop, n.Step}
	}
	return nil
}
