package engine

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/binder"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// INSERT … ON CONFLICT: the proposed rows are split, under the table's
// lock, into those whose key is new (appended) and those that conflict
// with a stored row. DO NOTHING drops the latter; DO UPDATE rewrites the
// stored rows they conflict with through the SET list, where EXCLUDED
// names the proposed row.

// conflictKeys are the keys an ON CONFLICT clause arbitrates on: the one
// its target names, or every key when it names none.
func conflictKeys(t *catalog.Table, oc *pg.OnConflictClause) ([]catalog.Key, error) {
	if oc.Infer == nil {
		if oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE {
			return nil, sqlerr.New(sqlerr.SyntaxError, "ON CONFLICT DO UPDATE requires inference specification or constraint name").
				WithHint("For example, ON CONFLICT (column_name).")
		}
		return t.Keys, nil
	}
	if name := oc.Infer.Conname; name != "" {
		for _, k := range t.Keys {
			if k.Name == name {
				return []catalog.Key{k}, nil
			}
		}
		return nil, sqlerr.New(sqlerr.UndefinedObject, "constraint \"%s\" for table \"%s\" does not exist", name, t.Name)
	}
	var names []string
	for _, n := range oc.Infer.IndexElems {
		ie := n.GetIndexElem()
		if ie == nil || ie.Name == "" {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ON CONFLICT on expressions is not supported yet")
		}
		names = append(names, ie.Name)
	}
	for _, k := range t.Keys {
		if sameColumns(t, k.Columns, names) {
			return []catalog.Key{k}, nil
		}
	}
	return nil, sqlerr.New(sqlerr.InvalidColumnRef, "there is no unique or exclusion constraint matching the ON CONFLICT specification")
}

// conflicts marks the proposed rows whose value of one of keys is already
// stored in cur, or (when inBatch) repeats an earlier proposed row's.
// It returns, per record, the conflicting rows, and for each the key
// values it collided on (for DO UPDATE to find the stored row).
func conflicts(t *catalog.Table, cur *catalog.Snapshot, keys []catalog.Key, recs []arrow.Record) (hit [][]int, stored [][]string, dupInBatch bool) {
	hit = make([][]int, len(recs))
	stored = make([][]string, len(recs))
	seen := make([]map[string]bool, len(keys))
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	// each key's stored values, through its index where it has one
	inStore := make([]func([]byte, []arrow.Array, int) bool, len(keys))
	for ki, k := range keys {
		inStore[ki] = parentKeyLookup(t, cur, k, t, k.Columns)
	}
	var buf []byte
	for ri, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			clash, storedKey := false, ""
			for ki, k := range keys {
				cols := keyColumns(r, k)
				if hasNull(cols, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], keyTypes(t, k), cols, i)
				switch {
				case inStore[ki](buf, cols, i):
					if !clash && ki == 0 {
						storedKey = string(buf)
					}
					clash = true
				case seen[ki][string(buf)]:
					clash, dupInBatch = true, true
				}
				seen[ki][string(buf)] = true
			}
			if clash {
				hit[ri] = append(hit[ri], i)
				stored[ri] = append(stored[ri], storedKey)
			}
		}
	}
	return hit, stored, dupInBatch
}

// withoutConflicts drops the hit rows of each record.
func (s *Session) withoutConflicts(recs []arrow.Record, hit [][]int) ([]arrow.Record, error) {
	out := make([]arrow.Record, 0, len(recs))
	for ri, r := range recs {
		if len(hit[ri]) == 0 {
			r.Retain()
			out = append(out, r)
			continue
		}
		kept, err := withoutRows(s, r, hit[ri])
		if err != nil {
			exec.ReleaseRecords(out)
			return nil, err
		}
		if kept != nil {
			out = append(out, kept)
		}
	}
	return out, nil
}

// upsertSet is a bound DO UPDATE: SET expressions (nil for columns kept)
// and WHERE over the stored row's columns followed by EXCLUDED's.
type upsertSet struct {
	sets  []exec.Expr // per table column
	where exec.Expr
	cols  []logical.Column // the layout: table columns, then excluded
	// generated: per table column, its generation expression over the
	// updated row (t's columns alone), nil for the others
	generated []exec.Expr
}

// bindUpsert binds the DO UPDATE clause.
func (s *Session) bindUpsert(env *exec.Env, b *binder.Binder, t *catalog.Table, rel *pg.RangeVar, oc *pg.OnConflictClause) (*upsertSet, error) {
	alias := ""
	if rel.Alias != nil {
		alias = rel.Alias.Aliasname
	}
	ts := b.BeginTargetTable(t, alias)
	excluded := b.AddTable(ts, t, "excluded")
	u := &upsertSet{sets: make([]exec.Expr, len(t.Columns)), cols: append(append([]logical.Column{}, ts.Scan.Cols...), excluded...)}
	pb := s.newBuilder(env)
	defer pb.Release()
	for _, n := range oc.TargetList {
		rt := n.GetResTarget()
		ci := t.ColumnIndex(rt.Name)
		if ci < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", rt.Name, t.Name).At(rt.Location)
		}
		_, isDefault := rt.Val.Node.(*pg.Node_SetToDefault)
		if err := refuseGeneratedUpdate(t.Columns[ci], isDefault); err != nil {
			return nil, err
		}
		if t.Columns[ci].Generated != "" {
			continue // (computed below)
		}
		e, err := b.BindIn(ts, rt.Val, "UPDATE")
		if err != nil {
			return nil, err
		}
		if e, err = b.Assign(e, t.Columns[ci].Type, t.Columns[ci].Name); err != nil {
			return nil, err
		}
		if u.sets[ci], err = pb.Compile(e, u.cols); err != nil {
			return nil, err
		}
	}
	if oc.WhereClause != nil {
		cond, err := b.BindCondition(ts, oc.WhereClause)
		if err != nil {
			return nil, err
		}
		if u.where, err = pb.Compile(cond, u.cols); err != nil {
			return nil, err
		}
	}
	if hasGenerated(t) {
		// over t's columns alone, evaluated on the row once the SET values
		// are in (pasting those into the expressions would evaluate a
		// volatile SET expression twice)
		gen, gts, err := s.generatedExprs(b, t)
		if err != nil {
			return nil, err
		}
		u.generated = make([]exec.Expr, len(t.Columns))
		for ci, g := range gen {
			if g == nil {
				continue
			}
			if u.generated[ci], err = pb.Compile(g, gts.Scan.Cols); err != nil {
				return nil, err
			}
		}
	}
	return u, nil
}

// upsertRows applies DO UPDATE to cur's partitions: each stored row whose
// first key matches a conflicting proposed row (excluded, by key) gets
// the SET list's values. It returns the new partitions, the updated rows
// (for RETURNING) and how many rows it changed.
func (s *Session) upsertRows(ctx context.Context, t *catalog.Table, cur *catalog.Snapshot, key catalog.Key, u *upsertSet, excluded map[string][]types.Datum) ([][]arrow.Record, []arrow.Record, int64, error) {
	env := s.env()
	ec := exec.NewEvalContext(ctx, env)
	parts := make([][]arrow.Record, len(cur.Parts))
	var updated []arrow.Record
	var n int64
	fail := func(err error) ([][]arrow.Record, []arrow.Record, int64, error) {
		for _, p := range parts {
			exec.ReleaseRecords(p)
		}
		exec.ReleaseRecords(updated)
		return nil, nil, 0, err
	}
	kts := keyTypes(t, key)
	var buf []byte
	used := map[string]bool{}
	for p, recs := range cur.Parts {
		for _, r := range recs {
			cols := keyColumns(r, key)
			var rows []int
			var ex [][]types.Datum
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(cols, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], kts, cols, i)
				if e, ok := excluded[string(buf)]; ok {
					rows, ex = append(rows, i), append(ex, e)
					used[string(buf)] = true
				}
			}
			if len(rows) == 0 {
				r.Retain()
				parts[p] = append(parts[p], r)
				continue
			}
			next, changed, err := s.upsertBatch(ec, t, r, rows, ex, u)
			if err != nil {
				return fail(err)
			}
			parts[p] = append(parts[p], next)
			if changed != nil {
				updated = append(updated, changed)
				n += changed.NumRows()
			}
		}
	}
	return parts, updated, n, nil
}

// upsertBatch rewrites the given rows of one stored batch.
func (s *Session) upsertBatch(ec *exec.EvalContext, t *catalog.Table, r arrow.Record, rows []int, ex [][]types.Datum, u *upsertSet) (arrow.Record, arrow.Record, error) {
	// the matching stored rows side by side with their proposed rows
	stored, err := exec.TakeRecord(ec.Mem, r, rows)
	if err != nil {
		return nil, nil, err
	}
	defer stored.Release()
	fields := append([]arrow.Field{}, stored.Schema().Fields()...)
	cols := append([]arrow.Array{}, stored.Columns()...)
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for c, col := range t.Columns {
		bl := array.NewBuilder(ec.Mem, col.Type.Arrow())
		for _, e := range ex {
			exec.AppendDatum(bl, e[c])
		}
		a := bl.NewArray()
		bl.Release()
		made = append(made, a)
		cols = append(cols, a)
		fields = append(fields, arrow.Field{Name: "excluded." + col.Name, Type: col.Type.Arrow(), Nullable: true})
	}
	both := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
	defer both.Release()
	apply := make([]bool, len(rows))
	for i := range apply {
		apply[i] = true
	}
	if u.where != nil {
		m, err := u.where.Eval(ec, both)
		if err != nil {
			return nil, nil, err
		}
		mask := m.(*array.Boolean)
		for i := range apply {
			apply[i] = mask.IsValid(i) && mask.Value(i)
		}
		m.Release()
	}
	newCols := make([]arrow.Array, len(t.Columns))
	for c := range t.Columns {
		if u.sets[c] == nil {
			newCols[c] = stored.Column(c)
			newCols[c].Retain()
			continue
		}
		v, err := u.sets[c].Eval(ec, both)
		if err != nil {
			releaseArrays(newCols[:c])
			return nil, nil, err
		}
		newCols[c] = v
	}
	newRows := array.NewRecord(stored.Schema(), newCols, int64(len(rows)))
	releaseArrays(newCols)
	newRows, err = withGeneratedValues(ec, newRows, u.generated)
	if err != nil {
		return nil, nil, err
	}
	defer newRows.Release()
	// the batch with each applied row replaced, row by row
	out := make([]array.Builder, len(t.Columns))
	for c, col := range t.Columns {
		out[c] = array.NewBuilder(ec.Mem, col.Type.Arrow())
		defer out[c].Release()
	}
	var changedIdx []int
	j := 0
	for i := 0; i < int(r.NumRows()); i++ {
		src, row := r, i
		if j < len(rows) && rows[j] == i {
			if apply[j] {
				src, row = newRows, j
				changedIdx = append(changedIdx, j)
			}
			j++
		}
		for c := range t.Columns {
			exec.AppendDatum(out[c], exec.DatumAt(src.Column(c), row))
		}
	}
	arrs := make([]arrow.Array, len(out))
	for c, bl := range out {
		arrs[c] = bl.NewArray()
	}
	next := array.NewRecord(r.Schema(), arrs, r.NumRows())
	releaseArrays(arrs)
	var changed arrow.Record
	if len(changedIdx) > 0 {
		if changed, err = exec.TakeRecord(ec.Mem, newRows, changedIdx); err != nil {
			next.Release()
			return nil, nil, err
		}
	}
	return next, changed, nil
}

func releaseArrays(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// excludedRows maps each conflicting proposed row, by the stored key it
// collided on, to its values.
func excludedRows(t *catalog.Table, recs []arrow.Record, hit [][]int, stored [][]string) map[string][]types.Datum {
	out := map[string][]types.Datum{}
	for ri, r := range recs {
		for j, i := range hit[ri] {
			row := make([]types.Datum, len(t.Columns))
			for c := range t.Columns {
				row[c] = exec.DatumAt(r.Column(c), i)
			}
			out[stored[ri][j]] = row
		}
	}
	return out
}

// insertOnConflict stores an INSERT's rows under its ON CONFLICT clause
// and returns how many rows it inserted or updated, and those rows (for
// RETURNING; the caller releases them).
func (s *Session) insertOnConflict(ctx context.Context, t *catalog.Table, oc *pg.OnConflictClause, keys []catalog.Key, u *upsertSet, recs []arrow.Record) (int64, []arrow.Record, error) {
	if oc.Action == pg.OnConflictAction_ONCONFLICT_NOTHING {
		n, rows, err := s.appendRowsFiltered(t, recs, func(cur *catalog.Snapshot, recs []arrow.Record) ([]arrow.Record, error) {
			hit, _, _ := conflicts(t, cur, keys, recs)
			return s.withoutConflicts(recs, hit)
		})
		if err == nil && s.tx != nil && s.tx.work[t] != nil {
			s.tx.work[t].upserted = true
		}
		return n, rows, err
	}
	for _, check := range []func() error{
		func() error { return checkNotNull(t, recs) },
		func() error { return s.checkDomains(ctx, t, recs) },
		func() error { return s.checkRows(ctx, t, recs) },
	} {
		if err := check(); err != nil {
			return 0, nil, err
		}
	}
	schema := t.ArrowSchema()
	relabeled := make([]arrow.Record, len(recs))
	for i, r := range recs {
		relabeled[i] = withSchema(r, schema)
	}
	defer exec.ReleaseRecords(relabeled)
	if s.tx == nil {
		// a statement outside a block holds its row locks until it is
		// installed
		defer s.releaseRowLocks()
	}
	for {
		// the rows the proposed rows reference, FOR KEY SHARE (foreign.go;
		// again after a wait, which let go of them outside a block)
		if err := s.lockReferencedRows(ctx, t, relabeled); err != nil {
			return 0, nil, err
		}
		n, written, blocker, err := s.upsertOnce(ctx, t, keys, u, relabeled)
		if err != nil || blocker == nil {
			return n, written, err
		}
		if s.tx == nil {
			s.releaseRowLocks() // hold nothing while waiting
		}
		if err := s.db.rowLocks.wait(ctx, s, *blocker); err != nil {
			return 0, nil, err
		}
	}
}

// upsertOnce is one attempt of a DO UPDATE; blocker is set (and nothing
// installed) when a stored row it would update is locked by another
// session. Where row locks are taken (rowlocks.go) and the clause
// arbitrates on the primary key, the rows it updates are locked as an
// UPDATE's are: a row another block changed makes it wait for that block
// and run again on the newest committed rows, as PostgreSQL's upsert
// does at READ COMMITTED.
func (s *Session) upsertOnce(ctx context.Context, t *catalog.Table, keys []catalog.Key, u *upsertSet, relabeled []arrow.Record) (int64, []arrow.Record, *lockRequest, error) {
	s.noteWrite(t)
	t.Lock()
	defer t.Unlock()
	if err := s.notHeld(t, false); err != nil {
		return 0, nil, nil, err
	}
	locking := s.locksRows(t) && keys[0].Primary
	if locking {
		if err := s.rebaseWork(t); err != nil {
			return 0, nil, nil, err
		}
	}
	cur := s.current(t)
	if err := cur.Load(); err != nil {
		return 0, nil, nil, err
	}
	hit, stored, dup := conflicts(t, cur, keys, relabeled)
	if dup {
		return 0, nil, nil, sqlerr.New(sqlerr.CardinalityViolation, "ON CONFLICT DO UPDATE command cannot affect row a second time").
			WithHint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
	}
	if locking {
		reqs := storedRowKeys(t, stored, u.lockMode(t))
		if blocker := s.db.rowLocks.tryLock(s, reqs); blocker != nil {
			return 0, nil, blocker, nil
		}
		// (REPEATABLE READ: a key or a row committed since the snapshot)
		if err := s.keysCommittedSince(t, relabeled, true); err != nil {
			return 0, nil, nil, err
		}
		if err := changedSince(t, s.sinceSnapshot(t), reqs, false); err != nil {
			return 0, nil, nil, err
		}
	}
	n, written, err := s.upsertLocked(ctx, t, cur, keys, u, relabeled, hit, stored)
	var blocked *rowLockBlocked
	if errors.As(err, &blocked) {
		return 0, nil, &blocked.req, nil // a cascade's child row (fklocks.go)
	}
	return n, written, nil, err
}

// storedRowKeys names the locks (of strength mode) of the stored rows an
// upsert updates, by their primary key as conflicts encoded it.
func storedRowKeys(t *catalog.Table, stored [][]string, mode lockMode) []lockRequest {
	var out []lockRequest
	for _, keys := range stored {
		for _, k := range keys {
			if k != "" && len(out) < maxLockedRows {
				out = append(out, lockRequest{key: rowLockKey{oid: t.OID, key: k}, mode: mode})
			}
		}
	}
	return out
}

// lockMode is the row lock DO UPDATE takes: FOR UPDATE where it sets a
// column of one of t's unique keys (or a generated one), FOR NO KEY
// UPDATE otherwise, as PostgreSQL decides by the columns the clause sets.
func (u *upsertSet) lockMode(t *catalog.Table) lockMode {
	for _, k := range t.Keys {
		for _, c := range k.Columns {
			if u.sets[c] != nil || c < len(u.generated) && u.generated[c] != nil {
				return lockForUpdate
			}
		}
	}
	return lockForNoKeyUpdate
}

// upsertLocked is the rest of upsertOnce, under the table's lock: the
// new rows appended, the conflicting ones updated, installed.
func (s *Session) upsertLocked(ctx context.Context, t *catalog.Table, cur *catalog.Snapshot, keys []catalog.Key, u *upsertSet, relabeled []arrow.Record, hit [][]int, stored [][]string) (int64, []arrow.Record, error) {
	fresh, err := s.withoutConflicts(relabeled, hit)
	if err != nil {
		return 0, nil, err
	}
	parts, updated, nUpd, err := s.upsertRows(ctx, t, cur, keys[0], u, excludedRows(t, relabeled, hit, stored))
	if err != nil {
		exec.ReleaseRecords(fresh)
		return 0, nil, err
	}
	written := append(fresh, updated...)
	fail := func(err error) (int64, []arrow.Record, error) {
		exec.ReleaseRecords(written)
		for _, p := range parts {
			exec.ReleaseRecords(p)
		}
		return 0, nil, err
	}
	for _, check := range []func() error{
		func() error { return checkNotNull(t, updated) },
		func() error { return s.checkDomains(ctx, t, updated) },
		func() error { return s.checkRows(ctx, t, updated) },
		func() error { return s.checkReferences(t, written) },
	} {
		if err := check(); err != nil {
			return fail(err)
		}
	}
	all, err := catalog.AppendParts(s.db.opts.Mem, &catalog.Snapshot{Parts: parts}, fresh, s.db.opts.BatchSize)
	if err != nil {
		return fail(err)
	}
	for _, p := range parts {
		exec.ReleaseRecords(p)
	}
	parts = nil
	sets, err := checkAllKeys(t, t.Keys, all, s.zone)
	if err == nil {
		var children []pendingInstall
		if children, err = s.applyParentChange(ctx, t, cur, all, false, map[*catalog.Table]bool{t: true}); err == nil {
			s.db.installTogether(func() {
				s.install(t, all, nil, nil)
				if s.tx != nil {
					s.tx.work[t].upserted = true
				}
				for name, ks := range sets {
					s.current(t).SetKeySet(name, ks)
				}
				s.installChildren(t, children)
			})
			var n int64
			for _, r := range fresh {
				n += r.NumRows()
			}
			return n + nUpd, written, nil
		}
	}
	for _, p := range all {
		exec.ReleaseRecords(p)
	}
	return fail(err)
}

// withGeneratedValues replaces rec's generated columns (gen, by column;
// nil for the others) by their expressions evaluated over rec, which it
// releases.
func withGeneratedValues(ec *exec.EvalContext, rec arrow.Record, gen []exec.Expr) (arrow.Record, error) {
	if gen == nil {
		return rec, nil
	}
	defer rec.Release()
	cols := make([]arrow.Array, rec.NumCols())
	for c := range cols {
		if c >= len(gen) || gen[c] == nil {
			cols[c] = rec.Column(c)
			cols[c].Retain()
			continue
		}
		v, err := gen[c].Eval(ec, rec)
		if err != nil {
			releaseArrays(cols[:c])
			return nil, err
		}
		cols[c] = v
	}
	out := array.NewRecord(rec.Schema(), cols, rec.NumRows())
	releaseArrays(cols)
	return out, nil
}
