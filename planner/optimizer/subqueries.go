package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
)

// optimizeSubqueries runs the rules over the plan of every subquery the
// optimized plan still evaluates as an expression (an uncorrelated scalar
// subquery in HAVING, say, or one decorrelation left alone): without it
// their FROM lists would run as written, cross products included. It runs
// after the other rules, which look for correlation in the plans as bound.
// The plans are replaced in place: a statement's bound plan is its own.
func optimizeSubqueries(p logical.Plan, disabled map[string]bool) error {
	seen := map[*logical.Subquery]bool{}
	var visit func(p logical.Plan) error
	visit = func(p logical.Plan) error {
		var err error
		for _, e := range planExprs(p) {
			logical.Walk(e, func(x logical.Expr) bool {
				sub, ok := x.(*logical.Subquery)
				if !ok || seen[sub] || err != nil {
					return err == nil
				}
				seen[sub] = true
				var opt logical.Plan
				if opt, err = Optimize(sub.Plan, disabled); err == nil {
					sub.Plan = opt
				}
				return err == nil
			})
			if err != nil {
				return err
			}
		}
		for _, c := range p.Children() {
			if err := visit(c); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(p)
}
