package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"google.golang.org/protobuf/proto"
)

// SELECT … FOR UPDATE (and FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE)
// takes the row locks UPDATE and DELETE take (rowlocks.go) on the rows it
// returns of each table in its FROM list (joined or not; those its OF
// list names when it has one; rows named as rowIdentity says), where those take
// them (outside a block, or in a READ COMMITTED one): a row another
// block changed or locked makes it wait for that block to end, then find
// its rows again on the newest committed data, as PostgreSQL re-checks a
// locked row. A block holds the locks until it ends; a statement outside
// a block only while it runs. Each table's rows take the strongest
// strength of the clauses that name it (or name none), and conflict as
// PostgreSQL's do (locktable.go: two FOR SHARE lockers go through
// together, FOR KEY SHARE waits only for FOR UPDATE). NOWAIT fails at once
// with 55P03, lock_timeout after that long. SKIP LOCKED leaves out rows others hold (skiplocked.go). Rows
// read through a view, a subquery or a function, and a locking clause
// inside a subquery or a WITH query, are read without locks.

// lockSelectedRows takes the locks of the rows stmt (a SELECT with a
// locking clause) returns, waiting as described above, and returns those
// rows: the very rows it locked (a second run of the query could differ:
// a row committed meanwhile, a volatile ORDER BY). res is nil where the
// statement takes no locks and runs as a plain query; release is set
// when the locks end with the statement.
func (s *Session) lockSelectedRows(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt) (res *Result, release func(), err error) {
	if err := binder.CheckLockingShape(stmt); err != nil {
		return nil, nil, err
	}
	target, ok, err := s.lockTarget(stmt)
	if err != nil {
		return nil, nil, err
	}
	if !ok || !s.locksRows(target.tables[0].table) {
		return nil, func() {}, nil
	}
	release = func() {}
	if s.tx == nil {
		release = s.releaseRowLocks
	}
	sinces := s.serialSinces(target) // (REPEATABLE READ: serialconflict.go)
	defer releaseSnapshots(sinces)
	if err := s.rebaseLockedTables(target); err != nil {
		release()
		return nil, nil, err
	}
	if target.clause.WaitPolicy == pg.LockWaitPolicy_LockWaitSkip {
		res, err = s.lockSkippingLocked(ctx, env, stmt, target)
		if err != nil {
			release()
			return nil, nil, err
		}
		return res, release, nil
	}
	for {
		found, err := s.selectedRows(ctx, env, target, target.keys, false)
		if err != nil {
			release()
			return nil, nil, err
		}
		blocker := s.db.rowLocks.tryLock(s, found.keys)
		if blocker == nil {
			if err := changedSinces(sinces, found.keys); err != nil {
				found.answer.Release()
				release()
				return nil, nil, err
			}
			return found.answer, release, nil
		}
		found.answer.Release()
		if target.clause.WaitPolicy == pg.LockWaitPolicy_LockWaitError {
			release()
			return nil, nil, sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on row in relation \"%s\"", target.tableOf(blocker.key).Name)
		}
		if s.tx == nil {
			s.releaseRowLocks() // hold nothing while waiting
		}
		if err := s.db.rowLocks.wait(ctx, s, *blocker); err != nil {
			release()
			return nil, nil, err
		}
		if err := changedSinces(sinces, []lockRequest{*blocker}); err != nil {
			release()
			return nil, nil, err
		}
		if err := s.rebaseLockedTables(target); err != nil {
			release()
			return nil, nil, err
		}
	}
}

// rebaseLockedTables moves a block's private version of the tables it
// locks rows of onto the newest committed rows (READ COMMITTED), as an
// UPDATE does before it runs.
func (s *Session) rebaseLockedTables(target lockTarget) error {
	if s.tx == nil {
		return nil
	}
	for _, lt := range target.tables {
		if err := s.rebaseLocked(lt.table); err != nil {
			return err
		}
	}
	return nil
}

// rebaseLocked moves a block's private version of t onto the newest
// committed rows.
func (s *Session) rebaseLocked(t *catalog.Table) error {
	t.Lock()
	defer t.Unlock()
	return s.rebaseWork(t)
}

// lockTarget is what a locking SELECT locks: the tables, its locking
// clause, and the query that finds the rows to lock.
type lockTarget struct {
	stmt   *pg.SelectStmt // the locking SELECT
	clause *pg.LockingClause
	tables []lockedTable
	// keys is the SELECT with the locked tables' identity columns
	// added after its own (so that ORDER BY by position or output name,
	// LIMIT and OFFSET pick the same rows); its rows, without them, are the answer
	keys *pg.SelectStmt
}

// lockedTable is a table a locking SELECT locks rows of, as the query
// names it (its alias, or its name), and the strength it locks them with.
type lockedTable struct {
	table   *catalog.Table
	ref     string
	keyCols []int // the columns naming its rows (id's), in the table
	id      rowIdentity
	mode    lockMode
}

// tableOf is the locked table of a row lock key.
func (target lockTarget) tableOf(key rowLockKey) *catalog.Table {
	for _, lt := range target.tables {
		if lt.table.OID == key.oid {
			return lt.table
		}
	}
	return target.tables[0].table
}

// clauseMode is the row lock a locking clause takes.
func clauseMode(lc *pg.LockingClause) lockMode {
	switch lc.Strength {
	case pg.LockClauseStrength_LCS_FORKEYSHARE:
		return lockForKeyShare
	case pg.LockClauseStrength_LCS_FORSHARE:
		return lockForShare
	case pg.LockClauseStrength_LCS_FORNOKEYUPDATE:
		return lockForNoKeyUpdate
	}
	return lockForUpdate
}

// lockModeFor is the strongest lock the locking clauses of stmt take on
// the FROM item ref: those with no OF list, and those that name it
// (lockNone: none does).
func lockModeFor(stmt *pg.SelectStmt, ref string) lockMode {
	mode := lockNone
	for _, n := range stmt.LockingClause {
		c := n.GetLockingClause()
		applies := len(c.GetLockedRels()) == 0
		for _, r := range c.GetLockedRels() {
			applies = applies || r.GetRangeVar().GetRelname() == ref
		}
		if m := clauseMode(c); applies && m > mode {
			mode = m
		}
	}
	return mode
}

// lockKeyAlias names the key columns lockTarget adds, so that they never
// collide with an output name ORDER BY refers to.
const lockKeyAlias = "weft_lock_key_"

// lockTarget finds what stmt locks: the rows of every table of its FROM
// list (joined or not; those its OF list names, when it has one). ok is
// false where it locks nothing: no such table,
// a CTE (see above). A table on the nullable side of an outer join is
// 0A000 and an OF name that is no FROM item 42P01, as PostgreSQL.
func (s *Session) lockTarget(stmt *pg.SelectStmt) (target lockTarget, ok bool, err error) {
	if len(stmt.LockingClause) == 0 || stmt.Op != pg.SetOperation_SETOP_NONE {
		return lockTarget{}, false, nil
	}
	ctes := map[string]*pg.Node{}
	for _, n := range stmt.GetWithClause().GetCtes() {
		if c := n.GetCommonTableExpr(); c != nil {
			ctes[c.Ctename] = c.Ctequery
		}
	}
	lc := stmt.LockingClause[0].GetLockingClause()
	if lc == nil {
		return lockTarget{}, false, nil
	}
	var items []fromTable
	for _, n := range stmt.FromClause {
		items = appendFromTables(items, n, false)
	}
	for _, c := range stmt.LockingClause {
		for _, n := range c.GetLockingClause().GetLockedRels() {
			rv := n.GetRangeVar()
			if !slicesContainsRef(items, rv.GetRelname()) {
				return lockTarget{}, false, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" in %s clause not found in FROM clause",
					rv.GetRelname(), binder.LockingStrength(c.GetLockingClause())).At(rv.GetLocation())
			}
		}
	}
	for _, it := range items {
		mode := lockModeFor(stmt, it.ref)
		if mode == lockNone {
			continue
		}
		if it.nullable {
			return lockTarget{}, false, sqlerr.New(sqlerr.FeatureNotSupported, "%s cannot be applied to the nullable side of an outer join", binder.LockingStrength(lc))
		}
		if it.sub != nil {
			if s.readsRelations(it.sub) {
				return lockTarget{}, false, errLockingThrough(lc)
			}
			continue
		}
		if q, isCTE := ctes[it.rv.Relname]; isCTE && it.rv.Schemaname == "" {
			if s.readsRelations(q) {
				return lockTarget{}, false, errLockingThrough(lc)
			}
			continue
		}
		t, v, found := s.db.cat.Lookup(it.rv.Schemaname, it.rv.Relname, s.searchPath)
		if found && v != nil {
			return lockTarget{}, false, errLockingThrough(lc)
		}
		if !found || t == nil {
			continue
		}
		if t.MatView != "" {
			return lockTarget{}, false, sqlerr.New(sqlerr.WrongObjectType, "cannot lock rows in materialized view \"%s\"", t.Name)
		}
		id := identityOf(t)
		target.tables = append(target.tables, lockedTable{table: t, ref: it.ref, keyCols: id.cols, id: id, mode: mode})
	}
	if len(target.tables) == 0 {
		return lockTarget{}, false, nil
	}
	target.stmt, target.clause = stmt, lc
	target.keys = lockKeysQuery(stmt, lc, target.tables)
	return target, true, nil
}

// fromTable is a table a FROM list names (or a subquery, sub), with the
// name the query refers to it by and whether an outer join can fill its
// columns with NULLs.
type fromTable struct {
	rv       *pg.RangeVar
	sub      *pg.Node
	ref      string
	nullable bool
}

// errLockingThrough refuses to lock rows a view, subquery or WITH query
// reads: PostgreSQL locks the rows of the tables under them, which is not
// built; running without the locks would let a lost update through.
func errLockingThrough(lc *pg.LockingClause) error {
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s of rows read through a view, subquery or WITH query is not supported yet", binder.LockingStrength(lc)).
		WithHint("Select from the tables themselves, or name them with FOR UPDATE OF.")
}

// readsRelations reports whether query names a table or view (those whose
// rows a lock would reach).
func (s *Session) readsRelations(query *pg.Node) bool {
	found := false
	parser.Walk(query, func(m proto.Message) bool {
		if rv, ok := m.(*pg.RangeVar); ok {
			if _, _, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath); ok {
				found = true
			}
		}
		return !found
	})
	return found
}

// appendFromTables adds the tables FROM item n names (through joins;
// subqueries and functions are passed over).
func appendFromTables(out []fromTable, n *pg.Node, nullable bool) []fromTable {
	switch x := n.Node.(type) {
	case *pg.Node_RangeVar:
		ref := x.RangeVar.Relname
		if x.RangeVar.Alias != nil {
			ref = x.RangeVar.Alias.Aliasname
		}
		return append(out, fromTable{rv: x.RangeVar, ref: ref, nullable: nullable})
	case *pg.Node_RangeSubselect:
		ref := ""
		if x.RangeSubselect.Alias != nil {
			ref = x.RangeSubselect.Alias.Aliasname
		}
		return append(out, fromTable{sub: x.RangeSubselect.Subquery, ref: ref, nullable: nullable})
	case *pg.Node_JoinExpr:
		j := x.JoinExpr
		leftNull := nullable || j.Jointype == pg.JoinType_JOIN_RIGHT || j.Jointype == pg.JoinType_JOIN_FULL
		rightNull := nullable || j.Jointype == pg.JoinType_JOIN_LEFT || j.Jointype == pg.JoinType_JOIN_FULL
		out = appendFromTables(out, j.Larg, leftNull)
		return appendFromTables(out, j.Rarg, rightNull)
	}
	return out
}

func slicesContainsRef(items []fromTable, ref string) bool {
	for _, it := range items {
		if it.ref == ref {
			return true
		}
	}
	return false
}

// lockKeysQuery is stmt with the key columns of tables added after its
// select list.
func lockKeysQuery(stmt *pg.SelectStmt, lc *pg.LockingClause, tables []lockedTable) *pg.SelectStmt {
	// (the locking clause stays: the binder refuses it over aggregates,
	// window functions and set-returning functions; the keys query runs
	// through plan and run, which take no locks)
	keys := proto.Clone(stmt).(*pg.SelectStmt) // (the session's parse cache keeps stmt)
	n := 0
	for _, lt := range tables {
		for _, c := range lt.keyCols {
			ref := &pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: &pg.ColumnRef{
				Fields: []*pg.Node{pg.MakeStrNode(lt.ref), pg.MakeStrNode(lt.table.Columns[c].Name)}, Location: -1}}}
			keys.TargetList = append(keys.TargetList, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Name: lockKeyAlias + itoa(int64(n)), Val: ref, Location: -1}}})
			n++
		}
	}
	if lc.WaitPolicy == pg.LockWaitPolicy_LockWaitSkip && keys.LimitOffset != nil {
		// the rows OFFSET passes over are locked (or skipped) too, as
		// PostgreSQL's row locking below LIMIT does: find them all
		if keys.LimitCount != nil {
			keys.LimitCount = &pg.Node{Node: &pg.Node_AExpr{AExpr: &pg.A_Expr{Kind: pg.A_Expr_Kind_AEXPR_OP,
				Name: []*pg.Node{pg.MakeStrNode("+")}, Lexpr: keys.LimitCount, Rexpr: keys.LimitOffset, Location: -1}}}
		}
		keys.LimitOffset = nil
	}
	return keys
}

// foundRows are the rows a keys query found: every locked table's row
// locks, row after row (len(tables) a row), and with them, when
// asked for, each as a SQL literal of its key (see keyLiteral); answer is
// the rows without the key columns, the statement's result (the caller
// releases it).
type foundRows struct {
	keys     []lockRequest
	literals []string
	answer   *Result
}

// selectedRows runs keys (target.keys or a narrowing of it) and names
// the rows to lock, in the order of its rows.
func (s *Session) selectedRows(ctx context.Context, env *exec.Env, target lockTarget, keys *pg.SelectStmt, literals bool) (foundRows, error) {
	p, err := s.plan(env, keys)
	if err != nil {
		if _, own := s.plan(env, target.stmt); own != nil {
			return foundRows{}, own // the statement's own error (an aggregate refused with FOR UPDATE, …), not one of the key columns added
		}
		return foundRows{}, err
	}
	batches, err := s.run(ctx, env, p)
	if err != nil {
		return foundRows{}, err
	}
	defer exec.ReleaseRecords(batches)
	width := 0
	for _, lt := range target.tables {
		width += len(lt.keyCols)
	}
	planCols := p.Columns()
	found := foundRows{answer: &Result{Columns: columnsOf(planCols[:len(planCols)-width]), Query: true}}
	var buf []byte
	for _, b := range batches {
		first := int(b.NumCols()) - width // the key columns come last
		found.answer.Batches = append(found.answer.Batches, array.NewRecord(arrow.NewSchema(b.Schema().Fields()[:first], nil), b.Columns()[:first], b.NumRows()))
		for r := 0; r < int(b.NumRows()); r++ {
			at := first
			for _, lt := range target.tables {
				cols := make([]arrow.Array, len(lt.keyCols))
				for i := range cols {
					cols[i] = b.Column(at + i)
				}
				at += len(cols)
				var key string
				buf, key = lt.id.lockKey(buf, cols, r)
				found.keys = append(found.keys, lockRequest{key: rowLockKey{oid: lt.table.OID, key: key}, mode: lt.mode})
				if literals {
					found.literals = append(found.literals, keyLiteral(lt, cols, r))
				}
			}
		}
	}
	found.answer.Tag = fmt.Sprintf("SELECT %d", found.answer.NumRows())
	return found, nil
}

// lockTimeout is the lock_timeout setting (0: wait as long as it takes).
func (s *Session) lockTimeout() time.Duration {
	return parseTimeout(s.settings["lock_timeout"])
}

// errLockTimeout is PostgreSQL's error for a lock wait past lock_timeout.
func errLockTimeout() error {
	return sqlerr.New(sqlerr.LockNotAvailable, "canceling statement due to lock timeout")
}

// refuseNestedLocking refuses a locking clause inside a subquery or WITH
// query of sel (0A000): its rows would be read without the locks, which
// only a top-level clause takes here. (sql, the statement's text, lets a
// query without the word FOR skip the walk.)
func refuseNestedLocking(sql string, sel *pg.SelectStmt) error {
	if !containsFold(sql, "for ") {
		return nil
	}
	var nested *pg.LockingClause
	parser.Walk(sel, func(m proto.Message) bool {
		if inner, ok := m.(*pg.SelectStmt); ok && inner != sel && len(inner.LockingClause) > 0 {
			nested = inner.LockingClause[0].GetLockingClause()
		}
		return nested == nil
	})
	if nested == nil {
		return nil
	}
	return sqlerr.New(sqlerr.FeatureNotSupported, "%s inside a subquery or WITH query is not supported yet", binder.LockingStrength(nested)).
		WithHint("Put the locking clause on the outer query.")
}

// containsFold reports whether s contains sub (ASCII, any case).
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
