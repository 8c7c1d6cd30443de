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

// BroadcastRows is the default bound on the rows the tables under a
// build side may hold (before filters) for its join to be broadcast; a
// larger one is shuffled (shuffle.go) or stays on the coordinator. The
// session setting weft.broadcast_rows changes it.
const BroadcastRows = 1 << 22

// pipeline is what a worker pipeline holds: the scans it reads and the
// hash joins in it that shuffle.
type pipeline struct {
	scans    []*exec.Scan
	shuffles []shuffleAt
	// external: a file scan (one partition per file, Fragment.files) or
	// a postgres_scan (a page range per partition, pgscan.go) is among
	// the scans; a join over one stays on the coordinator, whose bounds
	// on broadcast sides count stored rows
	external bool
}

// reach is what a worker pipeline may hold besides scans, filters,
// projections and broadcast joins.
type reach int

const (
	// flat: no shuffle (a broadcast join's build side, which every
	// partition computes whole)
	flat reach = iota
	// joins: shuffle joins too (a stage's pipeline)
	joins
	// nested: shuffle joins and shuffled aggregations (a join's side:
	// the aggregation's reduce tasks are the partitions the join reads)
	nested
)

// workerPipeline reports whether op can run on a worker partition by
// partition: a scan with filters, projections, broadcast joins and
// shuffle joins (shuffle.go) above it; path is op's from the plan's root.
// Shuffles nest: a shuffle join's side, and a join's probe side, may
// hold shuffle joins and shuffled aggregations (aggshuffle.go) of their
// own, whose output is repartitioned into the join; a broadcast build
// side holds none (r).
func workerPipeline(op exec.Operator, path []uint32, r reach, limit joinLimits) (pipeline, bool) {
	child := func(i int) []uint32 { return append(append([]uint32(nil), path...), uint32(i)) }
	switch n := unwrap(op).(type) {
	case *exec.Scan:
		return pipeline{scans: []*exec.Scan{n}}, true
	case *exec.FileScan, *exec.RemoteScan:
		return pipeline{external: true}, true
	case *exec.Filter:
		return workerPipeline(n.Input, child(0), r, limit)
	case *exec.Project:
		return workerPipeline(n.Input, child(0), r, limit)
	case *InOrder:
		return workerPipeline(n.In, child(0), r, limit)
	case *exec.ProjectSet:
		// unnest, generate_series, … over the pipeline's columns: row by
		// row, a deterministic function of the partition (volatile
		// arguments keep the whole query here: engine.notDistributable)
		return workerPipeline(n.Input, child(0), r, limit)
	case *exec.TableFunction:
		if !tableFunctionOnWorkers(n) {
			return pipeline{}, false
		}
		return workerPipeline(n.Input, child(0), r, limit)
	case *exec.HashAggregate:
		if r != nested {
			return pipeline{}, false
		}
		return nestedAggregate(n, path, limit)
	case *exec.HashJoin:
		if n.Partitions() != n.Probe.Partitions() || n.Kind == exec.FullJoin || n.Kind == exec.BuildSemiJoin || n.Kind == exec.BuildAntiJoin {
			return pipeline{}, false
		}
		if limit.memory > 0 && scannedBytes(n.Build) > limit.memory/4 {
			// a join the coordinator would spill (its build side over a
			// spilling operator's share of the limit) stays here: workers
			// never spill, and the operators above it here would read its
			// partitions in parallel instead of a spilled join's one stream
			return pipeline{}, false
		}
		if p, ok := broadcastJoin(n, path, r, limit); ok {
			return p, true
		}
		if p, ok := broadcastStage(n, path, r, limit); ok {
			return p, true
		}
		if r == flat || limit.noShuffle || !shuffleJoin(n) {
			return pipeline{}, false
		}
		return shuffledJoin(n, path, limit)
	}
	return pipeline{}, false
}

// shuffledJoin is the pipeline of j as a shuffle join: both sides
// worker pipelines, which may hold shuffles of their own (not when
// they compute volatile values: a nested stage's rows would be drawn
// by map tasks of two levels).
func shuffledJoin(j *exec.HashJoin, path []uint32, limit joinLimits) (pipeline, bool) {
	child := func(i int) []uint32 { return append(append([]uint32(nil), path...), uint32(i)) }
	out := pipeline{}
	for i, side := range []exec.Operator{j.Probe, j.Build} {
		p, ok := workerPipeline(side, child(i), nested, limit)
		if !ok || p.external {
			return pipeline{}, false
		}
		out.scans = append(out.scans, p.scans...)
		out.shuffles = append(out.shuffles, p.shuffles...)
	}
	buckets := j.Partitions()
	if len(out.shuffles) > 0 {
		if volatileUnder(j) {
			return pipeline{}, false
		}
		// a side that is an aggregation has one partition in the plan:
		// the join gets as many buckets as its widest scan
		buckets = max(buckets, widestScan(out.scans))
	}
	out.shuffles = append(out.shuffles, shuffleAt{path: path, buckets: buckets})
	return out, true
}

// nestedAggregate is the pipeline of h as a shuffled aggregation inside
// a join's side: its partial phase splittable, keys that hash alike
// everywhere and read no volatile value, its input a worker pipeline
// of stored tables, and under a statement memory limit its tables
// within a quarter of it (as shufflesAggregate asks). Its estimated
// groups do not matter: there is no coordinator merge to choose here.
func nestedAggregate(h *exec.HashAggregate, path []uint32, limit joinLimits) (pipeline, bool) {
	if limit.noShuffle || !hashableKeys(h.Keys) || volatileKeys(h.Keys) || volatileUnder(h.Input) {
		return pipeline{}, false
	}
	if _, ok := NewPartialAggregate(h); !ok {
		return pipeline{}, false
	}
	if limit.memory > 0 && scannedBytes(h.Input) > limit.memory/4 {
		return pipeline{}, false
	}
	in, ok := workerPipeline(h.Input, append(append([]uint32(nil), path...), 0), joins, limit)
	if !ok || in.external {
		return pipeline{}, false
	}
	buckets := max(h.Input.Partitions(), widestScan(in.scans))
	return pipeline{scans: in.scans, shuffles: append(in.shuffles, shuffleAt{path: path, buckets: buckets})}, true
}

// widestScan is the most partitions a scan of scans has.
func widestScan(scans []*exec.Scan) int {
	n := 1
	for _, sc := range scans {
		n = max(n, len(sc.Parts))
	}
	return n
}

// broadcastJoin reports whether j can be a broadcast join: worker
// pipelines on both sides and a small build side. Its probe side may
// hold shuffles, nested ones too (an aggregation joined with a small
// table), unless r is flat.
func broadcastJoin(j *exec.HashJoin, path []uint32, r reach, limit joinLimits) (pipeline, bool) {
	child := func(i int) []uint32 { return append(append([]uint32(nil), path...), uint32(i)) }
	build, ok := workerPipeline(j.Build, child(1), flat, limit)
	if !ok || build.external || scannedRows(build.scans) > limit.broadcastRows {
		return pipeline{}, false
	}
	if volatileUnder(j.Build) {
		// each partition would draw its own build side (volatile.go)
		return pipeline{}, false
	}
	probeReach := r
	if r != flat && !limit.noShuffle && !volatileUnder(j.Probe) {
		probeReach = nested
	}
	probe, ok := workerPipeline(j.Probe, child(0), probeReach, limit)
	if !ok || probe.external {
		return pipeline{}, false
	}
	return pipeline{scans: append(probe.scans, build.scans...), shuffles: probe.shuffles}, true
}

// broadcastStage reports whether j can read its build side as a
// BroadcastStage (shuffle.go): a build side holding shuffles (an
// aggregation, a shuffle join) that the planner expects to be small
// (at most limit.broadcastRows rows, buildRows), and a probe side that
// is a worker pipeline. The probe side then keeps its partitions: TPC-H
// q18's lineitem joins the few orders of large quantities without being
// repartitioned.
func broadcastStage(j *exec.HashJoin, path []uint32, r reach, limit joinLimits) (pipeline, bool) {
	if r == flat || limit.noShuffle || volatileUnder(j) {
		return pipeline{}, false
	}
	child := func(i int) []uint32 { return append(append([]uint32(nil), path...), uint32(i)) }
	build, ok := workerPipeline(j.Build, child(1), nested, limit)
	if !ok || build.external || len(build.shuffles) == 0 {
		return pipeline{}, false
	}
	if rows, known := buildRows(j.Build, limit); !known || rows > float64(limit.broadcastRows) {
		return pipeline{}, false
	}
	probe, ok := workerPipeline(j.Probe, child(0), nested, limit)
	if !ok || probe.external {
		return pipeline{}, false
	}
	shuffles := append(append(probe.shuffles, build.shuffles...), shuffleAt{path: path, buckets: 1, broadcast: true})
	return pipeline{scans: append(probe.scans, build.scans...), shuffles: shuffles}, true
}

// buildRows is the planner's estimate of the rows of a build side
// holding shuffles: that of the join or aggregation at its top (under
// filters and projections, which it takes as keeping every row), the
// aggregation's capped by the rows of the tables under it. known is
// false when neither is there.
func buildRows(op exec.Operator, limit joinLimits) (rows float64, known bool) {
	switch n := unwrap(op).(type) {
	case *exec.Filter:
		return buildRows(n.Input, limit)
	case *exec.Project:
		return buildRows(n.Input, limit)
	case *exec.HashJoin:
		return n.EstRows, n.EstRows > 0
	case *exec.HashAggregate:
		if limit.groups == nil {
			return 0, false
		}
		var scans []*exec.Scan
		collectScans(n.Input, &scans)
		return min(limit.groups(n), float64(scannedRows(scans))), true
	}
	return 0, false
}

func collectScans(op exec.Operator, out *[]*exec.Scan) {
	if sc, ok := unwrap(op).(*exec.Scan); ok {
		*out = append(*out, sc)
	}
	for _, c := range op.Children() {
		collectScans(c, out)
	}
}

// joinLimits bound the joins that run on the workers.
type joinLimits struct {
	broadcastRows int64 // the rows under a broadcast build side
	// memory is the statement's memory limit (0: none): a join whose
	// build side's tables hold more than a quarter of it stays on the
	// coordinator, where it can spill
	memory int64
	// shuffleGroups: an aggregation expected to make this many groups
	// or more is shuffled (aggshuffle.go); groups is its estimate
	shuffleGroups int64
	groups        func(*exec.HashAggregate) float64
	// noShuffle: the query shuffles nothing (volatile.go)
	noShuffle bool
}

// scannedBytes estimates the bytes of the tables under op: eight a
// value (stored batches may not be loaded yet to measure them).
func scannedBytes(op exec.Operator) int64 {
	var n int64
	var walk func(op exec.Operator)
	walk = func(op exec.Operator) {
		if sc, ok := unwrap(op).(*exec.Scan); ok {
			n += scannedRows([]*exec.Scan{sc}) * int64(max(1, len(sc.Out.Fields()))) * 8
		}
		for _, c := range op.Children() {
			walk(c)
		}
	}
	walk(op)
	return n
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
	switch unwrap(op).(type) {
	case *exec.HashJoin, *ShuffledJoin:
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
		switch unwrap(n.Build).(type) {
		case *InOrder, *BroadcastStage: // (read in order already)
		default:
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
