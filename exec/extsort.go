package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/exec/spill"
)

// External merge sort. While a statement has a memory limit, Sort reads
// its input into a buffer; when the buffer passes the sort's share of the
// limit, it sorts the buffer into a run, writes the run to a spill file
// and starts again. A sort that never spilled ends as the in-memory sort
// always did. Otherwise the runs are merged, at most mergeFanIn at a
// time, into longer runs until one merge can produce the output.
//
// A run holds the input's columns followed by the sort keys evaluated
// once, when the run was made: keys are not evaluated again (ORDER BY
// random() keeps its order), and merges compare the stored values with
// the same comparison the in-memory sort uses (compareKeyAt).

// mergeFanIn is how many runs one merge reads at once; each holds one
// chunk of its run in memory, so runs are written in chunks of about
// share/chunksPerShare bytes.
const (
	mergeFanIn     = 32
	chunksPerShare = 64
)

// externalSort is one opening of a Sort that may spill.
type externalSort struct {
	s        *Sort
	ec       *EvalContext
	acct     *MemoryAccount
	buffered []arrow.Record
	held     int64 // estimated bytes of buffered
	rows     int64 // rows of buffered
	runs     []*spill.File
	rowBytes int64 // bytes per row, as first measured (for chunk sizes)
}

func (s *Sort) openSpilling(ctx context.Context) (Stream, error) {
	in, err := (&Gather{Input: s.Input}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	x := &externalSort{s: s, ec: newEvalContext(ctx, s.Env), acct: s.Env.spillAccount("Sort")}
	var out Stream
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if out == nil {
			x.ec.Ctx = ctx
			var err error
			if out, err = x.run(ctx, in); err != nil {
				return nil, err
			}
		}
		return out.Next(ctx)
	}, close: func() {
		in.Close()
		if out != nil {
			out.Close()
		}
		x.release()
	}}, nil
}

// run reads the whole input, spilling as it goes, and returns the
// stream of sorted rows.
func (x *externalSort) run(ctx context.Context, in Stream) (Stream, error) {
	for {
		b, err := in.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		x.buffer(b)
		// sorting the buffer takes a copy of it: count both
		if x.s.Env.shouldSpill(2 * x.held) {
			if err := x.spillBuffer(); err != nil {
				return nil, err
			}
		}
	}
	if len(x.runs) == 0 {
		return x.sortInMemory()
	}
	if len(x.buffered) > 0 {
		if err := x.spillBuffer(); err != nil {
			return nil, err
		}
	}
	if err := x.mergeDown(); err != nil {
		return nil, err
	}
	runs := x.runs
	x.runs = nil
	m, err := newRunMerger(x, runs, x.outputRows(), len(x.s.Input.Schema().Fields()))
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (x *externalSort) buffer(b arrow.Record) {
	n := recordBytes(b)
	x.buffered = append(x.buffered, b)
	x.held += n
	x.rows += b.NumRows()
	x.acct.Add(n)
}

// takeBuffer concatenates the buffer into one record and empties it.
func (x *externalSort) takeBuffer() (arrow.Record, error) {
	all, err := Concat(x.ec.Mem, x.s.Input.Schema(), x.buffered)
	ReleaseRecords(x.buffered)
	if x.rowBytes == 0 && x.rows > 0 {
		x.rowBytes = max(1, x.held/x.rows)
	}
	x.acct.Add(-x.held)
	x.buffered, x.held, x.rows = nil, 0, 0
	return all, err
}

// sortInMemory is the sort of an input that fit: one permutation of
// everything, taken into output batches.
func (x *externalSort) sortInMemory() (Stream, error) {
	all, err := x.takeBuffer()
	if err != nil {
		return nil, err
	}
	defer all.Release()
	perm, err := sortPermutation(x.ec, all, x.s.Keys)
	if err != nil {
		return nil, err
	}
	out, err := sliceBatches(x.ec, all, perm, x.s.Env.BatchSize)
	if err != nil {
		return nil, err
	}
	return &sliceStream{batches: out}, nil
}

// spillBuffer sorts the buffer and writes it, with its evaluated keys,
// as one run.
func (x *externalSort) spillBuffer() error {
	all, err := x.takeBuffer()
	if err != nil {
		return err
	}
	defer all.Release()
	keys, err := evalAll(x.ec, all, sortExprs(x.s.Keys))
	if err != nil {
		return err
	}
	defer releaseAll(keys)
	perm, err := keyPermutation(x.ec, keys, x.s.Keys, int(all.NumRows()))
	if err != nil {
		return err
	}
	withKeys := appendKeyColumns(all, keys)
	defer withKeys.Release()
	w, err := x.s.Env.Spill.NewWriter(withKeys.Schema(), x.ec.Mem)
	if err != nil {
		return err
	}
	chunk := x.chunkRows()
	for start := 0; start < len(perm); start += chunk {
		b, err := takeRecord(x.ec, withKeys, perm[start:min(len(perm), start+chunk)])
		if err == nil {
			err = w.Write(b)
			b.Release()
		}
		if err == nil {
			err = x.ec.Canceled()
		}
		if err != nil {
			w.Abandon()
			return err
		}
	}
	return x.finishRun(w)
}

func (x *externalSort) finishRun(w *spill.Writer) error {
	f, err := w.Finish()
	if err != nil {
		return err
	}
	x.runs = append(x.runs, f)
	x.s.spillStats().add(f.Bytes())
	return nil
}

// appendKeyColumns is rec with the evaluated keys as extra columns.
func appendKeyColumns(rec arrow.Record, keys []arrow.Array) arrow.Record {
	fields := append([]arrow.Field{}, rec.Schema().Fields()...)
	cols := append([]arrow.Array{}, rec.Columns()...)
	for i, k := range keys {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("sort_key_%d", i), Type: k.DataType(), Nullable: true})
		cols = append(cols, k)
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// chunkRows is how many rows a run's batch holds: about
// share/chunksPerShare bytes, so that a merge of mergeFanIn runs holds
// half the share.
func (x *externalSort) chunkRows() int {
	rows := x.s.Env.spillShare() / chunksPerShare / max(x.rowBytes, 1)
	return int(min(max(rows, 64), int64(x.s.Env.BatchSize)))
}

// outputRows is the size of the merge's output batches.
func (x *externalSort) outputRows() int {
	rows := x.s.Env.spillShare() / 8 / max(x.rowBytes, 1)
	return int(min(max(rows, 64), int64(x.s.Env.BatchSize)))
}

// mergeDown merges runs in passes, mergeFanIn neighbours at a time, until
// one merge can read them all. Neighbours merge in order, so rows with
// equal keys keep the order they came in, as in the in-memory sort.
func (x *externalSort) mergeDown() error {
	for len(x.runs) > mergeFanIn {
		runs := x.runs
		x.runs = nil
		for start := 0; start < len(runs); start += mergeFanIn {
			group := runs[start:min(len(runs), start+mergeFanIn)]
			if len(group) == 1 {
				x.runs = append(x.runs, group[0])
				continue
			}
			if err := x.mergeToRun(group); err != nil {
				for _, f := range runs[start+len(group):] {
					f.Remove()
				}
				return err
			}
		}
	}
	return nil
}

// mergeToRun merges group (removing its files) into a new run appended
// to x.runs.
func (x *externalSort) mergeToRun(group []*spill.File) error {
	m, err := newRunMerger(x, group, x.chunkRows(), -1)
	if err != nil {
		return err
	}
	defer m.Close()
	var w *spill.Writer
	for {
		b, err := m.Next(x.ec.Ctx)
		if err == io.EOF {
			break
		}
		if err == nil && w == nil {
			w, err = x.s.Env.Spill.NewWriter(b.Schema(), x.ec.Mem)
		}
		if err == nil {
			err = w.Write(b)
		}
		if b != nil {
			b.Release()
		}
		if err != nil {
			if w != nil {
				w.Abandon()
			}
			return err
		}
	}
	if w == nil {
		return nil
	}
	return x.finishRun(w)
}

func (x *externalSort) release() {
	ReleaseRecords(x.buffered)
	x.acct.Add(-x.held)
	x.acct.Close()
	x.buffered, x.held = nil, 0
	for _, f := range x.runs {
		f.Remove()
	}
	x.runs = nil
}
