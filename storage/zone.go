package storage

import (
	"cmp"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/datafile"
)

// Zone maps: when a segment is written, the catalog gets, for each of its
// columns, the count of NULLs and the least and greatest value (a Zone).
// A scan with conditions "column op constant" skips the segments whose
// zones rule every row out, without reading them, as the Parquet reader
// does with row groups' statistics (datafile's pushdown.go).
//
// Only values that compare the way SQL compares them get bounds: integers,
// dates and timestamps; floats unless the segment holds NaN or an
// infinity (JSON has neither, and NaN sorts above every number in SQL);
// strings of at most maxZoneText bytes (text compares bytewise here, as
// in the Parquet reader).

// Zone summarizes one column of a segment.
type Zone struct {
	Nulls int64 `json:"nulls"`
	// at most one of these is set: the least and greatest non-null value
	Int   *[2]int64   `json:"int,omitempty"`
	Float *[2]float64 `json:"float,omitempty"`
	Text  *[2]string  `json:"text,omitempty"`
}

// maxZoneText bounds the strings a zone keeps (the catalog holds them).
const maxZoneText = 64

// zonesOf summarizes each column of rec.
func zonesOf(rec arrow.Record) []Zone {
	out := make([]Zone, rec.NumCols())
	for i, col := range rec.Columns() {
		out[i] = zoneOf(col)
	}
	return out
}

// zoneOf summarizes one column.
func zoneOf(a arrow.Array) Zone {
	z := Zone{Nulls: int64(a.NullN())}
	switch c := a.(type) {
	case *array.Int16:
		z.Int = intBounds(c.Len(), c.IsNull, func(i int) int64 { return int64(c.Value(i)) })
	case *array.Int32:
		z.Int = intBounds(c.Len(), c.IsNull, func(i int) int64 { return int64(c.Value(i)) })
	case *array.Int64:
		z.Int = intBounds(c.Len(), c.IsNull, c.Value)
	case *array.Date32:
		z.Int = intBounds(c.Len(), c.IsNull, func(i int) int64 { return int64(c.Value(i)) })
	case *array.Timestamp:
		if c.DataType().(*arrow.TimestampType).Unit == arrow.Microsecond {
			z.Int = intBounds(c.Len(), c.IsNull, func(i int) int64 { return int64(c.Value(i)) })
		}
	case *array.Float32:
		z.Float = floatBounds(c.Len(), c.IsNull, func(i int) float64 { return float64(c.Value(i)) })
	case *array.Float64:
		z.Float = floatBounds(c.Len(), c.IsNull, c.Value)
	case *array.String:
		z.Text = textBounds(c)
	}
	return z
}

func intBounds(n int, isNull func(int) bool, value func(int) int64) *[2]int64 {
	var b *[2]int64
	for i := 0; i < n; i++ {
		if isNull(i) {
			continue
		}
		v := value(i)
		if b == nil {
			b = &[2]int64{v, v}
		}
		b[0], b[1] = min(b[0], v), max(b[1], v)
	}
	return b
}

func floatBounds(n int, isNull func(int) bool, value func(int) float64) *[2]float64 {
	var b *[2]float64
	for i := 0; i < n; i++ {
		if isNull(i) {
			continue
		}
		v := value(i)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		if b == nil {
			b = &[2]float64{v, v}
		}
		b[0], b[1] = min(b[0], v), max(b[1], v)
	}
	return b
}

func textBounds(c *array.String) *[2]string {
	var lo, hi string
	seen := false
	for i := 0; i < c.Len(); i++ {
		if c.IsNull(i) {
			continue
		}
		v := c.Value(i)
		if !seen {
			lo, hi, seen = v, v, true
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	if !seen || len(lo) > maxZoneText || len(hi) > maxZoneText {
		return nil
	}
	// (copies: the values point into the batch)
	return &[2]string{strings.Clone(lo), strings.Clone(hi)}
}

// Zoned is a batch that has zones (a segment read on demand).
type Zoned interface {
	Zones() []Zone
}

// ZonesRuleOut reports whether no row of a segment of rows rows with
// zones can meet every condition of ranges (whose Col are the table's
// column ordinals).
func ZonesRuleOut(zones []Zone, rows int64, ranges []datafile.Range) bool {
	for _, r := range ranges {
		if r.Col < 0 || r.Col >= len(zones) {
			continue
		}
		z := zones[r.Col]
		if z.Nulls == rows && rows > 0 {
			return true // "column op constant" is never true of NULL
		}
		if cmpMin, cmpMax, ok := z.compare(r.Value); ok && datafile.Excludes(r.Op, cmpMin, cmpMax) {
			return true
		}
	}
	return false
}

// compare compares the zone's least and greatest value with the constant
// c (a datum of the column's SQL type); ok is false when they cannot be
// compared safely.
func (z Zone) compare(c any) (cmpMin, cmpMax int, ok bool) {
	switch {
	case z.Int != nil:
		var v int64
		switch x := c.(type) {
		case int64:
			v = x
		case int32:
			v = int64(x)
		default:
			return 0, 0, false
		}
		return cmp.Compare(z.Int[0], v), cmp.Compare(z.Int[1], v), true
	case z.Float != nil:
		v, isFloat := c.(float64)
		if !isFloat || math.IsNaN(v) {
			return 0, 0, false
		}
		return cmp.Compare(z.Float[0], v), cmp.Compare(z.Float[1], v), true
	case z.Text != nil:
		v, isText := c.(string)
		if !isText {
			return 0, 0, false
		}
		return strings.Compare(z.Text[0], v), strings.Compare(z.Text[1], v), true
	}
	return 0, 0, false
}
