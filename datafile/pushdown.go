package datafile

import (
	"bytes"
	"cmp"
	"io"
	"math"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/weftdb/weft/sql/types"
)

// Pushdown narrows a read: Cols are the source columns to return, in
// order (nil: all of them), and Ranges are conditions that every returned
// row must meet, which let a reader skip Parquet row groups whose
// statistics rule them out. The rows of groups that are read are not
// filtered here: the plan keeps its filter.
type Pushdown struct {
	Cols   []int
	Ranges []Range
	// BytesRead, when set, counts the bytes of the files read (for a
	// progress display).
	BytesRead *atomic.Int64

	skipped atomic.Int64 // row groups skipped so far
}

// Skipped reports how many Parquet row groups reads have skipped.
func (p *Pushdown) Skipped() int64 {
	if p == nil {
		return 0
	}
	return p.skipped.Load()
}

// Range is "source column Col Op Value" (Op one of = < <= > >=).
type Range struct {
	Col   int
	Op    string
	Value types.Datum
}

// columns resolves the columns to return.
func (p *Pushdown) columns(n int) []int {
	if p == nil || p.Cols == nil {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	return p.Cols
}

// keepRowGroups lists the row groups of a Parquet file (of only, when
// not nil) that statistics do not rule out, and how many were skipped.
func keepRowGroups(pf *file.Reader, manifest *pqarrow.SchemaManifest, ranges []Range, only []int) ([]int, int) {
	if only == nil {
		only = make([]int, pf.NumRowGroups())
		for rg := range only {
			only[rg] = rg
		}
	}
	keep := []int{}
	for _, rg := range only {
		if !ruledOut(pf.MetaData().RowGroup(rg), manifest, ranges) {
			keep = append(keep, rg)
		}
	}
	return keep, len(only) - len(keep)
}

func ruledOut(rg *metadata.RowGroupMetaData, manifest *pqarrow.SchemaManifest, ranges []Range) bool {
	for _, r := range ranges {
		if r.Col >= len(manifest.Fields) || !manifest.Fields[r.Col].IsLeaf() {
			continue
		}
		chunk, err := rg.ColumnChunk(manifest.Fields[r.Col].ColIndex)
		if err != nil {
			continue
		}
		if set, err := chunk.StatsSet(); err != nil || !set {
			continue
		}
		stats, err := chunk.Statistics()
		if err != nil || stats == nil || !stats.HasMinMax() {
			continue
		}
		if isFloatStats(stats) && (r.Op == ">" || r.Op == ">=") {
			// NaN sorts above every number here but is left out of
			// Parquet's min and max
			continue
		}
		if cmpMin, cmpMax, ok := compareStats(stats, manifest.Fields[r.Col].Field.Type, r.Value); ok && Excludes(r.Op, cmpMin, cmpMax) {
			return true
		}
	}
	return false
}

// Excludes says whether no value v with min <= v <= max can satisfy
// "v op c", given cmpMin = compare(min, c) and cmpMax = compare(max, c).
func Excludes(op string, cmpMin, cmpMax int) bool {
	switch op {
	case "=":
		return cmpMin > 0 || cmpMax < 0
	case "<":
		return cmpMin >= 0
	case "<=":
		return cmpMin > 0
	case ">":
		return cmpMax <= 0
	case ">=":
		return cmpMax < 0
	}
	return false
}

// compareStats compares a row group's min and max with the constant c
// (a Weft datum of the column's SQL type). ok is false when the statistics
// cannot be compared safely.
func compareStats(stats metadata.TypedStatistics, field arrow.DataType, c types.Datum) (cmpMin, cmpMax int, ok bool) {
	switch s := stats.(type) {
	case *metadata.Int32Statistics:
		switch field.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32:
			v, isInt := c.(int64)
			return cmp.Compare(int64(s.Min()), v), cmp.Compare(int64(s.Max()), v), isInt
		case arrow.DATE32:
			v, isDate := c.(int32)
			return cmp.Compare(int64(s.Min()), int64(v)), cmp.Compare(int64(s.Max()), int64(v)), isDate
		}
	case *metadata.Int64Statistics:
		v, isInt := c.(int64)
		if !isInt {
			return 0, 0, false
		}
		switch ft := field.(type) {
		case *arrow.Int64Type:
			return cmp.Compare(s.Min(), v), cmp.Compare(s.Max(), v), true
		case *arrow.TimestampType:
			// Weft's timestamps are microseconds; widen the group's range
			// outward when converting so rounding never excludes a match
			lo, hi := toMicros(s.Min(), ft.Unit, false), toMicros(s.Max(), ft.Unit, true)
			return cmp.Compare(lo, v), cmp.Compare(hi, v), true
		}
	case *metadata.Float32Statistics:
		v, isFloat := c.(float64)
		return cmp.Compare(float64(s.Min()), v), cmp.Compare(float64(s.Max()), v), isFloat && !math.IsNaN(v)
	case *metadata.Float64Statistics:
		v, isFloat := c.(float64)
		return cmp.Compare(s.Min(), v), cmp.Compare(s.Max(), v), isFloat && !math.IsNaN(v)
	case *metadata.ByteArrayStatistics:
		v, isText := c.(string)
		if !isText || (field.ID() != arrow.STRING && field.ID() != arrow.LARGE_STRING) {
			return 0, 0, false
		}
		return bytes.Compare(s.Min(), []byte(v)), bytes.Compare(s.Max(), []byte(v)), true
	}
	return 0, 0, false
}

func toMicros(v int64, unit arrow.TimeUnit, up bool) int64 {
	switch unit {
	case arrow.Second:
		return v * 1_000_000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		q := v / 1000
		if up && v%1000 != 0 && v > 0 {
			q++
		}
		if !up && v%1000 != 0 && v < 0 {
			q--
		}
		return q
	}
	return v
}

func isFloatStats(s metadata.TypedStatistics) bool {
	switch s.(type) {
	case *metadata.Float32Statistics, *metadata.Float64Statistics:
		return true
	}
	return false
}

// countingReader counts what passes through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// counted wraps r to count into pd's BytesRead, if it has one.
func counted(r io.Reader, pd *Pushdown) io.Reader {
	if pd == nil || pd.BytesRead == nil {
		return r
	}
	return countingReader{r: r, n: pd.BytesRead}
}

// CountingReader counts the bytes read from r into n.
func CountingReader(r io.Reader, n *atomic.Int64) io.Reader { return countingReader{r: r, n: n} }
