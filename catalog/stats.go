package catalog

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// statsSampleRows is how many rows statistics read from a larger table
// (PostgreSQL's ANALYZE reads 30,000 by default): enough for distinct
// counts within a small factor, cheap enough to take while planning.
const statsSampleRows = 30000

// statsDrift is the relative change in row count after which cached
// statistics are taken again.
const statsDrift = 0.2

// ColumnStats describes the values of one column.
type ColumnStats struct {
	// Distinct estimates the number of distinct non-NULL values.
	Distinct float64
	// NullFrac is the fraction of rows holding NULL.
	NullFrac float64
}

// TableStats describes a table's data at the time it was sampled. It is
// immutable once made.
type TableStats struct {
	Rows    int64
	Columns []ColumnStats // by column ordinal
}

// Stats returns statistics for the table's data s. They are kept on the
// table (in memory, not persisted) and taken again from a sample of s when
// there are none yet, when the columns changed, or when the row count
// drifted by more than statsDrift since they were taken; otherwise the
// cached distinct counts are returned with s's row count.
func (t *Table) Stats(s *Snapshot) *TableStats {
	rows := s.NumRows()
	if cur := t.stats.Load(); cur != nil && len(cur.Columns) == len(t.Columns) && !drifted(cur.Rows, rows) {
		if cur.Rows == rows {
			return cur
		}
		return cur.withRows(rows)
	}
	return t.Analyze(s)
}

// Analyze takes statistics of s now (ANALYZE) and keeps them on the table.
func (t *Table) Analyze(s *Snapshot) *TableStats {
	st := sampleStats(t.Columns, s)
	t.stats.Store(st)
	return st
}

// StoredStats are the statistics to store with the table's data s (a
// checkpoint's): those kept on the table if they describe s's columns,
// else a sample of s when its batches are in memory (no I/O), else nil.
// A database opened again plans with them (SetStats) instead of reading
// batches of every table a first query names. A sample taken here is
// kept on the table too: a load the checkpoint then puts onto its
// segments (remapped) would otherwise be sampled again from the files
// by the first query that plans with it.
func (t *Table) StoredStats(cols []Column, s *Snapshot) *TableStats {
	if cur := t.stats.Load(); cur != nil && len(cur.Columns) == len(cols) && !drifted(cur.Rows, s.NumRows()) {
		return cur
	}
	for _, p := range s.Parts {
		for _, r := range p {
			if !BatchLoaded(r) {
				return nil
			}
		}
	}
	st := sampleStats(cols, s)
	if len(cols) == len(t.Columns) {
		t.stats.Store(st)
	}
	return st
}

// SetStats keeps stored statistics on the table (at open).
func (t *Table) SetStats(st *TableStats) {
	if st != nil && len(st.Columns) == len(t.Columns) {
		t.stats.Store(st)
	}
}

func drifted(was, now int64) bool {
	return math.Abs(float64(now-was)) > statsDrift*float64(was)
}

// withRows scales the statistics to a new row count: distinct counts stay
// (capped by the rows), null fractions stay.
func (st *TableStats) withRows(rows int64) *TableStats {
	out := &TableStats{Rows: rows, Columns: slices.Clone(st.Columns)}
	for i := range out.Columns {
		out.Columns[i].Distinct = min(out.Columns[i].Distinct, float64(rows))
	}
	return out
}

// sampleStats reads up to statsSampleRows rows of s, chosen at random with
// a fixed seed (the same data gives the same plan), and estimates each
// column's distinct count from the sample.
func sampleStats(cols []Column, s *Snapshot) *TableStats {
	recs := flatRecords(s)
	total := int64(0)
	for _, r := range recs {
		total += r.NumRows()
	}
	st := &TableStats{Rows: total, Columns: make([]ColumnStats, len(cols))}
	if total == 0 {
		return st
	}
	sample := sampleBatches(recs)
	var sampled int64
	for _, r := range sample {
		sampled += r.NumRows()
	}
	if sampled == 0 {
		return st
	}
	rows := samplePositions(sampled)
	for c := range cols {
		st.Columns[c] = columnStats(sample, c, cols[c].Type, rows, total)
	}
	return st
}

// StatsOfSample estimates statistics of a table of total rows from
// sample, rows drawn from it uniformly at random (a bulk load keeps such
// a sample of the rows it writes to disk, so that its table's statistics
// need not read the files back).
func StatsOfSample(cols []Column, sample []arrow.Record, total int64) *TableStats {
	st := &TableStats{Rows: total, Columns: make([]ColumnStats, len(cols))}
	var n int64
	for _, r := range sample {
		n += r.NumRows()
	}
	if n == 0 {
		return st
	}
	rows := make([]int64, n)
	for i := range rows {
		rows[i] = int64(i)
	}
	for c := range cols {
		st.Columns[c] = columnStats(sample, c, cols[c].Type, rows, total)
	}
	return st
}

// StatsSampleRows is how many rows statistics sample.
const StatsSampleRows = statsSampleRows

// maxStatsBatches bounds the batches a sample reads from storage.
const maxStatsBatches = 32

// sampleBatches picks the batches a sample reads: all of them when they
// are in memory; when some are read on demand (lazy.go) and there are
// many, maxStatsBatches spread evenly over the table, so that planning
// a query over a large stored table does not read all of it. A batch
// that cannot be read is left out (the query reading it reports why).
func sampleBatches(recs []arrow.Record) []arrow.Record {
	all := true
	for _, r := range recs {
		all = all && BatchLoaded(r)
	}
	if all {
		return recs
	}
	pick := recs
	if len(recs) > maxStatsBatches {
		pick = make([]arrow.Record, maxStatsBatches)
		for i := range pick {
			pick[i] = recs[i*len(recs)/maxStatsBatches]
		}
	}
	out := pick[:0:0]
	for _, r := range pick {
		if LoadBatch(r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func flatRecords(s *Snapshot) []arrow.Record {
	var recs []arrow.Record
	for _, p := range s.Parts {
		for _, r := range p {
			if r.NumRows() > 0 {
				recs = append(recs, r)
			}
		}
	}
	return recs
}

// samplePositions returns sorted row positions in [0, total): all of them
// for a small table, else statsSampleRows drawn with replacement.
func samplePositions(total int64) []int64 {
	if total <= statsSampleRows {
		out := make([]int64, total)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	rng := rand.New(rand.NewPCG(0x5eed, uint64(total)))
	out := make([]int64, statsSampleRows)
	for i := range out {
		out[i] = rng.Int64N(total)
	}
	slices.Sort(out)
	return out
}

// columnStats counts the sample's values of column c.
func columnStats(recs []arrow.Record, c int, t types.T, rows []int64, total int64) ColumnStats {
	counts := map[string]int{}
	nulls := 0
	var key []byte
	ri, base := 0, int64(0)
	for _, pos := range rows {
		for pos >= base+recs[ri].NumRows() {
			base += recs[ri].NumRows()
			ri++
		}
		if c >= int(recs[ri].NumCols()) {
			nulls++
			continue
		}
		a := recs[ri].Column(c)
		i := int(pos - base)
		if a.IsNull(i) {
			nulls++
			continue
		}
		key = appendValueKey(key[:0], a, i, t.Kind == types.Char)
		counts[string(key)]++
	}
	n := float64(len(rows))
	nonNull := n - float64(nulls)
	cs := ColumnStats{NullFrac: float64(nulls) / n}
	if nonNull == 0 {
		return cs
	}
	singles := 0
	for _, k := range counts {
		if k == 1 {
			singles++
		}
	}
	cs.Distinct = estimateDistinct(nonNull, float64(len(counts)), float64(singles), float64(total)*(1-cs.NullFrac))
	return cs
}

// estimateDistinct extrapolates the distinct count of a population of size
// pop from a sample of size n holding d distinct values, f1 of them seen
// once, with the estimator of Haas and Stokes ("Duj1", as PostgreSQL's
// ANALYZE): n*d / (n - f1 + f1*n/pop). A sample of the whole population
// gives d itself.
func estimateDistinct(n, d, f1, pop float64) float64 {
	if n >= pop || f1 == 0 {
		return d
	}
	est := n * d / (n - f1 + f1*n/pop)
	return max(d, min(est, pop))
}

// appendValueKey appends bytes that are equal for equal values of a.
func appendValueKey(dst []byte, a arrow.Array, i int, char bool) []byte {
	switch v := a.(type) {
	case *array.String:
		s := v.Value(i)
		if char {
			s = strings.TrimRight(s, " ")
		}
		return append(dst, s...)
	case *array.LargeString:
		return append(dst, v.Value(i)...)
	case *array.Binary:
		return append(dst, v.Value(i)...)
	case *array.Boolean:
		if v.Value(i) {
			return append(dst, 1)
		}
		return append(dst, 0)
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok && fw.BitWidth() >= 8 && len(a.Data().Buffers()) > 1 {
		width := fw.BitWidth() / 8
		buf := a.Data().Buffers()[1].Bytes()
		off := (a.Data().Offset() + i) * width
		return append(dst, buf[off:off+width]...)
	}
	s := a.ValueStr(i)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// CachedStats is the statistics kept on the table, nil before any were
// taken: what the table's next plans start from.
func (t *Table) CachedStats() *TableStats { return t.stats.Load() }

// UseStats keeps st as the table's statistics. A cluster worker takes
// its coordinator's, so that both plan a query alike (their samples of
// the same data may differ: batches in memory against ones read from
// disk on demand).
func (t *Table) UseStats(st *TableStats) { t.stats.Store(st) }
