package optimizer

import (
	"github.com/weftdb/weft/planner/logical"
)

// Equalities between columns of inner-joined inputs chain: from
// c_nationkey = s_nationkey and s_nationkey = n_nationkey (TPC-H q05)
// follows c_nationkey = n_nationkey, which lets the join order meet
// customer with the region's nations before orders and lineitem instead
// of only through supplier. impliedEqualities adds, for every class of
// columns that such equalities make equal, an equality between each two
// of its columns from different inputs that no condition equates already.
// The join graph marks them derived: one that another equality of its
// class already implies at a join is left out there, and estimates count
// a class's equalities among a set of inputs only as far as they connect
// inputs that were not connected yet.

// columnClass groups equal columns (a union-find over column ids).
type columnClass struct {
	parent map[logical.ColumnID]logical.ColumnID
}

func (c *columnClass) find(id logical.ColumnID) logical.ColumnID {
	for {
		p, ok := c.parent[id]
		if !ok || p == id {
			return id
		}
		id = p
	}
}

func (c *columnClass) union(a, b logical.ColumnID) {
	ra, rb := c.find(a), c.find(b)
	if ra != rb {
		c.parent[ra] = rb
	}
}

// columnEquality matches `a = b` over two plain columns of one type.
func columnEquality(e logical.Expr) (*logical.ColRef, *logical.ColRef, bool) {
	l, r, ok := equality(e)
	if !ok {
		return nil, nil, false
	}
	lc, lok := l.(*logical.ColRef)
	rc, rok := r.(*logical.ColRef)
	if !lok || !rok || lc.Col.T != rc.Col.T || lc.Col.ID == rc.Col.ID {
		return nil, nil, false
	}
	return lc, rc, true
}

// impliedEqualities returns the equalities conds imply between columns
// of different leaves (owner gives each column's leaf) that conds do not
// state between those two leaves' columns of the class.
func impliedEqualities(conds []logical.Expr, owner map[logical.ColumnID]int) []logical.Expr {
	classes := &columnClass{parent: map[logical.ColumnID]logical.ColumnID{}}
	refs := map[logical.ColumnID]*logical.ColRef{}
	type leafPair struct{ a, b int }
	stated := map[logical.ColumnID]map[leafPair]bool{} // by class root, after the unions
	var pairs [][2]*logical.ColRef
	for _, e := range conds {
		l, r, ok := columnEquality(e)
		if !ok {
			continue
		}
		lo, lok := owner[l.Col.ID]
		ro, rok := owner[r.Col.ID]
		if !lok || !rok || lo == ro {
			continue
		}
		classes.union(l.Col.ID, r.Col.ID)
		refs[l.Col.ID], refs[r.Col.ID] = l, r
		pairs = append(pairs, [2]*logical.ColRef{l, r})
	}
	for _, p := range pairs {
		root := classes.find(p[0].Col.ID)
		if stated[root] == nil {
			stated[root] = map[leafPair]bool{}
		}
		a, b := owner[p[0].Col.ID], owner[p[1].Col.ID]
		stated[root][leafPair{min(a, b), max(a, b)}] = true
	}
	members := map[logical.ColumnID][]logical.ColumnID{}
	var roots []logical.ColumnID
	for _, p := range pairs {
		for _, c := range p {
			id := c.Col.ID
			root := classes.find(id)
			if _, seen := members[root]; !seen {
				roots = append(roots, root)
			}
			if !containsID(members[root], id) {
				members[root] = append(members[root], id)
			}
		}
	}
	var out []logical.Expr
	for _, root := range roots {
		ids := members[root]
		if len(ids) < 3 || !oneColumnPerInput(ids, owner) {
			continue
		}
		for i := 0; i < len(ids); i++ {
			for j := i + 1; j < len(ids); j++ {
				a, b := owner[ids[i]], owner[ids[j]]
				lp := leafPair{min(a, b), max(a, b)}
				if a == b || stated[root][lp] {
					continue
				}
				stated[root][lp] = true
				out = append(out, eqCall(refs[ids[i]], refs[ids[j]]))
			}
		}
	}
	return out
}

func containsID(ids []logical.ColumnID, id logical.ColumnID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// oneColumnPerInput reports whether no two of the columns ids are of one
// input. Only then are all of a class's columns among some inputs equal
// once any equality joins them: two columns of one input (n_nationkey and
// n_regionkey both equated to c_nationkey) are equal only where the
// query's conditions make them so, each of which must then be applied.
func oneColumnPerInput(ids []logical.ColumnID, owner map[logical.ColumnID]int) bool {
	seen := map[int]bool{}
	for _, id := range ids {
		o := owner[id]
		if seen[o] {
			return false
		}
		seen[o] = true
	}
	return true
}
