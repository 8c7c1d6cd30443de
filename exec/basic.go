package exec

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/storage"
	"golang.org/x/sync/errgroup"
)

// Scan reads the partitions of a table snapshot, projecting columns.
// Batches read on demand are read as the scan reaches them; those whose
// zone maps rule out one of Ranges are skipped unread (storage's zone.go).
type Scan struct {
	Name    string
	Parts   [][]arrow.Record // the snapshot's batches per partition (not owned)
	Columns []int            // table column ordinals to output
	Out     *arrow.Schema
	// Ranges are conditions "column op constant" (Col a table column
	// ordinal) every row the plan keeps meets; the plan filters the
	// rows of the batches read.
	Ranges []datafile.Range
	// RangeNames name Ranges' columns (for Explain)
	RangeNames []string

	skipped atomic.Int64 // segments skipped
}

func (s *Scan) Schema() *arrow.Schema { return s.Out }
func (s *Scan) Partitions() int {
	return max(1, len(s.Parts))
}
func (s *Scan) Children() []Operator { return nil }
func (s *Scan) Explain() string {
	out := fmt.Sprintf("Scan %s (partitions: %d)", s.Name, len(s.Parts))
	if len(s.Ranges) > 0 && s.hasZones() {
		conds := make([]string, len(s.Ranges))
		for i, r := range s.Ranges {
			name := fmt.Sprint(r.Col)
			if i < len(s.RangeNames) {
				name = s.RangeNames[i]
			}
			conds[i] = fmt.Sprintf("%s %s %v", name, r.Op, r.Value)
		}
		out += fmt.Sprintf(" segment filter: %s; segments skipped: %d", strings.Join(conds, " AND "), s.skipped.Load())
	}
	return out
}

// hasZones reports whether any batch has zone maps (is a stored segment):
// only then does the scan's segment filter do anything worth showing.
func (s *Scan) hasZones() bool {
	for _, p := range s.Parts {
		for _, b := range p {
			if z, ok := b.(storage.Zoned); ok && z.Zones() != nil {
				return true
			}
		}
	}
	return false
}

// Skipped reports the segments the scan has skipped on their zone maps.
func (s *Scan) Skipped() int64 { return s.skipped.Load() }

func (s *Scan) Open(ctx context.Context, part int) (Stream, error) {
	var batches []arrow.Record
	if part < len(s.Parts) {
		batches = s.Parts[part]
	}
	i := 0
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if i >= len(batches) {
				return nil, io.EOF
			}
			b := batches[i]
			i++
			if s.ruledOut(b) {
				s.skipped.Add(1)
				continue
			}
			if err := catalog.LoadBatch(b); err != nil {
				return nil, err
			}
			cols := make([]arrow.Array, len(s.Columns))
			for j, c := range s.Columns {
				cols[j] = b.Column(c)
			}
			return array.NewRecord(s.Out, cols, b.NumRows()), nil
		}
	}}, nil
}

// ruledOut reports whether b's zone maps rule out one of the ranges.
func (s *Scan) ruledOut(b arrow.Record) bool {
	if len(s.Ranges) == 0 {
		return false
	}
	z, ok := b.(storage.Zoned)
	return ok && storage.ZonesRuleOut(z.Zones(), b.NumRows(), s.Ranges)
}

// Filter keeps rows where the predicate is true.
type Filter struct {
	Env   *Env
	Input Operator
	Pred  Expr
	// Keep, when set, lists the input columns passed on (those the plan
	// reads above the filter), and Out is their schema: the kept rows of
	// a column read only by the predicate are never copied.
	Keep []int
	Out  *arrow.Schema
}

func (f *Filter) Schema() *arrow.Schema {
	if f.Out != nil {
		return f.Out
	}
	return f.Input.Schema()
}
func (f *Filter) Partitions() int      { return f.Input.Partitions() }
func (f *Filter) Children() []Operator { return []Operator{f.Input} }
func (f *Filter) Explain() string      { return "Filter " + f.Pred.String() }

func (f *Filter) Open(ctx context.Context, part int) (Stream, error) {
	in, err := f.Input.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	ec, recycled := newRecyclingContext(newEvalContext(ctx, f.Env))
	// the key bitmap the join above lent this run (joinfilter.go); it
	// comes with the run's context, not on the operator, because runs for
	// other outer rows open the same Filter at the same time
	kf := keyFilterFor(ctx, f)
	var sel []int32 // reused from batch to batch
	next := func(ctx context.Context) (arrow.Record, error) {
		for {
			b, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			var out arrow.Record
			out, sel, err = f.filterBatch(ec, kf, b, sel)
			b.Release()
			if err != nil {
				return nil, err
			}
			if out == nil {
				continue
			}
			return out, nil
		}
	}
	nextSel := func(ctx context.Context) (arrow.Record, []int32, error) {
		for {
			b, err := in.Next(ctx)
			if err != nil {
				return nil, nil, err
			}
			var out arrow.Record
			var kept []int32
			out, kept, sel, err = f.selectBatch(ec, kf, b, sel)
			b.Release()
			if err != nil {
				return nil, nil, err
			}
			if out == nil {
				continue
			}
			return out, kept, nil
		}
	}
	return &selFuncStream{funcStream: funcStream{next: next, close: func() { in.Close(); recycled() }}, nextSel: nextSel}, nil
}

// selectBatch is filterBatch for a caller that reads through a selection:
// when the predicate keeps some rows of b but not all, the columns Keep
// names come uncopied with the kept rows (sel's memory); otherwise as
// from filterBatch, with a nil selection. The caller decides whether to
// read through the selection or copy the rows out.
func (f *Filter) selectBatch(ec *EvalContext, kf *probeKeyFilter, b arrow.Record, sel []int32) (out arrow.Record, kept, buf []int32, err error) {
	kept, sel, err = f.keptOf(ec, kf, b, sel)
	if err != nil {
		return nil, nil, sel, err
	}
	if len(kept) == 0 || len(kept) == int(b.NumRows()) {
		out, err = f.keptRows(ec, b, kept)
		return out, nil, sel, err
	}
	if f.Keep == nil {
		b.Retain()
		return b, kept, sel, nil
	}
	return projectColumns(b, f.Keep, f.Out), kept, sel, nil
}

// filterBatch returns the rows of b for which the predicate is true, with
// the columns Keep names (a new reference; nil when no row is), and the
// selection buffer for the next batch.
func (f *Filter) filterBatch(ec *EvalContext, kf *probeKeyFilter, b arrow.Record, sel []int32) (arrow.Record, []int32, error) {
	kept, sel, err := f.keptOf(ec, kf, b, sel)
	if err != nil {
		return nil, sel, err
	}
	out, err := f.keptRows(ec, b, kept)
	return out, sel, err
}

// keptOf returns the rows of b the predicate (and kf, when not nil)
// keeps, written over sel (grown to b's rows as needed), and sel for the
// next batch.
func (f *Filter) keptOf(ec *EvalContext, kf *probeKeyFilter, b arrow.Record, sel []int32) (kept, buf []int32, err error) {
	n := int(b.NumRows())
	if cap(sel) < n {
		sel = make([]int32, n)
	}
	sel = sel[:n]
	for i := range sel {
		sel[i] = int32(i)
	}
	kept, err = selectWhere(ec, b, f.Pred, sel, true, sel[:0])
	if kf != nil && err == nil && len(kept) > 0 {
		kept, _ = kf.bitmap.narrow(b.Column(kf.col), kept)
	}
	return kept, sel, err
}

// keptRows returns the rows kept of b with the columns Keep names (a new
// reference; nil when kept is empty), copied out unless they are all of
// b's.
func (f *Filter) keptRows(ec *EvalContext, b arrow.Record, kept []int32) (arrow.Record, error) {
	switch {
	case len(kept) == 0:
		return nil, nil
	case len(kept) == int(b.NumRows()) && f.Keep == nil:
		b.Retain()
		return b, nil
	case len(kept) == int(b.NumRows()):
		return projectColumns(b, f.Keep, f.Out), nil
	}
	cols, schema := f.Keep, f.Out
	if cols == nil {
		cols, schema = allColumns(b), b.Schema()
	}
	return gatherRecord(ec, b, kept, cols, schema)
}

// projectColumns is a record of b's columns cols (no copy).
func projectColumns(b arrow.Record, cols []int, schema *arrow.Schema) arrow.Record {
	arrs := make([]arrow.Array, len(cols))
	for k, c := range cols {
		arrs[k] = b.Column(c)
	}
	return array.NewRecord(schema, arrs, b.NumRows())
}

func allColumns(b arrow.Record) []int {
	cols := make([]int, b.NumCols())
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// FilterByMask returns the rows of b where mask is true (a new reference).
func FilterByMask(ctx context.Context, mem memory.Allocator, b arrow.Record, mask *array.Boolean) (arrow.Record, error) {
	return filterByMask(&EvalContext{Ctx: ctx, Mem: mem}, b, mask)
}

func filterByMask(ec *EvalContext, b arrow.Record, bm *array.Boolean) (arrow.Record, error) {
	idx := make([]int32, 0, bm.Len())
	for i := 0; i < bm.Len(); i++ {
		if bm.IsValid(i) && bm.Value(i) {
			idx = append(idx, int32(i))
		}
	}
	if len(idx) == bm.Len() {
		b.Retain()
		return b, nil
	}
	return gatherRecord(ec, b, idx, allColumns(b), b.Schema())
}

// Project computes expressions over each batch.
type Project struct {
	Env   *Env
	Input Operator
	Exprs []Expr
	Out   *arrow.Schema
}

func (p *Project) Schema() *arrow.Schema { return p.Out }
func (p *Project) Partitions() int       { return p.Input.Partitions() }
func (p *Project) Children() []Operator  { return []Operator{p.Input} }
func (p *Project) Explain() string {
	parts := make([]string, len(p.Exprs))
	for i, e := range p.Exprs {
		parts[i] = e.String()
	}
	return "Project " + strings.Join(parts, ", ")
}

func (p *Project) Open(ctx context.Context, part int) (Stream, error) {
	in, err := p.Input.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	ec, recycled := newRecyclingContext(newEvalContext(ctx, p.Env))
	fs := funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		b, err := in.Next(ctx)
		if err != nil {
			return nil, err
		}
		defer b.Release()
		return p.project(ec, b)
	}, close: func() { in.Close(); recycled() }}
	if _, ok := in.(selectionStream); !ok {
		return &fs, nil
	}
	safe, plain := allSelectionSafe(p.Exprs), allPlainColumns(p.Exprs)
	return &selFuncStream{funcStream: fs, nextSel: func(ctx context.Context) (arrow.Record, []int32, error) {
		b, sel, err := nextSelectedFrom(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		defer b.Release()
		return p.projectSelected(ec, b, sel, safe, plain)
	}}, nil
}

func (p *Project) project(ec *EvalContext, b arrow.Record) (arrow.Record, error) {
	cols, err := evalAll(ec, b, p.Exprs)
	if err != nil {
		return nil, err
	}
	defer releaseAll(cols)
	return array.NewRecord(p.Out, cols, b.NumRows()), nil
}

// projectSelected projects the rows sel of b (nil: all): over the whole
// batch, keeping the selection, when the expressions are plain columns
// (nothing to evaluate), or when the selection is dense and they are
// safe to run on the other rows and do not fail there; else over the
// rows copied out.
func (p *Project) projectSelected(ec *EvalContext, b arrow.Record, sel []int32, safe, plain bool) (arrow.Record, []int32, error) {
	if sel == nil {
		out, err := p.project(ec, b)
		return out, nil, err
	}
	if plain || (safe && passSelection(sel, int(b.NumRows()))) {
		cols, ok, err := evalWhole(ec, b, p.Exprs)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			defer releaseAll(cols)
			return array.NewRecord(p.Out, cols, b.NumRows()), sel, nil
		}
	}
	compact, err := compactRecord(ec, b, sel)
	if err != nil {
		return nil, nil, err
	}
	defer compact.Release()
	out, err := p.project(ec, compact)
	return out, nil, err
}

// Values produces literal rows (one partition).
type Values struct {
	Env  *Env
	Rows [][]Expr
	Out  *arrow.Schema
}

func (v *Values) Schema() *arrow.Schema { return v.Out }
func (v *Values) Partitions() int       { return 1 }
func (v *Values) Children() []Operator  { return nil }
func (v *Values) Explain() string       { return fmt.Sprintf("Values (%d rows)", len(v.Rows)) }

func (v *Values) Open(ctx context.Context, part int) (Stream, error) {
	done := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		return v.build(ctx)
	}}, nil
}

func (v *Values) build(ctx context.Context) (arrow.Record, error) {
	ec := newEvalContext(ctx, v.Env)
	one := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	builders := make([]array.Builder, v.Out.NumFields())
	for i := range builders {
		// (Field, not Fields: that one copies the list)
		builders[i] = array.NewBuilder(ec.Mem, v.Out.Field(i).Type)
		defer builders[i].Release()
	}
	for _, row := range v.Rows {
		for c, x := range row {
			if k, ok := x.(*ConstExpr); ok && arrow.TypeEqual(k.T.Arrow(), builders[c].Type()) {
				// a literal goes in as it is, not through an array of
				// one value (most of an INSERT … VALUES' own cost)
				AppendDatum(builders[c], k.Value)
				continue
			}
			a, err := x.Eval(ec, one)
			if err != nil {
				return nil, err
			}
			AppendDatum(builders[c], DatumAt(a, 0))
			a.Release()
		}
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		cols[i] = b.NewArray()
	}
	defer releaseAll(cols)
	return array.NewRecord(v.Out, cols, int64(len(v.Rows))), nil
}

// Limit skips Offset rows and stops after Count (Count < 0: no limit). It
// reads a single partition.
type Limit struct {
	Input         Operator
	Count, Offset int64
}

func (l *Limit) Schema() *arrow.Schema { return l.Input.Schema() }
func (l *Limit) Partitions() int       { return 1 }
func (l *Limit) Children() []Operator  { return []Operator{l.Input} }
func (l *Limit) Explain() string {
	return fmt.Sprintf("Limit %d offset %d", l.Count, l.Offset)
}

func (l *Limit) Open(ctx context.Context, part int) (Stream, error) {
	in, err := l.Input.Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	skip, left := l.Offset, l.Count
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			if left == 0 {
				return nil, io.EOF
			}
			b, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			n := b.NumRows()
			if skip >= n {
				skip -= n
				b.Release()
				continue
			}
			end := n
			if left >= 0 && skip+left < n {
				end = skip + left
			}
			out := b.NewSlice(skip, end)
			b.Release()
			if left > 0 {
				left -= end - skip
			}
			skip = 0
			return out, nil
		}
	}, close: in.Close}, nil
}

// Gather merges all partitions of its input into one stream, running each
// input partition in its own goroutine.
type Gather struct {
	Input Operator
}

func (g *Gather) Schema() *arrow.Schema { return g.Input.Schema() }
func (g *Gather) Partitions() int       { return 1 }
func (g *Gather) Children() []Operator  { return []Operator{g.Input} }
func (g *Gather) Explain() string {
	return fmt.Sprintf("Gather (from %d partitions)", g.Input.Partitions())
}

func (g *Gather) Open(ctx context.Context, part int) (Stream, error) {
	n := g.Input.Partitions()
	if n == 1 {
		return g.Input.Open(ctx, 0)
	}
	return startParallel(ctx, n, func(ctx context.Context, p int, emit func(arrow.Record) bool) error {
		st, err := g.Input.Open(ctx, p)
		if err != nil {
			return err
		}
		defer st.Close()
		for {
			b, err := st.Next(ctx)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if !emit(b) {
				return ctx.Err()
			}
		}
	}), nil
}

// startParallel runs work for partitions 0..n-1 in goroutines; what they emit
// is streamed to the caller. Close cancels the workers and waits for them.
func startParallel(ctx context.Context, n int, work func(ctx context.Context, p int, emit func(arrow.Record) bool) error) Stream {
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	ch := make(chan arrow.Record, n*2)
	for p := 0; p < n; p++ {
		g.Go(func() error {
			return guard(func() error {
				return work(gctx, p, func(b arrow.Record) bool {
					select {
					case ch <- b:
						return true
					case <-gctx.Done():
						b.Release()
						return false
					}
				})
			})
		})
	}
	var werr error
	done := make(chan struct{})
	go func() {
		werr = g.Wait()
		close(ch)
		close(done)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			for b := range ch {
				b.Release()
			}
			<-done
		})
	}
	return &funcStream{next: func(_ context.Context) (arrow.Record, error) {
		b, ok := <-ch
		if ok {
			return b, nil
		}
		<-done
		if werr != nil {
			return nil, werr
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, io.EOF
	}, close: stop}
}
