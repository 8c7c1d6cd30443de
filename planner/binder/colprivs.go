package binder

import (
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/exec"
	"github.com/weftdb/weft/planner/logical"
	"github.com/weftdb/weft/sql/sqlerr"
	"github.com/weftdb/weft/sql/types"
)

// Column privileges: a role that may not read a whole table may still
// read the columns it was granted (GRANT SELECT (a, b) ON t). Such a
// reference binds, and every column the statement then reads of it (by
// name, through *, by a join's USING) is checked as it is resolved, as
// PostgreSQL checks each column a query reads.

// colCheckKey is a table some role reads under column privileges.
type colCheckKey struct {
	oid  uint32
	role string
}

// requireTableSelect checks that the role may read t: SELECT on the
// table, or on at least one of its columns (then each column read is
// checked).
func (b *Binder) requireTableSelect(t *catalog.Table) error {
	role := b.checkRole()
	if role == "" {
		return nil
	}
	if err := b.requireUsage(t.Schema); err != nil {
		return err
	}
	if b.Cat.HasPrivilege(role, t.OID, catalog.KindTable, catalog.PrivSelect) {
		return nil
	}
	if !b.Cat.HasAnyColumnPrivilege(role, t, catalog.PrivSelect) {
		return permissionDenied(catalog.KindTable, t.Name)
	}
	b.checkColumnsOf(t, role)
	return nil
}

// CheckColumnReads makes the columns of t that an UPDATE, DELETE or
// INSERT … RETURNING reads (its condition, SET expressions, RETURNING)
// need SELECT, column by column, unless the role may read the whole
// table.
func (b *Binder) CheckColumnReads(t *catalog.Table) {
	role := b.checkRole()
	if role == "" || b.Cat.HasPrivilege(role, t.OID, catalog.KindTable, catalog.PrivSelect) {
		return
	}
	b.checkColumnsOf(t, role)
}

func (b *Binder) checkColumnsOf(t *catalog.Table, role string) {
	if b.colChecks == nil {
		b.colChecks = map[colCheckKey]bool{}
	}
	b.colChecks[colCheckKey{t.OID, role}] = true
}

// checkColumnRead checks SELECT on the table column a scope item reads,
// where its table is read under column privileges.
func (b *Binder) checkColumnRead(it scopeItem) error {
	if it.srcTable == nil || len(b.colChecks) == 0 {
		return nil
	}
	role := b.checkRole()
	if !b.colChecks[colCheckKey{it.srcTable.OID, role}] {
		return nil
	}
	if !b.Cat.HasColumnPrivilege(role, it.srcTable, it.srcCol, catalog.PrivSelect) {
		return permissionDenied(catalog.KindTable, it.srcTable.Name)
	}
	return nil
}

// checkColumnReads is checkColumnRead over several items.
func (b *Binder) checkColumnReads(items ...scopeItem) error {
	for _, it := range items {
		if err := b.checkColumnRead(it); err != nil {
			return err
		}
	}
	return nil
}

// withColumnSources marks the items of a reference to t (one per column,
// in order, whatever alias renames them) as reading t's columns.
func withColumnSources(items []scopeItem, t *catalog.Table) []scopeItem {
	for i := range items {
		if i < len(t.Columns) {
			items[i].srcTable, items[i].srcCol = t, i
		}
	}
	return items
}

// columnPrivilegesHeld is what role ("" for PUBLIC) holds on t's column
// i, through the table or the column, and may grant.
func (b *Binder) columnPrivilegesHeld(role string, t *catalog.Table, i int) (held, grantable catalog.Priv) {
	if role != "" {
		return b.Cat.ColumnPrivilegesHeld(role, t, i)
	}
	held = b.publicPrivileges(t.OID, catalog.KindTable) & catalog.ColumnPrivs
	for _, it := range t.Columns[i].ACL {
		if it.Grantee == "" {
			held |= it.Privs
		}
	}
	return held, 0
}

// columnPrivilegeCall binds has_column_privilege([role,] table, column,
// privileges): the column by name (an unknown one is an error) or by
// number (an unknown one gives NULL, as a table given by an unknown OID).
func (b *Binder) columnPrivilegeCall(args []logical.Expr) (logical.Expr, error) {
	byNumber, err := b.privilegeArgs("has_column_privilege", args, 3)
	if err != nil {
		return nil, err
	}
	me := b.User
	kernel := exec.RowKernel(types.BoolT, func(ds []types.Datum) (types.Datum, error) {
		role, rest, restNumber := me, ds, byNumber
		if len(ds) == 4 {
			r, ok, err := b.roleArg(ds[0], byNumber[0])
			if err != nil || !ok {
				return nil, err
			}
			role, rest, restNumber = r, ds[1:], byNumber[1:]
		}
		return b.hasColumnPrivilege(role, rest, restNumber)
	})
	return &logical.Call{Name: "has_column_privilege", Args: args, T: types.BoolT, Kernel: kernel}, nil
}

// hasColumnPrivilege answers has_column_privilege for role over (table,
// column, privileges).
func (b *Binder) hasColumnPrivilege(role string, ds []types.Datum, byNumber []bool) (types.Datum, error) {
	oid, kind, ok, err := b.privilegeObject(catalog.KindTable, ds[0], byNumber[0])
	if err != nil || !ok {
		return nil, err
	}
	plain, opt, err := parsePrivileges(ds[2].(string), catalog.KindTable, "has_any_column_privilege")
	if err != nil {
		return nil, err
	}
	t := b.Cat.TableByOID(oid)
	if t == nil || kind != catalog.KindTable {
		// a view's or sequence's columns have no privileges of their own
		var held, grantable catalog.Priv
		if role == "" {
			held = b.publicPrivileges(oid, kind)
		} else {
			held, grantable = b.Cat.PrivilegesHeld(role, oid, kind)
		}
		return held&plain != 0 || grantable&opt != 0, nil
	}
	var col int
	if byNumber[1] {
		col = int(ds[1].(int64)) - 1
		if col < 0 || col >= len(t.Columns) {
			return nil, nil
		}
	} else if col = t.ColumnIndex(ds[1].(string)); col < 0 {
		return nil, sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", ds[1].(string), t.Name)
	}
	held, grantable := b.columnPrivilegesHeld(role, t, col)
	return held&plain != 0 || grantable&opt != 0, nil
}
