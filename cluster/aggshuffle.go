package cluster

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
)

// A GROUP BY of many groups runs as a shuffled aggregation: its partial
// phase (partialagg.go) runs on the workers as map tasks, each map
// partition's partial groups hashed on the group keys into B buckets
// and kept by the worker that computed them (mapcache.go, as a shuffle
// join's sides are); partition b of the aggregation (a reduce task)
// reads bucket b of every map partition from the workers, in order, and
// folds them with the final phase. Each group's partial rows all land
// in one bucket, so the reduce tasks' outputs are disjoint and the
// coordinator only gathers them, instead of merging every partial group
// of every partition itself.
//
// The lineage is the shuffle join's: a map output lost with its worker
// is computed again by the next peer (or the reduce task itself), and
// a lost reduce task is rerun on another worker. Neither phase spills
// (steady), so a map partition's partial groups come in the same order
// on every run (a hash aggregation emits its groups in the order it
// first saw them), and skipping the rows already read from a lost peer
// stays exact. The coordinator still holds each reduce partition whole
// (Remote.Whole) before passing it on, as for any aggregation's rows.

// ShuffleGroups is the default bound above which an aggregation is
// shuffled: one whose estimated groups reach it is repartitioned by key
// across the workers; a smaller one is merged on the coordinator. The
// session setting weft.shuffle_groups changes it (0 shuffles every
// aggregation that can be).
const ShuffleGroups = 1 << 17

// ShuffledAggregate is Agg computed bucket by bucket: partition b is
// the final phase of Agg over bucket b of every partition of Partial.
type ShuffledAggregate struct {
	Agg     *exec.HashAggregate // never spilling (steady)
	Partial *PartialAggregate   // the map side
	Buckets int
	read    func(ctx context.Context, side, bucket int) (exec.Stream, error)
}

func (s *ShuffledAggregate) Schema() *arrow.Schema     { return s.Agg.Out }
func (s *ShuffledAggregate) Partitions() int           { return s.Buckets }
func (s *ShuffledAggregate) Children() []exec.Operator { return []exec.Operator{s.Partial} }
func (s *ShuffledAggregate) Explain() string {
	return fmt.Sprintf("Shuffle %s (exchange: partial groups hashed on the group keys into %d buckets by map tasks on the workers; partition b merges bucket b of every map partition over Flight)",
		s.Agg.Explain(), s.Buckets)
}

// Open folds bucket part of every map partition's partial groups.
func (s *ShuffledAggregate) Open(ctx context.Context, part int) (exec.Stream, error) {
	in := &bucketOp{schema: s.Partial.Schema(), open: func(ctx context.Context) (exec.Stream, error) { return s.read(ctx, 0, part) }}
	final, ok := finalAggregate(s.Agg, in)
	if !ok {
		return nil, fmt.Errorf("the shuffled aggregation's final phase cannot be built")
	}
	return final.Open(ctx, 0)
}

// newShuffledAggregate is the aggregation op (the node a reduce
// fragment names) reading its buckets with read.
func newShuffledAggregate(op exec.Operator, sh *clusterpb.Shuffle, read bucketReader) (exec.Operator, error) {
	h, ok := unwrap(op).(*exec.HashAggregate)
	if !ok {
		return nil, &ReplanError{Reason: fmt.Sprintf("the shuffled aggregation's node is %T", unwrap(op))}
	}
	h = steady(h)
	partial, ok := NewPartialAggregate(h)
	if !ok {
		return nil, &ReplanError{Reason: "the aggregation cannot be split"}
	}
	if sh.Buckets == 0 {
		return nil, &ReplanError{Reason: "a shuffled aggregation of no buckets"}
	}
	s := &ShuffledAggregate{Agg: h, Partial: partial, Buckets: int(sh.Buckets)}
	s.read = read(shuffleSides{env: h.Env, sides: []exec.Operator{partial}, keys: [][]exec.Expr{groupColumns(h)}, aggregate: true}, sh)
	return s, nil
}

// aggregateMapNode is the node of an aggregation's map ticket: bucket
// (the ticket's) of the partial groups of each partition of the
// aggregation at the ticket's path, whose own shuffle joins read their
// buckets from the peers.
func aggregateMapNode(w *Worker, node exec.Operator, f *clusterpb.Fragment, mem memory.Allocator) (exec.Operator, error) {
	h, ok := unwrap(node).(*exec.HashAggregate)
	if !ok {
		return nil, &ReplanError{Reason: fmt.Sprintf("an aggregation's map ticket names a %T", unwrap(node))}
	}
	if len(f.Shuffles) > 0 {
		read := localShuffles
		if w != nil {
			read = peerShuffles(w, f, mem)
		}
		if _, err := planShuffles(h, f.Path, f.Shuffles, read); err != nil {
			return nil, err
		}
	}
	if hasJoin(h) {
		OrderBuilds(h)
	}
	h = steady(h)
	partial, ok := NewPartialAggregate(h)
	if !ok {
		return nil, &ReplanError{Reason: "the aggregation cannot be split"}
	}
	t := &mapTask{side: partial, keys: groupColumns(h), env: h.Env, frag: f, mem: mem}
	if w != nil {
		t.cache = &w.cache
	}
	return t, nil
}

// steady is h never spilling: a spilled aggregation emits its groups in
// another order, and the map outputs and reduce tasks of a shuffle must
// repeat their rows in the same order when computed again.
func steady(h *exec.HashAggregate) *exec.HashAggregate {
	env := h.Env
	if env != nil && env.Spill != nil {
		e := *env
		e.Spill = nil
		env = &e
	}
	return &exec.HashAggregate{Env: env, Input: h.Input, Keys: h.Keys, Aggs: h.Aggs, Out: h.Out}
}

// groupColumns are the group keys of h's partial rows: its first
// columns.
func groupColumns(h *exec.HashAggregate) []exec.Expr {
	out := make([]exec.Expr, len(h.Keys))
	for i, k := range h.Keys {
		out[i] = &exec.ColumnExpr{Index: i, T: k.Type(), Name: k.String()}
	}
	return out
}

// hashableKeys reports whether every group key is of a type whose equal
// values (as GROUP BY compares them) hash alike in every process:
// integers, floats (0 and -0, every NaN alike), numerics of the key's
// scale, text and char(n) (hashed without trailing blanks, as 'a' =
// 'a  '), booleans, dates and timestamps. An interval ('1 day' groups
// with '24 hours') or a composite does not.
func hashableKeys(keys []exec.Expr) bool {
	for _, k := range keys {
		t := k.Type()
		switch {
		case t.IsInteger(), t.IsFloat():
		default:
			switch t.Kind {
			case types.Numeric, types.Text, types.Varchar, types.Char, types.Bool, types.Date, types.Timestamp, types.TimestampTZ:
			default:
				return false
			}
		}
	}
	return len(keys) > 0
}

// shufflesAggregate says whether h, whose partial phase can run on the
// workers over pipeline p, is shuffled rather than merged here: enough
// groups expected (at most the rows under it), keys that hash alike
// everywhere, stored tables under it (not files or PostgreSQL ranges),
// and, under a statement memory limit, tables under it holding at most
// a quarter of it (eight bytes a value, as for a join's build side):
// the coordinator would spill a larger one, and neither the workers
// nor the coordinator's copy of a reduce task spill.
func (d *distributor) shufflesAggregate(h *exec.HashAggregate, p pipeline) bool {
	if !hashableKeys(h.Keys) || volatileKeys(h.Keys) || d.limits.noShuffle || p.external || len(d.live) == 0 {
		return false
	}
	if d.limits.memory > 0 && scannedBytes(h.Input) > d.limits.memory/4 {
		return false
	}
	if d.limits.shuffleGroups == 0 {
		return true
	}
	if d.limits.groups == nil {
		return false
	}
	groups := min(d.limits.groups(h), float64(scannedRows(p.scans)))
	return groups >= float64(d.limits.shuffleGroups)
}

// shuffledAggregate runs h (op, at path) as a shuffled aggregation over
// pipeline p: a stage of reduce tasks the coordinator gathers. Nil when
// it cannot.
func (d *distributor) shuffledAggregate(op exec.Operator, h *exec.HashAggregate, path []uint32, p pipeline) exec.Operator {
	shuffles := append(append([]shuffleAt(nil), p.shuffles...), shuffleAt{path: path, buckets: h.Input.Partitions()})
	remote, ok := d.remote(op, path, shuffles).(*Remote)
	if !ok {
		return nil
	}
	// (a reduce task's groups are a deterministic function of its
	// buckets, but held whole as any aggregation's rows: the coordinator
	// then never depends on it)
	remote.Whole = true
	return &exec.Gather{Input: remote}
}
