package logical

import (
	"fmt"
	"strings"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/pgsource"
	"github.com/weftdb/weft/udf"
)

// Plan is a logical plan node. Nodes are immutable values: rewrites build
// new nodes with WithChildren.
type Plan interface {
	Columns() []Column
	Children() []Plan
	WithChildren(children []Plan) Plan
	String() string
}

// Scan reads a base table.
type Scan struct {
	Table *catalog.Table
	Cols  []Column // one per output column
	Ords  []int    // table column ordinal of each output column
	// Ranges are conditions "column op constant" (Col a table column
	// ordinal) that every row the plan keeps meets, for skipping stored
	// segments on their zone maps; a filter above still applies them.
	Ranges []datafile.Range
}

func (s *Scan) Columns() []Column        { return s.Cols }
func (s *Scan) Children() []Plan         { return nil }
func (s *Scan) WithChildren([]Plan) Plan { return s }
func (s *Scan) String() string           { return "Scan " + s.Table.QualifiedName() }

// Values is a literal row list.
type Values struct {
	Rows [][]Expr
	Cols []Column
}

func (v *Values) Columns() []Column        { return v.Cols }
func (v *Values) Children() []Plan         { return nil }
func (v *Values) WithChildren([]Plan) Plan { return v }
func (v *Values) String() string           { return fmt.Sprintf("Values (%d rows)", len(v.Rows)) }

// Filter keeps rows satisfying Cond.
type Filter struct {
	Input Plan
	Cond  Expr
}

func (f *Filter) Columns() []Column { return f.Input.Columns() }
func (f *Filter) Children() []Plan  { return []Plan{f.Input} }
func (f *Filter) WithChildren(c []Plan) Plan {
	return &Filter{Input: c[0], Cond: f.Cond}
}
func (f *Filter) String() string { return "Filter " + f.Cond.String() }

// Project computes expressions; Cols[i] is the column Exprs[i] defines.
type Project struct {
	Input Plan
	Exprs []Expr
	Cols  []Column
}

func (p *Project) Columns() []Column { return p.Cols }
func (p *Project) Children() []Plan  { return []Plan{p.Input} }
func (p *Project) WithChildren(c []Plan) Plan {
	return &Project{Input: c[0], Exprs: p.Exprs, Cols: p.Cols}
}
func (p *Project) String() string {
	parts := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		parts[i] = e.String()
	}
	return "Project " + strings.Join(parts, ", ")
}

// JoinKind is the kind of join.
type JoinKind int

const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	SemiJoin
	AntiJoin
	NullAwareAntiJoin
)

func (k JoinKind) String() string {
	return [...]string{"Inner", "Left", "Right", "Full", "Semi", "Anti", "NullAwareAnti"}[k]
}

// Join combines two inputs. LeftKeys/RightKeys, when set by the optimizer,
// are equality keys for a hash join; Cond is what remains.
type Join struct {
	Kind                JoinKind
	Left, Right         Plan
	Cond                Expr
	LeftKeys, RightKeys []Expr
	// Rows is the join ordering's estimate of the rows, which saw every
	// condition among the inputs it ordered (0: none); it overrides the
	// estimate from this join's own conditions alone, which misses what
	// equalities implied by others already filtered below.
	Rows float64
}

func (j *Join) Columns() []Column { return j.appendColumns(nil) }

// appendColumns appends the join's columns to dst. A chain of joins fills
// one slice instead of copying its columns again at every level, which
// made planning a chain of n joins take n³ steps.
func (j *Join) appendColumns(dst []Column) []Column {
	dst = appendPlanColumns(dst, j.Left)
	if j.Kind == SemiJoin || j.Kind == AntiJoin || j.Kind == NullAwareAntiJoin {
		return dst
	}
	return appendPlanColumns(dst, j.Right)
}

func appendPlanColumns(dst []Column, p Plan) []Column {
	if j, ok := p.(*Join); ok {
		return j.appendColumns(dst)
	}
	return append(dst, p.Columns()...)
}
func (j *Join) Children() []Plan { return []Plan{j.Left, j.Right} }
func (j *Join) WithChildren(c []Plan) Plan {
	n := *j
	n.Left, n.Right = c[0], c[1]
	return &n
}
func (j *Join) String() string {
	s := j.Kind.String() + " Join"
	for i := range j.LeftKeys {
		s += fmt.Sprintf(" %s=%s", j.LeftKeys[i], j.RightKeys[i])
	}
	if j.Cond != nil {
		s += " on " + j.Cond.String()
	}
	return s
}

// Aggregate groups its input. Its columns are the group keys followed by the
// aggregates.
type Aggregate struct {
	Input  Plan
	Groups []Expr
	Aggs   []*AggCall
	Cols   []Column
}

func (a *Aggregate) Columns() []Column { return a.Cols }
func (a *Aggregate) Children() []Plan  { return []Plan{a.Input} }
func (a *Aggregate) WithChildren(c []Plan) Plan {
	n := *a
	n.Input = c[0]
	return &n
}
func (a *Aggregate) String() string {
	gs := make([]string, len(a.Groups))
	for i, g := range a.Groups {
		gs[i] = g.String()
	}
	as := make([]string, len(a.Aggs))
	for i, x := range a.Aggs {
		as[i] = x.String()
	}
	return fmt.Sprintf("Aggregate groups=[%s] aggs=[%s]", strings.Join(gs, ", "), strings.Join(as, ", "))
}

// Window appends window-function columns to its input.
type Window struct {
	Input Plan
	Funcs []*WindowCall
	Cols  []Column // the new columns only
}

func (w *Window) Columns() []Column {
	return append(append([]Column{}, w.Input.Columns()...), w.Cols...)
}
func (w *Window) Children() []Plan { return []Plan{w.Input} }
func (w *Window) WithChildren(c []Plan) Plan {
	n := *w
	n.Input = c[0]
	return &n
}
func (w *Window) String() string { return fmt.Sprintf("Window (%d functions)", len(w.Funcs)) }

// Sort orders rows.
type Sort struct {
	Input Plan
	Keys  []SortKey
}

func (s *Sort) Columns() []Column { return s.Input.Columns() }
func (s *Sort) Children() []Plan  { return []Plan{s.Input} }
func (s *Sort) WithChildren(c []Plan) Plan {
	return &Sort{Input: c[0], Keys: s.Keys}
}
func (s *Sort) String() string { return "Sort" }

// Limit keeps Count rows after skipping Offset (Count < 0: all).
type Limit struct {
	Input         Plan
	Count, Offset int64
	// CountExpr and OffsetExpr, when set, replace Count and Offset: they
	// depend on the statement's parameters ($n), known only at execution.
	CountExpr, OffsetExpr Expr
}

func (l *Limit) Columns() []Column { return l.Input.Columns() }
func (l *Limit) Children() []Plan  { return []Plan{l.Input} }
func (l *Limit) WithChildren(c []Plan) Plan {
	return &Limit{Input: c[0], Count: l.Count, Offset: l.Offset, CountExpr: l.CountExpr, OffsetExpr: l.OffsetExpr}
}
func (l *Limit) String() string {
	if l.CountExpr != nil || l.OffsetExpr != nil {
		return fmt.Sprintf("Limit %v offset %v", exprOrInt(l.CountExpr, l.Count), exprOrInt(l.OffsetExpr, l.Offset))
	}
	return fmt.Sprintf("Limit %d offset %d", l.Count, l.Offset)
}

func exprOrInt(e Expr, n int64) any {
	if e != nil {
		return e
	}
	return n
}

// Distinct removes duplicate rows.
type Distinct struct{ Input Plan }

func (d *Distinct) Columns() []Column          { return d.Input.Columns() }
func (d *Distinct) Children() []Plan           { return []Plan{d.Input} }
func (d *Distinct) WithChildren(c []Plan) Plan { return &Distinct{Input: c[0]} }
func (d *Distinct) String() string             { return "Distinct" }

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind int

const (
	Union SetOpKind = iota
	Intersect
	Except
)

// SetOp combines two inputs with the same column types; Cols are new ids.
type SetOp struct {
	Kind        SetOpKind
	All         bool
	Left, Right Plan
	Cols        []Column
}

func (s *SetOp) Columns() []Column { return s.Cols }
func (s *SetOp) Children() []Plan  { return []Plan{s.Left, s.Right} }
func (s *SetOp) WithChildren(c []Plan) Plan {
	n := *s
	n.Left, n.Right = c[0], c[1]
	return &n
}
func (s *SetOp) String() string {
	name := [...]string{"Union", "Intersect", "Except"}[s.Kind]
	if s.All {
		name += " All"
	}
	return name
}

// Series is generate_series(start, stop, step).
type Series struct {
	Start, Stop, Step Expr
	// Array, when set instead, makes this unnest(Array): the elements of
	// an array in its text form.
	Array Expr
	Cols  []Column
}

func (s *Series) Columns() []Column        { return s.Cols }
func (s *Series) Children() []Plan         { return nil }
func (s *Series) WithChildren([]Plan) Plan { return s }
func (s *Series) String() string {
	if s.Array != nil {
		return "Unnest"
	}
	return "GenerateSeries"
}

// RecursiveCTE evaluates Anchor, then Recursive repeatedly over the rows
// the previous round produced (read through WorkTable scans) until a round
// produces nothing. With Distinct (UNION), rows already seen are dropped.
type RecursiveCTE struct {
	Name              string
	Anchor, Recursive Plan
	Distinct          bool
	Cols              []Column
	Work              *WorkTable
}

func (r *RecursiveCTE) Columns() []Column { return r.Cols }
func (r *RecursiveCTE) Children() []Plan  { return []Plan{r.Anchor, r.Recursive} }
func (r *RecursiveCTE) WithChildren(c []Plan) Plan {
	n := *r
	n.Anchor, n.Recursive = c[0], c[1]
	return &n
}
func (r *RecursiveCTE) String() string { return "RecursiveCTE " + r.Name }

// WorkTable identifies the working set of a recursive CTE.
type WorkTable struct {
	Name  string
	Table *exec.WorkTable
}

// WorkScan reads the current working set of a recursive CTE.
type WorkScan struct {
	Work *WorkTable
	Cols []Column
}

func (w *WorkScan) Columns() []Column        { return w.Cols }
func (w *WorkScan) Children() []Plan         { return nil }
func (w *WorkScan) WithChildren([]Plan) Plan { return w }
func (w *WorkScan) String() string           { return "WorkScan " + w.Work.Name }

// Format renders a plan tree as indented text.
func Format(p Plan) string {
	var sb strings.Builder
	var walk func(p Plan, depth int)
	walk = func(p Plan, depth int) {
		sb.WriteString(strings.Repeat("  ", depth) + p.String() + "\n")
		for _, c := range p.Children() {
			walk(c, depth+1)
		}
	}
	walk(p, 0)
	return sb.String()
}

// TableFunc is a wasm table function in FROM: over constant arguments, or
// over an input relation (a subquery argument), which it reads whole.
type TableFunc struct {
	Call  *udf.Call
	Out   []udf.Column
	Args  []Expr // scalar arguments (evaluated once; per row when Lateral)
	Input Plan   // nil, or the relation the function reads
	Cols  []Column
	// Lateral: Input is the FROM list to the left and Args read its
	// columns; the function runs per input row and its rows are joined to
	// that row (f(t.col) in FROM).
	Lateral bool
}

func (t *TableFunc) Columns() []Column {
	if t.Lateral && t.Input != nil {
		return append(append([]Column{}, t.Input.Columns()...), t.Cols...)
	}
	return t.Cols
}
func (t *TableFunc) Children() []Plan {
	if t.Input == nil {
		return nil
	}
	return []Plan{t.Input}
}
func (t *TableFunc) WithChildren(c []Plan) Plan {
	n := *t
	if len(c) > 0 {
		n.Input = c[0]
	}
	return &n
}
func (t *TableFunc) String() string { return "TableFunction " + t.Call.F.Name }

// FileScan reads files (read_csv, read_parquet, read_arrow, read_json).
type FileScan struct {
	Source *datafile.Source
	Cols   []Column
	Ords   []int            // source column of each output column
	Ranges []datafile.Range // conditions for skipping Parquet row groups
}

func (f *FileScan) Columns() []Column        { return f.Cols }
func (f *FileScan) Children() []Plan         { return nil }
func (f *FileScan) WithChildren([]Plan) Plan { return f }
func (f *FileScan) String() string {
	return fmt.Sprintf("FileScan %s (%d files)", f.Source.Format, len(f.Source.Paths))
}

// RemoteScan reads a PostgreSQL table or query (postgres_scan,
// postgres_query): the columns Ords of the source, with Filters (remote
// SQL) applied by the remote server.
type RemoteScan struct {
	Source  *pgsource.Source
	Cols    []Column
	Ords    []int
	Filters []string
}

func (r *RemoteScan) Columns() []Column        { return r.Cols }
func (r *RemoteScan) Children() []Plan         { return nil }
func (r *RemoteScan) WithChildren([]Plan) Plan { return r }
func (r *RemoteScan) String() string {
	s := "RemoteScan postgres " + r.Source.Label
	if len(r.Filters) > 0 {
		s += " WHERE " + strings.Join(r.Filters, " AND ")
	}
	return s
}

// ProjectSet evaluates the set-returning functions of a select list
// (unnest, generate_series) for each input row and emits one row per
// element, the functions zipped (shorter ones padded with NULL) and the
// input's columns repeated.
type ProjectSet struct {
	Input Plan
	Funcs []SetFunc
	Cols  []Column // one per function
	// Outer keeps an input row whose functions return no rows, with NULL
	// for them (LEFT JOIN LATERAL … ON true).
	Outer bool
}

// SetFunc is one set-returning call.
type SetFunc struct {
	Name string // unnest, generate_series, or ordinality (1..n of the row's expansion)
	Args []Expr
	// Gen, when set, computes the rows (a PL/pgSQL function); this is
	// its column Column
	Gen    *exec.SetGenerator
	Column int
}

func (p *ProjectSet) Columns() []Column {
	return append(append([]Column{}, p.Input.Columns()...), p.Cols...)
}
func (p *ProjectSet) Children() []Plan { return []Plan{p.Input} }
func (p *ProjectSet) WithChildren(c []Plan) Plan {
	n := *p
	n.Input = c[0]
	return &n
}
func (p *ProjectSet) String() string {
	names := make([]string, len(p.Funcs))
	for i, f := range p.Funcs {
		names[i] = f.Name
	}
	return "ProjectSet " + strings.Join(names, ", ")
}

// Apply joins each row of Left to the rows Right produces for it: Right
// reads Left's columns Outer as outer references (a LATERAL subquery).
// LeftJoin keeps a left row Right produced nothing for, with NULLs.
type Apply struct {
	Left, Right Plan
	Outer       []Column
	LeftJoin    bool
}

func (a *Apply) Columns() []Column {
	return append(append([]Column{}, a.Left.Columns()...), a.Right.Columns()...)
}
func (a *Apply) Children() []Plan { return []Plan{a.Left, a.Right} }
func (a *Apply) WithChildren(c []Plan) Plan {
	n := *a
	n.Left, n.Right = c[0], c[1]
	return &n
}
func (a *Apply) String() string {
	if a.LeftJoin {
		return "Apply (left)"
	}
	return "Apply"
}

// DistinctOn keeps the first row of each run of rows with equal On values
// (SELECT DISTINCT ON): its input is sorted with On leading.
type DistinctOn struct {
	Input Plan
	On    []Expr
}

func (d *DistinctOn) Columns() []Column { return d.Input.Columns() }
func (d *DistinctOn) Children() []Plan  { return []Plan{d.Input} }
func (d *DistinctOn) WithChildren(c []Plan) Plan {
	n := *d
	n.Input = c[0]
	return &n
}
func (d *DistinctOn) String() string { return "DistinctOn" }
