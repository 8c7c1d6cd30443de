package plpgsql

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"google.golang.org/protobuf/proto"
)

// Param is one declared parameter of a function.
type Param struct {
	Name string
	Type string // as declared (SQL text)
	// Mode: 'i' IN, 'o' OUT, 'b' INOUT, 'v' VARIADIC, 't' TABLE column
	Mode byte
}

// In reports whether the caller passes the parameter.
func (p Param) In() bool { return p.Mode == 'i' || p.Mode == 'b' || p.Mode == 'v' }

// Out reports whether the parameter is part of the result.
func (p Param) Out() bool { return p.Mode == 'o' || p.Mode == 'b' || p.Mode == 't' }

// Signature is what a body needs to know of the function around it.
type Signature struct {
	Name   string
	Params []Param
	// Result is the declared result type as SQL text ("void" for DO).
	Result string
	SetOf  bool
}

// header is the CREATE FUNCTION statement pg_query's PL/pgSQL parser
// needs around a body: it reads parameter names and whether the function
// returns a set from it.
func (sig Signature) header() string {
	var b strings.Builder
	b.WriteString("CREATE FUNCTION weft_pl(")
	var params []string
	for _, p := range sig.Params {
		mode := map[byte]string{'o': "OUT ", 'b': "INOUT ", 'v': "VARIADIC "}[p.Mode]
		if p.Mode == 't' {
			continue
		}
		if p.Name != "" {
			mode += quoteIdent(p.Name) + " "
		}
		params = append(params, mode+p.Type)
	}
	b.WriteString(strings.Join(params, ", "))
	b.WriteString(") RETURNS ")
	if table := sig.tableColumns(); len(table) > 0 {
		b.WriteString("TABLE(")
		for i, p := range table {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(p.Name) + " " + p.Type)
		}
		b.WriteString(")")
	} else {
		if sig.SetOf {
			b.WriteString("SETOF ")
		}
		b.WriteString(sig.Result)
	}
	b.WriteString(" LANGUAGE plpgsql")
	return b.String()
}

func (sig Signature) tableColumns() []Param {
	var out []Param
	for _, p := range sig.Params {
		if p.Mode == 't' {
			out = append(out, p)
		}
	}
	return out
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// datum is a variable of the body, numbered as PL/pgSQL numbers them.
type datum struct {
	kind     string // var, rec, row, recfield
	name     string
	typeName string // declared type (var)
	isConst  bool
	notNull  bool
	def      *expr
	line     int
	// rowtype: a variable declared t%ROWTYPE (or with a table's name),
	// which is a record with the table's columns
	rowtype string
	parent  int    // recfield: the record
	field   string // recfield: the field
	fields  []int  // row: its variables
}

func (d *datum) isRecord() bool { return d.kind == "rec" || d.rowtype != "" }

// expr is a piece of SQL of the body, parsed, with its references to
// variables replaced by parameters $n+1 … (after the function's input
// parameters $1..$n).
type expr struct {
	text string // the SQL as run ("SELECT x + 1")
	stmt *pg.RawStmt
	refs []ref
	// names are the refs' variable names where written unqualified
	names []string
	// query: the statement is a SELECT (a destination is needed)
	query bool
}

// ref is a variable an expression reads: a datum, or a field of a record.
type ref struct {
	dno   int
	field string
}

// Function is a compiled body.
type Function struct {
	sig    Signature
	datums []*datum
	inputs []int // the datums of $1..$n
	outs   []int // the datums of OUT parameters (and TABLE columns)
	found  int   // FOUND's datum (-1: none)
	body   *block
	// types caches the declared types' resolution (the one part of a
	// Function that changes, under its mutex)
	types *typeCache
}

// Compile parses and compiles a body; errors in it (a misspelt keyword,
// a broken SQL statement, an assignment to a CONSTANT) are 42601.
func Compile(sig Signature, body string) (*Function, error) {
	js, err := parseBody(sig.header(), body)
	if err != nil {
		return nil, err
	}
	c := &compiler{lines: strings.Split(body, "\n"), fn: &Function{sig: sig, found: -1, types: &typeCache{m: map[string]types.T{}}}, claimed: map[int]bool{}}
	if err := c.datums(js.Function.Datums); err != nil {
		return nil, err
	}
	outer := &scope{label: strings.ToLower(sig.Name), vars: map[string]int{}}
	nparams := 0
	for _, p := range sig.Params {
		if p.Mode == 't' {
			continue
		}
		nparams++
	}
	dno := 0
	for _, p := range sig.Params {
		if dno >= len(c.fn.datums) {
			break
		}
		if p.In() {
			c.fn.inputs = append(c.fn.inputs, dno)
		}
		if p.Out() {
			c.fn.outs = append(c.fn.outs, dno)
		}
		if p.Name != "" {
			outer.vars[strings.ToLower(p.Name)] = dno
		}
		c.claimed[dno] = true
		dno++
	}
	for i, d := range c.fn.datums {
		if d.kind == "var" && (d.name == "found" && d.line == 0 || strings.HasPrefix(d.name, "__Case__")) {
			outer.vars[d.name] = i
			c.claimed[i] = true
			if d.name == "found" {
				c.fn.found = i
			}
		}
	}
	for alias, target := range aliases(body) {
		if n, ok := parseDollar(target); ok && n <= len(c.fn.inputs) {
			outer.vars[alias] = c.fn.inputs[n-1]
		} else if dno, ok := outer.vars[target]; ok {
			outer.vars[alias] = dno
		}
	}
	c.scope = outer
	b, err := c.block(js.Function.Action.Block)
	if err != nil {
		return nil, err
	}
	c.fn.body = b
	return c.fn, nil
}

// aliasDecl finds `name ALIAS FOR $n` declarations, which pg_query's
// output leaves out (they are names, not variables).
var aliasDecl = regexp.MustCompile(`(?i)\b([a-z_][a-z0-9_]*)\s+alias\s+for\s+(\$[0-9]+|[a-z_][a-z0-9_]*)`)

func aliases(body string) map[string]string {
	out := map[string]string{}
	for _, m := range aliasDecl.FindAllStringSubmatch(body, -1) {
		out[strings.ToLower(m[1])] = strings.ToLower(m[2])
	}
	return out
}

// returnNextVar finds the variable of `RETURN NEXT name` on a line of the
// body: pg_query's output leaves out a %ROWTYPE variable returned so.
var returnNextVar = regexp.MustCompile(`(?i)\breturn\s+next\s+([a-z_][a-z0-9_]*)\s*;`)

func (c *compiler) returnNextName(line int) string {
	if line < 1 || line > len(c.lines) {
		return ""
	}
	m := returnNextVar.FindStringSubmatch(c.lines[line-1])
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

func parseDollar(s string) (int, bool) {
	if !strings.HasPrefix(s, "$") {
		return 0, false
	}
	n := 0
	for _, c := range s[1:] {
		n = n*10 + int(c-'0')
	}
	return n, n > 0
}

// scope is the names a block declares, innermost first.
type scope struct {
	label  string
	vars   map[string]int
	parent *scope
}

func (s *scope) lookup(name string) (int, bool) {
	for sc := s; sc != nil; sc = sc.parent {
		if d, ok := sc.vars[name]; ok {
			return d, true
		}
	}
	return 0, false
}

func (s *scope) lookupIn(label, name string) (int, bool) {
	for sc := s; sc != nil; sc = sc.parent {
		if sc.label == label {
			d, ok := sc.vars[name]
			return d, ok
		}
	}
	return 0, false
}

type compiler struct {
	lines   []string // the body's, for what the parse leaves out
	fn      *Function
	scope   *scope
	claimed map[int]bool
	labels  []string // enclosing loop and block labels
}

func (c *compiler) datums(nodes []jsNode) error {
	for _, n := range nodes {
		kind, d, err := datumOf(n)
		if err != nil {
			return err
		}
		x := &datum{kind: kind, name: d.RefName, isConst: d.IsConst, notNull: d.NotNull, line: d.Line,
			parent: d.Parent, field: d.FieldName}
		if d.DataType != nil {
			x.typeName = strings.TrimSpace(d.DataType.Type.Name)
			if t := strings.ToLower(x.typeName); strings.HasSuffix(t, "%rowtype") {
				x.rowtype = strings.TrimSpace(x.typeName[:len(t)-len("%rowtype")])
			}
		}
		for _, f := range d.Fields {
			x.fields = append(x.fields, f.VarNo)
		}
		c.fn.datums = append(c.fn.datums, x)
		if d.Default != nil && d.Default.Expr != nil {
			// compiled once the block declaring it is (its scope)
			x.def = &expr{text: d.Default.Expr.Query}
		}
	}
	return nil
}

// claim takes the block's declared variables: those not yet taken that
// were declared up to the block's BEGIN line (blocks are compiled in the
// order they are written, so earlier blocks took theirs).
func (c *compiler) claim(line int) []int {
	var out []int
	for i, d := range c.fn.datums {
		if c.claimed[i] || d.line == 0 || d.line > line {
			continue
		}
		if d.kind != "var" && d.kind != "rec" {
			continue
		}
		if (d.name == "sqlstate" || d.name == "sqlerrm") && d.isConst {
			continue // a handler's, taken by its block
		}
		c.claimed[i] = true
		out = append(out, i)
	}
	return out
}

// compileExpr parses SQL text of the body in the current scope. value
// marks an expression (run as SELECT expr).
func (c *compiler) compileExpr(text string, value bool) (*expr, error) {
	sql := text
	if value {
		sql = "SELECT " + text
	}
	stmts, err := parser.Parse(sql)
	if err != nil {
		se := sqlerr.Wrap(err)
		se.Position = 0
		return nil, se.WithDetail(fmt.Sprintf("In PL/pgSQL: %s", strings.TrimSpace(text)))
	}
	if len(stmts) != 1 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "query \"%s\" is not a single statement", strings.TrimSpace(text))
	}
	raw := proto.Clone(stmts[0]).(*pg.RawStmt)
	e := &expr{text: sql, stmt: raw}
	if sel := raw.Stmt.GetSelectStmt(); sel != nil {
		e.query = true
	}
	slots := map[ref]int{}
	base := len(c.fn.inputs)
	var rerr error
	parser.Walk(raw, func(m proto.Message) bool {
		n, ok := m.(*pg.Node)
		if !ok {
			return true
		}
		cr := n.GetColumnRef()
		if cr == nil {
			return true
		}
		r, ok, err := c.resolve(cr)
		if err != nil && rerr == nil {
			rerr = err
		}
		if !ok {
			return true
		}
		slot, seen := slots[r]
		if !seen {
			name := ""
			if len(cr.Fields) == 1 {
				name = cr.Fields[0].GetString_().GetSval()
			}
			e.refs = append(e.refs, r)
			e.names = append(e.names, name)
			slot = base + len(e.refs)
			slots[r] = slot
		}
		n.Node = &pg.Node_ParamRef{ParamRef: &pg.ParamRef{Number: int32(slot), Location: cr.Location}}
		return false
	})
	return e, rerr
}

// resolve finds the variable a column reference names: x, a record's
// field r.f, or a name qualified by a block label or the function's name.
func (c *compiler) resolve(cr *pg.ColumnRef) (ref, bool, error) {
	var parts []string
	for _, f := range cr.Fields {
		s := f.GetString_()
		if s == nil {
			return ref{}, false, nil // r.* and the like
		}
		parts = append(parts, s.Sval)
	}
	switch len(parts) {
	case 1:
		d, ok := c.scope.lookup(parts[0])
		if !ok {
			return ref{}, false, nil
		}
		if c.fn.datums[d].isRecord() {
			return ref{}, false, sqlerr.New(sqlerr.FeatureNotSupported, "using the whole record \"%s\" in an expression is not supported yet: name its fields", parts[0])
		}
		return ref{dno: d}, true, nil
	case 2:
		if d, ok := c.scope.lookup(parts[0]); ok && c.fn.datums[d].isRecord() {
			return ref{dno: d, field: parts[1]}, true, nil
		}
		if d, ok := c.scope.lookupIn(parts[0], parts[1]); ok {
			return ref{dno: d}, true, nil
		}
	case 3:
		if d, ok := c.scope.lookupIn(parts[0], parts[1]); ok && c.fn.datums[d].isRecord() {
			return ref{dno: d, field: parts[2]}, true, nil
		}
	}
	return ref{}, false, nil
}

func (c *compiler) valueExpr(x *jsExpr) (*expr, error) {
	if x == nil || x.Expr == nil {
		return nil, nil
	}
	return c.compileExpr(x.Expr.Query, true)
}

func (c *compiler) valueExprs(xs []jsExpr) ([]*expr, error) {
	var out []*expr
	for i := range xs {
		e, err := c.valueExpr(&xs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// assignExpr compiles `target := value` (or `target = value`) as the
// value alone.
func (c *compiler) assignExpr(x *jsExpr) (*expr, error) {
	q := x.Expr.Query
	i := assignmentOperator(q)
	if i < 0 {
		return nil, sqlerr.New(sqlerr.SyntaxError, "cannot read the assignment \"%s\"", q)
	}
	return c.compileExpr(q[i:], true)
}

// assignmentOperator is where the value of `target := value` starts: the
// target is a (possibly quoted, qualified or subscripted) name.
func assignmentOperator(q string) int {
	depth := 0
	for i := 0; i < len(q); i++ {
		switch ch := q[i]; {
		case ch == '"':
			j := strings.IndexByte(q[i+1:], '"')
			if j < 0 {
				return -1
			}
			i += j + 1
		case ch == '[':
			depth++
		case ch == ']':
			depth--
		case depth > 0:
		case ch == ':' && i+1 < len(q) && q[i+1] == '=':
			return i + 2
		case ch == '=':
			return i + 1
		}
	}
	return -1
}

// unmarshal reads a statement node's fields.
func unmarshal(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return sqlerr.New(sqlerr.Internal, "reading the PL/pgSQL parse: %v", err)
	}
	return nil
}
