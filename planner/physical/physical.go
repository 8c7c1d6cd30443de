// Package physical turns optimized logical plans into exec operators:
// it resolves column ids to ordinals, picks join algorithms and build sides,
// and inserts exchanges where partitions must meet.
package physical

import (
	"context"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/pgsource"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Builder builds one statement's operators and owns the resources they hold
// (table snapshots, join builds) until Release.
type Builder struct {
	// TableData, when set, gives the data a scan reads (a transaction
	// block's own version of the tables it wrote); else the committed data.
	TableData func(*catalog.Table) *catalog.Snapshot
	Env       *exec.Env
	Params    []types.Datum
	// Analyze wraps every operator to count rows, batches and time.
	Analyze bool
	// OptimizeSubquery, when set, optimizes the plan of a subquery that
	// stayed an expression (the optimizer's rules rewrite the plan tree but
	// not the plans nested in expressions): without it such a subquery
	// runs its joins as filtered cross products.
	OptimizeSubquery func(logical.Plan) (logical.Plan, error)
	// NoIndexScan reads tables by scanning only (SET enable_indexscan =
	// off), as a test compares answers with and without indexes.
	NoIndexScan bool
	// Schemas, when set, shares the Arrow schemas of the operators it
	// builds with the builders before it (a session's).
	Schemas *SchemaCache

	snapshots []*catalog.Snapshot
	releasers []interface{ Release() }
	shared    map[*logical.SharedPlan]*exec.SharedResult
	estimates *logical.Estimator // for build sides; see estimateRows
}

// NewBuilder returns a builder for one statement.
func NewBuilder(env *exec.Env, params []types.Datum) *Builder {
	return &Builder{Env: env, Params: params}
}

// Release frees the snapshots and caches of everything built.
func (b *Builder) Release() {
	for _, r := range b.releasers {
		r.Release()
	}
	for _, s := range b.snapshots {
		s.Release()
	}
	b.releasers, b.snapshots = nil, nil
}

// ArrowSchema is the Arrow schema of logical columns.
func ArrowSchema(cols []logical.Column) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.Name, Type: c.T.Arrow(), Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

type layout map[logical.ColumnID]int

func layoutOf(cols []logical.Column) layout {
	l := layout{}
	for i, c := range cols {
		if _, dup := l[c.ID]; !dup {
			l[c.ID] = i
		}
	}
	return l
}

// Build converts a logical plan.
func (b *Builder) Build(p logical.Plan) (exec.Operator, error) {
	op, err := b.build(p)
	if err != nil || !b.Analyze {
		return op, err
	}
	return &exec.Instrumented{Inner: op}, nil
}

func (b *Builder) build(p logical.Plan) (exec.Operator, error) {
	switch n := p.(type) {
	case *logical.Scan:
		var snap *catalog.Snapshot
		if b.TableData != nil {
			snap = b.TableData(n.Table)
		} else {
			snap = n.Table.Snapshot()
		}
		b.snapshots = append(b.snapshots, snap)
		var names []string
		for _, r := range n.Ranges {
			names = append(names, n.Table.Columns[r.Col].Name)
		}
		return &exec.Scan{Name: n.Table.QualifiedName(), Parts: snap.Parts, Columns: n.Ords, Out: b.schema(n.Cols), Ranges: n.Ranges, RangeNames: names}, nil
	case *logical.Values:
		rows := make([][]exec.Expr, len(n.Rows))
		for i, r := range n.Rows {
			row, err := b.compileAll(r, nil)
			if err != nil {
				return nil, err
			}
			rows[i] = row
		}
		return &exec.Values{Env: b.Env, Rows: rows, Out: b.schema(n.Cols)}, nil
	case *logical.Filter:
		op, _, err := b.buildFilter(n, nil)
		return op, err
	case *logical.Project:
		in, inCols, err := b.buildReading(n.Input, columnsUsed(n.Exprs))
		if err != nil {
			return nil, err
		}
		exprs, err := b.compileAll(n.Exprs, inCols)
		if err != nil {
			return nil, err
		}
		return &exec.Project{Env: b.Env, Input: in, Exprs: exprs, Out: b.schema(n.Cols)}, nil
	case *logical.Join:
		return b.buildJoin(n)
	case *logical.Aggregate:
		return b.buildAggregate(n)
	case *logical.Window:
		return b.buildWindow(n)
	case *logical.Apply:
		left, err := b.Build(n.Left)
		if err != nil {
			return nil, err
		}
		right, err := b.Build(n.Right)
		if err != nil {
			return nil, err
		}
		ap := &exec.Apply{Env: b.Env, Left: left, Right: right, LeftJoin: n.LeftJoin, Out: b.schema(n.Columns())}
		l := layoutOf(n.Left.Columns())
		for _, c := range n.Outer {
			ap.OuterSlots = append(ap.OuterSlots, int(c.ID))
			if idx, ok := l[c.ID]; ok {
				ap.Outer = append(ap.Outer, &exec.ColumnExpr{Index: idx, T: c.T, Name: c.Name})
			} else {
				ap.Outer = append(ap.Outer, &exec.ParamExpr{Slot: int(c.ID), T: c.T, Name: c.Name})
			}
		}
		return ap, nil
	case *logical.ProjectSet:
		in, err := b.Build(n.Input)
		if err != nil {
			return nil, err
		}
		ps := &exec.ProjectSet{Env: b.Env, Input: in, Out: b.schema(n.Columns()), Outer: n.Outer}
		for i, f := range n.Funcs {
			args, err := b.compileAll(f.Args, n.Input.Columns())
			if err != nil {
				return nil, err
			}
			ps.Funcs = append(ps.Funcs, exec.SetFunc{Name: f.Name, Args: args, T: n.Cols[i].T, Gen: f.Gen, Column: f.Column})
		}
		return ps, nil
	case *logical.Sort:
		in, err := b.Build(n.Input)
		if err != nil {
			return nil, err
		}
		keys, err := b.sortKeys(n.Keys, n.Input.Columns())
		if err != nil {
			return nil, err
		}
		return &exec.Sort{Env: b.Env, Input: in, Keys: keys}, nil
	case *logical.Limit:
		return b.buildLimit(n)
	case *logical.DistinctOn:
		in, err := b.Build(n.Input)
		if err != nil {
			return nil, err
		}
		on, err := b.compileAll(n.On, n.Input.Columns())
		if err != nil {
			return nil, err
		}
		return &exec.DistinctOn{Env: b.Env, Input: in, On: on}, nil
	case *logical.Distinct:
		in, err := b.Build(n.Input)
		if err != nil {
			return nil, err
		}
		cols := n.Input.Columns()
		keys := make([]exec.Expr, len(cols))
		for i, c := range cols {
			keys[i] = &exec.ColumnExpr{Index: i, T: c.T, Name: c.Name}
		}
		return &exec.HashAggregate{Env: b.Env.ForOperator("HashAggregate"), Input: in, Keys: keys, Out: b.schema(cols)}, nil
	case *logical.SetOp:
		return b.buildSetOp(n)
	case *logical.Series:
		if n.Array != nil {
			arr, err := b.compileAll([]logical.Expr{n.Array}, nil)
			if err != nil {
				return nil, err
			}
			return &exec.Unnest{Env: b.Env, Array: arr[0], T: n.Cols[0].T, Out: b.schema(n.Cols)}, nil
		}
		args, err := b.compileAll([]logical.Expr{n.Start, n.Stop, n.Step}, nil)
		if err != nil {
			return nil, err
		}
		return &exec.GenerateSeries{Env: b.Env, Start: args[0], Stop: args[1], Step: args[2], T: n.Cols[0].T, Out: b.schema(n.Cols)}, nil
	case *logical.RemoteScan:
		return &exec.RemoteScan{Env: b.Env, Scan: &pgsource.Scan{Src: n.Source, Ords: n.Ords, Filters: n.Filters}, Out: b.schema(n.Cols)}, nil
	case *logical.FileScan:
		push := &datafile.Pushdown{Cols: n.Ords, Ranges: n.Ranges}
		if b.Env.Progress != nil {
			push.BytesRead = &b.Env.Progress.Bytes
		}
		return exec.NewFileScan(b.Env, n.Source, push, b.schema(n.Cols)), nil
	case *logical.TableFunc:
		if n.Lateral {
			in, err := b.Build(n.Input)
			if err != nil {
				return nil, err
			}
			args, err := b.compileAll(n.Args, n.Input.Columns())
			if err != nil {
				return nil, err
			}
			return &exec.TableFunction{Env: b.Env, Call: n.Call, Cols: n.Out, Args: args, Input: in, Lateral: true, Out: b.schema(n.Columns())}, nil
		}
		args, err := b.compileAll(n.Args, nil)
		if err != nil {
			return nil, err
		}
		op := &exec.TableFunction{Env: b.Env, Call: n.Call, Cols: n.Out, Args: args, Out: b.schema(n.Cols)}
		if n.Input != nil {
			if op.Input, err = b.Build(n.Input); err != nil {
				return nil, err
			}
		}
		return op, nil
	case *logical.RecursiveCTE:
		anchor, err := b.Build(n.Anchor)
		if err != nil {
			return nil, err
		}
		rec, err := b.Build(n.Recursive)
		if err != nil {
			return nil, err
		}
		return &exec.RecursiveUnion{Env: b.Env, Anchor: anchor, Recursive: rec, Work: n.Work.Table, Distinct: n.Distinct, Out: b.schema(n.Cols), Types: columnTypes(n.Cols)}, nil
	case *logical.WorkScan:
		return &exec.WorkScan{Table: n.Work.Table, Out: b.schema(n.Cols)}, nil
	case *logical.CTEScan:
		src, err := b.sharedResult(n.Shared)
		if err != nil {
			return nil, err
		}
		return &exec.SharedScan{Source: src, Out: b.schema(n.Cols)}, nil
	}
	return nil, sqlerr.New(sqlerr.Internal, "physical: unsupported plan node %T", p)
}

func (b *Builder) sortKeys(keys []logical.SortKey, cols []logical.Column) ([]exec.SortKey, error) {
	out := make([]exec.SortKey, len(keys))
	for i, k := range keys {
		e, err := b.Compile(k.Expr, cols)
		if err != nil {
			return nil, err
		}
		out[i] = exec.SortKey{Expr: e, Desc: k.Desc, NullsFirst: k.NullsFirst}
	}
	return out, nil
}

func (b *Builder) buildLimit(n *logical.Limit) (exec.Operator, error) {
	n, err := b.resolveLimit(n)
	if err != nil {
		return nil, err
	}
	if s, ok := n.Input.(*logical.Sort); ok && n.Count >= 0 {
		if op, ok, err := b.buildIndexOrderedLimit(n, s); ok || err != nil {
			return op, err
		}
		in, err := b.Build(s.Input)
		if err != nil {
			return nil, err
		}
		keys, err := b.sortKeys(s.Keys, s.Input.Columns())
		if err != nil {
			return nil, err
		}
		top := &exec.TopN{Env: b.Env, Input: in, Keys: keys, N: n.Count + n.Offset}
		return &exec.Limit{Input: top, Count: n.Count, Offset: n.Offset}, nil
	}
	in, err := b.Build(n.Input)
	if err != nil {
		return nil, err
	}
	if in.Partitions() > 1 {
		in = &exec.Gather{Input: in}
	}
	return &exec.Limit{Input: in, Count: n.Count, Offset: n.Offset}, nil
}

// resolveLimit evaluates a LIMIT or OFFSET that depends on parameters,
// now that their values are known.
func (b *Builder) resolveLimit(n *logical.Limit) (*logical.Limit, error) {
	if n.CountExpr == nil && n.OffsetExpr == nil {
		return n, nil
	}
	out := &logical.Limit{Input: n.Input, Count: n.Count, Offset: n.Offset}
	if n.CountExpr != nil {
		v, isNull, err := b.evalLimitArg(n.CountExpr)
		if err != nil {
			return nil, err
		}
		out.Count = -1
		if !isNull {
			if v < 0 {
				return nil, sqlerr.New(sqlerr.InvalidRowCount, "LIMIT must not be negative")
			}
			out.Count = v
		}
	}
	if n.OffsetExpr != nil {
		v, isNull, err := b.evalLimitArg(n.OffsetExpr)
		if err != nil {
			return nil, err
		}
		if !isNull {
			if v < 0 {
				return nil, sqlerr.New(sqlerr.InvalidOffset, "OFFSET must not be negative")
			}
			out.Offset = v
		}
	}
	return out, nil
}

// evalLimitArg evaluates a bigint expression over parameters only.
func (b *Builder) evalLimitArg(e logical.Expr) (v int64, isNull bool, err error) {
	d, err := b.evalRowFree(context.Background(), e)
	if err != nil || d == nil {
		return 0, d == nil, err
	}
	return d.(int64), false, nil
}

func (b *Builder) buildAggregate(n *logical.Aggregate) (exec.Operator, error) {
	n = b.hoistCommon(n)
	in, inCols, err := b.buildReading(n.Input, aggregateColumnsUsed(n))
	if err != nil {
		return nil, err
	}
	keys, err := b.compileAll(n.Groups, inCols)
	if err != nil {
		return nil, err
	}
	aggs := make([]exec.AggSpec, len(n.Aggs))
	for i, a := range n.Aggs {
		args, err := b.compileAll(a.Args, inCols)
		if err != nil {
			return nil, err
		}
		var filter exec.Expr
		if a.Filter != nil {
			if filter, err = b.Compile(a.Filter, inCols); err != nil {
				return nil, err
			}
		}
		order, err := b.sortKeys(a.OrderBy, inCols)
		if err != nil {
			return nil, err
		}
		aggs[i] = exec.AggSpec{Name: a.Name, Args: args, Distinct: a.Distinct, Filter: filter, OrderBy: order, New: a.New, T: a.T}
	}
	return &exec.HashAggregate{Env: b.Env.ForOperator("HashAggregate"), Input: in, Keys: keys, Aggs: aggs, Out: b.schema(n.Cols)}, nil
}

func (b *Builder) buildWindow(n *logical.Window) (exec.Operator, error) {
	in, err := b.Build(n.Input)
	if err != nil {
		return nil, err
	}
	inCols := n.Input.Columns()
	funcs := make([]exec.WindowFunc, len(n.Funcs))
	for i, f := range n.Funcs {
		args, err := b.compileAll(f.Args, inCols)
		if err != nil {
			return nil, err
		}
		parts, err := b.compileAll(f.PartitionBy, inCols)
		if err != nil {
			return nil, err
		}
		order, err := b.sortKeys(f.OrderBy, inCols)
		if err != nil {
			return nil, err
		}
		funcs[i] = exec.WindowFunc{Name: f.Name, Args: args, PartitionBy: parts, OrderBy: order, Frame: f.Frame, T: f.T, NewAcc: f.NewAcc}
	}
	return &exec.Window{Env: b.Env, Input: in, Funcs: funcs, Out: b.schema(n.Columns())}, nil
}

func (b *Builder) buildSetOp(n *logical.SetOp) (exec.Operator, error) {
	l, err := b.Build(n.Left)
	if err != nil {
		return nil, err
	}
	r, err := b.Build(n.Right)
	if err != nil {
		return nil, err
	}
	out := b.schema(n.Cols)
	switch n.Kind {
	case logical.Union:
		u := &exec.UnionAll{Inputs: []exec.Operator{l, r}, Out: out}
		if n.All {
			return u, nil
		}
		keys := make([]exec.Expr, len(n.Cols))
		for i, c := range n.Cols {
			keys[i] = &exec.ColumnExpr{Index: i, T: c.T, Name: c.Name}
		}
		return &exec.HashAggregate{Env: b.Env.ForOperator("HashAggregate"), Input: u, Keys: keys, Out: out}, nil
	}
	kind := exec.Except
	if n.Kind == logical.Intersect {
		kind = exec.Intersect
	}
	return &exec.SetOp{Env: b.Env, Kind: kind, All: n.All, Left: relabel(l, out), Right: r, Types: columnTypes(n.Cols)}, nil
}

// columnTypes are the SQL types of cols, which key comparisons need
// (Arrow's types lose char(n)'s).
func columnTypes(cols []logical.Column) []types.T {
	out := make([]types.T, len(cols))
	for i, c := range cols {
		out[i] = c.T
	}
	return out
}

func relabel(op exec.Operator, out *arrow.Schema) exec.Operator {
	return &exec.UnionAll{Inputs: []exec.Operator{op}, Out: out}
}

// sharedResult builds a shared WITH query's body once per statement, for
// all its references.
func (b *Builder) sharedResult(sp *logical.SharedPlan) (*exec.SharedResult, error) {
	if src, ok := b.shared[sp]; ok {
		return src, nil
	}
	body, err := b.Build(sp.Plan)
	if err != nil {
		return nil, err
	}
	src := &exec.SharedResult{Name: sp.Name, Input: body}
	if b.shared == nil {
		b.shared = map[*logical.SharedPlan]*exec.SharedResult{}
	}
	b.shared[sp] = src
	b.releasers = append(b.releasers, src)
	return src, nil
}
