package exec

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// SubqueryKind says how a subquery's rows become a value.
type SubqueryKind int

const (
	ScalarSubquery     SubqueryKind = iota // the single value of a one-row result
	ExistsSubquery                         // whether any row exists
	AnySubquery                            // test op ANY (rows); IN is = ANY
	AllSubquery                            // test op ALL (rows)
	ArraySubquery                          // ARRAY(rows): an array of the rows' values
	RowCompareSubquery                     // (a, b) op (SELECT x, y): the one row's fields compared
)

// SubqueryExpr evaluates a nested plan. An uncorrelated subquery runs once
// per query; a correlated one runs per distinct combination of the outer
// values it references (bound into OuterSlots).
type SubqueryExpr struct {
	Kind       SubqueryKind
	Plan       Operator
	Outer      []Expr // outer-row expressions feeding the subquery's parameters
	OuterSlots []int
	Test       Expr // ANY/ALL left operand
	Op         CmpOp
	CmpT       types.T // type both sides of the comparison have
	// RowTests, RowCmpTs: a row on the left ((a, b) IN (SELECT x, y)),
	// compared field by field with the subquery's columns (Test is nil)
	RowTests []Expr
	RowCmpTs []types.T
	T        types.T
	// Volatile subqueries (random(), nextval(), a table function) run
	// again for every outer row, as PostgreSQL runs a correlated subplan:
	// rows with equal outer values must not share one result. (An
	// uncorrelated one runs once, as PostgreSQL's InitPlan.)
	Volatile bool

	mu    sync.Mutex
	cache map[string]types.Datum
}

func (e *SubqueryExpr) Type() types.T { return e.T }
func (e *SubqueryExpr) String() string {
	switch e.Kind {
	case ExistsSubquery:
		return "EXISTS(subquery)"
	case AnySubquery:
		return e.testString() + " " + string(e.Op) + " ANY(subquery)"
	case AllSubquery:
		return e.testString() + " " + string(e.Op) + " ALL(subquery)"
	case RowCompareSubquery:
		return e.testString() + " " + string(e.Op) + " (subquery)"
	}
	return "(subquery)"
}

func (e *SubqueryExpr) testString() string {
	if e.Test != nil {
		return e.Test.String()
	}
	parts := make([]string, len(e.RowTests))
	for i, t := range e.RowTests {
		parts[i] = t.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// rowTuple is one row of a subquery compared as a row: its fields.
type rowTuple []types.Datum

// rows runs the plan with the given outer bindings and returns its first
// column's values (at most limit of them when limit > 0).
func (e *SubqueryExpr) rows(ctx context.Context, outer []types.Datum, limit int) ([]types.Datum, error) {
	ctx = WithOuter(ctx, outer)
	var out []types.Datum
	for p := 0; p < e.Plan.Partitions(); p++ {
		st, err := e.Plan.Open(ctx, p)
		if err != nil {
			return nil, err
		}
		for {
			b, err := st.Next(ctx)
			if err != nil {
				st.Close()
				if isEOF(err) {
					break
				}
				return nil, err
			}
			for i := 0; i < int(b.NumRows()); i++ {
				switch {
				case len(e.RowTests) > 0:
					row := make(rowTuple, len(e.RowTests))
					for c := range row {
						row[c] = DatumAt(b.Column(c), i)
					}
					out = append(out, row)
				case b.NumCols() > 0:
					out = append(out, DatumAt(b.Column(0), i))
				default:
					out = append(out, true)
				}
			}
			b.Release()
			if limit > 0 && len(out) >= limit {
				st.Close()
				return out, nil
			}
		}
	}
	return out, nil
}

// value computes the subquery's result for one outer binding (the test value
// is consulted by ANY/ALL later).
func (e *SubqueryExpr) resultSet(ctx context.Context, outer []types.Datum) ([]types.Datum, error) {
	switch e.Kind {
	case ExistsSubquery:
		return e.rows(ctx, outer, 1)
	case ScalarSubquery, RowCompareSubquery:
		vals, err := e.rows(ctx, outer, 2)
		if err != nil {
			return nil, err
		}
		if len(vals) > 1 {
			return nil, sqlerr.New(sqlerr.CardinalityViolation, "more than one row returned by a subquery used as an expression")
		}
		return vals, nil
	}
	return e.rows(ctx, outer, 0)
}

func (e *SubqueryExpr) Eval(ec *EvalContext, b arrow.Record) (arrow.Array, error) {
	n := int(b.NumRows())
	outerArrs, err := evalAll(ec, b, e.Outer)
	if err != nil {
		return nil, err
	}
	defer releaseAll(outerArrs)
	var test arrow.Array
	if e.Test != nil {
		if test, err = e.Test.Eval(ec, b); err != nil {
			return nil, err
		}
		defer test.Release()
	}
	rowTests, err := evalAll(ec, b, e.RowTests)
	if err != nil {
		return nil, err
	}
	defer releaseAll(rowTests)
	maxSlot := len(ec.Outer) - 1
	for _, s := range e.OuterSlots {
		maxSlot = max(maxSlot, s)
	}
	bld := newBuilder(ec, e.T)
	defer bld.Release()
	var key []byte
	kts := exprTypes(e.Outer)
	for i := 0; i < n; i++ {
		outer := make([]types.Datum, maxSlot+1)
		copy(outer, ec.Outer)
		for j, s := range e.OuterSlots {
			outer[s] = DatumAt(outerArrs[j], i)
		}
		key = encodeKey(key[:0], kts, outerArrs, i)
		set, err := e.cachedSet(ec.Ctx, string(key), outer)
		if err != nil {
			return nil, err
		}
		var tv types.Datum
		switch {
		case test != nil:
			tv = DatumAt(test, i)
		case len(rowTests) > 0:
			row := make(rowTuple, len(rowTests))
			for c, a := range rowTests {
				row[c] = DatumAt(a, i)
			}
			tv = row
		}
		AppendDatum(bld, e.combine(set, tv))
	}
	return bld.NewArray(), nil
}

type subResult struct{ vals []types.Datum }

func (e *SubqueryExpr) cachedSet(ctx context.Context, key string, outer []types.Datum) ([]types.Datum, error) {
	if e.Volatile && len(e.Outer) > 0 {
		return e.resultSet(ctx, outer)
	}
	if len(e.Outer) == 0 {
		return e.onceSet(ctx, outer)
	}
	e.mu.Lock()
	if e.cache == nil {
		e.cache = map[string]types.Datum{}
	}
	if v, ok := e.cache[key]; ok {
		e.mu.Unlock()
		return v.(subResult).vals, nil
	}
	e.mu.Unlock()
	vals, err := e.resultSet(ctx, outer)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cache[key] = subResult{vals}
	e.mu.Unlock()
	return vals, nil
}

// onceSet is the result of an uncorrelated subquery, computed by the
// first partition to need it while the others wait: each computing its
// own would run a volatile one (random(), nextval()) several times in
// one statement, where PostgreSQL runs it once.
func (e *SubqueryExpr) onceSet(ctx context.Context, outer []types.Datum) ([]types.Datum, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cache == nil {
		e.cache = map[string]types.Datum{}
	}
	if v, ok := e.cache[""]; ok {
		return v.(subResult).vals, nil
	}
	vals, err := e.resultSet(ctx, outer)
	if err != nil {
		return nil, err
	}
	e.cache[""] = subResult{vals}
	return vals, nil
}

func (e *SubqueryExpr) combine(set []types.Datum, test types.Datum) types.Datum {
	switch e.Kind {
	case ExistsSubquery:
		return len(set) > 0
	case ScalarSubquery:
		if len(set) == 0 {
			return nil
		}
		return set[0]
	case ArraySubquery:
		return append([]types.Datum{}, set...)
	case RowCompareSubquery:
		if len(set) == 0 {
			return nil
		}
		return rowHolds(e.Op, e.RowCmpTs, test.(rowTuple), set[0].(rowTuple))
	}
	if len(set) == 0 {
		return e.Kind == AllSubquery
	}
	if len(e.RowTests) > 0 {
		return e.combineRows(set, test.(rowTuple))
	}
	sawNull := test == nil
	for _, v := range set {
		if v == nil || test == nil {
			sawNull = true
			continue
		}
		ok := e.Op.holds(CompareDatums(e.CmpT, test, v))
		if e.Kind == AnySubquery && ok {
			return true
		}
		if e.Kind == AllSubquery && !ok {
			return false
		}
	}
	if sawNull {
		return nil
	}
	return e.Kind == AllSubquery
}

// combineRows is ANY or ALL over a non-empty set of rows: true, false,
// or unknown (nil) when no row decides it and some comparison was.
func (e *SubqueryExpr) combineRows(set []types.Datum, test rowTuple) types.Datum {
	sawNull := false
	for _, v := range set {
		switch rowHolds(e.Op, e.RowCmpTs, test, v.(rowTuple)) {
		case nil:
			sawNull = true
		case true:
			if e.Kind == AnySubquery {
				return true
			}
		case false:
			if e.Kind == AllSubquery {
				return false
			}
		}
	}
	if sawNull {
		return nil
	}
	return e.Kind == AllSubquery
}

// rowHolds compares rows l and r as PostgreSQL compares row
// constructors: = needs every pair of fields equal and <> one pair
// unequal (unknown, nil, when NULLs leave it open); < <= > >= are decided
// by the first pair that is not equal, and are unknown when a NULL comes
// first.
func rowHolds(op CmpOp, ts []types.T, l, r rowTuple) types.Datum {
	switch op {
	case "=", "<>", "!=":
		unknown := false
		for i := range l {
			if l[i] == nil || r[i] == nil {
				unknown = true
				continue
			}
			if CompareDatums(ts[i], l[i], r[i]) != 0 {
				return op != "="
			}
		}
		if unknown {
			return nil
		}
		return op == "="
	}
	for i := range l {
		if l[i] == nil || r[i] == nil {
			return nil
		}
		if c := CompareDatums(ts[i], l[i], r[i]); c != 0 {
			return op.holds(c)
		}
	}
	return op.holds(0)
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
