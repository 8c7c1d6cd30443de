package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
)

// pushDownFilters moves filter conjuncts as close to the scans as they can
// go: through projections (by substitution), into join inputs, below sorts,
// and below aggregates when they only touch grouping columns.
func pushDownFilters(p logical.Plan) logical.Plan {
	return push(p, nil)
}

// push rebuilds p with the extra conjuncts preds applied on top of it, pushed
// as deep as possible.
func push(p logical.Plan, preds []logical.Expr) logical.Plan {
	switch n := p.(type) {
	case *logical.Filter:
		return push(n.Input, append(preds, logical.SplitAnd(n.Cond)...))
	case *logical.Join:
		return pushJoin(n, preds)
	case *logical.Project:
		var down, keep []logical.Expr
		subst := map[logical.ColumnID]logical.Expr{}
		for i, c := range n.Cols {
			subst[c.ID] = n.Exprs[i]
		}
		unsafe := map[logical.ColumnID]bool{}
		for i, c := range n.Cols {
			if logical.IsVolatile(n.Exprs[i]) || logical.HasSubquery(n.Exprs[i]) {
				unsafe[c.ID] = true
			}
		}
		for _, pr := range preds {
			ok := !logical.IsVolatile(pr) && !logical.HasSubquery(pr)
			for id := range logical.ColumnsUsed(pr) {
				ok = ok && !unsafe[id]
			}
			if !ok {
				keep = append(keep, pr)
				continue
			}
			down = append(down, substitute(pr, subst))
		}
		np := &logical.Project{Input: push(n.Input, down), Exprs: n.Exprs, Cols: n.Cols}
		return wrap(np, keep)
	case *logical.Sort:
		return &logical.Sort{Input: push(n.Input, preds), Keys: n.Keys}
	case *logical.ProjectSet:
		// conjuncts over the input's columns filter rows before they
		// expand (the same rows survive, fewer are expanded)
		down, keep := overInput(n.Input, preds)
		ps := *n
		ps.Input = push(n.Input, down)
		return wrap(&ps, keep)
	case *logical.TableFunc:
		if !n.Lateral || n.Input == nil {
			break // a relation argument is read as written
		}
		// f(t.col) in FROM: as for ProjectSet, the function is called for
		// fewer rows, and joins its rows to the same ones
		down, keep := overInput(n.Input, preds)
		tf := *n
		tf.Input = push(n.Input, down)
		return wrap(&tf, keep)
	case *logical.RemoteScan:
		return pushIntoRemote(n, preds)
	case *logical.FileScan:
		return pushIntoFileScan(n, preds)
	case *logical.Scan:
		return pushIntoScan(n, preds)
	case *logical.Aggregate:
		groupIDs := map[logical.ColumnID]logical.Expr{}
		for i, g := range n.Groups {
			groupIDs[n.Cols[i].ID] = g
		}
		var down, keep []logical.Expr
		for _, pr := range preds {
			ok := !logical.HasSubquery(pr)
			for id := range logical.ColumnsUsed(pr) {
				if _, isGroup := groupIDs[id]; !isGroup && idSet(n.Cols)[id] {
					ok = false
				}
			}
			if ok && len(n.Groups) > 0 {
				down = append(down, substitute(pr, groupIDs))
			} else {
				keep = append(keep, pr)
			}
		}
		na := *n
		na.Input = push(n.Input, down)
		return wrap(&na, keep)
	}
	// Other nodes: optimize below, keep the predicates here.
	kids := p.Children()
	if len(kids) > 0 {
		nk := make([]logical.Plan, len(kids))
		for i, k := range kids {
			nk[i] = push(k, nil)
		}
		p = p.WithChildren(nk)
	}
	return wrap(p, preds)
}

// overInput splits preds into those that read only input's columns
// (and call nothing volatile, hold no subquery), which may filter the
// input of a node that expands each input row, and the others.
func overInput(input logical.Plan, preds []logical.Expr) (down, keep []logical.Expr) {
	in := idSet(input.Columns())
	for _, pr := range preds {
		ok := !logical.IsVolatile(pr) && !logical.HasSubquery(pr)
		for id := range logical.ColumnsUsed(pr) {
			ok = ok && in[id]
		}
		if ok {
			down = append(down, pr)
		} else {
			keep = append(keep, pr)
		}
	}
	return down, keep
}

func wrap(p logical.Plan, preds []logical.Expr) logical.Plan {
	if len(preds) == 0 {
		return p
	}
	return &logical.Filter{Input: p, Cond: logical.JoinAnd(preds)}
}

// substitute replaces column references by the expressions defining them.
func substitute(e logical.Expr, subst map[logical.ColumnID]logical.Expr) logical.Expr {
	return logical.Rewrite(e, func(x logical.Expr) logical.Expr {
		if c, ok := x.(*logical.ColRef); ok {
			if r, ok := subst[c.Col.ID]; ok {
				return r
			}
		}
		return x
	})
}

func pushJoin(j *logical.Join, preds []logical.Expr) logical.Plan {
	lset, rset := idSet(j.Left.Columns()), idSet(j.Right.Columns())
	universe := map[logical.ColumnID]bool{}
	for id := range lset {
		universe[id] = true
	}
	for id := range rset {
		universe[id] = true
	}
	var toLeft, toRight, onJoin, keep []logical.Expr
	// Predicates above the join.
	for _, pr := range preds {
		switch {
		case within(pr, lset, universe) && j.Kind != logical.RightJoin && j.Kind != logical.FullJoin:
			toLeft = append(toLeft, pr)
		case within(pr, rset, universe) && (j.Kind == logical.InnerJoin || j.Kind == logical.RightJoin):
			toRight = append(toRight, pr)
		case j.Kind == logical.InnerJoin:
			onJoin = append(onJoin, pr)
		default:
			keep = append(keep, pr)
		}
	}
	// The join's own condition.
	if j.Cond != nil {
		for _, c := range logical.SplitAnd(j.Cond) {
			switch {
			case within(c, rset, universe) && !within(c, lset, universe) && (j.Kind == logical.InnerJoin || j.Kind == logical.LeftJoin || j.Kind == logical.SemiJoin || j.Kind == logical.AntiJoin):
				toRight = append(toRight, c)
			case within(c, lset, universe) && !within(c, rset, universe) && (j.Kind == logical.InnerJoin || j.Kind == logical.RightJoin || j.Kind == logical.SemiJoin):
				toLeft = append(toLeft, c)
			default:
				onJoin = append(onJoin, c)
			}
		}
	}
	nj := &logical.Join{Kind: j.Kind, Left: push(j.Left, toLeft), Right: push(j.Right, toRight),
		Cond: logical.JoinAnd(onJoin), LeftKeys: j.LeftKeys, RightKeys: j.RightKeys}
	return wrap(nj, keep)
}
