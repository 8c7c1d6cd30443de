package optimizer

import "github.com/weftdb/weft/planner/logical"

// postponeVolatile moves the volatile select-list expressions of a sorted
// query (Sort, or Limit over Sort, over a Project) above the Sort and the
// Limit, as PostgreSQL's planner does: nextval() or random() are then
// evaluated once per row returned, in output order, not once per input row
// before sorting (SELECT nextval('s') FROM big ORDER BY k LIMIT 10 advanced
// the sequence by the whole table). Expressions a sort key reads, and those
// holding subqueries, stay where they are.
func postponeVolatile(p logical.Plan) logical.Plan {
	switch n := p.(type) {
	case *logical.Limit:
		// above the Limit (which stays on the Sort, for a top-N sort). With
		// an OFFSET PostgreSQL computes the skipped rows too: the Sort keeps
		// a Limit of offset+count, the expressions are computed for those
		// rows, and a second Limit skips the offset.
		if s, ok := n.Input.(*logical.Sort); ok && n.CountExpr == nil && n.OffsetExpr == nil {
			if below, top, ok := splitVolatile(s); ok {
				if n.Offset == 0 {
					return top(n.WithChildren([]logical.Plan{below}))
				}
				count := int64(-1)
				if n.Count >= 0 {
					count = n.Count + n.Offset
				}
				first := &logical.Limit{Input: below, Count: count}
				return &logical.Limit{Input: top(first), Count: n.Count, Offset: n.Offset}
			}
		}
	case *logical.Sort:
		if below, top, ok := splitVolatile(n); ok {
			return top(below)
		}
	}
	children := p.Children()
	if len(children) == 0 {
		return p
	}
	out := make([]logical.Plan, len(children))
	for i, c := range children {
		out[i] = postponeVolatile(c)
	}
	return p.WithChildren(out)
}

// splitVolatile splits the Project under s into one that computes the
// expressions that may run early (and passes on the input columns the
// others read), under the Sort, and a Project to put on top that computes
// the postponed expressions. ok is false when nothing is to be moved.
func splitVolatile(s *logical.Sort) (logical.Plan, func(logical.Plan) logical.Plan, bool) {
	proj, ok := s.Input.(*logical.Project)
	if !ok {
		return nil, nil, false
	}
	sortReads := map[logical.ColumnID]bool{}
	for _, k := range s.Keys {
		logical.AddColumnsUsed(sortReads, k.Expr)
	}
	late := make([]bool, len(proj.Exprs))
	moved := false
	for i, e := range proj.Exprs {
		if logical.IsVolatile(e) && !logical.HasSubquery(e) && !sortReads[proj.Cols[i].ID] {
			late[i], moved = true, true
		}
	}
	if !moved {
		return nil, nil, false
	}
	early := &logical.Project{Input: postponeVolatile(proj.Input)}
	have := map[logical.ColumnID]bool{}
	for i, e := range proj.Exprs {
		if !late[i] {
			early.Exprs = append(early.Exprs, e)
			early.Cols = append(early.Cols, proj.Cols[i])
			have[proj.Cols[i].ID] = true
		}
	}
	// the input columns the postponed expressions read, passed through
	for _, c := range proj.Input.Columns() {
		if have[c.ID] {
			continue
		}
		for i, e := range proj.Exprs {
			if late[i] && logical.ColumnsUsed(e)[c.ID] {
				early.Exprs = append(early.Exprs, &logical.ColRef{Col: c})
				early.Cols = append(early.Cols, c)
				have[c.ID] = true
				break
			}
		}
	}
	below := &logical.Sort{Input: early, Keys: s.Keys}
	top := func(input logical.Plan) logical.Plan {
		exprs := make([]logical.Expr, len(proj.Exprs))
		for i, e := range proj.Exprs {
			if late[i] {
				exprs[i] = e
			} else {
				exprs[i] = &logical.ColRef{Col: proj.Cols[i]}
			}
		}
		return &logical.Project{Input: input, Exprs: exprs, Cols: proj.Cols}
	}
	return below, top, true
}
