package exec

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// WorkTable holds the rows of the previous round of a recursive CTE.
type WorkTable struct {
	mu      sync.Mutex
	batches []arrow.Record
}

func (w *WorkTable) set(bs []arrow.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ReleaseRecords(w.batches)
	w.batches = bs
}

func (w *WorkTable) snapshot() []arrow.Record {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]arrow.Record, len(w.batches))
	for i, b := range w.batches {
		b.Retain()
		out[i] = b
	}
	return out
}

// WorkScan reads a WorkTable.
type WorkScan struct {
	Table *WorkTable
	Out   *arrow.Schema
}

func (w *WorkScan) Schema() *arrow.Schema { return w.Out }
func (w *WorkScan) Partitions() int       { return 1 }
func (w *WorkScan) Children() []Operator  { return nil }
func (w *WorkScan) Explain() string       { return "WorkTableScan" }
func (w *WorkScan) Open(ctx context.Context, _ int) (Stream, error) {
	bs := w.Table.snapshot()
	for i, b := range bs {
		bs[i] = withSchema(b, w.Out)
		b.Release()
	}
	return &sliceStream{batches: bs}, nil
}

// RecursiveUnion evaluates a recursive CTE.
type RecursiveUnion struct {
	Env               *Env
	Anchor, Recursive Operator
	Work              *WorkTable
	Distinct          bool
	Out               *arrow.Schema
	// Types are the columns' SQL types, which UNION's duplicate test
	// compares by (char(n) without its padding); nil: from Out.
	Types []types.T
}

func (r *RecursiveUnion) Schema() *arrow.Schema { return r.Out }
func (r *RecursiveUnion) Partitions() int       { return 1 }
func (r *RecursiveUnion) Children() []Operator  { return []Operator{r.Anchor, r.Recursive} }
func (r *RecursiveUnion) Explain() string {
	if r.Distinct {
		return "RecursiveUnion"
	}
	return "RecursiveUnion All"
}

func (r *RecursiveUnion) Open(ctx context.Context, _ int) (Stream, error) {
	var out []arrow.Record
	done := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if !done {
			done = true
			res, err := r.run(ctx)
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
	}, close: func() { ReleaseRecords(out); out = nil; r.Work.set(nil) }}, nil
}

func (r *RecursiveUnion) run(ctx context.Context) ([]arrow.Record, error) {
	ec := newEvalContext(ctx, r.Env)
	kts := r.Types
	if kts == nil {
		kts = make([]types.T, r.Out.NumFields())
		for i, f := range r.Out.Fields() {
			kts[i], _ = types.FromArrow(f.Type)
		}
	}
	seen := map[string]bool{}
	var result []arrow.Record
	iteration := 0
	keepNew := func(bs []arrow.Record) ([]arrow.Record, error) {
		if !r.Distinct {
			return bs, nil
		}
		var kept []arrow.Record
		var kb []byte
		for _, b := range bs {
			var rows []int
			for i := 0; i < int(b.NumRows()); i++ {
				kb = encodeKey(kb[:0], kts, b.Columns(), i)
				if !seen[string(kb)] {
					seen[string(kb)] = true
					rows = append(rows, i)
				}
			}
			nb, err := takeRecord(ec, b, rows)
			b.Release()
			if err != nil {
				ReleaseRecords(kept)
				return nil, err
			}
			if nb.NumRows() == 0 {
				nb.Release()
				continue
			}
			kept = append(kept, nb)
		}
		return kept, nil
	}
	batches, err := DrainAll(ctx, r.Anchor)
	if err != nil {
		return nil, err
	}
	for len(batches) > 0 {
		// an unbounded recursion runs until cancelled
		if err := ctx.Err(); err != nil {
			ReleaseRecords(batches)
			ReleaseRecords(result)
			return nil, err
		}
		if batches, err = keepNew(batches); err != nil {
			ReleaseRecords(result)
			return nil, err
		}
		for _, b := range batches {
			nb := withSchema(b, r.Out)
			result = append(result, nb)
		}
		r.Work.set(batches)
		iteration++
		if batches, err = DrainAll(withRun(ctx, fmt.Sprintf("%p#%d", r, iteration)), r.Recursive); err != nil {
			ReleaseRecords(result)
			return nil, err
		}
	}
	r.Work.set(nil)
	return result, nil
}
