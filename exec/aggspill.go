package exec

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/exec/spill"
	"golang.org/x/sync/errgroup"
)

// Hybrid hash aggregation. While a statement has a memory limit, a
// HashAggregate with GROUP BY keys aggregates in memory as it always did
// until its groups pass its share of the limit. From then on the set of
// groups is frozen: a row whose key already has a group keeps updating
// it, and a row with a new key is written, as it came in, to one of
// aggFanout spill partitions chosen by its key's hash. The groups in
// memory are then final and come out; each partition is aggregated the
// same way afterwards, with a new hash salt, recursively.
//
// Rows rather than accumulator states go to disk, so every aggregate
// (string_agg, array_agg, ordered-set ones, user-defined ones) spills
// without a serialized form of its state; DuckDB's partial-state spilling
// would need one per aggregate. The price is that a row is written and
// read again once per level it goes down, which a skew-free input does
// at most once or twice.
//
// The input partitions aggregate in parallel into tables of their own,
// which share one hash seed so that a key goes to the same spill
// partition from all of them. A partition's table does not know the
// keys the others hold, so once the tables are merged, the spilled rows
// whose key the merged table holds are read back into it (reroute); the
// rest stay spilled, and no key is then both in memory and on disk.

const (
	aggFanoutBits = 6
	aggFanout     = 1 << aggFanoutBits
	// aggMaxDepth bounds the recursion: a partition this deep is
	// aggregated in memory whatever it holds (one key's rows always fit:
	// they are one group).
	aggMaxDepth = 6
	// aggGroupStateBytes estimates an accumulator's state per group
	// (a sum and a count; a min and a flag).
	aggGroupStateBytes = 24
)

// aggSpillRun is one opening of a HashAggregate that may spill.
type aggSpillRun struct {
	h       *HashAggregate
	acct    *MemoryAccount // its share of the limit (spillAccount)
	out     []arrow.Record // output not yet returned
	todo    []aggPartition // spilled partitions still to aggregate
	started bool
}

// aggPartition is the spill files of one partition of the input rows.
type aggPartition struct {
	files []*spill.File
	level int
}

// aggLevel is what the partial aggregations of one level share.
type aggLevel struct {
	level  int
	bits   int // its rows spill to 1<<bits partitions
	seed   maphash.Seed
	canFrz bool         // it may freeze: it has keys and is not too deep
	frozen atomic.Bool  // the groups are frozen: new keys spill
	held   atomic.Int64 // estimated bytes of all its tables
}

func (h *HashAggregate) openSpilling() Stream {
	r := &aggSpillRun{h: h, acct: h.Env.spillAccount("HashAggregate")}
	return &funcStream{next: r.next, close: r.close}
}

func (r *aggSpillRun) next(ctx context.Context) (arrow.Record, error) {
	for len(r.out) == 0 {
		var err error
		switch {
		case !r.started:
			r.started = true
			err = r.runLevel(ctx, r.h.Input.Partitions(), r.h.Input.Open, 0, aggFanoutBits)
		case len(r.todo) > 0:
			part := r.todo[len(r.todo)-1]
			r.todo = r.todo[:len(r.todo)-1]
			err = r.runPartition(ctx, part)
		default:
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
	}
	b := r.out[0]
	r.out = r.out[1:]
	return b, nil
}

func (r *aggSpillRun) close() {
	ReleaseRecords(r.out)
	r.out = nil
	for _, p := range r.todo {
		removeFiles(p.files)
	}
	r.todo = nil
	r.acct.Close()
}

// runPartition aggregates one spilled partition (and removes its files).
func (r *aggSpillRun) runPartition(ctx context.Context, part aggPartition) error {
	in := &spillFilesStream{files: part.files, mem: r.h.Env.Mem, rows: r.h.Env.BatchSize}
	defer in.Close()
	var bytes int64
	for _, f := range part.files {
		bytes += f.Bytes()
	}
	// what does not fit goes to as few partitions as it needs
	bits := splitBits(2*bytes, r.h.Env.spillShare())
	return r.runLevel(ctx, 1, func(context.Context, int) (Stream, error) { return in, nil }, part.level, bits)
}

// runLevel aggregates n input streams in parallel, leaves the groups it
// kept in memory in r.out and the partitions it spilled in r.todo.
func (r *aggSpillRun) runLevel(ctx context.Context, n int, open func(context.Context, int) (Stream, error), level, bits int) error {
	h := r.h
	lv := &aggLevel{level: level, bits: bits, seed: maphash.MakeSeed(), canFrz: len(h.Keys) > 0 && level < aggMaxDepth}
	states := make([]*aggState, n)
	writers := make([]*partitionWriters, n)
	defer func() {
		for p := range states {
			if states[p] != nil {
				states[p].release()
			}
			if writers[p] != nil {
				writers[p].abandon()
			}
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	for p := 0; p < n; p++ {
		ec := newEvalContext(gctx, h.Env)
		states[p] = h.newSeededState(ec, lv.seed)
		writers[p] = r.newWriters(lv)
		g.Go(func() error {
			return guard(func() error {
				in, err := open(gctx, p)
				if err != nil {
					return err
				}
				defer in.Close()
				return r.consume(gctx, ec, in, states[p], writers[p], lv)
			})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var parts [aggFanout][]*spill.File
	for _, w := range writers {
		files, err := w.finish()
		for p, f := range files {
			if f != nil {
				parts[p] = append(parts[p], f)
			}
		}
		if err != nil {
			removeParts(parts)
			return err
		}
	}
	ec := newEvalContext(ctx, h.Env)
	final := states[0]
	for _, st := range states[1:] {
		if err := h.merge(ec, final, st); err != nil {
			removeParts(parts)
			return err
		}
	}
	if n > 1 && lv.frozen.Load() {
		var err error
		if parts, err = r.reroute(ec, final, parts, lv); err != nil {
			return err
		}
	}
	for p := range parts {
		if len(parts[p]) > 0 {
			r.todo = append(r.todo, aggPartition{files: parts[p], level: level + 1})
		}
	}
	out, err := h.emit(ec, final)
	r.out = out
	return err
}

// consume aggregates one input stream into st; once the level is frozen,
// rows with keys st does not hold go to w.
func (r *aggSpillRun) consume(ctx context.Context, ec *EvalContext, in Stream, st *aggState, w *partitionWriters, lv *aggLevel) error {
	ec, recycled := newRecyclingContext(ec)
	defer recycled()
	c := &aggConsumer{r: r, ec: ec, st: st, w: w, lv: lv, mode: r.h.aggregatesSelect()}
	for {
		b, sel, err := nextSelectedFrom(ctx, in)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		err = c.selectedBatch(b, sel)
		b.Release()
		if err != nil {
			return err
		}
	}
}

// aggChunkRows bounds the rows one table update takes while the groups
// may still grow: a table reserves room for all of them as new groups,
// and the level checks its memory between chunks. Frozen groups do not
// grow, and whole batches spill in larger pieces.
const aggChunkRows = 1024

// aggConsumer is one input stream's side of a level.
type aggConsumer struct {
	r       *aggSpillRun
	ec      *EvalContext
	st      *aggState
	w       *partitionWriters
	lv      *aggLevel
	groups  []uint32
	counted int64      // what st adds to lv.held
	mode    selectMode // how it reads through a selection
}

// selectedBatch aggregates the rows sel of b (nil: all). Only an
// unfrozen level that takes b whole reads through the selection; frozen
// or chunked input takes the rows copied out.
func (c *aggConsumer) selectedBatch(b arrow.Record, sel []int32) error {
	if sel == nil {
		return c.batch(b)
	}
	n := int64(len(sel))
	if c.lv.frozen.Load() || (n > aggChunkRows && c.lv.canFrz && c.mayOvershoot(n)) {
		compact, err := compactRecord(c.ec, b, sel)
		if err != nil {
			return err
		}
		defer compact.Release()
		return c.batch(compact)
	}
	var err error
	if c.groups, err = c.r.h.updateSel(c.ec, c.st, b, sel, c.groups, c.mode); err != nil {
		return err
	}
	c.account()
	return nil
}

func (c *aggConsumer) batch(b arrow.Record) error {
	n := b.NumRows()
	if n <= aggChunkRows || !c.lv.canFrz || c.lv.frozen.Load() || !c.mayOvershoot(n) {
		return c.chunk(b)
	}
	for lo := int64(0); lo < n; lo += aggChunkRows {
		part := b.NewSlice(lo, min(n, lo+aggChunkRows))
		err := c.chunk(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// aggRowBytes bounds what one new group costs the table and its
// aggregates at most (slots at half load, its hash, key and states).
const aggRowBytes = 128

// mayOvershoot reports whether n rows, all new groups, could take the
// level past its share: only then is the batch taken in chunks.
func (c *aggConsumer) mayOvershoot(n int64) bool {
	env := c.r.h.Env
	grow := n * (aggRowBytes + 16*int64(len(c.r.h.Keys)) + aggGroupStateBytes*int64(len(c.r.h.Aggs)))
	return c.lv.held.Load()+grow > env.spillShare() || env.Memory.Held()+grow > env.Memory.Limit()/2
}

func (c *aggConsumer) chunk(b arrow.Record) error {
	h, lv := c.r.h, c.lv
	var err error
	if lv.frozen.Load() {
		c.groups, err = c.r.absorb(c.ec, c.st, b, c.groups, c.w)
		return err
	}
	if c.groups, err = h.update(c.ec, c.st, b, c.groups); err != nil {
		return err
	}
	c.account()
	return nil
}

// account counts what the table holds now into the level and freezes the
// level's groups once they pass its share.
func (c *aggConsumer) account() {
	h, lv := c.r.h, c.lv
	if !lv.canFrz {
		return
	}
	est := h.stateBytes(c.st)
	lv.held.Add(est - c.counted)
	c.counted = est
	if h.Env.shouldSpill(lv.held.Load()) || h.Env.statementCrowded() {
		lv.frozen.Store(true)
	}
}

// absorb updates st's groups with the rows of b whose key st holds and
// writes the others to w.
func (r *aggSpillRun) absorb(ec *EvalContext, st *aggState, b arrow.Record, groups []uint32, w *partitionWriters) ([]uint32, error) {
	h := r.h
	keys, err := evalAll(ec, b, h.Keys)
	if err != nil {
		return groups, err
	}
	defer releaseAll(keys)
	n := int(b.NumRows())
	groups = st.groups.probe(keys, n, groups)
	var held, spilled []int
	for i, g := range groups {
		if g == noGroup {
			spilled = append(spilled, i)
		} else {
			held = append(held, i)
		}
	}
	if len(spilled) > 0 {
		if err := w.write(ec, b, spilled, st.groups.rowHashes()); err != nil {
			return groups, err
		}
	}
	switch {
	case len(held) == 0:
		return groups, nil
	case len(spilled) == 0:
		return groups, h.updateAggs(ec, st, b, groups)
	}
	sub, err := takeRecord(ec, b, held)
	if err != nil {
		return groups, err
	}
	defer sub.Release()
	kept := make([]uint32, len(held))
	for k, i := range held {
		kept[k] = groups[i]
	}
	return groups, h.updateAggs(ec, st, sub, kept)
}

// reroute reads the spilled rows back: those whose key the merged table
// final holds update it, the others are spilled again, to the same
// partitions (final hashes with the level's seed).
func (r *aggSpillRun) reroute(ec *EvalContext, final *aggState, parts [aggFanout][]*spill.File, lv *aggLevel) ([aggFanout][]*spill.File, error) {
	w := r.newWriters(lv)
	defer w.abandon()
	var groups []uint32
	for p := range parts {
		in := &spillFilesStream{files: parts[p], mem: r.h.Env.Mem, rows: r.h.Env.BatchSize}
		parts[p] = nil
		for {
			b, err := in.Next(ec.Ctx)
			if err == io.EOF {
				break
			}
			if err == nil {
				groups, err = r.absorb(ec, final, b, groups, w)
				b.Release()
			}
			if err != nil {
				in.Close()
				removeParts(parts)
				return parts, err
			}
		}
		in.Close()
	}
	files, err := w.finish()
	var out [aggFanout][]*spill.File
	for p, f := range files {
		if f != nil {
			out[p] = []*spill.File{f}
		}
	}
	if err != nil {
		removeParts(out)
		return out, err
	}
	return out, nil
}

func (r *aggSpillRun) newWriters(lv *aggLevel) *partitionWriters {
	return &partitionWriters{env: r.h.Env, salt: levelSalt(lv.level), stats: r.h.spillStats(), bits: lv.bits}
}

// stateBytes estimates what st holds: its table as charged, a few words
// per group and aggregate, and what DISTINCT aggregates keep.
func (h *HashAggregate) stateBytes(st *aggState) int64 {
	n := st.groups.heldBytes() + int64(st.groups.n)*aggGroupStateBytes*int64(len(st.accs))
	for _, a := range st.accs {
		if s, ok := a.(interface{ heldBytes() int64 }); ok {
			n += s.heldBytes()
		}
	}
	return n
}

// levelSalt makes each level's partitions independent of the last's.
func levelSalt(level int) uint64 { return uint64(level+1) * 0x9e3779b97f4a7c15 }

// partitionWriters writes rows to aggFanout spill files by their key's
// hash. Writers are made when a first row goes to them.
type partitionWriters struct {
	env    *Env
	salt   uint64
	schema *arrow.Schema // the first batch's; later ones are relabelled
	ws     [aggFanout]*spill.Writer
	stats  *spillStats
	// bits, when set, uses 1<<bits of the partitions (a split of a
	// partition a little too big needs few)
	bits int
}

func (w *partitionWriters) partitionOf(hash uint64) int {
	bits := w.bits
	if bits == 0 {
		bits = aggFanoutBits
	}
	return int(mixHash(hash^w.salt) >> (64 - bits))
}

// write spills rows of b; hashes[i] is row i's key hash.
func (w *partitionWriters) write(ec *EvalContext, b arrow.Record, rows []int, hashes []uint64) error {
	var by [aggFanout][]int
	for _, i := range rows {
		p := w.partitionOf(hashes[i])
		by[p] = append(by[p], i)
	}
	for p, idx := range by {
		if len(idx) == 0 {
			continue
		}
		rec, err := takeRecord(ec, b, idx)
		if err != nil {
			return err
		}
		err = w.writeTo(ec, p, rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return ec.Canceled()
}

func (w *partitionWriters) writeTo(ec *EvalContext, p int, rec arrow.Record) error {
	if w.schema == nil {
		w.schema = rec.Schema()
	}
	if !rec.Schema().Equal(w.schema) {
		rec = withSchema(rec, w.schema)
		defer rec.Release()
	}
	if w.ws[p] == nil {
		nw, err := w.env.Spill.NewWriterBuffered(w.schema, ec.Mem, spill.PartitionBufferSize)
		if err != nil {
			return err
		}
		w.ws[p] = nw
	}
	return w.ws[p].Write(rec)
}

// finish ends the files written (nil where a partition got no row).
func (w *partitionWriters) finish() ([aggFanout]*spill.File, error) {
	var out [aggFanout]*spill.File
	var first error
	for p, x := range w.ws {
		if x == nil {
			continue
		}
		w.ws[p] = nil
		if first != nil {
			x.Abandon()
			continue
		}
		f, err := x.Finish()
		if err != nil {
			first = err
			continue
		}
		w.stats.add(f.Bytes())
		out[p] = f
	}
	return out, first
}

// abandon removes files not finished.
func (w *partitionWriters) abandon() {
	for p, x := range w.ws {
		if x != nil {
			x.Abandon()
			w.ws[p] = nil
		}
	}
}

func removeFiles(files []*spill.File) {
	for _, f := range files {
		f.Remove()
	}
}

func removeParts(parts [aggFanout][]*spill.File) {
	for _, files := range parts {
		removeFiles(files)
	}
}

// spillFilesStream yields the batches of spill files one file after the
// other, removing each once read; Close removes the rest.
type spillFilesStream struct {
	files []*spill.File
	mem   memory.Allocator
	rows  int // batches are read back as batches of about this many rows
	cur   *spill.Reader
}

// coalesce reads batches from next until they hold at least rows rows
// or the input ends, and returns them as one batch (io.EOF when none
// was left). Spilled partitions come in small batches, one slice of an
// input batch each: joined and aggregated a slice at a time they would
// pay each batch's overhead many times over.
func coalesce(mem memory.Allocator, next func() (arrow.Record, error), rows int) (arrow.Record, error) {
	var batches []arrow.Record
	defer func() { ReleaseRecords(batches) }()
	n := 0
	for n < rows || n == 0 {
		b, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		batches = append(batches, b)
		n += int(b.NumRows())
	}
	if len(batches) == 0 {
		return nil, io.EOF
	}
	return Concat(mem, batches[0].Schema(), batches)
}

func (s *spillFilesStream) Next(ctx context.Context) (arrow.Record, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if s.cur == nil {
			if len(s.files) == 0 {
				return nil, io.EOF
			}
			r, err := s.files[0].Open(s.mem)
			if err != nil {
				return nil, err
			}
			s.cur = r
		}
		rec, err := coalesce(s.mem, s.cur.Next, s.rows)
		if err != io.EOF {
			return rec, err
		}
		s.cur.Close()
		s.cur = nil
		s.files[0].Remove()
		s.files = s.files[1:]
	}
}

func (s *spillFilesStream) Close() {
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	removeFiles(s.files)
	s.files = nil
}

// explainSpill is what EXPLAIN ANALYZE says the aggregation spilled.
func (h *HashAggregate) explainSpill() string { return h.spillStats().explainSpill() }

// SpilledBytes is what the aggregation wrote to spill files.
func (h *HashAggregate) SpilledBytes() int64 { return h.spillStats().SpilledBytes() }

// orderFree are the aggregates whose result does not depend on the
// order their values come in.
var orderFree = map[string]bool{"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"bool_and": true, "bool_or": true, "every": true, "bit_and": true, "bit_or": true}

// dupFree are the aggregates whose result does not change when a value
// comes more than once: over distinct values they give what they give
// over all.
var dupFree = map[string]bool{"min": true, "max": true, "bool_and": true, "bool_or": true, "every": true, "bit_and": true, "bit_or": true}

// distinctInTwoSteps is the aggregation of agg(DISTINCT x) … GROUP BY k
// as two that can spill: one over (k, x) that keeps each distinct pair
// once, then agg(x) … GROUP BY k over its groups. A DISTINCT aggregate
// otherwise keeps each group's distinct values in memory. It serves
// aggregations whose calls are all DISTINCT over the same arguments (or
// min, max and the like over them), without FILTER or ORDER BY, of
// aggregates that ignore order; nil for others.
func (h *HashAggregate) distinctInTwoSteps() *HashAggregate {
	if len(h.Aggs) == 0 {
		return nil
	}
	var args []Expr
	for _, a := range h.Aggs {
		if a.Distinct && args == nil {
			args = a.Args
		}
	}
	if args == nil {
		return nil
	}
	for _, a := range h.Aggs {
		if !(a.Distinct || dupFree[a.Name]) || a.Filter != nil || len(a.OrderBy) > 0 || !orderFree[a.Name] || len(a.Args) == 0 || exprsString(a.Args) != exprsString(args) {
			return nil
		}
	}
	keys := append(append([]Expr{}, h.Keys...), args...)
	fields := make([]arrow.Field, len(keys))
	outer := make([]Expr, len(keys))
	for i, k := range keys {
		fields[i] = arrow.Field{Name: fmt.Sprintf("k%d", i), Type: k.Type().Arrow(), Nullable: true}
		outer[i] = &ColumnExpr{Index: i, T: k.Type(), Name: k.String()}
	}
	pairs := &HashAggregate{Env: h.Env, Input: h.Input, Keys: keys, Out: arrow.NewSchema(fields, nil), report: h.spillStats()}
	aggs := make([]AggSpec, len(h.Aggs))
	for i, a := range h.Aggs {
		a.Distinct = false
		a.Args = outer[len(h.Keys):]
		aggs[i] = a
	}
	return &HashAggregate{Env: h.Env, Input: pairs, Keys: outer[:len(h.Keys)], Aggs: aggs, Out: h.Out, report: h.spillStats()}
}
