package engine

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Several statements in one query string, outside a transaction block,
// run as one transaction in PostgreSQL (an implicit block): when one
// fails, what the earlier ones did is rolled back, and nothing is stored
// before the last one succeeded. BEGIN inside the string turns the
// implicit block into an ordinary one (the statements before it belong to
// it); COMMIT or ROLLBACK ends it (with PostgreSQL's warning that no
// transaction was in progress), and the statements after start another.
//
// Weft runs such a run of statements (up to the next BEGIN, COMMIT or
// ROLLBACK) in a block of its own when every statement in it is one its
// blocks can hold (rows, and the DDL ROLLBACK can undo). A run with
// anything else (a SET, which PostgreSQL would also roll back, CREATE
// SCHEMA or FUNCTION, roles, cursors, COPY, CHECKPOINT …) still runs
// statement by statement, each committed on its own, as before. VACUUM in
// such a string is refused before anything runs, as PostgreSQL refuses it.

// beginImplicit opens the block a multi-statement string runs in.
func (s *Session) beginImplicit() {
	s.tx = &txn{work: map[*catalog.Table]*tableWork{}, changes: newBlockChanges(), implicit: true}
	s.db.blocks.add(s.tx.changes)
}

// endImplicit commits the string's block (err == nil) or rolls it back;
// it returns the commit's error.
func (s *Session) endImplicit(err error) error {
	if s.tx == nil || !s.tx.implicit {
		return nil
	}
	if err != nil {
		s.rollbackBlock()
		return nil
	}
	return s.commitBlock()
}

// commitBlock commits the open block and ends it, sending what it
// notified; when the commit fails the block is rolled back.
func (s *Session) commitBlock() error {
	if err := s.commitWork(); err != nil {
		s.rollbackBlock()
		return err
	}
	sent, atCommit := s.tx.notifies, s.tx.atCommit
	s.endTxn()
	s.sendCommitted(sent)
	for _, f := range atCommit {
		f()
	}
	return nil
}

// refuseVacuumInString refuses a multi-statement string with VACUUM in it
// (VACUUM cannot run in a transaction, and the string is one).
func refuseVacuumInString(stmts []*pg.RawStmt) error {
	if len(stmts) < 2 {
		return nil
	}
	for _, st := range stmts {
		if _, ok := st.Stmt.Node.(*pg.Node_VacuumStmt); ok {
			return sqlerr.New(sqlerr.ActiveTransaction, "VACUUM cannot run inside a transaction block")
		}
	}
	return nil
}

// startsImplicit reports whether the statements from stmts[0] on (of a
// string of several) begin an implicit block: the run up to the next
// transaction command can be one, and when that command is BEGIN, which
// makes the block an ordinary one, the block it then continues in does
// not ALTER a table after the run wrote rows.
func startsImplicit(stmts []*pg.RawStmt) bool {
	run := untilTransactionControl(stmts)
	if !runsAsOneTransaction(run) {
		return false
	}
	rest := stmts[len(run):]
	if len(rest) == 0 || !writesRows(run) {
		return true
	}
	ts := rest[0].Stmt.GetTransactionStmt()
	if ts.Kind != pg.TransactionStmtKind_TRANS_STMT_BEGIN && ts.Kind != pg.TransactionStmtKind_TRANS_STMT_START {
		return true
	}
	for _, st := range rest[1:] {
		switch n := st.Stmt.Node.(type) {
		case *pg.Node_TransactionStmt:
			switch n.TransactionStmt.Kind {
			case pg.TransactionStmtKind_TRANS_STMT_COMMIT, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
				return true // the block ends there
			}
		case *pg.Node_AlterTableStmt, *pg.Node_RenameStmt:
			return false
		}
	}
	return true
}

func writesRows(stmts []*pg.RawStmt) bool {
	for _, st := range stmts {
		switch st.Stmt.Node.(type) {
		case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_TruncateStmt, *pg.Node_CreateTableAsStmt:
			return true
		}
	}
	return false
}

// untilTransactionControl is stmts up to the first BEGIN, COMMIT, ROLLBACK
// or savepoint command.
func untilTransactionControl(stmts []*pg.RawStmt) []*pg.RawStmt {
	for i, st := range stmts {
		if _, ok := st.Stmt.Node.(*pg.Node_TransactionStmt); ok {
			return stmts[:i]
		}
	}
	return stmts
}

// runsAsOneTransaction reports whether statements of a string can run in
// one block: every statement is one a block holds, and no ALTER TABLE
// follows a statement that wrote rows (a block cannot yet alter a table it
// has written).
func runsAsOneTransaction(stmts []*pg.RawStmt) bool {
	if len(stmts) == 0 {
		return false
	}
	wroteRows := false
	for _, st := range stmts {
		switch n := st.Stmt.Node.(type) {
		case *pg.Node_SelectStmt:
			if n.SelectStmt.IntoClause != nil {
				return false
			}
		case *pg.Node_VariableShowStmt:
		case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_TruncateStmt, *pg.Node_CreateTableAsStmt:
			wroteRows = true // (CREATE TABLE AS fills its table)
		case *pg.Node_CreateStmt, *pg.Node_ViewStmt, *pg.Node_IndexStmt,
			*pg.Node_CreateEnumStmt, *pg.Node_CreateDomainStmt, *pg.Node_CreateSeqStmt, *pg.Node_CommentStmt:
		case *pg.Node_DropStmt:
			d := n.DropStmt
			if d.Behavior == pg.DropBehavior_DROP_CASCADE ||
				(d.RemoveType != pg.ObjectType_OBJECT_TABLE && d.RemoveType != pg.ObjectType_OBJECT_VIEW && d.RemoveType != pg.ObjectType_OBJECT_MATVIEW) {
				return false
			}
		case *pg.Node_AlterTableStmt, *pg.Node_RenameStmt:
			if wroteRows {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// transactionInString runs a transaction command met inside the implicit
// block of a multi-statement string, as PostgreSQL does.
func (s *Session) transactionInString(st *pg.TransactionStmt) (*Result, error) {
	noTransaction := []string{"there is no transaction in progress"}
	switch st.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		m, err := readTxModes(st.Options)
		if err != nil {
			return nil, err
		}
		s.tx.implicit = false // the statements before BEGIN are in the block now
		s.tx.applyModes(m)    // BEGIN READ ONLY, ISOLATION LEVEL …
		return &Result{Tag: "BEGIN"}, nil
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return &Result{Tag: "COMMIT", Notices: noTransaction}, s.endImplicit(nil)
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		s.rollbackBlock()
		return &Result{Tag: "ROLLBACK", Notices: noTransaction}, nil
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return nil, sqlerr.New(sqlerr.NoActiveTransaction, "SAVEPOINT can only be used in transaction blocks")
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return nil, sqlerr.New(sqlerr.NoActiveTransaction, "RELEASE SAVEPOINT can only be used in transaction blocks")
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return nil, sqlerr.New(sqlerr.NoActiveTransaction, "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
	}
	return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this transaction command is not supported yet")
}
