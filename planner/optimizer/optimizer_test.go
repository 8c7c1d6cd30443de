package optimizer

import (
	"strings"
	"testing"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// relation is a one-row VALUES with integer columns of the given ids.
func relation(ids ...logical.ColumnID) (*logical.Values, []logical.Expr) {
	v := &logical.Values{Rows: [][]logical.Expr{{}}}
	var refs []logical.Expr
	for _, id := range ids {
		c := logical.Column{ID: id, Name: "c", T: types.Int4T}
		v.Cols = append(v.Cols, c)
		v.Rows[0] = append(v.Rows[0], &logical.Const{Value: int64(id), T: types.Int4T})
		refs = append(refs, &logical.ColRef{Col: c})
	}
	return v, refs
}

func hasHashJoin(p logical.Plan) bool {
	if j, ok := p.(*logical.Join); ok && len(j.LeftKeys) > 0 {
		return true
	}
	for _, c := range p.Children() {
		if hasHashJoin(c) {
			return true
		}
	}
	return false
}

// TestSubqueryPlansAreOptimized: an uncorrelated scalar subquery over a
// FROM list of three relations (TPC-H q11's HAVING threshold) gets its
// join keys, instead of running as a filtered cross product.
func TestSubqueryPlansAreOptimized(t *testing.T) {
	a, ar := relation(1, 2)
	b, br := relation(3, 4)
	c, cr := relation(5)
	cross := &logical.Join{Kind: logical.InnerJoin, Left: &logical.Join{Kind: logical.InnerJoin, Left: a, Right: b}, Right: c}
	cond := logical.JoinAnd([]logical.Expr{eqCall(ar[0], br[0]), eqCall(br[1], cr[0])})
	subPlan := &logical.Project{
		Input: &logical.Filter{Input: cross, Cond: cond},
		Exprs: []logical.Expr{ar[1]},
		Cols:  []logical.Column{{ID: 6, Name: "v", T: types.Int4T}},
	}
	sub := &logical.Subquery{Kind: exec.ScalarSubquery, Plan: subPlan, T: types.Int4T}
	outer, or := relation(7)
	plan := &logical.Filter{Input: outer, Cond: eqCall(or[0], sub)}

	got, err := Optimize(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	var found *logical.Subquery
	logical.Walk(got.(*logical.Filter).Cond, func(x logical.Expr) bool {
		if s, ok := x.(*logical.Subquery); ok {
			found = s
		}
		return true
	})
	if found == nil {
		t.Fatalf("subquery gone:\n%s", logical.Format(got))
	}
	if !hasHashJoin(found.Plan) {
		t.Errorf("subquery plan has no hash join:\n%s", logical.Format(found.Plan))
	}
	if strings.Contains(logical.Format(found.Plan), "Filter") {
		t.Errorf("join conditions left in a filter:\n%s", logical.Format(found.Plan))
	}
}
