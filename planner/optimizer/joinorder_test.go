package optimizer

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// testSchema builds tables of int8 columns whose values are functions of
// the row number, and logical plans over them.
type testSchema struct {
	t      *testing.T
	mem    *memory.CheckedAllocator
	cat    *catalog.Catalog
	nextID logical.ColumnID
	cols   map[string]logical.Column // "table.column" of the scans made
}

func newTestSchema(t *testing.T) *testSchema {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	s := &testSchema{t: t, mem: mem, cat: catalog.New(mem, 2), cols: map[string]logical.Column{}}
	t.Cleanup(func() {
		s.cat.Close()
		mem.AssertSize(t, 0)
	})
	return s
}

// table adds a table of rows rows; gen gives column values by row number
// (a nil *int64 is NULL). A column named in key is the primary key.
func (s *testSchema) table(name string, rows int, key string, gens map[string]func(i int) *int64) {
	names := make([]string, 0, len(gens))
	for n := range gens {
		names = append(names, n)
	}
	sort.Strings(names)
	cols := make([]catalog.Column, len(names))
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		cols[i] = catalog.Column{Name: n, Type: types.Int8T}
		fields[i] = arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	}
	tab, err := s.cat.CreateTable("public", name, cols, false)
	if err != nil {
		s.t.Fatal(err)
	}
	for i, n := range names {
		if n == key {
			tab.Keys = append(tab.Keys, catalog.Key{Name: name + "_pkey", Columns: []int{i}, Primary: true})
		}
	}
	schema := arrow.NewSchema(fields, nil)
	var parts [][]arrow.Record
	const batch = 4096
	for start := 0; start < rows; start += batch {
		b := array.NewRecordBuilder(s.mem, schema)
		for c, n := range names {
			fb := b.Field(c).(*array.Int64Builder)
			for i := start; i < min(rows, start+batch); i++ {
				if v := gens[n](i); v != nil {
					fb.Append(*v)
				} else {
					fb.AppendNull()
				}
			}
		}
		parts = append(parts, []arrow.Record{b.NewRecord()})
		b.Release()
	}
	tab.Lock()
	tab.Replace(parts)
	tab.Unlock()
}

func val(v int) *int64 { x := int64(v); return &x }

// scan is a scan of every column of a table.
func (s *testSchema) scan(name string) *logical.Scan {
	tab, _, ok := s.cat.Lookup("public", name, nil)
	if !ok {
		s.t.Fatalf("no table %s", name)
	}
	sc := &logical.Scan{Table: tab}
	for i, c := range tab.Columns {
		s.nextID++
		col := logical.Column{ID: s.nextID, Name: c.Name, Table: name, T: c.Type}
		sc.Cols = append(sc.Cols, col)
		sc.Ords = append(sc.Ords, i)
		s.cols[name+"."+c.Name] = col
	}
	return sc
}

func (s *testSchema) col(ref string) logical.Expr {
	c, ok := s.cols[ref]
	if !ok {
		s.t.Fatalf("no column %s", ref)
	}
	return &logical.ColRef{Col: c}
}

func call(name string, l, r logical.Expr) logical.Expr {
	return &logical.Call{Name: name, Args: []logical.Expr{l, r}, T: types.BoolT, Infix: true}
}

func intConst(v int) logical.Expr { return &logical.Const{Value: int64(v), T: types.Int8T} }

// eq is `a = b` over "table.column" names.
func (s *testSchema) eq(a, b string) logical.Expr { return call("=", s.col(a), s.col(b)) }

// from is the plan the binder makes of FROM t1, t2, … WHERE conds: a
// left-deep cross product in FROM order under one filter.
func from(where []logical.Expr, scans ...logical.Plan) logical.Plan {
	p := scans[0]
	for _, sc := range scans[1:] {
		p = &logical.Join{Kind: logical.InnerJoin, Left: p, Right: sc}
	}
	return &logical.Filter{Input: p, Cond: logical.JoinAnd(where)}
}

// joinSets lists, for every join of p, the sorted names of the tables
// below it.
func joinSets(p logical.Plan) []string {
	var out []string
	var tables func(p logical.Plan) []string
	tables = func(p logical.Plan) []string {
		if sc, ok := p.(*logical.Scan); ok {
			return []string{sc.Table.Name}
		}
		var ts []string
		for _, c := range p.Children() {
			ts = append(ts, tables(c)...)
		}
		if _, ok := p.(*logical.Join); ok {
			sorted := append([]string{}, ts...)
			sort.Strings(sorted)
			out = append(out, strings.Join(sorted, ","))
		}
		return ts
	}
	tables(p)
	return out
}

// tpchLike loads the tables of TPC-H's q05 and q07 at scale factor 0.1
// (region 5, nation 25, supplier 1,000, customer 15,000, orders 150,000,
// lineitem 600,000), keys spread as dbgen spreads them. (At much smaller
// scales joining customer and supplier first is in fact the cheaper plan.)
func tpchLike(t *testing.T) *testSchema {
	s := newTestSchema(t)
	s.table("region", 5, "r_regionkey", map[string]func(int) *int64{
		"r_regionkey": func(i int) *int64 { return val(i) },
	})
	s.table("nation", 25, "n_nationkey", map[string]func(int) *int64{
		"n_nationkey": func(i int) *int64 { return val(i) },
		"n_regionkey": func(i int) *int64 { return val(i % 5) },
	})
	s.table("supplier", 1000, "s_suppkey", map[string]func(int) *int64{
		"s_suppkey":   func(i int) *int64 { return val(i) },
		"s_nationkey": func(i int) *int64 { return val(i * 7 % 25) },
	})
	s.table("customer", 15000, "c_custkey", map[string]func(int) *int64{
		"c_custkey":   func(i int) *int64 { return val(i) },
		"c_nationkey": func(i int) *int64 { return val(i * 11 % 25) },
	})
	s.table("orders", 150000, "o_orderkey", map[string]func(int) *int64{
		"o_orderkey":  func(i int) *int64 { return val(i) },
		"o_custkey":   func(i int) *int64 { return val(i * 31 % 15000) },
		"o_orderdate": func(i int) *int64 { return val(i * 17 % 2400) },
	})
	s.table("lineitem", 600000, "", map[string]func(int) *int64{
		"l_orderkey":   func(i int) *int64 { return val(i / 4) },
		"l_suppkey":    func(i int) *int64 { return val(i * 13 % 1000) },
		"l_shipdate":   func(i int) *int64 { return val(i * 7 % 2400) },
		"l_extprice":   func(i int) *int64 { return val(i % 1000) },
		"l_linenumber": func(i int) *int64 { return val(i % 4) },
	})
	return s
}

// q05 is TPC-H q05's join: customer, orders, lineitem, supplier, nation,
// region with customer and supplier in the same nation.
func q05(s *testSchema) logical.Plan {
	scans := []logical.Plan{s.scan("customer"), s.scan("orders"), s.scan("lineitem"), s.scan("supplier"), s.scan("nation"), s.scan("region")}
	return from([]logical.Expr{
		s.eq("customer.c_custkey", "orders.o_custkey"),
		s.eq("lineitem.l_orderkey", "orders.o_orderkey"),
		s.eq("lineitem.l_suppkey", "supplier.s_suppkey"),
		s.eq("customer.c_nationkey", "supplier.s_nationkey"),
		s.eq("supplier.s_nationkey", "nation.n_nationkey"),
		s.eq("nation.n_regionkey", "region.r_regionkey"),
		call("=", s.col("region.r_regionkey"), intConst(2)),
		call(">=", s.col("orders.o_orderdate"), intConst(700)),
		call("<", s.col("orders.o_orderdate"), intConst(1065)),
	}, scans...)
}

// q07 is TPC-H q07's join: supplier, lineitem, orders, customer and nation
// twice, supplier's nation one of two and customer's the other.
func q07(s *testSchema) logical.Plan {
	n1, n2 := s.scan("nation"), s.scan("nation")
	n1k := &logical.ColRef{Col: n1.Cols[0]}
	n2k := &logical.ColRef{Col: n2.Cols[0]}
	scans := []logical.Plan{s.scan("supplier"), s.scan("lineitem"), s.scan("orders"), s.scan("customer"), n1, n2}
	pair := func(a, b int) logical.Expr {
		return &logical.Bool{And: true, Args: []logical.Expr{call("=", n1k, intConst(a)), call("=", n2k, intConst(b))}}
	}
	return from([]logical.Expr{
		s.eq("supplier.s_suppkey", "lineitem.l_suppkey"),
		s.eq("orders.o_orderkey", "lineitem.l_orderkey"),
		s.eq("customer.c_custkey", "orders.o_custkey"),
		call("=", s.col("supplier.s_nationkey"), n1k),
		call("=", s.col("customer.c_nationkey"), n2k),
		&logical.Bool{Args: []logical.Expr{pair(6, 7), pair(7, 6)}},
		call(">=", s.col("lineitem.l_shipdate"), intConst(100)),
		call("<=", s.col("lineitem.l_shipdate"), intConst(830)),
	}, scans...)
}

func optimize(t *testing.T, p logical.Plan) logical.Plan {
	t.Helper()
	out, err := Optimize(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJoinOrderAvoidsManyToMany checks that TPC-H's q05 and q07 never join
// customer with supplier (on their nation, many to many) before orders
// and lineitem have narrowed both down.
func TestJoinOrderAvoidsManyToMany(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query func(*testSchema) logical.Plan
	}{
		{"q05", q05},
		{"q07", q07},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tpchLike(t)
			plan := optimize(t, tc.query(s))
			sets := joinSets(plan)
			if len(sets) == 0 {
				t.Fatalf("no joins in\n%s", logical.Format(plan))
			}
			for _, set := range sets {
				has := func(name string) bool { return strings.Contains(","+set+",", ","+name+",") }
				if has("customer") && has("supplier") && !(has("orders") && has("lineitem")) {
					t.Errorf("join of %s builds customer × supplier before orders:\n%s", set, logical.Format(plan))
				}
			}
			assertNoCrossProduct(t, plan)
		})
	}
}

// assertNoCrossProduct fails on a join without any condition.
func assertNoCrossProduct(t *testing.T, p logical.Plan) {
	t.Helper()
	if j, ok := p.(*logical.Join); ok && j.Cond == nil && len(j.LeftKeys) == 0 {
		t.Errorf("cross product:\n%s", logical.Format(p))
	}
	for _, c := range p.Children() {
		assertNoCrossProduct(t, c)
	}
}

// chain makes tables c0 … c(n-1), each joined to the next by ci.nx =
// c(i+1).id, the larger ones first in FROM, so that FROM order alone
// would cross join.
func chain(t *testing.T, n int) (*testSchema, logical.Plan) {
	s := newTestSchema(t)
	var scans []logical.Plan
	var where []logical.Expr
	for i := 0; i < n; i++ {
		rows := 10 + 7*i
		s.table(fmt.Sprintf("c%d", i), rows, "id", map[string]func(int) *int64{
			"id": func(r int) *int64 { return val(r) },
			"nx": func(r int) *int64 {
				if r%5 == 4 {
					return nil // NULL keys never join
				}
				return val(r % (rows + 7))
			},
		})
	}
	// FROM order: evens then odds, so no two neighbours are adjacent
	for _, step := range []int{0, 1} {
		for i := step; i < n; i += 2 {
			scans = append(scans, s.scan(fmt.Sprintf("c%d", i)))
		}
	}
	for i := 0; i+1 < n; i++ {
		where = append(where, s.eq(fmt.Sprintf("c%d.nx", i), fmt.Sprintf("c%d.id", i+1)))
	}
	return s, from(where, scans...)
}

// TestJoinOrderConnected checks that a chain of joins written in an order
// that would cross join is planned without a cross product, both by the
// exhaustive search and by the greedy one beyond dpMaxLeaves.
func TestJoinOrderConnected(t *testing.T) {
	for _, n := range []int{3, 6, dpMaxLeaves, dpMaxLeaves + 3, 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			_, p := chain(t, n)
			plan := optimize(t, p)
			assertNoCrossProduct(t, plan)
			if got := len(joinSets(plan)); got != n-1 {
				t.Errorf("%d joins, want %d:\n%s", got, n-1, logical.Format(plan))
			}
		})
	}
}

// TestJoinOrderComponents checks that inputs no condition relates are
// cross joined only after each related group is joined.
func TestJoinOrderComponents(t *testing.T) {
	s := newTestSchema(t)
	for _, name := range []string{"a", "b", "c", "d"} {
		s.table(name, 50, "id", map[string]func(int) *int64{
			"id": func(r int) *int64 { return val(r) },
		})
	}
	scans := []logical.Plan{s.scan("a"), s.scan("b"), s.scan("c"), s.scan("d")}
	p := from([]logical.Expr{s.eq("a.id", "c.id"), s.eq("b.id", "d.id")}, scans...)
	plan := optimize(t, p)
	sets := joinSets(plan)
	want := []string{"a,c", "b,d", "a,b,c,d"}
	sort.Strings(sets)
	sort.Strings(want)
	if strings.Join(sets, " ") != strings.Join(want, " ") {
		t.Errorf("joins %v, want %v:\n%s", sets, want, logical.Format(plan))
	}
}

// TestJoinOrderKeepsColumns checks that reordering keeps the output
// columns and every condition.
func TestJoinOrderKeepsColumns(t *testing.T) {
	s := tpchLike(t)
	p := q05(s)
	want := p.Columns()
	got := reorderJoins(pushDownFilters(p))
	if !sameColumns(want, got.Columns()) {
		t.Fatalf("columns changed:\n%s", logical.Format(got))
	}
	conds := 0
	var count func(p logical.Plan)
	count = func(p logical.Plan) {
		switch n := p.(type) {
		case *logical.Join:
			if n.Cond != nil {
				conds += len(logical.SplitAnd(n.Cond))
			}
		case *logical.Filter:
			conds += len(logical.SplitAnd(n.Cond))
		}
		for _, c := range p.Children() {
			count(c)
		}
	}
	count(got)
	if conds != 9 {
		t.Errorf("%d conditions in the plan, want 9:\n%s", conds, logical.Format(got))
	}
}

// TestImpliedEqualityJoinsCustomerToNation: in q05 c_nationkey equals
// n_nationkey through s_nationkey; the implied equality lets customer
// meet the region's nations first (the join below orders and lineitem),
// and the join with supplier then applies one equality of the nation
// class, not both it holds.
func TestImpliedEqualityJoinsCustomerToNation(t *testing.T) {
	s := tpchLike(t)
	plan := optimize(t, q05(s))
	sets := joinSets(plan)
	found := false
	for _, set := range sets {
		if set == "customer,nation,region" {
			found = true
		}
	}
	if !found {
		t.Errorf("no join of customer with nation and region alone; joins %v:\n%s", sets, logical.Format(plan))
	}
	assertNoCrossProduct(t, plan)
	nationKeys := map[logical.ColumnID]bool{}
	for _, ref := range []string{"customer.c_nationkey", "supplier.s_nationkey", "nation.n_nationkey"} {
		nationKeys[s.col(ref).(*logical.ColRef).Col.ID] = true
	}
	var visit func(p logical.Plan)
	visit = func(p logical.Plan) {
		if j, ok := p.(*logical.Join); ok {
			n := 0
			for i := range j.LeftKeys {
				l, lok := j.LeftKeys[i].(*logical.ColRef)
				r, rok := j.RightKeys[i].(*logical.ColRef)
				if lok && rok && nationKeys[l.Col.ID] && nationKeys[r.Col.ID] {
					n++
				}
			}
			if n > 1 {
				t.Errorf("a join applies %d equalities of the nation keys:\n%s", n, logical.Format(p))
			}
		}
		for _, c := range p.Children() {
			visit(c)
		}
	}
	visit(plan)
}

// TestImpliedEqualities: the equalities a chain of column equalities
// implies between inputs, none between inputs already equated, none over
// columns of different types.
func TestImpliedEqualities(t *testing.T) {
	col := func(id int, tt types.T) *logical.ColRef {
		return &logical.ColRef{Col: logical.Column{ID: logical.ColumnID(id), Name: fmt.Sprint("c", id), T: tt}}
	}
	a, b, c, d := col(1, types.Int8T), col(2, types.Int8T), col(3, types.Int8T), col(4, types.Int4T)
	owner := map[logical.ColumnID]int{1: 0, 2: 1, 3: 2, 4: 3}
	got := impliedEqualities([]logical.Expr{eqCall(a, b), eqCall(b, c), call("=", c, d)}, owner)
	if len(got) != 1 || got[0].String() != eqCall(a, c).String() {
		t.Errorf("implied %v, want only (c1 = c3)", got)
	}
	// two columns of one input in a class: nothing implied (they are
	// equal only where the conditions say, each applied)
	e := col(5, types.Int8T)
	owner[5] = 2
	if got := impliedEqualities([]logical.Expr{eqCall(a, b), eqCall(b, c), eqCall(e, a)}, owner); len(got) != 0 {
		t.Errorf("implied %v from a class with two columns of one input", got)
	}
	// a triangle already stated implies nothing new
	if got := impliedEqualities([]logical.Expr{eqCall(a, b), eqCall(b, c), eqCall(a, c)}, owner); len(got) != 0 {
		t.Errorf("implied %v from a stated triangle", got)
	}
}
