package engine

import (
	"context"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"

	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// SELECT … FOR UPDATE SKIP LOCKED (a job queue's "take the next free
// job") locks the rows it returns and leaves out, without waiting, the
// rows another session holds a lock on (a FOR UPDATE, or an UPDATE or
// DELETE of an open block). PostgreSQL tries each row as the scan reaches
// it, below ORDER BY's LIMIT; here the query runs in rounds instead: each
// round finds its rows (LIMIT and OFFSET included) with the rows skipped
// so far left out, locks the free ones and skips the others, until a round
// skips nothing. Those rows are the answer: the statement then runs with
// the same rows left out, and so returns exactly what it locked. (A row
// locked in an early round that a later round no longer returns, which
// only ties in ORDER BY can cause, is let go again.)

// lockSkippingLocked takes the locks of the rows stmt returns, skipping
// locked ones as above, and returns stmt with the skipped rows left out.
func (s *Session) lockSkippingLocked(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt, target lockTarget) (*pg.SelectStmt, error) {
	heldBefore := len(s.heldRows)
	run, keys := stmt, target.keys
	var skipped []string
	for {
		rows, lits, err := s.selectedRows(ctx, env, target, keys, true)
		if err != nil {
			return nil, err
		}
		n := len(skipped)
		for i, k := range rows {
			if s.db.rowLocks.tryLock(s, []rowLockKey{k}) != nil {
				skipped = append(skipped, lits[i])
			}
		}
		if len(skipped) == n {
			s.db.rowLocks.unlockExcept(s, heldBefore, rows)
			return run, nil
		}
		left, err := leaveOutRows(target, skipped)
		if err != nil {
			return nil, err
		}
		run, keys = withCondition(stmt, left), withCondition(target.keys, left)
	}
}

// leaveOutRows is the condition NOT (key IN (skipped…)) over target's
// primary key columns; skipped are rows' keys as SQL literals.
func leaveOutRows(target lockTarget, skipped []string) (*pg.Node, error) {
	var b strings.Builder
	b.WriteString("SELECT 1 WHERE NOT (")
	if len(target.keyCols) > 1 {
		b.WriteByte('(')
	}
	for i, c := range target.keyCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(target.table.Columns[c].Name))
	}
	if len(target.keyCols) > 1 {
		b.WriteByte(')')
	}
	b.WriteString(" IN (")
	b.WriteString(strings.Join(skipped, ", "))
	b.WriteString("))")
	stmts, err := parser.Parse(b.String())
	if err != nil {
		return nil, sqlerr.New(sqlerr.Internal, "SKIP LOCKED: cannot leave out the locked rows: %v", err)
	}
	return stmts[0].Stmt.GetSelectStmt().WhereClause, nil
}

// withCondition is a copy of stmt whose WHERE also requires cond.
func withCondition(stmt *pg.SelectStmt, cond *pg.Node) *pg.SelectStmt {
	out := proto.Clone(stmt).(*pg.SelectStmt)
	if out.WhereClause == nil {
		out.WhereClause = cond
		return out
	}
	out.WhereClause = &pg.Node{Node: &pg.Node_BoolExpr{BoolExpr: &pg.BoolExpr{
		Boolop: pg.BoolExprType_AND_EXPR, Args: []*pg.Node{out.WhereClause, cond}, Location: -1}}}
	return out
}

// keyLiteral writes a row's key values as a SQL literal: 'v'::type, or a
// row of them.
func keyLiteral(target lockTarget, values []types.Datum) string {
	var b strings.Builder
	if len(values) > 1 {
		b.WriteByte('(')
	}
	for i, d := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		t := target.table.Columns[target.keyCols[i]].Type
		b.WriteString(quoteLiteral(types.Format(t, d)))
		b.WriteString("::")
		b.WriteString(t.String())
	}
	if len(values) > 1 {
		b.WriteByte(')')
	}
	return b.String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
