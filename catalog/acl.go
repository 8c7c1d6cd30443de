package catalog

import (
	"sort"
	"strings"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Priv is a set of privileges, one bit per privilege PostgreSQL 15 knows.
type Priv uint16

// The privileges, in PostgreSQL's ACL letter order.
const (
	PrivInsert     Priv = 1 << iota // a
	PrivSelect                      // r
	PrivUpdate                      // w
	PrivDelete                      // d
	PrivTruncate                    // D
	PrivReferences                  // x
	PrivTrigger                     // t
	PrivExecute                     // X
	PrivUsage                       // U
	PrivCreate                      // C
	PrivTemporary                   // T
	PrivConnect                     // c
)

const privLetters = "arwdDxtXUCTc"

// privNames are the privilege keywords, by bit.
var privNames = []string{"INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "EXECUTE", "USAGE", "CREATE", "TEMPORARY", "CONNECT"}

// PrivByName maps a privilege keyword (lower case) to its bit.
func PrivByName(name string) (Priv, bool) {
	name = strings.ToUpper(name)
	if name == "TEMP" {
		name = "TEMPORARY"
	}
	for i, n := range privNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// Names lists a set's privilege keywords.
func (p Priv) Names() []string {
	var out []string
	for i, n := range privNames {
		if p&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// ObjectKind is the kind of object an ACL guards.
type ObjectKind byte

// The kinds of objects with privileges.
const (
	KindTable    ObjectKind = 'r'
	KindView     ObjectKind = 'v'
	KindSequence ObjectKind = 'S'
	KindSchema   ObjectKind = 'n'
	KindFunction ObjectKind = 'f'
	KindDatabase ObjectKind = 'd'
)

// AllPrivs is what ALL [PRIVILEGES] means for a kind.
func (k ObjectKind) AllPrivs() Priv {
	switch k {
	case KindTable, KindView:
		return PrivInsert | PrivSelect | PrivUpdate | PrivDelete | PrivTruncate | PrivReferences | PrivTrigger
	case KindSequence:
		return PrivSelect | PrivUpdate | PrivUsage
	case KindSchema:
		return PrivUsage | PrivCreate
	case KindFunction:
		return PrivExecute
	case KindDatabase:
		return PrivCreate | PrivTemporary | PrivConnect
	}
	return 0
}

// Noun is how PostgreSQL's messages name the kind ("permission denied
// for table t").
func (k ObjectKind) Noun() string {
	switch k {
	case KindTable:
		return "table"
	case KindView:
		return "view"
	case KindSequence:
		return "sequence"
	case KindSchema:
		return "schema"
	case KindFunction:
		return "function"
	case KindDatabase:
		return "database"
	}
	return "object"
}

// ACLItem is one entry of an ACL: what grantor gave grantee ("" is
// PUBLIC), and which of those grantee may pass on.
type ACLItem struct {
	Grantee  string `json:"grantee"`
	Grantor  string `json:"grantor"`
	Privs    Priv   `json:"privs"`
	GrantOpt Priv   `json:"grant_option,omitempty"`
}

// ObjectPrivileges are an object's owner and ACL. ACL nil is the kind's
// default (shown as NULL in pg_class.relacl and the like).
type ObjectPrivileges struct {
	OID   uint32     `json:"oid"`
	Kind  ObjectKind `json:"kind"`
	Owner string     `json:"owner"`
	ACL   []ACLItem  `json:"acl,omitempty"`
	// Explicit marks an ACL a GRANT or REVOKE set (even to the default).
	Explicit bool `json:"explicit,omitempty"`
}

// DefaultACL is PostgreSQL's acldefault for a kind and owner.
func DefaultACL(k ObjectKind, owner string) []ACLItem {
	own := ACLItem{Grantee: owner, Grantor: owner, Privs: k.AllPrivs()}
	switch k {
	case KindFunction:
		return []ACLItem{{Grantee: "", Grantor: owner, Privs: PrivExecute}, own}
	case KindDatabase:
		return []ACLItem{{Grantee: "", Grantor: owner, Privs: PrivTemporary | PrivConnect}, own}
	}
	return []ACLItem{own}
}

// EffectiveACL is the ACL in force: the stored one or the default.
func (o ObjectPrivileges) EffectiveACL() []ACLItem {
	if o.Explicit {
		return o.ACL
	}
	return DefaultACL(o.Kind, o.Owner)
}

// FormatACL prints an ACL as PostgreSQL's aclitem[] text:
// {alice=arwdDxt/alice,=r/alice}.
func FormatACL(acl []ACLItem) string {
	parts := make([]string, len(acl))
	for i, it := range acl {
		parts[i] = FormatACLItem(it)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// FormatACLItem prints one aclitem.
func FormatACLItem(it ACLItem) string {
	var sb strings.Builder
	sb.WriteString(quoteRoleName(it.Grantee))
	sb.WriteByte('=')
	for i := range privLetters {
		bit := Priv(1 << i)
		if it.Privs&bit != 0 {
			sb.WriteByte(privLetters[i])
			if it.GrantOpt&bit != 0 {
				sb.WriteByte('*')
			}
		}
	}
	sb.WriteByte('/')
	sb.WriteString(quoteRoleName(it.Grantor))
	s := sb.String()
	if strings.ContainsAny(s, ",{}") {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
	}
	return s
}

func quoteRoleName(n string) string {
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
		}
	}
	return n
}

// grantACL adds privs (with grant option when opt) from grantor to
// grantee, merging into their existing item as PostgreSQL does.
func grantACL(acl []ACLItem, grantee, grantor string, privs Priv, opt bool) []ACLItem {
	out := append([]ACLItem{}, acl...)
	for i, it := range out {
		if it.Grantee == grantee && it.Grantor == grantor {
			out[i].Privs |= privs
			if opt {
				out[i].GrantOpt |= privs
			}
			return out
		}
	}
	it := ACLItem{Grantee: grantee, Grantor: grantor, Privs: privs}
	if opt {
		it.GrantOpt = privs
	}
	return append(out, it)
}

// revokeACL takes privs (only their grant option when optOnly) given by
// grantor from grantee; an item left with nothing goes.
func revokeACL(acl []ACLItem, grantee, grantor string, privs Priv, optOnly bool) []ACLItem {
	out := make([]ACLItem, 0, len(acl))
	for _, it := range acl {
		if it.Grantee == grantee && it.Grantor == grantor {
			it.GrantOpt &^= privs
			if !optOnly {
				it.Privs &^= privs
			}
			if it.Privs == 0 {
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// privsKey finds an object's entry; objects without one (made before
// privileges existed) belong to the bootstrap superuser with the default
// ACL. Callers hold c.mu.
func (c *Catalog) privsOf(oid uint32, kind ObjectKind) ObjectPrivileges {
	if p, ok := c.privs[oid]; ok {
		return *p
	}
	if oid == publicSchemaOID {
		return publicSchemaPrivileges()
	}
	owner := ""
	for _, r := range c.roles {
		if r.Bootstrap {
			owner = r.Name
		}
	}
	return ObjectPrivileges{OID: oid, Kind: kind, Owner: owner}
}

const (
	publicSchemaOID     = 2200
	databaseOIDForNames = 16384 // the one database (pg_database)
)

// publicSchemaPrivileges are PostgreSQL 15's for the public schema:
// owned by pg_database_owner, USAGE for PUBLIC and no CREATE.
func publicSchemaPrivileges() ObjectPrivileges {
	return ObjectPrivileges{OID: publicSchemaOID, Kind: KindSchema, Owner: RoleDatabaseOwner, Explicit: true, ACL: []ACLItem{
		{Grantee: RoleDatabaseOwner, Grantor: RoleDatabaseOwner, Privs: PrivUsage | PrivCreate},
		{Grantee: "", Grantor: RoleDatabaseOwner, Privs: PrivUsage},
	}}
}

// Privileges returns an object's owner and ACL.
func (c *Catalog) Privileges(oid uint32, kind ObjectKind) ObjectPrivileges {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.privsOf(oid, kind)
}

// SetOwner records who owns a new object (or hands an object over).
func (c *Catalog) SetOwner(oid uint32, kind ObjectKind, owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.privsOf(oid, kind)
	if p.Explicit {
		// the old owner's entries move to the new one, as ALTER … OWNER does
		for i := range p.ACL {
			if p.ACL[i].Grantee == p.Owner {
				p.ACL[i].Grantee = owner
			}
			if p.ACL[i].Grantor == p.Owner {
				p.ACL[i].Grantor = owner
			}
		}
		p.ACL = mergeACL(p.ACL)
	}
	p.Owner, p.Kind = owner, kind
	c.setPrivs(p)
}

func (c *Catalog) setPrivs(p ObjectPrivileges) {
	if c.privs == nil {
		c.privs = map[uint32]*ObjectPrivileges{}
	}
	c.privs[p.OID] = &p
}

// ForgetPrivileges drops a dropped object's entry.
func (c *Catalog) ForgetPrivileges(oid uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.privs, oid)
}

// Grant gives privs on an object from grantor to each grantee.
func (c *Catalog) Grant(oid uint32, kind ObjectKind, grantor string, grantees []string, privs Priv, opt bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.privsOf(oid, kind)
	acl := p.EffectiveACL()
	for _, g := range grantees {
		acl = grantACL(acl, g, grantor, privs, opt)
	}
	p.ACL, p.Explicit = acl, true
	c.setPrivs(p)
}

// Revoke takes privs given by grantor from each grantee. Privileges the
// grantees passed on with the grant options they lose go too with
// cascade; without it they make the REVOKE fail, as in PostgreSQL.
func (c *Catalog) Revoke(oid uint32, kind ObjectKind, grantor string, grantees []string, privs Priv, optOnly, cascade bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.privsOf(oid, kind)
	acl := p.EffectiveACL()
	var err error
	for _, g := range grantees {
		if acl, err = revokeCascade(acl, g, grantor, privs, optOnly, cascade, p.Owner); err != nil {
			return err
		}
	}
	p.ACL, p.Explicit = acl, true
	c.setPrivs(p)
	return nil
}

func revokeCascade(acl []ACLItem, grantee, grantor string, privs Priv, optOnly, cascade bool, owner string) ([]ACLItem, error) {
	acl = revokeACL(acl, grantee, grantor, privs, optOnly)
	if grantee == "" || grantee == owner {
		return acl, nil
	}
	lost := privs
	for _, it := range acl {
		if it.Grantee == grantee {
			lost &^= it.GrantOpt
		}
	}
	for _, it := range append([]ACLItem{}, acl...) {
		if it.Grantor != grantee || it.Privs&lost == 0 {
			continue
		}
		if !cascade {
			return nil, sqlerr.New(sqlerr.DependentObjects, "dependent privileges exist").WithHint("Use CASCADE to revoke them too.")
		}
		var err error
		if acl, err = revokeCascade(acl, it.Grantee, grantee, it.Privs&lost, false, true, owner); err != nil {
			return nil, err
		}
	}
	return acl, nil
}

// PrivilegesHeld is PostgreSQL's aclmask: the privileges role holds on
// an object and those it may grant. Superusers hold everything; an owner
// (or a role with its privileges) may grant everything it holds.
func (c *Catalog) PrivilegesHeld(role string, oid uint32, kind ObjectKind) (held, grantable Priv) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	all := kind.AllPrivs()
	if r, ok := c.role(role); ok && r.Superuser {
		return all, all
	}
	p := c.privsOf(oid, kind)
	owner := c.memberOf(role, p.Owner, true)
	if owner {
		grantable = all
	}
	for _, it := range p.EffectiveACL() {
		if it.Grantee == "" || c.memberOf(role, it.Grantee, true) {
			held |= it.Privs
			grantable |= it.GrantOpt
		}
	}
	return held, grantable
}

// HasPrivilege reports whether role holds every privilege in want.
func (c *Catalog) HasPrivilege(role string, oid uint32, kind ObjectKind, want Priv) bool {
	held, _ := c.PrivilegesHeld(role, oid, kind)
	return held&want == want
}

// IsOwner reports whether role owns an object or has its owner's
// privileges (superusers included), as pg_*_ownercheck does.
func (c *Catalog) IsOwner(role string, oid uint32, kind ObjectKind) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if r, ok := c.role(role); ok && r.Superuser {
		return true
	}
	return c.memberOf(role, c.privsOf(oid, kind).Owner, true)
}

// StoredPrivileges lists the entries a data directory keeps: those of
// objects that still exist (the database's too).
func (c *Catalog) StoredPrivileges() []ObjectPrivileges {
	c.mu.RLock()
	defer c.mu.RUnlock()
	live := c.liveOIDs()
	out := make([]ObjectPrivileges, 0, len(c.privs))
	for _, p := range c.privs {
		if live[p.OID] || p.Kind == KindDatabase {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// RestorePrivileges installs stored entries.
func (c *Catalog) RestorePrivileges(ps []ObjectPrivileges) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range ps {
		c.setPrivs(p)
	}
}

// dependentsOf describes what keeps a role from being dropped, as
// PostgreSQL's DETAIL lines do. Callers hold c.mu.
func (c *Catalog) dependentsOf(role string) []string {
	var out []string
	oids := make([]uint32, 0, len(c.privs))
	for oid := range c.privs {
		oids = append(oids, oid)
	}
	sort.Slice(oids, func(i, j int) bool { return oids[i] < oids[j] })
	names := c.objectNames()
	names[databaseOIDForNames] = "weft"
	for _, oid := range oids {
		p := c.privs[oid]
		name := names[oid]
		if name == "" {
			continue // dropped
		}
		if p.Owner == role {
			out = append(out, "owner of "+p.Kind.Noun()+" "+name)
			continue
		}
		for _, it := range p.ACL {
			if p.Explicit && (it.Grantee == role || it.Grantor == role) {
				out = append(out, "privileges for "+p.Kind.Noun()+" "+name)
				break
			}
		}
	}
	return append(out, c.columnDependents(role)...)
}

// liveOIDs are the OIDs of every schema and object with privileges, in
// one pass (persisting must not look each entry up). Callers hold c.mu.
func (c *Catalog) liveOIDs() map[uint32]bool {
	live := map[uint32]bool{}
	for _, s := range c.schemas {
		live[s.OID] = true
		for _, t := range s.Tables {
			live[t.OID] = true
		}
		for _, v := range s.Views {
			live[v.OID] = true
		}
		for _, q := range s.Sequences {
			live[q.OID] = true
		}
		for _, fs := range s.Funcs {
			for _, f := range fs {
				live[f.OID] = true
			}
		}
	}
	return live
}

// objectNames names every live object by OID, as DROP ROLE's details
// do (a function with its signature). Callers hold c.mu.
func (c *Catalog) objectNames() map[uint32]string {
	names := map[uint32]string{}
	for _, s := range c.schemas {
		names[s.OID] = s.Name
		for _, t := range s.Tables {
			names[t.OID] = t.Name
		}
		for _, v := range s.Views {
			names[v.OID] = v.Name
		}
		for _, q := range s.Sequences {
			names[q.OID] = q.Name
		}
		for _, fs := range s.Funcs {
			for _, f := range fs {
				names[f.OID] = f.UDF.Signature()
			}
		}
	}
	return names
}

// ObjectByOID finds an object's kind, schema and name by OID.
func (c *Catalog) ObjectByOID(oid uint32) (kind ObjectKind, schema, name string, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.schemas {
		if s.OID == oid {
			return KindSchema, "", s.Name, true
		}
		for _, t := range s.Tables {
			if t.OID == oid {
				return KindTable, s.Name, t.Name, true
			}
		}
		for _, v := range s.Views {
			if v.OID == oid {
				return KindView, s.Name, v.Name, true
			}
		}
		for _, q := range s.Sequences {
			if q.OID == oid {
				return KindSequence, s.Name, q.Name, true
			}
		}
		for _, fs := range s.Funcs {
			for _, f := range fs {
				if f.OID == oid {
					return KindFunction, s.Name, f.UDF.Name, true
				}
			}
		}
	}
	return 0, "", "", false
}

// mergeACL folds items with the same grantee and grantor into the first
// of them (what handing an object to a new owner can leave).
func mergeACL(acl []ACLItem) []ACLItem {
	out := make([]ACLItem, 0, len(acl))
	for _, it := range acl {
		merged := false
		for i := range out {
			if out[i].Grantee == it.Grantee && out[i].Grantor == it.Grantor {
				out[i].Privs |= it.Privs
				out[i].GrantOpt |= it.GrantOpt
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, it)
		}
	}
	return out
}

// ReassignOwned hands every object from one owner to another (REASSIGN
// OWNED), moving the old owner's ACL entries as SetOwner does.
func (c *Catalog) ReassignOwned(from, to string) {
	tables := c.tablesOwnedWithColumnACLs(from)
	c.reassignObjects(from, to)
	for _, t := range tables {
		c.MoveColumnGrants(t, from, to)
	}
}

func (c *Catalog) reassignObjects(from, to string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.liveOIDs()
	for _, p := range c.privs {
		if p.Owner != from || !live[p.OID] {
			continue
		}
		next := *p
		if next.Explicit {
			next.ACL = append([]ACLItem{}, p.ACL...)
			for i := range next.ACL {
				if next.ACL[i].Grantee == from {
					next.ACL[i].Grantee = to
				}
				if next.ACL[i].Grantor == from {
					next.ACL[i].Grantor = to
				}
			}
			next.ACL = mergeACL(next.ACL)
		}
		next.Owner = to
		c.setPrivs(next)
	}
}

// PrivilegesSnapshot is an object's entry as it was, for ROLLBACK.
type PrivilegesSnapshot struct {
	entry ObjectPrivileges
	had   bool
}

// SnapshotPrivileges records an object's entry before a change.
func (c *Catalog) SnapshotPrivileges(oid uint32) PrivilegesSnapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p, ok := c.privs[oid]; ok {
		cp := *p
		cp.ACL = append([]ACLItem{}, p.ACL...)
		return PrivilegesSnapshot{entry: cp, had: true}
	}
	return PrivilegesSnapshot{entry: ObjectPrivileges{OID: oid}}
}

// RestorePrivilegesSnapshot puts an entry back as it was.
func (c *Catalog) RestorePrivilegesSnapshot(s PrivilegesSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !s.had {
		delete(c.privs, s.entry.OID)
		return
	}
	c.setPrivs(s.entry)
}

// HasPrivilegesEntry reports whether an object has a recorded owner.
func (c *Catalog) HasPrivilegesEntry(oid uint32) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.privs[oid]
	return ok
}

// OwnedBy lists the live objects a role owns: kind, schema and name
// (functions by OID, as names do not pick an overload).
func (c *Catalog) OwnedBy(role string) []ObjectPrivileges {
	c.mu.RLock()
	defer c.mu.RUnlock()
	live := c.liveOIDs()
	var out []ObjectPrivileges
	for _, p := range c.privs {
		if p.Owner == role && live[p.OID] {
			out = append(out, *p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].OID > out[j].OID }) // newest first
	return out
}

// RevokeAllFrom takes away every privilege granted to a role (DROP
// OWNED): its ACL entries, on every object and column, and with them
// (as PostgreSQL's DROP OWNED revokes with CASCADE) what the role passed
// on with their grant options.
func (c *Catalog) RevokeAllFrom(role string) {
	c.revokeObjectsFrom(role)
	c.dropFromColumnACLs(role)
}

func (c *Catalog) revokeObjectsFrom(role string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for oid, p := range c.privs {
		if !p.Explicit {
			continue
		}
		next := *p
		next.ACL = revokeEverythingFrom(p.ACL, role, p.Owner)
		c.privs[oid] = &next
	}
}

// revokeEverythingFrom takes every item granted to role out of acl, with
// the grants role made from them.
func revokeEverythingFrom(acl []ACLItem, role, owner string) []ACLItem {
	out := append([]ACLItem{}, acl...)
	for _, it := range acl {
		if it.Grantee == role {
			out, _ = revokeCascade(out, role, it.Grantor, it.Privs, false, true, owner) // (cascade: no error)
		}
	}
	return out
}
