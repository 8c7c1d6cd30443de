package plpgsql

import (
	"context"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/types"
)

// Host is the session a body runs in.
type Host interface {
	// Run runs one parsed SQL statement with $1..$n bound to params (of
	// types ts). text is the statement's source, for messages.
	// names[i] is the variable $i+1 stands for where the body named it
	// unqualified ("" otherwise): a column of that name in the statement
	// makes the reference ambiguous, as PostgreSQL's
	// plpgsql.variable_conflict = error has it.
	Run(ctx context.Context, text string, stmt *pg.RawStmt, params []types.Datum, ts []types.T, names []string) (*Rows, error)
	// Type resolves a declared type name (int, numeric(10,2), t.col%TYPE
	// is resolved by the caller through ColumnType).
	Type(name string) (types.T, error)
	// RowType is a table's (or composite type's) columns, for %ROWTYPE
	// and variables declared with a table's name as type.
	RowType(name string) ([]string, []types.T, error)
	// Notice sends a message below ERROR to the client.
	Notice(msg string)
	// Savepoint marks the transaction's state so that a block whose
	// exception handler catches an error can undo what it did; ok is
	// false when nothing runs in a transaction that can be marked.
	Savepoint() (id int, ok bool)
	// RollbackTo undoes what was done since the savepoint, and forgets it.
	RollbackTo(id int)
	// Release forgets the savepoint, keeping what was done since.
	Release(id int)
}

// Rows is what one statement returned.
type Rows struct {
	Names []string
	Types []types.T
	Data  [][]types.Datum
	// Query is true when the statement returns rows (a SELECT, or a
	// data change with RETURNING).
	Query bool
	// Affected counts rows the statement returned, inserted, updated or
	// deleted (GET DIAGNOSTICS … ROW_COUNT).
	Affected int64
}
