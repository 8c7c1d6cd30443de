package catalog

import (
	"sort"
	"strings"
	"time"

	"github.com/weftdb/weft/sql/sqlerr"
)

// Role is a role: a user when it may log in, a group otherwise. Verifier
// is the password in PostgreSQL's SCRAM form
// ("SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey"), never the
// password itself; "" means the role has no password.
//
// Roles are stored as JSON; every attribute added after the first release
// is omitted when zero and its zero value is PostgreSQL's default, so a
// catalog written before privileges existed opens with ordinary roles.
type Role struct {
	Name     string
	Login    bool
	Verifier string
	OID      uint32 `json:",omitempty"`
	// Bootstrap marks the database's bootstrap superuser (PostgreSQL's
	// initdb user): it keeps SUPERUSER and cannot be dropped.
	Bootstrap   bool `json:",omitempty"`
	Superuser   bool `json:",omitempty"`
	CreateRole  bool `json:",omitempty"`
	CreateDB    bool `json:",omitempty"`
	Replication bool `json:",omitempty"`
	BypassRLS   bool `json:",omitempty"`
	// NoInherit is NOINHERIT; its zero value is PostgreSQL's default.
	NoInherit bool `json:",omitempty"`
	// ConnLimit is CONNECTION LIMIT; nil is -1, no limit.
	ConnLimit *int32 `json:",omitempty"`
	// ValidUntil is VALID UNTIL: the password stops working after it.
	ValidUntil *time.Time `json:",omitempty"`
	// Predefined marks the built-in roles (pg_read_server_files …):
	// never stored, never dropped, never logged in.
	Predefined bool `json:"-"`
}

// Membership is one GRANT role TO member.
type Membership struct {
	Role, Member, Grantor string
	Admin                 bool `json:",omitempty"`
}

// The built-in roles and their OIDs (PostgreSQL's where it has them).
const (
	BootstrapRoleOID     = 10
	RoleDatabaseOwner    = "pg_database_owner"
	RoleReadServerFiles  = "pg_read_server_files"
	RoleWriteServerFiles = "pg_write_server_files"
	RoleRemoteSources    = "weft_remote_sources"
)

var predefinedRoles = []Role{
	{Name: RoleReadServerFiles, OID: 4569, Predefined: true},
	{Name: RoleWriteServerFiles, OID: 4570, Predefined: true},
	{Name: RoleDatabaseOwner, OID: 6171, Predefined: true},
	{Name: RoleRemoteSources, OID: 9001, Predefined: true},
}

// IsReservedRoleName reports names CREATE ROLE refuses: PostgreSQL
// reserves the pg_ prefix, Weft its weft_ one as well.
func IsReservedRoleName(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "pg_") || strings.HasPrefix(n, "weft_")
}

// EnsureBootstrapRole makes name the bootstrap superuser unless the
// catalog already has one: a new database gets it, and so does one stored
// before roles had attributes (its roles stay ordinary roles). It returns
// the bootstrap role's name.
func (c *Catalog) EnsureBootstrapRole(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.roles == nil {
		c.roles = map[string]*Role{}
	}
	for _, r := range c.roles {
		if r.Bootstrap {
			return r.Name
		}
	}
	name = strings.ToLower(name)
	r, ok := c.roles[name]
	if !ok {
		r = &Role{Name: name, Login: true}
		c.roles[name] = r
	}
	r.Bootstrap, r.Superuser, r.CreateRole, r.CreateDB, r.Replication, r.BypassRLS, r.NoInherit = true, true, true, true, true, true, false
	r.OID = BootstrapRoleOID
	return r.Name
}

// BootstrapRole names the bootstrap superuser ("" before there is one).
func (c *Catalog) BootstrapRole() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, r := range c.roles {
		if r.Bootstrap {
			return r.Name
		}
	}
	return ""
}

// CreateRole adds a role (restoring a stored one keeps its OID).
func (c *Catalog) CreateRole(r Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := strings.ToLower(r.Name)
	if c.roles == nil {
		c.roles = map[string]*Role{}
	}
	if _, ok := c.roles[name]; ok || predefined(name) != nil {
		return sqlerr.New(sqlerr.DuplicateObject, "role \"%s\" already exists", r.Name)
	}
	r.Name = name
	if r.OID == 0 {
		r.OID = c.allocOID()
	} else if r.OID > c.nextOID && !r.Bootstrap {
		c.nextOID = r.OID
	}
	c.roles[name] = &r
	return nil
}

func predefined(name string) *Role {
	for i := range predefinedRoles {
		if predefinedRoles[i].Name == name {
			return &predefinedRoles[i]
		}
	}
	return nil
}

// AlterRole changes a role through f; f's error leaves the role as it was.
func (c *Catalog) AlterRole(name string, f func(*Role) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.roles[strings.ToLower(name)]
	if !ok {
		if predefined(strings.ToLower(name)) != nil {
			return sqlerr.New(sqlerr.InsufficientPrivilege, "cannot alter reserved role \"%s\"", name)
		}
		return sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
	}
	next := *r
	if err := f(&next); err != nil {
		return err
	}
	c.roles[next.Name] = &next
	return nil
}

// DropRole removes a role and the memberships it takes part in. A role
// that owns objects or holds privileges cannot be dropped (2BP01).
func (c *Catalog) DropRole(name string, ifExists bool) (dropped bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name = strings.ToLower(name)
	if _, ok := c.roles[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, sqlerr.New(sqlerr.UndefinedObject, "role \"%s\" does not exist", name)
	}
	if deps := c.dependentsOf(name); len(deps) > 0 {
		return false, sqlerr.New(sqlerr.DependentObjects, "role \"%s\" cannot be dropped because some objects depend on it", name).
			WithDetail(strings.Join(deps, "\n"))
	}
	delete(c.roles, name)
	kept := c.members[:0]
	for _, m := range c.members {
		if m.Role != name && m.Member != name {
			kept = append(kept, m)
		}
	}
	c.members = kept
	return true, nil
}

// Role looks a role up (the predefined ones too).
func (c *Catalog) Role(name string) (Role, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.role(strings.ToLower(name))
}

func (c *Catalog) role(name string) (Role, bool) {
	if r, ok := c.roles[name]; ok {
		return *r, true
	}
	if p := predefined(name); p != nil {
		return *p, true
	}
	return Role{}, false
}

// Roles lists every role, the predefined ones first, then by OID.
func (c *Catalog) Roles() []Role {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := append([]Role{}, predefinedRoles...)
	for _, r := range c.roles {
		out = append(out, *r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].OID < out[j].OID })
	return out
}

// StoredRoles lists the roles a data directory keeps (not the predefined).
func (c *Catalog) StoredRoles() []Role {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Role, 0, len(c.roles))
	for _, r := range c.roles {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RoleByOID finds a role by OID.
func (c *Catalog) RoleByOID(oid uint32) (Role, bool) {
	for _, r := range c.Roles() {
		if r.OID == oid {
			return r, true
		}
	}
	return Role{}, false
}

// Memberships lists every GRANT role TO member.
func (c *Catalog) Memberships() []Membership {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]Membership{}, c.members...)
}

// RestoreMemberships installs stored memberships.
func (c *Catalog) RestoreMemberships(ms []Membership) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.members = append([]Membership{}, ms...)
}

// GrantRole makes member a member of role (again: only the admin option
// can change). It refuses a grant that would make a cycle.
func (c *Catalog) GrantRole(role, member, grantor string, admin bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if role == member || c.memberOf(role, member, false) {
		return sqlerr.New(sqlerr.InvalidGrantOperation, "role \"%s\" is a member of role \"%s\"", role, member)
	}
	for i, m := range c.members {
		if m.Role == role && m.Member == member {
			c.members[i].Admin = m.Admin || admin
			return nil
		}
	}
	c.members = append(c.members, Membership{Role: role, Member: member, Grantor: grantor, Admin: admin})
	return nil
}

// RevokeRole ends a membership, or only its admin option. It reports
// whether member was a member.
func (c *Catalog) RevokeRole(role, member string, adminOnly bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m.Role == role && m.Member == member {
			if adminOnly {
				c.members[i].Admin = false
			} else {
				c.members = append(c.members[:i], c.members[i+1:]...)
			}
			return true
		}
	}
	return false
}

// IsSuperuser reports whether a role is a superuser.
func (c *Catalog) IsSuperuser(name string) bool {
	r, ok := c.Role(name)
	return ok && r.Superuser
}

// HasPrivsOfRole is PostgreSQL's has_privs_of_role: member is role, or a
// member of it through a chain of INHERIT roles, or a superuser.
func (c *Catalog) HasPrivsOfRole(member, role string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if r, ok := c.role(member); ok && r.Superuser {
		return true
	}
	return c.memberOf(member, role, true)
}

// IsMemberOfRole is is_member_of_role: like HasPrivsOfRole but ignoring
// NOINHERIT (what SET ROLE needs).
func (c *Catalog) IsMemberOfRole(member, role string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if r, ok := c.role(member); ok && r.Superuser {
		return true
	}
	return c.memberOf(member, role, false)
}

// HasAdminOf reports whether member may grant role: a superuser, or a
// holder of the admin option (directly or through inherited membership).
func (c *Catalog) HasAdminOf(member, role string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if r, ok := c.role(member); ok && r.Superuser {
		return true
	}
	for _, m := range c.members {
		if m.Role == role && m.Admin && (m.Member == member || c.memberOf(member, m.Member, true)) {
			return true
		}
	}
	return false
}

// memberOf walks memberships from member up to role; with inherit, a
// NOINHERIT role passes nothing on. The database owner (the bootstrap
// role) is pg_database_owner's implicit member. Callers hold c.mu.
func (c *Catalog) memberOf(member, role string, inherit bool) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(m string) bool {
		if m == role {
			return true
		}
		if seen[m] {
			return false
		}
		seen[m] = true
		if inherit {
			if r, ok := c.roles[m]; ok && r.NoInherit {
				return false
			}
		}
		if role == RoleDatabaseOwner {
			if r, ok := c.roles[m]; ok && r.Bootstrap {
				return true
			}
		}
		for _, ms := range c.members {
			if ms.Member == m && walk(ms.Role) {
				return true
			}
		}
		return false
	}
	return walk(member)
}
