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
// long. SKIP LOCKED, and queries over several tables, a view or a
// subquery, read their rows without locking them, as before.

// lockSelectedRows takes the locks of the rows stmt (a SELECT with a
// locking clause) returns, waiting as described above; release is set
// when the locks end with the statement.
func (s *Session) lockSelectedRows(ctx context.Context, env *exec.Env, stmt *pg.SelectStmt) (release func(), err error) {
	if err := binder.CheckLockingShape(stmt); err != nil {
		return nil, err
	}
	t, lc, keys, ok := s.lockTarget(stmt)
	if !ok || !s.locksRows(t) {
		return func() {}, nil
	}
	release = func() {}
	if s.tx == nil {
		release = s.releaseRowLocks
	}
	for {
		if err := s.rebaseLocked(t); err != nil {
			release()
			return nil, err
		}
		held, err := s.selectedRowKeys(ctx, env, t, keys)
		if err != nil {
			release()
			return nil, err
		}
		blocker := s.db.rowLocks.tryLock(s, held)
		if blocker == nil {
			return release, nil
		}
		if lc.WaitPolicy == pg.LockWaitPolicy_LockWaitError {
			release()
			return nil, sqlerr.New(sqlerr.LockNotAvailable, "could not obtain lock on row in relation \"%s\"", t.Name)
		}
		if s.tx == nil {
			s.releaseRowLocks() // hold nothing while waiting
		}
		if err := s.db.rowLocks.wait(ctx, s, blocker); err != nil {
			release()
			return nil, err
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

// lockTarget is the table a locking SELECT locks rows of, its locking
// clause, and the query that returns the primary keys of those rows (the
// SELECT with its target list replaced); ok is false where it takes no
// locks (see above).
func (s *Session) lockTarget(stmt *pg.SelectStmt) (t *catalog.Table, lc *pg.LockingClause, keys *pg.SelectStmt, ok bool) {
	if len(stmt.LockingClause) != 1 || len(stmt.FromClause) != 1 || stmt.Op != pg.SetOperation_SETOP_NONE || stmt.WithClause != nil {
		return nil, nil, nil, false
	}
	lc = stmt.LockingClause[0].GetLockingClause()
	rv := stmt.FromClause[0].GetRangeVar()
	if lc == nil || rv == nil || lc.WaitPolicy == pg.LockWaitPolicy_LockWaitSkip {
		return nil, nil, nil, false
	}
	t, v, found := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
	if !found || v != nil || t == nil {
		return nil, nil, nil, false
	}
	pk := primaryKey(t)
	if pk == nil {
		return nil, nil, nil, false
	}
	keys = proto.Clone(stmt).(*pg.SelectStmt) // (the session's parse cache keeps stmt)
	keys.LockingClause = nil
	keys.TargetList = nil
	for _, c := range pk.Columns {
		ref := &pg.Node{Node: &pg.Node_ColumnRef{ColumnRef: &pg.ColumnRef{Fields: []*pg.Node{pg.MakeStrNode(t.Columns[c].Name)}, Location: -1}}}
		keys.TargetList = append(keys.TargetList, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: ref, Location: -1}}})
	}
	return t, lc, keys, true
}

// selectedRowKeys runs keys (a query of t's primary key columns) and
// names its rows' locks.
func (s *Session) selectedRowKeys(ctx context.Context, env *exec.Env, t *catalog.Table, keys *pg.SelectStmt) ([]rowLockKey, error) {
	p, err := s.plan(env, keys)
	if err != nil {
		return nil, err
	}
	batches, err := s.run(ctx, env, p)
	if err != nil {
		return nil, err
	}
	defer exec.ReleaseRecords(batches)
	kts := keyTypes(t, *primaryKey(t))
	var out []rowLockKey
	var buf []byte
	for _, b := range batches {
		cols := make([]arrow.Array, len(kts))
		for i := range cols {
			cols[i] = b.Column(i)
		}
		for r := 0; r < int(b.NumRows()); r++ {
			buf = exec.EncodeKey(buf[:0], kts, cols, r)
			out = append(out, rowLockKey{oid: t.OID, key: string(buf)})
		}
	}
	return out, nil
}

// lockTimeout is the lock_timeout setting (0: wait as long as it takes).
func (s *Session) lockTimeout() time.Duration {
	return parseTimeout(s.settings["lock_timeout"])
}

// errLockTimeout is PostgreSQL's error for a lock wait past lock_timeout.
func errLockTimeout() error {
	return sqlerr.New(sqlerr.LockNotAvailable, "canceling statement due to lock timeout")
}
