package difftest

import (
	"fmt"
	"strings"
)

const (
	maxQueryChecks = 300
	maxDataChecks  = 120
)

// shrink makes a mismatching query, and then the data, as small as it can
// while Weft (in shape si) still disagrees with PostgreSQL in the same
// class.
func (sr *seedRun) shrink(q *query, si int, class, detail string) Mismatch {
	w := sr.wf[si]
	still := func(c *query) (string, answer, bool) {
		sql := c.String()
		pa := sr.pg.run(sql)
		cl, det := compare(pa, w.run(sql), c.ordered(), c.choosesAmongEquals())
		return det, pa, cl == class
	}
	best := q
	_, bestPG, _ := still(q)
	checks := 0
	for improved := true; improved && checks < maxQueryChecks; {
		improved = false
		for _, c := range best.candidates() {
			checks++
			if det, pa, ok := still(c); ok {
				best, detail, bestPG, improved = c, det, pa, true
				break
			}
			if checks >= maxQueryChecks {
				break
			}
		}
	}
	s := sr.shrinkData(best, si, class)
	if s != sr.s {
		// the answers on the smaller data
		if sr2, _, _, err := load(sr.cfg, sr.seed, s, "difftest_shrunk"); err == nil {
			sql := best.String()
			pa := sr2.pg.run(sql)
			if cl, det := compare(pa, sr2.wf[si].run(sql), best.ordered(), best.choosesAmongEquals()); cl == class {
				detail, bestPG = det, pa
			}
			sr2.close(nil)
		}
	}
	return Mismatch{Seed: sr.seed, Shape: sr.cfg.Shapes[si], Class: class, Detail: detail, Statements: s.statements(),
		Query: best.String(), expected: bestPG, ordered: best.ordered()}
}

// shrinkData drops INSERT statements, then rows, while the mismatch stays.
func (sr *seedRun) shrinkData(q *query, si int, class string) *schema {
	sql := q.String()
	reproduces := func(s *schema) bool {
		sr2, loadClass, _, err := load(sr.cfg, sr.seed, s, "difftest_shrink")
		if err != nil {
			return false
		}
		defer sr2.close(nil)
		if loadClass != "" {
			return false
		}
		cl, _ := compare(sr2.pg.run(sql), sr2.wf[si].run(sql), q.ordered(), q.choosesAmongEquals())
		return cl == class
	}
	best := sr.s
	checks := 0
	for i := 0; i < len(best.inserts) && checks < maxDataChecks; {
		c := best.clone()
		c.inserts = append(c.inserts[:i], c.inserts[i+1:]...)
		checks++
		if reproduces(c) {
			best = c
			continue
		}
		i++
	}
	for i := 0; i < len(best.inserts) && checks < maxDataChecks; i++ {
		for j := 0; j < len(best.inserts[i].rows) && len(best.inserts[i].rows) > 1 && checks < maxDataChecks; {
			c := best.clone()
			c.inserts[i].rows = append(c.inserts[i].rows[:j], c.inserts[i].rows[j+1:]...)
			checks++
			if reproduces(c) {
				best = c
				continue
			}
			j++
		}
	}
	return best
}

// candidates lists smaller versions of q, most reducing first.
func (q *query) candidates() []*query {
	var out []*query
	add := func(f func(c *query)) {
		c := q.copy()
		f(c)
		out = append(out, c)
	}
	if q.setOp != "" {
		add(func(c *query) { c.setOp, c.right = "", nil })
	}
	if q.where != nil {
		add(func(c *query) { c.where = nil })
	}
	if q.having != nil {
		add(func(c *query) { c.having = nil })
	}
	if q.limit >= 0 || q.offset > 0 {
		add(func(c *query) { c.limit, c.offset = -1, 0 })
	}
	if q.orderAll && q.limit < 0 && !q.distinctOn {
		add(func(c *query) { c.orderAll = false })
	}
	if q.distinct {
		add(func(c *query) { c.distinct = false })
	}
	if q.distinctOn {
		add(func(c *query) { c.distinctOn = false })
	}
	for i := range q.groupBy {
		add(func(c *query) {
			key := c.groupBy[i].String()
			c.groupBy = append(c.groupBy[:i:i], c.groupBy[i+1:]...)
			c.removeItems(func(e *expr) bool { return e.String() == key })
		})
	}
	if len(q.items) > 1 && q.setOp == "" {
		for i := range q.items {
			add(func(c *query) { c.removeItem(i) })
		}
	}
	// an expression replaced by one of its arguments of the same kind
	for _, root := range q.roots() {
		for _, n := range nodes(root) {
			for _, a := range n.args {
				if a.k == n.k && a != n {
					from, to := n, a
					add(func(c *query) { c.replace(from, to) })
				}
			}
		}
	}
	return out
}

func (q *query) copy() *query {
	c := *q
	c.items = append([]*expr{}, q.items...)
	c.groupBy = append([]*expr{}, q.groupBy...)
	c.desc = append([]bool{}, q.desc...)
	return &c
}

func (q *query) removeItem(i int) {
	q.items = append(q.items[:i:i], q.items[i+1:]...)
	if len(q.desc) > i {
		q.desc = append(q.desc[:i:i], q.desc[i+1:]...)
	}
}

func (q *query) removeItems(drop func(*expr) bool) {
	for i := len(q.items) - 1; i >= 0 && len(q.items) > 1; i-- {
		if drop(q.items[i]) {
			q.removeItem(i)
		}
	}
}

// roots are the expression trees of q itself (not of a set operation's
// right side, whose columns must keep matching).
func (q *query) roots() []*expr {
	out := append([]*expr{}, q.items...)
	out = append(out, q.groupBy...)
	if q.where != nil {
		out = append(out, q.where)
	}
	if q.having != nil {
		out = append(out, q.having)
	}
	return out
}

func nodes(e *expr) []*expr {
	out := []*expr{e}
	for _, a := range e.args {
		out = append(out, nodes(a)...)
	}
	return out
}

// replace puts to where from is, in every expression of q (a group key
// and the select item that repeats it change together).
func (q *query) replace(from, to *expr) {
	sub := func(e *expr) *expr { return substitute(e, from, to) }
	for i := range q.items {
		q.items[i] = sub(q.items[i])
	}
	for i := range q.groupBy {
		q.groupBy[i] = sub(q.groupBy[i])
	}
	if q.where != nil {
		q.where = sub(q.where)
	}
	if q.having != nil {
		q.having = sub(q.having)
	}
}

func substitute(e, from, to *expr) *expr {
	if e == from {
		return to
	}
	if len(e.args) == 0 {
		return e
	}
	c := *e
	c.args = make([]*expr, len(e.args))
	changed := false
	for i, a := range e.args {
		c.args[i] = substitute(a, from, to)
		changed = changed || c.args[i] != a
	}
	if !changed {
		return e
	}
	return &c
}

// slt writes the mismatch as a sqllogictest file whose expected answer is
// PostgreSQL's.
func (m Mismatch) slt() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Found by the differential tester (seed %d, %d partitions, batches of %d): %s\n", m.Seed, m.Shape.Partitions, m.Shape.BatchSize, m.Class)
	sb.WriteString("# Expected results from PostgreSQL 15.\n\n")
	for _, st := range m.Statements {
		fmt.Fprintf(&sb, "statement ok\n%s\n\n", st)
	}
	if m.expected.code != "" {
		fmt.Fprintf(&sb, "statement error %s\n%s\n", m.expected.code, m.Query)
		return sb.String()
	}
	ncols := 1
	if len(m.expected.rows) > 0 {
		ncols = len(m.expected.rows[0])
	}
	sort := "rowsort"
	if m.ordered {
		sort = "nosort"
	}
	fmt.Fprintf(&sb, "query %s %s\n%s\n----\n", strings.Repeat("T", ncols), sort, m.Query)
	var lines []string
	for _, row := range m.expected.rows {
		vals := make([]string, len(row))
		for i, v := range row {
			vals[i] = sltValue(v)
		}
		lines = append(lines, strings.Join(vals, "\t"))
	}
	if !m.ordered {
		sortStrings(lines)
	}
	for _, l := range lines {
		sb.WriteString(l + "\n")
	}
	return sb.String()
}

func sltValue(v *string) string {
	if v == nil {
		return "NULL"
	}
	if *v == "" {
		return "(empty)"
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '@'
		}
		return r
	}, *v)
}
