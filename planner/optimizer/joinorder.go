package optimizer

import (
	"math/bits"
	"slices"

	"github.com/weftdb/weft/planner/logical"
)

// dpMaxLeaves bounds the exhaustive search: dynamic programming over the
// subsets of n inputs costs about 3^n steps (59,049 at 10). Larger join
// trees are ordered greedily.
const dpMaxLeaves = 10

// leafSet is a set of join inputs by index.
type leafSet uint64

func (s leafSet) has(i int) bool         { return s&(1<<i) != 0 }
func (s leafSet) size() int              { return bits.OnesCount64(uint64(s)) }
func (s leafSet) within(of leafSet) bool { return s&^of == 0 }

// joinGraph is a set of inner-joined inputs and the conditions between
// them, with cardinality estimates of every input and of every join
// condition's selectivity.
type joinGraph struct {
	leaves []logical.Plan
	rows   []float64
	conds  []graphCond
}

type graphCond struct {
	expr   logical.Expr
	leaves leafSet
	sel    float64
	// last: holds a subquery or a volatile call, so it is applied at the
	// top join only (where the original query evaluated it).
	last bool
	// class (-1: none) numbers the class of equal columns an equality of
	// two columns of different inputs belongs to, pair its two inputs;
	// derived: implied by the query's equalities (implied.go), not stated
	class   int
	pair    [2]int
	derived bool
}

// edge reports whether the condition relates two or more inputs.
func (c graphCond) edge() bool { return !c.last && c.leaves.size() > 1 }

func newJoinGraph(leaves []logical.Plan, exprs []logical.Expr) *joinGraph {
	g := &joinGraph{leaves: leaves, rows: make([]float64, len(leaves))}
	owner := map[logical.ColumnID]int{}
	all := logical.Card{Cols: map[logical.ColumnID]logical.ColStat{}}
	for i, l := range leaves {
		c := logical.EstimateCard(l)
		g.rows[i] = max(c.Rows, 1)
		all.Rows = max(all.Rows, c.Rows)
		for _, col := range l.Columns() {
			owner[col.ID] = i
			if cs, ok := c.Cols[col.ID]; ok {
				cs.Distinct = c.Distinct(col.ID)
				all.Cols[col.ID] = cs
			} else {
				all.Cols[col.ID] = logical.ColStat{Distinct: c.Rows}
			}
		}
	}
	implied := impliedEqualities(exprs, owner)
	classes := equalityClasses(append(append([]logical.Expr{}, exprs...), implied...), owner)
	for i, e := range append(append([]logical.Expr{}, exprs...), implied...) {
		gc := graphCond{expr: e, last: logical.HasSubquery(e) || logical.IsVolatile(e), class: -1, derived: i >= len(exprs)}
		for id := range logical.ColumnsUsed(e) {
			if l, ok := owner[id]; ok {
				gc.leaves |= 1 << l
			}
		}
		if l, r, ok := columnEquality(e); ok && !gc.last {
			lo, lok := owner[l.Col.ID]
			ro, rok := owner[r.Col.ID]
			if n, ok := classes[l.Col.ID]; ok && lok && rok && lo != ro {
				gc.class, gc.pair = n, [2]int{lo, ro}
			}
		}
		gc.sel = logical.Selectivity(e, all)
		g.conds = append(g.conds, gc)
	}
	g.applyKeySelectivity(owner)
	return g
}

// equalityClasses numbers the classes of columns the equalities of two
// columns of different inputs among conds make equal.
func equalityClasses(conds []logical.Expr, owner map[logical.ColumnID]int) map[logical.ColumnID]int {
	uf := &columnClass{parent: map[logical.ColumnID]logical.ColumnID{}}
	var ids []logical.ColumnID
	for _, e := range conds {
		if l, r, ok := columnEquality(e); ok {
			uf.union(l.Col.ID, r.Col.ID)
			ids = append(ids, l.Col.ID, r.Col.ID)
		}
	}
	members := map[logical.ColumnID][]logical.ColumnID{}
	for _, id := range ids {
		root := uf.find(id)
		if !containsID(members[root], id) {
			members[root] = append(members[root], id)
		}
	}
	num := map[logical.ColumnID]int{}
	out := map[logical.ColumnID]int{}
	for _, id := range ids {
		root := uf.find(id)
		if !oneColumnPerInput(members[root], owner) {
			continue // (no class: each of its equalities is applied as stated)
		}
		n, ok := num[root]
		if !ok {
			n = len(num)
			num[root] = n
		}
		out[id] = n
	}
	return out
}

// leafUnion tracks, per class of equal columns, which inputs equalities
// have connected (a union-find over (class, input) pairs, small enough to
// search linearly).
type leafUnion struct{ parent map[[2]int][2]int }

func (u *leafUnion) find(x [2]int) [2]int {
	for {
		p, ok := u.parent[x]
		if !ok || p == x {
			return x
		}
		x = p
	}
}

// union connects inputs a and b in class; false if they were connected.
func (u *leafUnion) union(class, a, b int) bool {
	if u.parent == nil {
		u.parent = map[[2]int][2]int{}
	}
	ra, rb := u.find([2]int{class, a}), u.find([2]int{class, b})
	if ra == rb {
		return false
	}
	u.parent[ra] = rb
	return true
}

// applyKeySelectivity replaces the product of the selectivities of the
// equalities between two inputs by logical.KeyJoinSelectivity where one
// side's columns hold a unique key (the columns of a composite key are
// not independent).
func (g *joinGraph) applyKeySelectivity(owner map[logical.ColumnID]int) {
	type pair struct{ a, b int }
	byPair := map[pair][]int{}
	for i, c := range g.conds {
		l, r, ok := equality(c.expr)
		if !ok || !c.edge() || c.leaves.size() != 2 {
			continue
		}
		lc, lok := l.(*logical.ColRef)
		rc, rok := r.(*logical.ColRef)
		if !lok || !rok {
			continue
		}
		a, b := owner[lc.Col.ID], owner[rc.Col.ID]
		if a > b {
			a, b = b, a
		}
		byPair[pair{a, b}] = append(byPair[pair{a, b}], i)
	}
	for p, idx := range byPair {
		var akeys, bkeys []logical.Expr
		for _, i := range idx {
			l, r, _ := equality(g.conds[i].expr)
			if lc := l.(*logical.ColRef); g.ownerIs(lc.Col.ID, p.a) {
				akeys, bkeys = append(akeys, l), append(bkeys, r)
			} else {
				akeys, bkeys = append(akeys, r), append(bkeys, l)
			}
		}
		sel, ok := logical.KeyJoinSelectivity(g.leaves[p.a], g.leaves[p.b], akeys, bkeys)
		if !ok {
			continue
		}
		for n, i := range idx {
			g.conds[i].sel = 1
			if n == 0 {
				g.conds[i].sel = sel
			}
		}
	}
}

func (g *joinGraph) ownerIs(id logical.ColumnID, leaf int) bool {
	for _, c := range g.leaves[leaf].Columns() {
		if c.ID == id {
			return true
		}
	}
	return false
}

// rowsOf estimates the rows of joining the inputs in s: the product of
// their rows and of the selectivities of the conditions among them. It
// does not depend on the order the inputs are joined in.
func (g *joinGraph) rowsOf(s leafSet) float64 {
	r := 1.0
	for i := range g.leaves {
		if s.has(i) {
			r *= g.rows[i]
		}
	}
	// an equality a class's others among s already imply is no filter:
	// it counts only where it connects inputs not connected yet (the
	// stated ones always count, as written)
	var connected leafUnion
	for _, c := range g.conds {
		if !c.edge() || !c.leaves.within(s) {
			continue
		}
		if c.class >= 0 && !connected.union(c.class, c.pair[0], c.pair[1]) && c.derived {
			continue
		}
		r *= c.sel
	}
	return max(r, 1)
}

// connects reports whether a condition among the inputs of l|r relates
// the two sides.
func (g *joinGraph) connects(l, r leafSet) bool {
	for _, c := range g.conds {
		if c.edge() && c.leaves.within(l|r) && c.leaves&l != 0 && c.leaves&r != 0 {
			return true
		}
	}
	return false
}

// components splits the inputs into groups that conditions connect.
func (g *joinGraph) components() []leafSet {
	var comps []leafSet
	for i := range g.leaves {
		cur := leafSet(1 << i)
		var rest []leafSet
		for _, c := range comps {
			if g.touches(c, cur) {
				cur |= c
			} else {
				rest = append(rest, c)
			}
		}
		comps = append(rest, cur)
	}
	// merging a leaf may connect components merged earlier
	for changed := true; changed; {
		changed = false
		for a := 0; a < len(comps) && !changed; a++ {
			for b := a + 1; b < len(comps); b++ {
				if g.touches(comps[a], comps[b]) {
					comps[a] |= comps[b]
					comps = slices.Delete(comps, b, b+1)
					changed = true
					break
				}
			}
		}
	}
	return comps
}

func (g *joinGraph) touches(a, b leafSet) bool {
	for _, c := range g.conds {
		if c.edge() && c.leaves&a != 0 && c.leaves&b != 0 {
			return true
		}
	}
	return false
}

// joinTree is a chosen order: a leaf, or a join of two trees.
type joinTree struct {
	set         leafSet
	leaf        int
	left, right *joinTree
	cost        float64 // sum of the rows of every join in the tree
	rows        float64
	width       float64 // estimated bytes per row
}

// orderJoins chooses a join order for the graph: within each connected
// group of inputs the cheapest bushy order by dynamic programming (the
// cost of a plan is the sum of its joins' estimated rows, so the plan that
// never builds a large intermediate wins), greedily for large groups; the
// groups, which no condition relates, are then cross joined smallest
// first.
func (g *joinGraph) orderJoins() *joinTree {
	var trees []*joinTree
	for _, comp := range g.components() {
		var t *joinTree
		if comp.size() <= dpMaxLeaves {
			t = g.dp(comp)
		}
		if t == nil {
			t = g.greedy(comp)
		}
		trees = append(trees, t)
	}
	slices.SortStableFunc(trees, func(a, b *joinTree) int {
		switch {
		case a.rows < b.rows:
			return -1
		case a.rows > b.rows:
			return 1
		}
		return 0
	})
	out := trees[0]
	for _, t := range trees[1:] {
		out = g.join(out, t)
	}
	return out
}

func (g *joinGraph) leafTree(i int) *joinTree {
	return &joinTree{set: 1 << i, leaf: i, rows: g.rows[i], width: logical.RowWidth(g.leaves[i].Columns())}
}

// join makes a join of two trees, the smaller estimated input (in bytes)
// on the right, where the physical planner builds the hash table.
func (g *joinGraph) join(a, b *joinTree) *joinTree {
	if a.rows*a.width < b.rows*b.width {
		a, b = b, a
	}
	rows := g.rowsOf(a.set | b.set)
	return &joinTree{set: a.set | b.set, leaf: -1, left: a, right: b, rows: rows, width: a.width + b.width, cost: a.cost + b.cost + rows}
}

// dp finds the cheapest order of the inputs in comp that joins only
// connected parts; nil when there is none (conditions over three or more
// inputs can leave no pairwise-connected order).
func (g *joinGraph) dp(comp leafSet) *joinTree {
	best := map[leafSet]*joinTree{}
	for i := range g.leaves {
		if comp.has(i) {
			best[1<<i] = g.leafTree(i)
		}
	}
	// visit the subsets of comp in increasing numeric order, so every
	// proper subset is done before its supersets
	for s := leafSet(0); ; {
		s = (s - comp) & comp // next subset of comp
		if s == 0 {
			break
		}
		if s.size() < 2 {
			continue
		}
		low := s & -s
		for l := (s - 1) & s; l > 0; l = (l - 1) & s {
			if l&low == 0 { // each split once: the side holding the lowest input
				continue
			}
			r := s &^ l
			lt, rt := best[l], best[r]
			if lt == nil || rt == nil || !g.connects(l, r) {
				continue
			}
			// every split of s ends in the same rows, so the cheaper
			// inputs make the cheaper plan
			if cur := best[s]; cur == nil || lt.cost+rt.cost < cur.left.cost+cur.right.cost {
				best[s] = g.join(lt, rt)
			}
		}
	}
	return best[comp]
}

// greedy builds a left-deep order: it starts from the smallest input and
// keeps adding the input whose join with what is built so far is
// estimated smallest, preferring inputs connected by a condition.
func (g *joinGraph) greedy(comp leafSet) *joinTree {
	var cur *joinTree
	for i := range g.leaves {
		if comp.has(i) && (cur == nil || g.rows[i] < cur.rows) {
			cur = g.leafTree(i)
		}
	}
	for cur.set != comp {
		next, nextConnected, nextRows := -1, false, 0.0
		for i := range g.leaves {
			if !comp.has(i) || cur.set.has(i) {
				continue
			}
			connected := g.connects(cur.set, 1<<i)
			rows := g.rowsOf(cur.set | 1<<i)
			if next < 0 || (connected && !nextConnected) || (connected == nextConnected && rows < nextRows) {
				next, nextConnected, nextRows = i, connected, rows
			}
		}
		cur = g.join(cur, g.leafTree(next))
	}
	return cur
}

// plan turns the chosen tree into joins, each condition at the lowest
// join that has all its inputs; conditions marked last (and any left
// over) go to the top join.
func (g *joinGraph) plan(t *joinTree) logical.Plan {
	done := make([]bool, len(g.conds))
	p := g.planNode(t, done)
	var rest []logical.Expr
	for i, c := range g.conds {
		if !done[i] {
			rest = append(rest, c.expr)
		}
	}
	if len(rest) == 0 {
		return p
	}
	if j, ok := p.(*logical.Join); ok {
		nj := *j
		if nj.Cond != nil {
			rest = append(logical.SplitAnd(nj.Cond), rest...)
		}
		nj.Cond = logical.JoinAnd(rest)
		return &nj
	}
	return &logical.Filter{Input: p, Cond: logical.JoinAnd(rest)}
}

// classEqualities picks, for each class of equal columns with equalities
// among the inputs of set not placed yet, the one to apply (by index).
func (g *joinGraph) classEqualities(set leafSet, done []bool) map[int]int {
	type leafPair struct{ a, b int }
	pairOf := func(c graphCond) leafPair {
		return leafPair{min(c.pair[0], c.pair[1]), max(c.pair[0], c.pair[1])}
	}
	classesOn := map[leafPair]map[int]bool{}
	for i, c := range g.conds {
		if done[i] || c.last || c.class < 0 || !c.leaves.within(set) {
			continue
		}
		p := pairOf(c)
		if classesOn[p] == nil {
			classesOn[p] = map[int]bool{}
		}
		classesOn[p][c.class] = true
	}
	chosen := map[int]int{}
	for i, c := range g.conds {
		if done[i] || c.last || c.class < 0 || !c.leaves.within(set) {
			continue
		}
		cur, ok := chosen[c.class]
		if !ok {
			chosen[c.class] = i
			continue
		}
		prev := g.conds[cur]
		better := len(classesOn[pairOf(c)]) > len(classesOn[pairOf(prev)]) ||
			(len(classesOn[pairOf(c)]) == len(classesOn[pairOf(prev)]) && prev.derived && !c.derived)
		if better {
			chosen[c.class] = i
		}
	}
	return chosen
}

func (g *joinGraph) planNode(t *joinTree, done []bool) logical.Plan {
	if t.left == nil {
		return g.leaves[t.leaf]
	}
	l := g.planNode(t.left, done)
	r := g.planNode(t.right, done)
	var apply []logical.Expr
	// one equality of a class of equal columns per join: both sides'
	// columns of the class are equal below already, so one equates all.
	// Each class takes the one between the two inputs the most classes
	// join here (q09's lineitem meets partsupp on both of its key's
	// columns, which estimates know is one row each), stated before
	// derived.
	chosen := g.classEqualities(t.set, done)
	for i, c := range g.conds {
		if done[i] || c.last || !c.leaves.within(t.set) {
			continue
		}
		done[i] = true
		if c.class < 0 || chosen[c.class] == i {
			apply = append(apply, c.expr)
		}
	}
	return &logical.Join{Kind: logical.InnerJoin, Left: l, Right: r, Cond: logical.JoinAnd(apply), Rows: t.rows}
}
