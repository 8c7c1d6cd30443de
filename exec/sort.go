package exec

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/weftdb/weft/sql/types"
)

// SortKey orders by an expression.
type SortKey struct {
	Expr       Expr
	Desc       bool
	NullsFirst bool
}

func (k SortKey) String() string {
	s := k.Expr.String()
	if k.Desc {
		s += " DESC"
	}
	if k.NullsFirst != k.Desc {
		if k.NullsFirst {
			s += " NULLS FIRST"
		} else {
			s += " NULLS LAST"
		}
	}
	return s
}

func keysString(keys []SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, ", ")
}

// rowComparator compares rows i and j of evaluated key columns.
type rowComparator func(i, j int) int

func columnComparator(a arrow.Array, t types.T, desc, nullsFirst bool) rowComparator {
	var base func(i, j int) int
	switch src := a.(type) {
	case *array.Int64:
		v := src.Int64Values()
		base = func(i, j int) int { return cmp.Compare(v[i], v[j]) }
	case *array.Int32:
		v := src.Int32Values()
		base = func(i, j int) int { return cmp.Compare(v[i], v[j]) }
	case *array.Float64:
		v := src.Float64Values()
		base = func(i, j int) int { return compareFloat(v[i], v[j]) }
	case *array.Decimal128:
		v := src.Values()
		base = func(i, j int) int { return compareDecimal(v[i], v[j]) }
	case *array.String:
		if t.Kind == types.Enum || t.Kind == types.Inet || t.Kind == types.JSONB {
			base = func(i, j int) int { return CompareDatums(t, DatumAt(a, i), DatumAt(a, j)) }
		} else if t.Kind == types.Char {
			base = func(i, j int) int {
				return strings.Compare(trimBlanks(src.Value(i)), trimBlanks(src.Value(j)))
			}
		} else {
			base = func(i, j int) int { return strings.Compare(src.Value(i), src.Value(j)) }
		}
	default:
		base = func(i, j int) int { return CompareDatums(t, DatumAt(a, i), DatumAt(a, j)) }
	}
	hasNulls := a.NullN() > 0
	return func(i, j int) int {
		if hasNulls {
			ni, nj := a.IsNull(i), a.IsNull(j)
			if ni || nj {
				switch {
				case ni && nj:
					return 0
				case ni == nullsFirst:
					return -1
				}
				return 1
			}
		}
		c := base(i, j)
		if desc {
			return -c
		}
		return c
	}
}

// sortPermutation evaluates keys over one record and returns the row order.
func sortPermutation(ec *EvalContext, b arrow.Record, keys []SortKey) ([]int, error) {
	cols, err := evalAll(ec, b, sortExprs(keys))
	if err != nil {
		return nil, err
	}
	defer releaseAll(cols)
	return keyPermutation(ec, cols, keys, int(b.NumRows()))
}

// keyPermutation returns the order of n rows by their evaluated keys.
func keyPermutation(ec *EvalContext, cols []arrow.Array, keys []SortKey, n int) ([]int, error) {
	cmps := make([]rowComparator, len(keys))
	for i, k := range keys {
		cmps[i] = columnComparator(cols[i], k.Expr.Type(), k.Desc, k.NullsFirst)
	}
	perm := allRows(n)
	if err := sortCancellable(ec, perm, func(i, j int) int {
		for _, c := range cmps {
			if r := c(i, j); r != 0 {
				return r
			}
		}
		return 0
	}); err != nil {
		return nil, err
	}
	return perm, nil
}

// sortAbandoned unwinds a sort whose statement was cancelled.
type sortAbandoned struct{ err error }

// sortCancellable sorts perm stably, checking every 65,536 comparisons
// whether the statement was cancelled: sorting tens of millions of rows
// takes seconds, and the sort function offers no other way out than
// unwinding it (here, within this goroutine).
func sortCancellable(ec *EvalContext, perm []int, cmp func(i, j int) int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			abandoned, ok := r.(sortAbandoned)
			if !ok {
				panic(r)
			}
			err = abandoned.err
		}
	}()
	n := 0
	slices.SortStableFunc(perm, func(i, j int) int {
		if n++; n&0xffff == 0 {
			if err := ec.Canceled(); err != nil {
				panic(sortAbandoned{err})
			}
		}
		return cmp(i, j)
	})
	return nil
}

func sortExprs(keys []SortKey) []Expr {
	out := make([]Expr, len(keys))
	for i, k := range keys {
		out[i] = k.Expr
	}
	return out
}

// Sort orders all rows of its input (one output partition).
type Sort struct {
	Env   *Env
	Input Operator
	Keys  []SortKey
	stats spillStats // what it spilled (extsort.go)
	// report, when set, counts what it spills instead of stats (the
	// operator it sorts for shows it).
	report *spillStats
}

// SpilledBytes is what the sort wrote to spill files.
func (s *Sort) SpilledBytes() int64 { return s.spillStats().SpilledBytes() }

func (s *Sort) explainSpill() string { return s.spillStats().explainSpill() }

func (s *Sort) spillStats() *spillStats {
	if s.report != nil {
		return s.report
	}
	return &s.stats
}

func (s *Sort) Schema() *arrow.Schema { return s.Input.Schema() }
func (s *Sort) Partitions() int       { return 1 }
func (s *Sort) Children() []Operator  { return []Operator{s.Input} }
func (s *Sort) Explain() string       { return "Sort " + keysString(s.Keys) }

func (s *Sort) Open(ctx context.Context, _ int) (Stream, error) {
	if s.Env.canSpill() {
		return s.openSpilling(ctx)
	}
	return materializeThen(ctx, s.Env, "Sort", s.Input, func(ec *EvalContext, all arrow.Record) ([]arrow.Record, error) {
		perm, err := sortPermutation(ec, all, s.Keys)
		if err != nil {
			return nil, err
		}
		return sliceBatches(ec, all, perm, s.Env.BatchSize)
	})
}

// sliceBatches takes rows perm of all into batches of at most size rows.
func sliceBatches(ec *EvalContext, all arrow.Record, perm []int, size int) ([]arrow.Record, error) {
	var out []arrow.Record
	for start := 0; start < len(perm); start += size {
		end := min(len(perm), start+size)
		b, err := takeRecord(ec, all, perm[start:end])
		if err != nil {
			ReleaseRecords(out)
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// materializeThen gathers the whole input into one record, transforms it
// into output batches on the first Next, and streams those. What it
// gathers is counted in the statement's account for name, which a 53200
// then names.
func materializeThen(ctx context.Context, env *Env, name string, input Operator, f func(ec *EvalContext, all arrow.Record) ([]arrow.Record, error)) (Stream, error) {
	var out []arrow.Record
	done := false
	acct := env.account(name)
	var held int64
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if !done {
			done = true
			ec := newEvalContext(ctx, env)
			all, err := collectAccounted(ctx, ec, input, acct, &held)
			if err != nil {
				return nil, err
			}
			out, err = f(ec, all)
			all.Release()
			if err != nil {
				return nil, err
			}
		}
		if len(out) == 0 {
			return nil, io.EOF
		}
		b := out[0]
		out = out[1:]
		return b, nil
	}, close: func() { ReleaseRecords(out); out = nil; acct.Add(-held); held = 0; acct.Close() }}, nil
}

// collectOne reads every partition of input (in parallel) into one record.
func collectOne(ctx context.Context, ec *EvalContext, input Operator) (arrow.Record, error) {
	var held int64
	return collectAccounted(ctx, ec, input, nil, &held)
}

// collectAccounted is collectOne counting the batches it gathers in acct
// (adding to *held what it counts there, for the caller to take back).
func collectAccounted(ctx context.Context, ec *EvalContext, input Operator, acct *MemoryAccount, held *int64) (arrow.Record, error) {
	st, err := (&Gather{Input: input}).Open(ctx, 0)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var batches []arrow.Record
	defer func() { ReleaseRecords(batches) }()
	for {
		b, err := st.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		n := recordBytes(b)
		acct.Add(n)
		*held += n
		batches = append(batches, b)
	}
	return Concat(ec.Mem, input.Schema(), batches)
}

// TopN keeps the first N rows in key order: each partition keeps its own
// best N in a heap, and the partitions' winners are merged at the end.
type TopN struct {
	Env   *Env
	Input Operator
	Keys  []SortKey
	N     int64
}

func (t *TopN) Schema() *arrow.Schema { return t.Input.Schema() }
func (t *TopN) Partitions() int       { return 1 }
func (t *TopN) Children() []Operator  { return []Operator{t.Input} }
func (t *TopN) Explain() string {
	return fmt.Sprintf("TopN %d by %s (per partition, then merged)", t.N, keysString(t.Keys))
}

func (t *TopN) Open(ctx context.Context, _ int) (Stream, error) {
	local := &topNLocal{t: t}
	return materializeThen(ctx, t.Env, "TopN", local, func(ec *EvalContext, all arrow.Record) ([]arrow.Record, error) {
		perm, err := sortPermutation(ec, all, t.Keys)
		if err != nil {
			return nil, err
		}
		if int64(len(perm)) > t.N {
			perm = perm[:t.N]
		}
		return sliceBatches(ec, all, perm, t.Env.BatchSize)
	})
}

// topNLocal is TopN's per-partition phase.
type topNLocal struct{ t *TopN }

func (l *topNLocal) Schema() *arrow.Schema { return l.t.Input.Schema() }
func (l *topNLocal) Partitions() int       { return l.t.Input.Partitions() }
func (l *topNLocal) Children() []Operator  { return []Operator{l.t.Input} }
func (l *topNLocal) Explain() string       { return "TopN local" }

func (l *topNLocal) Open(ctx context.Context, part int) (Stream, error) {
	in, err := l.t.Input.Open(ctx, part)
	if err != nil {
		return nil, err
	}
	ec := newEvalContext(ctx, l.t.Env)
	done := false
	return &funcStream{next: func(ctx context.Context) (arrow.Record, error) {
		if done {
			return nil, io.EOF
		}
		done = true
		return l.run(ctx, ec, in)
	}, close: in.Close}, nil
}

type topRow struct {
	keys []types.Datum
	row  []types.Datum
}

type topHeap struct {
	rows []topRow
	less func(a, b []types.Datum) int
}

func (h *topHeap) Len() int           { return len(h.rows) }
func (h *topHeap) Less(i, j int) bool { return h.less(h.rows[i].keys, h.rows[j].keys) > 0 } // worst on top
func (h *topHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *topHeap) Push(x any)         { h.rows = append(h.rows, x.(topRow)) }
func (h *topHeap) Pop() any {
	x := h.rows[len(h.rows)-1]
	h.rows = h.rows[:len(h.rows)-1]
	return x
}

func (l *topNLocal) compareKeys(a, b []types.Datum) int {
	for i, k := range l.t.Keys {
		x, y := a[i], b[i]
		var c int
		switch {
		case x == nil && y == nil:
			c = 0
		case x == nil || y == nil:
			c = 1
			if (x == nil) == k.NullsFirst {
				c = -1
			}
			if c != 0 {
				return c
			}
		default:
			c = CompareDatums(k.Expr.Type(), x, y)
			if k.Desc {
				c = -c
			}
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (l *topNLocal) run(ctx context.Context, ec *EvalContext, in Stream) (arrow.Record, error) {
	h := &topHeap{less: l.compareKeys}
	keyBuf := make([]types.Datum, len(l.t.Keys))
	for {
		b, err := in.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		cols, err := evalAll(ec, b, sortExprs(l.t.Keys))
		if err != nil {
			b.Release()
			return nil, err
		}
		skip := firstKeySkipper(cols[0], l.t.Keys[0].Desc)
		var worst types.Datum // heap's worst first key once the heap is full
		if int64(h.Len()) >= l.t.N {
			worst = h.rows[0].keys[0]
		}
		n := int(b.NumRows())
		for i := 0; i < n; i++ {
			// Most rows lose against the heap's worst on the first key
			// alone: skip those on the raw values without boxing.
			if worst != nil && skip != nil {
				if i = skip(i, n, worst); i >= n {
					break
				}
			}
			for k, c := range cols {
				keyBuf[k] = DatumAt(c, i)
			}
			if int64(h.Len()) >= l.t.N && l.compareKeys(keyBuf, h.rows[0].keys) >= 0 {
				continue
			}
			row := make([]types.Datum, b.NumCols())
			for c := range row {
				row[c] = DatumAt(b.Column(c), i)
			}
			heap.Push(h, topRow{keys: slices.Clone(keyBuf), row: row})
			if int64(h.Len()) > l.t.N {
				heap.Pop(h)
			}
			if int64(h.Len()) >= l.t.N {
				worst = h.rows[0].keys[0]
			}
		}
		releaseAll(cols)
		b.Release()
	}
	return rowsToRecord(ec, l.Schema(), h.rows)
}

func rowsToRecord(ec *EvalContext, schema *arrow.Schema, rows []topRow) (arrow.Record, error) {
	builders := make([]array.Builder, schema.NumFields())
	for i, f := range schema.Fields() {
		builders[i] = array.NewBuilder(ec.Mem, f.Type)
		defer builders[i].Release()
	}
	for _, r := range rows {
		for c, v := range r.row {
			AppendDatum(builders[c], v)
		}
	}
	cols := make([]arrow.Array, len(builders))
	for i, b := range builders {
		cols[i] = b.NewArray()
	}
	defer releaseAll(cols)
	return array.NewRecord(schema, cols, int64(len(rows))), nil
}

// firstKeySkipper returns a scan that, from row `from`, passes over the rows
// whose first sort key is strictly worse than worst (the heap's worst,
// non-NULL first key) and returns the next row that may enter the heap, or
// n. It reads raw values; rows with a NULL key always stop the scan. It is
// nil for key types without a fast path.
func firstKeySkipper(col arrow.Array, desc bool) func(from, n int, worst types.Datum) int {
	switch a := col.(type) {
	case *array.Int64:
		return skipper(a.Int64Values(), a, desc, func(d types.Datum) (int64, bool) { v, ok := d.(int64); return v, ok })
	case *array.Int32:
		return skipper(a.Int32Values(), a, desc, func(d types.Datum) (int32, bool) { v, ok := d.(int64); return int32(v), ok })
	case *array.Float64:
		return skipper(a.Float64Values(), a, desc, func(d types.Datum) (float64, bool) {
			v, ok := d.(float64)
			return v, ok && v == v // NaN: leave to the general comparison
		})
	}
	return nil
}

func skipper[T int32 | int64 | float64](vals []T, a arrow.Array, desc bool, conv func(types.Datum) (T, bool)) func(from, n int, worst types.Datum) int {
	if a.NullN() > 0 {
		return nullableSkipper(vals, a, desc, conv)
	}
	// no NULLs: one comparison per row, the direction chosen once. A NaN
	// compares false either way and so stops the scan, as it must.
	return func(i, n int, worst types.Datum) int {
		w, ok := conv(worst)
		if !ok {
			return i
		}
		if desc {
			return skipBelow(vals[:n], i, w)
		}
		return skipAbove(vals[:n], i, w)
	}
}

// skipBelow returns the first row from i on whose value is not below w
// (len(vals) when none), four rows a step while they all are.
func skipBelow[T int32 | int64 | float64](vals []T, i int, w T) int {
	for ; i+4 <= len(vals); i += 4 {
		v := vals[i : i+4 : i+4]
		if !(v[0] < w && v[1] < w && v[2] < w && v[3] < w) {
			break
		}
	}
	for i < len(vals) && vals[i] < w {
		i++
	}
	return i
}

// skipAbove is skipBelow for values above w.
func skipAbove[T int32 | int64 | float64](vals []T, i int, w T) int {
	for ; i+4 <= len(vals); i += 4 {
		v := vals[i : i+4 : i+4]
		if !(v[0] > w && v[1] > w && v[2] > w && v[3] > w) {
			break
		}
	}
	for i < len(vals) && vals[i] > w {
		i++
	}
	return i
}

// nullableSkipper is skipper for a column with NULLs, which stop the scan.
func nullableSkipper[T int32 | int64 | float64](vals []T, a arrow.Array, desc bool, conv func(types.Datum) (T, bool)) func(from, n int, worst types.Datum) int {
	return func(i, n int, worst types.Datum) int {
		w, ok := conv(worst)
		if !ok {
			return i
		}
		for ; i < n; i++ {
			if a.IsNull(i) || vals[i] != vals[i] { // NULL or NaN
				return i
			}
			if desc {
				if vals[i] >= w {
					return i
				}
			} else if vals[i] <= w {
				return i
			}
		}
		return n
	}
}

func allRows(n int) []int {
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	return rows
}
