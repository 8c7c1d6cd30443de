package sqllogictest

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// WriteShape changes how a file's data is written without changing what
// is written, so that a query's answer can be required not to depend on
// it: real tables are filled by many statements, and their NULLs sit in
// some batches and not in others.
type WriteShape struct {
	// SplitInserts runs each row of a multi-row INSERT … VALUES as its
	// own statement (one batch per row).
	SplitInserts bool
	// Reverse inserts those rows last first.
	Reverse bool
	// Checkpoint runs CHECKPOINT after every statement that succeeds, so
	// that a durable database stores each statement's rows in segments of
	// their own.
	Checkpoint bool
}

// rewrite returns the statements that write what sql writes under the
// shape; sql itself when the shape does not apply to it.
func (w WriteShape) rewrite(sql string) []string {
	if !w.SplitInserts {
		return []string{sql}
	}
	tree, err := pg.Parse(sql)
	if err != nil || len(tree.Stmts) != 1 {
		return []string{sql}
	}
	ins := tree.Stmts[0].Stmt.GetInsertStmt()
	if ins == nil || ins.ReturningList != nil || ins.OnConflictClause != nil || ins.WithClause != nil {
		return []string{sql}
	}
	sel := ins.SelectStmt.GetSelectStmt()
	if sel == nil || len(sel.ValuesLists) < 2 {
		return []string{sql}
	}
	rows := sel.ValuesLists
	// rows that take a sequence's next value (a serial column left out, an
	// explicit DEFAULT or nextval) would get other values in another
	// order: those keep theirs
	reverse := w.Reverse && len(ins.Cols) == 0 && !strings.Contains(strings.ToUpper(sql), "DEFAULT") && !strings.Contains(strings.ToLower(sql), "nextval")
	out := make([]string, 0, len(rows))
	for i := range rows {
		row := rows[i]
		if reverse {
			row = rows[len(rows)-1-i]
		}
		sel.ValuesLists = []*pg.Node{row}
		one, err := pg.Deparse(tree)
		if err != nil {
			return []string{sql}
		}
		out = append(out, one)
	}
	return out
}
