package plpgsql

import (
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// The statements that run SQL: SELECT … INTO, data changes, EXECUTE,
// RETURN QUERY, and RAISE's messages.

func (fr *frame) execSQL(x *execSQLStmt) error {
	if !x.into && x.sql.query {
		return sqlerr.New(sqlerr.SyntaxError, "query has no destination for result data").
			WithHint("If you want to discard the results of a SELECT, use PERFORM instead.")
	}
	rows, err := fr.query(x.sql)
	if err != nil {
		return err
	}
	return fr.into(rows, x.into, x.strict, x.target, !x.sql.query)
}

// into finishes a statement: its first row goes into the target (STRICT:
// exactly one row), FOUND and ROW_COUNT are set.
func (fr *frame) into(rows *Rows, into, strict bool, tg target, change bool) error {
	fr.rowCount = rows.Affected
	if !into {
		fr.setFound(rows.Affected > 0)
		return nil
	}
	if !rows.Query {
		return sqlerr.New(sqlerr.SyntaxError, "INTO used with a command that cannot return data")
	}
	n := len(rows.Data)
	if strict && n == 0 {
		return sqlerr.New("P0002", "query returned no rows")
	}
	if n > 1 && (strict || change) {
		return sqlerr.New("P0003", "query returned more than one row").
			WithHint("Make sure the query returns a single row, or use LIMIT 1.")
	}
	fr.rowCount = min(int64(n), 1) // INTO reads one row, as PostgreSQL counts it
	if n == 0 {
		fr.setFound(false)
		return fr.store(tg, rows.Names, rows.Types, nil)
	}
	fr.setFound(true)
	return fr.store(tg, rows.Names, rows.Types, rows.Data[0])
}

// dynamic runs EXECUTE's string with USING's values as $1, $2, ….
func (fr *frame) dynamic(q *expr, using []*expr) (*Rows, error) {
	v, _, err := fr.eval(q)
	if err != nil {
		return nil, err
	}
	sql, ok := v.(string)
	if v == nil || !ok {
		return nil, sqlerr.New(sqlerr.NullValueNotAllowed, "query string argument of EXECUTE is null")
	}
	params := make([]types.Datum, len(using))
	ts := make([]types.T, len(using))
	for i, u := range using {
		if params[i], ts[i], err = fr.eval(u); err != nil {
			return nil, err
		}
		if ts[i].Kind == types.Unknown {
			ts[i] = types.TextT
		}
	}
	stmts, err := parser.Parse(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		if len(stmts) == 0 {
			return &Rows{}, nil
		}
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "EXECUTE of several statements at once is not supported")
	}
	if _, ok := stmts[0].Stmt.Node.(*pg.Node_TransactionStmt); ok {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "EXECUTE of transaction commands is not implemented")
	}
	if err := fr.ctx.Err(); err != nil {
		return nil, err
	}
	return fr.call.Host.Run(fr.ctx, sql, stmts[0], params, ts, nil)
}

func (fr *frame) dynExec(x *dynExecStmt) error {
	rows, err := fr.dynamic(x.query, x.params)
	if err != nil {
		return err
	}
	if !x.into {
		fr.rowCount = rows.Affected
		fr.setFound(rows.Affected > 0)
		return nil
	}
	return fr.into(rows, true, x.strict, x.target, false)
}

// ret is RETURN: the value, converted to the result type.
func (fr *frame) ret(x *returnStmt) error {
	f := fr.fn
	if x.implicit && !f.sig.SetOf && len(f.outs) == 0 && !isVoid(f.sig.Result) && f.sig.Name != "" {
		return sqlerr.New("2F005", "control reached end of function without RETURN")
	}
	if x.value != nil && !fr.fn.sig.SetOf {
		v, t, err := fr.eval(x.value)
		if err != nil {
			return err
		}
		if fr.call.Result.Kind != types.Unknown && !isVoid(fr.fn.sig.Result) {
			if v, err = castTo(v, t, fr.call.Result); err != nil {
				return err
			}
		}
		fr.result = v
	}
	return &control{kind: 'r'}
}

func (fr *frame) returnNext(x *returnNextStmt) error {
	if len(fr.fn.outs) > 0 && x.value == nil {
		row := make([]types.Datum, len(fr.fn.outs))
		for i, d := range fr.fn.outs {
			row[i] = fr.vals[d].d
		}
		fr.out = append(fr.out, row)
		return nil
	}
	if x.retvar >= 0 {
		v := fr.vals[x.retvar]
		if v.rec == nil {
			if !fr.fn.datums[x.retvar].isRecord() {
				fr.out = append(fr.out, []types.Datum{v.d})
				return nil
			}
			return sqlerr.New(sqlerr.ObjectNotInPrerequisiteState, "record \"%s\" is not assigned yet", fr.fn.datums[x.retvar].name)
		}
		return fr.appendRow(v.rec.types, v.rec.vals)
	}
	if x.value == nil {
		return sqlerr.New(sqlerr.SyntaxError, "RETURN NEXT must have a parameter")
	}
	rows, err := fr.query(x.value)
	if err != nil {
		return err
	}
	if len(rows.Data) != 1 {
		return sqlerr.New(sqlerr.CardinalityViolation, "query \"%s\" returned %d rows", x.value.text, len(rows.Data))
	}
	return fr.appendRow(rows.Types, rows.Data[0])
}

// appendRow adds a row of the set, converted to the result's columns.
func (fr *frame) appendRow(ts []types.T, row []types.Datum) error {
	want := fr.call.Columns
	if want == nil {
		want = []types.T{fr.call.Result}
	}
	if len(row) != len(want) {
		return sqlerr.New(sqlerr.DatatypeMismatch, "structure of query does not match function result type").
			WithDetail(fmt.Sprintf("Number of returned columns (%d) does not match expected column count (%d).", len(row), len(want)))
	}
	out := make([]types.Datum, len(row))
	for i, v := range row {
		c, err := castTo(v, ts[i], want[i])
		if err != nil {
			return err
		}
		out[i] = c
	}
	fr.out = append(fr.out, out)
	return nil
}

func (fr *frame) returnQuery(x *returnQueryStmt) error {
	rows, err := fr.queryOrDynamic(x.query, x.dyn, x.params)
	if err != nil {
		return err
	}
	for _, row := range rows.Data {
		if err := fr.appendRow(rows.Types, row); err != nil {
			return err
		}
	}
	fr.rowCount = int64(len(rows.Data))
	fr.setFound(len(rows.Data) > 0)
	return nil
}

// PL/pgSQL's elog levels.
const (
	levelLog     = 15
	levelInfo    = 17
	levelNotice  = 18
	levelWarning = 19
	levelError   = 21
)

// PLPGSQL_RAISEOPTION_* kinds.
const (
	optErrcode = iota
	optMessage
	optDetail
	optHint
)

func (fr *frame) raise(x *raiseStmt) error {
	if x.condname == "" && x.message == "" && len(x.opts) == 0 {
		if fr.caught == nil {
			return sqlerr.New("0Z002", "RAISE without parameters cannot be used outside an exception handler")
		}
		return fr.caught // re-raised as it was caught
	}
	e := &sqlerr.Error{Code: "P0001"}
	if x.condname != "" {
		code, err := conditionCode(x.condname)
		if err != nil {
			return err
		}
		e.Code, e.Message = code, strings.ToLower(x.condname)
	}
	if x.message != "" {
		msg, err := fr.format(x.message, x.params)
		if err != nil {
			return err
		}
		e.Message = msg
	}
	for _, o := range x.opts {
		v, _, err := fr.eval(o.value)
		if err != nil {
			return err
		}
		if v == nil {
			return sqlerr.New(sqlerr.NullValueNotAllowed, "RAISE statement option cannot be null")
		}
		s := fmt.Sprint(v)
		switch o.kind {
		case optErrcode:
			code, err := conditionCode(s)
			if err != nil {
				return err
			}
			e.Code = code
		case optMessage:
			e.Message = s
		case optDetail:
			e.Detail = s
		case optHint:
			e.Hint = s
		}
	}
	if x.level >= levelError {
		return e
	}
	if x.level == levelInfo || x.level >= levelNotice {
		fr.call.Host.Notice(e.Message)
	}
	return nil
}

// format fills RAISE's % placeholders with the parameters as text.
func (fr *frame) format(msg string, params []*expr) (string, error) {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(msg) && msg[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		if len(params) == 0 {
			return "", sqlerr.New(sqlerr.SyntaxError, "too few parameters specified for RAISE")
		}
		v, t, err := fr.eval(params[0])
		if err != nil {
			return "", err
		}
		params = params[1:]
		if v == nil {
			b.WriteString("<NULL>")
		} else {
			b.WriteString(types.Format(t, v))
		}
	}
	return b.String(), nil
}
