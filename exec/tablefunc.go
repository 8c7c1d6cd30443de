package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/udf"
)

// TableFunction runs a wasm table function. Over an input relation it runs
// once per input partition, each run on its own instance (mapPartitions):
// input batches are pushed as they arrive and output is pulled in between,
// so memory stays bounded by what the guest buffers. Over constant
// arguments it runs once, on one row of arguments.
type TableFunction struct {
	Env   *Env
	Call  *udf.Call
	Cols  []udf.Column
	Args  []Expr // constant arguments, when there is no input
	Input Operator
	Out   *arrow.Schema
	// Lateral: Args are evaluated over each Input row, the function runs
	// for that row, and its rows come out joined to it.
	Lateral bool
}

func (t *TableFunction) Schema() *arrow.Schema { return t.Out }
func (t *TableFunction) Partitions() int {
	if t.Input != nil {
		return t.Input.Partitions()
	}
	return 1
}
func (t *TableFunction) Children() []Operator {
	if t.Input != nil {
		return []Operator{t.Input}
	}
	return nil
}
func (t *TableFunction) Explain() string {
	if t.Lateral {
		return fmt.Sprintf("WasmTableFunction %s (LATERAL: per input row)", t.Call.F.Name)
	}
	if t.Input != nil {
		return fmt.Sprintf("WasmTableFunction %s (per input partition)", t.Call.F.Name)
	}
	return fmt.Sprintf("WasmTableFunction %s", t.Call.F.Name)
}

func (t *TableFunction) Open(ctx context.Context, part int) (Stream, error) {
	if t.Lateral {
		return t.openLateral(ctx, part)
	}
	ec := newEvalContext(ctx, t.Env)
	run, err := t.Call.OpenTable(ctx, t.Cols)
	if err != nil {
		return nil, err
	}
	var in Stream
	if t.Input != nil {
		if in, err = t.Input.Open(ctx, part); err != nil {
			run.Release()
			return nil, err
		}
	} else {
		if err := t.pushArgs(ec, run); err != nil {
			run.Release()
			return nil, err
		}
	}
	ended := t.Input == nil // the argument row is the whole input
	endSent := false
	closeAll := func() {
		if in != nil {
			in.Close()
		}
		run.Release()
	}
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			rec, done, err := run.Pull(ctx, ec.Mem, t.Out)
			if err != nil {
				return nil, err
			}
			if done {
				return nil, io.EOF
			}
			if rec != nil {
				if rec.NumRows() == 0 {
					rec.Release()
					continue
				}
				return rec, nil
			}
			// the guest needs input
			if ended {
				if endSent {
					return nil, fmt.Errorf("wasm table function %s asked for input after the end", t.Call.F.Name)
				}
				endSent = true
				if err := run.Push(ctx, nil, 0); err != nil {
					return nil, err
				}
				continue
			}
			b, err := in.Next(ctx)
			if err == io.EOF {
				ended = true
				continue
			}
			if err != nil {
				return nil, err
			}
			err = run.Push(ctx, b.Columns(), int(b.NumRows()))
			b.Release()
			if err != nil {
				return nil, err
			}
		}
	}, close: closeAll}, nil
}

// pushArgs evaluates the constant arguments and pushes them as one row.
func (t *TableFunction) pushArgs(ec *EvalContext, run *udf.TableRun) error {
	one := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	args := make([]arrow.Array, len(t.Args))
	defer releaseAll(args)
	for i, a := range t.Args {
		v, err := a.Eval(ec, one)
		if err != nil {
			return err
		}
		args[i] = v
	}
	return run.Push(ec.Ctx, args, 1)
}

// openLateral runs the function once per input row (one run per
// partition, fed one row at a time) and joins each output row to its
// input row.
func (t *TableFunction) openLateral(ctx context.Context, part int) (Stream, error) {
	ec := newEvalContext(ctx, t.Env)
	in, err := t.Input.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	run, err := t.Call.OpenTable(ctx, t.Cols)
	if err != nil {
		in.Close()
		return nil, err
	}
	funcSchema := arrow.NewSchema(t.Out.Fields()[t.Input.Schema().NumFields():], nil)
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			b, err := in.Next(ctx)
			if err != nil {
				return nil, err // io.EOF ends the stream
			}
			out, err := t.lateralBatch(ec, run, funcSchema, b)
			b.Release()
			if err != nil || out != nil {
				return out, err
			}
		}
	}, close: func() {
		in.Close()
		run.Release()
	}}, nil
}

// lateralBatch runs the function over each row of input batch b and
// returns every output row joined to its input row, as one batch (nil
// when no row produced any): one batch per input batch rather than per
// input row keeps the per-batch costs (above all a worker's Flight
// messages) proportional to the input, not to its rows.
func (t *TableFunction) lateralBatch(ec *EvalContext, run *udf.TableRun, funcSchema *arrow.Schema, b arrow.Record) (arrow.Record, error) {
	args := make([]arrow.Array, len(t.Args))
	defer releaseAll(args)
	for i, a := range t.Args {
		v, err := a.Eval(ec, b)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	var outs []arrow.Record
	defer func() { ReleaseRecords(outs) }()
	var idx []int // the input row of each output row
	row := make([]arrow.Array, len(args))
	for r := 0; r < int(b.NumRows()); r++ {
		for i, a := range args {
			row[i] = array.NewSlice(a, int64(r), int64(r+1))
		}
		err := run.Push(ec.Ctx, row, 1)
		releaseAll(row)
		if err != nil {
			return nil, err
		}
		for {
			rec, done, err := run.Pull(ec.Ctx, ec.Mem, funcSchema)
			if err != nil {
				return nil, err
			}
			if rec == nil || done {
				break
			}
			outs = append(outs, rec)
			for range rec.NumRows() {
				idx = append(idx, r)
			}
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	return t.joinRows(ec, b, idx, funcSchema, outs)
}

// joinRows puts the input rows idx names beside the function's output
// rows outs (one input row per output row).
func (t *TableFunction) joinRows(ec *EvalContext, b arrow.Record, idx []int, funcSchema *arrow.Schema, outs []arrow.Record) (arrow.Record, error) {
	left, err := takeRecord(ec, b, idx)
	if err != nil {
		return nil, err
	}
	defer left.Release()
	right, err := Concat(ec.Mem, funcSchema, outs)
	if err != nil {
		return nil, err
	}
	defer right.Release()
	cols := append(append([]arrow.Array{}, left.Columns()...), right.Columns()...)
	return array.NewRecord(t.Out, cols, int64(len(idx))), nil
}
