package physical

import (
	"context"
	"slices"
	"strings"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// An index scan replaces a table scan under a filter when the filter's
// conjuncts bound the leading columns of an index (column = constant or
// parameter, IN lists, ranges, IS NULL) and the estimated rows it finds
// are few next to the table's. The filter stays above the index scan:
// the index narrows the rows, the filter still decides.

// indexCost weighs a row found through the index against a row read by
// a scan: each is gathered from wherever it lies rather than read in
// column order. Measured on a 1M-row table: a range through the index
// beat a scan up to about 2% of the rows.
const indexCost = 40

// indexProbeCost weighs one lookup of an index join against a row a hash
// join reads: on a 1M-row table, index joins won up to about 10K probes.
const indexProbeCost = 100

// maxIndexRanges bounds the key ranges one scan probes (IN lists of
// several columns multiply).
const maxIndexRanges = 4096

// columnBounds collects what the conjuncts say about one table column.
type columnBounds struct {
	eq      [][]byte // each alternative value, encoded (IN lists give several)
	eqSet   bool     // eq holds the column's possible values
	lo, hi  []byte   // encoded start key (inclusive) and end key (exclusive) of a range
	loSet   bool
	hiSet   bool
	none    bool // a conjunct no row meets (a comparison with NULL)
	matched []logical.Expr
}

// IndexChoice is an index and the key ranges a condition reads of it.
type IndexChoice struct {
	Def    index.Def
	Ranges []exec.KeyRange
	// Used are the conjuncts the ranges stand for; Rows estimates the rows
	// they find.
	Used []logical.Expr
	Rows float64
	// EqPrefix counts leading columns fixed to one value each.
	EqPrefix int
}

// boundsOf reads the conjuncts of cond that bound columns of scan,
// keyed by table column ordinal.
func (b *Builder) boundsOf(scan *logical.Scan, cond logical.Expr) map[int]*columnBounds {
	ord := map[logical.ColumnID]int{}
	for i, c := range scan.Cols {
		ord[c.ID] = scan.Ords[i]
	}
	out := map[int]*columnBounds{}
	get := func(c int) *columnBounds {
		if out[c] == nil {
			out[c] = &columnBounds{}
		}
		return out[c]
	}
	colOf := func(e logical.Expr) (int, types.T, bool) {
		r, ok := plainColumn(e)
		if !ok {
			return 0, types.T{}, false
		}
		c, ok := ord[r.Col.ID]
		return c, scan.Table.Columns[c].Type, ok && index.Supported(scan.Table.Columns[c].Type)
	}
	for _, conj := range logical.SplitAnd(cond) {
		switch x := conj.(type) {
		case *logical.Call:
			c, op, v, ok := indexComparison(x, colOf)
			if !ok {
				continue
			}
			ct := scan.Table.Columns[c].Type
			if !index.Comparable(ct, v.Type()) {
				continue
			}
			d, err := b.evalRowFree(context.Background(), v)
			if err != nil {
				continue // the filter reports it
			}
			cb := get(c)
			cb.matched = append(cb.matched, conj)
			if d == nil {
				cb.none = true
				continue
			}
			key, ok := index.AppendDatum(nil, ct, d)
			if !ok {
				cb.matched = cb.matched[:len(cb.matched)-1]
				continue
			}
			cb.add(op, key)
		case *logical.Bool:
			c, keys, ok := b.inList(x, colOf, scan)
			if !ok {
				continue
			}
			cb := get(c)
			cb.matched = append(cb.matched, conj)
			cb.intersect(keys)
		case *logical.IsNull:
			if c, _, ok := colOf(x.Arg); ok && x.Truth == nil && !x.Negate {
				cb := get(c)
				cb.matched = append(cb.matched, conj)
				cb.intersect([][]byte{index.AppendNull(nil)})
			}
		}
	}
	return out
}

// plainColumn sees through casts that keep a column's order and
// equality, which the binder puts on a column compared with a wider type
// (an int column with a bigint parameter, a varchar with text).
func plainColumn(e logical.Expr) (*logical.ColRef, bool) {
	for {
		switch x := e.(type) {
		case *logical.ColRef:
			return x, true
		case *logical.Cast:
			if !widening(x.Arg.Type(), x.To) {
				return nil, false
			}
			e = x.Arg
		default:
			return nil, false
		}
	}
}

// widening reports whether every value of from converts to a distinct
// value of to in the same order, without failing.
func widening(from, to types.T) bool {
	width := map[types.Kind]int{types.Int2: 2, types.Int4: 4, types.Int8: 8}
	if wf, ok := width[from.Kind]; ok {
		wt, ok := width[to.Kind]
		return ok && wt >= wf
	}
	return (from.Kind == types.Varchar || from.Kind == types.Text) && to.Kind == types.Text
}

// comparison matches column op row-free-expression in either order.
func indexComparison(x *logical.Call, colOf func(logical.Expr) (int, types.T, bool)) (col int, op string, v logical.Expr, ok bool) {
	if len(x.Args) != 2 {
		return 0, "", nil, false
	}
	flip := map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
	if _, known := flip[x.Name]; !known {
		return 0, "", nil, false
	}
	// records order by field, not as their keys (their text) do
	ordered := func(t types.T) bool { return x.Name == "=" || !t.IsRecord() }
	if c, t, ok := colOf(x.Args[0]); ok && rowFree(x.Args[1]) && ordered(t) {
		return c, x.Name, x.Args[1], true
	}
	if c, t, ok := colOf(x.Args[1]); ok && rowFree(x.Args[0]) && ordered(t) {
		return c, flip[x.Name], x.Args[0], true
	}
	return 0, "", nil, false
}

// inList matches an OR of equalities of one column with row-free values
// (what IN (…) binds to), returning their encoded keys.
func (b *Builder) inList(x *logical.Bool, colOf func(logical.Expr) (int, types.T, bool), scan *logical.Scan) (int, [][]byte, bool) {
	if x.And || len(x.Args) == 0 {
		return 0, nil, false
	}
	col := -1
	var keys [][]byte
	for _, a := range x.Args {
		call, ok := a.(*logical.Call)
		if !ok {
			return 0, nil, false
		}
		c, op, v, ok := indexComparison(call, colOf)
		if !ok || op != "=" || (col >= 0 && c != col) {
			return 0, nil, false
		}
		col = c
		ct := scan.Table.Columns[c].Type
		if !index.Comparable(ct, v.Type()) {
			return 0, nil, false
		}
		d, err := b.evalRowFree(context.Background(), v)
		if err != nil {
			return 0, nil, false
		}
		if d == nil {
			continue // x = NULL is never true
		}
		key, ok := index.AppendDatum(nil, ct, d)
		if !ok {
			return 0, nil, false
		}
		keys = append(keys, key)
	}
	return col, keys, true
}

// rowFree reports whether e can be evaluated once, before reading rows:
// constants, parameters and stable functions of them.
func rowFree(e logical.Expr) bool {
	free := true
	logical.Walk(e, func(x logical.Expr) bool {
		switch y := x.(type) {
		case *logical.ColRef, *logical.OuterRef, *logical.Subquery:
			free = false
		case *logical.Call:
			if y.Volatile {
				free = false
			}
		}
		return free
	})
	return free
}

func (cb *columnBounds) add(op string, key []byte) {
	switch op {
	case "=":
		cb.intersect([][]byte{key})
	case ">":
		cb.raiseLo([]byte(index.PrefixEnd(string(key))))
	case ">=":
		cb.raiseLo(key)
	case "<":
		cb.lowerHi(key)
	case "<=":
		cb.lowerHi([]byte(index.PrefixEnd(string(key))))
	}
}

func (cb *columnBounds) raiseLo(k []byte) {
	if !cb.loSet || string(k) > string(cb.lo) {
		cb.lo = k
	}
	cb.loSet = true
}

func (cb *columnBounds) lowerHi(k []byte) {
	if len(k) == 0 {
		return // no end
	}
	if !cb.hiSet || string(k) < string(cb.hi) {
		cb.hi = k
	}
	cb.hiSet = true
}

// intersect narrows the column's possible values to keys.
func (cb *columnBounds) intersect(keys [][]byte) {
	slices.SortFunc(keys, func(a, b []byte) int { return strings.Compare(string(a), string(b)) })
	keys = slices.CompactFunc(keys, func(a, b []byte) bool { return string(a) == string(b) })
	if !cb.eqSet {
		cb.eq, cb.eqSet = keys, true
		return
	}
	var both [][]byte
	for _, k := range keys {
		if slices.ContainsFunc(cb.eq, func(e []byte) bool { return string(e) == string(k) }) {
			both = append(both, k)
		}
	}
	cb.eq = both
}

// rangesFor turns the bounds on def's leading columns into key ranges;
// ok is false when they do not bound its first column.
func rangesFor(def index.Def, bounds map[int]*columnBounds) (choice IndexChoice, ok bool) {
	prefixes := []string{""}
	choice.Def = def
	for k, c := range def.Columns {
		cb := bounds[c]
		if cb == nil {
			break
		}
		if cb.none {
			choice.Used = append(choice.Used, cb.matched...)
			return choice, true // no ranges: no rows
		}
		if cb.eqSet {
			if len(prefixes)*len(cb.eq) > maxIndexRanges {
				break
			}
			var next []string
			for _, p := range prefixes {
				for _, v := range cb.eq {
					if inRange(v, cb) {
						next = append(next, p+string(v))
					}
				}
			}
			prefixes = next
			choice.Used = append(choice.Used, cb.matched...)
			if len(cb.eq) == 1 {
				choice.EqPrefix = k + 1
			}
			if len(prefixes) == 0 {
				return choice, true
			}
			continue
		}
		if cb.loSet || cb.hiSet {
			for _, p := range prefixes {
				lo, hi := index.ValuesStart(p), index.ValuesEnd(p)
				if cb.loSet && p+string(cb.lo) > lo {
					lo = p + string(cb.lo)
				}
				if cb.hiSet && p+string(cb.hi) < hi {
					hi = p + string(cb.hi)
				}
				if lo < hi {
					choice.Ranges = append(choice.Ranges, exec.KeyRange{Lo: lo, Hi: hi})
				}
			}
			choice.Used = append(choice.Used, cb.matched...)
			return choice, true
		}
		break
	}
	if len(choice.Used) == 0 {
		return choice, false
	}
	for _, p := range prefixes {
		choice.Ranges = append(choice.Ranges, exec.KeyRange{Lo: p, Hi: index.PrefixEnd(p)})
	}
	return choice, true
}

// inRange reports whether an equality's value also meets the column's
// range bounds.
func inRange(v []byte, cb *columnBounds) bool {
	return (!cb.loSet || string(v) >= string(cb.lo)) && (!cb.hiSet || string(v) < string(cb.hi))
}

// ChooseIndex picks the index of scan's table that reads the fewest rows
// of snap for cond, if reading them through it is cheaper than a scan.
// Where the statistics cannot tell (a range: they keep no histogram) the
// index itself counts the entries in the ranges, up to the count at which
// a scan is cheaper anyway.
func (b *Builder) ChooseIndex(scan *logical.Scan, cond logical.Expr, snap *catalog.Snapshot) (IndexChoice, bool) {
	if b.NoIndexScan {
		return IndexChoice{}, false
	}
	bounds := b.boundsOf(scan, cond)
	if len(bounds) == 0 {
		return IndexChoice{}, false
	}
	tableRows := float64(snap.NumRows())
	pays := func(c IndexChoice) bool { return c.Rows*indexCost+float64(len(c.Ranges)) < tableRows }
	var best IndexChoice
	found := false
	for _, def := range scan.Table.IndexDefs() {
		c, ok := rangesFor(def, bounds)
		if !ok {
			continue
		}
		c.Rows = b.estimateRows(&logical.Filter{Input: scan, Cond: logical.JoinAnd(c.Used)})
		if def.Unique && c.EqPrefix == len(def.Columns) {
			c.Rows = min(c.Rows, float64(len(c.Ranges)))
		}
		if !pays(c) {
			ix := snap.Index(def)
			if ix == nil {
				continue
			}
			c.Rows = float64(countInRanges(ix, c.Ranges, int(tableRows/indexCost)+1))
		}
		if !found || c.Rows < best.Rows || (c.Rows == best.Rows && len(c.Used) > len(best.Used)) {
			best, found = c, true
		}
	}
	if !found || !pays(best) {
		return IndexChoice{}, false
	}
	return best, true
}

// countInRanges counts the entries of ix in ranges, stopping at limit.
func countInRanges(ix *index.Index, ranges []exec.KeyRange, limit int) int {
	n := 0
	for _, r := range ranges {
		ix.Tree.Ascend(r.Lo, r.Hi, func(index.Entry) bool {
			n++
			return n < limit
		})
		if n >= limit {
			break
		}
	}
	return n
}

// tableRows is the row count the scan's statistics give.
func (b *Builder) tableRows(scan *logical.Scan) float64 {
	return b.estimateRows(scan)
}

// snapshotOf is the data a scan of t reads, kept until Release.
func (b *Builder) snapshotOf(t *catalog.Table) *catalog.Snapshot {
	var snap *catalog.Snapshot
	if b.TableData != nil {
		snap = b.TableData(t)
	} else {
		snap = t.Snapshot()
	}
	b.snapshots = append(b.snapshots, snap)
	return snap
}

// indexScan builds the scan of choice's ranges (nil when the snapshot
// cannot be indexed).
func (b *Builder) indexScan(scan *logical.Scan, choice IndexChoice, ordered bool) *exec.IndexScan {
	snap := b.snapshotOf(scan.Table)
	ix := snap.Index(choice.Def)
	if ix == nil {
		return nil
	}
	conds := make([]string, len(choice.Used))
	for i, u := range choice.Used {
		conds[i] = u.String()
		if x, err := b.Compile(u, scan.Columns()); err == nil {
			conds[i] = x.String() // as the filter shows it
		}
	}
	return &exec.IndexScan{Env: b.Env, IndexName: choice.Def.Name, Table: scan.Table.Name, Index: ix,
		Ranges: choice.Ranges, Parts: snap.Parts, Columns: scan.Ords, Out: b.schema(scan.Cols),
		Ordered: ordered, Cond: strings.Join(conds, " AND ")}
}

// buildFilteredScan is a filter over a scan: through an index when one
// pays.
func (b *Builder) buildFilteredScan(n *logical.Filter, scan *logical.Scan) (exec.Operator, bool, error) {
	choice, ok := b.ChooseIndex(scan, n.Cond, b.snapshotOf(scan.Table))
	if !ok {
		return nil, false, nil
	}
	is := b.indexScan(scan, choice, false)
	if is == nil {
		return nil, false, nil
	}
	pred, err := b.Compile(n.Cond, scan.Columns())
	if err != nil {
		return nil, false, err
	}
	return &exec.Filter{Env: b.Env, Input: is, Pred: pred}, true, nil
}

// buildIndexOrderedLimit answers ORDER BY … LIMIT n by walking an index
// in order, when the sort keys are the index's columns (after any that
// the filter fixes to one value), ascending with NULLs last, over a scan
// of the table with at most a filter and a projection between: the first
// n rows that pass the filter are the answer, with no sort.
func (b *Builder) buildIndexOrderedLimit(n *logical.Limit, s *logical.Sort) (exec.Operator, bool, error) {
	proj, _ := s.Input.(*logical.Project)
	below := s.Input
	if proj != nil {
		below = proj.Input
	}
	filter, _ := below.(*logical.Filter)
	if filter != nil {
		below = filter.Input
	}
	scan, ok := below.(*logical.Scan)
	if !ok || b.NoIndexScan {
		return nil, false, nil
	}
	keyOrds, reverse, ok := sortOrdinals(s, proj, scan)
	if !ok {
		return nil, false, nil
	}
	tableRows := b.tableRows(scan)
	var bounds map[int]*columnBounds
	matchRows := tableRows
	if filter != nil {
		bounds = b.boundsOf(scan, filter.Cond)
		matchRows = b.estimateRows(filter)
	}
	for _, def := range scan.Table.IndexDefs() {
		choice, ok := rangesFor(def, bounds)
		if !ok {
			choice = IndexChoice{Def: def, Ranges: []exec.KeyRange{{}}, Rows: tableRows}
		} else {
			choice.Rows = b.estimateRows(&logical.Filter{Input: scan, Cond: logical.JoinAnd(choice.Used)})
		}
		// ranges come in key order, so several keep the index's order
		// only where the sort starts at its first column
		if !orderedBy(def, keyOrds, 0) && (len(choice.Ranges) > 1 || !orderedBy(def, keyOrds, choice.EqPrefix)) {
			continue
		}
		passing := matchRows / max(choice.Rows, 1)
		scanned := float64(n.Count+n.Offset) / max(passing, 1e-9)
		if scanned*indexCost >= tableRows {
			continue
		}
		is := b.indexScan(scan, choice, true)
		if is == nil {
			return nil, false, nil
		}
		is.Reverse = reverse
		var op exec.Operator = is
		if filter != nil {
			pred, err := b.Compile(filter.Cond, scan.Columns())
			if err != nil {
				return nil, false, err
			}
			op = &exec.Filter{Env: b.Env, Input: op, Pred: pred}
		}
		if proj != nil {
			exprs, err := b.compileAll(proj.Exprs, proj.Input.Columns())
			if err != nil {
				return nil, false, err
			}
			op = &exec.Project{Env: b.Env, Input: op, Exprs: exprs, Out: b.schema(proj.Cols)}
		}
		return &exec.Limit{Input: op, Count: n.Count, Offset: n.Offset}, true, nil
	}
	return nil, false, nil
}

// sortOrdinals maps sort keys that read plain columns of scan (through
// proj, if any) to table column ordinals. The keys must all follow the
// index's order (ascending, NULLs last) or all its reverse (descending,
// NULLs first: reverse is true then).
func sortOrdinals(s *logical.Sort, proj *logical.Project, scan *logical.Scan) (ords []int, reverse, ok bool) {
	ord := map[logical.ColumnID]int{}
	for i, c := range scan.Cols {
		ord[c.ID] = scan.Ords[i]
	}
	out := make([]int, 0, len(s.Keys))
	for i, k := range s.Keys {
		if k.Desc != k.NullsFirst || (i > 0 && k.Desc != reverse) {
			return nil, false, false
		}
		reverse = k.Desc
		r, ok := k.Expr.(*logical.ColRef)
		if !ok {
			return nil, false, false
		}
		if proj != nil {
			i := slices.IndexFunc(proj.Cols, func(c logical.Column) bool { return c.ID == r.Col.ID })
			if i < 0 {
				return nil, false, false
			}
			if r, ok = proj.Exprs[i].(*logical.ColRef); !ok {
				return nil, false, false
			}
		}
		c, ok := ord[r.Col.ID]
		if !ok {
			return nil, false, false
		}
		out = append(out, c)
	}
	return out, reverse, true
}

// orderedBy reports whether def's order, after its first skip columns
// (each fixed to one value), is the order of keyOrds.
func orderedBy(def index.Def, keyOrds []int, eqPrefix int) bool {
	for skip := 0; skip <= eqPrefix; skip++ {
		if skip+len(keyOrds) <= len(def.Columns) && slices.Equal(def.Columns[skip:skip+len(keyOrds)], keyOrds) {
			return true
		}
	}
	return false
}

// IndexedBatches lists, in order, the batches of snap that may hold rows
// of scan meeting cond, found through an index when one pays (ok false:
// every batch must be read). An UPDATE or DELETE rewrites only these.
func (b *Builder) IndexedBatches(scan *logical.Scan, cond logical.Expr, snap *catalog.Snapshot) ([]catalog.BatchPos, bool) {
	rows, ok := b.IndexedRows(scan, cond, snap)
	if !ok {
		return nil, false
	}
	out := make([]catalog.BatchPos, len(rows))
	for i, r := range rows {
		out[i] = r.Pos
	}
	return out, true
}

// BatchRows are rows of one batch, in ascending order.
type BatchRows struct {
	Pos  catalog.BatchPos
	Rows []int
}

// IndexedRows is IndexedBatches with the rows in each batch the index
// found (the only ones that may meet cond).
func (b *Builder) IndexedRows(scan *logical.Scan, cond logical.Expr, snap *catalog.Snapshot) ([]BatchRows, bool) {
	choice, ok := b.ChooseIndex(scan, cond, snap)
	if !ok {
		return nil, false
	}
	ix := snap.Index(choice.Def)
	if ix == nil {
		return nil, false
	}
	seen := map[catalog.BatchPos]map[int]bool{}
	for _, r := range choice.Ranges {
		ix.Tree.Ascend(r.Lo, r.Hi, func(e index.Entry) bool {
			pos := catalog.BatchPos{Part: e.Loc.Part(), Batch: e.Loc.Batch()}
			if seen[pos] == nil {
				seen[pos] = map[int]bool{}
			}
			seen[pos][e.Loc.Row()] = true
			return true
		})
	}
	out := make([]BatchRows, 0, len(seen))
	for p, rows := range seen {
		br := BatchRows{Pos: p, Rows: make([]int, 0, len(rows))}
		for r := range rows {
			br.Rows = append(br.Rows, r)
		}
		slices.Sort(br.Rows)
		out = append(out, br)
	}
	slices.SortFunc(out, func(x, y BatchRows) int {
		if x.Pos.Part != y.Pos.Part {
			return x.Pos.Part - y.Pos.Part
		}
		return x.Pos.Batch - y.Pos.Batch
	})
	return out, true
}
