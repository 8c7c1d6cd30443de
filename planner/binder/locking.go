package binder

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/weftdb/weft/catalog"
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

// checkLockPrivileges requires, of every table stmt's locking clauses
// lock (those their OF lists name, or every one of the FROM list), the
// UPDATE privilege on the table or on one of its columns, as PostgreSQL:
// a role that may only read a table must not hold its rows against the
// writers.
func (b *Binder) checkLockPrivileges(stmt *pg.SelectStmt, from *scope) error {
	role := b.checkRole()
	if len(stmt.LockingClause) == 0 || role == "" {
		return nil
	}
	checked := map[uint32]bool{}
	for _, it := range from.items {
		t := it.srcTable
		if t == nil || checked[t.OID] || !lockedRef(stmt, it.qual) {
			continue
		}
		checked[t.OID] = true
		if !b.Cat.HasAnyColumnPrivilege(role, t, catalog.PrivUpdate) {
			return permissionDenied(catalog.KindTable, t.Name)
		}
	}
	return nil
}

// lockedRef reports whether a locking clause of stmt applies to the FROM
// item referred to as ref: one without an OF list, or one naming it.
func lockedRef(stmt *pg.SelectStmt, ref string) bool {
	for _, n := range stmt.LockingClause {
		rels := n.GetLockingClause().GetLockedRels()
		if len(rels) == 0 {
			return true
		}
		for _, r := range rels {
			if r.GetRangeVar().GetRelname() == ref {
				return true
			}
		}
	}
	return false
}
