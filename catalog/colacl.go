package catalog

import "sort"

// Column privileges (GRANT SELECT (a) ON t): each column has an ACL of
// its own, kept on the column (Column.ACL; nil is PostgreSQL's NULL
// attacl, nothing granted) so that renaming or dropping a column, and
// the ROLLBACK of either, carry it with the column. A role holds a
// privilege on a column when it holds it on the table or on the column.

// ColumnPrivs are the privileges a column may be granted.
const ColumnPrivs = PrivSelect | PrivInsert | PrivUpdate | PrivReferences

// ColumnPrivilegesHeld is aclmask over t's column i: what role holds on
// it (through the table's ACL or the column's) and what it may grant.
func (c *Catalog) ColumnPrivilegesHeld(role string, t *Table, i int) (held, grantable Priv) {
	held, grantable = c.PrivilegesHeld(role, t.OID, KindTable)
	held, grantable = held&ColumnPrivs, grantable&ColumnPrivs
	cols := t.Columns
	if i < 0 || i >= len(cols) || cols[i].ACL == nil {
		return held, grantable
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, it := range cols[i].ACL {
		if it.Grantee == "" || c.memberOf(role, it.Grantee, true) {
			held |= it.Privs
			grantable |= it.GrantOpt
		}
	}
	return held, grantable
}

// HasColumnPrivilege reports whether role holds every privilege in want
// on t's column i.
func (c *Catalog) HasColumnPrivilege(role string, t *Table, i int, want Priv) bool {
	held, _ := c.ColumnPrivilegesHeld(role, t, i)
	return held&want == want
}

// HasAnyColumnPrivilege reports whether role holds want on the table or
// on at least one of its columns (what reading a table without naming a
// column, as count(*), needs).
func (c *Catalog) HasAnyColumnPrivilege(role string, t *Table, want Priv) bool {
	if c.HasPrivilege(role, t.OID, KindTable, want) {
		return true
	}
	for i := range t.Columns {
		if c.HasColumnPrivilege(role, t, i, want) {
			return true
		}
	}
	return false
}

// GrantColumnACL is a column's ACL after grantor gives privs to each
// grantee.
func GrantColumnACL(acl []ACLItem, grantor string, grantees []string, privs Priv, opt bool) []ACLItem {
	for _, g := range grantees {
		acl = grantACL(acl, g, grantor, privs, opt)
	}
	return acl
}

// RevokeColumnACL is a column's ACL after grantor takes privs from each
// grantee (their grants onwards too with cascade, else an error as for
// tables).
func RevokeColumnACL(acl []ACLItem, owner, grantor string, grantees []string, privs Priv, optOnly, cascade bool) ([]ACLItem, error) {
	if acl == nil {
		return nil, nil
	}
	var err error
	for _, g := range grantees {
		if acl, err = revokeCascade(acl, g, grantor, privs, optOnly, cascade, owner); err != nil {
			return nil, err
		}
	}
	return acl, nil
}

// tablesWithColumnACLs lists the tables some column of which has an ACL.
// Callers hold c.mu.
func (c *Catalog) tablesWithColumnACLs() []*Table {
	var out []*Table
	for _, s := range c.schemas {
		for _, t := range s.Tables {
			for _, col := range t.Columns {
				if col.ACL != nil {
					out = append(out, t)
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// editColumnACLs rewrites every column ACL of table t under its lock.
// Callers must not hold c.mu (statements hold a table's lock while they
// read the catalog).
func editColumnACLs(t *Table, edit func([]ACLItem) []ACLItem) {
	t.Lock()
	defer t.Unlock()
	cols := append([]Column(nil), t.Columns...)
	for k := range cols {
		if cols[k].ACL != nil {
			cols[k].ACL = edit(append([]ACLItem{}, cols[k].ACL...))
			if len(cols[k].ACL) == 0 {
				cols[k].ACL = nil // as PostgreSQL, no grant left is NULL
			}
		}
	}
	t.Columns = cols
}

// MoveColumnGrants hands from's column grants on t (given and received)
// to to, as a change of owner does for the table's own ACL.
func (c *Catalog) MoveColumnGrants(t *Table, from, to string) {
	editColumnACLs(t, func(acl []ACLItem) []ACLItem {
		for i := range acl {
			if acl[i].Grantee == from {
				acl[i].Grantee = to
			}
			if acl[i].Grantor == from {
				acl[i].Grantor = to
			}
		}
		return mergeACL(acl)
	})
}

// tablesOwnedWithColumnACLs lists the tables role owns that have column
// grants.
func (c *Catalog) tablesOwnedWithColumnACLs(role string) []*Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*Table
	for _, t := range c.tablesWithColumnACLs() {
		if c.privsOf(t.OID, KindTable).Owner == role {
			out = append(out, t)
		}
	}
	return out
}

// dropFromColumnACLs takes every column privilege granted to role away
// (DROP OWNED), with the grants it made from them.
func (c *Catalog) dropFromColumnACLs(role string) {
	c.mu.RLock()
	tables := c.tablesWithColumnACLs()
	owners := make([]string, len(tables))
	for i, t := range tables {
		owners[i] = c.privsOf(t.OID, KindTable).Owner
	}
	c.mu.RUnlock()
	for i, t := range tables {
		editColumnACLs(t, func(acl []ACLItem) []ACLItem { return revokeEverythingFrom(acl, role, owners[i]) })
	}
}

// TablesWithColumnACLs lists the tables some column of which has grants
// (what DROP OWNED may change).
func (c *Catalog) TablesWithColumnACLs() []*Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.tablesWithColumnACLs()
}

// TablesOwnedWithColumnACLs lists the tables role owns that have column
// grants (what REASSIGN OWNED may change).
func (c *Catalog) TablesOwnedWithColumnACLs(role string) []*Table {
	return c.tablesOwnedWithColumnACLs(role)
}

// ColumnACLs are the ACLs of t's columns that have grants, by column
// name, as they are now: what RestoreColumnACLs puts back.
func ColumnACLs(t *Table) map[string][]ACLItem {
	out := map[string][]ACLItem{}
	for _, c := range t.Columns {
		if c.ACL != nil {
			out[c.Name] = c.ACL
		}
	}
	return out
}

// RestoreColumnACLs puts the ACLs of t's columns named in before back as
// they were, leaving the other columns (and everything else about them,
// which other statements may have changed since) alone.
func RestoreColumnACLs(t *Table, before map[string][]ACLItem) {
	t.Lock()
	defer t.Unlock()
	cols := append([]Column(nil), t.Columns...)
	for k := range cols {
		if acl, ok := before[cols[k].Name]; ok {
			cols[k].ACL = acl
		}
	}
	t.Columns = cols
}

// columnDependents describes the column privileges that keep role from
// being dropped, as DROP ROLE's details do. Callers hold c.mu.
func (c *Catalog) columnDependents(role string) []string {
	var out []string
	for _, t := range c.tablesWithColumnACLs() {
		for _, col := range t.Columns {
			for _, it := range col.ACL {
				if it.Grantee == role || it.Grantor == role {
					out = append(out, "privileges for column "+col.Name+" of table "+t.Name)
					break
				}
			}
		}
	}
	return out
}
