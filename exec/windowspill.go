package exec

import (
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// A window whose functions share their PARTITION BY need not hold its
// whole input while the statement has a memory limit: it sorts the input
// by partition (with Sort, which spills past its share) and computes the
// functions over groups of whole partitions as they come out of the sort.
// Only a single partition larger than the limit still fails with 53200.

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

// openByPartitions streams the window's output a group of whole
// partitions at a time, in the order the in-memory window yields: by
// partition, then by the first function's ORDER BY.
func (w *Window) openByPartitions(ctx context.Context) (Stream, error) {
	parts := w.partitionKeys()
	keys := make([]SortKey, 0, len(parts)+len(w.Funcs[0].OrderBy))
	for _, p := range parts {
		keys = append(keys, SortKey{Expr: p})
	}
	keys = append(keys, w.Funcs[0].OrderBy...)
	sorted, err := (&Sort{Env: w.Env, Input: w.Input, Keys: keys, report: &w.stats}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	p := &windowPartitions{w: w, in: sorted, parts: parts, ec: newEvalContext(ctx, w.Env), acct: w.Env.spillAccount("Window")}
	return &funcStream{next: p.next, close: p.close}, nil
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
	done         bool
}

func (p *windowPartitions) next(ctx context.Context) (arrow.Record, error) {
	p.ec.Ctx = ctx
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
	p.complete, p.current, p.out, p.held = nil, nil, nil, 0
}
