package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/sql/types"
)

// IndexJoin is an inner join that looks each row of its (small) outer
// input up in an index of the inner table instead of building a hash
// table of the whole inner table. Its rows are the outer columns followed
// by the inner table's Columns; conditions beyond the key go in a filter
// above it.
type IndexJoin struct {
	Env   *Env
	Outer Operator
	// OuterKeys are evaluated over outer rows; KeyTypes are their types.
	// The first Probe of them are the index's leading columns; the rest
	// are compared with InnerKeyCols (table ordinals) row by row.
	OuterKeys    []Expr
	KeyTypes     []types.T
	Probe        int
	InnerKeyCols []int
	IndexName    string
	Table        string
	Index        *index.Index
	Parts        [][]arrow.Record // the inner snapshot's batches (not owned)
	Columns      []int            // inner table ordinals to output
	Out          *arrow.Schema
}

func (j *IndexJoin) Schema() *arrow.Schema { return j.Out }
func (j *IndexJoin) Partitions() int       { return j.Outer.Partitions() }
func (j *IndexJoin) Children() []Operator  { return []Operator{j.Outer} }
func (j *IndexJoin) Explain() string {
	return fmt.Sprintf("Index Nested Loop Join using %s on %s", j.IndexName, j.Table)
}

func (j *IndexJoin) Open(ctx context.Context, part int) (Stream, error) {
	// (the index was built from these batches, so they are read already
	// unless the index came from elsewhere)
	if err := catalog.LoadAll(j.Parts); err != nil {
		return nil, err
	}
	in, err := j.Outer.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	ec := newEvalContext(ctx, j.Env)
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			b, err := in.Next(ctx)
			if err != nil {
				return nil, err
			}
			out, err := j.probe(ec, b)
			b.Release()
			if err != nil || out != nil {
				return out, err
			}
		}
	}, close: in.Close}, nil
}

// probe joins one outer batch (nil when nothing matched).
func (j *IndexJoin) probe(ec *EvalContext, b arrow.Record) (arrow.Record, error) {
	keys, err := evalAll(ec, b, j.OuterKeys)
	if err != nil {
		return nil, err
	}
	defer releaseAll(keys)
	var outerRows []int
	var locs []index.Loc
	var prefix, other []byte
	for i := 0; i < int(b.NumRows()); i++ {
		if anyNull(keys, i) {
			continue // an inner join never matches NULL
		}
		prefix = prefix[:0]
		for k := 0; k < j.Probe; k++ {
			prefix = index.AppendValue(prefix, j.KeyTypes[k], keys[k], i)
		}
		it := j.Index.Tree.Seek(string(prefix))
		end := index.PrefixEnd(string(prefix))
		for {
			e, ok := it.Next()
			if !ok || (end != "" && e.Key >= end) {
				break
			}
			if !j.restMatches(keys, i, e.Loc, &other) {
				continue
			}
			outerRows = append(outerRows, i)
			locs = append(locs, e.Loc)
		}
		if err := ec.Canceled(); err != nil {
			return nil, err
		}
	}
	if len(locs) == 0 {
		return nil, nil
	}
	return j.assemble(ec, b, outerRows, locs)
}

// restMatches compares the key columns the index did not probe.
func (j *IndexJoin) restMatches(keys []arrow.Array, i int, loc index.Loc, buf *[]byte) bool {
	if len(j.OuterKeys) == j.Probe {
		return true
	}
	inner := j.Parts[loc.Part()][loc.Batch()]
	for k := j.Probe; k < len(j.OuterKeys); k++ {
		a := index.AppendValue((*buf)[:0], j.KeyTypes[k], keys[k], i)
		n := len(a)
		c := inner.Column(j.InnerKeyCols[k])
		if c.IsNull(loc.Row()) {
			return false
		}
		a = index.AppendValue(a, j.KeyTypes[k], c, loc.Row())
		*buf = a
		if string(a[:n]) != string(a[n:]) {
			return false
		}
	}
	return true
}

// assemble puts the matched outer rows beside their inner rows.
func (j *IndexJoin) assemble(ec *EvalContext, b arrow.Record, outerRows []int, locs []index.Loc) (arrow.Record, error) {
	outer, err := takeRecord(ec, b, outerRows)
	if err != nil {
		return nil, err
	}
	defer outer.Release()
	innerSchema := arrow.NewSchema(j.Out.Fields()[outer.NumCols():], nil)
	scan := &IndexScan{Parts: j.Parts, Columns: j.Columns, Out: innerSchema, Ordered: true}
	inner, err := scan.gather(ec, locs)
	if err != nil {
		return nil, err
	}
	defer inner.Release()
	cols := make([]arrow.Array, 0, j.Out.NumFields())
	cols = append(cols, outer.Columns()...)
	cols = append(cols, inner.Columns()...)
	return array.NewRecord(j.Out, cols, int64(len(locs))), nil
}

// anyNull reports whether row i has a NULL in any of the key arrays.
func anyNull(arrs []arrow.Array, i int) bool {
	for _, a := range arrs {
		if a.IsNull(i) {
			return true
		}
	}
	return false
}
