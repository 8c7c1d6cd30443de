package exec

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/types"
)

// INTERSECT and EXCEPT that spill. While a statement has a memory limit,
// a SetOp reads both sides into memory as it always did until together
// they pass its share of the limit; then it writes both, the rows read
// and the rest, to aggFanout spill partitions by the hash of the whole
// row (NULL is a value here, as set operations compare rows), and
// computes the set operation a partition at a time: equal rows are in
// the same partition on both sides, so each partition's answer is the
// answer for its rows. A partition still larger than the limit fails
// with 53200 naming the set operation.

// setOpSpill is one opening of a SetOp that may spill.
type setOpSpill struct {
	s       *SetOp
	ec      *EvalContext
	acct    *MemoryAccount
	started bool
	left    setOpSide
	right   setOpSide
	hasher  *keyHashTable // set once the sides spill
	keys    []Expr        // every column, the rows' key
	out     arrow.Record  // the answer when nothing spilled
	next    int           // the next partition to compute
}

// setOpSide is one input: buffered while nothing spills, then written
// to partitions.
type setOpSide struct {
	op       Operator
	buffered []arrow.Record
	held     int64
	w        *partitionWriters
	parts    [aggFanout]*spill.File
}

func (s *SetOp) openSpilling(ctx context.Context) Stream {
	x := &setOpSpill{s: s, ec: newEvalContext(ctx, s.Env), acct: s.Env.spillAccount("HashSetOp")}
	x.left.op, x.right.op = s.Left, s.Right
	for i, t := range s.keyTypes() {
		x.keys = append(x.keys, &ColumnExpr{Index: i, T: t})
	}
	return &funcStream{next: x.nextBatch, close: x.close}
}

func (x *setOpSpill) nextBatch(ctx context.Context) (arrow.Record, error) {
	x.ec.Ctx = ctx
	if !x.started {
		x.started = true
		if err := x.read(ctx); err != nil {
			return nil, err
		}
		if x.hasher == nil {
			out := x.out
			x.out = nil
			return out, nil
		}
	}
	if x.hasher == nil {
		return nil, io.EOF
	}
	for x.next < aggFanout {
		p := x.next
		x.next++
		out, err := x.partition(p)
		if err != nil || out.NumRows() > 0 {
			return out, err
		}
		out.Release()
	}
	return nil, io.EOF
}

// read reads the right side, then the left, spilling both once they
// pass the share; when nothing spilled it computes the answer.
func (x *setOpSpill) read(ctx context.Context) error {
	for _, side := range []*setOpSide{&x.right, &x.left} {
		if err := x.readSide(ctx, side); err != nil {
			return err
		}
	}
	if x.hasher != nil {
		for _, side := range []*setOpSide{&x.right, &x.left} {
			files, err := side.w.finish()
			side.parts = files
			if err != nil {
				return err
			}
		}
		return nil
	}
	left, err := Concat(x.ec.Mem, x.s.Left.Schema(), x.left.buffered)
	if err != nil {
		return err
	}
	defer left.Release()
	right, err := Concat(x.ec.Mem, x.s.Right.Schema(), x.right.buffered)
	if err != nil {
		return err
	}
	defer right.Release()
	x.out, err = x.s.compute(x.ec, left, right)
	return err
}

func (x *setOpSpill) readSide(ctx context.Context, side *setOpSide) error {
	in, err := (&Gather{Input: side.op}).Open(ctx, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	for {
		b, err := in.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if x.hasher != nil {
			_, err = partitionByKey(x.ec, x.hasher, side.w, b, x.keys, true)
			b.Release()
			if err != nil {
				return err
			}
			continue
		}
		n := recordBytes(b)
		side.buffered = append(side.buffered, b)
		side.held += n
		x.acct.Add(n)
		// the map of the right side's rows takes about as much again
		if x.s.Env.shouldSpill(2 * (x.left.held + x.right.held)) {
			if err := x.spillBuffered(); err != nil {
				return err
			}
		}
	}
}

// spillBuffered starts partitioning: what both sides hold goes to their
// partitions.
func (x *setOpSpill) spillBuffered() error {
	x.hasher = newKeyHashTable(x.ec, classesOf(exprTypes(x.keys)), exprTypes(x.keys))
	for _, side := range []*setOpSide{&x.right, &x.left} {
		side.w = &partitionWriters{env: x.s.Env, salt: levelSalt(0), stats: &x.s.stats}
		for _, b := range side.buffered {
			if _, err := partitionByKey(x.ec, x.hasher, side.w, b, x.keys, true); err != nil {
				return err
			}
		}
		x.releaseBuffered(side)
	}
	return nil
}

func (x *setOpSpill) releaseBuffered(side *setOpSide) {
	ReleaseRecords(side.buffered)
	side.buffered = nil
	x.acct.Add(-side.held)
	side.held = 0
}

// partition computes the set operation over partition p's rows.
func (x *setOpSpill) partition(p int) (arrow.Record, error) {
	defer func() {
		for _, side := range []*setOpSide{&x.right, &x.left} {
			if side.parts[p] != nil {
				side.parts[p].Remove()
				side.parts[p] = nil
			}
		}
	}()
	left, err := readSpillFile(x.ec, x.left.parts[p], x.s.Left.Schema())
	if err != nil {
		return nil, err
	}
	defer left.Release()
	right, err := readSpillFile(x.ec, x.right.parts[p], x.s.Right.Schema())
	if err != nil {
		return nil, err
	}
	defer right.Release()
	return x.s.compute(x.ec, left, right)
}

func (x *setOpSpill) close() {
	if x.out != nil {
		x.out.Release()
		x.out = nil
	}
	for _, side := range []*setOpSide{&x.right, &x.left} {
		x.releaseBuffered(side)
		if side.w != nil {
			side.w.abandon()
		}
		for p, f := range side.parts {
			if f != nil {
				f.Remove()
				side.parts[p] = nil
			}
		}
	}
	if x.hasher != nil {
		x.hasher.release()
		x.hasher = nil
	}
	x.acct.Close()
}

// classesOf is how keys of types kts are hashed.
func classesOf(kts []types.T) []keyClass {
	out := make([]keyClass, len(kts))
	for i, t := range kts {
		out[i] = classOf(t)
	}
	return out
}

// explainSpill is what EXPLAIN ANALYZE says the set operation spilled.
func (s *SetOp) explainSpill() string { return s.stats.explainSpill() }

// SpilledBytes is what the set operation wrote to spill files.
func (s *SetOp) SpilledBytes() int64 { return s.stats.SpilledBytes() }
