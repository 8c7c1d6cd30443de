package engine

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// A bulk load into a stored table (COPY FROM a file or STDIN) does not
// hold its rows on the heap until its commit: every LoadStageBytes of
// finished batches are checked as an INSERT checks rows (NOT NULL,
// domains, CHECK, foreign keys) and staged, written to segment files no
// catalog names yet (storage/stage.go), and the load keeps batches that
// read those files on demand instead. The commit installs them and stores
// them by a checkpoint, whose catalog names the staged files: the load
// becomes visible, and durable, at once. A load that fails removes its
// files; one a crash interrupts leaves files no catalog names, which
// opening the directory cleans up. SF1 lineitem's COPY held the whole
// table (1.2 GB of Arrow buffers, 2.4 GB at its peak) before this.
//
// Unique keys: into an empty table, the load collects each index's keys
// from the batches as it stages them, and at commit builds the indexes
// from those (a duplicate is found while building), without reading the
// files back; the checkpoint stores them as index files, which then take
// their place. Into a table with rows, the commit checks the new keys
// against the table's by reading the staged batches' key columns.

// defaultLoadStageBytes is Options.LoadStageBytes's default.
const defaultLoadStageBytes = 32 << 20

// bulkLoad is the staged part of a load into one table.
type bulkLoad struct {
	db     *DB
	table  *catalog.Table
	schema *arrow.Schema // the table's when the load began
	name   string        // the table's, for errors
	staged []arrow.Record
	rows   int64
	defs   []index.Def
	// keys collects each def's entries from rows with no NULL in the
	// key, nullKeys from rows with one (those never conflict); locators
	// number the staged batches in load order (Batch) until commit
	keys, nullKeys []*index.KeyCollector
	// indexed: every unique key has an index def, so the collected
	// entries can check the load's keys
	indexed bool
	keyBuf  []byte
	// sample is a uniform sample of the load's rows (reservoir), for the
	// table's statistics
	sample loadSample
	// inflight reports the end of the staging running in the background
	// (nil when none is): writing the files overlaps parsing the next
	// rows; the fields above are the background's until wait
	inflight chan error
	// started: a staging was begun (so the commit must install staged
	// batches)
	started bool
}

// loadSample keeps up to catalog.StatsSampleRows rows drawn uniformly
// from all the rows it was shown: a reservoir, filled by Li's Algorithm L,
// which draws how many rows to skip rather than a number per row, with a
// fixed seed (the same load gives the same statistics, and plans).
type loadSample struct {
	rows [][]types.Datum
	seen int64 // rows shown so far
	rng  *rand.Rand
	w    float64 // Algorithm L's W, once the reservoir is full
	next int64   // the number (from 0) of the next row to take then
}

const sampleRows = catalog.StatsSampleRows

// add shows the sample rec's rows.
func (ls *loadSample) add(rec arrow.Record) {
	if ls.rng == nil {
		ls.rng = rand.New(rand.NewPCG(0x5eed, 0x10ad))
	}
	n := rec.NumRows()
	i := int64(0)
	for ; i < n && len(ls.rows) < sampleRows; i++ {
		ls.rows = append(ls.rows, sampleRow(rec, int(i)))
		ls.seen++
		if len(ls.rows) == sampleRows {
			ls.w = math.Exp(math.Log(ls.uniform()) / sampleRows)
			ls.next = ls.seen + ls.skip()
		}
	}
	end := ls.seen + (n - i) // the number after this batch's last row
	for len(ls.rows) == sampleRows && ls.next < end {
		ls.rows[ls.rng.IntN(sampleRows)] = sampleRow(rec, int(i+ls.next-ls.seen))
		ls.w *= math.Exp(math.Log(ls.uniform()) / sampleRows)
		ls.next += ls.skip() + 1
	}
	ls.seen = end
}

// uniform is a random number in (0, 1].
func (ls *loadSample) uniform() float64 { return 1 - ls.rng.Float64() }

// skip is how many rows go by before the next one taken.
func (ls *loadSample) skip() int64 {
	return int64(math.Floor(math.Log(ls.uniform()) / math.Log(1-ls.w)))
}

// sampleRow is row i of rec as values of its own.
func sampleRow(rec arrow.Record, i int) []types.Datum {
	row := make([]types.Datum, rec.NumCols())
	for c := range row {
		row[c] = exec.DatumAt(rec.Column(c), i)
		if str, ok := row[c].(string); ok {
			// (a string value shares its batch's buffer: kept as it is,
			// the sample would keep every batch it drew from)
			row[c] = strings.Clone(str)
		}
	}
	return row
}

// stats estimates the statistics of a table holding just the sampled
// rows (all of them, not only the sample).
func (ls *loadSample) stats(mem memory.Allocator, t *catalog.Table, schema *arrow.Schema) *catalog.TableStats {
	cols := make([]arrow.Array, schema.NumFields())
	for c := range cols {
		b := array.NewBuilder(mem, schema.Field(c).Type)
		for _, row := range ls.rows {
			exec.AppendDatum(b, row[c])
		}
		cols[c] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecord(schema, cols, int64(len(ls.rows)))
	defer rec.Release()
	for _, c := range cols {
		c.Release()
	}
	return catalog.StatsOfSample(t.Columns, []arrow.Record{rec}, ls.seen)
}

// newBulkLoad starts staging a load into t, or returns nil where rows
// must stay in memory until the commit: an in-memory database, a
// temporary table, a transaction block (its rows are private until its
// COMMIT), or staging turned off.
func (s *Session) newBulkLoad(t *catalog.Table) *bulkLoad {
	db := s.db
	if db.store == nil || db.opts.ReadOnly || db.opts.LoadStageBytes < 0 || s.tx != nil {
		return nil
	}
	if sch, ok := db.cat.Schema(t.Schema); !ok || sch.Temp {
		return nil
	}
	b := &bulkLoad{db: db, table: t, schema: t.ArrowSchema(), name: t.QualifiedName(), defs: t.IndexDefs(), indexed: true}
	for _, k := range t.Keys {
		if !slices.ContainsFunc(b.defs, func(d index.Def) bool { return d.Name == k.Name && d.Unique }) {
			b.indexed = false
		}
	}
	for range b.defs {
		b.keys = append(b.keys, &index.KeyCollector{})
		b.nullKeys = append(b.nullKeys, &index.KeyCollector{})
	}
	return b
}

// stageInBackground is stage run while the caller goes on (it takes recs
// over), once the staging before it ended: at most one runs at a time,
// so the load holds at most two stagings' worth of batches. An error of
// the one before is returned here, of this one by the next call or wait.
func (b *bulkLoad) stageInBackground(recs []arrow.Record) error {
	if err := b.wait(); err != nil {
		exec.ReleaseRecords(recs)
		return err
	}
	done := make(chan error, 1)
	b.inflight, b.started = done, true
	go func() {
		defer exec.ReleaseRecords(recs)
		done <- b.stage(recs)
	}()
	return nil
}

// wait waits for the staging in the background, if any, and returns its
// error.
func (b *bulkLoad) wait() error {
	if b.inflight == nil {
		return nil
	}
	err := <-b.inflight
	b.inflight = nil
	return err
}

// stage writes recs (checked, with the table's columns) to staged segment
// files and collects their keys; recs stay the caller's.
func (b *bulkLoad) stage(recs []arrow.Record) error {
	for _, rec := range recs {
		b.sample.add(rec)
		rec = withSchema(rec, b.schema)
		pieces, err := b.db.store.StageBatch(b.db.opts.Mem, b.table.OID, b.schema, b.name, rec)
		if err == nil {
			err = b.collectKeys(rec, pieces)
			b.staged = append(b.staged, pieces...)
		}
		b.rows += rec.NumRows()
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// collectKeys adds rec's index entries, located in pieces (rec's rows in
// order, as staged: the first of them is staged batch len(b.staged)).
func (b *bulkLoad) collectKeys(rec arrow.Record, pieces []arrow.Record) error {
	if len(b.defs) == 0 {
		return nil
	}
	seq, start := len(b.staged), 0
	for _, p := range pieces {
		rows := int(p.NumRows())
		if !index.Fits(0, seq, rows) {
			return sqlerr.New(sqlerr.ProgramLimitExceeded, "COPY into %s: too many batches for its indexes", b.name)
		}
		for i := 0; i < rows; i++ {
			loc := index.MakeLoc(0, seq, i)
			for d, def := range b.defs {
				b.keyBuf = def.AppendKey(b.keyBuf[:0], rec, start+i)
				if keyHasNull(rec, def, start+i) {
					b.nullKeys[d].Add(b.keyBuf, loc)
				} else {
					b.keys[d].Add(b.keyBuf, loc)
				}
			}
		}
		seq++
		start += rows
	}
	return nil
}

func keyHasNull(rec arrow.Record, d index.Def, i int) bool {
	for _, c := range d.Columns {
		if rec.Column(c).IsNull(i) {
			return true
		}
	}
	return false
}

// abort removes the staged files no checkpoint stored and lets go of the
// batches (after a commit, the table holds its own references).
func (b *bulkLoad) abort() {
	b.wait()
	b.db.store.DropStaged(b.staged)
	exec.ReleaseRecords(b.staged)
	b.staged, b.keys, b.nullKeys = nil, nil, nil
}

// batchPlace is where a staged batch went in the table's partitions.
type batchPlace struct{ part, batch int }

// appendWhole is cur's partitions with recs added, each (a new reference)
// to the partition holding the fewest rows and never merged with another
// batch (which would read it back); places gives where each went.
func appendWhole(cur *catalog.Snapshot, recs []arrow.Record) (parts [][]arrow.Record, places []batchPlace) {
	parts = make([][]arrow.Record, max(len(cur.Parts), 1))
	rows := make([]int64, len(parts))
	for p := range cur.Parts {
		for _, r := range cur.Parts[p] {
			r.Retain()
			parts[p] = append(parts[p], r)
			rows[p] += r.NumRows()
		}
	}
	for _, rec := range recs {
		p := 0
		for i := range rows {
			if rows[i] < rows[p] {
				p = i
			}
		}
		rec.Retain()
		places = append(places, batchPlace{p, len(parts[p])})
		parts[p] = append(parts[p], rec)
		rows[p] += rec.NumRows()
	}
	return parts, places
}

// installStaged puts the staged batches into the table (the session is
// recording its writes): the commit's checkpoint then names their files.
// It fails, installing nothing, on a duplicate key or when the table
// changed its columns during the load.
func (s *Session) installStaged(b *bulkLoad) (int64, error) {
	t := b.table
	if !t.ArrowSchema().Equal(b.schema) {
		return 0, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "table %s was altered during the COPY into it", b.name)
	}
	s.noteWrite(t)
	t.Lock()
	defer t.Unlock()
	if err := s.notHeld(t, false); err != nil {
		return 0, err
	}
	cur := s.current(t)
	parts, places := appendWhole(cur, b.staged)
	empty := cur.NumRows() == 0
	if empty && b.indexed {
		ixs, err := b.buildIndexes(places, s)
		if err != nil {
			releaseStagedParts(parts)
			return 0, err
		}
		t.ReplaceIndexed(parts, ixs)
	} else {
		added, err := newKeys(t, cur, b.staged, s.zone)
		if err != nil {
			releaseStagedParts(parts)
			return 0, err
		}
		t.Replace(parts)
		extendKeySets(t, cur, t.Current(), added)
	}
	if empty {
		// the statistics the checkpoint stores with the table, which it
		// could only take by reading the staged files back
		t.UseStats(b.sample.stats(b.db.opts.Mem, t, b.schema))
	}
	s.noteInstalled(t)
	return b.rows, nil
}

func releaseStagedParts(parts [][]arrow.Record) {
	for _, p := range parts {
		exec.ReleaseRecords(p)
	}
}

// buildIndexes builds the table's indexes from the collected keys, the
// batches placed at places; a unique index fails on the first duplicate.
func (b *bulkLoad) buildIndexes(places []batchPlace, s *Session) ([]*index.Index, error) {
	move := func(l index.Loc) index.Loc {
		p := places[l.Batch()]
		return index.MakeLoc(p.part, p.batch, l.Row())
	}
	var out []*index.Index
	for d, def := range b.defs {
		for _, c := range []*index.KeyCollector{b.keys[d], b.nullKeys[d]} {
			c.MoveLocs(move)
		}
		plain := b.keys[d].Entries()
		if def.Unique {
			slices.SortFunc(plain, index.Compare)
			if err := b.checkUnique(def, plain, places, s); err != nil {
				return nil, err
			}
		}
		entries := append(plain, b.nullKeys[d].Entries()...)
		out = append(out, &index.Index{Def: def, Tree: index.Build(entries)})
		b.keys[d], b.nullKeys[d] = nil, nil // (the tree holds copies)
	}
	return out, nil
}

// checkUnique fails with PostgreSQL's 23505 where two sorted entries of a
// unique index share a key (reading the row to name it).
func (b *bulkLoad) checkUnique(def index.Def, sorted []index.Entry, places []batchPlace, s *Session) error {
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Key != sorted[i-1].Key {
			continue
		}
		key := catalog.Key{Name: def.Name, Columns: def.Columns}
		for _, k := range b.table.Keys {
			if k.Name == def.Name {
				key = k
			}
		}
		l := sorted[i].Loc
		rec := b.batchAt(places, l)
		if err := catalog.LoadBatch(rec); err != nil {
			return err
		}
		return duplicateKey(b.table, key, keyColumns(rec, key), l.Row(), s.zone)
	}
	return nil
}

// batchAt is the staged batch placed where l points.
func (b *bulkLoad) batchAt(places []batchPlace, l index.Loc) arrow.Record {
	for i, p := range places {
		if p.part == l.Part() && p.batch == l.Batch() {
			return b.staged[i]
		}
	}
	return nil
}

// stagedInserter gathers the rows of an INSERT … SELECT as the query
// computes them and, once they pass LoadStageBytes and the table can take
// a staged load, checks and stages them every LoadStageBytes, like a
// COPY's; bulk is nil until then (and for good when the table cannot).
type stagedInserter struct {
	s      *Session
	table  *catalog.Table
	bulk   *bulkLoad
	noBulk bool // the table cannot take a staged load
	recs   []arrow.Record
	bytes  int64
}

// add takes over a batch of the query's rows (with the table's columns).
func (in *stagedInserter) add(rec arrow.Record) error {
	in.recs = append(in.recs, rec)
	in.bytes += recordBytes(rec)
	if in.bytes < in.s.db.opts.LoadStageBytes || in.noBulk {
		return nil
	}
	if in.bulk == nil {
		// (staging needs the statement's commit to take the files over)
		if in.s.writes == nil {
			in.noBulk = true
			return nil
		}
		if in.bulk = in.s.newBulkLoad(in.table); in.bulk == nil {
			in.noBulk = true
			return nil
		}
	}
	return in.stage()
}

// stage checks the batches held and stages them in the background.
func (in *stagedInserter) stage() error {
	recs := in.recs
	in.recs, in.bytes = nil, 0
	if len(recs) == 0 {
		return nil
	}
	if err := in.s.checkNewRows(in.table, recs); err != nil {
		exec.ReleaseRecords(recs)
		return err
	}
	return in.bulk.stageInBackground(recs)
}

// release lets go of what the inserter holds (its staged files, unless a
// checkpoint stored them).
func (in *stagedInserter) release() {
	exec.ReleaseRecords(in.recs)
	in.recs = nil
	if in.bulk != nil {
		in.bulk.abort()
	}
}

// insertQueryRows adds the rows of query plan p (with t's columns) to t
// and returns how many it added: a load past LoadStageBytes is staged to
// disk as it comes when t can take that, the rows of a smaller one are
// added as an INSERT adds them, through the log.
func (s *Session) insertQueryRows(ctx context.Context, env *exec.Env, p logical.Plan, t *catalog.Table) (int64, error) {
	in := &stagedInserter{s: s, table: t}
	defer in.release()
	if err := s.eachBatch(ctx, env, p, in.add); err != nil {
		return 0, err
	}
	if in.bulk == nil {
		return s.appendRows(t, in.recs)
	}
	if err := in.stage(); err != nil {
		return 0, err
	}
	if err := in.bulk.wait(); err != nil {
		return 0, err
	}
	n, err := s.installStaged(in.bulk)
	if err != nil {
		return 0, err
	}
	// the statement's commit stores the staged files, by a checkpoint
	// (the log cannot name them); its end lets go of the load
	s.writes.rowsOnly = false
	s.writes.staged = append(s.writes.staged, in.bulk)
	in.bulk = nil
	return n, nil
}

// eachBatch runs query plan p, handing f each non-empty batch of its
// result (f takes it over) as it is computed.
func (s *Session) eachBatch(ctx context.Context, env *exec.Env, p logical.Plan, f func(arrow.Record) error) error {
	b := s.newBuilder(env)
	defer b.Release()
	op, err := b.Build(p)
	if err != nil {
		return err
	}
	op = s.placePlan(b, env, p, op, true)
	st, err := (&exec.Gather{Input: op}).Open(ctx, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		rec, err := st.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		if err := f(rec); err != nil {
			return err
		}
	}
}
