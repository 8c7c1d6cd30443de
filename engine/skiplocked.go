package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
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
// only ties in ORDER BY can cause, is let go again.) Over a join, a
// result row is left out when the row of any locked table in it is held.

// lockSkippingLocked takes the locks of the rows stmt returns, skipping
// locked ones as above, and returns those rows.
func (s *Session) lockSkippingLocked(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt, target lockTarget) (*Result, error) {
	heldBefore := len(s.heldRows)
	keys := target.keys
	skipped := make([][]string, len(target.tables)) // per locked table
	for {
		found, err := s.selectedRows(ctx, env, target, keys, true)
		if err != nil {
			return nil, err
		}
		more := false
		for i, k := range found.keys {
			if s.db.rowLocks.tryLock(s, []lockRequest{k}) != nil {
				t := i % len(target.tables)
				skipped[t] = append(skipped[t], found.literals[i])
				more = true
			}
		}
		if !more {
			s.db.rowLocks.unlockSince(s, heldBefore, found.keys)
			return s.afterOffset(ctx, env, stmt, found.answer)
		}
		found.answer.Release()
		left, err := leaveOutRows(target, skipped)
		if err != nil {
			return nil, err
		}
		keys = withCondition(target.keys, left)
	}
}

// afterOffset drops from res the rows stmt's OFFSET passes over (the keys
// query found and locked them too, as PostgreSQL locks them).
func (s *Session) afterOffset(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt, res *Result) (*Result, error) {
	if stmt.LimitOffset == nil {
		return res, nil
	}
	q := &pg.SelectStmt{TargetList: []*pg.Node{{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: stmt.LimitOffset, Location: -1}}}}}
	p, err := s.plan(env, q)
	if err != nil {
		res.Release()
		return nil, err
	}
	vals, err := s.run(ctx, env, p)
	if err != nil {
		res.Release()
		return nil, err
	}
	var skip int64
	if len(vals) > 0 && vals[0].NumRows() > 0 {
		switch n := exec.DatumAt(vals[0].Column(0), 0).(type) {
		case int64:
			skip = n
		case int32:
			skip = int64(n)
		case int16:
			skip = int64(n)
		}
		skip = max(skip, 0)
	}
	exec.ReleaseRecords(vals)
	var kept []arrow.Record
	for _, b := range res.Batches {
		switch n := b.NumRows(); {
		case skip >= n:
			skip -= n
		case skip > 0:
			kept = append(kept, b.NewSlice(skip, n))
			skip = 0
		default:
			b.Retain()
			kept = append(kept, b)
		}
	}
	res.Release()
	out := &Result{Columns: res.Columns, Batches: kept, Query: true}
	out.Tag = fmt.Sprintf("SELECT %d", out.NumRows())
	return out, nil
}

// leaveOutRows is the condition NOT (t.key IN (skipped…)) AND … over the
// locked tables with skipped rows; skipped are keys as SQL literals.
func leaveOutRows(target lockTarget, skipped [][]string) (*pg.Node, error) {
	var conds []string
	for i, lt := range target.tables {
		if len(skipped[i]) == 0 {
			continue
		}
		cols := make([]string, len(lt.keyCols))
		for j, c := range lt.keyCols {
			cols[j] = quoteIdent(lt.ref) + "." + quoteIdent(lt.table.Columns[c].Name)
		}
		key := cols[0]
		if len(cols) > 1 {
			key = "(" + strings.Join(cols, ", ") + ")"
		}
		if !lt.id.byValue {
			conds = append(conds, "NOT ("+key+" IN ("+strings.Join(skipped[i], ", ")+"))")
			continue
		}
		// a row named by its values may hold NULLs, which IN never matches
		same := make([]string, len(skipped[i]))
		for j, lit := range skipped[i] {
			same[j] = "ROW(" + strings.Join(cols, ", ") + ") IS NOT DISTINCT FROM ROW" + lit
		}
		conds = append(conds, "NOT ("+strings.Join(same, " OR ")+")")
	}
	stmts, err := parser.Parse("SELECT 1 WHERE " + strings.Join(conds, " AND "))
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

// keyLiteral writes the key of lt's row r (its key columns cols) as a SQL
// literal: 'v'::type, or a row of them (always a row for a row named by
// its values), NULL for a NULL.
func keyLiteral(lt lockedTable, cols []arrow.Array, r int) string {
	var b strings.Builder
	row := len(cols) > 1 || lt.id.byValue
	if row {
		b.WriteByte('(')
	}
	for i, col := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		t := lt.table.Columns[lt.keyCols[i]].Type
		if col.IsNull(r) {
			b.WriteString("NULL")
		} else {
			b.WriteString(quoteLiteral(types.Format(t, exec.DatumAt(col, r))))
		}
		b.WriteString("::")
		b.WriteString(t.String())
	}
	if row {
		b.WriteByte(')')
	}
	return b.String()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
