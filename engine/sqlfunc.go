package engine

import (
	"context"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/udf"
)

// createSQLFunction handles CREATE [OR REPLACE] FUNCTION … LANGUAGE sql
// AS 'SELECT …' (or RETURN expr): a function whose body is one SELECT,
// inlined by the binder at each call. Its parameters may be named and
// have defaults; the body is checked now, as PostgreSQL checks it
// (check_function_bodies), against the declared result type.
func (s *Session) createSQLFunction(ctx context.Context, st *pg.CreateFunctionStmt, schema string, f *udf.Function, as []string) (*Result, error) {
	body, err := sqlFunctionBody(st, as)
	if err != nil {
		return nil, err
	}
	f.SQL = &udf.SQLBody{Text: body}
	for _, p := range st.Parameters {
		fp := p.Node.(*pg.Node_FunctionParameter).FunctionParameter
		switch fp.Mode {
		case pg.FunctionParameterMode_FUNC_PARAM_IN, pg.FunctionParameterMode_FUNC_PARAM_DEFAULT:
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "SQL functions with OUT, INOUT, VARIADIC or TABLE parameters are not supported yet")
		}
		t, any, err := functionType(fp.ArgType)
		if err != nil {
			return nil, err
		}
		if any {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "polymorphic SQL functions are not supported yet")
		}
		def := ""
		if fp.Defexpr != nil {
			if def, err = deparseExpr(fp.Defexpr); err != nil {
				return nil, err
			}
		} else if len(f.SQL.Defaults) > 0 && f.SQL.Defaults[len(f.SQL.Defaults)-1] != "" {
			return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "input parameters after one with a default value must also have defaults")
		}
		f.Args, f.AnyArgs = append(f.Args, t), append(f.AnyArgs, false)
		f.SQL.ArgNames = append(f.SQL.ArgNames, strings.ToLower(fp.Name))
		f.SQL.Defaults = append(f.SQL.Defaults, def)
	}
	if st.ReturnType == nil {
		return nil, sqlerr.New(sqlerr.InvalidFunctionDefinition, "function result type must be specified")
	}
	if st.ReturnType.Setof {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "set-returning SQL functions (RETURNS SETOF, RETURNS TABLE) are not supported yet")
	}
	var any bool
	if f.Result, any, err = functionType(st.ReturnType); err != nil {
		return nil, err
	}
	if any {
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "polymorphic SQL functions are not supported yet")
	}
	if err := s.binder(s.env()).CheckSQLFunction(f); err != nil {
		return nil, err
	}
	if err := s.createFunctionOwned(schema, f, st.Replace); err != nil {
		return nil, err
	}
	return &Result{Tag: "CREATE FUNCTION"}, nil
}

// sqlFunctionBody is the function's one statement as text: AS 'body' or
// the SQL-standard RETURN expr (kept as SELECT expr).
func sqlFunctionBody(st *pg.CreateFunctionStmt, as []string) (string, error) {
	if st.SqlBody != nil {
		ret := st.SqlBody.GetReturnStmt()
		if ret == nil {
			return "", sqlerr.New(sqlerr.FeatureNotSupported, "BEGIN ATOMIC function bodies are not supported yet: use RETURN expr or AS 'SELECT …'")
		}
		e, err := deparseExpr(ret.Returnval)
		if err != nil {
			return "", err
		}
		return "SELECT " + e, nil
	}
	if len(as) != 1 {
		return "", sqlerr.New(sqlerr.InvalidFunctionDefinition, "a SQL function needs AS 'body' or RETURN expr")
	}
	stmts, err := parser.Parse(as[0])
	if err != nil {
		return "", err
	}
	if len(stmts) != 1 || stmts[0].Stmt.GetSelectStmt() == nil {
		return "", sqlerr.New(sqlerr.FeatureNotSupported, "SQL functions whose body is not a single SELECT are not supported yet")
	}
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(as[0]), ";")), nil
}
