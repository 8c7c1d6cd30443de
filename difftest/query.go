package difftest

import (
	"fmt"
	"math/rand"
	"strings"
)

// query is a generated SELECT, kept in parts so that it can be shrunk.
type query struct {
	distinct bool
	// distinctOn keeps the first row of each value of the first item
	// (DISTINCT ON, ordered by every column so the first is fixed)
	distinctOn bool
	items      []*expr
	from       string
	where      *expr
	groupBy    []*expr
	having     *expr
	// orderAll orders by every output column (so the order is fixed);
	// desc says which are descending
	orderAll bool
	desc     []bool
	limit    int // -1: none
	offset   int
	// setOp joins this query to right ("UNION", "INTERSECT ALL", …)
	setOp string
	right *query
}

// choosesAmongEquals reports whether the query keeps one of several equal
// values (a set operation, DISTINCT or GROUP BY), so that which of two
// equal intervals (1 mon, 30 days) it shows is open.
func (q *query) choosesAmongEquals() bool {
	return q.setOp != "" || q.distinct || q.distinctOn || len(q.groupBy) > 0
}

// ordered reports whether the query fixes the order of its rows.
func (q *query) ordered() bool { return q.orderAll }

func (q *query) String() string {
	var sb strings.Builder
	q.core(&sb)
	if q.setOp != "" {
		sb.WriteString(" " + q.setOp + " ")
		q.right.core(&sb)
	}
	if q.orderAll {
		var keys []string
		for i := range q.outputKinds() {
			dir := "ASC NULLS LAST"
			if q.desc[i] {
				dir = "DESC NULLS FIRST"
			}
			keys = append(keys, fmt.Sprintf("%d %s", i+1, dir))
		}
		sb.WriteString(" ORDER BY " + strings.Join(keys, ", "))
	}
	if q.limit >= 0 {
		fmt.Fprintf(&sb, " LIMIT %d", q.limit)
	}
	if q.offset > 0 {
		fmt.Fprintf(&sb, " OFFSET %d", q.offset)
	}
	return sb.String()
}

func (q *query) core(sb *strings.Builder) {
	sb.WriteString("SELECT ")
	if q.distinct {
		sb.WriteString("DISTINCT ")
	}
	if q.distinctOn && len(q.items) > 0 {
		sb.WriteString("DISTINCT ON (" + q.items[0].String() + ") ")
	}
	for i, it := range q.items {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(it.String())
	}
	sb.WriteString(" FROM " + q.from)
	if q.where != nil {
		sb.WriteString(" WHERE " + q.where.String())
	}
	if len(q.groupBy) > 0 {
		var keys []string
		for _, g := range q.groupBy {
			keys = append(keys, g.String())
		}
		sb.WriteString(" GROUP BY " + strings.Join(keys, ", "))
	}
	if q.having != nil {
		sb.WriteString(" HAVING " + q.having.String())
	}
}

func (q *query) outputKinds() []kind {
	out := make([]kind, len(q.items))
	for i, it := range q.items {
		out[i] = it.k
	}
	return out
}

// queryGen makes random queries over a schema.
type queryGen struct {
	r *rand.Rand
	s *schema
}

// fromClause picks one table or a join of two, returning the FROM text
// and the columns it brings into scope.
func (qg *queryGen) fromClause(alias string) (string, []scopeCol) {
	r := qg.r
	t := qg.s.tables[r.Intn(len(qg.s.tables))]
	a := alias + "a"
	scope := colsOf(t, a)
	from := t.name + " " + a
	if r.Intn(3) == 0 {
		u := qg.s.tables[r.Intn(len(qg.s.tables))]
		b := alias + "b"
		us := colsOf(u, b)
		join := []string{"JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"}[r.Intn(5)]
		on := ""
		if join != "CROSS JOIN" {
			on = " ON " + joinCond(r, scope, us)
			if on == " ON " {
				on = " ON true"
			}
		}
		from += " " + join + " " + u.name + " " + b + on
		scope = append(scope, us...)
	}
	return from, scope
}

func colsOf(t *table, alias string) []scopeCol {
	var out []scopeCol
	for _, c := range t.cols {
		out = append(out, scopeCol{ref: alias + "." + c.name, k: c.typ.k})
	}
	return out
}

// joinCond equates a column of each side of the same kind (or is empty).
func joinCond(r *rand.Rand, l, rt []scopeCol) string {
	var pairs []string
	for _, a := range l {
		for _, b := range rt {
			if a.k == b.k && a.k != kInterval && a.k != kFloat {
				pairs = append(pairs, a.ref+" = "+b.ref)
			}
		}
	}
	if len(pairs) == 0 {
		return ""
	}
	return pairs[r.Intn(len(pairs))]
}

// subquery makes an uncorrelated or correlated subquery for position k:
// a scalar (one aggregate value) or, for kBool, an IN or EXISTS test.
func (qg *queryGen) subquery(outer []scopeCol) func(k kind, depth int) string {
	return func(k kind, depth int) string {
		r := qg.r
		if depth > 1 || r.Intn(3) > 0 {
			return ""
		}
		t := qg.s.tables[r.Intn(len(qg.s.tables))]
		inner := colsOf(t, "s")
		g := &exprGen{r: r, scope: inner}
		where := ""
		if r.Intn(2) == 0 {
			// correlate on a column of the same kind, when there is one
			if c := joinCond(r, outer, inner); c != "" {
				where = " WHERE " + c
			} else {
				where = " WHERE " + g.pred(1).String()
			}
		}
		if k == kBool {
			ik := []kind{kInt, kText}[r.Intn(2)]
			col := g.colOf(ik)
			og := &exprGen{r: r, scope: outer}
			ocol := og.colOf(ik)
			if col == nil || ocol == nil || r.Intn(2) == 0 {
				not := map[bool]string{true: "NOT ", false: ""}[r.Intn(3) == 0]
				return fmt.Sprintf("(%sEXISTS (SELECT 1 FROM %s s%s))", not, t.name, where)
			}
			not := map[bool]string{true: "NOT ", false: ""}[r.Intn(3) == 0]
			return fmt.Sprintf("(%s %sIN (SELECT %s FROM %s s%s))", ocol, not, col, t.name, where)
		}
		col := g.colOf(k)
		if col == nil {
			return ""
		}
		agg := "max"
		if k == kInt && r.Intn(2) == 0 {
			return fmt.Sprintf("SELECT CAST(count(%s) AS int) FROM %s s%s", col, t.name, where)
		}
		if r.Intn(2) == 0 {
			agg = "min"
		}
		return fmt.Sprintf("SELECT %s(%s) FROM %s s%s", agg, col, t.name, where)
	}
}

// gen makes one query.
func (qg *queryGen) gen() *query {
	r := qg.r
	if r.Intn(6) == 0 {
		return qg.setOperation()
	}
	q := qg.simple("")
	qg.finish(q)
	return q
}

// finish adds ORDER BY (of every column), LIMIT and OFFSET.
func (qg *queryGen) finish(q *query) {
	r := qg.r
	q.limit = -1
	if r.Intn(2) == 0 || q.distinctOn {
		q.orderAll = true
		q.desc = make([]bool, len(q.items))
		for i := range q.desc {
			q.desc[i] = r.Intn(3) == 0
		}
		if r.Intn(2) == 0 {
			q.limit = r.Intn(6)
			if r.Intn(2) == 0 {
				q.offset = r.Intn(4)
			}
		}
	}
}

// simple makes a query without a set operation: plain, grouped or with
// window functions.
func (qg *queryGen) simple(alias string) *query {
	r := qg.r
	from, scope := qg.fromClause(alias)
	g := &exprGen{r: r, scope: scope}
	g.sub = qg.subquery(scope)
	q := &query{from: from, limit: -1}
	if r.Intn(3) > 0 {
		q.where = g.pred(2)
	}
	switch r.Intn(4) {
	case 0, 1:
		for i := 0; i < 1+r.Intn(3); i++ {
			q.items = append(q.items, g.gen(qg.outKind(), 2))
		}
		q.distinct = r.Intn(4) == 0
		// (not over a subquery: Weft binds the DISTINCT ON item and the
		// select item apart, and two bindings of a subquery differ, so it
		// refuses them as not matching; a known gap)
		// (nor over a constant: DISTINCT ON (2) names the second item)
		first := q.items[0]
		q.distinctOn = !q.distinct && r.Intn(6) == 0 && !strings.Contains(first.String(), "SELECT") &&
			(len(first.args) > 0 || strings.Contains(first.format, "."))
	case 2:
		qg.grouped(q, g)
	default:
		for i := 0; i < 1+r.Intn(2); i++ {
			q.items = append(q.items, g.gen(qg.outKind(), 1))
		}
		q.items = append(q.items, qg.window(g))
	}
	return q
}

func (qg *queryGen) outKind() kind {
	return kind(qg.r.Intn(int(nKinds)))
}

// grouped fills q with GROUP BY keys, aggregates and perhaps HAVING.
func (qg *queryGen) grouped(q *query, g *exprGen) {
	r := qg.r
	nk := r.Intn(3)
	// keys without subqueries, and never a bare constant (GROUP BY 2
	// names a select-list position)
	kg := &exprGen{r: r, scope: g.scope}
	for i := 0; i < nk; i++ {
		k := kg.gen(qg.outKind(), 1)
		if len(k.args) == 0 && !strings.Contains(k.format, ".") {
			if k = kg.colOf(kInt); k == nil {
				continue
			}
		}
		q.groupBy = append(q.groupBy, k)
		q.items = append(q.items, k)
	}
	for i := 0; i < 1+r.Intn(3); i++ {
		q.items = append(q.items, qg.aggregate(g))
	}
	if r.Intn(3) == 0 {
		q.having = node("(%s > %s)", kBool, leaf("count(*)", kInt), leaf(fmt.Sprint(r.Intn(3)), kInt))
	}
}

// aggregate makes an aggregate call, sometimes DISTINCT or with FILTER.
func (qg *queryGen) aggregate(g *exprGen) *expr {
	r := qg.r
	var e *expr
	switch r.Intn(9) {
	case 0:
		e = leaf("count(*)", kInt)
	case 1:
		e = node("count(%s)", kInt, g.gen(qg.outKind(), 1))
	case 2:
		e = node("count(DISTINCT %s)", kInt, g.gen(qg.outKind(), 1))
	case 3:
		k := []kind{kInt, kNum, kFloat, kInterval}[r.Intn(4)]
		e = node("sum(%s)", k, g.gen(k, 1))
		if k == kInt {
			e.k = kNum // sum(bigint) is numeric
		}
	case 4:
		k := []kind{kInt, kNum}[r.Intn(2)]
		e = node("round(avg(%s)%s, 6)", kNum, g.gen(k, 1), qg.filter(g))
	case 5:
		k := []kind{kInt, kNum, kText, kDate, kTs, kInterval, kFloat, kTsTz}[r.Intn(8)]
		e = node([]string{"min(%s)", "max(%s)"}[r.Intn(2)], k, g.gen(k, 1))
	case 6:
		x := g.gen(kText, 1)
		e = node("string_agg(%s, ',' ORDER BY %s)", kText, x, x)
	case 7:
		e = node([]string{"bool_and(%s)", "bool_or(%s)"}[r.Intn(2)], kBool, g.pred(1))
	default:
		// a column: array_agg of an untyped literal is ambiguous in
		// PostgreSQL (42725) and Weft takes it as text
		x := g.colOf([]kind{kInt, kText}[r.Intn(2)])
		if x == nil {
			x = leaf("1", kInt)
		}
		e = node("array_length(array_agg(DISTINCT %s), 1)", kInt, x)
	}
	e.agg = true
	if r.Intn(4) == 0 && strings.HasSuffix(e.format, ")") && !strings.Contains(e.format, "DISTINCT") && !strings.HasPrefix(e.format, "round") {
		e = &expr{format: e.format + "%s", args: append(append([]*expr{}, e.args...), qg.filter(g)), k: e.k, agg: true}
	}
	return e
}

// filter is an aggregate's FILTER clause, or nothing.
func (qg *queryGen) filter(g *exprGen) *expr {
	if qg.r.Intn(4) > 0 {
		return leaf("", kBool)
	}
	return node(" FILTER (WHERE %s)", kBool, g.pred(1))
}

// window makes a window function call whose value does not depend on the
// order of ties (ranks and aggregates over peers, never row_number).
func (qg *queryGen) window(g *exprGen) *expr {
	r := qg.r
	// window keys are columns: a constant there says nothing
	part := ""
	if c := g.colOf(qg.outKind()); c != nil && r.Intn(2) == 0 {
		part = "PARTITION BY " + c.String()
	}
	order := ""
	if c := g.colOf([]kind{kInt, kText, kDate}[r.Intn(3)]); c != nil && r.Intn(3) > 0 {
		order = " ORDER BY " + c.String() + []string{"", " DESC", " NULLS FIRST"}[r.Intn(3)]
	}
	over := " OVER (" + strings.TrimSpace(part+order) + ")"
	var e *expr
	switch r.Intn(6) {
	case 0:
		e = leaf("rank()"+over, kInt)
	case 1:
		e = leaf("dense_rank()"+over, kInt)
	case 2:
		e = leaf("count(*)"+over, kInt)
	case 3:
		e = node("sum(%s)"+over, kNum, g.gen(kInt, 0))
	case 4:
		k := []kind{kInt, kText, kDate}[r.Intn(3)]
		e = node([]string{"min(%s)", "max(%s)"}[r.Intn(2)]+over, k, g.gen(k, 0))
	default:
		e = node("count(%s)"+over, kInt, g.gen(qg.outKind(), 0))
	}
	e.agg = true
	return e
}

// setOperation combines two plain queries whose columns have the same kinds.
func (qg *queryGen) setOperation() *query {
	r := qg.r
	left := qg.simple("l")
	for left.groupBy != nil || hasAgg(left.items) {
		left = qg.simple("l")
	}
	kinds := left.outputKinds()
	from, scope := qg.fromClause("r")
	g := &exprGen{r: r, scope: scope}
	right := &query{from: from, limit: -1}
	if r.Intn(2) == 0 {
		right.where = g.pred(2)
	}
	for _, k := range kinds {
		right.items = append(right.items, g.gen(k, 1))
	}
	left.setOp = []string{"UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"}[r.Intn(6)]
	left.right = right
	left.distinct, left.distinctOn = false, false
	qg.finish(left)
	return left
}

func hasAgg(items []*expr) bool {
	for _, it := range items {
		if it.agg {
			return true
		}
	}
	return false
}
