package logical

// SharedPlan is the body of a WITH query that more than one place of the
// statement reads: it is computed once and every CTEScan of it reads the
// same rows (PostgreSQL materializes such a CTE too).
type SharedPlan struct {
	Name string
	Plan Plan
	// Optimized is set once the optimizer has rewritten Plan.
	Optimized bool
}

// CTEScan reads a SharedPlan. Cols are this reference's own columns, one
// per column of the shared plan, in order. It is a leaf: rewrites of the
// reading query never reach into the shared body.
type CTEScan struct {
	Shared *SharedPlan
	Cols   []Column
}

func (s *CTEScan) Columns() []Column        { return s.Cols }
func (s *CTEScan) Children() []Plan         { return nil }
func (s *CTEScan) WithChildren([]Plan) Plan { return s }
func (s *CTEScan) String() string           { return "CTEScan " + s.Shared.Name }

// PlanExprs lists the expressions a node evaluates.
func PlanExprs(p Plan) []Expr {
	switch n := p.(type) {
	case *Filter:
		return []Expr{n.Cond}
	case *DistinctOn:
		return n.On
	case *Apply:
		out := make([]Expr, len(n.Outer))
		for i, c := range n.Outer {
			out[i] = &ColRef{Col: c}
		}
		return out
	case *TableFunc:
		return n.Args
	case *Project:
		return n.Exprs
	case *ProjectSet:
		var out []Expr
		for _, f := range n.Funcs {
			out = append(out, f.Args...)
		}
		return out
	case *Join:
		out := append(append([]Expr{}, n.LeftKeys...), n.RightKeys...)
		if n.Cond != nil {
			out = append(out, n.Cond)
		}
		return out
	case *Aggregate:
		out := append([]Expr{}, n.Groups...)
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
	case *Values:
		var out []Expr
		for _, r := range n.Rows {
			out = append(out, r...)
		}
		return out
	case *Sort:
		var out []Expr
		for _, k := range n.Keys {
			out = append(out, k.Expr)
		}
		return out
	case *Window:
		var out []Expr
		for _, w := range n.Funcs {
			out = append(out, w.Args...)
			out = append(out, w.PartitionBy...)
			for _, k := range w.OrderBy {
				out = append(out, k.Expr)
			}
		}
		return out
	case *Series:
		if n.Array != nil {
			return []Expr{n.Array}
		}
		return []Expr{n.Start, n.Stop, n.Step}
	}
	return nil
}

// IsDeterministic reports whether p gives the same rows each time it runs
// in one statement: no volatile call, in its subqueries either, and no
// table function or remote scan (whose sources are outside the snapshot).
func IsDeterministic(p Plan) bool {
	switch p.(type) {
	case *TableFunc, *RemoteScan:
		return false
	}
	for _, e := range PlanExprs(p) {
		ok := !IsVolatile(e)
		Walk(e, func(x Expr) bool {
			if s, isSub := x.(*Subquery); isSub && !IsDeterministic(s.Plan) {
				ok = false
			}
			return ok
		})
		if !ok {
			return false
		}
	}
	if s, ok := p.(*CTEScan); ok && !IsDeterministic(s.Shared.Plan) {
		return false
	}
	for _, c := range p.Children() {
		if !IsDeterministic(c) {
			return false
		}
	}
	return true
}
