package logical

import (
	"math"
	"reflect"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Default selectivities where nothing better is known; PostgreSQL's
// planner uses the same guesses (selfuncs.h).
const (
	defaultEqSel      = 0.005 // = against a column without statistics
	defaultIneqSel    = 1.0 / 3
	defaultMatchSel   = 0.1 // LIKE and regular expressions
	defaultBoolSel    = 0.5
	defaultNullSel    = 0.005
	defaultGroupNDV   = 200 // distinct values of a computed grouping key
	defaultSourceRows = 1000
)

// ColStat is what an estimate knows about one output column.
type ColStat struct {
	Distinct float64 // distinct non-NULL values
	NullFrac float64
}

// Card is a plan's estimated output: its row count and, for some of its
// columns, distinct counts.
type Card struct {
	Rows float64
	Cols map[ColumnID]ColStat
}

// Distinct is the estimated number of distinct non-NULL values of column
// id; a column without statistics counts as unique.
func (c Card) Distinct(id ColumnID) float64 {
	if s, ok := c.Cols[id]; ok && s.Distinct > 0 {
		return max(1, min(s.Distinct, c.Rows))
	}
	return max(1, c.Rows)
}

// NullFrac is the estimated fraction of NULLs in column id.
func (c Card) NullFrac(id ColumnID) float64 { return c.Cols[id].NullFrac }

// EstimateCard estimates p's output from table statistics: row counts are
// exact for tables, distinct counts come from catalog.Table.Stats, and
// conditions use PostgreSQL's textbook formulas (equality with a constant
// keeps 1/distinct of the rows, an equi-join |L|*|R|/max(distinct)).
func EstimateCard(p Plan) Card { return NewEstimator().Card(p) }

// Estimator estimates plans and remembers the estimate of every node it
// saw, so that asking about each join of a deep tree stays linear.
type Estimator struct {
	memo map[Plan]Card
}

// NewEstimator returns an estimator with nothing remembered.
func NewEstimator() *Estimator { return &Estimator{memo: map[Plan]Card{}} }

// Rows is p's estimated row count.
func (e *Estimator) Rows(p Plan) float64 { return e.Card(p).Rows }

// Card is p's estimated output. The returned Cols map is shared: callers
// must not change it.
func (e *Estimator) Card(p Plan) Card {
	if reflect.ValueOf(p).Kind() != reflect.Pointer {
		return e.card(p) // not a usable map key; every node type is a pointer today
	}
	if c, ok := e.memo[p]; ok {
		return c
	}
	c := e.card(p)
	e.memo[p] = c
	return c
}

func (e *Estimator) card(p Plan) Card {
	switch n := p.(type) {
	case *Scan:
		return scanCard(n)
	case *Values:
		return Card{Rows: float64(len(n.Rows))}
	case *CTEScan:
		// the shared body's estimate (its column ids are its own)
		return Card{Rows: e.Card(n.Shared.Plan).Rows}
	case *Filter:
		return filterCard(e.Card(n.Input), n.Cond)
	case *Project:
		return projectCard(e.Card(n.Input), n)
	case *Join:
		c := joinCard(n, e.Card(n.Left), e.Card(n.Right))
		if n.Rows > 0 {
			c.Rows = n.Rows
		}
		return c
	case *Aggregate:
		return aggregateCard(e.Card(n.Input), n)
	case *Distinct:
		in := e.Card(n.Input)
		return Card{Rows: groupRows(in, columnExprs(n.Input.Columns())), Cols: in.Cols}
	case *Limit:
		in := e.Card(n.Input)
		if n.Count >= 0 {
			in.Rows = min(float64(n.Count), in.Rows)
		}
		return in
	case *Sort, *Window:
		return e.Card(p.Children()[0])
	case *SetOp:
		l, r := e.Card(n.Left), e.Card(n.Right)
		switch n.Kind {
		case Union:
			return Card{Rows: l.Rows + r.Rows}
		case Intersect:
			return Card{Rows: min(l.Rows, r.Rows)}
		}
		return Card{Rows: l.Rows}
	}
	kids := p.Children()
	if len(kids) == 0 {
		return Card{Rows: defaultSourceRows}
	}
	var rows float64
	for _, c := range kids {
		rows = max(rows, e.Card(c).Rows)
	}
	return Card{Rows: rows}
}

func scanCard(n *Scan) Card {
	snap := n.Table.Snapshot()
	defer snap.Release()
	st := n.Table.Stats(snap)
	c := Card{Rows: float64(st.Rows), Cols: make(map[ColumnID]ColStat, len(n.Cols))}
	unique := map[int]bool{}
	for _, k := range n.Table.Keys {
		if len(k.Columns) == 1 && !k.NonUnique {
			unique[k.Columns[0]] = true
		}
	}
	for i, col := range n.Cols {
		ord := n.Ords[i]
		if ord < 0 || ord >= len(st.Columns) {
			continue
		}
		cs := ColStat{Distinct: st.Columns[ord].Distinct, NullFrac: st.Columns[ord].NullFrac}
		if unique[ord] {
			cs.Distinct = c.Rows * (1 - cs.NullFrac)
		}
		c.Cols[col.ID] = cs
	}
	return c
}

// filterCard applies a condition's selectivity to in, and thins the
// distinct counts as a random choice of that many rows would.
func filterCard(in Card, cond Expr) Card {
	sel := 1.0
	fixed := map[ColumnID]bool{}
	for _, c := range SplitAnd(cond) {
		sel *= selectivityIn(c, in)
		if id, ok := eqConstColumn(c); ok {
			fixed[id] = true
		}
	}
	out := Card{Rows: max(in.Rows*sel, 1), Cols: make(map[ColumnID]ColStat, len(in.Cols))}
	for id, cs := range in.Cols {
		if fixed[id] {
			cs.Distinct = 1
		} else {
			cs.Distinct = thinDistinct(cs.Distinct, in.Rows, sel)
		}
		out.Cols[id] = cs
	}
	return out
}

// thinDistinct is the expected number of distinct values left when a
// fraction sel of rows rows holding d distinct values is kept at random:
// d * (1 - (1-sel)^(rows/d)).
func thinDistinct(d, rows, sel float64) float64 {
	if d <= 0 || rows <= 0 || sel >= 1 {
		return d
	}
	return max(1, d*(1-math.Pow(1-sel, rows/d)))
}

func projectCard(in Card, p *Project) Card {
	out := Card{Rows: in.Rows, Cols: map[ColumnID]ColStat{}}
	for i, e := range p.Exprs {
		if id, ok := columnOf(e); ok {
			if cs, ok := in.Cols[id]; ok {
				out.Cols[p.Cols[i].ID] = cs
			}
		}
	}
	return out
}

func aggregateCard(in Card, a *Aggregate) Card {
	if len(a.Groups) == 0 {
		return Card{Rows: 1}
	}
	out := Card{Rows: groupRows(in, a.Groups), Cols: map[ColumnID]ColStat{}}
	for i, g := range a.Groups {
		if i < len(a.Cols) {
			out.Cols[a.Cols[i].ID] = ColStat{Distinct: min(exprDistinct(in, g), out.Rows)}
		}
	}
	return out
}

// groupRows estimates the number of groups: the product of the keys'
// distinct counts, at most the input's rows.
func groupRows(in Card, keys []Expr) float64 {
	groups := 1.0
	for _, k := range keys {
		groups *= exprDistinct(in, k)
		if groups >= in.Rows {
			return max(in.Rows, 1)
		}
	}
	return max(groups, 1)
}

func exprDistinct(in Card, e Expr) float64 {
	if id, ok := columnOf(e); ok {
		d := in.Distinct(id)
		if in.NullFrac(id) > 0 {
			d++ // NULL forms a group of its own
		}
		return d
	}
	if _, ok := e.(*Const); ok {
		return 1
	}
	return min(defaultGroupNDV, max(in.Rows, 1))
}

func columnExprs(cols []Column) []Expr {
	out := make([]Expr, len(cols))
	for i, c := range cols {
		out[i] = &ColRef{Col: c}
	}
	return out
}

func joinCard(j *Join, l, r Card) Card {
	both := Card{Rows: l.Rows * r.Rows, Cols: make(map[ColumnID]ColStat, len(l.Cols)+len(r.Cols))}
	for id, cs := range l.Cols {
		both.Cols[id] = cs
	}
	for id, cs := range r.Cols {
		both.Cols[id] = cs
	}
	sel := 1.0
	if ks, ok := KeyJoinSelectivity(j.Left, j.Right, j.LeftKeys, j.RightKeys); ok && len(j.LeftKeys) > 0 {
		sel = ks
	} else {
		for i := range j.LeftKeys {
			sel *= EquiJoinSelectivity(j.LeftKeys[i], j.RightKeys[i], both)
		}
	}
	if j.Cond != nil {
		for _, c := range SplitAnd(j.Cond) {
			sel *= selectivityIn(c, both)
		}
	}
	inner := max(both.Rows*sel, 1)
	switch j.Kind {
	case SemiJoin, AntiJoin, NullAwareAntiJoin:
		matched := l.Rows * min(1, sel*r.Rows)
		if j.Kind == SemiJoin {
			return Card{Rows: max(matched, 1), Cols: l.Cols}
		}
		return Card{Rows: max(l.Rows-matched, l.Rows*0.1, 1), Cols: l.Cols}
	case LeftJoin:
		inner = max(inner, l.Rows)
	case RightJoin:
		inner = max(inner, r.Rows)
	case FullJoin:
		inner = max(inner, l.Rows+r.Rows)
	}
	out := Card{Rows: inner, Cols: both.Cols}
	for id, cs := range out.Cols {
		cs.Distinct = min(cs.Distinct, inner)
		out.Cols[id] = cs
	}
	return out
}

// EquiJoinSelectivity is the fraction of the cross product that l = r
// keeps, where both sides' columns are described by c: NULLs never match,
// and of the non-NULL values each of the side with fewer distinct values
// is assumed to find its match (1/max(distinct)).
func EquiJoinSelectivity(l, r Expr, c Card) float64 {
	dl, nl := exprStat(l, c)
	dr, nr := exprStat(r, c)
	return (1 - nl) * (1 - nr) / max(dl, dr, 1)
}

func exprStat(e Expr, c Card) (distinct, nullFrac float64) {
	if id, ok := columnOf(e); ok {
		return c.Distinct(id), c.NullFrac(id)
	}
	return min(defaultGroupNDV, max(c.Rows, 1)), 0
}

// columnOf sees through casts to the column an expression reads.
func columnOf(e Expr) (ColumnID, bool) {
	for {
		switch x := e.(type) {
		case *ColRef:
			return x.Col.ID, true
		case *Cast:
			e = x.Arg
		default:
			return 0, false
		}
	}
}

func isConstant(e Expr) bool {
	switch x := e.(type) {
	case *Const, *Param:
		return true
	case *Cast:
		return isConstant(x.Arg)
	case *Call:
		if x.Volatile {
			return false
		}
		for _, a := range x.Args {
			if !isConstant(a) {
				return false
			}
		}
		return true
	}
	return false
}

// eqConstColumn matches `column = constant` in either order.
func eqConstColumn(e Expr) (ColumnID, bool) {
	c, ok := e.(*Call)
	if !ok || c.Name != "=" || len(c.Args) != 2 {
		return 0, false
	}
	if id, ok := columnOf(c.Args[0]); ok && isConstant(c.Args[1]) {
		return id, true
	}
	if id, ok := columnOf(c.Args[1]); ok && isConstant(c.Args[0]) {
		return id, true
	}
	return 0, false
}

// Selectivity guesses the fraction of rows of an input described by c
// that condition e keeps.
func Selectivity(e Expr, c Card) float64 { return selectivityIn(e, c) }

// selectivityIn guesses the fraction of rows of an input described by c
// that condition e keeps.
func selectivityIn(e Expr, c Card) float64 {
	switch x := e.(type) {
	case *Bool:
		if x.And {
			s := 1.0
			for _, a := range x.Args {
				s *= selectivityIn(a, c)
			}
			return s
		}
		miss := 1.0
		for _, a := range x.Args {
			miss *= 1 - selectivityIn(a, c)
		}
		return 1 - miss
	case *Not:
		return 1 - selectivityIn(x.Arg, c)
	case *IsNull:
		if x.Truth != nil {
			return defaultBoolSel
		}
		nf := defaultNullSel
		if id, ok := columnOf(x.Arg); ok {
			if cs, ok := c.Cols[id]; ok {
				nf = cs.NullFrac
			}
		}
		if x.Negate {
			return 1 - nf
		}
		return nf
	case *Const:
		if b, ok := x.Value.(bool); ok && !b {
			return 0
		}
		return 1
	case *Call:
		return callSelectivity(x, c)
	}
	return defaultBoolSel
}

func callSelectivity(x *Call, c Card) float64 {
	if len(x.Args) != 2 {
		return defaultIneqSel
	}
	switch x.Name {
	case "=":
		if id, ok := eqConstColumn(x); ok {
			if _, known := c.Cols[id]; known {
				return (1 - c.NullFrac(id)) / c.Distinct(id)
			}
			return defaultEqSel
		}
		if !isConstant(x.Args[0]) && !isConstant(x.Args[1]) {
			return EquiJoinSelectivity(x.Args[0], x.Args[1], c)
		}
		return defaultEqSel
	case "<>", "!=":
		if id, ok := eqConstColumnOp(x); ok {
			return 1 - 1/c.Distinct(id)
		}
		return 1 - defaultEqSel
	case "<", "<=", ">", ">=":
		return defaultIneqSel
	}
	if strings.HasPrefix(x.Name, "!~") {
		return 1 - defaultMatchSel
	}
	if strings.HasPrefix(x.Name, "~") {
		return defaultMatchSel
	}
	return defaultIneqSel
}

// eqConstColumnOp is eqConstColumn for any operator name.
func eqConstColumnOp(x *Call) (ColumnID, bool) {
	return eqConstColumn(&Call{Name: "=", Args: x.Args})
}

// KeyJoinSelectivity is the selectivity of the equalities lkeys[i] =
// rkeys[i] between inputs l and r when the columns of one side hold a
// unique key of the table under it: each row of the other side then meets
// at most one of that table's rows, and (as a foreign key would make sure)
// about one, so the join keeps 1/rows-of-that-table of the cross product.
// Multiplying the equalities' own selectivities instead would treat
// columns of one key as independent and, for TPC-H's lineitem-partsupp
// join on (partkey, suppkey), estimate 2,469 rows where there are 600,572.
// ok is false when neither side's columns cover a unique key.
func KeyJoinSelectivity(l, r Plan, lkeys, rkeys []Expr) (sel float64, ok bool) {
	lids, rids := map[ColumnID]bool{}, map[ColumnID]bool{}
	for i := range lkeys {
		li, lok := lkeys[i].(*ColRef)
		ri, rok := rkeys[i].(*ColRef)
		if !lok || !rok || li.Col.T.Kind != ri.Col.T.Kind {
			return 0, false
		}
		lids[li.Col.ID], rids[ri.Col.ID] = true, true
	}
	rows := 0.0
	if n, ok := uniqueKeyRows(r, rids); ok {
		rows = n
	}
	if n, ok := uniqueKeyRows(l, lids); ok {
		rows = max(rows, n)
	}
	if rows == 0 {
		return 0, false
	}
	return 1 / rows, true
}

// uniqueKeyRows reports whether the columns ids of p hold a unique key of
// the table p filters, and that table's row count.
func uniqueKeyRows(p Plan, ids map[ColumnID]bool) (float64, bool) {
	for {
		f, ok := p.(*Filter)
		if !ok {
			break
		}
		p = f.Input
	}
	sc, ok := p.(*Scan)
	if !ok {
		return 0, false
	}
	held := map[int]bool{}
	for i, c := range sc.Cols {
		if ids[c.ID] {
			held[sc.Ords[i]] = true
		}
	}
	for _, k := range sc.Table.Keys {
		if k.NonUnique || len(k.Columns) == 0 {
			continue
		}
		covered := true
		for _, ord := range k.Columns {
			covered = covered && held[ord]
		}
		if covered {
			snap := sc.Table.Snapshot()
			defer snap.Release()
			return max(float64(snap.NumRows()), 1), true
		}
	}
	return 0, false
}

// RowWidth estimates the bytes a row of cols takes: the width of
// fixed-size types, 24 for the others (strings, arrays, numerics held as
// text). A hash join's build side is stored whole, so the side with fewer
// bytes, not merely fewer rows, is the one to build: a deep chain of tiny
// joins otherwise copies its ever wider intermediate at every level.
func RowWidth(cols []Column) float64 {
	w := 0.0
	for _, c := range cols {
		if fw, ok := c.T.Arrow().(arrow.FixedWidthDataType); ok {
			w += max(float64(fw.BitWidth())/8, 1)
		} else {
			w += 24
		}
	}
	return max(w, 1)
}
