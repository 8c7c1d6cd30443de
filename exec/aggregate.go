package exec

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
	"golang.org/x/sync/errgroup"
)

// AggSpec is one aggregate call of a HashAggregate.
type AggSpec struct {
	Name     string
	Args     []Expr
	Distinct bool
	Filter   Expr      // optional FILTER (WHERE …)
	OrderBy  []SortKey // optional ORDER BY inside the call
	New      func() Accumulator
	T        types.T
}

func (a AggSpec) String() string {
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
		order += map[bool]string{true: " ORDER BY ", false: ", "}[i == 0] + k.String()
	}
	return a.Name + "(" + d + strings.Join(parts, ", ") + order + ")"
}

// HashAggregate groups rows by key expressions and computes aggregates. Each
// input partition is aggregated in its own goroutine into a local table
// (the partial phase); the local tables are then merged (the final phase)
// and the result streamed as one partition.
type HashAggregate struct {
	Env   *Env
	Input Operator
	Keys  []Expr
	Aggs  []AggSpec
	Out   *arrow.Schema
	stats spillStats // what it spilled (aggspill.go)
	// report, when set, counts what it spills instead of stats (the
	// steps of a DISTINCT aggregate count into the operator's)
	report *spillStats
}

func (h *HashAggregate) spillStats() *spillStats {
	if h.report != nil {
		return h.report
	}
	return &h.stats
}

func (h *HashAggregate) Schema() *arrow.Schema { return h.Out }
func (h *HashAggregate) Partitions() int       { return 1 }
func (h *HashAggregate) Children() []Operator  { return []Operator{h.Input} }
func (h *HashAggregate) Explain() string {
	keys := make([]string, len(h.Keys))
	for i, k := range h.Keys {
		keys[i] = k.String()
	}
	aggs := make([]string, len(h.Aggs))
	for i, a := range h.Aggs {
		aggs[i] = a.String()
	}
	return fmt.Sprintf("HashAggregate keys=[%s] aggs=[%s] (partial per partition: %d, then final)",
		strings.Join(keys, ", "), strings.Join(aggs, ", "), h.Input.Partitions())
}

type aggState struct {
	groups *groupTable
	accs   []Accumulator
}

func (s *aggState) release() {
	s.groups.release()
	for _, a := range s.accs {
		if r, ok := a.(ReleasingAccumulator); ok {
			r.Release()
		}
	}
}

func (h *HashAggregate) newState(ec *EvalContext) *aggState {
	return h.newSeededState(ec, maphash.MakeSeed())
}

// newSeededState is a state whose table hashes with seed.
func (h *HashAggregate) newSeededState(ec *EvalContext, seed maphash.Seed) *aggState {
	st := &aggState{groups: newSeededGroupTable(ec, exprTypes(h.Keys), seed)}
	for _, a := range h.Aggs {
		acc := a.New()
		if len(a.OrderBy) > 0 {
			acc = newOrderedAcc(acc, a)
		} else if a.Distinct {
			acc = newDistinctAcc(acc, a, len(h.Keys) > 0)
		}
		st.accs = append(st.accs, acc)
	}
	return st
}

func exprTypes(xs []Expr) []types.T {
	out := make([]types.T, len(xs))
	for i, x := range xs {
		out[i] = x.Type()
	}
	return out
}

func (h *HashAggregate) Open(ctx context.Context, _ int) (Stream, error) {
	if h.Env.canSpill() {
		if two := h.distinctInTwoSteps(); two != nil {
			return two.Open(ctx, 0)
		}
		if len(h.Keys) > 0 {
			return h.openSpilling(), nil
		}
	}
	var out []arrow.Record
	done := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if !done {
			done = true
			res, err := h.run(ctx)
			if err != nil {
				return nil, err
			}
			out = res
		}
		if len(out) == 0 {
			return nil, io.EOF
		}
		b := out[0]
		out = out[1:]
		return b, nil
	}, close: func() { ReleaseRecords(out); out = nil }}, nil
}

func (h *HashAggregate) run(ctx context.Context) ([]arrow.Record, error) {
	n := h.Input.Partitions()
	states := make([]*aggState, n)
	g, gctx := errgroup.WithContext(ctx)
	for p := 0; p < n; p++ {
		g.Go(func() error {
			return guard(func() error {
				ec := newEvalContext(gctx, h.Env)
				states[p] = h.newState(ec)
				return h.consume(gctx, ec, p, states[p])
			})
		})
	}
	defer func() {
		for _, s := range states {
			if s != nil {
				s.release()
			}
		}
	}()
	if err := g.Wait(); err != nil {
		return nil, err
	}
	ec := newEvalContext(ctx, h.Env)
	final := states[0]
	for _, st := range states[1:] {
		if err := h.merge(ec, final, st); err != nil {
			return nil, err
		}
	}
	return h.emit(ec, final)
}

func (h *HashAggregate) consume(ctx context.Context, ec *EvalContext, part int, st *aggState) error {
	in, err := h.Input.Open(ctx, part)
	if err != nil {
		return err
	}
	defer in.Close()
	ec, recycled := newRecyclingContext(ec)
	defer recycled()
	var groups []uint32
	mode := h.aggregatesSelect()
	for {
		b, sel, err := nextSelectedFrom(ctx, in)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		groups, err = h.updateSel(ec, st, b, sel, groups, mode)
		b.Release()
		if err != nil {
			return err
		}
	}
}

func (h *HashAggregate) update(ec *EvalContext, st *aggState, b arrow.Record, groups []uint32) ([]uint32, error) {
	keys, err := evalAll(ec, b, h.Keys)
	if err != nil {
		return groups, err
	}
	defer releaseAll(keys)
	groups = st.groups.lookup(keys, int(b.NumRows()), groups)
	return groups, h.updateAggs(ec, st, b, groups)
}

// updateAggs folds b's rows into the aggregates of their groups.
func (h *HashAggregate) updateAggs(ec *EvalContext, st *aggState, b arrow.Record, groups []uint32) error {
	for i, a := range h.Aggs {
		if err := h.updateOne(ec, st, i, a, b, groups); err != nil {
			return err
		}
	}
	return nil
}

func (h *HashAggregate) updateOne(ec *EvalContext, st *aggState, i int, a AggSpec, b arrow.Record, groups []uint32) error {
	if a.Filter != nil {
		fb, err := filterWithGroups(ec, b, a.Filter, groups)
		if err != nil {
			return err
		}
		defer fb.batch.Release()
		b, groups = fb.batch, fb.groups
	}
	exprs := a.Args
	for _, k := range a.OrderBy {
		exprs = append(exprs[:len(exprs):len(exprs)], k.Expr) // the ordered accumulator splits them off
	}
	args, err := evalAll(ec, b, exprs)
	if err != nil {
		return err
	}
	defer releaseAll(args)
	return st.accs[i].Update(ec, groups, st.groups.n, args)
}

type filtered struct {
	batch  arrow.Record
	groups []uint32
}

func filterWithGroups(ec *EvalContext, b arrow.Record, pred Expr, groups []uint32) (filtered, error) {
	mask, err := pred.Eval(ec, b)
	if err != nil {
		return filtered{}, err
	}
	defer mask.Release()
	bm := mask.(*array.Boolean)
	var keep []uint32
	var idx []int
	for i := 0; i < bm.Len(); i++ {
		if bm.IsValid(i) && bm.Value(i) {
			keep = append(keep, groups[i])
			idx = append(idx, i)
		}
	}
	out, err := takeRecord(ec, b, idx)
	if err != nil {
		return filtered{}, err
	}
	return filtered{batch: out, groups: keep}, nil
}

func (h *HashAggregate) merge(ec *EvalContext, dst, src *aggState) error {
	keys := src.groups.keyArrays()
	defer releaseAll(keys)
	mapping := dst.groups.lookup(keys, src.groups.n, nil)
	if len(h.Keys) == 0 {
		mapping = []uint32{0}
	}
	for i := range dst.accs {
		if m, ok := dst.accs[i].(FallibleMerger); ok {
			if err := m.MergeErr(ec, src.accs[i], mapping, dst.groups.n); err != nil {
				return err
			}
			continue
		}
		dst.accs[i].Merge(src.accs[i], mapping, dst.groups.n)
	}
	return nil
}

func (h *HashAggregate) emit(ec *EvalContext, st *aggState) ([]arrow.Record, error) {
	ng := st.groups.n
	if len(h.Keys) == 0 {
		ng = 1
	}
	cols := st.groups.keyArrays()
	defer func() { releaseAll(cols) }()
	for _, acc := range st.accs {
		a, err := acc.Finish(ec, ng)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	whole := array.NewRecord(h.Out, cols, int64(ng))
	defer whole.Release()
	var out []arrow.Record
	for start := 0; start < ng; start += h.Env.BatchSize {
		end := min(ng, start+h.Env.BatchSize)
		out = append(out, whole.NewSlice(int64(start), int64(end)))
	}
	return out, nil
}

// compareRows orders value tuples ascending, NULLs last.
func compareRows(ts []types.T, a, b []types.Datum) int {
	for j, t := range ts {
		switch {
		case a[j] == nil && b[j] == nil:
			continue
		case a[j] == nil:
			return 1
		case b[j] == nil:
			return -1
		}
		if c := CompareDatums(t, a[j], b[j]); c != 0 {
			return c
		}
	}
	return 0
}
