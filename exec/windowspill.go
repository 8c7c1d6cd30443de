package exec

import (
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// A window whose functions share their PARTITION BY need not hold its
// whole input while the statement has a memory limit: once the input
// passes the window's share, it sorts the input by partition (with Sort,
// which spills) and computes the functions over groups of whole
// partitions as they come out of the sort. Only a single partition larger
// than the limit still fails with 53200.

// partitionKeys is the PARTITION BY every function shares; nil when
// they differ or one has none.
func (w *Window) partitionKeys() []Expr {
	if len(w.Funcs) == 0 || len(w.Funcs[0].PartitionBy) == 0 {
		return nil
	}
	want := exprsString(w.Funcs[0].PartitionBy)
	for _, f := range w.Funcs[1:] {
		if exprsString(f.PartitionBy) != want {
			return nil
		}
	}
	return w.Funcs[0].PartitionBy
}

func exprsString(es []Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

func (w *Window) explainSpill() string { return w.stats.explainSpill() }

// SpilledBytes is what the window's sort wrote to spill files.
func (w *Window) SpilledBytes() int64 { return w.stats.SpilledBytes() }

// openByPartitions reads the input as the in-memory window does while
// it fits in the window's share; past it, it sorts everything by
// partition (spilling) and streams the output a group of whole
// partitions at a time, in the order the in-memory window yields: by
// partition, then by the first function's ORDER BY.
func (w *Window) openByPartitions(ctx context.Context) (Stream, error) {
	in, err := (&Gather{Input: w.Input}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	p := &windowPartitions{w: w, in: in, parts: w.partitionKeys(), ec: newEvalContext(ctx, w.Env), acct: w.Env.spillAccount("Window")}
	return &funcStream{next: p.next, close: p.close}, nil
}

// start reads the input until it ends, then computes the window in
// memory as it always did, or until it no longer fits, then goes on
// through a sort by partition.
func (p *windowPartitions) start(ctx context.Context) error {
	var buffered []arrow.Record
	var held int64
	defer func() {
		ReleaseRecords(buffered)
		p.acct.Add(-held)
	}()
	for {
		b, err := p.in.Next(ctx)
		if err == io.EOF {
			all, err := Concat(p.ec.Mem, p.w.Input.Schema(), buffered)
			if err != nil {
				return err
			}
			defer all.Release()
			p.done = true
			p.out, err = p.w.computeAll(p.ec, all)
			return err
		}
		if err != nil {
			return err
		}
		n := recordBytes(b)
		buffered = append(buffered, b)
		held += n
		p.acct.Add(n)
		// computing in memory takes about three times the input
		if p.w.Env.shouldSpill(3 * held) {
			break
		}
	}
	keys := make([]SortKey, 0, len(p.parts)+len(p.w.Funcs[0].OrderBy))
	for _, e := range p.parts {
		keys = append(keys, SortKey{Expr: e})
	}
	keys = append(keys, p.w.Funcs[0].OrderBy...)
	rest := &replayInput{schema: p.w.Input.Schema(), batches: buffered, in: p.in}
	buffered = nil // the sort reads them now
	sorted, err := (&Sort{Env: p.w.Env, Input: rest, Keys: keys, report: &p.w.stats}).Open(ctx, 0)
	if err != nil {
		rest.release()
		return err
	}
	p.in = sorted // closing it closes the input
	return nil
}

// replayInput is an operator of one partition that yields batches
// already read from a stream, then the rest of the stream.
type replayInput struct {
	schema  *arrow.Schema
	batches []arrow.Record
	in      Stream
}

func (r *replayInput) Schema() *arrow.Schema { return r.schema }
func (r *replayInput) Partitions() int       { return 1 }
func (r *replayInput) Children() []Operator  { return nil }
func (r *replayInput) Explain() string       { return "rows read so far, then the rest" }

func (r *replayInput) Open(ctx context.Context, _ int) (Stream, error) {
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if len(r.batches) > 0 {
			b := r.batches[0]
			r.batches = r.batches[1:]
			return b, nil
		}
		return r.in.Next(ctx)
	}, close: r.release}, nil
}

func (r *replayInput) release() {
	ReleaseRecords(r.batches)
	r.batches = nil
	r.in.Close()
}

// windowPartitions cuts the sorted input into partitions.
type windowPartitions struct {
	w     *Window
	in    Stream
	parts []Expr
	ec    *EvalContext
	acct  *MemoryAccount

	complete     []arrow.Record // whole partitions not yet computed
	completeRows int64
	current      []arrow.Record // the partition still being read
	lastKey      []types.Datum  // its partition key
	held         int64          // bytes of complete and current
	out          []arrow.Record
	started      bool
	done         bool
}

func (p *windowPartitions) next(ctx context.Context) (arrow.Record, error) {
	p.ec.Ctx = ctx
	if !p.started {
		p.started = true
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	for len(p.out) == 0 {
		if p.done {
			return nil, io.EOF
		}
		b, err := p.in.Next(ctx)
		if err == io.EOF {
			p.done = true
			p.endPartition()
			if err := p.compute(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := p.cut(b); err != nil {
			return nil, err
		}
		// computing takes about three times the partitions' size
		if p.completeRows >= int64(p.w.Env.BatchSize) || (p.completeRows > 0 && 3*p.held > p.w.Env.spillShare()) {
			if err := p.compute(); err != nil {
				return nil, err
			}
		}
	}
	b := p.out[0]
	p.out = p.out[1:]
	return b, nil
}

// cut splits b where its partition key changes, ending partitions.
func (p *windowPartitions) cut(b arrow.Record) error {
	defer b.Release()
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	cols, err := evalAll(p.ec, b, p.parts)
	if err != nil {
		return err
	}
	defer releaseAll(cols)
	key := func(row int) []types.Datum {
		k := make([]types.Datum, len(cols))
		for i, c := range cols {
			k[i] = DatumAt(c, row)
		}
		return k
	}
	start := 0
	prev := p.lastKey
	for row := 0; row < n; row++ {
		k := key(row)
		if prev != nil && !sameKey(prev, k) {
			p.add(b.NewSlice(int64(start), int64(row)))
			p.endPartition()
			start = row
		}
		prev = k
	}
	p.add(b.NewSlice(int64(start), int64(n)))
	p.lastKey = prev
	return nil
}

// sameKey compares partition keys as the in-memory window does (NULLs
// are one partition).
func sameKey(a, b []types.Datum) bool {
	for i := range a {
		if CompareDatums(types.T{}, a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}

func (p *windowPartitions) add(slice arrow.Record) {
	if slice.NumRows() == 0 {
		slice.Release()
		return
	}
	n := recordBytes(slice)
	p.held += n
	p.acct.Add(n)
	p.current = append(p.current, slice)
}

func (p *windowPartitions) endPartition() {
	for _, r := range p.current {
		p.completeRows += r.NumRows()
	}
	p.complete = append(p.complete, p.current...)
	p.current = nil
}

// compute runs the functions over the complete partitions.
func (p *windowPartitions) compute() error {
	if len(p.complete) == 0 {
		return nil
	}
	all, err := Concat(p.ec.Mem, p.w.Input.Schema(), p.complete)
	var freed int64
	for _, r := range p.complete {
		freed += recordBytes(r)
	}
	ReleaseRecords(p.complete)
	p.complete, p.completeRows = nil, 0
	p.held -= freed
	p.acct.Add(-freed)
	if err != nil {
		return err
	}
	defer all.Release()
	p.out, err = p.w.computeAll(p.ec, all)
	return err
}

func (p *windowPartitions) close() {
	p.in.Close()
	ReleaseRecords(p.complete)
	ReleaseRecords(p.current)
	ReleaseRecords(p.out)
	p.acct.Add(-p.held)
	p.acct.Close()
	p.complete, p.current, p.out, p.held = nil, nil, nil, 0
}
