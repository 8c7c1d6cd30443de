package plpgsql

import (
	"encoding/json"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// The compiled statements. Each is a plain struct; run.go executes them.

type stmt interface{}

type block struct {
	label    string
	decls    []int // variables set to their defaults on entry
	body     []stmt
	handlers []handler
	// the handlers' SQLSTATE and SQLERRM variables (-1: none)
	sqlstate, sqlerrm int
}

type handler struct {
	conds []string // condition names or five-character SQLSTATEs
	body  []stmt
}

type assignStmt struct {
	target int // a datum (a recfield names its record's field)
	value  *expr
}

type ifStmt struct {
	conds  []*expr
	bodies [][]stmt
	els    []stmt
}

type caseStmt struct {
	test    *expr // nil: a searched CASE
	testVar int
	whens   []*expr
	bodies  [][]stmt
	hasElse bool
	els     []stmt
}

type loopStmt struct {
	label string
	cond  *expr // WHILE; nil for LOOP
	body  []stmt
}

type foriStmt struct {
	label              string
	v                  int
	lower, upper, step *expr
	reverse            bool
	body               []stmt
}

type forsStmt struct {
	label  string
	target target
	query  *expr   // FOR … IN SELECT
	dyn    *expr   // FOR … IN EXECUTE
	params []*expr // USING
	body   []stmt
}

type foreachStmt struct {
	label  string
	target target
	slice  int
	array  *expr
	body   []stmt
}

type exitStmt struct {
	exit  bool // EXIT, else CONTINUE
	label string
	cond  *expr
}

type returnStmt struct {
	value *expr
	// implicit: the RETURN the parser adds at the end of every body
	// (reaching it in a function that returns a value is 2F005)
	implicit bool
}

type returnNextStmt struct {
	value  *expr
	retvar int // -1: none
}

type returnQueryStmt struct {
	query  *expr
	dyn    *expr
	params []*expr
}

type execSQLStmt struct {
	sql    *expr
	into   bool
	strict bool
	target target
}

type performStmt struct{ query *expr }

type dynExecStmt struct {
	query  *expr
	into   bool
	strict bool
	target target
	params []*expr
}

type getDiagStmt struct {
	kinds   []string
	targets []int
}

type raiseStmt struct {
	level    int
	condname string
	message  string
	params   []*expr
	opts     []raiseOpt
}

type raiseOpt struct {
	kind  int // PostgreSQL's PLPGSQL_RAISEOPTION_*
	value *expr
}

type assertStmt struct{ cond, message *expr }

type nullStmt struct{}

// target is where a row goes: a record, or a list of variables.
type target struct {
	rec  int // -1 unless a record
	vars []int
}

type jsTarget struct {
	Rec *struct {
		DNo int `json:"dno"`
	} `json:"PLpgSQL_rec"`
	Row *struct {
		Fields []struct {
			VarNo int `json:"varno"`
		} `json:"fields"`
	} `json:"PLpgSQL_row"`
	Var *struct {
		RefName string `json:"refname"`
		Line    int    `json:"lineno"`
	} `json:"PLpgSQL_var"`
}

func (c *compiler) target(t *jsTarget) (target, error) {
	switch {
	case t == nil:
		return target{rec: -1}, nil
	case t.Rec != nil:
		return target{rec: t.Rec.DNo}, nil
	case t.Row != nil:
		tg := target{rec: -1}
		for _, f := range t.Row.Fields {
			tg.vars = append(tg.vars, f.VarNo)
		}
		if len(tg.vars) == 1 && c.fn.datums[tg.vars[0]].isRecord() {
			return target{rec: tg.vars[0]}, nil
		}
		return tg, nil
	case t.Var != nil:
		if d, ok := c.scope.lookup(t.Var.RefName); ok {
			if c.fn.datums[d].isRecord() {
				return target{rec: d}, nil
			}
			return target{rec: -1, vars: []int{d}}, nil
		}
	}
	return target{}, sqlerr.New(sqlerr.FeatureNotSupported, "this kind of INTO or loop target is not supported")
}

func (c *compiler) block(raw json.RawMessage) (*block, error) {
	var x struct {
		Line       int      `json:"lineno"`
		Label      string   `json:"label"`
		Body       []jsNode `json:"body"`
		Exceptions *struct {
			Block struct {
				List []struct {
					Exc struct {
						Conditions []struct {
							Cond struct {
								Name  string `json:"condname"`
								State string `json:"sqlerrstate"`
							} `json:"PLpgSQL_condition"`
						} `json:"conditions"`
						Action []jsNode `json:"action"`
					} `json:"PLpgSQL_exception"`
				} `json:"exc_list"`
			} `json:"PLpgSQL_exception_block"`
		} `json:"exceptions"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	b := &block{label: x.Label, sqlstate: -1, sqlerrm: -1}
	sc := &scope{label: x.Label, vars: map[string]int{}, parent: c.scope}
	c.scope = sc
	defer func() { c.scope = sc.parent }()
	for _, d := range c.claim(x.Line) {
		b.decls = append(b.decls, d)
		sc.vars[c.fn.datums[d].name] = d
		if err := c.compileDefault(d); err != nil {
			return nil, err
		}
	}
	var err error
	c.labels = append(c.labels, x.Label)
	b.body, err = c.stmts(x.Body)
	c.labels = c.labels[:len(c.labels)-1]
	if err != nil {
		return nil, err
	}
	if x.Exceptions == nil {
		return b, nil
	}
	for i, d := range c.fn.datums {
		if c.claimed[i] || !d.isConst || d.kind != "var" {
			continue
		}
		if d.name == "sqlstate" && b.sqlstate < 0 {
			b.sqlstate = i
			c.claimed[i] = true
		} else if d.name == "sqlerrm" && b.sqlerrm < 0 {
			b.sqlerrm = i
			c.claimed[i] = true
		}
	}
	hs := &scope{vars: map[string]int{}, parent: sc}
	if b.sqlstate >= 0 {
		hs.vars["sqlstate"] = b.sqlstate
	}
	if b.sqlerrm >= 0 {
		hs.vars["sqlerrm"] = b.sqlerrm
	}
	c.scope = hs
	for _, h := range x.Exceptions.Block.List {
		var hd handler
		for _, cond := range h.Exc.Conditions {
			name := strings.ToLower(cond.Cond.Name)
			if err := checkCondition(name); err != nil {
				return nil, err
			}
			hd.conds = append(hd.conds, name)
		}
		if hd.body, err = c.stmts(h.Exc.Action); err != nil {
			return nil, err
		}
		b.handlers = append(b.handlers, hd)
	}
	c.scope = sc
	return b, nil
}

func (c *compiler) compileDefault(d int) error {
	x := c.fn.datums[d]
	if x.def == nil || x.def.stmt != nil {
		return nil
	}
	e, err := c.compileExpr(x.def.text, true)
	if err != nil {
		return err
	}
	x.def = e
	return nil
}

func (c *compiler) stmts(list []jsNode) ([]stmt, error) {
	var out []stmt
	for _, n := range list {
		s, err := c.stmt(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (c *compiler) stmt(n jsNode) (stmt, error) {
	kind, raw := kindOf(n)
	switch kind {
	case "block":
		return c.block(raw)
	case "assign":
		var x struct {
			VarNo int    `json:"varno"`
			Expr  jsExpr `json:"expr"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		if x.VarNo < len(c.fn.datums) && c.fn.datums[x.VarNo].kind == "var" && strings.Contains(x.Expr.Expr.Query[:max(0, assignmentOperator(x.Expr.Expr.Query))], "[") {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "assignment to an array element is not supported yet")
		}
		e, err := c.assignExpr(&x.Expr)
		return &assignStmt{target: x.VarNo, value: e}, err
	case "if":
		return c.ifStmt(raw)
	case "case":
		return c.caseStmt(raw)
	case "loop", "while":
		var x struct {
			Label string   `json:"label"`
			Cond  *jsExpr  `json:"cond"`
			Body  []jsNode `json:"body"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		cond, err := c.valueExpr(x.Cond)
		if err != nil {
			return nil, err
		}
		body, err := c.loopBody(x.Label, x.Body)
		return &loopStmt{label: x.Label, cond: cond, body: body}, err
	case "fori":
		return c.foriStmt(raw)
	case "fors", "dynfors":
		return c.forsStmt(raw)
	case "foreach_a":
		return c.foreachStmt(raw)
	case "exit":
		var x struct {
			IsExit bool    `json:"is_exit"`
			Label  string  `json:"label"`
			Cond   *jsExpr `json:"cond"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		cond, err := c.valueExpr(x.Cond)
		return &exitStmt{exit: x.IsExit, label: x.Label, cond: cond}, err
	case "return":
		var x struct {
			Expr *jsExpr `json:"expr"`
			Line int     `json:"lineno"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		e, err := c.valueExpr(x.Expr)
		return &returnStmt{value: e, implicit: x.Line == 0 && x.Expr == nil}, err
	case "return_next":
		var x struct {
			Expr   *jsExpr `json:"expr"`
			RetVar *int    `json:"retvarno"`
			Line   int     `json:"lineno"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		rs := &returnNextStmt{retvar: -1}
		if x.Expr == nil && x.RetVar == nil {
			if d, ok := c.scope.lookup(c.returnNextName(x.Line)); ok {
				rs.retvar = d
				return rs, nil
			}
		}
		if x.RetVar != nil && *x.RetVar > 0 {
			rs.retvar = *x.RetVar
			return rs, nil
		}
		var err error
		rs.value, err = c.valueExpr(x.Expr)
		return rs, err
	case "return_query":
		var x struct {
			Query  *jsExpr  `json:"query"`
			Dyn    *jsExpr  `json:"dynquery"`
			Params []jsExpr `json:"params"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		rq := &returnQueryStmt{}
		var err error
		if x.Query != nil {
			if rq.query, err = c.compileExpr(x.Query.Expr.Query, false); err != nil {
				return nil, err
			}
		}
		if rq.dyn, err = c.valueExpr(x.Dyn); err != nil {
			return nil, err
		}
		rq.params, err = c.valueExprs(x.Params)
		return rq, err
	case "execsql":
		var x struct {
			SQL    jsExpr    `json:"sqlstmt"`
			Into   bool      `json:"into"`
			Strict bool      `json:"strict"`
			Target *jsTarget `json:"target"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		e, err := c.compileExpr(x.SQL.Expr.Query, false)
		if err != nil {
			return nil, err
		}
		tg, err := c.target(x.Target)
		return &execSQLStmt{sql: e, into: x.Into, strict: x.Strict, target: tg}, err
	case "perform":
		var x struct {
			Expr jsExpr `json:"expr"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		// PERFORM query is the query with SELECT in PERFORM's place
		q := x.Expr.Expr.Query
		e, err := c.compileExpr(q, false)
		return &performStmt{query: e}, err
	case "dynexecute":
		var x struct {
			Query  jsExpr    `json:"query"`
			Into   bool      `json:"into"`
			Strict bool      `json:"strict"`
			Target *jsTarget `json:"target"`
			Params []jsExpr  `json:"params"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		q, err := c.valueExpr(&x.Query)
		if err != nil {
			return nil, err
		}
		params, err := c.valueExprs(x.Params)
		if err != nil {
			return nil, err
		}
		tg, err := c.target(x.Target)
		return &dynExecStmt{query: q, into: x.Into, strict: x.Strict, target: tg, params: params}, err
	case "getdiag":
		var x struct {
			Items []struct {
				Item struct {
					Kind   string `json:"kind"`
					Target int    `json:"target"`
				} `json:"PLpgSQL_diag_item"`
			} `json:"diag_items"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		g := &getDiagStmt{}
		for _, it := range x.Items {
			g.kinds = append(g.kinds, it.Item.Kind)
			g.targets = append(g.targets, it.Item.Target)
		}
		return g, nil
	case "raise":
		return c.raiseStmt(raw)
	case "assert":
		var x struct {
			Cond    *jsExpr `json:"cond"`
			Message *jsExpr `json:"message"`
		}
		if err := unmarshal(raw, &x); err != nil {
			return nil, err
		}
		cond, err := c.valueExpr(x.Cond)
		if err != nil {
			return nil, err
		}
		msg, err := c.valueExpr(x.Message)
		return &assertStmt{cond: cond, message: msg}, err
	case "":
		return &nullStmt{}, nil
	case "open", "fetch", "close", "forc":
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cursors in PL/pgSQL (%s) are not supported", strings.ToUpper(kind))
	case "commit", "rollback":
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "transaction control in PL/pgSQL is not supported")
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "PL/pgSQL statement %s is not supported", strings.ToUpper(kind))
	}
}

func (c *compiler) loopBody(label string, body []jsNode) ([]stmt, error) {
	c.labels = append(c.labels, label)
	defer func() { c.labels = c.labels[:len(c.labels)-1] }()
	return c.stmts(body)
}

func (c *compiler) ifStmt(raw json.RawMessage) (stmt, error) {
	var x struct {
		Cond   jsExpr   `json:"cond"`
		Then   []jsNode `json:"then_body"`
		Elsifs []struct {
			Elsif struct {
				Cond  jsExpr   `json:"cond"`
				Stmts []jsNode `json:"stmts"`
			} `json:"PLpgSQL_if_elsif"`
		} `json:"elsif_list"`
		Else []jsNode `json:"else_body"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	s := &ifStmt{}
	add := func(cond *jsExpr, body []jsNode) error {
		e, err := c.valueExpr(cond)
		if err != nil {
			return err
		}
		b, err := c.stmts(body)
		s.conds, s.bodies = append(s.conds, e), append(s.bodies, b)
		return err
	}
	if err := add(&x.Cond, x.Then); err != nil {
		return nil, err
	}
	for _, e := range x.Elsifs {
		if err := add(&e.Elsif.Cond, e.Elsif.Stmts); err != nil {
			return nil, err
		}
	}
	var err error
	s.els, err = c.stmts(x.Else)
	return s, err
}

func (c *compiler) caseStmt(raw json.RawMessage) (stmt, error) {
	var x struct {
		Test  *jsExpr `json:"t_expr"`
		TVar  int     `json:"t_varno"`
		Whens []struct {
			When struct {
				Expr  jsExpr   `json:"expr"`
				Stmts []jsNode `json:"stmts"`
			} `json:"PLpgSQL_case_when"`
		} `json:"case_when_list"`
		HasElse bool     `json:"have_else"`
		Else    []jsNode `json:"else_stmts"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	s := &caseStmt{testVar: x.TVar, hasElse: x.HasElse}
	var err error
	if s.test, err = c.valueExpr(x.Test); err != nil {
		return nil, err
	}
	for _, w := range x.Whens {
		e, err := c.valueExpr(&w.When.Expr)
		if err != nil {
			return nil, err
		}
		b, err := c.stmts(w.When.Stmts)
		if err != nil {
			return nil, err
		}
		s.whens, s.bodies = append(s.whens, e), append(s.bodies, b)
	}
	s.els, err = c.stmts(x.Else)
	return s, err
}

func (c *compiler) foriStmt(raw json.RawMessage) (stmt, error) {
	var x struct {
		Label string `json:"label"`
		Var   struct {
			V struct {
				RefName string `json:"refname"`
				Line    int    `json:"lineno"`
			} `json:"PLpgSQL_var"`
		} `json:"var"`
		Lower   jsExpr   `json:"lower"`
		Upper   jsExpr   `json:"upper"`
		Step    *jsExpr  `json:"step"`
		Reverse bool     `json:"reverse"`
		Body    []jsNode `json:"body"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	s := &foriStmt{label: x.Label, reverse: x.Reverse, v: -1}
	// (a body written on one line may have let its block take the
	// variable as a declaration: harmless, it is set on every iteration)
	for _, unclaimedOnly := range []bool{true, false} {
		for i, d := range c.fn.datums {
			if s.v < 0 && (!unclaimedOnly || !c.claimed[i]) && d.kind == "var" && d.name == x.Var.V.RefName && d.line == x.Var.V.Line {
				s.v = i
				c.claimed[i] = true
			}
		}
	}
	if s.v < 0 {
		return nil, sqlerr.New(sqlerr.Internal, "FOR loop variable %s not found", x.Var.V.RefName)
	}
	var err error
	if s.lower, err = c.valueExpr(&x.Lower); err != nil {
		return nil, err
	}
	if s.upper, err = c.valueExpr(&x.Upper); err != nil {
		return nil, err
	}
	if s.step, err = c.valueExpr(x.Step); err != nil {
		return nil, err
	}
	sc := &scope{vars: map[string]int{x.Var.V.RefName: s.v}, parent: c.scope}
	c.scope = sc
	defer func() { c.scope = sc.parent }()
	s.body, err = c.loopBody(x.Label, x.Body)
	return s, err
}

func (c *compiler) forsStmt(raw json.RawMessage) (stmt, error) {
	var x struct {
		Label  string    `json:"label"`
		Var    *jsTarget `json:"var"`
		Query  jsExpr    `json:"query"`
		Params []jsExpr  `json:"params"`
		Body   []jsNode  `json:"body"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	s := &forsStmt{label: x.Label}
	var err error
	if s.target, err = c.target(x.Var); err != nil {
		return nil, err
	}
	if s.params, err = c.valueExprs(x.Params); err != nil {
		return nil, err
	}
	if x.Query.Expr.ParseMode == 0 {
		s.query, err = c.compileExpr(x.Query.Expr.Query, false)
	} else {
		s.dyn, err = c.valueExpr(&x.Query)
	}
	if err != nil {
		return nil, err
	}
	s.body, err = c.loopBody(x.Label, x.Body)
	return s, err
}

func (c *compiler) foreachStmt(raw json.RawMessage) (stmt, error) {
	var x struct {
		Label string   `json:"label"`
		VarNo int      `json:"varno"`
		Slice int      `json:"slice"`
		Expr  jsExpr   `json:"expr"`
		Body  []jsNode `json:"body"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	if x.Slice != 0 {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "FOREACH … SLICE is not supported yet")
	}
	s := &foreachStmt{label: x.Label, slice: x.Slice}
	if c.fn.datums[x.VarNo].kind == "row" {
		s.target = target{rec: -1, vars: c.fn.datums[x.VarNo].fields}
	} else if c.fn.datums[x.VarNo].isRecord() {
		s.target = target{rec: x.VarNo}
	} else {
		s.target = target{rec: -1, vars: []int{x.VarNo}}
	}
	var err error
	if s.array, err = c.valueExpr(&x.Expr); err != nil {
		return nil, err
	}
	s.body, err = c.loopBody(x.Label, x.Body)
	return s, err
}

func (c *compiler) raiseStmt(raw json.RawMessage) (stmt, error) {
	var x struct {
		Level    int      `json:"elog_level"`
		CondName string   `json:"condname"`
		Message  string   `json:"message"`
		Params   []jsExpr `json:"params"`
		Options  []struct {
			Opt struct {
				Type int    `json:"opt_type"`
				Expr jsExpr `json:"expr"`
			} `json:"PLpgSQL_raise_option"`
		} `json:"options"`
	}
	if err := unmarshal(raw, &x); err != nil {
		return nil, err
	}
	s := &raiseStmt{level: x.Level, condname: x.CondName, message: x.Message}
	if x.CondName != "" {
		if _, err := conditionCode(strings.ToLower(x.CondName)); err != nil {
			return nil, err
		}
	}
	var err error
	if s.params, err = c.valueExprs(x.Params); err != nil {
		return nil, err
	}
	if want := strings.Count(strings.ReplaceAll(x.Message, "%%", ""), "%"); x.Message != "" && want != len(s.params) {
		if want > len(s.params) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "too few parameters specified for RAISE")
		}
		return nil, sqlerr.New(sqlerr.SyntaxError, "too many parameters specified for RAISE")
	}
	for _, o := range x.Options {
		e, err := c.valueExpr(&o.Opt.Expr)
		if err != nil {
			return nil, err
		}
		s.opts = append(s.opts, raiseOpt{kind: o.Opt.Type, value: e})
	}
	return s, nil
}
