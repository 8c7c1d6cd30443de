package engine

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/index"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Foreign keys are checked in both directions when rows are written: a
// child row's key must be in the referenced table's key set, and rows a
// DELETE or UPDATE takes out of a referenced table must not be referenced
// any more (NO ACTION, RESTRICT), or take their referencing rows with
// them (ON DELETE CASCADE) or lose the reference (ON DELETE SET NULL).
// Checks read the referenced table's current data (a block's own version
// inside a block). Where row locks are taken (rowlocks.go), an INSERT
// (an upsert too), and an UPDATE that changes a reference, first lock the referenced rows
// FOR KEY SHARE, as PostgreSQL's check does: it waits for a block that deletes the row or changes its key (and
// then finds it gone, or there), and a DELETE of the row, or an UPDATE of
// its key, waits for the inserting block to end (and then finds the new
// reference); an UPDATE that keeps the keys does not wait. (A foreign key
// to a unique key that is not the primary key checks without the lock;
// an upsert locks the rows all its proposed rows reference, where
// PostgreSQL locks none for a row whose DO UPDATE keeps the reference.)

// pendingFK is a FOREIGN KEY constraint as written.
type pendingFK struct {
	c      *pg.Constraint
	column string // for a column constraint (REFERENCES after a column)
}

// addForeignKeys declares foreign keys on t after checking they can hold.
func (s *Session) addForeignKeys(t *catalog.Table, fks []pendingFK) error {
	for _, p := range fks {
		fk, err := s.resolveForeignKey(t, p)
		if err != nil {
			return err
		}
		t.ForeignKeys = append(t.ForeignKeys, fk)
	}
	return nil
}

func (s *Session) resolveForeignKey(t *catalog.Table, p pendingFK) (catalog.ForeignKey, error) {
	c := p.c
	fk := catalog.ForeignKey{Name: c.Conname, OnDelete: c.FkDelAction, OnUpdate: c.FkUpdAction}
	cols := namesOf(c.FkAttrs)
	if p.column != "" {
		cols = []string{p.column}
	}
	for _, name := range cols {
		i := t.ColumnIndex(name)
		if i < 0 {
			return fk, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" referenced in foreign key constraint does not exist", name)
		}
		fk.Columns = append(fk.Columns, i)
	}
	parent := t
	if rv := c.Pktable; rv != nil && !(rv.Relname == t.Name && (rv.Schemaname == "" || rv.Schemaname == t.Schema)) {
		pt, _, ok := s.db.cat.Lookup(rv.Schemaname, rv.Relname, s.searchPath)
		if !ok || pt == nil {
			return fk, sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", rv.Relname).At(rv.Location)
		}
		if pt.MatView != "" {
			return fk, sqlerr.New(sqlerr.WrongObjectType, "referenced relation \"%s\" is not a table", rv.Relname)
		}
		parent = pt
	}
	fk.RefOID = parent.OID
	refNames := namesOf(c.PkAttrs)
	var key *catalog.Key
	for i := range parent.Keys {
		k := parent.Keys[i]
		if len(refNames) == 0 && k.Primary || len(refNames) > 0 && sameColumns(parent, k.Columns, refNames) {
			key = &k
			break
		}
	}
	if key == nil {
		if len(refNames) == 0 {
			return fk, sqlerr.New(sqlerr.UndefinedObject, "there is no primary key for referenced table \"%s\"", parent.Name)
		}
		return fk, sqlerr.New(sqlerr.InvalidForeignKey, "there is no unique constraint matching given keys for referenced table \"%s\"", parent.Name)
	}
	if len(refNames) == 0 {
		fk.RefColumns = key.Columns
	} else {
		for _, n := range refNames {
			fk.RefColumns = append(fk.RefColumns, parent.ColumnIndex(n))
		}
	}
	if len(fk.RefColumns) != len(fk.Columns) {
		return fk, sqlerr.New(sqlerr.InvalidForeignKey, "number of referencing and referenced columns for foreign key disagree")
	}
	if parent != t {
		// a reference reveals which keys exist: it needs REFERENCES on
		// the referenced columns (or the table)
		if err := s.requireColumns(parent, fk.RefColumns, catalog.PrivReferences); err != nil {
			return fk, err
		}
	}
	for i, c := range fk.Columns {
		ct, pt := t.Columns[c].Type, parent.Columns[fk.RefColumns[i]].Type
		if ct.Kind != pt.Kind && !(ct.IsInteger() && pt.IsInteger()) {
			return fk, sqlerr.New(sqlerr.DatatypeMismatch, "foreign key constraint \"%s\" cannot be implemented", fk.Name).
				WithDetail("Key columns \"" + t.Columns[c].Name + "\" and \"" + parent.Columns[fk.RefColumns[i]].Name + "\" are of incompatible types: " + ct.String() + " and " + pt.String() + ".")
		}
	}
	switch fk.OnDelete {
	case "", "a", "r", "c", "n":
	default:
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "ON DELETE SET DEFAULT is not supported yet")
	}
	switch fk.OnUpdate {
	case "", "a", "r", "c", "n":
	default:
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "ON UPDATE SET DEFAULT is not supported yet")
	}
	if parent == t && (fk.OnDelete == "c" || fk.OnDelete == "n" || fk.OnUpdate == "c" || fk.OnUpdate == "n") {
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "CASCADE and SET NULL actions on a table referencing itself are not supported yet")
	}
	if fk.Name == "" {
		names := make([]string, len(fk.Columns))
		for i, c := range fk.Columns {
			names[i] = t.Columns[c].Name
		}
		fk.Name = t.Name + "_" + strings.Join(names, "_") + "_fkey"
	}
	fk.ConOID = s.db.cat.AllocOID()
	return fk, nil
}

func sameColumns(t *catalog.Table, cols []int, names []string) bool {
	if len(cols) != len(names) {
		return false
	}
	for _, n := range names {
		if !slices.Contains(cols, t.ColumnIndex(n)) {
			return false
		}
	}
	return true
}

// referencedKey is the parent table and the key a foreign key points at.
func (s *Session) referencedKey(fk catalog.ForeignKey) (*catalog.Table, catalog.Key, bool) {
	parent := s.db.cat.TableByOID(fk.RefOID)
	if parent == nil {
		return nil, catalog.Key{}, false
	}
	for _, k := range parent.Keys {
		if len(k.Columns) == len(fk.RefColumns) && sameSet(k.Columns, fk.RefColumns) {
			// the key's own column order: reorder the reference to match
			return parent, k, true
		}
	}
	return nil, catalog.Key{}, false
}

func sameSet(a, b []int) bool {
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

// childColumnsInKeyOrder lists a foreign key's columns in the order of
// the referenced key's columns (so the encoded values compare).
func childColumnsInKeyOrder(fk catalog.ForeignKey, k catalog.Key) []int {
	out := make([]int, len(k.Columns))
	for i, kc := range k.Columns {
		out[i] = fk.Columns[slices.Index(fk.RefColumns, kc)]
	}
	return out
}

// checkReferences enforces t's foreign keys on rows about to be stored.
func (s *Session) checkReferences(t *catalog.Table, recs []arrow.Record) error {
	for _, fk := range t.ForeignKeys {
		parent, k, ok := s.referencedKey(fk)
		if !ok {
			continue
		}
		cols := childColumnsInKeyOrder(fk, k)
		kts := keyTypes(parent, k)
		has := parentKeyLookup(parent, s.current(parent), k, t, cols)
		gone := s.referenceGoneSince(parent, k)
		var buf []byte
		for _, r := range recs {
			arrs := make([]arrow.Array, len(cols))
			for i, c := range cols {
				arrs[i] = r.Column(c)
			}
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(arrs, i) {
					continue // MATCH SIMPLE: a NULL anywhere exempts the row
				}
				buf = exec.EncodeKey(buf[:0], kts, arrs, i)
				if !has(buf, arrs, i) {
					return sqlerr.New(sqlerr.ForeignKeyViolation, "insert or update on table \"%s\" violates foreign key constraint \"%s\"", t.Name, fk.Name).
						WithDetail("Key " + keyText(t, cols, arrs, i) + " is not present in table \"" + parent.Name + "\".")
				}
				if gone != nil && gone(buf) {
					return errConcurrent("update") // (REPEATABLE READ: snapshot.go)
				}
			}
		}
	}
	return nil
}

// lockReferencedRows takes FOR KEY SHARE locks on the parent rows recs
// (rows about to be added to t) reference, waiting for
// a block holding a conflicting lock to end; after a wait the referenced
// tables' private versions move onto the newest committed rows, which the
// check then reads (READ COMMITTED).
func (s *Session) lockReferencedRows(ctx context.Context, t *catalog.Table, recs []arrow.Record) error {
	reqs := s.referencedRowLocks(t, recs)
	for len(reqs) > 0 {
		blocker := s.db.rowLocks.tryLock(s, reqs)
		if blocker == nil {
			return nil
		}
		if s.tx == nil {
			s.releaseRowLocks() // hold nothing while waiting
		}
		if err := s.db.rowLocks.wait(ctx, s, *blocker); err != nil {
			return err
		}
		for _, fk := range t.ForeignKeys {
			if parent, _, ok := s.referencedKey(fk); ok && parent != t {
				if err := s.rebaseLocked(parent); err != nil {
					return err
				}
			}
		}
		// found again: a parent row named by its values (rowIdentity) has
		// a new name once the block waited for changed it
		reqs = s.referencedRowLocks(t, recs)
	}
	return nil
}

// referencedRowLocks are the FOR KEY SHARE locks of the referenced rows
// of recs, through the foreign keys of t to a primary or unique key of a
// table whose rows s locks (fklocks.go) (none past maxLockedRows: the check then goes
// without them).
func (s *Session) referencedRowLocks(t *catalog.Table, recs []arrow.Record) []lockRequest {
	if len(t.ForeignKeys) == 0 {
		return nil
	}
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	if n*int64(len(t.ForeignKeys)) > maxLockedRows {
		return nil
	}
	var reqs []lockRequest
	for _, fk := range t.ForeignKeys {
		parent, k, ok := s.referencedKey(fk)
		if !ok || !s.locksRows(parent) {
			continue
		}
		cols := childColumnsInKeyOrder(fk, k)
		kts := keyTypes(parent, k)
		find := s.parentRowFinder(parent, k, t, cols)
		var buf []byte
		arrs := make([]arrow.Array, len(cols))
		for _, r := range recs {
			for i, c := range cols {
				arrs[i] = r.Column(c)
			}
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(arrs, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], kts, arrs, i)
				if lk, found := find(buf, arrs, i); found {
					reqs = append(reqs, lockRequest{key: rowLockKey{oid: parent.OID, key: lk}, mode: lockForKeyShare})
				}
			}
		}
	}
	return reqs
}

// keyText is "(a, b)=(1, 2)" for row i of the given columns.
func keyText(t *catalog.Table, cols []int, arrs []arrow.Array, i int) string {
	names := make([]string, len(cols))
	vals := make([]string, len(cols))
	for j, c := range cols {
		names[j] = t.Columns[c].Name
		vals[j] = formatDatum(t.Columns[c].Type, exec.DatumAt(arrs[j], i))
	}
	return "(" + strings.Join(names, ", ") + ")=(" + strings.Join(vals, ", ") + ")"
}

// referencing lists the foreign keys (with their tables) that point at t,
// a table's together, in the order they were made (the tables by their
// first such key): PostgreSQL runs their actions in that order, so a
// cascade made first waits for a locked child row before a key made
// later fails the statement.
func (s *Session) referencing(t *catalog.Table) []childRef {
	var out []childRef
	first := map[*catalog.Table]uint32{}
	for _, sc := range s.db.cat.Schemas() {
		for _, child := range sc.Tables {
			for _, fk := range child.ForeignKeys {
				if fk.RefOID == t.OID {
					out = append(out, childRef{table: child, fk: fk})
					if f, ok := first[child]; !ok || fk.ConOID < f {
						first[child] = fk.ConOID
					}
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.table != b.table {
			if first[a.table] != first[b.table] {
				return first[a.table] < first[b.table]
			}
			return a.table.OID < b.table.OID
		}
		return a.fk.ConOID < b.fk.ConOID
	})
	return out
}

type childRef struct {
	table *catalog.Table
	fk    catalog.ForeignKey
}

// pendingInstall is a child table's new data, installed once the whole
// statement has succeeded.
type pendingInstall struct {
	table *catalog.Table
	parts [][]arrow.Record
}

// applyParentChange handles the rows a DELETE or UPDATE of t removes
// from its keys (old is t's data before, parts after): references to them
// fail the statement or, for ON DELETE CASCADE / SET NULL, change the
// referencing tables, whose new data is returned to install (recursively
// for tables referencing those). Nothing is installed here.
func (s *Session) applyParentChange(ctx context.Context, t *catalog.Table, old *catalog.Snapshot, parts [][]arrow.Record, deleting bool, seen map[*catalog.Table]bool) ([]pendingInstall, error) {
	refs := s.referencing(t)
	var out []pendingInstall
	// a child's references to t are handled together, one after the
	// other on the child's new data, under one lock of the child
	for len(refs) > 0 {
		n := 1
		for n < len(refs) && refs[n].table == refs[0].table {
			n++
		}
		group := refs[:n]
		refs = refs[n:]
		pending, err := s.applyToChild(ctx, t, old, parts, deleting, group, seen)
		out = append(out, pending...)
		if err != nil {
			s.abandon(t, out)
			return nil, err
		}
	}
	return out, nil
}

// applyToChild applies a change of t to one child table through each of
// its references (group) to t, then to the child's own children. On
// success the child stays locked until installChildren; what it returns
// with an error is still to be abandoned by the caller.
func (s *Session) applyToChild(ctx context.Context, t *catalog.Table, old *catalog.Snapshot, parts [][]arrow.Record, deleting bool, group []childRef, seen map[*catalog.Table]bool) ([]pendingInstall, error) {
	child := group[0].table
	locked := false
	unlock := func() {
		if locked {
			child.Unlock()
			locked = false
		}
	}
	childData := s.current(child)
	if child == t {
		childData = &catalog.Snapshot{Parts: parts} // a table referencing itself: its new rows
	}
	locks := s.newChildLocks(child)
	var cur [][]arrow.Record // the child's new data so far (ours to release)
	fail := func(err error) ([]pendingInstall, error) {
		releaseParts([]pendingInstall{{child, cur}})
		unlock()
		return nil, err
	}
	removedRows := false
	for _, ref := range group {
		parent, k, ok := s.referencedKey(ref.fk)
		if !ok || parent != t {
			continue
		}
		removed := removedKeys(t, k, old, parts)
		if len(removed) == 0 {
			continue
		}
		if !locked && child != t {
			child.Lock() // held until installChildren (or released on error)
			locked = true
			if err := s.notHeld(child, false); err != nil {
				return fail(err)
			}
			if locks != nil {
				// the newest committed rows (READ COMMITTED), as the
				// cascade's own UPDATE or DELETE reads in PostgreSQL
				if err := s.rebaseWork(child); err != nil {
					return fail(err)
				}
				childData = s.current(child)
			}
		}
		action := ref.fk.OnDelete
		var newKeys map[string][]types.Datum
		if !deleting {
			action = ref.fk.OnUpdate
			if action == "c" {
				var err error
				if newKeys, err = updatedKeys(t, k, old, parts); err != nil {
					return fail(err)
				}
			}
		}
		data := childData
		if cur != nil {
			data = &catalog.Snapshot{Parts: cur}
		}
		regen, err := s.generatedRecompute(ctx, child)
		if err != nil {
			return fail(err)
		}
		newParts, changed, err := s.referencingRows(t, child, ref.fk, data, childColumnsInKeyOrder(ref.fk, k), keyTypes(t, k), removed, action, newKeys, regen, locks)
		if err != nil {
			return fail(err)
		}
		if err := s.referencesCommittedSince(child, childColumnsInKeyOrder(ref.fk, k), keyTypes(t, k), removed, action, stillReferenced(t, child, ref.fk, childColumnsInKeyOrder(ref.fk, k))); err != nil {
			return fail(err) // (REPEATABLE READ: snapshot.go)
		}
		if changed {
			releaseParts([]pendingInstall{{child, cur}})
			cur = newParts
			removedRows = removedRows || deleting && action == "c"
		}
	}
	if cur == nil {
		unlock()
		return nil, nil
	}
	if err := locks.take(s); err != nil {
		return fail(err)
	}
	if seen[child] {
		return fail(sqlerr.New(sqlerr.FeatureNotSupported, "cascading into table \"%s\" twice in one statement is not supported yet", child.Name))
	}
	seen[child] = true
	out := []pendingInstall{{child, cur}}
	// the child's keys may have changed in turn
	more, err := s.applyParentChange(ctx, child, childData, cur, removedRows, seen)
	out = append(out, more...)
	return out, err
}

// removedKeys are the encoded values of key k in old that parts lacks.
func removedKeys(t *catalog.Table, k catalog.Key, old *catalog.Snapshot, parts [][]arrow.Record) map[string]bool {
	now := map[string]struct{}{}
	_ = eachKey(t, k, flatten(parts), func(key string, _ []arrow.Array, _ int) error {
		now[key] = struct{}{}
		return nil
	})
	removed := map[string]bool{}
	keySetOf(t, old, k).Each(func(key string) {
		if _, ok := now[key]; !ok {
			removed[key] = true
		}
	})
	return removed
}

// referencingRows finds the child rows whose reference is among removed
// and applies the action: an error for NO ACTION and RESTRICT, the
// child's data without them for CASCADE on delete, with the reference
// changed to the parent's new key (newKeys, by old key) for CASCADE on
// update, with the reference set to NULL for SET NULL. changed says
// whether newParts is to be installed. regen (nil when the child has
// none) recomputes the child's generated columns on a batch whose
// references changed.
func (s *Session) referencingRows(parent, child *catalog.Table, fk catalog.ForeignKey, data *catalog.Snapshot, cols []int, kts []types.T, removed map[string]bool, action string, newKeys map[string][]types.Datum, regen func(arrow.Record) (arrow.Record, error), locks *childLocks) ([][]arrow.Record, bool, error) {
	newParts := make([][]arrow.Record, len(data.Parts))
	changed := false
	var buf []byte
	fail := func(err error) ([][]arrow.Record, bool, error) {
		releaseParts([]pendingInstall{{child, newParts}})
		return nil, false, err
	}
	for p, recs := range data.Parts {
		for _, r := range recs {
			arrs := make([]arrow.Array, len(cols))
			for i, c := range cols {
				arrs[i] = r.Column(c)
			}
			var hit []int
			var hitKeys []string
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(arrs, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], kts, arrs, i)
				if removed[string(buf)] {
					hit = append(hit, i)
					hitKeys = append(hitKeys, string(buf))
				}
			}
			if len(hit) == 0 {
				r.Retain()
				newParts[p] = append(newParts[p], r)
				continue
			}
			if action == "c" || action == "n" {
				locks.add(r, hit, action == "c" && newKeys == nil, fk.Columns)
			}
			switch {
			case action == "c" && newKeys != nil:
				moved, err := withReplacedColumns(s, r, cols, hit, func(h, k int) types.Datum { return newKeys[hitKeys[h]][k] })
				if err == nil && regen != nil {
					moved, err = regen(moved)
				}
				if err != nil {
					return fail(err)
				}
				newParts[p] = append(newParts[p], moved)
			case action == "c":
				kept, err := withoutRows(s, r, hit)
				if err != nil {
					return fail(err)
				}
				if kept != nil {
					newParts[p] = append(newParts[p], kept)
				}
			case action == "n":
				nulled, err := withReplacedColumns(s, r, fk.Columns, hit, func(int, int) types.Datum { return nil })
				if err == nil && regen != nil {
					nulled, err = regen(nulled)
				}
				if err != nil {
					return fail(err)
				}
				newParts[p] = append(newParts[p], nulled)
			default:
				return fail(stillReferenced(parent, child, fk, cols)(arrs, hit[0]))
			}
			changed = true
		}
	}
	if !changed {
		releaseParts([]pendingInstall{{child, newParts}})
		return nil, false, nil
	}
	return newParts, true, nil
}

// stillReferenced is the 23503 of a DELETE or key UPDATE of parent whose
// removed key row i of the child's columns cols (arrs) references.
func stillReferenced(parent, child *catalog.Table, fk catalog.ForeignKey, cols []int) func(arrs []arrow.Array, i int) error {
	return func(arrs []arrow.Array, i int) error {
		return sqlerr.New(sqlerr.ForeignKeyViolation, "update or delete on table \"%s\" violates foreign key constraint \"%s\" on table \"%s\"", parent.Name, fk.Name, child.Name).
			WithDetail("Key " + keyText(child, cols, arrs, i) + " is still referenced from table \"" + child.Name + "\".")
	}
}

// withoutRows is r without the given rows (ascending; nil when none is
// left).
func withoutRows(s *Session, r arrow.Record, drop []int) (arrow.Record, error) {
	if len(drop) <= maxDropRuns && len(drop) < int(r.NumRows()) {
		return withoutFewRows(s, r, drop)
	}
	var keep []int
	j := 0
	for i := 0; i < int(r.NumRows()); i++ {
		if j < len(drop) && drop[j] == i {
			j++
			continue
		}
		keep = append(keep, i)
	}
	if len(keep) == 0 {
		return nil, nil
	}
	return exec.TakeRecord(s.db.opts.Mem, r, keep)
}

// maxDropRuns is the most rows withoutRows drops by joining the runs of
// rows between them (a copy of each column's memory) rather than
// gathering every row kept one by one.
const maxDropRuns = 16

// withoutFewRows is withoutRows for a few rows (not all of r's): r's
// runs of rows around them, joined.
func withoutFewRows(s *Session, r arrow.Record, drop []int) (arrow.Record, error) {
	var runs []arrow.Record
	defer func() { exec.ReleaseRecords(runs) }()
	prev := int64(0)
	for k := 0; k <= len(drop); k++ {
		end := r.NumRows() // (after the last row dropped: up to r's end)
		if k < len(drop) {
			end = int64(drop[k])
		}
		if end > prev {
			runs = append(runs, r.NewSlice(prev, end))
		}
		prev = end + 1
	}
	if len(runs) == 1 {
		runs[0].Retain()
		return runs[0], nil
	}
	return catalog.ConcatRecords(s.db.opts.Mem, runs)
}

// withReplacedColumns is r with cols changed in the given rows (in
// ascending order): the h-th of those rows gets value(h, k) in cols[k]
// (nil for NULL).
func withReplacedColumns(s *Session, r arrow.Record, cols []int, rows []int, value func(h, k int) types.Datum) (arrow.Record, error) {
	out := make([]arrow.Array, r.NumCols())
	for c := range out {
		k := slices.Index(cols, c)
		if k < 0 {
			out[c] = r.Column(c)
			out[c].Retain()
			continue
		}
		b := array.NewBuilder(s.db.opts.Mem, r.Column(c).DataType())
		h := 0
		for i := 0; i < int(r.NumRows()); i++ {
			if h < len(rows) && rows[h] == i {
				exec.AppendDatum(b, value(h, k))
				h++
				continue
			}
			exec.AppendDatum(b, exec.DatumAt(r.Column(c), i))
		}
		out[c] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecord(r.Schema(), out, r.NumRows())
	for _, a := range out {
		a.Release()
	}
	return rec, nil
}

// updatedKeys maps each key value of k that an UPDATE of t changed to the
// row's new key values (in k's column order). An UPDATE rewrites every
// partition row for row, so old and new rows line up by position.
func updatedKeys(t *catalog.Table, k catalog.Key, old *catalog.Snapshot, parts [][]arrow.Record) (map[string][]types.Datum, error) {
	kts := keyTypes(t, k)
	out := map[string][]types.Datum{}
	var buf []byte
	for p, newRecs := range parts {
		var oldRecs []arrow.Record
		if old != nil && p < len(old.Parts) {
			oldRecs = old.Parts[p]
		}
		oldRows, newRows := rowsOf(oldRecs), rowsOf(newRecs)
		if len(oldRows) != len(newRows) {
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "ON UPDATE CASCADE of table \"%s\" could not pair old and new rows", t.Name)
		}
		for i, o := range oldRows {
			oldCols, newCols := keyColumns(o.rec, k), keyColumns(newRows[i].rec, k)
			if hasNull(oldCols, o.row) {
				continue
			}
			buf = exec.EncodeKey(buf[:0], kts, oldCols, o.row)
			key := string(buf)
			if string(exec.EncodeKey(nil, kts, newCols, newRows[i].row)) == key {
				continue
			}
			vals := make([]types.Datum, len(newCols))
			for j, a := range newCols {
				vals[j] = exec.DatumAt(a, newRows[i].row)
			}
			out[key] = vals
		}
	}
	return out, nil
}

type rowRef struct {
	rec arrow.Record
	row int
}

func rowsOf(recs []arrow.Record) []rowRef {
	var out []rowRef
	for _, r := range recs {
		for i := 0; i < int(r.NumRows()); i++ {
			out = append(out, rowRef{r, i})
		}
	}
	return out
}

func releaseParts(ps []pendingInstall) {
	for _, p := range ps {
		for _, recs := range p.parts {
			exec.ReleaseRecords(recs)
		}
	}
}

// installChildren installs what applyParentChange computed and releases
// the child locks it took (the caller holds the parent's lock).
func (s *Session) installChildren(parent *catalog.Table, ps []pendingInstall) {
	for _, p := range ps {
		// applyParentChange took the child's lock
		s.noteWrite(p.table)
		s.install(p.table, p.parts, nil, nil)
		if p.table != parent {
			p.table.Unlock()
		}
	}
}

// abandon lets go of computed child changes after a failure: their data
// and the child locks applyParentChange took.
func (s *Session) abandon(parent *catalog.Table, ps []pendingInstall) {
	releaseParts(ps)
	for _, p := range ps {
		if p.table != parent {
			p.table.Unlock()
		}
	}
}

func formatDatum(t types.T, d types.Datum) string {
	if d == nil {
		return "null"
	}
	return types.Format(t, d)
}

// keyReferencedBy names a foreign key that relies on t's key named name
// ("" when none does).
func (s *Session) keyReferencedBy(t *catalog.Table, name string) string {
	for _, ref := range s.referencing(t) {
		if _, k, ok := s.referencedKey(ref.fk); ok && k.Name == name {
			return ref.fk.Name + " on table " + ref.table.Name
		}
	}
	return ""
}

// parentKeyLookup tells whether a child row's key values (arrs at row i,
// hashed as key in exec.EncodeKey's form) are a key of the parent's data
// cur: through the key's index where the child's column types compare
// with it by the index encoding, else through the key set.
func parentKeyLookup(parent *catalog.Table, cur *catalog.Snapshot, k catalog.Key, child *catalog.Table, cols []int) func(key []byte, arrs []arrow.Array, i int) bool {
	comparable := true
	for j, c := range cols {
		pt, ct := parent.Columns[k.Columns[j]].Type, child.Columns[c].Type
		comparable = comparable && index.Comparable(pt, ct) && index.Comparable(ct, pt)
	}
	if ix := parent.KeyIndex(cur, k); ix != nil && comparable {
		var buf []byte
		return func(_ []byte, arrs []arrow.Array, i int) bool {
			buf = buf[:0]
			for j, a := range arrs {
				buf = index.AppendValue(buf, ix.Def.Types[j], a, i)
			}
			return ix.Tree.HasKey(string(buf))
		}
	}
	ks := keySetOf(parent, cur, k)
	return func(key []byte, _ []arrow.Array, _ int) bool { return ks.Has(string(key)) }
}
