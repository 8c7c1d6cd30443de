package engine

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
	"google.golang.org/protobuf/proto"
)

// SELECT … FOR UPDATE (and FOR NO KEY UPDATE, FOR SHARE, FOR KEY SHARE)
// over one table with a primary key takes the row locks UPDATE and
// DELETE take (rowlocks.go) on the rows it returns, where those take
// them (outside a block, or in a READ COMMITTED one): a row another
// block changed or locked makes it wait for that block to end, then find
// its rows again on the newest committed data, as PostgreSQL re-checks a
// locked row. A block holds the locks until it ends; a statement outside
// a block only while it runs. Every strength locks exclusively (two
// FOR SHARE lockers wait for each other, where PostgreSQL lets both
// through). NOWAIT fails at once with 55P03, lock_timeout after that
// long. SKIP LOCKED leaves out rows others hold (skiplocked.go). Queries
// over several tables, a view or a subquery, and a locking clause inside
// a subquery, read their rows without locking them.

// lockSelectedRows takes the locks of the rows stmt (a SELECT with a
// locking clause) returns, waiting as described above; release is set
// when the locks end with the statement. run is the query to run then:
// stmt itself, or under SKIP LOCKED stmt without the rows it skipped.
func (s *Session) lockSelectedRows(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt) (run *pg.SelectStmt, release func(), err error) {
	if err := binder.CheckLockingShape(stmt); err != nil {
		return nil, nil, err
	}
	target, ok := s.lockTarget(stmt)
	if !ok || !s.locksRows(target.table) {
		return stmt, func() {}, nil
	}
	release = func() {}
	if s.tx == nil {
		release = s.releaseRowLocks
	}
	if err := s.rebaseLocked(target.table); err != nil {
		release()
		return nil, nil, err
	}
	if target.clause.WaitPolicy == pg.LockWaitPolicy_LockWaitSkip {
		run, err = s.lockSkippingLocked(ctx, env, stmt, target)
		if err != nil {
			release()
			return nil, nil, err
		}
		return run, release, nil
	}
	for {
		held, err := s.selectedRowKeys(ctx, env, target, target.keys)
		if err != nil {
			release()
			return nil, nil, err
		}
		blocker := s.db.rowLocks.tryLock(s, held)
		if blocker == nil {
			return stmt, release, nil
		}
		if target.clause.WaitPolicy == pg.LockWaitPolicy_LockWaitError {
			release()
			return nil, nil, sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on row in relation \"%s\"", target.table.Name)
		}
		if s.tx == nil {
			s.releaseRowLocks() // hold nothing while waiting
		}
		if err := s.db.rowLocks.wait(ctx, s, blocker); err != nil {
			release()
			return nil, nil, err
		}
		if err := s.rebaseLocked(target.table); err != nil {
			release()
			return nil, nil, err
		}
	}
}

// rebaseLocked moves a block's private version of t onto the newest
// committed rows (READ COMMITTED), as an UPDATE does before it runs.
func (s *Session) rebaseLocked(t *catalog.Table) error {
	if s.tx == nil {
		return nil
	}
	t.Lock()
	defer t.Unlock()
	return s.rebaseWork(t)
}

// lockTarget is what a locking SELECT locks: the table, its locking
// clause, and the query that finds the rows to lock.
type lockTarget struct {
	stmt   *pg.SelectStmt // the locking SELECT
	table  *catalog.Table
	clause *pg.LockingClause
	// keys is the SELECT with the table's primary key columns added after
	// its own (so that ORDER BY by position or output name, LIMIT and
	// OFFSET pick the same rows) and no locking clause
	keys *pg.SelectStmt
	// keyCols are the primary key's column positions in the table
	keyCols []int
}

// lockKeyAlias names the key columns lockTarget adds, so that they never
// collide with an output name ORDER BY refers to.
const lockKeyAlias = "weft_lock_key_"

// lockTarget finds what stmt locks; ok is false where it takes no locks
// (see above).
func (s *Session) lockTarget(stmt *pg.SelectStmt) (target lockTarget, ok bool) {
	if len(stmt.LockingClause) != 1 || len(stmt.FromClause) != 1 || stmt.Op != pg.SetOperation_SETOP_NONE || stmt.WithClause != nil {
		return lockTarget{}, false
	}
	lc := stmt.LockingClause[0].GetLockingClause()
	rv := stmt.FromClause[0].GetRangeVar()
	if lc == nil || rv == nil {
		return lockTarget{}, false
	}
	t, v, found := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
	if !found || v != nil || t == nil {
		return lockTarget{}, false
	}
	pk := primaryKey(t)
	if pk == nil {
		return lockTarget{}, false
	}
	keys := proto.Clone(stmt).(*pg.SelectStmt) // (the session's parse cache keeps stmt)
	keys.LockingClause = nil
	for i, c := range pk.Columns {
		ref := &pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: &pg.ColumnRef{Fields: []*pg.Node{pg.MakeStrNode(t.Columns[c].Name)}, Location: -1}}}
		keys.TargetList = append(keys.TargetList, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Name: lockKeyAlias + itoa(int64(i)), Val: ref, Location: -1}}})
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
	return lockTarget{stmt: stmt, table: t, clause: lc, keys: keys, keyCols: pk.Columns}, true
}

// selectedRowKeys runs keys (target.keys or a narrowing of it) and names
// its rows' locks, in the order of its rows.
func (s *Session) selectedRowKeys(ctx context.Context, env *exec.Env, target lockTarget, keys *pg.SelectStmt) ([]rowLockKey, error) {
	rows, _, err := s.selectedRows(ctx, env, target, keys, false)
	return rows, err
}

// selectedRows is selectedRowKeys that also gives, when literals is set,
// each row's key as a SQL literal (see keyLiteral).
func (s *Session) selectedRows(ctx context.Context, env *exec.Env, target lockTarget, keys *pg.SelectStmt, literals bool) ([]rowLockKey, []string, error) {
	p, err := s.plan(env, keys)
	if err != nil {
		if _, own := s.plan(env, target.stmt); own != nil {
			return nil, nil, own // the statement's own error (an aggregate refused with FOR UPDATE, …), not one of the key columns added
		}
		return nil, nil, err
	}
	batches, err := s.run(ctx, env, p)
	if err != nil {
		return nil, nil, err
	}
	defer exec.ReleaseRecords(batches)
	kts := keyTypes(target.table, catalog.Key{Columns: target.keyCols})
	var out []rowLockKey
	var lits []string
	var buf []byte
	cols := make([]arrow.Array, len(kts))
	values := make([]types.Datum, len(kts))
	for _, b := range batches {
		first := int(b.NumCols()) - len(kts) // the key columns come last
		for i := range cols {
			cols[i] = b.Column(first + i)
		}
		for r := 0; r < int(b.NumRows()); r++ {
			buf = exec.EncodeKey(buf[:0], kts, cols, r)
			out = append(out, rowLockKey{oid: target.table.OID, key: string(buf)})
			if literals {
				for i, c := range cols {
					values[i] = exec.DatumAt(c, r)
				}
				lits = append(lits, keyLiteral(target, values))
			}
		}
	}
	return out, lits, nil
}

// lockTimeout is the lock_timeout setting (0: wait as long as it takes).
func (s *Session) lockTimeout() time.Duration {
	return parseTimeout(s.settings["lock_timeout"])
}

// errLockTimeout is PostgreSQL's error for a lock wait past lock_timeout.
func errLockTimeout() error {
	return sqlerr.New(sqlerr.LockNotAvailable, "canceling statement due to lock timeout")
}
