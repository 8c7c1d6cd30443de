package catalog

import (
	"slices"
	"sort"
)

// DefaultPrivileges is one ALTER DEFAULT PRIVILEGES entry, as
// pg_default_acl holds it: the ACL that objects of a kind a role creates
// (in one schema, or in every schema when Schema is "") start with. An
// entry for every schema replaces the built-in default ACL; an entry for
// one schema adds its grants to whichever applies, as in PostgreSQL.
type DefaultPrivileges struct {
	OID    uint32     `json:"oid"`
	Role   string     `json:"role"`
	Schema string     `json:"schema,omitempty"`
	Kind   ObjectKind `json:"kind"` // tables (and views), sequences, functions, schemas
	ACL    []ACLItem  `json:"acl"`
}

// AlterDefaultPrivileges grants (or, with revoke, takes away) privs to
// grantees on the objects role will create of kind in schema ("" every).
func (c *Catalog) AlterDefaultPrivileges(role, schema string, kind ObjectKind, grantees []string, privs Priv, opt, revoke bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.defaultPrivs, func(d DefaultPrivileges) bool {
		return d.Role == role && d.Schema == schema && d.Kind == kind
	})
	var start []ACLItem
	if schema == "" {
		start = DefaultACL(kind, role)
	}
	acl := start
	if i >= 0 {
		acl = c.defaultPrivs[i].ACL
	}
	for _, g := range grantees {
		if revoke {
			acl = revokeACL(acl, g, role, privs, opt)
		} else {
			acl = grantACL(acl, g, role, privs, opt)
		}
	}
	if sameACL(acl, start) {
		if i >= 0 {
			c.defaultPrivs = slices.Delete(c.defaultPrivs, i, i+1)
		}
		return
	}
	if i >= 0 {
		c.defaultPrivs[i].ACL = acl
		return
	}
	c.defaultPrivs = append(c.defaultPrivs, DefaultPrivileges{OID: c.allocOID(), Role: role, Schema: schema, Kind: kind, ACL: acl})
}

// DefaultPrivilegesList lists the entries, for pg_default_acl and for
// storing the catalog.
func (c *Catalog) DefaultPrivilegesList() []DefaultPrivileges {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := slices.Clone(c.defaultPrivs)
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// RestoreDefaultPrivileges puts stored entries back at open.
func (c *Catalog) RestoreDefaultPrivileges(ds []DefaultPrivileges) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.defaultPrivs = slices.Clone(ds)
}

// ApplyDefaultPrivileges gives a new object, owned by owner in schema,
// the ACL the default privileges of its owner say.
func (c *Catalog) ApplyDefaultPrivileges(oid uint32, kind ObjectKind, owner, schema string) {
	entryKind := kind
	if kind == KindView {
		entryKind = KindTable
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var global, local *DefaultPrivileges
	for i := range c.defaultPrivs {
		d := &c.defaultPrivs[i]
		if d.Role != owner || d.Kind != entryKind {
			continue
		}
		switch d.Schema {
		case "":
			global = d
		case schema:
			local = d
		}
	}
	if global == nil && local == nil {
		return
	}
	acl := DefaultACL(kind, owner)
	if global != nil {
		acl = slices.Clone(global.ACL)
	}
	if local != nil {
		for _, it := range local.ACL {
			acl = grantACL(acl, it.Grantee, it.Grantor, it.Privs&^it.GrantOpt, false)
			acl = grantACL(acl, it.Grantee, it.Grantor, it.GrantOpt, true)
		}
	}
	p := c.privsOf(oid, kind)
	p.ACL, p.Explicit = acl, true
	c.setPrivs(p)
}

func sameACL(a, b []ACLItem) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
