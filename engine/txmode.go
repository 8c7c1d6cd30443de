package engine

import (
	"reflect"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Transaction modes: the isolation level and read-only flag that BEGIN,
// SET TRANSACTION and SET SESSION CHARACTERISTICS give, as SHOW and
// current_setting report them (transaction_isolation and friends).
//
// Weft runs every block on a private version of the tables it writes,
// merged at COMMIT. Blocks and single statements lock the rows their
// UPDATE, DELETE or SELECT … FOR UPDATE changes or locks (tables with a
// primary key), and such a statement waits for another block that holds
// the row; then at READ COMMITTED (the default) it re-evaluates the row
// on the newest committed version (rowlocks.go), at REPEATABLE READ and
// SERIALIZABLE it fails with 40001 if that block committed a change of
// the row, as PostgreSQL does (serialconflict.go). Elsewhere blocks
// conflict first-committer-wins (40001 at COMMIT). The level is recorded so that
// clients which read it back (SQLAlchemy on connect, JDBC's
// getTransactionIsolation) see what they set. Read-only is enforced.

// isolationLevels are the levels PostgreSQL accepts, in SHOW's spelling.
var isolationLevels = map[string]bool{
	"serializable": true, "repeatable read": true, "read committed": true, "read uncommitted": true,
}

// txMode is one block's transaction characteristics; empty fields follow
// the session's defaults.
type txMode struct {
	isolation string
	readOnly  *bool
}

// readTxModes reads the DefElems of BEGIN / SET TRANSACTION.
func readTxModes(opts []*pg.Node) (txMode, error) {
	var m txMode
	for _, o := range opts {
		d := o.GetDefElem()
		if d == nil {
			continue
		}
		v := settingValue([]*pg.Node{d.Arg})
		switch d.Defname {
		case "transaction_isolation":
			v = strings.ToLower(v)
			if !isolationLevels[v] {
				return m, sqlerr.New(sqlerr.InvalidParameter, "invalid value for parameter \"transaction_isolation\": \"%s\"", v)
			}
			m.isolation = v
		case "transaction_read_only":
			ro := isOn(v)
			m.readOnly = &ro
		}
	}
	return m, nil
}

func isOn(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "on", "t", "yes":
		return true
	}
	return false
}

// setTransactionModes runs SET TRANSACTION … and SET SESSION
// CHARACTERISTICS AS TRANSACTION ….
func (s *Session) setTransactionModes(st *pg.VariableSetStmt) (*Result, error) {
	m, err := readTxModes(st.Args)
	if err != nil {
		return nil, err
	}
	if lower(st.Name) == "session characteristics" {
		if m.isolation != "" {
			s.settings["default_transaction_isolation"] = m.isolation
		}
		if m.readOnly != nil {
			s.settings["default_transaction_read_only"] = onOff(*m.readOnly)
		}
		return &Result{Tag: "SET"}, nil
	}
	if s.tx == nil {
		return &Result{Tag: "SET", Notices: []string{"SET TRANSACTION can only be used in transaction blocks"}}, nil
	}
	s.tx.applyModes(m)
	return &Result{Tag: "SET"}, nil
}

func (t *txn) applyModes(m txMode) {
	if m.isolation != "" {
		t.mode.isolation = m.isolation
	}
	if m.readOnly != nil {
		t.mode.readOnly = m.readOnly
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// transactionSetting answers SHOW for the settings that depend on the
// current block.
func (s *Session) transactionSetting(name string) (string, bool) {
	switch name {
	case "transaction_isolation":
		if s.tx != nil && s.tx.mode.isolation != "" {
			return s.tx.mode.isolation, true
		}
		return s.settings["default_transaction_isolation"], true
	case "transaction_read_only":
		return onOff(s.readOnlyBlock()), true
	case "transaction_deferrable":
		return "off", true
	}
	return "", false
}

// readOnlyBlock reports whether the current statement runs read-only.
func (s *Session) readOnlyBlock() bool {
	if s.tx != nil && s.tx.mode.readOnly != nil {
		return *s.tx.mode.readOnly
	}
	return s.settings["default_transaction_read_only"] == "on"
}

// readOnlyVerbs name, as PostgreSQL's message does, the statements a
// read-only transaction refuses.
var readOnlyVerbs = map[reflect.Type]string{
	reflect.TypeOf(&pg.Node_InsertStmt{}): "INSERT", reflect.TypeOf(&pg.Node_UpdateStmt{}): "UPDATE",
	reflect.TypeOf(&pg.Node_DeleteStmt{}): "DELETE", reflect.TypeOf(&pg.Node_MergeStmt{}): "MERGE",
	reflect.TypeOf(&pg.Node_CopyStmt{}): "COPY FROM", reflect.TypeOf(&pg.Node_CreateStmt{}): "CREATE TABLE",
	reflect.TypeOf(&pg.Node_CreateTableAsStmt{}): "CREATE TABLE AS", reflect.TypeOf(&pg.Node_IndexStmt{}): "CREATE INDEX",
	reflect.TypeOf(&pg.Node_DropStmt{}): "DROP", reflect.TypeOf(&pg.Node_AlterTableStmt{}): "ALTER TABLE",
	reflect.TypeOf(&pg.Node_TruncateStmt{}): "TRUNCATE TABLE", reflect.TypeOf(&pg.Node_RefreshMatViewStmt{}): "REFRESH MATERIALIZED VIEW",
}

// refuseInReadOnly refuses a statement that would change what is stored
// in a read-only transaction, as PostgreSQL does (25006).
func (s *Session) refuseInReadOnly(raw *pg.RawStmt) error {
	if !s.readOnlyBlock() || !changesState(raw) {
		return nil
	}
	switch n := raw.Stmt.Node.(type) {
	case *pg.Node_CopyStmt:
		if !n.CopyStmt.IsFrom {
			return nil
		}
	case *pg.Node_PrepareStmt, *pg.Node_DeallocateStmt, *pg.Node_ExecuteStmt, *pg.Node_DiscardStmt,
		*pg.Node_ListenStmt, *pg.Node_UnlistenStmt, *pg.Node_NotifyStmt, *pg.Node_VacuumStmt,
		*pg.Node_CheckPointStmt, *pg.Node_LockStmt, *pg.Node_DoStmt:
		return nil
	}
	what, ok := readOnlyVerbs[reflect.TypeOf(raw.Stmt.Node)]
	if !ok {
		what = "this statement"
	}
	return sqlerr.New(sqlerr.ReadOnlyTransaction, "cannot execute %s in a read-only transaction", what)
}
