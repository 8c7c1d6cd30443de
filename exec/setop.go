package exec

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// UnionAll concatenates its inputs: its partitions are the inputs'
// partitions side by side.
type UnionAll struct {
	Inputs []Operator
	Out    *arrow.Schema
}

func (u *UnionAll) Schema() *arrow.Schema { return u.Out }
func (u *UnionAll) Partitions() int {
	n := 0
	for _, in := range u.Inputs {
		n += in.Partitions()
	}
	return n
}
func (u *UnionAll) Children() []Operator { return u.Inputs }
func (u *UnionAll) Explain() string      { return "UnionAll" }

func (u *UnionAll) Open(ctx context.Context, part int) (Stream, error) {
	for _, in := range u.Inputs {
		if part < in.Partitions() {
			st, err := in.Open(ctx, part)
			if err != nil {
				return nil, err
			}
			return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
				b, err := st.Next(ctx)
				if err != nil {
					return nil, err
				}
				defer b.Release()
				return withSchema(b, u.Out), nil
			}, close: st.Close}, nil
		}
		part -= in.Partitions()
	}
	return nil, fmt.Errorf("union: partition out of range")
}

// SetOpKind is INTERSECT or EXCEPT.
type SetOpKind int

const (
	Intersect SetOpKind = iota
	Except
)

// SetOp computes INTERSECT [ALL] and EXCEPT [ALL] by counting the right
// side's rows per key (NULLs compare equal, as set operations require).
type SetOp struct {
	Env         *Env
	Kind        SetOpKind
	All         bool
	Left, Right Operator
	// Types are the output columns' SQL types (char(n) compares without
	// its padding); when nil they are read from the Arrow schema.
	Types []types.T
	stats spillStats // what it spilled (setopspill.go)
}

func (s *SetOp) Schema() *arrow.Schema { return s.Left.Schema() }
func (s *SetOp) Partitions() int       { return 1 }
func (s *SetOp) Children() []Operator  { return []Operator{s.Left, s.Right} }
func (s *SetOp) Explain() string {
	name := [...]string{"Intersect", "Except"}[s.Kind]
	if s.All {
		name += " All"
	}
	return "HashSetOp " + name
}

func (s *SetOp) Open(ctx context.Context, _ int) (Stream, error) {
	if s.Env.canSpill() {
		return s.openSpilling(ctx), nil
	}
	var out arrow.Record
	done := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		r, err := s.run(ctx)
		return r, err
	}, close: func() {
		if out != nil {
			out.Release()
		}
	}}, nil
}

func (s *SetOp) run(ctx context.Context) (arrow.Record, error) {
	ec := newEvalContext(ctx, s.Env)
	// both sides are held whole: a 53200 names the set operation
	acct := s.Env.account("HashSetOp")
	var held int64
	defer func() { acct.Add(-held); acct.Close() }()
	right, err := collectAccounted(ctx, ec, s.Right, acct, &held)
	if err != nil {
		return nil, err
	}
	defer right.Release()
	left, err := collectAccounted(ctx, ec, s.Left, acct, &held)
	if err != nil {
		return nil, err
	}
	defer left.Release()
	return s.compute(ec, left, right)
}

// keyTypes are the SQL types the rows compare by.
func (s *SetOp) keyTypes() []types.T {
	kts := s.Types
	if kts == nil {
		kts = make([]types.T, len(s.Left.Schema().Fields()))
		for i, f := range s.Left.Schema().Fields() {
			kts[i], _ = types.FromArrow(f.Type)
		}
	}
	return kts
}

// compute is the set operation over all of left's and right's rows.
func (s *SetOp) compute(ec *EvalContext, left, right arrow.Record) (arrow.Record, error) {
	kts := s.keyTypes()
	counts := map[string]int{}
	var kb []byte
	for i := 0; i < int(right.NumRows()); i++ {
		kb = encodeKey(kb[:0], kts, right.Columns(), i)
		counts[string(kb)]++
	}
	emitted := map[string]bool{}
	var keep []int
	for i := 0; i < int(left.NumRows()); i++ {
		kb = encodeKey(kb[:0], kts, left.Columns(), i)
		k := string(kb)
		c := counts[k]
		switch {
		case s.All && s.Kind == Intersect:
			if c > 0 {
				keep = append(keep, i)
				counts[k] = c - 1
			}
		case s.All && s.Kind == Except:
			if c > 0 {
				counts[k] = c - 1
			} else {
				keep = append(keep, i)
			}
		default:
			if emitted[k] || (c > 0) != (s.Kind == Intersect) {
				continue
			}
			emitted[k] = true
			keep = append(keep, i)
		}
	}
	return takeRecord(ec, left, keep)
}

// GenerateSeries is the table function generate_series(start, stop[, step])
// over integers or timestamps.
type GenerateSeries struct {
	Env               *Env
	Start, Stop, Step Expr
	T                 types.T
	Out               *arrow.Schema
}

func (g *GenerateSeries) Schema() *arrow.Schema { return g.Out }
func (g *GenerateSeries) Partitions() int       { return 1 }
func (g *GenerateSeries) Children() []Operator  { return nil }
func (g *GenerateSeries) Explain() string {
	return fmt.Sprintf("GenerateSeries(%s, %s, %s)", g.Start, g.Stop, g.Step)
}

func (g *GenerateSeries) Open(ctx context.Context, _ int) (Stream, error) {
	ec := newEvalContext(ctx, g.Env)
	one := array.NewRecord(arrow.NewSchema(nil, nil), nil, 1)
	defer one.Release()
	var args [3]types.Datum
	for i, x := range []Expr{g.Start, g.Stop, g.Step} {
		a, err := x.Eval(ec, one)
		if err != nil {
			return nil, err
		}
		args[i] = DatumAt(a, 0)
		a.Release()
	}
	if args[0] == nil || args[1] == nil || args[2] == nil {
		return &sliceStream{}, nil
	}
	next, err := seriesStepper(g.T, args, g.Env.TimeZone())
	if err != nil {
		return nil, err
	}
	finished := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if finished {
			return nil, io.EOF
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		bld := newBuilder(ec, g.T)
		defer bld.Release()
		for n := 0; n < g.Env.BatchSize; n++ {
			v, ok := next()
			if !ok {
				finished = true
				break
			}
			AppendDatum(bld, v)
		}
		col := bld.NewArray()
		defer col.Release()
		return array.NewRecord(g.Out, []arrow.Array{col}, int64(col.Len())), nil
	}}, nil
}

func seriesStepper(t types.T, args [3]types.Datum, zone *time.Location) (func() (types.Datum, bool), error) {
	switch t.Kind {
	case types.Timestamp, types.TimestampTZ:
		cur, stop := args[0].(int64), args[1].(int64)
		step := args[2].(types.IntervalValue)
		if step == (types.IntervalValue{}) {
			return nil, errStepZero()
		}
		forward := intervalKey(step) > 0
		past := false // the next step would leave the timestamp range
		return func() (types.Datum, bool) {
			if past || (forward && cur > stop) || (!forward && cur < stop) {
				return nil, false
			}
			v := cur
			var err error
			if t.Kind == types.TimestampTZ {
				cur, err = AddIntervalIn(cur, step, zone)
			} else {
				cur, err = AddInterval(cur, step)
			}
			past = err != nil
			return v, true
		}, nil
	}
	cur, stop, step := args[0].(int64), args[1].(int64), args[2].(int64)
	if step == 0 {
		return nil, errStepZero()
	}
	done := false
	return func() (types.Datum, bool) {
		if done || (step > 0 && cur > stop) || (step < 0 && cur < stop) {
			return nil, false
		}
		v := cur
		nxt := cur + step
		if addOverflows(cur, step, nxt) {
			done = true
		}
		cur = nxt
		return v, true
	}, nil
}
