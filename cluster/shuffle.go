package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/cluster/clusterpb"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/types"
	"google.golang.org/protobuf/proto"
)

// A hash join whose build side is too large to broadcast runs on the
// workers as a shuffle join: both sides are repartitioned on the join
// keys. Each partition m of a side (a map task) is computed once by a
// worker, its rows hashed into B buckets that the worker keeps in memory
// (mapcache.go); partition b of the join (a reduce task) reads bucket b
// of every map partition of both sides from the workers holding them,
// by DoGet with a map ticket (the fragment with the side's path, the map
// partition and the bucket), and joins them. A map output lost with its
// worker is computed again from its lineage: the reduce task asks the
// next worker for the same map ticket, and computes it itself when no
// worker answers.
//
// Bucket b of map partition m is a deterministic function of stored
// data: the side's partition in order, the rows whose key hashes to b,
// with a hash that depends on the values alone (not on a process's
// seed). A reduce task reads the map partitions of each side in order,
// so its join (its build side gathered in order, never spilling) emits
// the same rows in the same order on any rerun, and the coordinator
// skips the rows already passed on, as for a scan.

// ShuffledJoin is J computed bucket by bucket: partition b joins bucket
// b of J's probe side with bucket b of its build side.
type ShuffledJoin struct {
	J       *exec.HashJoin
	Buckets int
	// read opens bucket b of a side (0 probe, 1 build) as one stream
	read func(ctx context.Context, side, bucket int) (exec.Stream, error)
	// fetched counts the rows and bytes the reduce tasks read
	rows, bytes atomic.Int64
}

func (s *ShuffledJoin) Schema() *arrow.Schema     { return s.J.Out }
func (s *ShuffledJoin) Partitions() int           { return s.Buckets }
func (s *ShuffledJoin) Children() []exec.Operator { return s.J.Children() }
func (s *ShuffledJoin) Explain() string {
	return fmt.Sprintf("Shuffle %s (exchange: both sides hashed on the join keys into %d buckets by map tasks on the workers; partition b reads bucket b of every map partition over Flight)",
		s.J.Explain(), s.Buckets)
}

// Open joins bucket part of both sides.
func (s *ShuffledJoin) Open(ctx context.Context, part int) (exec.Stream, error) {
	side := func(i int, schema *arrow.Schema) exec.Operator {
		return &bucketOp{schema: schema, open: func(ctx context.Context) (exec.Stream, error) { return s.read(ctx, i, part) }}
	}
	env := s.J.Env
	if env != nil {
		e := *env
		e.Spill = nil // a spilled join emits its rows in another order
		env = &e
	}
	one := &exec.HashJoin{Env: env, Kind: s.J.Kind, Probe: side(0, s.J.Probe.Schema()), Build: side(1, s.J.Build.Schema()),
		ProbeKeys: s.J.ProbeKeys, BuildKeys: s.J.BuildKeys, Extra: s.J.Extra, Out: s.J.Out, Keep: s.J.Keep}
	st, err := one.Open(ctx, 0)
	if err != nil {
		one.Release()
		return nil, err
	}
	return &releasingStream{Stream: st, release: one.Release}, nil
}

type releasingStream struct {
	exec.Stream
	release func()
}

func (r *releasingStream) Close() {
	r.Stream.Close()
	r.release()
}

// bucketOp is one bucket of a side as an operator of one partition.
type bucketOp struct {
	schema *arrow.Schema
	open   func(ctx context.Context) (exec.Stream, error)
}

func (b *bucketOp) Schema() *arrow.Schema                                { return b.schema }
func (b *bucketOp) Partitions() int                                      { return 1 }
func (b *bucketOp) Children() []exec.Operator                            { return nil }
func (b *bucketOp) Explain() string                                      { return "Bucket" }
func (b *bucketOp) Open(ctx context.Context, _ int) (exec.Stream, error) { return b.open(ctx) }

// shuffleJoin reports whether j can run as a shuffle join: a kind that
// joins each probe row with the build rows of its key alone (inner,
// left, semi, anti; NOT IN needs to know of a NULL anywhere in the build
// side), keys of the same type on both sides (integers of any width
// hash alike), and sides that are worker pipelines without shuffles.
func shuffleJoin(j *exec.HashJoin) bool {
	switch j.Kind {
	case exec.InnerJoin, exec.LeftJoin, exec.SemiJoin, exec.AntiJoin:
	default:
		return false
	}
	if len(j.ProbeKeys) == 0 || len(j.ProbeKeys) != len(j.BuildKeys) {
		return false
	}
	if volatileKeys(j.ProbeKeys) || volatileKeys(j.BuildKeys) {
		return false // a row's bucket would depend on the draw (volatile.go)
	}
	for i := range j.ProbeKeys {
		p, b := j.ProbeKeys[i].Type(), j.BuildKeys[i].Type()
		if !p.Equal(b) && !(p.IsInteger() && b.IsInteger()) {
			return false
		}
	}
	return true
}

// bucketRows splits rec's rows by the hash of keys into n buckets: the
// row indexes of each, in order. A row with a NULL key goes to bucket
// 0 (it meets nothing; an outer or anti join still emits it, once).
func bucketRows(ec *exec.EvalContext, rec arrow.Record, keys []exec.Expr, n int) ([][]int, error) {
	rows := int(rec.NumRows())
	h := make([]uint64, rows)
	null := make([]bool, rows)
	for _, k := range keys {
		col, err := k.Eval(ec, rec)
		if err != nil {
			return nil, err
		}
		hashColumn(col, k.Type().Kind == types.Char, h, null)
		col.Release()
	}
	out := make([][]int, n)
	for i := range rows {
		b := 0
		if !null[i] {
			b = int(h[i] % uint64(n))
		}
		out[b] = append(out[b], i)
	}
	return out, nil
}

// hashColumn folds each row's value of a into h: the same value hashes
// alike in every process (no random seed), and integers of every width
// alike. char: a's values are char(n), whose trailing blanks compare as
// nothing ('a' = 'a  ').
func hashColumn(a arrow.Array, char bool, h []uint64, null []bool) {
	for i := range h {
		if a.IsNull(i) {
			null[i] = true
			continue
		}
		h[i] = mix(h[i]*0x100000001b3 ^ valueHash(a, i, char))
	}
}

func valueHash(a arrow.Array, i int, char bool) uint64 {
	switch c := a.(type) {
	case *array.String:
		s := c.Value(i)
		if char {
			s = strings.TrimRight(s, " ")
		}
		return bytesHash([]byte(s))
	case *array.Int8:
		return uint64(int64(c.Value(i)))
	case *array.Int16:
		return uint64(int64(c.Value(i)))
	case *array.Int32:
		return uint64(int64(c.Value(i)))
	case *array.Int64:
		return uint64(c.Value(i))
	case *array.Date32:
		return uint64(int64(c.Value(i)))
	case *array.Float64:
		return floatHash(c.Value(i))
	case *array.Float32:
		return floatHash(float64(c.Value(i)))
	case *array.Decimal128:
		v := c.Value(i)
		return mix(v.LowBits()) ^ uint64(v.HighBits())
	case interface{ Value(int) string }:
		return bytesHash([]byte(c.Value(i)))
	}
	return bytesHash(fmt.Append(nil, exec.DatumAt(a, i)))
}

// floatHash hashes the values GROUP BY and = hold equal alike: -0 with
// 0, every NaN with every other.
func floatHash(v float64) uint64 {
	switch {
	case v == 0:
		v = 0 // -0 = 0
	case math.IsNaN(v):
		v = math.NaN()
	}
	return math.Float64bits(v)
}

func bytesHash(b []byte) uint64 {
	f := fnv.New64a()
	f.Write(b)
	return f.Sum64()
}

// mix is splitmix64's finalizer: the low bits of the bucket number
// depend on every bit of the value.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// localBucket computes bucket b of every map partition of side, in
// order, here: the coordinator's way of running a reduce partition
// when no worker can.
func localBucket(env *exec.Env, side exec.Operator, keys []exec.Expr, buckets, b int) exec.Stream {
	parts := make([]int, side.Partitions())
	for m := range parts {
		parts[m] = m
	}
	return &localBucketStream{env: env, side: side, keys: keys, buckets: buckets, bucket: b, parts: parts}
}

// localMapPartition is bucket b of map partition m alone, computed here:
// a worker's way when no other holds or can compute that map output.
func localMapPartition(env *exec.Env, side exec.Operator, keys []exec.Expr, buckets, b, m int) exec.Stream {
	return &localBucketStream{env: env, side: side, keys: keys, buckets: buckets, bucket: b, parts: []int{m}}
}

type localBucketStream struct {
	env             *exec.Env
	side            exec.Operator
	keys            []exec.Expr
	buckets, bucket int
	parts           []int // map partitions still to read, in order
	cur             exec.Stream
}

func (s *localBucketStream) Next(ctx context.Context) (arrow.Record, error) {
	for {
		if s.cur == nil {
			if len(s.parts) == 0 {
				return nil, io.EOF
			}
			st, err := s.side.Open(ctx, s.parts[0])
			if err != nil {
				return nil, err
			}
			s.cur, s.parts = st, s.parts[1:]
		}
		rec, err := s.cur.Next(ctx)
		if errors.Is(err, io.EOF) {
			s.cur.Close()
			s.cur = nil
			continue
		}
		if err != nil {
			return nil, err
		}
		out, err := takeBucket(ctx, s.env, rec, s.keys, s.buckets, s.bucket)
		rec.Release()
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
}

func (s *localBucketStream) Close() {
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
}

// takeBucket is rec's rows of bucket b (nil when there are none).
func takeBucket(ctx context.Context, env *exec.Env, rec arrow.Record, keys []exec.Expr, buckets, b int) (arrow.Record, error) {
	ec := exec.NewEvalContext(ctx, env)
	idx, err := bucketRows(ec, rec, keys, buckets)
	if err != nil {
		return nil, err
	}
	if len(idx[b]) == 0 {
		return nil, nil
	}
	return exec.TakeRecord(ec.Mem, rec, idx[b])
}

// splitAll hashes all of rec into buckets: one record per bucket (nil
// where none).
func splitAll(ec *exec.EvalContext, mem memory.Allocator, rec arrow.Record, keys []exec.Expr, buckets int) ([]arrow.Record, error) {
	idx, err := bucketRows(ec, rec, keys, buckets)
	if err != nil {
		return nil, err
	}
	out := make([]arrow.Record, buckets)
	for b, rows := range idx {
		if len(rows) == 0 {
			continue
		}
		if out[b], err = exec.TakeRecord(mem, rec, rows); err != nil {
			exec.ReleaseRecords(out)
			return nil, err
		}
	}
	return out, nil
}

// sideKeys are the keys a join hashes side i on.
func sideKeys(j *exec.HashJoin, side int) []exec.Expr {
	if side == 0 {
		return j.ProbeKeys
	}
	return j.BuildKeys
}

// shuffleAt is a shuffle the distributor found, by its path: a
// shuffle join's, or a shuffled aggregation's (aggshuffle.go).
type shuffleAt struct {
	path    []uint32
	buckets int
	// broadcast: the join's build side, which holds shuffles, is
	// computed once into one bucket that every partition reads whole
	// (BroadcastStage)
	broadcast bool
}

// planShuffles makes the shuffles of a pipeline ShuffledJoins and
// ShuffledAggregates in place, reading their buckets with read; at is
// the pipeline's root and its path, shuffles' paths are from the plan's
// root (those not under at belong to another part of the stage and are
// left alone). Shuffles nest: a side of a shuffle join may hold a
// shuffle join or a shuffled aggregation, which are planned first
// (deepest first), so that the shuffle above hashes their partitions.
// It returns the pipeline's new root (a shuffle when the root itself
// was one).
func planShuffles(op exec.Operator, at []uint32, shuffles []*clusterpb.Shuffle, read bucketReader) (exec.Operator, error) {
	type found struct {
		sh     *clusterpb.Shuffle
		rel    []uint32
		node   exec.Operator // the join or aggregation, unwrapped
		parent exec.Operator // nil at the pipeline's root
	}
	var all []found
	for _, sh := range shuffles {
		if len(sh.Path) < len(at) || !slices.Equal(sh.Path[:len(at)], at) {
			continue
		}
		rel := sh.Path[len(at):]
		node, err := NodeAt(op, rel)
		if err != nil {
			return nil, err
		}
		f := found{sh: sh, rel: rel, node: unwrap(node)}
		switch f.node.(type) {
		case *exec.HashJoin, *exec.HashAggregate:
		default:
			return nil, &ReplanError{Reason: fmt.Sprintf("the shuffle's node is %T, not a hash join or aggregation", f.node)}
		}
		if len(rel) > 0 {
			if f.parent, err = NodeAt(op, rel[:len(rel)-1]); err != nil {
				return nil, err
			}
		}
		all = append(all, f)
	}
	// deepest first: a shuffle's sides are final when it is planned, and
	// the nodes on the path to a shuffle are still the plan's own
	slices.SortStableFunc(all, func(a, b found) int { return len(b.rel) - len(a.rel) })
	for _, f := range all {
		var sh exec.Operator
		switch n := f.node.(type) {
		case *exec.HashJoin:
			if f.sh.Broadcast {
				// the join stays in place, partition by partition of its
				// probe side; its build side is read from the map outputs
				n.Build = &BroadcastStage{In: n.Build, read: read(joinSides(n, [2]exec.Operator{n.Probe, n.Build}), f.sh)}
				continue
			}
			sj := &ShuffledJoin{J: n, Buckets: int(f.sh.Buckets)}
			sj.read = read(joinSides(n, [2]exec.Operator{n.Probe, n.Build}), f.sh)
			sh = sj
		case *exec.HashAggregate:
			sa, err := newShuffledAggregate(n, f.sh, read)
			if err != nil {
				return nil, err
			}
			sh = sa
		}
		if f.parent == nil {
			op = sh
			continue
		}
		if !setChild(f.parent, unwrapTo(f.parent, f.node), sh) {
			return nil, &ReplanError{Reason: fmt.Sprintf("cannot place a shuffle under %T", unwrap(f.parent))}
		}
	}
	return op, nil
}

// unwrapTo is the child of parent that is node, or node's instrumented
// wrapper.
func unwrapTo(parent exec.Operator, node exec.Operator) exec.Operator {
	for _, c := range children(parent) {
		if unwrap(c) == node {
			return c
		}
	}
	return node
}

// children is what a node holds as its inputs, as setChild sees them.
func children(op exec.Operator) []exec.Operator {
	if p, ok := unwrap(op).(*PartialAggregate); ok {
		return []exec.Operator{p.Agg.Input}
	}
	return op.Children()
}

// setChild puts nc where parent holds old.
func setChild(parent, old, nc exec.Operator) bool {
	switch p := unwrap(parent).(type) {
	case *PartialAggregate:
		if p.Agg.Input == old {
			p.Agg.Input = nc
			return true
		}
		return false
	case *InOrder:
		if p.In == old {
			p.In = nc
			return true
		}
		return false
	}
	return replaceChild(parent, old, nc)
}

// shuffleSides is what a shuffle hashes: its sides (a join's probe and
// build side; an aggregation's partial phase alone) and the keys each
// is hashed on.
type shuffleSides struct {
	env   *exec.Env
	sides []exec.Operator
	keys  [][]exec.Expr
	// aggregate: the shuffle's node is a hash aggregation, whose map
	// tickets name the aggregation itself with partial_aggregate set
	// (and keep the shuffle joins under it)
	aggregate bool
}

func joinSides(j *exec.HashJoin, sides [2]exec.Operator) shuffleSides {
	return shuffleSides{env: j.Env, sides: sides[:], keys: [][]exec.Expr{j.ProbeKeys, j.BuildKeys}}
}

// bucketReader makes a shuffle's reading of its buckets: bucket b of
// side i (0 for an aggregation) as one stream.
type bucketReader func(in shuffleSides, sh *clusterpb.Shuffle) func(ctx context.Context, side, bucket int) (exec.Stream, error)

// localShuffles is the coordinator's reading of a shuffle's buckets:
// computed here from the sides' pipelines.
func localShuffles(in shuffleSides, sh *clusterpb.Shuffle) func(ctx context.Context, side, bucket int) (exec.Stream, error) {
	return func(ctx context.Context, side, bucket int) (exec.Stream, error) {
		return localBucket(in.env, in.sides[side], in.keys[side], int(sh.Buckets), bucket), nil
	}
}

// mapTicket names bucket of map partition m of shuffle sh, read by a
// task of fragment f: for a join the side's node (side 0 probe, 1
// build); for an aggregation the aggregation itself with
// partial_aggregate set (its partial phase). The ticket carries the
// shuffles under its node, which its map task reads from the peers in
// turn: a side holding a shuffle join or a shuffled aggregation
// (nested shuffles), an aggregation over a shuffle join.
func mapTicket(f *clusterpb.Fragment, sh *clusterpb.Shuffle, side, m, bucket int, aggregate bool) *clusterpb.Fragment {
	t := proto.Clone(f).(*clusterpb.Fragment)
	t.Partition = uint32(m)
	t.ShuffleMap = &clusterpb.ShuffleMap{Buckets: sh.Buckets, Bucket: uint32(bucket)}
	t.Path = append([]uint32(nil), sh.Path...)
	if !aggregate {
		t.Path = append(t.Path, uint32(side))
	}
	t.PartialAggregate, t.Shuffles = aggregate, nil
	for _, other := range f.Shuffles {
		under := len(other.Path) >= len(t.Path) && slices.Equal(other.Path[:len(t.Path)], t.Path)
		// (an aggregation's own shuffle is what its ticket computes the
		// map side of; a join side that is an aggregation is shuffled)
		if under && !(aggregate && len(other.Path) == len(t.Path)) {
			t.Shuffles = append(t.Shuffles, other)
		}
	}
	return t
}

// BroadcastStage is a join's build side that holds shuffles of its own
// (a small aggregation's or join's output), read whole by every
// partition of the join: its partitions are computed once, by map tasks
// on the workers that keep them as one bucket each (mapcache.go), and
// each reader reads them in partition order from the peers, as a
// shuffle's reduce task reads its buckets. The build side is thus
// computed once per query rather than once per partition, and the probe
// side is not repartitioned at all.
type BroadcastStage struct {
	In   exec.Operator
	read func(ctx context.Context, side, bucket int) (exec.Stream, error)
}

func (b *BroadcastStage) Schema() *arrow.Schema     { return b.In.Schema() }
func (b *BroadcastStage) Partitions() int           { return 1 }
func (b *BroadcastStage) Children() []exec.Operator { return []exec.Operator{b.In} }
func (b *BroadcastStage) Explain() string {
	return fmt.Sprintf("Broadcast (build side of %d partitions computed once by map tasks on the workers; every partition reads all of them in order over Flight)", b.In.Partitions())
}

func (b *BroadcastStage) Open(ctx context.Context, _ int) (exec.Stream, error) {
	return b.read(ctx, 1, 0)
}
