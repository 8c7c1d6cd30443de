package optimizer

import (
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// extractEquiJoins turns `left-expr = right-expr` conjuncts of a join
// condition into hash-join keys.
func extractEquiJoins(p logical.Plan) logical.Plan {
	return transformUp(p, func(p logical.Plan) logical.Plan {
		j, ok := p.(*logical.Join)
		if !ok || j.Cond == nil {
			return p
		}
		lset, rset := idSet(j.Left.Columns()), idSet(j.Right.Columns())
		universe := map[logical.ColumnID]bool{}
		for id := range lset {
			universe[id] = true
		}
		for id := range rset {
			universe[id] = true
		}
		nj := *j
		var rest []logical.Expr
		for _, c := range logical.SplitAnd(j.Cond) {
			l, r, ok := equality(c)
			if ok && !logical.HasSubquery(c) && !logical.IsVolatile(c) {
				lu, ru := len(logical.ColumnsUsed(l)) > 0, len(logical.ColumnsUsed(r)) > 0
				switch {
				case lu && ru && within(l, lset, universe) && within(r, rset, universe):
					nj.LeftKeys, nj.RightKeys = append(nj.LeftKeys, l), append(nj.RightKeys, r)
					continue
				case lu && ru && within(l, rset, universe) && within(r, lset, universe):
					nj.LeftKeys, nj.RightKeys = append(nj.LeftKeys, r), append(nj.RightKeys, l)
					continue
				}
			}
			rest = append(rest, c)
		}
		nj.Cond = logical.JoinAnd(rest)
		return &nj
	})
}

// equality matches a resolved `a = b` call.
func equality(e logical.Expr) (logical.Expr, logical.Expr, bool) {
	c, ok := e.(*logical.Call)
	if !ok || c.Name != "=" || !c.Infix || len(c.Args) != 2 {
		return nil, nil, false
	}
	return c.Args[0], c.Args[1], true
}

func eqCall(l, r logical.Expr) logical.Expr {
	return &logical.Call{Name: "=", Args: []logical.Expr{l, r}, Kernel: exec.CompareKernel("=", l.Type()), T: types.BoolT, Infix: true}
}
