package weft

import (
	"context"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Foreign keys are checked in both directions when rows are written: a
// child row's key must be in the referenced table's key set, and rows a
// DELETE or UPDATE takes out of a referenced table must not be referenced
// any more (NO ACTION, RESTRICT), or take their referencing rows with
// them (ON DELETE CASCADE) or lose the reference (ON DELETE SET NULL).
// Checks read the referenced table's current data (a block's own version
// inside a block) without locking it, so a child row inserted while
// another session deletes its parent is not caught.

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
		// a reference reveals which keys exist: it needs REFERENCES
		if err := s.requireOn(pt.OID, catalog.KindTable, pt.Name, catalog.PrivReferences); err != nil {
			return fk, err
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
	case "", "a", "r":
	default:
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "ON UPDATE actions other than NO ACTION and RESTRICT are not supported yet")
	}
	if parent == t && (fk.OnDelete == "c" || fk.OnDelete == "n") {
		return fk, sqlerr.New(sqlerr.FeatureNotSupported, "ON DELETE CASCADE and SET NULL on a table referencing itself are not supported yet")
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
		ks := keySetOf(parent, s.current(parent), k)
		cols := childColumnsInKeyOrder(fk, k)
		kts := keyTypes(parent, k)
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
				if !ks.Has(string(buf)) {
					return sqlerr.New(sqlerr.ForeignKeyViolation, "insert or update on table \"%s\" violates foreign key constraint \"%s\"", t.Name, fk.Name).
						WithDetail("Key " + keyText(t, cols, arrs, i) + " is not present in table \"" + parent.Name + "\".")
				}
			}
		}
	}
	return nil
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

// referencing lists the foreign keys (with their tables) that point at t.
func (s *Session) referencing(t *catalog.Table) []childRef {
	var out []childRef
	for _, sc := range s.db.cat.Schemas() {
		for _, child := range sc.Tables {
			for _, fk := range child.ForeignKeys {
				if fk.RefOID == t.OID {
					out = append(out, childRef{table: child, fk: fk})
				}
			}
		}
	}
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
	if len(refs) == 0 {
		return nil, nil
	}
	var out []pendingInstall
	for _, ref := range refs {
		parent, k, ok := s.referencedKey(ref.fk)
		if !ok || parent != t {
			continue
		}
		removed := removedKeys(t, k, old, parts)
		if len(removed) == 0 {
			continue
		}
		child := ref.table
		if child != t {
			child.Lock() // held until installChildren (or released on error)
			defer func() {
				if r := recover(); r != nil {
					child.Unlock() // a panic below must not leave the child locked
					panic(r)
				}
			}()
		}
		unlock := func() {
			if child != t {
				child.Unlock()
			}
		}
		if err := s.notHeld(child, false); err != nil {
			unlock()
			s.abandon(t, out)
			return nil, err
		}
		childData := s.current(child)
		if child == t {
			childData = &catalog.Snapshot{Parts: parts} // a table referencing itself: its new rows
		}
		cols := childColumnsInKeyOrder(ref.fk, k)
		kts := keyTypes(t, k)
		action := ref.fk.OnDelete
		if !deleting {
			action = ref.fk.OnUpdate
		}
		newParts, changed, err := s.referencingRows(t, child, ref.fk, childData, cols, kts, removed, action)
		if err != nil {
			unlock()
			s.abandon(t, out)
			return nil, err
		}
		if !changed {
			unlock()
			continue
		}
		if seen[child] {
			releaseParts([]pendingInstall{{child, newParts}})
			unlock()
			s.abandon(t, out)
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "cascading into table \"%s\" twice in one statement is not supported yet", child.Name)
		}
		seen[child] = true
		out = append(out, pendingInstall{child, newParts})
		// a cascade delete takes keys out of the child in turn
		more, err := s.applyParentChange(ctx, child, childData, newParts, true, seen)
		if err != nil {
			s.abandon(t, out)
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
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
// child's data without them for CASCADE, with the reference set to NULL
// for SET NULL. changed says whether newParts is to be installed.
func (s *Session) referencingRows(parent, child *catalog.Table, fk catalog.ForeignKey, data *catalog.Snapshot, cols []int, kts []types.T, removed map[string]bool, action string) ([][]arrow.Record, bool, error) {
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
			for i := 0; i < int(r.NumRows()); i++ {
				if hasNull(arrs, i) {
					continue
				}
				buf = exec.EncodeKey(buf[:0], kts, arrs, i)
				if removed[string(buf)] {
					hit = append(hit, i)
				}
			}
			if len(hit) == 0 {
				r.Retain()
				newParts[p] = append(newParts[p], r)
				continue
			}
			switch action {
			case "c":
				kept, err := withoutRows(s, r, hit)
				if err != nil {
					return fail(err)
				}
				if kept != nil {
					newParts[p] = append(newParts[p], kept)
				}
			case "n":
				nulled, err := withNullColumns(s, r, fk.Columns, hit)
				if err != nil {
					return fail(err)
				}
				newParts[p] = append(newParts[p], nulled)
			default:
				return fail(sqlerr.New(sqlerr.ForeignKeyViolation, "update or delete on table \"%s\" violates foreign key constraint \"%s\" on table \"%s\"", parent.Name, fk.Name, child.Name).
					WithDetail("Key " + keyText(child, cols, arrs, hit[0]) + " is still referenced from table \"" + child.Name + "\"."))
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

// withoutRows is r without the given rows (nil when none is left).
func withoutRows(s *Session, r arrow.Record, drop []int) (arrow.Record, error) {
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

// withNullColumns is r with cols set to NULL in the given rows.
func withNullColumns(s *Session, r arrow.Record, cols []int, rows []int) (arrow.Record, error) {
	out := make([]arrow.Array, r.NumCols())
	for c := range out {
		if !slices.Contains(cols, c) {
			out[c] = r.Column(c)
			out[c].Retain()
			continue
		}
		b := array.NewBuilder(s.db.opts.Mem, r.Column(c).DataType())
		j := 0
		for i := 0; i < int(r.NumRows()); i++ {
			if j < len(rows) && rows[j] == i {
				j++
				b.AppendNull()
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
		s.install(p.table, p.parts, nil)
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
