package exec

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// JoinKind is the kind of a join.
type JoinKind int

const (
	InnerJoin JoinKind = iota
	LeftJoin
	FullJoin
	SemiJoin
	AntiJoin
	// NullAwareAntiJoin is NOT IN: no row survives when the build side has a
	// NULL key, and a NULL probe key survives only an empty build side.
	NullAwareAntiJoin
	// BuildSemiJoin is a semi join that builds on the side whose rows it
	// returns (the smaller one, TPC-H q04's orders) and probes with the
	// other: each build row that meets a probe row comes out once, after
	// the probe side is read. Its output is the build side's columns.
	BuildSemiJoin
	// BuildAntiJoin is BuildSemiJoin's anti join: each build row that met
	// no probe row comes out (TPC-H q21's NOT EXISTS: 73 thousand line
	// items against 3.8 million).
	BuildAntiJoin
)

func (k JoinKind) String() string {
	return [...]string{"Inner", "Left", "Full", "Semi", "Anti", "NullAwareAnti", "BuildSemi", "BuildAnti"}[k]
}

// marksBuild reports the kinds that remember which build rows met a
// probe row and read the whole probe side in one stream to know.
func (k JoinKind) marksBuild() bool { return k == FullJoin || k.emitsBuildRows() }

// emitsBuildRows reports the kinds whose output is build rows alone, once
// the probe side is read.
func (k JoinKind) emitsBuildRows() bool { return k == BuildSemiJoin || k == BuildAntiJoin }

// emitsBuild reports whether output rows carry the build side's columns.
func (k JoinKind) EmitsBuildCols() bool { return k == InnerJoin || k == LeftJoin || k == FullJoin }

// builtSide is the materialized build input with its hash index: the
// table gives each distinct key a group, heads[g] is the first build row
// of group g and next chains the rows of equal keys.
type builtSide struct {
	rec     arrow.Record
	table   *keyHashTable
	kts     []types.T // the build keys' types
	heads   []int32
	next    []int32 // chain of rows with equal keys (-1 ends)
	hasNull bool
	// matched are the build rows that found a partner, for the kinds
	// that mark them (marksBuild); each stream has its own (withOwnMarks)
	matched []bool
	// buildRows is how many rows the whole build side has (NOT IN reads
	// it); a partition of a spilled build side has fewer
	buildRows int64
	grace     *graceBuild    // the build side went to spill partitions
	acct      *MemoryAccount // the join's share of the limit (joinspill.go)
	// bitmap, when the one key is an integer of a narrow enough range,
	// rules out most probe rows without a partner before hashing
	bitmap *keyBitmap
}

// withOwnMarks is b for one stream of a join that marks build rows: the
// rows and index the run's streams share, with marks of its own. The
// build is cached for its run, and one binding may run more than once
// (a LATERAL subquery's equal left rows, one after the other; a
// correlated subquery's equal outer rows on several partitions, at
// once): marks kept on the shared side were dropped by the first run to
// end, so the next emitted no build rows. The copy is never released;
// the cache releases b.
func (b *builtSide) withOwnMarks() *builtSide {
	own := *b
	own.matched = make([]bool, b.rec.NumRows())
	return &own
}

func (b *builtSide) release() {
	if b.grace != nil {
		b.grace.release()
		b.grace = nil
	}
	if b.acct != nil {
		b.acct.Close()
		b.acct = nil
	}
	if b.table != nil {
		b.table.release()
		b.table = nil
	}
	if b.rec != nil {
		b.rec.Release()
		b.rec = nil
	}
}

// buildCache shares one build across the probe partitions of a run; a new
// run (another binding of outer values) gets its own.
type buildCache struct {
	mu     sync.Mutex
	states map[string]*cachedBuild
}

type cachedBuild struct {
	side *builtSide
	refs int
	err  error
}

func (c *buildCache) get(ctx context.Context, build func() (*builtSide, error)) (*cachedBuild, string) {
	key := runOf(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states == nil {
		c.states = map[string]*cachedBuild{}
	}
	if s, ok := c.states[key]; ok {
		s.refs++
		return s, key
	}
	for k, s := range c.states {
		if s.refs == 0 {
			if s.side != nil {
				s.side.release()
			}
			delete(c.states, k)
		}
	}
	side, err := build()
	s := &cachedBuild{side: side, err: err, refs: 1}
	c.states[key] = s
	return s, key
}

func (c *buildCache) put(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.states[key]; ok {
		s.refs--
	}
}

// Release frees every cached build.
func (c *buildCache) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.states {
		if s.side != nil {
			s.side.release()
		}
		delete(c.states, k)
	}
}

// HashJoin joins Probe (left) with Build (right) on equal keys, plus an
// optional residual condition over the joined row. The build side is read
// once per run and shared by all probe partitions.
type HashJoin struct {
	Env                  *Env
	Kind                 JoinKind
	Probe, Build         Operator
	ProbeKeys, BuildKeys []Expr
	Extra                Expr // over probe columns followed by build columns
	Out                  *arrow.Schema
	// Keep, when set (inner and left joins only), are the columns of
	// probe followed by build that the join emits, Out's fields: the
	// planner drops the ones nothing above reads (join keys used up,
	// columns only a lower join needed) so that they are never gathered.
	Keep []int
	// EstRows is the planner's estimate of the output rows, shown by
	// EXPLAIN (0: none).
	EstRows float64
	cache   buildCache
	stats   spillStats // what it spilled (joinspill.go)
}

func (j *HashJoin) Schema() *arrow.Schema { return j.Out }
func (j *HashJoin) Partitions() int {
	if j.Kind.marksBuild() {
		return 1
	}
	return j.Probe.Partitions()
}
func (j *HashJoin) Children() []Operator { return []Operator{j.Probe, j.Build} }
func (j *HashJoin) Explain() string {
	conds := make([]string, len(j.ProbeKeys))
	for i := range j.ProbeKeys {
		conds[i] = j.ProbeKeys[i].String() + " = " + j.BuildKeys[i].String()
	}
	s := fmt.Sprintf("HashJoin %s on %s (build: right)", j.Kind, strings.Join(conds, " AND "))
	if j.Extra != nil {
		s += " filter " + j.Extra.String()
	}
	return s + estimateNote(j.EstRows)
}

// estimateNote renders a planner's row estimate for EXPLAIN.
func estimateNote(rows float64) string {
	if rows <= 0 {
		return ""
	}
	return fmt.Sprintf(" (est. rows=%.0f)", rows)
}

// Release frees the cached build side.
func (j *HashJoin) Release() { j.cache.Release() }

func (j *HashJoin) build(ctx context.Context) (*builtSide, error) {
	ec := newEvalContext(ctx, j.Env)
	if j.Env.canSpill() {
		return j.buildSpilling(ctx, ec)
	}
	rec, err := collectOne(ctx, ec, j.Build)
	if err != nil {
		return nil, err
	}
	return j.buildFrom(ec, rec)
}

// buildFrom indexes the build rows rec (which it takes over).
func (j *HashJoin) buildFrom(ec *EvalContext, rec arrow.Record) (*builtSide, error) {
	side := &builtSide{rec: rec, buildRows: rec.NumRows()}
	keys, err := evalAll(ec, rec, j.BuildKeys)
	if err != nil {
		side.release()
		return nil, err
	}
	defer releaseAll(keys)
	n := int(rec.NumRows())
	side.kts = exprTypes(j.BuildKeys)
	side.table = newKeyHashTable(ec, joinKeyClasses(side.kts, exprTypes(j.ProbeKeys)), side.kts)
	ids := make([]uint32, n)
	var scratch hashScratch
	// sized once for every row having a key of its own (a join's build
	// side is most often unique on its key), instead of growing by
	// doubling and placing every key again at each step (TPC-H q09's
	// 1.5M orders and 800k partsupp rows: a tenth of the query)
	side.table.reserve(min(n, maxPresizedBuildRows))
	for lo := 0; lo < n; lo += buildChunkRows {
		hi := min(n, lo+buildChunkRows)
		chunk := sliceArrays(keys, lo, hi)
		side.table.groupIDs(&scratch, chunk, side.kts, hi-lo, true, false, ids[lo:hi])
		releaseAll(chunk)
	}
	side.chain(ids)
	side.bitmap = newKeyBitmap(keys)
	return side, nil
}

// buildChunkRows bounds the rows a build places at once, so the table
// grows with the distinct keys rather than with the build side's rows.
const buildChunkRows = 1 << 16

// maxPresizedBuildRows bounds the rows a build sizes its table for up
// front (64 MiB of slots), so a large build side of few distinct keys
// does not hold a table many times its need.
const maxPresizedBuildRows = 1 << 22

// joinKeyClasses is how each key column is hashed: by its class when
// both sides' types share it, else by the generic encoding both can give.
func joinKeyClasses(build, probe []types.T) []keyClass {
	out := make([]keyClass, len(build))
	for i := range build {
		out[i] = classOf(build[i])
		if classOf(probe[i]) != out[i] {
			out[i] = genericKey
		}
	}
	return out
}

// chain links the build rows of each group in row order; rows without a
// group (a NULL key) are left out.
func (b *builtSide) chain(ids []uint32) {
	b.heads = make([]int32, b.table.n)
	for i := range b.heads {
		b.heads[i] = -1
	}
	b.next = make([]int32, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		g := ids[i]
		if g == noGroup {
			b.hasNull = true
			b.next[i] = -1
			continue
		}
		b.next[i] = b.heads[g]
		b.heads[g] = int32(i)
	}
}

// sliceArrays returns rows [lo, hi) of each array (the caller releases).
func sliceArrays(arrs []arrow.Array, lo, hi int) []arrow.Array {
	out := make([]arrow.Array, len(arrs))
	for i, a := range arrs {
		out[i] = array.NewSlice(a, int64(lo), int64(hi))
	}
	return out
}

func (j *HashJoin) Open(ctx context.Context, part int) (Stream, error) {
	var probe Operator = j.Probe
	if j.Kind.marksBuild() {
		probe = &Gather{Input: j.Probe}
	}
	// the build side first: its keys may narrow the probe side's filter
	// (lendKeyFilter) before that is opened
	cb, key := j.cache.get(ctx, func() (*builtSide, error) { return j.build(ctx) })
	if cb.err != nil {
		j.cache.put(key)
		return nil, cb.err
	}
	in, err := probe.Open(j.lendKeyFilter(ctx, cb.side), part)
	if err != nil {
		j.cache.put(key)
		return nil, err
	}
	closeAll := func() { in.Close(); j.cache.put(key) }
	if cb.side.grace != nil {
		// the spilled join reads every probe partition itself
		in.Close()
		return j.openGraceOnce(ctx, part, cb.side, key)
	}
	ec := newEvalContext(ctx, j.Env)
	side := cb.side
	if j.Kind.marksBuild() {
		side = side.withOwnMarks()
	}
	scratch := &probeScratch{kts: exprTypes(j.ProbeKeys)}
	probeDone := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if scratch.pend != nil {
			return j.nextPending(ec, side, scratch)
		}
		for !probeDone {
			b, err := in.Next(ctx)
			if err == io.EOF {
				probeDone = true
				break
			}
			if err != nil {
				return nil, err
			}
			out, err := j.probeBatch(ec, side, scratch, b)
			b.Release()
			if err != nil {
				return nil, err
			}
			if out != nil && out.NumRows() > 0 {
				return out, nil
			}
			if out != nil {
				out.Release()
			}
		}
		if j.Kind == FullJoin && side.matched != nil {
			out, err := j.unmatchedBuild(ec, side)
			side.matched = nil
			if err != nil || out != nil {
				return out, err
			}
		}
		if j.Kind.emitsBuildRows() && side.matched != nil {
			out, err := matchedBuild(ec, side, j.Out, j.Kind == BuildSemiJoin)
			side.matched = nil
			if err != nil || out != nil {
				return out, err
			}
		}
		return nil, io.EOF
	}, close: func() { scratch.release(); closeAll() }}, nil
}

// openGraceOnce joins a spilled build side: partition 0 reads every
// probe partition and joins them all; the others are empty.
func (j *HashJoin) openGraceOnce(ctx context.Context, part int, side *builtSide, key string) (Stream, error) {
	if part != 0 {
		return &funcStream{next: func(context.Context) (arrow.Record, error) { return nil, io.EOF }, close: func() { j.cache.put(key) }}, nil
	}
	st, err := j.openGrace(ctx, side)
	if err != nil {
		j.cache.put(key)
		return nil, err
	}
	return &funcStream{next: st.Next, close: func() { st.Close(); j.cache.put(key) }}, nil
}

// matchedBuild is a BuildSemiJoin's output, the build rows that met a
// probe row, or a BuildAntiJoin's, those that met none (want false), under
// schema out (nil when there are none).
func matchedBuild(ec *EvalContext, side *builtSide, out *arrow.Schema, want bool) (arrow.Record, error) {
	var rows []int
	for r, m := range side.matched {
		if m == want {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rec, err := takeRecord(ec, side.rec, rows)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return withSchema(rec, out), nil
}

// candidates lists (probe row, build row) pairs with equal, non-NULL keys.
func (j *HashJoin) candidates(ec *EvalContext, side *builtSide, scratch *probeScratch, b arrow.Record) ([]int, []int, []bool, error) {
	keys, err := evalAll(ec, b, j.ProbeKeys)
	if err != nil {
		return nil, nil, nil, err
	}
	defer releaseAll(keys)
	n := int(b.NumRows())
	nullKey := nullRows(keys, n)
	rows, err := side.probeRows(ec, scratch, keys, n)
	if err != nil {
		return nil, nil, nil, err
	}
	// the pairs are taken from before the next batch reuses the buffers
	pi, bi := scratch.pi[:0], scratch.bi[:0]
	for k, g := range scratch.ids {
		if g == noGroup {
			continue
		}
		i := k
		if rows != nil {
			i = int(rows[k])
		}
		for r := side.heads[g]; r >= 0; r = side.next[r] {
			pi = append(pi, i)
			bi = append(bi, int(r))
		}
	}
	scratch.pi, scratch.bi = pi, bi
	return pi, bi, nullKey, nil
}

// probeRows looks the probe keys up in the build's table, leaving in
// scratch.ids each row's group (or noGroup). When the build's key bitmap
// rules out most rows, only the others are hashed and looked up: rows
// lists them, and ids[k] belongs to row rows[k]; rows is nil when every
// row was looked up (ids[i] belongs to row i).
func (side *builtSide) probeRows(ec *EvalContext, scratch *probeScratch, keys []arrow.Array, n int) ([]int32, error) {
	if side.bitmap != nil {
		sel, ok := side.bitmap.passing(keys[0], scratch.sel[:0])
		scratch.sel = sel
		// gathering the keys pays when it leaves most rows out
		if ok && len(sel) <= n/2 {
			return sel, side.probeSelected(ec, scratch, keys[0], sel)
		}
	}
	scratch.ids = side.table.groupIDs(&scratch.hash, keys, scratch.kts, n, false, false, scratch.ids)
	return nil, nil
}

// probeSelected looks up the keys of the rows sel lists only.
func (side *builtSide) probeSelected(ec *EvalContext, scratch *probeScratch, key arrow.Array, sel []int32) error {
	if len(sel) == 0 {
		scratch.ids = scratch.ids[:0]
		return nil
	}
	idx := scratch.idx[:0]
	for _, r := range sel {
		idx = append(idx, int(r))
	}
	scratch.idx = idx
	picked, err := takeArray(ec, key, idx)
	if err != nil {
		return err
	}
	defer picked.Release()
	scratch.ids = side.table.groupIDs(&scratch.hash, []arrow.Array{picked}, scratch.kts, len(sel), false, false, scratch.ids)
	return nil
}

// probeScratch is one probe stream's working memory.
type probeScratch struct {
	hash hashScratch
	kts  []types.T // the probe keys' types
	ids  []uint32
	// sel, idx: the rows the key bitmap let through, as int32 and int
	sel []int32
	idx []int
	// pi, bi: the last batch's (probe row, build row) pairs
	pi, bi []int
	// pend: a probe batch whose pairs pendPi, pendBi are still to be
	// joined (emitJoined hands them out a batch at a time)
	pend           arrow.Record
	pendPi, pendBi []int
}

// release drops a probe batch still waiting to be joined (the stream
// was closed before it was read through).
func (s *probeScratch) release() {
	if s != nil && s.pend != nil {
		s.pend.Release()
		s.pend, s.pendPi, s.pendBi = nil, nil, nil
	}
}

// nullRows marks the rows with a NULL in any of arrs.
func nullRows(arrs []arrow.Array, n int) []bool {
	out := make([]bool, n)
	for _, a := range arrs {
		if a.NullN() == 0 {
			continue
		}
		for i := range out {
			if a.IsNull(i) {
				out[i] = true
			}
		}
	}
	return out
}

func (j *HashJoin) probeBatch(ec *EvalContext, side *builtSide, scratch *probeScratch, b arrow.Record) (arrow.Record, error) {
	pi, bi, nullKey, err := j.candidates(ec, side, scratch, b)
	if err != nil {
		return nil, err
	}
	if j.Extra != nil && len(pi) > 0 {
		if pi, bi, err = j.applyExtra(ec, side, b, pi, bi); err != nil {
			return nil, err
		}
	}
	n := int(b.NumRows())
	matched := make([]bool, n)
	for _, p := range pi {
		matched[p] = true
	}
	if side.matched != nil {
		for _, r := range bi {
			side.matched[r] = true
		}
	}
	switch j.Kind {
	case BuildSemiJoin, BuildAntiJoin:
		return nil, nil // its rows come out once the probe side is read
	case SemiJoin, AntiJoin, NullAwareAntiJoin:
		var keep []int
		buildRows := side.buildRows
		for i := 0; i < n; i++ {
			var ok bool
			switch j.Kind {
			case SemiJoin:
				ok = matched[i]
			case AntiJoin:
				ok = !matched[i]
			default:
				ok = buildRows == 0 || (!matched[i] && !nullKey[i] && !side.hasNull)
			}
			if ok {
				keep = append(keep, i)
			}
		}
		return takeRecord(ec, b, keep)
	case LeftJoin, FullJoin:
		for i := 0; i < n; i++ {
			if !matched[i] {
				pi = append(pi, i)
				bi = append(bi, -1)
			}
		}
	}
	return j.emitJoined(ec, side, scratch, b, pi, bi)
}

// emitJoined joins the pairs (pi, bi) of probe batch b at most a batch
// of rows at a time: a probe batch whose keys each meet many build rows
// would otherwise come out as one record of all its pairs, many times a
// batch, and several partitions doing that at once break a statement's
// memory limit before any operator can spill. The rest waits in scratch
// for nextPending.
func (j *HashJoin) emitJoined(ec *EvalContext, side *builtSide, scratch *probeScratch, b arrow.Record, pi, bi []int) (arrow.Record, error) {
	limit := max(j.Env.BatchSize, 1)
	if len(pi) <= limit {
		return j.joinRows(ec, side, b, pi, bi)
	}
	b.Retain()
	scratch.pend, scratch.pendPi, scratch.pendBi = b, pi[limit:], bi[limit:]
	return j.joinRows(ec, side, b, pi[:limit], bi[:limit])
}

// nextPending joins the next batch of the pairs emitJoined left.
func (j *HashJoin) nextPending(ec *EvalContext, side *builtSide, scratch *probeScratch) (arrow.Record, error) {
	n := min(max(j.Env.BatchSize, 1), len(scratch.pendPi))
	b, pi, bi := scratch.pend, scratch.pendPi[:n], scratch.pendBi[:n]
	scratch.pendPi, scratch.pendBi = scratch.pendPi[n:], scratch.pendBi[n:]
	out, err := j.joinRows(ec, side, b, pi, bi)
	if len(scratch.pendPi) == 0 {
		scratch.release()
	}
	return out, err
}

func (j *HashJoin) applyExtra(ec *EvalContext, side *builtSide, b arrow.Record, pi, bi []int) ([]int, []int, error) {
	joined, err := joinedRecord(ec, j.Probe.Schema(), j.Build.Schema(), b, side.rec, pi, bi)
	if err != nil {
		return nil, nil, err
	}
	defer joined.Release()
	mask, err := j.Extra.Eval(ec, joined)
	if err != nil {
		return nil, nil, err
	}
	defer mask.Release()
	bm := mask.(*array.Boolean)
	var p2, b2 []int
	for k := range pi {
		if bm.IsValid(k) && bm.Value(k) {
			p2 = append(p2, pi[k])
			b2 = append(b2, bi[k])
		}
	}
	return p2, b2, nil
}

func (j *HashJoin) joinRows(ec *EvalContext, side *builtSide, b arrow.Record, pi, bi []int) (arrow.Record, error) {
	if j.Keep != nil {
		return keptJoinedRecord(ec, j.Out, b, side.rec, pi, bi, j.Keep)
	}
	joined, err := joinedRecord(ec, j.Probe.Schema(), j.Build.Schema(), b, side.rec, pi, bi)
	if err != nil {
		return nil, err
	}
	defer joined.Release()
	return withSchema(joined, j.Out), nil
}

// joinedRecord builds rows (left[li[k]], right[ri[k]]); index -1 gives NULLs.
func joinedRecord(ec *EvalContext, ls, rs *arrow.Schema, left, right arrow.Record, li, ri []int) (arrow.Record, error) {
	fields := append(append([]arrow.Field{}, ls.Fields()...), rs.Fields()...)
	cols := make([]arrow.Array, 0, len(fields))
	defer func() { releaseAll(cols) }()
	for c := 0; c < int(left.NumCols()); c++ {
		a, err := takeArray(ec, left.Column(c), li)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	for c := 0; c < int(right.NumCols()); c++ {
		a, err := takeArray(ec, right.Column(c), ri)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(li))), nil
}

// keptJoinedRecord is joinedRecord's columns at keep (indexes into
// left's columns followed by right's), under out.
func keptJoinedRecord(ec *EvalContext, out *arrow.Schema, left, right arrow.Record, li, ri []int, keep []int) (arrow.Record, error) {
	cols := make([]arrow.Array, 0, len(keep))
	defer func() { releaseAll(cols) }()
	nl := int(left.NumCols())
	for _, c := range keep {
		var a arrow.Array
		var err error
		if c < nl {
			a, err = takeArray(ec, left.Column(c), li)
		} else {
			a, err = takeArray(ec, right.Column(c-nl), ri)
		}
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	return array.NewRecord(out, cols, int64(len(li))), nil
}

// withSchema relabels a record's columns with schema (same types).
func withSchema(r arrow.Record, schema *arrow.Schema) arrow.Record {
	return array.NewRecord(schema, r.Columns(), r.NumRows())
}

func (j *HashJoin) unmatchedBuild(ec *EvalContext, side *builtSide) (arrow.Record, error) {
	var bi, pi []int
	for r, m := range side.matched {
		if !m {
			bi = append(bi, r)
			pi = append(pi, -1)
		}
	}
	if len(bi) == 0 {
		return nil, nil
	}
	empty, err := emptyRecord(ec, j.Probe.Schema())
	if err != nil {
		return nil, err
	}
	defer empty.Release()
	return j.joinRows(ec, side, empty, pi, bi)
}

func emptyRecord(ec *EvalContext, s *arrow.Schema) (arrow.Record, error) {
	cols := make([]arrow.Array, s.NumFields())
	for i, f := range s.Fields() {
		b := array.NewBuilder(ec.Mem, f.Type)
		cols[i] = b.NewArray()
		b.Release()
	}
	defer releaseAll(cols)
	return array.NewRecord(s, cols, 0), nil
}

// NestedLoopJoin joins every left row with every right row that satisfies
// Cond (nil: a cross join). The right side is materialized once per run.
type NestedLoopJoin struct {
	Env         *Env
	Kind        JoinKind // Inner, Left, Full, Semi or Anti
	Left, Right Operator
	Cond        Expr
	Out         *arrow.Schema
	EstRows     float64 // the planner's estimate, for EXPLAIN
	cache       buildCache
}

func (j *NestedLoopJoin) Schema() *arrow.Schema { return j.Out }
func (j *NestedLoopJoin) Partitions() int {
	if j.Kind == FullJoin {
		return 1
	}
	return j.Left.Partitions()
}
func (j *NestedLoopJoin) Children() []Operator { return []Operator{j.Left, j.Right} }
func (j *NestedLoopJoin) Explain() string {
	s := "NestedLoopJoin " + j.Kind.String()
	if j.Cond != nil {
		s += " on " + j.Cond.String()
	}
	return s + estimateNote(j.EstRows)
}

// Release frees the materialized right side.
func (j *NestedLoopJoin) Release() { j.cache.Release() }

func (j *NestedLoopJoin) Open(ctx context.Context, part int) (Stream, error) {
	hj := &HashJoin{Env: j.Env, Kind: j.Kind, Probe: j.Left, Build: j.Right, Extra: j.Cond, Out: j.Out}
	var left Operator = j.Left
	if j.Kind == FullJoin {
		left = &Gather{Input: j.Left}
	}
	in, err := left.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	cb, key := j.cache.get(ctx, func() (*builtSide, error) {
		ec := newEvalContext(ctx, j.Env)
		rec, err := collectOne(ctx, ec, j.Right)
		if err != nil {
			return nil, err
		}
		return &builtSide{rec: rec}, nil
	})
	closeAll := func() { in.Close(); j.cache.put(key) }
	if cb.err != nil {
		closeAll()
		return nil, cb.err
	}
	side := cb.side
	if j.Kind == FullJoin {
		side = side.withOwnMarks()
	}
	ec := newEvalContext(ctx, j.Env)
	var cur *nlBatch
	leftDone := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		for {
			// a cross join can pair for hours: every chunk checks for
			// cancellation
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if cur != nil {
				out, err := j.step(ec, hj, side, cur)
				if cur.done() {
					cur.rec.Release()
					cur = nil
				}
				if err != nil || out != nil {
					return out, err
				}
				continue
			}
			if leftDone {
				if j.Kind == FullJoin && side.matched != nil {
					out, err := hj.unmatchedBuild(ec, side)
					side.matched = nil
					if err != nil || out != nil {
						return out, err
					}
				}
				return nil, io.EOF
			}
			b, err := in.Next(ctx)
			if err == io.EOF {
				leftDone = true
				continue
			}
			if err != nil {
				return nil, err
			}
			cur = &nlBatch{rec: b, matched: make([]bool, b.NumRows())}
		}
	}, close: func() {
		if cur != nil {
			cur.rec.Release()
			cur = nil
		}
		closeAll()
	}}, nil
}

// nlBatch is the left batch a nested loop join is working through: it
// pairs one chunk of its rows with the right side per step, so output
// comes a batch at a time rather than all pairs of a batch at once.
type nlBatch struct {
	rec      arrow.Record
	next     int  // the first row not yet paired
	finished bool // unmatched rows emitted
	matched  []bool
}

func (b *nlBatch) done() bool { return b.finished }

// step pairs the next chunk of cur's rows, or once all are paired emits
// the rows an outer, semi or anti join keeps unpaired. A nil record with
// no error means the step produced no rows.
func (j *NestedLoopJoin) step(ec *EvalContext, hj *HashJoin, side *builtSide, cur *nlBatch) (arrow.Record, error) {
	nl, nr := int(cur.rec.NumRows()), int(side.rec.NumRows())
	if cur.next >= nl {
		cur.finished = true
		return j.unpaired(ec, hj, side, cur)
	}
	chunk := max(1, j.Env.BatchSize/max(nr, 1))
	start, end := cur.next, min(nl, cur.next+chunk)
	cur.next = end
	pi := make([]int, 0, (end-start)*nr)
	bi := make([]int, 0, (end-start)*nr)
	for i := start; i < end; i++ {
		for r := 0; r < nr; r++ {
			pi = append(pi, i)
			bi = append(bi, r)
		}
	}
	var err error
	if j.Cond != nil && len(pi) > 0 {
		if pi, bi, err = hj.applyExtra(ec, side, cur.rec, pi, bi); err != nil {
			return nil, err
		}
	}
	for _, p := range pi {
		cur.matched[p] = true
	}
	if side.matched != nil {
		for _, r := range bi {
			side.matched[r] = true
		}
	}
	if !j.Kind.EmitsBuildCols() || len(pi) == 0 {
		return nil, nil
	}
	return hj.joinRows(ec, side, cur.rec, pi, bi)
}

// unpaired emits the left rows the join kind keeps for their matches (semi)
// or their lack of one (anti, left, full).
func (j *NestedLoopJoin) unpaired(ec *EvalContext, hj *HashJoin, side *builtSide, cur *nlBatch) (arrow.Record, error) {
	b := cur.rec
	var keep []int
	for i, matched := range cur.matched {
		switch {
		case j.Kind == SemiJoin && matched, j.Kind == AntiJoin && !matched:
			keep = append(keep, i)
		case (j.Kind == LeftJoin || j.Kind == FullJoin) && !matched:
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return nil, nil
	}
	var rec arrow.Record
	var err error
	if j.Kind == SemiJoin || j.Kind == AntiJoin {
		rec, err = takeRecord(ec, b, keep)
	} else {
		nulls := make([]int, len(keep))
		for i := range nulls {
			nulls[i] = -1
		}
		rec, err = hj.joinRows(ec, side, b, keep, nulls)
	}
	return rec, err
}
