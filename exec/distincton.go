package exec

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/types"
)

// DistinctOn keeps the first row of each run of equal On values in its
// single, sorted input partition (SELECT DISTINCT ON).
type DistinctOn struct {
	Env   *Env
	Input Operator
	On    []Expr
}

func (d *DistinctOn) Schema() *arrow.Schema { return d.Input.Schema() }
func (d *DistinctOn) Partitions() int       { return 1 }
func (d *DistinctOn) Children() []Operator  { return []Operator{d.Input} }
func (d *DistinctOn) Explain() string {
	keys := make([]string, len(d.On))
	for i, k := range d.On {
		keys[i] = k.String()
	}
	return "DistinctOn " + strings.Join(keys, ", ")
}

func (d *DistinctOn) Open(ctx context.Context, _ int) (Stream, error) {
	in, err := d.Input.Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	ec := newEvalContext(ctx, d.Env)
	kts := make([]types.T, len(d.On))
	for i, k := range d.On {
		kts[i] = k.Type()
	}
	var last []byte
	first := true
	var buf []byte
	return mapBatches(in, func(b arrow.Record) (arrow.Record, error) {
		keys, err := evalAll(ec, b, d.On)
		if err != nil {
			return nil, err
		}
		defer releaseAll(keys)
		var keep []int
		for i := 0; i < int(b.NumRows()); i++ {
			buf = encodeKey(buf[:0], kts, keys, i)
			if first || string(buf) != string(last) {
				keep = append(keep, i)
				last = append(last[:0], buf...)
				first = false
			}
		}
		return takeRecord(ec, b, keep)
	}), nil
}
