package engine

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/weftdb/weft/catalog"
	"github.com/weftdb/weft/sql/sqlerr"
)

// Column privileges: GRANT and REVOKE with a column list, and the checks
// of the statements that write named columns (INSERT's targets, UPDATE's
// SET). Reads are checked by the binder column by column.

// columnGrant is one column a GRANT or REVOKE names, with the privileges
// named for it.
type columnGrant struct {
	name  string
	privs catalog.Priv
}

// columnPrivsNamed reads the privilege of a column list (ALL: every
// privilege a column can have).
func columnPrivsNamed(ap *pg.AccessPriv, kind catalog.ObjectKind) (catalog.Priv, error) {
	if kind != catalog.KindTable && kind != catalog.KindView {
		return 0, sqlerr.New(sqlerr.InvalidGrantOperation, "column privileges are only valid for relations")
	}
	if ap.PrivName == "" {
		return catalog.ColumnPrivs, nil
	}
	bit, ok := catalog.PrivByName(ap.PrivName)
	if !ok {
		return 0, sqlerr.New(sqlerr.SyntaxError, "unrecognized privilege type \"%s\"", ap.PrivName)
	}
	if bit&catalog.ColumnPrivs == 0 {
		return 0, sqlerr.New(sqlerr.InvalidGrantOperation, "invalid privilege type %s for column", strings.ToUpper(ap.PrivName))
	}
	return bit, nil
}

// grantOnColumns applies the column part of a GRANT or REVOKE to one
// table: each column's ACL changes as the table's would (grantor, grant
// options, CASCADE), under the table's lock and undone by ROLLBACK.
func (s *Session) grantOnColumns(res *Result, st *pg.GrantStmt, tg grantTarget, cols []columnGrant, grantees []string) error {
	if len(cols) == 0 {
		return nil
	}
	if tg.kind == catalog.KindView {
		return sqlerr.New(sqlerr.FeatureNotSupported, "column privileges on views are not supported yet")
	}
	t := s.db.cat.TableByOID(tg.oid)
	if t == nil {
		return sqlerr.New(sqlerr.UndefinedTable, "relation \"%s\" does not exist", tg.name)
	}
	want := map[int]catalog.Priv{}
	var order []int
	for _, c := range cols {
		i := t.ColumnIndex(c.name)
		if i < 0 {
			return sqlerr.New(sqlerr.UndefinedColumn, "column \"%s\" of relation \"%s\" does not exist", c.name, t.Name)
		}
		if _, seen := want[i]; !seen {
			order = append(order, i)
		}
		want[i] |= c.privs
	}
	role := s.currentRole()
	owner := s.db.cat.Privileges(t.OID, catalog.KindTable).Owner
	grantor := role
	if s.db.cat.IsOwner(role, t.OID, catalog.KindTable) {
		grantor = owner
	}
	t.Lock()
	defer t.Unlock()
	before := map[string][]catalog.ACLItem{} // (only the columns named)
	next := append([]catalog.Column(nil), t.Columns...)
	for _, i := range order {
		privs := want[i]
		if grantor != owner {
			held, grantable := s.db.cat.ColumnPrivilegesHeld(role, t, i)
			if held == 0 && grantable == 0 {
				return denied("permission denied for column \"%s\" of relation \"%s\"", next[i].Name, t.Name)
			}
			if privs&grantable == 0 {
				verb := "granted"
				if !st.IsGrant {
					verb = "could be revoked"
				}
				res.Notices = append(res.Notices, "no privileges were "+verb+" for column \""+next[i].Name+"\" of relation \""+t.Name+"\"")
				continue
			}
			privs &= grantable
		}
		acl, err := columnACLAfter(st, next[i].ACL, owner, grantor, grantees, privs)
		if err != nil {
			return err
		}
		before[next[i].Name] = next[i].ACL
		next[i].ACL = acl
	}
	t.Columns = next
	s.undoColumnACLs(t, before)
	return nil
}

// columnACLAfter is a column's ACL after one GRANT or REVOKE; an ACL left
// with no entry becomes NULL again, as in PostgreSQL.
func columnACLAfter(st *pg.GrantStmt, acl []catalog.ACLItem, owner, grantor string, grantees []string, privs catalog.Priv) ([]catalog.ACLItem, error) {
	if st.IsGrant {
		return catalog.GrantColumnACL(acl, grantor, grantees, privs, st.GrantOption), nil
	}
	acl, err := catalog.RevokeColumnACL(acl, owner, grantor, grantees, privs, st.GrantOption, st.Behavior == pg.DropBehavior_DROP_CASCADE)
	if len(acl) == 0 {
		acl = nil
	}
	return acl, err
}

// undoColumnACLs has ROLLBACK put t's column ACLs back as before says
// (by column name): only the ACLs, so that what other sessions changed
// of the table meanwhile stays.
func (s *Session) undoColumnACLs(t *catalog.Table, before map[string][]catalog.ACLItem) {
	s.undoCreate(func() { catalog.RestoreColumnACLs(t, before) })
}

// undoColumnACLsOf is undoColumnACLs for each of tables, as they are now.
func (s *Session) undoColumnACLsOf(tables []*catalog.Table) {
	for _, t := range tables {
		s.undoColumnACLs(t, catalog.ColumnACLs(t))
	}
}

// revokeColumnsWithTable takes from the grantees, on every column of the
// table, the column privileges a table-level REVOKE takes (PostgreSQL
// revokes the column privileges of the same kinds with the table's).
func (s *Session) revokeColumnsWithTable(res *Result, st *pg.GrantStmt, tg grantTarget, privs catalog.Priv, grantees []string) error {
	if st.IsGrant || tg.kind != catalog.KindTable || privs&catalog.ColumnPrivs == 0 {
		return nil
	}
	t := s.db.cat.TableByOID(tg.oid)
	if t == nil {
		return nil
	}
	var cols []columnGrant
	for _, c := range t.Columns {
		if c.ACL != nil {
			cols = append(cols, columnGrant{name: c.Name, privs: privs & catalog.ColumnPrivs})
		}
	}
	quiet := &Result{} // the table's own REVOKE already warned
	return s.grantOnColumns(quiet, st, tg, cols, grantees)
}

// requireColumns checks want on each of t's columns cols (indexes) where
// the role does not hold it on the whole table: INSERT's target columns,
// UPDATE's SET columns.
func (s *Session) requireColumns(t *catalog.Table, cols []int, want catalog.Priv) error {
	role := s.currentRole()
	if s.db.cat.HasPrivilege(role, t.OID, catalog.KindTable, want) {
		return nil
	}
	for _, i := range cols {
		if !s.db.cat.HasColumnPrivilege(role, t, i, want) {
			return denied("permission denied for table %s", t.Name)
		}
	}
	return nil
}

// setColumns are the columns a SET list names (unknown names are left for
// the statement to report).
func setColumns(t *catalog.Table, list []*pg.Node) []int {
	var out []int
	for _, n := range list {
		if i := t.ColumnIndex(n.GetResTarget().GetName()); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// requireArbiterSelect checks SELECT on the key columns an ON CONFLICT
// names (by columns or by constraint), as PostgreSQL does: finding a
// conflict tells which keys exist.
func (s *Session) requireArbiterSelect(t *catalog.Table, oc *pg.OnConflictClause, keys []catalog.Key) error {
	if oc.Infer == nil {
		return nil
	}
	for _, k := range keys {
		if err := s.requireColumns(t, k.Columns, catalog.PrivSelect); err != nil {
			return err
		}
	}
	return nil
}
