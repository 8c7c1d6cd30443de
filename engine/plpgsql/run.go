package plpgsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Call is one invocation of a function.
type Call struct {
	Host Host
	Args []types.Datum
	// ArgTypes are the arguments' types (the declared ones).
	ArgTypes []types.T
	// Result is the declared result type (a scalar, or a set's element).
	Result types.T
	// Columns are the columns of a set-returning function that returns
	// rows (RETURNS TABLE, SETOF a table's type); nil for one column.
	Columns []types.T
}

// Output is what a call returned: a value, or for a set-returning
// function its rows.
type Output struct {
	Value types.Datum
	Rows  [][]types.Datum
}

// value is a variable's current value; a record has rec instead.
type value struct {
	t   types.T
	d   types.Datum
	rec *record
}

// record is a record variable's row: nil until assigned (a %ROWTYPE
// variable starts as a row of NULLs).
type record struct {
	names []string
	types []types.T
	vals  []types.Datum
}

func (r *record) index(name string) int {
	for i, n := range r.names {
		if n == name {
			return i
		}
	}
	return -1
}

// frame is a running call.
type frame struct {
	fn       *Function
	call     Call
	ctx      context.Context
	vals     []value
	rowCount int64
	out      [][]types.Datum // RETURN NEXT / RETURN QUERY rows
	result   types.Datum
	types    *typeCache
	caught   *sqlerr.Error // the error the running handler caught (RAISE;)
}

// control is how EXIT, CONTINUE and RETURN leave the statements they
// are in.
type control struct {
	kind  byte // 'x' exit, 'c' continue, 'r' return
	label string
}

func (c *control) Error() string { return "PL/pgSQL control flow outside a loop" }

type typeCache struct {
	mu sync.Mutex
	m  map[string]types.T
}

// Run runs the function.
func (f *Function) Run(ctx context.Context, call Call) (*Output, error) {
	fr := &frame{fn: f, call: call, ctx: ctx, vals: make([]value, len(f.datums)), types: f.types}
	if err := fr.init(); err != nil {
		return nil, err
	}
	err := fr.block(f.body)
	var c *control
	if errors.As(err, &c) {
		if c.kind != 'r' {
			return nil, sqlerr.New(sqlerr.SyntaxError, "%s cannot be used outside a loop", map[byte]string{'x': "EXIT", 'c': "CONTINUE"}[c.kind])
		}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if f.sig.SetOf {
		return &Output{Rows: fr.out}, nil
	}
	if len(f.outs) > 0 {
		return &Output{Value: fr.outValue()}, nil
	}
	return &Output{Value: fr.result}, nil
}

func isVoid(t string) bool { return strings.EqualFold(strings.TrimSpace(t), "void") }

// outValue is the OUT parameters' value: the one, or a row of several.
func (fr *frame) outValue() types.Datum {
	if len(fr.fn.outs) == 1 {
		return fr.vals[fr.fn.outs[0]].d
	}
	row := make([]types.Datum, len(fr.fn.outs))
	for i, d := range fr.fn.outs {
		row[i] = fr.vals[d].d
	}
	return row
}

// init sets the parameters and FOUND.
func (fr *frame) init() error {
	for i, d := range fr.fn.inputs {
		if i < len(fr.call.Args) {
			fr.vals[d] = value{t: fr.call.ArgTypes[i], d: fr.call.Args[i]}
		}
	}
	for _, d := range fr.fn.outs {
		if fr.vals[d].t.Kind == types.Unknown {
			t, err := fr.typeOf(fr.fn.datums[d].typeName)
			if err != nil {
				return err
			}
			fr.vals[d] = value{t: t}
		}
	}
	for i, d := range fr.fn.datums {
		if d.kind == "var" && (strings.HasPrefix(d.name, "__Case__") || i == fr.fn.found) {
			t, err := fr.typeOf(d.typeName)
			if err != nil {
				return err
			}
			fr.vals[i] = value{t: t}
		}
	}
	if fr.fn.found >= 0 {
		fr.vals[fr.fn.found].d = false
	}
	return nil
}

func (fr *frame) typeOf(name string) (types.T, error) {
	fr.types.mu.Lock()
	t, ok := fr.types.m[name]
	fr.types.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := fr.call.Host.Type(name)
	if err != nil {
		return t, err
	}
	fr.types.mu.Lock()
	fr.types.m[name] = t
	fr.types.mu.Unlock()
	return t, nil
}

// declare sets a block's variables to their defaults (NULL without).
func (fr *frame) declare(dnos []int) error {
	for _, dno := range dnos {
		d := fr.fn.datums[dno]
		if d.kind == "rec" {
			fr.vals[dno] = value{}
			continue
		}
		if d.rowtype != "" {
			names, ts, err := fr.call.Host.RowType(d.rowtype)
			if err != nil {
				return err
			}
			fr.vals[dno] = value{rec: &record{names: names, types: ts, vals: make([]types.Datum, len(names))}}
			continue
		}
		t, err := fr.typeOf(d.typeName)
		if err != nil {
			// a table's name used as a type: a row of its columns
			names, ts, rerr := fr.call.Host.RowType(d.typeName)
			if rerr != nil {
				return err
			}
			d.rowtype = d.typeName
			fr.vals[dno] = value{rec: &record{names: names, types: ts, vals: make([]types.Datum, len(names))}}
			continue
		}
		fr.vals[dno] = value{t: t}
		if d.def != nil {
			v, vt, err := fr.eval(d.def)
			if err != nil {
				return err
			}
			if err := fr.assign(dno, v, vt); err != nil {
				return err
			}
		} else if d.notNull {
			return sqlerr.New(sqlerr.NullValueNotAllowed, "variable \"%s\" must have a default value, since it's declared NOT NULL", d.name)
		}
	}
	return nil
}

// assign stores a value into a variable (or a record's field), converted
// to its type as an assignment converts.
func (fr *frame) assign(dno int, v types.Datum, vt types.T) error {
	d := fr.fn.datums[dno]
	if d.kind == "recfield" {
		rv := &fr.vals[d.parent]
		if rv.rec == nil {
			return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "record \"%s\" is not assigned yet", fr.fn.datums[d.parent].name).
				WithDetail("The tuple structure of a not-yet-assigned record is indeterminate.")
		}
		i := rv.rec.index(d.field)
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedColumn, "record \"%s\" has no field \"%s\"", fr.fn.datums[d.parent].name, d.field)
		}
		c, err := castTo(v, vt, rv.rec.types[i])
		if err != nil {
			return err
		}
		rv.rec.vals[i] = c
		return nil
	}
	if d.isRecord() {
		return sqlerr.New(sqlerr.FeatureNotSupported, "assigning a value to the whole record \"%s\" is not supported yet", d.name)
	}
	t := fr.vals[dno].t
	c, err := castTo(v, vt, t)
	if err != nil {
		return err
	}
	if c == nil && d.notNull {
		return sqlerr.New(sqlerr.NullValueNotAllowed, "null value cannot be assigned to variable \"%s\" declared NOT NULL", d.name)
	}
	fr.vals[dno].d = c
	return nil
}

func castTo(v types.Datum, from, to types.T) (types.Datum, error) {
	if v == nil || to.Kind == types.Unknown || from.Equal(to) {
		return v, nil
	}
	return exec.CastDatum(v, from, to, false)
}

// bind is an expression's parameters: the function's inputs, then the
// variables it reads.
func (fr *frame) bind(e *expr) ([]types.Datum, []types.T, error) {
	n := len(fr.fn.inputs)
	params := make([]types.Datum, n+len(e.refs))
	ts := make([]types.T, n+len(e.refs))
	for i, d := range fr.fn.inputs {
		params[i], ts[i] = fr.vals[d].d, fr.vals[d].t
	}
	for i, r := range e.refs {
		v := fr.vals[r.dno]
		if r.field == "" {
			params[n+i], ts[n+i] = v.d, v.t
		} else {
			if v.rec == nil {
				return nil, nil, sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "record \"%s\" is not assigned yet", fr.fn.datums[r.dno].name).
					WithDetail("The tuple structure of a not-yet-assigned record is indeterminate.")
			}
			j := v.rec.index(r.field)
			if j < 0 {
				return nil, nil, sqlerr.New(sqlerr.UndefinedColumn, "record \"%s\" has no field \"%s\"", fr.fn.datums[r.dno].name, r.field)
			}
			params[n+i], ts[n+i] = v.rec.vals[j], v.rec.types[j]
		}
		if ts[n+i].Kind == types.Unknown {
			ts[n+i] = types.TextT
		}
	}
	for i := range ts[:n] {
		if ts[i].Kind == types.Unknown {
			ts[i] = types.TextT
		}
	}
	return params, ts, nil
}

// query runs a compiled statement.
func (fr *frame) query(e *expr) (*Rows, error) {
	if err := fr.ctx.Err(); err != nil {
		return nil, err
	}
	params, ts, err := fr.bind(e)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(params))
	copy(names[len(fr.fn.inputs):], e.names)
	return fr.call.Host.Run(fr.ctx, e.text, e.stmt, params, ts, names)
}

// eval computes an expression's one value (NULL for no row; more than
// one row is 21000, as PostgreSQL reports it).
func (fr *frame) eval(e *expr) (types.Datum, types.T, error) {
	rows, err := fr.query(e)
	if err != nil {
		return nil, types.T{}, err
	}
	if len(rows.Types) != 1 {
		return nil, types.T{}, sqlerr.New(sqlerr.SyntaxError, "query \"%s\" returned %d columns", e.text, len(rows.Types))
	}
	switch len(rows.Data) {
	case 0:
		return nil, rows.Types[0], nil
	case 1:
		return rows.Data[0][0], rows.Types[0], nil
	}
	return nil, types.T{}, sqlerr.New(sqlerr.CardinalityViolation, "query \"%s\" returned more than one row", e.text)
}

// cond computes a condition: NULL is false.
func (fr *frame) cond(e *expr) (bool, error) {
	v, t, err := fr.eval(e)
	if err != nil {
		return false, err
	}
	if v == nil {
		return false, nil
	}
	if t.Kind != types.Bool {
		c, err := exec.CastDatum(v, t, types.BoolT, false)
		if err != nil {
			return false, err
		}
		v = c
	}
	b, _ := v.(bool)
	return b, nil
}

func (fr *frame) setFound(found bool) {
	if fr.fn.found >= 0 {
		fr.vals[fr.fn.found].d = found
	}
}

func (fr *frame) stmts(list []stmt) error {
	for _, s := range list {
		if err := fr.ctx.Err(); err != nil {
			return err
		}
		if err := fr.stmt(s); err != nil {
			return err
		}
	}
	return nil
}

func (fr *frame) block(b *block) error {
	if err := fr.declare(b.decls); err != nil {
		return err
	}
	if len(b.handlers) == 0 {
		return fr.labelled(b.label, fr.stmts(b.body))
	}
	sp, marked := fr.call.Host.Savepoint()
	err := fr.stmts(b.body)
	var c *control
	if err == nil || errors.As(err, &c) {
		if marked {
			fr.call.Host.Release(sp)
		}
		return fr.labelled(b.label, err)
	}
	e := sqlerr.Wrap(err)
	for _, h := range b.handlers {
		for _, cond := range h.conds {
			if !conditionMatches(cond, e.Code) {
				continue
			}
			if marked {
				fr.call.Host.RollbackTo(sp)
			}
			if b.sqlstate >= 0 {
				fr.vals[b.sqlstate] = value{t: types.TextT, d: e.Code}
			}
			if b.sqlerrm >= 0 {
				fr.vals[b.sqlerrm] = value{t: types.TextT, d: e.Message}
			}
			outer := fr.caught
			fr.caught = e
			err := fr.stmts(h.body)
			fr.caught = outer
			return fr.labelled(b.label, err)
		}
	}
	if marked {
		fr.call.Host.RollbackTo(sp)
	}
	return err
}

// labelled ends an EXIT naming the block.
func (fr *frame) labelled(label string, err error) error {
	var c *control
	if label != "" && errors.As(err, &c) && c.kind == 'x' && c.label == label {
		return nil
	}
	return err
}

func (fr *frame) stmt(s stmt) error {
	switch x := s.(type) {
	case *block:
		return fr.block(x)
	case *assignStmt:
		v, t, err := fr.eval(x.value)
		if err != nil {
			return err
		}
		return fr.assign(x.target, v, t)
	case *ifStmt:
		for i, c := range x.conds {
			ok, err := fr.cond(c)
			if err != nil {
				return err
			}
			if ok {
				return fr.stmts(x.bodies[i])
			}
		}
		return fr.stmts(x.els)
	case *caseStmt:
		return fr.caseStmt(x)
	case *loopStmt:
		return fr.loop(x)
	case *foriStmt:
		return fr.fori(x)
	case *forsStmt:
		return fr.fors(x)
	case *foreachStmt:
		return fr.foreach(x)
	case *exitStmt:
		if x.cond != nil {
			ok, err := fr.cond(x.cond)
			if err != nil || !ok {
				return err
			}
		}
		kind := byte('c')
		if x.exit {
			kind = 'x'
		}
		return &control{kind: kind, label: x.label}
	case *returnStmt:
		return fr.ret(x)
	case *returnNextStmt:
		return fr.returnNext(x)
	case *returnQueryStmt:
		return fr.returnQuery(x)
	case *execSQLStmt:
		return fr.execSQL(x)
	case *performStmt:
		rows, err := fr.query(x.query)
		if err != nil {
			return err
		}
		fr.rowCount = rows.Affected
		fr.setFound(rows.Affected > 0)
		return nil
	case *dynExecStmt:
		return fr.dynExec(x)
	case *getDiagStmt:
		for i, k := range x.kinds {
			if k != "ROW_COUNT" {
				return sqlerr.New(sqlerr.FeatureNotSupported, "GET DIAGNOSTICS %s is not supported", k)
			}
			if err := fr.assign(x.targets[i], fr.rowCount, types.Int8T); err != nil {
				return err
			}
		}
		return nil
	case *raiseStmt:
		return fr.raise(x)
	case *assertStmt:
		ok, err := fr.cond(x.cond)
		if err != nil || ok {
			return err
		}
		msg := "assertion failed"
		if x.message != nil {
			v, _, err := fr.eval(x.message)
			if err != nil {
				return err
			}
			if v != nil {
				msg = fmt.Sprint(v)
			}
		}
		return sqlerr.New("P0004", "%s", msg)
	case *nullStmt:
		return nil
	}
	return sqlerr.New(sqlerr.Internal, "unknown PL/pgSQL statement %T", s)
}

func (fr *frame) caseStmt(x *caseStmt) error {
	if x.test != nil {
		v, t, err := fr.eval(x.test)
		if err != nil {
			return err
		}
		fr.vals[x.testVar] = value{t: t, d: v}
	}
	for i, w := range x.whens {
		ok, err := fr.cond(w)
		if err != nil {
			return err
		}
		if ok {
			return fr.stmts(x.bodies[i])
		}
	}
	if !x.hasElse {
		return sqlerr.New("20000", "case not found").WithHint("CASE statement is missing ELSE part.")
	}
	return fr.stmts(x.els)
}

// iteration runs a loop body once: done is true when the loop ends (an
// EXIT for it, or a control aimed at an outer loop or block, in err).
func (fr *frame) iteration(label string, body []stmt) (done bool, err error) {
	if err := fr.ctx.Err(); err != nil {
		return true, err
	}
	err = fr.stmts(body)
	var c *control
	if !errors.As(err, &c) {
		return err != nil, err
	}
	if c.kind == 'r' || c.label != "" && c.label != label {
		return true, err
	}
	return c.kind == 'x', nil
}

func (fr *frame) loop(x *loopStmt) error {
	for {
		if x.cond != nil {
			ok, err := fr.cond(x.cond)
			if err != nil || !ok {
				return err
			}
		}
		if done, err := fr.iteration(x.label, x.body); done {
			return err
		}
	}
}

func (fr *frame) intOf(e *expr, what string) (int64, error) {
	v, t, err := fr.eval(e)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, sqlerr.New(sqlerr.NullValueNotAllowed, "%s of FOR loop cannot be null", what)
	}
	c, err := exec.CastDatum(v, t, types.Int8T, false)
	if err != nil {
		return 0, err
	}
	return c.(int64), nil
}

func (fr *frame) fori(x *foriStmt) error {
	lo, err := fr.intOf(x.lower, "lower bound")
	if err != nil {
		return err
	}
	hi, err := fr.intOf(x.upper, "upper bound")
	if err != nil {
		return err
	}
	step := int64(1)
	if x.step != nil {
		if step, err = fr.intOf(x.step, "BY value"); err != nil {
			return err
		}
		if step <= 0 {
			return sqlerr.New(sqlerr.InvalidParameter, "BY value of FOR loop must be greater than zero")
		}
	}
	vt, err := fr.typeOf(fr.fn.datums[x.v].typeName)
	if err != nil {
		vt = types.Int4T
	}
	found := false
	for i := lo; x.reverse && i >= hi || !x.reverse && i <= hi; {
		found = true
		fr.vals[x.v] = value{t: vt, d: i}
		if done, err := fr.iteration(x.label, x.body); done {
			fr.setFound(true)
			return err
		}
		if x.reverse {
			if i < hi+step { // the next step would pass the bound (or overflow)
				break
			}
			i -= step
		} else {
			if i > hi-step {
				break
			}
			i += step
		}
	}
	fr.setFound(found)
	return nil
}

// store puts a row into a loop's or INTO's target.
func (fr *frame) store(tg target, names []string, ts []types.T, row []types.Datum) error {
	if tg.rec >= 0 {
		d := fr.fn.datums[tg.rec]
		if d.rowtype != "" && fr.vals[tg.rec].rec != nil {
			rec := fr.vals[tg.rec].rec
			for i := range rec.vals {
				var v types.Datum
				vt := rec.types[i]
				if i < len(row) {
					v, vt = row[i], ts[i]
				}
				c, err := castTo(v, vt, rec.types[i])
				if err != nil {
					return err
				}
				rec.vals[i] = c
			}
			return nil
		}
		fr.vals[tg.rec] = value{rec: &record{names: names, types: ts, vals: append([]types.Datum(nil), row...)}}
		return nil
	}
	for i, dno := range tg.vars {
		var v types.Datum
		vt := types.T{}
		if i < len(row) {
			v, vt = row[i], ts[i]
		}
		if err := fr.assign(dno, v, vt); err != nil {
			return err
		}
	}
	return nil
}

func (fr *frame) loopRows(label string, tg target, rows *Rows, body []stmt) error {
	for _, row := range rows.Data {
		if err := fr.store(tg, rows.Names, rows.Types, row); err != nil {
			return err
		}
		if done, err := fr.iteration(label, body); done {
			fr.setFound(true)
			return err
		}
	}
	fr.setFound(len(rows.Data) > 0)
	return nil
}

func (fr *frame) fors(x *forsStmt) error {
	rows, err := fr.queryOrDynamic(x.query, x.dyn, x.params)
	if err != nil {
		return err
	}
	return fr.loopRows(x.label, x.target, rows, x.body)
}

// queryOrDynamic runs a statement's query: the one written in the body,
// or, when there is none, the string dyn gives (EXECUTE … USING params).
func (fr *frame) queryOrDynamic(query, dyn *expr, params []*expr) (*Rows, error) {
	if query != nil {
		return fr.query(query)
	}
	return fr.dynamic(dyn, params)
}

func (fr *frame) foreach(x *foreachStmt) error {
	v, t, err := fr.eval(x.array)
	if err != nil {
		return err
	}
	if v == nil {
		return sqlerr.New(sqlerr.NullValueNotAllowed, "FOREACH expression must not be null")
	}
	if t.Kind != types.Array {
		return sqlerr.New(sqlerr.DatatypeMismatch, "FOREACH expression must yield an array, not type %s", t)
	}
	elems := flatten(v)
	et := t.ElemT()
	for _, e := range elems {
		if err := fr.store(x.target, nil, []types.T{et}, []types.Datum{e}); err != nil {
			return err
		}
		if done, err := fr.iteration(x.label, x.body); done {
			return err
		}
	}
	return nil
}

// flatten lists a (possibly multi-dimensional) array's elements in order.
func flatten(v types.Datum) []types.Datum {
	list, ok := v.([]types.Datum)
	if !ok {
		return []types.Datum{v}
	}
	var out []types.Datum
	for _, e := range list {
		if sub, ok := e.([]types.Datum); ok {
			out = append(out, flatten(sub)...)
		} else {
			out = append(out, e)
		}
	}
	return out
}
