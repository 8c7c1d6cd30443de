package exec

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Instrumented wraps an operator and counts what flows out of it, for
// EXPLAIN ANALYZE. Time is the wall time spent inside Next, children
// included.
type Instrumented struct {
	Inner   Operator
	rows    atomic.Int64
	batches atomic.Int64
	nanos   atomic.Int64
}

func (i *Instrumented) Schema() *arrow.Schema { return i.Inner.Schema() }
func (i *Instrumented) Partitions() int       { return i.Inner.Partitions() }
func (i *Instrumented) Children() []Operator  { return i.Inner.Children() }
func (i *Instrumented) Explain() string {
	spilled := ""
	if s, ok := i.Inner.(interface{ explainSpill() string }); ok {
		spilled = s.explainSpill()
	}
	return fmt.Sprintf("%s (actual rows=%d batches=%d time=%.3f ms%s)", i.Inner.Explain(),
		i.rows.Load(), i.batches.Load(), float64(i.nanos.Load())/1e6, spilled)
}

// Release forwards to the inner operator when it holds resources.
func (i *Instrumented) Release() {
	if r, ok := i.Inner.(interface{ Release() }); ok {
		r.Release()
	}
}

func (i *Instrumented) Open(ctx context.Context, part int) (Stream, error) {
	st, err := i.Inner.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		start := time.Now()
		b, err := st.Next(ctx)
		i.nanos.Add(int64(time.Since(start)))
		if err == nil {
			i.rows.Add(b.NumRows())
			i.batches.Add(1)
		}
		return b, err
	}, close: st.Close}, nil
}

// FormatPlan renders an operator tree as indented text.
func FormatPlan(op Operator) string {
	var out string
	var walk func(op Operator, depth int)
	walk = func(op Operator, depth int) {
		prefix := ""
		for d := 0; d < depth; d++ {
			prefix += "  "
		}
		if depth > 0 {
			prefix += "-> "
		}
		out += prefix + op.Explain() + "\n"
		for _, c := range op.Children() {
			walk(c, depth+1)
		}
	}
	walk(op, 0)
	return out
}
