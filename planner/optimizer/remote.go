package optimizer

import (
	"slices"
	"strings"

	"github.com/weftdb/weft/datafile"
	"github.com/weftdb/weft/pgsource"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/types"
)

// pushIntoRemote hands the conjuncts a PostgreSQL source can evaluate
// exactly as Weft would to the remote server and keeps the rest here.
func pushIntoRemote(r *logical.RemoteScan, preds []logical.Expr) logical.Plan {
	ords := map[logical.ColumnID]int{}
	for i, c := range r.Cols {
		ords[c.ID] = r.Ords[i]
	}
	var keep []logical.Expr
	filters := append([]string(nil), r.Filters...)
	for _, p := range preds {
		if sql, ok := remoteSQL(p, r.Source, ords); ok {
			filters = append(filters, sql)
		} else {
			keep = append(keep, p)
		}
	}
	return wrap(&logical.RemoteScan{Source: r.Source, Cols: r.Cols, Ords: r.Ords, Filters: filters}, keep)
}

// remoteSQL renders e as PostgreSQL SQL over the source's columns when its
// meaning there is certainly the same: comparisons, AND/OR/NOT, IS [NOT]
// NULL and LIKE over columns read exactly and plain literals. Text is only
// compared for (in)equality and LIKE, since ordering depends on the remote
// collation.
func remoteSQL(e logical.Expr, src *pgsource.Source, ords map[logical.ColumnID]int) (string, bool) {
	switch x := e.(type) {
	case *logical.ColRef:
		o, ok := ords[x.Col.ID]
		if !ok || src.Cast[o] || x.Col.T.Kind == types.Char {
			return "", false
		}
		return pgsource.ColumnRef(o), true
	case *logical.Const:
		return remoteLiteral(x)
	case *logical.Cast:
		from, to := x.Arg.Type(), x.To
		widening := from.IsInteger() && (to.IsNumber() && to.Kind >= from.Kind) || from.Kind == types.Float4 && to.Kind == types.Float8
		if !widening {
			return "", false
		}
		arg, ok := remoteSQL(x.Arg, src, ords)
		if !ok {
			return "", false
		}
		return "CAST(" + arg + " AS " + to.String() + ")", true
	case *logical.Bool:
		parts := make([]string, len(x.Args))
		for i, a := range x.Args {
			s, ok := remoteSQL(a, src, ords)
			if !ok {
				return "", false
			}
			parts[i] = s
		}
		op := " OR "
		if x.And {
			op = " AND "
		}
		return "(" + strings.Join(parts, op) + ")", true
	case *logical.Not:
		s, ok := remoteSQL(x.Arg, src, ords)
		return "(NOT " + s + ")", ok
	case *logical.IsNull:
		s, ok := remoteSQL(x.Arg, src, ords)
		if !ok {
			return "", false
		}
		test := "NULL"
		if x.Truth != nil {
			test = map[bool]string{true: "TRUE", false: "FALSE"}[*x.Truth]
		}
		if x.Negate {
			test = "NOT " + test
		}
		return "(" + s + " IS " + test + ")", true
	case *logical.Call:
		if !x.Infix || len(x.Args) != 2 || x.Volatile {
			return "", false
		}
		switch x.Name {
		case "=", "<>":
		case "<", "<=", ">", ">=":
			if x.Args[0].Type().IsString() || x.Args[1].Type().IsString() {
				return "", false
			}
		case "LIKE", "NOT LIKE":
		default:
			return "", false
		}
		l, ok1 := remoteSQL(x.Args[0], src, ords)
		r, ok2 := remoteSQL(x.Args[1], src, ords)
		if !ok1 || !ok2 {
			return "", false
		}
		return "(" + l + " " + x.Name + " " + r + ")", true
	}
	return "", false
}

// remoteLiteral renders a constant as a typed literal.
func remoteLiteral(c *logical.Const) (string, bool) {
	if c.Value == nil {
		return "", false
	}
	switch c.T.Kind {
	case types.Bool, types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Numeric,
		types.Text, types.Varchar, types.Date, types.Timestamp, types.Interval:
	default:
		// timestamptz and time literals depend on session settings
		return "", false
	}
	return pgsource.QuoteLiteral(types.Format(c.T, c.Value)) + "::" + c.T.String(), true
}

// pushIntoFileScan gives a Parquet scan the conjuncts "column op constant"
// for skipping row groups on their statistics. The filter stays above the
// scan: statistics only rule whole groups out.
func pushIntoFileScan(f *logical.FileScan, preds []logical.Expr) logical.Plan {
	if f.Source.Format != "parquet" {
		return wrap(f, preds)
	}
	ords := map[logical.ColumnID]int{}
	for i, c := range f.Cols {
		ords[c.ID] = f.Ords[i]
	}
	ranges := append([]datafile.Range(nil), f.Ranges...)
	for _, p := range preds {
		if r, ok := statsRange(p, ords); ok {
			ranges = append(ranges, r)
		}
	}
	return wrap(&logical.FileScan{Source: f.Source, Cols: f.Cols, Ords: f.Ords, Ranges: ranges}, preds)
}

// pushIntoScan gives a table scan the conjuncts "column op constant" for
// skipping stored segments on their zone maps. The filter stays above the
// scan: zone maps only rule whole segments out.
func pushIntoScan(s *logical.Scan, preds []logical.Expr) logical.Plan {
	ords := map[logical.ColumnID]int{}
	for i, c := range s.Cols {
		ords[c.ID] = s.Ords[i]
	}
	ranges := append([]datafile.Range(nil), s.Ranges...)
	for _, p := range preds {
		if r, ok := statsRange(p, ords); ok && !slices.Contains(ranges, r) {
			ranges = append(ranges, r)
		}
	}
	if len(ranges) == len(s.Ranges) {
		return wrap(s, preds)
	}
	return wrap(&logical.Scan{Table: s.Table, Cols: s.Cols, Ords: s.Ords, Ranges: ranges}, preds)
}

var flipped = map[string]string{"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// statsRange recognises "column op constant" (either way round).
func statsRange(e logical.Expr, ords map[logical.ColumnID]int) (datafile.Range, bool) {
	call, ok := e.(*logical.Call)
	if !ok || !call.Infix || len(call.Args) != 2 {
		return datafile.Range{}, false
	}
	op, ok := flipped[call.Name]
	if !ok {
		return datafile.Range{}, false
	}
	col, c := call.Args[0], call.Args[1]
	if _, isConst := col.(*logical.Const); isConst {
		col, c = c, col
	} else {
		op = call.Name
	}
	ref, ok1 := col.(*logical.ColRef)
	k, ok2 := c.(*logical.Const)
	if !ok1 || !ok2 || k.Value == nil {
		return datafile.Range{}, false
	}
	o, ok := ords[ref.Col.ID]
	if !ok {
		return datafile.Range{}, false
	}
	switch ref.Col.T.Kind {
	case types.Int2, types.Int4, types.Int8, types.Float4, types.Float8, types.Text, types.Varchar, types.Date, types.Timestamp, types.TimestampTZ:
	default:
		return datafile.Range{}, false
	}
	if ref.Col.T.IsRecord() {
		return datafile.Range{}, false // records order by field, not by their text
	}
	if ref.Col.T.Kind != k.T.Kind && !(ref.Col.T.IsString() && k.T.IsString()) {
		return datafile.Range{}, false
	}
	return datafile.Range{Col: o, Op: op, Value: k.Value}, true
}
