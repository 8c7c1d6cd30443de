package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// Apply runs Right once per row of Left with that row's values bound as
// outer references (a LATERAL subquery) and joins each left row to the
// rows it produced; with LeftJoin a left row that produced none is kept
// with NULLs.
type Apply struct {
	Env        *Env
	Left       Operator
	Right      Operator
	Outer      []Expr // over Left's rows: the values Right refers to
	OuterSlots []int
	LeftJoin   bool
	Out        *arrow.Schema
}

func (a *Apply) Schema() *arrow.Schema { return a.Out }
func (a *Apply) Partitions() int       { return a.Left.Partitions() }
func (a *Apply) Children() []Operator  { return []Operator{a.Left, a.Right} }
func (a *Apply) Explain() string {
	kind := "Apply"
	if a.LeftJoin {
		kind = "Apply (left)"
	}
	return fmt.Sprintf("%s: runs the lateral subquery once per row", kind)
}

func (a *Apply) Open(ctx context.Context, part int) (Stream, error) {
	in, err := a.Left.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	ec := newEvalContext(ctx, a.Env)
	return mapBatches(in, func(b arrow.Record) (arrow.Record, error) { return a.applyBatch(ec, b) }), nil
}

// applyBatch joins one batch of left rows to what Right gives for each.
func (a *Apply) applyBatch(ec *EvalContext, b arrow.Record) (arrow.Record, error) {
	outerArrs, err := evalAll(ec, b, a.Outer)
	if err != nil {
		return nil, err
	}
	defer releaseAll(outerArrs)
	rightFields := a.Out.Fields()[b.NumCols():]
	builders := make([]array.Builder, len(rightFields))
	for i, f := range rightFields {
		builders[i] = array.NewBuilder(ec.Mem, f.Type)
		defer builders[i].Release()
	}
	maxSlot := len(ec.Outer) - 1
	for _, s := range a.OuterSlots {
		maxSlot = max(maxSlot, s)
	}
	var idx []int
	for i := 0; i < int(b.NumRows()); i++ {
		outer := make([]types.Datum, maxSlot+1)
		copy(outer, ec.Outer)
		for j, s := range a.OuterSlots {
			outer[s] = DatumAt(outerArrs[j], i)
		}
		n, err := a.runRight(ec.Ctx, outer, builders)
		if err != nil {
			return nil, err
		}
		if n == 0 && a.LeftJoin {
			for _, bl := range builders {
				bl.AppendNull()
			}
			n = 1
		}
		for k := 0; k < n; k++ {
			idx = append(idx, i)
		}
		if len(idx) > maxSetRows {
			return nil, fmt.Errorf("LATERAL subquery produced more than %d rows from one batch", maxSetRows)
		}
	}
	base, err := takeRecord(ec, b, idx)
	if err != nil {
		return nil, err
	}
	defer base.Release()
	cols := append([]arrow.Array{}, base.Columns()...)
	var made []arrow.Array
	for _, bl := range builders {
		arr := bl.NewArray()
		made = append(made, arr)
		cols = append(cols, arr)
	}
	defer releaseAll(made)
	return array.NewRecord(a.Out, cols, int64(len(idx))), nil
}

// runRight runs Right for one outer binding, appending its rows to the
// builders, and returns how many it produced.
func (a *Apply) runRight(ctx context.Context, outer []types.Datum, builders []array.Builder) (int, error) {
	ctx = WithOuter(ctx, outer)
	n := 0
	for p := 0; p < a.Right.Partitions(); p++ {
		recs, err := Drain(ctx, a.Right, p)
		if err != nil {
			return 0, err
		}
		for _, r := range recs {
			for c := range builders {
				col := r.Column(c)
				for i := 0; i < int(r.NumRows()); i++ {
					AppendDatum(builders[c], DatumAt(col, i))
				}
			}
			n += int(r.NumRows())
		}
		ReleaseRecords(recs)
	}
	return n, nil
}
