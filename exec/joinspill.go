package exec

import (
	"context"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/exec/spill"
)

// Grace hash join. While a statement has a memory limit, a HashJoin
// reads its build side into memory as it always did until it passes the
// join's share of the limit. Then it writes the build rows, those read
// and the rest, to aggFanout spill partitions by key hash; the probe
// side, all its partitions read as one stream, is partitioned the same
// way, and the join runs a partition at a time: partition p's build rows
// in a hash table, partition p's probe rows through it. A build
// partition still larger than the share is partitioned again, with a
// new salt (at most aggMaxDepth levels); one whose rows all share one
// key hash cannot be split, is joined in memory, and past the limit
// fails with 53200 naming the join.
//
// Rows with a NULL key meet no row; they go to partition 0, where the
// join kinds that keep them (outer, anti) emit them as they do in
// memory. NOT IN needs two facts about the whole build side, whether
// it is empty and whether it has a NULL key: they are counted while
// partitioning and stand in for each partition's own.

// graceBuild is a build side written to spill partitions.
type graceBuild struct {
	parts   [aggFanout]*spill.File
	hasher  *keyHashTable // hashes build and probe keys alike
	rows    int64         // build rows, all partitions
	hasNull bool          // a build row has a NULL key
}

func (g *graceBuild) release() {
	for p, f := range g.parts {
		if f != nil {
			f.Remove()
			g.parts[p] = nil
		}
	}
	if g.hasher != nil {
		g.hasher.release()
		g.hasher = nil
	}
}

// buildSpilling reads the build side, in memory while it fits in the
// join's share, else into spill partitions.
func (j *HashJoin) buildSpilling(ctx context.Context, ec *EvalContext) (*builtSide, error) {
	in, err := (&Gather{Input: j.Build}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	acct := j.Env.spillAccount("HashJoin")
	var buffered []arrow.Record
	var held int64
	defer func() { ReleaseRecords(buffered); acct.Add(-held) }()
	var g *graceBuild
	var w *partitionWriters
	fail := func(err error) (*builtSide, error) {
		if w != nil {
			w.abandon()
		}
		if g != nil {
			g.release()
		}
		acct.Close()
		return nil, err
	}
	for {
		b, err := in.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		if g != nil {
			err = j.partitionBuild(ec, g, w, b)
			b.Release()
			if err != nil {
				return fail(err)
			}
			continue
		}
		n := recordBytes(b)
		buffered = append(buffered, b)
		held += n
		acct.Add(n)
		// the table and its chains take about as much again
		if !j.Env.shouldSpill(2 * held) {
			continue
		}
		g = &graceBuild{hasher: newKeyHashTable(ec, joinKeyClasses(exprTypes(j.BuildKeys), exprTypes(j.ProbeKeys)), exprTypes(j.BuildKeys))}
		w = &partitionWriters{env: j.Env, salt: levelSalt(0), stats: &j.stats}
		for _, r := range buffered {
			if err := j.partitionBuild(ec, g, w, r); err != nil {
				return fail(err)
			}
		}
		ReleaseRecords(buffered)
		buffered = nil
		acct.Add(-held)
		held = 0
	}
	if g == nil {
		rec, err := Concat(ec.Mem, j.Build.Schema(), buffered)
		if err != nil {
			return fail(err)
		}
		side, err := j.buildFrom(ec, rec)
		if err != nil {
			return fail(err)
		}
		side.acct = acct
		return side, nil
	}
	files, err := w.finish()
	g.parts = files
	if err != nil {
		return fail(err)
	}
	return &builtSide{grace: g, acct: acct}, nil
}

// partitionBuild writes build batch b to its partitions.
func (j *HashJoin) partitionBuild(ec *EvalContext, g *graceBuild, w *partitionWriters, b arrow.Record) error {
	nulls, err := partitionByKey(ec, g.hasher, w, b, j.BuildKeys, false)
	g.rows += b.NumRows()
	g.hasNull = g.hasNull || nulls
	return err
}

// partitionByKey writes b's rows to w's partitions by the hash of keys;
// unless nullsMatch, rows with a NULL key go to partition 0. It reports
// whether there was such a row.
func partitionByKey(ec *EvalContext, hasher *keyHashTable, w *partitionWriters, b arrow.Record, keyExprs []Expr, nullsMatch bool) (bool, error) {
	if b.NumRows() == 0 {
		return false, nil
	}
	keys, err := evalAll(ec, b, keyExprs)
	if err != nil {
		return false, err
	}
	defer releaseAll(keys)
	var s hashScratch
	n := int(b.NumRows())
	hasher.hashRows(&s, keys, exprTypes(keyExprs), n, nullsMatch)
	var by [aggFanout][]int
	for i := 0; i < n; i++ {
		p := 0
		if len(s.skip) == 0 || !s.skip[i] {
			p = w.partitionOf(s.rowHash[i])
		}
		by[p] = append(by[p], i)
	}
	for p, idx := range by {
		if len(idx) == 0 {
			continue
		}
		rec := b
		if len(idx) < n {
			if rec, err = takeRecord(ec, b, idx); err != nil {
				return false, err
			}
		} else {
			rec.Retain()
		}
		err = w.writeTo(ec, p, rec)
		rec.Release()
		if err != nil {
			return false, err
		}
	}
	return len(s.skip) > 0, ec.Canceled()
}

// graceJob is one partition still to join: its build and probe rows
// (nil files when it has none), and whether the build file is the
// stream's to remove (the build side's own files stay with the cache).
type graceJob struct {
	build, probe *spill.File
	ownBuild     bool
	level        int
}

// graceStream joins a spilled build side with the whole probe side.
type graceStream struct {
	j     *HashJoin
	ec    *EvalContext
	g     *graceBuild
	probe Stream // the probe side, until partitioned
	jobs  []graceJob

	// the partition being joined
	side      *builtSide
	cur       *spill.Reader
	curJob    graceJob
	scratch   *probeScratch
	afterDone bool  // its probe rows are through
	tail      []int // build rows still to emit once they are
}

func (j *HashJoin) openGrace(ctx context.Context, side *builtSide) (Stream, error) {
	probe, err := (&Gather{Input: j.Probe}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	s := &graceStream{j: j, ec: newEvalContext(ctx, j.Env), g: side.grace, probe: probe}
	return &funcStream{next: s.next, close: s.close}, nil
}

func (s *graceStream) next(ctx context.Context) (arrow.Record, error) {
	s.ec.Ctx = ctx
	if s.probe != nil {
		if err := s.partitionProbe(ctx); err != nil {
			return nil, err
		}
	}
	for {
		if s.side != nil {
			out, err := s.step(ctx)
			if err != nil || out != nil {
				return out, err
			}
			continue
		}
		if len(s.jobs) == 0 {
			return nil, io.EOF
		}
		job := s.jobs[len(s.jobs)-1]
		s.jobs = s.jobs[:len(s.jobs)-1]
		if err := s.start(job); err != nil {
			return nil, err
		}
	}
}

// partitionProbe writes the whole probe side to partitions and lists
// the jobs.
func (s *graceStream) partitionProbe(ctx context.Context) error {
	w := &partitionWriters{env: s.j.Env, salt: levelSalt(0), stats: &s.j.stats}
	defer w.abandon()
	for {
		b, err := s.probe.Next(ctx)
		if err == io.EOF {
			break
		}
		if err == nil {
			_, err = partitionByKey(s.ec, s.g.hasher, w, b, s.j.ProbeKeys, false)
			b.Release()
		}
		if err != nil {
			return err
		}
	}
	s.probe.Close()
	s.probe = nil
	files, err := w.finish()
	for p := aggFanout - 1; p >= 0; p-- {
		if s.g.parts[p] != nil || files[p] != nil {
			s.jobs = append(s.jobs, graceJob{build: s.g.parts[p], probe: files[p]})
		}
	}
	return err
}

// start loads job's build rows into a table, or splits the job again
// when they do not fit.
func (s *graceStream) start(job graceJob) error {
	if job.probe == nil && !s.j.Kind.keepsUnmatchedBuild() {
		s.drop(job)
		return nil
	}
	if job.build != nil && job.level < aggMaxDepth && s.j.Env.shouldSpill(2*job.build.Bytes()) {
		split, err := s.split(job)
		if err != nil {
			return err
		}
		if split {
			return nil
		}
	}
	rec, err := s.readBuild(job.build)
	if err != nil {
		s.drop(job)
		return err
	}
	side, err := s.j.buildFrom(s.ec, rec)
	if err != nil {
		s.drop(job)
		return err
	}
	side.hasNull, side.buildRows = s.g.hasNull, s.g.rows
	if s.j.Kind.marksBuild() {
		side.matched = make([]bool, rec.NumRows()) // the partition is this stream's alone
	}
	s.side, s.curJob, s.afterDone = side, job, false
	s.scratch = &probeScratch{kts: exprTypes(s.j.ProbeKeys)}
	if job.probe != nil {
		if s.cur, err = job.probe.Open(s.ec.Mem); err != nil {
			return err
		}
	}
	return nil
}

// readBuild is a build partition's rows as one record.
func (s *graceStream) readBuild(f *spill.File) (arrow.Record, error) {
	return readSpillFile(s.ec, f, s.j.Build.Schema())
}

// readSpillFile is the rows of f (none when f is nil) as one record of
// schema.
func readSpillFile(ec *EvalContext, f *spill.File, schema *arrow.Schema) (arrow.Record, error) {
	if f == nil {
		return emptyRecord(ec, schema)
	}
	r, err := f.Open(ec.Mem)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var batches []arrow.Record
	defer func() { ReleaseRecords(batches) }()
	for {
		b, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		batches = append(batches, b)
	}
	return Concat(ec.Mem, schema, batches)
}

// split partitions job's build and probe rows again with the next
// level's salt; false when the build rows would all land in one
// partition again (one key, or keys of one hash), which no split helps.
func (s *graceStream) split(job graceJob) (bool, error) {
	salt, bits := levelSalt(job.level+1), splitBits(2*job.build.Bytes(), s.j.Env.spillShare())
	bw := &partitionWriters{env: s.j.Env, salt: salt, stats: &s.j.stats, bits: bits}
	pw := &partitionWriters{env: s.j.Env, salt: salt, stats: &s.j.stats, bits: bits}
	defer bw.abandon()
	defer pw.abandon()
	if err := s.repartition(job.build, bw, s.j.BuildKeys); err != nil {
		return false, err
	}
	builds, err := bw.finish()
	if err != nil {
		removeFileArray(builds)
		return false, err
	}
	for _, f := range builds {
		if f != nil && f.Rows() == job.build.Rows() {
			removeFileArray(builds)
			return false, nil
		}
	}
	if job.probe != nil {
		err = s.repartition(job.probe, pw, s.j.ProbeKeys)
	}
	probes, ferr := pw.finish()
	if err == nil {
		err = ferr
	}
	if err != nil {
		removeFileArray(builds)
		removeFileArray(probes)
		return false, err
	}
	s.drop(job)
	for p := aggFanout - 1; p >= 0; p-- {
		if builds[p] != nil || probes[p] != nil {
			s.jobs = append(s.jobs, graceJob{build: builds[p], probe: probes[p], ownBuild: true, level: job.level + 1})
		}
	}
	return true, nil
}

// splitBits is how many bits of hash split need bytes into parts of
// about half of share each (at least 2 parts, at most aggFanout).
func splitBits(bytes, share int64) int {
	bits := 1
	for bits < aggFanoutBits && bytes>>bits > share/2 {
		bits++
	}
	return bits
}

func (s *graceStream) repartition(f *spill.File, w *partitionWriters, keys []Expr) error {
	r, err := f.Open(s.ec.Mem)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		b, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			_, err = partitionByKey(s.ec, s.g.hasher, w, b, keys, false)
			b.Release()
		}
		if err != nil {
			return err
		}
	}
}

// step joins the next probe batch of the current partition, then emits
// the build rows its kind keeps, then ends the partition. A nil record
// without error means nothing came out of this step.
func (s *graceStream) step(ctx context.Context) (arrow.Record, error) {
	j := s.j
	if s.scratch.pend != nil {
		return j.nextPending(s.ec, s.side, s.scratch)
	}
	if s.cur != nil {
		b, err := coalesce(s.ec.Mem, s.cur.Next, j.Env.BatchSize)
		if err == io.EOF {
			s.cur.Close()
			s.cur = nil
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out, err := j.probeBatch(s.ec, s.side, s.scratch, b)
		b.Release()
		if err != nil || out == nil || out.NumRows() > 0 {
			return out, err
		}
		out.Release()
		return nil, nil
	}
	if !s.afterDone {
		s.afterDone = true
		s.tail = s.keptBuildRows()
	}
	if len(s.tail) > 0 {
		return s.emitTail()
	}
	s.side.release()
	s.side = nil
	s.drop(s.curJob)
	return nil, ctx.Err()
}

// keptBuildRows are the build rows of the partition that come out once
// its probe rows are through: those no probe row met (FULL, and an anti
// join built on its left side), or those one did (a semi join built on
// its left side).
func (s *graceStream) keptBuildRows() []int {
	var rows []int
	want := s.j.Kind == BuildSemiJoin
	if s.j.Kind != FullJoin && s.j.Kind != BuildSemiJoin && s.j.Kind != BuildAntiJoin {
		return nil
	}
	for r, m := range s.side.matched {
		if m == want {
			rows = append(rows, r)
		}
	}
	return rows
}

// emitTail emits the next batch of s.tail.
func (s *graceStream) emitTail() (arrow.Record, error) {
	j := s.j
	n := min(len(s.tail), j.Env.BatchSize)
	rows := s.tail[:n]
	s.tail = s.tail[n:]
	if j.Kind.emitsBuildRows() {
		rec, err := takeRecord(s.ec, s.side.rec, rows)
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		return withSchema(rec, j.Out), nil
	}
	empty, err := emptyRecord(s.ec, j.Probe.Schema())
	if err != nil {
		return nil, err
	}
	defer empty.Release()
	none := make([]int, n)
	for i := range none {
		none[i] = -1
	}
	return j.joinRows(s.ec, s.side, empty, none, rows)
}

// drop removes a job's files (the build side's own stay with it).
func (s *graceStream) drop(job graceJob) {
	if job.ownBuild && job.build != nil {
		job.build.Remove()
	}
	if job.probe != nil {
		job.probe.Remove()
	}
}

func (s *graceStream) close() {
	s.scratch.release()
	if s.probe != nil {
		s.probe.Close()
		s.probe = nil
	}
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	if s.side != nil {
		s.side.release()
		s.side = nil
		s.drop(s.curJob)
	}
	for _, job := range s.jobs {
		s.drop(job)
	}
	s.jobs = nil
}

func removeFileArray(files [aggFanout]*spill.File) {
	for _, f := range files {
		if f != nil {
			f.Remove()
		}
	}
}

// keepsUnmatchedBuild reports the kinds whose output has build rows no
// probe row met (a partition without probe rows still has output).
func (k JoinKind) keepsUnmatchedBuild() bool { return k == FullJoin || k == BuildAntiJoin }

// explainSpill is what EXPLAIN ANALYZE says the join spilled.
func (j *HashJoin) explainSpill() string { return j.stats.explainSpill() }

// SpilledBytes is what the join wrote to spill files.
func (j *HashJoin) SpilledBytes() int64 { return j.stats.SpilledBytes() }
