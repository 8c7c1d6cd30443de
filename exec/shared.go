package exec

import (
	"context"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// SharedResult computes Input once per run and keeps its batches for every
// SharedScan that reads it: a WITH query the statement names more than
// once. Only the latest run is kept (a run is one binding of outer values,
// or one iteration of a recursive query).
type SharedResult struct {
	Name  string
	Input Operator

	mu      sync.Mutex
	run     string
	batches []arrow.Record
	have    bool
}

// batchesFor returns the batches of the run ctx belongs to, computing them
// on first use. The caller owns one reference to each returned batch.
func (s *SharedResult) batchesFor(ctx context.Context) ([]arrow.Record, error) {
	run := runOf(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.have || s.run != run {
		batches, err := Drain(ctx, &Gather{Input: s.Input}, 0)
		if err != nil {
			return nil, err
		}
		s.dropLocked()
		s.run, s.batches, s.have = run, batches, true
	}
	out := make([]arrow.Record, len(s.batches))
	for i, b := range s.batches {
		b.Retain()
		out[i] = b
	}
	return out, nil
}

func (s *SharedResult) dropLocked() {
	ReleaseRecords(s.batches)
	s.batches, s.have = nil, false
}

// Release frees the kept batches.
func (s *SharedResult) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked()
}

// SharedScan reads a SharedResult under its own column names.
type SharedScan struct {
	Source *SharedResult
	Out    *arrow.Schema
}

func (s *SharedScan) Schema() *arrow.Schema { return s.Out }
func (s *SharedScan) Partitions() int       { return 1 }
func (s *SharedScan) Children() []Operator  { return []Operator{s.Source.Input} }
func (s *SharedScan) Explain() string {
	return "CTE Scan " + s.Source.Name + " (computed once, shared by its references)"
}

func (s *SharedScan) Open(ctx context.Context, _ int) (Stream, error) {
	var batches []arrow.Record
	started := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if !started {
			started = true
			var err error
			if batches, err = s.Source.batchesFor(ctx); err != nil {
				return nil, err
			}
		}
		if len(batches) == 0 {
			return nil, io.EOF
		}
		b := batches[0]
		batches = batches[1:]
		defer b.Release()
		return withSchema(b, s.Out), nil
	}, close: func() {
		ReleaseRecords(batches)
		batches = nil
	}}, nil
}
