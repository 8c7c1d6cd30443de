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

func int4Const(v int64) logical.Expr { return &logical.Const{Value: v, T: types.Int4T} }

func cmpCall(op string, l, r logical.Expr) logical.Expr {
	return &logical.Call{Name: op, Args: []logical.Expr{l, r}, Kernel: exec.CompareKernel(exec.CmpOp(op), l.Type()), T: types.BoolT, Infix: true}
}

func and(es ...logical.Expr) logical.Expr { return logical.JoinAnd(es) }
func or(es ...logical.Expr) logical.Expr  { return &logical.Bool{Args: es} }

// TestFactorOrs prints the condition factor_or_conditions makes of an OR
// over the cross join of a (columns 1, 2) and b (columns 3, 4).
func TestFactorOrs(t *testing.T) {
	a, ar := relation(1, 2)
	b, br := relation(3, 4)
	key := eqCall(ar[0], br[0])
	div := &logical.Call{Name: "/", Args: []logical.Expr{int4Const(10), ar[1]}, T: types.Int4T, Infix: true}
	cases := []struct {
		name string
		cond logical.Expr
		want string
	}{
		{
			name: "shared join key and per-input implied conditions",
			cond: or(and(key, cmpCall("=", ar[1], int4Const(1)), cmpCall("<", br[1], int4Const(5))),
				and(key, cmpCall("=", ar[1], int4Const(2)), cmpCall(">", br[1], int4Const(7)))),
			want: "(c#1 = c#3) AND ((c#2 = 1) OR (c#2 = 2)) AND ((c#4 < 5) OR (c#4 > 7)) AND " +
				"(((c#2 = 1) AND (c#4 < 5)) OR ((c#2 = 2) AND (c#4 > 7)))",
		},
		{
			name: "a branch that is only the shared conjunct absorbs the OR",
			cond: or(key, and(key, cmpCall("=", ar[1], int4Const(1)))),
			want: "(c#1 = c#3)",
		},
		{
			name: "no implied condition for an input some branch does not restrict",
			cond: or(and(key, cmpCall("=", ar[1], int4Const(1))), and(key, cmpCall("<", br[1], int4Const(5)))),
			want: "(c#1 = c#3) AND ((c#2 = 1) OR (c#4 < 5))",
		},
		{
			name: "a conjunct that can fail does not move",
			cond: or(and(key, cmpCall(">", div, int4Const(1)), cmpCall("=", br[1], int4Const(1))),
				and(key, cmpCall(">", div, int4Const(1)), cmpCall("=", br[1], int4Const(2)))),
			want: "(c#1 = c#3) AND ((c#4 = 1) OR (c#4 = 2)) AND " +
				"((((10 / c#2) > 1) AND (c#4 = 1)) OR (((10 / c#2) > 1) AND (c#4 = 2)))",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &logical.Filter{Input: &logical.Join{Kind: logical.InnerJoin, Left: a, Right: b}, Cond: c.cond}
			got := factorOrs(in).(*logical.Filter).Cond
			var parts []string
			for _, e := range logical.SplitAnd(got) {
				parts = append(parts, e.String())
			}
			if s := strings.Join(parts, " AND "); s != c.want {
				t.Errorf("got  %s\nwant %s", s, c.want)
			}
		})
	}
}
