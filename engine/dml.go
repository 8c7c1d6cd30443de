package engine

import (
	"context"
	"errors"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/planner/physical"
	"github.com/weftdb/weft/sql/parser"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

type arrowRecord = arrow.Record

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Session) lookupTable(rv *pg.RangeVar) (*catalog.Table, error) {
	t, v, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
	if !ok {
		return nil, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
	}
	if v != nil {
		return nil, sqlerr.New(sqlerr.WrongObjectType, "cannot change view \"%s\"", rv.Relname).At(rv.Location)
	}
	return t, nil
}

// defaultExpr binds a column's DEFAULT (NULL when it has none).
func (s *Session) defaultExpr(b *binder.Binder, col catalog.Column) (logical.Expr, error) {
	if col.Default == "" {
		return &logical.Const{T: col.Type}, nil
	}
	stmts, err := parser.Parse("SELECT " + col.Default)
	if err != nil {
		return nil, err
	}
	rt := stmts[0].Stmt.Node.(*pg.Node_SelectStmt).SelectStmt.TargetList[0].Node.(*pg.Node_ResTarget).ResTarget
	e, err := b.BindStandalone(rt.Val, "DEFAULT expressions")
	if err != nil {
		return nil, err
	}
	return b.Assign(e, col.Type, col.Name)
}

func (s *Session) insert(ctx context.Context, env *exec.Env, st *pg.InsertStmt) (*Result, error) {
	t, err := s.columnsTableFor(st.Relation, catalog.PrivInsert)
	if err != nil {
		return nil, err
	}
	oc := st.OnConflictClause
	var conflictOn []catalog.Key
	if oc != nil {
		if conflictOn, err = conflictKeys(t, oc); err != nil {
			return nil, err
		}
		if err := s.requireArbiterSelect(t, oc, conflictOn); err != nil {
			return nil, err
		}
	}
	// target column for each position of the source rows
	targets := make([]int, 0, len(t.Columns))
	if len(st.Cols) == 0 {
		for i := range t.Columns {
			targets = append(targets, i)
		}
	} else {
		seen := map[int]bool{}
		for _, c := range st.Cols {
			rt := c.Node.(*pg.Node_ResTarget).ResTarget
			i := t.ColumnIndex(rt.Name)
			if i < 0 {
				return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", rt.Name, t.Name).At(rt.Location)
			}
			if seen[i] {
				return nil, sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" specified more than once", rt.Name).At(rt.Location)
			}
			seen[i] = true
			targets = append(targets, i)
		}
	}
	if st.Override != pg.OverridingKind_OVERRIDING_SYSTEM_VALUE && st.SelectStmt != nil {
		for _, ci := range targets {
			if t.Columns[ci].Identity == "a" && !allDefault(st, ci, targets) {
				return nil, sqlerr.New(sqlerr.GeneratedAlways, "cannot insert a non-DEFAULT value into column \"%s\"", t.Columns[ci].Name).
					WithDetail("Column \"" + t.Columns[ci].Name + "\" is an identity column defined as GENERATED ALWAYS.").
					WithHint("Use OVERRIDING SYSTEM VALUE to override.")
			}
		}
	}
	if st.SelectStmt == nil && !s.db.cat.HasAnyColumnPrivilege(s.currentRole(), t, catalog.PrivInsert) {
		// DEFAULT VALUES names no column: INSERT on any will do, as in PostgreSQL
		return nil, denied("permission denied for table %s", t.Name)
	}
	b := s.binder(env)
	var plan logical.Plan
	if st.SelectStmt == nil {
		plan, err = s.insertDefaults(b, t)
	} else {
		sel := st.SelectStmt.Node.(*pg.Node_SelectStmt).SelectStmt
		if st.WithClause != nil {
			// WITH … INSERT: the CTEs are visible to the inserted query
			// (a prepared statement runs again with the clause already moved)
			if sel.WithClause != nil && sel.WithClause != st.WithClause {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "WITH on both INSERT and its query is not supported yet")
			}
			sel.WithClause = st.WithClause
		}
		if len(sel.ValuesLists) > 0 && sel.Op == pg.SetOperation_SETOP_NONE && len(sel.SortClause) == 0 && sel.LimitCount == nil && sel.WithClause == nil {
			plan, err = s.insertValues(b, t, targets, len(st.Cols) > 0, sel.ValuesLists)
		} else {
			plan, err = s.insertSelect(b, t, targets, sel)
		}
	}
	if err != nil {
		return nil, err
	}
	if plan, err = s.withGenerated(b, t, plan); err != nil {
		return nil, err
	}
	b.CheckColumnReads(t) // (ON CONFLICT DO UPDATE's expressions, RETURNING)
	var upsert *upsertSet
	if oc != nil && oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE {
		if err := s.requireColumns(t, setColumns(t, oc.TargetList), catalog.PrivUpdate); err != nil {
			return nil, err
		}
		if upsert, err = s.bindUpsert(env, b, t, st.Relation, oc); err != nil {
			return nil, err
		}
	}
	ret, err := s.bindReturning(b, t, st.Relation, st.ReturningList)
	if err != nil {
		return nil, err
	}
	if s.describing {
		return nil, errDescribeOnly
	}
	if oc == nil && ret == nil {
		// nothing needs the rows afterwards: a large INSERT … SELECT is
		// staged to disk as a COPY is (bulkload.go)
		n, err := s.insertQueryRows(ctx, env, plan, t)
		if err != nil {
			return nil, err
		}
		return &Result{Tag: "INSERT 0 " + itoa(n)}, nil
	}
	recs, err := s.run(ctx, env, plan)
	if err != nil {
		return nil, err
	}
	defer exec.ReleaseRecords(recs)
	if oc != nil {
		n, written, err := s.insertOnConflict(ctx, t, oc, conflictOn, upsert, recs)
		if err != nil {
			return nil, err
		}
		defer exec.ReleaseRecords(written)
		tag := "INSERT 0 " + itoa(n)
		if ret != nil {
			return s.returning(ctx, env, t, ret, written, tag)
		}
		return &Result{Tag: tag}, nil
	}
	n, err := s.appendRows(t, recs)
	if err != nil {
		return nil, err
	}
	return s.returning(ctx, env, t, ret, recs, "INSERT 0 "+itoa(n))
}

// returning computes a RETURNING list over the rows a statement wrote,
// by scanning them as a table of their own.
func (s *Session) returning(ctx context.Context, env *exec.Env, t *catalog.Table, ret *logical.Project, rows []arrow.Record, tag string) (*Result, error) {
	written := &catalog.Table{OID: t.OID, Schema: t.Schema, Name: t.Name, Columns: t.Columns}
	part := make([]arrow.Record, len(rows))
	for i, r := range rows {
		part[i] = withSchema(r, t.ArrowSchema())
	}
	written.Lock()
	written.Replace([][]arrow.Record{part})
	written.Unlock()
	defer func() {
		written.Lock()
		written.Replace(nil)
		written.Unlock()
	}()
	scan := ret.Input.(*logical.Scan)
	plan := &logical.Project{Input: &logical.Scan{Table: written, Cols: scan.Cols, Ords: scan.Ords}, Exprs: ret.Exprs, Cols: ret.Cols}
	out, err := s.run(ctx, env, plan)
	if err != nil {
		return nil, err
	}
	return &Result{Columns: columnsOf(plan.Columns()), Batches: out, Tag: tag, Query: true}, nil
}

func (s *Session) insertDefaults(b *binder.Binder, t *catalog.Table) (logical.Plan, error) {
	row := make([]logical.Expr, len(t.Columns))
	cols := make([]logical.Column, len(t.Columns))
	for i, c := range t.Columns {
		e, err := s.defaultExpr(b, c)
		if err != nil {
			return nil, err
		}
		row[i], cols[i] = e, b.NewColumn(c.Name, c.Type)
	}
	return &logical.Values{Rows: [][]logical.Expr{row}, Cols: cols}, nil
}

// insertValues binds VALUES rows straight to the target columns' types.
// Without a column list (named), a row may leave out trailing columns,
// which take their defaults, as in PostgreSQL.
func (s *Session) insertValues(b *binder.Binder, t *catalog.Table, targets []int, named bool, lists []*pg.Node) (logical.Plan, error) {
	defaults := make([]logical.Expr, len(t.Columns))
	for i, c := range t.Columns {
		e, err := s.defaultExpr(b, c)
		if err != nil {
			return nil, err
		}
		defaults[i] = e
	}
	cols := make([]logical.Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = b.NewColumn(c.Name, c.Type)
	}
	rows := make([][]logical.Expr, 0, len(lists))
	for _, l := range lists {
		items := l.Node.(*pg.Node_List).List.Items
		if first := lists[0].Node.(*pg.Node_List).List.Items; len(items) != len(first) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "VALUES lists must all be the same length")
		}
		if len(items) > len(targets) {
			return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more expressions than target columns")
		}
		if len(items) < len(targets) && len(items) > 0 && named {
			return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more target columns than expressions")
		}
		row := append([]logical.Expr{}, defaults...)
		for k, item := range items {
			ci := targets[k]
			if _, isDefault := item.Node.(*pg.Node_SetToDefault); isDefault {
				continue
			}
			if err := refuseGeneratedInsert(t.Columns[ci]); err != nil {
				return nil, err
			}
			e, err := b.BindStandalone(item, "VALUES")
			if err != nil {
				return nil, err
			}
			if e, err = b.Assign(e, t.Columns[ci].Type, t.Columns[ci].Name); err != nil {
				return nil, positioned(err, item)
			}
			row[ci] = e
		}
		rows = append(rows, row)
	}
	// the columns given values need INSERT (column privileges count)
	given := len(lists[0].Node.(*pg.Node_List).List.Items)
	if err := s.requireColumns(t, targets[:min(given, len(targets))], catalog.PrivInsert); err != nil {
		return nil, err
	}
	return &logical.Values{Rows: rows, Cols: cols}, nil
}

func positioned(err error, n *pg.Node) error {
	if se, ok := err.(*sqlerr.Error); ok && se.Position == 0 {
		if loc := locationOf(n); loc >= 0 {
			return se.At(loc)
		}
	}
	return err
}

func locationOf(n *pg.Node) int32 {
	switch x := n.Node.(type) {
	case *pg.Node_AConst:
		return x.AConst.Location
	case *pg.Node_ColumnRef:
		return x.ColumnRef.Location
	case *pg.Node_TypeCast:
		return x.TypeCast.Location
	case *pg.Node_FuncCall:
		return x.FuncCall.Location
	case *pg.Node_AExpr:
		return x.AExpr.Location
	}
	return -1
}

func (s *Session) insertSelect(b *binder.Binder, t *catalog.Table, targets []int, sel *pg.SelectStmt) (logical.Plan, error) {
	targetTypes := make([]types.T, len(targets))
	for k, ci := range targets {
		targetTypes[k] = t.Columns[ci].Type
	}
	src, err := b.BindInsertSource(sel, targetTypes)
	if err != nil {
		return nil, err
	}
	srcCols := src.Columns()
	if len(srcCols) > len(targets) {
		return nil, sqlerr.New(sqlerr.SyntaxError, "INSERT has more expressions than target columns")
	}
	// the columns the query fills need INSERT (column privileges count)
	if err := s.requireColumns(t, targets[:len(srcCols)], catalog.PrivInsert); err != nil {
		return nil, err
	}
	exprs := make([]logical.Expr, len(t.Columns))
	cols := make([]logical.Column, len(t.Columns))
	for i, c := range t.Columns {
		e, err := s.defaultExpr(b, c)
		if err != nil {
			return nil, err
		}
		exprs[i], cols[i] = e, b.NewColumn(c.Name, c.Type)
	}
	for k, sc := range srcCols {
		ci := targets[k]
		if err := refuseGeneratedInsert(t.Columns[ci]); err != nil {
			return nil, err
		}
		e, err := b.Assign(&logical.ColRef{Col: sc}, t.Columns[ci].Type, t.Columns[ci].Name)
		if err != nil {
			return nil, err
		}
		exprs[ci] = e
	}
	return &logical.Project{Input: src, Exprs: exprs, Cols: cols}, nil
}

// checkNotNull rejects batches with NULLs in NOT NULL columns.
func checkNotNull(t *catalog.Table, recs []arrow.Record) error {
	for i, c := range t.Columns {
		if !c.NotNull {
			continue
		}
		for _, r := range recs {
			if r.Column(i).NullN() > 0 {
				return sqlerr.New(sqlerr.NotNullViolation, "null value in column \"%s\" of relation \"%s\" violates not-null constraint", c.Name, t.Name)
			}
		}
	}
	return nil
}

// appendRows adds fully computed batches to a table atomically.
func (s *Session) appendRows(t *catalog.Table, recs []arrow.Record) (int64, error) {
	n, inserted, err := s.appendRowsFiltered(t, recs, nil)
	exec.ReleaseRecords(inserted)
	return n, err
}

// appendRowsFiltered is appendRows where filter, when set, picks the rows
// to add while the table is locked (ON CONFLICT DO NOTHING drops the
// conflicting ones); it returns the rows added, which the caller releases.
func (s *Session) appendRowsFiltered(t *catalog.Table, recs []arrow.Record, filter func(cur *catalog.Snapshot, recs []arrow.Record) ([]arrow.Record, error)) (int64, []arrow.Record, error) {
	if s.tx == nil {
		// a statement outside a block holds its row locks until it is
		// installed
		defer s.releaseRowLocks()
	}
	if err := s.lockReferencedRows(s.context(), t, recs); err != nil {
		return 0, nil, err
	}
	if err := s.checkNewRows(t, recs); err != nil {
		return 0, nil, err
	}
	schema := t.ArrowSchema()
	relabeled := make([]arrow.Record, 0, len(recs))
	for _, r := range recs {
		relabeled = append(relabeled, withSchema(r, schema))
	}
	defer func() { exec.ReleaseRecords(relabeled) }()
	s.noteWrite(t)
	t.Lock()
	defer t.Unlock()
	if err := s.notHeld(t, false); err != nil {
		return 0, nil, err
	}
	cur := s.current(t)
	if filter != nil {
		kept, err := filter(cur, relabeled)
		if err != nil {
			return 0, nil, err
		}
		exec.ReleaseRecords(relabeled)
		relabeled = kept
	}
	var n int64
	for _, r := range relabeled {
		n += r.NumRows()
	}
	// the caller's copy of what went in
	inserted := make([]arrow.Record, len(relabeled))
	for i, r := range relabeled {
		r.Retain()
		inserted[i] = r
	}
	ok := false
	defer func() {
		if !ok {
			exec.ReleaseRecords(inserted)
		}
	}()
	added, err := newKeys(t, cur, relabeled, s.zone)
	if err != nil {
		return 0, nil, err
	}
	if err := s.keysCommittedSince(t, relabeled, filter != nil); err != nil {
		return 0, nil, err
	}
	parts, err := catalog.AppendParts(s.db.opts.Mem, cur, relabeled, s.db.opts.BatchSize)
	if err != nil {
		return 0, nil, err
	}
	if s.tx != nil {
		s.installPrivate(t, parts, relabeled, nil)
		extendKeySets(t, cur, s.current(t), added)
		ok = true
		return n, inserted, nil
	}
	s.noteReplacing(t)
	t.Replace(parts)
	extendKeySets(t, cur, t.Current(), added)
	s.noteInstalled(t)
	ok = true
	return n, inserted, nil
}

// checkNewRows checks rows about to be added to t, each on its own: NOT
// NULL, domains, CHECK constraints and foreign keys (unique keys need
// the table, under its lock).
func (s *Session) checkNewRows(t *catalog.Table, recs []arrow.Record) error {
	if err := checkNotNull(t, recs); err != nil {
		return err
	}
	if err := s.checkDomains(s.context(), t, recs); err != nil {
		return err
	}
	if err := s.checkRows(s.context(), t, recs); err != nil {
		return err
	}
	return s.checkReferences(t, recs)
}

func withSchema(r arrow.Record, schema *arrow.Schema) arrow.Record {
	return arrayNewRecord(schema, r.Columns(), r.NumRows())
}

// rewriteMode says what the extra last column of a rewrite plan means.
type rewriteMode int

const (
	rewriteUpdate rewriteMode = iota // true where the row was changed
	rewriteDelete                    // true where the row is kept
)

// rewriteTable recomputes every partition of t through plan (which must
// keep partitions and batches one to one with the table's) and installs
// the result, returning how many rows were updated or deleted. A batch no
// row of which changed stays the very record it was, so the store keeps
// its segment: an UPDATE or DELETE writes only the segments it touched.
//
// where, when set, is the statement's WHERE: if an index finds the rows it
// meets, only the batches holding them are read and rewritten.
//
// Where it takes row locks (rowlocks.go) and a row it would change is
// locked by another block, it waits for that block to end and runs again.
func (s *Session) rewriteTable(ctx context.Context, env *exec.Env, t *catalog.Table, plan logical.Plan, mode rewriteMode, touched *[]arrow.Record, where logical.Expr) (int64, error) {
	if s.tx == nil {
		// a statement outside a block holds its row locks until it is
		// installed
		defer s.releaseRowLocks()
	}
	// (REPEATABLE READ: what the rows it changes must be unchanged since)
	since := s.serialSince(t)
	if since != nil {
		defer since.Release()
	}
	for {
		n, blocker, err := s.rewriteOnce(ctx, env, t, plan, mode, touched, where, since)
		if err != nil || blocker == nil {
			return n, err
		}
		if touched != nil {
			exec.ReleaseRecords(*touched)
			*touched = nil
		}
		if s.tx == nil {
			s.releaseRowLocks() // hold nothing while waiting
		}
		if err := s.db.rowLocks.wait(ctx, s, *blocker); err != nil {
			return 0, err
		}
		if err := changedSince(t, since, []lockRequest{*blocker}, true); err != nil {
			return 0, err // the block waited for committed a change of the row
		}
	}
}

// rewriteOnce is one attempt of rewriteTable; blocker is set (and nothing
// installed) when a row to change is locked by another session.
func (s *Session) rewriteOnce(ctx context.Context, env *exec.Env, t *catalog.Table, plan logical.Plan, mode rewriteMode, touched *[]arrow.Record, where logical.Expr, since *catalog.Snapshot) (int64, *lockRequest, error) {
	s.noteWrite(t)
	t.Lock()
	defer t.Unlock()
	if err := s.notHeld(t, false); err != nil {
		return 0, nil, err
	}
	locking := s.locksRows(t)
	if locking {
		// read the newest committed rows (READ COMMITTED)
		if err := s.rebaseWork(t); err != nil {
			return 0, nil, err
		}
	}
	b := s.newBuilder(env)
	defer b.Release()
	cur := s.current(t)
	src, only, onlyRows := s.indexedRewrite(b, t, plan, where, cur)
	if only != nil {
		defer src.Release()
	}
	op, err := b.Build(plan)
	if err != nil {
		return 0, nil, err
	}
	schema := t.ArrowSchema()
	parts := make([][]arrow.Record, op.Partitions())
	var byPos []arrow.Record   // with only: the rewritten batch at each position (nil: none left)
	var changed []arrow.Record // with onlyRows: the rows an UPDATE changed
	var made catalog.Edits     // with onlyRows: how the batches patched were made
	defer func() { exec.ReleaseRecords(changed) }()
	var counted int64
	affected := s.newChangedRows(t) // with locking: the rows changed, as they were
	// past maxLockedRows the statement takes no locks but still waits for
	// the rows others hold (biglocks.go)
	var foreign map[string]lockMode
	var held *lockRequest
	if locking {
		foreign = s.db.rowLocks.heldByOthers(s, t.OID)
	}
	fail := func(err error) (int64, *lockRequest, error) {
		for _, p := range parts {
			exec.ReleaseRecords(p)
		}
		exec.ReleaseRecords(byPos)
		return 0, nil, err
	}
	for p := range parts {
		recs, err := exec.Drain(ctx, op, p)
		if err != nil {
			return fail(err)
		}
		var in []arrow.Record
		if src != nil && p < len(src.Parts) {
			in = src.Parts[p]
		}
		aligned := len(in) == len(recs)
		for i := 0; aligned && i < len(in); i++ {
			aligned = in[i].NumRows() == recs[i].NumRows()
		}
		if only != nil && !aligned {
			exec.ReleaseRecords(recs)
			return fail(sqlerr.New(sqlerr.Internal, "an indexed rewrite of \"%s\" lost its batches", t.Name))
		}
		for i, r := range recs {
			if touched != nil {
				if err := s.collectTouched(ctx, schema, r, mode, touched); err != nil {
					r.Release()
					exec.ReleaseRecords(recs[i+1:])
					return fail(err)
				}
			}
			var rec arrow.Record
			var n int64
			if onlyRows != nil {
				k := len(byPos)
				base := cur.Parts[only[k].Part][only[k].Batch]
				var e *catalog.BatchEdits
				rec, e, n, err = s.patchBatch(schema, base, onlyRows[k], r, mode, &changed, affected)
				if e != nil {
					if made == nil {
						made = catalog.Edits{}
					}
					made[rec] = e
				}
			} else {
				switch {
				case locking && aligned && len(affected.rows) <= maxLockedRows:
					affected.addFlagged(in[i], r, mode)
				case locking && aligned && len(foreign) > 0 && held == nil:
					held = heldFlaggedRow(t, in[i], r, mode, foreign)
				}
				rec, n, err = s.rewrittenBatch(ctx, schema, r, mode, aligned, in, i)
			}
			r.Release()
			if err != nil {
				exec.ReleaseRecords(recs[i+1:])
				return fail(err)
			}
			counted += n
			if only != nil {
				byPos = append(byPos, rec)
			} else if rec != nil {
				parts[p] = append(parts[p], rec)
			}
		}
	}
	var all []arrow.Record
	for _, p := range parts {
		all = append(all, p...)
	}
	if only != nil {
		// the rows outside the rewritten batches are as they were (and
		// with onlyRows, outside the rows patched in: only those need
		// the checks below)
		for _, r := range byPos {
			if r != nil && onlyRows == nil {
				all = append(all, r)
			}
		}
		all = append(all, changed...)
		parts = catalog.Unrestrict(cur, only, byPos)
		exec.ReleaseRecords(byPos)
		byPos = nil
	}
	if held == nil && len(affected.rows) > maxLockedRows && len(foreign) > 0 {
		held = firstHeldByOthers(rowLockKeys(t, affected.rows), foreign)
	}
	if held != nil {
		_, _, err := fail(nil)
		return 0, held, err
	}
	if locking && len(affected.rows) > 0 && len(affected.rows) <= maxLockedRows {
		reqs := rowLockKeys(t, affected.rows)
		blocker := s.db.rowLocks.tryLock(s, reqs)
		if blocker == nil {
			blocker = s.db.rowLocks.tryLock(s, affected.parentLocks)
		}
		if blocker != nil {
			_, _, err := fail(nil)
			return 0, blocker, err
		}
		if err := changedSince(t, since, reqs, true); err != nil {
			return fail(err)
		}
	}
	if err := checkNotNull(t, all); err != nil {
		return fail(err)
	}
	if err := s.checkDomains(s.context(), t, all); err != nil {
		return fail(err)
	}
	if err := s.checkRows(s.context(), t, all); err != nil {
		return fail(err)
	}
	if mode == rewriteUpdate {
		if err := s.checkReferences(t, all); err != nil {
			return fail(err)
		}
	}
	var sets map[string]*catalog.KeySet
	if mode == rewriteUpdate && len(t.Keys) > 0 {
		var dup *catalog.Duplicate
		decided := false
		if only != nil {
			// the rows that changed, looked up in the keys' indexes
			dup, decided = t.DuplicateAfter(cur, parts)
		}
		if dup != nil {
			return fail(duplicateKey(t, dup.Key, keyColumns(dup.Rec, dup.Key), dup.Row, s.zone))
		}
		if !decided {
			if sets, err = checkAllKeys(t, t.Keys, parts, s.zone); err != nil {
				return fail(err)
			}
		}
	}
	children, err := s.applyParentChange(ctx, t, cur, parts, mode == rewriteDelete, map[*catalog.Table]bool{t: true})
	var blocked *rowLockBlocked
	if errors.As(err, &blocked) {
		_, _, err := fail(nil)
		return 0, &blocked.req, err
	}
	if err != nil {
		return fail(err)
	}
	// the table and the rows a cascade changed go in together
	s.db.installTogether(func() {
		s.install(t, parts, nil, made)
		for name, ks := range sets {
			s.current(t).SetKeySet(name, ks)
		}
		s.installChildren(t, children)
	})
	return counted, nil, nil
}

// rewrittenBatch turns one output batch of a rewrite plan into the batch
// to store (nil for none) and the number of rows it updated or deleted;
// when the batches line up, an untouched batch is the table's own record.
func (s *Session) rewrittenBatch(ctx context.Context, schema *arrow.Schema, r arrow.Record, mode rewriteMode, aligned bool, in []arrow.Record, i int) (arrow.Record, int64, error) {
	cols := r.Columns()
	flag := cols[len(cols)-1].(*array.Boolean)
	trues := countTrue(flag)
	data := arrayNewRecord(schema, cols[:len(cols)-1], r.NumRows())
	switch {
	case mode == rewriteUpdate && trues == 0 && aligned,
		mode == rewriteDelete && trues == r.NumRows() && aligned:
		data.Release()
		in[i].Retain()
		return in[i], 0, nil
	case mode == rewriteUpdate:
		return data, trues, nil
	case trues == r.NumRows():
		return data, 0, nil
	case trues == 0:
		data.Release()
		return nil, r.NumRows(), nil
	}
	defer data.Release()
	kept, err := exec.FilterByMask(ctx, s.db.opts.Mem, data, flag)
	return kept, r.NumRows() - trues, err
}

// collectTouched keeps the rows of a rewrite batch that RETURNING reports:
// the new values of updated rows, the old values of deleted ones.
func (s *Session) collectTouched(ctx context.Context, schema *arrow.Schema, r arrow.Record, mode rewriteMode, touched *[]arrow.Record) error {
	cols := r.Columns()
	flag := cols[len(cols)-1].(*array.Boolean)
	mask := flag
	if mode == rewriteDelete {
		b := array.NewBooleanBuilder(s.db.opts.Mem)
		for i := 0; i < flag.Len(); i++ {
			b.Append(flag.IsNull(i) || !flag.Value(i))
		}
		mask = b.NewBooleanArray()
		b.Release()
		defer mask.Release()
	}
	data := arrayNewRecord(schema, cols[:len(cols)-1], r.NumRows())
	defer data.Release()
	sel, err := exec.FilterByMask(ctx, s.db.opts.Mem, data, mask)
	if err != nil {
		return err
	}
	if sel.NumRows() == 0 {
		sel.Release()
		return nil
	}
	*touched = append(*touched, sel)
	return nil
}

// bindReturning binds a DML statement's RETURNING list (nil without one);
// while describing, it records the columns it would return.
func (s *Session) bindReturning(b *binder.Binder, t *catalog.Table, rel *pg.RangeVar, list []*pg.Node) (*logical.Project, error) {
	if len(list) == 0 {
		return nil, nil
	}
	alias := ""
	if rel.Alias != nil {
		alias = rel.Alias.Aliasname
	}
	ret, err := b.BindReturning(b.BeginTargetTable(t, alias), list)
	if err == nil && s.describing {
		s.describedColumns = columnsOf(ret.Columns())
	}
	return ret, err
}

func (s *Session) update(ctx context.Context, env *exec.Env, st *pg.UpdateStmt) (*Result, error) {
	if len(st.FromClause) > 0 {
		st = updateFromAsSubqueries(st)
	}
	t, err := s.columnsTableFor(st.Relation, catalog.PrivUpdate)
	if err != nil {
		return nil, err
	}
	if err := s.requireColumns(t, setColumns(t, st.TargetList), catalog.PrivUpdate); err != nil {
		return nil, err
	}
	b := s.binder(env)
	b.CheckColumnReads(t) // reading rows (a condition, SET, RETURNING) needs SELECT on what is read
	alias := ""
	if st.Relation.Alias != nil {
		alias = st.Relation.Alias.Aliasname
	}
	ts := b.BeginTargetTable(t, alias)
	var cond logical.Expr = &logical.Const{Value: true, T: types.BoolT}
	if st.WhereClause != nil {
		if cond, err = b.BindCondition(ts, st.WhereClause); err != nil {
			return nil, err
		}
	}
	truth := true
	// the condition is evaluated once per row, below the CASEs that read it
	hitCol := b.NewColumn("hit", types.BoolT)
	below := &logical.Project{Input: ts.Scan, Exprs: make([]logical.Expr, 0, len(ts.Scan.Cols)+1), Cols: make([]logical.Column, 0, len(ts.Scan.Cols)+1)}
	for _, c := range ts.Scan.Cols {
		below.Exprs = append(below.Exprs, &logical.ColRef{Col: c})
		below.Cols = append(below.Cols, c)
	}
	below.Exprs = append(below.Exprs, &logical.IsNull{Arg: cond, Truth: &truth})
	below.Cols = append(below.Cols, hitCol)
	hit := &logical.ColRef{Col: hitCol}
	exprs := make([]logical.Expr, len(t.Columns), len(t.Columns)+1)
	for i, c := range ts.Scan.Cols {
		exprs[i] = &logical.ColRef{Col: c}
	}
	for _, n := range st.TargetList {
		rt := n.Node.(*pg.Node_ResTarget).ResTarget
		i := t.ColumnIndex(rt.Name)
		if i < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", rt.Name, t.Name).At(rt.Location)
		}
		var v logical.Expr
		_, isDefault := rt.Val.Node.(*pg.Node_SetToDefault)
		if err := refuseGeneratedUpdate(t.Columns[i], isDefault); err != nil {
			return nil, positioned(err, rt.Val)
		}
		if t.Columns[i].Generated != "" {
			continue // (computed below)
		}
		if isDefault {
			v, err = s.defaultExpr(b, t.Columns[i])
		} else {
			v, err = b.BindIn(ts, rt.Val, "UPDATE")
		}
		if err != nil {
			return nil, err
		}
		if v, err = b.Assign(v, t.Columns[i].Type, rt.Name); err != nil {
			return nil, positioned(err, rt.Val)
		}
		exprs[i] = &logical.Case{Whens: []logical.Expr{hit}, Thens: []logical.Expr{v}, Else: exprs[i], T: t.Columns[i].Type}
	}
	cols := make([]logical.Column, 0, len(exprs)+1)
	for _, c := range t.Columns {
		cols = append(cols, b.NewColumn(c.Name, c.Type))
	}
	exprs = append(exprs, hit)
	cols = append(cols, b.NewColumn("hit", types.BoolT))
	var plan logical.Plan = &logical.Project{Input: below, Exprs: exprs, Cols: cols}
	if plan, err = s.updateGenerated(b, t, plan); err != nil {
		return nil, err
	}
	ret, err := s.bindReturning(b, t, st.Relation, st.ReturningList)
	if err != nil {
		return nil, err
	}
	if s.describing {
		return nil, errDescribeOnly
	}
	return s.rewriteAndReturn(ctx, env, t, plan, rewriteUpdate, ret, "UPDATE ", cond)
}

// rewriteAndReturn runs an UPDATE or DELETE rewrite and reports its tag,
// with the RETURNING rows when ret is set.
func (s *Session) rewriteAndReturn(ctx context.Context, env *exec.Env, t *catalog.Table, plan logical.Plan, mode rewriteMode, ret *logical.Project, verb string, where logical.Expr) (*Result, error) {
	var touched []arrow.Record
	var collect *[]arrow.Record
	if ret != nil {
		collect = &touched
	}
	defer func() { exec.ReleaseRecords(touched) }()
	n, err := s.rewriteTable(ctx, env, t, plan, mode, collect, where)
	if err != nil {
		return nil, err
	}
	if ret != nil {
		return s.returning(ctx, env, t, ret, touched, verb+itoa(n))
	}
	return &Result{Tag: verb + itoa(n)}, nil
}

func (s *Session) delete(ctx context.Context, env *exec.Env, st *pg.DeleteStmt) (*Result, error) {
	if len(st.UsingClause) > 0 {
		// DELETE FROM t USING u WHERE w: the rows of t for which some row
		// of u meets w
		sel := &pg.SelectStmt{TargetList: []*pg.Node{{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: pg.MakeAConstIntNode(1, -1)}}}},
			FromClause: st.UsingClause, WhereClause: st.WhereClause, LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT}
		st = &pg.DeleteStmt{Relation: st.Relation, ReturningList: st.ReturningList, WithClause: st.WithClause,
			WhereClause: &pg.Node{Node: &pg.Node_SubLink{SubLink: &pg.SubLink{SubLinkType: pg.SubLinkType_EXISTS_SUBLINK,
				Subselect: &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}}}}}}
	}
	t, err := s.tableFor(st.Relation, catalog.PrivDelete)
	if err != nil {
		return nil, err
	}
	b := s.binder(env)
	b.CheckColumnReads(t) // reading rows (a condition, RETURNING) needs SELECT on what is read
	alias := ""
	if st.Relation.Alias != nil {
		alias = st.Relation.Alias.Aliasname
	}
	ts := b.BeginTargetTable(t, alias)
	var keep logical.Expr = &logical.Const{Value: false, T: types.BoolT}
	var cond logical.Expr
	if st.WhereClause != nil {
		cond, err = b.BindCondition(ts, st.WhereClause)
		if err != nil {
			return nil, err
		}
		truth := true
		keep = &logical.IsNull{Arg: cond, Truth: &truth, Negate: true}
	}
	exprs := make([]logical.Expr, 0, len(t.Columns)+1)
	cols := make([]logical.Column, 0, len(t.Columns)+1)
	for _, c := range ts.Scan.Cols {
		exprs = append(exprs, &logical.ColRef{Col: c})
		cols = append(cols, c)
	}
	// keep every row, marking the ones that survive; count the others
	exprs = append(exprs, keep)
	cols = append(cols, b.NewColumn("keep", types.BoolT))
	marked := &logical.Project{Input: ts.Scan, Exprs: exprs, Cols: cols}
	ret, err := s.bindReturning(b, t, st.Relation, st.ReturningList)
	if err != nil {
		return nil, err
	}
	if s.describing {
		return nil, errDescribeOnly
	}
	return s.rewriteAndReturn(ctx, env, t, marked, rewriteDelete, ret, "DELETE ", cond)
}

// updateFromAsSubqueries rewrites UPDATE t SET c = e FROM f WHERE w as
// UPDATE t SET c = (SELECT e FROM f WHERE w LIMIT 1) WHERE EXISTS (SELECT
// FROM f WHERE w): a row of t joined to several rows of f takes one of
// them, which is what PostgreSQL promises too.
func updateFromAsSubqueries(st *pg.UpdateStmt) *pg.UpdateStmt {
	sub := func(targets []*pg.Node, limit bool) *pg.Node {
		sel := &pg.SelectStmt{TargetList: targets, FromClause: st.FromClause, WhereClause: st.WhereClause,
			LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT}
		if limit {
			sel.LimitCount = pg.MakeAConstIntNode(1, -1)
			sel.LimitOption = pg.LimitOption_LIMIT_OPTION_COUNT
		}
		return &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: sel}}
	}
	out := &pg.UpdateStmt{Relation: st.Relation, ReturningList: st.ReturningList, WithClause: st.WithClause}
	for _, n := range st.TargetList {
		rt := n.GetResTarget()
		val := &pg.Node{Node: &pg.Node_SubLink{SubLink: &pg.SubLink{SubLinkType: pg.SubLinkType_EXPR_SUBLINK,
			Subselect: sub([]*pg.Node{{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: rt.Val}}}}, true), Location: rt.Location}}}
		out.TargetList = append(out.TargetList, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Name: rt.Name, Indirection: rt.Indirection, Val: val, Location: rt.Location}}})
	}
	one := &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Val: pg.MakeAConstIntNode(1, -1)}}}
	out.WhereClause = &pg.Node{Node: &pg.Node_SubLink{SubLink: &pg.SubLink{SubLinkType: pg.SubLinkType_EXISTS_SUBLINK, Subselect: sub([]*pg.Node{one}, false)}}}
	return out
}

// allDefault reports whether every VALUES row gives column ci DEFAULT
// (which an identity column GENERATED ALWAYS accepts).
func allDefault(st *pg.InsertStmt, ci int, targets []int) bool {
	sel := st.SelectStmt.GetSelectStmt()
	if sel == nil || len(sel.ValuesLists) == 0 {
		return false
	}
	pos := -1
	for k, c := range targets {
		if c == ci {
			pos = k
		}
	}
	for _, l := range sel.ValuesLists {
		items := l.GetList().GetItems()
		if pos >= len(items) || items[pos].GetSetToDefault() == nil {
			return false
		}
	}
	return true
}

// indexedRewrite finds through an index the batches of cur that hold the
// rows where meets and makes b's scans of t read only those (src, which
// the caller releases; only lists their positions). Without an index
// that pays, src is cur and only nil. A plan with a subquery keeps every
// batch: the subquery may read t too.
//
// When the index finds few rows of each batch it names (rows, by only's
// position), src holds just those rows: the plan computes them alone and
// patchBatch puts them into their batches.
func (s *Session) indexedRewrite(b *physical.Builder, t *catalog.Table, plan logical.Plan, where logical.Expr, cur *catalog.Snapshot) (src *catalog.Snapshot, only []catalog.BatchPos, rows [][]int) {
	if where == nil || cur == nil || logical.HasSubquery(where) {
		return cur, nil, nil
	}
	// the plan is Projects over the table's scan (UPDATE's condition is
	// computed in one below its CASEs)
	var scan *logical.Scan
	for p := plan; scan == nil; {
		proj, ok := p.(*logical.Project)
		if !ok {
			return cur, nil, nil
		}
		for _, e := range proj.Exprs {
			if logical.HasSubquery(e) {
				return cur, nil, nil
			}
		}
		p = proj.Input
		scan, _ = p.(*logical.Scan)
	}
	if scan.Table != t {
		return cur, nil, nil
	}
	found, ok := b.IndexedRows(scan, where, cur)
	if !ok {
		return cur, nil, nil
	}
	pos := make([]catalog.BatchPos, len(found))
	for i, f := range found {
		pos[i] = f.Pos
	}
	src, rows = s.indexedSource(cur, found)
	read := b.TableData
	b.TableData = func(x *catalog.Table) *catalog.Snapshot {
		if x == t {
			src.Retain()
			return src
		}
		return read(x)
	}
	return src, pos, rows
}
