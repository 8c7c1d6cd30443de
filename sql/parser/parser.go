// Package parser wraps pg_query (PostgreSQL's own grammar) and turns its
// errors into positioned SQL errors.
package parser

import (
	"errors"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Parse parses one or more statements.
func Parse(sql string) ([]*pg.RawStmt, error) {
	if err := checkNesting(sql); err != nil {
		return nil, err
	}
	tree, err := pg.Parse(sql)
	if err != nil {
		if isRecursionLimit(err) {
			return nil, StackDepthError()
		}
		var pe *pgparser.Error
		if errors.As(err, &pe) {
			e := sqlerr.New(sqlerr.SyntaxError, "%s", pe.Message)
			if pe.Cursorpos > 0 {
				e.Position = pe.Cursorpos
			}
			if strings.Contains(pe.Message, "unterminated") {
				e.Code = sqlerr.SyntaxError
			}
			return nil, e
		}
		return nil, sqlerr.New(sqlerr.SyntaxError, "%s", err.Error())
	}
	return tree.Stmts, nil
}

// isRecursionLimit reports the protobuf decoder's refusal of a parse tree
// nested deeper than it allows (10,000 messages): too deep input, not a
// syntax error.
func isRecursionLimit(err error) bool {
	return strings.Contains(err.Error(), "exceeded maximum recursion depth")
}

// StatementText returns the source text of one parsed statement.
func StatementText(sql string, st *pg.RawStmt) string {
	start := int(st.StmtLocation)
	end := len(sql)
	if st.StmtLen > 0 {
		end = start + int(st.StmtLen)
	}
	if start < 0 || start > len(sql) || end > len(sql) {
		return sql
	}
	return strings.TrimSpace(sql[start:end])
}

// grammarVersion is the PostgreSQL version number pg_query stamps on its
// parse trees; the deparser refuses trees without it.
func grammarVersion() int32 {
	tree, err := pg.Parse("SELECT")
	if err != nil {
		return 0
	}
	return tree.Version
}

// Deparse turns one statement back into SQL text.
func Deparse(stmt *pg.Node) (string, error) {
	if treeDeeperThan(stmt.ProtoReflect(), maxDeparseDepth) {
		return "", StackDepthError()
	}
	return pg.Deparse(&pg.ParseResult{Version: grammarVersion(), Stmts: []*pg.RawStmt{{Stmt: stmt}}})
}

// DeparseExpr turns one expression back into SQL text.
func DeparseExpr(expr *pg.Node) (string, error) {
	sel := &pg.SelectStmt{TargetList: []*pg.Node{{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: expr}}}}}
	out, err := Deparse(&pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}})
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(out, "SELECT "), nil
}
