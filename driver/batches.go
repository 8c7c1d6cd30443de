package driver

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft"
)

// batchSource hands out a result's Arrow batches one at a time; Rows and
// the Arrow reader read through it.
//
// The session API computes a result whole before returning it
// (Result.Batches), so today this walks that slice, letting each batch go
// as soon as it is read. When results become streams this is the one
// place that changes.
type batchSource struct {
	res  *weft.Result
	next int
}

func newBatchSource(res *weft.Result) *batchSource {
	return &batchSource{res: res}
}

// Next returns the next batch, now the caller's to release, or nil at
// the end.
func (s *batchSource) Next() arrow.Record {
	if s.next >= len(s.res.Batches) {
		return nil
	}
	b := s.res.Batches[s.next]
	s.res.Batches[s.next] = nil
	s.next++
	return b
}

// Close releases the batches not handed out.
func (s *batchSource) Close() { s.res.Release() }
