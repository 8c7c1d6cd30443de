// Package optimizer rewrites logical plans with small named rules, run in a
// fixed order. Every rule keeps the plan's output columns unchanged; a rule
// that breaks this is reported as an internal error naming the rule.
package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Rule is one rewrite.
type Rule interface {
	Name() string
	Apply(p logical.Plan) logical.Plan
}

type ruleFunc struct {
	name string
	f    func(logical.Plan) logical.Plan
}

func (r ruleFunc) Name() string                      { return r.name }
func (r ruleFunc) Apply(p logical.Plan) logical.Plan { return r.f(p) }

// Rules returns the default rule list in the order it runs.
func Rules() []Rule {
	return []Rule{
		ruleFunc{"factor_or_conditions", factorOrs},
		ruleFunc{"decorrelate_subqueries", decorrelate},
		ruleFunc{"push_down_filter", pushDownFilters},
		ruleFunc{"push_down_semi_joins", pushDownSemiJoins},
		ruleFunc{"reorder_joins", reorderJoins},
		ruleFunc{"extract_equijoin_keys", extractEquiJoins},
		ruleFunc{"aggregate_before_left_join", aggregateBeforeLeftJoin},
		ruleFunc{"prune_columns", pruneColumns},
		ruleFunc{"postpone_volatile", postponeVolatile},
	}
}

// Optimize runs the rules, skipping any named in disabled.
func Optimize(p logical.Plan, disabled map[string]bool) (logical.Plan, error) {
	want := p.Columns()
	for _, r := range Rules() {
		if disabled[r.Name()] {
			continue
		}
		p = r.Apply(p)
		got := p.Columns()
		if !sameColumns(want, got) {
			return nil, sqlerr.New(sqlerr.Internal, "optimizer rule %s changed the plan's output columns", r.Name())
		}
	}
	if err := optimizeSubqueries(p, disabled); err != nil {
		return nil, err
	}
	if err := optimizeShared(p, disabled); err != nil {
		return nil, err
	}
	return p, nil
}

// optimizeSubqueries optimizes the plans of the subqueries that stay
// expressions (uncorrelated ones, and those decorrelation left alone):
// without it a subquery's FROM list of several tables ran as a cross
// product (TPC-H q11's HAVING threshold). The rules treat the subquery's
// outer references as constants. The plans are replaced in place: the
// Subquery nodes belong to this statement's plan alone.
func optimizeSubqueries(p logical.Plan, disabled map[string]bool) error {
	var firstErr error
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		for _, e := range planExprs(p) {
			logical.Walk(e, func(x logical.Expr) bool {
				sub, ok := x.(*logical.Subquery)
				if !ok || firstErr != nil {
					return firstErr == nil
				}
				opt, err := Optimize(sub.Plan, disabled)
				if err != nil {
					firstErr = err
					return false
				}
				sub.Plan, sub.Optimized = opt, true
				return true
			})
		}
		for _, c := range p.Children() {
			visit(c)
		}
	}
	visit(p)
	return firstErr
}

// optimizeShared optimizes, once each, the bodies of the shared WITH
// queries p reads (in its nodes, its subqueries and other shared bodies):
// the rules never enter them from a CTEScan.
func optimizeShared(p logical.Plan, disabled map[string]bool) error {
	var firstErr error
	forEachCTEScan(p, func(s *logical.CTEScan) {
		sp := s.Shared
		if sp.Optimized || firstErr != nil {
			return
		}
		sp.Optimized = true
		body, err := Optimize(sp.Plan, disabled)
		if err != nil {
			firstErr = err
			return
		}
		sp.Plan = body
	})
	return firstErr
}

// forEachCTEScan calls f on every CTEScan under p, looking into subquery
// plans too.
func forEachCTEScan(p logical.Plan, f func(*logical.CTEScan)) {
	if s, ok := p.(*logical.CTEScan); ok {
		f(s)
		forEachCTEScan(s.Shared.Plan, f)
	}
	for _, e := range planExprs(p) {
		logical.Walk(e, func(x logical.Expr) bool {
			if sub, ok := x.(*logical.Subquery); ok {
				forEachCTEScan(sub.Plan, f)
			}
			return true
		})
	}
	for _, c := range p.Children() {
		forEachCTEScan(c, f)
	}
}

func sameColumns(a, b []logical.Column) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].T != b[i].T {
			return false
		}
	}
	return true
}

// transformUp applies f to every node bottom-up.
func transformUp(p logical.Plan, f func(logical.Plan) logical.Plan) logical.Plan {
	kids := p.Children()
	if len(kids) > 0 {
		nk := make([]logical.Plan, len(kids))
		for i, k := range kids {
			nk[i] = transformUp(k, f)
		}
		p = p.WithChildren(nk)
	}
	return f(p)
}

func idSet(cols []logical.Column) map[logical.ColumnID]bool {
	s := make(map[logical.ColumnID]bool, len(cols))
	for _, c := range cols {
		s[c.ID] = true
	}
	return s
}

// within reports whether every column used by e that belongs to the
// universe is in side.
func within(e logical.Expr, side, universe map[logical.ColumnID]bool) bool {
	for id := range logical.ColumnsUsed(e) {
		if universe[id] && !side[id] {
			return false
		}
	}
	return true
}
