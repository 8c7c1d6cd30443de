package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// DO blocks run the part of PL/pgSQL that migration tools and ORMs emit:
// a block of SQL statements; IF / ELSIF / ELSE on conditions; PERFORM;
// EXECUTE of a string; RAISE; RETURN; and EXCEPTION WHEN … THEN handlers,
// each protected block undone to its start when a handler catches its
// error, as PostgreSQL's subtransactions are. The body is parsed by
// PostgreSQL's own PL/pgSQL parser (through pg_query). Declared variables,
// loops, cursors and the rest are refused with 0A000.
//
// The whole DO is one transaction: outside a block it runs in one of its
// own, committed when it ends and rolled back when it fails.

// plNode is one node of pg_query's PL/pgSQL JSON: a single key naming
// the node type, holding its fields.
type plNode map[string]json.RawMessage

type plExpr struct {
	Expr struct {
		Query string `json:"query"`
	} `json:"PLpgSQL_expr"`
}

type plBlock struct {
	Body       []plNode `json:"body"`
	Exceptions *struct {
		Block struct {
			List []struct {
				Exc struct {
					Conditions []struct {
						Cond struct {
							Name string `json:"condname"`
						} `json:"PLpgSQL_condition"`
					} `json:"conditions"`
					Action []plNode `json:"action"`
				} `json:"PLpgSQL_exception"`
			} `json:"exc_list"`
		} `json:"PLpgSQL_exception_block"`
	} `json:"exceptions"`
}

type plIf struct {
	Cond   plExpr   `json:"cond"`
	Then   []plNode `json:"then_body"`
	Elsifs []struct {
		Elsif struct {
			Cond  plExpr   `json:"cond"`
			Stmts []plNode `json:"stmts"`
		} `json:"PLpgSQL_if_elsif"`
	} `json:"elsif_list"`
	Else []plNode `json:"else_body"`
}

type plRaise struct {
	Level    int      `json:"elog_level"`
	CondName string   `json:"condname"`
	Message  string   `json:"message"`
	Params   []plExpr `json:"params"`
}

// plFunction is the parse of `CREATE FUNCTION … AS $$body$$`.
type plFunction struct {
	Function struct {
		Datums []plNode `json:"datums"`
		Action struct {
			Block plBlock `json:"PLpgSQL_stmt_block"`
		} `json:"action"`
	} `json:"PLpgSQL_function"`
}

// errReturn ends a DO block early (RETURN).
var errReturn = fmt.Errorf("return")

// doRun is the state of one DO statement as it runs.
type doRun struct {
	s       *Session
	ctx     context.Context
	notices []string
	depth   int // nesting of protected blocks, for savepoint names
	caught  *sqlerr.Error
}

func (s *Session) doBlock(ctx context.Context, st *pg.DoStmt) (*Result, error) {
	body, lang := "", "plpgsql"
	for _, a := range st.Args {
		d := a.GetDefElem()
		switch d.GetDefname() {
		case "as":
			body = d.Arg.GetString_().GetSval()
		case "language":
			lang = strings.ToLower(d.Arg.GetString_().GetSval())
		}
	}
	if lang != "plpgsql" {
		return nil, sqlerr.New(sqlerr.UndefinedObject, "language \"%s\" does not exist", lang)
	}
	fn, err := parsePLBody(body)
	if err != nil {
		return nil, err
	}
	own := s.tx == nil
	if own {
		s.beginImplicit()
		s.tx.implicit = false // ended here, not by the string around it
	}
	r := &doRun{s: s, ctx: ctx}
	err = r.block(fn.Function.Action.Block)
	if err == errReturn {
		err = nil
	}
	if own {
		if err != nil {
			s.rollbackBlock()
		} else {
			err = s.commitBlock()
		}
	}
	if err != nil {
		return nil, err
	}
	return &Result{Tag: "DO", Notices: r.notices}, nil
}

// parsePLBody parses a DO body with PostgreSQL's PL/pgSQL parser.
func parsePLBody(body string) (*plFunction, error) {
	tag := "$weft_do$"
	for strings.Contains(body, tag) {
		tag = "$weft_do" + tag[1:]
	}
	out, err := pg.ParsePlPgSqlToJSON("CREATE FUNCTION weft_do() RETURNS void LANGUAGE plpgsql AS " + tag + body + tag)
	if err != nil {
		return nil, sqlerr.New(sqlerr.SyntaxError, "%s", strings.TrimPrefix(err.Error(), "error: "))
	}
	var fns []plFunction
	if err := json.Unmarshal([]byte(out), &fns); err != nil || len(fns) != 1 {
		return nil, sqlerr.New(sqlerr.Internal, "reading the DO block's parse: %v", err)
	}
	for _, d := range fns[0].Function.Datums {
		var v struct {
			Name string `json:"refname"`
		}
		json.Unmarshal(d["PLpgSQL_var"], &v)
		switch v.Name {
		case "found", "sqlstate", "sqlerrm":
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "DO blocks with declared variables are not supported yet")
		}
	}
	return &fns[0], nil
}

// block runs a BEGIN … [EXCEPTION …] END block.
func (r *doRun) block(b plBlock) error {
	if b.Exceptions == nil {
		return r.stmts(b.Body)
	}
	r.depth++
	defer func() { r.depth-- }()
	sp := r.s.pushSavepoint(fmt.Sprintf("weft_do_%d", r.depth))
	err := r.stmts(b.Body)
	if err == nil || err == errReturn {
		r.s.releaseSavepoints(sp)
		return err
	}
	e := sqlerr.Wrap(err)
	for _, h := range b.Exceptions.Block.List {
		for _, c := range h.Exc.Conditions {
			ok, cerr := conditionMatches(c.Cond.Name, e.Code)
			if cerr != nil {
				return cerr
			}
			if !ok {
				continue
			}
			r.s.rollbackToSavepoint(sp)
			r.s.releaseSavepoints(sp)
			outer := r.caught
			r.caught = e
			defer func() { r.caught = outer }()
			return r.stmts(h.Exc.Action)
		}
	}
	return err
}

func (r *doRun) stmts(list []plNode) error {
	for _, n := range list {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.stmt(n); err != nil {
			return err
		}
	}
	return nil
}

func (r *doRun) stmt(n plNode) error {
	for kind, raw := range n {
		switch kind {
		case "PLpgSQL_stmt_block":
			var b plBlock
			if err := json.Unmarshal(raw, &b); err != nil {
				return err
			}
			return r.block(b)
		case "PLpgSQL_stmt_execsql":
			var x struct {
				SQL  plExpr `json:"sqlstmt"`
				Into bool   `json:"into"`
			}
			json.Unmarshal(raw, &x)
			if x.Into {
				return sqlerr.New(sqlerr.FeatureNotSupported, "SELECT … INTO in DO blocks is not supported yet")
			}
			return r.exec(x.SQL.Expr.Query, false)
		case "PLpgSQL_stmt_perform":
			var x struct {
				Expr plExpr `json:"expr"`
			}
			json.Unmarshal(raw, &x)
			return r.exec(x.Expr.Expr.Query, true)
		case "PLpgSQL_stmt_dynexecute":
			var x struct {
				Query plExpr `json:"query"`
				Into  bool   `json:"into"`
			}
			json.Unmarshal(raw, &x)
			d, err := r.value(x.Query.Expr.Query)
			if err != nil {
				return err
			}
			sql, ok := d.(string)
			if !ok {
				return sqlerr.New(sqlerr.NullValueNotAllowed, "query string argument of EXECUTE is null")
			}
			return r.exec(sql, true)
		case "PLpgSQL_stmt_if":
			var x plIf
			json.Unmarshal(raw, &x)
			return r.ifStmt(x)
		case "PLpgSQL_stmt_raise":
			var x plRaise
			json.Unmarshal(raw, &x)
			return r.raise(x)
		case "PLpgSQL_stmt_return":
			return errReturn
		default:
			return sqlerr.New(sqlerr.FeatureNotSupported, "%s is not supported in DO blocks yet", strings.TrimPrefix(kind, "PLpgSQL_stmt_"))
		}
	}
	return nil
}

func (r *doRun) ifStmt(x plIf) error {
	branches := []struct {
		cond  plExpr
		stmts []plNode
	}{{x.Cond, x.Then}}
	for _, e := range x.Elsifs {
		branches = append(branches, struct {
			cond  plExpr
			stmts []plNode
		}{e.Elsif.Cond, e.Elsif.Stmts})
	}
	for _, b := range branches {
		d, err := r.value("(" + b.cond.Expr.Query + ")::boolean")
		if err != nil {
			return err
		}
		if d == true {
			return r.stmts(b.stmts)
		}
	}
	return r.stmts(x.Else)
}

// raiseLevels are PL/pgSQL's elog levels below ERROR, as notices.
const raiseError = 21

func (r *doRun) raise(x plRaise) error {
	if x.CondName != "" && x.Message == "" {
		code, ok := conditionCodes[strings.ToLower(x.CondName)]
		if !ok {
			code = x.CondName
		}
		return sqlerr.New(code, "%s", x.CondName)
	}
	var msg strings.Builder
	params := x.Params
	for i := 0; i < len(x.Message); i++ {
		c := x.Message[i]
		if c != '%' {
			msg.WriteByte(c)
			continue
		}
		if i+1 < len(x.Message) && x.Message[i+1] == '%' {
			msg.WriteByte('%')
			i++
			continue
		}
		if len(params) == 0 {
			return sqlerr.New(sqlerr.SyntaxError, "too few parameters specified for RAISE")
		}
		d, err := r.value(params[0].Expr.Query + "::text")
		if err != nil {
			return err
		}
		params = params[1:]
		if d == nil {
			msg.WriteString("<NULL>")
		} else {
			msg.WriteString(fmt.Sprint(d))
		}
	}
	if x.Level >= raiseError {
		return sqlerr.New("P0001", "%s", msg.String())
	}
	r.notices = append(r.notices, msg.String())
	return nil
}

// exec runs SQL statements of the block; a query's rows are discarded
// with discard (PERFORM, EXECUTE) and refused without it, as PL/pgSQL
// refuses a SELECT with nowhere to put its result.
func (r *doRun) exec(sql string, discard bool) error {
	stmts, err := parser.Parse(sql)
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if _, isTx := st.Stmt.Node.(*pg.Node_TransactionStmt); isTx {
			return sqlerr.New(sqlerr.FeatureNotSupported, "transaction control in DO blocks is not supported")
		}
		if _, isSelect := st.Stmt.Node.(*pg.Node_SelectStmt); isSelect && !discard {
			return sqlerr.New(sqlerr.SyntaxError, "query has no destination for result data").
				WithHint("If you want to discard the results of a SELECT, use PERFORM instead.")
		}
		res, err := r.s.execStmt(r.ctx, sql, st)
		if err != nil {
			return err
		}
		r.notices = append(r.notices, res.Notices...)
		res.Release()
	}
	return nil
}

// value evaluates a PL/pgSQL expression: SQLSTATE and SQLERRM inside a
// handler, else `SELECT expr`.
func (r *doRun) value(expr string) (types.Datum, error) {
	if r.caught != nil {
		switch strings.ToLower(strings.TrimSuffix(strings.TrimSpace(expr), "::text")) {
		case "sqlstate":
			return r.caught.Code, nil
		case "sqlerrm":
			return r.caught.Message, nil
		}
	}
	stmts, err := parser.Parse("SELECT " + expr)
	if err != nil || len(stmts) != 1 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "invalid expression in DO block: %s", expr)
	}
	res, err := r.s.execStmt(r.ctx, "SELECT "+expr, stmts[0])
	if err != nil {
		return nil, err
	}
	defer res.Release()
	for _, b := range res.Batches {
		if b.NumRows() > 0 {
			return exec.DatumAt(b.Column(0), 0), nil
		}
	}
	return nil, nil
}

// conditionMatches reports whether an exception condition (a name or a
// five-character SQLSTATE) catches an error with SQLSTATE code.
func conditionMatches(name, code string) (bool, error) {
	name = strings.ToLower(name)
	if name == "others" {
		return code != sqlerr.QueryCanceled, nil
	}
	if len(name) == 5 && strings.IndexFunc(name, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z') }) < 0 {
		if _, named := conditionCodes[name]; !named {
			return strings.EqualFold(name, code), nil
		}
	}
	want, ok := conditionCodes[name]
	if !ok {
		return false, sqlerr.New(sqlerr.UndefinedObject, "unrecognized exception condition \"%s\"", name)
	}
	return want == code, nil
}

// conditionCodes are PostgreSQL's condition names for the SQLSTATEs DO
// blocks commonly catch.
var conditionCodes = map[string]string{
	"duplicate_object": "42710", "duplicate_table": "42P07", "duplicate_column": "42701", "duplicate_schema": "42P06",
	"duplicate_function": "42723", "duplicate_alias": "42712", "undefined_object": "42704", "undefined_table": "42P01",
	"undefined_column": "42703", "undefined_function": "42883", "invalid_schema_name": "3F000", "unique_violation": "23505",
	"foreign_key_violation": "23503", "not_null_violation": "23502", "check_violation": "23514",
	"division_by_zero": "22012", "invalid_text_representation": "22P02", "numeric_value_out_of_range": "22003",
	"string_data_right_truncation": "22001", "invalid_parameter_value": "22023", "insufficient_privilege": "42501",
	"feature_not_supported": "0A000", "syntax_error": "42601", "datatype_mismatch": "42804", "wrong_object_type": "42809",
	"dependent_objects_still_exist": "2BP01", "object_in_use": "55006", "lock_not_available": "55P03",
	"serialization_failure": "40001", "deadlock_detected": "40P01", "raise_exception": "P0001",
	"no_data_found": "P0002", "too_many_rows": "P0003", "query_canceled": "57014", "invalid_table_definition": "42P16",
	"cardinality_violation": "21000", "data_exception": "22000", "integrity_constraint_violation": "23000",
}
