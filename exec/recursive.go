package exec

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// WorkTable names the working set of a recursive CTE, the rows of its
// previous round, which its WorkScans read. The rows themselves are the
// run's (recursiveRounds): a correlated or LATERAL subquery's runs for
// several outer rows evaluate one CTE at once, and rows kept on the
// shared WorkTable fed each run's rounds with another run's rows.
type WorkTable struct {
	Name string
}

// workKey finds, in a recursive round's context, its run's last round.
type workKey struct{ w *WorkTable }

// workOf returns the rows of the previous round of w's run in ctx; the
// caller owns one reference to each.
func workOf(ctx context.Context, w *WorkTable) ([]arrow.Record, error) {
	rs, ok := ctx.Value(workKey{w}).(*recursiveRounds)
	if !ok {
		return nil, sqlerr.New(sqlerr.Internal, "work table %s read outside its recursive query", w.Name)
	}
	out := make([]arrow.Record, len(rs.work))
	for i, b := range rs.work {
		b.Retain()
		out[i] = b
	}
	return out, nil
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
	bs, err := workOf(ctx, w.Table)
	if err != nil {
		return nil, err
	}
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

// Open computes the CTE round by round as its rows are asked for: a
// consumer that stops early (a LIMIT, EXISTS) stops the recursion too, as
// in PostgreSQL, so a recursion without an end of its own under a LIMIT
// ends; one that reads every row reads each round as it is made.
func (r *RecursiveUnion) Open(ctx context.Context, _ int) (Stream, error) {
	rs := &recursiveRounds{r: r, ec: newEvalContext(ctx, r.Env), kts: r.Types, seen: map[string]bool{}}
	if rs.kts == nil {
		rs.kts = make([]types.T, r.Out.NumFields())
		for i, f := range r.Out.Fields() {
			rs.kts[i], _ = types.FromArrow(f.Type)
		}
	}
	return &funcStream{next: rs.next, close: rs.close}, nil
}

// recursiveRounds is the state of one evaluation of a recursive CTE.
type recursiveRounds struct {
	r   *RecursiveUnion
	ec  *EvalContext
	kts []types.T
	// seen are the rows' keys so far (UNION without ALL)
	seen      map[string]bool
	iteration int
	started   bool // the anchor has run
	finished  bool // a round made no new row
	// pending are the rows of the latest round not yet handed out
	pending []arrow.Record
	// work are the latest round's rows, which the next round reads
	work []arrow.Record
}

func (rs *recursiveRounds) next(ctx context.Context) (arrow.Record, error) {
	for len(rs.pending) == 0 {
		if rs.finished {
			return nil, io.EOF
		}
		if err := rs.round(ctx); err != nil {
			return nil, err
		}
	}
	b := rs.pending[0]
	rs.pending = rs.pending[1:]
	return b, nil
}

func (rs *recursiveRounds) close() {
	ReleaseRecords(rs.pending)
	rs.pending = nil
	rs.setWork(nil)
}

// setWork makes bs the rows the next round reads.
func (rs *recursiveRounds) setWork(bs []arrow.Record) {
	ReleaseRecords(rs.work)
	rs.work = bs
}

// round computes the next round's new rows: the anchor's first, then the
// recursive part's over the last round (the work table); a round with
// none ends the recursion.
func (rs *recursiveRounds) round(ctx context.Context) error {
	r := rs.r
	var batches []arrow.Record
	var err error
	if !rs.started {
		rs.started = true
		batches, err = DrainAll(ctx, r.Anchor)
	} else {
		// an unbounded recursion read to its end runs until cancelled
		if err := ctx.Err(); err != nil {
			return err
		}
		rs.iteration++
		round := context.WithValue(withRun(ctx, fmt.Sprintf("%p#%d", r, rs.iteration)), workKey{r.Work}, rs)
		batches, err = DrainAll(round, r.Recursive)
	}
	if err != nil {
		return err
	}
	if batches, err = rs.keepNew(batches); err != nil {
		return err
	}
	rows := int64(0)
	for _, b := range batches {
		rows += b.NumRows()
	}
	if rows == 0 {
		ReleaseRecords(batches)
		rs.finished = true
		rs.setWork(nil)
		return nil
	}
	for _, b := range batches {
		rs.pending = append(rs.pending, withSchema(b, r.Out))
	}
	rs.setWork(batches)
	return nil
}

// keepNew keeps the rows of bs not seen before (all of them for UNION
// ALL), releasing bs.
func (rs *recursiveRounds) keepNew(bs []arrow.Record) ([]arrow.Record, error) {
	if !rs.r.Distinct {
		return bs, nil
	}
	var kept []arrow.Record
	var kb []byte
	for k, b := range bs {
		var rows []int
		for i := 0; i < int(b.NumRows()); i++ {
			kb = encodeKey(kb[:0], rs.kts, b.Columns(), i)
			if !rs.seen[string(kb)] {
				rs.seen[string(kb)] = true
				rows = append(rows, i)
			}
		}
		nb, err := takeRecord(rs.ec, b, rows)
		b.Release()
		if err != nil {
			ReleaseRecords(bs[k+1:])
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
