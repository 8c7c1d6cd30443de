// Package logical defines logical plans and bound expressions. Columns are
// identified by binder-assigned ids, so rewrites never renumber ordinals;
// ordinals appear only when an expression is compiled for execution.
package logical

import (
	"fmt"
	"strings"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// ColumnID identifies a column across the whole statement.
type ColumnID int

// Column is one output column of a plan node.
type Column struct {
	ID    ColumnID
	Name  string
	Table string // qualifier for name resolution (alias or table name)
	T     types.T
	// TableOID and Attnum identify the base-table column, when there is one.
	TableOID uint32
	Attnum   int
}

// Expr is a bound expression.
type Expr interface {
	Type() types.T
	String() string
}

// ColRef references a column of the input.
type ColRef struct{ Col Column }

func (e *ColRef) Type() types.T  { return e.Col.T }
func (e *ColRef) String() string { return fmt.Sprintf("%s#%d", e.Col.Name, e.Col.ID) }

// OuterRef references a column of an enclosing query (correlation).
type OuterRef struct{ Col Column }

func (e *OuterRef) Type() types.T  { return e.Col.T }
func (e *OuterRef) String() string { return fmt.Sprintf("outer(%s#%d)", e.Col.Name, e.Col.ID) }

// Const is a literal.
type Const struct {
	Value types.Datum
	T     types.T
}

func (e *Const) Type() types.T { return e.T }
func (e *Const) String() string {
	return (&exec.ConstExpr{Value: e.Value, T: e.T}).String()
}

// Param is a prepared-statement parameter $N (1-based).
type Param struct {
	N int
	T types.T
}

func (e *Param) Type() types.T  { return e.T }
func (e *Param) String() string { return fmt.Sprintf("$%d", e.N) }

// Cast converts its argument.
type Cast struct {
	Arg      Expr
	To       types.T
	Explicit bool
}

func (e *Cast) Type() types.T  { return e.To }
func (e *Cast) String() string { return fmt.Sprintf("CAST(%s AS %s)", e.Arg, e.To) }

// Call is a resolved scalar function or operator.
type Call struct {
	Name     string
	Args     []Expr
	Kernel   exec.Kernel
	T        types.T
	Infix    bool
	Volatile bool
}

func (e *Call) Type() types.T { return e.T }
func (e *Call) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	if e.Infix && len(parts) == 2 {
		return "(" + parts[0] + " " + e.Name + " " + parts[1] + ")"
	}
	if e.Infix && len(parts) == 1 {
		return "(" + e.Name + " " + parts[0] + ")"
	}
	return e.Name + "(" + strings.Join(parts, ", ") + ")"
}

// Bool is AND/OR over its arguments.
type Bool struct {
	And  bool
	Args []Expr
}

func (e *Bool) Type() types.T { return types.BoolT }
func (e *Bool) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	op := " OR "
	if e.And {
		op = " AND "
	}
	return "(" + strings.Join(parts, op) + ")"
}

// Not negates a boolean.
type Not struct{ Arg Expr }

func (e *Not) Type() types.T  { return types.BoolT }
func (e *Not) String() string { return "(NOT " + e.Arg.String() + ")" }

// IsNull is IS [NOT] NULL, or IS [NOT] TRUE/FALSE when Truth is set.
type IsNull struct {
	Arg    Expr
	Negate bool
	Truth  *bool
}

func (e *IsNull) Type() types.T { return types.BoolT }
func (e *IsNull) String() string {
	return (&exec.NullTest{Arg: &exec.ColumnExpr{Name: e.Arg.String()}, Negate: e.Negate, Truth: e.Truth}).String()
}

// Case is a searched CASE.
type Case struct {
	Whens, Thens []Expr
	Else         Expr
	T            types.T
}

func (e *Case) Type() types.T { return e.T }
func (e *Case) String() string {
	var sb strings.Builder
	sb.WriteString("CASE")
	for i := range e.Whens {
		fmt.Fprintf(&sb, " WHEN %s THEN %s", e.Whens[i], e.Thens[i])
	}
	if e.Else != nil {
		fmt.Fprintf(&sb, " ELSE %s", e.Else)
	}
	sb.WriteString(" END")
	return sb.String()
}

// Coalesce returns its first non-NULL argument.
type Coalesce struct {
	Args []Expr
	T    types.T
}

func (e *Coalesce) Type() types.T { return e.T }
func (e *Coalesce) String() string {
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.String()
	}
	return "COALESCE(" + strings.Join(parts, ", ") + ")"
}

// Subquery is a nested query used as a value.
type Subquery struct {
	Kind exec.SubqueryKind
	Plan Plan
	Test Expr // ANY/ALL left side
	Op   exec.CmpOp
	CmpT types.T
	// RowTests, RowCmpTs: a row on the left ((a, b) IN (SELECT x, y),
	// (a, b) = (SELECT x, y)), compared field by field; Test is nil
	RowTests []Expr
	RowCmpTs []types.T
	T        types.T
	Outer    []Column // columns of enclosing queries the subquery references
	// OuterAt is where the subquery first references each of Outer, for
	// errors (absent when not known)
	OuterAt map[ColumnID]int32
	// Optimized: the optimizer has run its rules over Plan already (the
	// physical builder optimizes the others: those of DML statements).
	Optimized bool
}

func (e *Subquery) Type() types.T { return e.T }

// String names the subquery by its plan's identity: two textually equal
// subqueries are still distinct expressions (they may be volatile).
func (e *Subquery) String() string {
	id := fmt.Sprintf("subquery@%p", e.Plan)
	switch e.Kind {
	case exec.ExistsSubquery:
		return "EXISTS(" + id + ")"
	case exec.AnySubquery:
		return fmt.Sprintf("%s %s ANY(%s)", e.testString(), e.Op, id)
	case exec.AllSubquery:
		return fmt.Sprintf("%s %s ALL(%s)", e.testString(), e.Op, id)
	case exec.RowCompareSubquery:
		return fmt.Sprintf("%s %s (%s)", e.testString(), e.Op, id)
	}
	return "(" + id + ")"
}

func (e *Subquery) testString() string {
	if e.Test != nil {
		return e.Test.String()
	}
	parts := make([]string, len(e.RowTests))
	for i, t := range e.RowTests {
		parts[i] = t.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// AggCall is an aggregate computed by an Aggregate node.
type AggCall struct {
	Name     string
	Args     []Expr
	Distinct bool
	Filter   Expr
	OrderBy  []SortKey // agg(x ORDER BY y): the order rows reach the aggregate
	New      func() exec.Accumulator
	T        types.T
}

func (a *AggCall) String() string {
	parts := make([]string, len(a.Args))
	for i, x := range a.Args {
		parts[i] = x.String()
	}
	d := ""
	if a.Distinct {
		d = "DISTINCT "
	}
	if len(parts) == 0 {
		parts = []string{"*"}
	}
	order := ""
	for i, k := range a.OrderBy {
		order += map[bool]string{true: " ORDER BY ", false: ", "}[i == 0] + k.Expr.String()
		if k.Desc {
			order += " DESC"
		}
		if k.NullsFirst != k.Desc {
			order += map[bool]string{true: " NULLS FIRST", false: " NULLS LAST"}[k.NullsFirst]
		}
	}
	return a.Name + "(" + d + strings.Join(parts, ", ") + order + ")"
}

// WindowCall is a window function computed by a Window node.
type WindowCall struct {
	Name        string
	Args        []Expr
	PartitionBy []Expr
	OrderBy     []SortKey
	Frame       exec.Frame
	T           types.T
	// NewAcc, for an aggregate used as a window function, makes the
	// accumulator that computes it over a frame.
	NewAcc func() exec.Accumulator
}

// SortKey orders by an expression.
type SortKey struct {
	Expr       Expr
	Desc       bool
	NullsFirst bool
}

// Walk calls f on e and its sub-expressions (not into subquery plans),
// stopping descent where f returns false.
func Walk(e Expr, f func(Expr) bool) {
	if e == nil || !f(e) {
		return
	}
	// the children in order, without a slice made for them (every plan
	// walks its expressions several times)
	switch x := e.(type) {
	case *Cast:
		Walk(x.Arg, f)
	case *Call:
		walkAll(x.Args, f)
	case *Bool:
		walkAll(x.Args, f)
	case *Not:
		Walk(x.Arg, f)
	case *IsNull:
		Walk(x.Arg, f)
	case *Case:
		walkAll(x.Whens, f)
		walkAll(x.Thens, f)
		Walk(x.Else, f)
	case *Coalesce:
		walkAll(x.Args, f)
	case *Subquery:
		if x.Test != nil {
			Walk(x.Test, f)
		} else {
			walkAll(x.RowTests, f)
		}
	}
}

func walkAll(es []Expr, f func(Expr) bool) {
	for _, e := range es {
		Walk(e, f)
	}
}

// Rewrite rebuilds e bottom-up, replacing each node by f's result.
func Rewrite(e Expr, f func(Expr) Expr) Expr { return rewrite(e, nil, f) }

// ReplaceTopDown replaces the outermost nodes for which pre says so,
// without looking inside what it replaces: matching GROUP BY expressions
// must take the largest match first (NULLIF(a, b) grouped as a whole,
// not through a = b inside it).
func ReplaceTopDown(e Expr, pre func(Expr) (Expr, bool)) Expr {
	return rewrite(e, pre, func(x Expr) Expr { return x })
}

func rewrite(e Expr, pre func(Expr) (Expr, bool), f func(Expr) Expr) Expr {
	if e == nil {
		return nil
	}
	if pre != nil {
		if r, ok := pre(e); ok {
			return r
		}
	}
	switch x := e.(type) {
	case *Cast:
		c := *x
		c.Arg = rewrite(x.Arg, pre, f)
		return f(&c)
	case *Call:
		c := *x
		c.Args = rewriteAll(x.Args, pre, f)
		return f(&c)
	case *Bool:
		c := *x
		c.Args = rewriteAll(x.Args, pre, f)
		return f(&c)
	case *Not:
		return f(&Not{Arg: rewrite(x.Arg, pre, f)})
	case *IsNull:
		c := *x
		c.Arg = rewrite(x.Arg, pre, f)
		return f(&c)
	case *Case:
		c := *x
		c.Whens = rewriteAll(x.Whens, pre, f)
		c.Thens = rewriteAll(x.Thens, pre, f)
		c.Else = rewrite(x.Else, pre, f)
		return f(&c)
	case *Coalesce:
		c := *x
		c.Args = rewriteAll(x.Args, pre, f)
		return f(&c)
	case *Subquery:
		c := *x
		c.Test = rewrite(x.Test, pre, f)
		if x.RowTests != nil {
			c.RowTests = rewriteAll(x.RowTests, pre, f)
		}
		return f(&c)
	}
	return f(e)
}

func rewriteAll(es []Expr, pre func(Expr) (Expr, bool), f func(Expr) Expr) []Expr {
	out := make([]Expr, len(es))
	for i, e := range es {
		out[i] = rewrite(e, pre, f)
	}
	return out
}

// ColumnsUsed returns the ids of input columns e references (not outer
// references, and not columns used only inside subquery plans).
func ColumnsUsed(e Expr) map[ColumnID]bool {
	used := map[ColumnID]bool{}
	AddColumnsUsed(used, e)
	return used
}

// AddColumnsUsed adds the columns e reads to used (ColumnsUsed without a
// map of its own: a plan's builder and optimizer gather them for many
// expressions).
func AddColumnsUsed(used map[ColumnID]bool, e Expr) {
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*ColRef); ok {
			used[c.Col.ID] = true
		}
		if s, ok := x.(*Subquery); ok {
			for _, c := range s.Outer {
				used[c.ID] = true
			}
		}
		return true
	})
}

// HasSubquery reports whether e contains a subquery.
func HasSubquery(e Expr) bool {
	found := false
	Walk(e, func(x Expr) bool {
		if _, ok := x.(*Subquery); ok {
			found = true
		}
		return !found
	})
	return found
}

// IsVolatile reports whether e calls a volatile function.
func IsVolatile(e Expr) bool {
	v := false
	Walk(e, func(x Expr) bool {
		if c, ok := x.(*Call); ok && c.Volatile {
			v = true
		}
		return !v
	})
	return v
}

// SplitAnd flattens a conjunction.
func SplitAnd(e Expr) []Expr {
	if b, ok := e.(*Bool); ok && b.And {
		var out []Expr
		for _, a := range b.Args {
			out = append(out, SplitAnd(a)...)
		}
		return out
	}
	return []Expr{e}
}

// JoinAnd builds a conjunction (nil for none).
func JoinAnd(es []Expr) Expr {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return &Bool{And: true, Args: es}
}
