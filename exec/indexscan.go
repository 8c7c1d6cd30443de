package exec

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/index"
)

// KeyRange is a range of encoded index keys, [Lo, Hi); an empty Hi has
// no upper end.
type KeyRange struct{ Lo, Hi string }

// IndexScan reads the rows of a table snapshot whose index keys fall in
// Ranges, in index order, projecting columns. Its one partition streams:
// a LIMIT above it stops the walk of the index.
type IndexScan struct {
	Env       *Env
	IndexName string
	Table     string
	Index     *index.Index
	Ranges    []KeyRange       // ascending, not overlapping
	Parts     [][]arrow.Record // the snapshot's batches (not owned)
	Columns   []int            // table column ordinals to output
	Out       *arrow.Schema
	// Ordered keeps index order across batches (an ORDER BY the index
	// gives); otherwise rows of one batch are taken together.
	Ordered bool
	// Reverse walks the ranges from the last key down (ORDER BY … DESC
	// NULLS FIRST, the reverse of the index's order).
	Reverse bool
	// Cond describes the ranges for EXPLAIN.
	Cond string
}

func (s *IndexScan) Schema() *arrow.Schema { return s.Out }
func (s *IndexScan) Partitions() int       { return 1 }
func (s *IndexScan) Children() []Operator  { return nil }
func (s *IndexScan) Explain() string {
	out := fmt.Sprintf("Index Scan using %s on %s", s.IndexName, s.Table)
	if s.Cond != "" {
		out += " (" + s.Cond + ")"
	}
	return out
}

// indexChunk is how many rows one output batch gathers: small, since an
// index scan usually finds few rows and a LIMIT may want only the first.
const indexChunk = 1024

func (s *IndexScan) Open(ctx context.Context, part int) (Stream, error) {
	ec := newEvalContext(ctx, s.Env)
	walk := s.walker()
	done := part > 0
	// next returns the locators of the next chunk of matching rows
	next := func() []index.Loc {
		var locs []index.Loc
		for !done && len(locs) < indexChunk {
			e, ok := walk()
			if !ok {
				done = true
				break
			}
			locs = append(locs, e.Loc)
		}
		return locs
	}
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		locs := next()
		if len(locs) == 0 {
			return nil, io.EOF
		}
		return s.gather(ec, locs)
	}}, nil
}

// walker returns a function yielding the entries in the ranges, in
// ascending order or, for Reverse, descending.
func (s *IndexScan) walker() func() (index.Entry, bool) {
	r := 0
	if s.Reverse {
		r = len(s.Ranges) - 1
	}
	var fwd *index.Iterator
	var rev *index.ReverseIterator
	return func() (index.Entry, bool) {
		for r >= 0 && r < len(s.Ranges) {
			rg := s.Ranges[r]
			if s.Reverse {
				if rev == nil {
					rev = s.Index.Tree.SeekBefore(rg.Hi)
				}
				if e, ok := rev.Next(); ok && e.Key >= rg.Lo {
					return e, true
				}
				rev = nil
				r--
				continue
			}
			if fwd == nil {
				fwd = s.Index.Tree.Seek(rg.Lo)
			}
			if e, ok := fwd.Next(); ok && (rg.Hi == "" || e.Key < rg.Hi) {
				return e, true
			}
			fwd = nil
			r++
		}
		return index.Entry{}, false
	}
}

// gather takes the rows at locs, batch by batch, into one record in the
// order of locs when the scan is ordered.
func (s *IndexScan) gather(ec *EvalContext, locs []index.Loc) (arrow.Record, error) {
	sorted := slices.Clone(locs)
	slices.Sort(sorted)
	var pieces []arrow.Record
	defer func() { ReleaseRecords(pieces) }()
	for lo := 0; lo < len(sorted); {
		p, b := sorted[lo].Part(), sorted[lo].Batch()
		hi := lo
		var rows []int
		for hi < len(sorted) && sorted[hi].Part() == p && sorted[hi].Batch() == b {
			rows = append(rows, sorted[hi].Row())
			hi++
		}
		src := s.Parts[p][b]
		if err := catalog.LoadBatch(src); err != nil {
			return nil, err
		}
		cols := make([]arrow.Array, len(s.Columns))
		for j, c := range s.Columns {
			cols[j] = src.Column(c)
		}
		projected := array.NewRecord(s.Out, cols, src.NumRows())
		piece, err := takeRecord(ec, projected, rows)
		projected.Release()
		if err != nil {
			return nil, err
		}
		pieces = append(pieces, piece)
		lo = hi
	}
	all, err := concatPieces(ec, s.Out, pieces)
	if err != nil || !s.Ordered || slices.Equal(sorted, locs) {
		return all, err
	}
	defer all.Release()
	// put the rows back in index order
	pos := make(map[index.Loc]int, len(sorted))
	for i, l := range sorted {
		pos[l] = i
	}
	perm := make([]int, len(locs))
	for i, l := range locs {
		perm[i] = pos[l]
	}
	return takeRecord(ec, all, perm)
}

// concatPieces joins records of one schema into one (a new reference).
func concatPieces(ec *EvalContext, schema *arrow.Schema, pieces []arrow.Record) (arrow.Record, error) {
	if len(pieces) == 1 {
		pieces[0].Retain()
		return pieces[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer releaseAll(cols)
	var rows int64
	for _, p := range pieces {
		rows += p.NumRows()
	}
	for c := range cols {
		arrs := make([]arrow.Array, len(pieces))
		for i, p := range pieces {
			arrs[i] = p.Column(c)
		}
		a, err := array.Concatenate(arrs, ec.Mem)
		if err != nil {
			return nil, err
		}
		cols[c] = a
	}
	return array.NewRecord(schema, cols, rows), nil
}
