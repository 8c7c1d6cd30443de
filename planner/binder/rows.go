package binder

import (
	"sort"
	"strconv"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// rowForm is a row-valued expression taken apart into its fields, before
// binding: ROW(a, b) and (a, b) (fields f1, f2, …, a t.* among them
// expanded to t's columns), or a relation's whole-row reference t or t.*
// (its columns by name). The consumers that need the fields —
// row_to_json and its kin, IS [NOT] NULL, field selection, comparisons,
// ORDER BY — bind them one by one; anywhere else the row is a value in
// PostgreSQL's record text form (rowValue).
type rowForm struct {
	fields []*pg.Node
	names  []string
	// nullExtended marks the row of a relation on the null-extended side of
	// an outer join: NULL where no row matched (seen as every field NULL;
	// a matched row of NULLs is NULL too, the one case that differs from
	// PostgreSQL).
	nullExtended bool
}

// rowOf takes n apart when it is a row-valued expression in scope s.
func (b *Binder) rowOf(n *pg.Node, s *scope) (rowForm, bool) {
	if n == nil {
		return rowForm{}, false
	}
	switch x := n.Node.(type) {
	case *pg.Node_RowExpr:
		var f rowForm
		for _, a := range x.RowExpr.Args {
			if qual, ok := starQual(a); ok {
				cols, _, ok := b.wholeRowColumns(qual, s)
				if ok {
					for _, c := range cols {
						f.fields = append(f.fields, columnNode(qual, c))
					}
					continue
				}
			}
			f.fields = append(f.fields, a)
		}
		for i := range f.fields {
			f.names = append(f.names, "f"+strconv.Itoa(i+1))
		}
		return f, true
	case *pg.Node_ColumnRef:
		qual, ok := starQual(n)
		if !ok {
			qual, ok = relationName(x.ColumnRef, s)
		}
		if !ok {
			return rowForm{}, false
		}
		cols, nullable, ok := b.wholeRowColumns(qual, s)
		if !ok {
			return rowForm{}, false
		}
		f := rowForm{nullExtended: nullable}
		for _, c := range cols {
			f.fields = append(f.fields, columnNode(qual, c))
			f.names = append(f.names, c)
		}
		return f, true
	}
	return rowForm{}, false
}

// starQual is t of a column reference t.*.
func starQual(n *pg.Node) (string, bool) {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) != 2 || cr.Fields[1].GetAStar() == nil {
		return "", false
	}
	return strNode(cr.Fields[0]), true
}

// relationName is t when the one-part column reference t names no column
// in scope but a relation: PostgreSQL's whole-row reference (a column of
// that name wins).
func relationName(cr *pg.ColumnRef, s *scope) (string, bool) {
	if len(cr.Fields) != 1 || cr.Fields[0].GetString_() == nil {
		return "", false
	}
	name := strNode(cr.Fields[0])
	for sc := s; sc != nil; sc = sc.parent {
		if _, found, err := sc.lookup("", name); found || err != nil {
			return "", false
		}
	}
	return name, true
}

// wholeRowColumns are the column names of relation qual in the nearest
// scope that has it, in the relation's own order; nullable when the
// relation is the null-extended side of an outer join. The base-table
// columns are recorded as read without a ColumnRef naming them (a view
// over t's whole row depends on every column of t).
func (b *Binder) wholeRowColumns(qual string, s *scope) (names []string, nullable, ok bool) {
	for sc := s; sc != nil; sc = sc.parent {
		var items []scopeItem
		seen := map[logical.ColumnID]bool{}
		for _, it := range sc.items {
			if it.qual == qual && !seen[it.col.ID] {
				seen[it.col.ID] = true
				items = append(items, it)
				nullable = nullable || it.nullExtended
			}
		}
		if len(items) == 0 {
			continue
		}
		// JOIN … USING lists the joined columns first; a table's row keeps
		// its declared order
		if byAttnum(items) {
			sort.SliceStable(items, func(i, j int) bool { return items[i].col.Attnum < items[j].col.Attnum })
		}
		names = make([]string, len(items))
		for i, it := range items {
			names[i] = it.col.Name
		}
		b.recordImplicit(items...)
		return names, nullable, true
	}
	return nil, false, false
}

// byAttnum reports whether every item is a column of the same table.
func byAttnum(items []scopeItem) bool {
	for _, it := range items {
		if it.col.Attnum <= 0 || it.col.TableOID == 0 || it.col.TableOID != items[0].col.TableOID {
			return false
		}
	}
	return true
}

// columnNode is the reference qual.name standing for one field of a
// whole row; it has no location of its own (no text of the statement
// names the column, so none is recorded as naming it).
func columnNode(qual, name string) *pg.Node {
	return pg.MakeColumnRefNode([]*pg.Node{pg.MakeStrNode(qual), pg.MakeStrNode(name)}, -1)
}

// bindRowFields binds a row's fields, untyped literals as text.
func (b *Binder) bindRowFields(f rowForm, s *scope) ([]logical.Expr, error) {
	out, _, err := b.bindRowFieldsUntyped(f, s)
	return out, err
}

// bindRowFieldsUntyped is bindRowFields also saying which fields were
// untyped literals.
func (b *Binder) bindRowFieldsUntyped(f rowForm, s *scope) ([]logical.Expr, []bool, error) {
	out := make([]logical.Expr, len(f.fields))
	untyped := make([]bool, len(f.fields))
	for i, n := range f.fields {
		e, err := b.bindExpr(n, s)
		if err != nil {
			return nil, nil, err
		}
		untyped[i] = isUntypedLiteral(e)
		out[i] = b.resolveUnknown(e)
		if out[i].Type().Kind == types.Unknown {
			if out[i], err = b.coerce(out[i], types.TextT); err != nil {
				return nil, nil, err
			}
		}
	}
	return out, untyped, nil
}

// bindRowValue binds a row as a value: its record text form, typed record.
func (b *Binder) bindRowValue(f rowForm, s *scope) (logical.Expr, error) {
	args, untyped, err := b.bindRowFieldsUntyped(f, s)
	if err != nil {
		return nil, err
	}
	ts := make([]types.T, len(args))
	fields := make([]types.RecordField, len(args))
	for i, a := range args {
		ts[i] = a.Type()
		fields[i] = types.RecordField{Name: f.names[i], T: ts[i]}
		if untyped[i] {
			// PostgreSQL keeps a literal's type unknown in a row (the
			// binary record names it 705); its text is the same
			fields[i].T = types.T{Kind: types.Text, PG: 705}
		}
	}
	return &logical.Call{Name: "ROW", Args: args, Kernel: exec.RecordOutKernel(ts, f.nullExtended), T: types.RecordOf(fields)}, nil
}

// bindRowJSON binds a row as a JSON object of its fields (row_to_json,
// to_json, to_jsonb): a field that is itself a row nests as an object.
func (b *Binder) bindRowJSON(f rowForm, jt types.T, pretty bool, s *scope) (logical.Expr, error) {
	args := make([]logical.Expr, len(f.fields))
	ts := make([]types.T, len(f.fields))
	for i, n := range f.fields {
		if inner, ok := b.rowOf(n, s); ok {
			e, err := b.bindRowJSON(inner, types.JSONT, false, s)
			if err != nil {
				return nil, err
			}
			args[i], ts[i] = e, types.JSONT
			continue
		}
		e, err := b.bindRowFields(rowForm{fields: []*pg.Node{n}}, s)
		if err != nil {
			return nil, err
		}
		args[i], ts[i] = e[0], e[0].Type()
	}
	k, err := exec.RowToJSONKernel(f.names, ts, jt, pretty, f.nullExtended)
	if err != nil {
		return nil, err
	}
	return &logical.Call{Name: "row_to_json", Args: args, Kernel: k, T: jt}, nil
}

// bindRowJSONCall binds row_to_json(row [, pretty]), to_json(row) and
// to_jsonb(row); ok is false when fc is none of these over a row.
func (b *Binder) bindRowJSONCall(fc *pg.FuncCall, name string, s *scope) (logical.Expr, bool, error) {
	if len(fc.Args) == 0 || fc.AggStar || fc.AggDistinct || fc.Over != nil {
		return nil, false, nil
	}
	jt := types.JSONT
	switch {
	case name == "row_to_json" && len(fc.Args) <= 2:
	case name == "to_json" && len(fc.Args) == 1:
	case name == "to_jsonb" && len(fc.Args) == 1:
		jt = types.JSONBT
	default:
		return nil, false, nil
	}
	pretty := false
	if len(fc.Args) == 2 {
		p, err := b.bindExpr(fc.Args[1], s)
		if err != nil {
			return nil, true, err
		}
		c, isConst := p.(*logical.Const)
		if !isConst || c.Value == nil || c.T.Kind != types.Bool {
			return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "row_to_json's pretty argument must be a boolean constant").At(nodeLocation(fc.Args[1]))
		}
		pretty = c.Value.(bool)
	}
	f, ok := b.rowOf(fc.Args[0], s)
	if !ok {
		return b.recordColumnJSON(fc, name, pretty, s)
	}
	e, err := b.bindRowJSON(f, jt, pretty, s)
	if err != nil {
		return nil, true, sqlerr.Wrap(err).At(fc.Location)
	}
	return e, true, nil
}

// bindRowNullTest binds row IS [NOT] NULL as PostgreSQL defines it: IS
// NULL when every field is NULL, IS NOT NULL when none is (so a row with
// some NULL fields is neither).
func (b *Binder) bindRowNullTest(f rowForm, negate bool, s *scope) (logical.Expr, error) {
	args, err := b.bindRowFields(f, s)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return &logical.Const{Value: true, T: types.BoolT}, nil
	}
	terms := make([]logical.Expr, len(args))
	for i, a := range args {
		terms[i] = &logical.IsNull{Arg: a, Negate: negate}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return &logical.Bool{And: true, Args: terms}, nil
}

// rowField is field name of a row; ok is false when arg is not a row.
func (b *Binder) rowField(arg *pg.Node, name string, s *scope) (logical.Expr, bool, error) {
	f, ok := b.rowOf(arg, s)
	if !ok {
		return nil, false, nil
	}
	for i, n := range f.names {
		if n == name {
			e, err := b.bindRowFields(rowForm{fields: f.fields[i : i+1]}, s)
			if err != nil {
				return nil, true, err
			}
			return e[0], true, nil
		}
	}
	if _, isRowExpr := arg.Node.(*pg.Node_RowExpr); isRowExpr {
		return nil, true, sqlerr.New(sqlerr.UndefinedColumn, "could not identify column \"%s\" in record data type", name).At(nodeLocation(arg))
	}
	return nil, true, sqlerr.New(sqlerr.UndefinedColumn, "column %s.%s does not exist", strNode(arg.GetColumnRef().Fields[0]), name).At(nodeLocation(arg))
}

// recordColumnJSON binds row_to_json of a record value that is not a row
// constructor or whole-row reference (a subquery's row column) from the
// fields its type records; ok is false for arguments of other types (the
// ordinary function call says what is wrong), to_json and to_jsonb (whose
// ordinary kernels write records as objects).
func (b *Binder) recordColumnJSON(fc *pg.FuncCall, name string, pretty bool, s *scope) (logical.Expr, bool, error) {
	if name != "row_to_json" {
		return nil, false, nil
	}
	inner := *s
	inner.agg = nil
	inner.aggErr = "this context"
	arg, err := b.bindExpr(fc.Args[0], &inner)
	if err != nil || !arg.Type().IsRecord() {
		return nil, false, nil
	}
	if arg.Type().Record == "" {
		return nil, true, sqlerr.New(sqlerr.FeatureNotSupported, "row_to_json of this record value is not supported: its fields are not known").At(nodeLocation(fc.Args[0]))
	}
	return &logical.Call{Name: name, Args: []logical.Expr{arg}, Kernel: exec.RecordToJSONKernel(arg.Type(), pretty), T: types.JSONT}, true, nil
}

// recordColumnField is field name of a record value whose type records
// its fields; ok is false for other values.
func recordColumnField(rec logical.Expr, name string) (logical.Expr, bool, error) {
	fields := rec.Type().RecordFields()
	if !rec.Type().IsRecord() || fields == nil {
		return nil, false, nil
	}
	for i, f := range fields {
		if f.Name == name {
			t := f.T
			if t.PG == 705 {
				t = types.TextT // an untyped literal's field reads as text
			}
			return &logical.Call{Name: "(record)." + name, Args: []logical.Expr{rec}, Kernel: exec.RecordFieldOf(rec.Type(), i), T: t}, true, nil
		}
	}
	return nil, true, sqlerr.New(sqlerr.UndefinedColumn, "could not identify column \"%s\" in record data type", name)
}

// isUntypedLiteral reports whether e is a string literal or NULL given no
// type (bound as text).
func isUntypedLiteral(e logical.Expr) bool {
	if c, ok := e.(*logical.Cast); ok && !c.Explicit {
		e = c.Arg
	}
	c, ok := e.(*logical.Const)
	return ok && c.T.Kind == types.Unknown
}

// isFieldStar reports whether ind is (row).*.
func isFieldStar(ind *pg.A_Indirection) bool {
	return len(ind.Indirection) == 1 && ind.Indirection[0].GetAStar() != nil
}

// expandRowStar expands (row).* in a select list into the row's fields,
// each named after its field.
func (b *Binder) expandRowStar(ind *pg.A_Indirection, s *scope) ([]target, error) {
	if f, ok := b.rowOf(ind.Arg, s); ok {
		args, err := b.bindRowFields(f, s)
		if err != nil {
			return nil, err
		}
		out := make([]target, len(args))
		for i, a := range args {
			out[i] = target{expr: a, name: f.names[i]}
		}
		return out, nil
	}
	rec, err := b.bindExpr(ind.Arg, s)
	if err != nil {
		return nil, err
	}
	fields := rec.Type().RecordFields()
	if !rec.Type().IsRecord() || fields == nil {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "type %s is not composite", rec.Type()).At(nodeLocation(ind.Arg))
	}
	out := make([]target, len(fields))
	for i, f := range fields {
		e, _, err := recordColumnField(rec, f.Name)
		if err != nil {
			return nil, err
		}
		out[i] = target{expr: e, name: f.Name}
	}
	return out, nil
}
