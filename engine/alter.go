package engine

import (
	"context"
	"fmt"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/parser"
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

// alterTable handles ALTER TABLE … ADD COLUMN / DROP COLUMN. Each rewrites
// the table's batches with the new column list in one step.
func (s *Session) alterTable(ctx context.Context, st *pg.AlterTableStmt) (*Result, error) {
	if spec, ok := ownerChange(st); ok {
		return s.alterRelationOwner(st, spec)
	}
	if res, handled, err := s.alterCacheOption(ctx, st); handled {
		return res, err
	}
	t, err := s.ownedTable(st.Relation)
	if err != nil {
		if st.MissingOk && sqlerr.Code(err) == sqlerr.UndefinedTable {
			return &Result{Tag: "ALTER TABLE"}, nil
		}
		return nil, err
	}
	if err := refuseMatViewAlter(t, st); err != nil {
		return nil, err
	}
	if err := s.undoAlter(t, definitionOnly(st)); err != nil {
		return nil, err
	}
	var notices []string
	for _, n := range st.Cmds {
		cmd := n.GetAlterTableCmd()
		switch cmd.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			cd := cmd.Def.GetColumnDef()
			existed := t.ColumnIndex(cd.GetColname()) >= 0
			if err := s.addColumn(ctx, t, cd, cmd.MissingOk); err != nil {
				return nil, err
			}
			if !existed {
				if err := s.addColumnConstraints(ctx, t, cd); err != nil {
					// the rows there break a constraint: the column goes again,
					// as PostgreSQL's failed ALTER leaves no column behind
					var ignored []string
					if dropErr := s.dropColumn(t, cd.Colname, true, false, &ignored); dropErr != nil {
						return nil, fmt.Errorf("%w (and removing column %q again failed: %v)", err, cd.Colname, dropErr)
					}
					return nil, err
				}
			}
		case pg.AlterTableType_AT_DropColumn:
			if err := s.dropColumnViews(t, cmd.Name, cmd.Behavior == pg.DropBehavior_DROP_CASCADE, &notices); err != nil {
				return nil, err
			}
			if err := s.dropColumn(t, cmd.Name, cmd.MissingOk, cmd.Behavior == pg.DropBehavior_DROP_CASCADE, &notices); err != nil {
				return nil, err
			}
		case pg.AlterTableType_AT_ColumnDefault, pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull, pg.AlterTableType_AT_AlterColumnType:
			if cmd.Subtype == pg.AlterTableType_AT_AlterColumnType {
				if err := s.retypeColumnViews(t, cmd.Name); err != nil {
					return nil, err
				}
			}
			if err := s.alterColumn(ctx, t, cmd); err != nil {
				return nil, err
			}
		case pg.AlterTableType_AT_DropExpression:
			if err := dropExpression(t, cmd, &notices); err != nil {
				return nil, err
			}
		case pg.AlterTableType_AT_AddConstraint:
			c := cmd.Def.GetConstraint()
			if c != nil && c.Contype == pg.ConstrType_CONSTR_CHECK {
				if err := s.addCheckChecked(ctx, t, pendingCheck{name: c.Conname, expr: c.RawExpr}); err != nil {
					return nil, err
				}
				continue
			}
			if c != nil && c.Contype == pg.ConstrType_CONSTR_FOREIGN {
				if err := s.addForeignKeyChecked(t, pendingFK{c: c}); err != nil {
					return nil, err
				}
				continue
			}
			if c == nil || (c.Contype != pg.ConstrType_CONSTR_PRIMARY && c.Contype != pg.ConstrType_CONSTR_UNIQUE) {
				return nil, sqlerr.New(sqlerr.FeatureNotSupported, "only PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints can be added yet")
			}
			if c.NullsNotDistinct {
				return nil, errNullsNotDistinct(c.Location)
			}
			pk := pendingKey{name: c.Conname, columns: namesOf(c.Keys), primary: c.Contype == pg.ConstrType_CONSTR_PRIMARY}
			if err := s.addKeysChecked(t, []pendingKey{pk}); err != nil {
				return nil, err
			}
		case pg.AlterTableType_AT_DropConstraint:
			if by := s.keyReferencedBy(t, cmd.Name); by != "" {
				return nil, sqlerr.New(sqlerr.DependentObjects, "cannot drop constraint %s on table %s because other objects depend on it", cmd.Name, t.Name).
					WithDetail("constraint " + by + " depends on index " + cmd.Name)
			}
			if err := dropKey(t, cmd.Name, cmd.MissingOk); err != nil {
				return nil, err
			}
		default:
			return nil, sqlerr.New(sqlerr.FeatureNotSupported, "this ALTER TABLE form is not supported yet (ADD COLUMN, DROP COLUMN and RENAME are)")
		}
	}
	return &Result{Tag: "ALTER TABLE", Notices: notices}, nil
}

// addColumnConstraints adds the CHECK and REFERENCES constraints written on
// a column ADD COLUMN has just made, checked against the rows already there
// (keys and NOT NULL are addColumn's own).
func (s *Session) addColumnConstraints(ctx context.Context, t *catalog.Table, cd *pg.ColumnDef) error {
	for _, cn := range cd.Constraints {
		switch c := cn.GetConstraint(); c.GetContype() {
		case pg.ConstrType_CONSTR_CHECK:
			if err := s.addCheckChecked(ctx, t, pendingCheck{name: c.Conname, expr: c.RawExpr, column: cd.Colname}); err != nil {
				return err
			}
		case pg.ConstrType_CONSTR_FOREIGN:
			if err := s.addForeignKeyChecked(t, pendingFK{c: c, column: cd.Colname}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Session) addColumn(ctx context.Context, t *catalog.Table, cd *pg.ColumnDef, ifNotExists bool) (err error) {
	if _, serial := serialType(cd.TypeName); serial {
		return sqlerr.New(sqlerr.FeatureNotSupported, "adding a serial or identity column is not supported yet")
	}
	for _, cn := range cd.Constraints {
		if cn.GetConstraint().GetContype() == pg.ConstrType_CONSTR_IDENTITY {
			return sqlerr.New(sqlerr.FeatureNotSupported, "adding a serial or identity column is not supported yet")
		}
	}
	col, keys, err := s.columnDef(s.env(), cd)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		defer func() {
			if err == nil {
				err = s.addKeysChecked(t, keys)
			}
		}()
	}
	if t.ColumnIndex(col.Name) >= 0 {
		if ifNotExists {
			return nil
		}
		return sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" of relation \"%s\" already exists", col.Name, t.Name)
	}
	// a generated column's values for the existing rows: its expression
	// over each batch
	var compute func(arrow.Record) (arrow.Array, error)
	if col.Generated != "" {
		if compute, err = s.generatedForExisting(ctx, t, col, cd); err != nil {
			return err
		}
	}
	// the value existing rows get: the DEFAULT, evaluated once, or NULL
	var fill types.Datum
	if col.Default != "" {
		res, err := s.Query(ctx, "SELECT CAST("+col.Default+" AS "+col.Type.String()+")")
		if err != nil {
			return err
		}
		if len(res.Batches) > 0 && res.Batches[0].NumRows() > 0 {
			fill = exec.DatumAt(res.Batches[0].Column(0), 0)
		}
		res.Release()
	}
	t.Lock()
	defer t.Unlock()
	cur := t.Current()
	if err := cur.Load(); err != nil {
		return err
	}
	if col.NotNull && fill == nil && cur != nil && cur.NumRows() > 0 {
		return sqlerr.New(sqlerr.NotNullViolation, "column \"%s\" of relation \"%s\" contains null values", col.Name, t.Name)
	}
	newCols := append(append([]catalog.Column{}, t.Columns...), col)
	schema := schemaOf(newCols)
	var parts [][]arrow.Record
	if cur != nil {
		parts = make([][]arrow.Record, len(cur.Parts))
		for p, recs := range cur.Parts {
			for _, r := range recs {
				var extra arrow.Array
				switch {
				case compute != nil:
					if extra, err = compute(r); err != nil {
						for _, done := range parts {
							exec.ReleaseRecords(done)
						}
						return err
					}
				case fill == nil:
					extra = exec.NullArray(s.db.opts.Mem, col.Type, int(r.NumRows()))
				default:
					extra = exec.ConstArray(s.db.opts.Mem, col.Type, fill, int(r.NumRows()))
				}
				cols := append(append([]arrow.Array{}, r.Columns()...), extra)
				parts[p] = append(parts[p], array.NewRecord(schema, cols, r.NumRows()))
				extra.Release()
			}
		}
	}
	t.Columns = newCols
	if cur != nil {
		t.Replace(parts)
	}
	return nil
}

func (s *Session) dropColumn(t *catalog.Table, name string, ifExists, cascade bool, notices *[]string) error {
	t.Lock()
	defer t.Unlock()
	i := t.ColumnIndex(name)
	if i < 0 {
		if ifExists {
			return nil
		}
		return sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", name, t.Name)
	}
	users, err := generatedUsers(t, name)
	if err != nil {
		return err
	}
	if len(t.Columns)-len(users) == 1 {
		return sqlerr.New(sqlerr.FeatureNotSupported, "cannot drop the only column of table \"%s\"", t.Name)
	}
	for _, k := range t.Keys {
		if by := s.keyReferencedBy(t, k.Name); by != "" && slices.Contains(k.Columns, i) {
			return sqlerr.New(sqlerr.DependentObjects, "cannot drop column %s of table %s because other objects depend on it", name, t.Name).
				WithDetail("constraint " + by + " depends on column " + name + " of table " + t.Name)
		}
	}
	if len(users) > 0 && !cascade {
		detail := make([]string, len(users))
		for k, u := range users {
			detail[k] = "column " + u + " of table " + t.Name + " depends on column " + name + " of table " + t.Name
		}
		return sqlerr.New(sqlerr.DependentObjects, "cannot drop column %s of table %s because other objects depend on it", name, t.Name).
			WithDetail(strings.Join(detail, "\n")).WithHint("Use DROP ... CASCADE to drop the dependent objects too.")
	}
	// CASCADE: the generated columns computed from it go first
	for _, u := range users {
		*notices = append(*notices, "drop cascades to column "+u+" of table "+t.Name)
		if err := s.dropColumnAt(t, t.ColumnIndex(u)); err != nil {
			return err
		}
	}
	return s.dropColumnAt(t, t.ColumnIndex(name))
}

// dropColumnAt drops t's column i, with the keys, indexes, foreign keys
// and checks over it; the caller holds t's lock.
func (s *Session) dropColumnAt(t *catalog.Table, i int) error {
	newCols := append(append([]catalog.Column{}, t.Columns[:i]...), t.Columns[i+1:]...)
	schema := schemaOf(newCols)
	cur := t.Current()
	if err := cur.Load(); err != nil {
		return err
	}
	t.Columns = newCols
	// keys over the column go with it (as in PostgreSQL); the others shift
	var keys []catalog.Key
	for _, k := range t.Keys {
		if slices.Contains(k.Columns, i) {
			continue
		}
		shifted := k
		shifted.Columns = nil
		for _, c := range k.Columns {
			if c > i {
				c--
			}
			shifted.Columns = append(shifted.Columns, c)
		}
		keys = append(keys, shifted)
	}
	t.Keys = keys
	var indexes []catalog.Key
	for _, k := range t.Indexes {
		if !slices.Contains(k.Columns, i) {
			k.Columns = shiftDown(k.Columns, i)
			indexes = append(indexes, k)
		}
	}
	t.Indexes = indexes
	var fks []catalog.ForeignKey
	for _, fk := range t.ForeignKeys {
		if slices.Contains(fk.Columns, i) {
			continue
		}
		shifted := fk
		shifted.Columns = shiftDown(fk.Columns, i)
		if fk.RefOID == t.OID {
			shifted.RefColumns = shiftDown(fk.RefColumns, i)
		}
		fks = append(fks, shifted)
	}
	t.ForeignKeys = fks
	// so do checks that read it (they no longer bind)
	var checks []catalog.Check
	for _, c := range t.Checks {
		if _, _, err := s.bindCheck(s.env(), t, c); err == nil {
			checks = append(checks, c)
		}
	}
	t.Checks = checks
	if cur == nil {
		return nil
	}
	parts := make([][]arrow.Record, len(cur.Parts))
	for p, recs := range cur.Parts {
		for _, r := range recs {
			cols := append(append([]arrow.Array{}, r.Columns()[:i]...), r.Columns()[i+1:]...)
			parts[p] = append(parts[p], array.NewRecord(schema, cols, r.NumRows()))
		}
	}
	t.Replace(parts)
	return nil
}

// rename handles ALTER TABLE … RENAME [COLUMN] … TO ….
func (s *Session) rename(st *pg.RenameStmt) (*Result, error) {
	switch st.RenameType {
	case pg.ObjectType_OBJECT_VIEW:
		return s.renameView(st, "ALTER VIEW")
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_MATVIEW:
		if _, v, _ := s.db.cat.Lookup(st.Relation.Schemaname, st.Relation.Relname, s.searchPath); v != nil && st.RenameType == pg.ObjectType_OBJECT_TABLE {
			return s.renameView(st, "ALTER TABLE") // as PostgreSQL, ALTER TABLE renames a view too
		}
		t, err := s.ownedTable(st.Relation)
		if err != nil {
			return nil, err
		}
		old, next := t.Name, st.Newname
		if err := s.notHeld(t, true); err != nil {
			return nil, err
		}
		views, err := s.renamedRelationInViews(t.OID, t.Schema, old, next) // (viewrename.go)
		if err != nil {
			return nil, err
		}
		s.touchTable(t, false)
		if err := s.renameTable(t, old, next); err != nil {
			return nil, err
		}
		if err := s.claimName(t.Schema, next); err != nil {
			_ = s.renameTable(t, next, old)
			return nil, err
		}
		s.undoCreate(func() { _ = s.renameTable(t, next, old) })
		s.applyViewRewrites(views)
	case pg.ObjectType_OBJECT_COLUMN:
		if _, v, _ := s.db.cat.Lookup(st.Relation.Schemaname, st.Relation.Relname, s.searchPath); v != nil || st.RelationType == pg.ObjectType_OBJECT_VIEW {
			tag := "ALTER TABLE"
			if st.RelationType == pg.ObjectType_OBJECT_VIEW {
				tag = "ALTER VIEW"
			}
			return s.renameViewColumn(st, tag) // (viewrename.go)
		}
		t, err := s.ownedTable(st.Relation)
		if err != nil {
			return nil, err
		}
		if err := s.undoAlter(t, false); err != nil {
			return nil, err
		}
		var views []viewRewrite
		if t.ColumnIndex(st.Subname) >= 0 && t.ColumnIndex(st.Newname) < 0 {
			if views, err = s.renamedColumnInViews(t, st.Subname, st.Newname); err != nil {
				return nil, err
			}
		}
		t.Lock()
		defer t.Unlock()
		i := t.ColumnIndex(st.Subname)
		if i < 0 {
			return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" does not exist", st.Subname)
		}
		if t.ColumnIndex(st.Newname) >= 0 {
			return nil, sqlerr.New(sqlerr.DuplicateColumn, "column \"%s\" of relation \"%s\" already exists", st.Newname, t.Name)
		}
		newCols, err := renamedInGenerated(t.Columns, st.Subname, st.Newname)
		if err != nil {
			return nil, err
		}
		newCols[i].Name = st.Newname
		schema := schemaOf(newCols)
		cur := t.Current()
		if err := cur.Load(); err != nil {
			return nil, err
		}
		t.Columns = newCols
		if cur != nil {
			parts := make([][]arrow.Record, len(cur.Parts))
			for p, recs := range cur.Parts {
				for _, r := range recs {
					parts[p] = append(parts[p], array.NewRecord(schema, r.Columns(), r.NumRows()))
				}
			}
			t.Replace(parts)
		}
		s.applyViewRewrites(views)
	default:
		return nil, sqlerr.New(sqlerr.FeatureNotSupported, "renaming this kind of object is not supported yet")
	}
	return &Result{Tag: "ALTER TABLE"}, nil
}

func schemaOf(cols []catalog.Column) *arrow.Schema {
	t := &catalog.Table{Columns: cols}
	return t.ArrowSchema()
}

// addKeysChecked declares keys on a table that has rows: they must hold
// for the rows already there (23505 when they do not, 23502 for a NULL in
// a primary key column).
func (s *Session) addKeysChecked(t *catalog.Table, keys []pendingKey) error {
	t.Lock()
	defer t.Unlock()
	oldKeys := t.Keys
	oldCols := append([]catalog.Column{}, t.Columns...)
	restore := func(err error) error {
		t.Keys, t.Columns = oldKeys, oldCols
		return err
	}
	t.Keys = append([]catalog.Key{}, t.Keys...)
	if err := s.addKeys(t, keys); err != nil {
		return restore(err)
	}
	cur := t.Current()
	if err := cur.Load(); err != nil {
		return err
	}
	if cur == nil {
		return nil
	}
	added := t.Keys[len(oldKeys):]
	for _, k := range added {
		if !k.Primary {
			continue
		}
		for _, c := range k.Columns {
			for _, p := range cur.Parts {
				for _, r := range p {
					if r.Column(c).NullN() > 0 {
						return restore(sqlerr.New(sqlerr.NotNullViolation, "column \"%s\" of relation \"%s\" contains null values", t.Columns[c].Name, t.Name))
					}
				}
			}
		}
	}
	// the committed rows, and a block's own version when it has one
	for _, snap := range []*catalog.Snapshot{cur, s.current(t)} {
		if err := snap.Load(); err != nil {
			return err
		}
		sets, err := checkAllKeys(t, added, snap.Parts, s.zone)
		if err != nil {
			se := sqlerr.Wrap(err)
			return restore(sqlerr.New(sqlerr.UniqueViolation, "could not create unique index \"%s\"", added[0].Name).WithDetail(strings.Replace(se.Detail, "already exists", "is duplicated", 1)))
		}
		for name, ks := range sets {
			snap.SetKeySet(name, ks)
		}
	}
	if s.tx != nil {
		for _, k := range added {
			s.tx.createdKeys = append(s.tx.createdKeys, createdKey{table: t, name: k.Name})
		}
	}
	return nil
}

// dropKey removes a PRIMARY KEY, UNIQUE or CHECK constraint by name.
func dropKey(t *catalog.Table, name string, missingOK bool) error {
	t.Lock()
	defer t.Unlock()
	for i, k := range t.Keys {
		if k.Name == name {
			t.Keys = append(append([]catalog.Key{}, t.Keys[:i]...), t.Keys[i+1:]...)
			return nil
		}
	}
	for i, k := range t.Indexes {
		if k.Name == name {
			t.Indexes = append(append([]catalog.Key{}, t.Indexes[:i]...), t.Indexes[i+1:]...)
			return nil
		}
	}
	for i, fk := range t.ForeignKeys {
		if fk.Name == name {
			t.ForeignKeys = append(append([]catalog.ForeignKey{}, t.ForeignKeys[:i]...), t.ForeignKeys[i+1:]...)
			return nil
		}
	}
	for i, c := range t.Checks {
		if c.Name == name {
			t.Checks = append(append([]catalog.Check{}, t.Checks[:i]...), t.Checks[i+1:]...)
			return nil
		}
	}
	if missingOK {
		return nil
	}
	return sqlerr.New(sqlerr.UndefinedObject, "constraint \"%s\" of relation \"%s\" does not exist", name, t.Name)
}

// addCheckChecked adds a CHECK to a table whose rows must already meet it.
func (s *Session) addCheckChecked(ctx context.Context, t *catalog.Table, pc pendingCheck) error {
	t.Lock()
	defer t.Unlock()
	old := t.Checks
	if err := s.addChecks(s.env(), t, []pendingCheck{pc}); err != nil {
		t.Checks = old
		return err
	}
	added := t.Checks[len(old):]
	probe := &catalog.Table{Name: t.Name, Columns: t.Columns, Checks: added}
	for _, snap := range []*catalog.Snapshot{t.Current(), s.current(t)} {
		if err := snap.Load(); err != nil {
			return err
		}
		if snap == nil {
			continue
		}
		for _, p := range snap.Parts {
			if err := s.checkRows(ctx, probe, p); err != nil {
				t.Checks = old
				se := sqlerr.Wrap(err)
				return sqlerr.New(sqlerr.CheckViolation, "check constraint \"%s\" of relation \"%s\" is violated by some row", added[0].Name, t.Name).WithDetail(se.Detail)
			}
		}
	}
	return nil
}

func shiftDown(cols []int, dropped int) []int {
	out := make([]int, len(cols))
	for j, c := range cols {
		if c > dropped {
			c--
		}
		out[j] = c
	}
	return out
}

// addForeignKeyChecked adds a foreign key to a table whose rows must
// already meet it.
func (s *Session) addForeignKeyChecked(t *catalog.Table, p pendingFK) error {
	fk, err := s.resolveForeignKey(t, p)
	if err != nil {
		return err
	}
	t.Lock()
	defer t.Unlock()
	probe := &catalog.Table{Name: t.Name, Columns: t.Columns, ForeignKeys: []catalog.ForeignKey{fk}}
	for _, snap := range []*catalog.Snapshot{t.Current(), s.current(t)} {
		if err := snap.Load(); err != nil {
			return err
		}
		if snap == nil {
			continue
		}
		for _, part := range snap.Parts {
			if err := s.checkReferences(probe, part); err != nil {
				return err
			}
		}
	}
	t.ForeignKeys = append(t.ForeignKeys, fk)
	return nil
}

// alterColumn handles ALTER COLUMN … SET/DROP DEFAULT, SET/DROP NOT NULL
// and TYPE (which converts the stored values with an assignment cast, or
// the USING expression).
// definitionOnly reports whether an ALTER TABLE changes only the table's
// definition: column defaults and NOT NULL, no stored value.
func definitionOnly(st *pg.AlterTableStmt) bool {
	for _, n := range st.Cmds {
		switch n.GetAlterTableCmd().Subtype {
		case pg.AlterTableType_AT_ColumnDefault, pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull, pg.AlterTableType_AT_DropExpression:
		default:
			return false
		}
	}
	return true
}

func (s *Session) alterColumn(ctx context.Context, t *catalog.Table, cmd *pg.AlterTableCmd) error {
	i := t.ColumnIndex(cmd.Name)
	if i < 0 {
		return sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", cmd.Name, t.Name)
	}
	col := t.Columns[i]
	if err := refuseGeneratedAlter(t, cmd); err != nil {
		return err
	}
	switch cmd.Subtype {
	case pg.AlterTableType_AT_ColumnDefault:
		if cmd.Def == nil {
			t.Lock()
			t.Columns[i].Default = ""
			t.Unlock()
			return nil
		}
		text, err := deparseExpr(cmd.Def)
		if err != nil {
			return err
		}
		b := s.binder(s.env())
		e, err := b.BindStandalone(cmd.Def, "DEFAULT expressions")
		if err != nil {
			return err
		}
		if _, err := b.Assign(e, col.Type, col.Name); err != nil {
			return err
		}
		t.Lock()
		t.Columns[i].Default = text
		t.Unlock()
		return nil
	case pg.AlterTableType_AT_DropNotNull:
		for _, k := range t.Keys {
			if k.Primary && slices.Contains(k.Columns, i) {
				return sqlerr.New(sqlerr.InvalidTableDefinition, "column \"%s\" is in a primary key", col.Name)
			}
		}
		t.Lock()
		t.Columns[i].NotNull = false
		t.Unlock()
		return nil
	case pg.AlterTableType_AT_SetNotNull:
		t.Lock()
		defer t.Unlock()
		// the block's own version of the table when it wrote one (an
		// UPDATE that filled the NULLs), else the committed one
		for _, p := range s.current(t).Parts {
			for _, r := range p {
				if r.Column(i).NullN() > 0 {
					return sqlerr.New(sqlerr.NotNullViolation, "column \"%s\" of relation \"%s\" contains null values", col.Name, t.Name)
				}
			}
		}
		t.Columns[i].NotNull = true
		return nil
	}
	return s.alterColumnType(ctx, t, i, cmd.Def.GetColumnDef())
}

// alterColumnType converts a column's stored values to a new type.
func (s *Session) alterColumnType(ctx context.Context, t *catalog.Table, i int, cd *pg.ColumnDef) error {
	env := s.env()
	b := s.binder(env)
	to, dom, err := b.ResolveType(cd.TypeName)
	if err != nil {
		return err
	}
	if dom != nil {
		return sqlerr.New(sqlerr.FeatureNotSupported, "changing a column to a domain type is not supported yet")
	}
	for _, k := range t.Keys {
		if slices.Contains(k.Columns, i) && to.Kind != t.Columns[i].Type.Kind {
			return sqlerr.New(sqlerr.FeatureNotSupported, "changing the type of a key column is not supported yet")
		}
	}
	for _, fk := range t.ForeignKeys {
		if slices.Contains(fk.Columns, i) {
			return sqlerr.New(sqlerr.FeatureNotSupported, "changing the type of a foreign key column is not supported yet")
		}
	}
	ts := b.BeginTable(t, "")
	var conv logical.Expr = &logical.ColRef{Col: ts.Scan.Cols[i]}
	if cd.RawDefault != nil { // USING expression
		if conv, err = b.BindIn(ts, cd.RawDefault, "USING"); err != nil {
			return err
		}
	}
	if conv, err = b.Assign(conv, to, t.Columns[i].Name); err != nil {
		if cd.RawDefault == nil {
			return sqlerr.New(sqlerr.DatatypeMismatch, "column \"%s\" cannot be cast automatically to type %s", t.Columns[i].Name, to).
				WithHint("You might need to specify \"USING " + t.Columns[i].Name + "::" + to.String() + "\".")
		}
		return err
	}
	pb := s.newBuilder(env)
	defer pb.Release()
	expr, err := pb.Compile(conv, ts.Scan.Cols)
	if err != nil {
		return err
	}
	t.Lock()
	defer t.Unlock()
	cur := t.Current()
	if err := cur.Load(); err != nil {
		return err
	}
	newCols := append([]catalog.Column{}, t.Columns...)
	newCols[i].Type = to
	if newCols[i].Default != "" {
		// the default must still fit
		stmts, err := parser.Parse("SELECT " + newCols[i].Default)
		if err == nil {
			var e logical.Expr
			e, err = b.BindStandalone(stmts[0].Stmt.GetSelectStmt().TargetList[0].GetResTarget().Val, "DEFAULT expressions")
			if err == nil {
				_, err = b.Assign(e, to, newCols[i].Name)
			}
		}
		if err != nil {
			return sqlerr.New(sqlerr.DatatypeMismatch, "default for column \"%s\" cannot be cast automatically to type %s", newCols[i].Name, to)
		}
	}
	schema := schemaOf(newCols)
	ec := exec.NewEvalContext(ctx, env)
	parts := make([][]arrow.Record, len(cur.Parts))
	fail := func(err error) error {
		for _, p := range parts {
			exec.ReleaseRecords(p)
		}
		return err
	}
	for p, recs := range cur.Parts {
		for _, r := range recs {
			v, err := expr.Eval(ec, r)
			if err != nil {
				return fail(err)
			}
			cols := append([]arrow.Array{}, r.Columns()...)
			cols[i] = v
			parts[p] = append(parts[p], array.NewRecord(schema, cols, r.NumRows()))
			v.Release()
		}
	}
	t.Columns = newCols
	t.Replace(parts)
	return nil
}

// renameTable renames a table and the ownership records of its serial
// columns' sequences.
func (s *Session) renameTable(t *catalog.Table, from, to string) error {
	if err := s.db.cat.RenameTable(t, to); err != nil {
		return err
	}
	for _, q := range s.db.cat.Sequences() {
		if q.Schema == t.Schema && strings.HasPrefix(q.OwnedBy, from+".") {
			q.OwnedBy = to + strings.TrimPrefix(q.OwnedBy, from)
		}
	}
	return nil
}
