package difftest

import (
	"fmt"
	"math/rand"
	"strings"
)

// expr is a generated SQL expression: a format with one %s per argument.
// Keeping the tree (not just its text) lets a failing query be shrunk by
// replacing a node with one of its arguments of the same kind.
type expr struct {
	format string
	args   []*expr
	k      kind
	// agg marks an aggregate or window call (not to be nested in another)
	agg bool
}

func (e *expr) String() string {
	if len(e.args) == 0 {
		return e.format
	}
	parts := make([]any, len(e.args))
	for i, a := range e.args {
		parts[i] = a.String()
	}
	return fmt.Sprintf(e.format, parts...)
}

func leaf(text string, k kind) *expr { return &expr{format: text, k: k} }

func node(format string, k kind, args ...*expr) *expr { return &expr{format: format, k: k, args: args} }

// scopeCol is a column a query can name.
type scopeCol struct {
	ref string
	k   kind
}

// exprGen makes random expressions over the columns in scope.
type exprGen struct {
	r     *rand.Rand
	scope []scopeCol
	// sub, when set, makes a subquery for IN, EXISTS and scalar positions
	sub func(k kind, depth int) string
}

func (g *exprGen) colOf(k kind) *expr {
	var cands []scopeCol
	for _, c := range g.scope {
		if c.k == k {
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	c := cands[g.r.Intn(len(cands))]
	return leaf(c.ref, k)
}

func (g *exprGen) constOf(k kind) *expr {
	r := g.r
	switch k {
	case kInt:
		return leaf(fmt.Sprint(r.Intn(21)-10), kInt)
	case kNum:
		// two decimals, the scale of the numeric(10,2) columns: Weft keeps
		// one scale per numeric column, where PostgreSQL's unconstrained
		// numeric keeps each value's own (4.0 UNION 1.25 gives 4.0 and
		// 1.25 there, 4.00 and 1.25 in Weft); a known difference
		return leaf(fmt.Sprintf("%d.%d5", r.Intn(20)-10, r.Intn(10)), kNum)
	case kFloat:
		return leaf(fmt.Sprintf("%d.5::float8", r.Intn(20)-10), kFloat)
	case kText:
		return leaf(quote(words[r.Intn(len(words))]), kText)
	case kBool:
		return leaf([]string{"true", "false", "NULL::boolean"}[r.Intn(3)], kBool)
	case kDate:
		return leaf(fmt.Sprintf("DATE '2024-%02d-15'", 1+r.Intn(12)), kDate)
	case kTs:
		return leaf(fmt.Sprintf("TIMESTAMP '2024-%02d-10 12:00:00'", 1+r.Intn(12)), kTs)
	case kInterval:
		return leaf([]string{"INTERVAL '1 day'", "INTERVAL '90 minutes'", "INTERVAL '1 mon'"}[r.Intn(3)], kInterval)
	case kTsTz:
		return leaf(fmt.Sprintf("TIMESTAMPTZ '2024-%02d-30 01:30:00'", []int{3, 10, 6}[r.Intn(3)]), kTsTz)
	}
	return leaf("NULL", k)
}

// gen makes an expression of kind k no deeper than depth.
func (g *exprGen) gen(k kind, depth int) *expr {
	if depth <= 0 || g.r.Intn(3) == 0 {
		if c := g.colOf(k); c != nil && g.r.Intn(4) > 0 {
			return c
		}
		return g.constOf(k)
	}
	d := depth - 1
	switch k {
	case kInt:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("(%s - %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("(%s * %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("(%s / %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("(%s %% %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("abs(%s)", kInt, g.gen(kInt, d)) },
			func() *expr { return node("length(%s)", kInt, g.gen(kText, d)) },
			func() *expr { return node("CAST(extract(month FROM %s) AS int)", kInt, g.gen(kDate, d)) },
			func() *expr { return node("(%s - %s)", kInt, g.gen(kDate, d), g.gen(kDate, d)) },
			func() *expr { return node("CAST(extract(hour FROM %s) AS int)", kInt, g.gen(kTsTz, d)) },
			func() *expr { return node("(CAST(%s AS date) - DATE '2024-01-01')", kInt, g.gen(kTsTz, d)) },
			func() *expr { return node("CAST(%s AS int)", kInt, g.gen(kNum, d)) },
			func() *expr { return g.caseOf(kInt, d) },
			func() *expr { return node("COALESCE(%s, %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("NULLIF(%s, %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return node("greatest(%s, %s)", kInt, g.gen(kInt, d), g.gen(kInt, d)) },
			func() *expr { return g.scalarSub(kInt, d) },
		})
	case kNum:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kNum, g.gen(kNum, d), g.gen(kNum, d)) },
			func() *expr { return node("(%s * %s)", kNum, g.gen(kNum, d), g.gen(kInt, d)) },
			func() *expr { return node("round(%s, 2)", kNum, g.gen(kNum, d)) },
			func() *expr { return node("abs(%s)", kNum, g.gen(kNum, d)) },
			func() *expr { return node("CAST(%s AS numeric(10,2))", kNum, g.gen(kInt, d)) },
			func() *expr { return node("COALESCE(%s, %s)", kNum, g.gen(kNum, d), g.gen(kNum, d)) },
		})
	case kFloat:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kFloat, g.gen(kFloat, d), g.gen(kFloat, d)) },
			func() *expr { return node("(%s * %s)", kFloat, g.gen(kFloat, d), g.gen(kFloat, d)) },
			func() *expr { return node("CAST(%s AS float8)", kFloat, g.gen(kInt, d)) },
			func() *expr { return node("abs(%s)", kFloat, g.gen(kFloat, d)) },
		})
	case kText:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s || %s)", kText, g.gen(kText, d), g.gen(kText, d)) },
			func() *expr { return node("upper(%s)", kText, g.gen(kText, d)) },
			func() *expr { return node("lower(%s)", kText, g.gen(kText, d)) },
			func() *expr { return node("substr(%s, 2)", kText, g.gen(kText, d)) },
			func() *expr { return node("replace(%s, 'a', 'q')", kText, g.gen(kText, d)) },
			func() *expr { return node("trim(%s)", kText, g.gen(kText, d)) },
			func() *expr { return node("CAST(%s AS text)", kText, g.gen(kInt, d)) },
			func() *expr { return g.caseOf(kText, d) },
			func() *expr { return node("COALESCE(%s, %s)", kText, g.gen(kText, d), g.gen(kText, d)) },
		})
	case kBool:
		return g.pred(d)
	case kDate:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kDate, g.gen(kDate, d), g.constOf(kInt)) },
			func() *expr { return node("CAST(date_trunc('month', %s) AS date)", kDate, g.gen(kDate, d)) },
		})
	case kTs:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kTs, g.gen(kTs, d), g.gen(kInterval, d)) },
			func() *expr { return node("date_trunc('day', %s)", kTs, g.gen(kTs, d)) },
			func() *expr { return node("CAST(%s AS timestamp)", kTs, g.gen(kDate, d)) },
			func() *expr { return node("(%s AT TIME ZONE 'UTC')", kTs, g.gen(kTsTz, d)) },
			func() *expr { return node("CAST(%s AS timestamp)", kTs, g.gen(kTsTz, d)) },
		})
	case kTsTz:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kTsTz, g.gen(kTsTz, d), g.gen(kInterval, d)) },
			func() *expr { return node("date_trunc('day', %s)", kTsTz, g.gen(kTsTz, d)) },
			func() *expr { return node("date_trunc('month', %s)", kTsTz, g.gen(kTsTz, d)) },
			func() *expr { return node("CAST(%s AS timestamptz)", kTsTz, g.gen(kTs, d)) },
			func() *expr { return node("(%s AT TIME ZONE 'Asia/Tokyo')", kTsTz, g.gen(kTs, d)) },
		})
	case kInterval:
		return g.pick(d, k, []func() *expr{
			func() *expr { return node("(%s + %s)", kInterval, g.gen(kInterval, d), g.gen(kInterval, d)) },
			func() *expr { return node("(%s - %s)", kInterval, g.gen(kTs, d), g.gen(kTs, d)) },
		})
	}
	return g.constOf(k)
}

func (g *exprGen) pick(d int, k kind, fs []func() *expr) *expr {
	if e := fs[g.r.Intn(len(fs))](); e != nil {
		return e
	}
	return g.constOf(k)
}

func (g *exprGen) caseOf(k kind, d int) *expr {
	if g.r.Intn(2) == 0 {
		return node("CASE WHEN %s THEN %s ELSE %s END", k, g.pred(d), g.gen(k, d), g.gen(k, d))
	}
	return node("CASE WHEN %s THEN %s END", k, g.pred(d), g.gen(k, d))
}

func (g *exprGen) scalarSub(k kind, d int) *expr {
	if g.sub == nil {
		return nil
	}
	s := g.sub(k, d)
	if s == "" {
		return nil
	}
	return leaf("("+s+")", k)
}

var cmpOps = []string{"=", "<>", "<", "<=", ">", ">="}

// comparable kinds: everything but bool is compared by value
func (g *exprGen) anyKind() kind {
	for {
		k := kind(g.r.Intn(int(nKinds)))
		if k != kBool {
			return k
		}
	}
}

// pred makes a boolean expression.
func (g *exprGen) pred(d int) *expr {
	r := g.r
	if d < 0 {
		d = 0
	}
	switch r.Intn(12) {
	case 0, 1, 2:
		k := g.anyKind()
		if k == kInterval || k == kFloat && r.Intn(2) == 0 {
			k = kInt
		}
		return node("(%s "+cmpOps[r.Intn(len(cmpOps))]+" %s)", kBool, g.gen(k, d), g.gen(k, d))
	case 3:
		return node("(%s IS NULL)", kBool, g.gen(g.anyKind(), d))
	case 4:
		return node("(%s IS NOT NULL)", kBool, g.gen(g.anyKind(), d))
	case 5:
		if d == 0 {
			return g.pred(0)
		}
		return node("(%s AND %s)", kBool, g.pred(d-1), g.pred(d-1))
	case 6:
		if d == 0 {
			return g.pred(0)
		}
		return node("(%s OR %s)", kBool, g.pred(d-1), g.pred(d-1))
	case 7:
		return node("(NOT %s)", kBool, g.pred(d-1))
	case 8:
		k := []kind{kInt, kText, kDate}[r.Intn(3)]
		return node("(%s BETWEEN %s AND %s)", kBool, g.gen(k, d), g.constOf(k), g.constOf(k))
	case 9:
		k := []kind{kInt, kText}[r.Intn(2)]
		items := []string{}
		for i := 0; i < 1+r.Intn(4); i++ {
			items = append(items, g.constOf(k).String())
		}
		if r.Intn(4) == 0 {
			items = append(items, "NULL")
		}
		not := map[bool]string{true: "NOT ", false: ""}[r.Intn(3) == 0]
		return node("(%s "+not+"IN ("+strings.Join(items, ", ")+"))", kBool, g.gen(k, d))
	case 10:
		pat := []string{"a%", "%b%", "_", "A%", "%"}[r.Intn(5)]
		op := []string{"LIKE", "NOT LIKE", "ILIKE"}[r.Intn(3)]
		return node("(%s "+op+" '"+pat+"')", kBool, g.gen(kText, d))
	default:
		if g.sub != nil {
			if s := g.sub(kBool, d); s != "" {
				return leaf(s, kBool)
			}
		}
		if c := g.colOf(kBool); c != nil {
			return c
		}
		return g.constOf(kBool)
	}
}
