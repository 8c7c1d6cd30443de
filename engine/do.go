package engine

import (
	"context"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/engine/plpgsql"
	"github.com/weftdb/weft/sql/sqlerr"
)

// DO blocks run on the PL/pgSQL interpreter (plfunc.go) as an anonymous
// function returning void. The whole DO is one transaction: outside a
// block it runs in one of its own, committed when it ends and rolled back
// when it fails, so that an EXCEPTION handler can undo what its block did.
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
	fn, err := plpgsql.Compile(plpgsql.Signature{Result: "void"}, body)
	if err != nil {
		return nil, err
	}
	own := s.tx == nil
	if own {
		s.beginImplicit()
		s.tx.implicit = false // ended here, not by the string around it
	}
	_, err = fn.Run(ctx, plpgsql.Call{Host: plHost{s}})
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
	return &Result{Tag: "DO"}, nil
}
