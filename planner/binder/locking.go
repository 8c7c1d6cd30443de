package binder

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/weftdb/weft/sql/sqlerr"
)

// LockingStrength names a locking clause as PostgreSQL's messages do
// ("FOR UPDATE", "FOR KEY SHARE", …).
func LockingStrength(lc *pg.LockingClause) string {
	if lc == nil {
		return "FOR UPDATE"
	}
	switch lc.Strength {
	case pg.LockClauseStrength_LCS_FORKEYSHARE:
		return "FOR KEY SHARE"
	case pg.LockClauseStrength_LCS_FORSHARE:
		return "FOR SHARE"
	case pg.LockClauseStrength_LCS_FORNOKEYUPDATE:
		return "FOR NO KEY UPDATE"
	}
	return "FOR UPDATE"
}

// CheckLockingShape refuses a locking clause on a query whose rows are not
// rows of a table, as far as the statement's shape tells (set operations,
// DISTINCT, GROUP BY, HAVING): 0A000, as PostgreSQL. The binder checks the
// rest (aggregates, window functions, set-returning functions) once it
// knows which calls are which.
func CheckLockingShape(stmt *pg.SelectStmt) error {
	if len(stmt.LockingClause) == 0 {
		return nil
	}
	var with string
	switch {
	case len(stmt.ValuesLists) > 0:
		return sqlerr.New(sqlerr.FeatureNotSupported, "%s cannot be applied to VALUES", LockingStrength(stmt.LockingClause[0].GetLockingClause()))
	case stmt.Op != pg.SetOperation_SETOP_NONE && stmt.Op != pg.SetOperation_SET_OPERATION_UNDEFINED:
		with = "UNION/INTERSECT/EXCEPT"
	case len(stmt.DistinctClause) > 0:
		with = "DISTINCT clause"
	case len(stmt.GroupClause) > 0:
		with = "GROUP BY clause"
	case stmt.HavingClause != nil:
		with = "HAVING clause"
	default:
		return nil
	}
	return lockingRefused(stmt, with)
}

// checkLockingCalls refuses a locking clause over aggregates, window
// functions or set-returning functions in the select list, the checks
// PostgreSQL makes after CheckLockingShape's.
func checkLockingCalls(stmt *pg.SelectStmt, ac *aggContext, setReturning bool) error {
	if len(stmt.LockingClause) == 0 {
		return nil
	}
	switch {
	case len(ac.aggs) > 0:
		return lockingRefused(stmt, "aggregate functions")
	case len(ac.windows) > 0:
		return lockingRefused(stmt, "window functions")
	case setReturning:
		return lockingRefused(stmt, "set-returning functions in the target list")
	}
	return nil
}

func lockingRefused(stmt *pg.SelectStmt, with string) error {
	strength := LockingStrength(stmt.LockingClause[0].GetLockingClause())
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s is not allowed with %s", strength, with)
}
