package driver

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft"
)

// batchSource hands out a result's Arrow batches one at a time; Rows and
// the Arrow reader read through it. A query's result is a stream: each
// batch is computed when it is asked for, under the context the query
// was started with.
type batchSource struct {
	ctx context.Context
	res *weft.Result
}

func newBatchSource(ctx context.Context, res *weft.Result) *batchSource {
	return &batchSource{ctx: ctx, res: res}
}

// Next returns the next batch, now the caller's to release, or nil at
// the end.
func (s *batchSource) Next() (arrow.Record, error) {
	return s.res.Next(s.ctx)
}

// Close ends the result: a query still running stops.
func (s *batchSource) Close() { s.res.Release() }
