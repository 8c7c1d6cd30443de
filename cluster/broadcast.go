package cluster

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/exec"
)

// A hash join whose build side is small runs on the workers as a
// broadcast join: partition p of the join (partition p of its probe
// side joined with the whole build side) is a fragment like a scan's,
// and each worker computes the build side itself from the same lineage
// (the stored tables the build pipeline reads), rather than receiving
// it. Every worker reads the shared data directory, so the build side
// costs a worker a scan of a small table instead of a round trip
// through the coordinator, and losing a worker loses nothing another
// one needs: a rerun partition rebuilds its build side from storage.
//
// A rerun must repeat the rows already passed on in the same order (the
// coordinator skips them, remote.go). A join emits a probe row's matches
// in the order of the build rows, which a parallel gather of the build
// side's partitions would change from run to run; so a distributed
// join reads its build side partition after partition (InOrder), and
// never spills (a spilled join emits its rows in another order). With
// both, the join's output is a deterministic function of its inputs.

// BroadcastRows bounds the rows the tables under a build side may hold
// (before filters) for its join to run on the workers; a larger one
// keeps its join on the coordinator.
const BroadcastRows = 1 << 20

// workerPipeline reports whether op can run on a worker partition by
// partition: a scan with filters, projections and broadcast joins above
// it. It returns every scan op reads.
func workerPipeline(op exec.Operator) ([]*exec.Scan, bool) {
	switch n := unwrap(op).(type) {
	case *exec.Scan:
		return []*exec.Scan{n}, true
	case *exec.Filter:
		return workerPipeline(n.Input)
	case *exec.Project:
		return workerPipeline(n.Input)
	case *InOrder:
		return workerPipeline(n.In)
	case *exec.HashJoin:
		return broadcastJoin(n)
	}
	return nil, false
}

// broadcastJoin reports whether j can be a broadcast join: a kind whose
// partitions are its probe side's (not one that marks build rows and
// reads the whole probe side in one stream), a worker pipeline on both
// sides and a small build side.
func broadcastJoin(j *exec.HashJoin) ([]*exec.Scan, bool) {
	if j.Partitions() != j.Probe.Partitions() || j.Kind == exec.FullJoin || j.Kind == exec.BuildSemiJoin || j.Kind == exec.BuildAntiJoin {
		return nil, false
	}
	probe, ok := workerPipeline(j.Probe)
	if !ok {
		return nil, false
	}
	build, ok := workerPipeline(j.Build)
	if !ok || scannedRows(build) > BroadcastRows {
		return nil, false
	}
	return append(probe, build...), true
}

func scannedRows(scans []*exec.Scan) int64 {
	var n int64
	for _, sc := range scans {
		for _, part := range sc.Parts {
			for _, rec := range part {
				n += rec.NumRows()
			}
		}
	}
	return n
}

// hasJoin reports whether a worker pipeline joins.
func hasJoin(op exec.Operator) bool {
	if _, ok := unwrap(op).(*exec.HashJoin); ok {
		return true
	}
	for _, c := range op.Children() {
		if hasJoin(c) {
			return true
		}
	}
	return false
}

// OrderBuilds makes the broadcast joins of a worker pipeline
// deterministic: each reads its build side in partition order, and none
// spills. The coordinator applies it to the pipeline a Remote stands
// for (which runs a partition itself when no worker can), a worker to
// the node a fragment names, after comparing fingerprints.
func OrderBuilds(op exec.Operator) {
	switch n := unwrap(op).(type) {
	case *exec.HashJoin:
		if _, ok := unwrap(n.Build).(*InOrder); !ok {
			n.Build = &InOrder{In: n.Build}
		}
		if n.Env != nil {
			env := *n.Env
			env.Spill = nil // (the build side is small)
			n.Env = &env
		}
	case *PartialAggregate:
		OrderBuilds(n.Agg.Input)
		return
	}
	for _, c := range op.Children() {
		OrderBuilds(c)
	}
}

// InOrder is its input's partitions one after another, as one
// partition: a build side gathered in the same order on every run.
type InOrder struct {
	In exec.Operator
}

func (o *InOrder) Schema() *arrow.Schema     { return o.In.Schema() }
func (o *InOrder) Partitions() int           { return 1 }
func (o *InOrder) Children() []exec.Operator { return []exec.Operator{o.In} }
func (o *InOrder) Explain() string {
	return fmt.Sprintf("Broadcast (build side, every worker reads its %d partitions in order)", o.In.Partitions())
}

func (o *InOrder) Open(ctx context.Context, _ int) (exec.Stream, error) {
	return &inOrderStream{in: o.In, n: o.In.Partitions()}, nil
}

type inOrderStream struct {
	in   exec.Operator
	n    int
	next int
	cur  exec.Stream
}

func (s *inOrderStream) Next(ctx context.Context) (arrow.Record, error) {
	for {
		if s.cur == nil {
			if s.next >= s.n {
				return nil, io.EOF
			}
			st, err := s.in.Open(ctx, s.next)
			if err != nil {
				return nil, err
			}
			s.cur, s.next = st, s.next+1
		}
		rec, err := s.cur.Next(ctx)
		if err == io.EOF {
			s.cur.Close()
			s.cur = nil
			continue
		}
		return rec, err
	}
}

func (s *inOrderStream) Close() {
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
}
