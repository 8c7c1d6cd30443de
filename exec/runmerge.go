package exec

import (
	"cmp"
	"context"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/exec/spill"
	"github.com/weftdb/weft/sql/types"
)

// runMerger merges sorted runs (spill files whose last columns are the
// evaluated sort keys) into one sorted stream: a binary heap of the
// runs' current rows, ties going to the earlier run.
type runMerger struct {
	x       *externalSort
	files   []*spill.File
	cursors []*runCursor
	heap    []int // indexes into cursors, best first
	schema  *arrow.Schema
	rows    int // per output batch
	keep    int // output columns (-1: all, keys included)
}

// runCursor is a run being read: its current batch and row.
type runCursor struct {
	r     *spill.Reader
	batch arrow.Record
	keys  []arrow.Array
	row   int
	bytes int64
}

// newRunMerger opens files (which it removes when closed); keep is how
// many leading columns the output has (-1: all of them, keys included,
// for a merge that writes a longer run).
func newRunMerger(x *externalSort, files []*spill.File, rows, keep int) (*runMerger, error) {
	m := &runMerger{x: x, files: files, rows: rows, keep: keep}
	for _, f := range files {
		r, err := f.Open(x.ec.Mem)
		if err != nil {
			m.Close()
			return nil, err
		}
		c := &runCursor{r: r}
		m.cursors = append(m.cursors, c)
		ok, err := m.advance(c)
		if err != nil {
			m.Close()
			return nil, err
		}
		if ok {
			m.push(len(m.cursors) - 1)
		}
	}
	m.schema = x.s.Input.Schema()
	if keep < 0 && len(m.heap) > 0 {
		m.schema = m.cursors[m.heap[0]].batch.Schema()
	}
	return m, nil
}

// advance loads c's next batch, reporting false at the end of its run.
func (m *runMerger) advance(c *runCursor) (bool, error) {
	if c.batch != nil {
		c.batch.Release()
		c.batch = nil
		m.x.acct.Add(-c.bytes)
	}
	for {
		b, err := c.r.Next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		c.batch, c.row = b, 0
		c.bytes = recordBytes(b)
		m.x.acct.Add(c.bytes)
		first := int(b.NumCols()) - len(m.x.s.Keys)
		c.keys = b.Columns()[first:]
		return true, nil
	}
}

// compare orders the current rows of cursors a and b.
func (m *runMerger) compare(a, b int) int {
	ca, cb := m.cursors[a], m.cursors[b]
	for k, key := range m.x.s.Keys {
		if c := compareKeyAt(key, ca.keys[k], ca.row, cb.keys[k], cb.row); c != 0 {
			return c
		}
	}
	return cmp.Compare(a, b)
}

func (m *runMerger) push(c int) {
	m.heap = append(m.heap, c)
	for i := len(m.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if m.compare(m.heap[i], m.heap[parent]) >= 0 {
			break
		}
		m.heap[i], m.heap[parent] = m.heap[parent], m.heap[i]
		i = parent
	}
}

func (m *runMerger) siftDown() {
	n := len(m.heap)
	for i := 0; ; {
		best, l, r := i, 2*i+1, 2*i+2
		if l < n && m.compare(m.heap[l], m.heap[best]) < 0 {
			best = l
		}
		if r < n && m.compare(m.heap[r], m.heap[best]) < 0 {
			best = r
		}
		if best == i {
			return
		}
		m.heap[i], m.heap[best] = m.heap[best], m.heap[i]
		i = best
	}
}

// Next yields the next batch of merged rows.
func (m *runMerger) Next(ctx context.Context) (arrow.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(m.heap) == 0 {
		return nil, io.EOF
	}
	builders := make([]array.Builder, len(m.schema.Fields()))
	for i, f := range m.schema.Fields() {
		builders[i] = array.NewBuilder(m.x.ec.Mem, f.Type)
		builders[i].Reserve(m.rows)
	}
	defer func() {
		for _, b := range builders {
			b.Release()
		}
	}()
	n := 0
	for n < m.rows && len(m.heap) > 0 {
		c := m.cursors[m.heap[0]]
		for i, b := range builders {
			appendValueAt(b, c.batch.Column(i), c.row)
		}
		n++
		if c.row++; c.row < int(c.batch.NumRows()) {
			m.siftDown()
			continue
		}
		ok, err := m.advance(c)
		if err != nil {
			return nil, err
		}
		if !ok {
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
		}
		if len(m.heap) > 0 {
			m.siftDown()
		}
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		cols[i] = b.NewArray()
	}
	defer releaseAll(cols)
	return array.NewRecord(m.schema, cols, int64(n)), nil
}

// Close releases the cursors and removes the merged files.
func (m *runMerger) Close() {
	for _, c := range m.cursors {
		if c.batch != nil {
			c.batch.Release()
			m.x.acct.Add(-c.bytes)
			c.batch = nil
		}
		c.r.Close()
	}
	m.cursors, m.heap = nil, nil
	for _, f := range m.files {
		f.Remove()
	}
	m.files = nil
}

// compareKeyAt compares row i of a with row j of b for one sort key, as
// columnComparator does within one array: the merge must order rows
// exactly as the in-memory sort would.
func compareKeyAt(key SortKey, a arrow.Array, i int, b arrow.Array, j int) int {
	ni, nj := a.IsNull(i), b.IsNull(j)
	if ni || nj {
		switch {
		case ni && nj:
			return 0
		case ni == key.NullsFirst:
			return -1
		}
		return 1
	}
	c := compareValuesAt(key.Expr.Type(), a, i, b, j)
	if key.Desc {
		return -c
	}
	return c
}

// compareValuesAt compares two non-NULL values of type t held in arrays
// of the same Arrow type.
func compareValuesAt(t types.T, a arrow.Array, i int, b arrow.Array, j int) int {
	switch x := a.(type) {
	case *array.Int64:
		if y, ok := b.(*array.Int64); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Int32:
		if y, ok := b.(*array.Int32); ok {
			return cmp.Compare(x.Value(i), y.Value(j))
		}
	case *array.Float64:
		if y, ok := b.(*array.Float64); ok {
			return compareFloat(x.Value(i), y.Value(j))
		}
	case *array.Decimal128:
		if y, ok := b.(*array.Decimal128); ok {
			return compareDecimal(x.Value(i), y.Value(j))
		}
	case *array.String:
		y, ok := b.(*array.String)
		switch {
		case !ok || t.Kind == types.Enum || t.Kind == types.Inet || t.Kind == types.JSONB:
		case t.Kind == types.Char:
			return strings.Compare(trimBlanks(x.Value(i)), trimBlanks(y.Value(j)))
		default:
			return strings.Compare(x.Value(i), y.Value(j))
		}
	}
	return CompareDatums(t, DatumAt(a, i), DatumAt(b, j))
}

// appendValueAt appends row i of src to b (of src's type).
func appendValueAt(b array.Builder, src arrow.Array, i int) {
	if src.IsNull(i) {
		b.AppendNull()
		return
	}
	switch x := src.(type) {
	case *array.Int64:
		b.(*array.Int64Builder).Append(x.Value(i))
	case *array.Int32:
		b.(*array.Int32Builder).Append(x.Value(i))
	case *array.Int16:
		b.(*array.Int16Builder).Append(x.Value(i))
	case *array.Float64:
		b.(*array.Float64Builder).Append(x.Value(i))
	case *array.Float32:
		b.(*array.Float32Builder).Append(x.Value(i))
	case *array.Boolean:
		b.(*array.BooleanBuilder).Append(x.Value(i))
	case *array.String:
		b.(*array.StringBuilder).Append(x.Value(i))
	case *array.Binary:
		b.(*array.BinaryBuilder).Append(x.Value(i))
	case *array.Decimal128:
		b.(*array.Decimal128Builder).Append(x.Value(i))
	case *array.Date32:
		b.(*array.Date32Builder).Append(x.Value(i))
	case *array.Time64:
		b.(*array.Time64Builder).Append(x.Value(i))
	case *array.Timestamp:
		b.(*array.TimestampBuilder).Append(x.Value(i))
	case *array.MonthDayNanoInterval:
		b.(*array.MonthDayNanoIntervalBuilder).Append(x.Value(i))
	default:
		AppendDatum(b, DatumAt(src, i))
	}
}
