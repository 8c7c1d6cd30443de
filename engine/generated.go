package engine

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Stored generated columns (GENERATED ALWAYS AS (expr) STORED): the
// expression over the row's other columns is kept as text in the catalog
// (catalog.Column.Generated) and every write computes it: INSERT through
// a projection over the rows it inserts, UPDATE and ON CONFLICT DO UPDATE
// by substituting the row's new values into it, COPY over the batches it
// read. Writing another value into such a column is 428C9, as in
// PostgreSQL; DEFAULT is allowed and means "computed".

// pendingGenerated is a generation expression as written, checked once
// the table exists.
type pendingGenerated struct {
	column int
	expr   *pg.Node
}

// generatedWhat names generation expressions in binder messages
// ("aggregate functions are not allowed in …").
const generatedWhat = "column generation expressions"

// checkGenerated binds each generation expression of a new table over its
// columns: it may read only columns that are not generated themselves,
// call no volatile function and hold no subquery (PostgreSQL's rules).
func (s *Session) checkGenerated(env *exec.Env, t *catalog.Table, pending []pendingGenerated) error {
	for _, p := range pending {
		b := s.binder(env)
		ts := b.BeginTable(t, "")
		e, err := b.BindIn(ts, p.expr, generatedWhat)
		if err != nil {
			return err
		}
		for id := range logical.ColumnsUsed(e) {
			for i, c := range ts.Scan.Cols {
				if c.ID == id && t.Columns[i].Generated != "" {
					return sqlerr.New(sqlerr.InvalidObjectDefinition, "cannot use generated column \"%s\" in column generation expression", c.Name).
						WithDetail("A generated column cannot reference another generated column.").At(generatedRefLocation(p.expr, c.Name))
				}
			}
		}
		if logical.HasSubquery(e) {
			return sqlerr.New(sqlerr.FeatureNotSupported, "cannot use subquery in column generation expression")
		}
		// (before the cast to the column's type, which PostgreSQL does not
		// count: a timestamp into a text column is accepted)
		if logical.IsVolatile(e) || readsStable(p.expr) || bindsStable(e) {
			return sqlerr.New(sqlerr.InvalidObjectDefinition, "generation expression is not immutable")
		}
		col := t.Columns[p.column]
		if _, err := b.Assign(e, col.Type, col.Name); err != nil {
			return err
		}
	}
	return nil
}

// generatedRefLocation is where expr names column (-1 if nowhere).
func generatedRefLocation(expr *pg.Node, column string) int32 {
	at := int32(-1)
	parser.Walk(expr, func(m proto.Message) bool {
		if cr, ok := m.(*pg.ColumnRef); ok && at < 0 {
			if f := cr.Fields; len(f) > 0 && f[len(f)-1].GetString_().GetSval() == column {
				at = cr.Location
			}
		}
		return at < 0
	})
	return at
}

func hasGenerated(t *catalog.Table) bool {
	for _, c := range t.Columns {
		if c.Generated != "" {
			return true
		}
	}
	return false
}

// generatedExprs binds t's generation expressions over a scope of t's
// columns alone (ts): by column position, nil for the columns that are not
// generated. substituteColumns then puts the values they read in.
func (s *Session) generatedExprs(b *binder.Binder, t *catalog.Table) (gen []logical.Expr, ts *binder.TableScope, err error) {
	ts = b.BeginTable(t, "")
	out := make([]logical.Expr, len(t.Columns))
	for i, c := range t.Columns {
		if c.Generated == "" {
			continue
		}
		stmts, err := parser.Parse("SELECT " + c.Generated)
		if err != nil {
			return nil, nil, err
		}
		e, err := b.BindIn(ts, stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val, generatedWhat)
		if err != nil {
			return nil, nil, err
		}
		if out[i], err = b.Assign(e, c.Type, c.Name); err != nil {
			return nil, nil, err
		}
	}
	return out, ts, nil
}

// substituteColumns replaces in e each reference to a column of ts (t's
// columns, by position) by values[position].
func substituteColumns(e logical.Expr, ts *binder.TableScope, values []logical.Expr) logical.Expr {
	at := make(map[logical.ColumnID]int, len(ts.Scan.Cols))
	for i, c := range ts.Scan.Cols {
		at[c.ID] = i
	}
	return logical.Rewrite(e, func(x logical.Expr) logical.Expr {
		if r, ok := x.(*logical.ColRef); ok {
			if i, ok := at[r.Col.ID]; ok && values[i] != nil {
				return values[i]
			}
		}
		return x
	})
}

// withGenerated puts over plan (whose columns are t's, in order) the
// projection that computes t's generated columns from the others.
func (s *Session) withGenerated(b *binder.Binder, t *catalog.Table, plan logical.Plan) (logical.Plan, error) {
	return s.overGenerated(b, t, plan, func(_ int, computed logical.Expr, _ []logical.Expr) logical.Expr { return computed })
}

// fillGenerated computes t's generated columns over batches already made
// (COPY's): the returned batches replace recs, which it releases.
func (s *Session) fillGenerated(ctx context.Context, t *catalog.Table, recs []arrow.Record) ([]arrow.Record, error) {
	if !hasGenerated(t) || len(recs) == 0 {
		return recs, nil
	}
	defer exec.ReleaseRecords(recs)
	rows := &catalog.Table{OID: t.OID, Schema: t.Schema, Name: t.Name, Columns: t.Columns}
	part := make([]arrow.Record, len(recs))
	for i, r := range recs {
		part[i] = withSchema(r, t.ArrowSchema())
	}
	rows.Lock()
	rows.Replace([][]arrow.Record{part})
	rows.Unlock()
	defer func() {
		rows.Lock()
		rows.Replace(nil)
		rows.Unlock()
	}()
	env := s.env()
	b := s.binder(env)
	scan := b.BeginTable(rows, "").Scan
	plan, err := s.withGenerated(b, t, scan)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, env, plan)
}

// refuseGeneratedInsert refuses an INSERT giving generated column col a
// value (DEFAULT, or leaving it out, computes it).
func refuseGeneratedInsert(col catalog.Column) error {
	if col.Generated == "" {
		return nil
	}
	return sqlerr.New(sqlerr.GeneratedAlways, "cannot insert a non-DEFAULT value into column \"%s\"", col.Name).
		WithDetail("Column \"" + col.Name + "\" is a generated column.")
}

// refuseGeneratedUpdate refuses SET of a generated column to anything but
// DEFAULT; isDefault says the SET is to DEFAULT.
func refuseGeneratedUpdate(col catalog.Column, isDefault bool) error {
	if col.Generated == "" || isDefault {
		return nil
	}
	return sqlerr.New(sqlerr.GeneratedAlways, "column \"%s\" can only be updated to DEFAULT", col.Name).
		WithDetail("Column \"" + col.Name + "\" is a generated column.")
}

// updateGenerated puts over an UPDATE's plan (t's columns with their new
// values, then the "hit" flag) the projection that recomputes t's
// generated columns on the rows it updates. The generation expressions
// read the new values as columns of the plan below, so a volatile SET
// expression is evaluated once per row (pasting it into them would call
// it again). A Project keeps partitions and batches one to one, as
// rewriteTable needs.
func (s *Session) updateGenerated(b *binder.Binder, t *catalog.Table, plan logical.Plan) (logical.Plan, error) {
	return s.overGenerated(b, t, plan, func(i int, computed logical.Expr, refs []logical.Expr) logical.Expr {
		hit := refs[len(t.Columns)]
		return &logical.Case{Whens: []logical.Expr{hit}, Thens: []logical.Expr{computed}, Else: refs[i], T: t.Columns[i].Type}
	})
}

// overGenerated puts over plan (whose first columns are t's, in order)
// a projection passing every column on but t's generated ones, which
// take value(i, their expression over the plan's columns, the plan's
// columns).
func (s *Session) overGenerated(b *binder.Binder, t *catalog.Table, plan logical.Plan, value func(i int, computed logical.Expr, refs []logical.Expr) logical.Expr) (logical.Plan, error) {
	if !hasGenerated(t) {
		return plan, nil
	}
	gen, ts, err := s.generatedExprs(b, t)
	if err != nil {
		return nil, err
	}
	in := plan.Columns()
	refs := make([]logical.Expr, len(in))
	for i, c := range in {
		refs[i] = &logical.ColRef{Col: c}
	}
	p := &logical.Project{Input: plan}
	for i, c := range in {
		e := refs[i]
		if i < len(gen) && gen[i] != nil {
			e = value(i, substituteColumns(gen[i], ts, refs), refs)
		}
		p.Exprs = append(p.Exprs, e)
		p.Cols = append(p.Cols, b.NewColumn(c.Name, c.T))
	}
	return p, nil
}

// generatedForExisting checks the expression of col, a generated column
// ALTER TABLE adds to t (cd as written), and returns what computes its
// values for a batch of t's rows.
func (s *Session) generatedForExisting(ctx context.Context, t *catalog.Table, col catalog.Column, cd *pg.ColumnDef) (func(arrow.Record) (arrow.Array, error), error) {
	env := s.env()
	probe := &catalog.Table{OID: t.OID, Schema: t.Schema, Name: t.Name, Columns: append(append([]catalog.Column{}, t.Columns...), col)}
	for _, cn := range cd.Constraints {
		if c := cn.GetConstraint(); c.Contype == pg.ConstrType_CONSTR_GENERATED {
			if col.Default != "" {
				return nil, sqlerr.New(sqlerr.SyntaxError, "both default and generation expression specified for column \"%s\" of table \"%s\"", col.Name, t.Name).At(c.Location)
			}
			if err := s.checkGenerated(env, probe, []pendingGenerated{{column: len(t.Columns), expr: c.RawExpr}}); err != nil {
				return nil, err
			}
		}
	}
	b := s.binder(env)
	ts := b.BeginTable(t, "")
	stmts, err := parser.Parse("SELECT " + col.Generated)
	if err != nil {
		return nil, err
	}
	e, err := b.BindIn(ts, stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val, generatedWhat)
	if err != nil {
		return nil, err
	}
	if e, err = b.Assign(e, col.Type, col.Name); err != nil {
		return nil, err
	}
	pb := s.newBuilder(env)
	defer pb.Release()
	expr, err := pb.Compile(e, ts.Scan.Cols)
	if err != nil {
		return nil, err
	}
	ec := exec.NewEvalContext(ctx, env)
	return func(r arrow.Record) (arrow.Array, error) { return expr.Eval(ec, r) }, nil
}

// generatedRecompute returns what recomputes t's generated columns on a
// batch of t's rows whose other columns changed outside an UPDATE (a
// foreign-key action): it releases the batch it is given. nil when t has
// no generated column.
func (s *Session) generatedRecompute(ctx context.Context, t *catalog.Table) (func(arrow.Record) (arrow.Record, error), error) {
	if !hasGenerated(t) {
		return nil, nil
	}
	env := s.env()
	b := s.binder(env)
	gen, ts, err := s.generatedExprs(b, t)
	if err != nil {
		return nil, err
	}
	pb := s.newBuilder(env)
	defer pb.Release()
	exprs := make([]exec.Expr, len(gen))
	for i, g := range gen {
		if g == nil {
			continue
		}
		if exprs[i], err = pb.Compile(g, ts.Scan.Cols); err != nil {
			return nil, err
		}
	}
	ec := exec.NewEvalContext(ctx, env)
	return func(r arrow.Record) (arrow.Record, error) { return withGeneratedValues(ec, r, exprs) }, nil
}

// parseGenerated is the expression of a generation expression's text.
func parseGenerated(text string) (*pg.Node, error) {
	stmts, err := parser.Parse("SELECT " + text)
	if err != nil {
		return nil, err
	}
	return stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val, nil
}

// eachColumnRef calls f with each column reference in expr.
func eachColumnRef(expr *pg.Node, f func(*pg.ColumnRef)) {
	parser.Walk(expr, func(m proto.Message) bool {
		if cr, ok := m.(*pg.ColumnRef); ok {
			f(cr)
		}
		return true
	})
}

// columnRefName is the column a reference names ("" for a star).
func columnRefName(cr *pg.ColumnRef) string {
	if len(cr.Fields) == 0 {
		return ""
	}
	return cr.Fields[len(cr.Fields)-1].GetString_().GetSval()
}

// generatedUsers are the names of t's generated columns whose expression
// reads column name (PostgreSQL records these as dependencies).
func generatedUsers(t *catalog.Table, name string) ([]string, error) {
	var users []string
	for _, c := range t.Columns {
		if c.Generated == "" {
			continue
		}
		expr, err := parseGenerated(c.Generated)
		if err != nil {
			return nil, fmt.Errorf("generation expression of column %q: %w", c.Name, err)
		}
		uses := false
		eachColumnRef(expr, func(cr *pg.ColumnRef) { uses = uses || columnRefName(cr) == name })
		if uses {
			users = append(users, c.Name)
		}
	}
	return users, nil
}

// renamedInGenerated is cols with column from renamed to to in every
// generation expression (the expression is kept as text, so it would no
// longer bind).
func renamedInGenerated(cols []catalog.Column, from, to string) ([]catalog.Column, error) {
	out := append([]catalog.Column{}, cols...)
	for i, c := range out {
		if c.Generated == "" {
			continue
		}
		expr, err := parseGenerated(c.Generated)
		if err != nil {
			return nil, fmt.Errorf("generation expression of column %q: %w", c.Name, err)
		}
		eachColumnRef(expr, func(cr *pg.ColumnRef) {
			if columnRefName(cr) == from {
				cr.Fields[len(cr.Fields)-1] = pg.MakeStrNode(to)
			}
		})
		if out[i].Generated, err = parser.DeparseExpr(expr); err != nil {
			return nil, fmt.Errorf("generation expression of column %q: %w", c.Name, err)
		}
	}
	return out, nil
}

// refuseGeneratedAlter refuses, as PostgreSQL does, a default on a
// generated column and a new type for a column a generation expression
// reads.
func refuseGeneratedAlter(t *catalog.Table, cmd *pg.AlterTableCmd) error {
	col := t.Columns[t.ColumnIndex(cmd.Name)]
	switch cmd.Subtype {
	case pg.AlterTableType_AT_ColumnDefault:
		if col.Generated == "" {
			return nil
		}
		err := sqlerr.New(sqlerr.SyntaxError, "column \"%s\" of relation \"%s\" is a generated column", col.Name, t.Name)
		if cmd.Def == nil {
			err = err.WithHint("Use ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION instead.")
		}
		return err
	case pg.AlterTableType_AT_AlterColumnType:
		users, err := generatedUsers(t, col.Name)
		if err != nil || len(users) == 0 {
			return err
		}
		return sqlerr.New(sqlerr.FeatureNotSupported, "cannot alter type of a column used by a generated column").
			WithDetail("Column \"" + col.Name + "\" is used by generated column \"" + users[0] + "\".")
	}
	return nil
}

// Weft's functions know only volatile or not, while a generation
// expression must be immutable: what PostgreSQL marks stable (it reads the
// clock of the transaction, the time zone, DateStyle or the user) is
// refused by the small deny-lists below rather than by function
// attributes. They cover the stable built-ins Weft has; a function
// missing here is accepted where PostgreSQL refuses it.

// stableFunctions are PostgreSQL's stable built-ins that Weft has, by
// name, with the argument count at which they are stable (anyArity when
// every form is; age(ts, ts) is immutable but age(ts) reads the current
// date). now() and the like are folded to constants while binding, so
// they are looked for in the expression as written. The list was taken
// from PostgreSQL 15's pg_proc (provolatile = 's') against Weft's
// built-ins; forms stable only for some argument types are in stableCall.
var stableFunctions = map[string]int{
	"now": anyArity, "statement_timestamp": anyArity, "transaction_timestamp": anyArity,
	"clock_timestamp": anyArity, "timeofday": anyArity, "to_char": anyArity,
	"current_setting": anyArity, "age": 1, "to_timestamp": 2, "length": 2,
	"to_date": anyArity, "to_number": anyArity,
	"array_to_string": anyArity, "concat": anyArity, "concat_ws": anyArity,
	"format": anyArity, "format_type": anyArity, "make_timestamptz": anyArity,
	"json_build_array": anyArity, "json_build_object": anyArity,
	"jsonb_build_array": anyArity, "jsonb_build_object": anyArity,
	"to_json": anyArity, "to_jsonb": anyArity,
	"col_description": anyArity, "obj_description": anyArity,
	"pg_get_userbyid": anyArity, "pg_get_expr": anyArity, "pg_get_constraintdef": anyArity,
	"pg_get_indexdef": anyArity, "pg_table_is_visible": anyArity, "pg_type_is_visible": anyArity,
	"pg_function_is_visible": anyArity, "pg_encoding_to_char": anyArity,
	"has_table_privilege": anyArity, "has_schema_privilege": anyArity,
	"has_database_privilege": anyArity, "has_function_privilege": anyArity,
	"has_sequence_privilege": anyArity, "has_any_column_privilege": anyArity, "has_column_privilege": anyArity,
}

const anyArity = -1

// readsStable says whether expr, as written, calls a stable built-in or
// reads a SQL value function (current_timestamp, current_date,
// localtimestamp, current_user, …: all stable in PostgreSQL).
func readsStable(expr *pg.Node) bool {
	found := false
	parser.Walk(expr, func(m proto.Message) bool {
		switch x := m.(type) {
		case *pg.SQLValueFunction:
			found = true
		case *pg.FuncCall:
			found = isStableCall(x)
		}
		return !found
	})
	return found
}

func isStableCall(call *pg.FuncCall) bool {
	n := len(call.Funcname)
	if n == 0 || n > 1 && call.Funcname[0].GetString_().GetSval() != "pg_catalog" {
		return false
	}
	arity, ok := stableFunctions[call.Funcname[n-1].GetString_().GetSval()]
	return ok && (arity == anyArity || arity == len(call.Args))
}

// bindsStable says whether a bound expression converts to or from
// timestamptz (the session's time zone), between date/time types and
// text (DateStyle), or does time-zone dependent arithmetic on timestamptz
// (± interval, date_trunc, extract): stable operations in PostgreSQL.
func bindsStable(e logical.Expr) bool {
	found := false
	logical.Walk(e, func(x logical.Expr) bool {
		switch y := x.(type) {
		case *logical.Cast:
			found = stableCast(y.Arg.Type().Kind, y.To.Kind)
		case *logical.Call:
			found = stableCall(y)
		}
		return !found
	})
	return found
}

func stableCast(from, to types.Kind) bool {
	if from == to {
		return false
	}
	if from == types.TimestampTZ || to == types.TimestampTZ {
		return true
	}
	return isDateTime(from) && isText(to) || isText(from) && isDateTime(to)
}

func stableCall(c *logical.Call) bool {
	hasTZ, hasInterval := false, false
	for _, a := range c.Args {
		hasTZ = hasTZ || a.Type().Kind == types.TimestampTZ
		hasInterval = hasInterval || a.Type().Kind == types.Interval
	}
	switch c.Name {
	case "date_trunc", "extract", "date_part", "date_bin":
		return hasTZ
	case "+", "-":
		return hasTZ && hasInterval
	}
	return false
}

func isDateTime(k types.Kind) bool {
	return k == types.Date || k == types.Time || k == types.Timestamp || k == types.Interval
}

func isText(k types.Kind) bool {
	return k == types.Text || k == types.Varchar || k == types.Char
}

// dropExpression is ALTER COLUMN … DROP EXPRESSION [IF EXISTS]: the
// generated column becomes an ordinary one keeping its values.
func dropExpression(t *catalog.Table, cmd *pg.AlterTableCmd, notices *[]string) error {
	t.Lock()
	defer t.Unlock()
	i := t.ColumnIndex(cmd.Name)
	if i < 0 {
		return sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", cmd.Name, t.Name)
	}
	if t.Columns[i].Generated == "" {
		msg := fmt.Sprintf("column \"%s\" of relation \"%s\" is not a stored generated column", cmd.Name, t.Name)
		if cmd.MissingOk {
			*notices = append(*notices, msg+", skipping")
			return nil
		}
		return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "%s", msg)
	}
	cols := append([]catalog.Column{}, t.Columns...) // (readers may hold the old slice)
	cols[i].Generated = ""
	t.Columns = cols
	return nil
}
